//! A new password that passed the account's policy: the only way to reach the hasher.

use app::policy::{self, PolicyConfig, Violation};
use secrecy::{ExposeSecret, SecretString};

/// NFC-normalised, policy-checked, and never printed (`Debug` is redacted by `secrecy`).
#[derive(Debug)]
pub struct NewPassword(SecretString);

impl NewPassword {
    /// Checks the two entries and every local rule; `is_common` is the blocklist look-up.
    /// History is checked by the caller, which has the hashes.
    pub fn parse(
        config: &PolicyConfig,
        password: &str,
        confirm: &str,
        forbidden: &[String],
        is_common: impl Fn(&str) -> bool,
    ) -> Result<Self, Vec<Violation>> {
        let mut v = policy::check(config, password, forbidden);
        let normalized = policy::normalize(password);
        if v.is_empty() && is_common(&normalized) {
            v.push(Violation::Common);
        }
        if !v.is_empty() {
            return Err(v);
        }
        if normalized != policy::normalize(confirm) {
            return Err(vec![Violation::Mismatch]);
        }
        Ok(Self(SecretString::from(normalized)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatched_entries_are_refused_after_the_policy() {
        let p = PolicyConfig::modern();
        let r = NewPassword::parse(
            &p,
            "a long enough passphrase",
            "a long enough passphrasf",
            &[],
            |_| false,
        );
        assert!(matches!(r, Err(v) if v == vec![Violation::Mismatch]));
    }

    #[test]
    fn common_passwords_are_refused() {
        let p = PolicyConfig::classic();
        let r = NewPassword::parse(&p, "Password1", "Password1", &[], |s| s == "Password1");
        assert!(matches!(r, Err(v) if v == vec![Violation::Common]));
    }

    #[test]
    fn the_stored_form_is_nfc() {
        let p = PolicyConfig::modern();
        let pw = "e\u{301}".repeat(16);
        let r = NewPassword::parse(&p, &pw, &"\u{e9}".repeat(16), &[], |_| false);
        assert!(matches!(r, Ok(ref n) if n.expose() == "\u{e9}".repeat(16)));
    }
}
