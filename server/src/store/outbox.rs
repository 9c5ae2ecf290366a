//! The notification outbox: messages written in the same transaction as what they announce, sent
//! later by the worker, claimed with a lease so several instances never send one twice at once.

use sqlx::Row;

use super::Conn;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Unique per logical message; also its Message-ID, so a receiver can drop a duplicate
    /// delivery after a crash between "accepted" and "marked sent".
    pub idempotency_key: String,
    pub channel: Channel,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub account_id: Option<i64>,
    pub user_id: Option<i64>,
}

pub async fn enqueue(c: &mut Conn, m: &NewMessage, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO outbox (idempotency_key, channel, recipient, subject, body_text, body_html, account_id, user_id, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(&m.idempotency_key)
    .bind(m.channel.as_str())
    .bind(&m.recipient)
    .bind(&m.subject)
    .bind(&m.body_text)
    .bind(&m.body_html)
    .bind(m.account_id)
    .bind(m.user_id)
    .bind(now)
    .fetch_one(&mut *c)
    .await
}

/// A message claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub idempotency_key: String,
    pub channel: Channel,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub account_id: Option<i64>,
    pub user_id: Option<i64>,
    /// Attempts including this one.
    pub attempts: u32,
}

/// Claims the oldest due message for `lease_secs`. The conditional UPDATE re-checks the lease, so
/// when two workers pick the same row only one gets it back (PostgreSQL re-evaluates the WHERE
/// on the locked row; SQLite serialises writers).
pub async fn claim(
    c: &mut Conn,
    now: i64,
    lease_secs: i64,
) -> Result<Option<Claimed>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE outbox SET locked_until = $1, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL \
                     AND next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until <= $2) \
                     ORDER BY next_attempt_at, id LIMIT 1) \
         AND sent_at IS NULL AND failed_at IS NULL AND (locked_until IS NULL OR locked_until <= $2) \
         RETURNING id, idempotency_key, channel, recipient, subject, body_text, body_html, account_id, user_id, attempts",
    )
    .bind(now + lease_secs)
    .bind(now)
    .fetch_optional(&mut *c)
    .await?;
    row.map(|r| {
        let channel: String = r.try_get("channel")?;
        Ok(Claimed {
            id: r.try_get("id")?,
            idempotency_key: r.try_get("idempotency_key")?,
            channel: if channel == "sms" {
                Channel::Sms
            } else {
                Channel::Email
            },
            recipient: r.try_get("recipient")?,
            subject: r.try_get("subject")?,
            body_text: r.try_get("body_text")?,
            body_html: r.try_get("body_html")?,
            account_id: r.try_get("account_id")?,
            user_id: r.try_get("user_id")?,
            attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        })
    })
    .transpose()
}

/// Sent: the bodies (which may hold a code) are wiped, the row stays as a record.
pub async fn mark_sent(c: &mut Conn, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET sent_at = $1, locked_until = NULL, body_text = '', body_html = '', last_error = NULL WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn mark_retry(
    c: &mut Conn,
    id: i64,
    next_attempt_at: i64,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox SET next_attempt_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3")
        .bind(next_attempt_at)
        .bind(error)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn mark_failed(c: &mut Conn, id: i64, now: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET failed_at = $1, locked_until = NULL, last_error = $2, body_text = '', body_html = '' WHERE id = $3",
    )
    .bind(now)
    .bind(error)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Gives a claimed message back (shutdown while it was in hand).
pub async fn release(c: &mut Conn, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox SET locked_until = NULL, attempts = attempts - 1 WHERE id = $1 AND sent_at IS NULL")
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Pending messages and the age of the oldest, for metrics.
pub async fn depth(c: &mut Conn, now: i64) -> Result<(i64, i64), sqlx::Error> {
    let r = sqlx::query("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")
        .fetch_one(&mut *c)
        .await?;
    let n: i64 = r.try_get("n")?;
    let oldest: Option<i64> = r.try_get("oldest")?;
    Ok((n, oldest.map(|o| now - o).unwrap_or(0)))
}

/// The earliest time a pending message becomes due, so the worker can sleep until then.
pub async fn next_due(c: &mut Conn) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(CASE WHEN locked_until IS NOT NULL AND locked_until > next_attempt_at THEN locked_until ELSE next_attempt_at END) \
         FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL",
    )
    .fetch_one(&mut *c)
    .await
}
