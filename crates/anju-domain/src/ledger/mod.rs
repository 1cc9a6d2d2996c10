//! The double-entry ledger (复式记账): chart of accounts, entries, the posting engine,
//! running figures (balance, pending, 积数) and the audit that re-derives them.
//!
//! The rules live here, pure; the store only loads and saves what this module computes,
//! so SQLite and PostgreSQL post through exactly the same logic.

pub mod audit;
pub mod chart;
pub mod entry;
pub mod figures;
pub mod posting;

pub use chart::{AccountClass, AccountNo, AccountNoError, CHART, ChartAccount, Side, SubLedger};
pub use entry::{
    Digest32, Entry, EntryKind, EntryRequest, HashAlg, Leg, SealedEntry, TxCode, genesis_hash,
    sm3_hex,
};
pub use figures::{AccountState, days_between};
pub use posting::{ChainHead, Referenced, post, resolve, resolve_owned};

use jiff::civil::Date;

use crate::money::Fen;
use crate::stamp::StampError;

/// Everything that can be wrong with a posting, each naming the field or account and the
/// rule broken. A failed posting writes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// A field has a bad value.
    #[error("{field} = {value:?}: {rule}")]
    BadField {
        field: &'static str,
        value: String,
        rule: &'static str,
    },
    /// The stamp is malformed.
    #[error(transparent)]
    Stamp(StampError),
    /// Fewer than two legs.
    #[error("an entry needs at least 2 legs, this one has {legs}")]
    TooFewLegs { legs: usize },
    /// More legs than the limit.
    #[error(
        "an entry may have at most {} legs, this one has {legs}",
        entry::MAX_LEGS
    )]
    TooManyLegs { legs: usize },
    /// A leg amount is zero or negative.
    #[error("leg {leg}: amount {amount} must be greater than zero")]
    NonPositiveAmount { leg: usize, amount: Fen },
    /// Debits and credits differ.
    #[error("entry is unbalanced: debits {debits} ≠ credits {credits}")]
    Unbalanced { debits: Fen, credits: Fen },
    /// A leg names a control account.
    #[error("account {account} is a control account; post to one of its sub-accounts")]
    PostToControl { account: AccountNo },
    /// A leg names an account that was never opened.
    #[error("account {account} is not open in this centre")]
    UnknownAccount { account: AccountNo },
    /// The entry would take a never-negative account below zero.
    #[error(
        "account {account} lacks {shortfall}: the entry would take its available balance below zero"
    )]
    InsufficientFunds { account: AccountNo, shortfall: Fen },
    /// The value date is before the account's current interest period (or opening).
    #[error(
        "account {account}: value date {value_date} is before its current interest period, which starts {period_start}"
    )]
    ValueDateBeforePeriod {
        account: AccountNo,
        value_date: Date,
        period_start: Date,
    },
    /// An interest period cannot be closed on this day.
    #[error(
        "account {account}: cannot start a new interest period on {new_start} (current period starts {period_start}, money last moved with value date {last_change}); settle interest before booking value dates after the period end"
    )]
    PeriodRoll {
        account: AccountNo,
        new_start: Date,
        last_change: Date,
        period_start: Date,
    },
    /// The same idempotency key was used with a different body.
    #[error(
        "idempotency key {key:?} was already used for a different entry (seq {seq}); use a new key"
    )]
    IdempotencyConflict { key: String, seq: i64 },
    /// The referenced entry does not exist.
    #[error("refers_to = {key:?}: no such entry in this centre")]
    ReferenceNotFound { key: String },
    /// The referenced entry cannot be posted, voided or reversed.
    #[error("refers_to = {key:?}: {reason}")]
    BadReference { key: String, reason: String },
    /// Arithmetic left the representable range.
    #[error("overflow computing {what}")]
    Overflow { what: &'static str },
    /// The stored journal does not verify (tamper evidence or corruption).
    #[error("journal entry {seq}: {reason}")]
    ChainBroken { seq: i64, reason: String },
}
