//! Servicing a loan being repaid (贷后管理): overdue days, penalty interest (罚息), the
//! five-tier risk classification (贷款风险分类, DKFXDJ), re-amortised schedules and
//! prepayment (提前还款). Pure and exact like the schedules of the parent module.
//!
//! * **Overdue.** An unpaid installment counts as overdue only after the policy's grace
//!   days ([`LoanServicing::grace_days`]); once it does, its overdue days are counted from
//!   the due date itself ([`overdue_days`]).
//! * **Penalty interest.** base × annual rate × multiplier × days / 360, rounded half-up to
//!   the fen **once** ([`penalty`]). The base is the overdue principal, or the overdue
//!   principal and interest, as [`LoanServicing::penalty_base`] says (HG: principal and
//!   interest, 1.5 × the contract rate). The application recomputes a penalty from the due
//!   date to the day of payment each time it needs it, instead of adding up one rounded
//!   amount per day: daily roundings would drift (1.00 yuan × 3.6 % × 1.5 for 100 days is
//!   0.015 fen a day, 0 each day, but 1.5 fen → 0.02 yuan in total).
//! * **Risk class.** By overdue days against the policy's thresholds ([`classify`]).
//! * **Re-amortising** ([`schedule_from`]): after a prepayment or a re-pricing the rest of
//!   a loan gets a new schedule whose first period is a full month ending on the next due
//!   date.
//! * **Prepayment** ([`prepay`]): the interest accrued since the last due date (or the
//!   disbursement) on the whole remaining principal is paid with the prepaid principal;
//!   the rest is re-amortised, keeping the end date or keeping about the same payment.
//! * **Re-pricing** of existing loans on the policy's switch dates is
//!   [`Policy::existing_loan_rate_on`](crate::policy::Policy::existing_loan_rate_on);
//!   re-amortise the remaining principal at that rate with [`schedule_from`].

#[cfg(test)]
mod tests;

use jiff::Unit;
use jiff::civil::Date;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::ToPrimitive;
use serde::{Deserialize, Serialize};

use super::{
    DAY_BASIS, LoanError, MAX_MONTHS, Method, Row, add_months, day_interest, installment, schedule,
};
use crate::money::{Fen, MoneyError, Rate, Rounding};
use crate::policy::LoanServicing;

/// The five-tier loan risk classification (贷款风险分类, JGJ/T 320 code DKFXDJ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RiskClass {
    /// 正常 (`01`).
    Normal,
    /// 关注 (`02`).
    SpecialMention,
    /// 次级 (`03`).
    Substandard,
    /// 可疑 (`04`).
    Doubtful,
    /// 损失 (`05`).
    Loss,
}

impl RiskClass {
    /// Every class, best first.
    pub const ALL: [RiskClass; 5] = [
        RiskClass::Normal,
        RiskClass::SpecialMention,
        RiskClass::Substandard,
        RiskClass::Doubtful,
        RiskClass::Loss,
    ];

    /// The DKFXDJ code, `01`–`05`.
    pub const fn code(self) -> &'static str {
        match self {
            RiskClass::Normal => "01",
            RiskClass::SpecialMention => "02",
            RiskClass::Substandard => "03",
            RiskClass::Doubtful => "04",
            RiskClass::Loss => "05",
        }
    }

    /// The class with this DKFXDJ code (`99`, other, is not a class of its own).
    pub fn from_code(code: &str) -> Option<RiskClass> {
        RiskClass::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Chinese label: 正常, 关注, 次级, 可疑, 损失.
    pub const fn label_zh(self) -> &'static str {
        match self {
            RiskClass::Normal => "正常",
            RiskClass::SpecialMention => "关注",
            RiskClass::Substandard => "次级",
            RiskClass::Doubtful => "可疑",
            RiskClass::Loss => "损失",
        }
    }

    /// English label.
    pub const fn label_en(self) -> &'static str {
        match self {
            RiskClass::Normal => "normal",
            RiskClass::SpecialMention => "special mention",
            RiskClass::Substandard => "substandard",
            RiskClass::Doubtful => "doubtful",
            RiskClass::Loss => "loss",
        }
    }
}

/// The risk class of a loan overdue `days_overdue` days (0: not overdue): the worst class
/// whose threshold (`…_from`, in overdue days, inclusive) is reached.
pub fn classify(days_overdue: u32, rule: &LoanServicing) -> RiskClass {
    if days_overdue >= rule.loss_from {
        RiskClass::Loss
    } else if days_overdue >= rule.doubtful_from {
        RiskClass::Doubtful
    } else if days_overdue >= rule.substandard_from {
        RiskClass::Substandard
    } else if days_overdue >= rule.special_mention_from {
        RiskClass::SpecialMention
    } else {
        RiskClass::Normal
    }
}

/// Days an installment due on `due` and still unpaid on `today` is overdue: 0 while
/// `today ≤ due + grace_days`, after that the whole number of days from `due` to `today`
/// (the grace only postpones when an installment counts as overdue; penalty days run
/// from the due date).
pub fn overdue_days(due: Date, grace_days: u32, today: Date) -> u32 {
    let days = due
        .until((Unit::Day, today))
        .map(|s| s.get_days())
        .unwrap_or(0);
    match u32::try_from(days) {
        Ok(d) if d > grace_days => d,
        _ => 0,
    }
}

/// Penalty interest (罚息) = `base` × `annual` × `multiplier` × `days` / 360, computed
/// exactly and rounded half-up to the fen once. `multiplier` is a [`Rate`] of the whole
/// (1.5× = 150 %, [`LoanServicing::penalty_multiplier`]); `base` is the overdue principal
/// or principal and interest ([`LoanServicing::penalty_base`]).
///
/// Recompute the penalty from the due date for the whole overdue period; never sum daily
/// rounded amounts (see the module documentation).
pub fn penalty(base: Fen, annual: Rate, multiplier: Rate, days: u32) -> Result<Fen, LoanError> {
    if base.is_negative() {
        return Err(LoanError::Amount {
            field: "base",
            value: base,
            rule: "the penalty base must not be negative".into(),
        });
    }
    if !(0..=Rate::UNITS_PER_WHOLE).contains(&annual.units()) {
        return Err(LoanError::Rate { rate: annual });
    }
    if multiplier.units() < 0 {
        return Err(LoanError::Rate { rate: multiplier });
    }
    let num = BigInt::from(base.fen())
        * BigInt::from(annual.units())
        * BigInt::from(multiplier.units())
        * BigInt::from(days);
    let den = BigInt::from(DAY_BASIS)
        * BigInt::from(Rate::UNITS_PER_WHOLE)
        * BigInt::from(Rate::UNITS_PER_WHOLE);
    // Half up for non-negative values: floor((2·num + den) / (2·den)).
    let twice: BigInt = num * 2 + &den;
    let two_den: BigInt = den * 2;
    twice
        .div_floor(&two_den)
        .to_i64()
        .map(Fen::new)
        .ok_or(LoanError::Money(MoneyError::Overflow { op: "penalty" }))
}

/// A schedule of `months` periods whose first period is a **full month** ending on
/// `first_due` (interest at the monthly rate, no day count) and whose period k is due on
/// `first_due` plus k − 1 months; every other rule is [`schedule`]'s.
///
/// For re-amortising the rest of a loan after a prepayment or a re-pricing. The rows'
/// `period` numbering **restarts at 1**: the caller renumbers them to follow the periods
/// already paid.
pub fn schedule_from(
    principal: Fen,
    annual: Rate,
    months: u32,
    method: Method,
    first_due: Date,
) -> Result<Vec<Row>, LoanError> {
    let mut rows = schedule(principal, annual, months, method, None)?;
    for row in &mut rows {
        row.due = Some(add_months(first_due, row.period - 1)?);
    }
    Ok(rows)
}

/// How the rest of a loan is re-amortised after a partial prepayment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrepayMode {
    /// Keep the end date; the payment falls (缩减月供).
    Reamortise,
    /// Keep about the same payment; fewer months (缩短期限).
    ShortenTerm,
}

impl PrepayMode {
    /// Stored code: `reamortise` or `shorten-term`.
    pub const fn code(self) -> &'static str {
        match self {
            PrepayMode::Reamortise => "reamortise",
            PrepayMode::ShortenTerm => "shorten-term",
        }
    }

    /// The mode with this code.
    pub fn from_code(code: &str) -> Option<PrepayMode> {
        [PrepayMode::Reamortise, PrepayMode::ShortenTerm]
            .into_iter()
            .find(|m| m.code() == code)
    }
}

/// The result of a prepayment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prepayment {
    /// Interest accrued since the last due date (or the disbursement) on the whole
    /// remaining principal, paid with the prepayment.
    pub interest: Fen,
    /// Principal prepaid.
    pub principal: Fen,
    /// The schedule of the rest, periods numbered from 1; empty on payoff.
    pub new_schedule: Vec<Row>,
}

/// A prepayment of `amount` principal (`amount` = `remaining` pays the loan off).
///
/// * `interest` = `remaining` × `annual` × days / 360, half-up, days from
///   `last_due_or_disbursed` to `today`.
/// * The rest, `remaining − amount`, gets a schedule ([`schedule_from`]) whose first period
///   ends on `next_due`. As that period's interest up to `today` has just been paid on the
///   whole remaining principal, its interest is the rest × `annual` × days / 360 from
///   `today` to `next_due` (its principal part unchanged), unless `today` is
///   `last_due_or_disbursed` itself, when it is a normal full month.
/// * [`PrepayMode::Reamortise`]: `remaining_months` periods, so the end date stays.
/// * [`PrepayMode::ShortenTerm`]: equal installment — the fewest months whose installment
///   on the rest is at most the installment of `remaining` over `remaining_months`;
///   equal principal — ⌈rest / old principal part⌉ months, the old part being
///   `remaining` / `remaining_months` rounded half-up (so the new part is at most the old).
///
/// Requires `0 < amount ≤ remaining`, `1 ≤ remaining_months ≤ 360` and
/// `last_due_or_disbursed ≤ today < next_due`. The policy's conditions (least amount,
/// months since disbursement, prepayments a year) are [`prepayment_allowed`].
#[allow(clippy::too_many_arguments)]
pub fn prepay(
    remaining: Fen,
    amount: Fen,
    annual: Rate,
    method: Method,
    remaining_months: u32,
    next_due: Date,
    last_due_or_disbursed: Date,
    today: Date,
    mode: PrepayMode,
) -> Result<Prepayment, LoanError> {
    if !remaining.is_positive() {
        return Err(LoanError::Principal { value: remaining });
    }
    if !amount.is_positive() || amount > remaining {
        return Err(LoanError::Amount {
            field: "amount",
            value: amount,
            rule: format!(
                "the principal prepaid must be above 0 and at most the remaining principal {}",
                remaining.plain()
            ),
        });
    }
    if !(1..=MAX_MONTHS).contains(&remaining_months) {
        return Err(LoanError::Months {
            months: remaining_months,
        });
    }
    if today < last_due_or_disbursed {
        return Err(LoanError::DateOrder {
            field: "today",
            value: today,
            rule: format!(
                "must not be before the last due date or disbursement ({last_due_or_disbursed})"
            ),
        });
    }
    if today >= next_due {
        return Err(LoanError::DateOrder {
            field: "today",
            value: today,
            rule: format!(
                "must be before the next due date ({next_due}): collect that installment first"
            ),
        });
    }
    let interest = day_interest(
        remaining,
        annual,
        days_between(last_due_or_disbursed, today)?,
    )?;
    let rest = remaining.checked_sub(amount)?;
    if rest.is_zero() {
        return Ok(Prepayment {
            interest,
            principal: amount,
            new_schedule: Vec::new(),
        });
    }
    let months = match mode {
        PrepayMode::Reamortise => remaining_months,
        PrepayMode::ShortenTerm => shortened(remaining, rest, annual, method, remaining_months)?,
    };
    let mut rows = schedule_from(rest, annual, months, method, next_due)?;
    if today > last_due_or_disbursed
        && let Some(first) = rows.first_mut()
    {
        first.interest = day_interest(rest, annual, days_between(today, next_due)?)?;
        first.payment = first.principal.checked_add(first.interest)?;
    }
    Ok(Prepayment {
        interest,
        principal: amount,
        new_schedule: rows,
    })
}

/// Checks a partial prepayment against the policy: at least
/// [`LoanServicing::prepayment_min_amount`] (a payoff of the whole `remaining` may be
/// less), at least [`LoanServicing::prepayment_min_months_after_disbursement`] whole
/// months after `disbursed`, and fewer than [`LoanServicing::prepayment_max_per_year`]
/// earlier prepayments in `today`'s calendar year (`earlier_this_year`). Errors name the
/// field, its value and the rule.
pub fn prepayment_allowed(
    rule: &LoanServicing,
    amount: Fen,
    remaining: Fen,
    disbursed: Date,
    today: Date,
    earlier_this_year: u32,
) -> Result<(), LoanError> {
    let payoff = amount == remaining;
    if !payoff && amount < rule.prepayment_min_amount {
        return Err(LoanError::Amount {
            field: "amount",
            value: amount,
            rule: format!(
                "a partial prepayment must be at least {} (loan_servicing.prepayment_min_amount)",
                rule.prepayment_min_amount.plain()
            ),
        });
    }
    let earliest = add_months(disbursed, rule.prepayment_min_months_after_disbursement)?;
    if today < earliest {
        return Err(LoanError::DateOrder {
            field: "today",
            value: today,
            rule: format!(
                "a prepayment is accepted from {earliest}, {} months after the disbursement on {disbursed} (loan_servicing.prepayment_min_months_after_disbursement)",
                rule.prepayment_min_months_after_disbursement
            ),
        });
    }
    if earlier_this_year >= rule.prepayment_max_per_year {
        return Err(LoanError::Amount {
            field: "amount",
            value: amount,
            rule: format!(
                "{earlier_this_year} prepayment(s) already this year, at most {} a year (loan_servicing.prepayment_max_per_year)",
                rule.prepayment_max_per_year
            ),
        });
    }
    Ok(())
}

/// The months of a shortened term (see [`prepay`]).
fn shortened(
    remaining: Fen,
    rest: Fen,
    annual: Rate,
    method: Method,
    remaining_months: u32,
) -> Result<u32, LoanError> {
    match method {
        Method::EqualInstallment => {
            let old = installment(remaining, annual, remaining_months)?;
            // The installment never rises with the term: binary search for the fewest
            // months whose installment is at most the old one (remaining_months always is,
            // as rest < remaining).
            let (mut lo, mut hi) = (1, remaining_months);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if installment(rest, annual, mid)? <= old {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            Ok(lo)
        }
        Method::EqualPrincipal => {
            let part = Rounding::HalfUpFen
                .apply(i128::from(remaining.fen()), i128::from(remaining_months))?;
            if !part.is_positive() {
                return Ok(remaining_months);
            }
            // ⌈rest / part⌉ for positive values.
            let n = (rest.fen() - 1) / part.fen() + 1;
            Ok(u32::try_from(n)
                .unwrap_or(remaining_months)
                .clamp(1, remaining_months))
        }
    }
}

/// Whole days from `from` to `to`.
fn days_between(from: Date, to: Date) -> Result<i64, LoanError> {
    from.until((Unit::Day, to))
        .map(|s| i64::from(s.get_days()))
        .map_err(|e| LoanError::Date(e.to_string()))
}
