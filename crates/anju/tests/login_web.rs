//! Member sign-in end to end over HTTP (issue 8), on every backend: `anju serve` as a
//! process with the development SMS sink and `anju idp-sim` as the identity provider;
//! a code is requested and used, the face sign-in follows the provider's redirects, the
//! session reads the member's own account and is refused another's; no token, a wrong
//! code and a replayed callback are refused.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::{call, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anju_app::access::login::{point_type_name, secret_hash};
use anju_app::identity::LogSms;
use anju_app::ledger::{open_accounts, open_centre};
use anju_app::registry::{NewMember, NewUnit, open_member, register_unit};
use anju_domain::access::{PointType, ServicePoint};
use anju_domain::codes::Channel;
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::AccountNo;
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_idp::sim::process::{IdpSimProcess, browse};
use anju_store::access::{PhoneBindingRow, ServicePointRow};
use anju_testkit::for_each_backend;
use jiff::Timestamp;

const EXE: &str = env!("CARGO_BIN_EXE_anju");
const C: &str = "330800000000000";
/// 王伟 and 李芳 of the identity provider's sample people.
const WANG: &str = "330802199001011232";
const LI: &str = "330802199103151244";

fn seed(s: &dyn anju_store::Store) {
    let p = Policy::from_toml(QUZHOU_POLICY).unwrap();
    let now = Timestamp::now();
    let day = "2026-03-02".parse().unwrap();
    let stamp = Stamp {
        operator: "staff:S0001".into(),
        channel: Channel::Counter,
        service_point: "hall".into(),
        on_behalf_of: None,
    };
    open_centre(s, C, "衢州市住房公积金管理中心", day, now).unwrap();
    open_accounts(s, C, &[AccountNo::sub("101", "ABC").unwrap()], day).unwrap();
    let unit = register_unit(
        s,
        C,
        &p,
        NewUnit {
            credit_code: CreditCode::parse("91330802MA28F0Q135").unwrap(),
            name: "衢州市示范科技有限公司".into(),
            address: "衢州市柯城区荷花中路1号".into(),
            legal_rep: "张三".into(),
            payday: 10,
            bank_code: "ABC".into(),
            unit_ratio: Rate::from_percent(12),
            member_ratio: Rate::from_percent(12),
        },
        &stamp,
        now,
    )
    .unwrap();
    for (id, name) in [(WANG, "王伟"), (LI, "李芳")] {
        open_member(
            s,
            C,
            &p,
            NewMember {
                id_card: IdCard::parse(id).unwrap(),
                name: name.into(),
                unit_no: unit.unit_no.clone(),
                wage: Fen::parse_yuan("6000").unwrap(),
            },
            &stamp,
            now,
        )
        .unwrap();
    }
    let mut tx = s.begin().unwrap();
    tx.insert_service_point(
        C,
        &ServicePointRow {
            code: "online".into(),
            name: "网上服务大厅".into(),
            point_type: point_type_name(PointType::Online).into(),
            county: "衢州市".into(),
            town: String::new(),
            village: None,
            bank_code: None,
            businesses: ServicePoint::possible_businesses(PointType::Online)
                .iter()
                .map(|b| b.code())
                .collect::<Vec<_>>()
                .join(","),
            status: "open".into(),
            opened_on: day,
            closed_on: None,
        },
    )
    .unwrap();
    tx.bind_phone(
        C,
        &PhoneBindingRow {
            id_number: WANG.into(),
            phone: "13800000001".into(),
            bound_at_us: now.as_microsecond(),
            bound_by: "staff:S0001".into(),
        },
    )
    .unwrap();
    tx.commit().unwrap();
}

#[test]
fn members_sign_in_by_sms_code_and_by_face_through_the_identity_provider() {
    for_each_backend(|db| {
        seed(db.store.as_ref());
        let dir = tempfile::tempdir().unwrap();
        let sms_log = dir.path().join("sms.jsonl");
        let idp = IdpSimProcess::start(EXE.as_ref(), &[]).unwrap();
        let port = anju_testkit::free_port();
        let mut server = Command::new(EXE)
            .args(["serve", "--db", &db.url, "--port", &port.to_string()])
            .args(["--sms-log", &sms_log.display().to_string()])
            .args(["--idp-url", idp.url()])
            .env("ANJU_IDP_SECRET", anju_idp::sim::DEV_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
        loop {
            let l = lines.next().unwrap().unwrap();
            if l.contains("Anju is serving") {
                break;
            }
        }
        let base = format!("http://127.0.0.1:{port}");
        // The sign-in page a member opens.
        let (st, page) = call("GET", &format!("{base}/login"), None, None);
        assert_eq!(st, 200);
        assert!(page.contains("短信验证码登录") && page.contains("/api/v1/login/idp"));

        // -- by SMS code.
        let (st, body) = call(
            "POST",
            &format!("{base}/api/v1/login/code"),
            None,
            Some(r#"{"phone":"13800000001","device":"test-phone"}"#),
        );
        assert_eq!(st, 202, "{body}");
        assert_eq!(json(&body)["phone"], "138****0001");
        let sent = LogSms::read_file(&sms_log).unwrap();
        assert_eq!(sent.len(), 1);
        let code: String = sent[0]
            .text
            .chars()
            .filter(char::is_ascii_digit)
            .take(6)
            .collect();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (st, body) = call(
            "POST",
            &format!("{base}/api/v1/login/sms"),
            None,
            Some(&format!(r#"{{"phone":"13800000001","code":"{wrong}"}}"#)),
        );
        assert_eq!(st, 401, "{body}");
        assert_eq!(json(&body)["error"], "unauthenticated");
        let (st, body) = call(
            "POST",
            &format!("{base}/api/v1/login/sms"),
            None,
            Some(&format!(
                r#"{{"phone":"13800000001","code":"{code}","device":"test-phone"}}"#
            )),
        );
        assert_eq!(st, 200, "{body}");
        let session = json(&body);
        let token = session["token"].as_str().unwrap().to_owned();
        assert_eq!(session["principal"]["id_number"], WANG);
        assert_eq!(session["new_device"], true);
        // The token is never stored, only its hash.
        let stored = db
            .store
            .begin_read()
            .unwrap()
            .session(C, &secret_hash(&[&token]))
            .unwrap()
            .unwrap();
        assert_eq!(stored.subject_id, WANG);

        let (st, body) = call("GET", &format!("{base}/api/v1/me"), Some(&token), None);
        assert_eq!(st, 200, "{body}");
        assert_eq!(json(&body)["role"], "01");
        let (st, body) = call(
            "GET",
            &format!("{base}/api/v1/members/{WANG}"),
            Some(&token),
            None,
        );
        assert_eq!(st, 200, "{body}");
        assert_eq!(json(&body)["id_number"], WANG);
        let (st, body) = call(
            "GET",
            &format!("{base}/api/v1/members/{LI}"),
            Some(&token),
            None,
        );
        assert_eq!(st, 403, "{body}");
        assert_eq!(json(&body)["error"], "forbidden");
        let (st, _) = call("GET", &format!("{base}/api/v1/members/{WANG}"), None, None);
        assert_eq!(st, 401);
        let (st, body) = call(
            "GET",
            &format!("{base}/api/v1/me/handled-by"),
            Some(&token),
            None,
        );
        assert_eq!(st, 200, "{body}");
        let lines = json(&body);
        assert!(
            lines
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["action"] == "login")
        );
        let (st, _) = call("POST", &format!("{base}/api/v1/logout"), Some(&token), None);
        assert_eq!(st, 204);
        let (st, _) = call("GET", &format!("{base}/api/v1/me"), Some(&token), None);
        assert_eq!(st, 401);

        // -- by face, through the identity provider's redirects; the code goes back only
        // to this server.
        let elsewhere = browse(&format!(
            "{base}/api/v1/login/idp?redirect_uri={}",
            anju_idp::protocol::encode_component("http://evil.example/steal")
        ))
        .unwrap();
        assert_eq!(elsewhere.status, 422, "{}", elsewhere.body);
        let callback = format!("{base}/api/v1/login/idp/callback");
        let start = browse(&format!(
            "{base}/api/v1/login/idp?redirect_uri={}",
            anju_idp::protocol::encode_component(&callback)
        ))
        .unwrap();
        assert_eq!(start.status, 303, "{}", start.body);
        let authorize = start.location.unwrap();
        assert!(authorize.starts_with(idp.url()), "{authorize}");
        // The member chooses face and gives the ID number on the provider's page.
        let at_idp = browse(&format!("{authorize}&login_hint={LI}&method=face")).unwrap();
        assert_eq!(at_idp.status, 302, "{}", at_idp.body);
        let back = at_idp.location.unwrap();
        assert!(back.starts_with(&callback), "{back}");
        let done = browse(&back).unwrap();
        assert_eq!(done.status, 200, "{}", done.body);
        let session = json(&done.body);
        assert_eq!(session["principal"]["id_number"], LI);
        let face_token = session["token"].as_str().unwrap().to_owned();
        let (st, body) = call(
            "GET",
            &format!("{base}/api/v1/members/{LI}"),
            Some(&face_token),
            None,
        );
        assert_eq!(st, 200, "{body}");
        // The same callback again (a replayed state and code): refused.
        let again = browse(&back).unwrap();
        assert_eq!(again.status, 401, "{}", again.body);

        server.kill().unwrap();
        server.wait().unwrap();
    });
}
