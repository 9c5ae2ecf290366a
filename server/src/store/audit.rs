//! The audit log of security events: who, what, when, from where.

use app::wire::AuditEvent;
use sqlx::Row;

use super::batch::Batch;
use super::Conn;
use crate::domain::client::Client;

/// One event to record. `kind` is a stable snake_case name ("reset_requested", "sign_in", …).
#[derive(Debug, Clone, Default)]
pub struct Event<'a> {
    pub kind: &'a str,
    pub account_id: Option<i64>,
    pub actor_user_id: Option<i64>,
    pub target_user_id: Option<i64>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub detail: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// An event of `kind` in `account_id`, from the client that made the request.
    pub fn by_client(kind: &'a str, account_id: i64, client: &'a Client) -> Self {
        Self {
            kind,
            account_id: Some(account_id),
            ip: Some(&client.ip),
            user_agent: Some(&client.user_agent),
            ..Default::default()
        }
    }

    /// The same event, done by the user `id`.
    pub fn actor(self, id: i64) -> Self {
        Self {
            actor_user_id: Some(id),
            ..self
        }
    }

    /// The same event, with a detail.
    pub fn detail(self, detail: Option<&'a str>) -> Self {
        Self { detail, ..self }
    }
}

pub async fn record(c: &mut Conn, e: &Event<'_>, now: i64) -> Result<(), sqlx::Error> {
    let mut b = Batch::new();
    queue(&mut b, e, now);
    b.run(c).await.map(drop)
}

/// [`record`] as a statement of a batch.
pub fn queue(b: &mut Batch, e: &Event<'_>, now: i64) {
    b.push(
        "INSERT INTO audit_events (at, account_id, kind, actor_user_id, target_user_id, ip, user_agent, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            now.into(),
            e.account_id.into(),
            e.kind.into(),
            e.actor_user_id.into(),
            e.target_user_id.into(),
            e.ip.into(),
            e.user_agent
                .map(|ua| ua.chars().take(256).collect::<String>())
                .into(),
            e.detail.into(),
        ],
    );
}

/// The account's events, newest first, optionally for one user (as actor or target) and one kind.
pub async fn list(
    c: &mut Conn,
    account_id: i64,
    user_email: Option<&str>,
    kind: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT e.id, e.at, e.kind, a.email AS actor_email, t.email AS target_email, e.ip, e.user_agent, e.detail \
         FROM audit_events e \
         LEFT JOIN users a ON a.id = e.actor_user_id \
         LEFT JOIN users t ON t.id = e.target_user_id \
         WHERE e.account_id = $1 \
         AND ($2 = '' OR a.email_lower = $2 OR t.email_lower = $2) \
         AND ($3 = '' OR e.kind = $3) \
         ORDER BY e.id DESC LIMIT $4 OFFSET $5",
    )
    .bind(account_id)
    .bind(user_email.map(str::to_lowercase).unwrap_or_default())
    .bind(kind.unwrap_or_default())
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEvent {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                kind: r.try_get("kind")?,
                actor_email: r.try_get("actor_email")?,
                target_email: r.try_get("target_email")?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

/// How many events of a kind exist (tests and metrics).
pub async fn count_kind(c: &mut Conn, kind: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = $1")
        .bind(kind)
        .fetch_one(&mut *c)
        .await
}
