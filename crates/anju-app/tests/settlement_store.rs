//! Bank-settlement storage on every backend: banks, payout cards and units' bank
//! accounts; instructions written in batches, read by serial, locked, updated, polled
//! while unsettled and listed by value date; bank notices kept once and refusals logged;
//! incoming money and suspense; reconciliation runs and items. Refused writes change
//! nothing and leave the transaction usable; the logs refuse edits and deletions even by
//! raw SQL.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::ledger::open_centre;
use anju_store::settlement::{
    BankRow, CardRow, INCOMING_MATCHES, INSTRUCTION_STATES, IncomingRow, InstructionRow,
    NoticeRefusalRow, NoticeRow, RECON_KINDS, RECON_STATUSES, ReconItemRow, ReconRunRow,
    UnitBankAccountRow,
};
use anju_store::{Backend, Store, StoreError};
use anju_testkit::{TestDb, for_each_backend};
use jiff::Timestamp;
use jiff::civil::Date;

const C: &str = "330800000000000";
/// Another centre, whose rows must never show up in `C`'s.
const OTHER: &str = "330100000000000";
const CCB: &str = "105";
const ICBC: &str = "102";
const DAY: &str = "2026-03-02";

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

fn is_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::NotFound { .. }))
}

/// The `what` of a `Conflict` or `NotFound`.
fn what<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Err(StoreError::Conflict { what } | StoreError::NotFound { what }) => what,
        other => panic!("expected Conflict or NotFound, got {other:?}"),
    }
}

fn bank(code: &str, account: &str) -> BankRow {
    BankRow {
        code: code.into(),
        name: format!("银行 {code}"),
        fund_account: account.into(),
        fund_account_name: "衢州市住房公积金管理中心".into(),
        registered_on: d("2026-01-05"),
    }
}

/// A new instruction, every optional column empty.
fn instr(serial: &str, bank_code: &str) -> InstructionRow {
    InstructionRow {
        serial: serial.into(),
        bank_code: bank_code.into(),
        kind: "payment".into(),
        business_type: "02".into(),
        debit_account: "33050161".into(),
        credit_account: "6217000000000001".into(),
        credit_name: "张三".into(),
        credit_bank: None,
        amount: 1_234_567,
        memo: "提取 购房".into(),
        target: "member:000000000001".into(),
        entry_key: None,
        state: "created".into(),
        bank_ref: None,
        value_date: None,
        reason: None,
        business_date: d(DAY),
        operator: "staff:S0001".into(),
        created_at_us: 1_772_416_800_000_000,
        settled_at_us: None,
        queries: 0,
        next_query_at_us: None,
    }
}

/// An instruction executed with value date `on`, every optional column filled.
fn executed(serial: &str, bank_code: &str, on: &str) -> InstructionRow {
    InstructionRow {
        credit_bank: Some("313338009688".into()),
        entry_key: Some(format!("settle:{serial}")),
        state: "executed".into(),
        bank_ref: Some(format!("R{serial}")),
        value_date: Some(d(on)),
        reason: Some("ok".into()),
        settled_at_us: Some(1_772_420_000_000_000),
        queries: 2,
        next_query_at_us: Some(1_772_430_000_000_000),
        ..instr(serial, bank_code)
    }
}

/// `row` as the bank executed it with value date `on` (its request unchanged).
fn settled(row: &InstructionRow, on: &str) -> InstructionRow {
    InstructionRow {
        state: "executed".into(),
        bank_ref: Some(format!("R{}", row.serial)),
        value_date: Some(d(on)),
        settled_at_us: Some(1_772_420_000_000_000),
        queries: row.queries + 1,
        next_query_at_us: None,
        ..row.clone()
    }
}

fn in_flight(serial: &str, bank_code: &str, next: Option<i64>) -> InstructionRow {
    InstructionRow {
        state: "in_flight".into(),
        next_query_at_us: next,
        ..instr(serial, bank_code)
    }
}

fn money(bank_code: &str, bank_ref: &str, on: &str, matched: &str, at: i64) -> IncomingRow {
    IncomingRow {
        bank_code: bank_code.into(),
        bank_ref: bank_ref.into(),
        amount: 880_000,
        payer_account: "33001616100052500001".into(),
        payer_name: "衢州某某有限公司".into(),
        memo: "2026-02 汇缴".into(),
        value_date: d(on),
        received_at_us: at,
        matched: matched.into(),
        bill_no: None,
        note: None,
        entry_key: format!("incoming:{bank_code}:{bank_ref}"),
        assigned_key: None,
    }
}

fn item(bank_code: &str, on: &str, serial: &str, kind: &str, found: i64) -> ReconItemRow {
    ReconItemRow {
        bank_code: bank_code.into(),
        date: d(on),
        serial: serial.into(),
        kind: kind.into(),
        bank_amount: Some(-50_000),
        anju_amount: None,
        found_at_us: found,
        status: "open".into(),
        resolved_at_us: None,
        resolution: None,
    }
}

fn refusal(reason: &str, at: i64) -> NoticeRefusalRow {
    NoticeRefusalRow {
        claimed_bank: CCB.into(),
        reason: reason.into(),
        body_hash: "ab".repeat(32),
        peer: "10.0.0.8:51234".into(),
        received_at_us: at,
    }
}

fn serials(rows: &[InstructionRow]) -> Vec<&str> {
    rows.iter().map(|i| i.serial.as_str()).collect()
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

/// A one-column text result of raw SQL, in the order the query gives.
fn raw_texts(db: &TestDb, sql: &str) -> Vec<String> {
    match db.backend {
        Backend::Sqlite => {
            let path = db.url.strip_prefix("sqlite://").unwrap();
            let c = rusqlite::Connection::open(path).unwrap();
            let mut st = c.prepare(sql).unwrap();
            st.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        }
        Backend::Postgres => {
            let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
            c.query(sql, &[])
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect()
        }
    }
}

#[test]
fn banks_cards_and_unit_accounts_round_trip() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let ccb = bank(CCB, "33050161000000000001");
        let icbc = BankRow {
            registered_on: d("2025-12-31"),
            ..bank(ICBC, "1209000000000000001")
        };
        let mut tx = s.begin().unwrap();
        tx.insert_bank(C, &ccb).unwrap();
        tx.insert_bank(C, &icbc).unwrap();
        // The same code and account in another centre are another bank.
        tx.insert_bank(OTHER, &ccb).unwrap();
        // Code taken, or fund account taken under another code: refused, nothing
        // written, the transaction usable.
        let r = tx.insert_bank(C, &bank(CCB, "99"));
        assert!(is_conflict(r), "{}", db.backend);
        let r = tx.insert_bank(C, &bank("301", "33050161000000000001"));
        assert!(is_conflict(r), "{}", db.backend);
        assert_eq!(tx.bank(C, "301").unwrap(), None);
        tx.insert_bank(C, &bank("301", "301000001")).unwrap();

        let card = CardRow {
            account_no: "000000000001".into(),
            bank_code: CCB.into(),
            card_no: "6217000000000001".into(),
            holder: "张三".into(),
            bound_on: d("2026-02-01"),
        };
        tx.bind_card(C, &card).unwrap();
        tx.bind_card(
            C,
            &CardRow {
                account_no: "000000000002".into(),
                ..card.clone()
            },
        )
        .unwrap();

        let ua = |unit: &str, bank: &str, account: &str| UnitBankAccountRow {
            unit_no: unit.into(),
            bank_code: bank.into(),
            account: account.into(),
            name: format!("单位 {unit}"),
        };
        tx.insert_unit_bank_account(C, &ua("U0001", CCB, "3305-2"))
            .unwrap();
        tx.insert_unit_bank_account(C, &ua("U0001", ICBC, "1209-9"))
            .unwrap();
        tx.insert_unit_bank_account(C, &ua("U0001", CCB, "3305-10"))
            .unwrap();
        tx.insert_unit_bank_account(C, &ua("U0002", CCB, "3305-3"))
            .unwrap();
        // Taken by any unit.
        let r = tx.insert_unit_bank_account(C, &ua("U0002", CCB, "3305-2"));
        assert!(is_conflict(r), "{}", db.backend);
        tx.insert_unit_bank_account(OTHER, &ua("U0009", CCB, "3305-2"))
            .unwrap();
        tx.commit().unwrap();

        for mut tx in [s.begin().unwrap(), s.begin_read().unwrap()] {
            // By code.
            assert_eq!(
                tx.banks(C).unwrap(),
                [icbc.clone(), ccb.clone(), bank("301", "301000001")],
                "{}",
                db.backend
            );
            assert_eq!(tx.banks(OTHER).unwrap(), std::slice::from_ref(&ccb));
            assert_eq!(tx.bank(C, ICBC).unwrap(), Some(icbc.clone()));
            assert_eq!(tx.bank(C, "999").unwrap(), None);

            assert_eq!(tx.card(C, "000000000001").unwrap(), Some(card.clone()));
            assert_eq!(tx.card(C, "000000000003").unwrap(), None);
            assert_eq!(tx.card(OTHER, "000000000001").unwrap(), None);

            // By bank, then account (byte-wise: "3305-10" < "3305-2").
            assert_eq!(
                tx.unit_bank_accounts(C, "U0001").unwrap(),
                [
                    ua("U0001", ICBC, "1209-9"),
                    ua("U0001", CCB, "3305-10"),
                    ua("U0001", CCB, "3305-2"),
                ],
                "{}",
                db.backend
            );
            assert!(tx.unit_bank_accounts(C, "U9999").unwrap().is_empty());
            assert_eq!(
                tx.unit_by_bank_account(C, CCB, "3305-2").unwrap(),
                Some(ua("U0001", CCB, "3305-2"))
            );
            assert_eq!(
                tx.unit_by_bank_account(OTHER, CCB, "3305-2").unwrap(),
                Some(ua("U0009", CCB, "3305-2"))
            );
            assert_eq!(tx.unit_by_bank_account(C, ICBC, "3305-2").unwrap(), None);
        }

        // Re-binding replaces the member's one card.
        let rebound = CardRow {
            account_no: "000000000001".into(),
            bank_code: ICBC.into(),
            card_no: "6222000000000009".into(),
            holder: "张三丰".into(),
            bound_on: d("2026-03-02"),
        };
        let mut tx = s.begin().unwrap();
        tx.bind_card(C, &rebound).unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.card(C, "000000000001").unwrap(), Some(rebound));
        assert_eq!(
            tx.card(C, "000000000002").unwrap().unwrap().card_no,
            "6217000000000001"
        );
    });
}

#[test]
fn instructions_round_trip_every_column_and_come_back_by_serial() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let bare = instr("S-2026-0002", CCB);
        let full = executed("S-2026-0001", ICBC, "2026-03-03");
        // Byte-wise, "B…" comes before "a…" (a locale's order would not).
        let upper = instr("B-1", CCB);
        let lower = instr("a-1", CCB);
        let mut tx = s.begin().unwrap();
        tx.insert_instructions(C, &[bare.clone(), full.clone(), lower.clone()])
            .unwrap();
        tx.insert_instructions(C, std::slice::from_ref(&upper))
            .unwrap();
        tx.insert_instructions(C, &[]).unwrap();
        tx.insert_instructions(OTHER, &[instr("S-2026-0001", CCB)])
            .unwrap();
        tx.commit().unwrap();

        for mut tx in [s.begin().unwrap(), s.begin_read().unwrap()] {
            let got = tx
                .instructions(
                    C,
                    &[
                        "S-2026-0002",
                        "nope",
                        "a-1",
                        "S-2026-0001",
                        "B-1",
                        "S-2026-0002",
                    ],
                )
                .unwrap();
            // Those that exist, each once, in serial order.
            assert_eq!(
                got,
                [upper.clone(), full.clone(), bare.clone(), lower.clone()],
                "{}",
                db.backend
            );
            assert_eq!(got[1].value_date, Some(d("2026-03-03")));
            assert_eq!(got[1].settled_at_us, Some(1_772_420_000_000_000));
            assert_eq!(got[2].credit_bank, None);
            assert_eq!(got[2].next_query_at_us, None);
            assert!(tx.instructions(C, &[]).unwrap().is_empty());
            assert!(tx.instructions(C, &["nope"]).unwrap().is_empty());
            assert_eq!(
                tx.instructions(OTHER, &["S-2026-0001"]).unwrap(),
                [instr("S-2026-0001", CCB)]
            );
        }

        let mut tx = s.begin().unwrap();
        assert_eq!(
            tx.lock_instruction(C, "S-2026-0001").unwrap(),
            Some(full.clone())
        );
        assert_eq!(
            tx.lock_instruction(C, "S-2026-0002").unwrap(),
            Some(bare.clone())
        );
        assert_eq!(tx.lock_instruction(C, "nope").unwrap(), None);
        // A batch: in serial order, each once, unknown serials left out.
        assert_eq!(
            tx.lock_instructions(C, &["S-2026-0002", "nope", "S-2026-0001", "S-2026-0002"])
                .unwrap(),
            [full.clone(), bare.clone()]
        );
        assert!(tx.lock_instructions(C, &[]).unwrap().is_empty());
        assert_eq!(
            tx.instruction_counts(C).unwrap(),
            [("created".to_owned(), 3), ("executed".to_owned(), 1)],
            "{}",
            db.backend
        );
        assert_eq!(
            tx.instruction_counts(OTHER).unwrap(),
            [("created".to_owned(), 1)]
        );
    });
}

#[test]
fn a_taken_or_repeated_serial_refuses_the_whole_batch() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let mut tx = s.begin().unwrap();
        tx.insert_instructions(C, &[instr("S-1", CCB)]).unwrap();
        tx.commit().unwrap();

        // A few rows (one statement) and many rows (the bulk path on PostgreSQL).
        for n in [3, 500] {
            let mut tx = s.begin().unwrap();
            let mut batch: Vec<InstructionRow> = (0..n)
                .map(|i| instr(&format!("N{n}-{i:05}"), CCB))
                .collect();
            batch.insert(n / 2, instr("S-1", ICBC));
            let r = tx.insert_instructions(C, &batch);
            assert!(what(r).contains("S-1"), "{} {n}", db.backend);
            let mut batch: Vec<InstructionRow> = (0..n)
                .map(|i| instr(&format!("R{n}-{i:05}"), CCB))
                .collect();
            batch.push(instr(&format!("R{n}-00001"), ICBC));
            let r = tx.insert_instructions(C, &batch);
            assert!(
                what(r).contains(&format!("R{n}-00001")),
                "{} {n}",
                db.backend
            );
            // Nothing of either batch was written, and the transaction is usable.
            let asked = [format!("N{n}-00000"), format!("R{n}-00000")];
            let asked: Vec<&str> = asked.iter().map(String::as_str).collect();
            assert!(tx.instructions(C, &asked).unwrap().is_empty());
            assert_eq!(
                tx.instructions(C, &["S-1"]).unwrap(),
                [instr("S-1", CCB)],
                "{}",
                db.backend
            );
            let fine: Vec<InstructionRow> = (0..n)
                .map(|i| instr(&format!("F{n}-{i:05}"), CCB))
                .collect();
            tx.insert_instructions(C, &fine).unwrap();
            tx.commit().unwrap();
            let mut tx = s.begin_read().unwrap();
            let all: Vec<String> = fine.iter().map(|i| i.serial.clone()).collect();
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            assert_eq!(tx.instructions(C, &all).unwrap(), fine, "{}", db.backend);
        }

        // The schema's rules: a positive amount, a known state, an executed instruction
        // with its reference and value date.
        for bad in [
            InstructionRow {
                amount: 0,
                ..instr("X-1", CCB)
            },
            InstructionRow {
                state: "lost".into(),
                ..instr("X-2", CCB)
            },
            InstructionRow {
                bank_ref: None,
                ..executed("X-3", CCB, DAY)
            },
            InstructionRow {
                reason: None,
                state: "not_executed".into(),
                ..instr("X-4", CCB)
            },
        ] {
            let mut tx = s.begin().unwrap();
            let r = tx.insert_instructions(C, std::slice::from_ref(&bad));
            assert!(
                matches!(r, Err(StoreError::Database { .. })),
                "{} {}: {r:?}",
                db.backend,
                bad.serial
            );
        }
        for state in INSTRUCTION_STATES {
            let mut tx = s.begin().unwrap();
            let row = InstructionRow {
                state: state.into(),
                ..executed(&format!("OK-{state}"), CCB, DAY)
            };
            tx.insert_instructions(C, &[row]).unwrap();
            tx.commit().unwrap();
        }
    });
}

#[test]
fn updates_save_the_outcome_only_and_unknown_serials_change_nothing() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let mut tx = s.begin().unwrap();
        let rows = [instr("S-1", CCB), instr("S-2", CCB), instr("S-3", ICBC)];
        tx.insert_instructions(C, &rows).unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        let sent = InstructionRow {
            // The request columns are not saved by an update.
            amount: 1,
            memo: "changed".into(),
            entry_key: Some("other".into()),
            ..in_flight("S-1", CCB, Some(5_000))
        };
        let done = InstructionRow {
            state: "executed".into(),
            bank_ref: Some("B77".into()),
            value_date: Some(d("2026-03-03")),
            settled_at_us: Some(9_000),
            queries: 3,
            ..instr("S-2", CCB)
        };
        // S-1 twice: the last row is what remains.
        let first = in_flight("S-1", CCB, Some(1));
        tx.update_instructions(C, &[first, sent.clone(), done.clone()])
            .unwrap();
        // An unknown serial anywhere in the call: nothing of it changes.
        let r = tx.update_instructions(
            C,
            &[
                in_flight("S-3", ICBC, Some(7)),
                in_flight("S-404", CCB, None),
            ],
        );
        assert!(what(r).contains("S-404"), "{}", db.backend);
        assert!(is_not_found(
            tx.update_instructions(OTHER, &[in_flight("S-1", CCB, None)])
        ));
        let got = tx.instructions(C, &["S-1", "S-2", "S-3"]).unwrap();
        assert_eq!(
            got,
            [
                in_flight("S-1", CCB, Some(5_000)),
                done.clone(),
                instr("S-3", ICBC)
            ],
            "{}",
            db.backend
        );
        // The transaction is usable.
        tx.update_instructions(C, &[in_flight("S-3", ICBC, None)])
            .unwrap();
        tx.update_instructions(C, &[]).unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.instructions(C, &["S-3"]).unwrap(),
            [in_flight("S-3", ICBC, None)]
        );
        assert_eq!(
            tx.instruction_counts(C).unwrap(),
            [("executed".to_owned(), 1), ("in_flight".to_owned(), 2)]
        );
    });
}

#[test]
fn unsettled_instructions_are_found_by_bank_due_time_and_limit() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let rows = vec![
            instr("U-07", CCB),                  // created, never scheduled
            in_flight("U-03", CCB, Some(1_000)), // due
            in_flight("U-05", CCB, Some(2_000)), // due exactly at 2 000
            in_flight("U-01", CCB, Some(2_001)), // not yet
            in_flight("U-02", ICBC, None),       // other bank
            in_flight("U-04", ICBC, Some(500)),  // other bank
            executed("U-06", CCB, DAY),          // settled
            InstructionRow {
                reason: Some("账户不存在".into()),
                state: "not_executed".into(),
                ..instr("U-08", CCB)
            },
            in_flight("a-00", CCB, Some(0)), // after "U-…" byte-wise
        ];
        let mut tx = s.begin().unwrap();
        tx.insert_instructions(C, &rows).unwrap();
        tx.insert_instructions(OTHER, &[in_flight("U-00", CCB, None)])
            .unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin_read().unwrap();
        let all = tx.instructions_unsettled(C, None, 2_000, 100).unwrap();
        assert_eq!(
            serials(&all),
            ["U-02", "U-03", "U-04", "U-05", "U-07", "a-00"],
            "{}",
            db.backend
        );
        assert_eq!(all[1], rows[1]);
        let ccb = tx.instructions_unsettled(C, Some(CCB), 2_000, 100).unwrap();
        assert_eq!(serials(&ccb), ["U-03", "U-05", "U-07", "a-00"]);
        let later = tx.instructions_unsettled(C, Some(CCB), 3_000, 100).unwrap();
        assert_eq!(serials(&later), ["U-01", "U-03", "U-05", "U-07", "a-00"]);
        // The first `limit` in serial order.
        let two = tx.instructions_unsettled(C, None, 2_000, 2).unwrap();
        assert_eq!(serials(&two), ["U-02", "U-03"]);
        assert!(
            tx.instructions_unsettled(C, None, 2_000, 0)
                .unwrap()
                .is_empty()
        );
        let early = tx.instructions_unsettled(C, None, -1, 100).unwrap();
        assert_eq!(serials(&early), ["U-02", "U-07"]);
        assert!(
            tx.instructions_unsettled(C, Some("999"), i64::MAX, 100)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            serials(&tx.instructions_unsettled(OTHER, None, 0, 100).unwrap()),
            ["U-00"]
        );
    });
}

#[test]
fn executed_instructions_are_listed_by_bank_and_value_date() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let rows = vec![
            executed("E-3", CCB, DAY),
            executed("E-1", CCB, DAY),
            executed("E-2", CCB, "2026-03-03"),
            executed("E-4", ICBC, DAY),
            executed("E-10", CCB, DAY),
            // A value date on an instruction not (yet) executed does not count.
            InstructionRow {
                value_date: Some(d(DAY)),
                ..in_flight("E-5", CCB, None)
            },
        ];
        let mut tx = s.begin().unwrap();
        tx.insert_instructions(C, &rows).unwrap();
        tx.insert_instructions(OTHER, &[executed("E-0", CCB, DAY)])
            .unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin_read().unwrap();
        let on = tx.instructions_executed_on(C, CCB, d(DAY)).unwrap();
        assert_eq!(serials(&on), ["E-1", "E-10", "E-3"], "{}", db.backend);
        assert_eq!(on[0], rows[1]);
        assert_eq!(
            tx.instructions_executed_on(C, CCB, d("2026-03-03"))
                .unwrap(),
            [rows[2].clone()]
        );
        assert_eq!(
            serials(&tx.instructions_executed_on(C, ICBC, d(DAY)).unwrap()),
            ["E-4"]
        );
        assert!(
            tx.instructions_executed_on(C, CCB, d("2026-03-01"))
                .unwrap()
                .is_empty()
        );
        drop(tx);

        // Settling E-5 puts it on the list.
        let mut tx = s.begin().unwrap();
        tx.update_instructions(C, &[executed("E-5", CCB, DAY)])
            .unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            serials(&tx.instructions_executed_on(C, CCB, d(DAY)).unwrap()),
            ["E-1", "E-10", "E-3", "E-5"]
        );
    });
}

/// Batches past the backends' bulk thresholds (PostgreSQL: COPY and several statements
/// under one savepoint) behave as the small ones.
#[test]
fn large_batches_are_all_or_nothing() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        const N: usize = 25_000;
        let rows: Vec<InstructionRow> = (0..N)
            .map(|i| in_flight(&format!("L{i:06}"), CCB, Some(i as i64)))
            .collect();
        let mut tx = s.begin().unwrap();
        tx.insert_instructions(C, &rows).unwrap();
        tx.commit().unwrap();

        let done: Vec<InstructionRow> = rows.iter().map(|r| settled(r, DAY)).collect();
        let mut tx = s.begin().unwrap();
        let mut with_unknown = done.clone();
        with_unknown.push(settled(&instr("L999999", CCB), DAY));
        let r = tx.update_instructions(C, &with_unknown);
        assert!(what(r).contains("L999999"), "{}", db.backend);
        assert!(
            tx.instructions_executed_on(C, CCB, d(DAY))
                .unwrap()
                .is_empty(),
            "{}",
            db.backend
        );
        assert_eq!(
            tx.instructions_unsettled(C, None, i64::MAX, N + 1)
                .unwrap()
                .len(),
            N
        );
        tx.update_instructions(C, &done).unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin_read().unwrap();
        let on = tx.instructions_executed_on(C, CCB, d(DAY)).unwrap();
        assert_eq!(on, done, "{}", db.backend);
        assert!(
            tx.instructions_unsettled(C, None, i64::MAX, 10)
                .unwrap()
                .is_empty()
        );
        drop(tx);

        let items: Vec<ReconItemRow> = (0..N)
            .map(|i| item(CCB, DAY, &format!("L{i:06}"), "missing_at_bank", 1))
            .collect();
        let mut tx = s.begin().unwrap();
        tx.upsert_recon_items(C, &items[..N / 2]).unwrap();
        tx.upsert_recon_items(C, &items).unwrap();
        let resolved: Vec<ReconItemRow> = items
            .iter()
            .map(|i| ReconItemRow {
                status: "resolved".into(),
                resolved_at_us: Some(2),
                resolution: Some("rerun".into()),
                ..i.clone()
            })
            .collect();
        let mut with_unknown = resolved.clone();
        with_unknown.push(item(CCB, DAY, "L999999", "missing_at_bank", 1));
        let r = tx.update_recon_items(C, &with_unknown);
        assert!(what(r).contains("L999999"), "{}", db.backend);
        assert_eq!(tx.recon_items(C, None, None, true).unwrap(), items);
        tx.update_recon_items(C, &resolved).unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert!(tx.recon_items(C, None, None, true).unwrap().is_empty());
        assert_eq!(
            tx.recon_items(C, Some(CCB), Some(d(DAY)), false).unwrap(),
            resolved
        );
    });
}

#[test]
fn notices_are_kept_once_and_refusals_logged_newest_first() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let notice = NoticeRow {
            bank_code: CCB.into(),
            notice_id: "N-0001".into(),
            kind: "result".into(),
            reference: "S-1".into(),
            body_hash: "cd".repeat(32),
            received_at_us: 1_000,
            outcome: "applied".into(),
        };
        let mut tx = s.begin().unwrap();
        assert!(tx.insert_notice(C, &notice).unwrap());
        // Delivered again (even with another body): kept once, nothing written.
        let again = NoticeRow {
            body_hash: "ef".repeat(32),
            received_at_us: 2_000,
            outcome: "no change".into(),
            ..notice.clone()
        };
        assert!(!tx.insert_notice(C, &again).unwrap(), "{}", db.backend);
        // The same id from another bank, or in another centre, is another notice.
        assert!(
            tx.insert_notice(
                C,
                &NoticeRow {
                    bank_code: ICBC.into(),
                    kind: "credit".into(),
                    ..notice.clone()
                }
            )
            .unwrap()
        );
        assert!(tx.insert_notice(OTHER, &notice).unwrap());
        // The transaction is usable after the duplicate.
        tx.insert_notice_refusal(C, &refusal("unsigned", 10))
            .unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin().unwrap();
        assert!(!tx.insert_notice(C, &again).unwrap());
        tx.commit().unwrap();
        assert_eq!(
            raw_texts(
                db,
                "SELECT outcome FROM bank_notices WHERE centre_code = '330800000000000' \
                 AND bank_code = '105'"
            ),
            ["applied"],
            "{}",
            db.backend
        );

        let mut tx = s.begin().unwrap();
        tx.insert_notice_refusal(C, &refusal("bad signature", 30))
            .unwrap();
        // Logged later with an earlier clock: the log's order is the order written.
        tx.insert_notice_refusal(C, &refusal("stale", 20)).unwrap();
        tx.insert_notice_refusal(
            OTHER,
            &NoticeRefusalRow {
                claimed_bank: String::new(),
                peer: String::new(),
                ..refusal("garbled", 5)
            },
        )
        .unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.notice_refusals(C, 2).unwrap(),
            [refusal("stale", 20), refusal("bad signature", 30)],
            "{}",
            db.backend
        );
        assert_eq!(tx.notice_refusals(C, 10).unwrap().len(), 3);
        assert_eq!(
            tx.notice_refusals(C, 10).unwrap()[2],
            refusal("unsigned", 10)
        );
        assert!(tx.notice_refusals(C, 0).unwrap().is_empty());
        let other = tx.notice_refusals(OTHER, 10).unwrap();
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].claimed_bank, "");
    });
}

/// Refusals logged by concurrent transactions (nothing locked) all get a number.
#[test]
fn concurrent_refusals_are_all_logged() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        const THREADS: i64 = 4;
        const ROUNDS: i64 = 10;
        std::thread::scope(|scope| {
            for t in 0..THREADS {
                scope.spawn(move || {
                    for r in 0..ROUNDS {
                        let mut tx = s.begin().unwrap();
                        tx.insert_notice_refusal(C, &refusal("unsigned", t * 100 + r))
                            .unwrap();
                        std::thread::sleep(std::time::Duration::from_millis(1));
                        tx.commit().unwrap();
                    }
                });
            }
        });
        let mut tx = s.begin_read().unwrap();
        let mut at: Vec<i64> = tx
            .notice_refusals(C, 1_000)
            .unwrap()
            .iter()
            .map(|r| r.received_at_us)
            .collect();
        at.sort_unstable();
        let want: Vec<i64> = (0..THREADS)
            .flat_map(|t| (0..ROUNDS).map(move |r| t * 100 + r))
            .collect();
        assert_eq!(at, want, "{}", db.backend);
    });
}

#[test]
fn incoming_money_is_recorded_once_and_moves_out_of_suspense() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let paid = IncomingRow {
            bill_no: Some("B-2026-02-0001".into()),
            ..money(CCB, "CR-02", DAY, "bill", 300)
        };
        let parked = IncomingRow {
            note: Some("no bill named, two fit".into()),
            ..money(CCB, "CR-10", DAY, "suspense", 200)
        };
        let parked_early = money(ICBC, "CR-01", "2026-03-01", "suspense", 100);
        let parked_tie = money(CCB, "CR-00", DAY, "suspense", 200);
        let mut tx = s.begin().unwrap();
        for m in [&paid, &parked, &parked_early, &parked_tie] {
            tx.insert_incoming(C, m).unwrap();
        }
        // The same reference at the same bank: refused, the first kept.
        let r = tx.insert_incoming(C, &money(CCB, "CR-02", DAY, "suspense", 999));
        assert!(is_conflict(r), "{}", db.backend);
        // At another bank it is another credit.
        let elsewhere = money(ICBC, "CR-02", DAY, "bill", 400);
        tx.insert_incoming(C, &elsewhere).unwrap();
        tx.insert_incoming(OTHER, &money(CCB, "CR-99", DAY, "suspense", 1))
            .unwrap();
        tx.commit().unwrap();
        // The schema's rules: a positive amount, a known match.
        for bad in [
            IncomingRow {
                amount: 0,
                ..money(CCB, "CR-bad", DAY, "bill", 1)
            },
            money(CCB, "CR-bad", DAY, "lost", 1),
        ] {
            let mut tx = s.begin().unwrap();
            let r = tx.insert_incoming(C, &bad);
            assert!(matches!(r, Err(StoreError::Database { .. })), "{r:?}");
        }

        for mut tx in [s.begin().unwrap(), s.begin_read().unwrap()] {
            assert_eq!(tx.incoming(C, CCB, "CR-02").unwrap(), Some(paid.clone()));
            assert_eq!(tx.incoming(C, CCB, "CR-10").unwrap(), Some(parked.clone()));
            assert_eq!(
                tx.incoming(C, ICBC, "CR-02").unwrap(),
                Some(elsewhere.clone())
            );
            assert_eq!(tx.incoming(C, ICBC, "CR-10").unwrap(), None);
            // By reference.
            assert_eq!(
                tx.incoming_on(C, CCB, d(DAY)).unwrap(),
                [parked_tie.clone(), paid.clone(), parked.clone()],
                "{}",
                db.backend
            );
            assert_eq!(
                tx.incoming_on(C, ICBC, d("2026-03-01")).unwrap(),
                std::slice::from_ref(&parked_early)
            );
            assert!(tx.incoming_on(C, CCB, d("2026-03-01")).unwrap().is_empty());
            // Oldest first (then bank and reference).
            assert_eq!(
                tx.incoming_in_suspense(C).unwrap(),
                [parked_early.clone(), parked_tie.clone(), parked.clone()],
                "{}",
                db.backend
            );
        }

        // Staff assign it: where it went changes, nothing else does.
        let assigned = IncomingRow {
            matched: "assigned".into(),
            bill_no: Some("B-2026-02-0007".into()),
            note: Some("staff:S0002 电话确认".into()),
            assigned_key: Some("assign:CR-10".into()),
            ..parked.clone()
        };
        let mut tx = s.begin().unwrap();
        tx.update_incoming(
            C,
            &IncomingRow {
                amount: 1,
                memo: "changed".into(),
                entry_key: "changed".into(),
                ..assigned.clone()
            },
        )
        .unwrap();
        let r = tx.update_incoming(C, &money(CCB, "CR-404", DAY, "bill", 1));
        assert!(is_not_found(r), "{}", db.backend);
        assert!(is_not_found(
            tx.update_incoming(OTHER, &money(CCB, "CR-10", DAY, "bill", 1))
        ));
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.incoming(C, CCB, "CR-10").unwrap(), Some(assigned));
        assert_eq!(
            tx.incoming_in_suspense(C).unwrap(),
            [parked_early, parked_tie]
        );
        assert_eq!(tx.incoming_in_suspense(OTHER).unwrap().len(), 1);
        drop(tx);
        // Every match the schema knows is stored.
        let mut tx = s.begin().unwrap();
        for (i, m) in INCOMING_MATCHES.iter().enumerate() {
            let row = IncomingRow {
                assigned_key: (*m == "assigned").then(|| "k".to_owned()),
                ..money(ICBC, &format!("M-{i}"), "2026-03-05", m, 1)
            };
            tx.insert_incoming(C, &row).unwrap();
        }
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.incoming_on(C, ICBC, d("2026-03-05")).unwrap().len(),
            INCOMING_MATCHES.len()
        );
    });
}

#[test]
fn reconciliation_runs_and_items_keep_what_was_found_first() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let run = |at: i64, mismatches: i64| ReconRunRow {
            bank_code: CCB.into(),
            date: d(DAY),
            run_at_us: at,
            bank_lines: 500_000,
            anju_lines: 499_998,
            bank_closing: 123_456_789_012,
            ledger_balance: -5,
            mismatches,
        };
        let mut tx = s.begin().unwrap();
        tx.insert_recon_run(C, &run(2_000, 1)).unwrap();
        tx.insert_recon_run(C, &run(1_000, 3)).unwrap();
        tx.insert_recon_run(
            C,
            &ReconRunRow {
                date: d("2026-03-03"),
                ..run(1_500, 0)
            },
        )
        .unwrap();
        let r = tx.insert_recon_run(C, &run(1_000, 9));
        assert!(is_conflict(r), "{}", db.backend);
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.recon_runs(C, CCB, d(DAY)).unwrap(),
            [run(1_000, 3), run(2_000, 1)],
            "{}",
            db.backend
        );
        assert!(tx.recon_runs(C, ICBC, d(DAY)).unwrap().is_empty());
        assert!(tx.recon_runs(OTHER, CCB, d(DAY)).unwrap().is_empty());
        drop(tx);

        let a = ReconItemRow {
            bank_amount: None,
            anju_amount: Some(-120_000),
            ..item(CCB, DAY, "S-2", "missing_at_bank", 10)
        };
        let b = ReconItemRow {
            anju_amount: Some(49_999),
            ..item(CCB, DAY, "S-2", "amount_differs", 10)
        };
        let c = item(ICBC, DAY, "S-1", "missing_in_anju", 11);
        let e = item(CCB, "2026-03-01", "S-9", "duplicate", 5);
        let mut tx = s.begin().unwrap();
        // Repeated in the call: the first is kept.
        let a_later = ReconItemRow {
            found_at_us: 99,
            ..a.clone()
        };
        tx.upsert_recon_items(C, &[a.clone(), b.clone(), c.clone(), a_later])
            .unwrap();
        tx.upsert_recon_items(C, std::slice::from_ref(&e)).unwrap();
        tx.upsert_recon_items(C, &[]).unwrap();
        tx.upsert_recon_items(OTHER, std::slice::from_ref(&c))
            .unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        // By day, serial, kind.
        assert_eq!(
            tx.recon_items(C, None, None, false).unwrap(),
            [e.clone(), c.clone(), b.clone(), a.clone()],
            "{}",
            db.backend
        );
        assert_eq!(
            tx.recon_items(C, Some(CCB), Some(d(DAY)), true).unwrap(),
            [b.clone(), a.clone()]
        );
        assert_eq!(
            tx.recon_items(C, None, Some(d(DAY)), true).unwrap(),
            [c.clone(), b.clone(), a.clone()]
        );
        assert_eq!(
            tx.recon_items(C, Some(CCB), None, true).unwrap(),
            [e.clone(), b.clone(), a.clone()]
        );
        assert!(
            tx.recon_items(C, Some("999"), None, false)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            tx.recon_items(OTHER, None, None, false).unwrap(),
            std::slice::from_ref(&c)
        );

        let resolved_b = ReconItemRow {
            status: "resolved".into(),
            resolved_at_us: Some(20),
            resolution: Some("rerun found it executed".into()),
            ..b.clone()
        };
        // An unknown item: nothing changes, the transaction stays usable.
        let r = tx.update_recon_items(
            C,
            &[resolved_b.clone(), item(CCB, DAY, "S-2", "duplicate", 10)],
        );
        assert!(what(r).contains("duplicate"), "{}", db.backend);
        assert_eq!(
            tx.recon_items(C, Some(CCB), Some(d(DAY)), true)
                .unwrap()
                .len(),
            2
        );
        tx.update_recon_items(C, std::slice::from_ref(&resolved_b))
            .unwrap();
        tx.commit().unwrap();

        // Found again by a later run: the stored item (first found, resolved) stays.
        let mut tx = s.begin().unwrap();
        let again = ReconItemRow {
            found_at_us: 30,
            anju_amount: Some(1),
            ..b.clone()
        };
        let new = item(CCB, DAY, "S-3", "missing_in_anju", 30);
        tx.upsert_recon_items(C, &[again, new.clone()]).unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.recon_items(C, Some(CCB), Some(d(DAY)), false).unwrap(),
            [resolved_b.clone(), a.clone(), new.clone()],
            "{}",
            db.backend
        );
        assert_eq!(
            tx.recon_items(C, Some(CCB), Some(d(DAY)), true).unwrap(),
            [a.clone(), new]
        );
        drop(tx);

        // The schema's rules: known kinds and statuses, resolved exactly when it has a
        // resolution time.
        for bad in [
            item(CCB, DAY, "X", "lost", 1),
            ReconItemRow {
                status: "closed".into(),
                ..item(CCB, DAY, "X", "duplicate", 1)
            },
            ReconItemRow {
                status: "resolved".into(),
                ..item(CCB, DAY, "X", "duplicate", 1)
            },
        ] {
            let mut tx = s.begin().unwrap();
            let r = tx.upsert_recon_items(C, &[bad]);
            assert!(matches!(r, Err(StoreError::Database { .. })), "{r:?}");
        }
        let mut tx = s.begin().unwrap();
        for kind in RECON_KINDS {
            for status in RECON_STATUSES {
                let row = ReconItemRow {
                    status: status.into(),
                    resolved_at_us: (status == "resolved").then_some(1),
                    ..item(ICBC, "2026-03-05", "K", kind, 1)
                };
                tx.upsert_recon_items(C, &[row]).unwrap();
            }
        }
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.recon_items(C, Some(ICBC), Some(d("2026-03-05")), false)
                .unwrap()
                .len(),
            RECON_KINDS.len()
        );
    });
}

/// Answers about one instruction apply one after the other: lock, read, write, commit.
#[test]
fn locked_instructions_apply_concurrent_answers_one_after_the_other() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let mut tx = s.begin().unwrap();
        tx.insert_instructions(C, &[in_flight("S-1", CCB, Some(0))])
            .unwrap();
        tx.commit().unwrap();
        const THREADS: i32 = 4;
        const ROUNDS: i32 = 10;
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(move || {
                    for _ in 0..ROUNDS {
                        let mut tx = s.begin().unwrap();
                        let mut row = tx.lock_instruction(C, "S-1").unwrap().unwrap();
                        std::thread::sleep(std::time::Duration::from_millis(1));
                        row.queries += 1;
                        row.next_query_at_us = Some(i64::from(row.queries));
                        tx.update_instructions(C, &[row]).unwrap();
                        tx.commit().unwrap();
                    }
                });
            }
        });
        let mut tx = s.begin_read().unwrap();
        let row = tx.instructions(C, &["S-1"]).unwrap().pop().unwrap();
        assert_eq!(row.queries, THREADS * ROUNDS, "{}", db.backend);
        assert_eq!(row.next_query_at_us, Some(i64::from(THREADS * ROUNDS)));
    });
}

#[test]
fn the_logs_refuse_edits_and_deletions_even_by_raw_sql() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let mut tx = s.begin().unwrap();
        tx.insert_instructions(
            C,
            &[
                executed("S-1", CCB, DAY),
                in_flight("S-2", CCB, None),
                InstructionRow {
                    reason: Some("户名不符".into()),
                    state: "not_executed".into(),
                    ..instr("S-3", CCB)
                },
            ],
        )
        .unwrap();
        tx.insert_notice(
            C,
            &NoticeRow {
                bank_code: CCB.into(),
                notice_id: "N-1".into(),
                kind: "result".into(),
                reference: "S-1".into(),
                body_hash: "cd".repeat(32),
                received_at_us: 1,
                outcome: "applied".into(),
            },
        )
        .unwrap();
        tx.insert_notice_refusal(C, &refusal("unsigned", 1))
            .unwrap();
        tx.insert_incoming(C, &money(CCB, "CR-1", DAY, "suspense", 1))
            .unwrap();
        tx.insert_recon_run(
            C,
            &ReconRunRow {
                bank_code: CCB.into(),
                date: d(DAY),
                run_at_us: 1,
                bank_lines: 1,
                anju_lines: 1,
                bank_closing: 0,
                ledger_balance: 0,
                mismatches: 1,
            },
        )
        .unwrap();
        tx.upsert_recon_items(C, &[item(CCB, DAY, "S-2", "missing_at_bank", 1)])
            .unwrap();
        tx.commit().unwrap();

        let refused = [
            "UPDATE bank_notices SET outcome = 'no change'",
            "DELETE FROM bank_notices",
            "UPDATE notice_refusals SET reason = 'fine'",
            "DELETE FROM notice_refusals",
            "UPDATE recon_runs SET mismatches = 0",
            "DELETE FROM recon_runs",
            "DELETE FROM settlement_instructions WHERE serial = 'S-2'",
            // The request never changes, in flight or not.
            "UPDATE settlement_instructions SET amount_fen = 1 WHERE serial = 'S-2'",
            "UPDATE settlement_instructions SET credit_account = 'x' WHERE serial = 'S-2'",
            "UPDATE settlement_instructions SET entry_key = 'x' WHERE serial = 'S-2'",
            // A final outcome never changes.
            "UPDATE settlement_instructions SET state = 'not_executed', reason = 'late'
             WHERE serial = 'S-1'",
            "UPDATE settlement_instructions SET bank_ref = 'other' WHERE serial = 'S-1'",
            "UPDATE settlement_instructions SET state = 'in_flight' WHERE serial = 'S-3'",
            "DELETE FROM incoming_money",
            "UPDATE incoming_money SET amount_fen = 1",
            "UPDATE incoming_money SET payer_account = 'x'",
            "DELETE FROM recon_items",
            "UPDATE recon_items SET found_at_us = 2",
            "UPDATE recon_items SET bank_amount_fen = NULL",
            // And the schema's texts.
            "UPDATE settlement_instructions SET state = 'lost' WHERE serial = 'S-2'",
            "UPDATE incoming_money SET matched = 'lost'",
            "UPDATE recon_items SET status = 'resolved'",
        ];
        for sql in refused {
            let r = raw_exec(db, sql);
            assert!(r.is_err(), "{}: {sql} was allowed", db.backend);
        }
        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.instructions(C, &["S-1", "S-2"]).unwrap(),
            [executed("S-1", CCB, DAY), in_flight("S-2", CCB, None)]
        );
        assert_eq!(tx.notice_refusals(C, 10).unwrap(), [refusal("unsigned", 1)]);
        drop(tx);
        // What may change, does.
        for sql in [
            "UPDATE settlement_instructions SET state = 'executed', bank_ref = 'B1',
                value_date = '2026-03-02', queries = 1 WHERE serial = 'S-2'",
            "UPDATE settlement_instructions SET queries = 9, next_query_at_us = NULL
             WHERE serial = 'S-1'",
            "UPDATE incoming_money SET matched = 'assigned', bill_no = 'B-1',
                assigned_key = 'k'",
            "UPDATE recon_items SET status = 'resolved', resolved_at_us = 5,
                resolution = 'ok'",
        ] {
            assert_eq!(raw_exec(db, sql), Ok(1), "{}: {sql}", db.backend);
        }
    });
}
