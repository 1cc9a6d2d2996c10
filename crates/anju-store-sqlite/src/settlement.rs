//! Bank settlement (资金结算) on SQLite: banks, cards and unit accounts, instructions,
//! notices, incoming money and reconciliation (schema 6).
//!
//! Plain functions over the transaction's connection; `SqliteTx` wraps the writes. Every
//! statement goes through the connection's statement cache, and the batch writes run one
//! cached statement per row in a loop (SQLite's fastest path: no SQL text is built and
//! nothing is parsed per row). A single-row write that breaks a rule is undone by SQLite
//! alone (the statement aborts, the transaction carries on). The batch writes either are
//! checked before anything is written (`update_*`: every key must exist) or run under the
//! caller's savepoint (`insert_instructions`), so `Conflict` and `NotFound` change nothing
//! and leave the transaction usable, as on PostgreSQL.

use anju_store::StoreError;
use anju_store::settlement::{
    BankRow, CardRow, IncomingRow, InstructionRow, NoticeRefusalRow, NoticeRow, ReconItemRow,
    ReconRunRow, UnitBankAccountRow,
};
use jiff::civil::Date;
use rusqlite::{Connection, params};

use crate::db_err;
use crate::rows::{Cols, conflict_as, date_str, query_opt, query_rows};

/// `limit` as SQLite's LIMIT (which takes an i64).
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

// ---- banks, cards and unit accounts ---------------------------------------------------

const BANK_COLUMNS: &str = "bank_code, name, fund_account, fund_account_name, registered_on";

fn bank_of(c: &Cols<'_, '_>) -> Result<BankRow, StoreError> {
    Ok(BankRow {
        code: c.get(0)?,
        name: c.get(1)?,
        fund_account: c.get(2)?,
        fund_account_name: c.get(3)?,
        registered_on: c.date(4)?,
    })
}

pub(crate) fn insert_bank(conn: &Connection, centre: &str, b: &BankRow) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO banks (centre_code, {BANK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))
    .and_then(|mut st| {
        st.execute(params![
            centre,
            b.code,
            b.name,
            b.fund_account,
            b.fund_account_name,
            date_str(b.registered_on)
        ])
    })
    .map(drop)
    .map_err(conflict_as(|| {
        format!(
            "bank {} or fund account {} in centre {centre}",
            b.code, b.fund_account
        )
    }))
}

pub(crate) fn banks(conn: &Connection, centre: &str) -> Result<Vec<BankRow>, StoreError> {
    query_rows(
        conn,
        "banks",
        &format!("SELECT {BANK_COLUMNS} FROM banks WHERE centre_code = ?1 ORDER BY bank_code"),
        params![centre],
        bank_of,
    )
}

pub(crate) fn bank(
    conn: &Connection,
    centre: &str,
    code: &str,
) -> Result<Option<BankRow>, StoreError> {
    query_opt(
        conn,
        "banks",
        &format!("SELECT {BANK_COLUMNS} FROM banks WHERE centre_code = ?1 AND bank_code = ?2"),
        params![centre, code],
        bank_of,
    )
}

const CARD_COLUMNS: &str = "account_no, bank_code, card_no, holder, bound_on";

fn card_of(c: &Cols<'_, '_>) -> Result<CardRow, StoreError> {
    Ok(CardRow {
        account_no: c.get(0)?,
        bank_code: c.get(1)?,
        card_no: c.get(2)?,
        holder: c.get(3)?,
        bound_on: c.date(4)?,
    })
}

pub(crate) fn bind_card(conn: &Connection, centre: &str, card: &CardRow) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO member_cards (centre_code, {CARD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (centre_code, account_no) DO UPDATE SET bank_code = excluded.bank_code,
            card_no = excluded.card_no, holder = excluded.holder, bound_on = excluded.bound_on"
    ))
    .and_then(|mut st| {
        st.execute(params![
            centre,
            card.account_no,
            card.bank_code,
            card.card_no,
            card.holder,
            date_str(card.bound_on)
        ])
    })
    .map(drop)
    .map_err(db_err)
}

pub(crate) fn card(
    conn: &Connection,
    centre: &str,
    account_no: &str,
) -> Result<Option<CardRow>, StoreError> {
    query_opt(
        conn,
        "member_cards",
        &format!(
            "SELECT {CARD_COLUMNS} FROM member_cards WHERE centre_code = ?1 AND account_no = ?2"
        ),
        params![centre, account_no],
        card_of,
    )
}

const UNIT_ACCOUNT_COLUMNS: &str = "unit_no, bank_code, account, name";

fn unit_account_of(c: &Cols<'_, '_>) -> Result<UnitBankAccountRow, StoreError> {
    Ok(UnitBankAccountRow {
        unit_no: c.get(0)?,
        bank_code: c.get(1)?,
        account: c.get(2)?,
        name: c.get(3)?,
    })
}

pub(crate) fn insert_unit_bank_account(
    conn: &Connection,
    centre: &str,
    row: &UnitBankAccountRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO unit_bank_accounts (centre_code, {UNIT_ACCOUNT_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5)"
    ))
    .and_then(|mut st| {
        st.execute(params![
            centre,
            row.unit_no,
            row.bank_code,
            row.account,
            row.name
        ])
    })
    .map(drop)
    .map_err(conflict_as(|| {
        format!(
            "account {} at bank {} in centre {centre}",
            row.account, row.bank_code
        )
    }))
}

pub(crate) fn unit_bank_accounts(
    conn: &Connection,
    centre: &str,
    unit_no: &str,
) -> Result<Vec<UnitBankAccountRow>, StoreError> {
    query_rows(
        conn,
        "unit_bank_accounts",
        &format!(
            "SELECT {UNIT_ACCOUNT_COLUMNS} FROM unit_bank_accounts
             WHERE centre_code = ?1 AND unit_no = ?2 ORDER BY bank_code, account"
        ),
        params![centre, unit_no],
        unit_account_of,
    )
}

pub(crate) fn unit_by_bank_account(
    conn: &Connection,
    centre: &str,
    bank_code: &str,
    account: &str,
) -> Result<Option<UnitBankAccountRow>, StoreError> {
    query_opt(
        conn,
        "unit_bank_accounts",
        &format!(
            "SELECT {UNIT_ACCOUNT_COLUMNS} FROM unit_bank_accounts
             WHERE centre_code = ?1 AND bank_code = ?2 AND account = ?3"
        ),
        params![centre, bank_code, account],
        unit_account_of,
    )
}

// ---- instructions ---------------------------------------------------------------------

/// The `settlement_instructions` columns [`instruction_of`] reads, in order (a macro so
/// that queries built with `concat!` are constants).
macro_rules! instruction_columns {
    () => {
        "serial, bank_code, kind, business_type, debit_account, credit_account, credit_name, \
         credit_bank, amount_fen, memo, target, entry_key, state, bank_ref, value_date, reason, \
         business_date, operator, created_at_us, settled_at_us, queries, next_query_at_us"
    };
}
const INSTRUCTION_COLUMNS: &str = instruction_columns!();

fn instruction_of(c: &Cols<'_, '_>) -> Result<InstructionRow, StoreError> {
    Ok(InstructionRow {
        serial: c.get(0)?,
        bank_code: c.get(1)?,
        kind: c.get(2)?,
        business_type: c.get(3)?,
        debit_account: c.get(4)?,
        credit_account: c.get(5)?,
        credit_name: c.get(6)?,
        credit_bank: c.get(7)?,
        amount: c.get(8)?,
        memo: c.get(9)?,
        target: c.get(10)?,
        entry_key: c.get(11)?,
        state: c.get(12)?,
        bank_ref: c.get(13)?,
        value_date: c.opt_date(14)?,
        reason: c.get(15)?,
        business_date: c.date(16)?,
        operator: c.get(17)?,
        created_at_us: c.get(18)?,
        settled_at_us: c.get(19)?,
        queries: c.get(20)?,
        next_query_at_us: c.get(21)?,
    })
}

/// The `NotFound` of an instruction.
fn missing_instruction(centre: &str, serial: &str) -> StoreError {
    StoreError::NotFound {
        what: format!("instruction {serial} in centre {centre}"),
    }
}

/// Inserts row by row; the caller's savepoint undoes the rows already written when one
/// clashes.
pub(crate) fn insert_instructions(
    conn: &Connection,
    centre: &str,
    rows: &[InstructionRow],
) -> Result<(), StoreError> {
    let mut st = conn
        .prepare_cached(&format!(
            "INSERT INTO settlement_instructions (centre_code, {INSTRUCTION_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
        ))
        .map_err(db_err)?;
    for i in rows {
        st.execute(params![
            centre,
            i.serial,
            i.bank_code,
            i.kind,
            i.business_type,
            i.debit_account,
            i.credit_account,
            i.credit_name,
            i.credit_bank,
            i.amount,
            i.memo,
            i.target,
            i.entry_key,
            i.state,
            i.bank_ref,
            i.value_date.map(date_str),
            i.reason,
            date_str(i.business_date),
            i.operator,
            i.created_at_us,
            i.settled_at_us,
            i.queries,
            i.next_query_at_us
        ])
        .map_err(conflict_as(|| {
            format!("instruction {} in centre {centre}", i.serial)
        }))?;
    }
    Ok(())
}

/// One cached point query per serial, then byte-wise serial order, each once.
pub(crate) fn instructions(
    conn: &Connection,
    centre: &str,
    serials: &[&str],
) -> Result<Vec<InstructionRow>, StoreError> {
    let mut st = conn.prepare_cached(INSTRUCTION_BY_SERIAL).map_err(db_err)?;
    let mut out = Vec::with_capacity(serials.len());
    for serial in serials {
        let mut rows = st.query(params![centre, serial]).map_err(db_err)?;
        if let Some(r) = rows.next().map_err(db_err)? {
            out.push(instruction_of(&Cols {
                r,
                table: "settlement_instructions",
            })?);
        }
    }
    out.sort_unstable_by(|a, b| a.serial.cmp(&b.serial));
    out.dedup_by(|a, b| a.serial == b.serial);
    Ok(out)
}

const INSTRUCTION_BY_SERIAL: &str = concat!(
    "SELECT ",
    instruction_columns!(),
    " FROM settlement_instructions WHERE centre_code = ?1 AND serial = ?2"
);

pub(crate) fn instruction(
    conn: &Connection,
    centre: &str,
    serial: &str,
) -> Result<Option<InstructionRow>, StoreError> {
    query_opt(
        conn,
        "settlement_instructions",
        INSTRUCTION_BY_SERIAL,
        params![centre, serial],
        instruction_of,
    )
}

/// `NotFound` naming the first row whose serial is unknown, before anything is written.
pub(crate) fn check_instructions_exist(
    conn: &Connection,
    centre: &str,
    rows: &[InstructionRow],
) -> Result<(), StoreError> {
    let mut st = conn
        .prepare_cached(
            "SELECT 1 FROM settlement_instructions WHERE centre_code = ?1 AND serial = ?2",
        )
        .map_err(db_err)?;
    for i in rows {
        if !st.exists(params![centre, i.serial]).map_err(db_err)? {
            return Err(missing_instruction(centre, &i.serial));
        }
    }
    Ok(())
}

/// Saves the mutable columns row by row (every serial known: see
/// [`check_instructions_exist`]).
pub(crate) fn update_instructions(
    conn: &Connection,
    centre: &str,
    rows: &[InstructionRow],
) -> Result<(), StoreError> {
    let mut st = conn
        .prepare_cached(
            "UPDATE settlement_instructions SET state = ?3, bank_ref = ?4, value_date = ?5,
                reason = ?6, settled_at_us = ?7, queries = ?8, next_query_at_us = ?9
             WHERE centre_code = ?1 AND serial = ?2",
        )
        .map_err(db_err)?;
    for i in rows {
        let n = st
            .execute(params![
                centre,
                i.serial,
                i.state,
                i.bank_ref,
                i.value_date.map(date_str),
                i.reason,
                i.settled_at_us,
                i.queries,
                i.next_query_at_us
            ])
            .map_err(db_err)?;
        if n != 1 {
            return Err(missing_instruction(centre, &i.serial));
        }
    }
    Ok(())
}

/// Through the partial index of unsettled instructions (its condition is repeated word
/// for word, so SQLite can use it). Named with `INDEXED BY`: for the sake of `ORDER BY
/// serial LIMIT` SQLite would otherwise walk the primary key over every instruction of
/// the centre, settled or not.
pub(crate) fn instructions_unsettled(
    conn: &Connection,
    centre: &str,
    bank_code: Option<&str>,
    due_us: i64,
    limit: usize,
) -> Result<Vec<InstructionRow>, StoreError> {
    query_rows(
        conn,
        "settlement_instructions",
        &format!(
            "SELECT {INSTRUCTION_COLUMNS} FROM settlement_instructions
                INDEXED BY settlement_instructions_unsettled
             WHERE centre_code = ?1 AND state IN ('created', 'in_flight')
               AND (?2 IS NULL OR bank_code = ?2)
               AND (next_query_at_us IS NULL OR next_query_at_us <= ?3)
             ORDER BY serial LIMIT ?4"
        ),
        params![centre, bank_code, due_us, sql_limit(limit)],
        instruction_of,
    )
}

/// One range of the partial index of executed instructions, already in serial order.
pub(crate) fn instructions_executed_on(
    conn: &Connection,
    centre: &str,
    bank_code: &str,
    date: Date,
) -> Result<Vec<InstructionRow>, StoreError> {
    query_rows(
        conn,
        "settlement_instructions",
        &format!(
            "SELECT {INSTRUCTION_COLUMNS} FROM settlement_instructions
             WHERE centre_code = ?1 AND bank_code = ?2 AND value_date = ?3
               AND state = 'executed'
             ORDER BY serial"
        ),
        params![centre, bank_code, date_str(date)],
        instruction_of,
    )
}

pub(crate) fn instruction_counts(
    conn: &Connection,
    centre: &str,
) -> Result<Vec<(String, i64)>, StoreError> {
    query_rows(
        conn,
        "settlement_instructions",
        "SELECT state, COUNT(*) FROM settlement_instructions WHERE centre_code = ?1
         GROUP BY state ORDER BY state",
        params![centre],
        |c| Ok((c.get(0)?, c.get(1)?)),
    )
}

// ---- notices --------------------------------------------------------------------------

pub(crate) fn insert_notice(
    conn: &Connection,
    centre: &str,
    n: &NoticeRow,
) -> Result<bool, StoreError> {
    conn.prepare_cached(
        "INSERT INTO bank_notices (centre_code, bank_code, notice_id, kind, reference,
            body_hash, received_at_us, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (centre_code, bank_code, notice_id) DO NOTHING",
    )
    .and_then(|mut st| {
        st.execute(params![
            centre,
            n.bank_code,
            n.notice_id,
            n.kind,
            n.reference,
            n.body_hash,
            n.received_at_us,
            n.outcome
        ])
    })
    .map(|n| n == 1)
    .map_err(db_err)
}

/// Numbered after the centre's last refusal in the same statement (the transaction holds
/// SQLite's only write lock, so no one else numbers meanwhile).
pub(crate) fn insert_notice_refusal(
    conn: &Connection,
    centre: &str,
    r: &NoticeRefusalRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO notice_refusals (centre_code, seq, claimed_bank, reason, body_hash, peer,
            received_at_us)
         SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4, ?5, ?6
         FROM notice_refusals WHERE centre_code = ?1",
    )
    .and_then(|mut st| {
        st.execute(params![
            centre,
            r.claimed_bank,
            r.reason,
            r.body_hash,
            r.peer,
            r.received_at_us
        ])
    })
    .map(drop)
    .map_err(db_err)
}

pub(crate) fn notice_refusals(
    conn: &Connection,
    centre: &str,
    limit: usize,
) -> Result<Vec<NoticeRefusalRow>, StoreError> {
    query_rows(
        conn,
        "notice_refusals",
        "SELECT claimed_bank, reason, body_hash, peer, received_at_us FROM notice_refusals
         WHERE centre_code = ?1 ORDER BY seq DESC LIMIT ?2",
        params![centre, sql_limit(limit)],
        |c| {
            Ok(NoticeRefusalRow {
                claimed_bank: c.get(0)?,
                reason: c.get(1)?,
                body_hash: c.get(2)?,
                peer: c.get(3)?,
                received_at_us: c.get(4)?,
            })
        },
    )
}

// ---- incoming money -------------------------------------------------------------------

const INCOMING_COLUMNS: &str = "bank_code, bank_ref, amount_fen, payer_account, payer_name, \
    memo, value_date, received_at_us, matched, bill_no, note, entry_key, assigned_key";

fn incoming_of(c: &Cols<'_, '_>) -> Result<IncomingRow, StoreError> {
    Ok(IncomingRow {
        bank_code: c.get(0)?,
        bank_ref: c.get(1)?,
        amount: c.get(2)?,
        payer_account: c.get(3)?,
        payer_name: c.get(4)?,
        memo: c.get(5)?,
        value_date: c.date(6)?,
        received_at_us: c.get(7)?,
        matched: c.get(8)?,
        bill_no: c.get(9)?,
        note: c.get(10)?,
        entry_key: c.get(11)?,
        assigned_key: c.get(12)?,
    })
}

pub(crate) fn insert_incoming(
    conn: &Connection,
    centre: &str,
    m: &IncomingRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO incoming_money (centre_code, {INCOMING_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    ))
    .and_then(|mut st| {
        st.execute(params![
            centre,
            m.bank_code,
            m.bank_ref,
            m.amount,
            m.payer_account,
            m.payer_name,
            m.memo,
            date_str(m.value_date),
            m.received_at_us,
            m.matched,
            m.bill_no,
            m.note,
            m.entry_key,
            m.assigned_key
        ])
    })
    .map(drop)
    .map_err(conflict_as(|| {
        format!(
            "incoming money {} at bank {} in centre {centre}",
            m.bank_ref, m.bank_code
        )
    }))
}

pub(crate) fn incoming(
    conn: &Connection,
    centre: &str,
    bank_code: &str,
    bank_ref: &str,
) -> Result<Option<IncomingRow>, StoreError> {
    query_opt(
        conn,
        "incoming_money",
        &format!(
            "SELECT {INCOMING_COLUMNS} FROM incoming_money
             WHERE centre_code = ?1 AND bank_code = ?2 AND bank_ref = ?3"
        ),
        params![centre, bank_code, bank_ref],
        incoming_of,
    )
}

pub(crate) fn update_incoming(
    conn: &Connection,
    centre: &str,
    m: &IncomingRow,
) -> Result<(), StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE incoming_money SET matched = ?4, bill_no = ?5, note = ?6, assigned_key = ?7
             WHERE centre_code = ?1 AND bank_code = ?2 AND bank_ref = ?3",
        )
        .and_then(|mut st| {
            st.execute(params![
                centre,
                m.bank_code,
                m.bank_ref,
                m.matched,
                m.bill_no,
                m.note,
                m.assigned_key
            ])
        })
        .map_err(db_err)?;
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound {
            what: format!(
                "incoming money {} at bank {} in centre {centre}",
                m.bank_ref, m.bank_code
            ),
        })
    }
}

pub(crate) fn incoming_on(
    conn: &Connection,
    centre: &str,
    bank_code: &str,
    date: Date,
) -> Result<Vec<IncomingRow>, StoreError> {
    query_rows(
        conn,
        "incoming_money",
        &format!(
            "SELECT {INCOMING_COLUMNS} FROM incoming_money
             WHERE centre_code = ?1 AND bank_code = ?2 AND value_date = ?3 ORDER BY bank_ref"
        ),
        params![centre, bank_code, date_str(date)],
        incoming_of,
    )
}

pub(crate) fn incoming_in_suspense(
    conn: &Connection,
    centre: &str,
) -> Result<Vec<IncomingRow>, StoreError> {
    query_rows(
        conn,
        "incoming_money",
        &format!(
            "SELECT {INCOMING_COLUMNS} FROM incoming_money
             WHERE centre_code = ?1 AND matched = 'suspense'
             ORDER BY received_at_us, bank_code, bank_ref"
        ),
        params![centre],
        incoming_of,
    )
}

// ---- reconciliation -------------------------------------------------------------------

pub(crate) fn insert_recon_run(
    conn: &Connection,
    centre: &str,
    r: &ReconRunRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO recon_runs (centre_code, bank_code, recon_date, run_at_us, bank_lines,
            anju_lines, bank_closing_fen, ledger_balance_fen, mismatches)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut st| {
        st.execute(params![
            centre,
            r.bank_code,
            date_str(r.date),
            r.run_at_us,
            r.bank_lines,
            r.anju_lines,
            r.bank_closing,
            r.ledger_balance,
            r.mismatches
        ])
    })
    .map(drop)
    .map_err(conflict_as(|| {
        format!(
            "reconciliation run of bank {} for {} at {} in centre {centre}",
            r.bank_code, r.date, r.run_at_us
        )
    }))
}

pub(crate) fn recon_runs(
    conn: &Connection,
    centre: &str,
    bank_code: &str,
    date: Date,
) -> Result<Vec<ReconRunRow>, StoreError> {
    query_rows(
        conn,
        "recon_runs",
        "SELECT bank_code, recon_date, run_at_us, bank_lines, anju_lines, bank_closing_fen,
            ledger_balance_fen, mismatches
         FROM recon_runs WHERE centre_code = ?1 AND bank_code = ?2 AND recon_date = ?3
         ORDER BY run_at_us",
        params![centre, bank_code, date_str(date)],
        |c| {
            Ok(ReconRunRow {
                bank_code: c.get(0)?,
                date: c.date(1)?,
                run_at_us: c.get(2)?,
                bank_lines: c.get(3)?,
                anju_lines: c.get(4)?,
                bank_closing: c.get(5)?,
                ledger_balance: c.get(6)?,
                mismatches: c.get(7)?,
            })
        },
    )
}

macro_rules! recon_item_columns {
    () => {
        "bank_code, recon_date, serial, kind, bank_amount_fen, anju_amount_fen, found_at_us, \
         status, resolved_at_us, resolution"
    };
}

fn recon_item_of(c: &Cols<'_, '_>) -> Result<ReconItemRow, StoreError> {
    Ok(ReconItemRow {
        bank_code: c.get(0)?,
        date: c.date(1)?,
        serial: c.get(2)?,
        kind: c.get(3)?,
        bank_amount: c.get(4)?,
        anju_amount: c.get(5)?,
        found_at_us: c.get(6)?,
        status: c.get(7)?,
        resolved_at_us: c.get(8)?,
        resolution: c.get(9)?,
    })
}

/// Row by row; an item already stored is left as it is.
pub(crate) fn upsert_recon_items(
    conn: &Connection,
    centre: &str,
    rows: &[ReconItemRow],
) -> Result<(), StoreError> {
    let mut st = conn
        .prepare_cached(concat!(
            "INSERT INTO recon_items (centre_code, ",
            recon_item_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (centre_code, bank_code, recon_date, serial, kind) DO NOTHING"
        ))
        .map_err(db_err)?;
    for i in rows {
        st.execute(params![
            centre,
            i.bank_code,
            date_str(i.date),
            i.serial,
            i.kind,
            i.bank_amount,
            i.anju_amount,
            i.found_at_us,
            i.status,
            i.resolved_at_us,
            i.resolution
        ])
        .map_err(db_err)?;
    }
    Ok(())
}

/// The items of a bank (or all) and a day (or all), open only or all: by day, serial,
/// kind, then bank. The open-only query repeats the partial index's condition, so SQLite
/// reads only open items.
pub(crate) fn recon_items(
    conn: &Connection,
    centre: &str,
    bank_code: Option<&str>,
    date: Option<Date>,
    open_only: bool,
) -> Result<Vec<ReconItemRow>, StoreError> {
    let sql = if open_only {
        concat!(
            "SELECT ",
            recon_item_columns!(),
            " FROM recon_items WHERE centre_code = ?1 AND status = 'open'
               AND (?2 IS NULL OR bank_code = ?2) AND (?3 IS NULL OR recon_date = ?3)
             ORDER BY recon_date, serial, kind, bank_code"
        )
    } else {
        concat!(
            "SELECT ",
            recon_item_columns!(),
            " FROM recon_items WHERE centre_code = ?1
               AND (?2 IS NULL OR bank_code = ?2) AND (?3 IS NULL OR recon_date = ?3)
             ORDER BY recon_date, serial, kind, bank_code"
        )
    };
    query_rows(
        conn,
        "recon_items",
        sql,
        params![centre, bank_code, date.map(date_str)],
        recon_item_of,
    )
}

/// The `NotFound` of a reconciliation item.
fn missing_recon_item(centre: &str, i: &ReconItemRow) -> StoreError {
    StoreError::NotFound {
        what: format!(
            "reconciliation item {} {} of bank {} for {} in centre {centre}",
            i.kind, i.serial, i.bank_code, i.date
        ),
    }
}

/// `NotFound` naming the first unknown item, before anything is written.
pub(crate) fn check_recon_items_exist(
    conn: &Connection,
    centre: &str,
    rows: &[ReconItemRow],
) -> Result<(), StoreError> {
    let mut st = conn
        .prepare_cached(
            "SELECT 1 FROM recon_items WHERE centre_code = ?1 AND bank_code = ?2
               AND recon_date = ?3 AND serial = ?4 AND kind = ?5",
        )
        .map_err(db_err)?;
    for i in rows {
        if !st
            .exists(params![
                centre,
                i.bank_code,
                date_str(i.date),
                i.serial,
                i.kind
            ])
            .map_err(db_err)?
        {
            return Err(missing_recon_item(centre, i));
        }
    }
    Ok(())
}

/// Saves status and resolution row by row (every item known: see
/// [`check_recon_items_exist`]).
pub(crate) fn update_recon_items(
    conn: &Connection,
    centre: &str,
    rows: &[ReconItemRow],
) -> Result<(), StoreError> {
    let mut st = conn
        .prepare_cached(
            "UPDATE recon_items SET status = ?6, resolved_at_us = ?7, resolution = ?8
             WHERE centre_code = ?1 AND bank_code = ?2 AND recon_date = ?3 AND serial = ?4
               AND kind = ?5",
        )
        .map_err(db_err)?;
    for i in rows {
        let n = st
            .execute(params![
                centre,
                i.bank_code,
                date_str(i.date),
                i.serial,
                i.kind,
                i.status,
                i.resolved_at_us,
                i.resolution
            ])
            .map_err(db_err)?;
        if n != 1 {
            return Err(missing_recon_item(centre, i));
        }
    }
    Ok(())
}
