//! Issuing a code: one function for every path that sends one (a user's start and resend, an
//! administrator's reset link), with the two strategies behind it, as Ory Kratos keeps code and
//! link recovery behind one interface.

use super::Outcome;
use crate::crypto::{new_code, new_token};
use crate::domain::client::Client;
use crate::domain::reset::{after, cooldown_secs};
use crate::notify::templates::{Lang, Message};
use crate::state::AppState;
use crate::store::batch::Batch;
use crate::store::limits::{self, Capped};
use crate::store::outbox::{self, Channel, NewMessage, Sealed};
use crate::store::reset::{self as store, Flow, FlowRef, NewCode, NewFlow};
use crate::store::users::User;
use crate::store::{audit, Backend};
use sqlx::Row;

/// Who a code goes to and how.
pub struct Delivery {
    pub channel: Channel,
    /// The full address or E.164 number on file; only the outbox sees it.
    pub recipient: String,
    /// What the page shows ("j•••@example.com").
    pub masked: String,
    /// The keyed hash of the identifier: what the per-identity caps count under.
    pub ident_key: String,
}

/// How the reset is opened.
#[derive(Clone, Copy)]
pub enum Strategy<'a> {
    /// A 6-digit code for this browser's flow, and a link beside it in an email.
    Code,
    /// A link only, sent by an administrator: the flow belongs to no browser, so there is no page
    /// where a code could be typed, and none is sent.
    Link { actor: &'a User },
}

/// Where the code belongs.
pub enum Target<'a> {
    /// A new flow; a browser holds it when the strategy is [`Strategy::Code`].
    NewFlow,
    /// Another code on an existing flow (a resend): the cooldown grows.
    Resend(&'a Flow),
}

pub struct Issue<'a> {
    pub target: Target<'a>,
    /// `None`: a decoy for an unknown identifier in hidden mode.
    pub user: Option<&'a User>,
    pub delivery: &'a Delivery,
    pub lang: Lang,
    pub strategy: Strategy<'a>,
    /// The audit event of a real issue.
    pub kind: &'static str,
    pub client: &'a Client,
}

/// What was issued.
pub struct Issued {
    pub flow_id: i64,
    /// The new flow's token, for the browser's cookie (a new flow with a code only).
    pub token: Option<String>,
    pub expires_at: i64,
    pub next_resend_at: i64,
    pub ttl_secs: u64,
}

/// The lifetime of a code sent over `channel`: the seed's 24 hours by email, 10 minutes by SMS
/// (NIST SP 800-63B-4: out-of-band secrets sent by SMS should be short-lived).
pub fn ttl_secs(st: &AppState, channel: Channel) -> u64 {
    match channel {
        Channel::Email => st.config.code_ttl_secs.get(),
        Channel::Sms => st.config.sms_code_ttl_secs.get(),
    }
}

/// Everything an issue writes, made before its transaction opens (tokens, hashes, the code, the
/// message rendered and sealed), so SQLite's one write lock is held for the statements only.
struct Prepared {
    flow: FlowRow,
    next_resend_at: i64,
    expires_at: i64,
    code_hash: String,
    link_hash: String,
    message: Sealed,
}

/// The flow row an issue writes: an existing flow's resend, or a new flow with its token and
/// the token's hash.
enum FlowRow {
    Resend { id: i64 },
    New { token: String, token_hash: String },
}

fn prepare(st: &AppState, issue: &Issue<'_>, ttl: u64, now: i64) -> Outcome<Prepared> {
    let delivery = issue.delivery;
    let expires_at = after(now, ttl);
    let base = st.config.resend_cooldown_secs.get();
    let user_id = issue.user.map(|u| u.id);
    let (flow, next_resend_at) = match issue.target {
        Target::Resend(f) => (
            FlowRow::Resend { id: f.id },
            after(now, cooldown_secs(base, f.resend_count + 1)),
        ),
        Target::NewFlow => {
            let token = new_token();
            let hash = st.keys.token_hash("reset-flow", &token);
            let next = match issue.strategy {
                Strategy::Code => after(now, cooldown_secs(base, 0)),
                Strategy::Link { .. } => now,
            };
            (
                FlowRow::New {
                    token,
                    token_hash: hash,
                },
                next,
            )
        }
    };
    let link = new_token();
    // In the fragment, which a browser never sends: not to the server, not into a reverse proxy's
    // access log (nginx logs the query by default), not in a Referer.
    let link_url = format!("{}/reset#token={link}", st.config.public_origin());
    let until = crate::auth::utc(expires_at);
    let (code_hash, msg) = match issue.strategy {
        Strategy::Code => {
            let code = new_code();
            let host = st.config.public_host();
            let m = match delivery.channel {
                Channel::Email => Message::ResetCode {
                    name: issue.user.map_or("", |u| u.name.as_str()),
                    code: &code,
                    link: &link_url,
                    valid_secs: ttl,
                    expires_utc: &until,
                },
                Channel::Sms => Message::ResetCodeSms {
                    code: &code,
                    valid_secs: ttl,
                    host: &host,
                },
            };
            let msg = st.templates.render(issue.lang, &m);
            (st.keys.code_hash(user_id, &code), msg)
        }
        // The row needs a code hash; this one is of a 256-bit token, which no 6-digit code can
        // match, so nothing but the link opens this reset.
        Strategy::Link { actor } => (
            st.keys.code_hash(user_id, &new_token()),
            st.templates.render(
                issue.lang,
                &Message::AdminReset {
                    name: issue.user.map_or("", |u| u.name.as_str()),
                    admin: &actor.name,
                    link: &link_url,
                    valid_secs: ttl,
                    expires_utc: &until,
                },
            ),
        ),
    };
    // A decoy renders, seals and queues a message like a real one (with no recipient, so the
    // worker discards it unsent) and writes one small row where a real flow writes its audit
    // event: the same work, so the answer takes the same time (OWASP Forgot Password Cheat
    // Sheet: "consistent response times"). Decoys' rows are pruned like the rest.
    let message = NewMessage {
        idempotency_key: new_token(),
        channel: delivery.channel,
        recipient: match issue.user {
            Some(_) => delivery.recipient.clone(),
            None => String::new(),
        },
        subject: msg.subject,
        body_text: msg.text,
        body_html: msg.html,
        account_id: issue.user.map(|u| u.account_id),
        user_id,
    };
    Ok(Prepared {
        flow,
        next_resend_at,
        expires_at,
        code_hash,
        link_hash: st.keys.token_hash("reset-link", &link),
        message: outbox::seal(&st.keys, message)?,
    })
}

/// Issues a new code (or a decoy code nobody knows) once `caps` (the identity's caps and its
/// block) allow it: kills the previous code, queues the message and records the event, in one
/// transaction; wakes the outbox once committed. `Ok(Err(_))`: the cap that refused.
///
/// The caller holds no pooled connection: on SQLite the request waits for the writer, and a
/// connection held meanwhile would keep other requests out of the small pool.
///
/// On SQLite the caps and the issue are one job of the writer thread (store/writer.rs): SQLite
/// has one writer, so the caps are exact there, and a code costs no commit of its own. A refusal
/// commits what the caps counted, as their own statements would have. On PostgreSQL each cap
/// commits on its own first, so every instance sees it at once (store/limits.rs).
pub async fn issue_code(
    st: &AppState,
    issue: &Issue<'_>,
    now: i64,
    caps: Vec<limits::Cap>,
) -> Outcome<Result<Issued, Capped>> {
    let ttl = ttl_secs(st, issue.delivery.channel);
    let Prepared {
        flow,
        next_resend_at,
        expires_at,
        code_hash,
        link_hash,
        message,
    } = prepare(st, issue, ttl, now)?;
    let mut batch = Batch::new();
    let flow_ref = match &flow {
        FlowRow::Resend { id } => {
            store::flow_resent(&mut batch, *id, expires_at, next_resend_at);
            FlowRef::Id(*id)
        }
        FlowRow::New { token_hash, .. } => {
            let new = NewFlow {
                token_hash,
                user_id: issue.user.map(|u| u.id),
                channel: issue.delivery.channel,
                destination: &issue.delivery.masked,
                lang: issue.lang.as_str(),
                expires_at,
                next_resend_at,
                ident_key: &issue.delivery.ident_key,
            };
            store::insert_flow(&mut batch, &new, now);
            FlowRef::New(token_hash)
        }
    };
    let code = NewCode {
        flow: flow_ref,
        user_id: issue.user.map(|u| u.id),
        channel: issue.delivery.channel,
        code_hash: &code_hash,
        link_hash: &link_hash,
        expires_at,
        ident_key: &issue.delivery.ident_key,
    };
    store::replace_code(&mut batch, st.store.backend, &code, now);
    outbox::insert(&mut batch, message, now);
    event(&mut batch, issue, now);
    // The flow's insert is the one statement of the batch that yields a row: a new flow's id.
    let new_id = match st.store.backend {
        Backend::Sqlite => {
            let done = st
                .store
                .write(move |tx| {
                    if let Err(capped) = limits::hits_in(tx, &caps, now)? {
                        return Ok(Err(capped));
                    }
                    let rows = tx.run(batch)?;
                    Ok(Ok(rows.first().map(|r| r.int(0)).transpose()?.flatten()))
                })
                .await?;
            match done {
                Ok(id) => id,
                Err(capped) => return Ok(Err(capped)),
            }
        }
        Backend::Postgres => {
            if let Err(capped) = limits::hits(&st.store, caps, now).await? {
                return Ok(Err(capped));
            }
            let mut conn = st.store.conn().await?;
            let mut tx = st.store.begin_on(&mut conn).await?;
            let rows = batch.run(&mut tx).await?;
            tx.commit().await?;
            rows.first().map(|r| r.try_get::<i64, _>(0)).transpose()?
        }
    };
    st.outbox_wake.notify_one();
    let (flow_id, token) = match flow {
        FlowRow::Resend { id } => (id, None),
        FlowRow::New { token, .. } => {
            let id = new_id.ok_or(sqlx::Error::RowNotFound)?;
            (
                id,
                matches!(issue.strategy, Strategy::Code).then_some(token),
            )
        }
    };
    Ok(Ok(Issued {
        flow_id,
        token,
        expires_at,
        next_resend_at,
        ttl_secs: ttl,
    }))
}

/// The issue's audit event (a decoy's: one small row where a real flow writes its event).
fn event(batch: &mut Batch, issue: &Issue<'_>, now: i64) {
    let channel = Some(issue.delivery.channel.as_str());
    match (issue.user, issue.strategy) {
        (Some(user), Strategy::Code) => {
            let e = super::caps::event(issue.kind, user, issue.client, channel);
            audit::queue(batch, &e, now);
        }
        (Some(user), Strategy::Link { actor }) => {
            let mut e = super::caps::event(issue.kind, user, issue.client, None);
            e.actor_user_id = Some(actor.id);
            audit::queue(batch, &e, now);
        }
        (None, _) => limits::queue_record(batch, "decoy_codes", now),
    }
}
