//! Shared by the withdrawal tests: the exchange simulator as a child process, the
//! departments behind it, and valid resident ID numbers.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anju_app::sharing::Departments;
use anju_domain::ids::IdCard;
use anju_exchange::client::{ExchangeClient, ExchangeSettings};
use anju_exchange::sim::dataset::Dataset;

pub const EXE: &str = env!("CARGO_BIN_EXE_anju");
pub const SECRET: &str = "test-secret-123";
/// The centre's fund account at ICBC in [`counter_centre`].
pub const ICBC_FUND: &str = "1209280029200000001";

/// A valid resident ID number from a serial and a birth date (YYYYMMDD); odd serial digit
/// for men.
pub fn id(birth: &str, serial: u32, male: bool) -> String {
    let s = serial * 2 + u32::from(male);
    IdCard::with_check_char(&format!("330802{birth}{s:03}"))
        .unwrap()
        .as_str()
        .to_owned()
}

/// `anju exchange-sim` as a child process, killed on drop.
pub struct ExchangeSim {
    child: Child,
    pub url: String,
    _lifeline: Option<std::process::ChildStdin>,
    _dir: tempfile::TempDir,
}

impl ExchangeSim {
    pub fn start(ds: &Dataset) -> ExchangeSim {
        ExchangeSim::start_with(ds, &[])
    }

    /// With more `anju exchange-sim` flags, e.g. faults.
    pub fn start_with(ds: &Dataset, extra: &[&str]) -> ExchangeSim {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dataset.json");
        ds.save(&path).unwrap();
        let mut child = Command::new(EXE)
            .args([
                "exchange-sim",
                "--listen",
                "127.0.0.1:0",
                "--secret",
                SECRET,
            ])
            .args(extra)
            .args(["--exit-with-parent", "--dataset"])
            .arg(&path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("exchange-sim listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let lifeline = child.stdin.take();
        ExchangeSim {
            child,
            url,
            _lifeline: lifeline,
            _dir: dir,
        }
    }
}

impl Drop for ExchangeSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn departments(url: &str) -> Departments {
    let mut s = ExchangeSettings::new(url, "anju-dev", SECRET);
    s.request_timeout = Duration::from_millis(2_000);
    s.connect_timeout = Duration::from_millis(300);
    s.attempts = 1;
    s.backoff = Duration::from_millis(10);
    Departments::all(Arc::new(ExchangeClient::new(s).unwrap()))
}

/// Runs `anju` with `args` (the exchange secret of [`ExchangeSim`] in its environment):
/// exit code, stdout, stderr.
pub fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(EXE)
        .args(args)
        .env("ANJU_EXCHANGE_SECRET", SECRET)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A centre in a new SQLite file at `path` on business date `day`, with the test staff
/// (`anju_testkit::staff`) and one commissioned bank, ICBC: what a counter clerk's
/// command-line session needs. Returns its database URL.
pub fn counter_centre(path: &std::path::Path, centre: &str, day: jiff::civil::Date) -> String {
    let s = anju_store_sqlite::SqliteStore::open(path).unwrap();
    seed_counter_centre(&s, centre, day);
    format!("sqlite://{}", path.display())
}

/// What [`counter_centre`] writes, in any store: the centre on business date `day`, the
/// test staff and the commissioned bank ICBC (fund account [`ICBC_FUND`]).
pub fn seed_counter_centre(s: &dyn anju_store::Store, centre: &str, day: jiff::civil::Date) {
    use anju_app::settlement::{NewBank, register_bank};
    anju_app::ledger::open_centre(
        s,
        centre,
        "衢州市住房公积金管理中心",
        day,
        jiff::Timestamp::now(),
    )
    .unwrap();
    anju_app::ledger::set_business_date(s, centre, day).unwrap();
    anju_testkit::staff::seed(s, centre, day);
    register_bank(
        s,
        centre,
        &NewBank {
            code: "ICBC".into(),
            name: "中国工商银行衢州分行".into(),
            fund_account: ICBC_FUND.into(),
            fund_account_name: "衢州市住房公积金管理中心".into(),
        },
    )
    .unwrap();
}

/// (status, body) of a JSON request to `anju serve`; `token` as the bearer.
pub fn call(method: &str, url: &str, token: Option<&str>, body: Option<&str>) -> (u16, String) {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut r = if method == "POST" {
        let mut req = agent.post(url).header("content-type", "application/json");
        if let Some(a) = &auth {
            req = req.header("authorization", a);
        }
        req.send(body.unwrap_or("{}")).unwrap()
    } else {
        let mut req = agent.get(url);
        if let Some(a) = &auth {
            req = req.header("authorization", a);
        }
        req.call().unwrap()
    };
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap_or_default())
}

/// A JSON body, or a panic naming it.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// `anju serve --db DB --port PORT` plus `args` as a child process, once it says it is
/// serving; its log goes to `log` and is shown if it ends before. Killed on drop.
pub struct Serve {
    child: Child,
}

impl Serve {
    pub fn start(
        db: &str,
        port: u16,
        args: &[&str],
        envs: &[(&str, &str)],
        log: &std::path::Path,
    ) -> Serve {
        let mut child = Command::new(EXE)
            .args(["serve", "--db", db, "--port", &port.to_string()])
            .args(args)
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("Anju is serving") => break,
                Some(Ok(_)) => {}
                _ => panic!(
                    "anju serve on port {port} ended before serving: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                ),
            }
        }
        Serve { child }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `anju demo` on a new SQLite file, served on a free port, killed on drop: the demo
/// centre with its people (members' phones, staff with the demo password and TOTP
/// secrets, unit clerks).
pub struct DemoServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// (unit number, clerk's resident ID) as the demo prints them.
    pub clerks: Vec<(String, String)>,
    /// The demo's database file.
    pub db_path: std::path::PathBuf,
    /// The development SMS sender's file.
    pub sms: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl DemoServer {
    pub fn start() -> DemoServer {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("demo.db");
        let db = format!("sqlite://{}", db_path.display());
        let port = anju_testkit::free_port();
        let mut child = Command::new(EXE)
            .args(["demo", "--db", &db, "--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut clerks = Vec::new();
        loop {
            let l = lines.next().unwrap().unwrap();
            if let Some(rest) = l.trim().strip_prefix("unit clerk of unit ") {
                let (unit, id) = rest.split_once(": ID ").unwrap();
                clerks.push((unit.to_owned(), id.to_owned()));
            }
            if l.contains("Anju is serving") {
                break;
            }
        }
        // Keep reading what the demo prints, so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        DemoServer {
            child,
            base: format!("http://127.0.0.1:{port}"),
            clerks,
            sms: dir.path().join("demo-sms.jsonl"),
            db_path,
            _dir: dir,
        }
    }

    /// Signs a demo member in by the code texted to `phone`; (token, resident ID).
    pub fn member(&self, phone: &str) -> (String, String) {
        let base = &self.base;
        let (st, body) = call(
            "POST",
            &format!("{base}/api/v1/login/code"),
            None,
            Some(&format!(r#"{{"phone":"{phone}","device":"test"}}"#)),
        );
        assert_eq!(st, 202, "{body}");
        let text = anju_app::identity::LogSms::read_file(&self.sms)
            .unwrap()
            .into_iter()
            .rev()
            .find(|m| m.phone == phone && m.text.contains("登录验证码"))
            .unwrap()
            .text;
        let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
        let (st, body) = call(
            "POST",
            &format!("{base}/api/v1/login/sms"),
            None,
            Some(&format!(
                r#"{{"phone":"{phone}","code":"{code}","device":"test"}}"#
            )),
        );
        assert_eq!(st, 200, "{body}");
        let s = json(&body);
        (
            s["token"].as_str().unwrap().to_owned(),
            s["principal"]["id_number"].as_str().unwrap().to_owned(),
        )
    }

    /// Signs a demo member of staff in with the demo password and the TOTP code of now.
    pub fn staff(&self, id: &str) -> String {
        let mut secret = format!("anju-demo-{id}").into_bytes();
        secret.resize(20, b'.');
        let code = anju_domain::access::totp_code(&secret, jiff::Timestamp::now().as_second());
        let (st, body) = call(
            "POST",
            &format!("{}/api/v1/login/staff", self.base),
            None,
            Some(&format!(
                r#"{{"staff_id":"{id}","password":"Demo#2026ab","totp":"{code:06}","device":"test"}}"#
            )),
        );
        assert_eq!(st, 200, "{body}");
        json(&body)["token"].as_str().unwrap().to_owned()
    }

    /// Signs in the clerk of the demo's `n`-th printed unit with the demo password;
    /// (token, unit number).
    pub fn unit_clerk(&self, n: usize) -> (String, String) {
        let (unit, clerk_id) = self.clerks[n].clone();
        let credit_code = {
            let store = anju_store_sqlite::SqliteStore::open(&self.db_path).unwrap();
            let mut tx = anju_store::Store::begin_read(&store).unwrap();
            tx.unit("330800000000000", &unit)
                .unwrap()
                .unwrap()
                .credit_code
        };
        let (st, body) = call(
            "POST",
            &format!("{}/api/v1/login/unit", self.base),
            None,
            Some(&format!(
                r#"{{"credit_code":"{credit_code}","id_number":"{clerk_id}","password":"Unit#2026ab"}}"#
            )),
        );
        assert_eq!(st, 200, "{body}");
        (json(&body)["token"].as_str().unwrap().to_owned(), unit)
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
