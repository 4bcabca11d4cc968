#![recursion_limit = "256"]
//! The Kassa server: configuration, the axum application around the leptos app, and the CLI's
//! commands. `main.rs` only parses arguments and calls into here; tests build the same app.

pub mod assets;
pub mod config;
pub mod direct_pages;
pub mod health;
pub mod http;
pub mod mailer;
pub mod page_cache;
pub mod sqlite_memory;
pub mod startup;
pub mod telemetry;

pub use config::Settings;
pub use startup::{build_router, open_database, AppState};
