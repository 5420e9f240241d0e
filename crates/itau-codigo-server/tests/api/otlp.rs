//! Traces: `serve` as a process with the standard `OTEL_*` variables, exporting to a
//! receiver that decodes the real OTLP protobuf (`scripts/otlp_receiver.py`, on the
//! OpenTelemetry project's `opentelemetry-proto` classes pinned in
//! `scripts/requirements-otlp.txt`); and `traceparent` / `traceresponse` with export
//! off. Spans are exported when `serve` stops (SIGTERM flushes them), so each test
//! stops its server before reading what the receiver got.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{
    DESCONHECIDA, Http, PASSWORD, PATH, Response, TRES_GERENTES, USERNAME,
    assert_logs_hold_no_secret, demo_db,
};
use crate::process::{ServeProcess, itau_codigo, run};
use crate::prometheus::root;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
/// The address the tests' trusted proxy connects from (every 127/8 address is loopback).
const PROXY: &str = "127.0.0.2";

/// `scripts/otlp_receiver.py`, listening on a free loopback port; killed when dropped.
struct Receiver {
    child: Child,
    port: u16,
    exports: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start() -> Self {
        let mut child = Command::new(crate::venv::python(
            "otlp-venv",
            &root().join("scripts/requirements-otlp.txt"),
        ))
        .arg(root().join("scripts/otlp_receiver.py"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        let port = u16::try_from(first["port"].as_u64().unwrap()).unwrap();
        let exports = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&exports);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let export: Value = serde_json::from_str(&line).unwrap();
                collected.lock().unwrap().push(export);
            }
        });
        Self {
            child,
            port,
            exports,
        }
    }

    /// `OTEL_EXPORTER_OTLP_ENDPOINT` for it.
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every export received, once `done` holds of their spans (10 s at most).
    fn exports_once(&self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let exports = self.exports.lock().unwrap().clone();
            for export in &exports {
                assert!(export.get("error").is_none(), "the receiver said {export}");
            }
            let spans: Vec<Value> = exports
                .iter()
                .flat_map(|e| e["spans"].as_array().unwrap().clone())
                .collect();
            if done(&spans) {
                return exports;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not get the spans expected: {spans:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every span received, once `done` holds of them.
    fn spans_once(&self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        self.exports_once(done)
            .iter()
            .flat_map(|e| e["spans"].as_array().unwrap().clone())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `serve` on a new demo store with `--trusted-proxies` [`PROXY`], exporting to
/// `receiver` with `sampler`.
fn serve(receiver: &Receiver, sampler: &str) -> (tempfile::TempDir, ServeProcess) {
    let (dir, db) = demo_db();
    let endpoint = receiver.endpoint();
    let server = ServeProcess::start(
        &[
            "--db",
            db.to_str().unwrap(),
            "--workers",
            "1",
            "--trusted-proxies",
            PROXY,
        ],
        &[
            ("ITAU_CODIGO_USERNAME", USERNAME),
            ("ITAU_CODIGO_PASSWORD", PASSWORD),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_SERVICE_NAME", "itau-codigo-test"),
            ("OTEL_TRACES_SAMPLER", sampler),
        ],
    );
    (dir, server)
}

fn traceparent(trace: &str, flags: &str) -> String {
    format!("traceparent: 00-{trace}-{CALLER_SPAN}-{flags}")
}

fn consulta(http: Http, codigo: &str, extra: &[&str]) -> Response {
    http.post_consulta(
        &format!(r#"{{"codigo_conta":"{codigo}","servico_digital":"whatsapp"}}"#),
        extra,
    )
}

/// The `traceresponse` of `response`: (trace, span, flags).
fn traceresponse(response: &Response) -> (String, String, String) {
    let value = response
        .header("traceresponse")
        .unwrap_or_else(|| panic!("no traceresponse: {response:?}"));
    let parts: Vec<&str> = value.split('-').collect();
    let [version, trace, span, flags] = parts[..] else {
        panic!("traceresponse {value:?}");
    };
    assert_eq!(
        (version, trace.len(), span.len(), flags.len()),
        ("00", 32, 16, 2),
        "{value}"
    );
    assert!(
        value
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{value}"
    );
    (trace.to_owned(), span.to_owned(), flags.to_owned())
}

fn of_trace<'a>(spans: &'a [Value], trace: &str) -> Vec<&'a Value> {
    spans.iter().filter(|s| s["trace_id"] == trace).collect()
}

fn named<'a>(spans: &[&'a Value], name: &str) -> &'a Value {
    let found: Vec<&&Value> = spans.iter().filter(|s| s["name"] == name).collect();
    let [span] = found[..] else {
        panic!("not one span named {name}: {spans:#?}");
    };
    span
}

#[test]
fn a_trusted_proxys_traceparent_is_continued_with_a_server_span_and_a_store_lookup_span() {
    let receiver = Receiver::start();
    // Only a parent's decision records anything here.
    let (_dir, server) = serve(&receiver, "parentbased_always_off");
    let response = consulta(
        server.http().from(PROXY),
        TRES_GERENTES,
        &[
            &traceparent(TRACE, "01"),
            "tracestate: vendor=opaque-value",
            "X-Forwarded-For: 203.0.113.7",
            "x-itau-correlationID: corr-otlp-1",
            "x-itau-flowID: flow-otlp-1",
        ],
    );
    assert_eq!(response.status, 200);
    let (trace, span_id, flags) = traceresponse(&response);
    assert_eq!((trace.as_str(), flags.as_str()), (TRACE, "01"));
    assert_ne!(span_id, CALLER_SPAN);
    let (status, logs) = server.terminate();
    assert_eq!(status, 0, "{logs}");

    let exports = receiver.exports_once(|spans| of_trace(spans, TRACE).len() == 2);
    assert_eq!(exports[0]["content_type"], "application/x-protobuf");
    let spans: Vec<Value> = exports
        .iter()
        .flat_map(|e| e["spans"].as_array().unwrap().clone())
        .collect();
    let spans = of_trace(&spans, TRACE);
    let request = named(&spans, &format!("POST {PATH}"));
    assert_eq!(request["kind"], "SPAN_KIND_SERVER");
    assert_eq!(request["span_id"], span_id.as_str());
    assert_eq!(request["parent_span_id"], CALLER_SPAN);
    assert_eq!(request["trace_state"], "vendor=opaque-value");
    assert_eq!(request["status"]["code"], "STATUS_CODE_UNSET");
    assert_eq!(request["scope"], "itau-codigo");
    assert_eq!(request["resource"]["service.name"], "itau-codigo-test");
    assert_eq!(
        request["attributes"],
        json!({
            "http.request.method": "POST",
            "http.route": PATH,
            "http.response.status_code": 200,
            "client.address": "203.0.113.7",
            "itau_codigo.correlation_id": "corr-otlp-1",
            "itau_codigo.flow_id": "flow-otlp-1",
            "itau_codigo.conta": "0013411501*",
            "itau_codigo.servico_digital": "whatsapp",
        })
    );
    let lookup = named(&spans, "SELECT clientes");
    assert_eq!(lookup["kind"], "SPAN_KIND_CLIENT");
    assert_eq!(lookup["parent_span_id"], span_id.as_str());
    assert_eq!(
        lookup["attributes"],
        json!({
            "db.system.name": "sqlite",
            "db.operation.name": "SELECT",
            "db.collection.name": "clientes",
            "itau_codigo.found": true,
        })
    );
    // The access line carries the same trace.
    let access: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "itau_codigo::access")
        .collect();
    assert_eq!(access.len(), 1, "{logs}");
    assert_eq!(access[0]["trace_id"], TRACE);
    assert_eq!(access[0]["span"]["trace_id"], TRACE);
}

#[test]
fn an_untrusted_callers_sampled_flag_is_not_followed() {
    const TRUSTED_TRACE: &str = "11111111111111111111111111111111";
    let receiver = Receiver::start();
    let (_dir, server) = serve(&receiver, "parentbased_always_off");
    let untrusted = consulta(server.http(), TRES_GERENTES, &[&traceparent(TRACE, "01")]);
    assert_eq!(untrusted.status, 200);
    let (trace, _, flags) = traceresponse(&untrusted);
    // The trace goes on (same ID), but this service does not record it.
    assert_eq!((trace.as_str(), flags.as_str()), (TRACE, "00"));
    // A trusted request afterwards is exported: the untrusted one would be by now.
    let trusted = consulta(
        server.http().from(PROXY),
        TRES_GERENTES,
        &[&traceparent(TRUSTED_TRACE, "01")],
    );
    assert_eq!(traceresponse(&trusted).2, "01");
    let (status, logs) = server.terminate();
    assert_eq!(status, 0, "{logs}");
    let spans = receiver.spans_once(|spans| of_trace(spans, TRUSTED_TRACE).len() == 2);
    assert_eq!(of_trace(&spans, TRACE), Vec::<&Value>::new());
}

#[test]
fn an_untrusted_caller_still_gets_the_configured_sampler_on_its_trace() {
    let receiver = Receiver::start();
    let (_dir, server) = serve(&receiver, "parentbased_always_on");
    // The caller says "not sampled"; the configured sampler records it all the same.
    let response = consulta(server.http(), DESCONHECIDA, &[&traceparent(TRACE, "00")]);
    assert_eq!(response.status, 404);
    let (trace, span_id, flags) = traceresponse(&response);
    assert_eq!((trace.as_str(), flags.as_str()), (TRACE, "01"));
    let (status, logs) = server.terminate();
    assert_eq!(status, 0, "{logs}");
    let spans = receiver.spans_once(|spans| of_trace(spans, TRACE).len() == 2);
    let spans = of_trace(&spans, TRACE);
    let request = named(&spans, &format!("POST {PATH}"));
    assert_eq!(
        (&request["span_id"], &request["parent_span_id"]),
        (&json!(span_id), &json!(CALLER_SPAN))
    );
    assert_eq!(request["attributes"]["http.response.status_code"], 404);
    assert_eq!(
        named(&spans, "SELECT clientes")["attributes"]["itau_codigo.found"],
        false
    );
}

#[test]
fn exported_spans_hold_no_password_full_account_code_or_personal_data() {
    const CPF_SENT: &str = "52998224725";
    const EMAIL_SENT: &str = "segredo.do.cliente@example.com";
    const WRONG_PASSWORD: &str = "Wr0ng-Pw-Attempt-77";
    const WRONG_DAC: &str = "001341150100098791";
    let receiver = Receiver::start();
    let (_dir, server) = serve(&receiver, "always_on");
    let http = server.http();
    let found = consulta(http, TRES_GERENTES, &[]);
    assert_eq!(found.status, 200);
    let customer = found.json()["data"].clone();
    let (new_trace, new_span, _) = traceresponse(&found);
    assert_eq!(consulta(http, DESCONHECIDA, &[]).status, 404);
    assert_eq!(consulta(http, WRONG_DAC, &[]).status, 400);
    let wrong_password = http.post_as(
        USERNAME,
        WRONG_PASSWORD,
        &format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#),
        &[],
    );
    assert_eq!(wrong_password.status, 401);
    let path_with_cpf = format!(
        "GET /clientes/{CPF_SENT}?email={EMAIL_SENT} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(http.raw(path_with_cpf.as_bytes()).status, 404);
    let (status, logs) = server.terminate();
    assert_eq!(status, 0, "{logs}");

    // Five server spans, two lookups (the 200 and the 404).
    let exports = receiver.exports_once(|spans| spans.len() == 7);
    let spans: Vec<Value> = exports
        .iter()
        .flat_map(|e| e["spans"].as_array().unwrap().clone())
        .collect();
    // An unknown path is named by its method alone: the path a caller typed is never
    // in a span.
    let unmatched: Vec<&Value> = spans.iter().filter(|s| s["name"] == "GET").collect();
    assert_eq!(unmatched.len(), 1, "{spans:#?}");
    assert!(unmatched[0]["attributes"].get("http.route").is_none());
    // A new trace is recorded under the ID the answer gave.
    let root = named(&of_trace(&spans, &new_trace), &format!("POST {PATH}")).clone();
    assert_eq!(
        (&root["span_id"], &root["parent_span_id"]),
        (&json!(new_span), &json!(""))
    );
    // Everything the receiver got: what it decoded, and the raw protobuf bytes.
    let mut received = serde_json::to_string(&exports).unwrap();
    for export in &exports {
        let body = base64_decode(export["body_base64"].as_str().unwrap());
        received.push_str(&String::from_utf8_lossy(&body));
    }
    assert_logs_hold_no_secret(
        &received,
        &customer,
        &[
            PASSWORD,
            WRONG_PASSWORD,
            CPF_SENT,
            EMAIL_SENT,
            TRES_GERENTES,
            DESCONHECIDA,
            WRONG_DAC,
        ],
    );
}

#[test]
fn an_unreachable_endpoint_is_logged_once_and_requests_are_still_answered() {
    let (_dir, db) = demo_db();
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://exporter:s3cr3t-in-url@127.0.0.1:{port}");
    let server = ServeProcess::start(
        &["--db", db.to_str().unwrap(), "--workers", "1"],
        &[
            ("ITAU_CODIGO_USERNAME", USERNAME),
            ("ITAU_CODIGO_PASSWORD", PASSWORD),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "300"),
            ("OTEL_TRACES_SAMPLER", "always_on"),
        ],
    );
    for _ in 0..3 {
        assert_eq!(consulta(server.http(), TRES_GERENTES, &[]).status, 200);
    }
    let (status, logs) = server.terminate();
    assert_eq!(status, 0, "{logs}");
    let failures = logs
        .lines()
        .filter(|line| line.contains("trace export failed"))
        .count();
    assert_eq!(failures, 1, "{logs}");
    assert!(
        logs.contains(&format!("http://127.0.0.1:{port}/v1/traces")),
        "{logs}"
    );
    assert!(!logs.contains("s3cr3t-in-url"), "{logs}");
}

#[test]
fn without_an_endpoint_answers_still_carry_the_trace_and_the_access_line_its_id() {
    let (_dir, db) = demo_db();
    let server = ServeProcess::start(
        &["--db", db.to_str().unwrap(), "--workers", "1"],
        &[
            ("ITAU_CODIGO_USERNAME", USERNAME),
            ("ITAU_CODIGO_PASSWORD", PASSWORD),
        ],
    );
    let http = server.http();
    let continued = consulta(http, TRES_GERENTES, &[&traceparent(TRACE, "01")]);
    // Nothing is recorded: the sampled flag says so.
    assert_eq!(traceresponse(&continued).0, TRACE);
    assert_eq!(traceresponse(&continued).2, "00");
    let malformed = consulta(
        http,
        TRES_GERENTES,
        &[&traceparent(&TRACE.to_uppercase(), "01")],
    );
    let new_trace = traceresponse(&malformed).0;
    assert_ne!(new_trace, TRACE.to_lowercase());
    let probe = http.get("/healthz");
    let probe_trace = traceresponse(&probe).0;
    let (status, logs) = server.terminate();
    assert_eq!(status, 0, "{logs}");
    let traces: Vec<String> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "itau_codigo::access")
        .map(|line| line["trace_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(traces, [TRACE.to_owned(), new_trace, probe_trace]);
}

#[test]
fn serve_refuses_grpc_and_unknown_samplers_with_exit_2() {
    let (_dir, db) = demo_db();
    for (variable, value, expected) in [
        (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "grpc",
            "OTEL_EXPORTER_OTLP_PROTOCOL=\"grpc\" is not supported",
        ),
        (
            "OTEL_TRACES_SAMPLER",
            "jaeger_remote",
            "OTEL_TRACES_SAMPLER=\"jaeger_remote\" is not supported",
        ),
        (
            "OTEL_TRACES_SAMPLER_ARG",
            "2",
            "OTEL_TRACES_SAMPLER_ARG=\"2\" is not a number from 0 to 1",
        ),
    ] {
        let output = run(
            itau_codigo()
                .args(["serve", "--bind", "127.0.0.1:0", "--db"])
                .arg(&db)
                .env("ITAU_CODIGO_USERNAME", USERNAME)
                .env("ITAU_CODIGO_PASSWORD", PASSWORD)
                .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
                .env("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
                .env(variable, value),
            b"",
        );
        assert_eq!(output.status, 2, "{variable}: {}", output.stderr);
        output.assert_stderr_has(expected);
    }
}

/// Standard base64, as Python's `b64encode` writes it.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let mut bytes = Vec::new();
    for chunk in text.trim_end_matches('=').as_bytes().chunks(4) {
        let bits = chunk.iter().enumerate().fold(0u32, |acc, (i, &c)| {
            acc | u32::from(value(c)) << (18 - 6 * i)
        });
        bytes.extend(&bits.to_be_bytes()[1..chunk.len()]);
    }
    bytes
}
