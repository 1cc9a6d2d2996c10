//! Combination loans (组合贷款): one application at the centre's window, two lenders, one
//! completion (一窗受理、两家办事、一次办结). The provident-fund part is decided by the
//! centre's rule; the commercial part is asked of the commissioned bank through the
//! lending port (`crate::lending`), which approves and prices it from its own funds and
//! returns its schedule. The member signs one contract set naming both parts (one
//! collateral, two mortgagees) and sees both schedules with one monthly total; at
//! disbursement each lender pays the seller its part.
//!
//! No transaction is open while the bank is asked; every call to the bank is idempotent
//! (by application number, then by the bank's loan number), so an unanswered call is
//! simply made again ([`ask_bank`], [`disburse_commercial`]).

use anju_domain::loan::{LoanDecision, Method};
use anju_domain::money::{Fen, Rate};
use anju_store::Store;
use anju_store::loan::LoanRow;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{append, corrupt, details_of, invalid, lock_loan, set_details};
use crate::AppError;
use crate::ledger::lock_centre;
use crate::lending::{
    BorrowerInfo, BorrowerRole, CommercialDecision, CommercialLoan, CommercialRequest,
    CommercialStatus, DisburseOrder, Disbursement, LenderSet,
};
use crate::sharing::close_application_in;

/// The commercial part of a combination loan, as the centre keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommercialPart {
    /// Amount asked of the bank, fen.
    pub requested: i64,
    /// `pending` (not yet answered), `approved`, `declined`, `disbursed`.
    pub status: String,
    /// The bank's loan number.
    #[serde(default)]
    pub bank_loan_no: Option<String>,
    /// Amount approved, fen.
    #[serde(default)]
    pub amount: i64,
    /// The bank's annual rate, `Rate` units.
    #[serde(default)]
    pub rate_units: i64,
    /// Term, months.
    #[serde(default)]
    pub months: u32,
    /// When the bank paid the seller.
    #[serde(default)]
    pub disbursed_on: Option<Date>,
    /// The bank's reference of that payment.
    #[serde(default)]
    pub bank_ref: Option<String>,
    /// The bank's schedule (provisional until disbursed).
    #[serde(default)]
    pub schedule: Vec<PartRow>,
    /// The bank's last word (a decline or refusal reason, or why it could not be asked).
    #[serde(default)]
    pub note: String,
}

/// One period of the bank's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRow {
    /// Period.
    pub period: u32,
    /// Due date.
    pub due: Option<Date>,
    /// Principal, fen.
    pub principal: i64,
    /// Interest, fen.
    pub interest: i64,
}

fn record(part: &mut CommercialPart, loan: &CommercialLoan) {
    part.bank_loan_no = Some(loan.bank_loan_no.clone());
    part.amount = loan.amount.fen();
    part.rate_units = loan.annual_rate.units();
    part.months = loan.months;
    part.schedule = loan
        .schedule
        .iter()
        .map(|r| PartRow {
            period: r.period,
            due: r.due,
            principal: r.principal.fen(),
            interest: r.interest.fen(),
        })
        .collect();
    match &loan.status {
        CommercialStatus::Disbursed { on, bank_ref } => {
            part.status = "disbursed".to_owned();
            part.disbursed_on = Some(*on);
            part.bank_ref = Some(bank_ref.clone());
        }
        _ => part.status = "approved".to_owned(),
    }
}

/// Asks the bank to approve and price the commercial part of an approved combination
/// loan (again, if it was not answered: the bank keeps one decision per application).
/// A decline refuses the whole application with the bank's reason — one window, one
/// outcome; the member may apply again for a provident-fund loan alone.
pub fn ask_bank(
    store: &dyn Store,
    lenders: &LenderSet,
    centre: &str,
    loan_no: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let (row, request) = {
        let mut tx = store.begin_read()?;
        let today = crate::ledger::centre(tx.as_mut(), centre)?.business_date;
        let row = tx
            .loan(centre, loan_no)?
            .ok_or_else(|| super::not_found(format!("loan {loan_no}")))?;
        let request = request_of(tx.as_mut(), centre, &row, today)?;
        (row, request)
    };
    let Some(request) = request else {
        return Ok(());
    };
    // A bank with no lending connection configured here is "not asked yet", not an
    // error: the part waits and is asked again where the connection is.
    let answer = match lenders.get(&row.bank_code) {
        Ok(lender) => lender.apply(&request),
        Err(e) => Err(crate::settlement::ports::Unreachable {
            bank: row.bank_code.clone(),
            reason: e.to_string(),
        }),
    };
    let mut tx = store.begin()?;
    lock_centre(tx.as_mut(), centre)?;
    let mut row = lock_loan(tx.as_mut(), centre, loan_no)?;
    let mut d = details_of(&row)?;
    let mut part = d
        .commercial
        .clone()
        .ok_or_else(|| corrupt(format!("loan {loan_no}: combination without its part")))?;
    let who = format!("bank:{}", row.bank_code);
    let (event, zh, en) = match answer {
        Ok(CommercialDecision::Approved(loan)) => {
            record(&mut part, &loan);
            (
                "commercial-approved",
                format!(
                    "受委托银行批准商业贷款 {} 元（{}），年利率 {}%，首期还款 {} 元",
                    loan.amount,
                    loan.bank_loan_no,
                    loan.annual_rate.percent_string(),
                    loan.first_payment()
                ),
                format!(
                    "the bank approved its part: {} yuan ({}) at {}%, first payment {}",
                    loan.amount,
                    loan.bank_loan_no,
                    loan.annual_rate.percent_string(),
                    loan.first_payment()
                ),
            )
        }
        Ok(CommercialDecision::Declined { reason }) => {
            part.status = "declined".to_owned();
            part.note = reason.clone();
            row.status = "refused".to_owned();
            row.principal = 0;
            d.reason_zh = format!("受委托银行未批准商业贷款部分：{reason}");
            d.reason_en = format!("the bank declined the commercial part: {reason}");
            close_application_in(tx.as_mut(), centre, &row.application_no, now)?;
            ("refused", d.reason_zh.clone(), d.reason_en.clone())
        }
        Ok(CommercialDecision::Refused { reason }) => {
            part.note = reason.clone();
            (
                "commercial-refused",
                format!("银行拒绝受理商业贷款申请：{reason}"),
                format!("the bank refused the application: {reason}"),
            )
        }
        Err(e) => {
            part.note = e.to_string();
            (
                "commercial-pending",
                format!("暂未取得银行答复（{e}），稍后再次询问"),
                format!("no answer from the bank yet ({e}); will ask again"),
            )
        }
    };
    d.commercial = Some(part);
    set_details(&mut row, &d)?;
    row.updated_at_us = now.as_microsecond();
    tx.update_loans(centre, std::slice::from_ref(&row))?;
    append(tx.as_mut(), centre, loan_no, &[(event, &who, zh, en)], now)?;
    tx.commit()?;
    Ok(())
}

/// The request for the bank, or `None` when there is nothing to ask (not a combination
/// loan, not approved, or already answered).
fn request_of(
    tx: &mut dyn anju_store::StoreTx,
    centre: &str,
    row: &LoanRow,
    today: Date,
) -> Result<Option<CommercialRequest>, AppError> {
    let d = details_of(row)?;
    let Some(part) = &d.commercial else {
        return Ok(None);
    };
    if row.status != "approved" || part.status != "pending" {
        return Ok(None);
    }
    let decision: LoanDecision = d
        .decision
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| corrupt(format!("loan {}: decision: {e}", row.loan_no)))?
        .ok_or_else(|| corrupt(format!("loan {}: approved without a decision", row.loan_no)))?;
    let mut borrowers = Vec::new();
    for (account, id, role) in std::iter::once((
        Some(row.account_no.clone()),
        row.id_number.clone(),
        BorrowerRole::Applicant,
    ))
    .chain(
        row.co_id_number
            .clone()
            .map(|id| (row.co_account_no.clone(), id, BorrowerRole::CoBorrower)),
    ) {
        let m = match &account {
            Some(a) => tx.member(centre, a)?,
            None => None,
        };
        borrowers.push(BorrowerInfo {
            name: m.as_ref().map(|m| m.name.clone()).unwrap_or_default(),
            id_number: id,
            role,
            monthly_income: m.map_or(Fen::ZERO, |m| m.base),
        });
    }
    let method = Method::from_code(&row.method)
        .map_err(|e| invalid("method", &row.method, e.to_string()))?;
    Ok(Some(CommercialRequest {
        application_no: row.application_no.clone(),
        borrowers,
        amount: Fen::new(part.requested),
        months: u32::try_from(row.months).unwrap_or(0),
        method,
        repay_day: u8::try_from(row.repay_day).unwrap_or(0),
        first_home: row.home == "first",
        price: Fen::new(d.price.unwrap_or(0)),
        property: d.contract_no.clone(),
        hpf_amount: Fen::new(row.principal),
        hpf_payment: decision.first_payment,
        requested_on: today,
    }))
}

/// Asks the bank to pay the seller its part of a combination loan (once the centre's
/// part is disbursed or being disbursed; again after an unanswered call — the bank pays
/// once per loan). Does nothing for a provident-fund loan or a part already paid.
pub fn disburse_commercial(
    store: &dyn Store,
    lenders: &LenderSet,
    centre: &str,
    loan_no: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let (row, today, seller_bank) = {
        let mut tx = store.begin_read()?;
        let today = crate::ledger::centre(tx.as_mut(), centre)?.business_date;
        let row = tx
            .loan(centre, loan_no)?
            .ok_or_else(|| super::not_found(format!("loan {loan_no}")))?;
        let d = details_of(&row)?;
        let seller_bank =
            super::seller_bank_code(tx.as_mut(), centre, &row.bank_code, &d.seller_bank)?;
        (row, today, seller_bank)
    };
    let d = details_of(&row)?;
    let Some(part) = d.commercial.clone() else {
        return Ok(());
    };
    if part.status != "approved" || !matches!(row.status.as_str(), "active" | "disbursing") {
        return Ok(());
    }
    let bank_loan_no = part
        .bank_loan_no
        .clone()
        .ok_or_else(|| corrupt(format!("loan {loan_no}: approved part without a number")))?;
    let lender = lenders.get(&row.bank_code)?;
    let answer = lender.disburse(
        &bank_loan_no,
        &DisburseOrder {
            seller_account: d.seller_account.clone(),
            seller_name: d.seller_name.clone(),
            seller_bank,
            date: today,
            memo: format!("组合贷款商业部分放款 {loan_no}"),
        },
    );
    let mut tx = store.begin()?;
    lock_centre(tx.as_mut(), centre)?;
    let mut row = lock_loan(tx.as_mut(), centre, loan_no)?;
    let mut d = details_of(&row)?;
    let mut part = d.commercial.clone().unwrap_or_default();
    let who = format!("bank:{}", row.bank_code);
    let (event, zh, en) = match answer {
        Ok(Disbursement::Disbursed(loan)) => {
            record(&mut part, &loan);
            (
                "commercial-disbursed",
                format!(
                    "受委托银行已向售房人发放商业贷款 {} 元（{}）",
                    loan.amount,
                    part.bank_ref.clone().unwrap_or_default()
                ),
                format!(
                    "the bank paid the seller its part, {} yuan ({})",
                    loan.amount,
                    part.bank_ref.clone().unwrap_or_default()
                ),
            )
        }
        Ok(Disbursement::Refused { reason }) => {
            part.note = reason.clone();
            (
                "commercial-refused",
                format!("银行未发放商业贷款：{reason}"),
                format!("the bank did not disburse its part: {reason}"),
            )
        }
        Err(e) => {
            part.note = e.to_string();
            (
                "commercial-pending",
                format!("暂未取得银行放款答复（{e}），稍后再次发送"),
                format!("no answer from the bank on its disbursement ({e}); will send again"),
            )
        }
    };
    d.commercial = Some(part);
    set_details(&mut row, &d)?;
    row.updated_at_us = now.as_microsecond();
    tx.update_loans(centre, std::slice::from_ref(&row))?;
    append(tx.as_mut(), centre, loan_no, &[(event, &who, zh, en)], now)?;
    tx.commit()?;
    Ok(())
}

/// One period of a combination loan as the member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CombinedPeriod {
    /// Period.
    pub period: u32,
    /// The centre's part's due date.
    pub due: Option<Date>,
    /// The centre's part's payment.
    pub hpf: Fen,
    /// The bank's part's payment.
    pub commercial: Fen,
    /// What the member pays in all (组合贷款月还款额).
    pub total: Fen,
}

/// Both schedules side by side with one total per period.
pub fn combined(view: &super::LoanView) -> Vec<CombinedPeriod> {
    let Some(part) = &view.details.commercial else {
        return Vec::new();
    };
    let n = view.schedule.len().max(part.schedule.len());
    (0..n)
        .map(|i| {
            let h = view.schedule.get(i);
            let c = part.schedule.get(i);
            let hpf = h.map_or(0, |r| r.payment.fen());
            let commercial = c.map_or(0, |r| r.principal + r.interest);
            CombinedPeriod {
                period: u32::try_from(i + 1).unwrap_or(u32::MAX),
                due: h.map(|r| r.due).or(c.and_then(|r| r.due)),
                hpf: Fen::new(hpf),
                commercial: Fen::new(commercial),
                total: Fen::new(hpf + commercial),
            }
        })
        .collect()
}

/// The bank's annual rate of the commercial part, when approved.
pub fn commercial_rate(part: &CommercialPart) -> Option<Rate> {
    (part.rate_units > 0).then(|| Rate::from_units(part.rate_units))
}
