//! The `anju` binary as a user runs it: identifier checks, URLs, the demo server, and the
//! audit catching a tampered database file.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn anju() -> Command {
    Command::new(env!("CARGO_BIN_EXE_anju"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = anju().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_id_card() {
    let (code, out, _) = run(&["check", "id-card", "11010519491231002x"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("110105") && out.contains("1949-12-31") && out.contains("female"),
        "{out}"
    );
    let (code, out, _) = run(&["check", "id-card", " 11010519491231002X\r"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(&["check", "id-card", "110105194912310021"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("invalid: ") && out.contains("check character"),
        "{out}"
    );
    let (code, out, _) = run(&["check", "id-card", "110105491231002"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("15-digit") || out.contains("first-generation"),
        "{out}"
    );
    let (code, out, _) = run(&["check", "id-card", "991231194912310020"]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn check_credit_code() {
    let (code, out, _) = run(&["check", "credit-code", "91330802MA28F0Q135"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("330802") && out.contains("MA28F0Q13"), "{out}");
    let (code, out, _) = run(&["check", "credit-code", "91330802MA28F0Q136"]);
    assert_eq!(code, 1, "{out}");
    let (code, out, _) = run(&["check", "credit-code", "91330802MA28F0QI35"]);
    assert_eq!(code, 1);
    assert!(out.contains('I'), "{out}");
}

#[test]
fn check_stdin_answers_line_by_line() {
    let mut child = anju()
        .args(["check", "id-card", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"11010519491231002X\n\n110105491231002\r\n11010519491231002x\nabc")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(lines[0], "valid");
    assert_eq!(lines[1], "invalid: empty");
    assert!(lines[2].starts_with("invalid: "), "{text}");
    assert_eq!(lines[3], "valid");
    assert!(lines[4].starts_with("invalid: "), "{text}");
}

#[test]
fn bad_database_urls_are_refused() {
    let (code, _, err) = run(&["migrate", "--db", "mysql://x"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "{err}"
    );
    let (code, _, err) = run(&["audit", "--db", "anju.db"]);
    assert_eq!(code, 2);
    assert!(err.contains("must start with"), "{err}");
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(addr: &str, path: &str) -> (u16, String) {
    get_as(addr, path, None)
}

/// A GET with the session cookie of `token`, if any.
fn get_as(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let cookie = token.map_or(String::new(), |t| format!("Cookie: anju_session={t}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let status = buf.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, buf)
}

/// Signs a demo member of staff in (demo password, TOTP code of now); the session token
/// (also set as the session cookie).
fn staff_session(addr: &str, id: &str) -> String {
    let mut secret = format!("anju-demo-{id}").into_bytes();
    secret.resize(20, b'.');
    let code = anju_domain::access::totp_code(&secret, jiff::Timestamp::now().as_second());
    let mut r = ureq::post(format!("http://{addr}/api/v1/login/staff"))
        .header("content-type", "application/json")
        .send(format!(
            r#"{{"staff_id":"{id}","password":"Demo#2026ab","totp":"{code:06}"}}"#
        ))
        .unwrap();
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let body: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(
        cookie.starts_with(&format!("anju_session={token};")),
        "{cookie}"
    );
    token
}

#[test]
fn demo_seeds_serves_and_audits_and_the_audit_catches_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    // Port 0: the OS picks a free port, which the binary prints.
    let mut child = anju()
        .args(["demo", "--db", &db, "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut addr = None;
    let mut seen = String::new();
    // The server line, then the bank samples (run once the server takes notices), then
    // the sample withdrawals.
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("Anju is serving")
            && let Some(rest) = line.split("http://").nth(1)
        {
            addr = Some(rest.trim_end_matches('/').to_owned());
        }
        if line.starts_with("sample withdrawal WD-DEMO-09")
            || line.starts_with("withdrawal samples failed")
        {
            break;
        }
    }
    let addr = addr.unwrap_or_else(|| panic!("no URL printed: {seen}"));
    assert!(seen.contains("seeded demo centre"), "{seen}");
    // Five commissioned banks, each an `anju bank-sim` process with its books beside the
    // database, and the money the demo moved through them.
    assert!(
        seen.contains(
            "commissioned banks: 5 registered, 1271 members' payout cards bound, 30 units' accounts recorded"
        ),
        "{seen}"
    );
    let sims: Vec<String> = seen
        .lines()
        .filter(|l| l.starts_with("bank ") && l.contains(" simulated at http://127.0.0.1:"))
        .filter_map(|l| {
            l.split("http://")
                .nth(1)?
                .split_whitespace()
                .next()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(sims.len(), 5, "{seen}");
    assert!(dir.path().join("demo-bank-icbc.db").exists());
    assert!(
        seen.contains("bank notices are received at POST /bank/notices from bank(s) ICBC, ABC, CCB, BOC, QZRCB"),
        "{seen}"
    );
    let sample = |prefix: &str| -> Vec<&str> {
        seen.lines()
            .filter(|l| l.trim_start().starts_with(prefix))
            .collect()
    };
    let payouts = sample("payout DEMO-PAY-");
    assert_eq!(payouts.len(), 3, "{seen}");
    assert_eq!(
        payouts
            .iter()
            .filter(|l| l.contains(" — paid (bank ref "))
            .count(),
        2,
        "{seen}"
    );
    assert!(
        payouts[2].contains("rejected by the bank: 账户不存在")
            && payouts[2].contains("the money is back in 201."),
        "{seen}"
    );
    let debit = sample("direct debit DEMO-DD-0001");
    assert!(
        debit.len() == 1
            && debit[0].contains("— collected (bank ref ")
            && debit[0].ends_with("bill 已缴"),
        "{seen}"
    );
    let transfers = sample("bank transfer from ");
    assert_eq!(transfers.len(), 2, "{seen}");
    assert!(
        transfers[0].contains("credit notice received, matched bill BJ")
            && transfers[0].ends_with("bill 已缴"),
        "{seen}"
    );
    assert!(
        transfers[1].contains("unknown payer")
            && transfers[1].contains("parked in 待查收款 215.BOC"),
        "{seen}"
    );
    let reconciled = sample("reconciled ");
    assert_eq!(reconciled.len(), 5, "{seen}");
    for r in &reconciled {
        assert!(r.contains(" 0 difference(s)") && !r.contains('≠'), "{seen}");
    }
    assert!(
        seen.contains("bank samples done: 0 difference(s) in 5 reconciliation(s)"),
        "{seen}"
    );
    // The demo runs the data-exchange simulator and verified its sample applications.
    assert!(
        seen.contains("data exchange simulator: http://127.0.0.1:"),
        "{seen}"
    );
    assert!(
        seen.contains("application DEMO-SQ-0001 (购房提取): 6/6 facts verified"),
        "{seen}"
    );
    // Nine sample withdrawals: verified at the exchange, decided, paid through the banks
    // (the "other" ground waits for staff).
    let withdrawals = sample("sample withdrawal ");
    assert_eq!(withdrawals.len(), 9, "{seen}");
    let paid = withdrawals.iter().filter(|l| l.contains("已到账")).count();
    assert!(paid >= 7, "{seen}");
    assert!(withdrawals[8].contains("(其他): 待人工审核"), "{seen}");
    assert!(dir.path().join("demo-exchange.json").exists());
    let (status, body) = get(&addr, "/");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("衢州市住房公积金管理中心") && body.contains("住房公积金"),
        "{body}"
    );
    assert!(
        body.contains("缴存单位") && body.contains(">30<"),
        "30 registered units: {body}"
    );
    let (status, body) = get(&addr, "/api/v1/status");
    assert_eq!(status, 200);
    assert!(
        body.contains("\"centre_code\":\"330800000000000\""),
        "{body}"
    );
    assert!(body.contains("\"members\":1271"), "{body}");
    // The units in arrears are for staff who may view units' accounts: not without a
    // session (the page sends a browser to the sign-in), not for a station clerk.
    let (status, _) = get(&addr, "/api/v1/arrears");
    assert_eq!(status, 401);
    let (status, body) = get(&addr, "/arrears");
    assert_eq!(status, 303, "{body}");
    assert!(body.contains("location: /login"), "{body}");
    let v001 = staff_session(&addr, "v001");
    let (status, _) = get_as(&addr, "/api/v1/arrears", Some(&v001));
    assert_eq!(status, 403);
    let manager = staff_session(&addr, "manager");
    let (status, body) = get_as(&addr, "/api/v1/arrears", Some(&manager));
    assert_eq!(status, 200);
    assert!(
        body.contains("\"outstanding\":\"70057.52\"") && body.contains("\"held\":\"67774.99\""),
        "one unit unpaid, one half paid: {body}"
    );
    let (status, body) = get_as(&addr, "/arrears", Some(&manager));
    assert_eq!(status, 200);
    assert!(
        body.contains("欠缴单位") && body.contains("HJ000000000486"),
        "{body}"
    );
    // The ledger audit re-reads the whole journal: a report for staff, never for a
    // visitor who is not signed in, nor for a station clerk.
    let (status, body) = get(&addr, "/audit");
    assert_eq!(status, 303, "{body}");
    assert!(body.contains("location: /login"), "{body}");
    let (status, _) = get_as(&addr, "/audit", Some(&v001));
    assert_eq!(status, 403);
    let (status, body) = get_as(&addr, "/audit", Some(&manager));
    assert_eq!(status, 200);
    assert!(body.contains("全部通过"), "{body}");
    drop(server);
    // The simulated banks end with the demo (their stdin is its pipe).
    let gone = Instant::now() + Duration::from_secs(10);
    for sim in &sims {
        while TcpStream::connect(sim.as_str()).is_ok() {
            assert!(Instant::now() < gone, "bank-sim at {sim} outlived the demo");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    let (code, out, err) = run(&["audit", "--db", &db]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("OK"), "{out}");
    // The demo's administration (points, staff, clerks, phones) is in the audit log.
    assert!(out.contains("audit log OK"), "{out}");
    // The audit prints the chain head to keep outside the database…
    let anchor = out
        .lines()
        .find_map(|l| l.split("--anchor): ").nth(1))
        .unwrap_or_else(|| panic!("no chain head printed: {out}"))
        .trim()
        .to_owned();
    let (code, out, _) = run(&["audit", "--db", &db, "--anchor", &anchor]);
    assert_eq!(code, 0, "{out}");
    // …and a different recorded hash for that position means the chain was rewritten.
    let (seq, hash) = anchor.split_once(':').unwrap();
    let flipped = format!(
        "{seq}:{}{}",
        if hash.starts_with('0') { "1" } else { "0" },
        &hash[1..]
    );
    let (code, out, _) = run(&["audit", "--db", &db, "--anchor", &flipped]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("anchor"), "{out}");
    let (code, _, err) = run(&["audit", "--db", &db, "--anchor", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("SEQ:HASH"), "{err}");

    // The settlement commands see what the demo's banks did — views for the accountant
    // (reconciliation), refused to a counter clerk and audited either way.
    let (code, _, err) = run(&["settle", "suspense", "--db", &db]);
    assert_eq!(code, 2, "a view names its operator: {err}");
    assert!(err.contains("--operator"), "{err}");
    let (code, out, err) = run(&[
        "settle",
        "suspense",
        "--db",
        &db,
        "--operator",
        "staff:k001",
    ]);
    assert_ne!(code, 0, "a counter clerk does not reconcile: {out}");
    assert!(
        err.contains("forbidden") && err.contains("counter clerk"),
        "{err}"
    );
    assert!(!out.contains("衢州恒通商贸有限公司"), "{out}");
    let (code, out, err) = run(&[
        "settle",
        "suspense",
        "--db",
        &db,
        "--operator",
        "staff:ac01",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("BOC\t") && out.contains("8,800.00") && out.lines().count() == 1,
        "{out}"
    );
    let (code, out, err) = run(&["settle", "items", "--db", &db, "--operator", "staff:ac01"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no open reconciliation items"), "{out}");
    let (code, out, _) = run(&[
        "settle",
        "show",
        "--db",
        &db,
        "DEMO-PAY-0001",
        "DEMO-PAY-0003",
        "--operator",
        "staff:ac01",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("\texecuted\t") && out.contains("\tnot_executed\t"),
        "{out}"
    );

    // The collection commands on the demo centre.
    let (code, out, err) = run(&[
        "arrears",
        "--db",
        &db,
        "--remind",
        "--operator",
        "staff:manager",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("2 bill(s) in arrears"), "{out}");
    assert!(out.contains("2 reminder(s) sent today"), "{out}");
    let (_, out, _) = run(&[
        "arrears",
        "--db",
        &db,
        "--remind",
        "--operator",
        "staff:manager",
    ]);
    assert!(
        out.contains("0 reminder(s) sent today"),
        "once a day: {out}"
    );
    let (code, out, _) = run(&["settle-interest", "--db", &db, "--year", "2026"]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing new"), "settled once: {out}");
    let (code, out, _) = run(&["remit", "--db", &db, "--month", "2026-11"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("2026-11: 0 bill(s)"),
        "bills exist already: {out}"
    );
    let (code, out, _) = run(&[
        "statement",
        "--db",
        &db,
        "--account",
        "33080000000001",
        "--operator",
        "staff:k001",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("年终结息") && out.contains("汇缴"), "{out}");
    let template = dir.path().join("roster.xlsx");
    let (code, _, _) = run(&[
        "template",
        "--kind",
        "roster",
        "--out",
        template.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    // The template has no rows: refused, nothing written.
    let (code, _, err) = run(&[
        "import",
        "--db",
        &db,
        "--kind",
        "roster",
        "--unit",
        "330800000001",
        "--operator",
        "staff:k001",
        "--file",
        template.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("没有数据行"), "{err}");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "身份证号码,姓名,上年月平均工资\n330802199001010010,王一,abc\n",
    )
    .unwrap();
    let (code, _, err) = run(&[
        "import",
        "--db",
        &db,
        "--kind",
        "roster",
        "--unit",
        "330800000001",
        "--operator",
        "staff:k001",
        "--file",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("第2行"), "{err}");

    // Alter one byte of one journal row behind Anju's back.
    let path = dir.path().join("demo.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "DROP TRIGGER journal_legs_no_update;
         UPDATE journal_legs SET amount_fen = amount_fen + 1 WHERE seq = 7 AND leg_no = 3;",
    )
    .unwrap();
    drop(c);
    let (code, out, _) = run(&["audit", "--db", &db]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAILED") && out.contains("journal entry 7"),
        "{out}"
    );
}
