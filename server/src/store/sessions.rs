//! Sessions: stored by the hash of their token, revocable one by one and all at once.

use super::Conn;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub id: i64,
    pub user_id: i64,
    pub last_seen_at: i64,
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub expires_at: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert(c: &mut Conn, s: &NewSession<'_>, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $3, $4, $5, $6) RETURNING id",
    )
    .bind(s.token_hash)
    .bind(s.user_id)
    .bind(now)
    .bind(s.expires_at)
    .bind(s.ip)
    .bind(s.user_agent)
    .fetch_one(&mut *c)
    .await
}

/// A live session: not revoked, within its absolute lifetime, and used within the idle timeout.
pub async fn live(
    c: &mut Conn,
    token_hash: &str,
    now: i64,
    idle_secs: i64,
) -> Result<Option<Session>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, user_id, last_seen_at FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL \
         AND expires_at > $2 AND last_seen_at > $3",
    )
    .bind(token_hash)
    .bind(now)
    .bind(now - idle_secs)
    .fetch_optional(&mut *c)
    .await
}

pub async fn touch(c: &mut Conn, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn revoke(c: &mut Conn, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Revokes every session of the user but `keep` (the one making the change, when it stays).
pub async fn revoke_all(
    c: &mut Conn,
    user_id: i64,
    keep: Option<i64>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3",
    )
    .bind(now)
    .bind(user_id)
    .bind(keep.unwrap_or(-1))
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected())
}

/// Deletes up to `limit` sessions, in id order after `after`, that ended before `dead_before`:
/// revoked, past their absolute lifetime, or idle longer than `idle_secs`. The caller keeps
/// `dead_before` at or before now, so a live session ([`live`]) never matches. Returns the ids.
pub async fn prune(
    c: &mut Conn,
    dead_before: i64,
    idle_secs: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM sessions WHERE id IN ( \
           SELECT id FROM sessions WHERE id > $1 \
             AND (revoked_at < $2 OR expires_at < $2 OR last_seen_at + $4 < $2) \
           ORDER BY id LIMIT $3) \
         RETURNING id",
    )
    .bind(after)
    .bind(dead_before)
    .bind(limit)
    .bind(idle_secs)
    .fetch_all(&mut *c)
    .await
}
