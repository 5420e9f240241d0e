//! Traces: every request belongs to a W3C trace (the caller's, from `traceparent`, or a
//! new one), whose ID goes into the logs and the `traceresponse` header. With an OTLP
//! endpoint configured ([`TracingConfig`]), the requests the sampler picks are recorded
//! as a server span, with a client span for the store lookup, and exported in batches
//! over OTLP/HTTP by a thread of the SDK's; without one, nothing is recorded and no SDK
//! code runs on a request.
//!
//! What a span holds follows the logging rules: the route (never the path a caller
//! typed), the status, the client address, the correlation and flow IDs, the masked
//! account code; never a credential, a full account code or personal data.

mod config;
mod http;
mod sampler;

use std::borrow::Cow;
use std::cell::Cell;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{HeaderMap, HeaderValue};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SdkTracer, SdkTracerProvider};

pub use self::config::{
    Endpoint, OtelConfigError, OtelDefaults, OtlpConfig, RootSampler, SamplerConfig, TracingConfig,
};
pub use self::http::ClientError;
use self::sampler::{Caller, CallerAwareSampler, Parent};
use crate::trace_context::{self, TraceParent};
pub use opentelemetry::trace::{SpanId, TraceId};

/// The instrumentation scope of the service's spans.
const SCOPE: &str = "itau-codigo";

/// The traces of a running service: off, or an SDK tracer exporting over OTLP.
#[derive(Debug, Clone, Default)]
pub struct Tracing {
    exporter: Option<Arc<Exporter>>,
}

#[derive(Debug)]
struct Exporter {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    /// The provider's sampler too.
    sampler: CallerAwareSampler,
    /// `db.system.name` of the store lookups.
    db_system: &'static str,
}

/// Why tracing cannot start; `serve` exits 2 with this message.
#[derive(Debug, thiserror::Error)]
pub enum TracingError {
    /// The HTTP client cannot be made.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The SDK refused the exporter's configuration (e.g. compression it lacks).
    #[error("cannot set up the OTLP exporter: {0}")]
    Exporter(String),
}

impl Tracing {
    /// Starts the exporter `config` asks for; `db_system` names the store in lookup
    /// spans (`sqlite`, `postgresql`).
    ///
    /// # Errors
    ///
    /// The endpoint's certificates cannot be read, or the SDK refuses the exporter.
    pub fn start(config: &TracingConfig, db_system: &'static str) -> Result<Self, TracingError> {
        let TracingConfig::Otlp(otlp) = config else {
            return Ok(Self::default());
        };
        let client =
            http::OtlpHttpClient::new(&otlp.endpoint, otlp.timeout, otlp.certificate.as_deref())?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(otlp.endpoint.url())
            .with_timeout(otlp.timeout)
            .build()
            .map_err(|e| TracingError::Exporter(e.to_string()))?;
        let sampler = CallerAwareSampler::new(otlp.sampler);
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(sampler.clone())
            .with_id_generator(PresetTraceId)
            .with_resource(
                Resource::builder()
                    .with_service_name(otlp.service_name.clone())
                    .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                    .build(),
            )
            .build();
        let tracer = provider.tracer(SCOPE);
        tracing::info!(
            endpoint = %otlp.endpoint,
            sampler = %otlp.sampler,
            service_name = otlp.service_name,
            "exporting traces over OTLP/HTTP"
        );
        Ok(Self {
            exporter: Some(Arc::new(Exporter {
                provider,
                tracer,
                sampler,
                db_system,
            })),
        })
    }

    /// Whether spans are exported.
    pub fn is_on(&self) -> bool {
        self.exporter.is_some()
    }

    /// The trace of a request with `headers` from a peer that is (or is not) a trusted
    /// proxy: the caller's trace when its `traceparent` is usable, else a new one; a
    /// span of its own in it, recorded when exported and sampled.
    pub fn start_request(&self, headers: &HeaderMap, trusted_peer: bool) -> RequestTrace {
        let parent = TraceParent::from_headers(headers).ok().flatten();
        let ids = RandomIdGenerator::default();
        let trace_id = parent.map_or_else(|| ids.new_trace_id(), |p| p.trace_id);
        let caller = if trusted_peer {
            Caller::Trusted
        } else {
            Caller::Untrusted
        };
        // The sampler's decision first: a request it drops costs no SDK span.
        let recorded = self.exporter.as_ref().filter(|exporter| {
            let parent = parent.map(|p| Parent::Remote {
                sampled: p.flags.is_sampled(),
                caller,
            });
            exporter.sampler.records(parent, trace_id)
        });
        let Some(exporter) = recorded else {
            return RequestTrace {
                trace_id,
                span_id: ids.new_span_id(),
                sampled: false,
                recording: None,
            };
        };
        let mut parent_cx = Context::new();
        if let Some(parent) = parent {
            parent_cx = parent_cx
                .with_remote_span_context(SpanContext::new(
                    parent.trace_id,
                    parent.parent_id,
                    parent.flags,
                    true,
                    trace_context::tracestate(headers),
                ))
                .with_value(caller);
        }
        // A new trace keeps the ID the decision was made on.
        NEXT_TRACE_ID.set(Some(trace_id));
        let span = exporter
            .tracer
            .span_builder("HTTP")
            .with_kind(SpanKind::Server)
            .start_with_context(&exporter.tracer, &parent_cx);
        NEXT_TRACE_ID.set(None);
        // The trace is the one decided on (the SDK's span is in it: the caller's trace,
        // or the preset ID); the span and the final word on sampling are the SDK's.
        let context = span.span_context();
        let (span_id, sampled) = (context.span_id(), context.trace_flags().is_sampled());
        let recording = span.is_recording().then(|| Recording {
            context: parent_cx.with_span(span),
            exporter: Arc::clone(exporter),
        });
        RequestTrace {
            trace_id,
            span_id,
            sampled,
            recording,
        }
    }

    /// Exports what is still buffered and stops the exporter, waiting `timeout` at most.
    pub fn shutdown(&self, timeout: Duration) {
        if let Some(exporter) = &self.exporter
            && let Err(error) = exporter.provider.shutdown_with_timeout(timeout)
        {
            tracing::warn!(error = %error, "the last spans may not have been exported");
        }
    }
}

thread_local! {
    /// The trace ID [`PresetTraceId`] gives the next new trace made on this thread.
    static NEXT_TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
}

/// The SDK's ID generator: random span IDs, and for a new trace the ID
/// [`Tracing::start_request`] already drew and sampled on (set just before it asks
/// for the span, on the same thread), so that the trace the SDK records is the one
/// the sampler decided on, logged and sent back.
#[derive(Debug, Clone, Copy, Default)]
struct PresetTraceId;

impl IdGenerator for PresetTraceId {
    fn new_trace_id(&self) -> TraceId {
        NEXT_TRACE_ID
            .take()
            .unwrap_or_else(|| RandomIdGenerator::default().new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        RandomIdGenerator::default().new_span_id()
    }
}

/// One request's place in its trace.
#[derive(Debug)]
pub struct RequestTrace {
    trace_id: TraceId,
    span_id: SpanId,
    sampled: bool,
    recording: Option<Recording>,
}

/// A recorded request span, and what its children need.
#[derive(Debug, Clone)]
struct Recording {
    context: Context,
    exporter: Arc<Exporter>,
}

/// What the middleware knows of a request once it is answered, for its span.
#[derive(Debug, Clone, Copy)]
pub struct RequestOutcome<'a> {
    /// The request method.
    pub method: &'a str,
    /// The matched route's pattern, `None` for an unknown path.
    pub route: Option<&'static str>,
    /// The response status.
    pub status: u16,
    /// Who the client is (see `client.rs`), when known.
    pub client: Option<IpAddr>,
    /// The correlation ID the response carries.
    pub correlation_id: &'a str,
    /// The flow ID the response carries, if any.
    pub flow_id: Option<&'a str>,
    /// The masked account code, if the body was read.
    pub conta: Option<&'a str>,
    /// The request's `servico_digital`, if given.
    pub servico_digital: Option<&'a str>,
}

impl RequestTrace {
    /// The trace the request belongs to.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// `traceresponse`: the trace, the request's span, and whether it is recorded.
    pub fn traceresponse(&self) -> HeaderValue {
        trace_context::traceresponse(self.trace_id, self.span_id, self.sampled)
    }

    /// What a store lookup made during the request needs to record its span (put in
    /// the request's extensions); `None` when the request is not recorded.
    pub fn scope(&self) -> Option<TraceScope> {
        self.recording.clone().map(TraceScope)
    }

    /// Ends the request's span, if recorded, with what the answer was.
    pub fn finish(self, outcome: &RequestOutcome<'_>) {
        let Some(recording) = self.recording else {
            return;
        };
        let span = recording.context.span();
        // HTTP semantic conventions: `{method} {route}`, the method alone without one.
        span.update_name(match outcome.route {
            Some(route) => Cow::Owned(format!("{} {route}", outcome.method)),
            None => Cow::Owned(outcome.method.to_owned()),
        });
        let mut attributes = vec![
            KeyValue::new("http.request.method", outcome.method.to_owned()),
            KeyValue::new("http.response.status_code", i64::from(outcome.status)),
            KeyValue::new(
                "itau_codigo.correlation_id",
                outcome.correlation_id.to_owned(),
            ),
        ];
        let optional = [
            ("http.route", outcome.route.map(str::to_owned)),
            ("client.address", outcome.client.map(|c| c.to_string())),
            ("itau_codigo.flow_id", outcome.flow_id.map(str::to_owned)),
            ("itau_codigo.conta", outcome.conta.map(str::to_owned)),
            (
                "itau_codigo.servico_digital",
                outcome.servico_digital.map(str::to_owned),
            ),
        ];
        attributes.extend(
            optional
                .into_iter()
                .filter_map(|(key, value)| Some(KeyValue::new(key, value?))),
        );
        if outcome.status >= 500 {
            attributes.push(KeyValue::new("error.type", outcome.status.to_string()));
            span.set_status(Status::error(""));
        }
        span.set_attributes(attributes);
        span.end();
    }
}

/// The recorded request a store lookup belongs to.
#[derive(Debug, Clone)]
pub struct TraceScope(Recording);

impl TraceScope {
    /// Starts the store lookup's span, a child of the request's.
    pub fn store_lookup(&self) -> StoreLookup {
        let exporter = &self.0.exporter;
        let span = exporter
            .tracer
            .span_builder("SELECT clientes")
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("db.system.name", exporter.db_system),
                KeyValue::new("db.operation.name", "SELECT"),
                KeyValue::new("db.collection.name", "clientes"),
            ])
            .start_with_context(&exporter.tracer, &self.0.context);
        StoreLookup(Some(span))
    }
}

/// A store lookup's span, ended by [`StoreLookup::finish`] (or when dropped, as a
/// lookup that did not finish).
#[derive(Debug, Default)]
pub struct StoreLookup(Option<opentelemetry_sdk::trace::Span>);

/// How a store lookup ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupOutcome {
    /// The account is stored.
    Found,
    /// No such account.
    NotFound,
    /// The store failed.
    Failed,
}

impl StoreLookup {
    /// A lookup that is not recorded.
    pub fn none() -> Self {
        Self(None)
    }

    /// Ends the span with the outcome (never the account or the store's error text).
    pub fn finish(mut self, outcome: LookupOutcome) {
        let Some(mut span) = self.0.take() else {
            return;
        };
        span.set_attribute(KeyValue::new(
            "itau_codigo.found",
            outcome == LookupOutcome::Found,
        ));
        if outcome == LookupOutcome::Failed {
            span.set_attribute(KeyValue::new("error.type", "store_error"));
            span.set_status(Status::error("the store failed"));
        }
        span.end();
    }
}
