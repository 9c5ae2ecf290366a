//! The state every handler shares.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::{Hasher, Keys};
use crate::metrics::Metrics;
use crate::notify::templates::Templates;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub keys: Keys,
    pub hasher: Hasher,
    /// Wakes the outbox worker when a request queued a message.
    pub outbox_wake: Arc<Notify>,
    pub metrics: Metrics,
    /// The email and SMS templates: built in, or the operator's where `PORTAL_TEMPLATE_DIR` has
    /// them.
    pub templates: Arc<Templates>,
    /// Work a request leaves running after its answer (a provider account's notice in hidden
    /// mode): a graceful shutdown waits for it, so what the answer promised is not dropped.
    pub tasks: TaskTracker,
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
