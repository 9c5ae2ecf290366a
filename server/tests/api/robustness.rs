//! Bad input, unknown paths, health and readiness.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn bad_bodies_get_a_4xx_json_error_never_a_500() {
    let app = spawn_app().await;
    let c = reqwest::Client::new();
    let url = app.api("/api/reset/start");
    let cases: Vec<(Option<&str>, Vec<u8>, u16, &str)> = vec![
        (
            Some("text/plain"),
            b"{}".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (None, b"{}".to_vec(), 415, "unsupported_media_type"),
        (
            Some("application/json"),
            b"{not json".to_vec(),
            400,
            "invalid_json",
        ),
        (
            Some("application/json"),
            vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'],
            400,
            "invalid_json",
        ),
        (
            Some("application/json"),
            b"[1,2,3]".to_vec(),
            400,
            "invalid_json",
        ),
        (
            Some("application/json"),
            b"\"just a string\"".to_vec(),
            400,
            "invalid_json",
        ),
        (
            Some("application/json"),
            b"{}".to_vec(),
            400,
            "invalid_request",
        ),
        (
            Some("application/json"),
            br#"{"identifier": 42}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            Some("application/json"),
            format!(r#"{{"identifier":"{}"}}"#, "a".repeat(20_000)).into_bytes(),
            413,
            "payload_too_large",
        ),
    ];
    for (ct, body, status, code) in cases {
        let mut req = c.post(&url).body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{code}");
        let body = json(r).await;
        assert_eq!(body["error"], code);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let r = c
        .post(&url)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(r).await["field"], "identifier");
}

#[tokio::test]
async fn unknown_api_paths_are_json_404s_not_the_spa() {
    let app = spawn_app().await;
    let r = reqwest::get(app.api("/api/does-not-exist")).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await["error"], "not_found");
}

#[tokio::test]
async fn a_bad_path_or_query_parameter_and_a_wrong_method_get_json_errors_naming_the_field() {
    let app = spawn_app().await;
    let admin = "admin@example.com";
    app.add_user(admin, "admin", None, app::wire::SignInMethod::Password)
        .await;
    let b = browser();
    assert_eq!(app.sign_in(&b, admin, PASSWORD).await.status(), 200);
    let cases = [
        (
            b.post(app.api("/api/admin/users/abc/reset")),
            400,
            "invalid_path",
            Some("id"),
        ),
        (
            b.get(app.api("/api/admin/users?page=-1")),
            400,
            "invalid_query",
            Some("page"),
        ),
        (
            b.get(app.api("/api/admin/audit?page=x")),
            400,
            "invalid_query",
            Some("page"),
        ),
        (
            b.delete(app.api("/api/reset/start")),
            405,
            "method_not_allowed",
            None,
        ),
    ];
    for (req, status, code, field) in cases {
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{code}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("application/json"), "{code}: {ct}");
        if status == 405 {
            assert_eq!(r.headers()["allow"], "POST");
        }
        let body = json(r).await;
        assert_eq!(body["error"], code);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(body["field"].as_str(), field, "{code}");
    }
    // The route mounted beside the API's own answers alike.
    let r = b.post(app.api("/api/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json(r).await["error"], "method_not_allowed");
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let r = reqwest::get(app.api("/healthz")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = reqwest::get(app.api("/readyz")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["status"], "ready");
    let metrics = reqwest::get(app.api("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("portal_outbox_depth"));
}

#[tokio::test]
async fn metrics_labels_stay_bounded_whatever_paths_and_methods_clients_send() {
    let app = spawn_app().await;
    let c = reqwest::Client::new();
    for i in 0..5 {
        let method = reqwest::Method::from_bytes(format!("FOO{i}").as_bytes()).unwrap();
        c.request(method, app.api("/api/reset/start"))
            .send()
            .await
            .unwrap();
        // A real route with a word for its id (refused, signed out) and an unknown path refused
        // as cross-site before routing: neither may become a label of its own.
        c.post(app.api(&format!("/api/admin/users/word{i}/reset")))
            .send()
            .await
            .unwrap();
        c.post(app.api(&format!("/api/nowhere{i}")))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        c.get(app.api(&format!("/api/admin/users/{i}/role")))
            .send()
            .await
            .unwrap();
    }
    let metrics = reqwest::get(app.api("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for raw in ["FOO", "word", "nowhere"] {
        assert!(!metrics.contains(raw), "{raw} became a label:\n{metrics}");
    }
    let requests: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("portal_http_requests_total{"))
        .collect();
    assert!(
        requests
            .iter()
            .any(|l| l.contains("route=\"/api/admin/users/{id}/role\"")),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|l| l.contains("method=\"other\"") && l.contains("route=\"/api/reset/start\"")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn readiness_turns_false_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.store.pool.close().await;
    let r = reqwest::get(app.api("/readyz")).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let r = app.start_reset(&browser(), "anyone@example.com").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(r).await["error"], "unavailable");
}
