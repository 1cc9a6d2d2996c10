//! Tests of policy loading, validation and queries against the shipped Quzhou file.

use jiff::civil::{Date, date};
use proptest::prelude::*;

use super::*;
use crate::money::{Fen, Rounding};

fn quzhou() -> Policy {
    Policy::from_toml(QUZHOU_POLICY).expect("the shipped Quzhou policy loads")
}

fn pct(text: &str) -> Rate {
    Rate::parse_percent(text).unwrap()
}

/// The Quzhou text with each `(from, to)` replaced once (first occurrence).
fn edited(edits: &[(&str, &str)]) -> String {
    let mut text = QUZHOU_POLICY.to_owned();
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "test edit {from:?} does not match the file"
        );
        text = text.replacen(from, to, 1);
    }
    text
}

/// Loads an edited Quzhou text that must fail validation; returns its issues.
fn issues_of(edits: &[(&str, &str)]) -> Vec<PolicyIssue> {
    match Policy::from_toml(&edited(edits)) {
        Err(PolicyError::Invalid { issues }) => issues,
        other => panic!("expected validation issues, got {other:?}"),
    }
}

/// Asserts that exactly one issue was found, at `path`, of `kind`; returns its text.
fn single_issue(edits: &[(&str, &str)], path: &str, kind: IssueKind) -> String {
    let issues = issues_of(edits);
    assert_eq!(issues.len(), 1, "expected one issue, got {issues:#?}");
    let issue = &issues[0];
    assert_eq!(issue.path, path, "{issue}");
    assert_eq!(issue.kind, kind, "{issue}");
    let message = PolicyError::Invalid {
        issues: issues.clone(),
    }
    .to_string();
    assert!(message.contains(path), "{message}");
    message
}

// ---- the shipped Quzhou policy ------------------------------------------------------

#[test]
fn quzhou_loads_with_its_identity() {
    let p = quzhou();
    let c = p.centre();
    assert_eq!(c.code, "330800000000000");
    assert_eq!(c.region_code, "330800");
    assert_eq!(c.name, "衢州市住房公积金管理中心");
    assert_eq!(c.policy_version, "2026.1");
    assert_eq!(c.regulation_2026_effective, date(2026, 9, 20));
    assert_eq!(p.source_sm3().len(), 64);
    assert_eq!(p.contributions().len(), 2);
    assert_eq!(p.loan_rates().len(), 4);
}

#[test]
fn quzhou_loan_rates_by_date_home_and_term() {
    let p = quzhou();
    let first_240 = |d: Date| p.loan_rate_for(d, true, 240).unwrap();
    assert_eq!(first_240(date(2025, 6, 1)), pct("2.6"));
    assert_eq!(first_240(date(2024, 6, 1)), pct("2.85"));
    assert_eq!(first_240(date(2024, 5, 17)), pct("3.1"));
    assert_eq!(first_240(date(2024, 5, 18)), pct("2.85"));
    assert_eq!(first_240(date(2020, 1, 1)), pct("3.25"));
    // ≤ 60 months is the "5 years or less" column; 61 is not.
    assert_eq!(
        p.loan_rate_for(date(2025, 6, 1), true, 60).unwrap(),
        pct("2.1")
    );
    assert_eq!(
        p.loan_rate_for(date(2025, 6, 1), true, 61).unwrap(),
        pct("2.6")
    );
    assert_eq!(
        p.loan_rate_for(date(2025, 6, 1), false, 60).unwrap(),
        pct("2.525")
    );
    assert_eq!(
        p.loan_rate_for(date(2025, 6, 1), false, 360).unwrap(),
        pct("3.075")
    );
    assert_eq!(
        p.loan_rate_for(date(2023, 1, 1), false, 360).unwrap(),
        pct("3.575")
    );
    let err = p.loan_rate_for(date(2015, 8, 25), true, 240).unwrap_err();
    assert_eq!(
        err,
        PolicyError::NotInForce {
            section: "loan_rate",
            date: date(2015, 8, 25),
            first: date(2015, 8, 26),
        }
    );
    assert!(err.to_string().contains("2015-08-26"), "{err}");
}

#[test]
fn existing_loans_reprice_on_the_switch_date() {
    let p = quzhou();
    let rate = |signed: Date, on: Date| p.existing_loan_rate_on(signed, on, true, 240).unwrap();
    // Signed under the 2024-05-18 rates; switches to 2025-05-08 rates on 2026-01-01.
    assert_eq!(rate(date(2024, 6, 1), date(2024, 6, 1)), pct("2.85"));
    assert_eq!(rate(date(2024, 6, 1), date(2025, 12, 31)), pct("2.85"));
    assert_eq!(rate(date(2024, 6, 1), date(2026, 1, 1)), pct("2.6"));
    // Signed under the 2022-10-01 rates.
    assert_eq!(rate(date(2023, 3, 1), date(2024, 12, 31)), pct("3.1"));
    assert_eq!(rate(date(2023, 3, 1), date(2025, 1, 1)), pct("2.85"));
    assert_eq!(rate(date(2023, 3, 1), date(2026, 2, 1)), pct("2.6"));
    // Signed after the 2025-05-08 change: already on the new rate.
    assert_eq!(rate(date(2025, 6, 1), date(2025, 7, 1)), pct("2.6"));
    assert!(matches!(
        p.existing_loan_rate_on(date(2025, 1, 1), date(2024, 1, 1), true, 240),
        Err(PolicyError::ReversedPeriod { .. })
    ));
    assert!(matches!(
        p.existing_loan_rate_on(date(2010, 1, 1), date(2024, 1, 1), true, 240),
        Err(PolicyError::NotInForce { .. })
    ));
}

#[test]
fn quzhou_deposit_rate_and_interest() {
    let p = quzhou();
    assert_eq!(p.deposit_rate_on(date(2025, 6, 30)).unwrap(), pct("1.5"));
    assert_eq!(p.deposit_rate_on(date(2016, 2, 21)).unwrap(), pct("1.5"));
    assert!(matches!(
        p.deposit_rate_on(date(2016, 2, 20)),
        Err(PolicyError::NotInForce {
            section: "deposit_rate",
            ..
        })
    ));
    let i = p.interest();
    assert_eq!(i.day_count_basis, DayCountBasis::Days360);
    assert_eq!(i.day_count_basis.days(), 360);
    assert_eq!(i.settlement_date(2025).unwrap(), date(2025, 6, 30));
    assert_eq!(
        p.deposit_rate_periods(date(2024, 6, 30), date(2025, 6, 30))
            .unwrap(),
        vec![(date(2024, 6, 30), date(2025, 6, 30), pct("1.5"))]
    );
}

#[test]
fn quzhou_contribution_rules_by_date() {
    let p = quzhou();
    let r = p.contribution_on(date(2025, 7, 1)).unwrap();
    assert_eq!(r.base_floor, Fen::parse_yuan("2270").unwrap());
    assert_eq!(r.base_cap, Fen::parse_yuan("32000").unwrap());
    assert_eq!(r.unit_ratio.min, Rate::from_percent(5));
    assert_eq!(r.member_ratio.max, Rate::from_percent(12));
    assert!(r.unit_ratio.contains(Rate::from_percent(12)));
    assert!(!r.unit_ratio.contains(Rate::from_percent(13)));
    assert_eq!(r.rounding, Rounding::HalfUpFen);
    assert_eq!(r.payment_deadline_days_after_payday, 5);
    assert_eq!(r.flexible_ratio.max, Rate::from_percent(24));
    assert_eq!(
        (
            r.flexible_min_age,
            r.flexible_max_age_male,
            r.flexible_max_age_female
        ),
        (16, 60, 55)
    );
    assert_eq!(
        r.flexible_residence,
        FlexibleResidence::HouseholdOrSocialSecurity
    );
    let earlier = p.contribution_on(date(2025, 6, 30)).unwrap();
    assert_eq!(earlier.base_cap, Fen::parse_yuan("29800").unwrap());
    assert!(p.contribution_on(date(2024, 6, 30)).is_err());
}

#[test]
fn quzhou_loan_limits() {
    let p = quzhou();
    let l = p.loan_limits_on(date(2025, 1, 1)).unwrap();
    assert_eq!(l.max_amount_single, Fen::parse_yuan("500000").unwrap());
    assert_eq!(l.max_amount_couple, Fen::parse_yuan("800000").unwrap());
    assert_eq!(l.max_ratio_first_home, Rate::from_percent(80));
    assert_eq!(l.max_ratio_second_home, Rate::from_percent(70));
    assert_eq!((l.min_continuous_months, l.max_term_years), (6, 30));
    assert_eq!(
        (l.term_beyond_retirement_years, l.max_loans_per_family),
        (5, 2)
    );
    // balance × multiple: 12,345.67 × 15 = 185,185.05
    let balance = Fen::parse_yuan("12345.67").unwrap();
    assert_eq!(
        balance
            .mul_rate(l.balance_multiple, Rounding::HalfUpFen)
            .unwrap(),
        Fen::parse_yuan("185185.05").unwrap()
    );
    assert!(p.loan_limits_on(date(2024, 1, 1)).is_err());
}

#[test]
fn bare_toml_dates_are_accepted() {
    let text = edited(&[("effective = \"2016-02-21\"", "effective = 2016-02-21")]);
    let p = Policy::from_toml(&text).unwrap();
    assert_eq!(p.deposit_rates()[0].effective, date(2016, 2, 21));
    // ... but not a date-time.
    single_issue(
        &[(
            "effective = \"2016-02-21\"",
            "effective = 2016-02-21T00:00:00",
        )],
        "deposit_rate[0].effective",
        IssueKind::Unparsable,
    );
}

// ---- deposit-rate periods -----------------------------------------------------------

fn with_rate_cut() -> Policy {
    let text = edited(&[(
        "[interest]",
        "[[deposit_rate]]\neffective = \"2024-01-01\"\nannual = \"1.2\"\n\n[interest]",
    )]);
    Policy::from_toml(&text).unwrap()
}

#[test]
fn deposit_periods_split_at_rate_changes() {
    let p = with_rate_cut();
    assert_eq!(
        p.deposit_rate_periods(date(2023, 6, 30), date(2024, 6, 30))
            .unwrap(),
        vec![
            (date(2023, 6, 30), date(2024, 1, 1), pct("1.5")),
            (date(2024, 1, 1), date(2024, 6, 30), pct("1.2")),
        ]
    );
    // Ending exactly on a change date: the new rate is not used.
    assert_eq!(
        p.deposit_rate_periods(date(2023, 6, 30), date(2024, 1, 1))
            .unwrap(),
        vec![(date(2023, 6, 30), date(2024, 1, 1), pct("1.5"))]
    );
    // Starting exactly on a change date.
    assert_eq!(
        p.deposit_rate_periods(date(2024, 1, 1), date(2024, 1, 2))
            .unwrap(),
        vec![(date(2024, 1, 1), date(2024, 1, 2), pct("1.2"))]
    );
    assert!(
        p.deposit_rate_periods(date(2024, 1, 1), date(2024, 1, 1))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        p.deposit_rate_periods(date(2024, 1, 2), date(2024, 1, 1)),
        Err(PolicyError::ReversedPeriod {
            from: date(2024, 1, 2),
            to: date(2024, 1, 1)
        })
    );
    assert!(
        p.deposit_rate_periods(date(2015, 1, 1), date(2024, 1, 1))
            .is_err()
    );
}

proptest! {
    #[test]
    fn deposit_periods_tile_the_range(a in 0_i32..5000, len in 0_i32..3000) {
        let p = with_rate_cut();
        let from = date(2016, 2, 21).checked_add(jiff::Span::new().days(a)).unwrap();
        let to = from.checked_add(jiff::Span::new().days(len)).unwrap();
        let periods = p.deposit_rate_periods(from, to).unwrap();
        let mut cursor = from;
        for (start, end, rate) in &periods {
            prop_assert_eq!(*start, cursor);
            prop_assert!(start < end);
            prop_assert_eq!(p.deposit_rate_on(*start).unwrap(), *rate);
            prop_assert_eq!(p.deposit_rate_on(end.yesterday().unwrap()).unwrap(), *rate);
            cursor = *end;
        }
        prop_assert_eq!(cursor, to);
    }
}

// ---- retirement ---------------------------------------------------------------------

fn ym(year: i16, month: i8) -> Date {
    date(year, month, 15)
}

#[test]
fn male_retirement_follows_the_official_table() {
    let p = quzhou();
    let age = |b: Date| p.retirement_age_months(b, RetirementCategory::Male);
    assert_eq!(age(date(1964, 12, 31)), 720);
    assert_eq!(age(date(1965, 1, 1)), 721); // 60 y 1 m
    assert_eq!(age(ym(1965, 4)), 721);
    assert_eq!(age(ym(1965, 5)), 722); // 60 y 2 m
    assert_eq!(age(ym(1976, 8)), 755); // 62 y 11 m
    assert_eq!(age(ym(1976, 9)), 756); // 63 y
    assert_eq!(age(ym(1990, 1)), 756);
    assert_eq!(
        p.retirement_date(ym(1965, 1), RetirementCategory::Male)
            .unwrap(),
        date(2025, 2, 15)
    );
    assert_eq!(
        p.retirement_date(date(1964, 12, 31), RetirementCategory::Male)
            .unwrap(),
        date(2024, 12, 31)
    );
    assert_eq!(
        p.retirement_date(ym(1976, 9), RetirementCategory::Male)
            .unwrap(),
        date(2039, 9, 15)
    );
}

#[test]
fn female_retirement_follows_the_official_table() {
    let p = quzhou();
    let worker = |b: Date| p.retirement_age_months(b, RetirementCategory::FemaleWorker);
    let cadre = |b: Date| p.retirement_age_months(b, RetirementCategory::FemaleCadre);
    assert_eq!(worker(ym(1974, 12)), 600);
    assert_eq!(worker(ym(1975, 1)), 601); // 50 y 1 m
    assert_eq!(worker(ym(1975, 2)), 601);
    assert_eq!(worker(ym(1975, 3)), 602); // 50 y 2 m
    assert_eq!(worker(ym(1984, 10)), 659);
    assert_eq!(worker(ym(1984, 11)), 660); // 55 y
    assert_eq!(worker(ym(2000, 1)), 660);
    assert_eq!(cadre(ym(1969, 12)), 660);
    assert_eq!(cadre(ym(1970, 1)), 661); // 55 y 1 m
    assert_eq!(cadre(ym(1981, 8)), 695);
    assert_eq!(cadre(ym(1981, 9)), 696); // 58 y
    assert_eq!(
        p.retirement_date(ym(1975, 1), RetirementCategory::FemaleWorker)
            .unwrap(),
        date(2025, 2, 15)
    );
}

#[test]
fn retirement_date_clamps_to_month_end() {
    let p = quzhou();
    assert_eq!(
        p.retirement_date(date(1976, 3, 31), RetirementCategory::FemaleWorker)
            .unwrap(),
        date(2026, 11, 30)
    );
    assert_eq!(
        p.retirement_date(date(1972, 2, 29), RetirementCategory::FemaleWorker)
            .unwrap(),
        date(2022, 2, 28)
    );
    assert!(matches!(
        p.retirement_date(date(9990, 1, 1), RetirementCategory::Male),
        Err(PolicyError::DateOutOfRange { .. })
    ));
}

proptest! {
    #[test]
    fn retirement_age_never_falls_with_later_birth(a in 0_i32..40_000, b in 0_i32..40_000) {
        let p = quzhou();
        let base = date(1940, 1, 1);
        let (x, y) = (a.min(b), a.max(b));
        let bx = base.checked_add(jiff::Span::new().days(x)).unwrap();
        let by = base.checked_add(jiff::Span::new().days(y)).unwrap();
        for cat in [RetirementCategory::Male, RetirementCategory::FemaleCadre, RetirementCategory::FemaleWorker] {
            let s = p.retirement().schedule(cat);
            let (ax, ay) = (p.retirement_age_months(bx, cat), p.retirement_age_months(by, cat));
            prop_assert!(ax <= ay);
            prop_assert!(ay <= s.base_age_months + s.max_delay_months);
            prop_assert!(p.retirement_date(bx, cat).unwrap() <= p.retirement_date(by, cat).unwrap());
        }
    }
}

// ---- validation: one test per rule --------------------------------------------------

#[test]
fn floor_above_cap_is_refused() {
    let msg = single_issue(
        &[("base_cap = \"32000.00\"", "base_cap = \"2000.00\"")],
        "contribution[1].base_cap",
        IssueKind::Contradictory,
    );
    assert!(msg.contains("\"2000.00\""), "{msg}");
    assert!(
        msg.contains("contribution[1].base_floor (2270.00)"),
        "{msg}"
    );
}

#[test]
fn non_positive_base_is_refused() {
    single_issue(
        &[("base_floor = \"2070.00\"", "base_floor = \"0\"")],
        "contribution[0].base_floor",
        IssueKind::OutOfBounds,
    );
}

#[test]
fn ratio_min_above_max_is_refused() {
    single_issue(
        &[
            ("member_ratio_min = \"5\"", "member_ratio_min = \"11\""),
            ("member_ratio_max = \"12\"", "member_ratio_max = \"10\""),
        ],
        "contribution[0].member_ratio_max",
        IssueKind::Contradictory,
    );
}

#[test]
fn ratios_outside_national_bounds_are_refused() {
    let msg = single_issue(
        &[("unit_ratio_max = \"12\"", "unit_ratio_max = \"12.5\"")],
        "contribution[0].unit_ratio_max",
        IssueKind::OutOfBounds,
    );
    assert!(msg.contains("between 5% and 12%"), "{msg}");
    single_issue(
        &[("member_ratio_min = \"5\"", "member_ratio_min = \"4.99\"")],
        "contribution[0].member_ratio_min",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[("flexible_ratio_max = \"24\"", "flexible_ratio_max = \"25\"")],
        "contribution[0].flexible_ratio_max",
        IssueKind::OutOfBounds,
    );
}

#[test]
fn effective_dates_must_strictly_increase() {
    let msg = single_issue(
        &[("effective = \"2025-07-01\"", "effective = \"2024-07-01\"")],
        "contribution[1].effective",
        IssueKind::NotIncreasing,
    );
    assert!(
        msg.contains("contribution[0].effective (2024-07-01)"),
        "{msg}"
    );
    single_issue(
        &[("effective = \"2024-05-18\"", "effective = \"2015-01-01\"")],
        "loan_rate[2].effective",
        IssueKind::NotIncreasing,
    );
}

#[test]
fn missing_and_empty_histories_are_refused() {
    let start = QUZHOU_POLICY.find("[[deposit_rate]]").unwrap();
    let end = QUZHOU_POLICY.find("[interest]").unwrap();
    let without = format!("{}{}", &QUZHOU_POLICY[..start], &QUZHOU_POLICY[end..]);
    let err = Policy::from_toml(&without).unwrap_err();
    assert_eq!(err.issues().len(), 1, "{err}");
    assert_eq!(err.issues()[0].path, "deposit_rate");
    assert_eq!(err.issues()[0].kind, IssueKind::Missing);

    let empty = format!("deposit_rate = []\n{without}");
    let err = Policy::from_toml(&empty).unwrap_err();
    assert_eq!(err.issues().len(), 1, "{err}");
    assert_eq!(err.issues()[0].path, "deposit_rate");
    assert_eq!(err.issues()[0].kind, IssueKind::EmptyHistory);
}

#[test]
fn day_count_basis_must_be_360_or_365() {
    let text = edited(&[("day_count_basis = 360", "day_count_basis = 365")]);
    assert_eq!(
        Policy::from_toml(&text).unwrap().interest().day_count_basis,
        DayCountBasis::Days365
    );
    single_issue(
        &[("day_count_basis = 360", "day_count_basis = 366")],
        "interest.day_count_basis",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[("day_count_basis = 360", "day_count_basis = \"360\"")],
        "interest.day_count_basis",
        IssueKind::Unparsable,
    );
}

#[test]
fn settlement_day_must_exist_every_year() {
    single_issue(
        &[("settlement_day = 30", "settlement_day = 31")],
        "interest.settlement_day",
        IssueKind::Contradictory,
    );
    single_issue(
        &[
            ("settlement_month = 6", "settlement_month = 2"),
            ("settlement_day = 30", "settlement_day = 29"),
        ],
        "interest.settlement_day",
        IssueKind::Contradictory,
    );
    single_issue(
        &[("settlement_month = 6", "settlement_month = 13")],
        "interest.settlement_month",
        IssueKind::OutOfBounds,
    );
}

#[test]
fn unknown_keys_and_sections_are_refused() {
    let text = edited(&[("[interest]\n", "[interest]\ncompound = true\n")]);
    let err = Policy::from_toml(&text).unwrap_err();
    assert!(matches!(err, PolicyError::Syntax { .. }), "{err:?}");
    assert!(err.to_string().contains("compound"), "{err}");

    let text = format!("{QUZHOU_POLICY}\n[withdrawal]\nrent_share = \"30\"\n");
    let err = Policy::from_toml(&text).unwrap_err();
    assert!(err.to_string().contains("withdrawal"), "{err}");

    let text = edited(&[(
        "base_cap = \"32000.00\"",
        "base_cap = \"32000.00\"\nbase_cpa = \"1\"",
    )]);
    let err = Policy::from_toml(&text).unwrap_err();
    assert!(err.to_string().contains("base_cpa"), "{err}");
}

#[test]
fn missing_values_are_named() {
    let msg = single_issue(
        &[("base_floor = \"2070.00\"", "")],
        "contribution[0].base_floor",
        IssueKind::Missing,
    );
    assert!(msg.contains("is required"), "{msg}");
    single_issue(
        &[("[centre]\ncode = \"330800000000000\"", "[centre]")],
        "centre.code",
        IssueKind::Missing,
    );
    let err = Policy::from_toml("").unwrap_err();
    let paths: Vec<_> = err.issues().iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "centre",
            "contribution",
            "deposit_rate",
            "interest",
            "loan_rate",
            "loan_limits",
            "loan_servicing",
            "retirement",
            "withdrawal",
            "access",
            "channel_limits"
        ]
    );
}

#[test]
fn unparsable_values_are_named() {
    // A float rate would be inexact: rates are quoted strings.
    let msg = single_issue(
        &[("annual = \"1.5\"", "annual = 1.5")],
        "deposit_rate[0].annual",
        IssueKind::Unparsable,
    );
    assert!(msg.contains("quoted"), "{msg}");
    single_issue(
        &[("base_cap = \"32000.00\"", "base_cap = \"32,000.00\"")],
        "contribution[1].base_cap",
        IssueKind::Unparsable,
    );
    single_issue(
        &[("effective = \"2024-07-01\"", "effective = \"2024-13-01\"")],
        "contribution[0].effective",
        IssueKind::Unparsable,
    );
    single_issue(
        &[("rounding = \"half-up-fen\"", "rounding = \"half-even\"")],
        "contribution[0].rounding",
        IssueKind::Unparsable,
    );
    single_issue(
        &[(
            "first_birth_month = \"1965-01\"",
            "first_birth_month = \"1965-1\"",
        )],
        "retirement.male.first_birth_month",
        IssueKind::Unparsable,
    );
    single_issue(
        &[("max_term_years = 30", "max_term_years = \"30\"")],
        "loan_limits[0].max_term_years",
        IssueKind::Unparsable,
    );
}

#[test]
fn centre_identity_is_checked() {
    single_issue(
        &[("code = \"330800000000000\"", "code = \"33080000000000\"")],
        "centre.code",
        IssueKind::Unparsable,
    );
    single_issue(
        &[("code = \"330800000000000\"", "code = \"330700000000000\"")],
        "centre.code",
        IssueKind::Contradictory,
    );
    single_issue(
        &[("region_code = \"330800\"", "region_code = \"3308\"")],
        "centre.region_code",
        IssueKind::Unparsable,
    );
    single_issue(
        &[("policy_version = \"2026.1\"", "policy_version = \" \"")],
        "centre.policy_version",
        IssueKind::Unparsable,
    );
}

#[test]
fn payment_deadline_follows_article_19() {
    single_issue(
        &[(
            "payment_deadline_days_after_payday = 5",
            "payment_deadline_days_after_payday = 6",
        )],
        "contribution[0].payment_deadline_days_after_payday",
        IssueKind::OutOfBounds,
    );
}

#[test]
fn flexible_ages_are_checked() {
    single_issue(
        &[("flexible_min_age = 16", "flexible_min_age = 15")],
        "contribution[0].flexible_min_age",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[(
            "flexible_max_age_female = 55",
            "flexible_max_age_female = 16",
        )],
        "contribution[0].flexible_max_age_female",
        IssueKind::Contradictory,
    );
}

#[test]
fn flexible_residence_is_one_of_three_and_optional() {
    let line = "flexible_residence = \"household-or-social-security\"";
    single_issue(
        &[(line, "flexible_residence = \"hukou\"")],
        "contribution[0].flexible_residence",
        IssueKind::Unparsable,
    );
    // A policy written before the rule means anyone may open.
    let text = QUZHOU_POLICY
        .lines()
        .filter(|l| !l.starts_with("flexible_residence"))
        .collect::<Vec<_>>()
        .join("\n");
    let p = Policy::from_toml(&text).unwrap();
    assert_eq!(
        p.contribution_on(date(2025, 7, 1))
            .unwrap()
            .flexible_residence,
        FlexibleResidence::Any
    );
    let text = QUZHOU_POLICY.replace(line, "flexible_residence = \"household-registration\"");
    let p = Policy::from_toml(&text).unwrap();
    assert_eq!(
        p.contribution_on(date(2025, 7, 1))
            .unwrap()
            .flexible_residence,
        FlexibleResidence::HouseholdRegistration
    );
}

#[test]
fn loan_rate_rows_are_checked() {
    single_issue(
        &[(
            "reprice_existing_on = \"2026-01-01\"",
            "reprice_existing_on = \"2025-05-07\"",
        )],
        "loan_rate[3].reprice_existing_on",
        IssueKind::Contradictory,
    );
    single_issue(
        &[(
            "reprice_existing_on = \"2023-01-01\"",
            "reprice_existing_on = \"2025-06-01\"",
        )],
        "loan_rate[2].reprice_existing_on",
        IssueKind::NotIncreasing,
    );
    // Swapped columns: a second-home rate below the first-home one.
    single_issue(
        &[("second_le5 = \"2.525\"", "second_le5 = \"2.0\"")],
        "loan_rate[3].second_le5",
        IssueKind::Contradictory,
    );
    single_issue(
        &[("first_gt5 = \"2.6\"", "first_gt5 = \"2.0\"")],
        "loan_rate[3].first_gt5",
        IssueKind::Contradictory,
    );
    single_issue(
        &[("first_le5 = \"2.75\"", "first_le5 = \"0\"")],
        "loan_rate[0].first_le5",
        IssueKind::OutOfBounds,
    );
}

#[test]
fn loan_limits_are_checked() {
    let msg = single_issue(
        &[(
            "max_ratio_first_home = \"80\"",
            "max_ratio_first_home = \"85\"",
        )],
        "loan_limits[0].max_ratio_first_home",
        IssueKind::OutOfBounds,
    );
    assert!(msg.contains("80 %"), "{msg}");
    single_issue(
        &[
            (
                "max_ratio_second_home = \"70\"",
                "max_ratio_second_home = \"75.5\"",
            ),
            (
                "max_ratio_first_home = \"80\"",
                "max_ratio_first_home = \"75\"",
            ),
        ],
        "loan_limits[0].max_ratio_second_home",
        IssueKind::Contradictory,
    );
    single_issue(
        &[(
            "max_amount_single = \"500000.00\"",
            "max_amount_single = \"900000.00\"",
        )],
        "loan_limits[0].max_amount_couple",
        IssueKind::Contradictory,
    );
    single_issue(
        &[(
            "max_amount_second_home_single = \"400000.00\"",
            "max_amount_second_home_single = \"550000.00\"",
        )],
        "loan_limits[0].max_amount_second_home_single",
        IssueKind::Contradictory,
    );
    single_issue(
        &[("max_term_years = 30", "max_term_years = 35")],
        "loan_limits[0].max_term_years",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[("balance_multiple = \"15\"", "balance_multiple = \"0\"")],
        "loan_limits[0].balance_multiple",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[(
            "repayment_capacity_pct = \"50\"",
            "repayment_capacity_pct = \"101\"",
        )],
        "loan_limits[0].repayment_capacity_pct",
        IssueKind::OutOfBounds,
    );
}

#[test]
fn retirement_schedule_is_checked() {
    single_issue(
        &[("step_birth_months = 4", "step_birth_months = 0")],
        "retirement.male.step_birth_months",
        IssueKind::OutOfBounds,
    );
    let start = QUZHOU_POLICY.find("[retirement.female_worker]").unwrap();
    let err = Policy::from_toml(&QUZHOU_POLICY[..start]).unwrap_err();
    assert_eq!(err.issues()[0].path, "retirement.female_worker");
    assert_eq!(err.issues()[0].kind, IssueKind::Missing);
}

#[test]
fn every_problem_is_reported_together() {
    let issues = issues_of(&[
        ("base_cap = \"32000.00\"", "base_cap = \"2000.00\""),
        ("day_count_basis = 360", "day_count_basis = 366"),
        ("annual = \"1.5\"", "annual = \"1.5%\""),
    ]);
    let paths: Vec<_> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "contribution[1].base_cap",
            "deposit_rate[0].annual",
            "interest.day_count_basis"
        ]
    );
    let message = PolicyError::Invalid { issues }.to_string();
    assert!(
        message.starts_with("policy file has 3 problem(s): "),
        "{message}"
    );
}

// ---- loan servicing -------------------------------------------------------------------

#[test]
fn quzhou_loan_servicing() {
    let p = quzhou();
    let s = p.loan_servicing_on(date(2025, 3, 1)).unwrap();
    assert_eq!(s.penalty_multiplier, Rate::from_percent(150));
    assert_eq!(s.penalty_base, PenaltyBase::PrincipalAndInterest);
    assert_eq!(s.grace_days, 0);
    assert_eq!(
        (
            s.special_mention_from,
            s.substandard_from,
            s.doubtful_from,
            s.loss_from
        ),
        (1, 91, 181, 361)
    );
    assert_eq!(s.prepayment_min_amount, Fen::parse_yuan("10000").unwrap());
    assert_eq!(s.prepayment_min_months_after_disbursement, 12);
    assert_eq!(s.prepayment_max_per_year, 2);
    assert_eq!(p.loan_servicing_history().len(), 1);
    assert!(matches!(
        p.loan_servicing_on(date(2024, 6, 30)),
        Err(PolicyError::NotInForce {
            section: "loan_servicing",
            ..
        })
    ));
}

#[test]
fn loan_servicing_values_are_checked() {
    let msg = single_issue(
        &[(
            "penalty_multiplier_pct = \"150\"",
            "penalty_multiplier_pct = \"90\"",
        )],
        "loan_servicing[0].penalty_multiplier_pct",
        IssueKind::OutOfBounds,
    );
    assert!(msg.contains("\"90\""), "{msg}");
    single_issue(
        &[(
            "penalty_base = \"principal-and-interest\"",
            "penalty_base = \"interest\"",
        )],
        "loan_servicing[0].penalty_base",
        IssueKind::Unparsable,
    );
    single_issue(
        &[("penalty_base = \"principal-and-interest\"", "")],
        "loan_servicing[0].penalty_base",
        IssueKind::Missing,
    );
    // Both bases are accepted.
    let text = edited(&[(
        "penalty_base = \"principal-and-interest\"",
        "penalty_base = \"principal\"",
    )]);
    let p = Policy::from_toml(&text).unwrap();
    assert_eq!(
        p.loan_servicing_history()[0].penalty_base,
        PenaltyBase::Principal
    );
    single_issue(
        &[("special_mention_from = 1 ", "special_mention_from = 0 ")],
        "loan_servicing[0].special_mention_from",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[(
            "prepayment_min_amount = \"10000.00\"",
            "prepayment_min_amount = \"0\"",
        )],
        "loan_servicing[0].prepayment_min_amount",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[("prepayment_max_per_year = 2", "prepayment_max_per_year = 0")],
        "loan_servicing[0].prepayment_max_per_year",
        IssueKind::OutOfBounds,
    );
}

#[test]
fn risk_thresholds_must_strictly_increase() {
    let msg = single_issue(
        &[("doubtful_from = 181", "doubtful_from = 91")],
        "loan_servicing[0].doubtful_from",
        IssueKind::NotIncreasing,
    );
    assert!(
        msg.contains("loan_servicing[0].substandard_from (91)"),
        "{msg}"
    );
    single_issue(
        &[("loss_from = 361", "loss_from = 100")],
        "loan_servicing[0].loss_from",
        IssueKind::NotIncreasing,
    );
}

#[test]
fn loan_servicing_section_is_required() {
    let start = QUZHOU_POLICY.find("[[loan_servicing]]").unwrap();
    let end = QUZHOU_POLICY.find("[retirement.male]").unwrap();
    let without = format!("{}{}", &QUZHOU_POLICY[..start], &QUZHOU_POLICY[end..]);
    let err = Policy::from_toml(&without).unwrap_err();
    assert_eq!(err.issues().len(), 1, "{err}");
    assert_eq!(err.issues()[0].path, "loan_servicing");
    assert_eq!(err.issues()[0].kind, IssueKind::Missing);
}

// ---- access and channel limits ------------------------------------------------------

#[test]
fn quzhou_access_rules() {
    use crate::codes::Channel;
    use jiff::SignedDuration;
    let p = quzhou();
    let a = p.access();
    assert_eq!(a.password.min_length, 10);
    assert_eq!(a.password.min_classes, 3);
    assert_eq!(a.password.rotation_days, 90);
    assert_eq!(a.lockout.threshold, 5);
    assert_eq!(a.lockout.lock_for, SignedDuration::from_mins(30));
    assert_eq!(a.session.idle, SignedDuration::from_mins(30));
    assert_eq!(a.session.absolute, SignedDuration::from_hours(8));
    assert_eq!(a.otp.ttl, SignedDuration::from_mins(5));
    assert_eq!(a.otp.max_attempts, 5);
    assert_eq!(a.otp.resend_interval, SignedDuration::from_secs(60));
    assert_eq!(a.otp.daily_cap, 10);
    assert_eq!(a.login_attempts_per_minute, 20);

    let limits = p.channel_limits();
    assert_eq!(limits.len(), 9);
    let app = limits
        .iter()
        .find(|l| l.channel == Channel::MobileApp)
        .unwrap();
    assert_eq!(app.per_transaction, Fen::from_yuan(200_000).unwrap());
    assert_eq!(app.per_day, Fen::from_yuan(500_000).unwrap());
    // The hotline and system batches pay out nothing.
    for ch in [Channel::Hotline, Channel::Batch, Channel::MachineInterface] {
        assert!(limits.iter().all(|l| l.channel != ch), "{ch}");
    }
    // Used as the access module expects.
    let one = Fen::from_yuan(1).unwrap();
    assert!(crate::access::check_channel_limit(Channel::Zlb, one, Fen::ZERO, limits).is_ok());
    assert!(crate::access::check_channel_limit(Channel::Hotline, one, Fen::ZERO, limits).is_err());
}

#[test]
fn access_values_are_checked() {
    let msg = single_issue(
        &[("password_min_length = 10", "password_min_length = 6")],
        "access.password_min_length",
        IssueKind::OutOfBounds,
    );
    assert!(msg.contains("must be from 8 to 64"), "{msg}");
    single_issue(
        &[("password_min_classes = 3", "password_min_classes = 5")],
        "access.password_min_classes",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[("password_rotation_days = 90", "password_rotation_days = 0")],
        "access.password_rotation_days",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[("lockout_threshold = 5", "lockout_threshold = \"5\"")],
        "access.lockout_threshold",
        IssueKind::Unparsable,
    );
    single_issue(
        &[("lockout_minutes = 30", "lockout_minutes = -1")],
        "access.lockout_minutes",
        IssueKind::OutOfBounds,
    );
    let msg = single_issue(
        &[(
            "session_absolute_minutes = 480",
            "session_absolute_minutes = 20",
        )],
        "access.session_absolute_minutes",
        IssueKind::Contradictory,
    );
    assert!(msg.contains("access.session_idle_minutes (30)"), "{msg}");
    single_issue(
        &[("otp_ttl_seconds = 300", "otp_ttl_seconds = 30")],
        "access.otp_ttl_seconds",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[("otp_max_attempts = 5", "otp_max_attempts = 0")],
        "access.otp_max_attempts",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[("otp_resend_seconds = 60", "otp_resend_seconds = 1")],
        "access.otp_resend_seconds",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[("otp_daily_cap = 10", "otp_daily_cap = 1000")],
        "access.otp_daily_cap",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[("login_attempts_per_minute = 20", "")],
        "access.login_attempts_per_minute",
        IssueKind::Missing,
    );
    // The whole section is required.
    let start = QUZHOU_POLICY.find("[access]").unwrap();
    let end = QUZHOU_POLICY.find("[[channel_limits]]").unwrap();
    let without = format!("{}{}", &QUZHOU_POLICY[..start], &QUZHOU_POLICY[end..]);
    let err = Policy::from_toml(&without).unwrap_err();
    assert_eq!(err.issues().len(), 1, "{err}");
    assert_eq!(err.issues()[0].path, "access");
    assert_eq!(err.issues()[0].kind, IssueKind::Missing);
    // Unknown keys are refused.
    let text = edited(&[(
        "otp_daily_cap = 10",
        "otp_daily_cap = 10\notp_weekly_cap = 30",
    )]);
    let err = Policy::from_toml(&text).unwrap_err();
    assert!(err.to_string().contains("otp_weekly_cap"), "{err}");
}

#[test]
fn channel_limits_are_checked() {
    let msg = single_issue(
        &[("channel = \"03\"", "channel = \"13\"")],
        "channel_limits[2].channel",
        IssueKind::Unparsable,
    );
    assert!(msg.contains("channel code"), "{msg}");
    single_issue(
        &[("channel = \"03\"", "channel = 3")],
        "channel_limits[2].channel",
        IssueKind::Unparsable,
    );
    let msg = single_issue(
        &[("channel = \"04\"", "channel = \"03\"")],
        "channel_limits[3].channel",
        IssueKind::Contradictory,
    );
    assert!(msg.contains("channel_limits[2]"), "{msg}");
    let msg = single_issue(
        &[(
            "per_transaction = \"200000.00\"\nper_day = \"500000.00\"",
            "per_transaction = \"200000.00\"\nper_day = \"100000.00\"",
        )],
        "channel_limits[2].per_day",
        IssueKind::Contradictory,
    );
    assert!(
        msg.contains("channel_limits[2].per_transaction (200000.00)"),
        "{msg}"
    );
    single_issue(
        &[(
            "per_transaction = \"50000.00\"",
            "per_transaction = \"0.00\"",
        )],
        "channel_limits[6].per_transaction",
        IssueKind::OutOfBounds,
    );
    single_issue(
        &[("per_day = \"5000000.00\"", "per_day = 5000000")],
        "channel_limits[0].per_day",
        IssueKind::Unparsable,
    );
    // At least one row.
    let start = QUZHOU_POLICY.find("[[channel_limits]]").unwrap();
    let err = Policy::from_toml(&QUZHOU_POLICY[..start]).unwrap_err();
    assert_eq!(err.issues().len(), 1, "{err}");
    assert_eq!(err.issues()[0].path, "channel_limits");
    assert_eq!(err.issues()[0].kind, IssueKind::Missing);
    let empty = format!("channel_limits = []\n{}", &QUZHOU_POLICY[..start]);
    let err = Policy::from_toml(&empty).unwrap_err();
    assert_eq!(err.issues()[0].kind, IssueKind::EmptyHistory);
}
