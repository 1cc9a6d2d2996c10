//! The guard every request passes (issue 8 §3, §5): the permission matrix (role ×
//! business × point type), the service point's own list and status, and whose data it
//! is — a member sees only their own account, a unit clerk only their unit and its
//! members. Every decision about a member's or unit's data is written to the audit log,
//! allowed or denied, so "who looked at whose account" is always answerable.

use anju_domain::access::{Business, Role};
use anju_domain::codes::Channel;
use anju_domain::stamp::Stamp;
use anju_store::{Store, StoreTx};
use jiff::Timestamp;

use super::audit::{self, AuditOutcome};
use super::login::{Principal, SubjectKind, open_point, staff_channel};
use crate::AppError;

/// Whose data a request touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// Nobody's in particular (a report, a list of the actor's own work).
    None,
    /// A member, by resident ID number.
    Member(&'a str),
    /// A unit, by unit number.
    Unit(&'a str),
}

fn denied(reason: String) -> AppError {
    AppError::Forbidden { reason }
}

/// Decides in the caller's transaction and writes the audit row there (the caller
/// commits it, also when refusing).
pub fn check_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    p: &Principal,
    business: Business,
    target: Target<'_>,
    now: Timestamp,
) -> Result<Result<(), String>, AppError> {
    let mut verdict = p
        .point
        .authorize(p.role, business)
        .map_err(|d| d.to_string());
    if verdict.is_ok() && !p.point.point_type.admits_channel(p.channel) {
        verdict = Err(format!(
            "channel {} is not a channel of service point {}",
            p.channel.code(),
            p.point.code
        ));
    }
    if verdict.is_ok() {
        verdict = owns(tx, centre, p, target)?;
    }
    if verdict.is_ok() && p.must_change_password {
        verdict = Err("the password must be changed first".to_owned());
    }
    let mut event = p.event(
        "authorize",
        if verdict.is_ok() {
            AuditOutcome::Allowed
        } else {
            AuditOutcome::Denied
        },
        verdict.as_ref().err().cloned().unwrap_or_default(),
    );
    event.business = Some(business);
    match target {
        Target::None => {
            event.subject_id = None;
            event.subject_unit = None;
        }
        Target::Member(id) => {
            event.subject_id = Some(id.to_owned());
            event.subject_unit = None;
        }
        Target::Unit(u) => {
            event.subject_id = None;
            event.subject_unit = Some(u.to_owned());
        }
    }
    audit::record_in(tx, centre, &event, now)?;
    Ok(verdict)
}

/// Whether the principal may do `business` on `target` at their point now: `Forbidden`
/// with the rule broken if not. Allowed or not, the decision is in the audit log.
pub fn authorize(
    store: &dyn Store,
    centre: &str,
    p: &Principal,
    business: Business,
    target: Target<'_>,
    now: Timestamp,
) -> Result<(), AppError> {
    let mut tx = store.begin()?;
    let verdict = check_in(tx.as_mut(), centre, p, business, target, now)?;
    tx.commit()?;
    verdict.map_err(denied)
}

/// Whose data: members only their own, unit clerks only their unit and its members.
fn owns(
    tx: &mut dyn StoreTx,
    centre: &str,
    p: &Principal,
    target: Target<'_>,
) -> Result<Result<(), String>, AppError> {
    Ok(match (p.kind, target) {
        (SubjectKind::Member, Target::Member(id)) if p.id_number.as_deref() == Some(id) => Ok(()),
        (SubjectKind::Member, Target::None) => Ok(()),
        (SubjectKind::Member, _) => {
            Err("a member may see and act on their own account only".into())
        }
        (SubjectKind::UnitClerk, Target::Unit(u)) if p.unit_no.as_deref() == Some(u) => Ok(()),
        (SubjectKind::UnitClerk, Target::Member(id)) => {
            let member = tx.member_by_id_number(centre, id)?;
            if member.is_some_and(|m| m.unit_no.is_some() && m.unit_no == p.unit_no) {
                Ok(())
            } else {
                Err("a unit clerk may see the unit's own members only".into())
            }
        }
        (SubjectKind::UnitClerk, Target::None) => Ok(()),
        (SubjectKind::UnitClerk, _) => Err("a unit clerk may act for their own unit only".into()),
        (SubjectKind::Staff, _) if p.role == Role::Member || p.role == Role::UnitClerk => {
            Err("a staff session cannot hold a member's or unit's role".into())
        }
        (SubjectKind::Staff, _) => Ok(()),
    })
}

/// Authorizes a business act and returns the stamp it carries: the matrix, the point's
/// list and status, the channel and whose data, decided and written to the audit log
/// (committed, allowed or denied) before the act runs. Every adapter that starts a
/// business act goes through here — the web API for a signed-in session, the console
/// for a member of staff ([`console_staff`]) — so every act of a person is in the audit
/// log and no act is done by a role or at a point the matrix does not allow.
pub fn act(
    store: &dyn Store,
    centre: &str,
    p: &Principal,
    business: Business,
    target: Target<'_>,
    on_behalf_of: Option<String>,
    now: Timestamp,
) -> Result<Stamp, AppError> {
    authorize(store, centre, p, business, target, now)?;
    Ok(p.stamp(on_behalf_of))
}

/// A member of staff working from the centre's console (the `anju` command on the
/// centre's own machines, where the operating system has authenticated the person): an
/// active account with a confirmed role, at its own open service point, on that point's
/// staff channel — or on `channel` if the point admits it (an online point serves the
/// web, the app, 浙里办 and the mini-program). Anyone else is `Unauthenticated`; the
/// refusal is audited.
pub fn console_staff(
    store: &dyn Store,
    centre: &str,
    staff_id: &str,
    channel: Option<Channel>,
    now: Timestamp,
) -> Result<Principal, AppError> {
    let mut tx = store.begin()?;
    let found = match tx.staff(centre, staff_id)? {
        None => Err(format!("staff:{staff_id} is not in the staff register")),
        Some(s) if s.status != "active" => Err(format!("staff:{staff_id} is disabled")),
        Some(s) if s.role.is_empty() => Err(format!(
            "staff:{staff_id} has no confirmed role yet (a manager confirms role grants)"
        )),
        Some(s) => Ok(s),
    };
    let staff = match found {
        Ok(s) => s,
        Err(reason) => {
            let event = audit::AuditEvent {
                actor: format!("staff:{staff_id}"),
                actor_role: String::new(),
                service_point: String::new(),
                channel: channel.unwrap_or(Channel::Counter),
                action: "console".to_owned(),
                business: None,
                subject_id: None,
                subject_unit: None,
                object: None,
                outcome: AuditOutcome::Denied,
                detail: reason.clone(),
            };
            audit::record_in(tx.as_mut(), centre, &event, now)?;
            tx.commit()?;
            return Err(AppError::Unauthenticated { reason });
        }
    };
    let role: Role = staff.role.parse().map_err(|_| {
        AppError::Store(anju_store::StoreError::Corrupt {
            what: format!("staff {staff_id}: role {:?}", staff.role),
        })
    })?;
    let point = open_point(tx.as_mut(), centre, &staff.service_point)?;
    drop(tx);
    Ok(Principal {
        kind: SubjectKind::Staff,
        subject_id: staff_id.to_owned(),
        role,
        channel: channel.unwrap_or(staff_channel(point.point_type)),
        point,
        unit_no: None,
        id_number: None,
        must_change_password: false,
    })
}
