//! `GET /healthz`: is this instance able to serve? Checks the database with a real query.

use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

use app::db::Db;

pub async fn healthz(State(db): State<Db>) -> (StatusCode, Json<Value>) {
    match db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": "ok" })),
        ),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "unreachable" })),
            )
        }
    }
}
