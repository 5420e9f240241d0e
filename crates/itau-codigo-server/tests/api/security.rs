//! Login throttling, and logs that keep secrets and personal data out on every error path.

use std::time::Duration;

use itau_codigo_server::auth::ThrottleConfig;
use serde_json::Value;

use crate::helpers::*;
use crate::process::ServeProcess;

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
            };
        })
        .spawn();
    for _ in 0..5 {
        assert_eq!(post_as(&app, USERNAME, "typo").status, 401);
        assert_eq!(post_as(&app, USERNAME, "typo").status, 401);
        assert_eq!(post_as(&app, USERNAME, PASSWORD).status, 200);
    }
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
