//! `anju withdraw …`: apply for a withdrawal (checked with the exchange, paid through the
//! banks), follow it, review it (maker-checker), print its receipt.

use anju_app::access::guard::{self, Target};
use anju_app::withdrawal::{
    self as wd, Heir, NewWithdrawal, Proposal, Review, WithdrawalView, Withdrawals,
};
use anju_domain::access::Business;
use anju_domain::codes::Channel;
use anju_domain::money::Fen;
use anju_domain::policy::Policy;
use anju_domain::sharing::verify::Claims;
use anju_domain::stamp::Stamp;
use anju_domain::withdrawal::{Ground, RepayMode};
use anju_store::Store;
use clap::Subcommand;
use jiff::Timestamp;

use crate::collect::At;
use crate::settle::BankArgs;
use crate::sharing::ExchangeArgs;

/// Who acts: a member of staff at the console, at their own service point.
///
/// The console (this command, run on the centre's own machines) acts only as a member of
/// staff in the staff register (`anju access staff create`); members and unit clerks act
/// online, signed in, through the web API. Every act is first authorized — the permission
/// matrix of the staff's role at their point, the point's business list and status — and
/// the decision, allowed or refused, is written to the audit log.
#[derive(Debug, Clone, clap::Args)]
pub struct Actor {
    /// Operator: `staff:<id>`, a member of staff in the staff register.
    #[arg(long)]
    pub operator: String,
    /// Channel, when the staff's point admits several (an online point: web, mobile, zlb,
    /// mini-program); by default the point's own.
    #[arg(long)]
    pub channel: Option<String>,
    /// The member served, when staff act for one.
    #[arg(long)]
    pub on_behalf_of: Option<String>,
}

/// Whose business an act is: the member (by resident ID number) when known.
pub enum Whose {
    /// Nobody's in particular.
    Nobody,
    /// A member by resident ID number.
    Member(String),
    /// A unit by unit account number.
    Unit(String),
    /// The holder of a withdrawal application.
    Withdrawal(String),
    /// The borrower of a loan.
    Loan(String),
    /// The applicant of a data-sharing application.
    Application(String),
    /// The holder of a personal account.
    Account(String),
}

impl Actor {
    /// Authorizes `business` for this operator and returns the stamp the act carries
    /// (the refusal, if any, is in the audit log).
    pub fn act(
        &self,
        store: &dyn Store,
        centre: &str,
        business: Business,
        whose: Whose,
    ) -> anyhow::Result<Stamp> {
        let now = Timestamp::now();
        let staff_id = self.operator.strip_prefix("staff:").ok_or_else(|| {
            anyhow::anyhow!(
                "--operator {:?}: the console acts as staff:<id> (a member of staff in the staff register); members and unit clerks act online, signed in",
                self.operator
            )
        })?;
        let channel = self.channel.as_deref().map(channel_of).transpose()?;
        let principal = guard::console_staff(store, centre, staff_id, channel, now)?;
        let id = match whose {
            Whose::Nobody => None,
            Whose::Member(id) => Some(id),
            Whose::Unit(u) => {
                let stamp = guard::act(
                    store,
                    centre,
                    &principal,
                    business,
                    Target::Unit(&u),
                    self.on_behalf_of.clone(),
                    now,
                )?;
                return Ok(stamp);
            }
            Whose::Withdrawal(no) => store
                .begin_read()?
                .withdrawal(centre, &no)?
                .map(|w| w.id_number),
            Whose::Account(no) => store
                .begin_read()?
                .member(centre, &no)?
                .map(|m| m.id_number),
            Whose::Application(no) => store
                .begin_read()?
                .application(centre, &no)?
                .map(|a| a.applicant),
            Whose::Loan(no) => {
                let mut tx = store.begin_read()?;
                match tx.loan(centre, &no)? {
                    Some(l) => tx.member(centre, &l.account_no)?.map(|m| m.id_number),
                    None => None,
                }
            }
        };
        let target = id.as_deref().map_or(Target::None, Target::Member);
        Ok(guard::act(
            store,
            centre,
            &principal,
            business,
            target,
            self.on_behalf_of.clone(),
            now,
        )?)
    }
}

/// A channel by short name or code.
pub fn channel_of(text: &str) -> anyhow::Result<Channel> {
    let c = match text {
        "counter" => Channel::Counter,
        "web" | "online" => Channel::Web,
        "mobile" => Channel::MobileApp,
        "zlb" => Channel::Zlb,
        "mini-program" => Channel::NationalMiniProgram,
        "bank-branch" => Channel::BankBranch,
        "station" => Channel::VillageStation,
        "township" => Channel::TownshipCentre,
        "self-service" => Channel::SelfService,
        "hotline" => Channel::Hotline,
        code => Channel::from_code(code).map_err(|_| {
            anyhow::anyhow!(
                "--channel {text:?}: one of counter, web, mobile, zlb, mini-program, bank-branch, station, township, self-service, hotline, or a code 01-12"
            )
        })?,
    };
    Ok(c)
}

/// `anju withdraw apply` arguments.
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
    /// Application number (default: W + time).
    #[arg(long)]
    pub no: Option<String>,
    /// The account holder's resident ID number (the deceased member for `death`).
    #[arg(long)]
    pub id: String,
    /// Ground: purchase, build-repair, renovation, loan-repayment, rent, property-fee,
    /// renewal, retirement, disability, emigration, moved-out, death, illness,
    /// left-job, other.
    #[arg(long)]
    pub ground: String,
    /// Loan repayment mode: one-off, yearly, monthly.
    #[arg(long)]
    pub mode: Option<String>,
    /// Amount in yuan (default: as much as the rule allows).
    #[arg(long)]
    pub amount: Option<String>,
    /// Purchase contract filing number.
    #[arg(long)]
    pub contract: Option<String>,
    /// Lease filing number.
    #[arg(long)]
    pub lease: Option<String>,
    /// Renewal project number.
    #[arg(long)]
    pub project: Option<String>,
    /// E-invoice number.
    #[arg(long)]
    pub invoice: Option<String>,
    /// Year (illness expenses).
    #[arg(long)]
    pub year: Option<i16>,
    /// The applicant's spouse (their consent is taken as signed at the counter).
    #[arg(long)]
    pub spouse: Option<String>,
    /// Purchase: the home was bought by the spouse (the applicant is not on the
    /// contract).
    #[arg(long, requires = "spouse")]
    pub spouse_buyer: bool,
    /// An heir as ID,NAME,BANK,CARD,SHARE (SHARE like 1/2), repeatable (death).
    #[arg(long = "heir")]
    pub heirs: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Withdrawal commands.
#[derive(Debug, Subcommand)]
pub enum WithdrawCmd {
    /// Apply: the facts are checked with the departments, the rule decides, and an
    /// automatic approval is paid at once. Prints the withdrawal; exit 0 when paid or
    /// paying, 2 when refused, 3 when sent to review.
    Apply(Box<ApplyArgs>),
    /// The monthly loan offset (按月冲还贷): this month's withdrawal for every member with
    /// the arrangement in force (rerun safely; prints one JSON line).
    OffsetRun {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        exchange: ExchangeArgs,
        #[command(flatten)]
        banks: BankArgs,
    },
    /// Carry on a withdrawal left `verifying` (verify again from the cache, decide, pay).
    Resume {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        exchange: ExchangeArgs,
        #[command(flatten)]
        banks: BankArgs,
        #[command(flatten)]
        actor: Actor,
        /// Application number.
        no: String,
    },
    /// Pay a returned withdrawal again (the bank did not pay): the member's card bound
    /// now, or an heir's new card.
    Repay {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        banks: BankArgs,
        #[command(flatten)]
        actor: Actor,
        /// Application number.
        no: String,
        /// An heir's new card as ID,BANK,CARD (repeatable).
        #[arg(long = "heir-card")]
        heir_cards: Vec<String>,
    },
    /// A withdrawal with its timeline and payments.
    Show {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        /// Application number.
        no: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The receipt (回单).
    Receipt {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        /// Application number.
        no: String,
    },
    /// A member's withdrawals.
    List {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        /// Resident ID number.
        #[arg(long)]
        id: String,
    },
    /// The staff review queue.
    Queue {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
    },
    /// Propose a decision on a withdrawal under review (maker).
    Propose {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
        /// Application number.
        no: String,
        /// Approve this amount (yuan).
        #[arg(long, conflicts_with = "refuse", required_unless_present = "refuse")]
        approve: Option<String>,
        /// Propose to refuse.
        #[arg(long)]
        refuse: bool,
        /// Why.
        #[arg(long)]
        note: String,
    },
    /// Confirm or send back a proposal (checker; another clerk than the maker). A
    /// confirmed approval is paid at once.
    Confirm {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        banks: BankArgs,
        #[command(flatten)]
        actor: Actor,
        /// Application number.
        no: String,
        /// Send the proposal back to review instead of confirming it.
        #[arg(long)]
        reject: bool,
        /// Why.
        #[arg(long, default_value = "")]
        note: String,
    },
}

impl WithdrawCmd {
    /// The database, centre and policy.
    pub fn at(&self) -> &At {
        match self {
            WithdrawCmd::Apply(a) => &a.at,
            WithdrawCmd::OffsetRun { at, .. }
            | WithdrawCmd::Resume { at, .. }
            | WithdrawCmd::Repay { at, .. }
            | WithdrawCmd::Show { at, .. }
            | WithdrawCmd::Receipt { at, .. }
            | WithdrawCmd::List { at, .. }
            | WithdrawCmd::Queue { at, .. }
            | WithdrawCmd::Propose { at, .. }
            | WithdrawCmd::Confirm { at, .. } => at,
        }
    }
}

fn yuan(field: &str, text: &str) -> anyhow::Result<Fen> {
    Fen::parse_yuan(text).map_err(|e| anyhow::anyhow!("--{field} {text:?}: {e}"))
}

fn heir(text: &str) -> anyhow::Result<Heir> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [id, name, bank, card, share] = parts.as_slice() else {
        anyhow::bail!("--heir {text:?}: give ID,NAME,BANK,CARD,SHARE (e.g. …,1/2)");
    };
    let (n, d) = share
        .split_once('/')
        .and_then(|(n, d)| Some((n.parse().ok()?, d.parse().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("--heir {text:?}: the share is N/D, e.g. 1/3"))?;
    Ok(Heir {
        id_number: (*id).to_owned(),
        name: (*name).to_owned(),
        bank_code: (*bank).to_owned(),
        card_no: (*card).to_owned(),
        share: (n, d),
    })
}

fn print(v: &WithdrawalView, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(v)?);
        return Ok(());
    }
    println!(
        "{}  {} {}  {} ({})  {} 元",
        v.application_no, v.reason_code, v.ground_zh, v.status_zh, v.status, v.amount
    );
    if !v.reason_zh.is_empty() {
        println!("  {}", v.reason_zh);
        println!("  {}", v.reason_en);
    }
    for p in &v.payees {
        println!(
            "  → {} {} {} {} 元 [{}]",
            p.name, p.bank_code, p.card, p.amount, p.state
        );
    }
    Ok(())
}

fn exit_of(v: &WithdrawalView) -> u8 {
    match v.status.as_str() {
        "refused" | "returned" => 2,
        "review" | "proposed" => 3,
        _ => 0,
    }
}

/// Runs a withdrawal command.
pub fn run(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    cmd: WithdrawCmd,
) -> anyhow::Result<u8> {
    let now = Timestamp::now();
    match cmd {
        WithdrawCmd::Apply(args) => {
            let ApplyArgs {
                exchange,
                banks,
                actor,
                no,
                id,
                ground,
                mode,
                amount,
                contract,
                lease,
                project,
                invoice,
                year,
                heirs,
                spouse,
                spouse_buyer,
                json,
                ..
            } = *args;
            let ground = Ground::from_code(&ground)
                .ok_or_else(|| anyhow::anyhow!("--ground {ground:?}: not a withdrawal ground"))?;
            let mode = mode
                .map(|m| {
                    RepayMode::from_code(&m).ok_or_else(|| {
                        anyhow::anyhow!("--mode {m:?}: must be one-off, yearly or monthly")
                    })
                })
                .transpose()?;
            let heirs = heirs
                .iter()
                .map(|h| heir(h))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let consents = heirs
                .iter()
                .map(|h| h.id_number.clone())
                .chain(spouse.clone())
                .map(|id| (id, "counter-signature".to_owned()))
                .collect();
            let stamp = actor.act(
                store,
                centre,
                Business::WithdrawalApply,
                Whose::Member(id.clone()),
            )?;
            let departments = exchange.departments()?;
            let bank_set = banks.banks()?;
            let ctx = Withdrawals {
                store,
                departments: &departments,
                banks: &bank_set,
                centre,
                policy,
            };
            let new = NewWithdrawal {
                application_no: no.unwrap_or_else(|| format!("W{}", now.as_microsecond())),
                id_number: id,
                ground,
                mode,
                requested: amount.map(|a| yuan("amount", &a)).transpose()?,
                claims: Claims {
                    contract_no: contract,
                    lease_no: lease,
                    project_no: project,
                    year,
                    invoice_no: invoice,
                    spouse_buyer: spouse_buyer.then(|| spouse.clone()).flatten(),
                    flexible_residence: None,
                },
                spouse: spouse.clone(),
                heirs,
                consents,
                stamp,
            };
            let v = wd::apply(&ctx, &new, now)?;
            print(&v, json)?;
            Ok(exit_of(&v))
        }
        WithdrawCmd::OffsetRun {
            exchange, banks, ..
        } => {
            let departments = exchange.departments()?;
            let bank_set = banks.banks()?;
            let ctx = Withdrawals {
                store,
                departments: &departments,
                banks: &bank_set,
                centre,
                policy,
            };
            let stamp = Stamp {
                operator: "system:offset".to_owned(),
                channel: Channel::Batch,
                service_point: "centre".to_owned(),
                on_behalf_of: None,
            };
            let run = wd::run_monthly_offsets(&ctx, &stamp, now)?;
            let paid = run.made.iter().filter(|v| v.status == "paid").count();
            println!(
                "{}",
                serde_json::json!({
                    "arrangements": run.arrangements,
                    "done_already": run.done_already,
                    "made": run.made.len(),
                    "paid": paid,
                    "failed": run.failed,
                })
            );
            Ok(u8::from(!run.failed.is_empty()))
        }
        WithdrawCmd::Resume {
            exchange,
            banks,
            actor,
            no,
            ..
        } => {
            let departments = exchange.departments()?;
            let bank_set = banks.banks()?;
            let ctx = Withdrawals {
                store,
                departments: &departments,
                banks: &bank_set,
                centre,
                policy,
            };
            let stamp = actor.act(
                store,
                centre,
                Business::WithdrawalApply,
                Whose::Withdrawal(no.clone()),
            )?;
            let v = wd::resume(&ctx, &no, &stamp, now)?;
            print(&v, false)?;
            Ok(exit_of(&v))
        }
        WithdrawCmd::Repay {
            banks,
            actor,
            no,
            heir_cards,
            ..
        } => {
            let cards = heir_cards
                .iter()
                .map(|t| {
                    let parts: Vec<&str> = t.split(',').map(str::trim).collect();
                    match parts.as_slice() {
                        [id, bank, card] => {
                            Ok(((*id).to_owned(), (*bank).to_owned(), (*card).to_owned()))
                        }
                        _ => Err(anyhow::anyhow!("--heir-card {t:?}: give ID,BANK,CARD")),
                    }
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let bank_set = banks.banks()?;
            let ctx = Review {
                store,
                banks: &bank_set,
                centre,
                policy,
            };
            let stamp = actor.act(
                store,
                centre,
                Business::WithdrawalApply,
                Whose::Withdrawal(no.clone()),
            )?;
            let v = wd::repay(&ctx, &no, &cards, &stamp, now)?;
            print(&v, false)?;
            Ok(exit_of(&v))
        }
        WithdrawCmd::Show {
            no, json, actor, ..
        } => {
            actor.act(
                store,
                centre,
                Business::ViewMemberAccount,
                Whose::Withdrawal(no.clone()),
            )?;
            let v = wd::show(store, centre, &no)?;
            print(&v, json)?;
            if !json {
                for e in &v.events {
                    println!("  {}  {:<9} {}  {}", e.at, e.status, e.operator, e.note_zh);
                }
            }
            Ok(0)
        }
        WithdrawCmd::Receipt { no, actor, .. } => {
            actor.act(
                store,
                centre,
                Business::StatementPrint,
                Whose::Withdrawal(no.clone()),
            )?;
            print!("{}", wd::receipt(store, centre, &no)?);
            Ok(0)
        }
        WithdrawCmd::List { id, actor, .. } => {
            actor.act(
                store,
                centre,
                Business::ViewMemberAccount,
                Whose::Member(id.clone()),
            )?;
            for v in wd::of_member(store, centre, &id)? {
                print(&v, false)?;
            }
            Ok(0)
        }
        WithdrawCmd::Queue { actor, .. } => {
            actor.act(store, centre, Business::WithdrawalReview, Whose::Nobody)?;
            for v in wd::review_queue(store, centre)? {
                print(&v, false)?;
            }
            Ok(0)
        }
        WithdrawCmd::Propose {
            actor,
            no,
            approve,
            refuse: _,
            note,
            ..
        } => {
            let proposal = match approve {
                Some(a) => Proposal::Approve {
                    amount: yuan("approve", &a)?,
                },
                None => Proposal::Refuse,
            };
            let stamp = actor.act(
                store,
                centre,
                Business::WithdrawalReview,
                Whose::Withdrawal(no.clone()),
            )?;
            let v = wd::propose(store, centre, &no, &proposal, &note, &stamp, now)?;
            print(&v, false)?;
            Ok(0)
        }
        WithdrawCmd::Confirm {
            banks,
            actor,
            no,
            reject,
            note,
            ..
        } => {
            let bank_set = banks.banks()?;
            let ctx = Review {
                store,
                banks: &bank_set,
                centre,
                policy,
            };
            let stamp = actor.act(
                store,
                centre,
                Business::WithdrawalReview,
                Whose::Withdrawal(no.clone()),
            )?;
            let v = wd::confirm(&ctx, &no, !reject, &note, &stamp, now)?;
            print(&v, false)?;
            Ok(exit_of(&v))
        }
    }
}
