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
    let app =
        spawn_app_with(|c| c.allowed_hosts = Some("second.test, third.test:8443".into())).await;
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
