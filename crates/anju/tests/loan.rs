//! Loans end to end, on every backend: `anju exchange-sim` and `anju bank-sim` run as
//! separate processes on loopback. A single borrower's loan goes from application through
//! the decision (every limit candidate), signing once (SM2/SM3, verified), disbursement to
//! the seller, a missed deduction (overdue, penalty, risk class), the late payment, a year
//! of repayments, a partial prepayment that shortens the term and the payoff with its
//! certificate; a couple's loan is repaid from their provident-fund balances; a refusal,
//! a review with maker-checker, bad input, and `anju audit` after it all. Figures are
//! hand-computed in the comments.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::sync::Arc;

use anju_app::AppError;
use anju_app::dayclose::close_day;
use anju_app::ledger::{audit, open_centre, post_one, set_business_date};
use anju_app::lending::LenderSet;
use anju_app::loan::servicing::{Prepay, Servicing, disburse, overdue_register, prepay};
use anju_app::loan::{self as ln, DeductFrom, LoanView, Loans, NewLoan, Proposal};
use anju_app::registry::{NewMember, NewUnit, open_member, register_unit};
use anju_app::remittance::{Payment, PaymentOutcome, confirm_bill, generate_bill, pay_bill};
use anju_app::settlement::{BankSet, NewBank, bind_card, register_bank};
use anju_app::sharing::Departments;
use anju_bank::sim::process::BankSimProcess;
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::{Channel, MaritalStatus};
use anju_domain::collection::YearMonth;
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::loan::{self, LimitKind, Method, PrepayMode};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::sharing::{
    Area, ContractKind, CreditLoan, CreditReport, Employment, Household, Identity, LoanKind,
    Marriage, PurchaseContract, YearIncome,
};
use anju_domain::stamp::Stamp;
use anju_exchange::sim::dataset::{Dataset, PersonRecord};
use anju_sign::{Issuer, LocalSigner, SignedDocument, verify};
use anju_store::Store;
use anju_testkit::for_each_backend;
use jiff::Timestamp;
use jiff::civil::Date;

use common::{EXE, ExchangeSim, departments, id};

const C: &str = "330800000000000";
const BANK: &str = "105";
const FUND: &str = "33050166000000000105";
const CENTRE_NAME: &str = "衢州市住房公积金管理中心";
const SELLER_A: &str = "33050100000000001234";
const SELLER_B: &str = "33050100000000005678";

fn d(s: &str) -> Date {
    s.parse().unwrap()
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

struct Person {
    id: String,
    name: String,
    account: String,
    card: String,
}

const N: usize = 6;

fn record(p: &Person, married_to: Option<&Person>) -> PersonRecord {
    let c = IdCard::parse(&p.id).unwrap();
    PersonRecord {
        identity: Some(Identity {
            id_number: p.id.clone(),
            name: p.name.clone(),
            sex: c.sex(),
            birth_date: c.birth_date(),
            alive: true,
        }),
        household: Some(Household {
            region_code: "330802".into(),
            region_name: "衢州市柯城区".into(),
            since: d("2000-01-01"),
            cancelled: None,
        }),
        marriage: Some(match married_to {
            Some(s) => Marriage {
                status: MaritalStatus::Married,
                spouse_id: Some(s.id.clone()),
                spouse_name: Some(s.name.clone()),
                since: Some(d("2015-05-20")),
            },
            None => Marriage {
                status: MaritalStatus::Unmarried,
                spouse_id: None,
                spouse_name: None,
                since: None,
            },
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
        income: vec![YearIncome {
            year: 2025,
            wage_income: yuan("96000"),
            tax_paid: yuan("1200"),
            employer_name: "衢州市示范科技有限公司".into(),
        }],
        credit: Some(CreditReport {
            loans: vec![],
            overdue_count_24m: 0,
        }),
        ..PersonRecord::default()
    }
}

fn contract(no: &str, buyers: Vec<String>, price: &str, seller: &str) -> PurchaseContract {
    PurchaseContract {
        contract_no: no.into(),
        kind: ContractKind::New,
        address: format!("衢州市柯城区荷花街道安居苑{no}"),
        region_code: "330802".into(),
        area: Area(11_250),
        price: yuan(price),
        signed_on: d("2026-10-25"),
        filed_on: d("2026-11-01"),
        buyers,
        seller_name: "衢州锦绣置业有限公司".into(),
        seller_account: seller.into(),
        seller_bank: BANK.into(),
        cancelled: false,
    }
}

/// 0 single, buying alone with a combination loan; 1 and 2 married, buying together; 3
/// still owes a provident-fund loan elsewhere; 4 for review (asked through a dead
/// exchange); 5 single, buying alone with a provident-fund loan.
fn dataset(people: &[Person]) -> Dataset {
    let mut ds = Dataset::empty(Timestamp::now());
    for (i, p) in people.iter().enumerate() {
        let spouse = match i {
            1 => Some(&people[2]),
            2 => Some(&people[1]),
            _ => None,
        };
        let mut r = record(p, spouse);
        match i {
            0 => r.contracts.push(contract(
                "QZ-2026-000100",
                vec![p.id.clone()],
                "1000000",
                SELLER_A,
            )),
            1 => r.contracts.push(contract(
                "QZ-2026-000200",
                vec![p.id.clone(), people[2].id.clone()],
                "1500000",
                SELLER_B,
            )),
            5 => r.contracts.push(contract(
                "QZ-2026-000500",
                vec![p.id.clone()],
                "800000",
                SELLER_B,
            )),
            3 => {
                r.contracts.push(contract(
                    "QZ-2026-000300",
                    vec![p.id.clone()],
                    "900000",
                    SELLER_A,
                ));
                r.credit = Some(CreditReport {
                    loans: vec![CreditLoan {
                        lender: "杭州市住房公积金管理中心".into(),
                        kind: LoanKind::ProvidentFundHousing,
                        principal: yuan("300000"),
                        balance: yuan("120000"),
                        monthly_payment: yuan("1800"),
                        opened_on: d("2018-03-01"),
                        overdue_months: 0,
                        property_address: Some("杭州市西湖区某小区3幢".into()),
                    }],
                    overdue_count_24m: 0,
                });
            }
            _ => {}
        }
        ds.people.insert(p.id.clone(), r);
    }
    ds
}

struct Env<'a> {
    store: &'a dyn Store,
    policy: Policy,
    live: Departments,
    dead: Departments,
    banks: BankSet,
    lenders: LenderSet,
    signer: LocalSigner,
    calendar: BusinessCalendar,
    people: Vec<Person>,
    _sim: ExchangeSim,
}

impl Env<'_> {
    fn loans<'s>(&'s self, departments: &'s Departments) -> Loans<'s> {
        Loans {
            store: self.store,
            departments,
            banks: &self.banks,
            lenders: &self.lenders,
            centre: C,
            policy: &self.policy,
        }
    }

    fn servicing(&self) -> Servicing<'_> {
        Servicing {
            store: self.store,
            banks: &self.banks,
            lenders: &self.lenders,
            centre: C,
            policy: &self.policy,
        }
    }

    fn request(&self, no: &str, who: usize, contract: &str, amount: &str, months: u32) -> NewLoan {
        let p = &self.people[who];
        NewLoan {
            application_no: no.into(),
            id_number: p.id.clone(),
            spouse: None,
            consents: vec![],
            contract_no: contract.into(),
            amount: yuan(amount),
            months,
            method: Method::EqualInstallment,
            repay_day: 20,
            deduct_from: DeductFrom::Card,
            bank_code: BANK.into(),
            commercial: None,
            stamp: online(&p.id),
        }
    }

    fn apply(&self, new: &NewLoan) -> Result<LoanView, AppError> {
        ln::apply(&self.loans(&self.live), new, Timestamp::now())
    }

    fn balance(&self, account: &str) -> Fen {
        let no = AccountNo::parse(account).unwrap();
        self.store
            .begin_read()
            .unwrap()
            .load_accounts(C, &[no])
            .unwrap()
            .pop()
            .unwrap()
            .balance
    }

    fn close(&self, date: &str) -> anju_app::dayclose::DayCloseReport {
        let now = Timestamp::now();
        let mut tx = self.store.begin_read().unwrap();
        let today = anju_app::ledger::centre(tx.as_mut(), C)
            .unwrap()
            .business_date;
        drop(tx);
        if today < d(date) {
            set_business_date(self.store, C, d(date)).unwrap();
        }
        close_day(
            &self.servicing(),
            &self.calendar,
            d(date),
            &Stamp::system("day-close"),
            now,
        )
        .unwrap()
    }

    fn show(&self, loan_no: &str) -> LoanView {
        ln::show(self.store, C, loan_no).unwrap()
    }
}

/// Centre, bank, unit; six members at 8,000 a month opened on 2026-01-05 with 100,000.00
/// each, their contributions February to October paid (nine months continuous: 1,920.00 a
/// month each, so 117,280.00 on 2026-11-27); cards at Anju and at the bank simulator.
fn setup<'a>(store: &'a dyn Store, bank: &BankSimProcess) -> Env<'a> {
    setup_with(store, bank, Policy::from_toml(QUZHOU_POLICY).unwrap())
}

fn setup_with<'a>(store: &'a dyn Store, bank: &BankSimProcess, policy: Policy) -> Env<'a> {
    let calendar = BusinessCalendar::cn().unwrap();
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
    for i in 0..N {
        // Everyone a man but 2 (1's wife).
        let pid = id(&format!("1985{:02}15", i + 1), i as u32 + 1, i != 2);
        let name = format!("借款人{i}");
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
        post_one(
            store,
            C,
            EntryRequest::posted(
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
            ),
            now,
        )
        .unwrap();
        bind_card(store, C, &m.account_no, BANK, &card(i)).unwrap();
        admin.open_account(&card(i), &name, 0).unwrap();
        people.push(Person {
            id: pid,
            name,
            account: m.account_no,
            card: card(i),
        });
    }
    admin
        .open_account(FUND, CENTRE_NAME, 1_000_000_000)
        .unwrap();
    admin
        .open_account(SELLER_A, "衢州锦绣置业有限公司", 0)
        .unwrap();
    admin
        .open_account(SELLER_B, "衢州锦绣置业有限公司", 0)
        .unwrap();
    for month in 2..=10 {
        set_business_date(store, C, d(&format!("2026-{month:02}-10"))).unwrap();
        let ym = YearMonth::new(2026, month).unwrap();
        let bill = generate_bill(store, C, &policy, &calendar, &unit.unit_no, ym).unwrap();
        assert_eq!(bill.bill.total, yuan("11520"), "six members × 1,920.00");
        confirm_bill(store, C, &bill.bill.bill_no).unwrap();
        let out = pay_bill(
            store,
            C,
            Payment {
                bill_no: bill.bill.bill_no.clone(),
                receipt_key: format!("HJ-2026{month:02}"),
                amount: yuan("11520"),
                bank_code: None,
            },
            &clerk("S0001"),
            now,
        )
        .unwrap();
        assert!(matches!(out, PaymentOutcome::Paid { .. }), "{out:?}");
    }
    set_business_date(store, C, d("2026-11-27")).unwrap();
    let ds = dataset(&people);
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
    let mut lenders = LenderSet::new();
    lenders.insert(Arc::new(bank.client().unwrap()));
    let signer = LocalSigner::in_memory(
        Some(b"loan-test"),
        &Issuer {
            code: C.into(),
            name: CENTRE_NAME.into(),
        },
        Timestamp::now(),
    )
    .unwrap();
    Env {
        store,
        policy,
        live,
        dead,
        banks,
        lenders,
        signer,
        calendar,
        people,
        _sim: sim,
    }
}

fn candidate(v: &LoanView, kind: LimitKind) -> Fen {
    let decision: loan::LoanDecision =
        serde_json::from_value(v.details.decision.clone().unwrap()).unwrap();
    decision
        .candidates
        .iter()
        .find(|c| c.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} candidate"))
        .amount
}

fn binding(v: &LoanView) -> Option<LimitKind> {
    let decision: loan::LoanDecision =
        serde_json::from_value(v.details.decision.clone().unwrap()).unwrap();
    decision.binding
}

fn steps(v: &LoanView) -> Vec<&str> {
    v.events.iter().map(|e| e.event.as_str()).collect()
}

#[test]
fn a_single_and_a_couples_loan_from_application_to_payoff() {
    for_each_backend(|db| {
        let dir = tempfile::tempdir().unwrap();
        let bank = BankSimProcess::start(
            EXE.as_ref(),
            &dir.path().join("bank.db"),
            &["--bank", BANK, "--date", "2026-11-27"],
        )
        .unwrap();
        let e = setup(db.store.as_ref(), &bank);
        let admin = bank.admin();
        let a = &e.people[0];
        assert_eq!(e.balance(&format!("201.{}", a.account)), yuan("117280"));

        // -- bad input changes nothing.
        let mut bad = e.request("L-BAD-1", 0, "QZ-2026-000100", "0", 240);
        let err = e.apply(&bad).unwrap_err();
        assert!(
            matches!(
                &err,
                AppError::Invalid {
                    field: "amount",
                    ..
                }
            ),
            "{err}"
        );
        bad.amount = yuan("100000");
        bad.repay_day = 29;
        let err = e.apply(&bad).unwrap_err();
        assert!(
            matches!(
                &err,
                AppError::Invalid {
                    field: "repay_day",
                    ..
                }
            ),
            "{err}"
        );
        bad.repay_day = 20;
        bad.months = 0;
        assert!(matches!(
            e.apply(&bad),
            Err(AppError::Invalid {
                field: "months",
                ..
            })
        ));
        bad.months = 240;
        bad.contract_no = " ".into();
        assert!(matches!(
            e.apply(&bad),
            Err(AppError::Invalid {
                field: "contract_no",
                ..
            })
        ));
        assert!(ln::of_person(e.store, C, &a.id).unwrap().is_empty());

        // -- A: 400,000 over 240 months, first home, single. Candidates: the single cap
        // 500,000 (binds); price 1,000,000 × 80 % = 800,000; 117,280 × 15 = 1,759,200;
        // capacity 8,000 × 50 % = 4,000 a month at 2.6 % over 240 months ≈ 747,000.
        let mut req = e.request("L-A-1", 0, "QZ-2026-000100", "400000", 240);
        // A combination loan: the bank lends another 300,000 on the same home (one
        // window); the centre's part is decided by its own rule.
        req.commercial = Some(yuan("300000"));
        let v = e.apply(&req).unwrap();
        assert_eq!(v.status, "approved", "{}", v.details.reason_en);
        assert_eq!(v.kind, "combination");
        // The bank prices at the 5-year LPR 3.5 % − 30 bp = 3.2 %: M = 1,693.99.
        let part = v.details.commercial.clone().unwrap();
        assert_eq!(part.status, "approved", "{}", part.note);
        assert_eq!(part.amount, yuan("300000").fen());
        assert_eq!(Rate::from_units(part.rate_units).percent_string(), "3.2");
        assert_eq!(part.schedule.len(), 240);
        assert_eq!(
            part.schedule[1].principal + part.schedule[1].interest,
            169_399
        );
        assert_eq!(v.principal, yuan("400000"));
        assert_eq!(v.annual_rate_pct, "2.6");
        assert_eq!(v.home, "first");
        assert_eq!(candidate(&v, LimitKind::Cap), yuan("500000"));
        assert_eq!(candidate(&v, LimitKind::LoanToValue), yuan("800000"));
        assert_eq!(candidate(&v, LimitKind::Balance), yuan("1759200"));
        assert!(candidate(&v, LimitKind::Capacity) > yuan("740000"));
        assert_eq!(binding(&v), Some(LimitKind::Cap));
        assert_eq!(v.details.price, Some(yuan("1000000").fen()));
        assert_eq!(v.details.seller_account, SELLER_A);
        assert_eq!(
            steps(&v),
            ["submitted", "verifying", "approved", "commercial-approved"]
        );
        let a_loan = v.loan_no.clone();

        // One loan at a time.
        let err = e
            .apply(&e.request("L-A-2", 0, "QZ-2026-000100", "100000", 120))
            .unwrap_err();
        assert!(err.to_string().contains("one loan at a time"), "{err}");

        // Not disbursed before signing.
        let err = disburse(&e.servicing(), &a_loan, &clerk("S0001"), Timestamp::now()).unwrap_err();
        assert!(err.to_string().contains("needs signed"), "{err}");

        // -- signed once: three documents, each signed by the borrower and sealed.
        let v = ln::contract::sign(
            &e.loans(&e.live),
            &e.signer,
            &a_loan,
            &online(&a.id),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(v.status, "signed");
        assert_eq!(v.documents.len(), 3);
        let mortgage =
            ln::contract::document(e.store, C, &a_loan, &format!("{a_loan}-DY")).unwrap();
        let mortgage = SignedDocument::from_json(&mortgage.content).unwrap();
        // The collateral is pre-registered with the registry on the filed contract (a home
        // still being built), both lenders as mortgagees.
        let reg = v.details.mortgage_no.clone().expect("mortgage registered");
        assert!(reg.contains("不动产证明"), "{reg}");
        assert!(steps(&v).contains(&"mortgage-registered"));
        assert!(
            mortgage.document.body.contains("商业贷款 300,000.00"),
            "one collateral, two mortgagees: {}",
            mortgage.document.body
        );
        let ca = e.signer.ca_public_key().unwrap();
        for (doc_no, _, sm3) in &v.documents {
            let row = ln::contract::document(e.store, C, &a_loan, doc_no).unwrap();
            let signed = SignedDocument::from_json(&row.content).unwrap();
            assert_eq!(&signed.document.sm3_hex(), sm3);
            let report = verify(&signed, Some(&ca));
            assert!(report.is_valid(), "{doc_no}: {:?}", report.problems);
            assert_eq!(report.signatures.len(), 2, "the borrower and the seal");
            // One more character breaks it.
            let mut forged = signed.clone();
            forged.document.body.push('。');
            assert!(!verify(&forged, Some(&ca)).is_valid());
        }

        // -- disbursed to the seller on 2026-11-27: 121 holds the principal, the seller's
        // account at the bank has it, the schedule runs from the value date.
        let v = disburse(&e.servicing(), &a_loan, &clerk("S0001"), Timestamp::now()).unwrap();
        assert_eq!(v.status, "active", "{:?}", v.events);
        assert_eq!(v.disbursed_on, Some(d("2026-11-27")));
        assert_eq!(v.outstanding, yuan("400000"));
        assert_eq!(e.balance(&format!("121.{a_loan}")), yuan("400000"));
        let seller = admin
            .accounts()
            .unwrap()
            .into_iter()
            .find(|x| x.account == SELLER_A)
            .unwrap();
        // Both lenders paid the seller: 400,000 from the fund, 300,000 from the bank.
        assert_eq!(seller.balance_fen, yuan("700000").fen());
        let part = v.details.commercial.clone().unwrap();
        assert_eq!(part.status, "disbursed", "{}", part.note);
        assert_eq!(part.disbursed_on, Some(d("2026-11-27")));
        assert!(steps(&v).contains(&"commercial-disbursed"));
        // One monthly total: 2,139.15 + 1,693.99 = 3,833.14 from period 2.
        assert_eq!(v.combined.len(), 240);
        assert_eq!(v.combined[1].hpf, yuan("2139.15"));
        assert_eq!(v.combined[1].commercial, yuan("1693.99"));
        assert_eq!(v.combined[1].total, yuan("3833.14"));
        let expected = loan::schedule(
            yuan("400000"),
            Rate::parse_percent("2.6").unwrap(),
            240,
            Method::EqualInstallment,
            Some((d("2026-11-27"), 20)),
        )
        .unwrap();
        assert_eq!(v.schedule.len(), 240);
        for (got, want) in v.schedule.iter().zip(&expected) {
            assert_eq!(
                (got.principal, got.interest),
                (want.principal, want.interest)
            );
            assert_eq!(Some(got.due), want.due);
        }
        // Period 1, 2026-12-20: interest 400,000 × 2.6 % × 23 / 360 = 664.44; the
        // installment M = 2,139.15 less a full month's interest 866.67 = 1,272.48 principal.
        assert_eq!(v.schedule[0].due, d("2026-12-20"));
        assert_eq!(v.schedule[0].interest, yuan("664.44"));
        assert_eq!(v.schedule[0].principal, yuan("1272.48"));
        assert_eq!(v.schedule[1].payment, yuan("2139.15"));

        // -- B and C: a couple, 900,000 asked over 300 months, repaid from their funds:
        // the couple cap 800,000 binds (price 1,500,000 × 80 % = 1,200,000).
        let b = &e.people[1];
        let c = &e.people[2];
        let mut req = e.request("L-B-1", 1, "QZ-2026-000200", "900000", 300);
        req.spouse = Some(c.id.clone());
        req.consents = vec![(c.id.clone(), "counter-signature".into())];
        req.deduct_from = DeductFrom::Fund;
        req.repay_day = 15;
        let v = e.apply(&req).unwrap();
        assert_eq!(v.status, "approved", "{}", v.details.reason_en);
        assert_eq!(v.principal, yuan("800000"));
        assert_eq!(binding(&v), Some(LimitKind::Cap));
        assert_eq!(candidate(&v, LimitKind::LoanToValue), yuan("1200000"));
        assert_eq!(candidate(&v, LimitKind::Balance), yuan("3518400"));
        assert!(
            v.details.reason_en.contains("cap"),
            "{}",
            v.details.reason_en
        );
        let b_loan = v.loan_no.clone();
        let v = ln::contract::sign(
            &e.loans(&e.live),
            &e.signer,
            &b_loan,
            &clerk("S0001"),
            Timestamp::now(),
        )
        .unwrap();
        let row = ln::contract::document(e.store, C, &b_loan, &b_loan).unwrap();
        let report = verify(&SignedDocument::from_json(&row.content).unwrap(), Some(&ca));
        assert!(report.is_valid());
        assert_eq!(report.signatures.len(), 3, "both borrowers and the seal");
        assert_eq!(v.status, "signed");
        let v = disburse(&e.servicing(), &b_loan, &clerk("S0001"), Timestamp::now()).unwrap();
        assert_eq!(v.status, "active");
        assert_eq!(v.schedule[0].due, d("2026-12-15"));
        // Both borrowers were told every status the loan reached (issue 8), in order.
        for who in [&e.people[1], c] {
            let told: Vec<String> = anju_app::notify::of_member(e.store, C, &who.id, 50)
                .unwrap()
                .into_iter()
                .rev()
                .map(|n| n.body)
                .filter(|b| b.contains(&format!("（编号{b_loan}）")))
                .collect();
            assert_eq!(
                told.last().map(String::as_str),
                Some(
                    format!("【衢州公积金】您的公积金贷款（编号{b_loan}）状态更新为：还款中。")
                        .as_str()
                ),
                "{told:?}"
            );
            assert!(
                told.iter()
                    .any(|t| t.ends_with("状态更新为：已签约待放款。")),
                "{told:?}"
            );
        }

        // -- F: a provident-fund loan alone, 300,000 over 120 months, equal principal:
        // period 1 is 2,500.00 principal + 300,000 × 2.6 % × 23 / 360 = 498.33 interest.
        let f = &e.people[5];
        let mut req = e.request("L-F-1", 5, "QZ-2026-000500", "300000", 120);
        req.method = Method::EqualPrincipal;
        let v = e.apply(&req).unwrap();
        assert_eq!(v.status, "approved", "{}", v.details.reason_en);
        assert_eq!(v.kind, "hpf");
        assert!(v.combined.is_empty());
        let f_loan = v.loan_no.clone();
        ln::contract::sign(
            &e.loans(&e.live),
            &e.signer,
            &f_loan,
            &online(&f.id),
            Timestamp::now(),
        )
        .unwrap();
        let v = disburse(&e.servicing(), &f_loan, &clerk("S0001"), Timestamp::now()).unwrap();
        assert_eq!(v.status, "active");
        assert_eq!(v.schedule[0].principal, yuan("2500"));
        assert_eq!(v.schedule[0].interest, yuan("498.33"));

        // -- D owes a provident-fund loan elsewhere: refused with the reason.
        let v = e
            .apply(&e.request("L-D-1", 3, "QZ-2026-000300", "300000", 240))
            .unwrap();
        assert_eq!(v.status, "refused");
        assert!(
            v.details.reason_en.contains("provident-fund loan"),
            "{}",
            v.details.reason_en
        );
        assert_eq!(v.principal, Fen::ZERO);

        // -- E: the exchange is down → review; the maker cannot check their own proposal.
        let ctx = e.loans(&e.dead);
        let v = ln::apply(
            &ctx,
            &e.request("L-E-1", 4, "QZ-2026-000100", "200000", 120),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(v.status, "review", "{}", v.details.reason_en);
        assert_eq!(ln::review_queue(e.store, C).unwrap().len(), 1);
        ln::propose(
            &ctx,
            &v.loan_no,
            Proposal::Refuse,
            "无法核验购房合同",
            &clerk("S0001"),
            Timestamp::now(),
        )
        .unwrap();
        let err =
            ln::confirm(&ctx, &v.loan_no, true, &clerk("S0001"), Timestamp::now()).unwrap_err();
        assert!(err.to_string().contains("maker-checker"), "{err}");
        let v = ln::confirm(&ctx, &v.loan_no, true, &clerk("S0002"), Timestamp::now()).unwrap();
        assert_eq!(v.status, "refused");
        assert!(ln::review_queue(e.store, C).unwrap().is_empty());

        // -- days close. 2026-11-27 has nothing due.
        let r = e.close("2026-11-27");
        assert_eq!(r.loans.loans_due, 0);
        let again = close_day(
            &e.servicing(),
            &e.calendar,
            d("2026-11-27"),
            &Stamp::system("day-close"),
            Timestamp::now(),
        )
        .unwrap();
        assert!(again.already, "a closed day is not closed twice");

        // 2026-12-15: B's first installment comes from the couple's fund (B's account
        // first). 800,000 at 2.6 % over 300 months from 2026-11-27: period 1 is 18 days of
        // interest.
        let b_before = e.balance(&format!("201.{}", b.account));
        let b_sched = e.show(&b_loan).schedule;
        let first_b = b_sched[0].payment;
        let r = e.close("2026-12-15");
        assert_eq!(r.loans.fund_repayments, 1);
        assert_eq!(r.loans.fund_amount_fen, first_b.fen());
        assert_eq!(
            e.balance(&format!("201.{}", b.account)),
            Fen::new(b_before.fen() - first_b.fen())
        );
        assert_eq!(
            b_sched[0].interest,
            yuan("1040.00"),
            "800,000 × 2.6 % × 18 / 360"
        );
        let v = e.show(&b_loan);
        assert_eq!(v.schedule[0].status, "paid");
        assert_eq!(
            v.outstanding,
            Fen::new(yuan("800000").fen() - v.schedule[0].principal.fen())
        );

        // 2026-12-20: A's and F's cards are empty — the deductions are refused, nothing
        // posts.
        let r = e.close("2026-12-20");
        assert_eq!(r.loans.deductions_sent, 2);
        assert_eq!(r.loans.deductions_executed, 0);
        let v = e.show(&a_loan);
        assert_eq!(v.schedule[0].status, "scheduled");
        assert!(steps(&v).contains(&"deduction-failed"));
        assert_eq!(e.balance(&format!("121.{a_loan}")), yuan("400000"));

        // 2026-12-21: one day overdue — penalty (1,272.48 + 664.44) × 2.6 % × 150 % × 1
        // / 360 = 0.21 for A, 2,998.33 × 2.6 % × 150 % / 360 = 0.32 for F; special
        // mention (关注).
        let r = e.close("2026-12-21");
        assert_eq!(r.loans.newly_overdue, 2);
        assert_eq!(r.loans.penalty_accrued_fen, 21 + 32);
        assert_eq!(r.loans.overdue_loans, 2);
        let v = e.show(&a_loan);
        assert_eq!(v.schedule[0].status, "overdue");
        assert_eq!(v.schedule[0].penalty, yuan("0.21"));
        assert!(v.risk_class.starts_with("02"), "{}", v.risk_class);
        assert_eq!(v.overdue_days, 1);
        let register = overdue_register(e.store, C).unwrap();
        assert_eq!(register.len(), 2);
        assert_eq!(register[0].loan_no, a_loan);
        assert_eq!(register[0].principal, yuan("1272.48"));
        assert_eq!(register[1].loan_no, f_loan);
        assert_eq!(register[1].interest, yuan("498.33"));

        // The borrower tops up the card; 2026-12-22 the deduction takes 1,936.92 + 0.42
        // (two days' penalty) and the loan is normal again.
        admin
            .open_account(&a.card, &a.name, yuan("100000").fen())
            .unwrap();
        admin
            .open_account(&f.card, &f.name, yuan("100000").fen())
            .unwrap();
        let r = e.close("2026-12-22");
        assert_eq!(r.loans.deductions_executed, 2);
        // F pays 2,998.33 + two days' penalty 0.65.
        let v = e.show(&f_loan);
        assert_eq!(v.schedule[0].status, "paid");
        assert_eq!(v.schedule[0].paid, yuan("2998.98"));
        assert!(v.risk_class.starts_with("01"));
        let v = e.show(&a_loan);
        assert_eq!(v.schedule[0].status, "paid");
        assert_eq!(v.schedule[0].penalty, yuan("0.42"));
        assert_eq!(v.schedule[0].paid, yuan("1937.34"));
        assert!(v.risk_class.starts_with("01"), "{}", v.risk_class);
        assert_eq!(v.overdue_days, 0);
        assert_eq!(e.balance(&format!("121.{a_loan}")), yuan("398727.52"));
        assert!(overdue_register(e.store, C).unwrap().is_empty());

        // -- a year of due dates, every one paid on the day.
        admin
            .open_account(&a.card, &a.name, yuan("100000").fen())
            .unwrap();
        admin
            .open_account(&f.card, &f.name, yuan("100000").fen())
            .unwrap();
        for month in 1..=11 {
            e.close(&format!("2027-{month:02}-15"));
            let r = e.close(&format!("2027-{month:02}-20"));
            assert_eq!(r.loans.deductions_executed, 2, "2027-{month:02}");
        }
        let v = e.show(&a_loan);
        assert_eq!(v.schedule.iter().filter(|i| i.status == "paid").count(), 12);
        let outstanding = v.outstanding;
        assert_eq!(e.balance(&format!("121.{a_loan}")), outstanding);

        // -- 2027-11-27: prepay 100,000 from the card, keeping the payment: the term
        // shortens and interest for the 7 days since 2027-11-20 is paid with it.
        set_business_date(e.store, C, d("2027-11-27")).unwrap();
        let v = prepay(
            &e.servicing(),
            &a_loan,
            &Prepay {
                amount: Some(yuan("100000")),
                mode: PrepayMode::ShortenTerm,
                from: DeductFrom::Card,
            },
            &online(&a.id),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(
            v.outstanding,
            Fen::new(outstanding.fen() - yuan("100000").fen())
        );
        assert!(v.months < 240, "shortened to {}", v.months);
        let rec = &v.details.prepayments[0];
        let interest =
            loan::day_interest(outstanding, Rate::parse_percent("2.6").unwrap(), 7).unwrap();
        assert_eq!(rec.interest, interest.fen());
        let next = v.schedule.iter().find(|i| i.status != "paid").unwrap();
        assert_eq!(next.due, d("2027-12-20"));
        let later = v
            .schedule
            .iter()
            .filter(|i| i.status != "paid")
            .nth(1)
            .unwrap();
        assert!(later.payment <= yuan("2139.15"), "{}", later.payment);

        // F prepays 50,000 from the card the same day, keeping the end date: same
        // periods, lower payments.
        let before = e.show(&f_loan);
        let v = prepay(
            &e.servicing(),
            &f_loan,
            &Prepay {
                amount: Some(yuan("50000")),
                mode: PrepayMode::Reamortise,
                from: DeductFrom::Card,
            },
            &online(&f.id),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(v.months, 120, "the end date is kept");
        assert_eq!(v.schedule.len(), 120);
        assert_eq!(
            v.outstanding,
            Fen::new(before.outstanding.fen() - yuan("50000").fen())
        );
        let after_next = v
            .schedule
            .iter()
            .filter(|i| i.status != "paid")
            .nth(1)
            .unwrap();
        let before_next = before
            .schedule
            .iter()
            .filter(|i| i.status != "paid")
            .nth(1)
            .unwrap();
        assert!(after_next.principal < before_next.principal);
        assert_eq!(
            v.schedule.last().unwrap().due,
            before.schedule.last().unwrap().due
        );

        // -- 2027-12-01: both paid off by card (A's part of the combination loan: the
        // bank's part is the bank's to collect); the certificates are sealed and verify.
        set_business_date(e.store, C, d("2027-12-01")).unwrap();
        admin
            .open_account(&f.card, &f.name, yuan("300000").fen())
            .unwrap();
        let v = prepay(
            &e.servicing(),
            &f_loan,
            &Prepay {
                amount: None,
                mode: PrepayMode::Reamortise,
                from: DeductFrom::Card,
            },
            &online(&f.id),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(v.status, "paid_off", "{:?}", v.events);
        assert_eq!(e.balance(&format!("121.{f_loan}")), Fen::ZERO);
        let cert = ln::contract::payoff_certificate(
            &e.loans(&e.live),
            &e.signer,
            &f_loan,
            Timestamp::now(),
        )
        .unwrap();
        assert!(
            verify(
                &SignedDocument::from_json(&cert.content).unwrap(),
                Some(&ca)
            )
            .is_valid()
        );
        admin
            .open_account(&a.card, &a.name, yuan("400000").fen())
            .unwrap();
        let v = prepay(
            &e.servicing(),
            &a_loan,
            &Prepay {
                amount: None,
                mode: PrepayMode::Reamortise,
                from: DeductFrom::Card,
            },
            &online(&a.id),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(v.status, "paid_off", "{:?}", v.events);
        assert_eq!(v.outstanding, Fen::ZERO);
        assert_eq!(v.closed_on, Some(d("2027-12-01")));
        assert_eq!(e.balance(&format!("121.{a_loan}")), Fen::ZERO);
        let cert = ln::contract::payoff_certificate(
            &e.loans(&e.live),
            &e.signer,
            &a_loan,
            Timestamp::now(),
        )
        .unwrap();
        let signed = SignedDocument::from_json(&cert.content).unwrap();
        assert!(signed.document.body.contains(&a_loan));
        assert!(verify(&signed, Some(&ca)).is_valid());
        // Paying off released the mortgage at the registry.
        let v = e.show(&a_loan);
        assert!(v.details.mortgage_released.is_some(), "{:?}", v.events);
        assert!(steps(&v).contains(&"mortgage-released"));
        let again = ln::contract::payoff_certificate(
            &e.loans(&e.live),
            &e.signer,
            &a_loan,
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(again.doc_no, cert.doc_no);
        let err = prepay(
            &e.servicing(),
            &a_loan,
            &Prepay {
                amount: None,
                mode: PrepayMode::Reamortise,
                from: DeductFrom::Card,
            },
            &online(&a.id),
            Timestamp::now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("paid_off"), "{err}");

        // B's loan was repaid from the fund each month.
        let v = e.show(&b_loan);
        assert_eq!(v.schedule.iter().filter(|i| i.status == "paid").count(), 12);
        assert_eq!(v.status, "active");
        assert_eq!(e.balance(&format!("121.{b_loan}")), v.outstanding);

        let report = audit(e.store, C).unwrap();
        assert!(report.is_clean(), "{report:?}");
        drop(bank);
    });
}

/// Existing loans switch to a new rate table on its re-pricing date: the close of the day
/// before re-amortises the unpaid periods at the new rate.
#[test]
fn existing_loans_are_repriced_on_the_repricing_date() {
    // A rate cut effective 2026-12-01 for new loans; existing loans switch on 2027-01-01.
    let text = format!(
        "{QUZHOU_POLICY}\n[[loan_rate]]\neffective = \"2026-12-01\"\nfirst_le5 = \"2.0\"\n\
         first_gt5 = \"2.5\"\nsecond_le5 = \"2.425\"\nsecond_gt5 = \"2.975\"\n\
         reprice_existing_on = \"2027-01-01\"\n"
    );
    let policy = Policy::from_toml(&text).unwrap();
    for_each_backend(|db| {
        let dir = tempfile::tempdir().unwrap();
        let bank = BankSimProcess::start(
            EXE.as_ref(),
            &dir.path().join("bank.db"),
            &["--bank", BANK, "--date", "2026-11-27"],
        )
        .unwrap();
        let e = setup_with(db.store.as_ref(), &bank, policy.clone());
        let mut req = e.request("L-R-1", 0, "QZ-2026-000100", "400000", 240);
        req.deduct_from = DeductFrom::Fund;
        let v = e.apply(&req).unwrap();
        assert_eq!(v.annual_rate_pct, "2.6", "signed before the cut");
        let no = v.loan_no;
        ln::contract::sign(
            &e.loans(&e.live),
            &e.signer,
            &no,
            &clerk("S0001"),
            Timestamp::now(),
        )
        .unwrap();
        disburse(&e.servicing(), &no, &clerk("S0001"), Timestamp::now()).unwrap();
        let r = e.close("2026-12-20");
        assert_eq!(r.loans.fund_repayments, 1);
        assert_eq!(e.close("2026-12-30").loans.repriced, 0);
        let r = e.close("2026-12-31");
        assert_eq!(r.loans.repriced, 1);
        let v = e.show(&no);
        assert_eq!(v.annual_rate_pct, "2.5");
        assert!(steps(&v).contains(&"repriced"));
        // 400,000 − 1,272.48 = 398,727.52 over the 239 periods left, from 2027-01-20.
        let want = loan::schedule_from(
            yuan("398727.52"),
            Rate::parse_percent("2.5").unwrap(),
            239,
            Method::EqualInstallment,
            d("2027-01-20"),
        )
        .unwrap();
        assert_eq!(v.schedule.len(), 240);
        assert_eq!(v.schedule[0].status, "paid");
        assert_eq!(
            v.schedule[0].interest,
            yuan("664.44"),
            "the paid period keeps its rate"
        );
        for (got, want) in v.schedule[1..].iter().zip(&want) {
            assert_eq!(
                (got.principal, got.interest),
                (want.principal, want.interest)
            );
            assert_eq!(Some(got.due), want.due);
        }
        // 398,727.52 × 2.5 % / 12 = 830.68.
        assert_eq!(v.schedule[1].interest, yuan("830.68"));
        let report = audit(e.store, C).unwrap();
        assert!(report.is_clean(), "{report:?}");
    });
}
