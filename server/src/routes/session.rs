//! Signing in and out: `POST /api/session`, `DELETE /api/session`.

use std::time::Duration;

use app::wire::{Me, SignInMethod, SignInRequest};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use secrecy::SecretString;

use crate::auth;
use crate::cookies::{with_cookies, ServerCookie};
use crate::domain::identifier::EmailAddress;
use crate::error::{human_duration, ApiError, ApiResult};
use crate::extract::{Client, Json};
use crate::state::AppState;
use crate::store::limits;
use crate::store::{audit, sessions, users};

/// Consecutive failures that lock an account's password sign-in (OWASP Authentication Cheat
/// Sheet; ASVS 5.0 6.3.1), and how long.
pub const LOCK_AFTER: u32 = 5;
pub const LOCK_SECS: i64 = 15 * 60;
/// Failed sign-ins from one address in 15 minutes before that address is refused.
pub const IP_FAILURES: u32 = 30;

pub fn router() -> Router<AppState> {
    Router::new().route("/session", post(sign_in).delete(sign_out))
}

/// Locks the account's password sign-in (the admin panel shows it and can lift it); audited once
/// by whichever request got there first. True when this call locked it.
async fn lock_account(
    c: &mut crate::store::Conn,
    u: &users::User,
    client: &Client,
    now: i64,
) -> ApiResult<bool> {
    if !users::lock_signin(c, u.id, now + LOCK_SECS, now).await? {
        return Ok(false);
    }
    audit::record(
        c,
        &audit::Event {
            kind: "sign_in_locked",
            account_id: Some(u.account_id),
            target_user_id: Some(u.id),
            ip: Some(&client.ip),
            user_agent: Some(&client.user_agent),
            detail: Some("locked"),
            ..Default::default()
        },
        now,
    )
    .await?;
    Ok(true)
}

fn locked(st: &AppState, wait: u64) -> ApiError {
    st.metrics.refused("signin_account");
    ApiError::rate_limited(
        "account_locked",
        wait,
        format!(
            "Too many failed sign-in attempts. Try again in {}, or reset your password.",
            human_duration(wait)
        ),
    )
}

fn invalid() -> ApiError {
    // One message for a wrong email and a wrong password: it must not say which was wrong.
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "The email or password is incorrect.",
    )
}

#[tracing::instrument(skip_all, fields(ip = %client.ip))]
#[utoipa::path(post, path = "/api/session", tag = "session", request_body = app::wire::SignInRequest, responses((status = 200, description = "Signed in", body = app::wire::Me), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 401, description = "Wrong email or password", body = app::wire::ErrorBody), (status = 409, description = "Signs in with a provider (never in hidden mode)", body = app::wire::ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = app::wire::ErrorBody)))]
pub(crate) async fn sign_in(
    State(st): State<AppState>,
    client: Client,
    Json(req): Json<SignInRequest>,
) -> ApiResult<Response> {
    if req.email.trim().is_empty() {
        return Err(ApiError::bad_request("required", "Enter your email address.").field("email"));
    }
    if req.password.is_empty() {
        return Err(ApiError::bad_request("required", "Enter your password.").field("password"));
    }
    let now = st.now();
    let hide = st.config.hide_account_existence;
    let email = EmailAddress::parse(&req.email);
    let id_bucket = auth::signin_bucket(
        &st.keys,
        &email
            .as_ref()
            .map_or_else(|| req.email.trim().to_lowercase(), |e| e.lower()),
    );
    let ip_bucket = format!("signin_fail_ip:{}", client.rate_key);
    let mut c = st.store.conn().await?;
    // Count first, decide second, hash last: each attempt takes its place in the per-address and
    // per-identifier windows in one statement before any Argon2 work, so a burst of parallel
    // guesses is refused at the cap instead of being evaluated and counted afterwards (OWASP
    // Authentication Cheat Sheet, "Account lockout"; ASVS 5.0 6.3.1). A success gives its place
    // back. The per-identifier window counts unknown addresses exactly like real ones, so a lock
    // says nothing about whether an account exists.
    let ip_slot = match limits::reserve(&mut c, &ip_bucket, IP_FAILURES, 900, now).await? {
        Ok(slot) => slot,
        Err(retry_after) => {
            st.metrics.refused("signin_ip");
            return Err(ApiError::too_many(retry_after));
        }
    };
    let user = match &email {
        Some(e) => users::by_email(&mut c, &e.lower())
            .await?
            .filter(|u| u.active),
        None => None,
    };
    // Hidden mode: a provider's user is answered like an unknown address (after the same hash).
    let user = match user {
        Some(u) if u.sign_in_method != SignInMethod::Password => {
            if hide {
                None
            } else {
                limits::release(&mut c, &ip_slot).await?;
                return Err(ApiError::sso(u.sign_in_method, "Sign in with it instead."));
            }
        }
        other => other,
    };
    // The window alone decides (the users table's lock time is what the admin panel shows): a
    // second source would let a real account stay locked a moment longer than an unknown one.
    let id_slot = match limits::attempt(&mut c, &id_bucket, LOCK_AFTER, LOCK_SECS, now).await? {
        Ok(slot) => slot,
        Err(retry_after) => {
            if let Some(u) = &user {
                lock_account(&mut c, u, &client, now).await?;
            }
            return Err(locked(&st, retry_after));
        }
    };
    // No pooled connection is held while the hash is computed or while a failure is delayed.
    drop(c);
    // Always one Argon2 verification, against a dummy hash when there is no such user, so the
    // answer takes as long either way. The password is NFC-normalised as it was when stored, so a
    // keyboard that sends decomposed characters signs in too (NIST SP 800-63B-4 3.1.1.2).
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = st
        .hasher
        .verify(
            SecretString::from(app::policy::normalize(&req.password)),
            hash,
        )
        .await
        .map_err(ApiError::internal)?;
    if !ok || user.is_none() {
        let failures = id_slot.count;
        if let Some(u) = &user {
            let mut c = st.store.conn().await?;
            let locked_now =
                failures >= i64::from(LOCK_AFTER) && lock_account(&mut c, u, &client, now).await?;
            if !locked_now {
                audit::record(
                    &mut c,
                    &audit::Event {
                        kind: "sign_in_failed",
                        account_id: Some(u.account_id),
                        target_user_id: Some(u.id),
                        ip: Some(&client.ip),
                        user_agent: Some(&client.user_agent),
                        ..Default::default()
                    },
                    now,
                )
                .await?;
            }
        }
        // Slow repeated guessing down before the lock: 250 ms per earlier failure, at most 750 ms,
        // for unknown addresses as for real ones.
        let delay = (failures.clamp(1, 4) - 1) as u64 * 250;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        return Err(invalid());
    }
    let mut c = st.store.conn().await?;
    limits::release(&mut c, &ip_slot).await?;
    limits::clear(&mut c, &id_bucket).await?;
    let Some(user) = user else {
        return Err(invalid());
    };
    let mut tx = st.store.begin_on(&mut c).await?;
    users::record_signin(&mut tx, user.id, now).await?;
    let token = auth::start_session(&st, &mut tx, user.id, &client, now).await?;
    let set = auth::session_cookie(&st, &token);
    audit::record(
        &mut tx,
        &audit::Event {
            kind: "sign_in",
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
    let me: Me = auth::me(&mut tx, &user).await?;
    tx.commit().await?;
    Ok(with_cookies(StatusCode::OK, axum::Json(me), vec![set]))
}

#[utoipa::path(delete, path = "/api/session", tag = "session", responses((status = 204, description = "Signed out")))]
pub(crate) async fn sign_out(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(token) = ServerCookie::Session.read(&headers, &st.config) {
        let hash = st.keys.token_hash("session", &token);
        let now = st.now();
        let mut c = st.store.conn().await?;
        let idle = i64::try_from(st.config.session_idle_secs).unwrap_or(i64::MAX / 2);
        if let Some(s) = sessions::live(&mut c, &hash, now, idle).await? {
            sessions::revoke(&mut c, s.id, now).await?;
        }
    }
    Ok(with_cookies(
        StatusCode::NO_CONTENT,
        (),
        vec![auth::end_session_cookie(&st)],
    ))
}
