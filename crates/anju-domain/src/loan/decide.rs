//! The decision on a home-loan application (个人住房公积金贷款审批), issue 7.
//!
//! Pure, modelled on [`crate::withdrawal::decide`]: [`decide`] takes the borrowers'
//! accounts, the data-sharing verdicts and facts of the application, the policy and the
//! business date, and returns a [`LoanDecision`]: **approve** (every check verified and
//! every rule passed), **review** (a fact is unavailable, or a person must judge), or
//! **refuse** (a check failed, or a rule), with bilingual reasons, every candidate limit
//! with the figures it was computed from, and which one bound.
//!
//! Rules, all figures from the `[[loan_limits]]` and `[[loan_rate]]` versions in force on
//! the business date:
//!
//! * **Checks.** The loan's checks are [`checks_for`](crate::sharing::verify::checks_for)
//!   with [`ApplicationKind::Loan`](crate::sharing::verify::ApplicationKind::Loan): marital
//!   status, purchase contract, homes owned, no current overdue, no provident-fund loan,
//!   insured, income, and for the spouse no provident-fund loan and homes owned. A check
//!   not verified refuses with its reason; an unavailable one sends the case to review.
//! * **Eligibility.** The applicant has an account in this centre, in status 01 (normal),
//!   with at least `min_continuous_months` months of continuous contribution; no borrower
//!   has an unpaid loan in this centre; the family has had fewer than
//!   `max_loans_per_family` HPF home loans here. A co-borrower's balance and base count
//!   only when their account here is normal and meets the same continuity.
//! * **Couple.** The applicant is married on the civil-affairs record and the spouse on
//!   record is a co-borrower. A co-borrower who is not the spouse on record is refused.
//! * **Home order.** Second when a borrower owns a home in the centre's city (division
//!   codes starting with `city_prefix`; the home being bought, matched by the contract's
//!   address, does not count) or the family had an earlier HPF home loan; first otherwise.
//! * **Term.** At most `max_term_years` × 12 months, and the loan must end (the business
//!   date plus the term, the disbursement being close to the decision) no later than the
//!   applicant's statutory retirement date ([`Policy::retirement_date`], birth date and sex
//!   from the resident ID number) plus `term_beyond_retirement_years`. For a woman the
//!   women workers' age gives the term approved without review; a longer term allowed by
//!   the cadres' age goes to review (the post category is a person's judgment, as for a
//!   retirement withdrawal).
//! * **Limits** ([`LimitKind`]): the amount cap (single / couple × first / second home);
//!   the contract price × the loan-to-value ratio; the borrowers' balances ×
//!   `balance_multiple`; and the repayment capacity — the largest principal whose highest
//!   monthly payment is at most the borrowers' monthly contribution bases ×
//!   `repayment_capacity_pct`, rounded down to the fen ([`max_principal_for_payment`],
//!   at the loan's rate, term and method). Every limit rounds down to
//!   the fen. The limit is the least; the amount is the least of the request and the limit
//!   (a reason says when the request was reduced, and by which limit). A zero limit
//!   refuses.

#[cfg(test)]
mod tests;

use jiff::Span;
use jiff::civil::Date;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::ToPrimitive;
use serde::{Deserialize, Serialize};

use super::{LoanError, MAX_MONTHS, MONTHLY_DEN, Method, installment, monthly_interest, schedule};
use crate::codes::{MaritalStatus, PersonalAccountStatus, Sex};
use crate::ids::IdCard;
use crate::money::{Fen, MoneyError, Rate, Rounding};
use crate::policy::{LoanLimits, Policy, RetirementCategory};
use crate::sharing::verify::{Claims, FactSet, Outcome, Verdict};
use crate::sharing::{Answer, FactKey, PurchaseContract, Query};
use crate::withdrawal::{Reason, Resolution};

/// Whether the home bought is the family's first or second (首套 / 二套).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HomeOrder {
    /// 首套: no home in the city and no earlier HPF home loan.
    First,
    /// 二套.
    Second,
}

impl HomeOrder {
    /// Stored code: `first` or `second`.
    pub const fn code(self) -> &'static str {
        match self {
            HomeOrder::First => "first",
            HomeOrder::Second => "second",
        }
    }

    /// Chinese label: 首套住房 / 二套住房.
    pub const fn label_zh(self) -> &'static str {
        match self {
            HomeOrder::First => "首套住房",
            HomeOrder::Second => "二套住房",
        }
    }

    /// English label.
    pub const fn label_en(self) -> &'static str {
        match self {
            HomeOrder::First => "first home",
            HomeOrder::Second => "second home",
        }
    }
}

/// A borrower's part in the loan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BorrowerRole {
    /// The member who applies (主借款人).
    Applicant,
    /// The applicant's spouse, borrowing jointly (共同借款人).
    CoBorrower,
}

/// A borrower's account in this centre, as the decision sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BorrowerAccount {
    /// Status (GRZHZT).
    pub status: PersonalAccountStatus,
    /// Balance.
    pub balance: Fen,
    /// Monthly contribution base, the proxy for monthly income.
    pub base: Fen,
    /// Consecutive months paid up to now.
    pub continuous_months: u32,
}

/// One borrower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Borrower<'a> {
    /// Resident ID number.
    pub id_number: &'a str,
    /// Applicant or co-borrower.
    pub role: BorrowerRole,
    /// The account in this centre; `None`: no account here.
    pub account: Option<BorrowerAccount>,
}

/// One loan application to decide.
#[derive(Debug, Clone, Copy)]
pub struct LoanCase<'a> {
    /// Business date.
    pub today: Date,
    /// The borrowers, applicant first.
    pub borrowers: &'a [Borrower<'a>],
    /// Amount asked for.
    pub requested: Fen,
    /// Term asked for, in months.
    pub months: u32,
    /// Repayment method.
    pub method: Method,
    /// The family's HPF home loans ever made by this centre.
    pub previous_loans: u32,
    /// A borrower has an unpaid loan in this centre.
    pub outstanding_loan: bool,
    /// What the applicant claims (the contract number).
    pub claims: &'a Claims,
    /// The checks of the application, decided from the facts.
    pub verdicts: &'a [Verdict],
    /// The facts.
    pub facts: &'a FactSet,
    /// The centre's policy.
    pub policy: &'a Policy,
    /// The 4-digit division prefix of the centre's city (`3308`).
    pub city_prefix: &'a str,
}

/// The kind of a candidate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitKind {
    /// The centre's amount cap (最高贷款额度).
    Cap,
    /// Price × loan-to-value ratio (贷款成数).
    LoanToValue,
    /// Repayment capacity (还款能力).
    Capacity,
    /// Balances × multiple (账户余额倍数).
    Balance,
}

impl LimitKind {
    /// Stored code.
    pub const fn code(self) -> &'static str {
        match self {
            LimitKind::Cap => "cap",
            LimitKind::LoanToValue => "loan-to-value",
            LimitKind::Capacity => "capacity",
            LimitKind::Balance => "balance",
        }
    }

    /// Chinese label.
    pub const fn label_zh(self) -> &'static str {
        match self {
            LimitKind::Cap => "最高贷款额度",
            LimitKind::LoanToValue => "贷款成数",
            LimitKind::Capacity => "还款能力",
            LimitKind::Balance => "账户余额倍数",
        }
    }

    /// English label.
    pub const fn label_en(self) -> &'static str {
        match self {
            LimitKind::Cap => "amount cap",
            LimitKind::LoanToValue => "loan-to-value",
            LimitKind::Capacity => "repayment capacity",
            LimitKind::Balance => "balance multiple",
        }
    }
}

/// One candidate upper limit of the loan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitCandidate {
    /// Which limit.
    pub kind: LimitKind,
    /// The amount.
    pub amount: Fen,
    /// How it was computed, with the figures (`价格 1,000,000.00 × 80% = 800,000.00`).
    pub basis: Reason,
}

/// The decision on one loan application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanDecision {
    /// Approve, review or refuse.
    pub outcome: Resolution,
    /// First or second home.
    pub home: HomeOrder,
    /// Whether the caps of a married couple apply.
    pub couple: bool,
    /// The purchase contract's price, when found.
    pub price: Option<Fen>,
    /// Every limit considered.
    pub candidates: Vec<LimitCandidate>,
    /// The limit that bound (the least; the first in [`LimitKind`] order on a tie).
    pub binding: Option<LimitKind>,
    /// The least candidate (0 when none could be computed).
    pub limit: Fen,
    /// The loan amount: the least of the request and the limit; 0 when refused.
    pub amount: Fen,
    /// The term asked for.
    pub months: u32,
    /// The longest term approvable without review (term cap and retirement).
    pub max_months: u32,
    /// The annual rate of the loan (0 when it cannot be determined).
    pub annual_rate: Rate,
    /// The first full monthly payment of `amount`; 0 when refused.
    pub first_payment: Fen,
    /// Why (refusal reasons, review reasons, or the approval's basis).
    pub reasons: Vec<Reason>,
    /// The checks with their outcomes.
    pub checks: Vec<Verdict>,
}

impl LoanDecision {
    /// The reasons joined, Chinese.
    pub fn reason_zh(&self) -> String {
        self.reasons
            .iter()
            .map(|r| r.zh.as_str())
            .collect::<Vec<_>>()
            .join("；")
    }

    /// The reasons joined, English.
    pub fn reason_en(&self) -> String {
        self.reasons
            .iter()
            .map(|r| r.en.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The largest principal whose highest monthly payment, rounded as the schedule rounds
/// it, is at most `budget`: for equal installments the installment M ([`installment`]),
/// for equal principal the first payment P/n + P·r (each part rounded half-up, as in
/// [`schedule`]). A budget of zero or less gives 0.
///
/// Exact inversion with big integers, k being the exact payment per fen of principal
/// (k = r(1+r)ⁿ / ((1+r)ⁿ − 1), 1/n when r = 0; or 1/n + r):
///
/// * equal installment: M = P·k rounded half-up is ≤ budget exactly when
///   P·k < budget + ½, so P = ⌈(budget + ½) / k⌉ − 1;
/// * equal principal: two roundings of half a fen at most each, so P·k ≤ budget + 1 is
///   necessary; P starts at ⌊(budget + 1) / k⌋.
///
/// Either way the payment of P is then recomputed as the schedule computes it and P is
/// stepped down, a fen at a time, while that payment is above the budget, so the result
/// is the largest such principal (the principal one fen larger pays more than `budget`).
pub fn max_principal_for_payment(
    budget: Fen,
    annual: Rate,
    months: u32,
    method: Method,
) -> Result<Fen, LoanError> {
    if !(1..=MAX_MONTHS).contains(&months) {
        return Err(LoanError::Months { months });
    }
    let u = annual.units();
    if !(0..=Rate::UNITS_PER_WHOLE).contains(&u) {
        return Err(LoanError::Rate { rate: annual });
    }
    if !budget.is_positive() {
        return Ok(Fen::ZERO);
    }
    let b = BigInt::from(budget.fen());
    let n = BigInt::from(months);
    let d = BigInt::from(MONTHLY_DEN);
    let one = BigInt::from(1);
    // k = num / den, the exact payment per fen of principal.
    let start = match method {
        Method::EqualInstallment => {
            let (num, den) = if u == 0 {
                (one.clone(), n)
            } else {
                // k = u·aⁿ / (D·(aⁿ − Dⁿ)), a = D + u.
                let a_n = num_traits::pow(BigInt::from(MONTHLY_DEN + u), months as usize);
                let d_n = num_traits::pow(d.clone(), months as usize);
                (BigInt::from(u) * &a_n, d * (a_n - d_n))
            };
            // ⌈(b + ½)/k⌉ − 1 = ⌊((2b + 1)·den − 1) / (2·num)⌋.
            let top: BigInt = (b * 2 + &one) * den - one;
            let bottom: BigInt = num * 2;
            top.div_floor(&bottom)
        }
        Method::EqualPrincipal => {
            // k = 1/n + u/D = (D + n·u) / (n·D).
            let num = &d + &n * BigInt::from(u);
            let den = n * d;
            ((b + one) * den).div_floor(&num)
        }
    };
    let overflow = LoanError::Money(MoneyError::Overflow {
        op: "capacity principal",
    });
    let mut p = start.to_i64().ok_or(overflow.clone())?;
    // At most about 1/k ≤ 360 steps (equal principal); one or none for equal installment.
    for _ in 0..10_000 {
        if p <= 0 {
            return Ok(Fen::ZERO);
        }
        if highest_payment(Fen::new(p), annual, months, method)? <= budget {
            return Ok(Fen::new(p));
        }
        p -= 1;
    }
    Err(overflow)
}

/// The highest monthly payment as the schedule computes it (see
/// [`max_principal_for_payment`]).
fn highest_payment(p: Fen, annual: Rate, months: u32, method: Method) -> Result<Fen, LoanError> {
    match method {
        Method::EqualInstallment => installment(p, annual, months),
        Method::EqualPrincipal => {
            let part = Rounding::HalfUpFen.apply(i128::from(p.fen()), i128::from(months))?;
            Ok(part.checked_add(monthly_interest(p, annual)?)?)
        }
    }
}

/// Reasons collected while deciding.
#[derive(Default)]
struct Work {
    refuse: Vec<Reason>,
    review: Vec<Reason>,
    basis: Vec<Reason>,
}

fn reason(zh: impl Into<String>, en: impl Into<String>) -> Reason {
    Reason {
        zh: zh.into(),
        en: en.into(),
    }
}

impl Work {
    fn refuse(&mut self, zh: impl Into<String>, en: impl Into<String>) {
        self.refuse.push(reason(zh, en));
    }
    fn review(&mut self, zh: impl Into<String>, en: impl Into<String>) {
        self.review.push(reason(zh, en));
    }
    fn basis(&mut self, zh: impl Into<String>, en: impl Into<String>) {
        self.basis.push(reason(zh, en));
    }
}

fn answer<'f>(facts: &'f FactSet, query: Query, subject: &str) -> Option<&'f Answer> {
    facts
        .get(&FactKey::new(query, subject))
        .and_then(|r| r.as_ref().ok())
}

/// The purchase contract of the application: filed, not cancelled, listing the applicant
/// as a buyer, the claimed one if a number is claimed; the latest filed otherwise.
fn contract<'f>(
    claims: &Claims,
    facts: &'f FactSet,
    applicant: &str,
) -> Option<&'f PurchaseContract> {
    let Some(Answer::Contracts(cs)) = answer(facts, Query::Contracts, applicant) else {
        return None;
    };
    cs.iter()
        .filter(|c| {
            !c.cancelled
                && c.buyers.iter().any(|b| b == applicant)
                && claims
                    .contract_no
                    .as_ref()
                    .is_none_or(|n| &c.contract_no == n)
        })
        .max_by_key(|c| c.filed_on)
}

fn add_months(day: Date, months: u32) -> Option<Date> {
    day.checked_add(Span::new().months(i64::from(months))).ok()
}

/// Whole months from `from` to `to` (0 if `to` is not later).
fn whole_months(from: Date, to: Date) -> u32 {
    if to <= from {
        return 0;
    }
    let mut n = (i32::from(to.year()) - i32::from(from.year())) * 12 + i32::from(to.month())
        - i32::from(from.month());
    if to.day() < from.day() {
        n -= 1;
    }
    u32::try_from(n.max(0)).unwrap_or(0)
}

fn sum(items: impl IntoIterator<Item = Fen>) -> Fen {
    Fen::new(
        items
            .into_iter()
            .fold(0i64, |t, f| t.saturating_add(f.fen())),
    )
}

/// A multiple held as a rate of the whole (1500 % = 15×), written `15`.
fn multiple_text(multiple: Rate) -> String {
    Rate::from_units(multiple.units() / 100).percent_string()
}

/// Decides one loan application. See the module documentation.
pub fn decide(case: &LoanCase<'_>) -> LoanDecision {
    let mut w = Work::default();
    let mut d = LoanDecision {
        outcome: Resolution::Refuse,
        home: HomeOrder::First,
        couple: false,
        price: None,
        candidates: Vec::new(),
        binding: None,
        limit: Fen::ZERO,
        amount: Fen::ZERO,
        months: case.months,
        max_months: 0,
        annual_rate: Rate::ZERO,
        first_payment: Fen::ZERO,
        reasons: Vec::new(),
        checks: case.verdicts.to_vec(),
    };
    let limits = match case.policy.loan_limits_on(case.today) {
        Ok(l) => l,
        Err(e) => {
            w.refuse(
                format!("无适用的贷款政策：{e}"),
                format!("no loan policy in force: {e}"),
            );
            return finish(d, w);
        }
    };

    // 1. The checks.
    for v in case.verdicts {
        match v.outcome {
            Outcome::Verified => w.basis(v.reason_zh.clone(), v.reason_en.clone()),
            Outcome::NotVerified => w.refuse(v.reason_zh.clone(), v.reason_en.clone()),
            Outcome::Unavailable => w.review(
                format!("无法核验（{}），转人工审核", v.reason_zh),
                format!("could not verify ({}): sent to staff review", v.reason_en),
            ),
        }
    }

    // 2. The applicant and the borrowers whose accounts count.
    let applicants = case
        .borrowers
        .iter()
        .filter(|b| b.role == BorrowerRole::Applicant)
        .count();
    let Some(applicant) = case
        .borrowers
        .iter()
        .find(|b| b.role == BorrowerRole::Applicant)
    else {
        w.refuse(
            "申请未列明主借款人",
            "borrowers: the application names no applicant",
        );
        return finish(d, w);
    };
    if applicants > 1 {
        w.refuse(
            format!("申请列明了{applicants}个主借款人，只能有一个"),
            format!("borrowers: {applicants} applicants are named, only one may be"),
        );
    }
    let min_months = limits.min_continuous_months;
    match applicant.account {
        None => w.refuse(
            "主借款人在本中心无住房公积金账户",
            "account: the applicant has no account in this centre",
        ),
        Some(a) if a.status != PersonalAccountStatus::Normal => w.refuse(
            format!(
                "主借款人账户状态为{}（{}），须为正常（01）",
                a.status.label_zh(),
                a.status.code()
            ),
            format!(
                "account status = {} ({}): the applicant's account must be normal (01)",
                a.status.code(),
                a.status.label_en()
            ),
        ),
        Some(a) if a.continuous_months < min_months => w.refuse(
            format!(
                "主借款人连续缴存{}个月，须连续缴存满{min_months}个月",
                a.continuous_months
            ),
            format!(
                "continuous_months = {}: at least {min_months} months of continuous contribution are required (loan_limits.min_continuous_months)",
                a.continuous_months
            ),
        ),
        Some(_) => {}
    }
    let mut counted: Vec<BorrowerAccount> = applicant.account.into_iter().collect();
    for b in case
        .borrowers
        .iter()
        .filter(|b| b.role == BorrowerRole::CoBorrower)
    {
        match b.account {
            Some(a)
                if a.status == PersonalAccountStatus::Normal
                    && a.continuous_months >= min_months =>
            {
                counted.push(a);
            }
            _ => w.basis(
                format!(
                    "共同借款人{}在本中心无正常且连续缴存满{min_months}个月的账户，其余额与缴存基数不计入",
                    b.id_number
                ),
                format!(
                    "co-borrower {} has no normal account here with {min_months} months of continuous contribution: their balance and base do not count",
                    b.id_number
                ),
            ),
        }
    }
    if case.outstanding_loan {
        w.refuse(
            "借款人在本中心有未结清的住房公积金贷款",
            "outstanding_loan = true: a borrower has an unpaid loan in this centre",
        );
    }
    if case.previous_loans >= limits.max_loans_per_family {
        w.refuse(
            format!(
                "家庭已使用住房公积金贷款{}次，最多{}次",
                case.previous_loans, limits.max_loans_per_family
            ),
            format!(
                "previous_loans = {}: a family may have at most {} HPF home loans (loan_limits.max_loans_per_family)",
                case.previous_loans, limits.max_loans_per_family
            ),
        );
    }

    // 3. Couple and home order.
    let co_borrowers: Vec<&Borrower<'_>> = case
        .borrowers
        .iter()
        .filter(|b| b.role == BorrowerRole::CoBorrower)
        .collect();
    match answer(case.facts, Query::Marriage, applicant.id_number) {
        Some(Answer::Marriage(m)) => {
            let married = matches!(
                m.status,
                MaritalStatus::Married
                    | MaritalStatus::FirstMarriage
                    | MaritalStatus::Remarried
                    | MaritalStatus::MarriageRestored
            );
            let spouse = m.spouse_id.as_deref().filter(|_| married);
            for b in &co_borrowers {
                if spouse != Some(b.id_number) {
                    w.refuse(
                        format!("共同借款人{}不是婚姻登记记载的配偶", b.id_number),
                        format!(
                            "co-borrower {} is not the applicant's spouse on the civil-affairs record",
                            b.id_number
                        ),
                    );
                }
            }
            d.couple = spouse.is_some_and(|s| co_borrowers.iter().any(|b| b.id_number == s));
        }
        _ => w.review(
            "婚姻状况无法核验，不能确定单方或夫妻额度",
            "marital status unknown: cannot tell single from couple limits",
        ),
    }
    let contract = contract(case.claims, case.facts, applicant.id_number);
    d.price = contract.map(|c| c.price);
    let mut owned: Option<String> = None;
    for b in case.borrowers {
        match answer(case.facts, Query::Properties, b.id_number) {
            Some(Answer::Properties(ps)) => {
                if let Some(p) = ps.iter().find(|p| {
                    p.region_code.starts_with(case.city_prefix)
                        && contract.is_none_or(|c| c.address != p.address)
                }) {
                    owned.get_or_insert_with(|| p.address.clone());
                }
            }
            _ => w.review(
                format!("{}名下住房无法核验，不能确定首套或二套", b.id_number),
                format!(
                    "homes owned by {} unknown: cannot tell a first from a second home",
                    b.id_number
                ),
            ),
        }
    }
    d.home = match (&owned, case.previous_loans) {
        (Some(address), _) => {
            w.basis(
                format!("家庭在本市已有住房（{address}），按二套住房"),
                format!("the family owns a home in the city ({address}): second home"),
            );
            HomeOrder::Second
        }
        (None, n) if n > 0 => {
            w.basis(
                format!("家庭已使用住房公积金贷款{n}次，按二套住房"),
                format!("the family had {n} HPF home loan(s): second home"),
            );
            HomeOrder::Second
        }
        (None, _) => {
            w.basis(
                "家庭在本市无住房且无住房公积金贷款记录，按首套住房",
                "no home in the city and no earlier HPF home loan: first home",
            );
            HomeOrder::First
        }
    };
    let first = d.home == HomeOrder::First;

    // 4. Request and term.
    if !case.requested.is_positive() {
        w.refuse(
            format!("申请金额{}元须大于零", case.requested),
            format!("requested = {}: must be greater than zero", case.requested),
        );
    }
    term(case, limits, applicant, &mut d, &mut w);

    // 5. Rate.
    let rate = case.policy.loan_rate_for(case.today, first, case.months);
    match &rate {
        Ok(r) => d.annual_rate = *r,
        Err(e) => w.refuse(
            format!("无适用的贷款利率：{e}"),
            format!("no loan rate in force: {e}"),
        ),
    }

    // 6. Limits.
    candidates(case, limits, &counted, contract, &mut d, &mut w);
    let min = d.candidates.iter().map(|c| c.amount).min();
    d.limit = min.unwrap_or(Fen::ZERO);
    d.binding = d
        .candidates
        .iter()
        .find(|c| Some(c.amount) == min)
        .map(|c| c.kind);
    if let Some(kind) = d.binding {
        if d.limit.is_positive() {
            w.basis(
                format!("可贷额度{}元（{}）", d.limit, kind.label_zh()),
                format!("loan limit {} yuan ({})", d.limit, kind.label_en()),
            );
        } else {
            w.refuse(
                format!("可贷额度为零（{}）", kind.label_zh()),
                format!("the loan limit is zero ({})", kind.label_en()),
            );
        }
    }
    if case.requested.is_positive() {
        d.amount = case.requested.min(d.limit);
        if case.requested > d.limit && d.limit.is_positive() {
            let kind = d.binding.unwrap_or(LimitKind::Cap);
            w.basis(
                format!(
                    "申请金额{}元超过可贷额度，按{}限额核减为{}元",
                    case.requested,
                    kind.label_zh(),
                    d.limit
                ),
                format!(
                    "requested = {}: above the limit, reduced to {} yuan by the {} limit",
                    case.requested,
                    d.limit,
                    kind.label_en()
                ),
            );
        }
    }
    if d.amount.is_positive() && (1..=MAX_MONTHS).contains(&case.months) && rate.is_ok() {
        match schedule(d.amount, d.annual_rate, case.months, case.method, None) {
            Ok(rows) => d.first_payment = rows.first().map_or(Fen::ZERO, |r| r.payment),
            Err(e) => w.refuse(
                format!("无法计算还款计划：{e}"),
                format!("no schedule can be made: {e}"),
            ),
        }
    }
    finish(d, w)
}

/// The term rules: sets `max_months`, refuses or reviews a longer term.
fn term(
    case: &LoanCase<'_>,
    limits: &LoanLimits,
    applicant: &Borrower<'_>,
    d: &mut LoanDecision,
    w: &mut Work,
) {
    let cap = limits.max_term_years.saturating_mul(12).min(MAX_MONTHS);
    let beyond = limits.term_beyond_retirement_years.saturating_mul(12);
    let by_age = |category| -> Option<(Date, Date, u32)> {
        let birth = IdCard::parse(applicant.id_number).ok()?.birth_date();
        let retire = case.policy.retirement_date(birth, category).ok()?;
        let end = add_months(retire, beyond)?;
        Some((retire, end, whole_months(case.today, end).min(cap)))
    };
    let (auto, longer) = match IdCard::parse(applicant.id_number).map(|c| c.sex()) {
        Ok(Sex::Male) => (by_age(RetirementCategory::Male), None),
        Ok(Sex::Female) => (
            by_age(RetirementCategory::FemaleWorker),
            by_age(RetirementCategory::FemaleCadre),
        ),
        Err(_) => (None, None),
    };
    let Some((retire, end, max)) = auto else {
        d.max_months = cap;
        w.review(
            "无法从身份证号码计算法定退休日期，贷款期限须人工审核",
            "the statutory retirement date cannot be computed from the ID number: staff must review the term",
        );
        return;
    };
    d.max_months = max;
    let m = case.months;
    if m == 0 {
        w.refuse(
            "贷款期限须至少1个月",
            "months = 0: the term must be at least 1 month",
        );
    } else if m <= max {
        w.basis(
            format!("贷款期限{m}个月，不超过{max}个月（法定退休日期{retire}）"),
            format!("term of {m} months, within {max} months (statutory retirement on {retire})"),
        );
    } else if m > cap {
        w.refuse(
            format!("贷款期限{m}个月超过最长{}年（{cap}个月）", limits.max_term_years),
            format!(
                "months = {m}: the longest term is {} years, {cap} months (loan_limits.max_term_years)",
                limits.max_term_years
            ),
        );
    } else if let Some((cadre, _, cadre_max)) = longer
        && m <= cadre_max
    {
        w.review(
            format!(
                "贷款期限{m}个月超过按女职工退休年龄可贷的{max}个月，未超过按女干部退休年龄（{cadre}）可贷的{cadre_max}个月：须人工确认岗位类别"
            ),
            format!(
                "months = {m}: above the {max} months the women workers' retirement age allows, within the {cadre_max} months of the cadres' age (retirement on {cadre}): staff must confirm the post category"
            ),
        );
    } else {
        w.refuse(
            format!(
                "贷款期限{m}个月超过可贷期限{max}个月：贷款须在法定退休日期{retire}后{}年内（{end}前）结清",
                limits.term_beyond_retirement_years
            ),
            format!(
                "months = {m}: the longest term allowed is {max} months; the loan must end by {end}, {} years after the statutory retirement on {retire} (loan_limits.term_beyond_retirement_years)",
                limits.term_beyond_retirement_years
            ),
        );
    }
}

/// Computes the candidate limits into `d.candidates`.
fn candidates(
    case: &LoanCase<'_>,
    limits: &LoanLimits,
    counted: &[BorrowerAccount],
    contract: Option<&PurchaseContract>,
    d: &mut LoanDecision,
    w: &mut Work,
) {
    let first = d.home == HomeOrder::First;
    let who = |zh: bool| match (d.couple, zh) {
        (true, true) => "夫妻双方",
        (false, true) => "单方",
        (true, false) => "couple",
        (false, false) => "single",
    };
    let cap = match (first, d.couple) {
        (true, false) => limits.max_amount_single,
        (true, true) => limits.max_amount_couple,
        (false, false) => limits.max_amount_second_home_single,
        (false, true) => limits.max_amount_second_home_couple,
    };
    d.candidates.push(LimitCandidate {
        kind: LimitKind::Cap,
        amount: cap,
        basis: reason(
            format!("{}{}最高贷款额度{cap}", d.home.label_zh(), who(true)),
            format!("cap for a {}, {}: {cap}", d.home.label_en(), who(false)),
        ),
    });

    match contract {
        Some(c) => {
            let ratio = if first {
                limits.max_ratio_first_home
            } else {
                limits.max_ratio_second_home
            };
            match c.price.mul_rate(ratio, Rounding::DownFen) {
                Ok(amount) => d.candidates.push(LimitCandidate {
                    kind: LimitKind::LoanToValue,
                    amount,
                    basis: reason(
                        format!("价格 {} × {ratio} = {amount}", c.price),
                        format!("price {} × {ratio} = {amount}", c.price),
                    ),
                }),
                Err(e) => w.refuse(
                    format!("无法计算贷款成数限额：{e}"),
                    format!("the loan-to-value limit cannot be computed: {e}"),
                ),
            }
        }
        None => w.review(
            "未取得购房合同价格，无法计算贷款成数限额，转人工审核",
            "no purchase contract price: the loan-to-value limit cannot be computed, sent to staff review",
        ),
    }

    let bases = sum(counted.iter().map(|a| a.base));
    let pct = limits.repayment_capacity_pct;
    if (1..=MAX_MONTHS).contains(&case.months) && d.annual_rate.units() > 0 {
        let capacity = bases
            .mul_rate(pct, Rounding::DownFen)
            .map_err(LoanError::from)
            .and_then(|budget| {
                max_principal_for_payment(budget, d.annual_rate, case.months, case.method)
                    .map(|p| (budget, p))
            });
        match capacity {
            Ok((budget, amount)) => {
                let method_zh = match case.method {
                    Method::EqualInstallment => "等额本息月供",
                    Method::EqualPrincipal => "等额本金首月还款",
                };
                let method_en = match case.method {
                    Method::EqualInstallment => "equal installment",
                    Method::EqualPrincipal => "equal principal, first payment",
                };
                d.candidates.push(LimitCandidate {
                    kind: LimitKind::Capacity,
                    amount,
                    basis: reason(
                        format!(
                            "月缴存基数合计 {bases} × {pct} = {budget}；{method_zh}不超过{budget}（{}个月，年利率{}）的最高本金 {amount}",
                            case.months, d.annual_rate
                        ),
                        format!(
                            "contribution bases {bases} × {pct} = {budget} a month; the largest principal whose payment ({method_en}, {} months at {}) is at most {budget}: {amount}",
                            case.months, d.annual_rate
                        ),
                    ),
                });
            }
            Err(e) => w.refuse(
                format!("无法计算还款能力限额：{e}"),
                format!("the repayment-capacity limit cannot be computed: {e}"),
            ),
        }
    }

    let balances = sum(counted.iter().map(|a| Fen::new(a.balance.fen().max(0))));
    let multiple = limits.balance_multiple;
    match balances.mul_rate(multiple, Rounding::DownFen) {
        Ok(amount) => d.candidates.push(LimitCandidate {
            kind: LimitKind::Balance,
            amount,
            basis: reason(
                format!(
                    "账户余额合计 {balances} × {} 倍 = {amount}",
                    multiple_text(multiple)
                ),
                format!(
                    "balances {balances} × {} = {amount}",
                    multiple_text(multiple)
                ),
            ),
        }),
        Err(e) => w.refuse(
            format!("无法计算余额倍数限额：{e}"),
            format!("the balance-multiple limit cannot be computed: {e}"),
        ),
    }
}

fn finish(mut d: LoanDecision, w: Work) -> LoanDecision {
    let Work {
        refuse,
        review,
        basis,
    } = w;
    if !refuse.is_empty() {
        d.outcome = Resolution::Refuse;
        d.amount = Fen::ZERO;
        d.first_payment = Fen::ZERO;
        d.reasons = refuse;
    } else if !review.is_empty() {
        d.outcome = Resolution::Review;
        d.reasons = review;
    } else {
        d.outcome = Resolution::Approve;
        d.reasons = basis;
    }
    d
}
