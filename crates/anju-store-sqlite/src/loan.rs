//! Loans (贷款) on SQLite: the loans, their schedules, timelines and signed documents
//! (schema 8).
//!
//! Plain functions over the transaction's connection; `SqliteTx` wraps the writes (the
//! multi-row ones under a savepoint, so a `Conflict` writes none of their rows and leaves
//! the transaction usable, as on PostgreSQL).

use anju_domain::codes::Channel;
use anju_domain::stamp::Stamp;
use anju_store::StoreError;
use anju_store::loan::{DayCloseRow, InstallmentRow, LoanDocumentRow, LoanEventRow, LoanRow};
use rusqlite::{Connection, params};

use crate::db_err;
use crate::rows::{Cols, conflict_as, date_str, query_opt, query_rows};

/// The `loans` columns [`loan_of`] reads, in order.
macro_rules! loan_columns {
    () => {
        "loan_no, application_no, account_no, id_number, co_id_number, co_account_no, kind, \
         home, bank_code, principal, rate_units, months, method, repay_day, deduct_from, \
         card_no, status, signed_on, disbursed_on, closed_on, outstanding, risk_class, \
         overdue_days, details, business_date, created_at_us, updated_at_us, operator, \
         channel, service_point, on_behalf_of"
    };
}

fn loan_of(c: &Cols<'_, '_>) -> Result<LoanRow, StoreError> {
    let channel: String = c.get(28)?;
    Ok(LoanRow {
        loan_no: c.get(0)?,
        application_no: c.get(1)?,
        account_no: c.get(2)?,
        id_number: c.get(3)?,
        co_id_number: c.get(4)?,
        co_account_no: c.get(5)?,
        kind: c.get(6)?,
        home: c.get(7)?,
        bank_code: c.get(8)?,
        principal: c.get(9)?,
        rate_units: c.get(10)?,
        months: c.get(11)?,
        method: c.get(12)?,
        repay_day: c.get(13)?,
        deduct_from: c.get(14)?,
        card_no: c.get(15)?,
        status: c.get(16)?,
        signed_on: c.opt_date(17)?,
        disbursed_on: c.opt_date(18)?,
        closed_on: c.opt_date(19)?,
        outstanding: c.get(20)?,
        risk_class: c.get(21)?,
        overdue_days: c.get(22)?,
        details: c.get(23)?,
        business_date: c.date(24)?,
        created_at_us: c.get(25)?,
        updated_at_us: c.get(26)?,
        stamp: Stamp {
            operator: c.get(27)?,
            channel: Channel::from_code(&channel).map_err(|e| StoreError::Corrupt {
                what: format!("loans row: channel: {e}"),
            })?,
            service_point: c.get(29)?,
            on_behalf_of: c.get(30)?,
        },
    })
}

pub(crate) fn count_loans(conn: &Connection, centre: &str) -> Result<i64, StoreError> {
    conn.prepare_cached("SELECT COUNT(*) FROM loans WHERE centre_code = ?1")
        .and_then(|mut st| st.query_row(params![centre], |r| r.get(0)))
        .map_err(db_err)
}

pub(crate) fn insert_loan(conn: &Connection, centre: &str, l: &LoanRow) -> Result<(), StoreError> {
    conn.prepare_cached(concat!(
        "INSERT INTO loans (centre_code, ",
        loan_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
            ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)"
    ))
    .and_then(|mut st| {
        st.execute(params![
            centre,
            l.loan_no,
            l.application_no,
            l.account_no,
            l.id_number,
            l.co_id_number,
            l.co_account_no,
            l.kind,
            l.home,
            l.bank_code,
            l.principal,
            l.rate_units,
            l.months,
            l.method,
            l.repay_day,
            l.deduct_from,
            l.card_no,
            l.status,
            l.signed_on.map(date_str),
            l.disbursed_on.map(date_str),
            l.closed_on.map(date_str),
            l.outstanding,
            l.risk_class,
            l.overdue_days,
            l.details,
            date_str(l.business_date),
            l.created_at_us,
            l.updated_at_us,
            l.stamp.operator,
            l.stamp.channel.code(),
            l.stamp.service_point,
            l.stamp.on_behalf_of
        ])
    })
    .map_err(conflict_as(|| {
        format!(
            "loan {} (application {}) or an open loan of account {} in centre {centre}",
            l.loan_no, l.application_no, l.account_no
        )
    }))
    .map(|_| ())
}

const LOAN_BY_NO: &str = concat!(
    "SELECT ",
    loan_columns!(),
    " FROM loans WHERE centre_code = ?1 AND loan_no = ?2"
);

pub(crate) fn loan(
    conn: &Connection,
    centre: &str,
    loan_no: &str,
) -> Result<Option<LoanRow>, StoreError> {
    query_opt(conn, "loans", LOAN_BY_NO, params![centre, loan_no], loan_of)
}

/// Row by row under the caller's savepoint.
/// Rows per multi-row statement of the batch writes (a statement per row inside the
/// caller's savepoint costs SQLite a statement journal each: the day close's 50,000-row
/// writes took minutes that way).
const BATCH_ROWS: usize = 200;

/// Many rows in one statement per [`BATCH_ROWS`]; a chunk whose statement fails or
/// touches fewer rows than it holds is done again row by row, which names the row.
pub(crate) fn update_loans(
    conn: &Connection,
    centre: &str,
    rows: &[LoanRow],
) -> Result<(), StoreError> {
    use rusqlite::types::Value;
    const COLS: usize = 20;
    for chunk in rows.chunks(BATCH_ROWS) {
        let tuple = format!("({})", ["?"; COLS].join(", "));
        let sql = format!(
            "UPDATE loans SET kind = v.column2, home = v.column3, bank_code = v.column4,
                principal = v.column5, rate_units = v.column6, months = v.column7,
                method = v.column8, repay_day = v.column9, deduct_from = v.column10,
                card_no = v.column11, status = v.column12, signed_on = v.column13,
                disbursed_on = v.column14, closed_on = v.column15, outstanding = v.column16,
                risk_class = v.column17, overdue_days = v.column18, details = v.column19,
                updated_at_us = v.column20
             FROM (VALUES {}) AS v
             WHERE loans.centre_code = ? AND loans.loan_no = v.column1",
            vec![tuple.as_str(); chunk.len()].join(", ")
        );
        let opt_date =
            |d: Option<jiff::civil::Date>| d.map_or(Value::Null, |d| Value::Text(date_str(d)));
        let mut p: Vec<Value> = Vec::with_capacity(chunk.len() * COLS + 1);
        for l in chunk {
            p.extend([
                Value::Text(l.loan_no.clone()),
                Value::Text(l.kind.clone()),
                Value::Text(l.home.clone()),
                Value::Text(l.bank_code.clone()),
                Value::Integer(l.principal),
                Value::Integer(l.rate_units),
                Value::Integer(i64::from(l.months)),
                Value::Text(l.method.clone()),
                Value::Integer(i64::from(l.repay_day)),
                Value::Text(l.deduct_from.clone()),
                Value::Text(l.card_no.clone()),
                Value::Text(l.status.clone()),
                opt_date(l.signed_on),
                opt_date(l.disbursed_on),
                opt_date(l.closed_on),
                Value::Integer(l.outstanding),
                Value::Text(l.risk_class.clone()),
                Value::Integer(i64::from(l.overdue_days)),
                Value::Text(l.details.clone()),
                Value::Integer(l.updated_at_us),
            ]);
        }
        p.push(Value::Text(centre.to_owned()));
        let done = conn
            .prepare_cached(&sql)
            .and_then(|mut st| st.execute(rusqlite::params_from_iter(p)));
        if !matches!(done, Ok(n) if n == chunk.len()) {
            update_loans_each(conn, centre, chunk)?;
        }
    }
    Ok(())
}

/// Row by row (the exact error of a chunk [`update_loans`] could not write at once).
fn update_loans_each(conn: &Connection, centre: &str, rows: &[LoanRow]) -> Result<(), StoreError> {
    let mut st = conn
        .prepare_cached(
            "UPDATE loans SET kind = ?3, home = ?4, bank_code = ?5, principal = ?6,
                rate_units = ?7, months = ?8, method = ?9, repay_day = ?10, deduct_from = ?11,
                card_no = ?12, status = ?13, signed_on = ?14, disbursed_on = ?15,
                closed_on = ?16, outstanding = ?17, risk_class = ?18, overdue_days = ?19,
                details = ?20, updated_at_us = ?21
             WHERE centre_code = ?1 AND loan_no = ?2",
        )
        .map_err(db_err)?;
    for l in rows {
        let n = st
            .execute(params![
                centre,
                l.loan_no,
                l.kind,
                l.home,
                l.bank_code,
                l.principal,
                l.rate_units,
                l.months,
                l.method,
                l.repay_day,
                l.deduct_from,
                l.card_no,
                l.status,
                l.signed_on.map(date_str),
                l.disbursed_on.map(date_str),
                l.closed_on.map(date_str),
                l.outstanding,
                l.risk_class,
                l.overdue_days,
                l.details,
                l.updated_at_us
            ])
            .map_err(conflict_as(|| {
                format!(
                    "an open loan of account {} in centre {centre}",
                    l.account_no
                )
            }))?;
        if n != 1 {
            return Err(StoreError::NotFound {
                what: format!("loan {} in centre {centre}", l.loan_no),
            });
        }
    }
    Ok(())
}

/// Rows per statement of the narrow servicing writes.
const SERVICE_ROWS: usize = 500;

/// The servicing columns of many loans, one `UPDATE … FROM (VALUES …)` per
/// [`SERVICE_ROWS`]. Loans staying `active` get only their outstanding principal, risk
/// class, overdue days and update time (no index and no trigger covers those); the others
/// (paid off) also their status and closed-on date. A chunk that touches fewer rows than
/// it holds names the first loan unknown or no longer active.
pub(crate) fn service_loans(
    conn: &Connection,
    centre: &str,
    rows: &[LoanRow],
) -> Result<(), StoreError> {
    use rusqlite::types::Value;
    let (staying, leaving): (Vec<&LoanRow>, Vec<&LoanRow>) =
        rows.iter().partition(|l| l.status == "active");
    for chunk in staying.chunks(SERVICE_ROWS) {
        let sql = format!(
            "UPDATE loans SET outstanding = v.column2, risk_class = v.column3,
                overdue_days = v.column4, updated_at_us = v.column5
             FROM (VALUES {}) AS v
             WHERE loans.centre_code = ? AND loans.loan_no = v.column1
               AND loans.status = 'active'",
            vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut p: Vec<Value> = Vec::with_capacity(chunk.len() * 5 + 1);
        for l in chunk {
            p.extend([
                Value::Text(l.loan_no.clone()),
                Value::Integer(l.outstanding),
                Value::Text(l.risk_class.clone()),
                Value::Integer(i64::from(l.overdue_days)),
                Value::Integer(l.updated_at_us),
            ]);
        }
        p.push(Value::Text(centre.to_owned()));
        serviced(conn, centre, &sql, p, chunk)?;
    }
    for chunk in leaving.chunks(SERVICE_ROWS) {
        let sql = format!(
            "UPDATE loans SET status = v.column2, closed_on = v.column3,
                outstanding = v.column4, risk_class = v.column5, overdue_days = v.column6,
                updated_at_us = v.column7
             FROM (VALUES {}) AS v
             WHERE loans.centre_code = ? AND loans.loan_no = v.column1",
            vec!["(?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut p: Vec<Value> = Vec::with_capacity(chunk.len() * 7 + 1);
        for l in chunk {
            p.extend([
                Value::Text(l.loan_no.clone()),
                Value::Text(l.status.clone()),
                l.closed_on
                    .map_or(Value::Null, |d| Value::Text(date_str(d))),
                Value::Integer(l.outstanding),
                Value::Text(l.risk_class.clone()),
                Value::Integer(i64::from(l.overdue_days)),
                Value::Integer(l.updated_at_us),
            ]);
        }
        p.push(Value::Text(centre.to_owned()));
        serviced(conn, centre, &sql, p, chunk)?;
    }
    Ok(())
}

/// Runs one chunk of [`service_loans`]; fewer rows touched than given names the first
/// loan that is unknown or (when it was to stay active) no longer active.
fn serviced(
    conn: &Connection,
    centre: &str,
    sql: &str,
    p: Vec<rusqlite::types::Value>,
    chunk: &[&LoanRow],
) -> Result<(), StoreError> {
    let n = conn
        .prepare_cached(sql)
        .and_then(|mut st| st.execute(rusqlite::params_from_iter(p)))
        .map_err(db_err)?;
    if n == chunk.len() {
        return Ok(());
    }
    let missing = chunk
        .iter()
        .find(|l| {
            loan(conn, centre, &l.loan_no)
                .is_ok_and(|r| r.is_none_or(|r| l.status == "active" && r.status != "active"))
        })
        .map_or_else(|| "one of the loans".to_owned(), |l| l.loan_no.clone());
    Err(StoreError::NotFound {
        what: format!("active loan {missing} in centre {centre}"),
    })
}

fn loans_where(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
    order: &str,
) -> Result<Vec<LoanRow>, StoreError> {
    query_rows(
        conn,
        "loans",
        &format!(
            concat!(
                "SELECT ",
                loan_columns!(),
                " FROM loans WHERE centre_code = ?1 AND {} ORDER BY {}"
            ),
            filter, order
        ),
        params,
        loan_of,
    )
}

pub(crate) fn loans_of_person(
    conn: &Connection,
    centre: &str,
    id_number: &str,
) -> Result<Vec<LoanRow>, StoreError> {
    loans_where(
        conn,
        "(id_number = ?2 OR co_id_number = ?2)",
        params![centre, id_number],
        "created_at_us, loan_no",
    )
}

/// `column IN (?2, ?3, …)`.
fn loans_in(
    conn: &Connection,
    centre: &str,
    column: &str,
    values: &[&str],
) -> Result<Vec<LoanRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in values.chunks(crate::CHUNK_ROWS) {
        let marks: Vec<String> = (2..chunk.len() + 2).map(|i| format!("?{i}")).collect();
        let mut p: Vec<&str> = Vec::with_capacity(chunk.len() + 1);
        p.push(centre);
        p.extend_from_slice(chunk);
        out.extend(loans_where(
            conn,
            &format!("{column} IN ({})", marks.join(", ")),
            rusqlite::params_from_iter(p),
            "loan_no",
        )?);
    }
    out.sort_by(|a, b| a.loan_no.cmp(&b.loan_no));
    Ok(out)
}

pub(crate) fn loans_with_status(
    conn: &Connection,
    centre: &str,
    statuses: &[&str],
) -> Result<Vec<LoanRow>, StoreError> {
    loans_in(conn, centre, "status", statuses)
}

pub(crate) fn loans_by_nos(
    conn: &Connection,
    centre: &str,
    loan_nos: &[String],
) -> Result<Vec<LoanRow>, StoreError> {
    let nos: Vec<&str> = loan_nos.iter().map(String::as_str).collect();
    loans_in(conn, centre, "loan_no", &nos)
}

// ---- schedule -------------------------------------------------------------------------

const INSTALLMENT_COLUMNS: &str = "loan_no, period, due, principal, interest, paid_principal, \
    paid_interest, penalty, paid_penalty, status, paid_on";

fn installment_of(c: &Cols<'_, '_>) -> Result<InstallmentRow, StoreError> {
    Ok(InstallmentRow {
        loan_no: c.get(0)?,
        period: c.get(1)?,
        due: c.date(2)?,
        principal: c.get(3)?,
        interest: c.get(4)?,
        paid_principal: c.get(5)?,
        paid_interest: c.get(6)?,
        penalty: c.get(7)?,
        paid_penalty: c.get(8)?,
        status: c.get(9)?,
        paid_on: c.opt_date(10)?,
    })
}

/// Many rows in one statement per [`BATCH_ROWS`] under the caller's savepoint; a chunk
/// whose statement fails is done again row by row.
pub(crate) fn upsert_installments(
    conn: &Connection,
    centre: &str,
    rows: &[InstallmentRow],
) -> Result<(), StoreError> {
    use rusqlite::types::Value;
    const COLS: usize = 12;
    for chunk in rows.chunks(BATCH_ROWS) {
        let tuple = format!("({})", ["?"; COLS].join(", "));
        let sql = format!(
            "INSERT INTO loan_installments (centre_code, loan_no, period, due, principal,
                interest, paid_principal, paid_interest, penalty, paid_penalty, status, paid_on)
             VALUES {}
             ON CONFLICT (centre_code, loan_no, period) DO UPDATE SET due = excluded.due,
                principal = excluded.principal, interest = excluded.interest,
                paid_principal = excluded.paid_principal,
                paid_interest = excluded.paid_interest, penalty = excluded.penalty,
                paid_penalty = excluded.paid_penalty, status = excluded.status,
                paid_on = excluded.paid_on",
            vec![tuple.as_str(); chunk.len()].join(", ")
        );
        let mut p: Vec<Value> = Vec::with_capacity(chunk.len() * COLS);
        for i in chunk {
            p.extend([
                Value::Text(centre.to_owned()),
                Value::Text(i.loan_no.clone()),
                Value::Integer(i64::from(i.period)),
                Value::Text(date_str(i.due)),
                Value::Integer(i.principal),
                Value::Integer(i.interest),
                Value::Integer(i.paid_principal),
                Value::Integer(i.paid_interest),
                Value::Integer(i.penalty),
                Value::Integer(i.paid_penalty),
                Value::Text(i.status.clone()),
                i.paid_on.map_or(Value::Null, |d| Value::Text(date_str(d))),
            ]);
        }
        let done = conn
            .prepare_cached(&sql)
            .and_then(|mut st| st.execute(rusqlite::params_from_iter(p)));
        if done.is_err() {
            upsert_installments_each(conn, centre, chunk)?;
        }
    }
    Ok(())
}

/// Row by row (the exact error of a chunk [`upsert_installments`] could not write at
/// once).
fn upsert_installments_each(
    conn: &Connection,
    centre: &str,
    rows: &[InstallmentRow],
) -> Result<(), StoreError> {
    let mut st = conn
        .prepare_cached(
            "INSERT INTO loan_installments (centre_code, loan_no, period, due, principal,
                interest, paid_principal, paid_interest, penalty, paid_penalty, status, paid_on)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (centre_code, loan_no, period) DO UPDATE SET due = excluded.due,
                principal = excluded.principal, interest = excluded.interest,
                paid_principal = excluded.paid_principal,
                paid_interest = excluded.paid_interest, penalty = excluded.penalty,
                paid_penalty = excluded.paid_penalty, status = excluded.status,
                paid_on = excluded.paid_on",
        )
        .map_err(db_err)?;
    for i in rows {
        st.execute(params![
            centre,
            i.loan_no,
            i.period,
            date_str(i.due),
            i.principal,
            i.interest,
            i.paid_principal,
            i.paid_interest,
            i.penalty,
            i.paid_penalty,
            i.status,
            i.paid_on.map(date_str)
        ])
        .map_err(db_err)?;
    }
    Ok(())
}

/// The servicing columns of many schedule rows, one `UPDATE … FROM (VALUES …)` per
/// [`SERVICE_ROWS`], each row found by the full key (due date first: the rows of one
/// close are neighbours); a chunk that touches fewer rows than it holds names the first
/// unknown row.
pub(crate) fn service_installments(
    conn: &Connection,
    centre: &str,
    rows: &[InstallmentRow],
) -> Result<(), StoreError> {
    use rusqlite::types::Value;
    for chunk in rows.chunks(SERVICE_ROWS) {
        let sql = format!(
            "UPDATE loan_installments SET paid_principal = v.column4,
                paid_interest = v.column5, penalty = v.column6, paid_penalty = v.column7,
                status = v.column8, paid_on = v.column9
             FROM (VALUES {}) AS v
             WHERE loan_installments.centre_code = ? AND loan_installments.due = v.column3
               AND loan_installments.loan_no = v.column1
               AND loan_installments.period = v.column2",
            vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut p: Vec<Value> = Vec::with_capacity(chunk.len() * 9 + 1);
        for i in chunk {
            p.extend([
                Value::Text(i.loan_no.clone()),
                Value::Integer(i64::from(i.period)),
                Value::Text(date_str(i.due)),
                Value::Integer(i.paid_principal),
                Value::Integer(i.paid_interest),
                Value::Integer(i.penalty),
                Value::Integer(i.paid_penalty),
                Value::Text(i.status.clone()),
                i.paid_on.map_or(Value::Null, |d| Value::Text(date_str(d))),
            ]);
        }
        p.push(Value::Text(centre.to_owned()));
        let n = conn
            .prepare_cached(&sql)
            .and_then(|mut st| st.execute(rusqlite::params_from_iter(p)))
            .map_err(db_err)?;
        if n != chunk.len() {
            let missing = chunk
                .iter()
                .find(|i| {
                    conn.prepare_cached(
                        "SELECT 1 FROM loan_installments
                         WHERE centre_code = ?1 AND due = ?2 AND loan_no = ?3 AND period = ?4",
                    )
                    .and_then(|mut st| {
                        st.exists(params![centre, date_str(i.due), i.loan_no, i.period])
                    })
                    .is_ok_and(|found| !found)
                })
                .map_or_else(
                    || "one of the periods".to_owned(),
                    |i| format!("period {} of loan {} due {}", i.period, i.loan_no, i.due),
                );
            return Err(StoreError::NotFound {
                what: format!("{missing} in centre {centre}"),
            });
        }
    }
    Ok(())
}

pub(crate) fn delete_installments_from(
    conn: &Connection,
    centre: &str,
    loan_no: &str,
    from_period: i32,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "DELETE FROM loan_installments WHERE centre_code = ?1 AND loan_no = ?2 AND period >= ?3",
    )
    .and_then(|mut st| st.execute(params![centre, loan_no, from_period]))
    .map_err(db_err)
    .map(|_| ())
}

pub(crate) fn installments(
    conn: &Connection,
    centre: &str,
    loan_no: &str,
) -> Result<Vec<InstallmentRow>, StoreError> {
    query_rows(
        conn,
        "loan_installments",
        &format!(
            "SELECT {INSTALLMENT_COLUMNS} FROM loan_installments
             WHERE centre_code = ?1 AND loan_no = ?2 ORDER BY period"
        ),
        params![centre, loan_no],
        installment_of,
    )
}

pub(crate) fn installments_unpaid_by(
    conn: &Connection,
    centre: &str,
    date: jiff::civil::Date,
) -> Result<Vec<InstallmentRow>, StoreError> {
    query_rows(
        conn,
        "loan_installments",
        &format!(
            "SELECT {INSTALLMENT_COLUMNS} FROM loan_installments
             WHERE centre_code = ?1 AND due <= ?2 AND status IN ('scheduled', 'overdue')
             ORDER BY loan_no, period"
        ),
        params![centre, date_str(date)],
        installment_of,
    )
}

// ---- timeline and documents -----------------------------------------------------------

/// Row by row; the caller's savepoint undoes the rows already written when one clashes.
pub(crate) fn insert_events(
    conn: &Connection,
    centre: &str,
    rows: &[LoanEventRow],
) -> Result<(), StoreError> {
    let mut st = conn
        .prepare_cached(
            "INSERT INTO loan_events (centre_code, loan_no, seq, event, at_us, operator,
                note_zh, note_en)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(db_err)?;
    for e in rows {
        st.execute(params![
            centre, e.loan_no, e.seq, e.event, e.at_us, e.operator, e.note_zh, e.note_en
        ])
        .map_err(conflict_as(|| {
            format!("step {} of loan {} in centre {centre}", e.seq, e.loan_no)
        }))?;
    }
    Ok(())
}

pub(crate) fn events(
    conn: &Connection,
    centre: &str,
    loan_no: &str,
) -> Result<Vec<LoanEventRow>, StoreError> {
    query_rows(
        conn,
        "loan_events",
        "SELECT loan_no, seq, event, at_us, operator, note_zh, note_en
         FROM loan_events WHERE centre_code = ?1 AND loan_no = ?2 ORDER BY seq",
        params![centre, loan_no],
        |c| {
            Ok(LoanEventRow {
                loan_no: c.get(0)?,
                seq: c.get(1)?,
                event: c.get(2)?,
                at_us: c.get(3)?,
                operator: c.get(4)?,
                note_zh: c.get(5)?,
                note_en: c.get(6)?,
            })
        },
    )
}

pub(crate) fn insert_document(
    conn: &Connection,
    centre: &str,
    d: &LoanDocumentRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO loan_documents (centre_code, doc_no, loan_no, kind, sm3, content,
            created_at_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut st| {
        st.execute(params![
            centre,
            d.doc_no,
            d.loan_no,
            d.kind,
            d.sm3,
            d.content,
            d.created_at_us
        ])
    })
    .map_err(conflict_as(|| {
        format!("document {} in centre {centre}", d.doc_no)
    }))
    .map(|_| ())
}

pub(crate) fn documents(
    conn: &Connection,
    centre: &str,
    loan_no: &str,
) -> Result<Vec<LoanDocumentRow>, StoreError> {
    query_rows(
        conn,
        "loan_documents",
        "SELECT loan_no, doc_no, kind, sm3, content, created_at_us
         FROM loan_documents WHERE centre_code = ?1 AND loan_no = ?2
         ORDER BY created_at_us, doc_no",
        params![centre, loan_no],
        |c| {
            Ok(LoanDocumentRow {
                loan_no: c.get(0)?,
                doc_no: c.get(1)?,
                kind: c.get(2)?,
                sm3: c.get(3)?,
                content: c.get(4)?,
                created_at_us: c.get(5)?,
            })
        },
    )
}

pub(crate) fn day_close(
    conn: &Connection,
    centre: &str,
    date: jiff::civil::Date,
) -> Result<Option<DayCloseRow>, StoreError> {
    query_opt(
        conn,
        "day_closes",
        "SELECT business_date, closed_at_us, operator, summary FROM day_closes
         WHERE centre_code = ?1 AND business_date = ?2",
        params![centre, date_str(date)],
        |c| {
            Ok(DayCloseRow {
                business_date: c.date(0)?,
                closed_at_us: c.get(1)?,
                operator: c.get(2)?,
                summary: c.get(3)?,
            })
        },
    )
}

pub(crate) fn insert_day_close(
    conn: &Connection,
    centre: &str,
    r: &DayCloseRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO day_closes (centre_code, business_date, closed_at_us, operator, summary)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut st| {
        st.execute(params![
            centre,
            date_str(r.business_date),
            r.closed_at_us,
            r.operator,
            r.summary
        ])
    })
    .map_err(conflict_as(|| {
        format!("day close of {} in centre {centre}", r.business_date)
    }))
    .map(|_| ())
}

/// By the primary key (the loans' rows, one statement per [`crate::CHUNK_ROWS`] loans):
/// `+due` and `+status` keep SQLite from reading the centre's whole partial index of
/// unpaid rows instead.
pub(crate) fn loan_installments_unpaid_by(
    conn: &Connection,
    centre: &str,
    loan_nos: &[String],
    date: jiff::civil::Date,
) -> Result<Vec<InstallmentRow>, StoreError> {
    let mut out = Vec::new();
    let day = date_str(date);
    for chunk in loan_nos.chunks(crate::CHUNK_ROWS) {
        let marks: Vec<String> = (3..chunk.len() + 3).map(|i| format!("?{i}")).collect();
        let mut p: Vec<&str> = Vec::with_capacity(chunk.len() + 2);
        p.push(centre);
        p.push(&day);
        p.extend(chunk.iter().map(String::as_str));
        out.extend(query_rows(
            conn,
            "loan_installments",
            &format!(
                "SELECT {INSTALLMENT_COLUMNS} FROM loan_installments
                 INDEXED BY loan_installments_unpaid_loan
                 WHERE centre_code = ?1 AND loan_no IN ({}) AND due <= ?2
                   AND status IN ('scheduled', 'overdue')",
                marks.join(", ")
            ),
            rusqlite::params_from_iter(p),
            installment_of,
        )?);
    }
    out.sort_by(|a, b| (a.loan_no.as_str(), a.period).cmp(&(b.loan_no.as_str(), b.period)));
    Ok(out)
}

/// One statement per [`crate::CHUNK_ROWS`] loans.
pub(crate) fn count_events(
    conn: &Connection,
    centre: &str,
    loan_nos: &[String],
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut out = Vec::new();
    for chunk in loan_nos.chunks(crate::CHUNK_ROWS) {
        let marks: Vec<String> = (2..chunk.len() + 2).map(|i| format!("?{i}")).collect();
        let mut p: Vec<&str> = Vec::with_capacity(chunk.len() + 1);
        p.push(centre);
        p.extend(chunk.iter().map(String::as_str));
        let sql = format!(
            "SELECT loan_no, COUNT(*) FROM loan_events
             WHERE centre_code = ?1 AND loan_no IN ({}) GROUP BY loan_no",
            marks.join(", ")
        );
        let mut st = conn.prepare_cached(&sql).map_err(db_err)?;
        let rows = st
            .query_map(rusqlite::params_from_iter(p), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(db_err)?;
        for r in rows {
            out.push(r.map_err(db_err)?);
        }
    }
    out.sort();
    Ok(out)
}
