//! The shared store: one PostgreSQL database that several stateless replicas read.
//! Split by job: [`serving`] (lookups through a few shared connections), [`importing`]
//! (one transaction, binary `COPY`), [`migrating`] (the schema); [`target`] reads a
//! `--db` URL (TLS in [`tls`], the password file in [`passfile`]) and connects.

mod importing;
mod migrating;
mod passfile;
mod serving;
mod target;
mod tls;

use std::time::Duration;

pub use importing::{IMPORT_BATCH_ROWS, IMPORT_LOCK, PostgresImporter};
pub use migrating::MIGRATION_LOCK;
pub(super) use migrating::migrate_database;
pub use passfile::{ConnectionKey, Passfile, PassfileError};
pub use serving::PostgresStore;
pub(super) use target::weak_tls_warning;

use super::StoreError;

/// How long a lookup or a readiness check may take, connection included, before it
/// counts as a store failure (a 500, or a 503 on `/readyz`); also how long a connection
/// may take to be made.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// The record of the last import.
const LAST_IMPORT: &str = "SELECT extract(epoch FROM committed_at)::float8, accounts
     FROM itau_codigo_imports ORDER BY id DESC LIMIT 1";

/// Runs start-up work to completion on a current-thread runtime of its own, on a thread
/// of its own, so that a caller inside an async runtime (`serve`) can wait for it.
fn on_own_runtime<T: Send>(
    work: impl FnOnce(&tokio::runtime::Runtime) -> Result<T, StoreError> + Send,
) -> Result<T, StoreError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| StoreError::Task(e.to_string()))?;
                work(&runtime)
            })
            .join()
            .map_err(|_| StoreError::Task("the store's start-up thread panicked".into()))?
    })
}
