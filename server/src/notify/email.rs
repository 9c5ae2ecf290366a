//! Email delivery: real SMTP through lettre, or the dev mailbox when no `SMTP_URL` is set.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use url::Url;

use super::{BoxFuture, Outgoing, SendError, Sender};
use crate::config::SmtpTls;

/// The audit kind of a message held back because the relay did not offer STARTTLS.
pub const TLS_REFUSED: &str = "smtp_tls_refused";

/// SMTP through lettre: `smtp://host:port` (STARTTLS as `PORTAL_SMTP_TLS` says),
/// `smtps://user:pass@host:465` (implicit TLS).
pub struct Smtp {
    route: Route,
    from: Mailbox,
    host: String,
}

enum Route {
    /// `smtps://`: lettre's pooled transport.
    Transport(AsyncSmtpTransport<Tokio1Executor>),
    /// `smtp://`: connections of our own, kept between messages.
    Direct(Direct),
}

/// How long one step with the SMTP server (connect, a command, a message) may take.
const TIMEOUT: Duration = Duration::from_secs(15);
/// Idle connections kept for the next messages (one per outbox worker is what is used).
const KEEP_IDLE: usize = 16;

/// SMTP connections with `TCP_NODELAY`. lettre writes a message and then its final `.` in two
/// writes before it reads the answer; with Nagle's algorithm on, the second write waits for the
/// server's delayed ACK (40 ms on Linux), so every message cost 40 ms and the outbox delivered
/// about 90 messages a second however idle the machine was (bench/README.md). lettre's own
/// transport does not expose its socket, so this opens the TCP connection and hands it over.
struct Direct {
    host: String,
    port: u16,
    tls: TlsParameters,
    policy: SmtpTls,
    credentials: Option<Credentials>,
    hello: ClientId,
    idle: std::sync::Mutex<Vec<AsyncSmtpConnection>>,
}

/// An SMTP error as the outbox sees it: 5xx answers are permanent (bad mailbox); connection
/// trouble and 4xx are not.
fn failure(host: &str, e: &lettre::transport::smtp::Error) -> SendError {
    let message = format!("smtp {host}: {e}");
    if e.is_permanent() {
        SendError::permanent(message)
    } else {
        SendError::transient(message)
    }
}

async fn within<T, E: std::fmt::Display>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: timed out after {} s", TIMEOUT.as_secs())),
    }
}

/// Why a connection was not used.
enum ConnectError {
    Failed(String),
    /// STARTTLS is required and the server did not offer it.
    NoTls,
}

impl Direct {
    async fn connect(&self) -> Result<AsyncSmtpConnection, ConnectError> {
        let conn = self.open().await.map_err(ConnectError::Failed)?;
        self.secure(conn).await
    }

    /// STARTTLS as the policy says, then AUTH: credentials go only where the policy allows.
    async fn secure(
        &self,
        mut conn: AsyncSmtpConnection,
    ) -> Result<AsyncSmtpConnection, ConnectError> {
        match (self.policy, conn.can_starttls()) {
            (SmtpTls::Required | SmtpTls::Opportunistic, true) => {
                within("STARTTLS", conn.starttls(self.tls.clone(), &self.hello))
                    .await
                    .map_err(ConnectError::Failed)?;
            }
            // Dropped without QUIT, like any connection that will not be used.
            (SmtpTls::Required, false) => return Err(ConnectError::NoTls),
            (SmtpTls::Opportunistic, false) | (SmtpTls::None, _) => {}
        }
        if let Some(c) = &self.credentials {
            within("AUTH", conn.auth(&[Mechanism::Plain, Mechanism::Login], c))
                .await
                .map_err(ConnectError::Failed)?;
        }
        Ok(conn)
    }

    async fn open(&self) -> Result<AsyncSmtpConnection, String> {
        let stream = within(
            "connect",
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("connect: {e}"))?;
        within(
            "greeting",
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello),
        )
        .await
    }

    async fn send(&self, m: &Message) -> Result<(), SendError> {
        let kept = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        // A kept connection may have been closed by the server while idle: NOOP tells.
        let alive = match kept {
            Some(mut c) => {
                let ok = matches!(
                    tokio::time::timeout(TIMEOUT, c.test_connected()).await,
                    Ok(true)
                );
                ok.then_some(c)
            }
            None => None,
        };
        let mut conn = match alive {
            Some(c) => c,
            None => match self.connect().await {
                Ok(c) => c,
                Err(ConnectError::Failed(e)) => {
                    return Err(SendError::transient(format!("smtp {}: {e}", self.host)))
                }
                // Transient: a stripping attacker may go away, and a relay fixed by its operator
                // should get the queued codes while they are still valid. Each refusal is loud.
                Err(ConnectError::NoTls) => {
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
            },
        };
        let sent = tokio::time::timeout(TIMEOUT, conn.send(m.envelope(), &m.formatted())).await;
        match sent {
            Ok(Ok(_)) => {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                if idle.len() < KEEP_IDLE {
                    idle.push(conn);
                }
                Ok(())
            }
            // A connection that failed is dropped (closed) without a QUIT: a server that answered
            // 421 may never answer again, and waiting for it would hold this worker and its message.
            Ok(Err(e)) => Err(failure(&self.host, &e)),
            Err(_) => Err(SendError::transient(format!(
                "smtp {}: no answer within {} s",
                self.host,
                TIMEOUT.as_secs()
            ))),
        }
    }
}

impl Smtp {
    /// `tls` applies to `smtp://`; `smtps://` is always TLS from the first byte.
    pub fn new(
        url: &secrecy::SecretString,
        tls: SmtpTls,
        from: &str,
        public_host: &str,
    ) -> Result<Self, String> {
        let u = Url::parse(url.expose_secret()).map_err(|e| format!("SMTP_URL: {e}"))?;
        let host = u.host_str().ok_or("SMTP_URL: no host")?.to_string();
        let hello = ClientId::Domain(public_host.to_string());
        let credentials = (!u.username().is_empty()).then(|| {
            Credentials::new(
                percent_decode(u.username()),
                percent_decode(u.password().unwrap_or_default()),
            )
        });
        let route = match u.scheme() {
            "smtps" => {
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::relay(&host)
                    .map_err(|e| format!("SMTP_URL: {e}"))?;
                if let Some(port) = u.port() {
                    b = b.port(port);
                }
                if let Some(c) = credentials {
                    b = b.credentials(c);
                }
                Route::Transport(b.timeout(Some(TIMEOUT)).hello_name(hello).build())
            }
            _ => Route::Direct(Direct {
                tls: TlsParameters::new(host.clone()).map_err(|e| format!("SMTP_URL: {e}"))?,
                policy: tls,
                port: u.port().unwrap_or(25),
                host: host.clone(),
                credentials,
                hello,
                idle: std::sync::Mutex::new(Vec::new()),
            }),
        };
        Ok(Self {
            route,
            from: from.parse().map_err(|e| format!("MAIL_FROM: {e}"))?,
            host,
        })
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

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl Sender for Smtp {
    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let m = self.build(msg)?;
            let transport = match &self.route {
                Route::Direct(d) => return d.send(&m).await,
                Route::Transport(t) => t,
            };
            transport
                .send(m)
                .await
                .map(drop)
                .map_err(|e| failure(&self.host, &e))
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
