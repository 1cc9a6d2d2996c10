//! A centre's people for tests that act through the console or the web: four service
//! points (the fourth, `online`, is where members and unit clerks sign in on the web) and a member of staff in each role a business test needs, written straight to
//! the register (the production path — bootstrap, creation by the security administrator,
//! confirmation by a manager — is tested in `anju-app/tests/access_admin.rs`).
//!
//! | staff | role | point |
//! |---|---|---|
//! | `k001` | counter clerk | `hall` (centre hall) |
//! | `a001` | approver | `hall` |
//! | `ac01` | accountant | `backoffice` |
//! | `au01` | auditor | `backoffice` |
//! | `mgr1` | manager | `backoffice` |
//! | `v001` | station clerk | `station` (village station) |

use anju_domain::access::{PointType, Role, ServicePoint};
use anju_store::Store;
use anju_store::access::{ServicePointRow, StaffRow};
use jiff::civil::Date;

/// The points: code, type and its registry name (`anju_app::access::login::point_type_name`).
const POINTS: &[(&str, PointType, &str)] = &[
    ("hall", PointType::CentreHall, "centre_hall"),
    ("backoffice", PointType::BackOffice, "back_office"),
    ("station", PointType::VillageStation, "village_station"),
    ("online", PointType::Online, "online"),
];

/// The staff: id, role, point.
pub const STAFF: &[(&str, Role, &str)] = &[
    ("k001", Role::CounterClerk, "hall"),
    ("a001", Role::Approver, "hall"),
    ("ac01", Role::Accountant, "backoffice"),
    ("au01", Role::Auditor, "backoffice"),
    ("mgr1", Role::Manager, "backoffice"),
    ("v001", Role::StationClerk, "station"),
];

/// Opens the points (each taking every business its type may) and registers the staff,
/// active with a confirmed role, on `opened` (no password or TOTP: they act at the
/// console, not through a sign-in).
pub fn seed(store: &dyn Store, centre: &str, opened: Date) {
    let mut tx = store.begin().expect("begin");
    for &(code, t, name) in POINTS {
        tx.insert_service_point(
            centre,
            &ServicePointRow {
                code: code.into(),
                name: format!("{} {code}", t.label_zh()),
                point_type: name.into(),
                county: "柯城区".into(),
                town: "府山街道".into(),
                village: None,
                bank_code: None,
                businesses: ServicePoint::possible_businesses(t)
                    .iter()
                    .map(|b| b.code())
                    .collect::<Vec<_>>()
                    .join(","),
                status: "open".into(),
                opened_on: opened,
                closed_on: None,
            },
        )
        .expect("point");
    }
    let at = jiff::Timestamp::now().as_microsecond();
    for &(id, role, point) in STAFF {
        tx.insert_staff(
            centre,
            &StaffRow {
                staff_id: id.into(),
                name: format!("{} {id}", role.label_zh()),
                role: role.code().into(),
                service_point: point.into(),
                password_hash: "!console-only".into(),
                password_changed_at_us: at,
                totp_secret: None,
                totp_last_step: None,
                failed_attempts: 0,
                locked_until_us: None,
                status: "active".into(),
                created_at_us: at,
            },
        )
        .expect("staff");
    }
    tx.commit().expect("commit");
}
