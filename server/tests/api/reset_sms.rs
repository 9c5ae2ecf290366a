//! Reset by phone: SMS through the Twilio-compatible API, with the abuse caps.

use app::wire::SignInMethod;
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn a_user_resets_by_phone_with_a_code_from_the_sms() {
    let app = spawn_app().await;
    app.add_user(
        "ann@example.com",
        "member",
        Some("+46701234567"),
        SignInMethod::Password,
    )
    .await;
    let b = browser();
    let r = app.start_reset(&b, "070-123 45 67").await;
    assert_eq!(r.status(), StatusCode::OK);
    let flow = json(r).await;
    assert_eq!(flow["channel"], "sms");
    assert_eq!(flow["masked_destination"], "+46 •• ••• •• 67");
    assert_eq!(
        flow["code_expires_in_secs"], 600,
        "SMS codes live 10 minutes"
    );
    let sms = app.sms.wait_nth(1).await;
    assert_eq!(sms.path, "/2010-04-01/Accounts/ACtest/Messages.json");
    assert_eq!(sms.to, "+46701234567");
    assert_eq!(sms.from, "+46700000000");
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("ACtest:token-123")
    );
    assert_eq!(sms.authorization, expected);
    let code = sms.code();
    assert!(sms.body.contains(&code) && sms.body.contains("10 minutes"));
    assert!(
        sms.body.ends_with(&format!("\n@portal.test #{code}")),
        "Web OTP line: {}",
        sms.body
    );
    assert_eq!(app.verify(&b, &code).await.status(), StatusCode::OK);
    assert_eq!(
        json(app.save(&b, NEW_PASSWORD).await).await["signed_in"],
        true
    );
    // The confirmation goes by email.
    assert_eq!(
        app.mail.wait_nth("ann@example.com", 1).await.subject,
        "Your password has been reset"
    );
}

#[tokio::test]
async fn sms_codes_expire_after_ten_minutes() {
    let app = spawn_app().await;
    app.add_user(
        "bo@example.com",
        "member",
        Some("+46701112233"),
        SignInMethod::Password,
    )
    .await;
    let b = browser();
    app.start_reset(&b, "+46 70 111 22 33").await;
    let code = app.sms.wait_nth(1).await.code();
    app.clock.advance(600);
    assert_eq!(app.verify(&b, &code).await.status(), StatusCode::GONE);
}

#[tokio::test]
async fn transient_provider_failures_are_retried_and_permanent_ones_are_not() {
    let app = spawn_app().await;
    app.add_user(
        "cy@example.com",
        "member",
        Some("+46702223344"),
        SignInMethod::Password,
    )
    .await;
    app.sms.set_mode(SmsMode::ServerError);
    app.start_reset(&browser(), "+46702223344").await;
    for _ in 0..100 {
        if app.sms.attempts() >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(app.sms.received().is_empty());
    app.sms.set_mode(SmsMode::Accept);
    app.clock.advance(10);
    app.sms.wait_nth(1).await;
    assert!(app.sms.attempts() >= 2);

    // A 400 "invalid number" is not retried, and the failure is in the audit log.
    app.add_user(
        "di@example.com",
        "member",
        Some("+46703334455"),
        SignInMethod::Password,
    )
    .await;
    app.sms.set_mode(SmsMode::InvalidNumber);
    let before = app.sms.attempts();
    app.start_reset(&browser(), "+46703334455").await;
    for _ in 0..200 {
        if app.audit_count("notification_failed").await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(app.audit_count("notification_failed").await, 1);
    app.clock.advance(3600);
    // A marker sent after the hour: the worker claims the oldest due message first, so had the
    // failed one been due again it would be in hand before the marker went out.
    app.add_user(
        "mk@example.com",
        "member",
        Some("+46706667788"),
        SignInMethod::Password,
    )
    .await;
    app.sms.set_mode(SmsMode::Accept);
    app.start_reset(&browser(), "+46706667788").await;
    assert_eq!(app.sms.wait_nth(2).await.to, "+46706667788");
    app.wait_outbox_settled().await;
    assert_eq!(
        app.sms.attempts(),
        before + 2,
        "no retry after a permanent failure (one attempt for it, one for the marker)"
    );
}

#[tokio::test]
async fn numbers_outside_the_allowed_countries_get_no_sms() {
    let app = spawn_app().await;
    app.add_user(
        "us@example.com",
        "member",
        Some("+14155552671"),
        SignInMethod::Password,
    )
    .await;
    let r = app.start_reset(&browser(), "+1 415 555 2671").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["error"], "sms_country_not_allowed");
    let app = spawn_app_with(|c| {
        c.set("sms_countries", "SE,US");
    })
    .await;
    app.add_user(
        "us@example.com",
        "member",
        Some("+14155552671"),
        SignInMethod::Password,
    )
    .await;
    assert_eq!(
        app.start_reset(&browser(), "+1 415 555 2671")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn per_number_caps_hold_and_are_audited() {
    let app = spawn_app().await;
    app.add_user(
        "ed@example.com",
        "member",
        Some("+46704445566"),
        SignInMethod::Password,
    )
    .await;
    for _ in 0..3 {
        assert_eq!(
            app.start_reset(&browser(), "+46704445566").await.status(),
            StatusCode::OK
        );
    }
    let r = app.start_reset(&browser(), "+46704445566").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "3600");
    assert_eq!(app.audit_count("sms_blocked").await, 1);
    app.sms.wait_nth(3).await;
    app.wait_outbox_settled().await;
    assert_eq!(app.sms.received().len(), 3);
}

#[tokio::test]
async fn prefix_and_global_budgets_stop_pumping_across_numbers() {
    let app = spawn_app_with(|c| {
        c.set("sms_per_prefix_hour", "2");
        c.set("sms_global_hour", "3");
    })
    .await;
    for (i, n) in [
        "+46705550001",
        "+46705550002",
        "+46705550003",
        "+46735550004",
        "+46765550005",
    ]
    .iter()
    .enumerate()
    {
        app.add_user(
            &format!("p{i}@example.com"),
            "member",
            Some(n),
            SignInMethod::Password,
        )
        .await;
    }
    assert_eq!(
        app.start_reset(&browser(), "+46705550001").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.start_reset(&browser(), "+46705550002").await.status(),
        StatusCode::OK
    );
    // Same 4-digit prefix as the two before.
    let r = app.start_reset(&browser(), "+46705550003").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "3600");
    assert_eq!(
        app.start_reset(&browser(), "+46735550004").await.status(),
        StatusCode::OK
    );
    // The global budget of 3 is spent.
    let r = app.start_reset(&browser(), "+46765550005").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "3600");
}

#[tokio::test]
async fn numbers_without_an_account_send_nothing() {
    let app = spawn_app().await;
    let r = app.start_reset(&browser(), "+46709998877").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.wait_outbox_settled().await;
    assert_eq!(app.sms.attempts(), 0);
}
