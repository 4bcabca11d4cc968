//! The database: one binary, SQLite or Postgres, chosen at run time by the URL.
//!
//! Queries go through `sqlx::Any` with `$1`-style placeholders, which both SQLite and Postgres
//! accept, so a feature's SQL is written once. Where the dialects really differ (DDL, full-text
//! search), the difference lives in a small function that matches on [`Backend`].

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Row};
use std::time::Duration;

use crate::write_queue::WriteQueue;

/// How long a Postgres connection may sit unused before it is pinged on its next use (as
/// HikariCP does, with half a second).
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// WAL lets readers run beside the writer; FULL sync makes a commit durable before we report
/// it; foreign keys are off by default in SQLite. Within a process there is one writer (see
/// `write_queue`); another process on the same file (`kassa import` beside the running shop)
/// takes turns with it, and each side waits for the other's short transaction rather than
/// fail: generously, since a shopper kept waiting a moment beats a failed checkout.
const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 30000",
    // SQLite's default, 2 MB of pages per connection (16 MB for the pool), said aloud: 8 MB
    // made a server that had served a 100,000-product catalog hold 255 MB instead of 163, and
    // an import, now a few statements per batch, is as fast with 2 (54 s for 100,000).
    "PRAGMA cache_size = -2000",
];

/// A process that only writes the catalog in bulk (`kassa import` run from the command line)
/// changes these after [`SQLITE_PRAGMAS`], on its own connections: the shop beside it keeps its
/// own. An import commits every few hundred products (so the shop's writer gets its turn
/// between batches) and each batch rewrites the same pages of the listing's indexes: with a commit
/// synced to disk each time, a 100,000-product import wrote 19 GB (its WAL over and over, and
/// the database at every checkpoint of 4 MB) and waited for the disk (127 s, 71% of a core).
/// Unsynced commits (the WAL is synced at each checkpoint, and at the end: [`Db::make_durable`]),
/// checkpoints forty times further apart and statement journals in memory rather than in
/// temporary files. WAL keeps the database whole after a power cut: the last batches may then
/// be lost, as a cut import's are.
///
/// A checkpoint copies each page once however many commits rewrote it, so fewer checkpoints
/// copy less: at 100,000 products, 200 a batch, every 10,000 pages (40 MB) took 58.5 s, every
/// 40,000 (160 MB of WAL at most, which [`Db::make_durable`] empties) 48.9 s, every 100,000
/// 47.0 s.
/// Checkpoints run after a commit, with the write lock released: the shop's writes do not
/// wait for them. Temporary files for the statement journals took 48 s instead of 42 and
/// 109 MB instead of 159 (`csv_io::import_batch`).
const SQLITE_BULK_PRAGMAS: &[&str] = &[
    "PRAGMA synchronous = NORMAL",
    "PRAGMA wal_autocheckpoint = 40000",
    "PRAGMA temp_store = MEMORY",
];

/// And on the bulk writer's own connection (see `write_queue`), which keeps its pages from one
/// batch to the next: a page cache for the pages of the listing's indexes that each batch
/// rewrites. Only the writer's: the import's readers (its check of handles and SKUs) keep
/// SQLite's default. 16 MB: 64 or 128 MB were no faster (100,000 products in 50.3 and 49.0 s
/// instead of 50.2) and held more (178 and 259 MB instead of 123).
const SQLITE_BULK_WRITER_PRAGMAS: &[&str] = &["PRAGMA cache_size = -16000"];

/// No parallel workers for a query: the server's requests already keep every core busy, and
/// starting workers cost a search that reads a few rows 5 ms instead of 0.2.
const POSTGRES_SETTINGS: &[&str] = &["SET max_parallel_workers_per_gather = 0"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend behind a connection, for the few statements whose SQL differs.
    pub fn of(conn: &sqlx::AnyConnection) -> Backend {
        match conn.backend_name() {
            "PostgreSQL" => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    pub fn from_url(url: &str) -> Result<Backend, DbError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            other => Err(DbError::UnsupportedScheme(other.to_string())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database '{0}': use sqlite://… or postgres://…")]
    UnsupportedScheme(String),
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Query(#[from] sqlx::Error),
}

/// The shop's connection pool, shared by server functions and axum handlers, and the one way
/// to write: [`Db::writes`].
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    writes: WriteQueue,
    /// Where [`Db::listen`] connects: a listener holds a connection of its own.
    url: SecretUrl,
}

/// A database address that may hold a password: never printed.
#[derive(Clone)]
struct SecretUrl(std::sync::Arc<str>);

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl Db {
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        Db::connect_with(url, None).await
    }

    /// [`Db::connect`] with at most `max_connections` (`None`: the default, see below).
    pub async fn connect_with(url: &str, max_connections: Option<u32>) -> Result<Db, DbError> {
        Db::open(url, max_connections, &[], &[]).await
    }

    /// [`Db::connect_with`] for a process that writes the catalog in bulk and nothing else
    /// (`kassa import`): see [`SQLITE_BULK_PRAGMAS`]. Call [`Db::make_durable`] once written.
    pub async fn connect_for_bulk_writes(
        url: &str,
        max_connections: Option<u32>,
    ) -> Result<Db, DbError> {
        Db::open(
            url,
            max_connections,
            SQLITE_BULK_PRAGMAS,
            SQLITE_BULK_WRITER_PRAGMAS,
        )
        .await
    }

    /// Makes what a [`Db::connect_for_bulk_writes`] process committed durable: on SQLite a
    /// full checkpoint, which syncs the WAL to disk and copies all of it into the database,
    /// then empties the WAL file (up to 160 MB after an import). TRUNCATE rather than PASSIVE:
    /// a passive checkpoint stops at the oldest snapshot a reader (the shop beside the import)
    /// still holds, and syncs nothing when it can copy nothing; this one waits for such
    /// readers (`busy_timeout`). Nothing to do on Postgres, whose commits are durable.
    pub async fn make_durable(&self) -> Result<(), DbError> {
        if self.backend == Backend::Sqlite {
            let busy: i64 = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
            if busy != 0 {
                tracing::warn!(
                    "the database stayed busy: the last writes are committed but may not be \
                     on disk until the shop's next checkpoint"
                );
            }
        }
        Ok(())
    }

    async fn open(
        url: &str,
        max_connections: Option<u32>,
        sqlite_bulk_pragmas: &'static [&'static str],
        sqlite_writer_pragmas: &'static [&'static str],
    ) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            // Create the file on first start.
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        // Two per core, at least 4 and at most 16. On SQLite each connection is a thread of
        // its own (one writer at a time anyway; readers share WAL snapshots): more than the
        // cores can keep busy only take turns with the web workers. With 8 on 2 cores, a
        // catalog of 100,000 products under a mix of 713 pages (page cache on) served 7,000
        // req/s in 170 MB; with 4, 17,000–20,000 req/s in 140 MB, and uncached pages as fast
        // (scripts/bench-scale.sh). Postgres's backends are processes on the same cores: 4
        // instead of 16 served that mix at 26,000 req/s instead of 17,000, and uncached pages
        // with a lower p99. `KASSA_DB_CONNECTIONS` raises it for a database across a network,
        // where connections mostly wait.
        let max_connections = max_connections.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(4, |cores| 2 * cores.get() as u32)
                .clamp(4, 16)
        });
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            // sqlx pings every connection as it comes back to the pool, so one in steady use is
            // known to be alive; pinging it again before each use was a third round trip per
            // statement on Postgres. Only a connection left idle may have been cut meanwhile (a
            // restart, a proxy's timeout): that one is pinged, and replaced if it does not
            // answer. On SQLite a ping is a round trip to the connection's thread, for a file
            // that cannot go away.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if backend == Backend::Postgres && meta.idle_for >= PING_WHEN_IDLE_FOR {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    let (settings, bulk): (&[&str], &[&str]) = match backend {
                        Backend::Sqlite => (SQLITE_PRAGMAS, sqlite_bulk_pragmas),
                        Backend::Postgres => (POSTGRES_SETTINGS, &[]),
                    };
                    for setting in settings.iter().chain(bulk) {
                        sqlx::Executor::execute(&mut *conn, *setting).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|source| DbError::Connect {
                url: redact_url(&url),
                source,
            })?;
        let writes = match backend {
            Backend::Sqlite => WriteQueue::grouped(&pool, sqlite_writer_pragmas),
            Backend::Postgres => WriteQueue::direct(&pool),
        };
        Ok(Db {
            pool,
            backend,
            writes,
            url: SecretUrl(url.into()),
        })
    }

    /// Tells every server on this database that `channel` happened: a Postgres `NOTIFY`, which
    /// reaches each [`Db::listen`]er. Nothing on SQLite, whose file one server owns.
    pub async fn announce(&self, channel: &str) -> Result<(), DbError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(channel)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Calls `heard` whenever a server on this database announces `channel`, and after the
    /// listening connection came back from a loss (when an announcement may have been missed),
    /// for as long as the process runs. Nothing on SQLite.
    pub fn listen(&self, channel: &'static str, heard: impl Fn() + Send + Sync + 'static) {
        if self.backend != Backend::Postgres {
            return;
        }
        let url = self.url.clone();
        tokio::spawn(async move {
            loop {
                let listening = async {
                    let mut listener = sqlx::postgres::PgListener::connect(&url.0).await?;
                    listener.listen(channel).await?;
                    loop {
                        // `None`: the connection was lost; the next call connects again.
                        listener.try_recv().await?;
                        heard();
                    }
                };
                let result: Result<(), sqlx::Error> = listening.await;
                if let Err(error) = result {
                    tracing::warn!(%error, channel, "listening for announcements failed; again in a second");
                }
                // Whatever was announced meanwhile was missed.
                heard();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query_scalar::<_, i64>("SELECT 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }

    /// For reads. Writes go through [`Db::writes`], so that on SQLite one writer holds the lock.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// One connection of the pool, held for a page's reads: sqlx pings each connection as it
    /// comes back to the pool (a round trip to Postgres, or to the connection's thread on
    /// SQLite), so a page that runs its statements on one connection pays that once.
    pub async fn reader(&self) -> Result<PoolConnection<Any>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// Every write: a job run in its own transaction (Postgres) or savepoint of a group commit
    /// by the single writer (SQLite).
    pub fn writes(&self) -> &WriteQueue {
        &self.writes
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.writes.stop();
        self.pool.close().await;
    }
}

/// One connection of the pool for a page's reads, taken when the first of them needs it (a
/// page whose data is all in the catalog's memory takes none) and shared by the rest: each
/// connection handed back costs a round trip (see [`Db::reader`]).
pub struct PageReader<'d> {
    db: &'d Db,
    conn: Option<PoolConnection<Any>>,
}

impl<'d> PageReader<'d> {
    pub fn new(db: &'d Db) -> PageReader<'d> {
        PageReader { db, conn: None }
    }

    pub async fn conn(&mut self) -> Result<&mut sqlx::AnyConnection, sqlx::Error> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.db.reader().await?,
        };
        Ok(&mut **self.conn.insert(conn))
    }
}

/// The URL without its password, fit for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// A statement being built with numbered `$n` placeholders (which both databases accept) and
/// the values to bind to them, in order.
#[derive(Default)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

pub enum Arg {
    Int(i64),
    Text(String),
    /// An integer or NULL.
    MaybeInt(Option<i64>),
    /// Text or NULL.
    MaybeText(Option<String>),
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl Arg {
    /// Binds the value to `query`'s next placeholder.
    pub fn bind_to<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        match self {
            Arg::Int(i) => query.bind(*i),
            Arg::Text(s) => query.bind(s.as_str()),
            Arg::MaybeInt(i) => query.bind(*i),
            Arg::MaybeText(s) => query.bind(s.as_deref()),
        }
    }
}

impl Sql {
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    /// Appends `(…)` with a placeholder for each value: the list of an `IN`.
    pub fn bind_list<T: Into<Arg>>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        self.text.push('(');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value);
        }
        self.text.push(')');
        self
    }

    pub fn query(&self) -> AnyQuery<'_> {
        self.args
            .iter()
            .fold(sqlx::query(&self.text), |q, arg| arg.bind_to(q))
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(v)
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Arg {
        Arg::MaybeInt(v)
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::Text(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(v.to_string())
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Arg {
        Arg::MaybeText(v.map(str::to_string))
    }
}

/// A column that holds text the code does not know (a status, a currency) is a decode error.
pub fn decode_error(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("unexpected value '{value}'").into(),
    }
}

pub fn currency_of(
    row: &sqlx::any::AnyRow,
    column: &str,
) -> Result<crate::money::Currency, sqlx::Error> {
    let code: String = row.try_get(column)?;
    crate::money::Currency::parse(&code).map_err(|_| decode_error(column, &code))
}

/// A non-negative count column (quantities are `CHECK`ed positive in the schema).
pub fn count(row: &sqlx::any::AnyRow, column: &str) -> Result<u32, sqlx::Error> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| decode_error(column, &value.to_string()))
}

/// Seconds since the Unix epoch, the timestamp format of every table (portable across both
/// databases and `sqlx::Any`).
/// A client's address as the rate limits keep it: a hash, so no table holds an address (the
/// rows live minutes; the hash only needs to tell addresses apart).
pub fn address_key(address: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("kassa rate limit\n{address}").as_bytes());
    hex::encode(&digest[..16])
}

pub fn now_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Bound values per statement: under SQLite's limit (32,766) and Postgres's (65,535), and
/// small enough that a statement is quick to prepare.
const VALUES_PER_STATEMENT: usize = 8_000;

/// `head` (`INSERT INTO t (a, b)`) with `values` as rows of `width` values, in as few
/// statements as the parameter limit allows. With `returning` (`RETURNING id`), the rows every
/// statement returned, in no promised order.
pub async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    head: &str,
    width: usize,
    values: &[Arg],
    returning: &str,
) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
    debug_assert!(width > 0 && values.len().is_multiple_of(width));
    let rows_per_statement = (VALUES_PER_STATEMENT / width).max(1);
    // SQLite looks a numbered parameter up by a linear search, which makes a statement of
    // thousands of `$n` quadratic; plain `?` are taken in order.
    let numbered = Backend::of(conn) == Backend::Postgres;
    let mut returned = Vec::new();
    for chunk in values.chunks(rows_per_statement * width) {
        let mut sql = String::with_capacity(head.len() + chunk.len() * 6);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        for (i, _) in chunk.iter().enumerate() {
            let separator = match (i % width, i) {
                (0, 0) => "(",
                (0, _) => "), (",
                _ => ", ",
            };
            sql.push_str(separator);
            match numbered {
                true => sql.push_str(&format!("${}", i + 1)),
                false => sql.push('?'),
            }
        }
        sql.push_str(") ");
        sql.push_str(returning);
        // Not kept in the connection's statement cache: their text changes with the batch.
        let query = chunk
            .iter()
            .fold(sqlx::query(&sql).persistent(false), |q, value| {
                value.bind_to(q)
            });
        if returning.is_empty() {
            query.execute(&mut *conn).await?;
        } else {
            returned.extend(query.fetch_all(&mut *conn).await?);
        }
    }
    Ok(returned)
}

/// What Postgres should do with [`planned_once`]'s statements, set for its transaction alone.
const PLAN_ONCE: &str = "BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan";

/// `conn`, for reads whose statements Postgres should plan once and keep (a generic plan),
/// rather than plan again for their parameters each time.
///
/// A prepared statement gets a plan made for its parameters on each of its first five runs;
/// then Postgres keeps a generic plan only if it estimates it costs no more, and otherwise
/// plans every run. For a search's tiers it plans every run, and planning cost more than
/// running (100,000 products: 1.5 ms planning + 0.35 ms running), though the generic plan
/// reads the same rows; so it did for a search sorted by name. Those statements are written
/// so that their way through the tables does not depend on their parameters. Only such
/// statements belong here: the price-sorted search of that time (the listing along the sort,
/// kept to `l.product_id IN (matches)`) read every match under its generic plan (95 pages a
/// second instead of 785). Its successor,
/// `listing::postgres_search_in_order`, is written so that the generic plan Postgres keeps
/// of its own accord serves any words, and needs none of this; nor does a statement without
/// parameters, which Postgres plans once (the home page's).
///
/// On Postgres the reads run in a read-only transaction that sets `plan_cache_mode` for
/// itself: the setting ends with it, and a transaction dropped unfinished (a render
/// cancelled by a closed connection) is rolled back before the connection is used again, so
/// no other statement of the pool is planned this way. One round trip more (the rollback
/// travels with the pool's ping on release). On SQLite, `conn` as it is.
pub async fn planned_once(conn: &mut sqlx::AnyConnection) -> Result<PlannedOnce<'_>, sqlx::Error> {
    use sqlx::Connection;
    match Backend::of(conn) {
        Backend::Postgres => Ok(PlannedOnce::Postgres(conn.begin_with(PLAN_ONCE).await?)),
        Backend::Sqlite => Ok(PlannedOnce::AsItIs(conn)),
    }
}

/// A connection from [`planned_once`]: use it as the `AnyConnection` it derefs to.
pub enum PlannedOnce<'c> {
    Postgres(sqlx::Transaction<'c, Any>),
    AsItIs(&'c mut sqlx::AnyConnection),
}

impl std::ops::Deref for PlannedOnce<'_> {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &sqlx::AnyConnection {
        match self {
            PlannedOnce::Postgres(transaction) => transaction,
            PlannedOnce::AsItIs(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for PlannedOnce<'_> {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        match self {
            PlannedOnce::Postgres(transaction) => transaction,
            PlannedOnce::AsItIs(conn) => conn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pragma(db: &Db, name: &str) -> i64 {
        sqlx::query(&format!("PRAGMA {name}"))
            .fetch_one(db.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    }

    #[tokio::test]
    async fn only_a_bulk_writer_commits_without_syncing_and_it_ends_in_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("kassa.db").display());
        let shop = Db::connect_with(&url, Some(2)).await.unwrap();
        // FULL (2): a paid order is on disk before the shopper hears of it.
        assert_eq!(pragma(&shop, "synchronous").await, 2);
        assert_eq!(pragma(&shop, "temp_store").await, 0);

        let import = Db::connect_for_bulk_writes(&url, Some(2)).await.unwrap();
        // NORMAL (1), statement journals in memory (2), checkpoints every 40,000 pages.
        assert_eq!(pragma(&import, "synchronous").await, 1);
        assert_eq!(pragma(&import, "temp_store").await, 2);
        assert_eq!(pragma(&import, "wal_autocheckpoint").await, 40_000);
        // The writer's page cache is its own (16 MB), its readers' SQLite's default (2 MB).
        let writer_cache: i64 = import
            .writes()
            .run(
                |conn| -> crate::write_queue::JobFuture<'_, Result<i64, sqlx::Error>> {
                    Box::pin(async move {
                        sqlx::query_scalar("PRAGMA cache_size")
                            .fetch_one(&mut *conn)
                            .await
                    })
                },
            )
            .await
            .unwrap();
        assert_eq!(writer_cache, -16_000);
        assert_eq!(pragma(&import, "cache_size").await, -2_000);
        assert_eq!(pragma(&shop, "cache_size").await, -2_000);
        assert_eq!(
            pragma(&import, "foreign_keys").await,
            1,
            "the shop's own settings stay"
        );

        sqlx::query("CREATE TABLE written (n INTEGER)")
            .execute(import.pool())
            .await
            .unwrap();
        sqlx::query("INSERT INTO written VALUES (1), (2)")
            .execute(import.pool())
            .await
            .unwrap();
        let count = |db: Db| async move {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM written")
                .fetch_one(db.pool())
                .await
                .unwrap();
            n
        };
        assert_eq!(count(shop).await, 2, "the shop reads what the import wrote");

        // Below the checkpoint interval the writes are in the WAL alone; once made durable
        // they are in the database file itself (a copy of it without its WAL holds them), and
        // the WAL file is empty while the import's connections are still open.
        let wal = dir.path().join("kassa.db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        import.make_durable().await.unwrap();
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
        let copy = tempfile::tempdir().unwrap();
        std::fs::copy(dir.path().join("kassa.db"), copy.path().join("kassa.db")).unwrap();
        let url = format!("sqlite://{}", copy.path().join("kassa.db").display());
        assert_eq!(
            count(Db::connect_with(&url, Some(1)).await.unwrap()).await,
            2
        );
    }

    #[tokio::test]
    async fn the_sqlite_writer_keeps_its_connection_from_one_write_to_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("kassa.db").display());
        let db = Db::connect_with(&url, Some(2)).await.unwrap();
        let write = |sql: &'static str| {
            db.writes().run(
                move |conn| -> crate::write_queue::JobFuture<'_, Result<u64, sqlx::Error>> {
                    Box::pin(async move {
                        Ok(sqlx::query(sql).execute(&mut *conn).await?.rows_affected())
                    })
                },
            )
        };
        // A temporary table is its connection's alone: the second write finds it only on the
        // same connection, after readers took every connection of the pool in between.
        write("CREATE TEMP TABLE writer_only (n INTEGER)")
            .await
            .unwrap();
        for _ in 0..4 {
            sqlx::query("SELECT 1").execute(db.pool()).await.unwrap();
        }
        assert_eq!(
            write("INSERT INTO writer_only VALUES (1)").await.unwrap(),
            1
        );
        // Closing the pool stops the writes, the writer's connection being outside it.
        db.pool().close().await;
        assert!(write("INSERT INTO writer_only VALUES (2)").await.is_err());
    }

    #[test]
    fn the_backend_comes_from_the_url_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://data/kassa.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(matches!(
            Backend::from_url("mysql://u@h/db"),
            Err(DbError::UnsupportedScheme(s)) if s == "mysql"
        ));
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://shop:s3cret@db.example:5432/kassa"),
            "postgres://shop:***@db.example:5432/kassa"
        );
        assert_eq!(
            redact_url("sqlite://data/kassa.db"),
            "sqlite://data/kassa.db"
        );
    }
}
