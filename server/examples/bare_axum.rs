//! The ceiling for the catalog benchmark: a bare axum handler on the same machine, runtime and
//! HTTP stack as Kassa, answering a fixed page with no database and no rendering.
//! `scripts/bench-catalog.sh` runs it beside the real server.

use axum::{response::Html, routing::get, Router};

const PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Bare</title></head><body><h1>Hello</h1></body></html>";

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3200".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    let app = Router::new().route("/", get(|| async { Html(PAGE) }));
    axum::serve(listener, app).await.expect("serve");
}
