//! The emailed link. Opening it changes nothing (mail scanners fetch links); the token moves
//! into an HttpOnly cookie so the page can take it out of the address bar and history.

use app::wire::LinkState;

use super::{Outcome, Refusal};
use crate::domain::reset::{code_state, secs_until, CodeState};
use crate::state::AppState;
use crate::store::reset::{self as store, Code, Flow};
use crate::store::users::{self, User};
use crate::store::Conn;

/// A live link: its code, its (active) user and its flow.
pub struct LiveLink {
    pub code: Code,
    pub user: User,
    pub flow: Flow,
}

/// Looks up a live link; the code row it belongs to must still be live.
pub async fn live(st: &AppState, conn: &mut Conn, token: &str, now: i64) -> Outcome<LiveLink> {
    if token.is_empty() || token.len() > 128 {
        return Err(Refusal::LinkExpired.into());
    }
    let code = store::code_by_link(conn, &st.keys.token_hash("reset-link", token))
        .await?
        .ok_or(Refusal::LinkExpired)?;
    let state = code_state(
        code.expires_at,
        code.attempts,
        code.consumed,
        code.revoked,
        now,
    );
    if !matches!(state, CodeState::Live { .. }) {
        return Err(Refusal::LinkExpired.into());
    }
    let uid = code.user_id.ok_or(Refusal::LinkExpired)?;
    let user = users::by_id(conn, uid)
        .await?
        .filter(|u| u.active)
        .ok_or(Refusal::LinkExpired)?;
    let flow = store::flow_by_id(conn, code.flow_id)
        .await?
        .ok_or(Refusal::LinkExpired)?;
    Ok(LiveLink { code, user, flow })
}

/// The link was opened in this browser.
pub struct Opened {
    pub state: LinkState,
    /// How long the link cookie may live: until the link expires.
    pub max_age: u64,
    /// The browser's flow cookie names another reset, which this browser now leaves: exactly one
    /// flow is ever in play (the link's own flow stays, so Save then signs this browser in).
    pub forget_browser_flow: bool,
}

pub async fn open(
    st: &AppState,
    token: &str,
    browser_flow_token: Option<&str>,
    now: i64,
) -> Outcome<Opened> {
    let mut conn = st.store.conn().await?;
    let link = live(st, &mut conn, token, now).await?;
    let state = LinkState {
        masked_destination: link.flow.destination.clone(),
        policy: super::password::policy_for(&mut conn, &link.user).await?,
    };
    let browser_flow = super::flow::by_token(st, &mut conn, browser_flow_token).await?;
    Ok(Opened {
        state,
        max_age: secs_until(link.code.expires_at, now),
        forget_browser_flow: browser_flow.is_some_and(|f| f.id != link.flow.id),
    })
}

/// What the link in this browser's cookie opens.
pub async fn show(st: &AppState, token: Option<&str>, now: i64) -> Outcome<LinkState> {
    let token = token.ok_or(Refusal::LinkExpired)?;
    let mut conn = st.store.conn().await?;
    let link = live(st, &mut conn, token, now).await?;
    Ok(LinkState {
        masked_destination: link.flow.destination.clone(),
        policy: super::password::policy_for(&mut conn, &link.user).await?,
    })
}
