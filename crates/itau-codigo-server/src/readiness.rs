//! What the service asks its store about itself: whether it answers, as `/readyz` and
//! the `itau_codigo_store_up` gauge tell it, and what the last import recorded, as
//! `/metrics` tells it.
//!
//! `/readyz` and `/metrics` take no credentials, so anyone who reaches them could
//! otherwise make the service query its store as often as they like, on the pool that
//! serves consultas. Each question is asked at most once per interval, whoever asks
//! and however many ask at once, with a timeout of its own; every caller in between
//! gets the last answer.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use crate::store::{LastImport, Store};

/// The store's readiness and freshness, each checked at most once per interval.
#[derive(Debug)]
pub(crate) struct StoreCheck {
    store: Arc<dyn Store>,
    interval: Duration,
    timeout: Duration,
    metrics: Arc<Metrics>,
    up: AtMostOncePer<bool>,
    last_import: AtMostOncePer<Option<LastImport>>,
}

impl StoreCheck {
    /// A check of `store` made at most once per `interval`, failing after `timeout`;
    /// its outcome goes to `metrics` (`itau_codigo_store_up`, and failures to
    /// `itau_codigo_store_errors_total`).
    pub(crate) fn new(
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
            up: AtMostOncePer::default(),
            last_import: AtMostOncePer::default(),
        }
    }

    /// Whether the store answered its latest check, made now if the last one is older
    /// than the interval.
    pub(crate) async fn store_up(&self) -> bool {
        self.up
            .get(self.interval, async {
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
                    // Asked with the check, not per scrape: it costs the store one more
                    // query a second at most.
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
                up
            })
            .await
    }

    /// What the last import recorded in the store, read now if the last read is older
    /// than the interval; `None` when no import recorded anything, or when the store
    /// did not answer (the readiness check reports that).
    pub(crate) async fn last_import(&self) -> Option<LastImport> {
        self.last_import
            .get(self.interval, async {
                match tokio::time::timeout(self.timeout, self.store.last_import()).await {
                    Ok(Ok(last)) => last,
                    Ok(Err(error)) => {
                        tracing::debug!(error = %error, "cannot read the record of the last import");
                        None
                    }
                    Err(_elapsed) => None,
                }
            })
            .await
    }
}

/// A value worked out at most once per interval: callers that arrive while it is being
/// worked out wait for that result instead of starting their own.
#[derive(Debug)]
struct AtMostOncePer<T> {
    /// When it was last worked out, and what it was. An async lock, held while the
    /// value is worked out.
    last: tokio::sync::Mutex<Option<(Instant, T)>>,
}

impl<T> Default for AtMostOncePer<T> {
    fn default() -> Self {
        Self {
            last: tokio::sync::Mutex::new(None),
        }
    }
}

impl<T: Clone> AtMostOncePer<T> {
    /// The last value if it is younger than `interval`, else `work`'s.
    async fn get(&self, interval: Duration, work: impl Future<Output = T>) -> T {
        let mut last = self.last.lock().await;
        if let Some((at, value)) = &*last
            && at.elapsed() < interval
        {
            return value.clone();
        }
        let value = work.await;
        *last = Some((Instant::now(), value.clone()));
        value
    }
}
