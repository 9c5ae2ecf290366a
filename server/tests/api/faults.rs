//! Faults: SMTP outages, a killed server, a lost database, a failing SMS provider.

use std::time::{Duration, Instant};

use app::wire::SignInMethod;
use reqwest::StatusCode;
use serde_json::json;
use server::clock::Clock;

use crate::helpers::*;

/// Outbox rows matching `filter`.
async fn outbox_count(store: &server::store::Store, filter: &str) -> i64 {
    let mut c = store.conn().await.unwrap();
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM outbox WHERE {filter}"))
        .fetch_one(&mut *c)
        .await
        .unwrap()
}

/// Polls `outbox_count(filter)` until it is `want`, for at most `secs` seconds.
async fn wait_outbox_count(store: &server::store::Store, filter: &str, want: i64, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let n = outbox_count(store, filter).await;
        if n == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "outbox rows where {filter}: {n}, waited for {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn two_hundred_requests_during_an_smtp_outage_are_answered_at_once_and_all_delivered_once_even_after_retries_and_leases_run_out(
) {
    let app = spawn_app_with(|c| {
        c.set("ip_requests_per_hour", "1000");
    })
    .await;
    let emails = app.add_users_bulk("outage", 200).await;
    app.add_user("marker@example.com", "member", None, SignInMethod::Password)
        .await;
    app.mail.set_down(true);
    let started = Instant::now();
    let statuses = futures_util::future::join_all(emails.iter().map(|e| {
        let app = &app;
        async move { app.start_reset(&browser(), e).await.status() }
    }))
    .await;
    let took = started.elapsed();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert!(
        took < Duration::from_secs(20),
        "200 requests took {took:?}: they must not wait on SMTP"
    );
    // Every message has met the 421 once and waits for its retry.
    wait_outbox_count(
        &app.store,
        "attempts = 0 OR locked_until IS NOT NULL",
        0,
        30,
    )
    .await;
    assert_eq!(outbox_count(&app.store, "sent_at IS NULL").await, 200);
    assert!(app.mail.all().is_empty());
    // The relay comes back 30 seconds later.
    app.mail.set_down(false);
    app.clock.advance(30);
    for _ in 0..400 {
        if app.mail.all().len() >= 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every message marked sent (the clock still stands, so no claim expires meanwhile).
    app.wait_outbox_settled().await;
    let count_once_each = |when: &str| {
        let mail = app.mail.all();
        let ids: std::collections::HashSet<_> = mail.iter().map(|m| m.message_id.clone()).collect();
        assert_eq!(ids.len(), mail.len(), "{when}: a message delivered twice");
        for e in &emails {
            assert_eq!(app.mail.to(e).len(), 1, "{when}: {e}");
        }
    };
    count_once_each("after recovery");
    // Now let time run past the longest backoff (10 minutes + 25 %) and the 30-second lease: a
    // message not marked sent, or claimable again, would go out a second time. A marker queued
    // after that is claimed after every older due message, so once it has arrived and the
    // outbox has settled, the workers have been round again.
    app.clock.advance(800);
    app.start_reset(&browser(), "marker@example.com").await;
    app.mail.wait_nth("marker@example.com", 1).await;
    app.wait_outbox_settled().await;
    count_once_each("after the clock ran on");
    assert_eq!(app.mail.all().len(), 201);
}

#[tokio::test]
async fn requests_answer_at_once_while_the_relay_hangs_or_refuses_and_their_mail_waits() {
    const N: usize = 10;
    // The latency with a healthy relay, measured here on this machine under its current load.
    let healthy = spawn_app().await;
    let mut baseline = Duration::ZERO;
    for e in healthy.add_users_bulk("ok", N).await {
        let started = Instant::now();
        assert_eq!(
            healthy.start_reset(&browser(), &e).await.status(),
            StatusCode::OK
        );
        baseline = baseline.max(started.elapsed());
    }
    // Well under the 15-second SMTP timeout a request would wait out if it sent the mail itself.
    let bound = (baseline * 4).max(Duration::from_secs(2));
    assert!(
        bound < Duration::from_secs(7),
        "the machine is too slow to tell: {baseline:?}"
    );
    for (what, relay) in [
        (
            "a relay that accepts and never answers",
            silent_relay().await,
        ),
        ("a relay that refuses connections", refusing_relay()),
    ] {
        let app = spawn_app_with(|c| {
            c.set("smtp_url", format!("smtp://{relay}"));
        })
        .await;
        for e in app.add_users_bulk("out", N).await {
            let started = Instant::now();
            let r = app.start_reset(&browser(), &e).await;
            let took = started.elapsed();
            assert_eq!(r.status(), StatusCode::OK, "{what}");
            assert!(
                took < bound,
                "{what}: a request took {took:?} (healthy: {baseline:?})"
            );
        }
        assert_eq!(
            app.outbox_unsettled().await,
            N as i64,
            "{what}: every message waits in the outbox"
        );
    }
}

#[tokio::test]
async fn a_provider_that_keeps_failing_is_retried_with_growing_jittered_delays_and_admins_see_the_failure(
) {
    let app = spawn_app().await;
    app.add_user("owner@example.com", "owner", None, SignInMethod::Password)
        .await;
    app.add_user(
        "sam@example.com",
        "member",
        Some("+46705551234"),
        SignInMethod::Password,
    )
    .await;
    app.sms.set_mode(SmsMode::ServerError);
    app.start_reset(&browser(), "+46705551234").await;
    // The clock stands still between attempts, so each delay is read exactly: the retry time
    // the worker wrote, minus the time of the attempt that failed.
    let mut delays = Vec::new();
    for n in 1..=10i64 {
        let (next_attempt_at, failed) = settled_attempt(&app, n).await;
        assert_eq!(
            i64::from(app.sms.attempts()),
            n,
            "one provider call per attempt"
        );
        if n == 10 {
            assert!(failed, "given up after the 10th attempt");
            break;
        }
        assert!(!failed, "attempt {n} is not the last");
        let delay = next_attempt_at - app.clock.now();
        // The worker's backoff: 2 s doubling per attempt, capped at 10 minutes, ±25 % jitter.
        let base = (2f64 * 2f64.powi(i32::try_from(n - 1).unwrap())).min(600.0);
        let (lo, hi) = (
            ((base * 0.75).round() as i64).max(1),
            (base * 1.25).round() as i64,
        );
        assert!(
            (lo..=hi).contains(&delay),
            "after attempt {n} the retry waits {delay} s, not within {lo}..={hi} s"
        );
        delays.push((delay, base as i64));
        app.clock.advance(delay);
    }
    assert!(
        delays.windows(2).all(|w| w[1].0 > w[0].0),
        "each delay longer than the one before: {delays:?}"
    );
    assert!(
        delays.iter().any(|(d, base)| d != base),
        "jitter moves some retry off the bare doubling: {delays:?}"
    );
    assert_eq!(app.audit_count("notification_failed").await, 1);
    assert_eq!(app.sms.attempts(), 10, "the attempt cap");
    let owner = browser();
    app.sign_in(&owner, "owner@example.com", PASSWORD).await;
    let events = json(
        app.get(&owner, "/api/admin/audit?kind=notification_failed")
            .await,
    )
    .await;
    assert_eq!(events[0]["target_email"], "sam@example.com");
    assert!(events[0]["detail"]
        .as_str()
        .unwrap()
        .contains("after 10 attempt(s)"));
}

/// Waits until the single outbox message has been tried `n` times and that attempt settled
/// (its claim released); returns when it is due next and whether it was given up.
async fn settled_attempt(app: &TestApp, n: i64) -> (i64, bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut c = app.store.conn().await.unwrap();
        let (attempts, next_attempt_at, locked_until, failed_at): (
            i64,
            i64,
            Option<i64>,
            Option<i64>,
        ) = sqlx::query_as(
            "SELECT attempts, next_attempt_at, locked_until, failed_at FROM outbox WHERE channel = 'sms'",
        )
        .fetch_one(&mut *c)
        .await
        .unwrap();
        drop(c);
        if attempts == n && locked_until.is_none() {
            return (next_attempt_at, failed_at.is_some());
        }
        assert!(attempts <= n, "attempt {attempts} came before its time");
        assert!(
            Instant::now() < deadline,
            "attempt {n} never settled (attempts {attempts})"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Starts the real `portal` binary against `db` and the capture; returns it and its URL.
fn run_binary(
    db: &str,
    smtp: std::net::SocketAddr,
    data_dir: &std::path::Path,
) -> (std::process::Child, String) {
    let url = free_local_url();
    let child = portal_command(db, data_dir, Some(&url))
        .arg("serve")
        .env("SMTP_URL", format!("smtp://{smtp}"))
        .env(
            "PORTAL_SECRET",
            "kill-test-secret-0123456789abcdef0123456789",
        )
        .env("PORTAL_IP_REQUESTS_PER_HOUR", "10000")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    (child, url)
}

async fn wait_ready(url: &str) {
    assert!(becomes_ready(url).await, "{url} did not become ready");
}

#[tokio::test]
async fn a_server_killed_mid_load_delivers_every_answered_request_after_restart() {
    // The database and users are prepared through the library; the server under test is the
    // real binary, killed with SIGKILL and started again.
    let db = fresh_database_url().await;
    let store = server::store::Store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    let mail = MailCapture::start();
    let hash = server::crypto::Hasher::new(1)
        .unwrap()
        .hash(&known_password())
        .await
        .unwrap();
    let mut emails = Vec::new();
    {
        let mut c = store.conn().await.unwrap();
        let account = server::store::users::insert_account(&mut c, "Kill AB", T0)
            .await
            .unwrap();
        for i in 0..120 {
            let email = format!("kill{i}@bulk.test");
            server::store::users::insert(
                &mut c,
                &server::store::users::NewUser {
                    account_id: account,
                    name: "Bulk User",
                    email: &email,
                    phone: None,
                    role: "member",
                    custom_role_id: None,
                    sign_in_method: SignInMethod::Password,
                    password_hash: Some(&hash),
                    time_zone: "Europe/Stockholm",
                },
                T0,
            )
            .await
            .unwrap();
            emails.push(email);
        }
    }
    let data = std::env::temp_dir().join(format!("portal-kill-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&data).unwrap();
    let (mut child, url) = run_binary(&db, mail.addr, &data);
    wait_ready(&url).await;
    let client = reqwest::Client::new();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    // Each user asks three times, 200 ms apart, the users 15 ms apart: a user's requests overlap
    // other users' and each other's answers, and the kill lands between some of them.
    for (i, e) in emails.iter().enumerate() {
        for j in 0..3u64 {
            let client = client.clone();
            let url = url.clone();
            let e = e.clone();
            let done = done.clone();
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(i as u64 * 15 + j * 200)).await;
                let status = client
                    .post(format!("{url}/api/reset/start"))
                    .json(&json!({ "identifier": e }))
                    .send()
                    .await
                    .ok()
                    .map(|r| r.status());
                if status == Some(StatusCode::OK) {
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                (e, status)
            }));
        }
    }
    // Kill once a good part of the load has been answered, whatever the machine's speed.
    for _ in 0..4000 {
        if done.load(std::sync::atomic::Ordering::SeqCst) >= 60 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let mut answered = std::collections::BTreeSet::new();
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            (e, Some(StatusCode::OK)) => {
                answered.insert(e);
            }
            (e, Some(s)) => assert!(!s.is_server_error(), "{e}: {s} before the kill"),
            (_, None) => refused += 1,
        }
    }
    assert!(
        !answered.is_empty() && refused > 0,
        "the kill landed mid-load: {} users answered, {refused} requests not",
        answered.len()
    );
    let (mut child, url) = run_binary(&db, mail.addr, &data);
    wait_ready(&url).await;
    // Messages the killed process had claimed are taken over when their 30-second lease ends
    // (the binary runs on the real clock): then nothing is left unsent.
    wait_outbox_count(&store, "sent_at IS NULL AND failed_at IS NULL", 0, 75).await;
    for e in &answered {
        assert!(
            !mail.to(e).is_empty(),
            "{e} was answered 200 but never got its code"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Consistency: no user has two live codes; no outbox row is half-sent (sent and failed at
    // once), given up, or still held by the dead instance's claim.
    let mut c = store.conn().await.unwrap();
    let worst: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM reset_codes WHERE consumed_at IS NULL AND revoked_at IS NULL GROUP BY user_id) t",
    )
    .fetch_one(&mut *c)
    .await
    .unwrap();
    drop(c);
    assert!(worst.unwrap_or(0) <= 1, "a user has {worst:?} live codes");
    assert_eq!(
        outbox_count(&store, "sent_at IS NOT NULL AND failed_at IS NOT NULL").await,
        0,
        "rows both sent and failed"
    );
    assert_eq!(
        outbox_count(&store, "failed_at IS NOT NULL").await,
        0,
        "rows given up"
    );
    assert_eq!(
        outbox_count(&store, "locked_until IS NOT NULL").await,
        0,
        "rows still claimed"
    );
    assert!(outbox_count(&store, "sent_at IS NOT NULL").await >= answered.len() as i64);
}

/// A TCP proxy in front of PostgreSQL that can be cut and restored, as a database restart is
/// seen from the server.
struct DbProxy {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    generation: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

impl DbProxy {
    async fn start(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (tx, _) = tokio::sync::watch::channel(0u64);
        let generation = std::sync::Arc::new(tx);
        let (up2, gen2) = (up.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !up2.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let mut cut = gen2.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Self {
            port,
            up,
            generation,
        }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_database_restart_turns_readiness_off_answers_503_and_recovers_by_itself_on_postgresql() {
    // SQLite is a file opened in-process: there is no server to restart, and its open handles
    // outlive a rename, so the SQLite run claims nothing here (robustness::readiness_turns_false…
    // covers a closed pool there).
    if backend() != "postgres" {
        println!("skipped: PostgreSQL only (set PORTAL_TEST_DB=postgres)");
        return;
    }
    let url = fresh_database_url().await;
    let (base, db) = url.rsplit_once('/').unwrap();
    let hostport = base
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or("127.0.0.1:5432")
        .to_string();
    let proxy = DbProxy::start(hostport.clone()).await;
    let proxied = format!(
        "{}/{db}",
        base.replace(&hostport, &format!("127.0.0.1:{}", proxy.port))
    );
    let app = spawn_app_with(|c| {
        c.set("database_url", proxied.clone());
    })
    .await;
    app.add_user("pg@example.com", "member", None, SignInMethod::Password)
        .await;
    assert_eq!(
        reqwest::get(app.api("/readyz")).await.unwrap().status(),
        StatusCode::OK
    );
    proxy.cut();
    let r = reqwest::get(app.api("/readyz")).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let r = app.start_reset(&browser(), "pg@example.com").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(r).await["error"], "unavailable");
    proxy.restore();
    let mut ready = false;
    for _ in 0..100 {
        if reqwest::get(app.api("/readyz")).await.unwrap().status() == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "recovered by itself");
    assert_eq!(
        app.start_reset(&browser(), "pg@example.com").await.status(),
        StatusCode::OK
    );
    app.mail.wait_nth("pg@example.com", 1).await;
}
