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
