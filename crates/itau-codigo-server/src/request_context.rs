//! What every request carries: its correlation and flow IDs (echoed in the response),
//! its trace ([`crate::otel`]: `traceparent` in, `traceresponse` out), a span, one
//! access-log line and its metrics.

use std::future::{Ready, ready};
use std::io::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use itau_codigo::{CodigoConta, MAX_ID_CHARS};
use tracing::Instrument;

use crate::metrics::UNMATCHED_ROUTE;
use crate::otel::{RequestOutcome, RequestTrace, TraceId, Tracing};
use crate::paths;
use crate::state::AppState;
use crate::telemetry::ACCESS_TARGET;
use crate::trace_context::{TRACERESPONSE, TraceIdText};

/// `x-itau-correlationID`.
pub const CORRELATION_ID: HeaderName = HeaderName::from_static("x-itau-correlationid");
/// `x-itau-flowID`.
pub const FLOW_ID: HeaderName = HeaderName::from_static("x-itau-flowid");

/// The IDs of one request.
#[derive(Debug, Clone)]
pub struct RequestIds {
    /// The request's correlation ID when usable, otherwise a new UUID.
    pub correlation_id: String,
    /// The request's flow ID when usable.
    pub flow_id: Option<String>,
    /// The W3C trace the request belongs to (all zeros if the middleware did not run).
    pub trace_id: TraceId,
}

/// What the consulta handler adds to the access log once the body is parsed.
#[derive(Debug, Clone)]
pub struct ConsultaLog {
    /// The account code asked for, masked when logged (never the full code: bank
    /// secrecy).
    pub codigo: CodigoConta,
    /// The request's `servico_digital`, validated.
    pub servico_digital: Option<String>,
}

impl RequestIds {
    fn from_request(request: &ServiceRequest, trace_id: TraceId) -> Self {
        let headers = request.headers();
        Self {
            correlation_id: usable_id(headers, &CORRELATION_ID)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            flow_id: usable_id(headers, &FLOW_ID),
            trace_id,
        }
    }
}

/// A header sent once whose value is 1 to `MAX_ID_CHARS` visible ASCII characters.
fn usable_id(headers: &actix_web::http::header::HeaderMap, name: &HeaderName) -> Option<String> {
    let mut values = headers.get_all(name);
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let bytes = value.as_bytes();
    let visible = (1..=MAX_ID_CHARS).contains(&bytes.len())
        && bytes.iter().all(|b| (0x21..=0x7e).contains(b));
    // Visible ASCII is valid UTF-8.
    visible.then(|| String::from_utf8_lossy(bytes).into_owned())
}

impl FromRequest for RequestIds {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(ids_of(request)))
    }
}

/// Who the client of a request is, as the middleware worked it out from the peer, the
/// trusted proxies and their forwarding headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The client the middleware attached (the TCP peer if it did not run).
pub fn client_of(request: &HttpRequest) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ClientAddress>()
        .map(|client| client.0)
        .or_else(|| request.peer_addr().map(|peer| peer.ip()))
}

/// The IDs the middleware attached (a fresh UUID if it did not run, e.g. in unit tests).
pub fn ids_of(request: &HttpRequest) -> RequestIds {
    request
        .extensions()
        .get::<RequestIds>()
        .cloned()
        .unwrap_or_else(|| RequestIds {
            correlation_id: uuid::Uuid::new_v4().to_string(),
            flow_id: None,
            trace_id: TraceId::INVALID,
        })
}

/// The middleware: IDs in, IDs out, a span around the request, a log line and metrics.
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let trace = start_trace(&request, state.as_ref().map(|state| &***state));
    let ids = RequestIds::from_request(&request, trace.trace_id());
    request.extensions_mut().insert(ids.clone());
    if let Some(scope) = trace.scope() {
        request.extensions_mut().insert(scope);
    }
    let method = request.method().clone();
    let client = request.peer_addr().map(|peer| match &state {
        Some(state) => state.trusted_proxies.client(peer.ip(), request.headers()),
        None => peer.ip(),
    });
    if let Some(client) = client {
        request.extensions_mut().insert(ClientAddress(client));
    }
    let span = request_span(&ids);
    let mut response = next.call(request).instrument(span.clone()).await?;

    if state.as_ref().is_some_and(|state| state.draining.is_on()) {
        // No idle keep-alive connection may race the listener's close.
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&ids.correlation_id) {
        headers.insert(CORRELATION_ID, value);
    }
    if let Some(flow_id) = ids
        .flow_id
        .as_deref()
        .and_then(|f| HeaderValue::from_str(f).ok())
    {
        headers.insert(FLOW_ID, flow_id);
    }
    headers.insert(TRACERESPONSE, trace.traceresponse());
    let matched = paths::label(response.request().match_pattern().as_deref());
    let route = matched.unwrap_or(UNMATCHED_ROUTE);
    let status = response.status().as_u16();
    let latency = started.elapsed();
    // Taken, not copied: nothing reads it after the line.
    let consulta = response.request().extensions_mut().remove::<ConsultaLog>();
    let mut masked = MaskedText::default();
    let (conta, servico_digital) = consulta.map_or((None, None), |c| {
        (Some(masked.of(c.codigo)), c.servico_digital)
    });
    log_access(
        &span,
        &AccessLine {
            method: method.as_str(),
            route,
            status,
            latency,
            ids: &ids,
            client,
            conta: conta.unwrap_or(""),
            servico_digital: servico_digital.as_deref().unwrap_or(""),
        },
    );
    trace.finish(&RequestOutcome {
        method: method.as_str(),
        route: matched,
        status,
        client,
        correlation_id: &ids.correlation_id,
        flow_id: ids.flow_id.as_deref(),
        conta,
        servico_digital: servico_digital.as_deref(),
    });
    if let Some(state) = state {
        state.metrics.observe(route, status, latency);
    }
    Ok(response)
}

/// Room for a masked account code, written without a heap allocation.
#[derive(Default)]
struct MaskedText([u8; 24]);

impl MaskedText {
    fn of(&mut self, codigo: CodigoConta) -> &str {
        let mut cursor = std::io::Cursor::new(&mut self.0[..]);
        // The masked form is eleven ASCII characters: it fits.
        let _ = write!(cursor, "{}", codigo.masked());
        let written = usize::try_from(cursor.position()).unwrap_or(0);
        std::str::from_utf8(&self.0[..written]).unwrap_or("")
    }
}

/// The request's trace: a caller's `traceparent` is continued, its sampled flag
/// followed only from a trusted proxy (the TCP peer, not a forwarded address).
fn start_trace(request: &ServiceRequest, state: Option<&AppState>) -> RequestTrace {
    let untraced = Tracing::default();
    let (tracing, trusted_proxies) = match state {
        Some(state) => (&state.tracing, Some(&state.trusted_proxies)),
        None => (&untraced, None),
    };
    let trusted_peer = request
        .peer_addr()
        .zip(trusted_proxies)
        .is_some_and(|(peer, proxies)| proxies.contains(peer.ip()));
    tracing.start_request(request.headers(), trusted_peer)
}

/// The span every request runs in: its IDs reach each log line written meanwhile.
pub fn request_span(ids: &RequestIds) -> tracing::Span {
    tracing::info_span!(
        "request",
        correlation_id = %ids.correlation_id,
        flow_id = ids.flow_id.as_deref().unwrap_or(""),
        trace_id = TraceIdText::new(ids.trace_id).as_str(),
    )
}

/// What one access-log line says.
#[derive(Debug, Clone, Copy)]
pub struct AccessLine<'a> {
    /// The request method.
    pub method: &'a str,
    /// The matched route's label.
    pub route: &'static str,
    /// The response status.
    pub status: u16,
    /// From request head to response.
    pub latency: Duration,
    /// The request's IDs.
    pub ids: &'a RequestIds,
    /// Who the client is (see `client.rs`), when known.
    pub client: Option<IpAddr>,
    /// The masked account code, or `""`.
    pub conta: &'a str,
    /// The request's `servico_digital`, or `""`.
    pub servico_digital: &'a str,
}

/// Writes the access-log line of a request, inside its span.
pub fn log_access(span: &tracing::Span, line: &AccessLine<'_>) {
    span.in_scope(|| {
        tracing::info!(
            target: ACCESS_TARGET,
            method = line.method,
            route = line.route,
            status = line.status,
            latency_ms = line.latency.as_secs_f64() * 1000.0,
            correlation_id = line.ids.correlation_id.as_str(),
            flow_id = line.ids.flow_id.as_deref().unwrap_or(""),
            trace_id = TraceIdText::new(line.ids.trace_id).as_str(),
            client = line.client.map(tracing::field::display),
            conta = line.conta,
            servico_digital = line.servico_digital,
            "request"
        );
    });
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderMap;

    use super::*;

    fn map(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CORRELATION_ID, HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    #[test]
    fn ids_of_1_to_128_visible_ascii_characters_are_usable() {
        assert_eq!(
            usable_id(&map(&[b"abc-123"]), &CORRELATION_ID).as_deref(),
            Some("abc-123")
        );
        assert!(usable_id(&map(&[&[b'a'; 128]]), &CORRELATION_ID).is_some());
        assert!(usable_id(&map(&[&[b'a'; 129]]), &CORRELATION_ID).is_none());
        assert!(usable_id(&map(&[b""]), &CORRELATION_ID).is_none());
        assert!(usable_id(&map(&[b"a b"]), &CORRELATION_ID).is_none());
        assert!(usable_id(&map(&[b"caf\xc3\xa9"]), &CORRELATION_ID).is_none());
        assert!(usable_id(&map(&[b"a", b"b"]), &CORRELATION_ID).is_none());
        assert!(usable_id(&HeaderMap::new(), &CORRELATION_ID).is_none());
    }
}
