//! What operators expect of any command line: `--version` naming the build,
//! `completions SHELL`, and `health` for container health checks.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{ServeProcess, itau_codigo, run};

/// The commit git reports for this checkout, or `None` outside one.
fn git_head() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[test]
fn version_names_the_package_version_and_the_commit() {
    for args in [&["--version"][..], &["serve", "--version"]] {
        let output = run(itau_codigo().args(args), b"");
        assert_eq!(output.status, 0, "{args:?}");
        let line = output.stdout.strip_suffix('\n').unwrap();
        let name = if args.len() == 1 {
            "itau-codigo"
        } else {
            "itau-codigo-serve"
        };
        let rest = line
            .strip_prefix(&format!("{name} {} (commit ", env!("CARGO_PKG_VERSION")))
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{line:?} is not `{name} VERSION (commit HASH)`"));
        let commit = rest.strip_suffix("-dirty").unwrap_or(rest);
        match git_head() {
            // Cargo re-runs build.rs when HEAD moves, so the two agree.
            Some(head) => assert_eq!(commit, head, "{line}"),
            None => assert!(
                commit == "unknown"
                    || (commit.len() >= 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
                "{line}"
            ),
        }
    }
}

#[test]
fn completions_print_a_script_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = run(itau_codigo().args(["completions", shell]), b"");
        assert_eq!(output.status, 0, "{shell}: {}", output.stderr);
        for word in ["itau-codigo", "serve", "import", "bind", "health"] {
            assert!(output.stdout.contains(word), "{shell}: no {word}");
        }
    }
    let bash = run(itau_codigo().args(["completions", "bash"]), b"").stdout;
    let syntax = run(Command::new("bash").arg("-n"), bash.as_bytes());
    assert_eq!(syntax.status, 0, "bash -n: {}", syntax.stderr);
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let output = run(itau_codigo().args(["completions", "tcsh"]), b"");
    assert_eq!(output.status, 2);
    output.assert_stderr_has("possible values");
}

#[test]
fn health_exits_0_when_the_service_is_ready_and_1_on_any_other_answer() {
    let served = ServeProcess::start(&["--demo", "--workers", "1"], &[]);
    let url = |path: &str| format!("http://127.0.0.1:{}{path}", served.port);
    let ready = run(
        itau_codigo().args(["health", "--url", &url("/readyz")]),
        b"",
    );
    assert_eq!(ready.status, 0, "{}", ready.stderr);
    assert_eq!(
        ready.stdout,
        format!("{}: HTTP/1.1 200 OK\n", url("/readyz"))
    );
    let missing = run(
        itau_codigo().args(["health", "--url", &url("/nowhere")]),
        b"",
    );
    assert_eq!(missing.status, 1);
    missing.assert_stderr_has("answered HTTP/1.1 404 Not Found");
    // The environment works as for every other option.
    let from_env = run(
        itau_codigo()
            .args(["health"])
            .env("ITAU_CODIGO_URL", url("/healthz")),
        b"",
    );
    assert_eq!(from_env.status, 0, "{}", from_env.stderr);
    assert_eq!(served.terminate().0, 0);
}

#[test]
fn health_exits_1_when_nothing_listens() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let output = run(
        itau_codigo().args(["health", "--url", &format!("http://127.0.0.1:{port}/")]),
        b"",
    );
    assert_eq!(output.status, 1);
    output.assert_stderr_has("cannot connect");
}

#[test]
fn health_gives_up_after_its_timeout_when_the_server_never_answers() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and keeps the connection open without a word.
    let holder = std::thread::spawn(move || listener.accept().map(|(stream, _)| stream));
    let started = Instant::now();
    let output = run(
        itau_codigo().args([
            "health",
            "--timeout",
            "0.5",
            "--url",
            &format!("http://127.0.0.1:{port}/readyz"),
        ]),
        b"",
    );
    assert_eq!(output.status, 1);
    output.assert_stderr_has("no answer within 0.5 s");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(holder.join());
}

#[test]
fn health_sends_one_plain_get_without_credentials() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 1024];
        while !request.ends_with(b"\r\n\r\n") {
            let read = stream.read(&mut buffer).unwrap();
            assert!(read > 0, "the request ended early");
            request.extend_from_slice(&buffer[..read]);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .unwrap();
        String::from_utf8(request).unwrap()
    });
    let output = run(
        itau_codigo()
            .args([
                "health",
                "--url",
                &format!("http://localhost:{port}/readyz"),
            ])
            .env("ITAU_CODIGO_USERNAME", "operador")
            .env("ITAU_CODIGO_PASSWORD", "S3nha-secreta"),
        b"",
    );
    assert_eq!(output.status, 0, "{}", output.stderr);
    let request = server.join().unwrap();
    assert!(
        request.starts_with(&format!(
            "GET /readyz HTTP/1.1\r\nHost: localhost:{port}\r\n"
        )),
        "{request}"
    );
    let lower = request.to_ascii_lowercase();
    for secret in ["username", "password", "authorization", "operador", "s3nha"] {
        assert!(!lower.contains(secret), "{secret} sent: {request}");
    }
}

#[test]
fn health_refuses_what_it_cannot_check_as_a_usage_error() {
    for args in [
        &["--url", "https://127.0.0.1:8080/readyz"][..],
        &["--url", "http://user:pass@127.0.0.1:8080/readyz"],
        &["--url", "127.0.0.1:8080"],
        &["--timeout", "0"],
        &["--timeout", "soon"],
    ] {
        let output = run(itau_codigo().arg("health").args(args), b"");
        assert_eq!(output.status, 2, "{args:?}: {}", output.stderr);
    }
}
