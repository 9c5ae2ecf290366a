//! What an administrator does to a user's password from the panel, beside setting it
//! (`change`): "Send password reset", whose link comes with the same caps and lifetime as if the
//! user had asked (and kills their previous code), and lifting a sign-in lock.

use super::issue::{issue_code, Delivery, Issue, Strategy, Target};
use super::{Outcome, Refusal};
use crate::domain::client::Client;
use crate::domain::identifier::EmailAddress;
use crate::notify::templates::Lang;
use crate::state::AppState;
use crate::store::outbox::Channel;
use crate::store::users::{self, User};
use crate::store::{audit, limits};

/// An administrator acting on a user; the caller has checked that `actor` may manage
/// `target`'s password.
pub struct ByAdmin<'a> {
    pub actor: &'a User,
    pub target: &'a User,
    pub client: &'a Client,
}

pub async fn send_reset(st: &AppState, act: &ByAdmin<'_>, now: i64) -> Outcome<()> {
    let ByAdmin {
        actor,
        target,
        client,
    } = *act;
    // The link opens nothing for a deactivated user (`link::live` reads active users only): an
    // email promising a reset that then says "expired" would only confuse them.
    if !target.active {
        return Err(Refusal::Deactivated.into());
    }
    let ident_key = st.keys.mac(&["ident", &target.email.to_lowercase()]);
    let delivery = Delivery {
        channel: Channel::Email,
        recipient: target.email.clone(),
        masked: EmailAddress::parse(&target.email)
            .map(|e| e.masked())
            .unwrap_or_default(),
        ident_key,
    };
    let issue = Issue {
        target: Target::NewFlow,
        user: Some(target),
        delivery: &delivery,
        lang: Lang::parse(&target.lang),
        strategy: Strategy::Link { actor },
        kind: "admin_reset_sent",
        client,
    };
    let caps = super::caps::per_identity(st, None, &delivery.ident_key);
    if let Err(capped) = issue_code(st, &issue, now, caps).await? {
        // The panel shows the generic "too many attempts", not the reset page's words about
        // codes.
        st.metrics.refused(capped.name);
        let retry_after = capped.retry_after;
        return Err(Refusal::TooMany { retry_after }.into());
    }
    Ok(())
}

/// Lifts the user's sign-in lock.
pub async fn unlock(st: &AppState, act: &ByAdmin<'_>, now: i64) -> Outcome<()> {
    let mut conn = st.store.conn().await?;
    users::unlock(&mut conn, act.target.id).await?;
    let bucket = crate::auth::signin_bucket(&st.keys, &act.target.email.to_lowercase());
    limits::clear(&mut conn, &bucket).await?;
    let mut event = super::caps::event("admin_unlock", act.target, act.client, None);
    event.actor_user_id = Some(act.actor.id);
    audit::record(&mut conn, &event, now).await?;
    Ok(())
}
