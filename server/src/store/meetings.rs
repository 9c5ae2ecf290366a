//! Meetings, for the "My Meetings" page.

use app::wire::Meeting;

use super::Conn;

/// The user's meetings that have not ended yet, soonest first.
pub async fn upcoming(c: &mut Conn, user_id: i64, now: i64) -> Result<Vec<Meeting>, sqlx::Error> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT meeting_id, topic, starts_at, duration_minutes FROM meetings \
         WHERE host_user_id = $1 AND starts_at + duration_minutes * 60 > $2 ORDER BY starts_at LIMIT 100",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(&mut *c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(meeting_id, topic, starts_at, minutes)| Meeting {
            meeting_id,
            topic,
            starts_at,
            duration_minutes: u32::try_from(minutes).unwrap_or(0),
        })
        .collect())
}

pub async fn insert(
    c: &mut Conn,
    host: i64,
    meeting_id: &str,
    topic: &str,
    starts_at: i64,
    minutes: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO meetings (meeting_id, host_user_id, topic, starts_at, duration_minutes) VALUES ($1, $2, $3, $4, $5)")
        .bind(meeting_id)
        .bind(host)
        .bind(topic)
        .bind(starts_at)
        .bind(minutes)
        .execute(&mut *c)
        .await?;
    Ok(())
}
