//! `anju`: the housing provident fund centre platform's one binary — the demo, the server,
//! migrations, the audit, identifier checks and benchmarks.

mod access_cmd;
mod bank_sim;
mod bench;
mod bench_loans;
mod bench_settle;
mod bench_withdraw;
mod check;
mod collect;
mod db;
mod demo;
mod demo_access;
mod demo_banks;
mod demo_loans;
mod demo_withdraw;
mod drill;
mod exchange_sim;
mod idp_sim;
mod loan;
mod notify_cmd;
mod policy_cmd;
mod settle;
mod sharing;
mod verify_doc;
mod withdraw;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anju_app::ledger;
use anju_domain::ledger::{ChainHead, Digest32};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_store::{Backend, Store};
use clap::{Parser, Subcommand};

/// Anju (安居): a housing provident fund centre's whole business on one system.
#[derive(Debug, Parser)]
#[command(name = "anju", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Create (if absent) and seed a demo centre, then serve it on localhost.
    Demo {
        /// Database URL (sqlite://PATH or postgres://…).
        #[arg(long, default_value = "sqlite://anju-demo.db")]
        db: String,
        /// Port to listen on (127.0.0.1).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Centre policy file (TOML); the shipped Quzhou policy by default.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Serve an existing database.
    Serve {
        /// Database URL (sqlite://PATH or postgres://…).
        #[arg(long)]
        db: String,
        /// Port to listen on.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address to bind.
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        bind: IpAddr,
        /// Centre to serve (default: the only one in the database).
        #[arg(long)]
        centre: Option<String>,
        /// Centre policy file (TOML); the shipped Quzhou policy by default.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// The commissioned banks: their notices are received at POST /bank/notices and
        /// unanswered instructions are asked about in the background.
        #[command(flatten)]
        banks: settle::BankArgs,
        /// Member sign-in: the SMS gateway and the identity provider.
        #[command(flatten)]
        identity: IdentityArgs,
        /// The data exchange online applications are verified through (without it,
        /// online applications are refused with the reason).
        #[command(flatten)]
        exchange: sharing::ExchangeArgs,
    },
    /// Create the database if needed and apply migrations.
    Migrate {
        /// Database URL (sqlite://PATH or postgres://…).
        #[arg(long)]
        db: String,
        /// Then refresh the planner's statistics (and on SQLite fold the WAL in): after
        /// loading a centre's data in bulk.
        #[arg(long)]
        optimize: bool,
    },
    /// Re-verify the journal's hash chain, every ledger invariant and the security audit
    /// log's hash chain; exit 1 naming the first broken one.
    Audit {
        /// Database URL (sqlite://PATH or postgres://…).
        #[arg(long)]
        db: String,
        /// Centre to audit (default: every centre in the database).
        #[arg(long)]
        centre: Option<String>,
        /// A chain head recorded outside the database by an earlier audit, as SEQ:HASH
        /// (repeatable): the entry at SEQ must still have HASH.
        #[arg(long = "anchor", value_name = "SEQ:HASH")]
        anchors: Vec<String>,
    },
    /// Check a resident ID number or a unified social credit code.
    Check {
        /// What to check.
        #[arg(value_enum)]
        kind: check::Kind,
        /// The value (omit with --stdin).
        value: Option<String>,
        /// Read one value per line from standard input and print one verdict per line.
        #[arg(long, conflicts_with = "value")]
        stdin: bool,
    },
    #[command(flatten)]
    Collect(collect::CollectCmd),
    /// Serve the provincial data-exchange protocol from a dataset file, with fault
    /// injection (or generate the file with --generate, or print the OpenAPI document).
    ExchangeSim(exchange_sim::ExchangeSimArgs),
    /// Simulate a commissioned bank's settlement API from an SQLite file, with fault
    /// injection (or print the OpenAPI document).
    BankSim(bank_sim::BankSimArgs),
    /// Simulate the identity provider (face / e-ID login, OIDC-style) with fault
    /// injection (or print the OpenAPI document).
    IdpSim(idp_sim::IdpSimArgs),
    /// Commissioned banks (受委托银行): register, list, bind members' cards, record units'
    /// accounts.
    Bank {
        #[command(subcommand)]
        cmd: settle::BankCmd,
    },
    /// Instructions to banks: pay out, collect, ask about unanswered ones, suspense,
    /// reconciliation items, refused notices.
    Settle {
        #[command(subcommand)]
        cmd: settle::SettleCmd,
    },
    /// Daily reconciliation (对账) of the fund's account at a bank; exit 1 while
    /// differences stay open.
    Reconcile(settle::ReconcileArgs),
    /// The settlement fault drill against a running `anju bank-sim` (rerun after a kill to
    /// resume); prints one JSON line, exit 0 only if every check holds.
    BankDrill(drill::DrillArgs),
    #[command(flatten)]
    Sharing(sharing::SharingCmd),
    /// Withdrawals (提取): apply, follow, review (maker-checker), receipt.
    Withdraw {
        #[command(subcommand)]
        cmd: Box<withdraw::WithdrawCmd>,
    },
    /// Loans (贷款): repayment schedules (还款计划), apply, follow, review
    /// (maker-checker), disburse, prepay, the overdue register.
    Loan {
        #[command(subcommand)]
        cmd: Box<loan::LoanCmd>,
    },
    /// Administration (issue 8): service points, staff and role grants (maker-checker),
    /// units' clerks, members' phones, the security audit log; `bootstrap` creates the
    /// first accounts.
    Access {
        #[command(subcommand)]
        cmd: Box<access_cmd::AccessCmd>,
    },
    /// The centre's policy versions (政策参数): show, history, propose a new file (a
    /// manager; another manager approves it with `anju access approval approve`), export.
    Policy {
        #[command(subcommand)]
        cmd: Box<policy_cmd::PolicyCmd>,
    },
    /// Verify a signed contract or authorisation (SM2/SM3); exit 1 if anything fails.
    VerifyDocument(verify_doc::VerifyDocumentArgs),
    /// The day close (日终) of the business date: settlement status queries, remittance
    /// reminders, the loan batch (overdue, penalty, classification, repayments); then the
    /// business date moves to the next day. Closing a closed date prints its figures.
    CloseDay(Box<loan::CloseDayArgs>),
    /// Members' notifications (通知): queue balance changes and send by text message
    /// (`run`), a member's choices (`prefs`), a member's notifications (`list`).
    Notify {
        #[command(subcommand)]
        cmd: Box<notify_cmd::NotifyCmd>,
    },
    /// Benchmarks of the production posting path (prints one JSON line).
    Bench {
        #[command(subcommand)]
        which: BenchCmd,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum BackendArg {
    Sqlite,
    Postgres,
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Backend {
        match b {
            BackendArg::Sqlite => Backend::Sqlite,
            BackendArg::Postgres => Backend::Postgres,
        }
    }
}

#[derive(Debug, Subcommand)]
enum BenchCmd {
    /// Batch posting: monthly remittances of ~37-member unit bills.
    Post {
        /// Backend to measure.
        #[arg(long, value_enum)]
        backend: BackendArg,
        /// PostgreSQL admin URL (a scratch database is created and dropped).
        #[arg(long)]
        db: Option<String>,
        /// Member accounts.
        #[arg(long, default_value_t = 224_000)]
        accounts: usize,
        /// Member postings (legs).
        #[arg(long, default_value_t = 1_000_000)]
        postings: usize,
    },
    /// The monthly remittance of a whole centre: generate and pay every unit's bill.
    Remit {
        /// Backend to measure.
        #[arg(long, value_enum)]
        backend: BackendArg,
        /// PostgreSQL admin URL (a scratch database is created and dropped).
        #[arg(long)]
        db: Option<String>,
        /// Units.
        #[arg(long, default_value_t = 5_986)]
        units: usize,
        /// Members.
        #[arg(long, default_value_t = 224_000)]
        members: usize,
        /// Months already remitted and paid before the timed month (untimed fixture):
        /// 0 times a centre's very first month, when every member's 缴至年月 and
        /// balance are set for the first time.
        #[arg(long, default_value_t = 0)]
        history: u32,
    },
    /// The year-end interest settlement.
    Interest {
        /// Backend to measure.
        #[arg(long, value_enum)]
        backend: BackendArg,
        /// PostgreSQL admin URL (a scratch database is created and dropped).
        #[arg(long)]
        db: Option<String>,
        /// Member accounts.
        #[arg(long, default_value_t = 1_000_000)]
        accounts: usize,
    },
    /// Importing and validating a remittance .xlsx.
    Import {
        /// Backend to measure.
        #[arg(long, value_enum)]
        backend: BackendArg,
        /// PostgreSQL admin URL (a scratch database is created and dropped).
        #[arg(long)]
        db: Option<String>,
        /// Rows in the file.
        #[arg(long, default_value_t = 10_000)]
        rows: usize,
    },
    /// Verifying house-purchase withdrawals against `anju exchange-sim` (a child process).
    Verify {
        /// Backend to measure.
        #[arg(long, value_enum)]
        backend: BackendArg,
        /// PostgreSQL admin URL (a scratch database is created and dropped).
        #[arg(long)]
        db: Option<String>,
        /// Members in the centre (and the generated dataset).
        #[arg(long, default_value_t = 2_000)]
        members: usize,
        /// Applications verified.
        #[arg(long, default_value_t = 3_200)]
        applications: usize,
        /// Verifications in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Durable online entries, one withdrawal-style posting per transaction.
    Online {
        /// Backend to measure.
        #[arg(long, value_enum)]
        backend: BackendArg,
        /// PostgreSQL admin URL (a scratch database is created and dropped).
        #[arg(long)]
        db: Option<String>,
        /// Entries to post.
        #[arg(long, default_value_t = 5_000)]
        entries: usize,
    },
    /// Payouts to members' cards through `anju bank-sim` on loopback, one at a time,
    /// against the same withdrawals posted without a bank: the time the bank adds.
    Payout {
        /// Backend to measure.
        #[arg(long, value_enum)]
        backend: BackendArg,
        /// PostgreSQL admin URL (a scratch database is created and dropped).
        #[arg(long)]
        db: Option<String>,
        /// Payouts to time.
        #[arg(long, default_value_t = 2_000)]
        payouts: usize,
    },
    /// Reconciliation of one day's statement against Anju's records.
    Reconcile {
        /// Backend to measure.
        #[arg(long, value_enum)]
        backend: BackendArg,
        /// PostgreSQL admin URL (a scratch database is created and dropped).
        #[arg(long)]
        db: Option<String>,
        /// Statement lines.
        #[arg(long, default_value_t = 500_000)]
        lines: usize,
    },
    /// Automatically approved house-purchase withdrawals, one after another, each timed
    /// from submission to `paid`, with `anju exchange-sim` and `anju bank-sim` on loopback.
    Withdraw {
        /// Backend to measure.
        #[arg(long, value_enum)]
        backend: BackendArg,
        /// PostgreSQL admin URL (a scratch database is created and dropped).
        #[arg(long)]
        db: Option<String>,
        /// Applications to time (after a warm-up of 20).
        #[arg(long, default_value_t = 2_000)]
        applications: usize,
    },
    /// The day close with N active loans all due on the closed dates (3 consecutive
    /// business dates), card deductions through `anju bank-sim` (a child process).
    CloseDay {
        /// Backend to measure.
        #[arg(long, value_enum, default_value = "sqlite")]
        backend: BackendArg,
        /// PostgreSQL admin URL (a scratch database is created and dropped).
        #[arg(long)]
        db: Option<String>,
        /// Active loans.
        #[arg(long, default_value_t = 50_000)]
        loans: usize,
        /// When the loans fall due: `month` (repayment days spread over days 1-28, as in
        /// a real loan book), `thirds` (a third on each of the three closed dates) or
        /// `all` (every loan on the first closed date: the worst case).
        #[arg(long, value_enum, default_value = "month")]
        due: bench_loans::Due,
    },
    /// Loan repayment schedules: N schedules of 360 months for varied principals and
    /// rates, both methods (no database).
    Schedule {
        /// Schedules per method.
        #[arg(long, default_value_t = 10_000)]
        schedules: usize,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("anju: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn policy_text(path: Option<&PathBuf>) -> anyhow::Result<String> {
    match path {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| anyhow::anyhow!("cannot read policy file {}: {e}", p.display())),
        None => Ok(QUZHOU_POLICY.to_owned()),
    }
}

fn load_policy(path: Option<&PathBuf>) -> anyhow::Result<Policy> {
    Ok(Policy::from_toml(&policy_text(path)?)?)
}

/// The policy a command with a database runs on: the centre's approved version (issue 8
/// §3: policy changes are maker-checker, `anju policy propose`). With no version recorded
/// yet, the `--policy` file (or the shipped policy) is adopted as version 1; a `--policy`
/// file that differs from the approved version is refused, naming both hashes.
fn policy_for(store: &dyn Store, centre: &str, path: Option<&PathBuf>) -> anyhow::Result<Policy> {
    use anju_app::access::policy;
    if path.is_none()
        && let Some((version, text)) = policy::current_policy(store, centre)?
    {
        return Policy::from_toml(&text).map_err(|e| {
            anyhow::anyhow!("the approved policy version {version} of centre {centre}: {e}")
        });
    }
    let text = policy_text(path)?;
    let source = path.map_or_else(
        || "the shipped policy".to_owned(),
        |p| p.display().to_string(),
    );
    let adoption = policy::adopt_policy_at_start(store, centre, &text, jiff::Timestamp::now())
        .map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    if adoption.adopted {
        tracing::info!(
            centre,
            sm3 = %adoption.sm3,
            "{source} adopted as policy version 1"
        );
    }
    Ok(Policy::from_toml(&text)?)
}

fn only_centre(store: &dyn Store, wanted: Option<String>) -> anyhow::Result<String> {
    if let Some(c) = wanted {
        return Ok(c);
    }
    let codes = store.begin_read()?.centre_codes()?;
    match codes.as_slice() {
        [one] => Ok(one.clone()),
        [] => anyhow::bail!("the database has no centre yet (run `anju demo` or create one)"),
        _ => anyhow::bail!(
            "the database has several centres ({}); pick one with --centre",
            codes.join(", ")
        ),
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.cmd {
        Cmd::Demo {
            db,
            port,
            policy: policy_path,
        } => {
            let policy = load_policy(policy_path.as_ref())?;
            let store = db::open(&db)?;
            let now = jiff::Timestamp::now();
            let seeded = demo::seed(store.as_ref(), &policy, now)?;
            // From here on, the centre's approved policy (version 1 on the first seed).
            let policy = policy_for(
                store.as_ref(),
                &policy.centre().code.clone(),
                policy_path.as_ref(),
            )?;
            let fresh = seeded.is_some();
            match seeded {
                Some(s) => println!(
                    "seeded demo centre {} ({}): {} units, {} members, {} entries",
                    policy.centre().name,
                    policy.centre().code,
                    s.units,
                    s.members,
                    s.entries
                ),
                None => println!(
                    "demo centre {} already present in {db}",
                    policy.centre().code
                ),
            }
            // Service points, staff, clerks and phones (idempotent), with the development
            // sign-in details.
            for line in demo_access::seed(store.as_ref(), &policy, now)?.lines {
                println!("{line}");
            }
            let centre = policy.centre().code.clone();
            if fresh {
                // The seeded history is not texted to the demo members; what happens from
                // now on is.
                anju_app::notify::skip_to_end(store.as_ref(), &centre)?;
            }
            // Bound first: the simulated banks are told where to post their notices.
            let listener = listen(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))?;
            let callback = format!("http://{}{}", listener.local_addr()?, settle::NOTICE_ROUTE);
            // The other departments' data, served by the simulator as its own process.
            let _exchange =
                sharing::demo_exchange(store.as_ref(), &centre, fresh, &demo_dataset_path(&db))?;
            // The commissioned banks, each simulated by its own process.
            let (_banks, settings, banks) = demo_banks::demo_banks(
                store.as_ref(),
                &centre,
                fresh,
                &demo_file_base(&db),
                &callback,
            )?;
            // On the first seed, sample money movements once the server takes notices.
            let departments = _exchange.departments()?;
            let web_departments = Some(Arc::new(departments.clone()));
            let dataset_path = demo_dataset_path(&db);
            // The same banks' own lending (combination loans) and the demo key store.
            let mut lenders = anju_app::lending::LenderSet::new();
            for s in &settings {
                lenders.insert(std::sync::Arc::new(anju_bank::client::BankClient::new(
                    s.clone(),
                )?));
            }
            let key_store = {
                let mut name = demo_file_base(&db).into_os_string();
                name.push("-keys.json");
                PathBuf::from(name)
            };
            let samples: Option<Box<dyn FnOnce() + Send>> = fresh.then(|| {
                let (store, centre, policy, banks) =
                    (store.clone(), centre.clone(), policy.clone(), banks.clone());
                let admins = settings
                    .iter()
                    .map(|s| {
                        (
                            s.code.clone(),
                            anju_bank::sim::admin::AdminClient::new(&s.base_url),
                        )
                    })
                    .collect();
                Box::new(move || {
                    if let Err(e) =
                        demo_banks::run_samples(store.as_ref(), &centre, &policy, &banks, &admins)
                    {
                        println!("bank samples failed: {e:#}");
                    }
                    let withdrawals = anju_exchange::sim::dataset::Dataset::load(&dataset_path)
                        .map_err(anyhow::Error::from)
                        .and_then(|ds| {
                            demo_withdraw::run_samples(
                                store.as_ref(),
                                &centre,
                                &policy,
                                &departments,
                                &banks,
                                &ds,
                            )
                        });
                    if let Err(e) = withdrawals {
                        println!("withdrawal samples failed: {e:#}");
                    }
                    let loans = anju_exchange::sim::dataset::Dataset::load(&dataset_path)
                        .map_err(anyhow::Error::from)
                        .and_then(|ds| {
                            let signer = loan::key_store(store.as_ref(), &centre, &key_store)?;
                            demo_loans::run_samples(&demo_loans::Samples {
                                store: store.as_ref(),
                                centre: &centre,
                                policy: &policy,
                                departments: &departments,
                                banks: &banks,
                                lenders: &lenders,
                                signer: &signer,
                                dataset: &ds,
                                admins: &admins,
                            })
                        });
                    if let Err(e) = loans {
                        println!("loan samples failed: {e:#}");
                    }
                }) as Box<dyn FnOnce() + Send>
            });
            // Member sign-in: codes to a file beside the database, face / e-ID through the
            // identity provider's simulator (its own process, the demo's people).
            let sms_log = {
                let mut name = demo_file_base(&db).into_os_string();
                name.push("-sms.jsonl");
                PathBuf::from(name)
            };
            let exe = std::env::current_exe()?;
            let dataset_arg = demo_dataset_path(&db).display().to_string();
            let idp_sim =
                anju_idp::sim::process::IdpSimProcess::start(&exe, &["--dataset", &dataset_arg])?;
            println!("identity provider (simulated): {}", idp_sim.url());
            let idp: Arc<dyn anju_app::identity::IdentityProvider> = Arc::new(idp_sim.client()?);
            let auth: Auth = (
                Arc::new(anju_app::identity::LogSms::with_file(&sms_log)),
                Some(idp),
                format!("the log and {}", sms_log.display()),
            );
            serve(
                store,
                centre,
                policy,
                listener,
                Peers {
                    banks: Some((settings, banks)),
                    departments: web_departments,
                },
                auth,
                samples,
            )?;
            drop(idp_sim);
            Ok(0)
        }
        Cmd::Serve {
            db,
            port,
            bind,
            centre,
            policy,
            banks,
            identity,
            exchange,
        } => {
            let departments = if exchange.exchange.is_some() || exchange.exchange_config.is_some() {
                Some(Arc::new(exchange.departments()?))
            } else {
                None
            };
            let store = db::open(&db)?;
            let centre = only_centre(store.as_ref(), centre)?;
            let policy = policy_for(store.as_ref(), &centre, policy.as_ref())?;
            let auth = identity.build()?;
            let banks = if banks.any() {
                Some((banks.settings()?, banks.banks()?))
            } else {
                None
            };
            let listener = listen(SocketAddr::new(bind, port))?;
            serve(
                store,
                centre,
                policy,
                listener,
                Peers { banks, departments },
                auth,
                None,
            )?;
            Ok(0)
        }
        Cmd::Migrate { db, optimize } => {
            let store = db::open(&db)?;
            println!(
                "{} is migrated ({})",
                anju_store::redact_url(&db),
                store.backend()
            );
            if optimize {
                store.optimize()?;
                println!("planner statistics refreshed");
            }
            Ok(0)
        }
        Cmd::Audit {
            db,
            centre,
            anchors,
        } => {
            let anchors = anchors
                .iter()
                .map(|a| parse_anchor(a))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let store = db::open(&db)?;
            let centres = match centre {
                Some(c) => vec![c],
                None => store.begin_read()?.centre_codes()?,
            };
            let mut failed = false;
            for c in centres {
                let r = ledger::audit_anchored(store.as_ref(), &c, &anchors)?;
                if r.is_clean() {
                    println!(
                        "centre {c}: OK — {} entries, {} legs, {} accounts; hash chain intact; trial balance zero; sub-ledgers equal control accounts; no negative member account",
                        r.entries, r.legs, r.accounts
                    );
                    println!(
                        "chain head (keep this outside the database; check it later with --anchor): {}:{}",
                        r.head.seq, r.head.hash
                    );
                } else {
                    failed = true;
                    println!(
                        "centre {c}: FAILED — {} problem(s); first: {}",
                        r.problem_count, r.problems[0]
                    );
                    for p in r.problems.iter().skip(1) {
                        println!("  also: {p}");
                    }
                }
                let a = anju_app::access::audit::verify(store.as_ref(), &c)?;
                if a.is_clean() {
                    println!(
                        "centre {c}: audit log OK — {} rows checked; hash chain intact; head {}",
                        a.rows,
                        a.head_hash.as_deref().unwrap_or("(empty)")
                    );
                } else {
                    failed = true;
                    println!(
                        "centre {c}: audit log FAILED — {} rows checked, {} problem(s); first: {}",
                        a.rows,
                        a.problems.len(),
                        a.problems[0]
                    );
                    for p in a.problems.iter().skip(1) {
                        println!("  also: {p}");
                    }
                }
            }
            Ok(u8::from(failed))
        }
        Cmd::Collect(cmd) => match cmd.at() {
            None => match cmd {
                collect::CollectCmd::Template { kind, out } => collect::write_template(&kind, &out),
                _ => anyhow::bail!("this command needs --db"),
            },
            Some(at) => {
                let store = db::open(&at.db)?;
                let centre = only_centre(store.as_ref(), at.centre.clone())?;
                let policy = policy_for(store.as_ref(), &centre, at.policy.as_ref())?;
                collect::run(store.as_ref(), &centre, &policy, cmd)
            }
        },
        Cmd::Sharing(cmd) => {
            let at = cmd.at();
            let store = db::open(&at.db)?;
            let centre = only_centre(store.as_ref(), at.centre.clone())?;
            sharing::run(store.as_ref(), &centre, cmd)
        }
        Cmd::Withdraw { cmd } => {
            let at = cmd.at();
            let store = db::open(&at.db)?;
            let centre = only_centre(store.as_ref(), at.centre.clone())?;
            let policy = policy_for(store.as_ref(), &centre, at.policy.as_ref())?;
            withdraw::run(store.as_ref(), &centre, &policy, *cmd)
        }
        Cmd::Access { cmd } => access_cmd::run(*cmd),
        Cmd::Policy { cmd } => policy_cmd::run(*cmd),
        Cmd::Loan { cmd } => match cmd.at() {
            None => loan::run(*cmd),
            Some(at) => {
                let store = db::open(&at.db)?;
                let centre = only_centre(store.as_ref(), at.centre.clone())?;
                let policy = policy_for(store.as_ref(), &centre, at.policy.as_ref())?;
                loan::run_at(store.as_ref(), &centre, &policy, *cmd)
            }
        },
        Cmd::CloseDay(args) => {
            let store = db::open(&args.at.db)?;
            let centre = only_centre(store.as_ref(), args.at.centre.clone())?;
            let policy = policy_for(store.as_ref(), &centre, args.at.policy.as_ref())?;
            loan::close_day(store.as_ref(), &centre, &policy, &args)
        }
        Cmd::Notify { cmd } => notify_cmd::run(*cmd),
        Cmd::ExchangeSim(args) => exchange_sim::run(args),
        Cmd::BankSim(args) => bank_sim::run(args),
        Cmd::IdpSim(args) => idp_sim::run(args),
        Cmd::Bank { cmd } => {
            let at = settle::bank_at(&cmd);
            let store = db::open(&at.db)?;
            let centre = only_centre(store.as_ref(), at.centre.clone())?;
            settle::run_bank(store.as_ref(), &centre, cmd)
        }
        Cmd::Settle { cmd } => {
            let at = settle::settle_at(&cmd);
            let store = db::open(&at.db)?;
            let centre = only_centre(store.as_ref(), at.centre.clone())?;
            settle::run_settle(store.as_ref(), &centre, cmd)
        }
        Cmd::Reconcile(args) => {
            let store = db::open(&args.at.db)?;
            let centre = only_centre(store.as_ref(), args.at.centre.clone())?;
            settle::run_reconcile(store.as_ref(), &centre, &args)
        }
        Cmd::BankDrill(args) => {
            let policy = load_policy(None)?;
            drill::run(&args, &policy)
        }
        Cmd::Check { kind, value, stdin } => {
            let code = check::run(kind, value.as_deref(), stdin)?;
            Ok(u8::try_from(code).unwrap_or(1))
        }
        Cmd::VerifyDocument(args) => verify_doc::run(&args),
        Cmd::Bench { which } => {
            match which {
                BenchCmd::Post {
                    backend,
                    db,
                    accounts,
                    postings,
                } => {
                    bench::post(backend.into(), db.as_deref(), accounts, postings)?;
                }
                BenchCmd::Remit {
                    backend,
                    db,
                    units,
                    members,
                    history,
                } => bench::remit(backend.into(), db.as_deref(), units, members, history)?,
                BenchCmd::Interest {
                    backend,
                    db,
                    accounts,
                } => bench::interest(backend.into(), db.as_deref(), accounts)?,
                BenchCmd::Import { backend, db, rows } => {
                    bench::import(backend.into(), db.as_deref(), rows)?;
                }
                BenchCmd::Verify {
                    backend,
                    db,
                    members,
                    applications,
                    concurrency,
                } => bench::verify(
                    backend.into(),
                    db.as_deref(),
                    members,
                    applications,
                    concurrency,
                )?,
                BenchCmd::Payout {
                    backend,
                    db,
                    payouts,
                } => bench_settle::payout(backend.into(), db.as_deref(), payouts)?,
                BenchCmd::Reconcile { backend, db, lines } => {
                    bench_settle::reconcile(backend.into(), db.as_deref(), lines)?;
                }
                BenchCmd::Online {
                    backend,
                    db,
                    entries,
                } => {
                    bench::online(backend.into(), db.as_deref(), entries)?;
                }
                BenchCmd::Withdraw {
                    backend,
                    db,
                    applications,
                } => bench_withdraw::withdraw(backend.into(), db.as_deref(), applications)?,
                BenchCmd::Schedule { schedules } => bench::schedule(schedules)?,
                BenchCmd::CloseDay {
                    backend,
                    db,
                    loans,
                    due,
                } => {
                    bench_loans::close_day(backend.into(), db.as_deref(), loans, due)?;
                }
            }
            Ok(0)
        }
    }
}

/// Where the demo keeps its files beside the database, as a prefix: beside an SQLite
/// database `x.db` → `x` (so `x-exchange.json`, `x-bank-icbc.db`), else `anju-demo` in the
/// working directory.
fn demo_file_base(db: &str) -> PathBuf {
    match db.strip_prefix("sqlite://") {
        Some(path) => {
            let p = std::path::Path::new(path);
            let stem = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("anju-demo");
            p.with_file_name(stem)
        }
        None => PathBuf::from("anju-demo"),
    }
}

/// Where the demo keeps its exchange dataset: beside an SQLite database (`x.db` →
/// `x-exchange.json`), else `anju-demo-exchange.json` in the working directory.
fn demo_dataset_path(db: &str) -> PathBuf {
    let mut name = demo_file_base(db).into_os_string();
    name.push("-exchange.json");
    PathBuf::from(name)
}

/// Parses `SEQ:HASH`.
fn parse_anchor(text: &str) -> anyhow::Result<ChainHead> {
    let (seq, hash) = text
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("--anchor {text:?}: expected SEQ:HASH"))?;
    let seq: i64 = seq
        .parse()
        .map_err(|_| anyhow::anyhow!("--anchor {text:?}: SEQ must be a whole number"))?;
    let hash = Digest32::from_hex(hash).map_err(|e| anyhow::anyhow!("--anchor {text:?}: {e}"))?;
    Ok(ChainHead { seq, hash })
}

/// Binds the server's address (port 0: any free port).
fn listen(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    Ok(listener)
}

/// The SMS gateway, the identity provider and a description of where codes go.
type Auth = (
    Arc<dyn anju_app::identity::SmsGateway>,
    Option<Arc<dyn anju_app::identity::IdentityProvider>>,
    String,
);

/// Member sign-in settings of `anju serve`.
#[derive(Debug, Clone, clap::Args)]
struct IdentityArgs {
    /// Development SMS sender: one-time codes and notices are written to the log and,
    /// with this, appended to FILE as JSON lines (no real SMS gateway is configured).
    #[arg(long)]
    sms_log: Option<PathBuf>,
    /// Base URL of the identity provider (face / e-ID sign-in), e.g. `anju idp-sim`'s.
    #[arg(long)]
    idp_url: Option<String>,
    /// The centre's client id at the identity provider.
    #[arg(long, default_value = "anju")]
    idp_client_id: String,
}

impl IdentityArgs {
    /// The client secret comes from `ANJU_IDP_SECRET` (never a flag: it would show in
    /// the process list).
    fn build(&self) -> anyhow::Result<Auth> {
        let sms: Arc<dyn anju_app::identity::SmsGateway> = match &self.sms_log {
            Some(p) => Arc::new(anju_app::identity::LogSms::with_file(p)),
            None => Arc::new(anju_app::identity::LogSms::new()),
        };
        let where_codes = self.sms_log.as_ref().map_or_else(
            || "the log".to_owned(),
            |p| format!("the log and {}", p.display()),
        );
        let idp: Option<Arc<dyn anju_app::identity::IdentityProvider>> = match &self.idp_url {
            Some(url) => {
                let secret = std::env::var("ANJU_IDP_SECRET").map_err(|_| {
                    anyhow::anyhow!("--idp-url needs the client secret in ANJU_IDP_SECRET")
                })?;
                Some(Arc::new(anju_idp::client::IdpClient::new(
                    anju_idp::client::IdpSettings::new(url, &self.idp_client_id, &secret),
                )?))
            }
            None => None,
        };
        Ok((sms, idp, where_codes))
    }
}

/// The other organisations' systems a server reaches: the commissioned banks (their
/// settings, for the notices they post, and the adapters) and the data exchange.
struct Peers {
    banks: Option<(
        Vec<anju_bank::client::BankSettings>,
        anju_app::settlement::BankSet,
    )>,
    departments: Option<Arc<anju_app::sharing::Departments>>,
}

/// Serves the centre on `listener` until Ctrl-C; with banks, also their notices and the
/// background status queries. `then` runs on its own thread once the server is about to
/// accept connections (the demo's sample money movements).
fn serve(
    store: Arc<dyn Store>,
    centre: String,
    policy: Policy,
    listener: std::net::TcpListener,
    Peers { banks, departments }: Peers,
    auth: Auth,
    then: Option<Box<dyn FnOnce() + Send>>,
) -> anyhow::Result<()> {
    let mut extra = axum::Router::new();
    let idp_note = if auth.1.is_some() {
        "face / e-ID through the identity provider at GET /api/v1/login/idp"
    } else {
        "no identity provider configured (--idp-url)"
    };
    println!(
        "sign-in: members POST /api/v1/login/code then /api/v1/login/sms (codes go to {}); {idp_note}; unit clerks /api/v1/login/unit; staff /api/v1/login/staff",
        auth.2
    );
    // Members are told of balance changes, status changes and new-device sign-ins: the
    // journal is scanned and pending notices sent every few seconds.
    notify_cmd::spawn_notifier(
        store.clone(),
        centre.clone(),
        auth.0.clone(),
        std::time::Duration::from_secs(10),
    );
    let auth_state = anju_web::auth::AuthState::new(
        store.clone(),
        centre.clone(),
        Arc::new(policy.clone()),
        auth.0,
        auth.1,
    );
    let business_state = anju_web::business::BusinessState {
        auth: auth_state.clone(),
        departments,
        banks: Arc::new(banks.as_ref().map(|b| b.1.clone()).unwrap_or_default()),
    };
    if let Some((settings, set)) = banks {
        extra = settle::notice_router(settle::NoticeState::new(store.clone(), &centre, &settings));
        settle::spawn_resolver(
            store.clone(),
            centre.clone(),
            set,
            std::time::Duration::from_secs(5),
        );
        println!(
            "bank notices are received at POST {} from bank(s) {}",
            settle::NOTICE_ROUTE,
            settings
                .iter()
                .map(|b| b.code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let local = listener.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| anyhow::anyhow!("cannot listen on {local}: {e}"))?;
        println!(
            "Anju is serving centre {centre} ({}) at http://{local}/",
            store.describe()
        );
        let extra = extra
            .merge(anju_web::auth::auth_router(auth_state))
            .merge(anju_web::business::business_router(business_state));
        let state = anju_web::AppState {
            store,
            centre,
            policy: Arc::new(policy),
        };
        // The listener is bound: connections wait in its backlog until the server accepts.
        if let Some(then) = then {
            std::thread::spawn(then);
        }
        tokio::select! {
            r = anju_web::serve_with(listener, state, extra) => r.map_err(anyhow::Error::from),
            _ = tokio::signal::ctrl_c() => { println!("stopping"); Ok(()) }
        }
    })
}
