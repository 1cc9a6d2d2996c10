//! Rows of withdrawals (提取): the withdrawal application with its decision, its status
//! timeline, and who is paid (the member, or each heir of a deceased member). Plain data;
//! the codes in them (grounds, statuses, modes) are defined by `anju_domain::withdrawal`
//! and only checked here against the schema's CHECK constraints.
//!
//! A withdrawal shares its number with the data-sharing application
//! ([`crate::sharing::ApplicationRow`]) under which its facts were looked up.

use anju_domain::stamp::Stamp;
use jiff::civil::Date;

/// Statuses in which a withdrawal is still in flight: at most one per member and ground
/// (a partial unique index), and their amounts count against the available balance.
pub const IN_FLIGHT: [&str; 6] = [
    "submitted",
    "verifying",
    "review",
    "proposed",
    "approved",
    "paying",
];

/// Every status a withdrawal may have (the schema's CHECK): [`IN_FLIGHT`] plus the final
/// `paid`, `refused` and `returned`.
pub const STATUSES: [&str; 9] = [
    "submitted",
    "verifying",
    "review",
    "proposed",
    "approved",
    "paying",
    "paid",
    "refused",
    "returned",
];

/// A withdrawal application (提取申请) and its decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRow {
    /// Application number, unique in the centre; the same as its data-sharing
    /// application's.
    pub application_no: String,
    /// The personal account withdrawn from (the deceased member's for a death withdrawal).
    pub account_no: String,
    /// The account holder's resident ID number.
    pub id_number: String,
    /// Ground code (`purchase`, `rent` …; opaque here).
    pub ground: String,
    /// Withdrawal reason code TQYY (standard `01`–`09`, `99`, or a local code).
    pub reason_code: String,
    /// How a loan repayment is withdrawn (`one-off`, `yearly`, `monthly`); empty for other
    /// grounds.
    pub mode: String,
    /// What "once per …" is counted by: the home's contract number, the project number,
    /// the invoice numbers, the year …; empty when nothing is.
    pub home_key: String,
    /// Amount asked for, fen; `None` for "as much as the rule allows".
    pub requested: Option<i64>,
    /// Amount decided (approved or proposed), fen; 0 until decided.
    pub amount: i64,
    /// Closing interest credited before a closing withdrawal (销户结息), fen.
    pub interest: i64,
    /// Whether the withdrawal closes the account (销户提取).
    pub closes_account: bool,
    /// Current status, one of [`STATUSES`].
    pub status: String,
    /// The decision as JSON (checks, limits and which one bound; opaque here).
    pub decision: String,
    /// Reason of the last decision, Chinese.
    pub reason_zh: String,
    /// Reason of the last decision, English.
    pub reason_en: String,
    /// The clerk who proposed a manual decision (maker), if any.
    pub proposed_by: Option<String>,
    /// The clerk who approved or refused a proposal (checker), if any.
    pub decided_by: Option<String>,
    /// Business date of the application.
    pub business_date: Date,
    /// When applied, µs since the Unix epoch.
    pub created_at_us: i64,
    /// When last changed, µs since the Unix epoch.
    pub updated_at_us: i64,
    /// Who applied, where, through which channel, for whom.
    pub stamp: Stamp,
}

impl WithdrawalRow {
    /// Whether it is still in flight ([`IN_FLIGHT`]).
    pub fn in_flight(&self) -> bool {
        IN_FLIGHT.contains(&self.status.as_str())
    }
}

/// One step of a withdrawal's status timeline (append-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalEventRow {
    /// The application.
    pub application_no: String,
    /// 1, 2, 3 … in order.
    pub seq: i64,
    /// The status entered.
    pub status: String,
    /// When, µs since the Unix epoch.
    pub at_us: i64,
    /// Who (a member, a clerk, `system`, `bank:<code>`).
    pub operator: String,
    /// What happened, Chinese.
    pub note_zh: String,
    /// What happened, English.
    pub note_en: String,
}

/// Someone a withdrawal pays: the member's own card, or an heir's (written once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayeeRow {
    /// The application.
    pub application_no: String,
    /// 1, 2, 3 … in order.
    pub seq: i32,
    /// Payee's resident ID number.
    pub id_number: String,
    /// Payee's name.
    pub name: String,
    /// The payee's bank (a registered commissioned bank).
    pub bank_code: String,
    /// Card or account number.
    pub card_no: String,
    /// Share numerator (an heir's share of the balance; 1 for a sole payee).
    pub share_num: i64,
    /// Share denominator.
    pub share_den: i64,
    /// Amount, fen, when fixed as the payee is recorded (the member's own card, recorded
    /// when paid); 0 for heirs recorded at application, whose parts are split from the
    /// balance when paid and carried by the settlement instructions.
    pub amount: i64,
    /// Settlement serial of the payment.
    pub serial: String,
}
