//! `anju notify` as an operator runs it: `run` queues a member's balance change and the
//! development sender writes the text to the SMS log; `prefs` turns a kind off; `list`
//! shows the member's notifications. Neither the full ID number nor the full phone ever
//! reaches the terminal or the log.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::process::Command;

use anju_app::identity::LogSms;
use anju_app::ledger::{open_accounts, open_centre, set_business_date};
use anju_app::registry::{NewMember, NewUnit, open_member, register_unit};
use anju_app::remittance::{Payment, confirm_bill, generate_bill, pay_bill};
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::Channel;
use anju_domain::collection::YearMonth;
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::AccountNo;
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_store::Backend;
use anju_store::access::PhoneBindingRow;
use anju_testkit::TestDb;
use jiff::Timestamp;

const C: &str = "330800000000000";
const PHONE: &str = "13812345678";

fn anju(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_anju"))
        .args(args)
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn run_prefs_and_list() {
    let db = TestDb::fresh(Backend::Sqlite);
    let s = db.store.as_ref();
    let now: Timestamp = "2026-03-02T02:00:00Z".parse().unwrap();
    let clerk = Stamp {
        operator: "staff:S0001".into(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".into(),
        on_behalf_of: None,
    };
    let p = Policy::from_toml(QUZHOU_POLICY).unwrap();
    let d = |t: &str| t.parse().unwrap();
    open_centre(s, C, "衢州市住房公积金管理中心", d("2026-02-02"), now).unwrap();
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
            unit_ratio: Rate::from_percent(12),
            member_ratio: Rate::from_percent(12),
        },
        &clerk,
        now,
    )
    .unwrap()
    .unit_no;
    let (m, _) = open_member(
        s,
        C,
        &p,
        NewMember {
            id_card: IdCard::with_check_char("33080219900101001").unwrap(),
            name: "职工".into(),
            unit_no: unit.clone(),
            wage: Fen::parse_yuan("5000.00").unwrap(),
        },
        &clerk,
        now,
    )
    .unwrap();
    {
        let mut tx = s.begin().unwrap();
        tx.bind_phone(
            C,
            &PhoneBindingRow {
                id_number: m.id_number.clone(),
                phone: PHONE.into(),
                bound_at_us: now.as_microsecond(),
                bound_by: "staff:S0001".into(),
            },
        )
        .unwrap();
        tx.commit().unwrap();
    }
    set_business_date(s, C, d("2026-03-10")).unwrap();
    let cal = BusinessCalendar::cn().unwrap();
    let bill = generate_bill(s, C, &p, &cal, &unit, YearMonth::parse("2026-03").unwrap()).unwrap();
    confirm_bill(s, C, &bill.bill.bill_no).unwrap();
    pay_bill(
        s,
        C,
        Payment {
            bill_no: bill.bill.bill_no.clone(),
            receipt_key: "S1".into(),
            amount: bill.bill.total,
            bank_code: None,
        },
        &clerk,
        now,
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sms.jsonl");
    let log_arg = log.display().to_string();
    let (code, out) = anju(&["notify", "run", "--db", &db.url, "--sms-log", &log_arg]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 queued") && out.contains("sent 1"), "{out}");
    let tail = &m.account_no[m.account_no.len() - 4..];
    let text = format!(
        "【衢州公积金】您的公积金账户（尾号{tail}）于2026-03-10汇缴入账1,200.00元，余额1,200.00元。"
    );
    let sent = LogSms::read_file(&log).unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].phone.as_str(), sent[0].text.as_str()),
        (PHONE, text.as_str())
    );
    // Run again: nothing new.
    let (code, again) = anju(&["notify", "run", "--db", &db.url, "--sms-log", &log_arg]);
    assert_eq!(code, 0, "{again}");
    assert!(
        again.contains("0 queued") && again.contains("sent 0"),
        "{again}"
    );
    assert_eq!(LogSms::read_file(&log).unwrap().len(), 1);

    let (code, prefs) = anju(&[
        "notify",
        "prefs",
        "--db",
        &db.url,
        "--id-number",
        &m.id_number,
        "--disable",
        "balance-change",
    ]);
    assert_eq!(code, 0, "{prefs}");
    assert!(prefs.contains("balance_change       off"), "{prefs}");
    assert!(prefs.contains("new_device_login     on"), "{prefs}");
    assert!(prefs.contains("138****5678"), "{prefs}");
    let (code, bad) = anju(&[
        "notify",
        "prefs",
        "--db",
        &db.url,
        "--id-number",
        &m.id_number,
        "--enable",
        "email",
    ]);
    assert_ne!(code, 0, "{bad}");
    assert!(bad.contains("balance_change, application_status"), "{bad}");

    let (code, list) = anju(&[
        "notify",
        "list",
        "--db",
        &db.url,
        "--id-number",
        &m.id_number,
    ]);
    assert_eq!(code, 0, "{list}");
    assert!(list.contains("1 notification(s) of 3308"), "{list}");
    assert!(list.contains("[sent]") && list.contains(&text), "{list}");

    // Privacy: the terminal and the log show masked numbers only.
    for o in [&out, &again, &prefs, &list] {
        assert!(!o.contains(PHONE), "{o}");
        assert!(!o.contains(&m.id_number), "{o}");
    }
}
