//! The simulated bank's books: one SQLite file (WAL, `synchronous=NORMAL`: it survives a
//! crash of the process, not of the machine) holding
//!
//! * `accounts` — number, name, balance, frozen flag, the balance it was opened with;
//! * `instructions` — every instruction decided, by serial, with the SM3 of its content,
//!   its status, bank reference, amount, reason and value date;
//! * `closed_serials` — serials a status query found unknown (never executable);
//! * `lines` — the statement lines, in booking order, with the balance after each;
//! * `outbox` — the notices to deliver, written **in the same transaction** as the
//!   execution or credit they tell of, and marked delivered when the centre acknowledged
//!   them;
//! * `forwards` — money leaving for a peer bank's simulator, delivered the same way;
//! * `credits_received` — idempotency keys of credits from peers;
//! * `loan_applications` — every commercial-loan application decided, by application
//!   number, with the SM3 of its content and the decision (see [`super::lending`]);
//! * `loans` — the approved commercial loans: terms, price, status, disbursement;
//! * `meta` — counters (references, notice ids, starts, crashes, deliveries).
//!
//! Each instruction executes atomically: its checks, both balance changes, both statement
//! lines, its stored result and its notice commit together or not at all.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::faults::{InstructionPlan, NoticePlan};
use crate::protocol::{
    CreditEvent, InstructionResult, NoticeBody, NoticeKind, WireInstruction, WireLine, WireStatus,
    check_account, check_text,
};

/// The answer to a status query of a serial never received (the serial is closed).
pub const NEVER_RECEIVED: &str = "未收到该指令，流水号已作废 (never received; serial closed)";
/// The answer to an instruction arriving under a serial closed by a status query.
pub const CLOSED_SERIAL: &str = "流水号已作废：此前结果查询时未收到该指令，本笔不予执行 (serial closed by an earlier status query; not executed)";
/// The answer to a serial used again for different content.
pub const SERIAL_REUSED: &str = "流水号重复：该流水号已用于内容不同的另一笔指令，本笔未执行 (serial reused with different content; not executed)";
/// A simulated rejection (`--reject-rate`).
pub const SIMULATED_REJECTION: &str = "模拟拒绝：银行系统拒绝受理 (simulated rejection)";
/// The name of the simulator's own deposits (top-ups through `/sim/accounts`).
pub const SIM_DEPOSIT: &str = "模拟存入 (simulator deposit)";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    no          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    balance_fen INTEGER NOT NULL,
    frozen      INTEGER NOT NULL DEFAULT 0,
    initial_fen INTEGER NOT NULL,
    opened_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS instructions (
    serial          TEXT PRIMARY KEY,
    hash            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    business_type   TEXT NOT NULL,
    debit_account   TEXT NOT NULL,
    credit_account  TEXT NOT NULL,
    credit_name     TEXT NOT NULL,
    credit_bank     TEXT,
    memo            TEXT NOT NULL,
    amount_fen      INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('executed', 'rejected')),
    bank_ref        TEXT,
    reason          TEXT,
    value_date      TEXT,
    decided_at      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS closed_serials (
    serial    TEXT PRIMARY KEY,
    closed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lines (
    seq                  INTEGER PRIMARY KEY,
    account              TEXT NOT NULL,
    value_date           TEXT NOT NULL,
    bank_ref             TEXT NOT NULL,
    serial               TEXT,
    amount_fen           INTEGER NOT NULL,
    balance_after        INTEGER NOT NULL,
    counterparty_account TEXT NOT NULL,
    counterparty_name    TEXT NOT NULL,
    memo                 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lines_by_day ON lines (account, value_date, seq);
CREATE TABLE IF NOT EXISTS outbox (
    id           INTEGER PRIMARY KEY,
    notice_id    TEXT NOT NULL UNIQUE,
    body         BLOB NOT NULL,
    due_ms       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    duplicate    INTEGER NOT NULL DEFAULT 0,
    hold         INTEGER NOT NULL DEFAULT 0,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (due_ms) WHERE delivered_at IS NULL;
CREATE TABLE IF NOT EXISTS forwards (
    id           INTEGER PRIMARY KEY,
    peer         TEXT NOT NULL,
    credit_id    TEXT NOT NULL UNIQUE,
    body         BLOB NOT NULL,
    due_ms       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS forwards_due ON forwards (due_ms) WHERE delivered_at IS NULL;
CREATE TABLE IF NOT EXISTS credits_received (
    credit_id TEXT PRIMARY KEY,
    bank_ref  TEXT NOT NULL,
    notice_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS loan_applications (
    application_no TEXT PRIMARY KEY,
    hash           TEXT NOT NULL,
    decision       TEXT NOT NULL CHECK (decision IN ('approved', 'declined')),
    loan_no        TEXT,
    reason         TEXT,
    decided_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS loans (
    loan_no          TEXT PRIMARY KEY,
    application_no   TEXT NOT NULL UNIQUE,
    status           TEXT NOT NULL
                     CHECK (status IN ('approved', 'disbursed', 'paid_off', 'cancelled')),
    amount_fen       INTEGER NOT NULL,
    rate_units       INTEGER NOT NULL,
    months           INTEGER NOT NULL,
    method           TEXT NOT NULL,
    repay_day        INTEGER NOT NULL,
    requested_on     TEXT NOT NULL,
    property         TEXT NOT NULL,
    disbursed_on     TEXT,
    disbursement_ref TEXT,
    disburse_hash    TEXT,
    seller_account   TEXT,
    approved_at      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
";

/// What went wrong with the books.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// SQLite failed.
    #[error("bank-sim database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// No such account.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts the books (e.g. another name for an existing account).
    #[error("{0}")]
    Conflict(String),
    /// The request is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// The simulator itself failed (a task died).
    #[error("bank-sim: {0}")]
    Internal(String),
}

/// An account as `/sim/accounts` and `--accounts` files show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRow {
    /// Account number.
    pub account: String,
    /// Holder's name (户名).
    pub name: String,
    /// Balance, fen.
    pub balance_fen: i64,
    /// Frozen accounts cannot be debited.
    #[serde(default)]
    pub frozen: bool,
}

/// A request to open an account or, when it exists, to deposit into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenAccount {
    /// Account number.
    pub account: String,
    /// Holder's name; must match an existing account's.
    pub name: String,
    /// Opening balance, or the deposit into an existing account, fen (≥ 0).
    #[serde(default)]
    pub balance_fen: i64,
    /// Freeze (`true`) or unfreeze (`false`); unchanged when absent.
    #[serde(default)]
    pub frozen: Option<bool>,
}

impl OpenAccount {
    fn validate(&self) -> Result<(), LedgerError> {
        check_account(&self.account)
            .map_err(|e| LedgerError::BadRequest(format!("`account` {e}")))?;
        check_text(&self.name, 1, 100)
            .map_err(|e| LedgerError::BadRequest(format!("`name` {e}")))?;
        if self.balance_fen < 0 {
            return Err(LedgerError::BadRequest(
                "`balance_fen` must not be negative".to_owned(),
            ));
        }
        Ok(())
    }
}

/// What [`BankDb::open_account`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// A new account.
    Opened,
    /// An existing account (deposit and/or freeze change).
    Updated,
}

/// Money arriving from outside the bank (`POST /sim/credit`, or a peer bank's transfer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditIn {
    /// The account credited (held at this bank).
    pub account: String,
    /// Amount, fen, positive.
    pub amount_fen: i64,
    /// The payer's account.
    pub counterparty_account: String,
    /// The payer's name.
    pub counterparty_name: String,
    /// Memo (附言).
    #[serde(default)]
    pub memo: String,
    /// Idempotency key: a credit with a key already booked is not booked again.
    #[serde(default)]
    pub credit_id: Option<String>,
}

/// A booked credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditBooked {
    /// The bank's reference.
    pub bank_ref: String,
    /// The credit notice's id.
    pub notice_id: String,
    /// Whether this key had been booked before (nothing changed now).
    pub duplicate: bool,
}

/// What the execution of one request did.
#[derive(Debug, Default)]
pub struct Executed {
    /// One result per instruction decided (all of them unless `crashed`).
    pub results: Vec<InstructionResult>,
    /// Outbox ids of the notices written (held when asked).
    pub notices: Vec<i64>,
    /// New executions.
    pub executed: u64,
    /// The `stop` hook asked to stop after a commit: the rest was not looked at.
    pub stopped: bool,
}

/// How [`BankDb::execute`] books.
#[derive(Debug, Clone)]
pub struct ExecContext<'a> {
    /// Value date of everything executed.
    pub value_date: Date,
    /// Now.
    pub now: Timestamp,
    /// Peer banks' simulators (bank code → URL) that external credits are forwarded to.
    pub peers: &'a BTreeMap<String, String>,
    /// Write the notices held (for the request to deliver them itself).
    pub hold_notices: bool,
}

/// A notice waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// The notice id.
    pub notice_id: String,
    /// The exact body to sign and send.
    pub body: Vec<u8>,
    /// Failed deliveries so far.
    pub attempts: i64,
    /// Deliver it twice.
    pub duplicate: bool,
}

/// A credit waiting to be forwarded to a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRow {
    /// Row id.
    pub id: i64,
    /// Peer bank code.
    pub peer: String,
    /// The [`CreditIn`] body.
    pub body: Vec<u8>,
    /// Failed deliveries so far.
    pub attempts: i64,
}

/// Counts for `/sim/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerStats {
    /// Accounts.
    pub accounts: i64,
    /// Instructions executed.
    pub executed: i64,
    /// Instructions rejected (stored results; serial reuses are not stored).
    pub rejected: i64,
    /// Serials closed by status queries.
    pub closed_serials: i64,
    /// Statement lines.
    pub lines: i64,
    /// Notices written.
    pub notices: i64,
    /// Notices acknowledged by the centre.
    pub notices_delivered: i64,
    /// Notices still to deliver.
    pub notices_pending: i64,
    /// Delivery attempts (every POST of a notice, duplicates included).
    pub notice_attempts: i64,
    /// Deliveries acknowledged with a 2xx (duplicates included).
    pub notices_acknowledged: i64,
    /// Notices delivered a second time on purpose.
    pub duplicate_notices_sent: i64,
    /// Credits forwarded to peers and accepted.
    pub forwards_delivered: i64,
    /// Credits still to forward.
    pub forwards_pending: i64,
    /// Commercial loans approved.
    #[serde(default)]
    pub loans: i64,
    /// Commercial loans disbursed.
    #[serde(default)]
    pub loans_disbursed: i64,
    /// Commercial-loan applications declined.
    #[serde(default)]
    pub loan_declines: i64,
    /// Times the simulator started on this file.
    pub starts: i64,
    /// Starts after a process that did not stop cleanly (crashes survived).
    pub crashes_survived: i64,
}

/// The books.
#[derive(Debug)]
pub struct BankDb {
    pub(super) conn: Connection,
    pub(super) bank: String,
    /// Dropping it stops the background checkpoint thread.
    _checkpoints: std::sync::mpsc::Sender<()>,
}

/// Checkpoints the WAL every second on a connection of its own, so that no request pays
/// for SQLite's automatic checkpoint inside its commit (which put milliseconds of `fsync`
/// into the simulator's p99 — a bank's latency is set by `--latency-ms`, not by this).
/// Stops when the sender is dropped.
fn start_checkpoints(path: &Path) -> Result<std::sync::mpsc::Sender<()>, LedgerError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "busy_timeout", 5_000)?;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("bank-sim-checkpoint".to_owned())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                rx.recv_timeout(std::time::Duration::from_secs(1))
            {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "bank-sim: WAL checkpoint failed; will retry");
                }
            }
        })
        .map_err(|e| LedgerError::Internal(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(tx)
}

pub(super) fn date_text(d: Date) -> String {
    d.to_string()
}

pub(super) fn parse_date(text: Option<String>) -> Option<Date> {
    text.and_then(|t| t.parse().ok())
}

pub(super) fn bump(tx: &Transaction<'_>, key: &str, by: i64) -> Result<i64, rusqlite::Error> {
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = value + excluded.value
         RETURNING value",
    )?
    .query_row(params![key, by], |r| r.get(0))
}

fn bump_conn(conn: &Connection, key: &str, by: i64) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
    )?
    .execute(params![key, by])?;
    Ok(())
}

pub(super) struct Account {
    pub(super) name: String,
    pub(super) balance: i64,
    pub(super) frozen: bool,
}

pub(super) fn account(tx: &Transaction<'_>, no: &str) -> Result<Option<Account>, rusqlite::Error> {
    tx.prepare_cached("SELECT name, balance_fen, frozen FROM accounts WHERE no = ?1")?
        .query_row([no], |r| {
            Ok(Account {
                name: r.get(0)?,
                balance: r.get(1)?,
                frozen: r.get(2)?,
            })
        })
        .optional()
}

/// Moves `amount` (signed) into `account` and books its line.
#[allow(clippy::too_many_arguments)]
pub(super) fn book(
    tx: &Transaction<'_>,
    account: &str,
    amount: i64,
    value_date: &str,
    bank_ref: &str,
    serial: Option<&str>,
    counterparty_account: &str,
    counterparty_name: &str,
    memo: &str,
) -> Result<i64, LedgerError> {
    let after: i64 = tx
        .prepare_cached(
            "UPDATE accounts SET balance_fen = balance_fen + ?2 WHERE no = ?1 RETURNING balance_fen",
        )?
        .query_row(params![account, amount], |r| r.get(0))?;
    tx.prepare_cached(
        "INSERT INTO lines (account, value_date, bank_ref, serial, amount_fen, balance_after,
                            counterparty_account, counterparty_name, memo)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        account,
        value_date,
        bank_ref,
        serial,
        amount,
        after,
        counterparty_account,
        counterparty_name,
        memo
    ])?;
    Ok(after)
}

impl BankDb {
    /// Opens (creating) the books of bank `bank` at `path`.
    pub fn open(path: &Path, bank: &str) -> Result<BankDb, LedgerError> {
        let conn = Connection::open(path)?;
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "busy_timeout", 5_000)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.execute_batch(SCHEMA)?;
        Ok(BankDb {
            conn,
            bank: bank.to_owned(),
            _checkpoints: start_checkpoints(path)?,
        })
    }

    /// Records a start; counts a crash survived when the previous process did not stop
    /// cleanly, and releases notices a request was holding when it died. Returns
    /// (starts, crashes survived).
    pub fn mark_started(&mut self) -> Result<(i64, i64), LedgerError> {
        let tx = self.conn.transaction()?;
        let running: i64 = tx
            .query_row("SELECT value FROM meta WHERE key = 'running'", [], |r| {
                r.get(0)
            })
            .optional()?
            .unwrap_or(0);
        if running != 0 {
            bump(&tx, "crashes", 1)?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('running', 1)
             ON CONFLICT (key) DO UPDATE SET value = 1",
            [],
        )?;
        let starts = bump(&tx, "starts", 1)?;
        let crashes = bump(&tx, "crashes", 0)?;
        tx.execute(
            "UPDATE outbox SET hold = 0 WHERE hold <> 0 AND delivered_at IS NULL",
            [],
        )?;
        tx.commit()?;
        Ok((starts, crashes))
    }

    /// Records a clean stop.
    pub fn mark_stopped(&mut self) -> Result<(), LedgerError> {
        self.conn
            .execute("UPDATE meta SET value = 0 WHERE key = 'running'", [])?;
        Ok(())
    }

    /// Opens an account, or deposits into / freezes an existing one (same name).
    pub fn open_account(
        &mut self,
        a: &OpenAccount,
        value_date: Date,
    ) -> Result<Opened, LedgerError> {
        a.validate()?;
        let tx = self.conn.transaction()?;
        let opened = match account(&tx, &a.account)? {
            None => {
                tx.prepare_cached(
                    "INSERT INTO accounts (no, name, balance_fen, frozen, initial_fen, opened_at)
                     VALUES (?1, ?2, ?3, ?4, ?3, ?5)",
                )?
                .execute(params![
                    a.account,
                    a.name,
                    a.balance_fen,
                    a.frozen.unwrap_or(false),
                    Timestamp::now().to_string()
                ])?;
                Opened::Opened
            }
            Some(existing) => {
                if existing.name != a.name {
                    return Err(LedgerError::Conflict(format!(
                        "account {} is held by {:?}, not {:?}",
                        a.account, existing.name, a.name
                    )));
                }
                if a.balance_fen > 0 {
                    let bank_ref = self_ref(&tx, &self.bank, value_date)?;
                    book(
                        &tx,
                        &a.account,
                        a.balance_fen,
                        &date_text(value_date),
                        &bank_ref,
                        None,
                        "",
                        SIM_DEPOSIT,
                        SIM_DEPOSIT,
                    )?;
                }
                if let Some(f) = a.frozen {
                    tx.execute(
                        "UPDATE accounts SET frozen = ?2 WHERE no = ?1",
                        params![a.account, f],
                    )?;
                }
                Opened::Updated
            }
        };
        tx.commit()?;
        Ok(opened)
    }

    /// Opens `a` unless an account with its number exists (seeding is idempotent).
    pub fn seed_account(&mut self, a: &OpenAccount, value_date: Date) -> Result<bool, LedgerError> {
        a.validate()?;
        let exists: bool = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM accounts WHERE no = ?1)")?
            .query_row([&a.account], |r| r.get(0))?;
        if exists {
            return Ok(false);
        }
        self.open_account(a, value_date)?;
        Ok(true)
    }

    /// Every account, by number.
    pub fn accounts(&self) -> Result<Vec<AccountRow>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT no, name, balance_fen, frozen FROM accounts ORDER BY no")?;
        let rows = stmt.query_map([], |r| {
            Ok(AccountRow {
                account: r.get(0)?,
                name: r.get(1)?,
                balance_fen: r.get(2)?,
                frozen: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// An account's balance, if the bank holds it.
    pub fn balance(&self, no: &str) -> Result<Option<i64>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached("SELECT balance_fen FROM accounts WHERE no = ?1")?
            .query_row([no], |r| r.get(0))
            .optional()?)
    }

    /// Executes (or answers again) a request's instructions in order, in one transaction.
    /// `stop` is called after each new execution; when it says so, what is done is
    /// committed at once and the rest is not looked at ([`Executed::stopped`]).
    pub fn execute(
        &mut self,
        batch: &[WireInstruction],
        plans: &[InstructionPlan],
        ctx: &ExecContext<'_>,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<Executed, LedgerError> {
        let tx = self.conn.transaction()?;
        let mut out = Executed {
            results: Vec::with_capacity(batch.len()),
            ..Executed::default()
        };
        let value_date = date_text(ctx.value_date);
        let now_text = ctx.now.to_string();
        for (i, ins) in batch.iter().enumerate() {
            let plan = plans.get(i).copied().unwrap_or(InstructionPlan {
                reject: false,
                notice: NoticePlan::default(),
            });
            let hash = ins.content_hash();
            if let Some((stored_hash, result)) = stored(&tx, &ins.serial)? {
                out.results.push(if stored_hash == hash {
                    result
                } else {
                    InstructionResult::rejected(&ins.serial, Some(ins.amount_fen), SERIAL_REUSED)
                });
                continue;
            }
            let closed: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM closed_serials WHERE serial = ?1)")?
                .query_row([&ins.serial], |r| r.get(0))?;
            if closed {
                out.results.push(InstructionResult::rejected(
                    &ins.serial,
                    Some(ins.amount_fen),
                    CLOSED_SERIAL,
                ));
                continue;
            }
            let result = match decide(&tx, &self.bank, ins, plan.reject)? {
                Err(reason) => {
                    InstructionResult::rejected(&ins.serial, Some(ins.amount_fen), &reason)
                }
                Ok(debit_name) => {
                    let bank_ref = self_ref(&tx, &self.bank, ctx.value_date)?;
                    book(
                        &tx,
                        &ins.debit_account,
                        -ins.amount_fen,
                        &value_date,
                        &bank_ref,
                        Some(&ins.serial),
                        &ins.credit_account,
                        &ins.credit_name,
                        &ins.memo,
                    )?;
                    match external_bank(&self.bank, ins) {
                        None => {
                            book(
                                &tx,
                                &ins.credit_account,
                                ins.amount_fen,
                                &value_date,
                                &bank_ref,
                                Some(&ins.serial),
                                &ins.debit_account,
                                &debit_name,
                                &ins.memo,
                            )?;
                        }
                        Some(peer) if ctx.peers.contains_key(peer) => {
                            let credit = CreditIn {
                                account: ins.credit_account.clone(),
                                amount_fen: ins.amount_fen,
                                counterparty_account: ins.debit_account.clone(),
                                counterparty_name: debit_name.clone(),
                                memo: ins.memo.clone(),
                                credit_id: Some(format!("{}:{bank_ref}", self.bank)),
                            };
                            let body = serde_json::to_vec(&credit).unwrap_or_default();
                            tx.prepare_cached(
                                "INSERT INTO forwards (peer, credit_id, body, due_ms) VALUES (?1, ?2, ?3, ?4)",
                            )?
                            .execute(params![
                                peer,
                                credit.credit_id,
                                body,
                                ctx.now.as_millisecond()
                            ])?;
                        }
                        // The money left for a bank nobody simulates.
                        Some(_) => {}
                    }
                    InstructionResult::executed(
                        &ins.serial,
                        ins.amount_fen,
                        &bank_ref,
                        ctx.value_date,
                    )
                }
            };
            tx.prepare_cached(
                "INSERT INTO instructions (serial, hash, kind, business_type, debit_account,
                     credit_account, credit_name, credit_bank, memo, amount_fen, status,
                     bank_ref, reason, value_date, decided_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?
            .execute(params![
                ins.serial,
                hash,
                ins.kind.code(),
                ins.business_type.code(),
                ins.debit_account,
                ins.credit_account,
                ins.credit_name,
                ins.credit_bank,
                ins.memo,
                ins.amount_fen,
                result.status.code(),
                result.bank_ref,
                result.reason,
                result.value_date.map(date_text),
                now_text,
            ])?;
            let notice = write_notice(
                &tx,
                &self.bank,
                NoticeKind::Result(result.clone()),
                plan.notice,
                ctx.now,
                ctx.hold_notices,
            )?;
            out.notices.push(notice.0);
            let executed = result.status == WireStatus::Executed;
            out.results.push(result);
            if executed {
                out.executed += 1;
                if stop() {
                    out.stopped = true;
                    break;
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// The status of `serial`; a serial never received is closed, so it can never execute.
    pub fn status(
        &mut self,
        serial: &str,
        now: Timestamp,
    ) -> Result<InstructionResult, LedgerError> {
        let tx = self.conn.transaction()?;
        if let Some((_, r)) = stored(&tx, serial)? {
            return Ok(r);
        }
        tx.prepare_cached(
            "INSERT INTO closed_serials (serial, closed_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?
        .execute(params![serial, now.to_string()])?;
        tx.commit()?;
        Ok(InstructionResult::rejected(serial, None, NEVER_RECEIVED))
    }

    /// Books money arriving from outside into `c.account` and writes its credit notice.
    pub fn credit(
        &mut self,
        c: &CreditIn,
        value_date: Date,
        plan: NoticePlan,
        now: Timestamp,
    ) -> Result<CreditBooked, LedgerError> {
        check_account(&c.account).map_err(|e| LedgerError::BadRequest(format!("`account` {e}")))?;
        if !(1..=crate::protocol::MAX_AMOUNT_FEN).contains(&c.amount_fen) {
            return Err(LedgerError::BadRequest(format!(
                "`amount_fen` must be a positive whole number of fen, not {}",
                c.amount_fen
            )));
        }
        check_text(&c.counterparty_name, 1, 100)
            .map_err(|e| LedgerError::BadRequest(format!("`counterparty_name` {e}")))?;
        check_text(&c.counterparty_account, 1, 40)
            .map_err(|e| LedgerError::BadRequest(format!("`counterparty_account` {e}")))?;
        check_text(&c.memo, 0, 140).map_err(|e| LedgerError::BadRequest(format!("`memo` {e}")))?;
        let tx = self.conn.transaction()?;
        if let Some(key) = &c.credit_id {
            let seen: Option<(String, String)> = tx
                .prepare_cached(
                    "SELECT bank_ref, notice_id FROM credits_received WHERE credit_id = ?1",
                )?
                .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((bank_ref, notice_id)) = seen {
                return Ok(CreditBooked {
                    bank_ref,
                    notice_id,
                    duplicate: true,
                });
            }
        }
        if account(&tx, &c.account)?.is_none() {
            return Err(LedgerError::NotFound(format!(
                "account {} is not held at bank {}",
                c.account, self.bank
            )));
        }
        let bank_ref = self_ref(&tx, &self.bank, value_date)?;
        book(
            &tx,
            &c.account,
            c.amount_fen,
            &date_text(value_date),
            &bank_ref,
            None,
            &c.counterparty_account,
            &c.counterparty_name,
            &c.memo,
        )?;
        let (_, notice_id) = write_notice(
            &tx,
            &self.bank,
            NoticeKind::Credit(CreditEvent {
                account: c.account.clone(),
                bank_ref: bank_ref.clone(),
                amount_fen: c.amount_fen,
                counterparty_account: c.counterparty_account.clone(),
                counterparty_name: c.counterparty_name.clone(),
                memo: c.memo.clone(),
                value_date,
            }),
            plan,
            now,
            false,
        )?;
        if let Some(key) = &c.credit_id {
            tx.prepare_cached(
                "INSERT INTO credits_received (credit_id, bank_ref, notice_id) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![key, bank_ref, notice_id])?;
        }
        tx.commit()?;
        Ok(CreditBooked {
            bank_ref,
            notice_id,
            duplicate: false,
        })
    }

    /// The statement of `account` for `date` as JSON bytes (a [`crate::protocol::StatementBody`]),
    /// written line by line; `None` for an account the bank does not hold. The opening
    /// balance is the balance after the last line before the day (else the balance the
    /// account was opened with); the closing is the opening plus the day's lines.
    pub fn statement_json(
        &self,
        account: &str,
        date: Date,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        let initial: Option<i64> = self
            .conn
            .prepare_cached("SELECT initial_fen FROM accounts WHERE no = ?1")?
            .query_row([account], |r| r.get(0))
            .optional()?;
        let Some(initial) = initial else {
            return Ok(None);
        };
        let day = date_text(date);
        let opening: i64 = self
            .conn
            .prepare_cached(
                "SELECT balance_after FROM lines WHERE account = ?1 AND value_date < ?2
                 ORDER BY value_date DESC, seq DESC LIMIT 1",
            )?
            .query_row(params![account, day], |r| r.get(0))
            .optional()?
            .unwrap_or(initial);
        let mut stmt = self.conn.prepare_cached(
            "SELECT bank_ref, serial, amount_fen, counterparty_account, counterparty_name, memo
             FROM lines WHERE account = ?1 AND value_date = ?2 ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![account, day])?;
        let mut lines = Vec::with_capacity(4096);
        let mut closing = opening;
        let mut first = true;
        while let Some(r) = rows.next()? {
            let line = WireLine {
                bank_ref: r.get(0)?,
                serial: r.get(1)?,
                amount_fen: r.get(2)?,
                counterparty_account: r.get(3)?,
                counterparty_name: r.get(4)?,
                memo: r.get(5)?,
                value_date: date,
            };
            closing = closing.saturating_add(line.amount_fen);
            if !first {
                lines.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut lines, &line)
                .map_err(|e| LedgerError::Internal(format!("cannot write a line: {e}")))?;
        }
        let head = serde_json::json!({
            "account": account,
            "date": date,
            "opening_fen": opening,
            "closing_fen": closing,
        })
        .to_string();
        // `{"account":…,"closing_fen":…}` + `,"lines":[…]}`.
        let mut out = Vec::with_capacity(head.len() + lines.len() + 16);
        out.extend_from_slice(&head.as_bytes()[..head.len().saturating_sub(1)]);
        out.extend_from_slice(b",\"lines\":[");
        out.extend_from_slice(&lines);
        out.extend_from_slice(b"]}");
        Ok(Some(out))
    }

    /// Up to `limit` notices due at `now_ms` (not held, not delivered), oldest first,
    /// leaving out `skip` (in flight).
    pub fn due_notices(
        &self,
        now_ms: i64,
        limit: usize,
        skip: &std::collections::HashSet<i64>,
    ) -> Result<Vec<OutboxRow>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, notice_id, body, attempts, duplicate FROM outbox
             WHERE delivered_at IS NULL AND hold = 0 AND due_ms <= ?1
             ORDER BY due_ms, id LIMIT ?2",
        )?;
        let want = i64::try_from(limit.saturating_add(skip.len())).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![now_ms, want], |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                notice_id: r.get(1)?,
                body: r.get(2)?,
                attempts: r.get(3)?,
                duplicate: r.get(4)?,
            })
        })?;
        let mut out = Vec::new();
        for row in rows {
            let row = row?;
            if !skip.contains(&row.id) {
                out.push(row);
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// The held notices among `ids`.
    pub fn held_notices(&self, ids: &[i64]) -> Result<Vec<OutboxRow>, LedgerError> {
        let mut out = Vec::with_capacity(ids.len());
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, notice_id, body, attempts, duplicate FROM outbox
             WHERE id = ?1 AND hold <> 0 AND delivered_at IS NULL",
        )?;
        for id in ids {
            if let Some(row) = stmt
                .query_row([id], |r| {
                    Ok(OutboxRow {
                        id: r.get(0)?,
                        notice_id: r.get(1)?,
                        body: r.get(2)?,
                        attempts: r.get(3)?,
                        duplicate: r.get(4)?,
                    })
                })
                .optional()?
            {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Hands held notices to the background delivery, due now.
    pub fn release_notices(&mut self, ids: &[i64], now_ms: i64) -> Result<(), LedgerError> {
        let tx = self.conn.transaction()?;
        for id in ids {
            tx.prepare_cached(
                "UPDATE outbox SET hold = 0, due_ms = MIN(due_ms, ?2) WHERE id = ?1 AND hold <> 0",
            )?
            .execute(params![id, now_ms])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The earliest due time of a notice to deliver (not held).
    pub fn next_notice_due(&self) -> Result<Option<i64>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT MIN(due_ms) FROM outbox WHERE delivered_at IS NULL AND hold = 0",
            )?
            .query_row([], |r| r.get(0))?)
    }

    /// Records one delivery attempt of a notice and its outcome: delivered (acknowledged),
    /// or due again at `retry_at_ms`. `duplicate` marks the deliberate second delivery.
    pub fn notice_attempted(
        &mut self,
        id: i64,
        acknowledged: bool,
        duplicate: bool,
        retry_at_ms: i64,
        now: Timestamp,
    ) -> Result<(), LedgerError> {
        let tx = self.conn.transaction()?;
        bump(&tx, "notice_attempts", 1)?;
        if acknowledged {
            bump(&tx, "notices_acknowledged", 1)?;
            if duplicate {
                bump(&tx, "duplicate_notices_sent", 1)?;
            } else {
                tx.prepare_cached(
                    "UPDATE outbox SET delivered_at = ?2, hold = 0 WHERE id = ?1 AND delivered_at IS NULL",
                )?
                .execute(params![id, now.to_string()])?;
            }
        } else if !duplicate {
            tx.prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, due_ms = ?2, hold = 0
                 WHERE id = ?1 AND delivered_at IS NULL",
            )?
            .execute(params![id, retry_at_ms])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Makes every undelivered notice and transfer due at `now_ms` (after the callback or
    /// a peer came back up).
    pub fn retry_all_now(&mut self, now_ms: i64) -> Result<(), LedgerError> {
        self.conn.execute(
            "UPDATE outbox SET due_ms = ?1 WHERE delivered_at IS NULL AND hold = 0 AND due_ms > ?1",
            [now_ms],
        )?;
        self.conn.execute(
            "UPDATE forwards SET due_ms = ?1 WHERE delivered_at IS NULL AND due_ms > ?1",
            [now_ms],
        )?;
        Ok(())
    }

    /// Up to `limit` credits due for forwarding, leaving out `skip` (in flight).
    pub fn due_forwards(
        &self,
        now_ms: i64,
        limit: usize,
        skip: &std::collections::HashSet<i64>,
    ) -> Result<Vec<ForwardRow>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, peer, body, attempts FROM forwards
             WHERE delivered_at IS NULL AND due_ms <= ?1 ORDER BY due_ms, id LIMIT ?2",
        )?;
        let want = i64::try_from(limit.saturating_add(skip.len())).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![now_ms, want], |r| {
            Ok(ForwardRow {
                id: r.get(0)?,
                peer: r.get(1)?,
                body: r.get(2)?,
                attempts: r.get(3)?,
            })
        })?;
        let mut out = Vec::new();
        for row in rows {
            let row = row?;
            if !skip.contains(&row.id) {
                out.push(row);
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Records a forwarding attempt: accepted, or due again at `retry_at_ms`.
    pub fn forward_attempted(
        &mut self,
        id: i64,
        accepted: bool,
        retry_at_ms: i64,
        now: Timestamp,
    ) -> Result<(), LedgerError> {
        if accepted {
            self.conn.execute(
                "UPDATE forwards SET delivered_at = ?2 WHERE id = ?1",
                params![id, now.to_string()],
            )?;
        } else {
            self.conn.execute(
                "UPDATE forwards SET attempts = attempts + 1, due_ms = ?2 WHERE id = ?1",
                params![id, retry_at_ms],
            )?;
        }
        Ok(())
    }

    /// Adds to a counter in `meta`.
    pub fn count(&self, key: &str, by: i64) -> Result<(), LedgerError> {
        bump_conn(&self.conn, key, by)?;
        Ok(())
    }

    /// The counts for `/sim/stats`.
    pub fn stats(&self) -> Result<LedgerStats, LedgerError> {
        let one = |sql: &str| -> Result<i64, rusqlite::Error> {
            self.conn.query_row(sql, [], |r| r.get(0))
        };
        let meta = |key: &str| -> Result<i64, rusqlite::Error> {
            Ok(self
                .conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()?
                .unwrap_or(0))
        };
        Ok(LedgerStats {
            accounts: one("SELECT COUNT(*) FROM accounts")?,
            executed: one("SELECT COUNT(*) FROM instructions WHERE status = 'executed'")?,
            rejected: one("SELECT COUNT(*) FROM instructions WHERE status = 'rejected'")?,
            closed_serials: one("SELECT COUNT(*) FROM closed_serials")?,
            lines: one("SELECT COUNT(*) FROM lines")?,
            notices: one("SELECT COUNT(*) FROM outbox")?,
            notices_delivered: one("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL")?,
            notices_pending: one("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")?,
            notice_attempts: meta("notice_attempts")?,
            notices_acknowledged: meta("notices_acknowledged")?,
            duplicate_notices_sent: meta("duplicate_notices_sent")?,
            forwards_delivered: one(
                "SELECT COUNT(*) FROM forwards WHERE delivered_at IS NOT NULL",
            )?,
            forwards_pending: one("SELECT COUNT(*) FROM forwards WHERE delivered_at IS NULL")?,
            loans: one("SELECT COUNT(*) FROM loans")?,
            loans_disbursed: one("SELECT COUNT(*) FROM loans WHERE status = 'disbursed'")?,
            loan_declines: one(
                "SELECT COUNT(*) FROM loan_applications WHERE decision = 'declined'",
            )?,
            starts: meta("starts")?,
            crashes_survived: meta("crashes")?,
        })
    }
}

/// The bank code `ins` leaves this bank for, if it does.
fn external_bank<'i>(bank: &str, ins: &'i WireInstruction) -> Option<&'i str> {
    ins.credit_bank.as_deref().filter(|b| *b != bank)
}

/// Whether `ins` can execute: the debit account's name, or the rejection reason.
fn decide(
    tx: &Transaction<'_>,
    bank: &str,
    ins: &WireInstruction,
    simulated_reject: bool,
) -> Result<Result<String, String>, LedgerError> {
    if simulated_reject {
        return Ok(Err(SIMULATED_REJECTION.to_owned()));
    }
    let Some(debit) = account(tx, &ins.debit_account)? else {
        return Ok(Err(format!(
            "账户不存在：付款账户 {} (debit account does not exist)",
            ins.debit_account
        )));
    };
    if debit.frozen {
        return Ok(Err(format!(
            "账户冻结：付款账户 {} 已冻结 (debit account frozen)",
            ins.debit_account
        )));
    }
    if debit.balance < ins.amount_fen {
        return Ok(Err(format!(
            "余额不足：付款账户 {} (insufficient balance)",
            ins.debit_account
        )));
    }
    if external_bank(bank, ins).is_none() {
        let Some(credit) = account(tx, &ins.credit_account)? else {
            return Ok(Err(format!(
                "账户不存在：收款账户 {} (credit account does not exist)",
                ins.credit_account
            )));
        };
        if credit.name != ins.credit_name {
            return Ok(Err(format!(
                "户名不符：收款账户 {} 的户名不是 {} (credit name does not match the account)",
                ins.credit_account, ins.credit_name
            )));
        }
    }
    Ok(Ok(debit.name))
}

/// Writes a notice to the outbox; (row id, notice id).
fn write_notice(
    tx: &Transaction<'_>,
    bank: &str,
    event: NoticeKind,
    plan: NoticePlan,
    now: Timestamp,
    hold: bool,
) -> Result<(i64, String), LedgerError> {
    let n = bump(tx, "notice_seq", 1)?;
    let notice_id = format!("N{bank}{n:012}");
    let body = NoticeBody {
        notice_id: notice_id.clone(),
        bank: bank.to_owned(),
        sent_at: now,
        event,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let delay = i64::try_from(plan.delay.as_millis()).unwrap_or(i64::MAX);
    let id = tx
        .prepare_cached(
            "INSERT INTO outbox (notice_id, body, due_ms, duplicate, hold)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        )?
        .query_row(
            params![
                notice_id,
                bytes,
                now.as_millisecond().saturating_add(delay),
                plan.duplicate,
                hold
            ],
            |r| r.get(0),
        )?;
    Ok((id, notice_id))
}

/// A fresh bank reference: bank code, value date, a 10-digit sequence.
pub(super) fn self_ref(
    tx: &Transaction<'_>,
    bank: &str,
    value_date: Date,
) -> Result<String, LedgerError> {
    let n = bump(tx, "ref_seq", 1)?;
    Ok(format!("{bank}{}{n:010}", value_date.strftime("%Y%m%d")))
}

/// The stored hash and result of `serial`, if decided.
fn stored(
    tx: &Transaction<'_>,
    serial: &str,
) -> Result<Option<(String, InstructionResult)>, LedgerError> {
    Ok(tx
        .prepare_cached(
            "SELECT hash, status, amount_fen, bank_ref, reason, value_date
             FROM instructions WHERE serial = ?1",
        )?
        .query_row([serial], |r| {
            let status: String = r.get(1)?;
            Ok((
                r.get::<_, String>(0)?,
                InstructionResult {
                    serial: serial.to_owned(),
                    status: WireStatus::from_code(&status).unwrap_or(WireStatus::Rejected),
                    amount_fen: Some(r.get(2)?),
                    bank_ref: r.get(3)?,
                    reason: r.get(4)?,
                    value_date: parse_date(r.get(5)?),
                },
            ))
        })
        .optional()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::protocol::StatementBody;
    use anju_domain::codes::SettlementBusinessType;
    use anju_domain::settlement::InstructionKind;
    use jiff::civil::date;

    const DAY: Date = date(2026, 11, 27);

    fn db() -> (tempfile::TempDir, BankDb) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = BankDb::open(&dir.path().join("bank.db"), "105").unwrap();
        db.mark_started().unwrap();
        for (no, name, bal) in [
            ("FUND", "衢州市住房公积金中心", 1_000_000),
            ("CARD1", "王伟", 0),
            ("UNIT1", "衢州宏远科技有限公司", 50_000),
        ] {
            db.open_account(
                &OpenAccount {
                    account: no.into(),
                    name: name.into(),
                    balance_fen: bal,
                    frozen: None,
                },
                DAY,
            )
            .unwrap();
        }
        (dir, db)
    }

    fn pay(serial: &str, to: &str, name: &str, amount: i64) -> WireInstruction {
        WireInstruction {
            serial: serial.into(),
            kind: InstructionKind::Payment,
            business_type: SettlementBusinessType::PartialWithdrawal,
            debit_account: "FUND".into(),
            credit_account: to.into(),
            credit_name: name.into(),
            credit_bank: None,
            amount_fen: amount,
            memo: "提取".into(),
        }
    }

    fn run(db: &mut BankDb, batch: &[WireInstruction]) -> Executed {
        let peers = BTreeMap::new();
        let ctx = ExecContext {
            value_date: DAY,
            now: Timestamp::now(),
            peers: &peers,
            hold_notices: false,
        };
        db.execute(batch, &[], &ctx, &mut || false).unwrap()
    }

    #[test]
    fn executes_once_and_refuses_reused_and_closed_serials() {
        let (_d, mut db) = db();
        let a = pay("S1", "CARD1", "王伟", 1_000);
        let r = run(&mut db, std::slice::from_ref(&a));
        assert_eq!(r.results[0].status, WireStatus::Executed);
        assert_eq!(r.executed, 1);
        let first_ref = r.results[0].bank_ref.clone().unwrap();
        assert!(first_ref.starts_with("10520261127"), "{first_ref}");
        // Same content: the stored result, nothing moves.
        let again = run(&mut db, std::slice::from_ref(&a));
        assert_eq!(again.results[0], r.results[0]);
        assert_eq!(again.executed, 0);
        assert!(again.notices.is_empty());
        // Different content under the same serial.
        let other = pay("S1", "CARD1", "王伟", 2_000);
        let reused = run(&mut db, &[other]);
        assert_eq!(reused.results[0].status, WireStatus::Rejected);
        assert_eq!(reused.results[0].reason.as_deref(), Some(SERIAL_REUSED));
        assert_eq!(db.status("S1", Timestamp::now()).unwrap(), r.results[0]);
        assert_eq!(db.balance("FUND").unwrap(), Some(999_000));
        assert_eq!(db.balance("CARD1").unwrap(), Some(1_000));
        // A status query of an unknown serial closes it.
        let q = db.status("S2", Timestamp::now()).unwrap();
        assert_eq!(q.reason.as_deref(), Some(NEVER_RECEIVED));
        let late = run(&mut db, &[pay("S2", "CARD1", "王伟", 5)]);
        assert_eq!(late.results[0].reason.as_deref(), Some(CLOSED_SERIAL));
        assert_eq!(db.balance("CARD1").unwrap(), Some(1_000));
        assert_eq!(
            db.status("S2", Timestamp::now()).unwrap().reason.as_deref(),
            Some(NEVER_RECEIVED)
        );
    }

    #[test]
    fn rejections_name_the_reason() {
        let (_d, mut db) = db();
        let mut from_unknown = pay("R1", "CARD1", "王伟", 1);
        from_unknown.debit_account = "NOPE".into();
        let mut frozen = pay("R5", "CARD1", "王伟", 1);
        frozen.debit_account = "UNIT1".into();
        db.open_account(
            &OpenAccount {
                account: "UNIT1".into(),
                name: "衢州宏远科技有限公司".into(),
                balance_fen: 0,
                frozen: Some(true),
            },
            DAY,
        )
        .unwrap();
        let r = run(
            &mut db,
            &[
                from_unknown,
                pay("R2", "CARD1", "王伟", 2_000_000),
                pay("R3", "CARD1", "王 伟", 1),
                pay("R4", "NOCARD", "王伟", 1),
                frozen,
            ],
        );
        let reasons: Vec<String> = r
            .results
            .iter()
            .map(|x| x.reason.clone().unwrap_or_default())
            .collect();
        assert!(reasons[0].contains("账户不存在"), "{reasons:?}");
        assert!(reasons[1].contains("余额不足"), "{reasons:?}");
        assert!(reasons[2].contains("户名不符"), "{reasons:?}");
        assert!(reasons[3].contains("账户不存在"), "{reasons:?}");
        assert!(reasons[4].contains("冻结"), "{reasons:?}");
        assert_eq!(r.notices.len(), 5, "rejections are notified too");
        assert_eq!(db.balance("FUND").unwrap(), Some(1_000_000));
        let s = db.stats().unwrap();
        assert_eq!((s.executed, s.rejected), (0, 5));
    }

    #[test]
    fn external_credits_leave_or_go_to_a_peer() {
        let (_d, mut db) = db();
        let mut ext = pay("X1", "CARD-OTHER", "李芳", 300);
        ext.credit_bank = Some("102".into());
        let mut fwd = pay("X2", "CARD-PEER", "李芳", 400);
        fwd.credit_bank = Some("103".into());
        let peers = BTreeMap::from([("103".to_owned(), "http://127.0.0.1:1".to_owned())]);
        let ctx = ExecContext {
            value_date: DAY,
            now: Timestamp::now(),
            peers: &peers,
            hold_notices: false,
        };
        let r = db.execute(&[ext, fwd], &[], &ctx, &mut || false).unwrap();
        assert!(r.results.iter().all(|x| x.status == WireStatus::Executed));
        assert_eq!(db.balance("FUND").unwrap(), Some(999_300));
        let due = db.due_forwards(i64::MAX, 10, &Default::default()).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].peer, "103");
        let c: CreditIn = serde_json::from_slice(&due[0].body).unwrap();
        assert_eq!(c.account, "CARD-PEER");
        assert_eq!(c.counterparty_name, "衢州市住房公积金中心");
        db.forward_attempted(due[0].id, true, 0, Timestamp::now())
            .unwrap();
        assert!(
            db.due_forwards(i64::MAX, 10, &Default::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn credits_are_booked_once_per_key_with_a_notice() {
        let (_d, mut db) = db();
        let c = CreditIn {
            account: "FUND".into(),
            amount_fen: 5_000,
            counterparty_account: "UNIT1-OTHER".into(),
            counterparty_name: "某单位".into(),
            memo: "汇缴".into(),
            credit_id: Some("k1".into()),
        };
        let a = db
            .credit(&c, DAY, NoticePlan::default(), Timestamp::now())
            .unwrap();
        let b = db
            .credit(&c, DAY, NoticePlan::default(), Timestamp::now())
            .unwrap();
        assert!(!a.duplicate && b.duplicate);
        assert_eq!(a.bank_ref, b.bank_ref);
        assert_eq!(db.balance("FUND").unwrap(), Some(1_005_000));
        let mut unknown = c.clone();
        unknown.account = "NOPE".into();
        unknown.credit_id = None;
        assert!(matches!(
            db.credit(&unknown, DAY, NoticePlan::default(), Timestamp::now()),
            Err(LedgerError::NotFound(_))
        ));
        let due = db.due_notices(i64::MAX, 10, &Default::default()).unwrap();
        assert_eq!(due.len(), 1);
        let n: NoticeBody = serde_json::from_slice(&due[0].body).unwrap();
        assert!(matches!(n.event, NoticeKind::Credit(_)));
        db.notice_attempted(due[0].id, false, false, i64::MAX - 1, Timestamp::now())
            .unwrap();
        assert!(
            db.due_notices(0, 10, &Default::default())
                .unwrap()
                .is_empty()
        );
        db.notice_attempted(due[0].id, true, false, 0, Timestamp::now())
            .unwrap();
        let s = db.stats().unwrap();
        assert_eq!(
            (
                s.notices_delivered,
                s.notice_attempts,
                s.notices_acknowledged
            ),
            (1, 2, 1)
        );
    }

    #[test]
    fn statements_add_up_across_days_and_top_ups() {
        let (_d, mut db) = db();
        run(&mut db, &[pay("D1", "CARD1", "王伟", 100)]);
        let next = date(2026, 11, 28);
        let peers = BTreeMap::new();
        let ctx = ExecContext {
            value_date: next,
            now: Timestamp::now(),
            peers: &peers,
            hold_notices: false,
        };
        db.execute(&[pay("D2", "CARD1", "王伟", 250)], &[], &ctx, &mut || {
            false
        })
        .unwrap();
        db.open_account(
            &OpenAccount {
                account: "FUND".into(),
                name: "衢州市住房公积金中心".into(),
                balance_fen: 10,
                frozen: None,
            },
            next,
        )
        .unwrap();
        let s: StatementBody =
            serde_json::from_slice(&db.statement_json("FUND", next).unwrap().unwrap()).unwrap();
        assert_eq!(s.opening_fen, 999_900);
        assert_eq!(s.lines.len(), 2);
        assert_eq!(s.lines[0].amount_fen, -250);
        assert_eq!(s.lines[0].serial.as_deref(), Some("D2"));
        assert_eq!(s.lines[1].amount_fen, 10);
        assert_eq!(s.closing_fen, 999_660);
        assert_eq!(db.balance("FUND").unwrap(), Some(999_660));
        s.to_port("FUND", next).unwrap();
        let first: StatementBody =
            serde_json::from_slice(&db.statement_json("FUND", DAY).unwrap().unwrap()).unwrap();
        assert_eq!((first.opening_fen, first.closing_fen), (1_000_000, 999_900));
        let empty: StatementBody = serde_json::from_slice(
            &db.statement_json("CARD1", date(2026, 12, 1))
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert!(empty.lines.is_empty());
        assert_eq!(empty.opening_fen, 350);
        assert!(db.statement_json("NOPE", DAY).unwrap().is_none());
    }

    #[test]
    fn the_stop_hook_commits_what_was_done() {
        let (dir, mut db) = db();
        let batch: Vec<_> = (0..5)
            .map(|i| pay(&format!("C{i}"), "CARD1", "王伟", 1))
            .collect();
        let peers = BTreeMap::new();
        let ctx = ExecContext {
            value_date: DAY,
            now: Timestamp::now(),
            peers: &peers,
            hold_notices: true,
        };
        let mut n = 0;
        let r = db
            .execute(&batch, &[], &ctx, &mut || {
                n += 1;
                n == 2
            })
            .unwrap();
        assert!(r.stopped);
        assert_eq!(r.results.len(), 2);
        drop(db);
        // A new process on the same file: a crash is counted, held notices released.
        let mut db = BankDb::open(&dir.path().join("bank.db"), "105").unwrap();
        let (starts, crashes) = db.mark_started().unwrap();
        assert_eq!((starts, crashes), (2, 1));
        assert_eq!(db.balance("CARD1").unwrap(), Some(2));
        assert_eq!(
            db.due_notices(i64::MAX, 10, &Default::default())
                .unwrap()
                .len(),
            2
        );
        db.mark_stopped().unwrap();
        let (_, crashes) = db.mark_started().unwrap();
        assert_eq!(crashes, 1, "a clean stop is not a crash");
    }

    #[test]
    fn accounts_conflict_on_another_name() {
        let (_d, mut db) = db();
        let e = db
            .open_account(
                &OpenAccount {
                    account: "CARD1".into(),
                    name: "李芳".into(),
                    balance_fen: 0,
                    frozen: None,
                },
                DAY,
            )
            .unwrap_err();
        assert!(matches!(e, LedgerError::Conflict(_)), "{e}");
        let seeded = db
            .seed_account(
                &OpenAccount {
                    account: "CARD1".into(),
                    name: "王伟".into(),
                    balance_fen: 99,
                    frozen: None,
                },
                DAY,
            )
            .unwrap();
        assert!(!seeded, "seeding leaves existing accounts alone");
        assert_eq!(db.accounts().unwrap().len(), 3);
    }
}
