//! What every test file shares: `TestApp::builder()` (the one way to start an app), the
//! one raw HTTP/1.1 client [`Http`] (raw, because the hostile cases — repeated or
//! non-UTF-8 headers, a body sent slowly — are exactly what polite clients refuse to
//! send), the test credentials and accounts.

use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use itau_codigo_server::auth::Credentials;
use itau_codigo_server::config::{ServeConfig, StoreConfig};
use itau_codigo_server::import::{ImportOptions, import};
use itau_codigo_server::startup::Application;
use itau_codigo_server::store::{self, DbLocation, Store};
use secrecy::SecretString;
use serde_json::Value;
use socket2::{Domain, Protocol, Socket, Type};

use crate::stores::{TestDb, TestStore};

pub(crate) const PATH: &str = "/apiaccess/rest/ccmessaging/v1/itau/codigo";
pub(crate) const USERNAME: &str = "chat_itau_oiap";
pub(crate) const PASSWORD: &str = "s3nh4-de-teste-longa";
/// A person with three managers: AP (first), OP, SD.
pub(crate) const TRES_GERENTES: &str = "001341150100098790";
/// A customer with `emails: []` and `telefones: []`.
pub(crate) const LISTAS_VAZIAS: &str = "001341823400358946";
/// Valid DAC, not in the demo data.
pub(crate) const DESCONHECIDA: &str = "001341000100000017";

/// A running app and the store it answers from; stopped when dropped. Its [`Http`]
/// client is reachable through `Deref`: `app.consulta(..)`, `app.raw(..)`.
pub(crate) struct TestApp {
    http: Http,
    handle: ServerHandle,
    /// The store the app answers from, kept until the app is gone.
    pub(crate) store: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The stop command is sent when `stop` is called; its future only waits for it.
        drop(self.handle.stop(false));
    }
}

impl std::ops::Deref for TestApp {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

impl TestApp {
    /// The one way to start an app: by default on a new SQLite file holding the demo
    /// data, one worker, [`ServeConfig::for_tests`] otherwise.
    pub(crate) fn builder<'a>() -> TestAppBuilder<'a> {
        TestAppBuilder {
            store: TestStore::Sqlite,
            db: None,
            adjust: Vec::new(),
            store_impl: None,
        }
    }

    /// The SQLite file the app answers from (for tests that tamper with it).
    pub(crate) fn sqlite_file(&self) -> &Path {
        self.store.sqlite_path().expect("an app on SQLite")
    }
}

/// A change to the configuration, given to [`TestAppBuilder::config`].
type Adjust<'a> = Box<dyn FnOnce(&mut ServeConfig) + 'a>;

/// What [`TestApp::builder`] starts.
pub(crate) struct TestAppBuilder<'a> {
    store: TestStore,
    db: Option<TestDb>,
    adjust: Vec<Adjust<'a>>,
    store_impl: Option<Arc<dyn Store>>,
}

impl<'a> TestAppBuilder<'a> {
    /// A new store of this kind holding the demo data (SQLite unless told otherwise).
    pub(crate) fn store(mut self, store: TestStore) -> Self {
        self.store = store;
        self
    }

    /// This store instead of a new one; the app keeps it until it is dropped.
    pub(crate) fn db(mut self, db: TestDb) -> Self {
        self.db = Some(db);
        self
    }

    /// Changes the configuration (after the defaults; calls apply in order).
    pub(crate) fn config(mut self, adjust: impl FnOnce(&mut ServeConfig) + 'a) -> Self {
        self.adjust.push(Box::new(adjust));
        self
    }

    /// Answers from `store` instead of the configured one (tests inject faulty stores).
    pub(crate) fn store_impl(mut self, store: Arc<dyn Store>) -> Self {
        self.store_impl = Some(store);
        self
    }

    /// Starts the app on a thread of its own and waits until it listens.
    pub(crate) fn spawn(self) -> TestApp {
        let db = self.db.unwrap_or_else(|| TestDb::with_demo(self.store));
        let mut config = ServeConfig::for_tests(StoreConfig::Db(db.location()), credentials());
        config.workers = Some(1);
        for adjust in self.adjust {
            adjust(&mut config);
        }
        let store = self.store_impl;
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let application = match store {
                    Some(store) => Application::build_with_store(&config, store),
                    None => Application::build(&config),
                }
                .expect("the app builds");
                sender
                    .send((application.port(), application.handle()))
                    .unwrap();
                application.run_until_stopped().await.unwrap();
            });
        });
        let (port, handle) = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("the app starts");
        TestApp {
            http: Http::new(port),
            handle,
            store: db,
        }
    }
}

pub(crate) fn credentials() -> Credentials {
    Credentials::new(USERNAME, &SecretString::from(PASSWORD)).unwrap()
}

/// A SQLite file holding the demo data, in a new temp dir.
pub(crate) fn demo_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("itau-codigo.db");
    let mut importer = store::open_importer(&DbLocation::SqliteFile(path.clone())).unwrap();
    let data = include_str!("../../demo/clientes.jsonl");
    import(
        data.as_bytes(),
        importer.as_mut(),
        &ImportOptions::default(),
        &mut Vec::new(),
    )
    .unwrap();
    (dir, path)
}

/// A parsed HTTP response.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The problem body, after checking its media type and that its correlation ID is
    /// the response header's.
    pub(crate) fn problem(&self) -> Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        let body = self.json();
        assert_eq!(body["status"], self.status, "{body}");
        assert_eq!(
            body["correlation_id"].as_str(),
            self.header("x-itau-correlationid"),
            "{body}"
        );
        body
    }

    pub(crate) fn problem_type(&self) -> String {
        self.problem()["type"]
            .as_str()
            .unwrap()
            .trim_start_matches("urn:itau-codigo:problem:")
            .to_owned()
    }
}

/// The one raw HTTP/1.1 client of these tests, for an app or a `serve` process on a
/// loopback port: raw, because the hostile cases are exactly what polite clients refuse
/// to send.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Http {
    pub(crate) port: u16,
    /// The loopback address connections come from (the system's choice when `None`).
    from: Option<IpAddr>,
}

impl Http {
    pub(crate) fn new(port: u16) -> Self {
        Self { port, from: None }
    }

    /// The same client, connecting from `address` (e.g. `127.0.0.2`: every 127/8
    /// address is loopback), so that the server sees another peer.
    pub(crate) fn from(self, address: &str) -> Self {
        Self {
            from: Some(address.parse().unwrap()),
            ..self
        }
    }

    pub(crate) fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A connection, for tests that send in parts or keep it open.
    pub(crate) fn connect(&self) -> TcpStream {
        self.try_connect().unwrap()
    }

    pub(crate) fn try_connect(&self) -> std::io::Result<TcpStream> {
        let Some(from) = self.from else {
            return TcpStream::connect(self.address());
        };
        let server = SocketAddr::from(([127, 0, 0, 1], self.port));
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        socket.bind(&SocketAddr::new(from, 0).into())?;
        socket.connect(&server.into())?;
        Ok(socket.into())
    }

    /// Sends raw bytes, reads the response (to the end: send `Connection: close`).
    pub(crate) fn raw(&self, request: &[u8]) -> Response {
        let mut stream = self.connect();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.write_all(request).unwrap();
        read_response(&mut stream)
    }

    /// A request with these headers (each given as `name: value`, repeats allowed).
    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[&str],
        body: &[u8],
    ) -> Response {
        self.raw(&http_request(method, path, headers, body))
    }

    /// POST to the API as `username`/`password` with a JSON content type, plus `extra`
    /// headers.
    pub(crate) fn post_as(
        &self,
        username: &str,
        password: &str,
        body: &str,
        extra: &[&str],
    ) -> Response {
        let user = format!("userName: {username}");
        let password = format!("password: {password}");
        let mut headers = vec![
            "Content-Type: application/json",
            user.as_str(),
            password.as_str(),
        ];
        headers.extend_from_slice(extra);
        self.request("POST", PATH, &headers, body.as_bytes())
    }

    /// POST to the API with valid credentials and a JSON content type, plus `extra` headers.
    pub(crate) fn post_consulta(&self, body: &str, extra: &[&str]) -> Response {
        self.post_as(USERNAME, PASSWORD, body, extra)
    }

    pub(crate) fn consulta(&self, codigo_conta: &str) -> Response {
        self.post_consulta(&format!(r#"{{"codigo_conta":"{codigo_conta}"}}"#), &[])
    }

    pub(crate) fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }
}

/// The bytes of a request that closes its connection after the answer. Each header is
/// one `name: value` line (bytes, so that a test can send what is not UTF-8); a POST or
/// a body gets its `Content-Length`.
pub(crate) fn http_request(
    method: &str,
    path: &str,
    headers: &[impl AsRef<[u8]>],
    body: &[u8],
) -> Vec<u8> {
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n").into_bytes();
    for header in headers {
        request.extend_from_slice(header.as_ref());
        request.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || method == "POST" {
        request.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body);
    request
}

/// The bytes of a consulta as the right user that keeps its connection open (HTTP/1.1's
/// default), for tests that send several on one connection.
pub(crate) fn keep_alive_consulta() -> Vec<u8> {
    let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    format!(
        "POST {PATH} HTTP/1.1\r\nHost: x\r\nuserName: {USERNAME}\r\npassword: {PASSWORD}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub(crate) fn read_response(stream: &mut TcpStream) -> Response {
    let mut bytes = Vec::new();
    BufReader::new(stream).read_to_end(&mut bytes).ok();
    parse_response(&bytes)
}

/// Reads one response off a keep-alive connection (head, then `content-length` bytes).
pub(crate) fn read_one_response(stream: &mut TcpStream) -> std::io::Result<Response> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = parse_response(&bytes[..end + 4]);
            let length: usize = head
                .header("content-length")
                .map_or(0, |l| l.parse().unwrap());
            if bytes.len() >= end + 4 + length {
                return Ok(parse_response(&bytes));
            }
        }
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        bytes.extend_from_slice(&buffer[..read]);
    }
}

pub(crate) fn parse_response(bytes: &[u8]) -> Response {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
    }
}

/// Replaces the correlation ID (which changes every run) after checking it is there.
pub(crate) fn redacted(mut body: Value) -> Value {
    if let Some(id) = body.get_mut("correlation_id") {
        assert!(id.as_str().is_some_and(|s| !s.is_empty()), "{id}");
        *id = Value::String("[correlation_id]".into());
    }
    body
}

/// `count` valid import lines from the project's generator (`dados_sinteticos`), each
/// under a new account code at agência `agencia` (conta 1, 2, ...).
pub(crate) fn generated_records(count: usize, agencia: &str) -> String {
    dados_sinteticos::records(count, agencia)
}

/// Fails when `logs` holds any of `extra`, or any personal field of `customer` (a 200's
/// `data`): names, CPF/CNPJ, birth date, e-mails, phones, and its manager's e-mail,
/// RACF, functional number and phone.
pub(crate) fn assert_logs_hold_no_secret(logs: &str, customer: &Value, extra: &[&str]) {
    let gerente = &customer["gerentes"];
    let personal = [
        &customer["nome_completo"],
        &customer["nome_fantasia_apelido"],
        &customer["cpf_cnpj"],
        &customer["data_nascimento_fundacao"],
        &customer["emails"][0]["email"],
        &customer["telefones"][0]["numero"],
        &gerente["email_gerente"],
        &gerente["racf_gerente"],
        &gerente["funcional_gerente"],
        &gerente["telefones"]["numero"],
    ]
    .map(|value| {
        value
            .as_str()
            .unwrap_or_else(|| panic!("the customer lacks a field: {customer}"))
    });
    for secret in extra.iter().chain(&personal) {
        assert!(!logs.contains(secret), "{secret:?} is in the logs:\n{logs}");
    }
}
