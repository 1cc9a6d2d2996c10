//! Issue 3's "done when" scenario, on every backend: a unit and its members through a full
//! contribution year (2025-07 to 2026-06) — opening, the July base adjustment, twelve
//! remittances (October late with a reminder, December partial then completed), a member
//! left out of November and back-paid in January, a wrong February payment corrected by
//! reversal, a member leaving in January, a flexible-employment member who stops and
//! resumes, and the year-end interest on June 30 — with every balance and 积数 checked
//! against figures computed by hand (written below), then `anju audit`.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::interest::settle_interest;
use anju_app::ledger::{audit, open_accounts, open_centre, set_business_date};
use anju_app::registry::{
    BaseAdjustment, MemberAct, NewFlexible, NewMember, NewUnit, adjust_bases, change_member,
    open_flexible, open_member, register_unit,
};
use anju_app::remittance::{
    BackPayLine, BaseInput, BillChange, Payment, PaymentOutcome, adjust_bill, arrears,
    back_payment_bill, confirm_bill, generate_bill, pay_bill, send_reminders, voluntary_bill,
};
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::{Channel, PersonalAccountStatus, UnitAccountStatus};
use anju_domain::collection::{BaseNotice, YearMonth};
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::{AccountNo, AccountState};
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
    "2026-06-30T10:00:00Z".parse().unwrap()
}
fn clerk() -> Stamp {
    Stamp {
        operator: "unit:clerk01".into(),
        channel: Channel::Web,
        service_point: "online".into(),
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
/// Quzhou's policy, with flexible-employment accounts open from 2025-07-01 (a centre
/// sets its own date; the scenario year starts then) and no residence rule (Quzhou's —
/// household registration or social security in the city — is verified with the
/// departments in `anju/tests/flexible_residence.rs`, against the exchange simulator).
fn policy() -> Policy {
    let text = QUZHOU_POLICY
        .replace(
            "flexible_employment_from = \"2026-09-20\"",
            "flexible_employment_from = \"2025-07-01\"",
        )
        .replace(
            "flexible_residence = \"household-or-social-security\"",
            "flexible_residence = \"any\"",
        );
    assert_ne!(text, QUZHOU_POLICY);
    Policy::from_toml(&text).unwrap()
}

fn account(s: &dyn Store, no: &str) -> AccountState {
    let mut tx = s.begin_read().unwrap();
    tx.load_accounts(C, &[AccountNo::parse(no).unwrap()])
        .unwrap()
        .pop()
        .unwrap()
}

fn member_acct(s: &dyn Store, account_no: &str) -> AccountState {
    account(s, &format!("201.{account_no}"))
}

fn paid_to(s: &dyn Store, account_no: &str) -> Option<YearMonth> {
    let mut tx = s.begin_read().unwrap();
    tx.member(C, account_no).unwrap().unwrap().paid_to
}

fn pay(s: &dyn Store, bill_no: &str, serial: &str, amount: &str) -> PaymentOutcome {
    pay_bill(
        s,
        C,
        Payment {
            bill_no: bill_no.into(),
            receipt_key: serial.into(),
            amount: yuan(amount),
            bank_code: None,
        },
        &bank(),
        now(),
    )
    .unwrap()
}

#[test]
fn a_unit_and_its_members_through_a_full_year() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = policy();
        let cal = BusinessCalendar::cn().unwrap();
        let day = |x: &str| set_business_date(s, C, d(x)).unwrap();

        // ---- opening (2025-06-02), under the 2024 contribution year (cap 29,800) ------
        open_centre(s, C, "衢州市住房公积金管理中心", d("2025-06-02"), now()).unwrap();
        open_accounts(
            s,
            C,
            &[AccountNo::sub("101", "ABC").unwrap()],
            d("2025-06-02"),
        )
        .unwrap();
        let unit = register_unit(
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
        .unwrap();
        let u = unit.unit_no.as_str();
        let hire = |first17: &str, name: &str, wage: &str| {
            open_member(
                s,
                C,
                &p,
                NewMember {
                    id_card: IdCard::with_check_char(first17).unwrap(),
                    name: name.into(),
                    unit_no: u.into(),
                    wage: yuan(wage),
                },
                &clerk(),
                now(),
            )
            .unwrap()
        };
        let (a, _) = hire("33080219900101001", "王一", "10000.00");
        let (b, _) = hire("33080219920202002", "王二", "5000.00");
        let (c, notice) = hire("33080219850303003", "王三", "40000.00");
        assert_eq!(c.base, yuan("29800.00"));
        assert!(matches!(notice, Some(BaseNotice::RaisedAboveCap { .. })));
        let (a, b, c) = (a.account_no, b.account_no, c.account_no);

        // ---- July: the annual base adjustment for the 2025 contribution year ----------
        day("2025-07-01");
        let adjusted = adjust_bases(
            s,
            C,
            &p,
            u,
            2025,
            &[
                BaseAdjustment {
                    account_no: a.clone(),
                    wage: yuan("10500.00"),
                },
                BaseAdjustment {
                    account_no: c.clone(),
                    wage: yuan("40000.00"),
                },
            ],
            &clerk(),
            now(),
        )
        .unwrap();
        assert_eq!(adjusted[0].new, yuan("10500.00"));
        assert_eq!(adjusted[1].new, yuan("32000.00"), "the new cap");
        assert!(adjusted[1].notice.is_some());
        // A bad list changes nothing and names every bad row.
        let err = adjust_bases(
            s,
            C,
            &p,
            u,
            2025,
            &[
                BaseAdjustment {
                    account_no: a.clone(),
                    wage: yuan("0.00"),
                },
                BaseAdjustment {
                    account_no: "330800999999".into(),
                    wage: yuan("5000.00"),
                },
                BaseAdjustment {
                    account_no: b.clone(),
                    wage: yuan("6000.00"),
                },
            ],
            &clerk(),
            now(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("2 bad row(s)"), "{text}");
        assert!(
            text.contains("第1行 wage") && text.contains("第2行 account_no"),
            "{text}"
        );

        // Monthly: generate, confirm, pay in full on the day.
        let remit = |month: &str, serial: &str, expect_total: &str| -> String {
            let bill = generate_bill(s, C, &p, &cal, u, ym(month)).unwrap();
            assert_eq!(bill.bill.total, yuan(expect_total), "{month}");
            confirm_bill(s, C, &bill.bill.bill_no).unwrap();
            let out = pay(s, &bill.bill.bill_no, serial, expect_total);
            assert!(
                matches!(out, PaymentOutcome::Paid { .. }),
                "{month}: {out:?}"
            );
            bill.bill.bill_no
        };

        // A 10,500 → 1,260 + 1,260; B 5,000 → 600 + 600; C 32,000 → 3,840 + 3,840.
        day("2025-07-10");
        let july = remit("2025-07", "ABC20250710001", "11400.00");
        assert_eq!(paid_to(s, &a), Some(ym("2025-07")));
        {
            let mut tx = s.begin_read().unwrap();
            assert_eq!(
                tx.unit(C, u).unwrap().unwrap().status,
                UnitAccountStatus::Normal
            );
        }
        // The same bank notice again posts nothing; another payment of a paid bill is refused;
        // July cannot be billed twice.
        let again = pay(s, &july, "ABC20250710001", "11400.00");
        assert!(matches!(again, PaymentOutcome::Replayed { .. }));
        let err = pay_bill(
            s,
            C,
            Payment {
                bill_no: july.clone(),
                receipt_key: "ABC20250710002".into(),
                amount: yuan("11400.00"),
                bank_code: None,
            },
            &bank(),
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("already paid"), "{err}");
        let err = generate_bill(s, C, &p, &cal, u, ym("2025-07")).unwrap_err();
        assert!(
            err.to_string().contains("already has remittance bill"),
            "{err}"
        );

        day("2025-08-11");
        remit("2025-08", "ABC20250811001", "11400.00");

        // A flexible worker opens an account on Sep 1 and pays September.
        day("2025-09-01");
        let no_exchange = anju_app::sharing::Departments::unavailable("no exchange in this test");
        let f = open_flexible(
            &anju_app::sharing::Sharing {
                store: s,
                departments: &no_exchange,
                centre: C,
            },
            &p,
            NewFlexible {
                id_card: IdCard::with_check_char("33080219950505005").unwrap(),
                name: "赵自由".into(),
                base: yuan("5000.00"),
                ratio: Rate::from_percent(20),
            },
            &clerk(),
            now(),
        )
        .unwrap()
        .account_no;
        day("2025-09-10");
        remit("2025-09", "ABC20250910001", "11400.00");
        let vb = voluntary_bill(s, C, &p, &f, Some(ym("2025-09")), 1, "ABC").unwrap();
        assert_eq!(vb.bill.total, yuan("1000.00"));
        pay(s, &vb.bill.bill_no, "ABC20250910F01", "1000.00");

        // October: generated on payday, not paid by the due date (5 working days later,
        // counting the make-up Saturday Oct 11): arrears and a reminder, paid late.
        day("2025-10-10");
        let oct = generate_bill(s, C, &p, &cal, u, ym("2025-10")).unwrap();
        assert_eq!(oct.bill.due_on, d("2025-10-16"));
        confirm_bill(s, C, &oct.bill.bill_no).unwrap();
        day("2025-10-16");
        assert!(
            arrears(s, C, &cal).unwrap().is_empty(),
            "due today is not late"
        );
        day("2025-10-20");
        let late = arrears(s, C, &cal).unwrap();
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].bill.bill_no, oct.bill.bill_no);
        assert_eq!(late[0].outstanding, yuan("11400.00"));
        assert_eq!(late[0].overdue_days, 2, "Oct 17 and Oct 20");
        assert_eq!(send_reminders(s, C, &cal).unwrap().len(), 1);
        assert_eq!(send_reminders(s, C, &cal).unwrap().len(), 0, "once a day");
        day("2025-10-24");
        pay(s, &oct.bill.bill_no, "ABC20251024001", "11400.00");
        assert!(arrears(s, C, &cal).unwrap().is_empty());
        // The flexible worker pays October to December in advance.
        let vb = voluntary_bill(s, C, &p, &f, Some(ym("2025-10")), 3, "ABC").unwrap();
        pay(s, &vb.bill.bill_no, "ABC20251024F01", "3000.00");
        assert_eq!(paid_to(s, &f), Some(ym("2025-12")));

        // November: the unit leaves A off the bill by mistake.
        day("2025-11-10");
        let nov = generate_bill(s, C, &p, &cal, u, ym("2025-11")).unwrap();
        let nov = adjust_bill(
            s,
            C,
            &p,
            &nov.bill.bill_no,
            &[BillChange::Remove {
                account_no: a.clone(),
            }],
        )
        .unwrap();
        assert_eq!(nov.bill.total, yuan("8880.00"));
        confirm_bill(s, C, &nov.bill.bill_no).unwrap();
        pay(s, &nov.bill.bill_no, "ABC20251110001", "8880.00");
        assert_eq!(paid_to(s, &a), Some(ym("2025-10")));
        assert_eq!(paid_to(s, &b), Some(ym("2025-11")));

        // December: 5,000 arrives first (held in suspense), the rest five days later.
        day("2025-12-10");
        let dec = generate_bill(s, C, &p, &cal, u, ym("2025-12")).unwrap();
        assert_eq!(dec.bill.total, yuan("11400.00"));
        confirm_bill(s, C, &dec.bill.bill_no).unwrap();
        match pay(s, &dec.bill.bill_no, "ABC20251210001", "5000.00") {
            PaymentOutcome::Held {
                held, outstanding, ..
            } => {
                assert_eq!((held, outstanding), (yuan("5000.00"), yuan("6400.00")));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(account(s, &format!("213.{u}")).balance, yuan("5000.00"));
        assert_eq!(member_acct(s, &c).balance, yuan("38400.00"), "not spread");
        day("2025-12-15");
        pay(s, &dec.bill.bill_no, "ABC20251215001", "6400.00");
        assert_eq!(account(s, &format!("213.{u}")).balance, Fen::ZERO);
        assert_eq!(
            paid_to(s, &a),
            Some(ym("2025-10")),
            "November is still missing"
        );

        // January: B leaves (sealed), the flexible worker stops; A's November is back-paid.
        day("2026-01-05");
        change_member(s, C, &b, MemberAct::Seal, "离职", &clerk(), now()).unwrap();
        change_member(s, C, &f, MemberAct::Seal, "暂停缴存", &clerk(), now()).unwrap();
        day("2026-01-12");
        remit("2026-01", "ABC20260112001", "10200.00");
        let back = back_payment_bill(
            s,
            C,
            &p,
            &cal,
            u,
            &[BackPayLine {
                account_no: a.clone(),
                from: ym("2025-11"),
                to: ym("2025-11"),
                base: BaseInput::Wage(yuan("10500.00")),
            }],
        )
        .unwrap();
        assert_eq!(back.bill.total, yuan("2520.00"));
        assert_eq!(back.lines[0].month, ym("2025-11"));
        pay(s, &back.bill.bill_no, "ABC20260112002", "2520.00");
        assert_eq!(paid_to(s, &a), Some(ym("2026-01")), "the gap is filled");
        // Back-paying a paid month is refused.
        let err = back_payment_bill(
            s,
            C,
            &p,
            &cal,
            u,
            &[BackPayLine {
                account_no: c.clone(),
                from: ym("2025-12"),
                to: ym("2025-12"),
                base: BaseInput::Wage(yuan("40000.00")),
            }],
        )
        .unwrap_err();
        assert!(err.to_string().contains("already paid"), "{err}");

        // February: A's base typed wrongly as 20,000; paid, then corrected by reversal.
        day("2026-02-10");
        let feb = generate_bill(s, C, &p, &cal, u, ym("2026-02")).unwrap();
        let feb = adjust_bill(
            s,
            C,
            &p,
            &feb.bill.bill_no,
            &[BillChange::SetBase {
                account_no: a.clone(),
                base: BaseInput::Base(yuan("20000.00")),
            }],
        )
        .unwrap();
        assert_eq!(feb.bill.total, yuan("12480.00"));
        confirm_bill(s, C, &feb.bill.bill_no).unwrap();
        pay(s, &feb.bill.bill_no, "ABC20260210001", "12480.00");
        assert_eq!(paid_to(s, &a), Some(ym("2026-02")));
        day("2026-02-12");
        // A reversal needs two people: a counter clerk proposes, an approver confirms; the
        // maker cannot confirm their own.
        let hall = anju_domain::access::PointType::CentreHall;
        let maker = anju_app::access::admin::Actor::staff(
            "S0001",
            anju_domain::access::Role::CounterClerk,
            "hall-kecheng",
            hall,
        );
        let id = anju_app::access::admin::propose_reversal(
            s,
            C,
            &maker,
            &feb.bill.bill_no,
            "rcpt:ABC20260210001",
            "缴存基数录入错误",
            now(),
        )
        .unwrap();
        assert_eq!(
            paid_to(s, &a),
            Some(ym("2026-02")),
            "nothing happens before the check"
        );
        let same = anju_app::access::admin::decide(s, C, &maker, id, true, None, now());
        assert!(
            matches!(same, Err(anju_app::AppError::Forbidden { .. })),
            "{same:?}"
        );
        let checker = anju_app::access::admin::Actor::staff(
            "S0009",
            anju_domain::access::Role::Approver,
            "hall-kecheng",
            hall,
        );
        anju_app::access::admin::decide(s, C, &checker, id, true, None, now()).unwrap();
        assert_eq!(paid_to(s, &a), Some(ym("2026-01")));
        assert_eq!(paid_to(s, &c), Some(ym("2026-01")));
        adjust_bill(
            s,
            C,
            &p,
            &feb.bill.bill_no,
            &[BillChange::SetBase {
                account_no: a.clone(),
                base: BaseInput::Wage(yuan("10500.00")),
            }],
        )
        .unwrap();
        confirm_bill(s, C, &feb.bill.bill_no).unwrap();
        day("2026-02-13");
        pay(s, &feb.bill.bill_no, "ABC20260213001", "10200.00");

        // March: the flexible worker resumes and pays March (January and February, while
        // stopped, are not owed).
        day("2026-03-02");
        change_member(s, C, &f, MemberAct::Resume, "恢复缴存", &clerk(), now()).unwrap();
        day("2026-03-10");
        remit("2026-03", "ABC20260310001", "10200.00");
        let vb = voluntary_bill(s, C, &p, &f, Some(ym("2026-03")), 1, "ABC").unwrap();
        pay(s, &vb.bill.bill_no, "ABC20260310F01", "1000.00");
        day("2026-04-10");
        remit("2026-04", "ABC20260410001", "10200.00");
        let vb = voluntary_bill(s, C, &p, &f, Some(ym("2026-04")), 3, "ABC").unwrap();
        pay(s, &vb.bill.bill_no, "ABC20260410F01", "3000.00");
        day("2026-05-11");
        remit("2026-05", "ABC20260511001", "10200.00");
        day("2026-06-10");
        remit("2026-06", "ABC20260610001", "10200.00");

        // ---- June 30: balances and 积数 before settlement, by hand ----------------------
        // 积数 = Σ amount (fen) × days from its value date to July 1:
        //   A: 2,520.00 on 07-10 (356 d), 08-11 (324), 09-10 (294), 10-24 (250),
        //      12-15 (198), 01-12 ×2 (170: January and the back-paid November), 02-13
        //      (138; the reversed 02-10 payment counts for nothing), 03-10 (113),
        //      04-10 (82), 05-11 (51), 06-10 (21)                    = 546,084,000
        //   B: 1,200.00 on 07-10, 08-11, 09-10, 10-24, 11-10 (233), 12-15 = 198,600,000
        //   C: 7,680.00 on A's twelve days with 11-10 instead of the second 01-12
        //                                                            = 1,712,640,000
        //   F: 1,000.00 on 09-10, 3,000.00 on 10-24, 1,000.00 on 03-10,
        //      3,000.00 on 04-10                                      = 140,300,000
        day("2026-06-30");
        let expect = [
            (&a, "30240.00", 546_084_000_i64, 22_754_i64), // 22,753.5 fen rounds half up
            (&b, "7200.00", 198_600_000, 8_275),
            (&c, "92160.00", 1_712_640_000, 71_360),
            (&f, "8000.00", 140_300_000, 5_846), // 5,845.83…
        ];
        for (acct, balance, accrual, _) in expect {
            let st = member_acct(s, acct);
            assert_eq!(st.balance, yuan(balance), "{acct}");
            assert_eq!(
                st.accrual_through(d("2026-06-30")).unwrap(),
                accrual,
                "{acct}"
            );
        }
        assert_eq!(account(s, "101.ABC").balance, yuan("137600.00"));
        {
            let mut tx = s.begin_read().unwrap();
            let bm = tx.member(C, &b).unwrap().unwrap();
            assert_eq!(
                (bm.status, bm.unit_no),
                (PersonalAccountStatus::Sealed, None)
            );
        }

        // ---- year-end interest: 积数 × 1.5 % / 360, half-up to the fen -------------------
        let run = settle_interest(s, C, &p, 2026, &Stamp::system("interest"), now()).unwrap();
        assert!(!run.replayed);
        assert_eq!(run.run.accounts, 4);
        assert_eq!(run.run.total, Fen::new(22_754 + 8_275 + 71_360 + 5_846));
        for (acct, balance, _, interest) in expect {
            let st = member_acct(s, acct);
            assert_eq!(st.balance.fen(), yuan(balance).fen() + interest, "{acct}");
            assert_eq!(
                (st.accrual, st.accrual_from),
                (0, d("2026-07-01")),
                "{acct}"
            );
        }
        assert_eq!(account(s, "501").balance, Fen::new(108_235));
        // Twice posts once.
        let again = settle_interest(s, C, &p, 2026, &Stamp::system("interest"), now()).unwrap();
        assert!(again.replayed);
        assert_eq!(account(s, "501").balance, Fen::new(108_235));

        // Money in July counts in the new period only.
        day("2026-07-01");
        let st = member_acct(s, &c);
        assert_eq!(
            st.accrual_through(d("2026-07-01")).unwrap(),
            st.balance.fen(),
            "one day of the new period"
        );
        let report = audit(s, C).unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
    });
}
