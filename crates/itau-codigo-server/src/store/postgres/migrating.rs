//! The PostgreSQL schema: its migrations, and the transaction the shared runner
//! ([`crate::store::migrations`]) applies them in. `itau_codigo_migrations` records the
//! versions applied.

use tokio::runtime::Runtime;
use tokio_postgres::Client;

use super::on_own_runtime;
use super::target::Target;
use crate::store::StoreError;
use crate::store::migrations::{self, Migration, Migrations, SchemaTransaction};

/// Applied in order by `import` and `migrate` (never by `serve`).
/// (A function, not a constant: the steps take the transaction of each run, which
/// borrows its connection.)
fn migrations<'c>() -> Migrations<PostgresSchema<'c>> {
    [
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
        Migration::Code(answers_stored_ready_to_send),
        // 3. What each import recorded when it committed (`/metrics` shows the last one).
        // Only a table added: a binary of schema 2 never reads it, and this one serves a
        // database of schema 2 without it.
        Migration::Sql(
            "CREATE TABLE itau_codigo_imports (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                committed_at timestamptz NOT NULL,
                accounts bigint NOT NULL
            )",
        ),
    ]
}

/// Rows re-rendered per round trip by migration 2.
const MIGRATION_BATCH_ROWS: i64 = 5_000;

/// The advisory lock (`pg_advisory_xact_lock`) a replica holds while it migrates, the
/// same in every replica (the ASCII of "itaumigr"): hold it to keep replicas from
/// migrating while you work on the schema by hand.
pub const MIGRATION_LOCK: i64 = 0x6974_6175_6d69_6772;

/// The version applied so far (0 when none is).
const APPLIED_VERSION: &str =
    "SELECT coalesce(max(version), 0)::bigint FROM itau_codigo_migrations";

/// The schema version of the database (0: never migrated). Plain reads: no lock.
pub(super) async fn schema_version(client: &Client) -> Result<i64, StoreError> {
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
    Ok(client.query_one(APPLIED_VERSION, &[]).await?.get(0))
}

/// A connection running the migrations, driven from this thread by `runtime`.
pub(super) struct PostgresSchema<'a> {
    runtime: &'a Runtime,
    client: &'a Client,
}

impl SchemaTransaction for PostgresSchema<'_> {
    fn begin(&mut self) -> Result<i64, StoreError> {
        let client = self.client;
        self.runtime.block_on(async {
            // Said before anything is tried: a standby would refuse the first write with
            // a message about read-only transactions that names neither the cause nor
            // the fix.
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
            Ok(client.query_one(APPLIED_VERSION, &[]).await?.get(0))
        })
    }

    fn execute(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.runtime.block_on(self.client.batch_execute(sql))?)
    }

    fn record_version(&mut self, version: i64) -> Result<(), StoreError> {
        let version = i32::try_from(version).unwrap_or(i32::MAX);
        self.runtime.block_on(self.client.execute(
            "INSERT INTO itau_codigo_migrations (version) VALUES ($1)",
            &[&version],
        ))?;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        Ok(self.runtime.block_on(self.client.batch_execute("COMMIT"))?)
    }

    fn rollback(&mut self) {
        let _ = self.runtime.block_on(self.client.batch_execute("ROLLBACK"));
    }
}

/// Brings the database on `client` to this binary's schema, driving it with `runtime`
/// from this thread (not from inside an async runtime).
pub(super) fn migrate(runtime: &Runtime, client: &Client) -> Result<(i64, i64), StoreError> {
    migrations::migrate(&mut PostgresSchema { runtime, client }, &migrations())
}

/// `itau-codigo migrate` on PostgreSQL: the schema versions before and after.
pub(in crate::store) fn migrate_database(url: &str) -> Result<(i64, i64), StoreError> {
    let target = Target::parse(url)?;
    on_own_runtime(|runtime| {
        let client = runtime.block_on(target.connect())?;
        migrate(runtime, &client).map_err(|e| target.open_error(e))
    })
}

/// Schema 2: `clientes(codigo_conta, resposta bytea)`, every record re-rendered from
/// its JSON, in key order, a batch per round trip (inside the migration's transaction).
fn answers_stored_ready_to_send(schema: &mut PostgresSchema<'_>) -> Result<(), StoreError> {
    let client = schema.client;
    schema.runtime.block_on(async {
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
                let key: i64 = row.try_get(0)?;
                let dados: &str = row.try_get(1)?;
                keys.push(key);
                records.push(migrations::rerender_schema_1_row(key, dados.as_bytes())?);
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
    })
}
