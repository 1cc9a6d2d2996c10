//! Anju's use cases and batch jobs. Each public function is one business act or job: it
//! takes the store, the actor's stamp (inside the requests), the business date and the
//! current time as arguments, runs in exactly one transaction, and returns a decision or
//! an error that names the field and the rule. Nothing here knows SQL or HTTP.

pub mod access;
pub mod dayclose;
pub mod error;
pub mod identity;
pub mod import;
pub mod interest;
pub mod ledger;
pub mod lending;
pub mod loan;
pub mod notify;
pub mod registry;
pub mod remittance;
pub mod settlement;
pub mod sharing;
pub mod statement;
pub mod withdrawal;

pub use error::{AppError, RowProblem};

/// `now` advanced by the time elapsed since `since`: when a use case that was given the
/// time goes on to a later step (a department's answer, a bank's), the step is stamped
/// with when it happened, without reading the wall clock again.
pub(crate) fn later(now: jiff::Timestamp, since: std::time::Instant) -> jiff::Timestamp {
    let elapsed =
        jiff::SignedDuration::try_from(since.elapsed()).unwrap_or(jiff::SignedDuration::ZERO);
    now.checked_add(elapsed).unwrap_or(now)
}

/// A card or ID number as shown in pages, receipts and documents: the first and last four
/// characters, the rest starred (short numbers all starred).
pub fn mask(text: &str) -> String {
    let n = text.chars().count();
    if n <= 8 {
        return "*".repeat(n);
    }
    let head: String = text.chars().take(4).collect();
    let tail: String = text.chars().skip(n - 4).collect();
    format!("{head}{}{tail}", "*".repeat(n - 8))
}
