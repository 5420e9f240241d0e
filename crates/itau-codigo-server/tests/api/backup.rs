//! Backup and restore as OPERATIONS.md ("Backup and restore") writes them: its shell
//! blocks are read from the document and run as they stand, the backup while the
//! service answers a steady stream of requests, the restore into a new place, from
//! which a new replica must answer exactly what the first one did.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::helpers::*;
use crate::process::ServeProcess;
use crate::stores::{PgDatabase, TestDb, TestStore, admin_url, on_both_stores};

/// The ```sh block of OPERATIONS.md whose first line is `first_line`.
fn runbook(first_line: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../OPERATIONS.md");
    let text = std::fs::read_to_string(path).unwrap();
    let start = format!("```sh\n{first_line}\n");
    let at = text
        .find(&start)
        .unwrap_or_else(|| panic!("OPERATIONS.md has no ```sh block starting {first_line:?}"));
    let block = &text[at + "```sh\n".len()..];
    block[..block.find("```\n").unwrap()].to_owned()
}

/// Runs a runbook block with `sh -e`, with `env` as its variables.
fn run_block(block: &str, env: &[(&str, &str)]) {
    let output = Command::new("sh")
        .arg("-ec")
        .arg(block)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{block}\nexited {}: {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn serve(url: &str) -> ServeProcess {
    ServeProcess::start(
        &["--db", url],
        &[
            ("ITAU_CODIGO_USERNAME", USERNAME),
            ("ITAU_CODIGO_PASSWORD", PASSWORD),
        ],
    )
}

/// Every demo account's answer, correlation IDs aside.
fn answers(http: Http) -> Vec<(u16, Value)> {
    include_str!("../../demo/clientes.jsonl")
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            let response = http.consulta(record["codigo_conta"].as_str().unwrap());
            (response.status, redacted(response.json()))
        })
        .collect()
}

fn backup_while_serving_then_restore_elsewhere_answers_the_same(store: TestStore) {
    let live = TestDb::with_demo(store);
    let folder = tempfile::tempdir().unwrap();
    let backup = folder.path().join("itau-codigo-backup");
    let backup = backup.to_str().unwrap();
    let served = serve(live.url());
    let before = answers(served.http());

    let stop = Arc::new(AtomicBool::new(false));
    let http = served.http();
    let stopped = Arc::clone(&stop);
    let load = std::thread::spawn(move || {
        let mut statuses = Vec::new();
        while !stopped.load(Ordering::Relaxed) {
            statuses.push(http.consulta(TRES_GERENTES).status);
        }
        statuses
    });
    let restored_db;
    let restored = match store {
        TestStore::Sqlite => {
            let path = live.sqlite_path().unwrap().to_str().unwrap();
            run_block(
                &runbook("# SQLite backup, while the service serves"),
                &[("STORE", path), ("BACKUP", backup)],
            );
            let mode = std::fs::metadata(backup).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the backup is personal data");
            let elsewhere = folder.path().join("restored");
            std::fs::create_dir(&elsewhere).unwrap();
            let path = elsewhere.join("itau-codigo.db");
            run_block(
                &runbook("# SQLite restore: beside the store, then renamed over it"),
                &[("STORE", path.to_str().unwrap()), ("BACKUP", backup)],
            );
            format!("sqlite:{}", path.display())
        }
        TestStore::Postgres => {
            run_block(
                &runbook("# PostgreSQL backup, while the service serves"),
                &[("DB", live.url()), ("BACKUP", backup)],
            );
            restored_db = PgDatabase::create(&admin_url());
            run_block(
                &runbook("# PostgreSQL restore, into a new empty database"),
                &[("DB", &restored_db.url), ("BACKUP", backup)],
            );
            restored_db.url.clone()
        }
    };
    stop.store(true, Ordering::Relaxed);
    let statuses = load.join().unwrap();
    assert!(!statuses.is_empty());
    assert!(
        statuses.iter().all(|&status| status == 200),
        "a request failed during the backup: {statuses:?}"
    );

    let from_backup = serve(&restored);
    assert_eq!(answers(from_backup.http()), before);
    for process in [served, from_backup] {
        let (status, logs) = process.terminate();
        assert_eq!(status, 0, "{logs}");
    }
}

on_both_stores!(backup_while_serving_then_restore_elsewhere_answers_the_same);
