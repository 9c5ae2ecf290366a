//! The signed-in user: `GET /api/me`, `GET /api/me/policy`, `POST /api/me/password`,
//! `GET /api/meetings`, and `POST /api/password/strength`.

use app::wire::{
    ChangePasswordRequest, Me, MeetingList, PolicyResponse, StrengthRequest, StrengthResponse,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use crate::auth;
use crate::domain::password::{is_common_password, strength};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Client, Json, Now, PendingUser};
use crate::notify::templates::Lang;
use crate::reset::change::{set_new_password, Change, ChangedBy};
use crate::reset::password::policy_for;
use crate::reset::sign_in::check_current_password;
use crate::state::AppState;
use crate::store::meetings;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/me/policy", get(policy))
        .route("/me/password", post(change_password))
        .route("/meetings", get(list_meetings))
        .route("/password/strength", post(password_strength))
}

#[utoipa::path(get, path = "/api/me", tag = "me", responses((status = 200, description = "OK", body = app::wire::Me), (status = 401, description = "Not signed in", body = app::wire::ErrorBody)))]
pub(crate) async fn me(
    State(st): State<AppState>,
    PendingUser(signed_in): PendingUser,
) -> ApiResult<axum::Json<Me>> {
    let mut conn = st.store.conn().await?;
    Ok(axum::Json(auth::me(&mut conn, &signed_in.user).await?))
}

#[utoipa::path(get, path = "/api/me/policy", tag = "me", responses((status = 200, description = "OK", body = app::wire::PolicyResponse), (status = 401, description = "Not signed in", body = app::wire::ErrorBody)))]
pub(crate) async fn policy(
    State(st): State<AppState>,
    PendingUser(signed_in): PendingUser,
) -> ApiResult<axum::Json<PolicyResponse>> {
    let mut conn = st.store.conn().await?;
    Ok(axum::Json(policy_for(&mut conn, &signed_in.user).await?))
}

#[utoipa::path(get, path = "/api/meetings", tag = "me", responses((status = 200, description = "OK", body = app::wire::MeetingList), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody)))]
pub(crate) async fn list_meetings(
    State(st): State<AppState>,
    signed_in: AuthUser,
) -> ApiResult<axum::Json<MeetingList>> {
    let mut conn = st.store.conn().await?;
    let meetings = meetings::upcoming(&mut conn, signed_in.user.id, st.now()).await?;
    Ok(axum::Json(MeetingList {
        time_zone: signed_in.user.time_zone,
        meetings,
    }))
}

/// Changes a remembered password. The session that asks stays signed in; every other session of
/// the user is revoked and the user gets an email (ASVS 5.0 6.2.3 asks for the current password
/// unless the change is the one forced after an administrator set it).
#[tracing::instrument(skip_all, fields(user = signed_in.user.id))]
#[utoipa::path(post, path = "/api/me/password", tag = "me", request_body = app::wire::ChangePasswordRequest, responses((status = 204, description = "Changed"), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 401, description = "Not signed in, or wrong current password", body = app::wire::ErrorBody), (status = 429, description = "Too many wrong current passwords (Retry-After)", body = app::wire::ErrorBody)))]
pub(crate) async fn change_password(
    State(st): State<AppState>,
    PendingUser(signed_in): PendingUser,
    client: Client,
    Now(now): Now,
    Json(req): Json<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let user = &signed_in.user;
    if !user.must_change_password {
        check_current_password(&st, user, &client, &req.current_password, now).await?;
    }
    let origin = auth::origin(&client, now);
    let change = Change {
        user,
        by: ChangedBy::Owner,
        keep_session: Some(signed_in.session_id),
        origin: Some(&origin),
        user_agent: Some(&client.user_agent),
        public_origin: &st.config.public_origin(),
        lang: Lang::parse(&user.lang),
        templates: &st.templates,
    };
    let (new, confirm) = (&req.new_password, &req.confirm_password);
    set_new_password(&st.store, &st.hasher, &st.keys, &change, new, confirm, now).await?;
    st.outbox_wake.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

/// A strength estimate for the meter under the password field. Needs no session (the reset page
/// uses it), stores nothing, logs nothing.
#[utoipa::path(post, path = "/api/password/strength", tag = "me", request_body = app::wire::StrengthRequest, responses((status = 200, description = "OK", body = app::wire::StrengthResponse), (status = 400, description = "Invalid input", body = app::wire::ErrorBody)))]
pub(crate) async fn password_strength(
    Json(req): Json<StrengthRequest>,
) -> ApiResult<axum::Json<StrengthResponse>> {
    if req.password.len() > 1024 {
        return Err(
            ApiError::bad_request("too_long", "The password is too long.").field("password"),
        );
    }
    let pw = app::policy::normalize(&req.password);
    Ok(axum::Json(StrengthResponse {
        score: strength(&pw, &[]),
        blocklisted: is_common_password(&pw),
    }))
}
