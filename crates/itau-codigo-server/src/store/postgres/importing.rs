//! Importing into PostgreSQL: one transaction with binary `COPY`. With `--replace`,
//! the records (which come in ascending key order, each account once) stream by one
//! `COPY` into a table built beside `clientes`, without an index; the primary key is
//! built once the rows are in, and the new table takes `clientes`' place at the end of
//! the transaction, while readers keep seeing the previous rows until the commit.
//! Without `--replace`, or once a key comes out of order, rows go into a temporary
//! table one batch at a time, each batch upserted from there (`COPY` itself cannot
//! upsert).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::SinkExt;
use tokio_postgres::{Client, Statement};

use super::LAST_IMPORT;
use super::migrating::migrate;
use super::target::Target;
use crate::store::{ImportSession, Importer, StoreError, accounts_after_import};

/// The advisory lock an import holds for its whole transaction ("itauimpt").
pub const IMPORT_LOCK: i64 = 0x6974_6175_696d_7074;

/// Rows per import batch: one `COPY` and one upsert each. Two batches are in memory at
/// most (one being filled while the server stores the other).
pub const IMPORT_BATCH_ROWS: usize = 5_000;

/// Bytes of `COPY` data handed to the server at a time when streaming straight into
/// the table; at most [`COPY_CHUNKS_QUEUED`] more wait to be sent.
const COPY_CHUNK_BYTES: usize = 1024 * 1024;
const COPY_CHUNKS_QUEUED: usize = 4;

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
    /// As [`super::PostgresStore::open`].
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let target = Target::parse(url)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("itau-codigo-import")
            .enable_all()
            .build()
            .map_err(|e| target.open_error(e))?;
        let client = runtime.block_on(target.connect())?;
        migrate(&runtime, &client).map_err(|e| target.open_error(e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
