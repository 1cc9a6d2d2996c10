//! `anju bank-sim` as a child process, for tests, the demo and benchmarks.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use anju_app::settlement::ports::Bank;
//! use anju_bank::sim::process::BankSimProcess;
//!
//! let exe = std::env::current_exe()?; // the `anju` binary (in tests: env!("CARGO_BIN_EXE_anju"))
//! let mut sim = BankSimProcess::start(&exe, std::path::Path::new("/tmp/bank.db"), &["--bank", "105"])?;
//! sim.admin().open_account("33001", "衢州市住房公积金中心", 1_000_000)?;
//! let bank = sim.client()?;                  // a BankClient signed with the simulator's secret
//! let balance = bank.balance("33001")?;
//! sim.restart()?;                            // kill it, start it again on the same file and port
//! # let _ = balance; Ok(()) }
//! ```
//!
//! The child gets `--exit-with-parent` with a pipe as its stdin, so it ends with this
//! process even when this process is killed. Unless `extra` says otherwise it listens on
//! `127.0.0.1:0` with the development secret ([`DEV_SECRET`]).

use std::io::BufRead;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::admin::AdminClient;
use super::{DEFAULT_APP_ID, DEFAULT_BANK, DEV_SECRET, LISTENING};
use crate::client::{BankClient, BankSettings, SettingsError};

/// How long the simulator may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the simulator could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The binary could not be run.
    #[error("cannot start {exe}: {source}")]
    Spawn {
        /// The binary.
        exe: String,
        /// Why.
        source: std::io::Error,
    },
    /// It ran but did not say where it listens.
    #[error("anju bank-sim did not start: {0}")]
    NotStarted(String),
}

/// A running `anju bank-sim`, killed on drop.
#[derive(Debug)]
pub struct BankSimProcess {
    child: Child,
    /// Its stdin: it exits when this closes, even if this process is killed.
    lifeline: Option<ChildStdin>,
    exe: PathBuf,
    db: PathBuf,
    /// The caller's flags without `--listen`.
    extra: Vec<String>,
    log: Option<PathBuf>,
    addr: SocketAddr,
    url: String,
    bank: String,
    app_id: String,
    secret: String,
}

/// The value of `--name` in `args` (`--name V` or `--name=V`), the last one winning.
fn flag_value(args: &[String], name: &str) -> Option<String> {
    let mut out = None;
    let prefix = format!("{name}=");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == name {
            out = it.next().cloned();
        } else if let Some(v) = a.strip_prefix(&prefix) {
            out = Some(v.to_owned());
        }
    }
    out
}

/// `args` without `--name V` / `--name=V`.
fn without_flag(args: &[String], name: &str) -> Vec<String> {
    let prefix = format!("{name}=");
    let mut out = Vec::with_capacity(args.len());
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
        } else if a == name {
            skip = true;
        } else if !a.starts_with(&prefix) {
            out.push(a.clone());
        }
    }
    out
}

impl BankSimProcess {
    /// Starts `exe bank-sim --db DB` with `extra` flags (faults, `--bank`, `--callback`,
    /// `--accounts`, …); its log is discarded.
    pub fn start(exe: &Path, db: &Path, extra: &[&str]) -> Result<BankSimProcess, ProcessError> {
        BankSimProcess::start_logged(exe, db, extra, None)
    }

    /// [`BankSimProcess::start`], appending the simulator's log (stderr) to `log`.
    pub fn start_logged(
        exe: &Path,
        db: &Path,
        extra: &[&str],
        log: Option<&Path>,
    ) -> Result<BankSimProcess, ProcessError> {
        let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        let listen = flag_value(&extra, "--listen").unwrap_or_else(|| "127.0.0.1:0".to_owned());
        let extra = without_flag(&extra, "--listen");
        let (child, lifeline, addr) = spawn(exe, db, &extra, &listen, log)?;
        Ok(BankSimProcess {
            child,
            lifeline,
            exe: exe.to_owned(),
            db: db.to_owned(),
            url: format!("http://{addr}"),
            addr,
            bank: flag_value(&extra, "--bank").unwrap_or_else(|| DEFAULT_BANK.to_owned()),
            app_id: flag_value(&extra, "--app-id").unwrap_or_else(|| DEFAULT_APP_ID.to_owned()),
            secret: flag_value(&extra, "--secret").unwrap_or_else(|| DEV_SECRET.to_owned()),
            extra,
            log: log.map(Path::to_owned),
        })
    }

    /// The base URL, `http://ADDR`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bank code it simulates.
    pub fn bank(&self) -> &str {
        &self.bank
    }

    /// The process id (the supervisor's, when it supervises a worker).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Client settings for this simulator (its bank code, app id and secret).
    pub fn settings(&self) -> BankSettings {
        BankSettings::new(&self.bank, &self.url, &self.app_id, &self.secret)
    }

    /// A settlement-port client for this simulator with [`BankSimProcess::settings`].
    pub fn client(&self) -> Result<BankClient, SettingsError> {
        BankClient::new(self.settings())
    }

    /// The `/sim/…` admin client.
    pub fn admin(&self) -> AdminClient {
        AdminClient::new(&self.url)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process (a supervisor's worker follows it through its lifeline) and
    /// waits until nothing answers on its address any more (at most 10 s).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.lifeline = None;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline
            && TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok()
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it and starts it again with the same flags on the same database and address.
    pub fn restart(&mut self) -> Result<(), ProcessError> {
        self.kill();
        let (child, lifeline, addr) = spawn(
            &self.exe,
            &self.db,
            &self.extra,
            &self.addr.to_string(),
            self.log.as_deref(),
        )?;
        self.child = child;
        self.lifeline = lifeline;
        self.addr = addr;
        self.url = format!("http://{addr}");
        Ok(())
    }
}

impl Drop for BankSimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(
    exe: &Path,
    db: &Path,
    extra: &[String],
    listen: &str,
    log: Option<&Path>,
) -> Result<(Child, Option<ChildStdin>, SocketAddr), ProcessError> {
    let mut cmd = Command::new(exe);
    cmd.arg("bank-sim")
        .arg("--db")
        .arg(db)
        .args(["--listen", listen, "--exit-with-parent"]);
    if flag_value(extra, "--secret").is_none() {
        cmd.args(["--secret", DEV_SECRET]);
    }
    cmd.args(extra);
    let stderr = match log {
        Some(p) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map(Stdio::from)
            .map_err(|source| ProcessError::Spawn {
                exe: format!("(log {})", p.display()),
                source,
            })?,
        None => Stdio::null(),
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|source| ProcessError::Spawn {
            exe: exe.display().to_string(),
            source,
        })?;
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        return Err(ProcessError::NotStarted("no stdout".to_owned()));
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
        // Keep draining, so the simulator never writes into a closed pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = match rx.recv_timeout(START_TIMEOUT) {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ProcessError::NotStarted(format!(
                "cannot read its stdout: {e}"
            )));
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ProcessError::NotStarted(format!(
                "no address printed within {} s",
                START_TIMEOUT.as_secs()
            )));
        }
    };
    let addr = line
        .trim()
        .strip_prefix(LISTENING)
        .and_then(|u| u.strip_prefix("http://"))
        .and_then(|a| a.parse::<SocketAddr>().ok());
    let Some(addr) = addr else {
        let _ = child.kill();
        let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
        return Err(ProcessError::NotStarted(format!(
            "first line {line:?} ({status}){}",
            log.map(|p| format!("; see {}", p.display()))
                .unwrap_or_default()
        )));
    };
    let lifeline = child.stdin.take();
    Ok((child, lifeline, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_are_found_in_both_spellings() {
        let a = v(&["--bank", "102", "--listen=127.0.0.1:9", "--seed", "3"]);
        assert_eq!(flag_value(&a, "--bank").as_deref(), Some("102"));
        assert_eq!(flag_value(&a, "--listen").as_deref(), Some("127.0.0.1:9"));
        assert_eq!(flag_value(&a, "--secret"), None);
        assert_eq!(
            without_flag(&a, "--listen"),
            v(&["--bank", "102", "--seed", "3"])
        );
        assert_eq!(
            without_flag(&a, "--bank"),
            v(&["--listen=127.0.0.1:9", "--seed", "3"])
        );
    }
}
