//! Login throttling, and logs that keep secrets and personal data out on every error path.

use std::time::Duration;

use itau_codigo_server::auth::ThrottleConfig;
use serde_json::Value;

use crate::helpers::*;
use crate::process::ServeProcess;
use crate::stores::{TestDb, TestStore, on_both_stores};

fn credentials_headers(username: &str, password: &str) -> [String; 2] {
    [
        format!("userName: {username}"),
        format!("password: {password}"),
    ]
}

fn post_as(app: &TestApp, username: &str, password: &str) -> Response {
    let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    app.post_as(username, password, &body, &[])
}

#[test]
fn repeated_failed_logins_lock_the_address_out_still_with_the_documented_401() {
    let app = TestApp::builder()
        .config(|config| {
            config.login_throttle = ThrottleConfig {
                max_failures: 3,
                lockout: Duration::from_millis(1_500),
                ..ThrottleConfig::default()
            };
        })
        .spawn();
    let mut bodies = Vec::new();
    for attempt in 1..=3 {
        let response = post_as(&app, USERNAME, "guess");
        assert_eq!(response.status, 401, "attempt {attempt}");
        assert_eq!(response.header("retry-after"), None, "attempt {attempt}");
        bodies.push(redacted(response.problem()));
    }
    // Locked out: even the right password is refused, with the same body.
    let refused = post_as(&app, USERNAME, PASSWORD);
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("retry-after"), Some("2"));
    bodies.push(redacted(refused.problem()));
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:#?}");

    std::thread::sleep(Duration::from_millis(1_600));
    assert_eq!(post_as(&app, USERNAME, PASSWORD).status, 200);
}

#[test]
fn a_successful_login_clears_the_failures_of_its_address() {
    let app = TestApp::builder()
        .config(|config| {
            config.login_throttle = ThrottleConfig {
                max_failures: 3,
                lockout: Duration::from_secs(60),
                ..ThrottleConfig::default()
            };
        })
        .spawn();
    for _ in 0..5 {
        assert_eq!(post_as(&app, USERNAME, "typo").status, 401);
        assert_eq!(post_as(&app, USERNAME, "typo").status, 401);
        assert_eq!(post_as(&app, USERNAME, PASSWORD).status, 200);
    }
}

fn throttled_app(trusted_proxies: &str) -> TestApp {
    let trusted_proxies = trusted_proxies.parse().unwrap();
    TestApp::builder()
        .config(move |config| {
            config.login_throttle = ThrottleConfig {
                max_failures: 3,
                lockout: Duration::from_secs(60),
                ..ThrottleConfig::default()
            };
            config.trusted_proxies = trusted_proxies;
        })
        .spawn()
}

fn post_from(http: Http, password: &str, forwarded: &[&str]) -> Response {
    let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    http.post_as(USERNAME, password, &body, forwarded)
}

#[test]
fn clients_on_different_addresses_are_throttled_apart() {
    let app = throttled_app("");
    let stranger = app.from("127.0.0.2");
    let colleague = app.from("127.0.0.3");
    for _ in 0..3 {
        assert_eq!(post_from(stranger, "guess", &[]).status, 401);
    }
    let refused = post_from(stranger, PASSWORD, &[]);
    assert_eq!(
        (refused.status, refused.header("retry-after").is_some()),
        (401, true)
    );
    assert_eq!(post_from(colleague, PASSWORD, &[]).status, 200);
}

#[test]
fn behind_a_trusted_gateway_one_strangers_failures_lock_out_only_that_stranger() {
    let app = throttled_app("127.0.0.1/32");
    // The gateway (127.0.0.1) appends the address it saw to what the client sent.
    let gateway = app.from("127.0.0.1");
    let stranger = ["X-Forwarded-For: 203.0.113.66"];
    for _ in 0..3 {
        assert_eq!(post_from(gateway, "guess", &stranger).status, 401);
    }
    let refused = post_from(gateway, PASSWORD, &stranger);
    assert_eq!(
        (refused.status, refused.header("retry-after").is_some()),
        (401, true)
    );
    // The gateway's other clients, in either header's spelling, are not locked out.
    for colleague in [
        "X-Forwarded-For: 198.51.100.7",
        "X-Forwarded-For: 203.0.113.66, 198.51.100.8",
        "Forwarded: for=198.51.100.9;proto=https",
        r#"Forwarded: for="[2001:db8::9]:51000""#,
    ] {
        assert_eq!(
            post_from(gateway, PASSWORD, &[colleague]).status,
            200,
            "{colleague}"
        );
    }
    // A stranger cannot pass for a colleague by sending the colleague's address first.
    let spoofed = ["X-Forwarded-For: 198.51.100.7, 203.0.113.66"];
    assert_eq!(post_from(gateway, PASSWORD, &spoofed).status, 401);
    // A malformed header is the gateway itself, not a 400.
    assert_eq!(
        post_from(gateway, PASSWORD, &["X-Forwarded-For: not-an-address"]).status,
        200
    );
}

/// The value of an unlabelled counter in a `/metrics` text.
fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {metrics}"))
}

#[test]
fn a_flood_of_forwarded_addresses_neither_unlocks_a_locked_out_client_nor_locks_out_a_fresh_one() {
    const CAPACITY: usize = 8;
    let app = TestApp::builder()
        .config(|config| {
            config.login_throttle = ThrottleConfig {
                max_failures: 3,
                lockout: Duration::from_secs(60),
                capacity: CAPACITY,
            };
            config.trusted_proxies = "127.0.0.1/32".parse().unwrap();
        })
        .spawn();
    let gateway = app.from("127.0.0.1");
    let guesser = ["X-Forwarded-For: 203.0.113.66"];
    for _ in 0..3 {
        assert_eq!(post_from(gateway, "guess", &guesser).status, 401);
    }
    // Forty more clients, each on its own /24, each failing until locked out: seven
    // fill the table of addresses, eight the table of blocks, the rest find no room.
    for n in 0..40 {
        let flooder = format!("X-Forwarded-For: 10.{n}.0.1");
        for _ in 0..3 {
            assert_eq!(post_from(gateway, "guess", &[&flooder]).status, 401);
        }
    }
    let refused = post_from(gateway, PASSWORD, &guesser);
    assert_eq!(
        (refused.status, refused.header("retry-after").is_some()),
        (401, true),
        "the flood unlocked the guesser"
    );
    let fresh = ["X-Forwarded-For: 192.0.2.77"];
    assert_eq!(post_from(gateway, PASSWORD, &fresh).status, 200);
    let metrics = String::from_utf8(app.get("/metrics").body).unwrap();
    assert_eq!(
        [
            counter(&metrics, "itau_codigo_login_failures_total"),
            counter(&metrics, "itau_codigo_lockouts_total"),
            counter(&metrics, "itau_codigo_login_throttle_table_full_total"),
        ],
        [3 + 40 * 3, 1 + 7 + 8, 8 * 3 + 25 * 3]
    );
}

#[test]
fn an_untrusted_peers_forwarding_headers_do_not_move_it() {
    let app = throttled_app("127.0.0.1/32");
    let untrusted = app.from("127.0.0.2");
    // A new forwarded address each time: ignored, the failures add up on the peer.
    for n in 0..3 {
        let forged = format!("X-Forwarded-For: 192.0.2.{n}");
        assert_eq!(post_from(untrusted, "guess", &[&forged]).status, 401);
    }
    let refused = post_from(untrusted, PASSWORD, &["Forwarded: for=192.0.2.200"]);
    assert_eq!(
        (refused.status, refused.header("retry-after").is_some()),
        (401, true)
    );
    // Nor can it lock out the address it names.
    let gateway = app.from("127.0.0.1");
    assert_eq!(
        post_from(gateway, PASSWORD, &["X-Forwarded-For: 192.0.2.0"]).status,
        200
    );
}

#[test]
fn with_throttling_off_failures_never_lock_out() {
    let app = TestApp::builder()
        .config(|config| config.login_throttle.max_failures = 0)
        .spawn();
    for _ in 0..30 {
        assert_eq!(post_as(&app, USERNAME, "guess").status, 401);
    }
    assert_eq!(post_as(&app, USERNAME, PASSWORD).status, 200);
}

#[test]
fn logs_of_every_error_path_hold_no_secret_or_personal_data() {
    const PASSWORD_SET: &str = "Pw-C0nfigured-S3cret";
    const PASSWORD_TRIED: &str = "Wr0ng-Pw-Attempt-77";
    const USERNAME_TRIED: &str = "maybe-a-password-typed-in-the-wrong-field";
    const CPF_SENT: &str = "52998224725";
    const EMAIL_SENT: &str = "segredo.do.cliente@example.com";
    const WRONG_DAC: &str = "001341150100098791";
    let (_dir, db) = demo_db();
    let server = ServeProcess::start(
        &[
            "--db",
            db.to_str().unwrap(),
            "--workers",
            "1",
            "--client-timeout",
            "0.5",
            "--login-max-failures",
            "3",
        ],
        &[
            ("ITAU_CODIGO_USERNAME", "operador"),
            ("ITAU_CODIGO_PASSWORD", PASSWORD_SET),
        ],
    );
    let http = server.http();
    let post_raw = |headers: &[&str], body: &[u8]| http.request("POST", PATH, headers, body);
    let [user, pass] = credentials_headers("operador", PASSWORD_SET);
    let good = [
        user.as_str(),
        pass.as_str(),
        "Content-Type: application/json",
    ];
    let body = |codigo: &str| format!(r#"{{"codigo_conta":"{codigo}"}}"#);

    // 200: the customer whose data must not reach the logs.
    let found = post_raw(&good, body(TRES_GERENTES).as_bytes());
    assert_eq!(found.status, 200);
    let customer = found.json()["data"].clone();
    // 400s, each carrying personal data in the body.
    let cases: [(&str, Vec<u8>); 6] = [
        ("invalid-request", body(WRONG_DAC).into_bytes()),
        (
            "malformed-json",
            format!(r#"{{"codigo_conta":"{CPF_SENT}","email":"{EMAIL_SENT}""#).into_bytes(),
        ),
        (
            "malformed-json",
            format!(r#"{{"codigo_conta":"{TRES_GERENTES}","codigo_conta":"{CPF_SENT}"}}"#)
                .into_bytes(),
        ),
        (
            "invalid-request",
            format!(
                r#"{{"codigo_conta":"{CPF_SENT}","segmento":"{}"}}"#,
                "x".repeat(65)
            )
            .into_bytes(),
        ),
        (
            "payload-too-large",
            format!(
                r#"{{"codigo_conta":"{TRES_GERENTES}","pad":"{}"}}"#,
                "x".repeat(17_000)
            )
            .into_bytes(),
        ),
        (
            "malformed-json",
            [
                b"{\"codigo_conta\":\"",
                TRES_GERENTES.as_bytes(),
                b"\xff\"}",
            ]
            .concat(),
        ),
    ];
    for (problem_type, bytes) in &cases {
        let response = post_raw(&good, bytes);
        assert_eq!(response.problem_type(), *problem_type);
    }
    let wrong_type = post_raw(
        &[&user, &pass, "Content-Type: text/plain"],
        body(TRES_GERENTES).as_bytes(),
    );
    assert_eq!(wrong_type.problem_type(), "unsupported-media-type");
    // 404s and 405: a valid unknown account, and a path holding a CPF.
    assert_eq!(
        post_raw(&good, body(DESCONHECIDA).as_bytes()).problem_type(),
        "account-not-found"
    );
    let path_with_cpf = format!(
        "GET /clientes/{CPF_SENT}?email={EMAIL_SENT} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(http.raw(path_with_cpf.as_bytes()).status, 404);
    assert_eq!(
        http.raw(format!("GET {PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .status,
        405
    );
    // 408: the body never arrives in full.
    let slow = format!(
        "POST {PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{user}\r\n{pass}\r\nContent-Length: 60\r\n\r\n{{\"codigo_conta\":\"{TRES_GERENTES}\""
    );
    assert_eq!(http.raw(slow.as_bytes()).status, 408);
    // 500 and 503: the file vanishes, then comes back.
    let saved = db.with_extension("saved");
    std::fs::rename(&db, &saved).unwrap();
    assert_eq!(
        post_raw(&good, body(TRES_GERENTES).as_bytes()).problem_type(),
        "store-unavailable"
    );
    assert_eq!(
        http.raw(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .status,
        503
    );
    std::fs::rename(&saved, &db).unwrap();
    // 401s: wrong password, wrong user name, then locked out with the right ones.
    let [user_tried, _] = credentials_headers(USERNAME_TRIED, PASSWORD_SET);
    let [_, pass_tried] = credentials_headers("operador", PASSWORD_TRIED);
    for headers in [
        [&user, &pass_tried],
        [&user_tried, &pass],
        [&user, &pass_tried],
    ] {
        let response = post_raw(&[headers[0], headers[1]], body(TRES_GERENTES).as_bytes());
        assert_eq!(response.status, 401);
    }
    let locked = post_raw(&good, body(TRES_GERENTES).as_bytes());
    assert_eq!(
        (locked.status, locked.header("retry-after").is_some()),
        (401, true)
    );

    let (status, logs) = server.terminate();
    assert_eq!(status, 0, "{logs}");
    assert_logs_hold_no_secret(
        &logs,
        &customer,
        &[
            PASSWORD_SET,
            PASSWORD_TRIED,
            USERNAME_TRIED,
            CPF_SENT,
            EMAIL_SENT,
            WRONG_DAC,
            TRES_GERENTES,
            DESCONHECIDA,
        ],
    );
    // The logs are not empty: every request has its access line, and the faults theirs.
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let access = lines
        .iter()
        .filter(|l| l["target"] == "itau_codigo::access")
        .count();
    assert_eq!(access, 18, "{logs}");
    for message in [
        "store failure while answering a consulta",
        "readiness: the store does not answer",
        "authentication failed",
        "authentication failed; too many failures: this address is locked out",
        "login refused: this address is locked out after failed logins",
    ] {
        assert!(
            lines.iter().any(|l| l["message"] == message),
            "no {message:?} in\n{logs}"
        );
    }
}

#[test]
fn serve_reads_trusted_proxies_from_the_environment_and_logs_the_forwarded_client() {
    let (_dir, db) = demo_db();
    let server = ServeProcess::start(
        &["--db", db.to_str().unwrap(), "--login-max-failures", "2"],
        &[
            ("ITAU_CODIGO_USERNAME", USERNAME),
            ("ITAU_CODIGO_PASSWORD", PASSWORD),
            ("ITAU_CODIGO_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1/32"),
        ],
    );
    let gateway = server.http().from("127.0.0.1");
    let stranger = ["X-Forwarded-For: 203.0.113.66"];
    for _ in 0..2 {
        assert_eq!(post_from(gateway, "guess", &stranger).status, 401);
    }
    assert_eq!(post_from(gateway, PASSWORD, &stranger).status, 401);
    let colleague = ["Forwarded: for=198.51.100.7"];
    assert_eq!(post_from(gateway, PASSWORD, &colleague).status, 200);
    let (status, logs) = server.terminate();
    assert_eq!(status, 0, "{logs}");
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let clients: Vec<&str> = lines
        .iter()
        .filter(|l| l["target"] == "itau_codigo::access")
        .map(|l| l["client"].as_str().unwrap_or("<none>"))
        .collect();
    assert_eq!(
        clients,
        [
            "203.0.113.66",
            "203.0.113.66",
            "203.0.113.66",
            "198.51.100.7"
        ],
        "{logs}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "authentication failed" && l["client"] == "203.0.113.66"),
        "{logs}"
    );
}

#[test]
fn a_trusted_proxy_that_is_not_an_address_block_is_a_usage_error() {
    let output = crate::process::run(
        crate::process::itau_codigo()
            .args(["serve", "--trusted-proxies", "10.0.0.0/33"])
            .env("ITAU_CODIGO_USERNAME", "u")
            .env("ITAU_CODIGO_PASSWORD", "p"),
        b"",
    );
    assert_eq!(output.status, 2, "{}", output.stderr);
    output.assert_stderr_has("10.0.0.0/33");
}

/// Whatever `--log` lets through, dependencies that log query parameters or connection
/// details (tokio-postgres at debug) stay capped: a customer served at `debug` and at
/// `trace` leaves no account code, password or personal data in the logs.
fn debug_and_trace_logs_hold_no_account_code_or_personal_data(store: TestStore) {
    let db = TestDb::with_demo(store);
    let db_password = db
        .url()
        .strip_prefix("postgres://")
        .and_then(|rest| rest.split(['@', ':']).nth(1));
    for filter in [
        "debug",
        "trace",
        "tokio_postgres=trace,postgres_protocol=trace,tokio_postgres::query=trace,info",
    ] {
        let server = ServeProcess::start(
            &["--db", db.url(), "--workers", "1", "--log", filter],
            &[
                ("ITAU_CODIGO_USERNAME", USERNAME),
                ("ITAU_CODIGO_PASSWORD", PASSWORD),
            ],
        );
        let http = server.http();
        let found = http.consulta(TRES_GERENTES);
        assert_eq!(found.status, 200, "--log {filter}");
        let customer = found.json()["data"].clone();
        assert_eq!(http.consulta(DESCONHECIDA).status, 404);
        let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
        assert_eq!(
            http.post_as(USERNAME, "Wr0ng-Guess-123", &body, &[]).status,
            401
        );
        let (status, logs) = server.terminate();
        assert_eq!(status, 0, "{logs}");
        if !filter.contains('=') {
            assert!(
                logs.lines().any(|l| l.contains("\"level\":\"DEBUG\"")),
                "--log {filter} wrote no debug line"
            );
        }
        // The PostgreSQL store looks accounts up by the code as a number.
        let mut extra = vec![
            PASSWORD,
            "Wr0ng-Guess-123",
            TRES_GERENTES,
            TRES_GERENTES.trim_start_matches('0'),
            DESCONHECIDA,
            DESCONHECIDA.trim_start_matches('0'),
        ];
        extra.extend(db_password);
        assert_logs_hold_no_secret(&logs, &customer, &extra);
    }
}

on_both_stores!(debug_and_trace_logs_hold_no_account_code_or_personal_data);
