//! A pooled connection with its statement cache, and the transaction that holds one: the
//! [`StoreTx`] methods, mirroring the SQLite store method by method.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};

use rustc_hash::{FxHashMap, FxHashSet};
use std::io::Write;
use std::time::{Duration, Instant};

use anju_domain::codes::PersonalAccountStatus;
use anju_domain::collection::YearMonth;
use anju_domain::ledger::{AccountNo, AccountState, ChainHead, SealedEntry};
use anju_store::access::{
    ApprovalRow, AttemptCounts, AuditFilter, AuditRow, NotificationPrefRow, NotificationRow,
    OtpChallengeRow, PhoneBindingRow, PolicyVersionRow, ServicePointRow, SessionRow, StaffRow,
    UnitClerkRow,
};
use anju_store::collection::{
    BillLineRow, BillRow, FullPayment, InterestRunRow, LegRow, RawBill, RawBillLine,
    RawInterestRun, RawLeg as RawAccountLeg, RawReceipt, RawReminder, ReceiptRow, ReminderRow,
    parse_month,
};
use anju_store::loan::{DayCloseRow, InstallmentRow, LoanDocumentRow, LoanEventRow, LoanRow};
use anju_store::raw::{
    RawEntry, RawEvent, RawLeg, RawMember, RawUnit, assemble, parse_date, parse_digest,
};
use anju_store::registry::{EventRow, MemberRow, UnitRow};
use anju_store::settlement::{
    BankRow, CardRow, IncomingRow, InstructionRow, NoticeRefusalRow, NoticeRow, ReconItemRow,
    ReconRunRow, UnitBankAccountRow,
};
use anju_store::sharing::{
    ApplicationRow, FactRow, LookupOutcome, LookupRow, PartyRow, RawApplication,
};
use anju_store::withdrawal::{PayeeRow, WithdrawalEventRow, WithdrawalRow};
use anju_store::{Backend, CentreRow, LedgerCounts, StoreError, StoreTx};
use jiff::civil::Date;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

use crate::copy::CopyRows;
use crate::rows::{
    account_columns, account_from_row, application_columns, bill_columns, bill_line_columns,
    bill_lines_from, entry_columns, entry_from_row, fact_columns, leg_columns, leg_from_row,
    lookup_columns, member_columns, member_months, receipt_columns, unit_columns,
};
use crate::{PostgresStore, pg_err};

mod access;
mod batch;
mod loan;
mod settlement;
mod withdrawal;

/// Above this many accounts, `load_accounts` scans the centre instead of looking them up
/// (as the SQLite store does).
const SCAN_THRESHOLD: usize = 20_000;
/// Keys per `= ANY($2)` lookup.
const ANY_CHUNK: usize = 10_000;
/// Bill lines per `INSERT … SELECT FROM unnest(…)` statement.
const LINE_CHUNK: usize = 5_000;
/// Past this many rows, writes go through binary COPY instead of one statement per row.
const BULK_ROWS: usize = 64;
/// Bytes of COPY data encoded before they are handed to the connection.
const COPY_CHUNK: usize = 256 * 1024;
/// `work_mem` for the statements that join or group a whole centre's accounts, lines or
/// members at once (the server's default, 4 MB, spills them to temporary files).
const BULK_WORK_MEM: &str = "64MB";

type Params<'p> = [&'p (dyn ToSql + Sync)];

fn database(message: String) -> StoreError {
    StoreError::Database {
        backend: Backend::Postgres,
        message,
    }
}

/// Records that the server aborted the transaction and maps the error.
fn track<T>(failed: &mut bool, r: Result<T, postgres::Error>) -> Result<T, StoreError> {
    r.map_err(|e| {
        *failed = true;
        pg_err(&e)
    })
}

/// Maps a column that does not convert (a client-side error: the transaction is fine).
fn column<T>(r: Result<T, postgres::Error>) -> Result<T, StoreError> {
    r.map_err(|e| pg_err(&e))
}

/// The error behind a failed write to a COPY stream.
fn copy_write_err(e: std::io::Error) -> StoreError {
    let text = e.to_string();
    match e.into_inner().map(|b| b.downcast::<postgres::Error>()) {
        Some(Ok(pe)) => pg_err(&pe),
        _ => database(format!("COPY: {text}")),
    }
}

/// Statements slower than this are logged (at debug level, target `anju_store_postgres`).
const SLOW: Duration = Duration::from_millis(20);

/// Logs a statement that took [`SLOW`] or longer, by its first words.
fn slow(sql: &str, t0: Instant) {
    let took = t0.elapsed();
    if took >= SLOW {
        let words: Vec<&str> = sql.split_whitespace().take(8).collect();
        tracing::debug!(ms = took.as_millis() as u64, sql = %words.join(" "), "slow statement");
    }
}

/// ISO text of a date, bound as `$n::text::date`.
fn date_str(d: Date) -> String {
    d.to_string()
}

/// `save_accounts` found no row for `no` (worded as the SQLite store words it).
fn missing_account(centre: &str, no: &AccountNo) -> StoreError {
    StoreError::NotFound {
        what: format!("account {no} in centre {centre}"),
    }
}

fn leg_no(i: usize) -> Result<i32, StoreError> {
    i32::try_from(i).map_err(|_| database(format!("leg number {i} does not fit an INTEGER")))
}

/// Bill lines as one array per `bill_lines` column, for `unnest`.
struct LineArrays<'a> {
    bill_nos: Vec<&'a str>,
    line_nos: Vec<i64>,
    accounts: Vec<&'a str>,
    names: Vec<&'a str>,
    months: Vec<String>,
    bases: Vec<i64>,
    unit_fens: Vec<i64>,
    member_fens: Vec<i64>,
    notices: Vec<&'a str>,
    paid: Vec<Option<&'a str>>,
}

impl<'a> LineArrays<'a> {
    fn of(lines: &'a [BillLineRow]) -> LineArrays<'a> {
        LineArrays {
            bill_nos: lines.iter().map(|l| l.bill_no.as_str()).collect(),
            line_nos: lines.iter().map(|l| l.line_no).collect(),
            accounts: lines.iter().map(|l| l.account_no.as_str()).collect(),
            names: lines.iter().map(|l| l.name.as_str()).collect(),
            months: lines.iter().map(|l| format!("{}", l.month)).collect(),
            bases: lines.iter().map(|l| l.base.fen()).collect(),
            unit_fens: lines.iter().map(|l| l.unit_share.fen()).collect(),
            member_fens: lines.iter().map(|l| l.member_share.fen()).collect(),
            notices: lines.iter().map(|l| l.notice.as_str()).collect(),
            paid: lines.iter().map(|l| l.paid_entry.as_deref()).collect(),
        }
    }
}

/// Refuses lines that repeat a (bill, line number) before anything is written, worded as
/// the unique violation would be (and as SQLite words it), so the transaction stays usable.
fn check_line_nos<L: Borrow<BillLineRow>>(lines: &[L]) -> Result<(), StoreError> {
    fn key<L: Borrow<BillLineRow>>(l: &L) -> (&str, i64) {
        let l = l.borrow();
        (l.bill_no.as_str(), l.line_no)
    }
    let ordered = lines.windows(2).all(|w| key(&w[0]) < key(&w[1]));
    if ordered {
        return Ok(());
    }
    let mut seen = HashSet::with_capacity(lines.len());
    if lines.iter().all(|l| seen.insert(key(l))) {
        return Ok(());
    }
    Err(StoreError::Conflict {
        what: "UNIQUE constraint failed: bill_lines.centre_code, bill_lines.bill_no, \
               bill_lines.line_no"
            .to_owned(),
    })
}

/// The `Conflict` of a look-up whose (application, seq) is taken (worded as SQLite's).
fn lookup_conflict(centre: &str, l: &LookupRow) -> StoreError {
    StoreError::Conflict {
        what: format!(
            "look-up {} of application {} in centre {centre}",
            l.seq, l.application_no
        ),
    }
}

/// The `Conflict` of a fact whose key is taken (worded as SQLite's).
fn fact_conflict(centre: &str, f: &FactRow) -> StoreError {
    StoreError::Conflict {
        what: format!(
            "fact {}/{}/{:?} of {} for application {} in centre {centre}",
            f.department, f.query, f.param, f.subject_id, f.application_no
        ),
    }
}

/// A look-up's key.
type LookupKey<'a> = (&'a str, i64);

fn lookup_key(l: &LookupRow) -> LookupKey<'_> {
    (l.application_no.as_str(), l.seq)
}

/// A cached fact's key (its primary key without the centre).
type FactKey<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);

fn fact_key(f: &FactRow) -> FactKey<'_> {
    (
        f.application_no.as_str(),
        f.subject_id.as_str(),
        f.department.as_str(),
        f.query.as_str(),
        f.param.as_str(),
    )
}

/// Whether no two of `items` have the same key.
fn distinct_keys<'a, T, K: Eq + std::hash::Hash>(items: &'a [T], key: impl Fn(&'a T) -> K) -> bool {
    let mut seen = HashSet::with_capacity(items.len());
    items.iter().all(|i| seen.insert(key(i)))
}

/// The first of `items` that a loop inserting them one by one would fail on: its key is
/// among `taken` or repeats an earlier item's.
fn first_clash<'a, T, K: Eq + std::hash::Hash>(
    items: &'a [T],
    key: impl Fn(&'a T) -> K,
    taken: &HashSet<K>,
) -> Option<&'a T> {
    let mut seen = HashSet::with_capacity(items.len());
    items
        .iter()
        .find(|i| taken.contains(&key(i)) || !seen.insert(key(i)))
}

/// A pooled connection.
pub(crate) struct PgConn {
    pub(crate) client: Client,
    stmts: HashMap<&'static str, Statement>,
    /// The open transaction hit a server error, so PostgreSQL has aborted it.
    failed: bool,
    /// When the statement cache was last emptied, and how long until the next time.
    prepared_since: Instant,
    refresh_after: std::time::Duration,
}

/// The first interval after which a connection's prepared statements are dropped and
/// prepared again; it doubles each time up to [`MAX_REFRESH`].
const FIRST_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);
/// The longest a connection keeps its prepared statements.
const MAX_REFRESH: std::time::Duration = std::time::Duration::from_secs(600);

impl PgConn {
    pub(crate) fn new(client: Client) -> PgConn {
        PgConn {
            client,
            stmts: HashMap::new(),
            failed: false,
            prepared_since: Instant::now(),
            refresh_after: FIRST_REFRESH,
        }
    }

    /// Between transactions: drops the cached statements once they are old enough, so
    /// they are planned again against the tables as they are now. PostgreSQL keeps a
    /// prepared statement's generic plan, chosen from the table sizes when it was first
    /// planned; on a young database whose tables were nearly empty then, such a plan
    /// may find a row by the centre code alone and read the whole centre on every call
    /// as the tables grow (until an `ANALYZE` invalidates it — autovacuum does, but only
    /// after its naptime and thresholds). Re-preparing on a doubling interval (1 s, 2 s,
    /// 4 s … 10 min) costs one round trip per statement each time.
    pub(crate) fn refresh_if_due(&mut self) {
        if self.prepared_since.elapsed() >= self.refresh_after {
            self.stmts.clear();
            self.prepared_since = Instant::now();
            self.refresh_after = (self.refresh_after * 2).min(MAX_REFRESH);
        }
    }

    /// The prepared statement for `sql`, prepared on first use.
    fn stmt(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = track(&mut self.failed, self.client.prepare(sql))?;
        self.stmts.insert(sql, s.clone());
        Ok(s)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let t0 = Instant::now();
        let r = track(&mut self.failed, self.client.batch_execute(sql));
        slow(sql, t0);
        r
    }

    fn execute(&mut self, sql: &'static str, params: &Params<'_>) -> Result<u64, StoreError> {
        let st = self.stmt(sql)?;
        let t0 = Instant::now();
        let r = track(&mut self.failed, self.client.execute(&st, params));
        slow(sql, t0);
        r
    }

    fn query(&mut self, sql: &'static str, params: &Params<'_>) -> Result<Vec<Row>, StoreError> {
        let st = self.stmt(sql)?;
        let t0 = Instant::now();
        let r = track(&mut self.failed, self.client.query(&st, params));
        slow(sql, t0);
        r
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, StoreError> {
        let st = self.stmt(sql)?;
        track(&mut self.failed, self.client.query_opt(&st, params))
    }

    fn query_one_i64(&mut self, sql: &'static str, params: &Params<'_>) -> Result<i64, StoreError> {
        let st = self.stmt(sql)?;
        let row = track(&mut self.failed, self.client.query_one(&st, params))?;
        column(row.try_get(0))
    }

    /// Streams the rows of a query into `f` without holding them all.
    fn for_each(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
        mut f: impl FnMut(&Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let st = self.stmt(sql)?;
        let t0 = Instant::now();
        let mut rows = track(
            &mut self.failed,
            self.client.query_raw(&st, params.iter().copied()),
        )?;
        while let Some(row) = track(&mut self.failed, rows.next())? {
            f(&row)?;
        }
        slow(sql, t0);
        Ok(())
    }

    /// Streams `items` into `COPY … FROM STDIN (FORMAT binary)`; returns the rows copied.
    fn copy_in<T>(
        &mut self,
        sql: &str,
        items: &[T],
        mut encode: impl FnMut(&mut CopyRows, &T),
    ) -> Result<u64, StoreError> {
        let t0 = Instant::now();
        let mut writer = track(&mut self.failed, self.client.copy_in(sql))?;
        // Any early return drops the writer, which aborts the COPY and so the transaction.
        self.failed = true;
        let mut rows = CopyRows::new(COPY_CHUNK + 4096);
        for item in items {
            encode(&mut rows, item);
            if rows.len() >= COPY_CHUNK {
                writer.write_all(rows.bytes()).map_err(copy_write_err)?;
                rows.clear();
            }
        }
        rows.finish()
            .map_err(|n| database(format!("COPY: a value of {n} bytes is too long")))?;
        writer.write_all(rows.bytes()).map_err(copy_write_err)?;
        let n = writer.finish().map_err(|e| pg_err(&e))?;
        self.failed = false;
        slow(sql, t0);
        Ok(n)
    }

    /// Runs `f` with `work_mem` at [`BULK_WORK_MEM`], so a statement that joins or groups
    /// a whole centre's rows hashes them in memory instead of in temporary files. Only
    /// inside [`PgConn::atomic`]: the setting is local to the transaction and is put back
    /// when `f` succeeds; when it fails, rolling back to the savepoint puts it back.
    fn with_work_mem<T>(
        &mut self,
        f: impl FnOnce(&mut PgConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let st =
            self.stmt("SELECT current_setting('work_mem'), set_config('work_mem', $1, true)")?;
        let row = track(
            &mut self.failed,
            self.client.query_one(&st, &[&BULK_WORK_MEM]),
        )?;
        let old: String = column(row.try_get(0))?;
        let out = f(self)?;
        let st = self.stmt("SELECT set_config('work_mem', $1, true)")?;
        track(&mut self.failed, self.client.query_one(&st, &[&old]))?;
        Ok(out)
    }

    /// Runs `f` under a savepoint: if it fails, its writes are undone and the transaction
    /// stays usable (PostgreSQL otherwise aborts a transaction on its first error).
    fn atomic<T>(
        &mut self,
        f: impl FnOnce(&mut PgConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.batch("SAVEPOINT anju_op")?;
        match f(self) {
            Ok(v) => {
                self.batch("RELEASE SAVEPOINT anju_op")?;
                Ok(v)
            }
            Err(e) => {
                self.failed = self
                    .client
                    .batch_execute("ROLLBACK TO SAVEPOINT anju_op; RELEASE SAVEPOINT anju_op")
                    .is_err();
                Err(e)
            }
        }
    }

    // ---- centres -------------------------------------------------------------------

    fn insert_centre(&mut self, c: &CentreRow) -> Result<(), StoreError> {
        let business_date = date_str(c.business_date);
        let hash = c.head.hash.to_hex();
        self.atomic(|s| {
            s.execute(
                "INSERT INTO centres (centre_code, name, business_date, chain_seq, chain_hash,
                    created_at_us)
                 VALUES ($1, $2, $3::text::date, $4, $5, $6)",
                &[
                    &c.code,
                    &c.name,
                    &business_date,
                    &c.head.seq,
                    &hash,
                    &c.created_at_us,
                ],
            )
            .map(drop)
        })
    }

    fn centre(&mut self, code: &str) -> Result<Option<CentreRow>, StoreError> {
        self.centre_row(code, false)
    }

    fn centre_row(
        &mut self,
        code: &str,
        for_update: bool,
    ) -> Result<Option<CentreRow>, StoreError> {
        let row = self.query_opt(
            if for_update {
                "SELECT centre_code, name, business_date::text, chain_seq, chain_hash, created_at_us
                 FROM centres WHERE centre_code = $1 FOR UPDATE"
            } else {
                "SELECT centre_code, name, business_date::text, chain_seq, chain_hash, created_at_us
                 FROM centres WHERE centre_code = $1"
            },
            &[&code],
        )?;
        let Some(r) = row else { return Ok(None) };
        let fields = (|| -> Result<(String, String, String, i64, String, i64), postgres::Error> {
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get(5)?,
            ))
        })()
        .map_err(|e| StoreError::Corrupt {
            what: format!("centres row: {e}"),
        })?;
        let (code, name, bd, seq, hash, created) = fields;
        Ok(Some(CentreRow {
            code,
            name,
            business_date: parse_date("centres.business_date", &bd)?,
            head: ChainHead {
                seq,
                hash: parse_digest("centres.chain_hash", &hash)?,
            },
            created_at_us: created,
        }))
    }

    fn centre_codes(&mut self) -> Result<Vec<String>, StoreError> {
        let rows = self.query("SELECT centre_code FROM centres", &[])?;
        let mut codes = rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| StoreError::Corrupt {
                what: format!("centres row: {e}"),
            })?;
        // Sorted here, byte-wise like SQLite, whatever the database's collation.
        codes.sort();
        Ok(codes)
    }

    fn lock_centre(&mut self, centre: &str) -> Result<CentreRow, StoreError> {
        self.centre_row(centre, true)?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("centre {centre}"),
            })
    }

    fn set_chain_head(&mut self, centre: &str, head: ChainHead) -> Result<(), StoreError> {
        self.execute(
            "UPDATE centres SET chain_seq = $2, chain_hash = $3 WHERE centre_code = $1",
            &[&centre, &head.seq, &head.hash.to_hex()],
        )?;
        Ok(())
    }

    fn set_business_date(&mut self, centre: &str, date: Date) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE centres SET business_date = $2::text::date WHERE centre_code = $1",
            &[&centre, &date_str(date)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: format!("centre {centre}"),
            });
        }
        Ok(())
    }

    // ---- accounts ------------------------------------------------------------------

    fn insert_accounts(
        &mut self,
        centre: &str,
        accounts: &[AccountState],
    ) -> Result<(), StoreError> {
        if accounts.len() <= BULK_ROWS {
            return self.atomic(|s| {
                for a in accounts {
                    s.insert_account(centre, a).map_err(|e| match e {
                        StoreError::Conflict { .. } => StoreError::Conflict {
                            what: format!("account {} in centre {centre}", a.no),
                        },
                        other => other,
                    })?;
                }
                Ok(())
            });
        }
        let copied = self.atomic(|s| {
            s.copy_in(
                "COPY ledger_accounts (centre_code, account_no, chart_code, parent_no,
                    normal_side, non_negative, opened_on, balance_fen, pending_out_fen,
                    pending_in_fen, accrual_fen_days, accrual_from, last_change, entry_count)
                 FROM STDIN (FORMAT binary)",
                accounts,
                |c, a| {
                    c.row(14);
                    c.text(centre);
                    c.text(a.no.as_str());
                    c.text(a.no.code());
                    c.opt_text(a.no.parent().as_ref().map(AccountNo::as_str));
                    c.text(a.normal.code());
                    c.boolean(a.non_negative);
                    c.date(a.opened_on);
                    c.bigint(a.balance.fen());
                    c.bigint(a.pending_out.fen());
                    c.bigint(a.pending_in.fen());
                    c.bigint(a.accrual);
                    c.date(a.accrual_from);
                    c.date(a.last_change);
                    c.bigint(a.entry_count);
                },
            )
        });
        match copied {
            Err(StoreError::Conflict { what }) => {
                // The COPY was undone; name the first account that clashes, as the
                // row-by-row path (and SQLite) would.
                let existing =
                    self.existing_accounts(centre, accounts.iter().map(|a| a.no.as_str()))?;
                let mut seen = HashSet::new();
                for a in accounts {
                    if existing.contains(a.no.as_str()) || !seen.insert(a.no.as_str()) {
                        return Err(StoreError::Conflict {
                            what: format!("account {} in centre {centre}", a.no),
                        });
                    }
                }
                Err(StoreError::Conflict { what })
            }
            other => other.map(drop),
        }
    }

    fn insert_account(&mut self, centre: &str, a: &AccountState) -> Result<(), StoreError> {
        let parent = a.no.parent().map(|p| p.as_str().to_owned());
        self.execute(
            "INSERT INTO ledger_accounts (centre_code, account_no, chart_code, parent_no,
                normal_side, non_negative, opened_on, balance_fen, pending_out_fen,
                pending_in_fen, accrual_fen_days, accrual_from, last_change, entry_count)
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::date, $8, $9, $10, $11, $12::text::date,
                $13::text::date, $14)",
            &[
                &centre,
                &a.no.as_str(),
                &a.no.code(),
                &parent,
                &a.normal.code(),
                &a.non_negative,
                &date_str(a.opened_on),
                &a.balance.fen(),
                &a.pending_out.fen(),
                &a.pending_in.fen(),
                &a.accrual,
                &date_str(a.accrual_from),
                &date_str(a.last_change),
                &a.entry_count,
            ],
        )?;
        Ok(())
    }

    /// Which of `nos` exist in the centre.
    fn existing_accounts<'a>(
        &mut self,
        centre: &str,
        nos: impl Iterator<Item = &'a str>,
    ) -> Result<HashSet<String>, StoreError> {
        let nos: Vec<&str> = nos.collect();
        let mut out = HashSet::new();
        for chunk in nos.chunks(ANY_CHUNK) {
            let rows = self.query(
                "SELECT account_no FROM ledger_accounts
                 WHERE centre_code = $1 AND account_no = ANY($2)",
                &[&centre, &chunk],
            )?;
            for r in rows {
                out.insert(column(r.try_get(0))?);
            }
        }
        Ok(out)
    }

    fn load_accounts(
        &mut self,
        centre: &str,
        nos: &[AccountNo],
    ) -> Result<Vec<AccountState>, StoreError> {
        if nos.is_empty() {
            return Ok(Vec::new());
        }
        if nos.len() > SCAN_THRESHOLD {
            let wanted: HashSet<&AccountNo> = nos.iter().collect();
            let mut all = self.scan_accounts(centre)?;
            all.retain(|a| wanted.contains(&a.no));
            return Ok(all);
        }
        let mut found: HashMap<AccountNo, AccountState> = HashMap::with_capacity(nos.len());
        let texts: Vec<&str> = nos.iter().map(AccountNo::as_str).collect();
        for chunk in texts.chunks(ANY_CHUNK) {
            self.for_each(
                concat!(
                    "SELECT ",
                    account_columns!(),
                    " FROM ledger_accounts WHERE centre_code = $1 AND account_no = ANY($2)"
                ),
                &[&centre, &chunk],
                |r| {
                    let a = account_from_row(r)?;
                    found.insert(a.no.clone(), a);
                    Ok(())
                },
            )?;
        }
        // In the order asked for, as the SQLite store returns them.
        Ok(nos.iter().filter_map(|no| found.get(no).cloned()).collect())
    }

    fn save_accounts(&mut self, centre: &str, accounts: &[AccountState]) -> Result<(), StoreError> {
        if accounts.is_empty() {
            return Ok(());
        }
        if accounts.len() <= BULK_ROWS {
            // No savepoint: this path can only fail on a missing account (not a server
            // error, the transaction stays usable; earlier rows stay updated, as in
            // SQLite) or a broken CHECK (which the domain rules out). Saves two round
            // trips on every online posting.
            for a in accounts {
                let n = self.execute(
                    "UPDATE ledger_accounts SET balance_fen = $3, pending_out_fen = $4,
                        pending_in_fen = $5, accrual_fen_days = $6,
                        accrual_from = $7::text::date, last_change = $8::text::date,
                        entry_count = $9
                     WHERE centre_code = $1 AND account_no = $2",
                    &[
                        &centre,
                        &a.no.as_str(),
                        &a.balance.fen(),
                        &a.pending_out.fen(),
                        &a.pending_in.fen(),
                        &a.accrual,
                        &date_str(a.accrual_from),
                        &date_str(a.last_change),
                        &a.entry_count,
                    ],
                )?;
                if n != 1 {
                    return Err(missing_account(centre, &a.no));
                }
            }
            return Ok(());
        }
        // One row per account; if an account appears twice its last figures win, as when
        // updating row by row.
        let strictly_sorted = accounts.windows(2).all(|w| w[0].no < w[1].no);
        let unique: Vec<&AccountState> = if strictly_sorted {
            accounts.iter().collect()
        } else {
            let mut seen = HashSet::with_capacity(accounts.len());
            let mut v: Vec<&AccountState> = accounts
                .iter()
                .rev()
                .filter(|a| seen.insert(&a.no))
                .collect();
            v.reverse();
            v
        };
        self.atomic(|s| {
            s.batch(
                "CREATE TEMP TABLE anju_stage_accounts (
                    account_no        TEXT    NOT NULL,
                    balance_fen       BIGINT  NOT NULL,
                    pending_out_fen   BIGINT  NOT NULL,
                    pending_in_fen    BIGINT  NOT NULL,
                    accrual_fen_days  BIGINT  NOT NULL,
                    accrual_from      DATE    NOT NULL,
                    last_change       DATE    NOT NULL,
                    entry_count       BIGINT  NOT NULL
                 ) ON COMMIT DROP",
            )?;
            s.copy_in(
                "COPY anju_stage_accounts (account_no, balance_fen, pending_out_fen,
                    pending_in_fen, accrual_fen_days, accrual_from, last_change, entry_count)
                 FROM STDIN (FORMAT binary)",
                &unique,
                |c, a| {
                    c.row(8);
                    c.text(a.no.as_str());
                    c.bigint(a.balance.fen());
                    c.bigint(a.pending_out.fen());
                    c.bigint(a.pending_in.fen());
                    c.bigint(a.accrual);
                    c.date(a.accrual_from);
                    c.date(a.last_change);
                    c.bigint(a.entry_count);
                },
            )?;
            // Not a cached statement: the staging table is new each time.
            let updated = s.with_work_mem(|s| {
                let t0 = Instant::now();
                let n = track(
                    &mut s.failed,
                    s.client.execute(
                        "UPDATE ledger_accounts AS a SET balance_fen = s.balance_fen,
                            pending_out_fen = s.pending_out_fen,
                            pending_in_fen = s.pending_in_fen,
                            accrual_fen_days = s.accrual_fen_days,
                            accrual_from = s.accrual_from, last_change = s.last_change,
                            entry_count = s.entry_count
                         FROM anju_stage_accounts AS s
                         WHERE a.centre_code = $1 AND a.account_no = s.account_no",
                        &[&centre],
                    ),
                );
                slow("UPDATE ledger_accounts FROM anju_stage_accounts", t0);
                n
            })?;
            s.batch("DROP TABLE anju_stage_accounts")?;
            if updated != unique.len() as u64 {
                // Name the first missing account, as the row-by-row path does.
                let existing = s.existing_accounts(centre, unique.iter().map(|a| a.no.as_str()))?;
                return Err(
                    match unique.iter().find(|a| !existing.contains(a.no.as_str())) {
                        Some(a) => missing_account(centre, &a.no),
                        None => StoreError::NotFound {
                            what: format!("accounts in centre {centre}"),
                        },
                    },
                );
            }
            Ok(())
        })
    }

    fn all_accounts(&mut self, centre: &str) -> Result<Vec<AccountState>, StoreError> {
        let mut out = self.scan_accounts(centre)?;
        // Sorted here, byte-wise like SQLite (and `AccountNo`'s order), whatever the
        // database's collation; sorting in the server could also spill to disk.
        out.sort_unstable_by(|a, b| a.no.cmp(&b.no));
        Ok(out)
    }

    /// Every account of the centre, in no particular order.
    fn scan_accounts(&mut self, centre: &str) -> Result<Vec<AccountState>, StoreError> {
        let mut out = Vec::new();
        self.for_each(
            concat!(
                "SELECT ",
                account_columns!(),
                " FROM ledger_accounts WHERE centre_code = $1"
            ),
            &[&centre],
            |r| {
                out.push(account_from_row(r)?);
                Ok(())
            },
        )?;
        Ok(out)
    }

    // ---- journal -------------------------------------------------------------------

    /// Entries with the given sequence numbers (sorted, distinct), with their legs.
    fn entries_by_seqs(
        &mut self,
        centre: &str,
        seqs: &[i64],
    ) -> Result<Vec<SealedEntry>, StoreError> {
        let mut entries: Vec<RawEntry> = Vec::with_capacity(seqs.len());
        let mut legs: Vec<RawLeg> = Vec::new();
        for chunk in seqs.chunks(ANY_CHUNK) {
            self.for_each(
                concat!(
                    "SELECT ",
                    entry_columns!(),
                    " FROM journal_entries WHERE centre_code = $1 AND seq = ANY($2) ORDER BY seq"
                ),
                &[&centre, &chunk],
                |r| {
                    entries.push(entry_from_row(r)?);
                    Ok(())
                },
            )?;
            self.for_each(
                concat!(
                    "SELECT ",
                    leg_columns!(),
                    " FROM journal_legs WHERE centre_code = $1 AND seq = ANY($2)
                      ORDER BY seq, leg_no"
                ),
                &[&centre, &chunk],
                |r| {
                    legs.push(leg_from_row(r)?);
                    Ok(())
                },
            )?;
        }
        assemble(entries, legs)
    }

    /// Entries with `after < seq ≤ last`, with their legs, in order.
    fn entries_in_range(
        &mut self,
        centre: &str,
        after: i64,
        last: i64,
    ) -> Result<Vec<SealedEntry>, StoreError> {
        let mut entries: Vec<RawEntry> = Vec::new();
        self.for_each(
            concat!(
                "SELECT ",
                entry_columns!(),
                " FROM journal_entries WHERE centre_code = $1 AND seq > $2 AND seq <= $3
                  ORDER BY seq"
            ),
            &[&centre, &after, &last],
            |r| {
                entries.push(entry_from_row(r)?);
                Ok(())
            },
        )?;
        let mut legs: Vec<RawLeg> = Vec::new();
        self.for_each(
            concat!(
                "SELECT ",
                leg_columns!(),
                " FROM journal_legs WHERE centre_code = $1 AND seq > $2 AND seq <= $3
                  ORDER BY seq, leg_no"
            ),
            &[&centre, &after, &last],
            |r| {
                legs.push(leg_from_row(r)?);
                Ok(())
            },
        )?;
        assemble(entries, legs)
    }

    fn entries_by_keys(
        &mut self,
        centre: &str,
        keys: &[String],
    ) -> Result<Vec<SealedEntry>, StoreError> {
        let mut seqs = Vec::new();
        for chunk in keys.chunks(ANY_CHUNK) {
            for r in self.query(
                "SELECT seq FROM journal_entries WHERE centre_code = $1 AND idempotency_key = ANY($2)",
                &[&centre, &chunk],
            )? {
                seqs.push(column(r.try_get::<_, i64>(0))?);
            }
        }
        seqs.sort_unstable();
        seqs.dedup();
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        self.entries_by_seqs(centre, &seqs)
    }

    fn referring_entries(
        &mut self,
        centre: &str,
        seqs: &[i64],
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut wanted = seqs.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let mut by_ref: HashMap<i64, Vec<i64>> = HashMap::new();
        for chunk in wanted.chunks(ANY_CHUNK) {
            for r in self.query(
                "SELECT ref_seq, seq FROM journal_entries
                 WHERE centre_code = $1 AND ref_seq = ANY($2) ORDER BY seq",
                &[&centre, &chunk],
            )? {
                let (rs, s): (i64, i64) = column((|| Ok((r.try_get(0)?, r.try_get(1)?)))())?;
                by_ref.entry(rs).or_default().push(s);
            }
        }
        // For each asked-for seq in turn, its referrers in order, as SQLite returns them.
        let mut out = Vec::new();
        for &r in seqs {
            if let Some(found) = by_ref.get(&r) {
                out.extend(found.iter().map(|&s| (r, s)));
            }
        }
        Ok(out)
    }

    fn insert_entries(&mut self, centre: &str, entries: &[SealedEntry]) -> Result<(), StoreError> {
        let legs: usize = entries.iter().map(|s| s.entry.legs.len()).sum();
        if entries.len() + legs <= BULK_ROWS {
            return self.atomic(|s| {
                for e in entries {
                    s.insert_entry(centre, e)?;
                }
                Ok(())
            });
        }
        let copied = self.atomic(|s| {
            s.copy_in(
                "COPY journal_entries (centre_code, seq, idempotency_key, kind, ref_seq,
                    tx_code, business_date, value_date, memo, operator, channel, service_point,
                    on_behalf_of, recorded_at_us, hash_alg, body_hash, prev_hash, entry_hash)
                 FROM STDIN (FORMAT binary)",
                entries,
                |c, s| {
                    let e = &s.entry;
                    c.row(18);
                    c.text(centre);
                    c.bigint(s.seq);
                    c.text(&e.key);
                    c.text(e.kind.code());
                    c.opt_bigint(e.ref_seq);
                    c.text(e.code.code());
                    c.date(e.business_date);
                    c.date(e.value_date);
                    c.text(&e.memo);
                    c.text(&e.stamp.operator);
                    c.text(e.stamp.channel.code());
                    c.text(&e.stamp.service_point);
                    c.opt_text(e.stamp.on_behalf_of.as_deref());
                    c.bigint(s.recorded_at_us);
                    c.text(s.alg.code());
                    c.text(&s.body_hash.to_hex());
                    c.text(&s.prev_hash.to_hex());
                    c.text(&s.hash.to_hex());
                },
            )?;
            let mut legs_flat: Vec<(i64, i32, &anju_domain::ledger::Leg)> =
                Vec::with_capacity(legs);
            for s in entries {
                for (i, leg) in s.entry.legs.iter().enumerate() {
                    legs_flat.push((s.seq, leg_no(i)?, leg));
                }
            }
            s.copy_in(
                "COPY journal_legs (centre_code, seq, leg_no, account_no, side, amount_fen)
                 FROM STDIN (FORMAT binary)",
                &legs_flat,
                |c, (seq, no, leg)| {
                    c.row(6);
                    c.text(centre);
                    c.bigint(*seq);
                    c.integer(*no);
                    c.text(leg.account.as_str());
                    c.text(leg.side.code());
                    c.bigint(leg.amount.fen());
                },
            )?;
            Ok(())
        });
        match copied {
            Err(StoreError::Conflict { what }) => {
                match self.first_entry_conflict(centre, entries)? {
                    Some(e) => Err(e),
                    None => Err(StoreError::Conflict { what }),
                }
            }
            other => other,
        }
    }

    fn insert_entry(&mut self, centre: &str, s: &SealedEntry) -> Result<(), StoreError> {
        let e = &s.entry;
        self.execute(
            "INSERT INTO journal_entries (centre_code, seq, idempotency_key, kind, ref_seq,
                tx_code, business_date, value_date, memo, operator, channel, service_point,
                on_behalf_of, recorded_at_us, hash_alg, body_hash, prev_hash, entry_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::date, $8::text::date, $9, $10, $11, $12,
                $13, $14, $15, $16, $17, $18)",
            &[
                &centre,
                &s.seq,
                &e.key,
                &e.kind.code(),
                &e.ref_seq,
                &e.code.code(),
                &date_str(e.business_date),
                &date_str(e.value_date),
                &e.memo,
                &e.stamp.operator,
                &e.stamp.channel.code(),
                &e.stamp.service_point,
                &e.stamp.on_behalf_of,
                &s.recorded_at_us,
                &s.alg.code(),
                &s.body_hash.to_hex(),
                &s.prev_hash.to_hex(),
                &s.hash.to_hex(),
            ],
        )
        .map_err(|err| match err {
            StoreError::Conflict { .. } => StoreError::Conflict {
                what: format!("journal entry seq {} or key {:?}", s.seq, e.key),
            },
            other => other,
        })?;
        for (i, leg) in e.legs.iter().enumerate() {
            self.execute(
                "INSERT INTO journal_legs (centre_code, seq, leg_no, account_no, side, amount_fen)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &centre,
                    &s.seq,
                    &leg_no(i)?,
                    &leg.account.as_str(),
                    &leg.side.code(),
                    &leg.amount.fen(),
                ],
            )?;
        }
        Ok(())
    }

    /// After a failed bulk insert (undone), the first entry whose seq or key is taken,
    /// named as the row-by-row path names it.
    fn first_entry_conflict(
        &mut self,
        centre: &str,
        entries: &[SealedEntry],
    ) -> Result<Option<StoreError>, StoreError> {
        let seqs: Vec<i64> = entries.iter().map(|s| s.seq).collect();
        let keys: Vec<&str> = entries.iter().map(|s| s.entry.key.as_str()).collect();
        let mut taken_seqs = HashSet::new();
        for chunk in seqs.chunks(ANY_CHUNK) {
            for r in self.query(
                "SELECT seq FROM journal_entries WHERE centre_code = $1 AND seq = ANY($2)",
                &[&centre, &chunk],
            )? {
                taken_seqs.insert(column(r.try_get::<_, i64>(0))?);
            }
        }
        let mut taken_keys = HashSet::new();
        for chunk in keys.chunks(ANY_CHUNK) {
            for r in self.query(
                "SELECT idempotency_key FROM journal_entries
                 WHERE centre_code = $1 AND idempotency_key = ANY($2)",
                &[&centre, &chunk],
            )? {
                taken_keys.insert(column(r.try_get::<_, String>(0))?);
            }
        }
        let mut seen_seqs = HashSet::new();
        let mut seen_keys = HashSet::new();
        for s in entries {
            let key = s.entry.key.as_str();
            if taken_seqs.contains(&s.seq)
                || taken_keys.contains(key)
                || !seen_seqs.insert(s.seq)
                || !seen_keys.insert(key)
            {
                return Ok(Some(StoreError::Conflict {
                    what: format!("journal entry seq {} or key {:?}", s.seq, s.entry.key),
                }));
            }
        }
        Ok(None)
    }

    fn scan_entries(
        &mut self,
        centre: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<SealedEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let row = self.query_opt(
            "SELECT MAX(seq) FROM (SELECT seq FROM journal_entries
             WHERE centre_code = $1 AND seq > $2 ORDER BY seq LIMIT $3) AS page",
            &[&centre, &after, &limit],
        )?;
        let last: Option<i64> = match row {
            Some(r) => column(r.try_get(0))?,
            None => None,
        };
        match last {
            None => Ok(Vec::new()),
            Some(last) => self.entries_in_range(centre, after, last),
        }
    }

    fn counts(&mut self, centre: &str) -> Result<LedgerCounts, StoreError> {
        Ok(LedgerCounts {
            accounts: self.query_one_i64(
                "SELECT COUNT(*) FROM ledger_accounts WHERE centre_code = $1",
                &[&centre],
            )?,
            entries: self.query_one_i64(
                "SELECT COUNT(*) FROM journal_entries WHERE centre_code = $1",
                &[&centre],
            )?,
            legs: self.query_one_i64(
                "SELECT COUNT(*) FROM journal_legs WHERE centre_code = $1",
                &[&centre],
            )?,
        })
    }

    // ---- collection registry -------------------------------------------------------

    fn insert_unit(&mut self, centre: &str, u: &UnitRow) -> Result<(), StoreError> {
        let opened = date_str(u.opened_on);
        let (ur, mr) = (u.unit_ratio.units(), u.member_ratio.units());
        let status = u.status.code();
        self.atomic(|s| {
            s.execute(
                "INSERT INTO units (centre_code, unit_no, credit_code, name, address, legal_rep,
                    payday, bank_code, unit_ratio, member_ratio, status, opened_on)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text::date)",
                &[
                    &centre,
                    &u.unit_no,
                    &u.credit_code,
                    &u.name,
                    &u.address,
                    &u.legal_rep,
                    &u.payday,
                    &u.bank_code,
                    &ur,
                    &mr,
                    &status,
                    &opened,
                ],
            )
            .map(drop)
        })
        .map_err(|e| match e {
            StoreError::Conflict { .. } => StoreError::Conflict {
                what: format!(
                    "unit {} or credit code {} in centre {centre}",
                    u.unit_no, u.credit_code
                ),
            },
            other => other,
        })
    }

    fn update_unit(&mut self, centre: &str, u: &UnitRow) -> Result<(), StoreError> {
        let (ur, mr) = (u.unit_ratio.units(), u.member_ratio.units());
        let status = u.status.code();
        let n = self.execute(
            "UPDATE units SET name = $3, address = $4, legal_rep = $5, payday = $6,
                bank_code = $7, unit_ratio = $8, member_ratio = $9, status = $10
             WHERE centre_code = $1 AND unit_no = $2",
            &[
                &centre,
                &u.unit_no,
                &u.name,
                &u.address,
                &u.legal_rep,
                &u.payday,
                &u.bank_code,
                &ur,
                &mr,
                &status,
            ],
        )?;
        if n != 1 {
            return Err(StoreError::NotFound {
                what: format!("unit {} in centre {centre}", u.unit_no),
            });
        }
        Ok(())
    }

    fn unit_from(row: Option<Row>) -> Result<Option<UnitRow>, StoreError> {
        row.as_ref().map(Self::unit_of).transpose()
    }

    /// Decodes a row selected with [`unit_columns!`].
    fn unit_of(r: &Row) -> Result<UnitRow, StoreError> {
        RawUnit {
            unit_no: column(r.try_get(0))?,
            credit_code: column(r.try_get(1))?,
            name: column(r.try_get(2))?,
            address: column(r.try_get(3))?,
            legal_rep: column(r.try_get(4))?,
            payday: column(r.try_get(5))?,
            bank_code: column(r.try_get(6))?,
            unit_ratio: column(r.try_get(7))?,
            member_ratio: column(r.try_get(8))?,
            status: column(r.try_get(9))?,
            opened_on: column(r.try_get(10))?,
        }
        .decode()
    }

    fn unit(&mut self, centre: &str, unit_no: &str) -> Result<Option<UnitRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                unit_columns!(),
                " FROM units WHERE centre_code = $1 AND unit_no = $2"
            ),
            &[&centre, &unit_no],
        )?;
        Self::unit_from(row)
    }

    fn unit_by_credit_code(
        &mut self,
        centre: &str,
        code: &str,
    ) -> Result<Option<UnitRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                unit_columns!(),
                " FROM units WHERE centre_code = $1 AND credit_code = $2"
            ),
            &[&centre, &code],
        )?;
        Self::unit_from(row)
    }

    fn unit_nos(&mut self, centre: &str) -> Result<Vec<String>, StoreError> {
        let rows = self.query(
            "SELECT unit_no FROM units WHERE centre_code = $1 ORDER BY unit_no",
            &[&centre],
        )?;
        let mut out = rows
            .iter()
            .map(|r| column(r.try_get(0)))
            .collect::<Result<Vec<String>, _>>()?;
        // Byte-wise, like SQLite, whatever the database's collation.
        out.sort();
        Ok(out)
    }

    fn count_units(&mut self, centre: &str) -> Result<i64, StoreError> {
        self.query_one_i64(
            "SELECT COUNT(*) FROM units WHERE centre_code = $1",
            &[&centre],
        )
    }

    fn count_unit_members(&mut self, centre: &str, unit_no: &str) -> Result<i64, StoreError> {
        self.query_one_i64(
            "SELECT COUNT(*) FROM members WHERE centre_code = $1 AND unit_no = $2",
            &[&centre, &unit_no],
        )
    }

    fn insert_member(&mut self, centre: &str, m: &MemberRow) -> Result<(), StoreError> {
        let opened = date_str(m.opened_on);
        let base = m.base.fen();
        let status = m.status.code();
        let before = m.before_freeze.map(|b| b.code());
        let paid_to = m.paid_to.map(|p| format!("{p}"));
        let flexible = m.flexible_ratio.map(|r| r.units());
        self.atomic(|s| {
            s.execute(
                "INSERT INTO members (centre_code, account_no, id_number, name, unit_no, base_fen,
                    status, before_freeze, opened_on, paid_to, flexible_ratio)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::date, $10, $11)",
                &[
                    &centre,
                    &m.account_no,
                    &m.id_number,
                    &m.name,
                    &m.unit_no,
                    &base,
                    &status,
                    &before,
                    &opened,
                    &paid_to,
                    &flexible,
                ],
            )
            .map(drop)
        })
        .map_err(|e| match e {
            StoreError::Conflict { .. } => StoreError::Conflict {
                what: format!(
                    "personal account {} or its ID number in centre {centre}",
                    m.account_no
                ),
            },
            other => other,
        })
    }

    fn update_member(&mut self, centre: &str, m: &MemberRow) -> Result<(), StoreError> {
        let base = m.base.fen();
        let status = m.status.code();
        let before = m.before_freeze.map(|b| b.code());
        let paid_to = m.paid_to.map(|p| format!("{p}"));
        let flexible = m.flexible_ratio.map(|r| r.units());
        let n = self.execute(
            "UPDATE members SET name = $3, unit_no = $4, base_fen = $5, status = $6,
                before_freeze = $7, paid_to = $8, flexible_ratio = $9
             WHERE centre_code = $1 AND account_no = $2",
            &[
                &centre,
                &m.account_no,
                &m.name,
                &m.unit_no,
                &base,
                &status,
                &before,
                &paid_to,
                &flexible,
            ],
        )?;
        if n != 1 {
            return Err(StoreError::NotFound {
                what: format!("personal account {} in centre {centre}", m.account_no),
            });
        }
        Ok(())
    }

    fn member_from(row: Option<Row>) -> Result<Option<MemberRow>, StoreError> {
        let Some(r) = row else { return Ok(None) };
        Self::member_of(&r).map(Some)
    }

    /// Decodes a row selected with [`member_columns!`].
    fn member_of(r: &Row) -> Result<MemberRow, StoreError> {
        RawMember {
            account_no: column(r.try_get(0))?,
            id_number: column(r.try_get(1))?,
            name: column(r.try_get(2))?,
            unit_no: column(r.try_get(3))?,
            base_fen: column(r.try_get(4))?,
            status: column(r.try_get(5))?,
            before_freeze: column(r.try_get(6))?,
            opened_on: column(r.try_get(7))?,
            paid_to: column(r.try_get(8))?,
            flexible_ratio: column(r.try_get(9))?,
        }
        .decode()
    }

    fn member(&mut self, centre: &str, account_no: &str) -> Result<Option<MemberRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                member_columns!(),
                " FROM members WHERE centre_code = $1 AND account_no = $2"
            ),
            &[&centre, &account_no],
        )?;
        Self::member_from(row)
    }

    fn member_by_id_number(
        &mut self,
        centre: &str,
        id: &str,
    ) -> Result<Option<MemberRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                member_columns!(),
                " FROM members WHERE centre_code = $1 AND id_number = $2"
            ),
            &[&centre, &id],
        )?;
        Self::member_from(row)
    }

    fn count_members(&mut self, centre: &str) -> Result<i64, StoreError> {
        self.query_one_i64(
            "SELECT COUNT(*) FROM members WHERE centre_code = $1",
            &[&centre],
        )
    }

    fn append_event(&mut self, centre: &str, e: &EventRow) -> Result<(), StoreError> {
        let date = date_str(e.date);
        let business = e.business.code();
        let channel = e.stamp.channel.code();
        self.atomic(|s| {
            s.execute(
                "INSERT INTO status_events (centre_code, subject, event_no, event_date, business,
                    from_status, to_status, reason, operator, channel, service_point,
                    on_behalf_of, recorded_at_us)
                 VALUES ($1, $2, $3, $4::text::date, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                &[
                    &centre,
                    &e.subject,
                    &e.event_no,
                    &date,
                    &business,
                    &e.from_status,
                    &e.to_status,
                    &e.reason,
                    &e.stamp.operator,
                    &channel,
                    &e.stamp.service_point,
                    &e.stamp.on_behalf_of,
                    &e.recorded_at_us,
                ],
            )
            .map(drop)
        })
        .map_err(|err| match err {
            StoreError::Conflict { .. } => StoreError::Conflict {
                what: format!("event {} of {} in centre {centre}", e.event_no, e.subject),
            },
            other => other,
        })
    }

    fn events(&mut self, centre: &str, subject: &str) -> Result<Vec<EventRow>, StoreError> {
        let rows = self.query(
            "SELECT subject, event_no, event_date::text, business, from_status, to_status, reason,
                operator, channel, service_point, on_behalf_of, recorded_at_us
             FROM status_events WHERE centre_code = $1 AND subject = $2 ORDER BY event_no",
            &[&centre, &subject],
        )?;
        rows.into_iter()
            .map(|r| {
                RawEvent {
                    subject: column(r.try_get(0))?,
                    event_no: column(r.try_get(1))?,
                    event_date: column(r.try_get(2))?,
                    business: column(r.try_get(3))?,
                    from_status: column(r.try_get(4))?,
                    to_status: column(r.try_get(5))?,
                    reason: column(r.try_get(6))?,
                    operator: column(r.try_get(7))?,
                    channel: column(r.try_get(8))?,
                    service_point: column(r.try_get(9))?,
                    on_behalf_of: column(r.try_get(10))?,
                    recorded_at_us: column(r.try_get(11))?,
                }
                .decode()
            })
            .collect()
    }

    // ---- remittance ----------------------------------------------------------------

    fn members_of_unit(
        &mut self,
        centre: &str,
        unit_no: &str,
    ) -> Result<Vec<MemberRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                member_columns!(),
                " FROM members WHERE centre_code = $1 AND unit_no = $2 ORDER BY account_no"
            ),
            &[&centre, &unit_no],
        )?;
        Self::members_by_account(&rows)
    }

    fn members_in_statuses(
        &mut self,
        centre: &str,
        statuses: &[PersonalAccountStatus],
    ) -> Result<Vec<MemberRow>, StoreError> {
        let codes: Vec<&str> = statuses.iter().map(|s| s.code()).collect();
        let rows = self.query(
            concat!(
                "SELECT ",
                member_columns!(),
                " FROM members WHERE centre_code = $1 AND status = ANY($2)"
            ),
            &[&centre, &codes],
        )?;
        Self::members_by_account(&rows)
    }

    /// Members decoded from rows selected with [`member_columns!`], by account number
    /// (byte-wise, like SQLite, whatever the database's collation).
    fn members_by_account(rows: &[Row]) -> Result<Vec<MemberRow>, StoreError> {
        let mut out = rows
            .iter()
            .map(Self::member_of)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.account_no.cmp(&b.account_no));
        Ok(out)
    }

    fn closed_member_accounts(&mut self, centre: &str) -> Result<Vec<String>, StoreError> {
        let rows = self.query(
            "SELECT account_no FROM members WHERE centre_code = $1 AND status IN ($2, $3, $4)
             ORDER BY account_no",
            &[
                &centre,
                &PersonalAccountStatus::ClosedByMerger.code(),
                &PersonalAccountStatus::ClosedByTransferOut.code(),
                &PersonalAccountStatus::ClosedByWithdrawal.code(),
            ],
        )?;
        let mut out = rows
            .iter()
            .map(|r| column(r.try_get(0)))
            .collect::<Result<Vec<String>, _>>()?;
        out.sort();
        Ok(out)
    }

    fn set_paid_to(
        &mut self,
        centre: &str,
        account_no: &str,
        paid_to: Option<YearMonth>,
    ) -> Result<(), StoreError> {
        let paid_to = paid_to.map(|p| format!("{p}"));
        let n = self.execute(
            "UPDATE members SET paid_to = $3 WHERE centre_code = $1 AND account_no = $2",
            &[&centre, &account_no, &paid_to],
        )?;
        if n != 1 {
            return Err(StoreError::NotFound {
                what: format!("personal account {account_no} in centre {centre}"),
            });
        }
        Ok(())
    }

    fn advance_paid_to(
        &mut self,
        centre: &str,
        bill_no: &str,
        entry_key: &str,
        month: YearMonth,
    ) -> Result<u64, StoreError> {
        let (month_text, prev) = month_and_before(month);
        self.execute(
            "UPDATE members SET paid_to = $4
             WHERE centre_code = $1 AND account_no IN (
                 SELECT l.account_no FROM bill_lines AS l
                 JOIN bills AS b ON b.centre_code = l.centre_code AND b.bill_no = l.bill_no
                 WHERE l.centre_code = $1 AND l.bill_no = $2 AND l.month = $4
                   AND coalesce(l.paid_entry, b.paid_entry) = $3)
               AND (paid_to IS NULL OR paid_to = $5)",
            &[&centre, &bill_no, &entry_key, &month_text, &prev],
        )
    }

    fn move_paid_to(
        &mut self,
        centre: &str,
        accounts: &[String],
        month: YearMonth,
    ) -> Result<u64, StoreError> {
        let (month_text, prev) = month_and_before(month);
        self.execute(
            "UPDATE members SET paid_to = $3
             WHERE centre_code = $1 AND account_no = ANY($2)
               AND (paid_to IS NULL OR paid_to = $4)",
            &[&centre, &accounts, &month_text, &prev],
        )
    }

    fn count_bills(&mut self, centre: &str) -> Result<i64, StoreError> {
        self.query_one_i64(
            "SELECT COUNT(*) FROM bills WHERE centre_code = $1",
            &[&centre],
        )
    }

    /// One round trip and no savepoint per bill (a month's bills for a whole centre,
    /// thousands, go in one transaction): the bill row goes in with `ON CONFLICT DO
    /// NOTHING`, so a taken number or month is reported without aborting the transaction,
    /// and its first [`LINE_CHUNK`] lines go in by the same statement, only if the bill
    /// did. Repeated line numbers are refused before anything is sent, so the lines can
    /// clash only with stray rows of a bill that does not exist (a caller's bug, which
    /// then aborts the transaction like any other server error).
    fn insert_bill(
        &mut self,
        centre: &str,
        b: &BillRow,
        lines: &[BillLineRow],
    ) -> Result<(), StoreError> {
        check_line_nos(lines)?;
        let month = format!("{}", b.month);
        let due_on = date_str(b.due_on);
        let created_on = date_str(b.created_on);
        let confirmed_on = b.confirmed_on.map(date_str);
        let paid_on = b.paid_on.map(date_str);
        let (first, rest) = lines.split_at(lines.len().min(LINE_CHUNK));
        let a = LineArrays::of(first);
        let row = self.query_opt(
            "WITH bill AS (
                 INSERT INTO bills (centre_code, bill_no, payer, kind, month, status, total_fen,
                    line_count, bank_code, due_on, created_on, confirmed_on, paid_on)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::date, $11::text::date,
                    $12::text::date, $13::text::date)
                 ON CONFLICT DO NOTHING
                 RETURNING bill_no
             ), line AS (
                 INSERT INTO bill_lines (centre_code, bill_no, line_no, account_no, name, month,
                    base_fen, unit_fen, member_fen, notice, paid_entry)
                 SELECT $1::text, l.* FROM unnest($14::text[], $15::bigint[], $16::text[],
                    $17::text[], $18::text[], $19::bigint[], $20::bigint[], $21::bigint[],
                    $22::text[], $23::text[]) AS l
                 WHERE EXISTS (SELECT 1 FROM bill)
                 RETURNING 1
             )
             SELECT (SELECT COUNT(*) FROM bill), (SELECT COUNT(*) FROM line)",
            &[
                &centre,
                &b.bill_no,
                &b.payer,
                &b.kind.code(),
                &month,
                &b.status.code(),
                &b.total.fen(),
                &b.line_count,
                &b.bank_code,
                &due_on,
                &created_on,
                &confirmed_on,
                &paid_on,
                &a.bill_nos,
                &a.line_nos,
                &a.accounts,
                &a.names,
                &a.months,
                &a.bases,
                &a.unit_fens,
                &a.member_fens,
                &a.notices,
                &a.paid,
            ],
        )?;
        let inserted: i64 = match &row {
            Some(r) => column(r.try_get(0))?,
            None => 0,
        };
        if inserted == 0 {
            return Err(StoreError::Conflict {
                what: format!(
                    "bill {} or a {} bill of {} for {}",
                    b.bill_no,
                    b.kind.label_zh(),
                    b.payer,
                    b.month
                ),
            });
        }
        self.insert_lines(centre, rest)
    }

    /// Inserts bill lines, [`LINE_CHUNK`] per statement. Each column goes in as one array
    /// and comes back out of `unnest`, so one cached statement serves any number of rows
    /// in one round trip (a bill of a few dozen lines is too small to gain from COPY).
    fn insert_lines(&mut self, centre: &str, lines: &[BillLineRow]) -> Result<(), StoreError> {
        for chunk in lines.chunks(LINE_CHUNK) {
            let a = LineArrays::of(chunk);
            self.execute(
                "INSERT INTO bill_lines (centre_code, bill_no, line_no, account_no, name, month,
                    base_fen, unit_fen, member_fen, notice, paid_entry)
                 SELECT $1::text, l.* FROM unnest($2::text[], $3::bigint[], $4::text[],
                    $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[],
                    $10::text[], $11::text[]) AS l",
                &[
                    &centre,
                    &a.bill_nos,
                    &a.line_nos,
                    &a.accounts,
                    &a.names,
                    &a.months,
                    &a.bases,
                    &a.unit_fens,
                    &a.member_fens,
                    &a.notices,
                    &a.paid,
                ],
            )?;
        }
        Ok(())
    }

    fn update_bill(&mut self, centre: &str, b: &BillRow) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE bills SET status = $3, total_fen = $4, line_count = $5,
                confirmed_on = $6::text::date, paid_on = $7::text::date, due_on = $8::text::date
             WHERE centre_code = $1 AND bill_no = $2",
            &[
                &centre,
                &b.bill_no,
                &b.status.code(),
                &b.total.fen(),
                &b.line_count,
                &b.confirmed_on.map(date_str),
                &b.paid_on.map(date_str),
                &date_str(b.due_on),
            ],
        )?;
        if n != 1 {
            return Err(StoreError::NotFound {
                what: format!("bill {} in centre {centre}", b.bill_no),
            });
        }
        Ok(())
    }

    fn replace_bill_lines(
        &mut self,
        centre: &str,
        bill_no: &str,
        lines: &[BillLineRow],
    ) -> Result<(), StoreError> {
        check_line_nos(lines)?;
        self.atomic(|s| {
            s.execute(
                "DELETE FROM bill_lines WHERE centre_code = $1 AND bill_no = $2",
                &[&centre, &bill_no],
            )?;
            s.insert_lines(centre, lines)
        })
    }

    /// Decodes a row selected with [`bill_columns!`].
    fn bill_of(r: &Row) -> Result<BillRow, StoreError> {
        RawBill {
            bill_no: column(r.try_get(0))?,
            payer: column(r.try_get(1))?,
            kind: column(r.try_get(2))?,
            month: column(r.try_get(3))?,
            status: column(r.try_get(4))?,
            total_fen: column(r.try_get(5))?,
            line_count: column(r.try_get(6))?,
            bank_code: column(r.try_get(7))?,
            due_on: column(r.try_get(8))?,
            created_on: column(r.try_get(9))?,
            confirmed_on: column(r.try_get(10))?,
            paid_on: column(r.try_get(11))?,
        }
        .decode()
    }

    fn bill(&mut self, centre: &str, bill_no: &str) -> Result<Option<BillRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                bill_columns!(),
                " FROM bills WHERE centre_code = $1 AND bill_no = $2"
            ),
            &[&centre, &bill_no],
        )?;
        row.as_ref().map(Self::bill_of).transpose()
    }

    fn remittance_bill(
        &mut self,
        centre: &str,
        payer: &str,
        month: YearMonth,
    ) -> Result<Option<BillRow>, StoreError> {
        // `kind = 'remit'` spelt out, so the planner can use the partial unique index.
        let row = self.query_opt(
            concat!(
                "SELECT ",
                bill_columns!(),
                " FROM bills WHERE centre_code = $1 AND payer = $2 AND month = $3
                  AND kind = 'remit'"
            ),
            &[&centre, &payer, &format!("{month}")],
        )?;
        row.as_ref().map(Self::bill_of).transpose()
    }

    fn bills_of(&mut self, centre: &str, payer: &str) -> Result<Vec<BillRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                bill_columns!(),
                " FROM bills WHERE centre_code = $1 AND payer = $2 ORDER BY bill_no"
            ),
            &[&centre, &payer],
        )?;
        let mut out = rows
            .iter()
            .map(Self::bill_of)
            .collect::<Result<Vec<_>, _>>()?;
        // Byte-wise, like SQLite, whatever the database's collation.
        out.sort_by(|a, b| a.bill_no.cmp(&b.bill_no));
        Ok(out)
    }

    fn unpaid_bills_due_before(
        &mut self,
        centre: &str,
        date: Date,
    ) -> Result<Vec<BillRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                bill_columns!(),
                " FROM bills WHERE centre_code = $1 AND status <> 'paid' AND due_on < $2::text::date
                  ORDER BY due_on, bill_no"
            ),
            &[&centre, &date_str(date)],
        )?;
        let mut out = rows
            .iter()
            .map(Self::bill_of)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| (a.due_on, &a.bill_no).cmp(&(b.due_on, &b.bill_no)));
        Ok(out)
    }

    fn bill_lines(&mut self, centre: &str, bill_no: &str) -> Result<Vec<BillLineRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                bill_line_columns!(),
                bill_lines_from!(),
                "WHERE l.centre_code = $1 AND l.bill_no = $2 ORDER BY l.line_no"
            ),
            &[&centre, &bill_no],
        )?;
        rows.iter().map(Self::bill_line_of).collect()
    }

    /// Decodes a row selected with [`bill_line_columns!`].
    fn bill_line_of(r: &Row) -> Result<BillLineRow, StoreError> {
        RawBillLine {
            bill_no: column(r.try_get(0))?,
            line_no: column(r.try_get(1))?,
            account_no: column(r.try_get(2))?,
            name: column(r.try_get(3))?,
            month: column(r.try_get(4))?,
            base_fen: column(r.try_get(5))?,
            unit_fen: column(r.try_get(6))?,
            member_fen: column(r.try_get(7))?,
            notice: column(r.try_get(8))?,
            paid_entry: column(r.try_get(9))?,
        }
        .decode()
    }

    fn mark_lines_paid(
        &mut self,
        centre: &str,
        bill_no: &str,
        line_nos: &[i64],
        entry_key: &str,
    ) -> Result<u64, StoreError> {
        if line_nos.is_empty() {
            // Recorded once, on the bill: every line not paid on its own is paid by it.
            let rows = self.query(
                "WITH marked AS (
                     UPDATE bills SET paid_entry = $3
                     WHERE centre_code = $1 AND bill_no = $2 AND paid_entry IS NULL
                       AND EXISTS (SELECT 1 FROM bill_lines AS l WHERE l.centre_code = $1
                           AND l.bill_no = $2 AND l.paid_entry IS NULL)
                     RETURNING bill_no
                 )
                 SELECT count(*) FROM bill_lines AS l JOIN marked ON marked.bill_no = l.bill_no
                 WHERE l.centre_code = $1 AND l.paid_entry IS NULL",
                &[&centre, &bill_no, &entry_key],
            )?;
            let n: i64 = match rows.first() {
                Some(r) => column(r.try_get(0))?,
                None => 0,
            };
            return Ok(n as u64);
        }
        let mut n = 0;
        for chunk in line_nos.chunks(ANY_CHUNK) {
            n += self.execute(
                "UPDATE bill_lines SET paid_entry = $3
                 WHERE centre_code = $1 AND bill_no = $2 AND line_no = ANY($4)
                   AND paid_entry IS NULL
                   AND NOT EXISTS (SELECT 1 FROM bills WHERE centre_code = $1
                       AND bill_no = $2 AND paid_entry IS NOT NULL)",
                &[&centre, &bill_no, &entry_key, &chunk],
            )?;
        }
        Ok(n)
    }

    fn unmark_lines_paid(
        &mut self,
        centre: &str,
        bill_no: &str,
        entry_key: &str,
    ) -> Result<u64, StoreError> {
        let own = self.execute(
            "UPDATE bill_lines SET paid_entry = NULL
             WHERE centre_code = $1 AND bill_no = $2 AND paid_entry = $3",
            &[&centre, &bill_no, &entry_key],
        )?;
        // The lines the bill's entry paid: those not paid on their own.
        let rows = self.query(
            "WITH cleared AS (
                 UPDATE bills SET paid_entry = NULL
                 WHERE centre_code = $1 AND bill_no = $2 AND paid_entry = $3
                 RETURNING bill_no
             )
             SELECT count(*) FROM bill_lines AS l JOIN cleared ON cleared.bill_no = l.bill_no
             WHERE l.centre_code = $1 AND l.paid_entry IS NULL",
            &[&centre, &bill_no, &entry_key],
        )?;
        let by_bill: i64 = match rows.first() {
            Some(r) => column(r.try_get(0))?,
            None => 0,
        };
        Ok(own + by_bill as u64)
    }

    fn paid_months(
        &mut self,
        centre: &str,
        account_no: &str,
    ) -> Result<Vec<YearMonth>, StoreError> {
        let rows = self.query(
            concat!(
                member_months!(),
                "SELECT DISTINCT l.month FROM months
                 JOIN bill_lines AS l
                   ON l.centre_code = $1 AND l.month = months.m AND l.account_no = $2
                 LEFT JOIN bills AS b ON b.centre_code = l.centre_code AND b.bill_no = l.bill_no
                 WHERE coalesce(l.paid_entry, b.paid_entry) IS NOT NULL"
            ),
            &[&centre, &account_no],
        )?;
        let mut months = rows
            .iter()
            .map(|r| parse_month("bill_lines.month", &column::<String>(r.try_get(0))?))
            .collect::<Result<Vec<_>, _>>()?;
        months.sort_unstable();
        months.dedup();
        Ok(months)
    }

    fn paid_lines_of(
        &mut self,
        centre: &str,
        account_no: &str,
    ) -> Result<Vec<(String, YearMonth)>, StoreError> {
        let rows = self.query(
            concat!(
                member_months!(),
                "SELECT coalesce(l.paid_entry, b.paid_entry), l.month FROM months
                 JOIN bill_lines AS l
                   ON l.centre_code = $1 AND l.month = months.m AND l.account_no = $2
                 LEFT JOIN bills AS b ON b.centre_code = l.centre_code AND b.bill_no = l.bill_no
                 WHERE coalesce(l.paid_entry, b.paid_entry) IS NOT NULL"
            ),
            &[&centre, &account_no],
        )?;
        let mut out = rows
            .iter()
            .map(|r| {
                let key: String = column(r.try_get(0))?;
                let month = parse_month("bill_lines.month", &column::<String>(r.try_get(1))?)?;
                Ok((key, month))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_unstable_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        Ok(out)
    }

    fn insert_receipt(&mut self, centre: &str, r: &ReceiptRow) -> Result<(), StoreError> {
        let received_on = date_str(r.received_on);
        let amount = r.amount.fen();
        self.atomic(|s| {
            s.execute(
                "INSERT INTO receipts (centre_code, receipt_key, payer, bill_no, amount_fen,
                    received_on, bank_code, entry_key, recorded_at_us)
                 VALUES ($1, $2, $3, $4, $5, $6::text::date, $7, $8, $9)",
                &[
                    &centre,
                    &r.receipt_key,
                    &r.payer,
                    &r.bill_no,
                    &amount,
                    &received_on,
                    &r.bank_code,
                    &r.entry_key,
                    &r.recorded_at_us,
                ],
            )
            .map(drop)
        })
        .map_err(|e| match e {
            StoreError::Conflict { .. } => StoreError::Conflict {
                what: format!("receipt {} in centre {centre}", r.receipt_key),
            },
            other => other,
        })
    }

    /// Decodes a row selected with [`receipt_columns!`].
    fn receipt_of(r: &Row) -> Result<ReceiptRow, StoreError> {
        RawReceipt {
            receipt_key: column(r.try_get(0))?,
            payer: column(r.try_get(1))?,
            bill_no: column(r.try_get(2))?,
            amount_fen: column(r.try_get(3))?,
            received_on: column(r.try_get(4))?,
            bank_code: column(r.try_get(5))?,
            entry_key: column(r.try_get(6))?,
            recorded_at_us: column(r.try_get(7))?,
        }
        .decode()
    }

    fn receipt(&mut self, centre: &str, key: &str) -> Result<Option<ReceiptRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                receipt_columns!(),
                " FROM receipts WHERE centre_code = $1 AND receipt_key = $2"
            ),
            &[&centre, &key],
        )?;
        row.as_ref().map(Self::receipt_of).transpose()
    }

    fn receipts_of(&mut self, centre: &str, payer: &str) -> Result<Vec<ReceiptRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                receipt_columns!(),
                " FROM receipts WHERE centre_code = $1 AND payer = $2
                  ORDER BY received_on, receipt_key"
            ),
            &[&centre, &payer],
        )?;
        let mut out = rows
            .iter()
            .map(Self::receipt_of)
            .collect::<Result<Vec<_>, _>>()?;
        // Byte-wise, like SQLite, whatever the database's collation.
        out.sort_by(|a, b| (a.received_on, &a.receipt_key).cmp(&(b.received_on, &b.receipt_key)));
        Ok(out)
    }

    fn insert_reminder(&mut self, centre: &str, r: &ReminderRow) -> Result<(), StoreError> {
        let sent_on = date_str(r.sent_on);
        let amount = r.amount_due.fen();
        self.atomic(|s| {
            s.execute(
                "INSERT INTO reminders (centre_code, bill_no, sent_on, overdue_days,
                    amount_due_fen)
                 VALUES ($1, $2, $3::text::date, $4, $5)",
                &[&centre, &r.bill_no, &sent_on, &r.overdue_days, &amount],
            )
            .map(drop)
        })
        .map_err(|e| match e {
            StoreError::Conflict { .. } => StoreError::Conflict {
                what: format!("reminder for bill {} on {}", r.bill_no, r.sent_on),
            },
            other => other,
        })
    }

    fn reminders(&mut self, centre: &str, bill_no: &str) -> Result<Vec<ReminderRow>, StoreError> {
        let rows = self.query(
            "SELECT bill_no, sent_on::text, overdue_days, amount_due_fen FROM reminders
             WHERE centre_code = $1 AND bill_no = $2 ORDER BY sent_on",
            &[&centre, &bill_no],
        )?;
        rows.iter()
            .map(|r| {
                RawReminder {
                    bill_no: column(r.try_get(0))?,
                    sent_on: column(r.try_get(1))?,
                    overdue_days: column(r.try_get(2))?,
                    amount_due_fen: column(r.try_get(3))?,
                }
                .decode()
            })
            .collect()
    }

    fn insert_interest_run(&mut self, centre: &str, r: &InterestRunRow) -> Result<(), StoreError> {
        let year = i32::from(r.year);
        let period_end = date_str(r.period_end);
        let run_on = date_str(r.run_on);
        let total = r.total.fen();
        self.atomic(|s| {
            s.execute(
                "INSERT INTO interest_runs (centre_code, year, period_end, accounts, total_fen,
                    entries, run_on, recorded_at_us)
                 VALUES ($1, $2, $3::text::date, $4, $5, $6, $7::text::date, $8)",
                &[
                    &centre,
                    &year,
                    &period_end,
                    &r.accounts,
                    &total,
                    &r.entries,
                    &run_on,
                    &r.recorded_at_us,
                ],
            )
            .map(drop)
        })
        .map_err(|e| match e {
            StoreError::Conflict { .. } => StoreError::Conflict {
                what: format!("interest settlement for {} in centre {centre}", r.year),
            },
            other => other,
        })
    }

    fn interest_run(
        &mut self,
        centre: &str,
        year: i16,
    ) -> Result<Option<InterestRunRow>, StoreError> {
        let row = self.query_opt(
            "SELECT year, period_end::text, accounts, total_fen, entries, run_on::text,
                recorded_at_us
             FROM interest_runs WHERE centre_code = $1 AND year = $2",
            &[&centre, &i32::from(year)],
        )?;
        let Some(r) = row else { return Ok(None) };
        RawInterestRun {
            year: column(r.try_get(0))?,
            period_end: column(r.try_get(1))?,
            accounts: column(r.try_get(2))?,
            total_fen: column(r.try_get(3))?,
            entries: column(r.try_get(4))?,
            run_on: column(r.try_get(5))?,
            recorded_at_us: column(r.try_get(6))?,
        }
        .decode()
        .map(Some)
    }

    fn account_legs(&mut self, centre: &str, account: &str) -> Result<Vec<LegRow>, StoreError> {
        let mut out = Vec::new();
        self.for_each(
            "SELECT e.seq, e.idempotency_key, e.kind, e.tx_code, e.business_date::text,
                e.value_date::text, l.side, l.amount_fen, e.memo
             FROM journal_legs l
             JOIN journal_entries e ON e.centre_code = l.centre_code AND e.seq = l.seq
             WHERE l.centre_code = $1 AND l.account_no = $2
             ORDER BY l.seq, l.leg_no",
            &[&centre, &account],
            |r| {
                let leg = RawAccountLeg {
                    seq: column(r.try_get(0))?,
                    key: column(r.try_get(1))?,
                    kind: column(r.try_get(2))?,
                    code: column(r.try_get(3))?,
                    business_date: column(r.try_get(4))?,
                    value_date: column(r.try_get(5))?,
                    side: column(r.try_get(6))?,
                    amount: column(r.try_get(7))?,
                    memo: column(r.try_get(8))?,
                };
                out.push(leg.decode()?);
                Ok(())
            },
        )?;
        Ok(out)
    }
}

impl PgConn {
    // ---- data sharing --------------------------------------------------------------
    //
    // Each write is one statement and no savepoint (these run on every verification):
    // an insert first checks that none of its keys is taken and then writes all rows or
    // none, a completion first checks that every look-up is still pending. A refusal is
    // then a `Conflict` or `NotFound` without a server error, so the transaction stays
    // usable; only the error paths look further, to name the row as SQLite names it. A
    // clash with another transaction's rows that were not yet committed when the
    // statement began (the caller did not `lock_application`) is a server error, which
    // aborts the transaction as any other.

    /// The application row goes in with `ON CONFLICT DO NOTHING` (a taken number is
    /// reported without aborting the transaction) and its parties by the same statement,
    /// only if it did. A person listed twice is refused before anything is sent.
    fn insert_application(
        &mut self,
        centre: &str,
        app: &ApplicationRow,
        parties: &[PartyRow],
    ) -> Result<(), StoreError> {
        let mut seen = HashSet::with_capacity(parties.len());
        if let Some(p) = parties.iter().find(|p| !seen.insert(p.id_number.as_str())) {
            return Err(StoreError::Conflict {
                what: format!(
                    "ID number {} listed twice for application {} in centre {centre}",
                    p.id_number, app.application_no
                ),
            });
        }
        let opened_on = date_str(app.opened_on);
        let channel = app.stamp.channel.code();
        let ids: Vec<&str> = parties.iter().map(|p| p.id_number.as_str()).collect();
        let roles: Vec<&str> = parties.iter().map(|p| p.role.as_str()).collect();
        let row = self.query_opt(
            "WITH app AS (
                 INSERT INTO applications (centre_code, application_no, kind, purpose,
                    applicant, claims, status, opened_on, opened_at_us, operator, channel,
                    service_point, on_behalf_of, closed_at_us)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::date, $9, $10, $11, $12, $13,
                    $14)
                 ON CONFLICT DO NOTHING
                 RETURNING application_no
             ), party AS (
                 INSERT INTO application_parties (centre_code, application_no, id_number, role)
                 SELECT $1::text, $2::text, p.id_number, p.role
                 FROM unnest($15::text[], $16::text[]) AS p (id_number, role)
                 WHERE EXISTS (SELECT 1 FROM app)
                 RETURNING 1
             )
             SELECT (SELECT COUNT(*) FROM app), (SELECT COUNT(*) FROM party)",
            &[
                &centre,
                &app.application_no,
                &app.kind,
                &app.purpose,
                &app.applicant,
                &app.claims,
                &app.status,
                &opened_on,
                &app.opened_at_us,
                &app.stamp.operator,
                &channel,
                &app.stamp.service_point,
                &app.stamp.on_behalf_of,
                &app.closed_at_us,
                &ids,
                &roles,
            ],
        )?;
        let inserted: i64 = match &row {
            Some(r) => column(r.try_get(0))?,
            None => 0,
        };
        if inserted == 0 {
            return Err(StoreError::Conflict {
                what: format!("application {} in centre {centre}", app.application_no),
            });
        }
        Ok(())
    }

    /// Decodes a row selected with [`application_columns!`].
    fn application_of(r: &Row) -> Result<ApplicationRow, StoreError> {
        RawApplication {
            application_no: column(r.try_get(0))?,
            kind: column(r.try_get(1))?,
            purpose: column(r.try_get(2))?,
            applicant: column(r.try_get(3))?,
            claims: column(r.try_get(4))?,
            status: column(r.try_get(5))?,
            opened_on: column(r.try_get(6))?,
            opened_at_us: column(r.try_get(7))?,
            operator: column(r.try_get(8))?,
            channel: column(r.try_get(9))?,
            service_point: column(r.try_get(10))?,
            on_behalf_of: column(r.try_get(11))?,
            closed_at_us: column(r.try_get(12))?,
        }
        .decode()
    }

    fn application_row(
        &mut self,
        centre: &str,
        application_no: &str,
        for_update: bool,
    ) -> Result<Option<ApplicationRow>, StoreError> {
        let row = self.query_opt(
            if for_update {
                concat!(
                    "SELECT ",
                    application_columns!(),
                    " FROM applications WHERE centre_code = $1 AND application_no = $2
                      FOR UPDATE"
                )
            } else {
                concat!(
                    "SELECT ",
                    application_columns!(),
                    " FROM applications WHERE centre_code = $1 AND application_no = $2"
                )
            },
            &[&centre, &application_no],
        )?;
        row.as_ref().map(Self::application_of).transpose()
    }

    fn insert_consent(
        &mut self,
        centre: &str,
        application_no: &str,
        c: &anju_store::sharing::ConsentRow,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "INSERT INTO party_consents (centre_code, application_no, id_number, given_at_us,
                how, operator, channel, service_point)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT DO NOTHING",
            &[
                &centre,
                &application_no,
                &c.id_number,
                &c.given_at_us,
                &c.how,
                &c.operator,
                &c.channel,
                &c.service_point,
            ],
        )?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict {
                what: format!(
                    "consent of {} for application {application_no} in centre {centre}",
                    c.id_number
                ),
            })
        }
    }

    fn consents(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<anju_store::sharing::ConsentRow>, StoreError> {
        let rows = self.query(
            "SELECT id_number, given_at_us, how, operator, channel, service_point
             FROM party_consents WHERE centre_code = $1 AND application_no = $2",
            &[&centre, &application_no],
        )?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(anju_store::sharing::ConsentRow {
                    id_number: column(r.try_get(0))?,
                    given_at_us: column(r.try_get(1))?,
                    how: column(r.try_get(2))?,
                    operator: column(r.try_get(3))?,
                    channel: column(r.try_get(4))?,
                    service_point: column(r.try_get(5))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_unstable_by(|a, b| a.id_number.cmp(&b.id_number));
        Ok(out)
    }

    fn application_parties(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<PartyRow>, StoreError> {
        let rows = self.query(
            "SELECT id_number, role FROM application_parties
             WHERE centre_code = $1 AND application_no = $2",
            &[&centre, &application_no],
        )?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(PartyRow {
                    id_number: column(r.try_get(0))?,
                    role: column(r.try_get(1))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Byte-wise, like SQLite, whatever the database's collation.
        out.sort_unstable_by(|a, b| (&a.role, &a.id_number).cmp(&(&b.role, &b.id_number)));
        Ok(out)
    }

    fn close_application(
        &mut self,
        centre: &str,
        application_no: &str,
        closed_at_us: i64,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE applications SET status = 'closed', closed_at_us = $3
             WHERE centre_code = $1 AND application_no = $2 AND status = 'open'",
            &[&centre, &application_no, &closed_at_us],
        )?;
        if n == 1 {
            return Ok(());
        }
        Err(match self.application_row(centre, application_no, false)? {
            Some(_) => StoreError::Conflict {
                what: format!("application {application_no} in centre {centre} is already closed"),
            },
            None => StoreError::NotFound {
                what: format!("application {application_no} in centre {centre}"),
            },
        })
    }

    fn max_lookup_seq(&mut self, centre: &str, application_no: &str) -> Result<i64, StoreError> {
        self.query_one_i64(
            "SELECT COALESCE(MAX(seq), 0) FROM fact_lookups
             WHERE centre_code = $1 AND application_no = $2",
            &[&centre, &application_no],
        )
    }

    /// All rows through one `INSERT … SELECT FROM unnest(…)`, guarded by `NOT EXISTS`
    /// (none of their keys taken), so it writes every row or none.
    fn insert_lookups(&mut self, centre: &str, rows: &[LookupRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        if distinct_keys(rows, lookup_key) {
            let col = |f: fn(&LookupRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
            let n = self.execute(
                "WITH incoming AS (
                     SELECT * FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[],
                        $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                        $12::bigint[], $13::text[], $14::text[], $15::text[], $16::bigint[],
                        $17::text[])
                        AS l (application_no, seq, subject_id, department, query, param, purpose,
                              requester, channel, service_point, asked_at_us, outcome,
                              answer_hash, source, read_at_us, detail)
                 )
                 INSERT INTO fact_lookups (centre_code, application_no, seq, subject_id,
                    department, query, param, purpose, requester, channel, service_point,
                    asked_at_us, outcome, answer_hash, source, read_at_us, detail)
                 SELECT $1::text, i.* FROM incoming i
                 WHERE NOT EXISTS (
                     SELECT 1 FROM fact_lookups f JOIN incoming m
                       ON f.application_no = m.application_no AND f.seq = m.seq
                     WHERE f.centre_code = $1)",
                &[
                    &centre,
                    &col(|l| &l.application_no),
                    &rows.iter().map(|l| l.seq).collect::<Vec<i64>>(),
                    &col(|l| &l.subject_id),
                    &col(|l| &l.department),
                    &col(|l| &l.query),
                    &col(|l| &l.param),
                    &col(|l| &l.purpose),
                    &col(|l| &l.requester),
                    &col(|l| &l.channel),
                    &col(|l| &l.service_point),
                    &rows.iter().map(|l| l.asked_at_us).collect::<Vec<i64>>(),
                    &col(|l| &l.outcome),
                    &col(|l| &l.answer_hash),
                    &col(|l| &l.source),
                    &rows
                        .iter()
                        .map(|l| l.read_at_us)
                        .collect::<Vec<Option<i64>>>(),
                    &col(|l| &l.detail),
                ],
            )?;
            if n == rows.len() as u64 {
                return Ok(());
            }
            if n != 0 {
                // One INSERT writes all its rows or fails; never expected.
                self.failed = true;
                return Err(database(format!(
                    "fact_lookups: {n} of {} look-ups written",
                    rows.len()
                )));
            }
        }
        // Refused: name the row a loop inserting one by one would fail on.
        let found = self.query(
            "SELECT application_no, seq FROM fact_lookups
             WHERE centre_code = $1 AND (application_no, seq) IN (
                 SELECT * FROM unnest($2::text[], $3::bigint[]))",
            &[
                &centre,
                &rows
                    .iter()
                    .map(|l| l.application_no.as_str())
                    .collect::<Vec<&str>>(),
                &rows.iter().map(|l| l.seq).collect::<Vec<i64>>(),
            ],
        )?;
        let found = found
            .iter()
            .map(|r| {
                Ok((
                    column::<String>(r.try_get(0))?,
                    column::<i64>(r.try_get(1))?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let taken: HashSet<LookupKey<'_>> = found.iter().map(|(a, s)| (a.as_str(), *s)).collect();
        Err(match first_clash(rows, lookup_key, &taken) {
            Some(l) => lookup_conflict(centre, l),
            None => StoreError::Conflict {
                what: format!("look-ups in centre {centre}"),
            },
        })
    }

    /// One `UPDATE … FROM unnest(…)` that changes the look-ups only if every one of them
    /// is still pending, so it completes them all or none.
    fn complete_lookups(
        &mut self,
        centre: &str,
        application_no: &str,
        outcomes: &[LookupOutcome],
    ) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let seqs: Vec<i64> = outcomes.iter().map(|o| o.seq).collect();
        if distinct_keys(outcomes, |o| o.seq) {
            let col = |f: fn(&LookupOutcome) -> &str| outcomes.iter().map(f).collect::<Vec<&str>>();
            let n = self.execute(
                "WITH done AS (
                     SELECT * FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[],
                        $7::bigint[], $8::text[])
                        AS d (seq, outcome, answer_hash, source, read_at_us, detail)
                 ), ready AS MATERIALIZED (
                     SELECT COUNT(*) AS n FROM fact_lookups f JOIN done d ON f.seq = d.seq
                     WHERE f.centre_code = $1 AND f.application_no = $2
                       AND f.outcome = 'pending'
                 )
                 UPDATE fact_lookups f SET outcome = d.outcome, answer_hash = d.answer_hash,
                    source = d.source, read_at_us = d.read_at_us, detail = d.detail
                 FROM done d, ready r
                 WHERE f.centre_code = $1 AND f.application_no = $2 AND f.seq = d.seq
                   AND f.outcome = 'pending' AND r.n = cardinality($3::bigint[])",
                &[
                    &centre,
                    &application_no,
                    &seqs,
                    &col(|o| &o.outcome),
                    &col(|o| &o.answer_hash),
                    &col(|o| &o.source),
                    &outcomes
                        .iter()
                        .map(|o| o.read_at_us)
                        .collect::<Vec<Option<i64>>>(),
                    &col(|o| &o.detail),
                ],
            )?;
            if n == outcomes.len() as u64 {
                return Ok(());
            }
            if n != 0 {
                // Another transaction completed one of them meanwhile (the caller did not
                // lock the application): what this one did cannot be undone alone.
                self.failed = true;
                return Err(StoreError::Conflict {
                    what: format!(
                        "look-ups of application {application_no} in centre {centre} were \
                         completed concurrently"
                    ),
                });
            }
        }
        // Refused: name the look-up a loop completing one by one would fail on.
        let rows = self.query(
            "SELECT seq, outcome FROM fact_lookups
             WHERE centre_code = $1 AND application_no = $2 AND seq = ANY($3)",
            &[&centre, &application_no, &seqs],
        )?;
        let mut state: HashMap<i64, String> = HashMap::with_capacity(rows.len());
        for r in &rows {
            state.insert(column(r.try_get(0))?, column(r.try_get(1))?);
        }
        let mut seen = HashSet::with_capacity(outcomes.len());
        for o in outcomes {
            let what = format!(
                "look-up {} of application {application_no} in centre {centre}",
                o.seq
            );
            match state.get(&o.seq) {
                None => return Err(StoreError::NotFound { what }),
                Some(s) if s != "pending" || !seen.insert(o.seq) => {
                    return Err(StoreError::Conflict {
                        what: format!("{what} is no longer pending"),
                    });
                }
                Some(_) => {}
            }
        }
        Err(StoreError::Conflict {
            what: format!("look-ups of application {application_no} in centre {centre}"),
        })
    }

    /// Decodes a row selected with [`lookup_columns!`].
    fn lookup_of(r: &Row) -> Result<LookupRow, StoreError> {
        Ok(LookupRow {
            application_no: column(r.try_get(0))?,
            seq: column(r.try_get(1))?,
            subject_id: column(r.try_get(2))?,
            department: column(r.try_get(3))?,
            query: column(r.try_get(4))?,
            param: column(r.try_get(5))?,
            purpose: column(r.try_get(6))?,
            requester: column(r.try_get(7))?,
            channel: column(r.try_get(8))?,
            service_point: column(r.try_get(9))?,
            asked_at_us: column(r.try_get(10))?,
            outcome: column(r.try_get(11))?,
            answer_hash: column(r.try_get(12))?,
            source: column(r.try_get(13))?,
            read_at_us: column(r.try_get(14))?,
            detail: column(r.try_get(15))?,
        })
    }

    fn lookups_of_application(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<LookupRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                lookup_columns!(),
                " FROM fact_lookups WHERE centre_code = $1 AND application_no = $2 ORDER BY seq"
            ),
            &[&centre, &application_no],
        )?;
        rows.iter().map(Self::lookup_of).collect()
    }

    fn lookups_of_subject(
        &mut self,
        centre: &str,
        subject_id: &str,
    ) -> Result<Vec<LookupRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                lookup_columns!(),
                " FROM fact_lookups WHERE centre_code = $1 AND subject_id = $2"
            ),
            &[&centre, &subject_id],
        )?;
        let mut out = rows
            .iter()
            .map(Self::lookup_of)
            .collect::<Result<Vec<_>, _>>()?;
        // Byte-wise, like SQLite, whatever the database's collation.
        out.sort_unstable_by(|a, b| {
            (a.asked_at_us, &a.application_no, a.seq).cmp(&(
                b.asked_at_us,
                &b.application_no,
                b.seq,
            ))
        });
        Ok(out)
    }

    /// Decodes a row selected with [`fact_columns!`].
    fn fact_of(r: &Row) -> Result<FactRow, StoreError> {
        Ok(FactRow {
            application_no: column(r.try_get(0))?,
            subject_id: column(r.try_get(1))?,
            department: column(r.try_get(2))?,
            query: column(r.try_get(3))?,
            param: column(r.try_get(4))?,
            payload: column(r.try_get(5))?,
            answer_hash: column(r.try_get(6))?,
            source: column(r.try_get(7))?,
            read_at_us: column(r.try_get(8))?,
        })
    }

    fn application_facts(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<FactRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                fact_columns!(),
                " FROM application_facts WHERE centre_code = $1 AND application_no = $2"
            ),
            &[&centre, &application_no],
        )?;
        let mut out = rows
            .iter()
            .map(Self::fact_of)
            .collect::<Result<Vec<_>, _>>()?;
        // Byte-wise, like SQLite, whatever the database's collation.
        out.sort_unstable_by(|a, b| fact_key(a).cmp(&fact_key(b)));
        Ok(out)
    }

    /// As [`PgConn::insert_lookups`]: one guarded `INSERT … SELECT FROM unnest(…)`.
    fn insert_facts(&mut self, centre: &str, rows: &[FactRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let col = |f: fn(&FactRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
        if distinct_keys(rows, fact_key) {
            let n = self.execute(
                "WITH incoming AS (
                     SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[],
                        $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[])
                        AS f (application_no, subject_id, department, query, param, payload,
                              answer_hash, source, read_at_us)
                 )
                 INSERT INTO application_facts (centre_code, application_no, subject_id,
                    department, query, param, payload, answer_hash, source, read_at_us)
                 SELECT $1::text, i.* FROM incoming i
                 WHERE NOT EXISTS (
                     SELECT 1 FROM application_facts f JOIN incoming m
                       USING (application_no, subject_id, department, query, param)
                     WHERE f.centre_code = $1)",
                &[
                    &centre,
                    &col(|f| &f.application_no),
                    &col(|f| &f.subject_id),
                    &col(|f| &f.department),
                    &col(|f| &f.query),
                    &col(|f| &f.param),
                    &col(|f| &f.payload),
                    &col(|f| &f.answer_hash),
                    &col(|f| &f.source),
                    &rows.iter().map(|f| f.read_at_us).collect::<Vec<i64>>(),
                ],
            )?;
            if n == rows.len() as u64 {
                return Ok(());
            }
            if n != 0 {
                // One INSERT writes all its rows or fails; never expected.
                self.failed = true;
                return Err(database(format!(
                    "application_facts: {n} of {} facts written",
                    rows.len()
                )));
            }
        }
        // Refused: name the row a loop inserting one by one would fail on.
        let found = self.query(
            "SELECT application_no, subject_id, department, query, param FROM application_facts
             WHERE centre_code = $1
               AND (application_no, subject_id, department, query, param) IN (
                   SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[],
                      $6::text[]))",
            &[
                &centre,
                &col(|f| &f.application_no),
                &col(|f| &f.subject_id),
                &col(|f| &f.department),
                &col(|f| &f.query),
                &col(|f| &f.param),
            ],
        )?;
        let found = found
            .iter()
            .map(|r| {
                Ok((
                    column::<String>(r.try_get(0))?,
                    column::<String>(r.try_get(1))?,
                    column::<String>(r.try_get(2))?,
                    column::<String>(r.try_get(3))?,
                    column::<String>(r.try_get(4))?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let taken: HashSet<FactKey<'_>> = found
            .iter()
            .map(|(a, s, d, q, p)| (a.as_str(), s.as_str(), d.as_str(), q.as_str(), p.as_str()))
            .collect();
        Err(match first_clash(rows, fact_key, &taken) {
            Some(f) => fact_conflict(centre, f),
            None => StoreError::Conflict {
                what: format!("facts in centre {centre}"),
            },
        })
    }
}

/// A PostgreSQL transaction holding a pooled connection; rolls back when dropped
/// uncommitted, then returns the connection to the pool.
/// Most accounts cached per centre.
const CACHE_MAX_ACCOUNTS: usize = 1_000_000;

/// Committed account figures of one centre, as of chain head `head`.
#[derive(Debug)]
pub(crate) struct CentreCache {
    head: ChainHead,
    accounts: FxHashMap<AccountNo, AccountState>,
}

/// The process's account-figures cache.
///
/// Every change of an account's figures is part of a posting, and every posting moves
/// the centre's chain head in the same transaction. So a transaction that has locked the
/// centre row (`lock_centre`, `FOR UPDATE`) and finds the head this process last saw
/// knows no one else has changed any figures since, and may read them from here; any
/// other head empties the centre's cache. New accounts (which do not move the head) are
/// simply not found here and are read from the database. Read-only snapshots and
/// transactions that did not lock the centre always read the database; the audit never
/// reads the cache.
#[derive(Debug, Default)]
pub(crate) struct PgCache {
    centres: FxHashMap<String, CentreCache>,
}

pub(crate) struct PgTx<'a> {
    store: &'a PostgresStore,
    conn: Option<PgConn>,
    done: bool,
    read_only: bool,
    /// Centres locked in this transaction, with the head seen when locking.
    trusted: FxHashMap<String, ChainHead>,
    /// Accounts this transaction inserted or saved, by centre.
    written: FxHashMap<String, FxHashMap<AccountNo, AccountState>>,
    /// Chain heads this transaction set.
    new_heads: FxHashMap<String, ChainHead>,
}

impl<'a> PgTx<'a> {
    pub(crate) fn new(store: &'a PostgresStore, conn: PgConn, read_only: bool) -> PgTx<'a> {
        PgTx {
            store,
            conn: Some(conn),
            done: false,
            read_only,
            trusted: FxHashMap::default(),
            written: FxHashMap::default(),
            new_heads: FxHashMap::default(),
        }
    }

    fn cache(&self) -> Option<std::sync::MutexGuard<'_, PgCache>> {
        // A poisoned cache is only a lost optimisation: read the database instead.
        self.store.cache.lock().ok()
    }

    fn remember(&mut self, centre: &str, accounts: &[AccountState]) {
        if self.read_only {
            return;
        }
        let map = self.written.entry(centre.to_owned()).or_default();
        for a in accounts {
            map.insert(a.no.clone(), a.clone());
        }
    }

    /// After a successful commit: the cache takes this transaction's writes, or forgets
    /// a centre it can no longer vouch for.
    fn publish(&mut self) {
        let written = std::mem::take(&mut self.written);
        let new_heads = std::mem::take(&mut self.new_heads);
        let trusted = std::mem::take(&mut self.trusted);
        let Some(mut cache) = self.cache() else {
            return;
        };
        let mut centres: FxHashSet<&String> = written.keys().collect();
        centres.extend(new_heads.keys());
        for centre in centres {
            let accounts = written.get(centre);
            match new_heads.get(centre) {
                Some(new_head) => {
                    let ok = trusted.get(centre).is_some_and(|seen| {
                        cache.centres.get(centre).is_some_and(|c| c.head == *seen)
                    });
                    if !ok {
                        cache.centres.remove(centre);
                        continue;
                    }
                    if let Some(c) = cache.centres.get_mut(centre) {
                        c.head = *new_head;
                        for (no, a) in accounts.into_iter().flatten() {
                            if c.accounts.len() < CACHE_MAX_ACCOUNTS || c.accounts.contains_key(no)
                            {
                                c.accounts.insert(no.clone(), a.clone());
                            }
                        }
                    }
                }
                None => {
                    // Figures changed without a posting: nothing in Anju does this, but
                    // if it happens the cache must not keep older figures.
                    if let Some(c) = cache.centres.get_mut(centre) {
                        for no in accounts.into_iter().flat_map(|m| m.keys()) {
                            c.accounts.remove(no);
                        }
                    }
                }
            }
        }
    }

    fn conn(&mut self) -> Result<&mut PgConn, StoreError> {
        self.conn
            .as_mut()
            .ok_or_else(|| database("the transaction has already ended".to_owned()))
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        // A connection whose rollback fails is in an unknown state: it is discarded.
        let usable = self.done || conn.client.batch_execute("ROLLBACK").is_ok();
        conn.failed = false;
        self.store.release(usable.then_some(conn));
    }
}

impl StoreTx for PgTx<'_> {
    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let conn = self.conn()?;
        if conn.failed {
            // COMMIT would succeed and quietly roll back; say so instead.
            return Err(database(
                "the transaction was aborted by an earlier error and has been rolled back"
                    .to_owned(),
            ));
        }
        conn.batch("COMMIT")?;
        self.done = true;
        self.publish();
        Ok(())
    }

    fn insert_centre(&mut self, centre: &CentreRow) -> Result<(), StoreError> {
        self.conn()?.insert_centre(centre)
    }

    fn centre(&mut self, code: &str) -> Result<Option<CentreRow>, StoreError> {
        self.conn()?.centre(code)
    }

    fn centre_codes(&mut self) -> Result<Vec<String>, StoreError> {
        self.conn()?.centre_codes()
    }

    fn lock_centre(&mut self, centre: &str) -> Result<CentreRow, StoreError> {
        let row = self.conn()?.lock_centre(centre)?;
        if self.read_only {
            return Ok(row);
        }
        let locked_cache = match self.cache() {
            Some(mut cache) => {
                let stale = cache.centres.get(centre).is_none_or(|c| c.head != row.head);
                if stale {
                    cache.centres.insert(
                        centre.to_owned(),
                        CentreCache {
                            head: row.head,
                            accounts: FxHashMap::default(),
                        },
                    );
                }
                true
            }
            None => false,
        };
        if locked_cache {
            self.trusted.insert(centre.to_owned(), row.head);
        }
        Ok(row)
    }

    fn set_chain_head(&mut self, centre: &str, head: ChainHead) -> Result<(), StoreError> {
        self.conn()?.set_chain_head(centre, head)?;
        if !self.read_only {
            self.new_heads.insert(centre.to_owned(), head);
        }
        Ok(())
    }

    fn set_business_date(&mut self, centre: &str, date: Date) -> Result<(), StoreError> {
        self.conn()?.set_business_date(centre, date)
    }

    fn insert_accounts(
        &mut self,
        centre: &str,
        accounts: &[AccountState],
    ) -> Result<(), StoreError> {
        self.conn()?.insert_accounts(centre, accounts)?;
        self.remember(centre, accounts);
        Ok(())
    }

    fn load_accounts(
        &mut self,
        centre: &str,
        nos: &[AccountNo],
    ) -> Result<Vec<AccountState>, StoreError> {
        let Some(seen) = self.trusted.get(centre).copied() else {
            return self.conn()?.load_accounts(centre, nos);
        };
        let mut out = Vec::with_capacity(nos.len());
        let mut missing: Vec<AccountNo> = Vec::new();
        {
            let own = self.written.get(centre);
            let cache = self.cache();
            let cached = cache
                .as_ref()
                .and_then(|c| c.centres.get(centre))
                .filter(|c| c.head == seen);
            for no in nos {
                if let Some(a) = own.and_then(|m| m.get(no.as_str())) {
                    out.push(a.clone());
                } else if let Some(a) = cached.and_then(|c| c.accounts.get(no.as_str())) {
                    out.push(a.clone());
                } else {
                    missing.push(no.clone());
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let fetched = self.conn()?.load_accounts(centre, &missing)?;
        // Read under the centre lock with the head unchanged: committed, current figures.
        if let Some(mut cache) = self.cache()
            && let Some(c) = cache.centres.get_mut(centre)
            && c.head == seen
        {
            for a in &fetched {
                if c.accounts.len() >= CACHE_MAX_ACCOUNTS {
                    break;
                }
                c.accounts.insert(a.no.clone(), a.clone());
            }
        }
        out.extend(fetched);
        Ok(out)
    }

    fn save_accounts(&mut self, centre: &str, accounts: &[AccountState]) -> Result<(), StoreError> {
        self.conn()?.save_accounts(centre, accounts)?;
        self.remember(centre, accounts);
        Ok(())
    }

    fn save_accounts_owned(
        &mut self,
        centre: &str,
        accounts: Vec<AccountState>,
    ) -> Result<(), StoreError> {
        self.conn()?.save_accounts(centre, &accounts)?;
        if !self.read_only {
            let map = self.written.entry(centre.to_owned()).or_default();
            for a in accounts {
                map.insert(a.no.clone(), a);
            }
        }
        Ok(())
    }

    fn all_accounts(&mut self, centre: &str) -> Result<Vec<AccountState>, StoreError> {
        self.conn()?.all_accounts(centre)
    }

    fn entries_by_keys(
        &mut self,
        centre: &str,
        keys: &[String],
    ) -> Result<Vec<SealedEntry>, StoreError> {
        self.conn()?.entries_by_keys(centre, keys)
    }

    fn referring_entries(
        &mut self,
        centre: &str,
        seqs: &[i64],
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        self.conn()?.referring_entries(centre, seqs)
    }

    fn insert_entries(&mut self, centre: &str, entries: &[SealedEntry]) -> Result<(), StoreError> {
        self.conn()?.insert_entries(centre, entries)
    }

    fn scan_entries(
        &mut self,
        centre: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<SealedEntry>, StoreError> {
        self.conn()?.scan_entries(centre, after, limit)
    }

    fn counts(&mut self, centre: &str) -> Result<LedgerCounts, StoreError> {
        self.conn()?.counts(centre)
    }

    fn insert_unit(&mut self, centre: &str, unit: &UnitRow) -> Result<(), StoreError> {
        self.conn()?.insert_unit(centre, unit)
    }

    fn update_unit(&mut self, centre: &str, unit: &UnitRow) -> Result<(), StoreError> {
        self.conn()?.update_unit(centre, unit)
    }

    fn unit(&mut self, centre: &str, unit_no: &str) -> Result<Option<UnitRow>, StoreError> {
        self.conn()?.unit(centre, unit_no)
    }

    fn unit_by_credit_code(
        &mut self,
        centre: &str,
        code: &str,
    ) -> Result<Option<UnitRow>, StoreError> {
        self.conn()?.unit_by_credit_code(centre, code)
    }

    fn unit_nos(&mut self, centre: &str) -> Result<Vec<String>, StoreError> {
        self.conn()?.unit_nos(centre)
    }

    fn count_units(&mut self, centre: &str) -> Result<i64, StoreError> {
        self.conn()?.count_units(centre)
    }

    fn count_unit_members(&mut self, centre: &str, unit_no: &str) -> Result<i64, StoreError> {
        self.conn()?.count_unit_members(centre, unit_no)
    }

    fn insert_member(&mut self, centre: &str, member: &MemberRow) -> Result<(), StoreError> {
        self.conn()?.insert_member(centre, member)
    }

    fn update_member(&mut self, centre: &str, member: &MemberRow) -> Result<(), StoreError> {
        self.conn()?.update_member(centre, member)
    }

    fn member(&mut self, centre: &str, account_no: &str) -> Result<Option<MemberRow>, StoreError> {
        self.conn()?.member(centre, account_no)
    }

    fn member_by_id_number(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Option<MemberRow>, StoreError> {
        self.conn()?.member_by_id_number(centre, id_number)
    }

    fn count_members(&mut self, centre: &str) -> Result<i64, StoreError> {
        self.conn()?.count_members(centre)
    }

    fn append_event(&mut self, centre: &str, event: &EventRow) -> Result<(), StoreError> {
        self.conn()?.append_event(centre, event)
    }

    fn events(&mut self, centre: &str, subject: &str) -> Result<Vec<EventRow>, StoreError> {
        self.conn()?.events(centre, subject)
    }
    fn members_of_unit(
        &mut self,
        centre: &str,
        unit_no: &str,
    ) -> Result<Vec<MemberRow>, StoreError> {
        self.conn()?.members_of_unit(centre, unit_no)
    }

    fn closed_member_accounts(&mut self, centre: &str) -> Result<Vec<String>, StoreError> {
        self.conn()?.closed_member_accounts(centre)
    }

    fn members_in_statuses(
        &mut self,
        centre: &str,
        statuses: &[PersonalAccountStatus],
    ) -> Result<Vec<MemberRow>, StoreError> {
        self.conn()?.members_in_statuses(centre, statuses)
    }

    fn set_paid_to(
        &mut self,
        centre: &str,
        account_no: &str,
        paid_to: Option<YearMonth>,
    ) -> Result<(), StoreError> {
        self.conn()?.set_paid_to(centre, account_no, paid_to)
    }

    fn advance_paid_to(
        &mut self,
        centre: &str,
        bill_no: &str,
        entry_key: &str,
        month: YearMonth,
    ) -> Result<u64, StoreError> {
        self.conn()?
            .advance_paid_to(centre, bill_no, entry_key, month)
    }

    fn move_paid_to(
        &mut self,
        centre: &str,
        accounts: &[String],
        month: YearMonth,
    ) -> Result<u64, StoreError> {
        self.conn()?.move_paid_to(centre, accounts, month)
    }

    fn count_bills(&mut self, centre: &str) -> Result<i64, StoreError> {
        self.conn()?.count_bills(centre)
    }

    fn insert_bill(
        &mut self,
        centre: &str,
        bill: &BillRow,
        lines: &[BillLineRow],
    ) -> Result<(), StoreError> {
        self.conn()?.insert_bill(centre, bill, lines)
    }

    fn update_bill(&mut self, centre: &str, bill: &BillRow) -> Result<(), StoreError> {
        self.conn()?.update_bill(centre, bill)
    }

    fn replace_bill_lines(
        &mut self,
        centre: &str,
        bill_no: &str,
        lines: &[BillLineRow],
    ) -> Result<(), StoreError> {
        self.conn()?.replace_bill_lines(centre, bill_no, lines)
    }

    fn bill(&mut self, centre: &str, bill_no: &str) -> Result<Option<BillRow>, StoreError> {
        self.conn()?.bill(centre, bill_no)
    }

    fn remittance_bill(
        &mut self,
        centre: &str,
        payer: &str,
        month: YearMonth,
    ) -> Result<Option<BillRow>, StoreError> {
        self.conn()?.remittance_bill(centre, payer, month)
    }

    fn bills_of(&mut self, centre: &str, payer: &str) -> Result<Vec<BillRow>, StoreError> {
        self.conn()?.bills_of(centre, payer)
    }

    fn unpaid_bills_due_before(
        &mut self,
        centre: &str,
        date: Date,
    ) -> Result<Vec<BillRow>, StoreError> {
        self.conn()?.unpaid_bills_due_before(centre, date)
    }

    fn bill_lines(&mut self, centre: &str, bill_no: &str) -> Result<Vec<BillLineRow>, StoreError> {
        self.conn()?.bill_lines(centre, bill_no)
    }

    fn mark_lines_paid(
        &mut self,
        centre: &str,
        bill_no: &str,
        line_nos: &[i64],
        entry_key: &str,
    ) -> Result<u64, StoreError> {
        self.conn()?
            .mark_lines_paid(centre, bill_no, line_nos, entry_key)
    }

    fn unmark_lines_paid(
        &mut self,
        centre: &str,
        bill_no: &str,
        entry_key: &str,
    ) -> Result<u64, StoreError> {
        self.conn()?.unmark_lines_paid(centre, bill_no, entry_key)
    }

    fn paid_months(
        &mut self,
        centre: &str,
        account_no: &str,
    ) -> Result<Vec<YearMonth>, StoreError> {
        self.conn()?.paid_months(centre, account_no)
    }

    fn paid_lines_of(
        &mut self,
        centre: &str,
        account_no: &str,
    ) -> Result<Vec<(String, YearMonth)>, StoreError> {
        self.conn()?.paid_lines_of(centre, account_no)
    }

    fn units_all(&mut self, centre: &str) -> Result<Vec<UnitRow>, StoreError> {
        self.conn()?.units_all(centre)
    }

    fn members_with_unit(&mut self, centre: &str) -> Result<Vec<MemberRow>, StoreError> {
        self.conn()?.members_with_unit(centre)
    }

    fn remittance_bills_of_month(
        &mut self,
        centre: &str,
        month: YearMonth,
    ) -> Result<Vec<BillRow>, StoreError> {
        self.conn()?.remittance_bills_of_month(centre, month)
    }

    /// One statement for the bills and one binary COPY for their lines, under a
    /// savepoint: on `Conflict` (a bill number or remittance month taken, named as
    /// `insert_bill` names it) nothing of the batch is written and the transaction stays
    /// usable.
    fn insert_bills(
        &mut self,
        centre: &str,
        bills: &[(BillRow, Vec<BillLineRow>)],
    ) -> Result<(), StoreError> {
        self.conn()?.insert_bills(centre, bills)
    }

    fn bills_by_nos(
        &mut self,
        centre: &str,
        bill_nos: &[String],
    ) -> Result<Vec<BillRow>, StoreError> {
        self.conn()?.bills_by_nos(centre, bill_nos)
    }

    fn lines_of_bills(
        &mut self,
        centre: &str,
        bill_nos: &[String],
    ) -> Result<Vec<BillLineRow>, StoreError> {
        self.conn()?.lines_of_bills(centre, bill_nos)
    }

    fn lines_due(
        &mut self,
        centre: &str,
        bill_nos: &[String],
    ) -> Result<Vec<Vec<anju_store::collection::LineDue>>, StoreError> {
        self.conn()?.lines_due(centre, bill_nos)
    }

    fn receipts_by_keys(
        &mut self,
        centre: &str,
        keys: &[String],
    ) -> Result<Vec<ReceiptRow>, StoreError> {
        self.conn()?.receipts_by_keys(centre, keys)
    }

    /// Three set-wise statements (receipts; lines and 缴至年月; bills) under a savepoint,
    /// with the loop's result; on `Conflict` or `NotFound` nothing of the batch is written
    /// and the transaction stays usable.
    fn record_full_payments(
        &mut self,
        centre: &str,
        payments: &[FullPayment],
    ) -> Result<(), StoreError> {
        self.conn()?.record_full_payments(centre, payments)
    }

    fn insert_receipt(&mut self, centre: &str, receipt: &ReceiptRow) -> Result<(), StoreError> {
        self.conn()?.insert_receipt(centre, receipt)
    }

    fn receipt(&mut self, centre: &str, key: &str) -> Result<Option<ReceiptRow>, StoreError> {
        self.conn()?.receipt(centre, key)
    }

    fn receipts_of(&mut self, centre: &str, payer: &str) -> Result<Vec<ReceiptRow>, StoreError> {
        self.conn()?.receipts_of(centre, payer)
    }

    fn insert_reminder(&mut self, centre: &str, reminder: &ReminderRow) -> Result<(), StoreError> {
        self.conn()?.insert_reminder(centre, reminder)
    }

    fn reminders(&mut self, centre: &str, bill_no: &str) -> Result<Vec<ReminderRow>, StoreError> {
        self.conn()?.reminders(centre, bill_no)
    }

    fn insert_interest_run(
        &mut self,
        centre: &str,
        run: &InterestRunRow,
    ) -> Result<(), StoreError> {
        self.conn()?.insert_interest_run(centre, run)
    }

    fn interest_run(
        &mut self,
        centre: &str,
        year: i16,
    ) -> Result<Option<InterestRunRow>, StoreError> {
        self.conn()?.interest_run(centre, year)
    }

    fn account_legs(&mut self, centre: &str, account: &str) -> Result<Vec<LegRow>, StoreError> {
        self.conn()?.account_legs(centre, account)
    }

    fn insert_application(
        &mut self,
        centre: &str,
        app: &ApplicationRow,
        parties: &[PartyRow],
    ) -> Result<(), StoreError> {
        self.conn()?.insert_application(centre, app, parties)
    }

    fn application(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Option<ApplicationRow>, StoreError> {
        self.conn()?.application_row(centre, application_no, false)
    }

    fn insert_consent(
        &mut self,
        centre: &str,
        application_no: &str,
        consent: &anju_store::sharing::ConsentRow,
    ) -> Result<(), StoreError> {
        self.conn()?.insert_consent(centre, application_no, consent)
    }

    fn consents(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<anju_store::sharing::ConsentRow>, StoreError> {
        self.conn()?.consents(centre, application_no)
    }

    fn application_parties(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<PartyRow>, StoreError> {
        self.conn()?.application_parties(centre, application_no)
    }

    fn close_application(
        &mut self,
        centre: &str,
        application_no: &str,
        closed_at_us: i64,
    ) -> Result<(), StoreError> {
        self.conn()?
            .close_application(centre, application_no, closed_at_us)
    }

    /// `SELECT … FOR UPDATE`: a second transaction locking the same application waits
    /// until this one ends.
    fn lock_application(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Option<ApplicationRow>, StoreError> {
        self.conn()?.application_row(centre, application_no, true)
    }

    fn max_lookup_seq(&mut self, centre: &str, application_no: &str) -> Result<i64, StoreError> {
        self.conn()?.max_lookup_seq(centre, application_no)
    }

    fn insert_lookups(&mut self, centre: &str, rows: &[LookupRow]) -> Result<(), StoreError> {
        self.conn()?.insert_lookups(centre, rows)
    }

    fn complete_lookups(
        &mut self,
        centre: &str,
        application_no: &str,
        outcomes: &[LookupOutcome],
    ) -> Result<(), StoreError> {
        self.conn()?
            .complete_lookups(centre, application_no, outcomes)
    }

    fn lookups_of_application(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<LookupRow>, StoreError> {
        self.conn()?.lookups_of_application(centre, application_no)
    }

    fn lookups_of_subject(
        &mut self,
        centre: &str,
        subject_id: &str,
    ) -> Result<Vec<LookupRow>, StoreError> {
        self.conn()?.lookups_of_subject(centre, subject_id)
    }

    fn application_facts(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<FactRow>, StoreError> {
        self.conn()?.application_facts(centre, application_no)
    }

    fn insert_facts(&mut self, centre: &str, rows: &[FactRow]) -> Result<(), StoreError> {
        self.conn()?.insert_facts(centre, rows)
    }

    // ---- bank settlement -----------------------------------------------------------
    fn insert_bank(&mut self, centre: &str, bank: &BankRow) -> Result<(), StoreError> {
        self.conn()?.insert_bank(centre, bank)
    }

    fn banks(&mut self, centre: &str) -> Result<Vec<BankRow>, StoreError> {
        self.conn()?.banks(centre)
    }

    fn bank(&mut self, centre: &str, code: &str) -> Result<Option<BankRow>, StoreError> {
        self.conn()?.bank(centre, code)
    }

    fn bind_card(&mut self, centre: &str, card: &CardRow) -> Result<(), StoreError> {
        self.conn()?.bind_card(centre, card)
    }

    fn card(&mut self, centre: &str, account_no: &str) -> Result<Option<CardRow>, StoreError> {
        self.conn()?.card(centre, account_no)
    }

    fn insert_unit_bank_account(
        &mut self,
        centre: &str,
        row: &UnitBankAccountRow,
    ) -> Result<(), StoreError> {
        self.conn()?.insert_unit_bank_account(centre, row)
    }

    fn unit_bank_accounts(
        &mut self,
        centre: &str,
        unit_no: &str,
    ) -> Result<Vec<UnitBankAccountRow>, StoreError> {
        self.conn()?.unit_bank_accounts(centre, unit_no)
    }

    fn unit_by_bank_account(
        &mut self,
        centre: &str,
        bank_code: &str,
        account: &str,
    ) -> Result<Option<UnitBankAccountRow>, StoreError> {
        self.conn()?
            .unit_by_bank_account(centre, bank_code, account)
    }

    fn insert_instructions(
        &mut self,
        centre: &str,
        rows: &[InstructionRow],
    ) -> Result<(), StoreError> {
        self.conn()?.insert_instructions(centre, rows)
    }

    fn instructions(
        &mut self,
        centre: &str,
        serials: &[&str],
    ) -> Result<Vec<InstructionRow>, StoreError> {
        self.conn()?.instructions(centre, serials)
    }

    /// `SELECT … FOR UPDATE`: a second transaction locking the same instruction waits
    /// until this one ends.
    fn lock_instruction(
        &mut self,
        centre: &str,
        serial: &str,
    ) -> Result<Option<InstructionRow>, StoreError> {
        self.conn()?.instruction(centre, serial, true)
    }

    fn lock_instructions(
        &mut self,
        centre: &str,
        serials: &[&str],
    ) -> Result<Vec<InstructionRow>, StoreError> {
        self.conn()?.lock_instructions(centre, serials)
    }

    fn update_instructions(
        &mut self,
        centre: &str,
        rows: &[InstructionRow],
    ) -> Result<(), StoreError> {
        self.conn()?.update_instructions(centre, rows)
    }

    fn instructions_unsettled(
        &mut self,
        centre: &str,
        bank_code: Option<&str>,
        due_us: i64,
        limit: usize,
    ) -> Result<Vec<InstructionRow>, StoreError> {
        self.conn()?
            .instructions_unsettled(centre, bank_code, due_us, limit)
    }

    fn instructions_executed_on(
        &mut self,
        centre: &str,
        bank_code: &str,
        date: Date,
    ) -> Result<Vec<InstructionRow>, StoreError> {
        self.conn()?
            .instructions_executed_on(centre, bank_code, date)
    }

    fn instruction_counts(&mut self, centre: &str) -> Result<Vec<(String, i64)>, StoreError> {
        self.conn()?.instruction_counts(centre)
    }

    fn insert_notice(&mut self, centre: &str, row: &NoticeRow) -> Result<bool, StoreError> {
        self.conn()?.insert_notice(centre, row)
    }

    fn insert_notice_refusal(
        &mut self,
        centre: &str,
        row: &NoticeRefusalRow,
    ) -> Result<(), StoreError> {
        self.conn()?.insert_notice_refusal(centre, row)
    }

    fn notice_refusals(
        &mut self,
        centre: &str,
        limit: usize,
    ) -> Result<Vec<NoticeRefusalRow>, StoreError> {
        self.conn()?.notice_refusals(centre, limit)
    }

    fn insert_incoming(&mut self, centre: &str, row: &IncomingRow) -> Result<(), StoreError> {
        self.conn()?.insert_incoming(centre, row)
    }

    fn incoming(
        &mut self,
        centre: &str,
        bank_code: &str,
        bank_ref: &str,
    ) -> Result<Option<IncomingRow>, StoreError> {
        self.conn()?.incoming(centre, bank_code, bank_ref)
    }

    fn update_incoming(&mut self, centre: &str, row: &IncomingRow) -> Result<(), StoreError> {
        self.conn()?.update_incoming(centre, row)
    }

    fn incoming_on(
        &mut self,
        centre: &str,
        bank_code: &str,
        date: Date,
    ) -> Result<Vec<IncomingRow>, StoreError> {
        self.conn()?.incoming_on(centre, bank_code, date)
    }

    fn incoming_in_suspense(&mut self, centre: &str) -> Result<Vec<IncomingRow>, StoreError> {
        self.conn()?.incoming_in_suspense(centre)
    }

    fn insert_recon_run(&mut self, centre: &str, row: &ReconRunRow) -> Result<(), StoreError> {
        self.conn()?.insert_recon_run(centre, row)
    }

    fn recon_runs(
        &mut self,
        centre: &str,
        bank_code: &str,
        date: Date,
    ) -> Result<Vec<ReconRunRow>, StoreError> {
        self.conn()?.recon_runs(centre, bank_code, date)
    }

    fn upsert_recon_items(
        &mut self,
        centre: &str,
        rows: &[ReconItemRow],
    ) -> Result<(), StoreError> {
        self.conn()?.upsert_recon_items(centre, rows)
    }

    fn recon_items(
        &mut self,
        centre: &str,
        bank_code: Option<&str>,
        date: Option<Date>,
        open_only: bool,
    ) -> Result<Vec<ReconItemRow>, StoreError> {
        self.conn()?.recon_items(centre, bank_code, date, open_only)
    }

    fn update_recon_items(
        &mut self,
        centre: &str,
        rows: &[ReconItemRow],
    ) -> Result<(), StoreError> {
        self.conn()?.update_recon_items(centre, rows)
    }

    // ---- withdrawals ---------------------------------------------------------------
    fn insert_withdrawal(&mut self, centre: &str, row: &WithdrawalRow) -> Result<(), StoreError> {
        self.conn()?.insert_withdrawal(centre, row)
    }

    fn withdrawal(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Option<WithdrawalRow>, StoreError> {
        self.conn()?.withdrawal(centre, application_no, false)
    }

    /// `SELECT … FOR UPDATE`: a second transaction locking the same withdrawal waits
    /// until this one ends.
    fn lock_withdrawal(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Option<WithdrawalRow>, StoreError> {
        self.conn()?.withdrawal(centre, application_no, true)
    }

    fn update_withdrawal(&mut self, centre: &str, row: &WithdrawalRow) -> Result<(), StoreError> {
        self.conn()?.update_withdrawal(centre, row)
    }

    fn withdrawals_of_account(
        &mut self,
        centre: &str,
        account_no: &str,
    ) -> Result<Vec<WithdrawalRow>, StoreError> {
        self.conn()?.withdrawals_of_account(centre, account_no)
    }

    fn withdrawals_by_home_key(
        &mut self,
        centre: &str,
        ground: &str,
        home_key: &str,
    ) -> Result<Vec<WithdrawalRow>, StoreError> {
        self.conn()?
            .withdrawals_by_home_key(centre, ground, home_key)
    }

    fn withdrawals_with_status(
        &mut self,
        centre: &str,
        statuses: &[&str],
    ) -> Result<Vec<WithdrawalRow>, StoreError> {
        self.conn()?.withdrawals_with_status(centre, statuses)
    }

    fn insert_withdrawal_events(
        &mut self,
        centre: &str,
        rows: &[WithdrawalEventRow],
    ) -> Result<(), StoreError> {
        self.conn()?.insert_withdrawal_events(centre, rows)
    }

    fn withdrawal_events(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<WithdrawalEventRow>, StoreError> {
        self.conn()?.withdrawal_events(centre, application_no)
    }

    fn insert_payees(&mut self, centre: &str, rows: &[PayeeRow]) -> Result<(), StoreError> {
        self.conn()?.insert_payees(centre, rows)
    }

    fn payees(&mut self, centre: &str, application_no: &str) -> Result<Vec<PayeeRow>, StoreError> {
        self.conn()?.payees(centre, application_no)
    }

    // ---- loans ---------------------------------------------------------------------
    fn count_loans(&mut self, centre: &str) -> Result<i64, StoreError> {
        self.conn()?.count_loans(centre)
    }

    fn insert_loan(&mut self, centre: &str, row: &LoanRow) -> Result<(), StoreError> {
        self.conn()?.insert_loan(centre, row)
    }

    fn loan(&mut self, centre: &str, loan_no: &str) -> Result<Option<LoanRow>, StoreError> {
        self.conn()?.loan(centre, loan_no, false)
    }

    /// `SELECT … FOR UPDATE`: a second transaction locking the same loan waits.
    fn lock_loan(&mut self, centre: &str, loan_no: &str) -> Result<Option<LoanRow>, StoreError> {
        self.conn()?.loan(centre, loan_no, true)
    }

    fn update_loans(&mut self, centre: &str, rows: &[LoanRow]) -> Result<(), StoreError> {
        self.conn()?.update_loans(centre, rows)
    }

    fn service_loans(&mut self, centre: &str, rows: &[LoanRow]) -> Result<(), StoreError> {
        self.conn()?.service_loans(centre, rows)
    }

    fn loans_of_person(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Vec<LoanRow>, StoreError> {
        self.conn()?.loans_of_person(centre, id_number)
    }

    fn loans_with_status(
        &mut self,
        centre: &str,
        statuses: &[&str],
    ) -> Result<Vec<LoanRow>, StoreError> {
        self.conn()?.loans_with_status(centre, statuses)
    }

    fn loans_by_nos(
        &mut self,
        centre: &str,
        loan_nos: &[String],
    ) -> Result<Vec<LoanRow>, StoreError> {
        self.conn()?.loans_by_nos(centre, loan_nos)
    }

    fn upsert_installments(
        &mut self,
        centre: &str,
        rows: &[InstallmentRow],
    ) -> Result<(), StoreError> {
        self.conn()?.upsert_installments(centre, rows)
    }

    fn service_installments(
        &mut self,
        centre: &str,
        rows: &[InstallmentRow],
    ) -> Result<(), StoreError> {
        self.conn()?.service_installments(centre, rows)
    }

    fn delete_installments_from(
        &mut self,
        centre: &str,
        loan_no: &str,
        from_period: i32,
    ) -> Result<(), StoreError> {
        self.conn()?
            .delete_installments_from(centre, loan_no, from_period)
    }

    fn installments(
        &mut self,
        centre: &str,
        loan_no: &str,
    ) -> Result<Vec<InstallmentRow>, StoreError> {
        self.conn()?.installments(centre, loan_no)
    }

    fn installments_unpaid_by(
        &mut self,
        centre: &str,
        date: Date,
    ) -> Result<Vec<InstallmentRow>, StoreError> {
        self.conn()?.installments_unpaid_by(centre, date)
    }

    fn loan_installments_unpaid_by(
        &mut self,
        centre: &str,
        loan_nos: &[String],
        date: Date,
    ) -> Result<Vec<InstallmentRow>, StoreError> {
        self.conn()?
            .loan_installments_unpaid_by(centre, loan_nos, date)
    }

    fn count_loan_events(
        &mut self,
        centre: &str,
        loan_nos: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        self.conn()?.count_loan_events(centre, loan_nos)
    }

    fn insert_loan_events(
        &mut self,
        centre: &str,
        rows: &[LoanEventRow],
    ) -> Result<(), StoreError> {
        self.conn()?.insert_loan_events(centre, rows)
    }

    fn loan_events(
        &mut self,
        centre: &str,
        loan_no: &str,
    ) -> Result<Vec<LoanEventRow>, StoreError> {
        self.conn()?.loan_events(centre, loan_no)
    }

    fn insert_loan_document(
        &mut self,
        centre: &str,
        row: &LoanDocumentRow,
    ) -> Result<(), StoreError> {
        self.conn()?.insert_loan_document(centre, row)
    }

    fn loan_documents(
        &mut self,
        centre: &str,
        loan_no: &str,
    ) -> Result<Vec<LoanDocumentRow>, StoreError> {
        self.conn()?.loan_documents(centre, loan_no)
    }

    fn day_close(&mut self, centre: &str, date: Date) -> Result<Option<DayCloseRow>, StoreError> {
        self.conn()?.day_close(centre, date)
    }

    fn insert_day_close(&mut self, centre: &str, row: &DayCloseRow) -> Result<(), StoreError> {
        self.conn()?.insert_day_close(centre, row)
    }

    // ---- access --------------------------------------------------------------------
    fn insert_service_point(
        &mut self,
        centre: &str,
        row: &ServicePointRow,
    ) -> Result<(), StoreError> {
        self.conn()?.insert_service_point(centre, row)
    }

    fn service_point(
        &mut self,
        centre: &str,
        code: &str,
    ) -> Result<Option<ServicePointRow>, StoreError> {
        self.conn()?.service_point(centre, code)
    }

    fn service_points(
        &mut self,
        centre: &str,
        point_type: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<ServicePointRow>, StoreError> {
        self.conn()?.service_points(centre, point_type, status)
    }

    fn set_point_businesses(
        &mut self,
        centre: &str,
        code: &str,
        businesses: &str,
    ) -> Result<(), StoreError> {
        self.conn()?.set_point_businesses(centre, code, businesses)
    }

    fn close_service_point(
        &mut self,
        centre: &str,
        code: &str,
        on: Date,
    ) -> Result<(), StoreError> {
        self.conn()?.close_service_point(centre, code, on)
    }

    fn reopen_service_point(&mut self, centre: &str, code: &str) -> Result<(), StoreError> {
        self.conn()?.reopen_service_point(centre, code)
    }

    fn insert_staff(&mut self, centre: &str, row: &StaffRow) -> Result<(), StoreError> {
        self.conn()?.insert_staff(centre, row)
    }

    fn staff(&mut self, centre: &str, staff_id: &str) -> Result<Option<StaffRow>, StoreError> {
        self.conn()?.staff(centre, staff_id)
    }

    fn staff_list(
        &mut self,
        centre: &str,
        service_point: Option<&str>,
    ) -> Result<Vec<StaffRow>, StoreError> {
        self.conn()?.staff_list(centre, service_point)
    }

    fn set_staff_password(
        &mut self,
        centre: &str,
        staff_id: &str,
        password_hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        self.conn()?
            .set_staff_password(centre, staff_id, password_hash, at_us)
    }

    fn record_staff_failure(
        &mut self,
        centre: &str,
        staff_id: &str,
        lock_after: i32,
        locked_until_us: i64,
    ) -> Result<i32, StoreError> {
        self.conn()?
            .record_staff_failure(centre, staff_id, lock_after, locked_until_us)
    }

    fn record_staff_success(
        &mut self,
        centre: &str,
        staff_id: &str,
        totp_step: Option<i64>,
    ) -> Result<(), StoreError> {
        self.conn()?
            .record_staff_success(centre, staff_id, totp_step)
    }

    fn set_staff_totp(
        &mut self,
        centre: &str,
        staff_id: &str,
        secret: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn()?.set_staff_totp(centre, staff_id, secret)
    }

    fn set_staff_role(
        &mut self,
        centre: &str,
        staff_id: &str,
        role: &str,
    ) -> Result<(), StoreError> {
        self.conn()?.set_staff_role(centre, staff_id, role)
    }

    fn set_staff_point(
        &mut self,
        centre: &str,
        staff_id: &str,
        service_point: &str,
    ) -> Result<(), StoreError> {
        self.conn()?
            .set_staff_point(centre, staff_id, service_point)
    }

    fn disable_staff(&mut self, centre: &str, staff_id: &str) -> Result<(), StoreError> {
        self.conn()?.disable_staff(centre, staff_id)
    }

    fn insert_unit_clerk(&mut self, centre: &str, row: &UnitClerkRow) -> Result<(), StoreError> {
        self.conn()?.insert_unit_clerk(centre, row)
    }

    fn unit_clerk(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
    ) -> Result<Option<UnitClerkRow>, StoreError> {
        self.conn()?.unit_clerk(centre, unit_no, id_number)
    }

    fn unit_clerks(
        &mut self,
        centre: &str,
        unit_no: &str,
    ) -> Result<Vec<UnitClerkRow>, StoreError> {
        self.conn()?.unit_clerks(centre, unit_no)
    }

    fn revoke_unit_clerk(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        self.conn()?
            .revoke_unit_clerk(centre, unit_no, id_number, at_us)
    }

    fn set_unit_clerk_password(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
        password_hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        self.conn()?
            .set_unit_clerk_password(centre, unit_no, id_number, password_hash, at_us)
    }

    fn record_unit_clerk_failure(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
        lock_after: i32,
        locked_until_us: i64,
    ) -> Result<i32, StoreError> {
        self.conn()?.record_unit_clerk_failure(
            centre,
            unit_no,
            id_number,
            lock_after,
            locked_until_us,
        )
    }

    fn record_unit_clerk_success(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
    ) -> Result<(), StoreError> {
        self.conn()?
            .record_unit_clerk_success(centre, unit_no, id_number)
    }

    fn bind_phone(&mut self, centre: &str, row: &PhoneBindingRow) -> Result<(), StoreError> {
        self.conn()?.bind_phone(centre, row)
    }

    fn phone_binding(
        &mut self,
        centre: &str,
        phone: &str,
    ) -> Result<Option<PhoneBindingRow>, StoreError> {
        self.conn()?.phone_binding(centre, phone)
    }

    fn phone_of_person(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Option<PhoneBindingRow>, StoreError> {
        self.conn()?.phone_of_person(centre, id_number)
    }

    fn unbind_phone(&mut self, centre: &str, id_number: &str) -> Result<bool, StoreError> {
        self.conn()?.unbind_phone(centre, id_number)
    }

    fn insert_otp(&mut self, centre: &str, row: &OtpChallengeRow) -> Result<i64, StoreError> {
        self.conn()?.insert_otp(centre, row)
    }

    fn open_otp(
        &mut self,
        centre: &str,
        phone: &str,
        purpose: &str,
        now_us: i64,
    ) -> Result<Option<OtpChallengeRow>, StoreError> {
        self.conn()?.open_otp(centre, phone, purpose, now_us)
    }

    fn count_otps_since(
        &mut self,
        centre: &str,
        phone: &str,
        since_us: i64,
    ) -> Result<i64, StoreError> {
        self.conn()?.count_otps_since(centre, phone, since_us)
    }

    fn record_otp_attempt(&mut self, centre: &str, id: i64) -> Result<i32, StoreError> {
        self.conn()?.record_otp_attempt(centre, id)
    }

    fn consume_otp(&mut self, centre: &str, id: i64, at_us: i64) -> Result<(), StoreError> {
        self.conn()?.consume_otp(centre, id, at_us)
    }

    fn insert_session(&mut self, centre: &str, row: &SessionRow) -> Result<(), StoreError> {
        self.conn()?.insert_session(centre, row)
    }

    fn session(
        &mut self,
        centre: &str,
        token_hash: &str,
    ) -> Result<Option<SessionRow>, StoreError> {
        self.conn()?.session(centre, token_hash)
    }

    fn touch_session(
        &mut self,
        centre: &str,
        token_hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        self.conn()?
            .update_session(centre, token_hash, false, at_us)
    }

    fn revoke_session(
        &mut self,
        centre: &str,
        token_hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        self.conn()?.update_session(centre, token_hash, true, at_us)
    }

    fn revoke_sessions_of(
        &mut self,
        centre: &str,
        subject_kind: &str,
        subject_id: &str,
        at_us: i64,
    ) -> Result<u64, StoreError> {
        self.conn()?
            .revoke_sessions_of(centre, subject_kind, subject_id, at_us)
    }

    fn sessions_of(
        &mut self,
        centre: &str,
        subject_kind: &str,
        subject_id: &str,
    ) -> Result<Vec<SessionRow>, StoreError> {
        self.conn()?.sessions_of(centre, subject_kind, subject_id)
    }

    fn remember_device(
        &mut self,
        centre: &str,
        subject_kind: &str,
        subject_id: &str,
        device: &str,
        at_us: i64,
    ) -> Result<bool, StoreError> {
        self.conn()?
            .remember_device(centre, subject_kind, subject_id, device, at_us)
    }

    fn insert_login_attempt(
        &mut self,
        centre: &str,
        key: &str,
        at_us: i64,
        ok: bool,
    ) -> Result<(), StoreError> {
        self.conn()?.insert_login_attempt(centre, key, at_us, ok)
    }

    fn count_login_attempts(
        &mut self,
        centre: &str,
        key: &str,
        since_us: i64,
    ) -> Result<AttemptCounts, StoreError> {
        self.conn()?.count_login_attempts(centre, key, since_us)
    }

    fn prune_login_attempts(&mut self, centre: &str, before_us: i64) -> Result<u64, StoreError> {
        self.conn()?.prune_login_attempts(centre, before_us)
    }

    fn audit_head(&mut self, centre: &str) -> Result<Option<(i64, String)>, StoreError> {
        self.conn()?.audit_head(centre)
    }

    fn append_audit(&mut self, centre: &str, row: &AuditRow) -> Result<(), StoreError> {
        self.conn()?.append_audit(centre, row)
    }

    fn audit_range(
        &mut self,
        centre: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        self.conn()?.audit_range(centre, after, limit)
    }

    fn search_audit(
        &mut self,
        centre: &str,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        self.conn()?.search_audit(centre, filter, before, limit)
    }

    fn set_notification_pref(
        &mut self,
        centre: &str,
        row: &NotificationPrefRow,
    ) -> Result<(), StoreError> {
        self.conn()?.set_notification_pref(centre, row)
    }

    fn notification_prefs(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Vec<NotificationPrefRow>, StoreError> {
        self.conn()?.notification_prefs(centre, id_number)
    }

    fn insert_notification(
        &mut self,
        centre: &str,
        row: &NotificationRow,
    ) -> Result<i64, StoreError> {
        self.conn()?.insert_notification(centre, row)
    }

    fn pending_notifications(
        &mut self,
        centre: &str,
        limit: usize,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        self.conn()?.pending_notifications(centre, limit)
    }

    fn finish_notification(
        &mut self,
        centre: &str,
        id: i64,
        status: &str,
        at_us: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn()?
            .finish_notification(centre, id, status, at_us, error)
    }

    fn notifications_of(
        &mut self,
        centre: &str,
        id_number: &str,
        limit: usize,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        self.conn()?.notifications_of(centre, id_number, limit)
    }

    fn notify_cursor(&mut self, centre: &str) -> Result<i64, StoreError> {
        self.conn()?.notify_cursor(centre)
    }

    fn set_notify_cursor(&mut self, centre: &str, seq: i64) -> Result<(), StoreError> {
        self.conn()?.set_notify_cursor(centre, seq)
    }

    fn insert_approval(&mut self, centre: &str, row: &ApprovalRow) -> Result<i64, StoreError> {
        self.conn()?.insert_approval(centre, row)
    }

    fn approval(&mut self, centre: &str, id: i64) -> Result<Option<ApprovalRow>, StoreError> {
        self.conn()?.approval(centre, id)
    }

    fn pending_approvals(
        &mut self,
        centre: &str,
        business: Option<&str>,
    ) -> Result<Vec<ApprovalRow>, StoreError> {
        self.conn()?.pending_approvals(centre, business)
    }

    fn decide_approval(
        &mut self,
        centre: &str,
        id: i64,
        decision: &str,
        checker: &str,
        at_us: i64,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn()?
            .decide_approval(centre, id, decision, checker, at_us, reason)
    }

    fn insert_policy_version(
        &mut self,
        centre: &str,
        row: &PolicyVersionRow,
    ) -> Result<(), StoreError> {
        self.conn()?.insert_policy_version(centre, row)
    }

    fn policy_versions(&mut self, centre: &str) -> Result<Vec<PolicyVersionRow>, StoreError> {
        self.conn()?.policy_versions(centre)
    }

    fn current_policy(&mut self, centre: &str) -> Result<Option<PolicyVersionRow>, StoreError> {
        self.conn()?.current_policy(centre)
    }
}

/// A month paid in full and the month before it, as stored: 缴至年月 moves to the first
/// from the second or from unset (only 1900-01 has no month before it; then only an
/// unset month moves).
fn month_and_before(month: YearMonth) -> (String, Option<String>) {
    (month.to_string(), month.plus(-1).map(|p| p.to_string()))
}
