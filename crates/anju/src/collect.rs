//! The collection batch commands: `anju remit`, `anju pay`, `anju arrears`,
//! `anju settle-interest`, `anju import`, `anju statement`, `anju bill`, `anju template`.
//! Each is one use case of `anju_app`; each is idempotent (running it again changes nothing
//! or is refused with the reason).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anju_app::import::{ImportTarget, Imported, import_list};
use anju_app::interest::settle_interest;
use anju_app::remittance::{self, Payment, PaymentOutcome, arrears, generate_month, pay_bill};
use anju_app::statement::{
    bill_table, member_statement, member_statement_table, unit_statement, unit_statement_tables,
};
use anju_app::{AppError, remittance::send_reminders};
use anju_domain::access::Business;
use anju_domain::calendar::BusinessCalendar;
use anju_domain::collection::YearMonth;
use anju_domain::money::Fen;
use anju_domain::policy::Policy;
use anju_domain::stamp::Stamp;
use anju_sheets::{Format, ListKind, Table, template, write_csv, write_xlsx};
use anju_store::Store;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use crate::withdraw::{Actor, Whose};

/// Which database, centre and policy a command works on.
#[derive(Debug, clap::Args)]
pub struct At {
    /// Database URL (sqlite://PATH or postgres://…).
    #[arg(long)]
    pub db: String,
    /// Centre (default: the only one in the database).
    #[arg(long)]
    pub centre: Option<String>,
    /// Centre policy file (TOML); the shipped Quzhou policy by default.
    #[arg(long)]
    pub policy: Option<PathBuf>,
}

impl CollectCmd {
    /// The database, centre and policy, for commands that use them.
    pub fn at(&self) -> Option<&At> {
        match self {
            CollectCmd::Remit { at, .. }
            | CollectCmd::Pay { at, .. }
            | CollectCmd::Arrears { at, .. }
            | CollectCmd::SettleInterest { at, .. }
            | CollectCmd::Import { at, .. }
            | CollectCmd::Statement { at, .. }
            | CollectCmd::Bill { at, .. }
            | CollectCmd::OpenFlexible { at, .. }
            | CollectCmd::RegisterUnit { at, .. }
            | CollectCmd::ChangeUnit { at, .. }
            | CollectCmd::OpenMember { at, .. }
            | CollectCmd::ChangeMember { at, .. }
            | CollectCmd::FlexibleBill { at, .. } => Some(at),
            CollectCmd::Template { .. } => None,
        }
    }
}

/// Collection commands.
#[derive(Debug, Subcommand)]
pub enum CollectCmd {
    /// Generate and confirm the month's remittance bill of every unit that has members due
    /// and no bill yet (the monthly batch).
    Remit {
        #[command(flatten)]
        at: At,
        /// Month, YYYY-MM (default: the business month).
        #[arg(long)]
        month: Option<String>,
    },
    /// Record money received for a bill (a bank notice or a counter payment).
    Pay {
        #[command(flatten)]
        at: At,
        /// Bill number.
        #[arg(long)]
        bill: String,
        /// Bank serial or voucher number (the same serial twice posts once).
        #[arg(long)]
        serial: String,
        /// Amount in yuan, e.g. 11400.00.
        #[arg(long)]
        amount: String,
        /// Bank code the money arrived at (default: the bill's bank).
        #[arg(long)]
        bank: Option<String>,
        #[command(flatten)]
        actor: Actor,
    },
    /// List bills past their due date; with --remind, send today's reminders (催缴).
    Arrears {
        #[command(flatten)]
        at: At,
        /// Record a reminder for each bill in arrears (once per day).
        #[arg(long)]
        remind: bool,
        #[command(flatten)]
        actor: Actor,
    },
    /// Post the year-end interest (年终结息) for the period ending on YEAR's settlement
    /// date, and start the new period.
    SettleInterest {
        #[command(flatten)]
        at: At,
        /// Settlement year.
        #[arg(long)]
        year: i16,
    },
    /// Import a unit's list (.xlsx or .csv): roster, remittance, base-adjustment or
    /// back-payment. Every bad row is reported and nothing is written if any is bad.
    Import {
        #[command(flatten)]
        at: At,
        /// List kind: roster, remittance, base-adjustment, back-payment.
        #[arg(long)]
        kind: String,
        /// The file.
        #[arg(long)]
        file: PathBuf,
        /// The unit number.
        #[arg(long)]
        unit: String,
        /// For a remittance list: the month, YYYY-MM.
        #[arg(long)]
        month: Option<String>,
        /// For a base-adjustment list: the contribution year (from July 1).
        #[arg(long)]
        year: Option<i16>,
        #[command(flatten)]
        actor: Actor,
    },
    /// A member's statement (by personal account) or a unit's (by unit number).
    Statement {
        #[command(flatten)]
        at: At,
        /// Personal account number.
        #[arg(long, conflicts_with = "unit", required_unless_present = "unit")]
        account: Option<String>,
        /// Unit number.
        #[arg(long)]
        unit: Option<String>,
        /// Write the whole statement to this .xlsx or .csv file instead of printing.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        actor: Actor,
    },
    /// Show a bill, or write it to an .xlsx / .csv file.
    Bill {
        #[command(flatten)]
        at: At,
        /// Bill number.
        #[arg(long)]
        bill: String,
        /// Write it to this .xlsx or .csv file.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        actor: Actor,
    },
    /// Register a unit (单位登记开户): one per unified social credit code; ratios within
    /// the policy; the collection bank one of the centre's commissioned banks.
    RegisterUnit {
        #[command(flatten)]
        at: At,
        /// Unified social credit code (统一社会信用代码).
        #[arg(long)]
        credit_code: String,
        /// Unit name.
        #[arg(long)]
        name: String,
        /// Address.
        #[arg(long)]
        address: String,
        /// Legal representative.
        #[arg(long)]
        legal_rep: String,
        /// Payday, day of the month (1–28).
        #[arg(long)]
        payday: i32,
        /// Collection bank code.
        #[arg(long)]
        bank: String,
        /// Unit contribution ratio in percent, e.g. 12.
        #[arg(long)]
        unit_ratio: String,
        /// Member contribution ratio in percent, e.g. 12.
        #[arg(long)]
        member_ratio: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// A unit's status change: defer (缓缴, the reason carries the approval),
    /// end-deferral, seal (封存), unseal (启封), close (销户, only with no member attached).
    ChangeUnit {
        #[command(flatten)]
        at: At,
        /// Unit number.
        #[arg(long)]
        unit: String,
        /// defer, end-deferral, seal, unseal or close.
        #[arg(long)]
        act: String,
        /// Why (and for a deferral the approval's reference).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Open a member's personal account (个人开户) in a unit: one account per person in the
    /// centre; the base from the declared wage, brought within the floor/cap with a notice.
    OpenMember {
        #[command(flatten)]
        at: At,
        /// Resident ID number.
        #[arg(long)]
        id_number: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// The unit hiring the member.
        #[arg(long)]
        unit: String,
        /// Last year's average monthly wage in yuan, as the unit declares it.
        #[arg(long)]
        wage: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// A member's status change: seal (封存, left the unit), unseal --unit U (启封, hired),
    /// transfer --unit U (内部转移, balance kept), resume (a flexible worker contributes
    /// again), freeze (冻结, e.g. a court order). Unfreezing needs a second person
    /// (`anju access approval`).
    ChangeMember {
        #[command(flatten)]
        at: At,
        /// Personal account number.
        #[arg(long)]
        account: String,
        /// seal, unseal, transfer, resume or freeze.
        #[arg(long)]
        act: String,
        /// The unit, for unseal and transfer.
        #[arg(long)]
        unit: Option<String>,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Open a flexible-employment account (灵活就业人员开户) for a self-employed person:
    /// age, base and ratio checked against the policy, and the policy's residence rule
    /// verified with the departments through the data exchange (logged, with the
    /// applicant's consent given by applying); a department that cannot answer refuses.
    OpenFlexible {
        #[command(flatten)]
        at: At,
        /// Resident ID number.
        #[arg(long)]
        id_number: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// Chosen monthly base in yuan, within the floor and cap, e.g. 6000.00.
        #[arg(long)]
        base: String,
        /// Chosen combined ratio in percent, within the flexible bounds, e.g. 20.
        #[arg(long)]
        ratio: String,
        #[command(flatten)]
        exchange: crate::sharing::ExchangeArgs,
        #[command(flatten)]
        actor: Actor,
    },
    /// A flexible worker's contribution bill (灵活就业缴存) for the next unpaid month and
    /// `--months` in all (1 = monthly, up to 12 in advance); pay it with `anju pay`.
    FlexibleBill {
        #[command(flatten)]
        at: At,
        /// Personal account number.
        #[arg(long)]
        account: String,
        /// Months paid by this bill (1–12).
        #[arg(long, default_value_t = 1)]
        months: u32,
        /// First month, YYYY-MM (default: the month after 缴至年月, or the opening month;
        /// after a stop, the month payments resume from).
        #[arg(long)]
        from: Option<String>,
        /// Bank code the person pays at.
        #[arg(long)]
        bank: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Write an empty list template with Chinese headers.
    Template {
        /// List kind: roster, remittance, base-adjustment, back-payment.
        #[arg(long)]
        kind: String,
        /// Output file (.xlsx or .csv).
        #[arg(long)]
        out: PathBuf,
    },
}

fn kind_of(text: &str) -> anyhow::Result<ListKind> {
    ListKind::from_code(text).ok_or_else(|| {
        anyhow::anyhow!(
            "--kind {text:?}: must be one of roster, remittance, base-adjustment, back-payment"
        )
    })
}

fn month_of(text: &str) -> anyhow::Result<YearMonth> {
    YearMonth::parse(text).map_err(|e| anyhow::anyhow!("--month: {e}"))
}

fn write_tables(path: &Path, tables: &[Table]) -> anyhow::Result<()> {
    let bytes = match Format::from_path(path)? {
        Format::Xlsx => write_xlsx(tables)?,
        Format::Csv => {
            let first = tables
                .first()
                .ok_or_else(|| anyhow::anyhow!("nothing to write"))?;
            write_csv(first)?
        }
    };
    std::fs::write(path, bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_owned());
    pb
}

/// Prints every bad row of a refused list, then fails.
fn report(e: AppError) -> anyhow::Error {
    if let AppError::Rows { problems } = &e {
        eprintln!("{} bad row(s); nothing was written:", problems.len());
        for p in problems {
            eprintln!("  {p}");
        }
    }
    anyhow::Error::from(e)
}

/// Writes a template (needs no database).
pub fn write_template(kind: &str, out: &Path) -> anyhow::Result<u8> {
    let kind = kind_of(kind)?;
    let bytes = template(kind, Format::from_path(out)?)?;
    std::fs::write(out, bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    println!("wrote {} ({})", out.display(), kind.name_zh());
    Ok(0)
}

/// A resident ID number given as `--id-number`.
fn id_card_arg(text: &str) -> anyhow::Result<anju_domain::ids::IdCard> {
    anju_domain::ids::IdCard::parse(text).map_err(|e| anyhow::anyhow!("--id-number {text}: {e}"))
}

/// An amount in yuan given as `flag`.
fn yuan_arg(flag: &str, text: &str) -> anyhow::Result<Fen> {
    Fen::parse_yuan(text).map_err(|e| anyhow::anyhow!("{flag} {text}: {e}"))
}

/// A ratio in percent given as `flag`.
fn percent_arg(flag: &str, text: &str) -> anyhow::Result<anju_domain::money::Rate> {
    anju_domain::money::Rate::parse_percent(text).map_err(|e| anyhow::anyhow!("{flag} {text}: {e}"))
}

/// Runs one collection command.
pub fn run(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    cmd: CollectCmd,
) -> anyhow::Result<u8> {
    let calendar = BusinessCalendar::cn()?;
    let now = jiff::Timestamp::now();
    let business = store
        .begin_read()?
        .centre(centre)?
        .ok_or_else(|| anyhow::anyhow!("no centre {centre}"))?
        .business_date;
    match cmd {
        CollectCmd::Remit { month, .. } => {
            let month = match month {
                Some(m) => month_of(&m)?,
                None => YearMonth::of(business),
            };
            let pb = bar(0, &format!("{month} 汇缴清册"));
            let bills = generate_month(store, centre, policy, &calendar, month, &mut |i, n| {
                pb.set_length(n as u64);
                pb.set_position(i as u64);
            })?;
            pb.finish_and_clear();
            let total: i64 = bills.iter().map(|b| b.bill.total.fen()).sum();
            let lines: usize = bills.iter().map(|b| b.lines.len()).sum();
            let notices: usize = bills.iter().map(|b| b.notices().count()).sum();
            println!(
                "{month}: {} bill(s) generated and confirmed, {lines} member line(s), {} in all; {notices} base(s) brought within the floor/cap",
                bills.len(),
                Fen::new(total)
            );
            Ok(0)
        }
        CollectCmd::Pay {
            bill,
            serial,
            amount,
            bank,
            actor,
            ..
        } => {
            let stamp = actor.act(store, centre, Business::Remittance, Whose::Nobody)?;
            let amount = Fen::parse_yuan(&amount).map_err(|e| anyhow::anyhow!("--amount: {e}"))?;
            let out = pay_bill(
                store,
                centre,
                Payment {
                    bill_no: bill.clone(),
                    receipt_key: serial,
                    amount,
                    bank_code: bank,
                },
                &stamp,
                now,
            )?;
            match out {
                PaymentOutcome::Paid { posted, excess } => println!(
                    "bill {bill} paid in full: entry {} ({}); {excess} left in suspense",
                    posted.entry.seq, posted.entry.entry.key
                ),
                PaymentOutcome::Held {
                    held, outstanding, ..
                } => println!(
                    "bill {bill}: {amount} held in suspense ({held} held in all); {outstanding} still owed"
                ),
                PaymentOutcome::Replayed { receipt } => println!(
                    "serial {} was recorded on {}: nothing new",
                    receipt.receipt_key, receipt.received_on
                ),
            }
            Ok(0)
        }
        CollectCmd::Arrears { remind, actor, .. } => {
            // Every unit's arrears: a view of units' accounts by a named member of staff.
            actor.act(store, centre, Business::ViewUnitAccount, Whose::Nobody)?;
            let list = arrears(store, centre, &calendar)?;
            println!("{} bill(s) in arrears on {business}:", list.len());
            for a in &list {
                println!(
                    "  {} {} {} {} owed {} (held {}), due {}, {} working day(s) late, {} reminder(s)",
                    a.bill.bill_no,
                    a.bill.payer,
                    a.payer_name,
                    a.bill.month,
                    a.outstanding,
                    a.held,
                    a.bill.due_on,
                    a.overdue_days,
                    a.reminders
                );
            }
            let missing = remittance::missing_bills(store, centre, policy, &calendar)?;
            if !missing.is_empty() {
                println!(
                    "{} unit-month(s) due but never billed (run `anju remit`):",
                    missing.len()
                );
                for m in &missing {
                    println!(
                        "  {} {} {} due {}, {} member(s)",
                        m.unit_no, m.unit_name, m.month, m.due_on, m.members_due
                    );
                }
            }
            if remind {
                let sent = send_reminders(store, centre, &calendar)?;
                println!("{} reminder(s) sent today", sent.len());
            }
            Ok(0)
        }
        CollectCmd::SettleInterest { year, .. } => {
            let pb = ProgressBar::new_spinner();
            pb.set_message(format!("{year}年度结息"));
            pb.enable_steady_tick(Duration::from_millis(120));
            let run =
                settle_interest(store, centre, policy, year, &Stamp::system("interest"), now)?;
            pb.finish_and_clear();
            if run.replayed {
                println!(
                    "{year} was settled on {}: {} accounts, {} in {} entries; nothing new",
                    run.run.run_on, run.run.accounts, run.run.total, run.run.entries
                );
            } else {
                println!(
                    "{year} settled through {}: {} accounts credited {} in {} entries; new period from the next day",
                    run.run.period_end, run.run.accounts, run.run.total, run.run.entries
                );
            }
            Ok(0)
        }
        CollectCmd::Import {
            kind,
            file,
            unit,
            month,
            year,
            actor,
            ..
        } => {
            let kind = kind_of(&kind)?;
            let business = match kind {
                ListKind::Roster => Business::MemberOpenAccount,
                ListKind::Remittance => Business::Remittance,
                ListKind::BaseAdjustment => Business::BaseAdjustment,
                ListKind::BackPayment => Business::BackPayment,
            };
            let stamp = actor.act(store, centre, business, Whose::Unit(unit.clone()))?;
            let format = Format::from_path(&file)?;
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let target = ImportTarget {
                unit_no: unit,
                month: month.as_deref().map(month_of).transpose()?,
                year,
            };
            let out = import_list(
                store, centre, policy, &calendar, kind, format, &bytes, &target, &stamp, now,
            )
            .map_err(report)?;
            match out {
                Imported::Roster(opened) => {
                    println!("{} account(s) opened:", opened.len());
                    for (no, name, base, notice) in opened {
                        println!("  {no} {name} base {base} {}", notice.unwrap_or_default());
                    }
                }
                Imported::Remittance(b) | Imported::BackPayment(b) => println!(
                    "bill {} ({} {}): {} line(s), {} — {}",
                    b.bill.bill_no,
                    b.bill.kind.label_zh(),
                    b.bill.month,
                    b.lines.len(),
                    b.bill.total,
                    b.bill.status.label_zh()
                ),
                Imported::BaseAdjustment(list) => {
                    println!("{} base(s) adjusted:", list.len());
                    for a in list {
                        println!("  {} {} → {}", a.account_no, a.old, a.new);
                    }
                }
            }
            Ok(0)
        }
        CollectCmd::Statement {
            account,
            unit,
            out,
            actor,
            ..
        } => {
            let whose = match (&account, &unit) {
                (Some(a), _) => Whose::Account(a.clone()),
                (None, Some(u)) => Whose::Unit(u.clone()),
                (None, None) => Whose::Nobody,
            };
            actor.act(store, centre, Business::StatementPrint, whose)?;
            if let Some(account) = account {
                let first = member_statement(store, centre, &account, 1, 1)?;
                let whole = member_statement(
                    store,
                    centre,
                    &account,
                    1,
                    first
                        .total_lines
                        .clamp(1, anju_app::statement::MAX_PER_PAGE),
                )?;
                let table = member_statement_table(&whole);
                match out {
                    Some(path) => write_tables(&path, &[table])?,
                    None => print_table(&table),
                }
            } else if let Some(unit) = unit {
                let s = unit_statement(store, centre, &unit, 1, anju_app::statement::MAX_PER_PAGE)?;
                let tables = unit_statement_tables(&s);
                match out {
                    Some(path) => write_tables(&path, &tables)?,
                    None => tables.iter().for_each(print_table),
                }
            }
            Ok(0)
        }
        CollectCmd::Bill {
            bill, out, actor, ..
        } => {
            actor.act(store, centre, Business::ViewUnitAccount, Whose::Nobody)?;
            let b = remittance::bill(store, centre, &bill)?;
            let table = bill_table(&b);
            match out {
                Some(path) => write_tables(&path, &[table])?,
                None => print_table(&table),
            }
            Ok(0)
        }
        CollectCmd::OpenFlexible {
            id_number,
            name,
            base,
            ratio,
            exchange,
            actor,
            ..
        } => {
            let stamp = actor.act(
                store,
                centre,
                Business::MemberOpenAccount,
                Whose::Member(id_number.clone()),
            )?;
            let id_card = id_card_arg(&id_number)?;
            let base = yuan_arg("--base", &base)?;
            let ratio = percent_arg("--ratio", &ratio)?;
            let departments = exchange.departments()?;
            let ctx = anju_app::sharing::Sharing {
                store,
                departments: &departments,
                centre,
            };
            let m = anju_app::registry::open_flexible(
                &ctx,
                policy,
                anju_app::registry::NewFlexible {
                    id_card,
                    name,
                    base,
                    ratio,
                },
                &stamp,
                now,
            )?;
            println!(
                "flexible-employment account {} opened for {} on {}: base {} a month, combined ratio {}",
                m.account_no,
                m.name,
                m.opened_on,
                m.base,
                m.flexible_ratio.map(|r| r.to_string()).unwrap_or_default()
            );
            Ok(0)
        }
        CollectCmd::RegisterUnit {
            credit_code,
            name,
            address,
            legal_rep,
            payday,
            bank,
            unit_ratio,
            member_ratio,
            actor,
            ..
        } => {
            let stamp = actor.act(store, centre, Business::UnitRegister, Whose::Nobody)?;
            let credit_code = anju_domain::ids::CreditCode::parse(&credit_code)
                .map_err(|e| anyhow::anyhow!("--credit-code {credit_code}: {e}"))?;
            let u = anju_app::registry::register_unit(
                store,
                centre,
                policy,
                anju_app::registry::NewUnit {
                    credit_code,
                    name,
                    address,
                    legal_rep,
                    payday,
                    bank_code: bank,
                    unit_ratio: percent_arg("--unit-ratio", &unit_ratio)?,
                    member_ratio: percent_arg("--member-ratio", &member_ratio)?,
                },
                &stamp,
                now,
            )?;
            println!(
                "unit {} registered: {} ({}), ratios {} + {}, payday {}, bank {}",
                u.unit_no,
                u.name,
                u.credit_code,
                u.unit_ratio,
                u.member_ratio,
                u.payday,
                u.bank_code
            );
            Ok(0)
        }
        CollectCmd::ChangeUnit {
            unit,
            act,
            reason,
            actor,
            ..
        } => {
            use anju_app::registry::UnitAct;
            let stamp = actor.act(
                store,
                centre,
                Business::UnitChange,
                Whose::Unit(unit.clone()),
            )?;
            let act = UnitAct::from_code(&act).map_err(|e| anyhow::anyhow!("--act {act}: {e}"))?;
            let u =
                anju_app::registry::change_unit(store, centre, &unit, act, &reason, &stamp, now)?;
            println!("unit {}: {} ({})", u.unit_no, u.status.label_zh(), u.status);
            Ok(0)
        }
        CollectCmd::OpenMember {
            id_number,
            name,
            unit,
            wage,
            actor,
            ..
        } => {
            let stamp = actor.act(
                store,
                centre,
                Business::MemberOpenAccount,
                Whose::Member(id_number.clone()),
            )?;
            let id_card = id_card_arg(&id_number)?;
            let wage = yuan_arg("--wage", &wage)?;
            let (m, notice) = anju_app::registry::open_member(
                store,
                centre,
                policy,
                anju_app::registry::NewMember {
                    id_card,
                    name,
                    unit_no: unit,
                    wage,
                },
                &stamp,
                now,
            )?;
            println!(
                "personal account {} opened for {} in unit {}: base {}{}",
                m.account_no,
                m.name,
                m.unit_no.as_deref().unwrap_or("—"),
                m.base,
                notice.map(|n| format!(" ({n})")).unwrap_or_default()
            );
            Ok(0)
        }
        CollectCmd::ChangeMember {
            account,
            act,
            unit,
            reason,
            actor,
            ..
        } => {
            let act = anju_app::registry::MemberAct::from_code(&act, unit)
                .map_err(|e| anyhow::anyhow!("--act {act} / --unit: {e}"))?;
            let stamp = actor.act(
                store,
                centre,
                act.business(),
                Whose::Account(account.clone()),
            )?;
            let m = anju_app::registry::change_member(
                store, centre, &account, act, &reason, &stamp, now,
            )?;
            println!(
                "personal account {}: {} ({}), unit {}",
                m.account_no,
                m.status.label_zh(),
                m.status,
                m.unit_no.as_deref().unwrap_or("—")
            );
            Ok(0)
        }
        CollectCmd::FlexibleBill {
            account,
            months,
            from,
            bank,
            actor,
            ..
        } => {
            actor.act(
                store,
                centre,
                Business::FlexibleContribution,
                Whose::Account(account.clone()),
            )?;
            let from = from.as_deref().map(month_of).transpose()?;
            let b =
                remittance::voluntary_bill(store, centre, policy, &account, from, months, &bank)?;
            println!(
                "bill {} for {} from {}, {} month(s): {} to pay at {} by {}",
                b.bill.bill_no,
                account,
                b.bill.month,
                b.lines.len(),
                b.bill.total,
                b.bill.bank_code,
                b.bill.due_on
            );
            Ok(0)
        }
        CollectCmd::Template { kind, out } => write_template(&kind, &out),
    }
}

/// Prints a table as tab-separated text (the CSV writer's cells).
fn print_table(t: &Table) {
    if let Some(title) = &t.title {
        println!("{title}");
    }
    match write_csv(t) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            print!("{}", text.trim_start_matches('\u{feff}').replace(',', "\t"));
        }
        Err(e) => eprintln!("anju: {e}"),
    }
}
