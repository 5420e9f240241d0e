//! Every non-2xx answer: its status, its problem `type`, and the whole body.

use std::sync::Arc;
use std::time::Duration;

use itau_codigo::ConsultaClienteRequest;
use itau_codigo_server::auth::ThrottleConfig;
use itau_codigo_server::store::{Store, StoreError, StoreFuture};
use serde_json::json;

use crate::helpers::*;
use crate::stores::{TestStore, on_both_stores, snapshot};

fn a_valid_unknown_account_is_404_account_not_found(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let response = app.consulta(DESCONHECIDA);
    assert_eq!(response.status, 404);
    snapshot!(redacted(response.problem()));
}

fn an_unknown_path_is_404_route_not_found_a_trailing_slash_too(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    for path in [
        "/nope",
        &format!("{PATH}/"),
        "/apiaccess/rest/ccmessaging/v1/itau",
    ] {
        let response = app.request("POST", path, &[], b"{}");
        assert_eq!(response.status, 404, "{path}");
        assert_eq!(response.problem_type(), "route-not-found", "{path}");
    }
    snapshot!(redacted(app.get("/nope").problem()));
}

fn another_method_on_a_known_path_is_405_with_allow(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    for (method, path, allow) in [
        ("GET", PATH, "POST"),
        ("PUT", PATH, "POST"),
        ("POST", "/healthz", "GET, HEAD"),
        ("DELETE", "/metrics", "GET, HEAD"),
    ] {
        let response = app.request(method, path, &[], b"");
        assert_eq!(response.status, 405, "{method} {path}");
        assert_eq!(response.header("allow"), Some(allow), "{method} {path}");
        assert_eq!(response.problem_type(), "method-not-allowed");
    }
    snapshot!(redacted(app.get(PATH).problem()));
}

fn missing_empty_repeated_or_wrong_credentials_are_the_same_401(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    let user = format!("userName: {USERNAME}");
    let password = format!("password: {PASSWORD}");
    let cases: Vec<Vec<&str>> = vec![
        vec![],
        vec![&user],
        vec![&password],
        vec![&user, "password: "],
        vec!["userName: ", &password],
        vec![&user, &password, &password],
        vec![&user, &user, &password],
        vec![&user, "password: wrong"],
        vec!["userName: wrong", &password],
        vec![&user, "password: s3nh4-de-teste-e-mais"],
    ];
    let mut bodies = Vec::new();
    for headers in cases {
        let response = app.request("POST", PATH, &headers, body.as_bytes());
        assert_eq!(response.status, 401, "{headers:?}");
        bodies.push(redacted(response.problem()));
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "401 bodies differ: {bodies:#?}"
    );
    snapshot!(bodies[0]);
}

fn every_consulta_answer_carries_cache_control_no_store(store: TestStore) {
    let app = TestApp::builder()
        .store(store)
        .config(|config| {
            config.login_throttle = ThrottleConfig {
                max_failures: 1,
                lockout: Duration::from_secs(60),
                ..ThrottleConfig::default()
            }
        })
        .spawn();
    let answers = [
        ("200", app.consulta(TRES_GERENTES)),
        ("404", app.consulta(DESCONHECIDA)),
        ("400 invalid-request", app.consulta("12")),
        ("400 malformed-json", app.post_consulta("{", &[])),
        (
            "400 unsupported-media-type",
            app.post_consulta("{}", &["Content-Type: text/plain"]),
        ),
        ("405", app.request("GET", PATH, &[], b"")),
        (
            "404 route-not-found",
            app.request("POST", &format!("{PATH}/"), &[], b"{}"),
        ),
        ("401", app.post_as(USERNAME, "wrong", "{}", &[])),
        ("401 locked out", app.post_as(USERNAME, PASSWORD, "{}", &[])),
    ];
    for (what, response) in answers {
        assert_eq!(
            response.header("cache-control"),
            Some("no-store"),
            "{what}: {response:?}"
        );
    }
    assert!(
        app.post_as(USERNAME, PASSWORD, "{}", &[])
            .header("retry-after")
            .is_some(),
        "the last 401 was a lock-out"
    );
}

fn credentials_are_checked_before_the_content_type_and_the_body(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let response = app.request("POST", PATH, &["Content-Type: text/plain"], &[b'x'; 20_000]);
    assert_eq!(response.status, 401);
}

fn a_content_type_other_than_json_is_400_unsupported_media_type(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let user = format!("userName: {USERNAME}");
    let password = format!("password: {PASSWORD}");
    let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
        "application/problem+json",
    ] {
        let header = format!("Content-Type: {content_type}");
        let response = app.request("POST", PATH, &[&user, &password, &header], body.as_bytes());
        assert_eq!(response.status, 400, "{content_type}");
        assert_eq!(
            response.problem_type(),
            "unsupported-media-type",
            "{content_type}"
        );
    }
    let response = app.request(
        "POST",
        PATH,
        &[&user, &password, "Content-Type: text/plain"],
        body.as_bytes(),
    );
    snapshot!(redacted(response.problem()));
}

fn a_body_of_16_kib_plus_one_is_400_payload_too_large(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let mut body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    body.push_str(&" ".repeat(16_385 - body.len()));
    let response = app.post_consulta(&body, &[]);
    assert_eq!(response.status, 400);
    snapshot!(redacted(response.problem()));
}

fn a_chunked_body_over_the_limit_is_payload_too_large_too(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let chunk = vec![b' '; 8_000];
    let mut request = format!(
        "POST {PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nuserName: {USERNAME}\r\npassword: {PASSWORD}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..3 {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let response = app.raw(&request);
    assert_eq!(response.status, 400);
    assert_eq!(response.problem_type(), "payload-too-large");
}

/// A chunked request (no Content-Length, so the limit applies while reading).
fn chunked_consulta(body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nuserName: {USERNAME}\r\npassword: {PASSWORD}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(5_000) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

#[test]
fn a_chunked_body_of_16_kib_is_accepted_and_one_byte_more_is_not() {
    let app = TestApp::builder().spawn();
    let mut body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#).into_bytes();
    body.resize(16_384, b' ');
    assert_eq!(app.raw(&chunked_consulta(&body)).status, 200);
    body.push(b' ');
    let refused = app.raw(&chunked_consulta(&body));
    assert_eq!(refused.problem_type(), "payload-too-large");
}

fn bad_json_syntax_and_repeated_members_are_400_malformed_json(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let bodies = [
        "{".to_owned(),
        String::new(),
        format!(r#"{{"codigo_conta":"{TRES_GERENTES}","codigo_conta":"{TRES_GERENTES}"}}"#),
        format!("{}{}", "[".repeat(8_000), "]".repeat(8_000)),
    ];
    for body in &bodies {
        let response = app.post_consulta(body, &[]);
        assert_eq!(response.status, 400, "{body:.40}");
        assert_eq!(response.problem_type(), "malformed-json", "{body:.40}");
    }
    snapshot!(redacted(
        app.post_consulta("{\"codigo_conta\": ", &[]).problem()
    ));
}

fn non_utf8_bytes_are_400_malformed_json(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let mut body = br#"{"codigo_conta":"00134115010009879"#.to_vec();
    body.extend_from_slice(b"\xff\"}");
    let user = format!("userName: {USERNAME}");
    let password = format!("password: {PASSWORD}");
    let response = app.request("POST", PATH, &[&user, &password], &body);
    assert_eq!(response.problem_type(), "malformed-json");
}

fn every_invalid_member_is_listed_in_one_400_invalid_request(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let body = json!({"codigo_conta": "001341150100098791", "tipo_estrutura": 7, "segmento": "x".repeat(65), "servico_digital": ["a"]});
    let response = app.post_consulta(&body.to_string(), &[]);
    assert_eq!(response.status, 400);
    snapshot!(redacted(response.problem()));
}

fn each_account_code_failure_has_its_error_code(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let cases = [
        (json!({}), "required"),
        (json!({"codigo_conta": null}), "required"),
        (
            json!({"codigo_conta": 1_341_150_100_098_790_u64}),
            "invalid_type",
        ),
        (json!({"codigo_conta": "00134115010009879"}), "length"),
        (json!({"codigo_conta": "0013411501000987900"}), "length"),
        (
            json!({"codigo_conta": "00134115010009879\u{0661}"}),
            "not_digits",
        ),
        (
            json!({"codigo_conta": "00134115010009879\u{0000}"}),
            "not_digits",
        ),
        (
            json!({"codigo_conta": "001341150100098791"}),
            "dac_mismatch",
        ),
    ];
    for (body, code) in cases {
        let problem = app.post_consulta(&body.to_string(), &[]).problem();
        assert_eq!(
            problem["type"], "urn:itau-codigo:problem:invalid-request",
            "{body}"
        );
        assert_eq!(
            problem["errors"],
            json!([{"field": "codigo_conta", "code": code, "message": problem["errors"][0]["message"]}]),
            "{body}"
        );
    }
    let not_an_object = app.post_consulta("[]", &[]).problem();
    assert_eq!(not_an_object["errors"][0]["field"], "");
    assert_eq!(not_an_object["errors"][0]["code"], "invalid_type");
}

fn a_body_that_does_not_arrive_in_time_is_408(store: TestStore) {
    let app = TestApp::builder()
        .store(store)
        .config(|config| config.client_timeout = Duration::from_millis(700))
        .spawn();
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nuserName: {USERNAME}\r\npassword: {PASSWORD}\r\nContent-Length: 40\r\n\r\n{{\"codigo"
    );
    let response = app.raw(head.as_bytes());
    assert_eq!(response.status, 408);
    snapshot!(redacted(response.problem()));
}

/// A store whose lookups panic, as a bug would.
pub(crate) struct PanickingStore;

impl Store for PanickingStore {
    fn answer<'a>(&'a self, _: &'a ConsultaClienteRequest) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async { panic!("a bug in the store") })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    fn describe(&self) -> String {
        "panicking".into()
    }
}

#[test]
fn a_panic_is_500_internal_and_the_service_goes_on() {
    let app = TestApp::builder()
        .store_impl(Arc::new(PanickingStore))
        .spawn();
    let response = app.consulta(TRES_GERENTES);
    assert_eq!(response.status, 500);
    let text = String::from_utf8_lossy(&response.body).into_owned();
    assert!(
        !text.contains("a bug in the store") && !text.contains("panicked"),
        "{text}"
    );
    insta::assert_json_snapshot!(redacted(response.problem()));
    assert_eq!(app.consulta(TRES_GERENTES).status, 500, "the worker died");
    assert_eq!(app.get("/healthz").status, 200);
}

/// A store that always fails, as a broken disk or database would.
pub(crate) struct FailingStore;

impl Store for FailingStore {
    fn answer<'a>(&'a self, _: &'a ConsultaClienteRequest) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async {
            Err(StoreError::Task(
                "disk I/O error at /var/lib/itau/itau-codigo.db: SELECT dados FROM clientes".into(),
            ))
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Err(StoreError::Task("database disk image is malformed".into())) })
    }

    fn describe(&self) -> String {
        "failing".into()
    }
}

#[test]
fn a_store_failure_is_500_store_unavailable_and_discloses_nothing() {
    let app = TestApp::builder()
        .store_impl(Arc::new(FailingStore))
        .spawn();
    let response = app.consulta(TRES_GERENTES);
    assert_eq!(response.status, 500);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let text = String::from_utf8_lossy(&response.body).into_owned();
    for internal in [
        "SELECT",
        "/var/lib",
        "disk",
        "StoreError",
        "sqlite",
        "panicked",
    ] {
        assert!(!text.contains(internal), "{internal} in {text}");
    }
    snapshot!(redacted(response.problem()));
    let ready = app.get("/readyz");
    assert_eq!(ready.status, 503);
    assert_eq!(ready.problem_type(), "store-unavailable");
    assert!(
        String::from_utf8_lossy(&app.get("/metrics").body)
            .contains("itau_codigo_store_errors_total 2")
    );
}

on_both_stores!(
    a_valid_unknown_account_is_404_account_not_found,
    an_unknown_path_is_404_route_not_found_a_trailing_slash_too,
    another_method_on_a_known_path_is_405_with_allow,
    missing_empty_repeated_or_wrong_credentials_are_the_same_401,
    every_consulta_answer_carries_cache_control_no_store,
    credentials_are_checked_before_the_content_type_and_the_body,
    a_content_type_other_than_json_is_400_unsupported_media_type,
    a_body_of_16_kib_plus_one_is_400_payload_too_large,
    a_chunked_body_over_the_limit_is_payload_too_large_too,
    bad_json_syntax_and_repeated_members_are_400_malformed_json,
    non_utf8_bytes_are_400_malformed_json,
    every_invalid_member_is_listed_in_one_400_invalid_request,
    each_account_code_failure_has_its_error_code,
    a_body_that_does_not_arrive_in_time_is_408,
);
