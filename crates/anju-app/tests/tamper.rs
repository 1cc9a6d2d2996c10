//! Tamper evidence: on every backend, changing any single column of any kind of journal
//! row (as someone with direct database access could, after disabling the append-only
//! triggers) makes `audit` fail; restoring the value makes it pass again. Deleting an
//! entry or a leg is caught too.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::ledger::{audit, open_accounts, open_centre, post_batch, set_business_date};
use anju_domain::codes::Channel;
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::money::Fen;
use anju_domain::stamp::Stamp;
use anju_store::{Backend, Store};
use anju_testkit::{TestDb, for_each_backend};
use jiff::civil::Date;

const C: &str = "330800000000000";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}
fn a(s: &str) -> AccountNo {
    AccountNo::parse_any(s).unwrap()
}

/// Raw SQL access to the test database, bypassing Anju.
enum Raw {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl Raw {
    fn open(db: &TestDb) -> Raw {
        match db.backend {
            Backend::Sqlite => {
                let path = db.url.strip_prefix("sqlite://").unwrap();
                let c = rusqlite::Connection::open(path).unwrap();
                c.execute_batch(
                    "PRAGMA foreign_keys = OFF;
                     DROP TRIGGER journal_entries_no_update; DROP TRIGGER journal_entries_no_delete;
                     DROP TRIGGER journal_legs_no_update; DROP TRIGGER journal_legs_no_delete;",
                )
                .unwrap();
                Raw::Sqlite(c)
            }
            Backend::Postgres => {
                let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
                // As a superuser could: no triggers, no foreign-key checks in this session.
                c.batch_execute("SET session_replication_role = replica")
                    .unwrap();
                Raw::Postgres(c)
            }
        }
    }

    fn exec(&mut self, sql: &str) {
        match self {
            Raw::Sqlite(c) => {
                c.execute_batch(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            Raw::Postgres(c) => {
                c.batch_execute(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    fn text(&mut self, sql: &str) -> Option<String> {
        match self {
            Raw::Sqlite(c) => c
                .query_row(sql, [], |r| r.get::<_, Option<String>>(0))
                .unwrap(),
            Raw::Postgres(c) => c.query_one(sql, &[]).unwrap().get::<_, Option<String>>(0),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Side,
    Int,
    Text,
    Date,
}

fn lit(v: &Option<String>) -> String {
    match v {
        None => "NULL".to_owned(),
        Some(s) => format!("'{}'", s.replace('\'', "''")),
    }
}

fn mutate(kind: Kind, column: &str, v: &Option<String>) -> String {
    match (kind, v) {
        // The CHECK allows only D and C, so a tamperer would swap them.
        (Kind::Side, v) => if v.as_deref() == Some("D") {
            "'C'"
        } else {
            "'D'"
        }
        .to_owned(),
        (Kind::Int, None) => "'1'".to_owned(),
        (Kind::Text, None) => "'x'".to_owned(),
        (Kind::Date, None) => "'2026-01-01'".to_owned(),
        (Kind::Int, Some(s)) => {
            let n: i64 = s.parse().unwrap();
            // A sequence or leg number moved by one would collide with its neighbour's key.
            let step = if column == "seq" || column == "leg_no" {
                1000
            } else {
                1
            };
            format!("'{}'", n + step)
        }
        (Kind::Date, Some(s)) => {
            let next = s.parse::<Date>().unwrap().tomorrow().unwrap();
            format!("'{next}'")
        }
        (Kind::Text, Some(s)) => {
            let mut chars: Vec<char> = s.chars().collect();
            match chars.last_mut() {
                Some(c) => *c = if *c == 'a' { 'b' } else { 'a' },
                None => chars.push('a'),
            }
            lit(&Some(chars.into_iter().collect()))
        }
    }
}

const ENTRY_COLUMNS: &[(&str, Kind)] = &[
    ("centre_code", Kind::Text),
    ("seq", Kind::Int),
    ("idempotency_key", Kind::Text),
    ("kind", Kind::Text),
    ("ref_seq", Kind::Int),
    ("tx_code", Kind::Text),
    ("business_date", Kind::Date),
    ("value_date", Kind::Date),
    ("memo", Kind::Text),
    ("operator", Kind::Text),
    ("channel", Kind::Text),
    ("service_point", Kind::Text),
    ("on_behalf_of", Kind::Text),
    ("recorded_at_us", Kind::Int),
    ("hash_alg", Kind::Text),
    ("body_hash", Kind::Text),
    ("prev_hash", Kind::Text),
    ("entry_hash", Kind::Text),
];

const LEG_COLUMNS: &[(&str, Kind)] = &[
    ("centre_code", Kind::Text),
    ("seq", Kind::Int),
    ("leg_no", Kind::Int),
    ("account_no", Kind::Text),
    ("side", Kind::Side),
    ("amount_fen", Kind::Int),
];

fn seed(store: &dyn Store) {
    let now = "2026-01-05T02:00:00Z".parse().unwrap();
    open_centre(store, C, "衢州市住房公积金管理中心", d("2026-01-05"), now).unwrap();
    open_accounts(
        store,
        C,
        &[a("101.ICBC"), a("201.M1"), a("201.M2")],
        d("2026-01-05"),
    )
    .unwrap();
    let clerk = Stamp {
        operator: "staff:S1".into(),
        channel: Channel::Counter,
        service_point: "hall".into(),
        on_behalf_of: Some("unit:U1".into()),
    };
    post_batch(
        store,
        C,
        vec![
            EntryRequest::posted(
                "remit-1",
                TxCode::Remittance,
                d("2026-01-05"),
                d("2026-01-05"),
                vec![
                    Leg::debit(a("101.ICBC"), Fen::new(3_000)),
                    Leg::credit(a("201.M1"), Fen::new(1_000)),
                    Leg::credit(a("201.M2"), Fen::new(2_000)),
                ],
                "汇缴",
                clerk.clone(),
            ),
            EntryRequest::pending(
                "w-1",
                TxCode::Withdrawal,
                d("2026-01-05"),
                vec![
                    Leg::debit(a("201.M2"), Fen::new(500)),
                    Leg::credit(a("101.ICBC"), Fen::new(500)),
                ],
                "",
                Stamp::system("t"),
            ),
        ],
        now,
    )
    .unwrap();
    set_business_date(store, C, d("2026-01-06")).unwrap();
    post_batch(
        store,
        C,
        vec![
            EntryRequest::resolve_pending(
                "w-1-ok",
                "w-1",
                true,
                d("2026-01-06"),
                d("2026-01-06"),
                "",
                Stamp::system("bank"),
            ),
            EntryRequest::posted(
                "remit-2",
                TxCode::BackPayment,
                d("2026-01-06"),
                d("2026-01-05"),
                vec![
                    Leg::debit(a("101.ICBC"), Fen::new(70)),
                    Leg::credit(a("201.M1"), Fen::new(70)),
                ],
                "补缴",
                clerk,
            ),
            EntryRequest::reversal(
                "remit-2-rev",
                "remit-2",
                d("2026-01-06"),
                "冲正",
                Stamp::system("t"),
            ),
        ],
        now,
    )
    .unwrap();
}

#[test]
fn any_altered_journal_column_is_detected() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        seed(s);
        assert!(audit(s, C).unwrap().is_clean());
        let mut raw = Raw::open(db);
        // Each entry kind: posted (1), pending (2), post (3), back-dated posted (4), reversal (5).
        for seq in 1..=5 {
            for (col, kind) in ENTRY_COLUMNS {
                let at = format!("FROM journal_entries WHERE centre_code = '{C}' AND seq = {seq}");
                let orig = raw.text(&format!("SELECT CAST({col} AS TEXT) {at}"));
                let new = mutate(*kind, col, &orig);
                raw.exec(&format!("UPDATE journal_entries SET {col} = {new} WHERE centre_code = '{C}' AND seq = {seq}"));
                let moved_seq = if *col == "seq" {
                    new.trim_matches('\'').parse::<i64>().unwrap()
                } else {
                    seq
                };
                let moved_centre = if *col == "centre_code" {
                    new.trim_matches('\'').to_owned()
                } else {
                    C.to_owned()
                };
                let r = audit(s, C).unwrap();
                assert!(
                    !r.is_clean(),
                    "{}: altering journal_entries[{seq}].{col} from {orig:?} to {new} went unnoticed",
                    db.backend
                );
                raw.exec(&format!(
                    "UPDATE journal_entries SET {col} = {} WHERE centre_code = '{moved_centre}' AND seq = {moved_seq}",
                    lit(&orig)
                ));
                let r = audit(s, C).unwrap();
                assert!(
                    r.is_clean(),
                    "{}: after restoring {col}: {:?}",
                    db.backend,
                    r.problems
                );
            }
            for (col, kind) in LEG_COLUMNS {
                let at = format!(
                    "FROM journal_legs WHERE centre_code = '{C}' AND seq = {seq} AND leg_no = 0"
                );
                let orig = raw.text(&format!("SELECT CAST({col} AS TEXT) {at}"));
                let new = mutate(*kind, col, &orig);
                raw.exec(&format!("UPDATE journal_legs SET {col} = {new} WHERE centre_code = '{C}' AND seq = {seq} AND leg_no = 0"));
                let r = audit(s, C).unwrap();
                assert!(
                    !r.is_clean(),
                    "{}: altering journal_legs[{seq},0].{col} from {orig:?} to {new} went unnoticed",
                    db.backend
                );
                let (c2, s2, l2) = match *col {
                    "centre_code" => (new.trim_matches('\'').to_owned(), seq, 0),
                    "seq" => (C.to_owned(), new.trim_matches('\'').parse().unwrap(), 0),
                    "leg_no" => (C.to_owned(), seq, new.trim_matches('\'').parse().unwrap()),
                    _ => (C.to_owned(), seq, 0),
                };
                raw.exec(&format!(
                    "UPDATE journal_legs SET {col} = {} WHERE centre_code = '{c2}' AND seq = {s2} AND leg_no = {l2}",
                    lit(&orig)
                ));
                let r = audit(s, C).unwrap();
                assert!(
                    r.is_clean(),
                    "{}: after restoring leg {col}: {:?}",
                    db.backend,
                    r.problems
                );
            }
        }
        // Moving a member's interest period start (dropping days of 积数) is caught, and so
        // is making a member account overdraftable.
        let at =
            format!("FROM ledger_accounts WHERE centre_code = '{C}' AND account_no = '201.M1'");
        let orig = raw.text(&format!("SELECT CAST(accrual_from AS TEXT) {at}"));
        raw.exec(&format!("UPDATE ledger_accounts SET accrual_from = '2026-01-06' WHERE centre_code = '{C}' AND account_no = '201.M1'"));
        let r = audit(s, C).unwrap();
        assert!(
            r.problems.iter().any(|p| p.contains("interest period")),
            "{}: {:?}",
            db.backend,
            r.problems
        );
        raw.exec(&format!("UPDATE ledger_accounts SET accrual_from = {} WHERE centre_code = '{C}' AND account_no = '201.M1'", lit(&orig)));
        assert!(audit(s, C).unwrap().is_clean());
        raw.exec(&format!("UPDATE ledger_accounts SET non_negative = FALSE WHERE centre_code = '{C}' AND account_no = '201.M1'"));
        let r = audit(s, C).unwrap();
        assert!(
            r.problems.iter().any(|p| p.contains("chart of accounts")),
            "{}: {:?}",
            db.backend,
            r.problems
        );
        raw.exec(&format!("UPDATE ledger_accounts SET non_negative = TRUE WHERE centre_code = '{C}' AND account_no = '201.M1'"));
        assert!(audit(s, C).unwrap().is_clean());
        // Deleting a leg, then the last entry, is caught.
        raw.exec(&format!(
            "DELETE FROM journal_legs WHERE centre_code = '{C}' AND seq = 1 AND leg_no = 2"
        ));
        assert!(!audit(s, C).unwrap().is_clean());
        raw.exec(&format!(
            "DELETE FROM journal_legs WHERE centre_code = '{C}' AND seq = 5; DELETE FROM journal_entries WHERE centre_code = '{C}' AND seq = 5"
        ));
        let r = audit(s, C).unwrap();
        assert!(
            r.problems.iter().any(|p| p.contains("chain head")),
            "{:?}",
            r.problems
        );
        // A cached balance edited behind Anju's back is caught too.
        raw.exec(&format!(
            "UPDATE ledger_accounts SET balance_fen = balance_fen + 1 WHERE centre_code = '{C}' AND account_no = '201.M1'"
        ));
        let r = audit(s, C).unwrap();
        assert!(
            r.problems.iter().any(|p| p.contains("201.M1")),
            "{:?}",
            r.problems
        );
    });
}
