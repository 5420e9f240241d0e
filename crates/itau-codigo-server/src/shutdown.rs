//! How `serve` stops: on SIGTERM it drains (readiness fails at once so that load
//! balancers take the replica out, answers go on, each closing its connection), then
//! stops accepting and lets in-flight requests finish; SIGINT skips the drain, SIGQUIT
//! stops at once.
//!
//! A load balancer keeps sending to a replica until its health check has failed, and
//! may hold idle keep-alive connections to it: closing the listener on SIGTERM would
//! refuse or reset the requests in that window. The drain covers the window; answering
//! with `Connection: close` during it leaves no idle connection to race the close.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Whether `serve` is draining: set once, on SIGTERM, never cleared.
#[derive(Debug, Default)]
pub(crate) struct Draining(AtomicBool);

impl Draining {
    /// Whether the drain has begun.
    pub(crate) fn is_on(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Begins the drain.
    pub(crate) fn begin(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The stop signals, caught from the moment this exists: installed before the service
/// says it serves, so that a SIGTERM sent right after cannot meet the default action
/// (an exit by signal, no drain).
#[derive(Debug)]
pub(crate) struct StopSignals {
    terminate: Signal,
    interrupt: Signal,
    quit: Signal,
}

impl StopSignals {
    /// Installs the handlers (inside the runtime).
    ///
    /// # Errors
    ///
    /// A handler cannot be installed.
    pub(crate) fn install() -> std::io::Result<Self> {
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            quit: signal(SignalKind::quit())?,
        })
    }

    /// Waits for a stop signal and stops `server` as the signal asks: SIGTERM drains
    /// for `drain_period` first (a second SIGTERM or a SIGINT during it cuts it short),
    /// SIGINT stops gracefully at once, SIGQUIT stops without waiting for in-flight
    /// requests.
    pub(crate) async fn stop(
        self,
        server: ServerHandle,
        draining: &Draining,
        drain_period: Duration,
    ) {
        let Self {
            mut terminate,
            mut interrupt,
            mut quit,
        } = self;
        tokio::select! {
            _ = terminate.recv() => {
                if !drain_period.is_zero() {
                    draining.begin();
                    tracing::info!(
                        drain_period_s = drain_period.as_secs_f64(),
                        "SIGTERM: draining (readiness fails, answers close their connections), then stopping"
                    );
                    tokio::select! {
                        () = tokio::time::sleep(drain_period) => {}
                        _ = terminate.recv() => tracing::info!("SIGTERM again: the drain is cut short"),
                        _ = interrupt.recv() => tracing::info!("SIGINT: the drain is cut short"),
                    }
                }
                tracing::info!("stopping: no new connections; in-flight requests finish");
                server.stop(true).await;
            }
            _ = interrupt.recv() => {
                tracing::info!("SIGINT: stopping without a drain; in-flight requests finish");
                server.stop(true).await;
            }
            _ = quit.recv() => {
                tracing::info!("SIGQUIT: stopping at once");
                server.stop(false).await;
            }
        }
    }
}
