//! The registry as a counter clerk runs it from the command line: `anju register-unit`,
//! `anju open-member`, `anju change-member`, `anju change-unit`. Bad input (an invalid
//! credit code or ID, a ratio outside the policy, an unknown act) exits non-zero naming
//! the field and the rule and writes nothing; a second registration of the same credit
//! code and a second account for the same person are refused naming the existing one;
//! status changes follow the standard codes; the ledger audits clean afterwards.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use anju_app::ledger::audit;
use anju_domain::codes::{PersonalAccountStatus, UnitAccountStatus};
use anju_domain::ids::{CreditCode, IdCard};
use anju_store::Store;
use anju_store_sqlite::SqliteStore;
use jiff::civil::date;

use common::{cli, counter_centre};

const C: &str = "330800000000000";

#[test]
fn a_clerk_registers_a_unit_opens_members_and_changes_their_status() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("centre.db");
    let db = counter_centre(&path, C, date(2026, 10, 8));
    let code = CreditCode::with_check_char("91330802MA2D00002").unwrap();
    let code = code.as_str().to_owned();
    let register = |credit: &str, unit_ratio: &str| {
        cli(&[
            "register-unit",
            "--db",
            &db,
            "--credit-code",
            credit,
            "--name",
            "衢州市安居科技有限公司",
            "--address",
            "衢州市柯城区府山街道",
            "--legal-rep",
            "王五",
            "--payday",
            "10",
            "--bank",
            "ICBC",
            "--unit-ratio",
            unit_ratio,
            "--member-ratio",
            "12",
            "--operator",
            "staff:k001",
        ])
    };
    let s = SqliteStore::open(&path).unwrap();
    let units = || s.begin_read().unwrap().units_all(C).unwrap();

    // Bad input: nothing registered.
    let (c, _, err) = register("91330802MA2D00001", "12");
    assert_ne!(c, 0);
    assert!(err.contains("--credit-code"), "{err}");
    let (c, _, err) = register(&code, "20");
    assert_ne!(c, 0);
    assert!(err.contains("unit_ratio") || err.contains("ratio"), "{err}");
    assert!(units().is_empty());

    // Registered; a second registration of the code names the first unit.
    let (c, out, err) = register(&code, "12");
    assert_eq!(c, 0, "{err}");
    assert!(out.contains("registered"), "{out}");
    let unit = units()[0].clone();
    assert_eq!(unit.status, UnitAccountStatus::Opened);
    let (c, _, err) = register(&code, "12");
    assert_ne!(c, 0);
    assert!(err.contains(&unit.unit_no), "{err}");
    assert_eq!(units().len(), 1);

    // A member opened; a wage above the cap is brought to it, with the notice printed.
    let id = IdCard::with_check_char("33080219900101001").unwrap();
    let id = id.as_str().to_owned();
    let open = |id_number: &str, wage: &str| {
        cli(&[
            "open-member",
            "--db",
            &db,
            "--id-number",
            id_number,
            "--name",
            "赵六",
            "--unit",
            &unit.unit_no,
            "--wage",
            wage,
            "--operator",
            "staff:k001",
        ])
    };
    let bad = format!("{}{}", &id[..17], if id.ends_with('1') { '2' } else { '1' });
    let (c, _, err) = open(&bad, "8000.00");
    assert_ne!(c, 0);
    assert!(err.contains("--id-number"), "{err}");
    let (c, out, err) = open(&id, "99999.00");
    assert_eq!(c, 0, "{err}");
    assert!(out.contains("personal account"), "{out}");
    let member = s
        .begin_read()
        .unwrap()
        .member_by_id_number(C, &id)
        .unwrap()
        .unwrap();
    assert!(out.contains(&member.account_no), "{out}");
    assert!(member.base < anju_domain::money::Fen::parse_yuan("99999.00").unwrap());
    let (c, _, err) = open(&id, "8000.00");
    assert_ne!(c, 0);
    assert!(err.contains(&member.account_no), "{err}");

    // Status changes.
    let change = |act: &str, unit_no: Option<&str>| {
        let mut args = vec![
            "change-member",
            "--db",
            &db,
            "--account",
            &member.account_no,
            "--act",
            act,
            "--reason",
            "柜面办理",
            "--operator",
            "staff:k001",
        ];
        if let Some(u) = unit_no {
            args.extend(["--unit", u]);
        }
        cli(&args)
    };
    let status = || {
        s.begin_read()
            .unwrap()
            .member(C, &member.account_no)
            .unwrap()
            .unwrap()
    };
    let (c, _, err) = change("retire", None);
    assert_ne!(c, 0);
    assert!(err.contains("--act retire"), "{err}");
    let (c, _, err) = change("unseal", None);
    assert_ne!(c, 0);
    assert!(err.contains("--unit"), "{err}");
    let (c, _, err) = change("seal", None);
    assert_eq!(c, 0, "{err}");
    assert_eq!(
        (status().status, status().unit_no),
        (PersonalAccountStatus::Sealed, None)
    );
    // A unit with no member attached may be closed; first re-hire, so it may not.
    let (c, _, err) = change("unseal", Some(&unit.unit_no));
    assert_eq!(c, 0, "{err}");
    assert_eq!(status().unit_no.as_deref(), Some(unit.unit_no.as_str()));
    let (c, _, err) = change("freeze", None);
    assert_eq!(c, 0, "{err}");
    assert_eq!(status().status, PersonalAccountStatus::Frozen);
    let (c, _, err) = cli(&[
        "change-unit",
        "--db",
        &db,
        "--unit",
        &unit.unit_no,
        "--act",
        "close",
        "--reason",
        "注销",
        "--operator",
        "staff:k001",
    ]);
    assert_ne!(c, 0);
    assert!(err.contains("personal account"), "{err}");
    assert_eq!(units()[0].status, UnitAccountStatus::Opened);

    let report = audit(&s, C).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}
