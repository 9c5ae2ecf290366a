//! What sign-in, password changes and resets share: sessions and their cookie, the sign-in
//! failure window, what `/api/me` says, and where a change came from.

use app::wire::Me;
use axum::http::HeaderValue;

use crate::cookies::{self, ServerCookie};
use crate::crypto::{new_token, Keys};
use crate::domain::client::Client;
use crate::domain::reset::after;
use crate::notify::templates::{describe_browser, Origin};
use crate::state::AppState;
use crate::store::users::{self, User};
use crate::store::{sessions, Conn};

/// The window that counts failed sign-ins for one email address, real or not. Keyed by a MAC so
/// the rate table holds no address in clear.
pub fn signin_bucket(keys: &Keys, lowercased_email: &str) -> String {
    format!("signin_fail_id:{}", keys.mac(&["signin", lowercased_email]))
}

/// Creates a session for the user and returns its token (256 bits, stored hashed).
pub async fn start_session(
    st: &AppState,
    conn: &mut Conn,
    user_id: i64,
    client: &Client,
    now: i64,
) -> Result<String, sqlx::Error> {
    let token = new_token();
    sessions::insert(
        conn,
        &sessions::NewSession {
            token_hash: &st.keys.token_hash("session", &token),
            user_id,
            expires_at: after(now, st.config.session_absolute_secs.get()),
            ip: Some(&client.ip),
            user_agent: Some(&client.user_agent),
        },
        now,
    )
    .await?;
    Ok(token)
}

/// The cookie that carries a session's token.
pub fn session_cookie(st: &AppState, token: &str) -> HeaderValue {
    let max_age = Some(st.config.session_absolute_secs.get());
    cookies::set(ServerCookie::Session, token, max_age, &st.config)
}

/// What `GET /api/me` says about a user.
pub async fn me(conn: &mut Conn, user: &User) -> Result<Me, sqlx::Error> {
    let (account_name, _) = users::account_policy(conn, user.account_id).await?;
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
