//! A run's measurements as JSON (`benchmarks/<store>.json`) and the charts drawn from
//! them (`benchmarks/<store>-{reqs,p99,import}.svg`), beside BENCHMARKS.md. A run with
//! variants (`--variant`) compares candidates rather than measuring the store as it
//! ships: it writes `benchmarks/<store>-variants.json` and its charts, and leaves the
//! store's own figures alone.
//!
//! A full `cargo xtask bench` overwrites its store's JSON and charts; `--smoke` writes
//! them under `--out` instead, so CI draws charts from real (tiny) data without
//! touching the repository; `cargo xtask bench --charts` redraws the committed charts
//! from the committed JSON without measuring anything. [`render`] is the one function
//! that turns measurements into charts, and a test keeps the committed charts equal to
//! what it draws from the committed JSON.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::Store;
use super::chart::{Chart, Series, Target, thousands};
use super::targets::{TARGET_CONNECTIONS, min_import_rate};

/// The folder, relative to the workspace root (and to BENCHMARKS.md), of the committed
/// measurements and charts.
pub(crate) const DIR: &str = "benchmarks";

/// The stem of a run's files: the store's (`sqlite`), or with variants `sqlite-variants`.
pub(crate) fn stem(store: Store, variants: bool) -> String {
    if variants {
        format!("{}-variants", store.stem())
    } else {
        store.stem().to_owned()
    }
}

/// One run's figures, as the report's tables show them (each server's fastest round).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Results {
    /// Where the figures come from: a run of the bench, or a transcription of one.
    pub(crate) source: String,
    pub(crate) store: Store,
    /// When the run started, e.g. `2026-11-28 15:37 UTC`.
    pub(crate) run: String,
    pub(crate) command: String,
    pub(crate) commit: String,
    pub(crate) imports: Vec<ImportResult>,
    pub(crate) loads: Vec<LoadResult>,
    /// The services measured beside the plain one (`--variant`), if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) variants: Vec<VariantResult>,
    /// The physical limits measured in the same run (absent from older runs' files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) limits: Option<LimitsResult>,
}

/// What the disk and a JSON reader can do at most, against which the imports are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LimitsResult {
    /// The disk's sequential write rate, MiB (2^20 bytes) per second, when measured.
    pub(crate) disk_write_mib_per_second: Option<f64>,
    /// How it was measured.
    pub(crate) disk_write_command: Option<String>,
    pub(crate) sizes: Vec<SizeLimits>,
}

/// The limits for one store size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SizeLimits {
    pub(crate) accounts: u64,
    /// The store file's size over its records (SQLite only).
    pub(crate) stored_bytes_per_record: Option<f64>,
    /// The disk's write rate over the stored bytes per record.
    pub(crate) disk_limit_records_per_second: Option<f64>,
    /// serde_json reading each line into `IgnoredAny`, one core.
    pub(crate) json_parse_records_per_second: f64,
    pub(crate) json_parse_mib_per_second: f64,
    /// The import's records/s over the disk limit.
    pub(crate) import_share_of_disk_limit: Option<f64>,
}

/// A service started with other arguments (`cargo xtask bench --variant`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct VariantResult {
    /// Its name in `loads`: `service (NAME)`.
    pub(crate) server: String,
    /// What `itau-codigo serve` was given besides `--db` and `--workers` (`engine-serve`
    /// for an `engine (NAME)`).
    pub(crate) serve_args: String,
}

impl VariantResult {
    /// Its line's name in the charts: the command it ran.
    fn legend(&self) -> String {
        let program = if self.server.starts_with("engine (") {
            "engine-serve"
        } else {
            "serve"
        };
        format!("{program} {}", self.serve_args)
    }
}

/// One import, timed over the whole `itau-codigo import` process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ImportResult {
    pub(crate) accounts: u64,
    /// The JSON Lines file's size in MiB (2^20 bytes).
    pub(crate) file_mib: f64,
    pub(crate) wall_seconds: f64,
    pub(crate) records_per_second: f64,
}

/// One server at one store size and connection count: its fastest round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LoadResult {
    pub(crate) accounts: u64,
    pub(crate) connections: u32,
    /// `service`, `ceiling` or a variant's `service (NAME)`.
    pub(crate) server: String,
    pub(crate) requests_per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
}

/// The charts of one store: (file name, alt text, SVG).
pub(crate) fn render(results: &Results) -> Vec<(String, String, String)> {
    let store = results.store.name();
    let connections = chart_connections(results);
    let run = format!("run of {}, commit {}", results.run, results.commit);
    let by_size = |server: &str, value: fn(&LoadResult) -> f64| Series {
        name: match server {
            "service" => "service (itau-codigo serve)".into(),
            "ceiling" => "ceiling (fixed answer, same path)".into(),
            variant => results
                .variants
                .iter()
                .find(|v| v.server == variant)
                .map_or_else(|| variant.to_owned(), VariantResult::legend),
        },
        points: results
            .loads
            .iter()
            .filter(|l| l.server == server && l.connections == connections)
            .map(|l| (l.accounts as f64, value(l)))
            .collect(),
    };
    // The service first (the solid line), its variants, then the ceiling.
    let pair = |value: fn(&LoadResult) -> f64| {
        std::iter::once("service")
            .chain(results.variants.iter().map(|v| v.server.as_str()))
            .chain(std::iter::once("ceiling"))
            .map(|server| by_size(server, value))
            .collect::<Vec<_>>()
    };
    let reqs = Chart {
        title: format!("Requests per second against store size, {store}"),
        subtitle: format!("{connections} connections, each server's fastest round; {run}"),
        x_label: "accounts in the store (log scale)".into(),
        y_label: "requests per second".into(),
        series: pair(|l| l.requests_per_second),
        target: None,
    };
    let p99 = Chart {
        title: format!("p99 latency against store size, {store}"),
        subtitle: format!("{connections} connections, each server's fastest round; {run}"),
        x_label: "accounts in the store (log scale)".into(),
        y_label: "99th percentile latency, ms".into(),
        series: pair(|l| l.p99_ms),
        // The target is the ceiling's line plus 3 ms, not a fixed level.
        target: None,
    };
    let records: Vec<String> = results
        .imports
        .iter()
        .map(|i| thousands(i.accounts))
        .collect();
    let import_target = min_import_rate(results.store);
    let import = Chart {
        title: format!("Import records per second against file size, {store}"),
        subtitle: format!("the whole itau-codigo import process timed; {run}"),
        x_label: format!(
            "JSON Lines file, MiB (log scale): {} records",
            records.join(" / ")
        ),
        y_label: "records per second".into(),
        series: vec![Series {
            name: format!("import into {store}"),
            points: results
                .imports
                .iter()
                .map(|i| (i.file_mib, i.records_per_second))
                .collect(),
        }],
        target: Some(Target {
            y: import_target,
            label: format!("target: {} records/s", thousands(import_target as u64)),
        }),
    };
    let stem = stem(results.store, !results.variants.is_empty());
    vec![
        (
            format!("{stem}-reqs.svg"),
            format!("req/s against store size, service vs ceiling ({store})"),
            reqs.svg(),
        ),
        (
            format!("{stem}-p99.svg"),
            format!("p99 latency against store size, service vs ceiling ({store})"),
            p99.svg(),
        ),
        (
            format!("{stem}-import.svg"),
            format!("import records/s against file size ({store})"),
            import.svg(),
        ),
    ]
}

/// The connection count the charts show: the targets' (64) when measured, else the
/// first one measured.
fn chart_connections(results: &Results) -> u32 {
    let measured = |c| results.loads.iter().any(|l| l.connections == c);
    if measured(TARGET_CONNECTIONS) {
        TARGET_CONNECTIONS
    } else {
        results
            .loads
            .first()
            .map_or(TARGET_CONNECTIONS, |l| l.connections)
    }
}

/// Writes `<store>.json` and its charts into `dir`; returns the charts' (file, alt text).
pub(crate) fn write(dir: &Path, results: &Results) -> anyhow::Result<Vec<(String, String)>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json = serde_json::to_string_pretty(results)? + "\n";
    write_if_changed(
        &dir.join(format!(
            "{}.json",
            stem(results.store, !results.variants.is_empty())
        )),
        &json,
    )?;
    let mut charts = Vec::new();
    for (file, alt, svg) in render(results) {
        write_if_changed(&dir.join(&file), &svg)?;
        charts.push((file, alt));
    }
    Ok(charts)
}

/// `cargo xtask bench --charts`: redraws the charts of every `<store>.json` in `dir`.
pub(crate) fn redraw(dir: &Path) -> anyhow::Result<()> {
    let files = json_files(dir)?;
    anyhow::ensure!(
        !files.is_empty(),
        "no measurements (*.json) in {}",
        dir.display()
    );
    for path in files {
        for (file, _, svg) in render(&read(&path)?) {
            let target = dir.join(file);
            if write_if_changed(&target, &svg)? {
                eprintln!("bench: wrote {}", target.display());
            } else {
                eprintln!("bench: {} is up to date", target.display());
            }
        }
    }
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<Results> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not bench results", path.display()))
}

fn json_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|path| path.extension().is_some_and(|e| e == "json"));
    files.sort();
    Ok(files)
}

/// Touches the file only when its text changes; tells whether it did.
fn write_if_changed(path: &Path, text: &str) -> anyhow::Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}

/// Rounds to `decimals` places, so that the JSON holds what the tables show.
pub(crate) fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::chart::check_well_formed;

    fn committed() -> PathBuf {
        crate::workspace_root().join(DIR)
    }

    #[test]
    fn the_committed_charts_are_what_the_committed_measurements_draw() {
        for path in json_files(&committed()).unwrap() {
            let results = read(&path).unwrap();
            for (file, _, svg) in render(&results) {
                let on_disk =
                    std::fs::read_to_string(committed().join(&file)).unwrap_or_else(|e| {
                        panic!("{DIR}/{file}: {e}; run `cargo xtask bench --charts`")
                    });
                assert!(
                    on_disk == svg,
                    "{DIR}/{file} differs from what {} draws; run `cargo xtask bench --charts`",
                    path.display()
                );
                check_well_formed(&svg).unwrap_or_else(|e| panic!("{file}: {e}"));
            }
        }
    }

    #[test]
    fn the_committed_measurements_cover_every_size_for_both_servers() {
        let files = json_files(&committed()).unwrap();
        assert!(!files.is_empty(), "no {DIR}/*.json");
        for path in files {
            let results = read(&path).unwrap();
            assert_eq!(
                path.file_stem().unwrap().to_str(),
                Some(stem(results.store, !results.variants.is_empty()).as_str()),
                "{} holds the results of another store, or of a run with(out) variants",
                path.display()
            );
            for import in &results.imports {
                for server in ["service", "ceiling"] {
                    assert!(
                        results.loads.iter().any(|l| l.accounts == import.accounts
                            && l.server == server
                            && l.connections == TARGET_CONNECTIONS),
                        "{}: no {server} run at {} accounts",
                        path.display(),
                        import.accounts
                    );
                }
            }
        }
    }

    #[test]
    fn a_fixture_renders_three_well_formed_charts_naming_both_servers() {
        let load = |accounts, server: &str, rate, p99| LoadResult {
            accounts,
            connections: 64,
            server: server.into(),
            requests_per_second: rate,
            p50_ms: p99 / 2.0,
            p99_ms: p99,
            max_ms: p99 * 2.0,
        };
        let results = Results {
            source: "a test fixture".into(),
            store: Store::Postgresql,
            run: "2026-01-01 00:00 UTC".into(),
            command: "cargo xtask bench".into(),
            commit: "0000000".into(),
            variants: Vec::new(),
            limits: None,
            imports: vec![ImportResult {
                accounts: 1000,
                file_mib: 1.4,
                wall_seconds: 0.05,
                records_per_second: 20_000.0,
            }],
            loads: vec![
                load(1000, "service", 15_000.0, 6.0),
                load(1000, "ceiling", 110_000.0, 1.0),
            ],
        };
        let charts = render(&results);
        let files: Vec<&str> = charts.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            files,
            [
                "postgresql-reqs.svg",
                "postgresql-p99.svg",
                "postgresql-import.svg"
            ]
        );
        for (file, _, svg) in &charts[..2] {
            check_well_formed(svg).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(svg.contains("service (itau-codigo serve)"), "{file}");
            assert!(svg.contains("ceiling (fixed answer, same path)"), "{file}");
            assert!(svg.contains("accounts in the store (log scale)"), "{file}");
        }
        check_well_formed(&charts[2].2).unwrap();
        assert!(
            charts[2]
                .2
                .contains("JSON Lines file, MiB (log scale): 1 000 records")
        );
        let json = serde_json::to_string(&results).unwrap();
        assert!(json.contains(r#""store":"postgresql""#), "{json}");
        assert_eq!(serde_json::from_str::<Results>(&json).unwrap(), results);
    }

    #[test]
    fn a_variant_gets_its_own_line_named_after_its_arguments() {
        let load = |server: &str, rate| LoadResult {
            accounts: 1000,
            connections: 64,
            server: server.into(),
            requests_per_second: rate,
            p50_ms: 1.0,
            p99_ms: 2.0,
            max_ms: 3.0,
        };
        let results = Results {
            source: "a test fixture".into(),
            store: Store::Sqlite,
            run: "2026-01-01 00:00 UTC".into(),
            command: "cargo xtask bench --variant 'mmap:--sqlite-mmap true'".into(),
            commit: "0000000".into(),
            imports: Vec::new(),
            loads: vec![
                load("service", 20_000.0),
                load("service (mmap)", 30_000.0),
                load("ceiling", 100_000.0),
            ],
            variants: vec![VariantResult {
                server: "service (mmap)".into(),
                serve_args: "--sqlite-mmap true".into(),
            }],
            limits: None,
        };
        let charts = render(&results);
        assert_eq!(charts[0].0, "sqlite-variants-reqs.svg");
        let reqs = &charts[0].2;
        check_well_formed(reqs).unwrap();
        let legend: Vec<usize> = [
            "service (itau-codigo serve)",
            "serve --sqlite-mmap true",
            "ceiling (fixed answer, same path)",
        ]
        .iter()
        .map(|name| reqs.find(&format!(">{name}<")).expect(name))
        .collect();
        assert!(legend.is_sorted(), "the service, its variant, the ceiling");
        let json = serde_json::to_string(&results).unwrap();
        assert_eq!(serde_json::from_str::<Results>(&json).unwrap(), results);
    }
}
