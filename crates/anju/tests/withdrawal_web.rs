//! Online business over HTTP (issue 8 §2–§4) on the demo centre, as its people use it: a
//! member signs in by SMS code and applies for a withdrawal for themselves (零跑腿); the act
//! carries the member as operator on the web channel at the online point; another member
//! cannot read it; a village-station clerk who tries to review it is refused (403) and the
//! refusal is among what the member sees of who handled their business; a counter clerk
//! signed in with password and TOTP applies for a member at the hall, on their behalf.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::{DemoServer, call, json};

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

#[test]
fn members_apply_online_and_the_matrix_guards_every_act() {
    let demo = DemoServer::start();
    let base = demo.base.clone();

    // Without a session, nothing.
    let (st, _) = call(
        "POST",
        &format!("{base}/api/v1/withdrawals"),
        None,
        Some(r#"{"ground":"retirement"}"#),
    );
    assert_eq!(st, 401);

    // A member applies for themselves, online.
    let (token, id) = demo.member("13800000001");
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
    let (other, other_id) = demo.member("13800000002");
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
    let v001 = demo.staff("v001");
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
    let k001 = demo.staff("k001");
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
    let (clerk, unit) = demo.unit_clerk(0);
    let (other_unit, _) = demo.clerks[1].clone();
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
