//! SMS delivery through a Twilio-compatible REST API:
//! `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, basic auth, form fields To, From, Body.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{BoxFuture, Outgoing, SendError, Sender};

pub struct Twilio {
    client: reqwest::Client,
    endpoint: Url,
    account_sid: String,
    auth_token: SecretString,
    from: String,
}

impl Twilio {
    pub fn new(
        api_base: &Url,
        account_sid: &str,
        auth_token: SecretString,
        from: &str,
    ) -> Result<Self, String> {
        let base = api_base.as_str().trim_end_matches('/');
        let endpoint = Url::parse(&format!(
            "{base}/2010-04-01/Accounts/{account_sid}/Messages.json"
        ))
        .map_err(|e| format!("TWILIO_API_BASE: {e}"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            endpoint,
            account_sid: account_sid.to_string(),
            auth_token,
            from: from.to_string(),
        })
    }
}

impl Sender for Twilio {
    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let form = [
                ("To", &msg.recipient),
                ("From", &self.from),
                ("Body", &msg.body_text),
            ];
            let res = self
                .client
                .post(self.endpoint.clone())
                .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
                // The message's key, for a provider or gateway that drops a repeated request by
                // it. Not relied on: the outbox's claim and its renewed lease are what keep a
                // message from being sent twice.
                .header("I-Twilio-Idempotency-Token", &msg.idempotency_key)
                .form(&form)
                .send()
                .await
                .map_err(|e| SendError::transient(format!("twilio: {e}")))?;
            let status = res.status();
            if status.is_success() {
                return Ok(());
            }
            let body: String = res
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect();
            // 429 and 5xx may pass; any other 4xx (invalid number, unverified sender) will not.
            let message = format!("twilio {status}: {body}");
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                Err(SendError::transient(message))
            } else {
                Err(SendError::permanent(message))
            }
        })
    }

    fn name(&self) -> &'static str {
        "twilio"
    }
}
