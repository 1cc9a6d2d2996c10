//! The data-sharing commands: `anju apply` (open an application that needs other
//! departments' facts), `anju verify` (check them through the exchange), `anju look-up`
//! (one fact for a reviewing clerk), `anju lookups` (the access log of a person or an
//! application) and `anju close-application`.

use std::path::PathBuf;
use std::sync::Arc;

use anju_app::sharing::{
    Departments, NewApplication, Sharing, close_application, look_up, lookups_of_application,
    lookups_of_person, open_application, record_consent, verify_application,
};
use anju_domain::access::Business;
use anju_domain::codes::Channel;
use anju_domain::sharing::verify::{ApplicationKind, Claims, Outcome, Role};
use anju_domain::sharing::{FactKey, Query};
use anju_domain::stamp::Stamp;
use anju_exchange::client::{ExchangeClient, ExchangeSettings};
use anju_store::Store;
use anju_store::sharing::LookupRow;
use clap::Subcommand;

use crate::collect::At;
use crate::withdraw::{Actor, Whose};

/// The secret used with a loopback exchange when `ANJU_EXCHANGE_SECRET` is not set (the
/// simulator's default).
pub const DEV_SECRET: &str = "anju-dev-secret";

/// How to reach the data exchange.
#[derive(Debug, Clone, clap::Args)]
pub struct ExchangeArgs {
    /// Exchange base URL (e.g. the URL `anju exchange-sim` prints). The secret is read
    /// from ANJU_EXCHANGE_SECRET (a loopback URL may use the simulator's default).
    #[arg(long, conflicts_with = "exchange_config")]
    pub exchange: Option<String>,
    /// Our app id at the exchange.
    #[arg(long, default_value = "anju-dev")]
    pub exchange_app: String,
    /// A TOML file with an [exchange] section (base_url, app_id, secret_env, timeouts,
    /// attempts, backoff, breaker).
    #[arg(long)]
    pub exchange_config: Option<PathBuf>,
}

impl ExchangeArgs {
    /// The departments behind the configured exchange.
    pub fn departments(&self) -> anyhow::Result<Departments> {
        let settings = match (&self.exchange_config, &self.exchange) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                ExchangeSettings::from_toml(&text, |k| std::env::var(k).ok())?
            }
            (None, Some(url)) => {
                let secret = match std::env::var("ANJU_EXCHANGE_SECRET") {
                    Ok(s) => s,
                    Err(_) if is_loopback(url) => DEV_SECRET.to_owned(),
                    Err(_) => anyhow::bail!(
                        "--exchange {url}: set ANJU_EXCHANGE_SECRET (only a loopback exchange may use the development secret)"
                    ),
                };
                ExchangeSettings::new(url, &self.exchange_app, &secret)
            }
            (None, None) => anyhow::bail!(
                "name the data exchange with --exchange URL or --exchange-config FILE"
            ),
        };
        Ok(Departments::all(Arc::new(ExchangeClient::new(settings)?)))
    }
}

/// Whether a base URL names this machine (only such a peer may use a simulator's
/// development secret).
pub fn is_loopback(url: &str) -> bool {
    let rest = url
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    rest.starts_with("127.") || rest.starts_with("localhost") || rest.starts_with("[::1]")
}

/// Data-sharing commands.
#[derive(Debug, Subcommand)]
pub enum SharingCmd {
    /// Open an application whose facts will be checked with other departments.
    Apply {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        /// Application number (1-40 of A-Z a-z 0-9 -).
        #[arg(long)]
        no: String,
        /// Kind: withdrawal.purchase, withdrawal.loan-repayment, withdrawal.rent,
        /// withdrawal.renewal, withdrawal.retirement, withdrawal.disability,
        /// withdrawal.moved-out, withdrawal.death, withdrawal.illness, loan.
        #[arg(long)]
        kind: String,
        /// The applicant's resident ID number (for withdrawal.death: the deceased member).
        #[arg(long)]
        applicant: String,
        /// The spouse's resident ID number.
        #[arg(long)]
        spouse: Option<String>,
        /// A co-borrower's resident ID number (repeatable).
        #[arg(long = "co-borrower")]
        co_borrowers: Vec<String>,
        /// An heir's resident ID number (repeatable; withdrawal.death).
        #[arg(long = "heir")]
        heirs: Vec<String>,
        /// The purchase contract's filing number.
        #[arg(long)]
        contract: Option<String>,
        /// The lease's filing number.
        #[arg(long)]
        lease: Option<String>,
        /// The renewal project's number.
        #[arg(long)]
        project: Option<String>,
        /// The year of income or medical expenses.
        #[arg(long)]
        year: Option<i16>,
        /// The e-invoice number (building, repair, renovation, property fees).
        #[arg(long)]
        invoice: Option<String>,
        /// A party other than the applicant who consented (signed) at the counter
        /// (repeatable); others consent later with `anju consent`.
        #[arg(long = "consent")]
        consents: Vec<String>,
    },
    /// Record a party's consent (授权) to look-ups of their data for an application.
    Consent {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        /// Application number.
        #[arg(long)]
        no: String,
        /// Whose consent (a party to the application).
        #[arg(long)]
        person: String,
        /// How it was given: e-signature, face-login, counter-signature …
        #[arg(long, default_value = "counter-signature")]
        how: String,
    },
    /// Verify an open application's facts with the departments (via the exchange).
    Verify {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        #[command(flatten)]
        exchange: ExchangeArgs,
        /// Application number.
        #[arg(long)]
        no: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Look up one fact for a clerk reviewing an application.
    LookUp {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        #[command(flatten)]
        exchange: ExchangeArgs,
        /// Application number.
        #[arg(long)]
        no: String,
        /// Whose data (a party to the application).
        #[arg(long)]
        subject: String,
        /// Query as department/query, e.g. civil-affairs/marriage.
        #[arg(long)]
        query: String,
        /// Year (tax/income, medical-insurance/medical).
        #[arg(long)]
        year: Option<i16>,
    },
    /// The access log: every look-up of a person's data, or made for an application.
    Lookups {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        /// Whose data (resident ID number).
        #[arg(long, conflicts_with = "no", required_unless_present = "no")]
        person: Option<String>,
        /// Application number.
        #[arg(long)]
        no: Option<String>,
    },
    /// Close an application: no more look-ups for it.
    CloseApplication {
        #[command(flatten)]
        at: At,
        /// Application number.
        #[arg(long)]
        no: String,
    },
}

impl SharingCmd {
    /// The database, centre and policy.
    pub fn at(&self) -> &At {
        match self {
            SharingCmd::Apply { at, .. }
            | SharingCmd::Consent { at, .. }
            | SharingCmd::Verify { at, .. }
            | SharingCmd::LookUp { at, .. }
            | SharingCmd::Lookups { at, .. }
            | SharingCmd::CloseApplication { at, .. } => at,
        }
    }
}

/// The business an application is part of: a loan's or a withdrawal's application.
fn business_of_kind(kind: &str) -> Business {
    if kind.starts_with("loan") {
        Business::LoanApply
    } else {
        Business::WithdrawalApply
    }
}

/// The business of an open application, by number (a withdrawal's if there is none: the
/// use case then says it does not exist).
fn business_of(store: &dyn Store, centre: &str, no: &str) -> anyhow::Result<Business> {
    Ok(store
        .begin_read()?
        .application(centre, no)?
        .map_or(Business::WithdrawalApply, |a| business_of_kind(&a.kind)))
}

fn print_lookups(rows: &[LookupRow]) {
    println!(
        "{:<24} {:>4} {:<20} {:<20} {:<28} {:<10} {:<16} {:<12} answer SM3 / reason",
        "asked at",
        "seq",
        "application",
        "whose data",
        "department/query",
        "purpose",
        "requester",
        "outcome",
    );
    for r in rows {
        let at = jiff::Timestamp::from_microsecond(r.asked_at_us)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let what = if r.param.is_empty() {
            format!("{}/{}", r.department, r.query)
        } else {
            format!("{}/{}?{}", r.department, r.query, r.param)
        };
        let tail = if r.detail.is_empty() {
            r.answer_hash.get(..16).unwrap_or(&r.answer_hash).to_owned()
        } else {
            r.detail.clone()
        };
        println!(
            "{:<24} {:>4} {:<20} {:<20} {:<28} {:<10} {:<16} {:<12} {}",
            at.get(..19).unwrap_or(&at),
            r.seq,
            r.application_no,
            anju_domain::ids::IdCard::parse(&r.subject_id)
                .map(|c| c.masked())
                .unwrap_or_else(|_| "?".to_owned()),
            what,
            r.purpose,
            r.requester,
            r.outcome,
            tail
        );
    }
    println!("{} look-up(s)", rows.len());
}

/// Runs one data-sharing command.
pub fn run(store: &dyn Store, centre: &str, cmd: SharingCmd) -> anyhow::Result<u8> {
    let now = jiff::Timestamp::now();
    let today = store
        .begin_read()?
        .centre(centre)?
        .ok_or_else(|| anyhow::anyhow!("no centre {centre}"))?
        .business_date;
    match cmd {
        SharingCmd::Apply {
            no,
            kind,
            applicant,
            spouse,
            co_borrowers,
            heirs,
            contract,
            lease,
            project,
            year,
            invoice,
            consents,
            actor,
            ..
        } => {
            let applicant_id = applicant.clone();
            let kind = ApplicationKind::from_code(&kind).ok_or_else(|| {
                anyhow::anyhow!(
                    "--kind {kind:?}: must be one of {}",
                    ApplicationKind::ALL.map(ApplicationKind::code).join(", ")
                )
            })?;
            let main_role = if kind == ApplicationKind::WithdrawDeath {
                Role::Deceased
            } else {
                Role::Applicant
            };
            let mut parties = vec![(applicant, main_role)];
            parties.extend(spouse.map(|s| (s, Role::Spouse)));
            parties.extend(co_borrowers.into_iter().map(|c| (c, Role::CoBorrower)));
            parties.extend(heirs.into_iter().map(|h| (h, Role::Heir)));
            let row = open_application(
                store,
                centre,
                &NewApplication {
                    application_no: no,
                    kind,
                    parties,
                    claims: Claims {
                        contract_no: contract,
                        lease_no: lease,
                        project_no: project,
                        year,
                        invoice_no: invoice,
                        spouse_buyer: None,
                        flexible_residence: None,
                    },
                    consents: consents
                        .into_iter()
                        .map(|c| (c, "counter-signature".to_owned()))
                        .collect(),
                    stamp: actor.act(
                        store,
                        centre,
                        business_of_kind(kind.code()),
                        Whose::Member(applicant_id.clone()),
                    )?,
                },
                today,
                now,
            )?;
            println!(
                "opened application {} ({} {}) on {}",
                row.application_no,
                kind.code(),
                kind.name_zh(),
                row.opened_on
            );
            Ok(0)
        }
        SharingCmd::Consent {
            no,
            person,
            how,
            actor,
            ..
        } => {
            let stamp = actor.act(
                store,
                centre,
                business_of(store, centre, &no)?,
                Whose::Member(person.clone()),
            )?;
            record_consent(store, centre, &no, &person, &how, &stamp, now)?;
            println!("recorded the consent of {person} for application {no} ({how})");
            Ok(0)
        }
        SharingCmd::Verify {
            exchange,
            no,
            json,
            actor,
            ..
        } => {
            let stamp = actor.act(
                store,
                centre,
                business_of(store, centre, &no)?,
                Whose::Application(no.clone()),
            )?;
            let departments = exchange.departments()?;
            let ctx = Sharing {
                store,
                departments: &departments,
                centre,
            };
            let v = verify_application(&ctx, &no, &stamp, today, now)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "application {} ({}): {} look-up(s) asked, {} from this application's cache",
                    v.application_no,
                    v.kind.name_zh(),
                    v.asked,
                    v.cached
                );
                for d in &v.verdicts {
                    println!(
                        "  {:<22} {:<12} {}  ({})",
                        d.check.code(),
                        d.outcome.label_zh(),
                        d.reason_zh,
                        d.reason_en
                    );
                }
                let verdict = if v.all_verified() {
                    "all facts verified"
                } else if v.any_unavailable() {
                    "some facts unavailable: manual review"
                } else {
                    "some facts not verified"
                };
                println!("{verdict}");
            }
            Ok(u8::from(
                v.verdicts.iter().any(|d| d.outcome != Outcome::Verified),
            ))
        }
        SharingCmd::LookUp {
            exchange,
            no,
            subject,
            query,
            year,
            actor,
            ..
        } => {
            let stamp = actor.act(
                store,
                centre,
                business_of(store, centre, &no)?,
                Whose::Member(subject.clone()),
            )?;
            let departments = exchange.departments()?;
            let (d, q) = query
                .split_once('/')
                .ok_or_else(|| anyhow::anyhow!("--query {query:?}: expected department/query"))?;
            let q = Query::from_codes(d, q).ok_or_else(|| {
                anyhow::anyhow!(
                    "--query {query:?}: unknown; one of {}",
                    Query::ALL.map(|q| q.to_string()).join(", ")
                )
            })?;
            let key = FactKey {
                query: q,
                subject,
                year,
            };
            let ctx = Sharing {
                store,
                departments: &departments,
                centre,
            };
            match look_up(&ctx, &no, &key, &stamp, today, now)? {
                Ok(answer) => {
                    println!("{}", serde_json::to_string_pretty(&answer)?);
                    Ok(0)
                }
                Err(u) => {
                    println!("{u}");
                    Ok(1)
                }
            }
        }
        SharingCmd::Lookups {
            person, no, actor, ..
        } => {
            let whose = match (&person, &no) {
                (Some(p), _) => Whose::Member(p.clone()),
                (None, Some(n)) => Whose::Application(n.clone()),
                (None, None) => Whose::Nobody,
            };
            actor.act(store, centre, Business::ViewMemberAccount, whose)?;
            let rows = match (person, no) {
                (Some(p), _) => lookups_of_person(store, centre, &p)?,
                (None, Some(n)) => lookups_of_application(store, centre, &n)?,
                (None, None) => anyhow::bail!("name --person or --no"),
            };
            print_lookups(&rows);
            Ok(0)
        }
        SharingCmd::CloseApplication { no, .. } => {
            close_application(store, centre, &no, now)?;
            println!("closed application {no}");
            Ok(0)
        }
    }
}

/// `anju exchange-sim` started as a child process of this binary on a free loopback port;
/// killed when dropped. Used by the demo and `anju bench verify`.
#[derive(Debug)]
pub struct SimProcess {
    child: std::process::Child,
    /// The simulator's stdin: it exits when this closes, even if this process is killed.
    _lifeline: Option<std::process::ChildStdin>,
    /// The base URL it printed.
    pub url: String,
}

impl SimProcess {
    /// Starts the simulator on `dataset` with extra flags (faults).
    pub fn start(dataset: &std::path::Path, extra: &[&str]) -> anyhow::Result<SimProcess> {
        use std::io::BufRead;
        let exe = std::env::current_exe()?;
        let mut child = std::process::Command::new(exe)
            .args([
                "exchange-sim",
                "--listen",
                "127.0.0.1:0",
                "--secret",
                DEV_SECRET,
            ])
            .args(["--exit-with-parent", "--dataset"])
            .arg(dataset)
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start anju exchange-sim: {e}"))?;
        let mut line = String::new();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("exchange-sim has no stdout"))?;
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let Some(url) = line.trim().strip_prefix("exchange-sim listening on ") else {
            let _ = child.kill();
            anyhow::bail!("exchange-sim did not start: {line:?}");
        };
        let lifeline = child.stdin.take();
        Ok(SimProcess {
            url: url.to_owned(),
            child,
            _lifeline: lifeline,
        })
    }
}

impl SimProcess {
    /// Every department through an HTTP client for this simulator (default settings).
    pub fn departments(&self) -> anyhow::Result<Departments> {
        let settings = ExchangeSettings::new(&self.url, "anju-dev", DEV_SECRET);
        Ok(Departments::all(Arc::new(ExchangeClient::new(settings)?)))
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo's data exchange: generates the dataset for the demo centre's members (the same
/// file every time for the same database), writes it to `dataset_path`, starts
/// `anju exchange-sim` on it, and — when the centre was just seeded — opens and verifies a
/// few sample applications so the access log has entries to show.
pub fn demo_exchange(
    store: &dyn Store,
    centre: &str,
    fresh: bool,
    dataset_path: &std::path::Path,
) -> anyhow::Result<SimProcess> {
    let (dataset, members, today) = crate::exchange_sim::centre_dataset(store, centre, 1)?;
    dataset.save(dataset_path)?;
    let sim = SimProcess::start(dataset_path, &[])?;
    println!(
        "data exchange simulator: {} ({} people, {} facts for {members} members; dataset {})",
        sim.url,
        dataset.people.len(),
        dataset.fact_count(),
        dataset_path.display()
    );
    if !fresh {
        return Ok(sim);
    }
    let departments = sim.departments()?;
    let ctx = Sharing {
        store,
        departments: &departments,
        centre,
    };
    let ids: Vec<String> = store
        .begin_read()?
        .members_with_unit(centre)?
        .into_iter()
        .map(|m| m.id_number)
        .collect();
    type Sample = (ApplicationKind, Vec<(String, Role)>, Claims);
    let mut samples: Vec<Sample> = Vec::new();
    let find = |pred: &dyn Fn(&anju_exchange::sim::dataset::PersonRecord) -> bool| {
        ids.iter()
            .find(|id| dataset.people.get(*id).is_some_and(pred))
            .cloned()
    };
    if let Some(a) = find(&|r| {
        r.marriage.as_ref().is_some_and(|m| m.spouse_id.is_some())
            && r.contracts.iter().any(|c| !c.cancelled)
    }) {
        let r = &dataset.people[&a];
        let spouse = r.marriage.as_ref().and_then(|m| m.spouse_id.clone());
        let contract = r
            .contracts
            .iter()
            .find(|c| !c.cancelled)
            .map(|c| c.contract_no.clone());
        let mut parties = vec![(a, Role::Applicant)];
        parties.extend(spouse.map(|s| (s, Role::Spouse)));
        samples.push((
            ApplicationKind::WithdrawPurchase,
            parties,
            Claims {
                contract_no: contract,
                ..Claims::default()
            },
        ));
    }
    if let Some(a) = find(&|r| {
        r.employment
            .as_ref()
            .and_then(|e| e.retired_on)
            .is_some_and(|d| d <= today)
    }) {
        samples.push((
            ApplicationKind::WithdrawRetirement,
            vec![(a, Role::Applicant)],
            Claims::default(),
        ));
    }
    if let Some(a) = find(&|r| !r.leases.is_empty()) {
        samples.push((
            ApplicationKind::WithdrawRent,
            vec![(a, Role::Applicant)],
            Claims::default(),
        ));
    }
    let stamp = Stamp {
        operator: "staff:demo-clerk".to_owned(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".to_owned(),
        on_behalf_of: None,
    };
    let now = jiff::Timestamp::now();
    for (i, (kind, parties, claims)) in samples.into_iter().enumerate() {
        let no = format!("DEMO-SQ-{:04}", i + 1);
        open_application(
            store,
            centre,
            &NewApplication {
                application_no: no.clone(),
                kind,
                consents: parties
                    .iter()
                    .filter(|(_, r)| *r != Role::Applicant)
                    .map(|(id, _)| (id.clone(), "e-signature".to_owned()))
                    .collect(),
                parties,
                claims,
                stamp: stamp.clone(),
            },
            today,
            now,
        )?;
        let v = verify_application(&ctx, &no, &stamp, today, now)?;
        let verified = v
            .verdicts
            .iter()
            .filter(|d| d.outcome == Outcome::Verified)
            .count();
        println!(
            "  application {no} ({}): {verified}/{} facts verified through the exchange",
            kind.name_zh(),
            v.verdicts.len()
        );
    }
    Ok(sim)
}
