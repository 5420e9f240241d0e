//! Prometheus metrics, kept per application (no global recorder), so that every app a
//! test starts counts only its own requests.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use crate::procfs::{self, Pid};
use crate::store::{LastImport, PoolStatus};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The label for a path no route matches: one constant, so that scanners cannot grow
/// the number of series.
pub(crate) const UNMATCHED_ROUTE: &str = "unmatched";

/// Request counts, latency and store errors.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<Requests>,
    store_errors: AtomicU64,
    credential_reloads_ok: AtomicU64,
    credential_reloads_failed: AtomicU64,
    login_failures: AtomicU64,
    lockouts: AtomicU64,
    login_throttle_table_full: AtomicU64,
    /// The last readiness check: 0 none yet, 1 the store did not answer, 2 it did.
    store_up: AtomicU8,
    /// A hot standby's replay lag at the last readiness check; `None` for a store that
    /// replicates nothing (or before the first check).
    replay_lag: Mutex<Option<f64>>,
}

/// Answered requests by route and status, and their latency by route: one lock per
/// request for both.
#[derive(Debug, Default)]
struct Requests {
    answered: BTreeMap<(&'static str, u16), u64>,
    latency: BTreeMap<&'static str, Histogram>,
}

/// One route's latency histogram: counts per bucket (not cumulative), their total and
/// sum.
#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_micros: u64,
}

impl Metrics {
    /// Counts one answered request.
    pub fn observe(&self, route: &'static str, status: u16, latency: Duration) {
        let Ok(mut requests) = self.requests.lock() else {
            return;
        };
        *requests.answered.entry((route, status)).or_default() += 1;
        let histogram = requests.latency.entry(route).or_default();
        let seconds = latency.as_secs_f64();
        if let Some(index) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            histogram.buckets[index] += 1;
        }
        histogram.count += 1;
        histogram.sum_micros = histogram
            .sum_micros
            .saturating_add(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Counts one failed store call.
    pub fn store_error(&self) {
        self.store_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Records what the last readiness check found.
    pub fn store_up(&self, up: bool) {
        self.store_up
            .store(if up { 2 } else { 1 }, Ordering::Relaxed);
    }

    /// Records a hot standby's replay lag, or that the store tells none.
    pub fn replay_lag(&self, seconds: Option<f64>) {
        if let Ok(mut lag) = self.replay_lag.lock() {
            *lag = seconds;
        }
    }

    /// Counts one reload of the password file.
    pub fn credential_reload(&self, ok: bool) {
        let counter = if ok {
            &self.credential_reloads_ok
        } else {
            &self.credential_reloads_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one login whose credentials were checked and found missing or wrong.
    pub fn login_failure(&self) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one client address (or block) locked out.
    pub fn lockout(&self) {
        self.lockouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one failed login the throttle could not count against its address,
    /// because its table was full of live lockouts.
    pub fn login_throttle_table_full(&self) {
        self.login_throttle_table_full
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP itau_codigo_http_requests_total HTTP requests answered, by route and status.\n",
        );
        out.push_str("# TYPE itau_codigo_http_requests_total counter\n");
        let requests = self.requests.lock();
        if let Ok(requests) = &requests {
            for ((route, status), count) in &requests.answered {
                let _ = writeln!(
                    out,
                    "itau_codigo_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP itau_codigo_http_request_duration_seconds Time from request head to response, in seconds, by route.\n");
        out.push_str("# TYPE itau_codigo_http_request_duration_seconds histogram\n");
        if let Ok(requests) = &requests {
            for (route, histogram) in &requests.latency {
                histogram.render(&mut out, route);
            }
        }
        drop(requests);
        out.push_str("# HELP itau_codigo_store_errors_total Store calls that failed.\n");
        out.push_str("# TYPE itau_codigo_store_errors_total counter\n");
        let _ = writeln!(
            out,
            "itau_codigo_store_errors_total {}",
            self.store_errors.load(Ordering::Relaxed)
        );
        // Absent until the first check: a 0 would read as "the store is down".
        if let Some(up) = match self.store_up.load(Ordering::Relaxed) {
            1 => Some(0),
            2 => Some(1),
            _ => None,
        } {
            out.push_str("# HELP itau_codigo_store_up Whether the store answered the last readiness check (the one /readyz reports): 1 yes, 0 no.\n");
            out.push_str("# TYPE itau_codigo_store_up gauge\n");
            let _ = writeln!(out, "itau_codigo_store_up {up}");
        }
        // Absent on a store that replicates nothing (and until the first check).
        if let Some(lag) = self.replay_lag.lock().ok().and_then(|lag| *lag) {
            out.push_str("# HELP itau_codigo_store_replay_lag_seconds On a PostgreSQL hot standby: 0 when replay has caught up with what it received, else seconds since the last replayed commit.\n");
            out.push_str("# TYPE itau_codigo_store_replay_lag_seconds gauge\n");
            let _ = writeln!(out, "itau_codigo_store_replay_lag_seconds {lag}");
        }
        out.push_str("# HELP itau_codigo_log_lines_dropped_total Log lines dropped because the log writer could not keep up (each time, a warning line says how many).\n");
        out.push_str("# TYPE itau_codigo_log_lines_dropped_total counter\n");
        let _ = writeln!(
            out,
            "itau_codigo_log_lines_dropped_total {}",
            crate::telemetry::dropped_lines()
        );
        out.push_str("# HELP itau_codigo_credential_reloads_total Reloads of the password file, by outcome (a failed one keeps the passwords in force).\n");
        out.push_str("# TYPE itau_codigo_credential_reloads_total counter\n");
        for (outcome, counter) in [
            ("ok", &self.credential_reloads_ok),
            ("failed", &self.credential_reloads_failed),
        ] {
            let _ = writeln!(
                out,
                "itau_codigo_credential_reloads_total{{outcome=\"{outcome}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        for (name, help, counter) in [
            (
                "itau_codigo_login_failures_total",
                "Logins whose credentials were checked and found missing or wrong (a locked-out client's attempts are refused unchecked and not counted).",
                &self.login_failures,
            ),
            (
                "itau_codigo_lockouts_total",
                "Client addresses, or blocks of them, locked out after too many failed logins.",
                &self.lockouts,
            ),
            (
                "itau_codigo_login_throttle_table_full_total",
                "Failed logins the throttle counted against the client's block (IPv4 /24, IPv6 /48) or not at all, because its table was full of live lockouts.",
                &self.login_throttle_table_full,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", counter.load(Ordering::Relaxed));
        }
        out
    }
}

impl Histogram {
    fn render(&self, out: &mut String, route: &str) {
        const NAME: &str = "itau_codigo_http_request_duration_seconds";
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += count;
            let _ = writeln!(
                out,
                "{NAME}_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{NAME}_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(
            out,
            "{NAME}_sum{{route=\"{route}\"}} {}",
            self.sum_micros as f64 / 1e6
        );
        let _ = writeln!(out, "{NAME}_count{{route=\"{route}\"}} {}", self.count);
    }
}

// What `/metrics` reads afresh at each scrape, beside the counters above: the build,
// the process, the store's pool and what the last import recorded.

/// The figures read at a scrape. A figure that could not be read is left out of the
/// text (absent, never 0).
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    /// This process, from `/proc`.
    pub process: ProcessFigures,
    /// The store's connection pool.
    pub pool: Option<PoolStatus>,
    /// What the last import recorded in the store.
    pub last_import: Option<LastImport>,
}

/// The `process_*` figures, each `None` when `/proc` could not tell it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct ProcessFigures {
    /// CPU time, user and kernel, all threads.
    pub cpu_seconds: Option<f64>,
    /// Resident memory.
    pub resident_bytes: Option<u64>,
    /// Virtual memory.
    pub virtual_bytes: Option<u64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft limit of open file descriptors (`None` too when unlimited).
    pub max_fds: Option<u64>,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time_seconds: Option<f64>,
}

impl ProcessFigures {
    /// This process's figures now.
    pub(crate) fn now() -> Self {
        let stat = procfs::Stat::read(Pid::Own).ok();
        let boot = procfs::boot_time_seconds().ok();
        Self {
            cpu_seconds: stat.map(|stat| stat.cpu_seconds()),
            resident_bytes: stat.map(|stat| stat.resident_bytes),
            virtual_bytes: stat.map(|stat| stat.virtual_bytes),
            open_fds: procfs::open_fds(Pid::Own).ok(),
            max_fds: procfs::max_fds(Pid::Own).ok().flatten(),
            start_time_seconds: stat
                .zip(boot)
                .map(|(stat, boot)| boot as f64 + stat.started_after_boot_seconds),
        }
    }
}

/// The package version and the commit the binary was built from (`build.rs`).
const BUILD_VERSION: &str = env!("CARGO_PKG_VERSION");
const BUILD_COMMIT: &str = env!("ITAU_CODIGO_COMMIT");

impl Snapshot {
    /// Appends the families of this snapshot (and the build's) to `out`.
    pub(crate) fn render(&self, out: &mut String) {
        family(
            out,
            "itau_codigo_build_info",
            "gauge",
            "The build serving: always 1, with its package version and the git commit it was built from (unknown outside a checkout).",
        );
        let _ = writeln!(
            out,
            "itau_codigo_build_info{{version=\"{}\",commit=\"{}\"}} 1",
            label_value(BUILD_VERSION),
            label_value(BUILD_COMMIT)
        );
        let process = &self.process;
        for (name, kind, help, value) in [
            (
                "process_cpu_seconds_total",
                "counter",
                "CPU time used by the process, user and kernel, all threads, in seconds.",
                process.cpu_seconds,
            ),
            (
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory of the process, in bytes (pages of the store's file mapped into memory count too).",
                process.resident_bytes.map(|n| n as f64),
            ),
            (
                "process_virtual_memory_bytes",
                "gauge",
                "Virtual memory of the process, in bytes.",
                process.virtual_bytes.map(|n| n as f64),
            ),
            (
                "process_open_fds",
                "gauge",
                "File descriptors the process has open (client connections, store connections and files).",
                process.open_fds.map(|n| n as f64),
            ),
            (
                "process_max_fds",
                "gauge",
                "The most file descriptors the process may open (its soft limit).",
                process.max_fds.map(|n| n as f64),
            ),
            (
                "process_start_time_seconds",
                "gauge",
                "When the process started, in seconds since the Unix epoch.",
                process.start_time_seconds,
            ),
        ] {
            if let Some(value) = value {
                family(out, name, kind, help);
                let _ = writeln!(out, "{name} {value}");
            }
        }
        if let Some(pool) = self.pool {
            for (name, help, value) in [
                (
                    "itau_codigo_store_pool_max_connections",
                    "The most connections the store's pool may open.",
                    pool.max_size,
                ),
                (
                    "itau_codigo_store_pool_connections",
                    "Connections the store's pool has open, idle or in use.",
                    pool.size,
                ),
                (
                    "itau_codigo_store_pool_connections_in_use",
                    "Connections of the store's pool lent out to a query.",
                    pool.in_use,
                ),
                (
                    "itau_codigo_store_pool_waiting",
                    "Queries waiting for a connection of the store's pool.",
                    pool.waiting,
                ),
            ] {
                family(out, name, "gauge", help);
                let _ = writeln!(out, "{name} {value}");
            }
        }
        // Absent, not 0, when no import recorded anything: a 0 would read as "imported
        // in 1970" and "the store is empty".
        if let Some(last) = self.last_import {
            family(
                out,
                "itau_codigo_store_last_import_timestamp_seconds",
                "gauge",
                "When the last import into the store committed, in seconds since the Unix epoch (as the import recorded it in the store).",
            );
            let _ = writeln!(
                out,
                "itau_codigo_store_last_import_timestamp_seconds {}",
                last.committed_at
            );
            family(
                out,
                "itau_codigo_store_accounts",
                "gauge",
                "Accounts in the store when the last import committed (as the import recorded it in the store).",
            );
            let _ = writeln!(out, "itau_codigo_store_accounts {}", last.accounts);
        }
    }
}

/// A family's `HELP` and `TYPE` lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// `value` as a label value of the text format: backslash, double quote and line feed
/// escaped.
fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let metrics = Metrics::default();
        metrics.observe("/healthz", 200, Duration::from_micros(300));
        metrics.observe("/healthz", 200, Duration::from_millis(2));
        metrics.observe(UNMATCHED_ROUTE, 404, Duration::from_secs(10));
        metrics.store_error();
        metrics.credential_reload(true);
        metrics.credential_reload(false);
        metrics.credential_reload(false);
        assert!(!metrics.render().contains("itau_codigo_store_up"));
        metrics.store_up(false);
        assert!(metrics.render().contains("\nitau_codigo_store_up 0\n"));
        metrics.store_up(true);
        let text = metrics.render();
        assert!(
            text.contains("itau_codigo_http_requests_total{route=\"/healthz\",status=\"200\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "itau_codigo_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"
            ),
            "{text}"
        );
        for (series, value) in [
            ("bucket{route=\"/healthz\",le=\"0.00025\"}", "0"),
            ("bucket{route=\"/healthz\",le=\"0.0005\"}", "1"),
            ("bucket{route=\"/healthz\",le=\"0.0025\"}", "2"),
            ("bucket{route=\"/healthz\",le=\"+Inf\"}", "2"),
            ("sum{route=\"/healthz\"}", "0.0023"),
            ("count{route=\"/healthz\"}", "2"),
            ("bucket{route=\"unmatched\",le=\"5\"}", "0"),
            ("bucket{route=\"unmatched\",le=\"+Inf\"}", "1"),
            ("count{route=\"unmatched\"}", "1"),
        ] {
            let line = format!("\nitau_codigo_http_request_duration_seconds_{series} {value}\n");
            assert!(text.contains(&line), "{line} not in {text}");
        }
        assert!(
            text.contains("itau_codigo_store_errors_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("\nitau_codigo_log_lines_dropped_total "),
            "{text}"
        );
        assert!(
            text.contains("itau_codigo_credential_reloads_total{outcome=\"ok\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("itau_codigo_credential_reloads_total{outcome=\"failed\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("\nitau_codigo_store_up 1\n"), "{text}");
    }

    #[test]
    fn the_snapshot_leaves_out_what_it_does_not_know_instead_of_saying_0() {
        let mut text = String::new();
        Snapshot::default().render(&mut text);
        assert!(
            text.contains("\nitau_codigo_build_info{version=\""),
            "{text}"
        );
        for absent in [
            "process_",
            "itau_codigo_store_pool",
            "itau_codigo_store_last_import",
            "itau_codigo_store_accounts",
        ] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }
    }

    #[test]
    fn the_snapshot_renders_the_pool_and_the_last_import() {
        let snapshot = Snapshot {
            process: ProcessFigures {
                max_fds: Some(1024),
                ..ProcessFigures::default()
            },
            pool: Some(PoolStatus {
                max_size: 6,
                size: 3,
                in_use: 2,
                waiting: 1,
            }),
            last_import: Some(LastImport {
                committed_at: 1_767_225_600.25,
                accounts: 31,
            }),
        };
        let mut text = String::new();
        snapshot.render(&mut text);
        for line in [
            "# TYPE process_max_fds gauge\nprocess_max_fds 1024\n",
            "\nitau_codigo_store_pool_max_connections 6\n",
            "\nitau_codigo_store_pool_connections 3\n",
            "\nitau_codigo_store_pool_connections_in_use 2\n",
            "\nitau_codigo_store_pool_waiting 1\n",
            "\nitau_codigo_store_last_import_timestamp_seconds 1767225600.25\n",
            "\nitau_codigo_store_accounts 31\n",
        ] {
            assert!(text.contains(line), "{line:?} not in {text}");
        }
        assert!(!text.contains("process_cpu"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
