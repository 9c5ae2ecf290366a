//! The state every handler shares.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::{Hasher, Keys};
use crate::metrics::Metrics;
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
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
