//! Centre policy: a fund centre's rules as effective-dated, versioned data, never code.
//!
//! A policy is a TOML file, parsed and validated in one step by [`Policy::from_toml`];
//! a policy that loads is internally consistent and within national bounds. The shipped
//! Quzhou policy is [`QUZHOU_POLICY`] (`policies/quzhou.toml`).
//!
//! # File layout
//!
//! Amounts are quoted yuan decimals (`"2270.00"`), rates and ratios quoted percent
//! decimals (`"1.5"` is 1.5 %), dates `"YYYY-MM-DD"` (a bare TOML date also works), counts
//! bare integers. Unknown keys and sections are refused.
//!
//! ```toml
//! [centre]            # code, name, name_en, region_code, policy_version,
//!                     # regulation_2026_effective
//! [[contribution]]    # effective, unit_ratio_min/max, member_ratio_min/max,
//!                     # base_floor, base_cap, rounding,
//!                     # payment_deadline_days_after_payday,
//!                     # flexible_ratio_min/max, flexible_min_age,
//!                     # flexible_max_age_male, flexible_max_age_female,
//!                     # flexible_residence ("any" | "household-registration" |
//!                     # "household-or-social-security"; optional, "any" if absent)
//! [[deposit_rate]]    # effective, annual
//! [interest]          # day_count_basis (360 | 365), settlement_month, settlement_day
//! [[loan_rate]]       # effective, first_le5, first_gt5, second_le5, second_gt5,
//!                     # reprice_existing_on
//! [[loan_limits]]     # effective, max_amount_single, max_amount_couple,
//!                     # max_amount_second_home_single, max_amount_second_home_couple,
//!                     # max_ratio_first_home, max_ratio_second_home,
//!                     # repayment_capacity_pct, balance_multiple,
//!                     # min_continuous_months, max_term_years,
//!                     # term_beyond_retirement_years, max_loans_per_family
//! [[loan_servicing]]  # effective, penalty_multiplier_pct, penalty_base
//!                     # ("principal" | "principal-and-interest"), grace_days,
//!                     # special_mention_from, substandard_from, doubtful_from,
//!                     # loss_from, prepayment_min_amount,
//!                     # prepayment_min_months_after_disbursement,
//!                     # prepayment_max_per_year
//! [retirement.male]   # base_age_months, first_birth_month ("YYYY-MM"),
//! [retirement.female_cadre]   # step_birth_months, max_delay_months
//! [retirement.female_worker]
//! [[withdrawal]]      # effective, purchase_window_months, build_repair_window_months,
//!                     # rent_monthly_limit, rent_interval_months, rent_yearly_limit,
//!                     # rent_min_income_share_pct, loan_repayment_interval_months,
//!                     # renewal_window_months, left_job_sealed_months,
//!                     # renovation_max_pct, renovation_max_amount,
//!                     # renovation_interval_years, property_fee_interval_months
//! [access]            # password_min_length, password_min_classes,
//!                     # password_rotation_days, lockout_threshold, lockout_minutes,
//!                     # session_idle_minutes, session_absolute_minutes,
//!                     # otp_ttl_seconds, otp_max_attempts, otp_resend_seconds,
//!                     # otp_daily_cap, login_attempts_per_minute
//! [[channel_limits]]  # channel (办理渠道 code, one row each), per_transaction, per_day
//! ```
//!
//! # Effective dating
//!
//! Each `[[…]]` section is a history of versions in strictly increasing `effective`
//! order. A version applies from its effective date (inclusive) until the next version's
//! effective date (exclusive). Asking about a date before the first version is an error
//! ([`PolicyError::NotInForce`]), never a silent default.
//!
//! # Validation
//!
//! Errors name the field path (`contribution[1].base_cap`, 0-based rows), the value as
//! written and the rule broken; all problems in a file are reported together
//! ([`PolicyError::Invalid`]). Besides types and formats it checks base floor ≤ cap and
//! both > 0, ratio min ≤ max and within the national 5–12 % ([`NATIONAL_MIN_RATIO`],
//! [`NATIONAL_MAX_RATIO`]), the remittance deadline ≤ 5 days, loan-to-value ≤ 80 %,
//! term ≤ 30 years, day-count basis 360 or 365, and sanity orderings that catch swapped
//! columns (second-home rates ≥ first-home, over-5-year ≥ 5-year-or-less, couple caps ≥
//! single caps, second-home caps ≤ first-home caps), and risk-classification thresholds
//! strictly increasing from at least 1 overdue day. In `[access]`: passwords of at least
//! 8 characters, a session lifetime no shorter than the idle timeout, and every value
//! within a sane range; in `[[channel_limits]]`: a known channel code, one row per
//! channel, positive amounts and a daily limit no lower than the per-transaction one.

mod error;
mod parse;
mod retirement;
mod rules;
#[cfg(test)]
mod tests;

use jiff::civil::Date;
use sm3::{Digest, Sm3};

use crate::access::{AccessRules, ChannelLimit};
use crate::money::Rate;

pub use error::{IssueKind, PolicyError, PolicyIssue};
pub use retirement::{RetirementCategory, RetirementRules, RetirementSchedule};
pub use rules::{
    Centre, ContributionRule, DayCountBasis, DepositRate, FLEXIBLE_MAX_RATIO, FlexibleResidence,
    InterestRule, LoanLimits, LoanRate, LoanServicing, MAX_LOAN_TERM_YEARS, MAX_LOAN_TO_VALUE,
    MAX_PAYMENT_DEADLINE_DAYS, MIN_WORKING_AGE, NATIONAL_MAX_RATIO, NATIONAL_MIN_RATIO,
    PenaltyBase, RatioRange, RenovationRule, SHORT_TERM_MAX_MONTHS, WithdrawalRule,
};

/// The shipped policy of the Quzhou centre (衢州市住房公积金管理中心), `policies/quzhou.toml`.
pub const QUZHOU_POLICY: &str = include_str!("../../../../policies/quzhou.toml");

/// A centre's validated policy. Build it with [`Policy::from_toml`]; query it by date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    centre: Centre,
    contributions: Vec<ContributionRule>,
    deposit_rates: Vec<DepositRate>,
    interest: InterestRule,
    loan_rates: Vec<LoanRate>,
    loan_limits: Vec<LoanLimits>,
    loan_servicing: Vec<LoanServicing>,
    retirement: RetirementRules,
    withdrawals: Vec<WithdrawalRule>,
    access: AccessRules,
    channel_limits: Vec<ChannelLimit>,
    source_sm3: String,
}

impl Policy {
    /// Parses and validates a policy file. On failure the error lists every problem found
    /// (or, for a malformed file or an unknown key, toml's message with line and column).
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let s = parse::parse(text)?;
        Ok(Policy {
            centre: s.centre,
            contributions: s.contributions,
            deposit_rates: s.deposit_rates,
            interest: s.interest,
            loan_rates: s.loan_rates,
            loan_limits: s.loan_limits,
            loan_servicing: s.loan_servicing,
            retirement: s.retirement,
            withdrawals: s.withdrawals,
            access: s.access,
            channel_limits: s.channel_limits,
            source_sm3: hex::encode(Sm3::digest(text.as_bytes())),
        })
    }

    /// SM3 hash (lower-case hex) of the exact policy text, to record which policy a
    /// decision was made under, next to [`Centre::policy_version`].
    pub fn source_sm3(&self) -> &str {
        &self.source_sm3
    }

    /// `[centre]`.
    pub fn centre(&self) -> &Centre {
        &self.centre
    }

    /// `[interest]`.
    pub fn interest(&self) -> &InterestRule {
        &self.interest
    }

    /// `[access]`: passwords, lockout, sessions, SMS codes and the login rate limit.
    pub fn access(&self) -> &AccessRules {
        &self.access
    }

    /// `[[channel_limits]]`: per-channel limits on payouts from members' accounts, one
    /// row per channel, in file order. See [`crate::access::check_channel_limit`].
    pub fn channel_limits(&self) -> &[ChannelLimit] {
        &self.channel_limits
    }

    /// `[retirement]`.
    pub fn retirement(&self) -> &RetirementRules {
        &self.retirement
    }

    /// Every `[[contribution]]` version, oldest first.
    pub fn contributions(&self) -> &[ContributionRule] {
        &self.contributions
    }

    /// Every `[[deposit_rate]]` version, oldest first.
    pub fn deposit_rates(&self) -> &[DepositRate] {
        &self.deposit_rates
    }

    /// Every `[[loan_rate]]` version, oldest first.
    pub fn loan_rates(&self) -> &[LoanRate] {
        &self.loan_rates
    }

    /// Every `[[loan_limits]]` version, oldest first.
    pub fn loan_limits_history(&self) -> &[LoanLimits] {
        &self.loan_limits
    }

    /// The contribution rule in force on `date`.
    pub fn contribution_on(&self, date: Date) -> Result<&ContributionRule, PolicyError> {
        in_force(&self.contributions, date, "contribution", |r| r.effective).map(|(_, r)| r)
    }

    /// The annual deposit rate in force on `date`.
    pub fn deposit_rate_on(&self, date: Date) -> Result<Rate, PolicyError> {
        in_force(&self.deposit_rates, date, "deposit_rate", |r| r.effective).map(|(_, r)| r.annual)
    }

    /// Splits the half-open period `[from, to)` by deposit-rate version, for interest:
    /// each `(start, end, annual)` covers the days `start ≤ d < end`, so its day count
    /// is `end − start`. The pieces are contiguous, in order, start at `from` and end at
    /// `to`; an empty period gives no pieces.
    pub fn deposit_rate_periods(
        &self,
        from: Date,
        to: Date,
    ) -> Result<Vec<(Date, Date, Rate)>, PolicyError> {
        if to < from {
            return Err(PolicyError::ReversedPeriod { from, to });
        }
        if to == from {
            return Ok(Vec::new());
        }
        let (first, _) = in_force(&self.deposit_rates, from, "deposit_rate", |r| r.effective)?;
        let mut periods = Vec::new();
        let mut start = from;
        for (i, version) in self.deposit_rates.iter().enumerate().skip(first) {
            let end = self
                .deposit_rates
                .get(i + 1)
                .map(|next| next.effective)
                .filter(|next| *next < to)
                .unwrap_or(to);
            periods.push((start, end, version.annual));
            if end == to {
                break;
            }
            start = end;
        }
        Ok(periods)
    }

    /// The loan-rate version in force for loans signed on `date`.
    pub fn loan_rate_version_on(&self, date: Date) -> Result<&LoanRate, PolicyError> {
        in_force(&self.loan_rates, date, "loan_rate", |r| r.effective).map(|(_, r)| r)
    }

    /// The annual rate of a new loan signed on `date`, for a first or second home and a
    /// contract term in months (at most 60 months takes the "5 years or less" column).
    pub fn loan_rate_for(
        &self,
        date: Date,
        first_home: bool,
        term_months: u32,
    ) -> Result<Rate, PolicyError> {
        self.loan_rate_version_on(date)
            .map(|r| r.rate(first_home, term_months))
    }

    /// The annual rate on `on` of an existing loan signed on `signed_on`: the latest
    /// version that either was in force at signing or has reached its
    /// [`LoanRate::reprice_existing_on`] date by `on`. (A loan signed on 2024-06-01
    /// carries the 2024-05-18 rates, and from 2026-01-01 the 2025-05-08 rates.)
    ///
    /// The term column stays the one of the contract term. Loans of one year or less
    /// traditionally keep their contract rate; such HPF loans are not modelled here.
    pub fn existing_loan_rate_on(
        &self,
        signed_on: Date,
        on: Date,
        first_home: bool,
        term_months: u32,
    ) -> Result<Rate, PolicyError> {
        if on < signed_on {
            return Err(PolicyError::ReversedPeriod {
                from: signed_on,
                to: on,
            });
        }
        let (at_signing, signed_version) =
            in_force(&self.loan_rates, signed_on, "loan_rate", |r| r.effective)?;
        let version = self
            .loan_rates
            .iter()
            .skip(at_signing + 1)
            .rev()
            .find(|r| r.reprice_existing_on <= on)
            .unwrap_or(signed_version);
        Ok(version.rate(first_home, term_months))
    }

    /// The withdrawal rules in force on `date`.
    pub fn withdrawal_on(&self, date: Date) -> Result<&WithdrawalRule, PolicyError> {
        in_force(&self.withdrawals, date, "withdrawal", |r| r.effective).map(|(_, r)| r)
    }

    /// Every version of the withdrawal rules, oldest first.
    pub fn withdrawal_history(&self) -> &[WithdrawalRule] {
        &self.withdrawals
    }

    /// The loan limits in force on `date`.
    pub fn loan_limits_on(&self, date: Date) -> Result<&LoanLimits, PolicyError> {
        in_force(&self.loan_limits, date, "loan_limits", |r| r.effective).map(|(_, r)| r)
    }

    /// The loan-servicing rules (penalty, grace, risk classes, prepayment) in force on
    /// `date`.
    pub fn loan_servicing_on(&self, date: Date) -> Result<&LoanServicing, PolicyError> {
        in_force(&self.loan_servicing, date, "loan_servicing", |r| {
            r.effective
        })
        .map(|(_, r)| r)
    }

    /// Every `[[loan_servicing]]` version, oldest first.
    pub fn loan_servicing_history(&self) -> &[LoanServicing] {
        &self.loan_servicing
    }

    /// The statutory retirement age, in months, of someone born on `birth`
    /// (60 years 1 month = 721).
    pub fn retirement_age_months(&self, birth: Date, category: RetirementCategory) -> u32 {
        self.retirement.age_months(birth, category)
    }

    /// The statutory retirement date: the day the retirement age is reached, i.e. the
    /// birth date plus the age in months, clamped to the end of a shorter month. See
    /// [`RetirementRules::date`].
    pub fn retirement_date(
        &self,
        birth: Date,
        category: RetirementCategory,
    ) -> Result<Date, PolicyError> {
        self.retirement.date(birth, category)
    }
}

/// The version in force on `date` and its index: the last with `effective ≤ date`.
fn in_force<'a, T>(
    rows: &'a [T],
    date: Date,
    section: &'static str,
    effective: impl Fn(&T) -> Date,
) -> Result<(usize, &'a T), PolicyError> {
    let count = rows.partition_point(|r| effective(r) <= date);
    count
        .checked_sub(1)
        .and_then(|i| rows.get(i).map(|r| (i, r)))
        .ok_or_else(|| PolicyError::NotInForce {
            section,
            date,
            first: rows.first().map(&effective).unwrap_or(date),
        })
}
