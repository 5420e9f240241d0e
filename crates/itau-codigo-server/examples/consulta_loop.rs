//! The service's work per consulta repeated, for profilers that count a whole run
//! (callgrind's instruction counts, `perf record`): the whole service in this process
//! (actix-web, one worker, the middleware, the credentials, the body's parser, the
//! SQLite store, the answer, the JSON access line at `info` handed to the log writer),
//! as `itau-codigo serve` runs without trace export, on a store of 1 000 generated
//! accounts, asked by a client thread over one keep-alive connection with the
//! requests of `cargo xtask bench`'s `mix.lua`: per 100, 85 found accounts, 10 valid
//! but unknown codes, 5 wrong DACs, half asking for the AP manager, each with a flow
//! and a correlation ID.
//!
//! `cargo run --release -p itau-codigo-server --example consulta_loop -- N`
//!
//! The store's import, the server's start and a warm-up come first whatever N: a run
//! with N = 0 costs them alone; subtract it, then divide by N. The client's own work (a
//! write and a read per request) is counted too, the same for every build.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use itau_codigo_server::auth::Credentials;
use itau_codigo_server::config::{ServeConfig, StoreConfig};
use itau_codigo_server::import::{ImportOptions, import};
use itau_codigo_server::startup::Application;
use itau_codigo_server::store::{self, DbLocation};
use itau_codigo_server::telemetry::{self, LogFormat};
use secrecy::SecretString;

#[path = "../tests/support/keep_alive.rs"]
mod keep_alive;
use keep_alive::read_one_response;

/// As in the `itau-codigo` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PATH: &str = "/apiaccess/rest/ccmessaging/v1/itau/codigo";
const USERNAME: &str = "bench";
const PASSWORD: &str = "bench-s3nh4-longa";
const ACCOUNTS: u64 = 1_000;
/// Distinct requests, cycled through.
const REQUESTS: usize = 1_000;
const WARM_UP: usize = 500;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [count] = args.as_slice() else {
        return Err("usage: consulta_loop N".into());
    };
    let count: usize = count.parse()?;
    // As `serve` logs by default, to a sink instead of stderr.
    let _logs = telemetry::init(LogFormat::Json, "info", std::io::sink())?;

    let dir = tempfile::tempdir()?;
    let location = DbLocation::SqliteFile(dir.path().join("store.db"));
    let options = dados_sinteticos::Options::default();
    let mut records = Vec::new();
    dados_sinteticos::write_records(&mut records, ACCOUNTS, &options)?;
    let mut importer = store::open_importer(&location)?;
    import(
        records.as_slice(),
        importer.as_mut(),
        &ImportOptions::default(),
        &mut Vec::new(),
    )?;
    drop(importer);
    let mut codes = Vec::new();
    dados_sinteticos::write_codes(&mut codes, 0..2 * ACCOUNTS, &options)?;
    let codes: Vec<&str> = std::str::from_utf8(&codes)?.lines().collect();

    let credentials = Credentials::new(USERNAME, &SecretString::from(PASSWORD))?;
    let mut config = ServeConfig::for_tests(StoreConfig::Db(location), credentials);
    config.workers = Some(1);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let application = Application::build(&config).expect("the service starts");
            sender
                .send((application.port(), application.handle()))
                .expect("main waits");
            application.run_until_stopped().await.expect("it serves");
        });
    });
    let (port, handle) = receiver.recv_timeout(Duration::from_secs(60))?;

    let requests: Vec<(Vec<u8>, &[u8])> = (0..REQUESTS).map(|i| request(i, &codes)).collect();
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_nodelay(true)?;
    let mut buffer = [0u8; 16384];
    for i in 0..WARM_UP + count {
        let (request, status) = &requests[i % REQUESTS];
        stream.write_all(request)?;
        let read = read_one_response(&mut stream, &mut buffer)?;
        if !buffer[..read].starts_with(status) {
            return Err(
                format!("request {i}: {}", String::from_utf8_lossy(&buffer[..read])).into(),
            );
        }
    }
    drop(handle.stop(false));
    Ok(())
}

/// The `i`th request of the mix and the status line it must get, drawn as `mix.lua`
/// draws them but from a fixed sequence, so that every run asks the same.
fn request(i: usize, codes: &[&str]) -> (Vec<u8>, &'static [u8]) {
    let draw = |salt: u64| {
        let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^ (x >> 32)
    };
    let kind = draw(1) % 100;
    let index = draw(2) % ACCOUNTS;
    let (codigo, status): (String, &[u8]) = match kind {
        0..85 => (codes[index as usize].to_owned(), b"HTTP/1.1 200"),
        85..95 => (
            codes[(ACCOUNTS + index) as usize].to_owned(),
            b"HTTP/1.1 404",
        ),
        _ => {
            let code = codes[index as usize];
            let dac = code.as_bytes()[17] - b'0';
            let wrong = (dac + 1 + (draw(3) % 9) as u8) % 10;
            (format!("{}{wrong}", &code[..17]), b"HTTP/1.1 400")
        }
    };
    let selector = if draw(4) % 2 == 0 {
        r#","tipo_estrutura":"AP""#
    } else {
        ""
    };
    let body = format!(r#"{{"codigo_conta":"{codigo}"{selector},"servico_digital":"chat"}}"#);
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nuserName: {USERNAME}\r\npassword: {PASSWORD}\r\n\
         Content-Type: application/json\r\nx-itau-flowID: bench\r\nx-itau-correlationID: bench-{i}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    ((head + &body).into_bytes(), status)
}
