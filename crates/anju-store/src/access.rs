//! Rows of access (issue 8): service points (服务网点), who may sign in (staff, unit
//! clerks, members by their bound phone), one-time codes, sessions and known devices, the
//! rate-limit log, the hash-chained audit log, members' notifications and maker-checker
//! approvals (双人复核). Plain data; the rules (password and TOTP checks, lockout policy,
//! the audit hash, which business a point may do) live in `anju_app`, and the codes here
//! are only checked against the schema's CHECK constraints.
//!
//! Persons are keyed by resident ID number (`id_number`, as in the registry), units by
//! unit account number (`unit_no`). Times are µs since the Unix epoch (`…_us`), dates
//! civil dates.

use jiff::civil::Date;

/// Kinds of service point (the schema's CHECK), in the order of the domain's `PointType`
/// codes 01–09 (`back_office` is the centre's internal network, where administration and
/// approvals are done).
pub const POINT_TYPES: [&str; 9] = [
    "centre_hall",
    "bank_branch",
    "town_bank_branch",
    "township_centre",
    "village_station",
    "self_service",
    "hotline",
    "online",
    "back_office",
];

/// Who a session or a known device belongs to (the schema's CHECK).
pub const SUBJECT_KINDS: [&str; 3] = ["member", "unit_clerk", "staff"];

/// Kinds of notification a member may turn on or off (the schema's CHECK).
pub const NOTIFICATION_KINDS: [&str; 3] =
    ["balance_change", "application_status", "new_device_login"];

/// Outcomes of an audited action (the schema's CHECK).
pub const AUDIT_OUTCOMES: [&str; 4] = ["allowed", "denied", "failed", "ok"];

/// A service point: a hall, a commissioned bank's branch, a township or village station,
/// a self-service terminal, the hotline, online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePointRow {
    /// Code, unique in the centre.
    pub code: String,
    /// Name.
    pub name: String,
    /// One of [`POINT_TYPES`].
    pub point_type: String,
    /// County (区县).
    pub county: String,
    /// Town (乡镇/街道).
    pub town: String,
    /// Village (村/社区), for a village station.
    pub village: Option<String>,
    /// The bank operating it, for a bank branch.
    pub bank_code: Option<String>,
    /// The business codes it may handle, comma-separated (the application checks them).
    pub businesses: String,
    /// `open` or `closed`.
    pub status: String,
    /// When it opened.
    pub opened_on: Date,
    /// When it closed; set exactly when `closed`.
    pub closed_on: Option<Date>,
}

/// A member of staff (经办人员) of the centre or a bank, bound to one service point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRow {
    /// Staff id, unique in the centre.
    pub staff_id: String,
    /// Name.
    pub name: String,
    /// Role code (the application defines them).
    pub role: String,
    /// The service point they work at (a row of `service_points`).
    pub service_point: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// When the password was last set.
    pub password_changed_at_us: i64,
    /// TOTP secret (hex or base32), once enrolled.
    pub totp_secret: Option<String>,
    /// The last TOTP time step accepted (a code is never accepted twice).
    pub totp_last_step: Option<i64>,
    /// Failed sign-ins since the last success or password change.
    pub failed_attempts: i32,
    /// Locked out until then.
    pub locked_until_us: Option<i64>,
    /// `active` or `disabled`.
    pub status: String,
    /// When created.
    pub created_at_us: i64,
}

/// A clerk a unit authorised (单位经办人) to act for it online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitClerkRow {
    /// The unit's account number.
    pub unit_no: String,
    /// The clerk's resident ID number.
    pub id_number: String,
    /// Name.
    pub name: String,
    /// Mobile phone.
    pub phone: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// When the password was last set.
    pub password_changed_at_us: i64,
    /// Failed sign-ins since the last success or password change.
    pub failed_attempts: i32,
    /// Locked out until then.
    pub locked_until_us: Option<i64>,
    /// When (last) authorised.
    pub authorised_at_us: i64,
    /// When the authorisation was revoked.
    pub revoked_at_us: Option<i64>,
}

/// The phone a member signs in with: one per person, one person per phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneBindingRow {
    /// The member's resident ID number.
    pub id_number: String,
    /// Mobile phone number.
    pub phone: String,
    /// When bound.
    pub bound_at_us: i64,
    /// Who bound it (`member:…` online, `staff:…` at a counter).
    pub bound_by: String,
}

/// A one-time code sent by SMS (only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpChallengeRow {
    /// Number given by the database (ignored when inserting).
    pub id: i64,
    /// The phone it was sent to.
    pub phone: String,
    /// `login` or `bind`.
    pub purpose: String,
    /// Hash of the code (hex).
    pub code_hash: String,
    /// When sent.
    pub created_at_us: i64,
    /// When it stops being accepted (after `created_at_us`).
    pub expires_at_us: i64,
    /// Wrong codes tried against it.
    pub attempts: i32,
    /// When it was used (at most once).
    pub consumed_at_us: Option<i64>,
}

/// A signed-in session, keyed by the hash of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Hash of the session token (hex); the token itself is never stored.
    pub token_hash: String,
    /// One of [`SUBJECT_KINDS`].
    pub subject_kind: String,
    /// The subject: a resident ID number, `<unit_no>/<id_number>` for a clerk, a staff id.
    pub subject_id: String,
    /// The role the session acts in.
    pub role: String,
    /// The service point it acts at (`online` for members and clerks).
    pub service_point: String,
    /// Channel code.
    pub channel: String,
    /// Device fingerprint or description.
    pub device: String,
    /// When signed in.
    pub created_at_us: i64,
    /// When last used.
    pub last_seen_at_us: i64,
    /// When it ends at the latest.
    pub expires_at_us: i64,
    /// When signed out or revoked.
    pub revoked_at_us: Option<i64>,
}

/// Sign-in attempts of one key within a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttemptCounts {
    /// All attempts.
    pub attempts: i64,
    /// Failed attempts.
    pub failures: i64,
}

/// One row of the audit log: who did or saw what, where, how, with what outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// 1, 2, 3 … per centre, without gaps.
    pub seq: i64,
    /// When, µs since the Unix epoch.
    pub at_us: i64,
    /// Who (`staff:K001`, `member:<id_number>`, `clerk:<unit>/<id_number>`, `system:…`).
    pub actor: String,
    /// The role they acted in.
    pub actor_role: String,
    /// Where.
    pub service_point: String,
    /// Channel code.
    pub channel: String,
    /// What (an action code).
    pub action: String,
    /// The business it belongs to, if any.
    pub business: Option<String>,
    /// Whose personal data was seen or acted on (resident ID number).
    pub subject_id: Option<String>,
    /// Which unit's data was seen or acted on.
    pub subject_unit: Option<String>,
    /// The object (a loan number, a journal seq, an application number …).
    pub object: Option<String>,
    /// One of [`AUDIT_OUTCOMES`].
    pub outcome: String,
    /// More, never a secret.
    pub detail: String,
    /// The previous row's `entry_hash` (the application's genesis value for seq 1).
    pub prev_hash: String,
    /// This row's hash, computed by the application.
    pub entry_hash: String,
}

/// What to look for in the audit log; `None` matches anything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    /// Exactly this actor.
    pub actor: Option<String>,
    /// Exactly this subject person.
    pub subject_id: Option<String>,
    /// Exactly this action.
    pub action: Option<String>,
    /// At or after this time.
    pub from_us: Option<i64>,
    /// Before this time.
    pub to_us: Option<i64>,
}

/// Whether a member wants one kind of notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationPrefRow {
    /// The member's resident ID number.
    pub id_number: String,
    /// One of [`NOTIFICATION_KINDS`].
    pub kind: String,
    /// On or off.
    pub enabled: bool,
}

/// A notification to a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRow {
    /// Number given by the database (ignored when inserting).
    pub id: i64,
    /// The member's resident ID number.
    pub id_number: String,
    /// One of [`NOTIFICATION_KINDS`].
    pub kind: String,
    /// What it says.
    pub body: String,
    /// When made.
    pub created_at_us: i64,
    /// `pending`, then `sent`, `failed` or `skipped` (final).
    pub status: String,
    /// When sent.
    pub sent_at_us: Option<i64>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
}

/// A change one person made (the maker) waiting for another (the checker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRow {
    /// Number given by the database (ignored when inserting).
    pub id: i64,
    /// The business it belongs to.
    pub business: String,
    /// What it changes (a loan number, a member account …).
    pub object: String,
    /// The change, as JSON (opaque here).
    pub payload: String,
    /// Who made it.
    pub maker: String,
    /// When.
    pub made_at_us: i64,
    /// Who decided (never the maker).
    pub checker: Option<String>,
    /// When decided.
    pub checked_at_us: Option<i64>,
    /// `pending`, then `approved` or `rejected` (final).
    pub decision: String,
    /// Why (a rejection's reason).
    pub reason: Option<String>,
}

/// One version of a centre's policy (schema 10): the exact TOML text the centre ran on
/// from `adopted_at_us`, until the next version. Version 1 is adopted at the first start
/// (no checker); a later one was approved through `approval_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersionRow {
    /// 1, 2, … without a gap.
    pub version: i64,
    /// SM3 of `text`, lower-case hex (64 characters).
    pub sm3: String,
    /// The policy file's text, exactly.
    pub text: String,
    /// When it took effect.
    pub adopted_at_us: i64,
    /// Who proposed it (`system:first-start` for version 1).
    pub maker: String,
    /// Who approved it (never the maker); `None` only for version 1.
    pub checker: Option<String>,
    /// The approval (a row of `approvals`); `None` only for version 1.
    pub approval_id: Option<i64>,
}
