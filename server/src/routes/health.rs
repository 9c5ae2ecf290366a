//! Liveness, readiness and metrics: `GET /healthz`, `GET /readyz`, `GET /metrics`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

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
    let status = if db && migrated {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if status == StatusCode::OK { "ready" } else { "not ready" },
            "database": if db { "reachable" } else { "unreachable" },
            "migrations": if migrated { "applied" } else { "pending" },
        })),
    )
}

async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    let now = st.now();
    let (depth, oldest) = match st.store.conn().await {
        Ok(mut c) => outbox::depth(&mut c, now).await.unwrap_or((-1, -1)),
        Err(_) => (-1, -1),
    };
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        st.metrics.render(depth, oldest),
    )
}
