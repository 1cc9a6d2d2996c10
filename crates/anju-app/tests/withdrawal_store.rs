#![allow(clippy::unwrap_used)] // tests fail loudly by design

//! Withdrawal storage on every backend: withdrawals, their timelines and payees round
//! trip every column; a taken number and a second withdrawal in flight for an account
//! and ground are refused (the partial unique index) without writing anything and leave
//! the transaction usable; the schema keeps the application and final statuses fixed
//! (but lets a returned payment be paid again); timelines and payees are append-only even
//! by raw SQL; the lists filter and come back oldest first; a locked withdrawal serialises
//! concurrent changes.

use anju_app::ledger::open_centre;
use anju_domain::codes::Channel;
use anju_domain::stamp::Stamp;
use anju_store::withdrawal::{IN_FLIGHT, PayeeRow, STATUSES, WithdrawalEventRow, WithdrawalRow};
use anju_store::{Backend, Store, StoreError};
use anju_testkit::{TestDb, for_each_backend};
use jiff::Timestamp;
use jiff::civil::Date;

const C: &str = "330800000000000";
/// Another centre, whose rows must never show up in `C`'s.
const OTHER: &str = "330100000000000";
const DAY: &str = "2026-03-02";
const ACCT: &str = "000000000001";
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

/// A new withdrawal as a member applies online, every optional column empty.
fn wd(no: &str, account: &str, ground: &str, status: &str, created: i64) -> WithdrawalRow {
    WithdrawalRow {
        application_no: no.into(),
        account_no: account.into(),
        id_number: "330802199001010011".into(),
        ground: ground.into(),
        reason_code: "01".into(),
        mode: String::new(),
        home_key: String::new(),
        requested: None,
        amount: 0,
        interest: 0,
        closes_account: false,
        status: status.into(),
        decision: "{}".into(),
        reason_zh: String::new(),
        reason_en: String::new(),
        proposed_by: None,
        decided_by: None,
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

/// A decided withdrawal made at the counter, every optional column filled.
fn full(no: &str, account: &str, ground: &str, status: &str, created: i64) -> WithdrawalRow {
    WithdrawalRow {
        reason_code: "04".into(),
        mode: "monthly".into(),
        home_key: "HT-2026-0001".into(),
        requested: Some(5_000_000),
        amount: 4_800_000,
        interest: 1_234,
        closes_account: true,
        decision: r#"{"limit":"balance","checks":["contract"]}"#.into(),
        reason_zh: "按余额核定".into(),
        reason_en: "limited by the balance".into(),
        proposed_by: Some("staff:S0001".into()),
        decided_by: Some("staff:S0002".into()),
        business_date: d("2026-03-01"),
        updated_at_us: created + 5_000_000,
        stamp: Stamp {
            operator: "staff:S0001".into(),
            channel: Channel::Counter,
            service_point: "hall-kecheng".into(),
            on_behalf_of: Some(format!("member:{account}")),
        },
        ..wd(no, account, ground, status, created)
    }
}

fn event(no: &str, seq: i64, status: &str) -> WithdrawalEventRow {
    WithdrawalEventRow {
        application_no: no.into(),
        seq,
        status: status.into(),
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

fn payee(no: &str, seq: i32, serial: &str) -> PayeeRow {
    PayeeRow {
        application_no: no.into(),
        seq,
        id_number: format!("33080219900101{seq:04}"),
        name: format!("继承人 {seq}"),
        bank_code: "105".into(),
        card_no: format!("621700000000000{seq}"),
        share_num: 1,
        share_den: 3,
        amount: 1_600_000,
        serial: serial.into(),
    }
}

fn numbers(rows: &[WithdrawalRow]) -> Vec<&str> {
    rows.iter().map(|w| w.application_no.as_str()).collect()
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
fn withdrawals_events_and_payees_round_trip_every_column() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let bare = wd("W-2", ACCT, "purchase", "submitted", T0);
        let decided = full("W-1", ACCT, "rent", "approved", T0 - 1);
        let elsewhere = full("W-1", "000000000009", "death", "paid", T0);
        let mut tx = s.begin().unwrap();
        tx.insert_withdrawal(C, &bare).unwrap();
        tx.insert_withdrawal(C, &decided).unwrap();
        // The same number in another centre is another withdrawal.
        tx.insert_withdrawal(OTHER, &elsewhere).unwrap();
        // Written out of order, read by seq.
        let steps = [
            event("W-1", 3, "approved"),
            event("W-1", 1, "submitted"),
            event("W-1", 2, "review"),
        ];
        tx.insert_withdrawal_events(C, &steps).unwrap();
        tx.insert_withdrawal_events(C, &[]).unwrap();
        tx.insert_withdrawal_events(OTHER, &[event("W-1", 1, "paid")])
            .unwrap();
        let heirs = [
            payee("W-1", 2, "P-0002"),
            PayeeRow {
                share_num: 2,
                amount: 3_200_000,
                ..payee("W-1", 1, "P-0001")
            },
        ];
        tx.insert_payees(C, &heirs).unwrap();
        tx.insert_payees(C, &[]).unwrap();
        tx.insert_payees(OTHER, &[payee("W-1", 1, "P-0001")])
            .unwrap();
        tx.commit().unwrap();

        for mut tx in [s.begin().unwrap(), s.begin_read().unwrap()] {
            assert_eq!(
                tx.withdrawal(C, "W-1").unwrap(),
                Some(decided.clone()),
                "{}",
                db.backend
            );
            assert_eq!(tx.withdrawal(C, "W-2").unwrap(), Some(bare.clone()));
            assert_eq!(tx.withdrawal(C, "W-3").unwrap(), None);
            assert_eq!(
                tx.withdrawal(OTHER, "W-1").unwrap(),
                Some(elsewhere.clone())
            );
            assert_eq!(tx.withdrawal(OTHER, "W-2").unwrap(), None);
            // Oldest first.
            assert_eq!(
                tx.withdrawals_of_account(C, ACCT).unwrap(),
                [decided.clone(), bare.clone()],
                "{}",
                db.backend
            );
            assert!(
                tx.withdrawals_of_account(C, "000000000009")
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(
                tx.withdrawal_events(C, "W-1").unwrap(),
                [
                    event("W-1", 1, "submitted"),
                    event("W-1", 2, "review"),
                    event("W-1", 3, "approved"),
                ],
                "{}",
                db.backend
            );
            assert!(tx.withdrawal_events(C, "W-2").unwrap().is_empty());
            assert_eq!(
                tx.withdrawal_events(OTHER, "W-1").unwrap(),
                [event("W-1", 1, "paid")]
            );
            assert_eq!(
                tx.payees(C, "W-1").unwrap(),
                [heirs[1].clone(), heirs[0].clone()],
                "{}",
                db.backend
            );
            assert!(tx.payees(C, "W-2").unwrap().is_empty());
            assert_eq!(
                tx.payees(OTHER, "W-1").unwrap(),
                [payee("W-1", 1, "P-0001")]
            );
        }

        let mut tx = s.begin().unwrap();
        assert_eq!(tx.lock_withdrawal(C, "W-1").unwrap(), Some(decided.clone()));
        assert_eq!(tx.lock_withdrawal(C, "nope").unwrap(), None);
        // Every mutable column is saved, and only those.
        let changed = WithdrawalRow {
            mode: "one-off".into(),
            home_key: "HT-2026-0002".into(),
            amount: 4_700_000,
            interest: 99,
            closes_account: false,
            status: "paying".into(),
            decision: r#"{"limit":"price"}"#.into(),
            reason_zh: "按房价核定".into(),
            reason_en: "limited by the price".into(),
            proposed_by: None,
            decided_by: Some("staff:S0003".into()),
            updated_at_us: T0 + 60_000_000,
            ..decided.clone()
        };
        tx.update_withdrawal(C, &changed).unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.withdrawal(C, "W-1").unwrap(),
            Some(changed),
            "{}",
            db.backend
        );
        assert_eq!(tx.withdrawal(OTHER, "W-1").unwrap(), Some(elsewhere));
    });
}

#[test]
fn a_taken_number_is_refused_and_nothing_is_written() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let first = wd("W-1", ACCT, "purchase", "paid", T0);
        let mut tx = s.begin().unwrap();
        tx.insert_withdrawal(C, &first).unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        // Another account and ground, so only the number clashes.
        let again = full("W-1", "000000000002", "rent", "submitted", T0 + 1);
        let what = conflict(tx.insert_withdrawal(C, &again));
        assert!(what.contains("W-1"), "{}: {what}", db.backend);
        assert_eq!(tx.withdrawal(C, "W-1").unwrap(), Some(first.clone()));
        assert!(
            tx.withdrawals_of_account(C, "000000000002")
                .unwrap()
                .is_empty()
        );
        // The transaction carries on.
        tx.insert_withdrawal(C, &wd("W-2", ACCT, "purchase", "submitted", T0 + 2))
            .unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            numbers(&tx.withdrawals_of_account(C, ACCT).unwrap()),
            ["W-1", "W-2"],
            "{}",
            db.backend
        );

        // The schema's rules on the columns.
        for bad in [
            WithdrawalRow {
                status: "lost".into(),
                ..wd("X-1", "000000000003", "purchase", "submitted", T0)
            },
            WithdrawalRow {
                mode: "weekly".into(),
                ..wd("X-2", "000000000003", "purchase", "submitted", T0)
            },
            WithdrawalRow {
                requested: Some(0),
                ..wd("X-3", "000000000003", "purchase", "submitted", T0)
            },
            WithdrawalRow {
                amount: -1,
                ..wd("X-4", "000000000003", "purchase", "submitted", T0)
            },
            WithdrawalRow {
                interest: -1,
                ..wd("X-5", "000000000003", "purchase", "submitted", T0)
            },
            // No such centre.
            wd("X-6", "000000000003", "purchase", "submitted", T0),
        ] {
            let centre = if bad.application_no == "X-6" {
                "339900000000000"
            } else {
                C
            };
            let mut tx = s.begin().unwrap();
            let r = tx.insert_withdrawal(centre, &bad);
            assert!(
                matches!(r, Err(StoreError::Database { .. })),
                "{} {}: {r:?}",
                db.backend,
                bad.application_no
            );
        }
        for (i, status) in STATUSES.iter().enumerate() {
            let mut tx = s.begin().unwrap();
            let mode = ["", "one-off", "yearly", "monthly"][i % 4];
            let row = WithdrawalRow {
                mode: mode.into(),
                ..wd(&format!("OK-{status}"), "000000000004", status, status, T0)
            };
            tx.insert_withdrawal(C, &row).unwrap();
            tx.commit().unwrap();
        }
    });
}

#[test]
fn one_withdrawal_in_flight_per_account_and_ground() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let mut tx = s.begin().unwrap();
        let first = wd("W-1", ACCT, "purchase", "submitted", T0);
        tx.insert_withdrawal(C, &first).unwrap();
        // A second one on the same ground: refused, nothing written, transaction usable.
        let second = wd("W-2", ACCT, "purchase", "submitted", T0 + 1);
        let what = conflict(tx.insert_withdrawal(C, &second));
        assert!(
            what.contains(ACCT) && what.contains("purchase"),
            "{}: {what}",
            db.backend
        );
        assert_eq!(tx.withdrawal(C, "W-2").unwrap(), None);
        // Another ground, another account, another centre: fine.
        tx.insert_withdrawal(C, &wd("W-3", ACCT, "rent", "review", T0 + 2))
            .unwrap();
        tx.insert_withdrawal(C, &wd("W-4", "000000000002", "purchase", "paying", T0 + 3))
            .unwrap();
        tx.insert_withdrawal(OTHER, &wd("W-2", ACCT, "purchase", "submitted", T0))
            .unwrap();
        // Finished withdrawals on the ground do not count.
        for (no, status) in [("W-5", "paid"), ("W-6", "refused"), ("W-7", "returned")] {
            tx.insert_withdrawal(C, &wd(no, ACCT, "purchase", status, T0 + 4))
                .unwrap();
        }
        tx.commit().unwrap();

        // Once the first is paid (or refused), another may be applied for.
        for end in ["paid", "refused"] {
            let mut tx = s.begin().unwrap();
            let mut open = tx
                .withdrawals_with_status(C, &IN_FLIGHT)
                .unwrap()
                .into_iter()
                .find(|w| w.account_no == ACCT && w.ground == "purchase")
                .unwrap();
            assert!(open.in_flight());
            let r = tx.insert_withdrawal(
                C,
                &wd(&format!("N-{end}"), ACCT, "purchase", "submitted", T0 + 9),
            );
            assert!(is_conflict(r), "{} {end}", db.backend);
            open.status = end.into();
            tx.update_withdrawal(C, &open).unwrap();
            tx.insert_withdrawal(
                C,
                &wd(&format!("N-{end}"), ACCT, "purchase", "submitted", T0 + 9),
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let mut tx = s.begin_read().unwrap();
        let open: Vec<String> = tx
            .withdrawals_of_account(C, ACCT)
            .unwrap()
            .into_iter()
            .filter(|w| w.in_flight())
            .map(|w| format!("{}:{}", w.application_no, w.ground))
            .collect();
        assert_eq!(open, ["W-3:rent", "N-refused:purchase"], "{}", db.backend);
        assert_eq!(tx.withdrawal(C, "W-1").unwrap().unwrap().status, "paid");
        assert_eq!(
            tx.withdrawal(C, "N-paid").unwrap().unwrap().status,
            "refused"
        );
        drop(tx);

        // Every in-flight status holds the place; no final one does.
        for (i, status) in STATUSES.iter().enumerate() {
            let account = format!("1000000000{i:02}");
            let mut tx = s.begin().unwrap();
            tx.insert_withdrawal(C, &wd(&format!("S-{i}-1"), &account, "rent", status, T0))
                .unwrap();
            let r = tx.insert_withdrawal(
                C,
                &wd(&format!("S-{i}-2"), &account, "rent", "approved", T0),
            );
            assert_eq!(
                is_conflict(r),
                IN_FLIGHT.contains(status),
                "{} {status}",
                db.backend
            );
            tx.commit().unwrap();
        }
    });
}

#[test]
fn an_update_that_puts_a_second_withdrawal_in_flight_is_refused() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let returned = wd("W-1", ACCT, "purchase", "returned", T0);
        let mut tx = s.begin().unwrap();
        tx.insert_withdrawal(C, &returned).unwrap();
        tx.insert_withdrawal(C, &wd("W-2", ACCT, "purchase", "verifying", T0 + 1))
            .unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        // Paying the returned one again would put two in flight.
        let repay = WithdrawalRow {
            status: "paying".into(),
            updated_at_us: T0 + 10,
            ..returned.clone()
        };
        let what = conflict(tx.update_withdrawal(C, &repay));
        assert!(
            what.contains(ACCT) && what.contains("purchase"),
            "{}: {what}",
            db.backend
        );
        // Nothing changed, and the transaction carries on.
        assert_eq!(tx.withdrawal(C, "W-1").unwrap(), Some(returned.clone()));
        // Moving the one in flight along is no clash with itself.
        let mut other = tx.lock_withdrawal(C, "W-2").unwrap().unwrap();
        other.status = "review".into();
        tx.update_withdrawal(C, &other).unwrap();
        other.status = "refused".into();
        tx.update_withdrawal(C, &other).unwrap();
        tx.update_withdrawal(C, &repay).unwrap();
        // An unknown number.
        let r = tx.update_withdrawal(C, &wd("W-9", ACCT, "rent", "submitted", T0));
        assert!(
            matches!(r, Err(StoreError::NotFound { .. })),
            "{}: {r:?}",
            db.backend
        );
        let r = tx.update_withdrawal(OTHER, &repay);
        assert!(matches!(r, Err(StoreError::NotFound { .. })), "{r:?}");
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.withdrawal(C, "W-1").unwrap(),
            Some(repay),
            "{}",
            db.backend
        );
        assert_eq!(tx.withdrawal(C, "W-2").unwrap().unwrap().status, "refused");
    });
}

#[test]
fn the_application_and_final_statuses_never_change() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let mut tx = s.begin().unwrap();
        tx.insert_withdrawal(C, &full("W-1", ACCT, "purchase", "submitted", T0))
            .unwrap();
        for (no, status) in [("P", "paid"), ("R", "refused"), ("B", "returned")] {
            tx.insert_withdrawal(C, &wd(no, ACCT, "rent", status, T0))
                .unwrap();
        }
        tx.commit().unwrap();

        // Through the store: a final status is never left, except returned → paying.
        let mut tx = s.begin().unwrap();
        for (no, to) in [
            ("P", "paying"),
            ("P", "returned"),
            ("R", "submitted"),
            ("R", "paid"),
            ("B", "paid"),
            ("B", "submitted"),
        ] {
            let mut row = tx.withdrawal(C, no).unwrap().unwrap();
            let before = row.clone();
            row.status = to.into();
            let r = tx.update_withdrawal(C, &row);
            assert!(
                matches!(r, Err(StoreError::Database { .. })),
                "{}: {no} → {to}: {r:?}",
                db.backend
            );
            // Nothing changed, and the transaction carries on.
            assert_eq!(tx.withdrawal(C, no).unwrap(), Some(before));
        }
        // A final status may still have its other columns saved.
        let mut paid = tx.withdrawal(C, "P").unwrap().unwrap();
        paid.reason_zh = "已到账".into();
        tx.update_withdrawal(C, &paid).unwrap();
        let mut bounced = tx.withdrawal(C, "B").unwrap().unwrap();
        bounced.status = "paying".into();
        tx.update_withdrawal(C, &bounced).unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.withdrawal(C, "B").unwrap().unwrap().status, "paying");
        assert_eq!(tx.withdrawal(C, "P").unwrap().unwrap().reason_zh, "已到账");
        drop(tx);

        // Through raw SQL: what was applied for, by whom and when, never changes; nor is
        // a withdrawal deleted.
        let refused = [
            "UPDATE withdrawals SET application_no = 'W-9' WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET account_no = 'x' WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET id_number = 'x' WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET ground = 'x' WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET reason_code = '99' WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET requested = 1 WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET requested = NULL WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET business_date = '2026-03-03' WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET created_at_us = 1 WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET operator = 'x' WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET channel = '02' WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET service_point = 'x' WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET on_behalf_of = NULL WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET status = 'submitted' WHERE application_no = 'P'",
            "UPDATE withdrawals SET status = 'approved' WHERE application_no = 'R'",
            "DELETE FROM withdrawals WHERE application_no = 'W-1'",
            // And the schema's texts.
            "UPDATE withdrawals SET status = 'lost' WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET mode = 'weekly' WHERE application_no = 'W-1'",
        ];
        for sql in refused {
            let r = raw_exec(db, sql);
            assert!(r.is_err(), "{}: {sql} was allowed", db.backend);
        }
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.withdrawal(C, "W-1").unwrap(),
            Some(full("W-1", ACCT, "purchase", "submitted", T0)),
            "{}",
            db.backend
        );
        drop(tx);
        // What may change, does.
        for sql in [
            "UPDATE withdrawals SET mode = 'yearly', home_key = 'k', amount = 1, interest = 2,
                closes_account = FALSE, status = 'verifying', decision = '[]',
                reason_zh = 'z', reason_en = 'e', proposed_by = NULL, decided_by = 'd',
                updated_at_us = 3
             WHERE application_no = 'W-1'",
            "UPDATE withdrawals SET status = 'paid' WHERE application_no = 'W-1'",
        ] {
            assert_eq!(raw_exec(db, sql), Ok(1), "{}: {sql}", db.backend);
        }
    });
}

#[test]
fn timelines_and_payees_are_written_once() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let mut tx = s.begin().unwrap();
        tx.insert_withdrawal(C, &wd("W-1", ACCT, "death", "paying", T0))
            .unwrap();
        tx.insert_withdrawal_events(C, &[event("W-1", 1, "submitted")])
            .unwrap();
        tx.insert_payees(C, &[payee("W-1", 1, "P-1")]).unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        // A taken step, or one given twice: the whole call is refused.
        let what = conflict(
            tx.insert_withdrawal_events(C, &[event("W-1", 2, "review"), event("W-1", 1, "paid")]),
        );
        assert!(
            what.contains("step 1 of withdrawal W-1"),
            "{}: {what}",
            db.backend
        );
        let what = conflict(
            tx.insert_withdrawal_events(C, &[event("W-1", 3, "review"), event("W-1", 3, "paid")]),
        );
        assert!(
            what.contains("step 3 of withdrawal W-1"),
            "{}: {what}",
            db.backend
        );
        assert_eq!(
            tx.withdrawal_events(C, "W-1").unwrap(),
            [event("W-1", 1, "submitted")],
            "{}",
            db.backend
        );
        // A taken number or serial (any withdrawal's), or one given twice: refused.
        for (batch, named) in [
            (
                vec![payee("W-1", 2, "P-2"), payee("W-1", 1, "P-9")],
                "serial P-9",
            ),
            (
                vec![payee("W-1", 2, "P-2"), payee("W-2", 1, "P-1")],
                "payee 1 of withdrawal W-2",
            ),
            (
                vec![payee("W-1", 2, "P-2"), payee("W-1", 3, "P-2")],
                "payee 3 of withdrawal W-1",
            ),
            (
                vec![payee("W-1", 2, "P-2"), payee("W-1", 2, "P-3")],
                "serial P-3",
            ),
        ] {
            let what = conflict(tx.insert_payees(C, &batch));
            assert!(what.contains(named), "{}: {named}: {what}", db.backend);
        }
        assert_eq!(
            tx.payees(C, "W-1").unwrap(),
            [payee("W-1", 1, "P-1")],
            "{}",
            db.backend
        );
        assert!(tx.payees(C, "W-2").unwrap().is_empty());
        // The transaction carries on.
        tx.insert_withdrawal_events(C, &[event("W-1", 2, "paying")])
            .unwrap();
        tx.insert_payees(C, &[payee("W-1", 2, "P-2")]).unwrap();
        // A serial is the centre's: another centre may use it.
        tx.insert_payees(OTHER, &[payee("W-1", 1, "P-1")]).unwrap();
        tx.commit().unwrap();

        // The schema's rules.
        for bad in [
            PayeeRow {
                share_num: 0,
                ..payee("W-1", 5, "X-1")
            },
            PayeeRow {
                share_num: 4,
                share_den: 3,
                ..payee("W-1", 5, "X-2")
            },
            PayeeRow {
                amount: -1,
                ..payee("W-1", 5, "X-3")
            },
            payee("W-1", 0, "X-4"),
        ] {
            let mut tx = s.begin().unwrap();
            let r = tx.insert_payees(C, std::slice::from_ref(&bad));
            assert!(
                matches!(r, Err(StoreError::Database { .. })),
                "{} {}: {r:?}",
                db.backend,
                bad.serial
            );
        }
        for bad in [event("W-1", 0, "paid"), event("W-1", 5, "lost")] {
            let mut tx = s.begin().unwrap();
            let r = tx.insert_withdrawal_events(C, std::slice::from_ref(&bad));
            assert!(
                matches!(r, Err(StoreError::Database { .. })),
                "{} {}: {r:?}",
                db.backend,
                bad.seq
            );
        }

        // Append-only, even by raw SQL.
        for sql in [
            "UPDATE withdrawal_events SET note_zh = 'x'",
            "UPDATE withdrawal_events SET status = 'paid' WHERE seq = 2",
            "DELETE FROM withdrawal_events",
            "UPDATE withdrawal_payees SET amount = 1",
            "UPDATE withdrawal_payees SET card_no = 'x' WHERE seq = 2",
            "DELETE FROM withdrawal_payees",
        ] {
            let r = raw_exec(db, sql);
            assert!(r.is_err(), "{}: {sql} was allowed", db.backend);
        }
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.withdrawal_events(C, "W-1").unwrap(),
            [event("W-1", 1, "submitted"), event("W-1", 2, "paying")],
            "{}",
            db.backend
        );
        assert_eq!(
            tx.payees(C, "W-1").unwrap(),
            [payee("W-1", 1, "P-1"), payee("W-1", 2, "P-2")],
            "{}",
            db.backend
        );
    });
}

#[test]
fn lists_filter_by_home_and_status_and_come_back_oldest_first() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let home = |no: &str, account: &str, ground: &str, key: &str, status: &str, at: i64| {
            WithdrawalRow {
                home_key: key.into(),
                ..wd(no, account, ground, status, at)
            }
        };
        let rows = [
            // Both spouses' withdrawals for one home, and a later one of the first.
            home("W-30", "000000000001", "purchase", "HT-1", "paid", T0 + 30),
            home(
                "W-10",
                "000000000002",
                "purchase",
                "HT-1",
                "review",
                T0 + 10,
            ),
            // Made at the same time: byte-wise by number ("B…" before "a…").
            home(
                "a-20",
                "000000000003",
                "purchase",
                "HT-1",
                "proposed",
                T0 + 20,
            ),
            home(
                "B-20",
                "000000000004",
                "purchase",
                "HT-1",
                "refused",
                T0 + 20,
            ),
            // Another home; the same key on another ground.
            home("W-40", "000000000005", "purchase", "HT-2", "review", T0 + 5),
            home("W-50", "000000000001", "build", "HT-1", "submitted", T0 + 1),
            home("W-60", "000000000006", "rent", "", "review", T0 + 60),
        ];
        let mut tx = s.begin().unwrap();
        for r in &rows {
            tx.insert_withdrawal(C, r).unwrap();
        }
        tx.insert_withdrawal(
            OTHER,
            &home("W-00", "000000000001", "purchase", "HT-1", "review", T0),
        )
        .unwrap();
        tx.commit().unwrap();

        for mut tx in [s.begin().unwrap(), s.begin_read().unwrap()] {
            let b = db.backend;
            let by_home = tx.withdrawals_by_home_key(C, "purchase", "HT-1").unwrap();
            assert_eq!(numbers(&by_home), ["W-10", "B-20", "a-20", "W-30"], "{b}");
            assert_eq!(by_home[0], rows[1], "{b}");
            assert_eq!(
                numbers(&tx.withdrawals_by_home_key(C, "build", "HT-1").unwrap()),
                ["W-50"]
            );
            assert_eq!(
                numbers(&tx.withdrawals_by_home_key(C, "purchase", "HT-2").unwrap()),
                ["W-40"]
            );
            assert_eq!(
                numbers(&tx.withdrawals_by_home_key(C, "rent", "").unwrap()),
                ["W-60"]
            );
            assert!(
                tx.withdrawals_by_home_key(C, "rent", "HT-1")
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(
                numbers(
                    &tx.withdrawals_by_home_key(OTHER, "purchase", "HT-1")
                        .unwrap()
                ),
                ["W-00"]
            );

            assert_eq!(
                numbers(&tx.withdrawals_with_status(C, &["review"]).unwrap()),
                ["W-40", "W-10", "W-60"],
                "{b}"
            );
            assert_eq!(
                numbers(
                    &tx.withdrawals_with_status(C, &["review", "proposed"])
                        .unwrap()
                ),
                ["W-40", "W-10", "a-20", "W-60"],
                "{b}"
            );
            assert_eq!(
                numbers(&tx.withdrawals_with_status(C, &IN_FLIGHT).unwrap()),
                ["W-50", "W-40", "W-10", "a-20", "W-60"],
                "{b}"
            );
            assert_eq!(
                numbers(&tx.withdrawals_with_status(C, &STATUSES).unwrap()),
                ["W-50", "W-40", "W-10", "B-20", "a-20", "W-30", "W-60"],
                "{b}"
            );
            assert!(tx.withdrawals_with_status(C, &[]).unwrap().is_empty());
            assert!(
                tx.withdrawals_with_status(C, &["approved"])
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(
                numbers(&tx.withdrawals_with_status(OTHER, &["review"]).unwrap()),
                ["W-00"]
            );
            assert_eq!(
                numbers(&tx.withdrawals_of_account(C, "000000000001").unwrap()),
                ["W-50", "W-30"],
                "{b}"
            );
        }
    });
}

#[test]
fn a_locked_withdrawal_takes_concurrent_changes_one_after_the_other() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let mut tx = s.begin().unwrap();
        tx.insert_withdrawal(C, &wd("W-1", ACCT, "purchase", "review", T0))
            .unwrap();
        tx.commit().unwrap();
        const THREADS: i64 = 4;
        const ROUNDS: i64 = 10;
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(move || {
                    for _ in 0..ROUNDS {
                        let mut tx = s.begin().unwrap();
                        let mut row = tx.lock_withdrawal(C, "W-1").unwrap().unwrap();
                        std::thread::sleep(std::time::Duration::from_millis(1));
                        row.amount += 1;
                        row.updated_at_us += 1;
                        tx.update_withdrawal(C, &row).unwrap();
                        tx.commit().unwrap();
                    }
                });
            }
        });
        let mut tx = s.begin_read().unwrap();
        let row = tx.withdrawal(C, "W-1").unwrap().unwrap();
        assert_eq!(row.amount, THREADS * ROUNDS, "{}", db.backend);
        assert_eq!(row.updated_at_us, T0 + THREADS * ROUNDS);
    });
}
