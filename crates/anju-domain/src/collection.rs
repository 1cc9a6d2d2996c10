//! Collection (归集) rules that need no storage: contribution months (缴存年月), the
//! contribution base and the monthly amounts, and the account-status lifecycles of units
//! and members with their standard codes (JGJ/T 320, DOMAIN.md §1, §5).
//!
//! Every status change is a [`StatusChange`]: dated, with its standard business type,
//! the status before and after, and the reason — the record issue 3's registry stores
//! as the account's event history. A refused change names the rule it breaks.

use std::fmt;

use jiff::civil::Date;

use crate::codes::{CollectionBusinessType, PersonalAccountStatus, UnitAccountStatus};
use crate::money::{Fen, MoneyError, Rate};
use crate::policy::ContributionRule;

/// Why a collection rule refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CollectionError {
    /// A month is malformed.
    #[error("month {value:?} is not a month in YYYYMM or YYYY-MM form (e.g. 202607)")]
    BadMonth { value: String },
    /// A ratio is outside the policy's bounds.
    #[error("{field} = {value}: must be between {min} and {max} under the policy in force")]
    RatioOutOfBounds {
        field: &'static str,
        value: Rate,
        min: Rate,
        max: Rate,
    },
    /// A base typed directly is outside the floor and cap.
    #[error(
        "base = {value}: a base entered directly must be between the floor {floor} and the cap {cap}"
    )]
    BaseOutOfBounds { value: Fen, floor: Fen, cap: Fen },
    /// A wage or base is zero or negative.
    #[error("{field} = {value}: must be greater than zero")]
    NotPositive { field: &'static str, value: Fen },
    /// The status does not allow the change.
    #[error("{what}: not allowed while the account is {from} ({rule})")]
    BadTransition {
        what: &'static str,
        from: String,
        rule: &'static str,
    },
    /// Arithmetic failed.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// The business calendar does not cover a date.
    #[error(transparent)]
    Calendar(#[from] crate::calendar::CalendarError),
}

/// A contribution month (缴存年月, e.g. the 缴至年月 "paid up to" month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    year: i16,
    month: i8,
}

impl YearMonth {
    /// A month; `None` unless 1 ≤ month ≤ 12 and 1900 ≤ year ≤ 9999.
    pub fn new(year: i16, month: i8) -> Option<YearMonth> {
        ((1..=12).contains(&month) && (1900..=9999).contains(&year))
            .then_some(YearMonth { year, month })
    }

    /// Parses `YYYYMM` (the standard's form) or `YYYY-MM`.
    pub fn parse(text: &str) -> Result<YearMonth, CollectionError> {
        let bad = || CollectionError::BadMonth {
            value: text.to_owned(),
        };
        let t = text.trim();
        let (y, m) = match t.len() {
            6 => (&t[..4], &t[4..]),
            7 if t.as_bytes()[4] == b'-' => (&t[..4], &t[5..]),
            _ => return Err(bad()),
        };
        if !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i16 = y.parse().map_err(|_| bad())?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        YearMonth::new(year, month).ok_or_else(bad)
    }

    /// The month a date falls in.
    pub fn of(date: Date) -> YearMonth {
        YearMonth {
            year: date.year(),
            month: date.month(),
        }
    }

    /// Year.
    pub fn year(self) -> i16 {
        self.year
    }

    /// Month, 1–12.
    pub fn month(self) -> i8 {
        self.month
    }

    /// The first day of the month.
    pub fn first_day(self) -> Date {
        // Valid by construction: 1900 ≤ year ≤ 9999, 1 ≤ month ≤ 12.
        Date::new(self.year, self.month, 1).unwrap_or(Date::MIN)
    }

    /// The month `n` months later (earlier for negative `n`), if still in range.
    pub fn plus(self, n: i32) -> Option<YearMonth> {
        let index = i32::from(self.year) * 12 + i32::from(self.month) - 1 + n;
        let year = i16::try_from(index.div_euclid(12)).ok()?;
        let month = i8::try_from(index.rem_euclid(12) + 1).ok()?;
        YearMonth::new(year, month)
    }

    /// Months from `self` to `later` (negative if `later` is earlier).
    pub fn months_until(self, later: YearMonth) -> i32 {
        (i32::from(later.year) - i32::from(self.year)) * 12 + i32::from(later.month)
            - i32::from(self.month)
    }

    /// The standard's `YYYYMM` form.
    pub fn compact(self) -> String {
        format!("{:04}{:02}", self.year, self.month)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Why a base differs from the wage it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseNotice {
    /// The wage was above the cap: the base is the cap.
    RaisedAboveCap { wage: Fen, cap: Fen },
    /// The wage was below the floor: the base is the floor.
    BelowFloor { wage: Fen, floor: Fen },
}

impl fmt::Display for BaseNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaseNotice::RaisedAboveCap { wage, cap } => write!(
                f,
                "工资 {wage} 高于缴存基数上限，按上限 {cap} 缴存 / wage {wage} is above the cap; the base is the cap {cap}"
            ),
            BaseNotice::BelowFloor { wage, floor } => write!(
                f,
                "工资 {wage} 低于缴存基数下限，按下限 {floor} 缴存 / wage {wage} is below the floor; the base is the floor {floor}"
            ),
        }
    }
}

/// The base from a declared average monthly wage (上年月平均工资, REG Art. 16): clamped to
/// the policy's floor and cap, with a notice saying so when it was.
pub fn base_from_wage(
    wage: Fen,
    rule: &ContributionRule,
) -> Result<(Fen, Option<BaseNotice>), CollectionError> {
    if wage.fen() <= 0 {
        return Err(CollectionError::NotPositive {
            field: "wage",
            value: wage,
        });
    }
    Ok(if wage > rule.base_cap {
        (
            rule.base_cap,
            Some(BaseNotice::RaisedAboveCap {
                wage,
                cap: rule.base_cap,
            }),
        )
    } else if wage < rule.base_floor {
        (
            rule.base_floor,
            Some(BaseNotice::BelowFloor {
                wage,
                floor: rule.base_floor,
            }),
        )
    } else {
        (wage, None)
    })
}

/// A base typed directly (not derived from a wage) must already lie within floor and cap.
pub fn check_base(base: Fen, rule: &ContributionRule) -> Result<Fen, CollectionError> {
    if base.fen() <= 0 {
        return Err(CollectionError::NotPositive {
            field: "base",
            value: base,
        });
    }
    if base < rule.base_floor || base > rule.base_cap {
        return Err(CollectionError::BaseOutOfBounds {
            value: base,
            floor: rule.base_floor,
            cap: rule.base_cap,
        });
    }
    Ok(base)
}

/// A unit's two ratios, each within the policy's bounds (REG Art. 18).
pub fn check_ratios(
    unit_ratio: Rate,
    member_ratio: Rate,
    rule: &ContributionRule,
) -> Result<(), CollectionError> {
    for (field, value, range) in [
        ("unit_ratio", unit_ratio, rule.unit_ratio),
        ("member_ratio", member_ratio, rule.member_ratio),
    ] {
        if !range.contains(value) {
            return Err(CollectionError::RatioOutOfBounds {
                field,
                value,
                min: range.min,
                max: range.max,
            });
        }
    }
    Ok(())
}

/// One member's monthly contribution: the unit's share and the member's own share, each
/// `base × ratio` rounded as the policy says (fen or whole yuan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthlyContribution {
    /// 单位月缴存额.
    pub unit_share: Fen,
    /// 个人月缴存额.
    pub member_share: Fen,
}

impl MonthlyContribution {
    /// Both shares together (月缴存额).
    pub fn total(self) -> Result<Fen, MoneyError> {
        self.unit_share.checked_add(self.member_share)
    }
}

/// The monthly contribution for `base` under the given ratios and policy.
pub fn monthly_contribution(
    base: Fen,
    unit_ratio: Rate,
    member_ratio: Rate,
    rule: &ContributionRule,
) -> Result<MonthlyContribution, CollectionError> {
    check_ratios(unit_ratio, member_ratio, rule)?;
    Ok(MonthlyContribution {
        unit_share: base.mul_rate(unit_ratio, rule.rounding)?,
        member_share: base.mul_rate(member_ratio, rule.rounding)?,
    })
}

/// The last day a unit may pay a month's contributions (REG Art. 19): its payday in that
/// month (the month's last day when the month is shorter) plus the policy's deadline,
/// counted in working days of the business calendar. After this day the bill is in
/// arrears (欠缴) and the unit is reminded (催缴).
pub fn remittance_due(
    month: YearMonth,
    payday: i32,
    rule: &ContributionRule,
    calendar: &crate::calendar::BusinessCalendar,
) -> Result<Date, CollectionError> {
    let first = month.first_day();
    let day = i8::try_from(payday.clamp(1, 31)).unwrap_or(1);
    let pay = first
        .with()
        .day(day.min(first.days_in_month()))
        .build()
        .map_err(|_| CollectionError::BadMonth {
            value: month.to_string(),
        })?;
    Ok(calendar.add_working_days(pay, rule.payment_deadline_days_after_payday)?)
}

/// A dated status change with its standard business type (the account's event history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange<S> {
    /// Business date of the change.
    pub date: Date,
    /// Standard business type (GJHTQYWLX).
    pub business: CollectionBusinessType,
    /// Status before.
    pub from: S,
    /// Status after.
    pub to: S,
    /// Why (court order number, departure, approval reference …).
    pub reason: String,
}

/// A member's personal account status, with what it was before a freeze.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberStatus {
    /// Current status (GRZHZT).
    pub status: PersonalAccountStatus,
    /// The status to return to when unfrozen (only while frozen).
    pub before_freeze: Option<PersonalAccountStatus>,
}

impl MemberStatus {
    /// A newly opened account (开户): normal.
    pub fn opened() -> MemberStatus {
        MemberStatus {
            status: PersonalAccountStatus::Normal,
            before_freeze: None,
        }
    }

    /// True once the account is closed (销户): no money may move in or out.
    pub fn is_closed(self) -> bool {
        matches!(
            self.status,
            PersonalAccountStatus::ClosedByMerger
                | PersonalAccountStatus::ClosedByTransferOut
                | PersonalAccountStatus::ClosedByWithdrawal
        )
    }

    /// Whether money may be credited (remittance, back-payment, interest): not closed,
    /// not frozen.
    pub fn may_receive(self) -> bool {
        !self.is_closed() && self.status != PersonalAccountStatus::Frozen
    }

    /// The account statuses that may not be credited (see [`MemberStatus::may_receive`]).
    pub fn statuses_not_receiving() -> Vec<PersonalAccountStatus> {
        PersonalAccountStatus::ALL
            .iter()
            .copied()
            .filter(|s| {
                !MemberStatus {
                    status: *s,
                    before_freeze: None,
                }
                .may_receive()
            })
            .collect()
    }

    /// Whether the member may withdraw: only a normal or sealed account.
    pub fn may_withdraw(self) -> bool {
        matches!(
            self.status,
            PersonalAccountStatus::Normal | PersonalAccountStatus::Sealed
        )
    }

    fn change(
        self,
        date: Date,
        business: CollectionBusinessType,
        to: MemberStatus,
        reason: &str,
    ) -> (MemberStatus, StatusChange<PersonalAccountStatus>) {
        (
            to,
            StatusChange {
                date,
                business,
                from: self.status,
                to: to.status,
                reason: reason.to_owned(),
            },
        )
    }

    fn refuse(self, what: &'static str, rule: &'static str) -> CollectionError {
        CollectionError::BadTransition {
            what,
            from: self.status.to_string(),
            rule,
        }
    }

    /// Seals the account (封存), e.g. when the member leaves the unit (REG Art. 15).
    pub fn seal(
        self,
        date: Date,
        reason: &str,
    ) -> Result<(MemberStatus, StatusChange<PersonalAccountStatus>), CollectionError> {
        if self.status != PersonalAccountStatus::Normal {
            return Err(self.refuse("seal", "only a normal account can be sealed"));
        }
        Ok(self.change(
            date,
            CollectionBusinessType::Seal,
            MemberStatus {
                status: PersonalAccountStatus::Sealed,
                before_freeze: None,
            },
            reason,
        ))
    }

    /// Unseals the account (启封), e.g. when the member is hired again.
    pub fn unseal(
        self,
        date: Date,
        reason: &str,
    ) -> Result<(MemberStatus, StatusChange<PersonalAccountStatus>), CollectionError> {
        if self.status != PersonalAccountStatus::Sealed {
            return Err(self.refuse("unseal", "only a sealed account can be unsealed"));
        }
        Ok(self.change(
            date,
            CollectionBusinessType::Unseal,
            MemberStatus::opened(),
            reason,
        ))
    }

    /// Moves a contributing member to another unit of the centre (内部转移); the account
    /// and its balance stay as they are.
    pub fn transfer(
        self,
        date: Date,
        reason: &str,
    ) -> Result<(MemberStatus, StatusChange<PersonalAccountStatus>), CollectionError> {
        if self.status != PersonalAccountStatus::Normal {
            return Err(self.refuse(
                "internal transfer",
                "only a normal (contributing) account moves between units; unseal a sealed one into the new unit",
            ));
        }
        Ok(self.change(date, CollectionBusinessType::InternalTransfer, self, reason))
    }

    /// Freezes the account (冻结), e.g. by court order; remembers the status to return to.
    pub fn freeze(
        self,
        date: Date,
        reason: &str,
    ) -> Result<(MemberStatus, StatusChange<PersonalAccountStatus>), CollectionError> {
        if !matches!(
            self.status,
            PersonalAccountStatus::Normal | PersonalAccountStatus::Sealed
        ) {
            return Err(self.refuse("freeze", "only a normal or sealed account can be frozen"));
        }
        Ok(self.change(
            date,
            CollectionBusinessType::Freeze,
            MemberStatus {
                status: PersonalAccountStatus::Frozen,
                before_freeze: Some(self.status),
            },
            reason,
        ))
    }

    /// Unfreezes the account (解冻), back to the status it had before the freeze.
    pub fn unfreeze(
        self,
        date: Date,
        reason: &str,
    ) -> Result<(MemberStatus, StatusChange<PersonalAccountStatus>), CollectionError> {
        let Some(back) = self
            .before_freeze
            .filter(|_| self.status == PersonalAccountStatus::Frozen)
        else {
            return Err(self.refuse("unfreeze", "only a frozen account can be unfrozen"));
        };
        Ok(self.change(
            date,
            CollectionBusinessType::Unfreeze,
            MemberStatus {
                status: back,
                before_freeze: None,
            },
            reason,
        ))
    }

    /// Closes the account (销户) for `cause`: a closing withdrawal (retirement,
    /// emigration …), a transfer out to another centre, or a merger of duplicates.
    pub fn close(
        self,
        date: Date,
        cause: CloseCause,
        reason: &str,
    ) -> Result<(MemberStatus, StatusChange<PersonalAccountStatus>), CollectionError> {
        if !matches!(
            self.status,
            PersonalAccountStatus::Normal | PersonalAccountStatus::Sealed
        ) {
            return Err(self.refuse("close", "only a normal or sealed account can be closed"));
        }
        let (status, business) = match cause {
            CloseCause::Withdrawal => (
                PersonalAccountStatus::ClosedByWithdrawal,
                CollectionBusinessType::ClosingWithdrawal,
            ),
            CloseCause::TransferOut => (
                PersonalAccountStatus::ClosedByTransferOut,
                CollectionBusinessType::TransferOut,
            ),
            CloseCause::Merger => (
                PersonalAccountStatus::ClosedByMerger,
                CollectionBusinessType::InternalTransfer,
            ),
        };
        Ok(self.change(
            date,
            business,
            MemberStatus {
                status,
                before_freeze: None,
            },
            reason,
        ))
    }
}

/// Why a member account is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCause {
    /// 提取销户: the balance is withdrawn on a closing ground.
    Withdrawal,
    /// 外部转出销户: the account moves to another centre.
    TransferOut,
    /// 合并销户: a duplicate account merged into the member's surviving account.
    Merger,
}

/// A unit account's status lifecycle (DWZHZT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitStatus(pub UnitAccountStatus);

impl UnitStatus {
    /// A newly registered unit (开户): opened, nothing paid yet.
    pub fn registered() -> UnitStatus {
        UnitStatus(UnitAccountStatus::Opened)
    }

    fn change(
        self,
        date: Date,
        business: CollectionBusinessType,
        to: UnitAccountStatus,
        reason: &str,
    ) -> (UnitStatus, StatusChange<UnitAccountStatus>) {
        (
            UnitStatus(to),
            StatusChange {
                date,
                business,
                from: self.0,
                to,
                reason: reason.to_owned(),
            },
        )
    }

    fn refuse(self, what: &'static str, rule: &'static str) -> CollectionError {
        CollectionError::BadTransition {
            what,
            from: self.0.to_string(),
            rule,
        }
    }

    /// The first remittance is paid: opened → normal.
    pub fn first_payment(
        self,
        date: Date,
    ) -> Result<(UnitStatus, StatusChange<UnitAccountStatus>), CollectionError> {
        if self.0 != UnitAccountStatus::Opened {
            return Err(self.refuse(
                "first payment",
                "only an opened unit makes its first payment",
            ));
        }
        Ok(self.change(
            date,
            CollectionBusinessType::MonthlyRemittance,
            UnitAccountStatus::Normal,
            "首次汇缴",
        ))
    }

    /// Payment is deferred (缓缴) with approval (REG Art. 20).
    pub fn defer(
        self,
        date: Date,
        approval: &str,
    ) -> Result<(UnitStatus, StatusChange<UnitAccountStatus>), CollectionError> {
        if self.0 != UnitAccountStatus::Normal {
            return Err(self.refuse("defer", "only a normal unit may defer payment"));
        }
        if approval.trim().is_empty() {
            return Err(self.refuse("defer", "a deferral needs the approval reference"));
        }
        Ok(self.change(
            date,
            CollectionBusinessType::Deferral,
            UnitAccountStatus::Deferred,
            approval,
        ))
    }

    /// The deferral ends: back to normal (arrears are then paid by back-payment).
    pub fn end_deferral(
        self,
        date: Date,
        reason: &str,
    ) -> Result<(UnitStatus, StatusChange<UnitAccountStatus>), CollectionError> {
        if self.0 != UnitAccountStatus::Deferred {
            return Err(self.refuse("end deferral", "only a deferred unit can end its deferral"));
        }
        Ok(self.change(
            date,
            CollectionBusinessType::Deferral,
            UnitAccountStatus::Normal,
            reason,
        ))
    }

    /// Seals the unit account (封存), e.g. a unit that stopped operating.
    pub fn seal(
        self,
        date: Date,
        reason: &str,
    ) -> Result<(UnitStatus, StatusChange<UnitAccountStatus>), CollectionError> {
        if !matches!(
            self.0,
            UnitAccountStatus::Normal | UnitAccountStatus::Opened | UnitAccountStatus::Deferred
        ) {
            return Err(self.refuse("seal", "only an open unit can be sealed"));
        }
        Ok(self.change(
            date,
            CollectionBusinessType::Seal,
            UnitAccountStatus::Sealed,
            reason,
        ))
    }

    /// Unseals the unit account (启封).
    pub fn unseal(
        self,
        date: Date,
        reason: &str,
    ) -> Result<(UnitStatus, StatusChange<UnitAccountStatus>), CollectionError> {
        if self.0 != UnitAccountStatus::Sealed {
            return Err(self.refuse("unseal", "only a sealed unit can be unsealed"));
        }
        Ok(self.change(
            date,
            CollectionBusinessType::Unseal,
            UnitAccountStatus::Normal,
            reason,
        ))
    }

    /// Closes the unit account (销户) — the caller checks that no member is still active
    /// in it and nothing is owed or held for it.
    pub fn close(
        self,
        date: Date,
        reason: &str,
    ) -> Result<(UnitStatus, StatusChange<UnitAccountStatus>), CollectionError> {
        if self.0 == UnitAccountStatus::Closed {
            return Err(self.refuse("close", "the unit is already closed"));
        }
        Ok(self.change(
            date,
            CollectionBusinessType::Other,
            UnitAccountStatus::Closed,
            reason,
        ))
    }

    /// Whether the unit may remit now.
    pub fn may_remit(self) -> bool {
        matches!(
            self.0,
            UnitAccountStatus::Normal | UnitAccountStatus::Opened | UnitAccountStatus::Deferred
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Policy, QUZHOU_POLICY};

    #[test]
    fn the_statuses_not_receiving_are_the_frozen_and_the_closed() {
        use PersonalAccountStatus as P;
        let mut got = MemberStatus::statuses_not_receiving();
        got.sort_by_key(|s| s.code());
        let mut want = vec![
            P::Frozen,
            P::ClosedByMerger,
            P::ClosedByTransferOut,
            P::ClosedByWithdrawal,
        ];
        want.sort_by_key(|s| s.code());
        assert_eq!(got, want);
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn rule() -> ContributionRule {
        Policy::from_toml(QUZHOU_POLICY)
            .unwrap()
            .contribution_on(d("2025-07-01"))
            .unwrap()
            .clone()
    }

    #[test]
    fn months_parse_and_count() {
        let m = YearMonth::parse("202607").unwrap();
        assert_eq!(m, YearMonth::parse("2026-07").unwrap());
        assert_eq!(m.compact(), "202607");
        assert_eq!(m.to_string(), "2026-07");
        assert_eq!(m.plus(6).unwrap(), YearMonth::new(2027, 1).unwrap());
        assert_eq!(m.plus(-7).unwrap(), YearMonth::new(2025, 12).unwrap());
        assert_eq!(m.months_until(YearMonth::new(2027, 6).unwrap()), 11);
        assert_eq!(
            YearMonth::of(d("2026-02-28")),
            YearMonth::new(2026, 2).unwrap()
        );
        assert_eq!(m.first_day(), d("2026-07-01"));
        for bad in [
            "2026", "202613", "202600", "2026/07", "26-07-01", "abcdef", "",
        ] {
            let e = YearMonth::parse(bad).unwrap_err();
            assert!(matches!(e, CollectionError::BadMonth { .. }), "{bad}");
        }
    }

    #[test]
    fn wages_become_bases_within_floor_and_cap_with_a_notice() {
        let r = rule();
        let (b, n) = base_from_wage(Fen::parse_yuan("8000.00").unwrap(), &r).unwrap();
        assert_eq!((b, n), (Fen::parse_yuan("8000.00").unwrap(), None));
        let (b, n) = base_from_wage(Fen::parse_yuan("99999.00").unwrap(), &r).unwrap();
        assert_eq!(b, r.base_cap);
        assert!(matches!(n, Some(BaseNotice::RaisedAboveCap { .. })));
        assert!(n.unwrap().to_string().contains("上限"));
        let (b, n) = base_from_wage(Fen::parse_yuan("1000.00").unwrap(), &r).unwrap();
        assert_eq!(b, r.base_floor);
        assert!(matches!(n, Some(BaseNotice::BelowFloor { .. })));
        assert!(base_from_wage(Fen::ZERO, &r).is_err());
        // A base typed directly must already be within bounds.
        let err = check_base(Fen::parse_yuan("99999.00").unwrap(), &r).unwrap_err();
        assert!(err.to_string().contains("cap"), "{err}");
        assert!(check_base(r.base_floor, &r).is_ok());
    }

    #[test]
    fn contributions_are_rounded_per_share() {
        let r = rule();
        // 12 % + 12 % of 8,333.33 = 999.9996 → 1,000.00 each (half-up to fen).
        let c = monthly_contribution(
            Fen::parse_yuan("8333.33").unwrap(),
            Rate::from_percent(12),
            Rate::from_percent(12),
            &r,
        )
        .unwrap();
        assert_eq!(c.unit_share, Fen::parse_yuan("1000.00").unwrap());
        assert_eq!(c.total().unwrap(), Fen::parse_yuan("2000.00").unwrap());
        // Ratios outside the policy's bounds are refused, naming the field.
        let err = monthly_contribution(
            Fen::parse_yuan("5000.00").unwrap(),
            Rate::from_percent(13),
            Rate::from_percent(12),
            &r,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            CollectionError::RatioOutOfBounds {
                field: "unit_ratio",
                ..
            }
        ));
        let err = check_ratios(
            Rate::from_percent(5),
            Rate::parse_percent("4.5").unwrap(),
            &r,
        )
        .unwrap_err();
        assert!(err.to_string().contains("member_ratio"), "{err}");
    }

    #[test]
    fn member_lifecycle_follows_the_standard_codes() {
        let s = MemberStatus::opened();
        let (s, ev) = s.seal(d("2026-03-31"), "离职").unwrap();
        assert_eq!(s.status, PersonalAccountStatus::Sealed);
        assert_eq!(ev.business, CollectionBusinessType::Seal);
        assert_eq!(ev.business.code(), "05");
        assert!(s.may_withdraw() && s.may_receive());
        // Freezing a sealed account and unfreezing returns it to sealed.
        let (f, ev) = s.freeze(d("2026-04-01"), "（2026）浙0802执123号").unwrap();
        assert_eq!(ev.business.code(), "14");
        assert!(!f.may_withdraw() && !f.may_receive());
        assert!(f.seal(d("2026-04-02"), "").is_err());
        let (u, ev) = f.unfreeze(d("2026-05-01"), "解除冻结").unwrap();
        assert_eq!(
            (u.status, ev.business.code()),
            (PersonalAccountStatus::Sealed, "15")
        );
        let (n, ev) = u.unseal(d("2026-06-01"), "重新就业").unwrap();
        assert_eq!(
            (n.status, ev.business.code()),
            (PersonalAccountStatus::Normal, "04")
        );
        assert!(n.unseal(d("2026-06-02"), "").is_err());
        assert!(n.unfreeze(d("2026-06-02"), "").is_err());
        let (t, ev) = n.transfer(d("2026-06-15"), "调入子公司").unwrap();
        assert_eq!((t, ev.business.code()), (n, "06"));
        assert!(
            u.transfer(d("2026-06-15"), "").is_err(),
            "a sealed account is unsealed instead"
        );
        let (c, ev) = n
            .close(d("2026-07-01"), CloseCause::Withdrawal, "退休")
            .unwrap();
        assert_eq!((c.status.code(), ev.business.code()), ("05", "12"));
        assert!(c.is_closed() && !c.may_receive() && !c.may_withdraw());
        let err = c.seal(d("2026-07-02"), "").unwrap_err();
        assert!(
            err.to_string().contains("提取销户") || err.to_string().contains("05"),
            "{err}"
        );
        let (t, _) = MemberStatus::opened()
            .close(d("2026-07-01"), CloseCause::TransferOut, "转出至杭州")
            .unwrap();
        assert_eq!(t.status, PersonalAccountStatus::ClosedByTransferOut);
    }

    #[test]
    fn unit_lifecycle_follows_the_standard_codes() {
        let u = UnitStatus::registered();
        assert_eq!(u.0.code(), "02");
        assert!(
            u.defer(d("2026-01-01"), "批准").is_err(),
            "an opened unit cannot defer"
        );
        let (u, _) = u.first_payment(d("2026-01-10")).unwrap();
        assert_eq!(u.0, UnitAccountStatus::Normal);
        assert!(u.first_payment(d("2026-02-10")).is_err());
        assert!(
            u.defer(d("2026-03-01"), " ").is_err(),
            "a deferral needs its approval"
        );
        let (u, ev) = u.defer(d("2026-03-01"), "衢公积金缓〔2026〕3号").unwrap();
        assert_eq!((u.0.code(), ev.business.code()), ("03", "13"));
        assert!(u.may_remit());
        let (u, _) = u.end_deferral(d("2026-09-01"), "缓缴期满").unwrap();
        let (u, _) = u.seal(d("2026-10-01"), "停业").unwrap();
        assert!(!u.may_remit());
        let (u, _) = u.unseal(d("2026-11-01"), "复业").unwrap();
        let (u, _) = u.close(d("2026-12-31"), "注销").unwrap();
        assert_eq!(u.0, UnitAccountStatus::Closed);
        assert!(u.close(d("2027-01-01"), "").is_err());
    }
}

#[cfg(test)]
mod due_tests {
    use super::*;
    use crate::calendar::BusinessCalendar;
    use crate::policy::{Policy, QUZHOU_POLICY};

    #[test]
    fn due_date_counts_working_days_after_payday() {
        let p = Policy::from_toml(QUZHOU_POLICY).unwrap();
        let rule = p.contribution_on("2025-10-01".parse().unwrap()).unwrap();
        let cal = BusinessCalendar::cn().unwrap();
        let m = |s: &str| YearMonth::parse(s).unwrap();
        // Payday Wed 2025-07-09: 5 working days later is Wed 07-16.
        assert_eq!(
            remittance_due(m("2025-07"), 9, rule, &cal)
                .unwrap()
                .to_string(),
            "2025-07-16"
        );
        // Payday 2025-09-30, then the National Day holiday (Oct 1-8): Oct 9, 10, the
        // make-up working Saturday Oct 11, then 13 and 14.
        assert_eq!(
            remittance_due(m("2025-09"), 30, rule, &cal)
                .unwrap()
                .to_string(),
            "2025-10-14"
        );
        // Payday 31 in February means the month's last day (Sat 02-28, a make-up
        // working day); then Mon 03-02 … Fri 03-06.
        assert_eq!(
            remittance_due(m("2026-02"), 31, rule, &cal)
                .unwrap()
                .to_string(),
            "2026-03-06"
        );
    }
}
