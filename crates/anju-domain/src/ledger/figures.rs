//! Per-account running figures: balance, pending amounts, and the accumulated
//! balance-days (积数) of the current interest period.
//!
//! 积数 convention (DOMAIN.md §2, issue 3): each calendar day's closing balance counts
//! once. `accrual` covers the days from `accrual_from` up to but not including
//! `last_change`; the balance counts for every day from `last_change` on. A posting with
//! value date `v ≥ last_change` first adds `balance × (v − last_change)` and moves
//! `last_change` to `v`; a back-dated posting (`v < last_change`) adds
//! `delta × (last_change − v)` for the days it should have counted. So
//! `accrual = Σ delta × (last_change − max(v, accrual_from))` over every posted leg,
//! which is how `anju audit` re-derives it.

use jiff::civil::Date;

use super::LedgerError;
use super::chart::{AccountNo, Side};
use crate::money::Fen;

/// A ledger account and its running figures, as loaded from and saved to the store.
/// Figures are a cache of the journal; only the posting engine changes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    /// Account number.
    pub no: AccountNo,
    /// Normal balance side (from the chart).
    pub normal: Side,
    /// May the available balance never fall below zero?
    pub non_negative: bool,
    /// Date the account was opened.
    pub opened_on: Date,
    /// Balance on the normal side (a liability's credit balance is positive).
    pub balance: Fen,
    /// Outflows reserved by pending entries (reduce the available balance).
    pub pending_out: Fen,
    /// Inflows announced by pending entries (not yet available).
    pub pending_in: Fen,
    /// 积数: Σ closing balance × days, in fen·days, for the days before `last_change`.
    pub accrual: i64,
    /// First day of the current interest period.
    pub accrual_from: Date,
    /// The day from which the current balance counts.
    pub last_change: Date,
    /// Number of legs that touched the account (for a control account: its sub-ledger's);
    /// maintained by the posting engine.
    pub entry_count: i64,
}

impl AccountState {
    /// A new account with zero figures, opened on `opened_on`.
    pub fn open(no: AccountNo, opened_on: Date) -> AccountState {
        let chart = no.chart();
        AccountState {
            normal: chart.normal,
            non_negative: chart.non_negative,
            no,
            opened_on,
            balance: Fen::ZERO,
            pending_out: Fen::ZERO,
            pending_in: Fen::ZERO,
            accrual: 0,
            accrual_from: opened_on,
            last_change: opened_on,
            entry_count: 0,
        }
    }

    /// Balance less pending outflows: what may still be paid out.
    pub fn available(&self) -> Result<Fen, LedgerError> {
        self.balance
            .checked_sub(self.pending_out)
            .map_err(|_| LedgerError::Overflow { what: "available" })
    }

    /// 积数 through the end of `through` (inclusive), without changing the account.
    pub fn accrual_through(&self, through: Date) -> Result<i64, LedgerError> {
        let days = days_between(self.last_change, through)? + 1;
        if days <= 0 {
            return Ok(self.accrual);
        }
        let extra = i128::from(self.balance.fen()) * i128::from(days);
        to_i64(i128::from(self.accrual) + extra, "accrual")
    }

    /// Applies a posted amount (`delta` on the normal side) with value date `v`.
    pub fn apply_posted(&mut self, delta: i64, v: Date) -> Result<(), LedgerError> {
        if v < self.accrual_from {
            return Err(LedgerError::ValueDateBeforePeriod {
                account: self.no.clone(),
                value_date: v,
                period_start: self.accrual_from,
            });
        }
        let accrual = if v >= self.last_change {
            let days = days_between(self.last_change, v)?;
            let a = i128::from(self.accrual) + i128::from(self.balance.fen()) * i128::from(days);
            self.last_change = v;
            a
        } else {
            let days = days_between(v, self.last_change)?;
            i128::from(self.accrual) + i128::from(delta) * i128::from(days)
        };
        self.accrual = to_i64(accrual, "accrual")?;
        self.balance = self
            .balance
            .checked_add(Fen::new(delta))
            .map_err(|_| LedgerError::Overflow { what: "balance" })?;
        Ok(())
    }

    /// Applies a reversal's amount (`delta` on the normal side) with the reversed entry's
    /// value date `v`. Within the current period this is [`AccountState::apply_posted`].
    /// A value date in an interest period already closed (a correction across a
    /// year-end settlement) counts from the current period's first day: the closed
    /// period's share was settled, and the caller corrects the interest it paid in the
    /// same transaction (`TxCode::InterestCorrection`). This is exactly the audit's
    /// `delta × (last_change − max(v, accrual_from))`.
    pub fn apply_reversed(&mut self, delta: i64, v: Date) -> Result<(), LedgerError> {
        self.apply_posted(delta, v.max(self.accrual_from))
    }

    /// Closes the current interest period and starts a new one on `new_start` (the day
    /// after the year-end settlement date): returns the closed period's 积数 (every day
    /// before `new_start`), then sets 积数 to zero and both the period start and the
    /// last change to `new_start`. The balance carries over and counts from `new_start`.
    /// Refused if money already moved with a value date after `new_start` (the closed
    /// period's figure could no longer be separated) or if the period would not move
    /// forward.
    pub fn roll_period(&mut self, new_start: Date) -> Result<i64, LedgerError> {
        if self.last_change > new_start || new_start <= self.accrual_from {
            return Err(LedgerError::PeriodRoll {
                account: self.no.clone(),
                new_start,
                last_change: self.last_change,
                period_start: self.accrual_from,
            });
        }
        let closed = self.accrual_through(
            new_start
                .yesterday()
                .map_err(|_| LedgerError::Overflow { what: "date" })?,
        )?;
        self.accrual = 0;
        self.accrual_from = new_start;
        self.last_change = new_start;
        Ok(closed)
    }

    /// Reserves a pending amount: an outflow (`delta < 0`) raises `pending_out`, an inflow
    /// raises `pending_in`. Balances and 积数 do not change.
    pub fn reserve(&mut self, delta: i64) -> Result<(), LedgerError> {
        self.shift_pending(delta, 1)
    }

    /// Releases a reservation made by [`AccountState::reserve`] with the same `delta`.
    pub fn release(&mut self, delta: i64) -> Result<(), LedgerError> {
        self.shift_pending(delta, -1)
    }

    fn shift_pending(&mut self, delta: i64, sign: i64) -> Result<(), LedgerError> {
        let amount = Fen::new(
            delta
                .unsigned_abs()
                .try_into()
                .map_err(|_| LedgerError::Overflow { what: "pending" })?,
        );
        let slot = if delta < 0 {
            &mut self.pending_out
        } else {
            &mut self.pending_in
        };
        let next = if sign > 0 {
            slot.checked_add(amount)
        } else {
            slot.checked_sub(amount)
        }
        .map_err(|_| LedgerError::Overflow { what: "pending" })?;
        if next.is_negative() {
            return Err(LedgerError::Overflow {
                what: "pending released twice",
            });
        }
        *slot = next;
        Ok(())
    }

    /// Errors if a never-negative account's available balance is below zero.
    pub fn check_non_negative(&self) -> Result<(), LedgerError> {
        if !self.non_negative {
            return Ok(());
        }
        let available = self.available()?;
        if available.is_negative() {
            let shortfall = available
                .checked_neg()
                .map_err(|_| LedgerError::Overflow { what: "available" })?;
            return Err(LedgerError::InsufficientFunds {
                account: self.no.clone(),
                shortfall,
            });
        }
        Ok(())
    }
}

/// Whole days from `a` to `b` (negative if `b` is before `a`).
pub fn days_between(a: Date, b: Date) -> Result<i64, LedgerError> {
    a.until(b)
        .map(|span| i64::from(span.get_days()))
        .map_err(|_| LedgerError::Overflow { what: "days" })
}

fn to_i64(v: i128, what: &'static str) -> Result<i64, LedgerError> {
    i64::try_from(v).map_err(|_| LedgerError::Overflow { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn accrual_counts_each_closing_balance_once() {
        let mut a = AccountState::open(AccountNo::parse("201.M1").unwrap(), d("2025-07-01"));
        // 1,000.00 deposited on 2025-07-01, another 500.00 on 2025-07-11.
        a.apply_posted(100_000, d("2025-07-01")).unwrap();
        a.apply_posted(50_000, d("2025-07-11")).unwrap();
        // Days 07-01..07-10 at 1,000.00 = 10 days × 100,000 fen.
        assert_eq!(a.accrual, 1_000_000);
        // Through 2025-07-20 inclusive: + 10 days × 150,000.
        assert_eq!(a.accrual_through(d("2025-07-20")).unwrap(), 2_500_000);
        // A withdrawal of 200.00 on 07-21: that day already counts the lower balance.
        a.apply_posted(-20_000, d("2025-07-21")).unwrap();
        assert_eq!(a.accrual, 2_500_000);
        assert_eq!(
            a.accrual_through(d("2025-07-21")).unwrap(),
            2_500_000 + 130_000
        );
        // A back-dated deposit of 100.00 with value date 07-16 adds 5 days × 10,000.
        a.apply_posted(10_000, d("2025-07-16")).unwrap();
        assert_eq!(a.accrual, 2_550_000);
        assert_eq!(a.last_change, d("2025-07-21"));
        assert_eq!(a.balance, Fen::new(140_000));
    }

    #[test]
    fn rolling_the_period_returns_its_accrual_and_restarts() {
        let mut a = AccountState::open(AccountNo::parse("201.M1").unwrap(), d("2025-03-01"));
        a.apply_posted(100_000, d("2025-03-01")).unwrap();
        a.apply_posted(20_000, d("2025-06-21")).unwrap();
        // March 1 – June 20: 112 days × 1,000.00; June 21 – 30: 10 days × 1,200.00.
        assert_eq!(
            a.roll_period(d("2025-07-01")).unwrap(),
            100_000 * 112 + 120_000 * 10
        );
        assert_eq!(
            (a.accrual, a.accrual_from, a.last_change),
            (0, d("2025-07-01"), d("2025-07-01"))
        );
        assert_eq!(a.balance, Fen::new(120_000));
        // The balance counts from the new period's first day.
        assert_eq!(a.accrual_through(d("2025-07-02")).unwrap(), 240_000);
        // Not twice, and not once money moved after the new start.
        assert!(matches!(
            a.roll_period(d("2025-07-01")),
            Err(LedgerError::PeriodRoll { .. })
        ));
        a.apply_posted(1, d("2025-07-05")).unwrap();
        assert!(matches!(
            a.roll_period(d("2025-07-03")),
            Err(LedgerError::PeriodRoll { .. })
        ));
        // And a value date in the closed period is refused afterwards.
        assert!(matches!(
            a.apply_posted(1, d("2025-06-30")),
            Err(LedgerError::ValueDateBeforePeriod { .. })
        ));
    }

    #[test]
    fn a_reversal_across_a_closed_period_counts_from_the_period_start() {
        let mut a = AccountState::open(AccountNo::parse("201.M1").unwrap(), d("2026-03-01"));
        a.apply_posted(100_000, d("2026-05-10")).unwrap();
        a.roll_period(d("2026-07-01")).unwrap();
        a.apply_posted(20_000, d("2026-07-10")).unwrap();
        // Reversing the May money on 08-03: it leaves the new period's 积数 from 07-01,
        // 9 days (07-01 … 07-09) before the last change.
        a.apply_reversed(-100_000, d("2026-05-10")).unwrap();
        assert_eq!(a.balance, Fen::new(20_000));
        assert_eq!(a.accrual, 100_000 * 9 - 100_000 * 9);
        assert_eq!(a.last_change, d("2026-07-10"));
        // Within the period a reversal is an ordinary back-dated posting.
        a.apply_reversed(-20_000, d("2026-07-10")).unwrap();
        assert_eq!((a.balance, a.accrual), (Fen::ZERO, 0));
        // Other postings before the period are still refused.
        assert!(matches!(
            a.apply_posted(1, d("2026-06-30")),
            Err(LedgerError::ValueDateBeforePeriod { .. })
        ));
    }

    #[test]
    fn value_date_before_period_is_refused() {
        let mut a = AccountState::open(AccountNo::parse("201.M1").unwrap(), d("2025-07-01"));
        let err = a.apply_posted(1, d("2025-06-30")).unwrap_err();
        assert!(matches!(err, LedgerError::ValueDateBeforePeriod { .. }));
        assert_eq!(a.balance, Fen::ZERO);
    }

    #[test]
    fn pending_reserves_available_balance() {
        let mut a = AccountState::open(AccountNo::parse("201.M1").unwrap(), d("2025-07-01"));
        a.apply_posted(10_000, d("2025-07-01")).unwrap();
        a.reserve(-6_000).unwrap();
        assert_eq!(a.available().unwrap(), Fen::new(4_000));
        a.check_non_negative().unwrap();
        a.reserve(-6_000).unwrap();
        let err = a.check_non_negative().unwrap_err();
        assert!(
            matches!(err, LedgerError::InsufficientFunds { .. }),
            "{err}"
        );
        a.release(-6_000).unwrap();
        a.check_non_negative().unwrap();
        a.reserve(500).unwrap();
        assert_eq!(a.pending_in, Fen::new(500));
        a.release(500).unwrap();
        assert!(a.release(500).is_err());
    }
}
