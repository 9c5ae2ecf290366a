//! Light, shared checks on what a user types in step 1 and step 2, so the page can answer at once
//! without a request. The server parses fully (email syntax, phone numbers with libphonenumber's
//! metadata) and stays the authority.

/// What the "Email or phone number" field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierKind {
    Email,
    Phone,
}

/// Longest email address SMTP allows (RFC 5321 4.5.3.1.3 path limit less the brackets).
pub const MAX_EMAIL_LEN: usize = 254;

/// Classifies a trimmed identifier, or `None` when it is neither an email nor a phone number.
pub fn classify(input: &str) -> Option<IdentifierKind> {
    let s = input.trim();
    if s.contains('@') {
        return is_plausible_email(s).then_some(IdentifierKind::Email);
    }
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let allowed = s.chars().enumerate().all(|(i, c)| {
        c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.') || (i == 0 && c == '+')
    });
    (allowed && (6..=15).contains(&digits)).then_some(IdentifierKind::Phone)
}

/// The address syntax users actually have: one `@`, a non-empty local part without spaces or
/// control characters, and a domain with a dot and no empty labels.
pub fn is_plausible_email(s: &str) -> bool {
    if s.len() > MAX_EMAIL_LEN || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && domain
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'))
        && !domain.chars().any(|c| {
            matches!(
                c,
                '(' | ')' | '<' | '>' | ',' | ';' | ':' | '\\' | '"' | '[' | ']'
            )
        })
}

/// Number of digits in a verification code.
pub const CODE_DIGITS: usize = 6;

/// Accepts a pasted "123 456" or "123-456": six digits once spaces and dashes are dropped.
pub fn normalize_code(input: &str) -> Option<String> {
    let digits: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
        .collect();
    (digits.len() == CODE_DIGITS && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_phones_are_told_apart() {
        assert_eq!(classify(" Jo@Example.com "), Some(IdentifierKind::Email));
        assert_eq!(classify("+46 70 123 45 67"), Some(IdentifierKind::Phone));
        assert_eq!(classify("070-123 45 67"), Some(IdentifierKind::Phone));
        assert_eq!(classify("hello"), None);
        assert_eq!(classify("jo@example"), None);
        assert_eq!(classify("jo@@example.com"), None);
        assert_eq!(classify("12"), None);
        assert_eq!(classify("+46 70+123"), None);
        assert_eq!(classify(""), None);
    }

    #[test]
    fn pasted_codes_with_spaces_or_dashes_are_accepted() {
        assert_eq!(normalize_code("123 456").as_deref(), Some("123456"));
        assert_eq!(normalize_code("123-456").as_deref(), Some("123456"));
        assert_eq!(normalize_code("12345"), None);
        assert_eq!(normalize_code("12345a"), None);
        assert_eq!(normalize_code("1234567"), None);
        assert_eq!(normalize_code("１２３４５６"), None);
    }
}
