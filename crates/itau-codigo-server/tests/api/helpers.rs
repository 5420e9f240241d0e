//! `spawn_app()` and a raw HTTP/1.1 client: raw, because the hostile cases (repeated or
//! non-UTF-8 headers, a body sent slowly) are exactly what polite clients refuse to send.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
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

use crate::stores::{TestDb, TestStore};

pub(crate) const PATH: &str = "/apiaccess/rest/ccmessaging/v1/itau/codigo";
pub(crate) const USERNAME: &str = "chat_itau_oiap";
pub(crate) const PASSWORD: &str = "s3nh4-de-teste";
/// A person with three managers: AP (first), OP, SD.
pub(crate) const TRES_GERENTES: &str = "001341150100098790";
/// A customer with `emails: []` and `telefones: []`.
pub(crate) const LISTAS_VAZIAS: &str = "001341823400358946";
/// Valid DAC, not in the demo data.
pub(crate) const DESCONHECIDA: &str = "001341000100000017";

pub(crate) struct TestApp {
    pub(crate) port: u16,
    #[allow(dead_code, reason = "the store file, for tests that tamper with it")]
    /// The SQLite file (empty for an app on PostgreSQL).
    pub(crate) db: PathBuf,
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

/// An app on a SQLite file holding the demo data (for tests of one store only).
#[allow(dead_code, reason = "every test of this branch runs on both stores")]
pub(crate) fn spawn_app() -> TestApp {
    spawn_app_with(|_| {})
}

pub(crate) fn spawn_app_with(adjust: impl FnOnce(&mut ServeConfig)) -> TestApp {
    spawn_app_on_with(TestStore::Sqlite, adjust)
}

/// An app on `store` (a new SQLite file or PostgreSQL database) holding the demo data.
pub(crate) fn spawn_app_on(store: TestStore) -> TestApp {
    spawn_app_on_with(store, |_| {})
}

pub(crate) fn spawn_app_on_with(
    store: TestStore,
    adjust: impl FnOnce(&mut ServeConfig),
) -> TestApp {
    let db = TestDb::with_demo(store);
    spawn_app_on_db(db, adjust)
}

/// An app answering from `db`, which it keeps until it is dropped.
pub(crate) fn spawn_app_on_db(db: TestDb, adjust: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let mut config = ServeConfig::for_tests(StoreConfig::Db(db.location()), credentials());
    config.workers = Some(1);
    adjust(&mut config);
    start(config, None, db)
}

/// An app answering from `store` instead of the configured one.
pub(crate) fn spawn_app_with_store(store: Arc<dyn Store>) -> TestApp {
    let db = TestDb::with_demo(TestStore::Sqlite);
    let mut config = ServeConfig::for_tests(StoreConfig::Db(db.location()), credentials());
    config.workers = Some(1);
    start(config, Some(store), db)
}

fn start(config: ServeConfig, store: Option<Arc<dyn Store>>, db: TestDb) -> TestApp {
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
        port,
        db: db.sqlite_path().map(PathBuf::from).unwrap_or_default(),
        handle,
        store: db,
    }
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

impl TestApp {
    pub(crate) fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Sends raw bytes, reads the response.
    pub(crate) fn raw(&self, request: &[u8]) -> Response {
        let mut stream = TcpStream::connect(self.address()).unwrap();
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
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.address()
        )
        .into_bytes();
        for header in headers {
            request.extend_from_slice(header.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        if !body.is_empty() || method == "POST" {
            request.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        request.extend_from_slice(b"\r\n");
        request.extend_from_slice(body);
        self.raw(&request)
    }

    /// POST to the API with valid credentials and a JSON content type, plus `extra` headers.
    pub(crate) fn post_consulta(&self, body: &str, extra: &[&str]) -> Response {
        let user = format!("userName: {USERNAME}");
        let password = format!("password: {PASSWORD}");
        let mut headers = vec![
            "Content-Type: application/json",
            user.as_str(),
            password.as_str(),
        ];
        headers.extend_from_slice(extra);
        self.request("POST", PATH, &headers, body.as_bytes())
    }

    pub(crate) fn consulta(&self, codigo_conta: &str) -> Response {
        self.post_consulta(&format!(r#"{{"codigo_conta":"{codigo_conta}"}}"#), &[])
    }

    pub(crate) fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }
}

pub(crate) fn read_response(stream: &mut TcpStream) -> Response {
    let mut bytes = Vec::new();
    BufReader::new(stream).read_to_end(&mut bytes).ok();
    parse_response(&bytes)
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

/// `count` valid import lines: the demo records over and over, each under a new account
/// code at agência `agencia` (conta 1, 2, ...).
pub(crate) fn generated_records(count: usize, agencia: &str) -> String {
    let demo: Vec<Value> = include_str!("../../demo/clientes.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut out = String::new();
    for index in 0..count {
        let mut record = demo[index % demo.len()].clone();
        let conta = format!("{:07}", index + 1);
        let codigo = itau_codigo::CodigoConta::compose("001", "341", agencia, &conta).unwrap();
        record["codigo_conta"] = Value::String(codigo.to_string());
        record["data"]["agencia"] = Value::String(agencia.to_owned());
        record["data"]["conta_corrente"] = Value::String(conta);
        out.push_str(&record.to_string());
        out.push('\n');
    }
    out
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
