//! The signed-in user: `/api/session` and `/api/me`.

use super::{delete, get, json, post, unit, ApiResult, NO_BODY};
use crate::wire::{ChangePasswordRequest, Me, PolicyResponse, SignInRequest};

/// `POST /api/session`
pub async fn sign_in(req: &SignInRequest) -> ApiResult<Me> {
    json(post("/api/session"), Some(req)).await
}

/// `DELETE /api/session`
pub async fn sign_out() -> ApiResult<()> {
    unit(delete("/api/session"), NO_BODY).await
}

/// `GET /api/me`
pub async fn me() -> ApiResult<Me> {
    json(get("/api/me"), NO_BODY).await
}

/// `GET /api/me/policy`
pub async fn my_policy() -> ApiResult<PolicyResponse> {
    json(get("/api/me/policy"), NO_BODY).await
}

/// `POST /api/me/password`
pub async fn change_password(req: &ChangePasswordRequest) -> ApiResult<()> {
    unit(post("/api/me/password"), Some(req)).await
}
