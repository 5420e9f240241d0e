//! A PostgreSQL hot standby (streaming from a primary, as `pg_basebackup -R` makes it):
//! replicas may serve from it and see what the primary imports once it is replayed;
//! `import` and `migrate` need the primary and say so.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use private_postgres::{Options, PrivateServer};

use crate::helpers::*;
use crate::postgres::{CREDENTIALS, dedicated_server, demo_lines, record};
use crate::process::{ServeProcess, itau_codigo, run};

/// A primary holding the demo customers, and a hot standby of it.
fn primary_and_standby() -> Option<(PrivateServer, PrivateServer)> {
    let primary = dedicated_server(&Options::default())?;
    let imported = run(
        itau_codigo().args(["import", "-", "--db", &primary.url("postgres")]),
        demo_lines().as_bytes(),
    );
    assert_eq!(imported.status, 0, "{imported:?}");
    let root = std::env::temp_dir().join(format!(
        "itau-codigo-test-standby-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let standby = primary.start_standby(&root).expect("the standby starts");
    Some((primary, standby))
}

fn serve_on(server: &PrivateServer) -> ServeProcess {
    ServeProcess::start(&["--db", &server.url("postgres")], &CREDENTIALS)
}

/// Waits (30 s at most) until `http` answers `codigo` with a 200 whose body holds `marker`.
fn wait_for_answer(http: Http, codigo: &str, marker: &str) -> Duration {
    let start = Instant::now();
    loop {
        let response = http.consulta(codigo);
        if response.status == 200 && String::from_utf8_lossy(&response.body).contains(marker) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the standby never served {marker}: {} {:?}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_on_a_standby_answers_and_reports_its_replay_lag_where_a_primary_reports_none() {
    let Some((primary, standby)) = primary_and_standby() else {
        return;
    };
    let served = serve_on(&standby);
    let http = served.http();
    assert_eq!(http.consulta(TRES_GERENTES).status, 200);
    assert_eq!(http.get("/readyz").status, 200);
    let metrics = String::from_utf8(http.get("/metrics").body).unwrap();
    let lag: f64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("itau_codigo_store_replay_lag_seconds "))
        .unwrap_or_else(|| panic!("no replay lag in {metrics}"))
        .parse()
        .unwrap();
    assert!(lag >= 0.0, "{lag}");

    let on_primary = serve_on(&primary);
    let http = on_primary.http();
    assert_eq!(http.get("/readyz").status, 200);
    let metrics = String::from_utf8(http.get("/metrics").body).unwrap();
    assert!(metrics.contains("\nitau_codigo_store_up 1\n"), "{metrics}");
    assert!(!metrics.contains("replay_lag"), "{metrics}");
}

#[test]
fn an_import_on_the_primary_is_served_by_the_standby_once_replayed() {
    let Some((primary, standby)) = primary_and_standby() else {
        return;
    };
    let served = serve_on(&standby);
    let (codigo, line) = record("2024", "11", "importado-no-primario");
    assert_eq!(served.http().consulta(&codigo).status, 404);
    let imported = run(
        itau_codigo().args(["import", "-", "--db", &primary.url("postgres")]),
        line.as_bytes(),
    );
    assert_eq!(imported.status, 0, "{imported:?}");
    let after = wait_for_answer(served.http(), &codigo, "importado-no-primario");
    eprintln!("the standby served the primary's import {after:?} after its commit");
}

#[test]
fn serve_on_a_standby_keeps_answering_while_the_primary_replaces_everything() {
    let Some((primary, standby)) = primary_and_standby() else {
        return;
    };
    let served = serve_on(&standby);
    let http = served.http();
    let stop = Arc::new(AtomicBool::new(false));
    let statuses = std::thread::spawn({
        let stop = Arc::clone(&stop);
        move || {
            let mut statuses = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                statuses.push(http.consulta(TRES_GERENTES).status);
            }
            statuses
        }
    });
    let (codigo, extra) = record("2024", "12", "substituido-no-primario");
    let replaced = run(
        itau_codigo().args(["import", "-", "--replace", "--db", &primary.url("postgres")]),
        format!("{}{extra}", demo_lines()).as_bytes(),
    );
    assert_eq!(replaced.status, 0, "{replaced:?}");
    wait_for_answer(http, &codigo, "substituido-no-primario");
    stop.store(true, Ordering::Relaxed);
    let statuses = statuses.join().unwrap();
    assert!(!statuses.is_empty());
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
}

#[test]
fn import_and_migrate_on_a_standby_exit_2_saying_they_need_the_primary() {
    let Some((_primary, standby)) = primary_and_standby() else {
        return;
    };
    let url = standby.url("postgres");
    let (_, line) = record("2024", "13", "nunca");
    for (command, input) in [
        (vec!["import", "-", "--db", &url], line.as_bytes()),
        (vec!["migrate", "--db", &url], &b""[..]),
    ] {
        let output = run(itau_codigo().args(&command), input);
        assert_eq!(output.status, 2, "{command:?}: {output:?}");
        output.assert_stderr_has(
            "the database is a read-only hot standby (in recovery): import and migrate write, point --db at the primary",
        );
        assert!(!output.stderr.contains(standby.password()), "{output:?}");
    }
}
