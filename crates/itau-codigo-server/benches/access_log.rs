//! The per-request logging alone, as `request_context` does it with trace export off:
//! the request's trace (the caller's `traceparent` read, a span ID drawn, the
//! `traceresponse` value written), the request span (made, entered, left, closed), the
//! access-log line with every field, formatted as the JSON `serve` writes in
//! production, handed to the log writer thread, which writes it to a sink. Run with
//! `cargo bench -p itau-codigo-server --bench access_log`.

use std::hint::black_box;
use std::time::Duration;

use actix_web::http::header::{HeaderMap, HeaderValue};
use criterion::{Criterion, criterion_group, criterion_main};
use itau_codigo_server::otel::{RequestOutcome, TraceId, Tracing, TracingConfig};
use itau_codigo_server::request_context::{AccessLine, RequestIds, log_access, request_span};
use itau_codigo_server::telemetry::{self, LogFormat, LogWriter};
use itau_codigo_server::trace_context::TRACEPARENT;

fn access_log(c: &mut Criterion) {
    let writer = LogWriter::spawn(std::io::sink(), true, telemetry::LOG_BUFFER_BYTES);
    let mut ids = RequestIds {
        correlation_id: "5f0c6b8e-2d3a-4e8b-9c1f-7a6b5c4d3e2f".to_owned(),
        flow_id: Some("flow-0042".to_owned()),
        trace_id: TraceId::INVALID,
    };
    // Behind a gateway that traces, every request comes with one.
    let mut headers = HeaderMap::new();
    headers.insert(
        TRACEPARENT,
        HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    );
    // Export off, as `serve` runs without `OTEL_EXPORTER_OTLP_ENDPOINT`; then export
    // on with a sampler that records nothing (what a request the ratio does not pick
    // costs; nothing is sent, so the endpoint is never reached).
    let export_on = TracingConfig::from_env(|name| match name {
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://127.0.0.1:9".to_owned()),
        "OTEL_TRACES_SAMPLER" => Some("always_off".to_owned()),
        _ => None,
    })
    .unwrap();
    for (name, tracing) in [
        ("span and access line (json)", Tracing::default()),
        (
            "span and access line (json), export on, not recorded",
            Tracing::start(&export_on, "sqlite").unwrap(),
        ),
    ] {
        let subscriber = telemetry::subscriber(LogFormat::Json, "info", writer.clone()).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            c.bench_function(name, |b| {
                b.iter(|| {
                    let trace = tracing.start_request(black_box(&headers), false);
                    black_box(trace.traceresponse());
                    ids.trace_id = trace.trace_id();
                    let span = request_span(black_box(&ids));
                    span.in_scope(|| black_box(()));
                    log_access(
                        &span,
                        &AccessLine {
                            method: "POST",
                            route: "/apiaccess/rest/ccmessaging/v1/itau/codigo",
                            status: 200,
                            latency: Duration::from_micros(412),
                            ids: &ids,
                            client: Some(std::net::IpAddr::from([203, 0, 113, 66])),
                            conta: "0013411501*",
                            servico_digital: "whatsapp",
                        },
                    );
                    trace.finish(&RequestOutcome {
                        method: "POST",
                        route: Some("/apiaccess/rest/ccmessaging/v1/itau/codigo"),
                        status: 200,
                        client: None,
                        correlation_id: &ids.correlation_id,
                        flow_id: ids.flow_id.as_deref(),
                        conta: Some("0013411501*"),
                        servico_digital: Some("whatsapp"),
                    });
                });
            });
        });
    }
}

criterion_group!(benches, access_log);
criterion_main!(benches);
