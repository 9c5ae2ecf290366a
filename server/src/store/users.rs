//! Users, accounts' password settings, and password history.

use app::policy::{PolicyConfig, PolicyKind};
use app::wire::SignInMethod;

use super::Conn;
use crate::domain::permissions::Role;

/// A user as the server works with it, read by [`SELECT`].
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    #[sqlx(flatten, try_from = "RoleColumns")]
    pub role: Role,
    #[sqlx(try_from = "MethodColumn")]
    pub sign_in_method: SignInMethod,
    #[sqlx(rename = "status", try_from = "StatusColumn")]
    pub active: bool,
    pub password_hash: Option<String>,
    #[sqlx(try_from = "FlagColumn")]
    pub must_change_password: bool,
    pub time_zone: String,
    pub lang: String,
    pub last_sign_in_at: Option<i64>,
}

const SELECT: &str =
    "SELECT u.id, u.account_id, u.name, u.email, u.phone, u.role, u.sign_in_method, \
     u.status, u.password_hash, u.must_change_password, u.time_zone, u.lang, \
     u.last_sign_in_at, r.id AS custom_id, \
     r.name AS custom_name, r.permissions AS custom_permissions \
     FROM users u LEFT JOIN roles r ON r.id = u.custom_role_id";

// The columns below are stored as text or 0/1 integers, the types both backends read alike through
// the `Any` driver; each is decoded here, once, into the type the rest of the server works with.

/// A user's `role` with the custom role it names, joined as `custom_*` (NULL without one).
#[derive(sqlx::FromRow)]
pub(crate) struct RoleColumns {
    role: String,
    custom_id: Option<i64>,
    custom_name: Option<String>,
    custom_permissions: Option<PermissionsColumn>,
}

impl From<RoleColumns> for Role {
    fn from(c: RoleColumns) -> Self {
        match (c.role.as_str(), c.custom_id, c.custom_name) {
            ("owner", ..) => Self::Owner,
            ("admin", ..) => Self::Admin,
            ("custom", Some(id), Some(name)) => Self::Custom {
                id,
                name,
                permissions: c.custom_permissions.map(Vec::from).unwrap_or_default(),
            },
            // A deleted custom role leaves its users as members.
            _ => Self::Member,
        }
    }
}

/// A role's permissions, comma-separated.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct PermissionsColumn(String);

impl From<PermissionsColumn> for Vec<String> {
    fn from(c: PermissionsColumn) -> Self {
        c.0.split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// `sign_in_method`; a name this version does not know reads as a password.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct MethodColumn(String);

impl From<MethodColumn> for SignInMethod {
    fn from(c: MethodColumn) -> Self {
        Self::parse(&c.0).unwrap_or(Self::Password)
    }
}

/// `status`: "active" or "deactivated".
#[derive(sqlx::Type)]
#[sqlx(transparent)]
struct StatusColumn(String);

impl From<StatusColumn> for bool {
    fn from(c: StatusColumn) -> Self {
        c.0 == "active"
    }
}

/// A 0/1 flag (a BIGINT on PostgreSQL, not a BOOLEAN, so one query reads both backends).
#[derive(sqlx::Type)]
#[sqlx(transparent)]
struct FlagColumn(i64);

impl From<FlagColumn> for bool {
    fn from(c: FlagColumn) -> Self {
        c.0 != 0
    }
}

/// `accounts.policy_kind`: "classic", or the modern policy.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
struct PolicyKindColumn(String);

impl From<PolicyKindColumn> for PolicyKind {
    fn from(c: PolicyKindColumn) -> Self {
        if c.0 == "classic" {
            Self::Classic
        } else {
            Self::Modern
        }
    }
}

pub async fn by_id(c: &mut Conn, id: i64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

pub async fn by_email(c: &mut Conn, email_lower: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE u.email_lower = $1"))
        .bind(email_lower)
        .fetch_optional(&mut *c)
        .await
}

pub async fn by_phone(c: &mut Conn, e164: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE u.phone = $1"))
        .bind(e164)
        .fetch_optional(&mut *c)
        .await
}

/// What a new user is made of.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub account_id: i64,
    pub name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    /// "owner", "admin", "member" or "custom".
    pub role: &'a str,
    pub custom_role_id: Option<i64>,
    pub sign_in_method: SignInMethod,
    pub password_hash: Option<&'a str>,
    pub time_zone: &'a str,
}

pub async fn insert(c: &mut Conn, u: &NewUser<'_>, now: i64) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (account_id, name, email, email_lower, phone, role, custom_role_id, \
         sign_in_method, password_hash, time_zone, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(u.account_id)
    .bind(u.name)
    .bind(u.email)
    .bind(u.email.to_lowercase())
    .bind(u.phone)
    .bind(u.role)
    .bind(u.custom_role_id)
    .bind(u.sign_in_method.as_str())
    .bind(u.password_hash)
    .bind(u.time_zone)
    .bind(now)
    .fetch_one(&mut *c)
    .await?;
    if let Some(h) = u.password_hash {
        push_history(c, id, h, now).await?;
    }
    Ok(id)
}

/// Whether the account has its owner (there is exactly one).
pub async fn has_owner(c: &mut Conn, account_id: i64) -> Result<bool, sqlx::Error> {
    let owners: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE account_id = $1 AND role = 'owner'")
            .bind(account_id)
            .fetch_one(&mut *c)
            .await?;
    Ok(owners > 0)
}

pub async fn count(c: &mut Conn) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *c)
        .await
}

/// Sets the password hash and records it in the history. `must_change` is set when an
/// administrator chose the password. A successful set also lifts a sign-in lockout: whoever set
/// it proved control of the account.
pub async fn set_password(
    c: &mut Conn,
    user_id: i64,
    hash: &str,
    must_change: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, must_change_password = $2, failed_signins = 0, \
         locked_until = NULL WHERE id = $3",
    )
    .bind(hash)
    .bind(i64::from(must_change))
    .bind(user_id)
    .execute(&mut *c)
    .await?;
    push_history(c, user_id, hash, now).await
}

async fn push_history(c: &mut Conn, user_id: i64, hash: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO password_history (user_id, hash, created_at) VALUES ($1, $2, $3)")
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(&mut *c)
        .await?;
    // Keep at most 24 (the largest history depth an owner may choose).
    sqlx::query(
        "DELETE FROM password_history WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT 24)",
    )
    .bind(user_id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The user's last `depth` password hashes, newest first (the current one included).
pub async fn recent_hashes(
    c: &mut Conn,
    user_id: i64,
    depth: u32,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT hash FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(i64::from(depth))
    .fetch_all(&mut *c)
    .await
}

/// Locks password sign-in until `until` unless it is locked already; true when this call locked
/// it (so the lock is audited once, however many requests race to it).
pub async fn lock_signin(
    c: &mut Conn,
    user_id: i64,
    until: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE users SET locked_until = $1 WHERE id = $2 AND (locked_until IS NULL OR locked_until <= $3)",
    )
    .bind(until)
    .bind(user_id)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn record_signin(c: &mut Conn, user_id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET failed_signins = 0, locked_until = NULL, last_sign_in_at = $1 WHERE id = $2")
        .bind(now)
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn unlock(c: &mut Conn, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET failed_signins = 0, locked_until = NULL WHERE id = $1")
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn set_role(
    c: &mut Conn,
    user_id: i64,
    role: &str,
    custom_role_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET role = $1, custom_role_id = $2 WHERE id = $3")
        .bind(role)
        .bind(custom_role_id)
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Activates or deactivates a user. A deactivated user cannot sign in, reset or be reset.
pub async fn set_active(c: &mut Conn, user_id: i64, active: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET status = $1 WHERE id = $2")
        .bind(if active { "active" } else { "deactivated" })
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// An account's name and password policy.
#[derive(sqlx::FromRow)]
struct PolicyRow {
    name: String,
    #[sqlx(try_from = "PolicyKindColumn")]
    policy_kind: PolicyKind,
    #[sqlx(try_from = "i64")]
    min_length: u32,
    #[sqlx(try_from = "i64")]
    max_length: u32,
    #[sqlx(try_from = "i64")]
    history_depth: u32,
}

/// The account's password policy and name.
pub async fn account_policy(
    c: &mut Conn,
    account_id: i64,
) -> Result<(String, PolicyConfig), sqlx::Error> {
    let r: PolicyRow = sqlx::query_as("SELECT name, policy_kind, min_length, max_length, history_depth FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_one(&mut *c)
        .await?;
    Ok((
        r.name,
        PolicyConfig {
            kind: r.policy_kind,
            min_length: r.min_length,
            max_length: r.max_length,
            history_depth: r.history_depth,
        },
    ))
}

pub async fn set_account_policy(
    c: &mut Conn,
    account_id: i64,
    p: &PolicyConfig,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET policy_kind = $1, min_length = $2, max_length = $3, history_depth = $4 WHERE id = $5")
        .bind(match p.kind {
            PolicyKind::Classic => "classic",
            PolicyKind::Modern => "modern",
        })
        .bind(i64::from(p.min_length))
        .bind(i64::from(p.max_length))
        .bind(i64::from(p.history_depth))
        .bind(account_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn insert_account(c: &mut Conn, name: &str, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("INSERT INTO accounts (name, created_at) VALUES ($1, $2) RETURNING id")
        .bind(name)
        .bind(now)
        .fetch_one(&mut *c)
        .await
}

pub async fn first_account(c: &mut Conn) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM accounts ORDER BY id LIMIT 1")
        .fetch_optional(&mut *c)
        .await
}
