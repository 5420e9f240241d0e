//! `cargo xtask bench`: the service side by side with an actix-web ceiling, at three
//! store sizes, and the import of each store. See BENCHMARKS.md for how to read it.
//!
//! One run: build the two binaries, then for each store size generate the records,
//! import them (timed), start the ceiling and the service pinned to one core, warm
//! both up, and for each connection count load the ceiling and then the service with
//! the same wrk script pinned to another core. Side by side, because this machine's
//! noise moves absolute figures by tens of percent between minutes.

mod chart;
mod dados;
mod during_import;
mod limits;
mod procfs;
mod report;
mod results;
mod targets;
mod tracing;
mod wrk;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde::{Deserialize, Serialize};

pub(crate) use report::Report;

pub(crate) const HELP: &str = "  bench [--smoke] [OPTIONS]
                      build release binaries, then measure the service against an actix-web
                      ceiling with wrk at several store sizes, and the import; prints a
                      Markdown report (also written to OUT/report.md) and writes the
                      figures to benchmarks/<store>.json with SVG charts beside them
                      (benchmarks/<store>-{reqs,p99,import}.svg). Options:
      --tracing           instead: the cost of traces, the service with export off, with
                          every request recorded and with the default sampler, side by
                          side against local OTLP receivers [1000 accounts, 64
                          connections]; prints the report (also OUT/tracing-report.md)
      --during-import     instead: the latency on PostgreSQL before and during an
                          `import --replace` on the primary, of a replica on the primary
                          and of one on a hot standby, both private and started for the
                          run [1000000 accounts, 64 connections]; prints the report
                          (also OUT/during-import-report.md)
      --smoke             a few seconds on a small store with every status checked (CI);
                          debug binaries unless --release; the JSON and charts go to
                          OUT/charts, not into the repository
      --charts            measure nothing: redraw the charts from benchmarks/*.json
      --accounts N,N,..   store sizes [1000,100000,1000000; smoke: 1000]; e.g.
                          --accounts 10000000, not in the default run (BENCHMARKS.md
                          says its time and disk); --sizes is the same option
      --connections N,..  wrk connections [16,64,256; smoke: 16]
      --duration SECS     each measured run [5; smoke: 2]
      --rounds N          runs of each server per connection count, interleaved; the
                          report keeps the fastest [3; smoke: 1]
      --warmup SECS       per server and store size [2; smoke: 1]
      --workers N         actix workers of both servers [1]
      --server-cpu LIST   taskset CPU list of the servers [0]
      --client-cpu LIST   taskset CPU list of wrk [1]
      --db URL            the service's store for every size (imported with --replace),
                          e.g. postgres://...; default: a new SQLite file per size in OUT
      --variant NAME:ARGS another service beside the first, started with the extra
                          `serve` arguments ARGS (split at spaces) on the same store and
                          measured in the same interleaved rounds, e.g.
                          --variant 'mmap:--sqlite-mmap true'; repeatable. The report
                          adds a side-by-side table (CPU per request against the
                          service's, memory anonymous and file-backed); the figures go
                          to benchmarks/<store>-variants.json, not <store>.json
      --engine NAME       an embedded engine beside the service: `engine-serve`
                          (crates/bench-engines, built in the same profile) serving
                          the same application over NAME's copy of the store (lmdb,
                          redb or in-memory; built beside the SQLite file, kept; not
                          with --db), as the variant `engine (NAME)` in the same
                          rounds; repeatable
      --baseline PATH     another itau-codigo binary (e.g. one built at the commit
                          before a change) served beside the service as the variant
                          `baseline`, on the same store and in the same rounds
      --check             check every status in measured runs too (costs wrk CPU)
      --release           with --smoke, build release binaries
      --out DIR           data, stores and reports [$CARGO_TARGET_DIR/bench or target/bench]
";

const PATH: &str = "/apiaccess/rest/ccmessaging/v1/itau/codigo";
const USERNAME: &str = "bench";
const PASSWORD: &str = "bench-s3nh4-longa";

/// Which store the service answered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Store {
    Sqlite,
    Postgresql,
}

impl Store {
    /// From `--db`: none (a new SQLite file per size), a PostgreSQL URL, or SQLite.
    pub(crate) fn of(db: Option<&str>) -> Self {
        match db {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Self::Postgresql
            }
            _ => Self::Sqlite,
        }
    }

    /// The stem of its files: `sqlite`, `postgresql`.
    pub(crate) fn stem(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgresql => "postgresql",
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgresql => "PostgreSQL",
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) smoke: bool,
    pub(crate) tracing: bool,
    pub(crate) during_import: bool,
    pub(crate) sizes: Vec<u64>,
    pub(crate) connections: Vec<u32>,
    pub(crate) duration: Duration,
    pub(crate) rounds: u32,
    pub(crate) warmup: Duration,
    pub(crate) workers: u32,
    pub(crate) server_cpu: String,
    pub(crate) client_cpu: String,
    pub(crate) db: Option<String>,
    pub(crate) variants: Vec<Variant>,
    pub(crate) check: bool,
    pub(crate) release: bool,
    pub(crate) out: PathBuf,
}

impl Options {
    pub(crate) fn parse(args: &[&str], root: &Path) -> anyhow::Result<Self> {
        let smoke = args.contains(&"--smoke");
        let tracing = args.contains(&"--tracing");
        let during_import = args.contains(&"--during-import");
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        let mut options = Self {
            smoke,
            tracing,
            during_import,
            sizes: if smoke || tracing {
                vec![1000]
            } else if during_import {
                vec![1_000_000]
            } else {
                vec![1000, 100_000, 1_000_000]
            },
            connections: match (smoke, tracing || during_import) {
                (true, _) => vec![16],
                (false, true) => vec![64],
                (false, false) => vec![16, 64, 256],
            },
            duration: Duration::from_secs(if smoke { 2 } else { 5 }),
            rounds: if smoke { 1 } else { 3 },
            warmup: Duration::from_secs(if smoke { 1 } else { 2 }),
            workers: 1,
            server_cpu: "0".into(),
            client_cpu: "1".into(),
            db: None,
            variants: Vec::new(),
            check: smoke,
            release: !smoke,
            out: target.join("bench"),
        };
        let mut rest = args.iter();
        while let Some(&flag) = rest.next() {
            let mut value = || {
                rest.next()
                    .copied()
                    .with_context(|| format!("{flag} needs a value"))
            };
            match flag {
                "--smoke" | "--tracing" | "--during-import" => {}
                "--check" => options.check = true,
                "--release" => options.release = true,
                "--accounts" | "--sizes" => options.sizes = list(value()?)?,
                "--connections" => options.connections = list(value()?)?,
                "--duration" => options.duration = Duration::from_secs(value()?.parse()?),
                "--rounds" => options.rounds = value()?.parse()?,
                "--warmup" => options.warmup = Duration::from_secs(value()?.parse()?),
                "--workers" => options.workers = value()?.parse()?,
                "--server-cpu" => options.server_cpu = value()?.into(),
                "--client-cpu" => options.client_cpu = value()?.into(),
                "--db" => options.db = Some(value()?.into()),
                "--variant" => options.add(Variant::parse(value()?)?)?,
                "--engine" => options.add(Variant::engine(value()?)?)?,
                "--baseline" => options.add(Variant {
                    name: "baseline".into(),
                    args: Vec::new(),
                    program: Program::Build(value()?.into()),
                })?,
                "--out" => options.out = value()?.into(),
                other => bail!("unknown bench option {other}"),
            }
        }
        ensure!(!options.sizes.is_empty(), "--accounts is empty");
        ensure!(!options.connections.is_empty(), "--connections is empty");
        ensure!(options.workers >= 1, "--workers must be at least 1");
        ensure!(options.rounds >= 1, "--rounds must be at least 1");
        ensure!(
            options.db.is_none() || !options.engines(),
            "--engine copies the run's SQLite store: drop --db"
        );
        Ok(options)
    }

    /// Adds a server beside the service, refusing two of the same name.
    fn add(&mut self, variant: Variant) -> anyhow::Result<()> {
        ensure!(
            self.variants.iter().all(|v| v.server() != variant.server()),
            "two variants named {}",
            variant.server()
        );
        self.variants.push(variant);
        Ok(())
    }

    /// Whether a variant serves another engine, so that `engine-serve` must be built.
    fn engines(&self) -> bool {
        self.variants.iter().any(|v| v.program == Program::Engine)
    }
}

/// A server measured beside the plain service on its store: the service with other
/// `serve` arguments, another build of it, or the application over another engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variant {
    /// Short, for the report: the server is called `service (NAME)` or `engine (NAME)`.
    pub(crate) name: String,
    /// Added to `--db DB --workers N`.
    pub(crate) args: Vec<String>,
    /// What runs.
    pub(crate) program: Program,
}

/// The program a [`Variant`] runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Program {
    /// `itau-codigo serve`, built for the run (`--variant`).
    Service,
    /// `serve` of another `itau-codigo` than the one built (`--baseline`).
    Build(PathBuf),
    /// `engine-serve` of `crates/bench-engines` (`--engine`): the application over
    /// another engine's copy of the store.
    Engine,
}

/// The engines `engine-serve` serves.
const ENGINES: [&str; 3] = ["lmdb", "redb", "in-memory"];

impl Variant {
    /// `NAME:ARGS`, e.g. `mmap:--sqlite-mmap true`.
    fn parse(value: &str) -> anyhow::Result<Self> {
        let (name, args) = value
            .split_once(':')
            .with_context(|| format!("--variant takes NAME:ARGS, found {value:?}"))?;
        let name = name.trim();
        ensure!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "a variant's name is letters, digits and dashes, found {name:?}"
        );
        let args: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
        ensure!(!args.is_empty(), "the variant {name} adds no argument");
        Ok(Self {
            name: name.to_owned(),
            args,
            program: Program::Service,
        })
    }

    /// `--engine NAME`: `engine-serve --engine NAME`.
    fn engine(name: &str) -> anyhow::Result<Self> {
        ensure!(
            ENGINES.contains(&name),
            "--engine takes one of {}, found {name:?}",
            ENGINES.join(", ")
        );
        Ok(Self {
            name: name.to_owned(),
            args: vec!["--engine".into(), name.to_owned()],
            program: Program::Engine,
        })
    }

    /// The server's name in the report and the figures.
    pub(crate) fn server(&self) -> String {
        match self.program {
            Program::Service | Program::Build(_) => format!("service ({})", self.name),
            Program::Engine => format!("engine ({})", self.name),
        }
    }

    /// The program and the arguments that come before `--db`.
    fn command<'a>(
        &'a self,
        binaries: &'a Binaries,
    ) -> anyhow::Result<(&'a Path, &'static [&'static str])> {
        Ok(match &self.program {
            Program::Service => (&binaries.service, &["serve"]),
            Program::Build(binary) => (binary, &["serve"]),
            Program::Engine => (
                binaries
                    .engine
                    .as_deref()
                    .context("engine-serve was not built")?,
                &[],
            ),
        })
    }
}

fn list<T: std::str::FromStr>(value: &str) -> anyhow::Result<Vec<T>>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    value
        .split(',')
        .map(|item| {
            item.trim()
                .replace('_', "")
                .parse()
                .with_context(|| format!("bad number {item:?}"))
        })
        .collect()
}

/// Runs the benchmark; fails when a request of the mix got the wrong status.
pub(crate) fn run(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    if args == ["--charts"] {
        return results::redraw(&root.join(results::DIR));
    }
    let options = Options::parse(args, root)?;
    wrk::ensure_installed()?;
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("cannot create {}", options.out.display()))?;
    let binaries = build(root, options.release, options.engines())?;
    let script = options.out.join("mix.lua");
    std::fs::write(&script, wrk::MIX_LUA)?;
    if options.tracing {
        ensure!(
            options.db.is_none(),
            "--tracing measures on SQLite: drop --db"
        );
        let text = tracing::run(&options, &binaries, &script, args)?;
        print!("{text}");
        let path = options.out.join("tracing-report.md");
        std::fs::write(&path, &text)?;
        eprintln!("bench: report written to {}", path.display());
        return Ok(());
    }
    if options.during_import {
        let text = during_import::run(&options, &binaries, &script, args)?;
        print!("{text}");
        let path = options.out.join("during-import-report.md");
        std::fs::write(&path, &text)?;
        eprintln!("bench: report written to {}", path.display());
        return Ok(());
    }
    let mut report = Report::new(&options, args);
    // The disk's write rate, once per run: the yardstick of every import below.
    let mib = if options.smoke { 16 } else { 1024 };
    eprintln!("bench: {}", limits::disk_write_command(mib));
    match limits::disk_write(&options.out, mib) {
        Ok(write) => report.disk_write(mib, write),
        // A file system without direct I/O (tmpfs) has no disk to state.
        Err(error) => report.note(format!(
            "The disk's write rate was not measured (`{}`): {error:#}.",
            limits::disk_write_command(mib)
        )),
    }
    let mut failed = None;
    for &size in &options.sizes {
        if let Err(error) = measure_store(&options, &binaries, &script, size, &mut report) {
            // What was measured before the failure is still worth printing.
            failed = Some(error.context(format!("measuring the store of {size} accounts")));
            break;
        }
    }
    report.finish();
    let failures = report.failures();
    // Only a run that finished with every answer right replaces the committed figures.
    let charts = if failed.is_none() && failures.is_empty() {
        let (dir, committed) = if options.smoke {
            (options.out.join("charts"), false)
        } else {
            (root.join(results::DIR), true)
        };
        let charts = results::write(&dir, &report.results())?;
        eprintln!(
            "bench: figures and charts written to {}/{}*",
            dir.display(),
            results::stem(report.store(), !options.variants.is_empty())
        );
        if committed { charts } else { Vec::new() }
    } else {
        Vec::new()
    };
    let text = report.markdown(&charts);
    print!("{text}");
    let path = options.out.join("report.md");
    std::fs::write(&path, &text)?;
    eprintln!("bench: report written to {}", path.display());
    if let Some(error) = failed {
        return Err(error);
    }
    ensure!(
        failures.is_empty(),
        "the service answered wrongly:\n  {}",
        failures.join("\n  ")
    );
    Ok(())
}

/// The programs under test.
struct Binaries {
    service: PathBuf,
    ceiling: PathBuf,
    /// `engine-serve`, built only when an engine is measured.
    engine: Option<PathBuf>,
}

/// Builds them with cargo, which knows where `CARGO_TARGET_DIR` (or the config) puts them.
fn build(root: &Path, release: bool, engines: bool) -> anyhow::Result<Binaries> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let profile = if release { "release" } else { "dev" };
    let mut packages = vec!["itau-codigo-server", "itau-codigo-bench-ceiling"];
    if engines {
        packages.push("itau-codigo-bench-engines");
    }
    eprintln!(
        "bench: cargo build --profile {profile} ({})",
        packages.join(", ")
    );
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--profile", profile, "--locked"])
        .args(packages.iter().flat_map(|package| ["-p", package]))
        .args(["--bins", "--message-format=json-render-diagnostics"])
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo build")?;
    ensure!(output.status.success(), "cargo build failed");
    let mut found = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let name = message.pointer("/target/name").and_then(|v| v.as_str());
        let executable = message.get("executable").and_then(|v| v.as_str());
        if let (Some(name), Some(executable)) = (name, executable) {
            found.insert(name.to_owned(), PathBuf::from(executable));
        }
    }
    let mut take = |name: &str| {
        found
            .remove(name)
            .with_context(|| format!("cargo build made no {name} binary"))
    };
    Ok(Binaries {
        service: take("itau-codigo")?,
        ceiling: take("bench-ceiling")?,
        engine: if engines {
            Some(take("engine-serve")?)
        } else {
            None
        },
    })
}

/// Everything for one store size: data, import, both servers, every connection count.
fn measure_store(
    options: &Options,
    binaries: &Binaries,
    script: &Path,
    size: u64,
    report: &mut Report,
) -> anyhow::Result<()> {
    let data = dados::generate(&options.out, size)?;
    let db = match &options.db {
        Some(url) => url.clone(),
        None => {
            let path = options.out.join(format!("store-{size}.db"));
            for suffix in ["", "-wal", "-shm"] {
                let file = PathBuf::from(format!("{}{suffix}", path.display()));
                if file.exists() {
                    std::fs::remove_file(&file)?;
                }
            }
            format!("sqlite:{}", path.display())
        }
    };
    let import = import(&binaries.service, &data.records, &db, options.db.is_some())?;
    eprintln!(
        "bench: {size} accounts imported at {:.0} records/s",
        import.rate()
    );
    report.import(size, import);
    // While the import has left the records file in the OS cache, as it read it.
    let parse = limits::json_parse(&binaries.ceiling, &data.records, &options.server_cpu)?;
    eprintln!(
        "bench: serde_json reads {size} records at {:.0} records/s",
        parse.records_per_second()
    );
    report.json_parse(size, parse);
    settle_page_cache(&data, &db, report)?;

    let body = options.out.join(format!("typical-200-{size}.json"));
    std::fs::write(&body, dados::typical_200(size))?;
    let workers = options.workers.to_string();
    let ceiling = Server::start(
        "ceiling".into(),
        &binaries.ceiling,
        &[
            "--workers".into(),
            workers.clone().into(),
            "--body".into(),
            body.into(),
        ],
        &options.server_cpu,
    )?;
    let serve = |name: String, binary: &Path, subcommand: &[&str], extra: &[String]| {
        let mut args: Vec<OsString> = subcommand.iter().map(OsString::from).collect();
        args.extend([
            "--db".into(),
            db.clone().into(),
            "--workers".into(),
            workers.clone().into(),
        ]);
        args.extend(extra.iter().map(OsString::from));
        Server::start(name, binary, &args, &options.server_cpu)
    };
    // The service, then each variant: all answer from the same store.
    let mut services = vec![serve("service".into(), &binaries.service, &["serve"], &[])?];
    for variant in &options.variants {
        let (binary, subcommand) = variant.command(binaries)?;
        services.push(serve(variant.server(), binary, subcommand, &variant.args)?);
    }
    let loads = Loads::new(options, size, &data.codes, script);
    let load = |server: &Server, connections: u32, duration: Duration, check: bool| {
        loads.on(server, connections, duration, check)
    };
    let disk_reads_before = services
        .iter()
        .map(|service| procfs::disk_read_bytes(service.pid()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let warm_connections = options.connections.iter().copied().max().unwrap_or(64);
    for server in std::iter::once(&ceiling).chain(&services) {
        wrk::run(
            &load(server, warm_connections, options.warmup, false),
            server.pid(),
        )?;
    }
    // The servers take turns, so that a burst of other work on the machine falls on
    // all of them rather than on one.
    for &connections in &options.connections {
        for round in 1..=options.rounds {
            eprintln!(
                "bench: {size} accounts, {connections} connections, round {round}/{}",
                options.rounds
            );
            let measured = wrk::run(
                &load(&ceiling, connections, options.duration, false),
                ceiling.pid(),
            )?;
            report.run(size, connections, &ceiling.name, measured, None);
            for service in &services {
                let (measured, answered) = with_answers(service.port, || {
                    wrk::run(
                        &load(service, connections, options.duration, options.check),
                        service.pid(),
                    )
                })?;
                report.run(size, connections, &service.name, measured, Some(answered));
            }
        }
    }
    for server in std::iter::once(&ceiling).chain(&services) {
        report.memory(size, &server.name, procfs::memory(server.pid())?);
    }
    if options.db.is_none() {
        for (service, before) in services.iter().zip(disk_reads_before) {
            let read = procfs::disk_read_bytes(service.pid())? - before;
            report.disk_reads(size, &service.name, read);
        }
    }
    Ok(())
}

/// Leaves the machine as a serving one's would be: nothing the data generation and the
/// import left dirty still to write back (`sync`), the records file out of the OS cache
/// (the import read it last, and on a machine whose cache is about the size of the
/// largest store it would push the store out), and the store read once, as a service
/// running for a while has it. What the cache still cannot hold is read from the disk
/// during the runs, and the report says how much.
fn settle_page_cache(data: &dados::Data, db: &str, report: &mut Report) -> anyhow::Result<()> {
    let run = |program: &str, args: &[&str]| -> anyhow::Result<()> {
        let output = Command::new(program)
            .args(args)
            .output()
            .with_context(|| format!("cannot run {program}"))?;
        ensure!(
            output.status.success(),
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(())
    };
    run("sync", &[])?;
    let records = format!("if={}", data.records.display());
    // GNU dd: with `nocache` and no block to copy, it drops the whole file's pages.
    run("dd", &[&records, "iflag=nocache", "count=0", "status=none"])?;
    if let Some(path) = db.strip_prefix("sqlite:") {
        let store = format!("if={path}");
        return run("dd", &[&store, "of=/dev/null", "bs=16M", "status=none"]);
    }
    // PostgreSQL: vacuuming the rows the import replaced (else autovacuum would fall in
    // the runs), writing its pages out (`sync` does not reach the shared buffers), and
    // reading the table ahead. Best effort: each takes rights the URL may not have, and
    // pg_prewarm is a contrib extension.
    let steps: [(&str, &[&str]); 3] = [
        ("vacuumed", &["VACUUM (ANALYZE) clientes"]),
        ("checkpointed", &["CHECKPOINT"]),
        (
            "read ahead",
            &[
                "CREATE EXTENSION IF NOT EXISTS pg_prewarm",
                "SELECT pg_prewarm(oid, 'read') FROM pg_class \
                 WHERE oid = 'clientes'::regclass OR oid IN \
                 (SELECT indexrelid FROM pg_index WHERE indrelid = 'clientes'::regclass)",
            ],
        ),
    ];
    for (done, statements) in steps {
        let mut args = vec![db, "-qAt", "-v", "ON_ERROR_STOP=1"];
        for statement in statements {
            args.extend(["-c", statement]);
        }
        if let Err(error) = run("psql", &args) {
            eprintln!("bench: the database was not {done}: {error:#}");
            report.note(format!(
                "The database was not {done} (`{}`): {error:#}.",
                statements.join("; ")
            ));
        }
    }
    Ok(())
}

/// An import, timed from outside (process start to exit).
#[derive(Debug, Clone)]
pub(crate) struct Imported {
    pub(crate) records: u64,
    pub(crate) file_bytes: u64,
    pub(crate) wall: f64,
    /// What `itau-codigo import` itself printed.
    pub(crate) reported: String,
    pub(crate) store_bytes: Option<u64>,
    /// Its peak resident memory, in KiB, when `/usr/bin/time` is there to tell.
    pub(crate) peak_rss_kib: Option<u64>,
}

impl Imported {
    pub(crate) fn rate(&self) -> f64 {
        self.records as f64 / self.wall.max(1e-9)
    }
}

/// What `/usr/bin/time` is asked to print after the import, to be found in its stderr.
const PEAK_RSS: &str = "bench-import-peak-rss-kib";

fn import(service: &Path, data: &Path, db: &str, replace: bool) -> anyhow::Result<Imported> {
    // GNU time reports the peak RSS of the process it waits for, which the bench
    // cannot read itself once the process is gone.
    let time = Path::new("/usr/bin/time");
    let mut command = if time.exists() {
        let mut command = Command::new(time);
        command.args(["-f", &format!("{PEAK_RSS} %M")]).arg(service);
        command
    } else {
        Command::new(service)
    };
    command.arg("import").arg(data).args(["--db", db]);
    if replace {
        command.arg("--replace");
    }
    clear_itau_env(&mut command);
    eprintln!(
        "bench: itau-codigo import {} --db {}",
        data.display(),
        report::shown_location(db)
    );
    let started = Instant::now();
    let output = wrk::output_retrying(&mut command).context("cannot run itau-codigo import")?;
    let wall = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(output.status.success(), "import failed: {stderr}");
    let reported = stderr
        .lines()
        .find(|line| line.starts_with("imported "))
        .unwrap_or("")
        .to_owned();
    let records = reported
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .context("import printed no record count")?;
    let store_bytes = db
        .strip_prefix("sqlite:")
        .and_then(|path| std::fs::metadata(path).ok())
        .map(|m| m.len());
    let peak_rss_kib = stderr
        .lines()
        .find_map(|line| line.strip_prefix(PEAK_RSS))
        .and_then(|kib| kib.trim().parse().ok());
    Ok(Imported {
        records,
        file_bytes: std::fs::metadata(data)?.len(),
        wall,
        reported,
        store_bytes,
        peak_rss_kib,
    })
}

/// How long a server may take to listen: `engine-serve` first builds its engine's copy
/// of the store, which at millions of accounts takes minutes on this machine.
const START_TIMEOUT: Duration = Duration::from_secs(600);

/// What every wrk load on one store size shares: the generator's core, the store's
/// codes, the script and the service's credentials.
struct Loads<'a> {
    options: &'a Options,
    size: u64,
    codes: &'a Path,
    script: &'a Path,
}

impl<'a> Loads<'a> {
    fn new(options: &'a Options, size: u64, codes: &'a Path, script: &'a Path) -> Self {
        Self {
            options,
            size,
            codes,
            script,
        }
    }

    /// The load of `connections` for `duration` on `server`; with `check`, every status
    /// compared with the one its kind must get.
    fn on(
        &self,
        server: &Server,
        connections: u32,
        duration: Duration,
        check: bool,
    ) -> wrk::Load<'a> {
        wrk::Load {
            url: format!("http://127.0.0.1:{}{PATH}", server.port),
            connections,
            duration,
            client_cpu: &self.options.client_cpu,
            accounts: self.size,
            codes: self.codes,
            username: USERNAME,
            password: PASSWORD,
            check,
            script: self.script,
        }
    }
}

/// A server under test, pinned with taskset, killed when dropped.
struct Server {
    /// `ceiling`, `service` or a variant's [`Variant::server`].
    name: String,
    child: Child,
    port: u16,
}

impl Server {
    fn start(name: String, program: &Path, args: &[OsString], cpu: &str) -> anyhow::Result<Self> {
        Self::start_with_env(name, program, args, cpu, &[])
    }

    /// [`Self::start`] with these variables added to the environment.
    fn start_with_env(
        name: String,
        program: &Path,
        args: &[OsString],
        cpu: &str,
        env: &[(String, String)],
    ) -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new("taskset");
        command
            .args(["-c", cpu])
            .arg(program)
            .args(args)
            .args(["--bind", &format!("127.0.0.1:{port}")]);
        clear_itau_env(&mut command);
        // The service logs one line per request at `info`, as deployed; the bench pays
        // for formatting and writing it, but not for a disk filling up.
        command
            .env("ITAU_CODIGO_USERNAME", USERNAME)
            .env("ITAU_CODIGO_PASSWORD", PASSWORD)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let mut server = Self { name, child, port };
        server.wait_until_listening()?;
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_until_listening(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("the {} exited at start ({status})", self.name);
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "the {} did not listen within {} s",
            self.name,
            START_TIMEOUT.as_secs()
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `load` against the service listening on `port`: what wrk measured, and the
/// service's consulta answers during it, by status (from its `/metrics`, read before and
/// after), so that a run is judged on what the service answered, not on what wrk saw.
fn with_answers(
    port: u16,
    load: impl FnOnce() -> anyhow::Result<wrk::Measured>,
) -> anyhow::Result<(wrk::Measured, BTreeMap<u16, u64>)> {
    let before = statuses(port)?;
    let measured = load()?;
    let after = statuses(port)?;
    let answered = after
        .iter()
        .map(|(status, count)| (*status, count - before.get(status).copied().unwrap_or(0)))
        .filter(|(_, count)| *count > 0)
        .collect();
    Ok((measured, answered))
}

/// The service's consulta answers so far, by status, from its `/metrics`. Retried: on
/// this shared machine a connect can fail for a moment (EAGAIN when other people's
/// load tests hold every ephemeral port).
fn statuses(port: u16) -> anyhow::Result<BTreeMap<u16, u64>> {
    let mut last_error = None;
    for _ in 0..5 {
        match scrape_metrics(port) {
            Ok(text) => return Ok(parse_statuses(&text)),
            Err(error) => last_error = Some(error),
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    Err(last_error
        .expect("five attempts were made")
        .context("cannot read the service's /metrics"))
}

fn scrape_metrics(port: u16) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    Ok(text)
}

fn parse_statuses(text: &str) -> BTreeMap<u16, u64> {
    let prefix = format!("itau_codigo_http_requests_total{{route=\"{PATH}\",status=\"");
    text.lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter_map(|rest| {
            let (status, count) = rest.split_once("\"} ")?;
            Some((status.parse().ok()?, count.trim().parse().ok()?))
        })
        .collect()
}

/// Runs the service with only the configuration the bench gives it (traces included).
fn clear_itau_env(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let name_text = name.to_string_lossy();
        if name_text.starts_with("ITAU_CODIGO_") || name_text.starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variant_is_a_name_and_the_serve_arguments_it_adds() {
        let variant = Variant::parse("mmap:--sqlite-mmap true").unwrap();
        assert_eq!(
            variant,
            Variant {
                name: "mmap".into(),
                args: vec!["--sqlite-mmap".into(), "true".into()],
                program: Program::Service,
            }
        );
        assert_eq!(variant.server(), "service (mmap)");
        for bad in ["--sqlite-mmap true", "mmap:", "two words:--x", ":--x"] {
            assert!(Variant::parse(bad).is_err(), "{bad}");
        }
        let root = Path::new("/nowhere");
        let twice = Options::parse(&["--variant", "a:--x", "--variant", "a:--y"], root);
        assert!(twice.is_err());
    }

    #[test]
    fn during_import_measures_a_million_accounts_at_64_connections_unless_told() {
        let root = Path::new("/nowhere");
        let options = Options::parse(&["--during-import"], root).unwrap();
        assert!(options.during_import && !options.tracing);
        assert_eq!(options.sizes, [1_000_000]);
        assert_eq!(options.connections, [64]);
        let options = Options::parse(&["--during-import", "--accounts", "100000"], root).unwrap();
        assert_eq!(options.sizes, [100_000]);
    }

    #[test]
    fn a_baseline_is_another_binary_served_as_a_variant_without_arguments() {
        let root = Path::new("/nowhere");
        let options = Options::parse(&["--baseline", "/tmp/before/itau-codigo"], root).unwrap();
        assert_eq!(
            options.variants,
            [Variant {
                name: "baseline".into(),
                args: Vec::new(),
                program: Program::Build("/tmp/before/itau-codigo".into()),
            }]
        );
        assert_eq!(options.variants[0].server(), "service (baseline)");
    }

    #[test]
    fn an_engine_is_a_variant_running_engine_serve_with_its_name() {
        let root = Path::new("/nowhere");
        let options = Options::parse(&["--engine", "lmdb", "--engine", "in-memory"], root).unwrap();
        assert_eq!(
            options.variants[0],
            Variant {
                name: "lmdb".into(),
                args: vec!["--engine".into(), "lmdb".into()],
                program: Program::Engine,
            }
        );
        let servers: Vec<_> = options.variants.iter().map(Variant::server).collect();
        assert_eq!(servers, ["engine (lmdb)", "engine (in-memory)"]);
        assert!(options.engines());
        assert!(
            !Options::parse(&["--variant", "a:--x"], root)
                .unwrap()
                .engines()
        );
    }

    #[test]
    fn an_engine_is_one_engine_serve_serves_and_is_named_once() {
        let root = Path::new("/nowhere");
        for bad in ["sqlite", "postgres", "LMDB", ""] {
            assert!(Options::parse(&["--engine", bad], root).is_err(), "{bad}");
        }
        let twice = Options::parse(&["--engine", "redb", "--engine", "redb"], root);
        assert!(twice.is_err());
        // A variant may share an engine's name: the servers' names differ.
        let both = Options::parse(&["--engine", "redb", "--variant", "redb:--x"], root);
        assert_eq!(both.unwrap().variants.len(), 2);
        let on_postgres = Options::parse(&["--engine", "redb", "--db", "postgres://x/y"], root);
        assert!(on_postgres.is_err());
    }
}
