//! Signing in and out: `POST /api/session`, `DELETE /api/session`.

use app::wire::SignInRequest;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;

use crate::auth;
use crate::cookies::{self, with_cookies, ServerCookie};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Client, Json, Now, ServerCookies};
use crate::reset::sign_in::{sign_in as sign_in_user, sign_out as end_session};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/session", post(sign_in).delete(sign_out))
}

#[tracing::instrument(skip_all, fields(ip = %client.ip))]
#[utoipa::path(post, path = "/api/session", tag = "session", request_body = app::wire::SignInRequest, responses((status = 200, description = "Signed in", body = app::wire::Me), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 401, description = "Wrong email or password", body = app::wire::ErrorBody), (status = 409, description = "Signs in with a provider (never in hidden mode)", body = app::wire::ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = app::wire::ErrorBody)))]
pub(crate) async fn sign_in(
    State(st): State<AppState>,
    client: Client,
    Now(now): Now,
    Json(req): Json<SignInRequest>,
) -> ApiResult<Response> {
    if req.email.trim().is_empty() {
        return Err(ApiError::bad_request("required", "Enter your email address.").field("email"));
    }
    if req.password.is_empty() {
        return Err(ApiError::bad_request("required", "Enter your password.").field("password"));
    }
    let signed_in = sign_in_user(&st, &req.email, &req.password, &client, now).await?;
    let set = auth::session_cookie(&st, &signed_in.session_token);
    Ok(with_cookies(
        StatusCode::OK,
        axum::Json(signed_in.me),
        vec![set],
    ))
}

#[utoipa::path(delete, path = "/api/session", tag = "session", responses((status = 204, description = "Signed out")))]
pub(crate) async fn sign_out(
    State(st): State<AppState>,
    Now(now): Now,
    cookies: ServerCookies,
) -> ApiResult<Response> {
    if let Some(token) = cookies.session {
        end_session(&st, &token, now).await?;
    }
    let cookies = vec![cookies::clear(ServerCookie::Session, &st.config)];
    Ok(with_cookies(StatusCode::NO_CONTENT, (), cookies))
}
