//! `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.

use crate::helpers::*;
use crate::stores::{TestStore, on_both_stores};

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
