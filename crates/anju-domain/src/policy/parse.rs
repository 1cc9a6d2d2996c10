//! Reading a policy file: serde takes the shape (and refuses unknown keys), then every
//! value is converted and checked here, collecting all problems with their paths.
//!
//! Values are first read as raw [`toml::Value`]s so that a wrongly typed or malformed
//! value becomes a [`PolicyIssue`] with its path instead of stopping the whole parse.

use jiff::SignedDuration;
use jiff::civil::Date;
use serde::Deserialize;
use toml::Value;

use super::error::{IssueKind, PolicyError, PolicyIssue};
use super::retirement::{RetirementRules, RetirementSchedule};
use super::rules::{
    Centre, ContributionRule, DayCountBasis, DepositRate, FLEXIBLE_MAX_RATIO, FlexibleResidence,
    InterestRule, LoanLimits, LoanRate, LoanServicing, MAX_LOAN_TERM_YEARS, MAX_LOAN_TO_VALUE,
    MAX_PAYMENT_DEADLINE_DAYS, MIN_WORKING_AGE, NATIONAL_MAX_RATIO, NATIONAL_MIN_RATIO,
    PenaltyBase, RatioRange, RenovationRule, WithdrawalRule,
};
use crate::access::{
    AccessRules, ChannelLimit, LockoutPolicy, OtpRules, PasswordPolicy, SessionPolicy,
};
use crate::codes::Channel;
use crate::money::{Fen, Rate, Rounding};

/// A raw field: absent, or any TOML value still to be checked.
type Field = Option<Value>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    centre: Option<RawCentre>,
    contribution: Option<Vec<RawContribution>>,
    deposit_rate: Option<Vec<RawDepositRate>>,
    interest: Option<RawInterest>,
    loan_rate: Option<Vec<RawLoanRate>>,
    loan_limits: Option<Vec<RawLoanLimits>>,
    loan_servicing: Option<Vec<RawLoanServicing>>,
    retirement: Option<RawRetirement>,
    withdrawal: Option<Vec<RawWithdrawal>>,
    access: Option<RawAccess>,
    channel_limits: Option<Vec<RawChannelLimit>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCentre {
    code: Field,
    name: Field,
    name_en: Field,
    region_code: Field,
    policy_version: Field,
    regulation_2026_effective: Field,
    flexible_employment_from: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContribution {
    effective: Field,
    unit_ratio_min: Field,
    unit_ratio_max: Field,
    member_ratio_min: Field,
    member_ratio_max: Field,
    base_floor: Field,
    base_cap: Field,
    rounding: Field,
    payment_deadline_days_after_payday: Field,
    flexible_ratio_min: Field,
    flexible_ratio_max: Field,
    flexible_min_age: Field,
    flexible_max_age_male: Field,
    flexible_max_age_female: Field,
    flexible_residence: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepositRate {
    effective: Field,
    annual: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterest {
    day_count_basis: Field,
    settlement_month: Field,
    settlement_day: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoanRate {
    effective: Field,
    first_le5: Field,
    first_gt5: Field,
    second_le5: Field,
    second_gt5: Field,
    reprice_existing_on: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoanLimits {
    effective: Field,
    max_amount_single: Field,
    max_amount_couple: Field,
    max_amount_second_home_single: Field,
    max_amount_second_home_couple: Field,
    max_ratio_first_home: Field,
    max_ratio_second_home: Field,
    repayment_capacity_pct: Field,
    balance_multiple: Field,
    min_continuous_months: Field,
    max_term_years: Field,
    term_beyond_retirement_years: Field,
    max_loans_per_family: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoanServicing {
    effective: Field,
    penalty_multiplier_pct: Field,
    penalty_base: Field,
    grace_days: Field,
    special_mention_from: Field,
    substandard_from: Field,
    doubtful_from: Field,
    loss_from: Field,
    prepayment_min_amount: Field,
    prepayment_min_months_after_disbursement: Field,
    prepayment_max_per_year: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWithdrawal {
    effective: Field,
    purchase_window_months: Field,
    build_repair_window_months: Field,
    rent_monthly_limit: Field,
    rent_interval_months: Field,
    rent_yearly_limit: Field,
    rent_min_income_share_pct: Field,
    loan_repayment_interval_months: Field,
    renewal_window_months: Field,
    left_job_sealed_months: Field,
    renovation_max_pct: Field,
    renovation_max_amount: Field,
    renovation_interval_years: Field,
    property_fee_interval_months: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    password_min_length: Field,
    password_min_classes: Field,
    password_rotation_days: Field,
    lockout_threshold: Field,
    lockout_minutes: Field,
    session_idle_minutes: Field,
    session_absolute_minutes: Field,
    otp_ttl_seconds: Field,
    otp_max_attempts: Field,
    otp_resend_seconds: Field,
    otp_daily_cap: Field,
    login_attempts_per_minute: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannelLimit {
    channel: Field,
    per_transaction: Field,
    per_day: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetirement {
    male: Option<RawSchedule>,
    female_cadre: Option<RawSchedule>,
    female_worker: Option<RawSchedule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    base_age_months: Field,
    first_birth_month: Field,
    step_birth_months: Field,
    max_delay_months: Field,
}

/// Every section of a valid policy.
pub(super) struct Sections {
    pub centre: Centre,
    pub contributions: Vec<ContributionRule>,
    pub deposit_rates: Vec<DepositRate>,
    pub interest: InterestRule,
    pub loan_rates: Vec<LoanRate>,
    pub loan_limits: Vec<LoanLimits>,
    pub loan_servicing: Vec<LoanServicing>,
    pub retirement: RetirementRules,
    pub withdrawals: Vec<WithdrawalRule>,
    pub access: AccessRules,
    pub channel_limits: Vec<ChannelLimit>,
}

/// Parses and validates a policy file.
pub(super) fn parse(text: &str) -> Result<Sections, PolicyError> {
    let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Syntax {
        message: e.to_string().trim_end().to_owned(),
    })?;
    let mut c = Check::default();

    let centre = centre(&mut c, raw.centre.as_ref());
    let contributions = history(
        &mut c,
        "contribution",
        raw.contribution.as_deref(),
        |r| &r.effective,
        contribution,
    );
    let deposit_rates = history(
        &mut c,
        "deposit_rate",
        raw.deposit_rate.as_deref(),
        |r| &r.effective,
        deposit_rate,
    );
    let interest = interest(&mut c, raw.interest.as_ref());
    let loan_rates = history(
        &mut c,
        "loan_rate",
        raw.loan_rate.as_deref(),
        |r| &r.effective,
        loan_rate,
    );
    if let Some(rows) = &loan_rates {
        check_repricing_order(&mut c, rows);
    }
    let loan_limits = history(
        &mut c,
        "loan_limits",
        raw.loan_limits.as_deref(),
        |r| &r.effective,
        loan_limits,
    );
    let loan_servicing = history(
        &mut c,
        "loan_servicing",
        raw.loan_servicing.as_deref(),
        |r| &r.effective,
        loan_servicing,
    );
    let retirement = retirement(&mut c, raw.retirement.as_ref());
    let withdrawals = history(
        &mut c,
        "withdrawal",
        raw.withdrawal.as_deref(),
        |r| &r.effective,
        withdrawal,
    );
    let access = access(&mut c, raw.access.as_ref());
    let channel_limits = channel_limits(&mut c, raw.channel_limits.as_deref());

    match (
        centre,
        contributions,
        deposit_rates,
        interest,
        loan_rates,
        loan_limits,
        loan_servicing,
        retirement,
        withdrawals,
        access,
        channel_limits,
    ) {
        (
            Some(centre),
            Some(contributions),
            Some(deposit_rates),
            Some(interest),
            Some(loan_rates),
            Some(loan_limits),
            Some(loan_servicing),
            Some(retirement),
            Some(withdrawals),
            Some(access),
            Some(channel_limits),
        ) if c.issues.is_empty() => Ok(Sections {
            centre,
            contributions,
            deposit_rates,
            interest,
            loan_rates,
            loan_limits,
            loan_servicing,
            retirement,
            withdrawals,
            access,
            channel_limits,
        }),
        _ => {
            debug_assert!(
                !c.issues.is_empty(),
                "every missing section records an issue"
            );
            Err(PolicyError::Invalid { issues: c.issues })
        }
    }
}

fn centre(c: &mut Check, raw: Option<&RawCentre>) -> Option<Centre> {
    let Some(raw) = raw else {
        c.push(
            "centre",
            None,
            IssueKind::Missing,
            "the [centre] section is required",
        );
        return None;
    };
    let code = c.digits("centre.code", &raw.code, 15);
    let region_code = c.digits("centre.region_code", &raw.region_code, 6);
    let name = c.text("centre.name", &raw.name);
    let name_en = c.text("centre.name_en", &raw.name_en);
    let policy_version = c.text("centre.policy_version", &raw.policy_version);
    let regulation_2026_effective = c.date(
        "centre.regulation_2026_effective",
        &raw.regulation_2026_effective,
    );
    let flexible_employment_from = c.date(
        "centre.flexible_employment_from",
        &raw.flexible_employment_from,
    );
    if let (Some(code), Some(region)) = (&code, &region_code)
        && !code.starts_with(region.as_str())
    {
        c.push(
            "centre.code",
            raw.code.as_ref(),
            IssueKind::Contradictory,
            format!("must start with centre.region_code ({region})"),
        );
    }
    Some(Centre {
        code: code?,
        name: name?,
        name_en: name_en?,
        region_code: region_code?,
        policy_version: policy_version?,
        regulation_2026_effective: regulation_2026_effective?,
        flexible_employment_from: flexible_employment_from?,
    })
}

fn contribution(
    c: &mut Check,
    i: usize,
    raw: &RawContribution,
    effective: Option<Date>,
) -> Option<ContributionRule> {
    let p = |key: &str| format!("contribution[{i}].{key}");
    let national = (
        NATIONAL_MIN_RATIO,
        NATIONAL_MAX_RATIO,
        "the national bounds",
    );
    let unit_ratio = c.ratio_range(
        (&p("unit_ratio_min"), &raw.unit_ratio_min),
        (&p("unit_ratio_max"), &raw.unit_ratio_max),
        national,
    );
    let member_ratio = c.ratio_range(
        (&p("member_ratio_min"), &raw.member_ratio_min),
        (&p("member_ratio_max"), &raw.member_ratio_max),
        national,
    );
    let flexible_ratio = c.ratio_range(
        (&p("flexible_ratio_min"), &raw.flexible_ratio_min),
        (&p("flexible_ratio_max"), &raw.flexible_ratio_max),
        (
            NATIONAL_MIN_RATIO,
            FLEXIBLE_MAX_RATIO,
            "one share's national minimum to both shares' national maximum",
        ),
    );
    let base_floor = c.positive_fen(&p("base_floor"), &raw.base_floor);
    let base_cap = c.positive_fen(&p("base_cap"), &raw.base_cap);
    c.at_least(
        (&p("base_cap"), &raw.base_cap, base_cap),
        (&p("base_floor"), base_floor),
    );
    let rounding = c.rounding(&p("rounding"), &raw.rounding);
    let deadline = c.count(
        &p("payment_deadline_days_after_payday"),
        &raw.payment_deadline_days_after_payday,
        (0, MAX_PAYMENT_DEADLINE_DAYS),
        "REG Art. 19: remit within 5 days of payday",
    );
    let min_age = c.count(
        &p("flexible_min_age"),
        &raw.flexible_min_age,
        (MIN_WORKING_AGE, 100),
        "the legal working age is 16",
    );
    let max_male = c.count(
        &p("flexible_max_age_male"),
        &raw.flexible_max_age_male,
        (1, 100),
        "an age in years",
    );
    let max_female = c.count(
        &p("flexible_max_age_female"),
        &raw.flexible_max_age_female,
        (1, 100),
        "an age in years",
    );
    for (key, max, field) in [
        (
            "flexible_max_age_male",
            max_male,
            &raw.flexible_max_age_male,
        ),
        (
            "flexible_max_age_female",
            max_female,
            &raw.flexible_max_age_female,
        ),
    ] {
        if let (Some(min), Some(max)) = (min_age, max)
            && max <= min
        {
            c.push(
                p(key),
                field.as_ref(),
                IssueKind::Contradictory,
                format!("must be above {} ({min})", p("flexible_min_age")),
            );
        }
    }
    // Optional: policies written before the rule existed mean "anyone".
    let residence = match &raw.flexible_residence {
        None => Some(FlexibleResidence::Any),
        Some(value) => match value.clone().try_into::<FlexibleResidence>() {
            Ok(r) => Some(r),
            Err(_) => {
                c.push(
                    p("flexible_residence"),
                    Some(value),
                    IssueKind::Unparsable,
                    "must be \"any\", \"household-registration\" or \"household-or-social-security\"",
                );
                None
            }
        },
    };
    Some(ContributionRule {
        effective: effective?,
        unit_ratio: unit_ratio?,
        member_ratio: member_ratio?,
        base_floor: base_floor?,
        base_cap: base_cap?,
        rounding: rounding?,
        payment_deadline_days_after_payday: deadline?,
        flexible_ratio: flexible_ratio?,
        flexible_min_age: min_age?,
        flexible_max_age_male: max_male?,
        flexible_max_age_female: max_female?,
        flexible_residence: residence?,
    })
}

fn deposit_rate(
    c: &mut Check,
    i: usize,
    raw: &RawDepositRate,
    effective: Option<Date>,
) -> Option<DepositRate> {
    let annual = c.annual_rate(&format!("deposit_rate[{i}].annual"), &raw.annual);
    Some(DepositRate {
        effective: effective?,
        annual: annual?,
    })
}

fn interest(c: &mut Check, raw: Option<&RawInterest>) -> Option<InterestRule> {
    let Some(raw) = raw else {
        c.push(
            "interest",
            None,
            IssueKind::Missing,
            "the [interest] section is required",
        );
        return None;
    };
    let basis = match c.integer("interest.day_count_basis", &raw.day_count_basis) {
        Some(360) => Some(DayCountBasis::Days360),
        Some(365) => Some(DayCountBasis::Days365),
        Some(_) => {
            c.push(
                "interest.day_count_basis",
                raw.day_count_basis.as_ref(),
                IssueKind::OutOfBounds,
                "must be 360 or 365",
            );
            None
        }
        None => None,
    };
    let month = c.count(
        "interest.settlement_month",
        &raw.settlement_month,
        (1, 12),
        "a month",
    );
    let day = c.count(
        "interest.settlement_day",
        &raw.settlement_day,
        (1, 31),
        "a day of the month",
    );
    let month = month.and_then(|m| i8::try_from(m).ok());
    let day = day.and_then(|d| i8::try_from(d).ok());
    if let (Some(m), Some(d)) = (month, day)
        // 2023 is a common year: the settlement day must exist in every year.
        && Date::new(2023, m, d).is_err()
    {
        c.push(
            "interest.settlement_day",
            raw.settlement_day.as_ref(),
            IssueKind::Contradictory,
            format!("does not exist in every year in month {m} (interest.settlement_month)"),
        );
        return None;
    }
    Some(InterestRule {
        day_count_basis: basis?,
        settlement_month: month?,
        settlement_day: day?,
    })
}

fn loan_rate(
    c: &mut Check,
    i: usize,
    raw: &RawLoanRate,
    effective: Option<Date>,
) -> Option<LoanRate> {
    let p = |key: &str| format!("loan_rate[{i}].{key}");
    let first_le5 = c.annual_rate(&p("first_le5"), &raw.first_le5);
    let first_gt5 = c.annual_rate(&p("first_gt5"), &raw.first_gt5);
    let second_le5 = c.annual_rate(&p("second_le5"), &raw.second_le5);
    let second_gt5 = c.annual_rate(&p("second_gt5"), &raw.second_gt5);
    let reprice = c.date(&p("reprice_existing_on"), &raw.reprice_existing_on);
    // Longer terms and second homes never cost less: catches swapped columns.
    c.at_least(
        (&p("first_gt5"), &raw.first_gt5, first_gt5),
        (&p("first_le5"), first_le5),
    );
    c.at_least(
        (&p("second_gt5"), &raw.second_gt5, second_gt5),
        (&p("second_le5"), second_le5),
    );
    c.at_least(
        (&p("second_le5"), &raw.second_le5, second_le5),
        (&p("first_le5"), first_le5),
    );
    c.at_least(
        (&p("second_gt5"), &raw.second_gt5, second_gt5),
        (&p("first_gt5"), first_gt5),
    );
    if let (Some(eff), Some(rep)) = (effective, reprice)
        && rep < eff
    {
        c.push(
            p("reprice_existing_on"),
            raw.reprice_existing_on.as_ref(),
            IssueKind::Contradictory,
            format!("must not be before {} ({eff})", p("effective")),
        );
    }
    Some(LoanRate {
        effective: effective?,
        first_le5: first_le5?,
        first_gt5: first_gt5?,
        second_le5: second_le5?,
        second_gt5: second_gt5?,
        reprice_existing_on: reprice?,
    })
}

/// Repricing dates may repeat (several changes in one year all reprice on the next
/// January 1) but must not go back.
fn check_repricing_order(c: &mut Check, rows: &[LoanRate]) {
    for (i, pair) in rows.windows(2).enumerate() {
        if let [prev, next] = pair
            && next.reprice_existing_on < prev.reprice_existing_on
        {
            c.push(
                format!("loan_rate[{}].reprice_existing_on", i + 1),
                Some(&Value::String(next.reprice_existing_on.to_string())),
                IssueKind::NotIncreasing,
                format!(
                    "must not be before loan_rate[{i}].reprice_existing_on ({})",
                    prev.reprice_existing_on
                ),
            );
        }
    }
}

fn loan_limits(
    c: &mut Check,
    i: usize,
    raw: &RawLoanLimits,
    effective: Option<Date>,
) -> Option<LoanLimits> {
    let p = |key: &str| format!("loan_limits[{i}].{key}");
    let single = c.positive_fen(&p("max_amount_single"), &raw.max_amount_single);
    let couple = c.positive_fen(&p("max_amount_couple"), &raw.max_amount_couple);
    let second_single = c.positive_fen(
        &p("max_amount_second_home_single"),
        &raw.max_amount_second_home_single,
    );
    let second_couple = c.positive_fen(
        &p("max_amount_second_home_couple"),
        &raw.max_amount_second_home_couple,
    );
    c.at_least(
        (&p("max_amount_couple"), &raw.max_amount_couple, couple),
        (&p("max_amount_single"), single),
    );
    c.at_least(
        (
            &p("max_amount_second_home_couple"),
            &raw.max_amount_second_home_couple,
            second_couple,
        ),
        (&p("max_amount_second_home_single"), second_single),
    );
    c.at_most(
        (
            &p("max_amount_second_home_single"),
            &raw.max_amount_second_home_single,
            second_single,
        ),
        (&p("max_amount_single"), single),
    );
    c.at_most(
        (
            &p("max_amount_second_home_couple"),
            &raw.max_amount_second_home_couple,
            second_couple,
        ),
        (&p("max_amount_couple"), couple),
    );
    let ltv = (
        Rate::from_units(1),
        MAX_LOAN_TO_VALUE,
        "above 0 % and at most 80 %",
    );
    let ratio_first = c.bounded_rate(&p("max_ratio_first_home"), &raw.max_ratio_first_home, ltv);
    let ratio_second = c.bounded_rate(&p("max_ratio_second_home"), &raw.max_ratio_second_home, ltv);
    c.at_most(
        (
            &p("max_ratio_second_home"),
            &raw.max_ratio_second_home,
            ratio_second,
        ),
        (&p("max_ratio_first_home"), ratio_first),
    );
    let capacity = c.bounded_rate(
        &p("repayment_capacity_pct"),
        &raw.repayment_capacity_pct,
        (
            Rate::from_units(1),
            Rate::from_percent(100),
            "above 0 % and at most 100 %",
        ),
    );
    let multiple = c.multiple(&p("balance_multiple"), &raw.balance_multiple);
    let months = c.count(
        &p("min_continuous_months"),
        &raw.min_continuous_months,
        (0, 360),
        "months",
    );
    let term = c.count(
        &p("max_term_years"),
        &raw.max_term_years,
        (1, MAX_LOAN_TERM_YEARS),
        "housing loans run at most 30 years",
    );
    let beyond = c.count(
        &p("term_beyond_retirement_years"),
        &raw.term_beyond_retirement_years,
        (0, MAX_LOAN_TERM_YEARS),
        "years",
    );
    let loans = c.count(
        &p("max_loans_per_family"),
        &raw.max_loans_per_family,
        (1, 9),
        "a count of loans",
    );
    Some(LoanLimits {
        effective: effective?,
        max_amount_single: single?,
        max_amount_couple: couple?,
        max_amount_second_home_single: second_single?,
        max_amount_second_home_couple: second_couple?,
        max_ratio_first_home: ratio_first?,
        max_ratio_second_home: ratio_second?,
        repayment_capacity_pct: capacity?,
        balance_multiple: multiple?,
        min_continuous_months: months?,
        max_term_years: term?,
        term_beyond_retirement_years: beyond?,
        max_loans_per_family: loans?,
    })
}

fn loan_servicing(
    c: &mut Check,
    i: usize,
    raw: &RawLoanServicing,
    effective: Option<Date>,
) -> Option<LoanServicing> {
    let p = |key: &str| format!("loan_servicing[{i}].{key}");
    // 100 % to 1000 %: a penalty rate is at least the contract rate (the PBoC rule adds
    // 30–50 %, HG charges 1.5×), never more than ten times it.
    let multiplier = c.bounded_rate(
        &p("penalty_multiplier_pct"),
        &raw.penalty_multiplier_pct,
        (
            Rate::from_percent(100),
            Rate::from_percent(1000),
            "from 100 % to 1000 % of the contract rate (1.5× is \"150\")",
        ),
    );
    let base = c
        .present(&p("penalty_base"), &raw.penalty_base)
        .and_then(|v| {
            let base = v.as_str().and_then(PenaltyBase::from_code);
            if base.is_none() {
                c.push(
                    p("penalty_base"),
                    Some(v),
                    IssueKind::Unparsable,
                    "must be \"principal\" or \"principal-and-interest\"",
                );
            }
            base
        });
    let grace = c.count(&p("grace_days"), &raw.grace_days, (0, 90), "days, 0 to 90");
    let thresholds = [
        ("special_mention_from", &raw.special_mention_from),
        ("substandard_from", &raw.substandard_from),
        ("doubtful_from", &raw.doubtful_from),
        ("loss_from", &raw.loss_from),
    ];
    let mut days: Vec<Option<u32>> = Vec::with_capacity(thresholds.len());
    for (key, field) in thresholds {
        days.push(c.count(&p(key), field, (1, 3650), "overdue days, 1 to 3650"));
    }
    for k in 1..thresholds.len() {
        if let (Some(Some(prev)), Some(Some(next))) = (days.get(k - 1), days.get(k))
            && next <= prev
        {
            c.push(
                p(thresholds[k].0),
                thresholds[k].1.as_ref(),
                IssueKind::NotIncreasing,
                format!("must be above {} ({prev})", p(thresholds[k - 1].0)),
            );
        }
    }
    let min_amount = c.positive_fen(&p("prepayment_min_amount"), &raw.prepayment_min_amount);
    let min_months = c.count(
        &p("prepayment_min_months_after_disbursement"),
        &raw.prepayment_min_months_after_disbursement,
        (0, 120),
        "months, 0 to 120",
    );
    let per_year = c.count(
        &p("prepayment_max_per_year"),
        &raw.prepayment_max_per_year,
        (1, 12),
        "prepayments a year, 1 to 12",
    );
    let day = |k: usize| days.get(k).copied().flatten();
    Some(LoanServicing {
        effective: effective?,
        penalty_multiplier: multiplier?,
        penalty_base: base?,
        grace_days: grace?,
        special_mention_from: day(0)?,
        substandard_from: day(1)?,
        doubtful_from: day(2)?,
        loss_from: day(3)?,
        prepayment_min_amount: min_amount?,
        prepayment_min_months_after_disbursement: min_months?,
        prepayment_max_per_year: per_year?,
    })
}

fn withdrawal(
    c: &mut Check,
    i: usize,
    raw: &RawWithdrawal,
    effective: Option<Date>,
) -> Option<WithdrawalRule> {
    let p = |key: &str| format!("withdrawal[{i}].{key}");
    let months = |c: &mut Check, key: &str, field: &Field| {
        c.count(&p(key), field, (1, 120), "months, 1 to 120")
    };
    let purchase = months(c, "purchase_window_months", &raw.purchase_window_months);
    let build = months(
        c,
        "build_repair_window_months",
        &raw.build_repair_window_months,
    );
    let rent_limit = c.positive_fen(&p("rent_monthly_limit"), &raw.rent_monthly_limit);
    let rent_interval = months(c, "rent_interval_months", &raw.rent_interval_months);
    let rent_year = c.positive_fen(&p("rent_yearly_limit"), &raw.rent_yearly_limit);
    let share = raw.rent_min_income_share_pct.as_ref().map(|_| {
        c.bounded_rate(
            &p("rent_min_income_share_pct"),
            &raw.rent_min_income_share_pct,
            (
                Rate::from_units(1),
                Rate::from_percent(100),
                "above 0 % and at most 100 %",
            ),
        )
    });
    let loan = months(
        c,
        "loan_repayment_interval_months",
        &raw.loan_repayment_interval_months,
    );
    let renewal = months(c, "renewal_window_months", &raw.renewal_window_months);
    let sealed = months(c, "left_job_sealed_months", &raw.left_job_sealed_months);
    let reno_fields = [
        &raw.renovation_max_pct,
        &raw.renovation_max_amount,
        &raw.renovation_interval_years,
    ];
    let renovation = if reno_fields.iter().all(|f| f.is_none()) {
        Some(None)
    } else {
        let pct = c.bounded_rate(
            &p("renovation_max_pct"),
            &raw.renovation_max_pct,
            (
                Rate::from_units(1),
                Rate::from_percent(100),
                "above 0 % and at most 100 %",
            ),
        );
        let amount = c.positive_fen(&p("renovation_max_amount"), &raw.renovation_max_amount);
        let years = c.count(
            &p("renovation_interval_years"),
            &raw.renovation_interval_years,
            (1, 30),
            "years, 1 to 30",
        );
        match (pct, amount, years) {
            (Some(max_share), Some(max_amount), Some(interval_years)) => {
                Some(Some(RenovationRule {
                    max_share,
                    max_amount,
                    interval_years,
                }))
            }
            _ => None,
        }
    };
    let fee = match &raw.property_fee_interval_months {
        None => Some(None),
        Some(_) => months(
            c,
            "property_fee_interval_months",
            &raw.property_fee_interval_months,
        )
        .map(Some),
    };
    if let (Some(limit), Some(year)) = (rent_limit, rent_year)
        && year < limit
    {
        c.push(
            p("rent_yearly_limit"),
            raw.rent_yearly_limit.as_ref(),
            IssueKind::Contradictory,
            "must be at least rent_monthly_limit",
        );
    }
    Some(WithdrawalRule {
        effective: effective?,
        purchase_window_months: purchase?,
        build_repair_window_months: build?,
        rent_monthly_limit: rent_limit?,
        rent_interval_months: rent_interval?,
        rent_yearly_limit: rent_year?,
        rent_min_income_share: match share {
            None => None,
            Some(s) => Some(s?),
        },
        loan_repayment_interval_months: loan?,
        renewal_window_months: renewal?,
        left_job_sealed_months: sealed?,
        renovation: renovation?,
        property_fee_interval_months: fee?,
    })
}

fn access(c: &mut Check, raw: Option<&RawAccess>) -> Option<AccessRules> {
    let Some(raw) = raw else {
        c.push(
            "access",
            None,
            IssueKind::Missing,
            "the [access] section is required",
        );
        return None;
    };
    let p = |key: &str| format!("access.{key}");
    let min_length = c.count(
        &p("password_min_length"),
        &raw.password_min_length,
        (8, 64),
        "characters; 8 is the least any password policy accepts",
    );
    let min_classes = c.count(
        &p("password_min_classes"),
        &raw.password_min_classes,
        (2, 4),
        "of upper-case, lower-case, digit and symbol",
    );
    let rotation = c.count(
        &p("password_rotation_days"),
        &raw.password_rotation_days,
        (1, 365),
        "days",
    );
    let threshold = c.count(
        &p("lockout_threshold"),
        &raw.lockout_threshold,
        (1, 20),
        "failed sign-ins",
    );
    let lock_minutes = c.count(
        &p("lockout_minutes"),
        &raw.lockout_minutes,
        (1, 1440),
        "minutes, at most a day",
    );
    let idle = c.count(
        &p("session_idle_minutes"),
        &raw.session_idle_minutes,
        (1, 240),
        "minutes",
    );
    let absolute = c.count(
        &p("session_absolute_minutes"),
        &raw.session_absolute_minutes,
        (1, 1440),
        "minutes, at most a day",
    );
    if let (Some(idle), Some(absolute)) = (idle, absolute)
        && absolute < idle
    {
        c.push(
            p("session_absolute_minutes"),
            raw.session_absolute_minutes.as_ref(),
            IssueKind::Contradictory,
            format!("must be at least access.session_idle_minutes ({idle})"),
        );
    }
    let ttl = c.count(
        &p("otp_ttl_seconds"),
        &raw.otp_ttl_seconds,
        (60, 1800),
        "seconds, 1 to 30 minutes",
    );
    let attempts = c.count(
        &p("otp_max_attempts"),
        &raw.otp_max_attempts,
        (1, 10),
        "entries per code",
    );
    let resend = c.count(
        &p("otp_resend_seconds"),
        &raw.otp_resend_seconds,
        (30, 3600),
        "seconds",
    );
    let cap = c.count(
        &p("otp_daily_cap"),
        &raw.otp_daily_cap,
        (1, 100),
        "codes a day",
    );
    let rate = c.count(
        &p("login_attempts_per_minute"),
        &raw.login_attempts_per_minute,
        (1, 600),
        "attempts a minute",
    );
    let minutes = |m: u32| SignedDuration::from_mins(i64::from(m));
    let seconds = |s: u32| SignedDuration::from_secs(i64::from(s));
    let absolute = absolute.filter(|a| idle.is_none_or(|i| *a >= i));
    Some(AccessRules::new(
        PasswordPolicy::new(min_length?, min_classes?, rotation?),
        LockoutPolicy::new(threshold?, minutes(lock_minutes?)),
        SessionPolicy::new(minutes(idle?), minutes(absolute?)),
        OtpRules::new(seconds(ttl?), attempts?, seconds(resend?), cap?),
        rate?,
    ))
}

fn channel_limits(c: &mut Check, rows: Option<&[RawChannelLimit]>) -> Option<Vec<ChannelLimit>> {
    let Some(rows) = rows else {
        c.push(
            "channel_limits",
            None,
            IssueKind::Missing,
            "at least one [[channel_limits]] row is required",
        );
        return None;
    };
    if rows.is_empty() {
        c.push(
            "channel_limits",
            None,
            IssueKind::EmptyHistory,
            "at least one [[channel_limits]] row is required",
        );
        return None;
    }
    let mut built: Vec<ChannelLimit> = Vec::with_capacity(rows.len());
    let mut seen: Vec<(usize, Channel)> = Vec::with_capacity(rows.len());
    let mut all_ok = true;
    for (i, raw) in rows.iter().enumerate() {
        let p = |key: &str| format!("channel_limits[{i}].{key}");
        let channel = c.convert(
            &p("channel"),
            &raw.channel,
            "a service channel code (办理渠道), quoted: \"03\"",
            |s| Channel::from_code(s).ok(),
        );
        if let Some(channel) = channel {
            if let Some((j, _)) = seen.iter().find(|(_, ch)| *ch == channel) {
                c.push(
                    p("channel"),
                    raw.channel.as_ref(),
                    IssueKind::Contradictory,
                    format!(
                        "channel {} already has limits in channel_limits[{j}]",
                        channel.code()
                    ),
                );
            }
            seen.push((i, channel));
        }
        let per_transaction = c.positive_fen(&p("per_transaction"), &raw.per_transaction);
        let per_day = c.positive_fen(&p("per_day"), &raw.per_day);
        c.at_least(
            (&p("per_day"), &raw.per_day, per_day),
            (&p("per_transaction"), per_transaction),
        );
        match (channel, per_transaction, per_day) {
            (Some(ch), Some(t), Some(d)) if d >= t => built.push(ChannelLimit::new(ch, t, d)),
            _ => all_ok = false,
        }
    }
    all_ok.then_some(built)
}

fn retirement(c: &mut Check, raw: Option<&RawRetirement>) -> Option<RetirementRules> {
    let Some(raw) = raw else {
        c.push(
            "retirement",
            None,
            IssueKind::Missing,
            "the [retirement] section is required",
        );
        return None;
    };
    let male = schedule(c, "retirement.male", raw.male.as_ref());
    let female_cadre = schedule(c, "retirement.female_cadre", raw.female_cadre.as_ref());
    let female_worker = schedule(c, "retirement.female_worker", raw.female_worker.as_ref());
    Some(RetirementRules {
        male: male?,
        female_cadre: female_cadre?,
        female_worker: female_worker?,
    })
}

fn schedule(c: &mut Check, prefix: &str, raw: Option<&RawSchedule>) -> Option<RetirementSchedule> {
    let Some(raw) = raw else {
        c.push(
            prefix,
            None,
            IssueKind::Missing,
            format!("the [{prefix}] section is required"),
        );
        return None;
    };
    let p = |key: &str| format!("{prefix}.{key}");
    let base = c.count(
        &p("base_age_months"),
        &raw.base_age_months,
        (1, 1200),
        "an age in months",
    );
    let first = c.year_month(&p("first_birth_month"), &raw.first_birth_month);
    let step = c.count(
        &p("step_birth_months"),
        &raw.step_birth_months,
        (1, 120),
        "months",
    );
    let max = c.count(
        &p("max_delay_months"),
        &raw.max_delay_months,
        (0, 120),
        "months",
    );
    Some(RetirementSchedule {
        base_age_months: base?,
        first_birth_month: first?,
        step_birth_months: step?,
        max_delay_months: max?,
    })
}

/// Checks an effective-dated history: present, not empty, effective dates strictly
/// increasing; builds every row. `None` when anything is wrong.
fn history<R, T>(
    c: &mut Check,
    section: &'static str,
    rows: Option<&[R]>,
    effective_of: impl Fn(&R) -> &Field,
    build: impl Fn(&mut Check, usize, &R, Option<Date>) -> Option<T>,
) -> Option<Vec<T>> {
    let Some(rows) = rows else {
        c.push(
            section,
            None,
            IssueKind::Missing,
            format!("at least one [[{section}]] row is required"),
        );
        return None;
    };
    if rows.is_empty() {
        c.push(
            section,
            None,
            IssueKind::EmptyHistory,
            format!("at least one [[{section}]] row is required"),
        );
        return None;
    }
    let mut built = Vec::with_capacity(rows.len());
    let mut all_ok = true;
    let mut previous: Option<(usize, Date)> = None;
    for (i, row) in rows.iter().enumerate() {
        let path = format!("{section}[{i}].effective");
        let effective = c.date(&path, effective_of(row));
        if let Some(date) = effective {
            if let Some((j, prev)) = previous
                && date <= prev
            {
                c.push(
                    path,
                    effective_of(row).as_ref(),
                    IssueKind::NotIncreasing,
                    format!("must be later than {section}[{j}].effective ({prev}): versions may not overlap"),
                );
            }
            previous = Some((i, date));
        }
        match build(c, i, row, effective) {
            Some(t) => built.push(t),
            None => all_ok = false,
        }
    }
    all_ok.then_some(built)
}

/// Collects issues while converting raw values.
#[derive(Default)]
struct Check {
    issues: Vec<PolicyIssue>,
}

impl Check {
    fn push(
        &mut self,
        path: impl Into<String>,
        value: Option<&Value>,
        kind: IssueKind,
        rule: impl Into<String>,
    ) {
        self.issues.push(PolicyIssue {
            path: path.into(),
            value: value.map(ToString::to_string),
            kind,
            rule: rule.into(),
        });
    }

    /// The value, or a `Missing` issue.
    fn present<'v>(&mut self, path: &str, field: &'v Field) -> Option<&'v Value> {
        if field.is_none() {
            self.push(path, None, IssueKind::Missing, "is required");
        }
        field.as_ref()
    }

    /// A string value, converted by `convert`; `expected` describes the format.
    fn convert<T>(
        &mut self,
        path: &str,
        field: &Field,
        expected: &str,
        convert: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let value = self.present(path, field)?;
        let converted = value.as_str().and_then(convert);
        if converted.is_none() {
            self.push(
                path,
                Some(value),
                IssueKind::Unparsable,
                format!("must be {expected}"),
            );
        }
        converted
    }

    fn text(&mut self, path: &str, field: &Field) -> Option<String> {
        self.convert(path, field, "a non-empty string", |s| {
            (!s.trim().is_empty()).then(|| s.to_owned())
        })
    }

    fn digits(&mut self, path: &str, field: &Field, n: usize) -> Option<String> {
        let expected = format!("a string of exactly {n} ASCII digits");
        self.convert(path, field, &expected, |s| {
            (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.to_owned())
        })
    }

    /// A date: the string `"YYYY-MM-DD"` or a bare TOML local date.
    fn date(&mut self, path: &str, field: &Field) -> Option<Date> {
        if let Some(Value::Datetime(dt)) = field
            && dt.time.is_none()
            && dt.offset.is_none()
            && let Some(d) = dt.date
            && let Some(date) =
                date_from_parts(i32::from(d.year), i32::from(d.month), i32::from(d.day))
        {
            return Some(date);
        }
        self.convert(path, field, "a date written \"YYYY-MM-DD\"", parse_date)
    }

    /// A month `"YYYY-MM"`, as the first day of that month.
    fn year_month(&mut self, path: &str, field: &Field) -> Option<Date> {
        self.convert(path, field, "a month written \"YYYY-MM\"", |s| {
            parse_date(&format!("{s}-01")).filter(|_| s.len() == 7)
        })
    }

    /// A positive yuan amount written as a string.
    fn positive_fen(&mut self, path: &str, field: &Field) -> Option<Fen> {
        let fen = self.convert(
            path,
            field,
            "a yuan amount with at most 2 decimals, quoted: \"2270.00\"",
            |s| Fen::parse_yuan(s).ok(),
        )?;
        if fen <= Fen::ZERO {
            self.push(
                path,
                field.as_ref(),
                IssueKind::OutOfBounds,
                "must be greater than zero",
            );
            return None;
        }
        Some(fen)
    }

    /// A percentage written as a string.
    fn rate(&mut self, path: &str, field: &Field) -> Option<Rate> {
        self.convert(
            path,
            field,
            "a percentage with at most 7 decimals, quoted: \"1.5\"",
            |s| {
                (s.trim() == s)
                    .then(|| Rate::parse_percent(s).ok())
                    .flatten()
            },
        )
    }

    /// A percentage within `[lo, hi]`.
    fn bounded_rate(
        &mut self,
        path: &str,
        field: &Field,
        (lo, hi, why): (Rate, Rate, &str),
    ) -> Option<Rate> {
        let rate = self.rate(path, field)?;
        if rate < lo || rate > hi {
            self.push(
                path,
                field.as_ref(),
                IssueKind::OutOfBounds,
                format!("must be {why}"),
            );
            return None;
        }
        Some(rate)
    }

    /// An annual interest rate: above 0 % and below 100 %.
    fn annual_rate(&mut self, path: &str, field: &Field) -> Option<Rate> {
        let below_whole = Rate::from_units(Rate::UNITS_PER_WHOLE - 1);
        self.bounded_rate(
            path,
            field,
            (
                Rate::from_units(1),
                below_whole,
                "above 0 % and below 100 % (write percent: \"1.5\")",
            ),
        )
    }

    /// A min/max pair of ratios, each within `bounds`, with min ≤ max.
    fn ratio_range(
        &mut self,
        (min_path, min_field): (&str, &Field),
        (max_path, max_field): (&str, &Field),
        (lo, hi, why): (Rate, Rate, &str),
    ) -> Option<RatioRange> {
        let why = format!("between {lo} and {hi} ({why})");
        let min = self.bounded_rate(min_path, min_field, (lo, hi, &why));
        let max = self.bounded_rate(max_path, max_field, (lo, hi, &why));
        let (min, max) = (min?, max?);
        if min > max {
            self.push(
                max_path,
                max_field.as_ref(),
                IssueKind::Contradictory,
                format!("must be at least {min_path} ({})", min.percent_string()),
            );
            return None;
        }
        Some(RatioRange { min, max })
    }

    /// A positive decimal multiple written as a string (`"15"`, `"12.5"`), held as a
    /// rate of the whole (15× = 1500 %).
    fn multiple(&mut self, path: &str, field: &Field) -> Option<Rate> {
        let multiple = self.convert(path, field, "a decimal multiple, quoted: \"15\"", |s| {
            let as_percent = Rate::parse_percent(s).ok().filter(|_| s.trim() == s)?;
            as_percent.units().checked_mul(100).map(Rate::from_units)
        })?;
        if multiple <= Rate::ZERO {
            self.push(
                path,
                field.as_ref(),
                IssueKind::OutOfBounds,
                "must be greater than zero",
            );
            return None;
        }
        Some(multiple)
    }

    /// A whole number written as a bare TOML integer.
    fn integer(&mut self, path: &str, field: &Field) -> Option<i64> {
        let value = self.present(path, field)?;
        let n = value.as_integer();
        if n.is_none() {
            self.push(
                path,
                Some(value),
                IssueKind::Unparsable,
                "must be a whole number (unquoted)",
            );
        }
        n
    }

    /// A whole number within `[lo, hi]`.
    fn count(&mut self, path: &str, field: &Field, (lo, hi): (u32, u32), why: &str) -> Option<u32> {
        let n = self.integer(path, field)?;
        match u32::try_from(n) {
            Ok(n) if (lo..=hi).contains(&n) => Some(n),
            _ => {
                self.push(
                    path,
                    field.as_ref(),
                    IssueKind::OutOfBounds,
                    format!("must be from {lo} to {hi} ({why})"),
                );
                None
            }
        }
    }

    fn rounding(&mut self, path: &str, field: &Field) -> Option<Rounding> {
        let value = self.present(path, field)?;
        match value.clone().try_into::<Rounding>() {
            Ok(rounding) => Some(rounding),
            Err(_) => {
                self.push(
                    path,
                    Some(value),
                    IssueKind::Unparsable,
                    "must be \"half-up-fen\", \"half-up-yuan\" or \"down-fen\"",
                );
                None
            }
        }
    }

    /// Requires `value ≥ other` when both parsed; the issue goes on `value`'s path.
    fn at_least<T: PartialOrd + Show>(
        &mut self,
        (path, field, value): (&str, &Field, Option<T>),
        (other_path, other): (&str, Option<T>),
    ) {
        if let (Some(value), Some(other)) = (value, other)
            && value < other
        {
            self.push(
                path,
                field.as_ref(),
                IssueKind::Contradictory,
                format!("must be at least {other_path} ({})", other.show()),
            );
        }
    }

    /// Requires `value ≤ other` when both parsed; the issue goes on `value`'s path.
    fn at_most<T: PartialOrd + Show>(
        &mut self,
        (path, field, value): (&str, &Field, Option<T>),
        (other_path, other): (&str, Option<T>),
    ) {
        if let (Some(value), Some(other)) = (value, other)
            && value > other
        {
            self.push(
                path,
                field.as_ref(),
                IssueKind::Contradictory,
                format!("must be at most {other_path} ({})", other.show()),
            );
        }
    }
}

/// The file form of a parsed value, for messages.
trait Show {
    fn show(&self) -> String;
}

impl Show for Fen {
    fn show(&self) -> String {
        self.plain()
    }
}

impl Show for Rate {
    fn show(&self) -> String {
        self.percent_string()
    }
}

/// Parses exactly `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let year = s.get(0..4)?.parse().ok()?;
    let month = s.get(5..7)?.parse().ok()?;
    let day = s.get(8..10)?.parse().ok()?;
    date_from_parts(year, month, day)
}

fn date_from_parts(year: i32, month: i32, day: i32) -> Option<Date> {
    let year = i16::try_from(year).ok()?;
    let month = i8::try_from(month).ok()?;
    let day = i8::try_from(day).ok()?;
    Date::new(year, month, day).ok()
}
