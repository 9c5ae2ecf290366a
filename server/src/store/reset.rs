//! Reset flows (one per browser pass) and their codes. Codes, links and flow tokens are stored
//! only as keyed hashes; consuming one is a conditional UPDATE, so exactly one request wins.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::batch::{AnyQuery, Batch};
use super::{decode, Backend, Conn};
use crate::domain::reset::{FlowStep, FlowTimes};
use crate::store::outbox::Channel;

#[derive(Debug, Clone)]
pub struct Flow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub channel: Channel,
    pub destination: String,
    pub lang: String,
    pub step: FlowStep,
    pub expires_at: i64,
    pub resend_count: u32,
    pub next_resend_at: i64,
    pub grant_expires_at: Option<i64>,
    /// The keyed hash of the identifier the flow was started with (absent on older flows).
    pub ident_key: Option<String>,
}

fn flow_from(r: &AnyRow) -> Result<Flow, sqlx::Error> {
    Ok(Flow {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        channel: decode(r, "channel", Channel::parse)?,
        destination: r.try_get("destination")?,
        lang: r.try_get("lang")?,
        step: decode(r, "step", FlowStep::parse)?,
        expires_at: r.try_get("expires_at")?,
        resend_count: u32::try_from(r.try_get::<i64, _>("resend_count")?).unwrap_or(0),
        next_resend_at: r.try_get("next_resend_at")?,
        grant_expires_at: r.try_get("grant_expires_at")?,
        ident_key: r.try_get("ident_key")?,
    })
}

impl Flow {
    /// What its standing is decided by (`domain::reset::standing`).
    pub fn times(&self) -> FlowTimes {
        FlowTimes {
            step: self.step,
            expires_at: self.expires_at,
            grant_expires_at: self.grant_expires_at,
        }
    }
}

const FLOW_COLS: &str = "id, user_id, channel, destination, lang, step, expires_at, resend_count, next_resend_at, grant_expires_at, ident_key";

pub struct NewFlow<'a> {
    pub token_hash: &'a str,
    pub user_id: Option<i64>,
    pub channel: Channel,
    /// The masked destination shown on the page (never the full address).
    pub destination: &'a str,
    pub lang: &'a str,
    pub expires_at: i64,
    pub next_resend_at: i64,
    pub ident_key: &'a str,
}

/// Queues a new flow's row; it yields one row, the flow's id. A code queued after it in the same
/// batch finds it by its token ([`FlowRef::New`]).
pub fn insert_flow(b: &mut Batch, f: &NewFlow<'_>, now: i64) {
    b.push(
        "INSERT INTO reset_flows (token_hash, user_id, channel, destination, lang, step, created_at, expires_at, next_resend_at, ident_key) \
         VALUES ($1, $2, $3, $4, $5, 'verify', $6, $7, $8, $9) RETURNING id",
        vec![
            f.token_hash.into(),
            f.user_id.into(),
            f.channel.as_str().into(),
            f.destination.into(),
            f.lang.into(),
            now.into(),
            f.expires_at.into(),
            f.next_resend_at.into(),
            f.ident_key.into(),
        ],
    );
}

/// The row `q` finds, if any, read by `from`.
async fn optional<T>(
    c: &mut Conn,
    q: AnyQuery<'_>,
    from: fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Option<T>, sqlx::Error> {
    let r = q.fetch_optional(&mut *c).await?;
    r.as_ref().map(from).transpose()
}

pub async fn flow_by_token(c: &mut Conn, token_hash: &str) -> Result<Option<Flow>, sqlx::Error> {
    let sql = format!("SELECT {FLOW_COLS} FROM reset_flows WHERE token_hash = $1");
    optional(c, sqlx::query(&sql).bind(token_hash), flow_from).await
}

pub async fn flow_by_id(c: &mut Conn, id: i64) -> Result<Option<Flow>, sqlx::Error> {
    let sql = format!("SELECT {FLOW_COLS} FROM reset_flows WHERE id = $1");
    optional(c, sqlx::query(&sql).bind(id), flow_from).await
}

/// After a resend: the new code's lifetime and the next allowed send.
pub fn flow_resent(b: &mut Batch, id: i64, expires_at: i64, next_resend_at: i64) {
    b.push(
        "UPDATE reset_flows SET resend_count = resend_count + 1, expires_at = $1, next_resend_at = $2 WHERE id = $3",
        vec![expires_at.into(), next_resend_at.into(), id.into()],
    );
}

/// The code was verified: the flow now holds a short-lived grant to set the password.
pub fn grant(b: &mut Batch, id: i64, grant_expires_at: i64) {
    b.push(
        "UPDATE reset_flows SET step = 'new_password', grant_expires_at = $1 WHERE id = $2",
        vec![grant_expires_at.into(), id.into()],
    );
}

/// Consumes the grant: true for exactly one caller while it is live.
pub async fn consume_grant(c: &mut Conn, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE reset_flows SET step = 'done', completed_at = $1 \
         WHERE id = $2 AND step = 'new_password' AND grant_expires_at > $1",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn finish_flow(c: &mut Conn, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE reset_flows SET step = 'done', completed_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Ends every unfinished flow of a user, grants included (the password changed elsewhere): the
/// browsers holding them find no flow and start again.
pub async fn end_user_flows(c: &mut Conn, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE reset_flows SET grant_expires_at = NULL, expires_at = 0 \
         WHERE user_id = $1 AND step <> 'done'",
    )
    .bind(user_id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Code {
    pub id: i64,
    pub flow_id: i64,
    pub user_id: Option<i64>,
    pub code_hash: String,
    pub expires_at: i64,
    pub attempts: u32,
    pub consumed: bool,
    pub revoked: bool,
}

fn code_from(r: &AnyRow) -> Result<Code, sqlx::Error> {
    Ok(Code {
        id: r.try_get("id")?,
        flow_id: r.try_get("flow_id")?,
        user_id: r.try_get("user_id")?,
        code_hash: r.try_get("code_hash")?,
        expires_at: r.try_get("expires_at")?,
        attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        consumed: r.try_get::<Option<i64>, _>("consumed_at")?.is_some(),
        revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
    })
}

const CODE_COLS: &str =
    "id, flow_id, user_id, code_hash, expires_at, attempts, consumed_at, revoked_at";

pub struct NewCode<'a> {
    pub flow: FlowRef<'a>,
    pub user_id: Option<i64>,
    pub channel: Channel,
    pub code_hash: &'a str,
    pub link_hash: &'a str,
    pub expires_at: i64,
    /// The identity key of the flow (decoy codes are replaced per identifier).
    pub ident_key: &'a str,
}

/// The flow a code belongs to.
#[derive(Clone, Copy)]
pub enum FlowRef<'a> {
    Id(i64),
    /// A flow inserted earlier in the same batch, by its token hash.
    New(&'a str),
}

/// Queues a new code after killing every earlier live code of the same user (the seed: a new
/// email makes the previous link invalid) or, for a decoy, of the same identifier.
///
/// On PostgreSQL two concurrent requests would each revoke what they can see and each insert:
/// the user's row (a decoy's identifier) is locked first, so the second waits and then revokes
/// the first's code.
/// SQLite's one writer already has them take turns (every issue is a `BEGIN IMMEDIATE`
/// transaction). The partial unique index `reset_codes_one_live_per_user` makes the rule a
/// constraint besides.
pub fn replace_code(b: &mut Batch, backend: Backend, n: &NewCode<'_>, now: i64) {
    match (n.user_id, backend) {
        // A column that is no key: rewriting the primary key made SQLite check every table
        // that references users for the old key, scanning reset_flows in full on every code.
        (Some(uid), Backend::Postgres) => {
            b.push(
                "UPDATE users SET status = status WHERE id = $1",
                vec![uid.into()],
            );
        }
        // A decoy has no user row: its identifier's key is locked instead, or two concurrent
        // decoys for one unknown address would each find no live code to kill and both stay
        // live, which a real account's never do. OFFSET 1: the lock is taken, no row returned.
        (None, Backend::Postgres) => {
            b.push(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0)) OFFSET 1",
                vec![format!("decoy:{}", n.ident_key).into()],
            );
        }
        (_, Backend::Sqlite) => {}
    }
    // A decoy's new code kills the earlier decoy codes of the same identifier, in any flow, as a
    // real user's kills the user's: hidden mode answers alike afterwards too. Each finds the live
    // code through an index of live codes only, so neither walks its history (migration 0007).
    match n.user_id {
        Some(uid) => b.push(REVOKE_USER_CODES, vec![now.into(), uid.into()]),
        None => b.push(REVOKE_DECOY_CODES, vec![now.into(), n.ident_key.into()]),
    };
    let (sql, flow) = match n.flow {
        FlowRef::Id(id) => (INSERT_CODE, id.into()),
        FlowRef::New(token_hash) => (INSERT_CODE_OF_NEW_FLOW, token_hash.into()),
    };
    b.push(
        sql,
        vec![
            flow,
            n.user_id.into(),
            n.channel.as_str().into(),
            n.code_hash.into(),
            n.link_hash.into(),
            now.into(),
            n.expires_at.into(),
            // Kept on decoy codes only: what their index is keyed by.
            n.user_id.is_none().then_some(n.ident_key).into(),
        ],
    );
}

const INSERT_CODE: &str = "INSERT INTO reset_codes (flow_id, user_id, channel, code_hash, link_hash, created_at, expires_at, ident_key) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const INSERT_CODE_OF_NEW_FLOW: &str = "INSERT INTO reset_codes (flow_id, user_id, channel, code_hash, link_hash, created_at, expires_at, ident_key) \
     VALUES ((SELECT id FROM reset_flows WHERE token_hash = $1), $2, $3, $4, $5, $6, $7, $8)";

/// The newest code of a flow, live or not.
pub async fn latest_code(c: &mut Conn, flow_id: i64) -> Result<Option<Code>, sqlx::Error> {
    let sql =
        format!("SELECT {CODE_COLS} FROM reset_codes WHERE flow_id = $1 ORDER BY id DESC LIMIT 1");
    optional(c, sqlx::query(&sql).bind(flow_id), code_from).await
}

pub async fn code_by_link(c: &mut Conn, link_hash: &str) -> Result<Option<Code>, sqlx::Error> {
    let sql = format!("SELECT {CODE_COLS} FROM reset_codes WHERE link_hash = $1");
    optional(c, sqlx::query(&sql).bind(link_hash), code_from).await
}

/// Counts one wrong guess, unless the code is already dead: yields one row, the attempts used so
/// far, or none when the code was dead.
pub fn wrong_guess_in(b: &mut Batch, code_id: i64, max: u32) {
    b.push(
        "UPDATE reset_codes SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2 \
         AND consumed_at IS NULL AND revoked_at IS NULL RETURNING attempts",
        vec![code_id.into(), i64::from(max).into()],
    );
}

/// Consumes a live code: true for exactly one caller.
pub async fn consume_code(
    c: &mut Conn,
    code_id: i64,
    max_attempts: u32,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let consumed: Option<i64> = sqlx::query_scalar(CONSUME_CODE)
        .bind(now)
        .bind(code_id)
        .bind(i64::from(max_attempts))
        .fetch_optional(&mut *c)
        .await?;
    Ok(consumed.is_some())
}

/// [`consume_code`] as a statement of a batch: it yields one row (the code's id) when it took
/// the code, none when the code was no longer live.
pub fn consume_code_in(b: &mut Batch, code_id: i64, max_attempts: u32, now: i64) {
    let args = vec![now.into(), code_id.into(), i64::from(max_attempts).into()];
    b.push(CONSUME_CODE, args);
}

const CONSUME_CODE: &str =
    "UPDATE reset_codes SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL \
     AND revoked_at IS NULL AND expires_at > $1 AND attempts < $3 RETURNING id";

/// Kills every live decoy code of an identifier (the decoy's guessing block).
pub async fn revoke_decoy_codes(
    c: &mut Conn,
    ident_key: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(REVOKE_DECOY_CODES)
        .bind(now)
        .bind(ident_key)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The live decoy codes of an identifier, through the index of live decoy codes
/// (`reset_codes_live_decoy`).
pub const REVOKE_DECOY_CODES: &str = "UPDATE reset_codes SET revoked_at = $1 \
     WHERE ident_key = $2 AND user_id IS NULL AND consumed_at IS NULL AND revoked_at IS NULL";

/// The live codes of a user, through `reset_codes_one_live_per_user`.
pub const REVOKE_USER_CODES: &str = "UPDATE reset_codes SET revoked_at = $1 \
     WHERE user_id = $2 AND consumed_at IS NULL AND revoked_at IS NULL";

pub async fn revoke_user_codes(c: &mut Conn, user_id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(REVOKE_USER_CODES)
        .bind(now)
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Deletes up to `limit` codes, in id order after `after`, that died (expired, used or replaced)
/// before `dead_before`, which the caller keeps at or before now: a live code expires after now,
/// so it never matches. Returns the ids deleted. (A link is a column of its code: it goes too.)
pub async fn prune_codes(
    c: &mut Conn,
    dead_before: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM reset_codes WHERE id IN ( \
           SELECT id FROM reset_codes WHERE id > $1 \
             AND (expires_at < $2 OR consumed_at < $2 OR revoked_at < $2) \
           ORDER BY id LIMIT $3) \
         RETURNING id",
    )
    .bind(after)
    .bind(dead_before)
    .bind(limit)
    .fetch_all(&mut *c)
    .await
}

/// Deletes up to `limit` flows, in id order after `after`, whose every deadline passed before
/// `dead_before`: the code's expiry plus `grant_window` (the flow still answers that long, see
/// routes/reset.rs), the grant, the completion. A flow that still has a code row is kept, so
/// nothing a live link points at goes ([`prune_codes`] runs first and takes the dead ones).
pub async fn prune_flows(
    c: &mut Conn,
    dead_before: i64,
    grant_window: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM reset_flows WHERE id IN ( \
           SELECT f.id FROM reset_flows f WHERE f.id > $1 \
             AND f.expires_at + $4 < $2 \
             AND COALESCE(f.grant_expires_at, 0) < $2 \
             AND COALESCE(f.completed_at, 0) < $2 \
             AND NOT EXISTS (SELECT 1 FROM reset_codes k WHERE k.flow_id = f.id) \
           ORDER BY f.id LIMIT $3) \
         RETURNING id",
    )
    .bind(after)
    .bind(dead_before)
    .bind(limit)
    .bind(grant_window)
    .fetch_all(&mut *c)
    .await
}
