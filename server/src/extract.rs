//! The portal's own extractors: a JSON body whose rejection is an [`ApiError`], the client's
//! address and browser, and the signed-in user with the permissions a handler needs.

use std::net::{Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::config::ClientIpHeader;
use crate::cookies::{self, ServerCookie};
use crate::domain::client;
pub use crate::domain::client::Client;
use crate::error::ApiError;
use crate::notify::templates::Lang;
use crate::state::AppState;
use crate::store::users::User;
use crate::store::{sessions, users};

/// Largest JSON body the API accepts: every request is a few short fields.
pub const MAX_BODY: usize = 16 * 1024;

/// `Json<T>` with the portal's error shape: wrong content type (415), malformed JSON, JSON that is
/// not an object, a missing field or a wrong type (400), with a message naming the problem and
/// `field` its path.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the request body as application/json.",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "The request body is too large.",
                )
            })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
            ApiError::bad_request(
                "invalid_json",
                "The request body is not valid JSON (UTF-8).",
            )
        })?;
        if !value.is_object() {
            return Err(ApiError::bad_request(
                "invalid_json",
                "The request body must be a JSON object.",
            ));
        }
        serde_path_to_error::deserialize(value)
            .map(Json)
            .map_err(|e| {
                let mut err = ApiError::bad_request(
                    "invalid_request",
                    format!("The request is not valid: {e}."),
                );
                err.body.field = field_of(&e);
                err
            })
    }
}

/// `Path<T>` with the portal's error shape: a parameter of the wrong type (`/users/abc`) is a
/// 400 naming it, not axum's plain-text rejection.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let mut err = ApiError::bad_request(
                    "invalid_path",
                    format!("The address is not valid: {}.", e.kind()),
                );
                err.body.field = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => Some(key.clone()),
                    // A single value (`Path<i64>`) is reported without its name: the route's
                    // one parameter is the one.
                    _ => axum::extract::RawPathParams::from_request_parts(parts, state)
                        .await
                        .ok()
                        .and_then(|params| match params.iter().collect::<Vec<_>>()[..] {
                            [(key, _)] => Some(key.to_string()),
                            _ => None,
                        }),
                };
                Err(err)
            }
            // A route without the parameters its handler reads: the server's mistake.
            Err(e) => Err(ApiError::internal(e)),
        }
    }
}

/// `Query<T>` with the portal's error shape: a parameter of the wrong type (`?page=-1`) is a 400
/// naming it, not axum's plain-text rejection.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs = url::form_urlencoded::parse(query.as_bytes());
        serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs))
            .map(Self)
            .map_err(|e| {
                let mut err = ApiError::bad_request(
                    "invalid_query",
                    format!("The query is not valid: {}.", e.inner()),
                );
                let path = e.path().to_string();
                err.body.field = (path != ".").then_some(path);
                err
            })
    }
}

/// The field a rejected body got wrong, as a path (`policy.kind`, `roles[0].name`). A value of
/// the wrong type or out of range is found at its own path. A missing field is reported by serde
/// at the object that lacks it, with the field's name only in its message (``missing field `x` ``,
/// serde's own wording; serde-rs/json#913), so that name is appended to the object's path.
fn field_of(e: &serde_path_to_error::Error<serde_json::Error>) -> Option<String> {
    let path = e.path().to_string();
    let at_root = path == ".";
    let missing = e
        .inner()
        .to_string()
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_string());
    match missing {
        Some(name) if at_root => Some(name),
        Some(name) => Some(format!("{path}.{name}")),
        None => (!at_root).then_some(path),
    }
}

impl<S> FromRequestParts<S> for Client
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let st = AppState::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(Ipv4Addr::UNSPECIFIED.into(), |c| c.0.ip());
        let name = match st.config.client_ip_header {
            ClientIpHeader::XForwardedFor => "x-forwarded-for",
            ClientIpHeader::Forwarded => "forwarded",
        };
        // Read leniently: a proxy appends the address it saw to whatever the client sent on the
        // same line, so a line dropped for the client's one non-ASCII byte would also drop the
        // proxy's hop and make the client look like the proxy. A garbled hop fails to parse on
        // its own.
        let values: Vec<String> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let ip = client::client_addr(
            peer,
            &st.config.trusted_proxies,
            st.config.client_ip_header,
            &values,
        );
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect::<String>())
            .unwrap_or_default();
        Ok(Self {
            ip: ip.to_string(),
            rate_key: client::rate_key(ip),
            user_agent,
        })
    }
}

/// The signed-in user. Rejects with 401 when there is no live session; a session whose user must
/// first choose a new password passes only through [`AuthUser::allow_pending`] handlers.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: User,
    pub session_id: i64,
}

/// Like [`AuthUser`] but also lets through a user who must change the password first.
pub struct PendingUser(pub AuthUser);

async fn authenticate(parts: &Parts, state: &AppState) -> Result<AuthUser, ApiError> {
    let token = ServerCookie::Session
        .read(&parts.headers, &state.config)
        .ok_or_else(ApiError::unauthenticated)?;
    let hash = state.keys.token_hash("session", &token);
    let now = state.now();
    let mut conn = state.store.conn().await?;
    let idle = crate::domain::reset::seconds(state.config.session_idle_secs.get());
    let session = sessions::live(&mut conn, &hash, now, idle)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    // Write the activity time at most once a minute: enough for the idle timeout, far fewer
    // writes. A timeout under two minutes is touched every half of it, or a user active every 10 s
    // under a 30 s timeout would be signed out at 31 s by a touch still a minute away.
    if now - session.last_seen_at >= (idle / 2).clamp(1, 60) {
        sessions::touch(&mut conn, session.id, now).await?;
    }
    let user = users::by_id(&mut conn, session.user_id)
        .await?
        .filter(|u| u.active)
        .ok_or_else(ApiError::unauthenticated)?;
    Ok(AuthUser {
        user,
        session_id: session.id,
    })
}

impl<S> FromRequestParts<S> for PendingUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        authenticate(parts, &AppState::from_ref(state))
            .await
            .map(PendingUser)
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let signed_in = authenticate(parts, &AppState::from_ref(state)).await?;
        if signed_in.user.must_change_password {
            return Err(
                ApiError::forbidden("Choose a new password before you continue.")
                    .code("password_change_required"),
            );
        }
        Ok(signed_in)
    }
}

/// The signed-in user, who must hold permission `P` (a `&'static str` from
/// `app::wire::permission`, named by a marker type).
pub struct RequirePermission<P: Permission>(pub AuthUser, pub std::marker::PhantomData<P>);

pub trait Permission: Send + Sync + 'static {
    const NAME: &'static str;
}

/// Declares a marker type for one permission of `app::wire::permission`.
macro_rules! permissions {
    ($($(#[$doc:meta])* $name:ident = $value:ident;)*) => {$(
        $(#[$doc])*
        pub struct $name;
        impl Permission for $name {
            const NAME: &'static str = app::wire::permission::$value;
        }
    )*};
}

permissions! {
    /// `users:view`
    UsersView = USERS_VIEW;
    /// `users:edit`
    UsersEdit = USERS_EDIT;
    /// `roles:manage`
    RolesManage = ROLES_MANAGE;
    /// `audit:view`
    AuditView = AUDIT_VIEW;
    /// `settings:edit`
    SettingsEdit = SETTINGS_EDIT;
}

impl<S, P> FromRequestParts<S> for RequirePermission<P>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    P: Permission,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let signed_in = AuthUser::from_request_parts(parts, state).await?;
        if !signed_in.user.role.has(P::NAME) {
            return Err(ApiError::forbidden(format!(
                "Your role does not include the permission {}.",
                P::NAME
            )));
        }
        Ok(Self(signed_in, std::marker::PhantomData))
    }
}

/// The server's cookies this browser sent: its session's token, its reset flow's, and an opened
/// reset link's.
pub struct ServerCookies {
    pub session: Option<String>,
    pub flow: Option<String>,
    pub link: Option<String>,
}

/// The moment this request is handled at, read once from the state's clock: every rule the
/// request applies sees the same `now`.
#[derive(Debug, Clone, Copy)]
pub struct Now(pub i64);

/// The language a request is made in: the `portal_lang` cookie the SPA sets, else
/// `Accept-Language`, else English.
#[derive(Debug, Clone, Copy)]
pub struct RequestLang(pub Lang);

impl<S> FromRequestParts<S> for ServerCookies
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let config = &AppState::from_ref(state).config;
        Ok(Self {
            session: ServerCookie::Session.read(&parts.headers, config),
            flow: ServerCookie::ResetFlow.read(&parts.headers, config),
            link: ServerCookie::ResetLink.read(&parts.headers, config),
        })
    }
}

impl<S> FromRequestParts<S> for Now
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(AppState::from_ref(state).now()))
    }
}

impl<S> FromRequestParts<S> for RequestLang
where
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let lang = match cookies::read(&parts.headers, cookies::LANG_COOKIE) {
            Some(l) => Lang::parse(&l),
            None => parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map_or(Lang::En, Lang::from_accept_language),
        };
        Ok(Self(lang))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Settings {
        name: String,
        policy: Policy,
        roles: Vec<NamedRole>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Policy {
        min_length: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct NamedRole {
        name: String,
    }

    /// The `field` of the rejection of `body` sent as JSON.
    async fn rejected_field(body: serde_json::Value) -> Option<String> {
        let req = Request::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        match Json::<Settings>::from_request(req, &()).await {
            Ok(_) => panic!("{body} was accepted"),
            Err(e) => {
                assert_eq!(e.body.error, "invalid_request");
                e.body.field
            }
        }
    }

    #[tokio::test]
    async fn a_wrong_typed_field_is_named_exactly_at_any_depth() {
        let valid =
            json!({ "name": "n", "policy": { "min_length": 8 }, "roles": [{ "name": "r" }] });
        let cases = [
            ("/name", json!(5), "name"),
            ("/name", json!(null), "name"),
            ("/policy/min_length", json!("8"), "policy.min_length"),
            ("/policy/min_length", json!(-1), "policy.min_length"),
            ("/roles/0/name", json!(["x"]), "roles[0].name"),
        ];
        for (pointer, wrong, field) in cases {
            let mut body = valid.clone();
            *body.pointer_mut(pointer).unwrap() = wrong;
            assert_eq!(rejected_field(body).await.as_deref(), Some(field));
        }
    }

    #[tokio::test]
    async fn a_missing_field_is_named_with_the_path_of_its_object() {
        let cases = [
            (
                json!({ "policy": { "min_length": 8 }, "roles": [] }),
                "name",
            ),
            (
                json!({ "name": "n", "policy": {}, "roles": [] }),
                "policy.min_length",
            ),
            (
                json!({ "name": "n", "policy": { "min_length": 8 }, "roles": [{ "name": "r" }, {}] }),
                "roles[1].name",
            ),
        ];
        for (body, field) in cases {
            assert_eq!(rejected_field(body).await.as_deref(), Some(field));
        }
    }
}
