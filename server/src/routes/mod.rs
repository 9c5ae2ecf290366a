//! The HTTP API, one module per resource, each exporting `router()`.

pub mod admin;
pub mod health;
pub mod me;
pub mod reset;
pub mod session;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::config::Config;
use crate::error::ApiError;
use crate::extract::ServerCookie;
use crate::state::AppState;

/// Everything under `/api` (nested there, so paths here are relative), with its own 404 so unknown API paths never fall through to the SPA.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .merge(session::router())
        .merge(me::router())
        .merge(reset::router())
        .merge(admin::router())
        .route(
            "/openapi.json",
            axum::routing::get(|| async { axum::Json(crate::openapi::document()) }),
        )
        .fallback(|| async {
            let mut res =
                ApiError::not_found("not_found", "There is no such API endpoint.").into_response();
            res.extensions_mut().insert(UnknownApiRoute);
            res
        })
}

/// Marks the answer of the API's 404 fallback, so metrics do not label it by the raw path.
#[derive(Debug, Clone, Copy)]
pub struct UnknownApiRoute;

/// A `Set-Cookie` value: host-only (no Domain), HttpOnly, `Secure` on https, with the name, path
/// and `SameSite` of [`ServerCookie`] (ASVS 5.0 3.3.1-3.3.4: Secure, `__Host-`, SameSite,
/// HttpOnly).
pub fn cookie(
    which: ServerCookie,
    value: &str,
    max_age: Option<u64>,
    config: &Config,
) -> HeaderValue {
    let mut s = format!(
        "{}={value}; Path={}; HttpOnly; SameSite={}",
        which.name(config),
        which.path(config),
        which.same_site()
    );
    if let Some(age) = max_age {
        s.push_str(&format!("; Max-Age={age}"));
    }
    if config.is_https() {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// A `Set-Cookie` that deletes the cookie.
pub fn clear_cookie(which: ServerCookie, config: &Config) -> HeaderValue {
    cookie(which, "", Some(0), config)
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

/// The language a request is made in: the `portal_lang` cookie the SPA sets, else
/// `Accept-Language`, else English.
pub fn request_lang(headers: &HeaderMap) -> crate::notify::templates::Lang {
    use crate::notify::templates::Lang;
    if let Some(l) = crate::extract::cookie(headers, crate::extract::LANG_COOKIE) {
        return Lang::parse(&l);
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or(Lang::En)
}
