//! Group commit: transactions committing concurrently share SQLite transactions (and
//! `fsync`s), yet each `commit` returns only once its writes are durable and visible to
//! the snapshot reader, a transaction rolled back or failing inside a batch takes only its
//! own writes with it, and everything committed is there after reopening the file.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::sync::Barrier;

use anju_domain::ledger::{ChainHead, genesis_hash};
use anju_store::{CentreRow, Store};
use anju_store_sqlite::SqliteStore;

fn centre(code: &str) -> CentreRow {
    CentreRow {
        code: code.into(),
        name: "测试中心".into(),
        business_date: "2026-01-05".parse().unwrap(),
        head: ChainHead {
            seq: 0,
            hash: genesis_hash(code),
        },
        created_at_us: 0,
    }
}

const THREADS: usize = 8;
const EACH: usize = 60;

/// What transaction `i` of thread `t` does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Commit,
    /// Writes, then is dropped.
    RollBack,
    /// Writes, then writes a duplicate (an error), then is dropped.
    Fail,
}

fn fate(i: usize) -> Fate {
    match i % 6 {
        4 => Fate::RollBack,
        5 => Fate::Fail,
        _ => Fate::Commit,
    }
}

fn code(t: usize, i: usize) -> String {
    format!("33{t:02}{i:011}")
}

#[test]
fn concurrent_commits_share_fsyncs_and_stay_durable_and_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let store = SqliteStore::open(&path).unwrap();
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (store, barrier) = (&store, &barrier);
            s.spawn(move || {
                barrier.wait();
                for i in 0..EACH {
                    let c = code(t, i);
                    let mut tx = store.begin().unwrap();
                    tx.insert_centre(&centre(&c)).unwrap();
                    match fate(i) {
                        Fate::Commit => {
                            tx.commit().unwrap();
                            // Durable before commit returned: the snapshot reader (which
                            // only sees committed SQLite transactions) has it.
                            let mut r = store.begin_read().unwrap();
                            assert!(r.centre(&c).unwrap().is_some(), "{c} not visible");
                        }
                        Fate::RollBack => drop(tx),
                        Fate::Fail => {
                            assert!(tx.insert_centre(&centre(&c)).is_err());
                            drop(tx);
                        }
                    }
                }
            });
        }
    });
    let (logical, physical) = store.commit_counts();
    let committed = (0..EACH).filter(|i| fate(*i) == Fate::Commit).count() * THREADS;
    assert_eq!(logical, committed as u64);
    assert!(
        physical < logical,
        "{physical} SQLite commits for {logical} transactions: nothing was grouped"
    );
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    let mut tx = store.begin_read().unwrap();
    let codes = tx.centre_codes().unwrap();
    assert_eq!(codes.len(), committed);
    for t in 0..THREADS {
        for i in 0..EACH {
            let present = tx.centre(&code(t, i)).unwrap().is_some();
            assert_eq!(present, fate(i) == Fate::Commit, "{}", code(t, i));
        }
    }
}

#[test]
fn a_lone_commit_is_one_sqlite_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("one.db")).unwrap();
    let before = store.commit_counts();
    for i in 0..3 {
        let mut tx = store.begin().unwrap();
        tx.insert_centre(&centre(&format!("3308000000000{i:02}")))
            .unwrap();
        tx.commit().unwrap();
    }
    let after = store.commit_counts();
    assert_eq!((after.0 - before.0, after.1 - before.1), (3, 3));
    // The schema (which needs the connection idle) still reads after commits.
    assert!(store.schema().unwrap().iter().any(|t| t.name == "centres"));
}
