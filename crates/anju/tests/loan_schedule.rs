#![allow(clippy::unwrap_used)]
//! `anju loan schedule` end to end: CSV, JSON, and a bad input.

use std::process::{Command, Output};

fn anju(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_anju"))
        .args(args)
        .output()
        .unwrap()
}

const BASE: [&str; 8] = [
    "loan",
    "schedule",
    "--principal",
    "1000000.00",
    "--annual-rate-pct",
    "3.1",
    "--months",
    "360",
];

#[test]
fn csv_is_the_default_with_a_header_and_plain_amounts() {
    let mut args = BASE.to_vec();
    args.extend(["--method", "equal-installment"]);
    let out = anju(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 361);
    assert_eq!(lines[0], "period,payment,principal,interest,remaining");
    assert_eq!(lines[1], "1,4270.16,1686.83,2583.33,998313.17");
    assert!(lines[360].starts_with("360,"), "{}", lines[360]);
    assert!(lines[360].ends_with(",0.00"), "{}", lines[360]);
}

#[test]
fn json_rows_with_due_dates() {
    let mut args = BASE.to_vec();
    args.extend([
        "--method",
        "equal-principal",
        "--format",
        "json",
        "--first-date",
        "2026-01-05",
        "--repay-day",
        "20",
    ]);
    let out = anju(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 360);
    assert_eq!(
        rows[0],
        serde_json::json!({
            "period": 1,
            "due": "2026-01-20",
            "payment": "4069.45",
            "principal": "2777.78",
            "interest": "1291.67",
            "remaining": "997222.22"
        })
    );
    assert_eq!(rows[1]["due"], "2026-02-20");
    assert_eq!(rows[1]["payment"], "5353.94");
    assert_eq!(rows[359]["remaining"], "0.00");
}

#[test]
fn json_without_first_date_has_no_due() {
    let mut args = BASE.to_vec();
    args.extend(["--method", "equal-principal", "--format", "json"]);
    let out = anju(&args);
    assert!(out.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows[0],
        serde_json::json!({
            "period": 1,
            "payment": "5361.11",
            "principal": "2777.78",
            "interest": "2583.33",
            "remaining": "997222.22"
        })
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let out = anju(&[
        "loan",
        "schedule",
        "--principal",
        "1,000,000",
        "--annual-rate-pct",
        "3.1",
        "--months",
        "360",
        "--method",
        "equal-installment",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--principal"), "{err}");

    let mut args = BASE.to_vec();
    args[7] = "361";
    args.extend(["--method", "equal-installment"]);
    let out = anju(&args);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 to 360 months"), "{err}");
}
