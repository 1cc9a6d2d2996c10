//! The day close (日终): every daily job for one business date, once per date.
//!
//! `close_day(D)` runs, in order:
//! 1. **Settlement** — asks the banks about every instruction still without a definite
//!    answer (so the day's money is known before it is closed);
//! 2. **Remittance** — reminders (催缴) to units whose bills are past due;
//! 3. **Loans** — in one transaction with the record of the close: overdue marking,
//!    penalty interest, risk classification, repayments from provident-fund balances
//!    (对冲), card deductions recorded, re-pricing when tomorrow is a re-pricing date
//!    ([`crate::loan::servicing::loan_day_in`]);
//!
//! then records the close with what each job did and moves the business date to D + 1,
//! and finally sends the recorded card deductions to the banks. D must be the centre's
//! business date; closing a date already closed returns what that close did and changes
//! nothing (idempotent per date). Monthly jobs (the loan-offset withdrawals) keep their
//! own commands.

use anju_domain::calendar::BusinessCalendar;
use anju_domain::stamp::Stamp;
use anju_store::loan::DayCloseRow;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::ledger::lock_centre;
use crate::loan::servicing::{LoanDay, Servicing, loan_day_in, send_deductions};
use crate::remittance::send_reminders;
use crate::settlement::resolve_all;

/// What a day close did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCloseReport {
    /// The business date closed.
    pub date: Option<Date>,
    /// Whether it had been closed before (nothing was done now).
    pub already: bool,
    /// Instructions asked about.
    pub instructions_queried: usize,
    /// Of those, now with a definite answer.
    pub instructions_settled: usize,
    /// Remittance reminders sent.
    pub reminders: usize,
    /// The loan batch.
    pub loans: LoanDayFigures,
}

/// The loan batch's figures (what [`LoanDay`] says, kept with the close).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanDayFigures {
    /// Loans with something due or overdue.
    pub loans_due: usize,
    /// Repayments from provident-fund balances.
    pub fund_repayments: usize,
    /// Their total, fen.
    pub fund_amount_fen: i64,
    /// Card deductions sent.
    pub deductions_sent: usize,
    /// Card deductions the bank executed at once.
    pub deductions_executed: usize,
    /// Loans overdue after the close.
    pub overdue_loans: usize,
    /// Installments newly overdue.
    pub newly_overdue: usize,
    /// Penalty accrued, fen.
    pub penalty_accrued_fen: i64,
    /// Loans reclassified.
    pub reclassified: usize,
    /// Loans re-priced.
    pub repriced: usize,
    /// Loans paid off.
    pub paid_off: usize,
}

impl From<&LoanDay> for LoanDayFigures {
    fn from(d: &LoanDay) -> Self {
        LoanDayFigures {
            loans_due: d.loans_due,
            fund_repayments: d.fund_repayments,
            fund_amount_fen: d.fund_amount.fen(),
            deductions_sent: d.deductions_sent,
            deductions_executed: d.deductions_executed,
            overdue_loans: d.overdue_loans,
            newly_overdue: d.newly_overdue,
            penalty_accrued_fen: d.penalty_accrued.fen(),
            reclassified: d.reclassified,
            repriced: d.repriced,
            paid_off: d.paid_off,
        }
    }
}

fn invalid(field: &'static str, value: impl Into<String>, rule: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        value: value.into(),
        rule: rule.into(),
    }
}

/// Closes business date `date` (see the module doc).
pub fn close_day(
    ctx: &Servicing<'_>,
    calendar: &BusinessCalendar,
    date: Date,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<DayCloseReport, AppError> {
    stamp
        .validate()
        .map_err(|e| invalid("stamp", "", e.to_string()))?;
    if let Some(done) = closed(ctx, date)? {
        return Ok(done);
    }
    {
        let mut tx = ctx.store.begin_read()?;
        let today = crate::ledger::centre(tx.as_mut(), ctx.centre)?.business_date;
        if date != today {
            return Err(invalid(
                "date",
                date.to_string(),
                format!("the business date is {today}: close that day first (one day at a time)"),
            ));
        }
    }
    let started = std::time::Instant::now();
    let resolved = resolve_all(&ctx.settlement(), None, now, usize::MAX)?;
    let reminders = send_reminders(ctx.store, ctx.centre, calendar)?;
    let at = crate::later(now, started);
    let mut tx = ctx.store.begin()?;
    let c = lock_centre(tx.as_mut(), ctx.centre)?;
    if c.business_date != date {
        return Err(invalid(
            "date",
            date.to_string(),
            format!("the business date moved to {} meanwhile", c.business_date),
        ));
    }
    let (loans, deductions) = loan_day_in(tx.as_mut(), ctx, date, stamp, at)?;
    let mut report = DayCloseReport {
        date: Some(date),
        already: false,
        instructions_queried: resolved.queried,
        instructions_settled: resolved.executed + resolved.not_executed,
        reminders: reminders.len(),
        loans: LoanDayFigures::from(&loans),
    };
    let summary = serde_json::to_string(&report).map_err(|e| {
        AppError::Store(anju_store::StoreError::Corrupt {
            what: format!("cannot encode a day close: {e}"),
        })
    })?;
    tx.insert_day_close(
        ctx.centre,
        &DayCloseRow {
            business_date: date,
            closed_at_us: at.as_microsecond(),
            operator: stamp.operator.clone(),
            summary,
        },
    )?;
    let next = date
        .tomorrow()
        .map_err(|e| invalid("date", date.to_string(), e.to_string()))?;
    tx.set_business_date(ctx.centre, next)?;
    tx.commit()?;
    report.loans.deductions_executed =
        send_deductions(ctx, &deductions, crate::later(now, started))?;
    Ok(report)
}

/// The report of a close already done, if `date` was closed.
pub fn closed(ctx: &Servicing<'_>, date: Date) -> Result<Option<DayCloseReport>, AppError> {
    let mut tx = ctx.store.begin_read()?;
    let Some(row) = tx.day_close(ctx.centre, date)? else {
        return Ok(None);
    };
    let mut r: DayCloseReport = serde_json::from_str(&row.summary).map_err(|e| {
        AppError::Store(anju_store::StoreError::Corrupt {
            what: format!("day close of {date}: {e}"),
        })
    })?;
    r.already = true;
    Ok(Some(r))
}
