//! A new SQLite database is made with 8 KiB pages (PostgreSQL's block size); a database
//! made earlier with SQLite's default 4 KiB pages keeps them and opens as before.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_store::Store;
use anju_store_sqlite::SqliteStore;

fn page_size(path: &std::path::Path) -> i64 {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap()
}

#[test]
fn a_new_database_has_8_kib_pages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let store = SqliteStore::open(&path).unwrap();
    drop(store);
    assert_eq!(page_size(&path), 8192);
}

#[test]
fn an_existing_4_kib_database_keeps_its_pages_and_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER);",
        )
        .unwrap();
    }
    assert_eq!(page_size(&path), 4096);
    let store = SqliteStore::open(&path).unwrap();
    // Migrated and usable.
    let mut tx = store.begin().unwrap();
    assert!(tx.centre("330800000000000").unwrap().is_none());
    drop(tx);
    drop(store);
    assert_eq!(page_size(&path), 4096);
}
