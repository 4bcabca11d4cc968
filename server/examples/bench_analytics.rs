//! Analytics at a busy shop's size: how fast events are written (the collector's batches, as a
//! running server writes them each second), and p50/p99 of every report over 90 days of
//! 1,000,000 events and 20,000 paid orders (after ten unmeasured calls per report, which warm
//! the pooled connections as a running server's are).
//!
//!   cargo run --release -p kassa --example bench_analytics -- [DATABASE_URL] [events]

#[path = "common/timing.rs"]
mod timing;

use std::time::{Duration, Instant};

use app::analytics::collector::{Analytics, Event, Kind, Who};
use app::analytics::reports::{self, Scope};
use app::analytics::{DateRange, Source};
use app::db::{Db, Sql};
use app::money::Currency;
use app::write_queue::JobFuture;

const ITERATIONS: usize = 100;
const DAYS: i64 = 90;
const ORDERS: i64 = 20_000;
/// Events handed to the writer at a time: about what a second brings at this rate.
const BATCH: usize = 5_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().filter(|a| !a.is_empty());
    let events: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let url =
        url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("analytics.db").display()));
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    app::catalog::demo::seed_demo_catalog(&db).await?;
    println!("database: {:?}", db.backend());
    let variants: Vec<i64> = sqlx::query_scalar("SELECT id FROM variants ORDER BY id")
        .fetch_all(db.pool())
        .await?;
    let now = app::db::now_epoch();
    let first = now - DAYS * 86_400;

    // Ingest: events in time order over the 90 days, the mix of a shop (mostly page views).
    let analytics = Analytics::new(db.clone());
    let start = Instant::now();
    let step = (DAYS * 86_400) as f64 / events as f64;
    for i in 0..events {
        let at = first + (i as f64 * step) as i64;
        // About 5 page views per visitor and day: 200,000 visitor-days in all.
        let visitor = (i / 5) % 40_000;
        let who = if i % 50 == 0 {
            Who::Untracked
        } else {
            Who::Visitor {
                address_prefix: format!("10.{}.{}.0/24", visitor / 256, visitor % 256),
                family: if visitor % 3 == 0 {
                    "firefox"
                } else {
                    "chrome"
                },
            }
        };
        let variant = variants[i % variants.len()];
        let mut event = match i % 20 {
            0..=11 => Event::new(at, Kind::PageView, who),
            12..=15 => {
                let mut e = Event::new(at, Kind::PageView, who);
                e.variant_id = Some(variant);
                e
            }
            16 | 17 => {
                let mut e = Event::new(at, Kind::AddToCart, who);
                e.variant_id = Some(variant);
                e
            }
            18 => Event::new(at, Kind::CheckoutStarted, who),
            _ => {
                let mut e = Event::new(at, Kind::PageView, who);
                e.query = Some(format!("search {}", i % 700));
                e.results = Some((i % 7) as i64);
                e
            }
        };
        event.path = Some("/".into());
        if i % 5 == 0 {
            event.landing = Some(Source {
                source: ["google.com", "direct", "newsletter", "t.co"][i % 4].into(),
                medium: ["search", "(none)", "email", "social"][i % 4].into(),
                campaign: String::new(),
            });
        }
        analytics.record(event);
        if (i + 1) % BATCH == 0 {
            analytics.flush().await?;
        }
    }
    analytics.flush().await?;
    let took = start.elapsed().as_secs_f64();
    println!(
        "ingested {events} events in {took:.1} s: {:.0} events/s",
        events as f64 / took
    );

    seed_orders(&db, &variants, first, now).await?;
    println!("seeded {ORDERS} paid orders");

    let clock = reports::clock(&db).await?;
    // The 90 days up to today, in the shop's time zone.
    let range = DateRange {
        from: clock.today(now - (DAYS - 1) * 86_400),
        to: clock.today(now),
    };
    let scope = Scope::new(range, clock, Currency::parse("EUR")?);
    macro_rules! measure {
        ($name:expr, $call:expr) => {{
            let mut times: Vec<Duration> = Vec::with_capacity(ITERATIONS);
            // Ten calls first, unmeasured: every pooled connection the calls take turns on has
            // prepared the report's statements and read its pages once, as in a server that runs.
            let mut rows = $call;
            for _ in 0..9 {
                rows = $call;
            }
            for _ in 0..ITERATIONS {
                let start = Instant::now();
                rows = $call;
                times.push(start.elapsed());
            }
            timing::report($name, rows, &mut times);
        }};
    }
    measure!("summary (90 days)", {
        reports::summary(&db, &scope).await?;
        1
    });
    measure!("funnel", reports::funnel(&db, &scope).await?.steps.len());
    measure!("days", reports::days(&db, &scope).await?.len());
    measure!("products", reports::products(&db, &scope).await?.len());
    measure!("searches", reports::searches(&db, &scope).await?.len());
    measure!("sources", reports::sources(&db, &scope).await?.len());
    measure!("discounts", reports::discounts(&db, &scope).await?.len());
    Ok(())
}

/// Paid orders spread over the days, one line each, a thousand per statement.
async fn seed_orders(db: &Db, variants: &[i64], first: i64, now: i64) -> anyhow::Result<()> {
    let variants = variants.to_vec();
    db.writes()
        .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(async move {
                for block in (1..=ORDERS).collect::<Vec<_>>().chunks(1_000) {
                    let mut orders = Sql::default();
                    orders.push(
                        "INSERT INTO orders (id, access_token, request_hash, email, total_amount, paid_at, source, \
                         status, currency, subtotal_amount, shipping_amount, tax_amount, prices_include_tax, \
                         shipping_code, shipping_name, address_json, gateway, created_at, updated_at) VALUES ",
                    );
                    let mut lines = Sql::default();
                    lines.push(
                        "INSERT INTO order_lines (order_id, variant_id, sku, title, variant_title, quantity, \
                         unit_price_amount, tax_amount, total_amount) VALUES ",
                    );
                    for (i, n) in block.iter().copied().enumerate() {
                        if i > 0 {
                            orders.push(", ");
                            lines.push(", ");
                        }
                        let at = first + n * (now - first) / ORDERS;
                        orders.push("(").bind(n).push(", ").bind(format!("bench-token-{n}"));
                        orders.push(", 'bench', ").bind(format!("shopper{}@example.com", n % 5_000));
                        orders.push(", 2500, ").bind(at).push(", ");
                        orders.bind(["google.com", "direct"][(n % 2) as usize]);
                        orders.push(", 'paid', 'EUR', 2500, 0, 0, 1, 'standard', 'Standard', '{}', 'test', 0, 0)");
                        lines.push("(").bind(n).push(", ");
                        lines.bind(variants[n as usize % variants.len()]);
                        lines.push(", 'SKU', 'Product', '', 1, 2500, 0, 2500)");
                    }
                    orders.query().execute(&mut *conn).await?;
                    lines.query().execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
        .await?;
    Ok(())
}
