//! The words of every email and SMS, in English and Swedish, as plain text and HTML.
//!
//! The user's language is the one the request was made in (a reset) or the one stored on the
//! user (everything else). The words are askama templates under `server/templates/`, one per
//! message, language and form (`en/reset_code.txt` beside `en/reset_code.html`); a message's
//! `reset_code.txt` and `reset_code.html` pick the language, and every HTML form shares
//! `layout.html`. Templates are checked when the server is compiled, so a field a template names
//! must exist, and the HTML forms escape every value (a user's name is theirs to choose).

use askama::Template;

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

/// Every email's text form, by the template it is written in.
#[derive(Template)]
enum Text<'a> {
    #[template(path = "reset_code.txt")]
    ResetCode { m: &'a ResetCode<'a> },
    #[template(path = "admin_reset.txt")]
    AdminReset { m: &'a AdminReset<'a> },
    #[template(path = "password_changed.txt")]
    PasswordChanged { m: &'a PasswordChanged<'a> },
    #[template(path = "admin_changed.txt")]
    AdminChanged { m: &'a AdminChanged<'a> },
    #[template(path = "sso_notice.txt")]
    SsoNotice { m: &'a SsoNotice<'a> },
}

/// Every email's HTML form, by the template it is written in.
#[derive(Template)]
enum Html<'a> {
    #[template(path = "reset_code.html")]
    ResetCode { m: &'a ResetCode<'a> },
    #[template(path = "admin_reset.html")]
    AdminReset { m: &'a AdminReset<'a> },
    #[template(path = "password_changed.html")]
    PasswordChanged { m: &'a PasswordChanged<'a> },
    #[template(path = "admin_changed.html")]
    AdminChanged { m: &'a AdminChanged<'a> },
    #[template(path = "sso_notice.html")]
    SsoNotice { m: &'a SsoNotice<'a> },
}

/// An email from its text and HTML forms. The text form begins with a `Subject:` line and a
/// blank line, as a message does, so the subject is written beside the words it sums up.
fn email(text: &Text<'_>, html: &Html<'_>) -> Rendered {
    let text = render(text);
    let (subject, body) = text
        .strip_prefix("Subject: ")
        .and_then(|t| t.split_once("\n\n"))
        .unwrap_or(("", &text));
    Rendered {
        subject: subject.to_string(),
        text: body.to_string(),
        html: render(html),
    }
}

/// Rendering into a `String` fails only when a value's `Display` does, and these are strings.
fn render(t: &impl Template) -> String {
    t.render().unwrap_or_default()
}

/// How long something lasts, in words and with the plural the language wants: "1 timme",
/// "24 hours", "10 minuter". The one place messages spell out a duration.
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

struct ResetCode<'a> {
    lang: Lang,
    name: &'a str,
    code: &'a str,
    link: &'a str,
    validity: String,
    expires_utc: &'a str,
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
    let m = &ResetCode {
        lang,
        name,
        code,
        link,
        validity: validity(lang, valid_secs),
        expires_utc,
    };
    email(&Text::ResetCode { m }, &Html::ResetCode { m })
}

struct AdminReset<'a> {
    lang: Lang,
    name: &'a str,
    admin: &'a str,
    link: &'a str,
    validity: String,
    expires_utc: &'a str,
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
    let m = &AdminReset {
        lang,
        name,
        admin,
        link,
        validity: validity(lang, valid_secs),
        expires_utc,
    };
    email(&Text::AdminReset { m }, &Html::AdminReset { m })
}

#[derive(Template)]
#[template(path = "reset_code_sms.txt")]
struct ResetCodeSms<'a> {
    lang: Lang,
    code: &'a str,
    validity: String,
    host: &'a str,
}

/// The SMS: short, the code, the validity, and the Web OTP line (`@host #code`) last so browsers
/// can offer to fill the code in.
pub fn reset_code_sms(lang: Lang, code: &str, valid_secs: u64, host: &str) -> Rendered {
    let sms = ResetCodeSms {
        lang,
        code,
        validity: validity(lang, valid_secs),
        host,
    };
    Rendered {
        subject: String::new(),
        text: render(&sms),
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

struct PasswordChanged<'a> {
    lang: Lang,
    name: &'a str,
    origin: &'a Origin,
    reset: bool,
    reset_url: &'a str,
}

/// The confirmation after a self-service reset or a change of a remembered password.
pub fn password_changed_email(
    lang: Lang,
    name: &str,
    origin: &Origin,
    reset: bool,
    reset_url: &str,
) -> Rendered {
    let m = &PasswordChanged {
        lang,
        name,
        origin,
        reset,
        reset_url,
    };
    email(&Text::PasswordChanged { m }, &Html::PasswordChanged { m })
}

struct AdminChanged<'a> {
    lang: Lang,
    name: &'a str,
    admin: &'a str,
    when_utc: &'a str,
    must_change: bool,
    reset_url: &'a str,
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
    let m = &AdminChanged {
        lang,
        name,
        admin,
        when_utc,
        must_change,
        reset_url,
    };
    email(&Text::AdminChanged { m }, &Html::AdminChanged { m })
}

struct SsoNotice<'a> {
    lang: Lang,
    name: &'a str,
    provider: &'a str,
    recovery: Option<&'a str>,
}

/// Sent instead of a code when account existence is hidden and the account uses a provider.
pub fn sso_notice_email(
    lang: Lang,
    name: &str,
    provider: &str,
    recovery: Option<&str>,
) -> Rendered {
    let m = &SsoNotice {
        lang,
        name,
        provider,
        recovery,
    };
    email(&Text::SsoNotice { m }, &Html::SsoNotice { m })
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
            assert!(r.html.contains("Ada &#60;Admin&#62;"), "{}", r.html);
            let digits = r.text.replace(link, "");
            let longest = digits
                .split(|c: char| !c.is_ascii_digit())
                .map(str::len)
                .max();
            assert!(longest < Some(6), "a code-like number in {digits}");
        }
    }

    #[test]
    fn the_code_email_has_its_subject_and_paragraphs_in_order() {
        let r = reset_code_email(
            Lang::Sv,
            "Maja",
            "123456",
            "https://portal.example.com/reset?token=abc",
            600,
            "2026-01-16 10:00",
        );
        assert_eq!(r.subject, "Din kod för lösenordsåterställning: 123456");
        assert_eq!(
            r.text,
            "Hej Maja,\n\n\
             Vi har fått en begäran om att återställa lösenordet för ditt konto. Ange den här \
             verifieringskoden på återställningssidan:\n\n\
             123456\n\n\
             Eller öppna den här länken för att välja ett nytt lösenord:\n\
             https://portal.example.com/reset?token=abc\n\n\
             Koden och länken gäller i 10 minuter (till 2026-01-16 10:00 UTC), eller tills du \
             begär en ny kod.\n\n\
             Om du inte har bett om att återställa lösenordet kan du bortse från det här \
             meddelandet: ditt lösenord förblir detsamma."
        );
        assert!(r.html.starts_with("<!doctype html>\n<html lang=\"sv\">"));
        assert!(r
            .html
            .contains("<strong style=\"font-size:1.6em;letter-spacing:.2em\">123456</strong>"));
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
