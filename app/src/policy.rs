//! The password policy: one definition that the page shows live and the server enforces.
//!
//! The default follows NIST SP 800-63B-4 (3.1.1.2) and OWASP ASVS 5.0 (6.2.x): at least 15
//! characters, at least 64 accepted, no composition rules, any Unicode (NFC-normalised, counted in
//! code points, never truncated), no context words. The "classic" rules are the ones many users
//! know (8 to 64 characters with upper and lower case and a digit) for accounts whose owner asks
//! for them. The blocklist and history rules need server data, so the server adds them
//! ([`Violation::Common`], [`Violation::Reused`]).

use serde::{Deserialize, Serialize};

/// Hard ceiling on what any policy accepts: long enough for passphrases, short enough that
/// argon2 input stays bounded (ASVS 5.0 6.2.9 asks for at least 64).
pub const ABSOLUTE_MAX_LENGTH: u32 = 128;
/// The product's own name, refused inside passwords (NIST 800-63B-4 3.1.1.2: context words).
pub const PRODUCT_WORDS: [&str; 2] = ["zoom", "portal"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// NIST 800-63B-4: length and blocklist only.
    Modern,
    /// 8-64 characters with a letter, a digit, upper and lower case.
    Classic,
}

/// An account's password rules, as stored in its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyConfig {
    pub kind: PolicyKind,
    pub min_length: u32,
    pub max_length: u32,
    /// How many previous passwords may not be reused.
    pub history_depth: u32,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self::modern()
    }
}

impl PolicyConfig {
    pub fn modern() -> Self {
        Self {
            kind: PolicyKind::Modern,
            min_length: 15,
            max_length: 64,
            history_depth: 5,
        }
    }

    pub fn classic() -> Self {
        Self {
            kind: PolicyKind::Classic,
            min_length: 8,
            max_length: 64,
            history_depth: 5,
        }
    }

    /// Settings an owner may save: a minimum of at least 8, a maximum of at least 64 (ASVS 5.0
    /// 6.2.9) and at most [`ABSOLUTE_MAX_LENGTH`], a history of 0 to 24.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.min_length < 8 {
            return Err("min_length");
        }
        if self.max_length < 64 || self.max_length > ABSOLUTE_MAX_LENGTH {
            return Err("max_length");
        }
        if self.min_length > self.max_length {
            return Err("min_length");
        }
        if self.history_depth > 24 {
            return Err("history_depth");
        }
        Ok(())
    }
}

/// One rule a password failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Violation {
    TooShort {
        min: u32,
    },
    TooLong {
        max: u32,
    },
    NeedsLetter,
    NeedsDigit,
    NeedsUpper,
    NeedsLower,
    /// Contains the user's name, email local part or the product name.
    ContainsPersonalInfo,
    /// On the list of common passwords (server only).
    Common,
    /// One of the user's recent passwords (server only).
    Reused {
        depth: u32,
    },
    /// The two entries differ.
    Mismatch,
}

impl Violation {
    /// The English sentence for the rule; the SPA translates by `rule`.
    pub fn message(&self) -> String {
        match self {
            Self::TooShort { min } => format!("Use at least {min} characters."),
            Self::TooLong { max } => format!("Use at most {max} characters."),
            Self::NeedsLetter => "Include a letter.".into(),
            Self::NeedsDigit => "Include a number.".into(),
            Self::NeedsUpper => "Include an upper-case letter.".into(),
            Self::NeedsLower => "Include a lower-case letter.".into(),
            Self::ContainsPersonalInfo => {
                "Do not use your name, your email address or the product's name.".into()
            }
            Self::Common => "This password is too common; choose another.".into(),
            Self::Reused { depth } => {
                format!("Choose a password you have not used for your last {depth} passwords.")
            }
            Self::Mismatch => "The passwords do not match.".into(),
        }
    }
}

/// NFC-normalise, as NIST 800-63B-4 3.1.1.2 asks, so the same passphrase typed on two keyboards
/// hashes the same. The server's result is the one stored; in the browser this only counts
/// characters for the checklist, so it asks the browser's own `String.prototype.normalize`
/// rather than carrying Unicode's composition tables in the download.
#[cfg(not(all(target_arch = "wasm32", feature = "csr")))]
pub fn normalize(password: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    password.nfc().collect()
}

/// NFC-normalise with the browser's `String.prototype.normalize` (see the other target's
/// version for why).
#[cfg(all(target_arch = "wasm32", feature = "csr"))]
pub fn normalize(password: &str) -> String {
    js_sys::JsString::from(password)
        .normalize("NFC")
        .as_string()
        .unwrap_or_else(|| password.to_string())
}

/// Length in code points after normalisation (what users think of as characters).
pub fn length(password: &str) -> u32 {
    u32::try_from(normalize(password).chars().count()).unwrap_or(u32::MAX)
}

/// The words a user's password may not contain: name parts and email local part (at least 4
/// characters, so short names don't forbid half the dictionary), plus the product name.
pub fn forbidden_words(name: &str, email: &str) -> Vec<String> {
    let mut words: Vec<String> = PRODUCT_WORDS.iter().map(|w| (*w).to_string()).collect();
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    for w in std::iter::once(local.as_str())
        .chain(name.split_whitespace())
        .chain(local.split(['.', '_', '-', '+']))
    {
        let w = w.to_lowercase();
        if w.chars().count() >= 4 && !words.contains(&w) {
            words.push(w);
        }
    }
    words
}

/// Every rule the page can check by itself. The server calls this too, then adds the blocklist and
/// history rules.
pub fn check(config: &PolicyConfig, password: &str, forbidden: &[String]) -> Vec<Violation> {
    let pw = normalize(password);
    let len = u32::try_from(pw.chars().count()).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    if len < config.min_length {
        out.push(Violation::TooShort {
            min: config.min_length,
        });
    }
    let max = config.max_length.min(ABSOLUTE_MAX_LENGTH);
    if len > max {
        out.push(Violation::TooLong { max });
    }
    if config.kind == PolicyKind::Classic {
        if !pw.chars().any(char::is_alphabetic) {
            out.push(Violation::NeedsLetter);
        }
        if !pw.chars().any(|c| c.is_ascii_digit()) {
            out.push(Violation::NeedsDigit);
        }
        if !pw.chars().any(char::is_uppercase) {
            out.push(Violation::NeedsUpper);
        }
        if !pw.chars().any(char::is_lowercase) {
            out.push(Violation::NeedsLower);
        }
    }
    let lower = pw.to_lowercase();
    if forbidden
        .iter()
        .any(|w| !w.is_empty() && lower.contains(w.as_str()))
    {
        out.push(Violation::ContainsPersonalInfo);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Vec<String> {
        forbidden_words("Ada Lovelace", "ada.lovelace@example.com")
    }

    #[test]
    fn a_long_passphrase_passes_the_modern_policy() {
        let v = check(
            &PolicyConfig::modern(),
            "correct horse battery staple",
            &words(),
        );
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn fourteen_characters_are_too_short_and_fifteen_are_enough() {
        let p = PolicyConfig::modern();
        assert_eq!(
            check(&p, "abcdefghijklmn", &[]),
            vec![Violation::TooShort { min: 15 }]
        );
        assert!(check(&p, "abcdefghijklmno", &[]).is_empty());
    }

    #[test]
    fn length_counts_code_points_after_nfc() {
        // "é" as e + combining acute is two code points before NFC and one after.
        let decomposed = "e\u{301}".repeat(15);
        assert_eq!(length(&decomposed), 15);
        assert!(check(&PolicyConfig::modern(), &decomposed, &[]).is_empty());
        // Emoji count as one character each.
        assert_eq!(length("🔑🔑🔑"), 3);
    }

    #[test]
    fn overlong_passwords_are_refused_not_truncated() {
        let p = PolicyConfig::modern();
        assert_eq!(
            check(&p, &"a".repeat(65), &[]),
            vec![Violation::TooLong { max: 64 }]
        );
        assert!(check(&p, &"a".repeat(64), &[]).is_empty());
    }

    #[test]
    fn personal_words_and_the_product_name_are_refused_case_insensitively() {
        let p = PolicyConfig::modern();
        assert_eq!(
            check(&p, "my name is LOVELACE indeed", &words()),
            vec![Violation::ContainsPersonalInfo]
        );
        assert_eq!(
            check(&p, "I really like Zoom meetings", &words()),
            vec![Violation::ContainsPersonalInfo]
        );
    }

    #[test]
    fn short_name_parts_do_not_forbid_common_words() {
        let w = forbidden_words("Al Bo", "al@example.com");
        assert_eq!(w, vec!["zoom".to_string(), "portal".to_string()]);
    }

    #[test]
    fn classic_rules_ask_for_each_character_class() {
        let p = PolicyConfig::classic();
        assert_eq!(
            check(&p, "abcdefgh", &[]),
            vec![Violation::NeedsDigit, Violation::NeedsUpper]
        );
        assert!(check(&p, "Abcdefg1", &[]).is_empty());
        assert_eq!(check(&p, "Ab1", &[]), vec![Violation::TooShort { min: 8 }]);
    }

    #[test]
    fn settings_outside_the_allowed_ranges_are_refused() {
        let mut p = PolicyConfig::modern();
        assert!(p.validate().is_ok());
        p.min_length = 6;
        assert_eq!(p.validate(), Err("min_length"));
        p = PolicyConfig::modern();
        p.max_length = 200;
        assert_eq!(p.validate(), Err("max_length"));
        p = PolicyConfig::modern();
        p.history_depth = 30;
        assert_eq!(p.validate(), Err("history_depth"));
    }

    #[test]
    fn violations_serialise_with_a_rule_tag() {
        let json = serde_json::to_string(&Violation::TooShort { min: 15 }).unwrap_or_default();
        assert_eq!(json, r#"{"rule":"too_short","min":15}"#);
    }
}
