//! One typed async function per API endpoint. Components call these, never gloo-net, so the URL,
//! method and body of every request live in one place and every failure arrives as an [`ApiError`].
//!
//! Requests go to the page's own origin with `credentials: same-origin`, so the HttpOnly session
//! and reset-flow cookies flow and nothing else does. Each request carries an abort signal that
//! fires when its future is dropped, so a page that goes away stops its requests.

pub mod admin;
pub mod reset;
pub mod session;

use gloo_net::http::{Request, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Serialize;
use web_sys::{AbortController, RequestCredentials};

use crate::wire::ErrorBody;

/// A request that failed: the HTTP status (0 when the server was never reached) and the API's
/// error body, or one made up here when the answer had none.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub body: ErrorBody,
}

impl ApiError {
    /// The code of a request that never got an answer.
    pub const NETWORK: &'static str = "network";
    /// The code of an answer that was not the API's JSON.
    pub const UNEXPECTED: &'static str = "unexpected";

    fn local(status: u16, code: &str) -> Self {
        Self {
            status,
            body: ErrorBody {
                error: code.to_string(),
                message: String::new(),
                field: None,
                retry_after_secs: None,
                attempts_left: None,
                provider: None,
                recovery_url: None,
                violations: Vec::new(),
            },
        }
    }

    /// The stable machine code, e.g. `"invalid_code"`.
    pub fn code(&self) -> &str {
        &self.body.error
    }

    /// Whether the API said the visitor is not signed in.
    pub fn is_unauthenticated(&self) -> bool {
        self.status == 401
            && self.code() != "wrong_password"
            && self.code() != "invalid_credentials"
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Aborts the fetch when dropped: once the body has been read this does nothing, and when the
/// component that awaited the request went away, the browser stops it. It must outlive the
/// reading of the body, or the body would be aborted too.
struct AbortOnDrop(Option<AbortController>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &self.0 {
            c.abort();
        }
    }
}

fn with_defaults(builder: RequestBuilder) -> RequestBuilder {
    builder
        .credentials(RequestCredentials::SameOrigin)
        .header("Accept", "application/json")
}

pub(crate) fn get(url: &str) -> RequestBuilder {
    with_defaults(Request::get(url))
}

pub(crate) fn post(url: &str) -> RequestBuilder {
    with_defaults(Request::post(url))
}

pub(crate) fn put(url: &str) -> RequestBuilder {
    with_defaults(Request::put(url))
}

pub(crate) fn delete(url: &str) -> RequestBuilder {
    with_defaults(Request::delete(url))
}

/// Sends `builder` with an abort signal and returns the 2xx answer's status and body text.
///
/// Not generic: one copy of the request's async state machine serves every endpoint, and only
/// the JSON encoding and decoding (synchronous, small) is instantiated per type, which keeps the
/// first download small.
async fn send(builder: RequestBuilder, body: Option<String>) -> ApiResult<(u16, String)> {
    let guard = AbortOnDrop(AbortController::new().ok());
    let builder = builder.abort_signal(guard.0.as_ref().map(|c| c.signal()).as_ref());
    let request = match body {
        Some(b) => builder.header("Content-Type", "application/json").body(b),
        None => builder.build(),
    }
    .map_err(|_| ApiError::local(0, ApiError::UNEXPECTED))?;
    let response = request
        .send()
        .await
        .map_err(|_| ApiError::local(0, ApiError::NETWORK))?;
    let status = response.status();
    // The guard lives until the body has been read: dropping it earlier would abort the read.
    let text = response.text().await;
    drop(guard);
    match (response.ok(), text) {
        (true, Ok(text)) => Ok((status, text)),
        (true, Err(_)) => Err(ApiError::local(0, ApiError::NETWORK)),
        (false, text) => Err(
            match text
                .ok()
                .and_then(|t| serde_json::from_str::<ErrorBody>(&t).ok())
            {
                Some(body) => ApiError { status, body },
                None => ApiError::local(status, ApiError::UNEXPECTED),
            },
        ),
    }
}

fn encode_body(body: Option<&impl Serialize>) -> ApiResult<Option<String>> {
    body.map(serde_json::to_string)
        .transpose()
        .map_err(|_| ApiError::local(0, ApiError::UNEXPECTED))
}

/// No body to send.
const NO_BODY: Option<&()> = None;

/// A request whose 2xx answer is JSON `T`.
pub(crate) async fn json<T: DeserializeOwned>(
    builder: RequestBuilder,
    body: Option<&impl Serialize>,
) -> ApiResult<T> {
    let (status, text) = send(builder, encode_body(body)?).await?;
    serde_json::from_str(&text).map_err(|_| ApiError::local(status, ApiError::UNEXPECTED))
}

/// A request whose 2xx answer (usually 204) carries nothing the page needs.
pub(crate) async fn unit(builder: RequestBuilder, body: Option<&impl Serialize>) -> ApiResult<()> {
    send(builder, encode_body(body)?).await.map(|_| ())
}

/// Percent-encodes a query value (`encodeURIComponent`).
pub(crate) fn encode(value: &str) -> String {
    String::from(js_sys::encode_uri_component(value))
}

// ---------------------------------------------------------------- shared endpoints

/// `POST /api/password/strength`: the server's estimate, shown as guidance only.
pub async fn strength(
    req: &crate::wire::StrengthRequest,
) -> ApiResult<crate::wire::StrengthResponse> {
    json(post("/api/password/strength"), Some(req)).await
}

/// `GET /api/meetings`
pub async fn meetings() -> ApiResult<crate::wire::MeetingList> {
    json(get("/api/meetings"), NO_BODY).await
}
