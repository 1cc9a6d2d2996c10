//! The SQLite store's account-figures cache is never stale: a rolled-back write does not
//! enter it, and a change committed by another connection (another process, or someone
//! editing the file) is seen by the next transaction.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_domain::ledger::{AccountNo, AccountState, ChainHead, genesis_hash};
use anju_domain::money::Fen;
use anju_store::{CentreRow, Store};
use anju_store_sqlite::SqliteStore;

const C: &str = "330800000000000";

fn d(s: &str) -> jiff::civil::Date {
    s.parse().unwrap()
}

fn setup() -> (tempfile::TempDir, SqliteStore, AccountNo) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
    let no = AccountNo::parse("201.M1").unwrap();
    let mut tx = store.begin().unwrap();
    tx.insert_centre(&CentreRow {
        code: C.into(),
        name: "测试中心".into(),
        business_date: d("2026-01-05"),
        head: ChainHead {
            seq: 0,
            hash: genesis_hash(C),
        },
        created_at_us: 0,
    })
    .unwrap();
    tx.insert_accounts(C, &[AccountState::open(no.clone(), d("2026-01-05"))])
        .unwrap();
    tx.commit().unwrap();
    (dir, store, no)
}

fn balance(store: &SqliteStore, no: &AccountNo) -> i64 {
    let mut tx = store.begin().unwrap();
    tx.load_accounts(C, std::slice::from_ref(no))
        .unwrap()
        .pop()
        .unwrap()
        .balance
        .fen()
}

#[test]
fn rolled_back_writes_never_reach_the_cache() {
    let (_dir, store, no) = setup();
    assert_eq!(balance(&store, &no), 0);
    {
        let mut tx = store.begin().unwrap();
        let mut a = tx
            .load_accounts(C, std::slice::from_ref(&no))
            .unwrap()
            .pop()
            .unwrap();
        a.balance = Fen::new(500);
        tx.save_accounts(C, &[a]).unwrap();
        // Inside the transaction its own write is visible…
        let seen = tx
            .load_accounts(C, std::slice::from_ref(&no))
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(seen.balance, Fen::new(500));
        // …and it is dropped without commit.
    }
    assert_eq!(balance(&store, &no), 0);
    // A committed write is visible afterwards.
    let mut tx = store.begin().unwrap();
    let mut a = tx
        .load_accounts(C, std::slice::from_ref(&no))
        .unwrap()
        .pop()
        .unwrap();
    a.balance = Fen::new(700);
    tx.save_accounts(C, &[a]).unwrap();
    tx.commit().unwrap();
    assert_eq!(balance(&store, &no), 700);
}

#[test]
fn changes_by_another_connection_invalidate_the_cache() {
    let (dir, store, no) = setup();
    assert_eq!(balance(&store, &no), 0); // now cached
    let other = rusqlite::Connection::open(dir.path().join("c.db")).unwrap();
    other
        .execute(
            "UPDATE ledger_accounts SET balance_fen = 123 WHERE account_no = '201.M1'",
            [],
        )
        .unwrap();
    drop(other);
    assert_eq!(balance(&store, &no), 123);
}

#[test]
fn a_failed_write_cannot_be_committed_and_leaves_nothing() {
    let (_dir, store, no) = setup();
    let mut tx = store.begin().unwrap();
    let fresh = AccountNo::parse("201.M2").unwrap();
    // The second account exists already: the call fails after writing the first.
    let err = tx
        .insert_accounts(
            C,
            &[
                AccountState::open(fresh.clone(), d("2026-01-05")),
                AccountState::open(no.clone(), d("2026-01-05")),
            ],
        )
        .unwrap_err();
    assert!(
        matches!(err, anju_store::StoreError::Conflict { .. }),
        "{err}"
    );
    assert!(
        tx.commit().is_err(),
        "a transaction with a failed write must not commit"
    );
    let mut tx = store.begin().unwrap();
    assert!(tx.load_accounts(C, &[fresh]).unwrap().is_empty());
}
