//! Hostile input not covered in `errors.rs`: every API header missing, duplicated, empty,
//! 8 KiB long, not UTF-8 or holding a NUL; NUL bytes and numbers in bodies; more
//! connections than the configured maximum.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

/// How a header is spoiled.
#[derive(Debug, Clone, Copy)]
enum Spoil {
    Missing,
    Duplicated,
    Empty,
    EightKib,
    NotUtf8,
}

const SPOILS: [Spoil; 5] = [
    Spoil::Missing,
    Spoil::Duplicated,
    Spoil::Empty,
    Spoil::EightKib,
    Spoil::NotUtf8,
];

/// A valid request with every API header, `name` spoiled.
fn request_with(app: &TestApp, name: &str, spoil: Spoil) -> Response {
    let headers = [
        format!("userName: {USERNAME}"),
        format!("password: {PASSWORD}"),
        "Content-Type: application/json".to_owned(),
        "x-itau-apikey: 12323213".to_owned(),
        "x-itau-correlationID: chat-4711".to_owned(),
        "x-itau-flowID: flow-9".to_owned(),
    ];
    let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for header in &headers {
        let (header_name, _) = header.split_once(": ").unwrap();
        if header_name != name {
            lines.push(header.clone().into_bytes());
            continue;
        }
        match spoil {
            Spoil::Missing => {}
            Spoil::Duplicated => {
                lines.extend([header.clone().into_bytes(), header.clone().into_bytes()])
            }
            Spoil::Empty => lines.push(format!("{name}: ").into_bytes()),
            Spoil::EightKib => lines.push(format!("{name}: {}", "a".repeat(8 * 1024)).into_bytes()),
            Spoil::NotUtf8 => lines.push([format!("{name}: ").as_bytes(), b"\xff\xfe"].concat()),
        }
    }
    app.raw(&http_request("POST", PATH, &lines, body.as_bytes()))
}

#[test]
fn credential_headers_missing_duplicated_empty_8_kib_or_not_utf8_are_401() {
    let app = TestApp::builder()
        .config(|config| config.login_throttle.max_failures = 0)
        .spawn();
    for name in ["userName", "password"] {
        for spoil in SPOILS {
            let response = request_with(&app, name, spoil);
            assert_eq!(response.status, 401, "{name} {spoil:?}");
            assert_eq!(response.problem_type(), "unauthorized", "{name} {spoil:?}");
        }
    }
}

#[test]
fn content_type_duplicated_empty_8_kib_or_not_utf8_is_unsupported_and_missing_is_fine() {
    let app = TestApp::builder().spawn();
    for spoil in SPOILS {
        let response = request_with(&app, "Content-Type", spoil);
        match spoil {
            Spoil::Missing => assert_eq!(response.status, 200, "{spoil:?}"),
            _ => {
                assert_eq!(response.status, 400, "{spoil:?}");
                assert_eq!(
                    response.problem_type(),
                    "unsupported-media-type",
                    "{spoil:?}"
                );
            }
        }
    }
}

#[test]
fn x_itau_apikey_is_ignored_however_it_is_spoiled() {
    let app = TestApp::builder().spawn();
    for spoil in SPOILS {
        assert_eq!(
            request_with(&app, "x-itau-apikey", spoil).status,
            200,
            "{spoil:?}"
        );
    }
}

#[test]
fn a_spoiled_correlation_id_is_replaced_by_a_new_uuid_and_never_refused() {
    let app = TestApp::builder().spawn();
    for spoil in SPOILS {
        let response = request_with(&app, "x-itau-correlationID", spoil);
        assert_eq!(response.status, 200, "{spoil:?}");
        let id = response.header("x-itau-correlationid").unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{spoil:?}: {id}");
        assert_eq!(
            response.header("x-itau-flowid"),
            Some("flow-9"),
            "{spoil:?}"
        );
    }
}

#[test]
fn a_spoiled_flow_id_is_dropped_and_never_refused() {
    let app = TestApp::builder().spawn();
    for spoil in SPOILS {
        let response = request_with(&app, "x-itau-flowID", spoil);
        assert_eq!(response.status, 200, "{spoil:?}");
        assert_eq!(response.header("x-itau-flowid"), None, "{spoil:?}");
        assert_eq!(
            response.header("x-itau-correlationid"),
            Some("chat-4711"),
            "{spoil:?}"
        );
    }
}

#[test]
fn content_length_missing_is_an_empty_body_and_duplicated_empty_or_huge_is_a_bare_400() {
    let app = TestApp::builder().spawn();
    let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nuserName: {USERNAME}\r\npassword: {PASSWORD}\r\n"
    );
    let send = |length_lines: &str| app.raw(format!("{head}{length_lines}\r\n{body}").as_bytes());

    // No length and no chunking: the body is empty (what follows would be the next
    // request), and an empty body is no JSON.
    let without_length = app.raw(format!("{head}\r\n").as_bytes());
    assert_eq!(without_length.problem_type(), "malformed-json");
    let length = body.len();
    for (case, lines) in [
        (
            "duplicated",
            format!("Content-Length: {length}\r\nContent-Length: {length}\r\n"),
        ),
        ("empty", "Content-Length: \r\n".to_owned()),
        (
            "8 KiB of digits",
            format!("Content-Length: {}\r\n", "9".repeat(8 * 1024)),
        ),
    ] {
        let response = send(&lines);
        assert_eq!(response.status, 400, "{case}");
        assert!(
            response.body.is_empty(),
            "{case}: the HTTP layer answers bare"
        );
    }
    // 8 KiB of leading zeros is still the right number.
    let padded = format!("Content-Length: {length:0>8192}\r\n");
    assert_eq!(send(&padded).status, 200);
}

#[test]
fn a_nul_byte_in_any_header_is_a_bare_400_from_the_http_layer() {
    let app = TestApp::builder().spawn();
    for name in [
        "userName",
        "password",
        "Content-Type",
        "x-itau-apikey",
        "x-itau-correlationID",
        "x-itau-flowID",
    ] {
        let mut request = format!(
            "POST {PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nuserName: {USERNAME}\r\npassword: {PASSWORD}\r\n"
        )
        .into_bytes();
        request.extend_from_slice(format!("{name}: a").as_bytes());
        request.extend_from_slice(b"\x00b\r\nContent-Length: 2\r\n\r\n{}");
        let response = app.raw(&request);
        assert_eq!(response.status, 400, "{name}");
        assert!(response.body.is_empty(), "{name}");
    }
}

#[test]
fn a_raw_nul_byte_in_the_body_is_malformed_json() {
    let app = TestApp::builder().spawn();
    let response = app.post_consulta("{\"codigo_conta\":\"0013411501000987\u{0}90\"}", &[]);
    assert_eq!(response.problem_type(), "malformed-json");
}

#[test]
fn an_escaped_nul_in_a_selector_is_data_that_selects_no_manager() {
    let app = TestApp::builder().spawn();
    let body = json!({"codigo_conta": TRES_GERENTES, "tipo_estrutura": "AP\u{0}"}).to_string();
    assert!(body.contains("\\u0000"), "{body}");
    let response = app.post_consulta(&body, &[]);
    assert_eq!(response.status, 200);
    assert!(response.json()["data"].get("gerentes").is_none());
}

#[test]
fn numbers_where_strings_belong_are_invalid_type_on_every_member() {
    let app = TestApp::builder().spawn();
    for member in [
        "codigo_conta",
        "tipo_estrutura",
        "segmento",
        "servico_digital",
    ] {
        for number in [
            json!(0),
            json!(-1),
            json!(1.5e300),
            json!(1_341_150_100_098_790_u64),
        ] {
            let mut body = json!({"codigo_conta": TRES_GERENTES});
            body[member] = number.clone();
            let problem = app.post_consulta(&body.to_string(), &[]).problem();
            assert_eq!(
                problem["errors"],
                json!([{"field": member, "code": "invalid_type", "message": "expected a string, found a number"}]),
                "{member} = {number}"
            );
        }
    }
}

#[test]
fn more_connections_than_the_maximum_wait_in_the_backlog_and_are_served_in_turn() {
    let app = TestApp::builder()
        .config(|config| {
            config.workers = Some(1);
            config.max_connections = 2;
        })
        .spawn();
    // Two kept-alive connections fill the worker.
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = app.connect();
            stream.write_all(&keep_alive_consulta()).unwrap();
            assert_eq!(read_one_response(&mut stream).unwrap().status, 200);
            stream
        })
        .collect();
    // The third connects (the kernel completes the handshake) but is not served.
    let mut third = app.connect();
    third.write_all(&keep_alive_consulta()).unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(800)))
        .unwrap();
    let waiting = read_one_response(&mut third).unwrap_err();
    assert!(
        matches!(waiting.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "the third connection was answered at once: {waiting}"
    );
    // One held connection closes: the third is served.
    drop(held.pop());
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    assert_eq!(read_one_response(&mut third).unwrap().status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
