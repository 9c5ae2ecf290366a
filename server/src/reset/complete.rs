//! Save: consumes the grant (or the link) and sets the password, revokes every session, signs
//! in only the browser that started the flow, and queues the confirmation email; one
//! transaction, which exactly one concurrent Save wins.

use super::change::{change_password, Change, ChangedBy};
use super::{Outcome, Refusal};
use crate::domain::client::Client;
use crate::domain::reset::{self as rules, grant_live, save_target, SaveTarget};
use crate::notify::templates::Lang;
use crate::state::AppState;
use crate::store::reset as store;
use crate::store::users;

pub struct CompleteRequest<'a> {
    pub flow_token: Option<&'a str>,
    pub link_token: Option<&'a str>,
    pub new_password: &'a str,
    pub confirm_password: &'a str,
    pub client: &'a Client,
    /// The language of the request, for the email when no flow of this browser names one.
    pub lang: Lang,
}

pub struct Completed {
    /// The new session's token when this browser is signed in.
    pub session_token: Option<String>,
}

pub async fn complete(st: &AppState, req: &CompleteRequest<'_>, now: i64) -> Outcome<Completed> {
    let mut conn = st.store.conn().await?;
    let browser_flow = super::flow::by_token(st, &mut conn, req.flow_token).await?;
    // A dead link is no link: it never blocks the code flow it sits beside.
    let link = match req.link_token {
        Some(token) => super::link::live(st, &mut conn, token, now).await.ok(),
        None => None,
    };
    let target = save_target(
        browser_flow
            .as_ref()
            .map(|f| (f.id, grant_live(f.times(), now))),
        link.as_ref().map(|l| l.flow.id),
    );
    let link_code = link.as_ref().map(|l| l.code.id);
    let (user, signs_in) = match (target, link) {
        (SaveTarget::Grant { .. }, _) => {
            let uid = browser_flow.as_ref().and_then(|f| f.user_id);
            let uid = uid.ok_or(Refusal::GrantExpired)?;
            let user = users::by_id(&mut conn, uid).await?.filter(|u| u.active);
            (user.ok_or(Refusal::GrantExpired)?, true)
        }
        (SaveTarget::Link { signs_in, .. }, Some(l)) => (l.user, signs_in),
        _ => return Err(Refusal::GrantExpired.into()),
    };
    drop(conn);
    let hash = super::password::prepare(
        &st.store,
        &st.hasher,
        &user,
        req.new_password,
        req.confirm_password,
    )
    .await?;
    let lang = browser_flow
        .as_ref()
        .map_or(req.lang, |f| Lang::parse(&f.lang));
    let mut conn = st.store.conn().await?;
    let mut tx = st.store.begin_on(&mut conn).await?;
    let won = match target {
        SaveTarget::Grant { flow_id } => store::consume_grant(&mut tx, flow_id, now).await?,
        SaveTarget::Link { .. } => {
            // Conditional: only a code still live when the transaction runs is taken.
            let ok = match link_code {
                Some(id) => store::consume_code(&mut tx, id, rules::MAX_ATTEMPTS, now).await?,
                None => false,
            };
            if let (true, Some(f)) = (ok, &browser_flow) {
                store::finish_flow(&mut tx, f.id, now).await?;
            }
            ok
        }
        SaveTarget::Refused => false,
    };
    if !won {
        // Another Save got there first, or the grant ran out while hashing.
        return Err(Refusal::GrantExpired.into());
    }
    let origin = crate::auth::origin(req.client, now);
    change_password(
        &mut tx,
        &st.keys,
        &Change {
            user: &user,
            by: ChangedBy::Reset { signs_in },
            keep_session: None,
            origin: Some(&origin),
            user_agent: Some(&req.client.user_agent),
            public_origin: &st.config.public_origin(),
            lang,
            templates: &st.templates,
        },
        &hash,
        now,
    )
    .await?;
    let session_token = match signs_in {
        true => Some(crate::auth::start_session(st, &mut tx, user.id, req.client, now).await?),
        false => None,
    };
    tx.commit().await?;
    st.outbox_wake.notify_one();
    Ok(Completed { session_token })
}
