//! Access storage on every backend (schema 9): service points, staff, unit clerks, phone
//! bindings, one-time codes, sessions, known devices, sign-in attempts, the audit log,
//! notifications and approvals round trip every column and stay within their centre;
//! state changes happen once (`Conflict` after, `NotFound` for an unknown row) and leave
//! the transaction usable; the schema refuses what the rules forbid (a checker who is the
//! maker, a decided approval changed, a consumed code reused, an audit row out of its
//! chain), and the audit log is append-only even by raw SQL. Policy versions (schema 10)
//! follow one another without a gap, per centre, and never change.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::ledger::open_centre;
use anju_store::access::{
    ApprovalRow, AttemptCounts, AuditFilter, AuditRow, NOTIFICATION_KINDS, NotificationPrefRow,
    NotificationRow, OtpChallengeRow, POINT_TYPES, PhoneBindingRow, PolicyVersionRow,
    ServicePointRow, SessionRow, StaffRow, UnitClerkRow,
};
use anju_store::{Backend, Store, StoreError};
use anju_testkit::{TestDb, for_each_backend};
use jiff::Timestamp;
use jiff::civil::Date;

const C: &str = "330800000000000";
/// Another centre, whose rows must never show up in `C`'s.
const OTHER: &str = "330100000000000";
const DAY: &str = "2026-03-02";
const ID: &str = "330802199001010011";
const ID2: &str = "330802199202020022";
const T0: i64 = 1_772_416_800_000_000;
const SEC: i64 = 1_000_000;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn setup(s: &dyn Store) {
    let now: Timestamp = "2026-03-02T02:00:00Z".parse().unwrap();
    open_centre(s, C, "衢州市住房公积金管理中心", d(DAY), now).unwrap();
    open_centre(s, OTHER, "杭州住房公积金管理中心", d(DAY), now).unwrap();
}

/// The `what` of a `Conflict`.
fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Err(StoreError::Conflict { what }) => what,
        other => panic!("expected Conflict, got {other:?}"),
    }
}

fn not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(
        matches!(r, Err(StoreError::NotFound { .. })),
        "expected NotFound, got {r:?}"
    );
}

fn raw_exec(db: &TestDb, sql: &str) -> Result<u64, String> {
    match db.backend {
        Backend::Sqlite => {
            let path = db.url.strip_prefix("sqlite://").unwrap();
            let c = rusqlite::Connection::open(path).unwrap();
            c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
            c.execute(sql, [])
                .map(|n| n as u64)
                .map_err(|e| e.to_string())
        }
        Backend::Postgres => {
            let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
            c.execute(sql, &[]).map_err(|e| e.to_string())
        }
    }
}

fn point(code: &str, point_type: &str) -> ServicePointRow {
    ServicePointRow {
        code: code.into(),
        name: format!("网点 {code}"),
        point_type: point_type.into(),
        county: "柯城区".into(),
        town: "府山街道".into(),
        village: None,
        bank_code: None,
        businesses: "withdrawal,loan".into(),
        status: "open".into(),
        opened_on: d("2025-01-01"),
        closed_on: None,
    }
}

fn staff(id: &str, point: &str) -> StaffRow {
    StaffRow {
        staff_id: id.into(),
        name: "王芳".into(),
        role: "teller".into(),
        service_point: point.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        password_changed_at_us: T0,
        totp_secret: None,
        totp_last_step: None,
        failed_attempts: 0,
        locked_until_us: None,
        status: "active".into(),
        created_at_us: T0,
    }
}

fn clerk(unit: &str, id: &str, at: i64) -> UnitClerkRow {
    UnitClerkRow {
        unit_no: unit.into(),
        id_number: id.into(),
        name: "李明".into(),
        phone: "13800000001".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$Y2xlcms".into(),
        password_changed_at_us: at,
        failed_attempts: 0,
        locked_until_us: None,
        authorised_at_us: at,
        revoked_at_us: None,
    }
}

fn otp(phone: &str, purpose: &str, at: i64) -> OtpChallengeRow {
    OtpChallengeRow {
        id: 0,
        phone: phone.into(),
        purpose: purpose.into(),
        code_hash: format!("hash-{at}"),
        created_at_us: at,
        expires_at_us: at + 300 * SEC,
        attempts: 0,
        consumed_at_us: None,
    }
}

fn session(token: &str, kind: &str, subject: &str, at: i64) -> SessionRow {
    SessionRow {
        token_hash: token.into(),
        subject_kind: kind.into(),
        subject_id: subject.into(),
        role: kind.into(),
        service_point: "online".into(),
        channel: "web".into(),
        device: "Firefox on Linux".into(),
        created_at_us: at,
        last_seen_at_us: at,
        expires_at_us: at + 1800 * SEC,
        revoked_at_us: None,
    }
}

/// Audit row `seq` chained after `prev` (a stand-in hash: the store only compares).
fn audit(seq: i64, prev: &str, actor: &str, subject: Option<&str>, action: &str) -> AuditRow {
    AuditRow {
        seq,
        at_us: T0 + seq * SEC,
        actor: actor.into(),
        actor_role: "teller".into(),
        service_point: "hall-kecheng".into(),
        channel: "counter".into(),
        action: action.into(),
        business: Some("withdrawal".into()),
        subject_id: subject.map(Into::into),
        subject_unit: None,
        object: Some(format!("W-{seq}")),
        outcome: "ok".into(),
        detail: "{}".into(),
        prev_hash: prev.into(),
        entry_hash: format!("h{seq}"),
    }
}

fn notification(person: &str, kind: &str, at: i64) -> NotificationRow {
    NotificationRow {
        id: 0,
        id_number: person.into(),
        kind: kind.into(),
        body: "您的公积金账户余额变动".into(),
        created_at_us: at,
        status: "pending".into(),
        sent_at_us: None,
        error: None,
    }
}

fn approval(object: &str, maker: &str) -> ApprovalRow {
    ApprovalRow {
        id: 0,
        business: "loan".into(),
        object: object.into(),
        payload: r#"{"rate_units":28500000}"#.into(),
        maker: maker.into(),
        made_at_us: T0,
        checker: None,
        checked_at_us: None,
        decision: "pending".into(),
        reason: None,
    }
}

#[test]
fn service_points_round_trip_filter_and_close_once() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        let mut all = Vec::new();
        for (i, t) in POINT_TYPES.iter().enumerate() {
            all.push(point(&format!("P{i}"), t));
        }
        all[1].bank_code = Some("105".into());
        all[4].village = Some("石室村".into());
        for p in &all {
            tx.insert_service_point(C, p).unwrap();
        }
        tx.insert_service_point(OTHER, &all[0]).unwrap();
        let what = conflict(tx.insert_service_point(C, &point("P0", "online")));
        assert!(what.contains("P0"), "{b}: {what}");
        tx.commit().unwrap();

        // Closed without a date, or of an unknown type: refused by the schema.
        let closed_undated = ServicePointRow {
            status: "closed".into(),
            ..point("PX", "online")
        };
        for bad in [closed_undated, point("PY", "kiosk")] {
            let mut tx = s.begin().unwrap();
            let r = tx.insert_service_point(C, &bad);
            assert!(matches!(r, Err(StoreError::Database { .. })), "{b}: {r:?}");
        }

        let mut tx = s.begin().unwrap();
        assert_eq!(tx.service_point(C, "P1").unwrap(), Some(all[1].clone()));
        assert_eq!(tx.service_point(C, "P4").unwrap(), Some(all[4].clone()));
        assert_eq!(tx.service_point(C, "PZ").unwrap(), None);
        assert_eq!(tx.service_points(C, None, None).unwrap(), all, "{b}");
        assert_eq!(
            tx.service_points(C, Some("hotline"), None).unwrap(),
            [all[6].clone()]
        );
        tx.set_point_businesses(C, "P0", "withdrawal").unwrap();
        not_found(tx.set_point_businesses(C, "PZ", "x"));
        tx.close_service_point(C, "P0", d("2026-03-01")).unwrap();
        let what = conflict(tx.close_service_point(C, "P0", d("2026-03-02")));
        assert!(what.contains("closed"), "{b}: {what}");
        not_found(tx.close_service_point(C, "PZ", d(DAY)));
        let closed = tx.service_point(C, "P0").unwrap().unwrap();
        assert_eq!(closed.status, "closed");
        assert_eq!(closed.closed_on, Some(d("2026-03-01")));
        assert_eq!(closed.businesses, "withdrawal");
        assert_eq!(
            tx.service_points(C, None, Some("closed")).unwrap(),
            [closed]
        );
        assert!(
            tx.service_points(C, Some("hotline"), Some("closed"))
                .unwrap()
                .is_empty()
        );
        conflict(tx.reopen_service_point(C, "P1"));
        not_found(tx.reopen_service_point(C, "PZ"));
        tx.reopen_service_point(C, "P0").unwrap();
        let open = tx.service_point(C, "P0").unwrap().unwrap();
        assert_eq!((open.status.as_str(), open.closed_on), ("open", None));
        // The other centre's point is untouched.
        assert_eq!(tx.service_point(OTHER, "P0").unwrap(), Some(all[0].clone()));
        tx.commit().unwrap();

        for sql in [
            "DELETE FROM service_points",
            "UPDATE service_points SET opened_on = '2020-01-01'",
            "UPDATE service_points SET point_type = 'online' WHERE code = 'P0'",
        ] {
            assert!(raw_exec(db, sql).is_err(), "{b}: {sql} was allowed");
        }
    });
}

#[test]
fn staff_and_clerks_round_trip_and_track_failures() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        tx.insert_service_point(C, &point("H1", "centre_hall"))
            .unwrap();
        tx.insert_service_point(C, &point("H2", "bank_branch"))
            .unwrap();
        let k1 = staff("K001", "H1");
        let k2 = StaffRow {
            totp_secret: Some("JBSWY3DPEHPK3PXP".into()),
            totp_last_step: Some(59_000_000),
            failed_attempts: 2,
            locked_until_us: Some(T0 + 900 * SEC),
            status: "disabled".into(),
            ..staff("K002", "H2")
        };
        tx.insert_staff(C, &k2).unwrap();
        tx.insert_staff(C, &k1).unwrap();
        conflict(tx.insert_staff(C, &k1));
        tx.commit().unwrap();
        // A point that does not exist (in this centre).
        let mut tx = s.begin().unwrap();
        assert!(matches!(
            tx.insert_staff(OTHER, &k1),
            Err(StoreError::Database { .. })
        ));
        drop(tx);

        let mut tx = s.begin().unwrap();
        assert_eq!(tx.staff(C, "K001").unwrap(), Some(k1.clone()), "{b}");
        assert_eq!(tx.staff(C, "K002").unwrap(), Some(k2.clone()), "{b}");
        assert_eq!(tx.staff(OTHER, "K001").unwrap(), None);
        assert_eq!(tx.staff_list(C, None).unwrap(), [k1.clone(), k2.clone()]);
        assert_eq!(tx.staff_list(C, Some("H2")).unwrap(), [k2]);

        // Failures count up and lock at the third.
        assert_eq!(
            tx.record_staff_failure(C, "K001", 3, T0 + 60 * SEC)
                .unwrap(),
            1
        );
        assert_eq!(
            tx.record_staff_failure(C, "K001", 3, T0 + 60 * SEC)
                .unwrap(),
            2
        );
        assert_eq!(tx.staff(C, "K001").unwrap().unwrap().locked_until_us, None);
        assert_eq!(
            tx.record_staff_failure(C, "K001", 3, T0 + 60 * SEC)
                .unwrap(),
            3
        );
        let k = tx.staff(C, "K001").unwrap().unwrap();
        assert_eq!(
            (k.failed_attempts, k.locked_until_us),
            (3, Some(T0 + 60 * SEC))
        );
        not_found(tx.record_staff_failure(C, "K999", 3, T0));
        // Success clears them and records the TOTP step; a step not after the last is a
        // replay.
        tx.record_staff_success(C, "K001", None).unwrap();
        let k = tx.staff(C, "K001").unwrap().unwrap();
        assert_eq!((k.failed_attempts, k.locked_until_us), (0, None));
        tx.set_staff_totp(C, "K001", Some("GEZDGNBVGY3TQOJQ"))
            .unwrap();
        tx.record_staff_success(C, "K001", Some(100)).unwrap();
        tx.record_staff_failure(C, "K001", 3, T0).unwrap();
        let what = conflict(tx.record_staff_success(C, "K001", Some(100)));
        assert!(what.contains("K001"), "{b}: {what}");
        let k = tx.staff(C, "K001").unwrap().unwrap();
        assert_eq!((k.failed_attempts, k.totp_last_step), (1, Some(100)));
        tx.record_staff_success(C, "K001", Some(101)).unwrap();
        not_found(tx.record_staff_success(C, "K999", None));
        // Enrolling again forgets the last step.
        tx.set_staff_totp(C, "K001", Some("NEWSECRET")).unwrap();
        let k = tx.staff(C, "K001").unwrap().unwrap();
        assert_eq!(
            (k.totp_secret.as_deref(), k.totp_last_step),
            (Some("NEWSECRET"), None)
        );
        // Password, role, point.
        tx.record_staff_failure(C, "K001", 1, T0 + SEC).unwrap();
        tx.set_staff_password(C, "K001", "$argon2id$new", T0 + 5 * SEC)
            .unwrap();
        tx.set_staff_role(C, "K001", "supervisor").unwrap();
        tx.set_staff_point(C, "K001", "H2").unwrap();
        let k = tx.staff(C, "K001").unwrap().unwrap();
        assert_eq!(
            k,
            StaffRow {
                role: "supervisor".into(),
                service_point: "H2".into(),
                password_hash: "$argon2id$new".into(),
                password_changed_at_us: T0 + 5 * SEC,
                totp_secret: Some("NEWSECRET".into()),
                ..k1.clone()
            },
            "{b}"
        );
        not_found(tx.set_staff_password(C, "K999", "x", T0));
        not_found(tx.set_staff_role(C, "K999", "x"));
        not_found(tx.set_staff_point(C, "K999", "H1"));
        not_found(tx.set_staff_totp(C, "K999", None));
        tx.disable_staff(C, "K001").unwrap();
        conflict(tx.disable_staff(C, "K001"));
        not_found(tx.disable_staff(C, "K999"));
        assert_eq!(tx.staff(C, "K001").unwrap().unwrap().status, "disabled");
        tx.commit().unwrap();
        // Moving to a point that does not exist.
        let mut tx = s.begin().unwrap();
        assert!(matches!(
            tx.set_staff_point(C, "K001", "NOWHERE"),
            Err(StoreError::Database { .. })
        ));
        drop(tx);

        // Unit clerks.
        let mut tx = s.begin().unwrap();
        let c1 = clerk("U001", ID, T0);
        let c2 = UnitClerkRow {
            failed_attempts: 4,
            locked_until_us: Some(T0 + SEC),
            ..clerk("U001", ID2, T0 + 1)
        };
        tx.insert_unit_clerk(C, &c2).unwrap();
        tx.insert_unit_clerk(C, &c1).unwrap();
        tx.insert_unit_clerk(C, &clerk("U002", ID, T0)).unwrap();
        let what = conflict(tx.insert_unit_clerk(C, &c1));
        assert!(what.contains("U001"), "{b}: {what}");
        assert_eq!(tx.unit_clerk(C, "U001", ID).unwrap(), Some(c1.clone()));
        assert_eq!(tx.unit_clerk(OTHER, "U001", ID).unwrap(), None);
        assert_eq!(
            tx.unit_clerks(C, "U001").unwrap(),
            [c1.clone(), c2.clone()],
            "{b}"
        );
        assert_eq!(
            tx.record_unit_clerk_failure(C, "U001", ID, 2, T0 + 9)
                .unwrap(),
            1
        );
        assert_eq!(
            tx.record_unit_clerk_failure(C, "U001", ID, 2, T0 + 9)
                .unwrap(),
            2
        );
        assert_eq!(
            tx.unit_clerk(C, "U001", ID)
                .unwrap()
                .unwrap()
                .locked_until_us,
            Some(T0 + 9)
        );
        tx.record_unit_clerk_success(C, "U001", ID).unwrap();
        assert_eq!(tx.unit_clerk(C, "U001", ID).unwrap(), Some(c1.clone()));
        tx.set_unit_clerk_password(C, "U001", ID2, "$argon2id$p2", T0 + 7)
            .unwrap();
        let c = tx.unit_clerk(C, "U001", ID2).unwrap().unwrap();
        assert_eq!(
            (
                c.password_hash.as_str(),
                c.password_changed_at_us,
                c.failed_attempts,
                c.locked_until_us
            ),
            ("$argon2id$p2", T0 + 7, 0, None)
        );
        not_found(tx.record_unit_clerk_failure(C, "U009", ID, 2, T0));
        not_found(tx.record_unit_clerk_success(C, "U009", ID));
        not_found(tx.set_unit_clerk_password(C, "U009", ID, "x", T0));
        tx.revoke_unit_clerk(C, "U001", ID, T0 + 100).unwrap();
        conflict(tx.revoke_unit_clerk(C, "U001", ID, T0 + 200));
        not_found(tx.revoke_unit_clerk(C, "U009", ID, T0));
        assert_eq!(
            tx.unit_clerk(C, "U001", ID).unwrap().unwrap().revoked_at_us,
            Some(T0 + 100)
        );
        // A revoked clerk may be authorised again.
        let again = clerk("U001", ID, T0 + 500);
        tx.insert_unit_clerk(C, &again).unwrap();
        assert_eq!(tx.unit_clerk(C, "U001", ID).unwrap(), Some(again));
        tx.commit().unwrap();

        for sql in [
            "DELETE FROM staff",
            "UPDATE staff SET created_at_us = 1",
            "DELETE FROM unit_clerks",
            "UPDATE unit_clerks SET unit_no = 'U777'",
        ] {
            assert!(raw_exec(db, sql).is_err(), "{b}: {sql} was allowed");
        }
    });
}

#[test]
fn phones_bind_one_to_one() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        let first = PhoneBindingRow {
            id_number: ID.into(),
            phone: "13800000001".into(),
            bound_at_us: T0,
            bound_by: format!("member:{ID}"),
        };
        tx.bind_phone(C, &first).unwrap();
        tx.bind_phone(OTHER, &first).unwrap();
        assert_eq!(
            tx.phone_binding(C, "13800000001").unwrap(),
            Some(first.clone())
        );
        assert_eq!(tx.phone_of_person(C, ID).unwrap(), Some(first.clone()));
        assert_eq!(tx.phone_of_person(C, ID2).unwrap(), None);
        // Another person's phone: refused, nothing changed, the transaction carries on.
        let what = conflict(tx.bind_phone(
            C,
            &PhoneBindingRow {
                id_number: ID2.into(),
                ..first.clone()
            },
        ));
        assert!(what.contains("13800000001"), "{b}: {what}");
        assert_eq!(tx.phone_of_person(C, ID2).unwrap(), None);
        // Binding a new phone replaces the person's old one.
        let second = PhoneBindingRow {
            phone: "13900000002".into(),
            bound_at_us: T0 + SEC,
            bound_by: "staff:K001".into(),
            ..first.clone()
        };
        tx.bind_phone(C, &second).unwrap();
        assert_eq!(tx.phone_binding(C, "13800000001").unwrap(), None);
        assert_eq!(
            tx.phone_binding(C, "13900000002").unwrap(),
            Some(second.clone())
        );
        assert_eq!(tx.phone_of_person(C, ID).unwrap(), Some(second.clone()));
        // The freed phone may go to another person.
        let other_person = PhoneBindingRow {
            id_number: ID2.into(),
            ..first.clone()
        };
        tx.bind_phone(C, &other_person).unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        assert!(tx.unbind_phone(C, ID).unwrap());
        assert!(!tx.unbind_phone(C, ID).unwrap());
        assert_eq!(tx.phone_of_person(C, ID).unwrap(), None);
        assert_eq!(
            tx.phone_binding(C, "13800000001").unwrap(),
            Some(other_person)
        );
        assert_eq!(tx.phone_of_person(OTHER, ID).unwrap(), Some(first), "{b}");
        tx.commit().unwrap();
    });
}

#[test]
fn one_time_codes_are_consumed_once() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let phone = "13800000001";
        let mut tx = s.begin().unwrap();
        let a = tx.insert_otp(C, &otp(phone, "login", T0)).unwrap();
        let bind = tx.insert_otp(C, &otp(phone, "bind", T0 + SEC)).unwrap();
        let c = tx
            .insert_otp(C, &otp(phone, "login", T0 + 2 * SEC))
            .unwrap();
        let elsewhere = tx
            .insert_otp(OTHER, &otp(phone, "login", T0 + 3 * SEC))
            .unwrap();
        assert!(a < bind && bind < c && c < elsewhere, "{b}");
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        // The latest open code for the purpose.
        let open = tx
            .open_otp(C, phone, "login", T0 + 10 * SEC)
            .unwrap()
            .unwrap();
        assert_eq!(
            open,
            OtpChallengeRow {
                id: c,
                ..otp(phone, "login", T0 + 2 * SEC)
            },
            "{b}"
        );
        assert_eq!(
            tx.open_otp(C, phone, "bind", T0 + 10 * SEC)
                .unwrap()
                .unwrap()
                .id,
            bind
        );
        assert_eq!(tx.open_otp(C, "13900000000", "login", T0).unwrap(), None);
        // Expired at its expiry.
        assert_eq!(
            tx.open_otp(C, phone, "bind", T0 + SEC + 300 * SEC).unwrap(),
            None
        );
        // Sent counts, by window, any purpose.
        assert_eq!(tx.count_otps_since(C, phone, T0).unwrap(), 3);
        assert_eq!(tx.count_otps_since(C, phone, T0 + SEC).unwrap(), 2);
        assert_eq!(tx.count_otps_since(C, phone, T0 + 3 * SEC).unwrap(), 0);
        assert_eq!(tx.count_otps_since(OTHER, phone, T0).unwrap(), 1);
        // Attempts count up; consuming is once.
        assert_eq!(tx.record_otp_attempt(C, c).unwrap(), 1);
        assert_eq!(tx.record_otp_attempt(C, c).unwrap(), 2);
        not_found(tx.record_otp_attempt(C, 999_999));
        not_found(tx.record_otp_attempt(C, elsewhere));
        tx.consume_otp(C, c, T0 + 20 * SEC).unwrap();
        let what = conflict(tx.consume_otp(C, c, T0 + 21 * SEC));
        assert!(what.contains("used"), "{b}: {what}");
        conflict(tx.record_otp_attempt(C, c));
        not_found(tx.consume_otp(C, 999_999, T0));
        // The earlier login code is now the open one.
        assert_eq!(
            tx.open_otp(C, phone, "login", T0 + 30 * SEC)
                .unwrap()
                .unwrap()
                .id,
            a
        );
        tx.commit().unwrap();

        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.open_otp(C, phone, "login", T0).unwrap().unwrap().id, a);
        drop(tx);
        // A consumed code never changes again, even by raw SQL.
        for sql in [
            &format!("UPDATE otp_challenges SET consumed_at_us = NULL WHERE id = {c}"),
            &format!("UPDATE otp_challenges SET attempts = 0 WHERE id = {c}"),
            &format!("UPDATE otp_challenges SET code_hash = 'x' WHERE id = {a}"),
        ] {
            assert!(raw_exec(db, sql).is_err(), "{b}: {sql} was allowed");
        }
        let mut tx = s.begin().unwrap();
        let bad = OtpChallengeRow {
            purpose: "reset".into(),
            ..otp(phone, "login", T0)
        };
        assert!(matches!(
            tx.insert_otp(C, &bad),
            Err(StoreError::Database { .. })
        ));
    });
}

#[test]
fn sessions_devices_and_attempts() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        let s1 = session("t1", "member", ID, T0);
        let s2 = session("t2", "member", ID, T0 + SEC);
        let s3 = SessionRow {
            role: "supervisor".into(),
            service_point: "H1".into(),
            channel: "counter".into(),
            revoked_at_us: Some(T0 + 9),
            ..session("t3", "staff", "K001", T0)
        };
        for r in [&s1, &s2, &s3] {
            tx.insert_session(C, r).unwrap();
        }
        tx.insert_session(OTHER, &s1).unwrap();
        conflict(tx.insert_session(C, &s1));
        assert!(matches!(
            tx.insert_session(C, &session("t4", "robot", "x", T0)),
            Err(StoreError::Database { .. })
        ));
        drop(tx);
        let mut tx = s.begin().unwrap();
        for r in [&s1, &s2, &s3] {
            tx.insert_session(C, r).unwrap();
        }
        tx.insert_session(OTHER, &s1).unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        assert_eq!(tx.session(C, "t3").unwrap(), Some(s3.clone()), "{b}");
        assert_eq!(tx.session(C, "t9").unwrap(), None);
        assert_eq!(
            tx.sessions_of(C, "member", ID).unwrap(),
            [s2.clone(), s1.clone()]
        );
        tx.touch_session(C, "t1", T0 + 60 * SEC).unwrap();
        assert_eq!(
            tx.session(C, "t1").unwrap().unwrap().last_seen_at_us,
            T0 + 60 * SEC
        );
        not_found(tx.touch_session(C, "t9", T0));
        conflict(tx.touch_session(C, "t3", T0));
        tx.revoke_session(C, "t1", T0 + 61 * SEC).unwrap();
        conflict(tx.revoke_session(C, "t1", T0 + 62 * SEC));
        conflict(tx.touch_session(C, "t1", T0 + 62 * SEC));
        not_found(tx.revoke_session(C, "t9", T0));
        assert_eq!(
            tx.session(C, "t1").unwrap().unwrap().revoked_at_us,
            Some(T0 + 61 * SEC)
        );
        // Revoking all of a subject's: only the live ones, only theirs.
        assert_eq!(
            tx.revoke_sessions_of(C, "member", ID, T0 + 70 * SEC)
                .unwrap(),
            1
        );
        assert_eq!(
            tx.revoke_sessions_of(C, "member", ID, T0 + 71 * SEC)
                .unwrap(),
            0
        );
        assert_eq!(
            tx.session(C, "t2").unwrap().unwrap().revoked_at_us,
            Some(T0 + 70 * SEC)
        );
        assert_eq!(
            tx.session(C, "t1").unwrap().unwrap().revoked_at_us,
            Some(T0 + 61 * SEC)
        );
        assert_eq!(tx.session(OTHER, "t1").unwrap(), Some(s1.clone()));

        // Known devices: new once per subject.
        assert!(tx.remember_device(C, "member", ID, "dev-a", T0).unwrap());
        assert!(
            !tx.remember_device(C, "member", ID, "dev-a", T0 + 1)
                .unwrap()
        );
        assert!(tx.remember_device(C, "member", ID, "dev-b", T0).unwrap());
        assert!(tx.remember_device(C, "staff", ID, "dev-a", T0).unwrap());
        assert!(tx.remember_device(C, "member", ID2, "dev-a", T0).unwrap());
        assert!(
            tx.remember_device(OTHER, "member", ID, "dev-a", T0)
                .unwrap()
        );

        // Sign-in attempts, counted by window.
        for (i, ok) in [false, false, true, false].into_iter().enumerate() {
            tx.insert_login_attempt(C, "phone:13800000001", T0 + i as i64 * SEC, ok)
                .unwrap();
        }
        tx.insert_login_attempt(C, "ip:10.0.0.1", T0, false)
            .unwrap();
        tx.insert_login_attempt(OTHER, "phone:13800000001", T0, false)
            .unwrap();
        assert_eq!(
            tx.count_login_attempts(C, "phone:13800000001", T0).unwrap(),
            AttemptCounts {
                attempts: 4,
                failures: 3
            },
            "{b}"
        );
        assert_eq!(
            tx.count_login_attempts(C, "phone:13800000001", T0 + 2 * SEC)
                .unwrap(),
            AttemptCounts {
                attempts: 2,
                failures: 1
            }
        );
        assert_eq!(
            tx.count_login_attempts(C, "phone:13800000001", T0 + 4 * SEC)
                .unwrap(),
            AttemptCounts::default()
        );
        assert_eq!(
            tx.count_login_attempts(C, "staff:K001", T0).unwrap(),
            AttemptCounts::default()
        );
        assert_eq!(tx.prune_login_attempts(C, T0 + 2 * SEC).unwrap(), 3);
        assert_eq!(
            tx.count_login_attempts(C, "phone:13800000001", 0).unwrap(),
            AttemptCounts {
                attempts: 2,
                failures: 1
            }
        );
        assert_eq!(
            tx.count_login_attempts(OTHER, "phone:13800000001", 0)
                .unwrap()
                .attempts,
            1
        );
        tx.commit().unwrap();

        for sql in [
            "UPDATE sessions SET revoked_at_us = NULL WHERE token_hash = 't1'",
            "UPDATE sessions SET subject_id = 'x' WHERE token_hash = 't2'",
            "UPDATE known_devices SET device = 'x'",
            "DELETE FROM known_devices",
        ] {
            assert!(raw_exec(db, sql).is_err(), "{b}: {sql} was allowed");
        }
    });
}

#[test]
fn the_audit_log_is_a_gapless_append_only_chain() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        assert_eq!(tx.audit_head(C).unwrap(), None);
        let mut rows = vec![audit(1, "genesis", "staff:K001", Some(ID), "view")];
        rows.push(AuditRow {
            business: None,
            subject_id: None,
            subject_unit: Some("U001".into()),
            object: None,
            outcome: "denied".into(),
            ..audit(2, "h1", "staff:K002", None, "export")
        });
        rows.push(audit(3, "h2", "staff:K001", Some(ID2), "view"));
        rows.push(audit(4, "h3", "member:X", Some(ID), "login"));
        rows.push(audit(5, "h4", "staff:K002", Some(ID), "view"));
        for r in &rows {
            tx.append_audit(C, r).unwrap();
        }
        tx.append_audit(OTHER, &rows[0]).unwrap();
        assert_eq!(tx.audit_head(C).unwrap(), Some((5, "h5".to_owned())), "{b}");
        // Taken seq (a racing writer): Conflict, and the transaction carries on.
        let what = conflict(tx.append_audit(C, &audit(5, "h4", "staff:K009", None, "view")));
        assert!(what.contains('5'), "{b}: {what}");
        tx.commit().unwrap();

        // Out of the chain: a gap, or the wrong previous hash.
        for bad in [
            audit(7, "h6", "staff:K001", None, "view"),
            audit(6, "h4", "staff:K001", None, "view"),
        ] {
            let mut tx = s.begin().unwrap();
            let r = tx.append_audit(C, &bad);
            assert!(matches!(r, Err(StoreError::Database { .. })), "{b}: {r:?}");
        }
        let mut tx = s.begin().unwrap();
        tx.append_audit(C, &audit(6, "h5", "staff:K001", None, "view"))
            .unwrap();
        rows.push(audit(6, "h5", "staff:K001", None, "view"));
        tx.commit().unwrap();

        let mut tx = s.begin_read().unwrap();
        // Pages in order.
        assert_eq!(tx.audit_range(C, 0, 4).unwrap(), rows[..4], "{b}");
        assert_eq!(tx.audit_range(C, 4, 100).unwrap(), rows[4..]);
        assert!(tx.audit_range(C, 6, 10).unwrap().is_empty());
        assert_eq!(tx.audit_range(OTHER, 0, 10).unwrap(), rows[..1]);
        // Search: newest first, filtered, paged by seq.
        let any = AuditFilter::default();
        let seqs = |v: Vec<AuditRow>| v.into_iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(tx.search_audit(C, &any, None, 100).unwrap()),
            [6, 5, 4, 3, 2, 1]
        );
        assert_eq!(seqs(tx.search_audit(C, &any, Some(4), 2).unwrap()), [3, 2]);
        let by_actor = AuditFilter {
            actor: Some("staff:K001".into()),
            ..AuditFilter::default()
        };
        assert_eq!(
            seqs(tx.search_audit(C, &by_actor, None, 100).unwrap()),
            [6, 3, 1]
        );
        let by_person = AuditFilter {
            subject_id: Some(ID.into()),
            action: Some("view".into()),
            ..AuditFilter::default()
        };
        assert_eq!(
            seqs(tx.search_audit(C, &by_person, None, 100).unwrap()),
            [5, 1]
        );
        let by_time = AuditFilter {
            from_us: Some(T0 + 2 * SEC),
            to_us: Some(T0 + 5 * SEC),
            ..AuditFilter::default()
        };
        assert_eq!(
            seqs(tx.search_audit(C, &by_time, None, 100).unwrap()),
            [4, 3, 2]
        );
        assert_eq!(
            tx.search_audit(C, &any, None, 100).unwrap()[4],
            rows[1],
            "{b}"
        );
        assert_eq!(
            seqs(tx.audit_of_person(C, ID, None, 100).unwrap()),
            [5, 4, 1]
        );
        assert_eq!(seqs(tx.audit_of_person(C, ID, Some(5), 1).unwrap()), [4]);
        assert!(tx.audit_of_person(OTHER, ID2, None, 10).unwrap().is_empty());
        drop(tx);

        // Append-only, even by raw SQL.
        for sql in [
            "UPDATE audit_log SET detail = 'x'",
            "UPDATE audit_log SET outcome = 'allowed' WHERE seq = 2",
            "DELETE FROM audit_log",
            "DELETE FROM audit_log WHERE seq = 6",
        ] {
            assert!(raw_exec(db, sql).is_err(), "{b}: {sql} was allowed");
        }
        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.audit_range(C, 0, 100).unwrap(), rows, "{b}");
    });
}

#[test]
fn notifications_prefs_and_the_cursor() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        assert!(tx.notification_prefs(C, ID).unwrap().is_empty());
        for kind in NOTIFICATION_KINDS {
            tx.set_notification_pref(
                C,
                &NotificationPrefRow {
                    id_number: ID.into(),
                    kind: kind.into(),
                    enabled: true,
                },
            )
            .unwrap();
        }
        let off = NotificationPrefRow {
            id_number: ID.into(),
            kind: "balance_change".into(),
            enabled: false,
        };
        tx.set_notification_pref(C, &off).unwrap();
        let prefs = tx.notification_prefs(C, ID).unwrap();
        assert_eq!(
            prefs
                .iter()
                .map(|p| (p.kind.as_str(), p.enabled))
                .collect::<Vec<_>>(),
            [
                ("application_status", true),
                ("balance_change", false),
                ("new_device_login", true)
            ],
            "{b}"
        );
        assert!(tx.notification_prefs(OTHER, ID).unwrap().is_empty());

        let n1 = tx
            .insert_notification(C, &notification(ID, "balance_change", T0))
            .unwrap();
        let n2 = tx
            .insert_notification(C, &notification(ID2, "new_device_login", T0 + 1))
            .unwrap();
        let n3 = tx
            .insert_notification(C, &notification(ID, "application_status", T0 + 2))
            .unwrap();
        let n4 = tx
            .insert_notification(C, &notification(ID, "balance_change", T0 + 3))
            .unwrap();
        tx.insert_notification(OTHER, &notification(ID, "balance_change", T0))
            .unwrap();
        let pending: Vec<i64> = tx
            .pending_notifications(C, 10)
            .unwrap()
            .into_iter()
            .map(|n| n.id)
            .collect();
        assert_eq!(pending, [n1, n2, n3, n4], "{b}");
        assert_eq!(
            tx.pending_notifications(C, 1).unwrap(),
            [NotificationRow {
                id: n1,
                ..notification(ID, "balance_change", T0)
            }]
        );
        tx.finish_notification(C, n1, "sent", T0 + 10, None)
            .unwrap();
        tx.finish_notification(C, n2, "failed", T0 + 11, Some("sms gateway: 503"))
            .unwrap();
        tx.finish_notification(C, n3, "skipped", T0 + 12, Some("turned off"))
            .unwrap();
        let what = conflict(tx.finish_notification(C, n1, "failed", T0 + 13, None));
        assert!(what.contains("pending"), "{b}: {what}");
        not_found(tx.finish_notification(C, 999_999, "sent", T0, None));
        let pending: Vec<i64> = tx
            .pending_notifications(C, 10)
            .unwrap()
            .into_iter()
            .map(|n| n.id)
            .collect();
        assert_eq!(pending, [n4]);
        let mine = tx.notifications_of(C, ID, 10).unwrap();
        assert_eq!(
            mine.iter().map(|n| n.id).collect::<Vec<_>>(),
            [n4, n3, n1],
            "{b}"
        );
        assert_eq!(
            mine[2],
            NotificationRow {
                id: n1,
                status: "sent".into(),
                sent_at_us: Some(T0 + 10),
                ..notification(ID, "balance_change", T0)
            }
        );
        assert_eq!(
            (
                mine[1].status.as_str(),
                mine[1].sent_at_us,
                mine[1].error.as_deref()
            ),
            ("skipped", None, Some("turned off"))
        );
        assert_eq!(tx.notifications_of(C, ID, 1).unwrap().len(), 1);
        // Kinds and statuses are the schema's.
        tx.commit().unwrap();
        let mut tx = s.begin().unwrap();
        assert!(matches!(
            tx.insert_notification(C, &notification(ID, "marketing", T0)),
            Err(StoreError::Database { .. })
        ));
        drop(tx);
        assert!(
            raw_exec(
                db,
                &format!("UPDATE notifications SET status = 'pending' WHERE id = {n1}")
            )
            .is_err(),
            "{b}: a sent notification was made pending again"
        );

        // The cursor: 0 before any, then where it was set, per centre.
        let mut tx = s.begin().unwrap();
        assert_eq!(tx.notify_cursor(C).unwrap(), 0);
        tx.set_notify_cursor(C, 17).unwrap();
        tx.set_notify_cursor(C, 42).unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.notify_cursor(C).unwrap(), 42, "{b}");
        assert_eq!(tx.notify_cursor(OTHER).unwrap(), 0);
    });
}

#[test]
fn approvals_are_decided_once_by_someone_else() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        let a1 = tx
            .insert_approval(C, &approval("L-1", "staff:K001"))
            .unwrap();
        let a2 = tx
            .insert_approval(
                C,
                &ApprovalRow {
                    business: "withdrawal".into(),
                    ..approval("W-1", "staff:K002")
                },
            )
            .unwrap();
        let a3 = tx
            .insert_approval(C, &approval("L-2", "staff:K001"))
            .unwrap();
        let elsewhere = tx
            .insert_approval(OTHER, &approval("L-1", "staff:K001"))
            .unwrap();
        assert_eq!(
            tx.approval(C, a1).unwrap(),
            Some(ApprovalRow {
                id: a1,
                ..approval("L-1", "staff:K001")
            }),
            "{b}"
        );
        assert_eq!(tx.approval(C, elsewhere).unwrap(), None);
        let ids = |v: Vec<ApprovalRow>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
        assert_eq!(ids(tx.pending_approvals(C, None).unwrap()), [a1, a2, a3]);
        assert_eq!(
            ids(tx.pending_approvals(C, Some("loan")).unwrap()),
            [a1, a3]
        );

        // The maker may not check: refused by the schema, nothing changed, and the
        // transaction carries on.
        let r = tx.decide_approval(C, a1, "approved", "staff:K001", T0 + 1, None);
        assert!(matches!(r, Err(StoreError::Database { .. })), "{b}: {r:?}");
        assert_eq!(tx.approval(C, a1).unwrap().unwrap().decision, "pending");
        tx.decide_approval(C, a1, "approved", "staff:K003", T0 + 2, None)
            .unwrap();
        tx.decide_approval(C, a2, "rejected", "staff:K003", T0 + 3, Some("资料不全"))
            .unwrap();
        let what = conflict(tx.decide_approval(C, a1, "rejected", "staff:K004", T0 + 4, None));
        assert!(what.contains("decided"), "{b}: {what}");
        not_found(tx.decide_approval(C, 999_999, "approved", "staff:K003", T0, None));
        not_found(tx.decide_approval(C, elsewhere, "approved", "staff:K003", T0, None));
        tx.commit().unwrap();

        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.approval(C, a2).unwrap(),
            Some(ApprovalRow {
                id: a2,
                business: "withdrawal".into(),
                checker: Some("staff:K003".into()),
                checked_at_us: Some(T0 + 3),
                decision: "rejected".into(),
                reason: Some("资料不全".into()),
                ..approval("W-1", "staff:K002")
            }),
            "{b}"
        );
        assert_eq!(ids(tx.pending_approvals(C, None).unwrap()), [a3]);
        drop(tx);

        // A decided approval never changes, nor what was asked; none is deleted.
        for sql in [
            &format!(
                "UPDATE approvals SET decision = 'pending', checker = NULL, checked_at_us = NULL WHERE id = {a1}"
            ),
            &format!("UPDATE approvals SET reason = 'x' WHERE id = {a2}"),
            &format!("UPDATE approvals SET payload = '{{}}' WHERE id = {a3}"),
            "DELETE FROM approvals",
        ] {
            assert!(raw_exec(db, sql).is_err(), "{b}: {sql} was allowed");
        }
        // Decided without a checker: refused by the schema.
        let mut tx = s.begin().unwrap();
        let r = tx.insert_approval(
            C,
            &ApprovalRow {
                decision: "approved".into(),
                ..approval("L-9", "staff:K001")
            },
        );
        assert!(matches!(r, Err(StoreError::Database { .. })), "{b}: {r:?}");
    });
}

#[test]
fn two_writers_racing_for_the_same_audit_seq_one_gets_conflict() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        tx.append_audit(C, &audit(1, "genesis", "system:boot", None, "start"))
            .unwrap();
        tx.commit().unwrap();
        let (appended, wait) = std::sync::mpsc::channel::<()>();
        let second = std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut tx = s.begin().unwrap();
                tx.append_audit(C, &audit(2, "h1", "staff:K001", None, "view"))
                    .unwrap();
                appended.send(()).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(100));
                tx.commit().unwrap();
            });
            let racer = scope.spawn(move || {
                wait.recv().unwrap();
                // Both read head 1 and number their row 2; this one waits for the first
                // writer and then finds its seq taken.
                let mut tx = s.begin().unwrap();
                tx.append_audit(C, &audit(2, "h1", "staff:K002", None, "export"))
            });
            racer.join().unwrap()
        });
        conflict(second);
        let mut tx = s.begin_read().unwrap();
        let rows = tx.audit_range(C, 0, 10).unwrap();
        assert_eq!(rows.len(), 2, "{b}");
        assert_eq!(rows[1].actor, "staff:K001", "{b}");
    });
}

fn policy_version(version: i64, text: &str) -> PolicyVersionRow {
    PolicyVersionRow {
        version,
        sm3: format!("{:064x}", version),
        text: text.into(),
        adopted_at_us: T0 + version * SEC,
        maker: if version == 1 {
            "system:first-start".into()
        } else {
            "staff:m001".into()
        },
        checker: (version > 1).then(|| "staff:m002".to_owned()),
        approval_id: (version > 1).then_some(version * 10),
    }
}

#[test]
fn policy_versions_follow_one_another_and_never_change() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let b = db.backend;
        let mut tx = s.begin().unwrap();
        assert_eq!(tx.current_policy(C).unwrap(), None, "{b}");
        assert!(tx.policy_versions(C).unwrap().is_empty(), "{b}");
        // A gap is refused by the schema; the transaction carries on.
        let r = tx.insert_policy_version(C, &policy_version(2, "[centre]\nv = 2\n"));
        assert!(matches!(r, Err(StoreError::Database { .. })), "{b}: {r:?}");
        tx.insert_policy_version(C, &policy_version(1, "[centre]\nv = 1\n"))
            .unwrap();
        // The same version twice: Conflict, naming it.
        let what = conflict(tx.insert_policy_version(C, &policy_version(1, "other")));
        assert!(what.contains("policy version 1"), "{b}: {what}");
        tx.insert_policy_version(C, &policy_version(2, "[centre]\nv = 2\n"))
            .unwrap();
        // Another centre numbers its own from 1.
        tx.insert_policy_version(OTHER, &policy_version(1, "hangzhou"))
            .unwrap();
        // A later version without a checker, or checked by its maker: refused.
        for bad in [
            PolicyVersionRow {
                checker: None,
                ..policy_version(3, "x")
            },
            PolicyVersionRow {
                approval_id: None,
                ..policy_version(3, "x")
            },
            PolicyVersionRow {
                checker: Some("staff:m001".into()),
                ..policy_version(3, "x")
            },
            PolicyVersionRow {
                sm3: "abc".into(),
                ..policy_version(3, "x")
            },
        ] {
            let r = tx.insert_policy_version(C, &bad);
            assert!(matches!(r, Err(StoreError::Database { .. })), "{b}: {r:?}");
        }
        tx.commit().unwrap();

        let mut tx = s.begin_read().unwrap();
        assert_eq!(
            tx.policy_versions(C).unwrap(),
            [
                policy_version(1, "[centre]\nv = 1\n"),
                policy_version(2, "[centre]\nv = 2\n")
            ],
            "{b}"
        );
        assert_eq!(
            tx.current_policy(C).unwrap(),
            Some(policy_version(2, "[centre]\nv = 2\n")),
            "{b}"
        );
        assert_eq!(
            tx.current_policy(OTHER).unwrap(),
            Some(policy_version(1, "hangzhou")),
            "{b}"
        );
        drop(tx);

        // Append-only, even by raw SQL.
        for sql in [
            "UPDATE policy_versions SET text = 'x' WHERE version = 1",
            "DELETE FROM policy_versions WHERE version = 2",
        ] {
            assert!(raw_exec(db, sql).is_err(), "{b}: {sql} was allowed");
        }
    });
}
