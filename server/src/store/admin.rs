//! User management: the searchable user list and custom roles.

use app::wire::SignInMethod;

use super::users::{MethodColumn, PermissionsColumn, RoleColumns};
use super::Conn;
use crate::domain::permissions::Role;

/// A row of the user list, before the actor's permissions are applied.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedUser {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    #[sqlx(flatten, try_from = "RoleColumns")]
    pub role: Role,
    #[sqlx(try_from = "MethodColumn")]
    pub sign_in_method: SignInMethod,
    pub status: String,
    pub locked_until: Option<i64>,
    pub last_sign_in_at: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
pub enum Sort {
    Name,
    Email,
    Role,
    LastSignIn,
}

/// One page of the account's users matching `query` (name, email or phone, case-insensitive).
pub async fn list_users(
    c: &mut Conn,
    account_id: i64,
    query: &str,
    sort: Sort,
    descending: bool,
    limit: i64,
    offset: i64,
) -> Result<(Vec<ListedUser>, i64), sqlx::Error> {
    // The sort column comes from a closed enum, never from the request.
    let order = match sort {
        Sort::Name => "LOWER(u.name)",
        Sort::Email => "u.email_lower",
        Sort::Role => "u.role",
        Sort::LastSignIn => "COALESCE(u.last_sign_in_at, 0)",
    };
    let dir = if descending { "DESC" } else { "ASC" };
    let pattern = format!("%{}%", escape_like(&query.to_lowercase()));
    let filter = "u.account_id = $1 AND ($2 = '%%' OR LOWER(u.name) LIKE $2 ESCAPE '\\' \
                  OR u.email_lower LIKE $2 ESCAPE '\\' OR ($3 <> '' AND COALESCE(u.phone, '') LIKE $3 ESCAPE '\\'))";
    let digits: String = query
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    let phone_pattern = if digits.is_empty() {
        String::new()
    } else {
        format!("%{digits}%")
    };
    let users = sqlx::query_as(&format!(
        "SELECT u.id, u.name, u.email, u.phone, u.role, u.sign_in_method, u.status, u.locked_until, \
         u.last_sign_in_at, r.id AS custom_id, r.name AS custom_name, r.permissions AS custom_permissions \
         FROM users u LEFT JOIN roles r ON r.id = u.custom_role_id \
         WHERE {filter} ORDER BY {order} {dir}, u.id LIMIT $4 OFFSET $5"
    ))
    .bind(account_id)
    .bind(&pattern)
    .bind(&phone_pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *c)
    .await?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM users u WHERE {filter}"))
        .bind(account_id)
        .bind(&pattern)
        .bind(&phone_pattern)
        .fetch_one(&mut *c)
        .await?;
    Ok((users, total))
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoleRow {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "PermissionsColumn")]
    pub permissions: Vec<String>,
}

impl RoleRow {
    /// Is this role called `name`, in any case (names are unique regardless of case)?
    pub fn is_named(&self, name: &str) -> bool {
        self.name.to_lowercase() == name.to_lowercase()
    }
}

pub async fn roles(c: &mut Conn, account_id: i64) -> Result<Vec<RoleRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, permissions FROM roles WHERE account_id = $1 ORDER BY LOWER(name)",
    )
    .bind(account_id)
    .fetch_all(&mut *c)
    .await
}

/// The account's custom roles, each with how many users hold it.
pub async fn roles_with_holders(
    c: &mut Conn,
    account_id: i64,
) -> Result<Vec<(RoleRow, i64)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Held {
        #[sqlx(flatten)]
        role: RoleRow,
        holders: i64,
    }
    let rows: Vec<Held> = sqlx::query_as(
        "SELECT r.id, r.name, r.permissions, \
         (SELECT COUNT(*) FROM users u WHERE u.custom_role_id = r.id AND u.role = 'custom') AS holders \
         FROM roles r WHERE r.account_id = $1 ORDER BY LOWER(r.name)",
    )
    .bind(account_id)
    .fetch_all(&mut *c)
    .await?;
    Ok(rows.into_iter().map(|h| (h.role, h.holders)).collect())
}

/// The account's role of that name, in any case (names are unique regardless of case).
pub async fn role_by_name(
    c: &mut Conn,
    account_id: i64,
    name: &str,
) -> Result<Option<RoleRow>, sqlx::Error> {
    Ok(roles(c, account_id)
        .await?
        .into_iter()
        .find(|r| r.is_named(name)))
}

pub async fn insert_role(
    c: &mut Conn,
    account_id: i64,
    name: &str,
    perms: &[String],
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO roles (account_id, name, permissions) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(account_id)
    .bind(name)
    .bind(perms.join(","))
    .fetch_one(&mut *c)
    .await
}

pub async fn update_role(
    c: &mut Conn,
    account_id: i64,
    id: i64,
    name: &str,
    perms: &[String],
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE roles SET name = $1, permissions = $2 WHERE id = $3 AND account_id = $4",
    )
    .bind(name)
    .bind(perms.join(","))
    .bind(id)
    .bind(account_id)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// What deleting a role came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Yes,
    NotFound,
    /// `only_unheld` and someone holds it (assigned since the caller looked, perhaps).
    Held,
}

/// Deletes a custom role; its users become members. With `only_unheld`, a role someone holds is
/// left as it is, decided under a lock on the role's row on PostgreSQL (an assignment's foreign
/// key check waits for it) and in the one writer's turn on SQLite, so an assignment made between
/// the caller's look and this delete is seen.
pub async fn delete_role(
    c: &mut Conn,
    account_id: i64,
    id: i64,
    only_unheld: bool,
) -> Result<Deleted, sqlx::Error> {
    if only_unheld {
        if c.backend_name() == "PostgreSQL" {
            sqlx::query("SELECT id FROM roles WHERE id = $1 AND account_id = $2 FOR UPDATE")
                .bind(id)
                .bind(account_id)
                .execute(&mut *c)
                .await?;
        }
        let holders: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE custom_role_id = $1")
                .bind(id)
                .fetch_one(&mut *c)
                .await?;
        if holders > 0 {
            return Ok(Deleted::Held);
        }
    }
    sqlx::query("UPDATE users SET role = 'member', custom_role_id = NULL WHERE custom_role_id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(&mut *c)
        .await?;
    let r = sqlx::query("DELETE FROM roles WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(&mut *c)
        .await?;
    Ok(match r.rows_affected() {
        1 => Deleted::Yes,
        _ => Deleted::NotFound,
    })
}
