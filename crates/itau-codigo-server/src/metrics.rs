//! Prometheus metrics, kept per application (no global recorder), so that every app a
//! test starts counts only its own requests.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The label for a path no route matches: one constant, so that scanners cannot grow
/// the number of series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Request counts, latency and store errors.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
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

impl Metrics {
    /// Counts one answered request.
    pub fn observe(&self, route: &'static str, status: u16, latency: Duration) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((route, status)).or_default() += 1;
        }
        let seconds = latency.as_secs_f64();
        if let Some(index) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.buckets[index].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add(
            u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
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
        if let Ok(requests) = self.requests.lock() {
            for ((route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "itau_codigo_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP itau_codigo_http_request_duration_seconds Time from request head to response, in seconds.\n");
        out.push_str("# TYPE itau_codigo_http_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "itau_codigo_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let total = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "itau_codigo_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {total}"
        );
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "itau_codigo_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "itau_codigo_http_request_duration_seconds_count {total}"
        );
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
        assert!(
            text.contains("itau_codigo_http_request_duration_seconds_bucket{le=\"0.0005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("itau_codigo_http_request_duration_seconds_bucket{le=\"0.0025\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("itau_codigo_http_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
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
}
