//! The client examples of docs/clients.md run for real: the TypeScript one
//! (`docs/clients/typescript`: openapi-typescript types, `fetch`) and the Python one
//! (`docs/clients/python`: datamodel-code-generator models, httpx), each with its types
//! or models generated from `schemas/openapi.json` by the pinned generator, against
//! `serve --demo` and a stub standing in for a newer service.
//!
//! Tools: Node.js with `npm ci` run in `docs/clients/typescript` (`.ci/run` does it), and
//! `python3`, whose virtual environment (`docs/clients/python/requirements.txt`) the test
//! makes under the target folder. Under `CI=true` or `ITAU_CODIGO_TEST_REQUIRE_CLIENTS=1`
//! a missing tool fails the test; elsewhere the test says loudly what it skipped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::ServeProcess;
use crate::prometheus::root;
use crate::stores::shout_once;
use crate::venv;

/// What each example prints, one line per answer, in the order it asks: a 200, a 400
/// with `errors[]`, a 404, a bare 431, the stub's unknown problem type, then wrong
/// passwords until a 401 with `Retry-After` (whose seconds are replaced by `N`).
const EXPECTED: &str = "\
found: João Pedro Araújo Nascimento, manager AGF_UNICLASS_DF
invalid: codigo_conta dac_mismatch
no such account
bare 431: no body
unknown problem 429: urn:itau-codigo:problem:rate-limited (Rate limited)
wrong credentials
wrong credentials
locked out: retry after N s
";

/// `serve --demo` locking an address out after two failed logins, so that the examples
/// reach the 401 with `Retry-After` in a few requests.
fn demo_server() -> ServeProcess {
    ServeProcess::start(
        &[
            "--demo",
            "--workers",
            "1",
            "--login-max-failures",
            "2",
            "--login-lockout",
            "60",
        ],
        &[],
    )
}

/// A stub, not the service: it stands in for a newer release and answers every request
/// with a problem type this version does not have (429 `rate-limited`), as the
/// evolution policy allows a minor version to add. Returns its base URL.
fn stub_of_a_newer_service() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let _ = reader.by_ref().take(length).read_to_end(&mut Vec::new());
            let body = r#"{"type":"urn:itau-codigo:problem:rate-limited","title":"Rate limited","status":429,"detail":"too many requests from this client","correlation_id":"stub-1"}"#;
            let answer = format!(
                "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/problem+json\r\n\
                 x-itau-correlationID: stub-1\r\nCache-Control: no-store\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = reader.get_mut().write_all(answer.as_bytes());
        }
    });
    url
}

/// Under `CI=true` (or `ITAU_CODIGO_TEST_REQUIRE_CLIENTS=1`, which `.ci/run` sets) the
/// examples must run.
fn required() -> bool {
    let set = |name| std::env::var(name).is_ok_and(|v| v == "true" || v == "1");
    set("CI") || set("ITAU_CODIGO_TEST_REQUIRE_CLIENTS")
}

/// Fails when the examples are required, otherwise says loudly that `what` is skipped.
fn missing(what: &str) {
    assert!(
        !required(),
        "{what} (required under CI=true or ITAU_CODIGO_TEST_REQUIRE_CLIENTS=1)"
    );
    shout_once(&format!("client example SKIPPED: {what}"));
}

/// Runs `command` to success, failing with its output otherwise; returns its stdout.
fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The printed lines, with the seconds of `Retry-After` (1 to the 60 s lockout) as `N`.
fn normalised(printed: &str) -> String {
    printed
        .lines()
        .map(|line| match line.strip_prefix("locked out: retry after ") {
            Some(rest) => {
                let seconds: u32 = rest.trim_end_matches(" s").parse().unwrap();
                assert!((1..=60).contains(&seconds), "{line}");
                "locked out: retry after N s\n".to_owned()
            }
            None => format!("{line}\n"),
        })
        .collect()
}

fn output_dir(language: &str) -> PathBuf {
    let dir = venv::target_dir().join("clients").join(language);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_typescript_example_branches_on_every_kind_of_answer() {
    let example = root().join("docs/clients/typescript");
    let bin = example.join("node_modules/.bin");
    if !bin.join("openapi-typescript").is_file() || !bin.join("tsc").is_file() {
        missing("no node_modules in docs/clients/typescript (run `npm ci` there)");
        return;
    }
    let schema: &Path = &root().join("schemas/openapi.json");
    run(Command::new(bin.join("openapi-typescript"))
        .current_dir(&example)
        .arg(schema)
        .args(["-o", "generated/itau-codigo.d.ts"]));
    let out = output_dir("typescript");
    run(Command::new(bin.join("tsc"))
        .current_dir(&example)
        .args(["-p", ".", "--outDir"])
        .arg(&out));
    let server = demo_server();
    let printed = run(Command::new("node")
        .arg(out.join("demo.js"))
        .arg(format!("http://127.0.0.1:{}", server.port))
        .arg(stub_of_a_newer_service()));
    assert_eq!(normalised(&printed), EXPECTED);
}

#[test]
fn the_python_example_branches_on_every_kind_of_answer() {
    if Command::new("python3").arg("--version").output().is_err() {
        missing("python3 is not installed");
        return;
    }
    let example = root().join("docs/clients/python");
    let python = venv::python("clients-venv", &example.join("requirements.txt"));
    let models = output_dir("python");
    run(Command::new(python.with_file_name("datamodel-codegen"))
        .arg("--input")
        .arg(root().join("schemas/openapi.json"))
        .args([
            "--input-file-type",
            "openapi",
            "--output-model-type",
            "pydantic_v2.BaseModel",
            "--formatters",
            "builtin",
            "--output",
        ])
        .arg(models.join("itau_codigo_models.py")));
    let server = demo_server();
    let printed = run(Command::new(&python)
        .arg(example.join("demo.py"))
        .arg(format!("http://127.0.0.1:{}", server.port))
        .arg(stub_of_a_newer_service())
        .env("PYTHONPATH", &models)
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    assert_eq!(normalised(&printed), EXPECTED);
}
