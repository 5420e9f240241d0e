//! Faults while serving: a store that fails and comes back, a SQLite file replaced by
//! garbage or removed (root ignores permissions, so files are replaced, not chmod'ed).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::time::{Duration, Instant};

use itau_codigo::ConsultaClienteRequest;
use itau_codigo_server::store::{
    self, DbLocation, FILE_CHECK_INTERVAL, Store, StoreError, StoreFuture,
};

use crate::helpers::*;

/// A real store with a switch: while it is on, every call fails as a broken disk would.
struct SwitchableFaults {
    inner: Arc<dyn Store>,
    failing: Arc<AtomicBool>,
}

impl SwitchableFaults {
    fn fault() -> StoreError {
        StoreError::Task("disk I/O error at /var/lib/itau/itau-codigo.db: SELECT dados".into())
    }
}

impl Store for SwitchableFaults {
    fn answer<'a>(
        &'a self,
        consulta: &'a ConsultaClienteRequest,
    ) -> StoreFuture<'a, Option<Vec<u8>>> {
        if self.failing.load(Ordering::SeqCst) {
            return Box::pin(async { Err(Self::fault()) });
        }
        self.inner.answer(consulta)
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        if self.failing.load(Ordering::SeqCst) {
            return Box::pin(async { Err(Self::fault()) });
        }
        self.inner.ping()
    }

    fn describe(&self) -> String {
        format!("faulty {}", self.inner.describe())
    }
}

/// These tests look at `/readyz` right after each change: no check may be reused.
fn readiness_at_every_call(config: &mut itau_codigo_server::config::ServeConfig) {
    config.readiness_interval = Duration::ZERO;
}

/// Waits until the app answers `status` for the known account: a change to the file is
/// seen within [`FILE_CHECK_INTERVAL`] (the bound here only keeps a broken build from
/// hanging), then holds.
fn await_status(app: &TestApp, status: u16, when: &str) {
    let started = Instant::now();
    while app.consulta(TRES_GERENTES).status != status {
        assert!(
            started.elapsed() < FILE_CHECK_INTERVAL * 20,
            "{when}: no {status} within {:?}",
            FILE_CHECK_INTERVAL * 20
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// 200 with the customer, and a ready `/readyz`.
fn assert_serving(app: &TestApp, expected: &serde_json::Value, when: &str) {
    let response = app.consulta(TRES_GERENTES);
    assert_eq!(response.status, 200, "{when}: {response:?}");
    assert_eq!(&response.json(), expected, "{when}");
    assert_eq!(app.get("/readyz").status, 200, "{when}");
}

/// 500 `store-unavailable` on the API, 503 on `/readyz`, and still alive.
fn assert_store_unavailable(app: &TestApp, when: &str) {
    let response = app.consulta(TRES_GERENTES);
    assert_eq!(response.status, 500, "{when}: {response:?}");
    assert_eq!(response.problem_type(), "store-unavailable", "{when}");
    let text = String::from_utf8_lossy(&response.body).into_owned();
    for internal in ["SELECT", "/var/lib", "sqlite", "disk", ".db", "Error"] {
        assert!(!text.contains(internal), "{when}: {internal} in {text}");
    }
    let ready = app.get("/readyz");
    assert_eq!(ready.status, 503, "{when}");
    assert_eq!(ready.problem_type(), "store-unavailable", "{when}");
    assert_eq!(app.get("/healthz").status, 200, "{when}: liveness");
}

#[test]
fn a_store_failing_while_serving_answers_500_and_503_then_recovers_without_a_restart() {
    let (_dir, db) = demo_db();
    let failing = Arc::new(AtomicBool::new(false));
    let store = SwitchableFaults {
        inner: store::open(&DbLocation::SqliteFile(db), 4).unwrap(),
        failing: Arc::clone(&failing),
    };
    let app = TestApp::builder()
        .store_impl(Arc::new(store))
        .config(readiness_at_every_call)
        .spawn();
    let expected = app.consulta(TRES_GERENTES).json();
    assert_serving(&app, &expected, "before the fault");

    for round in 1..=3 {
        failing.store(true, Ordering::SeqCst);
        for _ in 0..5 {
            assert_store_unavailable(&app, &format!("fault {round}"));
        }
        failing.store(false, Ordering::SeqCst);
        assert_serving(&app, &expected, &format!("after fault {round}"));
    }
    let metrics = String::from_utf8(app.get("/metrics").body).unwrap();
    assert!(
        metrics.contains("itau_codigo_store_errors_total 30\n"),
        "{metrics}"
    );
}

#[test]
fn the_sqlite_file_overwritten_with_garbage_answers_500_and_recovers_once_restored() {
    let app = TestApp::builder().config(readiness_at_every_call).spawn();
    let expected = app.consulta(TRES_GERENTES).json();
    let good = checkpointed_copy(app.sqlite_file());

    overwrite_in_place(app.sqlite_file(), &garbage(good.len()));
    await_status(&app, 500, "garbage in place");
    assert_store_unavailable(&app, "garbage in place");
    overwrite_in_place(app.sqlite_file(), &good);
    await_status(&app, 200, "restored in place");
    assert_serving(&app, &expected, "restored in place");
}

#[test]
fn the_sqlite_file_swapped_for_garbage_answers_500_and_recovers_once_swapped_back() {
    let app = TestApp::builder().config(readiness_at_every_call).spawn();
    let expected = app.consulta(TRES_GERENTES).json();
    let good = checkpointed_copy(app.sqlite_file());

    replace_by_rename(app.sqlite_file(), &garbage(good.len()));
    await_status(&app, 500, "garbage renamed over the file");
    assert_store_unavailable(&app, "garbage renamed over the file");
    replace_by_rename(app.sqlite_file(), &good);
    await_status(&app, 200, "good file renamed back");
    assert_serving(&app, &expected, "good file renamed back");
}

#[test]
fn the_sqlite_file_removed_answers_500_and_recovers_once_put_back() {
    let app = TestApp::builder().config(readiness_at_every_call).spawn();
    let expected = app.consulta(TRES_GERENTES).json();
    let good = checkpointed_copy(app.sqlite_file());

    std::fs::remove_file(app.sqlite_file()).unwrap();
    await_status(&app, 500, "file removed");
    assert_store_unavailable(&app, "file removed");
    replace_by_rename(app.sqlite_file(), &good);
    await_status(&app, 200, "file put back");
    assert_serving(&app, &expected, "file put back");
}

/// The file's bytes with the WAL folded in, so that they alone hold every row.
fn checkpointed_copy(db: &std::path::Path) -> Vec<u8> {
    let connection = rusqlite::Connection::open(db).unwrap();
    connection
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    drop(connection);
    std::fs::read(db).unwrap()
}

/// Deterministic bytes that are no SQLite database.
fn garbage(length: usize) -> Vec<u8> {
    (0..length).map(|i| (i * 7 + 13) as u8).collect()
}

/// Same inode, new content: what a disk corrupting the file looks like to SQLite.
fn overwrite_in_place(db: &std::path::Path, bytes: &[u8]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(db)
        .unwrap();
    file.write_all(bytes).unwrap();
    file.sync_all().unwrap();
}

/// A new file renamed over the path: open descriptors keep reading the old one.
fn replace_by_rename(db: &std::path::Path, bytes: &[u8]) {
    let staged = db.with_extension("staged");
    std::fs::write(&staged, bytes).unwrap();
    std::fs::rename(&staged, db).unwrap();
}
