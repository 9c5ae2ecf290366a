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
use crate::domain::password::{is_common_password, strength};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Client, Json, Now, PendingUser};
use crate::notify::templates::Lang;
use crate::reset::change::{set_new_password, Change, ChangedBy};
use crate::state::AppState;
use crate::store::limits;
use crate::store::users::User;
use crate::store::{audit, meetings};

/// Wrong current passwords a user may type within [`WRONG_CURRENT_WINDOW`] seconds before the
/// change is refused outright: a session left open or stolen must not become an unlimited
/// oracle for the account's password (OWASP Authentication Cheat Sheet; ASVS 5.0 6.3.1;
/// NIST SP 800-63B-4 3.2.2 rate limiting).
pub const WRONG_CURRENT_MAX: u32 = 5;
pub const WRONG_CURRENT_WINDOW: i64 = 15 * 60;

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
    Ok(axum::Json(crate::reset::password::policy_for(&mut c, &u.user).await?).into_response())
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
#[utoipa::path(post, path = "/api/me/password", tag = "me", request_body = app::wire::ChangePasswordRequest, responses((status = 204, description = "Changed"), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 401, description = "Not signed in, or wrong current password", body = app::wire::ErrorBody), (status = 429, description = "Too many wrong current passwords (Retry-After)", body = app::wire::ErrorBody)))]
pub(crate) async fn change_password(
    State(st): State<AppState>,
    PendingUser(u): PendingUser,
    client: Client,
    Now(now): Now,
    Json(req): Json<ChangePasswordRequest>,
) -> ApiResult<Response> {
    let user = &u.user;
    if !user.must_change_password {
        check_current_password(&st, user, &client, &req.current_password).await?;
    }
    let origin = auth::origin(&client, now);
    let change = Change {
        user,
        by: ChangedBy::Owner,
        keep_session: Some(u.session_id),
        origin: Some(&origin),
        user_agent: Some(&client.user_agent),
        public_origin: &st.config.public_origin(),
        lang: Lang::parse(&user.lang),
    };
    let (new, confirm) = (&req.new_password, &req.confirm_password);
    set_new_password(&st.store, &st.hasher, &st.keys, &change, new, confirm, now).await?;
    st.outbox_wake.notify_one();
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The current-password check of a change: capped per user, audited when wrong.
///
/// The attempt takes its slot in the cap before Argon2 runs and a right password gives it back,
/// so twenty concurrent guesses cannot all be hashed while the count still looks low, and a
/// refused attempt costs no hash at all.
async fn check_current_password(
    st: &AppState,
    user: &User,
    client: &Client,
    current: &str,
) -> ApiResult<()> {
    if current.is_empty() {
        return Err(
            ApiError::bad_request("required", "Enter your current password.")
                .field("current_password"),
        );
    }
    let now = st.now();
    let bucket = format!("password_change_fail:{}", user.id);
    let mut c = st.store.conn().await?;
    let slot = match limits::reserve(
        &mut c,
        &bucket,
        WRONG_CURRENT_MAX,
        WRONG_CURRENT_WINDOW,
        now,
    )
    .await?
    {
        Ok(slot) => slot,
        Err(retry_after) => {
            st.metrics.refused("password_change");
            return Err(ApiError::too_many(retry_after));
        }
    };
    // No pooled connection is held while the hash is computed.
    drop(c);
    // Stored hashes are of the NFC form, so the same passphrase typed on a keyboard that
    // composes differently must match (NIST SP 800-63B-4 3.1.1.2; 5.1.1.2 in revision 3).
    let ok = st
        .hasher
        .verify(
            SecretString::from(app::policy::normalize(current)),
            user.password_hash.clone(),
        )
        .await
        .map_err(ApiError::internal)?;
    let mut c = st.store.conn().await?;
    if ok {
        limits::release(&mut c, &slot).await?;
        return Ok(());
    }
    let failures = slot.count;
    audit::record(
        &mut c,
        &audit::Event {
            kind: "password_change_failed",
            account_id: Some(user.account_id),
            actor_user_id: Some(user.id),
            target_user_id: Some(user.id),
            ip: Some(&client.ip),
            user_agent: Some(&client.user_agent),
            detail: (failures >= i64::from(WRONG_CURRENT_MAX))
                .then_some("wrong current password; further attempts refused for 15 minutes"),
        },
        now,
    )
    .await?;
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "wrong_password",
        "Your current password is not correct.",
    )
    .field("current_password"))
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
