//! SMTP with credentials through a man in the middle who deletes the STARTTLS offer: the relay
//! password and the codes must not go out in clear unless the operator said they may.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::wire::SignInMethod;
use axum::http::StatusCode;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::*;

/// A relay as it looks through such an attacker: AUTH offered, STARTTLS gone. (The harness's
/// capture never offers AUTH without TLS, so this one speaks just enough SMTP by hand.)
#[derive(Clone, Default)]
struct StrippedRelay {
    /// Every AUTH command line received, credentials included.
    auths: Arc<Mutex<Vec<String>>>,
    /// Every message received (its DATA).
    messages: Arc<Mutex<Vec<String>>>,
}

impl StrippedRelay {
    async fn start() -> (Self, std::net::SocketAddr) {
        let relay = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let r = relay.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(r.clone().serve(stream));
            }
        });
        (relay, addr)
    }

    async fn serve(self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (r, mut w) = stream.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"220 relay.test ESMTP\r\n").await?;
        while let Some(line) = lines.next_line().await? {
            let verb = line.to_ascii_uppercase();
            let answer: &[u8] = if verb.starts_with("EHLO") {
                b"250-relay.test\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN\r\n"
            } else if verb.starts_with("AUTH") {
                self.auths.lock().unwrap().push(line.clone());
                b"235 2.7.0 Authentication successful\r\n"
            } else if verb.starts_with("DATA") {
                w.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                while let Some(l) = lines.next_line().await? {
                    if l == "." {
                        break;
                    }
                    data.push_str(&l);
                    data.push('\n');
                }
                self.messages.lock().unwrap().push(data);
                b"250 2.0.0 queued\r\n"
            } else if verb.starts_with("QUIT") {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else if ["MAIL", "RCPT", "NOOP", "RSET"]
                .iter()
                .any(|v| verb.starts_with(v))
            {
                b"250 OK\r\n"
            } else {
                b"502 not implemented\r\n"
            };
            w.write_all(answer).await?;
        }
        Ok(())
    }

    fn auths(&self) -> Vec<String> {
        self.auths.lock().unwrap().clone()
    }

    fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }
}

async fn app_behind(relay: std::net::SocketAddr, tls: Option<&str>) -> TestApp {
    let app = spawn_app_with(move |r| {
        r.set("smtp_url", format!("smtp://relay-user:relay-pass@{relay}"))
            .set("smtp_tls", tls.unwrap_or_default());
    })
    .await;
    app.add_user("tls@example.com", "member", None, SignInMethod::Password)
        .await;
    app
}

#[tokio::test]
async fn a_relay_stripped_of_starttls_gets_neither_the_password_nor_the_code() {
    let (relay, addr) = StrippedRelay::start().await;
    let app = app_behind(addr, None).await;
    let started = Instant::now();
    let r = app.start_reset(&browser(), "tls@example.com").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the request waited on SMTP"
    );
    // The worker's refusal is audited as it happens.
    for _ in 0..200 {
        if app.audit_count("smtp_tls_refused").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        app.audit_count("smtp_tls_refused").await > 0,
        "no audit entry"
    );
    assert!(relay.auths().is_empty(), "credentials sent in clear");
    assert!(relay.messages().is_empty(), "a message sent in clear");
    let line = format!("{addr}: the server did not offer STARTTLS");
    let logged = logs();
    assert!(
        logged
            .lines()
            .any(|l| l.contains(&line) && l.contains("ERROR")),
        "no error-level log line saying why"
    );
    // Still refused when it is retried.
    app.clock.advance(10);
    for _ in 0..200 {
        if app.audit_count("smtp_tls_refused").await > 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(app.audit_count("smtp_tls_refused").await > 1);
    assert!(relay.auths().is_empty() && relay.messages().is_empty());
}

#[tokio::test]
async fn an_operator_who_accepts_opportunistic_tls_gets_mail_through_a_relay_without_starttls() {
    let (relay, addr) = StrippedRelay::start().await;
    let app = app_behind(addr, Some("opportunistic")).await;
    let r = app.start_reset(&browser(), "tls@example.com").await;
    assert_eq!(r.status(), StatusCode::OK);
    for _ in 0..200 {
        if !relay.messages().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let messages = relay.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("password reset code"));
    // The risk the setting accepts: the password went in clear.
    assert_eq!(relay.auths().len(), 1);
    assert_eq!(app.audit_count("smtp_tls_refused").await, 0);
}
