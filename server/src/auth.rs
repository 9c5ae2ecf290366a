//! What sign-in, password changes and resets share: the user's policy, preparing a new password
//! (policy, blocklist, history, hash), and issuing a session.

use app::policy::{forbidden_words, Violation};
use app::wire::{Me, PolicyResponse};
use axum::http::HeaderValue;
use secrecy::SecretString;

use crate::crypto::new_token;
use crate::domain::password::NewPassword;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Client, ServerCookie};
use crate::notify::templates::{describe_browser, Origin};
use crate::state::{is_common_password, AppState};
use crate::store::users::{self, User};
use crate::store::{sessions, Conn};

/// The account's rules and the words this user may not use.
pub async fn policy_for(c: &mut Conn, user: &User) -> ApiResult<PolicyResponse> {
    let (_, policy) = users::account_policy(c, user.account_id).await?;
    Ok(PolicyResponse {
        policy,
        forbidden_words: forbidden_words(&user.name, &user.email),
    })
}

/// Checks a new password against the account's policy, the blocklist and the user's history,
/// then hashes it (on the bounded blocking pool). Errors name the field and the failed rules.
///
/// No database connection is held while hashing: a burst of saves queues on the hasher without
/// starving everything else of connections.
pub async fn prepare_password(
    st: &AppState,
    user: &User,
    new: &str,
    confirm: &str,
) -> ApiResult<String> {
    // Refuse absurd input before any work: the policy caps at 128 code points, 4 bytes each.
    if new.len() > 1024 || confirm.len() > 1024 {
        return Err(ApiError::policy(
            "new_password",
            vec![Violation::TooLong {
                max: app::policy::ABSOLUTE_MAX_LENGTH,
            }],
        ));
    }
    let (pr, recent) = {
        let mut c = st.store.conn().await?;
        let pr = policy_for(&mut c, user).await?;
        let recent = if pr.policy.history_depth > 0 {
            users::recent_hashes(&mut c, user.id, pr.policy.history_depth).await?
        } else {
            Vec::new()
        };
        (pr, recent)
    };
    let pw = NewPassword::parse(
        &pr.policy,
        new,
        confirm,
        &pr.forbidden_words,
        is_common_password,
    )
    .map_err(|v| {
        if v == [Violation::Mismatch] {
            ApiError::mismatch()
        } else {
            ApiError::policy("new_password", v)
        }
    })?;
    if !recent.is_empty() {
        let reused = st
            .hasher
            .verify_any(
                SecretString::from(pw.expose().to_string()),
                recent.into_iter().map(Some).collect(),
            )
            .await
            .map_err(ApiError::internal)?;
        if reused {
            return Err(ApiError::policy(
                "new_password",
                vec![Violation::Reused {
                    depth: pr.policy.history_depth,
                }],
            ));
        }
    }
    st.hasher
        .hash(SecretString::from(pw.expose().to_string()))
        .await
        .map_err(ApiError::internal)
}

/// The window that counts failed sign-ins for one email address, real or not. Keyed by a MAC so
/// the rate table holds no address in clear.
pub fn signin_bucket(st: &AppState, lowercased_email: &str) -> String {
    format!(
        "signin_fail_id:{}",
        st.keys.mac(&["signin", lowercased_email])
    )
}

/// Creates a session for the user and returns its cookie (256-bit token, stored hashed).
pub async fn start_session(
    st: &AppState,
    c: &mut Conn,
    user_id: i64,
    client: &Client,
) -> ApiResult<HeaderValue> {
    let token = new_token();
    let now = st.now();
    let abs = i64::try_from(st.config.session_absolute_secs).unwrap_or(86_400);
    sessions::insert(
        c,
        &sessions::NewSession {
            token_hash: &st.keys.token_hash("session", &token),
            user_id,
            expires_at: now + abs,
            ip: Some(&client.ip),
            user_agent: Some(&client.user_agent),
        },
        now,
    )
    .await?;
    Ok(crate::routes::cookie(
        ServerCookie::Session,
        &token,
        Some(st.config.session_absolute_secs),
        &st.config,
    ))
}

/// Deletes the session cookie.
pub fn end_session_cookie(st: &AppState) -> HeaderValue {
    crate::routes::clear_cookie(ServerCookie::Session, &st.config)
}

/// What `GET /api/me` says about a user.
pub async fn me(c: &mut Conn, user: &User) -> ApiResult<Me> {
    let (account_name, _) = users::account_policy(c, user.account_id).await?;
    Ok(Me {
        id: user.id,
        name: user.name.clone(),
        email: user.email.clone(),
        role: user.role.name().to_string(),
        account_name,
        time_zone: user.time_zone.clone(),
        must_change_password: user.must_change_password,
        permissions: user.role.permissions(),
    })
}

/// "2026-11-25 14:03", UTC.
pub fn utc(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// Where a change came from, for confirmation emails.
pub fn origin(client: &Client, now: i64) -> Origin {
    Origin {
        when_utc: utc(now),
        browser: describe_browser(&client.user_agent),
        ip: client.ip.clone(),
    }
}
