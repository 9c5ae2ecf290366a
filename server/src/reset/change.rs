//! One way to change a password, whoever changes it: a reset, the user in the profile, an
//! administrator in the panel, or an operator at the command line.
//!
//! Every change ends every flow, code, link and grant of the user, signs out every session but
//! the one it keeps, lifts a sign-in lockout, queues the confirmation email and is audited, in
//! the caller's transaction (OWASP Forgot Password Cheat Sheet: "invalidate existing sessions";
//! ASVS 5.0 6.2.x and 7.4.3: revoke sessions and notify on credential change).

use super::Outcome;
use crate::auth::signin_bucket;
use crate::crypto::{new_token, Hasher, Keys};
use crate::notify::templates::{Lang, Message, Origin, Templates};
use crate::store::outbox::{self, Channel, NewMessage};
use crate::store::users::{self, User};
use crate::store::{audit, limits, reset as flows, sessions, Conn, Store};

/// Who changed the password, which decides the email and the audit entry.
#[derive(Debug, Clone, Copy)]
pub enum ChangedBy<'a> {
    /// The user, through a reset code or link.
    Reset {
        /// Whether the browser that reset it is signed in afterwards.
        signs_in: bool,
    },
    /// The user, signed in, with the current password.
    Owner,
    /// Someone else in the account's user management.
    Admin {
        actor: &'a User,
        require_change: bool,
    },
    /// An operator with `portal user set-password`.
    Operator { require_change: bool },
}

impl ChangedBy<'_> {
    fn must_change(self) -> bool {
        match self {
            Self::Admin { require_change, .. } | Self::Operator { require_change } => {
                require_change
            }
            Self::Reset { .. } | Self::Owner => false,
        }
    }
}

/// A password change: whose, by whom, and what the email and the audit log say of it.
pub struct Change<'a> {
    pub user: &'a User,
    pub by: ChangedBy<'a>,
    /// The session that stays signed in: the profile's own session, else none.
    pub keep_session: Option<i64>,
    /// Where the change came from (for the email and the audit log), when it came over HTTP.
    pub origin: Option<&'a Origin>,
    pub user_agent: Option<&'a str>,
    /// The origin links in the email point to (`https://portal.example.com`).
    pub public_origin: &'a str,
    pub lang: Lang,
    /// What the confirmation email says, in the operator's templates where there are some.
    pub templates: &'a Templates,
}

/// Checks and hashes the two entries of a new password (`password::prepare`), then commits the
/// change. The caller wakes the outbox.
pub async fn set_new_password(
    store: &Store,
    hasher: &Hasher,
    keys: &Keys,
    ch: &Change<'_>,
    new: &str,
    confirm: &str,
    now: i64,
) -> Outcome<()> {
    let hash = super::password::prepare(store, hasher, ch.user, new, confirm).await?;
    let mut conn = store.conn().await?;
    let mut tx = store.begin_on(&mut conn).await?;
    change_password(&mut tx, keys, ch, &hash, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Applies `ch` with the Argon2id PHC string `hash` (policy and history already checked) in the
/// transaction `tx`. The caller commits and then wakes the outbox.
pub async fn change_password(
    tx: &mut Conn,
    keys: &Keys,
    ch: &Change<'_>,
    hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let user = ch.user;
    users::set_password(tx, user.id, hash, ch.by.must_change(), now).await?;
    flows::end_user_flows(tx, user.id).await?;
    flows::revoke_user_codes(tx, user.id, now).await?;
    sessions::revoke_all(tx, user.id, ch.keep_session, now).await?;
    limits::clear(tx, &signin_bucket(keys, &user.email.to_lowercase())).await?;
    let reset_url = format!("{}/forgot_password", ch.public_origin);
    let when = crate::auth::utc(now);
    let admin_changed = |admin: &str, must_change: bool| {
        let m = Message::AdminChanged {
            name: &user.name,
            admin,
            when_utc: &when,
            must_change,
            reset_url: &reset_url,
        };
        ch.templates.render(ch.lang, &m)
    };
    let mail = match ch.by {
        ChangedBy::Reset { .. } | ChangedBy::Owner => {
            let fallback = Origin {
                when_utc: when.clone(),
                browser: String::new(),
                ip: String::new(),
            };
            let m = Message::PasswordChanged {
                name: &user.name,
                origin: ch.origin.unwrap_or(&fallback),
                reset: matches!(ch.by, ChangedBy::Reset { .. }),
                reset_url: &reset_url,
            };
            ch.templates.render(ch.lang, &m)
        }
        ChangedBy::Admin {
            actor,
            require_change,
        } => admin_changed(&actor.name, require_change),
        ChangedBy::Operator { require_change } => {
            let admin = match ch.lang {
                Lang::En => "An administrator",
                Lang::Sv => "En administratör",
            };
            admin_changed(admin, require_change)
        }
    };
    outbox::enqueue(
        tx,
        keys,
        NewMessage {
            idempotency_key: new_token(),
            channel: Channel::Email,
            recipient: user.email.clone(),
            subject: mail.subject,
            body_text: mail.text,
            body_html: mail.html,
            account_id: Some(user.account_id),
            user_id: Some(user.id),
        },
        now,
    )
    .await?;
    let (kind, actor, detail) = match ch.by {
        ChangedBy::Reset { signs_in: true } => ("password_reset", Some(user.id), "signed in"),
        ChangedBy::Reset { signs_in: false } => (
            "password_reset",
            Some(user.id),
            "link opened in another browser",
        ),
        ChangedBy::Owner => ("password_changed", Some(user.id), ""),
        ChangedBy::Admin {
            actor,
            require_change,
        } => (
            "admin_password_change",
            Some(actor.id),
            if require_change {
                "must change at next sign-in"
            } else {
                "no forced change"
            },
        ),
        ChangedBy::Operator { .. } => ("admin_password_change", None, "set from the command line"),
    };
    audit::record(
        tx,
        &audit::Event {
            kind,
            account_id: Some(user.account_id),
            actor_user_id: actor,
            target_user_id: Some(user.id),
            ip: ch.origin.map(|o| o.ip.as_str()),
            user_agent: ch.user_agent,
            detail: (!detail.is_empty()).then_some(detail),
        },
        now,
    )
    .await
}
