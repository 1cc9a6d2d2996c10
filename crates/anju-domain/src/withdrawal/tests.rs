use super::*;

use std::sync::OnceLock;

use jiff::civil::{Date, date};

use crate::codes::{MaritalStatus, PersonalAccountStatus};
use crate::ids::IdCard;
use crate::money::Fen;
use crate::policy::{Policy, QUZHOU_POLICY};
use crate::sharing::verify::{self, Party, Role};
use crate::sharing::{
    Area, CancelReason, ContractKind, CreditLoan, CreditReport, DeathRecord, Employment, Household,
    HouseholdCancellation, Identity, Invoice, Lease, LoanKind, Marriage, MedicalExpense, Property,
    PurchaseContract, RenewalKind, RenewalShare, Unavailable, YearIncome,
};

// ---------------------------------------------------------------------------------------
// People, places, money.

fn id(first17: &str) -> String {
    IdCard::with_check_char(first17)
        .expect("a valid resident ID number")
        .as_str()
        .to_owned()
}

/// The applicant: a man born 1990-01-01.
fn a() -> String {
    id("33080219900101123")
}

/// His wife, co-buyer of the home: born 1992-02-02.
fn b() -> String {
    id("33080219920202124")
}

/// Before the 2026 amendment (the 2024-07-01 rules apply).
const BEFORE: (i16, i8, i8) = (2026, 6, 15);
/// After the 2026 amendment (in force from 2026-09-20).
const AFTER: (i16, i8, i8) = (2026, 10, 15);

fn before() -> Date {
    date(BEFORE.0, BEFORE.1, BEFORE.2)
}

fn after() -> Date {
    date(AFTER.0, AFTER.1, AFTER.2)
}

const HOME: &str = "浙江省衢州市柯城区荷花街道荷花新村3幢1单元201室";
const OTHER_HOME: &str = "浙江省衢州市衢江区樟潭街道学府家园5幢302室";
const CERT: &str = "浙(2025)衢州市不动产权第0001234号";
const CONTRACT: &str = "QZ-2026-0101";

fn y(yuan: i64) -> Fen {
    Fen::new(yuan * 100)
}

fn policy() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| Policy::from_toml(QUZHOU_POLICY).expect("the shipped Quzhou policy loads"))
}

// ---------------------------------------------------------------------------------------
// Facts.

fn identity(id_number: &str) -> Answer {
    let card = IdCard::parse(id_number).expect("a valid resident ID number");
    Answer::Identity(Some(Identity {
        id_number: id_number.to_owned(),
        name: "张三".into(),
        sex: card.sex(),
        birth_date: card.birth_date(),
        alive: true,
    }))
}

fn contract(filed_on: Date, price: Fen, buyers: &[&str]) -> PurchaseContract {
    PurchaseContract {
        contract_no: CONTRACT.into(),
        kind: ContractKind::New,
        address: HOME.into(),
        region_code: "330802".into(),
        area: Area(8950),
        price,
        signed_on: filed_on,
        filed_on,
        buyers: buyers.iter().map(|s| (*s).to_owned()).collect(),
        seller_name: "衢州荷花置业有限公司".into(),
        seller_account: "6222000000000001".into(),
        seller_bank: "ICBC".into(),
        cancelled: false,
    }
}

fn loan(
    kind: LoanKind,
    principal: Fen,
    balance: Fen,
    monthly: Fen,
    address: Option<&str>,
) -> CreditLoan {
    CreditLoan {
        lender: "中国工商银行衢州分行".into(),
        kind,
        principal,
        balance,
        monthly_payment: monthly,
        opened_on: date(2026, 9, 5),
        overdue_months: 0,
        property_address: address.map(str::to_owned),
    }
}

fn credit(loans: Vec<CreditLoan>) -> Answer {
    Answer::Credit(CreditReport {
        loans,
        overdue_count_24m: 0,
    })
}

fn property(owners: &[&str], address: &str, region: &str) -> Property {
    Property {
        certificate_no: CERT.into(),
        address: address.into(),
        region_code: region.into(),
        area: Area(8950),
        in_province: true,
        registered_on: date(2025, 4, 1),
        mortgaged: false,
        owners: owners.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn invoice(
    no: &str,
    category: InvoiceCategory,
    issued_on: Date,
    amount: Fen,
    buyer: &str,
    address: &str,
) -> Invoice {
    Invoice {
        invoice_no: no.into(),
        category,
        issued_on,
        amount,
        buyer_id: buyer.into(),
        seller_name: "衢州家和装饰工程有限公司".into(),
        address: address.into(),
        region_code: "330802".into(),
        voided: false,
    }
}

fn lease(monthly_rent: Fen, starts_on: Date, ends_on: Date) -> Answer {
    Answer::Leases(vec![Lease {
        lease_no: "ZL-2026-0042".into(),
        address: "浙江省衢州市柯城区府山街道坊门街8号".into(),
        region_code: "330802".into(),
        monthly_rent,
        starts_on,
        ends_on,
        tenants: vec![a()],
    }])
}

fn income(year: i16, wage: Fen) -> Answer {
    Answer::Income(vec![YearIncome {
        year,
        wage_income: wage,
        tax_paid: Fen::new(0),
        employer_name: "衢州某某有限公司".into(),
    }])
}

fn employment(insured: bool, retired_on: Option<Date>, work_capacity_lost: bool) -> Answer {
    Answer::Employment(Some(Employment {
        insured,
        employer_credit_code: insured.then(|| "91330800MA2DXXXX0X".to_owned()),
        employer_name: insured.then(|| "衢州某某有限公司".to_owned()),
        continuous_months: 120,
        last_paid_month: Some("2026-09".into()),
        retired_on,
        disability_grade: work_capacity_lost.then_some(1),
        work_capacity_lost,
        insured_region: None,
    }))
}

fn household(region_code: &str, region_name: &str, cancelled: Option<CancelReason>) -> Answer {
    Answer::Household(Some(Household {
        region_code: region_code.into(),
        region_name: region_name.into(),
        since: date(2026, 5, 1),
        cancelled: cancelled.map(|reason| HouseholdCancellation {
            on: date(2026, 8, 1),
            reason,
        }),
    }))
}

fn past(no: &str, ground: Ground, home_key: &str, amount: Fen, on: Date) -> Past {
    Past {
        application_no: no.into(),
        account_no: "330800000001".into(),
        ground,
        mode: None,
        home_key: home_key.into(),
        amount,
        on,
    }
}

// ---------------------------------------------------------------------------------------
// The application builder: parties, claims and facts → checks → verdicts → decide.

#[derive(Clone)]
struct App {
    ground: Ground,
    mode: Option<RepayMode>,
    today: Date,
    subject: String,
    parties: Vec<Party>,
    claims: Claims,
    facts: FactSet,
    account: Account,
    requested: Option<Fen>,
    own: Vec<Past>,
    same_home: Vec<Past>,
    closing_interest: Fen,
}

impl App {
    /// An application by `subject` (for a death: about the deceased `subject`), with the
    /// subject's identity on record and an ordinary account of 100,000 yuan.
    fn new(ground: Ground, today: Date, subject: &str) -> App {
        let role = if ground == Ground::Death {
            Role::Deceased
        } else {
            Role::Applicant
        };
        let app = App {
            ground,
            mode: None,
            today,
            subject: subject.to_owned(),
            parties: vec![Party {
                id_number: subject.to_owned(),
                role,
                name: None,
            }],
            claims: Claims::default(),
            facts: FactSet::new(),
            account: Account {
                status: PersonalAccountStatus::Normal,
                balance: y(100_000),
                available: y(100_000),
                sealed_since: None,
            },
            requested: None,
            own: Vec::new(),
            same_home: Vec::new(),
            closing_interest: Fen::new(0),
        };
        if ground == Ground::Death {
            app
        } else {
            app.fact(subject, identity(subject))
        }
    }

    /// Another party (spouse, heir), with their identity on record.
    fn party(mut self, id_number: &str, role: Role) -> App {
        self.parties.push(Party {
            id_number: id_number.to_owned(),
            role,
            name: None,
        });
        self.fact(id_number, identity(id_number))
    }

    fn fact(mut self, subject: &str, answer: Answer) -> App {
        let key = FactKey::new(answer.query(), subject);
        self.facts.insert(key, Ok(answer));
        self
    }

    fn fact_of_year(mut self, subject: &str, year: i16, answer: Answer) -> App {
        let key = FactKey {
            query: answer.query(),
            subject: subject.to_owned(),
            year: Some(year),
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

    fn balance(mut self, balance: Fen, available: Fen) -> App {
        self.account.balance = balance;
        self.account.available = available;
        self
    }

    fn status(mut self, status: PersonalAccountStatus, sealed_since: Option<Date>) -> App {
        self.account.status = status;
        self.account.sealed_since = sealed_since;
        self
    }

    fn ask(mut self, amount: Fen) -> App {
        self.requested = Some(amount);
        self
    }

    fn mode(mut self, mode: RepayMode) -> App {
        self.mode = Some(mode);
        self
    }

    fn own(mut self, p: Past) -> App {
        self.own.push(p);
        self
    }

    fn same_home(mut self, p: Past) -> App {
        self.same_home.push(p);
        self
    }

    fn verdicts(&self) -> Vec<Verdict> {
        let checks = verify::checks_for(
            self.ground.application_kind(),
            &self.parties,
            &self.claims,
            self.today,
            "3308",
        )
        .expect("the application names what its kind needs");
        checks
            .iter()
            .map(|c| verify::evaluate(c, &self.facts))
            .collect()
    }

    fn decide(&self) -> Decision {
        self.decide_with(&self.verdicts())
    }

    fn decide_with(&self, verdicts: &[Verdict]) -> Decision {
        decide(&Case {
            ground: self.ground,
            mode: self.mode,
            today: self.today,
            subject: &self.subject,
            account: self.account,
            requested: self.requested,
            claims: &self.claims,
            verdicts,
            facts: &self.facts,
            own: &self.own,
            same_home: &self.same_home,
            closing_interest: self.closing_interest,
            policy: policy(),
            city_prefix: "3308",
        })
    }
}

#[track_caller]
fn expect(d: &Decision, outcome: Resolution, amount: Fen, en: &str) {
    assert_eq!(d.outcome, outcome, "reasons: {}", d.reason_en());
    assert_eq!(d.amount, amount, "reasons: {}", d.reason_en());
    assert!(
        d.reason_en().contains(en),
        "expected {en:?} in the reasons: {}",
        d.reason_en()
    );
}

#[track_caller]
fn binding(d: &Decision) -> &Limit {
    let bound: Vec<&Limit> = d.limits.iter().filter(|l| l.binding).collect();
    assert_eq!(bound.len(), 1, "limits: {:?}", d.limits);
    bound[0]
}

// ---------------------------------------------------------------------------------------
// Purchase.

/// A purchase withdrawal by `a()` for the home he bought with `b()` on 2026-09-01 for
/// 1,000,000 yuan, with a 900,000-yuan commercial loan for it.
fn purchase(today: Date, filed_on: Date) -> App {
    let (a, b) = (a(), b());
    App::new(Ground::Purchase, today, &a)
        .fact(
            &a,
            Answer::Contracts(vec![contract(filed_on, y(1_000_000), &[&a, &b])]),
        )
        .fact(&a, Answer::Properties(vec![]))
        .fact(
            &a,
            credit(vec![
                loan(
                    LoanKind::CommercialHousing,
                    y(900_000),
                    y(890_000),
                    y(4_500),
                    Some(HOME),
                ),
                // Not counted: a car loan, and a home loan for another home.
                loan(LoanKind::Car, y(100_000), y(60_000), y(2_000), None),
                loan(
                    LoanKind::ProvidentFundHousing,
                    y(500_000),
                    y(100_000),
                    y(2_500),
                    Some(OTHER_HOME),
                ),
            ]),
        )
}

fn contract_key() -> String {
    format!("contract:{CONTRACT}")
}

#[test]
fn purchase_approves_price_less_loans_less_withdrawn_for_the_home() {
    let app = purchase(after(), date(2026, 9, 1)).same_home(past(
        "W-2026-0090",
        Ground::Purchase,
        &contract_key(),
        y(30_000),
        date(2026, 9, 20),
    ));
    let d = app.decide();
    // 1,000,000 − 900,000 − 30,000 = 70,000 < 100,000 available.
    expect(
        &d,
        Resolution::Approve,
        y(70_000),
        "contract QZ-2026-0101 filed 2026-09-01",
    );
    assert_eq!(d.home_key, contract_key());
    assert!(!d.closes_account);
    assert_eq!(
        binding(&d).what_en,
        "price 1,000,000.00 yuan less loans 900,000.00 yuan less already withdrawn 30,000.00 yuan"
    );
    assert_eq!(d.limits.len(), 2, "{:?}", d.limits);
    assert!(d.checks.iter().all(|v| v.outcome == Outcome::Verified));
}

#[test]
fn purchase_is_limited_by_the_available_balance_and_the_amount_asked() {
    let app = purchase(after(), date(2026, 9, 1)).balance(y(50_000), y(45_000));
    let d = app.decide();
    expect(&d, Resolution::Approve, y(45_000), "identity confirmed");
    assert_eq!(binding(&d).what_en, "available balance");
    assert_eq!(binding(&d).amount, y(45_000));

    let d = app.ask(y(20_000)).decide();
    expect(&d, Resolution::Approve, y(20_000), "contract QZ-2026-0101");
}

#[test]
fn purchase_twice_for_the_same_home_by_the_same_member_is_refused() {
    let earlier = past(
        "W-2026-0007",
        Ground::Purchase,
        &contract_key(),
        y(30_000),
        date(2026, 9, 10),
    );
    let d = purchase(after(), date(2026, 9, 1))
        .own(earlier.clone())
        .same_home(earlier)
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "last purchase withdrawal for this home was on 2026-09-10 (W-2026-0007); only once per home",
    );
}

#[test]
fn purchase_by_the_spouse_for_the_same_home_is_limited_by_what_the_first_withdrew() {
    let (a, b) = (a(), b());
    let joint = loan(
        LoanKind::CommercialHousing,
        y(900_000),
        y(890_000),
        y(4_500),
        Some(HOME),
    );
    let d = App::new(Ground::Purchase, after(), &b)
        .party(&a, Role::Spouse)
        .fact(
            &b,
            Answer::Marriage(Marriage {
                status: MaritalStatus::Married,
                spouse_id: Some(a.clone()),
                spouse_name: Some("张三".into()),
                since: Some(date(2018, 5, 20)),
            }),
        )
        .fact(
            &b,
            Answer::Contracts(vec![contract(date(2026, 9, 1), y(1_000_000), &[&a, &b])]),
        )
        .fact(&b, Answer::Properties(vec![]))
        // The joint loan is on both credit reports: it counts once.
        .fact(&a, credit(vec![joint.clone()]))
        .fact(&b, credit(vec![joint]))
        // Her own purchase withdrawal for another home does not stop this one.
        .own(past(
            "W-2019-0033",
            Ground::Purchase,
            "contract:QZ-2019-0033",
            y(80_000),
            date(2019, 6, 1),
        ))
        .same_home(past(
            "W-2026-0007",
            Ground::Purchase,
            &contract_key(),
            y(60_000),
            date(2026, 9, 10),
        ))
        .decide();
    // 1,000,000 − 900,000 − 60,000 (her husband's) = 40,000.
    expect(
        &d,
        Resolution::Approve,
        y(40_000),
        "civil affairs records the claimed spouse",
    );
    assert_eq!(
        binding(&d).what_en,
        "price 1,000,000.00 yuan less loans 900,000.00 yuan less already withdrawn 60,000.00 yuan"
    );
}

#[test]
fn purchase_more_than_24_months_after_the_filing_is_refused() {
    // 24 months before 2026-10-15 is 2024-10-15: filed the day before is too old.
    let d = purchase(after(), date(2024, 10, 14)).decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "contract QZ-2026-0101 was filed on 2024-10-14, more than 24 months ago",
    );
    // Filed exactly 24 months ago is still in time.
    let d = purchase(after(), date(2024, 10, 15)).decide();
    expect(&d, Resolution::Approve, y(100_000), "contract QZ-2026-0101");
}

#[test]
fn purchase_window_runs_from_the_registration_when_that_came_later() {
    // Filed too long ago, but the home was registered to the buyer on 2025-04-01.
    let a = a();
    let d = purchase(after(), date(2024, 10, 14))
        .fact(
            &a,
            Answer::Properties(vec![property(&[&a], HOME, "330802")]),
        )
        .decide();
    expect(&d, Resolution::Approve, y(100_000), "contract QZ-2026-0101");
    // Registered to someone else: the filing date counts, and it is too old.
    let d = purchase(after(), date(2024, 10, 14))
        .fact(
            &a,
            Answer::Properties(vec![property(&["330802199001010000"], HOME, "330802")]),
        )
        .decide();
    assert_eq!(d.outcome, Resolution::Refuse, "{:?}", d.reasons);
    assert!(
        d.reason_en().contains("was filed on 2024-10-14"),
        "{}",
        d.reason_en()
    );
}

#[test]
fn purchase_asking_more_than_the_cap_is_refused_naming_the_cap() {
    let d = purchase(after(), date(2026, 9, 1))
        .same_home(past(
            "W-2026-0090",
            Ground::Purchase,
            &contract_key(),
            y(30_000),
            date(2026, 9, 20),
        ))
        .ask(y(80_000))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "the amount asked, 80,000.00 yuan, exceeds the most allowed, 70,000.00 yuan (price 1,000,000.00 yuan",
    );
}

#[test]
fn purchase_goes_to_review_when_the_filing_department_is_down() {
    let a = a();
    let d = App::new(Ground::Purchase, after(), &a)
        .down(Query::Contracts, &a)
        .fact(&a, Answer::Properties(vec![]))
        .fact(&a, credit(vec![]))
        .decide();
    expect(
        &d,
        Resolution::Review,
        // The rule's limit cannot be computed without the contract.
        Fen::new(0),
        "could not verify (housing-filing/contracts: 网签备案 (housing-filing) unavailable: timed out after 800 ms (3 attempts)): sent to staff review",
    );
    assert_eq!(d.home_key, "");
    assert_eq!(
        d.checks
            .iter()
            .filter(|v| v.outcome == Outcome::Unavailable)
            .count(),
        2
    );
}

#[test]
fn a_ground_whose_limit_cannot_be_computed_is_never_approved() {
    // Checks passed but the facts they were decided on are not at hand: the rule has no
    // limit to apply, and the whole available balance must not be paid.
    let app = purchase(after(), date(2026, 9, 1));
    let verdicts = app.verdicts();
    let mut bare = App::new(Ground::Purchase, after(), &a());
    bare.facts.clear();
    let d = bare.decide_with(&verdicts);
    expect(
        &d,
        Resolution::Review,
        Fen::new(0),
        "the rule's limit could not be computed from the facts",
    );
}

// ---------------------------------------------------------------------------------------
// The account.

#[test]
fn a_frozen_account_is_refused() {
    let d = purchase(after(), date(2026, 9, 1))
        .status(PersonalAccountStatus::Frozen, None)
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "the account is frozen: no withdrawal is possible",
    );
    assert_eq!(d.reasons.len(), 1);
}

#[test]
fn a_closed_account_is_refused() {
    for (status, label) in [
        (
            PersonalAccountStatus::ClosedByWithdrawal,
            "closed by withdrawal",
        ),
        (PersonalAccountStatus::ClosedByMerger, "closed by merger"),
        (
            PersonalAccountStatus::ClosedByTransferOut,
            "closed by external transfer-out",
        ),
    ] {
        let d = purchase(after(), date(2026, 9, 1))
            .status(status, None)
            .decide();
        expect(
            &d,
            Resolution::Refuse,
            Fen::new(0),
            &format!("the account is closed ({label})"),
        );
    }
}

#[test]
fn a_zero_balance_is_refused() {
    let d = purchase(after(), date(2026, 9, 1))
        .balance(Fen::new(0), Fen::new(0))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "the account balance is zero",
    );
}

#[test]
fn a_closing_withdrawal_of_an_emptied_account_pays_its_interest() {
    // Everything was withdrawn mid-year; 12.34 yuan of interest to date is still owed:
    // closing pays it (and only it).
    let m = id("33080219600315123");
    let mut app = closing(Ground::Retirement, &m)
        .balance(Fen::new(0), Fen::new(0))
        .fact(&m, Answer::Employment(None));
    app.closing_interest = Fen::new(1_234);
    let d = app.decide();
    expect(
        &d,
        Resolution::Approve,
        Fen::new(1_234),
        "reached the statutory retirement age on 2020-03-15",
    );
    assert!(d.closes_account);
    // Without interest owed, an empty account has nothing to close-withdraw.
    app.closing_interest = Fen::new(0);
    expect(
        &app.decide(),
        Resolution::Refuse,
        Fen::new(0),
        "the account balance is zero",
    );
}

// ---------------------------------------------------------------------------------------
// Rent.

/// A rent withdrawal under lease ZL-2026-0042 (2,000 yuan a month), no home owned in the
/// city (one in Hangzhou).
fn rent(today: Date, monthly_rent: Fen, starts_on: Date) -> App {
    let a = a();
    App::new(Ground::Rent, today, &a)
        .fact(&a, lease(monthly_rent, starts_on, date(2027, 6, 30)))
        .fact(
            &a,
            Answer::Properties(vec![property(
                &[&a],
                "浙江省杭州市西湖区文三路100号",
                "330106",
            )]),
        )
}

#[test]
fn rent_before_the_amendment_must_exceed_the_income_share() {
    // 2,000 × 12 = 24,000 ≤ 5 % of 600,000 = 30,000.
    let mut app = rent(before(), y(2_000), date(2026, 1, 1)).fact_of_year(
        &a(),
        2025,
        income(2025, y(600_000)),
    );
    app.claims.year = Some(2025);
    let d = app.decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "the year's rent, 24,000.00 yuan, does not exceed 5 % of the 2025 wage income of 600,000.00 yuan (30,000.00 yuan)",
    );

    // Equal is not more: 1,250 × 12 = 15,000 = 5 % of 300,000.
    let mut app = rent(before(), y(1_250), date(2026, 1, 1)).fact_of_year(
        &a(),
        2025,
        income(2025, y(300_000)),
    );
    app.claims.year = Some(2025);
    let d = app.decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "does not exceed 5 % of the 2025 wage income of 300,000.00 yuan (15,000.00 yuan)",
    );
}

#[test]
fn rent_before_the_amendment_above_the_income_share_is_approved_at_the_monthly_limit() {
    // 24,000 > 15,000: approved. Five whole months since 2026-01-01 at most 1,500 each.
    let mut app = rent(before(), y(2_000), date(2026, 1, 1)).fact_of_year(
        &a(),
        2025,
        income(2025, y(300_000)),
    );
    app.claims.year = Some(2025);
    let d = app.decide();
    expect(
        &d,
        Resolution::Approve,
        y(7_500),
        "2025 wage income 300,000.00 yuan",
    );
    assert_eq!(
        binding(&d).what_en,
        "5 month(s) × 1,500.00 yuan (rent 2,000.00 yuan, monthly limit 1,500.00 yuan)"
    );
}

#[test]
fn rent_before_the_amendment_without_an_income_year_goes_to_review() {
    let d = rent(before(), y(2_000), date(2026, 1, 1)).decide();
    expect(
        &d,
        Resolution::Review,
        y(7_500),
        "no income year was claimed: sent to staff review",
    );
}

#[test]
fn rent_after_the_amendment_has_no_income_condition() {
    // A high income on record does not matter any more.
    let app = rent(after(), y(2_000), date(2026, 7, 1)).fact_of_year(
        &a(),
        2025,
        income(2025, y(2_000_000)),
    );
    let d = app.decide();
    // Three whole months since 2026-07-01, 1,500 each (the monthly limit).
    expect(
        &d,
        Resolution::Approve,
        y(4_500),
        "owns no home in the city",
    );
    assert!(!d.reason_en().contains("wage income"), "{}", d.reason_en());

    // Rent below the limit counts as paid.
    let d = rent(after(), y(1_200), date(2026, 7, 1)).decide();
    expect(
        &d,
        Resolution::Approve,
        y(3_600),
        "lease ZL-2026-0042 from 2026-07-01 to 2027-06-30, rent 1,200.00 yuan a month",
    );
}

#[test]
fn rent_more_often_than_every_three_months_is_refused() {
    let d = rent(after(), y(2_000), date(2026, 1, 1))
        .own(past(
            "W-2026-0100",
            Ground::Rent,
            "",
            y(4_500),
            date(2026, 8, 20),
        ))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "last rent withdrawal was on 2026-08-20 (W-2026-0100); once every 3 months, again from 2026-11-20",
    );
}

#[test]
fn rent_counts_the_months_since_the_last_withdrawal_within_the_yearly_limit() {
    let d = rent(after(), y(2_000), date(2025, 10, 1))
        .own(past(
            "W-2026-0010",
            Ground::Rent,
            "",
            y(9_000),
            date(2026, 1, 10),
        ))
        .own(past(
            "W-2026-0100",
            Ground::Rent,
            "",
            y(7_000),
            date(2026, 7, 10),
        ))
        // Older than 12 months: no longer counted.
        .own(past(
            "W-2025-0100",
            Ground::Rent,
            "",
            y(9_000),
            date(2025, 10, 10),
        ))
        .decide();
    // 3 months × 1,500 = 4,500, but only 18,000 − 16,000 = 2,000 left in 12 months.
    expect(&d, Resolution::Approve, y(2_000), "lease ZL-2026-0042");
    assert_eq!(
        binding(&d).what_en,
        "12-month limit 18,000.00 yuan less 16,000.00 yuan already withdrawn"
    );
    assert!(
        d.limits
            .iter()
            .any(|l| l.what_en.starts_with("3 month(s) × 1,500.00 yuan") && l.amount == y(4_500)),
        "{:?}",
        d.limits
    );
}

#[test]
fn rent_is_refused_to_an_owner_of_a_home_in_the_city() {
    let a = a();
    let d = rent(after(), y(2_000), date(2026, 7, 1))
        .fact(
            &a,
            Answer::Properties(vec![property(&[&a], HOME, "330802")]),
        )
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        &format!("owns a home in the city: {HOME}"),
    );
}

// ---------------------------------------------------------------------------------------
// Loan repayment.

fn repayment(mode: RepayMode) -> App {
    let a = a();
    App::new(Ground::LoanRepayment, after(), &a)
        .mode(mode)
        .balance(y(500_000), y(500_000))
        .fact(
            &a,
            credit(vec![
                loan(
                    LoanKind::CommercialHousing,
                    y(600_000),
                    y(300_000),
                    y(3_000),
                    Some(HOME),
                ),
                // Not counted: a car loan, and a repaid home loan.
                loan(LoanKind::Car, y(100_000), y(50_000), y(2_000), None),
                loan(
                    LoanKind::ProvidentFundHousing,
                    y(200_000),
                    Fen::new(0),
                    Fen::new(0),
                    Some(OTHER_HOME),
                ),
            ]),
        )
}

fn repaid(no: &str, mode: Option<RepayMode>, on: Date) -> Past {
    Past {
        mode,
        ..past(no, Ground::LoanRepayment, "", y(36_000), on)
    }
}

#[test]
fn loan_repayment_one_off_is_capped_by_the_outstanding_principal() {
    let d = repayment(RepayMode::OneOff).decide();
    expect(
        &d,
        Resolution::Approve,
        y(300_000),
        "home loan at 中国工商银行衢州分行 with 300,000.00 yuan outstanding",
    );
    assert_eq!(binding(&d).what_en, "outstanding home-loan principal");
}

#[test]
fn loan_repayment_yearly_is_twelve_monthly_payments() {
    let d = repayment(RepayMode::Yearly).decide();
    expect(&d, Resolution::Approve, y(36_000), "home loan at");
    assert_eq!(
        binding(&d).what_en,
        "twelve monthly payments of 3,000.00 yuan"
    );
}

#[test]
fn loan_repayment_monthly_is_the_months_payment() {
    let d = repayment(RepayMode::Monthly).decide();
    expect(&d, Resolution::Approve, y(3_000), "home loan at");
    assert_eq!(binding(&d).what_en, "this month's payment");
    // Exactly a month after the last monthly offset is allowed again.
    let d = repayment(RepayMode::Monthly)
        .own(repaid(
            "W-2026-0200",
            Some(RepayMode::Monthly),
            date(2026, 9, 15),
        ))
        .decide();
    expect(&d, Resolution::Approve, y(3_000), "home loan at");
}

#[test]
fn loan_repayment_within_the_interval_is_refused() {
    let d = repayment(RepayMode::Yearly)
        .own(repaid(
            "W-2026-0201",
            Some(RepayMode::Yearly),
            date(2026, 3, 1),
        ))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "last loan-repayment withdrawal was on 2026-03-01 (W-2026-0201); once every 12 month(s), again from 2027-03-01",
    );

    let d = repayment(RepayMode::Monthly)
        .own(repaid(
            "W-2026-0202",
            Some(RepayMode::Monthly),
            date(2026, 10, 1),
        ))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "once every 1 month(s), again from 2026-11-01",
    );

    // An earlier repayment recorded without a mode was a one-off one.
    let d = repayment(RepayMode::OneOff)
        .own(repaid("W-2026-0203", None, date(2026, 5, 1)))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "last loan-repayment withdrawal was on 2026-05-01 (W-2026-0203); once every 12 month(s), again from 2027-05-01",
    );
}

#[test]
fn loan_repayment_without_the_credit_report_goes_to_review() {
    let a = a();
    let d = App::new(Ground::LoanRepayment, after(), &a)
        .mode(RepayMode::Yearly)
        .down(Query::Credit, &a)
        .decide();
    expect(
        &d,
        Resolution::Review,
        Fen::new(0),
        "could not verify (credit/credit",
    );
}

// ---------------------------------------------------------------------------------------
// Renovation, property fees, building and repair: invoices for an owned home.

fn home_key_of_cert() -> String {
    format!("home:{CERT}")
}

fn invoiced(ground: Ground, today: Date, invoices: Vec<Invoice>) -> App {
    let (a, b) = (a(), b());
    App::new(ground, today, &a)
        .balance(y(400_000), y(400_000))
        .fact(&a, Answer::Invoices(invoices))
        .fact(
            &a,
            Answer::Properties(vec![property(&[&a, &b], HOME, "330802")]),
        )
}

fn renovation_invoices() -> Vec<Invoice> {
    let a = a();
    let mut voided = invoice(
        "26332000000000000003",
        InvoiceCategory::Renovation,
        date(2026, 9, 28),
        y(50_000),
        &a,
        HOME,
    );
    voided.voided = true;
    vec![
        invoice(
            "26332000000000000001",
            InvoiceCategory::Renovation,
            date(2026, 10, 1),
            y(86_500),
            &a,
            HOME,
        ),
        invoice(
            "26332000000000000002",
            InvoiceCategory::Renovation,
            date(2026, 9, 25),
            y(20_000),
            &a,
            HOME,
        ),
        voided,
        // Not counted: another kind, and a home he does not own.
        invoice(
            "26332000000000000004",
            InvoiceCategory::PropertyFee,
            date(2026, 10, 2),
            y(3_600),
            &a,
            HOME,
        ),
        invoice(
            "26332000000000000005",
            InvoiceCategory::Renovation,
            date(2026, 10, 10),
            y(10_000),
            &a,
            OTHER_HOME,
        ),
    ]
}

#[test]
fn renovation_before_the_amendment_is_refused() {
    let d = invoiced(Ground::Renovation, before(), renovation_invoices()).decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "renovation withdrawals apply from 2026-09-20",
    );
}

#[test]
fn renovation_pays_half_of_the_invoices() {
    let d = invoiced(Ground::Renovation, after(), renovation_invoices()).decide();
    // (86,500 + 20,000) × 50 % = 53,250.
    expect(
        &d,
        Resolution::Approve,
        y(53_250),
        "invoices counted: 26332000000000000001, 26332000000000000002, 106,500.00 yuan in all",
    );
    assert_eq!(d.home_key, home_key_of_cert());
    assert_eq!(
        binding(&d).what_en,
        "50 % of the renovation invoices of 106,500.00 yuan"
    );
}

#[test]
fn renovation_is_capped_at_250000_yuan() {
    let a = a();
    let d = invoiced(
        Ground::Renovation,
        after(),
        vec![invoice(
            "26332000000000000011",
            InvoiceCategory::Renovation,
            date(2026, 10, 1),
            y(600_000),
            &a,
            HOME,
        )],
    )
    .decide();
    expect(
        &d,
        Resolution::Approve,
        y(250_000),
        "600,000.00 yuan in all",
    );
    assert_eq!(binding(&d).what_en, "renovation maximum");
}

#[test]
fn renovation_of_the_same_home_twice_in_ten_years_is_refused() {
    // His wife, co-owner, withdrew for the home's renovation on 2026-09-21.
    let d = invoiced(Ground::Renovation, after(), renovation_invoices())
        .same_home(past(
            "W-2026-0300",
            Ground::Renovation,
            &home_key_of_cert(),
            y(20_000),
            date(2026, 9, 21),
        ))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "last renovation withdrawal for this home was on 2026-09-21 (W-2026-0300); only once per 10 years, again from 2036-09-21",
    );
}

fn fee_invoices() -> Vec<Invoice> {
    let a = a();
    vec![
        invoice(
            "26332000000000000021",
            InvoiceCategory::PropertyFee,
            date(2026, 10, 1),
            y(3_600),
            &a,
            HOME,
        ),
        // More than 12 months old: not counted.
        invoice(
            "26332000000000000020",
            InvoiceCategory::PropertyFee,
            date(2025, 9, 30),
            y(3_400),
            &a,
            HOME,
        ),
    ]
}

#[test]
fn property_fees_before_the_amendment_are_refused() {
    let d = invoiced(Ground::PropertyFee, before(), fee_invoices()).decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "property-fee withdrawals apply from 2026-09-20",
    );
}

#[test]
fn property_fees_pay_the_last_twelve_months_invoices() {
    let d = invoiced(Ground::PropertyFee, after(), fee_invoices()).decide();
    expect(
        &d,
        Resolution::Approve,
        y(3_600),
        "invoices counted: 26332000000000000021, 3,600.00 yuan in all",
    );
    assert_eq!(d.home_key, home_key_of_cert());
    assert_eq!(binding(&d).what_en, "property-fee invoices");
}

#[test]
fn property_fees_more_than_once_in_twelve_months_are_refused() {
    let d = invoiced(Ground::PropertyFee, after(), fee_invoices())
        .own(past(
            "W-2026-0400",
            Ground::PropertyFee,
            &home_key_of_cert(),
            y(3_000),
            date(2026, 9, 25),
        ))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "last property-fee withdrawal for this home was on 2026-09-25 (W-2026-0400); once every 12 months, again from 2027-09-25",
    );
}

fn build_invoices() -> Vec<Invoice> {
    let a = a();
    vec![
        invoice(
            "26332000000000000031",
            InvoiceCategory::Construction,
            date(2026, 3, 1),
            y(120_000),
            &a,
            HOME,
        ),
        invoice(
            "26332000000000000032",
            InvoiceCategory::Repair,
            date(2026, 5, 1),
            y(30_000),
            &a,
            HOME,
        ),
        // Not counted: renovation, and building more than 24 months ago.
        invoice(
            "26332000000000000033",
            InvoiceCategory::Renovation,
            date(2026, 5, 2),
            y(40_000),
            &a,
            HOME,
        ),
        invoice(
            "26332000000000000030",
            InvoiceCategory::Construction,
            date(2024, 6, 14),
            y(80_000),
            &a,
            HOME,
        ),
    ]
}

#[test]
fn build_repair_pays_the_construction_and_repair_invoices_of_an_owned_home() {
    let d = invoiced(Ground::BuildRepair, before(), build_invoices()).decide();
    expect(
        &d,
        Resolution::Approve,
        y(150_000),
        "invoices counted: 26332000000000000031, 26332000000000000032, 150,000.00 yuan in all",
    );
    assert_eq!(d.home_key, home_key_of_cert());
    assert_eq!(binding(&d).what_en, "building or repair invoices");

    // After a withdrawal for the home on 2026-04-01 only the later invoice counts.
    let d = invoiced(Ground::BuildRepair, before(), build_invoices())
        .own(past(
            "W-2026-0500",
            Ground::BuildRepair,
            &home_key_of_cert(),
            y(120_000),
            date(2026, 4, 1),
        ))
        .decide();
    expect(
        &d,
        Resolution::Approve,
        y(30_000),
        "invoices counted: 26332000000000000032, 30,000.00 yuan in all",
    );
}

#[test]
fn build_repair_without_an_invoice_for_an_owned_home_is_refused() {
    let a = a();
    let d = invoiced(
        Ground::BuildRepair,
        before(),
        vec![invoice(
            "26332000000000000041",
            InvoiceCategory::Construction,
            date(2026, 3, 1),
            y(120_000),
            &a,
            OTHER_HOME,
        )],
    )
    .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "no valid invoice of this kind for a home the applicant owns",
    );
}

// ---------------------------------------------------------------------------------------
// Renewal (old-community renovation, lifts).

fn renewal(completed_on: Option<Date>) -> App {
    let (a, b) = (a(), b());
    App::new(Ground::Renewal, after(), &a).fact(
        &a,
        Answer::Renewal(vec![RenewalShare {
            project_no: "P-2024-007".into(),
            project_name: "荷花新村加装电梯".into(),
            kind: RenewalKind::LiftInstallation,
            address: HOME.into(),
            share: y(12_000),
            approved_on: date(2023, 3, 1),
            completed_on,
            owners: vec![a.clone(), b],
        }]),
    )
}

fn project_key() -> String {
    format!("project:P-2024-007:{HOME}")
}

#[test]
fn renewal_pays_the_share_less_what_the_home_withdrew() {
    let d = renewal(Some(date(2025, 6, 30)))
        .same_home(past(
            "W-2026-0600",
            Ground::Renewal,
            &project_key(),
            y(5_000),
            date(2025, 8, 1),
        ))
        .decide();
    expect(
        &d,
        Resolution::Approve,
        y(7_000),
        "P-2024-007: household share 12,000.00 yuan",
    );
    assert_eq!(d.home_key, project_key());
    assert_eq!(
        binding(&d).what_en,
        "the household's share 12,000.00 yuan less 5,000.00 yuan withdrawn"
    );
}

#[test]
fn renewal_more_than_36_months_after_completion_is_refused() {
    let d = renewal(Some(date(2023, 6, 30))).decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "project P-2024-007 dates from 2023-06-30; claims close 36 months later, on 2026-06-30",
    );
}

#[test]
fn renewal_twice_for_the_same_project_is_refused() {
    let d = renewal(Some(date(2025, 6, 30)))
        .own(past(
            "W-2025-0601",
            Ground::Renewal,
            &project_key(),
            y(5_000),
            date(2025, 8, 1),
        ))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "last renewal withdrawal for this project was on 2025-08-01 (W-2025-0601); only once per project",
    );
}

// ---------------------------------------------------------------------------------------
// Closing withdrawals.

/// A closing withdrawal from an account of 56,789.12 yuan with 123.45 yuan interest to
/// date.
fn closing(ground: Ground, subject: &str) -> App {
    let mut app =
        App::new(ground, after(), subject).balance(Fen::new(5_678_912), Fen::new(5_678_912));
    app.closing_interest = Fen::new(12_345);
    app
}

/// 56,789.12 + 123.45.
const CLOSING_TOTAL: Fen = Fen::new(5_691_257);

#[test]
fn retirement_on_the_social_security_record_is_approved_with_balance_and_interest() {
    // A woman born 1972-05-01: not yet at the cadres' age, but retired on record.
    let w = id("33080219720501124");
    let d = closing(Ground::Retirement, &w)
        .fact(&w, employment(false, Some(date(2022, 5, 1)), false))
        .decide();
    expect(
        &d,
        Resolution::Approve,
        CLOSING_TOTAL,
        "retired on 2022-05-01",
    );
    assert!(d.closes_account);
    assert_eq!(d.home_key, "");
}

#[test]
fn retirement_of_a_man_born_1960_is_approved_by_statutory_age() {
    let m = id("33080219600315123");
    let d = closing(Ground::Retirement, &m)
        .fact(&m, Answer::Employment(None))
        .decide();
    expect(
        &d,
        Resolution::Approve,
        CLOSING_TOTAL,
        "reached the statutory retirement age on 2020-03-15",
    );
}

#[test]
fn retirement_of_a_man_born_1975_is_refused_with_his_date() {
    // Born 1975-03: 60 years + 31 months under the 2025 reform = 2037-10-15.
    let m = id("33080219750315123");
    let d = closing(Ground::Retirement, &m)
        .fact(&m, employment(true, None, false))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "the statutory retirement age is reached only on 2037-10-15",
    );
}

#[test]
fn retirement_of_a_woman_between_the_workers_and_cadres_ages_goes_to_review() {
    // Born 1974-06-10: women workers 50 (2024-06-10), cadres 56 y 2 m (2030-08-10).
    let w = id("33080219740610124");
    let d = closing(Ground::Retirement, &w)
        .fact(&w, employment(false, None, false))
        .decide();
    expect(
        &d,
        Resolution::Review,
        CLOSING_TOTAL,
        "past the women workers' retirement age (2024-06-10) but not the cadres' (2030-08-10) and no retirement on record",
    );
}

#[test]
fn a_closing_withdrawal_must_take_balance_and_interest() {
    let m = id("33080219600315123");
    let app =
        closing(Ground::Retirement, &m).fact(&m, employment(false, Some(date(2020, 4, 1)), false));
    let d = app.clone().ask(y(50_000)).decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "a closing withdrawal pays the whole balance with interest, 56,912.57 yuan, not 50,000.00 yuan",
    );
    let d = app.ask(CLOSING_TOTAL).decide();
    expect(
        &d,
        Resolution::Approve,
        CLOSING_TOTAL,
        "retired on 2020-04-01",
    );
}

#[test]
fn a_closing_withdrawal_waits_for_one_in_flight() {
    let m = id("33080219600315123");
    let d = closing(Ground::Retirement, &m)
        .fact(&m, employment(false, Some(date(2020, 4, 1)), false))
        .balance(Fen::new(5_678_912), y(50_000))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "another withdrawal from the account is still in flight",
    );
}

#[test]
fn disability_needs_lost_work_capacity_and_no_employment() {
    let a = a();
    let d = closing(Ground::Disability, &a)
        .fact(&a, employment(false, None, true))
        .decide();
    expect(
        &d,
        Resolution::Approve,
        CLOSING_TOTAL,
        "appraised as completely unable to work; no current employment on social-security record",
    );

    let d = closing(Ground::Disability, &a)
        .fact(&a, employment(true, None, true))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "still employed and insured by 衢州某某有限公司",
    );
}

#[test]
fn emigration_needs_the_household_cancelled_for_emigration() {
    let a = a();
    let d = closing(Ground::Emigration, &a)
        .fact(
            &a,
            household(
                "330802",
                "浙江省衢州市柯城区",
                Some(CancelReason::Emigration),
            ),
        )
        .decide();
    expect(
        &d,
        Resolution::Approve,
        CLOSING_TOTAL,
        "household registration cancelled on 2026-08-01 for emigration",
    );

    let d = closing(Ground::Emigration, &a)
        .fact(
            &a,
            household(
                "330802",
                "浙江省衢州市柯城区",
                Some(CancelReason::MovedAway),
            ),
        )
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "public security has no cancellation of the household for emigration",
    );
}

#[test]
fn moved_out_needs_a_sealed_account() {
    let a = a();
    let app =
        closing(Ground::MovedOut, &a).fact(&a, household("330106", "浙江省杭州市西湖区", None));
    let d = app.decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "the account must be sealed (employment ended) before a moved-out withdrawal",
    );

    let d = app
        .status(PersonalAccountStatus::Sealed, Some(date(2026, 5, 1)))
        .decide();
    expect(
        &d,
        Resolution::Approve,
        CLOSING_TOTAL,
        "household moved to 浙江省杭州市西湖区 on 2026-05-01",
    );

    let d = closing(Ground::MovedOut, &a)
        .status(PersonalAccountStatus::Sealed, Some(date(2026, 5, 1)))
        .fact(&a, household("330802", "浙江省衢州市柯城区", None))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "household is still registered in the city",
    );
}

#[test]
fn left_job_needs_six_months_sealed() {
    let a = a();
    let app = closing(Ground::LeftJob, &a).fact(&a, Answer::Employment(None));

    let d = app
        .status(PersonalAccountStatus::Sealed, Some(date(2026, 3, 1)))
        .decide();
    expect(
        &d,
        Resolution::Approve,
        CLOSING_TOTAL,
        "sealed since 2026-03-01, at least 6 months",
    );

    let d = closing(Ground::LeftJob, &a)
        .fact(&a, Answer::Employment(None))
        .status(PersonalAccountStatus::Sealed, Some(date(2026, 6, 1)))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "the account was sealed on 2026-06-01; it must stay sealed 6 months (until 2026-12-01)",
    );

    let d = closing(Ground::LeftJob, &a)
        .fact(&a, Answer::Employment(None))
        .decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "a left-job withdrawal needs the account to be sealed",
    );
}

#[test]
fn death_pays_the_heirs_the_balance_with_interest() {
    let a = a();
    let (h1, h2) = (b(), id("33080220150707123"));
    let app = closing(Ground::Death, &a)
        .party(&h1, Role::Heir)
        .party(&h2, Role::Heir);
    let d = app
        .clone()
        .fact(
            &a,
            Answer::Death(Some(DeathRecord {
                died_on: date(2026, 8, 8),
                certificate_no: "330802-2026-000123".into(),
            })),
        )
        .decide();
    expect(
        &d,
        Resolution::Approve,
        CLOSING_TOTAL,
        "death registered on 2026-08-08 (330802-2026-000123)",
    );
    assert!(d.closes_account);
    // Two heirs' identities and the death.
    assert_eq!(d.checks.len(), 3);
    let parts = split_by_shares(d.amount, &[(1, 2), (1, 2)]);
    assert_eq!(parts, vec![Fen::new(2_845_629), Fen::new(2_845_628)]);

    let d = app.fact(&a, Answer::Death(None)).decide();
    expect(
        &d,
        Resolution::Refuse,
        Fen::new(0),
        "civil affairs has no death registered",
    );
}

#[test]
fn illness_pays_the_years_self_paid_costs_less_what_was_withdrawn() {
    let a = a();
    let mut app = App::new(Ground::Illness, after(), &a).fact_of_year(
        &a,
        2026,
        Answer::Medical(vec![
            MedicalExpense {
                year: 2026,
                serious_illness: true,
                diagnosis: "恶性肿瘤".into(),
                total: y(180_000),
                self_paid: y(45_000),
            },
            MedicalExpense {
                year: 2026,
                serious_illness: false,
                diagnosis: "骨折".into(),
                total: y(20_000),
                self_paid: y(5_000),
            },
        ]),
    );
    app.claims.year = Some(2026);
    let d = app
        .own(past(
            "W-2026-0700",
            Ground::Illness,
            "illness:2026",
            y(10_000),
            date(2026, 3, 1),
        ))
        .own(past(
            "W-2025-0700",
            Ground::Illness,
            "illness:2025",
            y(8_000),
            date(2025, 3, 1),
        ))
        .decide();
    expect(
        &d,
        Resolution::Approve,
        y(35_000),
        "2026: serious illness, 45,000.00 yuan paid by the person",
    );
    assert_eq!(d.home_key, "illness:2026");
    assert_eq!(
        binding(&d).what_en,
        "2026 self-paid serious-illness costs 45,000.00 yuan less 10,000.00 yuan withdrawn"
    );
}

#[test]
fn other_grounds_always_go_to_review() {
    let d = App::new(Ground::Other, after(), &a())
        .ask(y(5_000))
        .decide();
    expect(
        &d,
        Resolution::Review,
        y(5_000),
        "an \"other\" withdrawal is decided by staff",
    );
    assert!(d.checks.iter().all(|v| v.outcome == Outcome::Verified));
}

// ---------------------------------------------------------------------------------------
// Heirs' shares.

#[test]
fn split_by_shares_adds_up_to_the_total_exactly() {
    assert_eq!(
        split_by_shares(y(100), &[(1, 3), (1, 3), (1, 3)]),
        vec![Fen::new(3_334), Fen::new(3_333), Fen::new(3_333)]
    );
    assert_eq!(
        split_by_shares(Fen::new(1_001), &[(1, 2), (1, 4), (1, 4)]),
        vec![Fen::new(501), Fen::new(250), Fen::new(250)]
    );
    // The leftover fen goes to the largest remainder, not the first heir.
    assert_eq!(
        split_by_shares(Fen::new(10), &[(1, 3), (2, 3)]),
        vec![Fen::new(3), Fen::new(7)]
    );
    assert_eq!(
        split_by_shares(Fen::new(1), &[(1, 3), (1, 3), (1, 3)]),
        vec![Fen::new(1), Fen::new(0), Fen::new(0)]
    );
    for total in [0, 1, 2, 99, 100, 101, 12_345, 5_691_257] {
        for shares in [
            vec![(1, 3), (1, 3), (1, 3)],
            vec![(1, 2), (1, 3), (1, 6)],
            vec![(3, 7), (2, 7), (1, 7), (1, 7)],
            vec![(1, 1)],
        ] {
            let parts = split_by_shares(Fen::new(total), &shares);
            assert_eq!(parts.len(), shares.len());
            assert_eq!(
                parts.iter().map(|p| p.fen()).sum::<i64>(),
                total,
                "{total} by {shares:?}: {parts:?}"
            );
        }
    }
}

#[test]
fn split_by_shares_compares_remainders_exactly() {
    // Remainders 0.4000005 and 0.4000009 of a fen: the second is larger.
    let d = 10_000_000;
    assert_eq!(
        split_by_shares(
            Fen::new(1),
            &[(4_000_005, d), (4_000_009, d), (1_999_986, d)]
        ),
        vec![Fen::new(0), Fen::new(1), Fen::new(0)]
    );
}

#[test]
fn shares_add_up_only_to_exactly_one() {
    assert!(shares_add_up(&[(1, 2), (1, 3), (1, 6)]));
    assert!(shares_add_up(&[(1, 1)]));
    assert!(shares_add_up(&[(2, 4), (1, 2)]));
    assert!(shares_add_up(&[(1, 3), (1, 3), (1, 3)]));
    // Ten heirs in ten-thousandths, thirty heirs in thirtieths: the product of the
    // denominators would overflow.
    assert!(shares_add_up(&[(1_000, 10_000); 10]));
    assert!(shares_add_up(&[(1, 30); 30]));

    assert!(!shares_add_up(&[]));
    assert!(!shares_add_up(&[(1, 2), (1, 3)]));
    assert!(!shares_add_up(&[(1, 2), (1, 2), (1, 3)]));
    assert!(!shares_add_up(&[(0, 1), (1, 1)]));
    assert!(!shares_add_up(&[(2, 1)]));
    assert!(!shares_add_up(&[(1, 0), (1, 1)]));
    assert!(!shares_add_up(&[(-1, 2), (3, 2)]));
    assert!(!shares_add_up(&[(1_000, 10_000); 9]));
    assert!(!shares_add_up(&[
        (1, i64::MAX),
        (1, i64::MAX - 1),
        (1, i64::MAX - 2)
    ]));
}
