//! SMTP with credentials through a man in the middle who deletes the STARTTLS offer: the relay
//! password and the codes must not go out in clear unless the operator said they may.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::wire::SignInMethod;
use axum::http::StatusCode;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::*;

/// A relay that speaks just enough SMTP by hand (the harness's capture never offers AUTH
/// without TLS): as it looks through an attacker who strips the STARTTLS offer, or a real relay
/// offering STARTTLS or speaking TLS from the first byte with the certificate under `tls/`.
#[derive(Clone, Default)]
struct StrippedRelay {
    /// Every AUTH command line received, credentials included, and whether it came over TLS.
    auths: Arc<Mutex<Vec<(String, bool)>>>,
    /// Every message received (its DATA).
    messages: Arc<Mutex<Vec<String>>>,
    /// STARTTLS offered (the server's side of it is real).
    starttls: bool,
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// The test relay's certificate, issued for 127.0.0.1 by the test CA in `tls/ca.pem`. (Made with
/// openssl for these tests only; the key protects nothing else.)
fn acceptor() -> tokio_rustls::TlsAcceptor {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/tls");
    let certs = CertificateDer::pem_file_iter(format!("{dir}/relay.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/relay.key")).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// The test CA's file, as an operator would name it in `PORTAL_SMTP_CA`.
fn test_ca() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/tls/ca.pem").to_string()
}

impl StrippedRelay {
    async fn start() -> (Self, std::net::SocketAddr) {
        Self::listen(Self::default(), false).await
    }

    /// `starttls`: offered; `implicit`: TLS from the first byte, as on port 465.
    async fn listen(relay: Self, implicit: bool) -> (Self, std::net::SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let r = relay.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let r = r.clone();
                tokio::spawn(async move {
                    if implicit {
                        if let Ok(tls) = acceptor().accept(stream).await {
                            let _ = r.serve(Box::new(tls), true, true).await;
                        }
                    } else {
                        let _ = r.serve(Box::new(stream), false, true).await;
                    }
                });
            }
        });
        (relay, addr)
    }

    fn serve(
        self,
        stream: Box<dyn Io>,
        tls: bool,
        greet: bool,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>> {
        Box::pin(async move {
            let mut s = BufReader::new(stream);
            if greet {
                s.get_mut().write_all(b"220 relay.test ESMTP\r\n").await?;
            }
            let mut line = String::new();
            loop {
                line.clear();
                if s.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                let line = line.trim_end().to_string();
                let verb = line.to_ascii_uppercase();
                let answer: &[u8] = if verb.starts_with("EHLO") {
                    if self.starttls && !tls {
                        b"250-relay.test\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n"
                    } else {
                        b"250-relay.test\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN\r\n"
                    }
                } else if verb == "STARTTLS" && self.starttls && !tls {
                    s.get_mut().write_all(b"220 2.0.0 ready\r\n").await?;
                    let encrypted = acceptor().accept(s.into_inner()).await?;
                    return self.serve(Box::new(encrypted), true, false).await;
                } else if verb.starts_with("AUTH") {
                    self.auths.lock().unwrap().push((line.clone(), tls));
                    b"235 2.7.0 Authentication successful\r\n"
                } else if verb.starts_with("DATA") {
                    s.get_mut().write_all(b"354 go ahead\r\n").await?;
                    let mut data = String::new();
                    let mut l = String::new();
                    loop {
                        l.clear();
                        if s.read_line(&mut l).await? == 0 || l.trim_end() == "." {
                            break;
                        }
                        data.push_str(&l);
                    }
                    self.messages.lock().unwrap().push(data);
                    b"250 2.0.0 queued\r\n"
                } else if verb.starts_with("QUIT") {
                    s.get_mut().write_all(b"221 bye\r\n").await?;
                    return Ok(());
                } else if ["MAIL", "RCPT", "NOOP", "RSET"]
                    .iter()
                    .any(|v| verb.starts_with(v))
                {
                    b"250 OK\r\n"
                } else {
                    b"502 not implemented\r\n"
                };
                s.get_mut().write_all(answer).await?;
            }
        })
    }

    fn auths(&self) -> Vec<String> {
        self.auths
            .lock()
            .unwrap()
            .iter()
            .map(|(l, _)| l.clone())
            .collect()
    }

    fn auths_over_tls(&self) -> Vec<bool> {
        self.auths
            .lock()
            .unwrap()
            .iter()
            .map(|(_, tls)| *tls)
            .collect()
    }

    fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits (up to 5 s) for the first message.
    async fn first_message(&self) -> Option<String> {
        for _ in 0..200 {
            if let Some(m) = self.messages().first() {
                return Some(m.clone());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        None
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

/// The relay's TLS is real: the password and the code go only inside it, on either port's
/// convention, to a relay whose certificate chains to the operator's CA.
#[tokio::test]
async fn starttls_and_implicit_tls_carry_the_password_and_the_code_encrypted() {
    for (implicit, scheme) in [(false, "smtp"), (true, "smtps")] {
        let relay = StrippedRelay {
            starttls: !implicit,
            ..StrippedRelay::default()
        };
        let (relay, addr) = StrippedRelay::listen(relay, implicit).await;
        let app = spawn_app_with(move |r| {
            r.set(
                "smtp_url",
                format!("{scheme}://relay-user:re%2Blay+pass@{addr}"),
            )
            .set("smtp_ca", test_ca());
        })
        .await;
        app.add_user("tls@example.com", "member", None, SignInMethod::Password)
            .await;
        let r = app.start_reset(&browser(), "tls@example.com").await;
        assert_eq!(r.status(), StatusCode::OK);
        let message = relay.first_message().await;
        assert!(
            message.is_some_and(|m| m.contains("password reset code")),
            "{scheme}: no message"
        );
        assert_eq!(relay.auths_over_tls(), [true], "{scheme}");
        // AUTH PLAIN's credentials, percent-decoded as lettre decodes them: `%2B` is `+`, and a
        // `+` stays one (not a space, as form decoding would make it).
        let auth = relay.auths().concat();
        let given = auth.rsplit(' ').next().unwrap_or_default();
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(given)
            .unwrap();
        assert_eq!(decoded, b"\0relay-user\0re+lay+pass", "{scheme}");
    }
}

/// A relay whose certificate chains to no trusted authority gets nothing: not the password, not
/// the message.
#[tokio::test]
async fn a_relay_with_an_untrusted_certificate_gets_nothing() {
    for implicit in [false, true] {
        let relay = StrippedRelay {
            starttls: !implicit,
            ..StrippedRelay::default()
        };
        let (relay, addr) = StrippedRelay::listen(relay, implicit).await;
        let scheme = if implicit { "smtps" } else { "smtp" };
        let app = spawn_app_with(move |r| {
            r.set(
                "smtp_url",
                format!("{scheme}://relay-user:relay-pass@{addr}"),
            );
        })
        .await;
        app.add_user("tls@example.com", "member", None, SignInMethod::Password)
            .await;
        // The worker's attempt fails on the certificate, in the step that checks it, and says so.
        let step = if implicit { ": TLS: " } else { ": STARTTLS: " };
        let refused = || {
            logs()
                .lines()
                .filter(|l| l.contains("smtp 127.0.0.1") && l.contains(step))
                .filter(|l| l.contains("certificate"))
                .count()
        };
        let before = refused();
        let r = app.start_reset(&browser(), "tls@example.com").await;
        assert_eq!(r.status(), StatusCode::OK);
        let mut failed = false;
        for _ in 0..200 {
            if refused() > before {
                failed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(failed, "{scheme}: no certificate failure logged");
        assert!(relay.auths().is_empty(), "{scheme}: credentials sent");
        assert!(relay.messages().is_empty(), "{scheme}: a message sent");
    }
}
