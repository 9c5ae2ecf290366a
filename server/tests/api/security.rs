//! The security review's attacks (shared browsers, proxies, floods, normalisation, races): each
//! test performs one attack through the public API and asserts that it fails.

use app::wire::SignInMethod;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_link_left_open_on_a_shared_computer_cannot_make_the_next_users_save_change_its_account()
{
    let app = spawn_app().await;
    app.add_user("anna@example.com", "member", None, SignInMethod::Password)
        .await;
    app.add_user("bert@example.com", "member", None, SignInMethod::Password)
        .await;
    // Anna asks for a reset on her phone and opens the emailed link on the shared computer.
    let phone = browser();
    assert_eq!(
        app.start_reset(&phone, "anna@example.com").await.status(),
        200
    );
    let token = app.mail.wait_nth("anna@example.com", 1).await.link_token();
    let shared = browser();
    let opened = app
        .post(&shared, "/api/reset/link", json!({ "token": token }))
        .await;
    assert_eq!(opened.status(), 200);
    // She walks away. Bert resets his own password by code on the same computer.
    assert_eq!(
        app.start_reset(&shared, "bert@example.com").await.status(),
        200
    );
    let code = app.mail.wait_nth("bert@example.com", 1).await.code();
    assert_eq!(app.verify(&shared, &code).await.status(), 200);
    assert_eq!(app.save(&shared, NEW_PASSWORD).await.status(), 200);
    // Bert's password changed; Anna's did not, and Bert cannot sign in as Anna.
    assert_eq!(
        app.sign_in(&browser(), "bert@example.com", NEW_PASSWORD)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.sign_in(&browser(), "anna@example.com", NEW_PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        app.sign_in(&browser(), "anna@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    // Starting Bert's flow forgot Anna's link in that browser.
    assert_eq!(app.get(&shared, "/api/reset/link").await.status(), 410);
}

#[tokio::test]
async fn a_code_flow_started_after_opening_someone_elses_link_never_saves_through_that_link() {
    let app = spawn_app().await;
    app.add_user("cleo@example.com", "member", None, SignInMethod::Password)
        .await;
    app.add_user("dag@example.com", "member", None, SignInMethod::Password)
        .await;
    let shared = browser();
    // Dag starts a flow on the shared computer, then Cleo opens her own link there: the link is
    // now what that browser is on, and Dag's flow cookie is gone.
    app.start_reset(&shared, "dag@example.com").await;
    app.start_reset(&browser(), "cleo@example.com").await;
    let token = app.mail.wait_nth("cleo@example.com", 1).await.link_token();
    assert_eq!(
        app.post(&shared, "/api/reset/link", json!({ "token": token }))
            .await
            .status(),
        200
    );
    let code = app.mail.wait_nth("dag@example.com", 1).await.code();
    assert_eq!(app.verify(&shared, &code).await.status(), 404);
    // Save now acts on Cleo's link only, and does not sign the shared browser in as her.
    let r = app.save(&shared, NEW_PASSWORD).await;
    assert_eq!(r.status(), 200);
    assert_eq!(json(r).await["signed_in"], false);
    assert_eq!(
        app.sign_in(&browser(), "dag@example.com", PASSWORD)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_dead_link_cookie_does_not_block_the_code_flow_beside_it() {
    let app = spawn_app_with(|c| {
        c.set("resend_cooldown_secs", "1");
    })
    .await;
    app.add_user("eva@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "eva@example.com").await;
    let first = app.mail.wait_nth("eva@example.com", 1).await;
    // Eva opens the link in the same browser, then asks for a new code: the link dies.
    assert_eq!(
        app.post(
            &b,
            "/api/reset/link",
            json!({ "token": first.link_token() })
        )
        .await
        .status(),
        200
    );
    app.clock.advance(2);
    assert_eq!(
        app.post(&b, "/api/reset/resend", json!({})).await.status(),
        200
    );
    assert_eq!(app.get(&b, "/api/reset/link").await.status(), 410);
    let code = app.mail.wait_nth("eva@example.com", 2).await.code();
    assert_eq!(app.verify(&b, &code).await.status(), 200);
    let r = app.save(&b, NEW_PASSWORD).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_eq!(
        app.sign_in(&browser(), "eva@example.com", NEW_PASSWORD)
            .await
            .status(),
        200
    );
}

/// A running `portal` process, killed when the test ends, passed or not.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the real `portal` binary with `args` on a fresh database; returns it, its URL, the
/// file its log goes to and the database URL.
async fn run_portal(args: &[&str]) -> (Running, String, std::path::PathBuf, String) {
    let db = fresh_database_url().await;
    let dir = std::env::temp_dir().join(format!("portal-bin-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = free_local_url();
    let log = dir.join("server.log");
    let child = Running(
        portal_command(&db, &dir, Some(&url))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    assert!(
        becomes_ready(&url).await,
        "the portal did not start: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    (child, url, log, db)
}

#[tokio::test]
async fn a_fresh_install_has_no_owner_with_a_published_password_and_the_operator_can_create_one() {
    let (child, url, log, db) = run_portal(&["serve"]).await;
    let sign_in = |email: &'static str, password: &'static str| {
        let url = url.clone();
        async move {
            browser()
                .post(format!("{url}/api/session"))
                .json(&json!({ "email": email, "password": password }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let demo = server::cli::demo::DEMO_PASSWORD;
    assert_eq!(sign_in("owner@example.com", demo).await, 401);
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains("portal user add --role owner"),
        "no hint on how to create the owner: {said}"
    );
    // The operator creates the owner while the server runs; it can sign in at once.
    let dir = log.parent().unwrap();
    let mut add = portal_command(&db, dir, None)
        .args([
            "user",
            "add",
            "--role",
            "owner",
            "--email",
            "boss@example.com",
        ])
        .arg("--password-stdin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = add.stdin.take().unwrap();
        writeln!(stdin, "Quiet-Harbour-Lantern-77").unwrap();
    }
    let out = add.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sign_in("boss@example.com", "Quiet-Harbour-Lantern-77").await,
        200
    );
    drop(child);
    // Demo data only when asked for.
    let (_demo, demo_url, _, _) = run_portal(&["serve", "--demo"]).await;
    let r = browser()
        .post(format!("{demo_url}/api/session"))
        .json(&json!({ "email": "owner@example.com", "password": demo }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// A request as a reverse proxy forwards it, on behalf of `client`.
async fn start_via_proxy(app: &TestApp, client: &str, identifier: &str) -> StatusCode {
    browser()
        .post(app.api("/api/reset/start"))
        .header("x-forwarded-for", client)
        .json(&json!({ "identifier": identifier }))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_clients_flood_does_not_stop_resets_for_everyone() {
    let app = spawn_app_with(|c| {
        c.set("trusted_proxies", "127.0.0.1/32");
        c.set("ip_requests_per_hour", "3");
    })
    .await;
    for i in 0..3 {
        let s = start_via_proxy(&app, "203.0.113.7", &format!("nobody{i}@example.com")).await;
        assert_eq!(s, 404);
    }
    assert_eq!(
        start_via_proxy(&app, "203.0.113.7", "nobody@example.com").await,
        429
    );
    // Another client behind the same proxy is not in the flooder's bucket.
    assert_eq!(
        start_via_proxy(&app, "198.51.100.1, 203.0.113.8", "nobody@example.com").await,
        404
    );
    // The client cannot pick its own bucket by writing the header itself: the proxy appends the
    // address it saw, and that rightmost untrusted hop is what counts.
    assert_eq!(
        start_via_proxy(&app, "192.0.2.99, 203.0.113.7", "nobody@example.com").await,
        429
    );
    // Nor by a byte that is not ASCII in its own part of the line: the proxy's hop still counts,
    // the client is not taken for the proxy (whose bucket is fresh).
    let garbled = reqwest::header::HeaderValue::from_bytes(b"\xff\xfe, 203.0.113.7").unwrap();
    let r = browser()
        .post(app.api("/api/reset/start"))
        .header("x-forwarded-for", garbled)
        .json(&json!({ "identifier": "nobody@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
}

#[tokio::test]
async fn behind_a_trusted_proxy_thirty_bad_sign_ins_from_one_client_lock_out_only_that_client() {
    let app = spawn_app_with(|c| {
        c.set("trusted_proxies", "127.0.0.0/8");
    })
    .await;
    app.add_user("ida@example.com", "member", None, SignInMethod::Password)
        .await;
    let sign_in = |client: &'static str, email: String, password: &'static str| {
        let app = &app;
        async move {
            browser()
                .post(app.api("/api/session"))
                .header("x-forwarded-for", client)
                .json(&json!({ "email": email, "password": password }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for i in 0..30 {
        let s = sign_in(
            "203.0.113.50",
            format!("guess{i}@example.com"),
            "wrong-wrong",
        )
        .await;
        assert_eq!(s, 401);
    }
    assert_eq!(
        sign_in("203.0.113.50", "ida@example.com".into(), PASSWORD).await,
        429
    );
    assert_eq!(
        sign_in("203.0.113.51", "ida@example.com".into(), PASSWORD).await,
        200
    );
}

#[tokio::test]
async fn a_client_that_is_no_trusted_proxy_cannot_choose_its_address_with_forwarding_headers() {
    let app = spawn_app_with(|c| {
        c.set("trusted_proxies", "10.0.0.0/8");
        c.set("ip_requests_per_hour", "3");
    })
    .await;
    for i in 0..3 {
        let s = start_via_proxy(&app, &format!("203.0.113.{i}"), "nobody@example.com").await;
        assert_eq!(s, 404);
    }
    let forwarded = browser()
        .post(app.api("/api/reset/start"))
        .header("forwarded", "for=198.51.100.77")
        .header("x-forwarded-for", "198.51.100.78")
        .json(&json!({ "identifier": "nobody@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 429);
}

#[tokio::test]
async fn an_ipv6_client_cannot_escape_the_per_address_cap_by_rotating_through_its_64() {
    let app = spawn_app_with(|c| {
        c.set("trusted_proxies", "127.0.0.1/32");
        c.set("ip_requests_per_hour", "3");
    })
    .await;
    for host in ["1", "abcd::2", "ffff:ffff:ffff:fffe"] {
        let client = format!("2001:db8:7:7:{host}");
        let client = client.replace("2001:db8:7:7:1", "2001:db8:7:7::1");
        assert_eq!(
            start_via_proxy(&app, &client, "nobody@example.com").await,
            404
        );
    }
    assert_eq!(
        start_via_proxy(
            &app,
            "2001:db8:7:7:1234:5678:9abc:def0",
            "nobody@example.com"
        )
        .await,
        429
    );
    assert_eq!(
        start_via_proxy(&app, "2001:db8:7:8::1", "nobody@example.com").await,
        404
    );
}

#[tokio::test]
async fn forty_wrong_passwords_at_once_do_not_take_the_portal_down_for_a_reset_beside_them() {
    let app = spawn_app().await;
    app.add_user("jon@example.com", "member", None, SignInMethod::Password)
        .await;
    app.add_user("kim@example.com", "member", None, SignInMethod::Password)
        .await;
    let flood = futures_util::future::join_all((0..40).map(|i| {
        let app = &app;
        async move {
            let email = if i % 2 == 0 {
                "jon@example.com".to_string()
            } else {
                format!("ghost{i}@example.com")
            };
            app.sign_in(&browser(), &email, "not the password at all")
                .await
                .status()
        }
    }));
    let reset = async {
        let b = browser();
        let started = app.start_reset(&b, "kim@example.com").await.status();
        let code = app.mail.wait_nth("kim@example.com", 1).await.code();
        let verified = app.verify(&b, &code).await.status();
        let saved = app.save(&b, NEW_PASSWORD).await.status();
        (started, verified, saved)
    };
    let (statuses, reset) = tokio::join!(flood, reset);
    assert_eq!(reset, (StatusCode::OK, StatusCode::OK, StatusCode::OK));
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    // The account under attack took at most its five guesses; the rest were refused unhashed.
    let evaluated = statuses.iter().step_by(2).filter(|s| **s == 401).count();
    assert!(evaluated <= 5, "{statuses:?}");
    assert_eq!(app.audit_count("sign_in_locked").await, 1);
}

#[tokio::test]
async fn twenty_parallel_wrong_passwords_lock_the_account_before_the_right_one_arrives() {
    let app = spawn_app().await;
    app.add_user("liv@example.com", "member", None, SignInMethod::Password)
        .await;
    let statuses = futures_util::future::join_all((0..20).map(|i| {
        let app = &app;
        async move {
            app.sign_in(&browser(), "liv@example.com", &format!("wrong guess {i}"))
                .await
                .status()
        }
    }))
    .await;
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(wrong <= 5, "{statuses:?}");
    assert_eq!(wrong + refused, 20, "{statuses:?}");
    assert_eq!(app.audit_count("sign_in_locked").await, 1);
    // The right password after the burst: still locked.
    assert_eq!(
        app.sign_in(&browser(), "liv@example.com", PASSWORD)
            .await
            .status(),
        429
    );
    // After the lock, one sign-in with the right password works and ends the run of failures.
    app.clock.advance(15 * 60 + 1);
    assert_eq!(
        app.sign_in(&browser(), "liv@example.com", PASSWORD)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_password_typed_in_decomposed_unicode_signs_in() {
    let app = spawn_app().await;
    app.add_user("mia@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "mia@example.com").await;
    let code = app.mail.wait_nth("mia@example.com", 1).await.code();
    app.verify(&b, &code).await;
    let composed = "Cr\u{e8}me br\u{fb}l\u{e9}e au caf\u{e9} 2024";
    let decomposed = "Cre\u{300}me bru\u{302}le\u{301}e au cafe\u{301} 2024";
    assert_ne!(composed, decomposed);
    assert_eq!(app.save(&b, composed).await.status(), 200);
    assert_eq!(
        app.sign_in(&browser(), "mia@example.com", decomposed)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.sign_in(&browser(), "mia@example.com", composed)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn an_email_typed_in_decomposed_unicode_finds_its_account() {
    let app = spawn_app().await;
    let composed = "jos\u{e9}@example.com";
    let decomposed = "jose\u{301}@example.com";
    app.add_user(composed, "member", None, SignInMethod::Password)
        .await;
    assert_eq!(
        app.sign_in(&browser(), decomposed, PASSWORD).await.status(),
        200
    );
    // Found: an unknown address is answered 404 account_not_found outside hidden mode.
    assert_eq!(app.start_reset(&browser(), decomposed).await.status(), 200);
}

/// One user's outstanding reset state: a verified grant in one browser, a live emailed link from
/// a second request, and two signed-in sessions.
struct Outstanding {
    grant: reqwest::Client,
    link_token: String,
    sessions: [reqwest::Client; 2],
}

async fn outstanding(app: &TestApp, email: &str) -> Outstanding {
    let before = app.mail.to(email).len();
    let grant = browser();
    assert_eq!(app.start_reset(&grant, email).await.status(), 200);
    let code = app.mail.next(email, before).await.code();
    assert_eq!(app.verify(&grant, &code).await.status(), 200);
    assert_eq!(app.start_reset(&browser(), email).await.status(), 200);
    let link_token = app.mail.next(email, before + 1).await.link_token();
    let sessions = [browser(), browser()];
    for s in &sessions {
        assert_eq!(app.sign_in(s, email, PASSWORD).await.status(), 200);
    }
    Outstanding {
        grant,
        link_token,
        sessions,
    }
}

#[tokio::test]
async fn a_grant_link_or_session_from_before_a_password_change_is_dead_whoever_changed_it() {
    let app = spawn_app().await;
    let admin = browser();
    app.add_user("root@example.com", "admin", None, SignInMethod::Password)
        .await;
    assert_eq!(
        app.sign_in(&admin, "root@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    for caller in ["reset", "profile", "admin", "cli"] {
        let email = format!("{caller}-user@example.com");
        let id = app
            .add_user(&email, "member", None, SignInMethod::Password)
            .await;
        let o = outstanding(&app, &email).await;
        let mails = app.mail.to(&email).len();
        let kept = match caller {
            "reset" => {
                let b = browser();
                let r = app
                    .post(&b, "/api/reset/link", json!({ "token": o.link_token }))
                    .await;
                assert_eq!(r.status(), 200);
                assert_eq!(app.save(&b, NEW_PASSWORD).await.status(), 200);
                None
            }
            "profile" => {
                let r = app
                    .post(
                        &o.sessions[0],
                        "/api/me/password",
                        json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD }),
                    )
                    .await;
                assert_eq!(r.status(), 204);
                Some(0)
            }
            "admin" => {
                let r = app
                    .post(
                        &admin,
                        &format!("/api/admin/users/{id}/password"),
                        json!({ "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "require_change": false }),
                    )
                    .await;
                assert_eq!(r.status(), 204);
                None
            }
            _ => {
                let dir =
                    std::env::temp_dir().join(format!("portal-cli-{:x}", rand::random::<u64>()));
                std::fs::create_dir_all(&dir).unwrap();
                let mut cmd = portal_command(app.raw.get("database_url").unwrap(), &dir, None);
                let mut child = cmd
                    .args([
                        "user",
                        "set-password",
                        "--email",
                        &email,
                        "--password-stdin",
                    ])
                    .env("PORTAL_SECRET", app.raw.get("secret").unwrap())
                    .env("SMTP_URL", format!("smtp://{}", app.mail.addr))
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                {
                    use std::io::Write;
                    writeln!(child.stdin.take().unwrap(), "{NEW_PASSWORD}").unwrap();
                }
                let out = child.wait_with_output().unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                None
            }
        };
        // The grant verified before the change can no longer set a password.
        assert_eq!(
            app.save(&o.grant, "yet another passphrase here")
                .await
                .status(),
            410,
            "{caller}: the old grant still works"
        );
        assert_eq!(
            app.get(&o.grant, "/api/reset/flow").await.status(),
            404,
            "{caller}: the old flow is still shown"
        );
        // The link mailed before the change is dead.
        let r = app
            .post(
                &browser(),
                "/api/reset/link",
                json!({ "token": o.link_token }),
            )
            .await;
        assert_eq!(r.status(), 410, "{caller}: the old link still opens");
        // Every session but the one that made the change is signed out.
        for (i, s) in o.sessions.iter().enumerate() {
            let status = app.get(s, "/api/me").await.status();
            let want = if kept == Some(i) { 200 } else { 401 };
            assert_eq!(status, want, "{caller}: session {i}");
        }
        // The user is told, and the new password works. (The command line runs on the real
        // clock, so its message is due long after this test's manual clock: count it queued.)
        if caller == "cli" {
            let mut c = app.store.conn().await.unwrap();
            let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE user_id = $1")
                .bind(id)
                .fetch_one(&mut *c)
                .await
                .unwrap();
            assert_eq!(queued, 3, "{caller}: two codes and the confirmation");
        } else {
            let told = app.mail.next(&email, mails).await;
            assert!(
                !told.subject.chars().any(|c| c.is_ascii_digit()),
                "{caller}: {}",
                told.subject
            );
        }
        assert_eq!(
            app.sign_in(&browser(), &email, NEW_PASSWORD).await.status(),
            200,
            "{caller}"
        );
    }
    // Each change is audited by its kind.
    assert_eq!(app.audit_count("password_reset").await, 1);
    assert_eq!(app.audit_count("password_changed").await, 1);
    assert_eq!(app.audit_count("admin_password_change").await, 2);
}

#[tokio::test]
async fn a_verified_code_left_past_its_fifteen_minutes_is_shown_as_expired_not_done() {
    let app = spawn_app().await;
    app.add_user("nils@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "nils@example.com").await;
    let code = app.mail.wait_nth("nils@example.com", 1).await.code();
    let r = app.verify(&b, &code).await;
    assert_eq!(r.status(), 200);
    assert_eq!(json(r).await["step"], "new_password");
    app.clock.advance(15 * 60 - 1);
    assert_eq!(
        json(app.get(&b, "/api/reset/flow").await).await["step"],
        "new_password"
    );
    app.clock.advance(2);
    let r = app.get(&b, "/api/reset/flow").await;
    assert_eq!(r.status(), 410);
    assert_eq!(json(r).await["error"], "grant_expired");
    assert_eq!(app.save(&b, NEW_PASSWORD).await.status(), 410);
    // A new code can be asked for at once.
    assert_eq!(app.start_reset(&b, "nils@example.com").await.status(), 200);
}

#[tokio::test]
async fn a_code_requested_with_a_look_alike_address_goes_to_the_address_on_file() {
    let app = spawn_app().await;
    app.add_user(
        "Olof.Berg@example.com",
        "member",
        None,
        SignInMethod::Password,
    )
    .await;
    assert_eq!(
        app.start_reset(&browser(), "OLOF.BERG@EXAMPLE.COM")
            .await
            .status(),
        200
    );
    let mail = app.mail.wait_nth("Olof.Berg@example.com", 1).await;
    assert_eq!(mail.to, vec!["Olof.Berg@example.com".to_string()]);
}

/// What an attacker sees of an answer: status, error code, Retry-After, attempts left and the
/// flow's shape (the masked destination differs by the text typed, so it is left out).
async fn seen(r: reqwest::Response) -> String {
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let mut cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|c| {
            // The cookie's name and attributes, not its random value.
            let (name, rest) = c.split_once('=').unwrap_or((c, ""));
            let attrs = rest.split_once(';').map(|(_, a)| a).unwrap_or("");
            format!("{name};{attrs}")
        })
        .collect();
    cookies.sort();
    let mut body: serde_json::Value = r.json().await.unwrap_or(serde_json::Value::Null);
    if let Some(o) = body.as_object_mut() {
        o.remove("masked_destination");
    }
    format!("{status} retry={retry} cookies={cookies:?} {body}")
}

#[tokio::test]
async fn in_hidden_mode_no_sequence_of_start_resend_verify_and_sign_in_tells_a_real_account_from_an_unknown_one(
) {
    let app = spawn_app_with(|c| {
        c.set("hide_account_existence", "true");
        c.set("ip_requests_per_hour", "10000");
        c.set("ip_verifications_per_hour", "10000");
        c.set("resend_cooldown_secs", "1");
    })
    .await;
    app.add_user("real@example.com", "member", None, SignInMethod::Password)
        .await;
    app.add_user(
        "phone@example.com",
        "member",
        Some("+46701234567"),
        SignInMethod::Password,
    )
    .await;
    let pairs = [
        ("real@example.com", "fake@example.com"),
        ("+46701234567", "+46701234568"),
    ];
    for (real, fake) in pairs {
        let browsers = [browser(), browser()];
        let mut seen_by = [Vec::new(), Vec::new()];
        // Runs one step for both identifiers and keeps what each answer showed.
        macro_rules! step {
            (|$b:ident, $who:ident| $e:expr) => {
                for (i, $who) in [real, fake].into_iter().enumerate() {
                    let $b = &browsers[i];
                    let r = $e;
                    seen_by[i].push(seen(r).await);
                }
            };
        }
        step!(|b, who| app.start_reset(b, who).await);
        app.clock.advance(2);
        step!(|b, _who| app.post(b, "/api/reset/resend", json!({})).await);
        for _ in 0..5 {
            step!(|b, _who| app.verify(b, "000000").await);
        }
        step!(|b, who| app.start_reset(b, who).await);
        for _ in 0..6 {
            step!(|b, _who| app.verify(b, "000000").await);
        }
        // Ten wrong codes: resets for that identifier are paused, real or not.
        step!(|b, who| app.start_reset(b, who).await);
        app.clock.advance(3601);
        step!(|b, who| app.start_reset(b, who).await);
        step!(|b, who| app.start_reset(b, who).await);
        step!(|b, who| app.start_reset(b, who).await);
        step!(|b, who| app.start_reset(b, who).await);
        if real.contains('@') {
            for _ in 0..6 {
                step!(|b, who| app.sign_in(b, who, "a wrong password").await);
            }
        }
        for (n, (a, b)) in seen_by[0].iter().zip(&seen_by[1]).enumerate() {
            assert_eq!(a, b, "{real} vs {fake}, step {n}");
        }
        // The sequence did reach the caps it is about.
        let all = seen_by[0].join("\n");
        assert!(all.contains("reset_blocked"), "{all}");
        assert!(all.contains("429 retry="), "{all}");
    }
}

#[tokio::test]
async fn in_hidden_mode_metrics_are_served_only_with_the_token() {
    let app = spawn_app_with(|c| {
        c.set("hide_account_existence", "true");
    })
    .await;
    assert_eq!(
        reqwest::get(app.api("/metrics")).await.unwrap().status(),
        404
    );
    let app = spawn_app_with(|c| {
        c.set("hide_account_existence", "true");
        c.set("metrics_token", "scrape-token-0123456789");
    })
    .await;
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(app.api("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let wrong = client
        .get(app.api("/metrics"))
        .bearer_auth("scrape-token-012345678X")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = client
        .get(app.api("/metrics"))
        .bearer_auth("scrape-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("portal_outbox_depth"));
}

#[tokio::test]
async fn parallel_wrong_codes_at_the_end_of_the_days_allowance_get_no_extra_guesses() {
    let app = spawn_app_with(|c| {
        c.set("ip_verifications_per_hour", "10000");
    })
    .await;
    app.add_user("pia@example.com", "member", None, SignInMethod::Password)
        .await;
    // Eight wrong codes one by one (five on the first code, three on the second) ...
    let b = browser();
    app.start_reset(&b, "pia@example.com").await;
    for _ in 0..5 {
        app.verify(&b, "000000").await;
    }
    app.start_reset(&b, "pia@example.com").await;
    for _ in 0..3 {
        assert_eq!(app.verify(&b, "000000").await.status(), 400);
    }
    // ... then a fresh code and five wrong guesses at once: only two fit in the day's ten.
    let b = browser();
    assert_eq!(app.start_reset(&b, "pia@example.com").await.status(), 200);
    let statuses: Vec<u16> = futures_util::future::join_all((0..5).map(|i| {
        let (app, b) = (&app, &b);
        async move {
            app.verify(b, &format!("{:06}", 100_000 + i))
                .await
                .status()
                .as_u16()
        }
    }))
    .await;
    // The places are handed out one guess at a time: exactly two are compared, the ninth (a
    // wrong code: 400, or 410 when the block killed the code before its attempt was counted on
    // it) and the tenth (a wrong code that starts the block: 429); the rest are refused
    // uncompared (429) or arrive after the block killed the code (410).
    let failed = app.audit_count("code_verification_failed").await;
    assert_eq!(failed, 10, "{statuses:?}");
    assert_eq!(app.audit_count("reset_blocked").await, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [400, 410, 429].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(
        app.start_reset(&browser(), "pia@example.com")
            .await
            .status(),
        429
    );
}

/// Twenty starts for `identifier` at once, each answered 200.
async fn twenty_starts_at_once(app: &TestApp, identifier: &str) {
    let statuses = futures_util::future::join_all(
        (0..20).map(|_| async { app.start_reset(&browser(), identifier).await.status() }),
    )
    .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

#[tokio::test]
async fn in_hidden_mode_twenty_concurrent_requests_for_an_unknown_address_leave_one_live_decoy() {
    let app = spawn_app_with(|c| {
        c.set("hide_account_existence", "true");
        c.set("codes_per_hour", "100");
        c.set("codes_per_day", "100");
    })
    .await;
    twenty_starts_at_once(&app, "nobody@example.com").await;
    let mut c = app.store.conn().await.unwrap();
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reset_codes WHERE user_id IS NULL AND consumed_at IS NULL AND revoked_at IS NULL",
    )
    .fetch_one(&mut *c)
    .await
    .unwrap();
    assert_eq!(
        live, 1,
        "a real account keeps one live code; so must a decoy"
    );
}

#[tokio::test]
async fn twenty_concurrent_requests_for_one_user_leave_exactly_one_live_code() {
    let app = spawn_app_with(|c| {
        c.set("codes_per_hour", "100");
        c.set("codes_per_day", "100");
    })
    .await;
    let id = app
        .add_user("quinn@example.com", "member", None, SignInMethod::Password)
        .await;
    twenty_starts_at_once(&app, "quinn@example.com").await;
    let mut c = app.store.conn().await.unwrap();
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reset_codes WHERE user_id = $1 AND consumed_at IS NULL AND revoked_at IS NULL",
    )
    .bind(id)
    .fetch_one(&mut *c)
    .await
    .unwrap();
    assert_eq!(live, 1);
}
