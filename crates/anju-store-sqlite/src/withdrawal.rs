//! Withdrawals (提取) on SQLite: the applications with their decisions, their status
//! timelines and their payees (schema 7).
//!
//! Plain functions over the transaction's connection; `SqliteTx` wraps the writes. A
//! single-row write that breaks a rule (a taken number, a second withdrawal in flight
//! for an account and ground, a trigger's refusal) is undone by SQLite alone: the
//! statement aborts and the transaction carries on. The timeline and payee writes run
//! under the caller's savepoint, so a `Conflict` writes none of their rows and leaves
//! the transaction usable, as on PostgreSQL.

use anju_domain::codes::Channel;
use anju_domain::stamp::Stamp;
use anju_store::StoreError;
use anju_store::withdrawal::{PayeeRow, WithdrawalEventRow, WithdrawalRow};
use rusqlite::{Connection, params};

use crate::db_err;
use crate::rows::{Cols, conflict_as, date_str, query_opt, query_rows};

/// The `withdrawals` columns [`withdrawal_of`] reads, in order (a macro so that queries
/// built with `concat!` are constants).
macro_rules! withdrawal_columns {
    () => {
        "application_no, account_no, id_number, ground, reason_code, mode, home_key, \
         requested, amount, interest, closes_account, status, decision, reason_zh, reason_en, \
         proposed_by, decided_by, business_date, created_at_us, updated_at_us, operator, \
         channel, service_point, on_behalf_of"
    };
}

fn withdrawal_of(c: &Cols<'_, '_>) -> Result<WithdrawalRow, StoreError> {
    let channel: String = c.get(21)?;
    Ok(WithdrawalRow {
        application_no: c.get(0)?,
        account_no: c.get(1)?,
        id_number: c.get(2)?,
        ground: c.get(3)?,
        reason_code: c.get(4)?,
        mode: c.get(5)?,
        home_key: c.get(6)?,
        requested: c.get(7)?,
        amount: c.get(8)?,
        interest: c.get(9)?,
        closes_account: c.get(10)?,
        status: c.get(11)?,
        decision: c.get(12)?,
        reason_zh: c.get(13)?,
        reason_en: c.get(14)?,
        proposed_by: c.get(15)?,
        decided_by: c.get(16)?,
        business_date: c.date(17)?,
        created_at_us: c.get(18)?,
        updated_at_us: c.get(19)?,
        stamp: Stamp {
            operator: c.get(20)?,
            channel: Channel::from_code(&channel).map_err(|e| StoreError::Corrupt {
                what: format!("withdrawals row: channel: {e}"),
            })?,
            service_point: c.get(22)?,
            on_behalf_of: c.get(23)?,
        },
    })
}

/// The `Conflict` of a withdrawal whose number is taken (worded as PostgreSQL's).
fn number_taken(centre: &str, application_no: &str) -> StoreError {
    StoreError::Conflict {
        what: format!("withdrawal {application_no} in centre {centre}"),
    }
}

/// The `what` of a second withdrawal in flight (worded as PostgreSQL's).
fn in_flight_what(centre: &str, w: &WithdrawalRow) -> String {
    format!(
        "a withdrawal in flight from account {} on ground {} in centre {centre}",
        w.account_no, w.ground
    )
}

/// Whether a withdrawal numbered `application_no` is stored.
fn exists(conn: &Connection, centre: &str, application_no: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM withdrawals WHERE centre_code = ?1 AND application_no = ?2")
        .and_then(|mut st| st.exists(params![centre, application_no]))
        .map_err(db_err)
}

pub(crate) fn insert_withdrawal(
    conn: &Connection,
    centre: &str,
    w: &WithdrawalRow,
) -> Result<(), StoreError> {
    let r = conn
        .prepare_cached(concat!(
            "INSERT INTO withdrawals (centre_code, ",
            withdrawal_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)"
        ))
        .and_then(|mut st| {
            st.execute(params![
                centre,
                w.application_no,
                w.account_no,
                w.id_number,
                w.ground,
                w.reason_code,
                w.mode,
                w.home_key,
                w.requested,
                w.amount,
                w.interest,
                w.closes_account,
                w.status,
                w.decision,
                w.reason_zh,
                w.reason_en,
                w.proposed_by,
                w.decided_by,
                date_str(w.business_date),
                w.created_at_us,
                w.updated_at_us,
                w.stamp.operator,
                w.stamp.channel.code(),
                w.stamp.service_point,
                w.stamp.on_behalf_of
            ])
        })
        .map_err(db_err);
    match r {
        Ok(_) => Ok(()),
        // The primary key or the index of withdrawals in flight: say which.
        Err(StoreError::Conflict { .. }) => {
            if exists(conn, centre, &w.application_no)? {
                Err(number_taken(centre, &w.application_no))
            } else {
                Err(StoreError::Conflict {
                    what: in_flight_what(centre, w),
                })
            }
        }
        Err(e) => Err(e),
    }
}

const WITHDRAWAL_BY_NO: &str = concat!(
    "SELECT ",
    withdrawal_columns!(),
    " FROM withdrawals WHERE centre_code = ?1 AND application_no = ?2"
);

pub(crate) fn withdrawal(
    conn: &Connection,
    centre: &str,
    application_no: &str,
) -> Result<Option<WithdrawalRow>, StoreError> {
    query_opt(
        conn,
        "withdrawals",
        WITHDRAWAL_BY_NO,
        params![centre, application_no],
        withdrawal_of,
    )
}

pub(crate) fn update_withdrawal(
    conn: &Connection,
    centre: &str,
    w: &WithdrawalRow,
) -> Result<(), StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE withdrawals SET mode = ?3, home_key = ?4, amount = ?5, interest = ?6,
                closes_account = ?7, status = ?8, decision = ?9, reason_zh = ?10,
                reason_en = ?11, proposed_by = ?12, decided_by = ?13, updated_at_us = ?14
             WHERE centre_code = ?1 AND application_no = ?2",
        )
        .and_then(|mut st| {
            st.execute(params![
                centre,
                w.application_no,
                w.mode,
                w.home_key,
                w.amount,
                w.interest,
                w.closes_account,
                w.status,
                w.decision,
                w.reason_zh,
                w.reason_en,
                w.proposed_by,
                w.decided_by,
                w.updated_at_us
            ])
        })
        // The number is not changed, so only the index of withdrawals in flight clashes.
        .map_err(conflict_as(|| in_flight_what(centre, w)))?;
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound {
            what: format!("withdrawal {} in centre {centre}", w.application_no),
        })
    }
}

/// The withdrawals matching `filter` (on the centre, `?1`, and the given parameters),
/// oldest first: by creation time, then byte-wise by number.
fn withdrawals_where(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<WithdrawalRow>, StoreError> {
    query_rows(
        conn,
        "withdrawals",
        &format!(
            concat!(
                "SELECT ",
                withdrawal_columns!(),
                " FROM withdrawals WHERE centre_code = ?1 AND {} \
                 ORDER BY created_at_us, application_no"
            ),
            filter
        ),
        params,
        withdrawal_of,
    )
}

pub(crate) fn withdrawals_of_account(
    conn: &Connection,
    centre: &str,
    account_no: &str,
) -> Result<Vec<WithdrawalRow>, StoreError> {
    withdrawals_where(conn, "account_no = ?2", params![centre, account_no])
}

pub(crate) fn withdrawals_by_home_key(
    conn: &Connection,
    centre: &str,
    ground: &str,
    home_key: &str,
) -> Result<Vec<WithdrawalRow>, StoreError> {
    withdrawals_where(
        conn,
        "ground = ?2 AND home_key = ?3",
        params![centre, ground, home_key],
    )
}

/// `status IN (?2, ?3, …)`, one statement per number of statuses (the statement cache
/// keeps each).
pub(crate) fn withdrawals_with_status(
    conn: &Connection,
    centre: &str,
    statuses: &[&str],
) -> Result<Vec<WithdrawalRow>, StoreError> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (2..statuses.len() + 2).map(|i| format!("?{i}")).collect();
    let mut values: Vec<&str> = Vec::with_capacity(statuses.len() + 1);
    values.push(centre);
    values.extend_from_slice(statuses);
    withdrawals_where(
        conn,
        &format!("status IN ({})", marks.join(", ")),
        rusqlite::params_from_iter(values),
    )
}

// ---- timeline -------------------------------------------------------------------------

/// Row by row; the caller's savepoint undoes the rows already written when one clashes.
pub(crate) fn insert_events(
    conn: &Connection,
    centre: &str,
    rows: &[WithdrawalEventRow],
) -> Result<(), StoreError> {
    let mut st = conn
        .prepare_cached(
            "INSERT INTO withdrawal_events (centre_code, application_no, seq, status, at_us,
                operator, note_zh, note_en)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(db_err)?;
    for e in rows {
        st.execute(params![
            centre,
            e.application_no,
            e.seq,
            e.status,
            e.at_us,
            e.operator,
            e.note_zh,
            e.note_en
        ])
        .map_err(conflict_as(|| {
            format!(
                "step {} of withdrawal {} in centre {centre}",
                e.seq, e.application_no
            )
        }))?;
    }
    Ok(())
}

pub(crate) fn events(
    conn: &Connection,
    centre: &str,
    application_no: &str,
) -> Result<Vec<WithdrawalEventRow>, StoreError> {
    query_rows(
        conn,
        "withdrawal_events",
        "SELECT application_no, seq, status, at_us, operator, note_zh, note_en
         FROM withdrawal_events WHERE centre_code = ?1 AND application_no = ?2 ORDER BY seq",
        params![centre, application_no],
        |c| {
            Ok(WithdrawalEventRow {
                application_no: c.get(0)?,
                seq: c.get(1)?,
                status: c.get(2)?,
                at_us: c.get(3)?,
                operator: c.get(4)?,
                note_zh: c.get(5)?,
                note_en: c.get(6)?,
            })
        },
    )
}

// ---- payees ---------------------------------------------------------------------------

/// Row by row; the caller's savepoint undoes the rows already written when one clashes.
pub(crate) fn insert_payees(
    conn: &Connection,
    centre: &str,
    rows: &[PayeeRow],
) -> Result<(), StoreError> {
    let mut st = conn
        .prepare_cached(
            "INSERT INTO withdrawal_payees (centre_code, application_no, seq, id_number, name,
                bank_code, card_no, share_num, share_den, amount, serial)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .map_err(db_err)?;
    for p in rows {
        st.execute(params![
            centre,
            p.application_no,
            p.seq,
            p.id_number,
            p.name,
            p.bank_code,
            p.card_no,
            p.share_num,
            p.share_den,
            p.amount,
            p.serial
        ])
        .map_err(conflict_as(|| payee_conflict(centre, p)))?;
    }
    Ok(())
}

/// The `what` of a payee whose number or serial is taken (worded as PostgreSQL's).
pub(crate) fn payee_conflict(centre: &str, p: &PayeeRow) -> String {
    format!(
        "payee {} of withdrawal {} or serial {} in centre {centre}",
        p.seq, p.application_no, p.serial
    )
}

pub(crate) fn payees(
    conn: &Connection,
    centre: &str,
    application_no: &str,
) -> Result<Vec<PayeeRow>, StoreError> {
    query_rows(
        conn,
        "withdrawal_payees",
        "SELECT application_no, seq, id_number, name, bank_code, card_no, share_num,
            share_den, amount, serial
         FROM withdrawal_payees WHERE centre_code = ?1 AND application_no = ?2 ORDER BY seq",
        params![centre, application_no],
        |c| {
            Ok(PayeeRow {
                application_no: c.get(0)?,
                seq: c.get(1)?,
                id_number: c.get(2)?,
                name: c.get(3)?,
                bank_code: c.get(4)?,
                card_no: c.get(5)?,
                share_num: c.get(6)?,
                share_den: c.get(7)?,
                amount: c.get(8)?,
                serial: c.get(9)?,
            })
        },
    )
}
