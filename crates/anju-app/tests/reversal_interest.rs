//! A reversal (冲正) across a year-end interest settlement, on every backend: the money
//! paid with a value date in a settled interest year leaves with the interest that year
//! paid on it (结息调整, one more entry in the reversal's transaction), the current year's
//! 积数 loses both from the current period's first day, the member's statement shows
//! both, a member who cannot bear it is refused with nothing written — figures by hand
//! below.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::access::admin::{Actor, decide, propose_reversal};
use anju_app::access::policy::adopt_policy_at_start;
use anju_app::interest::settle_interest;
use anju_app::ledger::{audit, open_accounts, open_centre, post_one, set_business_date};
use anju_app::registry::{NewMember, NewUnit, open_member, register_unit};
use anju_app::remittance::{Payment, PaymentOutcome, confirm_bill, generate_bill, pay_bill};
use anju_app::statement::member_statement;
use anju_domain::access::{PointType, Role};
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::Channel;
use anju_domain::collection::YearMonth;
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::{AccountNo, AccountState, EntryKind, EntryRequest, Leg, TxCode};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_store::Store;
use anju_testkit::for_each_backend;
use jiff::Timestamp;
use jiff::civil::Date;

const C: &str = "330800000000000";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}
fn ym(s: &str) -> YearMonth {
    YearMonth::parse(s).unwrap()
}
fn yuan(s: &str) -> Fen {
    Fen::parse_yuan(s).unwrap()
}
fn now() -> Timestamp {
    "2026-08-03T02:00:00Z".parse().unwrap()
}
fn clerk() -> Stamp {
    Stamp {
        operator: "staff:S0001".into(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".into(),
        on_behalf_of: None,
    }
}
fn bank() -> Stamp {
    Stamp {
        operator: "bank:ABC".into(),
        channel: Channel::MachineInterface,
        service_point: "bank-ABC".into(),
        on_behalf_of: None,
    }
}

fn account(s: &dyn Store, no: &str) -> AccountState {
    let mut tx = s.begin_read().unwrap();
    tx.load_accounts(C, &[AccountNo::parse(no).unwrap()])
        .unwrap()
        .pop()
        .unwrap()
}

fn head(s: &dyn Store) -> i64 {
    s.begin_read().unwrap().centre(C).unwrap().unwrap().head.seq
}

#[test]
fn a_reversal_across_the_year_end_takes_back_the_interest_paid_on_the_money() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = Policy::from_toml(QUZHOU_POLICY).unwrap();
        let cal = BusinessCalendar::cn().unwrap();
        let day = |x: &str| set_business_date(s, C, d(x)).unwrap();
        open_centre(s, C, "衢州市住房公积金管理中心", d("2026-04-01"), now()).unwrap();
        // The approved policy (version 1): the correction's rates come from it.
        adopt_policy_at_start(s, C, QUZHOU_POLICY, now()).unwrap();
        open_accounts(
            s,
            C,
            &[AccountNo::sub("101", "ABC").unwrap()],
            d("2026-04-01"),
        )
        .unwrap();
        let u = register_unit(
            s,
            C,
            &p,
            NewUnit {
                credit_code: CreditCode::parse("91330802MA28F0Q135").unwrap(),
                name: "衢州市示范科技有限公司".into(),
                address: "衢州市柯城区荷花中路1号".into(),
                legal_rep: "张三".into(),
                payday: 10,
                bank_code: "ABC".into(),
                unit_ratio: Rate::from_percent(12),
                member_ratio: Rate::from_percent(12),
            },
            &clerk(),
            now(),
        )
        .unwrap()
        .unit_no;
        let hire = |first17: &str, name: &str, wage: &str| {
            open_member(
                s,
                C,
                &p,
                NewMember {
                    id_card: IdCard::with_check_char(first17).unwrap(),
                    name: name.into(),
                    unit_no: u.clone(),
                    wage: yuan(wage),
                },
                &clerk(),
                now(),
            )
            .unwrap()
            .0
            .account_no
        };
        // A: 4,166.67 × 12 % = 500.0004 → 500.00 a share, 1,000.00 a month.
        // B: 5,000.00 × 12 % = 600.00 a share, 1,200.00 a month.
        let a = hire("33080219900101001", "王一", "4166.67");
        let b = hire("33080219920202002", "王二", "5000.00");
        let (acct_a, acct_b) = (format!("201.{a}"), format!("201.{b}"));
        let remit = |month: &str, serial: &str| {
            let bill = generate_bill(s, C, &p, &cal, &u, ym(month)).unwrap();
            assert_eq!(bill.bill.total, yuan("2200.00"), "{month}");
            confirm_bill(s, C, &bill.bill.bill_no).unwrap();
            let out = pay_bill(
                s,
                C,
                Payment {
                    bill_no: bill.bill.bill_no.clone(),
                    receipt_key: serial.into(),
                    amount: yuan("2200.00"),
                    bank_code: None,
                },
                &bank(),
                now(),
            )
            .unwrap();
            assert!(matches!(out, PaymentOutcome::Paid { .. }), "{out:?}");
            bill.bill.bill_no
        };
        // May's bill is paid with value date 2026-05-10, June's on 06-10.
        day("2026-05-10");
        let may = remit("2026-05", "ABC20260510001");
        day("2026-06-10");
        remit("2026-06", "ABC20260610001");

        // ---- 2026-06-30, year-end at 1.50 % / 360 --------------------------------------
        // A: 100,000 fen × 52 days (05-10 … 06-30) + 100,000 × 21 (06-10 … 06-30)
        //    = 7,300,000 fen·days → × 0.015 / 360 = 304.17 → 3.04 yuan.
        // B: 120,000 × 52 + 120,000 × 21 = 8,760,000 → 365.00 → 3.65 yuan.
        day("2026-06-30");
        let run = settle_interest(s, C, &p, 2026, &Stamp::system("interest"), now()).unwrap();
        assert_eq!(run.run.total, Fen::new(304 + 365));
        assert_eq!(account(s, &acct_a).balance, Fen::new(200_304));
        assert_eq!(account(s, &acct_b).balance, Fen::new(240_365));

        // ---- The May payment was wrong: a clerk proposes its reversal -----------------
        let maker = Actor::staff(
            "S0001",
            Role::CounterClerk,
            "hall-kecheng",
            PointType::CentreHall,
        );
        let checker = Actor::staff(
            "S0009",
            Role::Approver,
            "hall-kecheng",
            PointType::CentreHall,
        );
        let id =
            propose_reversal(s, C, &maker, &may, "rcpt:ABC20260510001", "重复缴存", now()).unwrap();
        // B withdraws 2,000.00 on 07-02 (value date in the new period).
        day("2026-07-02");
        post_one(
            s,
            C,
            EntryRequest::posted(
                "wd-b",
                TxCode::Withdrawal,
                d("2026-07-02"),
                d("2026-07-02"),
                vec![
                    Leg::debit(AccountNo::parse(&acct_b).unwrap(), yuan("2000.00")),
                    Leg::credit(AccountNo::sub("101", "ABC").unwrap(), yuan("2000.00")),
                ],
                "提取",
                clerk(),
            ),
            now(),
        )
        .unwrap();
        // The reversal must take back from B 1,200.00 and the 2026 interest on it:
        // 120,000 × 52 days × 0.015 / 360 = 260 fen → 1,202.60; B holds only 403.65.
        // Refused, naming B and the figures; nothing is written, the approval waits.
        day("2026-07-03");
        let seq = head(s);
        let err = decide(s, C, &checker, id, true, None, now()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&acct_b)
                && text.contains("2.60 yuan of interest")
                && text.contains("1,202.60")
                && text.contains("only 403.65"),
            "{text}"
        );
        assert_eq!(head(s), seq);
        assert_eq!(account(s, &acct_b).balance, Fen::new(40_365));
        assert_eq!(
            s.begin_read()
                .unwrap()
                .approval(C, id)
                .unwrap()
                .unwrap()
                .decision,
            "pending"
        );

        // July's money arrives on 07-10; the checker confirms on 08-03.
        day("2026-07-10");
        remit("2026-07", "ABC20260710001");
        let before_a = account(s, &acct_a);
        assert_eq!(before_a.balance, Fen::new(300_304));
        // A's 积数 of the new period so far: 200,304 × 9 days (07-01 … 07-09).
        assert_eq!(before_a.accrual, 200_304 * 9);
        day("2026-08-03");
        decide(s, C, &checker, id, true, None, now()).unwrap();

        // ---- What the reversal did, by hand -------------------------------------------
        // Interest 2026 paid on the reversed money (value date 05-10, 52 days):
        //   A: 100,000 × 52 × 0.015 / 360 = 216.67 → 217 fen (2.17 yuan);
        //   B: 120,000 × 52 × 0.015 / 360 = 260.00 → 260 fen (2.60 yuan).
        // Balances: A 300,304 − 100,000 − 217 = 200,087; B 160,365 − 120,000 − 260
        // = 40,105. The interest expense 501: 669 − 477 = 192.
        let st_a = account(s, &acct_a);
        assert_eq!(st_a.balance, Fen::new(200_087));
        assert_eq!(account(s, &acct_b).balance, Fen::new(40_105));
        assert_eq!(account(s, "501").balance, Fen::new(669 - 477));
        assert_eq!(
            account(s, "101.ABC").balance.fen(),
            3 * 220_000 - 200_000 - 220_000
        );
        // A's 积数 of the new period, as if the 1,000.00 and its 2.17 had never been there:
        // 100,087 × 9 days (07-01 … 07-09) = 900,783, and through 08-02 another
        // 200,087 × 24 days (07-10 … 08-02) = 4,802,088 → 5,702,871.
        assert_eq!(st_a.accrual_from, d("2026-07-01"));
        assert_eq!(st_a.accrual, 900_783);
        assert_eq!(st_a.accrual_through(d("2026-08-02")).unwrap(), 5_702_871);

        // The statement shows the reversal (value date 05-10) and the interest correction
        // (结息调整, value date 07-01, the current period's first day).
        let stm = member_statement(s, C, &a, 1, 100).unwrap();
        let n = stm.lines.len();
        let (rev, corr) = (&stm.lines[n - 2], &stm.lines[n - 1]);
        assert_eq!(
            (rev.kind, rev.business_zh(), rev.amount, rev.value_date),
            (EntryKind::Reversal, "冲正", -100_000, d("2026-05-10"))
        );
        assert_eq!(
            (corr.code, corr.business_zh(), corr.amount, corr.value_date),
            (
                TxCode::InterestCorrection,
                "结息调整",
                -217,
                d("2026-07-01")
            )
        );
        assert_eq!(corr.balance_after, Fen::new(200_087));
        assert!(corr.memo.contains("2026年度"), "{}", corr.memo);
        // Decided once: a second confirmation is refused and posts nothing.
        let seq = head(s);
        assert!(decide(s, C, &checker, id, true, None, now()).is_err());
        assert_eq!(head(s), seq);
        let report = audit(s, C).unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
    });
}
