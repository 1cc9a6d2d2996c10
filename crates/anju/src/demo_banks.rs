//! The demo's commissioned banks: one `anju bank-sim` per bank of the demo centre
//! ([`crate::demo::BANKS`]), each a child process with its books in an SQLite file beside
//! the demo database, posting its signed notices to the demo server's `/bank/notices`.
//!
//! On the first seed [`demo_banks`] registers the banks (the fund's account at each is
//! ledger account `101.<code>`), binds every member's payout card at the bank of their
//! unit, records every unit's own account at its collection bank, and opens the same
//! accounts at the simulators — the fund's account with exactly the ledger's balance, so
//! bank and ledger agree from the start. Once the server is up, [`run_samples`] moves
//! money the way a user would see it: payouts to members' cards (one to a card the bank
//! no longer knows, rejected, the money back), a back-payment bill collected by direct
//! debit, one paid by a unit's bank transfer (matched by the bill number in the memo),
//! money from an unknown payer (parked in 待查收款 `215.<bank>`), and the day's
//! reconciliation of every bank.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anju_app::remittance::{BackPayLine, BaseInput, back_payment_bill};
use anju_app::settlement::{
    self, BankSet, Collection, NewBank, Outcome, Payout, Settlement, register_bank,
};
use anju_bank::client::{BankClient, BankSettings};
use anju_bank::sim::admin::AdminClient;
use anju_bank::sim::ledger::CreditIn;
use anju_bank::sim::process::BankSimProcess;
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::{Channel, PersonalAccountStatus, SettlementBusinessType};
use anju_domain::collection::YearMonth;
use anju_domain::ledger::AccountNo;
use anju_domain::money::Fen;
use anju_domain::policy::Policy;
use anju_domain::stamp::Stamp;
use anju_store::registry::{MemberRow, UnitRow};
use anju_store::settlement::{CardRow, IncomingRow, UnitBankAccountRow};
use anju_store::{Store, StoreTx};
use anyhow::Context;
use jiff::Timestamp;

use crate::demo::BANKS;

/// Per bank: the fund's account there (19–20 digits) and the first six digits of its
/// debit cards (the card BIN).
const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("ICBC", "1209260009020033861", "622202"),
    ("ABC", "1970510104000668866", "622848"),
    ("CCB", "33050166735109000338", "621700"),
    ("BOC", "3856582688800012345", "621661"),
    ("QZRCB", "20100009876543210018", "621058"),
];

/// Money a unit holds at its bank in the demo (10,000,000.00 yuan): enough for any bill.
const UNIT_FUNDS_FEN: i64 = 1_000_000_000;

/// The bank a flexible worker (no unit) keeps the payout card at.
const FLEXIBLE_BANK: &str = "QZRCB";

fn plan(code: &str) -> anyhow::Result<(&'static str, &'static str)> {
    ACCOUNTS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, fund, bin)| (*fund, *bin))
        .ok_or_else(|| anyhow::anyhow!("no demo account numbers for bank {code}"))
}

/// The demo fund's account at a bank.
fn fund_account(code: &str) -> anyhow::Result<&'static str> {
    Ok(plan(code)?.0)
}

/// A member's card: the bank's BIN and the last 13 digits of the personal account (19
/// digits).
fn card_no(code: &str, account_no: &str) -> anyhow::Result<String> {
    let tail = &account_no[account_no.len().saturating_sub(13)..];
    Ok(format!("{}{tail:0>13}", plan(code)?.1))
}

/// A unit's own account at a bank: the bank's branch prefix and the unit number.
fn unit_account(code: &str, unit_no: &str) -> anyhow::Result<String> {
    let fund = fund_account(code)?;
    Ok(format!("{}{unit_no}", &fund[..8]))
}

/// The simulator's books of bank `code`: `<base>-bank-<code>.db`.
fn sim_file(base: &Path, code: &str) -> PathBuf {
    let mut name = base.as_os_str().to_owned();
    name.push(format!("-bank-{}.db", code.to_lowercase()));
    PathBuf::from(name)
}

/// Removes an SQLite file with its WAL and shared-memory files (none there is fine).
fn remove_sqlite(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove {}", p.to_string_lossy()));
            }
        }
    }
    Ok(())
}

/// Every member of the centre: the units' members and the flexible workers.
fn all_members(tx: &mut dyn StoreTx, centre: &str) -> anyhow::Result<Vec<MemberRow>> {
    let mut members = tx.members_with_unit(centre)?;
    let known: std::collections::HashSet<String> =
        members.iter().map(|m| m.account_no.clone()).collect();
    let others: Vec<String> = tx
        .all_accounts(centre)?
        .into_iter()
        .filter(|a| a.no.code() == "201")
        .filter_map(|a| a.no.sub_key().map(str::to_owned))
        .filter(|k| !known.contains(k))
        .collect();
    for no in others {
        if let Some(m) = tx.member(centre, &no)? {
            members.push(m);
        }
    }
    members.sort_by(|a, b| a.account_no.cmp(&b.account_no));
    Ok(members)
}

fn units(tx: &mut dyn StoreTx, centre: &str) -> anyhow::Result<Vec<UnitRow>> {
    let mut units = tx.units_all(centre)?;
    units.sort_by(|a, b| a.unit_no.cmp(&b.unit_no));
    Ok(units)
}

/// The bank of a member's card: their unit's collection bank.
fn card_bank<'a>(m: &MemberRow, bank_of_unit: &'a BTreeMap<String, String>) -> &'a str {
    m.unit_no
        .as_ref()
        .and_then(|u| bank_of_unit.get(u))
        .map_or(FLEXIBLE_BANK, String::as_str)
}

/// The samples' parties, chosen the same way on every run: three members with a payout
/// each (the last one's card is not held by the bank any more), the unit that is debited
/// and the unit that transfers.
struct Cast {
    payees: Vec<MemberRow>,
    closed_card: String,
    debited: UnitRow,
    transferring: UnitRow,
}

/// Units 10–12 (banks ICBC, ABC, CCB) have the payees; units 5 and 6 pay back months.
/// (Units 0–4 carry the seed's own stories: the base adjustment, a correction, arrears, a
/// partial payment.)
fn cast(tx: &mut dyn StoreTx, centre: &str) -> anyhow::Result<Cast> {
    let units = units(tx, centre)?;
    let unit = |i: usize| {
        units
            .get(i)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the demo has no unit number {i}"))
    };
    let mut payees = Vec::new();
    for i in [10, 11, 12] {
        let u = unit(i)?;
        let mut members = tx.members_of_unit(centre, &u.unit_no)?;
        members.sort_by(|a, b| a.account_no.cmp(&b.account_no));
        let m = members
            .into_iter()
            .find(|m| m.status == PersonalAccountStatus::Normal)
            .ok_or_else(|| anyhow::anyhow!("unit {} has no member in service", u.unit_no))?;
        payees.push(m);
    }
    let closed_card = payees
        .last()
        .map(|m| m.account_no.clone())
        .unwrap_or_default();
    Ok(Cast {
        payees,
        closed_card,
        debited: unit(5)?,
        transferring: unit(6)?,
    })
}

/// Registers the banks and binds cards and unit accounts (once, for banks not yet
/// registered). Returns how many banks, cards and unit accounts were recorded.
fn register(store: &dyn Store, centre: &str) -> anyhow::Result<Option<(usize, usize, usize)>> {
    let registered: Vec<String> = settlement::banks(store, centre)?
        .into_iter()
        .map(|b| b.code)
        .collect();
    let missing: Vec<&str> = BANKS
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| !registered.iter().any(|r| r == c))
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let centre_name = store
        .begin_read()?
        .centre(centre)?
        .map(|c| c.name)
        .ok_or_else(|| anyhow::anyhow!("no centre {centre}"))?;
    for (code, name) in BANKS.iter().filter(|(c, _)| missing.contains(c)) {
        register_bank(
            store,
            centre,
            &NewBank {
                code: (*code).to_owned(),
                name: (*name).to_owned(),
                fund_account: fund_account(code)?.to_owned(),
                fund_account_name: centre_name.clone(),
            },
        )
        .with_context(|| format!("registering demo bank {code}"))?;
    }
    // Cards and units' accounts in bulk, in one transaction (as a migration would load
    // them), rather than 1,300 counter acts.
    let mut tx = store.begin()?;
    let c = tx.lock_centre(centre)?;
    let units = units(tx.as_mut(), centre)?;
    let bank_of_unit: BTreeMap<String, String> = units
        .iter()
        .map(|u| (u.unit_no.clone(), u.bank_code.clone()))
        .collect();
    let members = all_members(tx.as_mut(), centre)?;
    for m in &members {
        let bank = card_bank(m, &bank_of_unit);
        tx.bind_card(
            centre,
            &CardRow {
                account_no: m.account_no.clone(),
                bank_code: bank.to_owned(),
                card_no: card_no(bank, &m.account_no)?,
                holder: m.name.clone(),
                bound_on: c.business_date,
            },
        )?;
    }
    for u in &units {
        tx.insert_unit_bank_account(
            centre,
            &UnitBankAccountRow {
                unit_no: u.unit_no.clone(),
                bank_code: u.bank_code.clone(),
                account: unit_account(&u.bank_code, &u.unit_no)?,
                name: u.name.clone(),
            },
        )?;
    }
    tx.commit()?;
    Ok(Some((missing.len(), members.len(), units.len())))
}

/// Opens at the simulator of bank `code` what the bank holds: the fund's account with the
/// ledger's balance of `101.<code>`, the cards bound there (at 0, all but the one the
/// samples find closed) and the units' accounts there (with [`UNIT_FUNDS_FEN`]).
fn open_at_bank(
    store: &dyn Store,
    centre: &str,
    code: &str,
    admin: &AdminClient,
) -> anyhow::Result<()> {
    let mut tx = store.begin_read()?;
    let centre_name = tx
        .centre(centre)?
        .map(|c| c.name)
        .ok_or_else(|| anyhow::anyhow!("no centre {centre}"))?;
    let ledger = tx
        .load_accounts(centre, &[AccountNo::sub("101", code)?])?
        .pop()
        .map_or(0, |a| a.balance.fen());
    let units = units(tx.as_mut(), centre)?;
    let bank_of_unit: BTreeMap<String, String> = units
        .iter()
        .map(|u| (u.unit_no.clone(), u.bank_code.clone()))
        .collect();
    let members = all_members(tx.as_mut(), centre)?;
    let closed = cast(tx.as_mut(), centre)?.closed_card;
    drop(tx);
    let fail = |what: &str| format!("opening {what} at the simulated bank {code}");
    admin
        .open_account(fund_account(code)?, &centre_name, ledger)
        .with_context(|| fail("the fund's account"))?;
    for u in units.iter().filter(|u| u.bank_code == code) {
        admin
            .open_account(&unit_account(code, &u.unit_no)?, &u.name, UNIT_FUNDS_FEN)
            .with_context(|| fail(&format!("unit {}'s account", u.unit_no)))?;
    }
    for m in members
        .iter()
        .filter(|m| card_bank(m, &bank_of_unit) == code && m.account_no != closed)
    {
        admin
            .open_account(&card_no(code, &m.account_no)?, &m.name, 0)
            .with_context(|| fail(&format!("{}'s card", m.account_no)))?;
    }
    Ok(())
}

/// Starts one `anju bank-sim` per demo bank, books at `<db_path_base>-bank-<code>.db`,
/// value dates on the centre's business date, notices to `callback`. On the first seed
/// (`fresh`, or a demo database from before the banks) registers the banks, binds the
/// members' cards and records the units' accounts; whenever a simulator starts on new
/// books it opens the same accounts there. Returns the processes (killed when dropped;
/// they also end with this process), their client settings and the banks' adapters.
pub fn demo_banks(
    store: &dyn Store,
    centre: &str,
    fresh: bool,
    db_path_base: &Path,
    callback: &str,
) -> anyhow::Result<(Vec<BankSimProcess>, Vec<BankSettings>, BankSet)> {
    if let Some((banks, cards, units)) = register(store, centre)? {
        println!(
            "commissioned banks: {banks} registered, {cards} members' payout cards bound, {units} units' accounts recorded"
        );
    }
    let today = store
        .begin_read()?
        .centre(centre)?
        .map(|c| c.business_date)
        .ok_or_else(|| anyhow::anyhow!("no centre {centre}"))?;
    let exe = std::env::current_exe().context("cannot find the anju binary to run bank-sim")?;
    let mut sims = Vec::new();
    let mut new_books = Vec::new();
    for (code, _) in BANKS {
        let file = sim_file(db_path_base, code);
        if fresh {
            // A new demo database: books left from an earlier one would not match it.
            remove_sqlite(&file)?;
        }
        new_books.push(!file.exists());
        let date = today.to_string();
        let sim = BankSimProcess::start(
            &exe,
            &file,
            &["--bank", code, "--date", &date, "--callback", callback],
        )
        .with_context(|| format!("starting the simulated bank {code} on {}", file.display()))?;
        sims.push((sim, file));
    }
    // Each bank's accounts, the banks in parallel.
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let jobs: Vec<_> = sims
            .iter()
            .zip(&new_books)
            .filter(|(_, new)| **new)
            .map(|((sim, _), _)| {
                let admin = sim.admin();
                let code = sim.bank().to_owned();
                scope.spawn(move || open_at_bank(store, centre, &code, &admin))
            })
            .collect();
        for j in jobs {
            j.join()
                .map_err(|_| anyhow::anyhow!("opening accounts at a simulated bank panicked"))??;
        }
        Ok(())
    })?;
    let names: BTreeMap<&str, &str> = BANKS.iter().copied().collect();
    let mut settings = Vec::new();
    let mut set = BankSet::new();
    let mut procs = Vec::new();
    for (sim, file) in sims {
        println!(
            "bank {} ({}) simulated at {} (books {}; fund account {})",
            sim.bank(),
            names.get(sim.bank()).copied().unwrap_or(""),
            sim.url(),
            file.display(),
            fund_account(sim.bank())?,
        );
        let s = sim.settings();
        set.insert(Arc::new(
            BankClient::new(s.clone()).with_context(|| format!("bank {} client", s.code))?,
        ));
        settings.push(s);
        procs.push(sim);
    }
    Ok((procs, settings, set))
}

fn clerk() -> Stamp {
    Stamp {
        operator: "staff:demo-clerk".to_owned(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".to_owned(),
        on_behalf_of: None,
    }
}

/// Waits (at most 30 s) until the bank's credit notice of `bank_ref` has been applied.
fn await_incoming(
    store: &dyn Store,
    centre: &str,
    bank: &str,
    bank_ref: &str,
) -> anyhow::Result<IncomingRow> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(row) = store.begin_read()?.incoming(centre, bank, bank_ref)? {
            return Ok(row);
        }
        if Instant::now() > deadline {
            anyhow::bail!("bank {bank}'s credit notice {bank_ref} did not arrive within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A back-payment bill (补缴) of June 2025 — the month the demo's units joined, which the
/// monthly bills start after — for every member of `unit` in service.
fn back_pay_june(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    unit: &UnitRow,
) -> anyhow::Result<anju_app::remittance::Bill> {
    let june = YearMonth::new(2025, 6).ok_or_else(|| anyhow::anyhow!("bad month"))?;
    let lines: Vec<BackPayLine> = store
        .begin_read()?
        .members_of_unit(centre, &unit.unit_no)?
        .into_iter()
        .filter(|m| m.status == PersonalAccountStatus::Normal && YearMonth::of(m.opened_on) <= june)
        .map(|m| BackPayLine {
            account_no: m.account_no,
            from: june,
            to: june,
            base: BaseInput::Wage(m.base),
        })
        .collect();
    let calendar = BusinessCalendar::cn()?;
    back_payment_bill(store, centre, policy, &calendar, &unit.unit_no, &lines)
        .with_context(|| format!("back-payment bill of unit {}", unit.unit_no))
}

/// The sample money movements of the first seed, one printed line each; `admins` are the
/// simulators' admin clients by bank code. Run once the server receives notices.
pub fn run_samples(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    banks: &BankSet,
    admins: &BTreeMap<String, AdminClient>,
) -> anyhow::Result<()> {
    let s = Settlement {
        store,
        banks,
        centre,
    };
    let admin = |code: &str| {
        admins
            .get(code)
            .ok_or_else(|| anyhow::anyhow!("no simulated bank {code}"))
    };
    let (cast, today) = {
        let mut tx = store.begin_read()?;
        let cast = cast(tx.as_mut(), centre)?;
        let today = tx
            .centre(centre)?
            .map(|c| c.business_date)
            .ok_or_else(|| anyhow::anyhow!("no centre {centre}"))?;
        (cast, today)
    };

    // Withdrawals paid to members' cards.
    let memos = ["偿还住房贷款提取", "租赁住房提取", "购房提取"];
    let mut payouts = Vec::new();
    for (i, m) in cast.payees.iter().enumerate() {
        let balance = store
            .begin_read()?
            .load_accounts(centre, &[AccountNo::sub("201", &m.account_no)?])?
            .pop()
            .map_or(0, |a| a.balance.fen() - a.pending_out.fen());
        // A quarter of the balance, in whole hundreds of yuan.
        let amount = (balance / 4 / 10_000).max(1) * 10_000;
        payouts.push(Payout {
            serial: format!("DEMO-PAY-{:04}", i + 1),
            account_no: m.account_no.clone(),
            amount: Fen::new(amount),
            business_type: SettlementBusinessType::PartialWithdrawal,
            memo: memos[i % memos.len()].to_owned(),
            target: String::new(),
            stamp: clerk(),
        });
    }
    let outgoing = settlement::payouts_to_outgoing(store, centre, &payouts)?;
    let outcomes = settlement::pay_out(&s, &outgoing, Timestamp::now()).context("paying out")?;
    for ((o, m), out) in outcomes.iter().zip(&cast.payees).zip(&outgoing) {
        let head = format!(
            "  payout {} ({}): {} from 201.{} ({}) to card {} at {}",
            o.serial(),
            out.memo,
            out.amount,
            m.account_no,
            m.name,
            out.payee_account,
            out.bank_code
        );
        match o {
            Outcome::Executed {
                bank_ref,
                value_date,
                ..
            } => println!("{head} — paid (bank ref {bank_ref}, value date {value_date})"),
            Outcome::NotExecuted { reason, .. } => println!(
                "{head} — rejected by the bank: {reason}; the money is back in 201.{}",
                m.account_no
            ),
            Outcome::AwaitingBank { .. } => {
                println!("{head} — sent, awaiting the bank's answer")
            }
        }
    }

    // A back-payment bill collected from the unit's account by direct debit.
    let u = &cast.debited;
    let bill = back_pay_june(store, centre, policy, u)?;
    let from = unit_account(&u.bank_code, &u.unit_no)?;
    let outcome = settlement::collect(
        &s,
        &[Collection {
            serial: "DEMO-DD-0001".to_owned(),
            bill_no: bill.bill.bill_no.clone(),
            unit_account: Some(from.clone()),
            amount: None,
            stamp: clerk(),
        }],
        Timestamp::now(),
    )
    .context("collecting by direct debit")?;
    let status = anju_app::remittance::bill(store, centre, &bill.bill.bill_no)?
        .bill
        .status;
    let head = format!(
        "  direct debit DEMO-DD-0001: back-payment bill {} (unit {} {}, {}, {} line(s)) {} from account {} at {}",
        bill.bill.bill_no,
        u.unit_no,
        u.name,
        bill.bill.month,
        bill.lines.len(),
        bill.bill.total,
        from,
        u.bank_code
    );
    match outcome.first() {
        Some(Outcome::Executed { bank_ref, .. }) => println!(
            "{head} — collected (bank ref {bank_ref}); bill {}",
            status.label_zh()
        ),
        Some(Outcome::NotExecuted { reason, .. }) => {
            println!("{head} — not collected: {reason}")
        }
        _ => println!("{head} — sent, awaiting the bank's answer"),
    }

    // A unit pays its back-payment bill by bank transfer, naming the bill in the memo.
    let u = &cast.transferring;
    let bill = back_pay_june(store, centre, policy, u)?;
    let memo = format!("补缴 {}", bill.bill.bill_no);
    let booked = admin(&u.bank_code)?
        .credit(&CreditIn {
            account: fund_account(&u.bank_code)?.to_owned(),
            amount_fen: bill.bill.total.fen(),
            counterparty_account: unit_account(&u.bank_code, &u.unit_no)?,
            counterparty_name: u.name.clone(),
            memo: memo.clone(),
            credit_id: Some("DEMO-TRANSFER-0001".to_owned()),
        })
        .with_context(|| format!("transfer into the fund's account at {}", u.bank_code))?;
    let row = await_incoming(store, centre, &u.bank_code, &booked.bank_ref)?;
    let status = anju_app::remittance::bill(store, centre, &bill.bill.bill_no)?
        .bill
        .status;
    let head = format!(
        "  bank transfer from unit {} {}: {} into the fund's account at {} with memo \"{memo}\" (bank ref {})",
        u.unit_no, u.name, bill.bill.total, u.bank_code, booked.bank_ref
    );
    match (row.matched.as_str(), &row.bill_no) {
        ("bill", Some(b)) => println!(
            "{head} — credit notice received, matched bill {b}; bill {}",
            status.label_zh()
        ),
        (other, _) => println!("{head} — credit notice received, {other}"),
    }

    // Money from someone Anju does not know: parked for staff.
    let bank = "BOC";
    let booked = admin(bank)?
        .credit(&CreditIn {
            account: fund_account(bank)?.to_owned(),
            amount_fen: 880_000,
            counterparty_account: "6217856100012345678".to_owned(),
            counterparty_name: "衢州恒通商贸有限公司".to_owned(),
            memo: "往来款".to_owned(),
            credit_id: Some("DEMO-TRANSFER-0002".to_owned()),
        })
        .with_context(|| format!("transfer into the fund's account at {bank}"))?;
    let row = await_incoming(store, centre, bank, &booked.bank_ref)?;
    let head = format!(
        "  bank transfer from an unknown payer {} ({}): {} into the fund's account at {bank} with memo \"{}\" (bank ref {})",
        row.payer_name,
        row.payer_account,
        Fen::new(row.amount),
        row.memo,
        row.bank_ref
    );
    if row.matched == "suspense" {
        println!(
            "{head} — credit notice received, parked in 待查收款 215.{bank} for staff to assign ({})",
            row.note.unwrap_or_default()
        );
    } else {
        println!("{head} — credit notice received, {}", row.matched);
    }

    // The day's reconciliation of every bank.
    let mut differences = 0;
    for (code, _) in BANKS {
        let r = settlement::reconcile(&s, code, today, Timestamp::now())
            .with_context(|| format!("reconciling bank {code}"))?;
        differences += r.mismatches.len();
        println!(
            "  reconciled {code} on {today}: {} statement line(s), {} in Anju, {} difference(s); statement closing balance {} {} ledger 101.{code} {}",
            r.run.bank_lines,
            r.run.anju_lines,
            r.mismatches.len(),
            Fen::new(r.run.bank_closing),
            if r.run.bank_closing == r.run.ledger_balance {
                "="
            } else {
                "≠"
            },
            Fen::new(r.run.ledger_balance)
        );
        for m in &r.mismatches {
            println!("    {m}");
        }
    }
    println!(
        "bank samples done: {differences} difference(s) in {} reconciliation(s)",
        BANKS.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_demo_bank_has_numbers_of_the_right_length() {
        for (code, _) in BANKS {
            let fund = fund_account(code).unwrap();
            assert!(
                (19..=20).contains(&fund.len()) && fund.bytes().all(|b| b.is_ascii_digit()),
                "{code}: {fund}"
            );
            let card = card_no(code, "33080000000123").unwrap();
            assert_eq!(card.len(), 19, "{card}");
            assert!(card.ends_with("3080000000123"), "{card}");
            assert_eq!(unit_account(code, "330800000006").unwrap().len(), 20);
        }
        assert_eq!(
            sim_file(Path::new("/tmp/x/anju-demo"), "ICBC"),
            PathBuf::from("/tmp/x/anju-demo-bank-icbc.db")
        );
    }
}
