//! The caps a reset passes and the guessing bound, each written once and used by every path
//! (start, resend, verify, an admin's reset). A decoy flow counts exactly like a real one, so in
//! hidden mode no cap tells a real account from an unknown one.

use super::{Outcome, Refusal};
use crate::domain::client::Client;
use crate::domain::reset as rules;
use crate::state::AppState;
use crate::store::limits::{self, Refused, Slot, Verdict};
use crate::store::reset as store;
use crate::store::users::User;
use crate::store::{audit, Backend, Conn};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// Applies one rate limit, counting the refusal in the metrics.
pub async fn cap(
    st: &AppState,
    conn: &mut Conn,
    name: &'static str,
    bucket: &str,
    max: u32,
    window: i64,
    now: i64,
) -> Outcome<()> {
    match limits::hit(conn, bucket, max, window, now).await? {
        Verdict::Allowed => Ok(()),
        Verdict::Refused { retry_after } => {
            st.metrics.refused(name);
            Err(Refusal::CodesRateLimited { retry_after }.into())
        }
    }
}

/// Codes asked for from one client address (an IPv6 client's /64) in an hour. Counted on its
/// own, before anything else of the request is done (a flood from one address is refused
/// cheaply), in the writers' turn.
pub async fn per_client(st: &AppState, conn: &mut Conn, client: &Client, now: i64) -> Outcome<()> {
    let bucket = format!("reset_ip:{}", client.rate_key);
    let max = st.config.ip_requests_per_hour.get();
    let _turn = st.store.write_turn().await?;
    cap(st, conn, "reset_ip", &bucket, max, HOUR, now).await
}

/// Codes for one identity, keyed by the identifier's keyed hash (OWASP Forgot Password Cheat
/// Sheet: rate-limit per identity), per hour and per day; with `block`, first refuses while the
/// block after too many wrong codes is on (as [`per_guess`] checks it). One batch on SQLite
/// ([`limits::hits`]).
pub async fn per_identity(
    st: &AppState,
    conn: &mut Conn,
    block: Option<&str>,
    ident_key: &str,
    now: i64,
) -> Outcome<()> {
    let block = block.map(|key| format!("reset_block:{key}"));
    let hour = format!("codes_h:{ident_key}");
    let day = format!("codes_d:{ident_key}");
    let cap = |bucket, max, window, counts| limits::Cap {
        bucket,
        max,
        window,
        counts,
    };
    let (mut names, mut list) = (Vec::with_capacity(3), Vec::with_capacity(3));
    if let Some(bucket) = &block {
        names.push("reset_blocked");
        list.push(cap(bucket, 1, block_secs(), false));
    }
    names.extend(["codes_hour", "codes_day"]);
    list.push(cap(&hour, st.config.codes_per_hour.get(), HOUR, true));
    list.push(cap(&day, st.config.codes_per_day.get(), DAY, true));
    match limits::hits(conn, &list, now).await? {
        Ok(()) => Ok(()),
        Err((i, retry_after)) => match names[i] {
            "reset_blocked" => Err(blocked(st, retry_after).into()),
            name => {
                st.metrics.refused(name);
                Err(Refusal::CodesRateLimited { retry_after }.into())
            }
        },
    }
}

/// The abuse caps on SMS (SMS pumping: OWASP Forgot Password Cheat Sheet, "SMS": limit per
/// number, per range and overall; only send to countries the business serves). The number is
/// counted under its keyed hash; the range (`prefix`) is known when the flow starts, and resends
/// are held by the number's and the global caps.
pub async fn sms(
    st: &AppState,
    conn: &mut Conn,
    ident_key: &str,
    prefix: Option<&str>,
    user: Option<&User>,
    client: &Client,
    now: i64,
) -> Outcome<()> {
    let cfg = &st.config;
    let mut checks = vec![
        (
            "sms_number_hour",
            format!("sms_num_h:{ident_key}"),
            cfg.sms_per_number_hour.get(),
            HOUR,
        ),
        (
            "sms_number_day",
            format!("sms_num_d:{ident_key}"),
            cfg.sms_per_number_day.get(),
            DAY,
        ),
    ];
    if let Some(prefix) = prefix {
        checks.push((
            "sms_prefix_hour",
            format!("sms_prefix_h:{prefix}"),
            cfg.sms_per_prefix_hour.get(),
            HOUR,
        ));
    }
    checks.push((
        "sms_global_hour",
        "sms_global_h".into(),
        cfg.sms_global_hour.get(),
        HOUR,
    ));
    for (name, bucket, max, window) in checks {
        if let Err(e) = cap(st, conn, name, &bucket, max, window, now).await {
            if let Some(user) = user {
                audit::record(conn, &event("sms_blocked", user, client, Some(name)), now).await?;
            }
            tracing::warn!(limit = name, "SMS refused by an abuse cap");
            return Err(e);
        }
    }
    Ok(())
}

/// What the guessing block counts under: the account for a real flow, the identifier typed for
/// a decoy (so in hidden mode a decoy is blocked exactly when a real account would be).
pub fn block_key(flow_user: Option<i64>, ident_key: &str) -> String {
    match flow_user {
        Some(uid) => format!("user:{uid}"),
        None => format!("id:{ident_key}"),
    }
}

/// The pause after too many wrong codes, as a refusal (counted in the metrics).
pub fn blocked(st: &AppState, wait: u64) -> Refusal {
    st.metrics.refused("reset_blocked");
    Refusal::Blocked { wait }
}

/// Codes entered from one client address in an hour (an IPv6 client's /64), then the block
/// after too many wrong codes (`key`, see [`block_key`]), counted in one call on SQLite
/// ([`limits::hits`]), in the writers' turn.
pub async fn per_guess(
    st: &AppState,
    conn: &mut Conn,
    client: &Client,
    key: &str,
    now: i64,
) -> Outcome<()> {
    let ip = format!("verify_ip:{}", client.rate_key);
    let block = format!("reset_block:{key}");
    let caps = [
        limits::Cap {
            bucket: &ip,
            max: st.config.ip_verifications_per_hour.get(),
            window: HOUR,
            counts: true,
        },
        limits::Cap {
            bucket: &block,
            max: 1,
            window: block_secs(),
            counts: false,
        },
    ];
    let _turn = st.store.write_turn().await?;
    match limits::hits(conn, &caps, now).await? {
        Ok(()) => Ok(()),
        Err((0, retry_after)) => {
            st.metrics.refused("verify_ip");
            Err(Refusal::CodesRateLimited { retry_after }.into())
        }
        Err((_, retry_after)) => Err(blocked(st, retry_after).into()),
    }
}

fn block_secs() -> i64 {
    rules::seconds(rules::ACCOUNT_BLOCK_SECS)
}

/// A guess's place in the window of wrong codes.
pub struct Guess {
    pub slot: Slot,
    /// A wrong answer to this guess starts the block.
    pub last: bool,
}

/// The guessing bound (NIST SP 800-63B-4 3.2.2: limit failed attempts): 10 wrong codes per
/// account (or, for a decoy, per identifier) in 24 hours, then resets pause for an hour; after
/// that one guess an hour, each wrong one pausing another hour. `None` when no guess is left.
///
/// The guess takes its place before the code is compared, so parallel guesses cannot all pass a
/// count that is only raised afterwards. The places are handed out one guess at a time (on
/// PostgreSQL, one transaction under a lock on the account's key): the bound is exact under any burst, neither
/// exceeded nor left part unused, and the guess that takes the tenth place is the one that
/// starts the block. (Counted without the lock, five parallel guesses could all see each
/// other's places and all be refused, or a refused one could make another believe it was the
/// tenth and start the block after nine.)
pub async fn take_guess(
    st: &AppState,
    conn: &mut Conn,
    key: &str,
    now: i64,
) -> Outcome<Option<Guess>> {
    let bucket = format!("verify_fail:{key}");
    // SQLite: each place is taken by one statement that adds and counts (store/limits.rs), and
    // writes go one at a time, so no transaction is needed for the places to be handed out in
    // turn.
    if st.store.backend == Backend::Sqlite {
        let _turn = st.store.write_turn().await?;
        return next_guess(conn, &bucket, key, now).await;
    }
    let mut tx = st.store.begin_on(conn).await?;
    limits::serialize(&mut tx, &bucket).await?;
    let guess = next_guess(&mut tx, &bucket, key, now).await?;
    tx.commit().await?;
    Ok(guess)
}

async fn next_guess(conn: &mut Conn, bucket: &str, key: &str, now: i64) -> Outcome<Option<Guess>> {
    let max = rules::ACCOUNT_FAILURES_PER_DAY;
    if let Ok(slot) = limits::take(conn, bucket, max, DAY, now, Refused::Forgotten).await? {
        let last = slot.count >= i64::from(max);
        return Ok(Some(Guess { slot, last }));
    }
    // The day's allowance is used up. Right after the block starts, parallel guesses find no
    // block yet: they are refused. Once a block has run its hour, one guess an hour.
    let hour = block_secs();
    let marker = format!("reset_block:{key}");
    if limits::count(conn, &marker, DAY, now).await? == 0
        || limits::count(conn, &marker, hour, now).await? > 0
    {
        return Ok(None);
    }
    let bucket = format!("verify_after_block:{key}");
    Ok(
        match limits::take(conn, &bucket, 1, hour, now, Refused::Forgotten).await? {
            Ok(slot) => Some(Guess { slot, last: true }),
            Err(_) => None,
        },
    )
}

/// Starts the hour's pause: every live code of the account (or of the identifier's decoys) is
/// killed, so a real and a decoy flow look the same afterwards too.
pub async fn block(
    st: &AppState,
    conn: &mut Conn,
    ident_key: Option<&str>,
    user: Option<&User>,
    key: &str,
    client: &Client,
    now: i64,
) -> Outcome<()> {
    // The block is this window's one event (what `per_guess` and `per_identity` read), nothing
    // else. Two wrong guesses that took the last places in the window at the same moment both
    // end here (on PostgreSQL, where each sees the other's place): the first starts the block,
    // the second finds it started, under a lock on the block's key.
    let marker = format!("reset_block:{key}");
    let mut tx = st.store.begin_on(conn).await?;
    limits::serialize(&mut tx, &marker).await?;
    if limits::count(&mut tx, &marker, block_secs(), now).await? > 0 {
        tx.commit().await?;
        return Ok(());
    }
    limits::record(&mut tx, &marker, now).await?;
    match (user, ident_key) {
        (Some(user), _) => {
            store::revoke_user_codes(&mut tx, user.id, now).await?;
            let mut e = event("reset_blocked", user, client, None);
            e.user_agent = None;
            e.detail = Some("too many failed verifications in 24 hours");
            audit::record(&mut tx, &e, now).await?;
        }
        (None, Some(ident)) => store::revoke_decoy_codes(&mut tx, ident, now).await?,
        (None, None) => {}
    }
    tx.commit().await?;
    Ok(())
}

/// An audit event about `user`, from `client`.
pub fn event<'a>(
    kind: &'static str,
    user: &User,
    client: &'a Client,
    detail: Option<&'a str>,
) -> audit::Event<'a> {
    audit::Event {
        target_user_id: Some(user.id),
        detail,
        ..audit::Event::by_client(kind, user.account_id, client)
    }
}
