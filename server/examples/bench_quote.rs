//! Quote benchmark: the server's work to price a 20-line cart with 50 automatic discounts on,
//! beside the same quote with none in the same run, and the discount rules alone. Quotes go
//! through the same `Checkout::quote` the API and the cart page call (HTTP and JSON left out).
//!
//!   cargo run --release -p kassa --example bench_quote -- [DATABASE_URL] [quotes]
//!
//! Without a URL it uses a fresh SQLite file in a temporary directory.

#[path = "common/timing.rs"]
mod timing;

use std::time::{Duration, Instant};

use app::checkout::service::Checkout;
use app::checkout::{Destination, LineRequest, QuoteRequest};
use app::db::Db;
use app::payments::gateway::Gateway;
use app::promotions::discounts::{self, Kind, Selection};

const LINES: i64 = 20;
const DISCOUNTS: i64 = 50;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().filter(|a| !a.is_empty());
    let quotes: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2_000);
    let dir = tempfile::tempdir()?;
    let url = url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    println!(
        "database: {:?} ({})",
        db.backend(),
        app::db::redact_url(&url)
    );
    seed_catalog(&db).await?;
    let checkout = Checkout::new(db.clone(), Gateway::Test, "http://bench.invalid");
    let request = QuoteRequest {
        lines: (1..=LINES)
            .map(|id| LineRequest {
                variant_id: id,
                quantity: (id % 3 + 1) as u32,
                seen_price: None,
            })
            .collect(),
        shipping_address: Some(Destination {
            country: "DE".into(),
            region: String::new(),
        }),
        shipping_method: None,
        discount_codes: Vec::new(),
        email: None,
        gift_cards: Vec::new(),
    };

    let mut plain = run(&checkout, &request, quotes).await?;
    timing::report("quote, 20 lines, no discounts", quotes, &mut plain);
    seed_discounts(&db).await?;
    checkout.forget_rules().await;
    let mut with = run(&checkout, &request, quotes).await?;
    let quote = checkout
        .quote(request.clone(), None, "bench")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    timing::report("quote, 20 lines, 50 automatic discounts", quotes, &mut with);
    println!(
        "  applied: {} ({} off {})",
        quote
            .discounts
            .iter()
            .map(|d| d.title.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        quote.discount_total,
        quote.subtotal
    );
    println!(
        "  discounts' share of a quote: p50 {:.3} ms",
        timing::quantile_ms(&mut with, 0.5) - timing::quantile_ms(&mut plain, 0.5)
    );

    // The rules alone, on the same cart and offers (no database, no cache).
    let offers = app::promotions::store::automatic(db.pool(), app::db::now_epoch()).await?;
    let automatic: Vec<_> = offers.iter().map(|o| o.discount.clone()).collect();
    let cart = discounts::Cart {
        lines: (1..=LINES)
            .map(|id| discounts::Line {
                variant_id: id,
                product_id: id,
                collections: vec![id % 5 + 1],
                unit_price: 1_000 + id * 137,
                quantity: (id % 3 + 1) as u32,
            })
            .collect(),
        shipping: 490,
        country: "DE".into(),
        rate_bp: 1900,
        prices_include_tax: true,
        currency: app::money::Currency::EUR,
    };
    let mut rules = Vec::with_capacity(quotes);
    for _ in 0..quotes {
        let start = Instant::now();
        let outcome = discounts::apply(&cart, &[], &automatic);
        std::hint::black_box(outcome);
        rules.push(start.elapsed());
    }
    timing::report(
        "discount rules alone, 20 lines, 50 offers",
        quotes,
        &mut rules,
    );
    Ok(())
}

async fn run(
    checkout: &Checkout,
    request: &QuoteRequest,
    quotes: usize,
) -> anyhow::Result<Vec<Duration>> {
    // Warm up: rules and automatic discounts cached, connections open.
    for _ in 0..20 {
        checkout
            .quote(request.clone(), None, "bench")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut times = Vec::with_capacity(quotes);
    for _ in 0..quotes {
        let request = request.clone();
        let start = Instant::now();
        checkout
            .quote(request, None, "bench")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(start.elapsed());
    }
    Ok(times)
}

/// 20 products of one variant each, in 5 collections.
async fn seed_catalog(db: &Db) -> anyhow::Result<()> {
    let mut tx = db.pool().begin().await?;
    let now = app::db::now_epoch();
    for c in 1..=5i64 {
        sqlx::query(
            "INSERT INTO collections (id, slug, title, created_at, updated_at) VALUES ($1, $2, $2, $3, $3)",
        )
        .bind(c)
        .bind(format!("c{c}"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for id in 1..=LINES {
        sqlx::query(
            "INSERT INTO products (id, slug, title, status, created_at, updated_at) \
             VALUES ($1, $2, $2, 'active', $3, $3)",
        )
        .bind(id)
        .bind(format!("p{id}"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO variants (id, product_id, sku, price_amount, currency, on_hand) \
             VALUES ($1, $1, $2, $3, 'EUR', 1000)",
        )
        .bind(id)
        .bind(format!("SKU-{id}"))
        .bind(1_000 + id * 137)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO collection_products (collection_id, product_id, position) VALUES ($1, $2, 0)",
        )
        .bind(id % 5 + 1)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// 50 automatic discounts of every kind, some about collections, some with minimums.
async fn seed_discounts(db: &Db) -> anyhow::Result<()> {
    let mut tx = db.pool().begin().await?;
    for i in 0..DISCOUNTS {
        let collection = Selection {
            products: vec![],
            collections: vec![i % 5 + 1],
        };
        let kind = match i % 5 {
            0 => Kind::ProductPercent {
                percent_bp: 500 + (i as u32) * 10,
                on: collection,
            },
            1 => Kind::OrderAmount {
                amount: 200 + i * 10,
            },
            2 => Kind::OrderPercent {
                percent_bp: 300 + (i as u32) * 5,
            },
            3 => Kind::FreeShipping {
                countries: vec!["DE".into()],
                max_rate: None,
            },
            _ => Kind::BuyXGetY {
                buy: collection.clone(),
                buy_quantity: 2,
                get: collection,
                get_quantity: 1,
                percent_bp: 5_000,
                max_uses: Some(2),
            },
        };
        sqlx::query(
            "INSERT INTO discounts (title, kind, rule_json, minimum_subtotal, combines_product, \
             combines_order, combines_shipping, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5, 1, 0, 0)",
        )
        .bind(format!("Offer {i}"))
        .bind(kind.name())
        .bind(serde_json::to_string(&kind)?)
        .bind((i % 4 == 0).then_some(10_000 + i * 100))
        .bind(i64::from(i % 2 == 0))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
