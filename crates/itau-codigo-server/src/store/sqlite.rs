//! The embedded default store: one SQLite file (or, for `--demo`, one in-memory
//! database shared by every connection of the process).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use itau_codigo::{ConsultaClienteRequest, DadosRegistro};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use super::{
    DbLocation, ImportSession, Importer, LastImport, PoolStatus, Store, StoreError, StoreFuture,
    accounts_after_import, encode_dados, key, migrate_command, render_answer,
};

/// A step of the schema: SQL, or SQL and Rust (re-rendering stored records).
enum Migration {
    Sql(&'static str),
    Code(fn(&Transaction<'_>) -> Result<(), StoreError>),
}

/// Schema migrations, applied in order by `import` and `migrate` (never by `serve`);
/// `PRAGMA user_version` counts the ones applied. Append only: never edit a released
/// entry.
const MIGRATIONS: &[Migration] = &[
    // 1. The 18-digit code fits an i64, and an INTEGER PRIMARY KEY is the rowid itself:
    // one B-tree probe per lookup. `dados` is the record's data as JSON, managers in order.
    Migration::Sql(
        "CREATE TABLE clientes (
            codigo_conta INTEGER PRIMARY KEY,
            dados TEXT NOT NULL
        ) STRICT;",
    ),
    // 2. Answers stored ready to send: `resposta` is `store::format`'s record.
    Migration::Code(answers_stored_ready_to_send),
    // 3. What each import recorded when it committed (`/metrics` shows the last one).
    // Only a table added: a binary of schema 2 never reads it, and this one serves a
    // store of schema 2 without it (see OLDEST_SERVED).
    Migration::Sql(
        "CREATE TABLE itau_codigo_imports (
            id INTEGER PRIMARY KEY,
            committed_at REAL NOT NULL,
            accounts INTEGER NOT NULL
        ) STRICT;",
    ),
];

/// The oldest schema `serve` reads: the one before this binary's, as long as what it
/// adds is only read when present (expand, then contract). Schema 2 lacks only the
/// record of imports, so `/metrics` leaves out the store's freshness.
const OLDEST_SERVED: i64 = 2;

/// Schema 2: `clientes(codigo_conta, resposta BLOB)`, every record re-rendered from its
/// JSON.
fn answers_stored_ready_to_send(transaction: &Transaction<'_>) -> Result<(), StoreError> {
    transaction.execute_batch(
        "CREATE TABLE clientes_v2 (
            codigo_conta INTEGER PRIMARY KEY,
            resposta BLOB NOT NULL
        ) STRICT;",
    )?;
    {
        let mut read = transaction.prepare("SELECT codigo_conta, dados FROM clientes")?;
        let mut write = transaction
            .prepare("INSERT INTO clientes_v2 (codigo_conta, resposta) VALUES (?1, ?2)")?;
        let mut rows = read.query([])?;
        while let Some(row) = rows.next()? {
            let codigo: i64 = row.get(0)?;
            let dados: DadosRegistro = match row.get_ref(1)? {
                ValueRef::Text(json) => {
                    serde_json::from_slice(json).map_err(|e| StoreError::Corrupt {
                        codigo: format!("row {codigo}"),
                        line: e.line(),
                        column: e.column(),
                    })?
                }
                other => {
                    return Err(rusqlite::Error::InvalidColumnType(
                        1,
                        "dados".into(),
                        other.data_type(),
                    )
                    .into());
                }
            };
            write.execute(params![codigo, encode_dados(&dados)])?;
        }
    }
    transaction.execute_batch(
        "DROP TABLE clientes;
         ALTER TABLE clientes_v2 RENAME TO clientes;",
    )?;
    Ok(())
}

/// How often a serving store looks at its file (one `stat`) to notice that it was
/// replaced, removed or written: at most once per interval, not per query. A change
/// is seen within this long.
pub const FILE_CHECK_INTERVAL: Duration = Duration::from_millis(100);

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

/// How serving connections read the store file's pages (`serve --sqlite-mmap`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SqliteReads {
    /// Each page a lookup needs is copied (`pread`) from the OS cache into the
    /// connection's page cache, unless that cache holds it already. A store file
    /// truncated or rewritten in place under the server is a store failure: reads past
    /// its end come back short, and the lookup answers 500.
    #[default]
    Copied,
    /// SQLite maps the whole file into memory (`PRAGMA mmap_size`) and reads pages in
    /// place: no copy and no page-cache bookkeeping per lookup, and the mapped pages are
    /// the OS cache's, shared, not the process's heap. But a page past the end of a file
    /// that shrank under the map cannot be read at all: the kernel kills the process
    /// (SIGBUS), and no error code can stand for it. SQLite looks at the file's size
    /// when a read transaction begins only while its WAL holds no committed page (else
    /// it takes the store's size from the WAL, as after any import into a served
    /// store), and never during one; the file look of [`WatchedFile`] opens new
    /// connections on the shorter file, but a query already past it still faults.
    /// Catching the signal would need unsafe code, which the workspace forbids. So this
    /// is for stores written only through SQLite (`import` never shrinks the file, and
    /// a checkpoint cuts it only past every page a reader may still read) or replaced
    /// by a rename, never truncated or copied over in place while served
    /// (`tests/api/faults.rs` shows both outcomes).
    Mapped,
}

impl SqliteReads {
    /// [`Self::Mapped`] when `mmap` (`serve --sqlite-mmap true`), else [`Self::Copied`].
    pub fn from_mmap(mmap: bool) -> Self {
        if mmap { Self::Mapped } else { Self::Copied }
    }
}

/// The most of a store file a [`SqliteReads::Mapped`] connection maps (1 TiB): more
/// than a store one machine could serve from its memory, so in practice the whole file
/// (SQLite maps no more than the file's size). The bundled SQLite caps the map at its
/// compile-time `SQLITE_MAX_MMAP_SIZE`, 2 GiB unless built otherwise, less than a store
/// of ten million accounts; `.cargo/config.toml` raises it to this (`LIBSQLITE3_FLAGS`),
/// and a test checks that the build took it.
pub const MMAP_LIMIT: i64 = 1 << 40;

/// Page cache of the importing connection, in KiB. Records arrive in key order (see
/// `crate::import`), so each leaf is filled once and the cache only needs the tree's
/// interior pages and the leaves being written; it counts in the import's memory
/// budget (`crate::import::sort`). SQLite only takes what the tree needs, so small
/// imports stay small.
const IMPORT_CACHE_KIB: i64 = 64 * 1024;

/// A SQLite store with a pool of read connections.
#[derive(Debug)]
pub struct SqliteStore {
    source: Arc<Source>,
    location: String,
    /// Queries waiting for a connection (r2d2 does not count them).
    waiting: AtomicU64,
    /// For the in-memory demo database: a connection that lives as long as the store,
    /// so the database is not freed when the pool closes its last connection.
    _keep_alive: Option<std::sync::Mutex<Connection>>,
}

/// Where connections come from.
#[derive(Debug)]
enum Source {
    /// The in-memory demo database: nothing on disk can change under it.
    Memory(Pool),
    /// A file, watched: see [`WatchedFile`].
    File(WatchedFile),
}

type Pool = r2d2::Pool<SqliteConnectionManager>;

/// A SQLite file and the pool of connections open on it.
///
/// An open connection keeps reading the file it opened even after that file is removed
/// or replaced (the descriptor outlives the name), so a service whose database was
/// deleted would go on answering from a ghost, and one whose file was swapped for
/// another would never see it; and a connection trusts its page cache while the WAL
/// index says nothing changed, so a file overwritten in place could go on answering
/// from memory. So the path is looked up again (one `stat`), at most once per
/// [`FILE_CHECK_INTERVAL`] (a query between two looks only reads the clock):
/// - a missing file is a store failure;
/// - another file (another inode) is opened afresh (its schema version checked: serving
///   never migrates), so an atomic `mv new.db itau-codigo.db` is picked up and a removed
///   file put back recovers without a restart;
/// - the same file with another size or modification time (written in place, also by
///   an import's checkpoint) gets new connections, with empty caches.
///
/// A failed look is remembered until the next one: every query in between fails too,
/// instead of answering from a ghost.
#[derive(Debug)]
struct WatchedFile {
    path: PathBuf,
    pool_size: u32,
    reads: SqliteReads,
    current: RwLock<Watched>,
    /// When this value was made: the clock the next look is timed on.
    epoch: Instant,
    /// Nanoseconds after `epoch` when the next look is due.
    next_look: AtomicU64,
}

/// What the last look at the file found.
#[derive(Debug)]
struct Watched {
    /// The file the pool reads (kept while a look fails: a later look compares to it).
    state: FileState,
    pool: Pool,
    /// Why the last look failed; `None` when it succeeded.
    failure: Option<String>,
}

/// What a `stat` tells about the file at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileState {
    /// Device and inode: which file.
    id: (u64, u64),
    /// Size and modification time in nanoseconds: whether it was written.
    stamp: (u64, i128),
}

fn file_state(path: &Path) -> std::io::Result<FileState> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path)?;
    Ok(FileState {
        id: (metadata.dev(), metadata.ino()),
        stamp: (
            metadata.size(),
            i128::from(metadata.mtime()) * 1_000_000_000 + i128::from(metadata.mtime_nsec()),
        ),
    })
}

impl WatchedFile {
    fn new(path: &Path, pool_size: u32, reads: SqliteReads, state: FileState, pool: Pool) -> Self {
        let epoch = Instant::now();
        Self {
            path: path.to_owned(),
            pool_size,
            reads,
            current: RwLock::new(Watched {
                state,
                pool,
                failure: None,
            }),
            epoch,
            next_look: AtomicU64::new(nanos_since(epoch) + interval_nanos()),
        }
    }

    /// The pool for the file at `path`, after a look at the file if one is due.
    fn pool(&self) -> Result<Pool, StoreError> {
        let now = nanos_since(self.epoch);
        let due = self.next_look.load(Ordering::Relaxed);
        // One caller per interval looks; the others go on with what it found last.
        if now >= due
            && self
                .next_look
                .compare_exchange(
                    due,
                    now + interval_nanos(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            self.look();
        }
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        match &current.failure {
            None => Ok(current.pool.clone()),
            Some(reason) => Err(StoreError::Open {
                location: format!("sqlite:{}", self.path.display()),
                reason: reason.clone(),
            }),
        }
    }

    /// Looks at the file and reconnects when it was replaced or written; remembers a
    /// failure.
    fn look(&self) {
        let location = || format!("sqlite:{}", self.path.display());
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let state = match file_state(&self.path) {
            Ok(state) => state,
            Err(error) => {
                current.failure = Some(format!("the database file is gone: {error}"));
                return;
            }
        };
        if current.state == state && current.failure.is_none() {
            return;
        }
        let replaced = current.state.id != state.id;
        match connect(&self.path, self.pool_size, self.reads) {
            Ok(pool) => {
                if replaced {
                    tracing::warn!(store = %location(), "the database file was replaced; reopened it");
                } else {
                    tracing::debug!(store = %location(), "the database file was written; reconnected");
                }
                *current = Watched {
                    state,
                    pool,
                    failure: None,
                };
            }
            Err(error) => {
                // Compared again at the next look, so that a file put back is retried.
                current.state = state;
                current.failure = Some(match error {
                    StoreError::Open { reason, .. } => reason,
                    other => other.to_string(),
                });
            }
        }
    }
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn interval_nanos() -> u64 {
    u64::try_from(FILE_CHECK_INTERVAL.as_nanos()).unwrap_or(u64::MAX)
}

/// Opens the file at `path` for serving: read-only connections, the schema version
/// checked (never migrated); returns the state of the file the pool reads.
fn open_file_pool(
    path: &Path,
    pool_size: u32,
    reads: SqliteReads,
) -> Result<(FileState, Pool), StoreError> {
    if !path.is_file() {
        return Err(StoreError::Open {
            location: format!("sqlite:{}", path.display()),
            reason: "no such file (create it with `itau-codigo import FILE --db sqlite:PATH`)"
                .into(),
        });
    }
    let state = file_state(path).map_err(|e| StoreError::Open {
        location: format!("sqlite:{}", path.display()),
        reason: e.to_string(),
    })?;
    Ok((state, connect(path, pool_size, reads)?))
}

/// Serving connections: read-only, so that serving can never take the write lock (nor
/// wait for an import's).
const READ_ONLY: OpenFlags =
    OpenFlags::SQLITE_OPEN_READ_ONLY.union(OpenFlags::SQLITE_OPEN_NO_MUTEX);

/// A pool of new read-only connections on `path`, once one connection has read its
/// schema version: the pool itself would retry a file that is no database for its
/// whole connection timeout.
fn connect(path: &Path, pool_size: u32, reads: SqliteReads) -> Result<Pool, StoreError> {
    let probe = Connection::open_with_flags(path, READ_ONLY).map_err(|e| open_error(path, &e))?;
    let found: i64 = probe
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| open_error(path, &e))?;
    check_version(found, path)?;
    drop(probe);
    let manager = SqliteConnectionManager::file(path)
        .with_flags(READ_ONLY)
        .with_init(move |c| {
            c.execute_batch(CONNECTION_PRAGMAS)?;
            if reads == SqliteReads::Mapped {
                c.pragma_update(None, "mmap_size", MMAP_LIMIT)?;
            }
            Ok(())
        });
    pool(manager, pool_size)
}

/// Serving reads the schema this binary writes and the ones back to [`OLDEST_SERVED`].
fn check_version(found: i64, path: &Path) -> Result<(), StoreError> {
    let supported = MIGRATIONS.len() as i64;
    if found > supported {
        Err(StoreError::SchemaTooNew { found, supported })
    } else if found < OLDEST_SERVED {
        Err(StoreError::SchemaTooOld {
            found,
            supported,
            command: migrate_command(&DbLocation::SqliteFile(path.to_owned())),
        })
    } else {
        Ok(())
    }
}

/// `itau-codigo migrate` on a SQLite file: the file must exist.
pub(super) fn migrate_file(path: &Path) -> Result<(i64, i64), StoreError> {
    if !path.is_file() {
        return Err(StoreError::Open {
            location: format!("sqlite:{}", path.display()),
            reason: "no such file (create it with `itau-codigo import FILE --db sqlite:PATH`)"
                .into(),
        });
    }
    let mut connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| open_error(path, &e))?;
    let before: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| open_error(path, &e))?;
    prepare_file(&mut connection, path, Journal::Wal)?;
    Ok((before, MIGRATIONS.len() as i64))
}

impl SqliteStore {
    /// Opens an existing SQLite file for serving, read-only: it never writes, never
    /// migrates, never waits for an import.
    ///
    /// # Errors
    ///
    /// The file does not exist (only `import` creates one), is not a database, or its
    /// schema is older (the error names the command that upgrades it) or newer than
    /// this binary's.
    pub fn open_existing(
        path: &Path,
        pool_size: u32,
        reads: SqliteReads,
    ) -> Result<Self, StoreError> {
        let (state, pool) = open_file_pool(path, pool_size, reads)?;
        warn_if_not_private(path);
        if reads == SqliteReads::Mapped {
            tracing::info!(
                store = %format!("sqlite:{}", path.display()),
                "reading the store through a memory map of the file (--sqlite-mmap): \
                 it must not be truncated or copied over in place while served"
            );
        }
        Ok(Self {
            source: Arc::new(Source::File(WatchedFile::new(
                path, pool_size, reads, state, pool,
            ))),
            location: format!("sqlite:{}", path.display()),
            waiting: AtomicU64::new(0),
            _keep_alive: None,
        })
    }

    /// A new, empty in-memory database shared by every connection of this store.
    ///
    /// # Errors
    ///
    /// SQLite could not create it.
    pub fn in_memory(pool_size: u32) -> Result<Self, StoreError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        // memdb is SQLite's VFS for a named in-memory database that several connections
        // of one process share; the name keeps two stores in one process apart.
        let uri = format!(
            "file:/itau-codigo-{}-{}?vfs=memdb",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut keep_alive = Connection::open_with_flags(&uri, flags)?;
        keep_alive.execute_batch(CONNECTION_PRAGMAS)?;
        migrate(&mut keep_alive)?;
        let manager = SqliteConnectionManager::file(&uri)
            .with_flags(flags)
            .with_init(|c| c.execute_batch(CONNECTION_PRAGMAS));
        Ok(Self {
            source: Arc::new(Source::Memory(pool(manager, pool_size)?)),
            location: "sqlite::memory: (demo)".into(),
            waiting: AtomicU64::new(0),
            _keep_alive: Some(std::sync::Mutex::new(keep_alive)),
        })
    }

    /// A connection for importing into this store (the in-memory demo included).
    ///
    /// # Errors
    ///
    /// No connection could be had.
    pub fn importer(&self) -> Result<SqliteImporter, StoreError> {
        Ok(SqliteImporter {
            connection: ImportConnection::Pooled(self.source.pool()?.get()?),
            created: None,
        })
    }

    /// Runs `query` on a pooled connection, on the calling (actix worker) thread.
    ///
    /// Why not tokio's blocking pool: it was the first design (a cold read waits on the
    /// disk and would stall every connection of the worker), but under load
    /// (`cargo xtask bench`, see BENCHMARKS.md) the hop cost more CPU per request than
    /// the lookup itself, because each lookup paid two thread wake-ups and context
    /// switches, and each blocking thread kept its own connection and page cache, which
    /// multiplied the memory. A lookup is one B-tree probe of a few pages that the OS
    /// keeps cached; a store much larger than RAM would change this, and the answer then
    /// is more workers, not a thread hop per request.
    fn blocking<'a, T, F>(&'a self, query: F) -> StoreFuture<'a, T>
    where
        T: Send + 'a,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'a,
    {
        Box::pin(async move {
            let pool = self.source.pool()?;
            // Counted only when no connection is idle, so that the usual case touches
            // no shared counter.
            let connection = match pool.try_get() {
                Some(connection) => connection,
                None => {
                    self.waiting.fetch_add(1, Ordering::Relaxed);
                    let connection = pool.get();
                    self.waiting.fetch_sub(1, Ordering::Relaxed);
                    connection?
                }
            };
            let result = query(&connection);
            if result.is_err() {
                // A failed query may be the first sign of a file written under us; the
                // next query looks at the file at once instead of at the next interval,
                // so that it does not answer from pages another connection cached.
                self.source.look_next_time();
            }
            result
        })
    }
}

impl Source {
    fn pool(&self) -> Result<Pool, StoreError> {
        match self {
            Self::Memory(pool) => Ok(pool.clone()),
            Self::File(file) => file.pool(),
        }
    }

    /// The pool queries use now, without a look at the file.
    fn current_pool(&self) -> Pool {
        match self {
            Self::Memory(pool) => pool.clone(),
            Self::File(file) => file
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .pool
                .clone(),
        }
    }

    fn look_next_time(&self) {
        if let Self::File(file) = self {
            file.next_look.store(0, Ordering::Relaxed);
        }
    }
}

impl Store for SqliteStore {
    fn answer<'a>(
        &'a self,
        consulta: &'a ConsultaClienteRequest,
    ) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.blocking(move |connection| {
            // Prepared once per connection (rusqlite's per-connection cache).
            let mut statement = connection
                .prepare_cached("SELECT resposta FROM clientes WHERE codigo_conta = ?1")?;
            let mut rows = statement.query([key(&consulta.codigo_conta())])?;
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            // Rendered from SQLite's own buffer: no copy of the record first.
            let record = match row.get_ref(0)? {
                ValueRef::Blob(record) => record,
                other => {
                    return Err(rusqlite::Error::InvalidColumnType(
                        0,
                        "resposta".into(),
                        other.data_type(),
                    )
                    .into());
                }
            };
            render_answer(record, consulta)
                .map(Some)
                .map_err(|_| StoreError::bad_record(&consulta.codigo_conta()))
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        self.blocking(|connection| {
            // Reads the schema, so a replaced or truncated file fails here too.
            connection
                .prepare_cached("SELECT count(*) FROM sqlite_schema")?
                .query_row([], |_| Ok(()))?;
            Ok(())
        })
    }

    fn describe(&self) -> String {
        self.location.clone()
    }

    fn pool_status(&self) -> Option<PoolStatus> {
        let pool = self.source.current_pool();
        let state = pool.state();
        Some(PoolStatus {
            max_size: pool.max_size().into(),
            size: state.connections.into(),
            in_use: state
                .connections
                .saturating_sub(state.idle_connections)
                .into(),
            waiting: self.waiting.load(Ordering::Relaxed),
        })
    }

    fn last_import(&self) -> StoreFuture<'_, Option<LastImport>> {
        self.blocking(|connection| {
            // Absent from a store of schema 2, which this binary serves too.
            let recorded: bool = connection
                .prepare_cached(
                    "SELECT count(*) FROM sqlite_schema
                     WHERE type = 'table' AND name = 'itau_codigo_imports'",
                )?
                .query_row([], |row| row.get(0))?;
            if !recorded {
                return Ok(None);
            }
            let last = connection
                .prepare_cached(LAST_IMPORT)?
                .query_row([], |row| {
                    Ok(LastImport {
                        committed_at: row.get(0)?,
                        accounts: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                    })
                })
                .optional()?;
            Ok(last)
        })
    }
}

/// The record of the last import.
const LAST_IMPORT: &str =
    "SELECT committed_at, accounts FROM itau_codigo_imports ORDER BY id DESC LIMIT 1";

/// The connection an import writes with.
#[derive(Debug)]
pub struct SqliteImporter {
    // Declared before `created`, so dropped first: the file is closed before it goes.
    connection: ImportConnection,
    /// The file this importer created, removed again unless an import commits.
    created: Option<CreatedFile>,
}

#[derive(Debug)]
enum ImportConnection {
    /// A file opened (or created) for the import.
    File(Connection),
    /// A connection of a running store's pool (the demo database).
    Pooled(r2d2::PooledConnection<SqliteConnectionManager>),
}

/// A new store, built by its first import under a name of its own beside the store's
/// path ([`building_path`]) and renamed into place once committed, so that no one can
/// open a store that is not complete: `serve` finds no file until then, as before the
/// import. Unless an import into it commits, the file is removed (with its journal,
/// `-wal` and `-shm`) when dropped. A killed import leaves it behind: the next first
/// import, holding the lock ([`BuildLock`]) that no running import holds any more,
/// removes it and starts afresh.
#[derive(Debug)]
struct CreatedFile {
    /// Where it is built.
    path: PathBuf,
    /// The store's path, where it goes once committed.
    target: PathBuf,
    /// Held until the building file is gone or renamed (dropped after the cleanup).
    _lock: BuildLock,
}

/// The right to build the store at a path: an exclusive `flock` on `PATH.importing.lock`,
/// taken before the building file is looked at and released by the kernel when its
/// holder ends, however it ends. A separate file, because SQLite's own (fcntl) locks
/// share the database file's, and closing any descriptor of it would drop them.
#[derive(Debug)]
struct BuildLock {
    /// The locked descriptor: closing it unlocks.
    _file: std::fs::File,
    path: PathBuf,
}

impl BuildLock {
    /// Takes the lock for building `target`, or says that a running import holds it.
    fn take(target: &Path) -> Result<Self, StoreError> {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let mut name = building_path(target).into_os_string();
        name.push(".lock");
        let path = PathBuf::from(name);
        let error = |reason: String| StoreError::Open {
            location: format!("sqlite:{}", target.display()),
            reason,
        };
        loop {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(|e| error(format!("cannot create {}: {e}", path.display())))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(error(format!(
                        "another first import into this store is running (it holds {})",
                        path.display()
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(error(format!("cannot lock {}: {e}", path.display())));
                }
            }
            // The holder before us removes the file before it unlocks: a lock taken on
            // a file no longer at `path` guards nothing; open the new one.
            let held = file.metadata().map_err(|e| error(e.to_string()))?;
            match std::fs::metadata(&path) {
                Ok(now) if (now.dev(), now.ino()) == (held.dev(), held.ino()) => {
                    return Ok(Self { _file: file, path });
                }
                _ => continue,
            }
        }
    }
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        // Removed while still locked (see `take`); the lock goes with the descriptor.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes `path` and SQLite's side files of it, saying whether there was anything.
fn remove_with_side_files(path: &Path) -> bool {
    let mut removed = false;
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        removed |= std::fs::remove_file(file).is_ok();
    }
    removed
}

/// Where the first import into `path` builds the store: `PATH.importing`, in the same
/// directory, so that the rename into place is atomic.
fn building_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".importing");
    PathBuf::from(name)
}

impl Drop for CreatedFile {
    /// After the importing connection is closed (it is declared before this).
    fn drop(&mut self) {
        // Not committed, the file goes. Committed, it was renamed into place, and what
        // may be left under the building name is SQLite's side files, which only the
        // closed connection used (a reader of the store in place has its own).
        remove_with_side_files(&self.path);
    }
}

impl SqliteImporter {
    /// Opens `path` for an import, creating the file and its schema if needed. A file
    /// created here is built as `PATH.importing` and renamed to `path` when the import
    /// commits, or removed when the importer is dropped without a committed import.
    ///
    /// # Errors
    ///
    /// The file cannot be created or opened, is not a database, or has a newer schema.
    pub fn create_or_open(path: &Path) -> Result<Self, StoreError> {
        let created = if path.exists() {
            None
        } else {
            let lock = BuildLock::take(path)?;
            if path.exists() {
                // Another first import committed while we waited for the lock: import
                // into its store as into any other.
                drop(lock);
                None
            } else {
                let building = building_path(path);
                // No running import holds the lock: what is there was left by one that
                // was killed, and its journal must never be applied to a new file.
                // Said on stderr: only `import` builds a store, and it runs no log
                // subscriber (its report goes to stderr too).
                if remove_with_side_files(&building) {
                    eprintln!(
                        "warning: removed {} (and its side files), left by a first import \
                         that was stopped before it ended",
                        building.display()
                    );
                }
                create_private(&building).map_err(|e| StoreError::Open {
                    location: format!("sqlite:{}", path.display()),
                    reason: format!("cannot create {}: {e}", building.display()),
                })?;
                Some(CreatedFile {
                    path: building,
                    target: path.to_owned(),
                    _lock: lock,
                })
            }
        };
        let file = created.as_ref().map_or(path, |created| &created.path);
        let mut connection = Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(path, &e))?;
        // A new file is filled by its first import through a rollback journal, which
        // does not copy pages added to the file: each page is written once, where a WAL
        // would take every page and then copy it into the file at the checkpoint. No
        // one reads it before it is renamed into place, in WAL.
        let journal = if created.is_some() {
            Journal::RollbackUntilFirstImport
        } else {
            Journal::Wal
        };
        prepare_file(&mut connection, file, journal)?;
        Ok(Self {
            connection: ImportConnection::File(connection),
            created,
        })
    }
}

/// Creates `path` empty and readable by its owner only, whatever the umask, for SQLite
/// to make a database of. SQLite creates the `-wal`, `-shm` (and any `-journal`) with
/// the database file's permissions, so they are private too (a test checks it under
/// umask 022).
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    // The mode given to open() is masked by the umask; a chmod is not.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

/// Logs a warning when the store file at `path` is readable or writable by its group
/// or by others: it holds personal data. Names the file and its mode, nothing else.
fn warn_if_not_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(metadata) = std::fs::metadata(path) else {
        return;
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            store = %format!("sqlite:{}", path.display()),
            mode = %format!("{mode:04o}"),
            "the store file holds personal data and is open to other users; \
             run `chmod 600` on it (and its -wal and -shm)"
        );
    }
}

impl Importer for SqliteImporter {
    fn begin(&mut self, replace: bool) -> Result<Box<dyn ImportSession + '_>, StoreError> {
        let connection: &Connection = match &self.connection {
            ImportConnection::File(connection) => connection,
            ImportConnection::Pooled(connection) => connection,
        };
        // Larger than the serving cache: see IMPORT_CACHE_KIB.
        connection.pragma_update(None, "cache_size", -IMPORT_CACHE_KIB)?;
        // IMMEDIATE takes the write lock now, so a concurrent import fails early (after
        // busy_timeout) instead of after validating a whole file. Unchecked only in that
        // the connection is shared with the session, which needs it after the commit;
        // nothing else uses it meanwhile.
        let transaction = Transaction::new_unchecked(connection, TransactionBehavior::Immediate)?;
        if replace {
            transaction.execute("DELETE FROM clientes", [])?;
        }
        // Prepared once for the whole import, not looked up per record. An insert and,
        // for an account already stored, an update: so the import knows how many
        // accounts it added without counting the table.
        let insert = connection.prepare(
            "INSERT INTO clientes (codigo_conta, resposta) VALUES (?1, ?2)
             ON CONFLICT (codigo_conta) DO NOTHING",
        )?;
        let update =
            connection.prepare("UPDATE clientes SET resposta = ?2 WHERE codigo_conta = ?1")?;
        Ok(Box::new(SqliteImport {
            insert,
            update,
            inserted: 0,
            replace,
            transaction,
            connection,
            created: self.created.as_mut(),
        }))
    }
}

struct SqliteImport<'c> {
    // Declared first, so finalized before the transaction ends.
    insert: rusqlite::Statement<'c>,
    update: rusqlite::Statement<'c>,
    /// Accounts this import added (not stored before it).
    inserted: u64,
    replace: bool,
    transaction: rusqlite::Transaction<'c>,
    connection: &'c Connection,
    created: Option<&'c mut CreatedFile>,
}

impl ImportSession for SqliteImport<'_> {
    fn upsert(&mut self, key: i64, encoded: &[u8]) -> Result<(), StoreError> {
        // Bound without a copy.
        let resposta = ToSqlOutput::Borrowed(ValueRef::Blob(encoded));
        if self.insert.execute(params![key, resposta])? == 1 {
            self.inserted += 1;
        } else {
            self.update.execute(params![key, resposta])?;
        }
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let Self {
            insert,
            update,
            inserted,
            replace,
            transaction,
            connection,
            created,
        } = *self;
        drop((insert, update));
        record_import(&transaction, replace, inserted)?;
        transaction.commit()?;
        if let Some(created) = created {
            // In WAL before anyone can open it; then into place. Should either fail, the
            // file is removed when the importer is dropped: nothing was imported.
            set_wal(connection, &created.path)?;
            std::fs::rename(&created.path, &created.target).map_err(|e| StoreError::Open {
                location: format!("sqlite:{}", created.target.display()),
                reason: format!("cannot rename {} into place: {e}", created.path.display()),
            })?;
        }
        Ok(())
    }
}

/// Records the import in `itau_codigo_imports`, inside its transaction: now, and how
/// many accounts the store holds.
fn record_import(
    transaction: &Transaction<'_>,
    replace: bool,
    inserted: u64,
) -> Result<(), StoreError> {
    let recorded_before: Option<i64> = transaction
        .query_row(LAST_IMPORT, [], |row| row.get(1))
        .optional()?;
    let recorded_before = recorded_before.map(|n| u64::try_from(n).unwrap_or(0));
    let accounts: i64 = match accounts_after_import(replace, inserted, recorded_before) {
        Some(accounts) => i64::try_from(accounts).unwrap_or(i64::MAX),
        None => transaction.query_row("SELECT count(*) FROM clientes", [], |row| row.get(0))?,
    };
    transaction.execute(
        "INSERT INTO itau_codigo_imports (committed_at, accounts)
         VALUES (unixepoch('subsec'), ?1)",
        [accounts],
    )?;
    Ok(())
}

fn pool(
    manager: SqliteConnectionManager,
    size: u32,
) -> Result<r2d2::Pool<SqliteConnectionManager>, StoreError> {
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
    /// ([`SqliteImport::commit`] then turns it to WAL).
    RollbackUntilFirstImport,
}

/// The journal mode, and the schema, on a file database.
fn prepare_file(
    connection: &mut Connection,
    path: &Path,
    journal: Journal,
) -> Result<(), StoreError> {
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
    migrate(connection)
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
            location: format!("sqlite:{}", path.display()),
            reason: format!("cannot turn on WAL (the journal mode stayed {mode})"),
        })
    }
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: i64 = transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    if applied > supported {
        return Err(StoreError::SchemaTooNew {
            found: applied,
            supported,
        });
    }
    for migration in MIGRATIONS
        .iter()
        .skip(usize::try_from(applied).unwrap_or(0))
    {
        match migration {
            Migration::Sql(sql) => transaction.execute_batch(sql)?,
            Migration::Code(step) => step(&transaction)?,
        }
    }
    transaction.pragma_update(None, "user_version", supported)?;
    transaction.commit()?;
    Ok(())
}

fn open_error(path: &Path, error: &rusqlite::Error) -> StoreError {
    StoreError::Open {
        location: format!("sqlite:{}", PathBuf::from(path).display()),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_lets_sqlite_map_a_store_larger_than_its_default_two_gib() {
        let dir = tempfile::tempdir().unwrap();
        let connection = Connection::open(dir.path().join("mapped.db")).unwrap();
        // SQLite answers with the limit it took: its compile-time ceiling when asked
        // for more (2 GiB unless LIBSQLITE3_FLAGS in .cargo/config.toml raised it).
        let took: i64 = connection
            .pragma_update_and_check(None, "mmap_size", MMAP_LIMIT, |row| row.get(0))
            .unwrap();
        assert_eq!(
            took, MMAP_LIMIT,
            "built without SQLITE_MAX_MMAP_SIZE={MMAP_LIMIT}: see .cargo/config.toml"
        );
    }
}
