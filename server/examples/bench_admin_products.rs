//! The admin product table at a real shop's size: p50/p99 per page kind (first page by each
//! sort, a deep keyset page, filters by status, collection and stock, a SKU search) through the
//! same `Admin::products` the page and the admin API call.
//!
//!   cargo run --release -p kassa --example bench_admin_products -- [DATABASE_URL] [products]

#[path = "common/timing.rs"]
mod timing;

use std::time::{Duration, Instant};

use app::admin::service::Admin;
use app::admin::ProductFilter;
use app::checkout::service::Checkout;
use app::db::Db;
use app::payments::gateway::Gateway;

const ITERATIONS: usize = 100;
const VARIANTS: i64 = 4;
const COLLECTIONS: i64 = 20;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().filter(|a| !a.is_empty());
    let products: i64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let url =
        url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("products.db").display()));
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    println!("database: {:?}", db.backend());
    let start = Instant::now();
    seed(&db, products).await?;
    println!(
        "seeded {products} products, {} variants in {:.1} s",
        products * VARIANTS,
        start.elapsed().as_secs_f64()
    );
    let admin = Admin::new(
        Checkout::new(db.clone(), Gateway::Test, "http://bench.invalid"),
        false,
    );

    // A cursor half-way down the title sort, found by paging there once.
    let mut deep = ProductFilter::default();
    let mut pages = 0;
    while pages < products / 2 / app::admin::PRODUCTS_PAGE {
        let list = admin.products(&deep).await?;
        deep.cursor = list.next_cursor.expect("more pages");
        pages += 1;
    }
    let filter = |f: fn(&mut ProductFilter)| {
        let mut filter = ProductFilter::default();
        f(&mut filter);
        filter
    };
    let deep_name: &str =
        Box::leak(format!("deep page by title (page {})", pages + 1).into_boxed_str());
    let scenarios = [
        ("first page by title", ProductFilter::default()),
        (
            "first page, recently edited",
            filter(|f| f.sort = "updated".into()),
        ),
        ("first page, newest", filter(|f| f.sort = "newest".into())),
        (deep_name, deep),
        ("status = draft", filter(|f| f.status = "draft".into())),
        ("collection c-7", filter(|f| f.collection = "c-7".into())),
        ("out of stock", filter(|f| f.stock = "out".into())),
        ("low stock, by title", filter(|f| f.stock = "low".into())),
        ("search by SKU", filter(|f| f.q = "sku-77777-2".into())),
        (
            "search by title word (many)",
            filter(|f| f.q = "merino".into()),
        ),
    ];
    for (name, filter) in scenarios {
        let mut times: Vec<Duration> = Vec::with_capacity(ITERATIONS);
        let mut rows = 0;
        for _ in 0..ITERATIONS {
            let start = Instant::now();
            let list = admin.products(&filter).await?;
            times.push(start.elapsed());
            rows = list.rows.len();
        }
        timing::report(name, rows, &mut times);
    }
    Ok(())
}

/// Products with four variants each: mostly active, some drafts, every 50th sold out, every
/// 7th low; each in one of twenty collections.
async fn seed(db: &Db, products: i64) -> anyhow::Result<()> {
    let now = app::db::now_epoch();
    let mut tx = db.pool().begin().await?;
    for c in 0..COLLECTIONS {
        sqlx::query(
            "INSERT INTO collections (id, slug, title, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(c + 1)
        .bind(format!("c-{c}"))
        .bind(format!("Collection {c}"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let words = [
        "Merino", "Linen", "Canvas", "Denim", "Fleece", "Cotton", "Wool", "Silk",
    ];
    let batch = 500;
    let mut id = 0;
    while id < products {
        let n = batch.min(products - id);
        let mut tx = db.pool().begin().await?;
        let mut rows = Vec::new();
        let mut variants = Vec::new();
        let mut members = Vec::new();
        for i in 0..n {
            let k = id + i + 1;
            let status = if k % 10 == 0 { "draft" } else { "active" };
            let title = format!("{} piece {k}", words[(k % words.len() as i64) as usize]);
            rows.push(format!(
                "({k}, 'p-{k}', '{title}', '{status}', {now}, {})",
                now - k
            ));
            for v in 0..VARIANTS {
                let on_hand = if k % 50 == 0 {
                    0
                } else if k % 7 == 0 {
                    2
                } else {
                    40
                };
                variants.push(format!(
                    "({k}, {v}, 'sku-{k}-{v}', 'S{v}', {}, 'EUR', {on_hand})",
                    1000 + (k % 90) * 100
                ));
            }
            members.push(format!("({}, {k}, {k})", k % COLLECTIONS + 1));
        }
        sqlx::query(&format!(
            "INSERT INTO products (id, slug, title, status, created_at, updated_at) VALUES {}",
            rows.join(", ")
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO variants (product_id, position, sku, option1, price_amount, currency, on_hand) VALUES {}",
            variants.join(", ")
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO collection_products (collection_id, product_id, position) VALUES {}",
            members.join(", ")
        ))
        .execute(&mut *tx)
        .await?;
        // The search documents, as an import writes them.
        let ids: Vec<i64> = (id + 1..=id + n).collect();
        app::catalog::ssr::refresh_search_documents(&mut tx, &ids).await?;
        tx.commit().await?;
        id += n;
    }
    Ok(())
}
