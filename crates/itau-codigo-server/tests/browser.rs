//! `/docs` in a real browser: Debian's headless Chromium loads the page from
//! `itau-codigo serve --demo` and we check what it rendered, then drive its real
//! "Try it out" (Playwright, `tools/browser-test`) and see the 200.
//!
//! Needs `chromium` (and, for "Try it out", Node.js with `npm ci` run in
//! `tools/browser-test`). Under `CI=true` or `ITAU_CODIGO_TEST_REQUIRE_BROWSER=1` a
//! missing piece fails the test; elsewhere the test says loudly what it skipped.
//!
//! The first test takes a screenshot into `target/browser/docs-page.png`; with
//! `ITAU_CODIGO_UPDATE_SCREENSHOT=1` it writes `docs/img/docs-page.png`, the one the
//! docs show, instead (so that a test run leaves the checkout as it found it).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use itau_codigo::schema::CONSULTA_PATH;
use serde_json::Value;

/// An account of the demo data set.
const DEMO_ACCOUNT: &str = "001341150100098790";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Under `CI=true` (or `ITAU_CODIGO_TEST_REQUIRE_BROWSER=1`, which `.ci/run` sets) the
/// browser test must run.
fn required() -> bool {
    let set = |name| std::env::var(name).is_ok_and(|v| v == "true" || v == "1");
    set("CI") || set("ITAU_CODIGO_TEST_REQUIRE_BROWSER")
}

/// Fails when the test is required, otherwise says loudly that `what` is skipped.
fn missing(what: &str) {
    assert!(
        !required(),
        "{what} (required under CI=true or ITAU_CODIGO_TEST_REQUIRE_BROWSER=1)"
    );
    eprintln!("\n!!!!! SKIPPED: {what} !!!!!\n");
}

fn chromium() -> Option<PathBuf> {
    let candidate = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    candidate.is_file().then_some(candidate)
}

/// `serve --demo` on a free port; stopped (killed) on drop.
struct Demo {
    child: Child,
    docs_url: String,
}

impl Demo {
    fn start(extra: &[&str]) -> (Self, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_itau-codigo"))
            .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--workers", "1"])
            .args(extra)
            .env_remove("ITAU_CODIGO_USERNAME")
            .env_remove("ITAU_CODIGO_PASSWORD")
            .env_remove("ITAU_CODIGO_PASSWORD_FILE")
            .env_remove("ITAU_CODIGO_DOCS")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting itau-codigo serve --demo");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut printed = String::new();
        // The banner, "try:", the curl command, and (with --docs) the docs URL.
        let lines = if extra.is_empty() { 4 } else { 3 };
        for _ in 0..lines {
            stdout.read_line(&mut printed).unwrap();
        }
        let base = printed
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no address in {printed:?}"))
            .trim_end_matches('/')
            .to_owned();
        let docs_url = format!("{base}/docs");
        (Self { child, docs_url }, printed)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Chromium with the flags this machine needs (no network but loopback, no sandbox as
/// root) and a fresh profile.
/// What Chromium needs on a closed network, as root: also handed to Playwright's launch
/// in `tools/browser-test/try-it-out.mjs` (`CHROMIUM_FLAGS`), so both start it alike.
const CHROMIUM_FLAGS: [&str; 7] = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

fn headless(chromium: &Path) -> (Command, tempfile::TempDir) {
    let profile = tempfile::tempdir().unwrap();
    let mut command = Command::new(chromium);
    command
        .arg("--headless")
        .args(CHROMIUM_FLAGS)
        .arg("--virtual-time-budget=8000")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .stderr(Stdio::null());
    (command, profile)
}

fn openapi() -> Value {
    let text = std::fs::read_to_string(workspace().join("schemas/openapi.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The part of the rendered DOM that shows the response row of `status`.
fn response_row<'d>(dom: &'d str, status: &str) -> &'d str {
    let start = dom
        .find(&format!("data-code=\"{status}\""))
        .unwrap_or_else(|| panic!("no {status} response row in the rendered page"));
    let rest = &dom[start + 1..];
    let end = rest.find("data-code=\"").unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn the_docs_page_renders_the_operation_schemas_and_error_examples_in_chromium() {
    let Some(chromium) = chromium() else {
        return missing("chromium is not installed: apt-get install -y chromium");
    };
    let (demo, banner) = Demo::start(&[]);
    assert!(
        banner.contains(&format!("API reference: {}", demo.docs_url)),
        "serve --demo does not print the docs URL: {banner}"
    );
    let page = format!("{}#/consulta/consultaCliente", demo.docs_url);

    let (mut command, _profile) = headless(&chromium);
    let output = command.arg("--dump-dom").arg(&page).output().unwrap();
    assert!(output.status.success(), "chromium --dump-dom failed");
    let dom = String::from_utf8_lossy(&output.stdout);

    // The operation, expanded by the deep link.
    assert!(
        dom.contains(&format!("data-path=\"{CONSULTA_PATH}\"")) && dom.contains("opblock-post"),
        "the POST operation is not rendered:\n{dom}"
    );
    assert!(dom.contains("consultaCliente"), "no operationId shown");
    // Its request and response schemas, by the names Swagger UI shows (their titles).
    let document = openapi();
    for schema in [
        "ConsultaClienteRequest",
        "ConsultaClienteResponse",
        "Problem",
    ] {
        let title = document["components"]["schemas"][schema]["title"]
            .as_str()
            .unwrap();
        assert!(dom.contains(title), "schema {schema} ({title:?}) not shown");
    }
    // The error responses, each with its own first example (a 401 shows a 401 body).
    let responses = &document["paths"][CONSULTA_PATH]["post"]["responses"];
    for status in ["400", "401", "404"] {
        let examples = responses[status]["content"]["application/problem+json"]["examples"]
            .as_object()
            .unwrap();
        let first = examples.values().next().unwrap();
        let problem_type = first["value"]["type"].as_str().unwrap();
        let row = response_row(&dom, status);
        assert!(
            row.contains(problem_type),
            "the {status} row does not show its example ({problem_type}):\n{row}"
        );
    }
    // No "cannot show" message from docs.js, no Swagger UI error box.
    assert!(!dom.contains("docs-error"), "docs.js reported an error");
    assert!(!dom.contains("errors-wrapper"), "Swagger UI shows errors");

    // What a first-time reader sees; the committed copy is shown in the docs.
    let screenshot = if std::env::var_os("ITAU_CODIGO_UPDATE_SCREENSHOT").is_some() {
        workspace().join("docs/img/docs-page.png")
    } else {
        workspace().join("target/browser/docs-page.png")
    };
    std::fs::create_dir_all(screenshot.parent().unwrap()).unwrap();
    let (mut command, _profile) = headless(&chromium);
    let status = command
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg("--window-size=1280,1400")
        .arg("--hide-scrollbars")
        .arg(&demo.docs_url)
        .status()
        .unwrap();
    assert!(status.success(), "chromium --screenshot failed");
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 50_000,
        "no real screenshot"
    );
}

#[test]
fn try_it_out_on_the_docs_page_gets_a_200_from_the_same_server() {
    let Some(chromium) = chromium() else {
        return missing("chromium is not installed: apt-get install -y chromium");
    };
    let tools = workspace().join("tools/browser-test");
    if !tools.join("node_modules/playwright-core").is_dir() {
        return missing("playwright-core is not installed: npm ci --prefix tools/browser-test");
    }
    let (demo, _) = Demo::start(&[]);
    let output = Command::new("node")
        .arg(tools.join("try-it-out.mjs"))
        .args([demo.docs_url.as_str(), "demo", "demo", DEMO_ACCOUNT])
        .env("CHROMIUM", &chromium)
        .env("CHROMIUM_FLAGS", CHROMIUM_FLAGS.join(" "))
        .output()
        .expect("running node (is Node.js installed?)");
    let printed = String::from_utf8_lossy(&output.stdout);
    let result: Value = serde_json::from_str(printed.trim()).unwrap_or_else(|e| {
        panic!(
            "{e}: {printed}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(result.get("error").is_none(), "{}", result["error"]);
    assert_eq!(result["status"], "200", "{result:#}");
    let body: Value = serde_json::from_str(result["body"].as_str().unwrap()).unwrap();
    assert!(body["data"]["nome_completo"].is_string(), "{body}");

    // The page sent it to the server it came from, with the credentials typed in.
    let [request] = result["requests"].as_array().unwrap().as_slice() else {
        panic!("expected one POST: {result:#}");
    };
    let base = demo.docs_url.trim_end_matches("/docs");
    assert_eq!(request["url"], format!("{base}{CONSULTA_PATH}"));
    assert_eq!(request["headers"]["username"], "demo");
    assert_eq!(request["headers"]["password"], "demo");
    // And the strict CSP let the page do all of it.
    assert_eq!(result["cspViolations"], serde_json::json!([]), "{result:#}");
    assert_eq!(result["consoleErrors"], serde_json::json!([]), "{result:#}");
}

#[test]
fn with_docs_false_the_page_is_not_there() {
    let (demo, banner) = Demo::start(&["--docs", "false"]);
    assert!(!banner.contains("API reference"), "{banner}");
    let address = demo
        .docs_url
        .trim_start_matches("http://")
        .trim_end_matches("/docs")
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET /docs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    assert!(response.contains("route-not-found"), "{response}");
}
