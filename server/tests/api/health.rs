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
    assert!(
        result.is_err(),
        "the CHECK constraint must reject negative stock"
    );
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
    migrations_create_the_catalog_schema_and_are_idempotent,
    stock_can_never_go_negative,
    the_demo_seed_fills_the_catalog,
);
