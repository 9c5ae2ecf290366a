//! The notification outbox: messages written in the same transaction as what they announce, sent
//! later by the worker, claimed with a lease so several instances never send one twice at once.
//!
//! A message's content (subject and bodies, which carry live codes and links) is stored only
//! sealed under a key derived from `PORTAL_SECRET`, and erased once the message is sent or given
//! up: a database backup, a copy of SQLite's WAL or a replica shows who was written to, never
//! what (OWASP Forgot Password Cheat Sheet: reset tokens are secrets at rest too). The key never
//! leaves this module's callers' `Keys`, so sealing and opening happen here and nowhere else.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::batch::{Batch, Value};
use super::writer::Row;
use super::{Conn, Store};
use crate::crypto::Keys;
pub use app::wire::Channel;

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

/// What is sealed: everything a message says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Content {
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

/// The sealed content is bound to its row's key, channel and recipient, so a payload copied into
/// another row (to send someone else's code to an address of one's choosing) does not open.
fn context<'a>(idempotency_key: &'a str, channel: Channel, recipient: &'a str) -> [&'a str; 4] {
    ["outbox-v1", idempotency_key, channel.as_str(), recipient]
}

/// A message sealed and ready to insert: what [`seal`] makes before a transaction opens, so the
/// encryption is not done while SQLite's one write lock is held.
pub struct Sealed {
    idempotency_key: String,
    channel: Channel,
    recipient: String,
    payload: String,
    account_id: Option<i64>,
    user_id: Option<i64>,
}

/// Seals `m`'s content with `keys`, bound to its key, channel and recipient.
pub fn seal(keys: &Keys, m: NewMessage) -> Result<Sealed, sqlx::Error> {
    let content = Content {
        subject: m.subject,
        body_text: m.body_text,
        body_html: m.body_html,
    };
    let plain = secrecy::zeroize::Zeroizing::new(
        serde_json::to_vec(&content).map_err(|e| sqlx::Error::Encode(Box::new(e)))?,
    );
    let sealed = keys
        .seal(
            &context(&m.idempotency_key, m.channel, &m.recipient),
            &plain,
        )
        .map_err(|e| sqlx::Error::Encode(e.into()))?;
    Ok(Sealed {
        payload: base64::engine::general_purpose::STANDARD.encode(sealed),
        idempotency_key: m.idempotency_key,
        channel: m.channel,
        recipient: m.recipient,
        account_id: m.account_id,
        user_id: m.user_id,
    })
}

fn open(
    keys: &Keys,
    key: &str,
    channel: Channel,
    recipient: &str,
    payload: &str,
) -> Option<Content> {
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .ok()?;
    let plain = keys.open(&context(key, channel, recipient), &sealed)?;
    serde_json::from_slice(&plain).ok()
}

/// Queues `m`, its content sealed with `keys`.
pub async fn enqueue(
    c: &mut Conn,
    keys: &Keys,
    m: NewMessage,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut b = Batch::new();
    insert(&mut b, seal(keys, m)?, now);
    b.run(c).await.map(drop)
}

/// Queues a message sealed beforehand.
pub fn insert(b: &mut Batch, m: Sealed, now: i64) {
    // The plaintext columns predate the payload (migration 0003) and stay empty.
    b.push(
        "INSERT INTO outbox (idempotency_key, channel, recipient, subject, body_text, body_html, payload, account_id, user_id, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, '', '', '', $4, $5, $6, $7, $7)",
        vec![
            m.idempotency_key.into(),
            m.channel.as_str().into(),
            m.recipient.into(),
            m.payload.into(),
            m.account_id.into(),
            m.user_id.into(),
            now.into(),
        ],
    );
}

/// A message claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub idempotency_key: String,
    pub channel: Channel,
    pub recipient: String,
    /// `None` when the payload does not open: sealed under another `PORTAL_SECRET`, or altered.
    pub content: Option<Content>,
    pub account_id: Option<i64>,
    pub user_id: Option<i64>,
    /// Attempts including this one.
    pub attempts: u32,
}

/// Claims up to `limit` of the oldest due messages for `lease_secs`, in one statement: the
/// worker takes a batch at a time, so a burst of codes costs the database a claim per batch, not
/// per message. The conditional UPDATE re-checks each row's lease, so when two workers pick the
/// same rows each row goes to one of them (PostgreSQL re-evaluates the WHERE on a row another
/// transaction locked; SQLite serialises writers). Oldest first.
pub async fn claim(
    store: &Store,
    keys: &Keys,
    now: i64,
    lease_secs: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let mut b = Batch::new();
    b.push(
        "UPDATE outbox SET locked_until = $1, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL \
                      AND next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until <= $2) \
                      ORDER BY next_attempt_at, id LIMIT $3) \
         AND sent_at IS NULL AND failed_at IS NULL AND (locked_until IS NULL OR locked_until <= $2) \
         RETURNING id, idempotency_key, channel, recipient, payload, subject, body_text, body_html, account_id, user_id, attempts",
        vec![(now + lease_secs).into(), now.into(), limit.into()],
    );
    let rows = store.apply(b, |_| true).await?.unwrap_or_default();
    // Opened here, by the worker, not in the writer's turn.
    let mut claimed = rows
        .iter()
        .map(|r| claimed_from(keys, r))
        .collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|m| m.id);
    Ok(claimed)
}

/// A claimed row, its columns in the order of the claim's `RETURNING`.
fn claimed_from(keys: &Keys, r: &Row) -> Result<Claimed, sqlx::Error> {
    let text = |i| r.text(i).map(Option::unwrap_or_default);
    let channel = text(2)?;
    let channel = Channel::parse(&channel).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: "channel".into(),
        source: format!("unexpected value {channel:?}").into(),
    })?;
    let idempotency_key = text(1)?;
    let recipient = text(3)?;
    let content = match r.text(4)? {
        Some(p) => open(keys, &idempotency_key, channel, &recipient, &p),
        // Queued before payloads were sealed: sent as it was, then erased like the rest.
        None => Some(Content {
            subject: text(5)?,
            body_text: text(6)?,
            body_html: text(7)?,
        }),
    };
    Ok(Claimed {
        id: r.int(0)?.unwrap_or_default(),
        idempotency_key,
        channel,
        recipient,
        content,
        account_id: r.int(8)?,
        user_id: r.int(9)?,
        attempts: r
            .int(10)?
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(u32::MAX),
    })
}

/// Pushes `sql`, which ends in `id IN`, with `args` and then the list of `ids` (placeholders both
/// backends read); nothing when `ids` is empty.
fn push_for_ids(b: &mut Batch, sql: &str, mut args: Vec<Value>, ids: &[i64]) {
    if ids.is_empty() {
        return;
    }
    let first = args.len() + 1;
    let list: Vec<String> = (first..first + ids.len())
        .map(|i| format!("${i}"))
        .collect();
    args.extend(ids.iter().map(|&id| Value::from(id)));
    b.push(format!("{sql} ({})", list.join(", ")), args);
}

/// Sent, each of `ids` (one statement for a batch): the content (which may hold a code) is
/// erased, the row stays as a record.
pub fn mark_sent_in(b: &mut Batch, ids: &[i64], now: i64) {
    push_for_ids(
        b,
        "UPDATE outbox SET sent_at = $1, locked_until = NULL, payload = NULL, subject = '', body_text = '', body_html = '', last_error = NULL WHERE failed_at IS NULL AND id IN",
        vec![now.into()],
        ids,
    );
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

/// Given up: the content is erased as when sent; the error stays for the audit trail.
pub async fn mark_failed(c: &mut Conn, id: i64, now: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET failed_at = $1, locked_until = NULL, last_error = $2, payload = NULL, subject = '', body_text = '', body_html = '' WHERE id = $3 AND sent_at IS NULL",
    )
    .bind(now)
    .bind(error)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Extends the claim on `ids` from `held` (the lease this worker holds) to `until`: a worker still
/// sending its batch keeps it, however slow the relay, so no other worker takes and sends those
/// messages again. Only rows still leased to `held` are extended; the batch yields their ids.
pub fn extend_lease_in(b: &mut Batch, ids: &[i64], held: i64, until: i64) {
    if ids.is_empty() {
        return;
    }
    let list: Vec<String> = (3..3 + ids.len()).map(|i| format!("${i}")).collect();
    let mut args: Vec<Value> = vec![until.into(), held.into()];
    args.extend(ids.iter().map(|&id| Value::from(id)));
    b.push(
        format!(
            "UPDATE outbox SET locked_until = $1 WHERE locked_until = $2 AND sent_at IS NULL \
             AND failed_at IS NULL AND id IN ({}) RETURNING id",
            list.join(", ")
        ),
        args,
    );
}

/// Gives claimed messages back unsent (shutdown came before their turn in the batch).
pub fn release_in(b: &mut Batch, ids: &[i64]) {
    push_for_ids(
        b,
        "UPDATE outbox SET locked_until = NULL, attempts = attempts - 1 WHERE sent_at IS NULL AND id IN",
        Vec::new(),
        ids,
    );
}

/// Pending messages and the age of the oldest, for metrics.
pub async fn depth(c: &mut Conn, now: i64) -> Result<(i64, i64), sqlx::Error> {
    let (n, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL",
    )
    .fetch_one(&mut *c)
    .await?;
    Ok((n, oldest.map(|o| now - o).unwrap_or(0)))
}

/// Deletes up to `limit` messages, in id order after `after`, sent or given up before `before`
/// (their content is already erased; what is left says who was written to). A message still
/// waiting has neither time set and is never matched. Returns the ids deleted.
///
/// A hidden-mode decoy (no recipient) goes as soon as the worker has discarded it: it was never
/// anything but the cost of a real message.
pub async fn prune(
    c: &mut Conn,
    before: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM outbox WHERE id IN ( \
           SELECT id FROM outbox WHERE id > $1 \
             AND (sent_at < $2 OR failed_at < $2 OR (recipient = '' AND sent_at IS NOT NULL)) \
           ORDER BY id LIMIT $3) \
         RETURNING id",
    )
    .bind(after)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *c)
    .await
}
