//! `anju policy` and `anju access approval`: the first command that opens the centre
//! adopts the shipped policy as version 1; a manager proposes a new file, the same manager
//! may not approve it, another manager does and it is in effect; a `--policy` file that
//! differs from the approved version is refused. A counter clerk proposes unfreezing a
//! frozen account, the same person may not approve it, an approver does and the account
//! is normal again.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::process::Command;

use anju_app::access::admin::{self, Actor, Bootstrap, NewPoint, NewStaff};
use anju_app::ledger::{open_accounts, open_centre};
use anju_app::registry::{
    MemberAct, NewMember, NewUnit, change_member, open_member, register_unit,
};
use anju_domain::access::{PointType, Role, ServicePoint};
use anju_domain::codes::{Channel, PersonalAccountStatus};
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::AccountNo;
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_store::Store;
use anju_store_sqlite::SqliteStore;
use jiff::Timestamp;
use jiff::civil::date;

const C: &str = "330800000000000";
const BO: &str = "backoffice";
const HALL: &str = "hall-kecheng";

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

fn ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}\n{out}\n{err}");
    out
}

fn refused(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 2, "{args:?} was not refused\n{out}\n{err}");
    err
}

/// The number after `--approval ` in a command's output.
fn approval_of(out: &str) -> String {
    out.split("--approval ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no approval number in {out}"))
        .to_owned()
}

fn point(code: &str, t: PointType) -> NewPoint {
    NewPoint {
        code: code.into(),
        name: format!("网点 {code}"),
        point_type: t,
        county: "柯城区".into(),
        town: "府山街道".into(),
        village: None,
        bank_code: None,
        handles: ServicePoint::possible_businesses(t),
        opened_on: date(2026, 3, 2),
    }
}

fn person(id: &str, role: Role, at: &str) -> NewStaff {
    NewStaff {
        staff_id: id.into(),
        name: format!("职员{id}"),
        role,
        service_point: at.into(),
        initial_password: "Quzhou#2026ab".into(),
    }
}

/// The centre with two managers and the administrators at the back office, and a
/// counter clerk and an approver at the hall.
fn setup(path: &std::path::Path) -> SqliteStore {
    let s = SqliteStore::open(path).unwrap();
    let now = Timestamp::now();
    let pw = Policy::from_toml(QUZHOU_POLICY).unwrap().access().password;
    open_centre(&s, C, "衢州市住房公积金管理中心", date(2026, 3, 2), now).unwrap();
    admin::bootstrap(
        &s,
        C,
        &pw,
        &Bootstrap {
            point: point(BO, PointType::BackOffice),
            people: vec![
                person("sysadmin", Role::SystemAdmin, BO),
                person("secadmin", Role::SecurityAdmin, BO),
                person("m1", Role::Manager, BO),
                person("m2", Role::Manager, BO),
            ],
        },
        now,
    )
    .unwrap();
    let sys = Actor::staff("sysadmin", Role::SystemAdmin, BO, PointType::BackOffice);
    let sec = Actor::staff("secadmin", Role::SecurityAdmin, BO, PointType::BackOffice);
    let m1 = Actor::staff("m1", Role::Manager, BO, PointType::BackOffice);
    admin::open_point(&s, C, &sys, &point(HALL, PointType::CentreHall), now).unwrap();
    for (id, role) in [("k1", Role::CounterClerk), ("a1", Role::Approver)] {
        let created = admin::create_staff(&s, C, &pw, &sec, &person(id, role, HALL), now).unwrap();
        admin::confirm_role(&s, C, &m1, created.approval_id.unwrap(), now).unwrap();
    }
    s
}

#[test]
fn a_policy_change_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    drop(setup(&path));
    let db = format!("sqlite://{}", path.display());
    let db = db.as_str();

    let out = ok(&["policy", "show", "--db", db]);
    assert!(out.contains("no policy version recorded yet"), "{out}");
    // The first command with the database adopts the shipped policy as version 1.
    ok(&["access", "staff", "list", "--db", db]);
    let out = ok(&["policy", "show", "--db", db]);
    let sha1 = anju_app::access::policy::text_sm3(QUZHOU_POLICY);
    assert!(out.contains("policy version 1 in effect"), "{out}");
    assert!(
        out.contains(&sha1) && out.contains("system:first-start"),
        "{out}"
    );

    // A new file: a bad one is refused, a good one proposed by manager 1.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[centre\n").unwrap();
    let bad_arg = bad.display().to_string();
    let err = refused(&[
        "policy", "propose", "--db", db, "--as", "staff:m1", "--file", &bad_arg,
    ]);
    assert!(err.contains("not a valid policy"), "{err}");
    let new_text =
        QUZHOU_POLICY.replace("policy_version = \"2026.1\"", "policy_version = \"2026.2\"");
    let file = dir.path().join("new.toml");
    std::fs::write(&file, &new_text).unwrap();
    let file_arg = file.display().to_string();
    let out = ok(&[
        "policy", "propose", "--db", db, "--as", "staff:m1", "--file", &file_arg,
    ]);
    let n = approval_of(&out);
    let out = ok(&[
        "access",
        "approval",
        "pending",
        "--db",
        db,
        "--business",
        "26",
    ]);
    assert!(out.starts_with(&format!("{n}\t26 ")), "{out}");
    // Not by its maker, nor by an approver.
    let err = refused(&[
        "access",
        "approval",
        "approve",
        "--db",
        db,
        "--as",
        "staff:m1",
        "--approval",
        &n,
    ]);
    assert!(err.contains("forbidden"), "{err}");
    let err = refused(&[
        "access",
        "approval",
        "approve",
        "--db",
        db,
        "--as",
        "staff:a1",
        "--approval",
        &n,
    ]);
    assert!(err.contains("forbidden"), "{err}");
    assert!(ok(&["policy", "show", "--db", db]).contains("version 1 in effect"));
    ok(&[
        "access",
        "approval",
        "approve",
        "--db",
        db,
        "--as",
        "staff:m2",
        "--approval",
        &n,
    ]);
    let out = ok(&["policy", "show", "--db", db]);
    assert!(out.contains("policy version 2 in effect"), "{out}");
    assert!(out.contains("2026.2") && out.contains("staff:m2"), "{out}");
    let out = ok(&["policy", "history", "--db", db]);
    assert_eq!(out.lines().count(), 2, "{out}");

    // The old file is refused at a start; the approved one, or none, is fine.
    let old = dir.path().join("old.toml");
    std::fs::write(&old, QUZHOU_POLICY).unwrap();
    let old_arg = old.display().to_string();
    let err = refused(&["access", "staff", "list", "--db", db, "--policy", &old_arg]);
    assert!(
        err.contains("version 2") && err.contains(&sha1) && err.contains("anju policy propose"),
        "{err}"
    );
    ok(&["access", "staff", "list", "--db", db, "--policy", &file_arg]);
    let out_file = dir.path().join("export.toml");
    let out_arg = out_file.display().to_string();
    ok(&["policy", "export", "--db", db, "--out", &out_arg]);
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), new_text);
}

#[test]
fn an_unfreeze_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u.db");
    let s = setup(&path);
    let now = Timestamp::now();
    let policy = Policy::from_toml(QUZHOU_POLICY).unwrap();
    open_accounts(
        &s,
        C,
        &[AccountNo::sub("101", "ABC").unwrap()],
        date(2026, 3, 2),
    )
    .unwrap();
    let stamp = Stamp {
        operator: "staff:k1".into(),
        channel: Channel::Counter,
        service_point: HALL.into(),
        on_behalf_of: None,
    };
    let unit = register_unit(
        &s,
        C,
        &policy,
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
        &stamp,
        now,
    )
    .unwrap();
    let id = IdCard::with_check_char("33080219900101001").unwrap();
    open_member(
        &s,
        C,
        &policy,
        NewMember {
            id_card: id.clone(),
            name: "李四".into(),
            unit_no: unit.unit_no,
            wage: Fen::parse_yuan("6000").unwrap(),
        },
        &stamp,
        now,
    )
    .unwrap();
    let status = |s: &SqliteStore| {
        s.begin_read()
            .unwrap()
            .member_by_id_number(C, id.as_str())
            .unwrap()
            .unwrap()
    };
    let account = status(&s).account_no;
    change_member(&s, C, &account, MemberAct::Freeze, "法院冻结", &stamp, now).unwrap();
    assert_eq!(status(&s).status, PersonalAccountStatus::Frozen);
    drop(s);
    let db = format!("sqlite://{}", path.display());
    let db = db.as_str();

    let out = ok(&[
        "access",
        "approval",
        "propose-unfreeze",
        "--db",
        db,
        "--as",
        "staff:k1",
        "--account",
        &account,
        "--reason",
        "法院解除冻结裁定",
    ]);
    let n = approval_of(&out);
    let out = ok(&["access", "approval", "pending", "--db", db]);
    assert!(
        out.contains(&format!("member:{account}")) && out.contains("by staff:k1"),
        "{out}"
    );
    let err = refused(&[
        "access",
        "approval",
        "approve",
        "--db",
        db,
        "--as",
        "staff:k1",
        "--approval",
        &n,
    ]);
    assert!(err.contains("forbidden"), "{err}");
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(status(&s).status, PersonalAccountStatus::Frozen);
    drop(s);
    ok(&[
        "access",
        "approval",
        "approve",
        "--db",
        db,
        "--as",
        "staff:a1",
        "--approval",
        &n,
    ]);
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(status(&s).status, PersonalAccountStatus::Normal);
    let out = ok(&["access", "approval", "pending", "--db", db]);
    assert!(out.is_empty(), "{out}");
    // A rejection needs a checker too, and is final.
    let err = refused(&[
        "access",
        "approval",
        "reject",
        "--db",
        db,
        "--as",
        "staff:a1",
        "--approval",
        &n,
        "--reason",
        "x",
    ]);
    assert!(err.contains("decided already"), "{err}");
}
