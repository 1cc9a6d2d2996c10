//! The application error: a domain refusal, a bad argument, or a storage failure.

use anju_domain::ledger::LedgerError;
use anju_store::StoreError;

/// Why a use case did not happen. Nothing was written when this is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// An argument is invalid.
    #[error("{field} = {value:?}: {rule}")]
    Invalid {
        field: &'static str,
        value: String,
        rule: String,
    },
    /// A ledger rule refused an entry.
    #[error("entry {key:?}: {source}")]
    Entry {
        key: String,
        #[source]
        source: LedgerError,
    },
    /// Something that must exist does not.
    #[error("not found: {what}")]
    NotFound { what: String },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppError {
    /// A stable snake_case code for APIs and translations.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid { .. } => "invalid_input",
            AppError::Entry { source, .. } => match source {
                LedgerError::IdempotencyConflict { .. } => "idempotency_conflict",
                LedgerError::InsufficientFunds { .. } => "insufficient_funds",
                LedgerError::UnknownAccount { .. } => "unknown_account",
                _ => "entry_refused",
            },
            AppError::NotFound { .. } => "not_found",
            AppError::Store(StoreError::Conflict { .. }) => "conflict",
            AppError::Store(_) => "storage_error",
        }
    }
}
