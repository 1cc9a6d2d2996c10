//! Errors from loading a centre policy and from querying it.

use std::fmt;

use jiff::civil::Date;

/// Why a policy file was refused, or why a query has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The text is not TOML, or its shape does not fit the schema: an unknown key or
    /// section, a table where a list of rows belongs, and so on. The message is toml's
    /// own and names the line, the column and the offending key.
    #[error("policy file does not fit the schema: {message}")]
    Syntax {
        /// toml's message, with line and column.
        message: String,
    },
    /// The file fits the schema but breaks one or more rules. Every problem found is
    /// listed, in file order.
    #[error("policy file has {} problem(s): {}", .issues.len(), join(.issues))]
    Invalid {
        /// The problems, at least one.
        issues: Vec<PolicyIssue>,
    },
    /// A query asked for a date before the first version of an effective-dated section.
    #[error("no {section} rule is in force on {date}: the first version takes effect on {first}")]
    NotInForce {
        /// The section, as named in the file (`contribution`, `deposit_rate`, ...).
        section: &'static str,
        /// The date asked about.
        date: Date,
        /// The effective date of the section's first version.
        first: Date,
    },
    /// A period query was given an end before its start.
    #[error("period from {from} to {to} ends before it starts")]
    ReversedPeriod {
        /// Start of the period.
        from: Date,
        /// End of the period.
        to: Date,
    },
    /// A computed date falls outside the calendar jiff supports (years −9999 to 9999).
    #[error("{what} falls outside the supported calendar")]
    DateOutOfRange {
        /// What was being computed.
        what: &'static str,
    },
}

impl PolicyError {
    /// The rule violations, for [`PolicyError::Invalid`]; empty for every other kind.
    pub fn issues(&self) -> &[PolicyIssue] {
        match self {
            PolicyError::Invalid { issues } => issues,
            _ => &[],
        }
    }
}

fn join(issues: &[PolicyIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One broken rule in a policy file: where, what value, and which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyIssue {
    /// Path of the field, with 0-based row indexes: `contribution[1].base_cap`.
    pub path: String,
    /// The value as written in the file (TOML syntax), or `None` when it is missing.
    pub value: Option<String>,
    /// The kind of rule broken, for programs.
    pub kind: IssueKind,
    /// The rule broken, for people: `must be at least contribution[1].base_floor (2270.00)`.
    pub rule: String,
}

impl fmt::Display for PolicyIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{} = {}: {}", self.path, value, self.rule),
            None => write!(f, "{}: {}", self.path, self.rule),
        }
    }
}

/// The kind of rule a [`PolicyIssue`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssueKind {
    /// A required value or section is absent.
    Missing,
    /// The value has the wrong type or cannot be read (`"12,5"` as a rate, `"2024-13-01"`).
    Unparsable,
    /// The value is readable but outside its allowed bounds (a ratio above the national
    /// 12 %, a day-count basis other than 360 or 365, ...).
    OutOfBounds,
    /// The value contradicts another value (floor above cap, minimum above maximum).
    Contradictory,
    /// An effective-dated history is not in strictly increasing date order, so two
    /// versions overlap or are out of order.
    NotIncreasing,
    /// An effective-dated history has no rows.
    EmptyHistory,
}
