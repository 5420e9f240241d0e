//! Processes ending badly: SIGTERM while requests are in flight, an import killed midway.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::process::{ServeProcess, import_from_open_pipe, itau_codigo, run};

/// What one request of the load got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// A complete 200 with the customer.
    Answered,
    /// The connection was refused or reset before a single byte came back: the service
    /// had stopped accepting (or never accepted it from the backlog).
    NotAccepted,
    /// Anything else: another status, or a response cut short. Must never happen.
    Broken,
}

/// A consulta on a connection that closes after the answer.
fn consulta_request() -> Vec<u8> {
    let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    let (user, password) = (
        format!("userName: {USERNAME}"),
        format!("password: {PASSWORD}"),
    );
    let headers = [user.as_str(), &password, "Content-Type: application/json"];
    http_request("POST", PATH, &headers, body.as_bytes())
}

fn one_request(http: Http) -> Outcome {
    let Ok(mut stream) = http.try_connect() else {
        return Outcome::NotAccepted;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    if stream.write_all(&consulta_request()).is_err() {
        return Outcome::NotAccepted;
    }
    let mut bytes = Vec::new();
    match stream.read_to_end(&mut bytes) {
        Err(error) if bytes.is_empty() && error.kind() == ErrorKind::ConnectionReset => {
            Outcome::NotAccepted
        }
        Ok(_) if bytes.is_empty() => Outcome::NotAccepted,
        Err(_) => Outcome::Broken,
        Ok(_) => complete_200(&bytes),
    }
}

fn complete_200(bytes: &[u8]) -> Outcome {
    if !bytes.windows(4).any(|w| w == b"\r\n\r\n") {
        return Outcome::Broken;
    }
    let response = parse_response(bytes);
    let complete = response
        .header("content-length")
        .and_then(|l| l.parse::<usize>().ok())
        .is_some_and(|l| l == response.body.len());
    if response.status == 200 && complete {
        Outcome::Answered
    } else {
        Outcome::Broken
    }
}

#[test]
fn sigterm_under_load_answers_every_request_in_flight_and_exits_0() {
    const IN_FLIGHT: usize = 32;
    const LOADERS: usize = 4;
    let (_dir, db) = demo_db();
    let server = ServeProcess::start(
        &[
            "--db",
            db.to_str().unwrap(),
            "--workers",
            "2",
            "--shutdown-timeout",
            "15",
            "--client-timeout",
            "15",
        ],
        &[
            ("ITAU_CODIGO_USERNAME", USERNAME),
            ("ITAU_CODIGO_PASSWORD", PASSWORD),
        ],
    );
    let http = server.http();

    // Requests certainly in flight: head and most of the body sent, the rest held back.
    let request = consulta_request();
    let (first, rest) = request.split_at(request.len() - 5);
    let mut in_flight: Vec<TcpStream> = (0..IN_FLIGHT)
        .map(|_| {
            let mut stream = http.connect();
            stream.write_all(first).unwrap();
            stream
        })
        .collect();
    // And a load of complete requests that goes on across the signal.
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let loaders: Vec<_> = (0..LOADERS)
        .map(|_| {
            let (stop, outcomes) = (Arc::clone(&stop), Arc::clone(&outcomes));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let outcome = one_request(http);
                    outcomes.lock().unwrap().push((Instant::now(), outcome));
                    if outcome == Outcome::NotAccepted {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    server.signal_term();
    std::thread::sleep(Duration::from_millis(300));

    for stream in &mut in_flight {
        stream.write_all(rest).unwrap();
    }
    let answered_in_flight: Vec<Outcome> = in_flight
        .iter_mut()
        .map(|stream| {
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let mut bytes = Vec::new();
            let _ = stream.read_to_end(&mut bytes);
            complete_200(&bytes)
        })
        .collect();
    let mut server = server;
    let (status, logs) = server.wait();
    stop.store(true, Ordering::SeqCst);
    for loader in loaders {
        loader.join().unwrap();
    }

    assert_eq!(
        answered_in_flight,
        vec![Outcome::Answered; IN_FLIGHT],
        "{logs}"
    );
    assert_eq!(status, 0, "{logs}");
    let outcomes = outcomes.lock().unwrap();
    let count = |wanted: Outcome| outcomes.iter().filter(|(_, o)| *o == wanted).count();
    let before_signal = outcomes
        .iter()
        .filter(|(at, o)| *at < signalled && *o == Outcome::Answered)
        .count();
    assert!(before_signal > 0, "the load never ran: {outcomes:?}");
    assert_eq!(count(Outcome::Broken), 0, "{outcomes:?}");
    eprintln!(
        "load across SIGTERM: {} answered, {} not accepted, {} in flight all answered",
        count(Outcome::Answered),
        count(Outcome::NotAccepted),
        IN_FLIGHT
    );
}

fn count_rows(db: &std::path::Path) -> i64 {
    let connection = rusqlite::Connection::open(db).unwrap();
    connection
        .query_row("SELECT count(*) FROM clientes", [], |row| row.get(0))
        .unwrap()
}

fn stored(db: &std::path::Path, codigo: i64) -> Vec<u8> {
    let connection = rusqlite::Connection::open(db).unwrap();
    connection
        .query_row(
            "SELECT resposta FROM clientes WHERE codigo_conta = ?1",
            [codigo],
            |row| row.get(0),
        )
        .unwrap()
}

/// Whether another connection holds the write lock of the store at `db` (an import's
/// transaction is open): taking it without waiting fails.
fn write_lock_is_held(db: &std::path::Path) -> bool {
    let connection = rusqlite::Connection::open(db).unwrap();
    connection.busy_timeout(Duration::ZERO).unwrap();
    match connection.execute_batch("BEGIN IMMEDIATE; ROLLBACK;") {
        Ok(()) => false,
        Err(rusqlite::Error::SqliteFailure(error, _)) => {
            assert_eq!(error.code, rusqlite::ErrorCode::DatabaseBusy, "{error}");
            true
        }
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn an_import_killed_midway_leaves_the_previous_data_intact() {
    let (_dir, db) = demo_db();
    let known = TRES_GERENTES.parse::<i64>().unwrap();
    let (rows_before, record_before) = (count_rows(&db), stored(&db, known));

    // --replace: the worst case, deleting everything first inside the transaction.
    let mut command = itau_codigo();
    command.args(["import", "-", "--replace", "--db", db.to_str().unwrap()]);
    let (mut import, stdin) = import_from_open_pipe(command, &generated_records(14_000, "8888"));
    // Midway: the records are written into a pipe that holds 64 KiB, so once they are
    // all in, the import has read them, and it reads only after `--replace` deleted
    // every row inside its open transaction; it waits for more input. Its write lock
    // confirms the transaction is open.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !write_lock_is_held(&db) {
        assert!(
            Instant::now() < deadline,
            "the import never opened its transaction"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    import.kill().unwrap();
    import.wait().unwrap();
    drop(stdin);

    assert_eq!(count_rows(&db), rows_before);
    assert_eq!(stored(&db, known), record_before);
    let connection = rusqlite::Connection::open(&db).unwrap();
    let integrity: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(connection);
    // The lock died with the process: the next import goes through.
    let output = run(
        itau_codigo().args(["import", "-", "--db", db.to_str().unwrap()]),
        generated_records(2, "8888").as_bytes(),
    );
    assert_eq!(output.status, 0, "{output:?}");
    assert_eq!(count_rows(&db), rows_before + 2);
}

/// A new store's first import builds it as `PATH.importing`, through a rollback
/// journal that copies none of the new pages (a WAL would hold every page a second time
/// until its checkpoint), and renames it into place once committed and turned to WAL:
/// no one can open the store before it is complete, and later imports never keep a
/// serving reader waiting.
#[test]
fn a_new_store_appears_only_complete_built_without_a_wal_and_left_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let building = dir.path().join("new.db.importing");
    let mut command = itau_codigo();
    command.args(["import", "-", "--db", db.to_str().unwrap()]);
    let (import, stdin) = import_from_open_pipe(command, &generated_records(50, "7777"));
    // Its schema is committed, and the import waits for the rest of its input.
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&building).map_or(0, |m| m.len()) == 0 {
        assert!(Instant::now() < deadline, "the import built nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    let journal_mode = |path: &std::path::Path| -> String {
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap()
    };
    assert!(!db.exists(), "the store is there before its import ends");
    assert_eq!(journal_mode(&building), "delete");
    assert!(!dir.path().join("new.db.importing-wal").exists());
    drop(stdin);
    let output = import.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");

    assert_eq!(count_rows(&db), 50);
    assert_eq!(journal_mode(&db), "wal");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.contains("importing"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Waits (30 s at most) until `path` exists.
fn wait_until_exists(path: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A first import killed midway (an OOM-killed job, a drained node) leaves
/// `PATH.importing` behind; the next one, finding no running import holding the lock,
/// removes it and its side files (a stale journal must never be applied to a new file)
/// and builds the store.
#[test]
fn a_first_import_killed_midway_is_cleared_away_by_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let building = dir.path().join("new.db.importing");
    let mut command = itau_codigo();
    command.args(["import", "-", "--db", db.to_str().unwrap()]);
    let (mut killed, stdin) = import_from_open_pipe(command, &generated_records(500, "7777"));
    wait_until_exists(&building);
    killed.kill().unwrap();
    killed.wait().unwrap();
    drop(stdin);
    assert!(building.exists());
    let stale_journal = dir.path().join("new.db.importing-journal");
    std::fs::write(&stale_journal, b"not a journal of the next file").unwrap();

    let output = run(
        itau_codigo().args(["import", "-", "--db", db.to_str().unwrap()]),
        generated_records(2, "7777").as_bytes(),
    );
    assert_eq!(output.status, 0, "{output:?}");
    output.assert_stderr_has(&format!(
        "removed {} (and its side files), left by a first import that was stopped",
        building.display()
    ));
    assert_eq!(count_rows(&db), 2);
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.contains("importing"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_second_first_import_refuses_while_the_first_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let mut command = itau_codigo();
    command.args(["import", "-", "--db", db.to_str().unwrap()]);
    let (first, stdin) = import_from_open_pipe(command, &generated_records(3, "7777"));
    wait_until_exists(&dir.path().join("new.db.importing"));

    let second = run(
        itau_codigo().args(["import", "-", "--db", db.to_str().unwrap()]),
        generated_records(2, "8888").as_bytes(),
    );
    assert_eq!(second.status, 2, "{second:?}");
    second.assert_stderr_has(&format!(
        "another first import into this store is running (it holds {})",
        dir.path().join("new.db.importing.lock").display()
    ));

    drop(stdin);
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{first:?}");
    assert_eq!(count_rows(&db), 3);
}

fn serve_draining_for(seconds: &str) -> (tempfile::TempDir, ServeProcess) {
    let (dir, db) = demo_db();
    let server = ServeProcess::start(
        &["--db", db.to_str().unwrap(), "--workers", "1"],
        &[
            ("ITAU_CODIGO_USERNAME", USERNAME),
            ("ITAU_CODIGO_PASSWORD", PASSWORD),
            ("ITAU_CODIGO_DRAIN_PERIOD", seconds),
        ],
    );
    (dir, server)
}

#[test]
fn sigterm_fails_readiness_at_once_and_answers_with_connection_close_until_the_drain_ends() {
    let (_dir, mut server) = serve_draining_for("2");
    let http = server.http();
    let mut kept = http.connect();
    kept.write_all(&keep_alive_consulta()).unwrap();
    let before = read_one_response(&mut kept).unwrap();
    assert_eq!((before.status, before.header("connection")), (200, None));

    let signalled = Instant::now();
    server.signal_term();
    let readyz = loop {
        let readyz = http.get("/readyz");
        if readyz.status != 200 || signalled.elapsed() > Duration::from_secs(1) {
            break readyz;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(
        (
            readyz.status,
            String::from_utf8_lossy(&readyz.body).as_ref()
        ),
        (503, "draining\n")
    );
    assert!(signalled.elapsed() < Duration::from_millis(500));
    // The connection opened before the signal is still answered, and then closed.
    kept.write_all(&keep_alive_consulta()).unwrap();
    let during = read_one_response(&mut kept).unwrap();
    assert_eq!(
        (during.status, during.header("connection")),
        (200, Some("close"))
    );
    assert_eq!(kept.read(&mut [0; 1]).unwrap(), 0, "still open");
    // So is a new one, with the same close.
    let mut fresh = http.connect();
    fresh.write_all(&keep_alive_consulta()).unwrap();
    let fresh = read_one_response(&mut fresh).unwrap();
    assert_eq!(
        (fresh.status, fresh.header("connection")),
        (200, Some("close"))
    );
    assert_eq!(http.get("/healthz").status, 200);

    let (status, logs) = server.wait();
    let stopped_after = signalled.elapsed();
    assert_eq!(status, 0, "{logs}");
    assert!(
        stopped_after >= Duration::from_secs(2) && stopped_after < Duration::from_secs(6),
        "stopped {stopped_after:?} after SIGTERM with a 2 s drain"
    );
    assert!(logs.contains("SIGTERM: draining"), "{logs}");
}

#[test]
fn sigint_stops_without_the_drain() {
    let (_dir, mut server) = serve_draining_for("30");
    assert_eq!(server.http().get("/readyz").status, 200);
    let signalled = Instant::now();
    server.signal("INT");
    let (status, logs) = server.wait();
    assert_eq!(status, 0, "{logs}");
    assert!(signalled.elapsed() < Duration::from_secs(5), "{logs}");
    assert!(!logs.contains("draining"), "{logs}");
}

#[test]
fn a_second_sigterm_cuts_the_drain_short() {
    let (_dir, mut server) = serve_draining_for("30");
    let signalled = Instant::now();
    server.signal_term();
    let readyz = (0..100)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(10));
            server.http().get("/readyz").status
        })
        .find(|&status| status == 503);
    assert_eq!(readyz, Some(503));
    server.signal_term();
    let (status, logs) = server.wait();
    assert_eq!(status, 0, "{logs}");
    assert!(signalled.elapsed() < Duration::from_secs(6), "{logs}");
}
