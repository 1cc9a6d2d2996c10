//! Uploaded lists and statements on every backend: a roster with a bad row opens nobody
//! and names the row; a good roster opens everyone; a remittance list becomes a bill; a
//! member's statement shows each entry with its months and the balance after it.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::AppError;
use anju_app::import::{ImportTarget, Imported, import_list};
use anju_app::ledger::{open_accounts, open_centre, set_business_date};
use anju_app::registry::{NewUnit, register_unit};
use anju_app::remittance::{Payment, confirm_bill, pay_bill};
use anju_app::statement::{bill_table, member_statement, member_statement_table, unit_statement};
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::Channel;
use anju_domain::collection::YearMonth;
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::AccountNo;
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_sheets::{Format, ListKind, sample_rows_xlsx, write_xlsx};
use anju_testkit::for_each_backend;
use jiff::Timestamp;
use jiff::civil::Date;

const C: &str = "330800000000000";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}
fn now() -> Timestamp {
    "2026-03-02T02:00:00Z".parse().unwrap()
}
fn clerk() -> Stamp {
    Stamp {
        operator: "unit:clerk01".into(),
        channel: Channel::Web,
        service_point: "online".into(),
        on_behalf_of: None,
    }
}
fn id(first17: &str) -> String {
    IdCard::with_check_char(first17)
        .unwrap()
        .as_str()
        .to_owned()
}
fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

#[test]
fn lists_import_all_or_nothing_and_statements_show_the_history() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = Policy::from_toml(QUZHOU_POLICY).unwrap();
        let cal = BusinessCalendar::cn().unwrap();
        open_centre(s, C, "衢州市住房公积金管理中心", d("2026-02-02"), now()).unwrap();
        open_accounts(
            s,
            C,
            &[AccountNo::sub("101", "ABC").unwrap()],
            d("2026-02-02"),
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
                unit_ratio: Rate::from_percent(10),
                member_ratio: Rate::from_percent(10),
            },
            &clerk(),
            now(),
        )
        .unwrap();
        let target = ImportTarget {
            unit_no: unit.unit_no.clone(),
            month: None,
            year: None,
        };
        let import = |kind, bytes: &[u8], target: &ImportTarget| {
            import_list(
                s,
                C,
                &p,
                &cal,
                kind,
                Format::Xlsx,
                bytes,
                target,
                &clerk(),
                now(),
            )
        };

        // Row 3 repeats row 2's person; row 4 has a malformed ID: nobody is opened and
        // both rows are named.
        let a = id("33080219900101001");
        let b = id("33080219910202002");
        let bad = sample_rows_xlsx(
            ListKind::Roster,
            &[
                row(&[&a, "王一", "6000.00"]),
                row(&[&a, "王一", "6000.00"]),
                row(&["33080219910202003", "王二", "6000.00"]),
            ],
        )
        .unwrap();
        match import(ListKind::Roster, &bad, &target).unwrap_err() {
            AppError::Rows { problems } => {
                let rows: Vec<usize> = problems.iter().map(|p| p.row).collect();
                assert_eq!(rows, [3, 4], "{problems:?}");
            }
            other => panic!("{other}"),
        }
        {
            let mut tx = s.begin_read().unwrap();
            assert_eq!(tx.count_members(C).unwrap(), 0);
        }
        let good = sample_rows_xlsx(
            ListKind::Roster,
            &[
                row(&[&a, "王一", "6000.00"]),
                row(&[&b, "王二", "50000.00"]),
            ],
        )
        .unwrap();
        let Imported::Roster(opened) = import(ListKind::Roster, &good, &target).unwrap() else {
            panic!("roster");
        };
        assert_eq!(opened.len(), 2);
        assert_eq!(
            opened[1].2,
            Fen::parse_yuan("32000.00").unwrap(),
            "clamped to the cap"
        );
        assert!(opened[1].3.as_deref().unwrap_or("").contains("上限"));
        // The same person again: refused, pointing at the existing account.
        let err = import(ListKind::Roster, &good, &target).unwrap_err();
        assert!(err.to_string().contains(&opened[0].0), "{err}");

        // March's remittance list from the unit: a wrong name and a base below the floor
        // are both reported; the corrected list makes a draft bill.
        set_business_date(s, C, d("2026-03-10")).unwrap();
        let march = ImportTarget {
            month: Some(YearMonth::parse("2026-03").unwrap()),
            ..target.clone()
        };
        let list = sample_rows_xlsx(
            ListKind::Remittance,
            &[
                row(&[&opened[0].0, "王壹", "6000.00"]),
                row(&[&opened[1].0, "王二", "1000.00"]),
            ],
        )
        .unwrap();
        match import(ListKind::Remittance, &list, &march).unwrap_err() {
            AppError::Rows { problems } => {
                assert_eq!(problems.len(), 2, "{problems:?}");
                assert_eq!((problems[0].row, problems[0].field.as_str()), (2, "姓名"));
                assert_eq!(
                    (problems[1].row, problems[1].field.as_str()),
                    (3, "缴存基数")
                );
            }
            other => panic!("{other}"),
        }
        let list = sample_rows_xlsx(
            ListKind::Remittance,
            &[
                row(&[&opened[0].0, "王一", "6000.00"]),
                row(&[&opened[1].0, "王二", "30000.00"]),
            ],
        )
        .unwrap();
        let Imported::Remittance(bill) = import(ListKind::Remittance, &list, &march).unwrap()
        else {
            panic!("remittance");
        };
        assert_eq!(bill.bill.total, Fen::parse_yuan("7200.00").unwrap());
        let xlsx = write_xlsx(&[bill_table(&bill)]).unwrap();
        assert!(xlsx.starts_with(b"PK"));
        confirm_bill(s, C, &bill.bill.bill_no).unwrap();
        pay_bill(
            s,
            C,
            Payment {
                bill_no: bill.bill.bill_no.clone(),
                receipt_key: "ABC0310".into(),
                amount: bill.bill.total,
                bank_code: None,
            },
            &clerk(),
            now(),
        )
        .unwrap();

        // Statements.
        let st = member_statement(s, C, &opened[1].0, 1, 50).unwrap();
        assert_eq!(st.total_lines, 1);
        assert_eq!(st.lines[0].amount, 600_000);
        assert_eq!(st.lines[0].balance_after, Fen::new(600_000));
        assert_eq!(st.lines[0].months, [YearMonth::parse("2026-03").unwrap()]);
        assert_eq!(st.lines[0].business_zh(), "汇缴");
        assert!(write_xlsx(&[member_statement_table(&st)]).is_ok());
        assert!(member_statement(s, C, &opened[1].0, 0, 50).is_err());
        let us = unit_statement(s, C, &unit.unit_no, 1, 20).unwrap();
        assert_eq!((us.total_bills, us.receipts.len()), (1, 1));
    });
}
