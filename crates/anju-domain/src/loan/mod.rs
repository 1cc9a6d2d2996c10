//! Loan repayment schedules (还款计划, issue 7 item 4), exact to the fen.
//!
//! Let P be the principal in fen, n the number of months and r = annual rate / 12 — an exact
//! rational: a [`Rate`] is `u` units of 10⁻⁹, so r = u / (12 × 10⁹). No floats anywhere.
//!
//! * **Equal installment (等额本息, [`Method::EqualInstallment`]).** The installment
//!   M = P·r·(1+r)ⁿ / ((1+r)ⁿ − 1) is computed exactly with big integers (numerator
//!   P·u·(D+u)ⁿ over D·((D+u)ⁿ − Dⁿ), D = 12 × 10⁹) and rounded half-up to the fen. With
//!   r = 0, M = P / n rounded half-up. Each period's interest is the remaining principal × r
//!   rounded half-up; its principal part is M − interest. The **last period pays the whole
//!   remaining principal plus its interest**, so it absorbs every rounding residue.
//! * **Equal principal (等额本金, [`Method::EqualPrincipal`]).** The principal part is P / n
//!   rounded half-up, the last period takes the remainder; interest as above; payment =
//!   principal part + interest.
//! * **Tiny loans.** The principal part of a period never exceeds the remaining principal.
//!   When rounding would make it (only possible for loans of a few fen per month, e.g.
//!   5 fen over 8 months), that period pays the loan off and any later periods are zero rows.
//!   The schedule always has exactly n rows.
//! * **First period by actual days** (`first = Some((disbursed, K))`). The first due date is
//!   the **first day K strictly after the disbursement date** (disbursed on the 5th with
//!   K = 20 → the 20th of the same month; disbursed on the 20th or later → the 20th of the
//!   next month); period k is due on that date plus k − 1 months (K ≤ 28, so it always
//!   exists). The first period's interest is remaining principal × annual rate × days / 360
//!   rounded half-up, days counted from the disbursement date to the first due date. The
//!   later periods use the monthly r as above. For equal installments **M is not changed**:
//!   the first period keeps its normal principal part M − round(P·r) and its payment is
//!   that principal part + the day-count interest (so the first payment differs from M).
//!   For equal principal the principal part is unchanged and the payment is principal part
//!   + day-count interest. A one-month loan pays P + day-count interest.

use jiff::civil::Date;
use jiff::{Span, Unit};
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::money::{Fen, MoneyError, Rate, Rounding};

mod decide;
mod servicing;
#[cfg(test)]
mod tests;

pub use decide::{
    Borrower, BorrowerAccount, BorrowerRole, HomeOrder, LimitCandidate, LimitKind, LoanCase,
    LoanDecision, decide, max_principal_for_payment,
};
pub use servicing::{
    PrepayMode, Prepayment, RiskClass, classify, overdue_days, penalty, prepay, prepayment_allowed,
    schedule_from,
};

/// The longest term accepted, in months (30 years).
pub const MAX_MONTHS: u32 = 360;
/// The latest repayment day of the month accepted (every month has it).
pub const MAX_REPAY_DAY: u8 = 28;
/// The day-count basis of the first period's interest (actual / 360).
pub const DAY_BASIS: i64 = 360;

/// The units of r's denominator: 12 months × [`Rate::UNITS_PER_WHOLE`].
const MONTHLY_DEN: i64 = 12 * Rate::UNITS_PER_WHOLE;

/// A repayment method (还款方式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// 等额本息: equal installments (HG code 01).
    EqualInstallment,
    /// 等额本金: equal principal parts, falling interest (HG code 02).
    EqualPrincipal,
}

impl Method {
    /// Both methods.
    pub const ALL: [Method; 2] = [Method::EqualInstallment, Method::EqualPrincipal];

    /// The machine code: `equal-installment` or `equal-principal`.
    pub const fn code(self) -> &'static str {
        match self {
            Method::EqualInstallment => "equal-installment",
            Method::EqualPrincipal => "equal-principal",
        }
    }

    /// The method for a machine code.
    pub fn from_code(code: &str) -> Result<Method, LoanError> {
        Method::ALL
            .into_iter()
            .find(|m| m.code() == code)
            .ok_or_else(|| LoanError::BadMethod {
                value: code.to_owned(),
            })
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Method {
    type Err = LoanError;
    fn from_str(s: &str) -> Result<Method, LoanError> {
        Method::from_code(s)
    }
}

/// One period of a schedule. Amounts serialise as plain yuan strings (`"1234.56"`);
/// `due` is present only when the schedule was given a first date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Row {
    /// 1-based period number.
    pub period: u32,
    /// The due date, when the schedule has a disbursement date and repayment day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<Date>,
    /// Payment of the period = principal + interest.
    pub payment: Fen,
    /// Principal repaid in the period.
    pub principal: Fen,
    /// Interest of the period.
    pub interest: Fen,
    /// Principal remaining after the period.
    pub remaining: Fen,
}

/// Why a schedule cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoanError {
    /// The principal is zero or negative.
    #[error("principal {value} must be greater than zero")]
    Principal { value: Fen },
    /// The term is outside 1–360 months.
    #[error("term of {months} months must be 1 to {MAX_MONTHS} months")]
    Months { months: u32 },
    /// The annual rate is outside 0–100 %.
    #[error("annual rate {rate} must be 0 % to 100 %")]
    Rate { rate: Rate },
    /// The repayment day is outside 1–28.
    #[error("repayment day {day} must be 1 to {MAX_REPAY_DAY}")]
    RepayDay { day: u8 },
    /// The method code is unknown.
    #[error("repayment method {value:?} is not equal-installment or equal-principal")]
    BadMethod { value: String },
    /// A due date falls outside the calendar's range.
    #[error("due date out of range: {0}")]
    Date(String),
    /// An amount overflowed.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// An amount is outside what the rule allows: names the field, the value and the rule.
    #[error("{field} = {}: {rule}", .value.plain())]
    Amount {
        /// The argument or field.
        field: &'static str,
        /// The value given.
        value: Fen,
        /// The rule broken.
        rule: String,
    },
    /// Dates in the wrong order: names the field, the value and the rule.
    #[error("{field} = {value}: {rule}")]
    DateOrder {
        /// The argument or field.
        field: &'static str,
        /// The value given.
        value: Date,
        /// The rule broken.
        rule: String,
    },
}

/// The repayment schedule of a loan: exactly `months` rows, see the module doc for every rule.
///
/// `first` is `(disbursement date, repayment day K)`; with it the first period's interest is
/// counted by actual days / 360 up to the first day K strictly after disbursement, and every
/// row carries its due date.
pub fn schedule(
    principal: Fen,
    annual: Rate,
    months: u32,
    method: Method,
    first: Option<(Date, u8)>,
) -> Result<Vec<Row>, LoanError> {
    if !principal.is_positive() {
        return Err(LoanError::Principal { value: principal });
    }
    if !(1..=MAX_MONTHS).contains(&months) {
        return Err(LoanError::Months { months });
    }
    if !(0..=Rate::UNITS_PER_WHOLE).contains(&annual.units()) {
        return Err(LoanError::Rate { rate: annual });
    }
    let first = match first {
        Some((disbursed, day)) => {
            if !(1..=MAX_REPAY_DAY).contains(&day) {
                return Err(LoanError::RepayDay { day });
            }
            let due = first_due(disbursed, day)?;
            let days = disbursed
                .until((Unit::Day, due))
                .map_err(|e| LoanError::Date(e.to_string()))?
                .get_days();
            Some((due, i64::from(days)))
        }
        None => None,
    };
    let nominal = match method {
        Method::EqualInstallment => installment(principal, annual, months)?,
        Method::EqualPrincipal => {
            Rounding::HalfUpFen.apply(i128::from(principal.fen()), i128::from(months))?
        }
    };

    let mut rows = Vec::with_capacity(months as usize);
    let mut remaining = principal;
    for period in 1..=months {
        let interest = monthly_interest(remaining, annual)?;
        let mut part = if period == months {
            remaining
        } else {
            match method {
                Method::EqualInstallment => nominal.checked_sub(interest)?,
                Method::EqualPrincipal => nominal,
            }
        };
        if part > remaining {
            part = remaining;
        }
        let (due, interest) = match first {
            Some((due1, days)) => {
                let due = add_months(due1, period - 1)?;
                let interest = if period == 1 {
                    day_interest(remaining, annual, days)?
                } else {
                    interest
                };
                (Some(due), interest)
            }
            None => (None, interest),
        };
        remaining = remaining.checked_sub(part)?;
        rows.push(Row {
            period,
            due,
            payment: part.checked_add(interest)?,
            principal: part,
            interest,
            remaining,
        });
    }
    Ok(rows)
}

/// The equal installment M = P·r·(1+r)ⁿ / ((1+r)ⁿ − 1), rounded half-up to the fen; P / n
/// when r = 0. Exact: with r = u / D, M = P·u·(D+u)ⁿ / (D·((D+u)ⁿ − Dⁿ)).
pub fn installment(principal: Fen, annual: Rate, months: u32) -> Result<Fen, LoanError> {
    if months == 0 {
        return Err(LoanError::Months { months });
    }
    let u = annual.units();
    if u == 0 {
        return Ok(Rounding::HalfUpFen.apply(i128::from(principal.fen()), i128::from(months))?);
    }
    let d = BigInt::from(MONTHLY_DEN);
    let a_n = num_traits::pow(BigInt::from(MONTHLY_DEN + u), months as usize);
    let d_n = num_traits::pow(d.clone(), months as usize);
    let num = BigInt::from(principal.fen()) * BigInt::from(u) * &a_n;
    let den = d * (a_n - d_n);
    // Half away from zero: floor((2·num + den) / (2·den)) for positive num and den.
    let two_den: BigInt = den.clone() * 2;
    let twice: BigInt = num * 2 + den;
    let m = twice.div_floor(&two_den);
    m.to_i64()
        .map(Fen::new)
        .ok_or(LoanError::Money(MoneyError::Overflow { op: "installment" }))
}

/// One month's interest: remaining × annual / 12, rounded half-up to the fen.
pub fn monthly_interest(remaining: Fen, annual: Rate) -> Result<Fen, LoanError> {
    let num = i128::from(remaining.fen()) * i128::from(annual.units());
    Ok(Rounding::HalfUpFen.apply(num, i128::from(MONTHLY_DEN))?)
}

/// Interest for `days` actual days: remaining × annual × days / 360, rounded half-up.
pub fn day_interest(remaining: Fen, annual: Rate, days: i64) -> Result<Fen, LoanError> {
    let num = i128::from(remaining.fen()) * i128::from(annual.units()) * i128::from(days);
    Ok(Rounding::HalfUpFen.apply(
        num,
        i128::from(DAY_BASIS) * i128::from(Rate::UNITS_PER_WHOLE),
    )?)
}

/// The first day `day` (1–28) strictly after `disbursed`.
pub fn first_due(disbursed: Date, day: u8) -> Result<Date, LoanError> {
    if !(1..=MAX_REPAY_DAY).contains(&day) {
        return Err(LoanError::RepayDay { day });
    }
    let k = i8::try_from(day).map_err(|_| LoanError::RepayDay { day })?;
    let same = Date::new(disbursed.year(), disbursed.month(), k)
        .map_err(|e| LoanError::Date(e.to_string()))?;
    if same > disbursed {
        Ok(same)
    } else {
        add_months(same, 1)
    }
}

fn add_months(date: Date, months: u32) -> Result<Date, LoanError> {
    date.checked_add(Span::new().months(i64::from(months)))
        .map_err(|e| LoanError::Date(e.to_string()))
}
