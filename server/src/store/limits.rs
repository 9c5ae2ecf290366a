//! Sliding-window rate limits kept in the database, so they hold across every server instance.
//!
//! A hit is recorded first and counted second: two instances racing for the last slot both see
//! each other's row and both refuse, so a cap can be under-used under a race, never exceeded.

use super::Conn;

/// The outcome of [`hit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Refused; the caller may try again after this many seconds.
    Refused {
        retry_after: u64,
    },
}

/// Records one event in `bucket` and allows it when at most `max` events fall in the last
/// `window` seconds; a refused event is removed again so refusals do not extend the block.
pub async fn hit(
    c: &mut Conn,
    bucket: &str,
    max: u32,
    window: i64,
    now: i64,
) -> Result<Verdict, sqlx::Error> {
    let id: i64 =
        sqlx::query_scalar("INSERT INTO rate_events (bucket, at) VALUES ($1, $2) RETURNING id")
            .bind(bucket)
            .bind(now)
            .fetch_one(&mut *c)
            .await?;
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM rate_events WHERE bucket = $1 AND at > $2")
            .bind(bucket)
            .bind(now - window)
            .fetch_one(&mut *c)
            .await?;
    if count <= i64::from(max) {
        return Ok(Verdict::Allowed);
    }
    sqlx::query("DELETE FROM rate_events WHERE id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(Verdict::Refused {
        retry_after: retry_after(c, bucket, max, window, now).await?,
    })
}

/// Is the bucket already full (without recording anything)?
pub async fn check(
    c: &mut Conn,
    bucket: &str,
    max: u32,
    window: i64,
    now: i64,
) -> Result<Verdict, sqlx::Error> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM rate_events WHERE bucket = $1 AND at > $2")
            .bind(bucket)
            .bind(now - window)
            .fetch_one(&mut *c)
            .await?;
    if count < i64::from(max) {
        Ok(Verdict::Allowed)
    } else {
        Ok(Verdict::Refused {
            retry_after: retry_after(c, bucket, max, window, now).await?,
        })
    }
}

/// Records an event without a cap (failures counted for a later decision).
pub async fn record(c: &mut Conn, bucket: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO rate_events (bucket, at) VALUES ($1, $2)")
        .bind(bucket)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn count(c: &mut Conn, bucket: &str, window: i64, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM rate_events WHERE bucket = $1 AND at > $2")
        .bind(bucket)
        .bind(now - window)
        .fetch_one(&mut *c)
        .await
}

/// When the window will have room again: when the oldest event that keeps it full falls out.
async fn retry_after(
    c: &mut Conn,
    bucket: &str,
    max: u32,
    window: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let nth_newest: Option<i64> = sqlx::query_scalar(
        "SELECT at FROM rate_events WHERE bucket = $1 AND at > $2 ORDER BY at DESC LIMIT 1 OFFSET $3",
    )
    .bind(bucket)
    .bind(now - window)
    .bind(i64::from(max.saturating_sub(1)))
    .fetch_optional(&mut *c)
    .await?;
    let frees_at = nth_newest.unwrap_or(now) + window;
    Ok(u64::try_from(frees_at - now).unwrap_or(1).max(1))
}

/// Drops events older than the longest window in use (a day).
pub async fn prune(c: &mut Conn, now: i64) -> Result<u64, sqlx::Error> {
    let r = sqlx::query("DELETE FROM rate_events WHERE at < $1")
        .bind(now - 86_400 - 60)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected())
}
