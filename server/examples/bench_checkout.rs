//! Checkout benchmark: durable orders per second and latency (p50/p99), uncontended and on one
//! hot variant, with the SQL statements of one checkout counted and the disk's fsync rate
//! measured in the same run. Orders go through the same `Checkout::place_order` the API calls
//! (test gateway, card succeeds), so each one is a paid order, committed and fsynced before the
//! call returns. HTTP and JSON are left out: they are the catalog benchmark's subject.
//!
//!   cargo run --release -p kassa --example bench_checkout -- [DATABASE_URL] [seconds]
//!
//! Without a URL it uses a fresh SQLite file in a temporary directory.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::checkout::service::Checkout;
use app::checkout::{CheckoutRequest, LineRequest};
use app::db::Db;
use app::payments::gateway::Gateway;
use app::payments::PaymentChoice;
use tracing::{Event, Subscriber};
use tracing_subscriber::{layer::Context, layer::SubscriberExt, Layer, Registry};

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);
/// Counting is on only while the statements of single checkouts are counted, so the load runs
/// do not pay for building log events.
static COUNTING: AtomicBool = AtomicBool::new(true);

struct CountStatements;

impl<S: Subscriber> Layer<S> for CountStatements {
    fn register_callsite(
        &self,
        _metadata: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, metadata: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        metadata.target() == "sqlx::query" && COUNTING.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

const VARIANTS: i64 = 2_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let subscriber = Registry::default().with(CountStatements);
    tracing::subscriber::set_global_default(subscriber)?;
    let mut args = std::env::args().skip(1);
    let url = args.next().filter(|a| !a.is_empty());
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir()?;
    let url = url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    let backend = db.backend();
    println!("database: {:?} ({})", backend, app::db::redact_url(&url));
    if backend == app::db::Backend::Sqlite {
        println!(
            "fsync rate of the data directory: {:.0} fsyncs/s",
            fsync_rate(dir.path())?
        );
    }
    seed(&db).await?;
    let checkout = Checkout::new(db.clone(), Gateway::Test, "http://bench.invalid");

    // Statements of one checkout, after a warm-up (rules cached, connections open).
    place(&checkout, &[(1, 1)]).await?;
    for lines in [&[(2, 1)][..], &[(3, 1), (4, 2)][..]] {
        let before = STATEMENTS.load(Ordering::SeqCst);
        place(&checkout, lines).await?;
        let count = STATEMENTS.load(Ordering::SeqCst) - before;
        println!(
            "SQL statements for a {}-line checkout: {count} (transaction control included)",
            lines.len()
        );
    }
    // The same with a discount code: the code is read, its use taken and recorded.
    sqlx::query(
        "INSERT INTO discounts (title, code, code_key, kind, rule_json, created_at, updated_at) \
         VALUES ('Bench', 'BENCH10', 'bench10', 'percentage', '{\"OrderPercent\":{\"percent_bp\":1000}}', 0, 0)",
    )
    .execute(db.pool())
    .await?;
    let before = STATEMENTS.load(Ordering::SeqCst);
    place_with(&checkout, &[(5, 1)], &["BENCH10"]).await?;
    println!(
        "SQL statements for a 1-line checkout with a discount code: {}",
        STATEMENTS.load(Ordering::SeqCst) - before
    );

    COUNTING.store(false, Ordering::Relaxed);
    let run = Duration::from_secs(seconds);
    report(
        "uncontended, 1 client, many variants",
        run_load(&checkout, 1, run, false).await?,
    );
    report(
        "many variants, 32 clients",
        run_load(&checkout, 32, run, false).await?,
    );
    report(
        "one hot variant, 64 clients",
        run_load(&checkout, 64, run, true).await?,
    );
    let (orders, units) = verify(&db).await?;
    println!("check: {orders} paid orders; stock and ledger agree for every variant ({units} units sold)");
    Ok(())
}

/// Writes 4 KiB and fdatasyncs, for a second: what one durable commit per order could reach.
fn fsync_rate(dir: &std::path::Path) -> anyhow::Result<f64> {
    use std::io::Write;
    let mut file = std::fs::File::create(dir.join("fsync-probe"))?;
    let block = [7u8; 4096];
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(1) {
        file.write_all(&block)?;
        file.sync_data()?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

async fn seed(db: &Db) -> anyhow::Result<()> {
    let mut tx = db.pool().begin().await?;
    let now = app::db::now_epoch();
    sqlx::query(
        "INSERT INTO products (slug, title, status, created_at, updated_at) VALUES ('bench', 'Bench', 'active', $1, $1)",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for id in 1..=VARIANTS {
        sqlx::query(
            "INSERT INTO variants (id, product_id, sku, price_amount, currency, on_hand) \
             VALUES ($1, (SELECT id FROM products WHERE slug = 'bench'), $2, 1999, 'EUR', 10000000)",
        )
        .bind(id)
        .bind(format!("BENCH-{id}"))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn place(checkout: &Checkout, lines: &[(i64, u32)]) -> anyhow::Result<Duration> {
    place_with(checkout, lines, &[]).await
}

async fn place_with(
    checkout: &Checkout,
    lines: &[(i64, u32)],
    codes: &[&str],
) -> anyhow::Result<Duration> {
    let request = CheckoutRequest {
        email: "bench@example.com".into(),
        shipping_address: app::checkout::address::Address {
            name: "Bench".into(),
            line1: "Street 1".into(),
            line2: String::new(),
            city: "Berlin".into(),
            postal_code: "10115".into(),
            region: String::new(),
            country: "DE".into(),
        },
        shipping_method: None,
        lines: lines
            .iter()
            .map(|(variant_id, quantity)| LineRequest {
                variant_id: *variant_id,
                quantity: *quantity,
                seen_price: None,
            })
            .collect(),
        payment: PaymentChoice {
            gateway: "test".into(),
            token: Some("pm_card_visa".into()),
        },
        discount_codes: codes.iter().map(|c| c.to_string()).collect(),
        newsletter: false,
        gift_cards: Vec::new(),
        attribution: None,
    };
    let start = Instant::now();
    let placed = checkout
        .place_order(
            request,
            &app::checkout::service::random_token(),
            None,
            "bench",
        )
        .await
        .map_err(|e| anyhow::anyhow!("checkout failed: {e}"))?;
    anyhow::ensure!(placed.response.order.status == app::orders::OrderStatus::Paid);
    Ok(start.elapsed())
}

struct Load {
    /// Grouped commits per order (SQLite); `None` where each order commits alone (Postgres).
    commits_per_order: Option<f64>,
    clients: usize,
    orders: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn run_load(
    checkout: &Checkout,
    clients: usize,
    run: Duration,
    hot: bool,
) -> anyhow::Result<Load> {
    let groups_before = app::write_queue::group_stats();
    let next_variant = Arc::new(AtomicUsize::new(10));
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let checkout = checkout.clone();
            let next_variant = next_variant.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while start.elapsed() < run {
                    let variant = if hot {
                        5
                    } else {
                        10 + (next_variant.fetch_add(1, Ordering::Relaxed) as i64 % (VARIANTS - 10))
                    };
                    latencies.push(place(&checkout, &[(variant, 1)]).await?);
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let groups_after = app::write_queue::group_stats();
    let commits = groups_after.0 - groups_before.0;
    Ok(Load {
        commits_per_order: (commits > 0)
            .then(|| commits as f64 / (groups_after.1 - groups_before.1) as f64),
        clients,
        orders: latencies.len(),
        elapsed,
        latencies,
    })
}

fn report(name: &str, load: Load) {
    let pick = |q: f64| {
        let index =
            ((load.latencies.len() as f64 * q).ceil() as usize).clamp(1, load.latencies.len()) - 1;
        load.latencies[index].as_secs_f64() * 1000.0
    };
    let grouping = load
        .commits_per_order
        .map(|c| format!(", {:.1} orders per commit", 1.0 / c))
        .unwrap_or_default();
    println!(
        "{name}: {:.0} orders/s ({} orders in {:.1} s, {} clients), p50 {:.2} ms, p99 {:.2} ms{grouping}",
        load.orders as f64 / load.elapsed.as_secs_f64(),
        load.orders,
        load.elapsed.as_secs_f64(),
        load.clients,
        pick(0.50),
        pick(0.99),
    );
}

/// Every unit sold is in the ledger, and stock went down by exactly that much.
async fn verify(db: &Db) -> anyhow::Result<(i64, i64)> {
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE status = 'paid'")
        .fetch_one(db.pool())
        .await?;
    let mismatched: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM variants v WHERE v.on_hand + (SELECT CAST(-COALESCE(SUM(l.on_hand_delta), 0) AS BIGINT) \
         FROM stock_ledger l WHERE l.variant_id = v.id) <> 10000000",
    )
    .fetch_one(db.pool())
    .await?;
    anyhow::ensure!(
        mismatched == 0,
        "{mismatched} variants disagree with their ledger"
    );
    let sold: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM order_lines")
            .fetch_one(db.pool())
            .await?;
    Ok((orders, sold))
}
