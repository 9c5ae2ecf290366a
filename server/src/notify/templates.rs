//! The words of every email and SMS, in English and Swedish, as plain text and HTML.
//!
//! The user's language is the one the request was made in (a reset) or the one stored on the
//! user (everything else).

/// A language messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Sv,
}

impl Lang {
    pub fn parse(s: &str) -> Self {
        if s.eq_ignore_ascii_case("sv") || s.to_lowercase().starts_with("sv-") {
            Self::Sv
        } else {
            Self::En
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Sv => "sv",
        }
    }

    /// The first supported language in an `Accept-Language` header, by the order given.
    pub fn from_accept_language(header: &str) -> Self {
        for part in header.split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_lowercase();
            if tag == "sv" || tag.starts_with("sv-") {
                return Self::Sv;
            }
            if tag == "en" || tag.starts_with("en-") {
                return Self::En;
            }
        }
        Self::En
    }
}

/// A rendered message.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_page(lang: Lang, paragraphs: &[String]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        "<!doctype html>\n<html lang=\"{}\"><body style=\"font-family:system-ui,sans-serif;line-height:1.5;color:#1a1a1a\">\n{body}</body></html>\n",
        lang.as_str()
    )
}

/// "1 timme", "24 hours", "10 minuter".
pub fn validity(lang: Lang, secs: u64) -> String {
    let (n, en, sv_one, sv_many) = if secs >= 3600 && secs.is_multiple_of(3600) {
        (secs / 3600, "hour", "timme", "timmar")
    } else if secs >= 60 {
        (secs.div_ceil(60), "minute", "minut", "minuter")
    } else {
        (secs, "second", "sekund", "sekunder")
    };
    match lang {
        Lang::En if n == 1 => format!("1 {en}"),
        Lang::En => format!("{n} {en}s"),
        Lang::Sv if n == 1 => format!("1 {sv_one}"),
        Lang::Sv => format!("{n} {sv_many}"),
    }
}

/// The verification code email: the code, the link, when both expire, and that it can be ignored.
pub fn reset_code_email(
    lang: Lang,
    name: &str,
    code: &str,
    link: &str,
    valid_secs: u64,
    expires_utc: &str,
) -> Rendered {
    let v = validity(lang, valid_secs);
    let (subject, lines) = match lang {
        Lang::En => (
            format!("Your password reset code: {code}"),
            vec![
                format!("Hi {name},"),
                "We received a request to reset the password of your account. Enter this verification code on the reset page:".to_string(),
                code.to_string(),
                format!("Or open this link to choose a new password:\n{link}"),
                format!("The code and the link are valid for {v} (until {expires_utc} UTC), or until you ask for a new code."),
                "If you did not ask to reset your password, you can ignore this email: your password stays the same.".to_string(),
            ],
        ),
        Lang::Sv => (
            format!("Din kod för lösenordsåterställning: {code}"),
            vec![
                format!("Hej {name},"),
                "Vi har fått en begäran om att återställa lösenordet för ditt konto. Ange den här verifieringskoden på återställningssidan:".to_string(),
                code.to_string(),
                format!("Eller öppna den här länken för att välja ett nytt lösenord:\n{link}"),
                format!("Koden och länken gäller i {v} (till {expires_utc} UTC), eller tills du begär en ny kod."),
                "Om du inte har bett om att återställa lösenordet kan du bortse från det här meddelandet: ditt lösenord förblir detsamma.".to_string(),
            ],
        ),
    };
    let html: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| match i {
            2 => format!(
                "<strong style=\"font-size:1.6em;letter-spacing:.2em\">{}</strong>",
                esc(l)
            ),
            3 => {
                let (label, _) = l.split_once('\n').unwrap_or((l, ""));
                format!(
                    "{}<br><a href=\"{}\">{}</a>",
                    esc(label),
                    esc(link),
                    esc(link)
                )
            }
            _ => esc(l),
        })
        .collect();
    Rendered {
        subject,
        text: lines.join("\n\n"),
        html: html_page(lang, &html),
    }
}

/// An administrator started a reset for the user: the link only. The flow belongs to no browser,
/// so a code would have nowhere to be typed; the link carries everything. The administrator is
/// named so the user can tell a real request from a phishing copy (OWASP Forgot Password Cheat
/// Sheet: say who asked, how long the link lives, and what to do if it was unexpected).
pub fn admin_reset_email(
    lang: Lang,
    name: &str,
    admin: &str,
    link: &str,
    valid_secs: u64,
    expires_utc: &str,
) -> Rendered {
    let v = validity(lang, valid_secs);
    let (subject, lines) = match lang {
        Lang::En => (
            "An administrator asked for a password reset for your account".to_string(),
            vec![
                format!("Hi {name},"),
                format!("{admin}, an administrator of your account, asked for a password reset for your account. Open this link to choose a new password:\n{link}"),
                format!("The link is valid for {v} (until {expires_utc} UTC) and works once; a newer reset replaces it."),
                "If you did not expect this, you can ignore this email: your password stays the same. You may want to tell your administrator.".to_string(),
            ],
        ),
        Lang::Sv => (
            "En administratör har begärt en lösenordsåterställning för ditt konto".to_string(),
            vec![
                format!("Hej {name},"),
                format!("{admin}, administratör för ditt konto, har begärt en lösenordsåterställning för ditt konto. Öppna den här länken för att välja ett nytt lösenord:\n{link}"),
                format!("Länken gäller i {v} (till {expires_utc} UTC) och kan användas en gång; en nyare återställning ersätter den."),
                "Om du inte väntade dig detta kan du bortse från det här meddelandet: ditt lösenord förblir detsamma. Berätta gärna för din administratör.".to_string(),
            ],
        ),
    };
    let html: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| match (i, l.split_once('\n')) {
            (1, Some((label, _))) => format!(
                "{}<br><a href=\"{}\">{}</a>",
                esc(label),
                esc(link),
                esc(link)
            ),
            _ => esc(l),
        })
        .collect();
    Rendered {
        subject,
        text: lines.join("\n\n"),
        html: html_page(lang, &html),
    }
}

/// The SMS: short, the code, the validity, and the Web OTP line (`@host #code`) last so browsers
/// can offer to fill the code in.
pub fn reset_code_sms(lang: Lang, code: &str, valid_secs: u64, host: &str) -> Rendered {
    let v = validity(lang, valid_secs);
    let text = match lang {
        Lang::En => format!("Your password reset code is {code}. It is valid for {v}. Never share it.\n\n@{host} #{code}"),
        Lang::Sv => format!("Din kod för att återställa lösenordet är {code}. Den gäller i {v}. Dela den aldrig.\n\n@{host} #{code}"),
    };
    Rendered {
        subject: String::new(),
        text,
        html: String::new(),
    }
}

/// Where a change came from, for the confirmation emails.
#[derive(Debug, Clone)]
pub struct Origin {
    pub when_utc: String,
    pub browser: String,
    pub ip: String,
}

/// The confirmation after a self-service reset or a change of a remembered password.
pub fn password_changed_email(
    lang: Lang,
    name: &str,
    origin: &Origin,
    reset: bool,
    reset_url: &str,
) -> Rendered {
    let (subject, lines) = match lang {
        Lang::En => (
            if reset { "Your password has been reset" } else { "Your password has been changed" }.to_string(),
            vec![
                format!("Hi {name},"),
                format!(
                    "The password of your account was {} on {} UTC from {} (IP address {}).",
                    if reset { "reset" } else { "changed" },
                    origin.when_utc, origin.browser, origin.ip
                ),
                "Other devices have been signed out.".to_string(),
                format!("If this was not you, reset your password now at {reset_url} and tell your account administrator."),
            ],
        ),
        Lang::Sv => (
            if reset { "Ditt lösenord har återställts" } else { "Ditt lösenord har ändrats" }.to_string(),
            vec![
                format!("Hej {name},"),
                format!(
                    "Lösenordet för ditt konto {} {} UTC från {} (IP-adress {}).",
                    if reset { "återställdes" } else { "ändrades" },
                    origin.when_utc, origin.browser, origin.ip
                ),
                "Andra enheter har loggats ut.".to_string(),
                format!("Om det inte var du, återställ lösenordet nu på {reset_url} och kontakta kontots administratör."),
            ],
        ),
    };
    let html: Vec<String> = lines.iter().map(|l| esc(l)).collect();
    Rendered {
        subject,
        text: lines.join("\n\n"),
        html: html_page(lang, &html),
    }
}

/// An administrator set the user's password.
pub fn admin_changed_email(
    lang: Lang,
    name: &str,
    admin: &str,
    when_utc: &str,
    must_change: bool,
    reset_url: &str,
) -> Rendered {
    let (subject, lines) = match lang {
        Lang::En => (
            "Your password was changed by an administrator".to_string(),
            vec![
                format!("Hi {name},"),
                format!("{admin}, an administrator of your account, changed your password on {when_utc} UTC. You have been signed out of every device."),
                if must_change {
                    "Sign in with the password your administrator gives you; you will then choose a new one.".to_string()
                } else {
                    "Sign in with the password your administrator gives you.".to_string()
                },
                format!("If you did not expect this, contact your administrator or reset your password at {reset_url}."),
            ],
        ),
        Lang::Sv => (
            "Ditt lösenord har ändrats av en administratör".to_string(),
            vec![
                format!("Hej {name},"),
                format!("{admin}, administratör för ditt konto, ändrade ditt lösenord {when_utc} UTC. Du har loggats ut från alla enheter."),
                if must_change {
                    "Logga in med lösenordet från din administratör; därefter väljer du ett nytt.".to_string()
                } else {
                    "Logga in med lösenordet från din administratör.".to_string()
                },
                format!("Om du inte väntade dig detta, kontakta din administratör eller återställ lösenordet på {reset_url}."),
            ],
        ),
    };
    let html: Vec<String> = lines.iter().map(|l| esc(l)).collect();
    Rendered {
        subject,
        text: lines.join("\n\n"),
        html: html_page(lang, &html),
    }
}

/// Sent instead of a code when account existence is hidden and the account uses a provider.
pub fn sso_notice_email(
    lang: Lang,
    name: &str,
    provider: &str,
    recovery: Option<&str>,
) -> Rendered {
    let (subject, lines) = match lang {
        Lang::En => (
            "About your password reset request".to_string(),
            vec![
                format!("Hi {name},"),
                format!("Someone asked to reset the password of your account, but you sign in with {provider}. Reset your password with {provider}{}.", recovery.map(|u| format!(": {u}")).unwrap_or_default()),
                "If you did not ask, you can ignore this email.".to_string(),
            ],
        ),
        Lang::Sv => (
            "Om din begäran om lösenordsåterställning".to_string(),
            vec![
                format!("Hej {name},"),
                format!("Någon bad om att återställa lösenordet för ditt konto, men du loggar in med {provider}. Återställ lösenordet hos {provider}{}.", recovery.map(|u| format!(": {u}")).unwrap_or_default()),
                "Om det inte var du kan du bortse från det här meddelandet.".to_string(),
            ],
        ),
    };
    let html: Vec<String> = lines.iter().map(|l| esc(l)).collect();
    Rendered {
        subject,
        text: lines.join("\n\n"),
        html: html_page(lang, &html),
    }
}

/// A short description of a browser from its User-Agent, for the confirmation email.
pub fn describe_browser(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else {
        "a browser"
    };
    let os = if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        Some("iOS")
    } else if ua.contains("Mac OS") {
        Some("macOS")
    } else if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("Linux") {
        Some("Linux")
    } else {
        None
    };
    match os {
        Some(os) => format!("{browser} on {os}"),
        None => browser.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sms_ends_with_the_web_otp_line() {
        let r = reset_code_sms(Lang::En, "123456", 600, "portal.example.com");
        assert!(r.text.ends_with("\n@portal.example.com #123456"));
        assert!(r.text.contains("10 minutes"));
        assert!(r.text.len() < 160, "{}", r.text.len());
    }

    #[test]
    fn the_admin_reset_email_has_the_link_and_no_code_in_both_languages() {
        let link = "https://portal.example.com/reset?token=abc_DEF-123";
        for (lang, words) in [(Lang::En, "24 hours"), (Lang::Sv, "24 timmar")] {
            let r = admin_reset_email(
                lang,
                "Maja",
                "Ada <Admin>",
                link,
                86_400,
                "2026-01-16 10:00",
            );
            assert!(
                r.text.contains(link) && r.text.contains(words),
                "{}",
                r.text
            );
            assert!(r.html.contains(&format!("<a href=\"{link}\">")));
            assert!(r.html.contains("Ada &lt;Admin&gt;"));
            let digits = r.text.replace(link, "");
            let longest = digits
                .split(|c: char| !c.is_ascii_digit())
                .map(str::len)
                .max();
            assert!(longest < Some(6), "a code-like number in {digits}");
        }
    }

    #[test]
    fn names_are_escaped_in_html() {
        let r = password_changed_email(
            Lang::En,
            "<script>x</script>",
            &Origin {
                when_utc: "now".into(),
                browser: "b".into(),
                ip: "1".into(),
            },
            true,
            "u",
        );
        assert!(!r.html.contains("<script>"));
        assert!(r.text.contains("<script>"));
    }

    #[test]
    fn validity_reads_in_both_languages() {
        assert_eq!(validity(Lang::En, 86_400), "24 hours");
        assert_eq!(validity(Lang::Sv, 86_400), "24 timmar");
        assert_eq!(validity(Lang::Sv, 600), "10 minuter");
        assert_eq!(validity(Lang::En, 3600), "1 hour");
    }

    #[test]
    fn accept_language_picks_the_first_supported() {
        assert_eq!(
            Lang::from_accept_language("sv-SE,sv;q=0.9,en;q=0.8"),
            Lang::Sv
        );
        assert_eq!(Lang::from_accept_language("de,en;q=0.5,sv;q=0.1"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }

    #[test]
    fn browsers_are_described_briefly() {
        assert_eq!(
            describe_browser("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
            "Chrome on Linux"
        );
    }
}
