//! Importing into SQLite: one write transaction for the whole file; a store that does
//! not exist yet is built beside its place and renamed into it once committed.

use std::path::{Path, PathBuf};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use super::{Journal, LAST_IMPORT, open_error, prepare_file, set_wal, store_location};
use crate::store::{ImportSession, Importer, StoreError, accounts_after_import};

/// Page cache of the importing connection, in KiB. Records arrive in key order (see
/// `crate::import`), so each leaf is filled once and the cache only needs the tree's
/// interior pages and the leaves being written; it counts in the import's memory
/// budget (`crate::import::sort`). SQLite only takes what the tree needs, so small
/// imports stay small.
const IMPORT_CACHE_KIB: i64 = 64 * 1024;

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
            location: store_location(target),
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
    /// Imports through `connection`, of a running store's pool (the demo database).
    pub(super) fn pooled(connection: r2d2::PooledConnection<SqliteConnectionManager>) -> Self {
        Self {
            connection: ImportConnection::Pooled(connection),
            created: None,
        }
    }

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
                    location: store_location(path),
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
        let connection = Connection::open_with_flags(
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
        prepare_file(&connection, file, journal)?;
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
                location: store_location(&created.target),
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
