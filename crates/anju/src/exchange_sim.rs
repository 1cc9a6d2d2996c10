//! `anju exchange-sim`: serve the provincial data-exchange protocol from a dataset file,
//! with fault injection; or generate that file from a centre's members (`--generate`);
//! or print the protocol's OpenAPI document (`--openapi`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;

use anju_domain::sharing::Department;
use anju_exchange::sim::OPENAPI;
use anju_exchange::sim::dataset::Dataset;
use anju_exchange::sim::faults::{BatchFaults, Faults, Percent};
use anju_exchange::sim::generate::{CentrePerson, generate};
use anju_exchange::sim::mortgages::{MortgageRegister, side_file};
use anju_exchange::sim::server::{SimConfig, serve, shutdown_signal};

/// Environment variable holding the shared secret when `--secret` is not given.
const SECRET_ENV: &str = "ANJU_EXCHANGE_SECRET";
/// The development secret used when neither `--secret` nor the environment gives one.
const DEV_SECRET: &str = "anju-dev-secret";

fn department(text: &str) -> Result<Department, String> {
    Department::from_code(text.trim()).ok_or_else(|| {
        format!(
            "unknown department {text:?}; one of: {}",
            Department::ALL.map(Department::code).join(", ")
        )
    })
}

/// `anju exchange-sim` options.
#[derive(Debug, clap::Args)]
pub struct ExchangeSimArgs {
    /// Dataset file (JSON) to serve. Mortgage registrations and releases are kept in
    /// `<dataset>.mortgages.jsonl` next to it (replayed at start).
    #[arg(long, required_unless_present_any = ["generate", "openapi"])]
    pub dataset: Option<PathBuf>,
    /// Address to listen on (port 0: any free port; the chosen address is printed as
    /// `exchange-sim listening on http://ADDR`).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: String,
    /// The caller's app id accepted in X-Exchange-App.
    #[arg(long, default_value = "anju-dev")]
    pub app_id: String,
    /// The shared signing secret (default: $ANJU_EXCHANGE_SECRET, else the development
    /// secret). Never logged.
    #[arg(long)]
    pub secret: Option<String>,
    /// Seed of the fault dice and of the generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Delay added to every answer, ms.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// Up to this much more delay, uniformly, ms.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub jitter_ms: u64,
    /// Percentage (0–100) of requests that hang for --hang-ms before the answer.
    #[arg(long, default_value = "0", value_name = "P")]
    pub timeout_rate: Percent,
    /// How long a hanging request hangs, ms.
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    pub hang_ms: u64,
    /// Percentage (0–100) of requests answered 500 or 503.
    #[arg(long, default_value = "0", value_name = "P")]
    pub error_rate: Percent,
    /// Percentage (0–100) of requests answered 200 with garbage (not JSON, truncated
    /// JSON, another query's answer, money as bare numbers — in turn).
    #[arg(long, default_value = "0", value_name = "P")]
    pub malformed_rate: Percent,
    /// Departments the faults apply to, comma-separated (default: all), e.g.
    /// civil-affairs,tax.
    #[arg(long, value_delimiter = ',', value_parser = department, value_name = "DEPTS")]
    pub fault_departments: Vec<Department>,
    /// How faults hit a batch (`POST /v1/batch`): `items` (each question on its own, as
    /// if asked alone), `request` (the batch as a whole) or `both`.
    #[arg(long, default_value = "items", value_name = "MODE")]
    pub batch_faults: BatchFaults,
    /// Write a dataset generated from the centre's members (needs --db and --out)
    /// instead of serving.
    #[arg(long, requires_all = ["db", "out"], conflicts_with_all = ["openapi", "dataset"])]
    pub generate: bool,
    /// Database URL for --generate (sqlite://PATH or postgres://…).
    #[arg(long, requires = "generate")]
    pub db: Option<String>,
    /// Centre for --generate (default: the only one in the database).
    #[arg(long, requires = "generate")]
    pub centre: Option<String>,
    /// Output file for --generate.
    #[arg(long, requires = "generate")]
    pub out: Option<PathBuf>,
    /// Print the protocol's OpenAPI document and exit.
    #[arg(long, conflicts_with = "dataset")]
    pub openapi: bool,
    /// Stop when standard input reaches its end: for a parent process that starts the
    /// simulator with a pipe as its stdin, so the simulator ends with the parent even if
    /// the parent is killed.
    #[arg(long)]
    pub exit_with_parent: bool,
}

impl ExchangeSimArgs {
    fn faults(&self) -> Faults {
        let departments: Vec<Department> = self
            .fault_departments
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Faults {
            latency_ms: self.latency_ms,
            jitter_ms: self.jitter_ms,
            timeout_rate: self.timeout_rate,
            hang_ms: self.hang_ms,
            error_rate: self.error_rate,
            malformed_rate: self.malformed_rate,
            departments,
            batch: self.batch_faults,
            seed: self.seed,
        }
    }
}

/// Runs `anju exchange-sim`.
pub fn run(args: ExchangeSimArgs) -> anyhow::Result<u8> {
    if args.openapi {
        print!("{OPENAPI}");
        std::io::stdout().flush()?;
        return Ok(0);
    }
    if args.generate {
        return write_dataset(&args);
    }
    let Some(path) = &args.dataset else {
        anyhow::bail!("--dataset FILE is needed to serve");
    };
    let dataset = Dataset::load(path)?;
    let secret = match &args.secret {
        Some(s) => s.clone(),
        None => std::env::var(SECRET_ENV).unwrap_or_else(|_| {
            tracing::warn!(
                "exchange-sim: no --secret nor ${SECRET_ENV}; using the development secret"
            );
            DEV_SECRET.to_owned()
        }),
    };
    if secret.is_empty() {
        anyhow::bail!("the secret is empty");
    }
    let faults = args.faults();
    tracing::info!(
        people = dataset.people.len(),
        facts = dataset.fact_count(),
        app_id = %args.app_id,
        faults = %faults,
        "exchange-sim: dataset {} loaded",
        path.display()
    );
    let side = side_file(path);
    let mortgages = MortgageRegister::open(&dataset, &side)?;
    tracing::info!(
        registrations = mortgages.len(),
        "exchange-sim: mortgage register {}",
        side.display()
    );
    let config = SimConfig {
        dataset,
        app_id: args.app_id.clone(),
        secret,
        faults,
        mortgages,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
        let local = listener.local_addr()?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "exchange-sim listening on http://{local}")?;
        out.flush()?;
        drop(out);
        let stop = stop_signal(args.exit_with_parent);
        serve(listener, config, stop).await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(0)
}

/// `--generate`: reads the centre's members and writes a dataset.
fn write_dataset(args: &ExchangeSimArgs) -> anyhow::Result<u8> {
    let (Some(db), Some(out)) = (&args.db, &args.out) else {
        anyhow::bail!("--generate needs --db and --out");
    };
    let store = crate::db::open(db)?;
    let centre = crate::only_centre(store.as_ref(), args.centre.clone())?;
    let (dataset, members, business_date) = centre_dataset(store.as_ref(), &centre, args.seed)?;
    dataset.save(out)?;
    println!(
        "wrote {}: {} people ({members} members of centre {centre}), {} facts; seed {}, business date {business_date}",
        out.display(),
        dataset.people.len(),
        dataset.fact_count(),
        args.seed
    );
    Ok(0)
}

/// The dataset generated for the members of `centre` (with how many members it covers and
/// the business date it was generated for).
pub fn centre_dataset(
    store: &dyn anju_store::Store,
    centre: &str,
    seed: u64,
) -> anyhow::Result<(
    anju_exchange::sim::dataset::Dataset,
    usize,
    jiff::civil::Date,
)> {
    let mut tx = store.begin_read()?;
    let business_date = tx
        .centre(centre)?
        .ok_or_else(|| anyhow::anyhow!("no centre {centre}"))?
        .business_date;
    let units: BTreeMap<String, (String, String)> = tx
        .units_all(centre)?
        .into_iter()
        .map(|u| (u.unit_no, (u.name, u.credit_code)))
        .collect();
    let mut members = tx.members_with_unit(centre)?;
    // Flexible workers have no unit: find their personal accounts (201.<account>) too.
    let with_unit: BTreeSet<String> = members.iter().map(|m| m.account_no.clone()).collect();
    let others: Vec<String> = tx
        .all_accounts(centre)?
        .into_iter()
        .filter(|a| a.no.code() == "201")
        .filter_map(|a| a.no.sub_key().map(str::to_owned))
        .filter(|k| !with_unit.contains(k))
        .collect();
    for account in others {
        if let Some(m) = tx.member(centre, &account)? {
            members.push(m);
        }
    }
    drop(tx);
    let people: Vec<CentrePerson> = members
        .into_iter()
        .map(|m| {
            let unit = m.unit_no.as_ref().and_then(|u| units.get(u));
            CentrePerson {
                id_number: m.id_number,
                name: m.name,
                employer_name: unit.map(|u| u.0.clone()),
                employer_credit_code: unit.map(|u| u.1.clone()),
                monthly_base: m.base,
                opened_on: m.opened_on,
                status: m.status,
            }
        })
        .collect();
    let dataset = generate(&people, seed, business_date)?;
    Ok((dataset, people.len(), business_date))
}

/// Resolves on Ctrl-C or SIGTERM, or — with `exit_with_parent` — when standard input
/// closes: the parent that started a simulator holds its stdin, so the simulator ends with
/// it even when the parent is killed.
pub async fn stop_signal(exit_with_parent: bool) {
    let parent_gone = async move {
        if !exit_with_parent {
            return std::future::pending::<()>().await;
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            // Reads (and ignores) stdin until the parent closes it or dies.
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            let _ = tx.send(());
        });
        let _ = rx.await;
    };
    tokio::select! {
        () = shutdown_signal() => {}
        () = parent_gone => {}
    }
}
