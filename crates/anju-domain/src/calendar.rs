//! The business calendar (营业日历): which days are working days (工作日) for deadlines
//! such as "remit within 5 days of payday" (Art. 19) or "decide within 3 days" (Art. 25).
//!
//! * [`BusinessDate`] is a plain civil date. The business date (营业日) is separate from
//!   the wall clock: callers pass it in, and this crate never reads a clock.
//! * [`BusinessCalendar`] is loaded from a TOML text with one table per year listing the
//!   public holidays (法定节假日) and the make-up working days (调休上班日) that the State
//!   Council announces each year. [`CN_CALENDAR`] is the shipped mainland-China file.
//! * A year that is not in the file is never guessed: every query touching it fails with
//!   [`CalendarError::YearNotCovered`].

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Weekday};
use serde::Deserialize;

/// The business date (营业日): the accounting day a transaction belongs to, passed in by
/// callers and independent of the wall clock.
pub type BusinessDate = jiff::civil::Date;

/// The shipped mainland-China calendar (`calendars/cn.toml`): State Council holiday
/// schedules for 2024–2026. Centres add each new year every December.
pub const CN_CALENDAR: &str = include_str!("../../../calendars/cn.toml");

/// Errors from loading or querying a business calendar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// The text is not TOML of the expected shape.
    #[error("business calendar is not valid: {message}")]
    Format {
        /// The TOML parser's message, which names the line.
        message: String,
    },
    /// A `[years.X]` key is not a four-digit year.
    #[error("business calendar: table key {key:?} under [years] is not a four-digit year")]
    BadYear {
        /// The key as written.
        key: String,
    },
    /// An entry is not a date in `YYYY-MM-DD` form.
    #[error(
        "business calendar {year}: {list} entry {text:?} is not a real date in YYYY-MM-DD form"
    )]
    BadDate {
        /// The year table.
        year: i16,
        /// `"holidays"` or `"workdays"`.
        list: &'static str,
        /// The entry as written.
        text: String,
    },
    /// A date is listed under another year's table.
    #[error(
        "business calendar {year}: {list} entry {date} is not in {year}; put it in its own year's table"
    )]
    DateOutsideYear {
        /// The year table.
        year: i16,
        /// `"holidays"` or `"workdays"`.
        list: &'static str,
        /// The misplaced date.
        date: Date,
    },
    /// A date appears twice in the same list.
    #[error("business calendar {year}: {date} is listed twice in {list}")]
    Duplicate {
        /// The year table.
        year: i16,
        /// `"holidays"` or `"workdays"`.
        list: &'static str,
        /// The repeated date.
        date: Date,
    },
    /// A date is both a holiday and a make-up working day.
    #[error(
        "business calendar {year}: {date} is listed both as a holiday and as a make-up workday"
    )]
    HolidayAndWorkday {
        /// The year table.
        year: i16,
        /// The contradictory date.
        date: Date,
    },
    /// A make-up working day (调休上班日) that is a Monday–Friday, which would change nothing.
    #[error(
        "business calendar {year}: make-up workday {date} is a {weekday:?}; make-up workdays must be a Saturday or Sunday"
    )]
    WorkdayNotWeekend {
        /// The year table.
        year: i16,
        /// The date.
        date: Date,
        /// Its day of the week.
        weekday: Weekday,
    },
    /// A year table with no holidays: every real schedule has some, so an empty table is
    /// a placeholder that would silently treat the whole year as ordinary weeks.
    #[error(
        "business calendar {year}: the year lists no holidays; add the State Council schedule or remove the table"
    )]
    NoHolidays {
        /// The year table.
        year: i16,
    },
    /// A query needed a year that the calendar does not cover.
    #[error(
        "business calendar does not cover year {year}; add that year's State Council holiday schedule to the calendar file"
    )]
    YearNotCovered {
        /// The missing year.
        year: i16,
    },
    /// Date arithmetic left the range of supported dates.
    #[error("business calendar: date arithmetic from {date} left the supported date range")]
    OutOfRange {
        /// The date the step started from.
        date: Date,
    },
}

/// The calendar file as written: `[years.2026]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    years: BTreeMap<String, YearFile>,
}

/// One `[years.X]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
}

/// One year's exceptions to the Monday–Friday week.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct YearDays {
    /// Days off, whatever the weekday (法定节假日 and bridged days).
    holidays: BTreeSet<Date>,
    /// Saturdays and Sundays that are working days (调休上班).
    workdays: BTreeSet<Date>,
}

/// A business calendar (营业日历) covering a set of whole years.
///
/// A day is a working day when it is a make-up workday, or when it is a Monday–Friday
/// that is not a holiday. Every query requires the years of all dates it reads — the
/// arguments included — to be covered, so a wrong business date (say 1970-01-01 from a
/// zero timestamp) is an error rather than a plausible answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    years: BTreeMap<i16, YearDays>,
}

impl BusinessCalendar {
    /// Loads and validates a calendar from TOML text (see `calendars/cn.toml`):
    ///
    /// ```toml
    /// [years.2026]
    /// holidays = ["2026-01-01", "2026-01-02", "2026-01-03"]
    /// workdays = ["2026-01-04"]
    /// ```
    ///
    /// Refuses dates outside their year's table, duplicates, a date that is both a holiday
    /// and a workday, a make-up workday on a Monday–Friday and a year without holidays.
    /// A holiday on a weekend is allowed (announced blocks include weekends).
    pub fn from_toml(text: &str) -> Result<BusinessCalendar, CalendarError> {
        let file: CalendarFile = toml::from_str(text).map_err(|e| CalendarError::Format {
            message: e.to_string(),
        })?;
        let mut years = BTreeMap::new();
        for (key, table) in file.years {
            let year = parse_year(&key).ok_or(CalendarError::BadYear { key: key.clone() })?;
            let holidays = parse_dates(year, "holidays", &table.holidays)?;
            let workdays = parse_dates(year, "workdays", &table.workdays)?;
            if holidays.is_empty() {
                return Err(CalendarError::NoHolidays { year });
            }
            for &date in &workdays {
                if holidays.contains(&date) {
                    return Err(CalendarError::HolidayAndWorkday { year, date });
                }
                if !is_weekend(date) {
                    return Err(CalendarError::WorkdayNotWeekend {
                        year,
                        date,
                        weekday: date.weekday(),
                    });
                }
            }
            years.insert(year, YearDays { holidays, workdays });
        }
        Ok(BusinessCalendar { years })
    }

    /// The shipped mainland-China calendar ([`CN_CALENDAR`]).
    pub fn cn() -> Result<BusinessCalendar, CalendarError> {
        BusinessCalendar::from_toml(CN_CALENDAR)
    }

    /// The covered years, ascending.
    pub fn covered_years(&self) -> Vec<i16> {
        self.years.keys().copied().collect()
    }

    /// True when the calendar covers the year of `d`.
    pub fn covers(&self, d: BusinessDate) -> bool {
        self.years.contains_key(&d.year())
    }

    /// Whether `d` is a working day (工作日).
    pub fn is_working_day(&self, d: BusinessDate) -> Result<bool, CalendarError> {
        let year = self
            .years
            .get(&d.year())
            .ok_or(CalendarError::YearNotCovered { year: d.year() })?;
        Ok(if year.holidays.contains(&d) {
            false
        } else if year.workdays.contains(&d) {
            true
        } else {
            !is_weekend(d)
        })
    }

    /// The first working day strictly after `d`.
    pub fn next_working_day(&self, d: BusinessDate) -> Result<BusinessDate, CalendarError> {
        self.require_covered(d)?;
        let mut day = d;
        loop {
            day = next_day(day)?;
            if self.is_working_day(day)? {
                return Ok(day);
            }
        }
    }

    /// `d` itself when it is a working day, otherwise the next working day: the rule for a
    /// due date that falls on a day off (顺延至下一工作日).
    pub fn working_day_on_or_after(&self, d: BusinessDate) -> Result<BusinessDate, CalendarError> {
        if self.is_working_day(d)? {
            Ok(d)
        } else {
            self.next_working_day(d)
        }
    }

    /// The `n`-th working day after `d`, counting from the day after `d` (so a deadline of
    /// "5 working days after payday" is `add_working_days(payday, 5)`). `n = 0` returns
    /// `d` itself, whether or not it is a working day.
    pub fn add_working_days(&self, d: BusinessDate, n: u32) -> Result<BusinessDate, CalendarError> {
        self.require_covered(d)?;
        let mut day = d;
        for _ in 0..n {
            day = self.next_working_day(day)?;
        }
        Ok(day)
    }

    /// The number of working days in the interval (a, b] — after `a`, up to and including
    /// `b` — so that `working_days_between(d, add_working_days(d, n)?) == n`. Negative when
    /// `b` is before `a`; zero when they are equal.
    pub fn working_days_between(
        &self,
        a: BusinessDate,
        b: BusinessDate,
    ) -> Result<i64, CalendarError> {
        self.require_covered(a)?;
        self.require_covered(b)?;
        let (from, to, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
        let mut count: i64 = 0;
        let mut day = from;
        while day < to {
            day = next_day(day)?;
            if self.is_working_day(day)? {
                count += 1;
            }
        }
        Ok(sign * count)
    }

    /// Errors unless the year of `d` is covered.
    fn require_covered(&self, d: BusinessDate) -> Result<(), CalendarError> {
        if self.covers(d) {
            Ok(())
        } else {
            Err(CalendarError::YearNotCovered { year: d.year() })
        }
    }
}

/// True for Saturday and Sunday.
fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The day after `d`.
fn next_day(d: Date) -> Result<Date, CalendarError> {
    d.tomorrow()
        .map_err(|_| CalendarError::OutOfRange { date: d })
}

/// A `[years.X]` key: exactly four ASCII digits.
fn parse_year(key: &str) -> Option<i16> {
    if key.len() == 4 && key.bytes().all(|b| b.is_ascii_digit()) {
        key.parse().ok()
    } else {
        None
    }
}

/// Parses one list of a year table, refusing bad, misplaced and repeated dates.
fn parse_dates(
    year: i16,
    list: &'static str,
    texts: &[String],
) -> Result<BTreeSet<Date>, CalendarError> {
    let mut out = BTreeSet::new();
    for text in texts {
        let date = parse_iso_date(text).ok_or_else(|| CalendarError::BadDate {
            year,
            list,
            text: text.clone(),
        })?;
        if date.year() != year {
            return Err(CalendarError::DateOutsideYear { year, list, date });
        }
        if !out.insert(date) {
            return Err(CalendarError::Duplicate { year, list, date });
        }
    }
    Ok(out)
}

/// Strict `YYYY-MM-DD`: exactly ten characters and a real calendar date.
fn parse_iso_date(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    let year: i16 = text[0..4].parse().ok()?;
    let month: i8 = text[5..7].parse().ok()?;
    let day: i8 = text[8..10].parse().ok()?;
    Date::new(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn cn() -> BusinessCalendar {
        BusinessCalendar::cn().unwrap()
    }

    fn load_err(text: &str) -> CalendarError {
        BusinessCalendar::from_toml(text).unwrap_err()
    }

    #[test]
    fn shipped_calendar_loads() {
        let cal = cn();
        assert_eq!(cal.covered_years(), vec![2024, 2025, 2026]);
        assert!(cal.covers(date(2025, 6, 1)));
        assert!(!cal.covers(date(2027, 1, 1)));
    }

    #[test]
    fn shipped_calendar_working_days() {
        let cal = cn();
        let yes = |y, m, d| assert!(cal.is_working_day(date(y, m, d)).unwrap(), "{y}-{m}-{d}");
        let no = |y, m, d| assert!(!cal.is_working_day(date(y, m, d)).unwrap(), "{y}-{m}-{d}");
        yes(2025, 1, 26); // Sunday, 春节调休
        no(2025, 10, 8); // Wednesday, 国庆节、中秋节
        yes(2025, 10, 11); // Saturday, 调休
        no(2025, 3, 1); // ordinary Saturday
        yes(2025, 3, 3); // ordinary Monday
        no(2024, 2, 12); // Monday, 春节
        yes(2024, 2, 4); // Sunday, 调休
        no(2024, 6, 10); // Monday, 端午节
        no(2026, 1, 2); // Friday, 元旦
        yes(2026, 1, 4); // Sunday, 调休
        no(2026, 2, 23); // Monday, 春节 (ninth day)
        yes(2026, 2, 28); // Saturday, 调休
        no(2026, 6, 19); // Friday, 端午节
        yes(2026, 9, 20); // Sunday, 调休
        no(2026, 9, 25); // Friday, 中秋节
    }

    #[test]
    fn shipped_calendar_year_totals() {
        // Weekdays − weekday holidays + make-up days:
        // 2024: 262 − 19 + 8 = 251; 2025: 261 − 18 + 5 = 248; 2026: 261 − 19 + 6 = 248.
        // (2025 onward has 13 statutory holiday days instead of 11.)
        let cal = cn();
        let count = |y: i16| {
            i64::from(cal.is_working_day(date(y, 1, 1)).unwrap())
                + cal
                    .working_days_between(date(y, 1, 1), date(y, 12, 31))
                    .unwrap()
        };
        assert_eq!(count(2024), 251);
        assert_eq!(count(2025), 248);
        assert_eq!(count(2026), 248);
    }

    #[test]
    fn add_working_days_over_the_spring_festival() {
        let cal = cn();
        // Friday 2025-01-24 + 5: Sun 26 (调休), Mon 27, [28 Jan – 4 Feb off], Wed 5, Thu 6, Fri 7.
        assert_eq!(
            cal.add_working_days(date(2025, 1, 24), 5).unwrap(),
            date(2025, 2, 7)
        );
        assert_eq!(
            cal.add_working_days(date(2025, 1, 27), 1).unwrap(),
            date(2025, 2, 5)
        );
        // Payday Tue 2026-02-10, remit within 5 working days: 11, 12, 13, Sat 14 (调休),
        // [15–23 off], Tue 24.
        assert_eq!(
            cal.add_working_days(date(2026, 2, 10), 5).unwrap(),
            date(2026, 2, 24)
        );
        assert_eq!(
            cal.working_days_between(date(2026, 2, 10), date(2026, 2, 24))
                .unwrap(),
            5
        );
        assert_eq!(
            cal.working_days_between(date(2026, 2, 24), date(2026, 2, 10))
                .unwrap(),
            -5
        );
        assert_eq!(
            cal.working_days_between(date(2026, 2, 10), date(2026, 2, 10))
                .unwrap(),
            0
        );
        // n = 0 is the day itself, even a holiday.
        assert_eq!(
            cal.add_working_days(date(2026, 2, 16), 0).unwrap(),
            date(2026, 2, 16)
        );
    }

    #[test]
    fn next_working_day_is_strictly_after() {
        let cal = cn();
        assert_eq!(
            cal.next_working_day(date(2025, 3, 3)).unwrap(),
            date(2025, 3, 4)
        );
        assert_eq!(
            cal.next_working_day(date(2025, 3, 7)).unwrap(),
            date(2025, 3, 10)
        );
        // Across a year boundary inside the covered range.
        assert_eq!(
            cal.next_working_day(date(2024, 12, 31)).unwrap(),
            date(2025, 1, 2)
        );
        assert_eq!(
            cal.next_working_day(date(2025, 12, 31)).unwrap(),
            date(2026, 1, 4)
        );
        assert_eq!(
            cal.working_day_on_or_after(date(2025, 10, 1)).unwrap(),
            date(2025, 10, 9)
        );
        assert_eq!(
            cal.working_day_on_or_after(date(2025, 10, 9)).unwrap(),
            date(2025, 10, 9)
        );
    }

    #[test]
    fn uncovered_years_are_errors_never_guesses() {
        let cal = cn();
        let not_2027 = CalendarError::YearNotCovered { year: 2027 };
        assert_eq!(cal.is_working_day(date(2027, 3, 1)).unwrap_err(), not_2027);
        // 2026-12-31 is a Thursday; the next day is in 2027, which is not covered.
        assert_eq!(
            cal.next_working_day(date(2026, 12, 31)).unwrap_err(),
            not_2027
        );
        assert_eq!(
            cal.add_working_days(date(2026, 12, 30), 2).unwrap_err(),
            not_2027
        );
        assert_eq!(
            cal.add_working_days(date(1970, 1, 1), 0).unwrap_err(),
            CalendarError::YearNotCovered { year: 1970 }
        );
        assert_eq!(
            cal.working_days_between(date(2026, 12, 1), date(2027, 1, 5))
                .unwrap_err(),
            not_2027
        );
        assert_eq!(
            cal.next_working_day(date(2023, 12, 29)).unwrap_err(),
            CalendarError::YearNotCovered { year: 2023 }
        );
        let msg = not_2027.to_string();
        assert!(msg.contains("does not cover year 2027"), "{msg}");
    }

    #[test]
    fn validation_errors_are_specific() {
        assert!(matches!(
            load_err("years = 3"),
            CalendarError::Format { .. }
        ));
        assert!(matches!(
            load_err("[years.2026]\nholiday = [\"2026-01-01\"]\n"),
            CalendarError::Format { .. }
        ));
        assert_eq!(
            load_err("[years.26]\nholidays = [\"2026-01-01\"]\n"),
            CalendarError::BadYear { key: "26".into() }
        );
        assert_eq!(
            load_err("[years.2026]\nholidays = [\"2026-1-1\"]\n"),
            CalendarError::BadDate {
                year: 2026,
                list: "holidays",
                text: "2026-1-1".into()
            }
        );
        assert_eq!(
            load_err("[years.2026]\nholidays = [\"2026-02-30\"]\n"),
            CalendarError::BadDate {
                year: 2026,
                list: "holidays",
                text: "2026-02-30".into()
            }
        );
        let e = load_err("[years.2026]\nholidays = [\"2026-01-01\", \"2027-01-01\"]\n");
        assert_eq!(
            e,
            CalendarError::DateOutsideYear {
                year: 2026,
                list: "holidays",
                date: date(2027, 1, 1)
            }
        );
        assert!(e.to_string().contains("2027-01-01 is not in 2026"), "{e}");
        assert_eq!(
            load_err("[years.2026]\nholidays = [\"2026-01-01\", \"2026-01-01\"]\n"),
            CalendarError::Duplicate {
                year: 2026,
                list: "holidays",
                date: date(2026, 1, 1)
            }
        );
        assert_eq!(
            load_err(
                "[years.2026]\nholidays = [\"2026-01-01\"]\nworkdays = [\"2026-01-04\", \"2026-01-04\"]\n"
            ),
            CalendarError::Duplicate {
                year: 2026,
                list: "workdays",
                date: date(2026, 1, 4)
            }
        );
        assert_eq!(
            load_err("[years.2026]\nholidays = [\"2026-01-03\"]\nworkdays = [\"2026-01-03\"]\n"),
            CalendarError::HolidayAndWorkday {
                year: 2026,
                date: date(2026, 1, 3)
            }
        );
        let e =
            load_err("[years.2026]\nholidays = [\"2026-01-01\"]\nworkdays = [\"2026-01-05\"]\n");
        assert_eq!(
            e,
            CalendarError::WorkdayNotWeekend {
                year: 2026,
                date: date(2026, 1, 5),
                weekday: Weekday::Monday
            }
        );
        assert!(e.to_string().contains("is a Monday"), "{e}");
        assert_eq!(
            load_err("[years.2026]\nworkdays = [\"2026-01-04\"]\n"),
            CalendarError::NoHolidays { year: 2026 }
        );
        // A holiday on a weekend is fine.
        let cal =
            BusinessCalendar::from_toml("[years.2026]\nholidays = [\"2026-01-03\"]\n").unwrap();
        assert!(!cal.is_working_day(date(2026, 1, 3)).unwrap());
        // An empty file covers nothing, and says so when queried.
        let empty = BusinessCalendar::from_toml("[years]\n").unwrap();
        assert!(empty.covered_years().is_empty());
        assert!(empty.is_working_day(date(2026, 1, 5)).is_err());
    }

    fn arb_covered_date() -> impl Strategy<Value = Date> {
        (0_i32..(366 + 365 + 365)).prop_map(|offset| {
            date(2024, 1, 1)
                .checked_add(jiff::Span::new().days(offset))
                .unwrap()
        })
    }

    proptest! {
        #[test]
        fn add_and_between_are_inverse(d in arb_covered_date(), n in 0_u32..120) {
            let cal = cn();
            match cal.add_working_days(d, n) {
                Ok(r) => {
                    prop_assert_eq!(cal.working_days_between(d, r).unwrap(), i64::from(n));
                    prop_assert_eq!(cal.working_days_between(r, d).unwrap(), -i64::from(n));
                    if n > 0 {
                        prop_assert!(r > d);
                        prop_assert!(cal.is_working_day(r).unwrap());
                        prop_assert_eq!(
                            cal.add_working_days(d, n - 1).and_then(|p| cal.next_working_day(p)).unwrap(),
                            r
                        );
                    } else {
                        prop_assert_eq!(r, d);
                    }
                }
                Err(e) => prop_assert_eq!(e, CalendarError::YearNotCovered { year: 2027 }),
            }
        }

        #[test]
        fn next_working_day_skips_only_days_off(d in arb_covered_date()) {
            let cal = cn();
            if let Ok(next) = cal.next_working_day(d) {
                prop_assert_eq!(cal.add_working_days(d, 1).unwrap(), next);
                let mut day = d.tomorrow().unwrap();
                while day < next {
                    prop_assert!(!cal.is_working_day(day).unwrap());
                    day = day.tomorrow().unwrap();
                }
            }
        }
    }
}
