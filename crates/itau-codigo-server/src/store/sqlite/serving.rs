//! Serving from SQLite: read-only connections on a file that is looked at again while
//! served (replaced, removed, written), or on the demo's in-memory database.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use itau_codigo::ConsultaClienteRequest;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::importing::SqliteImporter;
use super::{
    CONNECTION_PRAGMAS, LAST_IMPORT, Pool, existing_file, migrating, open_error, pool,
    store_location,
};
use crate::store::{
    DbLocation, LastImport, PoolStatus, Store, StoreError, StoreFuture, key, migrations,
    render_answer,
};

/// How often a serving store looks at its file (one `stat`) to notice that it was
/// replaced, removed or written: at most once per interval, not per query. A change
/// is seen within this long.
pub const FILE_CHECK_INTERVAL: Duration = Duration::from_millis(100);

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
    /// store), and never during one; the store's look at its file opens new
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
                location: store_location(&self.path),
                reason: reason.clone(),
            }),
        }
    }

    /// Looks at the file and reconnects when it was replaced or written; remembers a
    /// failure.
    fn look(&self) {
        let location = || store_location(&self.path);
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
    existing_file(path)?;
    let state = file_state(path).map_err(|e| StoreError::Open {
        location: store_location(path),
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
    migrations::check_served(found, &DbLocation::SqliteFile(path.to_owned()))?;
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
                store = %store_location(path),
                "reading the store through a memory map of the file (--sqlite-mmap): \
                 it must not be truncated or copied over in place while served"
            );
        }
        Ok(Self {
            source: Arc::new(Source::File(WatchedFile::new(
                path, pool_size, reads, state, pool,
            ))),
            location: store_location(path),
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
        let keep_alive = Connection::open_with_flags(&uri, flags)?;
        keep_alive.execute_batch(CONNECTION_PRAGMAS)?;
        migrating::migrate(&keep_alive)?;
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
        Ok(SqliteImporter::pooled(self.source.pool()?.get()?))
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
            store = %store_location(path),
            mode = %format!("{mode:04o}"),
            "the store file holds personal data and is open to other users; \
             run `chmod 600` on it (and its -wal and -shm)"
        );
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
