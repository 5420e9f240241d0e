//! Building the application: one function that `main` and the tests both call.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::auth::{Gatekeeper, watch_password_file};
use crate::config::{READINESS_TIMEOUT, ServeConfig, StoreConfig, TRACE_FLUSH_TIMEOUT, TlsFiles};
use crate::metrics::Metrics;
use crate::otel::Tracing;
use crate::readiness::StoreCheck;
use crate::shutdown::{Draining, StopSignals};
use crate::state::AppState;
use crate::store::{self, DbLocation, SqliteReads, Store};
use crate::{demo, request_context, routes};

/// A bound, not yet running, service.
pub struct Application {
    address: SocketAddr,
    https: bool,
    server: Server,
    store: String,
    draining: Arc<Draining>,
    drain_period: Duration,
    signals: StopSignals,
    tracing: Tracing,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("address", &self.address)
            .field("https", &self.https)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Opens the configured store (loading the demo data for `--demo`) and binds.
    ///
    /// # Errors
    ///
    /// The store cannot be opened, the demo data cannot be loaded, the address cannot
    /// be bound, or the TLS files are unusable.
    pub fn build(config: &ServeConfig) -> anyhow::Result<Self> {
        let store = open_store(&config.store, pool_size(config), config.sqlite_reads)?;
        Self::build_with_store(config, store)
    }

    /// Binds with a store made elsewhere (tests inject faulty ones).
    ///
    /// # Errors
    ///
    /// The address cannot be bound, the TLS files are unusable, or the signal handlers
    /// cannot be installed.
    pub fn build_with_store(config: &ServeConfig, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.bind)
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let address = listener.local_addr()?;
        let description = store.describe();
        let docs = config.docs;
        let metrics = Arc::new(Metrics::default());
        let auth = Gatekeeper::new(
            config.credentials.clone(),
            config.login_throttle,
            Arc::clone(&metrics),
        );
        let watched = Arc::clone(auth.credentials());
        let reloads = Arc::clone(&metrics);
        actix_web::rt::spawn(watch_password_file(watched, move |ok| {
            reloads.credential_reload(ok);
        }));
        let readiness = StoreCheck::new(
            Arc::clone(&store),
            config.readiness_interval,
            READINESS_TIMEOUT,
            Arc::clone(&metrics),
        );
        let draining = Arc::new(Draining::default());
        let tracing = Tracing::start(&config.tracing, db_system(&config.store))?;
        let state = web::Data::new(AppState {
            store,
            readiness,
            auth,
            client_timeout: config.client_timeout,
            trusted_proxies: config.trusted_proxies.clone(),
            metrics,
            draining: Arc::clone(&draining),
            tracing: tracing.clone(),
        });
        let app = move || {
            App::new()
                .app_data(state.clone())
                .wrap(from_fn(request_context::middleware))
                .configure(routes::configure)
                .configure(|c| {
                    if docs {
                        routes::docs::configure(c)
                    }
                })
                .default_service(web::to(routes::route_not_found))
        };
        let mut server = HttpServer::new(app)
            .client_request_timeout(config.client_timeout)
            .client_disconnect_timeout(Duration::from_secs(1))
            .shutdown_timeout(config.shutdown_timeout.as_secs_f64().ceil() as u64)
            .max_connections(config.max_connections)
            // `run_until_stopped` handles them, with the drain.
            .disable_signals();
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        let server = match &config.tls {
            None => server.listen(listener)?,
            Some(files) => server.listen_rustls_0_23(listener, tls_config(files)?)?,
        };
        Ok(Self {
            address,
            https: config.tls.is_some(),
            server: server.run(),
            store: description,
            draining,
            drain_period: config.drain_period,
            signals: StopSignals::install().context("cannot install the signal handlers")?,
            tracing,
        })
    }

    /// The port actually bound (tests bind port 0).
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The address actually bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Whether the service speaks HTTPS.
    pub fn https(&self) -> bool {
        self.https
    }

    /// What the store is (no password).
    pub fn store_description(&self) -> &str {
        &self.store
    }

    /// A handle to stop the server (gracefully or not) from elsewhere.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until a stop signal (or a handle's stop): SIGTERM drains for the drain
    /// period first, SIGINT does not; in-flight requests then get up to the shutdown
    /// timeout to finish (`shutdown.rs`).
    ///
    /// # Errors
    ///
    /// The server failed.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let (signals, draining, drain_period) = (self.signals, self.draining, self.drain_period);
        let stopper =
            actix_web::rt::spawn(
                async move { signals.stop(handle, &draining, drain_period).await },
            );
        let served = self.server.await;
        stopper.abort();
        self.tracing.shutdown(TRACE_FLUSH_TIMEOUT);
        served
    }
}

/// `db.system.name` of the store's lookups in spans.
fn db_system(store: &StoreConfig) -> &'static str {
    match store {
        StoreConfig::Db(location) => location.system_name(),
        StoreConfig::Demo => "sqlite",
    }
}

fn pool_size(config: &ServeConfig) -> u32 {
    let workers = config
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    u32::try_from(workers * 2 + 2).unwrap_or(64)
}

/// Opens the store `config` names, a SQLite file read as `reads` says.
///
/// # Errors
///
/// As [`store::open`], or the demo data could not be loaded.
pub fn open_store(
    config: &StoreConfig,
    pool_size: u32,
    reads: SqliteReads,
) -> anyhow::Result<Arc<dyn Store>> {
    if reads == SqliteReads::Mapped && !matches!(config, StoreConfig::Db(DbLocation::SqliteFile(_)))
    {
        tracing::warn!("--sqlite-mmap applies to a SQLite file store only; ignored");
    }
    match config {
        StoreConfig::Db(location) => Ok(store::open(location, pool_size, reads)?),
        StoreConfig::Demo => demo::open_store(pool_size),
    }
}

fn tls_config(files: &TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .with_context(|| format!("cannot read the certificates in {}", files.cert.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "no certificate in {}",
        files.cert.display()
    );
    let key = match PrivateKeyDer::from_pem_file(&files.key) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => {
            anyhow::bail!("no private key in {}", files.key.display())
        }
        Err(error) => {
            Err(error).with_context(|| format!("cannot read the key in {}", files.key.display()))?
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match or are unsupported")?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).join(name)
    }

    fn error_of(cert: &str, key: &str) -> String {
        let files = TlsFiles {
            cert: fixture(cert),
            key: fixture(key),
        };
        format!("{:#}", tls_config(&files).err().unwrap())
    }

    #[test]
    fn a_certificate_and_its_key_make_a_tls_config() {
        let files = TlsFiles {
            cert: fixture("tls-cert.pem"),
            key: fixture("tls-key.pem"),
        };
        tls_config(&files).unwrap();
    }

    #[test]
    fn tls_file_errors_name_the_file() {
        let error = error_of("no-such-cert.pem", "tls-key.pem");
        assert!(
            error.contains("cannot read the certificates in") && error.contains("no-such-cert.pem"),
            "{error}"
        );
        let error = error_of("tls-key.pem", "tls-key.pem");
        assert!(
            error.contains("no certificate in") && error.contains("tls-key.pem"),
            "{error}"
        );
        let error = error_of("tls-cert.pem", "tls-cert.pem");
        assert!(
            error.contains("no private key in") && error.contains("tls-cert.pem"),
            "{error}"
        );
        let error = error_of("tls-cert.pem", "no-such-key.pem");
        assert!(
            error.contains("cannot read the key in") && error.contains("no-such-key.pem"),
            "{error}"
        );
    }

    /// RUSTSEC-2025-0134: `rustls-pemfile` is unmaintained; PEM goes through
    /// `rustls-pki-types`. Nothing in the workspace may bring it back.
    #[test]
    fn the_unmaintained_pem_crate_is_not_in_the_lockfile() {
        let lock = include_str!("../../../Cargo.lock");
        assert!(!lock.contains("name = \"rustls-pemfile\""));
    }
}
