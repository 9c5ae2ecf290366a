//! A new password that passed the account's policy (the only way to reach the hasher), the
//! common-password blocklist and the strength estimate.

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

    /// A copy to hand to the hasher's blocking pool (which needs an owned secret).
    pub fn secret(&self) -> SecretString {
        self.0.clone()
    }
}

use zxcvbn::matching::patterns::{DictionaryPattern, MatchPattern};

/// Is the password on the common-password blocklist? The list is the 30,000 most common
/// passwords that ship inside the `zxcvbn` crate (from leaked-password corpora); a password is
/// refused when it is, as a whole, one of the 10,000 most common, also in l33t or reversed form
/// (NIST SP 800-63B-4 3.1.1.2: compare against commonly-used passwords).
pub fn is_common_password(password: &str) -> bool {
    // Longer than anything among the 10,000 (l33t and reversed forms keep the length, and
    // lowercasing never shortens): no match is possible, so a passphrase skips the estimator,
    // about 1 ms of CPU a Save for 25 characters (bench/README.md, row 3).
    let len = password.chars().count();
    if len > LONGEST_COMMON {
        return false;
    }
    let entropy = zxcvbn::zxcvbn(password, &[]);
    match (entropy.sequence(), &*PASSWORDS_LIST) {
        ([m], Some(list)) if m.i == 0 && m.j + 1 == len => match &m.pattern {
            MatchPattern::Dictionary(d) => {
                d.dictionary_name == list.dictionary_name && d.rank <= 10_000
            }
            _ => false,
        },
        _ => false,
    }
}

/// The length of the longest of the 10,000 most common passwords on zxcvbn 3.1.1's list
/// (`123456789987654321`, rank 6,236); the tests check that it is still refused.
const LONGEST_COMMON: usize = 18;

/// The crate's common-password dictionary, named by its own public value: the match of the
/// list's first entry. (zxcvbn does not export the type that names its dictionaries, but each
/// match carries one, and they compare.) `None` if a future version stops matching "123456"
/// there, which the tests catch.
static PASSWORDS_LIST: std::sync::LazyLock<Option<DictionaryPattern>> = std::sync::LazyLock::new(
    || match &zxcvbn::zxcvbn("123456", &[]).sequence().first()?.pattern {
        MatchPattern::Dictionary(d) if d.rank == 1 => Some(d.clone()),
        _ => None,
    },
);

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

    #[test]
    fn the_blocklist_catches_common_passwords_and_their_disguises() {
        for p in [
            "password",
            "123456",
            "qwerty123",
            "P@ssw0rd",
            "dragon",
            "iloveyou",
            "drowssap",
            // The longest of the 10,000, and its l33t and reversed forms: the length bound that
            // lets longer passwords skip the estimator is no shorter than the list.
            "123456789987654321",
            "m0msanaladventure",
            "erutnevdalanasmom",
        ] {
            assert!(is_common_password(p), "{p}");
        }
        assert_eq!(LONGEST_COMMON, "123456789987654321".len());
        // The crate's password list is found by its public values; a version that moved it
        // would otherwise turn the blocklist off without a word.
        assert!(PASSWORDS_LIST.is_some());
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
