//! SIGTERM, as a service manager sends it: the real `portal` binary stops accepting, lets the
//! request in flight finish, lets the outbox worker deliver what was queued, and exits 0.

use std::time::{Duration, Instant};

use app::wire::SignInMethod;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish_delivers_what_was_queued_and_exits_cleanly() {
    // The database and its user come from the harness; the binary serves it on its own port.
    let app = spawn_app().await;
    app.add_user("sig@example.com", "member", None, SignInMethod::Password)
        .await;
    let mail = MailCapture::start();
    let dir = std::env::temp_dir().join(format!("portal-term-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = free_local_url();
    let mut child = portal_command(app.raw.get("database_url").unwrap(), &dir, Some(&url))
        .arg("serve")
        .env("PORTAL_SECRET", app.raw.get("secret").unwrap())
        .env("SMTP_URL", format!("smtp://{}", mail.addr))
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(becomes_ready(&url).await, "the portal did not start");
    let sign_in = |password: &'static str| {
        let url = url.clone();
        async move {
            browser()
                .post(format!("{url}/api/session"))
                .json(&json!({ "email": "sig@example.com", "password": password }))
                .send()
                .await
        }
    };
    // Three failures, so the fourth waits 750 ms before it answers: long enough to be in flight.
    for _ in 0..3 {
        assert_eq!(sign_in("not it").await.unwrap().status(), 401);
    }
    let in_flight = tokio::spawn(sign_in("still not it"));
    // A code queued just before the signal: the worker is woken to send it as shutdown begins.
    let reset = browser()
        .post(format!("{url}/api/reset/start"))
        .json(&json!({ "identifier": "sig@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id().to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(term.success());
    // The request that was in flight gets its answer, not a reset connection.
    let answered = in_flight
        .await
        .unwrap()
        .expect("an answer, not a dropped connection");
    assert_eq!(answered.status(), 401);
    // The process exits by itself, cleanly, and the code queued before the signal was sent.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the portal did not stop after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status}");
    assert_eq!(mail.to("sig@example.com").len(), 1);
    // No new connection is taken once it has stopped.
    assert!(reqwest::get(format!("{url}/healthz")).await.is_err());
}
