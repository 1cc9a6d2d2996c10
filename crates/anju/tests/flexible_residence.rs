//! A flexible-employment opening under Quzhou's residence rule (household registration in
//! the city, or contributing to the city's social security), verified with the
//! departments through `anju exchange-sim` running as a separate process, on every
//! backend: allowed by household registration, allowed by social security, refused with
//! neither, and refused — clearly, with no account written — while the departments are
//! down. Every look-up is in the person's access log (查询留痕).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use anju_app::ledger::{audit, open_centre, set_business_date};
use anju_app::registry::{NewFlexible, open_flexible};
use anju_app::sharing::{Sharing, lookups_of_person};
use anju_domain::codes::{Channel, Sex};
use anju_domain::ids::IdCard;
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::sharing::{Employment, Household, Identity};
use anju_domain::stamp::Stamp;
use anju_exchange::sim::dataset::{Dataset, PersonRecord};
use anju_store::Store;
use anju_testkit::for_each_backend;
use jiff::Timestamp;
use jiff::civil::Date;

use common::{ExchangeSim, cli, counter_centre, departments, id};

const C: &str = "330800000000000";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}
fn now() -> Timestamp {
    "2026-10-08T02:00:00Z".parse().unwrap()
}
fn clerk() -> Stamp {
    Stamp {
        operator: "staff:k001".into(),
        channel: Channel::Counter,
        service_point: "hall".into(),
        on_behalf_of: None,
    }
}

/// Someone public security knows, registered in `region` (a 6-digit division code), and
/// — when `insured_in` — insured by social security there as a flexible worker.
fn person(id_number: &str, name: &str, region: &str, insured_in: Option<&str>) -> PersonRecord {
    PersonRecord {
        identity: Some(Identity {
            id_number: id_number.into(),
            name: name.into(),
            sex: Sex::Male,
            birth_date: IdCard::parse(id_number).unwrap().birth_date(),
            alive: true,
        }),
        household: Some(Household {
            region_code: region.into(),
            region_name: format!("行政区划{region}"),
            since: d("2010-01-01"),
            cancelled: None,
        }),
        employment: insured_in.map(|r| Employment {
            insured: true,
            employer_credit_code: None,
            employer_name: None,
            continuous_months: 14,
            last_paid_month: Some("2026-09".into()),
            retired_on: None,
            disability_grade: None,
            work_capacity_lost: false,
            insured_region: Some(r.into()),
        }),
        ..PersonRecord::default()
    }
}

fn new(id_number: &str, name: &str) -> NewFlexible {
    NewFlexible {
        id_card: IdCard::parse(id_number).unwrap(),
        name: name.into(),
        base: Fen::parse_yuan("5000.00").unwrap(),
        ratio: Rate::from_percent(20),
    }
}

fn has_account(s: &dyn Store, id_number: &str) -> bool {
    s.begin_read()
        .unwrap()
        .member_by_id_number(C, id_number)
        .unwrap()
        .is_some()
}

#[test]
fn residence_is_verified_with_the_departments() {
    let p = Policy::from_toml(QUZHOU_POLICY).unwrap();
    // Quzhou's policy asks household registration or social security in the city.
    let resident = id("19900101", 1, true); // registered in 柯城区 330802
    let insured = id("19910202", 2, true); // registered in Hangzhou, insured in Quzhou
    let neither = id("19920303", 3, true); // registered and insured in Hangzhou
    let later = id("19930404", 4, true); // registered in Quzhou; asks while the exchange is down
    let mut ds = Dataset::empty(now());
    ds.people.insert(
        resident.clone(),
        person(&resident, "钱户籍", "330802", None),
    );
    ds.people.insert(
        insured.clone(),
        person(&insured, "孙社保", "330106", Some("330803")),
    );
    ds.people.insert(
        neither.clone(),
        person(&neither, "李外地", "330106", Some("330106")),
    );
    ds.people.insert(
        later.clone(),
        person(&later, "周居民", "330802", Some("330802")),
    );
    let sim = ExchangeSim::start(&ds);
    let up = departments(&sim.url);
    // The same facts, with public security and social security answering 503.
    let broken = ExchangeSim::start_with(
        &ds,
        &[
            "--error-rate",
            "100",
            "--fault-departments",
            "public-security,social-security",
        ],
    );
    let down = departments(&broken.url);
    for_each_backend(|db| {
        let s = db.store.as_ref();
        open_centre(s, C, "衢州市住房公积金管理中心", d("2026-10-08"), now()).unwrap();
        set_business_date(s, C, d("2026-10-08")).unwrap();
        let ctx = |departments| Sharing {
            store: s,
            departments,
            centre: C,
        };

        // Household registration in the city: opened; the household look-up is logged
        // under the opening's application, for its purpose.
        let m = open_flexible(&ctx(&up), &p, new(&resident, "钱户籍"), &clerk(), now()).unwrap();
        assert_eq!(
            (m.unit_no.as_deref(), m.flexible_ratio),
            (None, Some(Rate::from_percent(20)))
        );
        let log = lookups_of_person(s, C, &resident).unwrap();
        assert!(
            log.iter()
                .any(|l| l.query == "household" && l.outcome == "answered"),
            "{log:?}"
        );
        assert!(log.iter().all(|l| l.purpose == "account-opening"));
        let app = s
            .begin_read()
            .unwrap()
            .application(C, &log[0].application_no)
            .unwrap()
            .unwrap();
        assert_eq!(
            (app.kind.as_str(), app.status.as_str()),
            ("opening.flexible", "closed")
        );
        let events = s
            .begin_read()
            .unwrap()
            .events(C, &format!("member:{}", m.account_no))
            .unwrap();
        assert!(
            events[0].reason.contains("本市户籍或在本市参加社会保险"),
            "{events:?}"
        );
        // A second opening for the same person is refused before anyone is asked.
        let asked = lookups_of_person(s, C, &resident).unwrap().len();
        let err =
            open_flexible(&ctx(&up), &p, new(&resident, "钱户籍"), &clerk(), now()).unwrap_err();
        assert!(
            err.to_string().contains("already has personal account"),
            "{err}"
        );
        assert_eq!(lookups_of_person(s, C, &resident).unwrap().len(), asked);

        // Registered elsewhere, insured in Quzhou (衢江区 330803): opened.
        open_flexible(&ctx(&up), &p, new(&insured, "孙社保"), &clerk(), now()).unwrap();
        assert!(has_account(s, &insured));

        // Neither: refused, naming both facts; no account.
        let err =
            open_flexible(&ctx(&up), &p, new(&neither, "李外地"), &clerk(), now()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("does not meet the residence rule")
                && text.contains("household registration outside the city")
                && text.contains("insured outside the city (330106)"),
            "{text}"
        );
        assert!(!has_account(s, &neither));

        // The departments down: refused — "cannot verify residence now" — never passed,
        // and nothing opened even for someone who would qualify; the failed look-ups are
        // logged.
        let err =
            open_flexible(&ctx(&down), &p, new(&later, "周居民"), &clerk(), now()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("cannot verify residence now") && text.contains("counter"),
            "{text}"
        );
        assert!(!has_account(s, &later));
        let log = lookups_of_person(s, C, &later).unwrap();
        assert!(
            log.iter()
                .any(|l| l.query == "household" && l.outcome == "unavailable"),
            "{log:?}"
        );
        assert_eq!(s.begin_read().unwrap().count_members(C).unwrap(), 2);
        let report = audit(s, C).unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
    });
}

/// The same opening as a counter clerk runs it from the command line
/// (`anju open-flexible`, the departments through `--exchange`), then the person's first
/// contribution bill (`anju flexible-bill`) paid with `anju pay`: the account is credited
/// and 缴至年月 set. Bad input (a ratio outside the bounds) and a refused residence exit
/// non-zero with the reason and open nothing.
#[test]
fn a_clerk_opens_a_flexible_account_and_bills_it_from_the_command_line() {
    let resident = id("19900101", 1, true);
    let neither = id("19920303", 3, true);
    let mut ds = Dataset::empty(now());
    ds.people.insert(
        resident.clone(),
        person(&resident, "钱户籍", "330802", None),
    );
    ds.people.insert(
        neither.clone(),
        person(&neither, "李外地", "330106", Some("330106")),
    );
    let sim = ExchangeSim::start(&ds);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("centre.db");
    let db = counter_centre(&path, C, d("2026-10-08"));
    let open = |id_number: &str, name: &str, ratio: &str| {
        cli(&[
            "open-flexible",
            "--db",
            &db,
            "--id-number",
            id_number,
            "--name",
            name,
            "--base",
            "5000.00",
            "--ratio",
            ratio,
            "--exchange",
            &sim.url,
            "--operator",
            "staff:k001",
        ])
    };
    // A ratio outside the flexible bounds: refused before anyone is asked.
    let (code, _, err) = open(&resident, "钱户籍", "50");
    assert_ne!(code, 0);
    assert!(err.contains("ratio") && err.contains("50"), "{err}");
    // Registered elsewhere and insured elsewhere: refused, nothing opened.
    let (code, _, err) = open(&neither, "李外地", "20");
    assert_ne!(code, 0);
    assert!(err.contains("does not meet the residence rule"), "{err}");
    // Registered in the city: opened.
    let (code, out, err) = open(&resident, "钱户籍", "20");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("flexible-employment account"), "{out}");
    let s = anju_store_sqlite::SqliteStore::open(&path).unwrap();
    let m = s
        .begin_read()
        .unwrap()
        .member_by_id_number(C, &resident)
        .unwrap()
        .unwrap();
    assert!(
        s.begin_read()
            .unwrap()
            .member_by_id_number(C, &neither)
            .unwrap()
            .is_none()
    );
    // Three months in advance from the opening month: 5,000.00 × 20 % × 3 = 3,000.00.
    let (code, out, err) = cli(&[
        "flexible-bill",
        "--db",
        &db,
        "--account",
        &m.account_no,
        "--months",
        "3",
        "--bank",
        "ICBC",
        "--operator",
        "staff:k001",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("from 2026-10, 3 month(s): 3,000.00"), "{out}");
    let bill_no = out.split_whitespace().nth(1).unwrap().to_owned();
    let (code, out, err) = cli(&[
        "pay",
        "--db",
        &db,
        "--bill",
        &bill_no,
        "--serial",
        "ICBC-FLEX-1",
        "--amount",
        "3000.00",
        "--operator",
        "staff:k001",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("paid in full"), "{out}");
    let m = s
        .begin_read()
        .unwrap()
        .member_by_id_number(C, &resident)
        .unwrap()
        .unwrap();
    assert_eq!(m.paid_to.map(|p| p.to_string()).as_deref(), Some("2026-12"));
    let acct = anju_domain::ledger::AccountNo::sub("201", &m.account_no).unwrap();
    let bal = s.begin_read().unwrap().load_accounts(C, &[acct]).unwrap()[0].balance;
    assert_eq!(bal, Fen::parse_yuan("3000.00").unwrap());
    let report = audit(&s, C).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}
