//! Logging: `tracing` to stderr, human-readable or JSON (`PORTAL_LOG_FORMAT`), filtered by
//! `RUST_LOG` (default `info`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, LogFormat};

const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn";

/// The log filter `RUST_LOG` asks for; a filter that does not parse stops start-up rather than
/// silently logging at the default level.
pub fn filter(rust_log: Option<&str>) -> Result<EnvFilter, ConfigError> {
    match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(EnvFilter::new(DEFAULT_FILTER)),
        Some(directives) => EnvFilter::builder()
            .parse(directives)
            .map_err(|e| ConfigError {
                var: "RUST_LOG".into(),
                problem: format!("'{directives}' is not a log filter ({e})"),
            }),
    }
}

pub fn init(format: LogFormat, filter: EnvFilter) {
    // Colour escapes only for a person at a terminal, never into a file or a log collector.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unparsable_rust_log_is_refused_with_one_line() {
        assert!(filter(None).is_ok());
        assert!(filter(Some("debug,sqlx=warn")).is_ok());
        let e = filter(Some("portal=loud")).err().map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(e.contains("RUST_LOG"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
