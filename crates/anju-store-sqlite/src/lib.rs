//! Anju's storage on embedded SQLite (the default): one file, WAL mode, `synchronous=FULL`
//! so a committed online entry survives power loss, migrations embedded in the binary.
//!
//! rusqlite is used directly rather than through an async pool: a batch of a million legs
//! is one transaction of cached prepared statements, several times faster than per-row
//! async calls. One connection serialises writers, which SQLite does anyway; callers on an
//! async runtime use `spawn_blocking`.

mod access;
mod group;
mod loan;
mod rows;
mod settlement;
mod withdrawal;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use anju_domain::collection::YearMonth;
use anju_domain::ledger::{AccountNo, AccountState, ChainHead, SealedEntry};
use anju_store::access::{
    ApprovalRow, AttemptCounts, AuditFilter, AuditRow, NotificationPrefRow, NotificationRow,
    OtpChallengeRow, PhoneBindingRow, PolicyVersionRow, ServicePointRow, SessionRow, StaffRow,
    UnitClerkRow,
};
use anju_store::collection::{
    BillLineRow, BillRow, InterestRunRow, LegRow, LineDue, RawBill, RawBillLine, RawInterestRun,
    RawLeg, RawReceipt, RawReminder, ReceiptRow, ReminderRow, parse_month,
};
use anju_store::loan::{DayCloseRow, InstallmentRow, LoanDocumentRow, LoanEventRow, LoanRow};
use anju_store::raw::{RawEvent, RawMember, RawUnit};
use anju_store::registry::{EventRow, MemberRow, UnitRow};
use anju_store::settlement::{
    BankRow, CardRow, IncomingRow, InstructionRow, NoticeRefusalRow, NoticeRow, ReconItemRow,
    ReconRunRow, UnitBankAccountRow,
};
use anju_store::sharing::{
    ApplicationRow, FactRow, LookupOutcome, LookupRow, PartyRow, RawApplication,
};
use anju_store::withdrawal::{PayeeRow, WithdrawalEventRow, WithdrawalRow};
use anju_store::{
    Backend, CentreRow, ColumnSchema, LedgerCounts, Store, StoreError, StoreTx, TableSchema,
    migration_checksum, migration_needed,
};
use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::{FxHashMap, FxHashSet};

use rows::{
    ACCOUNT_COLUMNS, APPLICATION_COLUMNS, FACT_COLUMNS, LOOKUP_COLUMNS, account_from_row,
    application_from_row, date_str, digest_hex, entries_with_legs, fact_from_row, lookup_from_row,
};

/// Embedded migrations, in order: (version, name, SQL).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "ledger", include_str!("../migrations/0001_ledger.sql")),
    (
        2,
        "registry",
        include_str!("../migrations/0002_registry.sql"),
    ),
    (
        3,
        "remittance",
        include_str!("../migrations/0003_remittance.sql"),
    ),
    (
        4,
        "hot_updates",
        include_str!("../migrations/0004_hot_updates.sql"),
    ),
    (5, "sharing", include_str!("../migrations/0005_sharing.sql")),
    (
        6,
        "settlement",
        include_str!("../migrations/0006_settlement.sql"),
    ),
    (
        7,
        "withdrawals",
        include_str!("../migrations/0007_withdrawals.sql"),
    ),
    (8, "loans", include_str!("../migrations/0008_loans.sql")),
    (9, "access", include_str!("../migrations/0009_access.sql")),
    (10, "policy", include_str!("../migrations/0010_policy.sql")),
    (
        11,
        "loan_servicing",
        include_str!("../migrations/0011_loan_servicing.sql"),
    ),
    (
        12,
        "bill_payment",
        include_str!("../migrations/0012_bill_payment.sql"),
    ),
    (
        13,
        "bill_lines_by_month",
        include_str!("../migrations/0013_bill_lines_by_month.sql"),
    ),
    (
        14,
        "keys_lead_with_account",
        include_str!("../migrations/0014_keys_lead_with_account.sql"),
    ),
];

/// `WITH RECURSIVE months (m)`: every month present in the centre's bill lines (`?1`), one
/// index seek each — a skip scan over `bill_lines_month_account` (schema 13) — so a
/// member's lines are then found by (month, account). Join it first with `CROSS JOIN`,
/// which SQLite never reorders: otherwise the planner may scan the centre's lines.
macro_rules! member_months {
    () => {
        "WITH RECURSIVE months (m) AS (
             SELECT min(month) FROM bill_lines WHERE centre_code = ?1
             UNION ALL
             SELECT (SELECT min(month) FROM bill_lines
                     WHERE centre_code = ?1 AND month > months.m)
             FROM months WHERE months.m IS NOT NULL
         ) "
    };
}

/// Keys per `IN (…)` list on the loan paths (well under SQLite's 32,766 parameters).
const CHUNK_ROWS: usize = 200;

/// Above this many legs, a batch's legs are inserted in account order (a few legs of an
/// online entry are not worth sorting).
const SORT_LEGS_ABOVE: usize = 200;

/// Above this many accounts, `load_accounts` scans the centre instead of looking up each.
const SCAN_THRESHOLD: usize = 20_000;

fn db_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(code, msg) = &e
        && code.code == rusqlite::ErrorCode::ConstraintViolation
    {
        let text = msg.clone().unwrap_or_default();
        if text.contains("UNIQUE") || text.contains("PRIMARY KEY") {
            return StoreError::Conflict { what: text };
        }
    }
    StoreError::Database {
        backend: Backend::Sqlite,
        message: e.to_string(),
    }
}

const MEMBER_COLUMNS: &str = "account_no, id_number, name, unit_no, base_fen, status, \
    before_freeze, opened_on, paid_to, flexible_ratio";

fn raw_member(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawMember> {
    Ok(RawMember {
        account_no: r.get(0)?,
        id_number: r.get(1)?,
        name: r.get(2)?,
        unit_no: r.get(3)?,
        base_fen: r.get(4)?,
        status: r.get(5)?,
        before_freeze: r.get(6)?,
        opened_on: r.get(7)?,
        paid_to: r.get(8)?,
        flexible_ratio: r.get(9)?,
    })
}

const UNIT_COLUMNS: &str = "unit_no, credit_code, name, address, legal_rep, payday, \
    bank_code, unit_ratio, member_ratio, status, opened_on";

fn raw_unit(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawUnit> {
    Ok(RawUnit {
        unit_no: r.get(0)?,
        credit_code: r.get(1)?,
        name: r.get(2)?,
        address: r.get(3)?,
        legal_rep: r.get(4)?,
        payday: r.get(5)?,
        bank_code: r.get(6)?,
        unit_ratio: r.get(7)?,
        member_ratio: r.get(8)?,
        status: r.get(9)?,
        opened_on: r.get(10)?,
    })
}

/// A SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Inner>,
    /// A read-only connection for snapshot reads (WAL lets it run beside the writer).
    reader: Mutex<Inner>,
    /// Group commit of the writer's transactions ([`group`]).
    group: group::Group,
    _checkpointer: Checkpointer,
}

/// Most accounts kept in the figures cache (about 130 bytes each); beyond this the cache
/// is not filled further, and loads go to the database.
const CACHE_MAX_ACCOUNTS: usize = 1_000_000;

/// The writer connection and a cache of account figures as last committed.
///
/// The cache is only trusted while `PRAGMA data_version` is unchanged: SQLite changes it
/// exactly when another connection (another process, or a tool editing the file) commits,
/// and every transaction here begins with `BEGIN IMMEDIATE`, so no one else can commit
/// between the check and our own commit. Writes of a transaction are kept aside and only
/// enter the cache when it commits. The audit never reads the cache.
#[derive(Debug)]
struct Inner {
    conn: Connection,
    /// False on the reader connection: snapshot reads always go to the database.
    cache_enabled: bool,
    cache_version: Option<i64>,
    cache: FxHashMap<String, FxHashMap<AccountNo, AccountState>>,
    cached: usize,
    /// Row ids of committed account rows, under the same `data_version` rule as the
    /// cache: figures are saved by row id (one B-tree seek on an integer) instead of by
    /// the 30-byte text key. (Another connection's VACUUM, which may renumber row ids,
    /// changes `data_version` too.)
    rowids: FxHashMap<String, FxHashMap<AccountNo, i64>>,
    /// The batch of committed logical transactions not yet durable ([`group`]): while it
    /// is `Some`, an SQLite transaction is open on the writer connection.
    batch: Option<group::Batch>,
}

impl Inner {
    fn cache_clear(&mut self) {
        self.cache.clear();
        self.cached = 0;
        self.rowids.clear();
    }

    fn cache_put(&mut self, centre: &str, a: AccountState) {
        let map = match self.cache.get_mut(centre) {
            Some(m) => m,
            None => self.cache.entry(centre.to_owned()).or_default(),
        };
        if map.insert(a.no.clone(), a).is_none() {
            self.cached += 1;
        }
    }
}

/// How often the background thread checkpoints the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// A date as stored (`YYYY-MM-DD`), formatted again only when the date changes.
#[derive(Default)]
struct DateText {
    date: Option<Date>,
    text: String,
}

impl DateText {
    fn of(&mut self, date: Date) -> &str {
        if self.date != Some(date) {
            use std::fmt::Write as _;
            self.text.clear();
            let _ = write!(self.text, "{date}");
            self.date = Some(date);
        }
        &self.text
    }
}

/// Opens the read-only snapshot connection.
/// Prepared statements kept per connection. The store has well over a hundred distinct
/// statements; rusqlite's default of 16 made busy paths re-parse SQL on every call.
const STATEMENT_CACHE: usize = 512;

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Connect {
        url: format!("sqlite://{}", path.display()),
        reason: e.to_string(),
    })?;
    conn.execute_batch("PRAGMA busy_timeout = 10000; PRAGMA cache_size = -16384;")
        .map_err(db_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    stable_plans(&conn)?;
    Ok(conn)
}

/// Turns on SQLite's query-planner stability guarantee (QPSG): a cached statement keeps
/// the plan it was prepared with, whatever is bound to it. Without it, SQLite's WHERE-clause
/// constant propagation (and its other bound-value optimisations) mark a statement to be
/// re-prepared whenever a bound parameter changes value — i.e. on every run of a look-up
/// by key such as `WHERE centre_code = ?1 AND application_no = ?2 ORDER BY …` — so the
/// statement cache saved nothing there (`sqlite3Reprepare` was 13 % of a data-sharing
/// verification's CPU). The store's plans never depend on bound values: its partial
/// indexes are matched by literals (`status = 'pending'`). (Planner statistics from
/// `ANALYZE`, where gathered, are still used: QPSG only ignores bound values.)
fn stable_plans(conn: &Connection) -> Result<(), StoreError> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map(|_| ())
    .map_err(db_err)
}

/// A background thread that checkpoints the WAL on its own connection, so committing
/// writers never pay for a checkpoint (SQLite's automatic checkpoint runs inside the
/// commit that crosses the threshold, which put 8 ms spikes into online postings).
#[derive(Debug)]
struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path).map_err(|e| StoreError::Connect {
            url: format!("sqlite://{}", path.display()),
            reason: e.to_string(),
        })?;
        conn.execute_batch("PRAGMA busy_timeout = 10000;")
            .map_err(db_err)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("anju-sqlite-checkpoint".to_owned())
            .spawn(move || {
                let (lock, cvar) = &*flag;
                loop {
                    let Ok(guard) = lock.lock() else { return };
                    let Ok((guard, _)) = cvar.wait_timeout(guard, CHECKPOINT_EVERY) else {
                        return;
                    };
                    if *guard {
                        return;
                    }
                    drop(guard);
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
                    }
                }
            })
            .map_err(|e| StoreError::Database {
                backend: Backend::Sqlite,
                message: format!("cannot start the checkpoint thread: {e}"),
            })?;
        Ok(Checkpointer {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.stop;
        if let Ok(mut g) = lock.lock() {
            *g = true;
        }
        cvar.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl SqliteStore {
    /// Opens (creating if absent) the database at `path` and applies migrations.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let connect = |reason: String| StoreError::Connect {
            url: format!("sqlite://{}", path.display()),
            reason,
        };
        let conn = Connection::open(path).map_err(|e| connect(e.to_string()))?;
        // 8 KiB pages (PostgreSQL's block size) for a new database; one made earlier keeps
        // its own. Against SQLite's default 4 KiB the monthly batch, the year-end interest
        // and bulk posting run 8–13 % faster (shallower trees, half the pages and WAL
        // frames per row written) and a single online posting ≈ 15 % slower (each page it
        // dirties is written whole); BENCHMARKS.md has the figures.
        conn.execute_batch(
            "PRAGMA page_size = 8192;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 10000;
             PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -65536;
             PRAGMA temp_store = MEMORY;
             PRAGMA wal_autocheckpoint = 0;",
        )
        .map_err(|e| connect(e.to_string()))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        stable_plans(&conn)?;
        let store = SqliteStore {
            path: path.to_owned(),
            reader: Mutex::new(Inner {
                conn: open_reader(path)?,
                cache_enabled: false,
                cache_version: None,
                cache: FxHashMap::default(),
                cached: 0,
                rowids: FxHashMap::default(),
                batch: None,
            }),
            conn: Mutex::new(Inner {
                conn,
                cache_enabled: true,
                cache_version: None,
                cache: FxHashMap::default(),
                cached: 0,
                rowids: FxHashMap::default(),
                batch: None,
            }),
            group: group::Group::default(),
            _checkpointer: Checkpointer::start(path)?,
        };
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_raw(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Database {
            backend: Backend::Sqlite,
            message: "connection mutex poisoned by an earlier panic".to_owned(),
        })
    }

    /// The writer connection with no transaction open (a pending batch is committed).
    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        let mut inner = self.lock_raw()?;
        flush(&mut inner, &self.group, false).map_err(batch_error)?;
        Ok(inner)
    }

    /// Transactions committed so far on the writer connection: `(logical, SQLite)`. With
    /// group commit the second is smaller when transactions commit concurrently.
    pub fn commit_counts(&self) -> (u64, u64) {
        (
            self.group.members.load(Ordering::Relaxed),
            self.group.commits.load(Ordering::Relaxed),
        )
    }

    /// Applies pending migrations; refuses to run if an applied one has changed.
    pub fn migrate(&self) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let conn = &mut inner.conn;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT NOT NULL PRIMARY KEY,
                name TEXT NOT NULL,
                checksum TEXT NOT NULL)",
        )
        .map_err(db_err)?;
        for (version, name, sql) in MIGRATIONS {
            let checksum = migration_checksum(sql);
            let applied: Option<String> = conn
                .query_row(
                    "SELECT checksum FROM schema_migrations WHERE version = ?1",
                    [version],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            if !migration_needed(*version, name, sql, applied.as_deref())? {
                continue;
            }
            let tx = conn.transaction().map_err(db_err)?;
            tx.execute_batch(sql).map_err(|e| StoreError::Migration {
                version: *version,
                reason: e.to_string(),
            })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (?1, ?2, ?3)",
                params![version, name, checksum],
            )
            .map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            tracing::info!(version, name, "sqlite migration applied");
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn describe(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    fn begin(&self) -> Result<Box<dyn StoreTx + '_>, StoreError> {
        self.group.waiting.fetch_add(1, Ordering::SeqCst);
        let inner = self.lock_raw();
        self.group.waiting.fetch_sub(1, Ordering::SeqCst);
        let mut inner = inner?;
        if inner.batch.as_ref().is_some_and(group::Batch::full) {
            // Its members are waiting: commit it; this transaction starts the next one.
            let _ = flush(&mut inner, &self.group, false);
        }
        if inner.batch.is_some() {
            // Join the open batch, under a savepoint so this transaction can roll back
            // alone.
            match control(&inner.conn, "SAVEPOINT anju_tx") {
                Ok(()) => {
                    return Ok(Box::new(SqliteTx {
                        g: inner,
                        group: Some(&self.group),
                        follower: true,
                        written: FxHashMap::default(),
                        new_rowids: FxHashMap::default(),
                        failed: false,
                        done: false,
                    }));
                }
                Err(_) => {
                    let _ = flush(&mut inner, &self.group, false);
                }
            }
        }
        // IMMEDIATE takes the write lock now, so two writers never deadlock on upgrade.
        control(&inner.conn, "BEGIN IMMEDIATE").map_err(db_err)?;
        let version: i64 = match inner
            .conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
        {
            Ok(v) => v,
            Err(e) => {
                // Never leave the write lock held by a transaction nobody owns.
                let _ = inner.conn.execute_batch("ROLLBACK");
                return Err(db_err(e));
            }
        };
        if inner.cache_version != Some(version) {
            inner.cache_clear();
            inner.cache_version = Some(version);
        }
        Ok(Box::new(SqliteTx {
            g: inner,
            group: Some(&self.group),
            follower: false,
            written: FxHashMap::default(),
            new_rowids: FxHashMap::default(),
            failed: false,
            done: false,
        }))
    }

    fn begin_read(&self) -> Result<Box<dyn StoreTx + '_>, StoreError> {
        let inner = self.reader.lock().map_err(|_| StoreError::Database {
            backend: Backend::Sqlite,
            message: "reader mutex poisoned by an earlier panic".to_owned(),
        })?;
        // A deferred transaction: its snapshot is taken at the first read and kept.
        control(&inner.conn, "BEGIN DEFERRED").map_err(db_err)?;
        Ok(Box::new(SqliteTx {
            g: inner,
            group: None,
            follower: false,
            written: FxHashMap::default(),
            new_rowids: FxHashMap::default(),
            failed: false,
            done: false,
        }))
    }

    fn optimize(&self) -> Result<(), StoreError> {
        let inner = self.lock()?;
        // ANALYZE over a bounded sample per index (analysis_limit), then the WAL folded in.
        inner
            .conn
            .execute_batch("PRAGMA analysis_limit = 4000; ANALYZE;")
            .map_err(db_err)?;
        inner
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(db_err)?;
        Ok(())
    }

    fn schema(&self) -> Result<Vec<TableSchema>, StoreError> {
        let inner = self.lock()?;
        let conn = &inner.conn;
        let mut tables: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table'
                 AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(db_err)?;
        tables.sort();
        let mut out = Vec::new();
        for t in tables {
            let mut columns = Vec::new();
            let mut pk: Vec<(i64, String)> = Vec::new();
            let mut stmt = conn
                .prepare(&format!("PRAGMA table_info({t})"))
                .map_err(db_err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, bool>(3)?,
                        r.get::<_, i64>(5)?,
                    ))
                })
                .map_err(db_err)?;
            for row in rows {
                let (name, ty, notnull, pk_pos) = row.map_err(db_err)?;
                if pk_pos > 0 {
                    pk.push((pk_pos, name.clone()));
                }
                columns.push(ColumnSchema {
                    name,
                    ty: ty.to_lowercase(),
                    // SQLite lets a lone INTEGER/TEXT PRIMARY KEY column be NULL unless
                    // declared NOT NULL; we always declare it, as PostgreSQL implies it.
                    nullable: !notnull,
                });
            }
            pk.sort();
            // A lone INTEGER PRIMARY KEY is the table's 64-bit rowid (the `id` AUTOINCREMENT
            // columns): PostgreSQL's BIGINT identity.
            if let [(_, only)] = pk.as_slice()
                && let Some(c) = columns.iter_mut().find(|c| &c.name == only)
                && c.ty == "integer"
            {
                c.ty = "bigint".to_owned();
            }
            let mut indexes = Vec::new();
            let idx: Vec<(String, bool, String)> = conn
                .prepare(&format!("PRAGMA index_list({t})"))
                .and_then(|mut s| {
                    s.query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?)))?
                        .collect()
                })
                .map_err(db_err)?;
            for (name, unique, origin) in idx {
                if origin != "c" {
                    continue; // automatic indexes for PRIMARY KEY / UNIQUE constraints
                }
                let cols: Vec<String> = conn
                    .prepare(&format!("PRAGMA index_info({name})"))
                    .and_then(|mut s| s.query_map([], |r| r.get(2))?.collect())
                    .map_err(db_err)?;
                indexes.push((name, cols, unique));
            }
            indexes.sort();
            out.push(TableSchema {
                name: t,
                columns,
                primary_key: pk.into_iter().map(|(_, n)| n).collect(),
                indexes,
            });
        }
        Ok(out)
    }
}

/// The error for any use of a transaction after one of its writes failed.
fn failed_error() -> StoreError {
    StoreError::Database {
        backend: Backend::Sqlite,
        message: "an earlier write in this transaction failed; it can only be rolled back"
            .to_owned(),
    }
}

/// Runs a transaction-control statement (`BEGIN`, `COMMIT`, `SAVEPOINT`, …) from the
/// statement cache: they run twice or more per transaction, and re-parsing them each time
/// showed in profiles.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Commits the open batch of the writer connection, if any, and tells its members
/// (`by_member`: the caller is one of them and is told by the result).
fn flush(inner: &mut Inner, group: &group::Group, by_member: bool) -> Result<(), String> {
    let Some(batch) = inner.batch.take() else {
        return Ok(());
    };
    let outcome = if inner.conn.is_autocommit() {
        Err("SQLite rolled the transaction back before it could commit".to_owned())
    } else {
        control(&inner.conn, "COMMIT").map_err(|e| format!("commit failed: {e}"))
    };
    if outcome.is_err() {
        inner.cache_clear();
        if !inner.conn.is_autocommit() {
            let _ = inner.conn.execute_batch("ROLLBACK");
        }
    }
    group.settle(batch.epoch, batch.members, by_member, outcome.clone());
    outcome
}

/// Rolls the open batch back (its members are told it failed).
fn abort_batch(inner: &mut Inner, group: &group::Group, why: &str) {
    if let Some(batch) = inner.batch.take() {
        if !inner.conn.is_autocommit() {
            let _ = inner.conn.execute_batch("ROLLBACK");
        }
        inner.cache_clear();
        group.settle(batch.epoch, batch.members, false, Err(why.to_owned()));
    }
}

fn batch_error(why: String) -> StoreError {
    StoreError::Database {
        backend: Backend::Sqlite,
        message: format!("the transaction was not made durable: {why}"),
    }
}

/// A SQLite transaction holding the connection.
struct SqliteTx<'a> {
    g: MutexGuard<'a, Inner>,
    /// The writer's group commit; `None` on the reader connection.
    group: Option<&'a group::Group>,
    /// Joined an open batch under `SAVEPOINT anju_tx` (not its first transaction).
    follower: bool,
    /// Accounts inserted or saved by this transaction (by centre), for the cache on commit.
    /// (A log in write order; later rows supersede earlier ones. Indexed only when a
    /// load in the same transaction needs it, so a batch hashes each account once.)
    written: FxHashMap<String, Vec<AccountState>>,
    /// Row ids of accounts this transaction inserted (by centre), for the cache on commit.
    new_rowids: FxHashMap<String, FxHashMap<AccountNo, i64>>,
    /// Set when a write failed part-way: the transaction may then only roll back.
    failed: bool,
    done: bool,
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Some(group) = self.group else {
            // Nothing else can be done with a failing rollback; the connection reports
            // the error again on its next use.
            let _ = self.g.conn.execute_batch("ROLLBACK");
            return;
        };
        if !self.follower {
            // The first of a batch: nobody else's writes are in the transaction.
            let _ = self.g.conn.execute_batch("ROLLBACK");
            return;
        }
        let undone = control(&self.g.conn, "ROLLBACK TO anju_tx").is_ok()
            && control(&self.g.conn, "RELEASE anju_tx").is_ok();
        if !undone || self.g.conn.is_autocommit() {
            // Its writes cannot be taken out of the batch alone: the batch is lost.
            abort_batch(
                &mut self.g,
                group,
                "a later transaction of the same group commit could not be rolled back alone",
            );
        } else if group.waiting.load(Ordering::SeqCst) == 0 || std::thread::panicking() {
            // (A panic poisons the connection's mutex: the threads waiting for it will not
            // get to commit the batch, so it is committed now.)
            let _ = flush(&mut self.g, group, false);
        }
    }
}

impl SqliteTx<'_> {
    fn unit_where(
        &mut self,
        column: &'static str,
        centre: &str,
        value: &str,
    ) -> Result<Option<UnitRow>, StoreError> {
        let sql =
            format!("SELECT {UNIT_COLUMNS} FROM units WHERE centre_code = ?1 AND {column} = ?2");
        let raw = self
            .g
            .conn
            .query_row(&sql, params![centre, value], raw_unit)
            .optional()
            .map_err(db_err)?;
        raw.map(RawUnit::decode).transpose()
    }

    fn member_where(
        &mut self,
        column: &'static str,
        centre: &str,
        value: &str,
    ) -> Result<Option<MemberRow>, StoreError> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE centre_code = ?1 AND {column} = ?2"
        );
        let raw = self
            .g
            .conn
            .prepare_cached(&sql)
            .and_then(|mut st| st.query_row(params![centre, value], raw_member).optional())
            .map_err(db_err)?;
        raw.map(RawMember::decode).transpose()
    }

    /// Runs a cached query and collects its rows.
    fn rows<T>(
        &mut self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.g.conn.prepare_cached(sql).map_err(db_err)?;
        stmt.query_map(params, f)
            .and_then(|rows| rows.collect())
            .map_err(db_err)
    }

    /// Runs one write method. If it fails part-way, the transaction is marked failed and
    /// can no longer commit: its partial rows go with the rollback when it is dropped.
    /// (A savepoint per call would allow carrying on, but on a 224,000-row batch SQLite's
    /// statement journal for it costs tens of megabytes.)
    /// The members a `SELECT {MEMBER_COLUMNS} …` finds, by account number (sorted here:
    /// see `members_of_unit`).
    fn members_by_account(
        &mut self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<MemberRow>, StoreError> {
        let mut stmt = self.g.conn.prepare_cached(sql).map_err(db_err)?;
        let raws: Vec<RawMember> = stmt
            .query_map(params, raw_member)
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        let mut rows = raws
            .into_iter()
            .map(RawMember::decode)
            .collect::<Result<Vec<_>, _>>()?;
        rows.sort_unstable_by(|a, b| a.account_no.cmp(&b.account_no));
        Ok(rows)
    }

    fn atomic<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        if self.failed {
            return Err(failed_error());
        }
        let r = f(self);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    /// Runs one small write under a savepoint: if it fails, its rows are undone and the
    /// transaction stays usable, as on PostgreSQL. (The few rows of a data-sharing write
    /// cost the statement journal nothing; the bulk paths use [`SqliteTx::atomic`].)
    fn savepoint<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        if self.failed {
            return Err(failed_error());
        }
        self.g
            .conn
            .prepare_cached("SAVEPOINT anju_op")
            .and_then(|mut st| st.execute([]))
            .map_err(db_err)?;
        match f(self) {
            Ok(v) => {
                let released = self
                    .g
                    .conn
                    .prepare_cached("RELEASE anju_op")
                    .and_then(|mut st| st.execute([]));
                if let Err(e) = released {
                    self.failed = true;
                    return Err(db_err(e));
                }
                Ok(v)
            }
            Err(e) => {
                if self
                    .g
                    .conn
                    .execute_batch("ROLLBACK TO anju_op; RELEASE anju_op")
                    .is_err()
                {
                    self.failed = true;
                }
                Err(e)
            }
        }
    }

    fn insert_centre_raw(&mut self, c: &CentreRow) -> Result<(), StoreError> {
        self.g.conn
            .execute(
                "INSERT INTO centres (centre_code, name, business_date, chain_seq, chain_hash, created_at_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    c.code,
                    c.name,
                    date_str(c.business_date),
                    c.head.seq,
                    c.head.hash.to_hex(),
                    c.created_at_us
                ],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn insert_accounts_raw(
        &mut self,
        centre: &str,
        accounts: &[AccountState],
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .g
            .conn
            .prepare_cached(
                "INSERT INTO ledger_accounts (centre_code, account_no, chart_code, parent_no,
                    normal_side, non_negative, opened_on, balance_fen, pending_out_fen,
                    pending_in_fen, accrual_fen_days, accrual_from, last_change, entry_count)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )
            .map_err(db_err)?;
        for a in accounts {
            stmt.execute(params![
                centre,
                a.no.as_str(),
                a.no.code(),
                a.no.parent().map(|p| p.as_str().to_owned()),
                a.normal.code(),
                a.non_negative,
                date_str(a.opened_on),
                a.balance.fen(),
                a.pending_out.fen(),
                a.pending_in.fen(),
                a.accrual,
                date_str(a.accrual_from),
                date_str(a.last_change),
                a.entry_count,
            ])
            .map_err(|e| match db_err(e) {
                StoreError::Conflict { .. } => StoreError::Conflict {
                    what: format!("account {} in centre {centre}", a.no),
                },
                other => other,
            })?;
            let rowid = self.g.conn.last_insert_rowid();
            self.new_rowids
                .entry(centre.to_owned())
                .or_default()
                .insert(a.no.clone(), rowid);
        }
        drop(stmt);
        self.remember(centre, accounts);
        Ok(())
    }

    fn save_accounts_unremembered(
        &mut self,
        centre: &str,
        accounts: &[AccountState],
    ) -> Result<(), StoreError> {
        // One UPDATE per account, by row id where it is known (an integer seek) and by
        // key otherwise; SQLite's UPDATE … FROM (VALUES …) would join without an index on
        // the values. Dates are formatted into reused buffers.
        let by_key_sql = "UPDATE ledger_accounts SET balance_fen = ?3, pending_out_fen = ?4,
                pending_in_fen = ?5, accrual_fen_days = ?6, accrual_from = ?7,
                last_change = ?8, entry_count = ?9
             WHERE centre_code = ?1 AND account_no = ?2";
        let by_rowid_sql = "UPDATE ledger_accounts SET balance_fen = ?3, pending_out_fen = ?4,
                pending_in_fen = ?5, accrual_fen_days = ?6, accrual_from = ?7,
                last_change = ?8, entry_count = ?9
             WHERE rowid = ?10 AND centre_code = ?1 AND account_no = ?2";
        let committed = self.g.rowids.get(centre);
        let fresh = self.new_rowids.get(centre);
        let rowid_of = |no: &AccountNo| {
            committed
                .and_then(|m| m.get(no.as_str()))
                .or_else(|| fresh.and_then(|m| m.get(no.as_str())))
                .copied()
        };
        let mut by_key = self.g.conn.prepare_cached(by_key_sql).map_err(db_err)?;
        let mut by_rowid = self.g.conn.prepare_cached(by_rowid_sql).map_err(db_err)?;
        by_key.raw_bind_parameter(1, centre).map_err(db_err)?;
        by_rowid.raw_bind_parameter(1, centre).map_err(db_err)?;
        // A batch's accounts share a few dates (the business date, the period's start):
        // each is formatted when it differs from the account before's.
        let (mut from, mut last) = (DateText::default(), DateText::default());
        for a in accounts {
            let (from, last) = (from.of(a.accrual_from), last.of(a.last_change));
            let rowid = rowid_of(&a.no);
            let stmt = if rowid.is_some() {
                &mut by_rowid
            } else {
                &mut by_key
            };
            stmt.raw_bind_parameter(2, a.no.as_str()).map_err(db_err)?;
            stmt.raw_bind_parameter(3, a.balance.fen())
                .map_err(db_err)?;
            stmt.raw_bind_parameter(4, a.pending_out.fen())
                .map_err(db_err)?;
            stmt.raw_bind_parameter(5, a.pending_in.fen())
                .map_err(db_err)?;
            stmt.raw_bind_parameter(6, a.accrual).map_err(db_err)?;
            stmt.raw_bind_parameter(7, from).map_err(db_err)?;
            stmt.raw_bind_parameter(8, last).map_err(db_err)?;
            stmt.raw_bind_parameter(9, a.entry_count).map_err(db_err)?;
            if let Some(id) = rowid {
                stmt.raw_bind_parameter(10, id).map_err(db_err)?;
            }
            let n = stmt.raw_execute().map_err(db_err)?;
            if n != 1 {
                return Err(StoreError::NotFound {
                    what: format!("account {} in centre {centre}", a.no),
                });
            }
        }
        Ok(())
    }

    fn save_accounts_raw(
        &mut self,
        centre: &str,
        accounts: &[AccountState],
    ) -> Result<(), StoreError> {
        self.save_accounts_unremembered(centre, accounts)?;
        self.remember(centre, accounts);
        Ok(())
    }

    fn insert_entries_raw(
        &mut self,
        centre: &str,
        entries: &[SealedEntry],
    ) -> Result<(), StoreError> {
        let mut e_stmt = self
            .g
            .conn
            .prepare_cached(
                "INSERT INTO journal_entries (centre_code, seq, idempotency_key, kind, ref_seq,
                    tx_code, business_date, value_date, memo, operator, channel, service_point,
                    on_behalf_of, recorded_at_us, hash_alg, body_hash, prev_hash, entry_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )
            .map_err(db_err)?;
        for s in entries {
            let e = &s.entry;
            e_stmt
                .execute(params![
                    centre,
                    s.seq,
                    e.key,
                    e.kind.code(),
                    e.ref_seq,
                    e.code.code(),
                    date_str(e.business_date),
                    date_str(e.value_date),
                    e.memo,
                    e.stamp.operator,
                    e.stamp.channel.code(),
                    e.stamp.service_point,
                    e.stamp.on_behalf_of,
                    s.recorded_at_us,
                    s.alg.code(),
                    s.body_hash.to_hex(),
                    s.prev_hash.to_hex(),
                    s.hash.to_hex(),
                ])
                .map_err(|err| match db_err(err) {
                    StoreError::Conflict { .. } => StoreError::Conflict {
                        what: format!("journal entry seq {} or key {:?}", s.seq, e.key),
                    },
                    other => other,
                })?;
        }
        drop(e_stmt);
        // Legs, many rows per statement.
        let mut legs: Vec<(i64, i64, &anju_domain::ledger::Leg)> = entries
            .iter()
            .flat_map(|s| {
                s.entry
                    .legs
                    .iter()
                    .enumerate()
                    .map(move |(i, l)| (s.seq, i as i64, l))
            })
            .collect();
        // In account order, the (centre, account, seq) index is filled page by page rather
        // than at random; the table itself only grows at its right edge either way.
        if legs.len() > SORT_LEGS_ABOVE {
            legs.sort_unstable_by(|a, b| a.2.account.cmp(&b.2.account).then(a.0.cmp(&b.0)));
        }
        // One row per statement: a statement writing many rows into a transaction keeps a
        // statement journal, a copy of every page it touches that existed before it began,
        // so that it can be undone alone — for rows landing on scattered pages that was a
        // 4 KiB copy per row, more than the row's own insert.
        let mut stmt = self
            .g
            .conn
            .prepare_cached(
                "INSERT INTO journal_legs (centre_code, seq, leg_no, account_no, side, amount_fen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(db_err)?;
        stmt.raw_bind_parameter(1, centre).map_err(db_err)?;
        for (seq, leg_no, leg) in &legs {
            stmt.raw_bind_parameter(2, *seq).map_err(db_err)?;
            stmt.raw_bind_parameter(3, *leg_no).map_err(db_err)?;
            stmt.raw_bind_parameter(4, leg.account.as_str())
                .map_err(db_err)?;
            stmt.raw_bind_parameter(5, leg.side.code())
                .map_err(db_err)?;
            stmt.raw_bind_parameter(6, leg.amount.fen())
                .map_err(db_err)?;
            stmt.raw_execute().map_err(db_err)?;
        }
        Ok(())
    }

    /// Remembers accounts this transaction wrote, for the cache if it commits.
    fn remember(&mut self, centre: &str, accounts: &[AccountState]) {
        self.log(centre).extend_from_slice(accounts);
    }

    fn log(&mut self, centre: &str) -> &mut Vec<AccountState> {
        if !self.written.contains_key(centre) {
            self.written.insert(centre.to_owned(), Vec::new());
        }
        self.written.entry(centre.to_owned()).or_default()
    }
}

impl SqliteTx<'_> {
    /// Moves the accounts this transaction wrote into the writer's cache.
    fn remember_written(&mut self) {
        let written = std::mem::take(&mut self.written);
        if !self.g.cache_enabled {
            return;
        }
        let new_rowids = std::mem::take(&mut self.new_rowids);
        let inner = &mut *self.g;
        for (centre, ids) in new_rowids {
            inner.rowids.entry(centre).or_default().extend(ids);
        }
        for (centre, accounts) in written {
            let map = inner.cache.entry(centre).or_default();
            for a in accounts {
                // Most are cached already: replaced in place, without cloning the key.
                if let Some(slot) = map.get_mut(a.no.as_str()) {
                    *slot = a;
                } else if inner.cached < CACHE_MAX_ACCOUNTS {
                    map.insert(a.no.clone(), a);
                    inner.cached += 1;
                }
            }
        }
    }
}

impl StoreTx for SqliteTx<'_> {
    fn insert_centre(&mut self, c: &CentreRow) -> Result<(), StoreError> {
        self.atomic(|t| t.insert_centre_raw(c))
    }

    fn insert_accounts(
        &mut self,
        centre: &str,
        accounts: &[AccountState],
    ) -> Result<(), StoreError> {
        self.atomic(|t| t.insert_accounts_raw(centre, accounts))
    }

    fn save_accounts(&mut self, centre: &str, accounts: &[AccountState]) -> Result<(), StoreError> {
        self.atomic(|t| t.save_accounts_raw(centre, accounts))
    }

    fn save_accounts_owned(
        &mut self,
        centre: &str,
        accounts: Vec<AccountState>,
    ) -> Result<(), StoreError> {
        self.atomic(|t| t.save_accounts_unremembered(centre, &accounts))?;
        let log = self.log(centre);
        if log.is_empty() {
            *log = accounts;
        } else {
            log.extend(accounts);
        }
        Ok(())
    }

    fn insert_entries(&mut self, centre: &str, entries: &[SealedEntry]) -> Result<(), StoreError> {
        self.atomic(|t| t.insert_entries_raw(centre, entries))
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        if self.failed {
            return Err(failed_error());
        }
        let Some(group) = self.group else {
            control(&self.g.conn, "COMMIT").map_err(db_err)?;
            self.done = true;
            return Ok(());
        };
        if self.follower {
            control(&self.g.conn, "RELEASE anju_tx").map_err(db_err)?;
        } else {
            self.g.batch = Some(group::Batch {
                epoch: group.next_epoch(),
                members: 0,
                since: std::time::Instant::now(),
            });
        }
        self.done = true;
        self.remember_written();
        let (epoch, full) = match self.g.batch.as_mut() {
            Some(b) => {
                b.members += 1;
                (b.epoch, b.full())
            }
            None => return Err(batch_error("the batch vanished".to_owned())),
        };
        if full || group.waiting.load(Ordering::SeqCst) == 0 {
            return flush(&mut self.g, group, true).map_err(batch_error);
        }
        // Others are about to write: let them join, and wait for the batch to commit.
        drop(self);
        group.wait(epoch).map_err(batch_error)
    }
    fn centre(&mut self, code: &str) -> Result<Option<CentreRow>, StoreError> {
        let row = self
            .g
            .conn
            .query_row(
                "SELECT centre_code, name, business_date, chain_seq, chain_hash, created_at_us
                 FROM centres WHERE centre_code = ?1",
                [code],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()
            .map_err(db_err)?;
        row.map(|(code, name, bd, seq, hash, created)| {
            Ok(CentreRow {
                code,
                name,
                business_date: rows::parse_date("centres.business_date", &bd)?,
                head: ChainHead {
                    seq,
                    hash: digest_hex("centres.chain_hash", &hash)?,
                },
                created_at_us: created,
            })
        })
        .transpose()
    }

    fn centre_codes(&mut self) -> Result<Vec<String>, StoreError> {
        self.g
            .conn
            .prepare("SELECT centre_code FROM centres ORDER BY centre_code")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(db_err)
    }

    fn lock_centre(&mut self, centre: &str) -> Result<CentreRow, StoreError> {
        // The transaction already holds SQLite's single write lock (BEGIN IMMEDIATE).
        self.centre(centre)?.ok_or_else(|| StoreError::NotFound {
            what: format!("centre {centre}"),
        })
    }

    fn set_chain_head(&mut self, centre: &str, head: ChainHead) -> Result<(), StoreError> {
        self.g
            .conn
            .prepare_cached(
                "UPDATE centres SET chain_seq = ?2, chain_hash = ?3 WHERE centre_code = ?1",
            )
            .and_then(|mut st| st.execute(params![centre, head.seq, head.hash.to_hex()]))
            .map_err(db_err)?;
        Ok(())
    }

    fn set_business_date(
        &mut self,
        centre: &str,
        date: jiff::civil::Date,
    ) -> Result<(), StoreError> {
        let n = self
            .g
            .conn
            .prepare_cached("UPDATE centres SET business_date = ?2 WHERE centre_code = ?1")
            .and_then(|mut st| st.execute(params![centre, date_str(date)]))
            .map_err(db_err)?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: format!("centre {centre}"),
            });
        }
        Ok(())
    }

    fn load_accounts(
        &mut self,
        centre: &str,
        nos: &[AccountNo],
    ) -> Result<Vec<AccountState>, StoreError> {
        // This transaction's own writes first, then the committed-state cache, then the
        // database for whatever is left.
        let own: Option<FxHashMap<&str, &AccountState>> = self
            .written
            .get(centre)
            .filter(|log| !log.is_empty())
            .map(|log| log.iter().map(|a| (a.no.as_str(), a)).collect());
        let own = own.as_ref();
        let mut out: Vec<AccountState> = Vec::with_capacity(nos.len());
        let mut missing: Vec<&AccountNo> = Vec::new();
        {
            let cached = if self.g.cache_enabled {
                self.g.cache.get(centre)
            } else {
                None
            };
            for no in nos {
                if let Some(a) = own.and_then(|m| m.get(no.as_str())) {
                    out.push(AccountState::clone(a));
                } else if let Some(a) = cached.and_then(|m| m.get(no.as_str())) {
                    out.push(a.clone());
                } else {
                    missing.push(no);
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let with_rowid =
            |r: &rusqlite::Row<'_>| -> rusqlite::Result<Result<(AccountState, i64), StoreError>> {
                let id: i64 = r.get(11)?;
                Ok(account_from_row(r).map(|a| (a, id)))
            };
        let fetched: Vec<(AccountState, i64)> = if missing.len() > SCAN_THRESHOLD {
            let wanted: FxHashSet<&str> = missing.iter().map(|n| n.as_str()).collect();
            let mut stmt = self
                .g
                .conn
                .prepare_cached(&format!(
                    "SELECT {ACCOUNT_COLUMNS}, rowid FROM ledger_accounts WHERE centre_code = ?1"
                ))
                .map_err(db_err)?;
            let rows = stmt.query_map([centre], with_rowid).map_err(db_err)?;
            let mut all = Vec::with_capacity(wanted.len());
            for row in rows {
                let (a, id) = row.map_err(db_err)??;
                if wanted.contains(a.no.as_str()) {
                    all.push((a, id));
                }
            }
            all
        } else {
            let mut stmt = self
                .g
                .conn
                .prepare_cached(&format!(
                    "SELECT {ACCOUNT_COLUMNS}, rowid FROM ledger_accounts WHERE centre_code = ?1 AND account_no = ?2"
                ))
                .map_err(db_err)?;
            let mut fetched = Vec::with_capacity(missing.len());
            for no in &missing {
                let row = stmt
                    .query_row(params![centre, no.as_str()], with_rowid)
                    .optional()
                    .map_err(db_err)?;
                if let Some(a) = row {
                    fetched.push(a?);
                }
            }
            fetched
        };
        // What came from the database is committed state (this transaction's own writes
        // were served above), so it may enter the cache, with its row id, now.
        let mut out_fetched = Vec::with_capacity(fetched.len());
        if self.g.cache_enabled {
            if !self.g.rowids.contains_key(centre) {
                self.g
                    .rowids
                    .insert(centre.to_owned(), FxHashMap::default());
            }
            for (a, id) in fetched {
                if self.g.cached < CACHE_MAX_ACCOUNTS {
                    self.g.cache_put(centre, a.clone());
                }
                if let Some(ids) = self.g.rowids.get_mut(centre) {
                    ids.insert(a.no.clone(), id);
                }
                out_fetched.push(a);
            }
        } else {
            out_fetched.extend(fetched.into_iter().map(|(a, _)| a));
        }
        let fetched = out_fetched;
        out.extend(fetched);
        Ok(out)
    }

    fn all_accounts(&mut self, centre: &str) -> Result<Vec<AccountState>, StoreError> {
        let mut stmt = self
            .g
            .conn
            .prepare_cached(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE centre_code = ?1 ORDER BY account_no"
            ))
            .map_err(db_err)?;
        let rows = stmt
            .query_map([centre], |r| Ok(account_from_row(r)))
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(db_err)??);
        }
        Ok(out)
    }

    fn entries_by_keys(
        &mut self,
        centre: &str,
        keys: &[String],
    ) -> Result<Vec<SealedEntry>, StoreError> {
        let mut seqs = Vec::new();
        {
            let mut stmt = self
                .g
                .conn
                .prepare_cached(
                    "SELECT seq FROM journal_entries WHERE centre_code = ?1 AND idempotency_key = ?2",
                )
                .map_err(db_err)?;
            for k in keys {
                if let Some(s) = stmt
                    .query_row(params![centre, k], |r| r.get::<_, i64>(0))
                    .optional()
                    .map_err(db_err)?
                {
                    seqs.push(s);
                }
            }
        }
        seqs.sort_unstable();
        seqs.dedup();
        let mut out = Vec::with_capacity(seqs.len());
        for s in seqs {
            out.extend(entries_with_legs(&self.g.conn, centre, s - 1, s)?);
        }
        Ok(out)
    }

    fn referring_entries(
        &mut self,
        centre: &str,
        seqs: &[i64],
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut stmt = self
            .g
            .conn
            .prepare_cached(
                "SELECT seq FROM journal_entries WHERE centre_code = ?1 AND ref_seq = ?2 ORDER BY seq",
            )
            .map_err(db_err)?;
        let mut out = Vec::new();
        for &r in seqs {
            let found: Vec<i64> = stmt
                .query_map(params![centre, r], |row| row.get(0))
                .and_then(|rows| rows.collect())
                .map_err(db_err)?;
            out.extend(found.into_iter().map(|s| (r, s)));
        }
        Ok(out)
    }

    fn scan_entries(
        &mut self,
        centre: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<SealedEntry>, StoreError> {
        let last: Option<i64> = self
            .g
            .conn
            .query_row(
                "SELECT MAX(seq) FROM (SELECT seq FROM journal_entries
                 WHERE centre_code = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3)",
                params![centre, after, limit as i64],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        match last {
            None => Ok(Vec::new()),
            Some(last) => entries_with_legs(&self.g.conn, centre, after, last),
        }
    }

    fn counts(&mut self, centre: &str) -> Result<LedgerCounts, StoreError> {
        let q = |sql: &str| -> Result<i64, StoreError> {
            self.g
                .conn
                .query_row(sql, [centre], |r| r.get(0))
                .map_err(db_err)
        };
        Ok(LedgerCounts {
            accounts: q("SELECT COUNT(*) FROM ledger_accounts WHERE centre_code = ?1")?,
            entries: q("SELECT COUNT(*) FROM journal_entries WHERE centre_code = ?1")?,
            legs: q("SELECT COUNT(*) FROM journal_legs WHERE centre_code = ?1")?,
        })
    }

    fn insert_unit(&mut self, centre: &str, u: &UnitRow) -> Result<(), StoreError> {
        self.g
            .conn
            .prepare_cached(
                "INSERT INTO units (centre_code, unit_no, credit_code, name, address, legal_rep,
                    payday, bank_code, unit_ratio, member_ratio, status, opened_on)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    centre,
                    u.unit_no,
                    u.credit_code,
                    u.name,
                    u.address,
                    u.legal_rep,
                    u.payday,
                    u.bank_code,
                    u.unit_ratio.units(),
                    u.member_ratio.units(),
                    u.status.code(),
                    date_str(u.opened_on)
                ])
            })
            .map_err(|e| match db_err(e) {
                StoreError::Conflict { .. } => StoreError::Conflict {
                    what: format!(
                        "unit {} or credit code {} in centre {centre}",
                        u.unit_no, u.credit_code
                    ),
                },
                other => other,
            })?;
        Ok(())
    }

    fn update_unit(&mut self, centre: &str, u: &UnitRow) -> Result<(), StoreError> {
        let n = self
            .g
            .conn
            .prepare_cached(
                "UPDATE units SET name = ?3, address = ?4, legal_rep = ?5, payday = ?6,
                    bank_code = ?7, unit_ratio = ?8, member_ratio = ?9, status = ?10
                 WHERE centre_code = ?1 AND unit_no = ?2",
            )
            .and_then(|mut st| {
                st.execute(params![
                    centre,
                    u.unit_no,
                    u.name,
                    u.address,
                    u.legal_rep,
                    u.payday,
                    u.bank_code,
                    u.unit_ratio.units(),
                    u.member_ratio.units(),
                    u.status.code()
                ])
            })
            .map_err(db_err)?;
        if n != 1 {
            return Err(StoreError::NotFound {
                what: format!("unit {} in centre {centre}", u.unit_no),
            });
        }
        Ok(())
    }

    fn unit(&mut self, centre: &str, unit_no: &str) -> Result<Option<UnitRow>, StoreError> {
        self.unit_where("unit_no", centre, unit_no)
    }

    fn unit_by_credit_code(
        &mut self,
        centre: &str,
        code: &str,
    ) -> Result<Option<UnitRow>, StoreError> {
        self.unit_where("credit_code", centre, code)
    }

    fn count_units(&mut self, centre: &str) -> Result<i64, StoreError> {
        self.g
            .conn
            .query_row(
                "SELECT COUNT(*) FROM units WHERE centre_code = ?1",
                [centre],
                |r| r.get(0),
            )
            .map_err(db_err)
    }

    fn count_unit_members(&mut self, centre: &str, unit_no: &str) -> Result<i64, StoreError> {
        self.g
            .conn
            .query_row(
                "SELECT COUNT(*) FROM members WHERE centre_code = ?1 AND unit_no = ?2",
                params![centre, unit_no],
                |r| r.get(0),
            )
            .map_err(db_err)
    }

    fn insert_member(&mut self, centre: &str, m: &MemberRow) -> Result<(), StoreError> {
        self.g
            .conn
            .prepare_cached(
                "INSERT INTO members (centre_code, account_no, id_number, name, unit_no, base_fen,
                    status, before_freeze, opened_on, paid_to, flexible_ratio)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    centre,
                    m.account_no,
                    m.id_number,
                    m.name,
                    m.unit_no,
                    m.base.fen(),
                    m.status.code(),
                    m.before_freeze.map(|s| s.code()),
                    date_str(m.opened_on),
                    m.paid_to.map(|p| p.to_string()),
                    m.flexible_ratio.map(|r| r.units())
                ])
            })
            .map_err(|e| match db_err(e) {
                StoreError::Conflict { .. } => StoreError::Conflict {
                    what: format!(
                        "personal account {} or its ID number in centre {centre}",
                        m.account_no
                    ),
                },
                other => other,
            })?;
        Ok(())
    }

    fn update_member(&mut self, centre: &str, m: &MemberRow) -> Result<(), StoreError> {
        let n = self
            .g
            .conn
            .prepare_cached(
                "UPDATE members SET name = ?3, unit_no = ?4, base_fen = ?5, status = ?6,
                    before_freeze = ?7, paid_to = ?8, flexible_ratio = ?9
                 WHERE centre_code = ?1 AND account_no = ?2",
            )
            .and_then(|mut st| {
                st.execute(params![
                    centre,
                    m.account_no,
                    m.name,
                    m.unit_no,
                    m.base.fen(),
                    m.status.code(),
                    m.before_freeze.map(|s| s.code()),
                    m.paid_to.map(|p| p.to_string()),
                    m.flexible_ratio.map(|r| r.units())
                ])
            })
            .map_err(db_err)?;
        if n != 1 {
            return Err(StoreError::NotFound {
                what: format!("personal account {} in centre {centre}", m.account_no),
            });
        }
        Ok(())
    }

    fn member(&mut self, centre: &str, account_no: &str) -> Result<Option<MemberRow>, StoreError> {
        self.member_where("account_no", centre, account_no)
    }

    fn member_by_id_number(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Option<MemberRow>, StoreError> {
        self.member_where("id_number", centre, id_number)
    }

    fn count_members(&mut self, centre: &str) -> Result<i64, StoreError> {
        self.g
            .conn
            .query_row(
                "SELECT COUNT(*) FROM members WHERE centre_code = ?1",
                [centre],
                |r| r.get(0),
            )
            .map_err(db_err)
    }

    fn append_event(&mut self, centre: &str, e: &EventRow) -> Result<(), StoreError> {
        self.g
            .conn
            .prepare_cached(
                "INSERT INTO status_events (centre_code, subject, event_no, event_date, business,
                    from_status, to_status, reason, operator, channel, service_point,
                    on_behalf_of, recorded_at_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    centre,
                    e.subject,
                    e.event_no,
                    date_str(e.date),
                    e.business.code(),
                    e.from_status,
                    e.to_status,
                    e.reason,
                    e.stamp.operator,
                    e.stamp.channel.code(),
                    e.stamp.service_point,
                    e.stamp.on_behalf_of,
                    e.recorded_at_us
                ])
            })
            .map_err(|err| match db_err(err) {
                StoreError::Conflict { .. } => StoreError::Conflict {
                    what: format!("event {} of {} in centre {centre}", e.event_no, e.subject),
                },
                other => other,
            })?;
        Ok(())
    }

    fn events(&mut self, centre: &str, subject: &str) -> Result<Vec<EventRow>, StoreError> {
        let mut stmt = self
            .g
            .conn
            .prepare_cached(
                "SELECT subject, event_no, event_date, business, from_status, to_status, reason,
                    operator, channel, service_point, on_behalf_of, recorded_at_us
                 FROM status_events WHERE centre_code = ?1 AND subject = ?2 ORDER BY event_no",
            )
            .map_err(db_err)?;
        let raws: Vec<RawEvent> = stmt
            .query_map(params![centre, subject], |r| {
                Ok(RawEvent {
                    subject: r.get(0)?,
                    event_no: r.get(1)?,
                    event_date: r.get(2)?,
                    business: r.get(3)?,
                    from_status: r.get(4)?,
                    to_status: r.get(5)?,
                    reason: r.get(6)?,
                    operator: r.get(7)?,
                    channel: r.get(8)?,
                    service_point: r.get(9)?,
                    on_behalf_of: r.get(10)?,
                    recorded_at_us: r.get(11)?,
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        raws.into_iter().map(RawEvent::decode).collect()
    }

    // ---- remittance ----------------------------------------------------------------
    fn unit_nos(&mut self, centre: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .g
            .conn
            .prepare_cached("SELECT unit_no FROM units WHERE centre_code = ?1 ORDER BY unit_no")
            .map_err(db_err)?;
        stmt.query_map([centre], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(db_err)
    }

    fn members_of_unit(
        &mut self,
        centre: &str,
        unit_no: &str,
    ) -> Result<Vec<MemberRow>, StoreError> {
        // Sorted here, not by ORDER BY: with it, SQLite prefers walking the primary key
        // (every member of the centre) to sorting one unit's rows from members_unit.
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members INDEXED BY members_unit
             WHERE centre_code = ?1 AND unit_no = ?2"
        );
        self.members_by_account(&sql, params![centre, unit_no])
    }

    fn closed_member_accounts(&mut self, centre: &str) -> Result<Vec<String>, StoreError> {
        use anju_domain::codes::PersonalAccountStatus as S;
        let mut stmt = self
            .g
            .conn
            .prepare_cached(
                "SELECT account_no FROM members WHERE +centre_code = ?1 AND status IN (?2, ?3, ?4)
                 ORDER BY account_no",
            )
            .map_err(db_err)?;
        stmt.query_map(
            params![
                centre,
                S::ClosedByMerger.code(),
                S::ClosedByTransferOut.code(),
                S::ClosedByWithdrawal.code()
            ],
            |r| r.get(0),
        )
        .and_then(|rows| rows.collect())
        .map_err(db_err)
    }

    fn members_in_statuses(
        &mut self,
        centre: &str,
        statuses: &[anju_domain::codes::PersonalAccountStatus],
    ) -> Result<Vec<MemberRow>, StoreError> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (0..statuses.len()).map(|i| format!("?{}", i + 2)).collect();
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE +centre_code = ?1 AND status IN ({})",
            marks.join(", ")
        );
        let mut values: Vec<&str> = vec![centre];
        values.extend(statuses.iter().map(|s| s.code()));
        self.members_by_account(&sql, rusqlite::params_from_iter(values))
    }

    fn set_paid_to(
        &mut self,
        centre: &str,
        account_no: &str,
        paid_to: Option<YearMonth>,
    ) -> Result<(), StoreError> {
        let n = self
            .g
            .conn
            .prepare_cached(
                "UPDATE members SET paid_to = ?3 WHERE centre_code = ?1 AND account_no = ?2",
            )
            .and_then(|mut st| {
                st.execute(params![centre, account_no, paid_to.map(|p| p.to_string())])
            })
            .map_err(db_err)?;
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
        // The accounts first, then one keyed update each: cheaper than `IN (subquery)`,
        // which builds a temporary index per bill (a third of the monthly batch's
        // bookkeeping when it was used).
        let accounts: Vec<String> = self
            .g
            .conn
            .prepare_cached(
                "SELECT account_no FROM bill_lines
                 WHERE centre_code = ?1 AND bill_no = ?2 AND month = ?4
                   AND coalesce(paid_entry, (SELECT paid_entry FROM bills
                       WHERE centre_code = ?1 AND bill_no = ?2)) = ?3",
            )
            .and_then(|mut st| {
                st.query_map(
                    params![centre, bill_no, entry_key, month.to_string()],
                    |r| r.get(0),
                )
                .and_then(|rows| rows.collect())
            })
            .map_err(db_err)?;
        self.move_paid_to(centre, &accounts, month)
    }

    // One keyed update each (the key leads with the account, schema 14), bound once.
    fn move_paid_to(
        &mut self,
        centre: &str,
        accounts: &[String],
        month: YearMonth,
    ) -> Result<u64, StoreError> {
        let month_text = month.to_string();
        let prev = month.plus(-1).map(|p| p.to_string()).unwrap_or_default();
        let mut st = self
            .g
            .conn
            .prepare_cached(
                "UPDATE members SET paid_to = ?3
                 WHERE centre_code = ?1 AND account_no = ?2
                   AND (paid_to IS NULL OR paid_to = ?4)",
            )
            .map_err(db_err)?;
        st.raw_bind_parameter(1, centre).map_err(db_err)?;
        st.raw_bind_parameter(3, month_text.as_str())
            .map_err(db_err)?;
        st.raw_bind_parameter(4, prev.as_str()).map_err(db_err)?;
        let mut n = 0u64;
        for a in accounts {
            st.raw_bind_parameter(2, a.as_str()).map_err(db_err)?;
            n += st.raw_execute().map_err(db_err)? as u64;
        }
        Ok(n)
    }

    fn count_bills(&mut self, centre: &str) -> Result<i64, StoreError> {
        self.g
            .conn
            .query_row(
                "SELECT COUNT(*) FROM bills WHERE centre_code = ?1",
                [centre],
                |r| r.get(0),
            )
            .map_err(db_err)
    }

    fn insert_bill(
        &mut self,
        centre: &str,
        b: &BillRow,
        lines: &[BillLineRow],
    ) -> Result<(), StoreError> {
        self.atomic(|s| {
            s.g.conn
                .prepare_cached(&format!(
                    "INSERT INTO bills ({BILL_COLUMNS}, centre_code)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                ))
                .and_then(|mut st| st.execute(rusqlite::params_from_iter(bill_params(b, centre))))
                .map_err(|e| match db_err(e) {
                    StoreError::Conflict { .. } => StoreError::Conflict {
                        what: format!(
                            "bill {} or a {} bill of {} for {}",
                            b.bill_no,
                            b.kind.label_zh(),
                            b.payer,
                            b.month
                        ),
                    },
                    other => other,
                })?;
            s.insert_lines(centre, lines)
        })
    }

    fn update_bill(&mut self, centre: &str, b: &BillRow) -> Result<(), StoreError> {
        let n = self
            .g
            .conn
            .prepare_cached(
                "UPDATE bills SET status = ?3, total_fen = ?4, line_count = ?5, confirmed_on = ?6,
                    paid_on = ?7, due_on = ?8
                 WHERE centre_code = ?1 AND bill_no = ?2",
            )
            .and_then(|mut st| {
                st.execute(params![
                    centre,
                    b.bill_no,
                    b.status.code(),
                    b.total.fen(),
                    b.line_count,
                    b.confirmed_on.map(date_str),
                    b.paid_on.map(date_str),
                    date_str(b.due_on)
                ])
            })
            .map_err(db_err)?;
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
        self.atomic(|s| {
            s.g.conn
                .prepare_cached("DELETE FROM bill_lines WHERE centre_code = ?1 AND bill_no = ?2")
                .and_then(|mut st| st.execute(params![centre, bill_no]))
                .map_err(db_err)?;
            s.insert_lines(centre, lines)
        })
    }

    fn bill(&mut self, centre: &str, bill_no: &str) -> Result<Option<BillRow>, StoreError> {
        Ok(self
            .bills_where("bill_no = ?2", params![centre, bill_no])?
            .pop())
    }

    fn remittance_bill(
        &mut self,
        centre: &str,
        payer: &str,
        month: YearMonth,
    ) -> Result<Option<BillRow>, StoreError> {
        Ok(self
            .bills_where(
                "payer = ?2 AND month = ?3 AND kind = 'remit'",
                params![centre, payer, month.to_string()],
            )?
            .pop())
    }

    fn bills_of(&mut self, centre: &str, payer: &str) -> Result<Vec<BillRow>, StoreError> {
        self.bills_where("payer = ?2 ORDER BY bill_no", params![centre, payer])
    }

    fn unpaid_bills_due_before(
        &mut self,
        centre: &str,
        date: Date,
    ) -> Result<Vec<BillRow>, StoreError> {
        self.bills_where(
            "status <> 'paid' AND due_on < ?2 ORDER BY due_on, bill_no",
            params![centre, date_str(date)],
        )
    }

    fn bill_lines(&mut self, centre: &str, bill_no: &str) -> Result<Vec<BillLineRow>, StoreError> {
        let mut stmt = self
            .g
            .conn
            .prepare_cached(
                "SELECT bill_no, line_no, account_no, name, month, base_fen, unit_fen, member_fen,
                    notice, coalesce(paid_entry, (SELECT paid_entry FROM bills
                        WHERE centre_code = ?1 AND bill_no = ?2))
                 FROM bill_lines WHERE centre_code = ?1 AND bill_no = ?2 ORDER BY line_no",
            )
            .map_err(db_err)?;
        let raws: Vec<RawBillLine> = stmt
            .query_map(params![centre, bill_no], |r| {
                Ok(RawBillLine {
                    bill_no: r.get(0)?,
                    line_no: r.get(1)?,
                    account_no: r.get(2)?,
                    name: r.get(3)?,
                    month: r.get(4)?,
                    base_fen: r.get(5)?,
                    unit_fen: r.get(6)?,
                    member_fen: r.get(7)?,
                    notice: r.get(8)?,
                    paid_entry: r.get(9)?,
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        raws.into_iter().map(RawBillLine::decode).collect()
    }

    fn mark_bill_paid(
        &mut self,
        centre: &str,
        bill_no: &str,
        entry_key: &str,
    ) -> Result<(), StoreError> {
        self.g
            .conn
            .prepare_cached(
                "UPDATE bills SET paid_entry = ?3
                 WHERE centre_code = ?1 AND bill_no = ?2 AND paid_entry IS NULL",
            )
            .and_then(|mut st| st.execute(params![centre, bill_no, entry_key]))
            .map_err(db_err)?;
        Ok(())
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
            let unpaid: i64 = self
                .g
                .conn
                .prepare_cached(
                    "SELECT count(*) FROM bill_lines AS l
                     JOIN bills AS b ON b.centre_code = l.centre_code AND b.bill_no = l.bill_no
                     WHERE l.centre_code = ?1 AND l.bill_no = ?2
                       AND l.paid_entry IS NULL AND b.paid_entry IS NULL",
                )
                .and_then(|mut st| st.query_row(params![centre, bill_no], |r| r.get(0)))
                .map_err(db_err)?;
            if unpaid > 0 {
                self.mark_bill_paid(centre, bill_no, entry_key)?;
            }
            return Ok(unpaid as u64);
        }
        self.atomic(|s| {
            let mut st =
                s.g.conn
                    .prepare_cached(
                        "UPDATE bill_lines SET paid_entry = ?3
                     WHERE centre_code = ?1 AND bill_no = ?2 AND line_no = ?4
                       AND paid_entry IS NULL
                       AND NOT EXISTS (SELECT 1 FROM bills WHERE centre_code = ?1
                           AND bill_no = ?2 AND paid_entry IS NOT NULL)",
                    )
                    .map_err(db_err)?;
            let mut n = 0u64;
            for line in line_nos {
                n += st
                    .execute(params![centre, bill_no, entry_key, line])
                    .map_err(db_err)? as u64;
            }
            Ok(n)
        })
    }

    fn unmark_lines_paid(
        &mut self,
        centre: &str,
        bill_no: &str,
        entry_key: &str,
    ) -> Result<u64, StoreError> {
        self.atomic(|s| {
            let own =
                s.g.conn
                    .prepare_cached(
                        "UPDATE bill_lines SET paid_entry = NULL
                         WHERE centre_code = ?1 AND bill_no = ?2 AND paid_entry = ?3",
                    )
                    .and_then(|mut st| st.execute(params![centre, bill_no, entry_key]))
                    .map_err(db_err)?;
            // The lines the bill's entry paid: those not paid on their own.
            let by_bill: i64 = s
                .g
                .conn
                .prepare_cached(
                    "SELECT count(*) FROM bill_lines AS l
                         JOIN bills AS b ON b.centre_code = l.centre_code
                             AND b.bill_no = l.bill_no
                         WHERE l.centre_code = ?1 AND l.bill_no = ?2
                           AND l.paid_entry IS NULL AND b.paid_entry = ?3",
                )
                .and_then(|mut st| st.query_row(params![centre, bill_no, entry_key], |r| r.get(0)))
                .map_err(db_err)?;
            s.g.conn
                .prepare_cached(
                    "UPDATE bills SET paid_entry = NULL
                     WHERE centre_code = ?1 AND bill_no = ?2 AND paid_entry = ?3",
                )
                .and_then(|mut st| st.execute(params![centre, bill_no, entry_key]))
                .map_err(db_err)?;
            Ok(own as u64 + by_bill as u64)
        })
    }

    fn paid_months(
        &mut self,
        centre: &str,
        account_no: &str,
    ) -> Result<Vec<YearMonth>, StoreError> {
        let mut stmt = self
            .g
            .conn
            .prepare_cached(concat!(
                member_months!(),
                "SELECT DISTINCT l.month FROM months
                 CROSS JOIN bill_lines AS l
                   ON l.centre_code = ?1 AND l.month = months.m AND l.account_no = ?2
                 LEFT JOIN bills AS b ON b.centre_code = l.centre_code AND b.bill_no = l.bill_no
                 WHERE coalesce(l.paid_entry, b.paid_entry) IS NOT NULL
                 ORDER BY l.month",
            ))
            .map_err(db_err)?;
        let months: Vec<String> = stmt
            .query_map(params![centre, account_no], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        months
            .iter()
            .map(|m| parse_month("bill_lines.month", m))
            .collect()
    }

    fn units_all(&mut self, centre: &str) -> Result<Vec<UnitRow>, StoreError> {
        let sql =
            format!("SELECT {UNIT_COLUMNS} FROM units WHERE centre_code = ?1 ORDER BY unit_no");
        let mut stmt = self.g.conn.prepare_cached(&sql).map_err(db_err)?;
        let raws: Vec<RawUnit> = stmt
            .query_map([centre], raw_unit)
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        raws.into_iter().map(RawUnit::decode).collect()
    }

    fn members_with_unit(&mut self, centre: &str) -> Result<Vec<MemberRow>, StoreError> {
        // `+centre_code`: read the table in key order, never through `members_unit` (one
        // primary-key seek per member). Since schema 14 the key leads with the account
        // number, so the planner would otherwise take the centre's index.
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE +centre_code = ?1 AND unit_no IS NOT NULL"
        );
        let mut stmt = self.g.conn.prepare_cached(&sql).map_err(db_err)?;
        let raws: Vec<RawMember> = stmt
            .query_map([centre], raw_member)
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        let mut rows = raws
            .into_iter()
            .map(RawMember::decode)
            .collect::<Result<Vec<_>, _>>()?;
        rows.sort_unstable_by(|a, b| (&a.unit_no, &a.account_no).cmp(&(&b.unit_no, &b.account_no)));
        Ok(rows)
    }

    fn each_member_with_unit(
        &mut self,
        centre: &str,
        each: &mut dyn FnMut(MemberRow) -> bool,
    ) -> Result<(), StoreError> {
        // Through `members_unit`, whose order is (unit, account): one primary-key seek per
        // member (cheap since schema 14), and no sort before the first row.
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members INDEXED BY members_unit
             WHERE centre_code = ?1 AND unit_no IS NOT NULL ORDER BY unit_no, account_no"
        );
        let mut stmt = self.g.conn.prepare_cached(&sql).map_err(db_err)?;
        let mut rows = stmt.query([centre]).map_err(db_err)?;
        while let Some(r) = rows.next().map_err(db_err)? {
            if !each(raw_member(r).map_err(db_err)?.decode()?) {
                break;
            }
        }
        Ok(())
    }

    fn remittance_bills_of_month(
        &mut self,
        centre: &str,
        month: YearMonth,
    ) -> Result<Vec<BillRow>, StoreError> {
        self.bills_where(
            "kind = 'remit' AND month = ?2 ORDER BY payer",
            params![centre, month.to_string()],
        )
    }

    // SQLite is in-process: one cached statement per key costs microseconds.
    fn bills_by_nos(
        &mut self,
        centre: &str,
        bill_nos: &[String],
    ) -> Result<Vec<BillRow>, StoreError> {
        let mut out = Vec::with_capacity(bill_nos.len());
        for no in bill_nos {
            out.extend(self.bill(centre, no)?);
        }
        Ok(out)
    }

    fn lines_of_bills(
        &mut self,
        centre: &str,
        bill_nos: &[String],
    ) -> Result<Vec<BillLineRow>, StoreError> {
        let mut sorted: Vec<&String> = bill_nos.iter().collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out = Vec::new();
        for no in sorted {
            out.extend(self.bill_lines(centre, no)?);
        }
        Ok(out)
    }

    fn lines_due(
        &mut self,
        centre: &str,
        bill_nos: &[String],
    ) -> Result<Vec<Vec<LineDue>>, StoreError> {
        // Only what a payment uses, decoded in place: no bill number, name or notice
        // copied out per line.
        let mut stmt = self
            .g
            .conn
            .prepare_cached(
                "SELECT account_no, month, unit_fen + member_fen,
                    coalesce(paid_entry, (SELECT paid_entry FROM bills
                        WHERE centre_code = ?1 AND bill_no = ?2)) IS NOT NULL
                 FROM bill_lines WHERE centre_code = ?1 AND bill_no = ?2 ORDER BY line_no",
            )
            .map_err(db_err)?;
        stmt.raw_bind_parameter(1, centre).map_err(db_err)?;
        let mut out = Vec::with_capacity(bill_nos.len());
        for no in bill_nos {
            stmt.raw_bind_parameter(2, no.as_str()).map_err(db_err)?;
            let mut lines = Vec::new();
            let mut rows = stmt.raw_query();
            while let Some(r) = rows.next().map_err(db_err)? {
                let month = r.get_ref(1).and_then(|v| Ok(v.as_str()?)).map_err(db_err)?;
                let month = parse_month(
                    anju_store::raw::At {
                        table: "bill_lines",
                        key: &no,
                        column: "month",
                    },
                    month,
                )?;
                lines.push(LineDue {
                    account_no: r.get(0).map_err(db_err)?,
                    month,
                    total: anju_domain::money::Fen::new(r.get(2).map_err(db_err)?),
                    paid: r.get(3).map_err(db_err)?,
                });
            }
            out.push(lines);
        }
        Ok(out)
    }

    fn receipts_by_keys(
        &mut self,
        centre: &str,
        keys: &[String],
    ) -> Result<Vec<ReceiptRow>, StoreError> {
        let mut out = Vec::new();
        for k in keys {
            out.extend(self.receipt(centre, k)?);
        }
        Ok(out)
    }

    fn paid_lines_of(
        &mut self,
        centre: &str,
        account_no: &str,
    ) -> Result<Vec<(String, YearMonth)>, StoreError> {
        let mut stmt = self
            .g
            .conn
            .prepare_cached(concat!(
                member_months!(),
                "SELECT coalesce(l.paid_entry, b.paid_entry) AS k, l.month FROM months
                 CROSS JOIN bill_lines AS l
                   ON l.centre_code = ?1 AND l.month = months.m AND l.account_no = ?2
                 LEFT JOIN bills AS b ON b.centre_code = l.centre_code AND b.bill_no = l.bill_no
                 WHERE k IS NOT NULL
                 ORDER BY l.month, k",
            ))
            .map_err(db_err)?;
        let rows: Vec<(String, String)> = stmt
            .query_map(params![centre, account_no], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        rows.into_iter()
            .map(|(k, m)| Ok((k, parse_month("bill_lines.month", &m)?)))
            .collect()
    }

    fn insert_receipt(&mut self, centre: &str, r: &ReceiptRow) -> Result<(), StoreError> {
        self.g
            .conn
            .prepare_cached(
                "INSERT INTO receipts (centre_code, receipt_key, payer, bill_no, amount_fen,
                    received_on, bank_code, entry_key, recorded_at_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    centre,
                    r.receipt_key,
                    r.payer,
                    r.bill_no,
                    r.amount.fen(),
                    date_str(r.received_on),
                    r.bank_code,
                    r.entry_key,
                    r.recorded_at_us
                ])
            })
            .map_err(|e| match db_err(e) {
                StoreError::Conflict { .. } => StoreError::Conflict {
                    what: format!("receipt {} in centre {centre}", r.receipt_key),
                },
                other => other,
            })?;
        Ok(())
    }

    fn receipt(&mut self, centre: &str, key: &str) -> Result<Option<ReceiptRow>, StoreError> {
        Ok(self
            .receipts_where("receipt_key = ?2", params![centre, key])?
            .pop())
    }

    fn receipts_of(&mut self, centre: &str, payer: &str) -> Result<Vec<ReceiptRow>, StoreError> {
        self.receipts_where(
            "payer = ?2 ORDER BY received_on, receipt_key",
            params![centre, payer],
        )
    }

    fn insert_reminder(&mut self, centre: &str, r: &ReminderRow) -> Result<(), StoreError> {
        self.g
            .conn
            .prepare_cached("INSERT INTO reminders (centre_code, bill_no, sent_on, overdue_days, amount_due_fen)
                 VALUES (?1, ?2, ?3, ?4, ?5)")

            .and_then(|mut st| st.execute(params![
                    centre,
                    r.bill_no,
                    date_str(r.sent_on),
                    r.overdue_days,
                    r.amount_due.fen()
                ]))
            .map_err(|e| match db_err(e) {
                StoreError::Conflict { .. } => StoreError::Conflict {
                    what: format!("reminder for bill {} on {}", r.bill_no, r.sent_on),
                },
                other => other,
            })?;
        Ok(())
    }

    fn reminders(&mut self, centre: &str, bill_no: &str) -> Result<Vec<ReminderRow>, StoreError> {
        let mut stmt = self
            .g
            .conn
            .prepare_cached(
                "SELECT bill_no, sent_on, overdue_days, amount_due_fen FROM reminders
                 WHERE centre_code = ?1 AND bill_no = ?2 ORDER BY sent_on",
            )
            .map_err(db_err)?;
        let raws: Vec<RawReminder> = stmt
            .query_map(params![centre, bill_no], |r| {
                Ok(RawReminder {
                    bill_no: r.get(0)?,
                    sent_on: r.get(1)?,
                    overdue_days: r.get(2)?,
                    amount_due_fen: r.get(3)?,
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        raws.into_iter().map(RawReminder::decode).collect()
    }

    fn insert_interest_run(&mut self, centre: &str, r: &InterestRunRow) -> Result<(), StoreError> {
        self.g
            .conn
            .prepare_cached(
                "INSERT INTO interest_runs (centre_code, year, period_end, accounts, total_fen,
                    entries, run_on, recorded_at_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    centre,
                    r.year,
                    date_str(r.period_end),
                    r.accounts,
                    r.total.fen(),
                    r.entries,
                    date_str(r.run_on),
                    r.recorded_at_us
                ])
            })
            .map_err(|e| match db_err(e) {
                StoreError::Conflict { .. } => StoreError::Conflict {
                    what: format!("interest settlement for {} in centre {centre}", r.year),
                },
                other => other,
            })?;
        Ok(())
    }

    fn interest_run(
        &mut self,
        centre: &str,
        year: i16,
    ) -> Result<Option<InterestRunRow>, StoreError> {
        let raw = self
            .g
            .conn
            .query_row(
                "SELECT year, period_end, accounts, total_fen, entries, run_on, recorded_at_us
                 FROM interest_runs WHERE centre_code = ?1 AND year = ?2",
                params![centre, year],
                |r| {
                    Ok(RawInterestRun {
                        year: r.get(0)?,
                        period_end: r.get(1)?,
                        accounts: r.get(2)?,
                        total_fen: r.get(3)?,
                        entries: r.get(4)?,
                        run_on: r.get(5)?,
                        recorded_at_us: r.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(db_err)?;
        raw.map(RawInterestRun::decode).transpose()
    }

    fn account_legs(&mut self, centre: &str, account: &str) -> Result<Vec<LegRow>, StoreError> {
        let mut stmt = self
            .g
            .conn
            .prepare_cached(
                "SELECT e.seq, e.idempotency_key, e.kind, e.tx_code, e.business_date,
                    e.value_date, l.side, l.amount_fen, e.memo
                 FROM journal_legs l
                 JOIN journal_entries e ON e.centre_code = l.centre_code AND e.seq = l.seq
                 WHERE l.centre_code = ?1 AND l.account_no = ?2
                 ORDER BY l.seq, l.leg_no",
            )
            .map_err(db_err)?;
        let raws: Vec<RawLeg> = stmt
            .query_map(params![centre, account], |r| {
                Ok(RawLeg {
                    seq: r.get(0)?,
                    key: r.get(1)?,
                    kind: r.get(2)?,
                    code: r.get(3)?,
                    business_date: r.get(4)?,
                    value_date: r.get(5)?,
                    side: r.get(6)?,
                    amount: r.get(7)?,
                    memo: r.get(8)?,
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        raws.into_iter().map(RawLeg::decode).collect()
    }

    // ---- data sharing --------------------------------------------------------------
    fn insert_application(
        &mut self,
        centre: &str,
        app: &ApplicationRow,
        parties: &[PartyRow],
    ) -> Result<(), StoreError> {
        self.savepoint(|s| {
            s.g.conn
                .prepare_cached(&format!(
                    "INSERT INTO applications (centre_code, {APPLICATION_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                ))
                .and_then(|mut st| {
                    st.execute(params![
                        centre,
                        app.application_no,
                        app.kind,
                        app.purpose,
                        app.applicant,
                        app.claims,
                        app.status,
                        date_str(app.opened_on),
                        app.opened_at_us,
                        app.stamp.operator,
                        app.stamp.channel.code(),
                        app.stamp.service_point,
                        app.stamp.on_behalf_of,
                        app.closed_at_us
                    ])
                })
                .map_err(|e| match db_err(e) {
                    StoreError::Conflict { .. } => StoreError::Conflict {
                        what: format!("application {} in centre {centre}", app.application_no),
                    },
                    other => other,
                })?;
            let mut st =
                s.g.conn
                    .prepare_cached(
                        "INSERT INTO application_parties (centre_code, application_no, id_number,
                            role)
                         VALUES (?1, ?2, ?3, ?4)",
                    )
                    .map_err(db_err)?;
            for p in parties {
                st.execute(params![centre, app.application_no, p.id_number, p.role])
                    .map_err(|e| match db_err(e) {
                        StoreError::Conflict { .. } => StoreError::Conflict {
                            what: format!(
                                "ID number {} listed twice for application {} in centre {centre}",
                                p.id_number, app.application_no
                            ),
                        },
                        other => other,
                    })?;
            }
            Ok(())
        })
    }

    fn application(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Option<ApplicationRow>, StoreError> {
        let raw = self
            .g
            .conn
            .prepare_cached(&format!(
                "SELECT {APPLICATION_COLUMNS} FROM applications
                 WHERE centre_code = ?1 AND application_no = ?2"
            ))
            .and_then(|mut st| {
                st.query_row(params![centre, application_no], application_from_row)
                    .optional()
            })
            .map_err(db_err)?;
        raw.map(RawApplication::decode).transpose()
    }

    fn insert_consent(
        &mut self,
        centre: &str,
        application_no: &str,
        c: &anju_store::sharing::ConsentRow,
    ) -> Result<(), StoreError> {
        self.savepoint(|s| {
            s.g.conn
                .prepare_cached(
                    "INSERT INTO party_consents (centre_code, application_no, id_number,
                        given_at_us, how, operator, channel, service_point)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .and_then(|mut st| {
                    st.execute(params![
                        centre,
                        application_no,
                        c.id_number,
                        c.given_at_us,
                        c.how,
                        c.operator,
                        c.channel,
                        c.service_point
                    ])
                })
                .map(|_| ())
                .map_err(|e| match db_err(e) {
                    StoreError::Conflict { .. } => StoreError::Conflict {
                        what: format!(
                            "consent of {} for application {application_no} in centre {centre}",
                            c.id_number
                        ),
                    },
                    other => other,
                })
        })
    }

    fn consents(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<anju_store::sharing::ConsentRow>, StoreError> {
        self.rows(
            "SELECT id_number, given_at_us, how, operator, channel, service_point
             FROM party_consents
             WHERE centre_code = ?1 AND application_no = ?2 ORDER BY id_number",
            params![centre, application_no],
            |r| {
                Ok(anju_store::sharing::ConsentRow {
                    id_number: r.get(0)?,
                    given_at_us: r.get(1)?,
                    how: r.get(2)?,
                    operator: r.get(3)?,
                    channel: r.get(4)?,
                    service_point: r.get(5)?,
                })
            },
        )
    }

    fn application_parties(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<PartyRow>, StoreError> {
        self.rows(
            "SELECT id_number, role FROM application_parties
             WHERE centre_code = ?1 AND application_no = ?2 ORDER BY role, id_number",
            params![centre, application_no],
            |r| {
                Ok(PartyRow {
                    id_number: r.get(0)?,
                    role: r.get(1)?,
                })
            },
        )
    }

    fn close_application(
        &mut self,
        centre: &str,
        application_no: &str,
        closed_at_us: i64,
    ) -> Result<(), StoreError> {
        let n = self
            .g
            .conn
            .prepare_cached(
                "UPDATE applications SET status = 'closed', closed_at_us = ?3
                 WHERE centre_code = ?1 AND application_no = ?2 AND status = 'open'",
            )
            .and_then(|mut st| st.execute(params![centre, application_no, closed_at_us]))
            .map_err(db_err)?;
        if n == 1 {
            return Ok(());
        }
        Err(match self.application(centre, application_no)? {
            Some(_) => StoreError::Conflict {
                what: format!("application {application_no} in centre {centre} is already closed"),
            },
            None => StoreError::NotFound {
                what: format!("application {application_no} in centre {centre}"),
            },
        })
    }

    fn lock_application(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Option<ApplicationRow>, StoreError> {
        // The transaction already holds SQLite's single write lock (BEGIN IMMEDIATE).
        self.application(centre, application_no)
    }

    fn max_lookup_seq(&mut self, centre: &str, application_no: &str) -> Result<i64, StoreError> {
        self.g
            .conn
            .prepare_cached(
                "SELECT COALESCE(MAX(seq), 0) FROM fact_lookups
                 WHERE centre_code = ?1 AND application_no = ?2",
            )
            .and_then(|mut st| st.query_row(params![centre, application_no], |r| r.get(0)))
            .map_err(db_err)
    }

    fn insert_lookups(&mut self, centre: &str, rows: &[LookupRow]) -> Result<(), StoreError> {
        self.savepoint(|s| {
            let mut st =
                s.g.conn
                    .prepare_cached(&format!(
                        "INSERT INTO fact_lookups (centre_code, {LOOKUP_COLUMNS})
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                            ?15, ?16, ?17)"
                    ))
                    .map_err(db_err)?;
            for l in rows {
                st.execute(params![
                    centre,
                    l.application_no,
                    l.seq,
                    l.subject_id,
                    l.department,
                    l.query,
                    l.param,
                    l.purpose,
                    l.requester,
                    l.channel,
                    l.service_point,
                    l.asked_at_us,
                    l.outcome,
                    l.answer_hash,
                    l.source,
                    l.read_at_us,
                    l.detail
                ])
                .map_err(|e| match db_err(e) {
                    StoreError::Conflict { .. } => StoreError::Conflict {
                        what: format!(
                            "look-up {} of application {} in centre {centre}",
                            l.seq, l.application_no
                        ),
                    },
                    other => other,
                })?;
            }
            Ok(())
        })
    }

    fn complete_lookups(
        &mut self,
        centre: &str,
        application_no: &str,
        outcomes: &[LookupOutcome],
    ) -> Result<(), StoreError> {
        self.savepoint(|s| {
            let mut st =
                s.g.conn
                    .prepare_cached(
                        "UPDATE fact_lookups SET outcome = ?4, answer_hash = ?5, source = ?6,
                            read_at_us = ?7, detail = ?8
                         WHERE centre_code = ?1 AND application_no = ?2 AND seq = ?3
                           AND outcome = 'pending'",
                    )
                    .map_err(db_err)?;
            let mut exists =
                s.g.conn
                    .prepare_cached(
                        "SELECT 1 FROM fact_lookups
                         WHERE centre_code = ?1 AND application_no = ?2 AND seq = ?3",
                    )
                    .map_err(db_err)?;
            for o in outcomes {
                let n = st
                    .execute(params![
                        centre,
                        application_no,
                        o.seq,
                        o.outcome,
                        o.answer_hash,
                        o.source,
                        o.read_at_us,
                        o.detail
                    ])
                    .map_err(db_err)?;
                if n == 1 {
                    continue;
                }
                let found = exists
                    .exists(params![centre, application_no, o.seq])
                    .map_err(db_err)?;
                let what = format!(
                    "look-up {} of application {application_no} in centre {centre}",
                    o.seq
                );
                return Err(if found {
                    StoreError::Conflict {
                        what: format!("{what} is no longer pending"),
                    }
                } else {
                    StoreError::NotFound { what }
                });
            }
            Ok(())
        })
    }

    fn lookups_of_application(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<LookupRow>, StoreError> {
        self.rows(
            &format!(
                "SELECT {LOOKUP_COLUMNS} FROM fact_lookups
                 WHERE centre_code = ?1 AND application_no = ?2 ORDER BY seq"
            ),
            params![centre, application_no],
            lookup_from_row,
        )
    }

    fn lookups_of_subject(
        &mut self,
        centre: &str,
        subject_id: &str,
    ) -> Result<Vec<LookupRow>, StoreError> {
        self.rows(
            &format!(
                "SELECT {LOOKUP_COLUMNS} FROM fact_lookups
                 WHERE centre_code = ?1 AND subject_id = ?2
                 ORDER BY asked_at_us, application_no, seq"
            ),
            params![centre, subject_id],
            lookup_from_row,
        )
    }

    fn application_facts(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<FactRow>, StoreError> {
        self.rows(
            &format!(
                "SELECT {FACT_COLUMNS} FROM application_facts
                 WHERE centre_code = ?1 AND application_no = ?2
                 ORDER BY subject_id, department, query, param"
            ),
            params![centre, application_no],
            fact_from_row,
        )
    }

    fn insert_facts(&mut self, centre: &str, rows: &[FactRow]) -> Result<(), StoreError> {
        self.savepoint(|s| {
            let mut st =
                s.g.conn
                    .prepare_cached(&format!(
                        "INSERT INTO application_facts (centre_code, {FACT_COLUMNS})
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                    ))
                    .map_err(db_err)?;
            for f in rows {
                st.execute(params![
                    centre,
                    f.application_no,
                    f.subject_id,
                    f.department,
                    f.query,
                    f.param,
                    f.payload,
                    f.answer_hash,
                    f.source,
                    f.read_at_us
                ])
                .map_err(|e| match db_err(e) {
                    StoreError::Conflict { .. } => StoreError::Conflict {
                        what: format!(
                            "fact {}/{}/{:?} of {} for application {} in centre {centre}",
                            f.department, f.query, f.param, f.subject_id, f.application_no
                        ),
                    },
                    other => other,
                })?;
            }
            Ok(())
        })
    }

    // ---- bank settlement -----------------------------------------------------------
    fn insert_bank(&mut self, centre: &str, bank: &BankRow) -> Result<(), StoreError> {
        settlement::insert_bank(&self.g.conn, centre, bank)
    }

    fn banks(&mut self, centre: &str) -> Result<Vec<BankRow>, StoreError> {
        settlement::banks(&self.g.conn, centre)
    }

    fn bank(&mut self, centre: &str, code: &str) -> Result<Option<BankRow>, StoreError> {
        settlement::bank(&self.g.conn, centre, code)
    }

    fn bind_card(&mut self, centre: &str, card: &CardRow) -> Result<(), StoreError> {
        settlement::bind_card(&self.g.conn, centre, card)
    }

    fn card(&mut self, centre: &str, account_no: &str) -> Result<Option<CardRow>, StoreError> {
        settlement::card(&self.g.conn, centre, account_no)
    }

    fn insert_unit_bank_account(
        &mut self,
        centre: &str,
        row: &UnitBankAccountRow,
    ) -> Result<(), StoreError> {
        settlement::insert_unit_bank_account(&self.g.conn, centre, row)
    }

    fn unit_bank_accounts(
        &mut self,
        centre: &str,
        unit_no: &str,
    ) -> Result<Vec<UnitBankAccountRow>, StoreError> {
        settlement::unit_bank_accounts(&self.g.conn, centre, unit_no)
    }

    fn unit_by_bank_account(
        &mut self,
        centre: &str,
        bank_code: &str,
        account: &str,
    ) -> Result<Option<UnitBankAccountRow>, StoreError> {
        settlement::unit_by_bank_account(&self.g.conn, centre, bank_code, account)
    }

    /// Under a savepoint, so a taken serial undoes the rows before it and leaves the
    /// transaction usable. New rows mostly fill new pages, which SQLite does not copy
    /// into the statement journal, so even a large batch costs it little.
    fn insert_instructions(
        &mut self,
        centre: &str,
        rows: &[InstructionRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.savepoint(|s| settlement::insert_instructions(&s.g.conn, centre, rows))
    }

    fn instructions(
        &mut self,
        centre: &str,
        serials: &[&str],
    ) -> Result<Vec<InstructionRow>, StoreError> {
        settlement::instructions(&self.g.conn, centre, serials)
    }

    fn lock_instruction(
        &mut self,
        centre: &str,
        serial: &str,
    ) -> Result<Option<InstructionRow>, StoreError> {
        // The transaction already holds SQLite's single write lock (BEGIN IMMEDIATE).
        settlement::instruction(&self.g.conn, centre, serial)
    }

    fn lock_instructions(
        &mut self,
        centre: &str,
        serials: &[&str],
    ) -> Result<Vec<InstructionRow>, StoreError> {
        // The transaction already holds SQLite's single write lock (BEGIN IMMEDIATE).
        settlement::instructions(&self.g.conn, centre, serials)
    }

    /// Every serial is looked up first (an unknown one is `NotFound` before anything is
    /// written, the transaction still usable); the rows are then saved without a
    /// savepoint, which would copy every page they touch into the statement journal.
    fn update_instructions(
        &mut self,
        centre: &str,
        rows: &[InstructionRow],
    ) -> Result<(), StoreError> {
        if self.failed {
            return Err(failed_error());
        }
        settlement::check_instructions_exist(&self.g.conn, centre, rows)?;
        self.atomic(|s| settlement::update_instructions(&s.g.conn, centre, rows))
    }

    fn instructions_unsettled(
        &mut self,
        centre: &str,
        bank_code: Option<&str>,
        due_us: i64,
        limit: usize,
    ) -> Result<Vec<InstructionRow>, StoreError> {
        settlement::instructions_unsettled(&self.g.conn, centre, bank_code, due_us, limit)
    }

    fn instructions_executed_on(
        &mut self,
        centre: &str,
        bank_code: &str,
        date: Date,
    ) -> Result<Vec<InstructionRow>, StoreError> {
        settlement::instructions_executed_on(&self.g.conn, centre, bank_code, date)
    }

    fn instruction_counts(&mut self, centre: &str) -> Result<Vec<(String, i64)>, StoreError> {
        settlement::instruction_counts(&self.g.conn, centre)
    }

    fn insert_notice(&mut self, centre: &str, row: &NoticeRow) -> Result<bool, StoreError> {
        settlement::insert_notice(&self.g.conn, centre, row)
    }

    fn insert_notice_refusal(
        &mut self,
        centre: &str,
        row: &NoticeRefusalRow,
    ) -> Result<(), StoreError> {
        settlement::insert_notice_refusal(&self.g.conn, centre, row)
    }

    fn notice_refusals(
        &mut self,
        centre: &str,
        limit: usize,
    ) -> Result<Vec<NoticeRefusalRow>, StoreError> {
        settlement::notice_refusals(&self.g.conn, centre, limit)
    }

    fn insert_incoming(&mut self, centre: &str, row: &IncomingRow) -> Result<(), StoreError> {
        settlement::insert_incoming(&self.g.conn, centre, row)
    }

    fn incoming(
        &mut self,
        centre: &str,
        bank_code: &str,
        bank_ref: &str,
    ) -> Result<Option<IncomingRow>, StoreError> {
        settlement::incoming(&self.g.conn, centre, bank_code, bank_ref)
    }

    fn update_incoming(&mut self, centre: &str, row: &IncomingRow) -> Result<(), StoreError> {
        settlement::update_incoming(&self.g.conn, centre, row)
    }

    fn incoming_on(
        &mut self,
        centre: &str,
        bank_code: &str,
        date: Date,
    ) -> Result<Vec<IncomingRow>, StoreError> {
        settlement::incoming_on(&self.g.conn, centre, bank_code, date)
    }

    fn incoming_in_suspense(&mut self, centre: &str) -> Result<Vec<IncomingRow>, StoreError> {
        settlement::incoming_in_suspense(&self.g.conn, centre)
    }

    fn insert_recon_run(&mut self, centre: &str, row: &ReconRunRow) -> Result<(), StoreError> {
        settlement::insert_recon_run(&self.g.conn, centre, row)
    }

    fn recon_runs(
        &mut self,
        centre: &str,
        bank_code: &str,
        date: Date,
    ) -> Result<Vec<ReconRunRow>, StoreError> {
        settlement::recon_runs(&self.g.conn, centre, bank_code, date)
    }

    fn upsert_recon_items(
        &mut self,
        centre: &str,
        rows: &[ReconItemRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.atomic(|s| settlement::upsert_recon_items(&s.g.conn, centre, rows))
    }

    fn recon_items(
        &mut self,
        centre: &str,
        bank_code: Option<&str>,
        date: Option<Date>,
        open_only: bool,
    ) -> Result<Vec<ReconItemRow>, StoreError> {
        settlement::recon_items(&self.g.conn, centre, bank_code, date, open_only)
    }

    /// As [`StoreTx::update_instructions`]: every item looked up first, then saved.
    fn update_recon_items(
        &mut self,
        centre: &str,
        rows: &[ReconItemRow],
    ) -> Result<(), StoreError> {
        if self.failed {
            return Err(failed_error());
        }
        settlement::check_recon_items_exist(&self.g.conn, centre, rows)?;
        self.atomic(|s| settlement::update_recon_items(&s.g.conn, centre, rows))
    }

    // ---- withdrawals ---------------------------------------------------------------
    /// One statement: a taken number or a second withdrawal in flight aborts it alone
    /// (the partial unique index `withdrawals_in_flight`), and the transaction carries on.
    fn insert_withdrawal(&mut self, centre: &str, row: &WithdrawalRow) -> Result<(), StoreError> {
        withdrawal::insert_withdrawal(&self.g.conn, centre, row)
    }

    fn withdrawal(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Option<WithdrawalRow>, StoreError> {
        withdrawal::withdrawal(&self.g.conn, centre, application_no)
    }

    fn lock_withdrawal(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Option<WithdrawalRow>, StoreError> {
        // The transaction already holds SQLite's single write lock (BEGIN IMMEDIATE).
        withdrawal::withdrawal(&self.g.conn, centre, application_no)
    }

    /// One statement, as [`StoreTx::insert_withdrawal`].
    fn update_withdrawal(&mut self, centre: &str, row: &WithdrawalRow) -> Result<(), StoreError> {
        withdrawal::update_withdrawal(&self.g.conn, centre, row)
    }

    fn withdrawals_of_account(
        &mut self,
        centre: &str,
        account_no: &str,
    ) -> Result<Vec<WithdrawalRow>, StoreError> {
        withdrawal::withdrawals_of_account(&self.g.conn, centre, account_no)
    }

    fn withdrawals_by_home_key(
        &mut self,
        centre: &str,
        ground: &str,
        home_key: &str,
    ) -> Result<Vec<WithdrawalRow>, StoreError> {
        withdrawal::withdrawals_by_home_key(&self.g.conn, centre, ground, home_key)
    }

    fn withdrawals_with_status(
        &mut self,
        centre: &str,
        statuses: &[&str],
    ) -> Result<Vec<WithdrawalRow>, StoreError> {
        withdrawal::withdrawals_with_status(&self.g.conn, centre, statuses)
    }

    /// Under a savepoint: a taken step undoes the rows before it.
    fn insert_withdrawal_events(
        &mut self,
        centre: &str,
        rows: &[WithdrawalEventRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.savepoint(|s| withdrawal::insert_events(&s.g.conn, centre, rows))
    }

    fn withdrawal_events(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<WithdrawalEventRow>, StoreError> {
        withdrawal::events(&self.g.conn, centre, application_no)
    }

    /// Under a savepoint: a taken number or serial undoes the rows before it.
    fn insert_payees(&mut self, centre: &str, rows: &[PayeeRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.savepoint(|s| withdrawal::insert_payees(&s.g.conn, centre, rows))
    }

    fn payees(&mut self, centre: &str, application_no: &str) -> Result<Vec<PayeeRow>, StoreError> {
        withdrawal::payees(&self.g.conn, centre, application_no)
    }

    // ---- loans ---------------------------------------------------------------------
    fn count_loans(&mut self, centre: &str) -> Result<i64, StoreError> {
        loan::count_loans(&self.g.conn, centre)
    }

    /// One statement: a taken number or a second open loan aborts it alone.
    fn insert_loan(&mut self, centre: &str, row: &LoanRow) -> Result<(), StoreError> {
        loan::insert_loan(&self.g.conn, centre, row)
    }

    fn loan(&mut self, centre: &str, loan_no: &str) -> Result<Option<LoanRow>, StoreError> {
        loan::loan(&self.g.conn, centre, loan_no)
    }

    fn lock_loan(&mut self, centre: &str, loan_no: &str) -> Result<Option<LoanRow>, StoreError> {
        // The transaction already holds SQLite's single write lock (BEGIN IMMEDIATE).
        loan::loan(&self.g.conn, centre, loan_no)
    }

    /// Under a savepoint: an unknown loan or a refused change undoes the rows before it.
    fn update_loans(&mut self, centre: &str, rows: &[LoanRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.savepoint(|s| loan::update_loans(&s.g.conn, centre, rows))
    }

    /// Without a savepoint (the statement journal of a 25,000-row write costs more than
    /// the write): a failure marks the transaction failed.
    fn service_loans(&mut self, centre: &str, rows: &[LoanRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.atomic(|s| loan::service_loans(&s.g.conn, centre, rows))
    }

    fn loans_of_person(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Vec<LoanRow>, StoreError> {
        loan::loans_of_person(&self.g.conn, centre, id_number)
    }

    fn loans_with_status(
        &mut self,
        centre: &str,
        statuses: &[&str],
    ) -> Result<Vec<LoanRow>, StoreError> {
        loan::loans_with_status(&self.g.conn, centre, statuses)
    }

    fn loans_by_nos(
        &mut self,
        centre: &str,
        loan_nos: &[String],
    ) -> Result<Vec<LoanRow>, StoreError> {
        loan::loans_by_nos(&self.g.conn, centre, loan_nos)
    }

    /// Under a savepoint: a refused row undoes the rows before it.
    fn upsert_installments(
        &mut self,
        centre: &str,
        rows: &[InstallmentRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.savepoint(|s| loan::upsert_installments(&s.g.conn, centre, rows))
    }

    /// Without a savepoint, as [`StoreTx::service_loans`].
    fn service_installments(
        &mut self,
        centre: &str,
        rows: &[InstallmentRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.atomic(|s| loan::service_installments(&s.g.conn, centre, rows))
    }

    fn delete_installments_from(
        &mut self,
        centre: &str,
        loan_no: &str,
        from_period: i32,
    ) -> Result<(), StoreError> {
        self.savepoint(|s| loan::delete_installments_from(&s.g.conn, centre, loan_no, from_period))
    }

    fn installments(
        &mut self,
        centre: &str,
        loan_no: &str,
    ) -> Result<Vec<InstallmentRow>, StoreError> {
        loan::installments(&self.g.conn, centre, loan_no)
    }

    fn installments_unpaid_by(
        &mut self,
        centre: &str,
        date: Date,
    ) -> Result<Vec<InstallmentRow>, StoreError> {
        loan::installments_unpaid_by(&self.g.conn, centre, date)
    }

    fn loan_installments_unpaid_by(
        &mut self,
        centre: &str,
        loan_nos: &[String],
        date: Date,
    ) -> Result<Vec<InstallmentRow>, StoreError> {
        loan::loan_installments_unpaid_by(&self.g.conn, centre, loan_nos, date)
    }

    fn count_loan_events(
        &mut self,
        centre: &str,
        loan_nos: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        loan::count_events(&self.g.conn, centre, loan_nos)
    }

    /// Under a savepoint: a taken step undoes the rows before it.
    fn insert_loan_events(
        &mut self,
        centre: &str,
        rows: &[LoanEventRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.savepoint(|s| loan::insert_events(&s.g.conn, centre, rows))
    }

    fn loan_events(
        &mut self,
        centre: &str,
        loan_no: &str,
    ) -> Result<Vec<LoanEventRow>, StoreError> {
        loan::events(&self.g.conn, centre, loan_no)
    }

    fn insert_loan_document(
        &mut self,
        centre: &str,
        row: &LoanDocumentRow,
    ) -> Result<(), StoreError> {
        loan::insert_document(&self.g.conn, centre, row)
    }

    fn loan_documents(
        &mut self,
        centre: &str,
        loan_no: &str,
    ) -> Result<Vec<LoanDocumentRow>, StoreError> {
        loan::documents(&self.g.conn, centre, loan_no)
    }

    fn day_close(&mut self, centre: &str, date: Date) -> Result<Option<DayCloseRow>, StoreError> {
        loan::day_close(&self.g.conn, centre, date)
    }

    fn insert_day_close(&mut self, centre: &str, row: &DayCloseRow) -> Result<(), StoreError> {
        loan::insert_day_close(&self.g.conn, centre, row)
    }
    // ---- access --------------------------------------------------------------------
    // One statement per write: a refused one changes nothing (SQLite undoes a failed
    // statement alone) and the transaction carries on.
    fn insert_service_point(
        &mut self,
        centre: &str,
        row: &ServicePointRow,
    ) -> Result<(), StoreError> {
        access::insert_service_point(&self.g.conn, centre, row)
    }

    fn service_point(
        &mut self,
        centre: &str,
        code: &str,
    ) -> Result<Option<ServicePointRow>, StoreError> {
        access::service_point(&self.g.conn, centre, code)
    }

    fn service_points(
        &mut self,
        centre: &str,
        point_type: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<ServicePointRow>, StoreError> {
        access::service_points(&self.g.conn, centre, point_type, status)
    }

    fn set_point_businesses(
        &mut self,
        centre: &str,
        code: &str,
        businesses: &str,
    ) -> Result<(), StoreError> {
        access::set_point_businesses(&self.g.conn, centre, code, businesses)
    }

    fn close_service_point(
        &mut self,
        centre: &str,
        code: &str,
        on: Date,
    ) -> Result<(), StoreError> {
        access::close_service_point(&self.g.conn, centre, code, on)
    }

    fn reopen_service_point(&mut self, centre: &str, code: &str) -> Result<(), StoreError> {
        access::reopen_service_point(&self.g.conn, centre, code)
    }

    fn insert_staff(&mut self, centre: &str, row: &StaffRow) -> Result<(), StoreError> {
        access::insert_staff(&self.g.conn, centre, row)
    }

    fn staff(&mut self, centre: &str, staff_id: &str) -> Result<Option<StaffRow>, StoreError> {
        access::staff(&self.g.conn, centre, staff_id)
    }

    fn staff_list(
        &mut self,
        centre: &str,
        service_point: Option<&str>,
    ) -> Result<Vec<StaffRow>, StoreError> {
        access::staff_list(&self.g.conn, centre, service_point)
    }

    fn set_staff_password(
        &mut self,
        centre: &str,
        staff_id: &str,
        password_hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        access::update_staff(
            &self.g.conn,
            centre,
            staff_id,
            "password_hash = ?3, password_changed_at_us = ?4, failed_attempts = 0, \
             locked_until_us = NULL",
            &[&password_hash, &at_us],
        )
    }

    fn record_staff_failure(
        &mut self,
        centre: &str,
        staff_id: &str,
        lock_after: i32,
        locked_until_us: i64,
    ) -> Result<i32, StoreError> {
        access::record_staff_failure(&self.g.conn, centre, staff_id, lock_after, locked_until_us)
    }

    fn record_staff_success(
        &mut self,
        centre: &str,
        staff_id: &str,
        totp_step: Option<i64>,
    ) -> Result<(), StoreError> {
        access::record_staff_success(&self.g.conn, centre, staff_id, totp_step)
    }

    fn set_staff_totp(
        &mut self,
        centre: &str,
        staff_id: &str,
        secret: Option<&str>,
    ) -> Result<(), StoreError> {
        access::update_staff(
            &self.g.conn,
            centre,
            staff_id,
            "totp_secret = ?3, totp_last_step = NULL",
            &[&secret],
        )
    }

    fn set_staff_role(
        &mut self,
        centre: &str,
        staff_id: &str,
        role: &str,
    ) -> Result<(), StoreError> {
        access::update_staff(&self.g.conn, centre, staff_id, "role = ?3", &[&role])
    }

    fn set_staff_point(
        &mut self,
        centre: &str,
        staff_id: &str,
        service_point: &str,
    ) -> Result<(), StoreError> {
        access::update_staff(
            &self.g.conn,
            centre,
            staff_id,
            "service_point = ?3",
            &[&service_point],
        )
    }

    fn disable_staff(&mut self, centre: &str, staff_id: &str) -> Result<(), StoreError> {
        access::disable_staff(&self.g.conn, centre, staff_id)
    }

    fn insert_unit_clerk(&mut self, centre: &str, row: &UnitClerkRow) -> Result<(), StoreError> {
        access::insert_unit_clerk(&self.g.conn, centre, row)
    }

    fn unit_clerk(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
    ) -> Result<Option<UnitClerkRow>, StoreError> {
        access::unit_clerk(&self.g.conn, centre, unit_no, id_number)
    }

    fn unit_clerks(
        &mut self,
        centre: &str,
        unit_no: &str,
    ) -> Result<Vec<UnitClerkRow>, StoreError> {
        access::unit_clerks(&self.g.conn, centre, unit_no)
    }

    fn revoke_unit_clerk(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        access::revoke_unit_clerk(&self.g.conn, centre, unit_no, id_number, at_us)
    }

    fn set_unit_clerk_password(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
        password_hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        access::set_unit_clerk_password(
            &self.g.conn,
            centre,
            unit_no,
            id_number,
            password_hash,
            at_us,
        )
    }

    fn record_unit_clerk_failure(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
        lock_after: i32,
        locked_until_us: i64,
    ) -> Result<i32, StoreError> {
        access::record_unit_clerk_failure(
            &self.g.conn,
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
        access::record_unit_clerk_success(&self.g.conn, centre, unit_no, id_number)
    }

    fn bind_phone(&mut self, centre: &str, row: &PhoneBindingRow) -> Result<(), StoreError> {
        access::bind_phone(&self.g.conn, centre, row)
    }

    fn phone_binding(
        &mut self,
        centre: &str,
        phone: &str,
    ) -> Result<Option<PhoneBindingRow>, StoreError> {
        access::phone_binding(&self.g.conn, centre, "phone", phone)
    }

    fn phone_of_person(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Option<PhoneBindingRow>, StoreError> {
        access::phone_binding(&self.g.conn, centre, "id_number", id_number)
    }

    fn unbind_phone(&mut self, centre: &str, id_number: &str) -> Result<bool, StoreError> {
        access::unbind_phone(&self.g.conn, centre, id_number)
    }

    fn insert_otp(&mut self, centre: &str, row: &OtpChallengeRow) -> Result<i64, StoreError> {
        access::insert_otp(&self.g.conn, centre, row)
    }

    fn open_otp(
        &mut self,
        centre: &str,
        phone: &str,
        purpose: &str,
        now_us: i64,
    ) -> Result<Option<OtpChallengeRow>, StoreError> {
        access::open_otp(&self.g.conn, centre, phone, purpose, now_us)
    }

    fn count_otps_since(
        &mut self,
        centre: &str,
        phone: &str,
        since_us: i64,
    ) -> Result<i64, StoreError> {
        access::count_otps_since(&self.g.conn, centre, phone, since_us)
    }

    fn record_otp_attempt(&mut self, centre: &str, id: i64) -> Result<i32, StoreError> {
        access::record_otp_attempt(&self.g.conn, centre, id)
    }

    fn consume_otp(&mut self, centre: &str, id: i64, at_us: i64) -> Result<(), StoreError> {
        access::consume_otp(&self.g.conn, centre, id, at_us)
    }

    fn insert_session(&mut self, centre: &str, row: &SessionRow) -> Result<(), StoreError> {
        access::insert_session(&self.g.conn, centre, row)
    }

    fn session(
        &mut self,
        centre: &str,
        token_hash: &str,
    ) -> Result<Option<SessionRow>, StoreError> {
        access::session(&self.g.conn, centre, token_hash)
    }

    fn touch_session(
        &mut self,
        centre: &str,
        token_hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        access::update_session(&self.g.conn, centre, token_hash, "last_seen_at_us", at_us)
    }

    fn revoke_session(
        &mut self,
        centre: &str,
        token_hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        access::update_session(&self.g.conn, centre, token_hash, "revoked_at_us", at_us)
    }

    fn revoke_sessions_of(
        &mut self,
        centre: &str,
        subject_kind: &str,
        subject_id: &str,
        at_us: i64,
    ) -> Result<u64, StoreError> {
        access::revoke_sessions_of(&self.g.conn, centre, subject_kind, subject_id, at_us)
    }

    fn sessions_of(
        &mut self,
        centre: &str,
        subject_kind: &str,
        subject_id: &str,
    ) -> Result<Vec<SessionRow>, StoreError> {
        access::sessions_of(&self.g.conn, centre, subject_kind, subject_id)
    }

    fn remember_device(
        &mut self,
        centre: &str,
        subject_kind: &str,
        subject_id: &str,
        device: &str,
        at_us: i64,
    ) -> Result<bool, StoreError> {
        access::remember_device(
            &self.g.conn,
            centre,
            subject_kind,
            subject_id,
            device,
            at_us,
        )
    }

    fn insert_login_attempt(
        &mut self,
        centre: &str,
        key: &str,
        at_us: i64,
        ok: bool,
    ) -> Result<(), StoreError> {
        access::insert_login_attempt(&self.g.conn, centre, key, at_us, ok)
    }

    fn count_login_attempts(
        &mut self,
        centre: &str,
        key: &str,
        since_us: i64,
    ) -> Result<AttemptCounts, StoreError> {
        access::count_login_attempts(&self.g.conn, centre, key, since_us)
    }

    fn prune_login_attempts(&mut self, centre: &str, before_us: i64) -> Result<u64, StoreError> {
        access::prune_login_attempts(&self.g.conn, centre, before_us)
    }

    fn audit_head(&mut self, centre: &str) -> Result<Option<(i64, String)>, StoreError> {
        access::audit_head(&self.g.conn, centre)
    }

    fn append_audit(&mut self, centre: &str, row: &AuditRow) -> Result<(), StoreError> {
        access::append_audit(&self.g.conn, centre, row)
    }

    fn audit_range(
        &mut self,
        centre: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        access::audit_range(&self.g.conn, centre, after, limit)
    }

    fn search_audit(
        &mut self,
        centre: &str,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        access::search_audit(&self.g.conn, centre, filter, before, limit)
    }

    fn set_notification_pref(
        &mut self,
        centre: &str,
        row: &NotificationPrefRow,
    ) -> Result<(), StoreError> {
        access::set_notification_pref(&self.g.conn, centre, row)
    }

    fn notification_prefs(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Vec<NotificationPrefRow>, StoreError> {
        access::notification_prefs(&self.g.conn, centre, id_number)
    }

    fn insert_notification(
        &mut self,
        centre: &str,
        row: &NotificationRow,
    ) -> Result<i64, StoreError> {
        access::insert_notification(&self.g.conn, centre, row)
    }

    fn pending_notifications(
        &mut self,
        centre: &str,
        limit: usize,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        access::pending_notifications(&self.g.conn, centre, limit)
    }

    fn finish_notification(
        &mut self,
        centre: &str,
        id: i64,
        status: &str,
        at_us: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        access::finish_notification(&self.g.conn, centre, id, status, at_us, error)
    }

    fn notifications_of(
        &mut self,
        centre: &str,
        id_number: &str,
        limit: usize,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        access::notifications_of(&self.g.conn, centre, id_number, limit)
    }

    fn notify_cursor(&mut self, centre: &str) -> Result<i64, StoreError> {
        access::notify_cursor(&self.g.conn, centre)
    }

    fn set_notify_cursor(&mut self, centre: &str, seq: i64) -> Result<(), StoreError> {
        access::set_notify_cursor(&self.g.conn, centre, seq)
    }

    fn insert_approval(&mut self, centre: &str, row: &ApprovalRow) -> Result<i64, StoreError> {
        access::insert_approval(&self.g.conn, centre, row)
    }

    fn approval(&mut self, centre: &str, id: i64) -> Result<Option<ApprovalRow>, StoreError> {
        access::approval(&self.g.conn, centre, id)
    }

    fn pending_approvals(
        &mut self,
        centre: &str,
        business: Option<&str>,
    ) -> Result<Vec<ApprovalRow>, StoreError> {
        access::pending_approvals(&self.g.conn, centre, business)
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
        access::decide_approval(&self.g.conn, centre, id, decision, checker, at_us, reason)
    }

    fn insert_policy_version(
        &mut self,
        centre: &str,
        row: &PolicyVersionRow,
    ) -> Result<(), StoreError> {
        access::insert_policy_version(&self.g.conn, centre, row)
    }

    fn policy_versions(&mut self, centre: &str) -> Result<Vec<PolicyVersionRow>, StoreError> {
        access::policy_versions(&self.g.conn, centre)
    }

    fn current_policy(&mut self, centre: &str) -> Result<Option<PolicyVersionRow>, StoreError> {
        access::current_policy(&self.g.conn, centre)
    }
}

const BILL_COLUMNS: &str = "bill_no, payer, kind, month, status, total_fen, line_count, \
    bank_code, due_on, created_on, confirmed_on, paid_on";

fn bill_params<'a>(b: &'a BillRow, centre: &'a str) -> Vec<Box<dyn rusqlite::ToSql + 'a>> {
    vec![
        Box::new(&b.bill_no),
        Box::new(&b.payer),
        Box::new(b.kind.code()),
        Box::new(b.month.to_string()),
        Box::new(b.status.code()),
        Box::new(b.total.fen()),
        Box::new(b.line_count),
        Box::new(&b.bank_code),
        Box::new(date_str(b.due_on)),
        Box::new(date_str(b.created_on)),
        Box::new(b.confirmed_on.map(date_str)),
        Box::new(b.paid_on.map(date_str)),
        Box::new(centre),
    ]
}

impl SqliteTx<'_> {
    fn insert_lines(&mut self, centre: &str, lines: &[BillLineRow]) -> Result<(), StoreError> {
        // One row per statement, so no statement journal (see `insert_entries_raw`): the
        // lines land on scattered pages of the (centre, month, account) index.
        let mut stmt = self
            .g
            .conn
            .prepare_cached(
                "INSERT INTO bill_lines (centre_code, bill_no, line_no, account_no, name, month,
                    base_fen, unit_fen, member_fen, notice, paid_entry)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .map_err(db_err)?;
        stmt.raw_bind_parameter(1, centre).map_err(db_err)?;
        let mut month = String::with_capacity(7);
        for l in lines {
            use std::fmt::Write as _;
            month.clear();
            let _ = write!(month, "{}", l.month);
            stmt.raw_bind_parameter(2, l.bill_no.as_str())
                .map_err(db_err)?;
            stmt.raw_bind_parameter(3, l.line_no).map_err(db_err)?;
            stmt.raw_bind_parameter(4, l.account_no.as_str())
                .map_err(db_err)?;
            stmt.raw_bind_parameter(5, l.name.as_str())
                .map_err(db_err)?;
            stmt.raw_bind_parameter(6, month.as_str()).map_err(db_err)?;
            stmt.raw_bind_parameter(7, l.base.fen()).map_err(db_err)?;
            stmt.raw_bind_parameter(8, l.unit_share.fen())
                .map_err(db_err)?;
            stmt.raw_bind_parameter(9, l.member_share.fen())
                .map_err(db_err)?;
            stmt.raw_bind_parameter(10, l.notice.as_str())
                .map_err(db_err)?;
            stmt.raw_bind_parameter(11, l.paid_entry.as_deref())
                .map_err(db_err)?;
            stmt.raw_execute().map_err(db_err)?;
        }
        Ok(())
    }

    fn bills_where(
        &mut self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<BillRow>, StoreError> {
        let sql = format!("SELECT {BILL_COLUMNS} FROM bills WHERE centre_code = ?1 AND {filter}");
        let mut stmt = self.g.conn.prepare_cached(&sql).map_err(db_err)?;
        let raws: Vec<RawBill> = stmt
            .query_map(params, |r| {
                Ok(RawBill {
                    bill_no: r.get(0)?,
                    payer: r.get(1)?,
                    kind: r.get(2)?,
                    month: r.get(3)?,
                    status: r.get(4)?,
                    total_fen: r.get(5)?,
                    line_count: r.get(6)?,
                    bank_code: r.get(7)?,
                    due_on: r.get(8)?,
                    created_on: r.get(9)?,
                    confirmed_on: r.get(10)?,
                    paid_on: r.get(11)?,
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        raws.into_iter().map(RawBill::decode).collect()
    }

    fn receipts_where(
        &mut self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<ReceiptRow>, StoreError> {
        let sql = format!(
            "SELECT receipt_key, payer, bill_no, amount_fen, received_on, bank_code, entry_key,
                recorded_at_us
             FROM receipts WHERE centre_code = ?1 AND {filter}"
        );
        let mut stmt = self.g.conn.prepare_cached(&sql).map_err(db_err)?;
        let raws: Vec<RawReceipt> = stmt
            .query_map(params, |r| {
                Ok(RawReceipt {
                    receipt_key: r.get(0)?,
                    payer: r.get(1)?,
                    bill_no: r.get(2)?,
                    amount_fen: r.get(3)?,
                    received_on: r.get(4)?,
                    bank_code: r.get(5)?,
                    entry_key: r.get(6)?,
                    recorded_at_us: r.get(7)?,
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        raws.into_iter().map(RawReceipt::decode).collect()
    }
}
