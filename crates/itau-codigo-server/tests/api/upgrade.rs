//! Upgrades roll: the binary of the previous store format and this tree's serve one
//! store side by side, replica by replica, across `migrate`, in the order OPERATIONS.md
//! gives (the replicas first, then the schema), with no failed request.
//!
//! The previous binary comes from `cargo xtask upgrade-test` (which builds the commit
//! before the last format change and names it in `ITAU_CODIGO_TEST_PREVIOUS_BINARY`);
//! without it these tests skip, saying so.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::*;
use crate::process::{ServeProcess, itau_codigo, run};
use crate::stores::{TestDb, TestStore, on_both_stores, shout_once};

const PREVIOUS_BINARY_ENV: &str = "ITAU_CODIGO_TEST_PREVIOUS_BINARY";

const CREDENTIALS: [(&str, &str); 2] = [
    ("ITAU_CODIGO_USERNAME", USERNAME),
    ("ITAU_CODIGO_PASSWORD", PASSWORD),
];

fn previous_binary() -> Option<PathBuf> {
    let binary = std::env::var_os(PREVIOUS_BINARY_ENV).map(PathBuf::from);
    if binary.is_none() {
        shout_once(&format!(
            "upgrade tests SKIPPED: {PREVIOUS_BINARY_ENV} is not set (`cargo xtask upgrade-test` builds the previous binary and sets it)"
        ));
    }
    binary
}

fn serve(binary: Option<&PathBuf>, url: &str) -> ServeProcess {
    let command = binary.map_or_else(itau_codigo, Command::new);
    ServeProcess::start_command(command, &["--db", url, "--workers", "1"], &CREDENTIALS)
}

/// The replicas the load balancer sends to, and what they answered.
#[derive(Default)]
struct Pool {
    ports: Mutex<Vec<u16>>,
    next: AtomicUsize,
    failed: Mutex<Vec<String>>,
    answered: AtomicUsize,
}

impl Pool {
    fn add(&self, port: u16) {
        self.ports.lock().unwrap().push(port);
    }

    /// Takes `port` out (as a load balancer does with a replica that fails `/readyz`).
    fn remove(&self, port: u16) {
        self.ports.lock().unwrap().retain(|&p| p != port);
    }

    fn send_one(&self) {
        let port = {
            let ports = self.ports.lock().unwrap();
            ports[self.next.fetch_add(1, Ordering::Relaxed) % ports.len()]
        };
        let response = Http::new(port).consulta(TRES_GERENTES);
        if response.status == 200 {
            self.answered.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failed.lock().unwrap().push(format!(
                "{port}: {} {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            ));
        }
    }
}

fn the_replicas_then_the_schema_with_no_failed_request(store: TestStore) {
    let Some(previous) = previous_binary() else {
        return;
    };
    let db = TestDb::empty(store);
    let imported = run(
        Command::new(&previous).args(["import", "-", "--db", db.url()]),
        include_str!("../../demo/clientes.jsonl").as_bytes(),
    );
    assert_eq!(
        imported.status, 0,
        "the previous binary's import: {imported:?}"
    );

    // Two replicas of the previous release, under load.
    let old_a = serve(Some(&previous), db.url());
    let old_b = serve(Some(&previous), db.url());
    let pool = Arc::new(Pool::default());
    pool.add(old_a.port);
    pool.add(old_b.port);
    let stop = Arc::new(AtomicBool::new(false));
    let loaders: Vec<_> = (0..3)
        .map(|_| {
            let (pool, stop) = (Arc::clone(&pool), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    pool.send_one();
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    // 1. The replicas roll to this binary one at a time; it serves the store as it is.
    let mut new = Vec::new();
    for old in [old_a, old_b] {
        let replacement = serve(None, db.url());
        pool.add(replacement.port);
        pool.remove(old.port);
        std::thread::sleep(Duration::from_millis(200));
        let (status, logs) = old.terminate();
        assert_eq!(status, 0, "{logs}");
        new.push(replacement);
    }
    // 2. The schema, while the new replicas serve.
    let migrated = run(itau_codigo().args(["migrate", "--db", db.url()]), b"");
    assert_eq!(migrated.status, 0, "{migrated:?}");
    std::thread::sleep(Duration::from_millis(500));
    // 3. The day's import, by this binary: the store records it, the replicas show it.
    let imported = run(
        itau_codigo().args(["import", "-", "--db", db.url()]),
        include_str!("../../demo/clientes.jsonl").as_bytes(),
    );
    assert_eq!(imported.status, 0, "{imported:?}");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for loader in loaders {
        loader.join().unwrap();
    }

    let failed = pool.failed.lock().unwrap();
    assert!(
        failed.is_empty(),
        "{} requests failed: {failed:?}",
        failed.len()
    );
    assert!(
        pool.answered.load(Ordering::Relaxed) > 20,
        "the load never ran"
    );
    let metrics = String::from_utf8(new[0].http().get("/metrics").body).unwrap();
    assert!(
        metrics.contains("\nitau_codigo_store_accounts "),
        "no freshness after the migration and an import: {metrics}"
    );

    // Why the schema goes last: the previous binary refuses the migrated store.
    let refused = run(
        Command::new(&previous)
            .args(["serve", "--db", db.url(), "--bind", "127.0.0.1:0"])
            .envs(CREDENTIALS),
        b"",
    );
    assert_eq!(refused.status, 2, "{refused:?}");
    refused.assert_stderr_has("upgrade itau-codigo");
}

on_both_stores!(the_replicas_then_the_schema_with_no_failed_request);
