//! Email delivery: real SMTP through lettre, or the dev mailbox when no `SMTP_URL` is set.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::Message;
use percent_encoding::percent_decode_str;
use secrecy::ExposeSecret;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use url::Url;

use super::{BoxFuture, Outgoing, SendError, Sender};
use crate::config::{SmtpTls, SmtpUrl};

/// The audit kind of a message held back because the relay did not offer STARTTLS.
pub const TLS_REFUSED: &str = "smtp_tls_refused";

/// SMTP through lettre, one route for both schemes: `smtp://host:port` (STARTTLS as
/// `PORTAL_SMTP_TLS` says) and `smtps://user:pass@host:465` (TLS from the first byte, RFC 8314).
///
/// The TCP connection is opened here, with `TCP_NODELAY`, and handed to lettre
/// (`AsyncSmtpConnection::connect_with_transport`): lettre writes a message and then its final
/// `.` in two writes before it reads the answer, and with Nagle's algorithm on the second write
/// waits for the server's delayed ACK (40 ms on Linux), so every message cost 40 ms and the
/// outbox delivered about 90 messages a second however idle the machine was (bench/README.md).
/// lettre's own transport does not expose its socket. For `smtps://` the TLS handshake is made
/// on that socket first (tokio-rustls, the same rustls, ring and webpki roots lettre uses).
pub struct Smtp {
    host: String,
    port: u16,
    /// `smtps://`: the handshake made before the greeting.
    implicit: Option<(TlsConnector, ServerName<'static>)>,
    /// `smtp://`: what STARTTLS verifies the server with.
    starttls: TlsParameters,
    policy: SmtpTls,
    credentials: Option<Credentials>,
    hello: ClientId,
    from: Mailbox,
    /// Connections kept between messages, at most [`KEEP_IDLE`]; the outbox's workers bound how
    /// many are open at once.
    idle: std::sync::Mutex<Vec<AsyncSmtpConnection>>,
}

/// How long one step with the SMTP server (connect, a command, a message) may take.
const TIMEOUT: Duration = Duration::from_secs(15);
/// Idle connections kept for the next messages (one per outbox worker is what is used).
const KEEP_IDLE: usize = 16;

/// A TLS connection as lettre takes a transport of ours.
struct Tls(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl AsyncRead for Tls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for Tls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl Smtp {
    /// `tls` applies to `smtp://`; `smtps://` is always TLS from the first byte. `ca` holds
    /// certificate authorities trusted besides the public ones (a company's own relay).
    pub fn new(
        url: &SmtpUrl,
        tls: SmtpTls,
        ca: &[CertificateDer<'static>],
        from: &str,
        public_host: &str,
    ) -> Result<Self, String> {
        let u = Url::parse(url.expose_secret()).map_err(|e| format!("SMTP_URL: {e}"))?;
        // An IPv6 address without its URL brackets, as a socket address and a TLS name take it.
        let host = match u.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => return Err("SMTP_URL: no host".into()),
        };
        // Decoded as lettre's own `from_url` decodes them (a `+` stays a `+`).
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        let credentials = (!u.username().is_empty()).then(|| {
            Credentials::new(
                decode(u.username()),
                decode(u.password().unwrap_or_default()),
            )
        });
        let ca_error = |e: String| format!("PORTAL_SMTP_CA: {e}");
        let mut starttls = TlsParameters::builder(host.clone());
        for cert in ca {
            let cert = Certificate::from_der(cert.to_vec()).map_err(|e| ca_error(e.to_string()))?;
            starttls = starttls.add_root_certificate(cert);
        }
        let implicit = match u.scheme() {
            "smtps" => {
                let mut roots = RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                for cert in ca {
                    roots
                        .add(cert.clone())
                        .map_err(|e| ca_error(e.to_string()))?;
                }
                let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
                let config = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| format!("SMTP_URL: {e}"))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                let name =
                    ServerName::try_from(host.clone()).map_err(|e| format!("SMTP_URL: {e}"))?;
                Some((TlsConnector::from(Arc::new(config)), name))
            }
            _ => None,
        };
        // `smtps://` is TLS already: no STARTTLS.
        let (port, policy) = match implicit {
            Some(_) => (465, SmtpTls::None),
            None => (25, tls),
        };
        Ok(Self {
            port: u.port().unwrap_or(port),
            implicit,
            starttls: starttls
                .build_rustls()
                .map_err(|e| format!("SMTP_URL: {e}"))?,
            policy,
            credentials,
            hello: ClientId::Domain(public_host.to_string()),
            from: from.parse().map_err(|e| format!("MAIL_FROM: {e}"))?,
            idle: std::sync::Mutex::new(Vec::new()),
            host,
        })
    }

    /// A failure that trying again may cure.
    fn transient(&self, e: impl std::fmt::Display) -> SendError {
        SendError::transient(format!("smtp {}: {e}", self.host))
    }

    /// One step with the server, `what` in its error, given [`TIMEOUT`].
    async fn within<T, E: std::fmt::Display>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, SendError> {
        match tokio::time::timeout(TIMEOUT, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.transient(format_args!("{what}: {e}"))),
            Err(_) => Err(self.transient(format_args!(
                "{what}: timed out after {} s",
                TIMEOUT.as_secs()
            ))),
        }
    }

    /// The TCP connection (and for `smtps://` the TLS handshake), then the server's greeting.
    async fn open(&self) -> Result<AsyncSmtpConnection, SendError> {
        let connect = tokio::net::TcpStream::connect((self.host.as_str(), self.port));
        let stream = self.within("connect", connect).await?;
        stream
            .set_nodelay(true)
            .map_err(|e| self.transient(format_args!("connect: {e}")))?;
        let transport: Box<dyn AsyncTokioStream> = match &self.implicit {
            Some((tls, name)) => {
                let handshake = tls.connect(name.clone(), stream);
                Box::new(Tls(self.within("TLS", handshake).await?))
            }
            None => Box::new(stream),
        };
        let greeting = AsyncSmtpConnection::connect_with_transport(transport, &self.hello);
        self.within("greeting", greeting).await
    }

    /// STARTTLS as the policy says (`smtp://` only), then AUTH: credentials go only where the
    /// policy allows.
    async fn secure(
        &self,
        mut conn: AsyncSmtpConnection,
    ) -> Result<AsyncSmtpConnection, SendError> {
        match (self.policy, conn.can_starttls()) {
            (SmtpTls::Required | SmtpTls::Opportunistic, true) => {
                let starttls = conn.starttls(self.starttls.clone(), &self.hello);
                self.within("STARTTLS", starttls).await?;
            }
            // Dropped without QUIT, like any connection that will not be used. Transient: a
            // stripping attacker may go away, and a relay fixed by its operator should get the
            // queued codes while they are still valid. Each refusal is loud.
            (SmtpTls::Required, false) => {
                let message = format!(
                    "smtp {}:{}: the server did not offer STARTTLS; nothing was sent \
                     (PORTAL_SMTP_TLS=required{})",
                    self.host,
                    self.port,
                    if self.credentials.is_some() {
                        ", the default with credentials: they were not sent either"
                    } else {
                        ""
                    }
                );
                tracing::error!(host = %self.host, port = self.port, "{message}");
                return Err(SendError::transient(message).alert(TLS_REFUSED));
            }
            (SmtpTls::Opportunistic, false) | (SmtpTls::None, _) => {}
        }
        if let Some(c) = &self.credentials {
            let auth = conn.auth(&[Mechanism::Plain, Mechanism::Login], c);
            self.within("AUTH", auth).await?;
        }
        Ok(conn)
    }

    /// A kept connection that still answers, or a new one.
    async fn connection(&self) -> Result<AsyncSmtpConnection, SendError> {
        let kept = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        // A kept connection may have been closed by the server while idle: NOOP tells.
        if let Some(mut c) = kept {
            if tokio::time::timeout(TIMEOUT, c.test_connected())
                .await
                .unwrap_or(false)
            {
                return Ok(c);
            }
        }
        let conn = self.open().await?;
        self.secure(conn).await
    }

    fn build(&self, msg: &Outgoing) -> Result<Message, SendError> {
        let to: Mailbox = msg
            .recipient
            .parse()
            .map_err(|e| SendError::permanent(format!("bad recipient: {e}")))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&msg.subject)
            .message_id(Some(format!(
                "<{}@{}>",
                msg.idempotency_key,
                self.from.email.domain()
            )))
            .multipart(MultiPart::alternative_plain_html(
                msg.body_text.clone(),
                msg.body_html.clone(),
            ))
            .map_err(|e| SendError::permanent(format!("cannot build message: {e}")))
    }
}

impl Sender for Smtp {
    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let m = self.build(msg)?;
            let mut conn = self.connection().await?;
            let sent = tokio::time::timeout(TIMEOUT, conn.send(m.envelope(), &m.formatted())).await;
            match sent {
                Ok(Ok(_)) => {
                    let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                    if idle.len() < KEEP_IDLE {
                        idle.push(conn);
                    }
                    Ok(())
                }
                // A connection that failed is dropped (closed) without a QUIT: a server that
                // answered 421 may never answer again, and waiting for it would hold this worker
                // and its message.
                // 5xx answers are permanent (bad mailbox); connection trouble and 4xx are not.
                Ok(Err(e)) if e.is_permanent() => {
                    Err(SendError::permanent(format!("smtp {}: {e}", self.host)))
                }
                Ok(Err(e)) => Err(self.transient(e)),
                Err(_) => {
                    Err(self.transient(format_args!("no answer within {} s", TIMEOUT.as_secs())))
                }
            }
        })
    }

    fn name(&self) -> &'static str {
        "smtp"
    }
}

/// The dev mailbox: every message is logged and written to a file under the data dir, because no
/// SMTP server is configured. Codes are visible here on purpose: it is a development setting.
pub struct DevMailbox {
    dir: PathBuf,
    channel: &'static str,
}

impl DevMailbox {
    pub fn new(dir: PathBuf, channel: &'static str) -> Self {
        Self { dir, channel }
    }
}

impl Sender for DevMailbox {
    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let file = self
                .dir
                .join(format!("{}-{}.txt", self.channel, msg.idempotency_key));
            let content = format!(
                "To: {}\nSubject: {}\n\n{}\n",
                msg.recipient, msg.subject, msg.body_text
            );
            // Each file holds a live code: owner-only, like the database.
            let dir = self.dir.clone();
            let path = file.clone();
            tokio::task::spawn_blocking(move || {
                use std::io::Write;
                crate::files::private_dir(&dir)?;
                crate::files::private_file_options()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&path)?
                    .write_all(content.as_bytes())
            })
            .await
            .map_err(|e| SendError::transient(format!("dev mailbox: {e}")))?
            .map_err(|e| SendError::transient(format!("dev mailbox: {e}")))?;
            tracing::warn!(
                target: "dev_mailbox",
                channel = self.channel,
                to = %msg.recipient,
                subject = %msg.subject,
                file = %file.display(),
                body = %msg.body_text,
                "NOT DELIVERED (dev mailbox: no {} provider configured)",
                if self.channel == "email" { "SMTP" } else { "SMS" }
            );
            Ok(())
        })
    }

    fn name(&self) -> &'static str {
        "dev-mailbox"
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::FromText;

    #[test]
    fn a_relay_may_be_named_by_an_ipv6_address_on_either_scheme() {
        for url in ["smtp://[::1]:2525", "smtps://u:p@[::1]:465"] {
            let url = SmtpUrl::from_text(url).unwrap();
            let smtp = Smtp::new(&url, SmtpTls::Required, &[], "a@example.com", "portal.test");
            assert_eq!(smtp.map(|s| s.host).as_deref(), Ok("::1"));
        }
    }
}
