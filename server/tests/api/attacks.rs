//! Attackers and several instances: concurrency, guessing, enumeration, secrets in logs, and two
//! servers sharing one database.

use app::wire::SignInMethod;
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn fifty_parallel_verifications_of_one_code_give_exactly_one_grant() {
    let app = spawn_app_with(|c| {
        c.set("ip_verifications_per_hour", "1000");
    })
    .await;
    app.add_user("ann@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "ann@example.com").await;
    let code = app.mail.wait_nth("ann@example.com", 1).await.code();
    // The same right code, fifty times at once, from the same flow: one consumes it.
    let results = futures_util::future::join_all((0..50).map(|_| app.verify(&b, &code))).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    // The others lost the race (410), came after the winner (409 already verified), or found
    // every place of the day's guessing window held by guesses in flight (429, not compared).
    assert!(
        statuses.iter().all(|s| [200, 409, 410, 429].contains(s)),
        "{statuses:?}"
    );
    let mut c = app.store.conn().await.unwrap();
    let consumed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM reset_codes WHERE consumed_at IS NOT NULL")
            .fetch_one(&mut *c)
            .await
            .unwrap();
    assert_eq!(consumed, 1);
    assert_eq!(app.audit_count("code_verified").await, 1);
    // Right codes are no failures: nothing was blocked.
    assert_eq!(app.audit_count("reset_blocked").await, 0);
}

#[tokio::test]
async fn fifty_parallel_saves_of_one_grant_give_exactly_one_success() {
    let app = spawn_app().await;
    app.add_user("bo@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "bo@example.com").await;
    let code = app.mail.wait_nth("bo@example.com", 1).await.code();
    app.verify(&b, &code).await;
    let results = futures_util::future::join_all((0..50).map(|i| {
        let pw = format!("parallel passphrase number {i}");
        let b = b.clone();
        let app = &app;
        async move { app.save(&b, &pw).await.status() }
    }))
    .await;
    assert_eq!(
        results.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|s| **s == StatusCode::GONE).count(),
        49
    );
    assert_eq!(app.audit_count("password_reset").await, 1);
}

#[tokio::test]
async fn guessing_from_many_addresses_never_gets_through_and_the_account_cap_holds() {
    // Each attacker has its own client address (forwarded by a trusted proxy) and a per-address
    // cap it never reaches (5 per hour): only the per-account cap can stop them.
    let app = spawn_app_with(|c| {
        c.set("codes_per_hour", "100");
        c.set("codes_per_day", "100");
        c.set("ip_requests_per_hour", "5");
        c.set("ip_verifications_per_hour", "6");
        c.set("trusted_proxies", "127.0.0.1/32");
    })
    .await;
    app.add_user("cy@example.com", "member", None, SignInMethod::Password)
        .await;
    let mut statuses = Vec::new();
    // Each attacker starts its own flow (a new code, which kills the last one) and fires its
    // five guesses at once.
    for attacker in 0..20 {
        let b = browser();
        let started = b
            .post(app.api("/api/reset/start"))
            .header("x-forwarded-for", format!("198.51.100.{}", attacker + 1))
            .json(&serde_json::json!({ "identifier": "cy@example.com" }))
            .send()
            .await
            .unwrap()
            .status();
        if started == StatusCode::TOO_MANY_REQUESTS {
            statuses.push(started.as_u16());
            break;
        }
        assert_eq!(started, StatusCode::OK);
        let guesses = (0..5).map(|g| {
            let (b, app) = (b.clone(), &app);
            let guess = format!("{:06}", (attacker * 7919 + g * 104_729) % 1_000_000);
            async move {
                b.post(app.api("/api/reset/verify"))
                    .header("x-forwarded-for", format!("198.51.100.{}", attacker + 1))
                    .json(&serde_json::json!({ "code": guess }))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        });
        statuses.extend(futures_util::future::join_all(guesses).await);
    }
    // A lucky guess would be a 200: the chance is 1 in 10^6 per guess.
    assert!(
        !statuses.contains(&200),
        "a guess got through: {statuses:?}"
    );
    assert!(
        statuses.contains(&429),
        "the per-account failure cap stopped the guessing: {statuses:?}"
    );
    assert!(
        app.audit_count("code_verification_failed").await <= 10,
        "at most 10 failed verifications before the block: {statuses:?}"
    );
    assert_eq!(app.audit_count("reset_blocked").await, 1);
}

#[tokio::test]
async fn hidden_mode_gives_byte_identical_answers() {
    let app = spawn_app_with(|c| {
        c.set("hide_account_existence", "true");
        c.set("codes_per_hour", "1000");
        c.set("codes_per_day", "1000");
        c.set("ip_requests_per_hour", "10000");
    })
    .await;
    app.add_user("known@example.com", "member", None, SignInMethod::Password)
        .await;
    let a = app.start_reset(&browser(), "known@example.com").await;
    let b = app.start_reset(&browser(), "other@example.com").await;
    assert_eq!(a.status(), b.status());
    // Every header, name and value: only a cookie's token and the date may differ.
    let headers = |r: &reqwest::Response| {
        let mut v: Vec<(String, String)> = r
            .headers()
            .iter()
            .filter(|(k, _)| *k != "date")
            .map(|(k, v)| {
                let v = v.to_str().unwrap_or_default().to_string();
                let v = match (k.as_str(), v.split_once('=')) {
                    ("set-cookie", Some((name, rest))) => {
                        let attrs = rest.split_once(';').map_or("", |(_, a)| a);
                        let token = if rest.starts_with(';') { "" } else { "TOKEN" };
                        format!("{name}={token};{attrs}")
                    }
                    _ => v,
                };
                (k.to_string(), v)
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(headers(&a), headers(&b));
    let ta = a.text().await.unwrap().replace("k•••@example.com", "X");
    let tb = b.text().await.unwrap().replace("o•••@example.com", "X");
    assert_eq!(ta, tb);
}

#[tokio::test]
async fn two_instances_share_flows_sessions_limits_and_send_each_message_once() {
    let a = spawn_app().await;
    let b = a.peer().await;
    a.add_user("di@example.com", "member", None, SignInMethod::Password)
        .await;
    let browser_ = browser();
    // Requested through one instance, verified and saved through the other.
    assert_eq!(
        a.start_reset(&browser_, "di@example.com").await.status(),
        StatusCode::OK
    );
    let code = a.mail.wait_nth("di@example.com", 1).await.code();
    assert_eq!(b.verify(&browser_, &code).await.status(), StatusCode::OK);
    assert_eq!(
        b.save(&browser_, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    // The session made by one is valid on the other.
    assert_eq!(a.get(&browser_, "/api/me").await.status(), StatusCode::OK);
    // Limits are shared: 5 codes an hour in total across both.
    a.add_user("ed@example.com", "member", None, SignInMethod::Password)
        .await;
    for i in 0..5 {
        let app = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            app.start_reset(&browser(), "ed@example.com").await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        b.start_reset(&browser(), "ed@example.com").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Each message is delivered once, though both instances' workers poll the same outbox.
    a.mail.wait_nth("ed@example.com", 5).await;
    // Every row marked sent and none held: a second copy from the other instance would be here.
    a.wait_outbox_settled().await;
    let ids: std::collections::HashSet<String> = a
        .mail
        .to("ed@example.com")
        .iter()
        .map(|m| m.message_id.clone())
        .collect();
    assert_eq!(a.mail.to("ed@example.com").len(), 5);
    assert_eq!(ids.len(), 5);
    assert_eq!(
        a.mail.to("di@example.com").len(),
        2,
        "the code and the confirmation, once each"
    );
}

#[tokio::test]
async fn no_code_token_or_password_reaches_the_logs() {
    let app = spawn_app().await;
    app.add_user("fi@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    let r = app.sign_in(&b, "fi@example.com", PASSWORD).await;
    let session = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .to_string();
    app.sign_in(&browser(), "fi@example.com", "a wrong password attempt")
        .await;
    app.start_reset(&b, "fi@example.com").await;
    let mail = app.mail.wait_nth("fi@example.com", 1).await;
    let (code, token) = (mail.code(), mail.link_token());
    app.post(
        &browser(),
        "/api/reset/link",
        serde_json::json!({ "token": token }),
    )
    .await;
    app.verify(&b, &code).await;
    app.save(&b, NEW_PASSWORD).await;
    app.mail.wait_nth("fi@example.com", 2).await;
    // A reset by SMS: its code, and the flow cookie that binds a browser to a flow.
    app.add_user(
        "gus@example.com",
        "member",
        Some("+46701112233"),
        SignInMethod::Password,
    )
    .await;
    let started = app.start_reset(&browser(), "+46701112233").await;
    let flow_cookie = started
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("portal_reset_flow="))
        .and_then(|c| c.split(';').next())
        .expect("a flow cookie")
        .to_string();
    let sms_code = app.sms.wait_nth(1).await.code();
    let logs = logs();
    assert!(logs.contains("notification sent"), "the logs were captured");
    for secret in [
        token.as_str(),
        PASSWORD,
        NEW_PASSWORD,
        "a wrong password attempt",
        session.as_str(),
        flow_cookie.as_str(),
    ] {
        let line = logs
            .lines()
            .find(|l| l.contains(secret))
            .unwrap_or_default();
        assert!(!logs.contains(secret), "a secret was logged: {line}");
    }
    // Each code as a number of its own. Six digits occur by chance inside longer numbers and as
    // the fraction of a decimal: every log line's timestamp ends in six digits of microseconds
    // (`…T03:50:12.689688Z`), so after a digit and a '.' they are no code.
    for code in [code, sms_code] {
        let standalone = logs.match_indices(code.as_str()).any(|(i, _)| {
            let mut preceding = logs[..i].chars().rev();
            let before = match preceding.next() {
                Some(c) if c.is_ascii_digit() => true,
                Some('.') => preceding.next().is_some_and(|c| c.is_ascii_digit()),
                _ => false,
            };
            let after = logs[i + 6..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit());
            !before && !after
        });
        assert!(!standalone, "the code {code} was logged");
    }
}
