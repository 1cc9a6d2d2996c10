//! Notifications to members on every backend: one text per balance change, exactly once
//! however often the journal is scanned; a kind turned off is not queued; no bound phone
//! means skipped; a failing gateway leaves notifications pending until they are too old;
//! new-device and application-status notices.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::sync::Mutex;

use anju_app::identity::{LogSms, SmsError, SmsGateway};
use anju_app::ledger::{open_accounts, open_centre, set_business_date};
use anju_app::notify::{self, Application, NotificationKind};
use anju_app::registry::{NewMember, NewUnit, open_member, register_unit};
use anju_app::remittance::{Payment, confirm_bill, generate_bill, pay_bill};
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::Channel;
use anju_domain::collection::YearMonth;
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::AccountNo;
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_store::Store;
use anju_store::access::PhoneBindingRow;
use anju_testkit::for_each_backend;
use jiff::Timestamp;
use jiff::civil::Date;

const C: &str = "330800000000000";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}
fn yuan(s: &str) -> Fen {
    Fen::parse_yuan(s).unwrap()
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

/// A member: account number, ID number.
struct Member {
    account: String,
    id: String,
}

impl Member {
    fn tail(&self) -> String {
        self.account[self.account.len() - 4..].to_owned()
    }
}

/// A centre with one unit paying 12 % + 12 % and members with these wages.
fn setup(s: &dyn Store, wages: &[&str]) -> (String, Vec<Member>) {
    let p = policy();
    open_centre(s, C, "衢州市住房公积金管理中心", d("2026-02-02"), now()).unwrap();
    open_accounts(
        s,
        C,
        &[AccountNo::sub("101", "ABC").unwrap()],
        d("2026-02-02"),
    )
    .unwrap();
    let u = register_unit(
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
        &clerk(),
        now(),
    )
    .unwrap()
    .unit_no;
    let mut members = Vec::new();
    for (i, w) in wages.iter().enumerate() {
        let first17 = format!("33080219900101{:03}", i + 1);
        let (m, _) = open_member(
            s,
            C,
            &p,
            NewMember {
                id_card: IdCard::with_check_char(&first17).unwrap(),
                name: format!("职工{i}"),
                unit_no: u.clone(),
                wage: yuan(w),
            },
            &clerk(),
            now(),
        )
        .unwrap();
        members.push(Member {
            account: m.account_no,
            id: m.id_number,
        });
    }
    (u, members)
}

fn bind(s: &dyn Store, id: &str, phone: &str) {
    let mut tx = s.begin().unwrap();
    tx.bind_phone(
        C,
        &PhoneBindingRow {
            id_number: id.into(),
            phone: phone.into(),
            bound_at_us: now().as_microsecond(),
            bound_by: "staff:S0001".into(),
        },
    )
    .unwrap();
    tx.commit().unwrap();
}

/// Generates, confirms and pays in full the unit's bill of `month` on `date`.
fn remit(s: &dyn Store, unit: &str, date: &str, month: &str, total: &str) {
    set_business_date(s, C, d(date)).unwrap();
    let cal = BusinessCalendar::cn().unwrap();
    let bill = generate_bill(
        s,
        C,
        &policy(),
        &cal,
        unit,
        YearMonth::parse(month).unwrap(),
    )
    .unwrap();
    assert_eq!(bill.bill.total, yuan(total));
    confirm_bill(s, C, &bill.bill.bill_no).unwrap();
    pay_bill(
        s,
        C,
        Payment {
            bill_no: bill.bill.bill_no.clone(),
            receipt_key: format!("S-{month}"),
            amount: yuan(total),
            bank_code: None,
        },
        &clerk(),
        now(),
    )
    .unwrap();
}

fn texts(sms: &LogSms, phone: &str) -> Vec<String> {
    sms.sent_to(phone).into_iter().map(|m| m.text).collect()
}

#[test]
fn every_balance_change_is_told_once_to_those_who_want_it() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        // 5,000 → 1,200; 8,000 → 1,920; 6,000 → 1,440.
        let (u, m) = setup(s, &["5000.00", "8000.00", "6000.00"]);
        bind(s, &m[0].id, "13800000001");
        bind(s, &m[1].id, "13800000002");
        // m[2] has no phone; m[1] turns balance changes off.
        assert_eq!(
            notify::preferences(s, C, &m[1].id).unwrap(),
            vec![
                (NotificationKind::BalanceChange, true),
                (NotificationKind::ApplicationStatus, true),
                (NotificationKind::NewDeviceLogin, true),
            ]
        );
        notify::set_preference(s, C, &m[1].id, NotificationKind::BalanceChange, false).unwrap();
        assert_eq!(
            notify::preferences(s, C, &m[1].id).unwrap()[0],
            (NotificationKind::BalanceChange, false)
        );

        remit(s, &u, "2026-03-10", "2026-03", "4560.00");
        let r = notify::scan(s, C, now(), 1000).unwrap();
        assert!(r.caught_up);
        assert_eq!((r.changes, r.queued, r.turned_off), (3, 2, 1));
        // Scanning again tells nobody anything.
        let again = notify::scan(s, C, now(), 1000).unwrap();
        assert_eq!((again.entries, again.queued), (0, 0));
        assert_eq!(again.from_seq, r.to_seq);

        let sms = LogSms::new();
        let sent = notify::dispatch(s, C, &sms, now(), 100).unwrap();
        assert_eq!((sent.sent, sent.skipped, sent.failed), (1, 1, 0));
        let first = format!(
            "【衢州公积金】您的公积金账户（尾号{}）于2026-03-10汇缴入账1,200.00元，余额1,200.00元。",
            m[0].tail()
        );
        assert_eq!(texts(&sms, "13800000001"), vec![first.clone()]);
        assert!(texts(&sms, "13800000002").is_empty());
        // Nothing pending: a second dispatch sends nothing.
        let sent = notify::dispatch(s, C, &sms, now(), 100).unwrap();
        assert_eq!((sent.sent, sent.skipped), (0, 0));
        // The member without a phone sees the notification, skipped and why.
        let list = notify::of_member(s, C, &m[2].id, 10).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].kind, NotificationKind::BalanceChange);
        assert_eq!(list[0].status, "skipped");
        assert_eq!(list[0].error.as_deref(), Some("no bound phone"));
        assert_eq!(
            list[0].body,
            format!(
                "【衢州公积金】您的公积金账户（尾号{}）于2026-03-10汇缴入账1,440.00元，余额1,440.00元。",
                m[2].tail()
            )
        );
        // The member who turned them off has none.
        assert!(notify::of_member(s, C, &m[1].id, 10).unwrap().is_empty());

        // The next month: one more text, with the new balance.
        remit(s, &u, "2026-04-10", "2026-04", "4560.00");
        let (scanned, sent) = notify::run(s, C, &sms, now(), 1000).unwrap();
        assert_eq!((scanned.queued, scanned.turned_off), (2, 1));
        assert_eq!((sent.sent, sent.skipped), (1, 1));
        let second = format!(
            "【衢州公积金】您的公积金账户（尾号{}）于2026-04-10汇缴入账1,200.00元，余额2,400.00元。",
            m[0].tail()
        );
        assert_eq!(texts(&sms, "13800000001"), vec![first, second.clone()]);
        let (scanned, sent) = notify::run(s, C, &sms, now(), 1000).unwrap();
        assert_eq!((scanned.queued, sent.sent), (0, 0));
        let mine = notify::of_member(s, C, &m[0].id, 10).unwrap();
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[0].body, second, "newest first");
        assert_eq!(mine[0].status, "sent");
        assert_eq!(mine[0].sent_at, Some(now()));
    });
}

#[test]
fn a_backlog_is_scanned_in_batches_exactly_once() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        // Each remittance pays two members: more than a batch of one change, taken whole.
        let (u, m) = setup(s, &["5000.00", "5000.00"]);
        bind(s, &m[0].id, "13800000001");
        for (i, month) in ["2026-03", "2026-04", "2026-05"].iter().enumerate() {
            remit(s, &u, &format!("2026-0{}-10", i + 3), month, "2400.00");
        }
        let mut queued = 0;
        let mut last = None;
        for _ in 0..100 {
            let r = notify::scan(s, C, now(), 1).unwrap();
            queued += r.queued;
            if r.caught_up {
                last = Some(r);
                break;
            }
        }
        assert!(last.is_some(), "a scan of one entry at a time catches up");
        assert_eq!(queued, 6);
        let sms = LogSms::new();
        notify::dispatch(s, C, &sms, now(), 100).unwrap();
        let got = texts(&sms, "13800000001");
        assert_eq!(got.len(), 3);
        // The last batch reached the end of the journal, so it carries the balance.
        assert!(
            got[2].ends_with("于2026-05-10汇缴入账1,200.00元，余额3,600.00元。"),
            "{}",
            got[2]
        );
        assert!(
            got[0].contains("于2026-03-10汇缴入账1,200.00元"),
            "{}",
            got[0]
        );
    });
}

#[derive(Debug)]
struct Broken(Mutex<Vec<String>>, SmsError);

impl SmsGateway for Broken {
    fn send(&self, phone: &str, _text: &str) -> Result<(), SmsError> {
        self.0.lock().unwrap().push(phone.to_owned());
        Err(self.1.clone())
    }
}

#[test]
fn a_failing_gateway_leaves_notifications_pending_until_they_are_too_old() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let (u, m) = setup(s, &["5000.00", "8000.00"]);
        bind(s, &m[0].id, "13800000001");
        bind(s, &m[1].id, "13800000002");
        remit(s, &u, "2026-03-10", "2026-03", "3120.00");
        notify::scan(s, C, now(), 1000).unwrap();
        let down = Broken(Mutex::default(), SmsError::Failed("timeout".into()));
        let r = notify::dispatch(s, C, &down, now(), 100).unwrap();
        // The first attempt fails: the run stops and both wait.
        assert_eq!((r.sent, r.failed, r.deferred), (0, 0, 2));
        assert_eq!(
            r.gateway_error.as_deref(),
            Some("text message not sent: timeout")
        );
        assert_eq!(down.0.lock().unwrap().len(), 1);
        // Retried on the next run; a day later they are given up.
        let later = now() + jiff::SignedDuration::from_hours(25);
        let r = notify::dispatch(s, C, &down, later, 100).unwrap();
        assert_eq!((r.failed, r.deferred), (2, 0));
        let list = notify::of_member(s, C, &m[0].id, 10).unwrap();
        assert_eq!(list[0].status, "failed");
        assert_eq!(
            list[0].error.as_deref(),
            Some("text message not sent: timeout")
        );
        // A number the gateway refuses fails at once.
        remit(s, &u, "2026-04-10", "2026-04", "3120.00");
        notify::scan(s, C, now(), 1000).unwrap();
        let refusing = Broken(
            Mutex::default(),
            SmsError::InvalidPhone("138****0001".into()),
        );
        let r = notify::dispatch(s, C, &refusing, now(), 100).unwrap();
        assert_eq!((r.failed, r.deferred), (2, 0));
    });
}

#[test]
fn new_devices_and_application_status_changes_are_told() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let (_, m) = setup(s, &["5000.00", "8000.00"]);
        bind(s, &m[0].id, "13800000001");
        bind(s, &m[1].id, "13800000002");
        notify::set_preference(s, C, &m[1].id, NotificationKind::NewDeviceLogin, false).unwrap();
        notify::set_preference(s, C, &m[1].id, NotificationKind::ApplicationStatus, false).unwrap();
        let mut tx = s.begin().unwrap();
        let n =
            notify::notify_new_device(tx.as_mut(), C, &m[0].id, "iPhone 15", Channel::Zlb, now())
                .unwrap();
        assert!(n.is_some());
        let none =
            notify::notify_new_device(tx.as_mut(), C, &m[1].id, "iPhone 15", Channel::Zlb, now())
                .unwrap();
        assert_eq!(none, None, "turned off: not queued");
        for (what, no, status) in [
            (Application::Withdrawal, "W-2026-0001", "已到账"),
            (Application::Loan, "L-2026-0001", "放款中"),
        ] {
            assert!(
                notify::notify_application_status(
                    tx.as_mut(),
                    C,
                    &m[0].id,
                    what,
                    no,
                    status,
                    now()
                )
                .unwrap()
                .is_some()
            );
            assert!(
                notify::notify_application_status(
                    tx.as_mut(),
                    C,
                    &m[1].id,
                    what,
                    no,
                    status,
                    now()
                )
                .unwrap()
                .is_none()
            );
        }
        tx.commit().unwrap();
        // A notification queued in a transaction that rolls back is never sent.
        let mut tx = s.begin().unwrap();
        notify::notify_new_device(tx.as_mut(), C, &m[0].id, "Mate 60", Channel::Web, now())
            .unwrap();
        drop(tx);

        let sms = LogSms::new();
        let r = notify::dispatch(s, C, &sms, now(), 100).unwrap();
        assert_eq!(r.sent, 3);
        assert_eq!(
            texts(&sms, "13800000001"),
            vec![
                "【衢州公积金】您于2026-03-02 10:00通过浙里办在新设备（iPhone 15）上登录住房公积金服务。如非本人操作，请立即致电12329。".to_owned(),
                "【衢州公积金】您的公积金提取申请（编号W-2026-0001）状态更新为：已到账。".to_owned(),
                "【衢州公积金】您的公积金贷款（编号L-2026-0001）状态更新为：放款中。".to_owned(),
            ]
        );
        assert!(texts(&sms, "13800000002").is_empty());
        let kinds: Vec<NotificationKind> = notify::of_member(s, C, &m[0].id, 10)
            .unwrap()
            .into_iter()
            .map(|n| n.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![
                NotificationKind::ApplicationStatus,
                NotificationKind::ApplicationStatus,
                NotificationKind::NewDeviceLogin,
            ]
        );
    });
}
