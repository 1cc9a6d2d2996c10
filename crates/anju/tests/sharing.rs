//! Data sharing end to end: the verification use case with the HTTP client against
//! `anju exchange-sim` running as a separate process on loopback, on every backend —
//! verified facts, the per-application cache, the access log, refusals of look-ups outside
//! an application, and every injected fault ending as "unavailable" (never a crash, never a
//! silent pass).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anju_app::AppError;
use anju_app::ledger::{open_accounts, open_centre};
use anju_app::registry::{NewMember, NewUnit, open_member, register_unit};
use anju_app::sharing::{
    Departments, NewApplication, Sharing, close_application, look_up, lookups_of_application,
    lookups_of_person, open_application, record_consent, verify_application,
};
use anju_domain::codes::{Channel, MaritalStatus, Sex};
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::AccountNo;
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::sharing::verify::{ApplicationKind, Claims, Outcome, Role};
use anju_domain::sharing::{
    Area, ContractKind, FactKey, Identity, Marriage, PurchaseContract, Query,
};
use anju_domain::stamp::Stamp;
use anju_exchange::client::{ExchangeClient, ExchangeSettings};
use anju_exchange::sim::dataset::{Dataset, PersonRecord};
use anju_store::Store;
use anju_testkit::for_each_backend;
use jiff::Timestamp;
use jiff::civil::Date;

const C: &str = "330800000000000";
const SECRET: &str = "test-secret-123";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}
fn now() -> Timestamp {
    "2026-11-27T02:00:00Z".parse().unwrap()
}
fn today() -> Date {
    d("2026-11-27")
}
fn clerk() -> Stamp {
    Stamp {
        operator: "staff:S0001".into(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".into(),
        on_behalf_of: None,
    }
}

fn id(first17: &str) -> String {
    IdCard::with_check_char(first17)
        .unwrap()
        .as_str()
        .to_owned()
}

struct People {
    a: String,
    b: String,
    c: String,
}

fn people() -> People {
    People {
        a: id("33080219900101123"),
        b: id("33080219920202224"),
        c: id("33080219850505345"),
    }
}

/// A centre with one unit and three members: 张三 (A) married to 李四 (B), and 王五 (C).
fn setup(s: &dyn Store) -> People {
    let p = people();
    let policy = Policy::from_toml(QUZHOU_POLICY).unwrap();
    open_centre(s, C, "衢州市住房公积金管理中心", today(), now()).unwrap();
    open_accounts(s, C, &[AccountNo::sub("101", "ABC").unwrap()], today()).unwrap();
    let unit = register_unit(
        s,
        C,
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
        now(),
    )
    .unwrap();
    for (who, name) in [(&p.a, "张三"), (&p.b, "李四"), (&p.c, "王五")] {
        open_member(
            s,
            C,
            &policy,
            NewMember {
                id_card: IdCard::parse(who).unwrap(),
                name: name.into(),
                unit_no: unit.unit_no.clone(),
                wage: Fen::parse_yuan("8000").unwrap(),
            },
            &clerk(),
            now(),
        )
        .unwrap();
    }
    p
}

fn person(id_number: &str, name: &str, sex: Sex, spouse: Option<(&str, &str)>) -> PersonRecord {
    PersonRecord {
        identity: Some(Identity {
            id_number: id_number.into(),
            name: name.into(),
            sex,
            birth_date: IdCard::parse(id_number).unwrap().birth_date(),
            alive: true,
        }),
        marriage: Some(match spouse {
            Some((sid, sname)) => Marriage {
                status: MaritalStatus::Married,
                spouse_id: Some(sid.into()),
                spouse_name: Some(sname.into()),
                since: Some(d("2018-05-20")),
            },
            None => Marriage {
                status: MaritalStatus::Unmarried,
                spouse_id: None,
                spouse_name: None,
                since: None,
            },
        }),
        ..PersonRecord::default()
    }
}

fn dataset(p: &People) -> Dataset {
    let mut ds = Dataset::empty(now());
    let mut a = person(&p.a, "张三", Sex::Male, Some((&p.b, "李四")));
    a.contracts.push(PurchaseContract {
        contract_no: "QZ-2026-000123".into(),
        kind: ContractKind::New,
        address: "衢州市柯城区荷花街道锦绣苑3幢801".into(),
        region_code: "330802".into(),
        area: Area(11_250),
        price: Fen::parse_yuan("1580000").unwrap(),
        signed_on: d("2026-11-01"),
        filed_on: d("2026-11-03"),
        buyers: vec![p.a.clone(), p.b.clone()],
        seller_name: "衢州锦绣置业有限公司".into(),
        seller_account: "33050100000000001234".into(),
        seller_bank: "ABC".into(),
        cancelled: false,
    });
    ds.people.insert(p.a.clone(), a);
    ds.people.insert(
        p.b.clone(),
        person(&p.b, "李四", Sex::Female, Some((&p.a, "张三"))),
    );
    ds.people
        .insert(p.c.clone(), person(&p.c, "王五", Sex::Male, None));
    ds
}

/// `anju exchange-sim` as a child process, killed on drop.
struct Sim {
    child: Child,
    url: String,
    lifeline: Option<std::process::ChildStdin>,
    _dir: tempfile::TempDir,
}

impl Sim {
    fn start(ds: &Dataset, extra: &[&str]) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dataset.json");
        ds.save(&path).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_anju"))
            .args([
                "exchange-sim",
                "--listen",
                "127.0.0.1:0",
                "--secret",
                SECRET,
            ])
            .args(["--exit-with-parent", "--dataset"])
            .arg(&path)
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
            lifeline,
            _dir: dir,
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn departments(url: &str, secret: &str) -> Departments {
    let mut s = ExchangeSettings::new(url, "anju-dev", secret);
    s.request_timeout = Duration::from_millis(400);
    s.connect_timeout = Duration::from_millis(200);
    s.attempts = 2;
    s.backoff = Duration::from_millis(10);
    Departments::all(Arc::new(ExchangeClient::new(s).unwrap()))
}

fn purchase(no: &str, p: &People) -> NewApplication {
    NewApplication {
        application_no: no.into(),
        kind: ApplicationKind::WithdrawPurchase,
        parties: vec![(p.a.clone(), Role::Applicant), (p.b.clone(), Role::Spouse)],
        claims: Claims {
            contract_no: Some("QZ-2026-000123".into()),
            ..Claims::default()
        },
        consents: vec![(p.b.clone(), "counter-signature".into())],
        stamp: clerk(),
    }
}

fn outcomes(v: &anju_app::sharing::Verification) -> Vec<(&'static str, Outcome)> {
    v.verdicts
        .iter()
        .map(|d| (d.check.code(), d.outcome))
        .collect()
}

#[test]
fn a_purchase_is_verified_logged_and_cached_per_application() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = setup(s);
        let sim = Sim::start(&dataset(&p), &[]);
        let deps = departments(&sim.url, SECRET);
        let ctx = Sharing {
            store: s,
            departments: &deps,
            centre: C,
        };
        open_application(s, C, &purchase("TQ-1", &p), today(), now()).unwrap();
        let v = verify_application(&ctx, "TQ-1", &clerk(), today(), now()).unwrap();
        assert_eq!(
            outcomes(&v),
            [
                ("identity", Outcome::Verified),
                ("identity", Outcome::Verified),
                ("spouse", Outcome::Verified),
                ("purchase-contract", Outcome::Verified),
                ("property-of-contract", Outcome::Verified),
                ("loans-on-record", Outcome::Verified),
            ],
            "{v:#?}"
        );
        assert!(v.all_verified());
        assert_eq!((v.asked, v.cached), (6, 0));
        assert!(v.verdicts[3].reason_zh.contains("QZ-2026-000123"));
        assert!(
            v.verdicts[4].reason_zh.contains("期房"),
            "{}",
            v.verdicts[4].reason_zh
        );

        // The access log: every look-up, who asked, why, which department, the answer's hash.
        let log = lookups_of_application(s, C, "TQ-1").unwrap();
        assert_eq!(log.len(), 6);
        assert!(log.iter().all(|r| r.requester == "staff:S0001"
            && r.purpose == "withdrawal"
            && r.channel == "01"
            && r.read_at_us.is_some()
            && r.answer_hash.len() == 64));
        let properties = log.iter().find(|r| r.query == "properties").unwrap();
        assert_eq!(properties.outcome, "not_found");
        assert_eq!(properties.department, "real-estate");
        assert!(properties.source.starts_with(&sim.url));
        // What A sees: the five look-ups of A's data; B sees one.
        let mine = lookups_of_person(s, C, &p.a).unwrap();
        assert_eq!(mine.len(), 5);
        assert!(mine.iter().all(|r| r.subject_id == p.a));
        assert_eq!(lookups_of_person(s, C, &p.b).unwrap().len(), 1);
        assert!(lookups_of_person(s, C, &p.c).unwrap().is_empty());

        // Again: answered from this application's cache, and logged as viewed again.
        let again = verify_application(&ctx, "TQ-1", &clerk(), today(), now()).unwrap();
        assert_eq!((again.asked, again.cached), (0, 6));
        assert_eq!(outcomes(&again), outcomes(&v));
        let log = lookups_of_application(s, C, "TQ-1").unwrap();
        assert_eq!(log.len(), 12);
        assert!(log[6..].iter().all(|r| r.outcome == "cached" && r.seq > 6));
        assert_eq!(log[6].answer_hash, log[0].answer_hash);

        // Another application of the same person never uses that cache.
        open_application(s, C, &purchase("TQ-2", &p), today(), now()).unwrap();
        let other = verify_application(&ctx, "TQ-2", &clerk(), today(), now()).unwrap();
        assert_eq!((other.asked, other.cached), (6, 0));
    });
}

#[test]
fn look_ups_outside_an_application_are_refused_and_not_logged() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = setup(s);
        let sim = Sim::start(&dataset(&p), &[]);
        let deps = departments(&sim.url, SECRET);
        let ctx = Sharing {
            store: s,
            departments: &deps,
            centre: C,
        };
        open_application(s, C, &purchase("TQ-9", &p), today(), now()).unwrap();
        // Not a party.
        let key = FactKey::new(Query::Marriage, &p.c);
        let err = look_up(&ctx, "TQ-9", &key, &clerk(), today(), now()).unwrap_err();
        assert!(err.to_string().contains("not a party"), "{err}");
        // A party, but a fact the application does not need.
        let key = FactKey {
            query: Query::Income,
            subject: p.a.clone(),
            year: Some(2025),
        };
        let err = look_up(&ctx, "TQ-9", &key, &clerk(), today(), now()).unwrap_err();
        assert!(err.to_string().contains("does not need"), "{err}");
        // No such application.
        let err = look_up(
            &ctx,
            "TQ-404",
            &FactKey::new(Query::Marriage, &p.a),
            &clerk(),
            today(),
            now(),
        )
        .unwrap_err();
        assert!(matches!(err, AppError::NotFound { .. }), "{err}");
        assert!(lookups_of_person(s, C, &p.c).unwrap().is_empty());
        assert!(lookups_of_application(s, C, "TQ-9").unwrap().is_empty());

        // A needed fact of a party is fine — once.
        let marriage = look_up(
            &ctx,
            "TQ-9",
            &FactKey::new(Query::Marriage, &p.a),
            &clerk(),
            today(),
            now(),
        )
        .unwrap()
        .unwrap();
        assert!(marriage.found());
        assert_eq!(lookups_of_application(s, C, "TQ-9").unwrap().len(), 1);

        // A closed application allows no more look-ups.
        close_application(s, C, "TQ-9", now()).unwrap();
        let err = verify_application(&ctx, "TQ-9", &clerk(), today(), now()).unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
        assert_eq!(lookups_of_application(s, C, "TQ-9").unwrap().len(), 1);
    });
}

#[test]
fn bad_applications_are_refused_with_the_field_and_change_nothing() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = setup(s);
        let mut bad = purchase("TQ 1", &p);
        let err = open_application(s, C, &bad, today(), now()).unwrap_err();
        assert!(err.to_string().starts_with("application_no"), "{err}");
        bad.application_no = "TQ-1".into();
        bad.parties[1].0 = "330802199213012221".into();
        let err = open_application(s, C, &bad, today(), now()).unwrap_err();
        assert!(err.to_string().starts_with("parties.id_number"), "{err}");
        // Not a member of the centre.
        let stranger = id("11010119800101001");
        let mut bad = purchase("TQ-1", &p);
        bad.parties = vec![(stranger, Role::Applicant)];
        let err = open_application(s, C, &bad, today(), now()).unwrap_err();
        assert!(err.to_string().contains("no account"), "{err}");
        // An illness withdrawal needs the year.
        let mut bad = purchase("TQ-1", &p);
        bad.kind = ApplicationKind::WithdrawIllness;
        let err = open_application(s, C, &bad, today(), now()).unwrap_err();
        assert!(err.to_string().contains("year"), "{err}");
        // Nothing was stored; the good one is accepted once.
        open_application(s, C, &purchase("TQ-1", &p), today(), now()).unwrap();
        let err = open_application(s, C, &purchase("TQ-1", &p), today(), now()).unwrap_err();
        assert!(err.to_string().contains("exists"), "{err}");
    });
}

fn verify_with(
    s: &dyn Store,
    deps: &Departments,
    no: &str,
    p: &People,
) -> anju_app::sharing::Verification {
    open_application(s, C, &purchase(no, p), today(), now()).unwrap();
    let ctx = Sharing {
        store: s,
        departments: deps,
        centre: C,
    };
    verify_application(&ctx, no, &clerk(), today(), now()).unwrap()
}

#[test]
fn every_fault_yields_unavailable_never_a_pass() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = setup(s);
        let ds = dataset(&p);

        // Civil affairs answers 5xx: the spouse check is unavailable, the rest verified.
        let sim = Sim::start(
            &ds,
            &[
                "--fault-departments",
                "civil-affairs",
                "--error-rate",
                "100",
            ],
        );
        let v = verify_with(s, &departments(&sim.url, SECRET), "F-1", &p);
        let spouse = v
            .verdicts
            .iter()
            .find(|d| d.check.code() == "spouse")
            .unwrap();
        assert_eq!(spouse.outcome, Outcome::Unavailable);
        assert!(spouse.reason_en.contains("HTTP 5"), "{}", spouse.reason_en);
        assert!(!v.all_verified() && v.any_unavailable());
        assert_eq!(
            v.verdicts
                .iter()
                .filter(|d| d.outcome == Outcome::Verified)
                .count(),
            5
        );
        let log = lookups_of_application(s, C, "F-1").unwrap();
        let m = log.iter().find(|r| r.query == "marriage").unwrap();
        assert_eq!(m.outcome, "unavailable");
        assert!(
            m.answer_hash.is_empty() && m.detail.contains("2 attempts"),
            "{m:?}"
        );
        drop(sim);
        // Unavailable answers are not cached: a healthy exchange is asked again.
        let healthy = Sim::start(&ds, &[]);
        let ctx_deps = departments(&healthy.url, SECRET);
        let ctx = Sharing {
            store: s,
            departments: &ctx_deps,
            centre: C,
        };
        let v = verify_application(&ctx, "F-1", &clerk(), today(), now()).unwrap();
        assert_eq!((v.asked, v.cached), (1, 5));
        assert!(v.all_verified());
        drop(healthy);

        // Housing filing answers garbage.
        let sim = Sim::start(
            &ds,
            &[
                "--fault-departments",
                "housing-filing",
                "--malformed-rate",
                "100",
            ],
        );
        let v = verify_with(s, &departments(&sim.url, SECRET), "F-2", &p);
        for code in ["purchase-contract", "property-of-contract"] {
            let c = v.verdicts.iter().find(|d| d.check.code() == code).unwrap();
            assert_eq!(c.outcome, Outcome::Unavailable, "{c:?}");
            assert!(c.reason_en.contains("malformed"), "{}", c.reason_en);
        }
        drop(sim);

        // The real estate registry hangs: a timeout, not a pass.
        let sim = Sim::start(
            &ds,
            &[
                "--fault-departments",
                "real-estate",
                "--timeout-rate",
                "100",
                "--hang-ms",
                "5000",
            ],
        );
        let v = verify_with(s, &departments(&sim.url, SECRET), "F-3", &p);
        let prop = v
            .verdicts
            .iter()
            .find(|d| d.check.code() == "property-of-contract")
            .unwrap();
        assert_eq!(prop.outcome, Outcome::Unavailable);
        assert!(prop.reason_en.contains("timed out"), "{}", prop.reason_en);
        drop(sim);

        // A wrong secret: refused by the exchange, every fact unavailable.
        let sim = Sim::start(&ds, &[]);
        let v = verify_with(s, &departments(&sim.url, "wrong-secret-1"), "F-4", &p);
        assert!(v.verdicts.iter().all(|d| d.outcome == Outcome::Unavailable));
        assert!(
            v.verdicts[0].reason_en.contains("401"),
            "{}",
            v.verdicts[0].reason_en
        );
        let url = sim.url.clone();
        drop(sim);

        // The exchange is down.
        let v = verify_with(s, &departments(&url, SECRET), "F-5", &p);
        assert!(v.verdicts.iter().all(|d| d.outcome == Outcome::Unavailable));
        assert!(
            v.verdicts[0].reason_en.contains("unreachable"),
            "{}",
            v.verdicts[0].reason_en
        );
        // Every look-up of the failed runs is still in the log.
        assert_eq!(lookups_of_application(s, C, "F-5").unwrap().len(), 6);
    });
}

#[test]
fn two_verifications_of_one_application_at_once_both_complete_their_log() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = setup(s);
        // Slow departments, so both verifications ask before either caches.
        let sim = Sim::start(&dataset(&p), &["--latency-ms", "150"]);
        let deps = departments(&sim.url, SECRET);
        let ctx = Sharing {
            store: s,
            departments: &deps,
            centre: C,
        };
        open_application(s, C, &purchase("TQ-C", &p), today(), now()).unwrap();
        let (a, b) = std::thread::scope(|sc| {
            let a = sc.spawn(|| verify_application(&ctx, "TQ-C", &clerk(), today(), now()));
            let b = sc.spawn(|| verify_application(&ctx, "TQ-C", &clerk(), today(), now()));
            (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
        });
        assert!(a.all_verified() && b.all_verified());
        let log = lookups_of_application(s, C, "TQ-C").unwrap();
        assert_eq!(log.len(), 12);
        assert!(
            log.iter().all(|r| r.outcome != "pending"),
            "every look-up completed: {log:?}"
        );
        let seqs: std::collections::BTreeSet<i64> = log.iter().map(|r| r.seq).collect();
        assert_eq!(seqs.len(), 12, "distinct sequence numbers");
        // The cache holds one answer per fact; a third verification uses it.
        let c = verify_application(&ctx, "TQ-C", &clerk(), today(), now()).unwrap();
        assert_eq!((c.asked, c.cached), (0, 6));
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""kind":"withdrawal.purchase""#), "{json}");
    });
}

#[test]
fn the_breaker_stops_calling_a_department_that_keeps_failing() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = setup(s);
        let ds = dataset(&p);
        let sim = Sim::start(
            &ds,
            &[
                "--fault-departments",
                "public-security",
                "--error-rate",
                "100",
            ],
        );
        let mut settings = ExchangeSettings::new(&sim.url, "anju-dev", SECRET);
        settings.attempts = 1;
        settings.breaker_failures = 2;
        settings.breaker_cooldown = Duration::from_secs(60);
        let deps = Departments::all(Arc::new(ExchangeClient::new(settings).unwrap()));
        // Two identity look-ups fail (500): the public-security breaker opens.
        let v = verify_with(s, &deps, "B-1", &p);
        let ids: Vec<_> = v
            .verdicts
            .iter()
            .filter(|d| d.check.code() == "identity")
            .collect();
        assert!(ids.iter().all(|d| d.outcome == Outcome::Unavailable));
        assert!(
            ids.iter().all(|d| d.reason_en.contains("HTTP 5")),
            "{ids:?}"
        );
        // The next application's identity look-ups are refused without calling the
        // exchange; other departments still answer.
        let v = verify_with(s, &deps, "B-2", &p);
        let identity = v
            .verdicts
            .iter()
            .find(|d| d.check.code() == "identity")
            .unwrap();
        assert_eq!(identity.outcome, Outcome::Unavailable);
        assert!(
            identity.reason_en.contains("circuit open"),
            "{}",
            identity.reason_en
        );
        let contract = v
            .verdicts
            .iter()
            .find(|d| d.check.code() == "purchase-contract")
            .unwrap();
        assert_eq!(contract.outcome, Outcome::Verified);
        // The refused look-ups are in the log too, with the reason.
        let log = lookups_of_application(s, C, "B-2").unwrap();
        let refused = log
            .iter()
            .filter(|r| r.detail.contains("circuit open"))
            .count();
        assert_eq!(refused, 2);
    });
}

#[test]
fn no_one_is_looked_up_without_consent() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let p = setup(s);
        let sim = Sim::start(&dataset(&p), &[]);
        let deps = departments(&sim.url, SECRET);
        let ctx = Sharing {
            store: s,
            departments: &deps,
            centre: C,
        };
        // The spouse has not consented yet.
        let mut app = purchase("TQ-K", &p);
        app.consents.clear();
        open_application(s, C, &app, today(), now()).unwrap();
        let v = verify_application(&ctx, "TQ-K", &clerk(), today(), now()).unwrap();
        let spouse_identity = &v.verdicts[1];
        assert_eq!(spouse_identity.check.subject(), p.b);
        assert_eq!(spouse_identity.outcome, Outcome::Unavailable);
        assert!(
            spouse_identity.reason_zh.contains("未取得本人授权"),
            "{spouse_identity:?}"
        );
        // The applicant's own marriage record is theirs: the spouse check is decided.
        let spouse = v
            .verdicts
            .iter()
            .find(|d| d.check.code() == "spouse")
            .unwrap();
        assert_eq!(spouse.outcome, Outcome::Verified);
        assert_eq!(v.asked, 5);
        // Nothing was asked about the spouse, and nothing is in their log.
        assert!(lookups_of_person(s, C, &p.b).unwrap().is_empty());
        let err = look_up(
            &ctx,
            "TQ-K",
            &FactKey::new(Query::Identity, &p.b),
            &clerk(),
            today(),
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("consent"), "{err}");
        // Someone who is not a party cannot consent; the spouse can, once.
        let err = record_consent(s, C, "TQ-K", &p.c, "e-signature", &clerk(), now()).unwrap_err();
        assert!(err.to_string().contains("party"), "{err}");
        record_consent(s, C, "TQ-K", &p.b, "e-signature", &clerk(), now()).unwrap();
        let err = record_consent(s, C, "TQ-K", &p.b, "e-signature", &clerk(), now()).unwrap_err();
        assert!(err.to_string().contains("already"), "{err}");
        let v = verify_application(&ctx, "TQ-K", &clerk(), today(), now()).unwrap();
        assert!(v.all_verified(), "{v:#?}");
        assert_eq!((v.asked, v.cached), (1, 5));
        assert_eq!(lookups_of_person(s, C, &p.b).unwrap().len(), 1);
    });
}

#[test]
fn the_simulator_ends_with_its_parent() {
    let p = people();
    let mut sim = Sim::start(&dataset(&p), &[]);
    // The parent's end of the pipe closes (as when the parent is killed): the simulator
    // stops by itself, cleanly.
    drop(sim.lifeline.take());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = sim.child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}
