//! The monthly batch's bulk methods against the per-row methods they replace: the same
//! rows come back, and `record_full_payments` leaves exactly what the trait's default loop
//! leaves — including the cases its set-wise statements must special-case (a bill paid
//! twice, a member advanced for different months, lines already paid, 1900-01) — and
//! conflicts and missing bills are refused with nothing written.
//!
//! Runs when `ANJU_TEST_BACKENDS` (default `sqlite,postgres`) names `postgres`, on a fresh
//! database at `ANJU_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::atomic::{AtomicU32, Ordering};

use anju_domain::codes::{PersonalAccountStatus, UnitAccountStatus};
use anju_domain::collection::YearMonth;
use anju_domain::ledger::{ChainHead, genesis_hash};
use anju_domain::money::{Fen, Rate};
use anju_store::collection::{BillKind, BillLineRow, BillRow, BillStatus, FullPayment, ReceiptRow};
use anju_store::registry::{MemberRow, UnitRow};
use anju_store::{CentreRow, Store, StoreError, StoreTx};
use anju_store_postgres::PostgresStore;
use jiff::civil::{Date, date};

const BULK: &str = "330800000000000";
const LOOP: &str = "330800000000001";

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn wanted() -> bool {
    std::env::var("ANJU_TEST_BACKENDS")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .split(',')
        .any(|b| b.trim() == "postgres")
}

fn admin_url() -> String {
    std::env::var("ANJU_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh database, dropped at the end.
struct Db {
    store: Option<PostgresStore>,
    name: String,
}

impl Db {
    fn fresh() -> Db {
        let name = format!(
            "anju_pgbatch_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let admin = admin_url();
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .expect("PostgreSQL for the test (or set ANJU_TEST_BACKENDS=sqlite)");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let store = PostgresStore::open(&url_with_db(&admin, &name)).unwrap();
        Db {
            store: Some(store),
            name,
        }
    }

    fn store(&self) -> &PostgresStore {
        self.store.as_ref().unwrap()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        drop(self.store.take());
        if let Ok(mut c) = postgres::Client::connect(&admin_url(), postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// `admin` (`postgres://…/db[?query]`) with another database name.
fn url_with_db(admin: &str, db: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin, String::new()),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[host_start..]
        .find('/')
        .map_or(base.len(), |i| i + host_start);
    format!("{}/{db}{query}", &base[..host_end])
}

fn ym(s: &str) -> YearMonth {
    YearMonth::parse(s).unwrap()
}

fn day(s: &str) -> Date {
    s.parse().unwrap()
}

fn centre(tx: &mut dyn StoreTx, code: &str) {
    tx.insert_centre(&CentreRow {
        code: code.to_owned(),
        name: format!("中心{code}"),
        business_date: date(2026, 2, 10),
        head: ChainHead {
            seq: 0,
            hash: genesis_hash(code),
        },
        created_at_us: 1,
    })
    .unwrap();
}

fn unit(no: &str) -> UnitRow {
    UnitRow {
        unit_no: no.to_owned(),
        credit_code: format!("CC{no}"),
        name: format!("单位{no}"),
        address: "衢州市".to_owned(),
        legal_rep: "张三".to_owned(),
        payday: 10,
        bank_code: "ICBC".to_owned(),
        unit_ratio: Rate::from_percent(12),
        member_ratio: Rate::from_percent(12),
        status: UnitAccountStatus::Normal,
        opened_on: date(2025, 1, 2),
    }
}

fn member(no: &str, unit_no: Option<&str>, paid_to: Option<&str>) -> MemberRow {
    MemberRow {
        account_no: no.to_owned(),
        id_number: format!("ID{no}"),
        name: format!("职工{no}"),
        unit_no: unit_no.map(str::to_owned),
        base: Fen::new(500_000),
        status: PersonalAccountStatus::Normal,
        before_freeze: None,
        opened_on: date(2025, 1, 2),
        paid_to: paid_to.map(ym),
        flexible_ratio: None,
    }
}

fn bill(no: &str, payer: &str, kind: BillKind, month: &str, lines: usize) -> BillRow {
    BillRow {
        bill_no: no.to_owned(),
        payer: payer.to_owned(),
        kind,
        month: ym(month),
        status: BillStatus::Confirmed,
        total: Fen::new(120_000 * lines as i64),
        line_count: lines as i64,
        bank_code: "ICBC".to_owned(),
        due_on: day("2026-02-20"),
        created_on: day("2026-02-10"),
        confirmed_on: Some(day("2026-02-10")),
        paid_on: None,
    }
}

/// Lines for `accounts` with their months.
fn lines(bill_no: &str, accounts: &[(&str, &str)]) -> Vec<BillLineRow> {
    accounts
        .iter()
        .enumerate()
        .map(|(i, (a, m))| BillLineRow {
            bill_no: bill_no.to_owned(),
            line_no: i as i64 + 1,
            account_no: (*a).to_owned(),
            name: format!("职工{a}"),
            month: ym(m),
            base: Fen::new(500_000),
            unit_share: Fen::new(60_000),
            member_share: Fen::new(60_000),
            notice: if i == 0 {
                "基数已按上限调整".to_owned()
            } else {
                String::new()
            },
            paid_entry: None,
        })
        .collect()
}

fn payment(b: &BillRow, key: &str, advance: Option<&str>) -> FullPayment {
    let mut paid = b.clone();
    paid.status = BillStatus::Paid;
    paid.paid_on = Some(day("2026-02-12"));
    FullPayment {
        receipt: ReceiptRow {
            receipt_key: key.to_owned(),
            payer: b.payer.clone(),
            bill_no: Some(b.bill_no.clone()),
            amount: b.total,
            received_on: day("2026-02-12"),
            bank_code: "ICBC".to_owned(),
            entry_key: format!("receipt:{key}"),
            recorded_at_us: 42,
        },
        bill: paid,
        advance: advance.map(ym),
        accounts: Vec::new(), // PostgreSQL moves 缴至年月 from the lines it holds
    }
}

/// What the trait's default `record_full_payments` does, with the per-row methods.
fn record_by_loop(tx: &mut dyn StoreTx, centre: &str, payments: &[FullPayment]) {
    for p in payments {
        tx.insert_receipt(centre, &p.receipt).unwrap();
        tx.mark_lines_paid(centre, &p.bill.bill_no, &[], &p.receipt.entry_key)
            .unwrap();
        if let Some(month) = p.advance {
            tx.advance_paid_to(centre, &p.bill.bill_no, &p.receipt.entry_key, month)
                .unwrap();
        }
        tx.update_bill(centre, &p.bill).unwrap();
    }
}

/// Everything the payments can touch in a centre.
#[derive(Debug, PartialEq, Eq)]
struct State {
    members: Vec<MemberRow>,
    bills: Vec<BillRow>,
    lines: Vec<BillLineRow>,
    receipts: Vec<ReceiptRow>,
}

fn state(tx: &mut dyn StoreTx, centre: &str, bill_nos: &[String], keys: &[String]) -> State {
    let mut bills = tx.bills_by_nos(centre, bill_nos).unwrap();
    bills.sort_by(|a, b| a.bill_no.cmp(&b.bill_no));
    let mut receipts = tx.receipts_by_keys(centre, keys).unwrap();
    receipts.sort_by(|a, b| a.receipt_key.cmp(&b.receipt_key));
    State {
        members: tx.members_with_unit(centre).unwrap(),
        bills,
        lines: tx.lines_of_bills(centre, bill_nos).unwrap(),
        receipts,
    }
}

/// The same registry and bills in `centre`; returns the bills.
fn fixture(tx: &mut dyn StoreTx, centre_code: &str) -> Vec<BillRow> {
    centre(tx, centre_code);
    for u in ["U1", "U2", "U3", "U4"] {
        tx.insert_unit(centre_code, &unit(u)).unwrap();
    }
    let members = [
        member("A1", Some("U1"), None),
        member("A2", Some("U1"), Some("2026-01")),
        member("A3", Some("U1"), Some("2025-10")), // a gap: does not move
        member("B1", Some("U2"), Some("2026-02")),
        // On U1's February bill and U2's March bill: where it ends depends on which is
        // paid first.
        member("B2", Some("U2"), Some("2026-01")),
        member("C1", Some("U3"), None),
        member("C2", Some("U3"), Some("2026-01")),
        member("D1", Some("U4"), None),
        member("F1", None, None),
    ];
    for m in &members {
        tx.insert_member(centre_code, m).unwrap();
    }
    let b1 = bill("HJ01", "U1", BillKind::Remittance, "2026-02", 4);
    let b2 = bill("HJ02", "U2", BillKind::Remittance, "2026-03", 2);
    let b3 = bill("HJ03", "U3", BillKind::Remittance, "2026-02", 2);
    let b4 = bill("BJ04", "U4", BillKind::BackPayment, "2025-12", 2);
    let b5 = bill("HJ05", "U4", BillKind::Remittance, "1900-01", 1);
    let made = vec![
        (
            b1.clone(),
            lines(
                "HJ01",
                &[
                    ("A1", "2026-02"),
                    ("A2", "2026-02"),
                    ("A3", "2026-02"),
                    ("B2", "2026-02"),
                ],
            ),
        ),
        (
            b2.clone(),
            lines("HJ02", &[("B1", "2026-03"), ("B2", "2026-03")]),
        ),
        (
            b3.clone(),
            lines("HJ03", &[("C1", "2026-02"), ("C2", "2026-02")]),
        ),
        (
            b4.clone(),
            lines("BJ04", &[("D1", "2025-12"), ("D1", "2026-01")]),
        ),
        (b5.clone(), lines("HJ05", &[("D1", "1900-01")])),
    ];
    tx.insert_bills(centre_code, &made).unwrap();
    // C2's line was already paid by the entry that pays the rest of the bill: the loop's
    // `advance_paid_to` counts it.
    tx.mark_lines_paid(centre_code, "HJ03", &[2], "receipt:R3")
        .unwrap();
    vec![b1, b2, b3, b4, b5]
}

#[test]
fn bulk_methods_return_what_the_per_row_methods_return() {
    if !wanted() {
        return;
    }
    let db = Db::fresh();
    let mut tx = db.store().begin().unwrap();
    let bills = fixture(tx.as_mut(), BULK);
    let nos: Vec<String> = bills.iter().map(|b| b.bill_no.clone()).collect();

    let units = tx.units_all(BULK).unwrap();
    let unit_nos: Vec<&str> = units.iter().map(|u| u.unit_no.as_str()).collect();
    assert_eq!(unit_nos, ["U1", "U2", "U3", "U4"]);
    assert_eq!(Some(&units[0]), tx.unit(BULK, "U1").unwrap().as_ref());

    let with_unit = tx.members_with_unit(BULK).unwrap();
    let mut expected = Vec::new();
    for u in ["U1", "U2", "U3", "U4"] {
        expected.extend(tx.members_of_unit(BULK, u).unwrap());
    }
    assert_eq!(with_unit, expected);
    assert!(with_unit.iter().all(|m| m.account_no != "F1"));

    let mut by_nos = tx
        .bills_by_nos(
            BULK,
            &[
                nos[1].clone(),
                "nope".into(),
                nos[0].clone(),
                nos[1].clone(),
            ],
        )
        .unwrap();
    by_nos.sort_by(|a, b| a.bill_no.cmp(&b.bill_no));
    assert_eq!(by_nos, [bills[0].clone(), bills[1].clone()]);

    let mut per_row = Vec::new();
    let mut sorted = nos.clone();
    sorted.sort();
    for no in &sorted {
        per_row.extend(tx.bill_lines(BULK, no).unwrap());
    }
    assert_eq!(tx.lines_of_bills(BULK, &nos).unwrap(), per_row);
    assert_eq!(per_row.len(), 11);

    let feb = tx.remittance_bills_of_month(BULK, ym("2026-02")).unwrap();
    let feb: Vec<&str> = feb.iter().map(|b| b.bill_no.as_str()).collect();
    assert_eq!(feb, ["HJ01", "HJ03"]);
    assert!(
        tx.remittance_bills_of_month(BULK, ym("2025-12"))
            .unwrap()
            .is_empty()
    );

    let p = payment(&bills[0], "R1", Some("2026-02"));
    tx.insert_receipt(BULK, &p.receipt).unwrap();
    let got = tx
        .receipts_by_keys(BULK, &["R1".into(), "R1".into(), "R9".into()])
        .unwrap();
    assert_eq!(got, [p.receipt]);
    assert!(tx.bills_by_nos(BULK, &[]).unwrap().is_empty());
    assert!(tx.lines_of_bills(BULK, &[]).unwrap().is_empty());
    assert!(tx.receipts_by_keys(BULK, &[]).unwrap().is_empty());
    tx.insert_bills(BULK, &[]).unwrap();
    tx.record_full_payments(BULK, &[]).unwrap();
    tx.commit().unwrap();
}

#[test]
fn full_payments_in_bulk_equal_the_loop() {
    if !wanted() {
        return;
    }
    let db = Db::fresh();
    let mut tx = db.store().begin().unwrap();
    for (code, bulk) in [(BULK, true), (LOOP, false)] {
        let b = fixture(tx.as_mut(), code);
        // Every bill once (the one-statement path), with and without `advance`; B2 is on
        // two bills for different months (replayed in payment order); 1900-01 moves only
        // an unset month.
        let payments = vec![
            payment(&b[1], "R2", Some("2026-03")),
            payment(&b[0], "R1", Some("2026-02")),
            payment(&b[2], "R3", Some("2026-02")),
            payment(&b[3], "R4", None),
            payment(&b[4], "R5", Some("1900-01")),
        ];
        if bulk {
            tx.record_full_payments(code, &payments).unwrap();
        } else {
            record_by_loop(tx.as_mut(), code, &payments);
        }
    }
    let nos: Vec<String> = ["HJ01", "HJ02", "HJ03", "BJ04", "HJ05"]
        .map(String::from)
        .to_vec();
    let keys: Vec<String> = ["R1", "R2", "R3", "R4", "R5"].map(String::from).to_vec();
    let bulk = state(tx.as_mut(), BULK, &nos, &keys);
    let by_loop = state(tx.as_mut(), LOOP, &nos, &keys);
    assert_eq!(bulk, by_loop);
    // The loop's own outcome, spelt out.
    let paid_to = |a: &str| {
        bulk.members
            .iter()
            .find(|m| m.account_no == a)
            .unwrap()
            .paid_to
            .map(|m| m.to_string())
    };
    assert_eq!(paid_to("A1").as_deref(), Some("2026-02"));
    assert_eq!(paid_to("A2").as_deref(), Some("2026-02"));
    assert_eq!(paid_to("A3").as_deref(), Some("2025-10"));
    assert_eq!(paid_to("B1").as_deref(), Some("2026-03"));
    // R2 (March) came first and found B2 not yet at February; R1 then moved it there.
    assert_eq!(paid_to("B2").as_deref(), Some("2026-02"));
    assert_eq!(paid_to("C1").as_deref(), Some("2026-02"));
    assert_eq!(paid_to("C2").as_deref(), Some("2026-02"));
    assert_eq!(paid_to("D1").as_deref(), Some("1900-01"));
    assert!(bulk.lines.iter().all(|l| l.paid_entry.is_some()));
    assert!(bulk.bills.iter().all(|b| b.status == BillStatus::Paid));
    assert_eq!(bulk.receipts.len(), 5);
    tx.commit().unwrap();
}

#[test]
fn mixed_months_follow_the_payments_order() {
    if !wanted() {
        return;
    }
    let db = Db::fresh();
    let mut tx = db.store().begin().unwrap();
    for (code, bulk) in [(BULK, true), (LOOP, false)] {
        let b = fixture(tx.as_mut(), code);
        // February's bill before March's: B2 moves to February, then to March.
        let payments = vec![
            payment(&b[0], "R1", Some("2026-02")),
            payment(&b[1], "R2", Some("2026-03")),
        ];
        if bulk {
            tx.record_full_payments(code, &payments).unwrap();
        } else {
            record_by_loop(tx.as_mut(), code, &payments);
        }
    }
    let nos: Vec<String> = ["HJ01", "HJ02"].map(String::from).to_vec();
    let keys: Vec<String> = ["R1", "R2"].map(String::from).to_vec();
    let bulk = state(tx.as_mut(), BULK, &nos, &keys);
    assert_eq!(bulk, state(tx.as_mut(), LOOP, &nos, &keys));
    let b2 = bulk.members.iter().find(|m| m.account_no == "B2").unwrap();
    assert_eq!(b2.paid_to, Some(ym("2026-03")));
    tx.commit().unwrap();
}

#[test]
fn a_bill_paid_twice_in_one_batch_equals_the_loop() {
    if !wanted() {
        return;
    }
    let db = Db::fresh();
    let mut tx = db.store().begin().unwrap();
    for (code, bulk) in [(BULK, true), (LOOP, false)] {
        let b = fixture(tx.as_mut(), code);
        let mut second = payment(&b[0], "R1b", Some("2026-02"));
        second.bill.total = Fen::new(1);
        let payments = vec![
            payment(&b[0], "R1", Some("2026-02")),
            payment(&b[2], "R3", Some("2026-02")),
            second,
            payment(&b[1], "R2", Some("2026-03")),
        ];
        if bulk {
            tx.record_full_payments(code, &payments).unwrap();
        } else {
            record_by_loop(tx.as_mut(), code, &payments);
        }
    }
    let nos: Vec<String> = ["HJ01", "HJ02", "HJ03"].map(String::from).to_vec();
    let keys: Vec<String> = ["R1", "R1b", "R2", "R3"].map(String::from).to_vec();
    let bulk = state(tx.as_mut(), BULK, &nos, &keys);
    assert_eq!(bulk, state(tx.as_mut(), LOOP, &nos, &keys));
    // The first payment's entry paid the lines; the last payment's bill row was saved.
    let l = bulk.lines.iter().find(|l| l.bill_no == "HJ01").unwrap();
    assert_eq!(l.paid_entry.as_deref(), Some("receipt:R1"));
    assert_eq!(bulk.bills[0].total, Fen::new(1));
    tx.commit().unwrap();
}

#[test]
fn conflicts_and_missing_bills_leave_nothing_behind() {
    if !wanted() {
        return;
    }
    let db = Db::fresh();
    let mut tx = db.store().begin().unwrap();
    let b = fixture(tx.as_mut(), BULK);
    let nos: Vec<String> = b.iter().map(|b| b.bill_no.clone()).collect();
    let keys: Vec<String> = ["R0", "R1", "R2"].map(String::from).to_vec();
    tx.insert_receipt(BULK, &payment(&b[1], "R0", None).receipt)
        .unwrap();
    let before = state(tx.as_mut(), BULK, &nos, &keys);

    // A receipt key already recorded.
    let err = tx
        .record_full_payments(
            BULK,
            &[
                payment(&b[0], "R1", Some("2026-02")),
                payment(&b[1], "R0", None),
            ],
        )
        .unwrap_err();
    match err {
        StoreError::Conflict { what } => assert_eq!(what, format!("receipt R0 in centre {BULK}")),
        other => panic!("{other:?}"),
    }
    assert_eq!(state(tx.as_mut(), BULK, &nos, &keys), before);

    // A key repeated within the batch.
    let err = tx
        .record_full_payments(
            BULK,
            &[
                payment(&b[0], "R1", Some("2026-02")),
                payment(&b[1], "R1", None),
            ],
        )
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { ref what } if what.contains("receipt R1")),
        "{err:?}"
    );
    assert_eq!(state(tx.as_mut(), BULK, &nos, &keys), before);

    // A bill that does not exist — before the clashing receipt, so it is what the loop
    // would have stopped at.
    let ghost = bill("HJ99", "U1", BillKind::Remittance, "2026-04", 1);
    let err = tx
        .record_full_payments(
            BULK,
            &[
                payment(&b[0], "R1", Some("2026-02")),
                payment(&ghost, "R2", None),
                payment(&b[1], "R0", None),
            ],
        )
        .unwrap_err();
    match err {
        StoreError::NotFound { what } => assert_eq!(what, format!("bill HJ99 in centre {BULK}")),
        other => panic!("{other:?}"),
    }
    let err = tx
        .record_full_payments(
            BULK,
            &[
                payment(&b[0], "R1", Some("2026-02")),
                payment(&ghost, "R2", None),
            ],
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(state(tx.as_mut(), BULK, &nos, &keys), before);

    // Bills: a number taken, a remittance month taken, a number repeated in the batch.
    let fresh = |no: &str, payer: &str, month: &str| {
        (
            bill(no, payer, BillKind::Remittance, month, 1),
            lines(no, &[("A1", month)]),
        )
    };
    let cases = [
        (
            vec![
                fresh("HJ10", "U1", "2026-04"),
                fresh("HJ01", "U2", "2026-04"),
            ],
            "bill HJ01 or a 汇缴 bill of U2 for 2026-04",
        ),
        (
            vec![
                fresh("HJ10", "U1", "2026-04"),
                fresh("HJ11", "U1", "2026-02"),
            ],
            "bill HJ11 or a 汇缴 bill of U1 for 2026-02",
        ),
        (
            vec![
                fresh("HJ10", "U1", "2026-04"),
                fresh("HJ10", "U2", "2026-05"),
            ],
            "bill HJ10 or a 汇缴 bill of U2 for 2026-05",
        ),
        (
            vec![
                fresh("HJ10", "U1", "2026-04"),
                fresh("HJ11", "U1", "2026-04"),
            ],
            "bill HJ11 or a 汇缴 bill of U1 for 2026-04",
        ),
    ];
    for (batch, named) in cases {
        match tx.insert_bills(BULK, &batch).unwrap_err() {
            StoreError::Conflict { what } => assert_eq!(what, named),
            other => panic!("{other:?}"),
        }
        assert!(tx.bill(BULK, "HJ10").unwrap().is_none());
        assert!(tx.bill_lines(BULK, "HJ10").unwrap().is_empty());
    }
    // Repeated line numbers are refused before anything is sent.
    let (b10, mut l10) = fresh("HJ10", "U1", "2026-04");
    l10.push(l10[0].clone());
    assert!(matches!(
        tx.insert_bills(BULK, &[(b10, l10)]),
        Err(StoreError::Conflict { .. })
    ));

    // The transaction is still usable and commits.
    let (b10, l10) = fresh("HJ10", "U1", "2026-04");
    tx.insert_bills(BULK, &[(b10.clone(), l10.clone())])
        .unwrap();
    tx.commit().unwrap();
    let mut tx = db.store().begin_read().unwrap();
    assert_eq!(tx.bill(BULK, "HJ10").unwrap(), Some(b10));
    assert_eq!(tx.bill_lines(BULK, "HJ10").unwrap(), l10);
    assert_eq!(state(tx.as_mut(), BULK, &nos, &keys), before);
}

#[test]
fn many_bills_go_in_by_copy() {
    if !wanted() {
        return;
    }
    let db = Db::fresh();
    let mut tx = db.store().begin().unwrap();
    centre(tx.as_mut(), BULK);
    let mut made = Vec::new();
    for u in 0..120 {
        let unit_no = format!("U{u:03}");
        tx.insert_unit(BULK, &unit(&unit_no)).unwrap();
        let no = format!("HJ{u:04}");
        let accounts: Vec<String> = (0..5).map(|i| format!("M{u:03}{i}")).collect();
        for a in &accounts {
            tx.insert_member(BULK, &member(a, Some(&unit_no), Some("2026-01")))
                .unwrap();
        }
        let pairs: Vec<(&str, &str)> = accounts.iter().map(|a| (a.as_str(), "2026-02")).collect();
        made.push((
            bill(&no, &unit_no, BillKind::Remittance, "2026-02", 5),
            lines(&no, &pairs),
        ));
    }
    tx.insert_bills(BULK, &made).unwrap();
    let nos: Vec<String> = made.iter().map(|(b, _)| b.bill_no.clone()).collect();
    let all: Vec<BillLineRow> = made.iter().flat_map(|(_, l)| l.clone()).collect();
    assert_eq!(tx.lines_of_bills(BULK, &nos).unwrap(), all);
    let payments: Vec<FullPayment> = made
        .iter()
        .map(|(b, _)| payment(b, &format!("R{}", b.bill_no), Some("2026-02")))
        .collect();
    tx.record_full_payments(BULK, &payments).unwrap();
    assert!(
        tx.members_with_unit(BULK)
            .unwrap()
            .iter()
            .all(|m| m.paid_to == Some(ym("2026-02")))
    );
    // A clash in the COPY (a stray line of a bill that does not exist) is undone too.
    let (b, mut l) = (
        bill("HJX", "U000", BillKind::Remittance, "2026-03", 100),
        Vec::new(),
    );
    for i in 0..100 {
        l.push(lines("HJ0000", &[("M0000", "2026-03")]).remove(0));
        l[i].line_no = i as i64 + 1;
    }
    assert!(matches!(
        tx.insert_bills(BULK, &[(b, l)]),
        Err(StoreError::Conflict { .. })
    ));
    assert!(tx.bill(BULK, "HJX").unwrap().is_none());
    tx.commit().unwrap();
}
