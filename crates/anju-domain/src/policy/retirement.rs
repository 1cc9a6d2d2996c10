//! Statutory retirement age (法定退休年龄) after the 2024 reform, evaluated from policy data.
//!
//! The NPC Standing Committee decision of September 2024 raises the retirement age from
//! 2025-01-01: for people born from a first birth month on, the age rises by one month
//! for every `step` birth months, up to a maximum delay. The schedule for each category
//! is data in `[retirement.<category>]`:
//!
//! | category | base age | first birth month | step | max delay | final age |
//! |---|---|---|---|---|---|
//! | male | 60 y | 1965-01 | 4 | 36 | 63 |
//! | female_cadre | 55 y | 1970-01 | 4 | 36 | 58 |
//! | female_worker | 50 y | 1975-01 | 2 | 60 | 55 |
//!
//! Delay = min(⌊(birth month − first birth month) / step⌋ + 1, max delay) for births in
//! or after the first birth month, 0 before it.
//!
//! Early or deferred retirement by choice (弹性退休) and early retirement for special work
//! types are individual facts, not part of this schedule.

use jiff::civil::Date;

use super::PolicyError;

/// The categories of the statutory retirement age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetirementCategory {
    /// Men: 60, rising to 63.
    Male,
    /// Women in cadre (managerial and technical) posts: 55, rising to 58.
    FemaleCadre,
    /// Women workers: 50, rising to 55.
    FemaleWorker,
}

/// The schedule of one category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetirementSchedule {
    /// Retirement age before the reform, in months (60 years = 720).
    pub base_age_months: u32,
    /// The first birth month whose retirement is delayed; always the 1st of the month.
    pub first_birth_month: Date,
    /// Birth months per extra month of delay.
    pub step_birth_months: u32,
    /// Largest delay, in months.
    pub max_delay_months: u32,
}

impl RetirementSchedule {
    /// The delay, in months, for someone born on `birth`.
    pub fn delay_months(&self, birth: Date) -> u32 {
        let since_first = month_index(birth) - month_index(self.first_birth_month);
        let Ok(since_first) = u32::try_from(since_first) else {
            return 0; // born before the first delayed birth month
        };
        // step ≥ 1 is enforced when the policy is loaded; `max` keeps this total anyway.
        let steps = since_first / self.step_birth_months.max(1);
        steps.saturating_add(1).min(self.max_delay_months)
    }

    /// The retirement age, in months, for someone born on `birth`.
    pub fn age_months(&self, birth: Date) -> u32 {
        self.base_age_months
            .saturating_add(self.delay_months(birth))
    }
}

/// `[retirement]`: one schedule per category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetirementRules {
    /// Men.
    pub male: RetirementSchedule,
    /// Women in cadre posts.
    pub female_cadre: RetirementSchedule,
    /// Women workers.
    pub female_worker: RetirementSchedule,
}

impl RetirementRules {
    /// The schedule of a category.
    pub fn schedule(&self, category: RetirementCategory) -> &RetirementSchedule {
        match category {
            RetirementCategory::Male => &self.male,
            RetirementCategory::FemaleCadre => &self.female_cadre,
            RetirementCategory::FemaleWorker => &self.female_worker,
        }
    }

    /// The statutory retirement age, in months, of someone born on `birth`.
    pub fn age_months(&self, birth: Date, category: RetirementCategory) -> u32 {
        self.schedule(category).age_months(birth)
    }

    /// The statutory retirement date: the day the person reaches the retirement age,
    /// i.e. the birth date plus the age in months. A birth day that does not exist in
    /// the target month is clamped to the month's last day (a woman worker born
    /// 1976-03-31 retires at 50 y 8 m on 2026-11-30; born on Feb 29 → Feb 28 in a common
    /// year).
    ///
    /// The official tables give the retirement *month*, which is this date's month.
    pub fn date(&self, birth: Date, category: RetirementCategory) -> Result<Date, PolicyError> {
        add_months_clamped(birth, self.age_months(birth, category))
    }
}

/// Months since year 0 (`year × 12 + month − 1`).
pub(super) fn month_index(date: Date) -> i32 {
    i32::from(date.year()) * 12 + i32::from(date.month()) - 1
}

/// `date` plus `months`, with the day clamped to the end of the target month.
fn add_months_clamped(date: Date, months: u32) -> Result<Date, PolicyError> {
    let out_of_range = || PolicyError::DateOutOfRange {
        what: "retirement date",
    };
    let months = i32::try_from(months).map_err(|_| out_of_range())?;
    let index = month_index(date)
        .checked_add(months)
        .ok_or_else(out_of_range)?;
    let year = i16::try_from(index.div_euclid(12)).map_err(|_| out_of_range())?;
    let month = i8::try_from(index.rem_euclid(12) + 1).map_err(|_| out_of_range())?;
    let first = Date::new(year, month, 1).map_err(|_| out_of_range())?;
    let day = date.day().min(first.days_in_month());
    Date::new(year, month, day).map_err(|_| out_of_range())
}
