//! `anju access`: bootstrap the first accounts, then the administrators open a point and
//! create a member of staff whose role a manager confirms; the CLI obeys the matrix;
//! `anju audit` verifies the audit log's chain and shows its rows.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::process::Command;

use anju_app::ledger::open_centre;
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

fn ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}\n{out}\n{err}");
    out
}

#[test]
fn bootstrap_then_administer_then_audit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        open_centre(
            &store,
            CENTRE,
            "衢州市住房公积金管理中心",
            date(2026, 3, 2),
            Timestamp::now(),
        )
        .unwrap();
    }
    let db = format!("sqlite://{}", path.display());
    let db = db.as_str();

    // Nobody exists yet: the CLI acts as no one.
    let (code, _, err) = run(&["access", "point", "list", "--db", db]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&[
        "access",
        "staff",
        "disable",
        "--db",
        db,
        "--as",
        "staff:sysadmin",
        "--id",
        "x",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("not found"), "{err}");

    let out = ok(&["access", "bootstrap", "--db", db]);
    for who in [
        "staff:sysadmin",
        "staff:secadmin",
        "staff:auditadmin",
        "staff:manager",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(who))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(
            line.contains("password ") && line.contains("otpauth://totp/"),
            "{line}"
        );
    }
    // Only once.
    let (code, _, err) = run(&["access", "bootstrap", "--db", db]);
    assert_eq!(code, 2);
    assert!(err.contains("staff exist already"), "{err}");

    // The system administrator opens the hall; the security administrator may not.
    let hall = [
        "--code",
        "hall-kecheng",
        "--name",
        "柯城区服务大厅",
        "--type",
        "centre-hall",
        "--county",
        "柯城区",
        "--town",
        "府山街道",
    ];
    let mut args = vec![
        "access",
        "point",
        "open",
        "--db",
        db,
        "--as",
        "staff:secadmin",
    ];
    args.extend(hall);
    let (code, _, err) = run(&args);
    assert_eq!(code, 2);
    assert!(
        err.contains("forbidden") && err.contains("三员分立"),
        "{err}"
    );
    args[6] = "staff:sysadmin";
    ok(&args);
    // A village station that would review loans is refused.
    let (code, _, err) = run(&[
        "access",
        "point",
        "open",
        "--db",
        db,
        "--as",
        "staff:sysadmin",
        "--code",
        "v1",
        "--name",
        "丰收驿站",
        "--type",
        "village-station",
        "--county",
        "柯城区",
        "--town",
        "石梁镇",
        "--village",
        "石室村",
        "--handles",
        "04,18",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no role may do"), "{err}");
    let out = ok(&["access", "point", "list", "--db", db]);
    assert!(out.contains("hall-kecheng\tcentre_hall\topen"), "{out}");
    assert!(out.contains("backoffice\tback_office\topen"), "{out}");

    // The security administrator creates a counter clerk; the manager confirms the role.
    let out = ok(&[
        "access",
        "staff",
        "create",
        "--db",
        db,
        "--as",
        "staff:secadmin",
        "--id",
        "k001",
        "--name",
        "柜员甲",
        "--role",
        "counter-clerk",
        "--point",
        "hall-kecheng",
    ]);
    assert!(out.contains("temporary password (shown once): "), "{out}");
    assert!(out.contains("otpauth://totp/"), "{out}");
    let approval = out
        .lines()
        .find_map(|l| l.split("--approval ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    let out = ok(&["access", "staff", "list", "--db", db]);
    assert!(out.contains("k001\t柜员甲\t(awaiting checker)"), "{out}");
    // The maker may not confirm their own grant.
    let (code, _, err) = run(&[
        "access",
        "staff",
        "confirm-role",
        "--db",
        db,
        "--as",
        "staff:secadmin",
        "--approval",
        &approval,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("双人复核"), "{err}");
    ok(&[
        "access",
        "staff",
        "confirm-role",
        "--db",
        db,
        "--as",
        "staff:manager",
        "--approval",
        &approval,
    ]);
    let out = ok(&["access", "staff", "list", "--db", db]);
    assert!(
        out.contains("k001\t柜员甲\t03 counter clerk\thall-kecheng\tactive"),
        "{out}"
    );

    // The audit log: verified, searched by the audit administrator only.
    let out = ok(&["access", "audit-log", "verify", "--db", db]);
    assert!(out.contains("rows checked"), "{out}");
    let (code, _, err) = run(&[
        "access",
        "audit-log",
        "search",
        "--db",
        db,
        "--as",
        "staff:sysadmin",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("forbidden"), "{err}");
    let out = ok(&[
        "access",
        "audit-log",
        "search",
        "--db",
        db,
        "--as",
        "staff:auditadmin",
        "--action",
        "staff_created",
    ]);
    assert!(
        out.contains("staff:secadmin") && out.contains("staff:k001"),
        "{out}"
    );
    assert!(out.contains("system:bootstrap"), "{out}");

    let (code, out, err) = run(&["audit", "--db", db]);
    assert_eq!(code, 0, "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.contains("audit log OK"))
        .unwrap_or_else(|| panic!("{out}"));
    let rows: i64 = line
        .split(" — ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    // The shipped policy adopted as version 1 by the first command, bootstrap (point + 4
    // staff), the refused and the opened hall (the invalid station is refused before
    // anything is written), staff created + grant proposed, a refused and a real
    // confirmation, a refused and a real search.
    assert_eq!(rows, 14, "{out}");
    assert!(line.contains("head "), "{line}");

    // Someone with the database file rewrites who created the clerk: the audit fails.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "DROP TRIGGER audit_log_no_update;
         UPDATE audit_log SET actor = 'staff:manager' WHERE action = 'staff_created' AND actor = 'staff:secadmin';",
    )
    .unwrap();
    drop(c);
    let (code, out, _) = run(&["audit", "--db", db]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("audit log FAILED") && out.contains("audit row 9"),
        "{out}"
    );
    let (code, out, _) = run(&["access", "audit-log", "verify", "--db", db]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("problem: audit row 9"), "{out}");
}
