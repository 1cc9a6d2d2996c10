//! The registry's acts one at a time over the web API, on the demo centre, as its people
//! do them: a unit's clerk online opens a new employee's account in their own unit, seals
//! a leaver, hires a sealed member back, and defers the unit's payments — and is refused
//! (403) for another unit, for hiring into another unit and for 冻结; a counter clerk at
//! the hall registers a new unit and freezes an account; a village-station clerk may not
//! register a unit. Bad input is refused with the field, value and rule, and writes
//! nothing.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use anju_domain::ids::{CreditCode, IdCard};
use common::{DemoServer, call, json};

/// A valid credit code whose organisation code is `MA2W{n:04}` plus its check character.
fn credit_code(n: u32) -> CreditCode {
    "0123456789ABCDEFGHJKLMNPQRTUWXY"
        .chars()
        .find_map(|c| CreditCode::with_check_char(&format!("91330802MA2W{n:04}{c}")).ok())
        .unwrap()
}

#[test]
fn unit_clerks_and_counter_clerks_keep_the_registry_online() {
    let demo = DemoServer::start();
    let base = demo.base.clone();
    let (clerk, unit) = demo.unit_clerk(0);
    let (other_unit, _) = demo.clerks[1].clone();
    let post = |token: &str, path: &str, body: &str| {
        call("POST", &format!("{base}{path}"), Some(token), Some(body))
    };
    let newcomer = IdCard::with_check_char("33080219960606002")
        .unwrap()
        .as_str()
        .to_owned();

    // -- a unit's clerk, online, for their own unit.
    let open_body =
        |id: &str, wage: &str| format!(r#"{{"id_number":"{id}","name":"赵新员","wage":"{wage}"}}"#);
    let (st, body) = post(
        &clerk,
        &format!("/api/v1/units/{unit}/members"),
        &open_body("330802199606060021", "6500"),
    );
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("id_number"), "{body}");
    let (st, body) = post(
        &clerk,
        &format!("/api/v1/units/{unit}/members"),
        &open_body(&newcomer, "abc"),
    );
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("wage"), "{body}");
    let (st, body) = post(
        &clerk,
        &format!("/api/v1/units/{other_unit}/members"),
        &open_body(&newcomer, "6500.00"),
    );
    assert_eq!(st, 403, "{body}");
    let (st, body) = post(
        &clerk,
        &format!("/api/v1/units/{unit}/members"),
        &open_body(&newcomer, "6500.00"),
    );
    assert_eq!(st, 201, "{body}");
    let m = json(&body);
    let account_no = m["account_no"].as_str().unwrap().to_owned();
    assert_eq!(m["unit_no"], unit.as_str());
    assert_eq!(m["base_fen"], 650_000);
    // One account per person: a second opening names the first.
    let (st, body) = post(
        &clerk,
        &format!("/api/v1/units/{unit}/members"),
        &open_body(&newcomer, "6500.00"),
    );
    assert_eq!(st, 422, "{body}");
    assert!(body.contains(&account_no), "{body}");

    let change =
        |token: &str, body: &str| post(token, &format!("/api/v1/members/{newcomer}/changes"), body);
    let (st, body) = change(&clerk, r#"{"act":"retire","reason":"离职"}"#);
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("act"), "{body}");
    let (st, body) = change(&clerk, r#"{"act":"unseal","reason":"入职"}"#);
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("unit_no"), "{body}");
    // The leaver is sealed (封存) by their unit.
    let (st, body) = change(&clerk, r#"{"act":"seal","reason":"离职"}"#);
    assert_eq!(st, 200, "{body}");
    let v = json(&body);
    assert_eq!(
        (v["status"].as_str(), v["unit_no"].as_str()),
        (Some("02"), None)
    );
    // Hiring into another unit is that unit's act; into their own, allowed (启封).
    let (st, body) = change(
        &clerk,
        &format!(r#"{{"act":"unseal","unit_no":"{other_unit}","reason":"入职"}}"#),
    );
    assert_eq!(st, 403, "{body}");
    let (st, body) = change(
        &clerk,
        &format!(r#"{{"act":"unseal","unit_no":"{unit}","reason":"重新入职"}}"#),
    );
    assert_eq!(st, 200, "{body}");
    let v = json(&body);
    assert_eq!(
        (v["status"].as_str(), v["unit_no"].as_str()),
        (Some("01"), Some(unit.as_str()))
    );
    // 冻结 is the centre hall's, never a unit's.
    let (st, body) = change(&clerk, r#"{"act":"freeze","reason":"法院协助冻结"}"#);
    assert_eq!(st, 403, "{body}");
    // The unit's own status: 缓缴 with its approval reference, then its end; not another
    // unit's.
    let (st, body) = post(
        &clerk,
        &format!("/api/v1/units/{other_unit}/changes"),
        r#"{"act":"defer","reason":"缓缴批准 HJ-2026-01"}"#,
    );
    assert_eq!(st, 403, "{body}");
    let (st, body) = post(
        &clerk,
        &format!("/api/v1/units/{unit}/changes"),
        r#"{"act":"defer","reason":"缓缴批准 HJ-2026-01"}"#,
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(json(&body)["status"], "03");
    let (st, body) = post(
        &clerk,
        &format!("/api/v1/units/{unit}/changes"),
        r#"{"act":"end-deferral","reason":"缓缴期满"}"#,
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(json(&body)["status"], "01");

    // -- a counter clerk at the centre hall.
    let k001 = demo.staff("k001");
    let code = credit_code(1);
    let unit_body = |code: &str, unit_ratio: &str| {
        format!(
            r#"{{"credit_code":"{code}","name":"衢州线上测试有限公司","address":"衢州市柯城区荷花中路1号","legal_rep":"钱法人","payday":15,"bank":"ICBC","unit_ratio":"{unit_ratio}","member_ratio":"12"}}"#
        )
    };
    let (st, body) = post(
        &k001,
        "/api/v1/units",
        &unit_body(&format!("{}0", &code.as_str()[..17]), "12"),
    );
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("credit_code"), "{body}");
    let (st, body) = post(&k001, "/api/v1/units", &unit_body(code.as_str(), "30"));
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("ratio"), "{body}");
    let (st, body) = post(&k001, "/api/v1/units", &unit_body(code.as_str(), "12"));
    assert_eq!(st, 201, "{body}");
    let u = json(&body);
    let new_unit = u["unit_no"].as_str().unwrap().to_owned();
    assert_eq!(u["status"], "02");
    let (st, body) = post(&k001, "/api/v1/units", &unit_body(code.as_str(), "12"));
    assert_eq!(st, 422, "{body}");
    assert!(body.contains(&new_unit), "{body}");
    let (st, body) = change(
        &k001,
        r#"{"act":"freeze","reason":"法院协助冻结 (2026)浙0802执1号"}"#,
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(json(&body)["status"], "06");

    // -- a village station does not register units.
    let v001 = demo.staff("v001");
    let other = credit_code(3);
    let (st, body) = post(&v001, "/api/v1/units", &unit_body(other.as_str(), "12"));
    assert_eq!(st, 403, "{body}");
    assert!(body.contains("village service station"), "{body}");
}
