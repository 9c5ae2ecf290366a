//! Sign-in, lockout, sessions, changing a remembered password, CSRF and security headers.

use app::wire::SignInMethod;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_wrong_email_and_a_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    app.add_user("ann@example.com", "member", None, SignInMethod::Password)
        .await;
    let a = app
        .sign_in(&browser(), "ann@example.com", "wrong password here")
        .await;
    let b = app
        .sign_in(&browser(), "nobody@example.com", "wrong password here")
        .await;
    assert_eq!(a.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(b.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(a).await, json(b).await);
}

#[tokio::test]
async fn signing_in_sets_a_hardened_session_cookie_and_me_knows_the_user() {
    let app = spawn_app().await;
    app.add_user("bo@example.com", "admin", None, SignInMethod::Password)
        .await;
    let b = browser();
    let r = app.sign_in(&b, "BO@example.com", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("portal_session="));
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    assert!(!cookie.to_lowercase().contains("domain="));
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .to_string();
    assert_eq!(token.len(), 43, "256 bits, base64url");
    let me = json(app.get(&b, "/api/me").await).await;
    assert_eq!(me["email"], "bo@example.com");
    assert_eq!(me["role"], "admin");
    assert!(me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "users:edit"));
    // The token is stored hashed: the raw value is nowhere in the database.
    let mut c = app.store.conn().await.unwrap();
    let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = $1")
        .bind(&token)
        .fetch_one(&mut *c)
        .await
        .unwrap();
    assert_eq!(found, 0);
}

#[tokio::test]
async fn sso_users_are_told_to_use_their_provider() {
    let app = spawn_app().await;
    app.add_user("ms@example.com", "member", None, SignInMethod::Microsoft)
        .await;
    let r = app
        .sign_in(&browser(), "ms@example.com", "anything at all really")
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(json(r).await["provider"], "microsoft");
}

#[tokio::test]
async fn five_failures_lock_the_account_for_a_while_with_retry_after() {
    let app = spawn_app().await;
    app.add_user("cy@example.com", "member", None, SignInMethod::Password)
        .await;
    for _ in 0..5 {
        assert_eq!(
            app.sign_in(&browser(), "cy@example.com", "not the password!")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = app.sign_in(&browser(), "cy@example.com", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "900");
    assert_eq!(json(r).await["error"], "account_locked");
    assert_eq!(app.audit_count("sign_in_locked").await, 1);
    app.clock.advance(901);
    assert_eq!(
        app.sign_in(&browser(), "cy@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn one_address_failing_across_many_accounts_is_refused() {
    let app = spawn_app().await;
    for i in 0..30 {
        app.sign_in(
            &browser(),
            &format!("u{i}@example.com"),
            "whatever password",
        )
        .await;
    }
    let r = app
        .sign_in(&browser(), "u99@example.com", "whatever password")
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // The thirty failures came at the same second: the 15-minute window frees in exactly 900 s.
    assert_eq!(r.headers()["retry-after"], "900");
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_and_the_absolute_lifetime() {
    let app = spawn_app_with(|c| {
        c.set("session_idle_secs", "600");
        c.set("session_absolute_secs", "3000");
    })
    .await;
    app.add_user("di@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.sign_in(&b, "di@example.com", PASSWORD).await;
    app.clock.advance(599);
    assert_eq!(app.get(&b, "/api/me").await.status(), StatusCode::OK);
    app.clock.advance(601);
    assert_eq!(
        app.get(&b, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );

    let b = browser();
    app.sign_in(&b, "di@example.com", PASSWORD).await;
    for _ in 0..5 {
        app.clock.advance(590);
        assert_eq!(app.get(&b, "/api/me").await.status(), StatusCode::OK);
    }
    app.clock.advance(100);
    assert_eq!(
        app.get(&b, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "absolute lifetime"
    );
}

#[tokio::test]
async fn a_short_idle_timeout_keeps_a_user_who_keeps_working_signed_in() {
    let app = spawn_app_with(|c| {
        c.set("session_idle_secs", "30");
    })
    .await;
    app.add_user("sy@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.sign_in(&b, "sy@example.com", PASSWORD).await;
    for second in (10..=120).step_by(10) {
        app.clock.advance(10);
        let status = app.get(&b, "/api/me").await.status();
        assert_eq!(
            status,
            StatusCode::OK,
            "a request every 10 s, at {second} s"
        );
    }
    app.clock.advance(31);
    assert_eq!(
        app.get(&b, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn signing_out_revokes_the_session_server_side() {
    let app = spawn_app().await;
    app.add_user("ed@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    let r = app.sign_in(&b, "ed@example.com", PASSWORD).await;
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        b.delete(app.api("/api/session"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    // Replaying the old cookie does not work.
    let r = reqwest::Client::new()
        .get(app.api("/api/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_revokes_the_others_and_sends_an_email() {
    let app = spawn_app().await;
    app.add_user("fi@example.com", "member", None, SignInMethod::Password)
        .await;
    let (here, there) = (browser(), browser());
    app.sign_in(&here, "fi@example.com", PASSWORD).await;
    app.sign_in(&there, "fi@example.com", PASSWORD).await;
    let r = app
        .post(&here, "/api/me/password", json!({ "current_password": "wrong one", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD }))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(r).await["field"], "current_password");
    let r = app
        .post(&here, "/api/me/password", json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD }))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&here, "/api/me").await.status(), StatusCode::OK);
    assert_eq!(
        app.get(&there, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let mail = app.mail.wait_nth("fi@example.com", 1).await;
    assert_eq!(mail.subject, "Your password has been changed");
    assert_eq!(
        app.sign_in(&browser(), "fi@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.sign_in(&browser(), "fi@example.com", NEW_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn each_policy_rule_is_enforced_with_its_name() {
    let app = spawn_app().await;
    app.add_user(
        "grace.hopper@example.com",
        "member",
        None,
        SignInMethod::Password,
    )
    .await;
    let b = browser();
    app.sign_in(&b, "grace.hopper@example.com", PASSWORD).await;
    let cases = [
        ("fourteen chars", "too_short"),
        (&"x".repeat(65)[..], "too_long"),
        ("my name is grace, remember it", "contains_personal_info"),
        ("the zoom meeting never ends", "contains_personal_info"),
        (PASSWORD, "reused"),
    ];
    for (pw, rule) in cases {
        let r = app
            .post(
                &b,
                "/api/me/password",
                json!({ "current_password": PASSWORD, "new_password": pw, "confirm_password": pw }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{pw}");
        assert_eq!(json(r).await["violations"][0]["rule"], rule, "{pw}");
    }
}

#[tokio::test]
async fn the_classic_policy_refuses_common_passwords_and_asks_for_character_classes() {
    let app = spawn_app().await;
    let mut c = app.store.conn().await.unwrap();
    server::store::users::set_account_policy(
        &mut c,
        app.account_id,
        &app::policy::PolicyConfig::classic(),
    )
    .await
    .unwrap();
    app.add_user("ha@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.sign_in(&b, "ha@example.com", PASSWORD).await;
    for (pw, rule) in [
        ("Password1", "common"),
        ("alllower1", "needs_upper"),
        ("Abcdefgh", "needs_digit"),
    ] {
        let r = app
            .post(
                &b,
                "/api/me/password",
                json!({ "current_password": PASSWORD, "new_password": pw, "confirm_password": pw }),
            )
            .await;
        assert_eq!(json(r).await["violations"][0]["rule"], rule, "{pw}");
    }
    let r = app
        .post(&b, "/api/me/password", json!({ "current_password": PASSWORD, "new_password": "Tr4vel-Mist", "confirm_password": "Tr4vel-Mist" }))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn history_refuses_the_last_five_passwords() {
    let app = spawn_app().await;
    app.add_user("io@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.sign_in(&b, "io@example.com", PASSWORD).await;
    let mut current = PASSWORD.to_string();
    for i in 1..=5 {
        let next = format!("rotating passphrase number {i}");
        let r = app
            .post(&b, "/api/me/password", json!({ "current_password": current, "new_password": next, "confirm_password": next }))
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        current = next;
    }
    // Number 1 is among the last five; the original is the sixth back, so it is allowed again.
    let r = app
        .post(&b, "/api/me/password", json!({ "current_password": current, "new_password": "rotating passphrase number 1", "confirm_password": "rotating passphrase number 1" }))
        .await;
    assert_eq!(json(r).await["violations"][0]["rule"], "reused");
    let r = app
        .post(&b, "/api/me/password", json!({ "current_password": current, "new_password": PASSWORD, "confirm_password": PASSWORD }))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn cross_site_state_changes_are_refused() {
    let app = spawn_app().await;
    app.add_user("jo@example.com", "member", None, SignInMethod::Password)
        .await;
    let r = browser()
        .post(app.api("/api/session"))
        .header("origin", "https://evil.example")
        .json(&json!({ "email": "jo@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(r).await["error"], "csrf");
    let r = browser()
        .post(app.api("/api/reset/start"))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({ "identifier": "jo@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The same request from the portal's own origin goes through.
    let r = browser()
        .post(app.api("/api/session"))
        .header("origin", "http://portal.test")
        .header("sec-fetch-site", "same-origin")
        .json(&json!({ "email": "jo@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn responses_carry_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/api/me", "/healthz", "/forgot_password"] {
        let r = browser().get(app.api(path)).send().await.unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("'wasm-unsafe-eval'")
                && !csp.contains("unsafe-inline"),
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(!h.contains_key("strict-transport-security"), "http only");
    }
    let r = browser().get(app.api("/api/me")).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn https_deployments_get_hsts_and_secure_cookies() {
    let app = spawn_app_with(|c| {
        c.set("public_url", "https://portal.test");
    })
    .await;
    app.add_user("ke@example.com", "member", None, SignInMethod::Password)
        .await;
    let r = app.sign_in(&browser(), "ke@example.com", PASSWORD).await;
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Secure"));
    assert!(r.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
}

#[tokio::test]
async fn my_meetings_lists_upcoming_meetings_and_needs_a_session() {
    let app = spawn_app().await;
    let id = app
        .add_user("lo@example.com", "member", None, SignInMethod::Password)
        .await;
    let mut c = app.store.conn().await.unwrap();
    server::store::meetings::insert(&mut c, id, "81234567890", "Weekly sync", T0 + 3600, 30)
        .await
        .unwrap();
    server::store::meetings::insert(&mut c, id, "81234567891", "Yesterday", T0 - 86_400, 30)
        .await
        .unwrap();
    let b = browser();
    assert_eq!(
        app.get(&b, "/api/meetings").await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.sign_in(&b, "lo@example.com", PASSWORD).await;
    let list = json(app.get(&b, "/api/meetings").await).await;
    assert_eq!(list["time_zone"], "Europe/Stockholm");
    let meetings = list["meetings"].as_array().unwrap();
    assert_eq!(meetings.len(), 1);
    assert_eq!(meetings[0]["topic"], "Weekly sync");
    assert_eq!(meetings[0]["meeting_id"], "81234567890");
}
