//! The catalog pages' data, kept in memory until the catalog changes.
//!
//! A product page is six statements and a collection page three; on SQLite each statement is a
//! hand-off to the connection's thread and back, and the answers cost more to read than the
//! page costs to render (`scripts/bench-catalog.sh`: 1,400 product pages a second from the
//! database). What a catalog page shows changes only when staff edit the catalog, an import
//! runs, or a variant sells out or comes back, so the server keeps what it read, weighed, least
//! recently used first out, and forgets all of it when one of those happens:
//!
//! - **Staff edits in this server**: forgotten at once ([`CatalogMemory::forget`], called with
//!   the page cache's clearing), and announced to the other servers of a Postgres database.
//! - **Announcements from the other servers** (Postgres `NOTIFY`): forgotten on hearing them.
//! - **Anything else committed that a page shows** (a sale that changes the stock shown, an
//!   import, new picture copies), on either database: the `catalog_version` row moves on in
//!   the same transaction ([`crate::catalog_changes::note_catalog_changed`]); this process
//!   hears of it once committed, and every server reads the row each [`POLL_EVERY`], which is
//!   how another process or server's change arrives. A new write path that changes what a
//!   catalog page shows, other than a staff request, must call it.
//!
//! Each entry remembers the generation it was read in; what was read while a change happened
//! is not kept. Figures that change with orders rather than with the catalog (the products
//! bought together) are kept for a while only ([`CatalogMemory::remember_for`]).
//!
//! The shopper's total is still priced by the server at checkout, from the database.

use std::any::Any;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use serde::Serialize;

use crate::db::Db;

/// How often each server reads the catalog's version.
pub const POLL_EVERY: Duration = Duration::from_secs(1);

/// The catalog pages' data this server keeps, by what was asked; cheap to clone.
#[derive(Clone, Default)]
pub struct CatalogMemory {
    /// `None`: kept nothing (a budget of zero).
    inner: Option<Arc<Inner>>,
}

struct Inner {
    entries: Cache<String, Entry>,
    /// Moves on with every change: an entry read before it is not used after.
    generation: AtomicU64,
    /// The [`crate::catalog_changes::changes_here`] last seen: when it moved on, everything kept is forgotten.
    changes_seen: AtomicU64,
}

#[derive(Clone)]
struct Entry {
    generation: u64,
    read_at: Instant,
    value: Arc<dyn Any + Send + Sync>,
    /// Its size as JSON: near enough to what it holds, for the byte budget.
    weight: u32,
}

impl CatalogMemory {
    /// Keeps up to `budget_bytes` of page data (zero keeps none) and, with a database, reads
    /// its catalog version every [`POLL_EVERY`] to forget it when another process changed it.
    pub fn new(budget_bytes: u64, db: Option<&Db>) -> CatalogMemory {
        if budget_bytes == 0 {
            return CatalogMemory::default();
        }
        let entries = Cache::builder()
            .max_capacity(budget_bytes)
            .eviction_policy(EvictionPolicy::lru())
            .weigher(|key: &String, entry: &Entry| {
                entry
                    .weight
                    .saturating_add(key.len().try_into().unwrap_or(u32::MAX))
            })
            .build();
        let inner = Arc::new(Inner {
            entries,
            generation: AtomicU64::new(0),
            changes_seen: AtomicU64::new(crate::catalog_changes::changes_here()),
        });
        if let Some(db) = db {
            tokio::spawn(follow_catalog_version(db.clone(), Arc::downgrade(&inner)));
        }
        CatalogMemory { inner: Some(inner) }
    }

    /// Forgets everything kept: the catalog changed.
    pub fn forget(&self) {
        if let Some(inner) = &self.inner {
            inner.forget();
        }
    }

    /// What `read` gives, kept until the catalog changes. Errors are not kept.
    pub async fn remember<T, E>(
        &self,
        key: String,
        read: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E>
    where
        T: Clone + Serialize + Send + Sync + 'static,
    {
        self.remember_within(key, None, read).await
    }

    /// [`CatalogMemory::remember`], read again after `max_age` even if the catalog did not
    /// change: for figures that follow the orders.
    pub async fn remember_for<T, E>(
        &self,
        key: String,
        max_age: Duration,
        read: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E>
    where
        T: Clone + Serialize + Send + Sync + 'static,
    {
        self.remember_within(key, Some(max_age), read).await
    }

    async fn remember_within<T, E>(
        &self,
        key: String,
        max_age: Option<Duration>,
        read: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E>
    where
        T: Clone + Serialize + Send + Sync + 'static,
    {
        let Some(inner) = &self.inner else {
            return read.await;
        };
        inner.hear_changes_here();
        // Taken before reading: a change during the read makes what was read not kept.
        let generation = inner.generation.load(Ordering::SeqCst);
        if let Some(entry) = inner.entries.get(&key) {
            let current = entry.generation == generation
                && max_age.is_none_or(|age| entry.read_at.elapsed() < age);
            if let (true, Some(value)) = (current, entry.value.downcast_ref::<T>()) {
                return Ok(value.clone());
            }
        }
        let value = read.await?;
        let weight = json_length(&value);
        inner.hear_changes_here();
        if inner.generation.load(Ordering::SeqCst) == generation {
            let entry = Entry {
                generation,
                read_at: Instant::now(),
                value: Arc::new(value.clone()),
                weight,
            };
            inner.entries.insert(key, entry);
        }
        Ok(value)
    }

    /// How many entries are kept (for tests and metrics; pending evictions may be counted).
    pub fn len(&self) -> u64 {
        self.inner.as_ref().map_or(0, |inner| {
            inner.entries.run_pending_tasks();
            inner.entries.entry_count()
        })
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A handle that forgets this memory's contents for as long as it exists, without keeping
    /// it alive: for listeners that run as long as the process.
    pub fn forgetter(&self) -> impl Fn() + Send + Sync + 'static {
        let weak = self.inner.as_ref().map(Arc::downgrade);
        move || {
            if let Some(inner) = weak.as_ref().and_then(Weak::upgrade) {
                inner.forget();
            }
        }
    }
}

impl Inner {
    fn forget(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.invalidate_all();
    }

    /// Forgets everything if this process committed a catalog change since last asked.
    fn hear_changes_here(&self) {
        let changes = crate::catalog_changes::changes_here();
        if self.changes_seen.swap(changes, Ordering::SeqCst) != changes {
            self.forget();
        }
    }
}

/// Reads the catalog's version every [`POLL_EVERY`] while the memory exists, and forgets the
/// memory's contents when the version moved on. A failed read is tried again at the next tick;
/// the memory is forgotten then, since a change may have gone unseen meanwhile.
async fn follow_catalog_version(db: Db, memory: Weak<Inner>) {
    let mut seen: Option<i64> = None;
    let mut ticks = tokio::time::interval(POLL_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(inner) = memory.upgrade() else {
            return;
        };
        if db.pool().is_closed() {
            return;
        }
        let version =
            sqlx::query_scalar::<_, i64>("SELECT version FROM catalog_version WHERE id = 1")
                .fetch_one(db.pool())
                .await;
        match version {
            Ok(version) => {
                if seen.is_some_and(|seen| seen != version) {
                    inner.forget();
                }
                seen = Some(version);
            }
            Err(error) => {
                tracing::debug!(%error, "could not read the catalog's version");
                if seen.take().is_some() {
                    inner.forget();
                }
            }
        }
    }
}

/// The length of `value` as JSON, counted without writing it anywhere.
fn json_length<T: Serialize>(value: &T) -> u32 {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0.try_into().unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::sync::atomic::AtomicUsize;

    async fn read_counted(reads: &AtomicUsize, value: &str) -> Result<String, Infallible> {
        reads.fetch_add(1, Ordering::SeqCst);
        Ok(value.to_string())
    }

    #[tokio::test]
    async fn a_page_is_read_once_until_the_catalog_changes() {
        let memory = CatalogMemory::new(1 << 20, None);
        let reads = AtomicUsize::new(0);
        for _ in 0..3 {
            let got = memory
                .remember("product a".into(), read_counted(&reads, "A"))
                .await;
            assert_eq!(got, Ok("A".to_string()));
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        memory.forget();
        let got = memory
            .remember("product a".into(), read_counted(&reads, "A2"))
            .await;
        assert_eq!(got, Ok("A2".to_string()));
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn what_was_read_while_the_catalog_changed_is_not_kept() {
        let memory = CatalogMemory::new(1 << 20, None);
        let during = memory.clone();
        let got = memory
            .remember("product a".into(), async move {
                during.forget();
                Ok::<_, Infallible>("old".to_string())
            })
            .await;
        assert_eq!(got, Ok("old".to_string()));
        let reads = AtomicUsize::new(0);
        let got = memory
            .remember("product a".into(), read_counted(&reads, "new"))
            .await;
        assert_eq!(got, Ok("new".to_string()));
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn errors_are_not_kept_and_a_budget_of_zero_keeps_nothing() {
        let memory = CatalogMemory::new(1 << 20, None);
        let failed: Result<String, &str> = memory
            .remember("product gone".into(), async { Err("not found") })
            .await;
        assert_eq!(failed, Err("not found"));
        assert!(memory.is_empty());

        let off = CatalogMemory::new(0, None);
        let reads = AtomicUsize::new(0);
        for _ in 0..2 {
            let _ = off.remember("k".into(), read_counted(&reads, "v")).await;
        }
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn figures_kept_for_a_while_are_read_again_after_it() {
        let memory = CatalogMemory::new(1 << 20, None);
        let reads = AtomicUsize::new(0);
        let age = Duration::from_millis(30);
        let _ = memory
            .remember_for("together a".into(), age, read_counted(&reads, "1"))
            .await;
        let _ = memory
            .remember_for("together a".into(), age, read_counted(&reads, "1"))
            .await;
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        tokio::time::sleep(age * 2).await;
        let _ = memory
            .remember_for("together a".into(), age, read_counted(&reads, "2"))
            .await;
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn the_byte_budget_lets_the_least_recently_used_go() {
        let memory = CatalogMemory::new(10_000, None);
        let page = "x".repeat(1_000);
        for i in 0..50 {
            let _ = memory
                .remember(format!("product {i}"), async {
                    Ok::<_, Infallible>(page.clone())
                })
                .await;
        }
        assert!(memory.len() <= 10, "{} entries kept", memory.len());
    }
}
