//! Self-service password reset, by email or SMS (OWASP Forgot Password Cheat Sheet):
//! `POST /api/reset/start`, `GET|DELETE /api/reset/flow`, `POST /api/reset/resend`,
//! `POST /api/reset/verify`, `GET|POST /api/reset/link`, `POST /api/reset/password`.
//!
//! Each handler extracts, calls one use case of `crate::reset` and shapes the answer: the flow
//! cookie binds a flow to the browser that started it, the link cookie holds an opened link.

use app::wire::{
    OpenLinkRequest, ResetDone, SetPasswordRequest, StartResetRequest, VerifyCodeRequest,
};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::cookies::{self, with_cookies, ServerCookie};
use crate::domain::identifier::Identifier;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Client, Json, Now, RequestLang, ServerCookies};
use crate::reset::complete::CompleteRequest;
use crate::reset::start::StartRequest;
use crate::reset::{self as use_case, flow, link};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reset/start", post(start))
        .route("/reset/flow", get(flow_state).delete(forget_flow))
        .route("/reset/resend", post(resend))
        .route("/reset/verify", post(verify))
        .route("/reset/link", get(link_state).post(open_link))
        .route("/reset/password", post(set_password))
}

fn clear(st: &AppState, which: ServerCookie) -> HeaderValue {
    cookies::clear(which, &st.config)
}

#[tracing::instrument(skip_all, fields(ip = %client.ip))]
#[utoipa::path(post, path = "/api/reset/start", tag = "reset", request_body = app::wire::StartResetRequest, responses((status = 200, description = "Code sent", body = app::wire::ResetFlow), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 404, description = "The account does not exist", body = app::wire::ErrorBody), (status = 409, description = "Signs in with a provider", body = app::wire::ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = app::wire::ErrorBody), (status = 503, description = "Database unavailable", body = app::wire::ErrorBody)))]
pub(crate) async fn start(
    State(st): State<AppState>,
    client: Client,
    Now(now): Now,
    RequestLang(lang): RequestLang,
    Json(req): Json<StartResetRequest>,
) -> ApiResult<Response> {
    let identifier =
        Identifier::parse(&req.identifier, st.config.default_region.id).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_identifier",
                "Enter a valid email address or phone number.",
            )
            .field("identifier")
        })?;
    let request = StartRequest {
        identifier,
        lang,
        client: &client,
    };
    let started = use_case::start::start(&st, &request, now).await?;
    let ttl = Some(st.config.code_ttl_secs.get());
    // A new flow replaces whatever reset this browser was on: a link opened here earlier (perhaps
    // by someone else on a shared computer) must never be what this browser's Save acts on.
    let cookies = vec![
        clear(&st, ServerCookie::ResetLink),
        cookies::set(ServerCookie::ResetFlow, &started.token, ttl, &st.config),
    ];
    Ok(with_cookies(
        StatusCode::OK,
        axum::Json(started.flow),
        cookies,
    ))
}

#[utoipa::path(get, path = "/api/reset/flow", tag = "reset", responses((status = 200, description = "OK", body = app::wire::ResetFlow), (status = 404, description = "No flow in this browser", body = app::wire::ErrorBody), (status = 410, description = "The verified code's 15 minutes ran out (grant_expired): request a new code", body = app::wire::ErrorBody)))]
pub(crate) async fn flow_state(
    State(st): State<AppState>,
    Now(now): Now,
    cookies: ServerCookies,
) -> ApiResult<Response> {
    Ok(axum::Json(flow::show(&st, cookies.flow.as_deref(), now).await?).into_response())
}

/// "Use a different email or phone number": this browser forgets its flow. Codes already sent
/// stay valid until they expire or are replaced, as the seed describes.
#[utoipa::path(delete, path = "/api/reset/flow", tag = "reset", responses((status = 204, description = "Forgotten")))]
pub(crate) async fn forget_flow(State(st): State<AppState>) -> Response {
    let cookies = vec![
        clear(&st, ServerCookie::ResetFlow),
        clear(&st, ServerCookie::ResetLink),
    ];
    with_cookies(StatusCode::NO_CONTENT, (), cookies)
}

#[tracing::instrument(skip_all, fields(ip = %client.ip))]
#[utoipa::path(post, path = "/api/reset/resend", tag = "reset", responses((status = 200, description = "New code sent", body = app::wire::ResetFlow), (status = 404, description = "No flow in this browser", body = app::wire::ErrorBody), (status = 410, description = "The verified code's 15 minutes ran out (grant_expired)", body = app::wire::ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = app::wire::ErrorBody)))]
pub(crate) async fn resend(
    State(st): State<AppState>,
    client: Client,
    Now(now): Now,
    cookies: ServerCookies,
) -> ApiResult<Response> {
    let view = use_case::resend::resend(&st, cookies.flow.as_deref(), &client, now).await?;
    Ok(axum::Json(view).into_response())
}

#[tracing::instrument(skip_all, fields(ip = %client.ip))]
#[utoipa::path(post, path = "/api/reset/verify", tag = "reset", request_body = app::wire::VerifyCodeRequest, responses((status = 200, description = "Verified", body = app::wire::ResetFlow), (status = 400, description = "Wrong code", body = app::wire::ErrorBody), (status = 404, description = "No flow in this browser", body = app::wire::ErrorBody), (status = 409, description = "Already verified", body = app::wire::ErrorBody), (status = 410, description = "Code expired or exhausted, or the grant expired", body = app::wire::ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = app::wire::ErrorBody)))]
pub(crate) async fn verify(
    State(st): State<AppState>,
    client: Client,
    Now(now): Now,
    cookies: ServerCookies,
    Json(req): Json<VerifyCodeRequest>,
) -> ApiResult<Response> {
    let request = use_case::verify::VerifyRequest {
        flow_token: cookies.flow.as_deref(),
        code: &req.code,
        client: &client,
    };
    let view = use_case::verify::verify(&st, &request, now).await?;
    Ok(axum::Json(view).into_response())
}

/// Opening the emailed link changes nothing (mail scanners fetch links); the token moves into an
/// HttpOnly cookie so the page can take it out of the address bar and history.
#[utoipa::path(post, path = "/api/reset/link", tag = "reset", request_body = app::wire::OpenLinkRequest, responses((status = 200, description = "OK", body = app::wire::LinkState), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 410, description = "Link expired", body = app::wire::ErrorBody)))]
pub(crate) async fn open_link(
    State(st): State<AppState>,
    Now(now): Now,
    cookies: ServerCookies,
    Json(req): Json<OpenLinkRequest>,
) -> ApiResult<Response> {
    let token = req.token.trim();
    let opened = link::open(&st, token, cookies.flow.as_deref(), now).await?;
    let mut cookies = vec![cookies::set(
        ServerCookie::ResetLink,
        token,
        Some(opened.max_age),
        &st.config,
    )];
    if opened.forget_browser_flow {
        cookies.push(clear(&st, ServerCookie::ResetFlow));
    }
    Ok(with_cookies(
        StatusCode::OK,
        axum::Json(opened.state),
        cookies,
    ))
}

#[utoipa::path(get, path = "/api/reset/link", tag = "reset", responses((status = 200, description = "OK", body = app::wire::LinkState), (status = 410, description = "Link expired", body = app::wire::ErrorBody)))]
pub(crate) async fn link_state(
    State(st): State<AppState>,
    Now(now): Now,
    cookies: ServerCookies,
) -> ApiResult<Response> {
    Ok(axum::Json(link::show(&st, cookies.link.as_deref(), now).await?).into_response())
}

/// Save: consumes the grant (or the link) and sets the password, revokes every session, signs in
/// only the browser that started the flow, and queues the confirmation email; one transaction.
#[tracing::instrument(skip_all, fields(ip = %client.ip))]
#[utoipa::path(post, path = "/api/reset/password", tag = "reset", request_body = app::wire::SetPasswordRequest, responses((status = 200, description = "Password reset", body = app::wire::ResetDone), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 410, description = "Grant or link expired", body = app::wire::ErrorBody)))]
pub(crate) async fn set_password(
    State(st): State<AppState>,
    client: Client,
    Now(now): Now,
    RequestLang(lang): RequestLang,
    cookies: ServerCookies,
    Json(req): Json<SetPasswordRequest>,
) -> ApiResult<Response> {
    let request = CompleteRequest {
        flow_token: cookies.flow.as_deref(),
        link_token: cookies.link.as_deref(),
        new_password: &req.new_password,
        confirm_password: &req.confirm_password,
        client: &client,
        lang,
    };
    let done = use_case::complete::complete(&st, &request, now).await?;
    let signed_in = done.session_token.is_some();
    let mut cookies = vec![
        clear(&st, ServerCookie::ResetFlow),
        clear(&st, ServerCookie::ResetLink),
    ];
    cookies.extend(
        done.session_token
            .map(|t| crate::auth::session_cookie(&st, &t)),
    );
    Ok(with_cookies(
        StatusCode::OK,
        axum::Json(ResetDone { signed_in }),
        cookies,
    ))
}
