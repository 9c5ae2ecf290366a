//! Liveness, readiness and metrics: `GET /healthz`, `GET /readyz`, `GET /metrics`.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::outbox;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "alive" })) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Ready when the database answers and every migration is applied.
async fn readyz(State(st): State<AppState>) -> impl IntoResponse {
    let db = st.store.ping().await;
    let migrated = db && st.store.is_ready().await;
    let status = if migrated {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if migrated { "ready" } else { "not ready" },
            "database": if db { "reachable" } else { "unreachable" },
            "migrations": if migrated { "applied" } else { "pending" },
        })),
    )
}

///
/// The counters move with real accounts' mail, so in hidden mode they would tell an attacker
/// which addresses exist: with `PORTAL_METRICS_TOKEN` set, a scraper must send it as a bearer
/// token; without one, hidden mode serves no metrics at all.
async fn metrics(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    match &st.config.metrics_token {
        Some(token) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            if !crate::crypto::same(given, token.expose_secret()) {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "Send the metrics token as Authorization: Bearer <PORTAL_METRICS_TOKEN>.",
                ));
            }
        }
        None if st.config.hide_account_existence => {
            return Err(ApiError::not_found(
                "not_found",
                "Metrics are served only with PORTAL_METRICS_TOKEN set when account existence is hidden.",
            ));
        }
        None => {}
    }
    let now = st.now();
    let depth = async { outbox::depth(&mut *st.store.conn().await?, now).await };
    let (depth, oldest) = depth.await.unwrap_or((-1, -1));
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        st.metrics.render(depth, oldest),
    ))
}
