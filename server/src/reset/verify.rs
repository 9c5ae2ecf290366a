//! Entering the code: a right code turns the flow into a 15-minute single-use grant to choose
//! the password; wrong ones are counted per code (5) and per account and day (10).

use app::ident::normalize_code;
use app::wire::ResetFlow;

use super::caps;
use super::{Outcome, Refusal};
use crate::crypto::same;
use crate::domain::client::Client;
use crate::domain::reset::{self as rules, after, code_state, CodeState, FlowStep};
use crate::state::AppState;
use crate::store::batch::Batch;
use crate::store::reset as store;
use crate::store::{audit, users};

pub struct VerifyRequest<'a> {
    pub flow_token: Option<&'a str>,
    /// As typed: spaces and dashes are allowed, the format is checked after the flow.
    pub code: &'a str,
    pub client: &'a Client,
}

pub async fn verify(st: &AppState, req: &VerifyRequest<'_>, now: i64) -> Outcome<ResetFlow> {
    let client = req.client;
    let mut conn = st.store.conn().await?;
    let flow = super::flow::current(st, &mut conn, req.flow_token, now).await?;
    if flow.step != FlowStep::Verify {
        return Err(Refusal::AlreadyVerified.into());
    }
    let code = normalize_code(req.code).ok_or(Refusal::InvalidCodeFormat)?;
    let ident_key = super::resend::ident_key(st, &flow);
    let key = caps::block_key(flow.user_id, &ident_key);
    let user = match flow.user_id {
        Some(uid) => users::by_id(&mut conn, uid).await?,
        None => None,
    };
    let stored = store::latest_code(&mut conn, flow.id).await?;
    let state = stored
        .as_ref()
        .map(|c| code_state(c.expires_at, c.attempts, c.consumed, c.revoked, now));
    // No pooled connection is held while a request waits for the writer (reset/issue.rs).
    drop(conn);
    let mut entry = caps::Entry {
        code_id: stored.as_ref().map_or(0, |c| c.id),
        live: matches!(state, Some(CodeState::Live { .. })),
        // Compared now, acted on only once the guess has its place.
        right: stored
            .as_ref()
            .is_some_and(|c| same(&st.keys.code_hash(c.user_id, &code), &c.code_hash)),
        on_right: Batch::new(),
        on_wrong: Batch::new(),
    };
    store::grant(
        &mut entry.on_right,
        flow.id,
        after(now, rules::GRANT_TTL_SECS),
    );
    // A wrong guess: counted on the code (5 per code) and, by its place, in the account's day.
    store::wrong_guess_in(&mut entry.on_wrong, entry.code_id, rules::MAX_ATTEMPTS);
    if let Some(user) = &user {
        let right = caps::event("code_verified", user, client, None);
        audit::queue(&mut entry.on_right, &right, now);
        let wrong = caps::event("code_verification_failed", user, client, None);
        audit::queue(&mut entry.on_wrong, &wrong, now);
    }
    // The caps come first, whatever the code's state; then the code's state; then the place.
    let entered = caps::enter(st, client, &key, entry, now).await?;
    match state {
        Some(CodeState::Live { .. }) => {}
        Some(CodeState::Exhausted) => return Err(Refusal::CodeExhausted.into()),
        _ => return Err(Refusal::CodeExpired.into()),
    }
    let (used, last) = match entered {
        caps::Entered::Right => {
            // Read for a right code only: a decoy, which has none, reads nothing here either.
            let policy = match &user {
                Some(user) => {
                    let mut conn = st.store.conn().await?;
                    Some(super::password::policy_for(&mut conn, user).await?)
                }
                None => None,
            };
            let step = FlowStep::NewPassword;
            return Ok(super::flow::view(
                &st.config, &flow, step, None, policy, now,
            ));
        }
        caps::Entered::NotLive | caps::Entered::Lost => return Err(Refusal::CodeExpired.into()),
        // No place in the window, or other guesses hold the last places right now: this one is
        // not looked at. Only a wrong answer within the allowance starts the block, so a burst
        // of right codes (a double click) never blocks anyone.
        caps::Entered::NoPlace => {
            st.metrics.refused("verify_account");
            return Err(Refusal::TooMany { retry_after: 1 }.into());
        }
        caps::Entered::Wrong { used, last } => (used, last),
    };
    if last {
        let decoy_ident = flow.ident_key.as_deref();
        let mut conn = st.store.conn().await?;
        caps::block(st, &mut conn, decoy_ident, user.as_ref(), &key, client, now).await?;
        return Err(caps::blocked(st, rules::ACCOUNT_BLOCK_SECS).into());
    }
    // The attempts used, absent when the code died meanwhile.
    let used = used
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(rules::MAX_ATTEMPTS);
    match rules::MAX_ATTEMPTS.saturating_sub(used) {
        0 => Err(Refusal::CodeExhausted.into()),
        attempts_left => Err(Refusal::WrongCode { attempts_left }.into()),
    }
}
