//! The application state every handler and the request middleware share.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::Gatekeeper;
use crate::client::TrustedProxies;
use crate::metrics::Metrics;
use crate::otel::Tracing;
use crate::readiness::StoreCheck;
use crate::shutdown::Draining;
use crate::store::Store;

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct AppState {
    /// Where customers come from.
    pub store: Arc<dyn Store>,
    /// Who may call the API, and which client addresses are locked out.
    pub auth: Gatekeeper,
    /// How long a body may take to arrive.
    pub client_timeout: Duration,
    /// Whose forwarding headers say who the client is.
    pub trusted_proxies: TrustedProxies,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Whether the store answers (`/readyz`, `itau_codigo_store_up`), checked at most
    /// once per interval.
    pub readiness: StoreCheck,
    /// Set on SIGTERM: `/readyz` fails and every answer closes its connection.
    pub draining: Arc<Draining>,
    /// Each request's trace, and the exporter of the recorded ones.
    pub tracing: Tracing,
}
