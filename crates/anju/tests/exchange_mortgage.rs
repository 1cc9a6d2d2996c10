//! Mortgage registration and release at the real-estate registry, against
//! `anju exchange-sim` as a separate process: a pre-registration on a filed new-home
//! contract, a registration on an owned property that the `properties` answer then shows
//! as mortgaged, the idempotent repeat, a second loan refused, owners not matching
//! refused, the release, a restart keeping the register, a 5xx fault ending as
//! `Unavailable` with nothing written; and the use cases logging each write like a
//! look-up.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anju_app::AppError;
use anju_app::ledger::{open_accounts, open_centre};
use anju_app::registry::{NewMember, NewUnit, open_member, register_unit};
use anju_app::sharing::ports::{Ask, RealEstate};
use anju_app::sharing::{
    Departments, NewApplication, Sharing, close_application, lookups_of_application,
    open_application, register_mortgage, release_mortgage,
};
use anju_domain::codes::Channel;
use anju_domain::ids::CreditCode;
use anju_domain::ledger::AccountNo;
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::sharing::verify::{ApplicationKind, Claims, Role};
use anju_domain::sharing::{
    Area, ContractKind, Department, MortgageRequest, Mortgagee, Property, PurchaseContract, Purpose,
};
use anju_domain::stamp::Stamp;
use anju_exchange::client::{ExchangeClient, ExchangeSettings};
use anju_exchange::sim::dataset::{Dataset, PersonRecord};
use anju_testkit::for_each_backend;
use jiff::Timestamp;
use jiff::civil::date;

use common::{EXE, SECRET, id};

const CENTRE: &str = "330800000000000";
const CERT: &str = "浙(2024)衢州市不动产权第0001234号";
const CERT_B: &str = "浙(2019)衢州市不动产权第0000777号";
const CONTRACT: &str = "HT330802-2026-000123";

struct People {
    a: String,
    b: String,
}

fn people() -> People {
    People {
        a: id("19900101", 11, true),
        b: id("19920202", 22, false),
    }
}

fn dataset(p: &People) -> Dataset {
    let property = |cert: &str, owners: Vec<String>| Property {
        certificate_no: cert.into(),
        address: "浙江省衢州市柯城区荷花新村3幢1单元201室".into(),
        region_code: "330802".into(),
        area: Area(8_950),
        in_province: true,
        registered_on: date(2024, 3, 1),
        mortgaged: false,
        owners,
    };
    let mut d = Dataset::empty(Timestamp::UNIX_EPOCH);
    d.people.insert(
        p.a.clone(),
        PersonRecord {
            properties: vec![property(CERT, vec![p.a.clone(), p.b.clone()])],
            contracts: vec![PurchaseContract {
                contract_no: CONTRACT.into(),
                kind: ContractKind::New,
                address: "浙江省衢州市柯城区新湖景苑5幢802室".into(),
                region_code: "330802".into(),
                area: Area(11_000),
                price: Fen::new(180_000_000),
                signed_on: date(2026, 10, 8),
                filed_on: date(2026, 10, 9),
                buyers: vec![p.a.clone()],
                seller_name: "衢州新湖置业有限公司".into(),
                seller_account: "33050161736000000123".into(),
                seller_bank: "中国建设银行衢州分行".into(),
                cancelled: false,
            }],
            ..PersonRecord::default()
        },
    );
    d.people.insert(
        p.b.clone(),
        PersonRecord {
            properties: vec![
                property(CERT, vec![p.a.clone(), p.b.clone()]),
                property(CERT_B, vec![p.b.clone()]),
            ],
            ..PersonRecord::default()
        },
    );
    d
}

/// `anju exchange-sim` on the dataset in `dir`, killed on drop; the register stays in
/// `dir` for the next start.
struct Sim {
    child: Child,
    url: String,
    _lifeline: Option<std::process::ChildStdin>,
}

impl Sim {
    fn start(dir: &Path, extra: &[&str]) -> Sim {
        let mut child = Command::new(EXE)
            .args([
                "exchange-sim",
                "--listen",
                "127.0.0.1:0",
                "--secret",
                SECRET,
            ])
            .args(["--exit-with-parent", "--dataset"])
            .arg(dir.join("dataset.json"))
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("exchange-sim listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let lifeline = child.stdin.take();
        Sim {
            child,
            url,
            _lifeline: lifeline,
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(url: &str, attempts: u32) -> ExchangeClient {
    let mut s = ExchangeSettings::new(url, "anju-dev", SECRET);
    s.attempts = attempts;
    s.backoff = Duration::from_millis(10);
    ExchangeClient::new(s).unwrap()
}

fn ask(subject: &str, n: u32) -> Ask {
    Ask {
        subject: subject.into(),
        year: None,
        purpose: Purpose::Loan,
        application_no: "DK-20261127-000001".into(),
        requester: "staff:S0001".into(),
        request_id: format!("DK-20261127-000001-{n}"),
    }
}

fn request(property: &str, loan: &str, owners: &[&String], pre: bool) -> MortgageRequest {
    let mut mortgagees = vec![Mortgagee {
        name: "衢州市住房公积金管理中心".into(),
        code: CENTRE.into(),
        amount: Fen::new(60_000_000),
    }];
    if pre {
        // A combination loan: one collateral, two lenders.
        mortgagees.push(Mortgagee {
            name: "中国建设银行衢州分行".into(),
            code: "105".into(),
            amount: Fen::new(40_000_000),
        });
    }
    MortgageRequest {
        application_no: "DK-20261127-000001".into(),
        loan_no: loan.into(),
        property: property.into(),
        address: "浙江省衢州市柯城区".into(),
        owners: owners.iter().map(|o| (*o).clone()).collect(),
        mortgagees,
        term_end: date(2056, 11, 27),
        pre_registration: pre,
    }
}

fn mortgaged(c: &ExchangeClient, who: &str, cert: &str) -> bool {
    let props = c.properties(&ask(who, 99)).unwrap().value;
    props
        .iter()
        .find(|p| p.certificate_no == cert)
        .unwrap_or_else(|| panic!("{cert} not in {props:?}"))
        .mortgaged
}

fn prepare(p: &People) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    dataset(p).save(&dir.path().join("dataset.json")).unwrap();
    dir
}

fn side_file(dir: &Path) -> PathBuf {
    dir.join("dataset.json.mortgages.jsonl")
}

#[test]
fn registers_refuses_releases_and_survives_a_restart() {
    let p = people();
    let dir = prepare(&p);
    let sim = Sim::start(dir.path(), &[]);
    let c = client(&sim.url, 3);

    // A new home still being built: a pre-registration on its filed contract, two lenders.
    let pre = c
        .register_mortgage(
            &ask(&p.a, 1),
            &request(CONTRACT, "DK000000000001", &[&p.a], true),
        )
        .unwrap();
    assert!(pre.pre_registration);
    assert_eq!(pre.property, CONTRACT);
    assert_eq!(pre.mortgagees.len(), 2);
    assert!(
        pre.registration_no.starts_with("浙(") && pre.registration_no.contains("不动产证明第"),
        "{}",
        pre.registration_no
    );

    // An owned property: registered, and the register then reads it as mortgaged.
    assert!(!mortgaged(&c, &p.a, CERT));
    let reg = c
        .register_mortgage(
            &ask(&p.a, 2),
            &request(CERT, "DK000000000002", &[&p.b, &p.a], false),
        )
        .unwrap();
    assert!(!reg.pre_registration);
    assert_ne!(reg.registration_no, pre.registration_no);
    assert!(mortgaged(&c, &p.a, CERT));
    assert!(mortgaged(&c, &p.b, CERT), "every owner's answer shows it");
    assert!(!mortgaged(&c, &p.b, CERT_B));

    // The same loan on the same property again: the same registration.
    let again = c
        .register_mortgage(
            &ask(&p.a, 3),
            &request(CERT, "DK000000000002", &[&p.a, &p.b], false),
        )
        .unwrap();
    assert_eq!(again, reg);

    // Another loan while it is active: refused, with the registry's reason.
    let refused = c
        .register_mortgage(
            &ask(&p.a, 4),
            &request(CERT, "DK000000000003", &[&p.a, &p.b], false),
        )
        .unwrap_err();
    assert_eq!(refused.department, Department::RealEstate);
    assert!(
        refused.reason.contains("409") && refused.reason.contains("already mortgaged"),
        "{}",
        refused.reason
    );
    // Owners who are not the property's owners; a certificate asked as a contract.
    let wrong_owner = c
        .register_mortgage(
            &ask(&p.a, 5),
            &request(CERT_B, "DK000000000003", &[&p.a], false),
        )
        .unwrap_err();
    assert!(
        wrong_owner.reason.contains("owners"),
        "{}",
        wrong_owner.reason
    );
    let wrong_kind = c
        .register_mortgage(
            &ask(&p.b, 6),
            &request(CERT_B, "DK000000000003", &[&p.b], true),
        )
        .unwrap_err();
    assert!(
        wrong_kind.reason.contains("certificate"),
        "{}",
        wrong_kind.reason
    );
    // Refusals are answers, not failures: the breaker stays closed.
    assert!(!mortgaged(&c, &p.b, CERT_B));

    // A restart keeps the register.
    drop(sim);
    let sim = Sim::start(dir.path(), &[]);
    let c = client(&sim.url, 3);
    assert!(mortgaged(&c, &p.a, CERT));
    let pre_again = c
        .register_mortgage(
            &ask(&p.a, 7),
            &request(CONTRACT, "DK000000000001", &[&p.a], true),
        )
        .unwrap();
    assert_eq!(pre_again, pre);

    // The release; again; an unknown number.
    let rel = c
        .release_mortgage(&ask(&p.a, 8), &reg.registration_no)
        .unwrap();
    assert_eq!(rel.registration_no, reg.registration_no);
    assert!(!mortgaged(&c, &p.a, CERT));
    assert_eq!(
        c.release_mortgage(&ask(&p.a, 9), &reg.registration_no)
            .unwrap(),
        rel
    );
    let unknown = c
        .release_mortgage(&ask(&p.a, 10), "浙(2026)衢州市不动产证明第9999999号")
        .unwrap_err();
    assert!(
        unknown.reason.contains("409") && unknown.reason.contains("no mortgage registration"),
        "{}",
        unknown.reason
    );

    drop(sim);
    let sim = Sim::start(dir.path(), &[]);
    let c = client(&sim.url, 3);
    assert!(!mortgaged(&c, &p.a, CERT), "the release survives a restart");
    assert_eq!(
        c.release_mortgage(&ask(&p.a, 11), &reg.registration_no)
            .unwrap(),
        rel
    );
    // Released, the property takes another loan's mortgage.
    let next = c
        .register_mortgage(
            &ask(&p.a, 12),
            &request(CERT, "DK000000000003", &[&p.a, &p.b], false),
        )
        .unwrap();
    assert_ne!(next.registration_no, reg.registration_no);
    assert!(mortgaged(&c, &p.a, CERT));
    let lines = std::fs::read_to_string(side_file(dir.path())).unwrap();
    assert_eq!(lines.lines().count(), 4, "{lines}");
}

#[test]
fn a_5xx_fault_gives_unavailable_and_writes_nothing() {
    let p = people();
    let dir = prepare(&p);
    {
        let sim = Sim::start(
            dir.path(),
            &["--error-rate", "100", "--fault-departments", "real-estate"],
        );
        let c = client(&sim.url, 2);
        let u = c
            .register_mortgage(
                &ask(&p.a, 1),
                &request(CERT, "DK000000000001", &[&p.a, &p.b], false),
            )
            .unwrap_err();
        assert_eq!(u.department, Department::RealEstate);
        assert!(
            u.reason.contains("HTTP 50") && u.reason.contains("(2 attempts)"),
            "{}",
            u.reason
        );
        let u = c
            .release_mortgage(&ask(&p.a, 2), "浙(2026)衢州市不动产证明第0000001号")
            .unwrap_err();
        assert!(u.reason.contains("HTTP 50"), "{}", u.reason);
    }
    let sim = Sim::start(dir.path(), &[]);
    let c = client(&sim.url, 1);
    assert!(!mortgaged(&c, &p.a, CERT), "nothing was registered");
    let reg = c
        .register_mortgage(
            &ask(&p.a, 3),
            &request(CERT, "DK000000000001", &[&p.a, &p.b], false),
        )
        .unwrap();
    assert!(
        reg.registration_no.ends_with("第0000001号"),
        "{}",
        reg.registration_no
    );
}

fn clerk() -> Stamp {
    Stamp {
        operator: "staff:S0001".into(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".into(),
        on_behalf_of: None,
    }
}

fn setup(s: &dyn anju_store::Store, p: &People) {
    let today = date(2026, 11, 27);
    let now: Timestamp = "2026-11-27T02:00:00Z".parse().unwrap();
    let policy = Policy::from_toml(QUZHOU_POLICY).unwrap();
    open_centre(s, CENTRE, "衢州市住房公积金管理中心", today, now).unwrap();
    open_accounts(s, CENTRE, &[AccountNo::sub("101", "ABC").unwrap()], today).unwrap();
    let unit = register_unit(
        s,
        CENTRE,
        &policy,
        NewUnit {
            credit_code: CreditCode::with_check_char("91330802MA2DXXXX2").unwrap(),
            name: "衢州市示范科技有限公司".into(),
            address: "衢州市柯城区荷花中路1号".into(),
            legal_rep: "赵六".into(),
            payday: 10,
            bank_code: "ABC".into(),
            unit_ratio: Rate::from_percent(12),
            member_ratio: Rate::from_percent(12),
        },
        &clerk(),
        now,
    )
    .unwrap();
    open_member(
        s,
        CENTRE,
        &policy,
        NewMember {
            id_card: anju_domain::ids::IdCard::parse(&p.a).unwrap(),
            name: "张三".into(),
            unit_no: unit.unit_no.clone(),
            wage: Fen::parse_yuan("8000").unwrap(),
        },
        &clerk(),
        now,
    )
    .unwrap();
    let app = |no: &str, kind| NewApplication {
        application_no: no.into(),
        kind,
        parties: vec![(p.a.clone(), Role::Applicant)],
        claims: Claims {
            contract_no: Some(CONTRACT.into()),
            year: Some(2025),
            ..Claims::default()
        },
        consents: Vec::new(),
        stamp: clerk(),
    };
    open_application(
        s,
        CENTRE,
        &app("DK-20261127-000001", ApplicationKind::Loan),
        today,
        now,
    )
    .unwrap();
    open_application(
        s,
        CENTRE,
        &app("TQ-20261127-000001", ApplicationKind::WithdrawPurchase),
        today,
        now,
    )
    .unwrap();
}

#[test]
fn use_cases_log_each_write_like_a_look_up() {
    let p = people();
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s, &p);
        let dir = prepare(&p);
        let sim = Sim::start(dir.path(), &[]);
        let mut settings = ExchangeSettings::new(&sim.url, "anju-dev", SECRET);
        settings.attempts = 1;
        let deps = Departments::all(Arc::new(ExchangeClient::new(settings).unwrap()));
        let ctx = Sharing {
            store: s,
            departments: &deps,
            centre: CENTRE,
        };
        let now: Timestamp = "2026-11-27T03:00:00Z".parse().unwrap();
        let req = request(CERT, "DK000000000001", &[&p.a, &p.b], false);
        let reg = register_mortgage(&ctx, &req, &clerk(), now)
            .unwrap()
            .unwrap();
        let log = lookups_of_application(s, CENTRE, "DK-20261127-000001").unwrap();
        let row = log.last().unwrap();
        assert_eq!(row.department, "real-estate");
        assert_eq!(row.query, "mortgage-register");
        assert_eq!(row.param, CERT);
        assert_eq!(row.purpose, "loan");
        assert_eq!(row.requester, "staff:S0001");
        assert_eq!(row.subject_id, p.a);
        assert_eq!(row.outcome, "answered");
        assert_eq!(row.answer_hash.len(), 64);
        assert_eq!(row.detail, reg.registration_no);

        // The registry refusing another loan is an answer for the clerk, logged.
        let mut other = req.clone();
        other.loan_no = "DK000000000009".into();
        let refused = register_mortgage(&ctx, &other, &clerk(), now)
            .unwrap()
            .unwrap_err();
        assert!(
            refused.reason.contains("already mortgaged"),
            "{}",
            refused.reason
        );
        let log = lookups_of_application(s, CENTRE, "DK-20261127-000001").unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[1].outcome, "unavailable");
        assert!(log[1].detail.contains("already mortgaged"));

        // Only for a loan application; a bad request is refused before anything is asked.
        let mut wrong = req.clone();
        wrong.application_no = "TQ-20261127-000001".into();
        assert!(matches!(
            register_mortgage(&ctx, &wrong, &clerk(), now),
            Err(AppError::Invalid { .. })
        ));
        let mut bad = req.clone();
        bad.owners.clear();
        assert!(matches!(
            register_mortgage(&ctx, &bad, &clerk(), now),
            Err(AppError::Invalid { .. })
        ));

        // Closed (paid off): no registration, but the release goes through.
        close_application(s, CENTRE, "DK-20261127-000001", now).unwrap();
        assert!(matches!(
            register_mortgage(&ctx, &req, &clerk(), now),
            Err(AppError::Invalid { .. })
        ));
        let rel = release_mortgage(
            &ctx,
            "DK-20261127-000001",
            &reg.registration_no,
            &clerk(),
            now,
        )
        .unwrap()
        .unwrap();
        assert_eq!(rel.registration_no, reg.registration_no);
        let log = lookups_of_application(s, CENTRE, "DK-20261127-000001").unwrap();
        assert_eq!(log.len(), 3);
        assert_eq!(log[2].query, "mortgage-release");
        assert_eq!(log[2].param, reg.registration_no);
        assert_eq!(log[2].outcome, "answered");
        assert!(matches!(
            release_mortgage(&ctx, "DK-404", &reg.registration_no, &clerk(), now),
            Err(AppError::NotFound { .. })
        ));
    });
}
