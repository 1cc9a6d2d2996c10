#![allow(clippy::unwrap_used)]

use jiff::civil::{Date, date};
use num_bigint::BigInt;
use num_traits::ToPrimitive;

use super::*;

fn rate(pct: &str) -> Rate {
    Rate::parse_percent(pct).unwrap()
}

fn yuan(text: &str) -> Fen {
    Fen::parse_yuan(text).unwrap()
}

/// Checks every invariant of the module doc on a schedule without a first date.
fn check_invariants(p: Fen, annual: Rate, n: u32, method: Method, rows: &[Row]) {
    let ctx = format!("P={} rate={annual} n={n} {method}", p.plain());
    assert_eq!(rows.len(), n as usize, "{ctx}: row count");
    let total = Fen::checked_sum(rows.iter().map(|r| r.principal)).unwrap();
    assert_eq!(total, p, "{ctx}: principal sum");
    assert_eq!(
        rows.last().unwrap().remaining,
        Fen::ZERO,
        "{ctx}: ends at 0"
    );
    let m = installment(p, annual, n).unwrap();
    let mut before = p;
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.period as usize, i + 1, "{ctx}");
        assert_eq!(row.due, None, "{ctx}");
        assert_eq!(
            row.interest,
            monthly_interest(before, annual).unwrap(),
            "{ctx}: interest of period {}",
            row.period
        );
        assert_eq!(
            row.payment,
            row.principal.checked_add(row.interest).unwrap()
        );
        assert!(!row.principal.is_negative(), "{ctx}");
        assert_eq!(row.remaining, before.checked_sub(row.principal).unwrap());
        assert!(!row.remaining.is_negative(), "{ctx}");
        let last = row.period == n;
        let payoff = row.remaining.is_zero();
        if method == Method::EqualInstallment && !last && !payoff && !before.is_zero() {
            assert_eq!(
                row.payment, m,
                "{ctx}: installment of period {}",
                row.period
            );
        }
        if last {
            assert_eq!(row.principal, before, "{ctx}: last period clears the rest");
        }
        before = row.remaining;
    }
}

#[test]
fn known_equal_installment_example() {
    let p = yuan("1000000.00");
    assert_eq!(installment(p, rate("3.1"), 360).unwrap(), yuan("4270.16"));
    let rows = schedule(p, rate("3.1"), 360, Method::EqualInstallment, None).unwrap();
    assert_eq!(rows[0].payment, yuan("4270.16"));
    assert_eq!(rows[0].interest, yuan("2583.33"));
    assert_eq!(rows[0].principal, yuan("1686.83"));
    check_invariants(p, rate("3.1"), 360, Method::EqualInstallment, &rows);
}

#[test]
fn known_equal_principal_example() {
    let p = yuan("1000000.00");
    let rows = schedule(p, rate("3.1"), 360, Method::EqualPrincipal, None).unwrap();
    assert_eq!(rows[0].principal, yuan("2777.78"));
    assert_eq!(rows[0].interest, yuan("2583.33"));
    assert_eq!(rows[0].payment, yuan("5361.11"));
    // 359 × 2,777.78 = 997,223.02, so the last period takes 2,776.98.
    assert_eq!(rows[359].principal, yuan("2776.98"));
    check_invariants(p, rate("3.1"), 360, Method::EqualPrincipal, &rows);
}

#[test]
fn zero_rate_splits_principal_with_last_remainder() {
    let p = yuan("1000.00");
    let rows = schedule(p, Rate::ZERO, 3, Method::EqualInstallment, None).unwrap();
    let parts: Vec<_> = rows.iter().map(|r| r.payment.plain()).collect();
    assert_eq!(parts, ["333.33", "333.33", "333.34"]);
    assert!(rows.iter().all(|r| r.interest.is_zero()));
    check_invariants(p, Rate::ZERO, 3, Method::EqualInstallment, &rows);
    // Half-up: 2 fen / 4 = 0.5 fen → 1 fen per period, paid off in period 2.
    let rows = schedule(Fen::new(2), Rate::ZERO, 4, Method::EqualInstallment, None).unwrap();
    let parts: Vec<_> = rows.iter().map(|r| r.principal.fen()).collect();
    assert_eq!(parts, [1, 1, 0, 0]);
    check_invariants(Fen::new(2), Rate::ZERO, 4, Method::EqualInstallment, &rows);
}

#[test]
fn tiny_equal_principal_loan_is_paid_off_early_not_overpaid() {
    // 5 fen / 8 = 0.625 → 1 fen a period; the sixth period would overpay.
    let rows = schedule(Fen::new(5), rate("3.1"), 8, Method::EqualPrincipal, None).unwrap();
    let parts: Vec<_> = rows.iter().map(|r| r.principal.fen()).collect();
    assert_eq!(parts, [1, 1, 1, 1, 1, 0, 0, 0]);
    check_invariants(Fen::new(5), rate("3.1"), 8, Method::EqualPrincipal, &rows);
}

#[test]
fn one_month_loan_pays_principal_plus_interest() {
    for method in Method::ALL {
        let rows = schedule(yuan("1200.00"), rate("12"), 1, method, None).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].principal, yuan("1200.00"));
        assert_eq!(rows[0].interest, yuan("12.00"));
        assert_eq!(rows[0].payment, yuan("1212.00"));
    }
    assert_eq!(
        installment(yuan("1200.00"), rate("12"), 1).unwrap(),
        yuan("1212.00")
    );
}

#[test]
fn interest_rounds_half_up() {
    // 50 fen × 1 %/month = 0.5 fen → 1 fen; 49 fen → 0.49 → 0.
    assert_eq!(
        monthly_interest(Fen::new(50), rate("12")).unwrap(),
        Fen::new(1)
    );
    assert_eq!(
        monthly_interest(Fen::new(49), rate("12")).unwrap(),
        Fen::ZERO
    );
    // 36 fen × 100 % × 5 / 360 = 0.5 fen → 1 fen.
    assert_eq!(
        day_interest(Fen::new(36), rate("100"), 5).unwrap(),
        Fen::new(1)
    );
}

#[test]
fn first_due_is_first_repay_day_strictly_after_disbursement() {
    assert_eq!(first_due(date(2026, 1, 5), 20).unwrap(), date(2026, 1, 20));
    assert_eq!(first_due(date(2026, 1, 20), 20).unwrap(), date(2026, 2, 20));
    assert_eq!(first_due(date(2026, 1, 25), 20).unwrap(), date(2026, 2, 20));
    assert_eq!(first_due(date(2026, 12, 31), 1).unwrap(), date(2027, 1, 1));
    assert_eq!(first_due(date(2026, 1, 31), 28).unwrap(), date(2026, 2, 28));
    assert_eq!(
        first_due(date(2026, 1, 5), 29),
        Err(LoanError::RepayDay { day: 29 })
    );
}

#[test]
fn first_period_by_actual_days_equal_installment() {
    let p = yuan("1000000.00");
    let r = rate("3.1");
    let plain = schedule(p, r, 360, Method::EqualInstallment, None).unwrap();
    let rows = schedule(
        p,
        r,
        360,
        Method::EqualInstallment,
        Some((date(2026, 1, 5), 20)),
    )
    .unwrap();
    // 15 days: 1,000,000 × 3.1 % × 15 / 360 = 1,291.666… → 1,291.67.
    assert_eq!(rows[0].due, Some(date(2026, 1, 20)));
    assert_eq!(rows[0].interest, yuan("1291.67"));
    assert_eq!(rows[0].principal, plain[0].principal);
    assert_eq!(rows[0].payment, yuan("2978.50"));
    // From then on everything is the plain schedule, with due dates month by month.
    for (a, b) in rows.iter().zip(&plain).skip(1) {
        assert_eq!(
            (a.payment, a.principal, a.interest, a.remaining),
            (b.payment, b.principal, b.interest, b.remaining)
        );
    }
    assert_eq!(rows[1].due, Some(date(2026, 2, 20)));
    assert_eq!(rows[11].due, Some(date(2026, 12, 20)));
    assert_eq!(rows[12].due, Some(date(2027, 1, 20)));
    assert_eq!(rows[359].due, Some(date(2055, 12, 20)));
    assert_eq!(rows[359].remaining, Fen::ZERO);
}

#[test]
fn first_period_by_actual_days_equal_principal() {
    let p = yuan("360000.00");
    let rows = schedule(
        p,
        rate("3.6"),
        360,
        Method::EqualPrincipal,
        Some((date(2026, 1, 20), 20)),
    )
    .unwrap();
    // 31 days: 360,000 × 3.6 % × 31 / 360 = 1,116.00.
    assert_eq!(rows[0].due, Some(date(2026, 2, 20)));
    assert_eq!(rows[0].principal, yuan("1000.00"));
    assert_eq!(rows[0].interest, yuan("1116.00"));
    assert_eq!(rows[0].payment, yuan("2116.00"));
    // Period 2: 359,000 × 0.3 % = 1,077.00.
    assert_eq!(rows[1].interest, yuan("1077.00"));
    let total = Fen::checked_sum(rows.iter().map(|r| r.principal)).unwrap();
    assert_eq!(total, p);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let p = yuan("1000.00");
    let r = rate("3.1");
    let m = Method::EqualInstallment;
    assert_eq!(
        schedule(p, r, 0, m, None),
        Err(LoanError::Months { months: 0 })
    );
    assert_eq!(
        schedule(p, r, 361, m, None),
        Err(LoanError::Months { months: 361 })
    );
    assert_eq!(
        schedule(Fen::ZERO, r, 12, m, None),
        Err(LoanError::Principal { value: Fen::ZERO })
    );
    assert!(matches!(
        schedule(Fen::new(-1), r, 12, m, None),
        Err(LoanError::Principal { .. })
    ));
    assert!(matches!(
        schedule(p, rate("100.0000001"), 12, m, None),
        Err(LoanError::Rate { .. })
    ));
    assert!(matches!(
        schedule(p, Rate::from_units(-1), 12, m, None),
        Err(LoanError::Rate { .. })
    ));
    assert!(schedule(p, rate("100"), 12, m, None).is_ok());
    assert_eq!(
        schedule(p, r, 12, m, Some((date(2026, 1, 1), 0))),
        Err(LoanError::RepayDay { day: 0 })
    );
    assert_eq!(
        schedule(p, r, 12, m, Some((date(2026, 1, 1), 29))),
        Err(LoanError::RepayDay { day: 29 })
    );
    assert!(matches!(
        Method::from_code("bullet"),
        Err(LoanError::BadMethod { .. })
    ));
    // Huge amounts are an overflow error, not a panic.
    for method in Method::ALL {
        assert!(matches!(
            schedule(Fen::MAX, rate("100"), 1, method, None),
            Err(LoanError::Money(_))
        ));
    }
    assert!(matches!(
        schedule(p, r, 12, m, Some((Date::MAX, 1))),
        Err(LoanError::Date(_))
    ));
}

#[test]
fn method_codes_round_trip() {
    for m in Method::ALL {
        assert_eq!(Method::from_code(m.code()).unwrap(), m);
        assert_eq!(m.to_string().parse::<Method>().unwrap(), m);
    }
    assert_eq!(
        serde_json::to_string(&Method::EqualPrincipal).unwrap(),
        "\"equal-principal\""
    );
}

#[test]
fn row_json_has_plain_amounts_and_due_only_when_known() {
    let rows = schedule(
        yuan("12345.67"),
        rate("3.1"),
        12,
        Method::EqualPrincipal,
        None,
    )
    .unwrap();
    let json = serde_json::to_string(&rows[0]).unwrap();
    assert_eq!(
        json,
        r#"{"period":1,"payment":"1060.70","principal":"1028.81","interest":"31.89","remaining":"11316.86"}"#
    );
    let rows = schedule(
        yuan("12345.67"),
        rate("3.1"),
        12,
        Method::EqualPrincipal,
        Some((date(2026, 3, 1), 2)),
    )
    .unwrap();
    let json = serde_json::to_string(&rows[0]).unwrap();
    assert!(
        json.starts_with(r#"{"period":1,"due":"2026-03-02","#),
        "{json}"
    );
}

// ---- An independent second implementation ---------------------------------------------

/// Deterministic xorshift64*.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Half-up of a non-negative quotient in plain i128, written without `Rounding`.
fn ref_round(num: i128, den: i128) -> i64 {
    assert!(num >= 0 && den > 0);
    i64::try_from((2 * num + den) / (2 * den)).unwrap()
}

/// M = P·r / (1 − (1+r)^−n) in decimal fixed point with 150 digits: (1+r)ⁿ by repeated
/// multiplication, its reciprocal, then the quotient — a different route from `installment`.
fn ref_installment(p: i64, units: i64, n: u32) -> i64 {
    if units == 0 {
        return ref_round(i128::from(p), i128::from(n));
    }
    let scale = num_traits::pow(BigInt::from(10), 150);
    // r in fixed point: units / (12 × 10⁹).
    let r = BigInt::from(units) * &scale / BigInt::from(12_000_000_000_i64);
    let one_plus_r = &scale + &r;
    let mut growth = scale.clone();
    for _ in 0..n {
        growth = growth * &one_plus_r / &scale;
    }
    let discount = &scale * &scale / growth; // (1+r)^−n
    let m_scaled = BigInt::from(p) * r * &scale / (&scale - discount); // M × scale, in fen
    let half = &scale / 2;
    let m: BigInt = (m_scaled + half) / &scale;
    m.to_i64().unwrap()
}

/// The schedule written again from the issue's wording (no first date).
fn ref_schedule(p: i64, units: i64, n: u32, method: Method) -> Vec<(i64, i64, i64, i64)> {
    let nominal = match method {
        Method::EqualInstallment => ref_installment(p, units, n),
        Method::EqualPrincipal => ref_round(i128::from(p), i128::from(n)),
    };
    let mut out = Vec::new();
    let mut rem = p;
    for k in 1..=n {
        let interest = ref_round(i128::from(rem) * i128::from(units), 12 * 1_000_000_000);
        let principal = if k == n {
            rem
        } else {
            let want = match method {
                Method::EqualInstallment => nominal - interest,
                Method::EqualPrincipal => nominal,
            };
            want.min(rem)
        };
        rem -= principal;
        out.push((principal + interest, principal, interest, rem));
    }
    out
}

#[test]
fn matches_an_independent_implementation_on_random_loans() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut checked = 0;
    for case in 0..3000 {
        let p = match case % 4 {
            0 => 1 + rng.below(1_000),               // a few yuan: rounding corners
            1 => 1 + rng.below(100_000_000),         // up to 1 m yuan
            _ => 100_000 + rng.below(2_000_000_000), // 1,000 to 20 m yuan
        };
        let units = match case % 7 {
            0 => 0,
            1 => rng.below(1_000_000_001) as i64, // anything up to 100 %
            2 => rate("3.1").units(),
            _ => rng.below(100_000_000) as i64, // up to 10 %, 10⁻⁷ % steps
        };
        let n = 1 + rng.below(360) as u32;
        let method = Method::ALL[(case % 2) as usize];
        let p = i64::try_from(p).unwrap();
        let annual = Rate::from_units(units);
        let rows = schedule(Fen::new(p), annual, n, method, None).unwrap();
        let expect = ref_schedule(p, units, n, method);
        let got: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.payment.fen(),
                    r.principal.fen(),
                    r.interest.fen(),
                    r.remaining.fen(),
                )
            })
            .collect();
        assert_eq!(
            got, expect,
            "case {case}: P={p} units={units} n={n} {method}"
        );
        if method == Method::EqualInstallment {
            assert_eq!(
                installment(Fen::new(p), annual, n).unwrap().fen(),
                ref_installment(p, units, n),
                "case {case}"
            );
        }
        check_invariants(Fen::new(p), annual, n, method, &rows);
        checked += 1;
    }
    assert_eq!(checked, 3000);
}
