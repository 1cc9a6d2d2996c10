//! The commercial-lending port: the commercial part of a combination loan (组合贷款).
//!
//! A combination loan is one application taken at the centre's one window: the centre
//! lends the housing-provident-fund part from the fund, and a commissioned bank lends the
//! commercial part **from its own funds**, on the same property as shared collateral. The
//! bank approves and prices its part ([`CommercialLender::apply`]), disburses it to the
//! seller ([`CommercialLender::disburse`]) and answers status queries
//! ([`CommercialLender::loan`]); the member sees both schedules and one total monthly
//! payment ([`combine`]).
//!
//! The application owns this trait; `anju-bank` implements it over HTTP (the bank's
//! lending API, and `anju bank-sim` which speaks it). Every call is idempotent at the bank:
//! an application by its number (the same content answers the same decision; other content
//! under the same number is [`CommercialDecision::Refused`]), a disbursement by the bank's
//! loan number (the same order answers the disbursed loan again; another order for a loan
//! already disbursed is [`Disbursement::Refused`]). So an adapter may retry any of them
//! after a timeout, and [`Unreachable`] always means "the outcome is unknown, ask again".
//!
//! Money is integer fen ([`Fen`]), rates exact ([`Rate`]); schedules are
//! [`anju_domain::loan::schedule`] rows, exact to the fen.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use anju_domain::loan::{Method, Row};
use anju_domain::money::{Fen, Rate};
use jiff::civil::Date;

use crate::AppError;
pub use crate::settlement::ports::Unreachable;

/// A borrower's role on the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BorrowerRole {
    /// 主借款人: the applicant (exactly one per application).
    Applicant,
    /// 共同借款人: a co-borrower (a spouse, usually).
    CoBorrower,
}

impl BorrowerRole {
    /// The machine code: `applicant` or `co-borrower`.
    pub const fn code(self) -> &'static str {
        match self {
            BorrowerRole::Applicant => "applicant",
            BorrowerRole::CoBorrower => "co-borrower",
        }
    }

    /// The role of a machine code.
    pub fn from_code(code: &str) -> Option<BorrowerRole> {
        [BorrowerRole::Applicant, BorrowerRole::CoBorrower]
            .into_iter()
            .find(|r| r.code() == code)
    }
}

/// One borrower of a commercial loan, as the bank needs them for its credit check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BorrowerInfo {
    /// Name (姓名).
    pub name: String,
    /// ID number (证件号码).
    pub id_number: String,
    /// Applicant or co-borrower.
    pub role: BorrowerRole,
    /// Verified monthly income (月收入), fen, not negative.
    pub monthly_income: Fen,
}

/// The commercial part of a combination-loan application (商业贷款申请).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommercialRequest {
    /// The centre's application number: the idempotency key at the bank.
    pub application_no: String,
    /// Every borrower, exactly one applicant.
    pub borrowers: Vec<BorrowerInfo>,
    /// The commercial amount asked, fen, positive.
    pub amount: Fen,
    /// Term, 1–360 months.
    pub months: u32,
    /// Repayment method.
    pub method: Method,
    /// Repayment day of the month, 1–28.
    pub repay_day: u8,
    /// Whether the property is the family's first home (首套), which sets the bank's
    /// spread and loan-to-value limit.
    pub first_home: bool,
    /// The property's price (成交价), fen.
    pub price: Fen,
    /// The property's registry key or certificate number (不动产权证号): the shared
    /// collateral of both parts.
    pub property: String,
    /// The centre's part (公积金贷款金额), fen: the bank checks the loan-to-value of both.
    pub hpf_amount: Fen,
    /// The first monthly payment of the centre's part, fen (zero when there is none): the
    /// bank checks the total first payment against the borrowers' income.
    pub hpf_payment: Fen,
    /// The day the application was taken (the provisional schedule starts here).
    pub requested_on: Date,
}

/// Where a commercial loan stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommercialStatus {
    /// Approved and priced, not yet disbursed.
    Approved,
    /// Disbursed to the seller.
    Disbursed {
        /// The disbursement (value) date: the final schedule starts here.
        on: Date,
        /// The bank's reference of the movement to the seller.
        bank_ref: String,
    },
    /// Repaid in full (结清).
    PaidOff,
    /// Cancelled before disbursement.
    Cancelled,
}

impl CommercialStatus {
    /// The machine code: `approved`, `disbursed`, `paid_off` or `cancelled`.
    pub const fn code(&self) -> &'static str {
        match self {
            CommercialStatus::Approved => "approved",
            CommercialStatus::Disbursed { .. } => "disbursed",
            CommercialStatus::PaidOff => "paid_off",
            CommercialStatus::Cancelled => "cancelled",
        }
    }
}

/// A commercial loan as the bank reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommercialLoan {
    /// The bank's loan number (贷款账号): the key of every later call.
    pub bank_loan_no: String,
    /// The centre's application number.
    pub application_no: String,
    /// Where it stands.
    pub status: CommercialStatus,
    /// Principal, fen.
    pub amount: Fen,
    /// The annual rate the bank priced it at (LPR + spread).
    pub annual_rate: Rate,
    /// Term, months.
    pub months: u32,
    /// Repayment method.
    pub method: Method,
    /// Repayment day of the month.
    pub repay_day: u8,
    /// The repayment schedule, exactly `months` rows with due dates:
    /// [`anju_domain::loan::schedule`]`(amount, annual_rate, months, method,
    /// Some((d, repay_day)))` where `d` is the request date before disbursement
    /// (provisional) and the disbursement date after it (final).
    pub schedule: Vec<Row>,
}

impl CommercialLoan {
    /// The first payment of the schedule (zero for an empty schedule).
    pub fn first_payment(&self) -> Fen {
        self.schedule.first().map_or(Fen::ZERO, |r| r.payment)
    }
}

/// The bank's answer to an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommercialDecision {
    /// Approved and priced (or, for an application asked again, the loan as it stands now).
    Approved(CommercialLoan),
    /// Declined on credit grounds (loan-to-value, income, the borrower's credit).
    Declined {
        /// The bank's reason.
        reason: String,
    },
    /// Not considered: the application number was already used for different content, or
    /// the request is invalid (an adapter does not send an invalid request at all). The
    /// earlier decision under that number is unchanged.
    Refused {
        /// The bank's (or the adapter's) reason.
        reason: String,
    },
}

/// A disbursement order (放款指令): pay the loan to the seller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisburseOrder {
    /// The seller's account (售房款监管账户 or the seller's own).
    pub seller_account: String,
    /// The name on the seller's account, checked by the bank when it holds the account.
    pub seller_name: String,
    /// Bank code of the seller's account when another bank holds it (跨行).
    pub seller_bank: Option<String>,
    /// The disbursement date: the bank disburses on its business date only.
    pub date: Date,
    /// Memo (附言).
    pub memo: String,
}

/// The bank's answer to a disbursement order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disbursement {
    /// Disbursed (now, or earlier under the same order): the loan with its final schedule.
    Disbursed(CommercialLoan),
    /// Definitely not disbursed by this order: no such loan, not approved, cancelled,
    /// already disbursed under another order, another date than the bank's business date,
    /// or the seller's account is wrong. Nothing moved.
    Refused {
        /// The bank's (or the adapter's) reason.
        reason: String,
    },
}

/// A commissioned bank's lending interface for the commercial part of combination loans.
pub trait CommercialLender: Send + Sync + fmt::Debug {
    /// The bank's code.
    fn code(&self) -> &str;

    /// 商业贷款审批: decides (or answers again) the application, idempotently by
    /// `request.application_no`: the same content → the same decision; different content
    /// under the same number → [`CommercialDecision::Refused`].
    fn apply(&self, request: &CommercialRequest) -> Result<CommercialDecision, Unreachable>;

    /// 商业贷款发放: pays the approved loan to the seller on `order.date`, idempotently
    /// by `bank_loan_no` (the same order again answers the disbursed loan; nothing moves
    /// twice), so it may be retried after [`Unreachable`].
    fn disburse(
        &self,
        bank_loan_no: &str,
        order: &DisburseOrder,
    ) -> Result<Disbursement, Unreachable>;

    /// 贷款查询: the loan as it stands; `None` when the bank has no such loan.
    fn loan(&self, bank_loan_no: &str) -> Result<Option<CommercialLoan>, Unreachable>;
}

/// The commercial lenders configured, by bank code (like
/// [`crate::settlement::BankSet`]).
#[derive(Debug, Default, Clone)]
pub struct LenderSet {
    lenders: BTreeMap<String, Arc<dyn CommercialLender>>,
}

impl LenderSet {
    /// No lenders.
    pub fn new() -> LenderSet {
        LenderSet::default()
    }

    /// Adds (or replaces) a bank's adapter.
    pub fn insert(&mut self, lender: Arc<dyn CommercialLender>) {
        self.lenders.insert(lender.code().to_owned(), lender);
    }

    /// The adapter of a bank.
    pub fn get(&self, code: &str) -> Result<&Arc<dyn CommercialLender>, AppError> {
        self.lenders.get(code).ok_or_else(|| AppError::Invalid {
            field: "bank_code",
            value: code.to_owned(),
            rule: "no commercial-lending connection to this bank is configured (bank settings)"
                .to_owned(),
        })
    }

    /// Codes of the banks configured.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.lenders.keys().map(String::as_str)
    }
}

/// One month of a combination loan: both parts and the one total the member pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CombinedRow {
    /// 1-based period number.
    pub period: u32,
    /// The centre's part's row of the period, if its schedule has one.
    pub hpf: Option<Row>,
    /// The bank's part's row of the period, if its schedule has one.
    pub commercial: Option<Row>,
    /// The total payment of the period (组合贷款月还款额).
    pub total: Fen,
}

/// Both schedules side by side by period, with the total of each period (the longer
/// schedule's later periods stand alone). Fails only on overflow.
pub fn combine(hpf: &[Row], commercial: &[Row]) -> Result<Vec<CombinedRow>, AppError> {
    let n = hpf.len().max(commercial.len());
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let h = hpf.get(i).copied();
        let c = commercial.get(i).copied();
        let total = h
            .map_or(Fen::ZERO, |r| r.payment)
            .checked_add(c.map_or(Fen::ZERO, |r| r.payment))
            .map_err(|e| AppError::Invalid {
                field: "schedule",
                value: format!("period {}", i + 1),
                rule: e.to_string(),
            })?;
        out.push(CombinedRow {
            period: u32::try_from(i + 1).unwrap_or(u32::MAX),
            hpf: h,
            commercial: c,
            total,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use anju_domain::loan::schedule;
    use jiff::civil::date;

    #[test]
    fn combined_rows_add_both_parts() {
        let d = Some((date(2026, 11, 27), 20));
        let hpf = schedule(
            Fen::new(60_000_000),
            Rate::parse_percent("2.85").unwrap(),
            360,
            Method::EqualInstallment,
            d,
        )
        .unwrap();
        let com = schedule(
            Fen::new(40_000_000),
            Rate::parse_percent("3.2").unwrap(),
            240,
            Method::EqualPrincipal,
            d,
        )
        .unwrap();
        let rows = combine(&hpf, &com).unwrap();
        assert_eq!(rows.len(), 360);
        assert_eq!(
            rows[0].total,
            hpf[0].payment.checked_add(com[0].payment).unwrap()
        );
        assert_eq!(rows[300].commercial, None);
        assert_eq!(rows[300].total, hpf[300].payment);
        assert_eq!(rows[359].period, 360);
    }

    #[test]
    fn roles_have_codes_and_the_set_names_a_missing_bank() {
        for r in [BorrowerRole::Applicant, BorrowerRole::CoBorrower] {
            assert_eq!(BorrowerRole::from_code(r.code()), Some(r));
        }
        assert_eq!(BorrowerRole::from_code("guarantor"), None);
        let e = LenderSet::new().get("105").unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        assert!(e.to_string().contains("105"));
    }
}
