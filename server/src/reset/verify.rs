//! Entering the code: a right code turns the flow into a 15-minute single-use grant to choose
//! the password; wrong ones are counted per code (5) and per account and day (10).

use app::ident::normalize_code;
use app::wire::ResetFlow;

use super::caps::{self, Guess};
use super::{Outcome, Refusal};
use crate::crypto::same;
use crate::domain::client::Client;
use crate::domain::reset::{self as rules, after, code_state, CodeState, FlowStep};
use crate::state::AppState;
use crate::store::batch::Batch;
use crate::store::limits;
use crate::store::reset as store;
use crate::store::writer::Row;
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
    // No pooled connection is held while a request waits for the writer (reset/issue.rs). The
    // caps come first, whatever the code's state; then the code's state; then the guess's place.
    drop(conn);
    let live = matches!(state, Some(CodeState::Live { .. }));
    let guess = caps::guess(st, client, &key, live, now).await?;
    let stored = match (stored, state) {
        (Some(stored), Some(CodeState::Live { .. })) => stored,
        (_, Some(CodeState::Exhausted)) => return Err(Refusal::CodeExhausted.into()),
        (_, _) => return Err(Refusal::CodeExpired.into()),
    };
    let Some(Guess { slot, last }) = guess else {
        // No place left in the window, or other guesses hold the last places right now: this
        // one is not compared. Only a wrong answer within the allowance starts the block, so a
        // burst of right codes (a double click) never blocks anyone.
        st.metrics.refused("verify_account");
        return Err(Refusal::TooMany { retry_after: 1 }.into());
    };
    if same(&st.keys.code_hash(stored.user_id, &code), &stored.code_hash) {
        // Read before the writes, which are then one call to the database.
        let policy = match &user {
            Some(user) => {
                let mut conn = st.store.conn().await?;
                Some(super::password::policy_for(&mut conn, user).await?)
            }
            None => None,
        };
        let mut batch = Batch::new();
        limits::release_in(&mut batch, &slot);
        store::grant(&mut batch, flow.id, after(now, rules::GRANT_TTL_SECS));
        if let Some(user) = &user {
            audit::queue(
                &mut batch,
                &caps::event("code_verified", user, client, None),
                now,
            );
        }
        // Last, so the batch's one row is its answer: was the code still live? If another
        // request took it first, the rest is undone.
        store::consume_code_in(&mut batch, stored.id, rules::MAX_ATTEMPTS, now);
        let took = |rows: &[Row]| !rows.is_empty();
        if st.store.apply(batch, took).await?.is_none() {
            return Err(Refusal::CodeExpired.into());
        }
        let step = FlowStep::NewPassword;
        return Ok(super::flow::view(
            &st.config, &flow, step, None, policy, now,
        ));
    }
    // A wrong guess: count it on the code (5 per code) and, above, in the account's day.
    let mut batch = Batch::new();
    store::wrong_guess_in(&mut batch, stored.id, rules::MAX_ATTEMPTS);
    if let Some(user) = &user {
        let e = caps::event("code_verification_failed", user, client, None);
        audit::queue(&mut batch, &e, now);
    }
    let rows = st.store.apply(batch, |_| true).await?;
    // The first row is the attempts used, absent when the code was dead meanwhile.
    let used = match rows.as_deref().and_then(<[Row]>::first) {
        Some(row) => row.int(0)?.and_then(|n| u32::try_from(n).ok()),
        None => None,
    }
    .unwrap_or(rules::MAX_ATTEMPTS);
    if last {
        let decoy_ident = flow.ident_key.as_deref();
        let mut conn = st.store.conn().await?;
        caps::block(st, &mut conn, decoy_ident, user.as_ref(), &key, client, now).await?;
        return Err(caps::blocked(st, rules::ACCOUNT_BLOCK_SECS).into());
    }
    match rules::MAX_ATTEMPTS.saturating_sub(used) {
        0 => Err(Refusal::CodeExhausted.into()),
        attempts_left => Err(Refusal::WrongCode { attempts_left }.into()),
    }
}
