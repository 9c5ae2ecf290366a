//! The words of every email and SMS, in English and Swedish, as plain text and HTML.
//!
//! The user's language is the one the request was made in (a reset) or the one stored on the
//! user (everything else). The words are templates under `server/templates/` (minijinja, Jinja2
//! syntax), one per message, language and form (`en/reset_code.txt` beside
//! `en/reset_code.html`); a message's `reset_code.txt` and `reset_code.html` pick the language,
//! and every HTML form extends `layout.html`. HTML forms escape every value (a user's name is
//! theirs to choose).
//!
//! minijinja rather than a compile-time engine, because companies brand their reset mail: the
//! templates are built into the binary, and `PORTAL_TEMPLATE_DIR` may hold any of them (same
//! file names) to replace the built-in ones without a rebuild. Every template is rendered at
//! start-up with sample values in both languages, through every branch of the messages, so a
//! broken or misnamed override stops start-up with one line instead of failing a user's reset.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::value::Serde;
use minijinja::{context, AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

/// A language messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Sv,
}

impl Lang {
    pub fn parse(s: &str) -> Self {
        Self::of_tag(s).unwrap_or(Self::En)
    }

    /// The language a tag names (`sv`, `sv-SE`, `EN-gb`), if it is one of ours.
    fn of_tag(tag: &str) -> Option<Self> {
        let primary = tag.to_lowercase();
        let primary = primary.split('-').next();
        [Self::En, Self::Sv]
            .into_iter()
            .find(|l| primary == Some(l.as_str()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Sv => "sv",
        }
    }

    /// The supported language an `Accept-Language` header prefers most: the highest weight, the
    /// first of equal ones; a weight of 0 means "not this one" (RFC 9110 12.4.2, 12.5.4).
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(f32, Self)> = None;
        for part in header.split(',') {
            let mut fields = part.split(';');
            let Some(lang) = Self::of_tag(fields.next().unwrap_or_default().trim()) else {
                continue;
            };
            let weight = fields
                .find_map(|f| f.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .unwrap_or(0.0);
            if weight > 0.0 && best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, lang));
            }
        }
        best.map_or(Self::En, |(_, lang)| lang)
    }
}

/// A rendered message.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
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

/// Where a change came from, for the confirmation emails.
#[derive(Debug, Clone, Serialize)]
pub struct Origin {
    pub when_utc: String,
    pub browser: String,
    pub ip: String,
}

/// Each built-in template by its name, from `server/templates/`.
macro_rules! built_in {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

const BUILT_IN: [(&str, &str); 34] = built_in![
    "layout.html",
    "reset_code.txt",
    "reset_code.html",
    "admin_reset.txt",
    "admin_reset.html",
    "password_changed.txt",
    "password_changed.html",
    "admin_changed.txt",
    "admin_changed.html",
    "sso_notice.txt",
    "sso_notice.html",
    "reset_code_sms.txt",
    "en/reset_code.txt",
    "en/reset_code.html",
    "en/admin_reset.txt",
    "en/admin_reset.html",
    "en/password_changed.txt",
    "en/password_changed.html",
    "en/admin_changed.txt",
    "en/admin_changed.html",
    "en/sso_notice.txt",
    "en/sso_notice.html",
    "en/reset_code_sms.txt",
    "sv/reset_code.txt",
    "sv/reset_code.html",
    "sv/admin_reset.txt",
    "sv/admin_reset.html",
    "sv/password_changed.txt",
    "sv/password_changed.html",
    "sv/admin_changed.txt",
    "sv/admin_changed.html",
    "sv/sso_notice.txt",
    "sv/sso_notice.html",
    "sv/reset_code_sms.txt",
];

fn built_in_sources() -> BTreeMap<String, String> {
    BUILT_IN
        .iter()
        .map(|(n, s)| ((*n).to_string(), (*s).to_string()))
        .collect()
}

/// The message templates, built in or overridden by the operator.
pub struct Templates {
    env: Environment<'static>,
    /// The built-in set, for a message an override fails to render (logged as an error).
    fallback: Option<Box<Templates>>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

fn environment(sources: BTreeMap<String, String>) -> Result<Environment<'static>, String> {
    let mut env = Environment::new();
    // A misspelled field is an error, found when the templates are checked at start-up.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_formatter(|out, state, value| {
        if *state.auto_escape() == AutoEscape::Html && !value.is_safe() {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            // `&`, `<`, `>`, `"` and `'` as entities, as markupsafe does; unlike minijinja's own
            // escaping, `/` stays as it is, so a link in a mail reads as the link it is
            // (entity-encoded URLs look like obfuscation to spam filters).
            let escaped = html_escape::encode_quoted_attribute(&text);
            out.write_str(&escaped).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
            })
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    for (name, source) in sources {
        env.add_template_owned(name.clone(), source)
            .map_err(|e| one_line(&e, &name))?;
    }
    Ok(env)
}

/// An error on one line: the template at fault (the innermost of an include or a layout), what
/// is wrong, and on which line.
fn one_line(e: &minijinja::Error, template: &str) -> String {
    use std::error::Error as _;
    let mut inner = e;
    while let Some(next) = inner
        .source()
        .and_then(|s| s.downcast_ref::<minijinja::Error>())
    {
        inner = next;
    }
    let mut s = format!("{}: {}", inner.name().unwrap_or(template), inner.kind());
    if let Some(detail) = inner.detail() {
        s = format!("{s}: {detail}");
    }
    if let Some(line) = inner.line() {
        s = format!("{s} (line {line})");
    }
    s.replace('\n', " ")
}

impl Templates {
    /// The templates built into the binary.
    pub fn built_in() -> Self {
        Self {
            // The built-in templates are checked by the tests below; they cannot fail here.
            env: environment(built_in_sources()).unwrap_or_default(),
            fallback: None,
        }
    }

    /// The built-in templates with the files of `dir` in place of those of the same name
    /// (`en/reset_code.html`, `layout.html`, …), each checked by rendering every message. The
    /// error names the file and what is wrong, on one line.
    pub fn load(dir: Option<&Path>) -> Result<Self, String> {
        let Some(dir) = dir else {
            return Ok(Self::built_in());
        };
        let mut sources = built_in_sources();
        let mut overridden = 0;
        for (name, path) in files(dir)? {
            if !sources.contains_key(&name) {
                return Err(format!(
                    "{}: '{name}' is not a template (the names are those under server/templates, e.g. en/reset_code.html)",
                    dir.display()
                ));
            }
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            sources.insert(name, text);
            overridden += 1;
        }
        if overridden == 0 {
            return Err(format!("{}: no template files in it", dir.display()));
        }
        let templates = Self {
            env: environment(sources)?,
            fallback: Some(Box::new(Self::built_in())),
        };
        templates.check()?;
        Ok(templates)
    }

    /// Renders every message, in both languages and through each of its branches, with sample
    /// values: a template that names a missing field, or whose text form lacks its `Subject:`
    /// line, fails here rather than when a user asks for a code.
    fn check(&self) -> Result<(), String> {
        let origin = Origin {
            when_utc: "2026-01-15 10:00".into(),
            browser: "Firefox on Linux".into(),
            ip: "203.0.113.9".into(),
        };
        let (name, link, until) = ("Ann", "https://portal.example.com/r", "2026-01-15 10:10");
        let mut samples = vec![
            Message::ResetCodeSms {
                code: "123456",
                valid_secs: 600,
                host: "portal.example.com",
            },
            Message::ResetCode {
                name,
                code: "123456",
                link,
                valid_secs: 600,
                expires_utc: until,
            },
            Message::AdminReset {
                name,
                admin: "Olle",
                link,
                valid_secs: 3600,
                expires_utc: until,
            },
        ];
        for yes in [true, false] {
            samples.extend([
                Message::PasswordChanged {
                    name,
                    origin: &origin,
                    reset: yes,
                    reset_url: link,
                },
                Message::AdminChanged {
                    name,
                    admin: "Olle",
                    when_utc: until,
                    must_change: yes,
                    reset_url: link,
                },
                Message::SsoNotice {
                    name,
                    provider: "Google",
                    recovery: yes.then_some("https://accounts.google.com/signin/recovery"),
                },
            ]);
        }
        for lang in [Lang::En, Lang::Sv] {
            for m in &samples {
                let r = self.try_render(lang, m)?;
                if m.is_email() && r.subject.trim().is_empty() {
                    return Err(
                        "a text form must begin with its 'Subject: ' line and a blank line".into(),
                    );
                }
            }
        }
        Ok(())
    }

    fn try_form(&self, name: &str, values: &Values) -> Result<String, String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(context! { m => Value::from(Serde(values)) }))
            .map_err(|e| one_line(&e, name))
    }

    /// A message from its text form and, for an email, its HTML form. An email's text form
    /// begins with a `Subject:` line and a blank line, as a message does, so the subject is
    /// written beside the words it sums up.
    fn try_render(&self, lang: Lang, m: &Message) -> Result<Rendered, String> {
        let values = Values {
            lang: lang.as_str(),
            validity: m.valid_secs().map(|secs| validity(lang, secs)),
            message: m,
        };
        let text = self.try_form(&format!("{}.txt", m.name()), &values)?;
        if !m.is_email() {
            return Ok(Rendered {
                text,
                ..Rendered::default()
            });
        }
        let html = self.try_form(&format!("{}.html", m.name()), &values)?;
        let (subject, body) = text
            .strip_prefix("Subject: ")
            .and_then(|t| t.split_once("\n\n"))
            .unwrap_or(("", &text));
        Ok(Rendered {
            subject: subject.to_string(),
            text: body.to_string(),
            html,
        })
    }

    /// A message in the user's language; an override that fails for these values is logged and
    /// the built-in one sent.
    pub fn render(&self, lang: Lang, m: &Message) -> Rendered {
        self.try_render(lang, m).unwrap_or_else(|e| {
            tracing::error!("template {}: {e}; the built-in one was used", m.name());
            self.fallback
                .as_ref()
                .map(|built_in| built_in.render(lang, m))
                .unwrap_or_default()
        })
    }
}

/// The files under `dir` (one level of language folders), by template name.
fn files(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>, String> {
    let read = |d: &Path| {
        std::fs::read_dir(d)
            .map_err(|e| format!("{}: {e}", d.display()))?
            .map(|entry| {
                entry
                    .map(|e| e.path())
                    .map_err(|e| format!("{}: {e}", d.display()))
            })
            .collect::<Result<Vec<_>, String>>()
    };
    let file_name = |p: &Path| {
        p.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into())
    };
    let mut out = Vec::new();
    for path in read(dir)? {
        let name = file_name(&path);
        if path.is_dir() {
            for inner in read(&path)? {
                out.push((format!("{name}/{}", file_name(&inner)), inner));
            }
        } else {
            out.push((name, path));
        }
    }
    out.sort();
    Ok(out)
}

/// A message and the values its templates read (`m.code`, `m.name`, …, besides `m.lang`, and
/// `m.validity` where the message has a lifetime).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Message<'a> {
    /// The verification code email: the code, the link, when both expire, and that it can be
    /// ignored.
    ResetCode {
        name: &'a str,
        code: &'a str,
        link: &'a str,
        #[serde(skip)]
        valid_secs: u64,
        expires_utc: &'a str,
    },
    /// An administrator started a reset for the user: the link only. The flow belongs to no
    /// browser, so a code would have nowhere to be typed; the link carries everything. The
    /// administrator is named so the user can tell a real request from a phishing copy (OWASP
    /// Forgot Password Cheat Sheet: say who asked, how long the link lives, and what to do if it
    /// was unexpected).
    AdminReset {
        name: &'a str,
        admin: &'a str,
        link: &'a str,
        #[serde(skip)]
        valid_secs: u64,
        expires_utc: &'a str,
    },
    /// The SMS: short, the code, the validity, and the Web OTP line (`@host #code`) last so
    /// browsers can offer to fill the code in.
    ResetCodeSms {
        code: &'a str,
        #[serde(skip)]
        valid_secs: u64,
        host: &'a str,
    },
    /// The confirmation after a self-service reset or a change of a remembered password.
    PasswordChanged {
        name: &'a str,
        origin: &'a Origin,
        reset: bool,
        reset_url: &'a str,
    },
    /// An administrator set the user's password.
    AdminChanged {
        name: &'a str,
        admin: &'a str,
        when_utc: &'a str,
        must_change: bool,
        reset_url: &'a str,
    },
    /// Sent instead of a code when account existence is hidden and the account uses a provider.
    SsoNotice {
        name: &'a str,
        provider: &'a str,
        recovery: Option<&'a str>,
    },
}

impl Message<'_> {
    /// Its templates' name, without the language and the form.
    fn name(&self) -> &'static str {
        match self {
            Self::ResetCode { .. } => "reset_code",
            Self::AdminReset { .. } => "admin_reset",
            Self::ResetCodeSms { .. } => "reset_code_sms",
            Self::PasswordChanged { .. } => "password_changed",
            Self::AdminChanged { .. } => "admin_changed",
            Self::SsoNotice { .. } => "sso_notice",
        }
    }

    fn is_email(&self) -> bool {
        !matches!(self, Self::ResetCodeSms { .. })
    }

    fn valid_secs(&self) -> Option<u64> {
        match self {
            Self::ResetCode { valid_secs, .. }
            | Self::AdminReset { valid_secs, .. }
            | Self::ResetCodeSms { valid_secs, .. } => Some(*valid_secs),
            _ => None,
        }
    }
}

/// What a template sees as `m`: the message's values, its language and its lifetime in words.
#[derive(Serialize)]
struct Values<'a> {
    lang: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    validity: Option<String>,
    #[serde(flatten)]
    message: &'a Message<'a>,
}

/// A short description of a browser from its User-Agent, for the confirmation email.
pub fn describe_browser(user_agent: &str) -> String {
    // The first mark the User-Agent contains, in this order (Edge's also says Chrome and Safari).
    let first = |marks: &[(&str, &'static str)]| {
        marks
            .iter()
            .find(|(mark, _)| user_agent.contains(mark))
            .map(|(_, name)| *name)
    };
    let browser = first(&[
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chrome"),
        ("Safari/", "Safari"),
    ]);
    let os = first(&[
        ("Windows", "Windows"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("Mac OS", "macOS"),
        ("Android", "Android"),
        ("Linux", "Linux"),
    ]);
    let browser = browser.unwrap_or("a browser");
    match os {
        Some(os) => format!("{browser} on {os}"),
        None => browser.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Templates {
        Templates::built_in()
    }

    #[test]
    fn the_sms_ends_with_the_web_otp_line() {
        let m = Message::ResetCodeSms {
            code: "123456",
            valid_secs: 600,
            host: "portal.example.com",
        };
        let r = t().render(Lang::En, &m);
        assert!(r.text.ends_with("\n@portal.example.com #123456"));
        assert!(r.text.contains("10 minutes"));
        assert!(r.text.len() < 160, "{}", r.text.len());
    }

    #[test]
    fn the_admin_reset_email_has_the_link_and_no_code_in_both_languages() {
        let link = "https://portal.example.com/reset#token=abc_DEF-123";
        for (lang, words) in [(Lang::En, "24 hours"), (Lang::Sv, "24 timmar")] {
            let m = Message::AdminReset {
                name: "Maja",
                admin: "Ada <Admin>",
                link,
                valid_secs: 86_400,
                expires_utc: "2026-01-16 10:00",
            };
            let r = t().render(lang, &m);
            assert!(
                r.text.contains(link) && r.text.contains(words),
                "{}",
                r.text
            );
            assert!(r.html.contains(&format!("<a href=\"{link}\">")));
            assert!(r.html.contains("Ada &lt;Admin&gt;"), "{}", r.html);
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
        let m = Message::ResetCode {
            name: "Maja",
            code: "123456",
            link: "https://portal.example.com/reset#token=abc",
            valid_secs: 600,
            expires_utc: "2026-01-16 10:00",
        };
        let r = t().render(Lang::Sv, &m);
        assert_eq!(r.subject, "Din kod för lösenordsåterställning: 123456");
        assert_eq!(
            r.text,
            "Hej Maja,\n\n\
             Vi har fått en begäran om att återställa lösenordet för ditt konto. Ange den här \
             verifieringskoden på återställningssidan:\n\n\
             123456\n\n\
             Eller öppna den här länken för att välja ett nytt lösenord:\n\
             https://portal.example.com/reset#token=abc\n\n\
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
        let origin = Origin {
            when_utc: "now".into(),
            browser: "b".into(),
            ip: "1".into(),
        };
        let m = Message::PasswordChanged {
            name: "<script>x</script>",
            origin: &origin,
            reset: true,
            reset_url: "u",
        };
        let r = t().render(Lang::En, &m);
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
    fn accept_language_picks_the_most_preferred_supported() {
        assert_eq!(
            Lang::from_accept_language("sv-SE,sv;q=0.9,en;q=0.8"),
            Lang::Sv
        );
        assert_eq!(Lang::from_accept_language("de,en;q=0.5,sv;q=0.1"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
        // Weights rule over order, and q=0 refuses a language.
        assert_eq!(Lang::from_accept_language("en;q=0.5, sv"), Lang::Sv);
        assert_eq!(Lang::from_accept_language("sv;q=0, en;q=0.1"), Lang::En);
        assert_eq!(Lang::from_accept_language("sv;q=0"), Lang::En);
    }

    #[test]
    fn browsers_are_described_briefly() {
        assert_eq!(
            describe_browser("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
            "Chrome on Linux"
        );
    }

    /// A directory holding `files` (name, text), as an operator's `PORTAL_TEMPLATE_DIR`.
    fn dir_with(files: &[(&str, &str)]) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("portal-templates-{:x}", rand::random::<u64>()));
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap_or(&dir)).unwrap_or_default();
            std::fs::write(path, text).unwrap_or_default();
        }
        dir
    }

    #[test]
    fn the_built_in_templates_pass_the_check_an_override_must_pass() {
        assert_eq!(t().check(), Ok(()));
    }

    #[test]
    fn an_operators_template_replaces_the_built_in_one_and_still_escapes() {
        let dir = dir_with(&[(
            "en/reset_code.html",
            "<p>ACME Corp</p><p>{{ m.name }}: <b>{{ m.code }}</b> ({{ m.validity }})</p>",
        )]);
        let t = Templates::load(Some(&dir)).unwrap_or_else(|e| panic!("{e}"));
        let code = |name| Message::ResetCode {
            name,
            code: "123456",
            link: "https://x.test/r",
            valid_secs: 600,
            expires_utc: "x",
        };
        let en = t.render(Lang::En, &code("<i>Ann</i>"));
        assert!(
            en.html.contains(
                "<p>ACME Corp</p><p>&lt;i&gt;Ann&lt;/i&gt;: <b>123456</b> (10 minutes)</p>"
            ),
            "{}",
            en.html
        );
        assert!(
            en.html.starts_with("<!doctype html>"),
            "the built-in layout stays: {}",
            en.html
        );
        assert_eq!(
            en.subject, "Your password reset code: 123456",
            "the text form is the built-in one"
        );
        let sv = t.render(Lang::Sv, &code("Ann"));
        assert!(!sv.html.contains("ACME"), "only the file given is replaced");
    }

    #[test]
    fn a_broken_or_misnamed_template_is_refused_with_one_line_naming_it() {
        for (files, says) in [
            (
                vec![("en/reset_code.html", "{% if m.code %}never closed")],
                "en/reset_code.html: syntax error",
            ),
            (
                vec![("sv/admin_reset.txt", "Subject: x\n\n{{ m.adminn }}")],
                "sv/admin_reset.txt: undefined value",
            ),
            (
                vec![("en/reset_code.txt", "no subject line {{ m.code }}")],
                "must begin with its 'Subject: ' line",
            ),
            (
                vec![("en/reset-code.html", "x")],
                "'en/reset-code.html' is not a template",
            ),
            (vec![], "no template files in it"),
        ] {
            let dir = dir_with(&files);
            std::fs::create_dir_all(&dir).unwrap_or_default();
            match Templates::load(Some(&dir)) {
                Ok(_) => panic!("{files:?} was accepted"),
                Err(e) => {
                    assert!(e.contains(says), "{e}");
                    assert!(!e.contains('\n'), "{e}");
                }
            }
        }
    }
}
