//! What makes the storefront's catalog pages change, written below both the catalog and the
//! stock so that each can say so: how a page shows stock ([`shown_stock`]), and the note every
//! write that changes a page leaves ([`note_catalog_changed`]), which `catalog::memory` hears.

/// From how few units on a product page says how many are left ("Only 3 left") rather than
/// "In stock": a sale that changes what is shown changes the catalog (see `inventory::apply`).
pub const FEW_LEFT: i64 = 5;

/// What a product page shows of `available` units: their number up to [`FEW_LEFT`], then the
/// same for any more.
pub fn shown_stock(available: i64) -> i64 {
    available.clamp(0, FEW_LEFT + 1)
}

#[cfg(feature = "ssr")]
pub use on_server::*;

#[cfg(feature = "ssr")]
mod on_server {
    use std::sync::atomic::{AtomicU64, Ordering};

    use sqlx::AnyConnection;

    /// Catalog changes committed by this process ([`note_catalog_changed`]), heard at once by
    /// every `CatalogMemory` in it; the others hear of them from the database's version.
    /// (Several servers in one process, as the tests run them, forget each other's: forgetting
    /// is always safe.)
    static CHANGES_HERE: AtomicU64 = AtomicU64::new(0);

    /// How many catalog changes this process has committed.
    pub fn changes_here() -> u64 {
        CHANGES_HERE.load(Ordering::SeqCst)
    }

    /// Moves the catalog's version on, inside the caller's write: this process forgets its
    /// catalog pages' data as soon as the write is committed, the other servers within a
    /// second (`catalog::memory::POLL_EVERY`). Every write that changes what a catalog page
    /// shows, and is not a staff request (those are heard by the server), calls this.
    pub async fn note_catalog_changed(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE catalog_version SET version = version + 1 WHERE id = 1")
            .execute(conn)
            .await?;
        crate::write_queue::after_commit(|| {
            CHANGES_HERE.fetch_add(1, Ordering::SeqCst);
        });
        Ok(())
    }
}
