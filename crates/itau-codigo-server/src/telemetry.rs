//! Structured logs with `tracing`: JSON for machines, pretty for people.
//!
//! Lines are formatted on the thread that logs them and handed, by a copy into a
//! bounded buffer, to a thread of their own that writes them (buffered) to the sink:
//! a request never waits for stderr. When the buffer is full a line is dropped and
//! counted ([`dropped_lines`], in `/metrics`), and the writer says so in a warning line.
//! In JSON, the access line (target [`ACCESS_TARGET`]) has a formatter of its own that
//! writes each field once, straight to bytes; every other line goes through
//! `tracing-subscriber`'s formatter. The sink is a parameter, so a test can capture a
//! run's logs.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::span::Record;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::{LevelFilter, Targets, filter_fn};
use tracing_subscriber::fmt::format::{FmtSpan, Writer};
use tracing_subscriber::fmt::{FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, fmt};

/// The log target of access lines (`request_context` writes them; the layers here give
/// them a formatter of their own).
pub const ACCESS_TARGET: &str = "itau_codigo::access";

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

impl LogFormat {
    /// Whether lines are JSON (`Auto`: when stderr is not a terminal).
    pub fn is_json(self) -> bool {
        match self {
            Self::Json => true,
            Self::Pretty => false,
            Self::Auto => !io::stderr().is_terminal(),
        }
    }
}

/// Dependencies whose logs can carry what must never be logged, and the most verbose
/// level let through from them, whatever `--log` says. tokio-postgres logs every bound
/// parameter (account codes) and every statement at debug; postgres-protocol sits under
/// it. The others were audited and log no request data: actix (connection states,
/// malformed-request reasons), rustls (handshakes, certificates), r2d2 (pool errors), rusqlite (no logging).
pub const CAPPED_TARGETS: [(&str, Level); 3] = [
    ("tokio_postgres", Level::INFO),
    ("postgres_protocol", Level::INFO),
    ("postgres_types", Level::INFO),
];

/// Bytes of formatted lines waiting for the writer thread, at most.
pub const LOG_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// How long the writer thread lets lines gather after writing a batch.
const BATCH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(2);

/// Lines dropped because the writer thread could not keep up, since the start.
static DROPPED_LINES: AtomicU64 = AtomicU64::new(0);

/// Log lines dropped so far (every writer of the process).
pub fn dropped_lines() -> u64 {
    DROPPED_LINES.load(Ordering::Relaxed)
}

/// The filter that applies [`CAPPED_TARGETS`] after the operator's (a target prefix,
/// so `tokio_postgres::query=trace` is capped too).
fn dependency_caps() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(CAPPED_TARGETS)
}

/// Installs the global subscriber writing to `sink` through a [`LogWriter`]; `filter`
/// is an `EnvFilter` directive such as `info` or `itau_codigo_server=debug`. Keep the
/// guard until the end: dropping it writes out what is still buffered.
///
/// # Errors
///
/// A bad filter, or a subscriber already installed.
pub fn init(
    format: LogFormat,
    filter: &str,
    sink: impl Write + Send + 'static,
) -> anyhow::Result<LogGuard> {
    let writer = LogWriter::spawn(sink, format.is_json(), LOG_BUFFER_BYTES);
    subscriber(format, filter, writer.clone())?
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))?;
    Ok(LogGuard(writer))
}

/// Writes out what is buffered when dropped.
#[derive(Debug)]
pub struct LogGuard(LogWriter);

impl LogGuard {
    /// Waits until every line logged so far is written.
    pub fn flush(&self) {
        self.0.flush();
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.0.flush();
    }
}

/// The subscriber [`init`] installs, for a caller that installs it itself (the log
/// bench, a test scoping it to a thread).
///
/// # Errors
///
/// A bad filter.
pub fn subscriber(
    format: LogFormat,
    filter: &str,
    writer: LogWriter,
) -> anyhow::Result<Box<dyn Subscriber + Send + Sync>> {
    let filter = EnvFilter::try_new(filter)?;
    Ok(if format.is_json() {
        let lines = fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .fmt_fields(SpanFields)
            .with_span_events(FmtSpan::NONE)
            .with_writer(writer.clone())
            .with_filter(filter_fn(|metadata| metadata.target() != ACCESS_TARGET));
        // Spans pass too: the access line names the request span it is written in.
        let access = AccessLines { writer }.with_filter(filter_fn(|metadata| {
            metadata.is_span() || metadata.target() == ACCESS_TARGET
        }));
        // The operator's filter and the caps wrap the two filtered layers rather than
        // sit under them: a callsite they turn away is then never asked about again
        // (`Interest::never`, cached at the callsite). Under layers that have filters of
        // their own, `tracing-subscriber` marks such a callsite "sometimes", and every
        // disabled `trace!` in actix-web's request path is evaluated on each call.
        Box::new(
            tracing_subscriber::registry()
                .with(lines)
                .with(access)
                .with(dependency_caps())
                .with(filter),
        )
    } else {
        let lines = fmt::layer()
            .compact()
            .with_span_events(FmtSpan::NONE)
            .with_writer(writer);
        Box::new(
            tracing_subscriber::registry()
                .with(filter)
                .with(dependency_caps())
                .with(lines),
        )
    })
}

/// Where formatted lines go: a bounded buffer that a thread of its own empties into
/// the sink. Cloning gives another handle to the same buffer.
#[derive(Debug, Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<Buffer>,
    /// The writer thread waits here for lines.
    lines: Condvar,
    /// [`LogWriter::flush`] waits here for the writer thread.
    written: Condvar,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
    /// Lines dropped since the writer last reported drops.
    dropped: u64,
    /// The writer thread is asleep, waiting for lines.
    idle: bool,
    /// The writer thread holds lines it has not written yet.
    writing: bool,
}

impl LogWriter {
    /// Starts the thread that writes to `sink`, buffering at most `capacity` bytes;
    /// `json` says how to spell its own warning about dropped lines.
    pub fn spawn(sink: impl Write + Send + 'static, json: bool, capacity: usize) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(Buffer::default()),
            lines: Condvar::new(),
            written: Condvar::new(),
            capacity,
        });
        let for_thread = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("log-writer".to_owned())
            .spawn(move || write_lines(&for_thread, sink, json))
            .expect("the log writer thread starts");
        Self { shared }
    }

    /// Copies one whole line (or several) into the buffer, or drops it when the buffer
    /// is full.
    pub fn push(&self, line: &[u8]) {
        let mut state = self.shared.lock();
        if state.bytes.len() + line.len() > self.shared.capacity {
            state.dropped += 1;
            DROPPED_LINES.fetch_add(1, Ordering::Relaxed);
            return;
        }
        state.bytes.extend_from_slice(line);
        if state.idle {
            state.idle = false;
            self.shared.lines.notify_one();
        }
    }

    /// Waits until every line pushed so far is written to the sink.
    pub fn flush(&self) {
        let mut state = self.shared.lock();
        while !state.bytes.is_empty() || state.writing {
            state = self
                .shared
                .written
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Buffer> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The writer thread: takes everything buffered at once, writes it, and says when lines
/// were dropped.
fn write_lines(shared: &Shared, sink: impl Write, json: bool) {
    let mut sink = io::BufWriter::with_capacity(64 * 1024, sink);
    let mut batch = Vec::new();
    loop {
        let dropped = {
            let mut state = shared.lock();
            while state.bytes.is_empty() && state.dropped == 0 {
                state.idle = true;
                state = shared
                    .lines
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            state.idle = false;
            state.writing = true;
            std::mem::swap(&mut state.bytes, &mut batch);
            std::mem::take(&mut state.dropped)
        };
        // A sink that fails (a closed stderr) has nowhere to report it.
        let _ = sink.write_all(&batch);
        if dropped > 0 {
            let _ = sink.write_all(&dropped_warning(dropped, json));
        }
        let _ = sink.flush();
        batch.clear();
        shared.lock().writing = false;
        shared.written.notify_all();
        // Lines gather meanwhile without waking this thread: one wake-up per batch,
        // not per line.
        std::thread::sleep(BATCH_INTERVAL);
    }
}

fn dropped_warning(dropped: u64, json: bool) -> Vec<u8> {
    let mut line = Vec::new();
    let message = "log lines dropped: the log writer could not keep up";
    if json {
        line.extend_from_slice(b"{\"timestamp\":\"");
        write_timestamp(&mut line, SystemTime::now());
        let _ = writeln!(
            Bytes(&mut line),
            "\",\"level\":\"WARN\",\"message\":\"{message}\",\"dropped\":{dropped},\"target\":\"itau_codigo::log\"}}"
        );
    } else {
        write_timestamp(&mut line, SystemTime::now());
        let _ = writeln!(
            Bytes(&mut line),
            "  WARN itau_codigo::log: {message} dropped={dropped}"
        );
    }
    line
}

/// `tracing-subscriber` writes each formatted line with one `write_all`.
impl Write for &LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = &'a LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// The JSON access line, formatted by hand: the same members, in the same order, as
/// `tracing-subscriber`'s JSON formatter writes (a test compares the two).
struct AccessLines {
    writer: LogWriter,
}

thread_local! {
    static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

impl<S> Layer<S> for AccessLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, context: Context<'_, S>) {
        let metadata = event.metadata();
        if metadata.target() != ACCESS_TARGET {
            return;
        }
        LINE.with_borrow_mut(|line| {
            line.clear();
            line.extend_from_slice(b"{\"timestamp\":\"");
            write_timestamp(line, SystemTime::now());
            line.extend_from_slice(b"\",\"level\":\"");
            line.extend_from_slice(metadata.level().as_str().as_bytes());
            line.push(b'"');
            event.record(&mut JsonMembers(line));
            line.extend_from_slice(b",\"target\":");
            write_json_str(line, metadata.target());
            if let Some(span) = context.event_span(event) {
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<SpanFields>>()
                    && let Some(members) = fields.fields.strip_suffix('}')
                {
                    line.extend_from_slice(b",\"span\":");
                    line.extend_from_slice(members.as_bytes());
                    if members.len() > 1 {
                        line.push(b',');
                    }
                    line.extend_from_slice(b"\"name\":");
                    write_json_str(line, span.name());
                    line.push(b'}');
                }
            }
            line.extend_from_slice(b"}\n");
            self.writer.push(line);
        });
    }
}

/// A span's fields as the JSON object `tracing-subscriber`'s `JsonFields` makes of them
/// (a test compares the two), written by [`JsonMembers`] as the access line's are.
/// Every request makes a span, and `JsonFields` builds a map of `serde_json` values and
/// serialises it for each; the access line and the JSON formatter read the object back.
#[derive(Debug, Clone, Copy, Default)]
struct SpanFields;

thread_local! {
    static MEMBERS: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(256));
}

impl SpanFields {
    /// `{"name":value,...}` of `fields`, handed to `write`.
    fn object(
        fields: impl RecordFields,
        write: impl FnOnce(&str) -> std::fmt::Result,
    ) -> std::fmt::Result {
        MEMBERS.with_borrow_mut(|members| {
            members.clear();
            members.push(b'{');
            fields.record(&mut JsonMembers(members));
            // Each member came with a comma before it.
            if members.len() > 1 {
                members.remove(1);
            }
            members.push(b'}');
            write(std::str::from_utf8(members).map_err(|_| std::fmt::Error)?)
        })
    }
}

impl<'w> FormatFields<'w> for SpanFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        Self::object(fields, |object| writer.write_str(object))
    }

    /// Fields recorded after the span was made: merged into its object, a name recorded
    /// again taking the new value, as `JsonFields` does.
    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> std::fmt::Result {
        Self::object(fields, |added| {
            if current.fields.is_empty() {
                current.fields.push_str(added);
                return Ok(());
            }
            let parse = |text: &str| {
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text)
                    .map_err(|_| std::fmt::Error)
            };
            let mut merged = parse(&current.fields)?;
            merged.extend(parse(added)?);
            current.fields = serde_json::to_string(&merged).map_err(|_| std::fmt::Error)?;
            Ok(())
        })
    }
}

/// Writes each field as `,"name":value`.
struct JsonMembers<'a>(&'a mut Vec<u8>);

impl JsonMembers<'_> {
    fn name(&mut self, field: &Field) {
        self.0.push(b',');
        write_json_str(self.0, field.name());
        self.0.push(b':');
    }
}

impl Visit for JsonMembers<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.name(field);
        write_json_str(self.0, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.name(field);
        let _ = write!(Bytes(self.0), "{value}");
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.name(field);
        let _ = write!(Bytes(self.0), "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.name(field);
        self.0
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.name(field);
        if value.is_finite() {
            // `Debug` keeps the `.0` of a whole number, as serde_json does.
            let _ = write!(Bytes(self.0), "{value:?}");
        } else {
            self.0.extend_from_slice(b"null");
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.name(field);
        self.0.push(b'"');
        let _ = write!(JsonEscaped(self.0), "{value:?}");
        self.0.push(b'"');
    }
}

/// `fmt::Write` into bytes.
struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

/// `fmt::Write` into bytes, escaped for the inside of a JSON string.
struct JsonEscaped<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        escape_into(self.0, text);
        Ok(())
    }
}

fn write_json_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    escape_into(out, text);
    out.push(b'"');
}

/// The bytes a JSON string cannot hold as they are: one look-up a byte where the text is
/// too short for [`needs_escape`]'s eight (field names, short values).
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

fn escape_into(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none needs escaping, as is the rule in a line.
        if let Some(word) = bytes
            .get(i..i + 8)
            .and_then(|c| <[u8; 8]>::try_from(c).ok())
            && !needs_escape(u64::from_le_bytes(word))
        {
            i += 8;
            continue;
        }
        let byte = bytes[i];
        if !ESCAPED[usize::from(byte)] {
            i += 1;
            continue;
        }
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => b"",
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            let _ = write!(Bytes(out), "\\u{byte:04x}");
        } else {
            out.extend_from_slice(escape);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Whether any of the eight bytes of `word` is a control character, `"` or `\`: the
/// word-at-a-time test for a byte below `n` (a byte's borrow reaches its neighbour
/// only when that byte is itself below `n`, so the answer is exact).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS != 0;
    below(word, 0x20)
        || below(word ^ (ONES * u64::from(b'"')), 1)
        || below(word ^ (ONES * u64::from(b'\\')), 1)
}

/// RFC 3339 in UTC with microseconds, as `tracing-subscriber` writes it:
/// `2026-11-28T09:05:03.123456Z`.
fn write_timestamp(out: &mut Vec<u8>, now: SystemTime) {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let days = (seconds / 86_400) as i64;
    let in_day = seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Digit by digit: `write!` with widths goes through the formatter's padding, a
    // cost paid on every line.
    digits(out, u64::try_from(year).unwrap_or(0), 4);
    out.push(b'-');
    digits(out, u64::try_from(month).unwrap_or(0), 2);
    out.push(b'-');
    digits(out, u64::try_from(day).unwrap_or(0), 2);
    out.push(b'T');
    digits(out, in_day / 3_600, 2);
    out.push(b':');
    digits(out, in_day / 60 % 60, 2);
    out.push(b':');
    digits(out, in_day % 60, 2);
    out.push(b'.');
    digits(out, u64::from(since_epoch.subsec_micros()), 6);
    out.push(b'Z');
}

/// `value`'s last `width` decimal digits, zeros first.
fn digits(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for at in out[start..].iter_mut().rev() {
        *at = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use serde_json::Value;

    use super::*;
    use crate::request_context::{AccessLine, RequestIds, log_access, request_span};

    /// A sink whose bytes a test can read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;

        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    fn log_one_request(flow_id: Option<&str>, conta: &str) {
        let ids = RequestIds {
            correlation_id: "c0rr-\"quoted\"\\".to_owned(),
            flow_id: flow_id.map(str::to_owned),
            trace_id: crate::otel::TraceId::from_bytes([0x4b; 16]),
        };
        let span = request_span(&ids);
        log_access(
            &span,
            &AccessLine {
                method: "POST",
                route: "/apiaccess/rest/ccmessaging/v1/itau/codigo",
                status: 401,
                latency: Duration::from_nanos(1_234_567),
                ids: &ids,
                client: Some("2001:db8::1".parse().unwrap()),
                conta,
                servico_digital: "whats\u{1}app\n",
            },
        );
        log_access(
            &span,
            &AccessLine {
                client: None,
                ..AccessLine {
                    method: "GET",
                    route: "unmatched",
                    status: 404,
                    latency: Duration::from_secs(2),
                    ids: &ids,
                    client: None,
                    conta: "",
                    servico_digital: "",
                }
            },
        );
    }

    fn without_timestamps(text: &str) -> Vec<Value> {
        text.lines()
            .map(|line| {
                let mut value: Value = serde_json::from_str(line).unwrap();
                let timestamp = value["timestamp"].as_str().unwrap().to_owned();
                assert_eq!(timestamp.len(), 27, "{timestamp}");
                value.as_object_mut().unwrap().remove("timestamp");
                value
            })
            .collect()
    }

    #[test]
    fn escaped_text_reads_back_as_itself_wherever_the_special_byte_falls() {
        for special in [
            "\"", "\\", "\n", "\r", "\t", "\u{1}", "\u{1f}", "\u{7f}", "é", "~",
        ] {
            for at in 0..20 {
                let text = format!("{}{special}{}", "a".repeat(at), "b".repeat(19 - at));
                let mut out = vec![b'"'];
                escape_into(&mut out, &text);
                out.push(b'"');
                let back: String = serde_json::from_slice(&out).unwrap();
                assert_eq!(back, text, "{}", String::from_utf8_lossy(&out));
            }
        }
        for byte in 0..=0x7f_u8 {
            let word = u64::from_le_bytes([b'x', b'x', b'x', byte, b'x', b'x', b'x', b'x']);
            let special = byte < 0x20 || byte == b'"' || byte == b'\\';
            assert_eq!(needs_escape(word), special, "{byte:#x}");
        }
    }

    #[test]
    fn fields_recorded_after_a_span_is_made_join_its_object_replacing_a_name_recorded_twice() {
        let captured = Captured::default();
        let writer = LogWriter::spawn(captured.clone(), true, LOG_BUFFER_BYTES);
        let subscriber = subscriber(LogFormat::Json, "info", writer.clone()).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "work",
                first = "a\"b",
                later = tracing::field::Empty,
                again = 1_u64
            );
            span.record("later", 2.5);
            span.record("again", "twice");
            span.in_scope(|| tracing::info!("inside"));
        });
        writer.flush();
        let lines = without_timestamps(&captured.text());
        assert_eq!(
            lines[0]["span"],
            serde_json::json!({"first": "a\"b", "later": 2.5, "again": "twice", "name": "work"})
        );
    }

    #[test]
    fn a_callsite_the_filter_turns_away_is_turned_away_once_not_per_call() {
        let writer = LogWriter::spawn(io::sink(), true, LOG_BUFFER_BYTES);
        for format in [LogFormat::Json, LogFormat::Pretty] {
            let subscriber = subscriber(format, "info", writer.clone()).unwrap();
            // Outside any subscriber, so the span is disabled but keeps its metadata.
            let span = tracing::trace_span!(target: "actix_http::h1::dispatcher", "below info");
            let below = span.metadata().unwrap();
            assert!(subscriber.register_callsite(below).is_never(), "{format:?}");
            let span = tracing::info_span!("request");
            assert!(
                subscriber
                    .register_callsite(span.metadata().unwrap())
                    .is_always(),
                "{format:?}"
            );
        }
    }

    #[test]
    fn the_hand_made_access_line_is_the_one_tracing_subscriber_writes() {
        let captured = Captured::default();
        let writer = LogWriter::spawn(captured.clone(), true, LOG_BUFFER_BYTES);
        let fast = subscriber(LogFormat::Json, "info", writer.clone()).unwrap();
        tracing::subscriber::with_default(fast, || {
            log_one_request(Some("fl0w"), "0013411501*");
        });
        writer.flush();

        let reference_sink = Captured::default();
        let reference = fmt()
            .with_writer(reference_sink.clone())
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .finish();
        tracing::subscriber::with_default(reference, || {
            log_one_request(Some("fl0w"), "0013411501*");
        });

        let fast = captured.text();
        let reference = reference_sink.text();
        assert_eq!(without_timestamps(&fast), without_timestamps(&reference));
        // Member order too, apart from the timestamp's value.
        let keys = |text: &str| -> Vec<String> {
            text.lines()
                .map(|l| l.split("\",\"level\"").nth(1).unwrap().to_owned())
                .collect()
        };
        assert_eq!(keys(&fast), keys(&reference), "{fast}\n{reference}");
    }

    #[test]
    fn timestamps_are_rfc_3339_utc_with_microseconds() {
        for (seconds, micros, text) in [
            (0, 0, "1970-01-01T00:00:00.000000Z"),
            (951_782_400, 5, "2000-02-29T00:00:00.000005Z"),
            (1_795_000_000, 123_456, "2026-11-18T11:06:40.123456Z"),
            (4_107_542_399, 999_999, "2100-02-28T23:59:59.999999Z"),
        ] {
            let mut out = Vec::new();
            let at = UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(micros);
            write_timestamp(&mut out, at);
            assert_eq!(String::from_utf8(out).unwrap(), text);
        }
    }

    /// A sink that blocks until told to go on.
    struct Blocked(mpsc::Receiver<()>, Captured);

    impl Write for Blocked {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _ = self.0.recv();
            self.1.write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_that_do_not_fit_are_dropped_counted_and_reported() {
        let (go_on, blocked) = mpsc::channel();
        let captured = Captured::default();
        let writer = LogWriter::spawn(Blocked(blocked, captured.clone()), true, 100);
        let before = dropped_lines();
        writer.push(b"first\n");
        // The writer thread takes the first line and blocks writing it.
        while !writer.shared.lock().writing {
            std::thread::yield_now();
        }
        for _ in 0..30 {
            writer.push(b"0123456789\n");
        }
        assert_eq!(dropped_lines() - before, 21);
        drop(go_on);
        writer.flush();
        let text = captured.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 9 + 1, "{text}");
        let warning: Value = serde_json::from_str(lines[10]).unwrap();
        assert_eq!(warning["level"], "WARN");
        assert_eq!(warning["dropped"], 21);
    }
}
