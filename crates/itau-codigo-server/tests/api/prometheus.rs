//! What the metrics and alert-rule tests share: the reference in OPERATIONS.md
//! ("Metric families" and "Alerts"), read as the tests' expectations so that the
//! documentation cannot drift from the service or the rules; Prometheus's own parsers
//! (Python's `prometheus_client`, and PyYAML for the rule files, pinned in
//! `scripts/requirements-prometheus.txt`, installed on first use into a virtual
//! environment under the target folder by [`crate::python`]); and `promtool`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

pub(crate) use crate::python::root;
use crate::python::venv_python;
use crate::stores::shout_once;

/// `1`: without `promtool` the rule tests fail instead of skipping (CI sets it).
const REQUIRE_PROMTOOL_ENV: &str = "ITAU_CODIGO_TEST_REQUIRE_PROMTOOL";

/// One row of OPERATIONS.md's table of metric families.
#[derive(Debug, Clone)]
pub(crate) struct DocumentedFamily {
    /// As the text format names its samples (a counter with its `_total`).
    pub(crate) name: String,
    /// `counter`, `gauge` or `histogram`.
    pub(crate) kind: String,
    /// Label names, `le` left out.
    pub(crate) labels: Vec<String>,
    /// A histogram's upper bounds, `+Inf` left out.
    pub(crate) buckets: Vec<f64>,
    pub(crate) shown: Shown,
    /// The alerts of `deploy/prometheus/alerts.yml` that read it.
    pub(crate) alerts: Vec<String>,
}

/// When a family is in the text: the table's "shown" column, in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shown {
    Always,
    AfterTheFirstReadinessCheck,
    OnceAnImportIsRecorded,
    OnAHotStandby,
}

impl Shown {
    fn parse(text: &str) -> Self {
        match text {
            "always" => Self::Always,
            "after the first readiness check" => Self::AfterTheFirstReadinessCheck,
            "once an import is recorded" => Self::OnceAnImportIsRecorded,
            "on a hot standby" => Self::OnAHotStandby,
            other => panic!(
                "OPERATIONS.md: {other:?} in the \"shown\" column is none of: always, after the \
                 first readiness check, once an import is recorded, on a hot standby"
            ),
        }
    }
}

/// The rows of the first table after `heading` in OPERATIONS.md, as (column, cell)
/// pairs.
fn table_after(heading: &str) -> Vec<Vec<(String, String)>> {
    let text = std::fs::read_to_string(root().join("OPERATIONS.md")).unwrap();
    let mut lines = text
        .lines()
        .skip_while(|line| *line != heading)
        .skip(1)
        .skip_while(|line| !line.starts_with('|'));
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|cell| cell.trim().to_owned())
            .collect()
    };
    let header = cells(
        lines
            .next()
            .unwrap_or_else(|| panic!("no table after {heading}")),
    );
    lines
        .skip(1)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let row = cells(line);
            assert_eq!(row.len(), header.len(), "OPERATIONS.md: {line}");
            header.iter().cloned().zip(row).collect()
        })
        .collect()
}

fn cell<'a>(row: &'a [(String, String)], column: &str) -> &'a str {
    row.iter()
        .find(|(name, _)| name == column)
        .map(|(_, cell)| cell.as_str())
        .unwrap_or_else(|| panic!("OPERATIONS.md: no column {column:?}"))
}

/// The backticked items of a cell (`a`, `b`), none for "—".
fn backticked(cell: &str) -> Vec<String> {
    if cell == "—" {
        return Vec::new();
    }
    cell.split(',')
        .map(|item| {
            let item = item.trim();
            item.strip_prefix('`')
                .and_then(|item| item.strip_suffix('`'))
                .unwrap_or_else(|| panic!("OPERATIONS.md: {item:?} is not backticked"))
                .to_owned()
        })
        .collect()
}

/// OPERATIONS.md's table of metric families.
pub(crate) fn documented_families() -> Vec<DocumentedFamily> {
    let families: Vec<DocumentedFamily> = table_after("### Metric families")
        .iter()
        .map(|row| {
            let buckets = match cell(row, "buckets") {
                "—" => Vec::new(),
                bounds => bounds
                    .split(',')
                    .map(|bound| {
                        bound.trim().parse().unwrap_or_else(|_| {
                            panic!("OPERATIONS.md: bucket {bound:?} is not a number")
                        })
                    })
                    .collect(),
            };
            let [name] = backticked(cell(row, "family")).try_into().unwrap();
            DocumentedFamily {
                name,
                kind: cell(row, "type").to_owned(),
                labels: backticked(cell(row, "labels")),
                buckets,
                shown: Shown::parse(cell(row, "shown")),
                alerts: backticked(cell(row, "alerts")),
            }
        })
        .collect();
    assert!(families.len() > 10, "{families:?}");
    families
}

/// OPERATIONS.md's table of alerts: each alert's name and severity.
pub(crate) fn documented_alerts() -> Vec<(String, String)> {
    table_after("### Alerts")
        .iter()
        .map(|row| {
            let [name] = backticked(cell(row, "alert")).try_into().unwrap();
            (name, cell(row, "severity").to_owned())
        })
        .collect()
}

/// One family as `prometheus_client`'s parser reads it.
#[derive(Debug, Deserialize)]
pub(crate) struct Family {
    /// A counter's without its `_total`.
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) help: String,
    pub(crate) samples: Vec<Sample>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: std::collections::BTreeMap<String, String>,
    pub(crate) value: f64,
}

impl Family {
    /// The name the text format and OPERATIONS.md give it.
    pub(crate) fn exposed_name(&self) -> String {
        if self.kind == "counter" {
            format!("{}_total", self.name)
        } else {
            self.name.clone()
        }
    }

    /// The value of its one sample.
    pub(crate) fn value(&self) -> f64 {
        let [sample] = &self.samples[..] else {
            panic!("{} has {} samples", self.name, self.samples.len());
        };
        sample.value
    }
}

/// A `/metrics` text read by Prometheus's Python parser (which fails on anything the
/// text format does not allow).
pub(crate) fn parse_exposition(text: &str) -> Vec<Family> {
    let output = run_python(&["exposition"], text.as_bytes());
    serde_json::from_slice(&output).unwrap()
}

/// A YAML file, read by PyYAML.
pub(crate) fn read_yaml(path: &Path) -> Value {
    let output = run_python(&["yaml", path.to_str().unwrap()], b"");
    serde_json::from_slice(&output).unwrap()
}

fn run_python(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new(python())
        .arg(root().join("scripts/prometheus_json.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "prometheus_json.py {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The Python of the tests' virtual environment, made on first use
/// (`scripts/requirements-prometheus.txt`).
fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| venv_python("prometheus")).clone()
}

/// `promtool`, or `None` when it is not installed and not required: the rule tests
/// then skip, saying so on the terminal.
pub(crate) fn promtool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("promtool"))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var(REQUIRE_PROMTOOL_ENV).as_deref() != Ok("1"),
            "{REQUIRE_PROMTOOL_ENV}=1 but promtool is not installed (Debian: apt-get install prometheus)"
        );
        shout_once(
            "alert rule tests SKIPPED: promtool is not installed (Debian: apt-get install prometheus)",
        );
    }
    found
}
