//! Reading rows into the shared raw row types and decoding them.

use anju_domain::ledger::{AccountState, Digest32, SealedEntry};
use anju_store::StoreError;
use anju_store::raw::{RawAccountRef, RawEntry, RawLeg, assemble, parse_digest};
use anju_store::sharing::{FactRow, LookupRow, RawApplication};
use jiff::civil::Date;
use rusqlite::types::{FromSql, ValueRef};
use rusqlite::{Connection, Row, params};

use crate::db_err;

/// The `ledger_accounts` columns [`account_from_row`] reads, in order.
pub const ACCOUNT_COLUMNS: &str = "account_no, normal_side, non_negative, opened_on, balance_fen, \
     pending_out_fen, pending_in_fen, accrual_fen_days, accrual_from, last_change, entry_count";

/// ISO text of a date, as stored.
pub fn date_str(d: Date) -> String {
    d.to_string()
}

pub use anju_store::raw::parse_date;

/// Parses a stored digest.
pub fn digest_hex(column: &str, text: &str) -> Result<Digest32, StoreError> {
    parse_digest(column, text)
}

/// Decodes a row selected with [`ACCOUNT_COLUMNS`], borrowing its text.
pub fn account_from_row(r: &Row<'_>) -> Result<AccountState, StoreError> {
    let text = |i: usize| -> Result<&str, StoreError> {
        r.get_ref(i)
            .and_then(|v| v.as_str().map_err(rusqlite::Error::from))
            .map_err(|e| StoreError::Corrupt {
                what: format!("ledger_accounts column {i}: {e}"),
            })
    };
    let int = |i: usize| -> Result<i64, StoreError> {
        r.get::<_, i64>(i).map_err(|e| StoreError::Corrupt {
            what: format!("ledger_accounts column {i}: {e}"),
        })
    };
    RawAccountRef {
        account_no: text(0)?,
        normal_side: text(1)?,
        non_negative: r.get::<_, bool>(2).map_err(|e| StoreError::Corrupt {
            what: format!("ledger_accounts.non_negative: {e}"),
        })?,
        opened_on: text(3)?,
        balance_fen: int(4)?,
        pending_out_fen: int(5)?,
        pending_in_fen: int(6)?,
        accrual_fen_days: int(7)?,
        accrual_from: text(8)?,
        last_change: text(9)?,
        entry_count: int(10)?,
    }
    .decode()
}

/// A value of the wrong type is corruption; anything else (busy, I/O) is a database error.
fn row_err(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Corrupt {
            what: format!("journal row: {e}"),
        },
        other => db_err(other),
    }
}

/// Entries with `after < seq ≤ last`, with their legs, in order.
pub fn entries_with_legs(
    conn: &Connection,
    centre: &str,
    after: i64,
    last: i64,
) -> Result<Vec<SealedEntry>, StoreError> {
    let corrupt = row_err;
    let mut stmt = conn
        .prepare_cached(
            "SELECT centre_code, seq, idempotency_key, kind, ref_seq, tx_code, business_date,
                value_date, memo, operator, channel, service_point, on_behalf_of, recorded_at_us,
                hash_alg, body_hash, prev_hash, entry_hash
             FROM journal_entries WHERE centre_code = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq",
        )
        .map_err(db_err)?;
    let entries: Vec<RawEntry> = stmt
        .query_map(params![centre, after, last], |r| {
            Ok(RawEntry {
                centre_code: r.get(0)?,
                seq: r.get(1)?,
                idempotency_key: r.get(2)?,
                kind: r.get(3)?,
                ref_seq: r.get(4)?,
                tx_code: r.get(5)?,
                business_date: r.get(6)?,
                value_date: r.get(7)?,
                memo: r.get(8)?,
                operator: r.get(9)?,
                channel: r.get(10)?,
                service_point: r.get(11)?,
                on_behalf_of: r.get(12)?,
                recorded_at_us: r.get(13)?,
                hash_alg: r.get(14)?,
                body_hash: r.get(15)?,
                prev_hash: r.get(16)?,
                entry_hash: r.get(17)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(corrupt)?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, leg_no, account_no, side, amount_fen FROM journal_legs
             WHERE centre_code = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq, leg_no",
        )
        .map_err(db_err)?;
    let legs: Vec<RawLeg> = stmt
        .query_map(params![centre, after, last], |r| {
            Ok(RawLeg {
                seq: r.get(0)?,
                leg_no: r.get(1)?,
                account_no: r.get(2)?,
                side: r.get(3)?,
                amount_fen: r.get(4)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(corrupt)?;
    assemble(entries, legs)
}

/// The `applications` columns [`application_from_row`] reads, in order.
pub const APPLICATION_COLUMNS: &str = "application_no, kind, purpose, applicant, claims, \
     status, opened_on, opened_at_us, operator, channel, service_point, on_behalf_of, \
     closed_at_us";

/// Reads a row selected with [`APPLICATION_COLUMNS`].
pub fn application_from_row(r: &Row<'_>) -> rusqlite::Result<RawApplication> {
    Ok(RawApplication {
        application_no: r.get(0)?,
        kind: r.get(1)?,
        purpose: r.get(2)?,
        applicant: r.get(3)?,
        claims: r.get(4)?,
        status: r.get(5)?,
        opened_on: r.get(6)?,
        opened_at_us: r.get(7)?,
        operator: r.get(8)?,
        channel: r.get(9)?,
        service_point: r.get(10)?,
        on_behalf_of: r.get(11)?,
        closed_at_us: r.get(12)?,
    })
}

/// The `fact_lookups` columns [`lookup_from_row`] reads, in order.
pub const LOOKUP_COLUMNS: &str = "application_no, seq, subject_id, department, query, param, \
     purpose, requester, channel, service_point, asked_at_us, outcome, answer_hash, source, \
     read_at_us, detail";

/// Reads a row selected with [`LOOKUP_COLUMNS`].
pub fn lookup_from_row(r: &Row<'_>) -> rusqlite::Result<LookupRow> {
    Ok(LookupRow {
        application_no: r.get(0)?,
        seq: r.get(1)?,
        subject_id: r.get(2)?,
        department: r.get(3)?,
        query: r.get(4)?,
        param: r.get(5)?,
        purpose: r.get(6)?,
        requester: r.get(7)?,
        channel: r.get(8)?,
        service_point: r.get(9)?,
        asked_at_us: r.get(10)?,
        outcome: r.get(11)?,
        answer_hash: r.get(12)?,
        source: r.get(13)?,
        read_at_us: r.get(14)?,
        detail: r.get(15)?,
    })
}

/// The `application_facts` columns [`fact_from_row`] reads, in order.
pub const FACT_COLUMNS: &str = "application_no, subject_id, department, query, param, payload, \
     answer_hash, source, read_at_us";

/// Reads a row selected with [`FACT_COLUMNS`].
pub fn fact_from_row(r: &Row<'_>) -> rusqlite::Result<FactRow> {
    Ok(FactRow {
        application_no: r.get(0)?,
        subject_id: r.get(1)?,
        department: r.get(2)?,
        query: r.get(3)?,
        param: r.get(4)?,
        payload: r.get(5)?,
        answer_hash: r.get(6)?,
        source: r.get(7)?,
        read_at_us: r.get(8)?,
    })
}

// ---- typed column readers (settlement, withdrawals) ----------------------------------

/// A `Conflict` for a taken key, with our wording; any other error as it is.
pub(crate) fn conflict_as(
    what: impl FnOnce() -> String,
) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| match db_err(e) {
        StoreError::Conflict { .. } => StoreError::Conflict { what: what() },
        other => other,
    }
}

/// A value of the wrong type is corruption; anything else (busy, I/O) is a database error.
fn col_err(table: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match e {
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Corrupt {
            what: format!("{table} row: {e}"),
        },
        other => db_err(other),
    }
}

/// Reads the columns of one row of `table`, mapping bad values to `Corrupt`.
pub(crate) struct Cols<'a, 'r> {
    pub(crate) r: &'a Row<'r>,
    pub(crate) table: &'static str,
}

impl Cols<'_, '_> {
    pub(crate) fn get<T: FromSql>(&self, i: usize) -> Result<T, StoreError> {
        self.r.get(i).map_err(col_err(self.table))
    }

    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<&str>, StoreError> {
        match self.r.get_ref(i).map_err(col_err(self.table))? {
            ValueRef::Null => Ok(None),
            v => v
                .as_str()
                .map(Some)
                .map_err(|e| col_err(self.table)(rusqlite::Error::from(e))),
        }
    }

    pub(crate) fn date(&self, i: usize) -> Result<Date, StoreError> {
        match self.opt_date(i)? {
            Some(d) => Ok(d),
            None => Err(StoreError::Corrupt {
                what: format!("{} row: column {i} is NULL", self.table),
            }),
        }
    }

    pub(crate) fn opt_date(&self, i: usize) -> Result<Option<Date>, StoreError> {
        self.opt_text(i)?
            .map(|s| parse_date(self.table, s))
            .transpose()
    }
}

/// Runs a cached query and decodes its rows with `f`.
pub(crate) fn query_rows<T>(
    conn: &Connection,
    table: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl Fn(&Cols<'_, '_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut st = conn.prepare_cached(sql).map_err(db_err)?;
    let mut rows = st.query(params).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(db_err)? {
        out.push(f(&Cols { r, table })?);
    }
    Ok(out)
}

/// Runs a cached query for at most one row and decodes it with `f`.
pub(crate) fn query_opt<T>(
    conn: &Connection,
    table: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl Fn(&Cols<'_, '_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut st = conn.prepare_cached(sql).map_err(db_err)?;
    let mut rows = st.query(params).map_err(db_err)?;
    match rows.next().map_err(db_err)? {
        Some(r) => f(&Cols { r, table }).map(Some),
        None => Ok(None),
    }
}
