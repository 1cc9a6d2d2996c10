//! The demo centre's service points, staff, units' clerks and members' phones (issue 8),
//! made through the production use cases: bootstrap of the administrators, points opened
//! by the system administrator, staff created by the security administrator and their
//! roles confirmed by the manager, clerks authorised and phones bound at the hall — so the
//! audit log has a story to show. Then, **for development only**, every account gets a
//! known password and TOTP secret (printed in the demo banner) instead of the temporary
//! ones. Idempotent: once any staff exist, nothing is added.

use anju_app::access::admin::{self, Actor, Bootstrap, NewClerk, NewPoint, NewStaff};
use anju_domain::access::{
    Business, PointType, Role, ServicePoint, base32_encode, mask_resident_id, totp_code,
};
use anju_domain::ids::IdCard;
use anju_domain::policy::Policy;
use anju_store::Store;
use jiff::Timestamp;

/// Every demo staff account's password (development only).
pub const STAFF_PASSWORD: &str = "Demo#2026ab";
/// Every demo unit clerk's password (development only).
pub const CLERK_PASSWORD: &str = "Unit#2026ab";

const BACK_OFFICE: &str = "backoffice";
const HALL: &str = "hall-kecheng";

/// (code, name, type, county, town, village, bank).
type PointSpec = (
    &'static str,
    &'static str,
    PointType,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

const POINTS: &[PointSpec] = &[
    (
        HALL,
        "衢州市住房公积金管理中心柯城服务大厅",
        PointType::CentreHall,
        "柯城区",
        "荷花街道",
        None,
        None,
    ),
    (
        "bank-icbc-kecheng",
        "中国工商银行衢州分行营业部",
        PointType::BankBranch,
        "柯城区",
        "府山街道",
        None,
        Some("ICBC"),
    ),
    (
        "bank-qzrcb-shiliang",
        "衢州农商银行石梁支行",
        PointType::TownBankBranch,
        "柯城区",
        "石梁镇",
        None,
        Some("QZRCB"),
    ),
    (
        "township-shiliang",
        "石梁镇便民服务中心",
        PointType::TownshipCentre,
        "柯城区",
        "石梁镇",
        None,
        None,
    ),
    (
        "station-shishi",
        "石室村丰收驿站",
        PointType::VillageStation,
        "柯城区",
        "石梁镇",
        Some("石室村"),
        None,
    ),
    (
        "selfservice-hall",
        "柯城服务大厅自助终端",
        PointType::SelfService,
        "柯城区",
        "荷花街道",
        None,
        None,
    ),
    (
        "hotline-12329",
        "12329服务热线",
        PointType::Hotline,
        "柯城区",
        "荷花街道",
        None,
        None,
    ),
    (
        "online",
        "网上服务大厅、手机APP、浙里办、全国小程序",
        PointType::Online,
        "柯城区",
        "荷花街道",
        None,
        None,
    ),
];

/// (staff id, name, role, point). The first four are bootstrapped.
const STAFF: &[(&str, &str, Role, &str)] = &[
    ("sysadmin", "系统管理员", Role::SystemAdmin, BACK_OFFICE),
    (
        "secadmin",
        "安全保密管理员",
        Role::SecurityAdmin,
        BACK_OFFICE,
    ),
    ("auditadmin", "安全审计员", Role::AuditAdmin, BACK_OFFICE),
    ("manager", "中心负责人", Role::Manager, BACK_OFFICE),
    ("k001", "柜员毛丽君", Role::CounterClerk, HALL),
    (
        "k002",
        "柜员祝海燕",
        Role::CounterClerk,
        "bank-qzrcb-shiliang",
    ),
    (
        "t001",
        "便民中心余志强",
        Role::StationClerk,
        "township-shiliang",
    ),
    ("v001", "驿站郑晓东", Role::StationClerk, "station-shishi"),
    (
        "b001",
        "银行柜员徐建华",
        Role::BankClerk,
        "bank-icbc-kecheng",
    ),
    ("a001", "审批人周秀英", Role::Approver, HALL),
    ("au01", "稽核员吴明", Role::Auditor, BACK_OFFICE),
    ("ac01", "会计孙静", Role::Accountant, BACK_OFFICE),
];

/// A demo account's TOTP secret: its id, padded to 20 bytes (development only).
pub fn totp_secret(staff_id: &str) -> Vec<u8> {
    let mut s = format!("anju-demo-{staff_id}").into_bytes();
    s.resize(20, b'.');
    s
}

/// What the demo banner prints.
#[derive(Debug, Default)]
pub struct Credentials {
    /// One line per account.
    pub lines: Vec<String>,
}

fn banner(centre: &str, clerks: &[(String, String)], phones: &[(String, String)]) -> Credentials {
    let now = Timestamp::now().as_second();
    let mut lines = vec![format!(
        "demo sign-in (development only; every password is {STAFF_PASSWORD} for staff, {CLERK_PASSWORD} for unit clerks):"
    )];
    for (id, _, role, point) in STAFF {
        let secret = totp_secret(id);
        lines.push(format!(
            "  staff:{id:<10} {:<30} at {point:<20} TOTP secret {} (code now {:06}) {}",
            role.label_en(),
            base32_encode(&secret),
            totp_code(&secret, now),
            anju_domain::access::otpauth_uri(
                &format!("{} {centre}", admin::TOTP_ISSUER),
                id,
                &secret
            )
        ));
    }
    for (unit, id) in clerks {
        lines.push(format!("  unit clerk of unit {unit}: ID {id}"));
    }
    for (phone, id) in phones {
        lines.push(format!(
            "  member phone {phone} -> {}",
            mask_resident_id(id)
        ));
    }
    Credentials { lines }
}

/// Seeds points, staff, clerks and phones unless staff exist; returns the banner.
pub fn seed(store: &dyn Store, policy: &Policy, now: Timestamp) -> anyhow::Result<Credentials> {
    let centre = policy.centre().code.as_str();
    let pw = policy.access().password;
    let (existing, units) = {
        let mut tx = store.begin_read()?;
        (tx.staff_list(centre, None)?, tx.unit_nos(centre)?)
    };
    let clerk_of = |i: usize| -> anyhow::Result<String> {
        Ok(
            IdCard::with_check_char(&format!("3308021985010{}00{i}", 1 + i % 9))?
                .as_str()
                .to_owned(),
        )
    };
    let clerk_units: Vec<(String, String)> = units
        .iter()
        .take(2)
        .enumerate()
        .map(|(i, u)| Ok((u.clone(), clerk_of(i)?)))
        .collect::<anyhow::Result<_>>()?;
    let mut phones = Vec::new();
    {
        let mut tx = store.begin_read()?;
        let mut n = 0;
        for u in units.iter().take(3) {
            for m in tx.members_of_unit(centre, u)?.iter().take(10) {
                n += 1;
                phones.push((format!("1380000{n:04}"), m.id_number.clone()));
            }
        }
    }
    if !existing.is_empty() {
        return Ok(banner(centre, &clerk_units, &phones));
    }
    let date = store
        .begin_read()?
        .centre(centre)?
        .ok_or_else(|| anyhow::anyhow!("no demo centre"))?
        .business_date;
    let new_point = |(code, name, t, county, town, village, bank): PointSpec| NewPoint {
        code: code.to_owned(),
        name: name.to_owned(),
        point_type: t,
        county: county.to_owned(),
        town: town.to_owned(),
        village: village.map(str::to_owned),
        bank_code: bank.map(str::to_owned),
        handles: ServicePoint::possible_businesses(t),
        opened_on: date,
    };
    let new_staff = |&(id, name, role, point): &(&str, &str, Role, &str)| NewStaff {
        staff_id: id.to_owned(),
        name: name.to_owned(),
        role,
        service_point: point.to_owned(),
        initial_password: STAFF_PASSWORD.to_owned(),
    };
    admin::bootstrap(
        store,
        centre,
        &pw,
        &Bootstrap {
            point: new_point((
                BACK_OFFICE,
                "衢州市住房公积金管理中心内部办公网",
                PointType::BackOffice,
                "柯城区",
                "府山街道",
                None,
                None,
            )),
            people: STAFF[..4].iter().map(new_staff).collect(),
        },
        now,
    )?;
    let back = |id: &str, role| Actor::staff(id, role, BACK_OFFICE, PointType::BackOffice);
    let sys = back("sysadmin", Role::SystemAdmin);
    let sec = back("secadmin", Role::SecurityAdmin);
    let mgr = back("manager", Role::Manager);
    for &p in POINTS {
        admin::open_point(store, centre, &sys, &new_point(p), now)?;
    }
    // The station takes fewer businesses than its type allows: no withdrawals there.
    admin::set_point_businesses(
        store,
        centre,
        &sys,
        "station-shishi",
        &[
            Business::ViewMemberAccount,
            Business::StatementPrint,
            Business::FlexibleContribution,
        ],
        now,
    )?;
    for s in &STAFF[4..] {
        let created = admin::create_staff(store, centre, &pw, &sec, &new_staff(s), now)?;
        if let Some(id) = created.approval_id {
            admin::confirm_role(store, centre, &mgr, id, now)?;
        }
    }
    let k001 = Actor::staff("k001", Role::CounterClerk, HALL, PointType::CentreHall);
    for (i, (unit, id)) in clerk_units.iter().enumerate() {
        let clerk = NewClerk {
            id_number: id.clone(),
            name: format!("单位经办人{}", i + 1),
            phone: format!("1390000{:04}", i + 1),
            initial_password: CLERK_PASSWORD.to_owned(),
        };
        admin::authorise_clerk(store, centre, &pw, &k001, unit, &clerk, now)?;
    }
    for (phone, id) in &phones {
        admin::bind_phone(store, centre, &k001, id, phone, now)?;
    }
    // Development only: known passwords (not temporary) and TOTP secrets.
    let staff_hash = admin::hash_password(STAFF_PASSWORD)?;
    let clerk_hash = admin::hash_password(CLERK_PASSWORD)?;
    let mut tx = store.begin()?;
    let at = now.as_microsecond();
    for (id, ..) in STAFF {
        tx.set_staff_password(centre, id, &staff_hash, at)?;
        tx.set_staff_totp(centre, id, Some(&base32_encode(&totp_secret(id))))?;
    }
    for (unit, id) in &clerk_units {
        tx.set_unit_clerk_password(centre, unit, id, &clerk_hash, at)?;
    }
    tx.commit()?;
    Ok(banner(centre, &clerk_units, &phones))
}
