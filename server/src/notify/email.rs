//! Email delivery: real SMTP through lettre, or the dev mailbox when no `SMTP_URL` is set.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use url::Url;

use super::{BoxFuture, Outgoing, SendError, Sender};

/// SMTP through lettre: `smtp://host:port` (STARTTLS when the server offers it),
/// `smtps://user:pass@host:465` (implicit TLS).
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
}

impl Smtp {
    pub fn new(url: &secrecy::SecretString, from: &str, public_host: &str) -> Result<Self, String> {
        let u = Url::parse(url.expose_secret()).map_err(|e| format!("SMTP_URL: {e}"))?;
        let host = u.host_str().ok_or("SMTP_URL: no host")?.to_string();
        let mut b = match u.scheme() {
            "smtps" => AsyncSmtpTransport::<Tokio1Executor>::relay(&host)
                .map_err(|e| format!("SMTP_URL: {e}"))?,
            _ => {
                // Opportunistic STARTTLS: encrypt when the server offers it, as MTAs do.
                let tls = lettre::transport::smtp::client::TlsParameters::new(host.clone())
                    .map_err(|e| format!("SMTP_URL: {e}"))?;
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                    .tls(lettre::transport::smtp::client::Tls::Opportunistic(tls))
            }
        };
        if let Some(port) = u.port() {
            b = b.port(port);
        }
        if !u.username().is_empty() {
            let user = percent_decode(u.username());
            let pass = percent_decode(u.password().unwrap_or_default());
            b = b.credentials(Credentials::new(user, pass));
        }
        let transport = b
            .timeout(Some(Duration::from_secs(15)))
            .hello_name(lettre::transport::smtp::extension::ClientId::Domain(
                public_host.to_string(),
            ))
            .build();
        Ok(Self {
            transport,
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
            match self.transport.send(m).await {
                Ok(_) => Ok(()),
                // 5xx answers are permanent (bad mailbox); connection trouble and 4xx are not.
                Err(e) if e.is_permanent() => {
                    Err(SendError::permanent(format!("smtp {}: {e}", self.host)))
                }
                Err(e) => Err(SendError::transient(format!("smtp {}: {e}", self.host))),
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
            tokio::fs::create_dir_all(&self.dir)
                .await
                .map_err(|e| SendError::transient(format!("dev mailbox: {e}")))?;
            let file = self
                .dir
                .join(format!("{}-{}.txt", self.channel, msg.idempotency_key));
            let content = format!(
                "To: {}\nSubject: {}\n\n{}\n",
                msg.recipient, msg.subject, msg.body_text
            );
            tokio::fs::write(&file, content)
                .await
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
