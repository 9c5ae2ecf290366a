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
            let form = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("To", &msg.recipient)
                .append_pair("From", &self.from)
                .append_pair("Body", &msg.body_text)
                .finish();
            let res = self
                .client
                .post(self.endpoint.clone())
                .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
                // Twilio's own idempotency header: a retried request is not sent twice.
                .header("I-Twilio-Idempotency-Token", &msg.idempotency_key)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form)
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
            if status.as_u16() == 429 || status.is_server_error() {
                Err(SendError::transient(format!("twilio {status}: {body}")))
            } else {
                Err(SendError::permanent(format!("twilio {status}: {body}")))
            }
        })
    }

    fn name(&self) -> &'static str {
        "twilio"
    }
}
