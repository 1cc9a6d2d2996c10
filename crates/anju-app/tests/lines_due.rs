//! A payment reads its bills' lines through `lines_due` (account, month, total, paid) and
//! records a whole bill paid through `mark_bill_paid`. On every backend `lines_due` must
//! say what `bill_lines` says — lines paid on their own and lines paid by the bill's
//! payment alike — one list per bill number in the order asked, and `mark_bill_paid` must
//! leave lines paid on their own with their own entry and not overwrite an earlier payment.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::ledger::open_centre;
use anju_domain::collection::YearMonth;
use anju_domain::money::Fen;
use anju_store::collection::{BillKind, BillLineRow, BillRow, BillStatus, LineDue};
use anju_testkit::for_each_backend;
use jiff::civil::date;

const C: &str = "330800000000000";
const U: &str = "330800000001";

fn month(s: &str) -> YearMonth {
    YearMonth::parse(s).unwrap()
}

fn bill(no: &str, lines: &[BillLineRow]) -> BillRow {
    BillRow {
        bill_no: no.to_owned(),
        payer: U.to_owned(),
        kind: BillKind::BackPayment,
        month: month("2026-09"),
        status: BillStatus::Confirmed,
        total: Fen::new(lines.iter().map(|l| l.total().fen()).sum()),
        line_count: lines.len() as i64,
        bank_code: "ICBC".to_owned(),
        due_on: date(2026, 11, 16),
        created_on: date(2026, 11, 2),
        confirmed_on: Some(date(2026, 11, 2)),
        paid_on: None,
    }
}

fn line(bill_no: &str, line_no: i64, account: usize, m: &str, unit_fen: i64) -> BillLineRow {
    BillLineRow {
        bill_no: bill_no.to_owned(),
        line_no,
        account_no: format!("330800{account:08}"),
        name: format!("职工{account}"),
        month: month(m),
        base: Fen::new(500_000),
        unit_share: Fen::new(unit_fen),
        member_share: Fen::new(unit_fen + 1),
        notice: String::new(),
        paid_entry: None,
    }
}

fn due(l: &BillLineRow) -> LineDue {
    LineDue {
        account_no: l.account_no.clone(),
        month: l.month,
        total: l.total(),
        paid: l.paid_entry.is_some(),
    }
}

#[test]
fn lines_due_says_what_bill_lines_says_and_a_whole_bill_is_marked_once() {
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
        let mut tx = s.begin().unwrap();
        tx.insert_unit(C, &anju_testkit::registry::unit(U, date(2026, 1, 5)))
            .unwrap();
        for i in 1..=3 {
            let m = anju_testkit::registry::member(i, Some(U), Fen::new(500_000), date(2026, 1, 5));
            tx.insert_member(C, &m).unwrap();
        }
        // Two months for member 3 on one bill (a back-payment), lines not in account order.
        let a = vec![
            line("BJ000000000001", 1, 3, "2026-09", 60_000),
            line("BJ000000000001", 2, 1, "2026-09", 50_000),
            line("BJ000000000001", 3, 3, "2026-10", 60_000),
            line("BJ000000000001", 4, 2, "2026-09", 55_000),
        ];
        let b = vec![line("BJ000000000002", 1, 2, "2026-10", 55_000)];
        tx.insert_bill(C, &bill("BJ000000000001", &a), &a).unwrap();
        tx.insert_bill(C, &bill("BJ000000000002", &b), &b).unwrap();
        // Held money assigned to member 1's line; then the rest of the bill paid at once.
        assert_eq!(
            tx.mark_lines_paid(C, "BJ000000000001", &[2], "rcpt:ONE")
                .unwrap(),
            1
        );
        tx.mark_bill_paid(C, "BJ000000000001", "rcpt:REST").unwrap();
        // Marking it again changes nothing: the first payment stays on the bill.
        tx.mark_bill_paid(C, "BJ000000000001", "rcpt:AGAIN")
            .unwrap();
        tx.commit().unwrap();

        let mut r = s.begin_read().unwrap();
        let lines_a = r.bill_lines(C, "BJ000000000001").unwrap();
        let keys: Vec<Option<&str>> = lines_a.iter().map(|l| l.paid_entry.as_deref()).collect();
        assert_eq!(
            keys,
            [
                Some("rcpt:REST"),
                Some("rcpt:ONE"),
                Some("rcpt:REST"),
                Some("rcpt:REST")
            ],
            "{}",
            db.backend
        );
        let lines_b = r.bill_lines(C, "BJ000000000002").unwrap();
        assert_eq!(lines_b[0].paid_entry, None, "{}", db.backend);

        let asked = [
            "BJ000000000002".to_owned(),
            "BJ000000000009".to_owned(),
            "BJ000000000001".to_owned(),
            "BJ000000000002".to_owned(),
        ];
        let got = r.lines_due(C, &asked).unwrap();
        let want_a: Vec<LineDue> = lines_a.iter().map(due).collect();
        let want_b: Vec<LineDue> = lines_b.iter().map(due).collect();
        assert_eq!(
            got,
            vec![want_b.clone(), Vec::new(), want_a.clone(), want_b],
            "{}",
            db.backend
        );
        // The figures themselves, by hand: member 3's two months, then member 1 paid.
        assert_eq!(got[2][0].total, Fen::new(120_001), "{}", db.backend);
        assert_eq!(got[2][2].month, month("2026-10"), "{}", db.backend);
        assert_eq!(
            got[2].iter().map(|l| l.paid).collect::<Vec<_>>(),
            [true, true, true, true],
            "{}",
            db.backend
        );
        assert!(!got[0][0].paid, "{}", db.backend);
    });
}
