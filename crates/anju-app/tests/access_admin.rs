//! Administration and the audit log on every backend: the audit chain appends (also from
//! racing writers), verifies and finds a row changed behind the triggers' back; the three
//! administrators each do only their own duty; service points are validated; staff get an
//! Argon2 password and a TOTP secret, and their role only once a manager confirms it;
//! maker-checker refuses the maker and the wrong role; unit clerks and member phones.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::AppError;
use anju_app::access::admin::{self, Actor, Bootstrap, NewClerk, NewPoint, NewStaff, StaffCreated};
use anju_app::access::audit::{self, AuditEvent, AuditFilter, AuditOutcome};
use anju_app::ledger::{open_accounts, open_centre};
use anju_app::registry::{NewMember, NewUnit, open_member, register_unit};
use anju_domain::access::{Business, PasswordPolicy, PointStatus, PointType, Role, base32_decode};
use anju_domain::codes::Channel;
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::AccountNo;
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_store::{Backend, Store};
use anju_testkit::{TestDb, for_each_backend};
use jiff::Timestamp;
use jiff::civil::Date;

const C: &str = "330800000000000";
const BO: &str = "backoffice";
const HALL: &str = "hall-kecheng";
const STATION: &str = "station-fengshou-01";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}
fn now() -> Timestamp {
    "2026-03-02T02:00:00Z".parse().unwrap()
}
fn pw() -> PasswordPolicy {
    Policy::from_toml(QUZHOU_POLICY).unwrap().access().password
}

fn point(code: &str, t: PointType, handles: Vec<Business>) -> NewPoint {
    NewPoint {
        code: code.into(),
        name: format!("网点 {code}"),
        point_type: t,
        county: "柯城区".into(),
        town: "府山街道".into(),
        village: (t == PointType::VillageStation).then(|| "石室村".to_owned()),
        bank_code: matches!(t, PointType::BankBranch | PointType::TownBankBranch)
            .then(|| "ABC".to_owned()),
        handles,
        opened_on: d("2026-03-02"),
    }
}

fn person(id: &str, role: Role) -> NewStaff {
    NewStaff {
        staff_id: id.into(),
        name: format!("职员{id}"),
        role,
        service_point: BO.into(),
        initial_password: "Quzhou#2026ab".into(),
    }
}

fn admin(id: &str, role: Role) -> Actor {
    Actor::staff(id, role, BO, PointType::BackOffice)
}

/// The centre, the back office with the three administrators and a manager, a hall and a
/// village station.
fn setup(s: &dyn Store) -> Vec<StaffCreated> {
    open_centre(s, C, "衢州市住房公积金管理中心", d("2026-03-02"), now()).unwrap();
    let created = admin::bootstrap(
        s,
        C,
        &pw(),
        &Bootstrap {
            point: point(
                BO,
                PointType::BackOffice,
                anju_domain::access::ServicePoint::possible_businesses(PointType::BackOffice),
            ),
            people: vec![
                person("s001", Role::SystemAdmin),
                person("s002", Role::SecurityAdmin),
                person("s003", Role::AuditAdmin),
                person("m001", Role::Manager),
            ],
        },
        now(),
    )
    .unwrap();
    let sys = admin("s001", Role::SystemAdmin);
    admin::open_point(
        s,
        C,
        &sys,
        &point(
            HALL,
            PointType::CentreHall,
            anju_domain::access::ServicePoint::possible_businesses(PointType::CentreHall),
        ),
        now(),
    )
    .unwrap();
    admin::open_point(
        s,
        C,
        &sys,
        &point(
            STATION,
            PointType::VillageStation,
            vec![Business::ViewMemberAccount, Business::StatementPrint],
        ),
        now(),
    )
    .unwrap();
    created
}

fn forbidden<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    match r {
        Err(AppError::Forbidden { reason }) => reason,
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

fn invalid<T: std::fmt::Debug>(r: Result<T, AppError>) -> (String, String) {
    match r {
        Err(AppError::Invalid { field, rule, .. }) => (field.to_owned(), rule),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn assert_chain(s: &dyn Store) -> i64 {
    let check = audit::verify(s, C).unwrap();
    assert!(check.is_clean(), "{:?}", check.problems);
    check.rows
}

fn event(actor: &str, action: &str, subject: Option<&str>) -> AuditEvent {
    AuditEvent {
        actor: actor.into(),
        actor_role: "03".into(),
        service_point: HALL.into(),
        channel: Channel::Counter,
        action: action.into(),
        business: Some(Business::ViewMemberAccount),
        subject_id: subject.map(str::to_owned),
        subject_unit: None,
        object: None,
        outcome: AuditOutcome::Ok,
        detail: "looked at 330802199001010011 phone 13800001234".into(),
    }
}

fn raw_exec(db: &TestDb, sql: &str) {
    match db.backend {
        Backend::Sqlite => {
            let path = db.url.strip_prefix("sqlite://").unwrap();
            let c = rusqlite::Connection::open(path).unwrap();
            c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
            c.execute_batch(sql).unwrap();
        }
        Backend::Postgres => {
            let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
            c.batch_execute(sql).unwrap();
        }
    }
}

#[test]
fn the_audit_chain_appends_verifies_and_finds_tampering() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        open_centre(s, C, "衢州市住房公积金管理中心", d("2026-03-02"), now()).unwrap();
        let empty = audit::verify(s, C).unwrap();
        assert_eq!((empty.rows, empty.head_hash.clone()), (0, None));
        assert!(empty.is_clean());

        const ID: &str = "330802199001010011";
        assert_eq!(
            audit::record(
                s,
                C,
                &event("staff:k001", "view_member_account", Some(ID)),
                now()
            )
            .unwrap(),
            1
        );
        let mut tx = s.begin().unwrap();
        assert_eq!(
            audit::record_in(
                tx.as_mut(),
                C,
                &event("staff:k002", "view_member_account", None),
                now()
            )
            .unwrap(),
            2
        );
        // A transaction dropped takes its audit row with it.
        drop(tx);
        assert_eq!(
            audit::record(
                s,
                C,
                &event("staff:k002", "statement_print", Some(ID)),
                now()
            )
            .unwrap(),
            2
        );

        // Writers racing for the next seq all land, in one unbroken chain.
        std::thread::scope(|scope| {
            for t in 0..3 {
                let store = db.open_another();
                scope.spawn(move || {
                    for i in 0..4 {
                        let e = event(&format!("staff:t{t}"), &format!("act{i}"), None);
                        audit::record(store.as_ref(), C, &e, now()).unwrap();
                    }
                });
            }
        });
        assert_eq!(assert_chain(s), 14);

        // The details were scrubbed of the ID and phone numbers.
        let rows = audit::search(s, C, &AuditFilter::default(), None, 100).unwrap();
        assert_eq!(rows.len(), 14);
        assert_eq!(rows[0].seq, 14, "newest first");
        assert!(
            rows.iter()
                .all(|r| !r.detail.contains(ID) && !r.detail.contains("13800001234"))
        );
        assert!(
            rows[13].detail.contains("330802********0011"),
            "{}",
            rows[13].detail
        );
        let by = AuditFilter {
            actor: Some("staff:k002".into()),
            ..AuditFilter::default()
        };
        let mine = audit::search(s, C, &by, None, 10).unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].action, "statement_print");
        // Paging: the next page starts before the last seq seen.
        let page = audit::search(s, C, &AuditFilter::default(), Some(3), 10).unwrap();
        assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 1]);

        // What a member sees about themselves: who, where, how, what — no detail.
        let seen = audit::of_person(s, C, ID, None, 10).unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].actor, "staff:k002");
        assert_eq!(seen[1].actor, "staff:k001");
        assert!(
            seen.iter()
                .all(|r| r.detail.is_empty() && r.service_point == HALL)
        );

        // Someone with database access changes a row behind the triggers' back.
        let sql = match db.backend {
            Backend::Sqlite => {
                "DROP TRIGGER audit_log_no_update; \
                 UPDATE audit_log SET actor = 'staff:nobody' WHERE seq = 5;"
            }
            Backend::Postgres => {
                "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only; \
                 UPDATE audit_log SET actor = 'staff:nobody' WHERE seq = 5;"
            }
        };
        raw_exec(db, sql);
        let check = audit::verify(s, C).unwrap();
        assert_eq!(check.rows, 14);
        assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
        assert!(
            check.problems[0].starts_with("audit row 5: stored hash"),
            "{:?}",
            check.problems
        );
    });
}

#[test]
fn the_three_administrators_each_do_only_their_own_duty() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let created = setup(s);
        assert_eq!(created.len(), 4);
        // Bootstrap works once.
        let (field, _) = invalid(admin::bootstrap(
            s,
            C,
            &pw(),
            &Bootstrap {
                point: point(BO, PointType::BackOffice, vec![]),
                people: vec![person("x001", Role::SystemAdmin)],
            },
            now(),
        ));
        assert_eq!(field, "staff");

        let sys = admin("s001", Role::SystemAdmin);
        let sec = admin("s002", Role::SecurityAdmin);
        let aud = admin("s003", Role::AuditAdmin);
        let mut hall_staff = person("k001", Role::CounterClerk);
        hall_staff.service_point = HALL.into();
        // The system administrator does not create staff, nor the audit administrator.
        for a in [&sys, &aud] {
            let r = forbidden(admin::create_staff(s, C, &pw(), a, &hall_staff, now()));
            assert!(r.contains("三员分立"), "{r}");
        }
        // The security and audit administrators do not open points.
        let p = point("bank-1", PointType::BankBranch, vec![Business::Remittance]);
        for a in [&sec, &aud] {
            forbidden(admin::open_point(s, C, a, &p, now()));
            forbidden(admin::close_point(s, C, a, HALL, d("2026-03-03"), now()));
        }
        // Nor does the system administrator outside the back office.
        let at_hall = Actor::staff("s001", Role::SystemAdmin, HALL, PointType::CentreHall);
        forbidden(admin::open_point(s, C, &at_hall, &p, now()));
        // A channel the point type does not admit.
        let mut online = sys.clone();
        online.channel = Channel::Web;
        forbidden(admin::open_point(s, C, &online, &p, now()));
        assert!(admin::point(s, C, "bank-1").unwrap().is_none());
        // Each refusal is in the audit log.
        let denied: Vec<_> = audit::search(s, C, &AuditFilter::default(), None, 100)
            .unwrap()
            .into_iter()
            .filter(|r| r.outcome == "denied")
            .collect();
        assert_eq!(denied.len(), 8, "{denied:#?}");
        assert!(
            denied
                .iter()
                .any(|r| r.actor == "staff:s003" && r.action == "staff_created")
        );
        // Their own duties work.
        admin::open_point(s, C, &sys, &p, now()).unwrap();
        admin::create_staff(s, C, &pw(), &sec, &hall_staff, now()).unwrap();
        assert_chain(s);
    });
}

#[test]
fn service_points_are_validated_closed_reopened_and_listed() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let sys = admin("s001", Role::SystemAdmin);
        // A village station never reviews loans.
        let bad = point(
            "station-2",
            PointType::VillageStation,
            vec![Business::StatementPrint, Business::LoanReview],
        );
        let (field, rule) = invalid(admin::open_point(s, C, &sys, &bad, now()));
        assert_eq!(field, "point");
        assert!(
            rule.contains("no role may do") && rule.contains("贷款审批"),
            "{rule}"
        );
        let mut no_village = point("station-3", PointType::VillageStation, vec![]);
        no_village.village = None;
        assert_eq!(
            invalid(admin::open_point(s, C, &sys, &no_village, now())).0,
            "village"
        );
        let mut no_bank = point("bank-2", PointType::BankBranch, vec![]);
        no_bank.bank_code = None;
        assert_eq!(
            invalid(admin::open_point(s, C, &sys, &no_bank, now())).0,
            "bank_code"
        );
        let dup = point(HALL, PointType::CentreHall, vec![]);
        assert_eq!(
            invalid(admin::open_point(s, C, &sys, &dup, now())).0,
            "code"
        );
        let spaced = point("a b", PointType::CentreHall, vec![]);
        assert_eq!(
            invalid(admin::open_point(s, C, &sys, &spaced, now())).0,
            "point"
        );

        let info = admin::point(s, C, STATION).unwrap().unwrap();
        assert_eq!(info.point.point_type, PointType::VillageStation);
        assert_eq!(info.village.as_deref(), Some("石室村"));
        assert_eq!(
            info.point.handles,
            [Business::ViewMemberAccount, Business::StatementPrint]
        );
        admin::set_point_businesses(
            s,
            C,
            &sys,
            STATION,
            &[Business::StatementPrint, Business::WithdrawalApply],
            now(),
        )
        .unwrap();
        assert_eq!(
            admin::point(s, C, STATION).unwrap().unwrap().point.handles,
            [Business::StatementPrint, Business::WithdrawalApply]
        );
        assert_eq!(
            invalid(admin::set_point_businesses(
                s,
                C,
                &sys,
                STATION,
                &[Business::Reversal],
                now()
            ))
            .0,
            "handles"
        );
        admin::close_point(s, C, &sys, STATION, d("2026-03-05"), now()).unwrap();
        assert_eq!(
            invalid(admin::close_point(
                s,
                C,
                &sys,
                STATION,
                d("2026-03-05"),
                now()
            ))
            .0,
            "code"
        );
        let closed = admin::list_points(s, C, None, Some(PointStatus::Closed)).unwrap();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].closed_on, Some(d("2026-03-05")));
        // Nobody is placed at a closed point.
        let mut st = person("v001", Role::StationClerk);
        st.service_point = STATION.into();
        let sec = admin("s002", Role::SecurityAdmin);
        assert_eq!(
            invalid(admin::create_staff(s, C, &pw(), &sec, &st, now())).0,
            "service_point"
        );
        admin::reopen_point(s, C, &sys, STATION, now()).unwrap();
        assert!(matches!(
            admin::reopen_point(s, C, &sys, "nowhere", now()),
            Err(AppError::NotFound { .. })
        ));
        assert_eq!(admin::list_points(s, C, None, None).unwrap().len(), 3);
        assert_eq!(
            admin::list_points(s, C, Some(PointType::CentreHall), None).unwrap()[0]
                .point
                .code,
            HALL
        );
        admin::create_staff(s, C, &pw(), &sec, &st, now()).unwrap();
        assert_chain(s);
    });
}

#[test]
fn staff_get_argon2_passwords_totp_and_a_role_only_once_a_manager_confirms() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let boot = setup(s);
        // Bootstrapped accounts have their roles and enrolments.
        assert!(boot.iter().all(|c| c.approval_id.is_none()));
        assert_eq!(
            admin::staff_actor(s, C, "s002").unwrap().role,
            Role::SecurityAdmin
        );

        let sec = admin("s002", Role::SecurityAdmin);
        let sys = admin("s001", Role::SystemAdmin);
        let aud = admin("s003", Role::AuditAdmin);
        let mgr = admin("m001", Role::Manager);
        let mut k = person("k001", Role::CounterClerk);
        k.service_point = HALL.into();
        // A weak password, an id taken, a role that does nothing at the point.
        let mut weak = k.clone();
        weak.initial_password = "short".into();
        assert_eq!(
            invalid(admin::create_staff(s, C, &pw(), &sec, &weak, now())).0,
            "initial_password"
        );
        let mut taken = k.clone();
        taken.staff_id = "s001".into();
        assert_eq!(
            invalid(admin::create_staff(s, C, &pw(), &sec, &taken, now())).0,
            "staff_id"
        );
        let mut wrong = k.clone();
        wrong.role = Role::StationClerk;
        assert_eq!(
            invalid(admin::create_staff(s, C, &pw(), &sec, &wrong, now())).0,
            "role"
        );
        let mut member = k.clone();
        member.role = Role::Member;
        assert_eq!(
            invalid(admin::create_staff(s, C, &pw(), &sec, &member, now())).0,
            "role"
        );

        let created = admin::create_staff(s, C, &pw(), &sec, &k, now()).unwrap();
        let secret = base32_decode(&created.totp_secret_base32).unwrap();
        assert_eq!(secret.len(), 20);
        assert!(
            created.otpauth_uri.starts_with("otpauth://totp/"),
            "{}",
            created.otpauth_uri
        );
        assert!(created.otpauth_uri.contains(&created.totp_secret_base32));
        let row = s.begin_read().unwrap().staff(C, "k001").unwrap().unwrap();
        assert!(
            row.password_hash.starts_with("$argon2id$"),
            "{}",
            row.password_hash
        );
        assert!(admin::verify_password("Quzhou#2026ab", &row.password_hash));
        assert!(!admin::verify_password("Quzhou#2026ac", &row.password_hash));
        assert_eq!(
            row.totp_secret.as_deref(),
            Some(created.totp_secret_base32.as_str())
        );
        assert!(admin::must_change_password(
            row.password_changed_at_us,
            now(),
            &pw()
        ));
        // No role until a manager confirms.
        assert_eq!(row.role, "");
        forbidden(admin::staff_actor(s, C, "k001"));
        let grant = created.approval_id.unwrap();
        let pending = admin::pending(s, C, Some(Business::ManageStaff)).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].maker, "staff:s002");
        // Not the maker, not another administrator.
        let r = forbidden(admin::confirm_role(s, C, &sec, grant, now()));
        assert!(r.contains("双人复核"), "{r}");
        for a in [&sys, &aud] {
            forbidden(admin::confirm_role(s, C, a, grant, now()));
        }
        admin::confirm_role(s, C, &mgr, grant, now()).unwrap();
        let k_actor = admin::staff_actor(s, C, "k001").unwrap();
        assert_eq!(
            (k_actor.role, k_actor.point_type, k_actor.channel),
            (Role::CounterClerk, PointType::CentreHall, Channel::Counter)
        );
        assert_eq!(k_actor.id, "staff:k001");
        assert!(
            invalid(admin::confirm_role(s, C, &mgr, grant, now()))
                .1
                .contains("decided")
        );

        // A role change is proposed and confirmed the same way; a counter clerk cannot
        // become an approver at... the hall, where approvers work: fine.
        let id = admin::propose_role(s, C, &sec, "k001", Role::Approver, now()).unwrap();
        admin::decide(s, C, &mgr, id, false, Some("not now"), now()).unwrap();
        assert_eq!(
            admin::staff_actor(s, C, "k001").unwrap().role,
            Role::CounterClerk
        );
        forbidden(admin::propose_role(
            s,
            C,
            &k_actor,
            "k001",
            Role::Manager,
            now(),
        ));

        // Reset: a new temporary password that passes the policy; the old one is gone.
        let temp = admin::reset_password(s, C, &pw(), &sec, "k001", now()).unwrap();
        assert!(anju_domain::access::check_password(&temp, "k001", &pw()).is_ok());
        let row = s.begin_read().unwrap().staff(C, "k001").unwrap().unwrap();
        assert!(admin::verify_password(&temp, &row.password_hash));
        assert!(!admin::verify_password("Quzhou#2026ab", &row.password_hash));
        assert_eq!(row.password_changed_at_us, 0);
        forbidden(admin::reset_password(s, C, &pw(), &sys, "k001", now()));

        // Move (to a point where the role works) and disable.
        let mut st = person("v001", Role::StationClerk);
        st.service_point = STATION.into();
        let v = admin::create_staff(s, C, &pw(), &sec, &st, now()).unwrap();
        admin::confirm_role(s, C, &mgr, v.approval_id.unwrap(), now()).unwrap();
        assert_eq!(
            invalid(admin::move_staff(s, C, &sec, "v001", HALL, now())).0,
            "role"
        );
        admin::move_staff(s, C, &sec, "k001", STATION, now()).unwrap_err();
        admin::disable_staff(s, C, &sec, "k001", now()).unwrap();
        assert_eq!(
            invalid(admin::disable_staff(s, C, &sec, "k001", now())).0,
            "staff_id"
        );
        assert!(matches!(
            admin::staff_actor(s, C, "k001"),
            Err(AppError::Unauthenticated { .. })
        ));
        assert_eq!(
            invalid(admin::disable_staff(s, C, &sec, "s002", now())).0,
            "staff_id"
        );
        let list = admin::list_staff(s, C, None).unwrap();
        assert_eq!(list.len(), 6);
        let k = list.iter().find(|x| x.staff_id == "k001").unwrap();
        assert_eq!(
            (k.status.as_str(), k.role),
            ("disabled", Some(Role::CounterClerk))
        );
        assert!(k.temporary_password && k.has_totp);

        // Every act is in the chain, with who did it.
        let acts = audit::search(
            s,
            C,
            &AuditFilter {
                actor: Some("staff:m001".into()),
                ..AuditFilter::default()
            },
            None,
            50,
        )
        .unwrap();
        assert_eq!(acts.len(), 3, "{acts:#?}");
        assert_chain(s);
    });
}

#[test]
fn maker_checker_refuses_the_maker_and_the_wrong_role() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let k1 = Actor::staff("k001", Role::CounterClerk, HALL, PointType::CentreHall);
        let k2 = Actor::staff("k002", Role::CounterClerk, HALL, PointType::CentreHall);
        let appr = Actor::staff("a001", Role::Approver, HALL, PointType::CentreHall);
        let station = Actor::staff(
            "v001",
            Role::StationClerk,
            STATION,
            PointType::VillageStation,
        );
        // A frozen account to unfreeze (two people needed).
        let (_, _, member) = registry(s);
        let account = s
            .begin_read()
            .unwrap()
            .member_by_id_number(C, &member)
            .unwrap()
            .unwrap()
            .account_no;
        let stamp = Stamp {
            operator: "staff:k001".into(),
            channel: Channel::Counter,
            service_point: HALL.into(),
            on_behalf_of: None,
        };
        anju_app::registry::change_member(
            s,
            C,
            &account,
            anju_app::registry::MemberAct::Freeze,
            "法院冻结",
            &stamp,
            now(),
        )
        .unwrap();
        // What the confirmation would do must be readable at proposal.
        assert_eq!(
            invalid(admin::propose(
                s,
                C,
                &k1,
                Business::Unfreeze,
                "member:x",
                r#"{"seq":42}"#,
                now()
            ))
            .0,
            "payload"
        );
        let id = admin::propose_unfreeze(s, C, &k1, &account, "法院解除冻结", now()).unwrap();
        // A business without a checker step, bad JSON, a maker the matrix refuses.
        assert_eq!(
            invalid(admin::propose(
                s,
                C,
                &k1,
                Business::Remittance,
                "x",
                "{}",
                now()
            ))
            .0,
            "business"
        );
        assert_eq!(
            invalid(admin::propose(
                s,
                C,
                &k1,
                Business::Reversal,
                "x",
                "{",
                now()
            ))
            .0,
            "payload"
        );
        forbidden(admin::propose(
            s,
            C,
            &station,
            Business::Reversal,
            "journal:43",
            "{}",
            now(),
        ));

        let r = forbidden(admin::decide(s, C, &k1, id, true, None, now()));
        assert!(r.contains("different person"), "{r}");
        let r = forbidden(admin::decide(s, C, &k2, id, true, None, now()));
        assert!(r.contains("approver, centre manager"), "{r}");
        assert_eq!(
            invalid(admin::decide(s, C, &appr, id, false, None, now())).0,
            "reason"
        );
        assert_eq!(admin::pending(s, C, None).unwrap().len(), 1);
        let status = |s: &dyn Store| {
            s.begin_read()
                .unwrap()
                .member(C, &account)
                .unwrap()
                .unwrap()
                .status
        };
        assert_eq!(status(s), anju_domain::codes::PersonalAccountStatus::Frozen);
        admin::decide(s, C, &appr, id, true, None, now()).unwrap();
        // Approved and done in one transaction.
        assert_ne!(status(s), anju_domain::codes::PersonalAccountStatus::Frozen);
        let row = s.begin_read().unwrap().approval(C, id).unwrap().unwrap();
        assert_eq!(
            (row.decision.as_str(), row.checker.as_deref()),
            ("approved", Some("staff:a001"))
        );
        assert!(admin::pending(s, C, None).unwrap().is_empty());
        assert!(matches!(
            admin::decide(s, C, &appr, 999, true, None, now()),
            Err(AppError::NotFound { .. })
        ));
        // Both sides and both refusals are audited.
        let rows = audit::search(s, C, &AuditFilter::default(), None, 100).unwrap();
        let about: Vec<_> = rows
            .iter()
            .filter(|r| r.object.as_deref() == Some(&format!("approval:{id}")))
            .map(|r| (r.actor.as_str(), r.action.as_str(), r.outcome.as_str()))
            .collect();
        assert_eq!(
            about,
            [
                ("staff:a001", "approval_approved", "ok"),
                ("staff:k002", "approval_approved", "denied"),
                ("staff:k001", "approval_approved", "denied"),
                ("staff:k001", "approval_proposed", "ok"),
            ]
        );
        assert_chain(s);
    });
}

fn registry(s: &dyn Store) -> (String, String, String) {
    let policy = Policy::from_toml(QUZHOU_POLICY).unwrap();
    open_accounts(
        s,
        C,
        &[AccountNo::sub("101", "ABC").unwrap()],
        d("2026-03-02"),
    )
    .unwrap();
    let stamp = Stamp {
        operator: "staff:k001".into(),
        channel: Channel::Counter,
        service_point: HALL.into(),
        on_behalf_of: None,
    };
    let mut units = Vec::new();
    for code in ["91330802MA28F0Q135", "91330100716105852F"] {
        let u = register_unit(
            s,
            C,
            &policy,
            NewUnit {
                credit_code: CreditCode::parse(code).unwrap(),
                name: "衢州市示范科技有限公司".into(),
                address: "衢州市柯城区荷花中路1号".into(),
                legal_rep: "张三".into(),
                payday: 10,
                bank_code: "ABC".into(),
                unit_ratio: Rate::from_percent(12),
                member_ratio: Rate::from_percent(12),
            },
            &stamp,
            now(),
        )
        .unwrap();
        units.push(u.unit_no);
    }
    let id = IdCard::with_check_char("33080219900101001").unwrap();
    open_member(
        s,
        C,
        &policy,
        NewMember {
            id_card: id.clone(),
            name: "李四".into(),
            unit_no: units[0].clone(),
            wage: Fen::parse_yuan("6000").unwrap(),
        },
        &stamp,
        now(),
    )
    .unwrap();
    (units[0].clone(), units[1].clone(), id.as_str().to_owned())
}

#[test]
fn unit_clerks_and_member_phones() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let (u1, u2, member) = registry(s);
        let k1 = Actor::staff("k001", Role::CounterClerk, HALL, PointType::CentreHall);
        let clerk_id = IdCard::with_check_char("33080219850505002")
            .unwrap()
            .as_str()
            .to_owned();
        let clerk2 = IdCard::with_check_char("33080219860606003")
            .unwrap()
            .as_str()
            .to_owned();
        let new = |id: &str| NewClerk {
            id_number: id.into(),
            name: "王五".into(),
            phone: "13800000101".into(),
            initial_password: "Unit#2026abc".into(),
        };
        admin::authorise_clerk(s, C, &pw(), &k1, &u1, &new(&clerk_id), now()).unwrap();
        assert_eq!(
            invalid(admin::authorise_clerk(
                s,
                C,
                &pw(),
                &k1,
                &u1,
                &new(&clerk_id),
                now()
            ))
            .0,
            "id_number"
        );
        let mut bad = new(&clerk2);
        bad.id_number = "330802198606060031".into();
        assert_eq!(
            invalid(admin::authorise_clerk(s, C, &pw(), &k1, &u1, &bad, now())).0,
            "id_number"
        );
        assert!(matches!(
            admin::authorise_clerk(s, C, &pw(), &k1, "999999", &new(&clerk2), now()),
            Err(AppError::NotFound { .. })
        ));
        let row = s
            .begin_read()
            .unwrap()
            .unit_clerk(C, &u1, &clerk_id)
            .unwrap()
            .unwrap();
        assert!(admin::verify_password("Unit#2026abc", &row.password_hash));

        // The unit's own clerk authorises another online; not for another unit.
        let online = Actor {
            id: format!("unit:{u1}/{clerk_id}"),
            role: Role::UnitClerk,
            point: "online".into(),
            point_type: PointType::Online,
            channel: Channel::Web,
        };
        forbidden(admin::authorise_clerk(
            s,
            C,
            &pw(),
            &online,
            &u2,
            &new(&clerk2),
            now(),
        ));
        admin::authorise_clerk(s, C, &pw(), &online, &u1, &new(&clerk2), now()).unwrap();
        // A station clerk does not manage units' clerks.
        let station = Actor::staff(
            "v001",
            Role::StationClerk,
            STATION,
            PointType::VillageStation,
        );
        forbidden(admin::revoke_clerk(s, C, &station, &u1, &clerk2, now()));
        admin::revoke_clerk(s, C, &online, &u1, &clerk2, now()).unwrap();
        assert_eq!(
            invalid(admin::revoke_clerk(s, C, &k1, &u1, &clerk2, now())).0,
            "id_number"
        );
        // A revoked clerk acts no more.
        let gone = Actor {
            id: format!("unit:{u1}/{clerk2}"),
            ..online.clone()
        };
        forbidden(admin::revoke_clerk(s, C, &gone, &u1, &clerk_id, now()));
        // Re-authorised after a revocation.
        admin::authorise_clerk(s, C, &pw(), &k1, &u1, &new(&clerk2), now()).unwrap();

        // Phones: only a person with an account, one phone per person and per phone.
        admin::bind_phone(s, C, &k1, &member, "13800000001", now()).unwrap();
        admin::bind_phone(s, C, &k1, &member, "13800000002", now()).unwrap();
        let b = s
            .begin_read()
            .unwrap()
            .phone_of_person(C, &member)
            .unwrap()
            .unwrap();
        assert_eq!(
            (b.phone.as_str(), b.bound_by.as_str()),
            ("13800000002", "staff:k001")
        );
        assert!(matches!(
            admin::bind_phone(s, C, &k1, &clerk_id, "13800000003", now()),
            Err(AppError::NotFound { .. })
        ));
        assert_eq!(
            invalid(admin::bind_phone(s, C, &k1, &member, "2380000000", now())).0,
            "phone"
        );
        forbidden(admin::bind_phone(
            s,
            C,
            &station,
            &member,
            "13800000004",
            now(),
        ));
        // The member sees who bound their phone, without the detail.
        let seen = audit::of_person(s, C, &member, None, 10).unwrap();
        assert!(seen.len() >= 2);
        assert_eq!(
            (seen[0].actor.as_str(), seen[0].action.as_str()),
            ("staff:k001", "phone_bound")
        );
        assert!(seen.iter().all(|r| r.detail.is_empty()));
        // No full phone or ID number in any detail.
        for r in audit::search(s, C, &AuditFilter::default(), None, 500).unwrap() {
            assert!(
                !r.detail.contains("13800000002") && !r.detail.contains(&clerk_id),
                "{r:?}"
            );
            assert!(
                !r.object.as_deref().unwrap_or("").contains(&clerk_id),
                "{r:?}"
            );
        }
        assert_chain(s);
    });
}
