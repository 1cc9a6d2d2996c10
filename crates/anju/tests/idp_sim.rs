//! `anju idp-sim` as a separate process on loopback, driven by `IdpClient` through the
//! whole authorization code flow (authorize → the 302 followed by hand → exchange), and
//! every fault: refusals, reused and expired codes, a wrong client secret, tokens that
//! are expired, badly signed or malformed, 5xx and latency beyond the client's timeout.
//! And the development SMS sink read from its file.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::path::Path;
use std::time::{Duration, Instant};

use anju_app::identity::{
    AuthMethod, IdentityProvider, IdpError, LogSms, SmsGateway, VerifiedIdentity,
};
use anju_idp::client::{IdpClient, IdpSettings};
use anju_idp::protocol::{Discovery, callback};
use anju_idp::sim::process::{IdpSimProcess, browse};
use jiff::Timestamp;

/// 王伟: logs in either way.
const WANG: &str = "330802199001011232";
/// 李芳: logs in either way.
const LI: &str = "330802199103151244";
/// 张强: fails the face check (has an e-ID).
const ZHANG: &str = "330802198506120034";
/// 陈静: deceased.
const CHEN: &str = "330802197003040046";
/// 刘洋: no e-ID.
const LIU: &str = "33080219951120005X";
/// Nobody the provider knows.
const NOBODY: &str = "330803198811205671";
/// The centre's callback.
const CB: &str = "http://127.0.0.1:9/login/idp/callback";

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_anju"))
}

/// A simulator with the sample people and `extra` flags, logging to a temp file.
fn start(extra: &[&str]) -> (IdpSimProcess, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("idp-sim.log");
    let sim = IdpSimProcess::start_logged(exe(), extra, Some(&log)).unwrap();
    (sim, dir)
}

/// The browser's part: follows the authorize URL to the 302 and reads the callback.
fn authorize(
    idp: &IdpClient,
    who: &str,
    method: AuthMethod,
    state: &str,
    nonce: &str,
) -> Result<String, IdpError> {
    let url = idp.authorize_url_for(state, nonce, CB, Some(who), Some(method));
    let page = browse(&url).unwrap();
    assert_eq!(page.status, 302, "{page:?}");
    let location = page.location.unwrap();
    let query = location
        .strip_prefix(CB)
        .and_then(|q| q.strip_prefix('?'))
        .unwrap_or_else(|| panic!("redirected elsewhere: {location}"));
    callback(query, state)
}

/// The whole login.
fn login(idp: &IdpClient, who: &str, method: AuthMethod) -> Result<VerifiedIdentity, IdpError> {
    let code = authorize(idp, who, method, "st-1", "no-1")?;
    idp.exchange(&code, CB, "no-1")
}

#[test]
fn members_log_in_by_face_and_by_e_id() {
    let (sim, _dir) = start(&[]);
    let idp = sim.client().unwrap();
    let before = Timestamp::now().as_second();
    let v = login(&idp, WANG, AuthMethod::Face).unwrap();
    assert_eq!(v.resident_id, WANG);
    assert_eq!(v.name, "王伟");
    assert_eq!(v.method, AuthMethod::Face);
    assert_eq!(v.issuer, sim.url());
    let at = v.authenticated_at.as_second();
    assert!(
        (before - 1..=Timestamp::now().as_second()).contains(&at),
        "{at}"
    );
    let v = login(&idp, LI, AuthMethod::EId).unwrap();
    assert_eq!(
        (v.resident_id.as_str(), v.name.as_str(), v.method),
        (LI, "李芳", AuthMethod::EId)
    );
    // 张强 fails the face check but has an e-ID.
    assert_eq!(login(&idp, ZHANG, AuthMethod::EId).unwrap().name, "张强");
    // A lower-case check character is the same person.
    assert_eq!(
        login(&idp, "33080219951120005x", AuthMethod::Face)
            .unwrap()
            .resident_id,
        LIU
    );

    // Discovery names the endpoints and the algorithm.
    let page = browse(&format!("{}/.well-known/openid-configuration", sim.url())).unwrap();
    assert_eq!(page.status, 200);
    let d: Discovery = serde_json::from_str(&page.body).unwrap();
    assert_eq!(d.issuer, sim.url());
    assert_eq!(d.token_endpoint, format!("{}/token", sim.url()));
    assert_eq!(
        d.id_token_signing_alg_values_supported,
        vec!["HSM3".to_owned()]
    );
    // Without a person and method the provider shows its own page.
    let page = browse(&idp.authorize_url("st", "no", CB)).unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"login_hint\""), "{}", page.body);
    assert!(page.body.contains("value=\"eid\""));

    // The log masks the people and never shows the secret.
    let log = std::fs::read_to_string(sim.log().unwrap()).unwrap();
    assert!(log.contains("3308**********1232"), "{log}");
    assert!(!log.contains(WANG), "{log}");
    assert!(!log.contains(anju_idp::sim::DEV_SECRET), "{log}");
}

#[test]
fn refused_people_come_back_rejected() {
    let (sim, _dir) = start(&[]);
    let idp = sim.client().unwrap();
    for (who, method, why) in [
        (ZHANG, AuthMethod::Face, "face check failed"),
        (NOBODY, AuthMethod::Face, "no such person"),
        (CHEN, AuthMethod::EId, "deceased"),
        (LIU, AuthMethod::EId, "no electronic resident ID"),
        ("123", AuthMethod::Face, "no such person"),
    ] {
        match authorize(&idp, who, method, "st-9", "no-9") {
            Err(IdpError::Rejected(r)) => {
                assert!(r.starts_with("access_denied: "), "{r}");
                assert!(r.contains(why), "{who}: {r}");
            }
            other => panic!("{who} {method}: {other:?}"),
        }
    }
    // A redirect for another browser session is not taken.
    let url = idp.authorize_url_for("mine", "n", CB, Some(WANG), Some(AuthMethod::Face));
    let location = browse(&url).unwrap().location.unwrap();
    let query = location.split_once('?').unwrap().1;
    assert!(matches!(
        callback(query, "theirs"),
        Err(IdpError::Invalid(_))
    ));
    // An unknown client or a redirect URI that is not a URL is never redirected to.
    let evil = IdpClient::new(IdpSettings::new(sim.url(), "evil", "evil-secret")).unwrap();
    let page =
        browse(&evil.authorize_url_for("s", "n", CB, Some(WANG), Some(AuthMethod::Face))).unwrap();
    assert_eq!((page.status, page.location), (400, None));
    let page = browse(&idp.authorize_url_for(
        "s",
        "n",
        "javascript:alert(1)",
        Some(WANG),
        Some(AuthMethod::Face),
    ))
    .unwrap();
    assert_eq!((page.status, page.location), (400, None));
}

#[test]
fn codes_are_single_use_and_bound_to_the_login() {
    let (sim, _dir) = start(&[]);
    let idp = sim.client().unwrap();
    // Reused.
    let code = authorize(&idp, WANG, AuthMethod::Face, "s", "n").unwrap();
    idp.exchange(&code, CB, "n").unwrap();
    let e = idp.exchange(&code, CB, "n").unwrap_err();
    assert!(
        matches!(&e, IdpError::Rejected(r) if r.contains("invalid_grant") && r.contains("already used")),
        "{e}"
    );
    // Another nonce: the token is not for this login.
    let code = authorize(&idp, WANG, AuthMethod::Face, "s", "n-1").unwrap();
    let e = idp.exchange(&code, CB, "n-2").unwrap_err();
    assert!(
        matches!(&e, IdpError::Invalid(r) if r.contains("nonce")),
        "{e}"
    );
    // Another redirect URI.
    let code = authorize(&idp, WANG, AuthMethod::Face, "s", "n").unwrap();
    let e = idp
        .exchange(&code, "http://127.0.0.1:9/elsewhere", "n")
        .unwrap_err();
    assert!(
        matches!(&e, IdpError::Rejected(r) if r.contains("redirect_uri")),
        "{e}"
    );
    // A code nobody issued.
    let e = idp.exchange("0123456789abcdef", CB, "n").unwrap_err();
    assert!(
        matches!(&e, IdpError::Rejected(r) if r.contains("unknown")),
        "{e}"
    );
    // The wrong client secret: the client is refused (and the code is not used up).
    let code = authorize(&idp, WANG, AuthMethod::Face, "s", "n").unwrap();
    let wrong = IdpClient::new(IdpSettings::new(sim.url(), "anju", "not-the-secret")).unwrap();
    let e = wrong.exchange(&code, CB, "n").unwrap_err();
    assert!(
        matches!(&e, IdpError::Invalid(r) if r.contains("401") && r.contains("invalid_client")),
        "{e}"
    );
    assert_eq!(idp.exchange(&code, CB, "n").unwrap().resident_id, WANG);
    // A client expecting another issuer refuses the token.
    let mut other = sim.settings();
    other.issuer = "https://idp.example.gov.cn".into();
    let other = IdpClient::new(other).unwrap();
    let code = authorize(&other, WANG, AuthMethod::Face, "s", "n").unwrap();
    let e = other.exchange(&code, CB, "n").unwrap_err();
    assert!(
        matches!(&e, IdpError::Invalid(r) if r.contains("issuer")),
        "{e}"
    );
}

#[test]
fn codes_expire() {
    let (sim, _dir) = start(&["--code-ttl-secs", "1"]);
    let idp = sim.client().unwrap();
    let code = authorize(&idp, WANG, AuthMethod::Face, "s", "n").unwrap();
    std::thread::sleep(Duration::from_millis(1_300));
    let e = idp.exchange(&code, CB, "n").unwrap_err();
    assert!(
        matches!(&e, IdpError::Rejected(r) if r.contains("invalid_grant")),
        "{e}"
    );
}

#[test]
fn bad_tokens_are_invalid() {
    let (expired, _d1) = start(&["--expired-tokens"]);
    let e = login(&expired.client().unwrap(), WANG, AuthMethod::Face).unwrap_err();
    assert!(
        matches!(&e, IdpError::Invalid(r) if r.contains("expired")),
        "{e}"
    );

    let (forged, _d2) = start(&["--bad-signature"]);
    let e = login(&forged.client().unwrap(), WANG, AuthMethod::Face).unwrap_err();
    assert!(
        matches!(&e, IdpError::Invalid(r) if r.contains("signature")),
        "{e}"
    );

    let (garbage, _d3) = start(&["--malformed"]);
    let idp = garbage.client().unwrap();
    let mut reasons = Vec::new();
    for _ in 0..4 {
        match login(&idp, WANG, AuthMethod::EId) {
            Err(IdpError::Invalid(r)) => reasons.push(r),
            other => panic!("{other:?}"),
        }
    }
    assert!(reasons[0].contains("malformed token answer"), "{reasons:?}");
    assert!(reasons[1].contains("malformed token answer"), "{reasons:?}");
    assert!(reasons[2].contains("malformed ID token"), "{reasons:?}");
    assert!(reasons[3].contains("claims are not valid"), "{reasons:?}");
}

#[test]
fn outages_are_unavailable() {
    let (five, _d1) = start(&["--status-500"]);
    let idp = five.client().unwrap();
    let code = authorize(&idp, WANG, AuthMethod::Face, "s", "n").unwrap();
    let e = idp.exchange(&code, CB, "n").unwrap_err();
    assert!(
        matches!(&e, IdpError::Unavailable(r) if r.contains("HTTP 500")),
        "{e}"
    );

    let (flaky, _d2) = start(&["--fail-rate", "100"]);
    let e = login(&flaky.client().unwrap(), WANG, AuthMethod::Face).unwrap_err();
    assert!(
        matches!(&e, IdpError::Unavailable(r) if r.contains("HTTP 50")),
        "{e}"
    );

    let (slow, _d3) = start(&["--latency-ms", "1500"]);
    let mut settings = slow.settings();
    settings.request_timeout = Duration::from_millis(300);
    let idp = IdpClient::new(settings).unwrap();
    let code = authorize(&idp, WANG, AuthMethod::Face, "s", "n").unwrap();
    let t = Instant::now();
    let e = idp.exchange(&code, CB, "n").unwrap_err();
    assert!(
        matches!(&e, IdpError::Unavailable(r) if r.contains("300 ms")),
        "{e}"
    );
    assert!(
        t.elapsed() < Duration::from_millis(1_400),
        "{:?}",
        t.elapsed()
    );

    // Nobody listening.
    let url = slow.url().to_owned();
    drop(slow);
    let gone = IdpClient::new(IdpSettings::new(&url, "anju", anju_idp::sim::DEV_SECRET)).unwrap();
    let e = gone.exchange("code", CB, "n").unwrap_err();
    assert!(matches!(e, IdpError::Unavailable(_)), "{e}");
}

#[test]
fn the_exchange_dataset_people_log_in() {
    use anju_domain::codes::Sex;
    use anju_domain::sharing::Identity;
    use anju_exchange::sim::dataset::{Dataset, PersonRecord};
    let dir = tempfile::tempdir().unwrap();
    let mut d = Dataset::empty(Timestamp::UNIX_EPOCH);
    for (id, name) in [(WANG, "王伟"), (LI, "李芳")] {
        d.people.insert(
            id.into(),
            PersonRecord {
                identity: Some(Identity {
                    id_number: id.into(),
                    name: name.into(),
                    sex: Sex::Male,
                    birth_date: jiff::civil::date(1990, 1, 1),
                    alive: true,
                }),
                ..PersonRecord::default()
            },
        );
    }
    let path = dir.path().join("dataset.json");
    d.save(&path).unwrap();
    let (sim, _d) = start(&[
        "--dataset",
        path.to_str().unwrap(),
        "--face-fail",
        LI,
        "--client-id",
        "centre-1",
        "--client-secret",
        "centre-1-secret",
    ]);
    let idp = sim.client().unwrap();
    assert_eq!(idp.settings().client_id, "centre-1");
    assert_eq!(login(&idp, WANG, AuthMethod::Face).unwrap().name, "王伟");
    assert!(matches!(
        login(&idp, LI, AuthMethod::Face),
        Err(IdpError::Rejected(_))
    ));
    assert_eq!(login(&idp, LI, AuthMethod::EId).unwrap().name, "李芳");
    // The sample people are not in this dataset.
    assert!(matches!(
        login(&idp, LIU, AuthMethod::Face),
        Err(IdpError::Rejected(_))
    ));
}

#[test]
fn the_openapi_document_is_printed_and_served() {
    let out = std::process::Command::new(exe())
        .args(["idp-sim", "--openapi"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        anju_idp::sim::OPENAPI
    );
    let (sim, _dir) = start(&[]);
    let page = browse(&format!("{}/openapi.json", sim.url())).unwrap();
    assert_eq!(page.body, anju_idp::sim::OPENAPI);
}

#[test]
fn log_sms_codes_are_read_from_the_file_sink() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sms.jsonl");
    let sms = LogSms::with_file(&path);
    sms.send("13812341234", "【衢州公积金】验证码 482913，5 分钟内有效。")
        .unwrap();
    sms.send("+86 139 0000 0001", "【衢州公积金】验证码 100200。")
        .unwrap();
    // Another process (the demo's, a test's) reads the codes from the file.
    let lines = std::fs::read_to_string(&path).unwrap();
    let sent: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["phone"], "13812341234");
    assert!(sent[0]["text"].as_str().unwrap().contains("482913"));
    assert!(sent[0]["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(sent[1]["phone"], "13900000001");
    assert_eq!(LogSms::read_file(&path).unwrap(), sms.outbox());
}
