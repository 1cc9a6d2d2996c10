//! `anju idp-sim` as a child process, for tests and the demo, and a "browser" that
//! follows the provider's login page for a simulated person.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use anju_app::identity::{AuthMethod, IdentityProvider};
//! use anju_idp::sim::process::{IdpSimProcess, browse};
//!
//! let exe = std::env::current_exe()?; // the `anju` binary (in tests: env!("CARGO_BIN_EXE_anju"))
//! let sim = IdpSimProcess::start(&exe, &[])?;        // the built-in sample people
//! let idp = sim.client()?;                            // an IdpClient with the simulator's secret
//! let url = idp.authorize_url_for("st", "no", "http://127.0.0.1:8080/login/callback",
//!                                 Some("330802199001011232"), Some(AuthMethod::Face));
//! let to = browse(&url)?.location.unwrap_or_default();  // the 302 back to the centre
//! let code = anju_idp::protocol::callback(to.split_once('?').map_or("", |x| x.1), "st")?;
//! let who = idp.exchange(&code, "http://127.0.0.1:8080/login/callback", "no")?;
//! # let _ = who; Ok(()) }
//! ```
//!
//! The child gets `--exit-with-parent` with a pipe as its stdin, so it ends with this
//! process even when this process is killed. Unless `extra` says otherwise it listens on
//! `127.0.0.1:0` with the development secret ([`DEV_SECRET`]).

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use super::{DEFAULT_CLIENT_ID, DEV_SECRET, LISTENING};
use crate::client::{IdpClient, IdpSettings, SettingsError};

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
    #[error("anju idp-sim did not start: {0}")]
    NotStarted(String),
}

/// A running `anju idp-sim`, killed on drop.
#[derive(Debug)]
pub struct IdpSimProcess {
    child: Child,
    /// Its stdin: it exits when this closes.
    _lifeline: Option<ChildStdin>,
    addr: SocketAddr,
    url: String,
    client_id: String,
    secret: String,
    log: Option<PathBuf>,
}

/// The value of `--name` in `args` (`--name V` or `--name=V`), the last one winning.
fn flag_value(args: &[&str], name: &str) -> Option<String> {
    let mut out = None;
    let prefix = format!("{name}=");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if *a == name {
            out = it.next().map(|s| (*s).to_owned());
        } else if let Some(v) = a.strip_prefix(&prefix) {
            out = Some(v.to_owned());
        }
    }
    out
}

impl IdpSimProcess {
    /// Starts `exe idp-sim` with `extra` flags (`--dataset`, faults, …); its log is
    /// discarded.
    pub fn start(exe: &Path, extra: &[&str]) -> Result<IdpSimProcess, ProcessError> {
        IdpSimProcess::start_logged(exe, extra, None)
    }

    /// [`IdpSimProcess::start`], writing the simulator's log (stderr) to `log`.
    pub fn start_logged(
        exe: &Path,
        extra: &[&str],
        log: Option<&Path>,
    ) -> Result<IdpSimProcess, ProcessError> {
        let mut cmd = Command::new(exe);
        cmd.arg("idp-sim").arg("--exit-with-parent");
        if flag_value(extra, "--listen").is_none() {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        let secret = flag_value(extra, "--client-secret");
        if secret.is_none() {
            cmd.args(["--client-secret", DEV_SECRET]);
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
            let _ = child.wait();
            return Err(ProcessError::NotStarted("no stdout".to_owned()));
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send(read);
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
        Ok(IdpSimProcess {
            child,
            _lifeline: lifeline,
            url: format!("http://{addr}"),
            addr,
            client_id: flag_value(extra, "--client-id")
                .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_owned()),
            secret: secret.unwrap_or_else(|| DEV_SECRET.to_owned()),
            log: log.map(Path::to_owned),
        })
    }

    /// The base URL (and issuer), `http://ADDR`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The log file, if any.
    pub fn log(&self) -> Option<&Path> {
        self.log.as_deref()
    }

    /// Client settings for this simulator (its URL as issuer, client id and secret).
    pub fn settings(&self) -> IdpSettings {
        IdpSettings::new(&self.url, &self.client_id, &self.secret)
    }

    /// A client with [`IdpSimProcess::settings`].
    pub fn client(&self) -> Result<IdpClient, SettingsError> {
        IdpClient::new(self.settings())
    }
}

impl Drop for IdpSimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the provider answered the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` of a redirect.
    pub location: Option<String>,
    /// The body (a login page, an error).
    pub body: String,
}

/// Fetches `url` the way a browser would, without following a redirect (so the caller
/// reads the `Location` back to the centre).
pub fn browse(url: &str) -> Result<Page, String> {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut r = agent.get(url).call().map_err(|e| e.to_string())?;
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    Ok(Page {
        status,
        location,
        body,
    })
}
