//! Administration (管理): service points, staff and their roles, units' clerks, members'
//! sign-in phones, and the generic maker-checker queue (双人复核).
//!
//! Every act here:
//!
//! 1. checks the acting principal ([`Actor`]) with the permission matrix
//!    ([`anju_domain::access::authorize`]) for its business at the actor's point type —
//!    [`Business::ManageServicePoints`] for the system administrator,
//!    [`Business::ManageStaff`] for the security administrator,
//!    [`Business::UnitChange`] for a unit's clerks (the unit's clerk online, or a counter
//!    clerk), [`Business::MemberChange`] for a member's phone — and that the point type
//!    admits the actor's channel. A refusal is recorded in the audit log (outcome
//!    `denied`, in a transaction of its own) and returned as [`AppError::Forbidden`];
//! 2. does its writes and records one audit event (outcome `ok`) in the **same**
//!    transaction, so an act and its audit row commit together or not at all.
//!
//! # Role grants need a checker
//!
//! The domain says [`Business::ManageStaff`] needs a checker, and
//! [`checker_roles`](anju_domain::access::checker_roles) says the checker is the centre
//! manager. So no administrator alone decides who may do business:
//!
//! * [`create_staff`] creates the account (password, TOTP secret, service point) with
//!   **no role** (the stored role is empty: the account signs in to nothing) and files a
//!   role grant ([`propose_role`]) that a manager confirms ([`confirm_role`]) or rejects
//!   ([`decide`]). Only then does the role take effect.
//! * Resetting a password, disabling an account and moving staff to another point are
//!   done by the security administrator directly: they take power away or keep it the
//!   same kind (a move to a point where the role does nothing is refused).
//! * The first accounts — the three administrators and a manager — are created by
//!   [`bootstrap`] on an empty staff table (the CLI's `anju access bootstrap`), the only
//!   way in without a checker.
//!
//! # Passwords
//!
//! Passwords are checked with [`check_password`] against the policy's `[access]`
//! password rules and stored as Argon2id PHC strings (argon2 crate defaults, a 16-byte
//! random salt). A password set by someone else — an initial password, a reset — is
//! temporary: it is stored with `password_changed_at_us = 0` (the Unix epoch), so
//! [`must_rotate`](anju_domain::access::must_rotate) makes the owner change it at their
//! next sign-in ([`must_change_password`]).

use anju_domain::access::{
    Business, PasswordPolicy, PointStatus, PointType, Role, ServicePoint, allowed_points,
    authorize, base32_encode, check_checker, check_password, mask_phone, mask_resident_id,
    otpauth_uri,
};
use anju_domain::codes::Channel;
use anju_domain::ids::IdCard;
use anju_store::access::{ApprovalRow, PhoneBindingRow, ServicePointRow, StaffRow, UnitClerkRow};
use anju_store::{Store, StoreError, StoreTx};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::audit::{self, AuditEvent, AuditOutcome};
use crate::AppError;

/// Who is acting: built from a signed-in session (or, in the CLI, from the staff table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The principal as the audit log and stamps record it: `staff:k001`,
    /// `unit:<unit_no>/<id_number>`, `member:<id_number>`.
    pub id: String,
    /// The role acted in.
    pub role: Role,
    /// The service point's code.
    pub point: String,
    /// The service point's type.
    pub point_type: PointType,
    /// The channel.
    pub channel: Channel,
}

impl Actor {
    /// A member of staff at a point, on the channel their point type admits first
    /// (the counter at the hall and back office).
    pub fn staff(staff_id: &str, role: Role, point: &str, point_type: PointType) -> Actor {
        let channel = Channel::ALL
            .iter()
            .copied()
            .find(|&c| point_type.admits_channel(c))
            .unwrap_or(Channel::Counter);
        Actor {
            id: format!("staff:{staff_id}"),
            role,
            point: point.to_owned(),
            point_type,
            channel,
        }
    }

    fn event(&self, action: &str, business: Option<Business>, outcome: AuditOutcome) -> AuditEvent {
        AuditEvent {
            actor: self.id.clone(),
            actor_role: self.role.code().to_owned(),
            service_point: self.point.clone(),
            channel: self.channel,
            action: action.to_owned(),
            business,
            subject_id: None,
            subject_unit: None,
            object: None,
            outcome,
            detail: String::new(),
        }
    }
}

fn us(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn invalid(field: &'static str, value: impl Into<String>, rule: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        value: value.into(),
        rule: rule.into(),
    }
}

/// Records a refusal (own transaction; the caller holds none) and returns the error.
#[allow(clippy::too_many_arguments)]
fn forbid(
    store: &dyn Store,
    centre: &str,
    actor: &Actor,
    action: &str,
    business: Business,
    object: Option<&str>,
    reason: String,
    now: Timestamp,
) -> AppError {
    let mut e = actor.event(action, Some(business), AuditOutcome::Denied);
    e.object = object.map(str::to_owned);
    e.detail = reason.clone();
    if let Err(err) = audit::record(store, centre, &e, now) {
        tracing::error!(%err, "could not record a refusal in the audit log");
    }
    AppError::Forbidden { reason }
}

/// The matrix check of every act here: the actor's role may do `business` at their point
/// type, through a channel the point type admits. Call with no transaction open.
fn require(
    store: &dyn Store,
    centre: &str,
    actor: &Actor,
    business: Business,
    action: &str,
    object: Option<&str>,
    now: Timestamp,
) -> Result<(), AppError> {
    let reason = if let Err(d) = authorize(actor.role, business, actor.point_type) {
        Some(d.to_string())
    } else if !actor.point_type.admits_channel(actor.channel) {
        Some(format!(
            "a {} does not take business through the channel {}",
            actor.point_type.label_en(),
            actor.channel.label_en()
        ))
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(forbid(
            store, centre, actor, action, business, object, reason, now,
        )),
    }
}

// ---- service points -------------------------------------------------------------------

pub use super::login::point_type_name;

/// The point type of a store name, or of a domain code (`01` … `09`).
pub fn parse_point_type(text: &str) -> Option<PointType> {
    PointType::ALL
        .iter()
        .copied()
        .find(|&t| point_type_name(t) == text || t.code() == text)
}

fn status_name(s: PointStatus) -> &'static str {
    match s {
        PointStatus::Open => "open",
        PointStatus::Closed => "closed",
    }
}

fn businesses_text(list: &[Business]) -> String {
    list.iter().map(|b| b.code()).collect::<Vec<_>>().join(",")
}

/// A new service point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPoint {
    /// Code (`hall-kecheng`).
    pub code: String,
    /// Name (`柯城区服务大厅`).
    pub name: String,
    /// Type.
    pub point_type: PointType,
    /// County (区县).
    pub county: String,
    /// Town (乡镇/街道).
    pub town: String,
    /// Village (村/社区); required for a village station.
    pub village: Option<String>,
    /// The commissioned bank operating it; required for a bank branch.
    pub bank_code: Option<String>,
    /// The business types it handles (each must be possible at its type).
    pub handles: Vec<Business>,
    /// When it opens.
    pub opened_on: Date,
}

/// A service point as registered: the domain entry and its location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PointInfo {
    /// Code, name, type, status and businesses.
    pub point: ServicePoint,
    /// County.
    pub county: String,
    /// Town.
    pub town: String,
    /// Village.
    pub village: Option<String>,
    /// Operating bank.
    pub bank_code: Option<String>,
    /// Opened.
    pub opened_on: Date,
    /// Closed.
    pub closed_on: Option<Date>,
}

fn corrupt(what: String) -> AppError {
    AppError::Store(StoreError::Corrupt { what })
}

/// A stored point as the domain sees it.
pub fn point_from_row(row: &ServicePointRow) -> Result<PointInfo, AppError> {
    let point_type = parse_point_type(&row.point_type).ok_or_else(|| {
        corrupt(format!(
            "service point {}: type {:?}",
            row.code, row.point_type
        ))
    })?;
    let status = match row.status.as_str() {
        "open" => PointStatus::Open,
        "closed" => PointStatus::Closed,
        other => {
            return Err(corrupt(format!(
                "service point {}: status {other:?}",
                row.code
            )));
        }
    };
    let handles = row
        .businesses
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            Business::from_code(c)
                .map_err(|_| corrupt(format!("service point {}: business {c:?}", row.code)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PointInfo {
        point: ServicePoint {
            code: row.code.clone(),
            name: row.name.clone(),
            point_type,
            status,
            handles,
        },
        county: row.county.clone(),
        town: row.town.clone(),
        village: row.village.clone(),
        bank_code: row.bank_code.clone(),
        opened_on: row.opened_on,
        closed_on: row.closed_on,
    })
}

fn check_new_point(p: &NewPoint) -> Result<(), AppError> {
    let entry = ServicePoint {
        code: p.code.clone(),
        name: p.name.clone(),
        point_type: p.point_type,
        status: PointStatus::Open,
        handles: p.handles.clone(),
    };
    entry
        .validate()
        .map_err(|e| invalid("point", p.code.clone(), e.to_string()))?;
    if p.county.trim().is_empty() {
        return Err(invalid("county", &p.county, "the county must not be empty"));
    }
    if p.town.trim().is_empty() {
        return Err(invalid("town", &p.town, "the town must not be empty"));
    }
    let is_bank = matches!(
        p.point_type,
        PointType::BankBranch | PointType::TownBankBranch
    );
    if is_bank && p.bank_code.as_deref().is_none_or(|b| b.trim().is_empty()) {
        return Err(invalid(
            "bank_code",
            "",
            "a bank branch names the commissioned bank operating it",
        ));
    }
    if p.point_type == PointType::VillageStation
        && p.village.as_deref().is_none_or(|v| v.trim().is_empty())
    {
        return Err(invalid(
            "village",
            "",
            "a village station names its village",
        ));
    }
    Ok(())
}

fn insert_point(tx: &mut dyn StoreTx, centre: &str, p: &NewPoint) -> Result<(), AppError> {
    let row = ServicePointRow {
        code: p.code.clone(),
        name: p.name.clone(),
        point_type: point_type_name(p.point_type).to_owned(),
        county: p.county.clone(),
        town: p.town.clone(),
        village: p.village.clone(),
        bank_code: p.bank_code.clone(),
        businesses: businesses_text(&p.handles),
        status: status_name(PointStatus::Open).to_owned(),
        opened_on: p.opened_on,
        closed_on: None,
    };
    tx.insert_service_point(centre, &row).map_err(|e| match e {
        StoreError::Conflict { .. } => invalid("code", &p.code, "a service point has this code"),
        e => e.into(),
    })
}

/// Opens a service point (system administrator, back office).
pub fn open_point(
    store: &dyn Store,
    centre: &str,
    actor: &Actor,
    new: &NewPoint,
    now: Timestamp,
) -> Result<(), AppError> {
    let b = Business::ManageServicePoints;
    require(
        store,
        centre,
        actor,
        b,
        "point_opened",
        Some(&new.code),
        now,
    )?;
    check_new_point(new)?;
    let mut tx = store.begin()?;
    insert_point(tx.as_mut(), centre, new)?;
    let mut e = actor.event("point_opened", Some(b), AuditOutcome::Ok);
    e.object = Some(new.code.clone());
    e.detail = format!(
        "{} {} ({}), {} {}; handles {}",
        new.point_type.code(),
        new.name,
        point_type_name(new.point_type),
        new.county,
        new.town,
        businesses_text(&new.handles)
    );
    audit::record_in(tx.as_mut(), centre, &e, now)?;
    tx.commit()?;
    Ok(())
}

fn not_found_point(code: &str) -> AppError {
    AppError::NotFound {
        what: format!("service point {code}"),
    }
}

/// Closes an open point as of `on` (system administrator).
pub fn close_point(
    store: &dyn Store,
    centre: &str,
    actor: &Actor,
    code: &str,
    on: Date,
    now: Timestamp,
) -> Result<(), AppError> {
    let b = Business::ManageServicePoints;
    require(store, centre, actor, b, "point_closed", Some(code), now)?;
    let mut tx = store.begin()?;
    tx.close_service_point(centre, code, on)
        .map_err(|e| match e {
            StoreError::NotFound { .. } => not_found_point(code),
            StoreError::Conflict { .. } => {
                invalid("code", code, "the service point is closed already")
            }
            e => e.into(),
        })?;
    let mut e = actor.event("point_closed", Some(b), AuditOutcome::Ok);
    e.object = Some(code.to_owned());
    e.detail = format!("closed on {on}");
    audit::record_in(tx.as_mut(), centre, &e, now)?;
    tx.commit()?;
    Ok(())
}

/// Reopens a closed point (system administrator).
pub fn reopen_point(
    store: &dyn Store,
    centre: &str,
    actor: &Actor,
    code: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let b = Business::ManageServicePoints;
    require(store, centre, actor, b, "point_reopened", Some(code), now)?;
    let mut tx = store.begin()?;
    tx.reopen_service_point(centre, code).map_err(|e| match e {
        StoreError::NotFound { .. } => not_found_point(code),
        StoreError::Conflict { .. } => invalid("code", code, "the service point is open"),
        e => e.into(),
    })?;
    let mut e = actor.event("point_reopened", Some(b), AuditOutcome::Ok);
    e.object = Some(code.to_owned());
    audit::record_in(tx.as_mut(), centre, &e, now)?;
    tx.commit()?;
    Ok(())
}

/// Sets the business types a point handles, validated like a new point's (system
/// administrator).
pub fn set_point_businesses(
    store: &dyn Store,
    centre: &str,
    actor: &Actor,
    code: &str,
    handles: &[Business],
    now: Timestamp,
) -> Result<(), AppError> {
    let b = Business::ManageServicePoints;
    require(
        store,
        centre,
        actor,
        b,
        "point_businesses_set",
        Some(code),
        now,
    )?;
    let mut tx = store.begin()?;
    let row = tx
        .service_point(centre, code)?
        .ok_or_else(|| not_found_point(code))?;
    let mut info = point_from_row(&row)?;
    let before = businesses_text(&info.point.handles);
    info.point.handles = handles.to_vec();
    info.point
        .validate()
        .map_err(|e| invalid("handles", businesses_text(handles), e.to_string()))?;
    tx.set_point_businesses(centre, code, &businesses_text(handles))?;
    let mut e = actor.event("point_businesses_set", Some(b), AuditOutcome::Ok);
    e.object = Some(code.to_owned());
    e.detail = format!("handles {before} -> {}", businesses_text(handles));
    audit::record_in(tx.as_mut(), centre, &e, now)?;
    tx.commit()?;
    Ok(())
}

/// The registered points, of a type and a status when given, by code.
pub fn list_points(
    store: &dyn Store,
    centre: &str,
    point_type: Option<PointType>,
    status: Option<PointStatus>,
) -> Result<Vec<PointInfo>, AppError> {
    let mut tx = store.begin_read()?;
    tx.service_points(
        centre,
        point_type.map(point_type_name),
        status.map(status_name),
    )?
    .iter()
    .map(point_from_row)
    .collect()
}

/// One point by code.
pub fn point(store: &dyn Store, centre: &str, code: &str) -> Result<Option<PointInfo>, AppError> {
    let mut tx = store.begin_read()?;
    tx.service_point(centre, code)?
        .as_ref()
        .map(point_from_row)
        .transpose()
}

// ---- passwords and TOTP ---------------------------------------------------------------

fn random_bytes<const N: usize>() -> Result<[u8; N], AppError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| AppError::Invalid {
        field: "random",
        value: String::new(),
        rule: format!("the system's random source failed: {e}"),
    })?;
    Ok(b)
}

/// Argon2id hashing and checking, shared with sign-in: `hash_password(password)` and
/// `verify_password(password, phc)`.
pub use super::login::{hash_password, verify_password};

/// Whether a stored password is temporary or too old: set by someone else
/// (`password_changed_at_us == 0`) or older than the policy's rotation period.
pub fn must_change_password(changed_at_us: i64, now: Timestamp, policy: &PasswordPolicy) -> bool {
    if changed_at_us <= 0 {
        return true;
    }
    match Timestamp::from_microsecond(changed_at_us) {
        Ok(t) => anju_domain::access::must_rotate(t, now, policy),
        Err(_) => true,
    }
}

/// A random password that passes `policy`: at least 16 characters (or the policy's
/// minimum), all four character classes, none of the easily confused `0O1lI`.
pub fn generate_password(policy: &PasswordPolicy) -> Result<String, AppError> {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"#%+=@^_-";
    let len = usize::try_from(policy.min_length.max(16))
        .unwrap_or(16)
        .min(64);
    let bytes = random_bytes::<64>()?;
    let classes = [UPPER, LOWER, DIGIT, SYMBOL];
    let mut out = String::with_capacity(len);
    for (i, &b) in bytes.iter().take(len).enumerate() {
        // The first four characters cover every class; the rest are from any class.
        let class = if i < 4 {
            classes[i]
        } else {
            classes[usize::from(b) % 4]
        };
        let pick = usize::from(b / 4) % class.len();
        out.push(char::from(class[pick]));
    }
    Ok(out)
}

/// The issuer shown in authenticator apps.
pub const TOTP_ISSUER: &str = "Anju";

// ---- staff ----------------------------------------------------------------------------

/// A new member of staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    /// Staff id (`k001`): 1 to 32 letters, digits, `-` or `_`.
    pub staff_id: String,
    /// Name.
    pub name: String,
    /// The role to grant (confirmed by a manager before it takes effect, see the module
    /// documentation).
    pub role: Role,
    /// The service point they work at (registered and open).
    pub service_point: String,
    /// The initial password (temporary: changed at the first sign-in).
    pub initial_password: String,
}

/// What the new member of staff is handed once: their authenticator enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffCreated {
    /// Staff id.
    pub staff_id: String,
    /// The role grant waiting for a manager (`None` when created by [`bootstrap`]).
    pub approval_id: Option<i64>,
    /// The TOTP secret, base32 (20 random bytes).
    pub totp_secret_base32: String,
    /// The `otpauth://` URI an authenticator app scans.
    pub otpauth_uri: String,
}

/// A member of staff as listed (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffInfo {
    /// Staff id.
    pub staff_id: String,
    /// Name.
    pub name: String,
    /// Role; `None` while the role grant awaits its checker.
    pub role: Option<Role>,
    /// Service point.
    pub service_point: String,
    /// `active` or `disabled`.
    pub status: String,
    /// The password is temporary (set by someone else).
    pub temporary_password: bool,
    /// Enrolled in TOTP.
    pub has_totp: bool,
    /// Locked out until then.
    pub locked_until_us: Option<i64>,
}

/// The role of a stored staff row; `None` while its grant awaits a checker (empty) or
/// when the code is unknown.
pub fn staff_role(row: &StaffRow) -> Option<Role> {
    Role::from_code(&row.role).ok()
}

fn check_staff_id(id: &str) -> Result<(), AppError> {
    let ok = !id.is_empty()
        && id.len() <= 32
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "staff_id",
            id,
            "1 to 32 letters, digits, '-' or '_'",
        ))
    }
}

/// The open point `code` where `role` does some business.
fn role_point(
    tx: &mut dyn StoreTx,
    centre: &str,
    code: &str,
    role: Role,
) -> Result<PointInfo, AppError> {
    let row = tx
        .service_point(centre, code)?
        .ok_or_else(|| not_found_point(code))?;
    let info = point_from_row(&row)?;
    if info.point.status != PointStatus::Open {
        return Err(invalid(
            "service_point",
            code,
            "the service point is closed",
        ));
    }
    if !role.is_staff() {
        return Err(invalid(
            "role",
            role.code(),
            format!("{} is not a staff role", role.label_en()),
        ));
    }
    let t = info.point.point_type;
    if !Business::ALL
        .iter()
        .any(|&b| allowed_points(role, b).contains(&t))
    {
        return Err(invalid(
            "role",
            role.code(),
            format!(
                "a {} does no business at a {} ({code})",
                role.label_en(),
                t.label_en()
            ),
        ));
    }
    Ok(info)
}

fn insert_staff_row(
    tx: &mut dyn StoreTx,
    centre: &str,
    new: &NewStaff,
    role_code: &str,
    policy: &PasswordPolicy,
    now: Timestamp,
) -> Result<StaffCreated, AppError> {
    check_staff_id(&new.staff_id)?;
    if new.name.trim().is_empty() {
        return Err(invalid("name", &new.name, "the name must not be empty"));
    }
    check_password(&new.initial_password, &new.staff_id, policy)
        .map_err(|e| invalid("initial_password", "(hidden)", e.to_string()))?;
    role_point(tx, centre, &new.service_point, new.role)?;
    let secret = random_bytes::<20>()?;
    let secret_b32 = base32_encode(&secret);
    let row = StaffRow {
        staff_id: new.staff_id.clone(),
        name: new.name.clone(),
        role: role_code.to_owned(),
        service_point: new.service_point.clone(),
        password_hash: hash_password(&new.initial_password)?,
        password_changed_at_us: 0,
        totp_secret: Some(secret_b32.clone()),
        totp_last_step: None,
        failed_attempts: 0,
        locked_until_us: None,
        status: "active".to_owned(),
        created_at_us: us(now),
    };
    tx.insert_staff(centre, &row).map_err(|e| match e {
        StoreError::Conflict { .. } => {
            invalid("staff_id", &new.staff_id, "a member of staff has this id")
        }
        e => e.into(),
    })?;
    Ok(StaffCreated {
        staff_id: new.staff_id.clone(),
        approval_id: None,
        otpauth_uri: otpauth_uri(&format!("{TOTP_ISSUER} {centre}"), &new.staff_id, &secret),
        totp_secret_base32: secret_b32,
    })
}

/// What a role grant's approval carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleGrant {
    /// Always `role_grant`.
    pub kind: String,
    /// Whose role.
    pub staff_id: String,
    /// The role granted.
    pub role: Role,
}

const ROLE_GRANT: &str = "role_grant";

fn file_role_grant(
    tx: &mut dyn StoreTx,
    centre: &str,
    actor: &Actor,
    staff_id: &str,
    role: Role,
    now: Timestamp,
) -> Result<i64, AppError> {
    let payload = serde_json::to_string(&RoleGrant {
        kind: ROLE_GRANT.to_owned(),
        staff_id: staff_id.to_owned(),
        role,
    })
    .map_err(|e| invalid("payload", "", e.to_string()))?;
    let id = tx.insert_approval(
        centre,
        &ApprovalRow {
            id: 0,
            business: Business::ManageStaff.code().to_owned(),
            object: format!("staff:{staff_id}"),
            payload,
            maker: actor.id.clone(),
            made_at_us: us(now),
            checker: None,
            checked_at_us: None,
            decision: "pending".to_owned(),
            reason: None,
        },
    )?;
    let mut e = actor.event(
        "approval_proposed",
        Some(Business::ManageStaff),
        AuditOutcome::Ok,
    );
    e.object = Some(format!("approval:{id}"));
    e.detail = format!("grant role {} to staff:{staff_id}", role.code());
    audit::record_in(tx, centre, &e, now)?;
    Ok(id)
}

/// Creates a member of staff (security administrator): the account with its temporary
/// password and TOTP secret, **without a role**, and the role grant for a manager to
/// confirm ([`confirm_role`]). Returns the enrolment to hand over once.
pub fn create_staff(
    store: &dyn Store,
    centre: &str,
    policy: &PasswordPolicy,
    actor: &Actor,
    new: &NewStaff,
    now: Timestamp,
) -> Result<StaffCreated, AppError> {
    let b = Business::ManageStaff;
    let object = format!("staff:{}", new.staff_id);
    require(store, centre, actor, b, "staff_created", Some(&object), now)?;
    let mut tx = store.begin()?;
    let mut created = insert_staff_row(tx.as_mut(), centre, new, "", policy, now)?;
    let mut e = actor.event("staff_created", Some(b), AuditOutcome::Ok);
    e.object = Some(object);
    e.detail = format!(
        "{} at {}; role {} awaits a manager",
        new.name,
        new.service_point,
        new.role.code()
    );
    audit::record_in(tx.as_mut(), centre, &e, now)?;
    created.approval_id = Some(file_role_grant(
        tx.as_mut(),
        centre,
        actor,
        &new.staff_id,
        new.role,
        now,
    )?);
    tx.commit()?;
    Ok(created)
}

/// Proposes a role for an existing member of staff (security administrator); a manager
/// confirms it. Returns the approval id.
pub fn propose_role(
    store: &dyn Store,
    centre: &str,
    actor: &Actor,
    staff_id: &str,
    role: Role,
    now: Timestamp,
) -> Result<i64, AppError> {
    let object = format!("staff:{staff_id}");
    require(
        store,
        centre,
        actor,
        Business::ManageStaff,
        "approval_proposed",
        Some(&object),
        now,
    )?;
    let mut tx = store.begin()?;
    let row = tx
        .staff(centre, staff_id)?
        .ok_or_else(|| AppError::NotFound {
            what: format!("staff {staff_id}"),
        })?;
    if row.status != "active" {
        return Err(invalid("staff_id", staff_id, "the account is disabled"));
    }
    role_point(tx.as_mut(), centre, &row.service_point, role)?;
    let id = file_role_grant(tx.as_mut(), centre, actor, staff_id, role, now)?;
    tx.commit()?;
    Ok(id)
}

/// Confirms a pending role grant (a manager, not its maker): the role takes effect.
pub fn confirm_role(
    store: &dyn Store,
    centre: &str,
    checker: &Actor,
    approval_id: i64,
    now: Timestamp,
) -> Result<(), AppError> {
    {
        let mut tx = store.begin_read()?;
        let row = tx
            .approval(centre, approval_id)?
            .ok_or_else(|| AppError::NotFound {
                what: format!("approval {approval_id}"),
            })?;
        if role_grant_of(&row).is_none() {
            return Err(invalid(
                "approval_id",
                approval_id.to_string(),
                "not a role grant",
            ));
        }
    }
    decide(store, centre, checker, approval_id, true, None, now)
}

fn role_grant_of(row: &ApprovalRow) -> Option<RoleGrant> {
    if row.business != Business::ManageStaff.code() {
        return None;
    }
    serde_json::from_str::<RoleGrant>(&row.payload)
        .ok()
        .filter(|g| g.kind == ROLE_GRANT)
}

fn staff_or_not_found(
    tx: &mut dyn StoreTx,
    centre: &str,
    staff_id: &str,
) -> Result<StaffRow, AppError> {
    tx.staff(centre, staff_id)?
        .ok_or_else(|| AppError::NotFound {
            what: format!("staff {staff_id}"),
        })
}

/// Resets a password (security administrator): a new random temporary password that
/// passes the policy, returned once; failures and lock cleared, sessions revoked, and the
/// owner must change it at the next sign-in.
pub fn reset_password(
    store: &dyn Store,
    centre: &str,
    policy: &PasswordPolicy,
    actor: &Actor,
    staff_id: &str,
    now: Timestamp,
) -> Result<String, AppError> {
    let b = Business::ManageStaff;
    let object = format!("staff:{staff_id}");
    require(
        store,
        centre,
        actor,
        b,
        "password_reset",
        Some(&object),
        now,
    )?;
    if actor.id == object {
        return Err(invalid(
            "staff_id",
            staff_id,
            "change your own password by signing in, not by a reset",
        ));
    }
    let mut tx = store.begin()?;
    staff_or_not_found(tx.as_mut(), centre, staff_id)?;
    let mut password = generate_password(policy)?;
    while check_password(&password, staff_id, policy).is_err() {
        password = generate_password(policy)?;
    }
    tx.set_staff_password(centre, staff_id, &hash_password(&password)?, 0)?;
    let revoked = tx.revoke_sessions_of(centre, "staff", staff_id, us(now))?;
    let mut e = actor.event("password_reset", Some(b), AuditOutcome::Ok);
    e.object = Some(object);
    e.detail = format!("temporary password issued; {revoked} session(s) revoked");
    audit::record_in(tx.as_mut(), centre, &e, now)?;
    tx.commit()?;
    Ok(password)
}

/// Disables an account and revokes its sessions (security administrator; not one's own).
pub fn disable_staff(
    store: &dyn Store,
    centre: &str,
    actor: &Actor,
    staff_id: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let b = Business::ManageStaff;
    let object = format!("staff:{staff_id}");
    require(
        store,
        centre,
        actor,
        b,
        "staff_disabled",
        Some(&object),
        now,
    )?;
    if actor.id == object {
        return Err(invalid(
            "staff_id",
            staff_id,
            "an administrator does not disable their own account",
        ));
    }
    let mut tx = store.begin()?;
    tx.disable_staff(centre, staff_id).map_err(|e| match e {
        StoreError::NotFound { .. } => AppError::NotFound {
            what: format!("staff {staff_id}"),
        },
        StoreError::Conflict { .. } => {
            invalid("staff_id", staff_id, "the account is disabled already")
        }
        e => e.into(),
    })?;
    let revoked = tx.revoke_sessions_of(centre, "staff", staff_id, us(now))?;
    let mut e = actor.event("staff_disabled", Some(b), AuditOutcome::Ok);
    e.object = Some(object);
    e.detail = format!("{revoked} session(s) revoked");
    audit::record_in(tx.as_mut(), centre, &e, now)?;
    tx.commit()?;
    Ok(())
}

/// Moves a member of staff to another open point where their role does business
/// (security administrator); their sessions at the old point are revoked.
pub fn move_staff(
    store: &dyn Store,
    centre: &str,
    actor: &Actor,
    staff_id: &str,
    point: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let b = Business::ManageStaff;
    let object = format!("staff:{staff_id}");
    require(store, centre, actor, b, "staff_moved", Some(&object), now)?;
    let mut tx = store.begin()?;
    let row = staff_or_not_found(tx.as_mut(), centre, staff_id)?;
    match staff_role(&row) {
        Some(role) => {
            role_point(tx.as_mut(), centre, point, role)?;
        }
        None => {
            tx.service_point(centre, point)?
                .ok_or_else(|| not_found_point(point))?;
        }
    }
    tx.set_staff_point(centre, staff_id, point)?;
    let revoked = tx.revoke_sessions_of(centre, "staff", staff_id, us(now))?;
    let mut e = actor.event("staff_moved", Some(b), AuditOutcome::Ok);
    e.object = Some(object);
    e.detail = format!(
        "{} -> {point}; {revoked} session(s) revoked",
        row.service_point
    );
    audit::record_in(tx.as_mut(), centre, &e, now)?;
    tx.commit()?;
    Ok(())
}

/// The staff of a point (all when `None`), by id, without secrets.
pub fn list_staff(
    store: &dyn Store,
    centre: &str,
    point: Option<&str>,
) -> Result<Vec<StaffInfo>, AppError> {
    let mut tx = store.begin_read()?;
    Ok(tx
        .staff_list(centre, point)?
        .iter()
        .map(|r| StaffInfo {
            staff_id: r.staff_id.clone(),
            name: r.name.clone(),
            role: staff_role(r),
            service_point: r.service_point.clone(),
            status: r.status.clone(),
            temporary_password: r.password_changed_at_us <= 0,
            has_totp: r.totp_secret.is_some(),
            locked_until_us: r.locked_until_us,
        })
        .collect())
}

/// The acting principal of a member of staff, read from the staff table: active, with a
/// confirmed role, at a registered point (what the CLI's `--as staff:<id>` uses).
pub fn staff_actor(store: &dyn Store, centre: &str, staff_id: &str) -> Result<Actor, AppError> {
    let mut tx = store.begin_read()?;
    let row = staff_or_not_found(tx.as_mut(), centre, staff_id)?;
    if row.status != "active" {
        return Err(AppError::Unauthenticated {
            reason: format!("staff {staff_id} is disabled"),
        });
    }
    let role = staff_role(&row).ok_or_else(|| AppError::Forbidden {
        reason: format!("staff {staff_id} has no confirmed role yet"),
    })?;
    let point = tx
        .service_point(centre, &row.service_point)?
        .ok_or_else(|| not_found_point(&row.service_point))?;
    let info = point_from_row(&point)?;
    Ok(Actor::staff(
        staff_id,
        role,
        &row.service_point,
        info.point.point_type,
    ))
}

// ---- bootstrap ------------------------------------------------------------------------

/// The first accounts: the back-office point and the people who run the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    /// The back-office point (created when missing; must be of type back office).
    pub point: NewPoint,
    /// The administrators and managers, each at `point`; roles among the three
    /// administrators and the manager.
    pub people: Vec<NewStaff>,
}

/// Creates the first accounts on an empty staff table, with their roles in effect (no
/// checker exists yet): the only way in without maker-checker. Refused once any staff
/// exist. Recorded in the audit log as `system:bootstrap`.
pub fn bootstrap(
    store: &dyn Store,
    centre: &str,
    policy: &PasswordPolicy,
    spec: &Bootstrap,
    now: Timestamp,
) -> Result<Vec<StaffCreated>, AppError> {
    if spec.point.point_type != PointType::BackOffice {
        return Err(invalid(
            "point_type",
            spec.point.point_type.code(),
            "the first accounts work at the back office",
        ));
    }
    for p in &spec.people {
        if !(p.role.is_admin() || p.role == Role::Manager) {
            return Err(invalid(
                "role",
                p.role.code(),
                "bootstrap creates only the three administrators and managers",
            ));
        }
        if p.service_point != spec.point.code {
            return Err(invalid(
                "service_point",
                &p.service_point,
                "must be the back-office point",
            ));
        }
    }
    let mut tx = store.begin()?;
    if tx.centre(centre)?.is_none() {
        return Err(AppError::NotFound {
            what: format!("centre {centre}"),
        });
    }
    if !tx.staff_list(centre, None)?.is_empty() {
        return Err(invalid(
            "staff",
            "",
            "staff exist already: bootstrap is only for an empty staff table",
        ));
    }
    let system = AuditEvent {
        actor: "system:bootstrap".to_owned(),
        actor_role: String::new(),
        service_point: spec.point.code.clone(),
        channel: Channel::Batch,
        action: String::new(),
        business: None,
        subject_id: None,
        subject_unit: None,
        object: None,
        outcome: AuditOutcome::Ok,
        detail: String::new(),
    };
    match tx.service_point(centre, &spec.point.code)? {
        Some(row) => {
            let info = point_from_row(&row)?;
            if info.point.point_type != PointType::BackOffice {
                return Err(invalid(
                    "point",
                    &spec.point.code,
                    "exists and is not a back-office point",
                ));
            }
        }
        None => {
            check_new_point(&spec.point)?;
            insert_point(tx.as_mut(), centre, &spec.point)?;
            let mut e = system.clone();
            e.action = "point_opened".to_owned();
            e.business = Some(Business::ManageServicePoints);
            e.object = Some(spec.point.code.clone());
            e.detail = format!("{} (bootstrap)", spec.point.name);
            audit::record_in(tx.as_mut(), centre, &e, now)?;
        }
    }
    let mut out = Vec::new();
    for p in &spec.people {
        let created = insert_staff_row(tx.as_mut(), centre, p, p.role.code(), policy, now)?;
        let mut e = system.clone();
        e.action = "staff_created".to_owned();
        e.business = Some(Business::ManageStaff);
        e.object = Some(format!("staff:{}", p.staff_id));
        e.detail = format!("{} with role {} (bootstrap)", p.name, p.role.code());
        audit::record_in(tx.as_mut(), centre, &e, now)?;
        out.push(created);
    }
    tx.commit()?;
    Ok(out)
}

// ---- unit clerks ----------------------------------------------------------------------

/// A clerk a unit authorises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClerk {
    /// Resident ID number.
    pub id_number: String,
    /// Name.
    pub name: String,
    /// Mobile phone.
    pub phone: String,
    /// Initial password (temporary).
    pub initial_password: String,
}

fn check_phone(phone: &str) -> Result<(), AppError> {
    let ok =
        phone.len() == 11 && phone.starts_with('1') && phone.chars().all(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "phone",
            mask_phone(phone),
            "11 digits starting with 1",
        ))
    }
}

/// May `actor` manage `unit_no`'s clerks? A counter clerk at the hall or a town bank
/// branch, or one of the unit's own authorised clerks online.
fn require_unit(
    store: &dyn Store,
    centre: &str,
    actor: &Actor,
    unit_no: &str,
    action: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let b = Business::UnitChange;
    let object = format!("unit:{unit_no}");
    require(store, centre, actor, b, action, Some(&object), now)?;
    if actor.role == Role::UnitClerk {
        let own = actor
            .id
            .strip_prefix("unit:")
            .and_then(|r| r.split_once('/'))
            .filter(|(u, _)| *u == unit_no);
        let authorised = match own {
            Some((_, id)) => {
                let mut tx = store.begin_read()?;
                tx.unit_clerk(centre, unit_no, id)?
                    .is_some_and(|c| c.revoked_at_us.is_none())
            }
            None => false,
        };
        if !authorised {
            return Err(forbid(
                store,
                centre,
                actor,
                action,
                b,
                Some(&object),
                format!("a unit's clerk manages only their own unit's clerks, not {unit_no}'s"),
                now,
            ));
        }
    }
    Ok(())
}

/// Authorises a unit's clerk (a counter clerk, or one of the unit's own clerks online).
pub fn authorise_clerk(
    store: &dyn Store,
    centre: &str,
    policy: &PasswordPolicy,
    actor: &Actor,
    unit_no: &str,
    new: &NewClerk,
    now: Timestamp,
) -> Result<(), AppError> {
    require_unit(store, centre, actor, unit_no, "clerk_authorised", now)?;
    IdCard::parse(&new.id_number)
        .map_err(|e| invalid("id_number", mask_resident_id(&new.id_number), e.to_string()))?;
    if new.name.trim().is_empty() {
        return Err(invalid("name", &new.name, "the name must not be empty"));
    }
    check_phone(&new.phone)?;
    check_password(&new.initial_password, &new.id_number, policy)
        .map_err(|e| invalid("initial_password", "(hidden)", e.to_string()))?;
    let mut tx = store.begin()?;
    if tx.unit(centre, unit_no)?.is_none() {
        return Err(AppError::NotFound {
            what: format!("unit {unit_no}"),
        });
    }
    let row = UnitClerkRow {
        unit_no: unit_no.to_owned(),
        id_number: new.id_number.clone(),
        name: new.name.clone(),
        phone: new.phone.clone(),
        password_hash: hash_password(&new.initial_password)?,
        password_changed_at_us: 0,
        failed_attempts: 0,
        locked_until_us: None,
        authorised_at_us: us(now),
        revoked_at_us: None,
    };
    tx.insert_unit_clerk(centre, &row).map_err(|e| match e {
        StoreError::Conflict { .. } => invalid(
            "id_number",
            mask_resident_id(&new.id_number),
            "the clerk is authorised already",
        ),
        e => e.into(),
    })?;
    let mut e = actor.event(
        "clerk_authorised",
        Some(Business::UnitChange),
        AuditOutcome::Ok,
    );
    e.subject_id = Some(new.id_number.clone());
    e.subject_unit = Some(unit_no.to_owned());
    e.object = Some(format!(
        "unit:{unit_no}/{}",
        mask_resident_id(&new.id_number)
    ));
    e.detail = format!("phone {}", mask_phone(&new.phone));
    audit::record_in(tx.as_mut(), centre, &e, now)?;
    tx.commit()?;
    Ok(())
}

/// Revokes a unit clerk's authorisation and their sessions.
pub fn revoke_clerk(
    store: &dyn Store,
    centre: &str,
    actor: &Actor,
    unit_no: &str,
    id_number: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    require_unit(store, centre, actor, unit_no, "clerk_revoked", now)?;
    let mut tx = store.begin()?;
    tx.revoke_unit_clerk(centre, unit_no, id_number, us(now))
        .map_err(|e| match e {
            StoreError::NotFound { .. } => AppError::NotFound {
                what: format!("clerk {} of unit {unit_no}", mask_resident_id(id_number)),
            },
            StoreError::Conflict { .. } => invalid(
                "id_number",
                mask_resident_id(id_number),
                "the clerk's authorisation is revoked already",
            ),
            e => e.into(),
        })?;
    let revoked = tx.revoke_sessions_of(
        centre,
        "unit_clerk",
        &format!("{unit_no}/{id_number}"),
        us(now),
    )?;
    let mut e = actor.event(
        "clerk_revoked",
        Some(Business::UnitChange),
        AuditOutcome::Ok,
    );
    e.subject_id = Some(id_number.to_owned());
    e.subject_unit = Some(unit_no.to_owned());
    e.object = Some(format!("unit:{unit_no}/{}", mask_resident_id(id_number)));
    e.detail = format!("{revoked} session(s) revoked");
    audit::record_in(tx.as_mut(), centre, &e, now)?;
    tx.commit()?;
    Ok(())
}

// ---- member phones --------------------------------------------------------------------

/// Binds the phone a member signs in with (a counter clerk, or whoever the matrix lets
/// do member changes at their point). The person must have an account in the registry;
/// a phone bound to someone else is refused.
pub fn bind_phone(
    store: &dyn Store,
    centre: &str,
    actor: &Actor,
    id_number: &str,
    phone: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let b = Business::MemberChange;
    require(
        store,
        centre,
        actor,
        b,
        "phone_bound",
        Some(&mask_phone(phone)),
        now,
    )?;
    check_phone(phone)?;
    let mut tx = store.begin()?;
    if tx.member_by_id_number(centre, id_number)?.is_none() {
        return Err(AppError::NotFound {
            what: format!("member {}", mask_resident_id(id_number)),
        });
    }
    let before = tx.phone_of_person(centre, id_number)?;
    tx.bind_phone(
        centre,
        &PhoneBindingRow {
            id_number: id_number.to_owned(),
            phone: phone.to_owned(),
            bound_at_us: us(now),
            bound_by: actor.id.clone(),
        },
    )
    .map_err(|e| match e {
        StoreError::Conflict { .. } => invalid(
            "phone",
            mask_phone(phone),
            "the phone is bound to another person",
        ),
        e => e.into(),
    })?;
    let mut e = actor.event("phone_bound", Some(b), AuditOutcome::Ok);
    e.subject_id = Some(id_number.to_owned());
    e.object = Some(mask_phone(phone));
    e.detail = match before {
        Some(old) => format!("replaces {}", mask_phone(&old.phone)),
        None => "first phone".to_owned(),
    };
    audit::record_in(tx.as_mut(), centre, &e, now)?;
    tx.commit()?;
    Ok(())
}

// ---- maker-checker --------------------------------------------------------------------

/// Files a change for a checker (双人复核): the maker must be allowed to do `business` at
/// their point, and the business must have a checker step. Returns the approval id.
pub fn propose(
    store: &dyn Store,
    centre: &str,
    actor: &Actor,
    business: Business,
    object: &str,
    payload_json: &str,
    now: Timestamp,
) -> Result<i64, AppError> {
    if !business.needs_checker() {
        return Err(invalid(
            "business",
            business.code(),
            format!("{} has no checker step", business.label_en()),
        ));
    }
    serde_json::from_str::<serde_json::Value>(payload_json)
        .map_err(|e| invalid("payload", "", format!("not JSON: {e}")))?;
    if object.trim().is_empty() {
        return Err(invalid("object", object, "name what the change is about"));
    }
    require(
        store,
        centre,
        actor,
        business,
        "approval_proposed",
        Some(object),
        now,
    )?;
    // What a confirmation will do must be readable now, not fail at the checker.
    if business == Business::PolicyChange {
        let p: super::policy::PolicyChange = serde_json::from_str(payload_json).map_err(|e| {
            invalid(
                "payload",
                "",
                format!("not a {} request: {e}", business.label_en()),
            )
        })?;
        super::policy::check_change(centre, &p)?;
    }
    let typed = match business {
        Business::Unfreeze => serde_json::from_str::<UnfreezeRequest>(payload_json).err(),
        Business::Reversal => serde_json::from_str::<ReversalRequest>(payload_json).err(),
        _ => None,
    };
    if let Some(e) = typed {
        return Err(invalid(
            "payload",
            payload_json,
            format!("not a {} request: {e}", business.label_en()),
        ));
    }
    let mut tx = store.begin()?;
    let id = tx.insert_approval(
        centre,
        &ApprovalRow {
            id: 0,
            business: business.code().to_owned(),
            object: object.to_owned(),
            payload: payload_json.to_owned(),
            maker: actor.id.clone(),
            made_at_us: us(now),
            checker: None,
            checked_at_us: None,
            decision: "pending".to_owned(),
            reason: None,
        },
    )?;
    let mut e = actor.event("approval_proposed", Some(business), AuditOutcome::Ok);
    e.object = Some(format!("approval:{id}"));
    e.detail = format!("for {object}");
    audit::record_in(tx.as_mut(), centre, &e, now)?;
    tx.commit()?;
    Ok(id)
}

/// Approves or rejects a pending change as its checker: someone other than the maker,
/// in a role allowed to check the business ([`check_checker`]). Both a refusal and the
/// decision are audited. An approved role grant, unfreeze, reversal or policy change
/// ([`super::policy`]: the next policy version, refused if the proposal is stale) takes
/// effect here, in the transaction that records the approval; other businesses' changes
/// are applied by their own use cases, which read the approval.
pub fn decide(
    store: &dyn Store,
    centre: &str,
    checker: &Actor,
    approval_id: i64,
    approve: bool,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<(), AppError> {
    let object = format!("approval:{approval_id}");
    let action = if approve {
        "approval_approved"
    } else {
        "approval_rejected"
    };
    let row = {
        let mut tx = store.begin_read()?;
        tx.approval(centre, approval_id)?
            .ok_or_else(|| AppError::NotFound {
                what: format!("approval {approval_id}"),
            })?
    };
    let business = Business::from_code(&row.business).map_err(|_| {
        corrupt(format!(
            "approval {approval_id}: business {:?}",
            row.business
        ))
    })?;
    if let Err(d) = check_checker(&row.maker, &checker.id, checker.role, business) {
        return Err(forbid(
            store,
            centre,
            checker,
            action,
            business,
            Some(&object),
            d.to_string(),
            now,
        ));
    }
    if row.decision != "pending" {
        return Err(invalid(
            "approval_id",
            approval_id.to_string(),
            format!("decided already ({})", row.decision),
        ));
    }
    if !approve && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(invalid("reason", "", "a rejection gives its reason"));
    }
    let mut tx = store.begin()?;
    let decision = if approve { "approved" } else { "rejected" };
    tx.decide_approval(centre, approval_id, decision, &checker.id, us(now), reason)
        .map_err(|e| match e {
            StoreError::Conflict { .. } => {
                invalid("approval_id", approval_id.to_string(), "decided already")
            }
            e => e.into(),
        })?;
    let mut detail = format!("{} by {}", row.object, row.maker);
    if approve && let Some(grant) = role_grant_of(&row) {
        let staff = staff_or_not_found(tx.as_mut(), centre, &grant.staff_id)?;
        if staff.status != "active" {
            return Err(invalid(
                "staff_id",
                &grant.staff_id,
                "the account is disabled",
            ));
        }
        role_point(tx.as_mut(), centre, &staff.service_point, grant.role)?;
        tx.set_staff_role(centre, &grant.staff_id, grant.role.code())?;
        detail = format!(
            "role {} of staff:{} in effect (was {:?})",
            grant.role.code(),
            grant.staff_id,
            staff.role
        );
    }
    if approve {
        // The sensitive acts that wait for a checker are done here, in the transaction
        // that records the approval: approved ⇔ done.
        let stamp = anju_domain::stamp::Stamp {
            operator: checker.id.clone(),
            channel: checker.channel,
            service_point: checker.point.clone(),
            on_behalf_of: None,
        };
        match business {
            Business::Unfreeze => {
                let p: UnfreezeRequest = payload_of(&row)?;
                crate::registry::change_member_in(
                    tx.as_mut(),
                    centre,
                    &p.account_no,
                    crate::registry::MemberAct::Unfreeze,
                    &p.reason,
                    &stamp,
                    now,
                )?;
                detail = format!("personal account {} unfrozen ({})", p.account_no, row.maker);
            }
            Business::Reversal => {
                let p: ReversalRequest = payload_of(&row)?;
                // The rules in effect are the approved ones: a reversal across a year-end
                // settlement corrects the interest at that year's rates from them.
                let policy = match tx.current_policy(centre)? {
                    Some(v) => Some(super::policy::validate(centre, &v.text)?),
                    None => None,
                };
                let posted = crate::remittance::correct_payment_in(
                    tx.as_mut(),
                    centre,
                    policy.as_ref(),
                    &p.bill_no,
                    &p.entry_key,
                    &p.reason,
                    &stamp,
                    now,
                )?;
                let seqs: Vec<String> = posted.iter().map(|e| e.entry.seq.to_string()).collect();
                detail = format!(
                    "entry {} of bill {} reversed as entry {} ({})",
                    p.entry_key,
                    p.bill_no,
                    seqs.join(" + interest correction "),
                    row.maker
                );
            }
            Business::PolicyChange => {
                let p: super::policy::PolicyChange = payload_of(&row)?;
                let version = super::policy::apply_change_in(
                    tx.as_mut(),
                    centre,
                    &p,
                    &row.maker,
                    &checker.id,
                    approval_id,
                    now,
                )?;
                detail = format!(
                    "policy version {version} (sm3 {}) in effect ({})",
                    p.sm3, row.maker
                );
            }
            _ => {}
        }
    }
    if let Some(r) = reason {
        detail.push_str("; ");
        detail.push_str(r);
    }
    let mut e = checker.event(action, Some(business), AuditOutcome::Ok);
    e.object = Some(object);
    e.detail = detail;
    audit::record_in(tx.as_mut(), centre, &e, now)?;
    tx.commit()?;
    Ok(())
}

/// What an unfreeze waiting for its checker will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnfreezeRequest {
    /// The personal account.
    pub account_no: String,
    /// Why (e.g. the court's release order).
    pub reason: String,
}

/// What a reversal (冲正) of a bill's payment waiting for its checker will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReversalRequest {
    /// The bill.
    pub bill_no: String,
    /// The entry that paid lines of it.
    pub entry_key: String,
    /// Why.
    pub reason: String,
}

fn payload_of<T: for<'de> Deserialize<'de>>(row: &ApprovalRow) -> Result<T, AppError> {
    serde_json::from_str(&row.payload)
        .map_err(|e| corrupt(format!("approval {}: payload: {e}", row.id)))
}

fn reason_ok(reason: &str) -> Result<String, AppError> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > 100 || r.chars().any(char::is_control) {
        return Err(invalid("reason", r, "must be 1-100 printable characters"));
    }
    Ok(r.to_owned())
}

/// Proposes unfreezing a frozen account (解冻): done only when an approver or the manager
/// confirms it with [`decide`].
pub fn propose_unfreeze(
    store: &dyn Store,
    centre: &str,
    maker: &Actor,
    account_no: &str,
    reason: &str,
    now: Timestamp,
) -> Result<i64, AppError> {
    let reason = reason_ok(reason)?;
    let member = store
        .begin_read()?
        .member(centre, account_no)?
        .ok_or_else(|| AppError::NotFound {
            what: format!("personal account {account_no}"),
        })?;
    if member.status != anju_domain::codes::PersonalAccountStatus::Frozen {
        return Err(invalid(
            "account_no",
            account_no,
            format!("is not frozen (status {})", member.status.code()),
        ));
    }
    let payload = serde_json::to_string(&UnfreezeRequest {
        account_no: account_no.to_owned(),
        reason,
    })
    .map_err(|e| corrupt(e.to_string()))?;
    propose(
        store,
        centre,
        maker,
        Business::Unfreeze,
        &format!("member:{account_no}"),
        &payload,
        now,
    )
}

/// Proposes reversing the entry that paid lines of a bill (冲正): done only when an
/// approver or the manager confirms it with [`decide`].
pub fn propose_reversal(
    store: &dyn Store,
    centre: &str,
    maker: &Actor,
    bill_no: &str,
    entry_key: &str,
    reason: &str,
    now: Timestamp,
) -> Result<i64, AppError> {
    let reason = reason_ok(reason)?;
    let paid = store
        .begin_read()?
        .bill_lines(centre, bill_no)?
        .iter()
        .any(|l| l.paid_entry.as_deref() == Some(entry_key));
    if !paid {
        return Err(invalid(
            "entry_key",
            entry_key,
            format!("paid no line of bill {bill_no}"),
        ));
    }
    let payload = serde_json::to_string(&ReversalRequest {
        bill_no: bill_no.to_owned(),
        entry_key: entry_key.to_owned(),
        reason,
    })
    .map_err(|e| corrupt(e.to_string()))?;
    propose(
        store,
        centre,
        maker,
        Business::Reversal,
        &format!("bill:{bill_no}"),
        &payload,
        now,
    )
}

/// Pending changes of a business (any when `None`), oldest first.
pub fn pending(
    store: &dyn Store,
    centre: &str,
    business: Option<Business>,
) -> Result<Vec<ApprovalRow>, AppError> {
    let mut tx = store.begin_read()?;
    Ok(tx.pending_approvals(centre, business.map(|b| b.code()))?)
}
