//! The service against its OpenAPI document, `schemas/openapi.json`: every status the
//! document declares is produced for real, and each answer's headers, content type and
//! body are compared with what the document declares for its path, method and status.
//!
//! The document is read as a client generator reads it (the committed file, `$ref`s
//! resolved), so a header the service starts sending, or a status it starts answering,
//! fails here until the document (`crates/itau-codigo/src/schema.rs`) declares it.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use itau_codigo_server::auth::ThrottleConfig;
use serde_json::{Value, json};

use crate::errors::{FailingStore, PanickingStore};
use crate::helpers::*;
use crate::process::ServeProcess;
use crate::prometheus::root;

/// Headers of HTTP itself, which the document does not declare (and need not).
const FRAMING: [&str; 5] = [
    "content-type",
    "content-length",
    "date",
    "connection",
    "transfer-encoding",
];

/// The committed document, and the answers held to it so far.
struct Contract {
    document: Value,
    /// (path, method, status) of every answer checked.
    seen: BTreeSet<(String, String, String)>,
}

impl Contract {
    fn load() -> Self {
        let text = std::fs::read_to_string(root().join("schemas/openapi.json")).unwrap();
        Self {
            document: serde_json::from_str(&text).unwrap(),
            seen: BTreeSet::new(),
        }
    }

    /// Follows a local `$ref` (`#/components/...`), if `value` is one.
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => self
                .document
                .pointer(reference.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("the document has no {reference}")),
            None => value,
        }
    }

    /// The operation that documents `status` for `method path`, and the key under which
    /// [`Self::declared`] lists it: an unlisted path is answered as the API (the
    /// document says so of its 404), and a 405 is declared under each method a path
    /// has, for every other method.
    fn operation(
        &self,
        method: &str,
        path: &str,
        status: &str,
    ) -> (&Value, (String, String, String)) {
        let path = if self.document["paths"].get(path).is_some() {
            path
        } else {
            itau_codigo::schema::CONSULTA_PATH
        };
        let methods = self.document["paths"][path].as_object().unwrap();
        let (operation, method) = if status == "405" {
            (methods.values().next().unwrap(), "other".to_owned())
        } else {
            let method = method.to_ascii_lowercase();
            let operation = methods
                .get(&method)
                .unwrap_or_else(|| panic!("{method} {path} is not in the document"));
            (operation, method)
        };
        (operation, (path.to_owned(), method, status.to_owned()))
    }

    /// Checks `response`, the answer to `method path`, against the document.
    fn check(&mut self, what: &str, method: &str, path: &str, response: &Response) {
        let status = response.status.to_string();
        let (operation, key) = self.operation(method, path, &status);
        let declared = operation["responses"].get(&status).unwrap_or_else(|| {
            panic!("{what}: {method} {path} answered {status}, which the document does not declare: {response:?}")
        });
        let declared = self.resolve(declared).clone();
        self.seen.insert(key);

        let content_type = response.header("content-type");
        if content_type.is_none() && response.body.is_empty() {
            assert!(
                declared.get("x-bare-answer").is_some(),
                "{what}: a bare {status} (no body, no Content-Type), which the document does not declare as bare"
            );
            return;
        }
        self.check_headers(what, &declared, response);
        let content = declared["content"].as_object().cloned().unwrap_or_default();
        let essence = content_type
            .unwrap_or_else(|| panic!("{what}: a body without a Content-Type: {response:?}"))
            .split(';')
            .next()
            .unwrap()
            .trim()
            .to_ascii_lowercase();
        let media = content.get(&essence).unwrap_or_else(|| {
            panic!(
                "{what}: Content-Type {essence} is not one the document declares for {status}: {:?}",
                content.keys().collect::<Vec<_>>()
            )
        });
        let body = if essence.ends_with("json") {
            serde_json::from_slice(&response.body).unwrap_or_else(|e| panic!("{what}: {e}"))
        } else {
            Value::String(String::from_utf8(response.body.clone()).unwrap())
        };
        self.assert_valid(what, &media["schema"], &body);
    }

    /// Every required header is there; every header there is declared and valid.
    fn check_headers(&self, what: &str, declared: &Value, response: &Response) {
        let headers: Vec<(String, Value)> = declared["headers"]
            .as_object()
            .map(|headers| {
                headers
                    .iter()
                    .map(|(name, header)| (name.to_ascii_lowercase(), self.resolve(header).clone()))
                    .collect()
            })
            .unwrap_or_default();
        for (name, header) in &headers {
            let value = response.header(name);
            if header["required"] == true {
                assert!(value.is_some(), "{what}: no {name} header: {response:?}");
            }
            if let Some(value) = value {
                // A header is text; the schema of a number says what the text holds.
                let instance = match header["schema"]["type"].as_str() {
                    Some("integer") => value
                        .parse::<i64>()
                        .map_or_else(|_| Value::String(value.into()), Value::from),
                    _ => Value::String(value.into()),
                };
                self.assert_valid(
                    &format!("{what}: header {name}"),
                    &header["schema"],
                    &instance,
                );
            }
        }
        for (name, _) in &response.headers {
            assert!(
                FRAMING.contains(&name.as_str())
                    || headers.iter().any(|(declared, _)| declared == name),
                "{what}: header {name} is not declared for this status: {response:?}"
            );
        }
    }

    /// `instance` is valid under `schema`, whose `$ref`s point into the document.
    fn assert_valid(&self, what: &str, schema: &Value, instance: &Value) {
        let mut rooted = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "allOf": [schema],
            "components": self.document["components"],
        });
        closed(&mut rooted);
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&rooted)
            .unwrap_or_else(|e| panic!("{what}: the document's schema does not build: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: {instance} is not what the document says: {errors:#?}"
        );
    }

    /// Every (path, method, status) the document declares, a method's 405 included.
    fn declared(&self) -> BTreeSet<(String, String, String)> {
        let mut declared = BTreeSet::new();
        for (path, methods) in self.document["paths"].as_object().unwrap() {
            for (method, operation) in methods.as_object().unwrap() {
                for status in operation["responses"].as_object().unwrap().keys() {
                    let method = if status == "405" { "other" } else { method };
                    declared.insert((path.clone(), method.to_owned(), status.clone()));
                }
            }
        }
        declared
    }
}

/// Makes every object schema that lists its `properties` refuse others, so that a
/// member the service sends and the document does not declare fails the check. (The
/// document itself leaves them open: clients must accept members a minor version adds.)
fn closed(schema: &mut Value) {
    match schema {
        Value::Object(members) => {
            if members.contains_key("properties") && !members.contains_key("additionalProperties") {
                members.insert("additionalProperties".into(), false.into());
            }
            members.values_mut().for_each(closed);
        }
        Value::Array(items) => items.iter_mut().for_each(closed),
        _ => {}
    }
}

/// A request with valid credentials to the API: `body` with this `Content-Type`.
fn post_with_type(app: &TestApp, content_type: &str, body: &[u8]) -> Response {
    let headers = [
        format!("userName: {USERNAME}"),
        format!("password: {PASSWORD}"),
        format!("Content-Type: {content_type}"),
        "x-itau-flowID: flow-9".to_owned(),
    ];
    app.raw(&http_request("POST", PATH, &headers, body))
}

/// Sends `bytes` and waits for the answer, with no `Connection: close` of ours.
fn send_and_wait(app: &TestApp, bytes: &[u8]) -> Response {
    let mut stream = app.connect();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    parse_response(&answer)
}

#[test]
fn every_status_the_document_declares_is_produced_and_answers_as_declared() {
    let mut contract = Contract::load();
    let app = TestApp::builder()
        .config(|config| {
            config.client_timeout = Duration::from_millis(700);
            config.login_throttle = ThrottleConfig {
                max_failures: 2,
                lockout: Duration::from_secs(60),
                ..ThrottleConfig::default()
            };
        })
        .spawn();
    let known = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    let api = [
        ("200", app.post_consulta(&known, &["x-itau-flowID: flow-9"])),
        ("200 selecting no manager", app.post_consulta(&format!(r#"{{"codigo_conta":"{TRES_GERENTES}","segmento":"nenhum"}}"#), &[])),
        ("400 unsupported-media-type", post_with_type(&app, "text/plain", known.as_bytes())),
        ("400 payload-too-large", post_with_type(&app, "application/json", &vec![b' '; 16 * 1024 + 1])),
        ("400 malformed-json", app.post_consulta("{", &[])),
        ("400 invalid-request", app.post_consulta(r#"{"codigo_conta":"001341150100098791","segmento":7}"#, &[])),
        ("401", app.post_as(USERNAME, "wrong", &known, &[])),
        ("404 account-not-found", app.consulta(DESCONHECIDA)),
        ("405", app.request("GET", PATH, &[], b"")),
        (
            "408 request-timeout",
            app.raw(
                format!(
                    "POST {PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nuserName: {USERNAME}\r\n\
                     password: {PASSWORD}\r\nContent-Length: 40\r\n\r\n{{\"codigo"
                )
                .as_bytes(),
            ),
        ),
        ("400 bare (a broken request line)", app.raw(b"NOT A REQUEST\r\n\r\n")),
        (
            "408 bare (the head does not arrive)",
            send_and_wait(&app, format!("POST {PATH} HTTP/1.1\r\nHost: x\r\n").as_bytes()),
        ),
        (
            "431 bare (too many headers)",
            app.raw(&http_request(
                "POST",
                PATH,
                &(0..100).map(|i| format!("x-filler-{i}: {i}")).collect::<Vec<_>>(),
                known.as_bytes(),
            )),
        ),
    ];
    for (what, response) in &api {
        let expected: u16 = what[..3].parse().unwrap();
        assert_eq!(response.status, expected, "{what}: {response:?}");
        contract.check(what, "POST", PATH, response);
    }
    // Failures past `max_failures` lock the address out: that 401 carries `Retry-After`.
    let locked = (0..5)
        .map(|_| app.post_as(USERNAME, "wrong", &known, &[]))
        .find(|answer| answer.header("retry-after").is_some())
        .expect("locked out within 5 failures");
    assert_eq!(locked.status, 401, "{locked:?}");
    contract.check("401 locked out", "POST", PATH, &locked);

    let unknown = app.request("POST", &format!("{PATH}/"), &[], b"{}");
    assert_eq!(unknown.problem_type(), "route-not-found");
    contract.check("404 route-not-found", "POST", &format!("{PATH}/"), &unknown);
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"] {
        contract.check(&format!("GET {path}"), "GET", path, &app.get(path));
        let refused = app.request("POST", path, &[], b"");
        assert_eq!(refused.status, 405, "POST {path}");
        contract.check(&format!("POST {path}"), "POST", path, &refused);
    }

    let failing = TestApp::builder()
        .store_impl(Arc::new(FailingStore))
        .spawn();
    let store_unavailable = failing.consulta(TRES_GERENTES);
    assert_eq!(store_unavailable.problem_type(), "store-unavailable");
    contract.check("500 store-unavailable", "POST", PATH, &store_unavailable);
    let not_ready = failing.get("/readyz");
    assert_eq!(not_ready.problem_type(), "store-unavailable");
    contract.check("503 store-unavailable", "GET", "/readyz", &not_ready);

    let panicking = TestApp::builder()
        .store_impl(Arc::new(PanickingStore))
        .spawn();
    let internal = panicking.consulta(TRES_GERENTES);
    assert_eq!(internal.problem_type(), "internal");
    contract.check("500 internal", "POST", PATH, &internal);

    let draining = draining_readyz();
    assert_eq!(String::from_utf8_lossy(&draining.body), "draining\n");
    contract.check("503 draining", "GET", "/readyz", &draining);

    let declared = contract.declared();
    let unproduced: Vec<_> = declared.difference(&contract.seen).collect();
    assert!(
        unproduced.is_empty(),
        "declared, never produced here: {unproduced:?}"
    );
}

/// `/readyz` of a `serve` process that got SIGTERM and drains.
fn draining_readyz() -> Response {
    let (_dir, db) = demo_db();
    let server = ServeProcess::start(
        &["--db", db.to_str().unwrap(), "--workers", "1"],
        &[
            ("ITAU_CODIGO_USERNAME", USERNAME),
            ("ITAU_CODIGO_PASSWORD", PASSWORD),
            ("ITAU_CODIGO_DRAIN_PERIOD", "5"),
        ],
    );
    server.signal_term();
    let started = Instant::now();
    loop {
        let readyz = server.http().get("/readyz");
        if readyz.status == 503 || started.elapsed() > Duration::from_secs(3) {
            return readyz;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
