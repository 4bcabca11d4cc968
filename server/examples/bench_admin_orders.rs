//! The admin order list at 100,000 orders: p50/p99 for the first page, filtered pages and a
//! deep page (keyset pagination), through the same `Admin::list_orders` the page calls.
//!
//!   cargo run --release -p kassa --example bench_admin_orders -- [DATABASE_URL] [orders]

#[path = "common/timing.rs"]
mod timing;

use std::time::{Duration, Instant};

use app::admin::service::Admin;
use app::admin::OrderFilter;
use app::checkout::service::Checkout;
use app::db::Db;
use app::payments::gateway::Gateway;

const ITERATIONS: usize = 200;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().filter(|a| !a.is_empty());
    let orders: i64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let url = url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("orders.db").display()));
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    println!("database: {:?}", db.backend());
    let start = Instant::now();
    seed(&db, orders).await?;
    println!(
        "seeded {orders} orders in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let admin = Admin::new(
        Checkout::new(db.clone(), Gateway::Test, "http://bench.invalid"),
        false,
    );

    // A cursor half-way down the list, found by paging there once.
    let mut deep = OrderFilter::default();
    let mut pages = 0;
    while pages < orders / 2 / app::admin::orders::ORDERS_PER_PAGE {
        let list = admin.list_orders(&deep).await?;
        deep.cursor = list.next_cursor.expect("more pages");
        pages += 1;
    }
    let now = app::db::now_epoch();
    let scenarios = [
        ("first page", OrderFilter::default()),
        (
            "status = cancelled",
            OrderFilter {
                status: "cancelled".into(),
                ..OrderFilter::default()
            },
        ),
        (
            "last 30 days, paid",
            OrderFilter {
                status: "paid".into(),
                from: app::admin::format_date(now - 30 * 86_400),
                to: app::admin::format_date(now),
                ..OrderFilter::default()
            },
        ),
        (
            "search by email",
            OrderFilter {
                q: "customer77777@example.com".into(),
                ..OrderFilter::default()
            },
        ),
        (
            "search by name (many matches)",
            OrderFilter {
                q: "silva".into(),
                ..OrderFilter::default()
            },
        ),
        (
            "search by order number",
            OrderFilter {
                q: "#51000".into(),
                ..OrderFilter::default()
            },
        ),
        (
            &*Box::leak(format!("deep page (page {})", pages + 1).into_boxed_str()),
            deep,
        ),
    ];
    for (name, filter) in scenarios {
        let mut times: Vec<Duration> = Vec::with_capacity(ITERATIONS);
        let mut rows = 0;
        for _ in 0..ITERATIONS {
            let start = Instant::now();
            let list = admin.list_orders(&filter).await?;
            times.push(start.elapsed());
            rows = list.rows.len();
        }
        timing::report(name, rows, &mut times);
    }
    Ok(())
}

/// Orders over the last year: mostly paid, some of every other state.
async fn seed(db: &Db, orders: i64) -> anyhow::Result<()> {
    let now = app::db::now_epoch();
    let names = [
        "Erika Mustermann",
        "John Doe",
        "Ana Silva",
        "Kenji Sato",
        "Amara Obi",
        "Lena Novak",
    ];
    let batch = 500;
    let mut id = 0;
    while id < orders {
        let mut tx = db.pool().begin().await?;
        let n = batch.min(orders - id);
        let mut sql = String::from(
            "INSERT INTO orders (access_token, idempotency_key, request_hash, email, status, currency, subtotal_amount, \
             shipping_amount, tax_amount, total_amount, prices_include_tax, shipping_code, shipping_name, address_json, \
             gateway, created_at, updated_at, paid_at, search_text) VALUES ",
        );
        for i in 0..n {
            if i > 0 {
                sql.push_str(", ");
            }
            let k = id + i + 1;
            let status = match k % 100 {
                0..=4 => "pending_payment",
                5..=9 => "payment_failed",
                10..=12 => "cancelled",
                13..=14 => "expired",
                _ => "paid",
            };
            let name = names[(k % names.len() as i64) as usize];
            let email = format!("customer{k}@example.com");
            let created = now - 365 * 86_400 + k * (365 * 86_400 / orders);
            let address = format!(
                r#"{{"name":"{name}","line1":"Street {k}","city":"Berlin","postal_code":"10115","country":"DE"}}"#
            );
            sql.push_str(&format!(
                "('{k:032x}', 'bench-{k}', '', '{email}', '{status}', 'EUR', 4990, 490, 875, 5480, 1, 'de-standard', \
                 'Standard', '{address}', 'test', {created}, {created}, {paid}, '{search}')",
                paid = if status == "paid" { created.to_string() } else { "NULL".into() },
                search = format!("{email} {name}").to_lowercase(),
            ));
        }
        sqlx::query(&sql).execute(&mut *tx).await?;
        tx.commit().await?;
        id += n;
    }
    Ok(())
}
