//! `GET /healthz`: is this instance able to serve? Checks the database with a real query, and
//! that the writer every change goes through is still running.

use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

use app::db::Db;

pub async fn healthz(State(db): State<Db>) -> (StatusCode, Json<Value>) {
    let database = db.ping().await;
    let writer = db.writes().is_running();
    match (database, writer) {
        (Ok(()), true) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": "ok", "writer": "ok" })),
        ),
        (database, writer) => {
            if let Err(error) = &database {
                tracing::warn!(%error, "health check failed: the database does not answer");
            }
            if !writer {
                tracing::error!("health check failed: the writer has stopped");
            }
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "unavailable",
                    "database": if database.is_ok() { "ok" } else { "unreachable" },
                    "writer": if writer { "ok" } else { "stopped" },
                })),
            )
        }
    }
}
