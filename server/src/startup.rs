//! Building and running the server: state, router, middleware, static files, the outbox worker,
//! the pruner, graceful shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Version};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

use crate::clock::Clock;
use crate::config::{Config, SmsProvider};
use crate::crypto::{new_secret, Hasher, Keys};
use crate::domain::host::HostPort;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::notify::email::{DevMailbox, Smtp};
use crate::notify::sms::Twilio;
use crate::notify::templates::Templates;
use crate::notify::worker::Outbox;
use crate::notify::Sender;
use crate::prune::Pruner;
use crate::state::AppState;
use crate::store::Store;

/// Reads the HMAC secret from config, or from `<data dir>/secret`, creating it on first start.
pub fn load_secret(config: &Config) -> Result<SecretString, String> {
    if let Some(s) = &config.secret {
        return Ok(SecretString::clone(s));
    }
    let path = config.data_dir.join("secret");
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => Ok(SecretString::from(s.trim().to_string())),
        Ok(_) => Err(format!(
            "configuration error: PORTAL_SECRET: the file {} is too short",
            path.display()
        )),
        Err(_) => {
            let fail = |what: &str, p: &Path, e: std::io::Error| {
                format!(
                    "configuration error: PORTAL_DATA_DIR: cannot {what} {}: {e}",
                    p.display()
                )
            };
            let dir = &config.data_dir;
            crate::files::private_dir(dir).map_err(|e| fail("create", dir, e))?;
            let s = new_secret();
            write_private(&path, &s).map_err(|e| fail("write", &path, e))?;
            tracing::info!(file = %path.display(), "generated a new server secret");
            Ok(SecretString::from(s))
        }
    }
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    crate::files::private_file_options()
        .write(true)
        .create_new(true)
        .open(path)?
        .write_all(content.as_bytes())
}

type SharedSender = Arc<dyn Sender>;

/// The email and SMS senders the configuration asks for.
pub fn senders(config: &Config) -> Result<(SharedSender, SharedSender), String> {
    let mailbox = config.data_dir.join("mailbox");
    let email: Arc<dyn Sender> = match &config.smtp_url {
        Some(url) => Arc::new(Smtp::new(
            url,
            config.smtp_tls,
            config.smtp_ca.as_ref().map_or(&[], |ca| &ca.0),
            &config.mail_from,
            &config.public_host(),
        )?),
        None => {
            tracing::warn!(dir = %mailbox.display(), "SMTP_URL is not set: emails are NOT delivered; they are logged and written to the dev mailbox");
            Arc::new(DevMailbox::new(mailbox.clone(), "email"))
        }
    };
    let sms: Arc<dyn Sender> = match &config.sms_provider {
        SmsProvider::Twilio {
            account_sid,
            auth_token,
            from,
            api_base,
        } => Arc::new(Twilio::new(
            api_base,
            account_sid,
            auth_token.clone(),
            from,
        )?),
        SmsProvider::Log => {
            // The default provider is a development setting; on an address other machines
            // reach it is most likely a production server whose users' codes land in its logs.
            if !config.bind.addr.ip().is_loopback() {
                tracing::warn!(bind = %config.bind.addr, "SMS_PROVIDER=log on an address other machines can reach: SMS verification codes are being LOGGED and written to the dev mailbox, not sent; anyone who reads the logs can reset those accounts (set SMS_PROVIDER=twilio)");
            }
            tracing::warn!(dir = %mailbox.display(), "SMS_PROVIDER=log: text messages are NOT delivered; they are logged and written to the dev mailbox");
            Arc::new(DevMailbox::new(mailbox, "sms"))
        }
    };
    Ok((email, sms))
}

/// A server ready to run: the state and the bound listener.
pub struct Application {
    state: AppState,
    listener: TcpListener,
    email: Arc<dyn Sender>,
    sms: Arc<dyn Sender>,
}

impl Application {
    /// Connects the database, applies migrations, binds the listener (port 0 picks a free one).
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, String> {
        // First, before anything is opened or logged: a broken template is a configuration error.
        let templates = Templates::load(config.template_dir.as_deref())
            .map_err(|e| format!("configuration error: PORTAL_TEMPLATE_DIR: {e}"))?;
        let secret = load_secret(&config)?;
        let store = Store::open(&config.database_url).await?;
        let (email, sms) = senders(&config)?;
        let hasher = Hasher::new(config.hash_concurrency)?;
        let listener = TcpListener::bind(config.bind.addr).await.map_err(|e| {
            format!(
                "configuration error: PORTAL_BIND: cannot listen on {} ({e})",
                config.bind.addr
            )
        })?;
        let state = AppState {
            config: Arc::new(config),
            store,
            clock,
            keys: Keys::new(&secret),
            hasher,
            outbox_wake: Arc::new(Notify::new()),
            metrics: Metrics::new(),
            templates: Arc::new(templates),
            tasks: tokio_util::task::TaskTracker::new(),
        };
        Ok(Self {
            state,
            listener,
            email,
            sms,
        })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn local_addr(&self) -> Result<SocketAddr, std::io::Error> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves: in-flight requests finish, then the work they left
    /// running, then the outbox workers finish the message in hand and the pruner its batch, and
    /// they stop.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let outbox = Outbox {
            store: self.state.store.clone(),
            keys: self.state.keys.clone(),
            clock: self.state.clock.clone(),
            email: self.email,
            sms: self.sms,
            wake: self.state.outbox_wake.clone(),
            metrics: self.state.metrics.clone(),
        };
        let workers =
            tokio::spawn(outbox.run(self.state.config.outbox_workers.get(), stop_rx.clone()));
        let pruner = Pruner {
            store: self.state.store.clone(),
            clock: self.state.clock.clone(),
            metrics: self.state.metrics.clone(),
            interval: self.state.config.prune_interval_secs.duration(),
            session_idle_secs: i64::try_from(self.state.config.session_idle_secs.get())
                .unwrap_or(i64::MAX),
        };
        let pruner = tokio::spawn(pruner.run(stop_rx.clone()));
        let checkpoint = tokio::spawn(self.state.store.clone().checkpoint(stop_rx));
        let app = router(self.state.clone());
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        self.state.tasks.close();
        self.state.tasks.wait().await;
        let _ = stop_tx.send(true);
        let _ = workers.await;
        let _ = pruner.await;
        let _ = checkpoint.await;
        served.map_err(|e| e.to_string())
    }
}

/// The whole HTTP surface: `/api`, health, metrics, and the SPA.
pub fn router(state: AppState) -> Router {
    let static_dir = state.config.static_dir.clone();
    let index = static_dir.join("index.html");
    let routes = Router::new()
        .nest(
            "/api",
            crate::routes::api_router()
                // The document is built from the handlers' annotations, which live in routes/:
                // it is mounted here so routes/ never depends on the module that reads them.
                .route(
                    "/openapi.json",
                    axum::routing::get(|| async { axum::Json(crate::openapi::document()) }),
                )
                .method_not_allowed_fallback(crate::routes::method_not_allowed)
                .route_layer(middleware::from_fn(matched_route))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    run_to_completion,
                )),
        )
        .merge(crate::routes::health::router());
    let routes = if index.is_file() {
        routes.fallback_service(
            // script/build-web writes file.br and file.gz beside each file: served as they are
            // (the compression layer leaves a response that already has an encoding alone).
            ServeDir::new(&static_dir)
                .precompressed_br()
                .precompressed_gzip()
                .append_index_html_on_directories(true)
                .fallback(
                    ServeFile::new(index)
                        .precompressed_br()
                        .precompressed_gzip(),
                ),
        )
    } else {
        tracing::warn!(
            dir = %static_dir.display(),
            "PORTAL_STATIC_DIR has no index.html: the web app was not built, or the setting points elsewhere; every page answers that the web app is missing"
        );
        routes.fallback(web_app_not_built)
    };
    routes
        .layer(middleware::from_fn_with_state(state.clone(), csrf))
        .layer(middleware::from_fn_with_state(state.clone(), known_host))
        .layer(middleware::from_fn_with_state(state.clone(), headers))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(CompressionLayer::new().gzip(true).br(true))
        .layer(DefaultBodyLimit::max(crate::extract::MAX_BODY))
        .with_state(state)
}

/// What a browser gets when the web app's files are missing: a page that says so rather than an
/// empty 404 that looks like a broken server. The directory is named in the log, not to visitors.
async fn web_app_not_built() -> Response {
    const PAGE: &str = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
        <title>Web app not built</title><h1>The web app was not built</h1>\
        <p>The server runs and its API answers, but the directory PORTAL_STATIC_DIR names holds \
        no index.html. Build the web app, or point PORTAL_STATIC_DIR at the built files.</p></html>";
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CACHE_CONTROL, "no-store")],
        axum::response::Html(PAGE),
    )
        .into_response()
}

/// An API request runs to its end even when its client goes away. hyper drops a request's future
/// when the connection closes; dropped in the middle of a transaction, the transaction's pooled
/// connection kept SQLite's write lock until it was next used, and every other writer waited out
/// the 5 s busy timeout and then failed (seen at shutdown and when a load generator stopped
/// mid-request). Spawned, the handler finishes on its own task: it commits or rolls back, so what
/// a user did is either all done or not done at all, whatever their network does.
///
/// The task is tracked ([`AppState::tasks`]): a graceful shutdown waits for a handler whose client
/// went away, and for what that handler started in turn.
async fn run_to_completion(State(st): State<AppState>, req: Request, next: Next) -> Response {
    match st.tasks.spawn(next.run(req)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "request task failed");
            crate::error::ApiError::internal(e.to_string()).into_response()
        }
    }
}

/// The host a request was addressed to, once [`known_host`] accepted it.
#[derive(Debug, Clone)]
struct AddressedHost(HostPort);

/// Marks a response [`known_host`] refused, so metrics do not label it by its raw path.
#[derive(Debug, Clone, Copy)]
struct MisdirectedRequest;

/// DNS rebinding: a page on the attacker's domain, once its name resolves to this server (a
/// portal on localhost or an intranet address), reads and writes it as its own origin, but the
/// browser still names the attacker's domain in `Host`. So a request must name the public URL's
/// host and port, a `PORTAL_ALLOWED_HOSTS` entry, an IP address or `localhost`; anything else is
/// 421 Misdirected Request, for the API and the static files alike (RFC 9110 7.4). Every
/// authority a request carries must pass: the `Host` header and, in an absolute-form request
/// target, the URI's (RFC 9112 3.2.2). HTTP/1.1 without exactly one valid `Host` is 400 (RFC 9112
/// 3.2); HTTP/1.0, which predates `Host`, passes without one.
async fn known_host(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let hosts = st.config.hosts();
    let port = hosts.default_port();
    let mut values = req.headers().get_all(header::HOST).iter();
    let header_host = match (values.next(), values.next()) {
        (Some(_), Some(_)) => return bad_host("The request names more than one host."),
        (v, _) => v.map(|v| v.to_str().ok().and_then(|v| HostPort::parse(v, port))),
    };
    let uri_host = req
        .uri()
        .authority()
        .map(|a| HostPort::parse(a.as_str(), port));
    let (header_host, uri_host) = match (header_host, uri_host) {
        (Some(None), _) => return bad_host("The Host header is not a host name."),
        (_, Some(None)) => return bad_host("The request target is not a host name."),
        (h, u) => (h.flatten(), u.flatten()),
    };
    if header_host.is_none() && uri_host.is_none() && req.version() > Version::HTTP_10 {
        return bad_host("The request must name its host (Host header).");
    }
    if [&header_host, &uri_host]
        .into_iter()
        .flatten()
        .any(|h| !hosts.accepts(h))
    {
        return misdirected(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "unknown_host",
            "This server does not answer to that host name.",
        ));
    }
    if let Some(h) = header_host.or(uri_host) {
        req.extensions_mut().insert(AddressedHost(h));
    }
    next.run(req).await
}

fn bad_host(message: &str) -> Response {
    misdirected(ApiError::bad_request("invalid_host", message))
}

fn misdirected(e: ApiError) -> Response {
    let mut res = e.into_response();
    res.extensions_mut().insert(MisdirectedRequest);
    res
}

/// Cross-site request forgery: a state-changing API request with a browser's `Sec-Fetch-Site`
/// must come from this site, and an `Origin`, when sent, must be one of this portal's own
/// origins (OWASP CSRF Prevention Cheat Sheet: Fetch Metadata and Origin verification): the
/// public origin, an allowed host's, or that of the address visited (see
/// [`crate::domain::host::Hosts::is_own_origin`]), always with the public URL's scheme. It was
/// once also `http://{Host}`, which on an https deployment let a page that anyone on the
/// network can inject into plain http under the portal's name post with the user's cookies.
/// Non-browser clients send neither header and carry no ambient cookies an attacker could
/// borrow.
async fn csrf(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let h = req.headers();
    let cross_site = h
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site != "same-origin" && site != "none");
    let addressed = req.extensions().get::<AddressedHost>().map(|a| &a.0);
    let foreign_origin = h.get(header::ORIGIN).is_some_and(|origin| {
        !origin
            .to_str()
            .is_ok_and(|o| st.config.hosts().is_own_origin(o, addressed))
    });
    if cross_site || foreign_origin {
        return ApiError::forbidden("The request did not come from this site.")
            .code("csrf")
            .into_response();
    }
    next.run(req).await
}

const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
    form-action 'self'; object-src 'none'";

/// Security headers on every response (OWASP Secure Headers; ASVS 5.0 3.4): a CSP that allows
/// the wasm app and nothing inline, no framing, no sniffing, no referrer (pages can carry reset
/// tokens), HSTS on https; and caching: hashed assets forever, the shell and the API never.
async fn headers(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let mut res = next.run(req).await;
    let ok = res.status() == StatusCode::OK;
    let h = res.headers_mut();
    let hsts = st.config.is_https().then_some((
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ));
    for (k, v) in [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), otp-credentials=(self)",
        ),
    ]
    .into_iter()
    .chain(hsts)
    {
        h.insert(k, HeaderValue::from_static(v));
    }
    let cache = if path.starts_with("/api/")
        || path == "/metrics"
        || path == "/readyz"
        || path == "/healthz"
    {
        "no-store"
    } else if path.starts_with("/assets/") && ok {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    // A precompressed file is chosen by Accept-Encoding: a shared cache must key on it.
    if h.contains_key(header::CONTENT_ENCODING) && !h.contains_key(header::VARY) {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

/// The route template a request matched (`/api/admin/users/{id}/password`), carried on its
/// response for [`observe`].
#[derive(Debug, Clone)]
struct MatchedRoute(MatchedPath);

/// Tags an API response with the route it matched; a route layer, so it runs once routing has
/// chosen a route and never for the 404 fallback.
async fn matched_route(req: Request, next: Next) -> Response {
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let mut res = next.run(req).await;
    if let Some(m) = matched {
        res.extensions_mut().insert(MatchedRoute(m));
    }
    res
}

/// Request metrics by route template and method. Each label value is one of a fixed set, so the
/// series stay bounded whatever clients send (a label per raw path or method would let anyone grow
/// the server's memory and `/metrics` without limit, OWASP API4:2023 unrestricted resource
/// consumption): a matched route's template, `/api/unknown` for an API request no route took
/// (unknown, or refused before routing), `misdirected`, the health paths, `static`; the standard
/// methods, else `other`.
async fn observe(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let method = match *req.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let path = req.uri().path().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let route = if res.extensions().get::<MisdirectedRequest>().is_some() {
        "misdirected"
    } else if let Some(MatchedRoute(m)) = res.extensions().get::<MatchedRoute>() {
        m.as_str()
    } else if path.starts_with("/api/") {
        "/api/unknown"
    } else if matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics") {
        path.as_str()
    } else {
        "static"
    };
    st.metrics.request(
        method,
        route,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}
