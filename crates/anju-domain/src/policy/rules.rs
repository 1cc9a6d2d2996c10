//! The typed sections of a centre policy, and the national bounds every policy must
//! respect.
//!
//! Values come only from a policy file (see [`Policy::from_toml`](super::Policy::from_toml));
//! the constants here are national law or national rules that bound what a centre may
//! set, used to validate the file, never as defaults.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::money::{Fen, Rate, Rounding};

use super::PolicyError;

/// National minimum contribution ratio for each of unit and member: 5 % (REG Art. 18).
pub const NATIONAL_MIN_RATIO: Rate = Rate::from_percent(5);

/// National maximum contribution ratio for each of unit and member: 12 %
/// (建金管〔2005〕5号; Order 844 makes Art. 18 refer to "the national maximum").
pub const NATIONAL_MAX_RATIO: Rate = Rate::from_percent(12);

/// Upper bound for a flexible-employment combined ratio: both shares at the national
/// maximum (2 × 12 %). The lower bound is [`NATIONAL_MIN_RATIO`].
pub const FLEXIBLE_MAX_RATIO: Rate = Rate::from_percent(24);

/// Longest time a unit may take to remit after payday: 5 days (REG Art. 19).
pub const MAX_PAYMENT_DEADLINE_DAYS: u32 = 5;

/// Youngest legal working age, the floor for flexible-employment contributors
/// (Labour Law Art. 15).
pub const MIN_WORKING_AGE: u32 = 16;

/// Highest loan-to-value ratio a centre may set: 80 % (HG rejects anything above 0.8).
pub const MAX_LOAN_TO_VALUE: Rate = Rate::from_percent(80);

/// Longest loan term, in years, for any housing loan.
pub const MAX_LOAN_TERM_YEARS: u32 = 30;

/// Loans of at most this many months take the "5 years or less" rate column.
pub const SHORT_TERM_MAX_MONTHS: u32 = 60;

/// `[centre]`: who the policy belongs to and which version it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Centre {
    /// 15-digit centre code used by the national settlement and transfer platforms
    /// (Quzhou `330800000000000`). Its first six digits are [`Centre::region_code`].
    pub code: String,
    /// Chinese name: `衢州市住房公积金管理中心`.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// 6-digit administrative division code (GB/T 2260): `330800`.
    pub region_code: String,
    /// Version label of this policy file (`2026.1`), quoted on documents and in audit
    /// records together with [`Policy::source_sm3`](super::Policy::source_sm3).
    pub policy_version: String,
    /// The day this centre applies the 2026 amendment of the regulation (State Council
    /// Order 844, nationally in force from 2026-09-20).
    pub regulation_2026_effective: Date,
    /// The first day self-employed people may open voluntary accounts (灵活就业缴存):
    /// nationwide from the 2026 amendment, earlier where a province's own rules allowed
    /// it (issue 3 §6).
    pub flexible_employment_from: Date,
}

/// An inclusive range of ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RatioRange {
    /// Lowest allowed ratio.
    pub min: Rate,
    /// Highest allowed ratio.
    pub max: Rate,
}

impl RatioRange {
    /// True when `min ≤ ratio ≤ max`.
    pub fn contains(&self, ratio: Rate) -> bool {
        self.min <= ratio && ratio <= self.max
    }
}

/// One version of `[[contribution]]`: ratios, base bounds and deadlines.
///
/// Base bounds apply per contribution year, which runs from July 1; a new version
/// normally takes effect on July 1.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContributionRule {
    /// First day this version applies.
    pub effective: Date,
    /// Allowed unit (employer) ratio; within 5–12 %.
    pub unit_ratio: RatioRange,
    /// Allowed member (employee) ratio; within 5–12 %.
    pub member_ratio: RatioRange,
    /// Lowest monthly contribution base (usually the local minimum wage).
    pub base_floor: Fen,
    /// Highest monthly contribution base (usually 3 × the previous-year average
    /// monthly wage).
    pub base_cap: Fen,
    /// How each monthly contribution (base × ratio) is rounded.
    pub rounding: Rounding,
    /// Days after payday within which the unit must remit (REG Art. 19: at most 5).
    pub payment_deadline_days_after_payday: u32,
    /// Allowed combined ratio for flexible-employment contributors (they pay both
    /// shares themselves).
    pub flexible_ratio: RatioRange,
    /// Youngest age, in whole years, at which a flexible worker may contribute.
    pub flexible_min_age: u32,
    /// Age, in whole years, from which a man may no longer open a flexible account
    /// (exclusive bound: Hangzhou allows 16 to under 60).
    pub flexible_max_age_male: u32,
    /// Age, in whole years, from which a woman may no longer open a flexible account
    /// (exclusive bound).
    pub flexible_max_age_female: u32,
    /// Which residence a flexible worker must have to open an account
    /// (`flexible_residence`; `"any"` when the file does not say).
    pub flexible_residence: FlexibleResidence,
}

/// The residence rule for opening a flexible-employment account (灵活就业人员开户条件),
/// verified with other departments' facts (household registration from public security,
/// the contribution record from social security), never from paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlexibleResidence {
    /// Anyone (no residence rule).
    #[default]
    Any,
    /// Household registration (户籍) in the centre's city.
    HouseholdRegistration,
    /// Household registration in the city, or contributing to the city's social security
    /// (在本市参加社会保险).
    HouseholdOrSocialSecurity,
}

impl FlexibleResidence {
    /// The policy file's spelling.
    pub const fn code(self) -> &'static str {
        match self {
            FlexibleResidence::Any => "any",
            FlexibleResidence::HouseholdRegistration => "household-registration",
            FlexibleResidence::HouseholdOrSocialSecurity => "household-or-social-security",
        }
    }

    /// In Chinese.
    pub const fn label_zh(self) -> &'static str {
        match self {
            FlexibleResidence::Any => "不限户籍和参保地",
            FlexibleResidence::HouseholdRegistration => "本市户籍",
            FlexibleResidence::HouseholdOrSocialSecurity => "本市户籍或在本市参加社会保险",
        }
    }
}

/// One version of `[[deposit_rate]]`: the annual interest rate on member balances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DepositRate {
    /// First day this rate applies.
    pub effective: Date,
    /// Annual rate.
    pub annual: Rate,
}

/// The year length interest divides by: daily rate = annual rate / basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DayCountBasis {
    /// 360 days (HG's `CalculateInterestImpl`).
    Days360,
    /// 365 days.
    Days365,
}

impl DayCountBasis {
    /// The number of days in the basis year.
    pub const fn days(self) -> i64 {
        match self {
            DayCountBasis::Days360 => 360,
            DayCountBasis::Days365 => 365,
        }
    }
}

/// `[interest]`: how member interest is computed and when it is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct InterestRule {
    /// Year length for the daily rate.
    pub day_count_basis: DayCountBasis,
    /// Month of the yearly settlement (结息日), 1–12.
    pub settlement_month: i8,
    /// Day of the yearly settlement; validated to exist in every year (so never Feb 29).
    pub settlement_day: i8,
}

impl InterestRule {
    /// The settlement date in `year` (June 30 for most centres).
    pub fn settlement_date(&self, year: i16) -> Result<Date, PolicyError> {
        Date::new(year, self.settlement_month, self.settlement_day).map_err(|_| {
            PolicyError::DateOutOfRange {
                what: "interest settlement date",
            }
        })
    }
}

/// One version of `[[loan_rate]]`: annual loan rates by home order and term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoanRate {
    /// First day new loans get these rates.
    pub effective: Date,
    /// First home, term of 5 years or less.
    pub first_le5: Rate,
    /// First home, term over 5 years.
    pub first_gt5: Rate,
    /// Second home, term of 5 years or less.
    pub second_le5: Rate,
    /// Second home, term over 5 years.
    pub second_gt5: Rate,
    /// First day loans signed before [`LoanRate::effective`] switch to these rates
    /// (usually the next January 1).
    pub reprice_existing_on: Date,
}

impl LoanRate {
    /// The rate for a home order and contract term; terms of at most
    /// [`SHORT_TERM_MAX_MONTHS`] take the "5 years or less" column.
    pub fn rate(&self, first_home: bool, term_months: u32) -> Rate {
        let short = term_months <= SHORT_TERM_MAX_MONTHS;
        match (first_home, short) {
            (true, true) => self.first_le5,
            (true, false) => self.first_gt5,
            (false, true) => self.second_le5,
            (false, false) => self.second_gt5,
        }
    }
}

/// One version of `[[loan_limits]]`: the bounds on a home loan.
///
/// The loan amount is the least of the amount cap, price × ratio, the balance × multiple,
/// and what the repayment capacity allows (HG `ApplyLoanService`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoanLimits {
    /// First day this version applies.
    pub effective: Date,
    /// Amount cap, first home, single borrower.
    pub max_amount_single: Fen,
    /// Amount cap, first home, married couple both contributing.
    pub max_amount_couple: Fen,
    /// Amount cap, second home, single borrower.
    pub max_amount_second_home_single: Fen,
    /// Amount cap, second home, couple.
    pub max_amount_second_home_couple: Fen,
    /// Highest loan-to-value ratio, first home; at most [`MAX_LOAN_TO_VALUE`].
    pub max_ratio_first_home: Rate,
    /// Highest loan-to-value ratio, second home; at most the first-home ratio.
    pub max_ratio_second_home: Rate,
    /// The monthly payment may be at most this share of the borrowers' monthly
    /// income (contribution base sum).
    pub repayment_capacity_pct: Rate,
    /// Limit = account balance × this multiple. Held as a [`Rate`] (15× is 1500 %) so
    /// `balance.mul_rate(multiple, rounding)` gives the limit exactly.
    pub balance_multiple: Rate,
    /// Months of continuous contribution required before applying.
    pub min_continuous_months: u32,
    /// Longest term, in years.
    pub max_term_years: u32,
    /// The loan must end no later than this many years after the borrower's statutory
    /// retirement date.
    pub term_beyond_retirement_years: u32,
    /// The most HPF home loans a family may ever take, the new one included; an
    /// application is refused when the family already had this many (national rule:
    /// no loan for a third home, so 2).
    pub max_loans_per_family: u32,
}

/// The base penalty interest (罚息) is charged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PenaltyBase {
    /// The overdue principal only (`"principal"`).
    Principal,
    /// The overdue principal and interest (`"principal-and-interest"`, HG).
    PrincipalAndInterest,
}

impl PenaltyBase {
    /// The file code: `principal` or `principal-and-interest`.
    pub const fn code(self) -> &'static str {
        match self {
            PenaltyBase::Principal => "principal",
            PenaltyBase::PrincipalAndInterest => "principal-and-interest",
        }
    }

    /// The base for a file code.
    pub fn from_code(code: &str) -> Option<PenaltyBase> {
        [PenaltyBase::Principal, PenaltyBase::PrincipalAndInterest]
            .into_iter()
            .find(|b| b.code() == code)
    }
}

/// One version of `[[loan_servicing]]`: penalty interest, the overdue grace, the
/// five-tier risk classification thresholds and the prepayment conditions of loans
/// being repaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoanServicing {
    /// First day this version applies.
    pub effective: Date,
    /// Penalty rate as a multiple of the contract rate, held as a [`Rate`] of the whole
    /// (1.5× = 150 %, written `penalty_multiplier_pct = "150"`).
    pub penalty_multiplier: Rate,
    /// What the penalty is charged on.
    pub penalty_base: PenaltyBase,
    /// Days after the due date before an unpaid installment counts as overdue (宽限期).
    pub grace_days: u32,
    /// Overdue days from which a loan is 关注 (special mention); ≥ 1.
    pub special_mention_from: u32,
    /// Overdue days from which a loan is 次级 (substandard).
    pub substandard_from: u32,
    /// Overdue days from which a loan is 可疑 (doubtful).
    pub doubtful_from: u32,
    /// Overdue days from which a loan is 损失 (loss).
    pub loss_from: u32,
    /// The least principal a partial prepayment may repay (a payoff may be less).
    pub prepayment_min_amount: Fen,
    /// Whole months after disbursement before a prepayment is accepted.
    pub prepayment_min_months_after_disbursement: u32,
    /// The most partial prepayments in a calendar year.
    pub prepayment_max_per_year: u32,
}

/// One version of `[[withdrawal]]`: the parameters of the withdrawal grounds (提取).
///
/// Grounds the 2026 amendment (State Council Order 844) added — renovation of one's own
/// home and property fees — exist only in versions that set their parameters; the rent
/// income-share condition exists only in versions that set it (it was dropped by the
/// amendment).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WithdrawalRule {
    /// First day this version applies.
    pub effective: Date,
    /// A purchase withdrawal is made within this many months of the contract's filing
    /// (or the registration of a second-hand home).
    pub purchase_window_months: u32,
    /// Building, rebuilding or major repair: invoices count for this many months.
    pub build_repair_window_months: u32,
    /// Rent: the most counted per month (the rent actually paid counts if lower).
    pub rent_monthly_limit: Fen,
    /// Rent: at least this many months between two rent withdrawals (the frequency).
    pub rent_interval_months: u32,
    /// Rent: at most this much in 12 months.
    pub rent_yearly_limit: Fen,
    /// Rent before the 2026 amendment: the year's rent must exceed this share of the
    /// family's wage income. `None`: no income condition.
    pub rent_min_income_share: Option<Rate>,
    /// Yearly loan-repayment withdrawals: at least this many months apart.
    pub loan_repayment_interval_months: u32,
    /// Old-community renovation and lift installation: claims within this many months of
    /// the project's completion (or approval while not completed).
    pub renewal_window_months: u32,
    /// Leaving a job: the account must have been sealed for at least this many months.
    pub left_job_sealed_months: u32,
    /// Renovation of one's own home (2026): share of the invoices, at most
    /// `renovation_max_amount`, once per `renovation_interval_years` for the same home.
    /// `None` before the amendment.
    pub renovation: Option<RenovationRule>,
    /// Property fees (2026): at least this many months between two withdrawals, covering
    /// the invoices of that period. `None` before the amendment.
    pub property_fee_interval_months: Option<u32>,
}

/// The renovation ground's parameters (2026 amendment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenovationRule {
    /// Share of the renovation invoices that may be withdrawn.
    pub max_share: Rate,
    /// Most that may be withdrawn for one renovation.
    pub max_amount: Fen,
    /// Once per this many years for the same home.
    pub interval_years: u32,
}
