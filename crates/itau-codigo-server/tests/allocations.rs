//! How many heap allocations a consulta costs, counted by a global allocator of this
//! test binary's own. It counts every thread, so the client below allocates nothing per
//! request and the tests run one at a time. The bounds are stated here and in
//! BENCHMARKS.md ("Method"); a change that needs more raises them in both places.

use std::alloc::System;
use std::io::Write;
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Duration;

use itau_codigo::{ConsultaClienteRequest, Validate};
use itau_codigo_server::auth::Credentials;
use itau_codigo_server::config::{ServeConfig, StoreConfig};
use itau_codigo_server::import::{ImportOptions, import};
use itau_codigo_server::startup::Application;
use itau_codigo_server::store::{self, DbLocation};
use itau_codigo_server::telemetry::{self, LogFormat, LogGuard};
use secrecy::SecretString;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[path = "support/keep_alive.rs"]
mod keep_alive;
use keep_alive::read_one_response;

/// At most this many allocations for the SQLite store to find an account and render
/// its answer (`Store::answer`): the boxed future, the body, and one inside the
/// connection pool's check-out.
const MAX_STORE_ALLOCATIONS: f64 = 3.0;
/// At most this many allocations per consulta through the whole service over
/// keep-alive HTTP/1.1: actix-web's request and response, the middleware (IDs, the
/// trace's `traceresponse` value, span and its fields, access log, metrics),
/// authentication, parsing the body, the store, the answer, with the log subscriber
/// `serve` installs.
const MAX_REQUEST_ALLOCATIONS: f64 = 42.0;
/// At most this many allocations to check the field rules of a valid import record,
/// which an import does for every line: the buffer of the path a refusal would name.
/// The e-mail, date and CPF/CNPJ checks allocate nothing.
const MAX_CHECK_ALLOCATIONS: u64 = 1;

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The counter is global: the tests of this binary run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The log subscriber `serve` installs by default (JSON at `info`), to a sink: the
/// request's span and access line allocate as deployed. Every test of this binary
/// installs it, so that a count does not depend on which test ran first.
fn logging_as_deployed() {
    static LOGS: std::sync::OnceLock<LogGuard> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| telemetry::init(LogFormat::Json, "info", std::io::sink()).unwrap());
}

/// Allocations so far, reallocations included (each may move the block).
fn allocations() -> u64 {
    let stats = ALLOCATOR.stats();
    (stats.allocations + stats.reallocations) as u64
}

const PATH: &str = "/apiaccess/rest/ccmessaging/v1/itau/codigo";
const USERNAME: &str = "chat_itau_oiap";
const PASSWORD: &str = "s3nh4-de-teste";
/// A person with three managers; the request selects the second.
const BODY: &str = r#"{"codigo_conta":"001341150100098790","tipo_estrutura":"OP"}"#;

fn demo_store(dir: &tempfile::TempDir) -> DbLocation {
    let location = DbLocation::SqliteFile(dir.path().join("itau-codigo.db"));
    let mut importer = store::open_importer(&location).unwrap();
    import(
        include_str!("../demo/clientes.jsonl").as_bytes(),
        importer.as_mut(),
        &ImportOptions::default(),
        &mut Vec::new(),
    )
    .unwrap();
    location
}

#[test]
fn the_store_finds_and_renders_an_answer_in_at_most_the_stated_allocations() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    logging_as_deployed();
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&demo_store(&dir), 2, store::SqliteReads::Copied).unwrap();
    let consulta = ConsultaClienteRequest::new("001341150100098790".parse().unwrap())
        .with_tipo_estrutura("OP")
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    const ROUNDS: u64 = 10_000;
    let per_answer = runtime.block_on(async {
        let mut lengths = Vec::with_capacity(2 * ROUNDS as usize);
        let mut per_answer = 0.0;
        // The first pass warms the pool and the statement cache.
        for pass in 0..2 {
            let before = allocations();
            for _ in 0..ROUNDS {
                lengths.push(store.answer(&consulta).await.unwrap().unwrap().len());
            }
            if pass == 1 {
                per_answer = (allocations() - before) as f64 / ROUNDS as f64;
            }
        }
        assert!(lengths.iter().all(|&len| len == lengths[0]));
        per_answer
    });
    eprintln!("Store::answer on SQLite: {per_answer:.2} allocations per answer");
    assert!(
        per_answer <= MAX_STORE_ALLOCATIONS,
        "{per_answer:.2} allocations per answer, more than {MAX_STORE_ALLOCATIONS}"
    );
}

#[test]
fn a_consulta_over_http_costs_at_most_the_stated_allocations() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    logging_as_deployed();
    let dir = tempfile::tempdir().unwrap();
    let location = demo_store(&dir);
    let credentials = Credentials::new(USERNAME, &SecretString::from(PASSWORD)).unwrap();
    let mut config = ServeConfig::for_tests(StoreConfig::Db(location), credentials);
    config.workers = Some(1);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let application = Application::build(&config).unwrap();
            sender
                .send((application.port(), application.handle()))
                .unwrap();
            application.run_until_stopped().await.unwrap();
        });
    });
    let (port, handle) = receiver.recv_timeout(Duration::from_secs(30)).unwrap();

    let request = format!(
        "POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nuserName: {USERNAME}\r\npassword: {PASSWORD}\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    )
    .into_bytes();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buffer = [0u8; 8192];
    let mut consulta = || {
        stream.write_all(&request).unwrap();
        let read = read_one_response(&mut stream, &mut buffer).unwrap();
        assert!(buffer[..read].starts_with(b"HTTP/1.1 200"), "{read}");
    };
    const ROUNDS: u64 = 2_000;
    for _ in 0..ROUNDS / 10 {
        consulta();
    }
    let before = allocations();
    for _ in 0..ROUNDS {
        consulta();
    }
    let per_request = (allocations() - before) as f64 / ROUNDS as f64;
    drop(handle.stop(false));
    eprintln!("consulta over HTTP: {per_request:.2} allocations per request");
    assert!(
        per_request <= MAX_REQUEST_ALLOCATIONS,
        "{per_request:.2} allocations per consulta, more than {MAX_REQUEST_ALLOCATIONS}"
    );
}

#[test]
fn checking_an_import_record_allocates_only_the_path_a_refusal_would_name() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    logging_as_deployed();
    let options = dados_sinteticos::Options::default();
    // People and companies, numeric and alphanumeric CNPJs, dates and date-times.
    for i in 0..2_000 {
        let registro = dados_sinteticos::registro(i * 7919, &options);
        assert_eq!(registro.validate(), Ok(()), "record {i}");
        // The fewest of a few tries: threads an earlier test left behind (a server
        // shutting down, a pool's reaper) may allocate during one of them.
        let spent = (0..5)
            .map(|_| {
                let before = allocations();
                let _ = std::hint::black_box(registro.validate());
                allocations() - before
            })
            .min()
            .unwrap_or_default();
        assert!(
            spent <= MAX_CHECK_ALLOCATIONS,
            "record {i}: {spent} allocations, more than {MAX_CHECK_ALLOCATIONS}"
        );
    }
}
