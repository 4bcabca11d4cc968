//! Pages cost a constant number of SQL statements, however many products, variants or images
//! they show: no query per row (N+1). A test binary of its own, because it counts every
//! statement the process runs through a global tracing subscriber.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::sync::atomic::{AtomicUsize, Ordering};

use helpers::{spawn_app, Backend};
use tracing::{Event, Subscriber};
use tracing_subscriber::{layer::Context, layer::SubscriberExt, Layer, Registry};

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

/// Counts sqlx's per-statement log events.
struct CountStatements;

impl<S: Subscriber> Layer<S> for CountStatements {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut statement = StatementText(String::new());
        event.record(&mut statement);
        // Per-connection set-up (SQLite PRAGMAs) happens whenever the pool opens a connection,
        // not because of the page.
        if !statement
            .0
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("PRAGMA")
        {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

struct StatementText(String);

impl tracing::field::Visit for StatementText {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "summary" || field.name() == "db.statement" {
            self.0.push_str(value);
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" || field.name() == "db.statement" {
            self.0.push_str(format!("{value:?}").trim_matches('"'));
        }
    }
}

async fn statements_for(app: &helpers::TestApp, path: &str) -> usize {
    let get = || async move {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    };
    // Warm up first, so opening a pooled connection (and its PRAGMAs) is not counted.
    get().await;
    least_of_three(get).await
}

/// The fewest statements counted while `run` ran, of three runs. The counter is the whole
/// process's, and work behind an earlier request now and then lands in one run: its page view
/// flushed in the background (a Postgres product page once counted 7 instead of 6), an
/// order's confirmation sent by the mail worker (a full run once failed for a checkout
/// counted once).
async fn least_of_three<F: std::future::Future<Output = ()>>(run: impl Fn() -> F) -> usize {
    let mut least = usize::MAX;
    for _ in 0..3 {
        let before = STATEMENTS.load(Ordering::SeqCst);
        run().await;
        least = least.min(STATEMENTS.load(Ordering::SeqCst) - before);
    }
    least
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_run_a_constant_number_of_statements() {
    tracing::subscriber::set_global_default(Registry::default().with(CountStatements))
        .expect("no other subscriber");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(backend).await;

        // A product with 15 variants and 3 images costs what one with 1 variant does.
        let big = statements_for(&app, "/products/ridge-fleece-hoodie").await;
        let small = statements_for(&app, "/products/terracotta-classic-pot").await;
        assert_eq!(
            big, small,
            "{backend:?}: product page statements depend on its size"
        );
        // Product, variants, its option names, pictures and tags, and the recommendations.
        assert!(big <= 4, "{backend:?}: {big} statements for a product page");

        // A full page of 24 products costs what a page of a few does.
        let full = statements_for(&app, "/collections/home").await;
        let few = statements_for(&app, "/collections/stationery").await;
        assert_eq!(
            full, few,
            "{backend:?}: collection page statements depend on its size"
        );
        assert!(
            full <= 4,
            "{backend:?}: {full} statements for a collection page"
        );

        // With the catalog's memory (the default; the tests' servers keep none), a page read
        // once is rendered again without a statement until the catalog changes.
        let remembering = helpers::spawn_app_with(
            backend,
            helpers::Options {
                catalog_memory_mb: 8,
                ..helpers::Options::default()
            },
        )
        .await;
        for path in ["/products/ridge-fleece-hoodie", "/collections/home", "/"] {
            let again = statements_for(&remembering, path).await;
            assert_eq!(
                again, 0,
                "{backend:?}: {again} statements for {path} kept in memory"
            );
        }

        let home = statements_for(&app, "/").await;
        assert!(
            home <= 3,
            "{backend:?}: {home} statements for the home page"
        );

        let api_full = statements_for(&app, "/api/v1/products?limit=50").await;
        let api_few = statements_for(&app, "/api/v1/products?limit=2").await;
        assert_eq!(
            api_full, api_few,
            "{backend:?}: API statements depend on page size"
        );
        println!("{backend:?}: product {big}, collection {full}, home {home}, API list {api_full}");

        // Checkout: at most 12 statements, transaction control included, for one or two lines.
        let variants: Vec<i64> = sqlx::query_scalar(
            "SELECT v.id FROM variants v JOIN products p ON p.id = v.product_id \
             WHERE p.status = 'active' AND v.on_hand > 20 ORDER BY v.id LIMIT 3",
        )
        .fetch_all(app.db.pool())
        .await
        .unwrap();
        let one = checkout_statements(&app, &[variants[0]], &[]).await;
        let two = checkout_statements(&app, &[variants[1], variants[2]], &[]).await;
        assert!(
            one <= 12,
            "{backend:?}: {one} statements for a one-line checkout"
        );
        assert!(
            two <= 12,
            "{backend:?}: {two} statements for a two-line checkout"
        );
        println!("{backend:?}: checkout with one line {one}, with two lines {two}");

        // A discount code adds three: the code read, its use taken, the use recorded.
        sqlx::query(
            "INSERT INTO discounts (title, code, code_key, kind, rule_json, created_at, updated_at) \
             VALUES ('Ten', 'TEN', 'ten', 'percentage', '{\"OrderPercent\":{\"percent_bp\":1000}}', 0, 0)",
        )
        .execute(app.db.pool())
        .await
        .unwrap();
        let with_code = checkout_statements(&app, &[variants[0]], &["TEN"]).await;
        assert!(
            with_code <= one + 3,
            "{backend:?}: {with_code} statements for a one-line checkout with a code"
        );
        println!("{backend:?}: checkout with one line and a discount code {with_code}");
    }
}

async fn checkout_statements(app: &helpers::TestApp, variants: &[i64], codes: &[&str]) -> usize {
    let body = serde_json::json!({
        "discount_codes": codes,
        "email": "count@example.com",
        "shipping_address": {"name": "C", "line1": "Street 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "lines": variants.iter().map(|id| serde_json::json!({"variant_id": id, "quantity": 1})).collect::<Vec<_>>(),
        "payment": {"gateway": "test", "token": "pm_card_visa"}
    });
    let order = || {
        let body = &body;
        async move {
            let key = app::checkout::service::random_token();
            let (status, answer) = app
                .post_json("/api/v1/checkout", body, &[("Idempotency-Key", &key)])
                .await;
            assert_eq!(status, 201, "{answer}");
        }
    };
    // Warm up: the shop's rules are read once and cached; connections open.
    order().await;
    least_of_three(order).await
}
