//! Benchmark only: the lookup a consulta makes, by each embedded engine that could serve
//! as the default store, over the same accounts.
//!
//! The server's SQLite store is measured through its own [`Store::answer`] (the pool's
//! check-out, the file look, the prepared statement, the splice of the answer), with
//! copied and with memory-mapped reads. LMDB (through heed) and redb are the other
//! candidates: a B+tree in a file the reader maps (LMDB) or reads through its own cache
//! (redb), keyed by the account's number, holding the very bytes the SQLite store holds,
//! answered by the same [`render_answer`]. They differ only in how the stored bytes are
//! found, which is the question: whether another engine finds them cheaply enough to
//! replace SQLite as the embedded default.
//!
//! The stores are built once per size from `dados_sinteticos` records (in the order the
//! import writes them, by key) under the target directory, and kept for later runs.
//!
//! The same engines also serve the real application (`engine-serve`, measured by `cargo
//! xtask bench --engine`): [`Engine`] is a [`Store`], and [`copy_of_sqlite`] builds an
//! engine's copy of a store `itau-codigo import` wrote.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use heed::byteorder::BigEndian;
use heed::types::{Bytes, U64};
use heed::{Database as LmdbDatabase, Env, EnvOpenOptions, PutFlags};
use itau_codigo::ConsultaClienteRequest;
use itau_codigo_server::store::{
    self, DbLocation, SqliteReads, Store, StoreError, StoreFuture, render_answer,
};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

/// One table, the account's number to its stored record, as in SQLite's `clientes`.
const REDB_TABLE: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("clientes");
/// The file written last when a store was built whole: a store without it is rebuilt.
const COMPLETE: &str = "complete";
/// The most the LMDB map may grow to: address space, not memory.
const LMDB_MAP_SIZE: usize = 1 << 40;

/// An engine that answers consultas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// The server's SQLite store, each page copied into the connection's cache.
    SqliteCopied,
    /// The server's SQLite store, read in place (`serve --sqlite-mmap true`).
    SqliteMapped,
    /// LMDB through heed: the file mapped, records read in place.
    Lmdb,
    /// redb: a pure-Rust B+tree with its own page cache.
    Redb,
    /// No engine: the stored bytes in a hash map in the process's memory. The floor,
    /// what the answer's rendering and the memory's misses cost any engine.
    InMemory,
}

impl EngineKind {
    /// Every engine, the server's default first.
    pub const ALL: [Self; 5] = [
        Self::SqliteCopied,
        Self::SqliteMapped,
        Self::Lmdb,
        Self::Redb,
        Self::InMemory,
    ];

    /// Its name in the bench's output.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::SqliteCopied => "sqlite_copied",
            Self::SqliteMapped => "sqlite_mmap",
            Self::Lmdb => "lmdb",
            Self::Redb => "redb",
            Self::InMemory => "in_memory",
        }
    }
}

/// The accounts of one size, built into each engine's store.
#[derive(Debug)]
pub struct Stores {
    folder: PathBuf,
    /// The account codes stored, as consultas (no `tipo_estrutura`).
    pub consultas: Vec<ConsultaClienteRequest>,
}

impl Stores {
    /// The stores of `accounts` accounts under `root`, built unless a previous run built them.
    ///
    /// # Errors
    ///
    /// A store cannot be written.
    pub fn at(root: &Path, accounts: u64) -> io::Result<Self> {
        let folder = root.join(accounts.to_string());
        let options = dados_sinteticos::Options::default();
        let consultas = (0..accounts)
            .map(|i| ConsultaClienteRequest::new(options.conta(i).codigo()))
            .collect();
        let stores = Self { folder, consultas };
        if !stores.folder.join(COMPLETE).exists() {
            stores.build()?;
        }
        Ok(stores)
    }

    /// The server's SQLite store of these accounts, as `itau-codigo import` writes it.
    #[must_use]
    pub fn sqlite_path(&self) -> PathBuf {
        self.folder.join("clientes.db")
    }

    fn lmdb_path(&self) -> PathBuf {
        self.folder.join("lmdb")
    }

    fn redb_path(&self) -> PathBuf {
        self.folder.join("clientes.redb")
    }

    /// The files of each store, for the report: what each engine keeps on disk.
    #[must_use]
    pub fn bytes_on_disk(&self, kind: EngineKind) -> u64 {
        let size = |path: PathBuf| fs::metadata(path).map_or(0, |m| m.len());
        match kind {
            EngineKind::SqliteCopied | EngineKind::SqliteMapped => size(self.sqlite_path()),
            EngineKind::Lmdb => size(self.lmdb_path().join("data.mdb")),
            EngineKind::Redb => size(self.redb_path()),
            EngineKind::InMemory => 0,
        }
    }

    /// Each account's key and stored bytes, in the order the import writes them (by key).
    fn records(&self) -> Vec<(i64, Vec<u8>)> {
        let options = dados_sinteticos::Options::default();
        let mut records: Vec<(i64, Vec<u8>)> = (0..self.consultas.len() as u64)
            .map(|i| {
                let registro = dados_sinteticos::registro(i, &options);
                (
                    store::key(&registro.codigo_conta),
                    store::encode_record(&registro),
                )
            })
            .collect();
        records.sort_unstable_by_key(|(key, _)| *key);
        records
    }

    fn build(&self) -> io::Result<()> {
        if self.folder.exists() {
            fs::remove_dir_all(&self.folder)?;
        }
        fs::create_dir_all(&self.folder)?;
        let records = self.records();

        let location = DbLocation::SqliteFile(self.sqlite_path());
        let mut importer = store::open_importer(&location).map_err(io::Error::other)?;
        let mut session = importer.begin(true).map_err(io::Error::other)?;
        for (key, record) in &records {
            session.upsert(*key, record).map_err(io::Error::other)?;
        }
        session.commit().map_err(io::Error::other)?;

        let owned = || {
            records
                .iter()
                .map(|(key, record)| Ok((lmdb_key(*key), record.clone())))
        };
        build_lmdb(&self.lmdb_path(), owned())?;
        build_redb(&self.redb_path(), owned())?;
        fs::write(self.folder.join(COMPLETE), b"")
    }

    /// An engine of `kind` over these stores, ready to answer.
    ///
    /// # Errors
    ///
    /// The store cannot be opened.
    pub fn engine(&self, kind: EngineKind) -> io::Result<Engine> {
        Ok(match kind {
            EngineKind::SqliteCopied | EngineKind::SqliteMapped => {
                let reads = if kind == EngineKind::SqliteMapped {
                    SqliteReads::Mapped
                } else {
                    SqliteReads::Copied
                };
                let location = DbLocation::SqliteFile(self.sqlite_path());
                Engine::Sqlite(store::open(&location, 1, reads).map_err(io::Error::other)?)
            }
            EngineKind::Lmdb => Engine::open_lmdb(&self.lmdb_path())?,
            EngineKind::Redb => Engine::open_redb(&self.redb_path())?,
            EngineKind::InMemory => Engine::in_memory(
                &mut self
                    .records()
                    .into_iter()
                    .map(|(key, record)| Ok((lmdb_key(key), record))),
            )?,
        })
    }
}

/// Keys as LMDB and redb order them: the account's number, big-endian in LMDB so that
/// its byte order is the numbers' order (the import writes them ascending).
fn lmdb_key(key: i64) -> u64 {
    u64::try_from(key).expect("an account's number is never negative")
}

fn open_lmdb(path: &Path) -> io::Result<(Env, LmdbDatabase<U64<BigEndian>, Bytes>)> {
    // SAFETY: the bench alone opens this environment, and nothing truncates or rewrites
    // its file while it is mapped.
    let env = unsafe { EnvOpenOptions::new().map_size(LMDB_MAP_SIZE).open(path) }
        .map_err(io::Error::other)?;
    let mut write = env.write_txn().map_err(io::Error::other)?;
    let database = env
        .create_database(&mut write, None)
        .map_err(io::Error::other)?;
    write.commit().map_err(io::Error::other)?;
    Ok((env, database))
}

/// An account's number and its stored record, as the engines store them.
type Record = io::Result<(u64, Vec<u8>)>;

/// Writes `records` (ascending keys) into a new LMDB environment in the folder `path`.
fn build_lmdb(path: &Path, records: impl Iterator<Item = Record>) -> io::Result<()> {
    fs::create_dir_all(path)?;
    let (env, lmdb) = open_lmdb(path)?;
    let mut write = env.write_txn().map_err(io::Error::other)?;
    for record in records {
        let (key, record) = record?;
        lmdb.put_with_flags(&mut write, PutFlags::APPEND, &key, &record)
            .map_err(io::Error::other)?;
    }
    write.commit().map_err(io::Error::other)
}

/// Writes `records` into a new redb file at `path`.
fn build_redb(path: &Path, records: impl Iterator<Item = Record>) -> io::Result<()> {
    let redb = redb::Database::create(path).map_err(io::Error::other)?;
    let write = redb.begin_write().map_err(io::Error::other)?;
    {
        let mut table = write.open_table(REDB_TABLE).map_err(io::Error::other)?;
        for record in records {
            let (key, record) = record?;
            table
                .insert(key, record.as_slice())
                .map_err(io::Error::other)?;
        }
    }
    write.commit().map_err(io::Error::other)
}

/// The engine `kind` (LMDB, redb or in memory) holding the records of the SQLite store
/// at `sqlite` (a file `itau-codigo import` wrote), open. LMDB's and redb's copies are
/// built beside the file (`PATH.lmdb/`, `PATH.redb/`) and kept for later runs, with a
/// marker naming the SQLite file's size and modification time: a copy of another
/// import, or one left half built, is built again.
///
/// # Errors
///
/// `kind` is a SQLite engine (serve SQLite with `itau-codigo serve`), the SQLite file
/// cannot be read, or the copy cannot be written or opened.
pub fn copy_of_sqlite(kind: EngineKind, sqlite: &Path) -> io::Result<Engine> {
    let folder = |extension: &str| PathBuf::from(format!("{}.{extension}", sqlite.display()));
    let (folder, file) = match kind {
        EngineKind::SqliteCopied | EngineKind::SqliteMapped => {
            return Err(io::Error::other(
                "SQLite is served by `itau-codigo serve`, not copied",
            ));
        }
        EngineKind::InMemory => return sqlite_records(sqlite, Engine::in_memory),
        EngineKind::Lmdb => (folder("lmdb"), None),
        EngineKind::Redb => (folder("redb"), Some("clientes.redb")),
    };
    let source = fs::metadata(sqlite)?;
    let modified = source
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(io::Error::other)?;
    let marker = format!("{} {}\n", source.len(), modified.as_nanos());
    let path = file.map_or_else(|| folder.clone(), |file| folder.join(file));
    if fs::read_to_string(folder.join(COMPLETE)).ok().as_deref() != Some(marker.as_str()) {
        if folder.exists() {
            fs::remove_dir_all(&folder)?;
        }
        fs::create_dir_all(&folder)?;
        sqlite_records(sqlite, |records| match kind {
            EngineKind::Lmdb => build_lmdb(&path, records),
            _ => build_redb(&path, records),
        })?;
        fs::write(folder.join(COMPLETE), marker)?;
    }
    match kind {
        EngineKind::Lmdb => Engine::open_lmdb(&path),
        _ => Engine::open_redb(&path),
    }
}

/// Hands `use_records` the records of the SQLite store at `path`, by key.
fn sqlite_records<T>(
    path: &Path,
    use_records: impl FnOnce(&mut dyn Iterator<Item = Record>) -> io::Result<T>,
) -> io::Result<T> {
    let connection =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(io::Error::other)?;
    let mut statement = connection
        .prepare("SELECT codigo_conta, resposta FROM clientes ORDER BY codigo_conta")
        .map_err(io::Error::other)?;
    let mut rows = statement
        .query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })
        .map_err(io::Error::other)?
        .map(|row| {
            row.map(|(key, record)| (lmdb_key(key), record))
                .map_err(io::Error::other)
        });
    use_records(&mut rows)
}

/// One engine, open.
pub enum Engine {
    /// The server's own store.
    Sqlite(Arc<dyn Store>),
    /// LMDB: one read transaction per lookup, as each request must see the last import.
    Lmdb {
        /// The environment (the mapped file).
        env: Env,
        /// Its one database.
        database: LmdbDatabase<U64<BigEndian>, Bytes>,
    },
    /// redb: one read transaction per lookup.
    Redb(redb::Database),
    /// The stored bytes in memory.
    InMemory(HashMap<u64, Vec<u8>>),
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite(_) => "Engine::Sqlite",
            Self::Lmdb { .. } => "Engine::Lmdb",
            Self::Redb(_) => "Engine::Redb",
            Self::InMemory(_) => "Engine::InMemory",
        })
    }
}

impl Engine {
    /// The LMDB environment in the folder `path`, open.
    fn open_lmdb(path: &Path) -> io::Result<Self> {
        let (env, database) = open_lmdb(path)?;
        Ok(Self::Lmdb { env, database })
    }

    /// The redb file at `path`, open.
    fn open_redb(path: &Path) -> io::Result<Self> {
        Ok(Self::Redb(
            redb::Database::open(path).map_err(io::Error::other)?,
        ))
    }

    /// `records` held in memory.
    fn in_memory(records: &mut dyn Iterator<Item = Record>) -> io::Result<Self> {
        Ok(Self::InMemory(records.collect::<io::Result<_>>()?))
    }

    /// The body of the 200 that answers `consulta`, or `None` for an account not stored.
    ///
    /// # Panics
    ///
    /// On any store error: a bench has no use for one.
    #[must_use]
    pub fn answer(&self, consulta: &ConsultaClienteRequest) -> Option<Vec<u8>> {
        self.lookup(consulta).expect("the engine answers")
    }

    /// [`Engine::answer`], on the caller's thread (each engine answers without waiting).
    fn lookup(&self, consulta: &ConsultaClienteRequest) -> Result<Option<Vec<u8>>, StoreError> {
        let key = lmdb_key(store::key(&consulta.codigo_conta()));
        let render = |record: &[u8]| {
            render_answer(record, consulta)
                .map(Some)
                .map_err(|_| StoreError::bad_record(&consulta.codigo_conta()))
        };
        match self {
            Self::Sqlite(store) => ready(store.answer(consulta)),
            Self::Lmdb { env, database } => {
                let read = env.read_txn().map_err(engine_error)?;
                match database.get(&read, &key).map_err(engine_error)? {
                    Some(record) => render(record),
                    None => Ok(None),
                }
            }
            Self::Redb(database) => {
                let read = database.begin_read().map_err(engine_error)?;
                let table = read.open_table(REDB_TABLE).map_err(engine_error)?;
                match table.get(key).map_err(engine_error)? {
                    Some(record) => render(record.value()),
                    None => Ok(None),
                }
            }
            Self::InMemory(records) => records.get(&key).map_or(Ok(None), |r| render(r)),
        }
    }
}

/// An LMDB or redb error as the server's store error: the server's enum has no variant
/// for engines it does not ship, and this bench only needs the request to fail (a 500).
fn engine_error(error: impl fmt::Display) -> StoreError {
    StoreError::Task(error.to_string())
}

/// An engine as the service's store: the real application over another engine.
#[derive(Debug)]
pub struct EngineStore {
    engine: Engine,
    description: String,
}

impl EngineStore {
    /// `engine`, which `description` names in the logs.
    #[must_use]
    pub fn new(engine: Engine, description: String) -> Self {
        Self {
            engine,
            description,
        }
    }
}

impl Store for EngineStore {
    fn answer<'a>(
        &'a self,
        consulta: &'a ConsultaClienteRequest,
    ) -> StoreFuture<'a, Option<Vec<u8>>> {
        match &self.engine {
            Engine::Sqlite(store) => store.answer(consulta),
            // On the worker's thread, as the lookup never waits but on a page fault.
            engine => Box::pin(std::future::ready(engine.lookup(consulta))),
        }
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        match &self.engine {
            Engine::Sqlite(store) => store.ping(),
            Engine::Lmdb { env, .. } => Box::pin(std::future::ready(
                env.read_txn().map(drop).map_err(engine_error),
            )),
            Engine::Redb(database) => Box::pin(std::future::ready(
                database.begin_read().map(drop).map_err(engine_error),
            )),
            Engine::InMemory(_) => Box::pin(std::future::ready(Ok(()))),
        }
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// The output of a future that never waits: the SQLite store answers on the caller's
/// thread, so its future is ready when first polled.
fn ready<T>(future: impl Future<Output = T>) -> T {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the SQLite store waited"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_answers_every_stored_account_with_the_same_bytes() {
        let root = tempfile::tempdir().unwrap();
        let stores = Stores::at(root.path(), 300).unwrap();
        let engines: Vec<_> = EngineKind::ALL
            .iter()
            .map(|&kind| stores.engine(kind).unwrap())
            .collect();
        for consulta in &stores.consultas {
            let expected = engines[0].answer(consulta).expect("a stored account");
            for (kind, engine) in EngineKind::ALL.iter().zip(&engines) {
                assert_eq!(
                    engine.answer(consulta).as_deref(),
                    Some(expected.as_slice()),
                    "{} for {:?}",
                    kind.name(),
                    consulta.codigo_conta()
                );
            }
        }
    }

    #[test]
    fn no_engine_answers_an_account_not_stored() {
        let root = tempfile::tempdir().unwrap();
        let stores = Stores::at(root.path(), 10).unwrap();
        let options = dados_sinteticos::Options::default();
        let absent = ConsultaClienteRequest::new(options.conta(10).codigo());
        for kind in EngineKind::ALL {
            assert_eq!(
                stores.engine(kind).unwrap().answer(&absent),
                None,
                "{}",
                kind.name()
            );
        }
    }
}
