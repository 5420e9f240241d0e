//! The bench's Markdown report, its target checks, and what counts as a wrong answer.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;

use super::chart::thousands;
use super::limits::{self, DiskWrite, JsonParse};
use super::procfs::{self, Memory};
use super::results::{
    self, ImportResult, LimitsResult, LoadResult, Results, SizeLimits, VariantResult,
};
use super::targets::{
    IMPORT_TARGET_SIZES, MAX_ANONYMOUS_RSS_MIB, MAX_CPU_GROWTH, MAX_P99_OVER_CEILING_MS,
    MIN_SHARE_OF_DISK_LIMIT, TARGET_CONNECTIONS, max_cpu_vs_ceiling, min_import_rate,
};
use super::wrk::Measured;
use itau_codigo_server::store::DbLocation;

use super::{Imported, Options, Program, Store, Variant};

/// Above this share of its core, wrk (not the server) may be what limits a run.
const GENERATOR_SATURATED: f64 = 0.90;

struct Row {
    size: u64,
    connections: u32,
    /// `ceiling`, `service` or a variant's [`Variant::server`].
    server: String,
    measured: Measured,
    /// The service's answers during the run, by status (from its /metrics).
    answered: Option<BTreeMap<u16, u64>>,
}

/// Everything one bench run measured.
pub(crate) struct Report {
    command: String,
    started: String,
    machine: String,
    load_start: String,
    load_end: String,
    /// What else used the CPU, sampled for a second at the start and at the end.
    others_start: String,
    others_end: String,
    commit: String,
    setup: String,
    store: Store,
    smoke: bool,
    check: bool,
    imports: Vec<(u64, Imported)>,
    rows: Vec<Row>,
    /// The services started with other arguments beside the plain one.
    variants: Vec<Variant>,
    /// Each server's memory after the runs, per size.
    memory: Vec<(u64, String, Memory)>,
    /// Bytes each service read from the disk during the runs, per size (SQLite only).
    disk_reads: Vec<(u64, String, u64)>,
    /// Things the run could not do as described, said under its setup.
    notes: Vec<String>,
    /// The disk's sequential write (MiB written, how fast), once per run.
    disk_write: Option<(u64, DiskWrite)>,
    /// serde_json's floor over each size's records file.
    json_parses: Vec<(u64, JsonParse)>,
}

pub(crate) fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "?".into())
}

/// What the setup paragraph says of the variants: how each was started.
fn variants_setup(variants: &[Variant], workers: u32) -> String {
    variants
        .iter()
        .map(|v| {
            let (program, what) = match &v.program {
                Program::Service => ("itau-codigo serve".to_owned(), ""),
                Program::Build(binary) => {
                    (format!("{} serve", binary.display()), " (another build)")
                }
                Program::Engine => (
                    "engine-serve".to_owned(),
                    " (crates/bench-engines: the same application over the engine's copy \
                     of the store, built beside it before the runs)",
                ),
            };
            format!(
                " `{}` is `{program} --db STORE --workers {workers}{}`{what}, on the same \
                 store and core, measured right after the service in every round.",
                v.server(),
                v.args.iter().map(|a| format!(" {a}")).collect::<String>()
            )
        })
        .collect()
}

/// The command line as the report publishes it: a `--db` value (it may hold a
/// password) as the store shows a location, through the store's own redaction.
pub(crate) fn shown_command(args: &[&str]) -> String {
    let mut shown = String::from("cargo xtask bench");
    let mut after_db = false;
    for arg in args {
        let arg = match arg.strip_prefix("--db=") {
            Some(url) => format!("--db={}", shown_location(url)),
            None if after_db => shown_location(arg),
            None => (*arg).to_owned(),
        };
        after_db = arg == "--db";
        shown.push(' ');
        // As a shell would need it: a `--variant` value holds spaces.
        if arg.contains(' ') {
            shown.push_str(&format!("'{arg}'"));
        } else {
            shown.push_str(&arg);
        }
    }
    shown
}

/// A `--db` value as the store shows it (`postgres://user:***@host/db`).
pub(crate) fn shown_location(raw: &str) -> String {
    DbLocation::parse(raw).map_or_else(|_| "<not a location>".to_owned(), |l| l.to_string())
}

impl Report {
    pub(crate) fn new(options: &Options, args: &[&str]) -> Self {
        let dirty = !command_output("git", &["status", "--porcelain"]).is_empty();
        let store = options.db.as_deref().map_or_else(
            || "SQLite, a new file per size (`itau-codigo import` into an empty store)".into(),
            |url| format!("`{}` (imported with `--replace`)", shown_location(url)),
        );
        let setup = format!(
            "Servers: {}. The mix: 85% found accounts drawn across the whole store, 10% \
             valid but unknown, 5% wrong DAC, all authenticated{}. {} interleaved rounds per server \
             and connection count (the tables show the fastest round and the slowest \
             round's req/s), after a {} s warm-up per server. Store: {store}; after the \
             import, the records file is dropped from the OS cache and the store read once, \
             as a service running for a while has it cached. Service logs at `info` (one \
             JSON line per request) to /dev/null.{}",
            load_setup(options),
            if options.check {
                "; every status checked"
            } else {
                ""
            },
            options.rounds,
            options.warmup.as_secs(),
            variants_setup(&options.variants, options.workers),
        );
        Self {
            command: shown_command(args),
            started: command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            machine: procfs::machine(),
            load_start: procfs::load_average(),
            load_end: String::new(),
            others_start: procfs::busiest_others(std::time::Duration::from_secs(1)),
            others_end: String::new(),
            commit: format!(
                "{}{}",
                command_output("git", &["rev-parse", "--short", "HEAD"]),
                if dirty { " (uncommitted changes)" } else { "" }
            ),
            setup,
            store: Store::of(options.db.as_deref()),
            smoke: options.smoke,
            check: options.check,
            imports: Vec::new(),
            rows: Vec::new(),
            variants: options.variants.clone(),
            memory: Vec::new(),
            disk_reads: Vec::new(),
            notes: Vec::new(),
            disk_write: None,
            json_parses: Vec::new(),
        }
    }

    pub(crate) fn disk_write(&mut self, mib: u64, write: DiskWrite) {
        self.disk_write = Some((mib, write));
    }

    pub(crate) fn json_parse(&mut self, size: u64, parse: JsonParse) {
        self.json_parses.push((size, parse));
    }

    /// The store's bytes per record, its disk limit in records/s and the import's share
    /// of it, at one size, when the disk was measured and the store is a file.
    fn disk_limit(&self, size: u64) -> Option<(f64, f64, f64)> {
        let (_, write) = self.disk_write?;
        let (_, imported) = self.imports.iter().find(|(s, _)| *s == size)?;
        let per_record = imported.store_bytes? as f64 / (imported.records.max(1) as f64);
        let limit = write.records_per_second(per_record);
        Some((per_record, limit, imported.rate() / limit.max(1e-9)))
    }

    pub(crate) fn import(&mut self, size: u64, imported: Imported) {
        self.imports.push((size, imported));
    }

    pub(crate) fn run(
        &mut self,
        size: u64,
        connections: u32,
        server: &str,
        measured: Measured,
        answered: Option<BTreeMap<u16, u64>>,
    ) {
        self.rows.push(Row {
            size,
            connections,
            server: server.to_owned(),
            measured,
            answered,
        });
    }

    pub(crate) fn memory(&mut self, size: u64, server: &str, memory: Memory) {
        self.memory.push((size, server.to_owned(), memory));
    }

    pub(crate) fn disk_reads(&mut self, size: u64, server: &str, bytes: u64) {
        self.disk_reads.push((size, server.to_owned(), bytes));
    }

    fn memory_of(&self, size: u64, server: &str) -> Option<&Memory> {
        self.memory
            .iter()
            .find(|(s, name, _)| *s == size && name == server)
            .map(|(_, _, memory)| memory)
    }

    pub(crate) fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    pub(crate) fn finish(&mut self) {
        self.load_end = procfs::load_average();
        self.others_end = procfs::busiest_others(std::time::Duration::from_secs(1));
    }

    /// The fastest of the rounds of one server at one size and connection count: other
    /// people's work on this machine only ever slows a run down.
    fn row(&self, size: u64, connections: u32, server: &str) -> Option<&Row> {
        self.rounds(size, connections, server)
            .max_by(|a, b| a.measured.rate().total_cmp(&b.measured.rate()))
    }

    /// The rounds of one server at one size and connection count, in the order run.
    fn rounds<'a, 's>(
        &'a self,
        size: u64,
        connections: u32,
        server: &'s str,
    ) -> impl Iterator<Item = &'a Row> + use<'a, 's> {
        self.rows
            .iter()
            .filter(move |r| r.size == size && r.connections == connections && r.server == server)
    }

    /// Which store the service answered from.
    pub(crate) fn store(&self) -> Store {
        self.store
    }

    /// The figures of the tables, for `benchmarks/<store>.json` and its charts.
    pub(crate) fn results(&self) -> Results {
        let imports = self
            .imports
            .iter()
            .map(|(size, imported)| ImportResult {
                accounts: *size,
                file_mib: results::round(imported.file_bytes as f64 / 1024.0 / 1024.0, 1),
                wall_seconds: results::round(imported.wall, 2),
                records_per_second: imported.rate().round(),
            })
            .collect();
        let mut keys: Vec<(u64, u32, &str)> = Vec::new();
        for row in &self.rows {
            if !keys.contains(&(row.size, row.connections, &row.server)) {
                keys.push((row.size, row.connections, &row.server));
            }
        }
        let loads = keys
            .into_iter()
            .filter_map(|(size, connections, server)| self.row(size, connections, server))
            .map(|row| LoadResult {
                accounts: row.size,
                connections: row.connections,
                server: row.server.clone(),
                requests_per_second: row.measured.rate().round(),
                p50_ms: results::round(row.measured.p50_ms, 2),
                p99_ms: results::round(row.measured.p99_ms, 2),
                max_ms: results::round(row.measured.max_ms, 1),
            })
            .collect();
        let limits =
            (self.disk_write.is_some() || !self.json_parses.is_empty()).then(|| LimitsResult {
                disk_write_mib_per_second: self.disk_write.map(|(_, write)| {
                    results::round(write.bytes_per_second() / (1024.0 * 1024.0), 1)
                }),
                disk_write_command: self
                    .disk_write
                    .map(|(mib, _)| limits::disk_write_command(mib)),
                sizes: self
                    .json_parses
                    .iter()
                    .map(|(size, parse)| {
                        let disk = self.disk_limit(*size);
                        SizeLimits {
                            accounts: *size,
                            stored_bytes_per_record: disk.map(|d| results::round(d.0, 0)),
                            disk_limit_records_per_second: disk.map(|d| d.1.round()),
                            json_parse_records_per_second: parse.records_per_second().round(),
                            json_parse_mib_per_second: results::round(parse.mib_per_second(), 1),
                            import_share_of_disk_limit: disk.map(|d| results::round(d.2, 3)),
                        }
                    })
                    .collect(),
            });
        Results {
            source: format!(
                "measured by `{}`, run of {}, commit {}",
                self.command, self.started, self.commit
            ),
            store: self.store,
            run: self.started.clone(),
            command: self.command.clone(),
            commit: self.commit.clone(),
            imports,
            loads,
            variants: self
                .variants
                .iter()
                .map(|v| VariantResult {
                    server: v.server(),
                    serve_args: v.args.join(" "),
                })
                .collect(),
            limits,
        }
    }

    /// Wrong answers (and, in a smoke run, any socket error): each fails the bench.
    pub(crate) fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for row in &self.rows {
            let m = &row.measured;
            let at = format!("{} accounts, {} connections", row.size, row.connections);
            if m.requests == 0 {
                failures.push(format!("{at}: the {} answered nothing", row.server));
            }
            if self.smoke && m.socket_errors > 0 {
                failures.push(format!(
                    "{at}: {} socket errors on the {}",
                    m.socket_errors, row.server
                ));
            }
            let Some(answered) = &row.answered else {
                continue;
            };
            if self.check {
                if m.wrong > 0 {
                    failures.push(format!(
                        "{at}: {} responses had the wrong status (first: {})",
                        m.wrong, m.first_wrong
                    ));
                }
                if m.unlabelled > 0 {
                    failures.push(format!(
                        "{at}: {} responses without the request's correlation ID",
                        m.unlabelled
                    ));
                }
                for (kind, (&sent, &checked)) in ["found", "unknown", "wrong DAC"]
                    .iter()
                    .zip(m.sent.iter().zip(&m.checked))
                {
                    if sent > 0 && checked == 0 {
                        failures.push(format!("{at}: no {kind} request was answered"));
                    }
                }
            }
            // Whether or not each response was checked, the service's own counters must
            // show exactly the mix that was sent, up to the requests in flight at the end.
            for (status, count) in answered {
                let expected = match status {
                    200 => m.sent[0],
                    404 => m.sent[1],
                    400 => m.sent[2],
                    _ => {
                        failures.push(format!("{at}: {count} answers with status {status}"));
                        continue;
                    }
                };
                if count.abs_diff(expected) > u64::from(row.connections) {
                    failures.push(format!(
                        "{at}: {count} answers with status {status}, but {expected} requests of its kind were sent"
                    ));
                }
            }
        }
        failures
    }

    /// The report; `charts` are the (file, alt text) pairs written under `benchmarks/`,
    /// embedded so that the report pasted into BENCHMARKS.md shows them.
    pub(crate) fn markdown(&self, charts: &[(String, String)]) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### Run of {}\n", self.started);
        let _ = writeln!(
            out,
            "Command: `{}` (commit {})\n",
            self.command, self.commit
        );
        let _ = writeln!(
            out,
            "Machine: {}; load average (1, 5, 15 min) {} at the start, {} at the end. \
             Other processes' CPU (share of a core, busiest first, over a second) at the \
             start: {}; at the end: {}.\n",
            self.machine, self.load_start, self.load_end, self.others_start, self.others_end
        );
        let _ = writeln!(out, "{}\n", self.setup);
        for note in &self.notes {
            let _ = writeln!(out, "{note}\n");
        }
        if !charts.is_empty() {
            for (file, alt) in charts {
                let _ = writeln!(out, "![{alt}]({}/{file})", results::DIR);
            }
            let _ = writeln!(
                out,
                "\nThe charts are drawn from `{}/{}.json`, this run's figures \
                 (`cargo xtask bench --charts` redraws them).\n",
                results::DIR,
                results::stem(self.store, !self.variants.is_empty())
            );
        }
        self.import_table(&mut out);
        self.limits_table(&mut out);
        let mut sizes: Vec<u64> = self.rows.iter().map(|r| r.size).collect();
        sizes.dedup();
        for &size in &sizes {
            self.size_table(&mut out, size);
        }
        if !self.variants.is_empty() {
            self.side_by_side(&mut out, &sizes);
        }
        if !self.smoke {
            self.targets(&mut out);
        }
        out
    }

    fn import_table(&self, out: &mut String) {
        out.push_str("#### Import\n\n");
        out.push_str("| accounts | file | wall time | records/s | of the disk limit | peak RSS | store size | `itau-codigo import` said |\n");
        out.push_str("|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (size, imported) in &self.imports {
            let share = self.disk_limit(*size).map_or_else(
                || "—".into(),
                |(_, _, share)| format!("{:.0}%", 100.0 * share),
            );
            let _ = writeln!(
                out,
                "| {} | {} | {:.2} s | **{}** | {share} | {} | {} | {} |",
                thousands(*size),
                mib(imported.file_bytes),
                imported.wall,
                thousands(imported.rate() as u64),
                imported
                    .peak_rss_kib
                    .map_or_else(|| "—".into(), |kib| mib(kib * 1024)),
                imported.store_bytes.map_or_else(|| "—".into(), mib),
                imported.reported.replace('|', "\\|"),
            );
        }
        out.push_str(
            "\nRecords/s is records over the wall time of the whole `import` process \
             (start to exit, commit included); \"of the disk limit\" is that rate over the \
             disk limit of [Physical limits](#physical-limits); peak RSS is that process's, \
             from `/usr/bin/time`.\n\n",
        );
    }

    /// What the disk, a JSON reader and the ceiling can do at most, measured in this run.
    fn limits_table(&self, out: &mut String) {
        if self.disk_write.is_none() && self.json_parses.is_empty() {
            return;
        }
        out.push_str("#### Physical limits\n\n");
        match self.disk_write {
            Some((mib, write)) => {
                let _ = writeln!(
                    out,
                    "Disk: sequential write **{:.0} MiB/s** (`{}`, {:.2} s), the disk that \
                     holds the stores.\n",
                    write.bytes_per_second() / (1024.0 * 1024.0),
                    limits::disk_write_command(mib),
                    write.seconds,
                );
            }
            None => out.push_str("Disk: not measured (see above).\n\n"),
        }
        // The targets' connection count, or the run's only one (`--smoke`).
        let c = if self
            .rows
            .iter()
            .any(|r| r.connections == TARGET_CONNECTIONS)
        {
            TARGET_CONNECTIONS
        } else {
            self.rows
                .first()
                .map_or(TARGET_CONNECTIONS, |r| r.connections)
        };
        let _ = writeln!(
            out,
            "| accounts | stored bytes per record | disk limit | import | of the disk limit | \
             JSON parse floor, one core | ceiling at {c} connections |"
        );
        out.push_str("|---:|---:|---:|---:|---:|---:|---:|\n");
        for (size, parse) in &self.json_parses {
            let disk = self.disk_limit(*size);
            let import = self.imports.iter().find(|(s, _)| s == size).map_or_else(
                || "—".into(),
                |(_, i)| format!("{} records/s", thousands(i.rate() as u64)),
            );
            let ceiling = self.row(*size, c, "ceiling").map_or_else(
                || "—".into(),
                |row| {
                    format!(
                        "{} req/s, {:.1} µs CPU/req",
                        thousands(row.measured.rate() as u64),
                        row.measured.server_us_per_request()
                    )
                },
            );
            let _ = writeln!(
                out,
                "| {} | {} | {} | {import} | {} | {} records/s ({:.0} MiB/s) | {ceiling} |",
                thousands(*size),
                disk.map_or_else(|| "—".into(), |d| format!("{:.0} B", d.0)),
                disk.map_or_else(
                    || "—".into(),
                    |d| format!("**{} records/s**", thousands(d.1 as u64))
                ),
                disk.map_or_else(|| "—".into(), |d| format!("**{:.0}%**", 100.0 * d.2)),
                thousands(parse.records_per_second() as u64),
                parse.mib_per_second(),
            );
        }
        out.push_str(
            "\nThe disk limit is the write rate over the store's bytes per record (the \
             SQLite file's size over its records; a PostgreSQL store's size is not known \
             here): an import that wrote nothing but its store, sequentially, could go no \
             faster. The JSON parse floor is serde_json reading each line of the records \
             file into `serde::de::IgnoredAny` (`bench-ceiling --parse`, pinned like the \
             servers, the file in the OS cache, the fastest pass within a second): it \
             checks the syntax and builds nothing, so every reader that keeps a field \
             costs more; a `serde_json::Value` would add an allocation per string and \
             member, the allocator's cost, not JSON's. The ceiling is the actix-web app of \
             the tables below (its fastest round).\n\n",
        );
    }

    fn size_table(&self, out: &mut String, size: u64) {
        let _ = writeln!(out, "#### {} accounts\n", thousands(size));
        out.push_str(
            "| server | conns | req/s | rounds (slowest) | vs ceiling | p50 | p99 | max | server CPU | CPU/req | vs ceiling | wrk CPU | answers 200/404/400 |\n",
        );
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        let mut keys: Vec<(u32, &str)> = Vec::new();
        for row in self.rows.iter().filter(|r| r.size == size) {
            if !keys.contains(&(row.connections, &row.server)) {
                keys.push((row.connections, &row.server));
            }
        }
        for (connections, server) in keys {
            let Some(row) = self.row(size, connections, server) else {
                continue;
            };
            let rounds: Vec<f64> = self
                .rounds(size, connections, server)
                .map(|r| r.measured.rate())
                .collect();
            let slowest = rounds.iter().copied().fold(f64::INFINITY, f64::min);
            let rounds = format!("{} ({})", rounds.len(), thousands(slowest as u64));
            let m = &row.measured;
            let ceiling = self
                .row(size, row.connections, "ceiling")
                .map(|c| &c.measured);
            let (rate_ratio, cpu_ratio) = match (row.server.as_str(), ceiling) {
                (server, Some(c)) if server != "ceiling" => (
                    format!("**{:.0}%**", 100.0 * m.rate() / c.rate().max(1e-9)),
                    format!(
                        "{:.2}×",
                        m.server_us_per_request() / c.server_us_per_request().max(1e-9)
                    ),
                ),
                _ => ("—".into(), "—".into()),
            };
            let saturated = if m.wrk_busy() >= GENERATOR_SATURATED {
                " (saturated)"
            } else {
                ""
            };
            let answers = row.answered.as_ref().map_or_else(
                || "—".into(),
                |a| {
                    let get = |s| thousands(a.get(&s).copied().unwrap_or(0));
                    let others: u64 = a
                        .iter()
                        .filter(|(s, _)| ![200, 404, 400].contains(*s))
                        .map(|(_, c)| c)
                        .sum();
                    let mut text = format!("{}/{}/{}", get(200), get(404), get(400));
                    if others > 0 {
                        let _ = write!(text, " + {others} other");
                    }
                    text
                },
            );
            let errors = if m.socket_errors > 0 {
                format!(" ({} socket errors)", m.socket_errors)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| {}{errors} | {} | {} | {rounds} | {rate_ratio} | {:.2} ms | {:.2} ms | {:.1} ms | {:.0}% | {:.1} µs | {cpu_ratio} | {:.0}%{saturated} | {answers} |",
                row.server,
                row.connections,
                thousands(m.rate() as u64),
                m.p50_ms,
                m.p99_ms,
                m.max_ms,
                100.0 * m.server_busy(),
                m.server_us_per_request(),
                100.0 * m.wrk_busy(),
            );
        }
        let memory: Vec<String> = self
            .memory
            .iter()
            .filter(|(s, _, _)| *s == size)
            .map(|(_, server, m)| {
                format!(
                    "{server} RSS {} (anonymous {}, file-backed {}; peak {})",
                    memory_mib(m.resident_bytes),
                    memory_mib(m.anonymous_bytes),
                    memory_mib(m.file_bytes),
                    memory_mib(m.peak_resident_bytes),
                )
            })
            .collect();
        if !memory.is_empty() {
            let _ = writeln!(
                out,
                "\nMemory after the runs: {}. File-backed pages are mapped files (the binary, \
                 and a memory-mapped store's pages, which are the OS cache's, counted once \
                 per mapping); anonymous pages are the process's own.",
                memory.join("; ")
            );
        }
        let reads: Vec<String> = self
            .disk_reads
            .iter()
            .filter(|(s, _, _)| *s == size)
            .map(|(_, server, bytes)| {
                format!("{server} {:.1} MiB", *bytes as f64 / (1024.0 * 1024.0))
            })
            .collect();
        if !reads.is_empty() {
            let _ = writeln!(
                out,
                "\nDisk reads during the warm-up and the runs: {} (`read_bytes` in \
                 `/proc/PID/io`: the lookups the OS cache did not hold; a mapped store's \
                 page faults count too).",
                reads.join(", "),
            );
        }
        out.push('\n');
    }

    /// The service and its variants at each size and connection count: what each
    /// costs against the ceiling and against the plain service, round by round (the
    /// rounds are interleaved, so each pair ran minutes apart at most), and its memory.
    fn side_by_side(&self, out: &mut String, sizes: &[u64]) {
        out.push_str("#### Side by side: the service and its variants\n\n");
        out.push_str(
            "| accounts | conns | server | req/s | vs ceiling | CPU/req | vs ceiling | \
             service's CPU/req ÷ this one's: median of the rounds (each round) | RSS anonymous | RSS file-backed |\n",
        );
        out.push_str("|---:|---:|---|---:|---:|---:|---:|---|---:|---:|\n");
        let mut connections: Vec<u32> = self.rows.iter().map(|r| r.connections).collect();
        connections.sort_unstable();
        connections.dedup();
        let servers: Vec<String> = std::iter::once("service".to_owned())
            .chain(self.variants.iter().map(Variant::server))
            .collect();
        for &size in sizes {
            for &c in &connections {
                let Some(ceiling) = self.row(size, c, "ceiling") else {
                    continue;
                };
                if self.row(size, c, "service").is_none() {
                    continue;
                }
                for server in &servers {
                    let Some(row) = self.row(size, c, server) else {
                        continue;
                    };
                    let m = &row.measured;
                    let against_service = if server == "service" {
                        "—".to_owned()
                    } else {
                        let each = self.round_ratios(size, c, "service", server);
                        let shown: Vec<String> = each.iter().map(|r| format!("{r:.2}")).collect();
                        format!("**{:.2}×** ({})", median(&each), shown.join(", "))
                    };
                    let memory = self.memory_of(size, server);
                    let _ = writeln!(
                        out,
                        "| {} | {c} | {server} | {} | {:.0}% | {:.1} µs | {:.2}× | {against_service} | {} | {} |",
                        thousands(size),
                        thousands(m.rate() as u64),
                        100.0 * m.rate() / ceiling.measured.rate().max(1e-9),
                        m.server_us_per_request(),
                        m.server_us_per_request()
                            / ceiling.measured.server_us_per_request().max(1e-9),
                        memory.map_or_else(|| "—".into(), |m| memory_mib(m.anonymous_bytes)),
                        memory.map_or_else(|| "—".into(), |m| memory_mib(m.file_bytes)),
                    );
                }
            }
        }
        out.push_str(
            "\nA ratio above 1 means the variant used less CPU per request than the plain \
             service; each round's ratio pairs two servers measured seconds apart, so the \
             machine's drift falls on both. The memory is each server's after all runs at \
             that size.\n\n",
        );
    }

    fn targets(&self, out: &mut String) {
        let sizes: Vec<u64> = self.imports.iter().map(|(s, _)| *s).collect();
        let (Some(&smallest), Some(&largest)) = (sizes.iter().min(), sizes.iter().max()) else {
            return;
        };
        out.push_str("#### Targets\n\n| target | measured | met |\n|---|---|---|\n");
        let mut line = |target: String, measured: String, met: bool| {
            let _ = writeln!(
                out,
                "| {target} | {measured} | {} |",
                if met { "yes" } else { "**no**" }
            );
        };
        let c = TARGET_CONNECTIONS;
        let max_cpu = max_cpu_vs_ceiling(self.store);
        let servers =
            std::iter::once("service".to_owned()).chain(self.variants.iter().map(Variant::server));
        for server in servers {
            for &size in &sizes {
                let (Some(row), Some(ceiling)) =
                    (self.row(size, c, &server), self.row(size, c, "ceiling"))
                else {
                    continue;
                };
                let ratio = median(&self.round_ratios(size, c, &server, "ceiling"));
                line(
                    format!(
                        "{server}, {} accounts, {c} connections: CPU per request ≤ {max_cpu}× the ceiling's",
                        thousands(size)
                    ),
                    format!(
                        "{ratio:.2}× (median of the rounds; fastest round {:.1} against {:.1} µs)",
                        row.measured.server_us_per_request(),
                        ceiling.measured.server_us_per_request()
                    ),
                    ratio <= max_cpu,
                );
                let (over, ceiling_p99) = self.p99_over_ceiling(size, c, &server);
                line(
                    format!(
                        "{server}, {} accounts, {c} connections: p99 ≤ the ceiling's in the \
                         same round + {MAX_P99_OVER_CEILING_MS} ms",
                        thousands(size)
                    ),
                    format!(
                        "{:.2} ms against {ceiling_p99:.2} ms (fastest round)",
                        ceiling_p99 + over
                    ),
                    over <= MAX_P99_OVER_CEILING_MS,
                );
            }
            if self.store == Store::Sqlite
                && smallest != largest
                && let (Some(small), Some(large)) = (
                    self.least_cpu(smallest, c, &server),
                    self.least_cpu(largest, c, &server),
                )
            {
                let growth = large / small.max(1e-9);
                line(
                    format!(
                        "{server}: CPU per request at {} accounts ≤ {MAX_CPU_GROWTH}× at {}",
                        thousands(largest),
                        thousands(smallest)
                    ),
                    format!(
                        "{growth:.2}× ({large:.1} against {small:.1} µs, each size's round of \
                         least CPU per request)"
                    ),
                    growth <= MAX_CPU_GROWTH,
                );
            }
            if let Some(memory) = self.memory_of(largest, &server) {
                let anonymous = memory.anonymous_bytes as f64 / (1024.0 * 1024.0);
                line(
                    format!(
                        "{server}: anonymous RSS at {} accounts ≤ {MAX_ANONYMOUS_RSS_MIB} MiB",
                        thousands(largest)
                    ),
                    format!("{anonymous:.1} MiB after the runs"),
                    anonymous <= MAX_ANONYMOUS_RSS_MIB,
                );
            }
        }
        let min_rate = min_import_rate(self.store);
        let import_sizes = match self.store {
            Store::Sqlite => &IMPORT_TARGET_SIZES[..],
            Store::Postgresql => &IMPORT_TARGET_SIZES[..1],
        };
        for (size, imported) in self
            .imports
            .iter()
            .filter(|(s, _)| import_sizes.contains(s))
        {
            let share = self.disk_limit(*size).map(|(_, _, share)| share);
            let (target, met_by_disk) = match (self.store, share) {
                (Store::Sqlite, Some(share)) => (
                    format!(
                        " or ≥ {:.0}% of the disk's limit",
                        100.0 * MIN_SHARE_OF_DISK_LIMIT
                    ),
                    share >= MIN_SHARE_OF_DISK_LIMIT,
                ),
                _ => (String::new(), false),
            };
            line(
                format!(
                    "import of {} records ≥ {} records/s{target}",
                    thousands(*size),
                    thousands(min_rate as u64)
                ),
                format!(
                    "{} records/s{}",
                    thousands(imported.rate() as u64),
                    share.map_or_else(String::new, |s| format!(
                        " ({:.0}% of the disk's limit)",
                        100.0 * s
                    ))
                ),
                imported.rate() >= min_rate || met_by_disk,
            );
        }
        out.push('\n');
    }

    /// `a`'s CPU per request over `b`'s, round by round: the n-th rounds of two servers
    /// ran seconds apart (the rounds are interleaved).
    fn round_ratios(&self, size: u64, connections: u32, a: &str, b: &str) -> Vec<f64> {
        self.rounds(size, connections, a)
            .zip(self.rounds(size, connections, b))
            .map(|(a, b)| {
                a.measured.server_us_per_request() / b.measured.server_us_per_request().max(1e-9)
            })
            .collect()
    }

    /// A server's least CPU per request of its rounds (other people's work on this
    /// machine only ever adds to it).
    fn least_cpu(&self, size: u64, connections: u32, server: &str) -> Option<f64> {
        self.rounds(size, connections, server)
            .map(|r| r.measured.server_us_per_request())
            .min_by(f64::total_cmp)
    }

    /// How far a server's p99 is above the ceiling's in the same round (rounds are
    /// interleaved, so the n-th of each ran side by side), in its fastest round, and
    /// that ceiling's p99.
    fn p99_over_ceiling(&self, size: u64, connections: u32, server: &str) -> (f64, f64) {
        let fastest = self
            .rounds(size, connections, server)
            .zip(self.rounds(size, connections, "ceiling"))
            .max_by(|(a, _), (b, _)| a.measured.rate().total_cmp(&b.measured.rate()));
        fastest.map_or((f64::INFINITY, f64::NAN), |(row, ceiling)| {
            (
                row.measured.p99_ms - ceiling.measured.p99_ms,
                ceiling.measured.p99_ms,
            )
        })
    }
}

/// The median of `values` (the mean of the middle two when their number is even); NaN
/// when there are none.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / 1024.0 / 1024.0)
}

/// A process's memory, to a tenth of a MiB.
fn memory_mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
}

/// How every run of the bench loads a server, as each report says it: the service's
/// workers and core, wrk's core and the mix, the length of a run.
pub(crate) fn load_setup(options: &Options) -> String {
    format!(
        "`--workers {}` each, pinned with `taskset -c {}`; wrk 4 (`-t1`, `taskset -c {}`) \
         with `xtask/src/bench/mix.lua`, {} s per run",
        options.workers,
        options.server_cpu,
        options.client_cpu,
        options.duration.as_secs(),
    )
}

/// The head of a side run's report (`--tracing`, `--during-import`): when, the command
/// and its commit, the machine and its load.
pub(crate) fn side_run_header(args: &[&str]) -> String {
    let dirty = !command_output("git", &["status", "--porcelain"]).is_empty();
    format!(
        "#### Run of {}\n\nCommand: `{}` (commit {}{})\n\nMachine: {}; load average (1, 5, 15 min) {}.\n\n",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        shown_command(args),
        command_output("git", &["rev-parse", "--short", "HEAD"]),
        if dirty { " (uncommitted changes)" } else { "" },
        super::procfs::machine(),
        super::procfs::load_average(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_command_line_shows_no_database_password() {
        let shown = shown_command(&[
            "--db",
            "postgres://postgres:28c737dc712c@127.0.0.1:36031/postgres",
            "--accounts",
            "1000",
        ]);
        assert_eq!(
            shown,
            "cargo xtask bench --db postgres://postgres:***@127.0.0.1:36031/postgres --accounts 1000"
        );
        assert_eq!(
            shown_command(&["--variant", "mmap:--sqlite-mmap true"]),
            "cargo xtask bench --variant 'mmap:--sqlite-mmap true'"
        );
        let shown = shown_command(&["--db=postgres://u:s3cr%2Ft@db/x?password=other"]);
        assert!(
            !shown.contains("s3cr") && !shown.contains("other"),
            "{shown}"
        );
    }

    /// A run with CPU per request `us` for `requests` answered in one second and `p99`.
    fn measured(requests: u64, us: f64, p99_ms: f64) -> Measured {
        Measured {
            requests,
            seconds: 1.0,
            p99_ms,
            server_cpu: us * 1e-6 * requests as f64,
            ..Measured::default()
        }
    }

    #[test]
    fn the_targets_are_the_performance_work_s_for_every_server_and_size() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let options = Options::parse(
            &[
                "--accounts",
                "1000,10000000",
                "--connections",
                "64",
                "--variant",
                "mmap:--sqlite-mmap true",
            ],
            &root,
        )
        .unwrap();
        let mut report = Report::new(&options, &[]);
        // 1 500 MB/s over 1 500 bytes a record: a limit of a million records/s.
        report.disk_write(
            1024,
            DiskWrite {
                bytes: 1_500_000_000,
                seconds: 1.0,
            },
        );
        for (server, anonymous_mib) in [("service", 32), ("service (mmap)", 120)] {
            let memory = Memory {
                anonymous_bytes: anonymous_mib << 20,
                ..Memory::default()
            };
            report.memory(10_000_000, server, memory);
        }
        for (size, service_us, mapped_us, mapped_p99) in
            [(1000, 22.0, 14.0, 5.0), (10_000_000, 33.0, 15.0, 9.0)]
        {
            report.import(
                size,
                Imported {
                    records: size,
                    file_bytes: 0,
                    wall: size as f64 / 250_000.0,
                    reported: String::new(),
                    store_bytes: Some(1500 * size),
                    peak_rss_kib: None,
                },
            );
            report.run(size, 64, "ceiling", measured(60_000, 7.5, 4.0), None);
            report.run(size, 64, "service", measured(25_000, service_us, 6.0), None);
            report.run(
                size,
                64,
                "service (mmap)",
                measured(30_000, mapped_us, mapped_p99),
                None,
            );
        }
        let mut out = String::new();
        report.targets(&mut out);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn thousands_are_separated_by_spaces() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1 000");
        assert_eq!(thousands(1_234_567), "1 234 567");
    }
}
