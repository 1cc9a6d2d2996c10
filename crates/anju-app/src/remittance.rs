//! Monthly remittance (汇缴), back-payment (补缴) and flexible workers' own contributions:
//! bills generated from the roster, adjusted by the unit while in draft, confirmed, and
//! paid — in full as one ledger entry that credits every member's sub-account, or in part
//! into the unit's suspense account (暂收款 `213.<unit>`) until the rest arrives or the unit
//! says which members the money covers. Arrears (欠缴) and reminders (催缴) follow the
//! business calendar; a wrong payment is corrected by reversal (冲正).
//!
//! 缴至年月 (`paid_to`) moves only when a month is fully paid for the member and never over
//! a gap: it is the last month of the first unbroken run of paid months.

use std::collections::{BTreeMap, HashMap};

use anju_domain::calendar::BusinessCalendar;
use anju_domain::collection::{
    BaseNotice, CollectionError, MemberStatus, UnitStatus, YearMonth, base_from_wage, check_base,
    monthly_contribution, remittance_due,
};
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{ContributionRule, Policy};
use anju_domain::stamp::Stamp;
use anju_store::collection::{
    BillKind, BillLineRow, BillRow, BillStatus, FullPayment, LineDue, ReceiptRow, ReminderRow,
};
use anju_store::registry::{MemberRow, UnitRow};
use anju_store::{CentreRow, Store, StoreTx};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::AppError;
use crate::ledger::lock_centre as lock;
use crate::ledger::{Posted, post_in, post_in_meanwhile};

fn invalid(field: &'static str, value: impl Into<String>, rule: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        value: value.into(),
        rule: rule.into(),
    }
}

fn rule_err(field: &'static str, e: CollectionError) -> AppError {
    invalid(field, "", e.to_string())
}

fn contribution_rule(policy: &Policy, month: YearMonth) -> Result<&ContributionRule, AppError> {
    policy
        .contribution_on(month.first_day())
        .map_err(|e| invalid("month", month.to_string(), e.to_string()))
}

fn account(code: &str, key: &str) -> Result<AccountNo, AppError> {
    AccountNo::sub(code, key).map_err(|e| invalid("account_no", key, e.to_string()))
}

fn unit_of(tx: &mut dyn StoreTx, centre: &str, unit_no: &str) -> Result<UnitRow, AppError> {
    tx.unit(centre, unit_no)?.ok_or_else(|| AppError::NotFound {
        what: format!("unit {unit_no}"),
    })
}

fn bill_of(tx: &mut dyn StoreTx, centre: &str, bill_no: &str) -> Result<BillRow, AppError> {
    tx.bill(centre, bill_no)?.ok_or_else(|| AppError::NotFound {
        what: format!("bill {bill_no}"),
    })
}

fn member_of(tx: &mut dyn StoreTx, centre: &str, account_no: &str) -> Result<MemberRow, AppError> {
    tx.member(centre, account_no)?
        .ok_or_else(|| AppError::NotFound {
            what: format!("personal account {account_no}"),
        })
}

fn status_of(m: &MemberRow) -> MemberStatus {
    MemberStatus {
        status: m.status,
        before_freeze: m.before_freeze,
    }
}

/// Whether money may be credited to the member: not closed, not frozen.
fn ensure_may_receive(m: &MemberRow) -> Result<(), AppError> {
    if !status_of(m).may_receive() {
        return Err(invalid(
            "account_no",
            &m.account_no,
            format!(
                "personal account is {} ({}); a closed or frozen account cannot receive money",
                m.status.label_zh(),
                m.status
            ),
        ));
    }
    Ok(())
}

/// A bill with its lines and the notices made while computing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    /// The bill.
    pub bill: BillRow,
    /// Its lines.
    pub lines: Vec<BillLineRow>,
}

impl Bill {
    /// Σ lines not yet paid.
    pub fn outstanding(&self) -> Fen {
        Fen::new(
            self.lines
                .iter()
                .filter(|l| l.paid_entry.is_none())
                .map(|l| l.total().fen())
                .sum(),
        )
    }

    /// Lines that carry a notice (a base clamped to the floor or cap).
    pub fn notices(&self) -> impl Iterator<Item = &BillLineRow> {
        self.lines.iter().filter(|l| !l.notice.is_empty())
    }
}

/// One member-month of a bill: base and shares under the unit's ratios.
#[allow(clippy::too_many_arguments)] // the line's fields, all needed
fn line(
    bill_no: &str,
    line_no: i64,
    m: &MemberRow,
    month: YearMonth,
    base: Fen,
    notice: Option<BaseNotice>,
    ratios: (Rate, Rate),
    rule: &ContributionRule,
) -> Result<BillLineRow, AppError> {
    let c =
        monthly_contribution(base, ratios.0, ratios.1, rule).map_err(|e| rule_err("ratio", e))?;
    Ok(BillLineRow {
        bill_no: bill_no.to_owned(),
        line_no,
        account_no: m.account_no.clone(),
        name: m.name.clone(),
        month,
        base,
        unit_share: c.unit_share,
        member_share: c.member_share,
        notice: notice.map(|n| n.to_string()).unwrap_or_default(),
        paid_entry: None,
    })
}

/// The base for a member's line: the recorded base, brought within the month's floor and
/// cap with a notice when the bounds moved past it.
fn line_base(
    m: &MemberRow,
    rule: &ContributionRule,
) -> Result<(Fen, Option<BaseNotice>), AppError> {
    base_from_wage(m.base, rule).map_err(|e| rule_err("base", e))
}

pub(crate) fn next_bill_no(
    tx: &mut dyn StoreTx,
    centre: &str,
    kind: BillKind,
) -> Result<String, AppError> {
    let prefix = match kind {
        BillKind::Remittance => "HJ",
        BillKind::BackPayment => "BJ",
        BillKind::Voluntary => "ZY",
    };
    Ok(format!("{prefix}{:012}", tx.count_bills(centre)? + 1))
}

fn totals(bill: &mut BillRow, lines: &[BillLineRow]) {
    bill.total = Fen::new(lines.iter().map(|l| l.total().fen()).sum());
    bill.line_count = lines.len() as i64;
}

/// Whether a member on a unit's roster is billed for `month`: contributing (normal), opened
/// before the month (new starters pay from their second month, REG Art. 17), and not
/// already paid up to it.
fn billable(m: &MemberRow, month: YearMonth) -> bool {
    m.status == anju_domain::codes::PersonalAccountStatus::Normal
        && YearMonth::of(m.opened_on) < month
        && m.paid_to.is_none_or(|p| p < month)
}

/// Builds a unit's remittance bill for `month` from its roster (`existing` is the unit's
/// bill for the month, if it has one); the caller stores it.
#[allow(clippy::too_many_arguments)] // the bill's inputs
fn build_bill(
    existing: Option<&BillRow>,
    c: &CentreRow,
    policy: &Policy,
    calendar: &BusinessCalendar,
    unit: &UnitRow,
    month: YearMonth,
    roster: Vec<MemberRow>,
    bill_no: String,
    confirmed: bool,
) -> Result<Bill, AppError> {
    if !UnitStatus(unit.status).may_remit() {
        return Err(invalid(
            "unit_no",
            &unit.unit_no,
            format!("unit is {}; it cannot remit", unit.status.label_zh()),
        ));
    }
    if month > YearMonth::of(c.business_date) {
        return Err(invalid(
            "month",
            month.to_string(),
            format!(
                "is after the business month {}; a month is billed from its own payday",
                YearMonth::of(c.business_date)
            ),
        ));
    }
    if let Some(existing) = existing {
        return Err(invalid(
            "month",
            month.to_string(),
            format!(
                "unit {} already has remittance bill {} for this month ({}); adjust it instead",
                unit.unit_no,
                existing.bill_no,
                existing.status.label_zh()
            ),
        ));
    }
    let rule = contribution_rule(policy, month)?;
    let roster: Vec<MemberRow> = roster.into_iter().filter(|m| billable(m, month)).collect();
    if roster.is_empty() {
        return Err(invalid(
            "unit_no",
            &unit.unit_no,
            format!("no member of the unit is due to contribute for {month}"),
        ));
    }
    let mut lines = Vec::with_capacity(roster.len());
    for (i, m) in roster.iter().enumerate() {
        let (base, notice) = line_base(m, rule)?;
        lines.push(line(
            &bill_no,
            i as i64 + 1,
            m,
            month,
            base,
            notice,
            (unit.unit_ratio, unit.member_ratio),
            rule,
        )?);
    }
    let mut bill = BillRow {
        bill_no,
        payer: unit.unit_no.clone(),
        kind: BillKind::Remittance,
        month,
        status: if confirmed {
            BillStatus::Confirmed
        } else {
            BillStatus::Draft
        },
        total: Fen::ZERO,
        line_count: 0,
        bank_code: unit.bank_code.clone(),
        due_on: remittance_due(month, unit.payday, rule, calendar)
            .map_err(|e| rule_err("month", e))?,
        created_on: c.business_date,
        confirmed_on: confirmed.then_some(c.business_date),
        paid_on: None,
    };
    totals(&mut bill, &lines);
    Ok(Bill { bill, lines })
}

/// Generates a unit's remittance bill (汇缴清册) for `month` from its roster: every
/// contributing member with base × unit ratio and base × member ratio, each rounded as the
/// policy says; a base outside the month's floor or cap is brought within it with a notice
/// on the line. The bill starts as a draft the unit may adjust.
pub fn generate_bill(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    calendar: &BusinessCalendar,
    unit_no: &str,
    month: YearMonth,
) -> Result<Bill, AppError> {
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let unit = unit_of(tx.as_mut(), centre, unit_no)?;
    let roster = tx.members_of_unit(centre, unit_no)?;
    let bill_no = next_bill_no(tx.as_mut(), centre, BillKind::Remittance)?;
    let existing = tx.remittance_bill(centre, unit_no, month)?;
    let bill = build_bill(
        existing.as_ref(),
        &c,
        policy,
        calendar,
        &unit,
        month,
        roster,
        bill_no,
        false,
    )?;
    tx.insert_bill(centre, &bill.bill, &bill.lines)?;
    tx.commit()?;
    Ok(bill)
}

/// How a base is given when a unit adjusts a bill line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseInput {
    /// The member's average monthly wage: clamped to floor/cap with a notice.
    Wage(Fen),
    /// A base typed directly: must already lie within floor and cap.
    Base(Fen),
}

/// One adjustment of a draft bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillChange {
    /// Adds a member of the unit who is not on the bill, at their recorded base or the
    /// one given.
    Add {
        account_no: String,
        base: Option<BaseInput>,
    },
    /// Removes a member's line.
    Remove { account_no: String },
    /// Changes a member's base on this bill.
    SetBase { account_no: String, base: BaseInput },
}

fn resolve_base(
    input: BaseInput,
    rule: &ContributionRule,
) -> Result<(Fen, Option<BaseNotice>), AppError> {
    match input {
        BaseInput::Wage(w) => base_from_wage(w, rule).map_err(|e| rule_err("wage", e)),
        BaseInput::Base(b) => check_base(b, rule)
            .map(|b| (b, None))
            .map_err(|e| rule_err("base", e)),
    }
}

/// Applies a unit's adjustments to a draft bill (add or remove people, change bases within
/// the rules), all or nothing, and recomputes its lines and total.
pub fn adjust_bill(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    bill_no: &str,
    changes: &[BillChange],
) -> Result<Bill, AppError> {
    let mut tx = store.begin()?;
    lock(tx.as_mut(), centre)?;
    let mut bill = bill_of(tx.as_mut(), centre, bill_no)?;
    if bill.status != BillStatus::Draft {
        return Err(invalid(
            "bill_no",
            bill_no,
            format!(
                "bill is {}; only a draft bill can be adjusted",
                bill.status.label_zh()
            ),
        ));
    }
    if bill.kind != BillKind::Remittance {
        return Err(invalid(
            "bill_no",
            bill_no,
            "only remittance bills are adjusted line by line",
        ));
    }
    let unit = unit_of(tx.as_mut(), centre, &bill.payer)?;
    let rule = contribution_rule(policy, bill.month)?;
    let ratios = (unit.unit_ratio, unit.member_ratio);
    let mut lines = tx.bill_lines(centre, bill_no)?;
    for change in changes {
        match change {
            BillChange::Add { account_no, base } => {
                if lines.iter().any(|l| &l.account_no == account_no) {
                    return Err(invalid("account_no", account_no, "is already on the bill"));
                }
                let m = member_of(tx.as_mut(), centre, account_no)?;
                if m.unit_no.as_deref() != Some(unit.unit_no.as_str()) {
                    return Err(invalid(
                        "account_no",
                        account_no,
                        format!(
                            "is not a member of unit {} (hire or transfer the member first)",
                            unit.unit_no
                        ),
                    ));
                }
                ensure_may_receive(&m)?;
                if m.paid_to.is_some_and(|p| p >= bill.month) {
                    return Err(invalid(
                        "account_no",
                        account_no,
                        format!(
                            "is already paid up to {}",
                            m.paid_to.map(|p| p.to_string()).unwrap_or_default()
                        ),
                    ));
                }
                let (b, notice) = match base {
                    Some(input) => resolve_base(*input, rule)?,
                    None => line_base(&m, rule)?,
                };
                lines.push(line(bill_no, 0, &m, bill.month, b, notice, ratios, rule)?);
            }
            BillChange::Remove { account_no } => {
                let before = lines.len();
                lines.retain(|l| &l.account_no != account_no);
                if lines.len() == before {
                    return Err(invalid("account_no", account_no, "is not on the bill"));
                }
            }
            BillChange::SetBase { account_no, base } => {
                let Some(pos) = lines.iter().position(|l| &l.account_no == account_no) else {
                    return Err(invalid("account_no", account_no, "is not on the bill"));
                };
                let m = member_of(tx.as_mut(), centre, account_no)?;
                let (b, notice) = resolve_base(*base, rule)?;
                lines[pos] = line(bill_no, 0, &m, bill.month, b, notice, ratios, rule)?;
            }
        }
    }
    if lines.is_empty() {
        return Err(invalid(
            "bill_no",
            bill_no,
            "a bill must keep at least one line",
        ));
    }
    for (i, l) in lines.iter_mut().enumerate() {
        l.line_no = i as i64 + 1;
    }
    totals(&mut bill, &lines);
    tx.replace_bill_lines(centre, bill_no, &lines)?;
    tx.update_bill(centre, &bill)?;
    tx.commit()?;
    Ok(Bill { bill, lines })
}

/// The unit confirms a draft bill: its lines are fixed and it waits for the money.
pub fn confirm_bill(store: &dyn Store, centre: &str, bill_no: &str) -> Result<Bill, AppError> {
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let mut bill = bill_of(tx.as_mut(), centre, bill_no)?;
    if bill.status != BillStatus::Draft {
        return Err(invalid(
            "bill_no",
            bill_no,
            format!(
                "bill is {}; only a draft bill is confirmed",
                bill.status.label_zh()
            ),
        ));
    }
    bill.status = BillStatus::Confirmed;
    bill.confirmed_on = Some(c.business_date);
    tx.update_bill(centre, &bill)?;
    let lines = tx.bill_lines(centre, bill_no)?;
    tx.commit()?;
    Ok(Bill { bill, lines })
}

/// A bill with its lines.
pub fn bill(store: &dyn Store, centre: &str, bill_no: &str) -> Result<Bill, AppError> {
    let mut tx = store.begin_read()?;
    let bill = bill_of(tx.as_mut(), centre, bill_no)?;
    let lines = tx.bill_lines(centre, bill_no)?;
    Ok(Bill { bill, lines })
}

/// Money received for a bill: a bank's arrival notice (到账通知) or a counter payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The bill paid.
    pub bill_no: String,
    /// The bank's serial number or the counter voucher number: the idempotency key (the
    /// same notice twice posts once).
    pub receipt_key: String,
    /// Amount received.
    pub amount: Fen,
    /// Bank the money arrived at; the bill's bank when `None`.
    pub bank_code: Option<String>,
}

/// What a payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The bill is paid in full: one entry credited every member on it.
    Paid {
        /// The entry.
        posted: Posted,
        /// Money left over and held in suspense for the next bill.
        excess: Fen,
    },
    /// Not enough for the whole bill: held in the unit's suspense account.
    Held {
        /// The suspense entry.
        posted: Posted,
        /// Now held in suspense in all.
        held: Fen,
        /// Still owed on the bill.
        outstanding: Fen,
    },
    /// This receipt was recorded before: nothing new.
    Replayed {
        /// The receipt as first recorded.
        receipt: ReceiptRow,
    },
}

fn entry_key_for_receipt(receipt_key: &str) -> Result<String, AppError> {
    if receipt_key.is_empty()
        || receipt_key.len() > 100
        || !receipt_key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(invalid(
            "receipt_key",
            receipt_key,
            "must be 1-100 printable ASCII characters without spaces (the bank serial or voucher number)",
        ));
    }
    Ok(format!("rcpt:{receipt_key}"))
}

/// What a payment will post, decided before posting anything.
struct PlannedPayment {
    bill: BillRow,
    receipt: ReceiptRow,
    /// Full payment: what it settles; `None` for money held in suspense.
    settles: Option<Settled>,
    held_after: Fen,
    outstanding_after: Fen,
    excess: Fen,
}

/// The unpaid lines a full payment settles.
struct Settled {
    /// Their accounts, in line order (an account once per line).
    accounts: Vec<String>,
    /// Their months.
    months: std::collections::BTreeSet<YearMonth>,
}

/// Credits for the given lines — (account, line total) — one leg per member (a
/// back-payment has several months per member), in account order.
fn member_credits<'a>(
    lines: impl IntoIterator<Item = (&'a str, Fen)>,
) -> Result<Vec<Leg>, AppError> {
    let mut per: BTreeMap<&str, i64> = BTreeMap::new();
    for (account_no, total) in lines {
        *per.entry(account_no).or_default() += total.fen();
    }
    per.into_iter()
        .filter(|(_, fen)| *fen > 0)
        .map(|(a, fen)| Ok(Leg::credit(account("201", a)?, Fen::new(fen))))
        .collect()
}

fn memo_for(bill: &BillRow) -> String {
    format!("{} {} {}", bill.kind.label_zh(), bill.month, bill.bill_no)
}

/// What the payments of a batch need, read in bulk before planning.
struct PayContext {
    receipts: HashMap<String, ReceiptRow>,
    bills: HashMap<String, BillRow>,
    lines: HashMap<String, Vec<LineDue>>,
    /// The members on the lines who cannot receive money (closed or frozen); every other
    /// member on them may be credited.
    blocked: HashMap<String, MemberRow>,
    units: HashMap<String, UnitRow>,
    /// Held in each payer's suspense account, updated as payments are planned.
    held: HashMap<String, Fen>,
}

/// Above this many payers, whole tables are read once instead of per payer.
const BULK_PAYERS: usize = 16;

fn pay_context(
    tx: &mut dyn StoreTx,
    centre: &str,
    payments: &[Payment],
) -> Result<PayContext, AppError> {
    let keys: Vec<String> = payments.iter().map(|p| p.receipt_key.clone()).collect();
    let receipts: HashMap<String, ReceiptRow> = tx
        .receipts_by_keys(centre, &keys)?
        .into_iter()
        .map(|r| (r.receipt_key.clone(), r))
        .collect();
    let mut bill_nos: Vec<String> = payments.iter().map(|p| p.bill_no.clone()).collect();
    bill_nos.sort_unstable();
    bill_nos.dedup();
    let bills: HashMap<String, BillRow> = tx
        .bills_by_nos(centre, &bill_nos)?
        .into_iter()
        .map(|b| (b.bill_no.clone(), b))
        .collect();
    let lines: HashMap<String, Vec<LineDue>> = bill_nos
        .iter()
        .cloned()
        .zip(tx.lines_due(centre, &bill_nos)?)
        .collect();
    let mut payers: Vec<(&str, BillKind)> =
        bills.values().map(|b| (b.payer.as_str(), b.kind)).collect();
    payers.sort_unstable_by(|a, b| a.0.cmp(b.0));
    payers.dedup_by(|a, b| a.0 == b.0);
    let mut units: HashMap<String, UnitRow> = HashMap::new();
    let blocked: HashMap<String, MemberRow> = if payers.len() > BULK_PAYERS {
        // The whole centre: only the few accounts that cannot receive are read.
        units.extend(
            tx.units_all(centre)?
                .into_iter()
                .map(|u| (u.unit_no.clone(), u)),
        );
        tx.members_in_statuses(centre, &MemberStatus::statuses_not_receiving())?
            .into_iter()
            .map(|m| (m.account_no.clone(), m))
            .collect()
    } else {
        let mut members: HashMap<String, MemberRow> = HashMap::new();
        for (payer, kind) in &payers {
            if *kind == BillKind::Voluntary {
                continue;
            }
            members.extend(
                tx.members_of_unit(centre, payer)?
                    .into_iter()
                    .map(|m| (m.account_no.clone(), m)),
            );
            if let Some(u) = tx.unit(centre, payer)? {
                units.insert(u.unit_no.clone(), u);
            }
        }
        // Members on the lines who are not (or no longer) on a roster read above, e.g. a
        // flexible worker or someone transferred since the bill was made.
        let missing: Vec<String> = lines
            .values()
            .flatten()
            .filter(|l| !members.contains_key(&l.account_no))
            .map(|l| l.account_no.clone())
            .collect();
        for a in missing {
            if let std::collections::hash_map::Entry::Vacant(e) = members.entry(a) {
                let m = member_of(tx, centre, e.key())?;
                e.insert(m);
            }
        }
        members.retain(|_, m| !status_of(m).may_receive());
        members
    };
    let suspense: Vec<AccountNo> = payers
        .iter()
        .map(|(p, _)| account("213", p))
        .collect::<Result<_, _>>()?;
    let held = tx
        .load_accounts(centre, &suspense)?
        .into_iter()
        .filter_map(|a| a.no.sub_key().map(|k| (k.to_owned(), a.balance)))
        .collect();
    Ok(PayContext {
        receipts,
        bills,
        lines,
        blocked,
        units,
        held,
    })
}

fn plan_payment(
    ctx: &PayContext,
    c: &CentreRow,
    p: &Payment,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<Result<(PlannedPayment, EntryRequest), ReceiptRow>, AppError> {
    let key = entry_key_for_receipt(&p.receipt_key)?;
    if let Some(existing) = ctx.receipts.get(&p.receipt_key) {
        if existing.bill_no.as_deref() != Some(p.bill_no.as_str()) || existing.amount != p.amount {
            return Err(invalid(
                "receipt_key",
                &p.receipt_key,
                format!(
                    "was already recorded for {} on {} (amount {}); a different payment needs its own serial",
                    existing.bill_no.as_deref().unwrap_or("no bill"),
                    existing.received_on,
                    existing.amount
                ),
            ));
        }
        return Ok(Err(existing.clone()));
    }
    if p.amount.fen() <= 0 {
        return Err(invalid(
            "amount",
            p.amount.to_string(),
            "must be greater than zero",
        ));
    }
    let bill = ctx
        .bills
        .get(&p.bill_no)
        .cloned()
        .ok_or_else(|| AppError::NotFound {
            what: format!("bill {}", p.bill_no),
        })?;
    let held_now = ctx.held.get(&bill.payer).copied().unwrap_or(Fen::ZERO);
    match bill.status {
        BillStatus::Draft => {
            return Err(invalid(
                "bill_no",
                &p.bill_no,
                "bill is still a draft; the unit confirms it before paying",
            ));
        }
        BillStatus::Paid => {
            return Err(invalid(
                "bill_no",
                &p.bill_no,
                format!(
                    "bill was already paid in full on {}; a month is paid once",
                    bill.paid_on.map(|d| d.to_string()).unwrap_or_default()
                ),
            ));
        }
        BillStatus::Confirmed => {}
    }
    let bank_code = p
        .bank_code
        .clone()
        .unwrap_or_else(|| bill.bank_code.clone());
    let bank = account("101", &bank_code)?;
    let suspense = account("213", &bill.payer)?;
    let no_lines = Vec::new();
    let lines = ctx.lines.get(&p.bill_no).unwrap_or(&no_lines);
    let unpaid: Vec<&LineDue> = lines.iter().filter(|l| !l.paid).collect();
    let outstanding = Fen::new(unpaid.iter().map(|l| l.total.fen()).sum());
    if bill.kind == BillKind::Voluntary && p.amount != outstanding {
        return Err(invalid(
            "amount",
            p.amount.to_string(),
            format!("a voluntary contribution is paid in full: {outstanding}"),
        ));
    }
    let available = p.amount.fen() + held_now.fen();
    let receipt = ReceiptRow {
        receipt_key: p.receipt_key.clone(),
        payer: bill.payer.clone(),
        bill_no: Some(bill.bill_no.clone()),
        amount: p.amount,
        received_on: c.business_date,
        bank_code,
        entry_key: key.clone(),
        recorded_at_us: now.as_microsecond(),
    };
    if available < outstanding.fen() {
        let request = EntryRequest::posted(
            key,
            TxCode::Suspense,
            c.business_date,
            c.business_date,
            vec![Leg::debit(bank, p.amount), Leg::credit(suspense, p.amount)],
            format!("{}（部分缴款，暂收）", memo_for(&bill)),
            stamp.clone(),
        );
        let held_after = Fen::new(available);
        let plan = PlannedPayment {
            outstanding_after: Fen::new(outstanding.fen() - available),
            bill,
            receipt,
            settles: None,
            held_after,
            excess: Fen::ZERO,
        };
        return Ok(Ok((plan, request)));
    }
    // Every member credited must be able to receive money.
    for l in &unpaid {
        if let Some(m) = ctx.blocked.get(&l.account_no) {
            ensure_may_receive(m)?;
        }
    }
    let mut legs = vec![Leg::debit(bank, p.amount)];
    let excess = available - outstanding.fen();
    let from_suspense = outstanding.fen() - p.amount.fen();
    if from_suspense > 0 {
        legs.push(Leg::debit(suspense.clone(), Fen::new(from_suspense)));
    } else if from_suspense < 0 {
        legs.push(Leg::credit(suspense, Fen::new(-from_suspense)));
    }
    legs.extend(member_credits(
        unpaid.iter().map(|l| (l.account_no.as_str(), l.total)),
    )?);
    let request = EntryRequest::posted(
        key,
        bill.kind.tx_code(),
        c.business_date,
        c.business_date,
        legs,
        memo_for(&bill),
        stamp.clone(),
    );
    let settles = Settled {
        months: unpaid.iter().map(|l| l.month).collect(),
        accounts: unpaid.into_iter().map(|l| l.account_no.clone()).collect(),
    };
    let plan = PlannedPayment {
        bill,
        receipt,
        settles: Some(settles),
        held_after: Fen::new(excess),
        outstanding_after: Fen::ZERO,
        excess: Fen::new(excess),
    };
    Ok(Ok((plan, request)))
}

/// The balance held in a payer's suspense account.
fn held(tx: &mut dyn StoreTx, centre: &str, payer: &str) -> Result<Fen, AppError> {
    let no = account("213", payer)?;
    Ok(tx
        .load_accounts(centre, &[no])?
        .pop()
        .map_or(Fen::ZERO, |a| a.balance))
}

/// After some lines of a bill were paid by `entry_key` (held money assigned by the unit):
/// moves the members' 缴至年月 and, if nothing is left unpaid, marks the bill paid (and a
/// unit's first payment).
fn after_lines_paid(
    tx: &mut dyn StoreTx,
    c: &CentreRow,
    bill: &mut BillRow,
    settled: &[BillLineRow],
    entry_key: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<(), AppError> {
    let centre = c.code.as_str();
    let months: std::collections::BTreeSet<YearMonth> = settled.iter().map(|l| l.month).collect();
    if bill.kind == BillKind::Voluntary {
        // A flexible worker's own months: 缴至年月 is the last month paid (stopped
        // months are not owed, so they are no gap).
        if let Some(last) = months.iter().next_back() {
            tx.set_paid_to(centre, &bill.payer, Some(*last))?;
        }
    } else if months.len() == 1 && bill.kind != BillKind::BackPayment {
        for m in months {
            tx.advance_paid_to(centre, &bill.bill_no, entry_key, m)?;
        }
    } else {
        // Back-payments fill gaps: recompute from every paid month of each member.
        let accounts: std::collections::BTreeSet<&str> =
            settled.iter().map(|l| l.account_no.as_str()).collect();
        for a in accounts {
            recompute_paid_to(tx, centre, a)?;
        }
    }
    let left = tx
        .bill_lines(centre, &bill.bill_no)?
        .iter()
        .any(|l| l.paid_entry.is_none());
    if !left {
        bill.status = BillStatus::Paid;
        bill.paid_on = Some(c.business_date);
        tx.update_bill(centre, bill)?;
        if bill.kind != BillKind::Voluntary {
            first_payment(tx, c, &bill.payer, stamp, now)?;
        }
    }
    Ok(())
}

/// A unit that was only opened becomes normal with its first paid bill (event 01).
fn first_payment(
    tx: &mut dyn StoreTx,
    c: &CentreRow,
    unit_no: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<(), AppError> {
    let mut unit = unit_of(tx, &c.code, unit_no)?;
    if unit.status != anju_domain::codes::UnitAccountStatus::Opened {
        return Ok(());
    }
    let (after, change) = UnitStatus(unit.status)
        .first_payment(c.business_date)
        .map_err(|e| rule_err("unit", e))?;
    unit.status = after.0;
    tx.update_unit(&c.code, &unit)?;
    crate::registry::record_event(
        tx,
        &c.code,
        &format!("unit:{}", unit.unit_no),
        &change,
        stamp,
        now,
    )
}

/// Sets a member's 缴至年月 to the end of the first unbroken run of paid months.
fn recompute_paid_to(tx: &mut dyn StoreTx, centre: &str, account_no: &str) -> Result<(), AppError> {
    let months = tx.paid_months(centre, account_no)?;
    let mut paid_to: Option<YearMonth> = None;
    for m in months {
        match paid_to {
            None => paid_to = Some(m),
            Some(p) if p.plus(1) == Some(m) => paid_to = Some(m),
            Some(_) => break,
        }
    }
    tx.set_paid_to(centre, account_no, paid_to)?;
    Ok(())
}

/// Records payments inside `tx`: each in full (one entry crediting every unpaid line) or
/// held in suspense. All requests go through one posting call.
pub fn pay_bills_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    payments: &[Payment],
    stamp: &Stamp,
    now: Timestamp,
) -> Result<Vec<PaymentOutcome>, AppError> {
    let t0 = std::time::Instant::now();
    let c = lock(tx, centre)?;
    let mut ctx = pay_context(tx, centre, payments)?;
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "pay: read");
    let mut plans: Vec<Result<PlannedPayment, ReceiptRow>> = Vec::with_capacity(payments.len());
    let mut requests: Vec<EntryRequest> = Vec::with_capacity(payments.len());
    let mut seen_bills = std::collections::HashSet::new();
    for p in payments {
        let plan = match plan_payment(&ctx, &c, p, stamp, now)? {
            Ok((pl, request)) => {
                if !seen_bills.insert(p.bill_no.as_str()) {
                    return Err(invalid("bill_no", &p.bill_no, "is paid twice in one batch"));
                }
                ctx.held.insert(pl.bill.payer.clone(), pl.held_after);
                requests.push(request);
                Ok(pl)
            }
            Err(receipt) => Err(receipt),
        };
        plans.push(plan);
    }
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "pay: planned");
    // What each payment comes to, apart from its entry; and what is written beside the
    // posting: receipts, bills and 缴至年月 (after the bulk record: 缴至年月 of
    // back-payments and voluntary months, and units' first payments).
    enum Outcome {
        Replayed(ReceiptRow),
        Paid { excess: Fen },
        Held { held: Fen, outstanding: Fen },
    }
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(plans.len());
    let mut full: Vec<FullPayment> = Vec::new();
    let mut held_receipts: Vec<ReceiptRow> = Vec::new();
    let mut recompute: Vec<String> = Vec::new();
    let mut voluntary_to: Vec<(String, YearMonth)> = Vec::new();
    let mut first_payers: Vec<String> = Vec::new();
    for plan in plans {
        let mut pl = match plan {
            Err(receipt) => {
                outcomes.push(Outcome::Replayed(receipt));
                continue;
            }
            Ok(pl) => pl,
        };
        let Some(Settled { accounts, months }) = pl.settles.take() else {
            held_receipts.push(pl.receipt);
            outcomes.push(Outcome::Held {
                held: pl.held_after,
                outstanding: pl.outstanding_after,
            });
            continue;
        };
        let advance = match pl.bill.kind {
            BillKind::Remittance if months.len() == 1 => months.iter().next().copied(),
            BillKind::Voluntary => {
                if let Some(last) = months.iter().next_back() {
                    voluntary_to.push((pl.bill.payer.clone(), *last));
                }
                None
            }
            _ => {
                recompute.extend(accounts.iter().cloned());
                None
            }
        };
        if pl.bill.kind != BillKind::Voluntary
            && ctx
                .units
                .get(&pl.bill.payer)
                .is_some_and(|u| u.status == anju_domain::codes::UnitAccountStatus::Opened)
        {
            first_payers.push(pl.bill.payer.clone());
        }
        pl.bill.status = BillStatus::Paid;
        pl.bill.paid_on = Some(c.business_date);
        full.push(FullPayment {
            receipt: pl.receipt,
            bill: pl.bill,
            advance,
            accounts,
        });
        outcomes.push(Outcome::Paid { excess: pl.excess });
    }
    drop(ctx);
    recompute.sort_unstable();
    recompute.dedup();
    first_payers.sort_unstable();
    first_payers.dedup();
    // None of it is the ledger: written while the engine works on the entries.
    let mut record = |tx: &mut dyn StoreTx| -> Result<(), AppError> {
        tx.record_full_payments(centre, &full)?;
        for r in &held_receipts {
            tx.insert_receipt(centre, r)?;
        }
        for (account_no, month) in &voluntary_to {
            tx.set_paid_to(centre, account_no, Some(*month))?;
        }
        for a in &recompute {
            recompute_paid_to(tx, centre, a)?;
        }
        for payer in &first_payers {
            first_payment(tx, &c, payer, stamp, now)?;
        }
        tracing::debug!(ms = t0.elapsed().as_millis() as u64, "pay: recorded");
        Ok(())
    };
    let mut posted =
        post_in_meanwhile(tx, centre, requests, now, &mut |_| Ok(()), &mut record)?.into_iter();
    let mut out = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        let mut entry = || {
            posted.next().ok_or_else(|| AppError::NotFound {
                what: "posted payment".to_owned(),
            })
        };
        out.push(match o {
            Outcome::Replayed(receipt) => PaymentOutcome::Replayed { receipt },
            Outcome::Paid { excess } => PaymentOutcome::Paid {
                posted: entry()?,
                excess,
            },
            Outcome::Held { held, outstanding } => PaymentOutcome::Held {
                posted: entry()?,
                held,
                outstanding,
            },
        });
    }
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "pay: posted");
    Ok(out)
}

/// Records one payment for a bill (see [`pay_bills_in`]).
pub fn pay_bill(
    store: &dyn Store,
    centre: &str,
    payment: Payment,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<PaymentOutcome, AppError> {
    let mut tx = store.begin()?;
    let mut out = pay_bills_in(
        tx.as_mut(),
        centre,
        std::slice::from_ref(&payment),
        stamp,
        now,
    )?;
    tx.commit()?;
    out.pop().ok_or_else(|| AppError::NotFound {
        what: "payment outcome".to_owned(),
    })
}

/// The unit says which members the money held in suspense covers: their unpaid lines on
/// the bill are paid from suspense in one entry (key `key`, idempotent).
pub fn allocate_suspense(
    store: &dyn Store,
    centre: &str,
    bill_no: &str,
    account_nos: &[String],
    key: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<Posted, AppError> {
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let entry_key = format!("alloc:{key}");
    if let Some(e) = tx
        .entries_by_keys(centre, std::slice::from_ref(&entry_key))?
        .pop()
    {
        return Ok(Posted {
            entry: e,
            replayed: true,
        });
    }
    let mut bill = bill_of(tx.as_mut(), centre, bill_no)?;
    if bill.status != BillStatus::Confirmed {
        return Err(invalid(
            "bill_no",
            bill_no,
            format!(
                "bill is {}; only a confirmed, unpaid bill takes held money",
                bill.status.label_zh()
            ),
        ));
    }
    if account_nos.is_empty() {
        return Err(invalid("account_nos", "", "name at least one member"));
    }
    let lines = tx.bill_lines(centre, bill_no)?;
    let mut chosen: Vec<&BillLineRow> = Vec::new();
    for a in account_nos {
        let mine: Vec<&BillLineRow> = lines
            .iter()
            .filter(|l| &l.account_no == a && l.paid_entry.is_none())
            .collect();
        if mine.is_empty() {
            return Err(invalid("account_nos", a, "has no unpaid line on the bill"));
        }
        let m = member_of(tx.as_mut(), centre, a)?;
        ensure_may_receive(&m)?;
        chosen.extend(mine);
    }
    let sum = Fen::new(chosen.iter().map(|l| l.total().fen()).sum());
    let held_now = held(tx.as_mut(), centre, &bill.payer)?;
    if sum > held_now {
        return Err(invalid(
            "account_nos",
            account_nos.join(","),
            format!("their lines come to {sum} but only {held_now} is held in suspense"),
        ));
    }
    let mut legs = vec![Leg::debit(account("213", &bill.payer)?, sum)];
    legs.extend(member_credits(
        chosen.iter().map(|l| (l.account_no.as_str(), l.total())),
    )?);
    let req = EntryRequest::posted(
        entry_key.clone(),
        bill.kind.tx_code(),
        c.business_date,
        c.business_date,
        legs,
        format!("{}（暂收款分配）", memo_for(&bill)),
        stamp.clone(),
    );
    let posted = post_in(tx.as_mut(), centre, vec![req], now)?
        .pop()
        .ok_or_else(|| AppError::NotFound {
            what: "posted allocation".to_owned(),
        })?;
    let line_nos: Vec<i64> = chosen.iter().map(|l| l.line_no).collect();
    let settled: Vec<BillLineRow> = chosen.into_iter().cloned().collect();
    tx.mark_lines_paid(centre, bill_no, &line_nos, &entry_key)?;
    after_lines_paid(tx.as_mut(), &c, &mut bill, &settled, &entry_key, stamp, now)?;
    tx.commit()?;
    Ok(posted)
}

/// Corrects a wrong payment by reversal (冲正): the entry that paid lines of the bill is
/// reversed with its original value date (积数 corrected from that day), the lines become
/// unpaid, the members' 缴至年月 go back, and the bill returns to draft so the unit can fix
/// and confirm it again. The money goes back out of the fund account as the original came
/// in; the refund instruction to the bank is the settlement layer's.
///
/// **Across a year-end settlement.** When the value date lies in an interest year
/// already settled, that year's interest was paid on 积数 that counted the reversed
/// money. The reversal then also takes that interest back: a 结息调整 entry
/// (`TxCode::InterestCorrection`, Dr each member Cr `501`, key `rev:<entry>:interest`,
/// value date = the current period's first day) posted with the reversal in one
/// `post_in`, the amounts from [`crate::interest::reversal_corrections_in`] (the
/// settled year's rate periods and day-count basis from `policy`, half-up to the fen).
/// The members' current 积数 loses the money and that interest from the current
/// period's first day. A member whose available balance cannot bear the money and the
/// interest is refused by name, and nothing is written.
///
/// Only through maker-checker (`access::checked`): one clerk proposes, an approver
/// confirms, and the reversal runs in the confirmation's transaction.
#[allow(clippy::too_many_arguments)] // one use case: where, who, what and when
pub(crate) fn correct_payment_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    policy: Option<&Policy>,
    bill_no: &str,
    entry_key: &str,
    reason: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<Vec<Posted>, AppError> {
    let c = lock(tx, centre)?;
    let mut bill = bill_of(tx, centre, bill_no)?;
    let lines = tx.bill_lines(centre, bill_no)?;
    let affected: Vec<String> = lines
        .iter()
        .filter(|l| l.paid_entry.as_deref() == Some(entry_key))
        .map(|l| l.account_no.clone())
        .collect();
    if affected.is_empty() {
        return Err(invalid(
            "entry_key",
            entry_key,
            format!("paid no line of bill {bill_no}"),
        ));
    }
    let original = tx
        .entries_by_keys(centre, &[entry_key.to_owned()])?
        .pop()
        .ok_or_else(|| AppError::NotFound {
            what: format!("entry {entry_key}"),
        })?;
    let corrections =
        crate::interest::reversal_corrections_in(tx, centre, policy, &original.entry)?;
    // Every member credited must bear the money and the interest it earned.
    for leg in &original.entry.legs {
        if leg.account.code() != "201" || leg.account.is_control() || leg.signed_delta() <= 0 {
            continue;
        }
        let st = tx
            .load_accounts(centre, std::slice::from_ref(&leg.account))?
            .pop()
            .ok_or_else(|| AppError::NotFound {
                what: format!("ledger account {}", leg.account),
            })?;
        let interest = corrections
            .iter()
            .find(|c| c.account == leg.account)
            .map_or(Fen::ZERO, |c| c.total);
        let needed = Fen::new(leg.amount.fen() + interest.fen());
        let available = Fen::new(st.balance.fen() - st.pending_out.fen());
        if needed > available {
            return Err(invalid(
                "entry_key",
                entry_key,
                format!(
                    "account {} cannot bear the reversal: it must give back {} and {interest} yuan of interest its settled year(s) paid on it, {needed} in all, but only {available} is available; reverse it after the member's account holds enough, or correct the bill by a new payment",
                    leg.account, leg.amount
                ),
            ));
        }
    }
    let mut reqs = vec![EntryRequest::reversal(
        format!("rev:{entry_key}"),
        entry_key,
        c.business_date,
        format!("冲正 {} {reason}", bill.bill_no),
        stamp.clone(),
    )];
    let charged: Vec<&crate::interest::ReversalCorrection> = corrections
        .iter()
        .filter(|c| c.total.is_positive())
        .collect();
    if let Some(first) = charged.first() {
        let start = first.period_start;
        if charged.iter().any(|c| c.period_start != start) {
            return Err(invalid(
                "entry_key",
                entry_key,
                "the members it paid are in different interest periods; reverse it member by member",
            ));
        }
        let total = Fen::new(charged.iter().map(|c| c.total.fen()).sum());
        let mut legs: Vec<Leg> = charged
            .iter()
            .map(|c| Leg::debit(c.account.clone(), c.total))
            .collect();
        let expense =
            AccountNo::parse("501").map_err(|e| invalid("account_no", "501", e.to_string()))?;
        legs.push(Leg::credit(expense, total));
        let years: Vec<String> = {
            let mut ys: Vec<i16> = charged
                .iter()
                .flat_map(|c| c.years.iter().map(|(y, _)| *y))
                .collect();
            ys.sort_unstable();
            ys.dedup();
            ys.iter().map(|y| format!("{y}年度")).collect()
        };
        reqs.push(EntryRequest::posted(
            format!("rev:{entry_key}:interest"),
            TxCode::InterestCorrection,
            c.business_date,
            start,
            legs,
            format!(
                "冲正 {} 结息调整：已结{}利息中冲正款项的利息",
                bill.bill_no,
                years.join("、")
            ),
            stamp.clone(),
        ));
    }
    let posted = post_in(tx, centre, reqs, now)?;
    tx.unmark_lines_paid(centre, bill_no, entry_key)?;
    let mut seen = std::collections::BTreeSet::new();
    for a in &affected {
        if seen.insert(a.as_str()) {
            recompute_paid_to(tx, centre, a)?;
        }
    }
    bill.status = BillStatus::Draft;
    bill.confirmed_on = None;
    bill.paid_on = None;
    tx.update_bill(centre, &bill)?;
    Ok(posted)
}

/// One row of the arrears list (欠缴清单) for staff to follow up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrear {
    /// The overdue bill.
    pub bill: BillRow,
    /// The payer's name (unit name or member name).
    pub payer_name: String,
    /// Still owed on the bill.
    pub outstanding: Fen,
    /// Held in the payer's suspense account.
    pub held: Fen,
    /// Working days past the due date.
    pub overdue_days: i64,
    /// Reminders sent so far.
    pub reminders: usize,
}

/// Bills past their due date and not fully paid, on the business date.
pub fn arrears(
    store: &dyn Store,
    centre: &str,
    calendar: &BusinessCalendar,
) -> Result<Vec<Arrear>, AppError> {
    let mut tx = store.begin_read()?;
    let c = tx.centre(centre)?.ok_or_else(|| AppError::NotFound {
        what: format!("centre {centre}"),
    })?;
    arrears_in(tx.as_mut(), &c, calendar)
}

fn arrears_in(
    tx: &mut dyn StoreTx,
    c: &CentreRow,
    calendar: &BusinessCalendar,
) -> Result<Vec<Arrear>, AppError> {
    let centre = c.code.as_str();
    let mut out = Vec::new();
    for bill in tx.unpaid_bills_due_before(centre, c.business_date)? {
        let lines = tx.bill_lines(centre, &bill.bill_no)?;
        let outstanding = Fen::new(
            lines
                .iter()
                .filter(|l| l.paid_entry.is_none())
                .map(|l| l.total().fen())
                .sum(),
        );
        let payer_name = match bill.kind {
            BillKind::Voluntary => tx.member(centre, &bill.payer)?.map(|m| m.name),
            _ => tx.unit(centre, &bill.payer)?.map(|u| u.name),
        }
        .unwrap_or_default();
        let overdue_days = calendar
            .working_days_between(bill.due_on, c.business_date)
            .map_err(|e| invalid("business_date", c.business_date.to_string(), e.to_string()))?;
        out.push(Arrear {
            held: held(tx, centre, &bill.payer)?,
            reminders: tx.reminders(centre, &bill.bill_no)?.len(),
            payer_name,
            outstanding,
            overdue_days,
            bill,
        });
    }
    Ok(out)
}

/// Sends a reminder (催缴通知) for every bill in arrears that was not reminded today, and
/// returns them. Running it twice on a day reminds once.
pub fn send_reminders(
    store: &dyn Store,
    centre: &str,
    calendar: &BusinessCalendar,
) -> Result<Vec<ReminderRow>, AppError> {
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let mut sent = Vec::new();
    for a in arrears_in(tx.as_mut(), &c, calendar)? {
        let already = tx
            .reminders(centre, &a.bill.bill_no)?
            .iter()
            .any(|r| r.sent_on == c.business_date);
        if already {
            continue;
        }
        let r = ReminderRow {
            bill_no: a.bill.bill_no.clone(),
            sent_on: c.business_date,
            overdue_days: a.overdue_days,
            amount_due: Fen::new(a.outstanding.fen() - a.held.fen().min(a.outstanding.fen())),
        };
        tx.insert_reminder(centre, &r)?;
        sent.push(r);
    }
    tx.commit()?;
    Ok(sent)
}

/// One member's missed months in a back-payment list (补缴清册).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackPayLine {
    /// Personal account.
    pub account_no: String,
    /// First month (inclusive).
    pub from: YearMonth,
    /// Last month (inclusive).
    pub to: YearMonth,
    /// Base for those months (a wage, clamped; or a base within bounds).
    pub base: BaseInput,
}

/// Creates a confirmed back-payment bill (补缴) for missed months of a unit's members:
/// each month must be before the business month, on or after the member's opening month,
/// and not already paid; the months it covers are on its lines.
pub fn back_payment_bill(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    calendar: &BusinessCalendar,
    unit_no: &str,
    lines_in: &[BackPayLine],
) -> Result<Bill, AppError> {
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let unit = unit_of(tx.as_mut(), centre, unit_no)?;
    if !UnitStatus(unit.status).may_remit() {
        return Err(invalid(
            "unit_no",
            unit_no,
            format!("unit is {}; it cannot remit", unit.status.label_zh()),
        ));
    }
    if lines_in.is_empty() {
        return Err(invalid(
            "lines",
            "",
            "a back-payment needs at least one member and month",
        ));
    }
    let current = YearMonth::of(c.business_date);
    let bill_no = next_bill_no(tx.as_mut(), centre, BillKind::BackPayment)?;
    let mut lines = Vec::new();
    let mut first: Option<YearMonth> = None;
    for bl in lines_in {
        let m = member_of(tx.as_mut(), centre, &bl.account_no)?;
        if m.unit_no.as_deref() != Some(unit_no) {
            return Err(invalid(
                "account_no",
                &bl.account_no,
                format!("is not a member of unit {unit_no}"),
            ));
        }
        ensure_may_receive(&m)?;
        if bl.from > bl.to || bl.to >= current || bl.from.months_until(bl.to) >= 60 {
            return Err(invalid(
                "months",
                format!("{}..{}", bl.from, bl.to),
                format!(
                    "must be a range of at most 60 months, from ≤ to, before the business month {current}"
                ),
            ));
        }
        if bl.from < YearMonth::of(m.opened_on) {
            return Err(invalid(
                "months",
                bl.from.to_string(),
                format!("is before the account was opened ({})", m.opened_on),
            ));
        }
        let paid = tx.paid_months(centre, &m.account_no)?;
        let mut month = bl.from;
        loop {
            if paid.contains(&month)
                || lines
                    .iter()
                    .any(|l: &BillLineRow| l.account_no == m.account_no && l.month == month)
            {
                return Err(invalid(
                    "months",
                    month.to_string(),
                    format!("{} is already paid for {}", month, m.account_no),
                ));
            }
            let rule = contribution_rule(policy, month)?;
            let (base, notice) = resolve_base(bl.base, rule)?;
            lines.push(line(
                &bill_no,
                lines.len() as i64 + 1,
                &m,
                month,
                base,
                notice,
                (unit.unit_ratio, unit.member_ratio),
                rule,
            )?);
            first = Some(first.map_or(month, |f| f.min(month)));
            if month == bl.to {
                break;
            }
            month = month
                .plus(1)
                .ok_or_else(|| invalid("months", month.to_string(), "out of range"))?;
        }
    }
    let rule = contribution_rule(policy, current)?;
    let mut bill = BillRow {
        bill_no,
        payer: unit.unit_no.clone(),
        kind: BillKind::BackPayment,
        month: first.unwrap_or(current),
        status: BillStatus::Confirmed,
        total: Fen::ZERO,
        line_count: 0,
        bank_code: unit.bank_code.clone(),
        due_on: calendar
            .add_working_days(c.business_date, rule.payment_deadline_days_after_payday)
            .map_err(|e| invalid("business_date", c.business_date.to_string(), e.to_string()))?,
        created_on: c.business_date,
        confirmed_on: Some(c.business_date),
        paid_on: None,
    };
    totals(&mut bill, &lines);
    tx.insert_bill(centre, &bill, &lines)?;
    tx.commit()?;
    Ok(Bill { bill, lines })
}

/// Bills per chunk handed from the building thread to the storing one in [`generate_month`].
const GENERATE_CHUNK: usize = 256;

/// Generates, for every unit that may remit and has members due, the remittance bill of
/// `month` that it does not have yet, and confirms it: the monthly batch (`anju remit`).
/// Units with nobody due are skipped. Returns the bills made.
pub fn generate_month(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    calendar: &BusinessCalendar,
    month: YearMonth,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Bill>, AppError> {
    let t0 = std::time::Instant::now();
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let units = tx.units_all(centre)?;
    let billed: std::collections::HashSet<String> = tx
        .remittance_bills_of_month(centre, month)?
        .into_iter()
        .map(|b| b.payer)
        .collect();
    let total = units.len();
    let first_no = tx.count_bills(centre)? + 1;
    // Bills are built on a second thread while this one stores the chunks already built:
    // reading the rosters and building (the second thread, on the store's snapshot
    // reader) overlap with writing (this one). The snapshot is this transaction's: it
    // holds the centre's write lock, so nothing commits between its start and the
    // reader's, and it writes no members or units. Numbers and order are as if built in
    // one loop; a failure on either side stops both and nothing is committed.
    let (send, chunks) =
        std::sync::mpsc::sync_channel::<(usize, Vec<(BillRow, Vec<BillLineRow>)>)>(2);
    let mut made: Vec<(BillRow, Vec<BillLineRow>)> = Vec::new();
    let c = &c;
    std::thread::scope(|scope| -> Result<(), AppError> {
        let builder = scope.spawn(move || -> Result<(), AppError> {
            let mut next = first_no;
            let mut chunk = Vec::with_capacity(GENERATE_CHUNK);
            let mut failed: Option<AppError> = None;
            // Units and rosters both come by unit number: a merge.
            let mut pending = units.iter().enumerate().peekable();
            let mut roster: Vec<MemberRow> = Vec::new();
            let mut flush = |roster: Vec<MemberRow>| -> Result<bool, AppError> {
                let Some(unit_no) = roster.first().and_then(|m| m.unit_no.clone()) else {
                    return Ok(true);
                };
                while pending.next_if(|(_, u)| u.unit_no < unit_no).is_some() {}
                let Some((i, unit)) = pending.next_if(|(_, u)| u.unit_no == unit_no) else {
                    return Ok(true); // members of a unit not in the list: not billed
                };
                if !UnitStatus(unit.status).may_remit()
                    || billed.contains(&unit.unit_no)
                    || !roster.iter().any(|m| billable(m, month))
                {
                    return Ok(true);
                }
                let bill_no = format!("HJ{next:012}");
                next += 1;
                let bill = build_bill(
                    None, c, policy, calendar, unit, month, roster, bill_no, true,
                )?;
                chunk.push((bill.bill, bill.lines));
                if chunk.len() == GENERATE_CHUNK {
                    // An error means the storing side stopped: its error is reported.
                    return Ok(send.send((i + 1, std::mem::take(&mut chunk))).is_ok());
                }
                Ok(true)
            };
            let mut rtx = store.begin_read()?;
            rtx.each_member_with_unit(centre, &mut |m| {
                if roster.first().is_some_and(|r| r.unit_no != m.unit_no) {
                    match flush(std::mem::take(&mut roster)) {
                        Ok(true) => {}
                        Ok(false) => return false,
                        Err(e) => {
                            failed = Some(e);
                            return false;
                        }
                    }
                }
                roster.push(m);
                true
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            if flush(roster)? {
                let _ = send.send((total, chunk));
            }
            Ok(())
        });
        let mut stored = Ok(());
        for (done, chunk) in chunks {
            progress(done, total);
            if let Err(e) = tx.insert_bills(centre, &chunk) {
                stored = Err(AppError::from(e));
                break; // drops the receiver: the builder stops at its next chunk
            }
            made.extend(chunk);
        }
        let built = builder.join().map_err(|_| AppError::Invalid {
            field: "month",
            value: month.to_string(),
            rule: "building the bills failed (worker panicked)".to_owned(),
        })?;
        built?;
        stored
    })?;
    progress(total, total);
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        bills = made.len(),
        "remit: built and stored"
    );
    tx.commit()?;
    Ok(made
        .into_iter()
        .map(|(bill, lines)| Bill { bill, lines })
        .collect())
}

/// A flexible worker's contribution bill (灵活就业缴存) for `months` months from `from`,
/// by default the next unpaid month (the month after 缴至年月, or the opening month), paid
/// monthly or up to 12 months in advance; each month is base × the chosen combined ratio.
/// The bill is confirmed and is paid in full at once (`pay_bill`, or the bank's notice of
/// money that names the bill).
pub fn voluntary_bill(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    account_no: &str,
    from: Option<YearMonth>,
    months: u32,
    bank_code: &str,
) -> Result<Bill, AppError> {
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let m = member_of(tx.as_mut(), centre, account_no)?;
    let Some(ratio) = m.flexible_ratio else {
        return Err(invalid(
            "account_no",
            account_no,
            "is not a flexible-employment account; its unit remits for it",
        ));
    };
    if m.status != anju_domain::codes::PersonalAccountStatus::Normal {
        return Err(invalid(
            "account_no",
            account_no,
            format!(
                "account is {}; resume it before paying",
                m.status.label_zh()
            ),
        ));
    }
    let current = YearMonth::of(c.business_date);
    let earliest = match m.paid_to {
        Some(p) => p.plus(1).ok_or_else(|| {
            invalid(
                "account_no",
                account_no,
                format!("缴至年月 {p} is the last month"),
            )
        })?,
        None => YearMonth::of(m.opened_on),
    };
    let from = from.unwrap_or(earliest);
    // Months while the account was stopped are not owed: after resuming, a flexible
    // worker pays from any month after 缴至年月 up to the current one. Paid ahead, the
    // next bill starts right after 缴至年月 (never leaving a gap in advance).
    let latest = earliest.max(current);
    if from < earliest || from > latest {
        return Err(invalid(
            "from",
            from.to_string(),
            format!(
                "must be from {earliest} (the month after 缴至年月 {}) to {latest}",
                m.paid_to.map_or("—".to_owned(), |p| p.to_string())
            ),
        ));
    }
    if months == 0 || months > 12 {
        return Err(invalid(
            "months",
            months.to_string(),
            "pay 1 to 12 months at a time",
        ));
    }
    let bank = account("101", bank_code)?;
    if tx.load_accounts(centre, &[bank])?.is_empty() {
        return Err(invalid(
            "bank_code",
            bank_code,
            "is not a commissioned bank of this centre",
        ));
    }
    let bill_no = next_bill_no(tx.as_mut(), centre, BillKind::Voluntary)?;
    let mut lines = Vec::new();
    let mut month = from;
    for i in 0..months {
        if month.months_until(current) < -11 {
            return Err(invalid(
                "months",
                months.to_string(),
                "at most 12 months ahead of the business month",
            ));
        }
        let rule = contribution_rule(policy, month)?;
        let (base, notice) = line_base(&m, rule)?;
        let share = base
            .mul_rate(ratio, rule.rounding)
            .map_err(|e| invalid("base", base.to_string(), e.to_string()))?;
        lines.push(BillLineRow {
            bill_no: bill_no.clone(),
            line_no: i64::from(i) + 1,
            account_no: m.account_no.clone(),
            name: m.name.clone(),
            month,
            base,
            unit_share: Fen::ZERO,
            member_share: share,
            notice: notice.map(|n| n.to_string()).unwrap_or_default(),
            paid_entry: None,
        });
        month = month
            .plus(1)
            .ok_or_else(|| invalid("months", months.to_string(), "out of range"))?;
    }
    let mut bill = BillRow {
        bill_no,
        payer: m.account_no.clone(),
        kind: BillKind::Voluntary,
        month: from,
        status: BillStatus::Confirmed,
        total: Fen::ZERO,
        line_count: 0,
        bank_code: bank_code.to_owned(),
        due_on: c.business_date,
        created_on: c.business_date,
        confirmed_on: Some(c.business_date),
        paid_on: None,
    };
    totals(&mut bill, &lines);
    tx.insert_bill(centre, &bill, &lines)?;
    tx.commit()?;
    Ok(Bill { bill, lines })
}

/// A unit with members due for a month whose bill was never made (未生成清册): missing
/// payment, shown beside the unpaid bills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingBill {
    /// The unit.
    pub unit_no: String,
    /// Its name.
    pub unit_name: String,
    /// The month.
    pub month: YearMonth,
    /// When it was due.
    pub due_on: Date,
    /// Members due for the month.
    pub members_due: usize,
}

/// Units that may remit, have members due for a month whose due date has passed (the
/// business month or the one before) and have no bill for it.
pub fn missing_bills(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    calendar: &BusinessCalendar,
) -> Result<Vec<MissingBill>, AppError> {
    let mut tx = store.begin_read()?;
    let c = tx.centre(centre)?.ok_or_else(|| AppError::NotFound {
        what: format!("centre {centre}"),
    })?;
    let units = tx.units_all(centre)?;
    let mut rosters: HashMap<String, Vec<MemberRow>> = HashMap::new();
    for m in tx.members_with_unit(centre)? {
        if let Some(u) = m.unit_no.clone() {
            rosters.entry(u).or_default().push(m);
        }
    }
    let current = YearMonth::of(c.business_date);
    let mut out = Vec::new();
    for month in [current.plus(-1), Some(current)].into_iter().flatten() {
        let rule = contribution_rule(policy, month)?;
        let billed: std::collections::HashSet<String> = tx
            .remittance_bills_of_month(centre, month)?
            .into_iter()
            .map(|b| b.payer)
            .collect();
        for u in &units {
            if !UnitStatus(u.status).may_remit() || billed.contains(&u.unit_no) {
                continue;
            }
            let due = remittance_due(month, u.payday, rule, calendar)
                .map_err(|e| rule_err("month", e))?;
            if due >= c.business_date {
                continue;
            }
            let members_due = rosters
                .get(&u.unit_no)
                .map_or(0, |r| r.iter().filter(|m| billable(m, month)).count());
            if members_due > 0 {
                out.push(MissingBill {
                    unit_no: u.unit_no.clone(),
                    unit_name: u.name.clone(),
                    month,
                    due_on: due,
                    members_due,
                });
            }
        }
    }
    Ok(out)
}
