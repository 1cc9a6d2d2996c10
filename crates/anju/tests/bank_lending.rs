#![allow(clippy::unwrap_used)] // tests fail loudly by design
//! The commercial part of a combination loan (组合贷款, issue 7 item 5) through the
//! commercial-lending port's production adapter (`anju_bank::client::BankClient` as
//! `CommercialLender`) against `anju bank-sim` running as a separate process: approval and
//! pricing, schedules exactly `anju_domain::loan::schedule`, disbursement to the seller
//! seen on the bank's statement, idempotency, declines, and faults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anju_app::lending::{
    BorrowerInfo, BorrowerRole, CommercialDecision, CommercialLender, CommercialLoan,
    CommercialRequest, CommercialStatus, DisburseOrder, Disbursement, combine,
};
use anju_app::settlement::ports::Bank;
use anju_bank::client::BankClient;
use anju_bank::sim::lending::lending_account;
use anju_bank::sim::process::BankSimProcess;
use anju_domain::loan::{Method, schedule};
use anju_domain::money::{Fen, Rate};
use jiff::civil::{Date, date};

const DAY: Date = date(2026, 11, 27);
const ASKED: Date = date(2026, 11, 10);
const SELLER: &str = "1202020109000099999";
const SELLER_NAME: &str = "衢州房产开发有限公司";
const APPLICANT_ID: &str = "330802199001011234";
const SPOUSE_ID: &str = "330802199202022345";

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_anju"))
}

/// A simulator on a fresh file (business date [`DAY`]) holding the seller's account.
struct Sim {
    p: BankSimProcess,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Sim {
    fn start(extra: &[&str]) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("bank-sim.log");
        let accounts = dir.path().join("accounts.json");
        std::fs::write(
            &accounts,
            serde_json::json!([{"account": SELLER, "name": SELLER_NAME, "balance_fen": 0}])
                .to_string(),
        )
        .unwrap();
        let accounts_arg = accounts.to_str().unwrap().to_owned();
        let mut args = vec!["--date", "2026-11-27", "--accounts", &accounts_arg];
        args.extend_from_slice(extra);
        let p = BankSimProcess::start_logged(exe(), &dir.path().join("bank.db"), &args, Some(&log))
            .unwrap_or_else(|e| {
                panic!("{e}\n{}", std::fs::read_to_string(&log).unwrap_or_default())
            });
        Sim { p, log, _dir: dir }
    }

    fn client(&self) -> BankClient {
        self.p.client().unwrap()
    }

    /// A client that gives up quickly: one attempt, `timeout_ms` per request.
    fn impatient(&self, timeout_ms: u64) -> BankClient {
        let mut s = self.p.settings();
        s.request_timeout = Duration::from_millis(timeout_ms);
        s.attempts = 1;
        BankClient::new(s).unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn request(no: &str) -> CommercialRequest {
    CommercialRequest {
        application_no: no.into(),
        borrowers: vec![
            BorrowerInfo {
                name: "王伟".into(),
                id_number: APPLICANT_ID.into(),
                role: BorrowerRole::Applicant,
                monthly_income: Fen::new(2_000_000),
            },
            BorrowerInfo {
                name: "李娜".into(),
                id_number: SPOUSE_ID.into(),
                role: BorrowerRole::CoBorrower,
                monthly_income: Fen::new(1_500_000),
            },
        ],
        amount: Fen::new(40_000_000),
        months: 240,
        method: Method::EqualInstallment,
        repay_day: 20,
        first_home: true,
        price: Fen::new(200_000_000),
        property: "浙(2026)衢州市不动产权第0012345号".into(),
        hpf_amount: Fen::new(60_000_000),
        hpf_payment: Fen::new(250_000),
        requested_on: ASKED,
    }
}

fn order() -> DisburseOrder {
    DisburseOrder {
        seller_account: SELLER.into(),
        seller_name: SELLER_NAME.into(),
        seller_bank: None,
        date: DAY,
        memo: "组合贷款商业部分放款".into(),
    }
}

fn approved(d: CommercialDecision) -> CommercialLoan {
    match d {
        CommercialDecision::Approved(l) => l,
        other => panic!("not approved: {other:?}"),
    }
}

fn declined(d: CommercialDecision) -> String {
    match d {
        CommercialDecision::Declined { reason } => reason,
        other => panic!("not declined: {other:?}"),
    }
}

fn pct(text: &str) -> Rate {
    Rate::parse_percent(text).unwrap()
}

#[test]
fn approve_disburse_and_query_with_exact_schedules() {
    let sim = Sim::start(&[]);
    let c = sim.client();
    assert_eq!(CommercialLender::code(&c), "105");

    // Approved and priced: 240 months → 5-year LPR 3.5 % − 30 bp for a first home.
    let loan = approved(c.apply(&request("DK-2026-000123")).unwrap());
    assert_eq!(loan.application_no, "DK-2026-000123");
    assert_eq!(loan.status, CommercialStatus::Approved);
    assert_eq!(loan.annual_rate, pct("3.2"));
    assert_eq!(loan.amount, Fen::new(40_000_000));
    let provisional = schedule(
        Fen::new(40_000_000),
        pct("3.2"),
        240,
        Method::EqualInstallment,
        Some((ASKED, 20)),
    )
    .unwrap();
    assert_eq!(loan.schedule, provisional);

    // The same application again: the same loan. Other content under its number: refused.
    let again = approved(c.apply(&request("DK-2026-000123")).unwrap());
    assert_eq!(again, loan);
    let mut changed = request("DK-2026-000123");
    changed.amount = Fen::new(45_000_000);
    match c.apply(&changed).unwrap() {
        CommercialDecision::Refused { reason } => assert!(reason.contains("reused"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(approved(c.apply(&request("DK-2026-000123")).unwrap()), loan);

    // Disbursed to the seller on the bank's business date: the final schedule from then.
    let lender_before = c.balance(&lending_account("105")).unwrap();
    let done = match c.disburse(&loan.bank_loan_no, &order()).unwrap() {
        Disbursement::Disbursed(l) => l,
        other => panic!("{other:?}"),
    };
    let CommercialStatus::Disbursed { on, bank_ref } = done.status.clone() else {
        panic!("{:?}", done.status)
    };
    assert_eq!(on, DAY);
    let fin = schedule(
        Fen::new(40_000_000),
        pct("3.2"),
        240,
        Method::EqualInstallment,
        Some((DAY, 20)),
    )
    .unwrap();
    assert_eq!(done.schedule, fin);
    assert_ne!(done.schedule[0], loan.schedule[0]);

    // The status query says the same.
    assert_eq!(c.loan(&loan.bank_loan_no).unwrap(), Some(done.clone()));
    assert_eq!(c.loan("L105NOSUCHLOAN").unwrap(), None);

    // The seller's statement has the money under the disbursement's reference; the bank's
    // lending account paid it.
    let st = c.statement(SELLER, DAY).unwrap();
    let line = st.lines.iter().find(|l| l.bank_ref == bank_ref).unwrap();
    assert_eq!(line.amount, Fen::new(40_000_000));
    assert_eq!(line.counterparty_account, lending_account("105"));
    assert_eq!(st.closing, Fen::new(40_000_000));
    assert_eq!(
        c.balance(&lending_account("105")).unwrap(),
        lender_before.checked_sub(Fen::new(40_000_000)).unwrap()
    );

    // The same order again moves nothing; another order is refused.
    let twice = match c.disburse(&loan.bank_loan_no, &order()).unwrap() {
        Disbursement::Disbursed(l) => l,
        other => panic!("{other:?}"),
    };
    assert_eq!(twice, done);
    let mut other = order();
    other.memo = "another".into();
    assert!(matches!(
        c.disburse(&loan.bank_loan_no, &other).unwrap(),
        Disbursement::Refused { .. }
    ));
    assert_eq!(c.balance(SELLER).unwrap(), Fen::new(40_000_000));
    // Asking for the application again now answers the disbursed loan.
    assert_eq!(approved(c.apply(&request("DK-2026-000123")).unwrap()), done);

    // The member's one monthly payment: both schedules side by side.
    let hpf = schedule(
        Fen::new(60_000_000),
        pct("2.85"),
        360,
        Method::EqualInstallment,
        Some((DAY, 20)),
    )
    .unwrap();
    let both = combine(&hpf, &done.schedule).unwrap();
    assert_eq!(both.len(), 360);
    assert_eq!(
        both[1].total,
        hpf[1]
            .payment
            .checked_add(done.schedule[1].payment)
            .unwrap()
    );

    let stats = sim.p.admin().stats().unwrap();
    assert_eq!((stats.ledger.loans, stats.ledger.loans_disbursed), (1, 1));
}

#[test]
fn disbursement_refusals_move_nothing() {
    let sim = Sim::start(&[]);
    let c = sim.client();
    let loan = approved(c.apply(&request("DK-R1")).unwrap());
    let refused = |o: &DisburseOrder| match c.disburse(&loan.bank_loan_no, o).unwrap() {
        Disbursement::Refused { reason } => reason,
        other => panic!("{other:?}"),
    };
    let mut o = order();
    o.date = date(2026, 11, 28);
    assert!(refused(&o).contains("business date"));
    let mut o = order();
    o.seller_name = "别人".into();
    assert!(refused(&o).contains("name"));
    let mut o = order();
    o.seller_account = "999999".into();
    assert!(refused(&o).contains("does not exist"));
    let mut o = order();
    o.seller_account = "not an account".into();
    assert!(refused(&o).contains("not sent"));
    match c.disburse("L105NOSUCHLOAN", &order()).unwrap() {
        Disbursement::Refused { reason } => assert!(reason.contains("no such loan")),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.balance(SELLER).unwrap(), Fen::ZERO);
    assert_eq!(
        c.loan(&loan.bank_loan_no).unwrap().unwrap().status,
        CommercialStatus::Approved
    );
    // A cross-bank seller (no peer simulated): the money leaves this bank.
    let mut o = order();
    o.seller_account = "6222000011112222".into();
    o.seller_bank = Some("102".into());
    assert!(matches!(
        c.disburse(&loan.bank_loan_no, &o).unwrap(),
        Disbursement::Disbursed(_)
    ));
    let st = c.statement(&lending_account("105"), DAY).unwrap();
    assert_eq!(st.lines.len(), 1);
    assert_eq!(st.lines[0].amount, Fen::new(-40_000_000));
}

#[test]
fn declines_for_loan_to_value_income_and_credit() {
    let sim = Sim::start(&["--decline-id", SPOUSE_ID, "--lpr-5y-pct", "3.45"]);
    let c = sim.client();

    // Loan-to-value: 60 + 100.01 > 80 % of 200 (first home).
    let mut r = request("DK-LTV1");
    r.borrowers.truncate(1);
    r.amount = Fen::new(100_010_000);
    r.borrowers[0].monthly_income = Fen::new(100_000_000);
    assert!(declined(c.apply(&r).unwrap()).contains("loan-to-value above 80 %"));
    // Second home: 70 %. 60 + 80.01 > 140.
    let mut r = request("DK-LTV2");
    r.borrowers.truncate(1);
    r.first_home = false;
    r.amount = Fen::new(80_010_000);
    r.borrowers[0].monthly_income = Fen::new(100_000_000);
    assert!(declined(c.apply(&r).unwrap()).contains("70 %"));
    // At the limit it is approved, priced 3.45 % + 30 bp.
    r.application_no = "DK-LTV3".into();
    r.amount = Fen::new(80_000_000);
    let loan = approved(c.apply(&r).unwrap());
    assert_eq!(loan.annual_rate, pct("3.75"));

    // Income: the total first payment above 50 % of the summed income.
    let mut r = request("DK-INC1");
    r.borrowers.truncate(1);
    r.borrowers[0].monthly_income = Fen::new(600_000);
    assert!(declined(c.apply(&r).unwrap()).contains("income"));

    // A borrower on the bank's decline list.
    let reason = declined(c.apply(&request("DK-ID1")).unwrap());
    assert!(
        reason.contains("credit") && reason.contains("李娜"),
        "{reason}"
    );
    // A decline is kept: the same application again is declined again.
    assert_eq!(declined(c.apply(&request("DK-ID1")).unwrap()), reason);

    // An invalid application is not sent.
    let mut r = request("DK-BAD");
    r.repay_day = 31;
    match c.apply(&r).unwrap() {
        CommercialDecision::Refused { reason } => assert!(reason.contains("repay_day")),
        other => panic!("{other:?}"),
    }
    let stats = sim.p.admin().stats().unwrap();
    assert_eq!((stats.ledger.loans, stats.ledger.loan_declines), (1, 4));
}

#[test]
fn a_hanging_bank_is_unreachable_and_a_retry_later_gets_the_one_loan() {
    let sim = Sim::start(&["--timeout-rate", "100", "--hang-ms", "3000"]);
    let dir = sim._dir.path().to_owned();
    let c = sim.impatient(400);
    let e = c.apply(&request("DK-T1")).unwrap_err();
    assert_eq!(e.bank, "105");
    assert!(e.reason.contains("timed out"), "{e}");
    // Only the POSTs hang; the query of a loan the bank never made says so at once.
    assert_eq!(c.loan("L105X").unwrap(), None);
    drop(c);
    // The bank comes back without the fault on the same books; asking again is safe.
    let Sim { mut p, log, _dir } = sim;
    p.kill();
    let again = BankSimProcess::start_logged(
        exe(),
        &dir.join("bank.db"),
        &["--date", "2026-11-27"],
        Some(&log),
    )
    .unwrap();
    let c = again.client().unwrap();
    let loan = approved(c.apply(&request("DK-T1")).unwrap());
    assert_eq!(approved(c.apply(&request("DK-T1")).unwrap()), loan);
    assert_eq!(again.admin().stats().unwrap().ledger.loans, 1);
}

#[test]
fn a_bank_down_is_unreachable_and_the_disbursement_is_retried_once() {
    let mut sim = Sim::start(&[]);
    let loan = approved(sim.client().apply(&request("DK-D1")).unwrap());
    let addr = sim.p.url().to_owned();
    sim.p.kill();
    let c = sim.impatient(400);
    let e = c.disburse(&loan.bank_loan_no, &order()).unwrap_err();
    assert!(e.reason.contains("unreachable"), "{e}");
    assert!(c.loan(&loan.bank_loan_no).is_err());
    sim.p.restart().unwrap();
    assert_eq!(sim.p.url(), addr);
    let c = sim.client();
    for _ in 0..2 {
        assert!(matches!(
            c.disburse(&loan.bank_loan_no, &order()).unwrap(),
            Disbursement::Disbursed(_)
        ));
    }
    assert_eq!(c.balance(SELLER).unwrap(), Fen::new(40_000_000));
    assert!(!sim.log().is_empty());
}

#[test]
fn latency_applies_to_the_loan_endpoints() {
    let sim = Sim::start(&["--latency-ms", "600"]);
    let c = sim.impatient(200);
    assert!(c.apply(&request("DK-L1")).is_err());
    assert!(c.loan("L105X").is_err());
    let c = sim.client();
    approved(c.apply(&request("DK-L1")).unwrap());
}

#[test]
fn negative_spreads_and_unsigned_callers() {
    let sim = Sim::start(&["--first-home-spread-bp", "-50", "--lpr-1y-pct", "2.95"]);
    let c = sim.client();
    let loan = approved(c.apply(&request("DK-S1")).unwrap());
    assert_eq!(loan.annual_rate, pct("3"));
    let mut short = request("DK-S2");
    short.months = 60;
    assert_eq!(approved(c.apply(&short).unwrap()).annual_rate, pct("2.45"));
    // A caller with the wrong secret is refused (401), which the client reports as
    // unreachable without retrying; nothing is decided.
    let mut s = sim.p.settings();
    s.secret = "not-the-secret".into();
    let wrong = BankClient::new(s).unwrap();
    let e = wrong.apply(&request("DK-S3")).unwrap_err();
    assert!(e.reason.contains("401"), "{e}");
    assert_eq!(sim.p.admin().stats().unwrap().ledger.loans, 2);
}
