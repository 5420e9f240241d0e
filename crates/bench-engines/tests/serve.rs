//! `engine-serve` answers a consulta with the very status and body `itau-codigo serve`
//! gives on the same store, whatever the engine: both started here, asked over HTTP.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use itau_codigo_bench_engines::Stores;
use itau_codigo_server::cli::ServeArgs;
use itau_codigo_server::startup::Application;

const USERNAME: &str = "bench";
const PASSWORD: &str = "bench-s3nh4-longa";
const ACCOUNTS: u64 = 20;

/// `serve`'s options, as `itau-codigo serve` parses them.
#[derive(Debug, Parser)]
struct Serve {
    #[command(flatten)]
    args: ServeArgs,
}

/// `itau-codigo serve --db sqlite:PATH` (what the binary runs), on a thread of its own;
/// its port.
fn start_service(sqlite: &Path) -> u16 {
    let db = format!("sqlite:{}", sqlite.display());
    let serve = Serve::try_parse_from([
        "serve",
        "--db",
        &db,
        "--bind",
        "127.0.0.1:0",
        "--workers",
        "1",
    ])
    .unwrap();
    let config = serve
        .args
        .config(|name| match name {
            "ITAU_CODIGO_USERNAME" => Some(USERNAME.into()),
            "ITAU_CODIGO_PASSWORD" => Some(PASSWORD.into()),
            _ => None,
        })
        .unwrap();
    let (port, bound) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let application = Application::build(&config).unwrap();
            port.send(application.port()).unwrap();
            application.run_until_stopped().await
        })
    });
    bound.recv_timeout(Duration::from_secs(30)).unwrap()
}

/// `engine-serve --engine ENGINE` on the same store, killed when dropped.
struct EngineServer {
    child: Child,
    port: u16,
}

impl EngineServer {
    fn start(engine: &str, sqlite: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_engine-serve"));
        command
            .args(["--engine", engine, "--workers", "1", "--log", "warn"])
            .arg("--db")
            .arg(format!("sqlite:{}", sqlite.display()))
            .args(["--bind", &format!("127.0.0.1:{port}")]);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("ITAU_CODIGO_") {
                command.env_remove(name);
            }
        }
        let child = command
            .env("ITAU_CODIGO_USERNAME", USERNAME)
            .env("ITAU_CODIGO_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                server.child.try_wait().unwrap().is_none(),
                "{engine} exited"
            );
            assert!(Instant::now() < deadline, "{engine} did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for EngineServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status line and the body of a consulta for `body`.
fn consulta(port: u16, body: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /apiaccess/rest/ccmessaging/v1/itau/codigo HTTP/1.1\r\nHost: test\r\n\
         userName: {USERNAME}\r\npassword: {PASSWORD}\r\nContent-Type: application/json\r\n\
         x-itau-flowID: test\r\nx-itau-correlationID: test-1\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head.lines().next().unwrap().to_owned();
    (status, response[split + 4..].to_vec())
}

#[test]
fn every_engine_answers_with_the_status_and_body_of_itau_codigo_serve() {
    let root = tempfile::tempdir().unwrap();
    let stores = Stores::at(root.path(), ACCOUNTS).unwrap();
    let sqlite = stores.sqlite_path();
    let service = start_service(&sqlite);
    let options = dados_sinteticos::Options::default();
    let found = options.conta(3).codigo().as_str().to_owned();
    let unknown = options.conta(ACCOUNTS).codigo().as_str().to_owned();
    let last = found.as_bytes()[17] - b'0';
    let wrong_dac = format!("{}{}", &found[..17], (last + 1) % 10);
    let bodies = [
        format!(r#"{{"codigo_conta":"{found}","servico_digital":"chat"}}"#),
        format!(r#"{{"codigo_conta":"{found}","tipo_estrutura":"AP","servico_digital":"chat"}}"#),
        format!(r#"{{"codigo_conta":"{unknown}","servico_digital":"chat"}}"#),
        format!(r#"{{"codigo_conta":"{wrong_dac}","servico_digital":"chat"}}"#),
    ];
    let expected: Vec<_> = bodies.iter().map(|body| consulta(service, body)).collect();
    let statuses: Vec<_> = expected.iter().map(|(status, _)| status.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "HTTP/1.1 200 OK",
            "HTTP/1.1 200 OK",
            "HTTP/1.1 404 Not Found",
            "HTTP/1.1 400 Bad Request"
        ]
    );
    for engine in ["lmdb", "redb", "in-memory"] {
        let server = EngineServer::start(engine, &sqlite);
        for (body, expected) in bodies.iter().zip(&expected) {
            let (status, answer) = consulta(server.port, body);
            assert_eq!(&status, &expected.0, "{engine}: {body}");
            assert_eq!(
                String::from_utf8_lossy(&answer),
                String::from_utf8_lossy(&expected.1),
                "{engine}: {body}"
            );
        }
    }
}
