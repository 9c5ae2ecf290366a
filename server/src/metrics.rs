//! Prometheus metrics (the `prometheus-client` crate, kept by the Prometheus project): request
//! counts and latency by route, notifications by channel and outcome, rate-limit refusals, rows
//! the pruner deleted, and the outbox depth, read at scrape time.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotifyLabels {
    channel: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableLabels {
    table: String,
}

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    requests: Family<RouteLabels, Counter>,
    latency: Family<LatencyLabels, Histogram>,
    notifications: Family<NotifyLabels, Counter>,
    refusals: Family<LimitLabels, Counter>,
    outbox_depth: Gauge,
    outbox_oldest: Gauge,
    pruned: Family<TableLabels, Counter>,
    prune_runs: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let m = Self {
            registry: Arc::default(),
            requests: Family::default(),
            latency: Family::new_with_constructor(|| {
                Histogram::new([
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
            }),
            notifications: Family::default(),
            refusals: Family::default(),
            outbox_depth: Gauge::default(),
            outbox_oldest: Gauge::default(),
            pruned: Family::default(),
            prune_runs: Counter::default(),
        };
        let mut r = Registry::with_prefix("portal");
        r.register(
            "http_requests",
            "HTTP requests by route and status",
            m.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            m.latency.clone(),
        );
        r.register(
            "notifications",
            "Notifications by channel and outcome",
            m.notifications.clone(),
        );
        r.register(
            "rate_limit_refusals",
            "Requests refused by a rate limit",
            m.refusals.clone(),
        );
        r.register(
            "outbox_depth",
            "Messages waiting in the outbox",
            m.outbox_depth.clone(),
        );
        r.register(
            "outbox_oldest_age_seconds",
            "Age of the oldest waiting message",
            m.outbox_oldest.clone(),
        );
        r.register(
            "pruned_rows",
            "Rows the pruner deleted, by table",
            m.pruned.clone(),
        );
        r.register(
            "prune_runs",
            "Completed passes of the pruner",
            m.prune_runs.clone(),
        );
        Self {
            registry: Arc::new(Mutex::new(r)),
            ..m
        }
    }

    pub fn request(&self, method: &str, route: &str, status: u16, secs: f64) {
        self.requests
            .get_or_create(&RouteLabels {
                method: method.into(),
                route: route.into(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&LatencyLabels {
                method: method.into(),
                route: route.into(),
            })
            .observe(secs);
    }

    pub fn notification(&self, channel: &str, outcome: &str) {
        self.notifications
            .get_or_create(&NotifyLabels {
                channel: channel.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn refused(&self, limit: &str) {
        self.refusals
            .get_or_create(&LimitLabels {
                limit: limit.into(),
            })
            .inc();
    }

    /// One pass of the pruner finished, having deleted `rows` from each table named.
    pub fn pruned(&self, rows: &[(&str, u64)]) {
        for (table, n) in rows {
            self.pruned
                .get_or_create(&TableLabels {
                    table: (*table).into(),
                })
                .inc_by(*n);
        }
        self.prune_runs.inc();
    }

    /// The exposition text, with the outbox figures read just now.
    pub fn render(&self, outbox_depth: i64, oldest_age: i64) -> String {
        self.outbox_depth.set(outbox_depth);
        self.outbox_oldest.set(oldest_age);
        let mut out = String::new();
        if let Ok(r) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &r);
        }
        out
    }
}
