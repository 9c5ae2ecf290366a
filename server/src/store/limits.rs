//! Sliding-window rate limits kept in the database, so they hold across every server instance.
//!
//! Events are counted per bucket and per second (`rate_counts`: bucket, second, shard, n), not
//! stored one row each: a count reads at most one row per second of the window and shard,
//! however many events a flood brings, and times are whole seconds anyway, so the window is as
//! exact as it was with one row per event. A busy bucket (one client address under a flood) is
//! spread over [`SHARDS`] rows per second, so concurrent requests on PostgreSQL do not queue on
//! one row's lock.
//!
//! A hit is recorded first and counted second: two instances racing for the last slot both see
//! each other's increment and both refuse, so a cap can be under-used under a race, never
//! exceeded. (OWASP Forgot Password Cheat Sheet: rate-limit the reset request per identity and
//! per client; ASVS 5.0 V6.3: anti-automation that holds across instances.)

use sqlx::Row;

use super::batch::{Batch, Value};
use super::{writer, Backend, Conn, Store};

/// Rows per bucket and second that concurrent increments are spread over.
const SHARDS: u32 = 4;

fn shard() -> i64 {
    i64::from(rand::random::<u32>() % SHARDS)
}

const ADD: &str = "INSERT INTO rate_counts (bucket, at, shard, n) VALUES ($1, $2, $3, 1) \
     ON CONFLICT (bucket, at, shard) DO UPDATE SET n = rate_counts.n + 1";

/// Adds one event at `now` to `bucket`; returns the shard it went to.
async fn add(c: &mut Conn, bucket: &str, now: i64) -> Result<i64, sqlx::Error> {
    let mut b = Batch::new();
    let s = add_in(&mut b, bucket, now);
    b.run(c).await?;
    Ok(s)
}

/// Queues one event at `now` in `bucket`; returns the shard it goes to.
fn add_in(b: &mut Batch, bucket: &str, now: i64) -> i64 {
    let s = shard();
    b.push(ADD, vec![bucket.into(), now.into(), s.into()]);
    s
}

/// Queues SQLite's add-and-count ([`ADD_COUNTED`]) of one event at `now` in `bucket`: its row is
/// the events of the last `window` seconds, this one included. Returns the shard.
fn add_counted_in(b: &mut Batch, bucket: &str, window: i64, now: i64) -> i64 {
    let s = shard();
    b.push(
        ADD_COUNTED,
        vec![bucket.into(), now.into(), s.into(), (now - window).into()],
    );
    s
}

/// Queues [`COUNT`]: its row is the events of `bucket` in the last `window` seconds.
fn count_in(b: &mut Batch, bucket: &str, window: i64, now: i64) {
    b.push(COUNT, vec![bucket.into(), (now - window).into()]);
}

/// Adds one event at `now` to `bucket`; returns the shard it went to and the events in the last
/// `window` seconds, this one included.
///
/// On SQLite, whose writes go one at a time, one statement does both: this row's new total plus
/// the other rows of the window. On PostgreSQL the count is a second statement, whose snapshot
/// sees every increment committed meanwhile, so two instances racing for the last slot see each
/// other's (a subquery of the same statement would read the older snapshot, and both pass).
async fn add_counted(
    c: &mut Conn,
    bucket: &str,
    window: i64,
    now: i64,
) -> Result<(i64, i64), sqlx::Error> {
    if c.backend_name() == "PostgreSQL" {
        let s = add(c, bucket, now).await?;
        return Ok((s, count(c, bucket, window, now).await?));
    }
    let s = shard();
    let n = sqlx::query_scalar(ADD_COUNTED)
        .bind(bucket)
        .bind(now)
        .bind(s)
        .bind(now - window)
        .fetch_one(&mut *c)
        .await?;
    Ok((s, n))
}

/// SQLite's add-and-count: `$1` bucket, `$2` now, `$3` shard, `$4` the window's start.
const ADD_COUNTED: &str = "INSERT INTO rate_counts (bucket, at, shard, n) VALUES ($1, $2, $3, 1) \
     ON CONFLICT (bucket, at, shard) DO UPDATE SET n = rate_counts.n + 1 \
     RETURNING n + (SELECT COALESCE(SUM(r.n), 0) FROM rate_counts r \
                    WHERE r.bucket = $1 AND r.at > $4 AND NOT (r.at = $2 AND r.shard = $3))";

/// The events of bucket `$1` after `$2`. PostgreSQL sums BIGINT into NUMERIC; the cast keeps one
/// integer type for both backends.
const COUNT: &str =
    "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM rate_counts WHERE bucket = $1 AND at > $2";

const TAKE_BACK: &str =
    "UPDATE rate_counts SET n = n - 1 WHERE bucket = $1 AND at = $2 AND shard = $3 AND n > 0";

/// One cap of [`hits`].
#[derive(Debug, Clone)]
pub struct Cap {
    /// What a refusal by this cap is counted as in the metrics ("codes_hour").
    pub name: &'static str,
    pub bucket: String,
    /// The most events the window holds.
    pub max: u32,
    pub window: i64,
    /// This request is an event of the bucket ([`take`], refused ones taken back); `false`: it
    /// only needs the bucket to have room (`check`, e.g. a block that is on).
    pub counts: bool,
}

/// The cap of [`hits`] that refused, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capped {
    pub name: &'static str,
    pub retry_after: u64,
}

/// Applies caps (of distinct buckets) in order, with the outcome of `check` and [`take`] called
/// one after another: the first cap without room refuses, and neither it nor the caps after it
/// keep an event of this request; the events of the caps before it stay.
///
/// On SQLite the caps are one job of the writer thread ([`hits_in`]); on PostgreSQL each is its
/// own statements in turn, as `add_counted` explains, on a pooled connection. The caller holds
/// no connection meanwhile (a request that held one while it waits for the writer would keep the
/// others out of SQLite's small pool).
pub async fn hits(
    store: &Store,
    caps: Vec<Cap>,
    now: i64,
) -> Result<Result<(), Capped>, sqlx::Error> {
    if store.backend == Backend::Sqlite {
        return store.write(move |tx| hits_in(tx, &caps, now)).await;
    }
    let mut c = store.conn().await?;
    for cap in &caps {
        let (bucket, max, window) = (&cap.bucket, cap.max, cap.window);
        let refused = match cap.counts {
            true => take(&mut c, bucket, max, window, now, Refused::Forgotten)
                .await?
                .err(),
            false => check(&mut c, bucket, max, window, now).await?,
        };
        if let Some(retry_after) = refused {
            return Ok(Err(Capped {
                name: cap.name,
                retry_after,
            }));
        }
    }
    Ok(Ok(()))
}

/// [`hits`] in the SQLite writer's transaction: the caps counted in one batch, and the events
/// that must not stay taken back after. SQLite's writes go one at a time, so what the batch
/// counts is exact.
pub fn hits_in(
    tx: &mut writer::Tx<'_>,
    caps: &[Cap],
    now: i64,
) -> Result<Result<(), Capped>, sqlx::Error> {
    let mut batch = Batch::new();
    // A check's shard is never used: only counted events are taken back.
    let shards: Vec<i64> = caps
        .iter()
        .map(|cap| match cap.counts {
            true => add_counted_in(&mut batch, &cap.bucket, cap.window, now),
            false => {
                count_in(&mut batch, &cap.bucket, cap.window, now);
                0
            }
        })
        .collect();
    let rows = tx.run(batch)?;
    // One row a cap: a missing one must not read as room.
    if rows.len() != caps.len() {
        return Err(sqlx::Error::RowNotFound);
    }
    let mut refused = None;
    for (i, (cap, row)) in caps.iter().zip(&rows).enumerate() {
        let (n, max) = (row.int(0)?.unwrap_or(0), i64::from(cap.max));
        // A hit's count includes its own event; a check's must leave room for one.
        let room = if cap.counts { n <= max } else { n < max };
        if !room {
            refused = Some(i);
            break;
        }
    }
    let Some(i) = refused else {
        return Ok(Ok(()));
    };
    let cap = &caps[i];
    let mut back = Batch::new();
    for (cap, s) in caps
        .iter()
        .zip(&shards)
        .skip(i)
        .filter(|(cap, _)| cap.counts)
    {
        take_back_in(&mut back, &cap.bucket, now, *s);
    }
    back.push(
        RETRY_AFTER,
        retry_args(&cap.bucket, cap.max, cap.window, now),
    );
    let rows = tx.run(back)?;
    let nth_newest = rows.first().map(|r| r.int(0)).transpose()?.flatten();
    Ok(Err(Capped {
        name: cap.name,
        retry_after: frees_in(nth_newest, cap.window, now),
    }))
}

/// One event counted by [`take`], which [`release`] can take back.
#[derive(Debug, Clone)]
pub struct Slot {
    bucket: String,
    at: i64,
    shard: i64,
    /// Events in the window, this one included.
    pub count: i64,
}

/// What becomes of an event [`take`] refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Taken back: refusals do not extend the block (a cap on requests).
    Forgotten,
    /// Kept: for failures an attacker sends in bursts (sign-in), where the attempts refused at
    /// the cap are guesses too and must keep the lock on, not fall out of the window they
    /// overflowed.
    Counted,
}

/// Counts one event before the work it guards, atomically with the decision: under a burst of
/// concurrent requests each sees the others' events, so no more than `max` get through (the
/// count-then-act race is what let 20 parallel wrong passwords all be evaluated). `Err` carries
/// the Retry-After seconds.
pub async fn take(
    c: &mut Conn,
    bucket: &str,
    max: u32,
    window: i64,
    now: i64,
    refused: Refused,
) -> Result<Result<Slot, u64>, sqlx::Error> {
    let (shard, count) = add_counted(c, bucket, window, now).await?;
    let slot = Slot {
        bucket: bucket.to_string(),
        at: now,
        shard,
        count,
    };
    if slot.count <= i64::from(max) {
        return Ok(Ok(slot));
    }
    if refused == Refused::Forgotten {
        release(c, &slot).await?;
    }
    Ok(Err(retry_after(c, bucket, max, window, now).await?))
}

/// The two steps the guessing bound is made of (`reset::caps::next_guess`), on either executor:
/// a sqlx connection (PostgreSQL's transaction under a lock on the account's key) or the SQLite
/// writer's transaction, so the bound's logic is written once for both.
pub(crate) trait Places {
    /// [`take`], a refused event taken back: the place, or `None` when the window is full.
    async fn take_place(
        &mut self,
        bucket: &str,
        max: u32,
        window: i64,
        now: i64,
    ) -> Result<Option<Slot>, sqlx::Error>;
    /// [`count`].
    async fn events(&mut self, bucket: &str, window: i64, now: i64) -> Result<i64, sqlx::Error>;
}

impl Places for Conn {
    async fn take_place(
        &mut self,
        bucket: &str,
        max: u32,
        window: i64,
        now: i64,
    ) -> Result<Option<Slot>, sqlx::Error> {
        Ok(take(self, bucket, max, window, now, Refused::Forgotten)
            .await?
            .ok())
    }

    async fn events(&mut self, bucket: &str, window: i64, now: i64) -> Result<i64, sqlx::Error> {
        count(self, bucket, window, now).await
    }
}

/// Each step one call to SQLite on the writer's thread; the futures are ready at once.
impl Places for writer::Tx<'_> {
    async fn take_place(
        &mut self,
        bucket: &str,
        max: u32,
        window: i64,
        now: i64,
    ) -> Result<Option<Slot>, sqlx::Error> {
        let mut b = Batch::new();
        let shard = add_counted_in(&mut b, bucket, window, now);
        let slot = Slot {
            bucket: bucket.to_string(),
            at: now,
            shard,
            count: first_count(self, b)?,
        };
        if slot.count <= i64::from(max) {
            return Ok(Some(slot));
        }
        let mut back = Batch::new();
        release_in(&mut back, &slot);
        self.run(back)?;
        Ok(None)
    }

    async fn events(&mut self, bucket: &str, window: i64, now: i64) -> Result<i64, sqlx::Error> {
        let mut b = Batch::new();
        count_in(&mut b, bucket, window, now);
        first_count(self, b)
    }
}

/// Runs a batch in the writer's transaction; the count its first row holds.
fn first_count(tx: &mut writer::Tx<'_>, b: Batch) -> Result<i64, sqlx::Error> {
    let rows = tx.run(b)?;
    Ok(rows
        .first()
        .ok_or(sqlx::Error::RowNotFound)?
        .int(0)?
        .unwrap_or(0))
}

/// Takes back an event counted by [`take`] (the guarded work turned out not to be a failure).
pub async fn release(c: &mut Conn, slot: &Slot) -> Result<(), sqlx::Error> {
    sqlx::query(TAKE_BACK)
        .bind(&slot.bucket)
        .bind(slot.at)
        .bind(slot.shard)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// [`release`] as a statement of a batch.
pub fn release_in(b: &mut Batch, slot: &Slot) {
    take_back_in(b, &slot.bucket, slot.at, slot.shard);
}

fn take_back_in(b: &mut Batch, bucket: &str, at: i64, shard: i64) {
    b.push(TAKE_BACK, vec![bucket.into(), at.into(), shard.into()]);
}

/// Forgets every event of a bucket (a success ends a run of consecutive failures).
pub async fn clear(c: &mut Conn, bucket: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM rate_counts WHERE bucket = $1")
        .bind(bucket)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Is the bucket already full (without recording anything)? `Some`: the Retry-After seconds.
async fn check(
    c: &mut Conn,
    bucket: &str,
    max: u32,
    window: i64,
    now: i64,
) -> Result<Option<u64>, sqlx::Error> {
    if count(c, bucket, window, now).await? < i64::from(max) {
        return Ok(None);
    }
    retry_after(c, bucket, max, window, now).await.map(Some)
}

/// Records an event without a cap (failures counted for a later decision).
pub async fn record(c: &mut Conn, bucket: &str, now: i64) -> Result<(), sqlx::Error> {
    add(c, bucket, now).await.map(drop)
}

/// [`record`] as a statement of a batch.
pub fn queue_record(b: &mut Batch, bucket: &str, now: i64) {
    add_in(b, bucket, now);
}

/// Makes the rest of the caller's transaction the only one working on `bucket` until it ends:
/// a transaction-scoped advisory lock on PostgreSQL, where several connections write at once;
/// nothing on SQLite, whose writes go through one writer.
pub async fn serialize(c: &mut Conn, bucket: &str) -> Result<(), sqlx::Error> {
    if c.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT 1 FROM pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(bucket)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// How many events `bucket` holds in the last `window` seconds.
pub async fn count(c: &mut Conn, bucket: &str, window: i64, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(COUNT)
        .bind(bucket)
        .bind(now - window)
        .fetch_one(&mut *c)
        .await
}

/// When the window will have room again: when the newest second that still keeps it full (the
/// second holding the `max`-th newest event) falls out. `$1` bucket, `$2` the window's start,
/// `$3` max.
const RETRY_AFTER: &str = "SELECT at FROM ( \
       SELECT at, SUM(n) OVER (ORDER BY at DESC) AS newer \
       FROM (SELECT at, CAST(SUM(n) AS BIGINT) AS n FROM rate_counts \
             WHERE bucket = $1 AND at > $2 GROUP BY at) per_second \
     ) running WHERE newer >= $3 ORDER BY at DESC LIMIT 1";

fn retry_args(bucket: &str, max: u32, window: i64, now: i64) -> Vec<Value> {
    vec![
        bucket.into(),
        (now - window).into(),
        i64::from(max.max(1)).into(),
    ]
}

/// Seconds until the window has room, from the second [`RETRY_AFTER`] found.
fn frees_in(nth_newest: Option<i64>, window: i64, now: i64) -> u64 {
    let frees_at = nth_newest.unwrap_or(now) + window;
    u64::try_from(frees_at - now).unwrap_or(1).max(1)
}

async fn retry_after(
    c: &mut Conn,
    bucket: &str,
    max: u32,
    window: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut b = Batch::new();
    b.push(RETRY_AFTER, retry_args(bucket, max, window, now));
    let rows = b.run(c).await?;
    let nth_newest: Option<i64> = rows.first().map(|r| r.try_get::<i64, _>(0)).transpose()?;
    Ok(frees_in(nth_newest, window, now))
}

/// How long counts are kept: the longest window in use (a day), and a minute to spare.
const KEEP_SECS: i64 = 86_400 + 60;

/// Where a batched [`prune`] goes on from: the last key it deleted. The database compares keys
/// itself (text order is its collation's), so a batch never skips a row another batch left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneCursor {
    bucket: String,
    at: i64,
    shard: i64,
}

impl Default for PruneCursor {
    /// Before every key: no bucket name sorts before the empty one.
    fn default() -> Self {
        Self {
            bucket: String::new(),
            at: i64::MIN,
            shard: i64::MIN,
        }
    }
}

/// Drops up to `limit` counts that fell out of every window, in key order after `after`; returns
/// how many went and where the next batch starts (`None`: nothing older is left past `after`).
/// Bounded batches in key order keep each statement short (SQLite's write lock) and each scan
/// where the last one stopped, however large a flood made the table.
pub async fn prune(
    c: &mut Conn,
    now: i64,
    after: &PruneCursor,
    limit: i64,
) -> Result<(u64, Option<PruneCursor>), sqlx::Error> {
    let before = now - KEEP_SECS;
    let last = sqlx::query(
        "SELECT bucket, at, shard FROM rate_counts \
         WHERE (bucket, at, shard) > ($1, $2, $3) AND at < $4 \
         ORDER BY bucket, at, shard LIMIT 1 OFFSET $5",
    )
    .bind(&after.bucket)
    .bind(after.at)
    .bind(after.shard)
    .bind(before)
    .bind(limit.max(1) - 1)
    .fetch_optional(&mut *c)
    .await?;
    let Some(row) = last else {
        let r = sqlx::query(
            "DELETE FROM rate_counts WHERE (bucket, at, shard) > ($1, $2, $3) AND at < $4",
        )
        .bind(&after.bucket)
        .bind(after.at)
        .bind(after.shard)
        .bind(before)
        .execute(&mut *c)
        .await?;
        return Ok((r.rows_affected(), None));
    };
    let next = PruneCursor {
        bucket: row.try_get("bucket")?,
        at: row.try_get("at")?,
        shard: row.try_get("shard")?,
    };
    let r = sqlx::query(
        "DELETE FROM rate_counts WHERE (bucket, at, shard) > ($1, $2, $3) \
         AND (bucket, at, shard) <= ($4, $5, $6) AND at < $7",
    )
    .bind(&after.bucket)
    .bind(after.at)
    .bind(after.shard)
    .bind(&next.bucket)
    .bind(next.at)
    .bind(next.shard)
    .bind(before)
    .execute(&mut *c)
    .await?;
    Ok((r.rows_affected(), Some(next)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::Store;

    const NOW: i64 = 1_800_000_000;

    async fn store() -> Store {
        let dir = std::env::temp_dir().join(format!("portal-limits-{:x}", rand::random::<u64>()));
        Store::open(&format!("sqlite://{}/portal.db?mode=rwc", dir.display()))
            .await
            .unwrap()
    }

    /// `hits` in one batch ends as `check` and `hit` one after another would: the caps before
    /// the refusing one keep this request's event, the refusing one and those after it do not.
    #[tokio::test]
    async fn a_batch_of_caps_keeps_the_events_the_sequence_would_keep() {
        let store = store().await;
        let mut c = store.conn().await.unwrap();
        let cap = |name: &'static str, max, counts| Cap {
            name,
            bucket: name.to_string(),
            max,
            window: 3600,
            counts,
        };
        let caps = vec![cap("block", 1, false), cap("a", 2, true), cap("b", 1, true)];
        assert_eq!(hits(&store, caps.clone(), NOW).await.unwrap(), Ok(()));
        // b is full: a keeps its second event, b's is taken back.
        let refused = hits(&store, caps.clone(), NOW + 10)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!((refused.name, refused.retry_after), ("b", 3590));
        assert_eq!(count(&mut c, "a", 3600, NOW + 10).await.unwrap(), 2);
        assert_eq!(count(&mut c, "b", 3600, NOW + 10).await.unwrap(), 1);
        // a is full: neither a nor b keeps an event.
        assert_eq!(
            hits(&store, caps.clone(), NOW + 20)
                .await
                .unwrap()
                .unwrap_err()
                .name,
            "a"
        );
        assert_eq!(count(&mut c, "a", 3600, NOW + 20).await.unwrap(), 2);
        assert_eq!(count(&mut c, "b", 3600, NOW + 20).await.unwrap(), 1);
        // A check refuses once its bucket is full, before anything is counted.
        record(&mut c, "block", NOW + 3650).await.unwrap();
        let refused = hits(&store, caps.clone(), NOW + 3700)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!((refused.name, refused.retry_after), ("block", 3550));
        assert_eq!(count(&mut c, "a", 3600, NOW + 3700).await.unwrap(), 0);
        // Once the windows have moved on, everything has room again.
        assert_eq!(
            hits(&store, caps.clone(), NOW + 7300).await.unwrap(),
            Ok(())
        );
        assert_eq!(count(&mut c, "a", 3600, NOW + 7300).await.unwrap(), 1);
    }
}
