use jiff::civil::date;

use super::*;
use crate::codes::Sex;
use crate::money::Fen;
use crate::sharing::{
    Area, CreditLoan, CreditReport, Department, Employment, Identity, Lease, LoanKind, Marriage,
    Property, PurchaseContract,
};

const A: &str = "330802199001011234";
const B: &str = "33080219920202222X";

fn party(id: &str, role: Role, name: &str) -> Party {
    Party {
        id_number: id.into(),
        role,
        name: Some(name.into()),
    }
}

fn contract(kind: ContractKind, buyers: &[&str]) -> PurchaseContract {
    PurchaseContract {
        contract_no: "QZ-2026-0001".into(),
        kind,
        address: "柯城区荷花街道1幢101".into(),
        region_code: "330802".into(),
        area: Area(8950),
        price: Fen::new(150_000_000),
        signed_on: date(2026, 10, 1),
        filed_on: date(2026, 10, 3),
        buyers: buyers.iter().map(|s| (*s).to_owned()).collect(),
        seller_name: "王五".into(),
        seller_account: "6222000000000001".into(),
        seller_bank: "ICBC".into(),
        cancelled: false,
    }
}

fn property(owner: &str, address: &str, region: &str) -> Property {
    Property {
        certificate_no: "浙(2026)衢州市不动产权第0000001号".into(),
        address: address.into(),
        region_code: region.into(),
        area: Area(8950),
        in_province: true,
        registered_on: date(2026, 10, 20),
        mortgaged: false,
        owners: vec![owner.into()],
    }
}

fn facts(items: Vec<(FactKey, Result<Answer, Unavailable>)>) -> FactSet {
    items.into_iter().collect()
}

fn identity(name: &str, alive: bool) -> Answer {
    Answer::Identity(Some(Identity {
        id_number: A.into(),
        name: name.into(),
        sex: Sex::Male,
        birth_date: date(1990, 1, 1),
        alive,
    }))
}

#[test]
fn purchase_needs_identity_spouse_contract_and_property() {
    let parties = [
        party(A, Role::Applicant, "张三"),
        party(B, Role::Spouse, "李四"),
    ];
    let checks = checks_for(
        ApplicationKind::WithdrawPurchase,
        &parties,
        &Claims::default(),
        date(2026, 11, 27),
        "3308",
    )
    .unwrap();
    let codes: Vec<&str> = checks.iter().map(Check::code).collect();
    assert_eq!(
        codes,
        [
            "identity",
            "identity",
            "spouse",
            "purchase-contract",
            "property-of-contract",
            "loans-on-record",
        ]
    );
    let mut queries: Vec<Query> = checks
        .iter()
        .flat_map(Check::needs)
        .map(|k| k.query)
        .collect();
    queries.sort();
    queries.dedup();
    assert_eq!(
        queries,
        [
            Query::Identity,
            Query::Marriage,
            Query::Properties,
            Query::Contracts,
            Query::Credit
        ]
    );
}

#[test]
fn missing_parties_and_claims_are_named() {
    let err = checks_for(
        ApplicationKind::WithdrawIllness,
        &[party(A, Role::Applicant, "张三")],
        &Claims::default(),
        date(2026, 11, 27),
        "3308",
    )
    .unwrap_err();
    assert_eq!(
        err,
        ClaimError::MissingClaim {
            kind: "withdrawal.illness",
            claim: "year"
        }
    );
    let err = checks_for(
        ApplicationKind::WithdrawDeath,
        &[party(A, Role::Deceased, "张三")],
        &Claims::default(),
        date(2026, 11, 27),
        "3308",
    )
    .unwrap_err();
    assert!(matches!(err, ClaimError::MissingParty { role: "heir", .. }));
}

#[test]
fn identity_checks_name_and_life() {
    let check = Check::Identity {
        subject: A.into(),
        name: Some("张三".into()),
    };
    let key = FactKey::new(Query::Identity, A);
    let v = evaluate(
        &check,
        &facts(vec![(key.clone(), Ok(identity("张三", true)))]),
    );
    assert_eq!(v.outcome, Outcome::Verified, "{v:?}");
    let v = evaluate(
        &check,
        &facts(vec![(key.clone(), Ok(identity("张叁", true)))]),
    );
    assert_eq!(v.outcome, Outcome::NotVerified);
    assert!(v.reason_zh.contains("姓名不符"), "{}", v.reason_zh);
    let v = evaluate(
        &check,
        &facts(vec![(key.clone(), Ok(identity("张三", false)))]),
    );
    assert_eq!(v.outcome, Outcome::NotVerified);
    let v = evaluate(
        &check,
        &facts(vec![(key.clone(), Ok(Answer::Identity(None)))]),
    );
    assert_eq!(v.outcome, Outcome::NotVerified);
}

#[test]
fn unavailable_wrong_kind_and_missing_never_pass() {
    let check = Check::Spouse {
        subject: A.into(),
        spouse: B.into(),
    };
    let key = FactKey::new(Query::Marriage, A);
    let down = Unavailable {
        department: Department::CivilAffairs,
        reason: "timed out after 800 ms (3 attempts)".into(),
    };
    let v = evaluate(&check, &facts(vec![(key.clone(), Err(down))]));
    assert_eq!(v.outcome, Outcome::Unavailable);
    assert!(v.reason_en.contains("timed out"), "{}", v.reason_en);
    let v = evaluate(
        &check,
        &facts(vec![(key.clone(), Ok(identity("张三", true)))]),
    );
    assert_eq!(v.outcome, Outcome::Unavailable);
    let v = evaluate(&check, &FactSet::new());
    assert_eq!(v.outcome, Outcome::Unavailable);
}

#[test]
fn spouse_must_be_the_current_spouse() {
    let check = Check::Spouse {
        subject: A.into(),
        spouse: B.into(),
    };
    let key = FactKey::new(Query::Marriage, A);
    let married = |status, spouse: &str| {
        Answer::Marriage(Marriage {
            status,
            spouse_id: Some(spouse.into()),
            spouse_name: Some("李四".into()),
            since: Some(date(2018, 5, 20)),
        })
    };
    let v = evaluate(
        &check,
        &facts(vec![(key.clone(), Ok(married(MaritalStatus::Married, B)))]),
    );
    assert_eq!(v.outcome, Outcome::Verified);
    let v = evaluate(
        &check,
        &facts(vec![(key.clone(), Ok(married(MaritalStatus::Divorced, B)))]),
    );
    assert_eq!(v.outcome, Outcome::NotVerified);
    let v = evaluate(
        &check,
        &facts(vec![(key, Ok(married(MaritalStatus::Married, A)))]),
    );
    assert_eq!(v.outcome, Outcome::NotVerified);
}

#[test]
fn property_of_contract_distinguishes_new_and_second_hand() {
    let check = Check::PropertyOfContract {
        buyer: A.into(),
        contract_no: Some("QZ-2026-0001".into()),
    };
    let set = |kind, props: Vec<Property>| {
        facts(vec![
            (
                FactKey::new(Query::Contracts, A),
                Ok(Answer::Contracts(vec![contract(kind, &[A])])),
            ),
            (
                FactKey::new(Query::Properties, A),
                Ok(Answer::Properties(props)),
            ),
        ])
    };
    assert_eq!(
        evaluate(&check, &set(ContractKind::New, vec![])).outcome,
        Outcome::Verified
    );
    assert_eq!(
        evaluate(&check, &set(ContractKind::SecondHand, vec![])).outcome,
        Outcome::NotVerified
    );
    let home = property(A, "柯城区荷花街道1幢101", "330802");
    assert_eq!(
        evaluate(&check, &set(ContractKind::SecondHand, vec![home])).outcome,
        Outcome::Verified
    );
    // A contract whose buyer is someone else is not the applicant's.
    let other = facts(vec![
        (
            FactKey::new(Query::Contracts, A),
            Ok(Answer::Contracts(vec![contract(ContractKind::New, &[B])])),
        ),
        (
            FactKey::new(Query::Properties, A),
            Ok(Answer::Properties(vec![])),
        ),
    ]);
    assert_eq!(evaluate(&check, &other).outcome, Outcome::NotVerified);
}

#[test]
fn cancelled_contract_is_refused_with_its_number() {
    let mut c = contract(ContractKind::New, &[A]);
    c.cancelled = true;
    let check = Check::PurchaseContract {
        buyer: A.into(),
        contract_no: Some(c.contract_no.clone()),
    };
    let v = evaluate(
        &check,
        &facts(vec![(
            FactKey::new(Query::Contracts, A),
            Ok(Answer::Contracts(vec![c])),
        )]),
    );
    assert_eq!(v.outcome, Outcome::NotVerified);
    assert!(v.reason_zh.contains("QZ-2026-0001"), "{}", v.reason_zh);
}

#[test]
fn rent_needs_a_current_lease_and_no_home_in_the_city() {
    let lease = Lease {
        lease_no: "ZL-1".into(),
        address: "柯城区某小区".into(),
        region_code: "330802".into(),
        monthly_rent: Fen::new(150_000),
        starts_on: date(2026, 1, 1),
        ends_on: date(2026, 12, 31),
        tenants: vec![A.into()],
    };
    let key = FactKey::new(Query::Leases, A);
    let check = |on| Check::Lease {
        tenant: A.into(),
        lease_no: None,
        on,
    };
    let set = facts(vec![(key, Ok(Answer::Leases(vec![lease])))]);
    assert_eq!(
        evaluate(&check(date(2026, 11, 27)), &set).outcome,
        Outcome::Verified
    );
    assert_eq!(
        evaluate(&check(date(2027, 1, 1)), &set).outcome,
        Outcome::NotVerified
    );

    let no_home = Check::NoHomeInCity {
        subject: A.into(),
        city_prefix: "3308".into(),
    };
    let key = FactKey::new(Query::Properties, A);
    let away = facts(vec![(
        key.clone(),
        Ok(Answer::Properties(vec![property(A, "杭州某处", "330106")])),
    )]);
    assert_eq!(evaluate(&no_home, &away).outcome, Outcome::Verified);
    let here = facts(vec![(
        key,
        Ok(Answer::Properties(vec![property(A, "衢江某处", "330803")])),
    )]);
    assert_eq!(evaluate(&no_home, &here).outcome, Outcome::NotVerified);
}

#[test]
fn credit_checks() {
    let loan = |kind, balance, overdue| CreditLoan {
        lender: "衢州银行".into(),
        kind,
        principal: Fen::new(100_000_000),
        balance: Fen::new(balance),
        monthly_payment: Fen::new(500_000),
        opened_on: date(2020, 1, 1),
        overdue_months: overdue,
        property_address: None,
    };
    let key = FactKey::new(Query::Credit, A);
    let report = |loans| {
        facts(vec![(
            key.clone(),
            Ok(Answer::Credit(CreditReport {
                loans,
                overdue_count_24m: 1,
            })),
        )])
    };
    let s = || A.to_owned();
    let clean = report(vec![loan(LoanKind::CommercialHousing, 80_000_000, 0)]);
    assert_eq!(
        evaluate(&Check::HomeLoan { subject: s() }, &clean).outcome,
        Outcome::Verified
    );
    assert_eq!(
        evaluate(&Check::NoCurrentOverdue { subject: s() }, &clean).outcome,
        Outcome::Verified
    );
    assert_eq!(
        evaluate(&Check::NoProvidentFundLoan { subject: s() }, &clean).outcome,
        Outcome::Verified
    );
    let paid_off = report(vec![loan(LoanKind::ProvidentFundHousing, 0, 0)]);
    assert_eq!(
        evaluate(&Check::HomeLoan { subject: s() }, &paid_off).outcome,
        Outcome::NotVerified
    );
    assert_eq!(
        evaluate(&Check::NoProvidentFundLoan { subject: s() }, &paid_off).outcome,
        Outcome::Verified
    );
    let bad = report(vec![
        loan(LoanKind::ProvidentFundHousing, 10, 0),
        loan(LoanKind::Car, 10, 2),
    ]);
    assert_eq!(
        evaluate(&Check::NoCurrentOverdue { subject: s() }, &bad).outcome,
        Outcome::NotVerified
    );
    assert_eq!(
        evaluate(&Check::NoProvidentFundLoan { subject: s() }, &bad).outcome,
        Outcome::NotVerified
    );
}

#[test]
fn retirement_is_by_the_date_on_record() {
    let emp = |retired_on| Employment {
        insured: false,
        employer_credit_code: None,
        employer_name: None,
        continuous_months: 360,
        last_paid_month: Some("2026-05".into()),
        retired_on,
        disability_grade: None,
        work_capacity_lost: false,
        insured_region: None,
    };
    let key = FactKey::new(Query::Employment, A);
    let check = Check::Retired {
        subject: A.into(),
        on: date(2026, 11, 27),
    };
    let with = |e| facts(vec![(key.clone(), Ok(Answer::Employment(e)))]);
    assert_eq!(
        evaluate(&check, &with(Some(emp(Some(date(2026, 6, 1)))))).outcome,
        Outcome::Verified
    );
    assert_eq!(
        evaluate(&check, &with(Some(emp(Some(date(2027, 6, 1)))))).outcome,
        Outcome::NotVerified
    );
    assert_eq!(
        evaluate(&check, &with(Some(emp(None)))).outcome,
        Outcome::NotVerified
    );
    assert_eq!(evaluate(&check, &with(None)).outcome, Outcome::NotVerified);
}

#[test]
fn kinds_and_roles_round_trip() {
    for k in ApplicationKind::ALL {
        assert_eq!(ApplicationKind::from_code(k.code()), Some(k));
    }
    assert_eq!(ApplicationKind::Loan.purpose(), Purpose::Loan);
    assert_eq!(Role::from_code("co_borrower"), Some(Role::CoBorrower));
    // Every kind lists its checks given enough parties and claims.
    let parties = [
        party(A, Role::Applicant, "张三"),
        party(A, Role::Deceased, "张三"),
        party(B, Role::Heir, "李四"),
    ];
    let claims = Claims {
        year: Some(2025),
        flexible_residence: Some(FlexibleResidence::HouseholdOrSocialSecurity),
        ..Claims::default()
    };
    for k in ApplicationKind::ALL {
        let checks = checks_for(k, &parties, &claims, date(2026, 11, 27), "3308").unwrap();
        // An "other" withdrawal is decided by staff: only the identity is checked.
        let least = if k == ApplicationKind::WithdrawOther {
            1
        } else {
            2
        };
        assert!(checks.len() >= least, "{k}: {checks:?}");
    }
}

#[test]
fn residence_by_household_or_the_citys_social_security() {
    use crate::sharing::{CancelReason, Household, HouseholdCancellation};
    let app = |rule| {
        checks_for(
            ApplicationKind::OpenFlexible,
            &[Party {
                id_number: A.into(),
                role: Role::Applicant,
                name: None,
            }],
            &Claims {
                flexible_residence: rule,
                ..Claims::default()
            },
            date(2026, 10, 8),
            "3308",
        )
    };
    assert_eq!(
        ApplicationKind::OpenFlexible.purpose(),
        Purpose::AccountOpening
    );
    // The rule is a required claim; "any" checks only the identity.
    assert!(matches!(app(None), Err(ClaimError::MissingClaim { .. })));
    assert_eq!(app(Some(FlexibleResidence::Any)).unwrap().len(), 1);
    let only_household = app(Some(FlexibleResidence::HouseholdRegistration)).unwrap();
    assert_eq!(
        only_household[1].needs(),
        vec![FactKey::new(Query::Household, A)]
    );
    let either = app(Some(FlexibleResidence::HouseholdOrSocialSecurity)).unwrap();
    let check = either[1].clone();
    assert_eq!(check.code(), "residence");
    assert_eq!(
        check.needs(),
        vec![
            FactKey::new(Query::Household, A),
            FactKey::new(Query::Employment, A)
        ]
    );
    let household = |region: &str, cancelled: bool| {
        Ok(Answer::Household(Some(Household {
            region_code: region.into(),
            region_name: format!("地区{region}"),
            since: date(2000, 1, 1),
            cancelled: cancelled.then(|| HouseholdCancellation {
                on: date(2025, 1, 1),
                reason: CancelReason::MovedAway,
            }),
        })))
    };
    let insured = |region: Option<&str>| {
        Ok(Answer::Employment(Some(Employment {
            insured: true,
            employer_credit_code: None,
            employer_name: None,
            continuous_months: 12,
            last_paid_month: Some("2026-09".into()),
            retired_on: None,
            disability_grade: None,
            work_capacity_lost: false,
            insured_region: region.map(str::to_owned),
        })))
    };
    let down = |q: Query| {
        Err(Unavailable {
            department: q.department(),
            reason: "timed out".into(),
        })
    };
    let hk = FactKey::new(Query::Household, A);
    let ek = FactKey::new(Query::Employment, A);
    let judge = |h, e| evaluate(&check, &facts(vec![(hk.clone(), h), (ek.clone(), e)]));
    // Registered in the city: verified, even with social security down.
    let v = judge(household("330802", false), down(Query::Employment));
    assert_eq!(v.outcome, Outcome::Verified, "{v:?}");
    // Registered elsewhere but insured in the city: verified, even with public security
    // down.
    let v = judge(household("330106", false), insured(Some("330803")));
    assert_eq!(v.outcome, Outcome::Verified, "{v:?}");
    let v = judge(down(Query::Household), insured(Some("330803")));
    assert_eq!(v.outcome, Outcome::Verified, "{v:?}");
    // Neither: not verified, both reasons named.
    let v = judge(household("330106", false), insured(Some("330106")));
    assert_eq!(v.outcome, Outcome::NotVerified, "{v:?}");
    assert!(
        v.reason_en.contains("outside the city") && v.reason_en.contains("insured outside"),
        "{}",
        v.reason_en
    );
    // A cancelled registration in the city does not count; never insured neither.
    let v = judge(household("330802", true), Ok(Answer::Employment(None)));
    assert_eq!(v.outcome, Outcome::NotVerified, "{v:?}");
    // Not in the city by household and social security down: cannot tell.
    let v = judge(household("330106", false), down(Query::Employment));
    assert_eq!(v.outcome, Outcome::Unavailable, "{v:?}");
    let v = judge(down(Query::Household), down(Query::Employment));
    assert_eq!(v.outcome, Outcome::Unavailable, "{v:?}");
    assert!(v.reason_en.contains("timed out"), "{}", v.reason_en);
    // Household only: social security is not asked and does not count.
    let v = evaluate(
        &only_household[1],
        &facts(vec![(hk.clone(), household("330106", false))]),
    );
    assert_eq!(v.outcome, Outcome::NotVerified, "{v:?}");
}
