//! What a user types to say who they are: an email address or a phone number, parsed once.
//!
//! Parse, don't validate: a handler turns the request into an [`Identifier`] first, and nothing
//! downstream sees raw input again.

use app::ident::is_plausible_email;
use phonenumber::country::Id as Region;
use phonenumber::Mode;
use unicode_normalization::UnicodeNormalization;

/// A syntactically valid email address, trimmed and in Unicode NFC; compared by its lower-cased
/// form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// NFC, as passwords are (NIST SP 800-63B 5.1.1.2): "josé" typed on a keyboard that sends
    /// `e` + U+0301 is the same address as the composed "josé" stored, not an unknown account or
    /// a second one that looks the same.
    pub fn parse(input: &str) -> Option<Self> {
        let s: String = input.trim().nfc().collect();
        is_plausible_email(&s).then_some(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness and look-ups use (RFC 5321 leaves the local part's case to the host,
    /// but every mainstream provider ignores it, and users expect the same).
    pub fn lower(&self) -> String {
        self.0.to_lowercase()
    }

    /// "j•••@example.com": enough for the user to recognise, not enough to harvest.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}•••@{domain}")
    }
}

/// A phone number that libphonenumber's metadata calls valid, kept in E.164.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    e164: String,
    international: String,
    country_code: u16,
}

impl PhoneNumber {
    /// International form (`+46 70 123 45 67`) or national form (`070-123 45 67`, read in the
    /// default region).
    pub fn parse(input: &str, default_region: Region) -> Option<Self> {
        let s = input.trim();
        // Digits, spaces, dashes, dots, parentheses and a leading plus only: libphonenumber also
        // reads letters and extensions ("112x-000x" is a number with extension), which no one
        // types to receive an SMS. Found by the `identifier` fuzz target.
        if s.len() > 32 || app::ident::classify(s) != Some(app::ident::IdentifierKind::Phone) {
            return None;
        }
        let n = phonenumber::parse(Some(default_region), s).ok()?;
        if !phonenumber::is_valid(&n) || n.extension().is_some() {
            return None;
        }
        Some(Self {
            e164: n.format().mode(Mode::E164).to_string(),
            international: n.format().mode(Mode::International).to_string(),
            country_code: n.code().value(),
        })
    }

    pub fn e164(&self) -> &str {
        &self.e164
    }

    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    /// The first digits after the country code, for per-prefix SMS caps (pumping attacks walk
    /// number ranges).
    pub fn prefix(&self) -> String {
        let cc = self.country_code.to_string();
        self.e164
            .trim_start_matches('+')
            .chars()
            .take(cc.len() + 4)
            .collect()
    }

    /// "+46 •• ••• •• 67": the country code and the last two digits.
    pub fn masked(&self) -> String {
        let total = self
            .international
            .chars()
            .filter(char::is_ascii_digit)
            .count();
        let cc_len = self.country_code.to_string().len();
        let mut seen = 0;
        self.international
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    seen += 1;
                    if seen > cc_len && seen <= total.saturating_sub(2) {
                        return '•';
                    }
                }
                c
            })
            .collect()
    }
}

/// Step 1's field, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Email(EmailAddress),
    Phone(PhoneNumber),
}

impl Identifier {
    /// Each parser trims the input itself.
    pub fn parse(input: &str, default_region: Region) -> Option<Self> {
        if input.contains('@') {
            EmailAddress::parse(input).map(Self::Email)
        } else {
            PhoneNumber::parse(input, default_region).map(Self::Phone)
        }
    }

    pub fn masked(&self) -> String {
        match self {
            Self::Email(e) => e.masked(),
            Self::Phone(p) => p.masked(),
        }
    }

    /// The form accounts are looked up by and identity caps are keyed on: the lower-cased
    /// address, or the number in E.164.
    pub fn canonical(&self) -> String {
        match self {
            Self::Email(e) => e.lower(),
            Self::Phone(p) => p.e164().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_kept_in_nfc() {
        let typed =
            EmailAddress::parse("jose\u{301}@example.com").unwrap_or_else(|| panic!("valid"));
        assert_eq!(typed.as_str(), "jos\u{e9}@example.com");
    }

    #[test]
    fn emails_are_trimmed_and_compared_lower_case() {
        let e = EmailAddress::parse("  Jo.Smith@Example.COM ").unwrap_or_else(|| panic!("valid"));
        assert_eq!(e.as_str(), "Jo.Smith@Example.COM");
        assert_eq!(e.lower(), "jo.smith@example.com");
        assert_eq!(e.masked(), "J•••@Example.COM");
    }

    #[test]
    fn swedish_numbers_in_national_and_international_form_are_the_same() {
        let a =
            PhoneNumber::parse("+46 70 123 45 67", Region::SE).unwrap_or_else(|| panic!("valid"));
        let b = PhoneNumber::parse("070-123 45 67", Region::SE).unwrap_or_else(|| panic!("valid"));
        assert_eq!(a, b);
        assert_eq!(a.e164(), "+46701234567");
        assert_eq!(a.country_code(), 46);
        assert_eq!(a.masked(), "+46 •• ••• •• 67");
        assert_eq!(a.prefix(), "467012");
    }

    #[test]
    fn nonsense_is_neither() {
        for bad in [
            "",
            "hello",
            "12",
            "+46 12",
            "a@b",
            "@example.com",
            "070-123 45 67 89 01 23 45",
        ] {
            assert_eq!(Identifier::parse(bad, Region::SE), None, "{bad}");
        }
    }

    #[test]
    fn identifiers_choose_their_kind() {
        assert!(matches!(
            Identifier::parse("ann@example.com", Region::SE),
            Some(Identifier::Email(_))
        ));
        assert!(matches!(
            Identifier::parse("+1 415 555 2671", Region::SE),
            Some(Identifier::Phone(_))
        ));
    }
}
