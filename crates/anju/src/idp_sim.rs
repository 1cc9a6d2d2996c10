//! `anju idp-sim`: serve the identity provider's protocol (face / e-ID login, see
//! `anju_idp::protocol`) for a list of people, with fault injection; or print the
//! protocol's OpenAPI document (`--openapi`), or write the built-in sample people
//! (`--sample-out`).
//!
//! Tests and the demo start it as a child process with
//! `anju_idp::sim::process::IdpSimProcess`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anju_idp::sim::faults::{Faults, Percent};
use anju_idp::sim::people::People;
use anju_idp::sim::server::{SimConfig, serve};
use anju_idp::sim::{DEFAULT_CLIENT_ID, DEV_SECRET, LISTENING, OPENAPI};

/// Environment variable holding the client secret when `--client-secret` is not given.
const SECRET_ENV: &str = "ANJU_IDP_SECRET";

/// `anju idp-sim` options.
#[derive(Debug, clap::Args)]
pub struct IdpSimArgs {
    /// People who can log in: a people file (`{"people":[{"resident_id","name","alive",
    /// "face_ok","eid"}]}`) or an `anju exchange-sim` dataset (everyone with an identity
    /// record). Default: a built-in sample of five people.
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Address to listen on (port 0: any free port; the chosen address is printed as
    /// `idp-sim listening on http://ADDR`).
    #[arg(long, default_value = "127.0.0.1:8093")]
    pub listen: String,
    /// The issuer (`iss`) of the tokens (default: http://ADDR as bound).
    #[arg(long)]
    pub issuer: Option<String>,
    /// The registered client's id.
    #[arg(long, default_value = DEFAULT_CLIENT_ID)]
    pub client_id: String,
    /// The registered client's secret, which also keys the tokens' HMAC-SM3 (default:
    /// $ANJU_IDP_SECRET, else the development secret). Never logged.
    #[arg(long)]
    pub client_secret: Option<String>,
    /// People (resident ID numbers, comma-separated) who fail the face check.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub face_fail: Vec<String>,
    /// People (resident ID numbers, comma-separated) who have no e-ID.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub no_eid: Vec<String>,
    /// How long a code is good for, seconds.
    #[arg(long, default_value_t = anju_idp::protocol::CODE_TTL_SECS, value_name = "S")]
    pub code_ttl_secs: u64,
    /// Seed of the fault dice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Delay added to every /authorize and /token answer, ms.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// Percentage (0–100) of token requests answered 500 or 503.
    #[arg(long, default_value = "0", value_name = "P")]
    pub fail_rate: Percent,
    /// Answer every token request 500.
    #[arg(long)]
    pub status_500: bool,
    /// Answer every token request 200 with garbage (not JSON, truncated JSON, an id_token
    /// that is not a JWS, signed claims of the wrong shape — in turn).
    #[arg(long)]
    pub malformed: bool,
    /// Sign ID tokens with the wrong key.
    #[arg(long)]
    pub bad_signature: bool,
    /// Issue ID tokens that expired an hour ago.
    #[arg(long)]
    pub expired_tokens: bool,
    /// Print the protocol's OpenAPI document and exit.
    #[arg(long, conflicts_with = "dataset")]
    pub openapi: bool,
    /// Write the built-in sample people to this file and exit.
    #[arg(long, conflicts_with_all = ["dataset", "openapi"], value_name = "FILE")]
    pub sample_out: Option<PathBuf>,
    /// Stop when standard input reaches its end (for a parent process holding a pipe).
    #[arg(long)]
    pub exit_with_parent: bool,
}

impl IdpSimArgs {
    fn faults(&self) -> Faults {
        Faults {
            latency_ms: self.latency_ms,
            fail_rate: self.fail_rate,
            status_500: self.status_500,
            malformed: self.malformed,
            bad_signature: self.bad_signature,
            expired_tokens: self.expired_tokens,
            seed: self.seed,
        }
    }
}

/// Runs `anju idp-sim`.
pub fn run(args: IdpSimArgs) -> anyhow::Result<u8> {
    if args.openapi {
        print!("{OPENAPI}");
        std::io::stdout().flush()?;
        return Ok(0);
    }
    if let Some(out) = &args.sample_out {
        std::fs::write(out, People::sample().to_json() + "\n")?;
        println!("wrote {}: the sample people", out.display());
        return Ok(0);
    }
    let mut people = match &args.dataset {
        Some(path) => People::load(path)?,
        None => People::sample(),
    };
    let missing = people.fail_face(&args.face_fail) + people.without_eid(&args.no_eid);
    if missing > 0 {
        tracing::warn!(
            missing,
            "idp-sim: --face-fail / --no-eid name people not in the dataset"
        );
    }
    let secret = match &args.client_secret {
        Some(s) => s.clone(),
        None => std::env::var(SECRET_ENV).unwrap_or_else(|_| {
            tracing::warn!(
                "idp-sim: no --client-secret nor ${SECRET_ENV}; using the development secret"
            );
            DEV_SECRET.to_owned()
        }),
    };
    if secret.len() < 8 {
        anyhow::bail!("the client secret must be at least 8 characters");
    }
    if args.client_id.is_empty() || !args.client_id.bytes().all(|b| b.is_ascii_graphic()) {
        anyhow::bail!("--client-id must be visible ASCII characters");
    }
    let faults = args.faults();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
        let local = listener.local_addr()?;
        let issuer = args
            .issuer
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        tracing::info!(
            people = people.by_id.len(),
            client_id = %args.client_id,
            issuer = %issuer,
            faults = %faults,
            "idp-sim: ready"
        );
        let mut config = SimConfig::new(people, &args.client_id, &secret, &issuer);
        config.faults = faults;
        config.code_ttl = Duration::from_secs(args.code_ttl_secs);
        let mut out = std::io::stdout().lock();
        writeln!(out, "{LISTENING}http://{local}")?;
        out.flush()?;
        drop(out);
        let stop = crate::exchange_sim::stop_signal(args.exit_with_parent);
        serve(listener, config, stop).await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(0)
}
