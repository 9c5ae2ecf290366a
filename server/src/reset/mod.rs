//! The use cases of the portal's password life cycle, below the HTTP handlers and above the
//! store. Each takes the portal's services, `now` and parsed input, holds no HTTP types, and
//! returns a typed outcome or a [`Refusal`] that the handler turns into an answer.
//!
//! - [`start`]: ask for a code by email or SMS (or a decoy in hidden mode);
//! - [`resend`]: another code on the same flow, after the cooldown;
//! - [`verify`]: the code turns the flow into a short grant;
//! - [`link`]: the emailed link, opened and looked at;
//! - [`complete`]: Save, through the grant or the link;
//! - [`admin`]: an administrator sends a user a reset link;
//! - [`sign_in`]: a password sign-in, and the profile's current-password check;
//! - [`change`]: the one password change every path ends in; [`password`]: preparing one.
//!
//! Codes are issued by one function, [`issue::issue_code`], for every path, with the code and
//! the link-only strategies behind it; the caps and the guessing bound live in [`caps`].

pub mod admin;
pub mod caps;
pub mod change;
pub mod complete;
pub mod flow;
pub mod issue;
pub mod link;
pub mod password;
pub mod resend;
pub mod sign_in;
pub mod start;
pub mod verify;

use app::policy::Violation;
use app::wire::SignInMethod;

/// Why a use case said no: each becomes one stable error code for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The country of the phone number is not one SMS may go to.
    CountryNotAllowed,
    /// No active account has that identifier (only outside hidden mode).
    AccountNotFound,
    /// The user signs in with a provider, which owns the password.
    ManagedByProvider(SignInMethod),
    /// A per-client or per-identity cap on codes.
    CodesRateLimited {
        retry_after: u64,
    },
    /// A cap answered with the generic "too many requests".
    TooMany {
        retry_after: u64,
    },
    ResendTooSoon {
        wait: u64,
    },
    /// Too many wrong codes for the account: resets pause.
    Blocked {
        wait: u64,
    },
    NoFlow,
    AlreadyVerified,
    InvalidCodeFormat,
    WrongCode {
        attempts_left: u32,
    },
    CodeExpired,
    CodeExhausted,
    LinkExpired,
    GrantExpired,
    /// An administrator's reset for a deactivated user, whose link would be dead on arrival.
    Deactivated,
    /// Sign-in: one answer for a wrong email and a wrong password.
    InvalidCredentials,
    /// Sign-in: the account's password sign-in is locked for a while.
    Locked {
        wait: u64,
    },
    /// Sign-in: the user signs in with a provider (never said in hidden mode).
    SignInWithProvider(SignInMethod),
    CurrentPasswordRequired,
    WrongCurrentPassword,
    /// The new password breaks these rules (`[Mismatch]` alone: the two entries differ).
    Password(Vec<Violation>),
}

/// What can go wrong in a use case: a refusal the user can act on, or a failure of the store or
/// the hasher, which the user only learns as "try again later".
#[derive(Debug)]
pub enum Error {
    Refused(Refusal),
    Store(sqlx::Error),
    Internal(String),
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e)
    }
}

pub type Outcome<T> = Result<T, Error>;

#[cfg(test)]
mod tests;
