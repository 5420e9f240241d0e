//! The shared store: one PostgreSQL database that several stateless replicas read.
//!
//! Serving reads through a few connections, each shared by the lookups that take it
//! ([`Lanes`]), with statements prepared once per connection. `import` writes in one
//! transaction with binary `COPY`. With `--replace`, the records (which come in
//! ascending key order, each account once) stream by one `COPY` into a table built
//! beside `clientes`, without an index; the primary key is built once the rows are in,
//! and the new table takes `clientes`' place at the end of the transaction, while
//! readers keep seeing the previous rows until the commit. Without `--replace`, or once
//! a key comes out of order, rows go into a temporary table one batch at a time, each
//! batch upserted from there (`COPY` itself cannot upsert).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::SinkExt;
use itau_codigo::{ConsultaClienteRequest, DadosRegistro};
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::location::percent_decode_lossy;
use super::passfile::{ConnectionKey, Passfile};
use super::pg_tls::{SslMode, Tls};
use super::{
    DbLocation, ImportSession, Importer, LastImport, PoolStatus, Store, StoreError, StoreFuture,
    accounts_after_import, encode_dados, key, migrate_command, redacted_url, render_answer,
};

/// A step of the schema.
enum Migration {
    Sql(&'static str),
    /// Schema 2, which needs Rust to re-render the stored records.
    AnswersStoredReadyToSend,
}

/// Schema migrations, applied in order by `import` and `migrate` (never by `serve`);
/// `itau_codigo_migrations` records the ones applied. Append only: never edit a
/// released entry.
const MIGRATIONS: &[Migration] = &[
    // 1. The 18-digit code fits a bigint (at most 999 999 999 999 999 999): one B-tree
    // probe per lookup. `dados` is the record's data as JSON text, managers in order.
    Migration::Sql(
        "CREATE TABLE clientes (
            codigo_conta bigint PRIMARY KEY,
            dados text NOT NULL
        )",
    ),
    // 2. Answers stored ready to send: `resposta` is `store::format`'s record, as in
    // SQLite.
    Migration::AnswersStoredReadyToSend,
    // 3. What each import recorded when it committed (`/metrics` shows the last one).
    // Only a table added: a binary of schema 2 never reads it, and this one serves a
    // database of schema 2 without it (see OLDEST_SERVED).
    Migration::Sql(
        "CREATE TABLE itau_codigo_imports (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            committed_at timestamptz NOT NULL,
            accounts bigint NOT NULL
        )",
    ),
];

/// The oldest schema `serve` reads: the one before this binary's, as long as what it
/// adds is only read when present (expand, then contract). Schema 2 lacks only the
/// record of imports, so `/metrics` leaves out the store's freshness.
const OLDEST_SERVED: i32 = 2;

/// Rows re-rendered per round trip by migration 2.
const MIGRATION_BATCH_ROWS: i64 = 5_000;

/// The advisory lock (`pg_advisory_xact_lock`) a replica holds while it migrates, the
/// same in every replica (the ASCII of "itaumigr"): hold it to keep replicas from
/// migrating while you work on the schema by hand.
pub const MIGRATION_LOCK: i64 = 0x6974_6175_6d69_6772;
/// The advisory lock an import holds for its whole transaction ("itauimpt").
pub const IMPORT_LOCK: i64 = 0x6974_6175_696d_7074;

/// How many connections a lookup tries when the ones it gets turn out lost. The second
/// and third are made on its lane after the loss was seen, so only a database that
/// ends connections as fast as they are made fails a lookup.
const READ_ATTEMPTS: u32 = 3;

/// Whether `error` says that the connection was lost rather than that the query
/// failed: closed, or ended by the server (a shutdown, `pg_terminate_backend`).
fn connection_lost(error: &StoreError) -> bool {
    use tokio_postgres::error::SqlState;
    match error {
        StoreError::Postgres(error) => {
            error.is_closed()
                || error.code().is_some_and(|code| {
                    [
                        SqlState::ADMIN_SHUTDOWN,
                        SqlState::CRASH_SHUTDOWN,
                        SqlState::CANNOT_CONNECT_NOW,
                    ]
                    .contains(code)
                })
        }
        _ => false,
    }
}

/// How long a lookup or a readiness check may take, connection included, before it
/// counts as a store failure (a 500, or a 503 on `/readyz`).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Rows per import batch: one `COPY` and one upsert each. Two batches are in memory at
/// most (one being filled while the server stores the other).
pub const IMPORT_BATCH_ROWS: usize = 5_000;

/// Bytes of `COPY` data handed to the server at a time when streaming straight into
/// the table; at most [`COPY_CHUNKS_QUEUED`] more wait to be sent.
const COPY_CHUNK_BYTES: usize = 1024 * 1024;
const COPY_CHUNKS_QUEUED: usize = 4;

const FIND: &str = "SELECT resposta FROM clientes WHERE codigo_conta = $1";
/// The table a `--replace` import fills, renamed to `clientes` when it commits.
const REPLACEMENT: &str = "itau_codigo_replacement";
/// Creates [`REPLACEMENT`] with `clientes`' columns and nothing else: its rows are
/// copied in first, its primary key built after them.
const CREATE_REPLACEMENT: &str = "CREATE TABLE itau_codigo_replacement (LIKE clientes)";
/// The primary key of [`REPLACEMENT`], built once (its index named
/// `itau_codigo_replacement_pkey`, renamed with the table).
const REPLACEMENT_KEY: &str = "ALTER TABLE itau_codigo_replacement ADD PRIMARY KEY (codigo_conta)";
/// Puts [`REPLACEMENT`] in `clientes`' place. The privileges granted on `clientes` go to
/// the new table first (replicas may read as a role of their own); the lock `DROP`
/// takes is held only from here to the commit, so lookups wait for the swap, not for
/// the import. Dropped and renamed rather than copied: a `serve` of the schema before
/// finds the same table and columns.
const SWAP_IN_REPLACEMENT: &str = "DO $grants$
DECLARE
    granted record;
BEGIN
    FOR granted IN
        SELECT acl.privilege_type,
               CASE WHEN acl.grantee = 0 THEN 'PUBLIC'
                    ELSE quote_ident(pg_get_userbyid(acl.grantee)) END AS grantee,
               acl.is_grantable
        FROM pg_class AS c, aclexplode(c.relacl) AS acl
        WHERE c.oid = 'clientes'::regclass AND acl.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON itau_codigo_replacement TO %s%s',
                       granted.privilege_type, granted.grantee,
                       CASE WHEN granted.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
END
$grants$;
DROP TABLE clientes;
ALTER TABLE itau_codigo_replacement RENAME TO clientes;
ALTER INDEX itau_codigo_replacement_pkey RENAME TO clientes_pkey;";
const PING: &str = "SELECT 1 FROM clientes LIMIT 1";
/// A standby's replay lag in seconds: 0 when it has replayed everything it received (a
/// quiet primary sends nothing new, and the time since the last replayed commit would
/// then read as lag), else the time since the last replayed commit; NULL on a primary,
/// and on a standby that has replayed no commit yet.
const REPLAY_LAG: &str = "SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN NULL
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8
    ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8
END";
/// Whether the record of imports exists (not in a database of schema 2).
const IMPORTS_RECORDED: &str = "SELECT to_regclass('itau_codigo_imports') IS NOT NULL";
/// The record of the last import.
const LAST_IMPORT: &str = "SELECT extract(epoch FROM committed_at)::float8, accounts
     FROM itau_codigo_imports ORDER BY id DESC LIMIT 1";

/// A PostgreSQL store read through [`Lanes`].
pub struct PostgresStore {
    lanes: Lanes,
    location: String,
}

/// The connections `serve` reads through: a fixed number of lanes, each one connection
/// that every lookup taking it shares, in turn. tokio-postgres pipelines the queries of
/// one client, so lookups in flight together go to the server in one write and their
/// answers come back in one read; a pool lending each connection to one lookup at a
/// time pays the socket's system calls, and the wake-ups between the lookup and the
/// connection's task, once per lookup. A lane whose connection was lost connects again
/// on its next lookup (one lookup connects, the others wait for it), with the password
/// the passfile holds then.
struct Lanes {
    lanes: Box<[Lane]>,
    /// Where the next lookup goes (round robin).
    next: AtomicUsize,
    target: Target,
    /// Lookups waiting for a lane to connect.
    waiting: AtomicUsize,
}

#[derive(Default)]
struct Lane {
    connection: std::sync::Mutex<Option<Arc<LaneConnection>>>,
    /// Held while connecting.
    connecting: tokio::sync::Mutex<()>,
    /// Queries sent on this lane and not yet answered.
    in_flight: AtomicUsize,
}

/// One connection and its statements, each prepared by the first query that needs it
/// (a statement that cannot be prepared, say on a dropped table, fails that query and
/// is tried again by the next, without losing the connection).
struct LaneConnection {
    client: Client,
    find: tokio::sync::OnceCell<Statement>,
    ping: tokio::sync::OnceCell<Statement>,
    replay_lag: tokio::sync::OnceCell<Statement>,
}

impl LaneConnection {
    async fn statement(
        &self,
        cell: &tokio::sync::OnceCell<Statement>,
        query: &str,
    ) -> Result<Statement, StoreError> {
        Ok(cell
            .get_or_try_init(|| self.client.prepare(query))
            .await?
            .clone())
    }
}

/// A lane's connection lent to one query; counts the query in flight.
struct Lent<'a> {
    lane: &'a Lane,
    connection: Arc<LaneConnection>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        self.lane.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Lent<'_> {
    /// `result`, after dropping the connection from its lane if it says it was lost.
    fn after<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if result.as_ref().is_err_and(connection_lost) {
            self.lost();
        }
        result
    }

    /// After a query found the connection lost: the lane connects again on its next
    /// query (unless another query already did).
    fn lost(&self) {
        let mut current = self
            .lane
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if current
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &self.connection))
        {
            *current = None;
        }
    }
}

impl Lane {
    /// The lane's connection, unless it has none or it is closed.
    fn open_connection(&self) -> Option<Arc<LaneConnection>> {
        self.connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .filter(|connection| !connection.client.is_closed())
            .map(Arc::clone)
    }
}

/// Counts a lookup waiting for a lane to connect while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Lanes {
    fn new(target: Target, lanes: u32) -> Self {
        Self {
            lanes: (0..lanes.max(1)).map(|_| Lane::default()).collect(),
            next: AtomicUsize::new(0),
            target,
            waiting: AtomicUsize::new(0),
        }
    }

    /// The next lane's connection, connecting it if needed.
    async fn take(&self) -> Result<Lent<'_>, StoreError> {
        let lane = &self.lanes[self.next.fetch_add(1, Ordering::Relaxed) % self.lanes.len()];
        self.take_lane(lane).await
    }

    /// `lane`'s connection, connecting it if needed. A lookup whose connection was lost
    /// tries again here, on the same lane, rather than on the next one: when the server
    /// ended every connection at once (a restart, `pg_terminate_backend` after a password
    /// rotation), the next lanes' connections are as dead as the first, while this lane's
    /// next one is made after the loss.
    async fn take_lane<'a>(&'a self, lane: &'a Lane) -> Result<Lent<'a>, StoreError> {
        let connection = match lane.open_connection() {
            Some(connection) => connection,
            None => {
                self.waiting.fetch_add(1, Ordering::Relaxed);
                let _waiting = Waiting(&self.waiting);
                let _turn = lane.connecting.lock().await;
                match lane.open_connection() {
                    Some(connection) => connection,
                    None => {
                        let connection = Arc::new(self.connect().await?);
                        *lane
                            .connection
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) =
                            Some(Arc::clone(&connection));
                        connection
                    }
                }
            }
        };
        lane.in_flight.fetch_add(1, Ordering::Relaxed);
        Ok(Lent { lane, connection })
    }

    async fn connect(&self) -> Result<LaneConnection, StoreError> {
        // Said here: the lookup that fails only says that it did.
        let config = self.target.config_now().inspect_err(|error| {
            tracing::error!(error = %error, "cannot read the database password");
        })?;
        let (client, connection) = config.connect(self.target.tls.clone()).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "store connection closed");
            }
        });
        Ok(LaneConnection {
            client,
            find: tokio::sync::OnceCell::new(),
            ping: tokio::sync::OnceCell::new(),
            replay_lag: tokio::sync::OnceCell::new(),
        })
    }

    fn status(&self) -> PoolStatus {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        PoolStatus {
            max_size: count(self.lanes.len()),
            size: count(
                self.lanes
                    .iter()
                    .filter(|lane| lane.open_connection().is_some())
                    .count(),
            ),
            in_use: count(
                self.lanes
                    .iter()
                    .filter(|lane| lane.in_flight.load(Ordering::Relaxed) > 0)
                    .count(),
            ),
            // As a pool lending each connection to one query would have them wait:
            // the queries queued behind another on their connection, and those waiting
            // for one to connect.
            waiting: count(
                self.lanes
                    .iter()
                    .map(|lane| lane.in_flight.load(Ordering::Relaxed).saturating_sub(1))
                    .sum::<usize>()
                    + self.waiting.load(Ordering::Relaxed),
            ),
        }
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url`, checks the schema version (serving never migrates: that is
    /// `import`'s and `migrate`'s job) and makes a pool of up to `pool_size`
    /// connections, opened as needed: a replica started while the database is down
    /// refuses to start, one that loses it answers 500 (and `/readyz` 503) until it is
    /// back.
    ///
    /// Callable from inside an async runtime: the start-up work runs on a thread of its own.
    ///
    /// # Errors
    ///
    /// A bad URL or CA file, no connection, or a database whose schema is older (the
    /// error names the command that upgrades it) or newer than this binary's.
    pub fn open(url: &str, pool_size: u32) -> Result<Self, StoreError> {
        let target = Target::parse(url)?;
        let connector = target.clone();
        let location = target.location.clone();
        on_own_runtime(async move {
            let client = target.connect().await?;
            let found = schema_version(&client)
                .await
                .map_err(|e| target.open_error(e))?;
            let supported = supported_version();
            if found > supported {
                Err(target.open_error(StoreError::SchemaTooNew {
                    found: found.into(),
                    supported: supported.into(),
                }))
            } else if found < OLDEST_SERVED {
                Err(target.open_error(StoreError::SchemaTooOld {
                    found: found.into(),
                    supported: supported.into(),
                    command: migrate_command(&DbLocation::Postgres(url.to_owned())),
                }))
            } else {
                Ok(())
            }
        })?;
        Ok(Self {
            lanes: Lanes::new(connector, pool_size),
            location: format!("{location} (pool of {pool_size})"),
        })
    }

    /// A lookup, tried again on a new connection of its lane when the one it got was
    /// lost (a server restart, `pg_terminate_backend` after a password rotation): a
    /// lookup is a read, and a lane replaces its lost connection.
    async fn answer_now(
        &self,
        consulta: &ConsultaClienteRequest,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut attempt = 1;
        let mut lent = self.lanes.take().await?;
        loop {
            match Self::answer_once(&lent, consulta).await {
                Err(error) if connection_lost(&error) => {
                    lent.lost();
                    if attempt == READ_ATTEMPTS {
                        return Err(error);
                    }
                    tracing::debug!(%error, attempt, "store connection lost; the lookup is tried again");
                    attempt += 1;
                    let lane = lent.lane;
                    drop(lent);
                    lent = self.lanes.take_lane(lane).await?;
                }
                result => return result,
            }
        }
    }

    async fn answer_once(
        lent: &Lent<'_>,
        consulta: &ConsultaClienteRequest,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let connection = &lent.connection;
        let statement = connection.statement(&connection.find, FIND).await?;
        let row = connection
            .client
            .query_opt(&statement, &[&key(&consulta.codigo_conta())])
            .await?;
        row.map(|row| {
            let record: &[u8] = row.try_get(0)?;
            render_answer(record, consulta)
                .map_err(|_| StoreError::bad_record(&consulta.codigo_conta()))
        })
        .transpose()
    }

    async fn replay_lag_now(&self) -> Result<Option<f64>, StoreError> {
        let lent = self.lanes.take().await?;
        let connection = &lent.connection;
        let result = async {
            let statement = connection
                .statement(&connection.replay_lag, REPLAY_LAG)
                .await?;
            Ok(connection.client.query_one(&statement, &[]).await?.get(0))
        }
        .await;
        lent.after(result)
    }

    async fn ping_now(&self) -> Result<(), StoreError> {
        let lent = self.lanes.take().await?;
        let connection = &lent.connection;
        let result = async {
            // Reads the table, so a dropped table fails readiness too.
            let statement = connection.statement(&connection.ping, PING).await?;
            connection.client.query(&statement, &[]).await?;
            Ok(())
        }
        .await;
        lent.after(result)
    }

    async fn last_import_now(&self) -> Result<Option<LastImport>, StoreError> {
        let lent = self.lanes.take().await?;
        let result = Self::last_import_on(&lent.connection.client).await;
        lent.after(result)
    }

    /// Unprepared: asked once per scrape, and `LAST_IMPORT` cannot be prepared on a
    /// database of schema 2.
    async fn last_import_on(client: &Client) -> Result<Option<LastImport>, StoreError> {
        let recorded: bool = client.query_one(IMPORTS_RECORDED, &[]).await?.try_get(0)?;
        if !recorded {
            return Ok(None);
        }
        let row = client.query_opt(LAST_IMPORT, &[]).await?;
        row.map(|row| {
            let accounts: i64 = row.try_get(1)?;
            Ok(LastImport {
                committed_at: row.try_get(0)?,
                accounts: u64::try_from(accounts).unwrap_or(0),
            })
        })
        .transpose()
    }
}

impl Store for PostgresStore {
    fn answer<'a>(
        &'a self,
        consulta: &'a ConsultaClienteRequest,
    ) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(within_timeout("lookup", self.answer_now(consulta)))
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(within_timeout("readiness check", self.ping_now()))
    }

    fn replay_lag(&self) -> StoreFuture<'_, Option<f64>> {
        Box::pin(within_timeout("replay lag", self.replay_lag_now()))
    }

    fn describe(&self) -> String {
        self.location.clone()
    }

    fn pool_status(&self) -> Option<PoolStatus> {
        Some(self.lanes.status())
    }

    fn last_import(&self) -> StoreFuture<'_, Option<LastImport>> {
        Box::pin(within_timeout("import record", self.last_import_now()))
    }
}

async fn within_timeout<T>(
    what: &'static str,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(QUERY_TIMEOUT, work)
        .await
        .map_err(|_| StoreError::Timeout {
            what,
            after: QUERY_TIMEOUT,
        })?
}

/// Imports into PostgreSQL: one connection, driven by a runtime of its own, so that
/// the server stores one batch while this thread validates the next.
pub struct PostgresImporter {
    runtime: tokio::runtime::Runtime,
    client: Arc<Client>,
    location: String,
    batch_rows: usize,
}

impl fmt::Debug for PostgresImporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresImporter")
            .field("location", &self.location)
            .field("batch_rows", &self.batch_rows)
            .finish_non_exhaustive()
    }
}

impl PostgresImporter {
    /// Connects to `url` and applies pending migrations. Not for use inside an async
    /// runtime (it blocks).
    ///
    /// # Errors
    ///
    /// As [`PostgresStore::open`].
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let target = Target::parse(url)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("itau-codigo-import")
            .enable_all()
            .build()
            .map_err(|e| target.open_error(e))?;
        let client = runtime.block_on(async {
            let client = target.connect().await?;
            migrate(&client).await.map_err(|e| target.open_error(e))?;
            Ok::<_, StoreError>(client)
        })?;
        Ok(Self {
            runtime,
            client: Arc::new(client),
            location: target.location,
            batch_rows: IMPORT_BATCH_ROWS,
        })
    }

    /// Rows per batch (tests use tiny batches to cross batch boundaries).
    #[must_use]
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
        self
    }
}

impl Importer for PostgresImporter {
    fn begin(&mut self, replace: bool) -> Result<Box<dyn ImportSession + '_>, StoreError> {
        let client = Arc::clone(&self.client);
        let upsert = self.runtime.block_on(async move {
            client.batch_execute("BEGIN").await?;
            let locked: bool = client
                .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&IMPORT_LOCK])
                .await?
                .get(0);
            if !locked {
                client.batch_execute("ROLLBACK").await?;
                return Err(StoreError::ImportRunning);
            }
            // Readers keep seeing the committed data: the rows go into a table beside
            // theirs (not DELETE then COPY into theirs, which maintains its index row by
            // row and leaves every old row dead in it; not TRUNCATE, which would lock
            // them out until the import commits).
            let replace = if replace {
                format!("{CREATE_REPLACEMENT};")
            } else {
                String::new()
            };
            // The import's statements (a whole table's DELETE, the COPY of every row)
            // last as long as the import: a statement_timeout set for queries on the
            // role or database must not cancel it.
            client
                .batch_execute(&format!(
                    "SET LOCAL statement_timeout = 0;
                     CREATE TEMPORARY TABLE itau_codigo_import (
                         codigo_conta bigint NOT NULL,
                         resposta bytea NOT NULL
                     ) ON COMMIT DROP;
                     {replace}"
                ))
                .await?;
            // The upsert needs the target's primary key, which the replacement has
            // only once rows stop coming in ascending order.
            if replace.is_empty() {
                Ok(Some(prepare_upsert(&client, "clientes").await?))
            } else {
                Ok(None)
            }
        })?;
        Ok(Box::new(PostgresImport {
            replace,
            inserted: 0,
            importer: self,
            streaming: if replace {
                Streaming::Ready
            } else {
                Streaming::Off
            },
            upsert,
            batch: Batch::default(),
            in_flight: None,
            open: true,
        }))
    }
}

/// The statement that upserts the batch in `itau_codigo_import` into `table`. The
/// batch's accounts not stored before it are counted in the same snapshot as the
/// upsert: so the import knows how many accounts it added without counting the table.
async fn prepare_upsert(client: &Client, table: &str) -> Result<Statement, StoreError> {
    Ok(client
        .prepare(&format!(
            "WITH fresh AS (
                 SELECT count(*) AS accounts FROM itau_codigo_import batch
                 WHERE NOT EXISTS (
                     SELECT 1 FROM {table} WHERE codigo_conta = batch.codigo_conta
                 )
             ), upserted AS (
                 INSERT INTO {table} (codigo_conta, resposta)
                 SELECT codigo_conta, resposta FROM itau_codigo_import
                 ON CONFLICT (codigo_conta) DO UPDATE SET resposta = excluded.resposta
             )
             SELECT accounts FROM fresh"
        ))
        .await?)
}

/// The start of binary `COPY` data.
fn put_copy_header(out: &mut BytesMut) {
    out.put_slice(b"PGCOPY\n\xff\r\n\0");
    out.put_i32(0); // flags
    out.put_i32(0); // header extension length
}

/// One `(codigo_conta, resposta)` row of binary `COPY` data.
fn put_copy_row(out: &mut BytesMut, key: i64, resposta: &[u8]) {
    out.put_i16(2);
    out.put_i32(8);
    out.put_i64(key);
    // A record line is at most 64 KiB, far below i32::MAX.
    out.put_i32(i32::try_from(resposta.len()).unwrap_or(i32::MAX));
    out.put_slice(resposta);
}

/// The end of binary `COPY` data.
fn put_copy_trailer(out: &mut BytesMut) {
    out.put_i16(-1);
}

/// What the import thread hands to the task that drives a streaming `COPY`.
enum CopyChunk {
    Rows(Bytes),
    /// All rows are sent: complete the `COPY`. Without it (the sender dropped), the
    /// `COPY` is aborted.
    Finish,
}

/// One `COPY` into the replacement table, fed while the server stores what it has: the
/// rows of a `--replace` import for as long as keys come in ascending order.
struct CopyStream {
    buffer: BytesMut,
    last_key: Option<i64>,
    sender: tokio::sync::mpsc::Sender<CopyChunk>,
    /// `None` once waited for.
    task: Option<CopyTask>,
}

/// Ends with the rows the `COPY` stored.
type CopyTask = tokio::task::JoinHandle<Result<u64, tokio_postgres::Error>>;

impl CopyStream {
    fn start(runtime: &tokio::runtime::Runtime, client: Arc<Client>) -> Self {
        let (sender, mut chunks) = tokio::sync::mpsc::channel(COPY_CHUNKS_QUEUED);
        let task = runtime.spawn(async move {
            // FREEZE: the table was created by this transaction, so its rows can be
            // written frozen and all-visible, sparing the hint bits and the freezing
            // that the first reads and vacuums would otherwise write over every page.
            let sink = client
                .copy_in(&format!(
                    "COPY {REPLACEMENT} (codigo_conta, resposta) FROM STDIN (FORMAT binary, FREEZE)"
                ))
                .await?;
            futures_util::pin_mut!(sink);
            while let Some(chunk) = chunks.recv().await {
                match chunk {
                    CopyChunk::Rows(rows) => sink.send(rows).await?,
                    CopyChunk::Finish => return sink.as_mut().finish().await,
                }
            }
            Ok(0)
        });
        let mut buffer = BytesMut::with_capacity(COPY_CHUNK_BYTES + 64 * 1024);
        put_copy_header(&mut buffer);
        Self {
            buffer,
            last_key: None,
            sender,
            task: Some(task),
        }
    }

    /// Whether a row for `key` can still go into this `COPY` (keys must ascend: a key
    /// seen again would violate the primary key).
    fn takes(&self, key: i64) -> bool {
        self.last_key.is_none_or(|last| key > last)
    }

    fn push(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        key: i64,
        resposta: &[u8],
    ) -> Result<(), StoreError> {
        put_copy_row(&mut self.buffer, key, resposta);
        self.last_key = Some(key);
        if self.buffer.len() >= COPY_CHUNK_BYTES {
            let rows = self.buffer.split().freeze();
            self.send(runtime, CopyChunk::Rows(rows))?;
        }
        Ok(())
    }

    /// Hands `chunk` to the task; when the task has stopped, its error.
    fn send(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        chunk: CopyChunk,
    ) -> Result<(), StoreError> {
        if self.sender.blocking_send(chunk).is_ok() {
            return Ok(());
        }
        // The task stopped early: the server refused something, which it says.
        self.outcome(runtime)?;
        Err(StoreError::Task(
            "the COPY ended before its data was sent".into(),
        ))
    }

    /// Waits for the task (once) and returns how it ended: the rows it stored.
    fn outcome(&mut self, runtime: &tokio::runtime::Runtime) -> Result<u64, StoreError> {
        let Some(task) = self.task.take() else {
            return Ok(0);
        };
        runtime
            .block_on(task)
            .map_err(|e| StoreError::Task(e.to_string()))?
            .map_err(StoreError::from)
    }

    /// Sends what is left and completes the `COPY`; returns the rows it stored.
    fn finish(mut self, runtime: &tokio::runtime::Runtime) -> Result<u64, StoreError> {
        put_copy_trailer(&mut self.buffer);
        let rows = self.buffer.split().freeze();
        self.send(runtime, CopyChunk::Rows(rows))?;
        self.send(runtime, CopyChunk::Finish)?;
        self.outcome(runtime)
    }

    /// Aborts the `COPY` (its rows are rolled back with the transaction).
    fn abort(self, runtime: &tokio::runtime::Runtime) {
        let Self { sender, task, .. } = self;
        // Without `Finish`, the task drops the sink, which aborts the `COPY`.
        drop(sender);
        if let Some(task) = task {
            let _ = runtime.block_on(task);
        }
    }
}

/// One batch: the last data of each account seen since the previous batch, so that
/// the upsert never meets one account twice and the later line wins. Across batches
/// the later batch's upsert wins.
#[derive(Default)]
struct Batch {
    rows: Vec<(i64, Vec<u8>)>,
    index: HashMap<i64, usize>,
}

impl Batch {
    fn push(&mut self, key: i64, dados: &[u8]) {
        match self.index.entry(key) {
            Entry::Occupied(slot) => dados.clone_into(&mut self.rows[*slot.get()].1),
            Entry::Vacant(slot) => {
                slot.insert(self.rows.len());
                self.rows.push((key, dados.to_vec()));
            }
        }
    }

    /// The rows in PostgreSQL's binary `COPY` format, and an empty batch.
    fn take_copy_data(&mut self) -> Bytes {
        let size: usize = self.rows.iter().map(|(_, d)| d.len() + 18).sum();
        let mut out = BytesMut::with_capacity(size + 21);
        put_copy_header(&mut out);
        for (key, dados) in self.rows.drain(..) {
            put_copy_row(&mut out, key, &dados);
        }
        put_copy_trailer(&mut out);
        self.index.clear();
        out.freeze()
    }
}

/// Ends with the batch's accounts that were not stored before it.
type InFlight = tokio::task::JoinHandle<Result<u64, tokio_postgres::Error>>;

/// Whether rows stream straight into the table by one `COPY` (`--replace`).
enum Streaming {
    /// Not yet: the first row opens the `COPY` (not `begin`: the rows come only once
    /// the whole input is read and sorted, and a `COPY` open all that time would only
    /// hold the connection).
    Ready,
    Open(CopyStream),
    /// Never (without `--replace`), or no longer (a key came out of order).
    Off,
}

struct PostgresImport<'i> {
    replace: bool,
    /// Accounts this import added (not stored before it), in the batches and `COPY`s
    /// that have ended.
    inserted: u64,
    importer: &'i mut PostgresImporter,
    streaming: Streaming,
    /// Prepared when the first batch is: with `--replace`, once the replacement table
    /// has its primary key.
    upsert: Option<Statement>,
    batch: Batch,
    in_flight: Option<InFlight>,
    /// Still inside the transaction (no COMMIT or ROLLBACK sent).
    open: bool,
}

impl PostgresImport<'_> {
    /// Completes the streaming `COPY`, if one is open: what follows is upserted.
    fn finish_copy(&mut self) -> Result<(), StoreError> {
        if let Streaming::Open(copy) = std::mem::replace(&mut self.streaming, Streaming::Off) {
            // Into the new table of `--replace`, in ascending keys: every row is an
            // account it did not hold.
            self.inserted += copy.finish(&self.importer.runtime)?;
        }
        Ok(())
    }

    /// The upsert statement, prepared the first time (with `--replace`, after building
    /// the replacement's primary key, which the upsert needs).
    fn upsert_statement(&mut self) -> Result<Statement, StoreError> {
        if let Some(statement) = &self.upsert {
            return Ok(statement.clone());
        }
        let client = Arc::clone(&self.importer.client);
        let statement = self.importer.runtime.block_on(async move {
            client.batch_execute(REPLACEMENT_KEY).await?;
            prepare_upsert(&client, REPLACEMENT).await
        })?;
        self.upsert = Some(statement.clone());
        Ok(statement)
    }

    /// Waits for the batch the server is storing.
    fn wait(&mut self) -> Result<(), StoreError> {
        if let Some(task) = self.in_flight.take() {
            self.inserted += self
                .importer
                .runtime
                .block_on(task)
                .map_err(|e| StoreError::Task(e.to_string()))??;
        }
        Ok(())
    }

    /// Hands the current batch to the server, after the previous one is stored.
    fn send_batch(&mut self) -> Result<(), StoreError> {
        self.wait()?;
        if self.batch.rows.is_empty() {
            return Ok(());
        }
        let upsert = self.upsert_statement()?;
        let data = self.batch.take_copy_data();
        let client = Arc::clone(&self.importer.client);
        self.in_flight = Some(self.importer.runtime.spawn(async move {
            let sink = client
                .copy_in(
                    "COPY itau_codigo_import (codigo_conta, resposta) FROM STDIN (FORMAT binary)",
                )
                .await?;
            futures_util::pin_mut!(sink);
            sink.send(data).await?;
            sink.finish().await?;
            let fresh: i64 = client.query_one(&upsert, &[]).await?.try_get(0)?;
            client.batch_execute("TRUNCATE itau_codigo_import").await?;
            Ok(u64::try_from(fresh).unwrap_or(0))
        }));
        Ok(())
    }
}

impl ImportSession for PostgresImport<'_> {
    fn upsert(&mut self, key: i64, encoded: &[u8]) -> Result<(), StoreError> {
        if matches!(self.streaming, Streaming::Ready) {
            self.streaming = Streaming::Open(CopyStream::start(
                &self.importer.runtime,
                Arc::clone(&self.importer.client),
            ));
        }
        if let Streaming::Open(copy) = &mut self.streaming {
            if copy.takes(key) {
                return copy.push(&self.importer.runtime, key, encoded);
            }
            // Out of order: the rows so far stay, and this one and the rest are upserted
            // over them.
            self.finish_copy()?;
        }
        self.batch.push(key, encoded);
        if self.batch.rows.len() >= self.importer.batch_rows {
            self.send_batch()?;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.finish_copy()?;
        self.send_batch()?;
        self.wait()?;
        let client = Arc::clone(&self.importer.client);
        let (replace, inserted) = (self.replace, self.inserted);
        // Built here unless the upserts needed it earlier: one sort of the keys, not an
        // index maintained row by row.
        let key_built = self.upsert.is_some();
        let committed = self.importer.runtime.block_on(async move {
            if replace {
                if !key_built {
                    client.batch_execute(REPLACEMENT_KEY).await?;
                }
                client.batch_execute(SWAP_IN_REPLACEMENT).await?;
            }
            record_import(&client, replace, inserted).await?;
            client.batch_execute("COMMIT").await?;
            Ok::<_, StoreError>(())
        });
        // Otherwise `drop` rolls the transaction back.
        self.open = committed.is_err();
        committed
    }
}

impl Drop for PostgresImport<'_> {
    /// Not committed: roll everything back (a failed batch has already aborted the
    /// transaction; the ROLLBACK ends it).
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        if let Streaming::Open(copy) = std::mem::replace(&mut self.streaming, Streaming::Off) {
            copy.abort(&self.importer.runtime);
        }
        let _ = self.wait();
        let client = Arc::clone(&self.importer.client);
        let _ = self
            .importer
            .runtime
            .block_on(async move { client.batch_execute("ROLLBACK").await });
    }
}

/// Records the import in `itau_codigo_imports`, inside its transaction: the server's
/// clock now (`clock_timestamp()`, not the transaction's start), and how many accounts
/// the store holds.
async fn record_import(client: &Client, replace: bool, inserted: u64) -> Result<(), StoreError> {
    let recorded_before: Option<i64> = client
        .query_opt(LAST_IMPORT, &[])
        .await?
        .map(|row| row.try_get(1))
        .transpose()?;
    let recorded_before = recorded_before.map(|n| u64::try_from(n).unwrap_or(0));
    let accounts = match accounts_after_import(replace, inserted, recorded_before) {
        Some(accounts) => i64::try_from(accounts).unwrap_or(i64::MAX),
        None => client
            .query_one("SELECT count(*) FROM clientes", &[])
            .await?
            .try_get(0)?,
    };
    client
        .execute(
            "INSERT INTO itau_codigo_imports (committed_at, accounts)
             VALUES (clock_timestamp(), $1)",
            &[&accounts],
        )
        .await?;
    Ok(())
}

/// The newest schema version this binary knows.
fn supported_version() -> i32 {
    i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX)
}

/// The schema version of the database (0: never migrated). Plain reads: no lock.
async fn schema_version(client: &Client) -> Result<i32, StoreError> {
    let migrated: bool = client
        .query_one(
            "SELECT to_regclass('itau_codigo_migrations') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !migrated {
        return Ok(0);
    }
    Ok(client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM itau_codigo_migrations",
            &[],
        )
        .await?
        .get(0))
}

/// `itau-codigo migrate` on PostgreSQL: the schema versions before and after.
pub(super) fn migrate_database(url: &str) -> Result<(i64, i64), StoreError> {
    let target = Target::parse(url)?;
    on_own_runtime(async move {
        let client = target.connect().await?;
        let before = schema_version(&client)
            .await
            .map_err(|e| target.open_error(e))?;
        migrate(&client).await.map_err(|e| target.open_error(e))?;
        Ok((before.into(), supported_version().into()))
    })
}

/// Applies pending migrations; imports (and `migrate` commands) starting together take
/// turns on an advisory lock, and the later ones find nothing left to do.
async fn migrate(client: &Client) -> Result<(), StoreError> {
    // Said before anything is tried: a standby would refuse the first write with a
    // message about read-only transactions that names neither the cause nor the fix.
    let in_recovery: bool = client
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await?
        .get(0);
    if in_recovery {
        return Err(StoreError::ReadOnlyStandby);
    }
    client
        .batch_execute(&format!(
            "BEGIN;
             SELECT pg_advisory_xact_lock({MIGRATION_LOCK});
             CREATE TABLE IF NOT EXISTS itau_codigo_migrations (
                 version integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );"
        ))
        .await?;
    let result = async {
        let applied: i32 = client
            .query_one(
                "SELECT coalesce(max(version), 0) FROM itau_codigo_migrations",
                &[],
            )
            .await?
            .get(0);
        let supported = supported_version();
        if applied > supported {
            return Err(StoreError::SchemaTooNew {
                found: applied.into(),
                supported: supported.into(),
            });
        }
        for (version, migration) in (1..)
            .zip(MIGRATIONS)
            .skip(usize::try_from(applied).unwrap_or(0))
        {
            match migration {
                Migration::Sql(sql) => client.batch_execute(sql).await?,
                Migration::AnswersStoredReadyToSend => answers_stored_ready_to_send(client).await?,
            }
            client
                .execute(
                    "INSERT INTO itau_codigo_migrations (version) VALUES ($1)",
                    &[&version],
                )
                .await?;
        }
        client.batch_execute("COMMIT").await?;
        Ok(())
    }
    .await;
    if result.is_err() {
        let _ = client.batch_execute("ROLLBACK").await;
    }
    result
}

/// Schema 2: `clientes(codigo_conta, resposta bytea)`, every record re-rendered from
/// its JSON, in key order, a batch per round trip (inside the migration's transaction).
async fn answers_stored_ready_to_send(client: &Client) -> Result<(), StoreError> {
    client
        .batch_execute(
            "CREATE TABLE clientes_v2 (
                 codigo_conta bigint PRIMARY KEY,
                 resposta bytea NOT NULL
             )",
        )
        .await?;
    let read = client
        .prepare(
            "SELECT codigo_conta, dados FROM clientes WHERE codigo_conta > $1
             ORDER BY codigo_conta LIMIT $2",
        )
        .await?;
    let write = client
        .prepare(
            "INSERT INTO clientes_v2 (codigo_conta, resposta)
             SELECT * FROM unnest($1::bigint[], $2::bytea[])",
        )
        .await?;
    let mut after = -1i64;
    loop {
        let rows = client
            .query(&read, &[&after, &MIGRATION_BATCH_ROWS])
            .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.try_get(0)?;
        let mut keys = Vec::with_capacity(rows.len());
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            let codigo: i64 = row.try_get(0)?;
            let json: &str = row.try_get(1)?;
            let dados: DadosRegistro =
                serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
                    codigo: format!("row {codigo}"),
                    line: e.line(),
                    column: e.column(),
                })?;
            keys.push(codigo);
            records.push(encode_dados(&dados));
        }
        client.execute(&write, &[&keys, &records]).await?;
    }
    client
        .batch_execute(
            "DROP TABLE clientes;
             ALTER TABLE clientes_v2 RENAME TO clientes;
             ALTER INDEX clientes_v2_pkey RENAME TO clientes_pkey;",
        )
        .await?;
    Ok(())
}

/// A parsed `--db` URL: the connection settings, the TLS connector, the passfile that
/// holds the password (if the URL names one and holds none itself), and the location
/// as it may be shown (from [`redacted_url`], the one place a URL is redacted).
#[derive(Clone)]
struct Target {
    config: Config,
    tls: MakeRustlsConnect,
    passfile: Option<Passfile>,
    location: String,
}

impl Target {
    /// Parses a `postgres://` URL. The libpq TLS settings, `sslmode` (all six modes)
    /// and `sslrootcert`, are taken out of it and mean what they mean in libpq
    /// ([`Tls`]); tokio-postgres reads the rest.
    fn parse(url: &str) -> Result<Self, StoreError> {
        let location = redacted_url(url);
        let bad = |reason: String| StoreError::Open {
            location: location.clone(),
            reason,
        };
        let (url, sslmode) = take_query_parameter(url, "sslmode");
        let (url, sslrootcert) = take_query_parameter(&url, "sslrootcert");
        let (url, passfile) = take_query_parameter(&url, "passfile");
        let mut config: Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| bad(format!("not a PostgreSQL URL: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("itau-codigo");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(QUERY_TIMEOUT);
        }
        // An `sslmode` tokio-postgres read but we did not would be overwritten below:
        // refuse rather than weaken it.
        if sslmode.is_none() && config.get_ssl_mode() != tokio_postgres::config::SslMode::Prefer {
            return Err(bad("sslmode is given in a form this program cannot read: write it as one plain `sslmode=` parameter".into()));
        }
        let tls = Tls::from_url_values(sslmode.as_deref(), sslrootcert.as_deref()).map_err(bad)?;
        config.ssl_mode(tls.wire);
        // As in libpq, a password in the URL wins over the passfile.
        let passfile = passfile
            .filter(|_| config.get_password().is_none())
            .map(Passfile::new);
        Ok(Self {
            config,
            tls: tls.connector,
            passfile,
            location,
        })
    }

    /// The settings for one new connection: with a passfile, its password as the file
    /// says now (read for every connection, so that a rotation needs no restart).
    fn config_now(&self) -> Result<Config, StoreError> {
        let Some(passfile) = &self.passfile else {
            return Ok(self.config.clone());
        };
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(name)) => name.clone(),
            // libpq matches a Unix socket as `localhost`.
            _ => "localhost".to_owned(),
        };
        let key = ConnectionKey {
            host: &host,
            port: self.config.get_ports().first().copied().unwrap_or(5432),
            database: self
                .config
                .get_dbname()
                .or(self.config.get_user())
                .unwrap_or_default(),
            user: self.config.get_user().unwrap_or_default(),
        };
        let password = passfile.password(key).map_err(|e| self.open_error(e))?;
        let mut config = self.config.clone();
        config.password(password);
        Ok(config)
    }

    async fn connect(&self) -> Result<Client, StoreError> {
        let (client, connection) = self
            .config_now()?
            .connect(self.tls.clone())
            .await
            .map_err(|e| self.open_error(StoreError::from(e)))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "store connection closed");
            }
        });
        Ok(client)
    }

    fn open_error(&self, error: impl fmt::Display) -> StoreError {
        StoreError::Open {
            location: self.location.clone(),
            reason: error.to_string(),
        }
    }
}

/// See [`super::weak_tls_warning`]. The hosts are read as tokio-postgres
/// reads them (`hostaddr`, when given, is where it connects); a multi-host URL warns
/// when any of its hosts is remote.
pub(super) fn weak_tls_warning(url: &str) -> Option<String> {
    let (rest, sslmode) = take_query_parameter(url, "sslmode");
    let (rest, sslrootcert) = take_query_parameter(&rest, "sslrootcert");
    let config: Config = rest.parse().ok()?;
    let mode = SslMode::of_url_values(sslmode.as_deref(), sslrootcert.as_deref()).ok()?;
    if mode == SslMode::VerifyFull {
        return None;
    }
    let remote: Vec<String> = if config.get_hostaddrs().is_empty() {
        config
            .get_hosts()
            .iter()
            .filter_map(|host| match host {
                Host::Tcp(name) if !is_loopback_name(name) => Some(name.clone()),
                _ => None,
            })
            .collect()
    } else {
        config
            .get_hostaddrs()
            .iter()
            .filter(|address| !address.is_loopback())
            .map(ToString::to_string)
            .collect()
    };
    if remote.is_empty() {
        return None;
    }
    let default = if sslmode.is_none() {
        " (the default)"
    } else {
        ""
    };
    Some(format!(
        "the PostgreSQL host {} is reached with sslmode={}{default}: {}. For production set \
         sslmode=verify-full with sslrootcert=PATH (the PEM of the authority that signed the \
         server's certificate) or sslrootcert=system in --db",
        remote.join(", "),
        mode.name(),
        mode.exposure(),
    ))
}

/// `localhost`, or an IPv4/IPv6 loopback address (brackets allowed).
fn is_loopback_name(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Removes `name=value` from a URL's query, returning the URL and the (percent-decoded)
/// value. The query starts where tokio-postgres starts it: at the first `?` after the
/// user information (which ends at the first `@`), so that a `?` in a password does not
/// hide a parameter from us that tokio-postgres would still read; keys are compared
/// percent-decoded, as tokio-postgres compares them.
fn take_query_parameter(url: &str, name: &str) -> (String, Option<String>) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let after_userinfo = url[after_scheme..]
        .find('@')
        .map_or(after_scheme, |i| after_scheme + i + 1);
    let Some(question) = url[after_userinfo..].find('?').map(|i| after_userinfo + i) else {
        return (url.to_owned(), None);
    };
    let (base, query) = (&url[..question], &url[question + 1..]);
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some((key, v)) if percent_decode_lossy(key) == name => {
                value = Some(percent_decode_lossy(v));
                false
            }
            _ => true,
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, value)
}

/// Runs start-up work to completion on a runtime of its own, on a thread of its own,
/// so that a caller inside an async runtime (`serve`) can wait for it.
fn on_own_runtime<T: Send>(
    work: impl Future<Output = Result<T, StoreError>> + Send,
) -> Result<T, StoreError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| StoreError::Task(e.to_string()))?
                    .block_on(work)
            })
            .join()
            .map_err(|_| StoreError::Task("the store's start-up thread panicked".into()))?
    })
}

#[cfg(test)]
mod tests {
    use tokio_postgres::config::SslMode;

    use super::*;

    #[test]
    fn sslrootcert_is_taken_out_of_the_url_and_decoded() {
        assert_eq!(
            take_query_parameter(
                "postgres://h/d?sslmode=require&sslrootcert=%2Fetc%2Fca.pem&x=1",
                "sslrootcert"
            ),
            (
                "postgres://h/d?sslmode=require&x=1".to_owned(),
                Some("/etc/ca.pem".to_owned())
            )
        );
        assert_eq!(
            take_query_parameter("postgres://h/d?sslrootcert=/ca.pem", "sslrootcert"),
            ("postgres://h/d".to_owned(), Some("/ca.pem".to_owned()))
        );
        assert_eq!(
            take_query_parameter("postgres://h/d", "sslrootcert"),
            ("postgres://h/d".to_owned(), None)
        );
    }

    #[test]
    fn a_remote_host_below_verify_full_is_warned_about_naming_mode_and_fix() {
        let warning = weak_tls_warning("postgres://itau:S3cr3t-pw@db.internal:5432/itau").unwrap();
        assert!(
            warning.contains("db.internal")
                && warning.contains("sslmode=prefer (the default)")
                && warning.contains("sslmode=verify-full"),
            "{warning}"
        );
        assert!(!warning.contains("S3cr3t"), "{warning}");
        for mode in ["disable", "allow", "require", "verify-ca"] {
            let url =
                format!("postgres://itau:S3cr3t@10.1.2.3/itau?sslmode={mode}&sslrootcert=/ca.pem");
            let warning = weak_tls_warning(&url).unwrap();
            assert!(warning.contains(&format!("sslmode={mode}:")), "{warning}");
            assert!(!warning.contains("S3cr3t"), "{warning}");
        }
    }

    #[test]
    fn verify_full_loopback_and_unix_sockets_are_not_warned_about() {
        for url in [
            "postgres://itau:pw@db.internal/itau?sslmode=verify-full&sslrootcert=/ca.pem",
            "postgres://itau:pw@db.internal/itau?sslrootcert=system",
            "postgres://itau:pw@localhost/itau",
            "postgres://itau:pw@127.0.0.1:5432/itau?sslmode=disable",
            "postgres://itau:pw@[::1]:5432/itau",
            "postgres://itau@%2Fvar%2Frun%2Fpostgresql/itau",
            "postgres://itau@/itau?host=/var/run/postgresql",
            "postgres://itau:pw@db.internal/itau?hostaddr=127.0.0.1",
        ] {
            assert_eq!(weak_tls_warning(url), None, "{url}");
        }
    }

    #[test]
    fn a_multi_host_url_is_warned_about_when_any_host_is_remote() {
        let warning =
            weak_tls_warning("postgres://itau:pw@127.0.0.1,replica.internal/itau").unwrap();
        assert!(warning.contains("host replica.internal is"), "{warning}");
        let warning =
            weak_tls_warning("postgres://itau:pw@localhost/itau?hostaddr=192.0.2.7").unwrap();
        assert!(warning.contains("192.0.2.7"), "{warning}");
    }

    #[test]
    fn a_question_mark_in_the_password_or_an_encoded_key_hides_no_sslmode() {
        assert_eq!(
            take_query_parameter("postgres://app:p/a?s@db/itau?sslmode=require", "sslmode"),
            (
                "postgres://app:p/a?s@db/itau".to_owned(),
                Some("require".to_owned())
            )
        );
        assert_eq!(
            take_query_parameter("postgres://db/itau?sslmod%65=require", "sslmode").1,
            Some("require".to_owned())
        );
        let target = Target::parse("postgres://app:p/a?s@db/itau?sslmode=require").unwrap();
        assert_eq!(target.config.get_ssl_mode(), SslMode::Require);
    }

    #[test]
    fn a_bad_url_is_refused_without_showing_its_password() {
        let error = Target::parse("postgres://app:s3cr3t@db/itau?sslmode=sometimes")
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("postgres://app:***@db/itau"), "{error}");
        assert!(error.contains("sslmode"), "{error}");
        assert!(!error.contains("s3cr3t"), "{error}");
    }

    #[test]
    fn a_missing_sslrootcert_file_is_named() {
        let error = Target::parse("postgres://db/itau?sslrootcert=/no/such/ca.pem")
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("cannot read sslrootcert /no/such/ca.pem"),
            "{error}"
        );
    }

    #[test]
    fn sslmode_is_taken_out_of_the_url_for_tokio_postgres() {
        let wire = |url: &str| Target::parse(url).unwrap().config.get_ssl_mode();
        assert_eq!(wire("postgres://db/itau"), SslMode::Prefer);
        assert_eq!(wire("postgres://db/itau?sslmode=allow"), SslMode::Prefer);
        assert_eq!(wire("postgres://db/itau?sslmode=disable"), SslMode::Disable);
        assert_eq!(wire("postgres://db/itau?sslmode=require"), SslMode::Require);
        assert_eq!(
            wire("postgres://db/itau?sslmode=verify-full&sslrootcert=system"),
            SslMode::Require
        );
    }

    #[test]
    fn a_batch_keeps_the_last_data_of_an_account_in_its_first_place() {
        let mut batch = Batch::default();
        batch.push(1, b"a");
        batch.push(2, b"b");
        batch.push(1, b"c");
        assert_eq!(batch.rows, [(1, b"c".to_vec()), (2, b"b".to_vec())]);
        let data = batch.take_copy_data();
        assert!(batch.rows.is_empty() && batch.index.is_empty());
        // Header (19 bytes), two rows of 2 + 4 + 8 + 4 + 1 bytes, trailer (2 bytes).
        assert_eq!(data.len(), 19 + 2 * 19 + 2);
        assert!(data.starts_with(b"PGCOPY\n\xff\r\n\0"));
        assert!(data.ends_with(&[0xff, 0xff]));
    }
}
