//! The signed-in user: `GET /api/me`, `GET /api/me/policy`, `POST /api/me/password`,
//! `GET /api/meetings`, and `POST /api/password/strength`.

use app::wire::{ChangePasswordRequest, MeetingList, StrengthRequest, StrengthResponse};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use secrecy::SecretString;

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Client, Json, PendingUser};
use crate::notify::templates::{self, Lang};
use crate::state::{is_common_password, strength, AppState};
use crate::store::outbox::{self, Channel, NewMessage};
use crate::store::{audit, meetings, sessions, users};

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
    PendingUser(u): PendingUser,
) -> ApiResult<Response> {
    let mut c = st.store.conn().await?;
    Ok(axum::Json(auth::me(&mut c, &u.user).await?).into_response())
}

#[utoipa::path(get, path = "/api/me/policy", tag = "me", responses((status = 200, description = "OK", body = app::wire::PolicyResponse), (status = 401, description = "Not signed in", body = app::wire::ErrorBody)))]
pub(crate) async fn policy(
    State(st): State<AppState>,
    PendingUser(u): PendingUser,
) -> ApiResult<Response> {
    let mut c = st.store.conn().await?;
    Ok(axum::Json(auth::policy_for(&mut c, &u.user).await?).into_response())
}

#[utoipa::path(get, path = "/api/meetings", tag = "me", responses((status = 200, description = "OK", body = app::wire::MeetingList), (status = 401, description = "Not signed in", body = app::wire::ErrorBody), (status = 403, description = "Not allowed", body = app::wire::ErrorBody)))]
pub(crate) async fn list_meetings(State(st): State<AppState>, u: AuthUser) -> ApiResult<Response> {
    let mut c = st.store.conn().await?;
    let list = meetings::upcoming(&mut c, u.user.id, st.now()).await?;
    Ok(axum::Json(MeetingList {
        time_zone: u.user.time_zone.clone(),
        meetings: list,
    })
    .into_response())
}

/// Changes a remembered password. The session that asks stays signed in; every other session of
/// the user is revoked and the user gets an email (ASVS 5.0 6.2.3 asks for the current password
/// unless the change is the one forced after an administrator set it).
#[tracing::instrument(skip_all, fields(user = u.user.id))]
#[utoipa::path(post, path = "/api/me/password", tag = "me", request_body = app::wire::ChangePasswordRequest, responses((status = 204, description = "Changed"), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 401, description = "Not signed in", body = app::wire::ErrorBody)))]
pub(crate) async fn change_password(
    State(st): State<AppState>,
    PendingUser(u): PendingUser,
    client: Client,
    Json(req): Json<ChangePasswordRequest>,
) -> ApiResult<Response> {
    let user = &u.user;
    if !user.must_change_password {
        if req.current_password.is_empty() {
            return Err(
                ApiError::bad_request("required", "Enter your current password.")
                    .field("current_password"),
            );
        }
        let ok = st
            .hasher
            .verify(
                SecretString::from(req.current_password.clone()),
                user.password_hash.clone(),
            )
            .await
            .map_err(ApiError::internal)?;
        if !ok {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "wrong_password",
                "Your current password is not correct.",
            )
            .field("current_password"));
        }
    }
    let hash = auth::prepare_password(&st, user, &req.new_password, &req.confirm_password).await?;
    let now = st.now();
    let lang = Lang::parse(&user.lang);
    let mail = templates::password_changed_email(
        lang,
        &user.name,
        &auth::origin(&client, now),
        false,
        &format!("{}/forgot_password", st.config.public_origin()),
    );
    let mut tx = st.store.begin().await?;
    users::set_password(&mut tx, user.id, &hash, false, now).await?;
    sessions::revoke_all(&mut tx, user.id, Some(u.session_id), now).await?;
    crate::store::reset::revoke_user_codes(&mut tx, user.id, now).await?;
    outbox::enqueue(
        &mut tx,
        &st.keys,
        &NewMessage {
            idempotency_key: crate::crypto::new_token(),
            channel: Channel::Email,
            recipient: user.email.clone(),
            subject: mail.subject,
            body_text: mail.text,
            body_html: mail.html,
            account_id: Some(user.account_id),
            user_id: Some(user.id),
        },
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        &audit::Event {
            kind: "password_changed",
            account_id: Some(user.account_id),
            actor_user_id: Some(user.id),
            target_user_id: Some(user.id),
            ip: Some(&client.ip),
            user_agent: Some(&client.user_agent),
            ..Default::default()
        },
        now,
    )
    .await?;
    tx.commit().await?;
    st.outbox_wake.notify_one();
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A strength estimate for the meter under the password field. Needs no session (the reset page
/// uses it), stores nothing, logs nothing.
#[utoipa::path(post, path = "/api/password/strength", tag = "me", request_body = app::wire::StrengthRequest, responses((status = 200, description = "OK", body = app::wire::StrengthResponse), (status = 400, description = "Invalid input", body = app::wire::ErrorBody)))]
pub(crate) async fn password_strength(Json(req): Json<StrengthRequest>) -> ApiResult<Response> {
    if req.password.len() > 1024 {
        return Err(
            ApiError::bad_request("too_long", "The password is too long.").field("password"),
        );
    }
    let pw = app::policy::normalize(&req.password);
    Ok(axum::Json(StrengthResponse {
        score: strength(&pw, &[]),
        blocklisted: is_common_password(&pw),
    })
    .into_response())
}
