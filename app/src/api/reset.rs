//! The self-service reset flow: `/api/reset/*`.

use super::{delete, get, json, post, unit, ApiResult, NO_BODY};
use crate::wire::{
    LinkState, OpenLinkRequest, ResetDone, ResetFlow, SetPasswordRequest, StartResetRequest,
    VerifyCodeRequest,
};

/// `POST /api/reset/start`
pub async fn start(req: &StartResetRequest) -> ApiResult<ResetFlow> {
    json(post("/api/reset/start"), Some(req)).await
}

/// `GET /api/reset/flow`: where this browser's flow is, so a refreshed page resumes.
pub async fn flow() -> ApiResult<ResetFlow> {
    json(get("/api/reset/flow"), NO_BODY).await
}

/// `DELETE /api/reset/flow`
pub async fn cancel() -> ApiResult<()> {
    unit(delete("/api/reset/flow"), NO_BODY).await
}

/// `POST /api/reset/resend`
pub async fn resend() -> ApiResult<ResetFlow> {
    json(post("/api/reset/resend"), NO_BODY).await
}

/// `POST /api/reset/verify`
pub async fn verify(req: &VerifyCodeRequest) -> ApiResult<ResetFlow> {
    json(post("/api/reset/verify"), Some(req)).await
}

/// `POST /api/reset/link`: hands the emailed token to the server, which keeps it in a cookie.
pub async fn open_link(req: &OpenLinkRequest) -> ApiResult<LinkState> {
    json(post("/api/reset/link"), Some(req)).await
}

/// `GET /api/reset/link`: the link opened earlier in this browser, after a refresh.
pub async fn link_state() -> ApiResult<LinkState> {
    json(get("/api/reset/link"), NO_BODY).await
}

/// `POST /api/reset/password`
pub async fn set_password(req: &SetPasswordRequest) -> ApiResult<ResetDone> {
    json(post("/api/reset/password"), Some(req)).await
}
