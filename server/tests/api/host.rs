//! The names the portal answers to (DNS rebinding), its cookies on https (`__Host-`), and the
//! origins that may change state (CSRF) (#13 item 16).

use app::wire::SignInMethod;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

/// A browser whose DNS answers `name` with the test server's address, as a rebinding attacker's
/// DNS does; its requests carry `Host: name:<port>`.
fn resolving(app: &TestApp, name: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .resolve(name, app.addr)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A GET of `path` with the `Host` header set by hand.
async fn get_with_host(app: &TestApp, path: &str, host: &str) -> reqwest::Response {
    browser()
        .get(app.api(path))
        .header("host", host)
        .send()
        .await
        .unwrap()
}

/// The whole answer to a raw HTTP request written to the server (which closes the connection).
async fn raw(app: &TestApp, request: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf).to_string()
}

#[tokio::test]
async fn a_dns_rebinding_page_under_the_attackers_name_gets_421_from_the_api_and_the_static_files()
{
    let app = spawn_app().await;
    app.add_user("rb@example.com", "member", None, SignInMethod::Password)
        .await;
    let attacker = resolving(&app, "evil.example");
    let base = format!("http://evil.example:{}", app.addr.port());
    for path in [
        "/api/me",
        "/api/reset/flow",
        "/",
        "/forgot_password",
        "/healthz",
    ] {
        let r = attacker.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST, "{path}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(json(r).await["error"], "unknown_host", "{path}");
    }
    // Same-origin to the attacker's page, so no CSRF check would stop this one.
    let r = attacker
        .post(format!("{base}/api/session"))
        .header("origin", &base)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({ "email": "rb@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(r.headers().get("set-cookie").is_none());
    // The public name on another port is another server, not this one.
    let r = get_with_host(&app, "/api/me", "portal.test:8080").await;
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    // A name that merely starts like the public one or like an address is still a name.
    for host in [
        "portal.test.evil.example",
        "127.0.0.1.evil.example",
        "localhost.evil.example",
    ] {
        let r = get_with_host(&app, "/", host).await;
        assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
    }
}

#[tokio::test]
async fn the_public_name_an_ip_address_and_localhost_still_reach_the_portal() {
    let app = spawn_app().await;
    app.add_user("ok@example.com", "member", None, SignInMethod::Password)
        .await;
    let port = app.addr.port();
    for host in [
        "portal.test".to_string(),
        "PORTAL.test:80".to_string(),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        format!("localhost:{port}"),
    ] {
        let r = get_with_host(&app, "/healthz", &host).await;
        assert_eq!(r.status(), StatusCode::OK, "{host}");
        let r = get_with_host(&app, "/api/me", &host).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{host}");
    }
    let local = resolving(&app, "localhost");
    let r = local
        .post(format!("http://localhost:{port}/api/session"))
        .json(&json!({ "email": "ok@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The test harness itself talks to http://127.0.0.1:<port>.
    assert_eq!(
        app.sign_in(&browser(), "ok@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_second_domain_in_portal_allowed_hosts_is_served_and_other_names_still_are_not() {
    let app = spawn_app_with(|c| {
        c.set("allowed_hosts", "second.test, third.test:8443");
    })
    .await;
    for (host, status) in [
        ("second.test", StatusCode::OK),
        ("Second.Test:80", StatusCode::OK),
        ("third.test:8443", StatusCode::OK),
        ("third.test", StatusCode::MISDIRECTED_REQUEST),
        ("second.test:8443", StatusCode::MISDIRECTED_REQUEST),
        ("evil.example", StatusCode::MISDIRECTED_REQUEST),
    ] {
        let r = get_with_host(&app, "/healthz", host).await;
        assert_eq!(r.status(), status, "{host}");
    }
}

#[tokio::test]
async fn a_request_that_names_no_host_or_two_hosts_gets_400() {
    let app = spawn_app().await;
    for request in [
        "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: portal.test\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    ] {
        let answer = raw(&app, request).await;
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        assert!(answer.contains(r#""error":"invalid_host""#), "{answer}");
    }
    // An absolute-form target names a host too, and it must be one of ours.
    let answer = raw(
        &app,
        "GET http://evil.example/healthz HTTP/1.1\r\nHost: portal.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 421 "), "{answer}");
    // HTTP/1.0 has no Host header; such clients (old health checkers) still get an answer.
    let answer = raw(&app, "GET /healthz HTTP/1.0\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.0 200 "), "{answer}");
}

/// The `Set-Cookie` line of a response for the cookie `name`.
fn set_cookie(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", r.headers()))
}

/// The value a `Set-Cookie` line sets.
fn value_of(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    pair.split_once('=').unwrap().1.to_string()
}

/// What a `__Host-` cookie must carry for a browser to keep it.
fn assert_host_prefixed(set_cookie: &str) {
    assert!(set_cookie.starts_with("__Host-"), "{set_cookie}");
    assert!(set_cookie.contains("; Path=/;"), "{set_cookie}");
    assert!(set_cookie.contains("; HttpOnly"), "{set_cookie}");
    assert!(set_cookie.ends_with("; Secure"), "{set_cookie}");
    assert!(
        !set_cookie.to_ascii_lowercase().contains("domain="),
        "{set_cookie}"
    );
}

#[tokio::test]
async fn on_https_a_sibling_domain_cannot_plant_the_session_or_reset_cookies_because_they_are_host_prefixed(
) {
    let app = spawn_app_with(|c| {
        c.set("public_url", "https://portal.test");
    })
    .await;
    app.add_user("hp@example.com", "member", None, SignInMethod::Password)
        .await;
    // reqwest's cookie store keeps Secure cookies away from http://, as a browser does: the
    // headers are read and sent by hand.
    let client = browser();
    let r = app.sign_in(&client, "hp@example.com", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let session = set_cookie(&r, "__Host-portal_session");
    assert_host_prefixed(&session);
    assert!(session.contains("SameSite=Lax"), "{session}");
    let token = value_of(&session);
    let me = |cookie: String| {
        let client = reqwest::Client::new();
        let url = app.api("/api/me");
        async move {
            client
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        me(format!("__Host-portal_session={token}")).await,
        StatusCode::OK
    );
    // The unprefixed name is what a subdomain or an http page could set: it is not the session.
    assert_eq!(
        me(format!("portal_session={token}")).await,
        StatusCode::UNAUTHORIZED
    );

    let r = app.start_reset(&client, "hp@example.com").await;
    assert_eq!(r.status(), StatusCode::OK);
    let flow = set_cookie(&r, "__Host-portal_reset_flow");
    assert_host_prefixed(&flow);
    assert!(flow.contains("SameSite=Strict"), "{flow}");
    // Starting a flow deletes a link cookie, under the same prefixed name and path.
    let cleared = set_cookie(&r, "__Host-portal_reset_link");
    assert_host_prefixed(&cleared);
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let flow_state = |cookie: String| {
        let client = reqwest::Client::new();
        let url = app.api("/api/reset/flow");
        async move {
            client
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let flow_token = value_of(&flow);
    assert_eq!(
        flow_state(format!("__Host-portal_reset_flow={flow_token}")).await,
        StatusCode::OK
    );
    assert_eq!(
        flow_state(format!("portal_reset_flow={flow_token}")).await,
        StatusCode::NOT_FOUND
    );

    let mail = app.mail.wait_nth("hp@example.com", 1).await;
    let r = app
        .post(
            &client,
            "/api/reset/link",
            json!({ "token": mail.link_token() }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let link = set_cookie(&r, "__Host-portal_reset_link");
    assert_host_prefixed(&link);
    let r = reqwest::Client::new()
        .get(app.api("/api/reset/link"))
        .header(
            "cookie",
            format!("__Host-portal_reset_link={}", value_of(&link)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn on_http_the_cookies_keep_their_plain_names_and_the_reset_cookies_their_narrow_path() {
    let app = spawn_app().await;
    app.add_user("pl@example.com", "member", None, SignInMethod::Password)
        .await;
    let b = browser();
    let session = set_cookie(
        &app.sign_in(&b, "pl@example.com", PASSWORD).await,
        "portal_session",
    );
    assert!(
        session.contains("; Path=/;") && !session.contains("Secure"),
        "{session}"
    );
    let flow = set_cookie(
        &app.start_reset(&b, "pl@example.com").await,
        "portal_reset_flow",
    );
    assert!(
        flow.contains("; Path=/api/reset;") && !flow.contains("Secure"),
        "{flow}"
    );
}

#[tokio::test]
async fn on_https_a_page_injected_into_plain_http_under_the_portals_name_cannot_change_state() {
    let app = spawn_app_with(|c| {
        c.set("public_url", "https://portal.test");
        c.set("allowed_hosts", "second.test");
    })
    .await;
    app.add_user("cs@example.com", "member", None, SignInMethod::Password)
        .await;
    let port = app.addr.port();
    let sign_in = |origin: String, host: Option<&'static str>| {
        let mut req = reqwest::Client::new()
            .post(app.api("/api/session"))
            .header("origin", origin)
            .json(&json!({ "email": "cs@example.com", "password": PASSWORD }));
        if let Some(h) = host {
            req = req.header("host", h);
        }
        async move { req.send().await.unwrap() }
    };
    for (origin, host) in [
        // The public name over http: another origin, writable by anyone on the network.
        ("http://portal.test".to_string(), Some("portal.test")),
        // `http://{Host}`, which the check once accepted whatever the deployment's scheme.
        (format!("http://127.0.0.1:{port}"), None),
        ("http://second.test".to_string(), Some("second.test")),
        // Another address is another origin, even though addresses pass the Host check.
        ("https://203.0.113.7".to_string(), None),
        ("https://portal.test:8443".to_string(), Some("portal.test")),
    ] {
        let r = sign_in(origin.clone(), host).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(json(r).await["error"], "csrf", "{origin}");
    }
    for (origin, host) in [
        ("https://portal.test".to_string(), Some("portal.test")),
        ("https://second.test".to_string(), Some("second.test")),
        // The portal visited by its address, over the public scheme, is the portal itself.
        (format!("https://127.0.0.1:{port}"), None),
    ] {
        let r = sign_in(origin.clone(), host).await;
        assert_eq!(r.status(), StatusCode::OK, "{origin}");
    }
}

/// The web app's files as script/build-web leaves them: each beside its `.br` and `.gz`.
fn built_web_app() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("portal-dist-{:x}", rand::random::<u64>()));
    let bundle = dir.join("assets/app-0123456789abcdef");
    std::fs::create_dir_all(&bundle).unwrap();
    let write = |path: std::path::PathBuf, body: &[u8]| {
        std::fs::write(&path, body).unwrap();
        let mut br = path.clone().into_os_string();
        br.push(".br");
        std::fs::write(br, [b"br:", body].concat()).unwrap();
        let mut gz = path.into_os_string();
        gz.push(".gz");
        std::fs::write(gz, [b"gz:", body].concat()).unwrap();
    };
    write(
        dir.join("index.html"),
        b"<!doctype html><title>shell</title>",
    );
    write(bundle.join("app_bg.wasm"), b"\0asm main");
    write(bundle.join("split_admin_users_1.wasm"), b"\0asm chunk");
    dir
}

#[tokio::test]
async fn static_files_are_sent_precompressed_as_built_and_hashed_chunks_cached_for_good() {
    let dist = built_web_app();
    let app = spawn_app_with(|c| {
        c.set("static_dir", dist.display().to_string());
    })
    .await;
    let get = |path: &'static str, encoding: Option<&'static str>| {
        let mut req = browser().get(format!("{}{path}", app.url));
        if let Some(e) = encoding {
            req = req.header("accept-encoding", e);
        }
        async move { req.send().await.unwrap() }
    };
    let chunk = "/assets/app-0123456789abcdef/split_admin_users_1.wasm";
    for (encoding, sent, body) in [
        (Some("gzip, deflate, br"), Some("br"), "br:\0asm chunk"),
        (Some("gzip"), Some("gzip"), "gz:\0asm chunk"),
        (None, None, "\0asm chunk"),
    ] {
        let r = get(chunk, encoding).await;
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["content-type"], "application/wasm", "{encoding:?}");
        assert_eq!(
            h.get("content-encoding").map(|v| v.to_str().unwrap()),
            sent,
            "{encoding:?}"
        );
        if sent.is_some() {
            assert_eq!(h["vary"], "accept-encoding");
        }
        assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(r.text().await.unwrap(), body, "{encoding:?}");
    }
    // A page of the app is the shell, precompressed too, and never cached.
    let r = get("/forgot_password", Some("br")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "br");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    assert!(r.text().await.unwrap().starts_with("br:<!doctype html>"));
}
