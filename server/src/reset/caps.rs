//! The caps a reset passes and the guessing bound, each written once and used by every path
//! (start, resend, verify, an admin's reset). A decoy flow counts exactly like a real one, so in
//! hidden mode no cap tells a real account from an unknown one.

use super::{Outcome, Refusal};
use crate::domain::client::Client;
use crate::domain::reset as rules;
use crate::state::AppState;
use crate::store::batch::Batch;
use crate::store::limits::{self, Cap, Capped, Places, Slot};
use crate::store::reset as store;
use crate::store::users::User;
use crate::store::writer::Row;
use crate::store::{audit, Backend, Conn};
use futures_util::FutureExt as _;

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// A cap of [`limits::hits`] that refused, as the page's refusal, counted in the metrics.
pub fn refusal(st: &AppState, capped: Capped) -> Refusal {
    match capped.name {
        "reset_blocked" => blocked(st, capped.retry_after),
        name => {
            st.metrics.refused(name);
            Refusal::CodesRateLimited {
                retry_after: capped.retry_after,
            }
        }
    }
}

/// [`refusal`] for the caps of an issue: an SMS abuse cap is also recorded on the account's
/// audit trail and logged.
pub async fn refused(
    st: &AppState,
    capped: Capped,
    user: Option<&User>,
    client: &Client,
    now: i64,
) -> Outcome<Refusal> {
    if capped.name.starts_with("sms_") {
        if let Some(user) = user {
            let e = event("sms_blocked", user, client, Some(capped.name));
            let mut conn = st.store.conn().await?;
            audit::record(&mut conn, &e, now).await?;
        }
        tracing::warn!(limit = capped.name, "SMS refused by an abuse cap");
    }
    Ok(refusal(st, capped))
}

pub(super) fn cap(name: &'static str, bucket: String, max: u32, window: i64, counts: bool) -> Cap {
    Cap {
        name,
        bucket,
        max,
        window,
        counts,
    }
}

/// Codes asked for from one client address (an IPv6 client's /64) in an hour. Counted on its
/// own, before anything else of the request is done (a flood from one address is refused
/// cheaply).
pub async fn per_client(st: &AppState, client: &Client, now: i64) -> Outcome<()> {
    let bucket = format!("reset_ip:{}", client.rate_key);
    let max = st.config.ip_requests_per_hour.get();
    let caps = vec![cap("reset_ip", bucket, max, HOUR, true)];
    match limits::hits(&st.store, caps, now).await? {
        Ok(()) => Ok(()),
        Err(capped) => Err(refusal(st, capped).into()),
    }
}

/// The caps on codes for one identity, keyed by the identifier's keyed hash (OWASP Forgot
/// Password Cheat Sheet: rate-limit per identity), per hour and per day; with `block`, first a
/// refusal while the block after too many wrong codes is on (as [`per_guess`] checks it).
pub fn per_identity(st: &AppState, block: Option<&str>, ident_key: &str) -> Vec<Cap> {
    let mut caps = Vec::with_capacity(7);
    if let Some(key) = block {
        let bucket = format!("reset_block:{key}");
        caps.push(cap("reset_blocked", bucket, 1, block_secs(), false));
    }
    let (hour, day) = (&st.config.codes_per_hour, &st.config.codes_per_day);
    let (h, d) = (
        format!("codes_h:{ident_key}"),
        format!("codes_d:{ident_key}"),
    );
    caps.push(cap("codes_hour", h, hour.get(), HOUR, true));
    caps.push(cap("codes_day", d, day.get(), DAY, true));
    caps
}

/// The abuse caps on SMS (SMS pumping: OWASP Forgot Password Cheat Sheet, "SMS": limit per
/// number, per range and overall; only send to countries the business serves). The number is
/// counted under its keyed hash; the range (`prefix`) is known when the flow starts, and resends
/// are held by the number's and the global caps.
pub fn sms(st: &AppState, ident_key: &str, prefix: Option<&str>) -> Vec<Cap> {
    let cfg = &st.config;
    let mut caps = vec![
        cap(
            "sms_number_hour",
            format!("sms_num_h:{ident_key}"),
            cfg.sms_per_number_hour.get(),
            HOUR,
            true,
        ),
        cap(
            "sms_number_day",
            format!("sms_num_d:{ident_key}"),
            cfg.sms_per_number_day.get(),
            DAY,
            true,
        ),
    ];
    if let Some(prefix) = prefix {
        let max = cfg.sms_per_prefix_hour.get();
        let bucket = format!("sms_prefix_h:{prefix}");
        caps.push(cap("sms_prefix_hour", bucket, max, HOUR, true));
    }
    let max = cfg.sms_global_hour.get();
    caps.push(cap(
        "sms_global_hour",
        "sms_global_h".into(),
        max,
        HOUR,
        true,
    ));
    caps
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
/// after too many wrong codes (`key`, see [`block_key`]).
fn guess_caps(st: &AppState, client: &Client, key: &str) -> Vec<Cap> {
    let max = st.config.ip_verifications_per_hour.get();
    let ip = format!("verify_ip:{}", client.rate_key);
    let block = format!("reset_block:{key}");
    vec![
        cap("verify_ip", ip, max, HOUR, true),
        cap("reset_blocked", block, 1, block_secs(), false),
    ]
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

/// A code entered, and what it came to.
pub struct Entry {
    /// The code's row, and whether it can still be used.
    pub code_id: i64,
    pub live: bool,
    /// Whether the code entered is this one (compared beforehand, acted on only here).
    pub right: bool,
    /// A right code's writes besides taking the code and giving back the guess's place.
    pub on_right: Batch,
    /// A wrong code's writes; their first row is the code's attempts used, absent when the code
    /// died meanwhile.
    pub on_wrong: Batch,
}

/// What entering a code came to, once the caps let it be looked at.
pub enum Entered {
    /// The code was dead already: nothing but the caps was written.
    NotLive,
    /// No place under the guessing bound: the code was not looked at.
    NoPlace,
    Right,
    /// Right, but another request took the code first: nothing of this one was written.
    Lost,
    Wrong {
        used: Option<i64>,
        last: bool,
    },
}

/// Enters a code: first the caps on guessing ([`guess_caps`]), counted for every code entered,
/// live or not; then, for a live code, its place under the guessing bound (NIST SP 800-63B-4
/// 3.2.2: limit failed attempts): 10 wrong codes per account (or, for a decoy, per identifier)
/// in 24 hours, then resets pause for an hour; after that one guess an hour, each wrong one
/// pausing another hour; then the right code's or the wrong code's writes.
///
/// The guess takes its place before the answer is acted on, so parallel guesses cannot all pass
/// a count that is only raised afterwards. The places are handed out one guess at a time: the
/// bound is exact under any burst, neither exceeded nor left part unused, and the guess that
/// takes the tenth place is the one that starts the block. (Counted without that, five parallel
/// guesses could all see each other's places and all be refused, or a refused one could make
/// another believe it was the tenth and start the block after nine.) On SQLite all of it is one
/// job of the writer, whose jobs run one at a time; on PostgreSQL the caps commit first, the
/// place is one transaction under a lock on the account's key, and the writes a third.
pub async fn enter(
    st: &AppState,
    client: &Client,
    key: &str,
    entry: Entry,
    now: i64,
) -> Outcome<Entered> {
    let caps = guess_caps(st, client, key);
    let bucket = format!("verify_fail:{key}");
    if st.store.backend == Backend::Sqlite {
        let key = key.to_string();
        let entered = st
            .store
            .write(move |tx| {
                if let Err(capped) = limits::hits_in(tx, &caps, now)? {
                    return Ok(Err(capped));
                }
                if !entry.live {
                    return Ok(Ok(Entered::NotLive));
                }
                // Every step on the writer's transaction is ready at once.
                let guess = next_guess(tx, &bucket, &key, now)
                    .now_or_never()
                    .unwrap_or_else(|| {
                        Err(sqlx::Error::Protocol(
                            "a step of the guessing bound waited on the writer's thread".into(),
                        ))
                    })?;
                let Some(Guess { slot, last }) = guess else {
                    return Ok(Ok(Entered::NoPlace));
                };
                if !entry.right {
                    let rows = tx.run(entry.on_wrong)?;
                    let used = rows.first().map(|r| r.int(0)).transpose()?.flatten();
                    return Ok(Ok(Entered::Wrong { used, last }));
                }
                // The code first: a request that finds it taken writes nothing more.
                let mut take = Batch::new();
                store::consume_code_in(&mut take, entry.code_id, rules::MAX_ATTEMPTS, now);
                if tx.run(take)?.is_empty() {
                    return Ok(Ok(Entered::Lost));
                }
                let mut rest = entry.on_right;
                limits::release_in(&mut rest, &slot);
                tx.run(rest)?;
                Ok(Ok(Entered::Right))
            })
            .await?;
        return entered.map_err(|capped| refusal(st, capped).into());
    }
    if let Err(capped) = limits::hits(&st.store, caps, now).await? {
        return Err(refusal(st, capped).into());
    }
    if !entry.live {
        return Ok(Entered::NotLive);
    }
    let guess = {
        let mut conn = st.store.conn().await?;
        let mut tx = st.store.begin_on(&mut conn).await?;
        limits::serialize(&mut tx, &bucket).await?;
        let guess = next_guess(&mut **tx, &bucket, key, now).await?;
        tx.commit().await?;
        guess
    };
    let Some(Guess { slot, last }) = guess else {
        return Ok(Entered::NoPlace);
    };
    if !entry.right {
        let rows = st.store.apply(entry.on_wrong, |_| true).await?;
        let used = match rows.as_deref().and_then(<[Row]>::first) {
            Some(row) => row.int(0)?,
            None => None,
        };
        return Ok(Entered::Wrong { used, last });
    }
    let mut batch = Batch::new();
    limits::release_in(&mut batch, &slot);
    batch.extend(entry.on_right);
    // Last, so the batch's one row is its answer: was the code still live? If another request
    // took it first, the rest is undone.
    store::consume_code_in(&mut batch, entry.code_id, rules::MAX_ATTEMPTS, now);
    let took = |rows: &[Row]| !rows.is_empty();
    Ok(match st.store.apply(batch, took).await? {
        Some(_) => Entered::Right,
        None => Entered::Lost,
    })
}

async fn next_guess<P: Places>(
    places: &mut P,
    bucket: &str,
    key: &str,
    now: i64,
) -> Result<Option<Guess>, sqlx::Error> {
    let max = rules::ACCOUNT_FAILURES_PER_DAY;
    if let Some(slot) = places.take_place(bucket, max, DAY, now).await? {
        let last = slot.count >= i64::from(max);
        return Ok(Some(Guess { slot, last }));
    }
    // The day's allowance is used up. Right after the block starts, parallel guesses find no
    // block yet: they are refused. Once a block has run its hour, one guess an hour.
    let hour = block_secs();
    let marker = format!("reset_block:{key}");
    if places.events(&marker, DAY, now).await? == 0 || places.events(&marker, hour, now).await? > 0
    {
        return Ok(None);
    }
    let bucket = format!("verify_after_block:{key}");
    let place = places.take_place(&bucket, 1, hour, now).await?;
    Ok(place.map(|slot| Guess { slot, last: true }))
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
