//! User Management (the seed: owners, admins and custom roles with full user-management rights
//! change an account user's password): `/api/admin/users…`, `/api/admin/roles…`,
//! `/api/admin/audit`, `/api/admin/settings`. Every rule is the server's; the page only hides.

use app::wire::{
    AccountSettings, AdminSetPasswordRequest, AdminUser, AssignRoleRequest, Role as WireRole,
    RoleRequest, UserPage,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde::Deserialize;

use crate::auth;
use crate::domain::permissions::{
    may_assign_role, may_change_role, may_manage_password, Actor, BadRole, Denied, Role,
    RoleChange, RoleSpec, Standing, Target,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    AuditView, AuthUser, Client, Json, Now, Path, Query, RequirePermission, RolesManage,
    SettingsEdit, UsersEdit, UsersView,
};
use crate::notify::templates::Lang;
use crate::reset::admin::ByAdmin;
use crate::reset::change::{set_new_password, Change, ChangedBy};
use crate::state::AppState;
use crate::store::admin::{self, Sort};
use crate::store::users::{self, User};
use crate::store::{audit, Conn};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list_users))
        .route("/admin/users/{id}/password", post(set_password))
        .route("/admin/users/{id}/unlock", post(unlock))
        .route("/admin/users/{id}/reset", post(send_reset))
        .route("/admin/users/{id}/role", put(assign_role))
        .route("/admin/roles", get(list_roles).post(create_role))
        .route("/admin/roles/{id}", put(update_role).delete(delete_role))
        .route("/admin/audit", get(list_audit))
        .route("/admin/settings", get(get_settings).put(put_settings))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    dir: Option<String>,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    per_page: Option<u32>,
}

fn actor(u: &AuthUser) -> Actor<'_> {
    Actor {
        id: u.user.id,
        account_id: u.user.account_id,
        role: &u.user.role,
    }
}

fn denial(d: Denied) -> ApiError {
    match d {
        Denied::Forbidden(m) => ApiError::forbidden(m),
        Denied::Sso(p) => ApiError::sso(p, "Its password is managed by that provider."),
    }
}

/// A page of the user list as asked for, checked.
struct Listing {
    sort: Sort,
    descending: bool,
    page: u32,
    per_page: u32,
}

impl Listing {
    fn parse(q: &ListQuery) -> ApiResult<Self> {
        if q.q.chars().count() > 100 {
            return Err(ApiError::bad_request("too_long", "The search is too long.").field("q"));
        }
        let sort = match q.sort.as_deref().unwrap_or("name") {
            "name" => Sort::Name,
            "email" => Sort::Email,
            "role" => Sort::Role,
            "last_sign_in" => Sort::LastSignIn,
            _ => {
                let message = "Sort by name, email, role or last_sign_in.";
                return Err(ApiError::bad_request("invalid_sort", message).field("sort"));
            }
        };
        let descending = match q.dir.as_deref().unwrap_or("asc") {
            "asc" => false,
            "desc" => true,
            _ => {
                let message = "The direction is asc or desc.";
                return Err(ApiError::bad_request("invalid_dir", message).field("dir"));
            }
        };
        Ok(Self {
            sort,
            descending,
            page: q.page.unwrap_or(1).max(1),
            per_page: q.per_page.unwrap_or(20).clamp(1, 100),
        })
    }
}

/// One row of the list, with what the signed-in administrator may do to it and why not.
fn listed(u: &AuthUser, r: admin::ListedUser, now: i64) -> AdminUser {
    let target = Target {
        id: r.id,
        account_id: u.user.account_id,
        role: &r.role,
        sign_in_method: r.sign_in_method,
    };
    let verdict = may_manage_password(&actor(u), &target);
    let reason = match &verdict {
        Ok(()) => None,
        Err(Denied::Sso(p)) => Some(format!("Signs in with {}", p.display_name())),
        Err(Denied::Forbidden(m)) => Some((*m).to_string()),
    };
    AdminUser {
        id: r.id,
        name: r.name,
        email: r.email,
        phone: r.phone,
        role: r.role.name().to_string(),
        sign_in_method: r.sign_in_method,
        status: r.status,
        locked: r.locked_until.is_some_and(|t| t > now),
        last_sign_in_at: r.last_sign_in_at,
        can_change_password: verdict.is_ok(),
        can_send_reset: verdict.is_ok(),
        disabled_reason: reason,
    }
}

#[utoipa::path(get, path = "/api/admin/users", tag = "admin", params(("q" = Option<String>, Query, description = "Search name, email or phone"), ("sort" = Option<String>, Query, description = "name, email, role or last_sign_in"), ("dir" = Option<String>, Query, description = "asc or desc"), ("page" = Option<u32>, Query), ("per_page" = Option<u32>, Query)), responses((status = 200, description = "OK", body = app::wire::UserPage), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody)))]
pub(crate) async fn list_users(
    State(st): State<AppState>,
    RequirePermission(u, _): RequirePermission<UsersView>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let listing = Listing::parse(&q)?;
    let mut conn = st.store.conn().await?;
    let offset = i64::from(listing.page - 1) * i64::from(listing.per_page);
    let (rows, total) = admin::list_users(
        &mut conn,
        u.user.account_id,
        q.q.trim(),
        listing.sort,
        listing.descending,
        i64::from(listing.per_page),
        offset,
    )
    .await?;
    let now = st.now();
    let users = rows.into_iter().map(|r| listed(&u, r, now)).collect();
    let (page, per_page) = (listing.page, listing.per_page);
    Ok(axum::Json(UserPage {
        users,
        total: u64::try_from(total).unwrap_or(0),
        page,
        per_page,
    })
    .into_response())
}

/// Loads a target user; another account's user is answered like a refusal, not a 404, so ids
/// say nothing about other accounts.
async fn target(c: &mut Conn, u: &AuthUser, id: i64) -> ApiResult<User> {
    match users::by_id(c, id).await? {
        Some(t) if t.account_id == u.user.account_id => Ok(t),
        _ => Err(ApiError::forbidden("That user is not in your account.")),
    }
}

fn by_admin<'a>(u: &'a AuthUser, t: &'a User, client: &'a Client) -> ByAdmin<'a> {
    ByAdmin {
        actor: &u.user,
        target: t,
        client,
    }
}

/// A user of the actor's account whose password the actor may manage.
async fn password_target(st: &AppState, u: &AuthUser, id: i64) -> ApiResult<User> {
    let mut conn = st.store.conn().await?;
    let t = target(&mut conn, u, id).await?;
    may_manage_password(&actor(u), &target_of(&t)).map_err(denial)?;
    Ok(t)
}

fn target_of(t: &User) -> Target<'_> {
    Target {
        id: t.id,
        account_id: t.account_id,
        role: &t.role,
        sign_in_method: t.sign_in_method,
    }
}

/// An administrator sets a user's password. The user is signed out everywhere, told by email,
/// and (by default) must choose a new one at next sign-in (ASVS 5.0 6.4.6).
#[tracing::instrument(skip_all, fields(actor = u.user.id, target = id))]
#[utoipa::path(post, path = "/api/admin/users/{id}/password", tag = "admin", request_body = app::wire::AdminSetPasswordRequest, params(("id" = i64, Path)), responses((status = 204, description = "Changed"), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody), (status = 409, description = "Signs in with a provider", body = app::wire::ErrorBody)))]
pub(crate) async fn set_password(
    State(st): State<AppState>,
    u: AuthUser,
    client: Client,
    Now(now): Now,
    Path(id): Path<i64>,
    Json(req): Json<AdminSetPasswordRequest>,
) -> ApiResult<Response> {
    let t = password_target(&st, &u, id).await?;
    let origin = auth::origin(&client, now);
    let change = Change {
        user: &t,
        by: ChangedBy::Admin {
            actor: &u.user,
            require_change: req.require_change,
        },
        keep_session: None,
        origin: Some(&origin),
        user_agent: Some(&client.user_agent),
        public_origin: &st.config.public_origin(),
        lang: Lang::parse(&t.lang),
        templates: &st.templates,
    };
    let (new, confirm) = (&req.new_password, &req.confirm_password);
    set_new_password(&st.store, &st.hasher, &st.keys, &change, new, confirm, now).await?;
    st.outbox_wake.notify_one();
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/admin/users/{id}/unlock", tag = "admin", params(("id" = i64, Path)), responses((status = 204, description = "Unlocked"), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody)))]
pub(crate) async fn unlock(
    State(st): State<AppState>,
    RequirePermission(u, _): RequirePermission<UsersEdit>,
    client: Client,
    Now(now): Now,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let t = password_target(&st, &u, id).await?;
    crate::reset::admin::unlock(&st, &by_admin(&u, &t, &client), now).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Starts a reset for a user: they get a link by email (same caps and lifetime as if they had
/// asked, and their previous code dies). No code is sent: the flow belongs to no browser, so
/// there is no page where one could be typed.
#[utoipa::path(post, path = "/api/admin/users/{id}/reset", tag = "admin", params(("id" = i64, Path)), responses((status = 204, description = "Sent"), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody), (status = 409, description = "Signs in with a provider, or is deactivated", body = app::wire::ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = app::wire::ErrorBody)))]
pub(crate) async fn send_reset(
    State(st): State<AppState>,
    u: AuthUser,
    client: Client,
    Now(now): Now,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let t = password_target(&st, &u, id).await?;
    crate::reset::admin::send_reset(&st, &by_admin(&u, &t, &client), now).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn valid_role_request(req: &RoleRequest) -> ApiResult<(String, Vec<String>)> {
    let bad = |code, message: String, field| Err(ApiError::bad_request(code, message).field(field));
    match RoleSpec::parse(&req.name, &req.permissions) {
        Ok(spec) => Ok(spec.into_parts()),
        Err(BadRole::Name) => bad(
            "invalid_name",
            "A role name has 1 to 40 characters, all of them visible.".into(),
            "name",
        ),
        Err(BadRole::Reserved) => bad(
            "reserved_name",
            "That name belongs to a built-in role.".into(),
            "name",
        ),
        Err(BadRole::UnknownPermission(p)) => bad(
            "invalid_permission",
            format!("Unknown permission {p}."),
            "permissions",
        ),
        Err(BadRole::OwnerOnly) => bad(
            "invalid_permission",
            "Account settings belong to the owner.".into(),
            "permissions",
        ),
    }
}

#[utoipa::path(get, path = "/api/admin/roles", tag = "admin", responses((status = 200, description = "OK", body = Vec<app::wire::Role>), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody)))]
pub(crate) async fn list_roles(
    State(st): State<AppState>,
    RequirePermission(u, _): RequirePermission<UsersView>,
) -> ApiResult<Response> {
    let mut c = st.store.conn().await?;
    let roles: Vec<WireRole> = admin::roles(&mut c, u.user.account_id)
        .await?
        .into_iter()
        .map(|r| WireRole {
            id: r.id,
            name: r.name,
            permissions: r.permissions,
        })
        .collect();
    Ok(axum::Json(roles).into_response())
}

/// Applies [`may_change_role`]; a refusal is audited, as an attempt to raise one's own rights is
/// exactly what an administrator wants to see (OWASP ASVS 5.0 16.3.2: failed authorization
/// attempts are logged).
async fn allow_role_change(
    st: &AppState,
    c: &mut Conn,
    u: &AuthUser,
    client: &Client,
    change: &RoleChange<'_>,
) -> ApiResult<()> {
    let Err(why) = may_change_role(&u.user.role, change) else {
        return Ok(());
    };
    let detail = match change {
        RoleChange::Create { permissions } => format!("create with {}", permissions.join(",")),
        RoleChange::Update {
            id, permissions, ..
        } => format!("change role {id} to {}", permissions.join(",")),
        RoleChange::Delete { id, .. } => format!("delete role {id}"),
    };
    record(st, c, u, client, "role_change_refused", &detail, None).await?;
    Err(ApiError::forbidden(why))
}

/// Audits what the signed-in administrator `u` did (to `target`, when it was done to a user).
async fn record(
    st: &AppState,
    c: &mut Conn,
    u: &AuthUser,
    client: &Client,
    kind: &str,
    detail: &str,
    target: Option<i64>,
) -> ApiResult<()> {
    let mut event = audit::Event::by_client(kind, u.user.account_id, client)
        .actor(u.user.id)
        .detail(Some(detail));
    event.target_user_id = target;
    audit::record(c, &event, st.now()).await?;
    Ok(())
}

fn role_not_found() -> ApiError {
    ApiError::not_found("role_not_found", "There is no such role.")
}

#[utoipa::path(post, path = "/api/admin/roles", tag = "admin", request_body = app::wire::RoleRequest, responses((status = 201, description = "Created", body = app::wire::Role), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody), (status = 409, description = "Name taken", body = app::wire::ErrorBody)))]
pub(crate) async fn create_role(
    State(st): State<AppState>,
    RequirePermission(u, _): RequirePermission<RolesManage>,
    client: Client,
    Json(req): Json<RoleRequest>,
) -> ApiResult<Response> {
    let role = save_role(&st, &u, &client, None, &req).await?;
    Ok((StatusCode::CREATED, axum::Json(role)).into_response())
}

#[utoipa::path(put, path = "/api/admin/roles/{id}", tag = "admin", request_body = app::wire::RoleRequest, params(("id" = i64, Path)), responses((status = 200, description = "OK", body = app::wire::Role), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody), (status = 404, description = "No such role", body = app::wire::ErrorBody), (status = 409, description = "Name taken", body = app::wire::ErrorBody)))]
pub(crate) async fn update_role(
    State(st): State<AppState>,
    RequirePermission(u, _): RequirePermission<RolesManage>,
    client: Client,
    Path(id): Path<i64>,
    Json(req): Json<RoleRequest>,
) -> ApiResult<Response> {
    let role = save_role(&st, &u, &client, Some(id), &req).await?;
    Ok(axum::Json(role).into_response())
}

/// Role `id` of the account as it stands (its permissions, how many hold it), for
/// [`may_change_role`]; `None` when there is no such role.
fn standing(roles: &[(admin::RoleRow, i64)], id: i64) -> Option<Standing<'_>> {
    roles
        .iter()
        .find(|(r, _)| r.id == id)
        .map(|(r, holders)| Standing {
            permissions: &r.permissions,
            holders: *holders,
        })
}

/// Creates a custom role, or changes role `id`, and audits it in the same transaction.
async fn save_role(
    st: &AppState,
    u: &AuthUser,
    client: &Client,
    id: Option<i64>,
    req: &RoleRequest,
) -> ApiResult<WireRole> {
    let (name, perms) = valid_role_request(req)?;
    let mut c = st.store.conn().await?;
    let role_exists = || {
        let message = "A role with that name exists.";
        Err(ApiError::new(StatusCode::CONFLICT, "role_exists", message).field("name"))
    };
    // One read of the account's roles: the one changed, and any other of the same name.
    let roles = admin::roles_with_holders(&mut c, u.user.account_id).await?;
    let change = match id {
        None => RoleChange::Create {
            permissions: &perms,
        },
        Some(id) => RoleChange::Update {
            id,
            permissions: &perms,
            was: standing(&roles, id),
        },
    };
    allow_role_change(st, &mut c, u, client, &change).await?;
    // Names are assigned by name, whatever their case: "HELPDESK" beside "Helpdesk" would make
    // one of the two unassignable.
    if roles
        .iter()
        .any(|(r, _)| r.is_named(&name) && Some(r.id) != id)
    {
        return role_exists();
    }
    let mut tx = st.store.begin_on(&mut c).await?;
    let account = u.user.account_id;
    let saved = match id {
        None => admin::insert_role(&mut tx, account, &name, &perms)
            .await
            .map(Some),
        Some(id) => admin::update_role(&mut tx, account, id, &name, &perms)
            .await
            .map(|found| found.then_some(id)),
    };
    let id = match saved {
        Ok(Some(id)) => id,
        Ok(None) => return Err(role_not_found()),
        Err(e) if crate::store::is_unique_violation(&e) => return role_exists(),
        Err(e) => return Err(e.into()),
    };
    let (kind, detail) = match change {
        RoleChange::Create { .. } => ("role_created", format!("{name}: {}", perms.join(","))),
        _ => (
            "role_changed",
            format!("role {id} is now {name}: {}", perms.join(",")),
        ),
    };
    record(st, &mut tx, u, client, kind, &detail, None).await?;
    tx.commit().await?;
    Ok(WireRole {
        id,
        name,
        permissions: perms,
    })
}

#[utoipa::path(delete, path = "/api/admin/roles/{id}", tag = "admin", params(("id" = i64, Path)), responses((status = 204, description = "Deleted"), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody), (status = 404, description = "No such role", body = app::wire::ErrorBody)))]
pub(crate) async fn delete_role(
    State(st): State<AppState>,
    RequirePermission(u, _): RequirePermission<RolesManage>,
    client: Client,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let mut c = st.store.conn().await?;
    let roles = admin::roles_with_holders(&mut c, u.user.account_id).await?;
    let change = RoleChange::Delete {
        id,
        was: standing(&roles, id),
    };
    allow_role_change(&st, &mut c, &u, &client, &change).await?;
    let mut tx = st.store.begin_on(&mut c).await?;
    // A custom role's manager deletes only unheld roles (may_change_role): checked again where
    // an assignment made since cannot slip between the check and the delete.
    let only_unheld = matches!(u.user.role, Role::Custom { .. });
    match admin::delete_role(&mut tx, u.user.account_id, id, only_unheld).await? {
        admin::Deleted::Yes => {}
        admin::Deleted::NotFound => return Err(role_not_found()),
        admin::Deleted::Held => {
            return Err(ApiError::forbidden(
                "You cannot delete a role that users hold: ask an administrator.",
            ))
        }
    }
    let detail = format!("role {id}");
    record(&st, &mut tx, &u, &client, "role_deleted", &detail, None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A role by the name an administrator typed: a built-in one, or the account's custom role.
async fn role_named(
    c: &mut Conn,
    account_id: i64,
    name: &str,
) -> ApiResult<(Role, &'static str, Option<i64>)> {
    Ok(match name.to_lowercase().as_str() {
        "admin" => (Role::Admin, "admin", None),
        "member" => (Role::Member, "member", None),
        "owner" => (Role::Owner, "owner", None),
        _ => match admin::role_by_name(c, account_id, name).await? {
            Some(r) => (
                Role::Custom {
                    id: r.id,
                    name: r.name.clone(),
                    permissions: r.permissions.clone(),
                },
                "custom",
                Some(r.id),
            ),
            None => {
                return Err(
                    ApiError::bad_request("role_not_found", "There is no such role.").field("role"),
                )
            }
        },
    })
}

#[utoipa::path(put, path = "/api/admin/users/{id}/role", tag = "admin", request_body = app::wire::AssignRoleRequest, params(("id" = i64, Path)), responses((status = 204, description = "Assigned"), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody)))]
pub(crate) async fn assign_role(
    State(st): State<AppState>,
    RequirePermission(u, _): RequirePermission<RolesManage>,
    client: Client,
    Path(id): Path<i64>,
    Json(req): Json<AssignRoleRequest>,
) -> ApiResult<Response> {
    let mut c = st.store.conn().await?;
    let t = target(&mut c, &u, id).await?;
    let (role, stored, custom_id) = role_named(&mut c, u.user.account_id, req.role.trim()).await?;
    may_assign_role(&actor(&u), &target_of(&t), &role).map_err(ApiError::forbidden)?;
    users::set_role(&mut c, t.id, stored, custom_id).await?;
    let detail = format!("role set to {}", role.name());
    record(
        &st,
        &mut c,
        &u,
        &client,
        "role_assigned",
        &detail,
        Some(t.id),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    page: Option<u32>,
}

#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", params(("user" = Option<String>, Query, description = "Email of actor or target"), ("kind" = Option<String>, Query), ("page" = Option<u32>, Query)), responses((status = 200, description = "OK", body = Vec<app::wire::AuditEvent>), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody)))]
pub(crate) async fn list_audit(
    State(st): State<AppState>,
    RequirePermission(u, _): RequirePermission<AuditView>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Response> {
    let user = q.user.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let kind = q.kind.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if user.is_some_and(|s| s.len() > 254) || kind.is_some_and(|s| s.len() > 64) {
        return Err(ApiError::bad_request("too_long", "The filter is too long."));
    }
    let page = i64::from(q.page.unwrap_or(1).max(1));
    let mut c = st.store.conn().await?;
    let events = audit::list(&mut c, u.user.account_id, user, kind, 50, (page - 1) * 50).await?;
    Ok(axum::Json(events).into_response())
}

#[utoipa::path(get, path = "/api/admin/settings", tag = "admin", responses((status = 200, description = "OK", body = app::wire::AccountSettings), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody)))]
pub(crate) async fn get_settings(
    State(st): State<AppState>,
    RequirePermission(u, _): RequirePermission<UsersView>,
) -> ApiResult<Response> {
    let mut c = st.store.conn().await?;
    let (_, policy) = users::account_policy(&mut c, u.user.account_id).await?;
    Ok(axum::Json(AccountSettings { policy }).into_response())
}

#[utoipa::path(put, path = "/api/admin/settings", tag = "admin", request_body = app::wire::AccountSettings, responses((status = 200, description = "OK", body = app::wire::AccountSettings), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody)))]
pub(crate) async fn put_settings(
    State(st): State<AppState>,
    RequirePermission(u, _): RequirePermission<SettingsEdit>,
    client: Client,
    Json(req): Json<AccountSettings>,
) -> ApiResult<Response> {
    req.policy.validate().map_err(|field| {
        ApiError::bad_request(
            "invalid_policy",
            "Minimum length is at least 8, maximum between 64 and 128 and not below the minimum, history at most 24.",
        )
        .field(field)
    })?;
    let mut c = st.store.conn().await?;
    users::set_account_policy(&mut c, u.user.account_id, &req.policy).await?;
    let detail = "password policy";
    record(&st, &mut c, &u, &client, "settings_changed", detail, None).await?;
    Ok(axum::Json(req).into_response())
}
