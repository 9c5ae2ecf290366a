//! What the database keeps: someone holding a copy of it (a backup, SQLite's WAL, a replica)
//! must not find a live code or link in it, before or after the message is sent.

use std::time::Duration;

use app::wire::SignInMethod;
use axum::http::StatusCode;
use sqlx::Row;

use crate::helpers::*;

/// Everything an attacker with a copy of the database would read. On SQLite the files as bytes:
/// the main file and the WAL, where overwritten rows linger as old page images; on PostgreSQL
/// every row of every table, as text.
async fn database_copy(app: &TestApp) -> Vec<u8> {
    if backend() == "postgres" {
        let mut c = app.store.conn().await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .fetch_all(&mut *c)
        .await
        .unwrap();
        let mut out = Vec::new();
        for t in tables {
            let rows = sqlx::query(&format!("SELECT CAST(t AS TEXT) AS r FROM \"{t}\" AS t"))
                .fetch_all(&mut *c)
                .await
                .unwrap();
            for r in rows {
                out.extend_from_slice(r.get::<String, _>("r").as_bytes());
                out.push(b'\n');
            }
        }
        out
    } else {
        let path = sqlite_file(app);
        let mut out = std::fs::read(&path).unwrap();
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            out.extend_from_slice(&wal);
        }
        out
    }
}

/// The SQLite database file of `app`.
pub fn sqlite_file(app: &TestApp) -> String {
    let url = app.raw.get("database_url").unwrap();
    let rest = url.strip_prefix("sqlite://").unwrap();
    rest.split('?').next().unwrap().to_string()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Waits until the worker has tried the one queued message and failed.
async fn wait_for_a_failed_attempt(app: &TestApp) {
    for _ in 0..200 {
        let mut c = app.store.conn().await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE last_error IS NOT NULL")
            .fetch_one(&mut *c)
            .await
            .unwrap();
        if n > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the worker never tried the message");
}

async fn payloads_left(app: &TestApp) -> i64 {
    let mut c = app.store.conn().await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE payload IS NOT NULL")
        .fetch_one(&mut *c)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_copy_of_the_database_reveals_no_code_or_link_while_queued_or_after_sending() {
    let app = spawn_app().await;
    app.add_user("vault@example.com", "member", None, SignInMethod::Password)
        .await;
    // The relay is down, so the message waits in the outbox with its code.
    app.mail.set_down(true);
    let r = app.start_reset(&browser(), "vault@example.com").await;
    assert_eq!(r.status(), StatusCode::OK);
    wait_for_a_failed_attempt(&app).await;
    let queued = database_copy(&app).await;
    assert_eq!(payloads_left(&app).await, 1, "the message is still queued");
    // The code is not known yet; what surrounds it in every template is.
    for plain in ["password reset code", "/reset#token=", "verification code"] {
        assert!(!contains(&queued, plain), "'{plain}' is readable at rest");
    }

    app.mail.set_down(false);
    app.clock.advance(10);
    let mail = app.mail.wait_nth("vault@example.com", 1).await;
    let (code, token) = (mail.code(), mail.link_token());
    assert_eq!(token.len(), 43);
    // Sent: nothing is left to decrypt either.
    for _ in 0..200 {
        if payloads_left(&app).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        payloads_left(&app).await,
        0,
        "the payload is erased once sent"
    );

    // The WAL still holds the pages written while the message was queued, so this copy covers
    // both moments; a checkpoint then moves every page into the main file, free pages included.
    let mut copies = vec![("after sending", database_copy(&app).await)];
    if backend() == "sqlite" {
        let mut c = app.store.conn().await.unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *c)
            .await
            .unwrap();
        copies.push(("main file after a checkpoint", database_copy(&app).await));
    }
    copies.push(("while queued", queued));
    for (when, copy) in copies {
        // A bare 6-digit run can occur by chance among timestamps and hex hashes; the code in its
        // templates' contexts cannot, and neither can a 43-character random token.
        assert!(
            !contains(&copy, &token),
            "the link token is at rest ({when})"
        );
        for around in [
            format!("code: {code}"),
            format!(">{code}<"),
            format!("\n{code}\n"),
            format!("\"{code}\""),
        ] {
            assert!(
                !contains(&copy, &around),
                "the code is at rest as '{around:?}' ({when})"
            );
        }
        assert!(
            !contains(&copy, "Your password reset code"),
            "the subject is at rest ({when})"
        );
    }
}

/// The permission bits of `path`.
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn another_local_account_can_read_neither_the_database_nor_its_wal_nor_the_dev_mailbox() {
    let app = spawn_app_with(|r| {
        // The defaults: the database in the data directory, mail to the dev mailbox there.
        r.set("database_url", "").set("smtp_url", "");
    })
    .await;
    app.add_user("local@example.com", "member", None, SignInMethod::Password)
        .await;
    let r = app.start_reset(&browser(), "local@example.com").await;
    assert_eq!(r.status(), StatusCode::OK);
    let data = std::path::PathBuf::from(app.raw.get("data_dir").unwrap());
    let mailbox = data.join("mailbox");
    let mut files = Vec::new();
    for _ in 0..200 {
        files = std::fs::read_dir(&mailbox)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        if !files.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(files.len(), 1, "the dev mailbox got the message");
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&mailbox), 0o700, "the mailbox directory");
    assert_eq!(mode(&files[0]), 0o600, "the mailbox file");
    for f in ["portal.db", "portal.db-wal", "portal.db-shm"] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
}

#[tokio::test]
async fn sms_codes_logged_on_a_reachable_address_are_announced_loudly_at_start_up() {
    let warning = "SMS verification codes are being LOGGED";
    let _local = spawn_app_with(|r| {
        r.set("sms_provider", "log");
    })
    .await;
    let _reachable = spawn_app_with(|r| {
        r.set("sms_provider", "log").set("bind", "0.0.0.0:0");
    })
    .await;
    let logged = logs();
    let lines: Vec<&str> = logged.lines().filter(|l| l.contains(warning)).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("WARN") && l.contains("0.0.0.0:0")),
        "no warning for the reachable address"
    );
    // A loopback address is a developer's machine: the usual note is enough.
    assert!(!lines.iter().any(|l| l.contains("127.0.0.1")));
}
