#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use jiff::civil::date;

use super::*;
use crate::policy::QUZHOU_POLICY;
use crate::sharing::verify::{self, ApplicationKind, Party, Role};
use crate::sharing::{
    Area, ContractKind, CreditLoan, CreditReport, Employment, Identity, LoanKind, Marriage,
    Property, Unavailable, YearIncome,
};

// ---------------------------------------------------------------------------------------
// People, money, facts.

fn id(first17: &str) -> String {
    IdCard::with_check_char(first17)
        .unwrap()
        .as_str()
        .to_owned()
}

/// The applicant: a man born 1990-01-01 (retires at 63 on 2053-01-01).
fn a() -> String {
    id("33080219900101123")
}

/// His wife: born 1992-02-02.
fn b() -> String {
    id("33080219920202124")
}

fn y(yuan: i64) -> Fen {
    Fen::new(yuan * 100)
}

fn yuan(text: &str) -> Fen {
    Fen::parse_yuan(text).unwrap()
}

fn rate(pct: &str) -> Rate {
    Rate::parse_percent(pct).unwrap()
}

fn policy() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| Policy::from_toml(QUZHOU_POLICY).unwrap())
}

/// 2026-06-15: the 2024-07-01 limits and the 2025-05-08 rates (first home 2.1 / 2.6 %,
/// second home 2.525 / 3.075 %) apply.
fn today() -> Date {
    date(2026, 6, 15)
}

const HOME: &str = "浙江省衢州市柯城区荷花街道荷花新村3幢1单元201室";
const OTHER_HOME: &str = "浙江省衢州市衢江区樟潭街道学府家园5幢302室";
const CONTRACT: &str = "QZ-2026-0101";
const YEAR: i16 = 2025;

fn identity(id_number: &str) -> Answer {
    let card = IdCard::parse(id_number).unwrap();
    Answer::Identity(Some(Identity {
        id_number: id_number.to_owned(),
        name: "张三".into(),
        sex: card.sex(),
        birth_date: card.birth_date(),
        alive: true,
    }))
}

fn contract(price: Fen, buyers: &[&str]) -> Answer {
    Answer::Contracts(vec![PurchaseContract {
        contract_no: CONTRACT.into(),
        kind: ContractKind::New,
        address: HOME.into(),
        region_code: "330802".into(),
        area: Area(8950),
        price,
        signed_on: date(2026, 5, 1),
        filed_on: date(2026, 5, 3),
        buyers: buyers.iter().map(|s| (*s).to_owned()).collect(),
        seller_name: "衢州荷花置业有限公司".into(),
        seller_account: "6222000000000001".into(),
        seller_bank: "ICBC".into(),
        cancelled: false,
    }])
}

fn property(owner: &str, address: &str, region: &str) -> Property {
    Property {
        certificate_no: "浙(2020)衢州市不动产权第0000001号".into(),
        address: address.into(),
        region_code: region.into(),
        area: Area(9000),
        in_province: true,
        registered_on: date(2020, 4, 1),
        mortgaged: false,
        owners: vec![owner.to_owned()],
    }
}

fn credit(overdue_months: u32) -> Answer {
    let loans = if overdue_months > 0 {
        vec![CreditLoan {
            lender: "中国工商银行衢州分行".into(),
            kind: LoanKind::Consumer,
            principal: y(50_000),
            balance: y(20_000),
            monthly_payment: y(1_000),
            opened_on: date(2024, 1, 1),
            overdue_months,
            property_address: None,
        }]
    } else {
        Vec::new()
    };
    Answer::Credit(CreditReport {
        loans,
        overdue_count_24m: 0,
    })
}

fn marriage(status: MaritalStatus, spouse: Option<&str>) -> Answer {
    Answer::Marriage(Marriage {
        status,
        spouse_id: spouse.map(str::to_owned),
        spouse_name: spouse.map(|_| "李四".to_owned()),
        since: spouse.map(|_| date(2018, 5, 20)),
    })
}

fn employment() -> Answer {
    Answer::Employment(Some(Employment {
        insured: true,
        employer_credit_code: Some("91330800MA2DXXXX0X".into()),
        employer_name: Some("衢州某某有限公司".into()),
        continuous_months: 120,
        last_paid_month: Some("2026-05".into()),
        retired_on: None,
        disability_grade: None,
        work_capacity_lost: false,
        insured_region: None,
    }))
}

fn income() -> Answer {
    Answer::Income(vec![YearIncome {
        year: YEAR,
        wage_income: y(240_000),
        tax_paid: y(10_000),
        employer_name: "衢州某某有限公司".into(),
    }])
}

fn account(balance: i64, base: i64) -> BorrowerAccount {
    BorrowerAccount {
        status: PersonalAccountStatus::Normal,
        balance: y(balance),
        base: y(base),
        continuous_months: 24,
    }
}

// ---------------------------------------------------------------------------------------
// The application builder: parties and facts → checks → verdicts → decide.

#[derive(Clone)]
struct App {
    parties: Vec<Party>,
    claims: Claims,
    facts: FactSet,
    borrowers: Vec<(String, BorrowerRole, Option<BorrowerAccount>)>,
    requested: Fen,
    months: u32,
    method: Method,
    previous_loans: u32,
    outstanding_loan: bool,
}

impl App {
    /// A single applicant with every fact on record: unmarried, no home, nothing overdue,
    /// insured; a contract of `price`; balance 40,000.00, base 20,000.00.
    fn single(applicant: &str, price: Fen) -> App {
        App {
            parties: vec![Party {
                id_number: applicant.to_owned(),
                role: Role::Applicant,
                name: None,
            }],
            claims: Claims {
                contract_no: Some(CONTRACT.into()),
                year: Some(YEAR),
                ..Claims::default()
            },
            facts: FactSet::new(),
            borrowers: vec![(
                applicant.to_owned(),
                BorrowerRole::Applicant,
                Some(account(40_000, 20_000)),
            )],
            requested: y(450_000),
            months: 360,
            method: Method::EqualInstallment,
            previous_loans: 0,
            outstanding_loan: false,
        }
        .fact(applicant, identity(applicant))
        .fact(applicant, marriage(MaritalStatus::Unmarried, None))
        .fact(applicant, contract(price, &[applicant]))
        .fact(applicant, Answer::Properties(Vec::new()))
        .fact(applicant, credit(0))
        .fact(applicant, employment())
        .fact(applicant, income())
    }

    /// `a()` and his wife `b()`, both borrowing, with the given accounts.
    fn couple(price: Fen, mine: BorrowerAccount, hers: BorrowerAccount) -> App {
        let mut app = App::single(&a(), price)
            .fact(&a(), marriage(MaritalStatus::Married, Some(&b())))
            .fact(&a(), contract(price, &[&a(), &b()]))
            .fact(&b(), identity(&b()))
            .fact(&b(), credit(0))
            .fact(&b(), Answer::Properties(Vec::new()));
        app.parties.push(Party {
            id_number: b(),
            role: Role::Spouse,
            name: None,
        });
        app.borrowers = vec![
            (a(), BorrowerRole::Applicant, Some(mine)),
            (b(), BorrowerRole::CoBorrower, Some(hers)),
        ];
        app
    }

    fn fact(mut self, subject: &str, answer: Answer) -> App {
        let year = (answer.query() == Query::Income).then_some(YEAR);
        let key = FactKey {
            query: answer.query(),
            subject: subject.to_owned(),
            year,
        };
        self.facts.insert(key, Ok(answer));
        self
    }

    fn down(mut self, query: Query, subject: &str) -> App {
        let u = Unavailable {
            department: query.department(),
            reason: "timed out after 800 ms (3 attempts)".into(),
        };
        self.facts.insert(FactKey::new(query, subject), Err(u));
        self
    }

    fn ask(mut self, amount: Fen, months: u32) -> App {
        self.requested = amount;
        self.months = months;
        self
    }

    fn applicant_account(mut self, account: Option<BorrowerAccount>) -> App {
        self.borrowers[0].2 = account;
        self
    }

    fn decide(&self) -> LoanDecision {
        let checks = verify::checks_for(
            ApplicationKind::Loan,
            &self.parties,
            &self.claims,
            today(),
            "3308",
        )
        .unwrap();
        let verdicts: Vec<Verdict> = checks
            .iter()
            .map(|c| verify::evaluate(c, &self.facts))
            .collect();
        let borrowers: Vec<Borrower<'_>> = self
            .borrowers
            .iter()
            .map(|(id, role, account)| Borrower {
                id_number: id,
                role: *role,
                account: *account,
            })
            .collect();
        decide(&LoanCase {
            today: today(),
            borrowers: &borrowers,
            requested: self.requested,
            months: self.months,
            method: self.method,
            previous_loans: self.previous_loans,
            outstanding_loan: self.outstanding_loan,
            claims: &self.claims,
            verdicts: &verdicts,
            facts: &self.facts,
            policy: policy(),
            city_prefix: "3308",
        })
    }
}

fn candidate(d: &LoanDecision, kind: LimitKind) -> &LimitCandidate {
    d.candidates
        .iter()
        .find(|c| c.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} candidate in {:#?}", d.candidates))
}

/// Asserts a refusal whose English reasons contain every `needle`.
fn refused(d: &LoanDecision, needles: &[&str]) {
    assert_eq!(d.outcome, Resolution::Refuse, "{}", d.reason_en());
    assert_eq!(d.amount, Fen::ZERO);
    assert_eq!(d.first_payment, Fen::ZERO);
    let en = d.reason_en();
    for n in needles {
        assert!(en.contains(n), "{n:?} not in {en:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Repayment capacity inversion.

#[test]
fn capacity_inversion_equal_installment() {
    // 1,000,000.00 at 3.1 % over 360 months pays 4,270.16 (exact 4,270.1604…); the
    // largest principal still paying 4,270.16 is 1,000,000.23, one fen more pays 4,270.17.
    let budget = yuan("4270.16");
    let p = max_principal_for_payment(budget, rate("3.1"), 360, Method::EqualInstallment).unwrap();
    assert_eq!(p, yuan("1000000.23"));
    assert_eq!(installment(p, rate("3.1"), 360).unwrap(), budget);
    assert_eq!(
        installment(yuan("1000000.24"), rate("3.1"), 360).unwrap(),
        yuan("4270.17")
    );
    // r = 0: round(P / 12) ≤ 1,000.00 while P < 12,000.06.
    assert_eq!(
        max_principal_for_payment(yuan("1000.00"), Rate::ZERO, 12, Method::EqualInstallment)
            .unwrap(),
        yuan("12000.05")
    );
}

#[test]
fn capacity_inversion_equal_principal_steps_down_when_rounding_pushes_it_over() {
    // Budget 1,000.35 at 2.6 % over 240 months: the exact inverse 157,950.00 would pay
    // 157,950.00 / 240 = 658.125 → 658.13 plus 157,950.00 × 2.6 % / 12 = 342.225 → 342.23,
    // 1,000.36 > 1,000.35; 157,949.99 pays 658.12 + 342.22 = 1,000.34.
    let p = max_principal_for_payment(yuan("1000.35"), rate("2.6"), 240, Method::EqualPrincipal)
        .unwrap();
    assert_eq!(p, yuan("157949.99"));
    let rows = schedule(p, rate("2.6"), 240, Method::EqualPrincipal, None).unwrap();
    assert_eq!(rows[0].payment, yuan("1000.34"));
    let over = schedule(
        yuan("157950.00"),
        rate("2.6"),
        240,
        Method::EqualPrincipal,
        None,
    )
    .unwrap();
    assert_eq!(over[0].payment, yuan("1000.36"));
    // 5,000.00 at 3.1 % over 360 months: 5,000.00 / (1/360 + 0.031/12) = 932,642.487…;
    // with the roundings the largest is 932,642.99 (2,590.67 + 2,409.33).
    let p = max_principal_for_payment(yuan("5000.00"), rate("3.1"), 360, Method::EqualPrincipal)
        .unwrap();
    assert_eq!(p, yuan("932642.99"));
    let rows = schedule(p, rate("3.1"), 360, Method::EqualPrincipal, None).unwrap();
    assert_eq!(rows[0].payment, yuan("5000.00"));
    let next = schedule(
        yuan("932643.00"),
        rate("3.1"),
        360,
        Method::EqualPrincipal,
        None,
    )
    .unwrap();
    assert!(next[0].payment > yuan("5000.00"));
}

#[test]
fn capacity_inversion_edges() {
    assert_eq!(
        max_principal_for_payment(Fen::ZERO, rate("3.1"), 360, Method::EqualInstallment).unwrap(),
        Fen::ZERO
    );
    assert_eq!(
        max_principal_for_payment(yuan("100.00"), rate("3.1"), 0, Method::EqualInstallment),
        Err(LoanError::Months { months: 0 })
    );
}

// ---------------------------------------------------------------------------------------
// Decisions.

#[test]
fn single_first_home_bound_by_loan_to_value_and_reduced() {
    let d = App::single(&a(), y(500_000)).decide();
    assert_eq!(d.outcome, Resolution::Approve, "{}", d.reason_en());
    assert_eq!((d.home, d.couple), (HomeOrder::First, false));
    assert_eq!(d.price, Some(y(500_000)));
    assert_eq!(d.annual_rate, rate("2.6"));
    assert_eq!(candidate(&d, LimitKind::Cap).amount, y(500_000));
    let ltv = candidate(&d, LimitKind::LoanToValue);
    assert_eq!(ltv.amount, y(400_000));
    assert_eq!(ltv.basis.zh, "价格 500,000.00 × 80% = 400,000.00");
    // 40,000.00 × 15 = 600,000.00.
    assert_eq!(candidate(&d, LimitKind::Balance).amount, y(600_000));
    assert!(candidate(&d, LimitKind::Capacity).amount > y(2_000_000));
    assert_eq!(d.binding, Some(LimitKind::LoanToValue));
    assert_eq!(d.limit, y(400_000));
    // Asked 450,000.00: reduced to the limit.
    assert_eq!(d.amount, y(400_000));
    assert!(
        d.reason_en().contains("reduced to 400,000.00"),
        "{}",
        d.reason_en()
    );
    assert!(d.reason_en().contains("loan-to-value"), "{}", d.reason_en());
    // 400,000.00 at 2.6 % over 360 months: 1,601.36.
    assert_eq!(d.first_payment, yuan("1601.36"));
    assert_eq!((d.months, d.max_months), (360, 360));
    assert_eq!(d.checks.len(), 8);
}

#[test]
fn couple_bound_by_repayment_capacity() {
    let d = App::couple(y(1_200_000), account(30_000, 3_000), account(20_000, 2_000))
        .ask(y(600_000), 360)
        .decide();
    assert_eq!(d.outcome, Resolution::Approve, "{}", d.reason_en());
    assert!(d.couple);
    assert_eq!(d.home, HomeOrder::First);
    assert_eq!(candidate(&d, LimitKind::Cap).amount, y(800_000));
    assert_eq!(candidate(&d, LimitKind::LoanToValue).amount, y(960_000));
    assert_eq!(candidate(&d, LimitKind::Balance).amount, y(750_000));
    // (3,000.00 + 2,000.00) × 50 % = 2,500.00 a month at 2.6 % over 360 months: at most
    // 624,470.90.
    let cap = candidate(&d, LimitKind::Capacity);
    assert_eq!(cap.amount, yuan("624470.90"));
    assert!(
        cap.basis.zh.contains("5,000.00 × 50% = 2,500.00"),
        "{}",
        cap.basis.zh
    );
    assert_eq!(d.binding, Some(LimitKind::Capacity));
    assert_eq!(d.limit, yuan("624470.90"));
    assert_eq!(d.amount, y(600_000));
    assert!(!d.reason_en().contains("reduced"), "{}", d.reason_en());
    assert_eq!(d.first_payment, yuan("2402.04"));
}

#[test]
fn second_home_by_a_previous_loan() {
    let mut app = App::single(&a(), y(500_000));
    app.previous_loans = 1;
    let d = app.decide();
    assert_eq!(d.outcome, Resolution::Approve, "{}", d.reason_en());
    assert_eq!(d.home, HomeOrder::Second);
    assert_eq!(d.annual_rate, rate("3.075"));
    assert_eq!(candidate(&d, LimitKind::Cap).amount, y(400_000));
    // 500,000.00 × 70 % = 350,000.00.
    assert_eq!(candidate(&d, LimitKind::LoanToValue).amount, y(350_000));
    assert_eq!(d.amount, y(350_000));
    assert!(
        d.reason_en().contains("1 HPF home loan"),
        "{}",
        d.reason_en()
    );
}

#[test]
fn second_home_by_a_home_in_the_city_only() {
    let in_city = App::single(&a(), y(500_000))
        .fact(
            &a(),
            Answer::Properties(vec![property(&a(), OTHER_HOME, "330803")]),
        )
        .decide();
    assert_eq!(in_city.home, HomeOrder::Second);
    assert!(
        in_city.reason_en().contains(OTHER_HOME),
        "{}",
        in_city.reason_en()
    );
    // A home in Hangzhou, or the home being bought, does not count.
    for (address, region) in [("杭州市西湖区文三路1号", "330106"), (HOME, "330802")] {
        let d = App::single(&a(), y(500_000))
            .fact(
                &a(),
                Answer::Properties(vec![property(&a(), address, region)]),
            )
            .decide();
        assert_eq!(d.home, HomeOrder::First, "{address}");
    }
    // The spouse's home counts for the family.
    let spouse_owns = App::couple(y(1_200_000), account(30_000, 3_000), account(20_000, 2_000))
        .fact(
            &b(),
            Answer::Properties(vec![property(&b(), OTHER_HOME, "330803")]),
        )
        .decide();
    assert_eq!(spouse_owns.home, HomeOrder::Second);
    assert_eq!(candidate(&spouse_owns, LimitKind::Cap).amount, y(600_000));
}

#[test]
fn unavailable_fact_sends_to_review_with_the_amount_computed() {
    let d = App::single(&a(), y(500_000))
        .down(Query::Credit, &a())
        .decide();
    assert_eq!(d.outcome, Resolution::Review, "{}", d.reason_en());
    assert_eq!(d.amount, y(400_000));
    assert!(
        d.reason_en().contains("sent to staff review"),
        "{}",
        d.reason_en()
    );
    // Both credit checks (no current overdue, no provident-fund loan) are unavailable.
    assert_eq!(d.reasons.len(), 2, "{}", d.reason_en());
}

#[test]
fn retirement_limits_the_term() {
    // A man born 1975-06-10 retires at 62 y 8 m on 2038-02-10; + 5 years = 2043-02-10,
    // 199 whole months after 2026-06-15.
    let man = id("33080219750610113");
    let d = App::single(&man, y(500_000)).ask(y(300_000), 240).decide();
    refused(
        &d,
        &["months = 240", "199 months", "2043-02-10", "2038-02-10"],
    );
    assert_eq!(d.max_months, 199);
    let d = App::single(&man, y(500_000)).ask(y(300_000), 199).decide();
    assert_eq!(d.outcome, Resolution::Approve, "{}", d.reason_en());
    assert_eq!(d.max_months, 199);
    assert_eq!(d.annual_rate, rate("2.6"));
    assert_eq!(d.first_payment, yuan("1857.43"));
}

#[test]
fn a_woman_between_the_workers_and_the_cadres_age_goes_to_review() {
    // Born 1980-03-03: a woman worker retires at 52 y 8 m on 2032-11-03 (+ 5 years:
    // 136 months from 2026-06-15), a cadre at 57 y 7 m on 2037-10-03 (195 months).
    let woman = id("33080219800303124");
    let within = App::single(&woman, y(500_000))
        .ask(y(300_000), 136)
        .decide();
    assert_eq!(
        within.outcome,
        Resolution::Approve,
        "{}",
        within.reason_en()
    );
    assert_eq!(within.max_months, 136);
    let between = App::single(&woman, y(500_000))
        .ask(y(300_000), 180)
        .decide();
    assert_eq!(
        between.outcome,
        Resolution::Review,
        "{}",
        between.reason_en()
    );
    assert!(
        between.reason_en().contains("post category"),
        "{}",
        between.reason_en()
    );
    let beyond = App::single(&woman, y(500_000))
        .ask(y(300_000), 196)
        .decide();
    refused(&beyond, &["months = 196", "136 months"]);
}

// ---------------------------------------------------------------------------------------
// Refusals, each naming the field, its value and the rule.

#[test]
fn refusals_name_field_value_and_rule() {
    let base = || App::single(&a(), y(500_000));

    let mut sealed = account(40_000, 20_000);
    sealed.status = PersonalAccountStatus::Sealed;
    refused(
        &base().applicant_account(Some(sealed)).decide(),
        &["account status = 02", "must be normal (01)"],
    );

    refused(
        &base().applicant_account(None).decide(),
        &["account: the applicant has no account in this centre"],
    );

    let mut short = account(40_000, 20_000);
    short.continuous_months = 5;
    refused(
        &base().applicant_account(Some(short)).decide(),
        &[
            "continuous_months = 5",
            "at least 6 months",
            "min_continuous_months",
        ],
    );

    let mut owing = base();
    owing.outstanding_loan = true;
    refused(&owing.decide(), &["outstanding_loan = true"]);

    let mut third = base();
    third.previous_loans = 2;
    refused(
        &third.decide(),
        &["previous_loans = 2", "at most 2", "max_loans_per_family"],
    );

    refused(
        &base().ask(Fen::ZERO, 360).decide(),
        &["requested = 0.00", "greater than zero"],
    );
    refused(&base().ask(y(100_000), 0).decide(), &["months = 0"]);
    refused(
        &base().ask(y(100_000), 361).decide(),
        &["months = 361", "30 years, 360 months", "max_term_years"],
    );
}

#[test]
fn a_failed_check_refuses_with_its_reason() {
    let d = App::single(&a(), y(500_000)).fact(&a(), credit(2)).decide();
    refused(&d, &["2 month(s) overdue"]);
}

#[test]
fn a_co_borrower_must_be_the_spouse_on_record() {
    // b() co-borrows but the applicant is unmarried on record.
    let mut app = App::single(&a(), y(500_000))
        .fact(&b(), identity(&b()))
        .fact(&b(), credit(0))
        .fact(&b(), Answer::Properties(Vec::new()));
    app.borrowers
        .push((b(), BorrowerRole::CoBorrower, Some(account(20_000, 2_000))));
    let d = app.decide();
    refused(&d, &["is not the applicant's spouse"]);
    assert!(!d.couple);
}

#[test]
fn a_co_borrower_without_a_normal_account_adds_nothing() {
    let mut hers = account(20_000, 2_000);
    hers.status = PersonalAccountStatus::Sealed;
    let d = App::couple(y(1_200_000), account(30_000, 3_000), hers)
        .ask(y(300_000), 360)
        .decide();
    assert_eq!(d.outcome, Resolution::Approve, "{}", d.reason_en());
    assert!(d.couple);
    // Only his balance: 30,000.00 × 15 = 450,000.00.
    assert_eq!(candidate(&d, LimitKind::Balance).amount, y(450_000));
    assert!(d.reason_en().contains("do not count"), "{}", d.reason_en());
}

#[test]
fn a_zero_limit_refuses() {
    let d = App::single(&a(), y(500_000))
        .applicant_account(Some(account(0, 20_000)))
        .decide();
    refused(&d, &["the loan limit is zero (balance multiple)"]);
    assert_eq!(d.binding, Some(LimitKind::Balance));
    assert_eq!(d.limit, Fen::ZERO);
}

#[test]
fn equal_principal_first_payment() {
    let mut app = App::single(&a(), y(500_000)).ask(y(400_000), 360);
    app.method = Method::EqualPrincipal;
    let d = app.decide();
    assert_eq!(d.outcome, Resolution::Approve, "{}", d.reason_en());
    // 400,000.00 / 360 = 1,111.11 plus 400,000.00 × 2.6 % / 12 = 866.67.
    assert_eq!(d.first_payment, yuan("1977.78"));
}
