//! A self-employed person opens a flexible-employment account and pays online, on every
//! backend, with every other organisation a separate process: `anju idp-sim` vouches for
//! the person (face), `anju exchange-sim` answers the residence look-up, `anju bank-sim`
//! receives the money and sends its credit notice to `anju serve`. The person holds no
//! account when signing in; the opening is their own act (audited with them as operator);
//! the bill names the months; the bank payment quoting the bill number settles it — the
//! account is credited and 缴至年月 set — and the ledger audit is clean.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::time::{Duration, Instant};

use anju_app::ledger::audit;
use anju_bank::sim::ledger::CreditIn;
use anju_bank::sim::process::BankSimProcess;
use anju_domain::codes::Sex;
use anju_domain::ids::IdCard;
use anju_domain::ledger::AccountNo;
use anju_domain::sharing::{Household, Identity};
use anju_exchange::sim::dataset::{Dataset, PersonRecord};
use anju_idp::sim::process::{IdpSimProcess, browse};
use anju_testkit::for_each_backend;
use jiff::civil::Date;

use common::{EXE, ExchangeSim, ICBC_FUND, SECRET, Serve, call, id, json, seed_counter_centre};

const C: &str = "330800000000000";
const DAY: &str = "2026-10-08";

fn person(id_number: &str, name: &str, region: &str) -> PersonRecord {
    PersonRecord {
        identity: Some(Identity {
            id_number: id_number.into(),
            name: name.into(),
            sex: Sex::Female,
            birth_date: IdCard::parse(id_number).unwrap().birth_date(),
            alive: true,
        }),
        household: Some(Household {
            region_code: region.into(),
            region_name: format!("行政区划{region}"),
            since: "2012-05-01".parse().unwrap(),
            cancelled: None,
        }),
        ..PersonRecord::default()
    }
}

fn has_account(s: &dyn anju_store::Store, id_number: &str) -> bool {
    s.begin_read()
        .unwrap()
        .member_by_id_number(C, id_number)
        .unwrap()
        .is_some()
}

/// Signs `id_number` in by face through the identity provider; the session token.
fn face_login(base: &str, idp: &IdpSimProcess, id_number: &str) -> String {
    let callback = format!("{base}/api/v1/login/idp/callback");
    let start = browse(&format!(
        "{base}/api/v1/login/idp?redirect_uri={}",
        anju_idp::protocol::encode_component(&callback)
    ))
    .unwrap();
    assert_eq!(start.status, 303, "{}", start.body);
    let authorize = start.location.unwrap();
    assert!(authorize.starts_with(idp.url()), "{authorize}");
    let at_idp = browse(&format!("{authorize}&login_hint={id_number}&method=face")).unwrap();
    assert_eq!(at_idp.status, 302, "{}", at_idp.body);
    let done = browse(&at_idp.location.unwrap()).unwrap();
    assert_eq!(done.status, 200, "{}", done.body);
    json(&done.body)["token"].as_str().unwrap().to_owned()
}

#[test]
fn a_self_employed_person_opens_and_pays_online() {
    let resident = id("19880512", 7, false); // registered in 柯城区 330802
    let outsider = id("19890613", 8, false); // registered in Hangzhou, not insured here
    let mut ds = Dataset::empty("2026-10-08T02:00:00Z".parse().unwrap());
    ds.people
        .insert(resident.clone(), person(&resident, "吴自雇", "330802"));
    ds.people
        .insert(outsider.clone(), person(&outsider, "郑外地", "330106"));
    let exchange = ExchangeSim::start(&ds);
    // The identity provider knows the same people (it reads the exchange's dataset).
    let people = tempfile::tempdir().unwrap();
    let people_file = people.path().join("dataset.json");
    ds.save(&people_file).unwrap();
    for_each_backend(|db| {
        let store = db.store.as_ref();
        let day: Date = DAY.parse().unwrap();
        seed_counter_centre(store, C, day);

        let dir = tempfile::tempdir().unwrap();
        let port = anju_testkit::free_port();
        let base = format!("http://127.0.0.1:{port}");
        let bank = BankSimProcess::start(
            EXE.as_ref(),
            &dir.path().join("bank.db"),
            &[
                "--bank",
                "ICBC",
                "--date",
                DAY,
                "--callback",
                &format!("{base}/bank/notices"),
            ],
        )
        .unwrap();
        bank.admin()
            .open_account(ICBC_FUND, "衢州市住房公积金管理中心", 0)
            .unwrap();
        let idp = IdpSimProcess::start(EXE.as_ref(), &["--dataset", people_file.to_str().unwrap()])
            .unwrap();
        let log = dir.path().join("serve.log");
        let bank_url = format!("ICBC={}", bank.url());
        let _server = Serve::start(
            &db.url,
            port,
            &[
                "--idp-url",
                idp.url(),
                "--exchange",
                &exchange.url,
                "--bank-url",
                &bank_url,
            ],
            &[
                ("ANJU_IDP_SECRET", anju_idp::sim::DEV_SECRET),
                ("ANJU_EXCHANGE_SECRET", SECRET),
            ],
            &log,
        );

        // The person holds no account yet; signing in by face still works, and their
        // session reaches no account.
        assert!(!has_account(store, &resident));
        let token = face_login(&base, &idp, &resident);
        let (st, body) = call(
            "GET",
            &format!("{base}/api/v1/members/{resident}"),
            Some(&token),
            None,
        );
        assert_eq!(st, 404, "{body}");
        // Paying before opening: nothing to bill.
        let (st, body) = call(
            "POST",
            &format!("{base}/api/v1/flexible/bills"),
            Some(&token),
            Some(r#"{"months": 1, "bank": "ICBC"}"#),
        );
        assert_eq!(st, 404, "{body}");
        assert!(body.contains("open one first"), "{body}");

        let open = |token: &str, body: &str| {
            call(
                "POST",
                &format!("{base}/api/v1/flexible/accounts"),
                Some(token),
                Some(body),
            )
        };
        // Bad input, each refused with the field, the value and the rule; nothing opened.
        let (st, body) = open(
            &token,
            r#"{"name": "吴自雇", "base": "5000.00", "ratio": "50"}"#,
        );
        assert_eq!(st, 422, "{body}");
        let e = json(&body);
        assert!(
            e["message"].as_str().unwrap().contains("ratio")
                && e["message"].as_str().unwrap().contains("50"),
            "{body}"
        );
        let (st, body) = open(
            &token,
            r#"{"name": "吴自雇", "base": "50.00", "ratio": "20"}"#,
        );
        assert_eq!(st, 422, "{body}");
        assert!(body.contains("base"), "{body}");
        // Someone else's account: forbidden.
        let (st, body) = open(
            &token,
            &format!(
                r#"{{"id_number": "{outsider}", "name": "郑外地", "base": "5000.00", "ratio": "20"}}"#
            ),
        );
        assert_eq!(st, 403, "{body}");
        assert!(!has_account(store, &resident));
        // The outsider, signed in by face, fails the residence rule: refused, no account.
        let outsider_token = face_login(&base, &idp, &outsider);
        let (st, body) = open(
            &outsider_token,
            r#"{"name": "郑外地", "base": "5000.00", "ratio": "20"}"#,
        );
        assert_eq!(st, 422, "{body}");
        assert!(body.contains("does not meet the residence rule"), "{body}");
        assert!(!has_account(store, &outsider));

        // Opened: 5,000.00 a month at 20 %, by the person themselves.
        let (st, body) = open(
            &token,
            r#"{"name": "吴自雇", "base": "5000.00", "ratio": "20"}"#,
        );
        assert_eq!(st, 201, "{body}");
        let acct = json(&body);
        let account_no = acct["account_no"].as_str().unwrap().to_owned();
        assert_eq!(acct["base_fen"], 500_000);
        assert_eq!(acct["paid_to"], serde_json::Value::Null);
        let m = store
            .begin_read()
            .unwrap()
            .member_by_id_number(C, &resident)
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.account_no.as_str(), m.unit_no.as_deref()),
            (account_no.as_str(), None)
        );
        let events = store
            .begin_read()
            .unwrap()
            .events(C, &format!("member:{account_no}"))
            .unwrap();
        assert_eq!(
            events[0].stamp.operator,
            format!("member:{resident}"),
            "{events:?}"
        );
        // A second opening: refused, pointing to the account.
        let (st, body) = open(
            &token,
            r#"{"name": "吴自雇", "base": "5000.00", "ratio": "20"}"#,
        );
        assert_eq!(st, 422, "{body}");
        assert!(body.contains(&account_no), "{body}");
        // Now the session reaches the account.
        let (st, body) = call(
            "GET",
            &format!("{base}/api/v1/members/{resident}"),
            Some(&token),
            None,
        );
        assert_eq!(st, 200, "{body}");

        // Three months from the opening month: 5,000.00 × 20 % × 3 = 3,000.00.
        let bill = |body: &str| {
            call(
                "POST",
                &format!("{base}/api/v1/flexible/bills"),
                Some(&token),
                Some(body),
            )
        };
        let (st, body) = bill(r#"{"months": 13, "bank": "ICBC"}"#);
        assert_eq!(st, 422, "{body}");
        assert!(body.contains("months"), "{body}");
        let (st, body) = bill(r#"{"months": 3, "bank": "NOPE"}"#);
        assert_eq!(st, 422, "{body}");
        assert!(body.contains("not a commissioned bank"), "{body}");
        let (st, body) = bill(r#"{"months": 3, "bank": "ICBC"}"#);
        assert_eq!(st, 201, "{body}");
        let b = json(&body);
        let bill_no = b["bill_no"].as_str().unwrap().to_owned();
        assert_eq!(b["total_fen"], 300_000, "{body}");
        let months: Vec<&str> = b["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["month"].as_str().unwrap())
            .collect();
        assert_eq!(months, ["2026-10", "2026-11", "2026-12"]);
        assert!(b["how_to_pay"].as_str().unwrap().contains(&bill_no));

        // The person pays at the bank quoting the bill number; the bank's credit notice
        // reaches the server and settles the bill.
        bank.admin()
            .credit(&CreditIn {
                account: ICBC_FUND.into(),
                amount_fen: 300_000,
                counterparty_account: "6222020000000000017".into(),
                counterparty_name: "吴自雇".into(),
                memo: format!("公积金缴存 {bill_no}"),
                credit_id: Some("flex-1".into()),
            })
            .unwrap();
        bank.admin().flush_notices().unwrap();
        let until = Instant::now() + Duration::from_secs(20);
        let paid = loop {
            let m = store
                .begin_read()
                .unwrap()
                .member(C, &account_no)
                .unwrap()
                .unwrap();
            if m.paid_to.is_some() || Instant::now() > until {
                break m;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(
            paid.paid_to.map(|p| p.to_string()).as_deref(),
            Some("2026-12"),
            "serve log: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let balance = store
            .begin_read()
            .unwrap()
            .load_accounts(C, &[AccountNo::sub("201", &account_no).unwrap()])
            .unwrap()
            .pop()
            .unwrap()
            .balance
            .fen();
        assert_eq!(balance, 300_000);
        let (st, body) = call(
            "GET",
            &format!("{base}/api/v1/members/{resident}"),
            Some(&token),
            None,
        );
        assert_eq!(st, 200, "{body}");
        assert!(body.contains("2026-12"), "{body}");
        // The next bill starts after 缴至年月.
        let (st, body) = bill(r#"{"bank": "ICBC"}"#);
        assert_eq!(st, 201, "{body}");
        assert_eq!(json(&body)["lines"][0]["month"], "2027-01");

        let report = audit(store, C).unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
    });
}
