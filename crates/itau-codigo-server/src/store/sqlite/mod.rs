//! The embedded default store: one SQLite file (or, for `--demo`, one in-memory
//! database shared by every connection of the process). Split by job: [`serving`]
//! (read-only connections on a watched file), [`importing`] (one write transaction,
//! and a new file built beside its place), [`migrating`] (the schema); this module
//! holds what all three set on a connection.

mod importing;
mod migrating;
mod serving;

use std::path::Path;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

pub use importing::SqliteImporter;
pub(super) use migrating::migrate_file;
pub use serving::{FILE_CHECK_INTERVAL, MMAP_LIMIT, SqliteReads, SqliteStore};

use super::{DbLocation, StoreError};

/// Per-connection settings. WAL lets readers go on while an import writes, and see the
/// old data until it commits; the page cache is sized per connection (RSS matters).
/// SQLite fills it as pages are read, so a connection that reads little holds little;
/// with [`SqliteReads::Mapped`] a read transaction takes the file's pages from the map,
/// not into this cache, which then holds only the file's header page and pages read
/// from the WAL (an import's that no checkpoint has copied into the file yet).
const CONNECTION_PRAGMAS: &str = "
    PRAGMA busy_timeout = 5000;
    PRAGMA synchronous = NORMAL;
    PRAGMA cache_size = -16384;
    PRAGMA temp_store = MEMORY;
";

/// The record of the last import.
const LAST_IMPORT: &str =
    "SELECT committed_at, accounts FROM itau_codigo_imports ORDER BY id DESC LIMIT 1";

type Pool = r2d2::Pool<SqliteConnectionManager>;

/// A pool of up to `size` connections made by `manager`.
fn pool(manager: SqliteConnectionManager, size: u32) -> Result<Pool, StoreError> {
    Ok(r2d2::Pool::builder()
        .max_size(size.max(1))
        .min_idle(Some(1))
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(5))
        .build(manager)?)
}

/// How a file database journals its writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Journal {
    /// WAL: readers go on while an import writes (every store that serves).
    Wal,
    /// A new file: SQLite's default rollback journal until its first import commits
    /// (the commit of that import turns it to WAL).
    RollbackUntilFirstImport,
}

/// The journal mode, and the schema, on a file database.
/// Returns the schema versions before and after.
fn prepare_file(
    connection: &Connection,
    path: &Path,
    journal: Journal,
) -> Result<(i64, i64), StoreError> {
    let open = |e: rusqlite::Error| open_error(path, &e);
    connection.execute_batch(CONNECTION_PRAGMAS).map_err(open)?;
    // Takes effect only on a new, empty file (before WAL and the first table). A record
    // is about 1.3 KiB: on 4 KiB pages an import splits a leaf every other insert and
    // writes three times as many WAL frames. 16 KiB pages import markedly faster and a
    // lookup costs the same (`cargo xtask bench`, see BENCHMARKS.md).
    connection
        .execute_batch("PRAGMA page_size = 16384;")
        .map_err(open)?;
    if journal == Journal::Wal {
        set_wal(connection, path)?;
    }
    migrating::migrate(connection)
}

/// Turns the file to WAL (it stays so: the mode is kept in the file).
fn set_wal(connection: &Connection, path: &Path) -> Result<(), StoreError> {
    let mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| open_error(path, &e))?;
    if mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        Err(StoreError::Open {
            location: store_location(path),
            reason: format!("cannot turn on WAL (the journal mode stayed {mode})"),
        })
    }
}

/// The store at `path` as errors and logs name it.
fn store_location(path: &Path) -> String {
    DbLocation::SqliteFile(path.to_owned()).to_string()
}

/// Fails, naming the command that creates a store, unless a file is at `path`: only
/// `import` creates one (`serve` and `migrate` need it to exist).
fn existing_file(path: &Path) -> Result<(), StoreError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(StoreError::Open {
            location: store_location(path),
            reason: "no such file (create it with `itau-codigo import FILE --db sqlite:PATH`)"
                .into(),
        })
    }
}

/// SQLite could not open (or set up) the file at `path`.
fn open_error(path: &Path, error: &rusqlite::Error) -> StoreError {
    StoreError::Open {
        location: store_location(path),
        reason: error.to_string(),
    }
}
