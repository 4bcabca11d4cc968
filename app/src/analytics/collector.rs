//! Events wait in memory and are written in batches: the raw events and their rollups (by
//! visitor and day, by hour, by product, by search) in one transaction, through the writer.
//!
//! A request only pushes onto a list (no database work on the page's path); the list is
//! written every second, and at once when a report is asked for on this server, so staff see
//! what was recorded up to their click. Visitor keys are made here, at write time, with the
//! day's salt: the address prefix and browser family never leave memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::{AnyConnection, Row};

use super::{ShopClock, Source, ADD_TO_CART, CHECKOUT_STARTED, ORDER, PRODUCT_VIEW};
use crate::db::{insert_rows, Arg, Db};
use crate::write_queue::JobFuture;

/// Events kept in memory at most; beyond, new ones are dropped (and counted) rather than let
/// a flood of requests grow the server without bound.
const MAX_PENDING: usize = 200_000;
/// How often the waiting events are written.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    PageView,
    AddToCart,
    CheckoutStarted,
    SearchClick,
    Order,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PageView => "page_view",
            Kind::AddToCart => "add_to_cart",
            Kind::CheckoutStarted => "checkout_started",
            Kind::SearchClick => "search_click",
            Kind::Order => "order",
        }
    }

    /// The funnel step this event reaches.
    fn step(self, product_id: Option<i64>) -> i64 {
        match self {
            Kind::PageView if product_id.is_some() => PRODUCT_VIEW,
            Kind::PageView | Kind::SearchClick => 0,
            Kind::AddToCart => ADD_TO_CART,
            Kind::CheckoutStarted => CHECKOUT_STARTED,
            Kind::Order => ORDER,
        }
    }
}

/// Who an event is counted for, as far as it is kept until written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// Becomes the day's visitor key; never stored as it is.
    Visitor {
        address_prefix: String,
        family: &'static str,
    },
    /// Asked not to be tracked: counted in page views, not as a visitor.
    Untracked,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub at: i64,
    pub kind: Kind,
    pub who: Who,
    pub path: Option<String>,
    pub product_id: Option<i64>,
    pub variant_id: Option<i64>,
    pub query: Option<String>,
    pub results: Option<i64>,
    pub order_id: Option<i64>,
    /// Where the visit came from, when this page is a landing.
    pub landing: Option<Source>,
}

impl Event {
    pub fn new(at: i64, kind: Kind, who: Who) -> Event {
        Event {
            at,
            kind,
            who,
            path: None,
            product_id: None,
            variant_id: None,
            query: None,
            results: None,
            order_id: None,
            landing: None,
        }
    }
}

/// The collector, shared by every request of this server.
#[derive(Clone)]
pub struct Analytics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Analytics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analytics").finish_non_exhaustive()
    }
}

struct Inner {
    db: Db,
    pending: Mutex<Vec<Event>>,
    /// One batch written at a time, in the order recorded.
    writing: tokio::sync::Mutex<()>,
    /// Each day's salt once read, for today and yesterday only.
    salts: Mutex<HashMap<String, Vec<u8>>>,
    dropped: AtomicU64,
}

impl Analytics {
    /// A collector writing to `db`, flushing every second for as long as it is used.
    pub fn new(db: Db) -> Analytics {
        let analytics = Analytics {
            inner: Arc::new(Inner {
                db,
                pending: Mutex::default(),
                writing: tokio::sync::Mutex::new(()),
                salts: Mutex::default(),
                dropped: AtomicU64::new(0),
            }),
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            let weak = Arc::downgrade(&analytics.inner);
            tokio::spawn(flush_regularly(weak));
        }
        analytics
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Keeps the event for the next batch.
    pub fn record(&self, event: Event) {
        let mut pending = self.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.len() >= MAX_PENDING {
            if self
                .inner
                .dropped
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(10_000)
            {
                tracing::warn!("analytics: too many events waiting; dropping new ones");
            }
            return;
        }
        pending.push(event);
    }

    /// Writes every event recorded so far; returns how many.
    pub async fn flush(&self) -> Result<usize, sqlx::Error> {
        let _writing = self.inner.writing.lock().await;
        let batch =
            std::mem::take(&mut *self.inner.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if batch.is_empty() {
            return Ok(0);
        }
        let count = batch.len();
        let inner = self.inner.clone();
        let batch = Arc::new(batch);
        self.inner
            .db
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
                let inner = inner.clone();
                let batch = batch.clone();
                Box::pin(async move { write_batch(conn, &inner, &batch).await })
            })
            .await?;
        Ok(count)
    }
}

async fn flush_regularly(inner: Weak<Inner>) {
    let mut ticker = tokio::time::interval(FLUSH_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let analytics = Analytics { inner };
        if let Err(error) = analytics.flush().await {
            tracing::error!(%error, "analytics: writing events failed; they are lost");
        }
    }
}

/// The shop's time zone, as its reports count days.
pub async fn shop_clock(conn: &mut AnyConnection) -> Result<ShopClock, sqlx::Error> {
    let zone: Option<String> =
        sqlx::query_scalar("SELECT time_zone FROM shop_settings WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(ShopClock::named(zone.as_deref().unwrap_or("UTC")))
}

/// The salt of `day`, made (randomly, once for every server of the database) if it has none.
async fn salt_of(
    conn: &mut AnyConnection,
    inner: &Inner,
    day: &str,
) -> Result<Vec<u8>, sqlx::Error> {
    if let Some(salt) = inner
        .salts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(day)
    {
        return Ok(salt.clone());
    }
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    sqlx::query(
        "INSERT INTO analytics_salts (day, salt) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING",
    )
    .bind(day)
    .bind(hex::encode(fresh))
    .execute(&mut *conn)
    .await?;
    let stored: String = sqlx::query_scalar("SELECT salt FROM analytics_salts WHERE day = $1")
        .bind(day)
        .fetch_one(&mut *conn)
        .await?;
    let salt = hex::decode(stored).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let mut salts = inner.salts.lock().unwrap_or_else(|e| e.into_inner());
    // Only the newest days: a salt deleted from the database must not live on here.
    if salts.len() >= 2 {
        if let Some(oldest) = salts.keys().min().cloned() {
            if oldest.as_str() < day {
                salts.remove(&oldest);
            }
        }
    }
    salts.insert(day.to_string(), salt.clone());
    Ok(salt)
}

/// The visitor key: HMAC-SHA256 under the day's salt of the address prefix and browser family,
/// 128 bits in hex.
pub fn visitor_key(salt: &[u8], address_prefix: &str, family: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(salt).expect("HMAC takes any key length");
    mac.update(address_prefix.as_bytes());
    mac.update(b"\n");
    mac.update(family.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// A visit ends after this long without an event; the next event starts another session.
pub const SESSION_GAP_SECS: i64 = 30 * 60;

#[derive(Default)]
struct Visit {
    page_views: i64,
    /// Sessions begun in this batch (its first event's counted as one; the upsert takes it
    /// back when that event continues the stored visit's last session).
    sessions: i64,
    first_at: i64,
    last_at: i64,
    steps: i64,
    landing: Option<Source>,
}

async fn write_batch(
    conn: &mut AnyConnection,
    inner: &Inner,
    batch: &[Event],
) -> Result<(), sqlx::Error> {
    let clock = shop_clock(conn).await?;
    // Add-to-cart beacons name a variant: their product, for the product report.
    let unknown_products: Vec<i64> = batch
        .iter()
        .filter(|e| e.product_id.is_none())
        .filter_map(|e| e.variant_id)
        .collect();
    let mut product_of_variant: HashMap<i64, i64> = HashMap::new();
    for ids in unknown_products.chunks(500) {
        let mut sql = crate::db::Sql::default();
        sql.push("SELECT id, product_id FROM variants WHERE id IN ")
            .bind_list(ids.iter().copied());
        for row in sql.query().fetch_all(&mut *conn).await? {
            product_of_variant.insert(row.try_get("id")?, row.try_get("product_id")?);
        }
    }

    let mut raw = Vec::with_capacity(batch.len() * 10);
    let mut visits: BTreeMap<(String, String), Visit> = BTreeMap::new();
    let mut hours: BTreeMap<(String, i64), i64> = BTreeMap::new();
    let mut products: BTreeMap<(String, i64), (i64, i64)> = BTreeMap::new();
    // (searches, results of the latest, clicks)
    let mut searches: BTreeMap<(String, String), (i64, i64, i64)> = BTreeMap::new();
    // Each day's salt, looked up once for the batch (a batch spans a day or two).
    let mut salts: HashMap<String, Vec<u8>> = HashMap::new();
    for event in batch {
        let (day, hour) = clock.day_and_hour(event.at);
        let visitor = match &event.who {
            Who::Visitor {
                address_prefix,
                family,
            } => {
                if !salts.contains_key(&day) {
                    let salt = salt_of(conn, inner, &day).await?;
                    salts.insert(day.clone(), salt);
                }
                Some(visitor_key(&salts[&day], address_prefix, family))
            }
            Who::Untracked => None,
        };
        let product_id = event.product_id.or_else(|| {
            event
                .variant_id
                .and_then(|v| product_of_variant.get(&v).copied())
        });
        raw.extend([
            Arg::Int(event.at),
            Arg::Text(day.clone()),
            Arg::Text(event.kind.as_str().into()),
            Arg::MaybeText(visitor.clone()),
            Arg::MaybeText(event.path.clone()),
            Arg::MaybeInt(product_id),
            Arg::MaybeInt(event.variant_id),
            Arg::MaybeText(event.query.clone()),
            Arg::MaybeInt(event.results),
            Arg::MaybeInt(event.order_id),
        ]);
        let page_view = event.kind == Kind::PageView;
        if page_view {
            *hours.entry((day.clone(), hour)).or_default() += 1;
        }
        if let Some(visitor) = visitor {
            let visit = visits.entry((day.clone(), visitor)).or_default();
            if visit.sessions == 0 {
                visit.sessions = 1;
                visit.first_at = event.at;
            } else if event.at - visit.last_at > SESSION_GAP_SECS {
                visit.sessions += 1;
            }
            visit.last_at = visit.last_at.max(event.at);
            visit.page_views += i64::from(page_view);
            visit.steps |= event.kind.step(product_id);
            if visit.landing.is_none() {
                visit.landing = event.landing.clone();
            }
        }
        if let Some(product_id) = product_id {
            let counts = products.entry((day.clone(), product_id)).or_default();
            match event.kind {
                Kind::PageView => counts.0 += 1,
                Kind::AddToCart => counts.1 += 1,
                _ => {}
            }
        }
        match (event.kind, &event.query) {
            (Kind::PageView, Some(query)) => {
                if let Some(results) = event.results {
                    let counts = searches.entry((day.clone(), query.clone())).or_default();
                    counts.0 += 1;
                    counts.1 = results;
                }
            }
            (Kind::SearchClick, Some(query)) => {
                searches.entry((day.clone(), query.clone())).or_default().2 += 1;
            }
            _ => {}
        }
    }

    insert_rows(
        conn,
        "INSERT INTO analytics_events (at, day, kind, visitor, path, product_id, variant_id, query, results, order_id)",
        10,
        &raw,
        "",
    )
    .await?;

    write_visits(conn, visits).await?;

    let values: Vec<Arg> = hours
        .into_iter()
        .flat_map(|((day, hour), views)| [Arg::Text(day), Arg::Int(hour), Arg::Int(views)])
        .collect();
    upsert(
        conn,
        "INSERT INTO analytics_hours (day, hour, page_views)",
        3,
        &values,
        "ON CONFLICT (day, hour) DO UPDATE SET page_views = analytics_hours.page_views + excluded.page_views",
    )
    .await?;

    let values: Vec<Arg> = products
        .into_iter()
        .flat_map(|((day, product), (views, adds))| {
            [
                Arg::Text(day),
                Arg::Int(product),
                Arg::Int(views),
                Arg::Int(adds),
            ]
        })
        .collect();
    upsert(
        conn,
        "INSERT INTO analytics_products (day, product_id, views, add_to_carts)",
        4,
        &values,
        "ON CONFLICT (day, product_id) DO UPDATE SET views = analytics_products.views + excluded.views, \
         add_to_carts = analytics_products.add_to_carts + excluded.add_to_carts",
    )
    .await?;

    let values: Vec<Arg> = searches
        .into_iter()
        .flat_map(|((day, query), (count, results, clicks))| {
            [
                Arg::Text(day),
                Arg::Text(query),
                Arg::Int(count),
                Arg::Int(results),
                Arg::Int(clicks),
            ]
        })
        .collect();
    // A click alone (its search counted in an earlier batch) keeps the search's results.
    upsert(
        conn,
        "INSERT INTO analytics_searches (day, query, searches, results, clicks)",
        5,
        &values,
        "ON CONFLICT (day, query) DO UPDATE SET searches = analytics_searches.searches + excluded.searches, \
         results = CASE WHEN excluded.searches > 0 THEN excluded.results ELSE analytics_searches.results END, \
         clicks = analytics_searches.clicks + excluded.clicks",
    )
    .await?;
    Ok(())
}

/// What a batch adds to a day's totals.
#[derive(Default)]
struct DayTotals {
    visitors: i64,
    sessions: i64,
    product_views: i64,
    add_to_carts: i64,
    checkouts: i64,
    orders: i64,
}

/// Writes the batch's visits and, from what they change, the days' totals (visitors, sessions,
/// visitors at each funnel step) and the sources' visitors, so reports over months read a row
/// per day instead of a row per visitor.
///
/// Exact with several servers on Postgres: a visit is new for the one transaction whose
/// `INSERT … DO NOTHING` made it, and the rows already there are locked before their figures
/// are compared.
async fn write_visits(
    conn: &mut AnyConnection,
    visits: BTreeMap<(String, String), Visit>,
) -> Result<(), sqlx::Error> {
    if visits.is_empty() {
        return Ok(());
    }
    // New visits, with where they came from (a visit's source is its first page's).
    let mut values = Vec::with_capacity(visits.len() * 7);
    for ((day, visitor), visit) in &visits {
        let source = visit.landing.clone().unwrap_or_else(Source::direct);
        values.extend([
            Arg::Text(day.clone()),
            Arg::Text(visitor.clone()),
            Arg::Int(visit.first_at),
            Arg::Text(source.source),
            Arg::Text(source.medium),
            Arg::Text(source.campaign),
        ]);
    }
    let created = insert_rows(
        conn,
        "INSERT INTO analytics_visits (day, visitor, first_at, source, medium, campaign)",
        6,
        &values,
        "ON CONFLICT (day, visitor) DO NOTHING RETURNING day, visitor, source, medium, campaign",
    )
    .await?;
    let mut totals: BTreeMap<String, DayTotals> = BTreeMap::new();
    let mut sources: BTreeMap<(String, String, String, String), i64> = BTreeMap::new();
    for row in &created {
        let day: String = row.try_get("day")?;
        totals.entry(day.clone()).or_default().visitors += 1;
        *sources
            .entry((
                day,
                row.try_get("source")?,
                row.try_get("medium")?,
                row.try_get("campaign")?,
            ))
            .or_default() += 1;
    }

    // Every visit of the batch as stored (the new ones empty), locked on Postgres.
    let lock = match crate::db::Backend::of(conn) {
        crate::db::Backend::Postgres => " FOR UPDATE",
        _ => "",
    };
    let mut stored: HashMap<(String, String), (i64, i64)> = HashMap::new();
    let mut by_day: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (day, visitor) in visits.keys() {
        by_day.entry(day).or_default().push(visitor);
    }
    for (day, visitors) in by_day {
        for chunk in visitors.chunks(500) {
            let mut sql = crate::db::Sql::default();
            sql.push("SELECT visitor, steps, last_at FROM analytics_visits WHERE day = ")
                .bind(day)
                .push(" AND visitor IN ")
                .bind_list(chunk.iter().copied())
                .push(" ORDER BY visitor")
                .push(lock);
            for row in sql.query().fetch_all(&mut *conn).await? {
                stored.insert(
                    (day.to_string(), row.try_get("visitor")?),
                    (row.try_get("steps")?, row.try_get("last_at")?),
                );
            }
        }
    }

    let mut values = Vec::with_capacity(visits.len() * 10);
    for ((day, visitor), visit) in visits {
        let (steps_before, last_at) = stored
            .get(&(day.clone(), visitor.clone()))
            .copied()
            .unwrap_or((0, 0));
        let day_totals = totals.entry(day.clone()).or_default();
        // The batch's first event continues the stored last session unless 30 minutes passed.
        let continues = last_at > 0 && visit.first_at - last_at <= SESSION_GAP_SECS;
        day_totals.sessions += visit.sessions - i64::from(continues);
        let reached = visit.steps & !steps_before;
        day_totals.product_views += i64::from(reached & PRODUCT_VIEW != 0);
        day_totals.add_to_carts += i64::from(reached & ADD_TO_CART != 0);
        day_totals.checkouts += i64::from(reached & CHECKOUT_STARTED != 0);
        day_totals.orders += i64::from(reached & ORDER != 0);
        values.extend([
            Arg::Text(day),
            Arg::Text(visitor),
            Arg::Int(visit.page_views),
            Arg::Int(visit.sessions - i64::from(continues)),
            Arg::Int(visit.first_at),
            Arg::Int(visit.last_at),
            Arg::Int(visit.steps),
            Arg::Text(String::new()),
            Arg::Text(String::new()),
            Arg::Text(String::new()),
        ]);
    }
    // Every row exists now: this adds the batch to each.
    upsert(
        conn,
        "INSERT INTO analytics_visits (day, visitor, page_views, sessions, first_at, last_at, steps, source, medium, campaign)",
        10,
        &values,
        "ON CONFLICT (day, visitor) DO UPDATE SET page_views = analytics_visits.page_views + excluded.page_views, \
         sessions = analytics_visits.sessions + excluded.sessions, \
         last_at = CASE WHEN excluded.last_at > analytics_visits.last_at THEN excluded.last_at ELSE analytics_visits.last_at END, \
         steps = analytics_visits.steps | excluded.steps",
    )
    .await?;

    let values: Vec<Arg> = totals
        .into_iter()
        .flat_map(|(day, t)| {
            [
                Arg::Text(day),
                Arg::Int(t.visitors),
                Arg::Int(t.sessions),
                Arg::Int(t.product_views),
                Arg::Int(t.add_to_carts),
                Arg::Int(t.checkouts),
                Arg::Int(t.orders),
            ]
        })
        .collect();
    upsert(
        conn,
        "INSERT INTO analytics_days (day, visitors, sessions, product_views, add_to_carts, checkouts, orders)",
        7,
        &values,
        "ON CONFLICT (day) DO UPDATE SET visitors = analytics_days.visitors + excluded.visitors, \
         sessions = analytics_days.sessions + excluded.sessions, \
         product_views = analytics_days.product_views + excluded.product_views, \
         add_to_carts = analytics_days.add_to_carts + excluded.add_to_carts, \
         checkouts = analytics_days.checkouts + excluded.checkouts, \
         orders = analytics_days.orders + excluded.orders",
    )
    .await?;
    let values: Vec<Arg> = sources
        .into_iter()
        .flat_map(|((day, source, medium, campaign), visitors)| {
            [
                Arg::Text(day),
                Arg::Text(source),
                Arg::Text(medium),
                Arg::Text(campaign),
                Arg::Int(visitors),
            ]
        })
        .collect();
    upsert(
        conn,
        "INSERT INTO analytics_sources (day, source, medium, campaign, visitors)",
        5,
        &values,
        "ON CONFLICT (day, source, medium, campaign) DO UPDATE SET visitors = analytics_sources.visitors + excluded.visitors",
    )
    .await
}

/// A multi-row upsert; the rows' keys are distinct (aggregated above) and sorted, so two
/// servers writing the same rows on Postgres lock them in the same order.
async fn upsert(
    conn: &mut AnyConnection,
    head: &str,
    width: usize,
    values: &[Arg],
    on_conflict: &str,
) -> Result<(), sqlx::Error> {
    if values.is_empty() {
        return Ok(());
    }
    insert_rows(conn, head, width, values, on_conflict).await?;
    Ok(())
}

/// Forgets salts older than yesterday (so old visitor keys cannot be recomputed) and raw events
/// older than the retention setting; the rollups stay.
pub async fn forget_old(db: &Db, now: i64) -> Result<(), sqlx::Error> {
    db.writes()
        .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(async move {
                let clock = shop_clock(conn).await?;
                let yesterday = clock
                    .today(now)
                    .yesterday()
                    .map(|d| d.to_string())
                    .unwrap_or_default();
                sqlx::query("DELETE FROM analytics_salts WHERE day < $1")
                    .bind(&yesterday)
                    .execute(&mut *conn)
                    .await?;
                let days: i64 = sqlx::query_scalar(
                    "SELECT analytics_retention_days FROM shop_settings WHERE id = 1",
                )
                .fetch_optional(&mut *conn)
                .await?
                .unwrap_or(90);
                sqlx::query("DELETE FROM analytics_events WHERE at < $1")
                    .bind(now - days.max(1) * 86_400)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_key_depends_on_the_salt_and_hides_the_address() {
        let monday = visitor_key(b"salt of monday", "203.0.113.0/24", "firefox");
        let again = visitor_key(b"salt of monday", "203.0.113.0/24", "firefox");
        let tuesday = visitor_key(b"salt of tuesday", "203.0.113.0/24", "firefox");
        let chrome = visitor_key(b"salt of monday", "203.0.113.0/24", "chrome");
        assert_eq!(monday, again);
        assert_ne!(monday, tuesday);
        assert_ne!(monday, chrome);
        assert_eq!(monday.len(), 32);
        assert!(!monday.contains("203"));
    }
}
