//! What an operator meets: the `portal` command and start-up, what each refuses and what it says.

use crate::helpers::{browser, fresh_database_url, logs, portal_command, spawn_app_with};

/// A fresh database and data directory for `portal` commands.
struct Install {
    db: String,
    dir: std::path::PathBuf,
}

impl Install {
    async fn new() -> Self {
        Self::on(fresh_database_url().await)
    }

    /// `portal` commands on the database of a running test server.
    fn of(app: &crate::helpers::TestApp) -> Self {
        Self::on(app.raw.get("database_url").unwrap().to_string())
    }

    fn on(db: String) -> Self {
        let dir = std::env::temp_dir().join(format!("portal-cli-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { db, dir }
    }

    /// Runs `portal args…` with `env` set; returns success, stdout and stderr.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        let out = portal_command(&self.db, &self.dir, None)
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
}

/// Runs `portal args…` on a fresh database with `env` set; returns success, stdout and stderr.
async fn portal(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    Install::new().await.run(args, env)
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

#[tokio::test]
async fn a_variable_that_is_not_utf8_is_ignored_unless_it_is_a_setting() {
    use std::os::unix::ffi::OsStrExt;
    let install = Install::new().await;
    let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9");
    let run = |var: &str| {
        portal_command(&install.db, &install.dir, None)
            .arg("migrate")
            .env(var, latin1)
            .output()
            .unwrap()
    };
    // Another program's variable: no panic, no word.
    let out = run("LESSCHARSET");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One of ours: one line naming it.
    let out = run("PORTAL_DATA_DIR");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "configuration error: PORTAL_DATA_DIR: is not valid UTF-8"
    );
}

#[tokio::test]
async fn an_unreachable_postgres_is_named_with_the_cause() {
    let db = [("DATABASE_URL", "postgres://portal@127.0.0.1:1/portal")];
    let (ok, _, err) = portal(&["migrate"], &db).await;
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "configuration error: DATABASE_URL: cannot connect to PostgreSQL at 127.0.0.1:1 (connection refused)"
    );
}

#[tokio::test]
async fn a_sqlite_file_that_does_not_exist_is_created_and_an_in_memory_one_is_refused() {
    let dir = std::env::temp_dir().join(format!("portal-new-{:x}", rand::random::<u64>()));
    let file = dir.join("x.db");
    let url = format!("sqlite://{}", file.display());
    let (ok, _, err) = portal(&["migrate"], &[("DATABASE_URL", &url)]).await;
    assert!(ok, "{err}");
    assert!(file.is_file());
    let (ok, _, err) = portal(&["migrate"], &[("DATABASE_URL", "sqlite::memory:")]).await;
    assert!(!ok);
    assert!(
        err.starts_with(
            "configuration error: DATABASE_URL: 'sqlite::memory:' is an in-memory database"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn without_the_built_web_app_pages_say_so_and_the_log_warns() {
    let empty = std::env::temp_dir().join(format!("portal-static-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&empty).unwrap();
    let app = spawn_app_with(|c| {
        c.set("static_dir", empty.display().to_string());
    })
    .await;
    let r = browser()
        .get(format!("{}/reset", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The web app was not built"));
    assert!(logs().contains("PORTAL_STATIC_DIR has no index.html"));
    // The API is unaffected.
    let r = browser()
        .get(format!("{}/api/nope", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn role_names_that_could_never_be_assigned_and_empty_permissions_are_refused() {
    let install = Install::new().await;
    for (name, permissions, says) in [
        ("", "users:view", "--name: must not be blank"),
        ("   ", "users:view", "--name: must not be blank"),
        ("admin", "users:view", "--name: 'admin' is a built-in role"),
        ("Owner", "users:view", "--name: 'Owner' is a built-in role"),
        ("Helpdesk", ",", "--permissions: at least one of users:view"),
        (
            "Help\u{200B}desk",
            "users:view",
            "--name: 1 to 40 characters",
        ),
        (
            "Policy",
            "users:view,settings:edit",
            "--permissions: settings:edit belongs to the owner",
        ),
    ] {
        let args = ["role", "add", "--name", name, "--permissions", permissions];
        let (ok, _, err) = install.run(&args, &[]);
        assert!(!ok, "{name:?} {permissions:?} was accepted");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.starts_with(says), "{err}");
    }
    // Names are told apart regardless of case: a second "HELPDESK" could never be assigned.
    let add = [
        "role",
        "add",
        "--name",
        "Helpdesk",
        "--permissions",
        "users:view",
    ];
    assert!(install.run(&add, &[]).0);
    let add = [
        "role",
        "add",
        "--name",
        "HELPDESK",
        "--permissions",
        "users:view",
    ];
    let (ok, _, err) = install.run(&add, &[]);
    assert!(!ok);
    assert_eq!(err.trim(), "--name: a role named 'HELPDESK' exists");
    let add = ["user", "add", "--email", "ann@example.com"];
    let (ok, out, err) = install.run(&add, &[]);
    assert!(ok, "{err}");
    let assign = ["role", "assign", "--email", "ann@example.com", "--role", ""];
    let (ok, _, err) = install.run(&assign, &[]);
    assert!(!ok, "{out}");
    assert!(err.starts_with("--role: must not be blank"), "{err}");
}

#[tokio::test]
async fn adding_a_user_says_how_they_sign_in_and_which_identifier_is_taken() {
    let install = Install::new().await;
    let add = |email: &str, phone: &str| {
        let args = ["user", "add", "--email", email, "--phone", phone];
        install.run(&args, &[])
    };
    let (ok, out, err) = add("ann@example.com", "+46701234567");
    assert!(ok, "{err}");
    assert!(
        out.contains("no password set: the user signs in after a reset"),
        "{out}"
    );
    let (ok, _, err) = add("ann@example.com", "+46701234568");
    assert!(!ok);
    assert!(
        err.starts_with("--email: a user with ann@example.com exists"),
        "{err}"
    );
    let (ok, _, err) = add("bo@example.com", "+46701234567");
    assert!(!ok);
    assert!(
        err.starts_with("--phone: a user with that phone number exists"),
        "{err}"
    );
    let sso = [
        "user",
        "add",
        "--email",
        "cy@example.com",
        "--sso",
        "google",
    ];
    let (ok, out, err) = install.run(&sso, &[]);
    assert!(ok, "{err}");
    assert!(out.contains("signs in with Google"), "{out}");
}

#[tokio::test]
async fn portal_demo_says_how_to_start_the_server() {
    let (ok, out, err) = portal(&["demo"], &[]).await;
    assert!(ok, "{err}");
    assert!(
        out.starts_with("Demo data added. No server runs yet: start it with `portal serve`"),
        "{out}"
    );
}

#[tokio::test]
async fn a_deactivated_user_is_signed_out_loses_the_code_in_hand_and_can_neither_sign_in_nor_reset()
{
    use crate::helpers::{spawn_app, PASSWORD};
    use app::wire::SignInMethod;
    let app = spawn_app().await;
    app.add_user("owner@example.com", "owner", None, SignInMethod::Password)
        .await;
    app.add_user("ann@example.com", "member", None, SignInMethod::Password)
        .await;
    let install = Install::of(&app);
    let portal = |args: &[&str]| install.run(args, &[]);

    let signed_in = browser();
    assert_eq!(
        app.sign_in(&signed_in, "ann@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    let resetting = browser();
    assert_eq!(
        app.start_reset(&resetting, "ann@example.com")
            .await
            .status(),
        200
    );
    let code = app.mail.wait_nth("ann@example.com", 1).await.code();

    let (ok, out, err) = portal(&["user", "deactivate", "--email", "ann@example.com"]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "<ann@example.com> is deactivated and signed out everywhere"
    );
    let (ok, _, err) = portal(&["user", "deactivate", "--email", "owner@example.com"]);
    assert!(!ok);
    assert_eq!(err.trim(), "--email: the owner cannot be deactivated");

    assert_eq!(
        app.get(&signed_in, "/api/me").await.status(),
        401,
        "the session lives on"
    );
    assert_ne!(
        app.verify(&resetting, &code).await.status(),
        200,
        "the code still works"
    );
    assert_eq!(
        app.sign_in(&browser(), "ann@example.com", PASSWORD)
            .await
            .status(),
        401
    );
    app.start_reset(&browser(), "ann@example.com").await;
    app.wait_outbox_settled().await;
    assert_eq!(
        app.mail.to("ann@example.com").len(),
        1,
        "a deactivated user got a code"
    );
    assert_eq!(app.audit_count("user_deactivated").await, 1);

    let (ok, out, err) = portal(&["user", "list"]);
    assert!(ok, "{err}");
    let ann = out
        .lines()
        .find(|l| l.starts_with("ann@example.com"))
        .unwrap_or_default();
    assert!(
        ann.contains("member") && ann.contains("deactivated"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("2 user(s)"), "{out}");

    let (ok, out, err) = portal(&["user", "activate", "--email", "ann@example.com"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "<ann@example.com> is active again");
    assert_eq!(
        app.sign_in(&browser(), "ann@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    assert_eq!(app.audit_count("user_activated").await, 1);
}

#[tokio::test]
async fn role_list_shows_each_custom_role_its_permissions_and_holders() {
    let install = Install::new().await;
    let (ok, out, _) = install.run(&["role", "list"], &[]);
    assert!(ok);
    assert_eq!(
        out.trim(),
        "no custom roles (built in: owner, admin, member)"
    );
    let add = [
        "role",
        "add",
        "--name",
        "Helpdesk",
        "--permissions",
        "users:view,users:edit",
    ];
    assert!(install.run(&add, &[]).0);
    assert!(
        install
            .run(
                &[
                    "user",
                    "add",
                    "--email",
                    "ann@example.com",
                    "--role",
                    "Helpdesk"
                ],
                &[]
            )
            .0
    );
    let (ok, out, err) = install.run(&["role", "list"], &[]);
    assert!(ok, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("Helpdesk"))
        .unwrap_or_default();
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cells, ["Helpdesk", "users:view,users:edit", "1"], "{out}");
}

#[tokio::test]
async fn portal_config_shows_each_setting_and_its_source_with_secrets_redacted() {
    let env = [
        (
            "SMTP_URL",
            "smtp://mailer:hunter2-relay@relay.example.com:587",
        ),
        ("PORTAL_METRICS_TOKEN", "metrics-token-0123456789"),
        ("PORTAL_CODE_TTL_SECS", "3600"),
    ];
    let (ok, out, err) = portal(&["config"], &env).await;
    assert!(ok, "{err}");
    for line in [
        "SMTP_URL = smtp://mailer:***@relay.example.com:587  (SMTP_URL)",
        "PORTAL_METRICS_TOKEN = ***  (PORTAL_METRICS_TOKEN)",
        "PORTAL_SECRET = ***  (PORTAL_SECRET)",
        "PORTAL_CODE_TTL_SECS = 3600  (PORTAL_CODE_TTL_SECS)",
        "PORTAL_SMS_CODE_TTL_SECS = 600  (default)",
        "PORTAL_ALLOWED_HOSTS = (unset)  (default)",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "no line {line:?} in:\n{out}"
        );
    }
    for secret in ["hunter2", "metrics-token-0123", "bin-test-secret"] {
        assert!(!out.contains(secret), "{secret} shown:\n{out}");
    }
    // A URL that does not parse shows neither its password nor its query, in the error or in the
    // listing.
    for (var, url) in [
        (
            "SMTP_URL",
            "smtps://mailer:hunter2-relay@relay.example.com:99999",
        ),
        (
            "DATABASE_URL",
            "postgres://portal:hunter2-db@db.example.com:99999/portal?password=hunter2-q",
        ),
        // A password holding `?` does not parse; one of digits then `#` parses, as a port and a
        // fragment.
        ("SMTP_URL", "smtps://mailer:hunter2?x@relay.example.com:465"),
        (
            "DATABASE_URL",
            "postgres://portal:4711#hunter2@db.example.com/portal",
        ),
    ] {
        let (_, out, err) = portal(&["config"], &[(var, url)]).await;
        assert!(!format!("{out}{err}").contains("hunter2"), "{out}\n{err}");
        assert!(format!("{out}{err}").contains("***"), "{out}\n{err}");
    }
    // The same check `serve` makes: a value that cannot work is named, exit code 2.
    let (ok, out, err) = portal(&["config"], &[("PORTAL_CODES_PER_HOUR", "0")]).await;
    assert!(!ok);
    assert!(
        out.contains("PORTAL_CODES_PER_HOUR = 0  (PORTAL_CODES_PER_HOUR)"),
        "{out}"
    );
    assert!(
        err.starts_with("configuration error: PORTAL_CODES_PER_HOUR:"),
        "{err}"
    );
}

#[tokio::test]
async fn an_operators_templates_brand_the_mail_and_a_broken_one_stops_start_up() {
    use app::wire::SignInMethod;
    let dir = std::env::temp_dir().join(format!("portal-brand-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(dir.join("en")).unwrap();
    std::fs::write(
        dir.join("en/reset_code.html"),
        "<p>ACME Corp password desk</p><p>Your code: <b>{{ m.code }}</b>, {{ m.name }}</p>",
    )
    .unwrap();
    let branded = dir.display().to_string();
    let app = spawn_app_with(|c| {
        c.set("template_dir", branded);
    })
    .await;
    app.add_user("ann@example.com", "member", None, SignInMethod::Password)
        .await;
    assert_eq!(
        app.start_reset(&browser(), "ann@example.com")
            .await
            .status(),
        200
    );
    let mail = app.mail.wait_nth("ann@example.com", 1).await;
    let code = mail.code();
    assert!(
        mail.html
            .contains(&format!("<p>Your code: <b>{code}</b>, Test ann</p>")),
        "{}",
        mail.html
    );
    assert!(mail.html.contains("ACME Corp password desk"));

    std::fs::write(dir.join("en/reset_code.html"), "{{ m.code ").unwrap();
    let (ok, _, err) = portal(
        &["serve"],
        &[("PORTAL_TEMPLATE_DIR", &dir.display().to_string())],
    )
    .await;
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "configuration error: PORTAL_TEMPLATE_DIR: en/reset_code.html: syntax error"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_second_owner_is_refused_however_many_users_sort_before_the_first() {
    use crate::helpers::spawn_app;
    use app::wire::SignInMethod;
    let app = spawn_app().await;
    // A thousand members whose names sort before the owner's ("Bulk User" < "Test owner"): the
    // check once read the first page of the name-sorted list and missed an owner past it.
    app.add_users_bulk("m", 1000).await;
    app.add_user("owner@example.com", "owner", None, SignInMethod::Password)
        .await;
    let args = [
        "user",
        "add",
        "--email",
        "second@example.com",
        "--role",
        "owner",
        "--sso",
        "google",
    ];
    let (ok, _, err) = Install::of(&app).run(&args, &[]);
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "--role: the account already has an owner (there is exactly one)"
    );
}

#[tokio::test]
async fn what_the_command_line_adds_and_assigns_is_on_the_audit_trail() {
    use crate::helpers::spawn_app;
    let app = spawn_app().await;
    let install = Install::of(&app);
    let portal = |args: &[&str]| {
        let (ok, out, err) = install.run(args, &[]);
        assert!(ok, "{args:?}: {out} {err}");
    };
    portal(&[
        "role",
        "add",
        "--name",
        "Desk",
        "--permissions",
        "users:view",
    ]);
    portal(&[
        "user",
        "add",
        "--email",
        "ann@example.com",
        "--sso",
        "google",
    ]);
    portal(&[
        "role",
        "assign",
        "--email",
        "ann@example.com",
        "--role",
        "Desk",
    ]);
    for kind in ["role_created", "user_added", "role_assigned"] {
        assert_eq!(app.audit_count(kind).await, 1, "{kind}");
    }
}
