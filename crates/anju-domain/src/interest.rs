//! Interest on members' balances (结息, DOMAIN.md §2): the accumulated-balance method
//! (积数法). Interest = Σ (closing balance × days) × annual rate / day-count basis,
//! computed exactly and rounded half-up to the fen once.
//!
//! When the deposit rate changes inside an interest period, the period's 积数 is split
//! into one piece per rate period ([`accrual_by_pieces`]) and each piece takes its own
//! rate; the pieces are summed exactly before the one rounding.

use jiff::civil::Date;

use crate::ledger::days_between;
use crate::money::{Fen, MoneyError, Rate, Rounding};
use crate::policy::DayCountBasis;

/// One rate period's share of an account's 积数.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccrualPiece {
    /// First day of the rate period (inclusive).
    pub start: Date,
    /// End of the rate period (exclusive).
    pub end: Date,
    /// Annual rate for these days.
    pub annual: Rate,
    /// 积数 of these days, fen·days.
    pub accrual: i128,
}

/// Interest on the pieces: Σ accrual × rate / basis, rounded half-up to the fen once.
pub fn interest_on(pieces: &[AccrualPiece], basis: DayCountBasis) -> Result<Fen, MoneyError> {
    let mut num: i128 = 0;
    for p in pieces {
        num = p
            .accrual
            .checked_mul(i128::from(p.annual.units()))
            .and_then(|x| num.checked_add(x))
            .ok_or(MoneyError::Overflow { op: "interest" })?;
    }
    let den = i128::from(Rate::UNITS_PER_WHOLE) * i128::from(basis.days());
    Rounding::HalfUpFen.apply(num, den)
}

/// A posted change of an account's balance, for splitting 积数 by rate period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceChange {
    /// Signed change on the account's normal side, fen.
    pub delta: i64,
    /// Value date (起息日).
    pub value_date: Date,
}

/// Splits the 积数 of the period `[from, end)` into the given rate periods, from every
/// posted change of the account's balance (including those before `from`, which form the
/// opening balance). Each change counts on every day from `max(value_date, from)` up to
/// `end`, so each piece gets `Σ delta × |[max(v, from), end) ∩ [start, piece end)|`.
/// The pieces must be contiguous and cover `[from, end)` (as
/// [`Policy::deposit_rate_periods`](crate::policy::Policy::deposit_rate_periods) gives
/// them).
pub fn accrual_by_pieces(
    from: Date,
    periods: &[(Date, Date, Rate)],
    changes: impl IntoIterator<Item = BalanceChange>,
) -> Vec<AccrualPiece> {
    let mut pieces: Vec<AccrualPiece> = periods
        .iter()
        .map(|&(start, end, annual)| AccrualPiece {
            start,
            end,
            annual,
            accrual: 0,
        })
        .collect();
    for c in changes {
        let counts_from = c.value_date.max(from);
        for p in &mut pieces {
            let s = counts_from.max(p.start);
            if s >= p.end {
                continue;
            }
            let days = days_between(s, p.end).unwrap_or(0);
            p.accrual += i128::from(c.delta) * i128::from(days);
        }
    }
    pieces
}

/// The interest a settled interest period `[from, end)` paid on `amount` counted from
/// `value_date` (days before `from` count from `from`): the same 积数 split by rate period
/// and the same one half-up rounding as the year-end — what a reversal across that
/// settlement (冲正) takes back with the money.
pub fn interest_paid_on(
    amount: Fen,
    value_date: Date,
    from: Date,
    periods: &[(Date, Date, Rate)],
    basis: DayCountBasis,
) -> Result<Fen, MoneyError> {
    let pieces = accrual_by_pieces(
        from,
        periods,
        [BalanceChange {
            delta: amount.fen(),
            value_date,
        }],
    );
    interest_on(&pieces, basis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn interest_is_accrual_times_rate_over_basis_rounded_once() {
        // 10,000.00 yuan for a whole 365-day year at 1.5 %/360:
        // 1,000,000 fen × 365 × 0.015 / 360 = 15,208.333… fen → 152.08 yuan.
        let p = AccrualPiece {
            start: d("2025-07-01"),
            end: d("2026-07-01"),
            annual: Rate::parse_percent("1.5").unwrap(),
            accrual: 1_000_000 * 365,
        };
        assert_eq!(
            interest_on(&[p], DayCountBasis::Days360).unwrap(),
            Fen::new(15_208)
        );
        assert_eq!(
            interest_on(&[p], DayCountBasis::Days365).unwrap(),
            Fen::new(15_000)
        );
        // Half-up: 12,000 fen·days at 1.5 %/360 is exactly 0.5 fen → 1 fen.
        let half = AccrualPiece {
            accrual: 12_000,
            ..p
        };
        assert_eq!(
            interest_on(&[half], DayCountBasis::Days360).unwrap(),
            Fen::new(1)
        );
        let below = AccrualPiece {
            accrual: 11_999,
            ..p
        };
        assert_eq!(
            interest_on(&[below], DayCountBasis::Days360).unwrap(),
            Fen::ZERO
        );
    }

    #[test]
    fn interest_paid_on_an_amount_from_its_value_date() {
        // 1,000.00 from 2026-05-10 through 2026-06-30 (52 days) at 1.5 %/360:
        // 100,000 × 52 × 0.015 / 360 = 216.67 fen → 2.17 yuan.
        let r = Rate::parse_percent("1.5").unwrap();
        let periods = [(d("2025-07-01"), d("2026-07-01"), r)];
        assert_eq!(
            interest_paid_on(
                Fen::new(100_000),
                d("2026-05-10"),
                d("2025-07-01"),
                &periods,
                DayCountBasis::Days360
            )
            .unwrap(),
            Fen::new(217)
        );
        // Money there before the period counts from its first day: 365 days.
        assert_eq!(
            interest_paid_on(
                Fen::new(100_000),
                d("2024-08-01"),
                d("2025-07-01"),
                &periods,
                DayCountBasis::Days360
            )
            .unwrap(),
            Fen::new(1_521)
        );
    }

    #[test]
    fn accrual_splits_by_rate_period() {
        let r1 = Rate::parse_percent("1.5").unwrap();
        let r2 = Rate::parse_percent("1.25").unwrap();
        let periods = [
            (d("2025-07-01"), d("2026-01-01"), r1),
            (d("2026-01-01"), d("2026-07-01"), r2),
        ];
        // 1,000.00 carried in from before the period, 500.00 more from 2025-12-01,
        // 300.00 withdrawn from 2026-03-01.
        let changes = [
            BalanceChange {
                delta: 100_000,
                value_date: d("2024-08-15"),
            },
            BalanceChange {
                delta: 50_000,
                value_date: d("2025-12-01"),
            },
            BalanceChange {
                delta: -30_000,
                value_date: d("2026-03-01"),
            },
        ];
        let pieces = accrual_by_pieces(d("2025-07-01"), &periods, changes);
        // First half: 184 days × 1,000.00 + 31 days × 500.00.
        assert_eq!(pieces[0].accrual, 100_000 * 184 + 50_000 * 31);
        // Second half: 181 days × 1,500.00 − 122 days × 300.00 (March 1 to June 30).
        assert_eq!(pieces[1].accrual, 150_000 * 181 - 30_000 * 122);
        let total: i128 = pieces.iter().map(|p| p.accrual).sum();
        assert_eq!(total, 100_000 * 365 + 50_000 * 212 - 30_000 * 122);
    }
}
