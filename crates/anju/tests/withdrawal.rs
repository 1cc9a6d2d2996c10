//! Withdrawals end to end, on every backend: `anju exchange-sim` and `anju bank-sim` run
//! as separate processes on loopback; every ground has a passing case (paid through the
//! bank simulator, visible in the ledger), a refused case with its reason, and an
//! unavailable-fact case that goes to staff review; maker-checker, a bounced payout,
//! bad input, one in-flight application per ground, the CLI, and `anju audit`.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::process::Command;
use std::sync::Arc;

use anju_app::AppError;
use anju_app::ledger::{audit, open_centre, post_one, set_business_date};
use anju_app::registry::{
    MemberAct, NewMember, NewUnit, change_member, open_member, register_unit,
};
use anju_app::settlement::{BankSet, NewBank, Settlement, bind_card, register_bank, resolve_all};
use anju_app::sharing::Departments;
use anju_app::withdrawal::{
    self as wd, Heir, NewWithdrawal, Proposal, WithdrawalView, Withdrawals,
};
use anju_bank::client::BankClient;
use anju_bank::sim::process::BankSimProcess;
use anju_domain::codes::{Channel, MaritalStatus, PersonalAccountStatus, Sex};
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::sharing::verify::Claims;
use anju_domain::sharing::{
    Area, CancelReason, ContractKind, CreditLoan, CreditReport, DeathRecord, Employment, Household,
    HouseholdCancellation, Identity, Invoice, InvoiceCategory, Lease, LoanKind, Marriage,
    MedicalExpense, Property, PurchaseContract, RenewalKind, RenewalShare,
};
use anju_domain::stamp::Stamp;
use anju_domain::withdrawal::{Ground, RepayMode};
use anju_exchange::sim::dataset::{Dataset, PersonRecord};
use anju_store::Store;
use anju_testkit::for_each_backend;
use jiff::Timestamp;
use jiff::civil::Date;

use common::{EXE, ExchangeSim, departments, id};

const C: &str = "330800000000000";
const BANK: &str = "105";
const FUND: &str = "33050166000000000105";
const CENTRE_NAME: &str = "衢州市住房公积金管理中心";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}
fn today() -> Date {
    d("2026-11-27")
}
fn yuan(s: &str) -> Fen {
    Fen::parse_yuan(s).unwrap()
}
fn clerk(id: &str) -> Stamp {
    Stamp {
        operator: format!("staff:{id}"),
        channel: Channel::Counter,
        service_point: "hall-kecheng".into(),
        on_behalf_of: None,
    }
}
fn online(id: &str) -> Stamp {
    Stamp {
        operator: format!("member:{id}"),
        channel: Channel::Zlb,
        service_point: "online".into(),
        on_behalf_of: None,
    }
}

fn card(i: usize) -> String {
    format!("62270000000{i:08}")
}

/// One member of the fixture.
#[derive(Clone)]
struct Person {
    id: String,
    name: String,
    account: String,
    card: String,
}

fn identity(p: &Person, sex: Sex) -> Identity {
    Identity {
        id_number: p.id.clone(),
        name: p.name.clone(),
        sex,
        birth_date: IdCard::parse(&p.id).unwrap().birth_date(),
        alive: true,
    }
}

fn base_record(p: &Person, sex: Sex) -> PersonRecord {
    PersonRecord {
        identity: Some(identity(p, sex)),
        household: Some(Household {
            region_code: "330802".into(),
            region_name: "衢州市柯城区".into(),
            since: d("2000-01-01"),
            cancelled: None,
        }),
        marriage: Some(Marriage {
            status: MaritalStatus::Unmarried,
            spouse_id: None,
            spouse_name: None,
            since: None,
        }),
        employment: Some(Employment {
            insured: true,
            employer_credit_code: Some("91330802MA2DXXXX2X".into()),
            employer_name: Some("衢州市示范科技有限公司".into()),
            continuous_months: 60,
            last_paid_month: Some("2026-10".into()),
            retired_on: None,
            disability_grade: None,
            work_capacity_lost: false,
            insured_region: None,
        }),
        ..PersonRecord::default()
    }
}

fn not_employed(r: &mut PersonRecord) {
    if let Some(e) = r.employment.as_mut() {
        e.insured = false;
        e.employer_credit_code = None;
        e.employer_name = None;
    }
}

fn home(p: &Person, address: &str, region: &str) -> Property {
    Property {
        certificate_no: format!("浙(2020)衢州市不动产权第{}号", &p.id[10..16]),
        address: address.into(),
        region_code: region.into(),
        area: Area(9_000),
        in_province: region.starts_with("33"),
        registered_on: d("2020-06-01"),
        mortgaged: false,
        owners: vec![p.id.clone()],
    }
}

fn invoice(
    p: &Person,
    no: u64,
    category: InvoiceCategory,
    amount: &str,
    on: &str,
    address: &str,
) -> Invoice {
    Invoice {
        invoice_no: format!("{no:020}"),
        category,
        issued_on: d(on),
        amount: yuan(amount),
        buyer_id: p.id.clone(),
        seller_name: "衢州市安居装饰工程有限公司".into(),
        address: address.into(),
        region_code: "330802".into(),
        voided: false,
    }
}

/// The fixture's people, by role in the scenarios.
struct World {
    people: Vec<Person>,
}

impl World {
    fn p(&self, i: usize) -> &Person {
        &self.people[i]
    }
}

const N: usize = 36;

/// Names and birth dates of the fixture's people (index = scenario person).
fn roster() -> Vec<(String, String, bool)> {
    (0..N)
        .map(|i| {
            let (birth, male) = match i {
                11 => ("19600315".to_owned(), true),  // retired by statutory age
                12 => ("19800315".to_owned(), true),  // far from retirement
                27 => ("19740601".to_owned(), false), // woman between worker and cadre age
                _ => (
                    format!("1985{:02}{:02}", 1 + i % 12, 1 + i % 28),
                    i % 2 == 0,
                ),
            };
            (format!("职工{i:02}"), birth, male)
        })
        .collect()
}

fn dataset(w: &World) -> Dataset {
    let mut ds = Dataset::empty(Timestamp::now());
    for (i, p) in w.people.iter().enumerate() {
        let sex = if IdCard::parse(&p.id).unwrap().sex() == Sex::Male {
            Sex::Male
        } else {
            Sex::Female
        };
        let mut r = base_record(p, sex);
        let addr = format!("衢州市柯城区荷花街道安居苑{i}幢101");
        match i {
            // 0: purchase (new home, with a commercial loan on it).
            0 => {
                r.contracts.push(PurchaseContract {
                    contract_no: "QZ-2026-000100".into(),
                    kind: ContractKind::New,
                    address: addr.clone(),
                    region_code: "330802".into(),
                    area: Area(11_250),
                    price: yuan("1000000"),
                    signed_on: d("2026-09-25"),
                    filed_on: d("2026-10-01"),
                    buyers: vec![p.id.clone()],
                    seller_name: "衢州锦绣置业有限公司".into(),
                    seller_account: "33050100000000001234".into(),
                    seller_bank: BANK.into(),
                    cancelled: false,
                });
                r.credit = Some(CreditReport {
                    loans: vec![CreditLoan {
                        lender: "中国建设银行衢州分行".into(),
                        kind: LoanKind::CommercialHousing,
                        principal: yuan("950000"),
                        balance: yuan("950000"),
                        monthly_payment: yuan("4500"),
                        opened_on: d("2026-10-10"),
                        overdue_months: 0,
                        property_address: Some(addr.clone()),
                    }],
                    overdue_count_24m: 0,
                });
            }
            // 1: purchase refused: the contract was filed three years ago.
            1 => r.contracts.push(PurchaseContract {
                contract_no: "QZ-2023-000200".into(),
                kind: ContractKind::SecondHand,
                address: addr.clone(),
                region_code: "330802".into(),
                area: Area(8_000),
                price: yuan("600000"),
                signed_on: d("2023-05-01"),
                filed_on: d("2023-05-05"),
                buyers: vec![p.id.clone()],
                seller_name: "某某".into(),
                seller_account: "6222000000000009".into(),
                seller_bank: BANK.into(),
                cancelled: false,
            }),
            // 2: repair of an owned home; 3: an invoice for a home not owned.
            2 => {
                r.properties.push(home(p, &addr, "330802"));
                r.invoices.push(invoice(
                    p,
                    2_001,
                    InvoiceCategory::Repair,
                    "30000",
                    "2026-06-01",
                    &addr,
                ));
            }
            3 => r.invoices.push(invoice(
                p,
                3_001,
                InvoiceCategory::Construction,
                "80000",
                "2026-06-01",
                &addr,
            )),
            // 4: renovation (twice: the second is refused).
            4 => {
                r.properties.push(home(p, &addr, "330802"));
                r.invoices.push(invoice(
                    p,
                    4_001,
                    InvoiceCategory::Renovation,
                    "100000",
                    "2026-10-15",
                    &addr,
                ));
            }
            // 5: a home loan to repay; 6: none.
            5 => {
                r.credit = Some(CreditReport {
                    loans: vec![CreditLoan {
                        lender: "杭州银行".into(),
                        kind: LoanKind::CommercialHousing,
                        principal: yuan("500000"),
                        balance: yuan("200000"),
                        monthly_payment: yuan("3000"),
                        opened_on: d("2015-03-01"),
                        overdue_months: 0,
                        property_address: Some("杭州市西湖区某小区1幢".into()),
                    }],
                    overdue_count_24m: 0,
                });
            }
            6 => {
                r.credit = Some(CreditReport {
                    loans: vec![],
                    overdue_count_24m: 0,
                });
            }
            // 7: renting, no home in the city.
            7 => r.leases.push(Lease {
                lease_no: "ZL-2026-0007".into(),
                address: addr.clone(),
                region_code: "330802".into(),
                monthly_rent: yuan("2000"),
                starts_on: d("2026-08-01"),
                ends_on: d("2027-07-31"),
                tenants: vec![p.id.clone()],
            }),
            // 8: property fees.
            8 => {
                r.properties.push(home(p, &addr, "330802"));
                r.invoices.push(invoice(
                    p,
                    8_001,
                    InvoiceCategory::PropertyFee,
                    "3600",
                    "2026-10-10",
                    &addr,
                ));
            }
            // 9: lift installation share; 10: a project completed in 2022.
            9 | 10 => r.renewal.push(RenewalShare {
                project_no: format!("JZDT-{i}"),
                project_name: "荷花街道既有住宅加装电梯".into(),
                kind: RenewalKind::LiftInstallation,
                address: addr.clone(),
                share: yuan("20000"),
                approved_on: if i == 9 {
                    d("2026-03-01")
                } else {
                    d("2021-03-01")
                },
                completed_on: if i == 9 { None } else { Some(d("2022-01-01")) },
                owners: vec![p.id.clone()],
            }),
            // 13: complete loss of work capacity, employment ended; 14: no appraisal.
            13 => {
                not_employed(&mut r);
                if let Some(e) = r.employment.as_mut() {
                    e.work_capacity_lost = true;
                    e.disability_grade = Some(1);
                }
            }
            // 15: emigrated.
            15 => {
                if let Some(h) = r.household.as_mut() {
                    h.cancelled = Some(HouseholdCancellation {
                        on: d("2026-10-20"),
                        reason: CancelReason::Emigration,
                    });
                }
            }
            // 17: household moved to Nanjing.
            17 => {
                r.household = Some(Household {
                    region_code: "320102".into(),
                    region_name: "南京市玄武区".into(),
                    since: d("2026-09-01"),
                    cancelled: None,
                });
            }
            // 19: died; 20: alive.
            19 => {
                r.death = Some(DeathRecord {
                    died_on: d("2026-10-05"),
                    certificate_no: "SW-3308-2026-0019".into(),
                });
                if let Some(i) = r.identity.as_mut() {
                    i.alive = false;
                }
            }
            // 21: serious illness; 22: ordinary expenses.
            21 | 22 | 32 => r.medical.push(MedicalExpense {
                year: 2026,
                serious_illness: i != 22,
                diagnosis: if i == 21 { "恶性肿瘤" } else { "门诊" }.into(),
                total: yuan("80000"),
                self_paid: yuan("30000"),
            }),
            // 28: a mortgage from a bank in another city, repaid by the monthly offset.
            28 => {
                r.credit = Some(CreditReport {
                    loans: vec![CreditLoan {
                        lender: "上海浦东发展银行".into(),
                        kind: LoanKind::CommercialHousing,
                        principal: yuan("400000"),
                        balance: yuan("300000"),
                        monthly_payment: yuan("2500"),
                        opened_on: d("2020-03-01"),
                        overdue_months: 0,
                        property_address: Some("上海市浦东新区某小区2幢".into()),
                    }],
                    overdue_count_24m: 0,
                });
            }
            // 23, 24: left their jobs.
            23 | 24 => not_employed(&mut r),
            // 33 bought a home alone; 34 is 33's spouse; 35 is not married.
            33 => {
                r.contracts.push(PurchaseContract {
                    contract_no: "QZ-2026-000333".into(),
                    kind: ContractKind::SecondHand,
                    address: addr.clone(),
                    region_code: "330802".into(),
                    area: Area(10_000),
                    price: yuan("800000"),
                    signed_on: d("2026-09-01"),
                    filed_on: d("2026-09-03"),
                    buyers: vec![p.id.clone()],
                    seller_name: "某某".into(),
                    seller_account: "6222000000000033".into(),
                    seller_bank: BANK.into(),
                    cancelled: false,
                });
                r.credit = Some(CreditReport {
                    loans: vec![],
                    overdue_count_24m: 0,
                });
                // The second-hand home is already registered to the buyer.
                r.properties.push(home(p, &addr, "330802"));
                r.marriage = Some(Marriage {
                    status: MaritalStatus::Married,
                    spouse_id: Some(w.p(34).id.clone()),
                    spouse_name: Some(w.p(34).name.clone()),
                    since: Some(d("2015-05-20")),
                });
            }
            34 => {
                r.marriage = Some(Marriage {
                    status: MaritalStatus::Married,
                    spouse_id: Some(w.p(33).id.clone()),
                    spouse_name: Some(w.p(33).name.clone()),
                    since: Some(d("2015-05-20")),
                });
            }
            // 31: a cheap lease (the rent cap is 1,000 a month).
            31 => r.leases.push(Lease {
                lease_no: "ZL-2026-0031".into(),
                address: addr.clone(),
                region_code: "330802".into(),
                monthly_rent: yuan("1000"),
                starts_on: d("2026-10-01"),
                ends_on: d("2027-09-30"),
                tenants: vec![p.id.clone()],
            }),
            _ => {}
        }
        ds.people.insert(p.id.clone(), r);
    }
    for (k, (hid, hname)) in heirs().into_iter().enumerate() {
        let heir = Person {
            id: hid.clone(),
            name: hname,
            account: String::new(),
            card: card(N + 100 + k),
        };
        let sex = IdCard::parse(&hid).unwrap().sex();
        ds.people.insert(hid, base_record(&heir, sex));
    }
    ds
}

/// Heirs of person 19 (not members).
fn heirs() -> Vec<(String, String)> {
    vec![
        (id("19900101", 401, true), "继承人甲".to_owned()),
        (id("19920202", 402, false), "继承人乙".to_owned()),
    ]
}

/// Everything a scenario needs.
struct Env<'a> {
    store: &'a dyn Store,
    policy: Policy,
    live: Departments,
    dead: Departments,
    banks: BankSet,
    world: World,
    _sim: ExchangeSim,
}

impl Env<'_> {
    fn ctx<'s>(&'s self, departments: &'s Departments) -> Withdrawals<'s> {
        Withdrawals {
            store: self.store,
            departments,
            banks: &self.banks,
            centre: C,
            policy: &self.policy,
        }
    }

    fn apply_with(
        &self,
        departments: &Departments,
        new: &NewWithdrawal,
    ) -> Result<WithdrawalView, AppError> {
        wd::apply(&self.ctx(departments), new, Timestamp::now())
    }

    fn apply(&self, no: &str, who: usize, ground: Ground, claims: Claims) -> WithdrawalView {
        self.apply_with(&self.live, &self.request(no, who, ground, claims))
            .unwrap()
    }

    fn request(&self, no: &str, who: usize, ground: Ground, claims: Claims) -> NewWithdrawal {
        let p = self.world.p(who);
        NewWithdrawal {
            application_no: no.into(),
            id_number: p.id.clone(),
            ground,
            mode: None,
            requested: None,
            claims,
            spouse: None,
            heirs: vec![],
            consents: vec![],
            stamp: online(&p.id),
        }
    }

    fn balance(&self, who: usize) -> Fen {
        let no = AccountNo::sub("201", &self.world.p(who).account).unwrap();
        self.store
            .begin_read()
            .unwrap()
            .load_accounts(C, &[no])
            .unwrap()
            .pop()
            .unwrap()
            .balance
    }

    fn status(&self, who: usize) -> PersonalAccountStatus {
        self.store
            .begin_read()
            .unwrap()
            .member(C, &self.world.p(who).account)
            .unwrap()
            .unwrap()
            .status
    }
}

fn paid(v: &WithdrawalView, amount: &str) {
    assert_eq!(
        v.status, "paid",
        "{} {}: {}",
        v.application_no, v.status, v.reason_en
    );
    assert_eq!(v.amount, yuan(amount), "{}", v.application_no);
    assert_eq!(v.payees.len(), 1);
    assert_eq!(v.payees[0].state, "executed");
    assert!(v.payees[0].bank_ref.is_some());
    let steps: Vec<&str> = v.events.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(
        steps,
        ["submitted", "verifying", "approved", "paying", "paid"]
    );
}

fn refused(v: &WithdrawalView, reason: &str) {
    assert_eq!(v.status, "refused", "{}: {}", v.application_no, v.reason_en);
    assert!(
        v.reason_en.contains(reason),
        "{}: expected {reason:?} in {:?}",
        v.application_no,
        v.reason_en
    );
    assert!(!v.reason_zh.is_empty());
    assert_eq!(v.amount, Fen::ZERO);
    assert!(v.payees.iter().all(|p| p.state == "not sent"));
}

fn in_review(v: &WithdrawalView) {
    assert_eq!(v.status, "review", "{}: {}", v.application_no, v.reason_en);
    assert!(v.reason_en.contains("staff"), "{}", v.reason_en);
}

/// Sets the world up: centre, bank, unit, members with 100,000.00 each (some sealed,
/// one frozen), cards at Anju and at the bank simulator.
fn setup<'a>(store: &'a dyn Store, bank: &BankSimProcess) -> Env<'a> {
    let policy = Policy::from_toml(QUZHOU_POLICY).unwrap();
    let now = Timestamp::now();
    open_centre(store, C, CENTRE_NAME, d("2026-01-05"), now).unwrap();
    register_bank(
        store,
        C,
        &NewBank {
            code: BANK.into(),
            name: "中国建设银行衢州分行".into(),
            fund_account: FUND.into(),
            fund_account_name: CENTRE_NAME.into(),
        },
    )
    .unwrap();
    let unit = register_unit(
        store,
        C,
        &policy,
        NewUnit {
            credit_code: CreditCode::with_check_char("91330802MA2DXXXX2").unwrap(),
            name: "衢州市示范科技有限公司".into(),
            address: "衢州市柯城区荷花中路1号".into(),
            legal_rep: "赵六".into(),
            payday: 10,
            bank_code: BANK.into(),
            unit_ratio: Rate::from_percent(12),
            member_ratio: Rate::from_percent(12),
        },
        &clerk("S0001"),
        now,
    )
    .unwrap();
    let admin = bank.admin();
    let mut people = Vec::new();
    for (i, (name, birth, male)) in roster().into_iter().enumerate() {
        let pid = id(&birth, i as u32 + 1, male);
        let (m, _) = open_member(
            store,
            C,
            &policy,
            NewMember {
                id_card: IdCard::parse(&pid).unwrap(),
                name: name.clone(),
                unit_no: unit.unit_no.clone(),
                wage: yuan("8000"),
            },
            &clerk("S0001"),
            now,
        )
        .unwrap();
        let opening = EntryRequest::posted(
            format!("open:{}", m.account_no),
            TxCode::OpeningBalance,
            d("2026-01-05"),
            d("2026-01-05"),
            vec![
                Leg::debit(AccountNo::sub("101", BANK).unwrap(), yuan("100000")),
                Leg::credit(
                    AccountNo::sub("201", &m.account_no).unwrap(),
                    yuan("100000"),
                ),
            ],
            "期初余额",
            Stamp::system("migration"),
        );
        post_one(store, C, opening, now).unwrap();
        let card_no = card(i);
        // Person 32 has not bound a payout card yet.
        if i != 32 {
            bind_card(store, C, &m.account_no, BANK, &card_no).unwrap();
        }
        // Person 30's card is in another name at the bank: the payout bounces.
        let bank_name = if i == 30 {
            "别人".to_owned()
        } else {
            name.clone()
        };
        admin.open_account(&card_no, &bank_name, 0).unwrap();
        people.push(Person {
            id: pid,
            name,
            account: m.account_no,
            card: card_no,
        });
    }
    for (k, (_, hname)) in heirs().into_iter().enumerate() {
        admin.open_account(&card(N + 100 + k), &hname, 0).unwrap();
    }
    admin
        .open_account(FUND, CENTRE_NAME, 100_000_000 * N as i64)
        .unwrap();
    // Sealing: 17 and 23 on 2026-03-02 (23 has been sealed long enough), 24 on 2026-10-09.
    let seal = |who: usize, on: &str| {
        set_business_date(store, C, d(on)).unwrap();
        change_member(
            store,
            C,
            &people[who].account,
            MemberAct::Seal,
            "离职",
            &clerk("S0001"),
            now,
        )
        .unwrap();
    };
    seal(17, "2026-03-02");
    seal(23, "2026-03-02");
    seal(29, "2026-03-02");
    seal(24, "2026-10-09");
    set_business_date(store, C, today()).unwrap();
    change_member(
        store,
        C,
        &people[26].account,
        MemberAct::Freeze,
        "法院冻结（2026）浙0802执123号",
        &clerk("S0001"),
        now,
    )
    .unwrap();
    let world = World { people };
    let ds = dataset(&world);
    let sim = ExchangeSim::start(&ds);
    let live = departments(&sim.url);
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = departments(&format!("http://127.0.0.1:{dead_port}"));
    let mut banks = BankSet::new();
    banks.insert(Arc::new(bank.client().unwrap()));
    Env {
        store,
        policy,
        live,
        dead,
        banks,
        world,
        _sim: sim,
    }
}

fn claims() -> Claims {
    Claims::default()
}

#[test]
fn every_ground_pays_refuses_and_goes_to_review() {
    for_each_backend(|db| {
        let dir = tempfile::tempdir().unwrap();
        let bank = BankSimProcess::start(
            EXE.as_ref(),
            &dir.path().join("bank.db"),
            &["--bank", BANK, "--date", "2026-11-27"],
        )
        .unwrap();
        let env = setup(db.store.as_ref(), &bank);
        let e = &env;

        // -- purchase: price 1,000,000 − loan 950,000 = 50,000 binds (balance 100,000).
        let v = e.apply("W-PUR-1", 0, Ground::Purchase, claims());
        paid(&v, "50000");
        let d0 = v.decision.as_ref().unwrap();
        assert!(
            d0.limits
                .iter()
                .any(|l| l.binding && l.what_en.contains("price"))
        );
        assert_eq!(e.balance(0), yuan("50000"));
        // Only once per home, with the date of the first.
        let v = e.apply("W-PUR-2", 0, Ground::Purchase, claims());
        refused(&v, "only once per home");
        assert!(v.reason_en.contains("2026-11-27"));
        // A contract filed in 2023 is outside the 24-month window.
        refused(
            &e.apply("W-PUR-3", 1, Ground::Purchase, claims()),
            "more than 24 months ago",
        );
        // Every ground with the exchange down goes to review, nothing is paid.
        for (i, g) in Ground::ALL.iter().enumerate() {
            if *g == Ground::Death {
                continue; // below, with heirs
            }
            let mut n = e.request(&format!("W-DOWN-{i}"), 29, *g, claims());
            n.stamp = clerk("S0002");
            let v = e.apply_with(&e.dead, &n).unwrap();
            in_review(&v);
            // Release the in-flight slot for the next ground's test: staff refuse it.
            wd::propose(
                e.store,
                C,
                &v.application_no,
                &Proposal::Refuse,
                "资料不全",
                &clerk("S0002"),
                Timestamp::now(),
            )
            .unwrap();
            let v = wd::confirm(
                &e.ctx(&e.live).review(),
                &v.application_no,
                true,
                "同意",
                &clerk("S0003"),
                Timestamp::now(),
            )
            .unwrap();
            assert_eq!(v.status, "refused");
        }
        assert_eq!(e.balance(29), yuan("100000"));

        // A spouse withdraws for the home the other spouse bought; then the buyer, for
        // what is left of the price.
        let spouse_claims = Claims {
            spouse_buyer: Some(e.world.p(33).id.clone()),
            ..Claims::default()
        };
        let mut n = e.request("W-PUR-SP-1", 34, Ground::Purchase, spouse_claims.clone());
        n.spouse = Some(e.world.p(33).id.clone());
        n.consents = vec![(e.world.p(33).id.clone(), "e-signature".into())];
        paid(&e.apply_with(&e.live, &n).unwrap(), "100000");
        let v = e.apply("W-PUR-SP-2", 33, Ground::Purchase, claims());
        paid(&v, "100000");
        let dec = v.decision.unwrap();
        assert!(
            dec.limits.iter().any(|l| l.amount == yuan("700000")),
            "{:?}",
            dec.limits
        );
        // Someone not married to the buyer cannot.
        let mut n = e.request("W-PUR-SP-3", 35, Ground::Purchase, spouse_claims);
        n.spouse = Some(e.world.p(33).id.clone());
        n.consents = vec![(e.world.p(33).id.clone(), "e-signature".into())];
        refused(&e.apply_with(&e.live, &n).unwrap(), "spouse");

        // -- build / repair: the repair invoice of an owned home.
        paid(
            &e.apply("W-BR-1", 2, Ground::BuildRepair, claims()),
            "30000",
        );
        refused(
            &e.apply("W-BR-2", 3, Ground::BuildRepair, claims()),
            "no valid invoice",
        );

        // -- renovation (2026): 50 % of 100,000; once per 10 years.
        paid(
            &e.apply("W-REN-1", 4, Ground::Renovation, claims()),
            "50000",
        );
        refused(
            &e.apply("W-REN-2", 4, Ground::Renovation, claims()),
            "only once per 10 years",
        );

        // -- loan repayment: one-off up to the outstanding 200,000 (balance binds);
        // yearly: 12 × 3,000 — but the balance left is 0 → refused; none → refused.
        let mut n = e.request("W-LOAN-1", 5, Ground::LoanRepayment, claims());
        n.mode = Some(RepayMode::Yearly);
        paid(&e.apply_with(&e.live, &n).unwrap(), "36000");
        let mut n = e.request("W-LOAN-2", 5, Ground::LoanRepayment, claims());
        n.mode = Some(RepayMode::Yearly);
        refused(
            &e.apply_with(&e.live, &n).unwrap(),
            "once every 12 month(s)",
        );
        refused(
            &e.apply("W-LOAN-3", 6, Ground::LoanRepayment, claims()),
            "no outstanding home loan",
        );

        // -- rent: 1,500 a month (limit) × 3 months since the lease began; quarterly.
        paid(&e.apply("W-RENT-1", 7, Ground::Rent, claims()), "4500");
        // The member is told every status the application reached, in the same
        // transactions (issue 8), and — once the journal is scanned — the money out.
        let told: Vec<String> = anju_app::notify::of_member(e.store, C, &e.world.p(7).id, 50)
            .unwrap()
            .into_iter()
            .rev()
            .map(|n| n.body)
            .filter(|b| b.contains("W-RENT-1"))
            .collect();
        assert_eq!(
            told.last().map(String::as_str),
            Some("【衢州公积金】您的公积金提取申请（编号W-RENT-1）状态更新为：已到账。"),
            "{told:?}"
        );
        anju_app::notify::scan(e.store, C, Timestamp::now(), 100_000).unwrap();
        let money: Vec<String> = anju_app::notify::of_member(e.store, C, &e.world.p(7).id, 50)
            .unwrap()
            .into_iter()
            .map(|n| n.body)
            .filter(|b| b.contains("提取支出"))
            .collect();
        assert_eq!(money.len(), 1, "{money:?}");
        assert!(money[0].contains("提取支出4,500.00元"), "{money:?}");
        refused(
            &e.apply("W-RENT-2", 7, Ground::Rent, claims()),
            "once every 3 months",
        );

        // -- property fees: the year's invoices; once a year.
        paid(
            &e.apply("W-FEE-1", 8, Ground::PropertyFee, claims()),
            "3600",
        );
        refused(
            &e.apply("W-FEE-2", 8, Ground::PropertyFee, claims()),
            "once every 12 months",
        );

        // -- renewal: the household's share; a project from 2022 is too old.
        paid(&e.apply("W-RNW-1", 9, Ground::Renewal, claims()), "20000");
        refused(
            &e.apply("W-RNW-2", 10, Ground::Renewal, claims()),
            "claims close 36 months later",
        );

        // -- retirement (closes the account): the statutory age, from birth date and sex.
        let v = e.apply("W-RET-1", 11, Ground::Retirement, claims());
        assert_eq!(v.status, "paid", "{}", v.reason_en);
        assert!(v.closes_account);
        assert!(v.interest.is_positive(), "closing interest credited");
        assert_eq!(v.amount, yuan("100000").checked_add(v.interest).unwrap());
        assert_eq!(e.balance(11), Fen::ZERO);
        assert_eq!(e.status(11), PersonalAccountStatus::ClosedByWithdrawal);
        refused(
            &e.apply("W-RET-2", 12, Ground::Retirement, claims()),
            "reached only on",
        );
        // A woman past the workers' age but not the cadres': staff decide.
        let v = e.apply("W-RET-3", 27, Ground::Retirement, claims());
        assert_eq!(v.status, "review", "{}", v.reason_en);
        assert!(v.reason_en.contains("post category"));

        // -- disability, emigration, moved out (closing).
        assert_eq!(
            e.apply("W-DIS-1", 13, Ground::Disability, claims()).status,
            "paid"
        );
        refused(
            &e.apply("W-DIS-2", 14, Ground::Disability, claims()),
            "no appraisal",
        );
        assert_eq!(
            e.apply("W-EMI-1", 15, Ground::Emigration, claims()).status,
            "paid"
        );
        refused(
            &e.apply("W-EMI-2", 16, Ground::Emigration, claims()),
            "emigration",
        );
        assert_eq!(
            e.apply("W-MOV-1", 17, Ground::MovedOut, claims()).status,
            "paid"
        );
        refused(
            &e.apply("W-MOV-2", 18, Ground::MovedOut, claims()),
            "still registered in the city",
        );

        // -- death: two heirs, half each, paid to their own cards.
        let hs = heirs();
        let heir_list: Vec<Heir> = hs
            .iter()
            .enumerate()
            .map(|(k, (hid, name))| Heir {
                id_number: hid.clone(),
                name: name.clone(),
                bank_code: BANK.into(),
                card_no: card(N + 100 + k),
                share: (1, 2),
            })
            .collect();
        let _ = &heir_list;
        let mut n = e.request("W-DEATH-1", 19, Ground::Death, claims());
        n.stamp = clerk("S0001");
        n.heirs = heir_list.clone();
        n.consents = hs
            .iter()
            .map(|(h, _)| (h.clone(), "counter-signature".to_owned()))
            .collect();
        // Death registered, both heirs identified: paid at once, half each.
        let v = e.apply_with(&e.live, &n).unwrap();
        assert_eq!(v.status, "paid", "{}", v.reason_en);
        assert_eq!(v.payees.len(), 2);
        assert_eq!(
            v.payees[0].amount.checked_add(v.payees[1].amount).unwrap(),
            v.amount
        );
        assert!(v.payees.iter().all(|p| p.state == "executed"));
        assert_eq!(e.status(19), PersonalAccountStatus::ClosedByWithdrawal);
        // With the exchange down, a death withdrawal goes to staff.
        let mut n = e.request("W-DEATH-3", 20, Ground::Death, claims());
        n.stamp = clerk("S0001");
        n.heirs = vec![Heir {
            share: (1, 1),
            ..heir_list[0].clone()
        }];
        n.consents = vec![(heir_list[0].id_number.clone(), "counter-signature".into())];
        in_review(&e.apply_with(&e.dead, &n).unwrap());
        wd::propose(
            e.store,
            C,
            "W-DEATH-3",
            &Proposal::Refuse,
            "待补充继承公证",
            &clerk("S0001"),
            Timestamp::now(),
        )
        .unwrap();
        wd::confirm(
            &e.ctx(&e.live).review(),
            "W-DEATH-3",
            true,
            "同意",
            &clerk("S0002"),
            Timestamp::now(),
        )
        .unwrap();
        let mut n = e.request("W-DEATH-2", 20, Ground::Death, claims());
        n.stamp = clerk("S0001");
        n.heirs = vec![Heir {
            share: (1, 1),
            ..heir_list[0].clone()
        }];
        n.consents = vec![(heir_list[0].id_number.clone(), "counter-signature".into())];
        refused(&e.apply_with(&e.live, &n).unwrap(), "no death registered");

        // -- serious illness: the year's self-paid costs; ordinary expenses refused.
        paid(&e.apply("W-ILL-1", 21, Ground::Illness, claims()), "30000");
        refused(
            &e.apply("W-ILL-2", 22, Ground::Illness, claims()),
            "serious",
        );

        // -- left the job: sealed at least 6 months.
        assert_eq!(
            e.apply("W-LEFT-1", 23, Ground::LeftJob, claims()).status,
            "paid"
        );
        refused(
            &e.apply("W-LEFT-2", 24, Ground::LeftJob, claims()),
            "until 2027-04-09",
        );

        // -- other: always staff; maker-checker pays the approved amount.
        let v = e.apply("W-OTH-1", 25, Ground::Other, claims());
        assert_eq!(v.status, "review");
        // One in-flight application per ground.
        let again = e.apply_with(&e.live, &e.request("W-OTH-2", 25, Ground::Other, claims()));
        assert!(
            matches!(
                again,
                Err(AppError::Invalid {
                    field: "ground",
                    ..
                })
            ),
            "{again:?}"
        );
        wd::propose(
            e.store,
            C,
            "W-OTH-1",
            &Proposal::Approve {
                amount: yuan("1000"),
            },
            "特殊困难",
            &clerk("S0002"),
            Timestamp::now(),
        )
        .unwrap();
        let same = wd::confirm(
            &e.ctx(&e.live).review(),
            "W-OTH-1",
            true,
            "",
            &clerk("S0002"),
            Timestamp::now(),
        );
        assert!(
            matches!(
                same,
                Err(AppError::Invalid {
                    field: "operator",
                    ..
                })
            ),
            "the maker cannot check"
        );
        let v = wd::confirm(
            &e.ctx(&e.live).review(),
            "W-OTH-1",
            true,
            "同意",
            &clerk("S0003"),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!((v.status.as_str(), v.amount), ("paid", yuan("1000")));
        assert_eq!(e.balance(25), yuan("99000"));

        // -- approved, but no payout card: staff take it; once the card is bound, paid.
        let v = e.apply("W-NOCARD-1", 32, Ground::Illness, claims());
        assert_eq!(v.status, "review", "{}", v.reason_en);
        assert!(v.reason_en.contains("payout card"), "{}", v.reason_en);
        let p32 = e.world.p(32);
        bind_card(e.store, C, &p32.account, BANK, &p32.card).unwrap();
        wd::propose(
            e.store,
            C,
            "W-NOCARD-1",
            &Proposal::Approve {
                amount: yuan("30000"),
            },
            "已绑定银行卡",
            &clerk("S0002"),
            Timestamp::now(),
        )
        .unwrap();
        let v = wd::confirm(
            &e.ctx(&e.live).review(),
            "W-NOCARD-1",
            true,
            "同意",
            &clerk("S0003"),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!((v.status.as_str(), v.amount), ("paid", yuan("30000")));

        // -- a frozen account cannot withdraw.
        refused(&e.apply("W-FRZ-1", 26, Ground::Illness, claims()), "frozen");

        // -- more than the rule allows is refused, naming the cap.
        let mut n = e.request("W-CAP-1", 31, Ground::Rent, claims());
        n.requested = Some(yuan("5000"));
        refused(
            &e.apply_with(&e.live, &n).unwrap(),
            "exceeds the most allowed, 1,000.00 yuan",
        );
        assert_eq!(e.balance(31), yuan("100000"));

        // -- a bounced payout: the money is back, the withdrawal is returned.
        let mut n = e.request("W-BNC-1", 30, Ground::Other, claims());
        n.stamp = clerk("S0001");
        e.apply_with(&e.live, &n).unwrap();
        wd::propose(
            e.store,
            C,
            "W-BNC-1",
            &Proposal::Approve {
                amount: yuan("500"),
            },
            "测试",
            &clerk("S0001"),
            Timestamp::now(),
        )
        .unwrap();
        let v = wd::confirm(
            &e.ctx(&e.live).review(),
            "W-BNC-1",
            true,
            "同意",
            &clerk("S0002"),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(v.status, "returned", "{}", v.reason_en);
        assert!(
            v.events
                .last()
                .unwrap()
                .note_en
                .contains("back in the account")
        );
        assert_eq!(e.balance(30), yuan("100000"));
        // The member binds a card in their own name; staff pay again.
        let p30 = e.world.p(30);
        let new_card = card(N + 200);
        bank.admin().open_account(&new_card, &p30.name, 0).unwrap();
        bind_card(e.store, C, &p30.account, BANK, &new_card).unwrap();
        let v = wd::repay(
            &e.ctx(&e.live).review(),
            "W-BNC-1",
            &[],
            &clerk("S0002"),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(v.status, "paid", "{}", v.reason_en);
        assert_eq!(v.payees.len(), 2);
        assert_eq!(v.payees[0].state, "not_executed");
        assert_eq!(v.payees[1].state, "executed");
        assert_eq!(e.balance(30), yuan("99500"));
        let again = wd::repay(
            &e.ctx(&e.live).review(),
            "W-BNC-1",
            &[],
            &clerk("S0002"),
            Timestamp::now(),
        );
        assert!(
            matches!(
                again,
                Err(AppError::Invalid {
                    field: "status",
                    ..
                })
            ),
            "{again:?}"
        );

        // -- the bank is unreachable when paying: the withdrawal waits in `paying` with the
        // money reserved; the status query later finds the bank never got it: returned,
        // the money back; paid again once the bank is back.
        let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut down = bank.settings();
        down.base_url = format!("http://127.0.0.1:{dead_port}");
        down.attempts = 1;
        let mut down_banks = BankSet::new();
        down_banks.insert(Arc::new(BankClient::new(down).unwrap()));
        let ctx_down = Withdrawals {
            store: e.store,
            departments: &e.live,
            banks: &down_banks,
            centre: C,
            policy: &e.policy,
        };
        let v = wd::apply(
            &ctx_down,
            &e.request("W-BANKDOWN-1", 31, Ground::Rent, claims()),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(
            (v.status.as_str(), v.amount),
            ("paying", yuan("1000")),
            "{}",
            v.reason_en
        );
        assert_eq!(v.payees[0].state, "in_flight");
        let no31 = AccountNo::sub("201", &e.world.p(31).account).unwrap();
        let st = e
            .store
            .begin_read()
            .unwrap()
            .load_accounts(C, &[no31])
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!((st.balance, st.pending_out), (yuan("100000"), yuan("1000")));
        let live_settlement = Settlement {
            store: e.store,
            banks: &e.banks,
            centre: C,
        };
        resolve_all(&live_settlement, None, Timestamp::now(), 100).unwrap();
        let v = wd::show(e.store, C, "W-BANKDOWN-1").unwrap();
        assert_eq!(v.status, "returned", "{:?}", v.events);
        assert_eq!(e.balance(31), yuan("100000"));
        let v = wd::repay(
            &e.ctx(&e.live).review(),
            "W-BANKDOWN-1",
            &[],
            &clerk("S0003"),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(v.status, "paid");
        assert_eq!(e.balance(31), yuan("99000"));

        // -- bad input changes nothing.
        let mut n = e.request("W-BAD-1", 19, Ground::Death, claims());
        n.heirs = vec![Heir {
            share: (1, 3),
            ..heir_list[0].clone()
        }];
        let bad = e.apply_with(&e.live, &n);
        assert!(
            matches!(
                bad,
                Err(AppError::Invalid {
                    field: "heirs.share",
                    ..
                })
            ),
            "{bad:?}"
        );
        let mut n = e.request("W-BAD-2", 2, Ground::Purchase, claims());
        n.mode = Some(RepayMode::Monthly);
        assert!(matches!(
            e.apply_with(&e.live, &n),
            Err(AppError::Invalid { field: "mode", .. })
        ));
        assert!(wd::show(e.store, C, "W-BAD-1").is_err());
        assert!(wd::show(e.store, C, "W-BAD-2").is_err());

        // The member sees the timeline and a receipt.
        let list = wd::of_member(e.store, C, &e.world.p(0).id).unwrap();
        assert_eq!(list.len(), 2);
        let r = wd::receipt(e.store, C, "W-PUR-1").unwrap();
        assert!(
            r.contains("W-PUR-1") && r.contains("50,000.00") && r.contains("已到账"),
            "{r}"
        );
        assert!(!r.contains(&e.world.p(0).card), "card numbers are masked");

        // The CLI reads the same withdrawal, for a member of staff in the register.
        anju_testkit::staff::seed(e.store, C, today());
        let out = Command::new(EXE)
            .args(["withdraw", "receipt", "--db", &db.url, "W-PUR-1"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "nobody reads without an operator");
        let out = Command::new(EXE)
            .args(["withdraw", "receipt", "--db", &db.url, "W-PUR-1"])
            .args(["--operator", "staff:k001"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("W-PUR-1"));
        let out = Command::new(EXE)
            .args([
                "withdraw",
                "queue",
                "--db",
                &db.url,
                "--operator",
                "staff:a001",
            ])
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("W-RET-3"));

        // -- staff approve the retirement that needed judgment: a closing withdrawal pays
        // the whole balance with interest whatever amount the clerk saw.
        let v = wd::propose(
            e.store,
            C,
            "W-RET-3",
            &Proposal::Approve { amount: yuan("1") },
            "档案记载为管理岗位",
            &clerk("S0001"),
            Timestamp::now(),
        )
        .unwrap();
        assert!(v.reason_en.contains("close the account"), "{}", v.reason_en);
        let v = wd::confirm(
            &e.ctx(&e.live).review(),
            "W-RET-3",
            true,
            "同意",
            &clerk("S0002"),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(v.status, "paid", "{}", v.reason_en);
        assert_eq!(v.amount, yuan("100000").checked_add(v.interest).unwrap());
        assert_eq!(e.status(27), PersonalAccountStatus::ClosedByWithdrawal);

        // -- the monthly loan offset (按月冲还贷): apply once, then each month's batch.
        let mut n = e.request("W-OFF-1", 28, Ground::LoanRepayment, claims());
        n.mode = Some(RepayMode::Monthly);
        paid(&e.apply_with(&e.live, &n).unwrap(), "2500");
        let batch = Stamp {
            operator: "system:offset".into(),
            channel: Channel::Batch,
            service_point: "centre".into(),
            on_behalf_of: None,
        };
        let run = wd::run_monthly_offsets(&e.ctx(&e.live), &batch, Timestamp::now()).unwrap();
        assert_eq!(
            (run.arrangements, run.done_already, run.made.len()),
            (1, 1, 0)
        );
        set_business_date(e.store, C, d("2026-12-28")).unwrap();
        let run = wd::run_monthly_offsets(&e.ctx(&e.live), &batch, Timestamp::now()).unwrap();
        assert_eq!(run.made.len(), 1, "{:?}", run.failed);
        paid(&run.made[0], "2500");
        assert_eq!(
            run.made[0].application_no,
            format!("OFF-{}-202612", e.world.p(28).account)
        );
        let again = wd::run_monthly_offsets(&e.ctx(&e.live), &batch, Timestamp::now()).unwrap();
        assert!(again.made.is_empty() && again.failed.is_empty());
        assert_eq!(e.balance(28), yuan("95000"));

        // The ledger is intact and the bank paid what the ledger says.
        let report = audit(e.store, C).unwrap();
        assert!(report.is_clean(), "{report:?}");
        let out = Command::new(EXE)
            .args(["audit", "--db", &db.url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        println!("withdrawal scenarios passed on {:?}", db.backend);
    });
}

/// Per-channel limits (issue 8): a payout over the online channel's limit is refused with
/// the reason and the way out (the counter, whose limit is higher), and nothing leaves the
/// account; the same withdrawal at the counter is paid.
#[test]
fn a_payout_over_the_channel_limit_is_refused_and_the_counter_pays_it() {
    for_each_backend(|db| {
        let dir = tempfile::tempdir().unwrap();
        let bank = BankSimProcess::start(
            EXE.as_ref(),
            &dir.path().join("bank.db"),
            &["--bank", BANK, "--date", "2026-11-27"],
        )
        .unwrap();
        let mut env = setup(db.store.as_ref(), &bank);
        let text = QUZHOU_POLICY.replace(
            "channel = \"04\"                    # 浙里办 Zheliban\nper_transaction = \"200000.00\"",
            "channel = \"04\"                    # 浙里办 Zheliban\nper_transaction = \"30000.00\"",
        );
        assert_ne!(
            text, QUZHOU_POLICY,
            "the policy line to change was not found"
        );
        env.policy = Policy::from_toml(&text).unwrap();
        let e = &env;
        // Purchase: 50,000 binds (see above), over 浙里办's 30,000 per transaction.
        let v = e.apply("W-LIM-1", 0, Ground::Purchase, claims());
        refused(&v, "per-transaction limit of 30,000.00 yuan");
        assert!(v.reason_zh.contains("浙里办"), "{}", v.reason_zh);
        assert!(v.reason_zh.contains("柜面"), "{}", v.reason_zh);
        assert_eq!(e.balance(0), yuan("100000"));
        // At the counter the limit is 5,000,000: paid.
        let mut n = e.request("W-LIM-2", 0, Ground::Purchase, claims());
        n.stamp = clerk("S0002");
        paid(&e.apply_with(&e.live, &n).unwrap(), "50000");
        assert_eq!(e.balance(0), yuan("50000"));
    });
}
