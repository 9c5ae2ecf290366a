//! Layered configuration: defaults, then an optional TOML file, then the environment, then flags.
//!
//! Every setting is defined once, in the [`settings!`] list below: its field and type, the
//! variable and file key that set it, its default and what it means. Values stay text until
//! [`RawConfig::parse`] reads each into its type; a mistake stops start-up with one line naming
//! where the value was set: the flag (`--bind`), the variable, or the file and key
//! (`portal.toml: limits.codes_per_hour`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::ops::Deref;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use url::Url;

pub use crate::domain::client::ClientIpHeader;
use crate::domain::host::{HostPort, Hosts};

/// One setting's names and default, for the loader, `portal config` and the README's check.
pub struct Setting {
    /// The field of [`Settings`]; flags are given by it too.
    pub key: &'static str,
    /// The environment variable.
    pub var: &'static str,
    /// The key in the TOML file: `section.name` for a setting in a section.
    pub file: &'static str,
    /// The default as it would be written, or `None`: unset, or derived from other settings.
    pub default: Option<&'static str>,
    pub redact: Redact,
}

/// How `portal config` shows a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redact {
    No,
    /// `***`.
    All,
    /// A URL with its password as `***`.
    Password,
}

macro_rules! default_text {
    () => {
        None
    };
    ($d:literal) => {
        Some($d)
    };
}

/// Defines [`Settings`] and [`SETTINGS`] from one list: `field: Type = VARIABLE, file key[, default]`.
macro_rules! settings {
    ($( $(#[doc = $doc:literal])+ $field:ident: $ty:ty = $var:literal, $file:literal $(, $default:literal)?; )+) => {
        /// The settings, each read into its type.
        #[derive(Debug, Clone)]
        pub struct Settings { $( $(#[doc = $doc])+ pub $field: $ty, )+ }

        /// Every setting, in the order `portal config` prints them.
        pub const SETTINGS: &[Setting] = &[$(Setting {
            key: stringify!($field),
            var: $var,
            file: $file,
            default: default_text!($($default)?),
            redact: <$ty as FromText>::REDACT,
        },)+];

        impl Settings {
            fn read(raw: &RawConfig) -> Result<Self, ConfigError> {
                Ok(Self { $( $field: raw.value(stringify!($field))?, )+ })
            }
        }
    };
}

settings! {
    /// Listen address: `ip:port`, or `host:port` resolved at start-up (IPv4 first).
    bind: Bind = "PORTAL_BIND", "bind", "127.0.0.1:3000";
    /// `sqlite:…` or `postgres://…`; unset: `portal.db` in the data directory.
    database_url: Option<DatabaseUrl> = "DATABASE_URL", "database_url";
    /// The SQLite file, the generated secret and the dev mailbox.
    data_dir: PathBuf = "PORTAL_DATA_DIR", "data_dir", "data";
    /// The built web app.
    static_dir: PathBuf = "PORTAL_STATIC_DIR", "static_dir", "dist";
    /// The origin in emailed links, without a path; unset: `http://<bind>`.
    public_url: Option<PublicUrl> = "PORTAL_PUBLIC_URL", "public_url";
    /// The relay: `smtp://host:port` (STARTTLS per `smtp_tls`) or `smtps://user:pass@host:465`;
    /// unset: the dev mailbox.
    smtp_url: Option<SmtpUrl> = "SMTP_URL", "smtp.url";
    /// Whether an `smtp://` connection must use STARTTLS; unset: `required` when the URL has
    /// credentials, else `opportunistic`.
    smtp_tls: Option<SmtpTls> = "PORTAL_SMTP_TLS", "smtp.tls";
    /// A PEM file of certificate authorities the relay's certificate may chain to, besides the
    /// public ones (a company's own CA).
    smtp_ca: Option<CaFile> = "PORTAL_SMTP_CA", "smtp.ca";
    /// The sender of every email; unset: `no-reply@<public host>`.
    mail_from: Option<MailFrom> = "MAIL_FROM", "mail_from";
    /// The key of codes, tokens and queued messages; unset: generated into `<data dir>/secret`.
    secret: Option<Secret<32>> = "PORTAL_SECRET", "secret";
    /// Answer unknown identifiers exactly like known ones.
    hide_account_existence: bool = "PORTAL_HIDE_ACCOUNT_EXISTENCE", "hide_account_existence", "false";
    /// The first resend's wait; it doubles per resend. No cooldown (0) is a choice, for a test rig.
    resend_cooldown_secs: Secs<0> = "PORTAL_RESEND_COOLDOWN_SECS", "resend_cooldown_secs", "60";
    /// Email code and link lifetime: the article's 24 hours.
    code_ttl_secs: Secs = "PORTAL_CODE_TTL_SECS", "code_ttl_secs", "86400";
    /// SMS code lifetime (NIST SP 800-63B-4: out-of-band secrets are short-lived).
    sms_code_ttl_secs: Secs = "PORTAL_SMS_CODE_TTL_SECS", "sms.code_ttl_secs", "600";
    /// A session ends after this long without a request.
    session_idle_secs: Secs = "PORTAL_SESSION_IDLE_SECS", "session.idle_secs", "7200";
    /// A session ends this long after sign-in, used or not.
    session_absolute_secs: Secs = "PORTAL_SESSION_ABSOLUTE_SECS", "session.absolute_secs", "86400";
    /// The region of national phone numbers.
    default_region: Region = "PORTAL_DEFAULT_REGION", "default_region", "SE";
    /// `log` (the dev mailbox) or `twilio`.
    sms_provider: SmsKind = "SMS_PROVIDER", "sms.provider", "log";
    /// Regions SMS may go to, comma-separated (NIST 800-63B-4 and OWASP: limit SMS pumping
    /// exposure); unset: the default region's.
    sms_countries: List<Region> = "PORTAL_SMS_COUNTRIES", "sms.countries";
    /// SMS codes per number an hour.
    sms_per_number_hour: Cap = "PORTAL_SMS_PER_NUMBER_HOUR", "sms.per_number_hour", "3";
    /// SMS codes per number a day.
    sms_per_number_day: Cap = "PORTAL_SMS_PER_NUMBER_DAY", "sms.per_number_day", "5";
    /// SMS codes per number prefix an hour.
    sms_per_prefix_hour: Cap = "PORTAL_SMS_PER_PREFIX_HOUR", "sms.per_prefix_hour", "20";
    /// SMS codes in all an hour.
    sms_global_hour: Cap = "PORTAL_SMS_GLOBAL_HOUR", "sms.global_hour", "1000";
    /// Twilio's account.
    twilio_account_sid: Option<String> = "TWILIO_ACCOUNT_SID", "twilio.account_sid";
    /// Twilio's token.
    twilio_auth_token: Option<Secret<1>> = "TWILIO_AUTH_TOKEN", "twilio.auth_token";
    /// The number SMS come from, in E.164 form.
    twilio_from: Option<E164> = "TWILIO_FROM", "twilio.from";
    /// Twilio's API.
    twilio_api_base: HttpUrl = "TWILIO_API_BASE", "twilio.api_base", "https://api.twilio.com";
    /// Codes per identity an hour.
    codes_per_hour: Cap = "PORTAL_CODES_PER_HOUR", "limits.codes_per_hour", "5";
    /// Codes per identity a day.
    codes_per_day: Cap = "PORTAL_CODES_PER_DAY", "limits.codes_per_day", "10";
    /// Code requests per client address an hour.
    ip_requests_per_hour: Cap = "PORTAL_IP_REQUESTS_PER_HOUR", "limits.ip_requests_per_hour", "60";
    /// Code guesses per client address an hour.
    ip_verifications_per_hour: Cap = "PORTAL_IP_VERIFICATIONS_PER_HOUR", "limits.ip_verifications_per_hour", "120";
    /// `text` or `json`.
    log_format: LogFormat = "PORTAL_LOG_FORMAT", "log_format", "text";
    /// Password hashes computed at once; unset: one per core.
    hash_concurrency: Option<Workers> = "PORTAL_HASH_CONCURRENCY", "hash_concurrency";
    /// Messages delivered at once: each sender keeps one SMTP connection. Eight keep up with a
    /// flood of code requests on two cores (bench/README.md: four fell behind at 3,200/s).
    outbox_workers: Workers = "PORTAL_OUTBOX_WORKERS", "outbox_workers", "8";
    /// Reverse proxies whose forwarding header is believed (comma-separated IPs or CIDRs); unset:
    /// none, the TCP peer is the client.
    trusted_proxies: List<ipnet::IpNet> = "PORTAL_TRUSTED_PROXIES", "trusted_proxies";
    /// The header those proxies write the client's address into.
    client_ip_header: ClientIpHeader = "PORTAL_CLIENT_IP_HEADER", "client_ip_header", "x-forwarded-for";
    /// When set, `/metrics` answers only to `Authorization: Bearer <token>`.
    metrics_token: Option<Secret<16>> = "PORTAL_METRICS_TOKEN", "metrics_token";
    /// How often expired flows, codes, sessions and old outbox rows are deleted.
    prune_interval_secs: Secs = "PORTAL_PRUNE_INTERVAL_SECS", "prune_interval_secs", "3600";
    /// Host names besides the public URL's that `Host` may carry (`host` or `host:port`,
    /// comma-separated).
    allowed_hosts: List<HostName> = "PORTAL_ALLOWED_HOSTS", "allowed_hosts";
    /// Templates that replace the built-in ones of the same name (checked at start-up).
    template_dir: Option<PathBuf> = "PORTAL_TEMPLATE_DIR", "template_dir";
}

/// A value read from the text an operator wrote; the error is the rest of the one line
/// start-up prints after the setting's name.
pub trait FromText: Sized {
    const REDACT: Redact = Redact::No;
    fn from_text(s: &str) -> Result<Self, String>;
}

/// Blank is unset.
impl<T: FromText> FromText for Option<T> {
    const REDACT: Redact = T::REDACT;
    fn from_text(s: &str) -> Result<Self, String> {
        match s.trim() {
            "" => Ok(None),
            _ => T::from_text(s).map(Some),
        }
    }
}

/// `FromText` for a type written as one of a few words.
macro_rules! words {
    ($ty:ty { $($word:literal => $value:expr),+ }) => {
        impl FromText for $ty {
            fn from_text(s: &str) -> Result<Self, String> {
                one_of(s, &[$(($word, $value)),+])
            }
        }
    };
}

words!(bool { "true" => true, "false" => false });
words!(SmtpTls { "required" => Self::Required, "opportunistic" => Self::Opportunistic, "none" => Self::None });
words!(SmsKind { "log" => Self::Log, "twilio" => Self::Twilio });
words!(LogFormat { "text" => Self::Text, "json" => Self::Json });
words!(ClientIpHeader { "x-forwarded-for" => Self::XForwardedFor, "forwarded" => Self::Forwarded });

/// One of the words of an enum, or the list of them.
fn one_of<T: Copy>(s: &str, words: &[(&str, T)]) -> Result<T, String> {
    let s = s.trim().to_ascii_lowercase();
    let known: Vec<&str> = words.iter().map(|(w, _)| *w).collect();
    words
        .iter()
        .find(|(w, _)| *w == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| format!("'{s}' is not one of: {}", known.join(", ")))
}

impl FromText for String {
    fn from_text(s: &str) -> Result<Self, String> {
        Ok(s.to_string())
    }
}

impl FromText for PathBuf {
    fn from_text(s: &str) -> Result<Self, String> {
        Ok(PathBuf::from(s))
    }
}

/// A year: the longest any timer may be, so that `now + ttl` stays a date.
const YEAR_SECS: u64 = 365 * 24 * 3600;

/// A timer in whole seconds, from `MIN` up to a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secs<const MIN: u64 = 1>(u64);

impl<const MIN: u64> Secs<MIN> {
    pub fn get(self) -> u64 {
        self.0
    }

    pub fn duration(self) -> Duration {
        Duration::from_secs(self.0)
    }
}

impl<const MIN: u64> FromText for Secs<MIN> {
    fn from_text(s: &str) -> Result<Self, String> {
        match s.trim().parse::<u64>() {
            Ok(n) if (MIN..=YEAR_SECS).contains(&n) => Ok(Self(n)),
            _ => Err(format!(
                "must be a whole number of seconds, at least {MIN} and at most {YEAR_SECS} (a year)"
            )),
        }
    }
}

/// How many of something an hour or a day: a cap of 0 would refuse every request.
pub type Cap = NonZeroU32;

impl FromText for Cap {
    fn from_text(s: &str) -> Result<Self, String> {
        s.trim().parse().map_err(|_| {
            format!(
                "must be a whole number, at least 1 and at most {}",
                u32::MAX
            )
        })
    }
}

/// How many tasks or threads work at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workers(usize);

impl Workers {
    pub fn get(self) -> usize {
        self.0
    }
}

impl FromText for Workers {
    fn from_text(s: &str) -> Result<Self, String> {
        match s.trim().parse::<usize>() {
            Ok(n) if (1..=1024).contains(&n) => Ok(Self(n)),
            _ => Err("must be a whole number, at least 1 and at most 1024".into()),
        }
    }
}

/// A comma-separated list; blank is empty.
#[derive(Debug, Clone, Default)]
pub struct List<T>(pub Vec<T>);

impl<T> Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: FromText> FromText for List<T> {
    fn from_text(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(T::from_text)
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// A secret of at least `MIN` characters; `portal config` shows it as `***`.
#[derive(Debug, Clone)]
pub struct Secret<const MIN: usize>(SecretString);

impl<const MIN: usize> Deref for Secret<MIN> {
    type Target = SecretString;
    fn deref(&self) -> &SecretString {
        &self.0
    }
}

impl<const MIN: usize> FromText for Secret<MIN> {
    const REDACT: Redact = Redact::All;
    fn from_text(s: &str) -> Result<Self, String> {
        if s.chars().count() < MIN {
            return Err(format!("must be at least {MIN} characters"));
        }
        Ok(Self(SecretString::from(s)))
    }
}

/// `PORTAL_BIND`: the address as written (`localhost:3000`, the default public URL's host) and
/// what it resolved to.
#[derive(Debug, Clone)]
pub struct Bind {
    pub given: String,
    pub addr: SocketAddr,
}

impl FromText for Bind {
    /// An IP and port, or a host name and port resolved now (IPv4 first, so that
    /// `localhost:3000` listens where browsers look first).
    fn from_text(s: &str) -> Result<Self, String> {
        let bind = s.trim();
        let found = |addr| {
            Ok(Self {
                given: bind.to_string(),
                addr,
            })
        };
        if let Ok(addr) = bind.parse() {
            return found(addr);
        }
        let shape = || {
            format!("'{bind}' is not a host:port address (e.g. 127.0.0.1:3000 or localhost:3000)")
        };
        let (host, port) = bind.rsplit_once(':').ok_or_else(shape)?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(shape());
        }
        let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(bind)
            .map_err(|e| format!("cannot resolve '{host}' ({e})"))?
            .collect();
        match addrs.iter().find(|a| a.is_ipv4()).or(addrs.first()) {
            Some(addr) => found(*addr),
            None => Err(format!("'{host}' resolves to no address")),
        }
    }
}

/// `DATABASE_URL`: PostgreSQL, or a SQLite file. `Debug` masks a password in it.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// `DATABASE_URL`, or `portal.db` in the data directory.
    fn or_default(url: Option<&Self>, data_dir: &std::path::Path) -> Self {
        url.cloned().unwrap_or_else(|| {
            Self(format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("portal.db").display()
            ))
        })
    }
}

impl Deref for DatabaseUrl {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl FromText for DatabaseUrl {
    const REDACT: Redact = Redact::Password;
    fn from_text(s: &str) -> Result<Self, String> {
        let u = s.trim();
        // Every pooled connection would open its own empty database, and all of it would
        // vanish at exit.
        if u.starts_with("sqlite:")
            && (crate::store::sqlite_path(u).is_none() || u.contains("mode=memory"))
        {
            return Err(format!("'{u}' is an in-memory database, whose data would vanish: name a file, e.g. sqlite://data/portal.db"));
        }
        if !["postgres://", "postgresql://", "sqlite:"]
            .iter()
            .any(|p| u.starts_with(p))
        {
            let u = redact_url(u);
            return Err(format!("'{u}' must start with postgres:// or sqlite:"));
        }
        Ok(Self(u.to_string()))
    }
}

/// An `http://` or `https://` URL with a host.
#[derive(Debug, Clone)]
pub struct HttpUrl(pub Url);

impl FromText for HttpUrl {
    fn from_text(s: &str) -> Result<Self, String> {
        let url = Url::parse(s.trim()).map_err(|e| format!("'{s}' is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err("must be an http:// or https:// URL with a host".into());
        }
        Ok(Self(url))
    }
}

/// `PORTAL_PUBLIC_URL`: an origin. Links in messages, cookies (`__Host-` needs `Path=/`) and the
/// web app's routes all start at `/`: a path would be dropped from some of them.
#[derive(Debug, Clone)]
pub struct PublicUrl(pub Url);

impl FromText for PublicUrl {
    fn from_text(s: &str) -> Result<Self, String> {
        let HttpUrl(url) = HttpUrl::from_text(s)?;
        if url.path() != "/" || url.query().is_some() {
            return Err(format!(
                "'{url}' has a path: serving under a path is not supported, give the origin only ({})",
                url.origin().ascii_serialization()
            ));
        }
        Ok(Self(url))
    }
}

/// `SMTP_URL`, which may hold the relay's password.
#[derive(Debug, Clone)]
pub struct SmtpUrl {
    url: SecretString,
    credentials: bool,
}

impl Deref for SmtpUrl {
    type Target = SecretString;
    fn deref(&self) -> &SecretString {
        &self.url
    }
}

impl FromText for SmtpUrl {
    const REDACT: Redact = Redact::Password;
    fn from_text(s: &str) -> Result<Self, String> {
        let parsed =
            Url::parse(s.trim()).map_err(|_| format!("'{}' is not a URL", redact_url(s)))?;
        if !matches!(parsed.scheme(), "smtp" | "smtps") || parsed.host_str().is_none() {
            return Err("must look like smtp://host:port or smtps://user:pass@host:465".into());
        }
        // lettre's own `?tls=` would say what PORTAL_SMTP_TLS says: one place decides.
        if parsed.query().is_some() {
            return Err("takes no query: STARTTLS is PORTAL_SMTP_TLS".into());
        }
        // Whatever lettre's own parser refuses is refused here, in its words.
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(s.trim())
            .map_err(|e| format!("'{}': {e}", redact_url(s)))?;
        Ok(Self {
            url: SecretString::from(s.trim()),
            credentials: !parsed.username().is_empty(),
        })
    }
}

/// `PORTAL_SMTP_CA`: the certificates of a PEM file, read at start-up.
#[derive(Debug, Clone)]
pub struct CaFile(pub Vec<CertificateDer<'static>>);

impl FromText for CaFile {
    fn from_text(s: &str) -> Result<Self, String> {
        let pem = std::fs::read(s.trim()).map_err(|e| format!("cannot read '{s}' ({e})"))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("'{s}' is not a PEM file of certificates ({e})"))?;
        if certs.is_empty() {
            return Err(format!("'{s}' holds no PEM certificate"));
        }
        Ok(Self(certs))
    }
}

/// Whether an `smtp://` connection must be encrypted with STARTTLS before anything is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// No STARTTLS, no message: neither the relay password nor a code crosses the network in
    /// clear, even when a man in the middle deletes the server's STARTTLS offer (RFC 3207
    /// section 6 describes that attack; OWASP ASVS 4.0.3 9.2.2 / 5.0 12.3.1: outbound
    /// connections use TLS and never fall back to clear).
    Required,
    /// STARTTLS when the server offers it, as MTAs relay to each other; whoever strips the
    /// offer reads what is sent.
    Opportunistic,
    /// Never STARTTLS, for a relay on the same host or network whose TLS cannot be used.
    None,
}

/// `MAIL_FROM`: an address a relay accepts.
#[derive(Debug, Clone)]
pub struct MailFrom(String);

impl FromText for MailFrom {
    fn from_text(s: &str) -> Result<Self, String> {
        let from = s.trim();
        from.parse::<lettre::message::Mailbox>()
            .map(|_| Self(from.to_string()))
            .map_err(|_| format!("'{s}' is not an email address"))
    }
}

/// A region (`SE`) and its calling code (46).
#[derive(Debug, Clone, Copy)]
pub struct Region {
    pub id: phonenumber::country::Id,
    pub calling_code: u16,
}

impl FromText for Region {
    fn from_text(s: &str) -> Result<Self, String> {
        let r = s.trim().to_uppercase();
        let not = || format!("'{r}' is not a two-letter region code (e.g. SE)");
        let id: phonenumber::country::Id = r.parse().map_err(|_| not())?;
        let meta = phonenumber::metadata::DATABASE
            .by_id(id.as_ref())
            .ok_or_else(not)?;
        Ok(Self {
            id,
            calling_code: meta.country_code(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsKind {
    Log,
    Twilio,
}

/// `TWILIO_FROM`: an E.164 number (`+46700000000`). Alphanumeric sender ids are not accepted:
/// several countries (the US and Canada among them) refuse them, replies cannot reach them, and
/// a word like `nonsense` is then indistinguishable from a typo.
#[derive(Debug, Clone)]
pub struct E164(pub String);

impl FromText for E164 {
    fn from_text(s: &str) -> Result<Self, String> {
        let from = s.trim();
        let digits = from.strip_prefix('+').unwrap_or_default();
        if (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
        {
            Ok(Self(from.to_string()))
        } else {
            Err(format!(
                "'{from}' is not a phone number in E.164 form (e.g. +46700000000)"
            ))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A trusted proxy: an address or a CIDR range.
impl FromText for ipnet::IpNet {
    fn from_text(p: &str) -> Result<Self, String> {
        p.parse::<ipnet::IpNet>()
            .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| format!("'{p}' is not an IP address or CIDR range"))
    }
}

/// `host` or `host:port`; a host without a port is reached on the public URL's.
#[derive(Debug, Clone)]
pub struct HostName(String);

impl FromText for HostName {
    fn from_text(h: &str) -> Result<Self, String> {
        HostPort::parse(h, 0)
            .map(|_| Self(h.to_string()))
            .ok_or_else(|| format!("'{h}' is not a host name or host:port"))
    }
}

/// Which SMS provider sends codes.
#[derive(Debug, Clone)]
pub enum SmsProvider {
    /// The dev mailbox: logged and written to a file, never delivered.
    Log,
    Twilio {
        account_sid: String,
        auth_token: SecretString,
        from: String,
        api_base: Url,
    },
}

/// The settings the server runs with (through `Deref`), and the effective value of each setting
/// whose default follows from others. Those fields shadow the setting of the same name:
/// `config.public_url` is the URL in use, `config.settings.public_url` what was given.
#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub database_url: DatabaseUrl,
    pub public_url: Url,
    pub smtp_tls: SmtpTls,
    pub mail_from: String,
    pub sms_provider: SmsProvider,
    /// Calling codes SMS may go to.
    pub sms_country_codes: Vec<u16>,
    pub hash_concurrency: usize,
    /// Besides the public URL's, with a port each.
    pub allowed_hosts: Vec<HostPort>,
}

impl Deref for Config {
    type Target = Settings;
    fn deref(&self) -> &Settings {
        &self.settings
    }
}

/// A setting that cannot be used; `Display` is the one line start-up prints.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {problem}")]
pub struct ConfigError {
    pub var: String,
    pub problem: String,
}

fn err(var: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var: var.to_string(),
        problem: problem.into(),
    }
}

fn by_key(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// The environment variable a setting is set by.
pub fn env_name(key: &str) -> String {
    by_key(key).map_or_else(|| key.to_uppercase(), |s| s.var.to_string())
}

/// The settings as given: text, by setting, with where each came from. [`RawConfig::parse`]
/// reads them into a [`Config`].
#[derive(Debug, Clone, Default)]
pub struct RawConfig {
    values: BTreeMap<&'static str, (String, String)>,
    /// Keys [`RawConfig::set`] was given that name no setting: `parse` refuses them.
    unknown: Vec<String>,
}

impl RawConfig {
    /// The TOML file (`PORTAL_CONFIG`, or `./portal.toml` when it exists), then the environment,
    /// then `overrides` (the flags, as key and value).
    pub fn load_with(overrides: &[(&str, String)]) -> Result<Self, ConfigError> {
        Self::load_from(environment(std::env::vars_os())?, overrides)
    }

    /// [`RawConfig::load_with`] with the environment given.
    pub fn load_from(
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &[(&str, String)],
    ) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = env.into_iter().collect();
        let mut raw = Self::default();
        if let Some((path, text)) = config_file(env.get("PORTAL_CONFIG").map(String::as_str))? {
            raw.read_file(&path, &text).map_err(|e| err(&path, e))?;
        }
        for (var, value) in &env {
            if let Some(s) = SETTINGS.iter().find(|s| s.var == var) {
                raw.values.insert(s.key, (value.clone(), var.clone()));
            }
        }
        for (key, value) in overrides {
            let flag = format!("--{}", key.replace('_', "-"));
            raw.put(key, value, flag).map_err(|e| err("flags", e))?;
        }
        Ok(raw)
    }

    /// Sets a setting as a program would (its variable is named in errors).
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        let origin = env_name(key);
        if self.put(key, &value.into(), origin).is_err() {
            self.unknown.push(key.to_string());
        }
        self
    }

    /// A setting's text as given, if it was.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(text, _)| text.as_str())
    }

    fn put(&mut self, key: &str, value: &str, origin: String) -> Result<(), String> {
        let s = by_key(key).ok_or_else(|| format!("'{key}' is not a setting"))?;
        self.values.insert(s.key, (value.to_string(), origin));
        Ok(())
    }

    /// The file's values, from its top-level keys and its sections; an unknown key or section,
    /// or a sectioned setting written at the top level, is an error naming the closest name.
    fn read_file(&mut self, path: &str, text: &str) -> Result<(), String> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| one_line(&e.to_string()))?;
        let sections: Vec<&str> = SETTINGS
            .iter()
            .filter_map(|s| Some(s.file.split_once('.')?.0))
            .collect();
        let mut found = Vec::new();
        for (key, value) in table {
            match value {
                toml::Value::Table(inner) if sections.contains(&key.as_str()) => {
                    found.extend(inner.into_iter().map(|(k, v)| (format!("{key}.{k}"), v)));
                }
                _ if sections.contains(&key.as_str()) => {
                    return Err(format!(
                        "'{key}' is a section: write [{key}] and its settings below it"
                    ))
                }
                value => found.push((key, value)),
            }
        }
        for (name, value) in found {
            let Some(s) = SETTINGS.iter().find(|s| s.file == name) else {
                if let Some((section, inner)) = by_key(&name).and_then(|s| s.file.split_once('.')) {
                    return Err(format!(
                        "'{name}' belongs in a section: write it as [{section}] {inner}"
                    ));
                }
                let hint = closest(&name, SETTINGS.iter().map(|s| s.file))
                    .map(|k| format!(" (did you mean {k}?)"))
                    .unwrap_or_default();
                return Err(format!("unknown key '{name}'{hint}"));
            };
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Array(_) | toml::Value::Table(_) => {
                    return Err(format!("{name}: must be a single value"))
                }
                other => other.to_string(),
            };
            self.values.insert(s.key, (text, format!("{path}: {name}")));
        }
        Ok(())
    }

    /// Where the value of a setting was given, or its variable if it was not.
    fn origin(&self, key: &str) -> String {
        self.values
            .get(key)
            .map_or_else(|| env_name(key), |(_, origin)| origin.clone())
    }

    /// One setting, read into its type.
    fn value<T: FromText>(&self, key: &str) -> Result<T, ConfigError> {
        let text = match self.values.get(key) {
            Some((text, _)) => text.as_str(),
            None => by_key(key).and_then(|s| s.default).unwrap_or_default(),
        };
        T::from_text(text).map_err(|problem| err(&self.origin(key), problem))
    }

    /// The log format, read before the rest so that every later message is logged in it.
    pub fn log_format(&self) -> Result<LogFormat, ConfigError> {
        self.value("log_format")
    }

    /// The database to open: `DATABASE_URL`, or a SQLite file in the data directory. All that
    /// `portal migrate` reads.
    pub fn database_url(&self) -> Result<String, ConfigError> {
        let data_dir: PathBuf = self.value("data_dir")?;
        let url: Option<DatabaseUrl> = self.value("database_url")?;
        Ok(DatabaseUrl::or_default(url.as_ref(), &data_dir).0)
    }

    /// Every setting, one a line: `VARIABLE = value  (where it was set)`, secrets shown as `***`
    /// and passwords in URLs masked, for `portal config`. With the parsed `config`, an unset
    /// setting whose value follows from others shows that value.
    pub fn describe(&self, config: Option<&Config>) -> String {
        SETTINGS
            .iter()
            .map(|s| {
                let (text, from) = match self.values.get(s.key) {
                    Some((text, origin)) => (Some(text.as_str()), origin.as_str()),
                    None => (s.default, "default"),
                };
                let derived = config.and_then(|c| c.derived(s.key));
                let shown = match (text.filter(|t| !t.trim().is_empty()), s.redact) {
                    (None, _) => derived.unwrap_or_else(|| "(unset)".to_string()),
                    (Some(_), Redact::All) => "***".to_string(),
                    (Some(t), Redact::Password) => redact_url(t),
                    (Some(t), Redact::No) => t.to_string(),
                };
                format!("{} = {shown}  ({from})", s.var)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Reads every setting into its type and checks them together, naming the first that is
    /// wrong by where it was set.
    pub fn parse(&self) -> Result<Config, ConfigError> {
        if let Some(key) = self.unknown.first() {
            return Err(err(key, "is not a setting"));
        }
        let settings = Settings::read(self)?;
        Config::new(settings).map_err(|mut e| {
            if let Some(s) = SETTINGS.iter().find(|s| s.var == e.var) {
                e.var = self.origin(s.key);
            }
            e
        })
    }
}

impl Config {
    /// What follows from the settings, and the rules between them.
    fn new(s: Settings) -> Result<Self, ConfigError> {
        let at_most = |small: &str, a: u64, large: &str, b: u64, why: &str| {
            if a > b {
                Err(err(
                    &env_name(small),
                    format!("{a} is above {}={b}: {why}", env_name(large)),
                ))
            } else {
                Ok(())
            }
        };
        let cap = "an hourly cap above the daily one is never reached";
        at_most(
            "codes_per_hour",
            s.codes_per_hour.get().into(),
            "codes_per_day",
            s.codes_per_day.get().into(),
            cap,
        )?;
        at_most(
            "sms_per_number_hour",
            s.sms_per_number_hour.get().into(),
            "sms_per_number_day",
            s.sms_per_number_day.get().into(),
            cap,
        )?;
        at_most(
            "session_idle_secs",
            s.session_idle_secs.get(),
            "session_absolute_secs",
            s.session_absolute_secs.get(),
            "the session ends at the absolute limit before it could idle out",
        )?;
        let public_url = match &s.public_url {
            Some(PublicUrl(u)) => u.clone(),
            // The name as given (`localhost:3978`), not what it resolved to.
            None => Url::parse(&format!("http://{}", s.bind.given))
                .map_err(|e| err("PORTAL_BIND", e.to_string()))?,
        };
        // A relay password is worth protecting by default; mail without credentials keeps the
        // behaviour every MTA has.
        let smtp_tls = match (s.smtp_tls, &s.smtp_url) {
            (Some(tls), _) => tls,
            (None, Some(url)) if url.credentials => SmtpTls::Required,
            (None, _) => SmtpTls::Opportunistic,
        };
        let host = public_url.host_str().unwrap_or("localhost");
        let mail_from = match &s.mail_from {
            Some(MailFrom(from)) => from.clone(),
            // `no-reply@127.0.0.1` is no address a relay accepts or a reader trusts; the dev
            // mailbox only shows it, so local runs need no setting.
            None if s.smtp_url.is_some()
                && !matches!(public_url.host(), Some(url::Host::Domain(_))) =>
            {
                return Err(err(
                    "MAIL_FROM",
                    format!("is required when SMTP_URL is set and the public host is an IP address ({host}), e.g. MAIL_FROM=no-reply@example.com"),
                ))
            }
            None => MailFrom::from_text(&format!("no-reply@{host}"))
                .map_err(|e| err("MAIL_FROM", e))?
                .0,
        };
        let sms_provider = match s.sms_provider {
            SmsKind::Log => SmsProvider::Log,
            SmsKind::Twilio => {
                fn need<T>(v: Option<T>, name: &str) -> Result<T, ConfigError> {
                    v.ok_or_else(|| err(name, "is required when SMS_PROVIDER=twilio"))
                }
                SmsProvider::Twilio {
                    account_sid: need(
                        s.twilio_account_sid.clone().filter(|a| !a.is_empty()),
                        "TWILIO_ACCOUNT_SID",
                    )?,
                    auth_token: SecretString::clone(need(
                        s.twilio_auth_token.as_ref(),
                        "TWILIO_AUTH_TOKEN",
                    )?),
                    from: need(s.twilio_from.clone().map(|f| f.0), "TWILIO_FROM")?,
                    api_base: s.twilio_api_base.0.clone(),
                }
            }
        };
        let sms_country_codes = if s.sms_countries.is_empty() {
            vec![s.default_region.calling_code]
        } else {
            s.sms_countries.iter().map(|r| r.calling_code).collect()
        };
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let port = public_url.port_or_known_default().unwrap_or(80);
        let allowed_hosts = s
            .allowed_hosts
            .iter()
            .filter_map(|h| HostPort::parse(&h.0, port))
            .collect();
        Ok(Self {
            database_url: DatabaseUrl::or_default(s.database_url.as_ref(), &s.data_dir),
            public_url,
            smtp_tls,
            mail_from,
            sms_provider,
            sms_country_codes,
            hash_concurrency: s.hash_concurrency.map_or(cores, Workers::get),
            allowed_hosts,
            settings: s,
        })
    }

    /// The value an unset setting takes from the others, as `portal config` shows it.
    fn derived(&self, key: &str) -> Option<String> {
        Some(match key {
            "database_url" => redact_url(&self.database_url),
            "public_url" => self.public_url.to_string(),
            "mail_from" => self.mail_from.clone(),
            "hash_concurrency" => self.hash_concurrency.to_string(),
            "smtp_tls" => format!("{:?}", self.smtp_tls).to_lowercase(),
            "sms_countries" => self.default_region.id.as_ref().to_string(),
            _ => return None,
        })
    }

    /// Is the public URL https (then cookies are `Secure` and HSTS is sent)?
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// `https://portal.example.com` without a trailing slash, for links in messages.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }

    pub fn public_host(&self) -> String {
        self.public_url
            .host_str()
            .unwrap_or("localhost")
            .to_string()
    }

    /// The names this deployment answers to (`Host`) and its own origins (`Origin`).
    pub fn hosts(&self) -> Hosts<'_> {
        Hosts {
            scheme: self.public_url.scheme(),
            public: HostPort::new(
                &self.public_host(),
                self.public_url.port_or_known_default().unwrap_or(80),
            ),
            extra: &self.allowed_hosts,
        }
    }
}

/// The environment as text. `std::env::vars` would panic on a variable that is not UTF-8, even
/// one of another program's; those are left out, unless they are ours, which stops start-up.
pub fn environment(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut env = Vec::new();
    for (var, value) in vars {
        let Ok(var) = var.into_string() else { continue };
        match value.into_string() {
            Ok(value) => env.push((var, value)),
            Err(_) if var == "PORTAL_CONFIG" || SETTINGS.iter().any(|s| s.var == var) => {
                return Err(err(&var, "is not valid UTF-8"));
            }
            Err(_) => {}
        }
    }
    Ok(env)
}

/// Warnings for `PORTAL_*` variables that name no setting (a typo is otherwise ignored), each
/// with the closest variable that does.
pub fn unknown_variables(vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let mut warnings: Vec<String> = vars
        .into_iter()
        .map(|(var, _)| var)
        .filter(|var| var.starts_with("PORTAL_") && var != "PORTAL_CONFIG")
        .filter(|var| !SETTINGS.iter().any(|s| s.var == var))
        .map(|var| match closest(&var, SETTINGS.iter().map(|s| s.var)) {
            Some(near) => {
                format!("{var} is not a setting and is ignored: did you mean {near}?")
            }
            None => format!("{var} is not a setting and is ignored"),
        })
        .collect();
    warnings.sort();
    warnings
}

/// The candidate nearest to a misspelled `word` (case aside), if one is near enough to be
/// what was meant: at most a third of the letters wrong, or `word` a part of it.
fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    let core = |s: &str| s.trim_start_matches("portal_").to_string();
    candidates
        .map(|c| {
            let (w, k) = (core(&word), core(&c.to_lowercase()));
            let distance = if k.starts_with(&w) || w.starts_with(&k) {
                1
            } else {
                strsim::levenshtein(&w, &k)
            };
            (distance, w.len().max(k.len()), c)
        })
        .filter(|(distance, len, _)| distance * 3 <= *len)
        .min_by_key(|(distance, _, _)| *distance)
        .map(|(_, _, c)| c)
}

/// The file `PORTAL_CONFIG` names (which must then be readable), or `./portal.toml` when it
/// exists; `PORTAL_CONFIG=` (empty) reads no file.
fn config_file(named: Option<&str>) -> Result<Option<(String, String)>, ConfigError> {
    let path = match named {
        Some("") => return Ok(None),
        Some(p) => p,
        None if std::path::Path::new("portal.toml").exists() => "portal.toml",
        None => return Ok(None),
    };
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some((path.to_string(), text))),
        Err(e) => Err(err("PORTAL_CONFIG", format!("cannot read '{path}' ({e})"))),
    }
}

/// A parser's message on one line, without the source excerpt it may draw below the first.
fn one_line(message: &str) -> String {
    let excerpt = |l: &str| {
        let l = l.trim_start_matches(|c: char| c.is_ascii_digit()).trim();
        l.is_empty() || l.starts_with('|')
    };
    let lines: Vec<&str> = message.lines().filter(|l| !excerpt(l)).collect();
    lines.join(": ")
}

/// Drops a password from a URL before it is shown: the one after the user name, and one given
/// as a query parameter (`postgres://h/db?password=…`, which PostgreSQL's URLs accept). A URL
/// that does not parse (a password holding `?`, `/` or `#`, a port out of range) is the likeliest
/// to be in an error message: everything before its last `@` and its query are not shown at all.
fn redact_url(u: &str) -> String {
    let Ok(mut url) = Url::parse(u) else {
        let (scheme, rest) = u.split_once("://").unwrap_or(("", u));
        let rest = rest
            .rsplit_once('@')
            .map_or_else(|| rest.to_string(), |(_, host)| format!("***@{host}"));
        let rest = match rest.split_once('?') {
            Some((head, _)) => format!("{head}?***"),
            None => rest,
        };
        return match scheme {
            "" => rest,
            scheme => format!("{scheme}://{rest}"),
        };
    };
    // A password with `#` in it parses as a fragment holding the rest of it.
    if url.fragment().is_some() {
        url.set_fragment(Some("***"));
    }
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    let secret = |k: &str| k.to_ascii_lowercase().contains("pass");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if pairs.iter().any(|(k, _)| secret(k)) {
        url.query_pairs_mut().clear().extend_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.as_str(), if secret(k) { "***" } else { v.as_str() })),
        );
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Settings and values, the name an error gives, and words it says.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

    /// The defaults with `pairs` (setting, value) set, parsed.
    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut raw = RawConfig::default();
        for (key, value) in pairs {
            raw.set(key, *value);
        }
        raw.parse()
    }

    /// Loads as start-up does, from `env` and, when given, a file named by `PORTAL_CONFIG`.
    fn load(env: &[(&str, &str)], file: Option<&str>) -> Result<Config, ConfigError> {
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(text) = file {
            let path =
                std::env::temp_dir().join(format!("portal-{:x}.toml", rand::random::<u64>()));
            std::fs::write(&path, text).unwrap();
            env.push(("PORTAL_CONFIG".into(), path.display().to_string()));
        }
        RawConfig::load_from(env, &[])?.parse()
    }

    /// Each case (settings, the name its error gives, words it says) is refused with one line.
    fn refused(cases: &[Case]) {
        for (pairs, var, says) in cases {
            match parse(pairs) {
                Ok(_) => panic!("{pairs:?} was accepted"),
                Err(e) => {
                    assert_eq!(e.var, *var, "{e}");
                    assert!(e.problem.contains(says), "{e}");
                    assert!(!e.to_string().contains('\n'), "{e}");
                }
            }
        }
    }

    #[test]
    fn defaults_give_a_working_local_setup() {
        let c = parse(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.bind.addr.to_string(), "127.0.0.1:3000");
        assert!(c.database_url.starts_with("sqlite://"));
        assert_eq!(c.mail_from, "no-reply@127.0.0.1");
        assert_eq!(c.code_ttl_secs.get(), 86_400);
        assert_eq!(c.sms_country_codes, [46]);
        // Every default reads as its type: the list is the one place they are written.
        for s in SETTINGS {
            assert!(by_key(s.key).is_some() && env_name(s.key) == s.var);
        }
    }

    #[test]
    fn each_mistake_names_its_variable() {
        refused(&[
            (
                &[("bind", "nope")],
                "PORTAL_BIND",
                "not a host:port address",
            ),
            (
                &[("database_url", "mysql://x")],
                "DATABASE_URL",
                "must start with",
            ),
            (
                &[("public_url", "ftp://x")],
                "PORTAL_PUBLIC_URL",
                "http:// or https://",
            ),
            (&[("smtp_url", "http://x")], "SMTP_URL", "smtp://host:port"),
            (
                &[("mail_from", "not an address")],
                "MAIL_FROM",
                "not an email address",
            ),
            (
                &[("sms_provider", "carrier-pigeon")],
                "SMS_PROVIDER",
                "not one of: log, twilio",
            ),
            (
                &[("sms_provider", "twilio")],
                "TWILIO_ACCOUNT_SID",
                "is required",
            ),
            (
                &[("default_region", "XX")],
                "PORTAL_DEFAULT_REGION",
                "region code",
            ),
            (
                &[("sms_countries", "SE, XX")],
                "PORTAL_SMS_COUNTRIES",
                "'XX'",
            ),
            (
                &[("log_format", "xml")],
                "PORTAL_LOG_FORMAT",
                "not one of: text, json",
            ),
            (
                &[("secret", "short")],
                "PORTAL_SECRET",
                "at least 32 characters",
            ),
            (
                &[("metrics_token", "short")],
                "PORTAL_METRICS_TOKEN",
                "at least 16",
            ),
            (
                &[("smtp_tls", "sometimes")],
                "PORTAL_SMTP_TLS",
                "not one of",
            ),
            (
                &[("smtp_url", "smtp://relay:25?tls=required")],
                "SMTP_URL",
                "takes no query",
            ),
            (
                &[("smtp_ca", "/nonexistent.pem")],
                "PORTAL_SMTP_CA",
                "cannot read '/nonexistent.pem'",
            ),
            (
                &[("smtp_ca", env!("CARGO_MANIFEST_PATH"))],
                "PORTAL_SMTP_CA",
                "holds no PEM certificate",
            ),
            (
                &[("hide_account_existence", "yes")],
                "PORTAL_HIDE_ACCOUNT_EXISTENCE",
                "true, false",
            ),
            (
                &[("trusted_proxies", "10.0.0.0/8, proxy")],
                "PORTAL_TRUSTED_PROXIES",
                "'proxy'",
            ),
            (
                &[("client_ip_header", "x-real-ip")],
                "PORTAL_CLIENT_IP_HEADER",
                "not one of",
            ),
            (
                &[("prune_interval_secs", "0")],
                "PORTAL_PRUNE_INTERVAL_SECS",
                "at least 1",
            ),
            (
                &[("allowed_hosts", "ok.test, not a host")],
                "PORTAL_ALLOWED_HOSTS",
                "not a host",
            ),
            (
                &[("twilio_api_base", "api")],
                "TWILIO_API_BASE",
                "not a URL",
            ),
            (&[("code_ttl_sec", "5")], "code_ttl_sec", "is not a setting"),
        ]);
    }

    #[test]
    fn smtp_tls_is_required_with_credentials_unless_the_operator_says_otherwise() {
        let tls = |url: &str, setting: &str| {
            parse(&[
                ("smtp_url", url),
                ("smtp_tls", setting),
                ("mail_from", "no-reply@portal.localhost"),
            ])
            .map(|c| c.smtp_tls)
            .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(tls("smtp://u:p@relay:587", ""), SmtpTls::Required);
        assert_eq!(tls("smtp://relay:25", ""), SmtpTls::Opportunistic);
        assert_eq!(tls("", ""), SmtpTls::Opportunistic);
        assert_eq!(
            tls("smtp://u:p@relay:587", "opportunistic"),
            SmtpTls::Opportunistic
        );
        assert_eq!(tls("smtp://relay:25", "required"), SmtpTls::Required);
        assert_eq!(tls("smtp://relay:25", "none"), SmtpTls::None);
    }

    #[test]
    fn values_that_cannot_work_are_refused_with_one_line() {
        refused(&[
            (
                &[("ip_requests_per_hour", "0")],
                "PORTAL_IP_REQUESTS_PER_HOUR",
                "must be a whole number, at least 1",
            ),
            (
                &[("ip_verifications_per_hour", "0")],
                "PORTAL_IP_VERIFICATIONS_PER_HOUR",
                "at least 1",
            ),
            (
                &[("sms_per_number_day", "0")],
                "PORTAL_SMS_PER_NUMBER_DAY",
                "at least 1",
            ),
            (
                &[("sms_per_prefix_hour", "0")],
                "PORTAL_SMS_PER_PREFIX_HOUR",
                "at least 1",
            ),
            (
                &[("sms_global_hour", "0")],
                "PORTAL_SMS_GLOBAL_HOUR",
                "at least 1",
            ),
            (
                &[("codes_per_hour", "11")],
                "PORTAL_CODES_PER_HOUR",
                "11 is above PORTAL_CODES_PER_DAY=10",
            ),
            (
                &[("sms_per_number_hour", "6")],
                "PORTAL_SMS_PER_NUMBER_HOUR",
                "above PORTAL_SMS_PER_NUMBER_DAY=5",
            ),
            (
                &[("session_idle_secs", "86401")],
                "PORTAL_SESSION_IDLE_SECS",
                "above PORTAL_SESSION_ABSOLUTE_SECS",
            ),
            (
                &[("hash_concurrency", "0")],
                "PORTAL_HASH_CONCURRENCY",
                "at least 1",
            ),
            (
                &[("outbox_workers", "0")],
                "PORTAL_OUTBOX_WORKERS",
                "at least 1",
            ),
            (
                &[("code_ttl_secs", "0")],
                "PORTAL_CODE_TTL_SECS",
                "at least 1",
            ),
            (
                &[("code_ttl_secs", "31536001")],
                "PORTAL_CODE_TTL_SECS",
                "must be a whole number of seconds, at least 1",
            ),
            (
                &[("code_ttl_secs", "-5")],
                "PORTAL_CODE_TTL_SECS",
                "must be a whole number of seconds, at least 1",
            ),
            (
                &[("ip_requests_per_hour", "99999999999999999999")],
                "PORTAL_IP_REQUESTS_PER_HOUR",
                "must be a whole number, at least 1",
            ),
            (
                &[("hash_concurrency", "-1")],
                "PORTAL_HASH_CONCURRENCY",
                "at least 1",
            ),
            (
                &[("outbox_workers", "four")],
                "PORTAL_OUTBOX_WORKERS",
                "at least 1",
            ),
            (
                &[
                    ("sms_provider", "twilio"),
                    ("twilio_account_sid", "AC123"),
                    ("twilio_auth_token", "token"),
                    ("twilio_from", "nonsense"),
                ],
                "TWILIO_FROM",
                "E.164",
            ),
            (
                &[("bind", "localhost")],
                "PORTAL_BIND",
                "not a host:port address",
            ),
        ]);
        // No resend cooldown is a choice; blank is unset.
        let c = parse(&[("resend_cooldown_secs", "0"), ("hash_concurrency", " ")]);
        assert_eq!(c.map(|c| c.resend_cooldown_secs.get()).ok(), Some(0));
    }

    #[test]
    fn a_bind_address_may_name_a_host() {
        let c = parse(&[("bind", "localhost:3978")]).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.bind.addr.ip().is_loopback());
        assert_eq!(c.bind.addr.port(), 3978);
        assert_eq!(c.public_url.as_str(), "http://localhost:3978/");
    }

    #[test]
    fn numbers_from_the_environment_are_read_as_text() {
        let env = [
            ("TWILIO_FROM", "+46700000000"),
            ("PORTAL_SECRET", "1234567890123456789012345678901234567890"),
            ("PORTAL_CODE_TTL_SECS", "-5"),
        ];
        let raw = RawConfig::load_from(env.map(|(k, v)| (k.into(), v.into())), &[]).unwrap();
        let from: Option<E164> = raw.value("twilio_from").unwrap();
        assert_eq!(from.map(|f| f.0).as_deref(), Some("+46700000000"));
        let e = raw.parse().err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("configuration error: PORTAL_CODE_TTL_SECS: must be a whole number of seconds, at least 1 and at most 31536000 (a year)")
        );
    }

    #[test]
    fn a_named_config_file_that_cannot_be_read_stops_start_up() {
        for path in ["/nonexistent.toml", "."] {
            let e = config_file(Some(path)).err().map(|e| e.to_string());
            let says = format!("configuration error: PORTAL_CONFIG: cannot read '{path}'");
            assert!(e.is_some_and(|e| e.starts_with(&says)), "{path}");
        }
        // Empty: no file at all, not even ./portal.toml.
        assert!(matches!(config_file(Some("")), Ok(None)));
    }

    #[test]
    fn the_file_groups_settings_in_sections_each_written_once_and_refuses_unknown_keys() {
        let file = "bind = '127.0.0.1:4000'\n[smtp]\nurl = 'smtp://relay.test:587'\ntls = 'required'\n\
                    [limits]\ncodes_per_hour = 7\n[session]\nidle_secs = 600\n[sms]\nper_number_day = 4\n";
        let env = [("MAIL_FROM", "no-reply@portal.localhost")];
        let c = load(&env, Some(file)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.smtp_url.as_ref().map(|u| u.credentials), Some(false));
        assert_eq!(c.smtp_tls, SmtpTls::Required);
        assert_eq!(
            (c.codes_per_hour.get(), c.session_idle_secs.get()),
            (7, 600)
        );
        assert_eq!(c.sms_per_number_day.get(), 4);
        assert_eq!(c.bind.addr.port(), 4000);
        for (file, says) in [
            (
                "code_ttl_sec = 5",
                "unknown key 'code_ttl_sec' (did you mean code_ttl_secs?)",
            ),
            (
                "CODE_TTL_SECS = 5",
                "unknown key 'CODE_TTL_SECS' (did you mean code_ttl_secs?)",
            ),
            ("colour = true", "unknown key 'colour'"),
            ("bind = ", "TOML parse error at line 1, column 8"),
            ("b = [", "line 1, column 6: invalid array: expected `]`"),
            (
                "smtp_url = 'smtp://x'",
                "'smtp_url' belongs in a section: write it as [smtp] url",
            ),
            ("codes_per_hour = 3", "write it as [limits] codes_per_hour"),
            (
                "[smtp]\nurll = 'smtp://x'",
                "unknown key 'smtp.urll' (did you mean smtp.url?)",
            ),
            ("smtp = 'x'", "'smtp' is a section: write [smtp]"),
            ("[limit]\ncodes_per_hour = 3", "unknown key 'limit"),
            (
                "allowed_hosts = ['a']",
                "allowed_hosts: must be a single value",
            ),
        ] {
            let e = load(&[], Some(file))
                .err()
                .unwrap_or_else(|| panic!("{file:?} was accepted"));
            assert!(e.var.ends_with(".toml"), "{e}");
            assert!(e.problem.contains(says), "{file:?}: {e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }

    #[test]
    fn every_error_names_where_the_value_came_from() {
        let blamed = |file: &str, env: &[(&str, &str)], flag: Option<&str>| {
            let path =
                std::env::temp_dir().join(format!("portal-{:x}.toml", rand::random::<u64>()));
            std::fs::write(&path, file).unwrap();
            let mut vars = vec![("PORTAL_CONFIG".to_string(), path.display().to_string())];
            vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            let flags: Vec<(&str, String)> = flag.map(|v| ("bind", v.into())).into_iter().collect();
            let e = RawConfig::load_from(vars, &flags)
                .and_then(|r| r.parse())
                .err();
            let var = e.map(|e| e.var).unwrap_or_default();
            var.replace(&path.display().to_string(), "file")
        };
        assert_eq!(blamed("bind = 'nope'", &[], None), "file: bind");
        assert_eq!(
            blamed("bind = 'nope'", &[("PORTAL_BIND", "nope")], None),
            "PORTAL_BIND"
        );
        assert_eq!(
            blamed("", &[("PORTAL_BIND", "x:1")], Some("nope")),
            "--bind"
        );
        assert_eq!(
            blamed("code_ttl_secs = -5", &[], None),
            "file: code_ttl_secs"
        );
        // A rule between two settings names the one it refuses by where it was set.
        assert_eq!(
            blamed("[limits]\ncodes_per_hour = 11", &[], None),
            "file: limits.codes_per_hour"
        );
        assert_eq!(
            blamed("[limits]\ncodes_per_hour = 0", &[], None),
            "file: limits.codes_per_hour"
        );
    }

    #[test]
    fn a_variable_that_is_not_utf8_is_left_out_unless_it_is_ours() {
        use std::os::unix::ffi::OsStringExt;
        let latin1 = || std::ffi::OsString::from_vec(b"caf\xe9".to_vec());
        let env = environment([
            ("LESSCHARSET".into(), latin1()),
            ("HOME".into(), "/root".into()),
        ]);
        assert_eq!(env.unwrap(), [("HOME".to_string(), "/root".to_string())]);
        let e = environment([("PORTAL_BIND".into(), latin1())])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("configuration error: PORTAL_BIND: is not valid UTF-8")
        );
    }

    #[test]
    fn unknown_variables_are_named_with_the_closest_known_one() {
        let vars = [
            "PORTAL_CODE_TTL",
            "PORTAL_CODE_TTL_SECS",
            "PORTAL_CONFIG",
            "PORTAL_SMS_PER_NUMER_DAY",
            "PORTAL_ZEBRA",
            "PORTAL_DATABASE_URL",
            "DATABASE_URL",
            "HOME",
        ]
        .map(|v| (v.to_string(), "1".to_string()));
        assert_eq!(
            unknown_variables(vars),
            [
                "PORTAL_CODE_TTL is not a setting and is ignored: did you mean PORTAL_CODE_TTL_SECS?",
                "PORTAL_DATABASE_URL is not a setting and is ignored: did you mean DATABASE_URL?",
                "PORTAL_SMS_PER_NUMER_DAY is not a setting and is ignored: did you mean PORTAL_SMS_PER_NUMBER_DAY?",
                "PORTAL_ZEBRA is not a setting and is ignored",
            ]
        );
    }

    #[test]
    fn silent_misconfigurations_are_refused_with_one_line() {
        refused(&[
            (
                &[("public_url", "https://portal.example.com/sub/")],
                "PORTAL_PUBLIC_URL",
                "serving under a path is not supported, give the origin only (https://portal.example.com)",
            ),
            (&[("database_url", "sqlite:")], "DATABASE_URL", "in-memory database"),
            (&[("database_url", "sqlite::memory:")], "DATABASE_URL", "in-memory database"),
            (&[("database_url", "sqlite://x.db?mode=memory")], "DATABASE_URL", "in-memory database"),
            (
                &[("smtp_url", "smtp://relay:25")],
                "MAIL_FROM",
                "is required when SMTP_URL is set and the public host is an IP address (127.0.0.1)",
            ),
        ]);
        // A named host, or a sender given, sends from a real address.
        let c = parse(&[
            ("smtp_url", "smtp://relay:25"),
            ("public_url", "https://portal.example.com/"),
        ]);
        assert_eq!(
            c.map(|c| c.mail_from.to_string()).ok().as_deref(),
            Some("no-reply@portal.example.com")
        );
        assert!(parse(&[
            ("smtp_url", "smtp://relay:25"),
            ("mail_from", "no-reply@portal.localhost")
        ])
        .is_ok());
    }

    #[test]
    fn secrets_are_not_echoed_in_errors_or_in_the_description() {
        let e = parse(&[("database_url", "mysql://u:hunter2@h/db")]);
        assert!(matches!(e, Err(ref e) if !e.to_string().contains("hunter2")));
        // Nor in the configuration's `Debug`, should it ever be logged.
        let c = parse(&[
            ("database_url", "postgres://u:hunter2@h/db"),
            ("smtp_url", "smtp://u:hunter2@relay:587"),
            ("mail_from", "no-reply@portal.localhost"),
            ("secret", "hunter2-0123456789-0123456789-0123456789"),
        ]);
        let shown = format!("{:?}", c.unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
        let mut raw = RawConfig::default();
        raw.set(
            "database_url",
            "postgres://u@h/db?sslmode=require&password=hunter2",
        );
        let shown = raw.describe(None);
        assert!(
            shown.contains(
                "DATABASE_URL = postgres://u@h/db?sslmode=require&password=***  (DATABASE_URL)"
            ),
            "{shown}"
        );
        let mut raw = RawConfig::default();
        raw.set("smtp_url", "smtp://u:hunter2@relay:587")
            .set("secret", "hunter2-0123456789-0123456789-0123456789")
            .set("twilio_auth_token", "hunter2");
        let shown = raw.describe(None);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("SMTP_URL = smtp://u:***@relay:587  (SMTP_URL)"),
            "{shown}"
        );
        assert!(
            shown.contains("PORTAL_SECRET = ***  (PORTAL_SECRET)"),
            "{shown}"
        );
        assert!(
            shown.contains("PORTAL_CODE_TTL_SECS = 86400  (default)"),
            "{shown}"
        );
        assert!(
            shown.contains("PORTAL_PUBLIC_URL = (unset)  (default)"),
            "{shown}"
        );
        // What an unset setting comes to, once the settings parse.
        raw.set("mail_from", "no-reply@portal.localhost");
        let shown = raw.describe(raw.parse().ok().as_ref());
        for line in [
            "PORTAL_PUBLIC_URL = http://127.0.0.1:3000/  (default)",
            "PORTAL_SMTP_TLS = required  (default)",
            "PORTAL_SMS_COUNTRIES = SE  (default)",
            "PORTAL_ALLOWED_HOSTS = (unset)  (default)",
        ] {
            assert!(shown.lines().any(|l| l == line), "no {line:?} in {shown}");
        }
    }
}

/// The README's configuration table is checked against [`SETTINGS`], the one place settings are
/// defined: every setting is documented under the variable that sets it, with its default, and
/// the table names no variable that is not a setting.
#[cfg(test)]
mod readme {
    use std::collections::BTreeSet;

    use super::*;

    /// The rows of the table under "## Configuration": (variables, default cell).
    fn table() -> Vec<(Vec<String>, String)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let section = text
            .split("\n## ")
            .find(|s| s.starts_with("Configuration"))
            .unwrap_or_default();
        let ticked = |cell: &str| -> Vec<String> {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect()
        };
        section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let vars = ticked(cells.get(1).copied().unwrap_or_default())
                    .into_iter()
                    .filter(|v| !v.starts_with('-'))
                    .collect();
                (vars, cells.get(2).copied().unwrap_or_default().to_string())
            })
            .collect()
    }

    #[test]
    fn the_readme_documents_every_setting_by_its_variable_with_its_default() {
        let rows = table();
        assert!(rows.len() > 20, "no configuration table found in README.md");
        let documented: BTreeSet<&str> = rows
            .iter()
            .flat_map(|(v, _)| v)
            .map(String::as_str)
            .collect();
        let settings: BTreeSet<&str> = SETTINGS.iter().map(|s| s.var).collect();
        let missing: Vec<_> = settings.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&settings).collect();
        assert!(
            missing.is_empty(),
            "settings missing from README.md: {missing:?}"
        );
        assert!(
            unknown.is_empty(),
            "README.md documents no such setting: {unknown:?}"
        );
        for s in SETTINGS {
            let Some(shown) = s.default else { continue };
            let (_, default) = rows
                .iter()
                .find(|(vars, _)| vars.iter().any(|v| v == s.var))
                .unwrap_or_else(|| panic!("{} has no row", s.var));
            assert!(
                default.contains(&format!("`{shown}`")),
                "README.md gives {} the default {default:?}, the code `{shown}`",
                s.var
            );
        }
    }
}
