//! Building the application: one function that `main` and the tests both call.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::auth::{Gatekeeper, watch_password_file};
use crate::config::{ServeConfig, StoreConfig, TlsFiles};
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::{self, Store};
use crate::{demo, request_context, routes};

/// A bound, not yet running, service.
pub struct Application {
    address: SocketAddr,
    https: bool,
    server: Server,
    store: String,
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
        let store = open_store(&config.store, pool_size(config))?;
        Self::build_with_store(config, store)
    }

    /// Binds with a store made elsewhere (tests inject faulty ones).
    ///
    /// # Errors
    ///
    /// The address cannot be bound or the TLS files are unusable.
    pub fn build_with_store(config: &ServeConfig, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.bind)
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let address = listener.local_addr()?;
        let description = store.describe();
        let docs = config.docs;
        let metrics = Arc::new(Metrics::default());
        let auth = Gatekeeper::new(config.credentials.clone(), config.login_throttle);
        let watched = Arc::clone(auth.credentials());
        let reloads = Arc::clone(&metrics);
        actix_web::rt::spawn(watch_password_file(watched, move |ok| {
            reloads.credential_reload(ok);
        }));
        let state = web::Data::new(AppState {
            store,
            auth,
            client_timeout: config.client_timeout,
            trusted_proxies: config.trusted_proxies.clone(),
            metrics,
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
            .max_connections(config.max_connections);
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

    /// Serves until SIGTERM/SIGINT (or a handle's stop); in-flight requests get up to the
    /// shutdown timeout to finish.
    ///
    /// # Errors
    ///
    /// The server failed.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn pool_size(config: &ServeConfig) -> u32 {
    let workers = config
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    u32::try_from(workers * 2 + 2).unwrap_or(64)
}

/// Opens the store `config` names.
///
/// # Errors
///
/// As [`store::open`], or the demo data could not be loaded.
pub fn open_store(config: &StoreConfig, pool_size: u32) -> anyhow::Result<Arc<dyn Store>> {
    match config {
        StoreConfig::Db(location) => Ok(store::open(location, pool_size)?),
        StoreConfig::Demo => demo::open_store(pool_size),
    }
}

fn tls_config(files: &TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let certs = rustls_pemfile::certs(&mut read(&files.cert)?.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("no PEM certificates in {}", files.cert.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "no certificate in {}",
        files.cert.display()
    );
    let key = rustls_pemfile::private_key(&mut read(&files.key)?.as_slice())
        .with_context(|| format!("cannot parse the key in {}", files.key.display()))?
        .with_context(|| format!("no private key in {}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match or are unsupported")?;
    Ok(config)
}
