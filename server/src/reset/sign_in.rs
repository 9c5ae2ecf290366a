//! Signing in with a password, and the current-password check of a profile change: both count
//! first, decide second and hash last, so a burst of parallel guesses is refused at the cap
//! instead of being evaluated and counted afterwards (OWASP Authentication Cheat Sheet,
//! "Account lockout"; ASVS 5.0 6.3.1; NIST SP 800-63B-4 3.2.2).

use std::time::Duration;

use app::wire::{Me, SignInMethod};
use secrecy::SecretString;

use super::{Error, Outcome, Refusal};
use crate::auth;
use crate::domain::client::Client;
use crate::domain::identifier::EmailAddress;
use crate::state::AppState;
use crate::store::limits::{self, Refused};
use crate::store::users::{self, User};
use crate::store::{audit, sessions, Conn};

/// Consecutive failures that lock an account's password sign-in, and for how long.
pub const LOCK_AFTER: u32 = 5;
pub const LOCK_SECS: i64 = 15 * 60;
/// Failed sign-ins from one address in 15 minutes before that address is refused.
pub const IP_FAILURES: u32 = 30;
/// Wrong current passwords a user may type within [`WRONG_CURRENT_WINDOW`] seconds before the
/// change is refused outright: a session left open or stolen must not become an unlimited
/// oracle for the account's password.
pub const WRONG_CURRENT_MAX: u32 = 5;
pub const WRONG_CURRENT_WINDOW: i64 = 15 * 60;

pub struct SignedIn {
    pub session_token: String,
    pub me: Me,
}

pub async fn sign_in(
    st: &AppState,
    email_typed: &str,
    password: &str,
    client: &Client,
    now: i64,
) -> Outcome<SignedIn> {
    let email = EmailAddress::parse(email_typed);
    let lowered = email
        .as_ref()
        .map_or_else(|| email_typed.trim().to_lowercase(), |e| e.lower());
    let id_bucket = auth::signin_bucket(&st.keys, &lowered);
    let ip_bucket = format!("signin_fail_ip:{}", client.rate_key);
    let mut conn = st.store.conn().await?;
    // Each attempt takes its place in the per-address and per-identifier windows before any
    // Argon2 work; a success gives its place back. The per-identifier window counts unknown
    // addresses exactly like real ones, so a lock says nothing about whether an account exists.
    let ip_slot = match limits::take(
        &mut conn,
        &ip_bucket,
        IP_FAILURES,
        900,
        now,
        Refused::Forgotten,
    )
    .await?
    {
        Ok(slot) => slot,
        Err(retry_after) => {
            st.metrics.refused("signin_ip");
            return Err(Refusal::TooMany { retry_after }.into());
        }
    };
    let user = match &email {
        Some(e) => users::by_email(&mut conn, &e.lower()).await?,
        None => None,
    }
    .filter(|u| u.active);
    // Hidden mode: a provider's user is answered like an unknown address (after the same hash).
    let user = match user {
        Some(user) if user.sign_in_method != SignInMethod::Password => {
            if st.config.hide_account_existence {
                None
            } else {
                limits::release(&mut conn, &ip_slot).await?;
                return Err(Refusal::SignInWithProvider(user.sign_in_method).into());
            }
        }
        other => other,
    };
    // The window alone decides (the users table's lock time is what the admin panel shows): a
    // second source would let a real account stay locked a moment longer than an unknown one.
    let id_slot = match limits::take(
        &mut conn,
        &id_bucket,
        LOCK_AFTER,
        LOCK_SECS,
        now,
        Refused::Counted,
    )
    .await?
    {
        Ok(slot) => slot,
        Err(retry_after) => {
            if let Some(user) = &user {
                lock_account(&mut conn, user, client, now).await?;
            }
            st.metrics.refused("signin_account");
            return Err(Refusal::Locked { wait: retry_after }.into());
        }
    };
    // No pooled connection is held while the hash is computed or while a failure is delayed.
    drop(conn);
    // Always one Argon2 verification, against a dummy hash when there is no such user, so the
    // answer takes as long either way. The password is NFC-normalised as it was when stored, so a
    // keyboard that sends decomposed characters signs in too (NIST SP 800-63B-4 3.1.1.2).
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let typed = SecretString::from(app::policy::normalize(password));
    let ok = st
        .hasher
        .verify(typed, hash)
        .await
        .map_err(Error::Internal)?;
    let user = match user {
        Some(user) if ok => user,
        other => return Err(failed(st, other.as_ref(), client, id_slot.count, now).await),
    };
    let mut conn = st.store.conn().await?;
    limits::release(&mut conn, &ip_slot).await?;
    limits::clear(&mut conn, &id_bucket).await?;
    let mut tx = st.store.begin_on(&mut conn).await?;
    users::record_signin(&mut tx, user.id, now).await?;
    let session_token = auth::start_session(st, &mut tx, user.id, client, now).await?;
    let mut event = super::caps::event("sign_in", &user, client, None);
    event.actor_user_id = Some(user.id);
    audit::record(&mut tx, &event, now).await?;
    let me = auth::me(&mut tx, &user).await?;
    tx.commit().await?;
    Ok(SignedIn { session_token, me })
}

/// A failed sign-in: audited (or the lock, when this failure reached it), then slowed down:
/// 250 ms per earlier failure, at most 750 ms, for unknown addresses as for real ones.
async fn failed(
    st: &AppState,
    user: Option<&User>,
    client: &Client,
    failures: i64,
    now: i64,
) -> Error {
    if let Some(user) = user {
        let audited = async {
            let mut conn = st.store.conn().await?;
            let locked_now = failures >= i64::from(LOCK_AFTER)
                && lock_account(&mut conn, user, client, now).await?;
            if !locked_now {
                let e = super::caps::event("sign_in_failed", user, client, None);
                audit::record(&mut conn, &e, now).await?;
            }
            Ok::<(), sqlx::Error>(())
        };
        if let Err(e) = audited.await {
            return e.into();
        }
    }
    let delay = u64::try_from(failures.clamp(1, 4) - 1).unwrap_or(0) * 250;
    tokio::time::sleep(Duration::from_millis(delay)).await;
    Refusal::InvalidCredentials.into()
}

/// Locks the account's password sign-in (the admin panel shows it and can lift it); audited once
/// by whichever request got there first. True when this call locked it.
async fn lock_account(
    conn: &mut Conn,
    user: &User,
    client: &Client,
    now: i64,
) -> Result<bool, sqlx::Error> {
    if !users::lock_signin(conn, user.id, now + LOCK_SECS, now).await? {
        return Ok(false);
    }
    let e = super::caps::event("sign_in_locked", user, client, Some("locked"));
    audit::record(conn, &e, now).await?;
    Ok(true)
}

/// The current-password check of a profile change: capped per user, audited when wrong.
///
/// The attempt takes its slot in the cap before Argon2 runs and a right password gives it back,
/// so twenty concurrent guesses cannot all be hashed while the count still looks low, and a
/// refused attempt costs no hash at all.
pub async fn check_current_password(
    st: &AppState,
    user: &User,
    client: &Client,
    current: &str,
    now: i64,
) -> Outcome<()> {
    if current.is_empty() {
        return Err(Refusal::CurrentPasswordRequired.into());
    }
    let bucket = format!("password_change_fail:{}", user.id);
    let mut conn = st.store.conn().await?;
    let reserved = limits::take(
        &mut conn,
        &bucket,
        WRONG_CURRENT_MAX,
        WRONG_CURRENT_WINDOW,
        now,
        Refused::Forgotten,
    )
    .await?;
    let slot = match reserved {
        Ok(slot) => slot,
        Err(retry_after) => {
            st.metrics.refused("password_change");
            return Err(Refusal::TooMany { retry_after }.into());
        }
    };
    drop(conn);
    // Stored hashes are of the NFC form, so the same passphrase typed on a keyboard that
    // composes differently must match (NIST SP 800-63B-4 3.1.1.2).
    let typed = SecretString::from(app::policy::normalize(current));
    let stored = user.password_hash.clone();
    let ok = st
        .hasher
        .verify(typed, stored)
        .await
        .map_err(Error::Internal)?;
    let mut conn = st.store.conn().await?;
    if ok {
        limits::release(&mut conn, &slot).await?;
        return Ok(());
    }
    let last = slot.count >= i64::from(WRONG_CURRENT_MAX);
    let detail = "wrong current password; further attempts refused for 15 minutes";
    let mut e = super::caps::event("password_change_failed", user, client, None);
    e.actor_user_id = Some(user.id);
    e.detail = last.then_some(detail);
    audit::record(&mut conn, &e, now).await?;
    Err(Refusal::WrongCurrentPassword.into())
}

/// Signs the session out, if it is still live.
pub async fn sign_out(st: &AppState, token: &str, now: i64) -> Outcome<()> {
    let hash = st.keys.token_hash("session", token);
    let idle = crate::domain::reset::seconds(st.config.session_idle_secs.get());
    let mut conn = st.store.conn().await?;
    if let Some(session) = sessions::live(&mut conn, &hash, now, idle).await? {
        sessions::revoke(&mut conn, session.id, now).await?;
    }
    Ok(())
}
