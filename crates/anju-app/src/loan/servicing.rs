//! Servicing a loan: disbursement, repayment (card deduction or provident-fund offset),
//! overdue marking, penalty interest, risk classification, re-pricing, prepayment and
//! payoff.
//!
//! **Money.** Disbursement is an outgoing instruction whose pending entry is Dr
//! `121.<loan>` Cr `101.<bank>`; the bank's "executed" posts it and activates the loan
//! with its schedule from the value date. A repayment is Dr `101.<bank>` (a card
//! deduction, posted when the bank says the money moved) or Dr `201.<borrower>` (对冲, from
//! the provident-fund balance) — Cr `121.<loan>` for the principal and Cr `402` for interest
//! and penalty. A payment covers the oldest installment first, penalty then interest then
//! principal (罚息 → 利息 → 本金).
//!
//! **Penalty.** An installment unpaid more than the grace days after its due date is
//! overdue; its penalty is recomputed at each day close from the due date: owed base ×
//! annual rate × multiplier × days / 360 (the base is the principal owed, or principal and
//! interest owed, as the policy says), never below what was already accrued. Penalty is
//! income when received.

use std::collections::{BTreeMap, BTreeSet};

use anju_domain::codes::SettlementBusinessType;
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::loan::{self, Method, PrepayMode, RiskClass};
use anju_domain::money::{Fen, Rate};
use anju_domain::settlement::InstructionKind;
use anju_domain::stamp::Stamp;
use anju_store::StoreTx;
use anju_store::loan::{InstallmentRow, LoanRow};
use anju_store::settlement::InstructionRow;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use super::{
    DeductFrom, LoanView, PendingPrepayment, PrepaymentRecord, append, corrupt, details_of,
    expect_status, invalid, loan_account, lock_loan, set_details, show,
};
use crate::AppError;
use crate::ledger::{lock_centre, open_accounts_in, post_in};
use crate::settlement::{
    DirectDebit, Outcome, Outgoing, pay_out_with, record_incoming_in, send_recorded,
};

/// What servicing needs (no departments: the facts were looked at when applying).
#[derive(Debug, Clone, Copy)]
pub struct Servicing<'a> {
    /// The store.
    pub store: &'a dyn anju_store::Store,
    /// The commissioned banks.
    pub banks: &'a crate::settlement::BankSet,
    /// The commissioned banks' own lending (combination loans).
    pub lenders: &'a crate::lending::LenderSet,
    /// The centre's code.
    pub centre: &'a str,
    /// The centre's policy.
    pub policy: &'a anju_domain::policy::Policy,
}

impl Servicing<'_> {
    pub(crate) fn settlement(&self) -> crate::settlement::Settlement<'_> {
        crate::settlement::Settlement {
            store: self.store,
            banks: self.banks,
            centre: self.centre,
        }
    }
}

fn account(code: &str, key: &str) -> Result<AccountNo, AppError> {
    AccountNo::sub(code, key).map_err(|e| invalid("account_no", key, e.to_string()))
}

fn income() -> Result<AccountNo, AppError> {
    AccountNo::parse("402").map_err(|e| invalid("account_no", "402", e.to_string()))
}

fn method_of(row: &LoanRow) -> Result<Method, AppError> {
    Method::from_code(&row.method).map_err(|e| corrupt(format!("loan {}: {e}", row.loan_no)))
}

fn rate_of(row: &LoanRow) -> Rate {
    Rate::from_units(row.rate_units)
}

// ---- disbursement ---------------------------------------------------------------------

/// Disburses a signed loan to the seller's account named in the filed purchase contract
/// (放款): opens `121.<loan>` and sends the instruction with its pending entry. The bank's
/// answer activates the loan (now, or when a status query, notice or reconciliation
/// brings it); a definite "not executed" puts it back to `signed` to be disbursed again
/// under a new serial.
pub fn disburse(
    ctx: &Servicing<'_>,
    loan_no: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<LoanView, AppError> {
    stamp
        .validate()
        .map_err(|e| invalid("stamp", "", e.to_string()))?;
    let centre = ctx.centre;
    // A combination loan whose own part is lent already: only the bank's part is left.
    let status = {
        let mut tx = ctx.store.begin_read()?;
        tx.loan(centre, loan_no)?
            .ok_or_else(|| invalid("loan_no", loan_no, "no such loan"))?
            .status
    };
    if status == "active" {
        super::combination::disburse_commercial(ctx.store, ctx.lenders, centre, loan_no, now)?;
        return show(ctx.store, centre, loan_no);
    }
    let outcome = pay_out_with(&ctx.settlement(), now, &|tx| {
        let c = lock_centre(tx, centre)?;
        let mut row = lock_loan(tx, centre, loan_no)?;
        expect_status(&row, &["signed"])?;
        let mut d = details_of(&row)?;
        if d.mortgage_no.is_none() {
            return Err(invalid(
                "loan_no",
                loan_no,
                "the collateral is not registered with the real-estate registry yet: register it first (anju loan register-mortgage)",
            ));
        }
        if d.seller_account.is_empty() {
            return Err(invalid(
                "seller_account",
                "",
                "the filed purchase contract names no seller account to pay",
            ));
        }
        let no = loan_account(loan_no)?;
        if tx
            .load_accounts(centre, std::slice::from_ref(&no))?
            .is_empty()
        {
            open_accounts_in(tx, centre, std::slice::from_ref(&no), c.business_date)?;
        }
        let serial = format!("FK-{loan_no}-{}", d.disbursements.len() + 1);
        d.disbursements.push(serial.clone());
        row.status = "disbursing".to_owned();
        row.updated_at_us = now.as_microsecond();
        set_details(&mut row, &d)?;
        tx.update_loans(centre, std::slice::from_ref(&row))?;
        append(
            tx,
            centre,
            loan_no,
            &[(
                "disbursing",
                &stamp.operator,
                format!(
                    "向售房人 {} 放款 {} 元",
                    d.seller_name,
                    Fen::new(row.principal)
                ),
                format!(
                    "disbursing {} yuan to the seller {}",
                    Fen::new(row.principal),
                    d.seller_name
                ),
            )],
            now,
        )?;
        Ok(vec![Outgoing {
            serial,
            kind: InstructionKind::Disbursement,
            business_type: SettlementBusinessType::LoanFundAllocation,
            bank_code: row.bank_code.clone(),
            debit: no,
            code: TxCode::LoanDisbursement,
            payee_account: d.seller_account.clone(),
            payee_name: d.seller_name.chars().take(60).collect(),
            payee_bank: super::seller_bank_code(tx, centre, &row.bank_code, &d.seller_bank)?,
            amount: Fen::new(row.principal),
            memo: format!("公积金贷款放款 {loan_no}"),
            target: format!("loan:{loan_no}"),
            stamp: stamp.clone(),
        }])
    })?;
    if let Some(Outcome::NotExecuted { reason, .. }) = outcome.first() {
        tracing::warn!(%loan_no, %reason, "disbursement not executed");
    }
    // One completion: the bank pays its part of a combination loan on the same day.
    super::combination::disburse_commercial(ctx.store, ctx.lenders, centre, loan_no, now)?;
    show(ctx.store, centre, loan_no)
}

/// The schedule rows of a loan disbursed on `on`.
fn first_schedule(row: &LoanRow, on: Date) -> Result<Vec<InstallmentRow>, AppError> {
    let day = u8::try_from(row.repay_day)
        .map_err(|_| corrupt(format!("loan {}: repay day", row.loan_no)))?;
    let months =
        u32::try_from(row.months).map_err(|_| corrupt(format!("loan {}: months", row.loan_no)))?;
    let rows = loan::schedule(
        Fen::new(row.principal),
        rate_of(row),
        months,
        method_of(row)?,
        Some((on, day)),
    )
    .map_err(|e| invalid("loan", &row.loan_no, e.to_string()))?;
    to_installments(&row.loan_no, &rows, 0)
}

fn to_installments(
    loan_no: &str,
    rows: &[loan::Row],
    period_offset: i32,
) -> Result<Vec<InstallmentRow>, AppError> {
    rows.iter()
        .map(|r| {
            Ok(InstallmentRow {
                loan_no: loan_no.to_owned(),
                period: period_offset + i32::try_from(r.period).unwrap_or(i32::MAX),
                due: r.due.ok_or_else(|| {
                    corrupt(format!("loan {loan_no}: a schedule row without a due date"))
                })?,
                principal: r.principal.fen(),
                interest: r.interest.fen(),
                paid_principal: 0,
                paid_interest: 0,
                penalty: 0,
                paid_penalty: 0,
                status: "scheduled".to_owned(),
                paid_on: None,
            })
        })
        .collect()
}

/// Called by settlement's one gate for every instruction it updated: a disbursement that
/// reached a final state activates its loan (executed) or returns it to `signed`; a card
/// deduction the bank refused is noted on the loan's timeline.
pub(crate) fn instructions_settled_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    rows: &[InstructionRow],
    now: Timestamp,
) -> Result<(), AppError> {
    for r in rows {
        let Some(loan_no) = r.target.strip_prefix("loan:") else {
            continue;
        };
        match (r.kind.as_str(), r.state.as_str()) {
            ("disbursement", "executed") => {
                let mut row = lock_loan(tx, centre, loan_no)?;
                if row.status != "disbursing" {
                    continue;
                }
                let on = r.value_date.ok_or_else(|| {
                    corrupt(format!(
                        "instruction {}: executed without a value date",
                        r.serial
                    ))
                })?;
                let schedule = first_schedule(&row, on)?;
                row.status = "active".to_owned();
                row.disbursed_on = Some(on);
                row.outstanding = row.principal;
                row.updated_at_us = now.as_microsecond();
                tx.upsert_installments(centre, &schedule)?;
                tx.update_loans(centre, std::slice::from_ref(&row))?;
                let first = schedule
                    .first()
                    .map(|i| i.due.to_string())
                    .unwrap_or_default();
                append(
                    tx,
                    centre,
                    loan_no,
                    &[(
                        "active",
                        &format!("bank:{}", r.bank_code),
                        format!(
                            "放款成功（银行流水 {}），起息日 {on}，首期还款日 {first}",
                            r.bank_ref.clone().unwrap_or_default()
                        ),
                        format!(
                            "disbursed (bank ref {}), value date {on}, first due {first}",
                            r.bank_ref.clone().unwrap_or_default()
                        ),
                    )],
                    now,
                )?;
            }
            ("disbursement", "not_executed") => {
                let mut row = lock_loan(tx, centre, loan_no)?;
                if row.status != "disbursing" {
                    continue;
                }
                row.status = "signed".to_owned();
                row.updated_at_us = now.as_microsecond();
                tx.update_loans(centre, std::slice::from_ref(&row))?;
                let reason = r.reason.clone().unwrap_or_default();
                append(
                    tx,
                    centre,
                    loan_no,
                    &[(
                        "signed",
                        &format!("bank:{}", r.bank_code),
                        format!("放款未成功：{reason}，待重新放款"),
                        format!("disbursement not executed: {reason}; to be disbursed again"),
                    )],
                    now,
                )?;
            }
            ("deduction", "not_executed") => {
                let mut row = lock_loan(tx, centre, loan_no)?;
                let mut d = details_of(&row)?;
                let reason = r.reason.clone().unwrap_or_default();
                if d.pending_prepayment
                    .as_ref()
                    .is_some_and(|p| p.serial == r.serial)
                {
                    d.pending_prepayment = None;
                    set_details(&mut row, &d)?;
                    row.updated_at_us = now.as_microsecond();
                    tx.update_loans(centre, std::slice::from_ref(&row))?;
                }
                append(
                    tx,
                    centre,
                    loan_no,
                    &[(
                        "deduction-failed",
                        &format!("bank:{}", r.bank_code),
                        format!("扣款未成功（{}）：{reason}", r.serial),
                        format!("deduction {} not executed: {reason}", r.serial),
                    )],
                    now,
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

// ---- repayment ------------------------------------------------------------------------

/// What a payment covered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Split {
    pub principal: i64,
    pub interest: i64,
    pub penalty: i64,
    pub left: i64,
}

/// Applies `amount` over `rows` (unpaid installments, oldest first): each installment's
/// penalty, then interest, then principal. Rows paid in full are marked `paid` on `on`.
pub(crate) fn apply_payment(rows: &mut [InstallmentRow], amount: i64, on: Date) -> Split {
    let mut left = amount;
    let mut s = Split::default();
    for r in rows.iter_mut() {
        if left == 0 {
            break;
        }
        let pe = left.min(r.penalty_owed());
        r.paid_penalty += pe;
        left -= pe;
        let it = left.min(r.interest_owed());
        r.paid_interest += it;
        left -= it;
        let pr = left.min(r.principal_owed());
        r.paid_principal += pr;
        left -= pr;
        s.penalty += pe;
        s.interest += it;
        s.principal += pr;
        if r.penalty_owed() == 0 && r.interest_owed() == 0 && r.principal_owed() == 0 {
            r.status = "paid".to_owned();
            r.paid_on = Some(on);
        }
    }
    s.left = left;
    s
}

/// The legs crediting what a payment covered.
fn credit_legs(loan_no: &str, s: &Split) -> Result<Vec<Leg>, AppError> {
    let mut legs = Vec::new();
    if s.principal > 0 {
        legs.push(Leg::credit(loan_account(loan_no)?, Fen::new(s.principal)));
    }
    if s.interest + s.penalty > 0 {
        legs.push(Leg::credit(income()?, Fen::new(s.interest + s.penalty)));
    }
    Ok(legs)
}

fn owed(rows: &[InstallmentRow]) -> i64 {
    rows.iter()
        .map(|r| r.principal_owed() + r.interest_owed() + r.penalty_owed())
        .sum()
}

/// A prepayment deducted from the card that the bank executed (from
/// [`money_in_batch_in`]): applied as planned when it was asked — principal off, the
/// schedule re-amortised or shortened, or the loan paid off. Returns the entry to post;
/// money beyond the plan is held in `212` other payables for a refund.
#[allow(clippy::too_many_arguments)]
fn prepayment_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    ins: &InstructionRow,
    p: &PendingPrepayment,
    value_date: Date,
    business_date: Date,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<EntryRequest, AppError> {
    let loan_no = ins
        .target
        .strip_prefix("loan:")
        .ok_or_else(|| invalid("target", &ins.target, "not a loan"))?;
    let mut row = lock_loan(tx, centre, loan_no)?;
    let split = Split {
        principal: p.principal,
        interest: p.interest,
        penalty: 0,
        left: ins.amount - p.principal - p.interest,
    };
    let entry = repayment_entry(
        &row,
        Leg::debit(account("101", &ins.bank_code)?, Fen::new(ins.amount)),
        &split,
        &ins.serial,
        business_date,
        value_date,
        "提前还款",
        stamp,
    )?;
    finish_prepayment(tx, centre, &mut row, p, business_date, &stamp.operator, now)?;
    Ok(entry)
}

/// Money card deductions brought in, a batch of the bank's answers at once (settlement's
/// gate calls this with every executed loan deduction it applied): each covers what its
/// loan owes by the business date, oldest installment first, penalty → interest →
/// principal; the schedule rows, the loans and their timelines are written once for the
/// batch. A prepayment waiting on its serial takes the one-by-one path
/// (`prepayment_in`). Returns the entries to post.
pub(crate) fn money_in_batch_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    items: &[(InstructionRow, Date, Stamp)],
    business_date: Date,
    now: Timestamp,
) -> Result<Vec<EntryRequest>, AppError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let nos: Vec<String> = items
        .iter()
        .filter_map(|(i, ..)| i.target.strip_prefix("loan:").map(str::to_owned))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut loans: BTreeMap<String, LoanRow> = tx
        .loans_by_nos(centre, &nos)?
        .into_iter()
        .map(|l| (l.loan_no.clone(), l))
        .collect();
    // What each loan owes by the date, read for the whole batch at once; a second answer
    // for one loan sees the first's effect.
    let mut schedules: BTreeMap<String, Vec<InstallmentRow>> =
        nos.iter().map(|n| (n.clone(), Vec::new())).collect();
    for i in tx.loan_installments_unpaid_by(centre, &nos, business_date)? {
        if let Some(rows) = schedules.get_mut(&i.loan_no) {
            rows.push(i);
        }
    }
    let read: BTreeMap<(String, i32), InstallmentRow> = schedules
        .values()
        .flatten()
        .map(|i| ((i.loan_no.clone(), i.period), i.clone()))
        .collect();
    let mut touched: BTreeSet<String> = BTreeSet::new();
    let mut entries = Vec::new();
    let mut events: Vec<(String, &'static str, String, String, String)> = Vec::new();
    let mut singles = Vec::new();
    for (ins, value_date, stamp) in items {
        let loan_no = ins
            .target
            .strip_prefix("loan:")
            .ok_or_else(|| invalid("target", &ins.target, "not a loan"))?;
        let row = loans
            .get_mut(loan_no)
            .ok_or_else(|| super::not_found(format!("loan {loan_no}")))?;
        if let Some(p) = details_of(row)?
            .pending_prepayment
            .filter(|p| p.serial == ins.serial)
        {
            singles.push((ins, p, *value_date, stamp));
            continue;
        }
        let mut rows = schedules.remove(loan_no).unwrap_or_default();
        touched.insert(loan_no.to_owned());
        let mut unpaid: Vec<InstallmentRow> = rows
            .iter()
            .filter(|i| i.status != "paid")
            .cloned()
            .collect();
        let split = apply_payment(&mut unpaid, ins.amount, business_date);
        for u in unpaid {
            if let Some(r) = rows.iter_mut().find(|r| r.period == u.period) {
                *r = u;
            }
        }
        row.outstanding -= split.principal;
        let oldest = rows
            .iter()
            .filter(|i| i.status == "overdue")
            .map(|i| i.due)
            .min();
        row.overdue_days = oldest
            .map(|d| (business_date - d).get_days().max(0))
            .unwrap_or(0);
        if oldest.is_none() {
            row.risk_class = RiskClass::Normal.code().to_owned();
        }
        row.updated_at_us = now.as_microsecond();
        let who = stamp.operator.clone();
        events.push((
            loan_no.to_owned(),
            "repaid",
            who.clone(),
            format!(
                "银行卡扣款 {} 元：本金 {}、利息 {}、罚息 {}",
                Fen::new(ins.amount),
                Fen::new(split.principal),
                Fen::new(split.interest),
                Fen::new(split.penalty)
            ),
            format!(
                "card deduction of {} yuan: principal {}, interest {}, penalty {}",
                Fen::new(ins.amount),
                Fen::new(split.principal),
                Fen::new(split.interest),
                Fen::new(split.penalty)
            ),
        ));
        if row.outstanding == 0 && rows.iter().all(|i| i.status == "paid") && row.status == "active"
        {
            row.status = "paid_off".to_owned();
            row.closed_on = Some(business_date);
            events.push((
                loan_no.to_owned(),
                "paid_off",
                who,
                "贷款已结清".to_owned(),
                "the loan is paid off".to_owned(),
            ));
        }
        entries.push(repayment_entry(
            row,
            Leg::debit(account("101", &ins.bank_code)?, Fen::new(ins.amount)),
            &split,
            &ins.serial,
            business_date,
            *value_date,
            "贷款扣款",
            stamp,
        )?);
        schedules.insert(loan_no.to_owned(), rows);
    }
    // Only the rows the payments changed are written back, and only what repayment
    // changes in them.
    let rows: Vec<InstallmentRow> = schedules
        .into_iter()
        .filter(|(no, _)| touched.contains(no))
        .flat_map(|(_, rows)| rows)
        .filter(|r| read.get(&(r.loan_no.clone(), r.period)) != Some(r))
        .collect();
    tx.service_installments(centre, &rows)?;
    let changed: BTreeSet<&str> = events.iter().map(|e| e.0.as_str()).collect();
    let changed_loans: Vec<LoanRow> = loans
        .iter()
        .filter(|(no, _)| changed.contains(no.as_str()))
        .map(|(_, l)| l.clone())
        .collect();
    tx.service_loans(centre, &changed_loans)?;
    super::append_many(tx, centre, events, now)?;
    for (ins, p, value_date, stamp) in singles {
        entries.push(prepayment_in(
            tx,
            centre,
            ins,
            &p,
            value_date,
            business_date,
            stamp,
            now,
        )?);
    }
    Ok(entries)
}

#[allow(clippy::too_many_arguments)]
fn repayment_entry(
    row: &LoanRow,
    debit: Leg,
    split: &Split,
    key: &str,
    business_date: Date,
    value_date: Date,
    what: &str,
    stamp: &Stamp,
) -> Result<EntryRequest, AppError> {
    let mut legs = vec![debit];
    legs.extend(credit_legs(&row.loan_no, split)?);
    if split.left > 0 {
        let payables =
            AccountNo::parse("212").map_err(|e| invalid("account_no", "212", e.to_string()))?;
        legs.push(Leg::credit(payables, Fen::new(split.left)));
    }
    Ok(EntryRequest::posted(
        format!("loan-repay:{key}"),
        TxCode::LoanRepayment,
        business_date,
        value_date,
        legs,
        format!("{what} {}", row.loan_no),
        stamp.clone(),
    ))
}

// ---- the daily batch ------------------------------------------------------------------

/// What the loan part of a day close did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoanDay {
    /// The business date closed.
    pub date: Option<Date>,
    /// Loans with something due or overdue by the date.
    pub loans_due: usize,
    /// Repayments taken from provident-fund balances (对冲).
    pub fund_repayments: usize,
    /// Their total.
    pub fund_amount: Fen,
    /// Card deductions sent to the banks.
    pub deductions_sent: usize,
    /// Of those, executed by the bank.
    pub deductions_executed: usize,
    /// Loans with an overdue installment after the close.
    pub overdue_loans: usize,
    /// Installments that became overdue at this close.
    pub newly_overdue: usize,
    /// Penalty interest accrued at this close.
    pub penalty_accrued: Fen,
    /// Loans whose risk class changed.
    pub reclassified: usize,
    /// Loans re-priced.
    pub repriced: usize,
    /// Loans paid off by this close.
    pub paid_off: usize,
}

/// The loan batch of a day close inside the close's transaction: penalty and overdue
/// marking, classification, provident-fund repayments posted, card deductions recorded
/// (returned to be sent after the commit), re-pricing when tomorrow is a re-pricing date.
pub(crate) fn loan_day_in(
    tx: &mut dyn StoreTx,
    ctx: &Servicing<'_>,
    date: Date,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<(LoanDay, Vec<InstructionRow>), AppError> {
    let centre = ctx.centre;
    let rule = ctx
        .policy
        .loan_servicing_on(date)
        .map_err(|e| invalid("business_date", date.to_string(), e.to_string()))?;
    let mut report = LoanDay {
        date: Some(date),
        ..LoanDay::default()
    };
    let mut by_loan: BTreeMap<String, Vec<InstallmentRow>> = BTreeMap::new();
    for i in tx.installments_unpaid_by(centre, date)? {
        by_loan.entry(i.loan_no.clone()).or_default().push(i);
    }
    let nos: Vec<String> = by_loan.keys().cloned().collect();
    let loans = tx.loans_by_nos(centre, &nos)?;
    let waiting: BTreeSet<String> = tx
        .instructions_unsettled(centre, None, i64::MAX, usize::MAX)?
        .into_iter()
        .filter(|i| i.kind == InstructionKind::Deduction.code())
        .filter_map(|i| i.target.strip_prefix("loan:").map(str::to_owned))
        .collect();
    // Provident-fund balances of the borrowers who repay from them, read once.
    let fund_accounts: Vec<AccountNo> = loans
        .iter()
        .filter(|l| l.deduct_from == DeductFrom::Fund.code() && l.status == "active")
        .flat_map(|l| std::iter::once(l.account_no.clone()).chain(l.co_account_no.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|a| account("201", &a))
        .collect::<Result<_, _>>()?;
    let mut available: BTreeMap<String, i64> = BTreeMap::new();
    for st in tx.load_accounts(centre, &fund_accounts)? {
        let avail = st.balance.fen() - st.pending_out.fen();
        available.insert(st.no.as_str().to_owned(), avail);
    }
    let mut entries = Vec::new();
    let mut changed_rows = Vec::new();
    let mut changed_loans = Vec::new();
    let mut events: Vec<(String, &'static str, String, String)> = Vec::new();
    let mut deductions = Vec::new();
    let grace = i64::from(rule.grace_days);
    for mut l in loans {
        if l.status != "active" {
            continue;
        }
        let Some(mut rows) = by_loan.remove(&l.loan_no) else {
            continue;
        };
        report.loans_due += 1;
        let read = rows.clone();
        let rate = rate_of(&l);
        // 1. Overdue marking and penalty, from each installment's due date.
        for r in rows.iter_mut() {
            let days = (date - r.due).get_days() as i64;
            if days <= grace {
                continue;
            }
            if r.status == "scheduled" {
                r.status = "overdue".to_owned();
                report.newly_overdue += 1;
            }
            let base = match rule.penalty_base {
                anju_domain::policy::PenaltyBase::Principal => r.principal_owed(),
                // Principal and interest (HG), and any base a later policy adds.
                _ => r.principal_owed() + r.interest_owed(),
            };
            let computed = loan::penalty(
                Fen::new(base),
                rate,
                rule.penalty_multiplier,
                u32::try_from(days).unwrap_or(u32::MAX),
            )
            .map_err(|e| invalid("penalty", r.loan_no.clone(), e.to_string()))?
            .fen();
            if computed > r.penalty {
                report.penalty_accrued =
                    Fen::new(report.penalty_accrued.fen() + computed - r.penalty);
                r.penalty = computed;
            }
        }
        // 2. Repayment of what is owed now.
        let due = owed(&rows);
        let mut paid = Split::default();
        if due > 0 && l.deduct_from == DeductFrom::Fund.code() {
            let mut legs = Vec::new();
            let mut total = 0;
            for a in std::iter::once(l.account_no.clone()).chain(l.co_account_no.clone()) {
                let no = account("201", &a)?;
                let have = available.get(no.as_str()).copied().unwrap_or(0);
                let take = have.min(due - total);
                if take > 0 {
                    legs.push(Leg::debit(no.clone(), Fen::new(take)));
                    available.insert(no.as_str().to_owned(), have - take);
                    total += take;
                }
            }
            if total > 0 {
                paid = apply_payment(&mut rows, total, date);
                legs.extend(credit_legs(&l.loan_no, &paid)?);
                entries.push(EntryRequest::posted(
                    format!("loan-offset:{}:{date}", l.loan_no),
                    TxCode::LoanRepayment,
                    date,
                    date,
                    legs,
                    format!("公积金对冲还贷 {}", l.loan_no),
                    stamp.clone(),
                ));
                report.fund_repayments += 1;
                report.fund_amount = Fen::new(report.fund_amount.fen() + total);
                events.push((
                    l.loan_no.clone(),
                    "repaid",
                    format!(
                        "公积金对冲还款 {} 元：本金 {}、利息 {}、罚息 {}",
                        Fen::new(total),
                        Fen::new(paid.principal),
                        Fen::new(paid.interest),
                        Fen::new(paid.penalty)
                    ),
                    format!(
                        "repaid {} yuan from the provident fund: principal {}, interest {}, penalty {}",
                        Fen::new(total),
                        Fen::new(paid.principal),
                        Fen::new(paid.interest),
                        Fen::new(paid.penalty)
                    ),
                ));
            }
        } else if due > 0 && !waiting.contains(&l.loan_no) && !l.card_no.is_empty() {
            deductions.push(DirectDebit {
                serial: format!("KK-{}-{}", l.loan_no, date.strftime("%Y%m%d")),
                bank_code: l.bank_code.clone(),
                payer_account: l.card_no.clone(),
                business_type: SettlementBusinessType::LoanDeduction,
                amount: Fen::new(due),
                memo: format!("公积金贷款还款 {}", l.loan_no),
                target: format!("loan:{}", l.loan_no),
                stamp: stamp.clone(),
            });
        }
        // 3. Classification by the oldest overdue installment.
        let oldest = rows
            .iter()
            .filter(|r| r.status == "overdue")
            .map(|r| r.due)
            .min();
        let days = oldest.map(|d| (date - d).get_days()).unwrap_or(0).max(0);
        let class = loan::classify(u32::try_from(days).unwrap_or(u32::MAX), rule);
        if oldest.is_some() {
            report.overdue_loans += 1;
        }
        l.outstanding -= paid.principal;
        let before = (l.risk_class.clone(), l.overdue_days);
        l.overdue_days = days;
        if class.code() != l.risk_class {
            report.reclassified += 1;
            events.push((
                l.loan_no.clone(),
                "classified",
                format!(
                    "风险分类由 {} 调整为 {} {}（逾期 {days} 天）",
                    l.risk_class,
                    class.code(),
                    class.label_zh()
                ),
                format!(
                    "risk class {} → {} ({days} days overdue)",
                    l.risk_class,
                    class.code()
                ),
            ));
            l.risk_class = class.code().to_owned();
        }
        if l.outstanding == 0 && rows.iter().all(|r| r.status == "paid") {
            l.status = "paid_off".to_owned();
            l.closed_on = Some(date);
            report.paid_off += 1;
            events.push((
                l.loan_no.clone(),
                "paid_off",
                "贷款已结清".to_owned(),
                "the loan is paid off".to_owned(),
            ));
        }
        if before != (l.risk_class.clone(), l.overdue_days)
            || paid.principal + paid.interest + paid.penalty > 0
            || l.status == "paid_off"
        {
            l.updated_at_us = now.as_microsecond();
            changed_loans.push(l);
        }
        // Only the rows this close changed are written back.
        changed_rows.extend(
            rows.into_iter()
                .zip(read)
                .filter(|(r, o)| r != o)
                .map(|(r, _)| r),
        );
    }
    post_in(tx, centre, entries, now)?;
    tx.service_installments(centre, &changed_rows)?;
    tx.service_loans(centre, &changed_loans)?;
    super::append_many(
        tx,
        centre,
        events
            .into_iter()
            .map(|(loan_no, event, zh, en)| (loan_no, event, stamp.operator.clone(), zh, en))
            .collect(),
        now,
    )?;
    report.repriced = reprice_in(tx, ctx, date, stamp, now)?;
    let sent = record_incoming_in(tx, centre, &deductions, now)?;
    report.deductions_sent = sent.len();
    Ok((report, sent))
}

/// Sends the card deductions a day close recorded (after its commit) and counts those
/// the bank executed.
pub(crate) fn send_deductions(
    ctx: &Servicing<'_>,
    rows: &[InstructionRow],
    now: Timestamp,
) -> Result<usize, AppError> {
    if rows.is_empty() {
        return Ok(0);
    }
    Ok(send_recorded(&ctx.settlement(), rows, now)?
        .iter()
        .filter(|o| matches!(o, Outcome::Executed { .. }))
        .count())
}

/// Re-prices the active loans when tomorrow is a re-pricing date of the rate table
/// (existing loans switch to the new rates, e.g. each January 1): each loan's unpaid
/// periods due after `date` are re-amortised at the new rate over the same remaining
/// periods.
fn reprice_in(
    tx: &mut dyn StoreTx,
    ctx: &Servicing<'_>,
    date: Date,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<usize, AppError> {
    let Ok(tomorrow) = date.tomorrow() else {
        return Ok(0);
    };
    if !ctx
        .policy
        .loan_rates()
        .iter()
        .any(|r| r.reprice_existing_on == tomorrow)
    {
        return Ok(0);
    }
    let mut n = 0;
    for mut l in tx.loans_with_status(ctx.centre, &["active"])? {
        let signed = l.signed_on.or(l.disbursed_on).unwrap_or(l.business_date);
        let months = u32::try_from(l.months).unwrap_or(0);
        let new_rate = ctx
            .policy
            .existing_loan_rate_on(signed, tomorrow, l.home == "first", months)
            .map_err(|e| invalid("rate", l.loan_no.clone(), e.to_string()))?;
        if new_rate == rate_of(&l) {
            continue;
        }
        let rows = tx.installments(ctx.centre, &l.loan_no)?;
        let future: Vec<&InstallmentRow> = rows
            .iter()
            .filter(|i| {
                i.due > date
                    && i.status == "scheduled"
                    && i.paid_principal == 0
                    && i.paid_interest == 0
            })
            .collect();
        let Some(first) = future.first() else {
            continue;
        };
        let remaining: i64 = future.iter().map(|i| i.principal).sum();
        let new = loan::schedule_from(
            Fen::new(remaining),
            new_rate,
            u32::try_from(future.len()).unwrap_or(0),
            method_of(&l)?,
            first.due,
        )
        .map_err(|e| invalid("loan", l.loan_no.clone(), e.to_string()))?;
        let rows = to_installments(&l.loan_no, &new, first.period - 1)?;
        tx.upsert_installments(ctx.centre, &rows)?;
        let old = rate_of(&l);
        l.rate_units = new_rate.units();
        l.updated_at_us = now.as_microsecond();
        tx.update_loans(ctx.centre, std::slice::from_ref(&l))?;
        append(
            tx,
            ctx.centre,
            &l.loan_no,
            &[(
                "repriced",
                &stamp.operator,
                format!(
                    "{tomorrow} 起执行新利率：{}% → {}%",
                    old.percent_string(),
                    new_rate.percent_string()
                ),
                format!(
                    "re-priced from {tomorrow}: {}% → {}%",
                    old.percent_string(),
                    new_rate.percent_string()
                ),
            )],
            now,
        )?;
        n += 1;
    }
    Ok(n)
}

// ---- prepayment and payoff ------------------------------------------------------------

/// A prepayment request (提前还款).
#[derive(Debug, Clone)]
pub struct Prepay {
    /// Principal to prepay; `None` pays the loan off (提前结清).
    pub amount: Option<Fen>,
    /// After a partial prepayment: keep the end date and lower the payment, or keep the
    /// payment and shorten the term.
    pub mode: PrepayMode,
    /// Where the money comes from: the card (through the bank) or the provident-fund
    /// balances.
    pub from: DeductFrom,
}

/// Prepays part of a loan or pays it off. The loan must be active with nothing overdue;
/// a partial prepayment must be at least the policy's minimum, no sooner than its months
/// after disbursement and within its count per year. Interest on the remaining principal
/// since the last due date is paid with it. From the provident fund it is posted at
/// once; from the card it is sent to the bank and applied when the bank says the money
/// moved.
pub fn prepay(
    ctx: &Servicing<'_>,
    loan_no: &str,
    req: &Prepay,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<LoanView, AppError> {
    stamp
        .validate()
        .map_err(|e| invalid("stamp", "", e.to_string()))?;
    let centre = ctx.centre;
    let mut tx = ctx.store.begin()?;
    let today = lock_centre(tx.as_mut(), centre)?.business_date;
    let mut row = lock_loan(tx.as_mut(), centre, loan_no)?;
    expect_status(&row, &["active"])?;
    let rule = ctx
        .policy
        .loan_servicing_on(today)
        .map_err(|e| invalid("business_date", today.to_string(), e.to_string()))?;
    let rows = tx.installments(centre, loan_no)?;
    if let Some(o) = rows.iter().find(|i| i.status != "paid" && i.due <= today) {
        return Err(invalid(
            "loan_no",
            loan_no,
            format!(
                "period {} due {} is unpaid: repay what is due first (or wait for today's deduction)",
                o.period, o.due
            ),
        ));
    }
    let mut d = details_of(&row)?;
    if d.pending_prepayment.is_some() {
        return Err(invalid(
            "loan_no",
            loan_no,
            "a prepayment is waiting for the bank's answer",
        ));
    }
    let remaining = row.outstanding;
    let payoff = req.amount.is_none_or(|a| a.fen() >= remaining);
    let amount = req.amount.map_or(remaining, |a| a.fen().min(remaining));
    let this_year = d
        .prepayments
        .iter()
        .filter(|p| p.on.year() == today.year())
        .count();
    loan::prepayment_allowed(
        rule,
        Fen::new(amount),
        Fen::new(remaining),
        row.disbursed_on.unwrap_or(row.business_date),
        today,
        u32::try_from(this_year).unwrap_or(u32::MAX),
    )
    .map_err(|e| invalid("amount", Fen::new(amount).to_string(), e.to_string()))?;
    let unpaid: Vec<&InstallmentRow> = rows.iter().filter(|i| i.status != "paid").collect();
    let next = unpaid
        .first()
        .ok_or_else(|| corrupt(format!("loan {loan_no}: active with no unpaid period")))?;
    let last_due = last_due_of(&row, &rows)?;
    let mode = if payoff {
        PrepayMode::Reamortise
    } else {
        req.mode
    };
    let plan = loan::prepay(
        Fen::new(remaining),
        Fen::new(amount),
        rate_of(&row),
        method_of(&row)?,
        u32::try_from(unpaid.len()).unwrap_or(0),
        next.due,
        last_due,
        today,
        mode,
    )
    .map_err(|e| invalid("amount", Fen::new(amount).to_string(), e.to_string()))?;
    let mode_code = if payoff {
        "payoff"
    } else {
        match mode {
            PrepayMode::Reamortise => "reamortise",
            PrepayMode::ShortenTerm => "shorten",
        }
    };
    let pending = PendingPrepayment {
        serial: format!("TQ-{loan_no}-{}", d.prepayments.len() + 1),
        principal: plan.principal.fen(),
        interest: plan.interest.fen(),
        mode: mode_code.to_owned(),
    };
    let total = pending.principal + pending.interest;
    match req.from {
        DeductFrom::Fund => {
            let mut legs = Vec::new();
            let mut taken = 0;
            let mut accounts = vec![row.account_no.clone()];
            accounts.extend(row.co_account_no.clone());
            let nos: Vec<AccountNo> = accounts
                .iter()
                .map(|a| account("201", a))
                .collect::<Result<_, _>>()?;
            for st in tx.load_accounts(centre, &nos)? {
                let have = st.balance.fen() - st.pending_out.fen();
                let take = have.min(total - taken);
                if take > 0 {
                    legs.push(Leg::debit(st.no.clone(), Fen::new(take)));
                    taken += take;
                }
            }
            if taken < total {
                return Err(invalid(
                    "from",
                    "fund",
                    format!(
                        "the provident-fund balances have {} yuan available, {} is needed",
                        Fen::new(taken),
                        Fen::new(total)
                    ),
                ));
            }
            let split = Split {
                principal: pending.principal,
                interest: pending.interest,
                penalty: 0,
                left: 0,
            };
            legs.extend(credit_legs(loan_no, &split)?);
            post_in(
                tx.as_mut(),
                centre,
                vec![EntryRequest::posted(
                    format!("loan-prepay:{}", pending.serial),
                    TxCode::LoanRepayment,
                    today,
                    today,
                    legs,
                    format!("公积金提前还款 {loan_no}"),
                    stamp.clone(),
                )],
                now,
            )?;
            finish_prepayment(
                tx.as_mut(),
                centre,
                &mut row,
                &pending,
                today,
                &stamp.operator,
                now,
            )?;
            tx.commit()?;
        }
        DeductFrom::Card => {
            if row.card_no.is_empty() {
                return Err(invalid("from", "card", "the loan has no repayment card"));
            }
            let rows = record_incoming_in(
                tx.as_mut(),
                centre,
                &[DirectDebit {
                    serial: pending.serial.clone(),
                    bank_code: row.bank_code.clone(),
                    payer_account: row.card_no.clone(),
                    business_type: SettlementBusinessType::LoanDeduction,
                    amount: Fen::new(total),
                    memo: format!("公积金贷款提前还款 {loan_no}"),
                    target: format!("loan:{loan_no}"),
                    stamp: stamp.clone(),
                }],
                now,
            )?;
            d.pending_prepayment = Some(pending.clone());
            set_details(&mut row, &d)?;
            row.updated_at_us = now.as_microsecond();
            tx.update_loans(centre, std::slice::from_ref(&row))?;
            append(
                tx.as_mut(),
                centre,
                loan_no,
                &[(
                    "prepaying",
                    &stamp.operator,
                    format!(
                        "提前还款 {} 元（本金 {}、利息 {}）已发送银行扣款",
                        Fen::new(total),
                        Fen::new(pending.principal),
                        Fen::new(pending.interest)
                    ),
                    format!(
                        "prepayment of {} yuan (principal {}, interest {}) sent to the bank",
                        Fen::new(total),
                        Fen::new(pending.principal),
                        Fen::new(pending.interest)
                    ),
                )],
                now,
            )?;
            tx.commit()?;
            send_recorded(&ctx.settlement(), &rows, now)?;
        }
    }
    show(ctx.store, centre, loan_no)
}

/// Where interest runs from: the last due date paid, the last prepayment (its interest
/// was paid to that day), or the disbursement date.
fn last_due_of(row: &LoanRow, rows: &[InstallmentRow]) -> Result<Date, AppError> {
    let paid = rows
        .iter()
        .filter(|i| i.status == "paid")
        .map(|i| i.due)
        .max();
    let prepaid = details_of(row)?.prepayments.iter().map(|p| p.on).max();
    Ok([paid, prepaid, row.disbursed_on]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(row.business_date))
}

/// Records a prepayment's effect: principal off, the schedule re-amortised or shortened,
/// or the loan paid off.
fn finish_prepayment(
    tx: &mut dyn StoreTx,
    centre: &str,
    row: &mut LoanRow,
    p: &PendingPrepayment,
    today: Date,
    who: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let rows = tx.installments(centre, &row.loan_no)?;
    let unpaid: Vec<&InstallmentRow> = rows.iter().filter(|i| i.status != "paid").collect();
    let last_due = last_due_of(row, &rows)?;
    let mut d = details_of(row)?;
    d.pending_prepayment = None;
    d.prepayments.push(PrepaymentRecord {
        on: today,
        principal: p.principal,
        interest: p.interest,
        mode: p.mode.clone(),
    });
    row.outstanding -= p.principal;
    let first = unpaid
        .first()
        .ok_or_else(|| corrupt(format!("loan {}: no unpaid period", row.loan_no)))?;
    tx.delete_installments_from(centre, &row.loan_no, first.period)?;
    if row.outstanding == 0 {
        row.status = "paid_off".to_owned();
        row.closed_on = Some(today);
    } else {
        let mode = if p.mode == "shorten" {
            PrepayMode::ShortenTerm
        } else {
            PrepayMode::Reamortise
        };
        // The new schedule from the next due date over the periods left (or fewer).
        let plan = loan::prepay(
            Fen::new(row.outstanding + p.principal),
            Fen::new(p.principal),
            rate_of(row),
            method_of(row)?,
            u32::try_from(unpaid.len()).unwrap_or(0),
            first.due,
            last_due,
            today,
            mode,
        )
        .map_err(|e| invalid("amount", Fen::new(p.principal).to_string(), e.to_string()))?;
        let new = to_installments(&row.loan_no, &plan.new_schedule, first.period - 1)?;
        if let Some(last) = new.last() {
            row.months = last.period;
        }
        tx.upsert_installments(centre, &new)?;
    }
    set_details(row, &d)?;
    row.updated_at_us = now.as_microsecond();
    tx.update_loans(centre, std::slice::from_ref(row))?;
    let (zh, en) = if row.status == "paid_off" {
        (
            format!(
                "提前结清：本金 {}、利息 {}",
                Fen::new(p.principal),
                Fen::new(p.interest)
            ),
            format!(
                "paid off early: principal {}, interest {}",
                Fen::new(p.principal),
                Fen::new(p.interest)
            ),
        )
    } else {
        (
            format!(
                "提前还款：本金 {}、利息 {}，{}",
                Fen::new(p.principal),
                Fen::new(p.interest),
                if p.mode == "shorten" {
                    "缩短期限"
                } else {
                    "减少月供"
                }
            ),
            format!(
                "prepaid principal {} and interest {}; {}",
                Fen::new(p.principal),
                Fen::new(p.interest),
                if p.mode == "shorten" {
                    "term shortened"
                } else {
                    "payment lowered"
                }
            ),
        )
    };
    let event = if row.status == "paid_off" {
        "paid_off"
    } else {
        "prepaid"
    };
    append(tx, centre, &row.loan_no, &[(event, who, zh, en)], now)?;
    Ok(())
}

/// The overdue register (逾期登记簿): every active loan with an overdue installment, with
/// what is owed.
pub fn overdue_register(
    store: &dyn anju_store::Store,
    centre: &str,
) -> Result<Vec<OverdueLine>, AppError> {
    let mut tx = store.begin_read()?;
    let c = crate::ledger::centre(tx.as_mut(), centre)?;
    let mut by_loan: BTreeMap<String, Vec<InstallmentRow>> = BTreeMap::new();
    for i in tx.installments_unpaid_by(centre, c.business_date)? {
        if i.status == "overdue" {
            by_loan.entry(i.loan_no.clone()).or_default().push(i);
        }
    }
    let nos: Vec<String> = by_loan.keys().cloned().collect();
    let loans = tx.loans_by_nos(centre, &nos)?;
    Ok(loans
        .into_iter()
        .map(|l| {
            let rows = by_loan.remove(&l.loan_no).unwrap_or_default();
            OverdueLine {
                loan_no: l.loan_no.clone(),
                account_no: l.account_no.clone(),
                periods: rows.len(),
                principal: Fen::new(rows.iter().map(InstallmentRow::principal_owed).sum()),
                interest: Fen::new(rows.iter().map(InstallmentRow::interest_owed).sum()),
                penalty: Fen::new(rows.iter().map(InstallmentRow::penalty_owed).sum()),
                overdue_days: l.overdue_days,
                risk_class: l.risk_class.clone(),
            }
        })
        .collect())
}

/// One line of the overdue register.
#[derive(Debug, Clone, Serialize)]
pub struct OverdueLine {
    /// Loan.
    pub loan_no: String,
    /// Borrower's account.
    pub account_no: String,
    /// Overdue periods.
    pub periods: usize,
    /// Principal overdue.
    pub principal: Fen,
    /// Interest overdue.
    pub interest: Fen,
    /// Penalty owed.
    pub penalty: Fen,
    /// Days the oldest is overdue.
    pub overdue_days: i32,
    /// Risk class.
    pub risk_class: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(period: i32, principal: i64, interest: i64, penalty: i64) -> InstallmentRow {
        InstallmentRow {
            loan_no: "DK1".to_owned(),
            period,
            due: jiff::civil::date(2026, 1, 20),
            principal,
            interest,
            paid_principal: 0,
            paid_interest: 0,
            penalty,
            paid_penalty: 0,
            status: "overdue".to_owned(),
            paid_on: None,
        }
    }

    #[test]
    fn a_payment_covers_penalty_then_interest_then_principal_oldest_first() {
        let on = jiff::civil::date(2026, 3, 1);
        let mut rows = vec![inst(1, 1000, 300, 50), inst(2, 1010, 290, 10)];
        let s = apply_payment(&mut rows, 1500, on);
        assert_eq!(
            (s.penalty, s.interest, s.principal, s.left),
            (60, 440, 1000, 0)
        );
        assert_eq!(rows[0].status, "paid");
        assert_eq!(rows[0].paid_on, Some(on));
        assert_eq!(rows[1].status, "overdue");
        assert_eq!(
            (
                rows[1].paid_penalty,
                rows[1].paid_interest,
                rows[1].paid_principal
            ),
            (10, 140, 0)
        );
        let s = apply_payment(&mut rows, 2000, on);
        assert_eq!((s.interest, s.principal, s.left), (150, 1010, 840));
        assert_eq!(rows[1].status, "paid");
    }
}
