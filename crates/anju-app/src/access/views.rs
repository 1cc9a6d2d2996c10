//! What a signed-in party may read about members and units, through the guard, masked by
//! role (issue 8 §5, §7): every read of a member's or unit's data is in the audit log.

use anju_domain::access::{Business, Field, Role, show};
use anju_domain::ledger::AccountNo;
use anju_store::Store;
use anju_store::access::{AuditFilter, AuditRow};
use jiff::Timestamp;
use serde::Serialize;

use super::guard::{Target, check_in};
use super::login::{Principal, SubjectKind};
use crate::AppError;

/// A member's account as the viewer may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberView {
    /// Personal account number.
    pub account_no: String,
    /// Name (masked unless the role needs it).
    pub name: String,
    /// Resident ID number (masked unless the role needs it).
    pub id_number: String,
    /// The unit, if employed.
    pub unit_no: Option<String>,
    /// Account status code.
    pub status: String,
    /// Balance, fen.
    pub balance_fen: i64,
    /// Paid up to (缴至年月).
    pub paid_to: Option<String>,
}

/// A unit as the viewer may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitView {
    /// Unit number.
    pub unit_no: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Name.
    pub name: String,
    /// Status code.
    pub status: String,
    /// Its members (account numbers), for the unit's clerk and staff.
    pub members: usize,
}

/// One audit-log row as a viewer sees it (ID numbers masked unless the role needs them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditLine {
    /// Sequence number in the chain.
    pub seq: i64,
    /// When (RFC 3339).
    pub at: String,
    /// Who acted.
    pub actor: String,
    /// In which role (code).
    pub actor_role: String,
    /// Where.
    pub service_point: String,
    /// Channel code.
    pub channel: String,
    /// What.
    pub action: String,
    /// Business type code.
    pub business: Option<String>,
    /// Whose data (masked by role).
    pub subject_id: Option<String>,
    /// Which unit.
    pub subject_unit: Option<String>,
    /// Object.
    pub object: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// Detail.
    pub detail: String,
    /// The row's hash (the chain).
    pub entry_hash: String,
}

fn line(r: AuditRow, role: Role) -> AuditLine {
    let mask_actor = |a: String| match a.split_once(':') {
        Some(("member", id)) => format!("member:{}", show(role, Field::ResidentId, id)),
        _ => a,
    };
    AuditLine {
        seq: r.seq,
        at: Timestamp::from_microsecond(r.at_us)
            .map(|t| t.to_string())
            .unwrap_or_default(),
        actor: mask_actor(r.actor),
        actor_role: r.actor_role,
        service_point: r.service_point,
        channel: r.channel,
        action: r.action,
        business: r.business,
        subject_id: r.subject_id.map(|s| show(role, Field::ResidentId, &s)),
        subject_unit: r.subject_unit,
        object: r.object,
        outcome: r.outcome,
        detail: r.detail,
        entry_hash: r.entry_hash,
    }
}

fn forbidden(reason: String) -> AppError {
    AppError::Forbidden { reason }
}

fn not_found(what: String) -> AppError {
    AppError::NotFound { what }
}

/// A member's account: the member themself (查询本人账户), their unit's clerk or staff
/// whose role and point allow viewing members' accounts.
pub fn member(
    store: &dyn Store,
    centre: &str,
    p: &Principal,
    id_number: &str,
    now: Timestamp,
) -> Result<MemberView, AppError> {
    let business = if p.kind == SubjectKind::Member {
        Business::ViewOwnAccount
    } else {
        Business::ViewMemberAccount
    };
    let mut tx = store.begin()?;
    let verdict = check_in(
        tx.as_mut(),
        centre,
        p,
        business,
        Target::Member(id_number),
        now,
    )?;
    tx.commit()?;
    verdict.map_err(forbidden)?;
    let mut tx = store.begin_read()?;
    let m = tx.member_by_id_number(centre, id_number)?.ok_or_else(|| {
        not_found(format!(
            "member {}",
            anju_domain::access::mask_resident_id(id_number)
        ))
    })?;
    let no = AccountNo::sub("201", &m.account_no).map_err(|e| AppError::Invalid {
        field: "account_no",
        value: m.account_no.clone(),
        rule: e.to_string(),
    })?;
    let balance = tx
        .load_accounts(centre, std::slice::from_ref(&no))?
        .first()
        .map_or(0, |a| a.balance.fen());
    let own = p.kind == SubjectKind::Member;
    let role = if own { Role::Member } else { p.role };
    Ok(MemberView {
        account_no: m.account_no,
        name: show(role, Field::Name, &m.name),
        id_number: show(role, Field::ResidentId, &m.id_number),
        unit_no: m.unit_no,
        status: m.status.code().to_owned(),
        balance_fen: balance,
        paid_to: m.paid_to.map(|y| y.to_string()),
    })
}

/// A unit: its own clerk or staff allowed to view units.
pub fn unit(
    store: &dyn Store,
    centre: &str,
    p: &Principal,
    unit_no: &str,
    now: Timestamp,
) -> Result<UnitView, AppError> {
    let mut tx = store.begin()?;
    let verdict = check_in(
        tx.as_mut(),
        centre,
        p,
        Business::ViewUnitAccount,
        Target::Unit(unit_no),
        now,
    )?;
    tx.commit()?;
    verdict.map_err(forbidden)?;
    let mut tx = store.begin_read()?;
    let u = tx
        .unit(centre, unit_no)?
        .ok_or_else(|| not_found(format!("unit {unit_no}")))?;
    let members = tx.members_of_unit(centre, unit_no)?.len();
    Ok(UnitView {
        unit_no: u.unit_no,
        credit_code: u.credit_code,
        name: u.name,
        status: u.status.code().to_owned(),
        members,
    })
}

/// The audit log, searched by an auditor or the audit administrator (the search itself
/// is audited).
pub fn audit_log(
    store: &dyn Store,
    centre: &str,
    p: &Principal,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: usize,
    now: Timestamp,
) -> Result<Vec<AuditLine>, AppError> {
    let mut tx = store.begin()?;
    let target = filter
        .subject_id
        .as_deref()
        .map_or(Target::None, Target::Member);
    let verdict = check_in(tx.as_mut(), centre, p, Business::ViewAuditLog, target, now)?;
    tx.commit()?;
    verdict.map_err(forbidden)?;
    let mut tx = store.begin_read()?;
    Ok(tx
        .search_audit(centre, filter, before, limit.min(500))?
        .into_iter()
        .map(|r| line(r, p.role))
        .collect())
}

/// Who handled a member's business or looked at their data — what the member sees of the
/// audit log about them (newest first).
pub fn handled_by(
    store: &dyn Store,
    centre: &str,
    p: &Principal,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<AuditLine>, AppError> {
    let Some(id) = p
        .id_number
        .as_deref()
        .filter(|_| p.kind == SubjectKind::Member)
    else {
        return Err(forbidden(
            "only a member sees who handled their business".into(),
        ));
    };
    let mut tx = store.begin_read()?;
    // The member sees their own number in full, and staff by their staff ID.
    Ok(tx
        .audit_of_person(centre, id, before, limit.min(500))?
        .into_iter()
        .map(|r| line(r, Role::Member))
        .collect())
}
