//! The `portal` command as an operator meets it: what each command refuses and what it says.

use crate::helpers::{fresh_database_url, portal_command};

/// Runs `portal args…` on a fresh database with `env` set; returns success, stdout and stderr.
async fn portal(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let db = fresh_database_url().await;
    let dir = std::env::temp_dir().join(format!("portal-cli-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = portal_command(&db, &dir, None)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn migrate_reads_only_the_database_setting() {
    let zero_cap = [("PORTAL_IP_REQUESTS_PER_HOUR", "0")];
    let (ok, out, err) = portal(&["migrate"], &zero_cap).await;
    assert!(ok, "{err}");
    assert!(out.contains("migrations applied"), "{out}");
    // The setting `migrate` never used stops the server that does use it.
    let (ok, _, err) = portal(&["serve"], &zero_cap).await;
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "configuration error: PORTAL_IP_REQUESTS_PER_HOUR: must be a whole number, at least 1 and at most 4294967295"
    );
}

#[tokio::test]
async fn an_unparsable_log_filter_stops_every_command() {
    let (ok, _, err) = portal(&["migrate"], &[("RUST_LOG", "portal=loud")]).await;
    assert!(!ok);
    assert!(err.starts_with("configuration error: RUST_LOG:"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[tokio::test]
async fn a_bad_flag_is_named_as_the_flag_and_a_misspelled_variable_is_warned_about() {
    let (ok, _, err) = portal(&["serve", "--bind", "nope"], &[]).await;
    assert!(!ok);
    assert!(
        err.starts_with("configuration error: --bind: 'nope' is not a host:port address"),
        "{err}"
    );
    let (ok, _, err) = portal(&["migrate"], &[("PORTAL_CODE_TTL", "5")]).await;
    assert!(ok, "{err}");
    assert!(
        err.contains(
            "PORTAL_CODE_TTL is not a setting and is ignored: did you mean PORTAL_CODE_TTL_SECS?"
        ),
        "{err}"
    );
}
