//! A month's bank notices paid in one batch (`pay_bills_in` with 300 bills: the posting
//! engine on its worker thread while the receipts, bills and 缴至年月 are written beside
//! it): full payments, a partial one held in suspense, an overpayment, a frozen member
//! that stops the whole batch with nothing written, and the same notices sent again — on
//! every backend.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::ledger::{audit, open_centre, set_business_date};
use anju_app::remittance::{Payment, PaymentOutcome, generate_month, pay_bills_in};
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::PersonalAccountStatus;
use anju_domain::collection::YearMonth;
use anju_domain::ledger::{AccountNo, AccountState};
use anju_domain::money::Fen;
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_store::collection::BillStatus;
use anju_store::{Store, StoreTx};
use anju_testkit::for_each_backend;
use jiff::Timestamp;
use jiff::civil::date;

const C: &str = "330800000000000";
const UNITS: usize = 300;

fn unit_no(u: usize) -> String {
    format!("330800{:06}", u + 1)
}

fn account_no(i: usize) -> String {
    format!("330800{i:08}")
}

/// 300 units of two members each; member `i` belongs to unit `i / 2`, base 3,000.00 yuan
/// + `i` yuan.
fn fixture(store: &dyn Store) {
    let opened = date(2026, 1, 5);
    open_centre(
        store,
        C,
        "衢州市住房公积金管理中心",
        opened,
        Timestamp::now(),
    )
    .unwrap();
    let mut tx = store.begin().unwrap();
    let mut accounts = vec![AccountState::open(
        AccountNo::sub("101", "ICBC").unwrap(),
        opened,
    )];
    for u in 0..UNITS {
        tx.insert_unit(C, &anju_testkit::registry::unit(&unit_no(u), opened))
            .unwrap();
        accounts.push(AccountState::open(
            AccountNo::sub("213", &unit_no(u)).unwrap(),
            opened,
        ));
    }
    for i in 0..2 * UNITS {
        let base = Fen::new(300_000 + i as i64 * 100);
        let m = anju_testkit::registry::member(i, Some(&unit_no(i / 2)), base, opened);
        assert_eq!(m.account_no, account_no(i));
        tx.insert_member(C, &m).unwrap();
        accounts.push(AccountState::open(
            AccountNo::sub("201", &account_no(i)).unwrap(),
            opened,
        ));
    }
    accounts.sort_by(|a, b| a.no.cmp(&b.no));
    tx.insert_accounts(C, &accounts).unwrap();
    tx.commit().unwrap();
}

fn balance_in(tx: &mut dyn StoreTx, no: &str) -> i64 {
    tx.load_accounts(C, &[AccountNo::parse_any(no).unwrap()])
        .unwrap()
        .pop()
        .map_or(0, |a| a.balance.fen())
}

fn balance(store: &dyn Store, no: &str) -> i64 {
    balance_in(store.begin_read().unwrap().as_mut(), no)
}

fn set_status(store: &dyn Store, account: &str, status: PersonalAccountStatus) {
    let mut tx = store.begin().unwrap();
    let mut m = tx.member(C, account).unwrap().unwrap();
    m.status = status;
    tx.update_member(C, &m).unwrap();
    tx.commit().unwrap();
}

#[test]
fn a_month_of_bank_notices_is_paid_in_one_batch() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        fixture(s);
        let policy = Policy::from_toml(QUZHOU_POLICY).unwrap();
        let calendar = BusinessCalendar::cn().unwrap();
        let month = YearMonth::parse("2026-02").unwrap();
        set_business_date(s, C, date(2026, 2, 10)).unwrap();
        let bills = generate_month(s, C, &policy, &calendar, month, &mut |_, _| {}).unwrap();
        assert_eq!(bills.len(), UNITS, "{}", db.backend);
        // By hand: member 0's base is 3,000 yuan, 12 % + 12 % is 360 + 360 yuan; member 1's
        // 3,001 yuan gives 360.12 + 360.12 (shares rounded to the fen).
        let first = &bills[0];
        assert_eq!(first.lines[0].account_no, account_no(0));
        assert_eq!(first.lines[0].total(), Fen::new(72_000));
        assert_eq!(first.bill.total, Fen::new(72_000 + 72_024));

        // Bill 0 short by 1.00 yuan (held), bill 1 over by 5.00 yuan (kept in suspense),
        // the rest exactly.
        let payments: Vec<Payment> = bills
            .iter()
            .enumerate()
            .map(|(k, b)| Payment {
                bill_no: b.bill.bill_no.clone(),
                receipt_key: format!("ICBC-{k:05}"),
                amount: Fen::new(
                    b.bill.total.fen()
                        + match k {
                            0 => -100,
                            1 => 500,
                            _ => 0,
                        },
                ),
                bank_code: None,
            })
            .collect();
        let stamp = Stamp::system("bank-notice");
        let entries = |s: &dyn Store| s.begin_read().unwrap().counts(C).unwrap().entries;
        let before = entries(s);

        // A member frozen since the bills were made: the whole batch is refused, naming
        // the account, and nothing is written.
        set_status(s, &account_no(599), PersonalAccountStatus::Frozen);
        let mut tx = s.begin().unwrap();
        let err = pay_bills_in(tx.as_mut(), C, &payments, &stamp, Timestamp::now()).unwrap_err();
        drop(tx);
        assert!(err.to_string().contains(&account_no(599)), "{err}");
        assert_eq!(entries(s), before);
        assert!(
            s.begin_read()
                .unwrap()
                .receipt(C, "ICBC-00002")
                .unwrap()
                .is_none()
        );
        set_status(s, &account_no(599), PersonalAccountStatus::Normal);

        let mut tx = s.begin().unwrap();
        let out = pay_bills_in(tx.as_mut(), C, &payments, &stamp, Timestamp::now()).unwrap();
        tx.commit().unwrap();
        assert_eq!(out.len(), UNITS);
        assert_eq!(entries(s), before + UNITS as i64, "{}", db.backend);
        match &out[0] {
            PaymentOutcome::Held {
                held, outstanding, ..
            } => {
                assert_eq!(*held, Fen::new(72_000 + 72_024 - 100));
                assert_eq!(*outstanding, Fen::new(100));
            }
            other => panic!("bill 0 should be held: {other:?}"),
        }
        match &out[1] {
            PaymentOutcome::Paid { excess, posted } => {
                assert_eq!(*excess, Fen::new(500));
                assert_eq!(posted.entry.entry.key, "rcpt:ICBC-00001");
            }
            other => panic!("bill 1 should be paid: {other:?}"),
        }
        for (k, o) in out.iter().enumerate().skip(2) {
            match o {
                PaymentOutcome::Paid { excess, posted } => {
                    assert_eq!(*excess, Fen::ZERO);
                    assert_eq!(posted.entry.entry.key, format!("rcpt:ICBC-{k:05}"));
                }
                other => panic!("bill {k} should be paid: {other:?}"),
            }
        }

        let mut r = s.begin_read().unwrap();
        for (k, b) in bills.iter().enumerate() {
            let row = r.bill(C, &b.bill.bill_no).unwrap().unwrap();
            let want = if k == 0 {
                BillStatus::Confirmed
            } else {
                BillStatus::Paid
            };
            assert_eq!(row.status, want, "bill {k} on {}", db.backend);
            assert!(r.receipt(C, &format!("ICBC-{k:05}")).unwrap().is_some());
            for l in &b.lines {
                let m = r.member(C, &l.account_no).unwrap().unwrap();
                let (paid_to, credited) = if k == 0 {
                    (None, 0)
                } else {
                    (Some(month), l.total().fen())
                };
                assert_eq!(m.paid_to, paid_to, "{} on {}", l.account_no, db.backend);
                let no = format!("201.{}", l.account_no);
                assert_eq!(balance_in(r.as_mut(), &no), credited);
            }
        }
        drop(r);
        assert_eq!(
            balance(s, &format!("213.{}", unit_no(0))),
            72_000 + 72_024 - 100
        );
        assert_eq!(balance(s, &format!("213.{}", unit_no(1))), 500);
        let received: i64 = payments.iter().map(|p| p.amount.fen()).sum();
        assert_eq!(balance(s, "101.ICBC"), received);

        // The same notices again: every one a replay, nothing new.
        let mut tx = s.begin().unwrap();
        let again = pay_bills_in(tx.as_mut(), C, &payments, &stamp, Timestamp::now()).unwrap();
        tx.commit().unwrap();
        assert!(
            again
                .iter()
                .all(|o| matches!(o, PaymentOutcome::Replayed { .. })),
            "{}",
            db.backend
        );
        assert_eq!(entries(s), before + UNITS as i64);
        let report = audit(s, C).unwrap();
        assert!(report.is_clean(), "{}: {:?}", db.backend, report.problems);
    });
}
