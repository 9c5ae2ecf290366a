//! Self-service reset by email, rule by rule.

use app::wire::SignInMethod;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_user_resets_by_code_and_is_signed_in_with_the_new_password_only() {
    let app = spawn_app().await;
    app.add_user("ann@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    let r = app.start_reset(&b, "  Ann@Example.com ").await;
    assert_eq!(r.status(), StatusCode::OK);
    let flow = json(r).await;
    assert_eq!(flow["step"], "verify");
    assert_eq!(flow["channel"], "email");
    assert_eq!(flow["masked_destination"], "A•••@Example.com");
    assert_eq!(flow["sender"], "no-reply@portal.test");
    assert_eq!(flow["resend_after_secs"], 60);
    assert_eq!(flow["code_expires_in_secs"], 86_400);
    assert_eq!(flow["attempts_left"], 5);

    let mail = app.mail.wait_nth("ann@example.com", 1).await;
    assert!(
        mail.subject.contains("password reset code"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("24 hours") && mail.text.contains("ignore this email"));
    assert!(mail.text.contains("http://portal.test/reset#token="));
    assert!(!mail.html.is_empty());
    let code = mail.code();

    let r = app.verify(&b, &code).await;
    assert_eq!(r.status(), StatusCode::OK);
    let flow = json(r).await;
    assert_eq!(flow["step"], "new_password");
    assert_eq!(flow["policy"]["policy"]["min_length"], 15);

    let r = app.save(&b, NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["signed_in"], true);
    // Signed in: My Meetings answers.
    assert_eq!(app.get(&b, "/api/meetings").await.status(), StatusCode::OK);

    let confirm = app.mail.wait_nth("ann@example.com", 2).await;
    assert_eq!(confirm.subject, "Your password has been reset");
    assert!(confirm.text.contains("If this was not you"));

    let other = browser();
    assert_eq!(
        app.sign_in(&other, "ann@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.sign_in(&other, "ann@example.com", NEW_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.audit_count("password_reset").await, 1);
}

#[tokio::test]
async fn codes_pasted_with_spaces_or_dashes_work() {
    let app = spawn_app().await;
    app.add_user("bo@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "bo@example.com").await;
    let code = app.mail.wait_nth("bo@example.com", 1).await.code();
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    assert_eq!(app.verify(&b, &spaced).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_address_is_told_the_account_does_not_exist() {
    let app = spawn_app().await;
    let r = app.start_reset(&browser(), "nobody@example.com").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body = json(r).await;
    assert_eq!(body["error"], "account_not_found");
    assert!(body["message"].as_str().unwrap().contains("does not exist"));
    assert_eq!(body["field"], "identifier");
}

#[tokio::test]
async fn hidden_mode_answers_unknown_addresses_exactly_like_real_ones_and_sends_nothing() {
    let app = spawn_app_with(|c| {
        c.set("hide_account_existence", "true");
    })
    .await;
    app.add_user("real@example.com", "member", None, SignInMethod::Password)
        .await;
    let known = app.start_reset(&browser(), "real@example.com").await;
    let unknown = app.start_reset(&browser(), "fake@example.com").await;
    assert_eq!(known.status(), unknown.status());
    assert!(unknown.headers().get("set-cookie").is_some());
    let mut k = json(known).await;
    let mut u = json(unknown).await;
    // The masked address is the one typed; everything else is byte-identical.
    k["masked_destination"] = json!("");
    u["masked_destination"] = json!("");
    assert_eq!(
        serde_json::to_string(&k).unwrap(),
        serde_json::to_string(&u).unwrap()
    );
    app.mail.wait_nth("real@example.com", 1).await;
    app.wait_outbox_settled().await;
    assert!(app.mail.to("fake@example.com").is_empty());
}

#[tokio::test]
async fn hidden_mode_decoy_flows_refuse_every_code_like_a_real_one() {
    let app = spawn_app_with(|c| {
        c.set("hide_account_existence", "true");
    })
    .await;
    let b = browser();
    app.start_reset(&b, "ghost@example.com").await;
    let r = app.verify(&b, "123456").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["attempts_left"], 4);
}

#[tokio::test]
async fn in_hidden_mode_a_provider_account_is_answered_like_an_unknown_one_and_its_owner_told_where_to_reset_three_times_a_day(
) {
    let app = spawn_app_with(|c| {
        c.set("hide_account_existence", "true");
        c.set("codes_per_hour", "100");
        c.set("codes_per_day", "100");
    })
    .await;
    app.add_user("gg@example.com", "member", None, SignInMethod::Google)
        .await;
    for _ in 0..4 {
        let sso = app.start_reset(&browser(), "gg@example.com").await;
        let unknown = app.start_reset(&browser(), "xx@example.com").await;
        assert_eq!(sso.status(), StatusCode::OK);
        assert_eq!(sso.status(), unknown.status());
        let (mut s, mut u) = (json(sso).await, json(unknown).await);
        assert_eq!(s["masked_destination"], "g•••@example.com");
        s["masked_destination"] = json!("");
        u["masked_destination"] = json!("");
        assert_eq!(s, u);
    }
    // Each start is audited with its notice in one commit, off the answer's path: once four
    // are, every notice that was queued is in the outbox.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.audit_count("reset_refused_sso").await < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "the starts were never audited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    app.wait_outbox_settled().await;
    let mails = app.mail.to("gg@example.com");
    assert_eq!(mails.len(), 3, "at most three notices a day");
    for m in &mails {
        assert_eq!(m.subject, "About your password reset request");
        assert!(m.text.contains("you sign in with Google"), "{}", m.text);
        assert!(
            m.text.contains("https://accounts.google.com/"),
            "{}",
            m.text
        );
        assert!(!m.text.contains("code"), "no code: {}", m.text);
    }
    assert!(app.mail.to("xx@example.com").is_empty());
}

#[tokio::test]
async fn sso_users_are_sent_to_their_provider_and_get_no_code() {
    let app = spawn_app().await;
    app.add_user("gg@example.com", "member", None, SignInMethod::Google)
        .await;
    let r = app.start_reset(&browser(), "gg@example.com").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body = json(r).await;
    assert_eq!(body["error"], "sso_account");
    assert_eq!(body["provider"], "google");
    assert!(body["recovery_url"]
        .as_str()
        .unwrap()
        .starts_with("https://accounts.google.com/"));
    assert!(body["message"].as_str().unwrap().contains("Google"));
    app.wait_outbox_settled().await;
    assert!(app.mail.to("gg@example.com").is_empty());
}

#[tokio::test]
async fn a_code_expires_after_24_hours() {
    let app = spawn_app().await;
    app.add_user("cy@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "cy@example.com").await;
    let mail = app.mail.wait_nth("cy@example.com", 1).await;
    app.clock.advance(86_400);
    let r = app.verify(&b, &mail.code()).await;
    assert_eq!(r.status(), StatusCode::GONE);
    assert_eq!(json(r).await["error"], "code_expired");
    // The link dies with it.
    let r = app
        .post(
            &browser(),
            "/api/reset/link",
            json!({ "token": mail.link_token() }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::GONE);
    assert_eq!(json(r).await["error"], "link_expired");
}

#[tokio::test]
async fn a_code_still_works_one_second_before_expiry() {
    let app = spawn_app().await;
    app.add_user("cz@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "cz@example.com").await;
    let code = app.mail.wait_nth("cz@example.com", 1).await.code();
    app.clock.advance(86_399);
    assert_eq!(app.verify(&b, &code).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn resend_waits_for_the_cooldown_which_doubles_and_a_new_code_kills_the_old_one() {
    let app = spawn_app().await;
    app.add_user("di@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "di@example.com").await;
    let first = app.mail.wait_nth("di@example.com", 1).await;

    let r = app.post(&b, "/api/reset/resend", json!({})).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "60");
    assert_eq!(json(r).await["error"], "resend_too_soon");

    app.clock.advance(60);
    let r = app.post(&b, "/api/reset/resend", json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["resend_after_secs"], 120);
    let second = app.mail.wait_nth("di@example.com", 2).await;
    assert_ne!(first.code(), second.code());

    // The old link and the old code are dead; the new ones work.
    let r = app
        .post(
            &browser(),
            "/api/reset/link",
            json!({ "token": first.link_token() }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::GONE);
    let r = app.verify(&b, &first.code()).await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "the old code is not the current one"
    );
    assert_eq!(
        app.verify(&b, &second.code()).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_new_request_from_another_browser_kills_the_first_browsers_code() {
    let app = spawn_app().await;
    app.add_user("ed@example.com", "member", None, SignInMethod::Password)
        .await;
    let (b1, b2) = (browser(), browser());
    app.start_reset(&b1, "ed@example.com").await;
    let first = app.mail.wait_nth("ed@example.com", 1).await;
    app.start_reset(&b2, "ed@example.com").await;
    app.mail.wait_nth("ed@example.com", 2).await;
    let r = app.verify(&b1, &first.code()).await;
    assert_eq!(r.status(), StatusCode::GONE);
    assert_eq!(json(r).await["error"], "code_expired");
}

#[tokio::test]
async fn five_wrong_codes_kill_the_code_and_say_how_many_attempts_remain() {
    let app = spawn_app().await;
    app.add_user("fi@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "fi@example.com").await;
    let code = app.mail.wait_nth("fi@example.com", 1).await.code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (1..=4).rev() {
        let r = app.verify(&b, wrong).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body = json(r).await;
        assert_eq!(body["error"], "invalid_code");
        assert_eq!(body["attempts_left"], left);
        assert_eq!(body["field"], "code");
    }
    let r = app.verify(&b, wrong).await;
    assert_eq!(r.status(), StatusCode::GONE);
    assert_eq!(json(r).await["error"], "code_exhausted");
    // Even the right code no longer works.
    let r = app.verify(&b, &code).await;
    assert_eq!(r.status(), StatusCode::GONE);
}

#[tokio::test]
async fn ten_failed_verifications_in_a_day_block_resets_for_an_hour_but_not_sign_in() {
    let app = spawn_app().await;
    app.add_user("gu@example.com", "member", None, SignInMethod::Password)
        .await;
    let mut failures = 0;
    let mut status = StatusCode::OK;
    while failures < 10 {
        let b = browser();
        assert_eq!(
            app.start_reset(&b, "gu@example.com").await.status(),
            StatusCode::OK
        );
        for _ in 0..5 {
            if failures == 10 {
                break;
            }
            let r = app.verify(&b, "999999").await;
            status = r.status();
            failures += 1;
        }
        app.clock.advance(3601);
    }
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(-3601);
    let r = app.start_reset(&browser(), "gu@example.com").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json(r).await["error"], "reset_blocked");
    assert_eq!(
        app.sign_in(&browser(), "gu@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    app.clock.advance(3601);
    assert_eq!(
        app.start_reset(&browser(), "gu@example.com").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn at_most_five_codes_an_hour_are_sent_to_one_address() {
    let app = spawn_app().await;
    app.add_user("hu@example.com", "member", None, SignInMethod::Password)
        .await;
    for _ in 0..5 {
        assert_eq!(
            app.start_reset(&browser(), "hu@example.com").await.status(),
            StatusCode::OK
        );
    }
    let r = app.start_reset(&browser(), "hu@example.com").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry));
    assert_eq!(json(r).await["retry_after_secs"], retry);
    app.mail.wait_nth("hu@example.com", 5).await;
    app.clock.advance(3601);
    assert_eq!(
        app.start_reset(&browser(), "hu@example.com").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn one_address_on_the_network_is_capped_across_accounts() {
    let app = spawn_app_with(|c| {
        c.set("ip_requests_per_hour", "3");
    })
    .await;
    for i in 0..3 {
        app.start_reset(&browser(), &format!("x{i}@example.com"))
            .await;
    }
    let r = app.start_reset(&browser(), "x9@example.com").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // All three came at the same second: the window frees in exactly an hour.
    assert_eq!(r.headers()["retry-after"], "3600");
    assert_eq!(json(r).await["retry_after_secs"], 3600);
}

#[tokio::test]
async fn the_grant_lasts_fifteen_minutes_and_the_code_alone_cannot_set_a_password() {
    let app = spawn_app().await;
    // Two users verified at the same instant: one saves at 14:59, the other tries at 15:01.
    let early = browser();
    let late = browser();
    for (b, email) in [(&early, "iv@example.com"), (&late, "iw@example.com")] {
        app.add_user(email, "member", None, SignInMethod::Password)
            .await;
        app.start_reset(b, email).await;
        // Before verification there is no grant.
        let r = app.save(b, NEW_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::GONE);
        let code = app.mail.wait_nth(email, 1).await.code();
        let r = app.verify(b, &code).await;
        assert_eq!(r.status(), StatusCode::OK, "{email}: the right code");
        assert_eq!(json(r).await["step"], "new_password", "{email}");
    }
    app.clock.advance(15 * 60 - 1);
    assert_eq!(
        json(app.get(&late, "/api/reset/flow").await).await["step"],
        "new_password",
        "at 14:59 the grant still holds"
    );
    let r = app.save(&early, NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK, "a Save at 14:59 works");
    app.clock.advance(2);
    let r = app.get(&late, "/api/reset/flow").await;
    assert_eq!(r.status(), StatusCode::GONE);
    assert_eq!(json(r).await["error"], "grant_expired");
    let r = app.save(&late, NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::GONE, "a Save at 15:01 is refused");
    assert_eq!(json(r).await["error"], "grant_expired");
    assert_eq!(
        app.sign_in(&browser(), "iw@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK,
        "the late user's password is unchanged"
    );
}

#[tokio::test]
async fn the_flow_only_works_in_the_browser_that_started_it() {
    let app = spawn_app().await;
    app.add_user("jo@example.com", "member", None, SignInMethod::Password)
        .await;
    app.start_reset(&browser(), "jo@example.com").await;
    let code = app.mail.wait_nth("jo@example.com", 1).await.code();
    let r = app.verify(&browser(), &code).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await["error"], "no_flow");
}

#[tokio::test]
async fn two_concurrent_saves_with_one_grant_give_exactly_one_success() {
    let app = spawn_app().await;
    app.add_user("ka@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "ka@example.com").await;
    let code = app.mail.wait_nth("ka@example.com", 1).await.code();
    app.verify(&b, &code).await;
    let (r1, r2) = tokio::join!(
        app.save(&b, "first concurrent passphrase"),
        app.save(&b, "second concurrent passphrase")
    );
    let mut statuses = [r1.status().as_u16(), r2.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 410]);
}

#[tokio::test]
async fn opening_the_link_consumes_nothing_and_another_browser_gets_no_session() {
    let app = spawn_app().await;
    app.add_user("li@example.com", "member", None, SignInMethod::Password)
        .await;
    let started = browser();
    app.start_reset(&started, "li@example.com").await;
    let token = app.mail.wait_nth("li@example.com", 1).await.link_token();
    // A mail scanner opens the link twice: nothing is used up.
    for _ in 0..2 {
        let r = app
            .post(&browser(), "/api/reset/link", json!({ "token": token }))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let phone = browser();
    let r = app
        .post(&phone, "/api/reset/link", json!({ "token": token }))
        .await;
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let body = json(r).await;
    assert_eq!(body["masked_destination"], "l•••@example.com");
    // Refresh: the page asks again without the token in the URL.
    assert_eq!(
        app.get(&phone, "/api/reset/link").await.status(),
        StatusCode::OK
    );
    let r = app.save(&phone, NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["signed_in"], false);
    assert_eq!(
        app.get(&phone, "/api/meetings").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Single use.
    let r = app
        .post(&browser(), "/api/reset/link", json!({ "token": token }))
        .await;
    assert_eq!(r.status(), StatusCode::GONE);
}

#[tokio::test]
async fn the_link_opened_in_the_starting_browser_signs_it_in() {
    let app = spawn_app().await;
    app.add_user("ma@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "ma@example.com").await;
    let token = app.mail.wait_nth("ma@example.com", 1).await.link_token();
    app.post(&b, "/api/reset/link", json!({ "token": token }))
        .await;
    let r = app.save(&b, NEW_PASSWORD).await;
    assert_eq!(json(r).await["signed_in"], true);
    assert_eq!(app.get(&b, "/api/meetings").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_reset_signs_out_every_other_session() {
    let app = spawn_app().await;
    app.add_user("ni@example.com", "member", None, SignInMethod::Password)
        .await;
    let laptop = browser();
    assert_eq!(
        app.sign_in(&laptop, "ni@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.get(&laptop, "/api/me").await.status(), StatusCode::OK);
    let b = browser();
    app.start_reset(&b, "ni@example.com").await;
    let code = app.mail.wait_nth("ni@example.com", 1).await.code();
    app.verify(&b, &code).await;
    app.save(&b, NEW_PASSWORD).await;
    assert_eq!(
        app.get(&laptop, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_new_password_must_follow_the_policy_and_both_entries_must_match() {
    let app = spawn_app().await;
    app.add_user("ol@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "ol@example.com").await;
    let code = app.mail.wait_nth("ol@example.com", 1).await.code();
    app.verify(&b, &code).await;
    let r = app.save(&b, "short").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = json(r).await;
    assert_eq!(body["error"], "password_policy");
    assert_eq!(body["field"], "new_password");
    assert_eq!(body["violations"][0]["rule"], "too_short");
    let r = app
        .post(
            &b,
            "/api/reset/password",
            json!({ "new_password": NEW_PASSWORD, "confirm_password": "something else entirely" }),
        )
        .await;
    let body = json(r).await;
    assert_eq!(body["error"], "password_mismatch");
    assert_eq!(body["field"], "confirm_password");
    // The old password is in the history.
    let r = app.save(&b, PASSWORD).await;
    assert_eq!(json(r).await["violations"][0]["rule"], "reused");
    // The grant survived the refusals.
    assert_eq!(app.save(&b, NEW_PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_refreshed_page_picks_the_flow_up_where_it_was() {
    let app = spawn_app().await;
    app.add_user("pe@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    app.start_reset(&b, "pe@example.com").await;
    app.clock.advance(20);
    let flow = json(app.get(&b, "/api/reset/flow").await).await;
    assert_eq!(flow["step"], "verify");
    assert_eq!(flow["resend_after_secs"], 40);
    let code = app.mail.wait_nth("pe@example.com", 1).await.code();
    app.verify(&b, &code).await;
    let flow = json(app.get(&b, "/api/reset/flow").await).await;
    assert_eq!(flow["step"], "new_password");
    assert!(flow["policy"].is_object());
}

#[tokio::test]
async fn smtp_down_then_up_loses_nothing_and_the_request_never_waits() {
    let app = spawn_app().await;
    app.add_user("qu@example.com", "member", None, SignInMethod::Password)
        .await;
    app.add_user("qv@example.com", "member", None, SignInMethod::Password)
        .await;
    app.mail.set_down(true);
    let started = std::time::Instant::now();
    let r = app.start_reset(&browser(), "qu@example.com").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // The message met the 421 and waits for its retry: then nothing can have arrived.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut c = app.store.conn().await.unwrap();
        let tried: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE attempts >= 1 AND locked_until IS NULL AND sent_at IS NULL",
        )
        .fetch_one(&mut *c)
        .await
        .unwrap();
        if tried == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no attempt while down"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(app.mail.to("qu@example.com").is_empty());
    app.mail.set_down(false);
    // Move past the backoff; the worker retries and delivers, once.
    app.clock.advance(10);
    let mail = app.mail.wait_nth("qu@example.com", 1).await;
    assert!(mail.subject.contains("code"));
    // Past the lease and further backoff; a marker queued now is claimed after every older due
    // message, so once it arrived and the outbox settled, a second copy would be here too.
    app.clock.advance(120);
    app.start_reset(&browser(), "qv@example.com").await;
    app.mail.wait_nth("qv@example.com", 1).await;
    app.wait_outbox_settled().await;
    assert_eq!(app.mail.to("qu@example.com").len(), 1);
}

#[tokio::test]
async fn malformed_identifiers_get_an_inline_error() {
    let app = spawn_app().await;
    for bad in ["", "not an address", "a@b", "12"] {
        let r = app.start_reset(&browser(), bad).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body = json(r).await;
        assert_eq!(body["error"], "invalid_identifier");
        assert_eq!(body["field"], "identifier");
    }
}
