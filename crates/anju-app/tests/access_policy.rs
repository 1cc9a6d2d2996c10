//! The centre's policy under maker-checker on every backend: the first start adopts
//! version 1, the same text starts again, a different file is refused naming both hashes;
//! a manager proposes, the same manager or an approver may not approve, another manager
//! does and version 2 is in effect and audited; a rejected proposal changes nothing; a bad
//! policy is refused with nothing written; a stale proposal cannot be approved.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::AppError;
use anju_app::access::admin::{self, Actor};
use anju_app::access::audit::{self, AuditFilter};
use anju_app::access::policy::{self, FIRST_START};
use anju_app::ledger::open_centre;
use anju_domain::access::{Business, PointType, Role};
use anju_domain::policy::QUZHOU_POLICY;
use anju_store::Store;
use anju_testkit::for_each_backend;
use jiff::Timestamp;

const C: &str = "330800000000000";
const BO: &str = "backoffice";

fn now() -> Timestamp {
    "2026-03-02T02:00:00Z".parse().unwrap()
}

fn manager(id: &str) -> Actor {
    Actor::staff(id, Role::Manager, BO, PointType::BackOffice)
}

/// The shipped policy with another version label: valid, and a different text.
fn revised(label: &str) -> String {
    let old = "policy_version = \"2026.1\"";
    assert!(QUZHOU_POLICY.contains(old));
    QUZHOU_POLICY.replace(old, &format!("policy_version = \"{label}\""))
}

fn invalid<T: std::fmt::Debug>(r: Result<T, AppError>) -> (String, String, String) {
    match r {
        Err(AppError::Invalid { field, value, rule }) => (field.to_owned(), value, rule),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn forbidden<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    match r {
        Err(AppError::Forbidden { reason }) => reason,
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

fn audit_rows(s: &dyn Store, action: &str) -> Vec<anju_store::access::AuditRow> {
    let filter = AuditFilter {
        action: Some(action.into()),
        ..AuditFilter::default()
    };
    audit::search(s, C, &filter, None, 100).unwrap()
}

fn current(s: &dyn Store) -> (i64, String) {
    policy::current_policy(s, C).unwrap().unwrap()
}

#[test]
fn the_first_start_adopts_version_1_and_a_different_file_is_refused() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let b = db.backend;
        open_centre(
            s,
            C,
            "衢州市住房公积金管理中心",
            "2026-03-02".parse().unwrap(),
            now(),
        )
        .unwrap();
        assert_eq!(policy::current_policy(s, C).unwrap(), None, "{b}");

        // A bad file never becomes version 1.
        let (field, _, rule) = invalid(policy::adopt_policy_at_start(s, C, "[centre", now()));
        assert_eq!(field, "policy", "{b}");
        assert!(rule.contains("not a valid policy"), "{b}: {rule}");
        // Nor another centre's policy.
        let hangzhou =
            QUZHOU_POLICY.replace("code = \"330800000000000\"", "code = \"330800000000099\"");
        let (field, value, rule) = invalid(policy::adopt_policy_at_start(s, C, &hangzhou, now()));
        assert_eq!(field, "policy", "{b}");
        assert!(
            value.contains("330800000000099") && rule.contains(C),
            "{b}: {value} {rule}"
        );
        assert!(policy::history(s, C).unwrap().is_empty(), "{b}");

        let sha1 = policy::text_sm3(QUZHOU_POLICY);
        assert_eq!(sha1.len(), 64);
        let first = policy::adopt_policy_at_start(s, C, QUZHOU_POLICY, now()).unwrap();
        assert_eq!((first.version, first.adopted), (1, true), "{b}");
        assert_eq!(first.sm3, sha1);
        let h = policy::history(s, C).unwrap();
        assert_eq!(h.len(), 1, "{b}");
        assert_eq!(
            (
                h[0].version,
                h[0].maker.as_str(),
                h[0].checker.clone(),
                h[0].approval_id
            ),
            (1, FIRST_START, None, None),
            "{b}"
        );
        assert_eq!(
            (h[0].sm3.as_str(), h[0].text.as_str()),
            (sha1.as_str(), QUZHOU_POLICY)
        );
        assert_eq!(h[0].adopted_at_us, now().as_microsecond());
        let adopted = audit_rows(s, "policy_adopted");
        assert_eq!(adopted.len(), 1, "{b}");
        assert_eq!(adopted[0].actor, FIRST_START);
        assert!(adopted[0].detail.contains(&sha1), "{}", adopted[0].detail);

        // The same text again: nothing new.
        let again = policy::adopt_policy_at_start(s, C, QUZHOU_POLICY, now()).unwrap();
        assert_eq!((again.version, again.adopted), (1, false), "{b}");
        assert_eq!(policy::history(s, C).unwrap().len(), 1);
        assert_eq!(audit_rows(s, "policy_adopted").len(), 1);

        // A different file: refused, naming its hash, the approved version and hash, and
        // how to change the policy.
        let edited = revised("2026.2");
        let (field, value, rule) = invalid(policy::adopt_policy_at_start(s, C, &edited, now()));
        assert_eq!(field, "policy", "{b}");
        assert!(value.contains(&policy::text_sm3(&edited)), "{b}: {value}");
        assert!(
            rule.contains("version 1")
                && rule.contains(&sha1)
                && rule.contains("anju policy propose"),
            "{b}: {rule}"
        );
        assert_eq!(current(s), (1, QUZHOU_POLICY.to_owned()), "{b}");
        assert!(audit::verify(s, C).unwrap().is_clean());
    });
}

#[test]
fn a_policy_change_is_made_by_one_manager_and_approved_by_another() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let b = db.backend;
        open_centre(
            s,
            C,
            "衢州市住房公积金管理中心",
            "2026-03-02".parse().unwrap(),
            now(),
        )
        .unwrap();
        policy::adopt_policy_at_start(s, C, QUZHOU_POLICY, now()).unwrap();
        let m1 = manager("m001");
        let m2 = manager("m002");
        let approver = Actor::staff("a001", Role::Approver, BO, PointType::BackOffice);
        let clerk = Actor::staff("k001", Role::CounterClerk, "hall", PointType::CentreHall);
        let audit_before = audit::verify(s, C).unwrap().rows;

        // A bad policy: refused, nothing written (no approval, no audit row).
        let bad = format!("{QUZHOU_POLICY}\n[[[oops\n");
        let (field, value, rule) = invalid(policy::propose_policy(s, C, &m1, &bad, now()));
        assert_eq!(field, "policy", "{b}");
        assert!(value.contains(&policy::text_sm3(&bad)), "{b}: {value}");
        assert!(rule.contains("not a valid policy"), "{b}: {rule}");
        // The text in effect: nothing to change.
        let (_, _, rule) = invalid(policy::propose_policy(s, C, &m1, QUZHOU_POLICY, now()));
        assert!(rule.contains("in effect (version 1)"), "{b}: {rule}");
        assert!(admin::pending(s, C, None).unwrap().is_empty(), "{b}");
        assert_eq!(audit::verify(s, C).unwrap().rows, audit_before, "{b}");
        // The generic path checks the payload too.
        let forged =
            serde_json::json!({"text": bad, "sm3": policy::text_sm3(&bad), "base_version": 1});
        invalid(admin::propose(
            s,
            C,
            &m1,
            Business::PolicyChange,
            "policy",
            &forged.to_string(),
            now(),
        ));
        let lying = serde_json::json!({"text": revised("x"), "sm3": "00", "base_version": 1});
        let (field, _, _) = invalid(admin::propose(
            s,
            C,
            &m1,
            Business::PolicyChange,
            "policy",
            &lying.to_string(),
            now(),
        ));
        assert_eq!(field, "sm3");
        assert!(admin::pending(s, C, None).unwrap().is_empty(), "{b}");
        // A counter clerk may not propose a policy change.
        forbidden(policy::propose_policy(
            s,
            C,
            &clerk,
            &revised("2026.2"),
            now(),
        ));

        // Manager 1 proposes version 2.
        let v2 = revised("2026.2");
        let id = policy::propose_policy(s, C, &m1, &v2, now()).unwrap();
        let pending = admin::pending(s, C, Some(Business::PolicyChange)).unwrap();
        assert_eq!(pending.len(), 1, "{b}");
        assert_eq!((pending[0].id, pending[0].object.as_str()), (id, "policy"));
        let payload: serde_json::Value = serde_json::from_str(&pending[0].payload).unwrap();
        assert_eq!(payload["base_version"], 1);
        assert_eq!(payload["sm3"], policy::text_sm3(&v2));
        assert_eq!(payload["text"], v2.as_str());
        assert_eq!(current(s).0, 1, "proposing changes nothing yet ({b})");

        // Not by the maker, not by an approver.
        let reason = forbidden(admin::decide(s, C, &m1, id, true, None, now()));
        assert!(!reason.is_empty());
        forbidden(admin::decide(s, C, &approver, id, true, None, now()));
        assert_eq!(current(s).0, 1, "{b}");
        let denied = audit_rows(s, "approval_approved");
        assert_eq!(
            denied.iter().filter(|r| r.outcome == "denied").count(),
            2,
            "{b}: both refusals audited"
        );

        // Manager 2 approves: version 2 in effect, recorded with both people.
        admin::decide(s, C, &m2, id, true, None, now()).unwrap();
        assert_eq!(current(s), (2, v2.clone()), "{b}");
        let h = policy::history(s, C).unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(
            (
                h[1].version,
                h[1].maker.as_str(),
                h[1].checker.as_deref(),
                h[1].approval_id
            ),
            (2, "staff:m001", Some("staff:m002"), Some(id)),
            "{b}"
        );
        assert_eq!(h[1].sm3, policy::text_sm3(&v2));
        let approved: Vec<_> = audit_rows(s, "approval_approved")
            .into_iter()
            .filter(|r| r.outcome == "ok")
            .collect();
        assert_eq!(approved.len(), 1, "{b}");
        assert_eq!(approved[0].actor, "staff:m002");
        assert!(
            approved[0].detail.contains("policy version 2"),
            "{}",
            approved[0].detail
        );
        assert!(admin::pending(s, C, None).unwrap().is_empty(), "{b}");

        // The start now wants version 2's text.
        invalid(policy::adopt_policy_at_start(s, C, QUZHOU_POLICY, now()));
        let start = policy::adopt_policy_at_start(s, C, &v2, now()).unwrap();
        assert_eq!((start.version, start.adopted), (2, false));

        // A rejected proposal leaves the policy as it is.
        let id3 = policy::propose_policy(s, C, &m2, &revised("2026.3"), now()).unwrap();
        admin::decide(s, C, &m1, id3, false, Some("利率未经批准"), now()).unwrap();
        assert_eq!(current(s), (2, v2.clone()), "{b}");
        assert_eq!(policy::history(s, C).unwrap().len(), 2);

        // Two proposals against version 2: the first approved wins, the second is stale.
        let a = policy::propose_policy(s, C, &m1, &revised("2026.4"), now()).unwrap();
        let stale = policy::propose_policy(s, C, &m1, &revised("2026.5"), now()).unwrap();
        admin::decide(s, C, &m2, a, true, None, now()).unwrap();
        assert_eq!(current(s), (3, revised("2026.4")), "{b}");
        let (field, value, rule) = invalid(admin::decide(s, C, &m2, stale, true, None, now()));
        assert_eq!(
            (field.as_str(), value.as_str()),
            ("base_version", "2"),
            "{b}"
        );
        assert!(
            rule.contains("stale") && rule.contains("version 3"),
            "{b}: {rule}"
        );
        // Nothing of it happened: still pending, version 3 in effect; it can be rejected.
        assert_eq!(admin::pending(s, C, None).unwrap().len(), 1, "{b}");
        assert_eq!(current(s).0, 3);
        admin::decide(s, C, &m2, stale, false, Some("基于旧版本"), now()).unwrap();
        assert_eq!(policy::history(s, C).unwrap().len(), 3);
        assert!(audit::verify(s, C).unwrap().is_clean());
    });
}
