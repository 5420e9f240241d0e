//! The SQLite schema: its migrations, and the transaction the shared runner
//! ([`crate::store::migrations`]) applies them in. `PRAGMA user_version` holds the
//! version applied.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, params};

use super::{Journal, existing_file, open_error, prepare_file};
use crate::store::StoreError;
use crate::store::migrations::{self, Migration, Migrations, SchemaTransaction};

/// Applied in order by `import` and `migrate` (never by `serve`).
/// (A function, not a constant: the steps take the transaction of each run, which
/// borrows its connection.)
fn migrations<'c>() -> Migrations<SqliteSchema<'c>> {
    [
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
        // store of schema 2 without it.
        Migration::Sql(
            "CREATE TABLE itau_codigo_imports (
                id INTEGER PRIMARY KEY,
                committed_at REAL NOT NULL,
                accounts INTEGER NOT NULL
            ) STRICT;",
        ),
    ]
}

/// A connection running the migrations, in a transaction of its own.
pub(super) struct SqliteSchema<'c>(pub(super) &'c Connection);

impl SchemaTransaction for SqliteSchema<'_> {
    fn begin(&mut self) -> Result<i64, StoreError> {
        // IMMEDIATE takes the write lock now: a second runner waits (busy_timeout) and
        // then reads the version this one left.
        self.0.execute_batch("BEGIN IMMEDIATE")?;
        Ok(self
            .0
            .pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    fn execute(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.0.execute_batch(sql)?)
    }

    fn record_version(&mut self, version: i64) -> Result<(), StoreError> {
        Ok(self.0.pragma_update(None, "user_version", version)?)
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        Ok(self.0.execute_batch("COMMIT")?)
    }

    fn rollback(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
}

/// Brings the database on `connection` to this binary's schema.
pub(super) fn migrate(connection: &Connection) -> Result<(i64, i64), StoreError> {
    migrations::migrate(&mut SqliteSchema(connection), &migrations())
}

/// Schema 2: `clientes(codigo_conta, resposta BLOB)`, every record re-rendered from its
/// JSON.
fn answers_stored_ready_to_send(schema: &mut SqliteSchema<'_>) -> Result<(), StoreError> {
    let connection = schema.0;
    connection.execute_batch(
        "CREATE TABLE clientes_v2 (
            codigo_conta INTEGER PRIMARY KEY,
            resposta BLOB NOT NULL
        ) STRICT;",
    )?;
    {
        let mut read = connection.prepare("SELECT codigo_conta, dados FROM clientes")?;
        let mut write = connection
            .prepare("INSERT INTO clientes_v2 (codigo_conta, resposta) VALUES (?1, ?2)")?;
        let mut rows = read.query([])?;
        while let Some(row) = rows.next()? {
            let key: i64 = row.get(0)?;
            let ValueRef::Text(dados) = row.get_ref(1)? else {
                return Err(rusqlite::Error::InvalidColumnType(
                    1,
                    "dados".into(),
                    row.get_ref(1)?.data_type(),
                )
                .into());
            };
            write.execute(params![key, migrations::rerender_schema_1_row(key, dados)?])?;
        }
    }
    connection.execute_batch(
        "DROP TABLE clientes;
         ALTER TABLE clientes_v2 RENAME TO clientes;",
    )?;
    Ok(())
}

/// `itau-codigo migrate` on a SQLite file: the file must exist.
pub(in crate::store) fn migrate_file(path: &Path) -> Result<(i64, i64), StoreError> {
    existing_file(path)?;
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| open_error(path, &e))?;
    prepare_file(&connection, path, Journal::Wal)
}
