//! Notifications: email through SMTP (lettre), SMS through a Twilio-compatible API, or both to the
//! dev mailbox; queued in the outbox and sent by [`worker`].

pub mod email;
pub mod sms;
pub mod templates;
pub mod worker;

pub use futures_util::future::BoxFuture;

/// A message on its way out.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub idempotency_key: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

/// Why a send failed, and whether trying again can help.
#[derive(Debug, Clone)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
    /// An audit kind when the failure is a security event rather than an outage (the sender
    /// refused to expose a secret): the worker records it at once, at each attempt, instead of
    /// only after the last one.
    pub alert: Option<&'static str>,
}

impl SendError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            message: message.into(),
            alert: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            ..Self::transient(message)
        }
    }

    /// The same failure, recorded in the audit log as `kind` when it happens.
    pub fn alert(self, kind: &'static str) -> Self {
        Self {
            alert: Some(kind),
            ..self
        }
    }
}

/// Something that delivers one channel's messages.
pub trait Sender: Send + Sync + 'static {
    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>>;
    /// "smtp", "twilio", "dev-mailbox": for logs and metrics.
    fn name(&self) -> &'static str;
}
