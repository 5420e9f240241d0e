//! Structured logs with `tracing`: JSON for machines, pretty for people. The writer is a
//! parameter, so a test can capture a run's logs.

use std::io::IsTerminal;

use tracing::{Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, fmt};

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Pretty on a terminal, JSON otherwise.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Pretty,
}

/// Dependencies whose logs can carry what must never be logged, and the most verbose
/// level let through from them, whatever `--log` says. tokio-postgres logs every bound
/// parameter (account codes) and every statement at debug; postgres-protocol sits under
/// it. The others were audited and log no request data: actix (connection states,
/// malformed-request reasons), rustls (handshakes, certificates), r2d2 and deadpool
/// (pool errors), rusqlite (no logging).
pub const CAPPED_TARGETS: [(&str, Level); 3] = [
    ("tokio_postgres", Level::INFO),
    ("postgres_protocol", Level::INFO),
    ("postgres_types", Level::INFO),
];

/// The filter that applies [`CAPPED_TARGETS`] after the operator's (a target prefix,
/// so `tokio_postgres::query=trace` is capped too).
fn dependency_caps() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(CAPPED_TARGETS)
}

/// Installs the global subscriber writing to `writer`; `filter` is an `EnvFilter`
/// directive such as `info` or `itau_codigo_server=debug`.
///
/// # Errors
///
/// A bad filter, or a subscriber already installed.
pub fn init<W>(format: LogFormat, filter: &str, writer: W) -> anyhow::Result<()>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    subscriber(format, filter, writer)?
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))
}

/// The subscriber [`init`] installs, for a caller that installs it itself (the log
/// bench, a test scoping it to a thread).
///
/// # Errors
///
/// A bad filter.
pub fn subscriber<W>(
    format: LogFormat,
    filter: &str,
    writer: W,
) -> anyhow::Result<Box<dyn Subscriber + Send + Sync>>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter)?;
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_span_events(FmtSpan::NONE);
    Ok(if json {
        Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish()
                .with(dependency_caps()),
        )
    } else {
        Box::new(builder.compact().finish().with(dependency_caps()))
    })
}
