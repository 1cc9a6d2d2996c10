#![allow(clippy::unwrap_used)] // tests fail loudly by design
//! `anju bank-sim` as a separate process, driven through the production client
//! (`anju_bank::client::BankClient`, the settlement port's adapter): execution exactly
//! once, idempotency, closed serials, rejections, statements, signed notices to a
//! callback, refused signatures, crashes with a supervisor, hangs and peers.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anju_app::settlement::ports::{
    Bank, BankAnswer, Instruction, Notice, NoticeEvent, Unreachable,
};
use anju_bank::client::{BankClient, BankSettings};
use anju_bank::protocol::{
    ANSWER_METHOD, ErrorBody, H_APP, H_SIGNATURE, NonceGuard, NoticeRefused, authenticate, nonce,
    sign_request,
};
use anju_bank::sim::ledger::{CLOSED_SERIAL, CreditIn, NEVER_RECEIVED, SERIAL_REUSED};
use anju_bank::sim::process::BankSimProcess;
use anju_bank::sim::{DEV_SECRET, OPENAPI};
use anju_domain::codes::SettlementBusinessType;
use anju_domain::money::Fen;
use anju_domain::settlement::InstructionKind;
use jiff::Timestamp;
use jiff::civil::{Date, date};

const DAY: Date = date(2026, 11, 27);
const FUND: &str = "33050161000000000001";
const FUND_NAME: &str = "衢州市住房公积金管理中心";
const CARD: &str = "6217001234567890123";
const CARD_NAME: &str = "王伟";
const UNIT: &str = "1202020109000012345";
const UNIT_NAME: &str = "衢州宏远科技有限公司";
const FUND_OPENING: i64 = 100_000_000;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_anju"))
}

/// A simulator on a fresh file with the fund, a member's card and a unit's account.
struct Sim {
    p: BankSimProcess,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl Sim {
    fn start(extra: &[&str]) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        Sim::start_in(dir, extra)
    }

    fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Sim {
        let log = dir.path().join("bank-sim.log");
        let accounts = dir.path().join("accounts.json");
        std::fs::write(
            &accounts,
            serde_json::json!([
                {"account": FUND, "name": FUND_NAME, "balance_fen": FUND_OPENING},
                {"account": CARD, "name": CARD_NAME, "balance_fen": 0},
                {"account": UNIT, "name": UNIT_NAME, "balance_fen": 5_000_000},
            ])
            .to_string(),
        )
        .unwrap();
        let mut args = vec!["--date", "2026-11-27", "--accounts"];
        let accounts_arg = accounts.to_str().unwrap().to_owned();
        args.push(&accounts_arg);
        args.extend_from_slice(extra);
        let p = BankSimProcess::start_logged(exe(), &dir.path().join("bank.db"), &args, Some(&log))
            .unwrap_or_else(|e| {
                panic!("{e}\n{}", std::fs::read_to_string(&log).unwrap_or_default())
            });
        Sim { p, log, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn client(&self) -> BankClient {
        self.p.client().unwrap()
    }

    fn balance(&self, account: &str) -> i64 {
        self.client().balance(account).unwrap().fen()
    }
}

fn pay(serial: &str, amount: i64) -> Instruction {
    Instruction {
        serial: serial.into(),
        kind: InstructionKind::Payment,
        business_type: SettlementBusinessType::PartialWithdrawal,
        debit_account: FUND.into(),
        credit_account: CARD.into(),
        credit_name: CARD_NAME.into(),
        credit_bank: None,
        amount: Fen::new(amount),
        memo: format!("部分提取 {serial}"),
    }
}

fn executed(a: &Result<BankAnswer, Unreachable>) -> Option<(i64, String)> {
    match a {
        Ok(BankAnswer::Executed {
            amount, bank_ref, ..
        }) => Some((amount.fen(), bank_ref.clone())),
        _ => None,
    }
}

fn rejected(a: &Result<BankAnswer, Unreachable>) -> Option<String> {
    match a {
        Ok(BankAnswer::Rejected { reason }) => Some(reason.clone()),
        _ => None,
    }
}

/// Asks for a status until the bank answers (it may be restarting).
fn status_when_up(c: &BankClient, serial: &str) -> BankAnswer {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match c.status(serial) {
            Ok(a) => return a,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("no status for {serial}: {e}"),
        }
    }
}

/// What the callback received: when, and the guard's verdict.
type Received = Arc<Mutex<Vec<(Instant, Result<Notice, NoticeRefused>)>>>;

/// A tiny callback server: verifies every notice with the crate's guard and keeps it.
struct Callback {
    url: String,
    got: Received,
    fail_first: Arc<AtomicUsize>,
    _rt: tokio::runtime::Runtime,
}

#[derive(Clone)]
struct CallbackState {
    got: Received,
    guard: Arc<NonceGuard>,
    fail_first: Arc<AtomicUsize>,
    secret: Vec<u8>,
}

async fn on_notice(
    axum::extract::State(s): axum::extract::State<CallbackState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    if s.fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
    }
    let secret = s.secret.clone();
    let checked = s.guard.check_notice(
        &headers,
        &body,
        |bank| ["105", "102"].contains(&bank).then(|| secret.clone()),
        Timestamp::now(),
    );
    let status = match &checked {
        Ok(_) => axum::http::StatusCode::OK,
        Err(e) => axum::http::StatusCode::from_u16(e.http_status()).unwrap(),
    };
    s.got.lock().unwrap().push((Instant::now(), checked));
    status
}

impl Callback {
    fn start(secret: &str, fail_first: usize) -> Callback {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let fail = Arc::new(AtomicUsize::new(fail_first));
        let state = CallbackState {
            got: Arc::clone(&got),
            guard: Arc::new(NonceGuard::new()),
            fail_first: Arc::clone(&fail),
            secret: secret.as_bytes().to_vec(),
        };
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}/bank/notices", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/bank/notices", axum::routing::post(on_notice))
            .with_state(state);
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Callback {
            url,
            got,
            fail_first: fail,
            _rt: rt,
        }
    }

    /// The verified notices, waiting until there are at least `n` (at most 20 s).
    fn wait_for(&self, n: usize) -> Vec<Notice> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ok: Vec<Notice> = self
                .got
                .lock()
                .unwrap()
                .iter()
                .filter_map(|(_, r)| r.as_ref().ok().cloned())
                .collect();
            if ok.len() >= n || Instant::now() > deadline {
                return ok;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn refused(&self) -> usize {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, r)| r.is_err())
            .count()
    }
}

#[test]
fn payments_execute_once_and_statements_add_up() {
    let sim = Sim::start(&[]);
    let c = sim.client();
    assert_eq!(c.code(), "105");
    assert_eq!(sim.balance(FUND), FUND_OPENING);

    // A single payment and a batch.
    let one = c.submit(&[pay("ZF-1", 12_345)]);
    let (amount, ref1) = executed(&one[0]).unwrap_or_else(|| panic!("{one:?}"));
    assert_eq!(amount, 12_345);
    let batch: Vec<Instruction> = (2..=6)
        .map(|i| pay(&format!("ZF-{i}"), 1_000 * i))
        .collect();
    let answers = c.submit(&batch);
    assert!(answers.iter().all(|a| executed(a).is_some()), "{answers:?}");
    let paid = 12_345 + (2..=6).map(|i| 1_000 * i).sum::<i64>();
    assert_eq!(sim.balance(FUND), FUND_OPENING - paid);
    assert_eq!(sim.balance(CARD), paid);

    // The same serial with the same content: the stored result, nothing moves.
    let again = c.submit(&[pay("ZF-1", 12_345)]);
    assert_eq!(executed(&again[0]), Some((12_345, ref1.clone())));
    // The same serial with different content: rejected, the original untouched.
    let reused = c.submit(&[pay("ZF-1", 99_999)]);
    assert_eq!(rejected(&reused[0]).as_deref(), Some(SERIAL_REUSED));
    assert_eq!(
        executed(&Ok(c.status("ZF-1").unwrap())),
        Some((12_345, ref1))
    );
    assert_eq!(sim.balance(FUND), FUND_OPENING - paid);

    // A collection from the unit into the fund.
    let collect = Instruction {
        serial: "DS-1".into(),
        kind: InstructionKind::Collection,
        business_type: SettlementBusinessType::Remittance,
        debit_account: UNIT.into(),
        credit_account: FUND.into(),
        credit_name: FUND_NAME.into(),
        credit_bank: None,
        amount: Fen::new(300_000),
        memo: "202611汇缴".into(),
    };
    assert!(executed(&c.submit(&[collect])[0]).is_some());

    // The statement: every movement once, in booking order, adding up.
    let s = c.statement(FUND, DAY).unwrap();
    assert_eq!(s.opening.fen(), FUND_OPENING);
    assert_eq!(s.lines.len(), 7);
    assert_eq!(s.lines[0].serial.as_deref(), Some("ZF-1"));
    assert_eq!(s.lines[0].amount.fen(), -12_345);
    assert_eq!(s.lines[0].counterparty_account, CARD);
    assert_eq!(s.lines[6].amount.fen(), 300_000);
    assert_eq!(s.lines[6].counterparty_name, UNIT_NAME);
    let sum: i64 = s.lines.iter().map(|l| l.amount.fen()).sum();
    assert_eq!(s.opening.fen() + sum, s.closing.fen());
    assert_eq!(s.closing.fen(), sim.balance(FUND));
    let card = c.statement(CARD, DAY).unwrap();
    assert_eq!(card.opening.fen(), 0);
    assert_eq!(card.closing.fen(), paid);
    assert!(card.lines.iter().all(|l| l.amount.fen() > 0));
    let next_day = c.statement(FUND, date(2026, 11, 28)).unwrap();
    assert!(next_day.lines.is_empty());
    assert_eq!(next_day.opening, s.closing);

    // Unknown accounts are not reachable facts.
    let e = c.balance("NOPE").unwrap_err();
    assert!(e.reason.contains("404"), "{e}");
    assert!(c.statement("NOPE", DAY).is_err());

    let stats = sim.p.admin().stats().unwrap();
    assert_eq!(stats.ledger.executed, 7);
    assert_eq!(stats.ledger.rejected, 0);
    assert_eq!(stats.ledger.notices_pending, 7, "no callback: they wait");
}

#[test]
fn unknown_serials_are_closed_and_rejections_name_the_reason() {
    let sim = Sim::start(&[]);
    let c = sim.client();
    // A status query for a serial never received closes it…
    match c.status("ZF-LOST").unwrap() {
        BankAnswer::Rejected { reason } => assert_eq!(reason, NEVER_RECEIVED),
        other => panic!("{other:?}"),
    }
    // …so the instruction arriving later is rejected, never executed.
    let late = c.submit(&[pay("ZF-LOST", 500)]);
    assert_eq!(rejected(&late[0]).as_deref(), Some(CLOSED_SERIAL));
    assert_eq!(sim.balance(CARD), 0);
    assert!(matches!(
        c.status("ZF-LOST").unwrap(),
        BankAnswer::Rejected { .. }
    ));

    let mut from_nowhere = pay("R-1", 100);
    from_nowhere.debit_account = "NOPE".into();
    let mut to_nowhere = pay("R-2", 100);
    to_nowhere.credit_account = "NOCARD".into();
    let mut wrong_name = pay("R-3", 100);
    wrong_name.credit_name = "王伟伟".into();
    let too_much = pay("R-4", FUND_OPENING + 1);
    let answers = c.submit(&[
        from_nowhere,
        to_nowhere,
        wrong_name,
        too_much,
        pay("R-5", 100),
    ]);
    let reasons: Vec<String> = answers
        .iter()
        .take(4)
        .map(|a| rejected(a).unwrap())
        .collect();
    assert!(reasons[0].contains("账户不存在"), "{reasons:?}");
    assert!(reasons[1].contains("账户不存在"), "{reasons:?}");
    assert!(reasons[2].contains("户名不符"), "{reasons:?}");
    assert!(reasons[3].contains("余额不足"), "{reasons:?}");
    assert!(executed(&answers[4]).is_some(), "{answers:?}");
    assert_eq!(sim.balance(FUND), FUND_OPENING - 100);
    // A rejection is definite: the status says the same.
    assert!(
        matches!(c.status("R-3").unwrap(), BankAnswer::Rejected { reason } if reason.contains("户名不符"))
    );

    // Money for another bank leaves this one.
    let mut other_bank = pay("X-1", 700);
    other_bank.credit_account = "6222000011112222".into();
    other_bank.credit_name = "李芳".into();
    other_bank.credit_bank = Some("102".into());
    assert!(executed(&c.submit(&[other_bank])[0]).is_some());
    assert_eq!(sim.balance(FUND), FUND_OPENING - 800);
}

/// One raw HTTP/1.1 exchange: status, lower-cased headers, body.
fn raw(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, axum::http::HeaderMap, Vec<u8>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let text = String::from_utf8_lossy(&out[..split]).into_owned();
    let mut lines = text.split("\r\n");
    let status: u16 = lines.next().unwrap()[9..12].parse().unwrap();
    let mut map = axum::http::HeaderMap::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            map.append(
                axum::http::HeaderName::from_bytes(k.trim().to_ascii_lowercase().as_bytes())
                    .unwrap(),
                axum::http::HeaderValue::from_str(v.trim()).unwrap(),
            );
        }
    }
    let mut body = out[split + 4..].to_vec();
    if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut plain = Vec::new();
        let mut b = &body[..];
        while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
            let size =
                usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            plain.extend_from_slice(&b[eol + 2..eol + 2 + size]);
            b = &b[eol + 2 + size + 2..];
        }
        body = plain;
    }
    (status, map, body)
}

#[test]
fn replays_stale_timestamps_and_bad_requests_over_raw_http() {
    let sim = Sim::start(&[]);
    let addr = sim.p.addr();
    let signed = |method: &str,
                  target: &str,
                  ts: i64,
                  n: &str,
                  body: &[u8]|
     -> Vec<(&'static str, String)> {
        sign_request(DEV_SECRET.as_bytes(), "anju", method, target, ts, n, body).to_vec()
    };
    let target = format!("/v1/accounts/{FUND}/balance");
    let now = Timestamp::now().as_second();
    let n = nonce();
    let (status, headers, body) = raw(
        addr,
        "GET",
        &target,
        &signed("GET", &target, now, &n, b""),
        b"",
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    // The answer is signed by the bank over our nonce.
    let signer = authenticate(
        &headers,
        ANSWER_METHOD,
        &target,
        &body,
        |app| (app == "105").then(|| DEV_SECRET.as_bytes().to_vec()),
        Timestamp::now(),
    )
    .unwrap();
    assert_eq!(signer.nonce, n);
    assert!(headers.contains_key(H_SIGNATURE) && headers.contains_key(H_APP));
    // The same request again is a replay.
    let (status, _, body) = raw(
        addr,
        "GET",
        &target,
        &signed("GET", &target, now, &n, b""),
        b"",
    );
    assert_eq!(status, 401);
    let e: ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(e.error, "unauthorized");
    assert!(e.message.contains("replay"), "{}", e.message);
    // Stale, missing headers, a query string changed after signing.
    let (status, _, body) = raw(
        addr,
        "GET",
        &target,
        &signed("GET", &target, now - 1_000, &nonce(), b""),
        b"",
    );
    assert_eq!(status, 401);
    assert!(
        serde_json::from_slice::<ErrorBody>(&body)
            .unwrap()
            .message
            .contains("timestamp")
    );
    let (status, _, body) = raw(addr, "GET", &target, &[], b"");
    assert_eq!(status, 401);
    assert!(
        serde_json::from_slice::<ErrorBody>(&body)
            .unwrap()
            .message
            .contains("missing header")
    );
    let day = format!("/v1/accounts/{FUND}/statement?date=2026-11-27");
    let other = format!("/v1/accounts/{FUND}/statement?date=2026-11-28");
    let (status, _, _) = raw(
        addr,
        "GET",
        &other,
        &signed("GET", &day, now, &nonce(), b""),
        b"",
    );
    assert_eq!(status, 401, "the query string is signed");
    let (status, _, _) = raw(
        addr,
        "GET",
        &day,
        &signed("GET", &day, now, &nonce(), b""),
        b"",
    );
    assert_eq!(status, 200);
    // Bad requests name the field; unknown paths are 404.
    let bad = br#"{"instructions":[{"serial":"A-1","kind":"gift","business_type":"02","debit_account":"1","credit_account":"2","credit_name":"x","amount_fen":1}]}"#;
    let (status, _, body) = raw(
        addr,
        "POST",
        "/v1/instructions",
        &signed("POST", "/v1/instructions", now, &nonce(), bad),
        bad,
    );
    assert_eq!(status, 400);
    let e: ErrorBody = serde_json::from_slice(&body).unwrap();
    assert!(
        e.message.contains("instructions[0]") && e.message.contains("gift"),
        "{}",
        e.message
    );
    let no_date = format!("/v1/accounts/{FUND}/statement");
    let (status, _, body) = raw(
        addr,
        "GET",
        &no_date,
        &signed("GET", &no_date, now, &nonce(), b""),
        b"",
    );
    assert_eq!(status, 400);
    assert!(
        serde_json::from_slice::<ErrorBody>(&body)
            .unwrap()
            .message
            .contains("`date`")
    );
    let (status, _, body) = raw(addr, "GET", "/v2/nothing", &[], b"");
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_slice::<ErrorBody>(&body).unwrap().error,
        "not_found"
    );
    // The admin API is unsigned on loopback.
    let (status, _, body) = raw(addr, "GET", "/sim/accounts", &[], b"");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains(FUND_NAME));
    let (status, _, _) = raw(
        addr,
        "POST",
        "/sim/accounts",
        &[],
        br#"{"account":"33050161000000000001","name":"someone else"}"#,
    );
    assert_eq!(status, 409);
}

#[test]
fn reject_rate_rejects_with_a_simulated_reason() {
    let sim = Sim::start(&["--reject-rate", "100"]);
    let c = sim.client();
    let answers = c.submit(&[pay("S-1", 1), pay("S-2", 2)]);
    for a in &answers {
        assert!(rejected(a).unwrap().contains("simulated"), "{a:?}");
    }
    assert_eq!(sim.balance(FUND), FUND_OPENING);
}

#[test]
fn wrong_secrets_and_wrong_banks_are_refused() {
    let sim = Sim::start(&[]);
    let wrong = BankClient::new(BankSettings::new(
        "105",
        sim.p.url(),
        "anju",
        "not-the-secret",
    ))
    .unwrap();
    let e = wrong.balance(FUND).unwrap_err();
    assert!(e.reason.contains("401"), "{e}");
    let answers = wrong.submit(&[pay("W-1", 1)]);
    let e = answers[0].clone().unwrap_err();
    assert!(
        e.reason.contains("401") && e.reason.contains("signature"),
        "{e}"
    );
    let stranger =
        BankClient::new(BankSettings::new("105", sim.p.url(), "someone", DEV_SECRET)).unwrap();
    assert!(
        stranger
            .balance(FUND)
            .unwrap_err()
            .reason
            .contains("unknown app")
    );
    // A client that expects another bank does not believe this one's answers.
    let other = BankClient::new(BankSettings::new("102", sim.p.url(), "anju", DEV_SECRET)).unwrap();
    let e = other.balance(FUND).unwrap_err();
    assert!(e.reason.contains("not trusted"), "{e}");
    assert_eq!(sim.balance(FUND), FUND_OPENING, "nothing executed");
    assert_eq!(sim.p.admin().stats().unwrap().refused_requests, 3);
    std::thread::sleep(Duration::from_millis(100));
    let log = sim.log();
    assert!(log.contains("request refused"), "{log}");
    assert!(
        !log.contains(DEV_SECRET) && !log.contains("not-the-secret"),
        "{log}"
    );
}

#[test]
fn notices_are_signed_retried_and_duplicated_with_the_same_id() {
    let cb = Callback::start(DEV_SECRET, 2);
    let sim = Sim::start(&[
        "--callback",
        &cb.url,
        "--duplicate-notice-rate",
        "100",
        "--reorder-notices-ms",
        "200",
    ]);
    let c = sim.client();
    let answers = c.submit(&[pay("N-1", 100), pay("N-2", 200), pay("N-3", 300)]);
    assert!(answers.iter().all(|a| executed(a).is_some()));
    let mut too_much = pay("N-4", FUND_OPENING);
    too_much.memo = "too much".into();
    assert!(rejected(&c.submit(&[too_much])[0]).is_some());
    // A unit pays by bank transfer.
    let booked = sim
        .p
        .admin()
        .credit(&CreditIn {
            account: FUND.into(),
            amount_fen: 3_150_000,
            counterparty_account: "9558800000000001".into(),
            counterparty_name: "衢州某某有限公司".into(),
            memo: "202611汇缴".into(),
            credit_id: None,
        })
        .unwrap();
    // 5 notices, each delivered twice; the first 2 deliveries failed and were retried.
    let notices = cb.wait_for(10);
    assert_eq!(notices.len(), 10, "{notices:?}\n{}", sim.log());
    assert_eq!(cb.refused(), 0);
    let mut by_id: BTreeMap<String, Vec<Notice>> = BTreeMap::new();
    for n in notices {
        by_id.entry(n.notice_id.clone()).or_default().push(n);
    }
    assert_eq!(by_id.len(), 5);
    for (id, copies) in &by_id {
        assert_eq!(copies.len(), 2, "{id}");
        assert_eq!(copies[0], copies[1], "a duplicate says the same");
        assert_eq!(copies[0].bank, "105");
    }
    let mut results: HashMap<String, BankAnswer> = HashMap::new();
    let mut credits = Vec::new();
    for copies in by_id.values() {
        match &copies[0].event {
            NoticeEvent::Result { serial, answer } => {
                results.insert(serial.clone(), answer.clone());
            }
            NoticeEvent::Credit { account, line } => credits.push((account.clone(), line.clone())),
        }
    }
    for (serial, amount) in [("N-1", 100), ("N-2", 200), ("N-3", 300)] {
        assert!(
            matches!(&results[serial], BankAnswer::Executed { amount: a, .. } if a.fen() == amount),
            "{results:?}"
        );
    }
    assert!(
        matches!(&results["N-4"], BankAnswer::Rejected { reason } if reason.contains("余额不足"))
    );
    assert_eq!(credits.len(), 1);
    assert_eq!(credits[0].0, FUND);
    assert_eq!(credits[0].1.bank_ref, booked.bank_ref);
    assert_eq!(credits[0].1.amount.fen(), 3_150_000);
    assert_eq!(credits[0].1.serial, None);
    // The credit is on the statement too, without a serial.
    let s = c.statement(FUND, DAY).unwrap();
    assert!(
        s.lines
            .iter()
            .any(|l| l.bank_ref == booked.bank_ref && l.serial.is_none())
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let stats = loop {
        let st = sim.p.admin().stats().unwrap();
        if st.ledger.notices_pending == 0 || Instant::now() > deadline {
            break st;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(stats.ledger.notices_delivered, 5);
    assert_eq!(stats.ledger.duplicate_notices_sent, 5);
    assert_eq!(stats.ledger.notices_acknowledged, 10);
    assert_eq!(stats.ledger.notice_attempts, 12, "two failed first");
    assert_eq!(cb.fail_first.load(Ordering::SeqCst), 0);
}

#[test]
fn notices_can_come_before_the_answer() {
    let cb = Callback::start(DEV_SECRET, 0);
    let sim = Sim::start(&[
        "--callback",
        &cb.url,
        "--notice-before-response-rate",
        "100",
    ]);
    let c = sim.client();
    for i in 0..3 {
        let serial = format!("B-{i}");
        let answers = c.submit(&[pay(&serial, 10)]);
        let answered = Instant::now();
        assert!(executed(&answers[0]).is_some());
        let got = cb.got.lock().unwrap();
        let (at, notice) = got
            .iter()
            .find(|(_, n)| {
                matches!(n, Ok(Notice { event: NoticeEvent::Result { serial: s, .. }, .. }) if *s == serial)
            })
            .unwrap_or_else(|| panic!("the notice of {serial} had not arrived"));
        assert!(*at <= answered);
        assert!(notice.is_ok());
    }
    assert_eq!(sim.p.admin().stats().unwrap().notices_before_response, 3);
}

#[test]
fn a_notice_with_a_wrong_signature_is_refused_by_the_guard() {
    // The simulator signs with its own secret; a callback expecting another refuses.
    let cb = Callback::start("a-different-secret", 0);
    let sim = Sim::start(&["--callback", &cb.url]);
    assert!(executed(&sim.client().submit(&[pay("G-1", 1)])[0]).is_some());
    let deadline = Instant::now() + Duration::from_secs(10);
    while cb.refused() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = cb.got.lock().unwrap();
    let e = got[0].1.as_ref().unwrap_err();
    assert_eq!(e.http_status(), 401);
    assert_eq!(e.bank.as_deref(), Some("105"));
    assert!(e.reason.contains("bad signature"), "{e}");
    drop(got);
    // It stays in the outbox, to be retried.
    let stats = sim.p.admin().stats().unwrap();
    assert_eq!(stats.ledger.notices_delivered, 0);
    assert_eq!(stats.ledger.notices_pending, 1);
}

/// Plays the centre: pays every member once whatever happens, issuing a payment again
/// under a new serial only after the bank said the earlier serial was not executed.
fn pay_everyone_once(
    c: &BankClient,
    amounts: &[i64],
    batch: usize,
) -> (BTreeMap<usize, String>, usize) {
    let mut done: BTreeMap<usize, String> = BTreeMap::new();
    let mut attempt = vec![0u32; amounts.len()];
    let mut unreachable = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while done.len() < amounts.len() {
        assert!(Instant::now() < deadline, "not everyone paid: {done:?}");
        let todo: Vec<usize> = (0..amounts.len())
            .filter(|i| !done.contains_key(i))
            .collect();
        for chunk in todo.chunks(batch) {
            let ins: Vec<Instruction> = chunk
                .iter()
                .map(|&i| pay(&format!("P{i}-{}", attempt[i]), amounts[i]))
                .collect();
            let answers = c.submit(&ins);
            for ((&i, one), answer) in chunk.iter().zip(&ins).zip(answers) {
                let answer = match answer {
                    Ok(a) => a,
                    Err(_) => {
                        unreachable += 1;
                        // Outcome unknown: ask (the bank may be restarting).
                        status_when_up(c, &one.serial)
                    }
                };
                match answer {
                    BankAnswer::Executed { .. } => {
                        done.insert(i, one.serial.clone());
                    }
                    BankAnswer::Rejected { reason } => {
                        assert!(
                            reason == NEVER_RECEIVED || reason == CLOSED_SERIAL,
                            "{reason}"
                        );
                        attempt[i] += 1;
                    }
                    BankAnswer::Processing => {}
                }
            }
        }
    }
    (done, unreachable)
}

#[test]
fn crashes_with_a_supervisor_never_lose_or_double_a_payment() {
    let sim = Sim::start(&["--crash-every", "4"]);
    let pid = sim.p.pid();
    let mut sim = sim;
    let c = sim.client();
    let amounts: Vec<i64> = (1..=30).map(|i| i * 100).collect();
    let (done, unreachable) = pay_everyone_once(&c, &amounts, 3);
    assert!(unreachable > 0, "the simulator never crashed");
    let total: i64 = amounts.iter().sum();
    assert_eq!(sim.balance(CARD), total);
    assert_eq!(sim.balance(FUND), FUND_OPENING - total);
    // Exactly one executed serial per member, and the statement has exactly those.
    let s = c.statement(FUND, DAY).unwrap();
    let mut serials: Vec<String> = s.lines.iter().filter_map(|l| l.serial.clone()).collect();
    serials.sort();
    let mut want: Vec<String> = done.values().cloned().collect();
    want.sort();
    assert_eq!(serials, want);
    assert_eq!(
        s.opening.fen() + s.lines.iter().map(|l| l.amount.fen()).sum::<i64>(),
        s.closing.fen()
    );
    for serial in done.values() {
        assert!(matches!(
            c.status(serial).unwrap(),
            BankAnswer::Executed { .. }
        ));
    }
    let stats = sim.p.admin().stats().unwrap();
    assert!(stats.ledger.crashes_survived >= 5, "{stats:?}");
    assert_eq!(stats.ledger.executed, 30);
    assert_eq!(sim.p.pid(), pid, "the supervisor stayed");
    assert!(sim.log().contains("restarting it"));

    // Killed from outside and started again on the same file: everything is still there.
    sim.p.restart().unwrap();
    let c = sim.client();
    assert_eq!(sim.balance(CARD), total);
    for serial in done.values() {
        assert!(matches!(
            c.status(serial).unwrap(),
            BankAnswer::Executed { .. }
        ));
    }
    let again = c.submit(&[pay(&done[&0], amounts[0])]);
    assert!(executed(&again[0]).is_some(), "idempotent after a restart");
    assert_eq!(sim.balance(CARD), total);
    let _ = &sim.dir;
}

#[test]
fn timeouts_make_the_outcome_unknown_until_a_status_query_settles_it() {
    let sim = Sim::start(&["--timeout-rate", "100", "--hang-ms", "1500", "--seed", "7"]);
    let mut settings = sim.p.settings();
    settings.request_timeout = Duration::from_millis(400);
    let c = BankClient::new(settings).unwrap();
    let mut first: Vec<(String, BankAnswer)> = Vec::new();
    for i in 0..6 {
        let serial = format!("T-{i}");
        let started = Instant::now();
        let answers = c.submit(&[pay(&serial, 1_000)]);
        let e = answers[0].clone().unwrap_err();
        assert!(e.reason.contains("timed out"), "{e}");
        assert!(
            started.elapsed() < Duration::from_millis(1_400),
            "not re-sent"
        );
        first.push((serial.clone(), c.status(&serial).unwrap()));
    }
    // Some hung before being received (the query closed them), some after executing.
    let closed = first
        .iter()
        .filter(|(_, a)| matches!(a, BankAnswer::Rejected { reason } if reason == NEVER_RECEIVED))
        .count();
    let done = first
        .iter()
        .filter(|(_, a)| matches!(a, BankAnswer::Executed { .. }))
        .count();
    assert_eq!(closed + done, 6, "{first:?}");
    assert!(closed > 0 && done > 0, "seed 7 hangs both ways: {first:?}");
    // Once the hangs are over, every definite answer still holds: the closed ones never
    // executed, the executed ones once.
    std::thread::sleep(Duration::from_millis(2_000));
    for (serial, answer) in &first {
        let now = c.status(serial).unwrap();
        match answer {
            BankAnswer::Executed { .. } => assert_eq!(&now, answer),
            _ => assert!(
                matches!(now, BankAnswer::Rejected { .. }),
                "{serial}: {now:?}"
            ),
        }
    }
    let paid = i64::try_from(done).unwrap() * 1_000;
    assert_eq!(sim.balance(CARD), paid);
    let stats = sim.p.admin().stats().unwrap();
    assert_eq!(
        usize::try_from(stats.hangs_before + stats.hangs_after).unwrap(),
        6
    );
    assert_eq!(usize::try_from(stats.hangs_before).unwrap(), closed);
}

#[test]
fn transfers_to_a_peer_bank_arrive_there_with_a_credit_notice() {
    let cb = Callback::start(DEV_SECRET, 0);
    let peer = Sim::start(&["--bank", "102", "--callback", &cb.url]);
    peer.p
        .admin()
        .open_account("6222000011112222", "李芳", 0)
        .unwrap();
    let peer_arg = format!("102={}", peer.p.url());
    let sim = Sim::start(&["--peer", &peer_arg]);
    let mut out = pay("TR-1", 4_321);
    out.kind = InstructionKind::Payment;
    out.credit_account = "6222000011112222".into();
    out.credit_name = "李芳".into();
    out.credit_bank = Some("102".into());
    assert!(executed(&sim.client().submit(&[out])[0]).is_some());
    assert_eq!(sim.balance(FUND), FUND_OPENING - 4_321);
    let notices = cb.wait_for(1);
    assert_eq!(notices.len(), 1, "{}", peer.log());
    assert_eq!(notices[0].bank, "102");
    match &notices[0].event {
        NoticeEvent::Credit { account, line } => {
            assert_eq!(account, "6222000011112222");
            assert_eq!(line.amount.fen(), 4_321);
            assert_eq!(line.counterparty_account, FUND);
            assert_eq!(line.counterparty_name, FUND_NAME);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(peer.balance("6222000011112222"), 4_321);
}

#[test]
fn a_day_of_many_lines_is_one_statement() {
    let sim = Sim::start(&[]);
    let c = sim.client();
    let n = 5_000;
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let ins: Vec<Instruction> = chunk.iter().map(|i| pay(&format!("M-{i}"), 1)).collect();
        let answers = c.submit(&ins);
        assert!(answers.iter().all(|a| executed(a).is_some()));
    }
    let started = Instant::now();
    let s = c.statement(FUND, DAY).unwrap();
    assert_eq!(s.lines.len(), n);
    assert_eq!(s.closing.fen(), FUND_OPENING - i64::try_from(n).unwrap());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn flags_are_checked_and_openapi_prints() {
    let out = Command::new(exe())
        .args(["bank-sim", "--db", "x.db", "--reject-rate", "101"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 to 100"));

    let out = Command::new(exe())
        .args(["bank-sim", "--db", "x.db", "--peer", "102"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CODE=URL"));

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(exe())
        .args(["bank-sim", "--listen", "0.0.0.0:0", "--db"])
        .arg(dir.path().join("b.db"))
        .env_remove("ANJU_BANK_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("loopback only"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = Command::new(exe())
        .args(["bank-sim", "--openapi"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, OPENAPI.as_bytes());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for p in anju_bank::sim::server::PATHS {
        assert!(doc["paths"].get(p).is_some(), "{p}");
    }
}

/// A busy day: 20 full batches of 1,000 instructions, and the day's statement with every
/// line, adding up. (500,000 lines are timed by `anju bench reconcile`, not here.)
#[test]
fn a_busy_day_of_full_batches_and_its_statement() {
    let sim = Sim::start(&[]);
    let c = sim.client();
    let n = 20_000;
    let started = Instant::now();
    let all: Vec<usize> = (0..n).collect();
    for chunk in all.chunks(1000) {
        let ins: Vec<Instruction> = chunk.iter().map(|i| pay(&format!("L-{i}"), 1)).collect();
        let answers = c.submit(&ins);
        assert!(answers.iter().all(|a| executed(a).is_some()));
    }
    eprintln!("{n} executed in {:?}", started.elapsed());
    let started = Instant::now();
    let mut settings = sim.p.settings();
    settings.statement_timeout = Duration::from_secs(300);
    let s = BankClient::new(settings)
        .unwrap()
        .statement(FUND, DAY)
        .unwrap();
    eprintln!(
        "statement of {} lines in {:?}",
        s.lines.len(),
        started.elapsed()
    );
    assert_eq!(s.lines.len(), n);
    assert_eq!(s.closing.fen(), FUND_OPENING - i64::try_from(n).unwrap());
}
