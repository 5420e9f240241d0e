//! Whether the store answers, as `/readyz` and the `itau_codigo_store_up` gauge tell it.
//!
//! `/readyz` takes no credentials, so anyone who reaches it could otherwise make the
//! service query its store as often as they like, on the pool that serves consultas.
//! One check is made at most once per interval, whoever asks and however many ask at
//! once, with a timeout of its own; every caller in between gets its result.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use crate::store::Store;

/// The store's readiness, checked at most once per interval.
#[derive(Debug)]
pub struct StoreCheck {
    store: Arc<dyn Store>,
    interval: Duration,
    timeout: Duration,
    metrics: Arc<Metrics>,
    /// When the last check was made and what it found. An async lock: callers that
    /// arrive while a check runs wait for its result instead of starting their own.
    last: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

impl StoreCheck {
    /// A check of `store` made at most once per `interval`, failing after `timeout`;
    /// its outcome goes to `metrics` (`itau_codigo_store_up`, and failures to
    /// `itau_codigo_store_errors_total`).
    pub fn new(
        store: Arc<dyn Store>,
        interval: Duration,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store,
            interval,
            timeout,
            metrics,
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// Whether the store answered its latest check, made now if the last one is older
    /// than the interval.
    pub async fn store_up(&self) -> bool {
        let mut last = self.last.lock().await;
        if let Some((at, up)) = *last
            && at.elapsed() < self.interval
        {
            return up;
        }
        let up = match tokio::time::timeout(self.timeout, self.store.ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::error!(error = %error, "readiness: the store does not answer");
                false
            }
            Err(_elapsed) => {
                tracing::error!(
                    timeout_ms = self.timeout.as_millis() as u64,
                    "readiness: the store did not answer in time"
                );
                false
            }
        };
        if up {
            // Asked with the check, not per scrape: it costs the store one more query a
            // second at most.
            match tokio::time::timeout(self.timeout, self.store.replay_lag()).await {
                Ok(Ok(lag)) => self.metrics.replay_lag(lag),
                Ok(Err(error)) => {
                    tracing::warn!(error = %error, "readiness: the replay lag could not be read");
                    self.metrics.replay_lag(None);
                }
                Err(_elapsed) => self.metrics.replay_lag(None),
            }
        } else {
            self.metrics.store_error();
        }
        self.metrics.store_up(up);
        *last = Some((Instant::now(), up));
        up
    }
}
