//! The centre's policy under maker-checker (issue 8 §3, 双人复核 for policy changes).
//!
//! Every rule value the system uses lives in the centre's policy file (TOML, read by
//! [`Policy::from_toml`]). The text the centre runs on is kept in the database as
//! numbered versions (`policy_versions`), each with the SM3 of its exact text:
//!
//! * **Version 1** is adopted at the first start ([`adopt_policy_at_start`]): the policy
//!   given to the first command that opens the centre (a file, or the shipped one)
//!   becomes version 1, made by `system:first-start`, with no checker, and audited.
//! * **Later versions** only through maker-checker: a manager proposes a new text
//!   ([`propose_policy`]), another manager approves it
//!   ([`admin::decide`](super::admin::decide)), and the approval inserts the next version
//!   in the transaction that records it. A proposal made against a version that is no
//!   longer in effect is stale and cannot be approved.
//! * At every later start the file given must be the approved text: a different file is
//!   refused, naming both hashes ([`adopt_policy_at_start`]), so an edited file on disk
//!   never changes the rules behind the checker's back.

use anju_domain::access::Business;
use anju_domain::codes::Channel;
use anju_domain::policy::Policy;
use anju_store::access::PolicyVersionRow;
use anju_store::{Store, StoreError, StoreTx};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::admin::{self, Actor};
use super::audit::{self, AuditEvent, AuditOutcome};
use crate::AppError;

/// The maker recorded for version 1.
pub const FIRST_START: &str = "system:first-start";

/// The object of a policy change's approval.
pub const OBJECT: &str = "policy";

/// SM3 of a policy text, lower-case hex.
pub fn text_sm3(text: &str) -> String {
    anju_domain::ledger::sm3_hex(text.as_bytes())
}

/// What a policy change waiting for its checker will do: make `text` the next version,
/// if `base_version` is still the one in effect then (0: none yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChange {
    /// The new policy file's text, exactly.
    pub text: String,
    /// Its SM3 (hex).
    pub sm3: String,
    /// The version in effect when it was proposed.
    pub base_version: i64,
}

/// The version in effect after [`adopt_policy_at_start`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    /// Its number.
    pub version: i64,
    /// Its SM3.
    pub sm3: String,
    /// Whether this call adopted it (version 1, the first start).
    pub adopted: bool,
}

fn invalid(field: &'static str, value: impl Into<String>, rule: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        value: value.into(),
        rule: rule.into(),
    }
}

fn when(us: i64) -> String {
    Timestamp::from_microsecond(us).map_or_else(|_| us.to_string(), |t| t.to_string())
}

/// Parses and checks a policy text for `centre`: a valid policy whose `[centre] code` is
/// the centre's.
pub fn validate(centre: &str, text: &str) -> Result<Policy, AppError> {
    let sha = text_sm3(text);
    let policy = Policy::from_toml(text).map_err(|e| {
        invalid(
            "policy",
            format!("sm3 {sha}"),
            format!("not a valid policy: {e}"),
        )
    })?;
    if policy.centre().code != centre {
        return Err(invalid(
            "policy",
            format!("[centre] code {}", policy.centre().code),
            format!("must be the centre's code {centre}"),
        ));
    }
    Ok(policy)
}

/// The version in effect and its text, if any.
pub fn current_policy(store: &dyn Store, centre: &str) -> Result<Option<(i64, String)>, AppError> {
    Ok(store
        .begin_read()?
        .current_policy(centre)?
        .map(|r| (r.version, r.text)))
}

/// Every version, oldest first.
pub fn history(store: &dyn Store, centre: &str) -> Result<Vec<PolicyVersionRow>, AppError> {
    Ok(store.begin_read()?.policy_versions(centre)?)
}

fn differs(sha: &str, current: &PolicyVersionRow) -> AppError {
    invalid(
        "policy",
        format!("sm3 {sha}"),
        format!(
            "differs from the approved policy version {} (sm3 {}, in effect since {}); \
             the policy changes only through maker-checker: propose the file with \
             `anju policy propose --file FILE --as staff:<manager>` and have another manager \
             approve it (`anju access approval approve`), or start without --policy to run on \
             the approved version",
            current.version,
            current.sm3,
            when(current.adopted_at_us)
        ),
    )
}

/// At a start: the policy `text` (a file, or the shipped one) against the versions.
///
/// * No version yet: `text` (validated) becomes version 1, made by
///   [`FIRST_START`], audited (`policy_adopted`).
/// * `text` is the version in effect (same SM3): nothing to do.
/// * Otherwise refused ([`AppError::Invalid`] naming both hashes): a change is proposed
///   with [`propose_policy`].
pub fn adopt_policy_at_start(
    store: &dyn Store,
    centre: &str,
    text: &str,
    now: Timestamp,
) -> Result<Adoption, AppError> {
    let sha = text_sm3(text);
    validate(centre, text)?;
    // Twice at most: a concurrent first start that wins the insert is compared with.
    for _ in 0..2 {
        if let Some(cur) = store.begin_read()?.current_policy(centre)? {
            if cur.sm3 == sha {
                return Ok(Adoption {
                    version: cur.version,
                    sm3: sha,
                    adopted: false,
                });
            }
            return Err(differs(&sha, &cur));
        }
        let mut tx = store.begin()?;
        let row = PolicyVersionRow {
            version: 1,
            sm3: sha.clone(),
            text: text.to_owned(),
            adopted_at_us: now.as_microsecond(),
            maker: FIRST_START.to_owned(),
            checker: None,
            approval_id: None,
        };
        match tx.insert_policy_version(centre, &row) {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
        let e = AuditEvent {
            actor: FIRST_START.to_owned(),
            actor_role: String::new(),
            service_point: "system".to_owned(),
            channel: Channel::Batch,
            action: "policy_adopted".to_owned(),
            business: Some(Business::PolicyChange),
            subject_id: None,
            subject_unit: None,
            object: Some(format!("{OBJECT}:1")),
            outcome: AuditOutcome::Ok,
            detail: format!("first start: version 1, sm3 {sha}"),
        };
        audit::record_in(tx.as_mut(), centre, &e, now)?;
        tx.commit()?;
        return Ok(Adoption {
            version: 1,
            sm3: sha,
            adopted: true,
        });
    }
    Err(AppError::Store(StoreError::Conflict {
        what: format!("policy version 1 of centre {centre}: adopted concurrently"),
    }))
}

/// A change's payload is what it says: the hash is the text's, the text a valid policy
/// for the centre.
pub(crate) fn check_change(centre: &str, p: &PolicyChange) -> Result<Policy, AppError> {
    let sha = text_sm3(&p.text);
    if sha != p.sm3 {
        return Err(invalid(
            "sm3",
            &p.sm3,
            format!("is not the SM3 of the text ({sha})"),
        ));
    }
    if p.base_version < 0 {
        return Err(invalid(
            "base_version",
            p.base_version.to_string(),
            "must be 0 or a version",
        ));
    }
    validate(centre, &p.text)
}

/// Proposes `text` as the centre's next policy (a manager at the back office): validated
/// first (a bad policy is refused and nothing is written), refused if it is the policy in
/// effect, then filed for another manager ([`admin::propose`], business
/// [`Business::PolicyChange`], object `policy`). Returns the approval id.
pub fn propose_policy(
    store: &dyn Store,
    centre: &str,
    maker: &Actor,
    text: &str,
    now: Timestamp,
) -> Result<i64, AppError> {
    let sha = text_sm3(text);
    validate(centre, text)?;
    let base_version = match store.begin_read()?.current_policy(centre)? {
        Some(cur) if cur.sm3 == sha => {
            return Err(invalid(
                "policy",
                format!("sm3 {sha}"),
                format!(
                    "is the policy in effect (version {}): nothing to change",
                    cur.version
                ),
            ));
        }
        Some(cur) => cur.version,
        None => 0,
    };
    let payload = serde_json::to_string(&PolicyChange {
        text: text.to_owned(),
        sm3: sha,
        base_version,
    })
    .map_err(|e| {
        AppError::Store(StoreError::Corrupt {
            what: e.to_string(),
        })
    })?;
    admin::propose(
        store,
        centre,
        maker,
        Business::PolicyChange,
        OBJECT,
        &payload,
        now,
    )
}

/// Puts an approved change in effect (inside the approval's transaction): the next
/// version, if the proposal's base is still the version in effect. Returns the version.
pub(crate) fn apply_change_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    p: &PolicyChange,
    maker: &str,
    checker: &str,
    approval_id: i64,
    now: Timestamp,
) -> Result<i64, AppError> {
    check_change(centre, p)?;
    let current = tx.current_policy(centre)?;
    let in_effect = current.as_ref().map_or(0, |c| c.version);
    let stale = || {
        invalid(
            "base_version",
            p.base_version.to_string(),
            format!(
                "the proposal is stale: it was made against version {} but version {} is in \
                 effect now; reject it and propose again",
                p.base_version,
                current.as_ref().map_or(0, |c| c.version)
            ),
        )
    };
    if in_effect != p.base_version {
        return Err(stale());
    }
    let version = p.base_version + 1;
    let row = PolicyVersionRow {
        version,
        sm3: p.sm3.clone(),
        text: p.text.clone(),
        adopted_at_us: now.as_microsecond(),
        maker: maker.to_owned(),
        checker: Some(checker.to_owned()),
        approval_id: Some(approval_id),
    };
    tx.insert_policy_version(centre, &row)
        .map_err(|e| match e {
            StoreError::Conflict { .. } => stale(),
            e => e.into(),
        })?;
    Ok(version)
}
