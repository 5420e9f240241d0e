//! The ceiling of `cargo xtask bench`: the least an actix-web app can do on the
//! consulta path. It reads the request body (as the service must) and answers every
//! POST with the same JSON bytes, which the bench sizes like a typical 200 of the
//! service. No credentials, no parsing, no store, no logging: whatever the service
//! spends beyond this app's CPU per request is the service's own work.
//!
//! `--parse FILE` instead measures the least a JSON reader can do with the import's
//! records: serde_json reading each line into `serde::de::IgnoredAny`, which checks the
//! syntax and builds nothing (no map, no string), so that every reader that keeps
//! anything costs more. It prints `lines bytes seconds` for the fastest pass over the
//! file (passes repeat until a second has gone by, so that a small file is timed
//! over more than a scheduler tick). Built here so that it gets the service's release
//! profile, where `cargo xtask` itself is a debug build.
//!
//! Usage: `bench-ceiling --bind ADDR --workers N --body FILE` or `bench-ceiling --parse FILE`

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use actix_web::http::header::ContentType;
use actix_web::{App, HttpResponse, HttpServer, web};

const PATH: &str = "/apiaccess/rest/ccmessaging/v1/itau/codigo";

struct Options {
    bind: SocketAddr,
    workers: usize,
    body: web::Bytes,
}

fn options() -> Result<Options, String> {
    let mut bind = None;
    let mut workers = 1;
    let mut body = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bind" => bind = Some(value()?.parse().map_err(|e| format!("--bind: {e}"))?),
            "--workers" => workers = value()?.parse().map_err(|e| format!("--workers: {e}"))?,
            "--body" => {
                let path = value()?;
                let bytes = std::fs::read(&path).map_err(|e| format!("--body {path}: {e}"))?;
                body = Some(web::Bytes::from(bytes));
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Options {
        bind: bind.ok_or("--bind ADDR is required")?,
        workers,
        body: body.ok_or("--body FILE is required")?,
    })
}

/// One pass over the records file: (lines, bytes).
fn parse_pass(path: &Path) -> Result<(u64, u64), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(1 << 16);
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if read == 0 {
            return Ok((lines, bytes));
        }
        bytes += read as u64;
        lines += 1;
        serde_json::from_slice::<serde::de::IgnoredAny>(&line)
            .map_err(|e| format!("{} line {lines}: {e}", path.display()))?;
    }
}

/// `--parse FILE`: the fastest of the passes made within a second (at least one).
fn parse(path: &Path) -> Result<(), String> {
    let started = Instant::now();
    let mut fastest: Option<(u64, u64, Duration)> = None;
    while fastest.is_none() || started.elapsed() < Duration::from_secs(1) {
        let pass = Instant::now();
        let (lines, bytes) = parse_pass(path)?;
        let took = pass.elapsed();
        if fastest.is_none_or(|(_, _, best)| took < best) {
            fastest = Some((lines, bytes, took));
        }
    }
    let (lines, bytes, took) = fastest.unwrap_or_default();
    println!("{lines} {bytes} {:.6}", took.as_secs_f64());
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, file] = args.as_slice()
        && flag == "--parse"
    {
        return match parse(Path::new(file)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("bench-ceiling --parse: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!(
                "bench-ceiling: {message}\nusage: bench-ceiling --bind ADDR --workers N --body FILE\n       bench-ceiling --parse FILE"
            );
            return ExitCode::from(2);
        }
    };
    let body = options.body;
    let served = actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let body = body.clone();
            App::new().service(web::resource(PATH).route(web::post().to(
                move |_request: web::Bytes| {
                    let body = body.clone();
                    async move {
                        HttpResponse::Ok()
                            .insert_header(ContentType::json())
                            .body(body)
                    }
                },
            )))
        })
        .workers(options.workers)
        .bind(options.bind)?
        .run()
        .await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench-ceiling: {error}");
            ExitCode::FAILURE
        }
    }
}
