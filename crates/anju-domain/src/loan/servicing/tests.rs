#![allow(clippy::unwrap_used)]

use jiff::civil::date;

use super::*;
use crate::policy::{Policy, QUZHOU_POLICY};

fn rate(pct: &str) -> Rate {
    Rate::parse_percent(pct).unwrap()
}

fn yuan(text: &str) -> Fen {
    Fen::parse_yuan(text).unwrap()
}

fn servicing() -> LoanServicing {
    *Policy::from_toml(QUZHOU_POLICY)
        .unwrap()
        .loan_servicing_on(date(2026, 6, 15))
        .unwrap()
}

// ---- risk classification --------------------------------------------------------------

#[test]
fn risk_classes_change_at_the_quzhou_thresholds() {
    let rule = servicing();
    let expected = [
        (0, RiskClass::Normal),
        (1, RiskClass::SpecialMention),
        (90, RiskClass::SpecialMention),
        (91, RiskClass::Substandard),
        (180, RiskClass::Substandard),
        (181, RiskClass::Doubtful),
        (360, RiskClass::Doubtful),
        (361, RiskClass::Loss),
        (5000, RiskClass::Loss),
    ];
    for (days, class) in expected {
        assert_eq!(classify(days, &rule), class, "{days} days overdue");
    }
}

#[test]
fn risk_class_codes_and_labels() {
    let codes: Vec<_> = RiskClass::ALL.iter().map(|c| c.code()).collect();
    assert_eq!(codes, ["01", "02", "03", "04", "05"]);
    let zh: Vec<_> = RiskClass::ALL.iter().map(|c| c.label_zh()).collect();
    assert_eq!(zh, ["正常", "关注", "次级", "可疑", "损失"]);
    for c in RiskClass::ALL {
        assert_eq!(RiskClass::from_code(c.code()), Some(c));
    }
    assert_eq!(RiskClass::from_code("99"), None);
}

// ---- overdue days and penalty ---------------------------------------------------------

#[test]
fn overdue_days_wait_for_the_grace_then_count_from_the_due_date() {
    let due = date(2026, 3, 20);
    assert_eq!(overdue_days(due, 0, date(2026, 3, 19)), 0);
    assert_eq!(overdue_days(due, 0, due), 0);
    assert_eq!(overdue_days(due, 0, date(2026, 3, 21)), 1);
    assert_eq!(overdue_days(due, 0, date(2026, 4, 19)), 30);
    assert_eq!(overdue_days(due, 3, date(2026, 3, 23)), 0);
    assert_eq!(overdue_days(due, 3, date(2026, 3, 24)), 4);
}

#[test]
fn penalty_is_base_times_rate_times_multiplier_by_days_over_360() {
    // 10,000.00 × 3.1 % × 1.5 × 30 / 360 = 38.75 exactly.
    assert_eq!(
        penalty(yuan("10000.00"), rate("3.1"), rate("150"), 30).unwrap(),
        yuan("38.75")
    );
    // 12,345.67 × 3.1 % × 1.5 × 7 / 360 = 11.162543… → 11.16.
    assert_eq!(
        penalty(yuan("12345.67"), rate("3.1"), rate("150"), 7).unwrap(),
        yuan("11.16")
    );
    assert_eq!(
        penalty(yuan("10000.00"), rate("3.1"), rate("150"), 0).unwrap(),
        Fen::ZERO
    );
}

#[test]
fn penalty_rounds_once_over_the_whole_period() {
    // 1.00 × 3.6 % × 1.5 = 0.015 fen a day: each day rounds to 0, but 100 days are
    // 1.5 fen, half-up 2 fen.
    let one_day = penalty(yuan("1.00"), rate("3.6"), rate("150"), 1).unwrap();
    assert_eq!(one_day, Fen::ZERO);
    assert_eq!(
        penalty(yuan("1.00"), rate("3.6"), rate("150"), 100).unwrap(),
        Fen::new(2)
    );
}

#[test]
fn penalty_refuses_a_negative_base() {
    let err = penalty(yuan("-1.00"), rate("3.1"), rate("150"), 3).unwrap_err();
    assert!(
        matches!(err, LoanError::Amount { field: "base", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("base = -1.00"), "{err}");
}

// ---- schedule_from --------------------------------------------------------------------

#[test]
fn schedule_from_starts_with_a_full_month_on_the_first_due_date() {
    let p = yuan("100000.00");
    let rows = schedule_from(
        p,
        rate("3.1"),
        12,
        Method::EqualInstallment,
        date(2026, 5, 20),
    )
    .unwrap();
    assert_eq!(rows.len(), 12);
    assert_eq!(rows[0].period, 1);
    assert_eq!(rows[0].due, Some(date(2026, 5, 20)));
    assert_eq!(rows[11].due, Some(date(2027, 4, 20)));
    // A full month: 100,000.00 × 3.1 % / 12 = 258.333… → 258.33.
    assert_eq!(rows[0].interest, yuan("258.33"));
    let plain = schedule(p, rate("3.1"), 12, Method::EqualInstallment, None).unwrap();
    for (a, b) in rows.iter().zip(&plain) {
        assert_eq!(
            (a.period, a.payment, a.principal, a.interest, a.remaining),
            (b.period, b.payment, b.principal, b.interest, b.remaining)
        );
    }
}

// ---- prepayment -----------------------------------------------------------------------

const LAST_DUE: (i16, i8, i8) = (2026, 4, 20);
const TODAY: (i16, i8, i8) = (2026, 5, 5); // 15 days after the last due date
const NEXT_DUE: (i16, i8, i8) = (2026, 5, 20);

fn prepay_ei(amount: &str, mode: PrepayMode) -> Result<Prepayment, LoanError> {
    prepay(
        yuan("200000.00"),
        yuan(amount),
        rate("3.1"),
        Method::EqualInstallment,
        120,
        date(NEXT_DUE.0, NEXT_DUE.1, NEXT_DUE.2),
        date(LAST_DUE.0, LAST_DUE.1, LAST_DUE.2),
        date(TODAY.0, TODAY.1, TODAY.2),
        mode,
    )
}

#[test]
fn payoff_gives_an_empty_schedule_and_interest_by_days() {
    let p = prepay_ei("200000.00", PrepayMode::Reamortise).unwrap();
    // 200,000.00 × 3.1 % × 15 / 360 = 258.333… → 258.33.
    assert_eq!(p.interest, yuan("258.33"));
    assert_eq!(p.principal, yuan("200000.00"));
    assert!(p.new_schedule.is_empty());
}

#[test]
fn reamortise_keeps_the_end_date_and_lowers_the_payment() {
    let p = prepay_ei("50000.00", PrepayMode::Reamortise).unwrap();
    assert_eq!(p.interest, yuan("258.33"));
    assert_eq!(p.principal, yuan("50000.00"));
    let rows = &p.new_schedule;
    assert_eq!(rows.len(), 120);
    // The old loan's last installment: 120 months after the last due date.
    assert_eq!(rows[119].due, Some(date(2036, 4, 20)));
    assert_eq!(rows[0].due, Some(date(2026, 5, 20)));
    // Old installment of 200,000.00 over 120 months at 3.1 %: 1,940.46; the rest,
    // 150,000.00, over the same 120 months: 1,455.35.
    assert_eq!(
        installment(yuan("200000.00"), rate("3.1"), 120).unwrap(),
        yuan("1940.46")
    );
    assert_eq!(rows[1].payment, yuan("1455.35"));
    // The first period's interest up to today was paid with the prepayment: it charges
    // 150,000.00 × 3.1 % × 15 / 360 = 193.75 for the 15 days from today.
    assert_eq!(rows[0].interest, yuan("193.75"));
    assert_eq!(
        rows[0].principal,
        yuan("1455.35").checked_sub(yuan("387.50")).unwrap()
    );
    assert_eq!(rows[119].remaining, Fen::ZERO);
    let total = Fen::checked_sum(rows.iter().map(|r| r.principal)).unwrap();
    assert_eq!(total, yuan("150000.00"));
}

#[test]
fn shorten_term_gives_fewer_months_and_no_higher_payment() {
    let old = installment(yuan("200000.00"), rate("3.1"), 120).unwrap();
    let p = prepay_ei("50000.00", PrepayMode::ShortenTerm).unwrap();
    let rows = &p.new_schedule;
    // The fewest months whose installment on 150,000.00 is at most 1,940.46: 87
    // (1,927.36; 86 months would be 1,947.35).
    assert_eq!(rows.len(), 87);
    assert_eq!(rows[1].payment, yuan("1927.36"));
    assert!(rows[1].payment <= old);
    assert_eq!(
        installment(yuan("150000.00"), rate("3.1"), 86).unwrap(),
        yuan("1947.35")
    );
    assert_eq!(rows[86].due, Some(date(2033, 7, 20)));
    assert_eq!(rows[86].remaining, Fen::ZERO);
}

#[test]
fn shorten_term_keeps_the_principal_part_for_equal_principal() {
    let p = prepay(
        yuan("200000.00"),
        yuan("50000.00"),
        rate("3.1"),
        Method::EqualPrincipal,
        120,
        date(2026, 5, 20),
        date(2026, 4, 20),
        date(2026, 4, 20),
        PrepayMode::ShortenTerm,
    )
    .unwrap();
    // Old part 200,000.00 / 120 = 1,666.67; ⌈150,000.00 / 1,666.67⌉ = 90 months, part
    // 150,000.00 / 90 = 1,666.67.
    assert_eq!(p.new_schedule.len(), 90);
    assert_eq!(p.new_schedule[0].principal, yuan("1666.67"));
    // Prepaid on the due date itself: no accrued interest, a normal full first month
    // (150,000.00 × 3.1 % / 12 = 387.50).
    assert_eq!(p.interest, Fen::ZERO);
    assert_eq!(p.new_schedule[0].interest, yuan("387.50"));
}

#[test]
fn prepayment_arguments_are_checked() {
    for amount in ["0.00", "200000.01"] {
        let err = prepay_ei(amount, PrepayMode::Reamortise).unwrap_err();
        assert!(
            matches!(
                err,
                LoanError::Amount {
                    field: "amount",
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains(&format!("amount = {amount}")),
            "{err}"
        );
    }
    let on_due = prepay(
        yuan("200000.00"),
        yuan("50000.00"),
        rate("3.1"),
        Method::EqualInstallment,
        120,
        date(2026, 5, 20),
        date(2026, 4, 20),
        date(2026, 5, 20),
        PrepayMode::Reamortise,
    )
    .unwrap_err();
    assert!(
        matches!(on_due, LoanError::DateOrder { field: "today", .. }),
        "{on_due}"
    );
    let before_last = prepay(
        yuan("200000.00"),
        yuan("50000.00"),
        rate("3.1"),
        Method::EqualInstallment,
        120,
        date(2026, 5, 20),
        date(2026, 4, 20),
        date(2026, 4, 19),
        PrepayMode::Reamortise,
    )
    .unwrap_err();
    assert!(
        before_last.to_string().contains("today = 2026-04-19"),
        "{before_last}"
    );
}

#[test]
fn prepayment_conditions_follow_the_policy() {
    let rule = servicing();
    let disbursed = date(2025, 5, 10);
    let ok = prepayment_allowed(
        &rule,
        yuan("10000.00"),
        yuan("200000.00"),
        disbursed,
        date(2026, 5, 10),
        1,
    );
    assert_eq!(ok, Ok(()));
    // Below the least amount, but a payoff may be less.
    let small = prepayment_allowed(
        &rule,
        yuan("9999.99"),
        yuan("200000.00"),
        disbursed,
        date(2026, 5, 10),
        0,
    )
    .unwrap_err();
    assert!(small.to_string().contains("amount = 9999.99"), "{small}");
    assert!(
        small.to_string().contains("prepayment_min_amount"),
        "{small}"
    );
    assert_eq!(
        prepayment_allowed(
            &rule,
            yuan("5000.00"),
            yuan("5000.00"),
            disbursed,
            date(2026, 5, 10),
            0
        ),
        Ok(())
    );
    // 12 months after disbursement: from 2026-05-10.
    let early = prepayment_allowed(
        &rule,
        yuan("10000.00"),
        yuan("200000.00"),
        disbursed,
        date(2026, 5, 9),
        0,
    )
    .unwrap_err();
    assert!(early.to_string().contains("today = 2026-05-09"), "{early}");
    assert!(early.to_string().contains("2026-05-10"), "{early}");
    // Two a year.
    let third = prepayment_allowed(
        &rule,
        yuan("10000.00"),
        yuan("200000.00"),
        disbursed,
        date(2026, 5, 10),
        2,
    )
    .unwrap_err();
    assert!(
        third.to_string().contains("prepayment_max_per_year"),
        "{third}"
    );
}

// ---- re-pricing -----------------------------------------------------------------------

#[test]
fn repricing_reuses_the_policy_rate_of_existing_loans() {
    let policy = Policy::from_toml(QUZHOU_POLICY).unwrap();
    // Signed 2024-06-01 (2.85 % over 5 years); the 2025-05-08 rates (2.6 %) apply from
    // 2026-01-01.
    let signed = date(2024, 6, 1);
    let before = policy
        .existing_loan_rate_on(signed, date(2025, 12, 31), true, 240)
        .unwrap();
    let after = policy
        .existing_loan_rate_on(signed, date(2026, 1, 1), true, 240)
        .unwrap();
    assert_eq!((before, after), (rate("2.85"), rate("2.6")));
    let rows = schedule_from(
        yuan("300000.00"),
        after,
        200,
        Method::EqualInstallment,
        date(2026, 1, 20),
    )
    .unwrap();
    assert_eq!(
        rows[0].payment,
        installment(yuan("300000.00"), rate("2.6"), 200).unwrap()
    );
}
