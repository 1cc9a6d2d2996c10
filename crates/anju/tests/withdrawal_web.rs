//! Online business over HTTP (issue 8 §2–§4) on the demo centre, as its people use it: a
//! member signs in by SMS code and applies for a withdrawal for themselves (零跑腿); the act
//! carries the member as operator on the web channel at the online point; another member
//! cannot read it; a village-station clerk who tries to review it is refused (403) and the
//! refusal is among what the member sees of who handled their business; a counter clerk
//! signed in with password and TOTP applies for a member at the hall, on their behalf.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::{call, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use anju_app::identity::LogSms;
use anju_domain::access::totp_code;

const EXE: &str = env!("CARGO_BIN_EXE_anju");

/// Uploads a CSV list as `token` to `/api/v1/units/{path}`.
fn upload(base: &str, token: &str, path: &str, csv: &str) -> (u16, String) {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    let mut r = agent
        .post(format!("{base}/api/v1/units/{path}"))
        .header("content-type", "text/csv")
        .header("authorization", format!("Bearer {token}"))
        .send(csv)
        .unwrap();
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap_or_default())
}

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Signs a demo member in by the code texted to `phone`; (token, resident ID).
fn member(base: &str, sms: &std::path::Path, phone: &str) -> (String, String) {
    let (st, body) = call(
        "POST",
        &format!("{base}/api/v1/login/code"),
        None,
        Some(&format!(r#"{{"phone":"{phone}","device":"test"}}"#)),
    );
    assert_eq!(st, 202, "{body}");
    let text = LogSms::read_file(sms)
        .unwrap()
        .into_iter()
        .rev()
        .find(|m| m.phone == phone && m.text.contains("登录验证码"))
        .unwrap()
        .text;
    let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    let (st, body) = call(
        "POST",
        &format!("{base}/api/v1/login/sms"),
        None,
        Some(&format!(
            r#"{{"phone":"{phone}","code":"{code}","device":"test"}}"#
        )),
    );
    assert_eq!(st, 200, "{body}");
    let s = json(&body);
    (
        s["token"].as_str().unwrap().to_owned(),
        s["principal"]["id_number"].as_str().unwrap().to_owned(),
    )
}

/// Signs a demo member of staff in with the demo password and the TOTP code of now.
fn staff(base: &str, id: &str) -> String {
    let mut secret = format!("anju-demo-{id}").into_bytes();
    secret.resize(20, b'.');
    let code = totp_code(&secret, jiff::Timestamp::now().as_second());
    let (st, body) = call(
        "POST",
        &format!("{base}/api/v1/login/staff"),
        None,
        Some(&format!(
            r#"{{"staff_id":"{id}","password":"Demo#2026ab","totp":"{code:06}","device":"test"}}"#
        )),
    );
    assert_eq!(st, 200, "{body}");
    json(&body)["token"].as_str().unwrap().to_owned()
}

#[test]
fn members_apply_online_and_the_matrix_guards_every_act() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let sms = dir.path().join("demo-sms.jsonl");
    let port = anju_testkit::free_port();
    let mut child = Command::new(EXE)
        .args(["demo", "--db", &db, "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let _demo = Demo(child);
    let mut clerks = Vec::new();
    loop {
        let l = lines.next().unwrap().unwrap();
        if let Some(rest) = l.trim().strip_prefix("unit clerk of unit ") {
            let (unit, id) = rest.split_once(": ID ").unwrap();
            clerks.push((unit.to_owned(), id.to_owned()));
        }
        if l.contains("Anju is serving") {
            break;
        }
    }
    // Keep reading what the demo prints, so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let base = format!("http://127.0.0.1:{port}");

    // Without a session, nothing.
    let (st, _) = call(
        "POST",
        &format!("{base}/api/v1/withdrawals"),
        None,
        Some(r#"{"ground":"retirement"}"#),
    );
    assert_eq!(st, 401);

    // A member applies for themselves, online.
    let (token, id) = member(&base, &sms, "13800000001");
    let (st, body) = call(
        "POST",
        &format!("{base}/api/v1/withdrawals"),
        Some(&token),
        Some(r#"{"ground":"retirement","application_no":"WEB-0001"}"#),
    );
    assert_eq!(st, 201, "{body}");
    let v = json(&body);
    assert_eq!(v["application_no"], "WEB-0001");
    assert!(
        ["paid", "refused", "review", "returned"].contains(&v["status"].as_str().unwrap()),
        "{body}"
    );
    let (st, body) = call(
        "GET",
        &format!("{base}/api/v1/withdrawals/WEB-0001"),
        Some(&token),
        None,
    );
    assert_eq!(st, 200, "{body}");
    let events = json(&body)["events"].as_array().unwrap().clone();
    assert!(
        events
            .iter()
            .any(|e| e["operator"] == format!("member:{id}").as_str()),
        "{body}"
    );
    let (st, body) = call(
        "GET",
        &format!("{base}/api/v1/withdrawals"),
        Some(&token),
        None,
    );
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("WEB-0001"), "{body}");
    // Not for someone else, and no consents on others' behalf.
    let (st, body) = call(
        "POST",
        &format!("{base}/api/v1/withdrawals"),
        Some(&token),
        Some(r#"{"ground":"retirement","id_number":"330802198001010010"}"#),
    );
    assert_eq!(st, 403, "{body}");

    // Another member may not read it.
    let (other, other_id) = member(&base, &sms, "13800000002");
    assert_ne!(other_id, id);
    let (st, body) = call(
        "GET",
        &format!("{base}/api/v1/withdrawals/WEB-0001"),
        Some(&other),
        None,
    );
    assert_eq!(st, 403, "{body}");
    assert_eq!(json(&body)["error"], "forbidden");

    // A village-station clerk may not review a withdrawal.
    let v001 = staff(&base, "v001");
    let (st, body) = call(
        "POST",
        &format!("{base}/api/v1/withdrawals/WEB-0001/confirm"),
        Some(&v001),
        Some(r#"{"agree":true,"note":"ok"}"#),
    );
    assert_eq!(st, 403, "{body}");
    assert!(body.contains("village service station"), "{body}");
    // The member sees that refusal among who handled their business.
    let (st, body) = call(
        "GET",
        &format!("{base}/api/v1/me/handled-by"),
        Some(&token),
        None,
    );
    assert_eq!(st, 200, "{body}");
    let seen = json(&body);
    assert!(
        seen.as_array()
            .unwrap()
            .iter()
            .any(|l| l["actor"] == "staff:v001" && l["outcome"] == "denied"),
        "{body}"
    );

    // A counter clerk at the hall applies for the other member, on their behalf.
    let k001 = staff(&base, "k001");
    let (st, body) = call(
        "POST",
        &format!("{base}/api/v1/withdrawals"),
        Some(&k001),
        Some(&format!(
            r#"{{"ground":"retirement","id_number":"{other_id}","application_no":"WEB-0002"}}"#
        )),
    );
    assert_eq!(st, 201, "{body}");
    let (st, body) = call(
        "GET",
        &format!("{base}/api/v1/withdrawals/WEB-0002"),
        Some(&other),
        None,
    );
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("staff:k001"), "{body}");
    // A unit's clerk signs in and uploads the unit's roster; a bad list is refused row by
    // row with nothing written; another unit's list is refused.
    let (unit, clerk_id) = clerks[0].clone();
    let (other_unit, _) = clerks[1].clone();
    let credit_code = {
        let store = anju_store_sqlite::SqliteStore::open(&dir.path().join("demo.db")).unwrap();
        let mut tx = anju_store::Store::begin_read(&store).unwrap();
        tx.unit("330800000000000", &unit)
            .unwrap()
            .unwrap()
            .credit_code
    };
    let (st, body) = call(
        "POST",
        &format!("{base}/api/v1/login/unit"),
        None,
        Some(&format!(
            r#"{{"credit_code":"{credit_code}","id_number":"{clerk_id}","password":"Unit#2026ab"}}"#
        )),
    );
    assert_eq!(st, 200, "{body}");
    let clerk = json(&body)["token"].as_str().unwrap().to_owned();
    let new_member = anju_domain::ids::IdCard::with_check_char("33080219950505001")
        .unwrap()
        .as_str()
        .to_owned();
    let roster = format!("身份证号码,姓名,上年月平均工资\n{new_member},王新,6500\n");
    let (st, body) = upload(&base, &clerk, &format!("{unit}/lists/roster"), &roster);
    assert_eq!(st, 201, "{body}");
    let opened = json(&body);
    assert_eq!(opened["opened"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(opened["opened"][0]["name"], "王新");
    let bad =
        "身份证号码,姓名,上年月平均工资\n330802199001010010,王一,abc\n33080219900101001X,王二,-5\n";
    let (st, body) = upload(&base, &clerk, &format!("{unit}/lists/roster"), bad);
    assert_eq!(st, 422, "{body}");
    let rows = json(&body)["rows"].as_array().unwrap().clone();
    assert!(
        rows.len() >= 2 && rows.iter().any(|r| r["row"] == 3),
        "{body}"
    );
    let (st, body) = upload(
        &base,
        &clerk,
        &format!("{other_unit}/lists/roster"),
        &roster,
    );
    assert_eq!(st, 403, "{body}");

    // …but a clerk must name whom they serve.
    let (st, body) = call(
        "POST",
        &format!("{base}/api/v1/withdrawals"),
        Some(&k001),
        Some(r#"{"ground":"retirement"}"#),
    );
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("id_number"), "{body}");
}
