//! User management: `/api/admin/*`.

use super::{delete, encode, get, json, post, put, unit, ApiResult, NO_BODY};
use crate::wire::{
    AccountSettings, AdminSetPasswordRequest, AssignRoleRequest, AuditEvent, Role, RoleRequest,
    UserPage,
};

/// What the user list asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    pub q: String,
    /// "name", "email", "role" or "last_sign_in".
    pub sort: &'static str,
    pub descending: bool,
    pub page: u32,
    pub per_page: u32,
}

/// `GET /api/admin/users?q=&sort=&dir=&page=&per_page=`
pub async fn users(query: &UserQuery) -> ApiResult<UserPage> {
    let url = format!(
        "/api/admin/users?q={}&sort={}&dir={}&page={}&per_page={}",
        encode(query.q.trim()),
        query.sort,
        if query.descending { "desc" } else { "asc" },
        query.page,
        query.per_page
    );
    json(get(&url), NO_BODY).await
}

/// `POST /api/admin/users/{id}/password`
pub async fn set_password(id: i64, req: &AdminSetPasswordRequest) -> ApiResult<()> {
    unit(post(&format!("/api/admin/users/{id}/password")), Some(req)).await
}

/// `POST /api/admin/users/{id}/unlock`
pub async fn unlock(id: i64) -> ApiResult<()> {
    unit(post(&format!("/api/admin/users/{id}/unlock")), NO_BODY).await
}

/// `POST /api/admin/users/{id}/reset`: emails the user a reset link.
pub async fn send_reset(id: i64) -> ApiResult<()> {
    unit(post(&format!("/api/admin/users/{id}/reset")), NO_BODY).await
}

/// `PUT /api/admin/users/{id}/role`
pub async fn assign_role(id: i64, req: &AssignRoleRequest) -> ApiResult<()> {
    unit(put(&format!("/api/admin/users/{id}/role")), Some(req)).await
}

/// `GET /api/admin/roles`
pub async fn roles() -> ApiResult<Vec<Role>> {
    json(get("/api/admin/roles"), NO_BODY).await
}

/// `POST /api/admin/roles`
pub async fn create_role(req: &RoleRequest) -> ApiResult<Role> {
    json(post("/api/admin/roles"), Some(req)).await
}

/// `PUT /api/admin/roles/{id}`
pub async fn update_role(id: i64, req: &RoleRequest) -> ApiResult<Role> {
    json(put(&format!("/api/admin/roles/{id}")), Some(req)).await
}

/// `DELETE /api/admin/roles/{id}`
pub async fn delete_role(id: i64) -> ApiResult<()> {
    unit(delete(&format!("/api/admin/roles/{id}")), NO_BODY).await
}

/// `GET /api/admin/audit?user=&kind=&page=`
pub async fn audit(user: &str, kind: &str, page: u32) -> ApiResult<Vec<AuditEvent>> {
    let url = format!(
        "/api/admin/audit?user={}&kind={}&page={page}",
        encode(user.trim()),
        encode(kind.trim())
    );
    json(get(&url), NO_BODY).await
}

/// `GET /api/admin/settings`
pub async fn settings() -> ApiResult<AccountSettings> {
    json(get("/api/admin/settings"), NO_BODY).await
}

/// `PUT /api/admin/settings`
pub async fn save_settings(req: &AccountSettings) -> ApiResult<()> {
    unit(put("/api/admin/settings"), Some(req)).await
}
