//! The outbox worker: claims due messages, sends them, retries transient failures with
//! exponential backoff and jitter, gives up after a cap and records that in the audit log.
//!
//! Requests never wait on SMTP or the SMS provider: they only write the outbox row, in the same
//! transaction as the code it carries, and wake this worker.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{watch, Notify};

use super::{Outgoing, SendError, Sender};
use crate::clock::Clock;
use crate::crypto::Keys;
use crate::store::batch::Batch;
use crate::store::outbox::{self, Channel, Claimed};
use crate::store::{audit, Store};

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: u32 = 10;
/// How long a claim is held before another worker may take the message over, so a crashed
/// instance's messages are picked up by the others half a minute later. A live worker renews it
/// while it works through its batch (see [`SEND_LIMIT`]): a batch of 32 behind a slow relay takes
/// far longer than one lease, and a lease that ran out mid-batch let another worker send the rest
/// again.
const LEASE_SECS: i64 = 30;
/// The longest one message may take to send (connection, TLS, AUTH and the transaction
/// together); a worker starts a message only with at least this much of its lease left, renewing
/// the lease first when less is.
const SEND_LIMIT: Duration = Duration::from_secs(20);
/// How often idle workers look for messages queued by other instances.
const POLL: Duration = Duration::from_millis(500);
/// Messages a worker claims at once: one claim and one "sent" write per batch instead of two
/// writes per message, which under a flood of requests queued behind the requests' own writes.
pub const BATCH: i64 = 32;
/// How long a worker lets messages gather before it claims, after a wake-up or a batch that was
/// not full. Every claim is a write, and on SQLite every write waits for the one write lock the
/// requests need: claiming the moment each request queued its message made the outbox write
/// about once per message under a flood. Waiting this long turns those into one claim per
/// batch, for a few milliseconds of a notification's latency.
const GATHER: Duration = Duration::from_millis(20);

/// What the worker needs.
#[derive(Clone)]
pub struct Outbox {
    pub store: Store,
    /// Opens the sealed payloads.
    pub keys: Keys,
    pub clock: Arc<dyn Clock>,
    pub email: Arc<dyn Sender>,
    pub sms: Arc<dyn Sender>,
    pub wake: Arc<Notify>,
    pub metrics: crate::metrics::Metrics,
}

/// Backoff before attempt `n + 1`: 2 s doubling, capped at 10 minutes, with ±25 % jitter so a
/// recovering server is not hit by every message at the same instant.
pub fn backoff_secs(attempts: u32, jitter: f64) -> i64 {
    let capped = (2u32 << attempts.saturating_sub(1).min(12)).min(600);
    (f64::from(capped) * (1.0 + jitter.clamp(-0.25, 0.25)))
        .round()
        .max(1.0) as i64
}

impl Outbox {
    /// Runs `workers` loops until `shutdown` turns true; each finishes the message in hand first.
    pub async fn run(self, workers: usize, shutdown: watch::Receiver<bool>) {
        let handles: Vec<_> = (0..workers)
            .map(|_| tokio::spawn(self.clone().worker(shutdown.clone())))
            .collect();
        for h in handles {
            let _ = h.await;
        }
    }

    async fn worker(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let gather = match self.step(&shutdown).await {
                // A full batch: more are waiting, claim again at once.
                Ok(n) if n >= BATCH.unsigned_abs() as usize => continue,
                // Some: more are arriving; let them gather.
                Ok(n) if n > 0 => true,
                Ok(_) => tokio::select! {
                    _ = self.wake.notified() => true,
                    _ = tokio::time::sleep(POLL) => false,
                    _ = shutdown.changed() => false,
                },
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: database error, retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(POLL) => false,
                        _ = shutdown.changed() => false,
                    }
                }
            };
            if gather {
                tokio::select! {
                    _ = tokio::time::sleep(GATHER) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// Claims a batch of due messages and sends them in order; returns how many it claimed (0
    /// when none was due). The ones sent are marked in one write at the end; a failure is settled
    /// at once (retry or give up). At shutdown the rest of the batch is given back unsent.
    pub async fn step(&self, shutdown: &watch::Receiver<bool>) -> Result<usize, sqlx::Error> {
        let now = self.clock.now();
        // On SQLite a job of the writer, among the requests' own (store/writer.rs).
        let batch = outbox::claim(&self.store, &self.keys, now, LEASE_SECS, BATCH).await?;
        if batch.is_empty() {
            return Ok(0);
        }
        let mut sent = Vec::with_capacity(batch.len());
        let mut rest = batch.iter().map(|m| m.id).collect::<Vec<_>>();
        let mut unsettled = Ok(());
        let mut leased_until = now + LEASE_SECS;
        // How many of `sent` are marked already (when the lease was renewed).
        let mut marked = 0;
        for m in &batch {
            if *shutdown.borrow() {
                break;
            }
            let now = self.clock.now();
            // A second more than the limit: the clock reads whole seconds.
            if leased_until - now <= SEND_LIMIT.as_secs().cast_signed() + 1 {
                // What was sent is marked, and the lease renewed on what is still this worker's
                // (a lease lost meanwhile, to a pause or a slow write, stays lost: those messages
                // are another worker's now), in one write.
                let ids: Vec<i64> = sent[marked..]
                    .iter()
                    .map(|(m, _): &(&Claimed, _)| m.id)
                    .collect();
                let mut renew = Batch::new();
                outbox::mark_sent_in(&mut renew, &ids, now);
                outbox::extend_lease_in(&mut renew, &rest, leased_until, now + LEASE_SECS);
                leased_until = now + LEASE_SECS;
                match self.store.apply(renew, |_| true).await {
                    Ok(rows) => {
                        let kept = rows
                            .unwrap_or_default()
                            .iter()
                            .map(|r| r.int(0).map(Option::unwrap_or_default))
                            .collect::<Result<Vec<i64>, _>>();
                        match kept {
                            Ok(kept) => rest.retain(|id| kept.contains(id)),
                            Err(e) => unsettled = Err(e),
                        }
                    }
                    Err(e) => unsettled = Err(e),
                }
                if unsettled.is_err() {
                    break;
                }
                marked = sent.len();
            }
            let Some(at) = rest.iter().position(|id| *id == m.id) else {
                continue;
            };
            rest.remove(at);
            match self.send(m).await {
                Some((via, Ok(()))) => sent.push((m, via)),
                Some((via, Err(e))) => {
                    // A store failure here stops the batch, but what was sent is still marked
                    // below, so it is not sent again when the lease runs out.
                    unsettled = self.settle(m, via, e).await;
                    if unsettled.is_err() {
                        break;
                    }
                }
                // A hidden-mode decoy: queued so its request cost what a real one costs, never sent.
                None => sent.push((m, "discarded")),
            }
        }
        let ids = sent[marked..].iter().map(|(m, _)| m.id).collect::<Vec<_>>();
        let mut done = Batch::new();
        outbox::mark_sent_in(&mut done, &ids, self.clock.now());
        outbox::release_in(&mut done, &rest);
        self.store.apply(done, |_| true).await?;
        for (m, via) in sent {
            if via == "discarded" {
                tracing::debug!(id = m.id, "decoy message discarded");
                continue;
            }
            let channel = m.channel.as_str();
            self.metrics.notification(channel, "sent");
            tracing::info!(id = m.id, channel, via, "notification sent");
        }
        unsettled.map(|()| batch.len())
    }

    /// Sends one claimed message; `None` for a decoy, which is never sent.
    async fn send(&self, m: &Claimed) -> Option<(&'static str, Result<(), SendError>)> {
        if m.recipient.is_empty() {
            return None;
        }
        let sender = match m.channel {
            Channel::Email => &self.email,
            Channel::Sms => &self.sms,
        };
        let Some(content) = &m.content else {
            // No retry can help; failing it erases the payload and audits why.
            let e = SendError::permanent(
                "the payload does not open: it was queued under another PORTAL_SECRET, or altered",
            );
            return Some(("outbox", Err(e)));
        };
        let out = Outgoing {
            idempotency_key: m.idempotency_key.clone(),
            recipient: m.recipient.clone(),
            subject: content.subject.clone(),
            body_text: content.body_text.clone(),
            body_html: content.body_html.clone(),
        };
        let answer = tokio::time::timeout(SEND_LIMIT, sender.send(&out))
            .await
            .unwrap_or_else(|_| {
                let (name, limit) = (sender.name(), SEND_LIMIT.as_secs());
                Err(SendError::transient(format!(
                    "{name}: no answer within {limit} s"
                )))
            });
        Some((sender.name(), answer))
    }

    /// A failed send: retried after a backoff, or given up and audited.
    async fn settle(&self, m: &Claimed, via: &str, e: SendError) -> Result<(), sqlx::Error> {
        let now = self.clock.now();
        let (channel, attempts) = (m.channel.as_str(), m.attempts);
        let mut conn = self.store.conn().await?;
        // The row's new state and its audit events commit together: whoever sees the message
        // failed (an administrator, a test) sees why in the audit log too.
        let mut c = self.store.begin_on(&mut conn).await?;
        if let Some(kind) = e.alert {
            let detail = format!("{channel} via {via}: {}", e.message);
            record(&mut c, m, kind, &detail, now).await?;
        }
        let failed = e.permanent || attempts >= MAX_ATTEMPTS;
        if failed {
            outbox::mark_failed(&mut c, m.id, now, &e.message).await?;
            tracing::warn!(id = m.id, channel, attempts, error = %e.message, "notification failed for good");
            let detail = format!(
                "{channel} via {via} after {attempts} attempt(s): {}",
                e.message
            );
            record(&mut c, m, "notification_failed", &detail, now).await?;
        } else {
            let jitter = rand::thread_rng().gen_range(-0.25..=0.25);
            let next = now + backoff_secs(attempts, jitter);
            outbox::mark_retry(&mut c, m.id, next, &e.message).await?;
            tracing::info!(id = m.id, channel, attempts, error = %e.message, "notification will be retried");
        }
        c.commit().await?;
        let outcome = if failed { "failed" } else { "retried" };
        self.metrics.notification(channel, outcome);
        Ok(())
    }
}

/// An audit event about a message's delivery.
async fn record(
    c: &mut crate::store::Conn,
    m: &Claimed,
    kind: &str,
    detail: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let event = audit::Event {
        kind,
        account_id: m.account_id,
        target_user_id: m.user_id,
        detail: Some(detail),
        ..Default::default()
    };
    audit::record(c, &event, now).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Mutex;

    use secrecy::SecretString;

    use super::*;
    use crate::clock::ManualClock;
    use crate::notify::{BoxFuture, Outgoing};
    use crate::store::outbox::NewMessage;

    /// A relay that takes `secs` a message, during which another worker looks for work.
    struct SlowRelay {
        secs: i64,
        clock: Arc<ManualClock>,
        store: Store,
        keys: Keys,
        sent: Mutex<Vec<String>>,
        /// What the other worker claimed while each message was on its way.
        taken_meanwhile: Mutex<Vec<i64>>,
    }

    impl Sender for SlowRelay {
        fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>> {
            Box::pin(async move {
                self.clock.advance(self.secs);
                let now = self.clock.now();
                let other = outbox::claim(&self.store, &self.keys, now, LEASE_SECS, BATCH)
                    .await
                    .unwrap();
                let mut taken = self.taken_meanwhile.lock().unwrap();
                taken.extend(other.iter().map(|m| m.id));
                self.sent.lock().unwrap().push(msg.recipient.clone());
                Ok(())
            })
        }

        fn name(&self) -> &'static str {
            "slow"
        }
    }

    /// Eight messages queued, and a worker whose relay takes `secs` a message.
    async fn slow_worker(secs: i64) -> (Outbox, Arc<SlowRelay>) {
        let dir = std::env::temp_dir().join(format!("portal-outbox-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/portal.db?mode=rwc", dir.display());
        let store = Store::open(&url).await.unwrap();
        let keys = Keys::new(&SecretString::from("outbox-test-secret-0123456789abcdef"));
        let clock = Arc::new(ManualClock::new(1_800_000_000));
        let mut queued = Batch::new();
        for i in 0..8 {
            let m = NewMessage {
                idempotency_key: format!("m{i}"),
                channel: Channel::Email,
                recipient: format!("user{i}@example.com"),
                subject: "s".into(),
                body_text: "t".into(),
                body_html: "h".into(),
                account_id: None,
                user_id: None,
            };
            outbox::insert(&mut queued, outbox::seal(&keys, m).unwrap(), clock.now());
        }
        store.apply(queued, |_| true).await.unwrap();
        let relay = Arc::new(SlowRelay {
            secs,
            clock: clock.clone(),
            store: store.clone(),
            keys: keys.clone(),
            sent: Mutex::default(),
            taken_meanwhile: Mutex::default(),
        });
        let worker = Outbox {
            store,
            keys,
            clock,
            email: relay.clone(),
            sms: relay.clone(),
            wake: Arc::new(Notify::new()),
            metrics: crate::metrics::Metrics::new(),
        };
        (worker, relay)
    }

    #[tokio::test]
    async fn a_batch_behind_a_slow_relay_keeps_its_claim_and_nothing_is_sent_twice() {
        let (worker, relay) = slow_worker(10).await;
        let (store, keys, clock) = (&worker.store, &worker.keys, &worker.clock);
        let (_stop, running) = watch::channel(false);
        // Eight messages at ten seconds each: eighty seconds, well past one 30-second lease.
        assert_eq!(worker.step(&running).await.unwrap(), 8);
        assert_eq!(relay.sent.lock().unwrap().len(), 8);
        assert!(
            relay.taken_meanwhile.lock().unwrap().is_empty(),
            "another worker took messages still being sent: {:?}",
            relay.taken_meanwhile.lock().unwrap()
        );
        // All marked sent: nothing is left for anyone, however late.
        let later = clock.now() + 3600;
        let left = outbox::claim(store, keys, later, LEASE_SECS, BATCH).await;
        assert!(left.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_worker_whose_lease_was_lost_sends_nothing_more_of_its_batch() {
        // The first message outlasts the whole lease (a paused process, say): another worker
        // claims the batch meanwhile, and this one must leave it to that worker.
        let (worker, relay) = slow_worker(LEASE_SECS + 1).await;
        let (_stop, running) = watch::channel(false);
        assert_eq!(worker.step(&running).await.unwrap(), 8);
        assert_eq!(relay.taken_meanwhile.lock().unwrap().len(), 8);
        assert_eq!(
            relay.sent.lock().unwrap().len(),
            1,
            "the worker that lost its lease went on sending"
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let s: Vec<i64> = (1..=12).map(|n| backoff_secs(n, 0.0)).collect();
        assert_eq!(&s[..6], &[2, 4, 8, 16, 32, 64]);
        assert_eq!(s[11], 600);
        assert_eq!(backoff_secs(1, 0.25), 3);
        assert_eq!(backoff_secs(10, 0.9), 750);
    }
}
