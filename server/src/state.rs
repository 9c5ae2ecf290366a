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

/// Is the password on the common-password blocklist? The list is the 30,000 most common
/// passwords that ship inside the `zxcvbn` crate (from leaked-password corpora); a password is
/// refused when it is, as a whole, one of the 10,000 most common, also in l33t or reversed form
/// (NIST SP 800-63B-4 3.1.1.2: compare against commonly-used passwords).
pub fn is_common_password(password: &str) -> bool {
    if password.chars().count() > 64 {
        // Longer than anything on the list; skip the estimator's cost.
        return false;
    }
    let entropy = zxcvbn::zxcvbn(password, &[]);
    let seq = entropy.sequence();
    let len = password.chars().count();
    match seq {
        [m] if m.i == 0 && m.j + 1 == len => match &m.pattern {
            // The dictionary type is not exported by the crate; its Debug name is stable.
            zxcvbn::matching::patterns::MatchPattern::Dictionary(d) => {
                format!("{:?}", d.dictionary_name) == "Passwords" && d.rank <= 10_000
            }
            _ => false,
        },
        _ => false,
    }
}

/// A 0-4 strength score for guidance (zxcvbn), with the user's own words counted against it.
pub fn strength(password: &str, user_inputs: &[&str]) -> u8 {
    if password.is_empty() {
        return 0;
    }
    let clipped: String = password.chars().take(100).collect();
    zxcvbn::zxcvbn(&clipped, user_inputs).score() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blocklist_catches_common_passwords_and_their_disguises() {
        for p in [
            "password",
            "123456",
            "qwerty123",
            "P@ssw0rd",
            "dragon",
            "iloveyou",
        ] {
            assert!(is_common_password(p), "{p}");
        }
        for p in [
            "correct horse battery staple",
            "Tr4v3l-Gl0be-Mist",
            "vinterträdgård i maj",
        ] {
            assert!(!is_common_password(p), "{p}");
        }
    }

    #[test]
    fn strength_grows_with_length() {
        assert!(strength("password", &[]) <= 1);
        assert!(strength("correct horse battery staple orbit", &[]) >= 3);
    }
}
