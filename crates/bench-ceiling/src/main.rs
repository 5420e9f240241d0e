//! The ceiling of `cargo xtask bench`: the least an actix-web app can do on the
//! consulta path. It reads the request body (as the service must) and answers every
//! POST with the same JSON bytes, which the bench sizes like a typical 200 of the
//! service. No credentials, no parsing, no store, no logging: whatever the service
//! spends beyond this app's CPU per request is the service's own work.
//!
//! Usage: `bench-ceiling --bind ADDR --workers N --body FILE`

use std::net::SocketAddr;
use std::process::ExitCode;

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

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!(
                "bench-ceiling: {message}\nusage: bench-ceiling --bind ADDR --workers N --body FILE"
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
