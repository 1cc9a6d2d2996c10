//! Remittance rules on every backend beyond the full-year scenario: held money assigned to
//! named members, refusals that write nothing (frozen and closed accounts, drafts, bad
//! months, flexible-worker rules), interest when the rate changes inside the year, and
//! interest to date when an account closes mid-year.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::interest::{interest_to_date, post_closing_interest_in, settle_interest};
use anju_app::ledger::{audit, open_accounts, open_centre, post_one, set_business_date};
use anju_app::registry::{
    MemberAct, NewFlexible, NewMember, NewUnit, change_member, close_member, merge_accounts,
    open_flexible, open_member, register_unit,
};
use anju_app::remittance::{
    Payment, PaymentOutcome, allocate_suspense, confirm_bill, generate_bill, generate_month,
    missing_bills, pay_bill, voluntary_bill,
};
use anju_app::sharing::{Departments, Sharing, lookups_of_person};
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::Channel;
use anju_domain::collection::{CloseCause, YearMonth};
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::{AccountNo, AccountState, EntryRequest, Leg, TxCode};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_store::Store;
use anju_store::collection::BillStatus;
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
    "2026-03-02T02:00:00Z".parse().unwrap()
}
fn clerk() -> Stamp {
    Stamp {
        operator: "staff:S0001".into(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".into(),
        on_behalf_of: None,
    }
}
fn policy() -> Policy {
    Policy::from_toml(QUZHOU_POLICY).unwrap()
}

fn account(s: &dyn Store, no: &str) -> AccountState {
    let mut tx = s.begin_read().unwrap();
    tx.load_accounts(C, &[AccountNo::parse(no).unwrap()])
        .unwrap()
        .pop()
        .unwrap()
}

/// A centre on `start` with bank ABC, one unit (12 % + 12 %, payday 10) and members with
/// the given wages, opened on `start`.
fn setup(s: &dyn Store, p: &Policy, start: &str, wages: &[&str]) -> (String, Vec<String>) {
    open_centre(s, C, "衢州市住房公积金管理中心", d(start), now()).unwrap();
    open_accounts(s, C, &[AccountNo::sub("101", "ABC").unwrap()], d(start)).unwrap();
    let u = register_unit(
        s,
        C,
        p,
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
    let mut members = Vec::new();
    for (i, w) in wages.iter().enumerate() {
        let first17 = format!("33080219900101{:03}", i + 1);
        let (m, _) = open_member(
            s,
            C,
            p,
            NewMember {
                id_card: IdCard::with_check_char(&first17).unwrap(),
                name: format!("职工{i}"),
                unit_no: u.clone(),
                wage: yuan(w),
            },
            &clerk(),
            now(),
        )
        .unwrap();
        members.push(m.account_no);
    }
    (u, members)
}

fn pay(
    s: &dyn Store,
    bill_no: &str,
    serial: &str,
    amount: &str,
) -> Result<PaymentOutcome, anju_app::AppError> {
    pay_bill(
        s,
        C,
        Payment {
            bill_no: bill_no.into(),
            receipt_key: serial.into(),
            amount: yuan(amount),
            bank_code: None,
        },
        &clerk(),
        now(),
    )
}

#[test]
fn held_money_goes_to_the_members_the_unit_names() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = policy();
        let cal = BusinessCalendar::cn().unwrap();
        let (u, m) = setup(s, &p, "2026-02-02", &["5000.00", "8000.00"]);
        set_business_date(s, C, d("2026-03-10")).unwrap();
        let bill = generate_bill(s, C, &p, &cal, &u, ym("2026-03")).unwrap();
        // 5,000 → 1,200; 8,000 → 1,920.
        assert_eq!(bill.bill.total, yuan("3120.00"));
        // Not confirmed yet: payment refused, nothing written.
        let err = pay(s, &bill.bill.bill_no, "S1", "3120.00").unwrap_err();
        assert!(err.to_string().contains("draft"), "{err}");
        confirm_bill(s, C, &bill.bill.bill_no).unwrap();
        assert!(matches!(
            pay(s, &bill.bill.bill_no, "S1", "1500.00").unwrap(),
            PaymentOutcome::Held { .. }
        ));
        // The unit says the 1,500 covers the first member: 1,200 moves, 300 stays held.
        let err = allocate_suspense(
            s,
            C,
            &bill.bill.bill_no,
            &[m[1].clone()],
            "A1",
            &clerk(),
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("only 1,500.00 is held"), "{err}");
        allocate_suspense(
            s,
            C,
            &bill.bill.bill_no,
            &[m[0].clone()],
            "A1",
            &clerk(),
            now(),
        )
        .unwrap();
        // Idempotent by key.
        assert!(
            allocate_suspense(
                s,
                C,
                &bill.bill.bill_no,
                &[m[0].clone()],
                "A1",
                &clerk(),
                now()
            )
            .unwrap()
            .replayed
        );
        assert_eq!(
            account(s, &format!("201.{}", m[0])).balance,
            yuan("1200.00")
        );
        assert_eq!(account(s, &format!("213.{u}")).balance, yuan("300.00"));
        {
            let mut tx = s.begin_read().unwrap();
            assert_eq!(
                tx.member(C, &m[0]).unwrap().unwrap().paid_to,
                Some(ym("2026-03"))
            );
            assert_eq!(tx.member(C, &m[1]).unwrap().unwrap().paid_to, None);
            assert_eq!(
                tx.bill(C, &bill.bill.bill_no).unwrap().unwrap().status,
                BillStatus::Confirmed
            );
        }
        // The rest: 1,620 + 300 held pays the second member's 1,920.
        match pay(s, &bill.bill.bill_no, "S2", "1620.00").unwrap() {
            PaymentOutcome::Paid { excess, .. } => assert_eq!(excess, Fen::ZERO),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            account(s, &format!("201.{}", m[1])).balance,
            yuan("1920.00")
        );
        assert_eq!(account(s, &format!("213.{u}")).balance, Fen::ZERO);
        assert_eq!(account(s, "101.ABC").balance, yuan("3120.00"));
        assert!(audit(s, C).unwrap().is_clean());
    });
}

#[test]
fn frozen_or_closed_accounts_and_bad_requests_change_nothing() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = policy();
        let cal = BusinessCalendar::cn().unwrap();
        let (u, m) = setup(s, &p, "2026-02-02", &["5000.00", "8000.00"]);
        set_business_date(s, C, d("2026-03-10")).unwrap();
        // A future month, an unknown unit: refused.
        let err = generate_bill(s, C, &p, &cal, &u, ym("2026-04")).unwrap_err();
        assert!(
            err.to_string().contains("after the business month"),
            "{err}"
        );
        assert!(generate_bill(s, C, &p, &cal, "330800999999", ym("2026-03")).is_err());
        let bill = generate_bill(s, C, &p, &cal, &u, ym("2026-03")).unwrap();
        confirm_bill(s, C, &bill.bill.bill_no).unwrap();
        // The second member is frozen by court order before the money arrives: the whole
        // payment is refused and nothing is written.
        change_member(s, C, &m[1], MemberAct::Freeze, "法院冻结", &clerk(), now()).unwrap();
        let err = pay(s, &bill.bill.bill_no, "S1", "3120.00").unwrap_err();
        assert!(err.to_string().contains("frozen"), "{err}");
        assert_eq!(account(s, "101.ABC").balance, Fen::ZERO);
        {
            let mut tx = s.begin_read().unwrap();
            assert!(tx.receipt(C, "S1").unwrap().is_none());
        }
        unfreeze(s, &m[1]);
        pay(s, &bill.bill.bill_no, "S1", "3120.00").unwrap();
        // A receipt serial reused for a different payment is refused.
        let err = pay(s, &bill.bill.bill_no, "S1", "1.00").unwrap_err();
        assert!(err.to_string().contains("already recorded"), "{err}");
        // generate_month skips units that already have the month and makes nothing.
        assert!(
            generate_month(s, C, &p, &cal, ym("2026-03"), &mut |_, _| {})
                .unwrap()
                .is_empty()
        );
        // April for everyone through the batch: one confirmed bill.
        set_business_date(s, C, d("2026-04-10")).unwrap();
        let made = generate_month(s, C, &p, &cal, ym("2026-04"), &mut |_, _| {}).unwrap();
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].bill.status, BillStatus::Confirmed);
        assert!(audit(s, C).unwrap().is_clean());
    });
}

#[test]
fn flexible_workers_follow_policy_bounds() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = policy();
        setup(s, &p, "2026-09-01", &[]);
        // The exchange is down: public security and social security cannot be asked.
        let down = Departments::unavailable("公安、人社系统维护中 (exchange under maintenance)");
        let ctx = Sharing {
            store: s,
            departments: &down,
            centre: C,
        };
        let flex = |first17: &str, base: &str, pct: i64| NewFlexible {
            id_card: IdCard::with_check_char(first17).unwrap(),
            name: "赵自由".into(),
            base: yuan(base),
            ratio: Rate::from_percent(pct),
        };
        // Before the policy's date (2026-09-20 for Quzhou): refused.
        let err = open_flexible(
            &ctx,
            &p,
            flex("33080219950505005", "5000.00", 20),
            &clerk(),
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("2026-09-20"), "{err}");
        set_business_date(s, C, d("2026-09-21")).unwrap();
        // Ratio above 24 %, base above the cap, a man of 60: refused.
        let err = open_flexible(
            &ctx,
            &p,
            flex("33080219950505005", "5000.00", 25),
            &clerk(),
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("ratio"), "{err}");
        let err = open_flexible(
            &ctx,
            &p,
            flex("33080219950505005", "50000.00", 20),
            &clerk(),
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("cap"), "{err}");
        let err = open_flexible(
            &ctx,
            &p,
            flex("33080219660101001", "5000.00", 20),
            &clerk(),
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("age 60"), "{err}");
        // Those were refused before anyone was asked about the person.
        let id = IdCard::with_check_char("33080219950505005").unwrap();
        assert!(lookups_of_person(s, C, id.as_str()).unwrap().is_empty());
        // Everything else in order, but Quzhou's residence rule (household registration
        // or social security in the city) cannot be verified with the departments down:
        // refused — never passed — and no account is written; the look-ups are logged
        // (查询留痕) under the opening's application, which is closed.
        let err = open_flexible(
            &ctx,
            &p,
            flex("33080219950505005", "5000.00", 20),
            &clerk(),
            now(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("cannot verify residence now")
                && text.contains("household-or-social-security")
                && text.contains("exchange under maintenance")
                && text.contains("counter"),
            "{text}"
        );
        {
            let mut tx = s.begin_read().unwrap();
            assert!(tx.member_by_id_number(C, id.as_str()).unwrap().is_none());
            assert_eq!(tx.count_members(C).unwrap(), 0);
        }
        let log = lookups_of_person(s, C, id.as_str()).unwrap();
        assert!(!log.is_empty());
        assert!(
            log.iter()
                .all(|l| l.outcome == "unavailable" && l.purpose == "account-opening"),
            "{log:?}"
        );
        let app = log[0].application_no.clone();
        assert_eq!(
            s.begin_read()
                .unwrap()
                .application(C, &app)
                .unwrap()
                .unwrap()
                .status,
            "closed"
        );
        // A centre whose policy asks no residence opens without asking anyone.
        let p = Policy::from_toml(&QUZHOU_POLICY.replace(
            "flexible_residence = \"household-or-social-security\"",
            "flexible_residence = \"any\"",
        ))
        .unwrap();
        let f = open_flexible(
            &ctx,
            &p,
            flex("33080219950505005", "5000.00", 20),
            &clerk(),
            now(),
        )
        .unwrap();
        assert_eq!(f.unit_no, None);
        // Months must start after 缴至年月; 13 months at once is refused; a partial
        // amount is refused.
        let err =
            voluntary_bill(s, C, &p, &f.account_no, Some(ym("2026-08")), 1, "ABC").unwrap_err();
        assert!(err.to_string().contains("from"), "{err}");
        assert!(voluntary_bill(s, C, &p, &f.account_no, Some(ym("2026-09")), 13, "ABC").is_err());
        let b = voluntary_bill(s, C, &p, &f.account_no, Some(ym("2026-09")), 4, "ABC").unwrap();
        assert_eq!(b.bill.total, yuan("4000.00"));
        assert!(pay(s, &b.bill.bill_no, "F1", "1000.00").is_err());
        pay(s, &b.bill.bill_no, "F1", "4000.00").unwrap();
        {
            let mut tx = s.begin_read().unwrap();
            assert_eq!(
                tx.member(C, &f.account_no).unwrap().unwrap().paid_to,
                Some(ym("2026-12"))
            );
        }
        // An employee cannot "resume" without a unit.
        assert!(voluntary_bill(s, C, &p, &f.account_no, Some(ym("2026-12")), 1, "ABC").is_err());
        assert!(audit(s, C).unwrap().is_clean());
    });
}

#[test]
fn interest_splits_at_a_rate_change_and_closing_pays_to_date() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        // The deposit rate falls to 1.25 % on 2026-01-01.
        let text = QUZHOU_POLICY.replace(
            "[interest]",
            "[[deposit_rate]]\neffective = \"2026-01-01\"\nannual = \"1.25\"\n\n[interest]",
        );
        let p = Policy::from_toml(&text).unwrap();
        let cal = BusinessCalendar::cn().unwrap();
        let (u, m) = setup(s, &p, "2025-06-02", &["5000.00", "5000.00"]);
        // Both members receive 1,200.00 on 2025-07-10 and 2026-03-10.
        for (day, month) in [("2025-07-10", "2025-07"), ("2026-03-10", "2026-03")] {
            set_business_date(s, C, d(day)).unwrap();
            let b = generate_bill(s, C, &p, &cal, &u, ym(month)).unwrap();
            confirm_bill(s, C, &b.bill.bill_no).unwrap();
            pay(s, &b.bill.bill_no, &format!("S{month}"), "2400.00").unwrap();
        }
        // The second member closes on 2026-05-06: interest to the day before.
        // 120,000 fen × 175 days (07-10 … 12-31) at 1.5 % + 120,000 × 125 days
        // (01-01 … 05-05) at 1.25 % + 120,000 × 57 days (03-10 … 05-05) at 1.25 %:
        // (21,000,000 × 1.5 + 21,840,000 × 1.25) / 100 / 360 = 1,633.33… → 1,633 fen.
        set_business_date(s, C, d("2026-05-06")).unwrap();
        {
            let mut tx = s.begin().unwrap();
            assert_eq!(
                interest_to_date(tx.as_mut(), C, &p, &m[1], d("2026-05-06")).unwrap(),
                Fen::new(1_633)
            );
            let (amount, posted) =
                post_closing_interest_in(tx.as_mut(), C, &p, &m[1], "close-int-1", &clerk(), now())
                    .unwrap();
            assert_eq!(amount, Fen::new(1_633));
            assert!(posted.is_some());
            tx.commit().unwrap();
        }
        // Not closed while money is in it: the balance and its interest leave first.
        let err = close_member(
            s,
            C,
            &p,
            &m[1],
            CloseCause::Withdrawal,
            "退休销户",
            &clerk(),
            now(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("2,416.33") && err.to_string().contains("销户提取"),
            "{err}"
        );
        let held = account(s, &format!("201.{}", m[1])).balance;
        assert_eq!(held, Fen::new(240_000 + 1_633));
        post_one(
            s,
            C,
            EntryRequest::posted(
                "close-pay-1",
                TxCode::Withdrawal,
                d("2026-05-06"),
                d("2026-05-06"),
                vec![
                    Leg::debit(AccountNo::sub("201", &m[1]).unwrap(), held),
                    Leg::credit(AccountNo::sub("101", "ABC").unwrap(), held),
                ],
                "销户提取",
                clerk(),
            ),
            now(),
        )
        .unwrap();
        close_member(
            s,
            C,
            &p,
            &m[1],
            CloseCause::Withdrawal,
            "退休销户",
            &clerk(),
            now(),
        )
        .unwrap();
        // Year end: the first member's 积数 splits at the rate change:
        // 120,000 × 175 at 1.5 % + (120,000 × 181 + 120,000 × 113) at 1.25 %
        // = (21,000,000 × 1.5 + 35,280,000 × 1.25) / 100 / 360 = 875 + 1,225 = 2,100 fen.
        // The closed account gets nothing more.
        set_business_date(s, C, d("2026-06-30")).unwrap();
        let run = settle_interest(s, C, &p, 2026, &Stamp::system("interest"), now()).unwrap();
        assert_eq!((run.run.accounts, run.run.total), (1, Fen::new(2_100)));
        assert_eq!(
            account(s, &format!("201.{}", m[0])).balance,
            Fen::new(240_000 + 2_100)
        );
        assert_eq!(account(s, "501").balance, Fen::new(1_633 + 2_100));
        assert!(audit(s, C).unwrap().is_clean());
    });
}

#[test]
fn settlement_after_later_value_dates_is_refused() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = policy();
        let cal = BusinessCalendar::cn().unwrap();
        let (u, _) = setup(s, &p, "2026-05-06", &["5000.00"]);
        set_business_date(s, C, d("2026-07-10")).unwrap();
        let b = generate_bill(s, C, &p, &cal, &u, ym("2026-07")).unwrap();
        confirm_bill(s, C, &b.bill.bill_no).unwrap();
        pay(s, &b.bill.bill_no, "S1", "1200.00").unwrap();
        let err = settle_interest(s, C, &p, 2026, &Stamp::system("interest"), now()).unwrap_err();
        assert!(err.to_string().contains("after the period's end"), "{err}");
        // And a year whose end has not come is refused too.
        let err = settle_interest(s, C, &p, 2027, &Stamp::system("interest"), now()).unwrap_err();
        assert!(err.to_string().contains("has not reached"), "{err}");
        assert!(audit(s, C).unwrap().is_clean());
    });
}

#[test]
fn closing_an_emptied_account_never_loses_its_interest() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = policy();
        let cal = BusinessCalendar::cn().unwrap();
        let (u, m) = setup(s, &p, "2026-02-02", &["5000.00"]);
        let acct = format!("201.{}", m[0]);
        // 1,200.00 arrives on 2026-03-10 and is all withdrawn on 2026-04-10 by a
        // withdrawal that pays no interest (a purchase withdrawal, say).
        set_business_date(s, C, d("2026-03-10")).unwrap();
        let b = generate_bill(s, C, &p, &cal, &u, ym("2026-03")).unwrap();
        confirm_bill(s, C, &b.bill.bill_no).unwrap();
        pay(s, &b.bill.bill_no, "S1", "1200.00").unwrap();
        set_business_date(s, C, d("2026-04-10")).unwrap();
        let out = |key: &str, amount: Fen, day: &str| {
            post_one(
                s,
                C,
                EntryRequest::posted(
                    key,
                    TxCode::Withdrawal,
                    d(day),
                    d(day),
                    vec![
                        Leg::debit(AccountNo::parse(&acct).unwrap(), amount),
                        Leg::credit(AccountNo::sub("101", "ABC").unwrap(), amount),
                    ],
                    "提取",
                    clerk(),
                ),
                now(),
            )
            .unwrap();
        };
        out("wd-1", yuan("1200.00"), "2026-04-10");
        // On 2026-05-06 the balance is zero but the 积数 of March 10 – April 9 is not:
        // 120,000 fen × 31 days = 3,720,000 fen·days; × 1.5 % / 360 = 155 fen exactly.
        set_business_date(s, C, d("2026-05-06")).unwrap();
        let st = account(s, &acct);
        assert_eq!(st.balance, Fen::ZERO);
        assert_eq!(st.accrual_through(d("2026-05-05")).unwrap(), 3_720_000);
        let events_before = s
            .begin_read()
            .unwrap()
            .events(C, &format!("member:{}", m[0]))
            .unwrap()
            .len();
        let err = close_member(
            s,
            C,
            &p,
            &m[0],
            CloseCause::Withdrawal,
            "退休销户",
            &clerk(),
            now(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("1.55 yuan of interest is owed")
                && text.contains("积数 3720000")
                && text.contains("since 2026-02-02")
                && text.contains("销户提取"),
            "{text}"
        );
        // Nothing changed.
        {
            let mut tx = s.begin_read().unwrap();
            let row = tx.member(C, &m[0]).unwrap().unwrap();
            assert_eq!(
                row.status,
                anju_domain::codes::PersonalAccountStatus::Normal
            );
            assert_eq!(
                tx.events(C, &format!("member:{}", m[0])).unwrap().len(),
                events_before
            );
        }
        assert_eq!(account(s, &acct), st);
        // The closing withdrawal's way: 销户结息 credits the 1.55 to the day and restarts
        // the period on the closing day (积数 zero, for the member and the control
        // account alike), so the same 积数 is never paid again …
        {
            let mut tx = s.begin().unwrap();
            let (amount, posted) =
                post_closing_interest_in(tx.as_mut(), C, &p, &m[0], "close-int", &clerk(), now())
                    .unwrap();
            assert_eq!(amount, Fen::new(155));
            assert!(posted.is_some());
            tx.commit().unwrap();
        }
        let st = account(s, &acct);
        assert_eq!(st.balance, Fen::new(155));
        assert_eq!(
            (st.accrual, st.accrual_from, st.last_change),
            (0, d("2026-05-06"), d("2026-05-06"))
        );
        {
            let mut tx = s.begin_read().unwrap();
            let control = tx
                .load_accounts(C, &[AccountNo::control("201").unwrap()])
                .unwrap()
                .pop()
                .unwrap();
            assert_eq!(control.accrual, 0, "the control account's 积数 follows");
        }
        {
            let mut tx = s.begin().unwrap();
            assert_eq!(
                interest_to_date(tx.as_mut(), C, &p, &m[0], d("2026-05-06")).unwrap(),
                Fen::ZERO
            );
            let again =
                post_closing_interest_in(tx.as_mut(), C, &p, &m[0], "close-int", &clerk(), now())
                    .unwrap();
            assert_eq!(again.0, Fen::ZERO);
            assert!(again.1.is_none());
        }
        assert!(audit(s, C).unwrap().is_clean());
        // … and pays it out; then the account closes.
        out("wd-close", Fen::new(155), "2026-05-06");
        let closed = close_member(
            s,
            C,
            &p,
            &m[0],
            CloseCause::Withdrawal,
            "退休销户",
            &clerk(),
            now(),
        )
        .unwrap();
        assert_eq!(
            closed.status,
            anju_domain::codes::PersonalAccountStatus::ClosedByWithdrawal
        );
        // The year-end pays the closed account nothing more.
        set_business_date(s, C, d("2026-06-30")).unwrap();
        let run = settle_interest(s, C, &p, 2026, &Stamp::system("interest"), now()).unwrap();
        assert_eq!((run.run.accounts, run.run.total), (0, Fen::ZERO));
        assert_eq!(account(s, "501").balance, Fen::new(155));
        // (No 年终结息 entry was posted, so no period rolled: it still starts on the
        // closing day, with nothing in it.)
        let st = account(s, &acct);
        assert_eq!(
            (st.balance, st.accrual_through(d("2026-06-30")).unwrap()),
            (Fen::ZERO, 0)
        );
        let report = audit(s, C).unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
    });
}

#[test]
fn a_duplicate_account_is_merged_with_its_interest_and_history() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = policy();
        let cal = BusinessCalendar::cn().unwrap();
        let (u, _) = setup(s, &p, "2026-02-02", &[]);
        // The old system opened the same person twice under two ID numbers.
        let open = |first17: &str| {
            open_member(
                s,
                C,
                &p,
                NewMember {
                    id_card: IdCard::with_check_char(first17).unwrap(),
                    name: "王一".into(),
                    unit_no: u.clone(),
                    wage: yuan("5000.00"),
                },
                &clerk(),
                now(),
            )
            .unwrap()
            .0
            .account_no
        };
        let keep = open("33080219900101001");
        let dup = open("33080219900101011");
        set_business_date(s, C, d("2026-03-10")).unwrap();
        let b = generate_bill(s, C, &p, &cal, &u, ym("2026-03")).unwrap();
        confirm_bill(s, C, &b.bill.bill_no).unwrap();
        pay(s, &b.bill.bill_no, "S1", "2400.00").unwrap();
        // Someone else (another name) is refused.
        let other = {
            let (m, _) = open_member(
                s,
                C,
                &p,
                NewMember {
                    id_card: IdCard::with_check_char("33080219900101021").unwrap(),
                    name: "王二".into(),
                    unit_no: u.clone(),
                    wage: yuan("5000.00"),
                },
                &clerk(),
                now(),
            )
            .unwrap();
            m.account_no
        };
        let err =
            merge_accounts(s, C, &p, &keep, &other, "迁移重复户", &clerk(), now()).unwrap_err();
        assert!(err.to_string().contains("not the same person"), "{err}");
        // On 2026-04-10: interest to date on the duplicate, 1,200.00 × 31 days
        // (03-10 … 04-09) × 1.5 % / 360 = 1.55, then everything moves.
        set_business_date(s, C, d("2026-04-10")).unwrap();
        let m = merge_accounts(s, C, &p, &keep, &dup, "迁移重复户", &clerk(), now()).unwrap();
        assert_eq!((m.interest, m.moved), (Fen::new(155), Fen::new(120_155)));
        assert_eq!(
            account(s, &format!("201.{keep}")).balance,
            Fen::new(240_155)
        );
        assert_eq!(account(s, &format!("201.{dup}")).balance, Fen::ZERO);
        {
            let mut tx = s.begin_read().unwrap();
            let d = tx.member(C, &dup).unwrap().unwrap();
            assert_eq!(
                d.status,
                anju_domain::codes::PersonalAccountStatus::ClosedByMerger
            );
            let kept_events = tx.events(C, &format!("member:{keep}")).unwrap();
            assert!(kept_events.last().unwrap().reason.contains(&dup));
        }
        // Twice: the duplicate is closed now.
        assert!(merge_accounts(s, C, &p, &keep, &dup, "迁移重复户", &clerk(), now()).is_err());
        assert!(audit(s, C).unwrap().is_clean());
    });
}

#[test]
fn a_month_never_billed_shows_as_missing() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = policy();
        let cal = BusinessCalendar::cn().unwrap();
        let (u, _) = setup(s, &p, "2026-02-02", &["5000.00", "6000.00"]);
        // March's payday is the 10th, due 5 working days later (03-17).
        set_business_date(s, C, d("2026-03-17")).unwrap();
        assert!(
            missing_bills(s, C, &p, &cal).unwrap().is_empty(),
            "due today"
        );
        set_business_date(s, C, d("2026-03-18")).unwrap();
        let missing = missing_bills(s, C, &p, &cal).unwrap();
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert_eq!(
            (
                missing[0].unit_no.as_str(),
                missing[0].month,
                missing[0].members_due
            ),
            (u.as_str(), ym("2026-03"), 2),
            "February is not due: both were hired in February"
        );
        assert_eq!(missing[0].due_on, d("2026-03-17"));
        generate_bill(s, C, &p, &cal, &u, ym("2026-03")).unwrap();
        assert!(missing_bills(s, C, &p, &cal).unwrap().is_empty());
    });
}

/// Unfreezes through maker-checker (a counter clerk proposes, an approver confirms);
/// unfreezing directly is refused.
fn unfreeze(s: &dyn anju_store::Store, account_no: &str) -> anju_store::registry::MemberRow {
    use anju_app::access::admin::{Actor, decide, propose_unfreeze};
    use anju_domain::access::{PointType, Role};
    let direct = change_member(
        s,
        C,
        account_no,
        MemberAct::Unfreeze,
        "解除冻结",
        &clerk(),
        now(),
    );
    assert!(
        direct
            .as_ref()
            .is_err_and(|e| e.to_string().contains("second person")),
        "{direct:?}"
    );
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
    let id = propose_unfreeze(s, C, &maker, account_no, "法院解除冻结裁定", now()).unwrap();
    decide(s, C, &checker, id, true, None, now()).unwrap();
    s.begin_read()
        .unwrap()
        .member(C, account_no)
        .unwrap()
        .unwrap()
}

/// The monthly batch builds bills on one thread while the other stores them: a unit that
/// cannot be billed after more than a chunk has been stored (its ratio outside the
/// policy, e.g. set before the bounds changed) fails the whole batch, names the rule, and
/// leaves no bill at all; fixed, the same batch makes every bill, numbered in unit order.
#[test]
fn a_monthly_batch_that_fails_midway_writes_no_bill() {
    use anju_domain::codes::{PersonalAccountStatus, UnitAccountStatus};
    use anju_store::registry::{MemberRow, UnitRow};
    const UNITS: usize = 300;
    const BAD: usize = 280;
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = policy();
        let cal = BusinessCalendar::cn().unwrap();
        let day = d("2026-03-02");
        open_centre(s, C, "衢州市住房公积金管理中心", day, now()).unwrap();
        let unit = |u: usize, ratio: i64| UnitRow {
            unit_no: format!("330800{:06}", u + 1),
            credit_code: format!("T{u:017}"),
            name: format!("批量测试单位{u}"),
            address: "衢州市".to_owned(),
            legal_rep: "张三".to_owned(),
            payday: 10,
            bank_code: "ABC".to_owned(),
            unit_ratio: Rate::from_percent(ratio),
            member_ratio: Rate::from_percent(12),
            status: UnitAccountStatus::Normal,
            opened_on: day,
        };
        let mut tx = s.begin().unwrap();
        let mut accounts = vec![AccountState::open(
            AccountNo::sub("101", "ABC").unwrap(),
            day,
        )];
        for u in 0..UNITS {
            let row = unit(u, if u == BAD { 30 } else { 12 });
            tx.insert_unit(C, &row).unwrap();
            accounts.push(AccountState::open(
                AccountNo::sub("213", &row.unit_no).unwrap(),
                day,
            ));
            let account_no = format!("330800{u:08}");
            tx.insert_member(
                C,
                &MemberRow {
                    account_no: account_no.clone(),
                    id_number: format!("T{u:017}"),
                    name: format!("职工{u}"),
                    unit_no: Some(row.unit_no.clone()),
                    base: yuan("5000.00"),
                    status: PersonalAccountStatus::Normal,
                    before_freeze: None,
                    opened_on: day,
                    paid_to: None,
                    flexible_ratio: None,
                },
            )
            .unwrap();
            accounts.push(AccountState::open(
                AccountNo::sub("201", &account_no).unwrap(),
                day,
            ));
        }
        accounts.sort_by(|a, b| a.no.cmp(&b.no));
        tx.insert_accounts(C, &accounts).unwrap();
        tx.commit().unwrap();

        set_business_date(s, C, d("2026-04-10")).unwrap();
        let err = generate_month(s, C, &p, &cal, ym("2026-04"), &mut |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("ratio"), "{err}");
        assert_eq!(s.begin_read().unwrap().count_bills(C).unwrap(), 0);

        let mut tx = s.begin().unwrap();
        tx.update_unit(C, &unit(BAD, 12)).unwrap();
        tx.commit().unwrap();
        let mut seen = 0;
        let made = generate_month(s, C, &p, &cal, ym("2026-04"), &mut |done, total| {
            assert!(done >= seen && total == UNITS);
            seen = done;
        })
        .unwrap();
        assert_eq!(seen, UNITS);
        assert_eq!(made.len(), UNITS);
        for (i, b) in made.iter().enumerate() {
            assert_eq!(b.bill.bill_no, format!("HJ{:012}", i + 1));
            assert_eq!(b.bill.payer, format!("330800{:06}", i + 1));
            assert_eq!(b.bill.total, yuan("1200.00"));
        }
        assert_eq!(
            s.begin_read().unwrap().count_bills(C).unwrap(),
            UNITS as i64
        );
        assert!(audit(s, C).unwrap().is_clean());
    });
}
