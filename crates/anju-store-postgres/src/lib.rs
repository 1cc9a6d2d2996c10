//! Anju's storage on PostgreSQL (production): the same schema, decoding and behaviour as
//! the SQLite store, with binary `COPY` for bulk writes.
//!
//! **Blocking API.** The synchronous `postgres` client drives each connection with its
//! own small tokio runtime, so it must not be called on an async runtime's worker thread
//! (it panics there). Callers on an async runtime run store work in
//! `tokio::task::spawn_blocking`, exactly as they do for SQLite.
//!
//! **Connections.** A small pool (`Mutex` + `Condvar`) creates connections on demand up to
//! a maximum (16 by default, [`PostgresStore::open_with`]). A transaction takes one for its
//! lifetime and gives it back when committed or dropped; a connection whose rollback
//! failed, or that the server closed, is discarded. Every connection runs with
//! `DateStyle = ISO` so `date::text` is always `YYYY-MM-DD`. Statements are prepared once
//! per connection and cached.
//!
//! **Transactions** are `READ COMMITTED`; [`StoreTx::lock_centre`] takes the centre row
//! `FOR UPDATE`, which serialises postings per centre. The methods that can break a
//! uniqueness rule (`insert_centre`, `insert_accounts`, `insert_entries`, the registry's
//! and remittance's `insert_*`, `append_event`, `replace_bill_lines`), the bulk
//! `save_accounts`, `insert_bills` and `record_full_payments` run under a savepoint, so
//! each is all-or-nothing and a `Conflict` or `NotFound` leaves the transaction usable
//! (as in SQLite). `insert_bill`, called thousands
//! of times in one transaction, instead inserts its bill row with `ON CONFLICT DO NOTHING`
//! and reports a taken number or month without an error. The data-sharing writes
//! (`insert_application`, `insert_lookups`, `complete_lookups`, `insert_facts`), run on
//! every verification, take no savepoint either: each is one statement that first checks
//! that none of its keys is taken (or that every look-up is still pending) and then writes
//! all its rows or none. The bank-settlement writes (`tx/settlement.rs`) work the same
//! way: single rows with `ON CONFLICT DO NOTHING`, small batches in one guarded statement,
//! and large ones by binary `COPY` (into the table, or into a staging table for updates)
//! under a savepoint. Any other server error aborts the PostgreSQL transaction;
//! `commit` then fails instead of silently rolling back.
//!
//! **Bulk paths.** Past a few dozen rows, `insert_accounts` and `insert_entries` stream
//! binary `COPY` straight into their tables, and `save_accounts` copies the figures into a
//! temporary staging table and applies them with one `UPDATE … FROM`. Bill lines go in
//! as one array per column through `unnest`, one statement per bill (with its bill row).
//! Lookups by many keys use `= ANY($2)` with an array parameter, in chunks. The monthly
//! remittance batch (`tx/batch.rs`) overrides the trait's looping `insert_bills` and
//! `record_full_payments`: all bills in one `INSERT … FROM unnest(…)` and their lines by
//! binary `COPY`; all receipts in one statement, every line marked and every member's
//! 缴至年月 moved in one more, every bill saved in a third — each batch under one
//! savepoint, with the loop's result and its `Conflict`/`NotFound`, the transaction still
//! usable after one. Statements that join or group a whole centre's rows run with a larger
//! `work_mem` (local to the transaction), and `bill_lines` and `members` leave room on
//! their pages (migration 4, `fillfactor`) so paying a month rewrites their rows in place
//! (HOT) instead of inserting into every index. Statements slower than 20 ms are logged
//! at debug level (`RUST_LOG=anju_store_postgres=debug`).

mod copy;
mod rows;
mod tx;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anju_store::{
    Backend, ColumnSchema, Store, StoreError, StoreTx, TableSchema, parse_url, redact_url,
};
use postgres::error::{DbError, SqlState};
use postgres::{Client, NoTls};

use tx::{PgConn, PgTx};

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
        "hot updates",
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

/// Key of the advisory lock held while migrating ("anjumigr").
const MIGRATION_LOCK: i64 = 0x616e_6a75_6d69_6772;

/// Default maximum number of pooled connections.
pub const DEFAULT_MAX_CONNS: usize = 16;

/// How long `begin` waits for a connection when all are in use.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// The server's message for an error: severity, message and detail for a server error,
/// the whole cause chain otherwise (the client's `Display` alone says only "db error").
pub(crate) fn message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.to_string();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Maps a client error: unique violations become `Conflict`, the rest `Database`.
pub(crate) fn pg_err(e: &postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error()
        && *db.code() == SqlState::UNIQUE_VIOLATION
    {
        return StoreError::Conflict {
            what: unique_what(db),
        };
    }
    StoreError::Database {
        backend: Backend::Postgres,
        message: message(e),
    }
}

/// A unique violation in SQLite's words (`UNIQUE constraint failed: centres.centre_code`),
/// so both backends report a generic conflict identically.
fn unique_what(db: &DbError) -> String {
    let columns = db
        .detail()
        .and_then(|d| d.strip_prefix("Key ("))
        .and_then(|d| d.split_once(")=("))
        .map(|(cols, _)| cols);
    match (db.table(), columns) {
        (Some(table), Some(cols)) => {
            let cols: Vec<String> = cols.split(", ").map(|c| format!("{table}.{c}")).collect();
            format!("UNIQUE constraint failed: {}", cols.join(", "))
        }
        _ => db.message().to_owned(),
    }
}

/// Idle connections and how many exist in all (idle or in a transaction).
struct Pool {
    idle: Vec<PgConn>,
    live: usize,
}

/// A PostgreSQL database.
pub struct PostgresStore {
    /// The URL without its password.
    redacted: String,
    config: postgres::Config,
    max_conns: usize,
    pool: Mutex<Pool>,
    returned: Condvar,
    /// Committed account figures per centre, trusted only while the centre's chain head
    /// is the one this process last saw (see `tx::PgTx`).
    pub(crate) cache: Mutex<tx::PgCache>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.redacted)
            .field("max_conns", &self.max_conns)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Starts a transaction with `begin_sql`, on a pooled connection. A pooled connection
    /// may have been closed by the server since it was last used; such a connection is
    /// dropped and the next one tried.
    fn begin_with(&self, begin_sql: &str) -> Result<Box<dyn StoreTx + '_>, StoreError> {
        let mut last = None;
        for _ in 0..=self.max_conns {
            let mut conn = self.acquire()?;
            match conn.client.batch_execute(begin_sql) {
                Ok(()) => {
                    let read_only = begin_sql.contains("READ ONLY");
                    return Ok(Box::new(PgTx::new(self, conn, read_only)));
                }
                Err(e) => {
                    let closed = e.is_closed() || conn.client.is_closed();
                    let err = pg_err(&e);
                    self.release(if closed { None } else { Some(conn) });
                    if !closed {
                        return Err(err);
                    }
                    last = Some(err);
                }
            }
        }
        Err(last.unwrap_or_else(|| StoreError::Database {
            backend: Backend::Postgres,
            message: "no usable connection".to_owned(),
        }))
    }

    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`, no TLS) and
    /// applies pending migrations, with a pool of at most [`DEFAULT_MAX_CONNS`] connections.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::open_with(url, DEFAULT_MAX_CONNS)
    }

    /// [`PostgresStore::open`] with at most `max_conns` pooled connections (at least 1;
    /// the monthly batch holds two at once: its transaction and a snapshot reader).
    pub fn open_with(url: &str, max_conns: usize) -> Result<PostgresStore, StoreError> {
        let redacted = redact_url(url);
        let (backend, _) = parse_url(url).map_err(|e| match e {
            StoreError::BadUrl { reason, .. } => StoreError::BadUrl {
                url: redacted.clone(),
                reason,
            },
            other => other,
        })?;
        if backend != Backend::Postgres {
            return Err(StoreError::BadUrl {
                url: redacted,
                reason: "a PostgreSQL URL must start with postgres:// or postgresql://".to_owned(),
            });
        }
        let config: postgres::Config =
            url.parse()
                .map_err(|e: postgres::Error| StoreError::BadUrl {
                    url: redacted.clone(),
                    reason: message(&e),
                })?;
        let store = PostgresStore {
            redacted,
            config,
            max_conns: max_conns.max(1),
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                live: 0,
            }),
            returned: Condvar::new(),
            cache: Mutex::new(tx::PgCache::default()),
        };
        let mut conn = store.acquire()?;
        let migrated = migrate(&mut conn.client);
        store.release(Some(conn));
        migrated?;
        Ok(store)
    }

    /// The maximum number of pooled connections.
    pub fn max_conns(&self) -> usize {
        self.max_conns
    }

    fn connect(&self) -> Result<PgConn, StoreError> {
        let fail = |e: postgres::Error| StoreError::Connect {
            url: self.redacted.clone(),
            reason: message(&e),
        };
        let mut client = self.config.connect(NoTls).map_err(fail)?;
        client
            .batch_execute("SET DateStyle = 'ISO, YMD'")
            .map_err(fail)?;
        tracing::debug!(url = %self.redacted, "postgres connection opened");
        Ok(PgConn::new(client))
    }

    fn lock_pool(&self) -> MutexGuard<'_, Pool> {
        // The pool's state stays consistent even if a holder panicked.
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle connection, a new one if there is room, or waits for one to come back.
    fn acquire(&self) -> Result<PgConn, StoreError> {
        let deadline = Instant::now() + POOL_WAIT;
        let mut pool = self.lock_pool();
        loop {
            if let Some(conn) = pool.idle.pop() {
                if conn.client.is_closed() {
                    pool.live -= 1;
                    continue;
                }
                return Ok(conn);
            }
            if pool.live < self.max_conns {
                pool.live += 1;
                drop(pool);
                return self.connect().inspect_err(|_| {
                    self.lock_pool().live -= 1;
                    self.returned.notify_one();
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Database {
                    backend: Backend::Postgres,
                    message: format!(
                        "all {} pooled connections stayed in use for {} s",
                        self.max_conns,
                        POOL_WAIT.as_secs()
                    ),
                });
            }
            pool = self
                .returned
                .wait_timeout(pool, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Gives a connection back (or, with `None` or a closed one, forgets it).
    fn release(&self, conn: Option<PgConn>) {
        let mut pool = self.lock_pool();
        match conn {
            Some(mut c) if !c.client.is_closed() => {
                c.refresh_if_due();
                pool.idle.push(c);
            }
            _ => pool.live -= 1,
        }
        drop(pool);
        self.returned.notify_one();
    }
}

/// Applies pending migrations in one transaction under an advisory lock, so processes
/// starting together do not race; refuses to run if an applied migration has changed.
fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let db = |e: postgres::Error| pg_err(&e);
    let mut tx = client.transaction().map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(db)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL)",
    )
    .map_err(db)?;
    let mut applied_now = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        let checksum = anju_store::migration_checksum(sql);
        let applied: Option<String> = tx
            .query_opt(
                "SELECT checksum FROM schema_migrations WHERE version = $1",
                &[version],
            )
            .and_then(|row| row.map(|r| r.try_get(0)).transpose())
            .map_err(db)?;
        if !anju_store::migration_needed(*version, name, sql, applied.as_deref())? {
            continue;
        }
        tx.batch_execute(sql).map_err(|e| StoreError::Migration {
            version: *version,
            reason: message(&e),
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[version, name, &checksum],
        )
        .map_err(db)?;
        applied_now.push((*version, *name));
    }
    tx.commit().map_err(db)?;
    for (version, name) in applied_now {
        tracing::info!(version, name, "postgres migration applied");
    }
    Ok(())
}

impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn describe(&self) -> String {
        self.redacted.clone()
    }

    fn begin(&self) -> Result<Box<dyn StoreTx + '_>, StoreError> {
        self.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
    }

    fn begin_read(&self) -> Result<Box<dyn StoreTx + '_>, StoreError> {
        // One snapshot for the whole read (an audit must not see half a posting).
        self.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }

    fn optimize(&self) -> Result<(), StoreError> {
        let mut conn = self.acquire()?;
        let out = conn
            .client
            .batch_execute("VACUUM (ANALYZE)")
            .map_err(|e| pg_err(&e));
        self.release(Some(conn));
        out
    }

    fn schema(&self) -> Result<Vec<TableSchema>, StoreError> {
        let mut conn = self.acquire()?;
        let out = read_schema(&mut conn.client);
        self.release(Some(conn));
        out
    }
}

/// The portable name of an `information_schema` data type: the five types Anju uses are
/// spelt as SQLite reports them (`text`, `bigint`, `integer`, `date`, `boolean`); anything
/// else is passed through lower-cased, so a stray type shows up as a difference.
fn portable_type(data_type: &str) -> String {
    data_type.to_lowercase()
}

/// The application tables of the current schema (without `schema_migrations`).
fn read_schema(client: &mut Client) -> Result<Vec<TableSchema>, StoreError> {
    let db = |e: postgres::Error| pg_err(&e);
    let mut tables: BTreeMap<String, TableSchema> = BTreeMap::new();
    let columns = client
        .query(
            "SELECT c.table_name::text, c.column_name::text, c.data_type::text,
                    c.is_nullable::text = 'YES'
             FROM information_schema.columns c
             JOIN information_schema.tables t
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
               AND c.table_name <> 'schema_migrations'
             ORDER BY c.table_name, c.ordinal_position",
            &[],
        )
        .map_err(db)?;
    for row in columns {
        let table: String = row.try_get(0).map_err(db)?;
        let name: String = row.try_get(1).map_err(db)?;
        let ty: String = row.try_get(2).map_err(db)?;
        let nullable: bool = row.try_get(3).map_err(db)?;
        tables
            .entry(table.clone())
            .or_insert_with(|| TableSchema {
                name: table,
                columns: Vec::new(),
                primary_key: Vec::new(),
                indexes: Vec::new(),
            })
            .columns
            .push(ColumnSchema {
                name,
                ty: portable_type(&ty),
                nullable,
            });
    }
    // Indexes with their key columns in order. Those backing a PRIMARY KEY, UNIQUE or
    // EXCLUDE constraint are the engine's own (SQLite's `origin <> 'c'`); the primary key
    // is reported as such.
    let indexes = client
        .query(
            "SELECT t.relname::text, i.relname::text, ix.indisunique, ix.indisprimary,
                    ARRAY(SELECT a.attname::text
                          FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                          WHERE k.ord <= ix.indnkeyatts
                          ORDER BY k.ord)
             FROM pg_index ix
             JOIN pg_class i ON i.oid = ix.indexrelid
             JOIN pg_class t ON t.oid = ix.indrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = current_schema() AND t.relkind IN ('r', 'p')
               AND t.relname <> 'schema_migrations'
               AND (ix.indisprimary OR NOT EXISTS (
                    SELECT 1 FROM pg_constraint c
                    WHERE c.conrelid = t.oid AND c.conindid = ix.indexrelid
                      AND c.contype IN ('p', 'u', 'x')))",
            &[],
        )
        .map_err(db)?;
    for row in indexes {
        let table: String = row.try_get(0).map_err(db)?;
        let name: String = row.try_get(1).map_err(db)?;
        let unique: bool = row.try_get(2).map_err(db)?;
        let primary: bool = row.try_get(3).map_err(db)?;
        let columns: Vec<String> = row.try_get(4).map_err(db)?;
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        if primary {
            t.primary_key = columns;
        } else {
            t.indexes.push((name, columns, unique));
        }
    }
    let mut out: Vec<TableSchema> = tables.into_values().collect();
    for t in &mut out {
        t.indexes.sort();
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_and_unreachable_servers_are_clear_errors_without_the_password() {
        match PostgresStore::open("sqlite://a.db") {
            Err(StoreError::BadUrl { reason, .. }) => assert!(reason.contains("postgres://")),
            other => panic!("{other:?}"),
        }
        match PostgresStore::open("mysql://u:secret@h/db") {
            Err(StoreError::BadUrl { url, .. }) => assert_eq!(url, "mysql://u:***@h/db"),
            other => panic!("{other:?}"),
        }
        // Nothing listens on port 1.
        match PostgresStore::open_with("postgres://u:secret@127.0.0.1:1/db", 2) {
            Err(e @ StoreError::Connect { .. }) => {
                let text = e.to_string();
                assert!(text.contains("postgres://u:***@127.0.0.1:1/db"), "{text}");
                assert!(!text.contains("secret"), "{text}");
                assert!(text.contains("connect"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }
}
