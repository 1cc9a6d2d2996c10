//! Sign-in, sessions and the guard on every backend (issue 8): members by SMS code,
//! staff by password + TOTP with lockout, unit clerks by password; the guard walked over
//! every role × business × point type through real service points, sessions and the
//! audit log; refusals (another member's account, another unit, a station clerk's loan
//! approval) are refused and logged.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::AppError;
use anju_app::access::guard::{self, Target};
use anju_app::access::login::{
    Logins, Origin, Principal, SubjectKind, hash_password, point_type_name, staff_channel,
};
use anju_app::access::views;
use anju_app::identity::LogSms;
use anju_app::ledger::{open_accounts, open_centre};
use anju_app::registry::{NewMember, NewUnit, open_member, register_unit};
use anju_domain::access::{
    Business, PointStatus, PointType, Role, ServicePoint, authorize, base32_encode, totp_code,
};
use anju_domain::codes::Channel;
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::AccountNo;
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_store::Store;
use anju_store::access::{PhoneBindingRow, ServicePointRow, StaffRow, UnitClerkRow};
use anju_testkit::for_each_backend;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

const C: &str = "330800000000000";
const SECRET: &[u8] = b"12345678901234567890";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}
fn t0() -> Timestamp {
    "2026-03-02T02:00:00Z".parse().unwrap()
}
fn policy() -> Policy {
    Policy::from_toml(QUZHOU_POLICY).unwrap()
}
fn clerk_stamp() -> Stamp {
    Stamp {
        operator: "staff:S0001".into(),
        channel: Channel::Counter,
        service_point: "hall".into(),
        on_behalf_of: None,
    }
}

struct World {
    unit_a: String,
    unit_b: String,
    credit_a: String,
    alice: String,
    bob: String,
    carol: String,
}

fn point_row(code: &str, t: PointType, handles: &[Business]) -> ServicePointRow {
    ServicePointRow {
        code: code.into(),
        name: format!("{} {code}", t.label_zh()),
        point_type: point_type_name(t).into(),
        county: "柯城区".into(),
        town: "府山街道".into(),
        village: None,
        bank_code: None,
        businesses: handles
            .iter()
            .map(|b| b.code())
            .collect::<Vec<_>>()
            .join(","),
        status: "open".into(),
        opened_on: d("2026-01-05"),
        closed_on: None,
    }
}

fn staff_row(id: &str, role: Role, point: &str, password: &str) -> StaffRow {
    StaffRow {
        staff_id: id.into(),
        name: "王五".into(),
        role: role.code().into(),
        service_point: point.into(),
        password_hash: hash_password(password).unwrap(),
        password_changed_at_us: t0().as_microsecond(),
        totp_secret: Some(base32_encode(SECRET)),
        totp_last_step: None,
        failed_attempts: 0,
        locked_until_us: None,
        status: "active".into(),
        created_at_us: t0().as_microsecond(),
    }
}

fn setup(s: &dyn Store) -> World {
    let p = policy();
    open_centre(s, C, "衢州市住房公积金管理中心", d("2026-03-02"), t0()).unwrap();
    open_accounts(
        s,
        C,
        &[AccountNo::sub("101", "ABC").unwrap()],
        d("2026-03-02"),
    )
    .unwrap();
    let unit = |code: &str| NewUnit {
        credit_code: CreditCode::parse(code).unwrap(),
        name: "衢州市示范科技有限公司".into(),
        address: "衢州市柯城区荷花中路1号".into(),
        legal_rep: "张三".into(),
        payday: 10,
        bank_code: "ABC".into(),
        unit_ratio: Rate::from_percent(12),
        member_ratio: Rate::from_percent(12),
    };
    let a = register_unit(s, C, &p, unit("91330802MA28F0Q135"), &clerk_stamp(), t0()).unwrap();
    let b = register_unit(s, C, &p, unit("91330100716105852F"), &clerk_stamp(), t0()).unwrap();
    let member = |first17: &str, unit_no: &str| {
        open_member(
            s,
            C,
            &p,
            NewMember {
                id_card: IdCard::with_check_char(first17).unwrap(),
                name: "李四".into(),
                unit_no: unit_no.into(),
                wage: Fen::parse_yuan("6000").unwrap(),
            },
            &clerk_stamp(),
            t0(),
        )
        .unwrap()
        .0
        .id_number
    };
    let alice = member("33080219900101123", &a.unit_no);
    let bob = member("33080219910202234", &a.unit_no);
    let carol = member("33080219920303345", &b.unit_no);
    let mut tx = s.begin().unwrap();
    // One open point of every type, handling everything its type may handle.
    for t in PointType::ALL {
        let code = point_type_name(*t);
        tx.insert_service_point(
            C,
            &point_row(code, *t, &ServicePoint::possible_businesses(*t)),
        )
        .unwrap();
    }
    for (id, phone) in [(&alice, "13800000001"), (&carol, "13800000003")] {
        tx.bind_phone(
            C,
            &PhoneBindingRow {
                id_number: id.clone(),
                phone: phone.into(),
                bound_at_us: t0().as_microsecond(),
                bound_by: "staff:S0001".into(),
            },
        )
        .unwrap();
    }
    tx.insert_unit_clerk(
        C,
        &UnitClerkRow {
            unit_no: a.unit_no.clone(),
            id_number: bob.clone(),
            name: "李四".into(),
            phone: "13800000002".into(),
            password_hash: hash_password("Clerk-pass-2026").unwrap(),
            password_changed_at_us: t0().as_microsecond(),
            failed_attempts: 0,
            locked_until_us: None,
            authorised_at_us: t0().as_microsecond(),
            revoked_at_us: None,
        },
    )
    .unwrap();
    tx.insert_staff(
        C,
        &staff_row("K001", Role::CounterClerk, "centre_hall", "Counter-pass-1"),
    )
    .unwrap();
    tx.insert_staff(
        C,
        &staff_row(
            "V001",
            Role::StationClerk,
            "village_station",
            "Village-pass-1",
        ),
    )
    .unwrap();
    tx.insert_staff(
        C,
        &staff_row("A001", Role::AuditAdmin, "back_office", "Audit-pass-01"),
    )
    .unwrap();
    tx.commit().unwrap();
    World {
        credit_a: "91330802MA28F0Q135".into(),
        unit_a: a.unit_no,
        unit_b: b.unit_no,
        alice,
        bob,
        carol,
    }
}

fn online(device: &str) -> Origin {
    Origin {
        point: "online".into(),
        channel: Channel::Web,
        device: device.into(),
    }
}

fn code_in(sms: &LogSms, phone: &str) -> String {
    let text = sms.sent_to(phone).last().unwrap().text.clone();
    text.chars().filter(char::is_ascii_digit).take(6).collect()
}

fn is_unauth<T: std::fmt::Debug>(r: Result<T, AppError>) -> bool {
    matches!(r, Err(AppError::Unauthenticated { .. }))
}

fn is_forbidden<T: std::fmt::Debug>(r: Result<T, AppError>) -> bool {
    matches!(r, Err(AppError::Forbidden { .. }))
}

fn audit_rows(s: &dyn Store) -> Vec<anju_store::access::AuditRow> {
    s.begin_read().unwrap().audit_range(C, 0, 100_000).unwrap()
}

#[test]
fn members_sign_in_with_a_code_sent_to_their_bound_phone_and_see_only_their_account() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let w = setup(s);
        let p = policy();
        let sms = LogSms::new();
        let logins = Logins {
            store: s,
            centre: C,
            policy: &p,
            sms: &sms,
        };
        let now = t0();

        let sent = logins
            .request_code("+86 138-0000-0001", &online("phone-1"), now)
            .unwrap();
        assert_eq!(sent.phone, "138****0001");
        assert_eq!(sent.expires_at, now + SignedDuration::from_mins(5));
        let code = code_in(&sms, "13800000001");
        assert_eq!(code.len(), 6);
        // A wrong code, then the right one.
        let wrong = if code == "000000" { "111111" } else { "000000" };
        assert!(is_unauth(logins.login_with_code(
            "13800000001",
            wrong,
            &online("phone-1"),
            now
        )));
        let session = logins
            .login_with_code("13800000001", &code, &online("phone-1"), now)
            .unwrap();
        assert_eq!(session.principal.kind, SubjectKind::Member);
        assert_eq!(
            session.principal.id_number.as_deref(),
            Some(w.alice.as_str())
        );
        assert!(session.new_device);
        assert_eq!(session.token.len(), 64);
        // The code is spent.
        assert!(is_unauth(logins.login_with_code(
            "13800000001",
            &code,
            &online("phone-1"),
            now
        )));

        let me = logins
            .authenticate(&session.token, now + SignedDuration::from_mins(1))
            .unwrap();
        assert_eq!(me.role, Role::Member);
        assert_eq!(me.stamp(None).operator, format!("member:{}", w.alice));
        let mine = views::member(s, C, &me, &w.alice, now).unwrap();
        assert_eq!(
            mine.id_number, w.alice,
            "a member sees their own number in full"
        );
        assert_eq!(mine.balance_fen, 0);
        // Another member's account: refused, and the refusal is in the audit log.
        assert!(is_forbidden(views::member(s, C, &me, &w.bob, now)));
        let log = audit_rows(s);
        let last = log.last().unwrap();
        assert_eq!(last.outcome, "denied");
        assert_eq!(last.subject_id.as_deref(), Some(w.bob.as_str()));
        assert_eq!(last.actor, format!("member:{}", w.alice));
        assert!(is_forbidden(views::unit(s, C, &me, &w.unit_a, now)));
        // Who handled Alice's business: her own sign-in and views, newest first.
        let handled = views::handled_by(s, C, &me, None, 50).unwrap();
        assert!(handled.iter().any(|l| l.action == "login"));
        assert!(
            handled
                .iter()
                .all(|l| l.subject_id.as_deref() == Some(w.alice.as_str()))
        );

        // The new device was noticed (queued for SMS); the same device again is not new.
        let notices = s
            .begin_read()
            .unwrap()
            .notifications_of(C, &w.alice, 10)
            .unwrap();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].kind, "new_device_login");
        let later = now + SignedDuration::from_mins(2);
        logins
            .request_code("13800000001", &online("phone-1"), later)
            .unwrap();
        let again = logins
            .login_with_code(
                "13800000001",
                &code_in(&sms, "13800000001"),
                &online("phone-1"),
                later,
            )
            .unwrap();
        assert!(!again.new_device);

        // Sessions end: logout, idle timeout.
        logins.logout(&again.token, later).unwrap();
        assert!(is_unauth(logins.authenticate(&again.token, later)));
        let idle = p.access().session.idle;
        assert!(
            logins
                .authenticate(&session.token, now + idle - SignedDuration::from_secs(1))
                .is_ok()
        );
        let after_idle = now + idle + idle + SignedDuration::from_secs(1);
        assert!(is_unauth(logins.authenticate(&session.token, after_idle)));
        assert!(is_unauth(logins.authenticate("not-a-token", now)));

        // An unbound phone gets the same answer and no SMS; a bad number is invalid.
        let before = sms.outbox().len();
        let sent = logins
            .request_code("13900000009", &online("x"), now)
            .unwrap();
        assert_eq!(sent.phone, "139****0009");
        assert_eq!(sms.outbox().len(), before);
        assert!(matches!(
            logins.request_code("12345", &online("x"), now),
            Err(AppError::Invalid { field: "phone", .. })
        ));
        // No SMS text or full phone reaches the audit log.
        for row in audit_rows(s) {
            assert!(!row.detail.contains("13800000001"), "{}", row.detail);
            assert!(!row.detail.contains(&code), "{}", row.detail);
        }
    });
}

#[test]
fn code_requests_and_wrong_codes_are_limited() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let p = policy();
        let sms = LogSms::new();
        let logins = Logins {
            store: s,
            centre: C,
            policy: &p,
            sms: &sms,
        };
        let now = t0();
        logins
            .request_code("13800000003", &online("d"), now)
            .unwrap();
        // Again within the resend interval: refused.
        assert!(matches!(
            logins.request_code(
                "13800000003",
                &online("d"),
                now + SignedDuration::from_secs(10)
            ),
            Err(AppError::TooMany { .. })
        ));
        let code = code_in(&sms, "13800000003");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let max = p.access().otp.max_attempts;
        for _ in 0..max {
            assert!(is_unauth(logins.login_with_code(
                "13800000003",
                wrong,
                &online("d"),
                now
            )));
        }
        // After max wrong tries the right code no longer works.
        assert!(is_unauth(logins.login_with_code(
            "13800000003",
            &code,
            &online("d"),
            now
        )));
        let failures = audit_rows(s)
            .iter()
            .filter(|r| r.action == "login_failed")
            .count();
        assert_eq!(failures, usize::try_from(max).unwrap() + 1);
    });
}

#[test]
fn staff_sign_in_with_password_and_totp_replays_are_refused_and_failures_lock() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let p = policy();
        let sms = LogSms::new();
        let logins = Logins {
            store: s,
            centre: C,
            policy: &p,
            sms: &sms,
        };
        let now = t0();
        let code = |at: Timestamp| format!("{:06}", totp_code(SECRET, at.as_second()));

        let session = logins
            .login_staff("V001", "Village-pass-1", &code(now), "pc", now)
            .unwrap();
        let p1 = session.principal;
        assert_eq!(p1.role, Role::StationClerk);
        assert_eq!(p1.point.point_type, PointType::VillageStation);
        assert_eq!(p1.channel, Channel::VillageStation);
        // The same TOTP code again: a replay.
        assert!(is_unauth(logins.login_staff(
            "V001",
            "Village-pass-1",
            &code(now),
            "pc",
            now
        )));
        // A station clerk attempting a loan approval: refused and logged.
        assert!(is_forbidden(guard::authorize(
            s,
            C,
            &p1,
            Business::LoanReview,
            Target::None,
            now
        )));
        let denied = audit_rows(s).into_iter().last().unwrap();
        assert_eq!(denied.outcome, "denied");
        assert_eq!(
            denied.business.as_deref(),
            Some(Business::LoanReview.code())
        );
        assert_eq!(denied.actor, "staff:V001");
        // …but may accept a withdrawal application for a member.
        let w = views::member(s, C, &p1, &w_alice(s), now).unwrap();
        assert_ne!(
            w.id_number,
            w_alice(s),
            "a station clerk sees the ID number masked"
        );

        // Wrong passwords lock the account, even against the right password later.
        let threshold = p.access().lockout.threshold;
        let mut at = now + SignedDuration::from_mins(1);
        for _ in 0..threshold {
            assert!(is_unauth(logins.login_staff(
                "K001",
                "wrong-password",
                &code(at),
                "pc",
                at
            )));
            at += SignedDuration::from_secs(31);
        }
        assert!(is_unauth(logins.login_staff(
            "K001",
            "Counter-pass-1",
            &code(at),
            "pc",
            at
        )));
        let unlocked = at + p.access().lockout.lock_for + SignedDuration::from_mins(1);
        let k = logins
            .login_staff("K001", "Counter-pass-1", &code(unlocked), "pc", unlocked)
            .unwrap();
        assert_eq!(k.principal.role, Role::CounterClerk);
        // A counter clerk sees the full number of the member served.
        let v = views::member(s, C, &k.principal, &w_alice(s), unlocked).unwrap();
        assert_eq!(v.id_number, w_alice(s));
        // The audit administrator reads the log; a counter clerk may not.
        let a = logins
            .login_staff("A001", "Audit-pass-01", &code(unlocked), "pc", unlocked)
            .unwrap();
        let filter = anju_store::access::AuditFilter {
            actor: Some("staff:K001".into()),
            ..Default::default()
        };
        let rows = views::audit_log(s, C, &a.principal, &filter, None, 100, unlocked).unwrap();
        assert_eq!(
            rows.iter().filter(|r| r.action == "login_failed").count(),
            usize::try_from(threshold).unwrap() + 1
        );
        assert!(is_forbidden(views::audit_log(
            s,
            C,
            &k.principal,
            &filter,
            None,
            100,
            unlocked
        )));
    });
}

fn w_alice(s: &dyn Store) -> String {
    s.begin_read()
        .unwrap()
        .phone_binding(C, "13800000001")
        .unwrap()
        .unwrap()
        .id_number
}

#[test]
fn unit_clerks_sign_in_and_act_for_their_own_unit_only() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let w = setup(s);
        let p = policy();
        let sms = LogSms::new();
        let logins = Logins {
            store: s,
            centre: C,
            policy: &p,
            sms: &sms,
        };
        let now = t0();
        assert!(is_unauth(logins.login_unit_clerk(
            &w.credit_a,
            &w.bob,
            "wrong",
            &online("b"),
            now
        )));
        let session = logins
            .login_unit_clerk(&w.credit_a, &w.bob, "Clerk-pass-2026", &online("b"), now)
            .unwrap();
        let clerk = session.principal;
        assert_eq!(clerk.unit_no.as_deref(), Some(w.unit_a.as_str()));
        assert_eq!(clerk.actor(), format!("unit:{}/{}", w.unit_a, w.bob));
        assert_eq!(
            views::unit(s, C, &clerk, &w.unit_a, now).unwrap().members,
            2
        );
        assert!(is_forbidden(views::unit(s, C, &clerk, &w.unit_b, now)));
        assert!(views::member(s, C, &clerk, &w.alice, now).is_ok());
        assert!(is_forbidden(views::member(s, C, &clerk, &w.carol, now)));
        // The password must be changed once rotation is due.
        let due = now + SignedDuration::from_hours(24 * 91);
        let late = logins
            .login_unit_clerk(&w.credit_a, &w.bob, "Clerk-pass-2026", &online("b"), due)
            .unwrap();
        assert!(late.principal.must_change_password);
        assert!(is_forbidden(views::unit(
            s,
            C,
            &late.principal,
            &w.unit_a,
            due
        )));
        assert!(matches!(
            logins.change_password(&late.principal, "Clerk-pass-2026", "short", due),
            Err(AppError::Invalid { .. })
        ));
        logins
            .change_password(
                &late.principal,
                "Clerk-pass-2026",
                "New-Clerk-pass-2027",
                due,
            )
            .unwrap();
        let fresh = logins
            .login_unit_clerk(
                &w.credit_a,
                &w.bob,
                "New-Clerk-pass-2027",
                &online("b"),
                due,
            )
            .unwrap();
        assert!(!fresh.principal.must_change_password);
        assert!(views::unit(s, C, &fresh.principal, &w.unit_a, due).is_ok());
    });
}

/// The whole matrix through the guard: every role × business × point type, at a real
/// (registered, open) point of that type, with a channel of that point; the answer must
/// be the matrix's, and every decision is one audit row.
#[test]
fn the_guard_enforces_the_whole_matrix_at_real_points_and_logs_every_decision() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let w = setup(s);
        let now = t0();
        let before = audit_rows(s).len();
        let mut decisions = 0;
        let mut allowed = 0;
        for role in Role::ALL {
            for t in PointType::ALL {
                let channel = *Channel::ALL.iter().find(|c| t.admits_channel(**c)).unwrap();
                let row = s
                    .begin_read()
                    .unwrap()
                    .service_point(C, point_type_name(*t))
                    .unwrap()
                    .unwrap();
                let point = anju_app::access::login::point_of(&row).unwrap();
                let (kind, id_number, unit_no, subject) = match role {
                    Role::Member => (
                        SubjectKind::Member,
                        Some(w.alice.clone()),
                        None,
                        w.alice.clone(),
                    ),
                    Role::UnitClerk => (
                        SubjectKind::UnitClerk,
                        Some(w.bob.clone()),
                        Some(w.unit_a.clone()),
                        format!("{}/{}", w.unit_a, w.bob),
                    ),
                    _ => (SubjectKind::Staff, None, None, "S9".to_owned()),
                };
                let principal = Principal {
                    kind,
                    subject_id: subject,
                    role: *role,
                    point,
                    channel,
                    unit_no,
                    id_number,
                    must_change_password: false,
                };
                for business in Business::ALL {
                    let got = guard::authorize(s, C, &principal, *business, Target::None, now);
                    let want = authorize(*role, *business, *t);
                    assert_eq!(
                        got.is_ok(),
                        want.is_ok(),
                        "{role:?} {business:?} at {t:?}: guard {got:?}, matrix {want:?}"
                    );
                    decisions += 1;
                    allowed += usize::from(got.is_ok());
                }
            }
        }
        assert_eq!(
            decisions,
            Role::ALL.len() * Business::ALL.len() * PointType::ALL.len()
        );
        assert!(
            allowed > 50 && allowed < decisions / 2,
            "{allowed} of {decisions}"
        );
        let log = audit_rows(s);
        assert_eq!(log.len() - before, decisions);
        assert_eq!(
            log.iter().filter(|r| r.outcome == "allowed").count(),
            allowed
        );
        // The chain links every row to the one before.
        for pair in log.windows(2) {
            assert_eq!(pair[1].prev_hash, pair[0].entry_hash);
            assert_eq!(pair[1].seq, pair[0].seq + 1);
        }

        // A closed point refuses everything; a point that does not handle a business
        // refuses it even for a role that may.
        let counter = Principal {
            kind: SubjectKind::Staff,
            subject_id: "K001".into(),
            role: Role::CounterClerk,
            point: ServicePoint {
                code: "centre_hall".into(),
                name: "hall".into(),
                point_type: PointType::CentreHall,
                status: PointStatus::Closed,
                handles: ServicePoint::possible_businesses(PointType::CentreHall),
            },
            channel: staff_channel(PointType::CentreHall),
            unit_no: None,
            id_number: None,
            must_change_password: false,
        };
        assert!(is_forbidden(guard::authorize(
            s,
            C,
            &counter,
            Business::ViewMemberAccount,
            Target::None,
            now
        )));
        let narrow = Principal {
            point: ServicePoint {
                status: PointStatus::Open,
                handles: vec![Business::StatementPrint],
                ..counter.point.clone()
            },
            ..counter.clone()
        };
        assert!(is_forbidden(guard::authorize(
            s,
            C,
            &narrow,
            Business::ViewMemberAccount,
            Target::None,
            now
        )));
        assert!(
            guard::authorize(s, C, &narrow, Business::StatementPrint, Target::None, now).is_ok()
        );
    });
}

/// A machine request that fails its signature, timestamp or nonce (a replay) is refused,
/// kept with the notice refusals and written to the audit log as a denied act.
#[test]
fn refused_machine_requests_are_in_the_audit_log() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let refusal = anju_store::settlement::NoticeRefusalRow {
            claimed_bank: "105".into(),
            reason: "nonce already seen (a replay)".into(),
            body_hash: "ab".repeat(32),
            peer: "127.0.0.1:50000".into(),
            received_at_us: t0().as_microsecond(),
        };
        anju_app::settlement::refuse_notice(s, C, &refusal).unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.notice_refusals(C, 10).unwrap(), [refusal]);
        let row = tx.audit_range(C, 0, 100).unwrap().pop().unwrap();
        assert_eq!(row.actor, "bank:105");
        assert_eq!(row.action, "machine_request_refused");
        assert_eq!(row.outcome, "denied");
        assert_eq!(row.channel, Channel::MachineInterface.code());
        assert!(row.detail.contains("replay"), "{}", row.detail);
    });
}
