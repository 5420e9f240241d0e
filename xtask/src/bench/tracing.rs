//! `cargo xtask bench --tracing`: what recording traces costs the service. One store,
//! the service three ways side by side — export off, export on with every request
//! recorded (`OTEL_TRACES_SAMPLER_ARG=1.0`), export on with the default sampler — each
//! pinned to the same core and loaded in turn by the same wrk script. Each exporting
//! service posts to a receiver of its own, a thread here that answers every OTLP/HTTP
//! post with 200 and counts the spans in it: the figures are the service's own work
//! (recording, encoding, sending), and the span count shows none was dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, ensure};

use super::wrk::{self, Measured};
use super::{Binaries, Loads, Options, Server, dados, import, report, with_answers};

/// One way of running the service.
struct Variant {
    name: &'static str,
    /// The `OTEL_*` variables beyond the endpoint; `None`: export off.
    env: Option<&'static [(&'static str, &'static str)]>,
}

const VARIANTS: [Variant; 3] = [
    Variant {
        name: "export off",
        env: None,
    },
    Variant {
        name: "export on, every request (ratio 1.0)",
        env: Some(&[("OTEL_TRACES_SAMPLER_ARG", "1.0")]),
    },
    Variant {
        name: "export on, the default sampler",
        env: Some(&[]),
    },
];

/// Runs the comparison and returns its Markdown report.
pub(crate) fn run(
    options: &Options,
    binaries: &Binaries,
    script: &Path,
    args: &[&str],
) -> anyhow::Result<String> {
    let size = options.sizes[0];
    let data = dados::generate(&options.out, size)?;
    let path = options.out.join(format!("tracing-store-{size}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let db = format!("sqlite:{}", path.display());
    import(&binaries.service, &data.records, &db, false)?;

    let mut running = Vec::new();
    for variant in &VARIANTS {
        let receiver = variant.env.map(|_| Receiver::start()).transpose()?;
        let mut env: Vec<(String, String)> = Vec::new();
        if let (Some(extra), Some(receiver)) = (variant.env, &receiver) {
            env.push((
                "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
                format!("http://127.0.0.1:{}", receiver.port),
            ));
            env.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        }
        let server = Server::start_with_env(
            "service".to_owned(),
            &binaries.service,
            &[
                "serve".into(),
                "--db".into(),
                db.clone().into(),
                "--workers".into(),
                options.workers.to_string().into(),
            ],
            &options.server_cpu,
            &env,
        )?;
        running.push((variant, server, receiver));
    }
    let loads = Loads::new(options, size, &data.codes, script);
    let load = |server: &Server, connections: u32, duration: Duration, check: bool| {
        loads.on(server, connections, duration, check)
    };
    let warm = options.connections.iter().copied().max().unwrap_or(64);
    for (_, server, _) in &running {
        wrk::run(&load(server, warm, options.warmup, false), server.pid())?;
    }
    let mut rows: Vec<Row> = Vec::new();
    for &connections in &options.connections {
        let mut best: Vec<Option<Measured>> = vec![None; running.len()];
        let mut slowest = vec![f64::INFINITY; running.len()];
        let mut answered = vec![0u64; running.len()];
        let mut spans = vec![0u64; running.len()];
        for round in 1..=options.rounds {
            for (i, (variant, server, receiver)) in running.iter().enumerate() {
                eprintln!(
                    "bench --tracing: {connections} connections, round {round}/{}, {}",
                    options.rounds, variant.name
                );
                let spans_before = receiver.as_ref().map_or(0, Receiver::spans);
                let (measured, answers) = with_answers(server.port, || {
                    wrk::run(
                        &load(server, connections, options.duration, options.check),
                        server.pid(),
                    )
                })?;
                ensure!(
                    measured.wrong == 0 && measured.socket_errors == 0,
                    "{}: {} wrong answers ({}), {} socket errors",
                    variant.name,
                    measured.wrong,
                    measured.first_wrong,
                    measured.socket_errors
                );
                answered[i] += answers.values().sum::<u64>();
                // Spans of this round still queued are sent within the batch delay.
                std::thread::sleep(Duration::from_millis(200));
                spans[i] += receiver.as_ref().map_or(0, Receiver::spans) - spans_before;
                slowest[i] = slowest[i].min(measured.rate());
                if best[i]
                    .as_ref()
                    .is_none_or(|b| measured.server_us_per_request() < b.server_us_per_request())
                {
                    best[i] = Some(measured);
                }
            }
        }
        for (i, measured) in best.into_iter().enumerate() {
            rows.push(Row {
                variant: running[i].0.name,
                connections,
                measured: measured.expect("one round at least"),
                slowest: slowest[i],
                spans_per_request: running[i]
                    .2
                    .as_ref()
                    .map(|_| spans[i] as f64 / answered[i].max(1) as f64),
            });
        }
    }
    let report = markdown(options, args, size, &rows);
    for row in &rows {
        if row.variant == VARIANTS[1].name {
            // The mix is 95% lookups (two spans each) and 5% wrong DACs (one).
            let spans = row.spans_per_request.unwrap_or(0.0);
            ensure!(
                spans > 1.8,
                "every request recorded, yet {spans:.2} spans per request reached the receiver: spans were dropped\n{report}"
            );
        }
    }
    Ok(report)
}

struct Row {
    variant: &'static str,
    connections: u32,
    measured: Measured,
    slowest: f64,
    spans_per_request: Option<f64>,
}

fn markdown(options: &Options, args: &[&str], size: u64, rows: &[Row]) -> String {
    let mut text = String::new();
    text.push_str(&report::side_run_header(args));
    text.push_str(&format!(
        "Store: SQLite, {size} accounts. Three `itau-codigo serve` processes, each loaded in turn: {}; {} interleaved rounds; the table keeps each one's round of least CPU per request and shows the slowest round's req/s. Each exporting service posts to a receiver of its own in the bench process (200 to every post, spans counted). Logs at `info` to /dev/null, as in the main runs.\n\n",
        report::load_setup(options),
        options.rounds,
    ));
    text.push_str("| service | conns | req/s | rounds (slowest) | p99 | server CPU | CPU/req | vs export off | spans exported per request |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in rows {
        let off = rows
            .iter()
            .find(|r| r.connections == row.connections && r.variant == VARIANTS[0].name)
            .map_or(f64::NAN, |r| r.measured.server_us_per_request());
        let cpu = row.measured.server_us_per_request();
        text.push_str(&format!(
            "| {} | {} | {:.0} | {} ({:.0}) | {:.2} ms | {:.0}% | {:.1} µs | {} | {} |\n",
            row.variant,
            row.connections,
            row.measured.rate(),
            options.rounds,
            row.slowest,
            row.measured.p99_ms,
            row.measured.server_busy() * 100.0,
            cpu,
            if row.variant == VARIANTS[0].name {
                "—".to_owned()
            } else {
                format!("{:.3}×", cpu / off)
            },
            row.spans_per_request
                .map_or_else(|| "—".to_owned(), |s| format!("{s:.3}")),
        ));
    }
    text
}

/// A local OTLP/HTTP endpoint: answers every post with 200 and counts the spans of
/// each `ExportTraceServiceRequest`.
struct Receiver {
    port: u16,
    spans: Arc<AtomicU64>,
}

impl Receiver {
    fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let spans = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&spans);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let counted = Arc::clone(&counted);
                std::thread::spawn(move || {
                    let _ = serve_connection(stream, &counted);
                });
            }
        });
        Ok(Self { port, spans })
    }

    fn spans(&self) -> u64 {
        self.spans.load(Ordering::Relaxed)
    }
}

/// HTTP/1.1 with keep-alive: each request's head, its `Content-Length` body, a 200.
fn serve_connection(stream: TcpStream, spans: &AtomicU64) -> anyhow::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().context("Content-Length")?;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        spans.fetch_add(count_spans(&body), Ordering::Relaxed);
        writer.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n",
        )?;
    }
}

/// The spans of an `ExportTraceServiceRequest`: field 1 (`resource_spans`) holds field
/// 2 (`scope_spans`), which holds field 2 (`spans`). Protobuf's wire format, walked
/// without a generated decoder; 0 for bytes that are not one.
fn count_spans(body: &[u8]) -> u64 {
    let mut count = 0;
    for resource_spans in fields(body, 1) {
        for scope_spans in fields(resource_spans, 2) {
            count += fields(scope_spans, 2).count() as u64;
        }
    }
    count
}

/// The length-delimited fields numbered `number` of a message.
fn fields(message: &[u8], number: u64) -> impl Iterator<Item = &[u8]> {
    let mut rest = message;
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let key = varint(&mut rest)?;
            let value: &[u8] = match key & 7 {
                0 => {
                    varint(&mut rest)?;
                    &[]
                }
                1 => take(&mut rest, 8)?,
                2 => {
                    let length = usize::try_from(varint(&mut rest)?).ok()?;
                    take(&mut rest, length)?
                }
                5 => take(&mut rest, 4)?,
                _ => return None,
            };
            if key >> 3 == number && key & 7 == 2 {
                return Some(value);
            }
        }
        None
    })
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn take<'a>(bytes: &mut &'a [u8], length: usize) -> Option<&'a [u8]> {
    if bytes.len() < length {
        return None;
    }
    let (taken, rest) = bytes.split_at(length);
    *bytes = rest;
    Some(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A length-delimited field.
    fn field(number: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![number << 3 | 2, u8::try_from(value.len()).unwrap()];
        out.extend_from_slice(value);
        out
    }

    #[test]
    fn spans_are_counted_across_resources_and_scopes() {
        let span = field(2, &[0x08, 0x01]);
        let scope = [field(1, b"scope"), span.clone(), span.clone()].concat();
        let resource = [field(1, b"res"), field(2, &scope), field(2, &scope)].concat();
        let request = [field(1, &resource), field(1, &field(2, &field(2, b"")))].concat();
        assert_eq!(count_spans(&request), 5);
        assert_eq!(count_spans(b""), 0);
        assert_eq!(count_spans(&[0xff]), 0);
    }
}
