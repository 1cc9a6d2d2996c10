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
    /// Rows of a list (an uploaded file or a bulk request) break rules: every bad row is
    /// listed, and nothing was written.
    #[error("{} bad row(s): {}", problems.len(), problems.iter().take(20).map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Rows { problems: Vec<RowProblem> },
    /// Who asked is not known (no session, an expired one, a wrong code or password):
    /// the reason is safe to show (it never says which of user and secret was wrong).
    #[error("not authenticated: {reason}")]
    Unauthenticated { reason: String },
    /// Who asked may not do this (the permission matrix, the service point, or whose
    /// data it is); the refusal is in the audit log.
    #[error("forbidden: {reason}")]
    Forbidden { reason: String },
    /// Too many attempts or requests; try again after the given number of seconds.
    #[error("too many requests: {reason} (retry after {retry_after_s} s)")]
    TooMany { reason: String, retry_after_s: i64 },
}

/// One bad row of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// Row number (as the user sees it: in a spreadsheet the header is row 1).
    pub row: usize,
    /// Column or field.
    pub field: String,
    /// The value found.
    pub value: String,
    /// The rule it breaks.
    pub rule: String,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "第{}行 {} {:?}: {}",
            self.row, self.field, self.value, self.rule
        )
    }
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
            AppError::Rows { .. } => "invalid_rows",
            AppError::Unauthenticated { .. } => "unauthenticated",
            AppError::Forbidden { .. } => "forbidden",
            AppError::TooMany { .. } => "too_many_requests",
        }
    }
}
