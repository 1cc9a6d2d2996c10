//! Loans (贷款): apply → facts from data sharing → rule → decision → contracts signed once
//! → disbursement through settlement → repayment, overdue, prepayment and payoff.
//!
//! The flow (issue 7):
//! 1. [`apply`] checks the request, opens the data-sharing application and the loan in one
//!    transaction (one loan being applied for or repaid per applicant account: a partial
//!    unique index), records `submitted` → `verifying`, verifies the facts the loan needs
//!    (marriage, purchase contract, homes owned, credit, social security, income), then in
//!    one transaction under the centre lock reads the borrowers' accounts and the family's
//!    earlier loans and decides with [`anju_domain::loan::decide`]: **approve** (the
//!    amount, term, rate and every limit candidate recorded), **review** (staff: one clerk
//!    proposes, another confirms), or **refuse** with the reasons.
//! 2. The contracts are generated and signed once by each borrower and sealed by the
//!    centre (`contract`), the mortgage registered.
//! 3. [`servicing::disburse`] pays the price part to the seller through settlement (the
//!    pending entry Dr `121.<loan>` Cr `101.<bank>`); the bank's answer activates the loan
//!    and writes its schedule from the value date.
//! 4. The day close ([`servicing::loan_day`], part of `crate::dayclose`) deducts what is due
//!    (from the card through the bank, or from the provident-fund balances), marks
//!    overdue installments, accrues penalty interest and classifies the loan; prepayment
//!    and payoff re-amortise or close it.
//!
//! The principal outstanding is the balance of `121.<loan>`; interest and penalty are
//! income when received (cash basis), so the ledger holds only money that moved.

pub mod combination;
pub mod contract;
pub mod servicing;

pub(crate) use servicing::{instructions_settled_in, money_in_batch_in};

use anju_domain::collection::YearMonth;
use anju_domain::ids::IdCard;
use anju_domain::ledger::AccountNo;
use anju_domain::loan::{
    self, Borrower, BorrowerAccount, BorrowerRole, LoanCase, LoanDecision, Method,
};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::Policy;
use anju_domain::sharing::verify::{ApplicationKind, Claims, FactSet, Role, Verdict};
use anju_domain::stamp::Stamp;
use anju_domain::withdrawal::{Reason, Resolution};
use anju_store::loan::{InstallmentRow, LoanEventRow, LoanRow};
use anju_store::{Store, StoreError, StoreTx};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::ledger::lock_centre;
use crate::lending::LenderSet;
use crate::settlement::BankSet;
use crate::sharing::{
    Departments, NewApplication, Sharing, city_prefix, close_application_in, open_application_in,
    verify_application, verify_application_with,
};

pub(crate) fn invalid(
    field: &'static str,
    value: impl Into<String>,
    rule: impl Into<String>,
) -> AppError {
    AppError::Invalid {
        field,
        value: value.into(),
        rule: rule.into(),
    }
}

pub(crate) fn not_found(what: String) -> AppError {
    AppError::NotFound { what }
}

pub(crate) fn corrupt(what: String) -> AppError {
    AppError::Store(StoreError::Corrupt { what })
}

/// What the loan use cases need.
#[derive(Debug, Clone, Copy)]
pub struct Loans<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// Other departments' data.
    pub departments: &'a Departments,
    /// The commissioned banks (settlement).
    pub banks: &'a BankSet,
    /// The commissioned banks' own lending (the commercial part of combination loans).
    pub lenders: &'a LenderSet,
    /// The centre's code.
    pub centre: &'a str,
    /// The centre's policy.
    pub policy: &'a Policy,
}

impl Loans<'_> {
    pub(crate) fn sharing(&self) -> Sharing<'_> {
        Sharing {
            store: self.store,
            departments: self.departments,
            centre: self.centre,
        }
    }

    /// What servicing (disbursement, repayment, the day close) needs.
    pub fn servicing(&self) -> servicing::Servicing<'_> {
        servicing::Servicing {
            store: self.store,
            banks: self.banks,
            lenders: self.lenders,
            centre: self.centre,
            policy: self.policy,
        }
    }
}

/// Where repayments come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeductFrom {
    /// The borrower's bound card, deducted by the bank on the due day (银行代扣).
    Card,
    /// The borrowers' provident-fund balances (对冲还贷).
    Fund,
}

impl DeductFrom {
    /// Stored code.
    pub const fn code(self) -> &'static str {
        match self {
            DeductFrom::Card => "card",
            DeductFrom::Fund => "fund",
        }
    }

    /// Parses [`DeductFrom::code`].
    pub fn from_code(code: &str) -> Option<DeductFrom> {
        [DeductFrom::Card, DeductFrom::Fund]
            .into_iter()
            .find(|d| d.code() == code)
    }
}

/// A loan application.
#[derive(Debug, Clone)]
pub struct NewLoan {
    /// Application number (1–40 of `A-Z a-z 0-9 -`), unique in the centre.
    pub application_no: String,
    /// The applicant's resident ID number (the main borrower).
    pub id_number: String,
    /// The spouse as co-borrower (共同借款人), if any; their consent goes in `consents`.
    pub spouse: Option<String>,
    /// Parties other than the applicant who consented, with how.
    pub consents: Vec<(String, String)>,
    /// The filed purchase contract (网签备案号) of the home.
    pub contract_no: String,
    /// Provident-fund loan amount asked for.
    pub amount: Fen,
    /// Term in months.
    pub months: u32,
    /// Repayment method.
    pub method: Method,
    /// Day of the month repayments fall due (1–28).
    pub repay_day: u8,
    /// Where repayments come from.
    pub deduct_from: DeductFrom,
    /// The commissioned bank handling the loan (disbursement, card deductions).
    pub bank_code: String,
    /// A combination loan's commercial part (组合贷款的商业贷款部分), asked of the same
    /// bank; `None` for a provident-fund loan alone.
    pub commercial: Option<Fen>,
    /// Who applied, where, through which channel, for whom.
    pub stamp: Stamp,
}

/// What a loan records beyond its columns (stored as JSON in `details`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    /// The purchase contract's filing number.
    pub contract_no: String,
    /// The provident-fund amount asked for, fen.
    pub requested: i64,
    /// The term asked for.
    pub requested_months: u32,
    /// The home's price from the filed contract, fen.
    #[serde(default)]
    pub price: Option<i64>,
    /// The home's address (the collateral).
    #[serde(default)]
    pub address: String,
    /// The seller paid at disbursement (from the filed contract).
    #[serde(default)]
    pub seller_name: String,
    /// The seller's account.
    #[serde(default)]
    pub seller_account: String,
    /// The seller's bank.
    #[serde(default)]
    pub seller_bank: String,
    /// The decision in full, as JSON.
    #[serde(default)]
    pub decision: Option<serde_json::Value>,
    /// Reason of the last decision, Chinese.
    #[serde(default)]
    pub reason_zh: String,
    /// Reason of the last decision, English.
    #[serde(default)]
    pub reason_en: String,
    /// The clerk who proposed a manual decision (maker).
    #[serde(default)]
    pub proposed_by: Option<String>,
    /// What was proposed (`approve` or `refuse`) with the note.
    #[serde(default)]
    pub proposal: Option<(String, String)>,
    /// The clerk who confirmed it (checker).
    #[serde(default)]
    pub decided_by: Option<String>,
    /// Serials of the disbursement attempts, latest last.
    #[serde(default)]
    pub disbursements: Vec<String>,
    /// A card prepayment waiting for the bank's answer.
    #[serde(default)]
    pub pending_prepayment: Option<PendingPrepayment>,
    /// Prepayments made.
    #[serde(default)]
    pub prepayments: Vec<PrepaymentRecord>,
    /// A combination loan's commercial part.
    #[serde(default)]
    pub commercial: Option<combination::CommercialPart>,
    /// The filed contract's kind (`new` / `second-hand`).
    #[serde(default)]
    pub contract_kind: String,
    /// The contract's buyers (the collateral's owners).
    #[serde(default)]
    pub buyers: Vec<String>,
    /// The home's certificate number when it is registered already (a second-hand home).
    #[serde(default)]
    pub certificate_no: Option<String>,
    /// The mortgage registration (不动产登记证明号), once registered.
    #[serde(default)]
    pub mortgage_no: Option<String>,
    /// When the mortgage was released.
    #[serde(default)]
    pub mortgage_released: Option<Date>,
}

/// A prepayment deducted from the card, until the bank answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPrepayment {
    /// The deduction's serial.
    pub serial: String,
    /// Principal prepaid, fen.
    pub principal: i64,
    /// Interest to date on the remaining principal, fen.
    pub interest: i64,
    /// `reamortise`, `shorten` or `payoff`.
    pub mode: String,
}

/// A prepayment made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepaymentRecord {
    /// Business date.
    pub on: Date,
    /// Principal prepaid, fen.
    pub principal: i64,
    /// Interest paid with it, fen.
    pub interest: i64,
    /// `reamortise`, `shorten` or `payoff`.
    pub mode: String,
}

pub(crate) fn details_of(row: &LoanRow) -> Result<Details, AppError> {
    serde_json::from_str(&row.details)
        .map_err(|e| corrupt(format!("loan {}: details: {e}", row.loan_no)))
}

pub(crate) fn set_details(row: &mut LoanRow, d: &Details) -> Result<(), AppError> {
    row.details = serde_json::to_string(d)
        .map_err(|e| corrupt(format!("loan {}: details: {e}", row.loan_no)))?;
    Ok(())
}

/// A loan as the borrower and staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct LoanView {
    /// Loan number.
    pub loan_no: String,
    /// Application number.
    pub application_no: String,
    /// Applicant's personal account.
    pub account_no: String,
    /// Co-borrower's ID (masked).
    pub co_borrower: Option<String>,
    /// `hpf` or `combination`.
    pub kind: String,
    /// `first` or `second` home.
    pub home: String,
    /// Status.
    pub status: String,
    /// Status, Chinese.
    pub status_zh: String,
    /// Principal.
    pub principal: Fen,
    /// Annual rate in percent.
    pub annual_rate_pct: String,
    /// Term in months.
    pub months: i32,
    /// Method code.
    pub method: String,
    /// Repayment day.
    pub repay_day: i32,
    /// `card` or `fund`.
    pub deduct_from: String,
    /// Principal outstanding.
    pub outstanding: Fen,
    /// Risk class code and label.
    pub risk_class: String,
    /// Days overdue.
    pub overdue_days: i32,
    /// Disbursed on.
    pub disbursed_on: Option<Date>,
    /// Paid off on.
    pub closed_on: Option<Date>,
    /// Details (contract, price, decision, prepayments).
    pub details: Details,
    /// The schedule.
    pub schedule: Vec<InstallmentView>,
    /// The timeline.
    pub events: Vec<EventView>,
    /// Signed documents: (number, kind, SM3).
    pub documents: Vec<(String, String, String)>,
    /// A combination loan's two schedules side by side with one total per period.
    pub combined: Vec<combination::CombinedPeriod>,
}

/// One period of the schedule as shown.
#[derive(Debug, Clone, Serialize)]
pub struct InstallmentView {
    /// Period.
    pub period: i32,
    /// Due date.
    pub due: Date,
    /// Principal.
    pub principal: Fen,
    /// Interest.
    pub interest: Fen,
    /// Payment (principal + interest).
    pub payment: Fen,
    /// Penalty accrued.
    pub penalty: Fen,
    /// Paid so far (principal + interest + penalty).
    pub paid: Fen,
    /// `scheduled`, `overdue` or `paid`.
    pub status: String,
}

/// One timeline step.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// What happened (code).
    pub event: String,
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub operator: String,
    /// Chinese.
    pub note_zh: String,
    /// English.
    pub note_en: String,
}

/// Status labels in Chinese.
pub fn status_zh(status: &str) -> &'static str {
    match status {
        "verifying" => "核验中",
        "review" => "待人工审核",
        "proposed" => "待复核",
        "approved" => "已审批待签约",
        "signed" => "已签约待放款",
        "disbursing" => "放款中",
        "active" => "还款中",
        "paid_off" => "已结清",
        "refused" => "不予贷款",
        "cancelled" => "已撤销",
        _ => "未知",
    }
}

pub(crate) use crate::mask as mask_id;

/// Appends timeline steps `(event, who, zh, en)` after the existing ones.
pub(crate) fn append(
    tx: &mut dyn StoreTx,
    centre: &str,
    loan_no: &str,
    steps: &[(&str, &str, String, String)],
    now: Timestamp,
) -> Result<(), AppError> {
    let first = tx
        .count_loan_events(centre, &[loan_no.to_owned()])?
        .first()
        .map_or(0, |(_, n)| *n)
        + 1;
    let rows: Vec<LoanEventRow> = steps
        .iter()
        .zip(first..)
        .map(|((event, who, zh, en), seq)| LoanEventRow {
            loan_no: loan_no.to_owned(),
            seq,
            event: (*event).to_owned(),
            at_us: now.as_microsecond(),
            operator: (*who).to_owned(),
            note_zh: zh.chars().take(500).collect(),
            note_en: en.chars().take(800).collect(),
        })
        .collect();
    tx.insert_loan_events(centre, &rows)?;
    if let Some(status) = rows
        .iter()
        .rev()
        .find(|r| anju_store::loan::STATUSES.contains(&r.event.as_str()))
        .map(|r| r.event.as_str())
        && let Some(loan) = tx.loan(centre, loan_no)?
    {
        notify_status(tx, centre, &loan, status, now)?;
    }
    Ok(())
}

/// Tells the borrowers (the applicant and any co-borrower) the status a loan reached.
fn notify_status(
    tx: &mut dyn StoreTx,
    centre: &str,
    loan: &LoanRow,
    status: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    for id in std::iter::once(&loan.id_number).chain(loan.co_id_number.iter()) {
        crate::notify::notify_application_status(
            tx,
            centre,
            id,
            crate::notify::Application::Loan,
            &loan.loan_no,
            status_zh(status),
            now,
        )?;
    }
    Ok(())
}

/// Appends timeline steps `(loan, event, who, zh, en)` of many loans in one write (a
/// batch: each loan's steps numbered after its existing ones, in the order given).
pub(crate) fn append_many(
    tx: &mut dyn StoreTx,
    centre: &str,
    steps: Vec<(String, &'static str, String, String, String)>,
    now: Timestamp,
) -> Result<(), AppError> {
    let nos: Vec<String> = steps
        .iter()
        .map(|s| s.0.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // Each loan's next step number, read for the whole batch at once.
    let mut next: std::collections::BTreeMap<String, i64> =
        nos.iter().map(|n| (n.clone(), 1)).collect();
    for (loan_no, count) in tx.count_loan_events(centre, &nos)? {
        next.insert(loan_no, count + 1);
    }
    let mut rows = Vec::with_capacity(steps.len());
    for (loan_no, event, who, zh, en) in steps {
        let seq = next.get(&loan_no).copied().unwrap_or(1);
        next.insert(loan_no.clone(), seq + 1);
        rows.push(LoanEventRow {
            loan_no,
            seq,
            event: event.to_owned(),
            at_us: now.as_microsecond(),
            operator: who,
            note_zh: zh.chars().take(500).collect(),
            note_en: en.chars().take(800).collect(),
        });
    }
    tx.insert_loan_events(centre, &rows)?;
    // Each loan's borrowers are told the last status it reached in the batch.
    let mut reached: std::collections::BTreeMap<String, &str> = std::collections::BTreeMap::new();
    for r in &rows {
        if let Some(s) = anju_store::loan::STATUSES
            .iter()
            .find(|s| **s == r.event.as_str())
        {
            reached.insert(r.loan_no.clone(), s);
        }
    }
    if !reached.is_empty() {
        let nos: Vec<String> = reached.keys().cloned().collect();
        for loan in tx.loans_by_nos(centre, &nos)? {
            if let Some(status) = reached.get(&loan.loan_no) {
                notify_status(tx, centre, &loan, status, now)?;
            }
        }
    }
    Ok(())
}

pub(crate) fn expect_status(row: &LoanRow, allowed: &[&str]) -> Result<(), AppError> {
    if allowed.contains(&row.status.as_str()) {
        Ok(())
    } else {
        Err(invalid(
            "status",
            &row.status,
            format!(
                "loan {} is {} ({}); this step needs {}",
                row.loan_no,
                row.status,
                status_zh(&row.status),
                allowed.join(" or ")
            ),
        ))
    }
}

pub(crate) fn lock_loan(
    tx: &mut dyn StoreTx,
    centre: &str,
    loan_no: &str,
) -> Result<LoanRow, AppError> {
    tx.lock_loan(centre, loan_no)?
        .ok_or_else(|| not_found(format!("loan {loan_no}")))
}

/// The seller's bank as a bank code for an instruction: `None` when it is the loan's own
/// bank (paid within the bank), otherwise the code of the registered bank the contract
/// names (by code or by name). A bank the centre does not know cannot be paid to.
pub(crate) fn seller_bank_code(
    tx: &mut dyn StoreTx,
    centre: &str,
    loan_bank: &str,
    seller_bank: &str,
) -> Result<Option<String>, AppError> {
    let seller_bank = seller_bank.trim();
    if seller_bank.is_empty() {
        return Ok(None);
    }
    let banks = tx.banks(centre)?;
    let found = banks
        .iter()
        .find(|b| b.code == seller_bank || b.name == seller_bank)
        .ok_or_else(|| {
            invalid(
                "seller_bank",
                seller_bank,
                "the seller's bank in the filed contract is not a bank the centre can pay to (register it first)",
            )
        })?;
    Ok((found.code != loan_bank).then(|| found.code.clone()))
}

/// The ledger account of a loan (`121.<loan_no>`).
pub(crate) fn loan_account(loan_no: &str) -> Result<AccountNo, AppError> {
    AccountNo::sub("121", loan_no).map_err(|e| invalid("loan_no", loan_no, e.to_string()))
}

fn check_request(new: &NewLoan, banks: &BankSet) -> Result<(), AppError> {
    new.stamp
        .validate()
        .map_err(|e| invalid("stamp", "", e.to_string()))?;
    IdCard::parse(&new.id_number)
        .map_err(|e| invalid("id_number", &new.id_number, e.to_string()))?;
    if let Some(s) = &new.spouse {
        IdCard::parse(s).map_err(|e| invalid("spouse", s, e.to_string()))?;
        if s == &new.id_number {
            return Err(invalid("spouse", s, "the co-borrower is not the applicant"));
        }
    }
    if !new.amount.is_positive() {
        return Err(invalid(
            "amount",
            new.amount.to_string(),
            "must be positive",
        ));
    }
    if new.months == 0 || new.months > loan::MAX_MONTHS {
        return Err(invalid(
            "months",
            new.months.to_string(),
            format!("a term is 1-{} months", loan::MAX_MONTHS),
        ));
    }
    if new.repay_day == 0 || new.repay_day > loan::MAX_REPAY_DAY {
        return Err(invalid(
            "repay_day",
            new.repay_day.to_string(),
            format!(
                "a repayment day is 1-{} (every month has it)",
                loan::MAX_REPAY_DAY
            ),
        ));
    }
    if let Some(c) = new.commercial
        && !c.is_positive()
    {
        return Err(invalid("commercial", c.to_string(), "must be positive"));
    }
    let c = new.contract_no.trim();
    if c.is_empty() || c.chars().count() > 40 {
        return Err(invalid(
            "contract_no",
            &new.contract_no,
            "the filed purchase contract number: 1-40 characters",
        ));
    }
    if banks.get(&new.bank_code).is_err() {
        return Err(invalid(
            "bank_code",
            &new.bank_code,
            "not a commissioned bank of the centre",
        ));
    }
    Ok(())
}

/// Applies for a loan and carries it as far as it goes without a person: verified and
/// decided. Returns the loan as it then is. Bad input changes nothing and says which
/// field broke which rule.
pub fn apply(ctx: &Loans<'_>, new: &NewLoan, now: Timestamp) -> Result<LoanView, AppError> {
    check_request(new, ctx.banks)?;
    let started = std::time::Instant::now();
    let centre = ctx.centre;
    let mut tx = ctx.store.begin()?;
    let today = lock_centre(tx.as_mut(), centre)?.business_date;
    let member = tx
        .member_by_id_number(centre, &new.id_number)?
        .ok_or_else(|| invalid("id_number", &new.id_number, "has no account in this centre"))?;
    let co_account = match &new.spouse {
        Some(s) => tx.member_by_id_number(centre, s)?.map(|m| m.account_no),
        None => None,
    };
    if new.deduct_from == DeductFrom::Card {
        let card = tx.card(centre, &member.account_no)?.ok_or_else(|| {
            invalid(
                "deduct_from",
                "card",
                "the applicant has no bound bank card to deduct repayments from",
            )
        })?;
        if card.bank_code != new.bank_code {
            return Err(invalid(
                "bank_code",
                &new.bank_code,
                format!(
                    "repayments are deducted from the bound card at bank {}: apply through that bank",
                    card.bank_code
                ),
            ));
        }
    }
    if let Some(open) = tx
        .loans_of_person(centre, &new.id_number)?
        .into_iter()
        .find(|l| l.status != "paid_off" && l.status != "refused" && l.status != "cancelled")
    {
        return Err(invalid(
            "id_number",
            mask_id(&new.id_number),
            format!(
                "loan {} ({}) is {}: one loan at a time",
                open.loan_no,
                open.application_no,
                status_zh(&open.status)
            ),
        ));
    }
    let mut parties = vec![(new.id_number.clone(), Role::Applicant)];
    parties.extend(new.spouse.iter().map(|s| (s.clone(), Role::Spouse)));
    let claims = Claims {
        contract_no: Some(new.contract_no.trim().to_owned()),
        year: Some(today.year() - 1),
        ..Claims::default()
    };
    let app = NewApplication {
        application_no: new.application_no.clone(),
        kind: ApplicationKind::Loan,
        parties,
        claims,
        consents: new.consents.clone(),
        stamp: new.stamp.clone(),
    };
    open_application_in(tx.as_mut(), centre, &app, today, now)?;
    let loan_no = format!("DK{:012}", tx.count_loans(centre)? + 1);
    let details = Details {
        contract_no: new.contract_no.trim().to_owned(),
        requested: new.amount.fen(),
        requested_months: new.months,
        commercial: new.commercial.map(|c| combination::CommercialPart {
            requested: c.fen(),
            status: "pending".to_owned(),
            ..combination::CommercialPart::default()
        }),
        ..Details::default()
    };
    let mut row = LoanRow {
        loan_no: loan_no.clone(),
        application_no: new.application_no.trim().to_owned(),
        account_no: member.account_no.clone(),
        id_number: member.id_number.clone(),
        co_id_number: new.spouse.clone(),
        co_account_no: co_account,
        kind: if new.commercial.is_some() {
            "combination"
        } else {
            "hpf"
        }
        .to_owned(),
        home: "first".to_owned(),
        bank_code: new.bank_code.clone(),
        principal: new.amount.fen(),
        rate_units: 0,
        months: i32::try_from(new.months).unwrap_or(i32::MAX),
        method: new.method.code().to_owned(),
        repay_day: i32::from(new.repay_day),
        deduct_from: new.deduct_from.code().to_owned(),
        card_no: String::new(),
        status: "verifying".to_owned(),
        signed_on: None,
        disbursed_on: None,
        closed_on: None,
        outstanding: 0,
        risk_class: "01".to_owned(),
        overdue_days: 0,
        details: String::new(),
        business_date: today,
        created_at_us: now.as_microsecond(),
        updated_at_us: now.as_microsecond(),
        stamp: new.stamp.clone(),
    };
    set_details(&mut row, &details)?;
    tx.insert_loan(centre, &row).map_err(|e| match e {
        StoreError::Conflict { .. } => invalid(
            "id_number",
            mask_id(&new.id_number),
            "another loan of this account is being applied for or repaid: one at a time",
        ),
        other => other.into(),
    })?;
    let who = new.stamp.operator.as_str();
    append(
        tx.as_mut(),
        centre,
        &loan_no,
        &[
            (
                "submitted",
                who,
                format!("提交住房公积金贷款申请 {}", new.amount),
                format!("applied for a provident-fund loan of {} yuan", new.amount),
            ),
            (
                "verifying",
                "system",
                "向相关部门核验婚姻、购房合同、房产、征信、社保、收入信息".to_owned(),
                "verifying marriage, purchase contract, homes, credit, insurance and income"
                    .to_owned(),
            ),
        ],
        now,
    )?;
    let v = verify_application_with(
        &ctx.sharing(),
        tx,
        &row.application_no,
        &new.stamp,
        today,
        now,
    )?;
    decide_and_record(
        ctx,
        &loan_no,
        &v.facts,
        &v.verdicts,
        crate::later(now, started),
    )?;
    // A combination loan's commercial part is asked of the bank once the centre approved
    // its own (no transaction open meanwhile).
    combination::ask_bank(
        ctx.store,
        ctx.lenders,
        centre,
        &loan_no,
        crate::later(now, started),
    )?;
    show(ctx.store, centre, &loan_no)
}

/// Carries on a loan left `verifying` (e.g. the process stopped between the look-ups and
/// the decision): verified again (from the application's cache) and decided.
pub fn resume(
    ctx: &Loans<'_>,
    loan_no: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<LoanView, AppError> {
    let (row, today) = {
        let mut tx = ctx.store.begin_read()?;
        let today = crate::ledger::centre(tx.as_mut(), ctx.centre)?.business_date;
        let row = tx
            .loan(ctx.centre, loan_no)?
            .ok_or_else(|| not_found(format!("loan {loan_no}")))?;
        (row, today)
    };
    expect_status(&row, &["verifying"])?;
    let v = verify_application(&ctx.sharing(), &row.application_no, stamp, today, now)?;
    decide_and_record(ctx, loan_no, &v.facts, &v.verdicts, now)?;
    show(ctx.store, ctx.centre, loan_no)
}

/// The consecutive months paid up to the latest paid month; 0 when the latest paid month
/// is more than one month before the month of `today` (contributions stopped).
pub(crate) fn continuous_months(paid: &[YearMonth], today: Date) -> u32 {
    let Some(&last) = paid.last() else {
        return 0;
    };
    if last.months_until(YearMonth::of(today)) > 1 {
        return 0;
    }
    let mut n = 1;
    let mut cur = last;
    for &m in paid.iter().rev().skip(1) {
        if m.plus(1) == Some(cur) {
            n += 1;
            cur = m;
        } else {
            break;
        }
    }
    n
}

fn borrower_account(
    tx: &mut dyn StoreTx,
    centre: &str,
    account_no: &str,
    today: Date,
) -> Result<BorrowerAccount, AppError> {
    let m = tx
        .member(centre, account_no)?
        .ok_or_else(|| not_found(format!("personal account {account_no}")))?;
    let no = AccountNo::sub("201", account_no)
        .map_err(|e| invalid("account_no", account_no, e.to_string()))?;
    let state = tx
        .load_accounts(centre, std::slice::from_ref(&no))?
        .pop()
        .ok_or_else(|| not_found(format!("ledger account {no}")))?;
    let paid = tx.paid_months(centre, account_no)?;
    Ok(BorrowerAccount {
        status: m.status,
        balance: state.balance,
        base: m.base,
        continuous_months: continuous_months(&paid, today),
    })
}

/// Reads what the rule needs inside `tx` and decides.
fn decide_in(
    tx: &mut dyn StoreTx,
    ctx: &Loans<'_>,
    row: &LoanRow,
    facts: &FactSet,
    verdicts: &[Verdict],
    today: Date,
) -> Result<LoanDecision, AppError> {
    let centre = ctx.centre;
    let app = tx
        .application(centre, &row.application_no)?
        .ok_or_else(|| not_found(format!("application {}", row.application_no)))?;
    let claims: Claims = serde_json::from_str(&app.claims)
        .map_err(|e| invalid("claims", &app.claims, e.to_string()))?;
    let applicant = borrower_account(tx, centre, &row.account_no, today)?;
    let spouse = match &row.co_account_no {
        Some(a) => Some(borrower_account(tx, centre, a, today)?),
        None => None,
    };
    // The family's loans from this centre: earlier ones count, open ones block.
    let mut family = tx.loans_of_person(centre, &row.id_number)?;
    if let Some(s) = &row.co_id_number {
        family.extend(tx.loans_of_person(centre, s)?);
    }
    family.retain(|l| l.loan_no != row.loan_no);
    family.sort_by(|a, b| a.loan_no.cmp(&b.loan_no));
    family.dedup_by(|a, b| a.loan_no == b.loan_no);
    let previous = family
        .iter()
        .filter(|l| l.status == "active" || l.status == "paid_off")
        .count();
    let outstanding = family
        .iter()
        .any(|l| !matches!(l.status.as_str(), "paid_off" | "refused" | "cancelled"));
    let mut borrowers = vec![Borrower {
        id_number: &row.id_number,
        role: BorrowerRole::Applicant,
        account: Some(applicant),
    }];
    if let Some(s) = &row.co_id_number {
        borrowers.push(Borrower {
            id_number: s,
            role: BorrowerRole::CoBorrower,
            account: spouse,
        });
    }
    let d = details_of(row)?;
    let method = Method::from_code(&row.method)
        .map_err(|e| invalid("method", &row.method, e.to_string()))?;
    Ok(loan::decide(&LoanCase {
        today,
        borrowers: &borrowers,
        requested: Fen::new(d.requested),
        months: d.requested_months,
        method,
        previous_loans: u32::try_from(previous).unwrap_or(u32::MAX),
        outstanding_loan: outstanding,
        claims: &claims,
        verdicts,
        facts,
        policy: ctx.policy,
        city_prefix: city_prefix(centre),
    }))
}

fn reasons_text(reasons: &[Reason]) -> (String, String) {
    (
        reasons
            .iter()
            .map(|r| r.zh.as_str())
            .collect::<Vec<_>>()
            .join("；"),
        reasons
            .iter()
            .map(|r| r.en.as_str())
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// The certificate number of a home at `address` the buyer owns already (a second-hand
/// home registered to them), from the facts.
fn certificate_of(facts: &FactSet, owner: &str, address: &str) -> Option<String> {
    use anju_domain::sharing::{Answer, FactKey, Query};
    match facts.get(&FactKey::new(Query::Properties, owner)) {
        Some(Ok(Answer::Properties(ps))) => ps
            .iter()
            .find(|p| p.address == address)
            .map(|p| p.certificate_no.clone()),
        _ => None,
    }
}

/// The purchase contract named by the claims, from the facts.
fn contract_from(
    facts: &FactSet,
    buyer: &str,
    contract_no: &str,
) -> Option<anju_domain::sharing::PurchaseContract> {
    use anju_domain::sharing::{Answer, FactKey, Query};
    match facts.get(&FactKey::new(Query::Contracts, buyer)) {
        Some(Ok(Answer::Contracts(cs))) => {
            cs.iter().find(|c| c.contract_no == contract_no).cloned()
        }
        _ => None,
    }
}

fn decide_and_record(
    ctx: &Loans<'_>,
    loan_no: &str,
    facts: &FactSet,
    verdicts: &[Verdict],
    now: Timestamp,
) -> Result<(), AppError> {
    let centre = ctx.centre;
    let mut tx = ctx.store.begin()?;
    let today = lock_centre(tx.as_mut(), centre)?.business_date;
    let mut row = lock_loan(tx.as_mut(), centre, loan_no)?;
    expect_status(&row, &["verifying"])?;
    let decision = decide_in(tx.as_mut(), ctx, &row, facts, verdicts, today)?;
    let mut d = details_of(&row)?;
    if let Some(c) = contract_from(facts, &row.id_number, &d.contract_no) {
        d.price = Some(c.price.fen());
        d.address = c.address.clone();
        d.seller_name = c.seller_name.clone();
        d.seller_account = c.seller_account.clone();
        d.seller_bank = c.seller_bank.clone();
        d.contract_kind = match c.kind {
            anju_domain::sharing::ContractKind::New => "new",
            _ => "second-hand",
        }
        .to_owned();
        d.buyers = c.buyers.clone();
        d.certificate_no = certificate_of(facts, &row.id_number, &c.address);
    }
    record_decision(tx.as_mut(), ctx, &mut row, &mut d, &decision, "system", now)?;
    tx.commit()?;
    Ok(())
}

/// Writes a decision onto the loan: amount, term, rate, home order, status, reasons.
fn record_decision(
    tx: &mut dyn StoreTx,
    ctx: &Loans<'_>,
    row: &mut LoanRow,
    d: &mut Details,
    decision: &LoanDecision,
    who: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let (zh, en) = reasons_text(&decision.reasons);
    d.decision = Some(
        serde_json::to_value(decision)
            .map_err(|e| corrupt(format!("cannot encode a loan decision: {e}")))?,
    );
    d.reason_zh = zh.clone();
    d.reason_en = en.clone();
    row.home = decision.home.code().to_owned();
    row.principal = decision.amount.fen();
    row.months = i32::try_from(decision.months).unwrap_or(i32::MAX);
    row.rate_units = decision.annual_rate.units();
    row.updated_at_us = now.as_microsecond();
    let (status, zh_note, en_note) = match decision.outcome {
        Resolution::Approve => (
            "approved",
            format!(
                "审批通过：贷款 {} 元，{} 个月，年利率 {}%。{zh}",
                decision.amount,
                decision.months,
                decision.annual_rate.percent_string()
            ),
            format!(
                "approved: {} yuan over {} months at {}% a year. {en}",
                decision.amount,
                decision.months,
                decision.annual_rate.percent_string()
            ),
        ),
        Resolution::Review => (
            "review",
            format!("转人工审核：{zh}"),
            format!("sent to staff review: {en}"),
        ),
        Resolution::Refuse => (
            "refused",
            format!("不予贷款：{zh}"),
            format!("refused: {en}"),
        ),
    };
    row.status = status.to_owned();
    if decision.outcome == Resolution::Refuse {
        row.principal = 0;
        close_application_in(tx, ctx.centre, &row.application_no, now)?;
    }
    set_details(row, d)?;
    tx.update_loans(ctx.centre, std::slice::from_ref(row))?;
    append(
        tx,
        ctx.centre,
        &row.loan_no,
        &[(status, who, zh_note, en_note)],
        now,
    )?;
    Ok(())
}

/// A reviewing clerk's proposal (maker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposal {
    /// Approve the loan as the rule computed it (limits, rate, term).
    Approve,
    /// Refuse it.
    Refuse,
}

fn staff(stamp: &Stamp) -> Result<(), AppError> {
    stamp
        .validate()
        .map_err(|e| invalid("stamp", "", e.to_string()))?;
    if !stamp.operator.starts_with("staff:") {
        return Err(invalid(
            "operator",
            &stamp.operator,
            "only centre staff (staff:<id>) review loans",
        ));
    }
    Ok(())
}

/// A clerk proposes how to decide a loan in review (the maker). The facts are looked at
/// again from the application's cache: a fact that was unavailable may be in by now.
pub fn propose(
    ctx: &Loans<'_>,
    loan_no: &str,
    proposal: Proposal,
    note: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<LoanView, AppError> {
    staff(stamp)?;
    if note.trim().is_empty() || note.chars().count() > 200 {
        return Err(invalid("note", note, "a reason of 1-200 characters"));
    }
    let mut tx = ctx.store.begin()?;
    lock_centre(tx.as_mut(), ctx.centre)?;
    let mut row = lock_loan(tx.as_mut(), ctx.centre, loan_no)?;
    expect_status(&row, &["review"])?;
    let mut d = details_of(&row)?;
    let code = match proposal {
        Proposal::Approve => "approve",
        Proposal::Refuse => "refuse",
    };
    d.proposed_by = Some(stamp.operator.clone());
    d.proposal = Some((code.to_owned(), note.trim().to_owned()));
    row.status = "proposed".to_owned();
    row.updated_at_us = now.as_microsecond();
    set_details(&mut row, &d)?;
    tx.update_loans(ctx.centre, std::slice::from_ref(&row))?;
    append(
        tx.as_mut(),
        ctx.centre,
        loan_no,
        &[(
            "proposed",
            &stamp.operator,
            format!(
                "初审意见：{}（{}）",
                if code == "approve" {
                    "同意"
                } else {
                    "不同意"
                },
                note.trim()
            ),
            format!("proposed to {code}: {}", note.trim()),
        )],
        now,
    )?;
    tx.commit()?;
    show(ctx.store, ctx.centre, loan_no)
}

/// Another clerk confirms or rejects the proposal (the checker; never the maker). An
/// approval takes the rule's amount, term and rate; a loan the rule refused outright is
/// never approved by hand.
pub fn confirm(
    ctx: &Loans<'_>,
    loan_no: &str,
    agree: bool,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<LoanView, AppError> {
    staff(stamp)?;
    let mut tx = ctx.store.begin()?;
    lock_centre(tx.as_mut(), ctx.centre)?;
    let mut row = lock_loan(tx.as_mut(), ctx.centre, loan_no)?;
    expect_status(&row, &["proposed"])?;
    let mut d = details_of(&row)?;
    if d.proposed_by.as_deref() == Some(stamp.operator.as_str()) {
        return Err(invalid(
            "operator",
            &stamp.operator,
            "the checker must be another clerk than the maker (maker-checker)",
        ));
    }
    let (proposal, note) = d
        .proposal
        .clone()
        .ok_or_else(|| corrupt(format!("loan {loan_no}: proposed without a proposal")))?;
    let approve = (proposal == "approve") == agree;
    d.decided_by = Some(stamp.operator.clone());
    let decision: Option<LoanDecision> = d
        .decision
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| corrupt(format!("loan {loan_no}: decision: {e}")))?;
    let mut decision =
        decision.ok_or_else(|| corrupt(format!("loan {loan_no}: in review without a decision")))?;
    if approve && decision.amount.is_positive() {
        decision.outcome = Resolution::Approve;
    } else {
        decision.outcome = Resolution::Refuse;
        decision.amount = Fen::ZERO;
    }
    decision.reasons.push(Reason {
        zh: format!("人工审核（{}）：{note}", stamp.operator),
        en: format!("staff review ({}): {note}", stamp.operator),
    });
    record_decision(
        tx.as_mut(),
        ctx,
        &mut row,
        &mut d,
        &decision,
        &stamp.operator,
        now,
    )?;
    tx.commit()?;
    combination::ask_bank(ctx.store, ctx.lenders, ctx.centre, loan_no, now)?;
    show(ctx.store, ctx.centre, loan_no)
}

/// The loans waiting for staff (review and proposed), oldest first.
pub fn review_queue(store: &dyn Store, centre: &str) -> Result<Vec<LoanView>, AppError> {
    let mut tx = store.begin_read()?;
    let rows = tx.loans_with_status(centre, &["review", "proposed"])?;
    rows.iter().map(|r| view(tx.as_mut(), centre, r)).collect()
}

/// A loan with its schedule, timeline and documents.
pub fn show(store: &dyn Store, centre: &str, loan_no: &str) -> Result<LoanView, AppError> {
    let mut tx = store.begin_read()?;
    let row = tx
        .loan(centre, loan_no)?
        .ok_or_else(|| not_found(format!("loan {loan_no}")))?;
    view(tx.as_mut(), centre, &row)
}

/// The loans of a person (as applicant or co-borrower), oldest first.
pub fn of_person(
    store: &dyn Store,
    centre: &str,
    id_number: &str,
) -> Result<Vec<LoanView>, AppError> {
    let mut tx = store.begin_read()?;
    let rows = tx.loans_of_person(centre, id_number)?;
    rows.iter().map(|r| view(tx.as_mut(), centre, r)).collect()
}

pub(crate) fn installment_view(i: &InstallmentRow) -> InstallmentView {
    InstallmentView {
        period: i.period,
        due: i.due,
        principal: Fen::new(i.principal),
        interest: Fen::new(i.interest),
        payment: Fen::new(i.principal + i.interest),
        penalty: Fen::new(i.penalty),
        paid: Fen::new(i.paid_principal + i.paid_interest + i.paid_penalty),
        status: i.status.clone(),
    }
}

fn view(tx: &mut dyn StoreTx, centre: &str, r: &LoanRow) -> Result<LoanView, AppError> {
    let schedule = tx
        .installments(centre, &r.loan_no)?
        .iter()
        .map(installment_view)
        .collect();
    let events = tx
        .loan_events(centre, &r.loan_no)?
        .into_iter()
        .map(|e| EventView {
            event: e.event,
            at: Timestamp::from_microsecond(e.at_us)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            operator: e.operator,
            note_zh: e.note_zh,
            note_en: e.note_en,
        })
        .collect();
    let documents = tx
        .loan_documents(centre, &r.loan_no)?
        .into_iter()
        .map(|d| (d.doc_no, d.kind, d.sm3))
        .collect();
    let class = loan::RiskClass::from_code(&r.risk_class)
        .map(|c| format!("{} {}", c.code(), c.label_zh()))
        .unwrap_or_else(|| r.risk_class.clone());
    Ok(LoanView {
        loan_no: r.loan_no.clone(),
        application_no: r.application_no.clone(),
        account_no: r.account_no.clone(),
        co_borrower: r.co_id_number.as_deref().map(mask_id),
        kind: r.kind.clone(),
        home: r.home.clone(),
        status: r.status.clone(),
        status_zh: status_zh(&r.status).to_owned(),
        principal: Fen::new(r.principal),
        annual_rate_pct: Rate::from_units(r.rate_units).percent_string(),
        months: r.months,
        method: r.method.clone(),
        repay_day: r.repay_day,
        deduct_from: r.deduct_from.clone(),
        outstanding: Fen::new(r.outstanding),
        risk_class: class,
        overdue_days: r.overdue_days,
        disbursed_on: r.disbursed_on,
        closed_on: r.closed_on,
        details: details_of(r)?,
        schedule,
        events,
        documents,
        combined: Vec::new(),
    })
    .map(|mut v| {
        v.combined = combination::combined(&v);
        v
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ym(y: i16, m: i8) -> YearMonth {
        YearMonth::new(y, m).unwrap_or_else(|| panic!("bad month {y}-{m}"))
    }

    #[test]
    fn continuous_months_counts_the_run_ending_at_the_latest_paid_month() {
        let today = jiff::civil::date(2026, 11, 27);
        let paid = [
            ym(2026, 1),
            ym(2026, 2),
            ym(2026, 5),
            ym(2026, 6),
            ym(2026, 7),
            ym(2026, 8),
            ym(2026, 9),
            ym(2026, 10),
        ];
        assert_eq!(continuous_months(&paid, today), 6);
        assert_eq!(
            continuous_months(&paid[..2], today),
            0,
            "stopped in February"
        );
        assert_eq!(continuous_months(&[], today), 0);
        assert_eq!(continuous_months(&[ym(2026, 11)], today), 1);
    }

    #[test]
    fn deduct_from_codes_round_trip() {
        for d in [DeductFrom::Card, DeductFrom::Fund] {
            assert_eq!(DeductFrom::from_code(d.code()), Some(d));
        }
        assert_eq!(DeductFrom::from_code("cash"), None);
    }
}
