//! `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use itau_codigo::ConsultaClienteRequest;
use itau_codigo_server::config::{DEFAULT_READINESS_INTERVAL, READINESS_TIMEOUT};
use itau_codigo_server::store::{self, Store, StoreFuture};

use crate::helpers::*;
use crate::stores::{TestStore, on_both_stores};

/// A real store that counts its readiness checks, and can be made to hang on them.
struct CountingStore {
    inner: Arc<dyn Store>,
    pings: Arc<AtomicUsize>,
    hang: bool,
}

impl Store for CountingStore {
    fn answer<'a>(
        &'a self,
        consulta: &'a ConsultaClienteRequest,
    ) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.inner.answer(consulta)
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        self.pings.fetch_add(1, Ordering::SeqCst);
        if self.hang {
            return Box::pin(std::future::pending());
        }
        self.inner.ping()
    }

    fn describe(&self) -> String {
        format!("counting {}", self.inner.describe())
    }
}

fn counting_store(hang: bool) -> (tempfile::TempDir, CountingStore, Arc<AtomicUsize>) {
    let (dir, db) = demo_db();
    let pings = Arc::new(AtomicUsize::new(0));
    let store = CountingStore {
        inner: store::open(
            &store::DbLocation::SqliteFile(db),
            4,
            store::SqliteReads::Copied,
        )
        .unwrap(),
        pings: Arc::clone(&pings),
        hang,
    };
    (dir, store, pings)
}

#[test]
fn a_flood_of_readiness_probes_checks_the_store_at_most_once_per_interval() {
    let (_dir, store, pings) = counting_store(false);
    let app = TestApp::builder()
        .store_impl(Arc::new(store))
        .config(|config| config.workers = Some(2))
        .spawn();
    let started = Instant::now();
    let flood = Duration::from_millis(2_500);
    let answers: usize = std::thread::scope(|scope| {
        let prober = |path: &'static str| {
            let app = &app;
            scope.spawn(move || {
                let mut answered = 0;
                while started.elapsed() < flood {
                    let response = app.get(path);
                    assert_eq!(response.status, 200, "{path}");
                    answered += 1;
                }
                answered
            })
        };
        let probers: Vec<_> = (0..6)
            .map(|i| prober(if i == 0 { "/metrics" } else { "/readyz" }))
            .collect();
        probers.into_iter().map(|p| p.join().unwrap()).sum()
    });
    let elapsed = started.elapsed();
    let checks = pings.load(Ordering::SeqCst);
    let allowed =
        (elapsed.as_secs_f64() / DEFAULT_READINESS_INTERVAL.as_secs_f64()).floor() as usize + 1;
    assert!(
        answers > 100,
        "the flood was too thin to prove anything: {answers}"
    );
    assert!(
        (1..=allowed).contains(&checks),
        "{checks} store checks for {answers} probes in {elapsed:?}; at most {allowed} allowed"
    );
    // Consultas are not readiness checks: they leave the count alone.
    app.consulta(TRES_GERENTES);
    assert!(pings.load(Ordering::SeqCst) <= allowed + 1);
    let text = String::from_utf8(app.get("/metrics").body).unwrap();
    assert!(text.contains("\nitau_codigo_store_up 1\n"), "{text}");
}

#[test]
fn a_store_that_hangs_fails_readiness_within_its_timeout() {
    let (_dir, store, pings) = counting_store(true);
    let app = TestApp::builder().store_impl(Arc::new(store)).spawn();
    let started = Instant::now();
    let response = app.get("/readyz");
    assert_eq!(response.status, 503);
    assert_eq!(response.problem_type(), "store-unavailable");
    assert!(
        started.elapsed() < READINESS_TIMEOUT + Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let text = String::from_utf8(app.get("/metrics").body).unwrap();
    assert!(text.contains("\nitau_codigo_store_up 0\n"), "{text}");
    assert!(pings.load(Ordering::SeqCst) >= 1);
}

fn health_and_readiness_answer_get_and_head_without_credentials(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    for path in ["/healthz", "/readyz"] {
        assert_eq!(app.get(path).status, 200, "{path}");
        let head = app.request("HEAD", path, &[], b"");
        assert_eq!(head.status, 200, "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path} has a body");
    }
}

fn metrics_count_requests_by_route_and_status_with_one_label_for_unmatched_paths(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    app.consulta(TRES_GERENTES);
    app.consulta(DESCONHECIDA);
    app.get("/wp-admin");
    app.get("/.env");
    let text = String::from_utf8(app.get("/metrics").body).unwrap();
    assert!(
        text.contains(&format!(
            "itau_codigo_http_requests_total{{route=\"{PATH}\",status=\"200\"}} 1"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "itau_codigo_http_requests_total{{route=\"{PATH}\",status=\"404\"}} 1"
        )),
        "{text}"
    );
    assert!(
        text.contains("itau_codigo_http_requests_total{route=\"unmatched\",status=\"404\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("itau_codigo_http_request_duration_seconds_count"),
        "{text}"
    );
    assert!(!text.contains("wp-admin"), "{text}");
}

fn openapi_json_serves_the_committed_document(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let response = app.get("/openapi.json");
    assert_eq!(response.status, 200);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/openapi.json"
    ))
    .unwrap();
    assert_eq!(String::from_utf8(response.body).unwrap(), committed);
}

#[test]
fn with_a_certificate_and_key_the_service_speaks_https() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let app = TestApp::builder()
        .config(|config| {
            config.tls = Some(itau_codigo_server::config::TlsFiles {
                cert: format!("{fixtures}/tls-cert.pem").into(),
                key: format!("{fixtures}/tls-key.pem").into(),
            });
        })
        .spawn();
    let url = format!("https://127.0.0.1:{}{PATH}", app.port);
    let output = std::process::Command::new("curl")
        .args([
            "-sS",
            "--cacert",
            &format!("{fixtures}/tls-cert.pem"),
            "-X",
            "POST",
            &url,
        ])
        .args([
            "-H",
            &format!("userName: {USERNAME}"),
            "-H",
            &format!("password: {PASSWORD}"),
        ])
        .args([
            "-d",
            &format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#),
            "-H",
            "Content-Type: application/json",
        ])
        .output()
        .expect("curl runs");
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(body["data"]["nome_completo"].is_string(), "{body}");
    // Plain HTTP on the TLS port gets no answer.
    let plain = std::process::Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://127.0.0.1:{}/healthz", app.port),
        ])
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "200");
}

on_both_stores!(
    health_and_readiness_answer_get_and_head_without_credentials,
    metrics_count_requests_by_route_and_status_with_one_label_for_unmatched_paths,
    openapi_json_serves_the_committed_document,
);
