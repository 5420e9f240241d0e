//! Where customers are stored: a small trait, so that the handlers do not know (or
//! care) whether SQLite or PostgreSQL answers.

mod postgres;
mod sqlite;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use itau_codigo::{CodigoConta, DadosRegistro, RegistroCliente};

pub use postgres::{
    IMPORT_BATCH_ROWS, IMPORT_LOCK, MIGRATION_LOCK, PostgresImporter, PostgresStore, QUERY_TIMEOUT,
};
pub use sqlite::{SqliteImporter, SqliteStore};

/// A boxed future, so that `dyn Store` works with async methods.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Read side, used by the service.
pub trait Store: Send + Sync + 'static {
    /// The stored data of `codigo_conta`, or `None` when there is no such account.
    fn find(&self, codigo_conta: CodigoConta) -> StoreFuture<'_, Option<DadosRegistro>>;

    /// Succeeds when the store answers a trivial query (readiness).
    fn ping(&self) -> StoreFuture<'_, ()>;

    /// What the store is, for logs: never a password.
    fn describe(&self) -> String;
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
pub trait ImportSession {
    /// Inserts or replaces one account (the later of two lines for one account wins).
    fn upsert(&mut self, registro: &RegistroCliente) -> Result<(), StoreError>;

    /// Makes every upsert visible at once.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
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
    /// No PostgreSQL connection could be had from the pool.
    #[error("postgres connection pool: {}", error_chain(.0))]
    PostgresPool(deadpool_postgres::PoolError),
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
}

// By hand, not `#[from]`: the text already carries the causes, and an error reporter
// walking `source()` would print them twice.
impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Postgres(error)
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        Self::PostgresPool(error)
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
/// 999 999 999 999 999 999).
fn key(codigo_conta: &CodigoConta) -> i64 {
    codigo_conta
        .as_str()
        .bytes()
        .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'))
}

impl StoreError {
    /// A [`StoreError::Corrupt`] for `codigo` that keeps only where `error` happened.
    pub fn corrupt(codigo: &CodigoConta, error: &serde_json::Error) -> Self {
        Self::Corrupt {
            codigo: codigo.masked().to_string(),
            line: error.line(),
            column: error.column(),
        }
    }
}

/// Where the data lives, parsed from `--db`.
#[derive(Clone, PartialEq, Eq)]
pub enum DbLocation {
    /// A SQLite file.
    SqliteFile(std::path::PathBuf),
    /// A PostgreSQL URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl DbLocation {
    /// Parses `sqlite:PATH`, a bare path, or a PostgreSQL URL.
    ///
    /// # Errors
    ///
    /// An empty value, or `sqlite:` with no path.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return Ok(Self::Postgres(value.to_owned()));
        }
        let path = value
            .strip_prefix("sqlite://")
            .or_else(|| value.strip_prefix("sqlite:"))
            .unwrap_or(value);
        if path.is_empty() {
            return Err(format!(
                "expected sqlite:PATH, a path or a postgres:// URL, found {value:?}"
            ));
        }
        Ok(Self::SqliteFile(path.into()))
    }
}

impl fmt::Display for DbLocation {
    /// Never shows a password: `postgres://user:***@host/db`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SqliteFile(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact_url_password(url)),
        }
    }
}

impl fmt::Debug for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `scheme://user:secret@host` -> `scheme://user:***@host`; also `password=` parameters.
pub fn redact_url_password(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = out[authority_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| authority_start + i);
        if let Some(at) = out[authority_start..authority_end].rfind('@') {
            let userinfo = &out[authority_start..authority_start + at];
            if let Some(colon) = userinfo.find(':') {
                let secret_start = authority_start + colon + 1;
                out.replace_range(secret_start..authority_start + at, "***");
            }
        }
    }
    if let Some(start) = out.find("password=") {
        let value_start = start + "password=".len();
        let value_end = out[value_start..]
            .find('&')
            .map_or(out.len(), |i| value_start + i);
        out.replace_range(value_start..value_end, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_urls_are_shown_without_their_password() {
        assert_eq!(
            redact_url_password("postgres://app:s3cr3t@db:5432/itau"),
            "postgres://app:***@db:5432/itau"
        );
        assert_eq!(
            redact_url_password("postgresql://app@db/itau?password=x&sslmode=require"),
            "postgresql://app@db/itau?password=***&sslmode=require"
        );
        assert_eq!(
            redact_url_password("postgres://db/itau"),
            "postgres://db/itau"
        );
    }

    #[test]
    fn db_locations_parse_sqlite_paths_and_postgres_urls() {
        assert_eq!(
            DbLocation::parse("sqlite:a.db"),
            Ok(DbLocation::SqliteFile("a.db".into()))
        );
        assert_eq!(
            DbLocation::parse("/tmp/a.db"),
            Ok(DbLocation::SqliteFile("/tmp/a.db".into()))
        );
        assert_eq!(
            DbLocation::parse("postgresql://h/d"),
            Ok(DbLocation::Postgres("postgresql://h/d".into()))
        );
        assert!(DbLocation::parse("sqlite:").is_err());
    }
}
