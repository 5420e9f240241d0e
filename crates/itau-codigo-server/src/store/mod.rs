//! Where customers are stored: a small trait, so that the handlers do not know (or
//! care) whether SQLite or PostgreSQL answers.

mod format;
mod passfile;
mod pg_tls;
mod postgres;
mod sqlite;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use itau_codigo::{CodigoConta, ConsultaClienteRequest, RegistroCliente};

pub use format::{CorruptRecord, encode_dados, encode_record, render_answer};
pub use passfile::{ConnectionKey, Passfile, PassfileError};
pub use postgres::{
    IMPORT_BATCH_ROWS, IMPORT_LOCK, MIGRATION_LOCK, PostgresImporter, PostgresStore, QUERY_TIMEOUT,
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

/// The command that brings the store at `location` to this binary's schema.
fn migrate_command(location: &DbLocation) -> String {
    format!("itau-codigo migrate --db {location}")
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
    /// An empty value, `sqlite:` with no path, another URL scheme, or a libpq
    /// keyword/value string (`host=db password=…`), which would otherwise be taken for
    /// a file name and shown, password and all. The message never quotes the value.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return Ok(Self::Postgres(value.to_owned()));
        }
        if value
            .split_once("://")
            .is_some_and(|(scheme, _)| scheme != "sqlite")
        {
            return Err(
                "expected sqlite:PATH, a path or a postgres:// URL, found a URL of \
                        another scheme (schemes are lower case: postgres://, postgresql://, \
                        sqlite://)"
                    .to_owned(),
            );
        }
        if looks_like_keyword_value(value) {
            return Err(
                "expected sqlite:PATH, a path or a postgres:// URL, found what looks \
                        like a libpq keyword/value string (host=… dbname=…): write it as a \
                        postgres://user:password@host:port/dbname?param=value URL"
                    .to_owned(),
            );
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

/// libpq's connection keywords that a keyword/value string starts with, or holds.
const LIBPQ_KEYWORDS: [&str; 8] = [
    "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "sslmode",
];

/// Whether `value` holds `keyword =` (spaces allowed around `=`) at its start or after
/// a space, for one of libpq's connection keywords.
fn looks_like_keyword_value(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.split_whitespace().enumerate().any(|(i, word)| {
        LIBPQ_KEYWORDS.iter().any(|keyword| {
            word.strip_prefix(keyword).is_some_and(|rest| {
                rest.starts_with('=')
                    || (rest.is_empty()
                        && lower
                            .split_whitespace()
                            .nth(i + 1)
                            .is_some_and(|next| next.starts_with('=')))
            })
        })
    })
}

impl DbLocation {
    /// Why the connection to this store could be read or altered on the way: a
    /// PostgreSQL host other than this machine reached with an `sslmode` below
    /// `verify-full`. `None` for SQLite, loopback hosts and Unix sockets, `verify-full`,
    /// and a URL that cannot be read (opening it says why). Never holds the password.
    pub fn weak_tls_warning(&self) -> Option<String> {
        match self {
            Self::SqliteFile(_) => None,
            Self::Postgres(url) => postgres::weak_tls_warning(url),
        }
    }
}

impl fmt::Display for DbLocation {
    /// Never shows a password: `postgres://user:***@host/db`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SqliteFile(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) => f.write_str(&redacted_url(url)),
        }
    }
}

impl fmt::Debug for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A database URL as it may be shown in logs and messages, built from its parts with
/// the password left out: `scheme://user:***@host:port/db?params`, where a
/// `password=` parameter's value is `***` too.
///
/// The parts are found so that no password character can end up outside them, even
/// one the URL should have percent-encoded: every `password=` value is cut out first
/// (up to the next `&`), then the user information is everything up to the *last*
/// `@`, so a raw `/`, `?`, `#` or `@` in the password stays inside it. A URL that is
/// odd in another way loses detail, never the password.
pub fn redacted_url(url: &str) -> String {
    let url = redact_password_parameters(url);
    let (scheme, rest) = url.split_once("://").unwrap_or(("", &url));
    let mut shown = String::with_capacity(url.len());
    if !scheme.is_empty() {
        shown.push_str(scheme);
        shown.push_str("://");
    }
    match rest.rsplit_once('@') {
        Some((userinfo, host_and_rest)) => {
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    shown.push_str(user);
                    shown.push_str(":***");
                }
                None => shown.push_str(userinfo),
            }
            shown.push('@');
            shown.push_str(host_and_rest);
        }
        None => shown.push_str(rest),
    }
    shown
}

/// `url` with the value of every `password=` parameter replaced by `***`. The key is
/// found whatever its case and percent-encoding (`Password=`, `pass%77ord=`), and the
/// value runs to the next `&` that starts another `key=`: a raw `&` inside the
/// password does not end it.
fn redact_password_parameters(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(value_start) = find_password_key(rest) {
        out.push_str(&rest[..value_start]);
        out.push_str("***");
        rest = &rest[value_start..];
        rest = next_parameter(rest).map_or("", |end| &rest[end..]);
    }
    out.push_str(rest);
    out
}

/// Where the value of the first `password=` in `text` starts (after the `=`), the key
/// compared percent-decoded and case-blind; keys start at the beginning, or after `?`,
/// `&`, `/`, `@` or whitespace.
fn find_password_key(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut key_start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        match byte {
            b'?' | b'&' | b'/' | b'@' | b' ' | b'\t' => key_start = i + 1,
            b'=' => {
                // `password`, and any other secret libpq names so (`sslpassword`).
                let key = percent_decode_lossy(&text[key_start..i])
                    .trim()
                    .to_ascii_lowercase();
                if key.ends_with("password") {
                    return Some(i + 1);
                }
                key_start = i + 1;
            }
            _ => {}
        }
    }
    None
}

/// Where the next parameter after a value starts: the first `&` followed by a key and
/// `=` (no `&` or `=` in the key).
fn next_parameter(value: &str) -> Option<usize> {
    value.match_indices('&').map(|(i, _)| i).find(|&i| {
        let after = &value[i + 1..];
        after
            .find(['=', '&'])
            .is_some_and(|end| end > 0 && after.as_bytes()[end] == b'=')
    })
}

/// `%XX` sequences decoded (anything else kept as it is), as URLs and libpq do; bytes
/// that are no UTF-8 become U+FFFD.
fn percent_decode_lossy(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_urls_are_shown_without_their_password() {
        assert_eq!(
            redacted_url("postgres://app:s3cr3t@db:5432/itau"),
            "postgres://app:***@db:5432/itau"
        );
        assert_eq!(
            redacted_url("postgresql://app@db/itau?password=x&sslmode=require"),
            "postgresql://app@db/itau?password=***&sslmode=require"
        );
        assert_eq!(redacted_url("postgres://db/itau"), "postgres://db/itau");
    }

    #[test]
    fn passwords_with_url_delimiters_are_never_shown() {
        const SECRETS: [&str; 4] = ["p/a?s@s%w#rd", "p/a?s", "s%w#rd", "@s%w"];
        let cases = [
            // Raw, as a careless URL holds them.
            (
                "postgres://app:p/a?s@s%w#rd@db:5432/itau",
                "postgres://app:***@db:5432/itau",
            ),
            // Percent-encoded, as a correct URL holds them.
            (
                "postgres://app:p%2Fa%3Fs%40s%25w%23rd@db:5432/itau",
                "postgres://app:***@db:5432/itau",
            ),
            (
                "postgres://app@db/itau?sslpassword=K3y-p4ss&sslmode=require",
                "postgres://app@db/itau?sslpassword=***&sslmode=require",
            ),
            (
                "postgres://app@db:5432/itau?password=p/a?s@s%w#rd&sslmode=require",
                "postgres://app@db:5432/itau?password=***&sslmode=require",
            ),
            (
                "postgres://app@db:5432/itau?sslmode=require&password=p/a?s@s%w#rd",
                "postgres://app@db:5432/itau?sslmode=require&password=***",
            ),
            (
                "postgres://app:p/a?s@s%w#rd@db/itau?password=p/a?s@s%w#rd",
                "postgres://app:***@db/itau?password=***",
            ),
        ];
        for (url, expected) in cases {
            let shown = redacted_url(url);
            assert_eq!(shown, expected, "{url}");
            for secret in SECRETS {
                assert!(!shown.contains(secret), "{url} shows {secret}: {shown}");
            }
            let location = DbLocation::parse(url).unwrap();
            assert_eq!(location.to_string(), expected, "{url}");
            assert_eq!(format!("{location:?}"), expected, "{url}");
        }
    }

    #[test]
    fn password_parameters_are_found_whatever_their_spelling() {
        let cases = [
            (
                "postgres://app@db/itau?Password=s3cr3t&sslmode=require",
                "postgres://app@db/itau?Password=***&sslmode=require",
            ),
            (
                "postgres://app@db/itau?pass%77ord=s3cr3t&sslmode=require",
                "postgres://app@db/itau?pass%77ord=***&sslmode=require",
            ),
            (
                "postgres://app@db/itau?sslmode=require&password=s3&cr3t",
                "postgres://app@db/itau?sslmode=require&password=***",
            ),
            (
                "postgres://app@db/itau?password=s3&cr3t&sslmode=require",
                "postgres://app@db/itau?password=***&sslmode=require",
            ),
            (
                "postgres://app:s3cr3t@db/itau?password=p%26ss=s3cr3t",
                "postgres://app:***@db/itau?password=***",
            ),
        ];
        for (url, expected) in cases {
            let shown = redacted_url(url);
            assert_eq!(shown, expected, "{url}");
            assert!(!shown.contains("cr3t"), "{url} shows {shown}");
        }
    }

    #[test]
    fn keyword_value_strings_and_other_schemes_are_refused_without_being_quoted() {
        for value in [
            "host=db password=s3cr3t dbname=itau",
            "dbname = itau password = 's3 cr3t'",
            "user=app password=s3cr3t",
            "POSTGRES://app:s3cr3t@db/itau",
            "mysql://app:s3cr3t@db/itau",
        ] {
            let error = DbLocation::parse(value).unwrap_err();
            assert!(
                !error.contains("s3cr3t") && !error.contains("cr3t"),
                "{value}: {error}"
            );
        }
        // A path may hold '=' as long as it is not a libpq keyword's.
        assert_eq!(
            DbLocation::parse("data/run=3/itau.db"),
            Ok(DbLocation::SqliteFile("data/run=3/itau.db".into()))
        );
        assert_eq!(
            DbLocation::parse("sqlite:///var/lib/itau.db"),
            Ok(DbLocation::SqliteFile("/var/lib/itau.db".into()))
        );
    }

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
