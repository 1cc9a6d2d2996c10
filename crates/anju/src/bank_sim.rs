//! `anju bank-sim`: a commissioned bank speaking the settlement protocol
//! (`anju_bank::protocol`) from its own books in an SQLite file, with fault injection; or
//! print the protocol's OpenAPI document (`--openapi`).
//!
//! With `--crash-every N` (or `--restart`) the command runs as a **supervisor**: it starts
//! the simulator as a worker process (this binary with the hidden `--worker` flag), prints
//! the worker's address, and starts the worker again on the same port and file whenever
//! it dies abnormally. The worker always has the supervisor's pipe as its stdin, so it
//! ends with the supervisor.
//!
//! It also lends: the commercial part of combination loans (`POST /v1/loans`, …), priced at
//! the LPR plus a spread and decided by the credit rules of `anju_bank::sim::lending`
//! (`--lpr-5y-pct`, `--lpr-1y-pct`, `--first-home-spread-bp`, `--second-home-spread-bp`,
//! `--max-ltv-first-pct`, `--max-ltv-second-pct`, `--max-dti-pct`, `--decline-id`), paying
//! out from its own lending account `LOANS-<bank>`.
//!
//! Tests, the demo and benchmarks start it as a child process with
//! `anju_bank::sim::process::BankSimProcess` (given this binary's path: `current_exe()`
//! here, `env!("CARGO_BIN_EXE_anju")` in integration tests).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anju_bank::protocol::check_bank_code;
use anju_bank::sim::faults::{Faults, Percent};
use anju_bank::sim::ledger::{BankDb, OpenAccount};
use anju_bank::sim::lending::LendingRules;
use anju_bank::sim::server::{SimConfig, serve, shutdown_signal};
use anju_bank::sim::{DEFAULT_APP_ID, DEFAULT_BANK, DEV_SECRET, LISTENING, OPENAPI};
use anju_domain::money::Rate;

/// Environment variable holding the shared secret when `--secret` is not given.
const SECRET_ENV: &str = "ANJU_BANK_SECRET";
/// Consecutive failed worker starts after which the supervisor gives up.
const MAX_FAILED_STARTS: u32 = 20;

fn peer(text: &str) -> Result<(String, String), String> {
    let (code, url) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected CODE=URL, e.g. 102=http://127.0.0.1:8092"))?;
    check_bank_code(code.trim()).map_err(|e| format!("{text:?}: the bank code {e}"))?;
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "{text:?}: the URL must start with http:// or https://"
        ));
    }
    Ok((code.trim().to_owned(), url.to_owned()))
}

fn rate_pct(text: &str) -> Result<Rate, String> {
    Rate::parse_percent(text)
        .map_err(|e| format!("{e}; a percentage such as 3.5 (at most seven decimals)"))
}

fn bank_code(text: &str) -> Result<String, String> {
    check_bank_code(text)
        .map(|()| text.to_owned())
        .map_err(|e| format!("the bank code {e}"))
}

fn http_url(text: &str) -> Result<String, String> {
    if text.starts_with("http://") || text.starts_with("https://") {
        Ok(text.to_owned())
    } else {
        Err(format!("{text:?} must start with http:// or https://"))
    }
}

/// `anju bank-sim` options.
#[derive(Debug, clap::Args)]
pub struct BankSimArgs {
    /// The bank's books (SQLite file; created when absent).
    #[arg(long, required_unless_present = "openapi")]
    pub db: Option<PathBuf>,
    /// Address to listen on (port 0: any free port). The first line on stdout is
    /// `bank-sim listening on http://ADDR`.
    #[arg(long, default_value = "127.0.0.1:8091")]
    pub listen: String,
    /// The bank code it simulates (signs answers and notices).
    #[arg(long, default_value = DEFAULT_BANK, value_parser = bank_code)]
    pub bank: String,
    /// The app id the centre signs with (x-bank-app).
    #[arg(long, default_value = DEFAULT_APP_ID)]
    pub app_id: String,
    /// The shared signing secret (default: $ANJU_BANK_SECRET, else the development secret,
    /// allowed on a loopback address only). Never logged.
    #[arg(long)]
    pub secret: Option<String>,
    /// Where to POST signed notices (the centre's callback URL); without it notices wait
    /// in the outbox.
    #[arg(long, value_parser = http_url)]
    pub callback: Option<String>,
    /// Business date: the value date of everything executed (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<jiff::civil::Date>,
    /// Accounts to open at start when absent: a JSON array of
    /// {"account","name","balance_fen","frozen"}.
    #[arg(long, value_name = "FILE")]
    pub accounts: Option<PathBuf>,
    /// A peer bank's simulator: transfers to bank CODE are forwarded to URL's
    /// /sim/credit (repeatable).
    #[arg(long = "peer", value_name = "CODE=URL", value_parser = peer)]
    pub peers: Vec<(String, String)>,
    /// Seed of the fault dice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Delay added to every answer, ms.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// Up to this much more delay, uniformly, ms.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub jitter_ms: u64,
    /// Percentage (0–100) of instruction requests that hang for --hang-ms: half before
    /// they are received (executed late unless a status query closed the serial), half
    /// after executing (the answer is lost).
    #[arg(long, default_value = "0", value_name = "P")]
    pub timeout_rate: Percent,
    /// How long a hanging request hangs, ms.
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    pub hang_ms: u64,
    /// Percentage (0–100) of new instructions rejected (simulated rejection).
    #[arg(long, default_value = "0", value_name = "P")]
    pub reject_rate: Percent,
    /// Percentage (0–100) of notices delivered twice (same notice_id).
    #[arg(long, default_value = "0", value_name = "P")]
    pub duplicate_notice_rate: Percent,
    /// Each notice waits a random 0..MS before delivery, so they arrive out of order.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub reorder_notices_ms: u64,
    /// Percentage (0–100) of instruction requests whose notices are delivered (and
    /// acknowledged) before the answer.
    #[arg(long, default_value = "0", value_name = "P")]
    pub notice_before_response_rate: Percent,
    /// End the process abruptly right after committing every N-th execution, before
    /// answering (the books and the outbox are on disk). Implies --restart.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub crash_every: Option<u64>,
    /// Run as a supervisor that restarts the simulator when it dies abnormally (default
    /// with --crash-every).
    #[arg(long, overrides_with = "no_restart")]
    pub restart: bool,
    /// Do not supervise, even with --crash-every.
    #[arg(long)]
    pub no_restart: bool,
    /// The 1-year LPR, percent (commercial loans of up to 60 months).
    #[arg(long = "lpr-1y-pct", default_value = "3.0", value_name = "PCT", value_parser = rate_pct)]
    pub lpr_1y_pct: Rate,
    /// The 5-year LPR, percent (commercial loans of more than 60 months).
    #[arg(long = "lpr-5y-pct", default_value = "3.5", value_name = "PCT", value_parser = rate_pct)]
    pub lpr_5y_pct: Rate,
    /// The spread over the LPR for a first home, basis points (may be negative).
    #[arg(long, default_value_t = -30, value_name = "BP", allow_negative_numbers = true)]
    pub first_home_spread_bp: i64,
    /// The spread over the LPR for a second home, basis points (may be negative).
    #[arg(
        long,
        default_value_t = 30,
        value_name = "BP",
        allow_negative_numbers = true
    )]
    pub second_home_spread_bp: i64,
    /// Largest (commercial + HPF amount) / price for a first home, whole percent.
    #[arg(long, default_value_t = 80, value_name = "PCT", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub max_ltv_first_pct: u32,
    /// Largest (commercial + HPF amount) / price for a second home, whole percent.
    #[arg(long, default_value_t = 70, value_name = "PCT", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub max_ltv_second_pct: u32,
    /// Largest total first payment (commercial + HPF) / the borrowers' summed monthly
    /// income, whole percent.
    #[arg(long, default_value_t = 50, value_name = "PCT", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub max_dti_pct: u32,
    /// Decline every commercial-loan application with a borrower of this ID number
    /// (repeatable; for tests and demos).
    #[arg(long = "decline-id", value_name = "ID")]
    pub decline_ids: Vec<String>,
    /// Print the protocol's OpenAPI document and exit.
    #[arg(long)]
    pub openapi: bool,
    /// Stop when standard input reaches its end: for a parent process that starts the
    /// simulator with a pipe as its stdin, so the simulator ends with the parent even if
    /// the parent is killed.
    #[arg(long)]
    pub exit_with_parent: bool,
    /// Run as the supervised worker (set by the supervisor).
    #[arg(long, hide = true)]
    pub worker: bool,
}

impl BankSimArgs {
    fn faults(&self) -> Faults {
        Faults {
            latency_ms: self.latency_ms,
            jitter_ms: self.jitter_ms,
            timeout_rate: self.timeout_rate,
            hang_ms: self.hang_ms,
            reject_rate: self.reject_rate,
            duplicate_notice_rate: self.duplicate_notice_rate,
            reorder_notices_ms: self.reorder_notices_ms,
            notice_before_response_rate: self.notice_before_response_rate,
            crash_every: self.crash_every,
            seed: self.seed,
        }
    }

    fn lending(&self) -> LendingRules {
        LendingRules {
            lpr_1y: self.lpr_1y_pct,
            lpr_5y: self.lpr_5y_pct,
            first_home_spread_bp: self.first_home_spread_bp,
            second_home_spread_bp: self.second_home_spread_bp,
            max_ltv_first_pct: self.max_ltv_first_pct,
            max_ltv_second_pct: self.max_ltv_second_pct,
            max_dti_pct: self.max_dti_pct,
            decline_ids: self.decline_ids.iter().cloned().collect(),
        }
    }

    fn supervised(&self) -> bool {
        !self.worker && !self.no_restart && (self.restart || self.crash_every.is_some())
    }
}

/// Whether `listen` names a loopback address (`127.0.0.1:…`, `[::1]:…`, `localhost:…`).
fn is_loopback(listen: &str) -> bool {
    match listen.parse::<SocketAddr>() {
        Ok(a) => a.ip().is_loopback(),
        Err(_) => listen.starts_with("localhost:"),
    }
}

/// Runs `anju bank-sim`.
pub fn run(args: BankSimArgs) -> anyhow::Result<u8> {
    if args.openapi {
        print!("{OPENAPI}");
        std::io::stdout().flush()?;
        return Ok(0);
    }
    let secret = match &args.secret {
        Some(s) => s.clone(),
        None => match std::env::var(SECRET_ENV) {
            Ok(s) => s,
            Err(_) if is_loopback(&args.listen) => {
                if !args.worker {
                    tracing::warn!(
                        "bank-sim: no --secret nor ${SECRET_ENV}; using the development secret (loopback only)"
                    );
                }
                DEV_SECRET.to_owned()
            }
            Err(_) => anyhow::bail!(
                "bank-sim listens on {} (not loopback): give the secret with --secret or ${SECRET_ENV}; the development secret is for loopback only",
                args.listen
            ),
        },
    };
    if secret.len() < 8 {
        anyhow::bail!("the secret must be at least 8 characters");
    }
    if args.supervised() {
        return supervise(&args);
    }
    work(args, secret)
}

/// The simulator itself.
fn work(args: BankSimArgs, secret: String) -> anyhow::Result<u8> {
    let Some(path) = &args.db else {
        anyhow::bail!("--db FILE is needed to serve");
    };
    let date = args
        .date
        .unwrap_or_else(|| jiff::ZonedDateTime::now().date());
    let mut db = BankDb::open(path, &args.bank)?;
    if let Some(file) = &args.accounts {
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read --accounts {}: {e}", file.display()))?;
        let accounts: Vec<OpenAccount> = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "--accounts {}: expected a JSON array of {{\"account\",\"name\",\"balance_fen\"}}: {e}",
                file.display()
            )
        })?;
        let mut opened = 0;
        for a in &accounts {
            if db.seed_account(a, date)? {
                opened += 1;
            }
        }
        tracing::info!(
            opened,
            listed = accounts.len(),
            "bank-sim: accounts seeded from {}",
            file.display()
        );
    }
    if db.ensure_lending_account(date)? {
        tracing::info!("bank-sim: the bank's own lending account opened");
    }
    let peers: BTreeMap<String, String> = args.peers.iter().cloned().collect();
    let config = SimConfig {
        bank: args.bank.clone(),
        app_id: args.app_id.clone(),
        secret,
        callback: args.callback.clone(),
        business_date: date,
        faults: args.faults(),
        peers,
        lending: args.lending(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = bind(&args.listen, args.worker).await?;
        let local = listener.local_addr()?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{LISTENING}http://{local}")?;
        out.flush()?;
        drop(out);
        let stop = crate::exchange_sim::stop_signal(args.exit_with_parent);
        serve(listener, config, db, stop).await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(0)
}

/// Binds `listen`; a restarted worker waits up to 10 s for its old port to be free.
async fn bind(listen: &str, retry: bool) -> anyhow::Result<tokio::net::TcpListener> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => return Ok(l),
            Err(e)
                if retry
                    && e.kind() == std::io::ErrorKind::AddrInUse
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => anyhow::bail!("cannot listen on {listen}: {e}"),
        }
    }
}

/// This process's arguments for a worker: without `--listen` and `--exit-with-parent`.
fn worker_args() -> Vec<OsString> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in std::env::args_os().skip(1) {
        if skip {
            skip = false;
            continue;
        }
        match a.to_str() {
            Some("--listen") => skip = true,
            Some(s) if s.starts_with("--listen=") || s == "--exit-with-parent" => {}
            _ => out.push(a),
        }
    }
    out
}

/// A started worker and the address it printed.
fn start_worker(
    exe: &std::path::Path,
    base: &[OsString],
    listen: &str,
) -> anyhow::Result<(Child, String)> {
    let mut child = Command::new(exe)
        .args(base)
        .args(["--worker", "--exit-with-parent", "--listen", listen])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start the bank-sim worker: {e}"))?;
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        anyhow::bail!("the worker has no stdout");
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let _ = tx.send(reader.read_line(&mut line).map(|_| line));
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(line)) => line,
        _ => String::new(),
    };
    match line.trim().strip_prefix(LISTENING) {
        Some(url) => Ok((child, url.to_owned())),
        None => {
            let _ = child.kill();
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            anyhow::bail!("the bank-sim worker did not start ({status})")
        }
    }
}

/// Ends the worker: closes its lifeline (a clean stop), then kills it after 5 s.
fn stop_worker(child: &mut Child) {
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The supervisor: keeps a worker running on one address until told to stop.
fn supervise(args: &BankSimArgs) -> anyhow::Result<u8> {
    let exe = std::env::current_exe()?;
    let base = worker_args();
    let stop = Arc::new(AtomicBool::new(false));
    if args.exit_with_parent {
        let s = Arc::clone(&stop);
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            s.store(true, Ordering::SeqCst);
        });
    }
    {
        let s = Arc::clone(&stop);
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(shutdown_signal());
                s.store(true, Ordering::SeqCst);
            }
        });
    }
    let mut listen = args.listen.clone();
    let mut first = true;
    let mut failed_starts = 0;
    let mut restarts = 0u64;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(0);
        }
        let (mut child, url) = match start_worker(&exe, &base, &listen) {
            Ok(x) => x,
            Err(e) if first => return Err(e),
            Err(e) => {
                failed_starts += 1;
                if failed_starts >= MAX_FAILED_STARTS {
                    anyhow::bail!("{e}; gave up after {failed_starts} attempts");
                }
                tracing::warn!(error = %e, "bank-sim supervisor: worker did not start; trying again");
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        failed_starts = 0;
        if first {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{LISTENING}{url}")?;
            out.flush()?;
            listen = url.trim_start_matches("http://").to_owned();
            first = false;
            tracing::info!(address = %listen, "bank-sim supervisor: worker running");
        } else {
            tracing::info!(address = %listen, restarts, "bank-sim supervisor: worker restarted");
        }
        let status: ExitStatus = loop {
            if stop.load(Ordering::SeqCst) {
                stop_worker(&mut child);
                return Ok(0);
            }
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => {
                    let _ = child.kill();
                    anyhow::bail!("cannot watch the bank-sim worker: {e}");
                }
            }
        };
        if status.success() {
            tracing::info!("bank-sim supervisor: worker stopped cleanly");
            return Ok(0);
        }
        restarts += 1;
        tracing::warn!(%status, restarts, "bank-sim supervisor: worker died; restarting it");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_and_addresses_are_checked() {
        assert_eq!(
            peer("102=http://127.0.0.1:9/").ok(),
            Some(("102".to_owned(), "http://127.0.0.1:9".to_owned()))
        );
        assert!(peer("102").is_err());
        assert!(peer("1 2=http://x").is_err());
        assert!(peer("102=ftp://x").is_err());
        assert!(is_loopback("127.0.0.1:0"));
        assert!(is_loopback("[::1]:8091"));
        assert!(is_loopback("localhost:8091"));
        assert!(!is_loopback("0.0.0.0:8091"));
    }
}
