//! The server's cookies: their names, paths and attributes in one place, what sets them and
//! what reads them, so what a handler writes is exactly what every reader looks for.

use std::borrow::Cow;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::config::Config;

/// Written by the SPA itself (not HttpOnly, read by its script), so it keeps its plain name.
pub const LANG_COOKIE: &str = "portal_lang";

/// A cookie the server sets. Its name, path and `SameSite` are derived here and nowhere else, so
/// what a handler writes is exactly what every reader looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerCookie {
    /// The signed-in session.
    Session,
    /// Binds a reset flow to the browser that started it.
    ResetFlow,
    /// The token of an opened reset link, out of the address bar.
    ResetLink,
}

impl ServerCookie {
    fn base(self) -> &'static str {
        match self {
            Self::Session => "portal_session",
            Self::ResetFlow => "portal_reset_flow",
            Self::ResetLink => "portal_reset_link",
        }
    }

    /// On https the `__Host-` prefix: a browser keeps such a cookie only when it was set over
    /// https, `Secure`, with `Path=/` and no `Domain`, so a sibling subdomain or a forged http
    /// page of the same host can neither plant one (session fixation, a planted reset flow) nor
    /// widen it (OWASP ASVS 5.0 3.3.1, 4.0.3 3.4.4; RFC 6265bis 4.1.3.2). On http the prefix
    /// would make the browser drop the cookie, so it is left off.
    pub fn name(self, config: &Config) -> Cow<'static, str> {
        if config.is_https() {
            Cow::Owned(format!("__Host-{}", self.base()))
        } else {
            Cow::Borrowed(self.base())
        }
    }

    /// The reset cookies are scoped to `/api/reset` on http; `__Host-` demands `Path=/`, which
    /// is acceptable: they are HttpOnly, `SameSite=Strict` and host-only, so widening the path
    /// only sends them to this same server's other endpoints, which ignore them (and a path was
    /// never a security boundary between pages of one origin).
    pub fn path(self, config: &Config) -> &'static str {
        match self {
            Self::ResetFlow | Self::ResetLink if !config.is_https() => "/api/reset",
            _ => "/",
        }
    }

    /// `Lax` for the session, so a link from a mail or another site opens signed in; `Strict`
    /// for the reset cookies, which no other site ever needs to carry.
    pub fn same_site(self) -> &'static str {
        match self {
            Self::Session => "Lax",
            Self::ResetFlow | Self::ResetLink => "Strict",
        }
    }

    /// This cookie's value in a request.
    pub fn read(self, headers: &HeaderMap, config: &Config) -> Option<String> {
        read(headers, &self.name(config))
    }
}

/// The value of one cookie of the request. The server's own cookies are read through
/// [`ServerCookie::read`], which knows their names.
pub fn read(parts_headers: &HeaderMap, name: &str) -> Option<String> {
    parts_headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// A `Set-Cookie` value: host-only (no Domain), HttpOnly, `Secure` on https, with the name, path
/// and `SameSite` of [`ServerCookie`] (ASVS 5.0 3.3.1-3.3.4: Secure, `__Host-`, SameSite,
/// HttpOnly).
pub fn set(which: ServerCookie, value: &str, max_age: Option<u64>, config: &Config) -> HeaderValue {
    let s = format!(
        "{}={value}; Path={}; HttpOnly; SameSite={}{}{}",
        which.name(config),
        which.path(config),
        which.same_site(),
        max_age.map_or_else(String::new, |age| format!("; Max-Age={age}")),
        if config.is_https() { "; Secure" } else { "" },
    );
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// A `Set-Cookie` that deletes the cookie.
pub fn clear(which: ServerCookie, config: &Config) -> HeaderValue {
    set(which, "", Some(0), config)
}

/// A JSON response with extra `Set-Cookie` headers.
pub fn with_cookies(
    status: StatusCode,
    body: impl IntoResponse,
    cookies: Vec<HeaderValue>,
) -> Response {
    let mut res = (status, body).into_response();
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}
