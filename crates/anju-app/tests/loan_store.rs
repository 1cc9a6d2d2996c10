//! Loan storage on every backend: loans, their schedules, timelines, documents and the
//! day closes round trip every column; a taken loan or application number and a second
//! open loan of an account are refused without writing anything and leave the
//! transaction usable, while a finished earlier loan does not block; `update_loans`
//! saves the mutable columns only, all or none; the schema keeps what was applied for and
//! a final status fixed, keeps paid installments, and keeps timelines, documents and day
//! closes append-only (even by raw SQL); the lists filter and come back in order.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::ledger::open_centre;
use anju_domain::codes::Channel;
use anju_domain::stamp::Stamp;
use anju_store::loan::{
    APPLYING, DayCloseRow, InstallmentRow, LoanDocumentRow, LoanEventRow, LoanRow, SERVICING,
    STATUSES,
};
use anju_store::{Backend, Store, StoreError};
use anju_testkit::{TestDb, for_each_backend};
use jiff::Timestamp;
use jiff::civil::Date;

const C: &str = "330800000000000";
/// Another centre, whose rows must never show up in `C`'s.
const OTHER: &str = "330100000000000";
const DAY: &str = "2026-03-02";
const ACCT: &str = "000000000001";
const ID: &str = "330802199001010011";
const CO_ID: &str = "330802199202020022";
const T0: i64 = 1_772_416_800_000_000;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn setup(s: &dyn Store) {
    let now: Timestamp = "2026-03-02T02:00:00Z".parse().unwrap();
    open_centre(s, C, "衢州市住房公积金管理中心", d(DAY), now).unwrap();
    open_centre(s, OTHER, "杭州住房公积金管理中心", d(DAY), now).unwrap();
}

fn is_conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict { .. }))
}

/// The `what` of a `Conflict`.
fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Err(StoreError::Conflict { what }) => what,
        other => panic!("expected Conflict, got {other:?}"),
    }
}

/// A new loan as a member applies online, every optional column empty.
fn loan(no: &str, application: &str, account: &str, status: &str, created: i64) -> LoanRow {
    LoanRow {
        loan_no: no.into(),
        application_no: application.into(),
        account_no: account.into(),
        id_number: ID.into(),
        co_id_number: None,
        co_account_no: None,
        kind: "hpf".into(),
        home: "first".into(),
        bank_code: "105".into(),
        principal: 60_000_000,
        rate_units: 28_500_000,
        months: 360,
        method: "equal-installment".into(),
        repay_day: 20,
        deduct_from: "card".into(),
        card_no: "6217000000000001".into(),
        status: status.into(),
        signed_on: None,
        disbursed_on: None,
        closed_on: None,
        outstanding: 0,
        risk_class: "01".into(),
        overdue_days: 0,
        details: "{}".into(),
        business_date: d(DAY),
        created_at_us: created,
        updated_at_us: created,
        stamp: Stamp {
            operator: format!("member:{account}"),
            channel: Channel::Web,
            service_point: "online".into(),
            on_behalf_of: None,
        },
    }
}

/// A combination loan taken at the counter and being repaid, every optional column
/// filled.
fn full(no: &str, application: &str, account: &str, status: &str, created: i64) -> LoanRow {
    LoanRow {
        co_id_number: Some(CO_ID.into()),
        co_account_no: Some("000000000002".into()),
        kind: "combination".into(),
        home: "second".into(),
        bank_code: "102".into(),
        principal: 80_000_000,
        rate_units: 33_250_000,
        months: 240,
        method: "equal-principal".into(),
        repay_day: 28,
        deduct_from: "fund".into(),
        card_no: String::new(),
        signed_on: Some(d("2026-01-15")),
        disbursed_on: Some(d("2026-01-20")),
        closed_on: Some(d("2026-02-28")),
        outstanding: 79_500_000,
        risk_class: "02".into(),
        overdue_days: 7,
        details: r#"{"price":150000000,"seller":"衢州房产","commercial":{"bank":"102"}}"#.into(),
        business_date: d("2026-01-05"),
        updated_at_us: created + 5_000_000,
        stamp: Stamp {
            operator: "staff:S0001".into(),
            channel: Channel::Counter,
            service_point: "hall-kecheng".into(),
            on_behalf_of: Some(format!("member:{account}")),
        },
        ..loan(no, application, account, status, created)
    }
}

fn inst(loan_no: &str, period: i32, due: &str, status: &str) -> InstallmentRow {
    let principal = 100_000 + i64::from(period);
    let interest = 20_000;
    let paid = status == "paid";
    InstallmentRow {
        loan_no: loan_no.into(),
        period,
        due: d(due),
        principal,
        interest,
        paid_principal: if paid { principal } else { 0 },
        paid_interest: if paid { interest } else { 0 },
        penalty: if status == "overdue" { 150 } else { 0 },
        paid_penalty: 0,
        status: status.into(),
        paid_on: paid.then(|| d(due)),
    }
}

fn event(loan_no: &str, seq: i64, what: &str) -> LoanEventRow {
    LoanEventRow {
        loan_no: loan_no.into(),
        seq,
        event: what.into(),
        at_us: T0 + seq,
        operator: if seq == 1 {
            format!("member:{ACCT}")
        } else {
            "staff:S0001".into()
        },
        note_zh: format!("第 {seq} 步"),
        note_en: format!("step {seq}"),
    }
}

fn doc(loan_no: &str, doc_no: &str, kind: &str, at: i64) -> LoanDocumentRow {
    LoanDocumentRow {
        loan_no: loan_no.into(),
        doc_no: doc_no.into(),
        kind: kind.into(),
        sm3: format!("{:064x}", at),
        content: format!(r#"{{"doc":"{doc_no}","kind":"{kind}"}}"#),
        created_at_us: at,
    }
}

fn numbers(rows: &[LoanRow]) -> Vec<&str> {
    rows.iter().map(|l| l.loan_no.as_str()).collect()
}

fn periods(rows: &[InstallmentRow]) -> Vec<(&str, i32)> {
    rows.iter()
        .map(|i| (i.loan_no.as_str(), i.period))
        .collect()
}

/// Raw SQL on the test database, bypassing Anju.
fn raw_exec(db: &TestDb, sql: &str) -> Result<u64, String> {
    match db.backend {
        Backend::Sqlite => {
            let path = db.url.strip_prefix("sqlite://").unwrap();
            let c = rusqlite::Connection::open(path).unwrap();
            c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
            c.execute(sql, [])
                .map(|n| n as u64)
                .map_err(|e| e.to_string())
        }
        Backend::Postgres => {
            let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
            c.execute(sql, &[]).map_err(|e| e.to_string())
        }
    }
}

#[test]
fn loans_round_trip_every_column_and_update_saves_the_mutable_ones() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        assert_eq!(tx.count_loans(C).unwrap(), 0);
        tx.commit().unwrap();

        let bare = loan("L-2", "A-2", "000000000003", "verifying", T0);
        let lent = full("L-1", "A-1", ACCT, "active", T0 - 1);
        let elsewhere = full("L-1", "A-1", ACCT, "review", T0);
        let mut tx = s.begin().unwrap();
        tx.insert_loan(C, &bare).unwrap();
        tx.insert_loan(C, &lent).unwrap();
        // The same numbers and account in another centre are another loan.
        tx.insert_loan(OTHER, &elsewhere).unwrap();
        tx.commit().unwrap();

        for mut tx in [s.begin().unwrap(), s.begin_read().unwrap()] {
            assert_eq!(tx.loan(C, "L-1").unwrap(), Some(lent.clone()), "{b}");
            assert_eq!(tx.loan(C, "L-2").unwrap(), Some(bare.clone()), "{b}");
            assert_eq!(tx.loan(C, "L-3").unwrap(), None);
            assert_eq!(tx.loan(C, "A-1").unwrap(), None);
            assert_eq!(tx.loan(OTHER, "L-1").unwrap(), Some(elsewhere.clone()));
            assert_eq!(tx.loan(OTHER, "L-2").unwrap(), None);
            assert_eq!(tx.count_loans(C).unwrap(), 2, "{b}");
            assert_eq!(tx.count_loans(OTHER).unwrap(), 1, "{b}");
            assert_eq!(tx.count_loans("339900000000000").unwrap(), 0);
        }

        let mut tx = s.begin().unwrap();
        assert_eq!(tx.lock_loan(C, "L-1").unwrap(), Some(lent.clone()));
        assert_eq!(tx.lock_loan(C, "nope").unwrap(), None);
        // Every mutable column is saved.
        let changed = LoanRow {
            kind: "hpf".into(),
            home: "first".into(),
            bank_code: "104".into(),
            principal: 70_000_000,
            rate_units: 26_000_000,
            months: 300,
            method: "equal-installment".into(),
            repay_day: 5,
            deduct_from: "card".into(),
            card_no: "6217000000000009".into(),
            status: "paid_off".into(),
            signed_on: None,
            disbursed_on: Some(d("2026-01-21")),
            closed_on: Some(d("2026-03-02")),
            outstanding: 0,
            risk_class: "05".into(),
            overdue_days: 0,
            details: r#"{"payoff":true}"#.into(),
            updated_at_us: T0 + 60_000_000,
            ..lent.clone()
        };
        let approved = LoanRow {
            status: "approved".into(),
            principal: 55_000_000,
            signed_on: Some(d("2026-03-02")),
            updated_at_us: T0 + 1,
            ..bare.clone()
        };
        tx.update_loans(C, &[changed.clone(), approved.clone()])
            .unwrap();
        tx.update_loans(C, &[]).unwrap();
        // Only the mutable columns: what was applied for, by whom and when, stays.
        let fixed_changed = LoanRow {
            application_no: "A-9".into(),
            account_no: "000000000099".into(),
            id_number: "x".into(),
            co_id_number: Some("y".into()),
            co_account_no: None,
            business_date: d("2026-03-03"),
            created_at_us: 1,
            stamp: Stamp {
                operator: "x".into(),
                channel: Channel::Batch,
                service_point: "x".into(),
                on_behalf_of: None,
            },
            details: r#"{"payoff":true,"certificate":"D-9"}"#.into(),
            ..changed.clone()
        };
        tx.update_loans(C, std::slice::from_ref(&fixed_changed))
            .unwrap();
        let changed = LoanRow {
            details: fixed_changed.details.clone(),
            ..changed
        };
        assert_eq!(tx.loan(C, "L-1").unwrap(), Some(changed.clone()), "{b}");
        // An unknown loan: NotFound, and the rows before it in the call are undone.
        let r = tx.update_loans(
            C,
            &[
                LoanRow {
                    status: "signed".into(),
                    ..approved.clone()
                },
                loan("L-9", "A-9", "000000000009", "review", T0),
            ],
        );
        assert!(matches!(r, Err(StoreError::NotFound { .. })), "{b}: {r:?}");
        assert_eq!(tx.loan(C, "L-2").unwrap(), Some(approved.clone()), "{b}");
        // A loan of another centre is unknown here.
        let r = tx.update_loans(
            OTHER,
            &[LoanRow {
                loan_no: "L-2".into(),
                ..approved.clone()
            }],
        );
        assert!(matches!(r, Err(StoreError::NotFound { .. })), "{b}: {r:?}");
        tx.commit().unwrap();

        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.loan(C, "L-1").unwrap(), Some(changed), "{b}");
        assert_eq!(tx.loan(C, "L-2").unwrap(), Some(approved), "{b}");
        assert_eq!(tx.loan(OTHER, "L-1").unwrap(), Some(elsewhere), "{b}");
        assert_eq!(tx.count_loans(C).unwrap(), 2);
    });
}

#[test]
fn taken_numbers_and_a_second_open_loan_are_refused_and_nothing_is_written() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let first = loan("L-1", "A-1", ACCT, "review", T0);
        let mut tx = s.begin().unwrap();
        tx.insert_loan(C, &first).unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        // A taken loan number (another application and account).
        let what = conflict(tx.insert_loan(C, &loan("L-1", "A-2", "000000000002", "review", T0)));
        assert!(what.contains("L-1"), "{b}: {what}");
        // A taken application number (another loan number and account).
        let what = conflict(tx.insert_loan(C, &loan("L-2", "A-1", "000000000002", "review", T0)));
        assert!(what.contains("A-1"), "{b}: {what}");
        // A second open loan of the account.
        let what = conflict(tx.insert_loan(C, &loan("L-3", "A-3", ACCT, "verifying", T0)));
        assert!(what.contains(ACCT), "{b}: {what}");
        assert_eq!(tx.loan(C, "L-1").unwrap(), Some(first.clone()), "{b}");
        assert_eq!(tx.loan(C, "L-2").unwrap(), None);
        assert_eq!(tx.loan(C, "L-3").unwrap(), None);
        assert_eq!(tx.count_loans(C).unwrap(), 1, "{b}");
        // The transaction carries on.
        let other = loan("L-4", "A-4", "000000000002", "verifying", T0 + 1);
        tx.insert_loan(C, &other).unwrap();
        // Another centre may hold the same numbers and an open loan of the account.
        tx.insert_loan(OTHER, &loan("L-1", "A-1", ACCT, "active", T0))
            .unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.loan(C, "L-4").unwrap(), Some(other), "{b}");
        assert_eq!(tx.count_loans(C).unwrap(), 2, "{b}");
        drop(tx);

        // Once the open loan is refused, another may be applied for; once that is paid
        // off, a third.
        for (i, end) in ["refused", "paid_off"].iter().enumerate() {
            let mut tx = s.begin().unwrap();
            let mut open = tx
                .loans_with_status(C, &[APPLYING.as_slice(), SERVICING.as_slice()].concat())
                .unwrap()
                .into_iter()
                .find(|l| l.account_no == ACCT)
                .unwrap();
            let next = loan(&format!("N-{i}"), &format!("B-{i}"), ACCT, "active", T0 + 9);
            assert!(is_conflict(tx.insert_loan(C, &next)), "{b} {end}");
            open.status = (*end).into();
            tx.update_loans(C, std::slice::from_ref(&open)).unwrap();
            tx.insert_loan(C, &next).unwrap();
            tx.commit().unwrap();
        }
        let mut tx = s.begin_read().unwrap();
        let of_acct: Vec<String> = tx
            .loans_with_status(C, &STATUSES)
            .unwrap()
            .into_iter()
            .filter(|l| l.account_no == ACCT)
            .map(|l| format!("{}:{}", l.loan_no, l.status))
            .collect();
        assert_eq!(
            of_acct,
            ["L-1:refused", "N-0:paid_off", "N-1:active"],
            "{b}"
        );
        drop(tx);

        // Every applying or servicing status holds the place; no final one does.
        for (i, status) in STATUSES.iter().enumerate() {
            let account = format!("1000000000{i:02}");
            let mut tx = s.begin().unwrap();
            tx.insert_loan(
                C,
                &loan(
                    &format!("S-{i}-1"),
                    &format!("SA-{i}-1"),
                    &account,
                    status,
                    T0,
                ),
            )
            .unwrap();
            let second = loan(
                &format!("S-{i}-2"),
                &format!("SA-{i}-2"),
                &account,
                "verifying",
                T0,
            );
            let open = APPLYING.contains(status) || SERVICING.contains(status);
            assert_eq!(
                is_conflict(tx.insert_loan(C, &second)),
                open,
                "{b} {status}"
            );
            // Either way the transaction carries on and commits.
            tx.insert_day_close(
                C,
                &DayCloseRow {
                    business_date: d("2026-01-01") + jiff::Span::new().days(i as i64),
                    closed_at_us: T0,
                    operator: "system".into(),
                    summary: "{}".into(),
                },
            )
            .unwrap();
            tx.commit().unwrap();
            let mut tx = s.begin_read().unwrap();
            assert_eq!(
                tx.loan(C, &format!("S-{i}-2")).unwrap().is_some(),
                !open,
                "{b} {status}"
            );
        }

        // The schema's rules on the columns.
        for (i, bad) in [
            LoanRow {
                status: "lost".into(),
                ..loan("X-1", "XA-1", "200000000001", "review", T0)
            },
            LoanRow {
                kind: "commercial".into(),
                ..loan("X-2", "XA-2", "200000000002", "review", T0)
            },
            LoanRow {
                months: 0,
                ..loan("X-3", "XA-3", "200000000003", "review", T0)
            },
            LoanRow {
                repay_day: 29,
                ..loan("X-4", "XA-4", "200000000004", "review", T0)
            },
            LoanRow {
                risk_class: "06".into(),
                ..loan("X-5", "XA-5", "200000000005", "review", T0)
            },
            LoanRow {
                outstanding: -1,
                ..loan("X-6", "XA-6", "200000000006", "review", T0)
            },
            LoanRow {
                deduct_from: "cash".into(),
                ..loan("X-7", "XA-7", "200000000007", "review", T0)
            },
            // No such centre.
            loan("X-8", "XA-8", "200000000008", "review", T0),
        ]
        .into_iter()
        .enumerate()
        {
            let centre = if i == 7 { "339900000000000" } else { C };
            let mut tx = s.begin().unwrap();
            let r = tx.insert_loan(centre, &bad);
            assert!(
                matches!(r, Err(StoreError::Database { .. })),
                "{b} {}: {r:?}",
                bad.loan_no
            );
        }
    });
}

#[test]
fn the_application_and_final_statuses_never_change() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        tx.insert_loan(C, &full("L-1", "A-1", ACCT, "active", T0))
            .unwrap();
        for (i, status) in ["paid_off", "refused", "cancelled"].iter().enumerate() {
            tx.insert_loan(
                C,
                &loan(
                    &format!("F-{status}"),
                    &format!("FA-{i}"),
                    &format!("30000000000{i}"),
                    status,
                    T0,
                ),
            )
            .unwrap();
        }
        tx.commit().unwrap();

        // Through the store: a final status is never left.
        let mut tx = s.begin().unwrap();
        for from in ["paid_off", "refused", "cancelled"] {
            for to in ["active", "verifying", "paid_off", "refused", "cancelled"] {
                if to == from {
                    continue;
                }
                let no = format!("F-{from}");
                let mut row = tx.loan(C, &no).unwrap().unwrap();
                let before = row.clone();
                row.status = to.into();
                row.updated_at_us += 1;
                let r = tx.update_loans(C, &[row]);
                assert!(
                    matches!(r, Err(StoreError::Database { .. })),
                    "{b}: {from} → {to}: {r:?}"
                );
                // Nothing changed, and the transaction carries on.
                assert_eq!(tx.loan(C, &no).unwrap(), Some(before), "{b}");
            }
        }
        // A final loan may still have its other columns saved.
        let mut paid = tx.loan(C, "F-paid_off").unwrap().unwrap();
        paid.details = r#"{"certificate":"D-1"}"#.into();
        paid.closed_on = Some(d(DAY));
        tx.update_loans(C, std::slice::from_ref(&paid)).unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.loan(C, "F-paid_off").unwrap(), Some(paid), "{b}");
        drop(tx);

        // Through raw SQL: what was applied for, by whom and when, never changes; nor is
        // a loan deleted, nor a final status left.
        for sql in [
            "UPDATE loans SET loan_no = 'L-9' WHERE loan_no = 'L-1'",
            "UPDATE loans SET application_no = 'A-9' WHERE loan_no = 'L-1'",
            "UPDATE loans SET account_no = 'x' WHERE loan_no = 'L-1'",
            "UPDATE loans SET id_number = 'x' WHERE loan_no = 'L-1'",
            "UPDATE loans SET co_id_number = NULL WHERE loan_no = 'L-1'",
            "UPDATE loans SET co_account_no = 'x' WHERE loan_no = 'L-1'",
            "UPDATE loans SET business_date = '2026-03-03' WHERE loan_no = 'L-1'",
            "UPDATE loans SET created_at_us = 1 WHERE loan_no = 'L-1'",
            "UPDATE loans SET operator = 'x' WHERE loan_no = 'L-1'",
            "UPDATE loans SET channel = '02' WHERE loan_no = 'L-1'",
            "UPDATE loans SET service_point = 'x' WHERE loan_no = 'L-1'",
            "UPDATE loans SET on_behalf_of = NULL WHERE loan_no = 'L-1'",
            "UPDATE loans SET status = 'active' WHERE loan_no = 'F-paid_off'",
            "UPDATE loans SET status = 'review' WHERE loan_no = 'F-refused'",
            "UPDATE loans SET status = 'paid_off' WHERE loan_no = 'F-cancelled'",
            "DELETE FROM loans WHERE loan_no = 'F-cancelled'",
            "DELETE FROM loans",
            // And the schema's texts.
            "UPDATE loans SET status = 'lost' WHERE loan_no = 'L-1'",
            "UPDATE loans SET method = 'balloon' WHERE loan_no = 'L-1'",
        ] {
            let r = raw_exec(db, sql);
            assert!(r.is_err(), "{b}: {sql} was allowed");
        }
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.loan(C, "L-1").unwrap(),
            Some(full("L-1", "A-1", ACCT, "active", T0)),
            "{b}"
        );
        assert_eq!(tx.count_loans(C).unwrap(), 4, "{b}");
        drop(tx);
        // What may change, does.
        for sql in [
            "UPDATE loans SET kind = 'hpf', home = 'first', bank_code = 'b', principal = 1,
                rate_units = 2, months = 3, method = 'equal-installment', repay_day = 4,
                deduct_from = 'card', card_no = 'c', status = 'disbursing', signed_on = NULL,
                disbursed_on = NULL, closed_on = NULL, outstanding = 5, risk_class = '03',
                overdue_days = 6, details = '[]', updated_at_us = 7
             WHERE loan_no = 'L-1'",
            "UPDATE loans SET status = 'paid_off' WHERE loan_no = 'L-1'",
        ] {
            assert_eq!(raw_exec(db, sql), Ok(1), "{b}: {sql}");
        }
    });
}

#[test]
fn lists_find_by_person_status_and_number_in_order() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let with =
            |no: &str, acct: &str, id: &str, co: Option<&str>, status: &str, at: i64| LoanRow {
                id_number: id.into(),
                co_id_number: co.map(Into::into),
                ..loan(no, &format!("A{no}"), acct, status, at)
            };
        let rows = [
            // The applicant's loans, and one where the applicant is the co-borrower.
            with("L-30", "000000000001", ID, None, "paid_off", T0 + 30),
            with("L-10", "000000000001", ID, Some(CO_ID), "active", T0 + 10),
            with("L-40", "000000000002", CO_ID, Some(ID), "review", T0 + 40),
            // Made at the same time: byte-wise by number ("B…" before "a…").
            with("a-20", "000000000003", "x3", None, "review", T0 + 20),
            with("B-20", "000000000004", "x4", Some(ID), "refused", T0 + 20),
            with("L-50", "000000000005", "x5", None, "approved", T0 + 5),
        ];
        let mut tx = s.begin().unwrap();
        for r in &rows {
            tx.insert_loan(C, r).unwrap();
        }
        tx.insert_loan(OTHER, &with("L-00", "000000000001", ID, None, "review", T0))
            .unwrap();
        tx.commit().unwrap();

        for mut tx in [s.begin().unwrap(), s.begin_read().unwrap()] {
            // By applicant or co-borrower, oldest first.
            let mine = tx.loans_of_person(C, ID).unwrap();
            assert_eq!(numbers(&mine), ["L-10", "B-20", "L-30", "L-40"], "{b}");
            assert_eq!(mine[0], rows[1], "{b}");
            assert_eq!(
                numbers(&tx.loans_of_person(C, CO_ID).unwrap()),
                ["L-10", "L-40"]
            );
            assert_eq!(numbers(&tx.loans_of_person(C, "x3").unwrap()), ["a-20"]);
            assert!(tx.loans_of_person(C, "nobody").unwrap().is_empty());
            assert_eq!(numbers(&tx.loans_of_person(OTHER, ID).unwrap()), ["L-00"]);

            // By status, by number.
            assert_eq!(
                numbers(&tx.loans_with_status(C, &["review"]).unwrap()),
                ["L-40", "a-20"],
                "{b}"
            );
            assert_eq!(
                numbers(&tx.loans_with_status(C, &APPLYING).unwrap()),
                ["L-40", "L-50", "a-20"],
                "{b}"
            );
            assert_eq!(
                numbers(&tx.loans_with_status(C, &STATUSES).unwrap()),
                ["B-20", "L-10", "L-30", "L-40", "L-50", "a-20"],
                "{b}"
            );
            assert_eq!(
                numbers(&tx.loans_with_status(C, &SERVICING).unwrap()),
                ["L-10"]
            );
            assert!(tx.loans_with_status(C, &[]).unwrap().is_empty());
            assert!(tx.loans_with_status(C, &["cancelled"]).unwrap().is_empty());
            assert_eq!(
                numbers(&tx.loans_with_status(OTHER, &["review"]).unwrap()),
                ["L-00"]
            );

            // By numbers: those that exist, by number, each once.
            let nos: Vec<String> = ["a-20", "L-99", "L-30", "B-20", "L-00", "L-30"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            let found = tx.loans_by_nos(C, &nos).unwrap();
            assert_eq!(numbers(&found), ["B-20", "L-30", "a-20"], "{b}");
            assert_eq!(found[1], rows[0], "{b}");
            assert!(tx.loans_by_nos(C, &[]).unwrap().is_empty());
            assert_eq!(numbers(&tx.loans_by_nos(OTHER, &nos).unwrap()), ["L-00"]);
        }
    });
}

#[test]
fn schedules_are_rewritten_but_paid_installments_are_kept() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        tx.insert_loan(C, &full("L-1", "A-1", ACCT, "active", T0))
            .unwrap();
        // Written out of order, read by period.
        let schedule = [
            inst("L-1", 3, "2026-03-20", "scheduled"),
            inst("L-1", 1, "2026-01-20", "paid"),
            inst("L-1", 2, "2026-02-20", "overdue"),
            inst("L-1", 4, "2026-04-20", "scheduled"),
        ];
        tx.upsert_installments(C, &schedule).unwrap();
        tx.upsert_installments(C, &[]).unwrap();
        tx.upsert_installments(OTHER, &[inst("L-1", 1, "2026-01-20", "scheduled")])
            .unwrap();
        tx.commit().unwrap();
        let by_period = |mut v: Vec<InstallmentRow>| {
            v.sort_by_key(|i| i.period);
            v
        };
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.installments(C, "L-1").unwrap(),
            by_period(schedule.to_vec()),
            "{b}"
        );
        assert!(tx.installments(C, "L-2").unwrap().is_empty());
        assert_eq!(
            tx.installments(OTHER, "L-1").unwrap(),
            [inst("L-1", 1, "2026-01-20", "scheduled")]
        );
        drop(tx);

        // Re-amortised: the unpaid periods replaced, a new one added.
        let mut tx = s.begin().unwrap();
        let partly = InstallmentRow {
            paid_principal: 50_000,
            paid_penalty: 100,
            penalty: 300,
            ..inst("L-1", 2, "2026-02-20", "overdue")
        };
        let rewritten = [
            partly.clone(),
            InstallmentRow {
                principal: 90_000,
                interest: 18_000,
                ..inst("L-1", 3, "2026-03-21", "scheduled")
            },
            InstallmentRow {
                principal: 90_000,
                interest: 17_000,
                ..inst("L-1", 4, "2026-04-21", "scheduled")
            },
            inst("L-1", 5, "2026-05-21", "scheduled"),
        ];
        tx.upsert_installments(C, &rewritten).unwrap();
        let mut expected = vec![schedule[1].clone()];
        expected.extend(rewritten.iter().cloned());
        assert_eq!(tx.installments(C, "L-1").unwrap(), expected, "{b}");

        // A paid installment is never rewritten: the whole call is refused.
        let r = tx.upsert_installments(
            C,
            &[
                inst("L-1", 6, "2026-06-21", "scheduled"),
                inst("L-1", 1, "2026-01-21", "scheduled"),
            ],
        );
        assert!(r.is_err(), "{b}: {r:?}");
        assert_eq!(tx.installments(C, "L-1").unwrap(), expected, "{b}");
        // Nor deleted, nor one partly paid: nothing is deleted.
        let r = tx.delete_installments_from(C, "L-1", 1);
        assert!(r.is_err(), "{b}: {r:?}");
        assert_eq!(tx.installments(C, "L-1").unwrap(), expected, "{b}");
        let r = tx.delete_installments_from(C, "L-1", 2);
        assert!(r.is_err(), "{b}: {r:?}");
        assert_eq!(tx.installments(C, "L-1").unwrap(), expected, "{b}");
        // The unpaid tail may go (a shortened term); the transaction carries on.
        tx.delete_installments_from(C, "L-1", 4).unwrap();
        tx.delete_installments_from(C, "L-1", 9).unwrap();
        tx.delete_installments_from(C, "L-2", 1).unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.installments(C, "L-1").unwrap(), expected[..3], "{b}");
        assert_eq!(tx.installments(OTHER, "L-1").unwrap().len(), 1, "{b}");
        drop(tx);

        // The schema's rules on the columns.
        for bad in [
            inst("L-1", 0, "2026-01-20", "scheduled"),
            inst("L-1", 7, "2026-07-20", "late"),
            InstallmentRow {
                paid_principal: 200_000,
                ..inst("L-1", 7, "2026-07-20", "scheduled")
            },
            InstallmentRow {
                paid_penalty: 1,
                ..inst("L-1", 7, "2026-07-20", "scheduled")
            },
        ] {
            let mut tx = s.begin().unwrap();
            let r = tx.upsert_installments(C, std::slice::from_ref(&bad));
            assert!(
                matches!(r, Err(StoreError::Database { .. })),
                "{b} {bad:?}: {r:?}"
            );
        }

        // Raw SQL cannot touch a paid installment either.
        for sql in [
            "UPDATE loan_installments SET principal = 1 WHERE period = 1",
            "UPDATE loan_installments SET status = 'scheduled' WHERE period = 1",
            "DELETE FROM loan_installments WHERE period = 1",
            "DELETE FROM loan_installments WHERE period = 2",
        ] {
            let r = raw_exec(db, sql);
            assert!(r.is_err(), "{b}: {sql} was allowed");
        }
        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.installments(C, "L-1").unwrap(), expected[..3], "{b}");
    });
}

#[test]
fn servicing_writes_save_only_what_repayment_changes() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        let active = full("L-1", "A-1", ACCT, "active", T0);
        let other = full("L-2", "A-2", "000000000009", "active", T0 + 1);
        let done = full("L-3", "A-3", "000000000010", "paid_off", T0 + 2);
        for l in [&active, &other, &done] {
            tx.insert_loan(C, l).unwrap();
        }
        let schedule = [
            inst("L-1", 1, "2026-01-20", "paid"),
            inst("L-1", 2, "2026-02-20", "overdue"),
            inst("L-1", 3, "2026-03-20", "scheduled"),
            inst("L-2", 1, "2026-03-20", "scheduled"),
        ];
        tx.upsert_installments(C, &schedule).unwrap();
        tx.commit().unwrap();

        // Period 2 paid with its penalty, period 3 partly: only the paid amounts, penalty,
        // status and paid-on date are saved — a principal or interest given differently
        // is not.
        let mut tx = s.begin().unwrap();
        let paid2 = InstallmentRow {
            paid_principal: 100_002,
            paid_interest: 20_000,
            penalty: 180,
            paid_penalty: 180,
            status: "paid".into(),
            paid_on: Some(d(DAY)),
            ..inst("L-1", 2, "2026-02-20", "overdue")
        };
        let part3 = InstallmentRow {
            paid_interest: 5_000,
            ..inst("L-1", 3, "2026-03-20", "scheduled")
        };
        let meddled = InstallmentRow {
            principal: 1,
            interest: 1,
            ..part3.clone()
        };
        tx.service_installments(C, &[paid2.clone(), meddled])
            .unwrap();
        tx.service_installments(C, &[]).unwrap();
        assert_eq!(
            tx.installments(C, "L-1").unwrap(),
            [schedule[0].clone(), paid2.clone(), part3.clone()],
            "{b}"
        );
        let nos = vec!["L-1".to_owned(), "L-2".to_owned()];
        assert_eq!(
            periods(
                &tx.loan_installments_unpaid_by(C, &nos, d("2026-03-31"))
                    .unwrap()
            ),
            [("L-1", 3), ("L-2", 1)],
            "{b}: the paid period left the unpaid reads"
        );
        assert_eq!(
            periods(&tx.installments_unpaid_by(C, d("2026-03-31")).unwrap()),
            [("L-1", 3), ("L-2", 1)],
            "{b}"
        );

        // Loans: one staying active gets only its servicing columns; one paid off also
        // its status and closed-on date; terms, card and details given differently are
        // not saved.
        let serviced = LoanRow {
            outstanding: 79_399_998,
            risk_class: "01".into(),
            overdue_days: 0,
            updated_at_us: T0 + 9_000_000,
            card_no: "6222000000000000001".into(),
            details: "{}".into(),
            months: 120,
            closed_on: None,
            ..active.clone()
        };
        let paid_off = LoanRow {
            status: "paid_off".into(),
            closed_on: Some(d(DAY)),
            outstanding: 0,
            risk_class: "01".into(),
            overdue_days: 0,
            updated_at_us: T0 + 9_000_001,
            ..other.clone()
        };
        tx.service_loans(C, &[serviced, paid_off.clone()]).unwrap();
        tx.service_loans(C, &[]).unwrap();
        assert_eq!(
            tx.loan(C, "L-1").unwrap().unwrap(),
            LoanRow {
                outstanding: 79_399_998,
                risk_class: "01".into(),
                overdue_days: 0,
                updated_at_us: T0 + 9_000_000,
                ..active.clone()
            },
            "{b}"
        );
        assert_eq!(tx.loan(C, "L-2").unwrap().unwrap(), paid_off, "{b}");
        tx.commit().unwrap();

        // An unknown period or loan, or a loan no longer active said to stay active, is
        // refused by name; a paid period is never rewritten.
        for (rows, name) in [
            (
                vec![inst("L-1", 9, "2026-09-20", "scheduled")],
                "period 9 of loan L-1",
            ),
            (
                vec![inst("L-9", 1, "2026-01-20", "scheduled")],
                "period 1 of loan L-9",
            ),
            // A period is found by its due date as read, too.
            (
                vec![inst("L-1", 3, "2026-03-21", "scheduled")],
                "period 3 of loan L-1 due 2026-03-21",
            ),
        ] {
            let mut tx = s.begin().unwrap();
            match tx.service_installments(C, &rows) {
                Err(StoreError::NotFound { what }) => assert!(what.contains(name), "{b}: {what}"),
                other => panic!("{b}: expected NotFound, got {other:?}"),
            }
        }
        let mut tx = s.begin().unwrap();
        let r = tx.service_installments(
            C,
            &[InstallmentRow {
                paid_penalty: 0,
                ..paid2
            }],
        );
        assert!(matches!(r, Err(StoreError::Database { .. })), "{b}: {r:?}");
        drop(tx);
        for (row, name) in [
            (full("L-9", "A-9", "000000000011", "active", T0), "L-9"),
            (done.clone(), "L-3"),
            (
                LoanRow {
                    status: "active".into(),
                    ..done.clone()
                },
                "L-3",
            ),
        ] {
            let mut tx = s.begin().unwrap();
            let r = tx.service_loans(C, std::slice::from_ref(&row));
            match (&r, row.status.as_str()) {
                (Err(StoreError::NotFound { what }), "active") => {
                    assert!(what.contains(name), "{b}: {what}")
                }
                // Saving a paid-off loan as it is changes nothing and is allowed.
                (Ok(()), "paid_off") => {}
                _ => panic!("{b}: {} {}: {r:?}", row.loan_no, row.status),
            }
        }
        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.loan(C, "L-3").unwrap().unwrap(), done, "{b}");
        assert_eq!(
            tx.installments(C, "L-1").unwrap()[1],
            InstallmentRow {
                paid_penalty: 180,
                ..InstallmentRow {
                    paid_principal: 100_002,
                    paid_interest: 20_000,
                    penalty: 180,
                    status: "paid".into(),
                    paid_on: Some(d(DAY)),
                    ..inst("L-1", 2, "2026-02-20", "overdue")
                }
            },
            "{b}"
        );
    });
}

#[test]
fn the_unpaid_installments_due_by_a_date_by_loan_and_period() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        tx.upsert_installments(
            C,
            &[
                inst("a-2", 1, "2026-02-20", "paid"),
                inst("a-2", 2, "2026-03-01", "overdue"),
                inst("a-2", 3, "2026-03-20", "scheduled"),
                inst("L-1", 2, "2026-03-02", "scheduled"),
                inst("L-1", 1, "2026-02-02", "overdue"),
                inst("L-1", 3, "2026-04-02", "scheduled"),
                inst("B-3", 10, "2026-03-02", "paid"),
                inst("B-3", 11, "2026-03-02", "scheduled"),
                inst("B-3", 9, "2025-12-31", "overdue"),
            ],
        )
        .unwrap();
        tx.upsert_installments(OTHER, &[inst("L-1", 1, "2026-01-01", "scheduled")])
            .unwrap();
        tx.commit().unwrap();

        for mut tx in [s.begin().unwrap(), s.begin_read().unwrap()] {
            let due = tx.installments_unpaid_by(C, d(DAY)).unwrap();
            assert_eq!(
                periods(&due),
                [("B-3", 9), ("B-3", 11), ("L-1", 1), ("L-1", 2), ("a-2", 2)],
                "{b}"
            );
            assert_eq!(due[2], inst("L-1", 1, "2026-02-02", "overdue"), "{b}");
            assert!(due.iter().all(|i| i.status != "paid"));
            assert_eq!(
                periods(&tx.installments_unpaid_by(C, d("2026-03-01")).unwrap()),
                [("B-3", 9), ("L-1", 1), ("a-2", 2)],
                "{b}"
            );
            assert_eq!(
                periods(&tx.installments_unpaid_by(C, d("2025-12-31")).unwrap()),
                [("B-3", 9)],
                "{b}"
            );
            assert!(
                tx.installments_unpaid_by(C, d("2025-12-30"))
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(
                periods(&tx.installments_unpaid_by(C, d("2026-12-31")).unwrap()),
                [
                    ("B-3", 9),
                    ("B-3", 11),
                    ("L-1", 1),
                    ("L-1", 2),
                    ("L-1", 3),
                    ("a-2", 2),
                    ("a-2", 3)
                ],
                "{b}"
            );
            assert_eq!(
                periods(&tx.installments_unpaid_by(OTHER, d(DAY)).unwrap()),
                [("L-1", 1)]
            );
            // The same for named loans only (a batch of repayments), in one read.
            let nos = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
            let some = tx
                .loan_installments_unpaid_by(C, &nos(&["a-2", "L-1", "nope"]), d(DAY))
                .unwrap();
            assert_eq!(periods(&some), [("L-1", 1), ("L-1", 2), ("a-2", 2)], "{b}");
            assert_eq!(some[0], inst("L-1", 1, "2026-02-02", "overdue"), "{b}");
            assert_eq!(
                periods(
                    &tx.loan_installments_unpaid_by(C, &nos(&["B-3"]), d("2026-12-31"))
                        .unwrap()
                ),
                [("B-3", 9), ("B-3", 11)],
                "{b}"
            );
            assert!(
                tx.loan_installments_unpaid_by(C, &[], d(DAY))
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(
                periods(
                    &tx.loan_installments_unpaid_by(OTHER, &nos(&["L-1"]), d(DAY))
                        .unwrap()
                ),
                [("L-1", 1)]
            );
        }
    });
}

#[test]
fn timelines_documents_and_day_closes_are_written_once() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        tx.insert_loan(C, &full("L-1", "A-1", ACCT, "active", T0))
            .unwrap();
        // Written out of order, read by seq.
        tx.insert_loan_events(
            C,
            &[
                event("L-1", 3, "approved"),
                event("L-1", 1, "verifying"),
                event("L-1", 2, "review"),
            ],
        )
        .unwrap();
        tx.insert_loan_events(C, &[]).unwrap();
        tx.insert_loan_events(OTHER, &[event("L-1", 1, "cancelled")])
            .unwrap();
        // Steps counted per loan, for many loans at once; a loan without steps is left out.
        assert_eq!(
            tx.count_loan_events(C, &["L-1".to_owned(), "L-9".to_owned()])
                .unwrap(),
            [("L-1".to_owned(), 3)],
            "{b}"
        );
        assert_eq!(
            tx.count_loan_events(OTHER, &["L-1".to_owned()]).unwrap(),
            [("L-1".to_owned(), 1)],
            "{b}"
        );
        assert!(tx.count_loan_events(C, &[]).unwrap().is_empty());
        let contract = doc("L-1", "D-2", "loan-contract", T0 + 2);
        let mortgage = doc("L-1", "D-1", "mortgage-contract", T0 + 3);
        let auth = doc("L-1", "D-3", "authorisation", T0 + 1);
        tx.insert_loan_document(C, &contract).unwrap();
        tx.insert_loan_document(C, &mortgage).unwrap();
        tx.insert_loan_document(C, &auth).unwrap();
        tx.insert_loan_document(OTHER, &doc("L-1", "D-1", "loan-contract", T0))
            .unwrap();
        assert_eq!(tx.day_close(C, d(DAY)).unwrap(), None);
        let closed = DayCloseRow {
            business_date: d(DAY),
            closed_at_us: T0 + 86_400_000_000,
            operator: "system".into(),
            summary: r#"{"overdue":2,"deducted":17}"#.into(),
        };
        tx.insert_day_close(C, &closed).unwrap();
        tx.commit().unwrap();

        let steps = [
            event("L-1", 1, "verifying"),
            event("L-1", 2, "review"),
            event("L-1", 3, "approved"),
        ];
        for mut tx in [s.begin().unwrap(), s.begin_read().unwrap()] {
            assert_eq!(tx.loan_events(C, "L-1").unwrap(), steps, "{b}");
            assert!(tx.loan_events(C, "L-2").unwrap().is_empty());
            assert_eq!(
                tx.loan_events(OTHER, "L-1").unwrap(),
                [event("L-1", 1, "cancelled")]
            );
            // Oldest first.
            assert_eq!(
                tx.loan_documents(C, "L-1").unwrap(),
                [auth.clone(), contract.clone(), mortgage.clone()],
                "{b}"
            );
            assert!(tx.loan_documents(C, "L-2").unwrap().is_empty());
            assert_eq!(tx.loan_documents(OTHER, "L-1").unwrap().len(), 1);
            assert_eq!(
                tx.day_close(C, d(DAY)).unwrap(),
                Some(closed.clone()),
                "{b}"
            );
            assert_eq!(tx.day_close(C, d("2026-03-01")).unwrap(), None);
            assert_eq!(tx.day_close(OTHER, d(DAY)).unwrap(), None);
        }

        let mut tx = s.begin().unwrap();
        // A taken step, or one given twice: the whole call is refused.
        let what =
            conflict(tx.insert_loan_events(C, &[event("L-1", 4, "signed"), event("L-1", 2, "x")]));
        assert!(what.contains("step 2 of loan L-1"), "{b}: {what}");
        let what =
            conflict(tx.insert_loan_events(C, &[event("L-1", 5, "signed"), event("L-1", 5, "x")]));
        assert!(what.contains("step 5 of loan L-1"), "{b}: {what}");
        assert_eq!(tx.loan_events(C, "L-1").unwrap(), steps, "{b}");
        // A taken document number, even for another loan.
        let what = conflict(tx.insert_loan_document(C, &doc("L-2", "D-1", "authorisation", T0)));
        assert!(what.contains("D-1"), "{b}: {what}");
        assert!(tx.loan_documents(C, "L-2").unwrap().is_empty());
        // A date closed twice.
        let what = conflict(tx.insert_day_close(
            C,
            &DayCloseRow {
                operator: "staff:S0001".into(),
                ..closed.clone()
            },
        ));
        assert!(what.contains(DAY), "{b}: {what}");
        assert_eq!(tx.day_close(C, d(DAY)).unwrap(), Some(closed.clone()));
        // The transaction carries on.
        tx.insert_loan_events(C, &[event("L-1", 4, "signed")])
            .unwrap();
        let payoff = doc("L-1", "D-4", "payoff-certificate", T0 + 9);
        tx.insert_loan_document(C, &payoff).unwrap();
        let next = DayCloseRow {
            business_date: d("2026-03-03"),
            ..closed.clone()
        };
        tx.insert_day_close(C, &next).unwrap();
        tx.insert_day_close(OTHER, &closed).unwrap();
        tx.commit().unwrap();

        // The schema's rules.
        {
            let mut tx = s.begin().unwrap();
            let r = tx.insert_loan_events(C, &[event("L-1", 0, "x")]);
            assert!(matches!(r, Err(StoreError::Database { .. })), "{b}: {r:?}");
        }

        // Append-only, even by raw SQL.
        for sql in [
            "UPDATE loan_events SET note_zh = 'x'",
            "UPDATE loan_events SET event = 'paid_off' WHERE seq = 2",
            "DELETE FROM loan_events",
            "UPDATE loan_documents SET content = 'x'",
            "DELETE FROM loan_documents",
            "UPDATE day_closes SET summary = 'x'",
            "DELETE FROM day_closes",
        ] {
            let r = raw_exec(db, sql);
            assert!(r.is_err(), "{b}: {sql} was allowed");
        }
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.loan_events(C, "L-1").unwrap(),
            [
                event("L-1", 1, "verifying"),
                event("L-1", 2, "review"),
                event("L-1", 3, "approved"),
                event("L-1", 4, "signed"),
            ],
            "{b}"
        );
        assert_eq!(
            tx.loan_documents(C, "L-1").unwrap(),
            [auth, contract, mortgage, payoff],
            "{b}"
        );
        assert_eq!(tx.day_close(C, d(DAY)).unwrap(), Some(closed.clone()));
        assert_eq!(tx.day_close(C, d("2026-03-03")).unwrap(), Some(next));
        assert_eq!(tx.day_close(OTHER, d(DAY)).unwrap(), Some(closed));
    });
}

#[test]
fn a_locked_loan_takes_concurrent_changes_one_after_the_other() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let mut tx = s.begin().unwrap();
        tx.insert_loan(C, &loan("L-1", "A-1", ACCT, "active", T0))
            .unwrap();
        tx.commit().unwrap();
        const THREADS: i64 = 4;
        const ROUNDS: i64 = 10;
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(move || {
                    for _ in 0..ROUNDS {
                        let mut tx = s.begin().unwrap();
                        let mut row = tx.lock_loan(C, "L-1").unwrap().unwrap();
                        std::thread::sleep(std::time::Duration::from_millis(1));
                        row.outstanding += 1;
                        row.updated_at_us += 1;
                        tx.update_loans(C, &[row]).unwrap();
                        tx.commit().unwrap();
                    }
                });
            }
        });
        let mut tx = s.begin_read().unwrap();
        let row = tx.loan(C, "L-1").unwrap().unwrap();
        assert_eq!(row.outstanding, THREADS * ROUNDS, "{}", db.backend);
        assert_eq!(row.updated_at_us, T0 + THREADS * ROUNDS);
    });
}
