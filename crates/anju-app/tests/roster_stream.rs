//! The monthly batch reads its rosters as a stream (`each_member_with_unit`), on the
//! store's snapshot reader, while its transaction writes: the stream must hold the same
//! members in the same (unit, account) order as `members_with_unit`, stop when told to,
//! and leave out members without a unit — on every backend.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::ledger::open_centre;
use anju_domain::money::Fen;
use anju_store::registry::{MemberRow, UnitRow};
use anju_testkit::for_each_backend;
use jiff::civil::date;

const C: &str = "330800000000000";

fn unit(no: &str) -> UnitRow {
    anju_testkit::registry::unit(no, date(2026, 1, 5))
}

fn member(i: usize, unit_no: Option<&str>) -> MemberRow {
    anju_testkit::registry::member(i, unit_no, Fen::new(300_000 + i as i64), date(2026, 1, 5))
}

#[test]
fn the_roster_stream_matches_the_whole_read_and_stops_when_told() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        open_centre(
            s,
            C,
            "衢州市住房公积金管理中心",
            date(2026, 1, 5),
            jiff::Timestamp::now(),
        )
        .unwrap();
        let units = ["330800000003", "330800000001", "330800000002"];
        let mut tx = s.begin().unwrap();
        for u in units {
            tx.insert_unit(C, &unit(u)).unwrap();
        }
        // Accounts opened in an order unrelated to their units; two without a unit.
        for i in 0..30 {
            let u = match i % 4 {
                0 => Some(units[0]),
                1 => Some(units[1]),
                2 => Some(units[2]),
                _ if i % 8 == 3 => None,
                _ => Some(units[1]),
            };
            tx.insert_member(C, &member(29 - i, u)).unwrap();
        }
        tx.commit().unwrap();

        let mut r = s.begin_read().unwrap();
        let whole = r.members_with_unit(C).unwrap();
        let mut streamed = Vec::new();
        r.each_member_with_unit(C, &mut |m| {
            streamed.push(m);
            true
        })
        .unwrap();
        assert_eq!(streamed, whole);
        let keys: Vec<(String, String)> = streamed
            .iter()
            .map(|m| (m.unit_no.clone().unwrap(), m.account_no.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "by unit, then account");
        assert_eq!(
            streamed.len(),
            26,
            "the four members without a unit are left out"
        );
        assert_eq!(
            keys[0],
            ("330800000001".to_owned(), "33080000000000".to_owned())
        );

        let mut seen = 0;
        r.each_member_with_unit(C, &mut |_| {
            seen += 1;
            seen < 5
        })
        .unwrap();
        assert_eq!(seen, 5, "the walk stops at the first false");
    });
}
