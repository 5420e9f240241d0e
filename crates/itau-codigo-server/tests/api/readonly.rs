//! Serving never writes (OPERATIONS.md, "The schema"): `serve` starts and answers
//! while an import holds its transaction, refuses a store of an older schema naming the
//! command that upgrades it, and `migrate` (or an import) upgrades one.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use itau_codigo::RegistroCliente;
use itau_codigo_server::store::IMPORT_LOCK;

use crate::helpers::*;
use crate::process::{ServeProcess, import_from_open_pipe, itau_codigo, run};
use crate::stores::*;

const CREDENTIALS: [(&str, &str); 2] = [
    ("ITAU_CODIGO_USERNAME", USERNAME),
    ("ITAU_CODIGO_PASSWORD", PASSWORD),
];

on_both_stores!(
    serve_answers_from_committed_data_within_a_second_while_an_import_holds_its_transaction,
    serve_refuses_an_older_store_naming_the_command_and_migrate_upgrades_it,
    an_import_upgrades_an_older_store_before_writing,
);

fn serve_answers_from_committed_data_within_a_second_while_an_import_holds_its_transaction(
    store: TestStore,
) {
    let db = TestDb::with_demo(store);
    let pending = generated_records(300, "6666");
    let pending_code = serde_json::from_str::<serde_json::Value>(pending.lines().next().unwrap())
        .unwrap()["codigo_conta"]
        .as_str()
        .unwrap()
        .to_owned();
    // An import fed from a pipe that stays open: it has begun its transaction, holds
    // the write lock, and waits for more lines.
    let mut command = itau_codigo();
    command.args(["import", "-", "--db", db.url()]);
    let (mut import, stdin) = import_from_open_pipe(command, &pending);
    await_import_lock(&db);

    let started = Instant::now();
    let serve = ServeProcess::start(&["--db", db.url()], &CREDENTIALS);
    let answer = serve.http().consulta(TRES_GERENTES);
    let took = started.elapsed();
    assert_eq!(answer.status, 200, "{answer:?}\n{}", serve.logs());
    assert!(
        took < Duration::from_secs(1),
        "serve took {took:?} to answer while an import ran"
    );
    assert_eq!(
        serve.http().consulta(&pending_code).status,
        404,
        "the import's lines are not committed yet"
    );
    assert!(
        import.try_wait().unwrap().is_none(),
        "the import still runs"
    );

    drop(stdin);
    let status = import.wait().unwrap();
    assert!(status.success(), "the import ends once its input does");
    let deadline = Instant::now() + Duration::from_secs(10);
    while serve.http().consulta(&pending_code).status != 200 {
        assert!(
            Instant::now() < deadline,
            "the committed import is not seen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (_, logs) = serve.terminate();
    assert!(!logs.contains("locked"), "{logs}");
}

/// Waits until the running import holds the store's write lock (SQLite) or import lock
/// (PostgreSQL): probing takes it for an instant when it is free.
fn await_import_lock(db: &TestDb) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let held = match db.sqlite_path() {
            Some(path) => {
                let connection = rusqlite::Connection::open(path).unwrap();
                connection.busy_timeout(Duration::ZERO).unwrap();
                let free = connection
                    .execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
                    .is_ok();
                !free
            }
            None => pg_block_on(async {
                let client = pg_connect(db.url()).await;
                let free: bool = client
                    .query_one("SELECT pg_try_advisory_lock($1)", &[&IMPORT_LOCK])
                    .await
                    .unwrap()
                    .get(0);
                if free {
                    client
                        .query_one("SELECT pg_advisory_unlock($1)", &[&IMPORT_LOCK])
                        .await
                        .unwrap();
                }
                !free
            }),
        };
        if held {
            return;
        }
        assert!(Instant::now() < deadline, "the import never took its lock");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A store holding the demo data in schema version 1 (the record's JSON in `dados`), as
/// the binary before "answers stored ready to send" left it.
fn version_1_store(store: TestStore) -> TestDb {
    let db = TestDb::empty(store);
    let rows: Vec<(i64, String)> = include_str!("../../demo/clientes.jsonl")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let registro = RegistroCliente::from_json_line(line).unwrap();
            (
                registro.codigo_conta.as_str().parse().unwrap(),
                serde_json::to_string(&registro.data).unwrap(),
            )
        })
        .collect();
    match db.sqlite_path() {
        Some(path) => {
            let connection = rusqlite::Connection::open(path).unwrap();
            connection
                .execute_batch(
                    "PRAGMA journal_mode = WAL;
                     CREATE TABLE clientes (
                         codigo_conta INTEGER PRIMARY KEY,
                         dados TEXT NOT NULL
                     ) STRICT;
                     PRAGMA user_version = 1;",
                )
                .unwrap();
            for (key, dados) in &rows {
                connection
                    .execute(
                        "INSERT INTO clientes (codigo_conta, dados) VALUES (?1, ?2)",
                        rusqlite::params![key, dados],
                    )
                    .unwrap();
            }
        }
        None => pg_block_on(async {
            let client = pg_connect(db.url()).await;
            client
                .batch_execute(
                    "CREATE TABLE itau_codigo_migrations (
                         version integer PRIMARY KEY,
                         applied_at timestamptz NOT NULL DEFAULT now()
                     );
                     INSERT INTO itau_codigo_migrations (version) VALUES (1);
                     CREATE TABLE clientes (
                         codigo_conta bigint PRIMARY KEY,
                         dados text NOT NULL
                     );",
                )
                .await
                .unwrap();
            for (key, dados) in &rows {
                client
                    .execute(
                        "INSERT INTO clientes (codigo_conta, dados) VALUES ($1, $2)",
                        &[key, dados],
                    )
                    .await
                    .unwrap();
            }
        }),
    }
    db
}

/// `serve` on `db`, which must refuse to start: its exit status and stderr.
fn serve_refusing(db: &TestDb) -> (i32, String) {
    let mut command: Command = itau_codigo();
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--db", db.url()])
        .envs(CREDENTIALS)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child: Child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve started on a store it should refuse");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code().unwrap_or(-1), stderr)
}

/// Every demo account, asked with and without selectors, answers alike from both apps.
fn assert_same_answers(app: &TestApp, reference: &TestApp) {
    for line in include_str!("../../demo/clientes.jsonl").lines() {
        let Ok(registro) = RegistroCliente::from_json_line(line) else {
            continue;
        };
        let codigo = registro.codigo_conta.to_string();
        for body in [
            format!(r#"{{"codigo_conta":"{codigo}"}}"#),
            format!(r#"{{"codigo_conta":"{codigo}","tipo_estrutura":"op"}}"#),
            format!(r#"{{"codigo_conta":"{codigo}","tipo_estrutura":"SD","segmento":"x"}}"#),
        ] {
            let (got, expected) = (
                app.post_consulta(&body, &[]),
                reference.post_consulta(&body, &[]),
            );
            assert_eq!(got.status, expected.status, "{body}");
            assert_eq!(
                String::from_utf8_lossy(&got.body),
                String::from_utf8_lossy(&expected.body),
                "{body}"
            );
        }
    }
}

fn serve_refuses_an_older_store_naming_the_command_and_migrate_upgrades_it(store: TestStore) {
    let db = version_1_store(store);
    let (status, stderr) = serve_refusing(&db);
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("schema version 1 is older than this binary's"),
        "{stderr}"
    );
    assert!(stderr.contains("itau-codigo migrate --db "), "{stderr}");
    assert_eq!(db.count_rows(), 31, "serve wrote nothing");

    let migrated = run(itau_codigo().args(["migrate", "--db", db.url()]), b"");
    assert_eq!(migrated.status, 0, "{}", migrated.stderr);
    migrated.assert_stderr_has("from schema version 1 to 3");
    let again = run(itau_codigo().args(["migrate", "--db", db.url()]), b"");
    assert_eq!(again.status, 0, "{}", again.stderr);
    again.assert_stderr_has("nothing to do");

    let reference = TestApp::builder().store(store).spawn();
    let app = TestApp::builder().db(db).spawn();
    assert_same_answers(&app, &reference);
}

fn an_import_upgrades_an_older_store_before_writing(store: TestStore) {
    let db = version_1_store(store);
    let output = run(
        itau_codigo().args(["import", "-", "--db", db.url()]),
        generated_records(3, "6666").as_bytes(),
    );
    assert_eq!(output.status, 0, "{}", output.stderr);
    assert_eq!(db.count_rows(), 34);
    let reference = TestApp::builder().store(store).spawn();
    let app = TestApp::builder().db(db).spawn();
    assert_same_answers(&app, &reference);
}

#[test]
fn migrate_refuses_a_sqlite_file_that_does_not_exist_and_creates_none() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nada.db");
    let output = run(
        itau_codigo().args(["migrate", "--db", path.to_str().unwrap()]),
        b"",
    );
    assert_eq!(output.status, 2, "{}", output.stderr);
    output.assert_stderr_has("no such file");
    assert!(!path.exists());
}
