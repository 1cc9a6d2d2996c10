//! Test support: a fresh database per test on SQLite or PostgreSQL, and the backend
//! selection every test run reports.
//!
//! `ANJU_TEST_BACKENDS` (default `sqlite,postgres`) names the backends each conformance
//! test runs on. PostgreSQL is reached at `ANJU_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test creates its own database
//! there and drops it afterwards. A PostgreSQL run that was asked for and cannot connect
//! **fails** — it never silently falls back to SQLite. Every fresh database prints
//! `anju-testkit: backend=… database=…` and, when `ANJU_BACKEND_LOG` names a file, appends
//! the backend name to it, so CI can prove both backends really ran.

pub mod registry;
pub mod staff;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use anju_store::{Backend, Store};
use anju_store_postgres::PostgresStore;
use anju_store_sqlite::SqliteStore;

/// Default admin URL of the local PostgreSQL.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The backends this test run must exercise.
pub fn backends() -> Vec<Backend> {
    let spec = std::env::var("ANJU_TEST_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "sqlite" => out.push(Backend::Sqlite),
            "postgres" => out.push(Backend::Postgres),
            other => {
                panic!("ANJU_TEST_BACKENDS: unknown backend {other:?} (use sqlite and/or postgres)")
            }
        }
    }
    assert!(!out.is_empty(), "ANJU_TEST_BACKENDS names no backend");
    out
}

/// The admin URL of the PostgreSQL server used for tests.
pub fn pg_admin_url() -> String {
    std::env::var("ANJU_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into())
}

/// A fresh, migrated database that is deleted when dropped.
pub struct TestDb {
    /// The store.
    pub store: Box<dyn Store>,
    /// The backend.
    pub backend: Backend,
    /// The database's URL (for tests that open a second connection or run the binary).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("url", &self.url).finish()
    }
}

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("anju_t_{}_{n}_{nanos}", std::process::id())
}

fn announce(backend: Backend, where_: &str) {
    eprintln!("anju-testkit: backend={backend} database={where_}");
    if let Ok(path) = std::env::var("ANJU_BACKEND_LOG")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
    {
        // One write of the whole line: appends from parallel tests never interleave.
        let _ = f.write_all(format!("{backend}\n").as_bytes());
    }
}

/// Replaces the database name in a PostgreSQL URL.
pub fn pg_url_with_db(admin: &str, db: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let host = match path_start {
        Some(p) => &base[..p],
        None => base,
    };
    match query {
        Some(q) => format!("{host}/{db}?{q}"),
        None => format!("{host}/{db}"),
    }
}

fn pg_admin(sql: &str) -> Result<(), String> {
    let url = pg_admin_url();
    let mut client = postgres::Client::connect(&url, postgres::NoTls)
        .map_err(|e| format!("cannot connect to PostgreSQL at {url}: {e}"))?;
    client.batch_execute(sql).map_err(|e| format!("{sql}: {e}"))
}

impl TestDb {
    /// A fresh database on `backend`. Panics with the reason if it cannot be made.
    pub fn fresh(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let path: PathBuf = dir.path().join("anju-test.db");
                let store = SqliteStore::open(&path).expect("open SQLite test database");
                announce(backend, &path.display().to_string());
                TestDb {
                    store: Box::new(store),
                    backend,
                    url: format!("sqlite://{}", path.display()),
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let name = unique_name();
                if let Err(e) = pg_admin(&format!("CREATE DATABASE {name}")) {
                    panic!(
                        "a PostgreSQL test run was asked for (ANJU_TEST_BACKENDS) but failed: {e}. \
                         Start PostgreSQL (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) \
                         or set ANJU_TEST_BACKENDS=sqlite"
                    );
                }
                let url = pg_url_with_db(&pg_admin_url(), &name);
                let store = PostgresStore::open(&url).expect("open PostgreSQL test database");
                announce(backend, &name);
                TestDb {
                    store: Box::new(store),
                    backend,
                    url,
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl TestDb {
    /// A second, independent store on the same database — as another process would
    /// open it (its own connections and caches).
    pub fn open_another(&self) -> Box<dyn Store> {
        match self.backend {
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
                Box::new(SqliteStore::open(std::path::Path::new(path)).expect("reopen SQLite"))
            }
            Backend::Postgres => {
                Box::new(PostgresStore::open(&self.url).expect("reopen PostgreSQL"))
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Close our connections first by replacing the store with a closed one is not
            // possible; DROP … WITH (FORCE) ends them.
            let _ = pg_admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Runs `test` once on a fresh database for every backend in [`backends`].
pub fn for_each_backend(mut test: impl FnMut(&TestDb)) {
    for b in backends() {
        let db = TestDb::fresh(b);
        test(&db);
    }
}

/// A loopback TCP port that is free now, for a child process that must be told its port
/// before it starts (a server whose address other processes are given first).
///
/// Chosen at random below Linux's ephemeral range (32768–60999): processes that bind
/// port 0 — the simulators the same test starts next — are handed ports from that range,
/// so they cannot be given this one between our check and the child's bind.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    for _ in 0..1_000 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let port = 20_000 + (h.finish() % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in 20000–31999")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_in_a_url() {
        assert_eq!(
            pg_url_with_db("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(pg_url_with_db("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(
            pg_url_with_db("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
