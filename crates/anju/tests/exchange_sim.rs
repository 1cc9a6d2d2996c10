//! `anju exchange-sim` as a separate process: signed questions over real HTTP, the 401 /
//! 400 / 404 answers, and every kind of injected fault — for single questions and for
//! batches (per item and per request).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anju_app::sharing::ports::{Ask, Tax};
use anju_domain::codes::{MaritalStatus, Sex};
use anju_domain::money::Fen;
use anju_domain::sharing::{
    Answer, Identity, Invoice, InvoiceCategory, Marriage, Purpose, Query, YearIncome,
};
use anju_exchange::client::{ExchangeClient, ExchangeSettings};
use anju_exchange::protocol::{
    BATCH_PATH, ErrorBody, H_APP, H_NONCE, H_SIGNATURE, H_TIMESTAMP, MAX_BATCH_ITEMS,
    QueryResponse, canonical, nonce, sign,
};
use anju_exchange::sim::dataset::{Dataset, PersonRecord};
use jiff::Timestamp;
use jiff::civil::date;

const APP: &str = "test-app";
const SECRET: &str = "test-secret-do-not-use";
/// 王伟, male, married to 李芳.
const WANG: &str = "330802199001011232";
/// 李芳, female.
const LI: &str = "330802199103151244";
/// Nobody the departments know.
const NOBODY: &str = "330803198811205671";

fn dataset() -> Dataset {
    let person = |id: &str, name: &str, sex, birth, spouse: (&str, &str)| PersonRecord {
        identity: Some(Identity {
            id_number: id.into(),
            name: name.into(),
            sex,
            birth_date: birth,
            alive: true,
        }),
        marriage: Some(Marriage {
            status: MaritalStatus::Married,
            spouse_id: Some(spouse.0.into()),
            spouse_name: Some(spouse.1.into()),
            since: Some(date(2016, 5, 20)),
        }),
        income: vec![
            YearIncome {
                year: 2024,
                wage_income: Fen::new(9_000_000),
                tax_paid: Fen::new(30_000),
                employer_name: "衢州宏远科技有限公司".into(),
            },
            YearIncome {
                year: 2025,
                wage_income: Fen::new(9_600_000),
                tax_paid: Fen::new(44_640),
                employer_name: "衢州宏远科技有限公司".into(),
            },
        ],
        ..PersonRecord::default()
    };
    let mut d = Dataset::empty(Timestamp::UNIX_EPOCH);
    d.people.insert(
        WANG.into(),
        person(WANG, "王伟", Sex::Male, date(1990, 1, 1), (LI, "李芳")),
    );
    d.people.insert(
        LI.into(),
        person(LI, "李芳", Sex::Female, date(1991, 3, 15), (WANG, "王伟")),
    );
    if let Some(wang) = d.people.get_mut(WANG) {
        wang.invoices = vec![Invoice {
            invoice_no: "26332000000000001234".into(),
            category: InvoiceCategory::Renovation,
            issued_on: date(2026, 5, 8),
            amount: Fen::new(8_650_000),
            buyer_id: WANG.into(),
            seller_name: "衢州家和装饰工程有限公司".into(),
            address: "浙江省衢州市柯城区荷花新村3幢1单元201室".into(),
            region_code: "330802".into(),
            voided: false,
        }];
    }
    d
}

/// A running simulator, killed on drop.
struct Sim {
    child: Child,
    addr: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sim {
    fn start(extra: &[&str]) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("dataset.json");
        dataset().save(&data).unwrap();
        let log = dir.path().join("stderr.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_anju"))
            .arg("exchange-sim")
            .arg("--dataset")
            .arg(&data)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--app-id",
                APP,
                "--secret",
                SECRET,
            ])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(addr) = line
            .trim()
            .strip_prefix("exchange-sim listening on http://")
        else {
            let _ = child.kill();
            panic!(
                "unexpected first line {line:?}; stderr: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Sim {
            addr: addr.to_owned(),
            child,
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a raw HTTP/1.1 request; returns the status and the body.
    fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
        timeout: Duration,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let mut s = TcpStream::connect(&self.addr)?;
        s.set_read_timeout(Some(timeout))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete HTTP answer");
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let status: u16 = head[9..12].parse().unwrap();
        let mut body = raw[split + 4..].to_vec();
        if head.contains("transfer-encoding: chunked") {
            body = dechunk(&body);
        }
        Ok((status, body))
    }

    /// A signed POST of `body` to `path`, signed with `secret` at `ts` with `nonce`.
    fn post_signed(
        &self,
        path: &str,
        body: &[u8],
        secret: &str,
        ts: i64,
        nonce: &str,
    ) -> (u16, Vec<u8>) {
        let sig = sign(secret.as_bytes(), &canonical("POST", path, ts, nonce, body));
        let headers = vec![
            (H_APP.to_owned(), APP.to_owned()),
            (H_TIMESTAMP.to_owned(), ts.to_string()),
            (H_NONCE.to_owned(), nonce.to_owned()),
            (H_SIGNATURE.to_owned(), sig),
        ];
        self.http("POST", path, &headers, body, Duration::from_secs(10))
            .unwrap()
    }

    /// A properly signed question.
    fn ask(&self, query: Query, subject: &str, year: Option<i16>) -> (u16, Vec<u8>) {
        self.post_signed(&query.path(), &body(subject, year), SECRET, now(), &nonce())
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
}

fn now() -> i64 {
    Timestamp::now().as_second()
}

fn body(subject: &str, year: Option<i16>) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "request_id": "req-1",
        "subject_id": subject,
        "year": year,
        "purpose": "withdrawal",
        "case_no": "TQ-20261127-000001",
        "requester": "staff:0001",
    }))
    .unwrap()
}

fn response(body: &[u8]) -> QueryResponse {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

fn error_body(body: &[u8]) -> ErrorBody {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

#[test]
fn answers_known_and_unknown_people() {
    let sim = Sim::start(&[]);
    let (status, b) = sim.ask(Query::Marriage, WANG, None);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&b));
    let r = response(&b);
    assert_eq!(r.request_id, "req-1");
    assert!(r.found);
    match r.answer {
        Answer::Marriage(m) => {
            assert_eq!(m.status, MaritalStatus::Married);
            assert_eq!(m.spouse_id.as_deref(), Some(LI));
            assert_eq!(m.spouse_name.as_deref(), Some("李芳"));
        }
        other => panic!("{other:?}"),
    }
    let (status, b) = sim.ask(Query::Income, LI, Some(2025));
    assert_eq!(status, 200);
    match response(&b).answer {
        Answer::Income(v) => {
            assert_eq!(v.len(), 1);
            assert_eq!(v[0].wage_income, Fen::new(9_600_000));
        }
        other => panic!("{other:?}"),
    }

    // Through the production client: a tax e-invoice (no year needed).
    let client = ExchangeClient::new(ExchangeSettings::new(
        &format!("http://{}", sim.addr),
        APP,
        SECRET,
    ))
    .unwrap();
    let ask = |subject: &str| Ask {
        subject: subject.into(),
        year: None,
        purpose: Purpose::Withdrawal,
        application_no: "TQ-20261127-000001".into(),
        requester: "staff:0001".into(),
        request_id: "req-2".into(),
    };
    let read = client.invoices(&ask(WANG)).unwrap();
    assert!(read.source.ends_with("/v1/tax"), "{}", read.source);
    assert_eq!(read.value.len(), 1);
    assert_eq!(read.value[0].category, InvoiceCategory::Renovation);
    assert_eq!(read.value[0].amount, Fen::new(8_650_000));
    assert_eq!(read.value[0].buyer_id, WANG);
    assert!(client.invoices(&ask(LI)).unwrap().value.is_empty());

    let (status, b) = sim.ask(Query::Identity, NOBODY, None);
    assert_eq!(status, 200);
    let r = response(&b);
    assert!(!r.found);
    assert_eq!(r.answer, Answer::Identity(None));
    let (status, b) = sim.ask(Query::Properties, NOBODY, None);
    assert_eq!(status, 200);
    assert_eq!(response(&b).answer, Answer::Properties(vec![]));

    // Health and the OpenAPI document need no signature.
    let (status, b) = sim
        .http("GET", "/health", &[], b"", Duration::from_secs(5))
        .unwrap();
    assert_eq!(status, 200);
    let h: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(h["people"], 2);
    let (status, b) = sim
        .http("GET", "/openapi.json", &[], b"", Duration::from_secs(5))
        .unwrap();
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert!(doc["paths"].get("/v1/civil-affairs/marriage").is_some());

    // Logged with the ID masked, never in full; the secret never.
    std::thread::sleep(Duration::from_millis(200));
    let log = sim.log();
    assert!(log.contains("3308**********1232"), "{log}");
    assert!(log.contains("TQ-20261127-000001"), "{log}");
    assert!(!log.contains(WANG) && !log.contains(NOBODY), "{log}");
    assert!(!log.contains(SECRET), "{log}");
}

#[test]
fn refuses_bad_signatures_replays_and_stale_timestamps() {
    let sim = Sim::start(&[]);
    let path = Query::Marriage.path();
    let b = body(WANG, None);

    let (status, e) = sim.post_signed(&path, &b, "wrong-secret", now(), &nonce());
    assert_eq!(status, 401);
    assert_eq!(error_body(&e).error, "unauthorized");

    let n = nonce();
    let ts = now();
    assert_eq!(sim.post_signed(&path, &b, SECRET, ts, &n).0, 200);
    let (status, e) = sim.post_signed(&path, &b, SECRET, ts, &n);
    assert_eq!(status, 401, "a replay");
    assert!(error_body(&e).message.contains("nonce"));

    let (status, e) = sim.post_signed(&path, &b, SECRET, now() - 1_000, &nonce());
    assert_eq!(status, 401, "a stale timestamp");
    assert!(error_body(&e).message.contains("timestamp"));

    // A body changed after signing.
    let ts = now();
    let n = nonce();
    let sig = sign(SECRET.as_bytes(), &canonical("POST", &path, ts, &n, &b));
    let headers = vec![
        (H_APP.to_owned(), APP.to_owned()),
        (H_TIMESTAMP.to_owned(), ts.to_string()),
        (H_NONCE.to_owned(), n),
        (H_SIGNATURE.to_owned(), sig),
    ];
    let other = body(LI, None);
    let (status, _) = sim
        .http("POST", &path, &headers, &other, Duration::from_secs(5))
        .unwrap();
    assert_eq!(status, 401);

    // Missing headers; an unknown app.
    let (status, e) = sim
        .http("POST", &path, &[], &b, Duration::from_secs(5))
        .unwrap();
    assert_eq!(status, 401);
    assert!(error_body(&e).message.contains("missing header"));
    let mut wrong_app = headers.clone();
    wrong_app[0].1 = "someone-else".into();
    let (status, e) = sim
        .http("POST", &path, &wrong_app, &b, Duration::from_secs(5))
        .unwrap();
    assert_eq!(status, 401);
    assert!(error_body(&e).message.contains("unknown app"));
}

#[test]
fn bad_bodies_name_the_field_and_unknown_paths_are_404() {
    let sim = Sim::start(&[]);
    let ask_raw = |path: &str, b: &[u8]| sim.post_signed(path, b, SECRET, now(), &nonce());

    let (status, e) = ask_raw(&Query::Income.path(), &body(WANG, None));
    assert_eq!(status, 400);
    let e = error_body(&e);
    assert_eq!(e.error, "bad_request");
    assert!(e.message.contains("`year`"), "{}", e.message);

    let (status, e) = ask_raw(&Query::Marriage.path(), &body("330802199001011233", None));
    assert_eq!(status, 400);
    assert!(error_body(&e).message.contains("`subject_id`"));

    let (status, e) = ask_raw(&Query::Marriage.path(), b"{\"request_id\":");
    assert_eq!(status, 400);
    assert!(error_body(&e).message.contains("not JSON"));

    let mut v: serde_json::Value = serde_json::from_slice(&body(WANG, None)).unwrap();
    v["case_no"] = "".into();
    let (status, e) = ask_raw(&Query::Marriage.path(), &serde_json::to_vec(&v).unwrap());
    assert_eq!(status, 400);
    assert!(error_body(&e).message.contains("`case_no`"));

    for path in ["/v1/civil-affairs/marrage", "/v1/tax/marriage", "/v2/x"] {
        let (status, e) = ask_raw(path, &body(WANG, None));
        assert_eq!(status, 404, "{path}");
        assert_eq!(error_body(&e).error, "not_found");
    }
}

#[test]
fn error_rate_100_gives_5xx() {
    let sim = Sim::start(&["--error-rate", "100", "--seed", "9"]);
    for _ in 0..6 {
        let (status, e) = sim.ask(Query::Marriage, WANG, None);
        assert!(status == 500 || status == 503, "{status}");
        let e = error_body(&e);
        assert!(e.error == "department_error" || e.error == "unavailable");
    }
}

#[test]
fn malformed_rate_100_gives_garbage() {
    let sim = Sim::start(&["--malformed-rate", "100"]);
    for q in [
        Query::Marriage,
        Query::Marriage,
        Query::Income,
        Query::Income,
        Query::Identity,
        Query::Properties,
        Query::Credit,
        Query::Death,
    ] {
        let (status, b) = sim.ask(q, WANG, q.takes_year().then_some(2025));
        assert_eq!(status, 200);
        if let Ok(r) = serde_json::from_slice::<QueryResponse>(&b) {
            assert_ne!(
                r.answer.query(),
                q,
                "garbage parsed as a right answer: {}",
                String::from_utf8_lossy(&b)
            );
        }
    }
}

#[test]
fn timeout_rate_100_hangs() {
    let sim = Sim::start(&["--timeout-rate", "100", "--hang-ms", "3000"]);
    let ts = now();
    let n = nonce();
    let b = body(WANG, None);
    let path = Query::Marriage.path();
    let sig = sign(SECRET.as_bytes(), &canonical("POST", &path, ts, &n, &b));
    let headers = vec![
        (H_APP.to_owned(), APP.to_owned()),
        (H_TIMESTAMP.to_owned(), ts.to_string()),
        (H_NONCE.to_owned(), n),
        (H_SIGNATURE.to_owned(), sig),
    ];
    let started = Instant::now();
    let r = sim.http("POST", &path, &headers, &b, Duration::from_secs(1));
    assert!(r.is_err(), "answered within 1 s: {r:?}");
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[test]
fn faults_can_be_limited_to_departments() {
    let sim = Sim::start(&["--fault-departments", "tax", "--error-rate", "100"]);
    for _ in 0..3 {
        let (status, _) = sim.ask(Query::Income, WANG, Some(2025));
        assert!(status >= 500, "{status}");
        let (status, b) = sim.ask(Query::Marriage, WANG, None);
        assert_eq!(status, 200);
        assert_eq!(response(&b).answer.query(), Query::Marriage);
    }
}

#[test]
fn flags_are_checked_and_openapi_prints() {
    let out = Command::new(env!("CARGO_BIN_EXE_anju"))
        .args(["exchange-sim", "--dataset", "x.json", "--error-rate", "101"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0 to 100"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_anju"))
        .args([
            "exchange-sim",
            "--fault-departments",
            "tax,weather",
            "--openapi",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("weather"));

    let out = Command::new(env!("CARGO_BIN_EXE_anju"))
        .args(["exchange-sim", "--openapi"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["paths"].as_object().unwrap().len(), 18);
    assert!(doc["paths"].get("/v1/tax/invoices").is_some());
    assert!(doc["paths"].get(BATCH_PATH).is_some());
}

/// A batch item's body: `body(subject, year)` with the query's codes.
fn item(query: Query, subject: &str, year: Option<i16>, id: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&body(subject, year)).unwrap();
    v["department"] = query.department().code().into();
    v["query"] = query.code().into();
    v["request_id"] = id.into();
    v
}

/// Posts a signed batch; the status and the parsed body (`Null` when not JSON).
fn batch(sim: &Sim, wait_ms: u64, items: Vec<serde_json::Value>) -> (u16, Vec<u8>) {
    let b = serde_json::to_vec(&serde_json::json!({"wait_ms": wait_ms, "items": items})).unwrap();
    sim.post_signed(BATCH_PATH, &b, SECRET, now(), &nonce())
}

/// The items of a batch's 200 answer.
fn batch_items(b: &[u8]) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_slice(b).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(b)));
    v["items"].as_array().unwrap().clone()
}

fn item_answer(v: &serde_json::Value) -> QueryResponse {
    assert_eq!(v["status"], 200, "{v}");
    serde_json::from_value(v["answer"].clone()).unwrap_or_else(|e| panic!("{e}: {v}"))
}

#[test]
fn a_batch_is_answered_item_by_item() {
    let sim = Sim::start(&[]);
    let mut bad_year = item(Query::Income, WANG, None, "r-4");
    bad_year["year"] = serde_json::Value::Null;
    let mut unknown = item(Query::Marriage, WANG, None, "r-3");
    unknown["query"] = "marrage".into();
    let (status, b) = batch(
        &sim,
        1_000,
        vec![
            item(Query::Identity, WANG, None, "r-1"),
            item(Query::Marriage, NOBODY, None, "r-2"),
            unknown,
            bad_year,
            item(Query::Income, WANG, Some(2025), "r-5"),
        ],
    );
    assert_eq!(status, 200);
    let items = batch_items(&b);
    assert_eq!(items.len(), 5);
    let id = item_answer(&items[0]);
    assert_eq!((id.request_id.as_str(), id.found), ("r-1", true));
    assert_eq!(id.answer.query(), Query::Identity);
    let m = item_answer(&items[1]);
    assert_eq!(m.answer.query(), Query::Marriage);
    assert_eq!(m.request_id, "r-2");
    assert_eq!(items[2]["status"], 404);
    assert_eq!(items[2]["error"]["error"], "not_found");
    assert_eq!(items[3]["status"], 400);
    assert!(
        items[3]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`year`")
    );
    assert_eq!(item_answer(&items[4]).answer.query(), Query::Income);

    // The batch as a whole: signed, bounded, with a wait.
    let (status, _) = batch(&sim, 0, vec![item(Query::Identity, WANG, None, "r")]);
    assert_eq!(status, 400);
    let (status, _) = batch(&sim, 100, vec![]);
    assert_eq!(status, 400);
    let many = (0..=MAX_BATCH_ITEMS)
        .map(|i| item(Query::Identity, WANG, None, &format!("r-{i}")))
        .collect();
    let (status, e) = batch(&sim, 100, many);
    assert_eq!(status, 400);
    assert!(error_body(&e).message.contains("`items`"));
    let b = br#"{"wait_ms":100,"items":[]}"#;
    let (status, _) = sim.post_signed(BATCH_PATH, b, "another-secret-x", now(), &nonce());
    assert_eq!(status, 401);
}

#[test]
fn batch_faults_hit_each_item_on_its_own() {
    // A department failing: only its items are 5xx.
    let sim = Sim::start(&["--fault-departments", "tax", "--error-rate", "100"]);
    for _ in 0..3 {
        let (status, b) = batch(
            &sim,
            1_000,
            vec![
                item(Query::Income, WANG, Some(2025), "r-1"),
                item(Query::Marriage, WANG, None, "r-2"),
            ],
        );
        assert_eq!(status, 200);
        let items = batch_items(&b);
        let s = items[0]["status"].as_u64().unwrap();
        assert!(s == 500 || s == 503, "{}", items[0]);
        assert_eq!(item_answer(&items[1]).answer.query(), Query::Marriage);
    }
    drop(sim);

    // A department answering garbage: only its items are garbage; the batch is JSON.
    let sim = Sim::start(&[
        "--fault-departments",
        "civil-affairs",
        "--malformed-rate",
        "100",
    ]);
    for _ in 0..4 {
        let (status, b) = batch(
            &sim,
            1_000,
            vec![
                item(Query::Marriage, WANG, None, "r-1"),
                item(Query::Identity, WANG, None, "r-2"),
            ],
        );
        assert_eq!(status, 200);
        let items = batch_items(&b);
        assert_eq!(items[0]["status"], 200);
        if let Ok(r) = serde_json::from_value::<QueryResponse>(items[0]["answer"].clone()) {
            assert_ne!(
                r.answer.query(),
                Query::Marriage,
                "garbage parsed: {}",
                items[0]
            );
        }
        assert_eq!(item_answer(&items[1]).answer.query(), Query::Identity);
    }
    drop(sim);

    // A department hanging: its item is a 504 after wait_ms, the others are answered.
    let sim = Sim::start(&[
        "--fault-departments",
        "real-estate",
        "--timeout-rate",
        "100",
        "--hang-ms",
        "5000",
    ]);
    let started = Instant::now();
    let (status, b) = batch(
        &sim,
        300,
        vec![
            item(Query::Properties, WANG, None, "r-1"),
            item(Query::Identity, WANG, None, "r-2"),
        ],
    );
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let items = batch_items(&b);
    assert_eq!(items[0]["status"], 504);
    assert_eq!(items[0]["error"]["error"], "timeout");
    assert_eq!(item_answer(&items[1]).answer.query(), Query::Identity);

    // Latency applies per item: the batch takes as long as its slowest item.
    drop(sim);
    let sim = Sim::start(&["--fault-departments", "tax", "--latency-ms", "400"]);
    let started = Instant::now();
    let (_, b) = batch(&sim, 2_000, vec![item(Query::Identity, WANG, None, "r-1")]);
    assert!(started.elapsed() < Duration::from_millis(350));
    item_answer(&batch_items(&b)[0]);
    let started = Instant::now();
    let (_, b) = batch(
        &sim,
        2_000,
        vec![
            item(Query::Identity, WANG, None, "r-1"),
            item(Query::Income, WANG, Some(2025), "r-2"),
        ],
    );
    assert!(started.elapsed() >= Duration::from_millis(390));
    assert!(batch_items(&b).iter().all(|i| i["status"] == 200));
}

#[test]
fn batch_faults_can_hit_the_request_as_a_whole() {
    let sim = Sim::start(&["--batch-faults", "request", "--error-rate", "100"]);
    let (status, e) = batch(&sim, 1_000, vec![item(Query::Identity, WANG, None, "r-1")]);
    assert!(status == 500 || status == 503, "{status}");
    assert!(["department_error", "unavailable"].contains(&error_body(&e).error.as_str()));
    drop(sim);

    let sim = Sim::start(&["--batch-faults", "request", "--malformed-rate", "100"]);
    for _ in 0..4 {
        let (status, b) = batch(
            &sim,
            1_000,
            vec![
                item(Query::Identity, WANG, None, "r-1"),
                item(Query::Marriage, WANG, None, "r-2"),
            ],
        );
        assert_eq!(status, 200);
        // Not a batch of two right answers.
        let right = serde_json::from_slice::<serde_json::Value>(&b)
            .ok()
            .and_then(|v| v["items"].as_array().cloned())
            .is_some_and(|items| {
                items.len() == 2
                    && serde_json::from_value::<QueryResponse>(items[0]["answer"].clone()).is_ok()
                    && serde_json::from_value::<QueryResponse>(items[1]["answer"].clone()).is_ok()
            });
        assert!(!right, "garbage parsed: {}", String::from_utf8_lossy(&b));
    }
    drop(sim);

    let sim = Sim::start(&[
        "--batch-faults",
        "request",
        "--timeout-rate",
        "100",
        "--hang-ms",
        "3000",
    ]);
    let ts = now();
    let n = nonce();
    let b = serde_json::to_vec(
        &serde_json::json!({"wait_ms": 100, "items": [item(Query::Identity, WANG, None, "r")]}),
    )
    .unwrap();
    let sig = sign(
        SECRET.as_bytes(),
        &canonical("POST", BATCH_PATH, ts, &n, &b),
    );
    let headers = vec![
        (H_APP.to_owned(), APP.to_owned()),
        (H_TIMESTAMP.to_owned(), ts.to_string()),
        (H_NONCE.to_owned(), n),
        (H_SIGNATURE.to_owned(), sig),
    ];
    let r = sim.http("POST", BATCH_PATH, &headers, &b, Duration::from_secs(1));
    assert!(r.is_err(), "answered within 1 s: {r:?}");
    drop(sim);

    let out = Command::new(env!("CARGO_BIN_EXE_anju"))
        .args([
            "exchange-sim",
            "--dataset",
            "x.json",
            "--batch-faults",
            "some",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("items, request or both"));
}

#[test]
fn the_client_batches_and_fails_only_the_faulty_items() {
    let sim = Sim::start(&["--fault-departments", "tax", "--error-rate", "100"]);
    let mut settings = ExchangeSettings::new(&format!("http://{}", sim.addr), APP, SECRET);
    settings.attempts = 2;
    settings.backoff = Duration::from_millis(5);
    let client = ExchangeClient::new(settings).unwrap();
    let ask = |id: &str, year: Option<i16>| Ask {
        subject: WANG.into(),
        year,
        purpose: Purpose::Withdrawal,
        application_no: "TQ-1".into(),
        requester: "staff:0001".into(),
        request_id: id.into(),
    };
    let (a, b, c) = (ask("q-1", None), ask("q-2", Some(2025)), ask("q-3", None));
    let got = client.query_many(&[
        (Query::Identity, &a),
        (Query::Income, &b),
        (Query::Marriage, &c),
    ]);
    assert_eq!(got.len(), 3);
    let (answer, source, _) = got[0].as_ref().unwrap();
    assert_eq!(answer.query(), Query::Identity);
    assert!(source.ends_with("/v1/public-security"), "{source}");
    let e = got[1].as_ref().unwrap_err();
    assert!(
        e.reason.contains("HTTP 5") && e.reason.contains("2 attempts"),
        "{}",
        e.reason
    );
    assert_eq!(got[2].as_ref().unwrap().0.query(), Query::Marriage);
    // One request per attempt: the first batch, and the failed item again.
    let log = sim.log();
    assert_eq!(log.matches("batch of 3").count(), 1, "{log}");
    assert_eq!(log.matches("batch of 1").count(), 1, "{log}");
}
