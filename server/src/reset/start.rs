//! Asking for a code: the first step of the seed's flow, by email address or phone number.

use app::wire::ResetFlow;

use super::caps;
use super::issue::{issue_code, Delivery, Issue, Strategy, Target};
use super::{Outcome, Refusal};
use crate::crypto::new_token;
use crate::domain::client::Client;
use crate::domain::identifier::Identifier;
use crate::domain::reset::{answer, Answer, FlowStep, MAX_ATTEMPTS};
use crate::notify::templates::{Lang, Message};
use crate::state::AppState;
use crate::store::audit;
use crate::store::batch::Batch;
use crate::store::limits;
use crate::store::outbox::{self, Channel, NewMessage};
use crate::store::reset::Flow;
use crate::store::users::{self, User};

pub struct StartRequest<'a> {
    pub identifier: Identifier,
    pub lang: Lang,
    pub client: &'a Client,
}

/// A flow was started (for a real account or, in hidden mode, a decoy nobody can tell apart).
pub struct Started {
    pub flow: ResetFlow,
    /// For this browser's flow cookie.
    pub token: String,
}

pub async fn start(st: &AppState, req: &StartRequest<'_>, now: i64) -> Outcome<Started> {
    let ident = &req.identifier;
    if let Identifier::Phone(p) = ident {
        if !st.config.sms_country_codes.contains(&p.country_code()) {
            st.metrics.refused("sms_country");
            return Err(Refusal::CountryNotAllowed.into());
        }
    }
    caps::per_client(st, req.client, now).await?;
    // Held for the reads and the rare writes below, and given back before the issue, which
    // waits for the writer (reset/issue.rs).
    let mut conn = st.store.conn().await?;
    let found = match ident {
        Identifier::Email(e) => users::by_email(&mut conn, &e.lower()).await?,
        Identifier::Phone(p) => users::by_phone(&mut conn, p.e164()).await?,
    }
    .filter(|u| u.active);
    // The per-identity caps are keyed by what was typed, so a decoy answer does the same work.
    let ident_key = st.keys.mac(&["ident", &ident.canonical()]);
    let delivery = delivery(ident, found.as_ref(), &ident_key);
    let mut provider_user = None;
    let user = match (
        answer(
            found.as_ref().map(|u| u.sign_in_method),
            st.config.hide_account_existence,
        ),
        found,
    ) {
        (Answer::Issue, user) => user,
        (Answer::SendToProvider, Some(user)) => {
            let e = caps::event(
                "reset_refused_sso",
                &user,
                req.client,
                Some(user.sign_in_method.as_str()),
            );
            audit::record(&mut conn, &e, now).await?;
            return Err(Refusal::ManagedByProvider(user.sign_in_method).into());
        }
        (Answer::DecoyAndTellOwner, Some(user)) => {
            provider_user = Some(user);
            None
        }
        (Answer::NotFound, _) => return Err(Refusal::AccountNotFound.into()),
        (_, _) => None,
    };
    drop(conn);
    // From here on a decoy takes exactly the steps a real flow takes: the same caps, counted
    // the same way, so no answer tells them apart (OWASP Forgot Password Cheat Sheet:
    // "consistent responses" for existent and non-existent accounts).
    let block = caps::block_key(user.as_ref().map(|u| u.id), &ident_key);
    let issue = Issue {
        target: Target::NewFlow,
        user: user.as_ref(),
        delivery: &delivery,
        lang: req.lang,
        strategy: Strategy::Code,
        kind: "reset_requested",
        client: req.client,
    };
    let mut caps = caps::per_identity(st, Some(&block), &ident_key);
    if let Identifier::Phone(p) = ident {
        caps.extend(caps::sms(st, &ident_key, Some(&p.prefix())));
    }
    let issued = match issue_code(st, &issue, now, caps).await? {
        Ok(issued) => issued,
        Err(capped) => {
            let user = user.as_ref();
            let refusal = caps::refused(st, capped, user, req.client, now).await?;
            return Err(refusal.into());
        }
    };
    // The page's view from what was just written, without reading it back.
    let flow = Flow {
        id: issued.flow_id,
        user_id: user.as_ref().map(|u| u.id),
        channel: delivery.channel,
        destination: delivery.masked,
        lang: req.lang.as_str().to_string(),
        step: FlowStep::Verify,
        expires_at: issued.expires_at,
        resend_count: 0,
        next_resend_at: issued.next_resend_at,
        grant_expires_at: None,
        ident_key: Some(ident_key),
    };
    if let Some(user) = provider_user {
        // Once the decoy's steps are done, and off the answer's path: the answer waits for the
        // decoy's steps only, as an unknown address's does, so its time tells nothing (OWASP
        // Forgot Password Cheat Sheet: "consistent response times").
        let (st, client, lang) = (st.clone(), req.client.clone(), req.lang);
        let key = flow.ident_key.clone().unwrap_or_default();
        st.tasks.clone().spawn(async move {
            if let Err(e) = tell_owner(&st, &user, &client, lang, &key, now).await {
                tracing::error!("provider notice for user {}: {e}", user.id);
            }
        });
    }
    let live = Some((issued.ttl_secs, MAX_ATTEMPTS));
    Ok(Started {
        flow: super::flow::view(&st.config, &flow, FlowStep::Verify, live, None, now),
        token: issued.token.unwrap_or_default(),
    })
}

/// The code goes to the address on file, never to the text as typed: a lookup that folds case
/// (or Unicode) must not let "ADMİN@…" receive admin@…'s code at another mailbox.
fn delivery(ident: &Identifier, user: Option<&User>, ident_key: &str) -> Delivery {
    match ident {
        Identifier::Email(e) => Delivery {
            channel: Channel::Email,
            recipient: user.map_or_else(|| e.as_str().to_string(), |u| u.email.clone()),
            masked: e.masked(),
            ident_key: ident_key.to_string(),
        },
        Identifier::Phone(p) => Delivery {
            channel: Channel::Sms,
            recipient: user
                .and_then(|u| u.phone.clone())
                .unwrap_or_else(|| p.e164().to_string()),
            masked: p.masked(),
            ident_key: ident_key.to_string(),
        },
    }
}

/// Hidden mode and a provider's user: no code, but the owner of the address learns by email
/// where to reset (at most three such emails a day), and the request is audited as outside
/// hidden mode, with the notice in the same commit.
async fn tell_owner(
    st: &AppState,
    user: &User,
    client: &Client,
    lang: Lang,
    ident_key: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let cap = caps::cap(
        "sso_notice",
        format!("sso_notice:{ident_key}"),
        3,
        86_400,
        true,
    );
    let mut b = Batch::new();
    let provider = user.sign_in_method;
    let detail = match limits::hits(&st.store, vec![cap], now).await? {
        Ok(()) => {
            let m = st.templates.render(
                lang,
                &Message::SsoNotice {
                    name: &user.name,
                    provider: provider.display_name(),
                    recovery: provider.recovery_url(),
                },
            );
            let message = NewMessage {
                idempotency_key: new_token(),
                channel: Channel::Email,
                recipient: user.email.clone(),
                subject: m.subject,
                body_text: m.text,
                body_html: m.html,
                account_id: Some(user.account_id),
                user_id: Some(user.id),
            };
            outbox::insert(&mut b, outbox::seal(&st.keys, message)?, now);
            format!("{}; owner emailed", provider.as_str())
        }
        Err(_) => format!("{}; no email, three sent today", provider.as_str()),
    };
    let e = caps::event("reset_refused_sso", user, client, Some(&detail));
    audit::queue(&mut b, &e, now);
    st.store.apply(b, |_| true).await?;
    st.outbox_wake.notify_one();
    Ok(())
}
