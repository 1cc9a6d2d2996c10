//! Rows of data sharing (数据共享): the applications (申请) that may look up other
//! departments' facts, the persons party to them, the look-up log (查询留痕) and the facts
//! cached for one application. Plain data; the codes in them (kinds, purposes, roles,
//! departments, queries) are opaque here: `anju_domain` defines them and `anju_app` uses
//! them.
//!
//! Status and outcome texts are fixed by the schema's CHECK constraints: an application is
//! [`APPLICATION_OPEN`] or [`APPLICATION_CLOSED`]; a look-up's outcome is one of
//! [`LOOKUP_OUTCOMES`].

use anju_domain::codes::Channel;
use anju_domain::stamp::Stamp;
use jiff::civil::Date;

use crate::StoreError;
use crate::raw::parse_date;

/// Status of an application that may still look up facts.
pub const APPLICATION_OPEN: &str = "open";
/// Status of a finished application.
pub const APPLICATION_CLOSED: &str = "closed";
/// Outcome of a look-up that was asked and not yet answered.
pub const LOOKUP_PENDING: &str = "pending";
/// Every outcome a look-up may have: `pending`, then one of `answered`, `not_found`,
/// `unavailable` or `cached`.
pub const LOOKUP_OUTCOMES: [&str; 5] = [
    LOOKUP_PENDING,
    "answered",
    "not_found",
    "unavailable",
    "cached",
];

/// An application (申请) that may look up other departments' facts: a withdrawal, a
/// loan …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    /// Application number, unique in the centre.
    pub application_no: String,
    /// What is applied for, e.g. `withdrawal.purchase` or `loan` (a domain
    /// code, opaque here).
    pub kind: String,
    /// Legal purpose code of its look-ups, e.g. `withdrawal` (opaque here).
    pub purpose: String,
    /// Resident ID number of the applicant.
    pub applicant: String,
    /// What the applicant claims, as JSON text (opaque here).
    pub claims: String,
    /// [`APPLICATION_OPEN`] or [`APPLICATION_CLOSED`].
    pub status: String,
    /// Business date opened.
    pub opened_on: Date,
    /// When opened (wall clock), µs since the Unix epoch.
    pub opened_at_us: i64,
    /// Who opened it, where, how.
    pub stamp: Stamp,
    /// When closed, µs since the Unix epoch; `None` while open.
    pub closed_at_us: Option<i64>,
}

/// A person party to an application, with a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyRow {
    /// Resident ID number, once per application.
    pub id_number: String,
    /// Role: `applicant`, `spouse`, `co_borrower`, `heir` … (opaque here).
    pub role: String,
}

/// A party's consent (授权) to look-ups of their data for one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    /// Whose consent: resident ID number.
    pub id_number: String,
    /// When it was given, µs since the Unix epoch.
    pub given_at_us: i64,
    /// How: e.g. `applied` (the applicant, by applying), `face-login`, `e-signature`,
    /// `counter-signature` (opaque here).
    pub how: String,
    /// Who recorded it.
    pub operator: String,
    /// Channel code.
    pub channel: String,
    /// Service point.
    pub service_point: String,
}

/// One look-up of another department's data (the access log, 查询留痕). Append-only,
/// except that a [`LOOKUP_PENDING`] row is completed once with its answer
/// ([`LookupOutcome`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupRow {
    /// The application the look-up was made for.
    pub application_no: String,
    /// Position in the application's log: 1, 2, 3 …
    pub seq: i64,
    /// Whose data: a resident ID number.
    pub subject_id: String,
    /// The department asked, e.g. `civil-affairs`.
    pub department: String,
    /// What was asked, e.g. `marriage`.
    pub query: String,
    /// The query's parameter (e.g. a tax year); empty if none.
    pub param: String,
    /// Legal purpose code of the look-up.
    pub purpose: String,
    /// Who asked: the operator of the stamp.
    pub requester: String,
    /// Through which channel: its code, as stamps are stored elsewhere.
    pub channel: String,
    /// At which service point.
    pub service_point: String,
    /// When asked, µs since the Unix epoch.
    pub asked_at_us: i64,
    /// One of [`LOOKUP_OUTCOMES`].
    pub outcome: String,
    /// SM3 (hex) of the answer; empty when there is none.
    pub answer_hash: String,
    /// Who answered: the exchange's base URL, or `cache`; empty while pending.
    pub source: String,
    /// When the department read the fact, µs since the Unix epoch.
    pub read_at_us: Option<i64>,
    /// Why the department was unavailable; empty otherwise.
    pub detail: String,
}

/// A fact cached for one application (never shared across applications).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactRow {
    /// The application it was read for.
    pub application_no: String,
    /// Whose fact: a resident ID number.
    pub subject_id: String,
    /// The department that answered.
    pub department: String,
    /// What was asked.
    pub query: String,
    /// The query's parameter; empty if none.
    pub param: String,
    /// The typed answer as JSON text.
    pub payload: String,
    /// SM3 (hex) of the answer.
    pub answer_hash: String,
    /// Who answered (the exchange's base URL).
    pub source: String,
    /// When the department read the fact, µs since the Unix epoch.
    pub read_at_us: i64,
}

/// How a pending look-up ended: the fields of a [`LookupRow`] that completing it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupOutcome {
    /// The look-up's position in its application's log.
    pub seq: i64,
    /// One of [`LOOKUP_OUTCOMES`] other than [`LOOKUP_PENDING`].
    pub outcome: String,
    /// SM3 (hex) of the answer; empty when there is none.
    pub answer_hash: String,
    /// Who answered.
    pub source: String,
    /// When the department read the fact, µs since the Unix epoch.
    pub read_at_us: Option<i64>,
    /// Why the department was unavailable; empty otherwise.
    pub detail: String,
}

/// An `applications` row as read.
#[derive(Debug, Clone)]
pub struct RawApplication {
    pub application_no: String,
    pub kind: String,
    pub purpose: String,
    pub applicant: String,
    pub claims: String,
    pub status: String,
    pub opened_on: String,
    pub opened_at_us: i64,
    pub operator: String,
    pub channel: String,
    pub service_point: String,
    pub on_behalf_of: Option<String>,
    pub closed_at_us: Option<i64>,
}

impl RawApplication {
    /// Decodes the row.
    pub fn decode(self) -> Result<ApplicationRow, StoreError> {
        let at = |column| crate::raw::At {
            table: "applications",
            key: &self.application_no,
            column,
        };
        Ok(ApplicationRow {
            opened_on: parse_date(at("opened_on"), &self.opened_on)?,
            stamp: Stamp {
                channel: Channel::from_code(&self.channel).map_err(|e| StoreError::Corrupt {
                    what: format!("{}: {e}", at("channel")),
                })?,
                operator: self.operator,
                service_point: self.service_point,
                on_behalf_of: self.on_behalf_of,
            },
            application_no: self.application_no,
            kind: self.kind,
            purpose: self.purpose,
            applicant: self.applicant,
            claims: self.claims,
            status: self.status,
            opened_at_us: self.opened_at_us,
            closed_at_us: self.closed_at_us,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn raw() -> RawApplication {
        RawApplication {
            application_no: "A1".into(),
            kind: "withdrawal.purchase".into(),
            purpose: "withdrawal".into(),
            applicant: "330802199001011234".into(),
            claims: "{}".into(),
            status: APPLICATION_OPEN.into(),
            opened_on: "2026-03-02".into(),
            opened_at_us: 7,
            operator: "staff:S0001".into(),
            channel: Channel::Counter.code().into(),
            service_point: "hall-kecheng".into(),
            on_behalf_of: Some("member:1".into()),
            closed_at_us: None,
        }
    }

    #[test]
    fn applications_decode_and_bad_columns_are_corrupt() {
        let a = raw().decode().unwrap();
        assert_eq!(a.opened_on, Date::new(2026, 3, 2).unwrap());
        assert_eq!(a.stamp.channel, Channel::Counter);
        assert_eq!(a.stamp.on_behalf_of.as_deref(), Some("member:1"));
        let bad_date = RawApplication {
            opened_on: "2026-3-2".into(),
            ..raw()
        };
        assert!(matches!(
            bad_date.decode(),
            Err(StoreError::Corrupt { what }) if what.contains("applications[A1].opened_on")
        ));
        let bad_channel = RawApplication {
            channel: "zz".into(),
            ..raw()
        };
        assert!(matches!(
            bad_channel.decode(),
            Err(StoreError::Corrupt { what }) if what.contains("applications[A1].channel")
        ));
    }
}
