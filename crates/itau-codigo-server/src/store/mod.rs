//! Where customers are stored: a small trait, so that the handlers do not know (or
//! care) whether SQLite or PostgreSQL answers.

mod format;
mod location;
mod migrations;
mod postgres;
mod sqlite;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use itau_codigo::{CodigoConta, ConsultaClienteRequest, RegistroCliente};

pub use format::{CorruptRecord, encode_dados, encode_record, render_answer};
pub use location::{DbLocation, redacted_url};
pub use postgres::{
    ConnectionKey, IMPORT_BATCH_ROWS, IMPORT_LOCK, MIGRATION_LOCK, Passfile, PassfileError,
    PostgresImporter, PostgresStore, QUERY_TIMEOUT,
};
pub use sqlite::{FILE_CHECK_INTERVAL, MMAP_LIMIT, SqliteImporter, SqliteReads, SqliteStore};

/// Opens the store at `location` for serving, with up to `pool_size` connections, a
/// SQLite file read as `reads` says (PostgreSQL ignores it). Serving never writes: the
/// store is opened read-only and never migrated.
///
/// # Errors
///
/// As the store's own open: a missing SQLite file (only `import` creates one), an
/// unreachable PostgreSQL, a schema older than this binary's (run [`migrate`]: the
/// error names the command) or newer.
pub fn open(
    location: &DbLocation,
    pool_size: u32,
    reads: SqliteReads,
) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match location {
        DbLocation::SqliteFile(path) => {
            Arc::new(SqliteStore::open_existing(path, pool_size, reads)?)
        }
        DbLocation::Postgres(url) => Arc::new(PostgresStore::open(url, pool_size)?),
    })
}

/// Opens the store at `location` for an import, creating a SQLite file (and any
/// store's schema) if needed. A SQLite file created here is built as `PATH.importing`
/// and renamed into place when an import commits, or removed when the importer is
/// dropped without one.
///
/// # Errors
///
/// The file cannot be created or opened, PostgreSQL cannot be reached, a migration
/// fails, or the schema is newer than this binary.
pub fn open_importer(location: &DbLocation) -> Result<Box<dyn Importer>, StoreError> {
    Ok(match location {
        DbLocation::SqliteFile(path) => Box::new(SqliteImporter::create_or_open(path)?),
        DbLocation::Postgres(url) => Box::new(PostgresImporter::connect(url)?),
    })
}

/// Brings the store at `location` to this binary's schema (`itau-codigo migrate`; an
/// import does the same first), re-rendering stored records into the current format.
/// Returns the schema versions before and after.
///
/// # Errors
///
/// No such SQLite file, PostgreSQL unreachable, a migration failed (nothing of it is
/// kept), or the schema is newer than this binary.
pub fn migrate(location: &DbLocation) -> Result<(i64, i64), StoreError> {
    match location {
        DbLocation::SqliteFile(path) => sqlite::migrate_file(path),
        DbLocation::Postgres(url) => postgres::migrate_database(url),
    }
}

/// Why the connection to the store at `location` could be read or altered on the way: a
/// PostgreSQL host other than this machine reached with an `sslmode` below
/// `verify-full`. `None` for SQLite, loopback hosts and Unix sockets, `verify-full`, and
/// a URL that cannot be read (opening it says why). Never holds the password.
pub fn weak_tls_warning(location: &DbLocation) -> Option<String> {
    match location {
        DbLocation::SqliteFile(_) => None,
        DbLocation::Postgres(url) => postgres::weak_tls_warning(url),
    }
}

/// A boxed future, so that `dyn Store` works with async methods.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Read side, used by the service.
pub trait Store: Send + Sync + 'static {
    /// The body of the 200 that answers `consulta` (`{"data":{...}}`, with the manager
    /// the request selects), or `None` when there is no such account. Rendered by
    /// [`render_answer`] from the stored record, without decoding it.
    fn answer<'a>(
        &'a self,
        consulta: &'a ConsultaClienteRequest,
    ) -> StoreFuture<'a, Option<Vec<u8>>>;

    /// Succeeds when the store answers a trivial query (readiness).
    fn ping(&self) -> StoreFuture<'_, ()>;

    /// On a hot standby, how far its replay is behind the primary, in seconds (0 when
    /// it has replayed all it received); `None` for a store that replicates nothing.
    fn replay_lag(&self) -> StoreFuture<'_, Option<f64>> {
        Box::pin(std::future::ready(Ok(None)))
    }

    /// What the store is, for logs: never a password.
    fn describe(&self) -> String;

    /// Its connection pool as it is now, for `/metrics`. The default, for a store
    /// without a pool (a test's stand-in), is `None`.
    fn pool_status(&self) -> Option<PoolStatus> {
        None
    }

    /// What the last import recorded when it committed, or `None` when no import did
    /// (a store from before imports recorded it, one only migrated since, or a test's
    /// stand-in, the default).
    fn last_import(&self) -> StoreFuture<'_, Option<LastImport>> {
        Box::pin(async { Ok(None) })
    }
}

/// A connection pool as it is at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// The most connections it may open.
    pub max_size: u64,
    /// Connections open now, idle or in use.
    pub size: u64,
    /// Connections lent out now.
    pub in_use: u64,
    /// Callers waiting now for a connection.
    pub waiting: u64,
}

/// What an import records in the store, in the same transaction as the data: when it
/// committed and how many accounts the store held then.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LastImport {
    /// When it committed, in seconds since the Unix epoch (the clock of the database
    /// server on PostgreSQL, of the importing machine on SQLite).
    pub committed_at: f64,
    /// Accounts in the store once it committed.
    pub accounts: u64,
}

impl fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Write side, used by `itau-codigo import`: one transaction for the whole file.
pub trait Importer {
    /// Starts the transaction; with `replace`, everything stored is deleted first (inside it).
    fn begin(&mut self, replace: bool) -> Result<Box<dyn ImportSession + '_>, StoreError>;
}

/// An open import transaction. Dropping it without `commit` rolls everything back.
///
/// [`crate::import::import`] hands it each account once, in ascending key order: the
/// account code as a number, and the bytes [`encode_record`] made of the record. A
/// session also accepts keys in any order and an account more than once (the later
/// call wins), as tests and tools use it.
pub trait ImportSession {
    /// Inserts or replaces the account `key` with its stored bytes `encoded`.
    fn upsert(&mut self, key: i64, encoded: &[u8]) -> Result<(), StoreError>;

    /// Makes every upsert visible at once.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Inserts or replaces one record: [`Self::upsert`] of its key and encoding.
    ///
    /// # Errors
    ///
    /// As [`Self::upsert`].
    fn upsert_registro(&mut self, registro: &RegistroCliente) -> Result<(), StoreError> {
        self.upsert(key(&registro.codigo_conta), &encode_record(registro))
    }
}

/// How many accounts a store holds once an import commits, from what the import saw:
/// the accounts it added (`inserted`: not stored before it), whether it emptied the
/// store first (`replace`), and the count the previous import recorded. `None` when
/// only counting the table can tell: no import was recorded before this one (a store
/// from before the record), and it did not replace everything.
///
/// Kept rather than counted, because counting means reading the whole table (the
/// B-tree in SQLite, the heap in PostgreSQL) inside the import's transaction.
fn accounts_after_import(
    replace: bool,
    inserted: u64,
    recorded_before: Option<u64>,
) -> Option<u64> {
    if replace {
        Some(inserted)
    } else {
        recorded_before.map(|before| before + inserted)
    }
}

/// A store failure. Its text is for logs and operators, never for a response body.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database (file, URL) could not be opened.
    #[error("cannot open the store {location}: {reason}")]
    Open {
        /// Where, password redacted.
        location: String,
        /// Why.
        reason: String,
    },
    /// A SQLite error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// No connection could be had from the pool in time.
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// A stored document does not parse, or a record does not serialise (a bug or a
    /// tampered store). Only the position is kept: serde's message may quote data.
    #[error("stored data for {codigo} is corrupt at line {line}, column {column}")]
    Corrupt {
        /// The masked account code.
        codigo: String,
        /// Where the JSON went wrong.
        line: usize,
        /// Where the JSON went wrong.
        column: usize,
    },
    /// A stored record is not in the format this binary reads (a bug or a tampered store).
    #[error("stored data for {codigo} is not in the expected format")]
    BadRecord {
        /// The masked account code.
        codigo: String,
    },
    /// The store's schema is older than this binary's: `serve` does not migrate.
    #[error(
        "the store's schema version {found} is older than this binary's {supported}: upgrade it with `{command}` (or re-import into it)"
    )]
    SchemaTooOld {
        /// The store's version.
        found: i64,
        /// The version this binary reads.
        supported: i64,
        /// The command that upgrades it.
        command: String,
    },
    /// The store was written by a newer version of this program.
    #[error(
        "the store's schema version {found} is newer than this binary's {supported}: upgrade itau-codigo"
    )]
    SchemaTooNew {
        /// The store's version.
        found: i64,
        /// The newest version this binary knows.
        supported: i64,
    },
    /// The blocking task running the query was cancelled or panicked.
    #[error("store task failed: {0}")]
    Task(String),
    /// A PostgreSQL error (its causes included in the text).
    #[error("postgres: {}", error_chain(.0))]
    Postgres(tokio_postgres::Error),
    /// The store did not answer in time.
    #[error("the store's {what} did not finish within {after:?}")]
    Timeout {
        /// What was asked.
        what: &'static str,
        /// The limit.
        after: Duration,
    },
    /// Another `import` holds the database's import lock.
    #[error("another import into this database is running; try again once it has finished")]
    ImportRunning,
    /// `import` or `migrate` pointed at a PostgreSQL hot standby, which is read-only.
    #[error(
        "the database is a read-only hot standby (in recovery): import and migrate write, point --db at the primary"
    )]
    ReadOnlyStandby,
}

// By hand, not `#[from]`: the text already carries the causes, and an error reporter
// walking `source()` would print them twice.
impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Postgres(error)
    }
}

/// An error and its causes, `: `-separated (tokio-postgres keeps the server's message
/// in a cause).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let next_text = next.to_string();
        if !text.ends_with(&next_text) {
            text.push_str(": ");
            text.push_str(&next_text);
        }
        cause = next.source();
    }
    text
}

/// The table key of both stores: 18 digits always fit an i64 (at most
/// 999 999 999 999 999 999), and the numbers sort as the codes do.
pub fn key(codigo_conta: &CodigoConta) -> i64 {
    codigo_conta
        .as_str()
        .bytes()
        .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'))
}

impl StoreError {
    /// A [`StoreError::BadRecord`] for `codigo`.
    pub fn bad_record(codigo: &CodigoConta) -> Self {
        Self::BadRecord {
            codigo: codigo.masked().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accounts_after_an_import_are_kept_not_counted_once_one_was_recorded() {
        assert_eq!(accounts_after_import(true, 7, Some(100)), Some(7));
        assert_eq!(accounts_after_import(true, 7, None), Some(7));
        assert_eq!(accounts_after_import(false, 7, Some(100)), Some(107));
        assert_eq!(accounts_after_import(false, 7, None), None);
    }

    #[test]
    fn the_key_is_the_code_as_a_number() {
        let codigo: CodigoConta = "001341150100098790".parse().unwrap();
        assert_eq!(key(&codigo), 1_341_150_100_098_790);
        let largest = CodigoConta::compose("999", "999", "9999", "9999999").unwrap();
        assert!(key(&largest) > 0);
    }
}
