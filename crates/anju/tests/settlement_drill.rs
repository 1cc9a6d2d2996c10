//! The settlement fault drill, on every backend: 10,000 payouts and collections against
//! `anju bank-sim` running as its own process with every fault on (latency, lost answers
//! before and after execution, rejections, duplicate and reordered notices, notices before
//! the answer, a crash and supervised restart every 1,500 executions). In the middle the
//! whole simulator is killed and restarted, and Anju's side — the `anju bank-drill`
//! process that sends instructions and receives notices — is killed with SIGKILL and run
//! again. The drill must end with every instruction settled exactly once, the bank's
//! balances equal to Anju's ledger, reconciliation without a difference and the audit
//! clean.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anju_bank::sim::process::BankSimProcess;
use anju_testkit::for_each_backend;

const EXE: &str = env!("CARGO_BIN_EXE_anju");
const COUNT: usize = 10_000;

fn drill(db: &str, bank_url: &str, listen: &str) -> Command {
    let mut c = Command::new(EXE);
    c.args([
        "bank-drill",
        "--db",
        db,
        "--bank-url",
        bank_url,
        "--listen",
        listen,
        "--count",
        &COUNT.to_string(),
        "--request-timeout-ms",
        "800",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    c
}

#[test]
fn ten_thousand_instructions_with_every_fault_and_restarts_settle_exactly_once() {
    for_each_backend(|db| {
        let dir = tempfile::tempdir().unwrap();
        let listen = format!("127.0.0.1:{}", anju_testkit::free_port());
        let callback = format!("http://{listen}/bank/notices");
        let mut sim = BankSimProcess::start(
            std::path::Path::new(EXE),
            &dir.path().join("bank.db"),
            &[
                "--bank",
                "105",
                "--callback",
                &callback,
                "--seed",
                "7",
                "--latency-ms",
                "1",
                "--jitter-ms",
                "2",
                "--timeout-rate",
                "3",
                "--hang-ms",
                "1200",
                "--reject-rate",
                "4",
                "--duplicate-notice-rate",
                "20",
                "--reorder-notices-ms",
                "30",
                "--notice-before-response-rate",
                "5",
                "--crash-every",
                "1500",
            ],
        )
        .unwrap();

        // First run: restart the bank at 2,000 instructions, kill Anju at 5,000.
        let mut first = drill(&db.url, sim.url(), &listen).spawn().unwrap();
        let out = first.stdout.take().unwrap();
        let mut killed_at = None;
        let mut bank_restarted = false;
        for line in BufReader::new(out).lines() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("progress ") {
                let n: usize = n.parse().unwrap();
                if n >= 2_000 && !bank_restarted {
                    sim.restart().unwrap();
                    bank_restarted = true;
                }
                if n >= 5_000 {
                    first.kill().unwrap();
                    killed_at = Some(n);
                    break;
                }
            }
        }
        first.wait().unwrap();
        assert!(bank_restarted, "the bank was restarted mid-run");
        assert!(killed_at.is_some(), "Anju's side was killed mid-run");

        // Second run: resumes, sends the rest, settles everything, reconciles, compares.
        let second = drill(&db.url, sim.url(), &listen).output().unwrap();
        let text = String::from_utf8_lossy(&second.stdout);
        let summary = text
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| panic!("no summary from the drill: {text}"));
        let v: serde_json::Value = serde_json::from_str(summary).unwrap();
        eprintln!("drill summary ({}): {summary}", db.backend.name());
        for (check, ok) in v["checks"].as_object().unwrap() {
            assert_eq!(
                ok,
                &serde_json::Value::Bool(true),
                "check {check}: {summary}"
            );
        }
        assert!(second.status.success(), "{summary}");
        assert_eq!(v["recorded"], COUNT);
        assert_eq!(v["unsettled"], 0);
        let executed = v["executed"].as_i64().unwrap();
        let not_executed = v["not_executed"].as_i64().unwrap();
        assert_eq!(executed + not_executed, COUNT as i64);
        // Every fault actually happened.
        let bank = &v["bank"];
        assert!(bank["rejected"].as_i64().unwrap() > 0, "{summary}");
        assert!(bank["closed_serials"].as_i64().unwrap() > 0, "{summary}");
        assert!(
            bank["duplicate_notices_sent"].as_i64().unwrap() > 0,
            "{summary}"
        );
        assert_eq!(bank["executed"].as_i64().unwrap(), executed);
        assert_eq!(v["fund_balance"]["bank"], v["fund_balance"]["ledger"]);
        assert_eq!(
            v["reconciliation"]["bank_lines"].as_i64().unwrap(),
            executed
        );
        let stats = sim.admin().stats().unwrap();
        assert!(
            stats.ledger.executed > 0 && stats.pid != 0,
            "the simulator answers after its restarts"
        );
    });
}
