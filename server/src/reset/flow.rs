//! A reset flow as a browser sees it: found by its cookie's token, and described for the page.

use app::wire::{PolicyResponse, ResetFlow};

use super::{Outcome, Refusal};
use crate::config::{Config, SmsProvider};
use crate::domain::reset::{code_state, secs_until, standing, CodeState, FlowStep, Standing};
use crate::state::AppState;
use crate::store::outbox::Channel;
use crate::store::reset::{self as store, Flow};
use crate::store::{users, Conn};

/// The flow a browser's cookie token names, whatever its standing.
pub async fn by_token(
    st: &AppState,
    conn: &mut Conn,
    token: Option<&str>,
) -> Result<Option<Flow>, sqlx::Error> {
    match token {
        Some(t) => store::flow_by_token(conn, &st.keys.token_hash("reset-flow", t)).await,
        None => Ok(None),
    }
}

/// The flow this browser is on, if it may still act on it.
pub async fn current(
    st: &AppState,
    conn: &mut Conn,
    token: Option<&str>,
    now: i64,
) -> Outcome<Flow> {
    let flow = by_token(st, conn, token).await?.ok_or(Refusal::NoFlow)?;
    match standing(flow.times(), now) {
        Standing::Open(_) => Ok(flow),
        Standing::Gone => Err(Refusal::NoFlow.into()),
        Standing::GrantExpired => Err(Refusal::GrantExpired.into()),
    }
}

/// `GET /api/reset/flow`: where this browser's flow stands, so a refreshed page picks up there.
pub async fn show(st: &AppState, token: Option<&str>, now: i64) -> Outcome<ResetFlow> {
    let mut conn = st.store.conn().await?;
    let flow = current(st, &mut conn, token, now).await?;
    describe(st, &mut conn, &flow, now).await
}

/// The flow as the page sees it, read from the store.
pub async fn describe(st: &AppState, conn: &mut Conn, flow: &Flow, now: i64) -> Outcome<ResetFlow> {
    let code = store::latest_code(conn, flow.id).await?;
    let live =
        code.and_then(
            |k| match code_state(k.expires_at, k.attempts, k.consumed, k.revoked, now) {
                CodeState::Live { attempts_left } => {
                    Some((secs_until(k.expires_at, now), attempts_left))
                }
                _ => None,
            },
        );
    let policy = match (flow.step, flow.user_id) {
        (FlowStep::NewPassword, Some(uid)) => match users::by_id(conn, uid).await? {
            Some(user) => Some(super::password::policy_for(conn, &user).await?),
            None => None,
        },
        _ => None,
    };
    Ok(view(&st.config, flow, flow.step, live, policy, now))
}

/// The page's view of `flow` on `step`, from what the caller already knows: its live code's
/// seconds left and attempts left, and the policy on the new-password step.
pub fn view(
    config: &Config,
    flow: &Flow,
    step: FlowStep,
    live_code: Option<(u64, u32)>,
    policy: Option<PolicyResponse>,
    now: i64,
) -> ResetFlow {
    let (code_expires_in_secs, attempts_left) = live_code.unwrap_or((0, 0));
    ResetFlow {
        step: step.to_wire(),
        channel: flow.channel,
        masked_destination: flow.destination.clone(),
        sender: sender(config, flow.channel),
        resend_after_secs: secs_until(flow.next_resend_at, now),
        code_expires_in_secs,
        attempts_left,
        policy,
    }
}

/// Who the message comes from, so the user knows what to look for.
pub fn sender(config: &Config, channel: Channel) -> String {
    match (channel, &config.sms_provider) {
        (Channel::Sms, SmsProvider::Twilio { from, .. }) => from.clone(),
        (Channel::Sms, _) => "SMS".into(),
        (Channel::Email, _) => config.mail_from.clone(),
    }
}
