//! The HTTP API, one module per resource, each exporting `router()`.

pub mod admin;
pub mod health;
pub mod me;
pub mod reset;
pub mod session;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;

/// Everything under `/api` (nested there, so paths here are relative), with its own 404 so unknown API paths never fall through to the SPA.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .merge(session::router())
        .merge(me::router())
        .merge(reset::router())
        .merge(admin::router())
        .fallback(|| async {
            ApiError::not_found("not_found", "There is no such API endpoint.").into_response()
        })
}

/// A known API path asked with a method it does not take: a JSON 405 (axum adds `Allow`). Set
/// where the API's last route is registered, since it applies to the routes before it.
pub async fn method_not_allowed() -> ApiError {
    let message = "This endpoint does not take that method.";
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        message,
    )
}

/// How a use case's refusal reads to the page: one stable code each, with words a person can
/// act on. Store and hasher failures stay opaque (`ApiError`'s own mapping).
impl From<crate::reset::Error> for ApiError {
    fn from(e: crate::reset::Error) -> Self {
        use crate::error::human_duration;
        use crate::reset::{Error, Refusal};
        let r = match e {
            Error::Refused(r) => r,
            Error::Store(e) => return e.into(),
            Error::Internal(e) => return ApiError::internal(e),
        };
        match r {
            Refusal::CountryNotAllowed => ApiError::bad_request(
                "sms_country_not_allowed",
                "Codes by text message cannot be sent to this country. Use your email address instead.",
            )
            .field("identifier"),
            Refusal::AccountNotFound => ApiError::not_found(
                "account_not_found",
                "The account does not exist. Check the email address or phone number you entered.",
            )
            .field("identifier"),
            Refusal::ManagedByProvider(p) => {
                ApiError::sso(p, "Reset your password with that provider.")
            }
            Refusal::CodesRateLimited { retry_after } => ApiError::rate_limited(
                "rate_limited",
                retry_after,
                format!(
                    "Too many codes were requested. Try again in {}.",
                    human_duration(retry_after)
                ),
            ),
            Refusal::TooMany { retry_after } => ApiError::too_many(retry_after),
            Refusal::ResendTooSoon { wait } => ApiError::rate_limited(
                "resend_too_soon",
                wait,
                format!("You can ask for a new code in {}.", human_duration(wait)),
            ),
            Refusal::Blocked { wait } => ApiError::rate_limited(
                "reset_blocked",
                wait,
                format!(
                    "Too many wrong codes were entered for this account. Password reset is paused; try again in {}. Signing in with your current password still works.",
                    human_duration(wait)
                ),
            ),
            Refusal::NoFlow => ApiError::not_found(
                "no_flow",
                "There is no password reset in progress in this browser. Start again.",
            ),
            Refusal::AlreadyVerified => ApiError::new(
                StatusCode::CONFLICT,
                "already_verified",
                "This code was already used. Continue with your new password.",
            ),
            Refusal::InvalidCodeFormat => ApiError::bad_request(
                "invalid_code_format",
                "Enter the 6-digit code from the message.",
            )
            .field("code"),
            Refusal::WrongCode { attempts_left } => {
                let mut e = ApiError::bad_request(
                    "invalid_code",
                    format!(
                        "That code is not right. {attempts_left} attempt{} left.",
                        if attempts_left == 1 { "" } else { "s" }
                    ),
                )
                .field("code");
                e.body.attempts_left = Some(attempts_left);
                e
            }
            Refusal::CodeExpired => ApiError::gone("code_expired", CODE_EXPIRED),
            Refusal::CodeExhausted => ApiError::gone("code_exhausted", CODE_EXHAUSTED),
            Refusal::LinkExpired => ApiError::gone("link_expired", LINK_EXPIRED),
            Refusal::GrantExpired => ApiError::gone("grant_expired", GRANT_EXPIRED),
            Refusal::Deactivated => ApiError::new(
                StatusCode::CONFLICT,
                "user_deactivated",
                "This user is deactivated: a reset link would not work. Reactivate them first.",
            ),
            Refusal::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "The email or password is incorrect.",
            ),
            Refusal::Locked { wait } => ApiError::rate_limited(
                "account_locked",
                wait,
                format!(
                    "Too many failed sign-in attempts. Try again in {}, or reset your password.",
                    human_duration(wait)
                ),
            ),
            Refusal::SignInWithProvider(p) => ApiError::sso(p, "Sign in with it instead."),
            Refusal::CurrentPasswordRequired => {
                ApiError::bad_request("required", "Enter your current password.")
                    .field("current_password")
            }
            Refusal::WrongCurrentPassword => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "wrong_password",
                "Your current password is not correct.",
            )
            .field("current_password"),
            Refusal::Password(v) if v == [app::policy::Violation::Mismatch] => {
                ApiError::mismatch()
            }
            Refusal::Password(v) => ApiError::policy("new_password", v),
        }
    }
}

const CODE_EXPIRED: &str =
    "This code has expired or was replaced by a newer one. Request a new code.";
const CODE_EXHAUSTED: &str =
    "Too many wrong attempts: this code no longer works. Request a new code.";
const LINK_EXPIRED: &str = "This link has expired or was already used. Send a new code.";
const GRANT_EXPIRED: &str =
    "This password reset has expired or was already completed. Request a new code.";
