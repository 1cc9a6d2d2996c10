//! `anju loan …` and `anju close-day` as a clerk runs them: bad arguments name the field,
//! the value and the rule and exit non-zero; a day close runs once per date and closing a
//! closed date prints its figures again.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::process::Command;

use anju_app::ledger::{open_centre, post_batch, set_business_date};
use anju_domain::codes::PersonalAccountStatus;
use anju_domain::ledger::{AccountNo, AccountState, EntryRequest, Leg, TxCode};
use anju_domain::loan::{self, Method};
use anju_domain::money::{Fen, Rate};
use anju_domain::stamp::Stamp;
use anju_store::Store;
use anju_store::loan::{InstallmentRow, LoanRow};
use anju_store::registry::MemberRow;
use anju_store_sqlite::SqliteStore;
use jiff::Timestamp;
use jiff::civil::date;

const CENTRE: &str = "330800000000000";

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_anju"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A centre on business date 2026-11-20 with one active loan repaid from the provident
/// fund, its first installment due that day; the member holds 50,000.00 yuan.
fn centre(path: &std::path::Path) {
    let store = SqliteStore::open(path).unwrap();
    let now = Timestamp::now();
    let opened = date(2026, 1, 5);
    open_centre(&store, CENTRE, "衢州市住房公积金管理中心", opened, now).unwrap();
    let account = "33080000000001";
    let loan_no = "DK000000000001";
    let mut tx = store.begin().unwrap();
    tx.insert_member(
        CENTRE,
        &MemberRow {
            account_no: account.into(),
            id_number: "330802197501010011".into(),
            name: "职工一".into(),
            unit_no: None,
            base: Fen::new(800_000),
            status: PersonalAccountStatus::Normal,
            before_freeze: None,
            opened_on: opened,
            paid_to: None,
            flexible_ratio: None,
        },
    )
    .unwrap();
    let mut accounts = vec![
        AccountState::open(AccountNo::sub("101", "105").unwrap(), opened),
        AccountState::open(AccountNo::sub("121", loan_no).unwrap(), opened),
        AccountState::open(AccountNo::sub("201", account).unwrap(), opened),
    ];
    accounts.sort_by(|a, b| a.no.cmp(&b.no));
    tx.insert_accounts(CENTRE, &accounts).unwrap();
    let principal = 30_000_000;
    let rate = Rate::parse_percent("2.85").unwrap();
    let disbursed = date(2026, 10, 25);
    let rows = loan::schedule(
        Fen::new(principal),
        rate,
        240,
        Method::EqualInstallment,
        Some((disbursed, 20)),
    )
    .unwrap();
    let schedule: Vec<InstallmentRow> = rows
        .iter()
        .map(|r| InstallmentRow {
            loan_no: loan_no.into(),
            period: i32::try_from(r.period).unwrap(),
            due: r.due.unwrap(),
            principal: r.principal.fen(),
            interest: r.interest.fen(),
            paid_principal: 0,
            paid_interest: 0,
            penalty: 0,
            paid_penalty: 0,
            status: "scheduled".into(),
            paid_on: None,
        })
        .collect();
    assert_eq!(schedule[0].due, date(2026, 11, 20));
    tx.insert_loan(
        CENTRE,
        &LoanRow {
            loan_no: loan_no.into(),
            application_no: "LA0001".into(),
            account_no: account.into(),
            id_number: "330802197501010011".into(),
            co_id_number: None,
            co_account_no: None,
            kind: "hpf".into(),
            home: "first".into(),
            bank_code: "105".into(),
            principal,
            rate_units: rate.units(),
            months: 240,
            method: "equal-installment".into(),
            repay_day: 20,
            deduct_from: "fund".into(),
            card_no: String::new(),
            status: "active".into(),
            signed_on: Some(date(2026, 10, 12)),
            disbursed_on: Some(disbursed),
            closed_on: None,
            outstanding: principal,
            risk_class: "01".into(),
            overdue_days: 0,
            details: r#"{"contract_no":"QZ-1","requested":30000000,"requested_months":240}"#.into(),
            business_date: date(2026, 10, 12),
            created_at_us: now.as_microsecond(),
            updated_at_us: now.as_microsecond(),
            stamp: Stamp::system("test"),
        },
    )
    .unwrap();
    tx.upsert_installments(CENTRE, &schedule).unwrap();
    tx.commit().unwrap();
    let bank = AccountNo::sub("101", "105").unwrap();
    post_batch(
        &store,
        CENTRE,
        vec![
            EntryRequest::posted(
                "open:member",
                TxCode::OpeningBalance,
                opened,
                opened,
                vec![
                    Leg::debit(bank.clone(), Fen::new(5_000_000)),
                    Leg::credit(AccountNo::sub("201", account).unwrap(), Fen::new(5_000_000)),
                ],
                "期初余额",
                Stamp::system("migration"),
            ),
            EntryRequest::posted(
                "open:loan",
                TxCode::OpeningBalance,
                opened,
                opened,
                vec![
                    Leg::debit(AccountNo::sub("121", loan_no).unwrap(), Fen::new(principal)),
                    Leg::credit(bank, Fen::new(principal)),
                ],
                "期初贷款余额",
                Stamp::system("migration"),
            ),
        ],
        now,
    )
    .unwrap();
    set_business_date(&store, CENTRE, date(2026, 11, 20)).unwrap();
    anju_testkit::staff::seed(&store, CENTRE, opened);
}

#[test]
fn bad_arguments_name_the_field_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    centre(&path);
    let db = format!("sqlite://{}", path.display());
    // Not a sum of money.
    let (code, _, err) = run(&[
        "loan",
        "prepay",
        "DK000000000001",
        "--db",
        &db,
        "--from",
        "fund",
        "--amount",
        "12.345",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("--amount"), "{err}");
    // A member does not review loans (field operator, the value, the rule).
    let (code, _, err) = run(&[
        "loan",
        "propose",
        "DK000000000001",
        "approve",
        "--note",
        "ok",
        "--db",
        &db,
        "--operator",
        "member:1",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("operator") && err.contains("member:1") && err.contains("staff"),
        "{err}"
    );
    // An active loan is not in review.
    let (code, _, err) = run(&[
        "loan",
        "propose",
        "DK000000000001",
        "refuse",
        "--note",
        "no",
        "--db",
        &db,
        "--operator",
        "staff:a001",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("status") && err.contains("review"), "{err}");
    // Someone not in the staff register is nobody.
    let (code, _, err) = run(&[
        "loan",
        "propose",
        "DK000000000001",
        "refuse",
        "--note",
        "no",
        "--db",
        &db,
        "--operator",
        "staff:nobody",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("staff:nobody") && err.contains("register"),
        "{err}"
    );
    // A station clerk may not review a loan, nor a counter clerk: refused and audited.
    for (who, rule) in [
        ("staff:v001", "village service station"),
        ("staff:k001", "counter clerk"),
    ] {
        let (code, _, err) = run(&[
            "loan",
            "confirm",
            "DK000000000001",
            "--agree",
            "--db",
            &db,
            "--operator",
            who,
        ]);
        assert_ne!(code, 0);
        assert!(
            err.contains("forbidden") && err.contains(rule),
            "{who}: {err}"
        );
    }
    // The borrower sees the refusals among who handled their business.
    let store = SqliteStore::open(&path).unwrap();
    let seen =
        anju_app::access::audit::of_person(&store, CENTRE, "330802197501010011", None, 50).unwrap();
    for who in ["staff:v001", "staff:k001"] {
        assert!(
            seen.iter().any(|r| r.actor == who
                && r.action == "authorize"
                && r.outcome == "denied"
                && r.business.as_deref() == Some("18")),
            "{who}: {seen:?}"
        );
    }
    drop(store);
    // Confirm needs --agree or --disagree.
    let (code, _, _) = run(&["loan", "confirm", "DK000000000001", "--db", &db]);
    assert_ne!(code, 0);
    // No such loan.
    let (code, _, err) = run(&[
        "loan",
        "show",
        "DK9",
        "--db",
        &db,
        "--operator",
        "staff:k001",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("not found") && err.contains("DK9"), "{err}");
    // Only the business date is closed.
    let (code, _, err) = run(&["close-day", "--db", &db, "--date", "2026-12-01"]);
    assert_ne!(code, 0);
    assert!(err.contains("date") && err.contains("2026-11-20"), "{err}");
    // A payoff with nothing due meanwhile is allowed only after the policy's months.
    let (code, _, err) = run(&[
        "loan",
        "prepay",
        "DK000000000001",
        "--db",
        &db,
        "--from",
        "fund",
        "--operator",
        "staff:k001",
    ]);
    assert_ne!(code, 0, "{err}");
}

#[test]
fn close_day_runs_once_per_date() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    centre(&path);
    let db = format!("sqlite://{}", path.display());
    let (code, out, err) = run(&["close-day", "--db", &db, "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let first: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(first["already"], false, "{out}");
    assert_eq!(first["date"], "2026-11-20", "{out}");
    assert_eq!(first["loans"]["loans_due"], 1, "{out}");
    assert_eq!(first["loans"]["fund_repayments"], 1, "{out}");
    // The same date again: its figures, nothing done, exit 0.
    let (code, out, err) = run(&["close-day", "--db", &db, "--date", "2026-11-20"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("already closed"), "{out}");
    assert!(out.contains("1 repaid from the provident fund"), "{out}");
    // The first installment is paid from the fund; the next day has nothing due.
    let (code, out, _) = run(&[
        "loan",
        "show",
        "DK000000000001",
        "--db",
        &db,
        "--format",
        "json",
        "--operator",
        "staff:k001",
    ]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schedule"][0]["status"], "paid", "{out}");
    let (code, out, err) = run(&["close-day", "--db", &db]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("2026-11-21 closed") && out.contains("0 due"),
        "{out}"
    );
    let (code, out, _) = run(&["loan", "overdue", "--db", &db, "--operator", "staff:a001"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 loan(s) overdue"), "{out}");
    let (code, out, _) = run(&["audit", "--db", &db]);
    assert_eq!(code, 0, "{out}");
}
