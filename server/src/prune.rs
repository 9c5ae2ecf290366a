//! The pruner: on a schedule, deletes what has outlived its use, so the database does not grow
//! with traffic (in hidden mode every unknown address typed in leaves a decoy flow and code).
//!
//! What goes, and when (times after the row's last deadline, read from the app's `Clock`):
//! - reset codes and links expired, used or replaced: after [`GRACE_SECS`];
//! - reset flows whose code expiry plus the grant window, grant and completion all passed, once
//!   they have no code left: after [`GRACE_SECS`];
//! - sessions revoked, past their absolute lifetime or idle too long: after [`GRACE_SECS`];
//! - outbox messages sent or given up (content already erased): after [`OUTBOX_RETENTION_SECS`];
//! - rate-limit counts that fell out of every window (a day): at once.
//!
//! Never a live code, grant, session or a message still to be sent: every rule compares a
//! deadline with a time at or before now. The audit log is kept whole: it is the record.
//!
//! Deletes run in batches of [`BATCH`] rows, one short statement each, on a connection taken
//! for that batch only, and each batch goes on from where the last one stopped: on SQLite the
//! write lock is held for one batch at a time and the requests queued for it get it in between.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::clock::Clock;
use crate::domain::reset::GRANT_TTL_SECS;
use crate::metrics::Metrics;
use crate::store::{limits, outbox, reset, sessions, Store};

/// How long a dead code, flow or session is kept. A day keeps a code's row beside the audit
/// events of the same reset while someone still asks about it ("my code says expired"), so
/// support can see attempts and times; after that the answers are the same without the row
/// (`code_expired` / `link_expired` / `no_flow`) and what it held (a hash, an address shown
/// masked, a session's IP and user agent) is not worth keeping (GDPR art. 5(1)(e)).
pub const GRACE_SECS: i64 = 86_400;
/// How long a sent or failed message's row (recipient, times, last error) is kept: a week, for
/// "I never got the email" questions, which come days later, not months.
pub const OUTBOX_RETENTION_SECS: i64 = 7 * 86_400;
/// Rows per delete statement.
pub const BATCH: i64 = 500;

/// Rows deleted by one pass, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub reset_codes: u64,
    pub reset_flows: u64,
    pub sessions: u64,
    pub outbox: u64,
    pub rate_counts: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.reset_codes + self.reset_flows + self.sessions + self.outbox + self.rate_counts
    }

    fn by_table(&self) -> [(&'static str, u64); 5] {
        [
            ("reset_codes", self.reset_codes),
            ("reset_flows", self.reset_flows),
            ("sessions", self.sessions),
            ("outbox", self.outbox),
            ("rate_counts", self.rate_counts),
        ]
    }
}

#[derive(Debug, Clone, Copy)]
enum Table {
    Codes,
    Flows,
    Sessions,
    Outbox,
}

/// One pass at `now`: codes before flows (a flow goes once its codes are gone). Stops between
/// batches when `stop` turns true, so a shutdown never waits for a long backlog.
pub async fn prune_once(
    store: &Store,
    now: i64,
    session_idle_secs: i64,
    stop: &watch::Receiver<bool>,
) -> Result<Pruned, sqlx::Error> {
    let mut p = Pruned {
        reset_codes: drain(store, Table::Codes, now, session_idle_secs, stop).await?,
        reset_flows: drain(store, Table::Flows, now, session_idle_secs, stop).await?,
        sessions: drain(store, Table::Sessions, now, session_idle_secs, stop).await?,
        outbox: drain(store, Table::Outbox, now, session_idle_secs, stop).await?,
        rate_counts: 0,
    };
    let mut after = limits::PruneCursor::default();
    while !*stop.borrow() {
        let (n, next) = {
            let mut conn = store.conn().await?;
            limits::prune(&mut conn, now, &after, BATCH).await?
        };
        p.rate_counts += n;
        match next {
            Some(next) => after = next,
            None => break,
        }
        tokio::task::yield_now().await;
    }
    Ok(p)
}

/// Deletes every prunable row of one table, batch by batch in id order.
async fn drain(
    store: &Store,
    table: Table,
    now: i64,
    session_idle_secs: i64,
    stop: &watch::Receiver<bool>,
) -> Result<u64, sqlx::Error> {
    let dead_before = now - GRACE_SECS;
    let grant_window = crate::domain::reset::seconds(GRANT_TTL_SECS);
    let mut after = 0;
    let mut total = 0;
    while !*stop.borrow() {
        let ids = {
            let mut conn = store.conn().await?;
            match table {
                Table::Codes => reset::prune_codes(&mut conn, dead_before, after, BATCH).await?,
                Table::Flows => {
                    reset::prune_flows(&mut conn, dead_before, grant_window, after, BATCH).await?
                }
                Table::Sessions => {
                    sessions::prune(&mut conn, dead_before, session_idle_secs, after, BATCH).await?
                }
                Table::Outbox => {
                    outbox::prune(&mut conn, now - OUTBOX_RETENTION_SECS, after, BATCH).await?
                }
            }
        };
        total += ids.len() as u64;
        match ids.iter().max() {
            Some(last) if ids.len() as i64 >= BATCH => after = *last,
            _ => break,
        }
        tokio::task::yield_now().await;
    }
    Ok(total)
}

/// What the pruner needs.
#[derive(Clone)]
pub struct Pruner {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    pub interval: Duration,
    pub session_idle_secs: i64,
}

impl Pruner {
    /// A pass at start-up, then one every `interval`, until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            let now = self.clock.now();
            match prune_once(&self.store, now, self.session_idle_secs, &shutdown).await {
                Ok(p) => {
                    self.metrics.pruned(&p.by_table());
                    if p.total() > 0 {
                        tracing::info!(
                            reset_codes = p.reset_codes,
                            reset_flows = p.reset_flows,
                            sessions = p.sessions,
                            outbox = p.outbox,
                            rate_counts = p.rate_counts,
                            "pruned expired rows"
                        );
                    } else {
                        tracing::debug!("pruner: nothing to delete");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "pruner: database error, trying again later"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
