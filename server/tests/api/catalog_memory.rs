//! The catalog pages' data kept in memory (`catalog::memory`): read once, forgotten when the
//! catalog changes, here at once and on the other servers of the database within a second or
//! two. The page cache is off in these servers: every page is rendered.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::checkout::{order_body, variant_with_stock};
use crate::discounts::product_slug;
use crate::helpers::{spawn_app_with, Backend, Options, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_variant_sold_out_here_shows_as_such_at_once,
    a_change_committed_elsewhere_shows_within_seconds,
    only_sales_that_change_what_a_page_shows_change_the_catalog,
);

/// A server keeping the catalog pages' data, as by default (tests' servers keep none).
async fn spawn_remembering(backend: Backend, database_url: Option<String>) -> TestApp {
    spawn_app_with(
        backend,
        Options {
            seed_demo: database_url.is_none(),
            catalog_memory_mb: 8,
            database_url,
            ..Options::default()
        },
    )
    .await
}

async fn product(app: &TestApp, slug: &str) -> Value {
    let (status, product) = app
        .post_json("/api/catalog/product", &json!({ "slug": slug }), &[])
        .await;
    assert_eq!(status, 200, "{product}");
    product
}

fn units(product: &Value, variant: i64) -> i64 {
    product["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == variant)
        .map(|v| v["available"].as_i64().unwrap())
        .expect("the variant is on its page")
}

fn available(product: &Value, variant: i64) -> bool {
    units(product, variant) > 0
}

async fn buy(app: &TestApp, variant: i64, quantity: u32) {
    let (status, placed) = app
        .post_json(
            "/api/v1/checkout",
            &order_body(&[(variant, quantity)], "pm_card_visa"),
            &[("Idempotency-Key", &app::checkout::service::random_token())],
        )
        .await;
    assert_eq!(status, 201, "{placed}");
}

async fn catalog_version(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT version FROM catalog_version")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

/// A write straight to the database, as another program would make it: no server hears of it.
async fn retitle_unheard(app: &TestApp, slug: &str, title: &str) {
    sqlx::query("UPDATE products SET title = $1 WHERE slug = $2")
        .bind(title)
        .bind(slug)
        .execute(app.db.pool())
        .await
        .unwrap();
}

async fn a_variant_sold_out_here_shows_as_such_at_once(backend: Backend) {
    let app = spawn_remembering(backend, None).await;
    let (variant, _) = variant_with_stock(&app, 0, 1).await;
    let slug = product_slug(&app, variant).await;
    let before = product(&app, &slug).await;
    assert!(available(&before, variant));

    // Kept: a change no server heard of does not show...
    retitle_unheard(&app, &slug, "Renamed Quietly").await;
    assert_eq!(product(&app, &slug).await["title"], before["title"]);

    // ...until the catalog changes: the last unit sold shows on the very next page.
    buy(&app, variant, 1).await;
    let after = product(&app, &slug).await;
    assert!(!available(&after, variant), "sold out: {after}");
    assert_eq!(after["title"], "Renamed Quietly");
}

/// A page says "In stock" above a few units, and how many are left below: selling one of many
/// changes nothing shown (and checkouts do not all update the one version row), selling down
/// to a few does, at once.
async fn only_sales_that_change_what_a_page_shows_change_the_catalog(backend: Backend) {
    let app = spawn_remembering(backend, None).await;
    let (variant, _) = variant_with_stock(&app, 0, 20).await;
    let slug = product_slug(&app, variant).await;
    assert_eq!(units(&product(&app, &slug).await, variant), 20);
    let version = catalog_version(&app).await;
    buy(&app, variant, 1).await;
    assert_eq!(
        catalog_version(&app).await,
        version,
        "19 left: still in stock"
    );
    buy(&app, variant, 14).await;
    assert_eq!(catalog_version(&app).await, version + 1);
    assert_eq!(units(&product(&app, &slug).await, variant), 5);
    buy(&app, variant, 1).await;
    assert_eq!(units(&product(&app, &slug).await, variant), 4);
}

/// Another process (an import from the command line, another server) moves the catalog's
/// version on in the same transaction as its change; each server reads it every second.
async fn a_change_committed_elsewhere_shows_within_seconds(backend: Backend) {
    let app = spawn_remembering(backend, None).await;
    let (variant, _) = variant_with_stock(&app, 0, 5).await;
    let slug = product_slug(&app, variant).await;
    product(&app, &slug).await;
    retitle_unheard(&app, &slug, "Renamed Elsewhere").await;
    sqlx::query("UPDATE catalog_version SET version = version + 1")
        .execute(app.db.pool())
        .await
        .unwrap();
    eventually_titled(&app, &slug, "Renamed Elsewhere").await;
}

async fn eventually_titled(app: &TestApp, slug: &str, title: &str) {
    let started = Instant::now();
    while product(app, slug).await["title"] != title {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the server still shows what it kept"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Several servers on one Postgres database: a sale through one that sells a variant out shows
/// on the others' pages within a second or two.
mod several_servers {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sale_on_one_server_shows_on_every_servers_pages() {
        crate::helpers::within_time_limit(super::a_sale_shows_on_every_server()).await
    }
}

async fn a_sale_shows_on_every_server() {
    let selling = spawn_remembering(Backend::Postgres, None).await;
    let serving = spawn_remembering(Backend::Postgres, Some(selling.database_url.clone())).await;
    let (variant, _) = variant_with_stock(&selling, 0, 1).await;
    let slug = product_slug(&selling, variant).await;
    assert!(available(&product(&serving, &slug).await, variant));
    buy(&selling, variant, 1).await;
    let started = Instant::now();
    while available(&product(&serving, &slug).await, variant) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the other server still offers the sold-out variant"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
