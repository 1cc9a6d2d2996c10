//! Opening a store from a database URL: `sqlite://PATH` or `postgres://…`.

use std::path::Path;
use std::sync::Arc;

use anju_store::{Backend, Store, parse_url};
use anju_store_postgres::PostgresStore;
use anju_store_sqlite::SqliteStore;

/// Opens (creating a SQLite file if absent) and migrates the database at `url`.
pub fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let (backend, rest) = parse_url(url)?;
    Ok(match backend {
        Backend::Sqlite => Arc::new(SqliteStore::open(Path::new(rest))?),
        Backend::Postgres => Arc::new(PostgresStore::open(rest)?),
    })
}
