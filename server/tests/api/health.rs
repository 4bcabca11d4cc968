use crate::helpers::{spawn_app, spawn_empty_app, Backend};
use crate::on_both_databases;

async fn healthz_checks_the_database(backend: Backend) {
    let app = spawn_empty_app(backend).await;

    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");

    // With the database gone, the instance must say it cannot serve.
    app.db.close().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 503);
}

async fn healthz_fails_when_the_writer_stops(backend: Backend) {
    let app = spawn_empty_app(backend).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.db.writes().stop();
    // The writer ends as soon as it sees the signal.
    let mut status = 0;
    for _ in 0..50 {
        status = app.get("/healthz").await.status().as_u16();
        if status == 503 || backend == Backend::Postgres {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    match backend {
        // Postgres has no writer task: each write is its own transaction in its caller.
        Backend::Postgres => assert_eq!(status, 200),
        Backend::Sqlite => {
            assert_eq!(status, 503);
            let body: serde_json::Value = app.get("/healthz").await.json().await.unwrap();
            assert_eq!(body["writer"], "stopped");
        }
    }
}

/// A job that panics (a bug in one write) fails alone: its writes are rolled back, its caller
/// gets an error, and every later write still works.
async fn a_panicking_write_fails_alone_and_the_writer_goes_on(backend: Backend) {
    let app = spawn_empty_app(backend).await;
    let panicking = app
        .db
        .writes()
        .run(|conn| -> app::write_queue::JobFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(async move {
                sqlx::query("INSERT INTO audit_log (actor, action, subject, created_at) VALUES ('test', 'half', 'x', 0)")
                    .execute(&mut *conn)
                    .await?;
                let fields: Vec<&str> = Vec::new();
                panic!("a bug in a write job: {}", fields[3]);
            })
        })
        .await;
    assert!(panicking.is_err(), "the panicking job reports an error");
    let half_written: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'half'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(
        half_written, 0,
        "the panicking job's writes are rolled back"
    );

    let later = app
        .db
        .writes()
        .run(|conn| -> app::write_queue::JobFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(async move {
                sqlx::query("INSERT INTO audit_log (actor, action, subject, created_at) VALUES ('test', 'later', 'x', 0)")
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await;
    assert!(later.is_ok(), "the writer goes on: {later:?}");
    assert_eq!(app.get("/healthz").await.status(), 200);
}

async fn migrations_create_the_catalog_schema_and_are_idempotent(backend: Backend) {
    let app = spawn_empty_app(backend).await;
    app.db
        .migrate()
        .await
        .expect("running migrations twice is a no-op");
    for table in [
        "products",
        "variants",
        "product_images",
        "product_options",
        "product_tags",
        "collections",
        "collection_products",
    ] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(app.db.pool())
            .await
            .unwrap_or_else(|e| panic!("table {table}: {e}"));
        assert_eq!(count, 0, "{table} starts empty");
    }
}

async fn stock_can_never_go_negative(backend: Backend) {
    let app = spawn_app(backend).await;
    let result =
        sqlx::query("UPDATE variants SET on_hand = -1 WHERE id = (SELECT MIN(id) FROM variants)")
            .execute(app.db.pool())
            .await;
    // Refused by the CHECK constraint itself, not by any other error.
    let error = result.expect_err("the CHECK constraint must reject negative stock");
    let refused = error
        .as_database_error()
        .unwrap_or_else(|| panic!("a database refusal, not {error}"));
    let check_violation = match backend {
        Backend::Postgres => refused.code().as_deref() == Some("23514"),
        Backend::Sqlite => refused.message().contains("CHECK constraint failed"),
    };
    assert!(check_violation, "not a CHECK violation: {refused}");
}

async fn the_demo_seed_fills_the_catalog(backend: Backend) {
    let app = spawn_app(backend).await;
    let products: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products WHERE status = 'active'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(products >= 50, "only {products} products");
    let without_variants: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM products p WHERE NOT EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id)",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(without_variants, 0);
    let without_images: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM products p WHERE NOT EXISTS (SELECT 1 FROM product_images i WHERE i.product_id = p.id)",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(without_images, 0);
    let variants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM variants")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(variants > products, "products have several variants");
    let collections: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM collections")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(collections >= 5);
}

on_both_databases!(
    healthz_checks_the_database,
    healthz_fails_when_the_writer_stops,
    a_panicking_write_fails_alone_and_the_writer_goes_on,
    migrations_create_the_catalog_schema_and_are_idempotent,
    stock_can_never_go_negative,
    the_demo_seed_fills_the_catalog,
);

/// Postgres ends the server's connections while they sit in the pool (a restart, a proxy's idle
/// timeout): the pool checks a connection left unused before handing it out, and replaces it,
/// so no shopper gets an error for it.
mod postgres_cuts_idle_connections {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pages_still_answer() {
        crate::helpers::within_time_limit(super::pages_answer_after_idle_connections_are_cut())
            .await
    }
}

async fn pages_answer_after_idle_connections_are_cut() {
    use sqlx::Connection;
    let app = spawn_app(Backend::Postgres).await;
    let pages = [
        "/",
        "/collections/home",
        "/search?q=mug",
        "/api/v1/products",
    ];
    // Every page at once, so that the pool holds several connections.
    let answers = futures::future::join_all(pages.iter().map(|path| app.get(path))).await;
    assert!(answers.iter().all(|a| a.status() == 200));

    let mut admin = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let cut: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!cut.is_empty(), "the server had connections to cut");
    // Long enough for each to count as idle.
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;

    for round in 0..2 {
        let answers = futures::future::join_all(pages.iter().map(|path| app.get(path))).await;
        for (path, answer) in pages.iter().zip(answers) {
            assert_eq!(answer.status(), 200, "{path}, round {round}");
        }
    }
}

/// A read planned once (`db::planned_once`: the home page's newest products, a search's tiers)
/// tells Postgres to keep a generic plan for its own transaction alone: left unfinished, as a
/// render cancelled by a closed connection leaves it, the pooled connection goes back to
/// planning as before and to writing.
mod postgres_plans_once {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_inside_the_read() {
        crate::helpers::within_time_limit(super::plan_mode_stays_inside_the_read()).await
    }
}

async fn plan_mode_stays_inside_the_read() {
    let app = spawn_empty_app(Backend::Postgres).await;
    let mut conn = app.db.reader().await.unwrap();
    let setting = |name: &'static str| sqlx::query_scalar::<_, String>(name);
    {
        let mut read = app::db::planned_once(&mut conn).await.unwrap();
        let mode = setting("SHOW plan_cache_mode")
            .fetch_one(&mut *read)
            .await
            .unwrap();
        assert_eq!(mode, "force_generic_plan");
        let read_only = setting("SHOW transaction_read_only")
            .fetch_one(&mut *read)
            .await
            .unwrap();
        assert_eq!(read_only, "on");
        // Dropped here, neither committed nor rolled back.
    }
    let mode = setting("SHOW plan_cache_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(mode, "auto", "the plan mode outlived the read");
    let read_only = setting("SHOW transaction_read_only")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        read_only, "off",
        "the connection is still in the read's transaction"
    );
    sqlx::query("CREATE TEMPORARY TABLE written_after (x INTEGER)")
        .execute(&mut *conn)
        .await
        .unwrap();
}
