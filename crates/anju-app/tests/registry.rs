//! The collection registry on every backend: units (one per credit code, ratios within
//! policy), members (one account per person, base clamped with a notice), and status
//! changes recorded as dated events with their standard codes.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::ledger::{audit, open_accounts, open_centre, set_business_date};
use anju_app::registry::{
    MemberAct, NewMember, NewUnit, UnitAct, UnitDetails, change_member, change_unit,
    change_unit_details, close_member, member_history, open_member, register_unit, unit_history,
};
use anju_domain::codes::{Channel, PersonalAccountStatus, UnitAccountStatus};
use anju_domain::collection::{BaseNotice, CloseCause};
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::AccountNo;
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_store::Store;
use anju_testkit::for_each_backend;
use jiff::Timestamp;
use jiff::civil::Date;

const C: &str = "330800000000000";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}
fn now() -> Timestamp {
    "2026-03-02T02:00:00Z".parse().unwrap()
}
fn clerk() -> Stamp {
    Stamp {
        operator: "staff:S0001".into(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".into(),
        on_behalf_of: None,
    }
}
fn policy() -> Policy {
    Policy::from_toml(QUZHOU_POLICY).unwrap()
}

fn setup(s: &dyn Store) {
    open_centre(s, C, "衢州市住房公积金管理中心", d("2026-03-02"), now()).unwrap();
    open_accounts(
        s,
        C,
        &[AccountNo::sub("101", "ABC").unwrap()],
        d("2026-03-02"),
    )
    .unwrap();
}

fn unit(code: &str) -> NewUnit {
    NewUnit {
        credit_code: CreditCode::parse(code).unwrap(),
        name: "衢州市示范科技有限公司".into(),
        address: "衢州市柯城区荷花中路1号".into(),
        legal_rep: "张三".into(),
        payday: 10,
        bank_code: "ABC".into(),
        unit_ratio: Rate::from_percent(12),
        member_ratio: Rate::from_percent(12),
    }
}

fn person(first17: &str, unit_no: &str, wage: &str) -> NewMember {
    NewMember {
        id_card: IdCard::with_check_char(first17).unwrap(),
        name: "李四".into(),
        unit_no: unit_no.into(),
        wage: Fen::parse_yuan(wage).unwrap(),
    }
}

#[test]
fn units_are_registered_once_per_credit_code_within_policy() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let p = policy();
        let u = register_unit(s, C, &p, unit("91330802MA28F0Q135"), &clerk(), now()).unwrap();
        assert_eq!(u.unit_no, "330800000001");
        assert_eq!(u.status, UnitAccountStatus::Opened);
        // Its suspense sub-account exists in the ledger.
        let mut tx = s.begin().unwrap();
        assert_eq!(
            tx.load_accounts(C, &[AccountNo::sub("213", &u.unit_no).unwrap()])
                .unwrap()
                .len(),
            1
        );
        assert_eq!(tx.unit(C, &u.unit_no).unwrap().unwrap(), u);
        drop(tx);
        // The same credit code again: refused, naming the existing unit.
        let err = register_unit(s, C, &p, unit("91330802MA28F0Q135"), &clerk(), now()).unwrap_err();
        assert!(err.to_string().contains("330800000001"), "{err}");
        // A ratio above the policy's bound, an unknown bank, a bad payday: refused.
        // Another unit (a real-world-shaped valid code from Hangzhou).
        let mut bad = unit("91330100716105852F");
        bad.unit_ratio = Rate::from_percent(13);
        let err = register_unit(s, C, &p, bad.clone(), &clerk(), now()).unwrap_err();
        assert!(err.to_string().contains("unit_ratio"), "{err}");
        bad.unit_ratio = Rate::from_percent(5);
        bad.bank_code = "ICBC".into();
        let err = register_unit(s, C, &p, bad.clone(), &clerk(), now()).unwrap_err();
        assert!(err.to_string().contains("bank_code"), "{err}");
        bad.bank_code = "ABC".into();
        bad.payday = 32;
        let err = register_unit(s, C, &p, bad.clone(), &clerk(), now()).unwrap_err();
        assert!(err.to_string().contains("payday"), "{err}");
        bad.payday = 5;
        let u2 = register_unit(s, C, &p, bad, &clerk(), now()).unwrap();
        assert_eq!(u2.unit_no, "330800000002");
        assert!(audit(s, C).unwrap().is_clean());
    });
}

#[test]
fn one_account_per_person_and_a_dated_history() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let p = policy();
        let u = register_unit(s, C, &p, unit("91330802MA28F0Q135"), &clerk(), now()).unwrap();
        // A wage above the cap becomes the cap, with a notice.
        let (m, notice) = open_member(
            s,
            C,
            &p,
            person("33080219900101123", &u.unit_no, "99999.00"),
            &clerk(),
            now(),
        )
        .unwrap();
        assert_eq!(m.account_no, "33080000000001");
        assert_eq!(m.status, PersonalAccountStatus::Normal);
        let rule = p.contribution_on(d("2026-03-02")).unwrap();
        assert_eq!(m.base, rule.base_cap);
        assert!(matches!(notice, Some(BaseNotice::RaisedAboveCap { .. })));
        // The same person again: refused, pointing to the existing account.
        let err = open_member(
            s,
            C,
            &p,
            person("33080219900101123", &u.unit_no, "5000.00"),
            &clerk(),
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("33080000000001"), "{err}");
        assert!(
            !err.to_string().contains("330802199001011"),
            "the ID number is masked: {err}"
        );
        // An unknown unit.
        let err = open_member(
            s,
            C,
            &p,
            person("33080219920202222", "330800999999", "5000.00"),
            &clerk(),
            now(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "not_found", "{err}");

        // Leave (seal), a court freeze, unfreeze, rehire (unseal) — each on its day.
        set_business_date(s, C, d("2026-03-31")).unwrap();
        let m = change_member(
            s,
            C,
            &m.account_no,
            MemberAct::Seal,
            "离职",
            &clerk(),
            now(),
        )
        .unwrap();
        assert_eq!(
            (m.status, m.unit_no.clone()),
            (PersonalAccountStatus::Sealed, None)
        );
        // Sealing twice is refused and changes nothing.
        let err = change_member(
            s,
            C,
            &m.account_no,
            MemberAct::Seal,
            "再次",
            &clerk(),
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("seal"), "{err}");
        set_business_date(s, C, d("2026-04-15")).unwrap();
        change_member(
            s,
            C,
            &m.account_no,
            MemberAct::Freeze,
            "（2026）浙0802执123号",
            &clerk(),
            now(),
        )
        .unwrap();
        let err = close_member(
            s,
            C,
            &p,
            &m.account_no,
            CloseCause::Withdrawal,
            "退休",
            &clerk(),
            now(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("close"),
            "a frozen account cannot be closed: {err}"
        );
        set_business_date(s, C, d("2026-05-20")).unwrap();
        let m = unfreeze(s, &m.account_no);
        assert_eq!(
            m.status,
            PersonalAccountStatus::Sealed,
            "back to sealed after unfreezing"
        );
        set_business_date(s, C, d("2026-06-01")).unwrap();
        let m = change_member(
            s,
            C,
            &m.account_no,
            MemberAct::Unseal {
                unit_no: u.unit_no.clone(),
            },
            "重新入职",
            &clerk(),
            now(),
        )
        .unwrap();
        assert_eq!(m.status, PersonalAccountStatus::Normal);
        assert_eq!(m.unit_no.as_deref(), Some(u.unit_no.as_str()));

        // An internal transfer to a second unit keeps the account; to the same unit it is refused.
        let mut second = unit("91330100716105852F");
        second.unit_ratio = Rate::from_percent(5);
        second.member_ratio = Rate::from_percent(5);
        let u2 = register_unit(s, C, &p, second, &clerk(), now()).unwrap();
        let err = change_member(
            s,
            C,
            &m.account_no,
            MemberAct::Transfer {
                unit_no: u.unit_no.clone(),
            },
            "同单位",
            &clerk(),
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("already"), "{err}");
        set_business_date(s, C, d("2026-06-15")).unwrap();
        let m = change_member(
            s,
            C,
            &m.account_no,
            MemberAct::Transfer {
                unit_no: u2.unit_no.clone(),
            },
            "调入子公司",
            &clerk(),
            now(),
        )
        .unwrap();
        assert_eq!(m.unit_no.as_deref(), Some(u2.unit_no.as_str()));
        assert_eq!(m.status, PersonalAccountStatus::Normal);

        let h = member_history(s, C, &m.account_no).unwrap();
        let got: Vec<(i64, String, &str, &str, String)> = h
            .iter()
            .map(|e| {
                (
                    e.event_no,
                    e.date.to_string(),
                    e.business.code(),
                    e.to_status.as_str(),
                    e.from_status.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "2026-03-02".into(), "03", "01", String::new()),
                (2, "2026-03-31".into(), "05", "02", "01".into()),
                (3, "2026-04-15".into(), "14", "06", "02".into()),
                (4, "2026-05-20".into(), "15", "02", "06".into()),
                (5, "2026-06-01".into(), "04", "01", "02".into()),
                (6, "2026-06-15".into(), "06", "01", "01".into()),
            ],
            "{}",
            db.backend
        );
        assert_eq!(h[2].reason, "（2026）浙0802执123号");
        assert_eq!(h[2].stamp.operator, "staff:S0001");
        assert!(audit(s, C).unwrap().is_clean());
    });
}

#[test]
fn unit_lifecycle_is_recorded_and_a_unit_with_members_cannot_close() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let p = policy();
        let u = register_unit(s, C, &p, unit("91330802MA28F0Q135"), &clerk(), now()).unwrap();
        let (m, _) = open_member(
            s,
            C,
            &p,
            person("33080219900101123", &u.unit_no, "6000.00"),
            &clerk(),
            now(),
        )
        .unwrap();
        // An opened unit that never paid cannot defer.
        let err = change_unit(
            s,
            C,
            &u.unit_no,
            UnitAct::Defer,
            "衢公积金缓〔2026〕3号",
            &clerk(),
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("defer"), "{err}");
        set_business_date(s, C, d("2026-04-01")).unwrap();
        let u2 = change_unit(s, C, &u.unit_no, UnitAct::Seal, "停业", &clerk(), now()).unwrap();
        assert_eq!(u2.status, UnitAccountStatus::Sealed);
        // A sealed unit cannot take on members.
        let err = open_member(
            s,
            C,
            &p,
            person("33080219920202222", &u.unit_no, "6000.00"),
            &clerk(),
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("cannot take on members"), "{err}");
        let u3 = change_unit(s, C, &u.unit_no, UnitAct::Unseal, "复业", &clerk(), now()).unwrap();
        assert_eq!(u3.status, UnitAccountStatus::Normal);
        // Closing with a member still attached is refused; after the member leaves it works.
        let err =
            change_unit(s, C, &u.unit_no, UnitAct::Close, "注销", &clerk(), now()).unwrap_err();
        assert!(err.to_string().contains("still in the unit"), "{err}");
        change_member(
            s,
            C,
            &m.account_no,
            MemberAct::Seal,
            "单位注销",
            &clerk(),
            now(),
        )
        .unwrap();
        let u4 = change_unit(s, C, &u.unit_no, UnitAct::Close, "注销", &clerk(), now()).unwrap();
        assert_eq!(u4.status, UnitAccountStatus::Closed);
        let h = unit_history(s, C, &u.unit_no).unwrap();
        let codes: Vec<(&str, &str)> = h
            .iter()
            .map(|e| (e.business.code(), e.to_status.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![("03", "02"), ("05", "05"), ("04", "01"), ("99", "04")],
            "{}",
            db.backend
        );
    });
}

#[test]
fn unit_details_change_within_the_rules_and_are_recorded() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let p = policy();
        let u = register_unit(s, C, &p, unit("91330802MA28F0Q135"), &clerk(), now()).unwrap();
        // A ratio above the bound, an unknown bank, nothing at all: refused, unchanged.
        let bad = UnitDetails {
            ratios: Some((Rate::from_percent(13), Rate::from_percent(12))),
            ..UnitDetails::default()
        };
        let err = change_unit_details(s, C, &p, &u.unit_no, bad, &clerk(), now()).unwrap_err();
        assert!(err.to_string().contains("unit_ratio"), "{err}");
        let bad = UnitDetails {
            bank_code: Some("ICBC".into()),
            address: Some("新地址".into()),
            ..UnitDetails::default()
        };
        assert!(change_unit_details(s, C, &p, &u.unit_no, bad, &clerk(), now()).is_err());
        assert!(
            change_unit_details(
                s,
                C,
                &p,
                &u.unit_no,
                UnitDetails::default(),
                &clerk(),
                now()
            )
            .is_err()
        );
        let changed = change_unit_details(
            s,
            C,
            &p,
            &u.unit_no,
            UnitDetails {
                address: Some("衢州市柯城区新桥街8号".into()),
                payday: Some(15),
                ratios: Some((Rate::from_percent(10), Rate::from_percent(8))),
                ..UnitDetails::default()
            },
            &clerk(),
            now(),
        )
        .unwrap();
        assert_eq!(
            (changed.payday, changed.unit_ratio),
            (15, Rate::from_percent(10))
        );
        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.unit(C, &u.unit_no).unwrap().unwrap(), changed);
        let events = tx.events(C, &format!("unit:{}", u.unit_no)).unwrap();
        let last = events.last().unwrap();
        assert_eq!(last.business.code(), "99");
        assert!(last.reason.contains("发薪日 10 → 15"), "{}", last.reason);
        assert_eq!(events.len(), 2, "the refused changes left no event");
    });
}

/// Unfreezes through maker-checker (a counter clerk proposes, an approver confirms);
/// unfreezing directly is refused.
fn unfreeze(s: &dyn anju_store::Store, account_no: &str) -> anju_store::registry::MemberRow {
    use anju_app::access::admin::{Actor, decide, propose_unfreeze};
    use anju_domain::access::{PointType, Role};
    let direct = change_member(
        s,
        C,
        account_no,
        MemberAct::Unfreeze,
        "解除冻结",
        &clerk(),
        now(),
    );
    assert!(
        direct
            .as_ref()
            .is_err_and(|e| e.to_string().contains("second person")),
        "{direct:?}"
    );
    let maker = Actor::staff(
        "S0001",
        Role::CounterClerk,
        "hall-kecheng",
        PointType::CentreHall,
    );
    let checker = Actor::staff(
        "S0009",
        Role::Approver,
        "hall-kecheng",
        PointType::CentreHall,
    );
    let id = propose_unfreeze(s, C, &maker, account_no, "法院解除冻结裁定", now()).unwrap();
    decide(s, C, &checker, id, true, None, now()).unwrap();
    s.begin_read()
        .unwrap()
        .member(C, account_no)
        .unwrap()
        .unwrap()
}
