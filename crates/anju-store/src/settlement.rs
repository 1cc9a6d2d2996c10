//! Rows of bank settlement (资金结算): the commissioned banks and the fund's account at
//! each, the accounts members and units hold at those banks, every instruction sent to a
//! bank and how it ended, the bank notices received, money that arrived and where it went,
//! and reconciliation runs with their open items (对账差异). Plain data; the rules live in
//! `anju_domain::settlement` and the use cases in `anju_app::settlement`.
//!
//! Codes in these rows (instruction kinds and states, business types, item kinds) are
//! opaque text here; the schema's CHECK constraints fix the state and status texts listed
//! below.

use jiff::civil::Date;

/// Instruction states (`anju_domain::settlement::InstructionState::code`).
pub const INSTRUCTION_STATES: [&str; 4] = ["created", "in_flight", "executed", "not_executed"];
/// Where incoming money went: `bill` (paid or held against a bill), `suspense` (parked
/// for staff to assign), `assigned` (assigned by staff from suspense), `transfer` (the
/// arrival of the fund's own transfer from its account at another bank).
pub const INCOMING_MATCHES: [&str; 4] = ["bill", "suspense", "assigned", "transfer"];
/// Reconciliation item kinds.
pub const RECON_KINDS: [&str; 4] = [
    "missing_in_anju",
    "missing_at_bank",
    "amount_differs",
    "duplicate",
];
/// Reconciliation item statuses.
pub const RECON_STATUSES: [&str; 2] = ["open", "resolved"];

/// A commissioned bank (受委托银行) and the fund's deposit account there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankRow {
    /// Bank code (e.g. `105` for China Construction Bank); the ledger account is
    /// `101.<code>`.
    pub code: String,
    /// Name.
    pub name: String,
    /// The fund's account number at the bank (住房公积金专户).
    pub fund_account: String,
    /// Name of the fund's account (户名), e.g. the centre's name.
    pub fund_account_name: String,
    /// Registration date.
    pub registered_on: Date,
}

/// A member's card at a commissioned bank, to which payouts go (one per member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRow {
    /// Personal account number.
    pub account_no: String,
    /// Bank code.
    pub bank_code: String,
    /// Card number.
    pub card_no: String,
    /// Holder's name as the bank knows it.
    pub holder: String,
    /// When bound.
    pub bound_on: Date,
}

/// A unit's own account at a bank: where direct debits are drawn and how a payer is
/// recognised when money arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitBankAccountRow {
    /// Unit account number.
    pub unit_no: String,
    /// Bank code.
    pub bank_code: String,
    /// The unit's account number at that bank.
    pub account: String,
    /// Account name (户名).
    pub name: String,
}

/// One instruction sent (or about to be sent) to a bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructionRow {
    /// Serial number (流水号), unique in the centre; the idempotency key at the bank.
    pub serial: String,
    /// Bank code.
    pub bank_code: String,
    /// Kind code (`payment`, `collection`, `disbursement`, `deduction`, `transfer`).
    pub kind: String,
    /// Settlement business type code (`02` …).
    pub business_type: String,
    /// Account debited.
    pub debit_account: String,
    /// Account credited.
    pub credit_account: String,
    /// Name on the credited account.
    pub credit_name: String,
    /// Bank of the credited account when elsewhere.
    pub credit_bank: Option<String>,
    /// Amount in fen, positive.
    pub amount: i64,
    /// Memo.
    pub memo: String,
    /// What the instruction serves: `member:<account>`, `bill:<bill no>`,
    /// `loan:<loan no>`, `application:<no>` … (opaque here).
    pub target: String,
    /// Key of the ledger entry it made when sent (the pending entry of an outgoing
    /// instruction); `None` for incoming money, which posts only when executed.
    pub entry_key: Option<String>,
    /// State code (one of [`INSTRUCTION_STATES`]).
    pub state: String,
    /// The bank's reference once executed.
    pub bank_ref: Option<String>,
    /// Value date once executed.
    pub value_date: Option<Date>,
    /// The bank's reason once not executed.
    pub reason: Option<String>,
    /// Business date it was created on.
    pub business_date: Date,
    /// Who created it (operator id).
    pub operator: String,
    /// When created, µs since the Unix epoch.
    pub created_at_us: i64,
    /// When the outcome became final, µs since the Unix epoch.
    pub settled_at_us: Option<i64>,
    /// How many status queries have been made.
    pub queries: i32,
    /// When to query the status next (µs), while in flight.
    pub next_query_at_us: Option<i64>,
}

/// A verified notice from a bank, kept once per notice id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    /// Bank code.
    pub bank_code: String,
    /// The bank's notice id.
    pub notice_id: String,
    /// `result` or `credit`.
    pub kind: String,
    /// The instruction serial (result notices) or the bank's reference (credits).
    pub reference: String,
    /// SM3 of the notice body, hex.
    pub body_hash: String,
    /// When received, µs.
    pub received_at_us: i64,
    /// What Anju did with it (`applied`, `no change`, `refused: …`).
    pub outcome: String,
}

/// A notice refused before it was trusted (unsigned, wrongly signed, stale, garbled):
/// logged, never applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRefusalRow {
    /// The bank the caller claimed to be (as sent; may be empty or false).
    pub claimed_bank: String,
    /// Why refused.
    pub reason: String,
    /// SM3 of the body, hex.
    pub body_hash: String,
    /// The peer address, as seen.
    pub peer: String,
    /// When, µs.
    pub received_at_us: i64,
}

/// Money that arrived in a fund account from someone else (a unit's transfer) and where
/// it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingRow {
    /// Bank code.
    pub bank_code: String,
    /// The bank's reference of the credit, unique per bank.
    pub bank_ref: String,
    /// Amount in fen, positive.
    pub amount: i64,
    /// Payer's account.
    pub payer_account: String,
    /// Payer's name.
    pub payer_name: String,
    /// Memo (附言).
    pub memo: String,
    /// Value date.
    pub value_date: Date,
    /// When recorded, µs.
    pub received_at_us: i64,
    /// One of [`INCOMING_MATCHES`].
    pub matched: String,
    /// The bill it paid or was held against (`bill`), or was assigned to (`assigned`).
    pub bill_no: Option<String>,
    /// Why it went to suspense (`suspense`), or the staff note (`assigned`).
    pub note: Option<String>,
    /// Key of the ledger entry that booked it.
    pub entry_key: String,
    /// Key of the entry that assigned it out of suspense.
    pub assigned_key: Option<String>,
}

/// One reconciliation of one bank account for one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconRunRow {
    /// Bank code.
    pub bank_code: String,
    /// Day reconciled.
    pub date: Date,
    /// When run, µs.
    pub run_at_us: i64,
    /// Lines on the bank's statement.
    pub bank_lines: i64,
    /// Movements in Anju's records.
    pub anju_lines: i64,
    /// Statement closing balance, fen.
    pub bank_closing: i64,
    /// Anju's ledger balance of `101.<bank>`, fen.
    pub ledger_balance: i64,
    /// Differences found.
    pub mismatches: i64,
}

/// A difference found by reconciliation (对账差异), open until resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconItemRow {
    /// Bank code.
    pub bank_code: String,
    /// Day.
    pub date: Date,
    /// Serial (or the bank's reference for a line without one).
    pub serial: String,
    /// One of [`RECON_KINDS`].
    pub kind: String,
    /// Bank's amount, fen (signed), if on the statement.
    pub bank_amount: Option<i64>,
    /// Anju's amount, fen (signed), if in Anju's records.
    pub anju_amount: Option<i64>,
    /// When first found, µs.
    pub found_at_us: i64,
    /// One of [`RECON_STATUSES`].
    pub status: String,
    /// When resolved, µs.
    pub resolved_at_us: Option<i64>,
    /// How it was resolved (a rerun found it settled, or a staff note).
    pub resolution: Option<String>,
}
