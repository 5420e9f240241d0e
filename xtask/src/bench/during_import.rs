//! `cargo xtask bench --during-import`: the service's latency on PostgreSQL before and
//! while `itau-codigo import --replace` runs on the primary, as the documented
//! deployment has it (OPERATIONS.md, "Hot standbys"): one replica serving from the
//! primary, one from a hot standby streaming its WAL. A private primary (fsync on) and
//! its standby are started for the run and deleted after it. Each replica is loaded in
//! turn by the main runs' wrk script: once before the import, then again and again
//! while the import runs (only the runs that end before its commit count as "during"),
//! then once after it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use private_postgres::{Binaries as PgBinaries, Options as PgOptions, PrivateServer};

use super::wrk::{self, Measured};
use super::{
    Binaries, Loads, Options, Report, Server, clear_itau_env, dados, import, report,
    settle_page_cache, with_answers,
};

/// When a run happened, relative to the import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Before,
    During,
    After,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Self::Before => "before",
            Self::During => "during the import",
            Self::After => "after its commit",
        }
    }
}

struct Row {
    replica: &'static str,
    phase: Phase,
    /// Seconds from the import's start to the run's start (during only).
    at: Option<f64>,
    measured: Measured,
}

impl Row {
    /// The row of a run in which every answer was right.
    fn checked(
        replica: &'static str,
        phase: Phase,
        at: Option<f64>,
        measured: Measured,
    ) -> anyhow::Result<Self> {
        ensure!(
            measured.wrong == 0 && measured.socket_errors == 0,
            "the {replica}'s replica, {}: {} wrong answers ({}), {} socket errors",
            phase.name(),
            measured.wrong,
            measured.first_wrong,
            measured.socket_errors
        );
        Ok(Self {
            replica,
            phase,
            at,
            measured,
        })
    }
}

/// Runs the measurement and returns its Markdown report.
pub(crate) fn run(
    options: &Options,
    binaries: &Binaries,
    script: &Path,
    args: &[&str],
) -> anyhow::Result<String> {
    ensure!(
        options.db.is_none(),
        "--during-import starts its own PostgreSQL primary and standby: drop --db"
    );
    let size = options.sizes.iter().copied().max().unwrap_or(1_000_000);
    let connections = options.connections[0];
    let data = dados::generate(&options.out, size)?;
    let pg = PgBinaries::find()?;
    let primary = PrivateServer::start(
        &pg,
        &options.out.join("during-import-primary"),
        &PgOptions {
            fsync: true,
            ..PgOptions::default()
        },
    )?;
    let db = primary.url("postgres");
    let first = import(&binaries.service, &data.records, &db, true)?;
    eprintln!(
        "bench --during-import: {size} accounts imported in {:.1} s",
        first.wall
    );
    let mut scratch = Report::new(options, args);
    settle_page_cache(&data, &db, &mut scratch)?;
    let standby = primary.start_standby(&options.out.join("during-import-standby"))?;
    let mut replicas = Vec::new();
    for (name, server) in [("primary", &primary), ("standby", &standby)] {
        let service = Server::start(
            format!("service on the {name}"),
            &binaries.service,
            &[
                "serve".into(),
                "--db".into(),
                server.url("postgres").into(),
                "--workers".into(),
                options.workers.to_string().into(),
            ],
            &options.server_cpu,
        )?;
        replicas.push((name, service));
    }
    let loads = Loads::new(options, size, &data.codes, script);
    let load = |server: &Server, duration: Duration| {
        loads.on(server, connections, duration, options.check)
    };
    // Every answer a 200, 404 or 400 (the mix's found, unknown and wrong-DAC accounts),
    // read from the service's own counters: wrk alone checks statuses only with --check.
    let once = |server: &Server| -> anyhow::Result<Measured> {
        let (measured, answered) = with_answers(server.port, || {
            wrk::run(&load(server, options.duration), server.pid())
        })?;
        let unexpected: Vec<_> = answered
            .iter()
            .filter(|(status, _)| ![200, 400, 404].contains(*status))
            .collect();
        ensure!(
            unexpected.is_empty(),
            "answers other than 200, 404 and 400 (status, count): {unexpected:?}"
        );
        Ok(measured)
    };
    let mut rows = Vec::new();
    for (_, server) in &replicas {
        wrk::run(&load(server, options.warmup), server.pid())?;
    }
    for (replica, server) in &replicas {
        eprintln!("bench --during-import: the {replica}'s replica, before the import");
        let measured = once(server)?;
        rows.push(Row::checked(replica, Phase::Before, None, measured)?);
    }

    let running = start_import(&binaries.service, &data.records, &db)?;
    let started = Instant::now();
    // Waited for on a thread of its own, so that its end is timed while wrk runs.
    let import = std::thread::spawn(move || {
        let output = running.wait_with_output();
        (output, started.elapsed().as_secs_f64())
    });
    let mut during = 0;
    'import: loop {
        for (replica, server) in &replicas {
            let at = started.elapsed().as_secs_f64();
            let measured = once(server)?;
            if import.is_finished() {
                // The import committed during this run: it is neither before nor during.
                break 'import;
            }
            eprintln!("bench --during-import: the {replica}'s replica, {at:.0} s into the import");
            rows.push(Row::checked(replica, Phase::During, Some(at), measured)?);
            during += 1;
        }
    }
    let (output, wall) = import
        .join()
        .map_err(|_| anyhow::anyhow!("the import's waiting thread panicked"))?;
    let output = output.context("cannot wait for itau-codigo import")?;
    ensure!(
        output.status.success(),
        "the import failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    if during < replicas.len() {
        bail!(
            "the import took {wall:.0} s, too short for a run of {} s on each replica: give a larger --accounts or a shorter --duration",
            options.duration.as_secs()
        );
    }
    for (replica, server) in &replicas {
        eprintln!("bench --during-import: the {replica}'s replica, after the import");
        let measured = once(server)?;
        rows.push(Row::checked(replica, Phase::After, None, measured)?);
    }
    drop(replicas);
    drop(standby);
    Ok(markdown(
        options,
        args,
        size,
        connections,
        first.wall,
        wall,
        &rows,
    ))
}

/// `itau-codigo import RECORDS --db DB --replace`, in the background.
fn start_import(service: &Path, records: &Path, db: &str) -> anyhow::Result<Child> {
    let mut command = Command::new(service);
    command
        .arg("import")
        .arg(records)
        .args(["--db", db, "--replace"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    clear_itau_env(&mut command);
    eprintln!(
        "bench --during-import: itau-codigo import {} --db {} --replace, in the background",
        records.display(),
        report::shown_location(db)
    );
    command.spawn().context("cannot start itau-codigo import")
}

fn markdown(
    options: &Options,
    args: &[&str],
    size: u64,
    connections: u32,
    first_import: f64,
    replace_import: f64,
    rows: &[Row],
) -> String {
    let mut text = String::new();
    text.push_str(&report::side_run_header(args));
    text.push_str(&format!(
        "Store: a private PostgreSQL primary (fsync on) holding {size} accounts (first import {first_import:.0} s) and its hot standby (`pg_basebackup -R`, streaming). One `itau-codigo serve` on each, loaded in turn with {connections} connections: {}. The `itau-codigo import --replace` of the same {size} records ran on the primary, unpinned, for {replace_import:.0} s; a run counts as during the import only when it ended before the commit.\n\n",
        report::load_setup(options),
    ));
    text.push_str("| replica | when | req/s | p50 | p99 | max |\n|---|---|---:|---:|---:|---:|\n");
    for row in rows {
        let when = match row.at {
            Some(at) => format!("{} (from {at:.0} s)", row.phase.name()),
            None => row.phase.name().to_owned(),
        };
        text.push_str(&format!(
            "| {} | {when} | {:.0} | {:.2} ms | {:.2} ms | {:.1} ms |\n",
            row.replica,
            row.measured.rate(),
            row.measured.p50_ms,
            row.measured.p99_ms,
            row.measured.max_ms,
        ));
    }
    text
}
