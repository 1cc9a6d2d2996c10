//! Reading PostgreSQL rows into the shared raw row types (`anju_store::raw`), so both
//! backends decode identically. Dates are selected as `col::text` (the session runs with
//! `DateStyle = ISO`), booleans natively, `leg_no` as INTEGER widened to `i64`.

use anju_domain::ledger::AccountState;
use anju_store::StoreError;
use anju_store::raw::{RawAccountRef, RawEntry, RawLeg, parse_date};
use jiff::civil::Date;
use postgres::Row;

/// The `ledger_accounts` columns [`account_from_row`] reads, in order (a macro so that
/// queries built with `concat!` stay `&'static str` keys of the statement cache).
macro_rules! account_columns {
    () => {
        "account_no, normal_side, non_negative, opened_on::text, balance_fen, \
         pending_out_fen, pending_in_fen, accrual_fen_days, accrual_from::text, \
         last_change::text, entry_count"
    };
}
pub(crate) use account_columns;

/// The `journal_entries` columns [`entry_from_row`] reads, in order.
macro_rules! entry_columns {
    () => {
        "centre_code, seq, idempotency_key, kind, ref_seq, tx_code, business_date::text, \
         value_date::text, memo, operator, channel, service_point, on_behalf_of, \
         recorded_at_us, hash_alg, body_hash, prev_hash, entry_hash"
    };
}
pub(crate) use entry_columns;

/// The `journal_legs` columns [`leg_from_row`] reads, in order.
macro_rules! leg_columns {
    () => {
        "seq, leg_no, account_no, side, amount_fen"
    };
}
pub(crate) use leg_columns;

/// The `members` columns `PgConn::member_from` reads, in order.
macro_rules! member_columns {
    () => {
        "account_no, id_number, name, unit_no, base_fen, status, before_freeze, \
         opened_on::text, paid_to, flexible_ratio"
    };
}
pub(crate) use member_columns;

/// The `units` columns `PgConn::unit_of` reads, in order.
macro_rules! unit_columns {
    () => {
        "unit_no, credit_code, name, address, legal_rep, payday, bank_code, unit_ratio, \
         member_ratio, status, opened_on::text"
    };
}
pub(crate) use unit_columns;

/// The `bill_lines` columns `PgConn::bill_line_of` reads, in order.
macro_rules! bill_line_columns {
    () => {
        "l.bill_no, l.line_no, l.account_no, l.name, l.month, l.base_fen, l.unit_fen, \
         l.member_fen, l.notice, coalesce(l.paid_entry, b.paid_entry)"
    };
}
pub(crate) use bill_line_columns;

/// What [`bill_line_columns!`] selects from: each line with its bill, whose `paid_entry`
/// paid every line not paid on its own (schema 12). Filter on `l.`.
macro_rules! bill_lines_from {
    () => {
        " FROM bill_lines AS l LEFT JOIN bills AS b \
         ON b.centre_code = l.centre_code AND b.bill_no = l.bill_no "
    };
}
pub(crate) use bill_lines_from;

/// `WITH RECURSIVE months (m)`: every month present in the centre's bill lines (`$1`),
/// one index seek each (a skip scan over `bill_lines_month_account`, which PostgreSQL 15
/// does not do by itself), to join a member's lines by (month, account) (schema 13).
macro_rules! member_months {
    () => {
        "WITH RECURSIVE months (m) AS (
             SELECT min(month) FROM bill_lines WHERE centre_code = $1
             UNION ALL
             SELECT (SELECT min(month) FROM bill_lines
                     WHERE centre_code = $1 AND month > months.m)
             FROM months WHERE months.m IS NOT NULL
         ) "
    };
}
pub(crate) use member_months;

/// The `bills` columns `PgConn::bill_from` reads, in order.
macro_rules! bill_columns {
    () => {
        "bill_no, payer, kind, month, status, total_fen, line_count, bank_code, \
         due_on::text, created_on::text, confirmed_on::text, paid_on::text"
    };
}
pub(crate) use bill_columns;

/// The `receipts` columns `PgConn::receipt_from` reads, in order.
macro_rules! receipt_columns {
    () => {
        "receipt_key, payer, bill_no, amount_fen, received_on::text, bank_code, entry_key, \
         recorded_at_us"
    };
}
pub(crate) use receipt_columns;

fn corrupt(table: &str, e: &postgres::Error) -> StoreError {
    StoreError::Corrupt {
        what: format!("{table} row: {e}"),
    }
}

/// Decodes a row selected with [`account_columns!`], borrowing its text from the row.
pub fn account_from_row(r: &Row) -> Result<AccountState, StoreError> {
    let raw = (|| -> Result<RawAccountRef<'_>, postgres::Error> {
        Ok(RawAccountRef {
            account_no: r.try_get(0)?,
            normal_side: r.try_get(1)?,
            non_negative: r.try_get(2)?,
            opened_on: r.try_get(3)?,
            balance_fen: r.try_get(4)?,
            pending_out_fen: r.try_get(5)?,
            pending_in_fen: r.try_get(6)?,
            accrual_fen_days: r.try_get(7)?,
            accrual_from: r.try_get(8)?,
            last_change: r.try_get(9)?,
            entry_count: r.try_get(10)?,
        })
    })()
    .map_err(|e| corrupt("ledger_accounts", &e))?;
    raw.decode()
}

/// Reads a row selected with [`entry_columns!`].
pub fn entry_from_row(r: &Row) -> Result<RawEntry, StoreError> {
    (|| -> Result<RawEntry, postgres::Error> {
        Ok(RawEntry {
            centre_code: r.try_get(0)?,
            seq: r.try_get(1)?,
            idempotency_key: r.try_get(2)?,
            kind: r.try_get(3)?,
            ref_seq: r.try_get(4)?,
            tx_code: r.try_get(5)?,
            business_date: r.try_get(6)?,
            value_date: r.try_get(7)?,
            memo: r.try_get(8)?,
            operator: r.try_get(9)?,
            channel: r.try_get(10)?,
            service_point: r.try_get(11)?,
            on_behalf_of: r.try_get(12)?,
            recorded_at_us: r.try_get(13)?,
            hash_alg: r.try_get(14)?,
            body_hash: r.try_get(15)?,
            prev_hash: r.try_get(16)?,
            entry_hash: r.try_get(17)?,
        })
    })()
    .map_err(|e| corrupt("journal_entries", &e))
}

/// Reads a row selected with [`leg_columns!`].
pub fn leg_from_row(r: &Row) -> Result<RawLeg, StoreError> {
    (|| -> Result<RawLeg, postgres::Error> {
        Ok(RawLeg {
            seq: r.try_get(0)?,
            leg_no: i64::from(r.try_get::<_, i32>(1)?),
            account_no: r.try_get(2)?,
            side: r.try_get(3)?,
            amount_fen: r.try_get(4)?,
        })
    })()
    .map_err(|e| corrupt("journal_legs", &e))
}

/// The `applications` columns `PgConn::application_of` reads, in order.
macro_rules! application_columns {
    () => {
        "application_no, kind, purpose, applicant, claims, status, opened_on::text, \
         opened_at_us, operator, channel, service_point, on_behalf_of, closed_at_us"
    };
}
pub(crate) use application_columns;

/// The `fact_lookups` columns `PgConn::lookup_of` reads, in order.
macro_rules! lookup_columns {
    () => {
        "application_no, seq, subject_id, department, query, param, purpose, requester, \
         channel, service_point, asked_at_us, outcome, answer_hash, source, read_at_us, detail"
    };
}
pub(crate) use lookup_columns;

/// The `application_facts` columns `PgConn::fact_of` reads, in order.
macro_rules! fact_columns {
    () => {
        "application_no, subject_id, department, query, param, payload, answer_hash, source, \
         read_at_us"
    };
}
pub(crate) use fact_columns;

/// A date stored in `table`, selected as text.
pub(crate) fn date_of(r: &Row, i: usize, table: &str) -> Result<Date, StoreError> {
    let text: &str = r.try_get(i).map_err(|e| crate::pg_err(&e))?;
    parse_date(table, text)
}

/// A nullable date stored in `table`, selected as text.
pub(crate) fn opt_date_of(r: &Row, i: usize, table: &str) -> Result<Option<Date>, StoreError> {
    let text: Option<&str> = r.try_get(i).map_err(|e| crate::pg_err(&e))?;
    text.map(|s| parse_date(table, s)).transpose()
}
