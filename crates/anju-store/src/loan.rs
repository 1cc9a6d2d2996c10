//! Rows of loans (贷款): the loan with its decision and servicing state, its repayment
//! schedule (还款计划) one row per period, its status timeline, and its signed documents
//! (contracts, authorisations, the payoff certificate). Plain data; the codes in them are
//! defined by `anju_domain::loan` and `anju_app::loan` and only checked here against the
//! schema's CHECK constraints.
//!
//! A loan shares its application number with the data-sharing application under which
//! its facts were looked up. Its principal outstanding is the balance of its ledger
//! account `121.<loan_no>`; `outstanding` mirrors it for the daily batch (the audit
//! compares them).

use anju_domain::stamp::Stamp;
use jiff::civil::Date;

/// Statuses before the money is lent: a borrower has at most one loan in one of these or
/// in [`SERVICING`] (a partial unique index on the applicant's account).
pub const APPLYING: [&str; 6] = [
    "verifying",
    "review",
    "approved",
    "signed",
    "disbursing",
    "proposed",
];

/// Statuses of a loan being repaid.
pub const SERVICING: [&str; 1] = ["active"];

/// Every status a loan may have (the schema's CHECK): [`APPLYING`], [`SERVICING`] and the
/// final `paid_off`, `refused` and `cancelled`.
pub const STATUSES: [&str; 10] = [
    "verifying",
    "review",
    "proposed",
    "approved",
    "signed",
    "disbursing",
    "active",
    "paid_off",
    "refused",
    "cancelled",
];

/// A loan (个人住房公积金贷款), from application to payoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanRow {
    /// Loan number (借款合同编号 / 贷款账号), unique in the centre.
    pub loan_no: String,
    /// The data-sharing application's number, unique in the centre.
    pub application_no: String,
    /// The applicant's personal account.
    pub account_no: String,
    /// The applicant's resident ID number.
    pub id_number: String,
    /// The co-borrower's (spouse's) resident ID number, if any.
    pub co_id_number: Option<String>,
    /// The co-borrower's personal account in this centre, if any.
    pub co_account_no: Option<String>,
    /// `hpf` (provident-fund loan) or `combination` (组合贷款, with a commercial part).
    pub kind: String,
    /// `first` or `second` home.
    pub home: String,
    /// The commissioned bank (受委托银行) that disburses and deducts.
    pub bank_code: String,
    /// Principal asked for, then decided, fen.
    pub principal: i64,
    /// Annual rate in force, in `Rate` units (10⁻⁹).
    pub rate_units: i64,
    /// Term in months.
    pub months: i32,
    /// Repayment method code (`equal-installment`, `equal-principal`).
    pub method: String,
    /// Day of the month repayments are due (1–28).
    pub repay_day: i32,
    /// Where repayments come from: `card` (the borrower's card at the bank) or `fund`
    /// (the borrowers' provident-fund balances, 对冲还贷).
    pub deduct_from: String,
    /// The borrower's repayment card, when `card`.
    pub card_no: String,
    /// Current status, one of [`STATUSES`].
    pub status: String,
    /// When the contracts were signed.
    pub signed_on: Option<Date>,
    /// When the money was lent.
    pub disbursed_on: Option<Date>,
    /// When it was paid off.
    pub closed_on: Option<Date>,
    /// Principal outstanding, fen (the balance of `121.<loan_no>`).
    pub outstanding: i64,
    /// Five-tier risk classification code (DKFXDJ `01`–`05`).
    pub risk_class: String,
    /// Days the oldest unpaid installment is overdue; 0 when none.
    pub overdue_days: i32,
    /// The details as JSON (price, seller, collateral, commercial part, decision; opaque
    /// here).
    pub details: String,
    /// Business date of the application.
    pub business_date: Date,
    /// When applied, µs since the Unix epoch.
    pub created_at_us: i64,
    /// When last changed, µs since the Unix epoch.
    pub updated_at_us: i64,
    /// Who applied, where, through which channel, for whom.
    pub stamp: Stamp,
}

/// One period of a loan's repayment schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallmentRow {
    /// The loan.
    pub loan_no: String,
    /// 1, 2, 3 … in order.
    pub period: i32,
    /// Due date.
    pub due: Date,
    /// Principal due, fen.
    pub principal: i64,
    /// Interest due, fen.
    pub interest: i64,
    /// Principal paid, fen.
    pub paid_principal: i64,
    /// Interest paid, fen.
    pub paid_interest: i64,
    /// Penalty interest (罚息) accrued to the last day close, fen.
    pub penalty: i64,
    /// Penalty interest paid, fen.
    pub paid_penalty: i64,
    /// `scheduled`, `overdue` or `paid`.
    pub status: String,
    /// When it was paid in full.
    pub paid_on: Option<Date>,
}

impl InstallmentRow {
    /// Principal still owed, fen.
    pub fn principal_owed(&self) -> i64 {
        self.principal - self.paid_principal
    }

    /// Interest still owed, fen.
    pub fn interest_owed(&self) -> i64 {
        self.interest - self.paid_interest
    }

    /// Penalty still owed, fen.
    pub fn penalty_owed(&self) -> i64 {
        self.penalty - self.paid_penalty
    }
}

/// One step of a loan's timeline (append-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanEventRow {
    /// The loan.
    pub loan_no: String,
    /// 1, 2, 3 … in order.
    pub seq: i64,
    /// What happened (a status entered, or `repaid`, `overdue`, `prepaid`, `repriced`,
    /// `classified`, `signed:<role>` …).
    pub event: String,
    /// When, µs since the Unix epoch.
    pub at_us: i64,
    /// Who (a member, a clerk, `system`, `bank:<code>`).
    pub operator: String,
    /// What happened, Chinese.
    pub note_zh: String,
    /// What happened, English.
    pub note_en: String,
}

/// A signed document of a loan (contract, authorisation, payoff certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanDocumentRow {
    /// The loan.
    pub loan_no: String,
    /// Document number, unique in the centre.
    pub doc_no: String,
    /// Kind code (`loan-contract`, `mortgage-contract`, `authorisation`,
    /// `payoff-certificate` …).
    pub kind: String,
    /// SM3 of the document's canonical bytes, hex.
    pub sm3: String,
    /// The signed document as JSON (what `anju verify-document` reads).
    pub content: String,
    /// When stored, µs since the Unix epoch.
    pub created_at_us: i64,
}

/// A day close (日终) done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCloseRow {
    /// The business date closed.
    pub business_date: Date,
    /// When, µs since the Unix epoch.
    pub closed_at_us: i64,
    /// Who ran it.
    pub operator: String,
    /// What each job did, as JSON (opaque here).
    pub summary: String,
}
