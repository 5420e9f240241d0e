//! The database password from a libpq passfile (`?passfile=PATH`), read for every new
//! connection: rotating it needs no restart.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use private_postgres::Options;

use crate::helpers::*;
use crate::postgres::{CREDENTIALS, dedicated_server, demo_lines};
use crate::process::{ServeProcess, itau_codigo, run};
use crate::stores::pg_execute;

/// Writes `text` to `path` whole (a new file renamed over the old one), mode `mode`.
fn write_passfile(path: &Path, text: &str, mode: u32) {
    let next = path.with_extension("next");
    std::fs::write(&next, text).unwrap();
    std::fs::set_permissions(&next, std::fs::Permissions::from_mode(mode)).unwrap();
    std::fs::rename(&next, path).unwrap();
}

#[test]
fn a_rotated_database_password_is_read_from_the_passfile_without_a_restart() {
    let Some(server) = dedicated_server(&Options::default()) else {
        return;
    };
    let admin = server.url("postgres");
    pg_execute(
        &admin,
        "CREATE ROLE itau LOGIN PASSWORD 'senha-antiga-do-banco'",
    );
    pg_execute(&admin, "CREATE DATABASE itau OWNER itau");
    let port = server.port();
    let dir = tempfile::tempdir().unwrap();
    let passfile = dir.path().join("pgpass");
    write_passfile(
        &passfile,
        &format!(
            "# the service's database password\n127.0.0.1:{port}:itau:itau:senha-antiga-do-banco\n"
        ),
        0o600,
    );
    let url = format!(
        "postgres://itau@127.0.0.1:{port}/itau?passfile={}",
        passfile.display()
    );
    let imported = run(
        itau_codigo().args(["import", "-", "--db", &url]),
        demo_lines().as_bytes(),
    );
    assert_eq!(imported.status, 0, "{imported:?}");
    let served = ServeProcess::start(&["--db", &url, "--workers", "2"], &CREDENTIALS);
    let http = served.http();

    let stop = Arc::new(AtomicBool::new(false));
    let loaders: Vec<_> = (0..3)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    statuses.push(http.consulta(TRES_GERENTES).status);
                }
                statuses
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // The rotation: the role's password, then the file, then every connection of the
    // old password ended, so that the pool must authenticate anew.
    pg_execute(&admin, "ALTER ROLE itau PASSWORD 'senha-nova-do-banco'");
    write_passfile(
        &passfile,
        &format!("127.0.0.1:{port}:itau:itau:senha-nova-do-banco\n"),
        0o600,
    );
    pg_execute(
        &admin,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'itau'",
    );
    std::thread::sleep(Duration::from_millis(1_500));
    stop.store(true, Ordering::Relaxed);
    let statuses: Vec<u16> = loaders
        .into_iter()
        .flat_map(|loader| loader.join().unwrap())
        .collect();
    assert!(statuses.len() > 10, "the load never ran: {statuses:?}");
    let failed: Vec<u16> = statuses.iter().copied().filter(|&s| s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed ({failed:?}):\n{}",
        failed.len(),
        statuses.len(),
        served.logs()
    );
    // Connections made after the rotation authenticated with the new password.
    assert_eq!(http.get("/readyz").status, 200);
    assert!(!served.logs().contains("senha-"), "a password was logged");
}

#[test]
fn a_passfile_open_to_others_is_refused_at_start_naming_its_mode() {
    let Some(server) = dedicated_server(&Options::default()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let passfile = dir.path().join("pgpass");
    write_passfile(
        &passfile,
        &format!("*:*:*:*:{}\n", server.password()),
        0o644,
    );
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/postgres?passfile={}",
        server.port(),
        passfile.display()
    );
    let output = run(itau_codigo().args(["migrate", "--db", &url]), b"");
    assert_eq!(output.status, 2, "{output:?}");
    output.assert_stderr_has(&format!(
        "the passfile {} may be read by others (mode 0644): run `chmod 600` on it",
        passfile.display()
    ));
    assert!(!output.stderr.contains(server.password()));
}
