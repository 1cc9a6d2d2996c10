//! Bank settlement (资金结算) on PostgreSQL: banks, cards and unit accounts, instructions,
//! notices, incoming money and reconciliation (schema 6).
//!
//! Single-row inserts use `ON CONFLICT DO NOTHING` and report a taken key as `Conflict`
//! without a server error, so the transaction stays usable. Batches:
//!
//! - `insert_instructions`: up to [`BULK_ROWS`] rows in one `INSERT … SELECT FROM
//!   unnest(…)` guarded by `NOT EXISTS` (all rows or none, no savepoint); more by binary
//!   `COPY` straight into the table under a savepoint. A taken or repeated serial is a
//!   `Conflict` naming the first row a one-by-one loop would fail on; nothing is written.
//! - `update_instructions`, `update_recon_items`: up to [`ROW_CHUNK`] distinct keys in
//!   one `UPDATE … FROM unnest(…)` that changes its rows only if every one of them exists
//!   (no savepoint); more by binary `COPY` into a staging table and one `UPDATE … FROM`
//!   it, under a savepoint. An unknown key is `NotFound` (the first in the call) and
//!   nothing changes. A key given twice keeps its last row, as a one-by-one loop would.
//! - `upsert_recon_items`: `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING` per
//!   chunk.
//!
//! Reads that return many rows (`instructions_executed_on`, `incoming_on`: a day's
//! statement, up to hundreds of thousands of lines) are one indexed query streamed into
//! memory, then sorted in Rust, byte-wise like SQLite whatever the database's collation
//! (sorting in the server would spill to disk at the default `work_mem`). Dates go in as
//! `$n::text::date` (or `::date` from a text array) and come back as `col::text`.

use std::collections::HashSet;
use std::time::Instant;

use anju_store::StoreError;
use anju_store::settlement::{
    BankRow, CardRow, IncomingRow, InstructionRow, NoticeRefusalRow, NoticeRow, ReconItemRow,
    ReconRunRow, UnitBankAccountRow,
};
use jiff::civil::Date;
use postgres::Row;

use super::{
    ANY_CHUNK, BULK_ROWS, PgConn, column, database, date_str, distinct_keys, first_clash, slow,
    track,
};
use crate::rows::{date_of, opt_date_of};

/// Most rows per `UPDATE … FROM unnest(…)` / `INSERT … SELECT FROM unnest(…)` statement.
const ROW_CHUNK: usize = 20_000;

/// Times a refusal is numbered again after a concurrent transaction took its number.
const REFUSAL_ATTEMPTS: usize = 100;

/// `limit` as a SQL LIMIT (which takes a BIGINT).
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Of rows that may repeat a key, the last row of each key (a one-by-one loop saves every
/// row; the last one of a key is what remains).
fn last_of_each<'a, T, K: Eq + std::hash::Hash>(
    rows: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> Vec<&'a T> {
    let mut seen = HashSet::with_capacity(rows.len());
    let mut out: Vec<&T> = rows.iter().rev().filter(|r| seen.insert(key(r))).collect();
    out.reverse();
    out
}

/// The `settlement_instructions` columns `instruction_of` reads, in order.
macro_rules! instruction_columns {
    () => {
        "serial, bank_code, kind, business_type, debit_account, credit_account, credit_name, \
         credit_bank, amount_fen, memo, target, entry_key, state, bank_ref, value_date::text, \
         reason, business_date::text, operator, created_at_us, settled_at_us, queries, \
         next_query_at_us"
    };
}

/// The `incoming_money` columns `incoming_of` reads, in order.
macro_rules! incoming_columns {
    () => {
        "bank_code, bank_ref, amount_fen, payer_account, payer_name, memo, value_date::text, \
         received_at_us, matched, bill_no, note, entry_key, assigned_key"
    };
}

/// The `recon_items` columns `recon_item_of` reads, in order.
macro_rules! recon_item_columns {
    () => {
        "bank_code, recon_date::text, serial, kind, bank_amount_fen, anju_amount_fen, \
         found_at_us, status, resolved_at_us, resolution"
    };
}

fn bank_of(r: &Row) -> Result<BankRow, StoreError> {
    Ok(BankRow {
        code: column(r.try_get(0))?,
        name: column(r.try_get(1))?,
        fund_account: column(r.try_get(2))?,
        fund_account_name: column(r.try_get(3))?,
        registered_on: date_of(r, 4, "banks")?,
    })
}

fn card_of(r: &Row) -> Result<CardRow, StoreError> {
    Ok(CardRow {
        account_no: column(r.try_get(0))?,
        bank_code: column(r.try_get(1))?,
        card_no: column(r.try_get(2))?,
        holder: column(r.try_get(3))?,
        bound_on: date_of(r, 4, "member_cards")?,
    })
}

fn unit_account_of(r: &Row) -> Result<UnitBankAccountRow, StoreError> {
    Ok(UnitBankAccountRow {
        unit_no: column(r.try_get(0))?,
        bank_code: column(r.try_get(1))?,
        account: column(r.try_get(2))?,
        name: column(r.try_get(3))?,
    })
}

fn instruction_of(r: &Row) -> Result<InstructionRow, StoreError> {
    const T: &str = "settlement_instructions";
    Ok(InstructionRow {
        serial: column(r.try_get(0))?,
        bank_code: column(r.try_get(1))?,
        kind: column(r.try_get(2))?,
        business_type: column(r.try_get(3))?,
        debit_account: column(r.try_get(4))?,
        credit_account: column(r.try_get(5))?,
        credit_name: column(r.try_get(6))?,
        credit_bank: column(r.try_get(7))?,
        amount: column(r.try_get(8))?,
        memo: column(r.try_get(9))?,
        target: column(r.try_get(10))?,
        entry_key: column(r.try_get(11))?,
        state: column(r.try_get(12))?,
        bank_ref: column(r.try_get(13))?,
        value_date: opt_date_of(r, 14, T)?,
        reason: column(r.try_get(15))?,
        business_date: date_of(r, 16, T)?,
        operator: column(r.try_get(17))?,
        created_at_us: column(r.try_get(18))?,
        settled_at_us: column(r.try_get(19))?,
        queries: column(r.try_get(20))?,
        next_query_at_us: column(r.try_get(21))?,
    })
}

fn incoming_of(r: &Row) -> Result<IncomingRow, StoreError> {
    Ok(IncomingRow {
        bank_code: column(r.try_get(0))?,
        bank_ref: column(r.try_get(1))?,
        amount: column(r.try_get(2))?,
        payer_account: column(r.try_get(3))?,
        payer_name: column(r.try_get(4))?,
        memo: column(r.try_get(5))?,
        value_date: date_of(r, 6, "incoming_money")?,
        received_at_us: column(r.try_get(7))?,
        matched: column(r.try_get(8))?,
        bill_no: column(r.try_get(9))?,
        note: column(r.try_get(10))?,
        entry_key: column(r.try_get(11))?,
        assigned_key: column(r.try_get(12))?,
    })
}

fn recon_item_of(r: &Row) -> Result<ReconItemRow, StoreError> {
    Ok(ReconItemRow {
        bank_code: column(r.try_get(0))?,
        date: date_of(r, 1, "recon_items")?,
        serial: column(r.try_get(2))?,
        kind: column(r.try_get(3))?,
        bank_amount: column(r.try_get(4))?,
        anju_amount: column(r.try_get(5))?,
        found_at_us: column(r.try_get(6))?,
        status: column(r.try_get(7))?,
        resolved_at_us: column(r.try_get(8))?,
        resolution: column(r.try_get(9))?,
    })
}

/// The `Conflict` of an instruction whose serial is taken (worded as SQLite's).
fn instruction_conflict(centre: &str, serial: &str) -> StoreError {
    StoreError::Conflict {
        what: format!("instruction {serial} in centre {centre}"),
    }
}

/// The `NotFound` of an instruction (worded as SQLite's).
fn missing_instruction(centre: &str, serial: &str) -> StoreError {
    StoreError::NotFound {
        what: format!("instruction {serial} in centre {centre}"),
    }
}

/// A reconciliation item's key (its primary key without the centre).
type ItemKey<'a> = (&'a str, Date, &'a str, &'a str);

fn item_key(i: &ReconItemRow) -> ItemKey<'_> {
    (
        i.bank_code.as_str(),
        i.date,
        i.serial.as_str(),
        i.kind.as_str(),
    )
}

/// The `NotFound` of a reconciliation item (worded as SQLite's).
fn missing_recon_item(centre: &str, i: &ReconItemRow) -> StoreError {
    StoreError::NotFound {
        what: format!(
            "reconciliation item {} {} of bank {} for {} in centre {centre}",
            i.kind, i.serial, i.bank_code, i.date
        ),
    }
}

impl PgConn {
    // ---- banks, cards and unit accounts -----------------------------------------------

    pub(super) fn insert_bank(&mut self, centre: &str, b: &BankRow) -> Result<(), StoreError> {
        let n = self.execute(
            "INSERT INTO banks (centre_code, bank_code, name, fund_account, fund_account_name,
                registered_on)
             VALUES ($1, $2, $3, $4, $5, $6::text::date)
             ON CONFLICT DO NOTHING",
            &[
                &centre,
                &b.code,
                &b.name,
                &b.fund_account,
                &b.fund_account_name,
                &date_str(b.registered_on),
            ],
        )?;
        if n == 1 {
            return Ok(());
        }
        Err(StoreError::Conflict {
            what: format!(
                "bank {} or fund account {} in centre {centre}",
                b.code, b.fund_account
            ),
        })
    }

    pub(super) fn banks(&mut self, centre: &str) -> Result<Vec<BankRow>, StoreError> {
        let rows = self.query(
            "SELECT bank_code, name, fund_account, fund_account_name, registered_on::text
             FROM banks WHERE centre_code = $1",
            &[&centre],
        )?;
        let mut out = rows.iter().map(bank_of).collect::<Result<Vec<_>, _>>()?;
        // Byte-wise, like SQLite, whatever the database's collation.
        out.sort_unstable_by(|a, b| a.code.cmp(&b.code));
        Ok(out)
    }

    pub(super) fn bank(&mut self, centre: &str, code: &str) -> Result<Option<BankRow>, StoreError> {
        let row = self.query_opt(
            "SELECT bank_code, name, fund_account, fund_account_name, registered_on::text
             FROM banks WHERE centre_code = $1 AND bank_code = $2",
            &[&centre, &code],
        )?;
        row.as_ref().map(bank_of).transpose()
    }

    pub(super) fn bind_card(&mut self, centre: &str, c: &CardRow) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO member_cards (centre_code, account_no, bank_code, card_no, holder,
                bound_on)
             VALUES ($1, $2, $3, $4, $5, $6::text::date)
             ON CONFLICT (centre_code, account_no) DO UPDATE SET bank_code = excluded.bank_code,
                card_no = excluded.card_no, holder = excluded.holder,
                bound_on = excluded.bound_on",
            &[
                &centre,
                &c.account_no,
                &c.bank_code,
                &c.card_no,
                &c.holder,
                &date_str(c.bound_on),
            ],
        )?;
        Ok(())
    }

    pub(super) fn card(
        &mut self,
        centre: &str,
        account_no: &str,
    ) -> Result<Option<CardRow>, StoreError> {
        let row = self.query_opt(
            "SELECT account_no, bank_code, card_no, holder, bound_on::text
             FROM member_cards WHERE centre_code = $1 AND account_no = $2",
            &[&centre, &account_no],
        )?;
        row.as_ref().map(card_of).transpose()
    }

    pub(super) fn insert_unit_bank_account(
        &mut self,
        centre: &str,
        u: &UnitBankAccountRow,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "INSERT INTO unit_bank_accounts (centre_code, unit_no, bank_code, account, name)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
            &[&centre, &u.unit_no, &u.bank_code, &u.account, &u.name],
        )?;
        if n == 1 {
            return Ok(());
        }
        Err(StoreError::Conflict {
            what: format!(
                "account {} at bank {} in centre {centre}",
                u.account, u.bank_code
            ),
        })
    }

    pub(super) fn unit_bank_accounts(
        &mut self,
        centre: &str,
        unit_no: &str,
    ) -> Result<Vec<UnitBankAccountRow>, StoreError> {
        let rows = self.query(
            "SELECT unit_no, bank_code, account, name FROM unit_bank_accounts
             WHERE centre_code = $1 AND unit_no = $2",
            &[&centre, &unit_no],
        )?;
        let mut out = rows
            .iter()
            .map(unit_account_of)
            .collect::<Result<Vec<_>, _>>()?;
        // Byte-wise, like SQLite, whatever the database's collation.
        out.sort_unstable_by(|a, b| (&a.bank_code, &a.account).cmp(&(&b.bank_code, &b.account)));
        Ok(out)
    }

    pub(super) fn unit_by_bank_account(
        &mut self,
        centre: &str,
        bank_code: &str,
        account: &str,
    ) -> Result<Option<UnitBankAccountRow>, StoreError> {
        let row = self.query_opt(
            "SELECT unit_no, bank_code, account, name FROM unit_bank_accounts
             WHERE centre_code = $1 AND bank_code = $2 AND account = $3",
            &[&centre, &bank_code, &account],
        )?;
        row.as_ref().map(unit_account_of).transpose()
    }

    // ---- instructions -----------------------------------------------------------------

    pub(super) fn insert_instructions(
        &mut self,
        centre: &str,
        rows: &[InstructionRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        if rows.len() <= BULK_ROWS {
            if distinct_keys(rows, |i| i.serial.as_str()) {
                let n = self.insert_instructions_guarded(centre, rows)?;
                if n == rows.len() as u64 {
                    return Ok(());
                }
                if n != 0 {
                    // One INSERT writes all its rows or fails; never expected.
                    self.failed = true;
                    return Err(database(format!(
                        "settlement_instructions: {n} of {} instructions written",
                        rows.len()
                    )));
                }
            }
            return Err(self.instruction_clash(centre, rows)?);
        }
        let copied = self.atomic(|s| {
            s.copy_in(
                "COPY settlement_instructions (centre_code, serial, bank_code, kind,
                    business_type, debit_account, credit_account, credit_name, credit_bank,
                    amount_fen, memo, target, entry_key, state, bank_ref, value_date, reason,
                    business_date, operator, created_at_us, settled_at_us, queries,
                    next_query_at_us)
                 FROM STDIN (FORMAT binary)",
                rows,
                |c, i| {
                    c.row(23);
                    c.text(centre);
                    c.text(&i.serial);
                    c.text(&i.bank_code);
                    c.text(&i.kind);
                    c.text(&i.business_type);
                    c.text(&i.debit_account);
                    c.text(&i.credit_account);
                    c.text(&i.credit_name);
                    c.opt_text(i.credit_bank.as_deref());
                    c.bigint(i.amount);
                    c.text(&i.memo);
                    c.text(&i.target);
                    c.opt_text(i.entry_key.as_deref());
                    c.text(&i.state);
                    c.opt_text(i.bank_ref.as_deref());
                    match i.value_date {
                        Some(d) => c.date(d),
                        None => c.null(),
                    }
                    c.opt_text(i.reason.as_deref());
                    c.date(i.business_date);
                    c.text(&i.operator);
                    c.bigint(i.created_at_us);
                    c.opt_bigint(i.settled_at_us);
                    c.integer(i.queries);
                    c.opt_bigint(i.next_query_at_us);
                },
            )
        });
        match copied {
            // The COPY was undone; name the row a one-by-one loop would fail on.
            Err(StoreError::Conflict { .. }) => Err(self.instruction_clash(centre, rows)?),
            other => other.map(drop),
        }
    }

    /// All rows in one statement if none of their serials is taken; the rows written.
    fn insert_instructions_guarded(
        &mut self,
        centre: &str,
        rows: &[InstructionRow],
    ) -> Result<u64, StoreError> {
        let col = |f: fn(&InstructionRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
        let opt = |f: fn(&InstructionRow) -> Option<&str>| {
            rows.iter().map(f).collect::<Vec<Option<&str>>>()
        };
        self.execute(
            "WITH incoming AS (
                 SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[],
                    $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[],
                    $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
                    $17::text[], $18::text[], $19::text[], $20::bigint[], $21::bigint[],
                    $22::int4[], $23::bigint[])
                    AS i (serial, bank_code, kind, business_type, debit_account,
                          credit_account, credit_name, credit_bank, amount_fen, memo, target,
                          entry_key, state, bank_ref, value_date, reason, business_date,
                          operator, created_at_us, settled_at_us, queries, next_query_at_us)
             )
             INSERT INTO settlement_instructions (centre_code, serial, bank_code, kind,
                business_type, debit_account, credit_account, credit_name, credit_bank,
                amount_fen, memo, target, entry_key, state, bank_ref, value_date, reason,
                business_date, operator, created_at_us, settled_at_us, queries,
                next_query_at_us)
             SELECT $1::text, i.serial, i.bank_code, i.kind, i.business_type,
                i.debit_account, i.credit_account, i.credit_name, i.credit_bank, i.amount_fen,
                i.memo, i.target, i.entry_key, i.state, i.bank_ref, i.value_date::date,
                i.reason, i.business_date::date, i.operator, i.created_at_us,
                i.settled_at_us, i.queries, i.next_query_at_us
             FROM incoming i
             WHERE NOT EXISTS (
                 SELECT 1 FROM settlement_instructions s JOIN incoming m
                   ON s.serial = m.serial
                 WHERE s.centre_code = $1)",
            &[
                &centre,
                &col(|i| &i.serial),
                &col(|i| &i.bank_code),
                &col(|i| &i.kind),
                &col(|i| &i.business_type),
                &col(|i| &i.debit_account),
                &col(|i| &i.credit_account),
                &col(|i| &i.credit_name),
                &opt(|i| i.credit_bank.as_deref()),
                &rows.iter().map(|i| i.amount).collect::<Vec<i64>>(),
                &col(|i| &i.memo),
                &col(|i| &i.target),
                &opt(|i| i.entry_key.as_deref()),
                &col(|i| &i.state),
                &opt(|i| i.bank_ref.as_deref()),
                &rows
                    .iter()
                    .map(|i| i.value_date.map(date_str))
                    .collect::<Vec<Option<String>>>(),
                &opt(|i| i.reason.as_deref()),
                &rows
                    .iter()
                    .map(|i| date_str(i.business_date))
                    .collect::<Vec<String>>(),
                &col(|i| &i.operator),
                &rows.iter().map(|i| i.created_at_us).collect::<Vec<i64>>(),
                &rows
                    .iter()
                    .map(|i| i.settled_at_us)
                    .collect::<Vec<Option<i64>>>(),
                &rows.iter().map(|i| i.queries).collect::<Vec<i32>>(),
                &rows
                    .iter()
                    .map(|i| i.next_query_at_us)
                    .collect::<Vec<Option<i64>>>(),
            ],
        )
    }

    /// The serials among `serials` that exist.
    fn existing_serials(
        &mut self,
        centre: &str,
        serials: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        let mut found = HashSet::new();
        for chunk in serials.chunks(ANY_CHUNK) {
            self.for_each(
                "SELECT serial FROM settlement_instructions
                 WHERE centre_code = $1 AND serial = ANY($2)",
                &[&centre, &chunk],
                |r| {
                    found.insert(column(r.try_get(0))?);
                    Ok(())
                },
            )?;
        }
        Ok(found)
    }

    /// The `Conflict` of the first row a loop inserting one by one would fail on.
    fn instruction_clash(
        &mut self,
        centre: &str,
        rows: &[InstructionRow],
    ) -> Result<StoreError, StoreError> {
        let serials: Vec<&str> = rows.iter().map(|i| i.serial.as_str()).collect();
        let found = self.existing_serials(centre, &serials)?;
        let taken: HashSet<&str> = found.iter().map(String::as_str).collect();
        Ok(match first_clash(rows, |i| i.serial.as_str(), &taken) {
            Some(i) => instruction_conflict(centre, &i.serial),
            None => StoreError::Conflict {
                what: format!("instructions in centre {centre}"),
            },
        })
    }

    /// [`Self::instructions`] with `FOR UPDATE`, rows locked in serial order.
    pub(super) fn lock_instructions(
        &mut self,
        centre: &str,
        serials: &[&str],
    ) -> Result<Vec<InstructionRow>, StoreError> {
        let mut serials: Vec<&str> = serials.to_vec();
        serials.sort_unstable();
        serials.dedup();
        let mut out = Vec::with_capacity(serials.len());
        for chunk in serials.chunks(ANY_CHUNK) {
            self.for_each(
                concat!(
                    "SELECT ",
                    instruction_columns!(),
                    " FROM settlement_instructions WHERE centre_code = $1 AND serial = ANY($2)
                     ORDER BY serial COLLATE \"C\" FOR UPDATE"
                ),
                &[&centre, &chunk],
                |r| {
                    out.push(instruction_of(r)?);
                    Ok(())
                },
            )?;
        }
        Ok(out)
    }

    pub(super) fn instructions(
        &mut self,
        centre: &str,
        serials: &[&str],
    ) -> Result<Vec<InstructionRow>, StoreError> {
        let mut seen = HashSet::with_capacity(serials.len());
        let serials: Vec<&str> = serials
            .iter()
            .copied()
            .filter(|s| seen.insert(*s))
            .collect();
        let mut out = Vec::with_capacity(serials.len());
        for chunk in serials.chunks(ANY_CHUNK) {
            self.for_each(
                concat!(
                    "SELECT ",
                    instruction_columns!(),
                    " FROM settlement_instructions WHERE centre_code = $1 AND serial = ANY($2)"
                ),
                &[&centre, &chunk],
                |r| {
                    out.push(instruction_of(r)?);
                    Ok(())
                },
            )?;
        }
        // Byte-wise, like SQLite, whatever the database's collation.
        out.sort_unstable_by(|a, b| a.serial.cmp(&b.serial));
        Ok(out)
    }

    pub(super) fn instruction(
        &mut self,
        centre: &str,
        serial: &str,
        for_update: bool,
    ) -> Result<Option<InstructionRow>, StoreError> {
        let row = self.query_opt(
            if for_update {
                concat!(
                    "SELECT ",
                    instruction_columns!(),
                    " FROM settlement_instructions WHERE centre_code = $1 AND serial = $2
                      FOR UPDATE"
                )
            } else {
                concat!(
                    "SELECT ",
                    instruction_columns!(),
                    " FROM settlement_instructions WHERE centre_code = $1 AND serial = $2"
                )
            },
            &[&centre, &serial],
        )?;
        row.as_ref().map(instruction_of).transpose()
    }

    /// Saves the mutable columns; a serial given twice keeps its last row, as a loop
    /// would. Up to [`ROW_CHUNK`] distinct serials in one guarded statement; more through
    /// a staging table.
    pub(super) fn update_instructions(
        &mut self,
        centre: &str,
        rows: &[InstructionRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let lasts = last_of_each(rows, |i| i.serial.as_str());
        if lasts.len() > ROW_CHUNK {
            return self.atomic(|s| s.update_instructions_staged(centre, rows, &lasts));
        }
        if self.update_instruction_chunk(&lasts, centre)? {
            Ok(())
        } else {
            Err(self.missing_instruction_of(centre, rows))
        }
    }

    /// Binary COPY of `lasts` into a temporary table, then one `UPDATE … FROM` it (the
    /// table analysed first, so the planner knows how many rows it joins), as
    /// `save_accounts` does. Inside a savepoint: if a serial is unknown, everything is
    /// undone.
    fn update_instructions_staged(
        &mut self,
        centre: &str,
        rows: &[InstructionRow],
        lasts: &[&InstructionRow],
    ) -> Result<(), StoreError> {
        self.batch(
            "CREATE TEMP TABLE anju_stage_instructions (
                serial            TEXT     NOT NULL,
                state             TEXT     NOT NULL,
                bank_ref          TEXT,
                value_date        DATE,
                reason            TEXT,
                settled_at_us     BIGINT,
                queries           INTEGER  NOT NULL,
                next_query_at_us  BIGINT
             ) ON COMMIT DROP",
        )?;
        self.copy_in(
            "COPY anju_stage_instructions (serial, state, bank_ref, value_date, reason,
                settled_at_us, queries, next_query_at_us)
             FROM STDIN (FORMAT binary)",
            lasts,
            |c, i| {
                c.row(8);
                c.text(&i.serial);
                c.text(&i.state);
                c.opt_text(i.bank_ref.as_deref());
                match i.value_date {
                    Some(d) => c.date(d),
                    None => c.null(),
                }
                c.opt_text(i.reason.as_deref());
                c.opt_bigint(i.settled_at_us);
                c.integer(i.queries);
                c.opt_bigint(i.next_query_at_us);
            },
        )?;
        self.batch("ANALYZE anju_stage_instructions")?;
        // Not a cached statement: the staging table is new each time.
        let updated = self.with_work_mem(|s| {
            let t0 = Instant::now();
            let n = track(
                &mut s.failed,
                s.client.execute(
                    "UPDATE settlement_instructions AS s SET state = v.state,
                        bank_ref = v.bank_ref, value_date = v.value_date, reason = v.reason,
                        settled_at_us = v.settled_at_us, queries = v.queries,
                        next_query_at_us = v.next_query_at_us
                     FROM anju_stage_instructions AS v
                     WHERE s.centre_code = $1 AND s.serial = v.serial",
                    &[&centre],
                ),
            );
            slow(
                "UPDATE settlement_instructions FROM anju_stage_instructions",
                t0,
            );
            n
        })?;
        self.batch("DROP TABLE anju_stage_instructions")?;
        if updated != lasts.len() as u64 {
            return Err(self.missing_instruction_of(centre, rows));
        }
        Ok(())
    }

    /// The `NotFound` of the first of `rows` whose serial is unknown.
    fn missing_instruction_of(&mut self, centre: &str, rows: &[InstructionRow]) -> StoreError {
        let serials: Vec<&str> = rows.iter().map(|i| i.serial.as_str()).collect();
        let found = match self.existing_serials(centre, &serials) {
            Ok(f) => f,
            Err(e) => return e,
        };
        match rows.iter().find(|i| !found.contains(i.serial.as_str())) {
            Some(i) => missing_instruction(centre, &i.serial),
            None => database(format!(
                "settlement_instructions: instructions of centre {centre} changed concurrently"
            )),
        }
    }

    /// Updates `chunk` (distinct serials) if every one of them exists, and says whether
    /// it did; otherwise changes nothing.
    fn update_instruction_chunk(
        &mut self,
        chunk: &[&InstructionRow],
        centre: &str,
    ) -> Result<bool, StoreError> {
        let serials: Vec<&str> = chunk.iter().map(|i| i.serial.as_str()).collect();
        // `ready` is MATERIALIZED: inlined, PostgreSQL may count it again for every row it
        // updates (a 20,000-row chunk took minutes instead of a fraction of a second).
        let n = self.execute(
            "WITH v AS (
                 SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[],
                    $6::text[], $7::bigint[], $8::int4[], $9::bigint[])
                    AS v (serial, state, bank_ref, value_date, reason, settled_at_us, queries,
                          next_query_at_us)
             ), ready AS MATERIALIZED (
                 SELECT COUNT(*) AS n FROM settlement_instructions s JOIN v ON s.serial = v.serial
                 WHERE s.centre_code = $1
             )
             UPDATE settlement_instructions s SET state = v.state, bank_ref = v.bank_ref,
                value_date = v.value_date::date, reason = v.reason,
                settled_at_us = v.settled_at_us, queries = v.queries,
                next_query_at_us = v.next_query_at_us
             FROM v, ready r
             WHERE s.centre_code = $1 AND s.serial = v.serial
               AND r.n = cardinality($2::text[])",
            &[
                &centre,
                &serials,
                &chunk.iter().map(|i| i.state.as_str()).collect::<Vec<_>>(),
                &chunk
                    .iter()
                    .map(|i| i.bank_ref.as_deref())
                    .collect::<Vec<_>>(),
                &chunk
                    .iter()
                    .map(|i| i.value_date.map(date_str))
                    .collect::<Vec<_>>(),
                &chunk
                    .iter()
                    .map(|i| i.reason.as_deref())
                    .collect::<Vec<_>>(),
                &chunk.iter().map(|i| i.settled_at_us).collect::<Vec<_>>(),
                &chunk.iter().map(|i| i.queries).collect::<Vec<_>>(),
                &chunk.iter().map(|i| i.next_query_at_us).collect::<Vec<_>>(),
            ],
        )?;
        if n == chunk.len() as u64 {
            return Ok(true);
        }
        if n != 0 {
            // Never expected: the rows were all there when the statement began.
            self.failed = true;
            return Err(database(format!(
                "settlement_instructions: {n} of {} instructions updated",
                chunk.len()
            )));
        }
        Ok(false)
    }

    pub(super) fn instructions_unsettled(
        &mut self,
        centre: &str,
        bank_code: Option<&str>,
        due_us: i64,
        limit: usize,
    ) -> Result<Vec<InstructionRow>, StoreError> {
        // The condition of the partial index of unsettled instructions, word for word;
        // byte-wise serial order (the first `limit` of it), like SQLite's.
        let rows = self.query(
            concat!(
                "SELECT ",
                instruction_columns!(),
                " FROM settlement_instructions
                 WHERE centre_code = $1 AND state IN ('created', 'in_flight')
                   AND ($2::text IS NULL OR bank_code = $2)
                   AND (next_query_at_us IS NULL OR next_query_at_us <= $3)
                 ORDER BY serial COLLATE \"C\" LIMIT $4"
            ),
            &[&centre, &bank_code, &due_us, &sql_limit(limit)],
        )?;
        rows.iter().map(instruction_of).collect()
    }

    pub(super) fn instructions_executed_on(
        &mut self,
        centre: &str,
        bank_code: &str,
        date: Date,
    ) -> Result<Vec<InstructionRow>, StoreError> {
        let mut out = Vec::new();
        self.for_each(
            concat!(
                "SELECT ",
                instruction_columns!(),
                " FROM settlement_instructions
                 WHERE centre_code = $1 AND bank_code = $2 AND value_date = $3::text::date
                   AND state = 'executed'"
            ),
            &[&centre, &bank_code, &date_str(date)],
            |r| {
                out.push(instruction_of(r)?);
                Ok(())
            },
        )?;
        // Byte-wise, like SQLite, whatever the database's collation.
        out.sort_unstable_by(|a, b| a.serial.cmp(&b.serial));
        Ok(out)
    }

    pub(super) fn instruction_counts(
        &mut self,
        centre: &str,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = self.query(
            "SELECT state, COUNT(*) FROM settlement_instructions WHERE centre_code = $1
             GROUP BY state",
            &[&centre],
        )?;
        let mut out = rows
            .iter()
            .map(|r| Ok((column(r.try_get(0))?, column(r.try_get(1))?)))
            .collect::<Result<Vec<(String, i64)>, StoreError>>()?;
        out.sort_unstable();
        Ok(out)
    }

    // ---- notices ----------------------------------------------------------------------

    pub(super) fn insert_notice(
        &mut self,
        centre: &str,
        n: &NoticeRow,
    ) -> Result<bool, StoreError> {
        let written = self.execute(
            "INSERT INTO bank_notices (centre_code, bank_code, notice_id, kind, reference,
                body_hash, received_at_us, outcome)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (centre_code, bank_code, notice_id) DO NOTHING",
            &[
                &centre,
                &n.bank_code,
                &n.notice_id,
                &n.kind,
                &n.reference,
                &n.body_hash,
                &n.received_at_us,
                &n.outcome,
            ],
        )?;
        Ok(written == 1)
    }

    /// Numbered after the centre's last refusal in the same statement. Two transactions
    /// logging at once may pick the same number: the later one's insert then does nothing
    /// (no error) and it numbers again, seeing the other's row.
    pub(super) fn insert_notice_refusal(
        &mut self,
        centre: &str,
        r: &NoticeRefusalRow,
    ) -> Result<(), StoreError> {
        for _ in 0..REFUSAL_ATTEMPTS {
            let n = self.execute(
                "INSERT INTO notice_refusals (centre_code, seq, claimed_bank, reason, body_hash,
                    peer, received_at_us)
                 SELECT $1::text, COALESCE(MAX(seq), 0) + 1, $2::text, $3::text, $4::text,
                    $5::text, $6::bigint
                 FROM notice_refusals WHERE centre_code = $1
                 ON CONFLICT DO NOTHING",
                &[
                    &centre,
                    &r.claimed_bank,
                    &r.reason,
                    &r.body_hash,
                    &r.peer,
                    &r.received_at_us,
                ],
            )?;
            if n == 1 {
                return Ok(());
            }
        }
        Err(database(format!(
            "notice_refusals: no free number in centre {centre} after {REFUSAL_ATTEMPTS} attempts"
        )))
    }

    pub(super) fn notice_refusals(
        &mut self,
        centre: &str,
        limit: usize,
    ) -> Result<Vec<NoticeRefusalRow>, StoreError> {
        let rows = self.query(
            "SELECT claimed_bank, reason, body_hash, peer, received_at_us FROM notice_refusals
             WHERE centre_code = $1 ORDER BY seq DESC LIMIT $2",
            &[&centre, &sql_limit(limit)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(NoticeRefusalRow {
                    claimed_bank: column(r.try_get(0))?,
                    reason: column(r.try_get(1))?,
                    body_hash: column(r.try_get(2))?,
                    peer: column(r.try_get(3))?,
                    received_at_us: column(r.try_get(4))?,
                })
            })
            .collect()
    }

    // ---- incoming money ---------------------------------------------------------------

    pub(super) fn insert_incoming(
        &mut self,
        centre: &str,
        m: &IncomingRow,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "INSERT INTO incoming_money (centre_code, bank_code, bank_ref, amount_fen,
                payer_account, payer_name, memo, value_date, received_at_us, matched, bill_no,
                note, entry_key, assigned_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::date, $9, $10, $11, $12, $13, $14)
             ON CONFLICT DO NOTHING",
            &[
                &centre,
                &m.bank_code,
                &m.bank_ref,
                &m.amount,
                &m.payer_account,
                &m.payer_name,
                &m.memo,
                &date_str(m.value_date),
                &m.received_at_us,
                &m.matched,
                &m.bill_no,
                &m.note,
                &m.entry_key,
                &m.assigned_key,
            ],
        )?;
        if n == 1 {
            return Ok(());
        }
        Err(StoreError::Conflict {
            what: format!(
                "incoming money {} at bank {} in centre {centre}",
                m.bank_ref, m.bank_code
            ),
        })
    }

    pub(super) fn incoming(
        &mut self,
        centre: &str,
        bank_code: &str,
        bank_ref: &str,
    ) -> Result<Option<IncomingRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                incoming_columns!(),
                " FROM incoming_money WHERE centre_code = $1 AND bank_code = $2 AND bank_ref = $3"
            ),
            &[&centre, &bank_code, &bank_ref],
        )?;
        row.as_ref().map(incoming_of).transpose()
    }

    pub(super) fn update_incoming(
        &mut self,
        centre: &str,
        m: &IncomingRow,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE incoming_money SET matched = $4, bill_no = $5, note = $6, assigned_key = $7
             WHERE centre_code = $1 AND bank_code = $2 AND bank_ref = $3",
            &[
                &centre,
                &m.bank_code,
                &m.bank_ref,
                &m.matched,
                &m.bill_no,
                &m.note,
                &m.assigned_key,
            ],
        )?;
        if n == 1 {
            return Ok(());
        }
        Err(StoreError::NotFound {
            what: format!(
                "incoming money {} at bank {} in centre {centre}",
                m.bank_ref, m.bank_code
            ),
        })
    }

    pub(super) fn incoming_on(
        &mut self,
        centre: &str,
        bank_code: &str,
        date: Date,
    ) -> Result<Vec<IncomingRow>, StoreError> {
        let mut out = Vec::new();
        self.for_each(
            concat!(
                "SELECT ",
                incoming_columns!(),
                " FROM incoming_money
                 WHERE centre_code = $1 AND bank_code = $2 AND value_date = $3::text::date"
            ),
            &[&centre, &bank_code, &date_str(date)],
            |r| {
                out.push(incoming_of(r)?);
                Ok(())
            },
        )?;
        // Byte-wise, like SQLite, whatever the database's collation.
        out.sort_unstable_by(|a, b| a.bank_ref.cmp(&b.bank_ref));
        Ok(out)
    }

    pub(super) fn incoming_in_suspense(
        &mut self,
        centre: &str,
    ) -> Result<Vec<IncomingRow>, StoreError> {
        // The condition of the partial index of money in suspense, word for word.
        let rows = self.query(
            concat!(
                "SELECT ",
                incoming_columns!(),
                " FROM incoming_money WHERE centre_code = $1 AND matched = 'suspense'"
            ),
            &[&centre],
        )?;
        let mut out = rows
            .iter()
            .map(incoming_of)
            .collect::<Result<Vec<_>, _>>()?;
        // Oldest first, then byte-wise by bank and reference, like SQLite.
        out.sort_unstable_by(|a, b| {
            (a.received_at_us, &a.bank_code, &a.bank_ref).cmp(&(
                b.received_at_us,
                &b.bank_code,
                &b.bank_ref,
            ))
        });
        Ok(out)
    }

    // ---- reconciliation ---------------------------------------------------------------

    pub(super) fn insert_recon_run(
        &mut self,
        centre: &str,
        r: &ReconRunRow,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "INSERT INTO recon_runs (centre_code, bank_code, recon_date, run_at_us, bank_lines,
                anju_lines, bank_closing_fen, ledger_balance_fen, mismatches)
             VALUES ($1, $2, $3::text::date, $4, $5, $6, $7, $8, $9)
             ON CONFLICT DO NOTHING",
            &[
                &centre,
                &r.bank_code,
                &date_str(r.date),
                &r.run_at_us,
                &r.bank_lines,
                &r.anju_lines,
                &r.bank_closing,
                &r.ledger_balance,
                &r.mismatches,
            ],
        )?;
        if n == 1 {
            return Ok(());
        }
        Err(StoreError::Conflict {
            what: format!(
                "reconciliation run of bank {} for {} at {} in centre {centre}",
                r.bank_code, r.date, r.run_at_us
            ),
        })
    }

    pub(super) fn recon_runs(
        &mut self,
        centre: &str,
        bank_code: &str,
        date: Date,
    ) -> Result<Vec<ReconRunRow>, StoreError> {
        let rows = self.query(
            "SELECT bank_code, recon_date::text, run_at_us, bank_lines, anju_lines,
                bank_closing_fen, ledger_balance_fen, mismatches
             FROM recon_runs
             WHERE centre_code = $1 AND bank_code = $2 AND recon_date = $3::text::date
             ORDER BY run_at_us",
            &[&centre, &bank_code, &date_str(date)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(ReconRunRow {
                    bank_code: column(r.try_get(0))?,
                    date: date_of(r, 1, "recon_runs")?,
                    run_at_us: column(r.try_get(2))?,
                    bank_lines: column(r.try_get(3))?,
                    anju_lines: column(r.try_get(4))?,
                    bank_closing: column(r.try_get(5))?,
                    ledger_balance: column(r.try_get(6))?,
                    mismatches: column(r.try_get(7))?,
                })
            })
            .collect()
    }

    /// One `INSERT … ON CONFLICT DO NOTHING` per [`ROW_CHUNK`] items: an item stored
    /// before (or earlier in the call) is left as it is.
    pub(super) fn upsert_recon_items(
        &mut self,
        centre: &str,
        rows: &[ReconItemRow],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(ROW_CHUNK) {
            self.execute(
                "INSERT INTO recon_items (centre_code, bank_code, recon_date, serial, kind,
                    bank_amount_fen, anju_amount_fen, found_at_us, status, resolved_at_us,
                    resolution)
                 SELECT $1::text, v.bank_code, v.recon_date::date, v.serial, v.kind,
                    v.bank_amount_fen, v.anju_amount_fen, v.found_at_us, v.status,
                    v.resolved_at_us, v.resolution
                 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                    $7::bigint[], $8::bigint[], $9::text[], $10::bigint[], $11::text[])
                    AS v (bank_code, recon_date, serial, kind, bank_amount_fen, anju_amount_fen,
                          found_at_us, status, resolved_at_us, resolution)
                 ON CONFLICT (centre_code, bank_code, recon_date, serial, kind) DO NOTHING",
                &[
                    &centre,
                    &chunk
                        .iter()
                        .map(|i| i.bank_code.as_str())
                        .collect::<Vec<_>>(),
                    &chunk.iter().map(|i| date_str(i.date)).collect::<Vec<_>>(),
                    &chunk.iter().map(|i| i.serial.as_str()).collect::<Vec<_>>(),
                    &chunk.iter().map(|i| i.kind.as_str()).collect::<Vec<_>>(),
                    &chunk.iter().map(|i| i.bank_amount).collect::<Vec<_>>(),
                    &chunk.iter().map(|i| i.anju_amount).collect::<Vec<_>>(),
                    &chunk.iter().map(|i| i.found_at_us).collect::<Vec<_>>(),
                    &chunk.iter().map(|i| i.status.as_str()).collect::<Vec<_>>(),
                    &chunk.iter().map(|i| i.resolved_at_us).collect::<Vec<_>>(),
                    &chunk
                        .iter()
                        .map(|i| i.resolution.as_deref())
                        .collect::<Vec<_>>(),
                ],
            )?;
        }
        Ok(())
    }

    pub(super) fn recon_items(
        &mut self,
        centre: &str,
        bank_code: Option<&str>,
        date: Option<Date>,
        open_only: bool,
    ) -> Result<Vec<ReconItemRow>, StoreError> {
        let date = date.map(date_str);
        let rows = self.query(
            if open_only {
                // The condition of the partial index of open items, word for word.
                concat!(
                    "SELECT ",
                    recon_item_columns!(),
                    " FROM recon_items WHERE centre_code = $1 AND status = 'open'
                       AND ($2::text IS NULL OR bank_code = $2)
                       AND ($3::text IS NULL OR recon_date = $3::text::date)"
                )
            } else {
                concat!(
                    "SELECT ",
                    recon_item_columns!(),
                    " FROM recon_items WHERE centre_code = $1
                       AND ($2::text IS NULL OR bank_code = $2)
                       AND ($3::text IS NULL OR recon_date = $3::text::date)"
                )
            },
            &[&centre, &bank_code, &date],
        )?;
        let mut out = rows
            .iter()
            .map(recon_item_of)
            .collect::<Result<Vec<_>, _>>()?;
        // By day, serial, kind, then bank; byte-wise, like SQLite.
        out.sort_unstable_by(|a, b| {
            (a.date, &a.serial, &a.kind, &a.bank_code).cmp(&(
                b.date,
                &b.serial,
                &b.kind,
                &b.bank_code,
            ))
        });
        Ok(out)
    }

    /// As [`PgConn::update_instructions`]: an item given twice keeps its last row; up to
    /// [`ROW_CHUNK`] distinct items in one guarded statement, more through a staging
    /// table.
    pub(super) fn update_recon_items(
        &mut self,
        centre: &str,
        rows: &[ReconItemRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let lasts = last_of_each(rows, item_key);
        if lasts.len() > ROW_CHUNK {
            return self.atomic(|s| s.update_recon_items_staged(centre, rows, &lasts));
        }
        if self.update_recon_chunk(&lasts, centre)? {
            Ok(())
        } else {
            Err(self.missing_recon_item_of(centre, rows))
        }
    }

    /// As [`PgConn::update_instructions_staged`].
    fn update_recon_items_staged(
        &mut self,
        centre: &str,
        rows: &[ReconItemRow],
        lasts: &[&ReconItemRow],
    ) -> Result<(), StoreError> {
        self.batch(
            "CREATE TEMP TABLE anju_stage_recon_items (
                bank_code       TEXT    NOT NULL,
                recon_date      DATE    NOT NULL,
                serial          TEXT    NOT NULL,
                kind            TEXT    NOT NULL,
                status          TEXT    NOT NULL,
                resolved_at_us  BIGINT,
                resolution      TEXT
             ) ON COMMIT DROP",
        )?;
        self.copy_in(
            "COPY anju_stage_recon_items (bank_code, recon_date, serial, kind, status,
                resolved_at_us, resolution)
             FROM STDIN (FORMAT binary)",
            lasts,
            |c, i| {
                c.row(7);
                c.text(&i.bank_code);
                c.date(i.date);
                c.text(&i.serial);
                c.text(&i.kind);
                c.text(&i.status);
                c.opt_bigint(i.resolved_at_us);
                c.opt_text(i.resolution.as_deref());
            },
        )?;
        self.batch("ANALYZE anju_stage_recon_items")?;
        // Not a cached statement: the staging table is new each time.
        let updated = self.with_work_mem(|s| {
            let t0 = Instant::now();
            let n = track(
                &mut s.failed,
                s.client.execute(
                    "UPDATE recon_items AS i SET status = v.status,
                        resolved_at_us = v.resolved_at_us, resolution = v.resolution
                     FROM anju_stage_recon_items AS v
                     WHERE i.centre_code = $1 AND i.bank_code = v.bank_code
                       AND i.recon_date = v.recon_date AND i.serial = v.serial
                       AND i.kind = v.kind",
                    &[&centre],
                ),
            );
            slow("UPDATE recon_items FROM anju_stage_recon_items", t0);
            n
        })?;
        self.batch("DROP TABLE anju_stage_recon_items")?;
        if updated != lasts.len() as u64 {
            return Err(self.missing_recon_item_of(centre, rows));
        }
        Ok(())
    }

    /// Updates `chunk` (distinct items) if every one of them exists, and says whether it
    /// did; otherwise changes nothing.
    fn update_recon_chunk(
        &mut self,
        chunk: &[&ReconItemRow],
        centre: &str,
    ) -> Result<bool, StoreError> {
        // `ready` is MATERIALIZED: inlined, PostgreSQL may count it again for every row it
        // updates (a 20,000-row chunk took minutes instead of a fraction of a second).
        let n = self.execute(
            "WITH v AS (
                 SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[],
                    $6::text[], $7::bigint[], $8::text[])
                    AS v (bank_code, recon_date, serial, kind, status, resolved_at_us,
                          resolution)
             ), ready AS MATERIALIZED (
                 SELECT COUNT(*) AS n FROM recon_items i JOIN v
                   ON i.bank_code = v.bank_code AND i.recon_date = v.recon_date::date
                  AND i.serial = v.serial AND i.kind = v.kind
                 WHERE i.centre_code = $1
             )
             UPDATE recon_items i SET status = v.status, resolved_at_us = v.resolved_at_us,
                resolution = v.resolution
             FROM v, ready r
             WHERE i.centre_code = $1 AND i.bank_code = v.bank_code
               AND i.recon_date = v.recon_date::date AND i.serial = v.serial
               AND i.kind = v.kind AND r.n = cardinality($2::text[])",
            &[
                &centre,
                &chunk
                    .iter()
                    .map(|i| i.bank_code.as_str())
                    .collect::<Vec<_>>(),
                &chunk.iter().map(|i| date_str(i.date)).collect::<Vec<_>>(),
                &chunk.iter().map(|i| i.serial.as_str()).collect::<Vec<_>>(),
                &chunk.iter().map(|i| i.kind.as_str()).collect::<Vec<_>>(),
                &chunk.iter().map(|i| i.status.as_str()).collect::<Vec<_>>(),
                &chunk.iter().map(|i| i.resolved_at_us).collect::<Vec<_>>(),
                &chunk
                    .iter()
                    .map(|i| i.resolution.as_deref())
                    .collect::<Vec<_>>(),
            ],
        )?;
        if n == chunk.len() as u64 {
            return Ok(true);
        }
        if n != 0 {
            // Never expected: the rows were all there when the statement began.
            self.failed = true;
            return Err(database(format!(
                "recon_items: {n} of {} items updated",
                chunk.len()
            )));
        }
        Ok(false)
    }

    /// The `NotFound` of the first of `rows` that is not stored.
    fn missing_recon_item_of(&mut self, centre: &str, rows: &[ReconItemRow]) -> StoreError {
        match self.existing_recon_items(centre, rows) {
            Ok(found) => {
                let found: HashSet<ItemKey<'_>> = found
                    .iter()
                    .map(|(b, d, s, k)| (b.as_str(), *d, s.as_str(), k.as_str()))
                    .collect();
                match rows.iter().find(|i| !found.contains(&item_key(i))) {
                    Some(i) => missing_recon_item(centre, i),
                    None => database(format!(
                        "recon_items: items of centre {centre} changed concurrently"
                    )),
                }
            }
            Err(e) => e,
        }
    }

    /// The keys among `rows` that are stored.
    fn existing_recon_items(
        &mut self,
        centre: &str,
        rows: &[ReconItemRow],
    ) -> Result<Vec<(String, Date, String, String)>, StoreError> {
        let mut found = Vec::new();
        for chunk in rows.chunks(ROW_CHUNK) {
            self.for_each(
                "SELECT bank_code, recon_date::text, serial, kind FROM recon_items
                 WHERE centre_code = $1 AND (bank_code, recon_date, serial, kind) IN (
                     SELECT b, d::date, s, k FROM unnest($2::text[], $3::text[], $4::text[],
                        $5::text[]) AS v (b, d, s, k))",
                &[
                    &centre,
                    &chunk
                        .iter()
                        .map(|i| i.bank_code.as_str())
                        .collect::<Vec<_>>(),
                    &chunk.iter().map(|i| date_str(i.date)).collect::<Vec<_>>(),
                    &chunk.iter().map(|i| i.serial.as_str()).collect::<Vec<_>>(),
                    &chunk.iter().map(|i| i.kind.as_str()).collect::<Vec<_>>(),
                ],
                |r| {
                    found.push((
                        column::<String>(r.try_get(0))?,
                        date_of(r, 1, "recon_items")?,
                        column::<String>(r.try_get(2))?,
                        column::<String>(r.try_get(3))?,
                    ));
                    Ok(())
                },
            )?;
        }
        Ok(found)
    }
}
