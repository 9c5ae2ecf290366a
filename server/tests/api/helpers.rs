//! The test harness: the real server on a random port against a fresh database (SQLite, or
//! PostgreSQL when `PORTAL_TEST_DB=postgres`), a real SMTP server that captures what lettre
//! delivers, and a local Twilio-compatible endpoint. Codes are read only from what those received.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default,
    dead_code
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::wire::SignInMethod;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use mailin_embedded::{response, Handler, Response};
use server::clock::ManualClock;
use server::config::RawConfig;
use server::crypto::Hasher;
use server::domain::password::NewPassword;
use server::startup::Application;
use server::store::users::{self, NewUser};
use server::store::Store;

pub const PASSWORD: &str = "Original-Passphrase-2024";

/// [`PASSWORD`], through the policy like every password that reaches the hasher.
pub fn known_password() -> NewPassword {
    let policy = app::policy::PolicyConfig::modern();
    NewPassword::parse(&policy, PASSWORD, PASSWORD, &[], |_| false).unwrap()
}
pub const NEW_PASSWORD: &str = "brand new lighthouse keeper";
/// A fixed start time, so dates in messages are predictable: 2026-01-15 10:00 UTC.
pub const T0: i64 = 1_768_471_200;

/// Which database this run uses, said once in the output.
/// Unset means SQLite; any other value than `sqlite` or `postgres` is a mistake that must not
/// quietly run the suite on the wrong database.
pub fn backend() -> &'static str {
    match std::env::var("PORTAL_TEST_DB").as_deref() {
        Ok("postgres") => "postgres",
        Ok("sqlite") | Err(_) => "sqlite",
        Ok(other) => panic!("PORTAL_TEST_DB={other}: expected sqlite or postgres"),
    }
}

pub async fn fresh_database_url() -> String {
    let id: u64 = rand::random();
    if backend() == "postgres" {
        use sqlx::Connection;
        let admin = std::env::var("PORTAL_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut c = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL for tests");
        let name = format!("portal_test_{id:x}");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await
            .expect("create database");
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(admin);
        format!("{base}/{name}")
    } else {
        let dir = std::env::temp_dir().join(format!("portal-test-{id:x}"));
        std::fs::create_dir_all(&dir).unwrap();
        format!("sqlite://{}?mode=rwc", dir.join("portal.db").display())
    }
}

// ------------------------------------------------------------------ SMTP capture

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
    pub raw: String,
}

impl Mail {
    /// The 6-digit code in the message.
    pub fn code(&self) -> String {
        let t = &self.text;
        let bytes: Vec<char> = t.chars().collect();
        for i in 0..bytes.len().saturating_sub(5) {
            let w: String = bytes[i..i + 6].iter().collect();
            let before = i == 0 || !bytes[i - 1].is_ascii_digit();
            let after = i + 6 >= bytes.len() || !bytes[i + 6].is_ascii_digit();
            if before && after && w.chars().all(|c| c.is_ascii_digit()) {
                return w;
            }
        }
        panic!("no code in {t}")
    }

    /// The token of the `/reset#token=` link in the message.
    pub fn link_token(&self) -> String {
        let start = self.text.find("/reset#token=").expect("a reset link") + "/reset#token=".len();
        self.text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}

#[derive(Default)]
struct MailShared {
    messages: Mutex<Vec<Mail>>,
    down: AtomicBool,
}

#[derive(Clone)]
struct MailHandler {
    shared: Arc<MailShared>,
    buf: Vec<u8>,
    to: Vec<String>,
}

impl Handler for MailHandler {
    fn mail(&mut self, _ip: std::net::IpAddr, _domain: &str, _from: &str) -> Response {
        if self.shared.down.load(Ordering::SeqCst) {
            return response::NO_SERVICE;
        }
        response::OK
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.buf.clear();
        self.to = to.to_vec();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let raw = String::from_utf8_lossy(&self.buf).to_string();
        let parsed = mail_parser::MessageParser::default()
            .parse(&self.buf)
            .expect("a parsable message");
        let mail = Mail {
            to: self.to.clone(),
            subject: parsed.subject().unwrap_or_default().to_string(),
            text: parsed
                .body_text(0)
                .map(|c| c.to_string())
                .unwrap_or_default(),
            html: parsed
                .body_html(0)
                .map(|c| c.to_string())
                .unwrap_or_default(),
            message_id: parsed.message_id().unwrap_or_default().to_string(),
            raw,
        };
        self.shared.messages.lock().unwrap().push(mail);
        response::OK
    }
}

/// A real SMTP server (mailin-embedded) on a random port.
#[derive(Clone)]
pub struct MailCapture {
    shared: Arc<MailShared>,
    pub addr: SocketAddr,
}

impl MailCapture {
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(MailShared::default());
        let handler = MailHandler {
            shared: shared.clone(),
            buf: Vec::new(),
            to: Vec::new(),
        };
        std::thread::spawn(move || {
            let mut s = mailin_embedded::Server::new(handler);
            s.with_name("capture.test")
                .with_num_threads(8)
                .with_tcp_listener(listener);
            let _ = s.serve();
        });
        Self { shared, addr }
    }

    /// While down, the server answers 421 (service not available), as a failing relay does.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    pub fn all(&self) -> Vec<Mail> {
        self.shared.messages.lock().unwrap().clone()
    }

    pub fn to(&self, addr: &str) -> Vec<Mail> {
        self.all()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(addr)))
            .collect()
    }

    /// Waits until `addr` has received `n` messages; returns the n-th.
    pub async fn wait_nth(&self, addr: &str, n: usize) -> Mail {
        for _ in 0..200 {
            let got = self.to(addr);
            if got.len() >= n {
                return got[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "{addr} did not receive {n} message(s); got {:?}",
            self.to(addr).iter().map(|m| &m.subject).collect::<Vec<_>>()
        );
    }

    /// Waits for the next message to `addr`, after the `before` already there.
    pub async fn next(&self, addr: &str, before: usize) -> Mail {
        self.wait_nth(addr, before + 1).await
    }
}

/// A relay that accepts the TCP connection and then never says a word (no greeting), as a hung
/// SMTP server does: a sender waits for its timeout. The sockets are held until the test ends.
pub async fn silent_relay() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

/// An address where nothing listens: connections are refused at once.
pub fn refusing_relay() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

// ------------------------------------------------------------------ Twilio-compatible endpoint

#[derive(Debug, Clone)]
pub struct Sms {
    pub to: String,
    pub from: String,
    pub body: String,
    pub authorization: String,
    pub path: String,
}

impl Sms {
    pub fn code(&self) -> String {
        self.body.rsplit('#').next().unwrap().trim().to_string()
    }
}

/// How the fake provider answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SmsMode {
    Accept = 0,
    ServerError = 1,
    InvalidNumber = 2,
}

#[derive(Default)]
struct SmsShared {
    received: Mutex<Vec<Sms>>,
    attempts: Mutex<u32>,
    mode: AtomicU8,
}

#[derive(Clone)]
pub struct SmsCapture {
    shared: Arc<SmsShared>,
    pub base: String,
}

async fn twilio(
    State(s): State<Arc<SmsShared>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    *s.attempts.lock().unwrap() += 1;
    match s.mode.load(Ordering::SeqCst) {
        1 => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"code":20500,"message":"Internal"}"#.into(),
            )
        }
        2 => {
            return (
                StatusCode::BAD_REQUEST,
                r#"{"code":21211,"message":"The 'To' number is not a valid phone number."}"#.into(),
            )
        }
        _ => {}
    }
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    s.received.lock().unwrap().push(Sms {
        to: form.get("To").cloned().unwrap_or_default(),
        from: form.get("From").cloned().unwrap_or_default(),
        body: form.get("Body").cloned().unwrap_or_default(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        path: uri.path().to_string(),
    });
    (
        StatusCode::CREATED,
        r#"{"sid":"SM00000000000000000000000000000000","status":"queued"}"#.into(),
    )
}

impl SmsCapture {
    pub async fn start() -> Self {
        let shared = Arc::new(SmsShared::default());
        let app = axum::Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(twilio))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            shared,
            base: format!("http://{addr}"),
        }
    }

    pub fn set_mode(&self, m: SmsMode) {
        self.shared.mode.store(m as u8, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Sms> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn attempts(&self) -> u32 {
        *self.shared.attempts.lock().unwrap()
    }

    pub async fn wait_nth(&self, n: usize) -> Sms {
        for _ in 0..200 {
            let got = self.received();
            if got.len() >= n {
                return got[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no SMS number {n}");
    }
}

// ------------------------------------------------------------------ the app

pub struct TestApp {
    pub url: String,
    pub addr: SocketAddr,
    pub clock: Arc<ManualClock>,
    pub mail: MailCapture,
    pub sms: SmsCapture,
    pub store: Store,
    pub hasher: Hasher,
    pub account_id: i64,
    pub raw: RawConfig,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Everything the servers of this test binary logged, at debug level and above.
static LOGS: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

#[derive(Clone)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = LogBuffer(buf.clone());
        let _ = tracing_subscriber::fmt()
            // The server's crates at debug; the harness's own HTTP client, cookie jar and SMTP
            // capture are not the server and legitimately see secrets.
            .with_env_filter("debug,cookie_store=off,reqwest=off,mailin=off,mailin_embedded=off")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buf
    });
}

/// The log text so far.
pub fn logs() -> String {
    LOGS.get()
        .map(|b| String::from_utf8_lossy(&b.lock().unwrap()).to_string())
        .unwrap_or_default()
}

/// Starts the portal with the test defaults; `tweak` adjusts the configuration.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut RawConfig)) -> TestApp {
    capture_logs();
    let mail = MailCapture::start();
    let sms = SmsCapture::start().await;
    let mut raw = RawConfig::default();
    let data_dir = std::env::temp_dir().join(format!("portal-data-{:x}", rand::random::<u64>()));
    raw.set("bind", "127.0.0.1:0")
        .set("database_url", fresh_database_url().await)
        .set("data_dir", data_dir.display().to_string())
        .set("public_url", "http://portal.test")
        .set("smtp_url", format!("smtp://{}", mail.addr))
        .set("mail_from", "no-reply@portal.test")
        .set("secret", "test-secret-0123456789abcdef0123456789abcdef")
        .set("sms_provider", "twilio")
        .set("twilio_account_sid", "ACtest")
        .set("twilio_auth_token", "token-123")
        .set("twilio_from", "+46700000000")
        .set("twilio_api_base", sms.base.clone())
        .set("outbox_workers", "2");
    tweak(&mut raw);
    let clock = Arc::new(ManualClock::new(T0));
    let mut app = start(raw, clock, mail, sms).await;
    let mut c = app.store.conn().await.unwrap();
    app.account_id = users::insert_account(&mut c, "Test AB", T0).await.unwrap();
    app
}

async fn start(
    raw: RawConfig,
    clock: Arc<ManualClock>,
    mail: MailCapture,
    sms: SmsCapture,
) -> TestApp {
    let config = raw.clone().parse().expect("test configuration");
    let app = Application::build(config, clock.clone())
        .await
        .expect("the app builds");
    let addr = app.local_addr().unwrap();
    let store = app.state().store.clone();
    let hasher = app.state().hasher.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run(async move {
        let _ = rx.await;
    }));
    TestApp {
        url: format!("http://{addr}"),
        addr,
        clock,
        mail,
        sms,
        store,
        hasher,
        account_id: 0,
        raw,
        _shutdown: tx,
    }
}

impl TestApp {
    /// A second server instance on the same database, secret, clock, SMTP and SMS endpoints, as
    /// behind a load balancer.
    pub async fn peer(&self) -> TestApp {
        let mut raw = self.raw.clone();
        let data_dir =
            std::env::temp_dir().join(format!("portal-data-{:x}", rand::random::<u64>()));
        raw.set("data_dir", data_dir.display().to_string());
        let mut p = start(raw, self.clock.clone(), self.mail.clone(), self.sms.clone()).await;
        p.account_id = self.account_id;
        p
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A browser: its own cookie jar.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    pub async fn add_user(
        &self,
        email: &str,
        role: &str,
        phone: Option<&str>,
        method: SignInMethod,
    ) -> i64 {
        self.add_user_in(self.account_id, email, role, phone, method)
            .await
    }

    pub async fn add_user_in(
        &self,
        account: i64,
        email: &str,
        role: &str,
        phone: Option<&str>,
        method: SignInMethod,
    ) -> i64 {
        let hash = match method {
            SignInMethod::Password => Some(self.hasher.hash(&known_password()).await.unwrap()),
            _ => None,
        };
        let name = format!("Test {}", email.split('@').next().unwrap());
        let mut c = self.store.conn().await.unwrap();
        users::insert(
            &mut c,
            &NewUser {
                account_id: account,
                name: &name,
                email,
                phone,
                role,
                custom_role_id: None,
                sign_in_method: method,
                password_hash: hash.as_deref(),
                time_zone: "Europe/Stockholm",
            },
            T0,
        )
        .await
        .unwrap()
    }

    /// Adds many users cheaply: one hash shared by all (for load and fault tests).
    pub async fn add_users_bulk(&self, prefix: &str, n: usize) -> Vec<String> {
        let hash = self.hasher.hash(&known_password()).await.unwrap();
        let mut c = self.store.conn().await.unwrap();
        let mut emails = Vec::new();
        for i in 0..n {
            let email = format!("{prefix}{i}@bulk.test");
            users::insert(
                &mut c,
                &NewUser {
                    account_id: self.account_id,
                    name: "Bulk User",
                    email: &email,
                    phone: None,
                    role: "member",
                    custom_role_id: None,
                    sign_in_method: SignInMethod::Password,
                    password_hash: Some(&hash),
                    time_zone: "Europe/Stockholm",
                },
                T0,
            )
            .await
            .unwrap();
            emails.push(email);
        }
        emails
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub async fn post(
        &self,
        b: &reqwest::Client,
        path: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        b.post(self.api(path)).json(&body).send().await.unwrap()
    }

    pub async fn get(&self, b: &reqwest::Client, path: &str) -> reqwest::Response {
        b.get(self.api(path)).send().await.unwrap()
    }

    pub async fn sign_in(
        &self,
        b: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        self.post(
            b,
            "/api/session",
            serde_json::json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Step 1 in a browser.
    pub async fn start_reset(&self, b: &reqwest::Client, identifier: &str) -> reqwest::Response {
        self.post(
            b,
            "/api/reset/start",
            serde_json::json!({ "identifier": identifier }),
        )
        .await
    }

    pub async fn verify(&self, b: &reqwest::Client, code: &str) -> reqwest::Response {
        self.post(b, "/api/reset/verify", serde_json::json!({ "code": code }))
            .await
    }

    pub async fn save(&self, b: &reqwest::Client, password: &str) -> reqwest::Response {
        self.post(
            b,
            "/api/reset/password",
            serde_json::json!({ "new_password": password, "confirm_password": password }),
        )
        .await
    }

    /// Outbox messages neither sent nor given up (queued, waiting for a retry, or in hand), plus
    /// any row a worker holds (a claim on a sent or failed row would be a bug to see, not hide).
    pub async fn outbox_unsettled(&self) -> i64 {
        let mut c = self.store.conn().await.unwrap();
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE (sent_at IS NULL AND failed_at IS NULL) OR locked_until IS NOT NULL",
        )
        .fetch_one(&mut *c)
        .await
        .unwrap()
    }

    /// Waits until every outbox message is sent or given up and no worker holds one: the explicit
    /// signal that whatever a request queued has reached the capture (a message is marked sent
    /// only after the relay accepted it), so "nothing arrived" is checked without guessing a sleep.
    pub async fn wait_outbox_settled(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let unsettled = self.outbox_unsettled().await;
            if unsettled == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the outbox never settled: {unsettled} message(s) pending or held"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn audit_count(&self, kind: &str) -> i64 {
        let mut c = self.store.conn().await.unwrap();
        server::store::audit::count_kind(&mut c, kind)
            .await
            .unwrap()
    }
}

/// The JSON body of a response.
pub async fn json(r: reqwest::Response) -> serde_json::Value {
    r.json().await.unwrap()
}

// ------------------------------------------------------------------ the real binary

/// A URL on 127.0.0.1 at a port that was free a moment ago, for a `portal` process to bind.
pub fn free_local_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// The real `portal` binary on `db`, its data and static files in `dir`, no config file, no other
/// `PORTAL_*` variable, and, given `url`, listening there. Later `.env` calls override these settings.
pub fn portal_command(db: &str, dir: &std::path::Path, url: Option<&str>) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_portal"));
    // Only the settings given here: not the suite's own PORTAL_TEST_* variables.
    // (vars_os: `vars` would panic on a variable of the environment that is not UTF-8.)
    let ours = std::env::vars_os().filter_map(|(v, _)| v.into_string().ok());
    for var in ours.filter(|v| v.starts_with("PORTAL_")) {
        cmd.env_remove(var);
    }
    cmd.env("PORTAL_CONFIG", "")
        .env("MAIL_FROM", "no-reply@portal.localhost")
        .env("DATABASE_URL", db)
        .env("PORTAL_DATA_DIR", dir)
        .env("PORTAL_STATIC_DIR", dir)
        .env(
            "PORTAL_SECRET",
            "bin-test-secret-0123456789abcdef0123456789",
        );
    if let Some(url) = url {
        cmd.env("PORTAL_BIND", url.trim_start_matches("http://"))
            .env("PORTAL_PUBLIC_URL", url);
    }
    cmd
}

/// Waits up to 15 s for `url` to answer `/readyz` with 200.
pub async fn becomes_ready(url: &str) -> bool {
    for _ in 0..300 {
        if let Ok(r) = reqwest::get(format!("{url}/readyz")).await {
            if r.status() == StatusCode::OK {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
