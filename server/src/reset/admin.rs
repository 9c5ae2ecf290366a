//! An administrator's "Send password reset": the user gets a link by email, with the same caps
//! and lifetime as if they had asked, and their previous code dies.

use super::issue::{issue_code, Delivery, Issue, Strategy, Target};
use super::Outcome;
use crate::domain::client::Client;
use crate::domain::identifier::EmailAddress;
use crate::notify::templates::Lang;
use crate::state::AppState;
use crate::store::outbox::Channel;
use crate::store::users::User;

/// The caller has checked that `actor` may manage `target`'s password.
pub async fn send_reset(
    st: &AppState,
    actor: &User,
    target: &User,
    client: &Client,
    now: i64,
) -> Outcome<()> {
    let ident_key = st.keys.mac(&["ident", &target.email.to_lowercase()]);
    let mut conn = st.store.conn().await?;
    super::caps::per_identity(st, &mut conn, &ident_key, now, true).await?;
    drop(conn);
    let delivery = Delivery {
        channel: Channel::Email,
        recipient: target.email.clone(),
        masked: EmailAddress::parse(&target.email)
            .map(|e| e.masked())
            .unwrap_or_default(),
        ident_key,
    };
    issue_code(
        st,
        &Issue {
            target: Target::NewFlow,
            user: Some(target),
            delivery: &delivery,
            lang: Lang::parse(&target.lang),
            strategy: Strategy::Link { actor },
            kind: "admin_reset_sent",
            client,
        },
        now,
    )
    .await?;
    Ok(())
}
