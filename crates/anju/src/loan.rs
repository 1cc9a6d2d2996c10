//! `anju loan …`: loan repayment schedules (还款计划), exact to the fen; and the loan
//! use cases — apply, follow, review (maker-checker), disburse, prepay, the overdue
//! register — as a clerk runs them from the command line.

use std::io::Write;
use std::sync::Arc;

use anju_app::loan::servicing::{self, Prepay};
use anju_app::loan::{self as loans, DeductFrom, LoanView, Loans, NewLoan, Proposal};
use anju_app::settlement::BankSet;
use anju_app::sharing::Departments;
use anju_domain::access::Business;
use anju_domain::loan::{self, LoanDecision, Method, PrepayMode, Row};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::Policy;
use anju_exchange::client::{ExchangeClient, ExchangeSettings};
use anju_store::Store;
use clap::Subcommand;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::collect::At;
use crate::settle::BankArgs;
use crate::sharing::ExchangeArgs;
use crate::withdraw::{Actor, Whose};

/// `anju loan` subcommands.
#[derive(Debug, Subcommand)]
pub enum LoanCmd {
    /// Print a repayment schedule, one row per period (CSV with a header, or a JSON array).
    Schedule(ScheduleArgs),
    /// Apply for a loan: the facts are checked with the departments and the rule decides
    /// (approve, review or refuse). Prints the loan; exit 0 when approved, 2 when
    /// refused, 3 when sent to review.
    Apply(Box<ApplyArgs>),
    /// A loan: the decision's limit candidates and the one that bound, the schedule and
    /// the timeline.
    Show {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        /// Loan number.
        loan_no: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ShowFormat,
    },
    /// A person's loans (as applicant or co-borrower).
    List {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        /// Resident ID number.
        #[arg(long)]
        id: String,
    },
    /// The staff review queue (loans in review or proposed), oldest first.
    Queue {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
    },
    /// Propose how to decide a loan in review (maker).
    Propose {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        /// Loan number.
        loan_no: String,
        /// approve or refuse.
        #[arg(value_enum)]
        decision: ProposalArg,
        /// Why (1-200 characters).
        #[arg(long)]
        note: String,
    },
    /// Confirm (--agree) or overrule (--disagree) a proposal (checker; another clerk
    /// than the maker).
    Confirm {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        /// Loan number.
        loan_no: String,
        /// Agree with the proposal.
        #[arg(
            long,
            conflicts_with = "disagree",
            required_unless_present = "disagree"
        )]
        agree: bool,
        /// Disagree with it (an approval proposed becomes a refusal and vice versa).
        #[arg(long)]
        disagree: bool,
    },
    /// Disburse a signed loan to the seller through the bank (放款).
    Disburse {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        banks: BankArgs,
        #[command(flatten)]
        actor: Actor,
        /// Loan number.
        loan_no: String,
    },
    /// Prepay part of a loan, or pay it off without --amount (提前还款 / 提前结清).
    Prepay {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        banks: BankArgs,
        #[command(flatten)]
        actor: Actor,
        /// Loan number.
        loan_no: String,
        /// Principal to prepay in yuan (default: the whole, paying the loan off).
        #[arg(long)]
        amount: Option<String>,
        /// Keep the payment and shorten the term (default: keep the term, lower the
        /// payment).
        #[arg(long)]
        shorten: bool,
        /// Where the money comes from.
        #[arg(long, value_enum)]
        from: Source,
    },
    /// The overdue register (逾期登记簿): every loan with an overdue installment.
    Overdue {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ShowFormat,
    },
    /// Carry on a loan left `verifying` (verified again from the cache, decided).
    Resume {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        exchange: ExchangeArgs,
        #[command(flatten)]
        banks: BankArgs,
        #[command(flatten)]
        actor: Actor,
        /// Loan number.
        loan_no: String,
    },
    /// Sign an approved loan's contracts once for every borrower and seal them (SM2 over
    /// SM3), then register the collateral with the real-estate registry.
    Sign {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        exchange: ExchangeArgs,
        #[command(flatten)]
        actor: Actor,
        /// Loan number.
        loan_no: String,
        /// The centre's key store (CA, seal, borrowers' keys; created if absent, mode 0600).
        #[arg(long)]
        keys: std::path::PathBuf,
    },
    /// Register a signed loan's collateral (抵押登记 / 预告登记) when it was not yet.
    RegisterMortgage {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        exchange: ExchangeArgs,
        #[command(flatten)]
        actor: Actor,
        /// Loan number.
        loan_no: String,
    },
    /// The payoff certificate (贷款结清证明) of a paid-off loan, sealed; releases the
    /// mortgage first. Written to --out for `anju verify-document`.
    Certificate {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        exchange: ExchangeArgs,
        #[command(flatten)]
        actor: Actor,
        /// Loan number.
        loan_no: String,
        /// The centre's key store.
        #[arg(long)]
        keys: std::path::PathBuf,
        /// Where to write the signed certificate (JSON).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Write one of a loan's signed documents (contract, mortgage contract,
    /// authorisation, certificate) to a file for `anju verify-document`.
    Document {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        /// Loan number.
        loan_no: String,
        /// Document number (the loan number for the loan contract; -DY mortgage, -SQ
        /// authorisation, -JQ payoff certificate).
        doc_no: String,
        /// Where to write it (JSON).
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

impl LoanCmd {
    /// The database, centre and policy (none for `schedule`).
    pub fn at(&self) -> Option<&At> {
        match self {
            LoanCmd::Schedule(_) => None,
            LoanCmd::Apply(a) => Some(&a.at),
            LoanCmd::Show { at, .. }
            | LoanCmd::List { at, .. }
            | LoanCmd::Queue { at, .. }
            | LoanCmd::Propose { at, .. }
            | LoanCmd::Confirm { at, .. }
            | LoanCmd::Disburse { at, .. }
            | LoanCmd::Prepay { at, .. }
            | LoanCmd::Overdue { at, .. }
            | LoanCmd::Resume { at, .. }
            | LoanCmd::Sign { at, .. }
            | LoanCmd::RegisterMortgage { at, .. }
            | LoanCmd::Certificate { at, .. }
            | LoanCmd::Document { at, .. } => Some(at),
        }
    }
}

/// `anju loan apply` arguments.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub at: At,
    #[command(flatten)]
    pub exchange: ExchangeArgs,
    #[command(flatten)]
    pub banks: BankArgs,
    #[command(flatten)]
    pub actor: Actor,
    /// Application number (1-40 of A-Z a-z 0-9 -), unique in the centre.
    pub application_no: String,
    /// The applicant's resident ID number (the main borrower).
    #[arg(long)]
    pub id: String,
    /// The spouse as co-borrower (their consent is given with --consent).
    #[arg(long)]
    pub spouse: Option<String>,
    /// A consent as ID or ID=HOW (repeatable; HOW defaults to counter-signature).
    #[arg(long = "consent", value_name = "ID[=HOW]")]
    pub consents: Vec<String>,
    /// The filed purchase contract number (网签备案号) of the home.
    #[arg(long)]
    pub contract: String,
    /// The loan amount asked for, in yuan (e.g. 600000.00).
    #[arg(long)]
    pub amount: String,
    /// Term in months (1-360).
    #[arg(long)]
    pub months: u32,
    /// Repayment method: equal-installment (等额本息) or equal-principal (等额本金).
    #[arg(long, default_value = "equal-installment")]
    pub method: String,
    /// Day of the month repayments fall due (1-28).
    #[arg(long, default_value_t = 20)]
    pub repay_day: u8,
    /// Where repayments come from: the bound card (银行代扣) or the provident fund (对冲).
    #[arg(long, value_enum, default_value = "card")]
    pub deduct_from: Source,
    /// The commissioned bank handling the loan (its code).
    #[arg(long)]
    pub bank: String,
    /// A combination loan (组合贷款): the commercial part asked of the same bank, in yuan.
    #[arg(long)]
    pub commercial: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ShowFormat,
}

/// Where money comes from (`--deduct-from`, `--from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// The borrower's bound bank card, through the bank.
    Card,
    /// The borrowers' provident-fund balances.
    Fund,
}

impl From<Source> for DeductFrom {
    fn from(s: Source) -> DeductFrom {
        match s {
            Source::Card => DeductFrom::Card,
            Source::Fund => DeductFrom::Fund,
        }
    }
}

/// Output format of the commands that print a loan or a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    /// Lines for a person.
    Text,
    /// JSON.
    Json,
}

/// A reviewing clerk's proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProposalArg {
    /// Approve as the rule computed it.
    Approve,
    /// Refuse.
    Refuse,
}

/// Output format of `anju loan schedule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CSV with a header row.
    Csv,
    /// One JSON array of row objects.
    Json,
}

/// `anju loan schedule` arguments.
#[derive(Debug, clap::Args)]
pub struct ScheduleArgs {
    /// Principal in yuan, at most two decimals, no grouping (e.g. 1000000.00).
    #[arg(long)]
    pub principal: String,
    /// Annual rate in percent (e.g. 3.1).
    #[arg(long = "annual-rate-pct")]
    pub annual_rate_pct: String,
    /// Term in months (1-360).
    #[arg(long)]
    pub months: u32,
    /// Repayment method: equal-installment (等额本息) or equal-principal (等额本金).
    #[arg(long)]
    pub method: String,
    /// Disbursement date (YYYY-MM-DD); the first period's interest is then counted by actual
    /// days / 360 up to the first repayment day strictly after it. Needs --repay-day.
    #[arg(long, requires = "repay_day")]
    pub first_date: Option<Date>,
    /// Repayment day of the month (1-28). Needs --first-date.
    #[arg(long, requires = "first_date")]
    pub repay_day: Option<u8>,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
}

/// Runs `anju loan schedule` (no database).
pub fn run(cmd: LoanCmd) -> anyhow::Result<u8> {
    match cmd {
        LoanCmd::Schedule(args) => {
            let out = schedule_text(&args)?;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(out.as_bytes())?;
            stdout.flush()?;
            Ok(0)
        }
        _ => anyhow::bail!("this command needs --db"),
    }
}

/// Departments for the steps that ask none (review, disbursement): a client of a
/// loopback exchange that is never called.
fn no_departments() -> anyhow::Result<Departments> {
    let settings =
        ExchangeSettings::new("http://127.0.0.1:9", "anju-dev", crate::sharing::DEV_SECRET);
    Ok(Departments::all(Arc::new(ExchangeClient::new(settings)?)))
}

fn yuan(field: &str, text: &str) -> anyhow::Result<Fen> {
    Fen::parse_yuan(text).map_err(|e| anyhow::anyhow!("--{field} {text:?}: {e}"))
}

fn exit_of(v: &LoanView) -> u8 {
    match v.status.as_str() {
        "refused" | "cancelled" => 2,
        "review" | "proposed" => 3,
        _ => 0,
    }
}

/// Runs an `anju loan` subcommand on a centre's database.
pub fn run_at(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    cmd: LoanCmd,
) -> anyhow::Result<u8> {
    let now = Timestamp::now();
    match cmd {
        LoanCmd::Schedule(_) => run(cmd),
        LoanCmd::Apply(args) => {
            let ApplyArgs {
                exchange,
                banks,
                actor,
                application_no,
                id,
                spouse,
                consents,
                contract,
                amount,
                months,
                method,
                repay_day,
                deduct_from,
                bank,
                commercial,
                format,
                ..
            } = *args;
            let method =
                Method::from_code(&method).map_err(|e| anyhow::anyhow!("--method: {e}"))?;
            let consents = consents
                .iter()
                .map(|c| match c.split_once('=') {
                    Some((id, how)) => (id.trim().to_owned(), how.trim().to_owned()),
                    None => (c.trim().to_owned(), "counter-signature".to_owned()),
                })
                .collect();
            let departments = exchange.departments()?;
            let bank_set = banks.banks()?;
            let lender_set = banks.lenders()?;
            let ctx = loans_ctx(store, &departments, &bank_set, &lender_set, centre, policy);
            let stamp = actor.act(
                store,
                centre,
                Business::LoanApply,
                Whose::Member(id.clone()),
            )?;
            let new = NewLoan {
                application_no,
                id_number: id,
                spouse,
                consents,
                contract_no: contract,
                amount: yuan("amount", &amount)?,
                months,
                method,
                repay_day,
                deduct_from: deduct_from.into(),
                bank_code: bank,
                commercial: commercial
                    .as_deref()
                    .map(|c| yuan("commercial", c))
                    .transpose()?,
                stamp,
            };
            let v = loans::apply(&ctx, &new, now)?;
            print_loan(&v, format)?;
            Ok(exit_of(&v))
        }
        LoanCmd::Show {
            loan_no,
            format,
            actor,
            ..
        } => {
            actor.act(
                store,
                centre,
                Business::ViewMemberAccount,
                Whose::Loan(loan_no.clone()),
            )?;
            let v = loans::show(store, centre, &loan_no)?;
            print_loan(&v, format)?;
            Ok(0)
        }
        LoanCmd::List { id, actor, .. } => {
            actor.act(
                store,
                centre,
                Business::ViewMemberAccount,
                Whose::Member(id.clone()),
            )?;
            for v in loans::of_person(store, centre, &id)? {
                println!("{}", headline(&v));
            }
            Ok(0)
        }
        LoanCmd::Queue { actor, .. } => {
            actor.act(store, centre, Business::LoanReview, Whose::Nobody)?;
            for v in loans::review_queue(store, centre)? {
                println!("{}", headline(&v));
                if !v.details.reason_zh.is_empty() {
                    println!("  {}", v.details.reason_zh);
                }
                if let Some((what, note)) = &v.details.proposal {
                    println!(
                        "  proposed by {}: {what} ({note})",
                        v.details.proposed_by.as_deref().unwrap_or("?")
                    );
                }
            }
            Ok(0)
        }
        LoanCmd::Propose {
            actor,
            loan_no,
            decision,
            note,
            ..
        } => {
            let departments = no_departments()?;
            let bank_set = BankSet::new();
            // No bank is asked here: a combination loan's part is asked again later.
            let lender_set = anju_app::lending::LenderSet::new();
            let ctx = loans_ctx(store, &departments, &bank_set, &lender_set, centre, policy);
            let proposal = match decision {
                ProposalArg::Approve => Proposal::Approve,
                ProposalArg::Refuse => Proposal::Refuse,
            };
            let stamp = actor.act(
                store,
                centre,
                Business::LoanReview,
                Whose::Loan(loan_no.clone()),
            )?;
            let v = loans::propose(&ctx, &loan_no, proposal, &note, &stamp, now)?;
            println!("{}", headline(&v));
            Ok(0)
        }
        LoanCmd::Confirm {
            actor,
            loan_no,
            agree,
            ..
        } => {
            let departments = no_departments()?;
            let bank_set = BankSet::new();
            // No bank is asked here: a combination loan's part is asked again later.
            let lender_set = anju_app::lending::LenderSet::new();
            let ctx = loans_ctx(store, &departments, &bank_set, &lender_set, centre, policy);
            let stamp = actor.act(
                store,
                centre,
                Business::LoanReview,
                Whose::Loan(loan_no.clone()),
            )?;
            let v = loans::confirm(&ctx, &loan_no, agree, &stamp, now)?;
            println!("{}", headline(&v));
            Ok(exit_of(&v))
        }
        LoanCmd::Disburse {
            banks,
            actor,
            loan_no,
            ..
        } => {
            let bank_set = banks.banks()?;
            let lender_set = banks.lenders()?;
            let ctx = servicing_ctx(store, &bank_set, &lender_set, centre, policy);
            let stamp = actor.act(
                store,
                centre,
                Business::LoanDisburse,
                Whose::Loan(loan_no.clone()),
            )?;
            let v = servicing::disburse(&ctx, &loan_no, &stamp, now)?;
            println!("{}", headline(&v));
            Ok(if v.status == "active" { 0 } else { 3 })
        }
        LoanCmd::Prepay {
            banks,
            actor,
            loan_no,
            amount,
            shorten,
            from,
            ..
        } => {
            let bank_set = banks.banks()?;
            let lender_set = banks.lenders()?;
            let ctx = servicing_ctx(store, &bank_set, &lender_set, centre, policy);
            let req = Prepay {
                amount: amount.map(|a| yuan("amount", &a)).transpose()?,
                mode: if shorten {
                    PrepayMode::ShortenTerm
                } else {
                    PrepayMode::Reamortise
                },
                from: from.into(),
            };
            let stamp = actor.act(
                store,
                centre,
                Business::LoanPrepay,
                Whose::Loan(loan_no.clone()),
            )?;
            let v = servicing::prepay(&ctx, &loan_no, &req, &stamp, now)?;
            println!("{}", headline(&v));
            if let Some(p) = &v.details.pending_prepayment {
                println!(
                    "  waiting for the bank: {} (principal {}, interest {})",
                    p.serial,
                    Fen::new(p.principal),
                    Fen::new(p.interest)
                );
            }
            Ok(0)
        }
        LoanCmd::Overdue { format, actor, .. } => {
            actor.act(store, centre, Business::ViewMemberAccount, Whose::Nobody)?;
            let lines = servicing::overdue_register(store, centre)?;
            if format == ShowFormat::Json {
                println!("{}", serde_json::to_string_pretty(&lines)?);
                return Ok(0);
            }
            println!(
                "{:<16} {:<14} {:>7} {:>14} {:>12} {:>12} {:>5} class",
                "loan", "account", "periods", "principal", "interest", "penalty", "days"
            );
            for l in &lines {
                println!(
                    "{:<16} {:<14} {:>7} {:>14} {:>12} {:>12} {:>5} {}",
                    l.loan_no,
                    l.account_no,
                    l.periods,
                    l.principal.to_string(),
                    l.interest.to_string(),
                    l.penalty.to_string(),
                    l.overdue_days,
                    l.risk_class
                );
            }
            println!("{} loan(s) overdue", lines.len());
            Ok(0)
        }
        LoanCmd::Resume {
            exchange,
            banks,
            actor,
            loan_no,
            ..
        } => {
            let departments = exchange.departments()?;
            let bank_set = banks.banks()?;
            let lender_set = banks.lenders()?;
            let ctx = loans_ctx(store, &departments, &bank_set, &lender_set, centre, policy);
            let stamp = actor.act(
                store,
                centre,
                Business::LoanApply,
                Whose::Loan(loan_no.clone()),
            )?;
            let v = loans::resume(&ctx, &loan_no, &stamp, now)?;
            print_loan(&v, ShowFormat::Text)?;
            Ok(exit_of(&v))
        }
        LoanCmd::Sign {
            exchange,
            actor,
            loan_no,
            keys,
            ..
        } => {
            let departments = exchange.departments()?;
            let (bank_set, lender_set) = (BankSet::new(), anju_app::lending::LenderSet::new());
            let ctx = loans_ctx(store, &departments, &bank_set, &lender_set, centre, policy);
            let signer = key_store(store, centre, &keys)?;
            let stamp = actor.act(
                store,
                centre,
                Business::LoanSign,
                Whose::Loan(loan_no.clone()),
            )?;
            let v = loans::contract::sign(&ctx, &signer, &loan_no, &stamp, now)?;
            println!("{}", headline(&v));
            for (no, kind, sm3) in &v.documents {
                println!("  {no}  {kind}  SM3 {sm3}");
            }
            println!(
                "  collateral: {}",
                v.details
                    .mortgage_no
                    .as_deref()
                    .unwrap_or("not registered yet")
            );
            println!(
                "  the centre's CA key (for --trust-ca): {}",
                signer.ca_public_key()?
            );
            Ok(0)
        }
        LoanCmd::RegisterMortgage {
            exchange,
            actor,
            loan_no,
            ..
        } => {
            let departments = exchange.departments()?;
            let (bank_set, lender_set) = (BankSet::new(), anju_app::lending::LenderSet::new());
            let ctx = loans_ctx(store, &departments, &bank_set, &lender_set, centre, policy);
            let stamp = actor.act(
                store,
                centre,
                Business::LoanSign,
                Whose::Loan(loan_no.clone()),
            )?;
            let v = loans::contract::register_collateral(&ctx, &loan_no, &stamp, now)?;
            println!(
                "{}  collateral: {}",
                v.loan_no,
                v.details
                    .mortgage_no
                    .as_deref()
                    .unwrap_or("not registered yet")
            );
            Ok(u8::from(v.details.mortgage_no.is_none()) * 3)
        }
        LoanCmd::Certificate {
            exchange,
            loan_no,
            keys,
            out,
            actor,
            ..
        } => {
            actor.act(
                store,
                centre,
                Business::StatementPrint,
                Whose::Loan(loan_no.clone()),
            )?;
            let departments = exchange.departments()?;
            let (bank_set, lender_set) = (BankSet::new(), anju_app::lending::LenderSet::new());
            let ctx = loans_ctx(store, &departments, &bank_set, &lender_set, centre, policy);
            let signer = key_store(store, centre, &keys)?;
            let doc = loans::contract::payoff_certificate(&ctx, &signer, &loan_no, now)?;
            std::fs::write(&out, &doc.content)?;
            println!(
                "{}  {}  SM3 {}  → {}",
                doc.doc_no,
                doc.kind,
                doc.sm3,
                out.display()
            );
            Ok(0)
        }
        LoanCmd::Document {
            loan_no,
            doc_no,
            out,
            actor,
            ..
        } => {
            actor.act(
                store,
                centre,
                Business::StatementPrint,
                Whose::Loan(loan_no.clone()),
            )?;
            let doc = loans::contract::document(store, centre, &loan_no, &doc_no)?;
            std::fs::write(&out, &doc.content)?;
            println!(
                "{}  {}  SM3 {}  → {}",
                doc.doc_no,
                doc.kind,
                doc.sm3,
                out.display()
            );
            Ok(0)
        }
    }
}

/// The centre's key store at `path` (created with fresh keys if absent).
pub(crate) fn key_store(
    store: &dyn Store,
    centre: &str,
    path: &std::path::Path,
) -> anyhow::Result<anju_sign::LocalSigner> {
    let name = anju_app::ledger::centre(store.begin_read()?.as_mut(), centre)?.name;
    Ok(anju_sign::LocalSigner::open(
        path,
        &anju_sign::Issuer {
            code: centre.to_owned(),
            name,
        },
        Timestamp::now(),
    )?)
}

fn headline(v: &LoanView) -> String {
    format!(
        "{}  {}  {} ({})  {} 元  {} 个月  {}%  {}  outstanding {}",
        v.loan_no,
        v.application_no,
        v.status_zh,
        v.status,
        v.principal,
        v.months,
        v.annual_rate_pct,
        v.deduct_from,
        v.outstanding
    )
}

/// Prints a loan: JSON, or the headline, the decision's limits, the schedule and the
/// timeline.
fn print_loan(v: &LoanView, format: ShowFormat) -> anyhow::Result<()> {
    if format == ShowFormat::Json {
        println!("{}", serde_json::to_string_pretty(v)?);
        return Ok(());
    }
    println!("{}", headline(v));
    println!(
        "  account {}{}  {} home  {}  repay day {}  risk {}  overdue {} day(s)",
        v.account_no,
        v.co_borrower
            .as_deref()
            .map(|c| format!(" + co-borrower {c}"))
            .unwrap_or_default(),
        v.home,
        v.method,
        v.repay_day,
        v.risk_class,
        v.overdue_days
    );
    if !v.details.reason_zh.is_empty() {
        println!("  {}", v.details.reason_zh);
        println!("  {}", v.details.reason_en);
    }
    if let Some(d) = v.details.decision.clone() {
        let d: LoanDecision = serde_json::from_value(d)
            .map_err(|e| anyhow::anyhow!("loan {}: the decision cannot be read: {e}", v.loan_no))?;
        println!(
            "  limits (the least binds; amount = min(request, limit) = {}):",
            d.amount
        );
        for c in &d.candidates {
            let mark = if Some(c.kind) == d.binding {
                "→"
            } else {
                " "
            };
            println!(
                "   {mark} {:<14} {:>14}  {}",
                c.kind.code(),
                c.amount.to_string(),
                c.basis.zh
            );
        }
        match d.binding {
            Some(b) => println!("  bound by: {} ({})", b.code(), b.label_zh()),
            None => println!("  bound by: none (no limit could be computed)"),
        }
    }
    if let Some(p) = &v.details.commercial {
        println!(
            "  commercial part (组合贷款商业部分): {} {} 元 {}% {} months — {}{}",
            p.bank_loan_no.as_deref().unwrap_or("-"),
            Fen::new(p.amount),
            Rate::from_units(p.rate_units).percent_string(),
            p.months,
            p.status,
            if p.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", p.note)
            }
        );
    }
    if let Some(m) = &v.details.mortgage_no {
        println!(
            "  collateral: {m}{}",
            v.details
                .mortgage_released
                .map(|d| format!(" (released {d})"))
                .unwrap_or_default()
        );
    }
    if !v.schedule.is_empty() {
        println!(
            "  {:>6} {:<10} {:>12} {:>12} {:>12} {:>10} {:>12} {:<9} {:>12} {:>12}",
            "period",
            "due",
            "payment",
            "principal",
            "interest",
            "penalty",
            "paid",
            "status",
            "commercial",
            "total"
        );
        for (k, i) in v.schedule.iter().enumerate() {
            let (commercial, total) = v
                .combined
                .get(k)
                .map(|c| (c.commercial.to_string(), c.total.to_string()))
                .unwrap_or_default();
            println!(
                "  {:>6} {:<10} {:>12} {:>12} {:>12} {:>10} {:>12} {:<9} {:>12} {:>12}",
                i.period,
                i.due.to_string(),
                i.payment.to_string(),
                i.principal.to_string(),
                i.interest.to_string(),
                i.penalty.to_string(),
                i.paid.to_string(),
                i.status,
                commercial,
                total
            );
        }
    }
    for e in &v.events {
        println!("  {}  {:<12} {}  {}", e.at, e.event, e.operator, e.note_zh);
    }
    for (no, kind, sm3) in &v.documents {
        println!("  document {no} {kind} SM3 {sm3}");
    }
    Ok(())
}

fn schedule_text(args: &ScheduleArgs) -> anyhow::Result<String> {
    let principal =
        Fen::parse_yuan(&args.principal).map_err(|e| anyhow::anyhow!("--principal: {e}"))?;
    let annual = Rate::parse_percent(&args.annual_rate_pct)
        .map_err(|e| anyhow::anyhow!("--annual-rate-pct: {e}"))?;
    let method = Method::from_code(&args.method).map_err(|e| anyhow::anyhow!("--method: {e}"))?;
    let first = match (args.first_date, args.repay_day) {
        (Some(d), Some(k)) => Some((d, k)),
        _ => None,
    };
    let rows = loan::schedule(principal, annual, args.months, method, first)?;
    Ok(match args.format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&rows)?;
            text.push('\n');
            text
        }
        Format::Csv => csv(&rows, first.is_some()),
    })
}

fn csv(rows: &[Row], with_due: bool) -> String {
    let mut out = String::with_capacity(64 * (rows.len() + 1));
    out.push_str(if with_due {
        "period,due,payment,principal,interest,remaining\n"
    } else {
        "period,payment,principal,interest,remaining\n"
    });
    for r in rows {
        out.push_str(&r.period.to_string());
        if let (true, Some(due)) = (with_due, r.due) {
            out.push(',');
            out.push_str(&due.to_string());
        }
        for amount in [r.payment, r.principal, r.interest, r.remaining] {
            out.push(',');
            out.push_str(&amount.plain());
        }
        out.push('\n');
    }
    out
}

/// `anju close-day` arguments.
#[derive(Debug, clap::Args)]
pub struct CloseDayArgs {
    #[command(flatten)]
    pub at: At,
    #[command(flatten)]
    pub banks: BankArgs,
    /// Operator: `staff:<id>` when a member of staff closes the day by hand (authorized
    /// for the day close at their point); by default the scheduled day-close job.
    #[arg(long)]
    pub operator: Option<String>,
    /// The business date to close (default: the centre's business date).
    #[arg(long)]
    pub date: Option<Date>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ShowFormat,
}

/// Runs `anju close-day`: the day close of the centre's business date (or `--date`,
/// which must be it, or a date already closed: then its figures are printed again).
pub fn close_day(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    args: &CloseDayArgs,
) -> anyhow::Result<u8> {
    let calendar = anju_domain::calendar::BusinessCalendar::cn()?;
    let date = match args.date {
        Some(d) => d,
        None => {
            let mut tx = store.begin_read()?;
            anju_app::ledger::centre(tx.as_mut(), centre)?.business_date
        }
    };
    let bank_set = args.banks.banks()?;
    let lender_set = args.banks.lenders()?;
    let ctx = servicing_ctx(store, &bank_set, &lender_set, centre, policy);
    let stamp = match &args.operator {
        Some(op) => Actor {
            operator: op.clone(),
            channel: None,
            on_behalf_of: None,
        }
        .act(store, centre, Business::DayClose, Whose::Nobody)?,
        None => anju_domain::stamp::Stamp::system("day-close"),
    };
    let r = anju_app::dayclose::close_day(&ctx, &calendar, date, &stamp, Timestamp::now())?;
    if args.format == ShowFormat::Json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(0);
    }
    let l = &r.loans;
    if r.already {
        println!("{date} already closed; what that close did:");
    } else {
        println!("{date} closed; the business date is now the next day");
    }
    println!(
        "  settlement: {} instruction(s) asked about, {} settled",
        r.instructions_queried, r.instructions_settled
    );
    println!("  remittance reminders: {}", r.reminders);
    println!(
        "  loans: {} due; {} repaid from the provident fund ({} 元); {} card deduction(s) sent, {} executed",
        l.loans_due,
        l.fund_repayments,
        Fen::new(l.fund_amount_fen),
        l.deductions_sent,
        l.deductions_executed
    );
    println!(
        "  overdue: {} loan(s), {} installment(s) newly overdue, penalty accrued {} 元; {} reclassified, {} re-priced, {} paid off",
        l.overdue_loans,
        l.newly_overdue,
        Fen::new(l.penalty_accrued_fen),
        l.reclassified,
        l.repriced,
        l.paid_off
    );
    Ok(0)
}

/// The loan use cases' context from what a command built.
fn loans_ctx<'a>(
    store: &'a dyn Store,
    departments: &'a Departments,
    banks: &'a BankSet,
    lenders: &'a anju_app::lending::LenderSet,
    centre: &'a str,
    policy: &'a Policy,
) -> Loans<'a> {
    Loans {
        store,
        departments,
        banks,
        lenders,
        centre,
        policy,
    }
}

/// The servicing context (no departments) from what a command built.
fn servicing_ctx<'a>(
    store: &'a dyn Store,
    banks: &'a BankSet,
    lenders: &'a anju_app::lending::LenderSet,
    centre: &'a str,
    policy: &'a Policy,
) -> servicing::Servicing<'a> {
    servicing::Servicing {
        store,
        banks,
        lenders,
        centre,
        policy,
    }
}
