//! The one error type of the API: a stable machine code, a human message, the field it concerns.
//!
//! Handlers return `Result<_, ApiError>`. Database and internal failures become an opaque 500 that
//! is logged once here and never echoed to the client (OWASP ASVS 5.0 16.5.1).

use app::policy::Violation;
use app::wire::{ErrorBody, SignInMethod};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: errors travel in every `Result`, and the body is large.
    pub body: Box<ErrorBody>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(ErrorBody {
                error: code.to_string(),
                message: message.into(),
                field: None,
                retry_after_secs: None,
                attempts_left: None,
                provider: None,
                recovery_url: None,
                violations: Vec::new(),
            }),
        }
    }

    pub fn field(mut self, field: &str) -> Self {
        self.body.field = Some(field.to_string());
        self
    }

    /// Replaces the machine code, keeping status and message.
    pub fn code(mut self, code: &str) -> Self {
        self.body.error = code.to_string();
        self
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Please sign in.",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn gone(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, code, message)
    }

    /// 429 with `Retry-After`; the message says when to try again.
    pub fn rate_limited(code: &str, retry_after_secs: u64, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, code, message);
        e.body.retry_after_secs = Some(retry_after_secs.max(1));
        e
    }

    pub fn too_many(retry_after_secs: u64) -> Self {
        Self::rate_limited(
            "rate_limited",
            retry_after_secs,
            format!(
                "Too many attempts. Try again in {}.",
                human_duration(retry_after_secs)
            ),
        )
    }

    /// The account signs in with an identity provider: send the user there.
    pub fn sso(provider: SignInMethod, what: &str) -> Self {
        let mut e = Self::new(
            StatusCode::CONFLICT,
            "sso_account",
            format!(
                "This account signs in with {}. {what}",
                provider.display_name()
            ),
        );
        e.body.provider = Some(provider);
        e.body.recovery_url = provider.recovery_url().map(str::to_string);
        e
    }

    pub fn policy(field: &str, violations: Vec<Violation>) -> Self {
        let message = violations
            .iter()
            .map(Violation::message)
            .collect::<Vec<_>>()
            .join(" ");
        let mut e = Self::bad_request("password_policy", message).field(field);
        e.body.violations = violations;
        e
    }

    pub fn mismatch() -> Self {
        Self::bad_request("password_mismatch", Violation::Mismatch.message())
            .field("confirm_password")
    }

    /// Any failure the client cannot act on. Logged once, answered opaquely.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side. Please try again.",
        )
    }
}

/// "3 minutes", "45 seconds", "2 hours": what a person reads in a 429 message.
pub fn human_duration(secs: u64) -> String {
    let (n, unit) = if secs >= 2 * 3600 {
        (secs.div_ceil(3600), "hour")
    } else if secs >= 120 {
        (secs.div_ceil(60), "minute")
    } else {
        (secs.max(1), "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        // A database that cannot be reached is an outage, not a bug: answer 503 so clients retry.
        match &err {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => {
                tracing::warn!(error = %err, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The service is briefly unavailable. Please try again in a moment.",
                )
            }
            _ => Self::internal(err),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.body.retry_after_secs;
        let mut res = (self.status, axum::Json(*self.body)).into_response();
        if let Some(secs) = retry {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(0), "1 second");
        assert_eq!(human_duration(45), "45 seconds");
        assert_eq!(human_duration(130), "3 minutes");
        assert_eq!(human_duration(3600), "60 minutes");
        assert_eq!(human_duration(7300), "3 hours");
    }
}
