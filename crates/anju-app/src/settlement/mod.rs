//! Bank settlement (资金结算): the commissioned banks, sending instructions to them,
//! applying their answers and notices to the ledger exactly once, matching money that
//! arrives to bills, and daily reconciliation (对账).
//!
//! **Exactly once.** An instruction is stored — and for money leaving the fund, its
//! *pending* entry posted — in one durable transaction *before* it is sent; it is sent
//! once. Every answer (the synchronous reply, a notice, a status query) goes through
//! [`anju_domain::settlement::step`] under the instruction's row lock, in the same
//! transaction as its ledger effect: the pending entry is posted when the bank confirms
//! and voided only on a definite "not executed". A timeout leaves the instruction in
//! flight; [`resolve_unsettled`] asks the bank by serial until it answers. Entry keys are
//! derived from the serial (`stl:<serial>`, `…:post`, `…:void`; collections pay their
//! bill with receipt `<serial>`), so a replay posts nothing.

pub mod ports;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use anju_domain::codes::{Channel, SettlementBusinessType};
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::money::Fen;
use anju_domain::settlement::{
    Effect, Event, Incoming, InstructionKind, InstructionState, Match, Mismatch, Movement,
    OpenBill, match_incoming, reconcile as compare, step,
};
use anju_domain::stamp::Stamp;
use anju_store::collection::BillStatus;
use anju_store::settlement::{
    BankRow, CardRow, IncomingRow, InstructionRow, NoticeRefusalRow, NoticeRow, ReconItemRow,
    ReconRunRow, UnitBankAccountRow,
};
use anju_store::{CentreRow, Store, StoreError, StoreTx};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::AppError;
use crate::ledger::lock_centre as lock;
use crate::ledger::post_in;
use crate::remittance::{self, Payment, PaymentOutcome};
use ports::{Bank, BankAnswer, Notice, NoticeEvent, StatementLine};

/// Most instructions in one request to a bank (批量): larger batches are split.
pub const MAX_BATCH: usize = 1000;

fn invalid(field: &'static str, value: impl Into<String>, rule: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        value: value.into(),
        rule: rule.into(),
    }
}

fn account(code: &str, key: &str) -> Result<AccountNo, AppError> {
    AccountNo::sub(code, key).map_err(|e| invalid("account_no", key, e.to_string()))
}

fn not_found(what: String) -> AppError {
    AppError::NotFound { what }
}

/// The stamp of an act a bank's message caused.
pub fn bank_stamp(bank: &str) -> Stamp {
    Stamp {
        operator: format!("bank:{bank}"),
        channel: Channel::MachineInterface,
        service_point: format!("bank:{bank}"),
        on_behalf_of: None,
    }
}

/// The banks Anju can reach, by code.
#[derive(Debug, Clone, Default)]
pub struct BankSet {
    banks: BTreeMap<String, Arc<dyn Bank>>,
}

impl BankSet {
    /// No banks.
    pub fn new() -> BankSet {
        BankSet::default()
    }

    /// Adds (or replaces) a bank's adapter.
    pub fn insert(&mut self, bank: Arc<dyn Bank>) {
        self.banks.insert(bank.code().to_owned(), bank);
    }

    /// The adapter of a bank.
    pub fn get(&self, code: &str) -> Result<&Arc<dyn Bank>, AppError> {
        self.banks.get(code).ok_or_else(|| {
            invalid(
                "bank_code",
                code,
                "no connection to this bank is configured (bank settings)",
            )
        })
    }

    /// Codes of the banks configured.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.banks.keys().map(String::as_str)
    }
}

/// What settlement use cases need: the store, the banks and the centre.
#[derive(Debug, Clone, Copy)]
pub struct Settlement<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The banks.
    pub banks: &'a BankSet,
    /// The centre's code.
    pub centre: &'a str,
}

// ---- registry ----------------------------------------------------------------------

/// A commissioned bank to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBank {
    /// Bank code (digits and letters, as the ledger key `101.<code>`).
    pub code: String,
    /// Name.
    pub name: String,
    /// The fund's account number at the bank.
    pub fund_account: String,
    /// The fund account's name (户名).
    pub fund_account_name: String,
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), AppError> {
    if value.trim().is_empty() {
        return Err(invalid(field, value, "must not be empty"));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(invalid(
            field,
            value,
            format!("must be at most {max} characters without control characters"),
        ));
    }
    Ok(())
}

fn check_account_text(field: &'static str, value: &str) -> Result<(), AppError> {
    if value.is_empty() || value.len() > 40 || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid(
            field,
            value,
            "must be 1-40 ASCII letters or digits (a bank account or card number)",
        ));
    }
    Ok(())
}

/// Opens the control accounts of chart lines added after the centre was opened (e.g.
/// `215` unidentified receipts).
fn ensure_chart(tx: &mut dyn StoreTx, centre: &CentreRow) -> Result<(), AppError> {
    let mut missing = Vec::new();
    for no in crate::ledger::chart_accounts()? {
        if tx
            .load_accounts(&centre.code, std::slice::from_ref(&no))?
            .is_empty()
        {
            missing.push(anju_domain::ledger::AccountState::open(
                no,
                centre.business_date,
            ));
        }
    }
    if !missing.is_empty() {
        tx.insert_accounts(&centre.code, &missing)?;
    }
    Ok(())
}

fn open_if_absent(
    tx: &mut dyn StoreTx,
    centre: &CentreRow,
    nos: &[AccountNo],
) -> Result<(), AppError> {
    let existing: HashSet<AccountNo> = tx
        .load_accounts(&centre.code, nos)?
        .into_iter()
        .map(|a| a.no)
        .collect();
    let missing: Vec<AccountNo> = nos
        .iter()
        .filter(|n| !existing.contains(*n))
        .cloned()
        .collect();
    if !missing.is_empty() {
        crate::ledger::open_accounts_in(tx, &centre.code, &missing, centre.business_date)?;
    }
    Ok(())
}

/// Registers a commissioned bank: its row, the fund's deposit account `101.<code>` and
/// the unidentified-receipts account `215.<code>` (opened if absent).
pub fn register_bank(store: &dyn Store, centre: &str, new: &NewBank) -> Result<BankRow, AppError> {
    account("101", &new.code).map_err(|e| match e {
        AppError::Invalid { rule, .. } => invalid("code", &new.code, rule),
        other => other,
    })?;
    check_text("name", &new.name, 60)?;
    check_account_text("fund_account", &new.fund_account)?;
    check_text("fund_account_name", &new.fund_account_name, 60)?;
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    if tx.bank(centre, &new.code)?.is_some() {
        return Err(invalid(
            "code",
            &new.code,
            "this bank is registered already",
        ));
    }
    if tx
        .banks(centre)?
        .iter()
        .any(|b| b.fund_account == new.fund_account)
    {
        return Err(invalid(
            "fund_account",
            &new.fund_account,
            "is registered for another bank",
        ));
    }
    ensure_chart(tx.as_mut(), &c)?;
    open_if_absent(
        tx.as_mut(),
        &c,
        &[account("101", &new.code)?, account("215", &new.code)?],
    )?;
    let row = BankRow {
        code: new.code.clone(),
        name: new.name.clone(),
        fund_account: new.fund_account.clone(),
        fund_account_name: new.fund_account_name.clone(),
        registered_on: c.business_date,
    };
    tx.insert_bank(centre, &row)?;
    tx.commit()?;
    Ok(row)
}

/// The centre's commissioned banks.
pub fn banks(store: &dyn Store, centre: &str) -> Result<Vec<BankRow>, AppError> {
    let mut tx = store.begin_read()?;
    Ok(tx.banks(centre)?)
}

fn bank_of(tx: &mut dyn StoreTx, centre: &str, code: &str) -> Result<BankRow, AppError> {
    tx.bank(centre, code)?
        .ok_or_else(|| invalid("bank_code", code, "is not a registered commissioned bank"))
}

/// Binds a member's payout card (one per member; binding again replaces it).
pub fn bind_card(
    store: &dyn Store,
    centre: &str,
    account_no: &str,
    bank_code: &str,
    card_no: &str,
) -> Result<CardRow, AppError> {
    check_account_text("card_no", card_no)?;
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let m = tx
        .member(centre, account_no)?
        .ok_or_else(|| not_found(format!("member account {account_no}")))?;
    bank_of(tx.as_mut(), centre, bank_code)?;
    let row = CardRow {
        account_no: account_no.to_owned(),
        bank_code: bank_code.to_owned(),
        card_no: card_no.to_owned(),
        holder: m.name,
        bound_on: c.business_date,
    };
    tx.bind_card(centre, &row)?;
    tx.commit()?;
    Ok(row)
}

/// Records a unit's own account at a bank (for direct debits and to recognise its
/// transfers).
pub fn add_unit_bank_account(
    store: &dyn Store,
    centre: &str,
    unit_no: &str,
    bank_code: &str,
    account_no: &str,
) -> Result<UnitBankAccountRow, AppError> {
    check_account_text("account", account_no)?;
    let mut tx = store.begin()?;
    lock(tx.as_mut(), centre)?;
    let u = tx
        .unit(centre, unit_no)?
        .ok_or_else(|| not_found(format!("unit {unit_no}")))?;
    bank_of(tx.as_mut(), centre, bank_code)?;
    if let Some(other) = tx.unit_by_bank_account(centre, bank_code, account_no)? {
        return Err(invalid(
            "account",
            account_no,
            format!("is recorded for unit {} already", other.unit_no),
        ));
    }
    let row = UnitBankAccountRow {
        unit_no: unit_no.to_owned(),
        bank_code: bank_code.to_owned(),
        account: account_no.to_owned(),
        name: u.name,
    };
    tx.insert_unit_bank_account(centre, &row)?;
    tx.commit()?;
    Ok(row)
}

// ---- instructions ------------------------------------------------------------------

/// Money to pay out of the fund (代付 / 放款).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Serial number: unique in the centre, the idempotency key (1–40 ASCII letters,
    /// digits, `-` or `_`).
    pub serial: String,
    /// Payment or disbursement.
    pub kind: InstructionKind,
    /// Settlement business type.
    pub business_type: SettlementBusinessType,
    /// The bank paying from the fund's account there.
    pub bank_code: String,
    /// The ledger account debited (a member's `201.<account>`, a loan's `121.<loan>` …).
    pub debit: AccountNo,
    /// Ledger code of the entry.
    pub code: TxCode,
    /// Payee account (card) number.
    pub payee_account: String,
    /// Payee name.
    pub payee_name: String,
    /// Payee's bank when not `bank_code`.
    pub payee_bank: Option<String>,
    /// Amount, positive.
    pub amount: Fen,
    /// Memo.
    pub memo: String,
    /// What it serves (`member:<account>`, `application:<no>` …).
    pub target: String,
    /// Who, where, how.
    pub stamp: Stamp,
}

/// A payout to a member's bound card (提取): the usual [`Outgoing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    /// Serial number.
    pub serial: String,
    /// Member's personal account.
    pub account_no: String,
    /// Amount.
    pub amount: Fen,
    /// `PartialWithdrawal` or `ClosingWithdrawal`.
    pub business_type: SettlementBusinessType,
    /// Memo.
    pub memo: String,
    /// What it serves, e.g. `application:<no>`; `member:<account>` when empty.
    pub target: String,
    /// Who, where, how.
    pub stamp: Stamp,
}

/// Money to collect from a unit's account for a bill (代收).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    /// Serial number.
    pub serial: String,
    /// The bill.
    pub bill_no: String,
    /// The unit's account to debit; its first account at the bill's bank when `None`.
    pub unit_account: Option<String>,
    /// Amount; what is still due on the bill when `None`.
    pub amount: Option<Fen>,
    /// Who, where, how.
    pub stamp: Stamp,
}

/// Where an instruction stands after a use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The bank executed it and the ledger shows it.
    Executed {
        /// Serial.
        serial: String,
        /// The bank's reference.
        bank_ref: String,
        /// Value date.
        value_date: Date,
    },
    /// The bank definitely did not execute it; an outgoing payment's money is back.
    NotExecuted {
        /// Serial.
        serial: String,
        /// The bank's reason.
        reason: String,
    },
    /// No definite answer yet (a timeout, or the bank is processing): the money stays
    /// reserved; a status query, a notice or reconciliation settles it.
    AwaitingBank {
        /// Serial.
        serial: String,
    },
}

impl Outcome {
    /// The serial.
    pub fn serial(&self) -> &str {
        match self {
            Outcome::Executed { serial, .. }
            | Outcome::NotExecuted { serial, .. }
            | Outcome::AwaitingBank { serial } => serial,
        }
    }
}

fn check_serial(serial: &str) -> Result<(), AppError> {
    if serial.is_empty()
        || serial.len() > 40
        || !serial
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            "serial",
            serial,
            "must be 1-40 ASCII letters, digits, '-' or '_'",
        ));
    }
    Ok(())
}

/// Checks what every new instruction needs: a well-formed serial, listed once, a valid
/// stamp.
fn check_requests<'r>(
    reqs: impl Iterator<Item = (&'r str, &'r Stamp)>,
) -> Result<Vec<&'r str>, AppError> {
    let mut seen = HashSet::new();
    let mut serials = Vec::new();
    for (serial, stamp) in reqs {
        check_serial(serial)?;
        if !seen.insert(serial) {
            return Err(invalid("serial", serial, "is listed twice"));
        }
        stamp
            .validate()
            .map_err(|e| invalid("stamp", &stamp.operator, e.to_string()))?;
        serials.push(serial);
    }
    Ok(serials)
}

/// The instructions recorded under these serials, by serial.
fn recorded(
    tx: &mut dyn StoreTx,
    centre: &str,
    serials: &[&str],
) -> Result<HashMap<String, InstructionRow>, AppError> {
    Ok(tx
        .instructions(centre, serials)?
        .into_iter()
        .map(|r| (r.serial.clone(), r))
        .collect())
}

fn serial_taken(serial: &str) -> AppError {
    invalid(
        "serial",
        serial,
        "is used already by another instruction (a serial names one instruction)",
    )
}

fn pending_key(serial: &str) -> String {
    format!("stl:{serial}")
}

/// The instruction's state as the domain sees it.
pub fn state_of(row: &InstructionRow) -> Result<InstructionState, AppError> {
    let bad = || {
        AppError::Store(StoreError::Corrupt {
            what: format!("instruction {}: state {}", row.serial, row.state),
        })
    };
    Ok(match row.state.as_str() {
        "created" => InstructionState::Created,
        "in_flight" => InstructionState::InFlight,
        "executed" => InstructionState::Executed {
            bank_ref: row.bank_ref.clone().ok_or_else(bad)?,
            value_date: row.value_date.ok_or_else(bad)?,
        },
        "not_executed" => InstructionState::NotExecuted {
            reason: row.reason.clone().unwrap_or_default(),
        },
        _ => return Err(bad()),
    })
}

fn kind_of(row: &InstructionRow) -> Result<InstructionKind, AppError> {
    InstructionKind::from_code(&row.kind).ok_or_else(|| {
        AppError::Store(StoreError::Corrupt {
            what: format!("instruction {}: kind {}", row.serial, row.kind),
        })
    })
}

fn outcome_of(row: &InstructionRow) -> Result<Outcome, AppError> {
    Ok(match state_of(row)? {
        InstructionState::Executed {
            bank_ref,
            value_date,
        } => Outcome::Executed {
            serial: row.serial.clone(),
            bank_ref,
            value_date,
        },
        InstructionState::NotExecuted { reason } => Outcome::NotExecuted {
            serial: row.serial.clone(),
            reason,
        },
        InstructionState::Created | InstructionState::InFlight => Outcome::AwaitingBank {
            serial: row.serial.clone(),
        },
    })
}

fn to_instruction(row: &InstructionRow) -> Result<ports::Instruction, AppError> {
    Ok(ports::Instruction {
        serial: row.serial.clone(),
        kind: kind_of(row)?,
        business_type: SettlementBusinessType::from_code(&row.business_type).map_err(|_| {
            AppError::Store(StoreError::Corrupt {
                what: format!(
                    "instruction {}: business type {}",
                    row.serial, row.business_type
                ),
            })
        })?,
        debit_account: row.debit_account.clone(),
        credit_account: row.credit_account.clone(),
        credit_name: row.credit_name.clone(),
        credit_bank: row.credit_bank.clone(),
        amount: Fen::new(row.amount),
        memo: row.memo.clone(),
    })
}

/// Same content (everything the caller chose) as an existing instruction.
fn same_request(a: &InstructionRow, b: &InstructionRow) -> bool {
    a.bank_code == b.bank_code
        && a.kind == b.kind
        && a.business_type == b.business_type
        && a.debit_account == b.debit_account
        && a.credit_account == b.credit_account
        && a.credit_name == b.credit_name
        && a.credit_bank == b.credit_bank
        && a.amount == b.amount
        && a.memo == b.memo
        && a.target == b.target
}

#[allow(clippy::too_many_arguments)]
fn new_row(
    serial: &str,
    bank_code: &str,
    kind: InstructionKind,
    business_type: SettlementBusinessType,
    debit_account: &str,
    credit_account: &str,
    credit_name: &str,
    credit_bank: Option<String>,
    amount: Fen,
    memo: &str,
    target: &str,
    entry_key: Option<String>,
    c: &CentreRow,
    stamp: &Stamp,
    now: Timestamp,
) -> InstructionRow {
    InstructionRow {
        serial: serial.to_owned(),
        bank_code: bank_code.to_owned(),
        kind: kind.code().to_owned(),
        business_type: business_type.code().to_owned(),
        debit_account: debit_account.to_owned(),
        credit_account: credit_account.to_owned(),
        credit_name: credit_name.to_owned(),
        credit_bank,
        amount: amount.fen(),
        memo: memo.to_owned(),
        target: target.to_owned(),
        entry_key,
        // Recorded as handed to the bank: it is committed before the send, and anything
        // that may have been sent is only ever queried, never sent again.
        state: InstructionState::InFlight.code().to_owned(),
        bank_ref: None,
        value_date: None,
        reason: None,
        business_date: c.business_date,
        operator: stamp.operator.clone(),
        created_at_us: now.as_microsecond(),
        settled_at_us: None,
        queries: 0,
        next_query_at_us: Some(now.as_microsecond() + QUERY_FIRST_US),
    }
}

/// First status query of an unanswered instruction: this long after it was sent.
const QUERY_FIRST_US: i64 = 2_000_000;
/// Status queries back off up to this interval.
const QUERY_MAX_US: i64 = 300_000_000;

fn next_query_us(now: Timestamp, queries: i32) -> i64 {
    let shift = u32::try_from(queries.clamp(0, 8)).unwrap_or(8);
    now.as_microsecond() + (QUERY_FIRST_US << shift).min(QUERY_MAX_US)
}

/// Resolves [`Payout`]s to [`Outgoing`] instructions: the member's bound card and bank.
pub fn payouts_to_outgoing(
    store: &dyn Store,
    centre: &str,
    payouts: &[Payout],
) -> Result<Vec<Outgoing>, AppError> {
    let mut tx = store.begin_read()?;
    outgoing_of(tx.as_mut(), centre, payouts)
}

/// Pays members' money to their bound cards: [`payouts_to_outgoing`] and [`pay_out`] in
/// one transaction (the card read where the pending entry is written).
pub fn pay_members(
    s: &Settlement<'_>,
    payouts: &[Payout],
    now: Timestamp,
) -> Result<Vec<Outcome>, AppError> {
    pay_out_with(s, now, &|tx| outgoing_of(tx, s.centre, payouts))
}

fn outgoing_of(
    tx: &mut dyn StoreTx,
    centre: &str,
    payouts: &[Payout],
) -> Result<Vec<Outgoing>, AppError> {
    let mut out = Vec::with_capacity(payouts.len());
    for p in payouts {
        let card = tx.card(centre, &p.account_no)?.ok_or_else(|| {
            invalid(
                "account_no",
                &p.account_no,
                "has no bound payout card (bind one with the member's bank card first)",
            )
        })?;
        out.push(Outgoing {
            serial: p.serial.clone(),
            kind: InstructionKind::Payment,
            business_type: p.business_type,
            bank_code: card.bank_code.clone(),
            debit: account("201", &p.account_no)?,
            code: TxCode::Withdrawal,
            payee_account: card.card_no,
            payee_name: card.holder,
            payee_bank: None,
            amount: p.amount,
            memo: p.memo.clone(),
            target: if p.target.is_empty() {
                format!("member:{}", p.account_no)
            } else {
                p.target.clone()
            },
            stamp: p.stamp.clone(),
        });
    }
    Ok(out)
}

/// Pays out: records each instruction with its pending entry (debit the given account,
/// credit `101.<bank>`) in one durable transaction, sends them (batched per bank), and
/// applies the answers. A serial seen before with the same content is not sent again:
/// its current outcome is returned; with other content it is refused. Money the account
/// does not have (available = balance − pending) is refused before anything is sent.
pub fn pay_out(
    s: &Settlement<'_>,
    reqs: &[Outgoing],
    now: Timestamp,
) -> Result<Vec<Outcome>, AppError> {
    pay_out_with(s, now, &|_| Ok(reqs.to_vec()))
}

/// Builds the instructions to pay inside the recording transaction.
pub(crate) type MakeOutgoing<'a> = dyn Fn(&mut dyn StoreTx) -> Result<Vec<Outgoing>, AppError> + 'a;

/// [`pay_out`] of the instructions `make` builds inside the recording transaction.
pub(crate) fn pay_out_with(
    s: &Settlement<'_>,
    now: Timestamp,
    make: &MakeOutgoing<'_>,
) -> Result<Vec<Outcome>, AppError> {
    let mut tx = s.store.begin()?;
    let c = lock(tx.as_mut(), s.centre)?;
    let reqs = make(tx.as_mut())?;
    let reqs = reqs.as_slice();
    let serials = check_requests(reqs.iter().map(|r| (r.serial.as_str(), &r.stamp)))?;
    for r in reqs {
        if !r.kind.is_outgoing() {
            return Err(invalid(
                "kind",
                r.kind.code(),
                "money into the fund is collected, not paid out",
            ));
        }
        if !r.amount.is_positive() {
            return Err(invalid("amount", r.amount.to_string(), "must be positive"));
        }
        check_account_text("payee_account", &r.payee_account)?;
        check_text("payee_name", &r.payee_name, 60)?;
        if r.memo.chars().count() > 60 {
            return Err(invalid("memo", &r.memo, "must be at most 60 characters"));
        }
    }
    let existing = recorded(tx.as_mut(), s.centre, &serials)?;
    let mut bank_rows: HashMap<String, BankRow> = HashMap::new();
    let mut rows = Vec::new();
    let mut entries = Vec::new();
    let mut results: Vec<Option<Outcome>> = Vec::with_capacity(reqs.len());
    for r in reqs {
        if !bank_rows.contains_key(&r.bank_code) {
            let b = bank_of(tx.as_mut(), s.centre, &r.bank_code)?;
            bank_rows.insert(r.bank_code.clone(), b);
        }
        let bank = &bank_rows[&r.bank_code];
        let row = new_row(
            &r.serial,
            &r.bank_code,
            r.kind,
            r.business_type,
            &bank.fund_account,
            &r.payee_account,
            &r.payee_name,
            r.payee_bank.clone(),
            r.amount,
            &r.memo,
            &r.target,
            Some(pending_key(&r.serial)),
            &c,
            &r.stamp,
            now,
        );
        if let Some(old) = existing.get(&r.serial) {
            if !same_request(old, &row) {
                return Err(serial_taken(&r.serial));
            }
            results.push(Some(outcome_of(old)?));
            continue;
        }
        entries.push(EntryRequest::pending(
            pending_key(&r.serial),
            r.code,
            c.business_date,
            vec![
                Leg::debit(r.debit.clone(), r.amount),
                Leg::credit(account("101", &r.bank_code)?, r.amount),
            ],
            format!("{} {}", r.kind.label_zh(), r.memo),
            r.stamp.clone(),
        ));
        rows.push(row);
        results.push(None);
    }
    post_in(tx.as_mut(), s.centre, entries, now)?;
    tx.insert_instructions(s.centre, &rows)?;
    tx.commit()?;
    send_and_apply(s, &rows, &mut results, now)?;
    results
        .into_iter()
        .map(|o| o.ok_or_else(|| not_found("instruction outcome".to_owned())))
        .collect()
}

/// Money moved between the fund's own accounts at two banks (资金划转).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundTransfer {
    /// Serial number.
    pub serial: String,
    /// The bank paying from the fund's account there.
    pub from_bank: String,
    /// The bank whose fund account receives it.
    pub to_bank: String,
    /// Amount, positive.
    pub amount: Fen,
    /// Memo.
    pub memo: String,
    /// Who, where, how.
    pub stamp: Stamp,
}

/// Moves money between the fund's accounts at two banks. The paying bank's instruction
/// goes through [`pay_out`]: pending Dr `103` (in transit) Cr `101.<from>`, posted when it
/// executes; the receiving bank's credit notice then books Dr `101.<to>` Cr `103`, so each
/// bank account in the ledger follows its bank's statement and `103` holds what is on its
/// way.
pub fn transfer_funds(
    s: &Settlement<'_>,
    t: &FundTransfer,
    now: Timestamp,
) -> Result<Outcome, AppError> {
    if t.from_bank == t.to_bank {
        return Err(invalid(
            "to_bank",
            &t.to_bank,
            "must be another bank than the paying one",
        ));
    }
    let to = {
        let mut tx = s.store.begin_read()?;
        bank_of(tx.as_mut(), s.centre, &t.from_bank)?;
        bank_of(tx.as_mut(), s.centre, &t.to_bank)?
    };
    let out = pay_out(
        s,
        &[Outgoing {
            serial: t.serial.clone(),
            kind: InstructionKind::Transfer,
            business_type: SettlementBusinessType::FundTransfer,
            bank_code: t.from_bank.clone(),
            debit: AccountNo::parse(IN_TRANSIT)
                .map_err(|e| invalid("chart", IN_TRANSIT, e.to_string()))?,
            code: TxCode::FundTransfer,
            payee_account: to.fund_account,
            payee_name: to.fund_account_name,
            payee_bank: Some(t.to_bank.clone()),
            amount: t.amount,
            memo: t.memo.clone(),
            target: format!("bank:{}", t.to_bank),
            stamp: t.stamp.clone(),
        }],
        now,
    )?;
    out.into_iter()
        .next()
        .ok_or_else(|| not_found("transfer outcome".to_owned()))
}

/// The ledger account of money on its way between the fund's bank accounts.
pub const IN_TRANSIT: &str = "103";

/// Sends new instructions per bank in batches of at most [`MAX_BATCH`] and applies the
/// answers; fills the empty places of `results` in order.
fn send_and_apply(
    s: &Settlement<'_>,
    rows: &[InstructionRow],
    results: &mut [Option<Outcome>],
    now: Timestamp,
) -> Result<(), AppError> {
    let mut answers_by_serial: HashMap<String, Outcome> = HashMap::with_capacity(rows.len());
    let mut by_bank: BTreeMap<&str, Vec<&InstructionRow>> = BTreeMap::new();
    for r in rows {
        by_bank.entry(r.bank_code.as_str()).or_default().push(r);
    }
    // Answers are stamped with the time they arrived: `now` advanced by the time spent.
    let started = std::time::Instant::now();
    for (code, list) in by_bank {
        let bank = s.banks.get(code)?;
        let chunks: Vec<&[&InstructionRow]> = list.chunks(MAX_BATCH).collect();
        let batches: Vec<Vec<ports::Instruction>> = chunks
            .iter()
            .map(|chunk| chunk.iter().map(|r| to_instruction(r)).collect())
            .collect::<Result<_, _>>()?;
        // The batches go out one after the other on a sender thread while the answers of
        // the previous one are applied here: the bank works while the gate writes.
        std::thread::scope(|scope| -> Result<(), AppError> {
            let (send, answers) = std::sync::mpsc::sync_channel(1);
            let bank = Arc::clone(bank);
            let batches = &batches;
            scope.spawn(move || {
                for batch in batches {
                    if send.send(bank.submit(batch)).is_err() {
                        break;
                    }
                }
            });
            for chunk in &chunks {
                // The sender ends only after the last batch; a missing reply is a timeout.
                let replies = answers.recv().unwrap_or_default();
                apply_replies(s, chunk, &replies, &mut answers_by_serial, now, started)?;
            }
            Ok(())
        })?;
    }
    let mut answers = answers_by_serial;
    let mut new_iter = rows.iter();
    for slot in results.iter_mut().filter(|r| r.is_none()) {
        let row = new_iter
            .next()
            .ok_or_else(|| not_found("instruction".to_owned()))?;
        *slot = Some(
            answers
                .remove(&row.serial)
                .unwrap_or(Outcome::AwaitingBank {
                    serial: row.serial.clone(),
                }),
        );
    }
    Ok(())
}

/// Applies the bank's replies to one batch through the gate (a reply missing or failed is
/// a timeout: the instruction is asked about by serial later).
fn apply_replies(
    s: &Settlement<'_>,
    chunk: &[&InstructionRow],
    replies: &[Result<BankAnswer, ports::Unreachable>],
    answers: &mut HashMap<String, Outcome>,
    now: Timestamp,
    started: std::time::Instant,
) -> Result<(), AppError> {
    let events: Vec<(String, Event)> = chunk
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let event = match replies.get(i) {
                Some(Ok(a)) => event_of(a),
                Some(Err(e)) => {
                    tracing::warn!(serial = %r.serial, error = %e, "no answer from the bank; will ask by serial");
                    Event::Timeout
                }
                None => Event::Timeout,
            };
            (r.serial.clone(), event)
        })
        .collect();
    let at = crate::later(now, started);
    let applied = apply_events(s.store, s.centre, &events, false, at)?;
    for o in applied {
        answers.insert(o.serial().to_owned(), o);
    }
    Ok(())
}

/// Money to collect into the fund from someone's account that is not a bill (a loan
/// repayment deducted from the borrower's card, 扣款): recorded by the caller's
/// transaction with [`record_incoming_in`], sent with [`send_recorded`] once committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DirectDebit {
    /// Serial number, unique in the centre.
    pub serial: String,
    /// The bank holding the payer's account (and the fund's account credited).
    pub bank_code: String,
    /// The account debited.
    pub payer_account: String,
    /// Settlement business type.
    pub business_type: SettlementBusinessType,
    /// Amount, positive.
    pub amount: Fen,
    /// Memo.
    pub memo: String,
    /// What it pays (`loan:<no>`).
    pub target: String,
    /// Who, where, how.
    pub stamp: Stamp,
}

/// Records deductions as in flight in `tx` (nothing is posted until the bank says the
/// money moved). A serial recorded before is refused.
pub(crate) fn record_incoming_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    reqs: &[DirectDebit],
    now: Timestamp,
) -> Result<Vec<InstructionRow>, AppError> {
    if reqs.is_empty() {
        return Ok(Vec::new());
    }
    let serials = check_requests(reqs.iter().map(|r| (r.serial.as_str(), &r.stamp)))?;
    let c = lock(tx, centre)?;
    let existing = recorded(tx, centre, &serials)?;
    let mut banks: HashMap<String, BankRow> = HashMap::new();
    let mut rows = Vec::with_capacity(reqs.len());
    for r in reqs {
        if existing.contains_key(&r.serial) {
            return Err(serial_taken(&r.serial));
        }
        if !r.amount.is_positive() {
            return Err(invalid("amount", r.amount.to_string(), "must be positive"));
        }
        check_account_text("payer_account", &r.payer_account)?;
        if !banks.contains_key(&r.bank_code) {
            let b = bank_of(tx, centre, &r.bank_code)?;
            banks.insert(r.bank_code.clone(), b);
        }
        let bank = &banks[&r.bank_code];
        rows.push(new_row(
            &r.serial,
            &bank.code,
            InstructionKind::Deduction,
            r.business_type,
            &r.payer_account,
            &bank.fund_account,
            &bank.fund_account_name,
            None,
            r.amount,
            &r.memo,
            &r.target,
            None,
            &c,
            &r.stamp,
            now,
        ));
    }
    tx.insert_instructions(centre, &rows)?;
    Ok(rows)
}

/// Sends instructions recorded (and committed) by the caller and applies the answers.
pub(crate) fn send_recorded(
    s: &Settlement<'_>,
    rows: &[InstructionRow],
    now: Timestamp,
) -> Result<Vec<Outcome>, AppError> {
    let mut results: Vec<Option<Outcome>> = vec![None; rows.len()];
    send_and_apply(s, rows, &mut results, now)?;
    results
        .into_iter()
        .map(|o| o.ok_or_else(|| not_found("instruction outcome".to_owned())))
        .collect()
}

fn event_of(a: &BankAnswer) -> Event {
    match a {
        BankAnswer::Executed {
            amount,
            bank_ref,
            value_date,
        } => Event::Executed {
            amount: *amount,
            bank_ref: bank_ref.clone(),
            value_date: *value_date,
        },
        BankAnswer::Rejected { reason } => Event::NotExecuted {
            reason: reason.clone(),
        },
        BankAnswer::Processing => Event::StillProcessing,
    }
}

/// Collects from units' accounts for their bills (汇缴 direct debit): records each
/// instruction, sends them, and pays the bill from what the bank collected (receipt key
/// = the serial, so the bill is paid once however often the answer arrives).
pub fn collect(
    s: &Settlement<'_>,
    reqs: &[Collection],
    now: Timestamp,
) -> Result<Vec<Outcome>, AppError> {
    let serials = check_requests(reqs.iter().map(|r| (r.serial.as_str(), &r.stamp)))?;
    let mut tx = s.store.begin()?;
    let c = lock(tx.as_mut(), s.centre)?;
    let existing = recorded(tx.as_mut(), s.centre, &serials)?;
    let mut in_flight: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut rows = Vec::new();
    let mut results = Vec::with_capacity(reqs.len());
    for r in reqs {
        // Asked again (e.g. after a crash): the same bill, and the amount and account if
        // the caller named them, is the same instruction — never sent again. (What is due
        // has changed once it was collected, so it is not compared.)
        if let Some(old) = existing.get(&r.serial) {
            let same = old.target == format!("bill:{}", r.bill_no)
                && r.amount.is_none_or(|a| a.fen() == old.amount)
                && r.unit_account
                    .as_ref()
                    .is_none_or(|a| a == &old.debit_account);
            if !same {
                return Err(serial_taken(&r.serial));
            }
            results.push(Some(outcome_of(old)?));
            continue;
        }
        let bill = tx
            .bill(s.centre, &r.bill_no)?
            .ok_or_else(|| not_found(format!("bill {}", r.bill_no)))?;
        let bank = bank_of(tx.as_mut(), s.centre, &bill.bank_code)?;
        let unit_accounts = tx.unit_bank_accounts(s.centre, &bill.payer)?;
        let from = match &r.unit_account {
            Some(a) => unit_accounts
                .iter()
                .find(|u| &u.account == a)
                .ok_or_else(|| {
                    invalid(
                        "unit_account",
                        a,
                        format!("is not an account of unit {}", bill.payer),
                    )
                })?
                .clone(),
            None => unit_accounts
                .iter()
                .find(|u| u.bank_code == bill.bank_code)
                .ok_or_else(|| {
                    invalid(
                        "bill_no",
                        &r.bill_no,
                        format!(
                            "unit {} has no account at bank {} to debit",
                            bill.payer, bill.bank_code
                        ),
                    )
                })?
                .clone(),
        };
        let due = due_on(tx.as_mut(), s.centre, &r.bill_no)?;
        let amount = r.amount.unwrap_or(due);
        let row = new_row(
            &r.serial,
            &bank.code,
            InstructionKind::Collection,
            SettlementBusinessType::Remittance,
            &from.account,
            &bank.fund_account,
            &bank.fund_account_name,
            (from.bank_code != bank.code).then(|| bank.code.clone()),
            amount,
            &format!("{} {}", bill.kind.label_zh(), bill.bill_no),
            &format!("bill:{}", bill.bill_no),
            None,
            &c,
            &r.stamp,
            now,
        );
        if bill.status != BillStatus::Confirmed {
            return Err(invalid(
                "bill_no",
                &r.bill_no,
                format!(
                    "bill is {}; only a confirmed, unpaid bill is collected",
                    bill.status.label_zh()
                ),
            ));
        }
        // One direct debit per bill at a time: a second one could charge the unit twice.
        // (The unanswered instructions of each bank are read once per call.)
        if !in_flight.contains_key(&bank.code) {
            let open: HashMap<String, String> = tx
                .instructions_unsettled(s.centre, Some(&bank.code), i64::MAX, usize::MAX)?
                .into_iter()
                .map(|i| (i.target, i.serial))
                .collect();
            in_flight.insert(bank.code.clone(), open);
        }
        let target = format!("bill:{}", bill.bill_no);
        let other = in_flight
            .get(&bank.code)
            .and_then(|m| m.get(&target))
            .cloned();
        let other = other.or_else(|| {
            rows.iter()
                .find(|i: &&InstructionRow| i.target == target)
                .map(|i| i.serial.clone())
        });
        if let Some(other) = other {
            return Err(invalid(
                "bill_no",
                &r.bill_no,
                format!(
                    "a collection of this bill is waiting for the bank's answer ({other}); \
                     ask about it (anju settle resolve) before collecting again"
                ),
            ));
        }
        if !amount.is_positive() {
            return Err(invalid(
                "amount",
                amount.to_string(),
                "must be positive (nothing is due on the bill)",
            ));
        }
        rows.push(row);
        results.push(None);
    }
    tx.insert_instructions(s.centre, &rows)?;
    tx.commit()?;
    send_and_apply(s, &rows, &mut results, now)?;
    results
        .into_iter()
        .map(|o| o.ok_or_else(|| not_found("instruction outcome".to_owned())))
        .collect()
}

/// Applies answers about instructions in one transaction: each through the state
/// machine under its row lock, with its ledger effect. `queried` marks answers to status
/// queries (counted, and the next query scheduled). Answers that contradict what is
/// known are not applied: they are logged and left for reconciliation.
pub fn apply_events(
    store: &dyn Store,
    centre: &str,
    events: &[(String, Event)],
    queried: bool,
    now: Timestamp,
) -> Result<Vec<Outcome>, AppError> {
    let mut tx = store.begin()?;
    let out = apply_events_in(tx.as_mut(), centre, events, queried, now)?;
    tx.commit()?;
    Ok(out.into_iter().map(|(o, _)| o).collect())
}

/// [`apply_events`] inside a transaction; each outcome with what happened (`applied`,
/// `no change`, `refused: …`).
fn apply_events_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    events: &[(String, Event)],
    queried: bool,
    now: Timestamp,
) -> Result<Vec<(Outcome, String)>, AppError> {
    let c = lock(tx, centre)?;
    let mut entries = Vec::new();
    let mut payments = Vec::new();
    let mut updated = Vec::new();
    let mut loan_money = Vec::new();
    let mut out = Vec::with_capacity(events.len());
    let mut seen: HashSet<&str> = HashSet::with_capacity(events.len());
    // Every instruction of the batch, read and locked at once.
    let serials: Vec<&str> = events.iter().map(|(s, _)| s.as_str()).collect();
    let mut current: HashMap<String, InstructionRow> = tx
        .lock_instructions(centre, &serials)?
        .into_iter()
        .map(|r| (r.serial.clone(), r))
        .collect();
    for (serial, event) in events {
        // A second answer about one instruction in the batch sees the first's effect.
        let mut row = current
            .get(serial)
            .cloned()
            .ok_or_else(|| not_found(format!("instruction {serial}")))?;
        let state = state_of(&row)?;
        let kind = kind_of(&row)?;
        let (next, effect) = match step(serial, Fen::new(row.amount), &state, event) {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(%serial, error = %e, "bank answer contradicts the record; not applied");
                out.push((outcome_of(&row)?, format!("refused: {e}")));
                continue;
            }
        };
        let stamp = bank_stamp(&row.bank_code);
        match (effect, &next) {
            (
                Effect::PostPending,
                InstructionState::Executed {
                    bank_ref,
                    value_date,
                },
            ) => {
                if kind.is_outgoing() {
                    let key = row.entry_key.clone().unwrap_or_else(|| pending_key(serial));
                    entries.push(EntryRequest::resolve_pending(
                        format!("{key}:post"),
                        key,
                        true,
                        c.business_date,
                        (*value_date).min(c.business_date),
                        format!("银行已执行 {bank_ref}"),
                        stamp,
                    ));
                } else if let Some(bill_no) = row.target.strip_prefix("bill:") {
                    let bill = tx
                        .bill(centre, bill_no)?
                        .ok_or_else(|| not_found(format!("bill {bill_no}")))?;
                    let taken = payments
                        .iter()
                        .any(|(p, _): &(Payment, Stamp)| p.bill_no == bill_no);
                    if bill.status == BillStatus::Confirmed && !taken {
                        payments.push((
                            Payment {
                                bill_no: bill_no.to_owned(),
                                receipt_key: serial.clone(),
                                amount: Fen::new(row.amount),
                                bank_code: Some(row.bank_code.clone()),
                            },
                            stamp,
                        ));
                    } else {
                        // The bill was settled another way while the bank worked (e.g. at
                        // the counter): the money is the unit's, held in its suspense
                        // account for the next bill or a refund — never lost, never
                        // stuck.
                        entries.push(EntryRequest::posted(
                            format!("{}:held", pending_key(serial)),
                            TxCode::Suspense,
                            c.business_date,
                            (*value_date).min(c.business_date),
                            vec![
                                Leg::debit(account("101", &row.bank_code)?, Fen::new(row.amount)),
                                Leg::credit(account("213", &bill.payer)?, Fen::new(row.amount)),
                            ],
                            format!("代收到账 {bill_no} 已不再待缴，暂收 {bank_ref}"),
                            stamp,
                        ));
                    }
                } else if row.target.starts_with("loan:") {
                    // A loan repayment deducted from the borrower's card: split over what
                    // the loan owes (all of this batch's together, below), the schedule
                    // updated in this transaction.
                    loan_money.push((
                        row.clone(),
                        (*value_date).min(c.business_date),
                        stamp.clone(),
                    ));
                } else {
                    return Err(invalid(
                        "target",
                        &row.target,
                        "incoming money must name what it pays (bill:<no> or loan:<no>)",
                    ));
                }
            }
            // Incoming money that did not come posts nothing.
            (Effect::VoidPending, InstructionState::NotExecuted { reason })
                if kind.is_outgoing() =>
            {
                let key = row.entry_key.clone().unwrap_or_else(|| pending_key(serial));
                entries.push(EntryRequest::resolve_pending(
                    format!("{key}:void"),
                    key,
                    false,
                    c.business_date,
                    c.business_date,
                    format!("银行未执行：{reason}"),
                    stamp,
                ));
            }
            _ => {}
        }
        let changed = next != state;
        match &next {
            InstructionState::Executed {
                bank_ref,
                value_date,
            } => {
                row.bank_ref = Some(bank_ref.clone());
                row.value_date = Some(*value_date);
            }
            InstructionState::NotExecuted { reason } => row.reason = Some(reason.clone()),
            InstructionState::Created | InstructionState::InFlight => {}
        }
        row.state = next.code().to_owned();
        if queried {
            row.queries += 1;
        }
        if next.is_final() {
            if changed {
                row.settled_at_us = Some(now.as_microsecond());
            }
            row.next_query_at_us = None;
        } else if queried || matches!(event, Event::Timeout) {
            row.next_query_at_us = Some(next_query_us(now, row.queries));
        }
        out.push((
            outcome_of(&row)?,
            if changed { "applied" } else { "no change" }.to_owned(),
        ));
        if seen.insert(serial.as_str()) {
            updated.push(serial.clone());
        }
        current.insert(serial.clone(), row);
    }
    let updated: Vec<InstructionRow> = updated.iter().filter_map(|s| current.remove(s)).collect();
    entries.extend(crate::loan::money_in_batch_in(
        tx,
        centre,
        &loan_money,
        c.business_date,
        now,
    )?);
    post_in(tx, centre, entries, now)?;
    // Bills paid by collections: one call per stamp (one per bank in practice).
    let mut by_bank: BTreeMap<String, (Stamp, Vec<Payment>)> = BTreeMap::new();
    for (p, stamp) in payments {
        by_bank
            .entry(stamp.operator.clone())
            .or_insert_with(|| (stamp, Vec::new()))
            .1
            .push(p);
    }
    for (_, (stamp, list)) in by_bank {
        remittance::pay_bills_in(tx, centre, &list, &stamp, now)?;
    }
    tx.update_instructions(centre, &updated)?;
    // Payments that serve a withdrawal tell it how they ended (paid / returned).
    for application_no in crate::withdrawal::served(&updated) {
        crate::withdrawal::payment_settled_in(tx, centre, &application_no, now)?;
    }
    // Disbursements and card deductions tell their loan how they ended.
    crate::loan::instructions_settled_in(tx, centre, &updated, now)?;
    Ok(out)
}

/// What one round of status queries found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Instructions asked about.
    pub queried: usize,
    /// Now executed.
    pub executed: usize,
    /// Now definitely not executed (outgoing money back).
    pub not_executed: usize,
    /// Still without a definite answer (asked again later).
    pub unknown: usize,
}

/// Asks the banks about instructions without a definite answer whose next query is due
/// at `now` (at most `limit`), and applies the answers; those still without one are
/// asked again later (backing off). Run by `anju serve` in the background.
pub fn resolve_unsettled(
    s: &Settlement<'_>,
    bank_code: Option<&str>,
    now: Timestamp,
    limit: usize,
) -> Result<Resolved, AppError> {
    resolve_due_by(s, bank_code, now.as_microsecond(), now, limit)
}

/// Like [`resolve_unsettled`], but asks about every instruction without a definite answer
/// whether or not its next query is due (`anju settle resolve`, before reconciling).
pub fn resolve_all(
    s: &Settlement<'_>,
    bank_code: Option<&str>,
    now: Timestamp,
    limit: usize,
) -> Result<Resolved, AppError> {
    resolve_due_by(s, bank_code, i64::MAX, now, limit)
}

fn resolve_due_by(
    s: &Settlement<'_>,
    bank_code: Option<&str>,
    due_us: i64,
    now: Timestamp,
    limit: usize,
) -> Result<Resolved, AppError> {
    let due = {
        let mut tx = s.store.begin_read()?;
        tx.instructions_unsettled(s.centre, bank_code, due_us, limit)?
    };
    let mut events = Vec::with_capacity(due.len());
    for row in &due {
        let event = match s.banks.get(&row.bank_code)?.status(&row.serial) {
            Ok(a) => event_of(&a),
            Err(e) => {
                tracing::warn!(serial = %row.serial, error = %e, "status query failed; will ask again");
                Event::Timeout
            }
        };
        events.push((row.serial.clone(), event));
    }
    let mut r = Resolved {
        queried: due.len(),
        ..Resolved::default()
    };
    for o in apply_events(s.store, s.centre, &events, true, now)? {
        match o {
            Outcome::Executed { .. } => r.executed += 1,
            Outcome::NotExecuted { .. } => r.not_executed += 1,
            Outcome::AwaitingBank { .. } => r.unknown += 1,
        }
    }
    Ok(r)
}

/// The fund's balance at a bank (余额查询) beside the ledger's `101.<bank>`: equal when
/// every instruction is settled and every notice applied.
pub fn fund_balance(s: &Settlement<'_>, bank_code: &str) -> Result<(Fen, Fen), AppError> {
    let (bank, ledger) = {
        let mut tx = s.store.begin_read()?;
        let bank = bank_of(tx.as_mut(), s.centre, bank_code)?;
        let ledger = tx
            .load_accounts(s.centre, &[account("101", bank_code)?])?
            .pop()
            .map_or(Fen::ZERO, |a| a.balance);
        (bank, ledger)
    };
    let at_bank = s
        .banks
        .get(bank_code)?
        .balance(&bank.fund_account)
        .map_err(|e| invalid("bank_code", bank_code, format!("balance unavailable: {e}")))?;
    Ok((at_bank, ledger))
}

/// Instructions by serial.
pub fn instructions(
    store: &dyn Store,
    centre: &str,
    serials: &[&str],
) -> Result<Vec<InstructionRow>, AppError> {
    let mut tx = store.begin_read()?;
    Ok(tx.instructions(centre, serials)?)
}

// ---- notices and incoming money ----------------------------------------------------

/// Applies a verified bank notice once: a result notice goes through the same path as a
/// synchronous answer; a credit notice is matched to a bill or parked in suspense. The
/// notice is kept by id; the same notice again changes nothing. Returns what was done.
pub fn receive_notice(
    store: &dyn Store,
    centre: &str,
    notice: &Notice,
    body_hash: &str,
    now: Timestamp,
) -> Result<String, AppError> {
    let mut tx = store.begin()?;
    lock(tx.as_mut(), centre)?;
    let (kind, reference) = match &notice.event {
        NoticeEvent::Result { serial, .. } => ("result", serial.clone()),
        NoticeEvent::Credit { line, .. } => ("credit", line.bank_ref.clone()),
    };
    let mut row = NoticeRow {
        bank_code: notice.bank.clone(),
        notice_id: notice.notice_id.clone(),
        kind: kind.to_owned(),
        reference: reference.clone(),
        body_hash: body_hash.to_owned(),
        received_at_us: now.as_microsecond(),
        outcome: String::new(),
    };
    let outcome = match &notice.event {
        NoticeEvent::Result { serial, answer } => {
            let known = tx.instructions(centre, &[serial.as_str()])?;
            match known.first() {
                None => format!("refused: no instruction {serial}"),
                Some(i) if i.bank_code != notice.bank => {
                    format!(
                        "refused: instruction {serial} was sent to bank {}",
                        i.bank_code
                    )
                }
                Some(_) if matches!(answer, BankAnswer::Processing) => "no change".to_owned(),
                Some(_) => apply_events_in(
                    tx.as_mut(),
                    centre,
                    &[(serial.clone(), event_of(answer))],
                    false,
                    now,
                )?
                .pop()
                .map(|(_, what)| what)
                .unwrap_or_default(),
            }
        }
        NoticeEvent::Credit { account, line } => {
            receive_credit_in(tx.as_mut(), centre, &notice.bank, account, line, now)?
        }
    };
    row.outcome = outcome.clone();
    if !tx.insert_notice(centre, &row)? {
        // Delivered before: whatever it did then stands (the credit and the answer are
        // idempotent too); keep nothing of this copy.
        return Ok("no change (notice seen before)".to_owned());
    }
    tx.commit()?;
    Ok(outcome)
}

/// Logs a notice refused before it was trusted.
pub fn refuse_notice(
    store: &dyn Store,
    centre: &str,
    refusal: &NoticeRefusalRow,
) -> Result<(), AppError> {
    tracing::warn!(claimed = %refusal.claimed_bank, reason = %refusal.reason, peer = %refusal.peer, "bank notice refused");
    let mut tx = store.begin()?;
    tx.insert_notice_refusal(centre, refusal)?;
    // A refused machine request (bad signature, stale timestamp, replayed nonce) is also
    // a security event in the audit log.
    let at = jiff::Timestamp::from_microsecond(refusal.received_at_us).map_err(|e| {
        invalid(
            "received_at_us",
            refusal.received_at_us.to_string(),
            e.to_string(),
        )
    })?;
    crate::access::audit::record_in(
        tx.as_mut(),
        centre,
        &crate::access::audit::AuditEvent {
            actor: format!("bank:{}", refusal.claimed_bank),
            actor_role: String::new(),
            service_point: "machine".to_owned(),
            channel: anju_domain::codes::Channel::MachineInterface,
            action: "machine_request_refused".to_owned(),
            business: None,
            subject_id: None,
            subject_unit: None,
            object: Some(format!("notice sm3:{}", refusal.body_hash)),
            outcome: crate::access::audit::AuditOutcome::Denied,
            detail: format!("{} from {}", refusal.reason, refusal.peer),
        },
        at,
    )?;
    tx.commit()?;
    Ok(())
}

/// The latest refused notices.
pub fn notice_refusals(
    store: &dyn Store,
    centre: &str,
    limit: usize,
) -> Result<Vec<NoticeRefusalRow>, AppError> {
    let mut tx = store.begin_read()?;
    Ok(tx.notice_refusals(centre, limit)?)
}

/// What is still due on a bill: its unpaid lines.
fn due_on(tx: &mut dyn StoreTx, centre: &str, bill_no: &str) -> Result<Fen, AppError> {
    Ok(Fen::new(
        tx.bill_lines(centre, bill_no)?
            .iter()
            .filter(|l| l.paid_entry.is_none())
            .map(|l| l.total().fen())
            .sum(),
    ))
}

/// Words of a memo that might be a bill number.
fn memo_tokens(memo: &str) -> Vec<String> {
    memo.split(|ch: char| !ch.is_ascii_alphanumeric())
        .filter(|t| t.len() >= 6)
        .map(str::to_uppercase)
        .collect()
}

/// Money a unit (or anyone) sent to a fund account: paid to the bill its memo names, or
/// the one bill of that payer due for exactly that amount; otherwise parked in the bank's
/// unidentified-receipts account `215.<bank>` for staff to assign. Once per bank
/// reference.
fn receive_credit_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    bank_code: &str,
    fund_account: &str,
    line: &StatementLine,
    now: Timestamp,
) -> Result<String, AppError> {
    if tx.incoming(centre, bank_code, &line.bank_ref)?.is_some() {
        return Ok("no change".to_owned());
    }
    let bank = bank_of(tx, centre, bank_code)?;
    if bank.fund_account != fund_account {
        return Ok(format!(
            "refused: {fund_account} is not the fund's account at bank {bank_code}"
        ));
    }
    if !line.amount.is_positive() {
        return Ok(format!(
            "refused: a credit of {} is not positive",
            line.amount
        ));
    }
    let c = lock(tx, centre)?;
    let stamp = bank_stamp(bank_code);
    let mut row = IncomingRow {
        bank_code: bank_code.to_owned(),
        bank_ref: line.bank_ref.clone(),
        amount: line.amount.fen(),
        payer_account: line.counterparty_account.clone(),
        payer_name: line.counterparty_name.clone(),
        memo: line.memo.clone(),
        value_date: line.value_date,
        received_at_us: now.as_microsecond(),
        matched: String::new(),
        bill_no: None,
        note: None,
        entry_key: String::new(),
        assigned_key: None,
    };
    // Books the credit Dr `101.<bank>` Cr `credit`; returns the entry key.
    let book = |tx: &mut dyn StoreTx,
                credit: AccountNo,
                code: TxCode,
                memo: String,
                stamp: Stamp|
     -> Result<String, AppError> {
        let key = format!("in:{bank_code}:{}", line.bank_ref);
        post_in(
            tx,
            centre,
            vec![EntryRequest::posted(
                key.clone(),
                code,
                c.business_date,
                line.value_date.min(c.business_date),
                vec![
                    Leg::debit(account("101", bank_code)?, line.amount),
                    Leg::credit(credit, line.amount),
                ],
                memo,
                stamp,
            )],
            now,
        )?;
        Ok(key)
    };
    // The fund's own transfer from its account at another bank arriving (资金划转).
    if let Some(from) = tx
        .banks(centre)?
        .into_iter()
        .find(|b| b.code != bank_code && b.fund_account == line.counterparty_account)
    {
        let in_transit = AccountNo::parse(IN_TRANSIT)
            .map_err(|e| invalid("chart", IN_TRANSIT, e.to_string()))?;
        row.entry_key = book(
            tx,
            in_transit,
            TxCode::FundTransfer,
            format!("资金划转 来自{} {}", from.name, line.memo),
            stamp,
        )?;
        row.matched = "transfer".to_owned();
        row.note = Some(format!("from the fund's account at bank {}", from.code));
        tx.insert_incoming(centre, &row)?;
        return Ok(format!("transfer from bank {} arrived", from.code));
    }
    // Bills the memo names, and the open bills of the unit that owns the paying account.
    let mut bills: Vec<OpenBill> = Vec::new();
    let mut payers: HashMap<String, Vec<String>> = HashMap::new();
    let mut payer_accounts = |tx: &mut dyn StoreTx, unit: &str| -> Result<Vec<String>, AppError> {
        if let Some(a) = payers.get(unit) {
            return Ok(a.clone());
        }
        let a: Vec<String> = tx
            .unit_bank_accounts(centre, unit)?
            .into_iter()
            .map(|u| u.account)
            .collect();
        payers.insert(unit.to_owned(), a.clone());
        Ok(a)
    };
    let mut candidates = Vec::new();
    for t in memo_tokens(&line.memo) {
        if let Some(b) = tx.bill(centre, &t)? {
            candidates.push(b);
        }
    }
    if let Some(u) = tx.unit_by_bank_account(centre, bank_code, &line.counterparty_account)? {
        candidates.extend(tx.bills_of(centre, &u.unit_no)?);
    }
    let mut seen = HashSet::new();
    for b in candidates {
        if b.status != BillStatus::Confirmed || !seen.insert(b.bill_no.clone()) {
            continue;
        }
        let due = due_on(tx, centre, &b.bill_no)?;
        bills.push(OpenBill {
            bill_no: b.bill_no.clone(),
            due,
            payer_accounts: payer_accounts(tx, &b.payer)?,
        });
    }
    let money = Incoming {
        bank_serial: line.bank_ref.clone(),
        amount: line.amount,
        payer_account: line.counterparty_account.clone(),
        memo: line.memo.clone(),
    };
    let outcome = match match_incoming(&money, &bills) {
        Match::ByReference { bill_no } | Match::ByAmountAndPayer { bill_no } => {
            let receipt_key = format!("{bank_code}-{}", line.bank_ref);
            let paid = remittance::pay_bills_in(
                tx,
                centre,
                &[Payment {
                    bill_no: bill_no.clone(),
                    receipt_key: receipt_key.clone(),
                    amount: line.amount,
                    bank_code: Some(bank_code.to_owned()),
                }],
                &stamp,
                now,
            )?;
            row.matched = "bill".to_owned();
            row.bill_no = Some(bill_no.clone());
            row.entry_key = format!("rcpt:{receipt_key}");
            match paid.first() {
                Some(PaymentOutcome::Held { outstanding, .. }) => {
                    format!("held against bill {bill_no} ({outstanding} still due)")
                }
                _ => format!("paid bill {bill_no}"),
            }
        }
        Match::Suspense { reason } => {
            row.entry_key = book(
                tx,
                account("215", bank_code)?,
                TxCode::Suspense,
                format!("待查收款 {} {}", line.counterparty_name, line.memo),
                stamp,
            )?;
            row.matched = "suspense".to_owned();
            row.note = Some(reason.clone());
            format!("parked in suspense: {reason}")
        }
    };
    tx.insert_incoming(centre, &row)?;
    Ok(outcome)
}

/// Money in the unidentified-receipts accounts, waiting for staff.
pub fn suspense_items(store: &dyn Store, centre: &str) -> Result<Vec<IncomingRow>, AppError> {
    let mut tx = store.begin_read()?;
    Ok(tx.incoming_in_suspense(centre)?)
}

/// Which money in suspense goes to which unit, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Bank code.
    pub bank_code: String,
    /// The bank's reference of the credit.
    pub bank_ref: String,
    /// The unit it belongs to.
    pub unit_no: String,
    /// How that was established (e.g. the unit's call).
    pub note: String,
}

/// Staff assign money parked in suspense to the unit it belongs to: one entry moves it
/// from `215.<bank>` to the unit's suspense `213.<unit>`, where a bill takes it (the unit
/// says which members it covers, or the next payment completes the bill).
pub fn assign_incoming(
    store: &dyn Store,
    centre: &str,
    what: &Assignment,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<IncomingRow, AppError> {
    let (bank_code, bank_ref, unit_no, note) = (
        what.bank_code.as_str(),
        what.bank_ref.as_str(),
        what.unit_no.as_str(),
        what.note.as_str(),
    );
    check_text("note", note, 200)?;
    stamp
        .validate()
        .map_err(|e| invalid("stamp", &stamp.operator, e.to_string()))?;
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let mut row = tx
        .incoming(centre, bank_code, bank_ref)?
        .ok_or_else(|| not_found(format!("incoming money {bank_code}/{bank_ref}")))?;
    if row.matched != "suspense" {
        return Err(invalid(
            "bank_ref",
            bank_ref,
            format!("is not in suspense (it went to: {})", row.matched),
        ));
    }
    tx.unit(centre, unit_no)?
        .ok_or_else(|| not_found(format!("unit {unit_no}")))?;
    let key = format!("assign:{bank_code}:{bank_ref}");
    let amount = Fen::new(row.amount);
    post_in(
        tx.as_mut(),
        centre,
        vec![EntryRequest::posted(
            key.clone(),
            TxCode::Suspense,
            c.business_date,
            c.business_date,
            vec![
                Leg::debit(account("215", bank_code)?, amount),
                Leg::credit(account("213", unit_no)?, amount),
            ],
            format!("待查收款认领 {unit_no} {note}"),
            stamp.clone(),
        )],
        now,
    )?;
    row.matched = "assigned".to_owned();
    row.note = Some(format!("{unit_no}: {note}"));
    row.assigned_key = Some(key);
    tx.update_incoming(centre, &row)?;
    tx.commit()?;
    Ok(row)
}

// ---- reconciliation ----------------------------------------------------------------

/// The result of reconciling one bank account for one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconReport {
    /// The run.
    pub run: ReconRunRow,
    /// Differences found now (each kept as an open item).
    pub mismatches: Vec<Mismatch>,
    /// Items of earlier runs of the day that this run found settled (now resolved).
    pub resolved: Vec<ReconItemRow>,
    /// Every open item of this bank (all days), after this run.
    pub open_items: Vec<ReconItemRow>,
}

/// Anju's movements in a fund account on a day: executed instructions (out negative, in
/// positive) by serial, and money others sent by the bank's reference (`ref:<ref>`).
fn anju_movements(
    tx: &mut dyn StoreTx,
    centre: &str,
    bank_code: &str,
    date: Date,
) -> Result<Vec<Movement>, AppError> {
    let executed = tx.instructions_executed_on(centre, bank_code, date)?;
    let incoming = tx.incoming_on(centre, bank_code, date)?;
    let mut out = Vec::with_capacity(executed.len() + incoming.len());
    for r in executed {
        let out_going =
            InstructionKind::from_code(&r.kind).is_some_and(InstructionKind::is_outgoing);
        out.push(Movement {
            amount: Fen::new(if out_going { -r.amount } else { r.amount }),
            serial: r.serial,
        });
    }
    for i in incoming {
        out.push(Movement {
            serial: format!("ref:{}", i.bank_ref),
            amount: Fen::new(i.amount),
        });
    }
    Ok(out)
}

fn bank_movements(lines: &[StatementLine]) -> Vec<Movement> {
    lines
        .iter()
        .map(|l| Movement {
            serial: l
                .serial
                .clone()
                .unwrap_or_else(|| format!("ref:{}", l.bank_ref)),
            amount: l.amount,
        })
        .collect()
}

fn item_of(m: &Mismatch, bank: &str, date: Date, now: Timestamp) -> ReconItemRow {
    let (serial, kind, bank_amount, anju_amount) = match m {
        Mismatch::MissingInAnju { serial, bank } => {
            (serial, "missing_in_anju", Some(bank.fen()), None)
        }
        Mismatch::MissingAtBank { serial, anju } => {
            (serial, "missing_at_bank", None, Some(anju.fen()))
        }
        Mismatch::AmountDiffers { serial, bank, anju } => {
            (serial, "amount_differs", Some(bank.fen()), Some(anju.fen()))
        }
        Mismatch::Duplicate { serial, .. } => (serial, "duplicate", None, None),
    };
    ReconItemRow {
        bank_code: bank.to_owned(),
        date,
        serial: serial.clone(),
        kind: kind.to_owned(),
        bank_amount,
        anju_amount,
        found_at_us: now.as_microsecond(),
        status: "open".to_owned(),
        resolved_at_us: None,
        resolution: None,
    }
}

/// Daily reconciliation (对账) of the fund's account at a bank: fetches the bank's
/// statement for `date` and compares it line by line (by serial, or the bank's reference
/// for money others sent) with Anju's settled instructions and incoming money. Every
/// difference becomes an open item; items of the same day that a rerun no longer finds
/// are resolved. Instructions still without an answer are not differences yet: they are
/// queried first.
pub fn reconcile(
    s: &Settlement<'_>,
    bank_code: &str,
    date: Date,
    now: Timestamp,
) -> Result<ReconReport, AppError> {
    // Settle what can be settled first, so an answer that is merely late is no difference.
    resolve_all(s, Some(bank_code), now, 10_000)?;
    let bank = {
        let mut tx = s.store.begin_read()?;
        bank_of(tx.as_mut(), s.centre, bank_code)?
    };
    let statement = s
        .banks
        .get(bank_code)?
        .statement(&bank.fund_account, date)
        .map_err(|e| {
            invalid(
                "bank_code",
                bank_code,
                format!("statement unavailable: {e}"),
            )
        })?;
    reconcile_statement(s.store, s.centre, bank_code, &statement, now)
}

/// The comparison half of [`reconcile`], for a statement already fetched.
pub fn reconcile_statement(
    store: &dyn Store,
    centre: &str,
    bank_code: &str,
    statement: &ports::Statement,
    now: Timestamp,
) -> Result<ReconReport, AppError> {
    let date = statement.date;
    let mut tx = store.begin()?;
    lock(tx.as_mut(), centre)?;
    let bank = bank_of(tx.as_mut(), centre, bank_code)?;
    if statement.account != bank.fund_account {
        return Err(invalid(
            "statement",
            &statement.account,
            format!("is not the fund's account at bank {bank_code}"),
        ));
    }
    let ours = anju_movements(tx.as_mut(), centre, bank_code, date)?;
    let theirs = bank_movements(&statement.lines);
    let mismatches = compare(&theirs, &ours);
    let ledger_balance = tx
        .load_accounts(centre, &[account("101", bank_code)?])?
        .pop()
        .map_or(0, |a| a.balance.fen());
    let run = ReconRunRow {
        bank_code: bank_code.to_owned(),
        date,
        run_at_us: now.as_microsecond(),
        bank_lines: i64::try_from(theirs.len()).unwrap_or(i64::MAX),
        anju_lines: i64::try_from(ours.len()).unwrap_or(i64::MAX),
        bank_closing: statement.closing.fen(),
        ledger_balance,
        mismatches: i64::try_from(mismatches.len()).unwrap_or(i64::MAX),
    };
    tx.insert_recon_run(centre, &run)?;
    let items: Vec<ReconItemRow> = mismatches
        .iter()
        .map(|m| item_of(m, bank_code, date, now))
        .collect();
    tx.upsert_recon_items(centre, &items)?;
    let found: HashSet<(&str, &str)> = items
        .iter()
        .map(|i| (i.serial.as_str(), i.kind.as_str()))
        .collect();
    let mut resolved: Vec<ReconItemRow> = tx
        .recon_items(centre, Some(bank_code), Some(date), true)?
        .into_iter()
        .filter(|i| !found.contains(&(i.serial.as_str(), i.kind.as_str())))
        .collect();
    for r in &mut resolved {
        r.status = "resolved".to_owned();
        r.resolved_at_us = Some(now.as_microsecond());
        r.resolution = Some("settled: no longer different on a later run".to_owned());
    }
    tx.update_recon_items(centre, &resolved)?;
    let open_items = tx.recon_items(centre, Some(bank_code), None, true)?;
    tx.commit()?;
    Ok(ReconReport {
        run,
        mismatches,
        resolved,
        open_items,
    })
}

/// Names the open reconciliation items of one serial on one day at one bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef {
    /// Bank code.
    pub bank_code: String,
    /// Day.
    pub date: Date,
    /// Serial (or `ref:<bank reference>`).
    pub serial: String,
}

/// Staff close an open reconciliation item with a note (e.g. after a correcting entry).
pub fn resolve_recon_item(
    store: &dyn Store,
    centre: &str,
    item: &ItemRef,
    note: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<Vec<ReconItemRow>, AppError> {
    let (bank_code, date, serial) = (item.bank_code.as_str(), item.date, item.serial.as_str());
    check_text("note", note, 200)?;
    let mut tx = store.begin()?;
    lock(tx.as_mut(), centre)?;
    let mut items: Vec<ReconItemRow> = tx
        .recon_items(centre, Some(bank_code), Some(date), true)?
        .into_iter()
        .filter(|i| i.serial == serial)
        .collect();
    if items.is_empty() {
        return Err(not_found(format!(
            "open reconciliation item {bank_code} {date} {serial}"
        )));
    }
    for i in &mut items {
        i.status = "resolved".to_owned();
        i.resolved_at_us = Some(now.as_microsecond());
        i.resolution = Some(format!("{}: {note}", stamp.operator));
    }
    tx.update_recon_items(centre, &items)?;
    tx.commit()?;
    Ok(items)
}

/// Open reconciliation items (all banks when `None`).
pub fn open_recon_items(
    store: &dyn Store,
    centre: &str,
    bank_code: Option<&str>,
) -> Result<Vec<ReconItemRow>, AppError> {
    let mut tx = store.begin_read()?;
    Ok(tx.recon_items(centre, bank_code, None, true)?)
}
