//! "Resend code": another code on the same flow, after a cooldown that doubles each time. The
//! new code kills the old one (the seed).

use app::wire::{ResetFlow, SignInMethod};

use super::caps;
use super::issue::{issue_code, Delivery, Issue, Strategy, Target};
use super::{Outcome, Refusal};
use crate::domain::client::Client;
use crate::domain::reset::{secs_until, FlowStep, MAX_ATTEMPTS};
use crate::notify::templates::Lang;
use crate::state::AppState;
use crate::store::outbox::Channel;
use crate::store::reset::Flow;
use crate::store::users;

pub async fn resend(
    st: &AppState,
    flow_token: Option<&str>,
    client: &Client,
    now: i64,
) -> Outcome<ResetFlow> {
    let mut conn = st.store.conn().await?;
    let flow = super::flow::current(st, &mut conn, flow_token, now).await?;
    if flow.step != FlowStep::Verify {
        return super::flow::describe(st, &mut conn, &flow, now).await;
    }
    if now < flow.next_resend_at {
        let wait = secs_until(flow.next_resend_at, now);
        return Err(Refusal::ResendTooSoon { wait }.into());
    }
    drop(conn);
    caps::per_client(st, client, now).await?;
    let mut conn = st.store.conn().await?;
    let user = match flow.user_id {
        Some(uid) => users::by_id(&mut conn, uid)
            .await?
            .filter(|u| u.active && u.sign_in_method == SignInMethod::Password),
        None => None,
    };
    if flow.user_id.is_some() && user.is_none() {
        return Err(Refusal::NoFlow.into());
    }
    let recipient = match (&user, flow.channel) {
        (Some(user), Channel::Email) => user.email.clone(),
        (Some(user), Channel::Sms) => user.phone.clone().ok_or(Refusal::NoFlow)?,
        (None, _) => String::new(),
    };
    let delivery = Delivery {
        channel: flow.channel,
        recipient,
        masked: flow.destination.clone(),
        ident_key: ident_key(st, &flow),
    };
    let issue = Issue {
        target: Target::Resend(&flow),
        user: user.as_ref(),
        delivery: &delivery,
        lang: Lang::parse(&flow.lang),
        strategy: Strategy::Code,
        kind: "code_resent",
        client,
    };
    // The same identity key, block and caps for a decoy as for a real flow (hidden mode).
    let ident_key = &delivery.ident_key;
    let block = caps::block_key(flow.user_id, ident_key);
    let mut caps = caps::per_identity(st, Some(&block), ident_key);
    if flow.channel == Channel::Sms {
        caps.extend(caps::sms(st, ident_key, None));
    }
    drop(conn);
    let issued = match issue_code(st, &issue, now, caps).await? {
        Ok(issued) => issued,
        Err(capped) => {
            let user = user.as_ref();
            let refusal = caps::refused(st, capped, user, client, now).await?;
            return Err(refusal.into());
        }
    };
    let flow = Flow {
        expires_at: issued.expires_at,
        next_resend_at: issued.next_resend_at,
        resend_count: flow.resend_count + 1,
        ..flow
    };
    let live = Some((issued.ttl_secs, MAX_ATTEMPTS));
    Ok(super::flow::view(
        &st.config,
        &flow,
        FlowStep::Verify,
        live,
        None,
        now,
    ))
}

/// The identity key of a flow (older flows without one count per flow).
pub fn ident_key(st: &AppState, flow: &Flow) -> String {
    flow.ident_key
        .clone()
        .unwrap_or_else(|| st.keys.mac(&["flow", &flow.id.to_string()]))
}
