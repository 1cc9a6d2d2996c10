//! The audit log (interim: appending only; verification and search land with the admin
//! work).

use anju_domain::access::Business;
use anju_domain::codes::Channel;
use anju_store::StoreTx;
use anju_store::access::AuditRow;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::AppError;

/// How an audited act ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// A permission check passed.
    Allowed,
    /// A permission check refused.
    Denied,
    /// An attempt failed (e.g. a wrong password).
    Failed,
    /// Done.
    Ok,
}

impl AuditOutcome {
    /// The store's code.
    pub const fn code(self) -> &'static str {
        match self {
            AuditOutcome::Allowed => "allowed",
            AuditOutcome::Denied => "denied",
            AuditOutcome::Failed => "failed",
            AuditOutcome::Ok => "ok",
        }
    }
}

/// One audited act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Who.
    pub actor: String,
    /// In which role (code), empty when unknown.
    pub actor_role: String,
    /// Where.
    pub service_point: String,
    /// Through which channel.
    pub channel: Channel,
    /// What.
    pub action: String,
    /// The business type, if any.
    pub business: Option<Business>,
    /// Whose data (resident ID number).
    pub subject_id: Option<String>,
    /// Which unit's data.
    pub subject_unit: Option<String>,
    /// The object acted on.
    pub object: Option<String>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Detail (never a secret).
    pub detail: String,
}

/// Appends in the caller's transaction; returns the seq.
pub fn record_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    e: &AuditEvent,
    now: Timestamp,
) -> Result<i64, AppError> {
    let (seq, prev) = tx
        .audit_head(centre)?
        .map_or((1, "0".repeat(64)), |(s, h)| (s + 1, h));
    let mut row = AuditRow {
        seq,
        at_us: now.as_microsecond(),
        actor: e.actor.clone(),
        actor_role: e.actor_role.clone(),
        service_point: e.service_point.clone(),
        channel: e.channel.code().to_owned(),
        action: e.action.clone(),
        business: e.business.map(|b| b.code().to_owned()),
        subject_id: e.subject_id.clone(),
        subject_unit: e.subject_unit.clone(),
        object: e.object.clone(),
        outcome: e.outcome.code().to_owned(),
        detail: e.detail.clone(),
        prev_hash: prev,
        entry_hash: String::new(),
    };
    row.entry_hash = crate::access::login::secret_hash(&[
        &row.seq.to_string(),
        &row.at_us.to_string(),
        &row.actor,
        &row.actor_role,
        &row.service_point,
        &row.channel,
        &row.action,
        row.business.as_deref().unwrap_or(""),
        row.subject_id.as_deref().unwrap_or(""),
        row.subject_unit.as_deref().unwrap_or(""),
        row.object.as_deref().unwrap_or(""),
        &row.outcome,
        &row.detail,
        &row.prev_hash,
    ]);
    tx.append_audit(centre, &row)?;
    Ok(seq)
}
