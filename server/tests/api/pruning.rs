//! The pruner (issue #13 item 15): what has outlived its use is deleted on a schedule, nothing
//! live is, and unauthenticated requests in hidden mode do not grow the database without bound.
//!
//! The server runs its real pruning loop every second (`prune_interval_secs = 1`) on the test's
//! `ManualClock`; a test moves the clock, then waits for two more completed passes (counted in
//! `/metrics`), so the second of them began after the clock moved.

use std::time::{Duration, Instant};

use app::wire::SignInMethod;
use reqwest::StatusCode;

use crate::helpers::*;

const DAY: i64 = 86_400;

async fn prune_app(hidden: bool) -> TestApp {
    spawn_app_with(|c| {
        c.set("prune_interval_secs", "1");
        c.set("hide_account_existence", hidden.to_string());
        c.set("ip_requests_per_hour", "1000");
        // Hidden mode serves metrics only to a scraper with the token.
        c.set("metrics_token", METRICS_TOKEN);
    })
    .await
}

const METRICS_TOKEN: &str = "pruning-test-metrics-token";

async fn count(app: &TestApp, table: &str) -> i64 {
    let mut c = app.store.conn().await.unwrap();
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&mut *c)
        .await
        .unwrap()
}

async fn count_where(app: &TestApp, table: &str, cond: &str) -> i64 {
    count(app, &format!("{table} WHERE {cond}")).await
}

/// Completed pruning passes, as `/metrics` reports them.
async fn prune_runs(app: &TestApp) -> u64 {
    let text = reqwest::Client::new()
        .get(app.api("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("portal_prune_runs_total "))
        .map(|n| n.trim().parse().unwrap())
        .unwrap_or(0)
}

/// Waits until a whole pass has run since now (and so at the clock's current time).
async fn a_full_prune_pass(app: &TestApp) {
    let start = prune_runs(app).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while prune_runs(app).await < start + 2 {
        assert!(Instant::now() < deadline, "the pruner did not run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the outbox has nothing left to send.
async fn outbox_drained(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while count_where(app, "outbox", "sent_at IS NULL AND failed_at IS NULL").await > 0 {
        assert!(Instant::now() < deadline, "the outbox did not drain");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn in_hidden_mode_decoy_flows_for_unknown_addresses_are_pruned_so_the_database_does_not_grow_without_bound(
) {
    let app = prune_app(true).await;
    let wave = 40;
    for round in 0..2 {
        for i in 0..wave {
            let r = app
                .start_reset(&browser(), &format!("ghost{round}-{i}@nowhere.test"))
                .await;
            assert_eq!(r.status(), StatusCode::OK);
        }
        assert_eq!(count(&app, "reset_flows").await, wave);
        assert_eq!(count(&app, "reset_codes").await, wave);
        assert!(count(&app, "rate_counts").await > 0);
        // Within their lifetime the decoys stay: they answer like real flows.
        a_full_prune_pass(&app).await;
        assert_eq!(count(&app, "reset_flows").await, wave);
        assert_eq!(count(&app, "reset_codes").await, wave);
        // Past the code's 24 hours, the grant window, the day of grace and the day-long rate
        // windows, every row those requests made is gone.
        app.clock.advance(2 * DAY + 3600);
        a_full_prune_pass(&app).await;
        assert_eq!(count(&app, "reset_flows").await, 0, "round {round}");
        assert_eq!(count(&app, "reset_codes").await, 0, "round {round}");
        assert_eq!(count(&app, "rate_counts").await, 0, "round {round}");
        assert_eq!(count(&app, "outbox").await, 0);
    }
}

#[tokio::test]
async fn a_prune_leaves_every_live_code_grant_session_and_unsent_message_alone() {
    let app = prune_app(false).await;
    for who in ["old", "sa", "cb", "gc", "od"] {
        app.add_user(
            &format!("{who}@example.com"),
            "member",
            None,
            SignInMethod::Password,
        )
        .await;
    }
    // Something dead, to see the pruner at work beside the live rows.
    let old = browser();
    assert_eq!(
        app.sign_in(&old, "old@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    app.clock.advance(3 * DAY);

    let signed_in = browser();
    assert_eq!(
        app.sign_in(&signed_in, "sa@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    let with_code = browser();
    assert_eq!(
        app.start_reset(&with_code, "cb@example.com").await.status(),
        StatusCode::OK
    );
    let code = app.mail.wait_nth("cb@example.com", 1).await.code();
    let with_grant = browser();
    assert_eq!(
        app.start_reset(&with_grant, "gc@example.com")
            .await
            .status(),
        StatusCode::OK
    );
    let grant_code = app.mail.wait_nth("gc@example.com", 1).await.code();
    assert_eq!(
        app.verify(&with_grant, &grant_code).await.status(),
        StatusCode::OK
    );
    app.mail.set_down(true);
    assert_eq!(
        app.start_reset(&browser(), "od@example.com").await.status(),
        StatusCode::OK
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while count_where(&app, "outbox", "attempts > 0 AND sent_at IS NULL").await == 0 {
        assert!(Instant::now() < deadline, "the worker never tried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Fourteen minutes on: the grant (15 min), the code (24 h) and the session (2 h idle) live.
    app.clock.advance(14 * 60);
    a_full_prune_pass(&app).await;
    assert_eq!(
        count_where(
            &app,
            "sessions s JOIN users u ON u.id = s.user_id",
            "u.email = 'old@example.com'"
        )
        .await,
        0,
        "the dead session went"
    );

    assert_eq!(
        app.get(&signed_in, "/api/me").await.status(),
        StatusCode::OK
    );
    assert_eq!(app.verify(&with_code, &code).await.status(), StatusCode::OK);
    assert_eq!(
        app.save(&with_grant, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    assert!(app.mail.to("od@example.com").is_empty());
    app.mail.set_down(false);
    app.clock.advance(60);
    let mail = app.mail.wait_nth("od@example.com", 1).await;
    assert!(mail.subject.contains("code"));
}

#[tokio::test]
async fn expired_sessions_sent_messages_and_dead_codes_are_deleted_after_their_retention_and_the_audit_log_is_kept(
) {
    let app = prune_app(false).await;
    app.add_user("eve@example.com", "member", None, SignInMethod::Password)
        .await;
    // A session that the reset below revokes.
    let other = browser();
    assert_eq!(
        app.sign_in(&other, "eve@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    // A code replaced by a newer one, whose own code is used; Save signs this browser in.
    app.start_reset(&browser(), "eve@example.com").await;
    app.mail.wait_nth("eve@example.com", 1).await;
    let b = browser();
    app.start_reset(&b, "eve@example.com").await;
    let code = app.mail.wait_nth("eve@example.com", 2).await.code();
    assert_eq!(app.verify(&b, &code).await.status(), StatusCode::OK);
    assert_eq!(app.save(&b, NEW_PASSWORD).await.status(), StatusCode::OK);
    app.mail.wait_nth("eve@example.com", 3).await;
    // And a code left to expire.
    app.start_reset(&browser(), "eve@example.com").await;
    app.mail.wait_nth("eve@example.com", 4).await;
    outbox_drained(&app).await;

    let audit = count(&app, "audit_events").await;
    let sent = count(&app, "outbox").await;
    assert_eq!(sent, 4);
    assert_eq!(count(&app, "sessions").await, 2);
    assert_eq!(count(&app, "reset_codes").await, 3);
    assert_eq!(count(&app, "reset_flows").await, 3);

    // Within the day of grace everything dead is still there, the revoked session included.
    app.clock.advance(DAY - 3600);
    a_full_prune_pass(&app).await;
    assert_eq!(count(&app, "sessions").await, 2);
    assert_eq!(count(&app, "reset_codes").await, 3);
    assert_eq!(count(&app, "reset_flows").await, 3);

    // Past their expiry and a day: codes, flows and sessions are gone; sent mail stays a week.
    app.clock.advance(DAY + 2 * 3600);
    a_full_prune_pass(&app).await;
    assert_eq!(count(&app, "sessions").await, 0);
    assert_eq!(count(&app, "reset_codes").await, 0);
    assert_eq!(count(&app, "reset_flows").await, 0);
    assert_eq!(count(&app, "outbox").await, sent);
    assert_eq!(count(&app, "audit_events").await, audit);

    app.clock.advance(5 * DAY + 3600);
    a_full_prune_pass(&app).await;
    assert_eq!(count(&app, "outbox").await, 0);
    assert_eq!(
        count(&app, "audit_events").await,
        audit,
        "the audit log is kept"
    );
    assert_eq!(
        app.get(&b, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn batches_go_on_where_the_last_one_stopped_and_take_every_dead_row_but_no_live_one() {
    use server::clock::Clock;
    use server::prune::GRACE_SECS;
    use server::store::{limits, reset};
    // The default hourly interval: only the start-up pass runs, before anything exists.
    let app = spawn_app_with(|c| {
        c.set("hide_account_existence", "true");
        c.set("ip_requests_per_hour", "1000");
    })
    .await;
    for i in 0..30 {
        app.start_reset(&browser(), &format!("old{i}@nowhere.test"))
            .await;
    }
    app.clock.advance(2 * DAY + 3600);
    for i in 0..5 {
        app.start_reset(&browser(), &format!("new{i}@nowhere.test"))
            .await;
    }
    let now = app.clock.now();
    let old_counts = count_where(&app, "rate_counts", &format!("at < {}", now - DAY - 60)).await;
    assert!(old_counts > 7);
    let limit = 7;
    let mut c = app.store.conn().await.unwrap();

    let (mut after, mut codes) = (0, 0);
    loop {
        let ids = reset::prune_codes(&mut c, now - GRACE_SECS, after, limit)
            .await
            .unwrap();
        codes += ids.len();
        if ids.len() < 7 {
            break;
        }
        after = *ids.iter().max().unwrap();
    }
    let (mut after, mut flows) = (0, 0);
    loop {
        let ids = reset::prune_flows(&mut c, now - GRACE_SECS, 900, after, limit)
            .await
            .unwrap();
        flows += ids.len();
        if ids.len() < 7 {
            break;
        }
        after = *ids.iter().max().unwrap();
    }
    let (mut cursor, mut counts, mut batches) = (limits::PruneCursor::default(), 0, 0);
    loop {
        let (n, next) = limits::prune(&mut c, now, &cursor, limit).await.unwrap();
        counts += n;
        batches += 1;
        match next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    drop(c);
    assert!(batches > 1);
    assert_eq!(counts, u64::try_from(old_counts).unwrap());
    assert_eq!((codes, flows), (30, 30));
    assert_eq!(count(&app, "reset_codes").await, 5);
    assert_eq!(count(&app, "reset_flows").await, 5);
    assert_eq!(
        count_where(&app, "rate_counts", &format!("at < {}", now - DAY - 60)).await,
        0
    );
    assert!(count(&app, "rate_counts").await > 0, "today's counts stay");
}
