//! A quick smoke test of the store port, run identically on every backend in
//! `anju_testkit::backends()`: centres, accounts, figures and the journal round-trip;
//! duplicates are `Conflict`s named the same way; missing rows are `NotFound`; a dropped
//! transaction rolls back. Row counts on both sides of the bulk threshold, so the
//! PostgreSQL store's statement and COPY paths both run.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::fmt::Debug;
use std::str::FromStr;

use anju_domain::codes::Channel;
use anju_domain::ledger::{
    AccountNo, AccountState, ChainHead, Entry, EntryKind, Leg, SealedEntry, TxCode, genesis_hash,
};
use anju_domain::money::Fen;
use anju_domain::stamp::Stamp;
use anju_store::{CentreRow, LedgerCounts, StoreError};
use anju_testkit::{TestDb, for_each_backend};

const CENTRE: &str = "330800000000000";

fn parse<T: FromStr>(s: &str) -> T
where
    T::Err: Debug,
{
    s.parse().expect("test literal parses")
}

fn no(s: &str) -> AccountNo {
    AccountNo::parse(s).expect("test account number")
}

fn member(i: usize) -> AccountNo {
    no(&format!("201.M{i:05}"))
}

/// An entry moving `fen` from the bank into `to` (or back, for a reversal).
fn entry(key: &str, kind: EntryKind, ref_seq: Option<i64>, to: &AccountNo, fen: i64) -> Entry {
    let bank = no("101.ICBC");
    let legs = if kind == EntryKind::Reversal {
        vec![
            Leg::credit(bank, Fen::new(fen)),
            Leg::debit(to.clone(), Fen::new(fen)),
        ]
    } else {
        vec![
            Leg::debit(bank, Fen::new(fen)),
            Leg::credit(to.clone(), Fen::new(fen)),
        ]
    };
    Entry {
        key: key.to_owned(),
        kind,
        ref_seq,
        code: if kind == EntryKind::Reversal {
            TxCode::Reversal
        } else {
            TxCode::Remittance
        },
        business_date: parse("2026-01-05"),
        value_date: parse("2026-01-05"),
        memo: format!("2026-01 汇缴 {key}"),
        stamp: Stamp {
            operator: "staff:0001".to_owned(),
            channel: Channel::Counter,
            service_point: "hall-kecheng".to_owned(),
            on_behalf_of: (kind == EntryKind::Posted).then(|| "unit:U001".to_owned()),
        },
        legs,
    }
}

/// Seals `bodies` after `head`, moving it.
fn seal(head: &mut ChainHead, bodies: Vec<Entry>) -> Vec<SealedEntry> {
    bodies
        .into_iter()
        .map(|e| {
            let s = SealedEntry::seal(
                CENTRE,
                head.seq + 1,
                head.hash,
                1_767_000_000_000_000 + head.seq,
                e,
            );
            *head = ChainHead {
                seq: s.seq,
                hash: s.hash,
            };
            s
        })
        .collect()
}

fn sorted(mut v: Vec<AccountState>) -> Vec<AccountState> {
    v.sort_by(|a, b| a.no.cmp(&b.no));
    v
}

fn with_figures(mut a: AccountState, i: i64) -> AccountState {
    a.balance = Fen::new(10_000 + i);
    a.pending_out = Fen::new(i % 7);
    a.pending_in = Fen::new(i % 5);
    a.accrual = 123_456 * i;
    a.accrual_from = parse("2025-07-01");
    a.last_change = parse("2026-01-05");
    a.entry_count = i + 1;
    a
}

fn conflict(r: Result<(), StoreError>) -> String {
    match r {
        Err(StoreError::Conflict { what }) => what,
        other => panic!("expected a Conflict, got {other:?}"),
    }
}

fn not_found(r: Result<(), StoreError>) -> String {
    match r {
        Err(StoreError::NotFound { what }) => what,
        other => panic!("expected NotFound, got {other:?}"),
    }
}

fn smoke(db: &TestDb) {
    let store = db.store.as_ref();
    let b = db.backend;
    let opened = parse("2025-07-01");
    let centre = CentreRow {
        code: CENTRE.to_owned(),
        name: "衢州市住房公积金中心".to_owned(),
        business_date: parse("2026-01-05"),
        head: ChainHead {
            seq: 0,
            hash: genesis_hash(CENTRE),
        },
        created_at_us: 1_767_000_000_000_000,
    };

    // ---- centre and two accounts (statement path) ------------------------------------
    let bank = AccountState::open(no("101.ICBC"), opened);
    let alice = AccountState::open(no("201.A1"), opened);
    let mut tx = store.begin().expect("begin");
    tx.insert_centre(&centre).expect("insert centre");
    tx.insert_accounts(CENTRE, &[bank.clone(), alice.clone()])
        .expect("insert accounts");
    tx.commit().expect("commit");

    let mut tx = store.begin().expect("begin");
    assert_eq!(
        tx.centre(CENTRE).expect("centre"),
        Some(centre.clone()),
        "{b}"
    );
    assert_eq!(tx.centre("999").expect("centre"), None, "{b}");
    assert_eq!(
        tx.centre_codes().expect("codes"),
        vec![CENTRE.to_owned()],
        "{b}"
    );
    assert_eq!(
        tx.lock_centre(CENTRE).expect("head").head,
        centre.head,
        "{b}"
    );
    let loaded = tx
        .load_accounts(CENTRE, &[alice.no.clone(), no("201.NOPE"), bank.no.clone()])
        .expect("load");
    assert_eq!(
        sorted(loaded),
        sorted(vec![bank.clone(), alice.clone()]),
        "{b}"
    );

    // ---- figures ----------------------------------------------------------------------
    let bank2 = with_figures(bank.clone(), 0);
    let alice2 = with_figures(alice.clone(), 3);
    tx.save_accounts(CENTRE, &[alice2.clone(), bank2.clone()])
        .expect("save");
    assert_eq!(
        tx.all_accounts(CENTRE).expect("all"),
        vec![bank2.clone(), alice2.clone()],
        "{b}"
    );

    // ---- a two-entry journal (statement path) -------------------------------------------
    let mut head = centre.head;
    let journal = seal(
        &mut head,
        vec![
            entry("k1", EntryKind::Posted, None, &alice.no, 100),
            entry("k2", EntryKind::Reversal, Some(1), &alice.no, 100),
        ],
    );
    tx.insert_entries(CENTRE, &journal).expect("insert entries");
    tx.set_chain_head(CENTRE, head).expect("set head");
    tx.commit().expect("commit");

    let mut tx = store.begin().expect("begin");
    assert_eq!(
        tx.scan_entries(CENTRE, 0, 10).expect("scan"),
        journal,
        "{b}"
    );
    assert_eq!(
        tx.scan_entries(CENTRE, 0, 1).expect("scan"),
        journal[..1],
        "{b}"
    );
    assert_eq!(tx.scan_entries(CENTRE, 2, 10).expect("scan"), vec![], "{b}");
    let by_key = tx
        .entries_by_keys(CENTRE, &["k2".to_owned(), "nope".to_owned()])
        .expect("by key");
    assert_eq!(by_key, journal[1..], "{b}");
    assert_eq!(
        tx.referring_entries(CENTRE, &[1, 2]).expect("referring"),
        vec![(1, 2)],
        "{b}"
    );
    assert_eq!(tx.lock_centre(CENTRE).expect("head").head, head, "{b}");
    for e in &journal {
        e.verify().expect("stored entry verifies");
    }

    // ---- duplicates are conflicts (each failing call in its own transaction: after a
    // failed write a transaction is only dropped) -------------------------------------
    drop(tx);
    let what = conflict(
        store
            .begin()
            .expect("begin")
            .insert_accounts(CENTRE, std::slice::from_ref(&alice)),
    );
    assert_eq!(what, format!("account 201.A1 in centre {CENTRE}"), "{b}");
    let what = conflict(store.begin().expect("begin").insert_centre(&centre));
    assert_eq!(what, "UNIQUE constraint failed: centres.centre_code", "{b}");
    let mut h = head;
    let dup = seal(
        &mut h,
        vec![entry("k1", EntryKind::Posted, None, &alice.no, 5)],
    );
    let what = conflict(store.begin().expect("begin").insert_entries(CENTRE, &dup));
    assert_eq!(what, "journal entry seq 3 or key \"k1\"", "{b}");
    let what = not_found(store.begin().expect("begin").save_accounts(
        CENTRE,
        &[with_figures(AccountState::open(no("201.NOPE"), opened), 1)],
    ));
    assert!(
        what.contains("201.NOPE") && what.contains(CENTRE),
        "{b}: {what}"
    );
    let mut tx = store.begin().expect("begin");
    assert_eq!(
        not_found(tx.set_business_date("999", parse("2026-01-06"))),
        "centre 999",
        "{b}"
    );
    assert!(
        matches!(tx.lock_centre("999"), Err(StoreError::NotFound { .. })),
        "{b}"
    );
    assert_eq!(
        tx.counts(CENTRE).expect("counts"),
        LedgerCounts {
            accounts: 2,
            entries: 2,
            legs: 4
        },
        "{b}"
    );
    tx.set_business_date(CENTRE, parse("2026-01-06"))
        .expect("business date");
    tx.commit().expect("commit after handled conflicts");

    // ---- bulk: many accounts, figures and entries ---------------------------------------
    let members: Vec<AccountState> = (0..300)
        .map(|i| AccountState::open(member(i), opened))
        .collect();
    let mut tx = store.begin().expect("begin");
    tx.insert_accounts(CENTRE, &members)
        .expect("bulk insert accounts");
    let figures: Vec<AccountState> = members
        .iter()
        .enumerate()
        .map(|(i, a)| with_figures(a.clone(), i as i64))
        .collect();
    tx.save_accounts(CENTRE, &figures).expect("bulk save");
    let nos: Vec<AccountNo> = figures.iter().rev().map(|a| a.no.clone()).collect();
    let loaded = tx.load_accounts(CENTRE, &nos).expect("bulk load");
    assert_eq!(sorted(loaded), figures, "{b}");
    let bodies: Vec<Entry> = (0..120)
        .map(|i| {
            entry(
                &format!("bulk-{i}"),
                EntryKind::Posted,
                None,
                &member(i % 300),
                1 + i as i64,
            )
        })
        .collect();
    let bulk = seal(&mut head, bodies);
    tx.insert_entries(CENTRE, &bulk)
        .expect("bulk insert entries");
    tx.set_chain_head(CENTRE, head).expect("set head");
    tx.commit().expect("commit");

    let mut tx = store.begin().expect("begin");
    let all = tx.scan_entries(CENTRE, 0, 1_000).expect("scan");
    assert_eq!(all.len(), 122, "{b}");
    assert_eq!(all[2..], bulk[..], "{b}");
    let page = tx.scan_entries(CENTRE, 50, 10).expect("scan page");
    assert_eq!(page, bulk[48..58], "{b}");
    let mut keys: Vec<String> = bulk.iter().map(|s| s.entry.key.clone()).collect();
    keys.push("k1".to_owned());
    let mut by_key = tx.entries_by_keys(CENTRE, &keys).expect("by keys");
    by_key.sort_by_key(|s| s.seq);
    assert_eq!(by_key[0], journal[0], "{b}");
    assert_eq!(by_key[1..], bulk[..], "{b}");
    let all_accounts = tx.all_accounts(CENTRE).expect("all");
    assert_eq!(all_accounts.len(), 302, "{b}");
    assert!(
        all_accounts.windows(2).all(|w| w[0].no < w[1].no),
        "{b}: ordered"
    );
    assert_eq!(
        tx.counts(CENTRE).expect("counts"),
        LedgerCounts {
            accounts: 302,
            entries: 122,
            legs: 244
        },
        "{b}"
    );
    drop(tx);

    // Housekeeping after the bulk load changes no data; on SQLite the WAL is folded into
    // the database file (the -wal file left empty).
    store.optimize().expect("optimize");
    let mut tx = store.begin().expect("begin");
    assert_eq!(tx.scan_entries(CENTRE, 0, 1_000).expect("scan"), all, "{b}");
    assert_eq!(tx.all_accounts(CENTRE).expect("all"), all_accounts, "{b}");
    drop(tx);
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let wal = std::fs::metadata(format!("{path}-wal"))
            .expect("WAL file")
            .len();
        assert_eq!(wal, 0, "{b}: the WAL was folded in");
    }
    let tx = store.begin().expect("begin");

    // Bulk conflicts name the first clashing row.
    let mut again: Vec<AccountState> = (300..400)
        .map(|i| AccountState::open(member(i), opened))
        .collect();
    again.push(AccountState::open(member(7), opened));
    drop(tx);
    let what = conflict(
        store
            .begin()
            .expect("begin")
            .insert_accounts(CENTRE, &again),
    );
    assert_eq!(
        what,
        format!("account 201.M00007 in centre {CENTRE}"),
        "{b}"
    );
    let mut h = head;
    let mut bodies: Vec<Entry> = (0..100)
        .map(|i| entry(&format!("more-{i}"), EntryKind::Posted, None, &member(i), 3))
        .collect();
    bodies[60].key = "bulk-5".to_owned();
    let what = conflict(
        store
            .begin()
            .expect("begin")
            .insert_entries(CENTRE, &seal(&mut h, bodies)),
    );
    assert_eq!(
        what,
        format!("journal entry seq {} or key \"bulk-5\"", head.seq + 61),
        "{b}"
    );
    let mut missing = figures.clone();
    missing.insert(
        150,
        with_figures(AccountState::open(member(999), opened), 2),
    );
    let what = not_found(
        store
            .begin()
            .expect("begin")
            .save_accounts(CENTRE, &missing),
    );
    assert!(what.contains(CENTRE), "{b}: {what}");
    // Nothing a failed call wrote survives: its transaction was dropped.
    assert_eq!(
        store
            .begin()
            .expect("begin")
            .counts(CENTRE)
            .expect("counts")
            .accounts,
        302,
        "{b}"
    );

    // ---- a dropped transaction rolls back ----------------------------------------------
    let mut tx = store.begin().expect("begin");
    tx.insert_accounts(CENTRE, &[AccountState::open(no("201.GONE"), opened)])
        .expect("insert");
    let mut h = head;
    let gone = seal(
        &mut h,
        vec![entry("gone", EntryKind::Posted, None, &alice.no, 1)],
    );
    tx.insert_entries(CENTRE, &gone).expect("insert entry");
    tx.set_business_date(CENTRE, parse("2027-01-01"))
        .expect("date");
    drop(tx);
    let mut tx = store.begin().expect("begin");
    assert_eq!(
        tx.load_accounts(CENTRE, &[no("201.GONE")]).expect("load"),
        vec![],
        "{b}"
    );
    assert_eq!(
        tx.entries_by_keys(CENTRE, &["gone".to_owned()])
            .expect("keys"),
        vec![],
        "{b}"
    );
    let c = tx.centre(CENTRE).expect("centre").expect("exists");
    assert_eq!(c.business_date, parse("2026-01-06"), "{b}");
    assert_eq!(c.head, head, "{b}");
    tx.commit().expect("commit");
}

#[test]
fn the_store_port_round_trips_on_every_backend() {
    for_each_backend(smoke);
}
