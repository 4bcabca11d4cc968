//! The reports: traffic from the rollups, money from the orders and payments themselves, each
//! over whole days of the shop's time zone.
//!
//! Orders count on the day they were paid (exchanges' replacement orders, at no charge, do not
//! count); refunds on the day they were made, whenever their order was placed, so a range's net
//! revenue is what came in less what went out in it. Figures are in the shop's currency.

use std::collections::{BTreeMap, HashMap};

use sqlx::Row;

use super::collector::shop_clock;
use super::{
    ratio, DateRange, DayReport, DiscountReport, Funnel, FunnelStep, ProductReport, SearchReport,
    ShopClock, SourceReport, Summary,
};
use crate::db::{Db, Sql};
use crate::money::{Currency, Money};

/// The most rows a list report answers with.
pub const MAX_ROWS: usize = 500;

/// A report's question: which days, counted in which time zone, in which currency.
#[derive(Clone, Debug)]
pub struct Scope {
    pub range: DateRange,
    pub clock: ShopClock,
    pub currency: Currency,
    /// `[start, end)` of the range in Unix seconds.
    start: i64,
    end: i64,
}

impl Scope {
    pub fn new(range: DateRange, clock: ShopClock, currency: Currency) -> Scope {
        let (start, end) = clock.bounds(&range);
        Scope {
            range,
            clock,
            currency,
            start,
            end,
        }
    }

    /// The same question about the period just before.
    pub fn previous(&self) -> Scope {
        Scope::new(self.range.previous(), self.clock.clone(), self.currency)
    }

    fn money(&self, amount: i64) -> Money {
        Money::new(amount, self.currency)
    }

    fn from(&self) -> String {
        self.range.from_text()
    }

    fn to(&self) -> String {
        self.range.to_text()
    }
}

/// The shop's time zone, read now.
pub async fn clock(db: &Db) -> Result<ShopClock, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    shop_clock(&mut conn).await
}

/// Seconds in a quarter hour: the finest step of any time zone's offset from UTC.
const QUARTER: i64 = 900;

/// Orders that count: paid, in the shop's currency, not an exchange's replacement.
const COUNTED_ORDERS: &str =
    "o.paid_at >= $1 AND o.paid_at < $2 AND o.currency = $3 AND o.gateway <> 'exchange'";

/// What a refund gave back: all of it once the gateway confirmed, only the gift cards' part
/// when the card's part failed.
const REFUNDED: &str =
    "CASE WHEN p.status = 'succeeded' THEN p.amount WHEN p.status = 'failed' THEN p.gift_card_amount ELSE 0 END";

pub async fn summary(db: &Db, scope: &Scope) -> Result<Summary, sqlx::Error> {
    let pool = db.pool();
    let visits = sqlx::query(
        "SELECT CAST(COALESCE(SUM(visitors), 0) AS BIGINT) AS visitors, \
         CAST(COALESCE(SUM(sessions), 0) AS BIGINT) AS sessions \
         FROM analytics_days WHERE day >= $1 AND day <= $2",
    )
    .bind(scope.from())
    .bind(scope.to())
    .fetch_one(pool)
    .await?;
    let returns: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM returns WHERE created_at >= $1 AND created_at < $2",
    )
    .bind(scope.start)
    .bind(scope.end)
    .fetch_one(pool)
    .await?;
    let page_views: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(page_views), 0) AS BIGINT) FROM analytics_hours WHERE day >= $1 AND day <= $2",
    )
    .bind(scope.from())
    .bind(scope.to())
    .fetch_one(pool)
    .await?;
    let sales = sqlx::query(&format!(
        "SELECT COUNT(*) AS orders, CAST(COALESCE(SUM(o.total_amount), 0) AS BIGINT) AS revenue, \
         CAST(COALESCE(SUM(o.discount_amount), 0) AS BIGINT) AS discounts, \
         CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM orders b WHERE lower(b.email) = lower(o.email) \
              AND b.paid_at < o.paid_at AND b.id <> o.id) THEN 1 ELSE 0 END), 0) AS BIGINT) AS returning_orders \
         FROM orders o WHERE {COUNTED_ORDERS}"
    ))
    .bind(scope.start)
    .bind(scope.end)
    .bind(scope.currency.code())
    .fetch_one(pool)
    .await?;
    let orders: i64 = sales.try_get("orders")?;
    let revenue: i64 = sales.try_get("revenue")?;
    let discounts: i64 = sales.try_get("discounts")?;
    let returning: i64 = sales.try_get("returning_orders")?;
    let refunds = refunds_between(db, scope.start, scope.end, scope.currency).await?;
    Ok(Summary {
        visitors: visits.try_get("visitors")?,
        sessions: visits.try_get("sessions")?,
        page_views,
        returns,
        orders,
        revenue: scope.money(revenue),
        gross: scope.money(revenue + discounts),
        discounts: scope.money(discounts),
        refunds: scope.money(refunds),
        net_revenue: scope.money(revenue - refunds),
        aov: scope.money(if orders > 0 { revenue / orders } else { 0 }),
        returning_customer_rate: ratio(returning, orders),
    })
}

async fn refunds_between(
    db: &Db,
    start: i64,
    end: i64,
    currency: Currency,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT CAST(COALESCE(SUM({REFUNDED}), 0) AS BIGINT) FROM payments p \
         WHERE p.kind = 'refund' AND p.created_at >= $1 AND p.created_at < $2 AND p.currency = $3"
    ))
    .bind(start)
    .bind(end)
    .bind(currency.code())
    .fetch_one(db.pool())
    .await
}

/// Visitors who reached each step on a day, summed over the days.
pub async fn funnel(db: &Db, scope: &Scope) -> Result<Funnel, sqlx::Error> {
    let sum = |column: &str| format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT) AS {column}");
    let row = sqlx::query(&format!(
        "SELECT {}, {}, {}, {}, {} FROM analytics_days WHERE day >= $1 AND day <= $2",
        sum("visitors"),
        sum("product_views"),
        sum("add_to_carts"),
        sum("checkouts"),
        sum("orders"),
    ))
    .bind(scope.from())
    .bind(scope.to())
    .fetch_one(db.pool())
    .await?;
    let mut steps = Vec::new();
    for (name, column) in [
        ("visit", "visitors"),
        ("product_view", "product_views"),
        ("add_to_cart", "add_to_carts"),
        ("checkout_started", "checkouts"),
        ("order", "orders"),
    ] {
        steps.push(FunnelStep {
            name: name.into(),
            visitors: row.try_get(column)?,
        });
    }
    Ok(Funnel { steps })
}

/// Every product viewed, added or sold in the range: by revenue, then views.
pub async fn products(db: &Db, scope: &Scope) -> Result<Vec<ProductReport>, sqlx::Error> {
    #[derive(Default)]
    struct Figures {
        views: i64,
        adds: i64,
        units: i64,
        revenue: i64,
        orders: i64,
    }
    let pool = db.pool();
    let mut figures: HashMap<i64, Figures> = HashMap::new();
    let traffic = sqlx::query(
        "SELECT product_id, CAST(SUM(views) AS BIGINT) AS views, CAST(SUM(add_to_carts) AS BIGINT) AS adds \
         FROM analytics_products WHERE day >= $1 AND day <= $2 GROUP BY product_id",
    )
    .bind(scope.from())
    .bind(scope.to())
    .fetch_all(pool)
    .await?;
    for row in traffic {
        let entry = figures.entry(row.try_get("product_id")?).or_default();
        entry.views = row.try_get("views")?;
        entry.adds = row.try_get("adds")?;
    }
    let sales = sqlx::query(&format!(
        "SELECT v.product_id, CAST(SUM(l.quantity) AS BIGINT) AS units, CAST(SUM(l.total_amount) AS BIGINT) AS revenue, \
         COUNT(DISTINCT o.id) AS orders \
         FROM orders o JOIN order_lines l ON l.order_id = o.id JOIN variants v ON v.id = l.variant_id \
         WHERE {COUNTED_ORDERS} GROUP BY v.product_id"
    ))
    .bind(scope.start)
    .bind(scope.end)
    .bind(scope.currency.code())
    .fetch_all(pool)
    .await?;
    for row in sales {
        let entry = figures.entry(row.try_get("product_id")?).or_default();
        entry.units = row.try_get("units")?;
        entry.revenue = row.try_get("revenue")?;
        entry.orders = row.try_get("orders")?;
    }
    let mut ids: Vec<(i64, i64, i64)> = figures
        .iter()
        .map(|(id, f)| (*id, f.revenue, f.views))
        .collect();
    ids.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    ids.truncate(MAX_ROWS);
    let mut names: HashMap<i64, (String, String)> = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut sql = Sql::default();
        sql.push("SELECT id, slug, title FROM products WHERE id IN ")
            .bind_list(chunk.iter().map(|c| c.0));
        for row in sql.query().fetch_all(pool).await? {
            names.insert(
                row.try_get("id")?,
                (row.try_get("slug")?, row.try_get("title")?),
            );
        }
    }
    Ok(ids
        .into_iter()
        .filter_map(|(id, _, _)| {
            let (slug, title) = names.remove(&id)?;
            let f = figures.remove(&id)?;
            Some(ProductReport {
                product_id: id,
                slug,
                title,
                views: f.views,
                add_to_carts: f.adds,
                units: f.units,
                revenue: scope.money(f.revenue),
                conversion: ratio(f.orders, f.views),
            })
        })
        .collect())
}

/// Searches by how often they were made; `results` is what the latest one found.
pub async fn searches(db: &Db, scope: &Scope) -> Result<Vec<SearchReport>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT day, query, searches, results, clicks FROM analytics_searches WHERE day >= $1 AND day <= $2 ORDER BY day",
    )
    .bind(scope.from())
    .bind(scope.to())
    .fetch_all(db.pool())
    .await?;
    let mut by_query: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for row in rows {
        let entry = by_query.entry(row.try_get("query")?).or_default();
        let searches: i64 = row.try_get("searches")?;
        entry.0 += searches;
        if searches > 0 {
            entry.1 = row.try_get("results")?;
        }
        entry.2 += row.try_get::<i64, _>("clicks")?;
    }
    let mut report: Vec<SearchReport> = by_query
        .into_iter()
        .filter(|(_, (searches, _, _))| *searches > 0)
        .map(|(query, (searches, results, clicks))| SearchReport {
            query,
            searches,
            results,
            clicks,
        })
        .collect();
    report.sort_by(|a, b| b.searches.cmp(&a.searches).then(a.query.cmp(&b.query)));
    report.truncate(MAX_ROWS);
    Ok(report)
}

/// Visitors by where they came from, with the orders (and revenue) of shoppers from there.
pub async fn sources(db: &Db, scope: &Scope) -> Result<Vec<SourceReport>, sqlx::Error> {
    let pool = db.pool();
    let mut by_source: BTreeMap<(String, String, String), (i64, i64, i64)> = BTreeMap::new();
    let visits = sqlx::query(
        "SELECT source, medium, campaign, CAST(SUM(visitors) AS BIGINT) AS visitors FROM analytics_sources \
         WHERE day >= $1 AND day <= $2 GROUP BY source, medium, campaign",
    )
    .bind(scope.from())
    .bind(scope.to())
    .fetch_all(pool)
    .await?;
    for row in visits {
        let key = (
            row.try_get("source")?,
            row.try_get("medium")?,
            row.try_get("campaign")?,
        );
        by_source.entry(key).or_default().0 = row.try_get("visitors")?;
    }
    let orders = sqlx::query(&format!(
        "SELECT COALESCE(o.source, 'direct') AS source, COALESCE(o.medium, '(none)') AS medium, \
         COALESCE(o.campaign, '') AS campaign, COUNT(*) AS orders, CAST(SUM(o.total_amount) AS BIGINT) AS revenue \
         FROM orders o WHERE {COUNTED_ORDERS} \
         GROUP BY COALESCE(o.source, 'direct'), COALESCE(o.medium, '(none)'), COALESCE(o.campaign, '')"
    ))
    .bind(scope.start)
    .bind(scope.end)
    .bind(scope.currency.code())
    .fetch_all(pool)
    .await?;
    for row in orders {
        let key = (
            row.try_get("source")?,
            row.try_get("medium")?,
            row.try_get("campaign")?,
        );
        let entry = by_source.entry(key).or_default();
        entry.1 = row.try_get("orders")?;
        entry.2 = row.try_get("revenue")?;
    }
    let mut report: Vec<SourceReport> = by_source
        .into_iter()
        .map(
            |((source, medium, campaign), (visitors, orders, revenue))| SourceReport {
                source,
                medium,
                campaign,
                visitors,
                orders,
                revenue: scope.money(revenue),
            },
        )
        .collect();
    report.sort_by(|a, b| {
        b.visitors
            .cmp(&a.visitors)
            .then(b.revenue.amount.cmp(&a.revenue.amount))
    });
    report.truncate(MAX_ROWS);
    Ok(report)
}

/// Discounts used by the range's orders: how many orders, what they took off, what those
/// orders came to.
pub async fn discounts(db: &Db, scope: &Scope) -> Result<Vec<DiscountReport>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT COALESCE(d.code, '') AS code, d.title, COUNT(*) AS orders, \
         CAST(SUM(d.amount + d.shipping_amount) AS BIGINT) AS discount, CAST(SUM(o.total_amount) AS BIGINT) AS revenue \
         FROM order_discounts d JOIN orders o ON o.id = d.order_id \
         WHERE {COUNTED_ORDERS} AND d.released_at IS NULL \
         GROUP BY COALESCE(d.code, ''), d.title ORDER BY COUNT(*) DESC, d.title"
    ))
    .bind(scope.start)
    .bind(scope.end)
    .bind(scope.currency.code())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .take(MAX_ROWS)
        .map(|row| {
            Ok(DiscountReport {
                code: row.try_get("code")?,
                title: row.try_get("title")?,
                orders: row.try_get("orders")?,
                discount: scope.money(row.try_get("discount")?),
                revenue: scope.money(row.try_get("revenue")?),
            })
        })
        .collect()
}

/// Each day of the range: visitors, page views, orders, revenue and refunds (for the charts).
pub async fn days(db: &Db, scope: &Scope) -> Result<Vec<DayReport>, sqlx::Error> {
    let pool = db.pool();
    let mut days: BTreeMap<String, DayReport> = scope
        .range
        .each_day()
        .into_iter()
        .map(|day| {
            let report = DayReport {
                day: day.clone(),
                visitors: 0,
                page_views: 0,
                orders: 0,
                revenue: scope.money(0),
                refunds: scope.money(0),
            };
            (day, report)
        })
        .collect();
    let visitors =
        sqlx::query("SELECT day, visitors FROM analytics_days WHERE day >= $1 AND day <= $2")
            .bind(scope.from())
            .bind(scope.to())
            .fetch_all(pool)
            .await?;
    for row in visitors {
        if let Some(day) = days.get_mut(&row.try_get::<String, _>("day")?) {
            day.visitors = row.try_get("visitors")?;
        }
    }
    let views = sqlx::query(
        "SELECT day, CAST(SUM(page_views) AS BIGINT) AS views FROM analytics_hours WHERE day >= $1 AND day <= $2 GROUP BY day",
    )
    .bind(scope.from())
    .bind(scope.to())
    .fetch_all(pool)
    .await?;
    for row in views {
        if let Some(day) = days.get_mut(&row.try_get::<String, _>("day")?) {
            day.page_views = row.try_get("views")?;
        }
    }
    // Orders and refunds by the shop's day they happened on, summed by quarter hour in the
    // database (every time zone's offset is a whole number of quarter hours, so no quarter
    // straddles the shop's midnight) and put on days here: a day with a clock change has its
    // 23 or 25 hours.
    let orders = format!(
        "SELECT o.paid_at - o.paid_at % {QUARTER} AS at, COUNT(*) AS n, CAST(SUM(o.total_amount) AS BIGINT) AS amount \
         FROM orders o WHERE {COUNTED_ORDERS} GROUP BY o.paid_at - o.paid_at % {QUARTER}"
    );
    for (day, n, amount) in by_quarter(db, scope, &orders).await? {
        if let Some(day) = days.get_mut(&day) {
            day.orders += n;
            day.revenue.amount += amount;
        }
    }
    let refunds = format!(
        "SELECT p.created_at - p.created_at % {QUARTER} AS at, COUNT(*) AS n, CAST(SUM({REFUNDED}) AS BIGINT) AS amount \
         FROM payments p WHERE p.kind = 'refund' AND p.created_at >= $1 AND p.created_at < $2 AND p.currency = $3 \
         GROUP BY p.created_at - p.created_at % {QUARTER}"
    );
    for (day, _, amount) in by_quarter(db, scope, &refunds).await? {
        if let Some(day) = days.get_mut(&day) {
            day.refunds.amount += amount;
        }
    }
    Ok(days.into_values().collect())
}

/// `sql`'s quarter hours (`at`, with a count `n` and an `amount`, bound to the scope's start,
/// end and currency) as the shop's days they fall on.
async fn by_quarter(
    db: &Db,
    scope: &Scope,
    sql: &str,
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(sql)
        .bind(scope.start)
        .bind(scope.end)
        .bind(scope.currency.code())
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|row| {
            let (day, _) = scope.clock.day_and_hour(row.try_get("at")?);
            Ok((day, row.try_get("n")?, row.try_get("amount")?))
        })
        .collect()
}
