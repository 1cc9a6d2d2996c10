//! Money in integer fen (分), exact rates, and named rounding. No floats, ever.
//!
//! * [`Fen`] is a signed count of fen in an `i64` (±92 trillion yuan: the whole national
//!   fund is about 11 trillion). All arithmetic is checked; overflow is an error, not a wrap.
//! * [`Rate`] is an exact decimal fraction held as an integer number of
//!   [`Rate::UNITS_PER_PERCENT`] (10⁷ per percent, i.e. 10⁻⁹ of the whole), so 3.025 % and
//!   0.0041667 % are exact. Files and APIs write rates as decimal percent strings (`"3.025"`).
//! * [`Rounding`] names every rounding step; the default for money is half-up to fen
//!   (Java `HALF_UP`, i.e. half away from zero, as HG's `CommLoanAlgorithm` does).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Errors from parsing or computing money and rates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// The text is not a decimal amount of yuan with at most two decimals.
    #[error("amount {value:?} is not a yuan amount with at most 2 decimals (e.g. 1234.56)")]
    BadAmount { value: String },
    /// The text is not a decimal percentage with at most seven decimals.
    #[error("rate {value:?} is not a percentage with at most 7 decimals (e.g. 3.025)")]
    BadRate { value: String },
    /// A computation left the range of `i64` fen.
    #[error("amount overflow in {op}")]
    Overflow { op: &'static str },
    /// An amount that must not be negative was negative.
    #[error("amount {value} must not be negative")]
    Negative { value: Fen },
    /// An amount that must be positive was zero or negative.
    #[error("amount {value} must be greater than zero")]
    NotPositive { value: Fen },
}

/// An amount of money in fen (分, 0.01 yuan). 住房公积金 amounts are always integer fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(i64);

impl Fen {
    /// Zero fen.
    pub const ZERO: Fen = Fen(0);
    /// The largest amount: about 92 trillion yuan.
    pub const MAX: Fen = Fen(i64::MAX);

    /// An amount from a count of fen.
    pub const fn new(fen: i64) -> Fen {
        Fen(fen)
    }

    /// An amount from whole yuan; `None` on overflow.
    pub const fn from_yuan(yuan: i64) -> Option<Fen> {
        match yuan.checked_mul(100) {
            Some(f) => Some(Fen(f)),
            None => None,
        }
    }

    /// The count of fen.
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// True when the amount is below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Whether the amount is above zero.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// True when the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Checked addition.
    pub fn checked_add(self, other: Fen) -> Result<Fen, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Fen)
            .ok_or(MoneyError::Overflow { op: "add" })
    }

    /// Checked subtraction.
    pub fn checked_sub(self, other: Fen) -> Result<Fen, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Fen)
            .ok_or(MoneyError::Overflow { op: "sub" })
    }

    /// Checked negation.
    pub fn checked_neg(self) -> Result<Fen, MoneyError> {
        self.0
            .checked_neg()
            .map(Fen)
            .ok_or(MoneyError::Overflow { op: "neg" })
    }

    /// Checked multiplication by a count (e.g. months).
    pub fn checked_mul(self, n: i64) -> Result<Fen, MoneyError> {
        self.0
            .checked_mul(n)
            .map(Fen)
            .ok_or(MoneyError::Overflow { op: "mul" })
    }

    /// Sum of amounts, checked.
    pub fn checked_sum<I: IntoIterator<Item = Fen>>(items: I) -> Result<Fen, MoneyError> {
        items.into_iter().try_fold(Fen::ZERO, Fen::checked_add)
    }

    /// Errors unless the amount is ≥ 0.
    pub fn require_non_negative(self) -> Result<Fen, MoneyError> {
        if self.0 < 0 {
            Err(MoneyError::Negative { value: self })
        } else {
            Ok(self)
        }
    }

    /// Errors unless the amount is > 0.
    pub fn require_positive(self) -> Result<Fen, MoneyError> {
        if self.0 <= 0 {
            Err(MoneyError::NotPositive { value: self })
        } else {
            Ok(self)
        }
    }

    /// `self × rate`, rounded as named.
    pub fn mul_rate(self, rate: Rate, rounding: Rounding) -> Result<Fen, MoneyError> {
        let num = i128::from(self.0) * i128::from(rate.units());
        rounding.apply(num, i128::from(Rate::UNITS_PER_WHOLE))
    }

    /// Parses a machine amount in yuan: `1234.56`, `-0.5`, `100`. No grouping commas, at
    /// most two decimals. This is the inverse of [`Fen::plain`].
    pub fn parse_yuan(text: &str) -> Result<Fen, MoneyError> {
        let bad = || MoneyError::BadAmount {
            value: text.to_owned(),
        };
        let (neg, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int_part.is_empty()
            || frac_part.len() > 2
            || (digits.contains('.') && frac_part.is_empty())
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let yuan: i64 = int_part.parse().map_err(|_| bad())?;
        let mut frac: i64 = if frac_part.is_empty() {
            0
        } else {
            frac_part.parse().map_err(|_| bad())?
        };
        if frac_part.len() == 1 {
            frac *= 10;
        }
        let fen = yuan
            .checked_mul(100)
            .and_then(|f| f.checked_add(frac))
            .ok_or_else(bad)?;
        Ok(Fen(if neg { -fen } else { fen }))
    }

    /// Machine form in yuan, no grouping: `1234.56`, `-0.05`.
    pub fn plain(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// Human form in yuan with thousands separators: `1,234.56`.
    pub fn grouped(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let int = (abs / 100).to_string();
        let mut out = String::with_capacity(int.len() + int.len() / 3 + 4);
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}.{:02}", abs % 100)
    }
}

/// Displays the human form (`1,234.56`); use [`Fen::plain`] for machines.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

impl FromStr for Fen {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Fen, MoneyError> {
        Fen::parse_yuan(s)
    }
}

/// Serialised as a plain yuan decimal string (`"1234.56"`), so JSON never carries a float.
impl Serialize for Fen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.plain())
    }
}

impl<'de> Deserialize<'de> for Fen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fen, D::Error> {
        let text = String::deserialize(d)?;
        Fen::parse_yuan(&text).map_err(serde::de::Error::custom)
    }
}

/// An exact rate or ratio: an integer count of 10⁻⁹ of the whole (10⁻⁷ percent).
///
/// 12 % is `Rate::from_units(120_000_000)`; 1.5 %/360 per day is not a `Rate` at all — daily
/// figures are computed as `annual × days / basis` in integer arithmetic at the point of use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rate(i64);

impl Rate {
    /// Units in one percent.
    pub const UNITS_PER_PERCENT: i64 = 10_000_000;
    /// Units in the whole (100 %).
    pub const UNITS_PER_WHOLE: i64 = 1_000_000_000;
    /// Decimal places of a percentage that a `Rate` holds exactly.
    pub const PERCENT_DECIMALS: usize = 7;
    /// 0 %.
    pub const ZERO: Rate = Rate(0);

    /// A rate from raw units (10⁻⁹ of the whole).
    pub const fn from_units(units: i64) -> Rate {
        Rate(units)
    }

    /// A rate from whole percent (e.g. 5 for 5 %).
    pub const fn from_percent(pct: i64) -> Rate {
        Rate(pct * Self::UNITS_PER_PERCENT)
    }

    /// Raw units (10⁻⁹ of the whole).
    pub const fn units(self) -> i64 {
        self.0
    }

    /// Parses a percentage string such as `"3.025"`, `"12"` or `"0.0041667"` (no `%` sign,
    /// at most seven decimals, not negative).
    pub fn parse_percent(text: &str) -> Result<Rate, MoneyError> {
        let bad = || MoneyError::BadRate {
            value: text.to_owned(),
        };
        let t = text.trim();
        let (int_part, frac_part) = match t.split_once('.') {
            Some((i, f)) => (i, f),
            None => (t, ""),
        };
        if int_part.is_empty()
            || frac_part.len() > Self::PERCENT_DECIMALS
            || (t.contains('.') && frac_part.is_empty())
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
            || int_part.len() > 9
        {
            return Err(bad());
        }
        let int: i64 = int_part.parse().map_err(|_| bad())?;
        let mut frac: i64 = if frac_part.is_empty() {
            0
        } else {
            frac_part.parse().map_err(|_| bad())?
        };
        for _ in frac_part.len()..Self::PERCENT_DECIMALS {
            frac *= 10;
        }
        int.checked_mul(Self::UNITS_PER_PERCENT)
            .and_then(|u| u.checked_add(frac))
            .map(Rate)
            .ok_or_else(bad)
    }

    /// The percentage as the shortest exact decimal string: `"3.025"`, `"12"`.
    pub fn percent_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let int = abs / Self::UNITS_PER_PERCENT.unsigned_abs();
        let frac = abs % Self::UNITS_PER_PERCENT.unsigned_abs();
        if frac == 0 {
            return format!("{sign}{int}");
        }
        let frac = format!("{frac:07}");
        format!("{sign}{int}.{}", frac.trim_end_matches('0'))
    }

    /// Checked sum of two rates (e.g. unit ratio + member ratio).
    pub fn checked_add(self, other: Rate) -> Result<Rate, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Rate)
            .ok_or(MoneyError::Overflow { op: "rate add" })
    }

    /// `self × num / den` rounded half-up to a unit; used for e.g. the 1.1 × first-home rate.
    pub fn scale(self, num: i64, den: i64) -> Result<Rate, MoneyError> {
        if den == 0 {
            return Err(MoneyError::Overflow {
                op: "rate scale by zero",
            });
        }
        let v = round_half_up_div(i128::from(self.0) * i128::from(num), i128::from(den));
        i64::try_from(v)
            .map(Rate)
            .map_err(|_| MoneyError::Overflow { op: "rate scale" })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.percent_string())
    }
}

impl FromStr for Rate {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Rate, MoneyError> {
        Rate::parse_percent(s)
    }
}

/// Serialised as a decimal percent string (`"3.025"`).
impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.percent_string())
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        let text = String::deserialize(d)?;
        Rate::parse_percent(&text).map_err(serde::de::Error::custom)
    }
}

/// A named rounding step from an exact quotient to money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rounding {
    /// Half away from zero to the fen (the default for every money result).
    #[default]
    HalfUpFen,
    /// Half away from zero to the whole yuan (some centres round contributions to yuan).
    HalfUpYuan,
    /// Toward zero to the fen (truncation; only where a rule names it).
    DownFen,
}

impl Rounding {
    /// Rounds the exact quotient `num / den` fen to this rounding's unit.
    pub fn apply(self, num: i128, den: i128) -> Result<Fen, MoneyError> {
        if den == 0 {
            return Err(MoneyError::Overflow {
                op: "divide by zero",
            });
        }
        let fen = match self {
            Rounding::HalfUpFen => round_half_up_div(num, den),
            Rounding::HalfUpYuan => round_half_up_div(num, den * 100) * 100,
            Rounding::DownFen => num / den,
        };
        i64::try_from(fen)
            .map(Fen)
            .map_err(|_| MoneyError::Overflow { op: "round" })
    }

    /// Rounds an amount already in fen to this rounding's unit (identity for fen roundings).
    pub fn round_fen(self, amount: Fen) -> Result<Fen, MoneyError> {
        self.apply(i128::from(amount.0), 1)
    }
}

/// `num / den` rounded half away from zero, in exact integer arithmetic.
pub fn round_half_up_div(num: i128, den: i128) -> i128 {
    let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
    let q = num / den;
    let r = num % den;
    if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_yuan() {
        assert_eq!(Fen::parse_yuan("1234.56").unwrap(), Fen::new(123_456));
        assert_eq!(Fen::parse_yuan("0.5").unwrap(), Fen::new(50));
        assert_eq!(Fen::parse_yuan("-0.05").unwrap(), Fen::new(-5));
        assert_eq!(Fen::parse_yuan("100").unwrap(), Fen::new(10_000));
        for bad in [
            "", "1.", ".5", "1.234", "1,234.00", "+1", "1e3", "--1", "١٢",
        ] {
            assert!(Fen::parse_yuan(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(Fen::new(123_456_789).grouped(), "1,234,567.89");
        assert_eq!(Fen::new(-123_456).grouped(), "-1,234.56");
        assert_eq!(Fen::new(5).plain(), "0.05");
        assert_eq!(Fen::new(-5).plain(), "-0.05");
        assert_eq!(Fen::new(100_000).to_string(), "1,000.00");
        assert_eq!(Fen::new(99_999).to_string(), "999.99");
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        assert!(Fen::MAX.checked_add(Fen::new(1)).is_err());
        assert!(Fen::new(i64::MIN).checked_neg().is_err());
        assert_eq!(
            Fen::checked_sum([Fen::new(1), Fen::new(2)]).unwrap(),
            Fen::new(3)
        );
        assert!(Fen::new(-1).require_non_negative().is_err());
        assert!(Fen::ZERO.require_positive().is_err());
    }

    #[test]
    fn rates_are_exact() {
        assert_eq!(Rate::parse_percent("3.025").unwrap().units(), 30_250_000);
        assert_eq!(Rate::parse_percent("0.0041667").unwrap().units(), 41_667);
        assert_eq!(Rate::parse_percent("12").unwrap(), Rate::from_percent(12));
        assert_eq!(
            Rate::parse_percent("3.025").unwrap().percent_string(),
            "3.025"
        );
        assert_eq!(Rate::from_percent(5).to_string(), "5%");
        for bad in ["", "-1", "1.00000001", "abc", "1.", "5%"] {
            assert!(
                Rate::parse_percent(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        // second-home rate = 1.1 × first-home rate, exactly
        let first = Rate::parse_percent("2.75").unwrap();
        assert_eq!(first.scale(11, 10).unwrap().percent_string(), "3.025");
    }

    #[test]
    fn rounding_is_half_up_and_named() {
        // 12 % of 3,333.33 yuan = 399.9996 → 400.00
        let base = Fen::parse_yuan("3333.33").unwrap();
        let r = Rate::from_percent(12);
        assert_eq!(
            base.mul_rate(r, Rounding::HalfUpFen).unwrap(),
            Fen::new(40_000)
        );
        assert_eq!(
            base.mul_rate(r, Rounding::DownFen).unwrap(),
            Fen::new(39_999)
        );
        // 5 % of 2,090.10 = 104.505 → 104.51 (fen), 105 (yuan)
        let b = Fen::parse_yuan("2090.10").unwrap();
        assert_eq!(
            b.mul_rate(Rate::from_percent(5), Rounding::HalfUpFen)
                .unwrap(),
            Fen::new(10_451)
        );
        assert_eq!(
            b.mul_rate(Rate::from_percent(5), Rounding::HalfUpYuan)
                .unwrap(),
            Fen::new(10_500)
        );
        assert_eq!(round_half_up_div(-5, 10), -1);
        assert_eq!(round_half_up_div(-4, 10), 0);
        assert_eq!(round_half_up_div(5, -10), -1);
        assert_eq!(round_half_up_div(15, 10), 2);
    }

    proptest! {
        #[test]
        fn plain_round_trips(f in any::<i64>().prop_filter("not MIN", |v| *v != i64::MIN)) {
            let fen = Fen::new(f);
            prop_assert_eq!(Fen::parse_yuan(&fen.plain()).unwrap(), fen);
        }

        #[test]
        fn grouped_without_commas_is_plain(f in -10_i64.pow(15)..10_i64.pow(15)) {
            let fen = Fen::new(f);
            prop_assert_eq!(fen.grouped().replace(',', ""), fen.plain());
        }

        #[test]
        fn percent_round_trips(u in 0_i64..1_000_000_000_000) {
            let r = Rate::from_units(u);
            prop_assert_eq!(Rate::parse_percent(&r.percent_string()).unwrap(), r);
        }

        #[test]
        fn half_up_is_within_half(num in -10_i128.pow(20)..10_i128.pow(20), den in 1_i128..1_000_000) {
            let q = round_half_up_div(num, den);
            let diff = (q * den - num).abs();
            prop_assert!(2 * diff <= den);
        }
    }
}
