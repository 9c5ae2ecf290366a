//! Layered configuration: defaults, then an optional TOML file, then the environment, then flags.
//!
//! Every setting has one name users see (the environment variable). A mistake stops start-up with
//! one line naming that variable and what is wrong with it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;

use figment::error::Kind;
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

pub use crate::domain::client::ClientIpHeader;
use crate::domain::host::{HostPort, Hosts};

/// Reads a setting as text even when the environment layer took it for a number
/// (`TWILIO_FROM=+46700000000`, an all-digit `PORTAL_SECRET`).
fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        S(String),
        U(u64),
        I(i64),
        F(f64),
        B(bool),
    }
    Ok(Option::<Loose>::deserialize(d)?.map(|v| match v {
        Loose::S(s) => s,
        Loose::U(n) => n.to_string(),
        Loose::I(n) => n.to_string(),
        Loose::F(n) => n.to_string(),
        Loose::B(b) => b.to_string(),
    }))
}

/// The settings as they arrive, before they are parsed into [`Config`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    pub bind: String,
    #[serde(deserialize_with = "text")]
    pub database_url: Option<String>,
    pub data_dir: String,
    pub static_dir: String,
    #[serde(deserialize_with = "text")]
    pub public_url: Option<String>,
    #[serde(deserialize_with = "text")]
    pub smtp_url: Option<String>,
    /// `required`, `opportunistic` or `none`; unset picks by whether `SMTP_URL` has credentials.
    #[serde(deserialize_with = "text")]
    pub smtp_tls: Option<String>,
    #[serde(deserialize_with = "text")]
    pub mail_from: Option<String>,
    #[serde(deserialize_with = "text")]
    pub secret: Option<String>,
    pub hide_account_existence: bool,
    pub resend_cooldown_secs: u64,
    pub code_ttl_secs: u64,
    pub sms_code_ttl_secs: u64,
    pub session_idle_secs: u64,
    pub session_absolute_secs: u64,
    pub default_region: String,
    pub sms_provider: String,
    #[serde(deserialize_with = "text")]
    pub sms_countries: Option<String>,
    pub sms_per_number_hour: u32,
    pub sms_per_number_day: u32,
    pub sms_per_prefix_hour: u32,
    pub sms_global_hour: u32,
    #[serde(deserialize_with = "text")]
    pub twilio_account_sid: Option<String>,
    #[serde(deserialize_with = "text")]
    pub twilio_auth_token: Option<String>,
    #[serde(deserialize_with = "text")]
    pub twilio_from: Option<String>,
    pub twilio_api_base: String,
    pub codes_per_hour: u32,
    pub codes_per_day: u32,
    pub ip_requests_per_hour: u32,
    pub ip_verifications_per_hour: u32,
    pub log_format: String,
    pub hash_concurrency: Option<usize>,
    pub outbox_workers: usize,
    /// Reverse proxies whose forwarding header is believed (comma-separated CIDRs).
    #[serde(deserialize_with = "text")]
    pub trusted_proxies: Option<String>,
    /// Which header those proxies write the client address into.
    pub client_ip_header: String,
    /// Bearer token `/metrics` asks for.
    #[serde(deserialize_with = "text")]
    pub metrics_token: Option<String>,
    pub prune_interval_secs: u64,
    /// Extra host names (`host` or `host:port`, comma-separated) this server answers to.
    #[serde(deserialize_with = "text")]
    pub allowed_hosts: Option<String>,
    /// A directory of email and SMS templates that replace the built-in ones of the same name.
    #[serde(deserialize_with = "text")]
    pub template_dir: Option<String>,
    /// Where each setting that is not a default came from, by its variable's name: the flag
    /// (`--bind`), the variable itself, or the file and key (`portal.toml: bind`).
    #[serde(skip)]
    pub origins: BTreeMap<String, String>,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:3000".into(),
            database_url: None,
            data_dir: "data".into(),
            static_dir: "dist".into(),
            public_url: None,
            smtp_url: None,
            smtp_tls: None,
            mail_from: None,
            secret: None,
            hide_account_existence: false,
            resend_cooldown_secs: 60,
            code_ttl_secs: 86_400,
            sms_code_ttl_secs: 600,
            session_idle_secs: 2 * 3600,
            session_absolute_secs: 24 * 3600,
            default_region: "SE".into(),
            sms_provider: "log".into(),
            sms_countries: None,
            sms_per_number_hour: 3,
            sms_per_number_day: 5,
            sms_per_prefix_hour: 20,
            sms_global_hour: 1000,
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_from: None,
            twilio_api_base: "https://api.twilio.com".into(),
            codes_per_hour: 5,
            codes_per_day: 10,
            ip_requests_per_hour: 60,
            ip_verifications_per_hour: 120,
            log_format: "text".into(),
            hash_concurrency: None,
            outbox_workers: 4,
            trusted_proxies: None,
            client_ip_header: "x-forwarded-for".into(),
            metrics_token: None,
            prune_interval_secs: 3600,
            allowed_hosts: None,
            template_dir: None,
            origins: BTreeMap::new(),
        }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The parsed settings the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub static_dir: PathBuf,
    pub public_url: Url,
    pub smtp_url: Option<SecretString>,
    pub smtp_tls: SmtpTls,
    pub mail_from: String,
    pub secret: Option<SecretString>,
    pub hide_account_existence: bool,
    pub resend_cooldown_secs: u64,
    pub code_ttl_secs: u64,
    pub sms_code_ttl_secs: u64,
    pub session_idle_secs: u64,
    pub session_absolute_secs: u64,
    pub default_region: phonenumber::country::Id,
    pub sms_provider: SmsProvider,
    /// Calling codes SMS may go to (NIST 800-63B-4 and OWASP: limit SMS pumping exposure).
    pub sms_country_codes: Vec<u16>,
    pub sms_per_number_hour: u32,
    pub sms_per_number_day: u32,
    pub sms_per_prefix_hour: u32,
    pub sms_global_hour: u32,
    pub codes_per_hour: u32,
    pub codes_per_day: u32,
    pub ip_requests_per_hour: u32,
    pub ip_verifications_per_hour: u32,
    pub log_format: LogFormat,
    pub hash_concurrency: usize,
    pub outbox_workers: usize,
    /// Peers whose forwarding header names the client (default: none, the TCP peer is the client).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub client_ip_header: ClientIpHeader,
    /// When set, `/metrics` answers only to `Authorization: Bearer <token>`.
    pub metrics_token: Option<SecretString>,
    /// How often expired flows, codes, sessions and old outbox rows are deleted (`prune.rs`).
    pub prune_interval_secs: u64,
    /// Names besides the public URL's that `Host` may carry, reached with its scheme.
    pub allowed_hosts: Vec<HostPort>,
    /// Templates that replace built-in ones (checked when the server starts).
    pub template_dir: Option<PathBuf>,
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

/// Environment variables read without the `PORTAL_` prefix, by their conventional names.
const RAW_ENV: [&str; 8] = [
    "DATABASE_URL",
    "SMTP_URL",
    "MAIL_FROM",
    "SMS_PROVIDER",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM",
    "TWILIO_API_BASE",
];

/// The keys the TOML file may hold, lower case: every setting of [`RawConfig`].
fn known_keys() -> BTreeSet<String> {
    match serde_json::to_value(RawConfig::default()) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().map(|(k, _)| k).collect(),
        _ => BTreeSet::new(),
    }
}

/// The setting an environment variable sets, if it is one of ours and names a setting.
fn setting(var: &str, keys: &BTreeSet<String>) -> Option<String> {
    let key = match var.strip_prefix("PORTAL_") {
        Some(rest) => rest.to_lowercase(),
        None if RAW_ENV.contains(&var) => var.to_lowercase(),
        None => return None,
    };
    keys.contains(&key).then_some(key)
}

/// Warnings for `PORTAL_*` variables that name no setting (a typo is otherwise ignored), each
/// with the closest variable that does.
pub fn unknown_variables(vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let keys = known_keys();
    let names: Vec<String> = keys.iter().map(|k| env_name(k)).collect();
    let mut warnings: Vec<String> = vars
        .into_iter()
        .map(|(var, _)| var)
        .filter(|var| var.starts_with("PORTAL_") && var != "PORTAL_CONFIG")
        .filter(|var| setting(var, &keys).is_none())
        .map(
            |var| match closest(&var, names.iter().map(String::as_str)) {
                Some(near) => {
                    format!("{var} is not a setting and is ignored: did you mean {near}?")
                }
                None => format!("{var} is not a setting and is ignored"),
            },
        )
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

/// The file's sections, and the settings each holds: `[smtp] url` is `smtp_url` (`SMTP_URL`),
/// `[limits] codes_per_hour` is `codes_per_hour` (`PORTAL_CODES_PER_HOUR`). A setting of a section
/// is written in its section only, so each has one name in the file.
const SECTIONS: [(&str, &str, &[&str]); 5] = [
    ("smtp", "smtp_", &["url", "tls"]),
    (
        "sms",
        "sms_",
        &[
            "provider",
            "countries",
            "code_ttl_secs",
            "per_number_hour",
            "per_number_day",
            "per_prefix_hour",
            "global_hour",
        ],
    ),
    (
        "twilio",
        "twilio_",
        &["account_sid", "auth_token", "from", "api_base"],
    ),
    ("session", "session_", &["idle_secs", "absolute_secs"]),
    (
        "limits",
        "",
        &[
            "codes_per_hour",
            "codes_per_day",
            "ip_requests_per_hour",
            "ip_verifications_per_hour",
        ],
    ),
];

/// The section a setting is written in, and its name there.
fn section_of(key: &str) -> Option<(&'static str, String)> {
    SECTIONS.iter().find_map(|(section, prefix, names)| {
        let name = key.strip_prefix(prefix)?;
        names.contains(&name).then(|| (*section, name.to_string()))
    })
}

/// The file's settings as (name in the file, setting, value), from its top-level keys and its
/// sections; an unknown key or section, or a sectioned setting written at the top level, is an
/// error naming the closest known name.
fn file_settings(
    table: figment::value::Dict,
    keys: &BTreeSet<String>,
) -> Result<Vec<(String, String, figment::value::Value)>, String> {
    use figment::value::Value;
    let unknown = |name: &str, known: &mut dyn Iterator<Item = String>| {
        let known: Vec<String> = known.collect();
        let hint = closest(name, known.iter().map(String::as_str))
            .map(|k| format!(" (did you mean {k}?)"))
            .unwrap_or_default();
        format!("unknown key '{name}'{hint}")
    };
    let mut out = Vec::new();
    for (key, value) in table {
        if let Some((section, prefix, names)) = SECTIONS.iter().find(|(s, ..)| *s == key) {
            let Value::Dict(_, inner) = value else {
                return Err(format!(
                    "'{section}' is a section: write [{section}] and its settings below it"
                ));
            };
            for (name, value) in inner {
                if !names.contains(&name.as_str()) {
                    let mut known = names.iter().map(|n| format!("{section}.{n}"));
                    return Err(unknown(&format!("{section}.{name}"), &mut known));
                }
                out.push((
                    format!("{section}.{name}"),
                    format!("{prefix}{name}"),
                    value,
                ));
            }
        } else if let Some((section, name)) = section_of(&key) {
            return Err(format!(
                "'{key}' belongs in a section: write it as [{section}] {name}"
            ));
        } else if keys.contains(&key) {
            out.push((key.clone(), key, value));
        } else {
            let mut known = keys
                .iter()
                .filter(|k| section_of(k).is_none())
                .cloned()
                .chain(
                    SECTIONS
                        .iter()
                        .flat_map(|(s, _, names)| names.iter().map(move |n| format!("{s}.{n}"))),
                );
            return Err(unknown(&key, &mut known));
        }
    }
    Ok(out)
}

/// The file `PORTAL_CONFIG` names (which must then be readable), or `./portal.toml` when it
/// exists; `PORTAL_CONFIG=` (empty) reads no file.
fn config_file() -> Result<Option<(String, String)>, ConfigError> {
    let (path, named) = match std::env::var("PORTAL_CONFIG") {
        Ok(p) if p.is_empty() => return Ok(None),
        Ok(p) => (p, true),
        Err(_) => ("portal.toml".to_string(), false),
    };
    if !named && !std::path::Path::new(&path).exists() {
        return Ok(None);
    }
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some((path, text))),
        Err(e) => Err(err("PORTAL_CONFIG", format!("cannot read '{path}' ({e})"))),
    }
}

/// Names an error's setting by where it was set, when that was not its variable.
fn blame(origins: &BTreeMap<String, String>, mut e: ConfigError) -> ConfigError {
    if let Some(origin) = origins.get(&e.var) {
        e.var.clone_from(origin);
    }
    e
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

/// The environment variable a config key is set by.
pub fn env_name(key: &str) -> String {
    let upper = key.to_uppercase();
    if RAW_ENV.contains(&upper.as_str()) {
        upper
    } else {
        format!("PORTAL_{upper}")
    }
}

impl RawConfig {
    /// Defaults, then the TOML file (`PORTAL_CONFIG`, or `./portal.toml` when it exists), then the
    /// environment, then `overrides` (the flags, as key and value).
    pub fn load_with(overrides: &[(&str, String)]) -> Result<Self, ConfigError> {
        let keys = known_keys();
        let mut origins = BTreeMap::new();
        let mut fig = Figment::from(Serialized::defaults(RawConfig::default()));
        if let Some((path, text)) = config_file()? {
            let table = Figment::from(Toml::string(&text))
                .extract::<figment::value::Dict>()
                .map_err(|e| err(&path, one_line(&e.kind.to_string())))?;
            for (name, key, value) in file_settings(table, &keys).map_err(|e| err(&path, e))? {
                origins.insert(env_name(&key), format!("{path}: {name}"));
                fig = fig.merge(Serialized::default(&key, value));
            }
        }
        // The environment is read as text and converted only where a number or a flag is
        // expected: figment's own Env provider would turn TWILIO_FROM=+46700000000 into a number.
        let mut vars: Vec<(String, String, String)> = std::env::vars()
            .filter_map(|(var, v)| Some((setting(&var, &keys)?, var, v)))
            .collect();
        vars.sort();
        for (key, var, v) in vars {
            origins.insert(env_name(&key), var);
            fig = fig.merge(Serialized::default(&key, v));
        }
        for (key, v) in overrides {
            origins.insert(env_name(key), format!("--{}", key.replace('_', "-")));
            fig = fig.merge(Serialized::default(key, v));
        }
        let named = |key: &str| {
            let var = env_name(key);
            origins.get(&var).cloned().unwrap_or(var)
        };
        let mut raw = fig.extract_lossy::<RawConfig>().map_err(|e| {
            let key = e.path.last().cloned().unwrap_or_else(|| "config".into());
            let problem = match &e.kind {
                // `-5`, `ten` or a 20-digit number where a count or a duration belongs.
                Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected)
                    if ["u32", "u64", "usize"].contains(&expected.as_str()) =>
                {
                    whole_number(&key)
                }
                kind => kind.to_string(),
            };
            err(&named(&key), problem)
        })?;
        raw.origins = origins;
        Ok(raw)
    }

    /// The database to open: `DATABASE_URL`, or a SQLite file in the data directory.
    pub fn database_url(&self) -> Result<String, ConfigError> {
        let url = match &self.database_url {
            // Every pooled connection would open its own empty database, and all of it would
            // vanish at exit.
            Some(u)
                if u.starts_with("sqlite:")
                    && (crate::store::sqlite_path(u).is_none() || u.contains("mode=memory")) =>
            {
                Err(err(
                    "DATABASE_URL",
                    format!("'{u}' is an in-memory database, whose data would vanish: name a file, e.g. sqlite://data/portal.db"),
                ))
            }
            Some(u)
                if u.starts_with("postgres://")
                    || u.starts_with("postgresql://")
                    || u.starts_with("sqlite:") =>
            {
                Ok(u.clone())
            }
            Some(u) => Err(err(
                "DATABASE_URL",
                format!("'{}' must start with postgres:// or sqlite:", redact_url(u)),
            )),
            None => Ok(format!(
                "sqlite://{}?mode=rwc",
                PathBuf::from(&self.data_dir).join("portal.db").display()
            )),
        };
        url.map_err(|e| blame(&self.origins, e))
    }

    /// Every setting, one a line: `VARIABLE = value  (where it was set)`, secrets shown as `***`
    /// and passwords in URLs masked, for `portal config`.
    pub fn describe(&self) -> String {
        const SECRETS: [&str; 3] = ["secret", "twilio_auth_token", "metrics_token"];
        const URLS: [&str; 2] = ["database_url", "smtp_url"];
        let Ok(serde_json::Value::Object(settings)) = serde_json::to_value(self) else {
            return String::new();
        };
        let lines: Vec<String> = settings
            .iter()
            .map(|(key, value)| {
                let var = env_name(key);
                let shown = match value {
                    serde_json::Value::Null => "(unset)".to_string(),
                    _ if SECRETS.contains(&key.as_str()) => "***".to_string(),
                    serde_json::Value::String(s) if URLS.contains(&key.as_str()) => redact_url(s),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let from = self.origins.get(&var).map_or("default", String::as_str);
                format!("{var} = {shown}  ({from})")
            })
            .collect();
        lines.join("\n")
    }

    pub fn log_format(&self) -> Result<LogFormat, ConfigError> {
        match self.log_format.as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(blame(
                &self.origins,
                err(
                    "PORTAL_LOG_FORMAT",
                    format!("'{other}' is not one of: text, json"),
                ),
            )),
        }
    }

    /// Refuses the numbers that cannot work: a zero cap refuses every request, an hourly cap
    /// above the daily one is never reached, an idle timeout above the absolute one never fires.
    fn check_numbers(&self) -> Result<(), ConfigError> {
        let numbers = [
            ("resend_cooldown_secs", self.resend_cooldown_secs),
            ("code_ttl_secs", self.code_ttl_secs),
            ("sms_code_ttl_secs", self.sms_code_ttl_secs),
            ("session_idle_secs", self.session_idle_secs),
            ("session_absolute_secs", self.session_absolute_secs),
            ("prune_interval_secs", self.prune_interval_secs),
            ("sms_per_number_hour", self.sms_per_number_hour.into()),
            ("sms_per_number_day", self.sms_per_number_day.into()),
            ("sms_per_prefix_hour", self.sms_per_prefix_hour.into()),
            ("sms_global_hour", self.sms_global_hour.into()),
            ("codes_per_hour", self.codes_per_hour.into()),
            ("codes_per_day", self.codes_per_day.into()),
            ("ip_requests_per_hour", self.ip_requests_per_hour.into()),
            (
                "ip_verifications_per_hour",
                self.ip_verifications_per_hour.into(),
            ),
            ("outbox_workers", self.outbox_workers as u64),
        ];
        let concurrency = self
            .hash_concurrency
            .map(|n| ("hash_concurrency", n as u64));
        for (key, value) in numbers.into_iter().chain(concurrency) {
            let (min, max) = bounds(key);
            if value < min || value > max {
                return Err(err(&env_name(key), whole_number(key)));
            }
        }
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
            self.codes_per_hour.into(),
            "codes_per_day",
            self.codes_per_day.into(),
            cap,
        )?;
        at_most(
            "sms_per_number_hour",
            self.sms_per_number_hour.into(),
            "sms_per_number_day",
            self.sms_per_number_day.into(),
            cap,
        )?;
        at_most(
            "session_idle_secs",
            self.session_idle_secs,
            "session_absolute_secs",
            self.session_absolute_secs,
            "the session ends at the absolute limit before it could idle out",
        )
    }

    /// Turns the raw settings into a [`Config`], naming the first one that is wrong by where it
    /// was set: the flag, the variable, or the file and key.
    pub fn parse(self) -> Result<Config, ConfigError> {
        let origins = self.origins.clone();
        self.parse_values().map_err(|e| blame(&origins, e))
    }

    fn parse_values(self) -> Result<Config, ConfigError> {
        let bind = resolve(&self.bind)?;
        let data_dir = PathBuf::from(&self.data_dir);
        let database_url = self.database_url()?;
        let log_format = self.log_format()?;
        self.check_numbers()?;
        let public_url = match &self.public_url {
            Some(u) => Url::parse(u)
                .map_err(|e| err("PORTAL_PUBLIC_URL", format!("'{u}' is not a URL ({e})")))?,
            // The name as given (`localhost:3978`), not what it resolved to.
            None => Url::parse(&format!("http://{}", self.bind))
                .map_err(|e| err("PORTAL_BIND", e.to_string()))?,
        };
        if !matches!(public_url.scheme(), "http" | "https") || public_url.host_str().is_none() {
            return Err(err(
                "PORTAL_PUBLIC_URL",
                "must be an http:// or https:// URL with a host",
            ));
        }
        // Links in messages, cookies (`__Host-` needs `Path=/`) and the web app's routes all
        // start at `/`: a path would be dropped from some of them.
        if public_url.path() != "/" || public_url.query().is_some() {
            return Err(err(
                "PORTAL_PUBLIC_URL",
                format!(
                    "'{public_url}' has a path: serving under a path is not supported, give the origin only ({})",
                    public_url.origin().ascii_serialization()
                ),
            ));
        }
        let mut smtp_credentials = false;
        let smtp_url = match self.smtp_url.filter(|s| !s.is_empty()) {
            Some(u) => {
                let parsed = Url::parse(&u)
                    .map_err(|_| err("SMTP_URL", format!("'{}' is not a URL", redact_url(&u))))?;
                if !matches!(parsed.scheme(), "smtp" | "smtps") || parsed.host_str().is_none() {
                    return Err(err(
                        "SMTP_URL",
                        "must look like smtp://host:port or smtps://user:pass@host:465",
                    ));
                }
                smtp_credentials = !parsed.username().is_empty();
                Some(SecretString::from(u))
            }
            None => None,
        };
        let smtp_tls = match self.smtp_tls.as_deref().filter(|s| !s.is_empty()) {
            Some("required") => SmtpTls::Required,
            Some("opportunistic") => SmtpTls::Opportunistic,
            Some("none") => SmtpTls::None,
            Some(other) => {
                return Err(err(
                    "PORTAL_SMTP_TLS",
                    format!("'{other}' is not one of: required, opportunistic, none"),
                ))
            }
            // A relay password is worth protecting by default; mail without credentials keeps
            // the behaviour every MTA has.
            None if smtp_credentials => SmtpTls::Required,
            None => SmtpTls::Opportunistic,
        };
        let host = public_url.host_str().unwrap_or("localhost");
        let mail_from = match self.mail_from {
            Some(from) => from,
            // `no-reply@127.0.0.1` is no address a relay accepts or a reader trusts; the dev
            // mailbox only shows it, so local runs need no setting.
            None if smtp_url.is_some() && !matches!(public_url.host(), Some(url::Host::Domain(_))) => {
                return Err(err(
                    "MAIL_FROM",
                    format!("is required when SMTP_URL is set and the public host is an IP address ({host}), e.g. MAIL_FROM=no-reply@example.com"),
                ))
            }
            None => format!("no-reply@{host}"),
        };
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(err(
                "MAIL_FROM",
                format!("'{mail_from}' is not an email address"),
            ));
        }
        let secret = match self.secret.filter(|s| !s.is_empty()) {
            Some(s) if s.len() < 32 => {
                return Err(err("PORTAL_SECRET", "must be at least 32 characters"))
            }
            Some(s) => Some(SecretString::from(s)),
            None => None,
        };
        let default_region: phonenumber::country::Id =
            self.default_region.to_uppercase().parse().map_err(|_| {
                err(
                    "PORTAL_DEFAULT_REGION",
                    format!("'{}' is not a two-letter region code", self.default_region),
                )
            })?;
        let default_cc = phonenumber::metadata::DATABASE
            .by_id(default_region.as_ref())
            .map(|m| m.country_code())
            .ok_or_else(|| err("PORTAL_DEFAULT_REGION", "unknown region"))?;
        let sms_country_codes = match self.sms_countries.filter(|s| !s.trim().is_empty()) {
            None => vec![default_cc],
            Some(list) => list
                .split(',')
                .map(|r| {
                    let r = r.trim().to_uppercase();
                    phonenumber::metadata::DATABASE
                        .by_id(&r)
                        .map(|m| m.country_code())
                        .ok_or_else(|| {
                            err(
                                "PORTAL_SMS_COUNTRIES",
                                format!("'{r}' is not a region code"),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let sms_provider = match self.sms_provider.as_str() {
            "log" => SmsProvider::Log,
            "twilio" => {
                let need = |v: Option<String>, name: &str| {
                    v.filter(|s| !s.is_empty())
                        .ok_or_else(|| err(name, "is required when SMS_PROVIDER=twilio"))
                };
                let api_base = Url::parse(&self.twilio_api_base)
                    .map_err(|_| err("TWILIO_API_BASE", "is not a URL"))?;
                SmsProvider::Twilio {
                    account_sid: need(self.twilio_account_sid, "TWILIO_ACCOUNT_SID")?,
                    auth_token: SecretString::from(need(
                        self.twilio_auth_token,
                        "TWILIO_AUTH_TOKEN",
                    )?),
                    from: e164(need(self.twilio_from, "TWILIO_FROM")?)?,
                    api_base,
                }
            }
            other => {
                return Err(err(
                    "SMS_PROVIDER",
                    format!("'{other}' is not one of: log, twilio"),
                ))
            }
        };
        let trusted_proxies = match self.trusted_proxies.as_deref().map(str::trim) {
            None | Some("") => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|p| {
                    let p = p.trim();
                    p.parse::<ipnet::IpNet>()
                        .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| {
                            err(
                                "PORTAL_TRUSTED_PROXIES",
                                format!("'{p}' is not an IP address or CIDR range"),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let client_ip_header = match self.client_ip_header.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => ClientIpHeader::XForwardedFor,
            "forwarded" => ClientIpHeader::Forwarded,
            other => {
                return Err(err(
                    "PORTAL_CLIENT_IP_HEADER",
                    format!("'{other}' is not one of: x-forwarded-for, forwarded"),
                ))
            }
        };
        let host_default_port = public_url.port_or_known_default().unwrap_or(80);
        let allowed_hosts = self
            .allowed_hosts
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| {
                HostPort::parse(h, host_default_port).ok_or_else(|| {
                    err(
                        "PORTAL_ALLOWED_HOSTS",
                        format!("'{h}' is not a host name or host:port"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cores = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2);
        Ok(Config {
            bind,
            database_url,
            data_dir,
            static_dir: PathBuf::from(self.static_dir),
            public_url,
            smtp_url,
            smtp_tls,
            mail_from,
            secret,
            hide_account_existence: self.hide_account_existence,
            resend_cooldown_secs: self.resend_cooldown_secs,
            code_ttl_secs: self.code_ttl_secs,
            sms_code_ttl_secs: self.sms_code_ttl_secs,
            session_idle_secs: self.session_idle_secs,
            session_absolute_secs: self.session_absolute_secs,
            default_region,
            sms_provider,
            sms_country_codes,
            sms_per_number_hour: self.sms_per_number_hour,
            sms_per_number_day: self.sms_per_number_day,
            sms_per_prefix_hour: self.sms_per_prefix_hour,
            sms_global_hour: self.sms_global_hour,
            codes_per_hour: self.codes_per_hour,
            codes_per_day: self.codes_per_day,
            ip_requests_per_hour: self.ip_requests_per_hour,
            ip_verifications_per_hour: self.ip_verifications_per_hour,
            log_format,
            hash_concurrency: self.hash_concurrency.unwrap_or(cores),
            outbox_workers: self.outbox_workers,
            trusted_proxies,
            client_ip_header,
            metrics_token: match self.metrics_token.filter(|t| !t.is_empty()) {
                Some(t) if t.len() < 16 => {
                    return Err(err(
                        "PORTAL_METRICS_TOKEN",
                        "must be at least 16 characters",
                    ))
                }
                t => t.map(SecretString::from),
            },
            prune_interval_secs: self.prune_interval_secs,
            allowed_hosts,
            template_dir: self
                .template_dir
                .filter(|d| !d.trim().is_empty())
                .map(PathBuf::from),
        })
    }
}

impl Config {
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
        let scheme = self.public_url.scheme();
        Hosts {
            scheme,
            public: HostPort::new(
                &self.public_host(),
                self.public_url.port_or_known_default().unwrap_or(80),
            ),
            extra: &self.allowed_hosts,
        }
    }
}

/// A year: the longest any timer may be, so that `now + ttl` stays a date.
const YEAR_SECS: u64 = 365 * 24 * 3600;

/// The smallest and largest value a numeric setting may take.
fn bounds(key: &str) -> (u64, u64) {
    match key {
        // No cooldown is a choice (a test rig, a kiosk); no other timer may be zero.
        "resend_cooldown_secs" => (0, YEAR_SECS),
        k if k.ends_with("_secs") => (1, YEAR_SECS),
        _ => (1, u64::from(u32::MAX)),
    }
}

/// What a numeric setting must be, in plain words.
fn whole_number(key: &str) -> String {
    let (min, max) = bounds(key);
    if key.ends_with("_secs") {
        format!("must be a whole number of seconds, at least {min} and at most {max} (a year)")
    } else {
        format!("must be a whole number, at least {min} and at most {max}")
    }
}

/// `PORTAL_BIND`: an IP and port, or a host name and port resolved now (IPv4 first, so that
/// `localhost:3000` listens where browsers look first).
fn resolve(bind: &str) -> Result<SocketAddr, ConfigError> {
    if let Ok(addr) = bind.parse() {
        return Ok(addr);
    }
    let shape = || {
        err(
            "PORTAL_BIND",
            format!("'{bind}' is not a host:port address (e.g. 127.0.0.1:3000 or localhost:3000)"),
        )
    };
    let (host, port) = bind.rsplit_once(':').ok_or_else(shape)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(shape());
    }
    let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(bind)
        .map_err(|e| err("PORTAL_BIND", format!("cannot resolve '{host}' ({e})")))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| err("PORTAL_BIND", format!("'{host}' resolves to no address")))
}

/// `TWILIO_FROM`: an E.164 number (`+46700000000`). Alphanumeric sender ids are not accepted:
/// several countries (the US and Canada among them) refuse them, replies cannot reach them, and
/// a word like `nonsense` is then indistinguishable from a typo.
fn e164(from: String) -> Result<String, ConfigError> {
    let digits = from.strip_prefix('+').unwrap_or_default();
    if (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
    {
        Ok(from)
    } else {
        Err(err(
            "TWILIO_FROM",
            format!("'{from}' is not a phone number in E.164 form (e.g. +46700000000)"),
        ))
    }
}

/// Drops a password from a URL before it is shown in an error.
fn redact_url(u: &str) -> String {
    match Url::parse(u) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => u.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(f: impl FnOnce(&mut RawConfig)) -> Result<Config, ConfigError> {
        let mut raw = RawConfig::default();
        f(&mut raw);
        raw.parse()
    }

    /// A change to the defaults, the variable its error names, and words the error says.
    type Case = (Box<dyn FnOnce(&mut RawConfig)>, &'static str, &'static str);

    /// Each case is refused, naming its variable, with one line.
    fn refused(cases: Vec<Case>) {
        for (f, var, says) in cases {
            match parse(f) {
                Ok(_) => panic!("{var} was accepted"),
                Err(e) => {
                    assert_eq!(e.var, var, "{e}");
                    assert!(e.problem.contains(says), "{e}");
                    assert!(!e.to_string().contains('\n'), "{e}");
                }
            }
        }
    }

    #[test]
    fn defaults_give_a_working_local_setup() {
        let c = parse(|_| {}).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.bind.to_string(), "127.0.0.1:3000");
        assert!(c.database_url.starts_with("sqlite://"));
        assert_eq!(c.mail_from, "no-reply@127.0.0.1");
        assert_eq!(c.code_ttl_secs, 86_400);
        assert_eq!(c.sms_country_codes, vec![46]);
    }

    #[test]
    fn each_mistake_names_its_variable() {
        type Case = (Box<dyn FnOnce(&mut RawConfig)>, &'static str);
        let cases: Vec<Case> = vec![
            (Box::new(|r| r.bind = "nope".into()), "PORTAL_BIND"),
            (
                Box::new(|r| r.database_url = Some("mysql://x".into())),
                "DATABASE_URL",
            ),
            (
                Box::new(|r| r.public_url = Some("ftp://x".into())),
                "PORTAL_PUBLIC_URL",
            ),
            (
                Box::new(|r| r.smtp_url = Some("http://x".into())),
                "SMTP_URL",
            ),
            (
                Box::new(|r| r.mail_from = Some("not an address".into())),
                "MAIL_FROM",
            ),
            (
                Box::new(|r| r.sms_provider = "carrier-pigeon".into()),
                "SMS_PROVIDER",
            ),
            (
                Box::new(|r| r.sms_provider = "twilio".into()),
                "TWILIO_ACCOUNT_SID",
            ),
            (
                Box::new(|r| r.default_region = "XX".into()),
                "PORTAL_DEFAULT_REGION",
            ),
            (
                Box::new(|r| r.log_format = "xml".into()),
                "PORTAL_LOG_FORMAT",
            ),
            (
                Box::new(|r| r.secret = Some("short".into())),
                "PORTAL_SECRET",
            ),
            (Box::new(|r| r.code_ttl_secs = 0), "PORTAL_CODE_TTL_SECS"),
            (
                Box::new(|r| r.smtp_tls = Some("sometimes".into())),
                "PORTAL_SMTP_TLS",
            ),
            (
                Box::new(|r| r.prune_interval_secs = 0),
                "PORTAL_PRUNE_INTERVAL_SECS",
            ),
            (
                Box::new(|r| r.allowed_hosts = Some("ok.test, not a host".into())),
                "PORTAL_ALLOWED_HOSTS",
            ),
        ];
        for (f, var) in cases {
            match parse(f) {
                Ok(_) => panic!("{var} was accepted"),
                Err(e) => {
                    assert_eq!(e.var, var);
                    assert!(!e.to_string().contains('\n'));
                }
            }
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail decides the closure's error type
    fn numbers_from_the_environment_are_read_as_text() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TWILIO_FROM", "+46700000000");
            jail.set_env("PORTAL_SECRET", "1234567890123456789012345678901234567890");
            let raw = RawConfig::load_with(&[]).map_err(|e| e.to_string())?;
            assert_eq!(raw.twilio_from.as_deref(), Some("+46700000000"));
            assert_eq!(raw.secret.as_deref().map(str::len), Some(40));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail decides the closure's error type
    fn smtp_tls_is_required_with_credentials_unless_the_operator_says_otherwise() {
        let tls = |url: Option<&str>, setting: Option<&str>| {
            parse(|r| {
                r.smtp_url = url.map(Into::into);
                r.smtp_tls = setting.map(Into::into);
                r.mail_from = Some("no-reply@portal.localhost".into());
            })
            .map(|c| c.smtp_tls)
            .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(tls(Some("smtp://u:p@relay:587"), None), SmtpTls::Required);
        assert_eq!(tls(Some("smtp://relay:25"), None), SmtpTls::Opportunistic);
        assert_eq!(tls(None, None), SmtpTls::Opportunistic);
        assert_eq!(
            tls(Some("smtp://u:p@relay:587"), Some("opportunistic")),
            SmtpTls::Opportunistic
        );
        assert_eq!(
            tls(Some("smtp://relay:25"), Some("required")),
            SmtpTls::Required
        );
        assert_eq!(tls(Some("smtp://relay:25"), Some("none")), SmtpTls::None);
        // An empty value (PORTAL_SMTP_TLS=) is the same as unset.
        assert_eq!(
            tls(Some("smtp://u:p@relay:587"), Some("")),
            SmtpTls::Required
        );
        figment::Jail::expect_with(|jail| {
            jail.set_env("PORTAL_SMTP_TLS", "none");
            let raw = RawConfig::load_with(&[]).map_err(|e| e.to_string())?;
            assert_eq!(raw.smtp_tls.as_deref(), Some("none"));
            Ok(())
        });
    }

    #[test]
    fn values_that_cannot_work_are_refused_with_one_line() {
        let cases: Vec<Case> = vec![
            (
                Box::new(|r| r.ip_requests_per_hour = 0),
                "PORTAL_IP_REQUESTS_PER_HOUR",
                "must be a whole number, at least 1",
            ),
            (
                Box::new(|r| r.ip_verifications_per_hour = 0),
                "PORTAL_IP_VERIFICATIONS_PER_HOUR",
                "at least 1",
            ),
            (
                Box::new(|r| r.sms_per_number_day = 0),
                "PORTAL_SMS_PER_NUMBER_DAY",
                "at least 1",
            ),
            (
                Box::new(|r| r.sms_per_prefix_hour = 0),
                "PORTAL_SMS_PER_PREFIX_HOUR",
                "at least 1",
            ),
            (
                Box::new(|r| r.sms_global_hour = 0),
                "PORTAL_SMS_GLOBAL_HOUR",
                "at least 1",
            ),
            (
                Box::new(|r| r.codes_per_hour = 11),
                "PORTAL_CODES_PER_HOUR",
                "11 is above PORTAL_CODES_PER_DAY=10",
            ),
            (
                Box::new(|r| r.sms_per_number_hour = 6),
                "PORTAL_SMS_PER_NUMBER_HOUR",
                "above PORTAL_SMS_PER_NUMBER_DAY=5",
            ),
            (
                Box::new(|r| r.session_idle_secs = r.session_absolute_secs + 1),
                "PORTAL_SESSION_IDLE_SECS",
                "above PORTAL_SESSION_ABSOLUTE_SECS",
            ),
            (
                Box::new(|r| r.hash_concurrency = Some(0)),
                "PORTAL_HASH_CONCURRENCY",
                "at least 1",
            ),
            (
                Box::new(|r| r.outbox_workers = 0),
                "PORTAL_OUTBOX_WORKERS",
                "at least 1",
            ),
            (
                Box::new(|r| r.code_ttl_secs = u64::MAX),
                "PORTAL_CODE_TTL_SECS",
                "must be a whole number of seconds, at least 1",
            ),
            (
                Box::new(|r| {
                    r.sms_provider = "twilio".into();
                    r.twilio_account_sid = Some("AC123".into());
                    r.twilio_auth_token = Some("token".into());
                    r.twilio_from = Some("nonsense".into());
                }),
                "TWILIO_FROM",
                "E.164",
            ),
            (
                Box::new(|r| r.bind = "localhost".into()),
                "PORTAL_BIND",
                "not a host:port address",
            ),
        ];
        refused(cases);
    }

    #[test]
    fn a_bind_address_may_name_a_host() {
        let c = parse(|r| r.bind = "localhost:3978".into()).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.bind.ip().is_loopback());
        assert_eq!(c.bind.port(), 3978);
        assert_eq!(c.public_url.as_str(), "http://localhost:3978/");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail decides the closure's error type
    fn negative_and_huge_numbers_get_plain_words() {
        for (var, value, says) in [
            (
                "PORTAL_CODE_TTL_SECS",
                "-5",
                "must be a whole number of seconds, at least 1",
            ),
            (
                "PORTAL_IP_REQUESTS_PER_HOUR",
                "99999999999999999999",
                "must be a whole number, at least 1",
            ),
            ("PORTAL_HASH_CONCURRENCY", "-1", "at least 1"),
            ("PORTAL_OUTBOX_WORKERS", "four", "at least 1"),
        ] {
            figment::Jail::expect_with(|jail| {
                jail.set_env(var, value);
                let e = RawConfig::load_with(&[]).and_then(RawConfig::parse).err();
                let e = e.ok_or(format!("{var}={value} was accepted"))?;
                assert_eq!(e.var, var, "{e}");
                assert!(e.problem.contains(says), "{e}");
                Ok(())
            });
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail decides the closure's error type
    fn a_named_config_file_that_cannot_be_read_stops_start_up() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PORTAL_CONFIG", "/nonexistent.toml");
            let e = RawConfig::load_with(&[])
                .err()
                .ok_or("a missing file was accepted")?;
            assert_eq!(e.var, "PORTAL_CONFIG");
            assert!(e.problem.contains("cannot read '/nonexistent.toml'"), "{e}");
            jail.set_env("PORTAL_CONFIG", ".");
            let e = RawConfig::load_with(&[])
                .err()
                .ok_or("a directory was accepted")?;
            assert!(e.problem.contains("cannot read '.'"), "{e}");
            // Empty: no file at all, not even ./portal.toml.
            jail.create_file("portal.toml", "code_ttl_secs = 0")?;
            jail.set_env("PORTAL_CONFIG", "");
            let raw = RawConfig::load_with(&[]).map_err(|e| e.to_string())?;
            assert_eq!(raw.code_ttl_secs, 86_400);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail decides the closure's error type
    fn unknown_keys_in_the_file_stop_start_up_with_the_closest_known_one() {
        for (line, says) in [
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
        ] {
            figment::Jail::expect_with(|jail| {
                jail.create_file("portal.toml", line)?;
                let e = RawConfig::load_with(&[]).err();
                let e = e.ok_or(format!("'{line}' was accepted"))?;
                assert_eq!(e.var, "portal.toml", "{e}");
                assert!(e.problem.contains(says), "{e}");
                assert!(!e.to_string().contains('\n'), "{e}");
                Ok(())
            });
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail decides the closure's error type
    fn the_file_groups_settings_in_sections_each_written_once() {
        for (section, prefix, names) in SECTIONS {
            for name in names {
                let key = format!("{prefix}{name}");
                assert!(
                    known_keys().contains(&key),
                    "[{section}] {name} is no setting"
                );
            }
        }
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "portal.toml",
                "bind = '127.0.0.1:4000'\n[smtp]\nurl = 'smtp://relay.test:587'\ntls = 'required'\n\
                 [limits]\ncodes_per_hour = 7\n[session]\nidle_secs = 600\n[sms]\nper_number_day = 4\n",
            )?;
            let raw = RawConfig::load_with(&[]).map_err(|e| e.to_string())?;
            assert_eq!(raw.smtp_url.as_deref(), Some("smtp://relay.test:587"));
            assert_eq!(raw.smtp_tls.as_deref(), Some("required"));
            assert_eq!((raw.codes_per_hour, raw.session_idle_secs), (7, 600));
            assert_eq!(raw.sms_per_number_day, 4);
            assert_eq!(raw.bind, "127.0.0.1:4000");
            let origin = raw.origins.get("SMTP_URL").map(String::as_str);
            assert_eq!(origin, Some("portal.toml: smtp.url"));
            Ok(())
        });
        for (file, says) in [
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
            ("[limit]\ncodes_per_hour = 3", "unknown key 'limit'"),
        ] {
            figment::Jail::expect_with(|jail| {
                jail.create_file("portal.toml", file)?;
                let e = RawConfig::load_with(&[]).err();
                let e = e.ok_or(format!("{file:?} was accepted"))?;
                assert_eq!(e.var, "portal.toml", "{e}");
                assert!(e.problem.contains(says), "{e}");
                Ok(())
            });
        }
        // A value that cannot work is named by its place in the file.
        figment::Jail::expect_with(|jail| {
            jail.create_file("portal.toml", "[limits]\ncodes_per_hour = 0")?;
            let e = RawConfig::load_with(&[])
                .and_then(RawConfig::parse)
                .err()
                .ok_or("accepted")?;
            assert_eq!(e.var, "portal.toml: limits.codes_per_hour");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail decides the closure's error type
    fn every_error_names_where_the_value_came_from() {
        let blamed = |file: Option<&str>, env: Option<&str>, flag: Option<&str>| {
            let mut var = String::new();
            figment::Jail::expect_with(|jail| {
                jail.set_env("PORTAL_CONFIG", "settings.toml");
                jail.create_file("settings.toml", file.unwrap_or_default())?;
                if let Some(v) = env {
                    jail.set_env("PORTAL_BIND", v);
                }
                let flags: Vec<(&str, String)> =
                    flag.map(|v| ("bind", v.into())).into_iter().collect();
                let e = RawConfig::load_with(&flags)
                    .and_then(RawConfig::parse)
                    .err();
                var = e.ok_or("accepted")?.var;
                Ok(())
            });
            var
        };
        assert_eq!(
            blamed(Some("bind = 'nope'"), None, None),
            "settings.toml: bind"
        );
        assert_eq!(
            blamed(Some("bind = 'nope'"), Some("nope"), None),
            "PORTAL_BIND"
        );
        assert_eq!(blamed(None, Some("x:1"), Some("nope")), "--bind");
        // A value that fails to deserialize is named the same way.
        figment::Jail::expect_with(|jail| {
            jail.create_file("portal.toml", "code_ttl_secs = -5")?;
            let e = RawConfig::load_with(&[]).err().ok_or("accepted")?;
            assert_eq!(e.var, "portal.toml: code_ttl_secs");
            assert!(e.problem.contains("whole number of seconds"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn unknown_variables_are_named_with_the_closest_known_one() {
        let vars = [
            "PORTAL_CODE_TTL",
            "PORTAL_CODE_TTL_SECS",
            "PORTAL_CONFIG",
            "PORTAL_SMS_PER_NUMER_DAY",
            "PORTAL_ZEBRA",
            "DATABASE_URL",
            "HOME",
        ]
        .map(|v| (v.to_string(), "1".to_string()));
        assert_eq!(
            unknown_variables(vars),
            [
                "PORTAL_CODE_TTL is not a setting and is ignored: did you mean PORTAL_CODE_TTL_SECS?",
                "PORTAL_SMS_PER_NUMER_DAY is not a setting and is ignored: did you mean PORTAL_SMS_PER_NUMBER_DAY?",
                "PORTAL_ZEBRA is not a setting and is ignored",
            ]
        );
    }

    #[test]
    fn silent_misconfigurations_are_refused_with_one_line() {
        let cases: Vec<Case> = vec![
            (
                Box::new(|r| r.public_url = Some("https://portal.example.com/sub/".into())),
                "PORTAL_PUBLIC_URL",
                "serving under a path is not supported, give the origin only (https://portal.example.com)",
            ),
            (
                Box::new(|r| r.database_url = Some("sqlite:".into())),
                "DATABASE_URL",
                "in-memory database",
            ),
            (
                Box::new(|r| r.database_url = Some("sqlite::memory:".into())),
                "DATABASE_URL",
                "in-memory database",
            ),
            (
                Box::new(|r| r.database_url = Some("sqlite://x.db?mode=memory".into())),
                "DATABASE_URL",
                "in-memory database",
            ),
            (
                Box::new(|r| r.smtp_url = Some("smtp://relay:25".into())),
                "MAIL_FROM",
                "is required when SMTP_URL is set and the public host is an IP address (127.0.0.1)",
            ),
        ];
        refused(cases);
        // A named host, or a sender given, sends from a real address.
        let c = parse(|r| {
            r.smtp_url = Some("smtp://relay:25".into());
            r.public_url = Some("https://portal.example.com/".into());
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.mail_from, "no-reply@portal.example.com");
        assert!(parse(|r| {
            r.smtp_url = Some("smtp://relay:25".into());
            r.mail_from = Some("no-reply@portal.localhost".into());
        })
        .is_ok());
    }

    #[test]
    fn smtp_passwords_are_not_echoed_in_errors() {
        let e = parse(|r| r.database_url = Some("mysql://u:hunter2@h/db".into()));
        assert!(matches!(e, Err(ref e) if !e.to_string().contains("hunter2")));
    }
}

/// The README's configuration table is checked against [`RawConfig`], the one place settings are
/// defined: every setting is documented under the variable that sets it, with its default, and
/// the table names no variable that is not a setting.
#[cfg(test)]
mod readme {
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
        let documented: BTreeSet<String> = rows.iter().flat_map(|(v, _)| v.clone()).collect();
        let defaults = match serde_json::to_value(RawConfig::default()) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let settings: BTreeSet<String> = defaults.keys().map(|k| env_name(k)).collect();
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
        for (key, value) in &defaults {
            let shown = match value {
                serde_json::Value::String(s) if !s.is_empty() => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            let var = env_name(key);
            let (_, default) = rows
                .iter()
                .find(|(vars, _)| vars.contains(&var))
                .unwrap_or_else(|| panic!("{var} has no row"));
            assert!(
                default.contains(&format!("`{shown}`")),
                "README.md gives {var} the default {default:?}, the code `{shown}`"
            );
        }
    }
}
