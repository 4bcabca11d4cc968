//! SQLite's allocations go to mimalloc once `sqlite_memory::use_mimalloc` ran first: a test
//! file of its own, since the configuration must come before any database in the process.

use kassa::sqlite_memory;
use libsqlite3_sys as ffi;

#[tokio::test]
async fn sqlite_allocates_from_mimalloc_and_works_as_before() {
    sqlite_memory::use_mimalloc().expect("configured before any database");

    // A pointer from SQLite's allocator is one of mimalloc's.
    let pointer = unsafe { ffi::sqlite3_malloc(1000) };
    assert!(!pointer.is_null());
    assert!(unsafe { libmimalloc_sys::mi_is_in_heap_region(pointer) });
    assert!(unsafe { ffi::sqlite3_msize(pointer) } >= 1000);
    let grown = unsafe { ffi::sqlite3_realloc(pointer, 100_000) };
    assert!(unsafe { libmimalloc_sys::mi_is_in_heap_region(grown) });
    unsafe { ffi::sqlite3_free(grown) };

    // A database as the shop opens it works: tables, an index, sorting, and the statistics
    // SQLite no longer keeps read as nothing rather than failing.
    // One connection: each connection to `:memory:` has a database of its own.
    let db = app::db::Db::connect_with("sqlite::memory:", Some(1))
        .await
        .expect("opened");
    let pool = db.pool();
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) \
         INSERT INTO t (id, name) SELECT i, printf('product %05d', 20001 - i) FROM n",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("CREATE INDEX t_name ON t (name)")
        .execute(pool)
        .await
        .unwrap();
    let (first,): (String,) = sqlx::query_as("SELECT name FROM t ORDER BY name LIMIT 1")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(first, "product 00001");
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM t WHERE name LIKE 'product 1%'")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(count, 10_000);

    // Too late once SQLite started: an error, not a crash.
    assert!(sqlite_memory::use_mimalloc().is_err());
}
