//! The service's configuration: one typed value, read once (defaults, then
//! `ITAU_CODIGO_*`, then flags: clap does the layering) and passed down.
//!
//! Every default lives here, once: clap shows and applies these constants, and
//! [`ServeConfig::for_tests`] and `ThrottleConfig::default()` build from them.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::{Credentials, CredentialsError, ThrottleConfig};
use crate::client::TrustedProxies;
use crate::otel::{OtelConfigError, OtelDefaults, RootSampler, SamplerConfig, TracingConfig};
use crate::store::{DbLocation, SqliteReads};

/// The literal behind [`DEFAULT_DB`], as a macro so that help texts can `concat!` it.
macro_rules! default_db {
    () => {
        "sqlite:itau-codigo.db"
    };
}
pub(crate) use default_db;

/// `--bind`: loopback, so that a bare `serve` is not reachable from other machines.
pub const DEFAULT_BIND: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));
/// `--db`: where the data lives unless `--db` says otherwise.
pub const DEFAULT_DB: &str = default_db!();
/// `--client-timeout`: how long a client may take to send its head, then its body.
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// `--drain-period`: how long, after SIGTERM, readiness fails while requests are still
/// answered. It covers a load balancer's health check (e.g. HAProxy at `inter 1s
/// fall 2`: down within about 3 s) with room to spare.
pub const DEFAULT_DRAIN_PERIOD: Duration = Duration::from_secs(5);
/// `--shutdown-timeout`: how long in-flight requests get after the drain (or SIGINT).
/// A consulta takes milliseconds; with the drain it stays within the 10 s that podman,
/// Docker and Kubernetes (`terminationGracePeriodSeconds`, set to match) give a
/// container before they kill it, so that SIGTERM ends in exit 0.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(4);
/// `--max-connections`: connections each worker serves at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 25_000;
/// `--login-max-failures`: failed logins that lock a client address out.
pub const DEFAULT_LOGIN_MAX_FAILURES: u32 = 10;
/// `--login-lockout`: how long a locked-out address stays refused.
pub const DEFAULT_LOGIN_LOCKOUT: Duration = Duration::from_secs(60);
/// Most client addresses the login throttle remembers at once, and apart most blocks
/// (IPv4 /24, IPv6 /48): one IPv6 /48 holds this many /64 networks. An entry costs a
/// few hundred bytes at most (its queue items included), so both tables together stay
/// within a few tens of MiB.
pub const DEFAULT_LOGIN_THROTTLE_CAPACITY: usize = 65_536;
/// `--log`: the log filter.
pub const DEFAULT_LOG: &str = "info";
/// How often, at most, `/readyz` (and the `itau_codigo_store_up` gauge) asks the store
/// whether it answers: callers in between share the last answer, so that a flood of
/// probes costs the store nothing more.
pub const DEFAULT_READINESS_INTERVAL: Duration = Duration::from_secs(1);
/// How long that check may take before it counts as "the store does not answer": well
/// under the usual health-check timeouts of load balancers.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(1);
/// Whether `/docs` is served.
pub const DEFAULT_DOCS: bool = true;
/// `OTEL_SERVICE_NAME`: the `service.name` of exported spans.
pub const DEFAULT_SERVICE_NAME: &str = "itau-codigo";
/// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` when unset
/// (`parentbased_traceidratio` at 0.01; BENCHMARKS.md, "Traces", has the figures
/// behind it): a trusted gateway's decision is followed, and of the requests nobody
/// decided for, one trace in a hundred is recorded.
pub const DEFAULT_TRACES_SAMPLER: SamplerConfig = SamplerConfig {
    parent_based: true,
    root: RootSampler::TraceIdRatio(0.01),
};
/// `OTEL_EXPORTER_OTLP_TIMEOUT`: how long one export may take, retries included (the
/// specification's default).
pub const DEFAULT_OTLP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `serve`, once stopped, waits for the spans still buffered to be exported:
/// the drain and the shutdown timeout already take most of a container's stop timeout.
pub const TRACE_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);
/// `--sqlite-mmap`: off, because a memory-mapped store file truncated or copied over in
/// place under the server kills it (SIGBUS) where a copied read answers 500; see
/// [`SqliteReads`].
pub const DEFAULT_SQLITE_MMAP: bool = false;

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free one).
    pub bind: SocketAddr,
    /// Where the data lives.
    pub store: StoreConfig,
    /// Worker threads (actix's default, one per core, when `None`).
    pub workers: Option<usize>,
    /// HTTPS certificate chain and key (PEM); plain HTTP when `None`.
    pub tls: Option<TlsFiles>,
    /// Who may call the API.
    pub credentials: Credentials,
    /// How long a client may take to send its request head, and then its body.
    pub client_timeout: Duration,
    /// How long, after SIGTERM, readiness fails while answers go on (zero: no drain).
    pub drain_period: Duration,
    /// How long in-flight requests may take to finish after the drain (or SIGINT).
    pub shutdown_timeout: Duration,
    /// Most connections served at once per worker; further ones wait in the backlog.
    pub max_connections: usize,
    /// When failed logins lock a client address out.
    pub login_throttle: ThrottleConfig,
    /// Peers whose `X-Forwarded-For` / `Forwarded` headers say who the client is.
    pub trusted_proxies: TrustedProxies,
    /// Whether `/docs` (the interactive API reference) is served.
    pub docs: bool,
    /// How often, at most, the store's readiness is checked (zero: at every call).
    pub readiness_interval: Duration,
    /// Whether and where spans are exported (the `OTEL_*` variables).
    pub tracing: TracingConfig,
    /// How a SQLite store file's pages are read (`--sqlite-mmap`).
    pub sqlite_reads: SqliteReads,
}

impl ServeConfig {
    /// A configuration for tests and embedding: loopback, port 0, two workers, the
    /// given store and credentials, the defaults elsewhere.
    pub fn for_tests(store: StoreConfig, credentials: Credentials) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            store,
            workers: Some(2),
            tls: None,
            credentials,
            client_timeout: DEFAULT_CLIENT_TIMEOUT,
            drain_period: DEFAULT_DRAIN_PERIOD,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            login_throttle: ThrottleConfig::default(),
            trusted_proxies: TrustedProxies::default(),
            docs: DEFAULT_DOCS,
            readiness_interval: DEFAULT_READINESS_INTERVAL,
            tracing: TracingConfig::Off,
            sqlite_reads: SqliteReads::from_mmap(DEFAULT_SQLITE_MMAP),
        }
    }
}

/// Written here rather than beside the type, so that every default is in one file.
impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            max_failures: DEFAULT_LOGIN_MAX_FAILURES,
            lockout: DEFAULT_LOGIN_LOCKOUT,
            capacity: DEFAULT_LOGIN_THROTTLE_CAPACITY,
        }
    }
}

/// Written here, as the throttle's, so that every default is in one file.
impl Default for OtelDefaults {
    fn default() -> Self {
        Self {
            service_name: DEFAULT_SERVICE_NAME,
            sampler: DEFAULT_TRACES_SAMPLER,
            timeout: DEFAULT_OTLP_TIMEOUT,
        }
    }
}

/// Which store `serve` answers from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// An existing database (`--db`).
    Db(DbLocation),
    /// The demo data set, loaded into an in-memory SQLite database (`--demo`).
    Demo,
}

/// PEM files for HTTPS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// Why the configuration cannot be used; `serve` exits 2 with this message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The credentials are missing, incomplete or unreadable.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// `--db` is not a store location.
    #[error("--db: {0}")]
    Db(String),
    /// `--demo` with `--db` (or `ITAU_CODIGO_DB`).
    #[error("--demo serves its own in-memory data: drop --db (or unset ITAU_CODIGO_DB)")]
    DemoWithDb,
    /// `--demo` on an address other people can reach.
    #[error("--demo serves demo credentials and binds to loopback only, but --bind is {0}")]
    DemoNotLoopback(SocketAddr),
    /// An `OTEL_*` variable is unusable.
    #[error(transparent)]
    Tracing(#[from] OtelConfigError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_bind_is_loopback_port_8080() {
        assert_eq!(DEFAULT_BIND.to_string(), "127.0.0.1:8080");
    }
}
