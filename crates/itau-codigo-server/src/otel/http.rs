//! The exporter's HTTP client: ureq, blocking, on the batch processor's own thread (the
//! SDK runs each export there to completion), TLS through rustls with ring and the
//! system's roots (or `OTEL_EXPORTER_OTLP_CERTIFICATE`'s). A failed export is logged
//! once when exports start failing and once when they work again, never with the
//! endpoint's credentials or a span's content.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use super::config::Endpoint;

/// The largest collector answer read (an `ExportTraceServiceResponse` is a few bytes).
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// Why the client cannot be made; `serve` exits 2 with this message.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The certificate file cannot be read or holds no certificate.
    #[error("cannot read the OTLP endpoint's certificates from {path}: {reason}")]
    Certificate {
        /// The file named by `OTEL_EXPORTER_OTLP_CERTIFICATE`.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The system's roots cannot be loaded for an `https` endpoint.
    #[error("cannot load the system's root certificates for the https OTLP endpoint: {0}")]
    SystemRoots(String),
}

/// Sends each export once (the exporter retries) within `timeout`.
#[derive(Debug)]
pub(crate) struct OtlpHttpClient {
    agent: ureq::Agent,
    endpoint: String,
    failing: AtomicBool,
}

impl OtlpHttpClient {
    pub(crate) fn new(
        endpoint: &Endpoint,
        timeout: Duration,
        certificate: Option<&Path>,
    ) -> Result<Self, ClientError> {
        let mut config = ureq::Agent::config_builder()
            // The exporter reads the status itself (and retries 429 and 5xx).
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .user_agent(concat!("itau-codigo/", env!("CARGO_PKG_VERSION")));
        if endpoint.is_https() {
            let roots = match certificate {
                Some(path) => file_roots(path)?,
                None => system_roots()?,
            };
            config = config.tls_config(
                TlsConfig::builder()
                    .provider(TlsProvider::Rustls)
                    .unversioned_rustls_crypto_provider(Arc::new(
                        rustls::crypto::ring::default_provider(),
                    ))
                    .root_certs(RootCerts::Specific(Arc::new(roots)))
                    .build(),
            );
        }
        Ok(Self {
            agent: config.build().new_agent(),
            endpoint: endpoint.to_string(),
            failing: AtomicBool::new(false),
        })
    }

    fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, ureq::Error> {
        let (parts, body) = request.into_parts();
        let request = Request::from_parts(parts, body.as_ref());
        let response = self.agent.run(request)?;
        let (parts, mut body) = response.into_parts();
        let bytes = body.with_config().limit(MAX_RESPONSE_BYTES).read_to_vec()?;
        Ok(Response::from_parts(parts, Bytes::from(bytes)))
    }

    /// Logs the first failure of a run of failures, and the first success after one.
    fn report(&self, outcome: Result<u16, &ureq::Error>) {
        let failed = !matches!(outcome, Ok(200..=299));
        if self.failing.swap(failed, Ordering::Relaxed) == failed {
            return;
        }
        match outcome {
            Ok(status) if failed => tracing::warn!(
                endpoint = %self.endpoint,
                status,
                "trace export refused by the OTLP endpoint; spans are dropped until it accepts them"
            ),
            Err(error) => tracing::warn!(
                endpoint = %self.endpoint,
                error = %error,
                "trace export failed; spans are dropped until the OTLP endpoint answers"
            ),
            Ok(_) => tracing::info!(endpoint = %self.endpoint, "trace export works again"),
        }
    }
}

#[async_trait]
impl HttpClient for OtlpHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let outcome = self.send(request);
        self.report(outcome.as_ref().map(|r| r.status().as_u16()));
        Ok(outcome?)
    }
}

fn file_roots(path: &Path) -> Result<Vec<Certificate<'static>>, ClientError> {
    let error = |reason: String| ClientError::Certificate {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    let roots: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(certificate)) => Some(Ok(certificate)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()
        .map_err(|e| error(e.to_string()))?;
    if roots.is_empty() {
        return Err(error("no certificate in it".to_owned()));
    }
    Ok(roots)
}

fn system_roots() -> Result<Vec<Certificate<'static>>, ClientError> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        let reason = found
            .errors
            .first()
            .map_or_else(|| "none found".to_owned(), ToString::to_string);
        return Err(ClientError::SystemRoots(reason));
    }
    Ok(found
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect())
}
