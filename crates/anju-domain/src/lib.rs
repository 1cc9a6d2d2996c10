//! Anju's pure domain core: money, identifiers, standard codes, the business calendar,
//! centre policy and the double-entry ledger rules.
//!
//! **Architecture invariant:** this crate does no I/O — no files, sockets, clocks or
//! databases. Callers pass in text to parse, the business date and the current time.
//! That keeps every rule deterministic and testable without a database.

pub mod access;
pub mod calendar;
pub mod codes;
pub mod collection;
pub mod ids;
pub mod interest;
pub mod ledger;
pub mod loan;
pub mod money;
pub mod policy;
pub mod settlement;
pub mod sharing;
pub mod stamp;
pub mod withdrawal;

pub use money::{Fen, MoneyError, Rate, Rounding};
