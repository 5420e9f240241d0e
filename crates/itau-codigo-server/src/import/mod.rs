//! `itau-codigo import`: JSON Lines in, all or nothing out, written in key order.
//!
//! Lines stream in and are validated on one thread per core, which also render each
//! record as the store keeps it ([`store::encode_record`]); the records are then sorted
//! by account key with bounded memory ([`sort`]) and written in key order inside one
//! transaction, so that each page of the store's B-tree is written once however large
//! the file. After the first bad line nothing more is kept but every line is still
//! checked, and the transaction is rolled back at the end.

mod sort;

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use itau_codigo::{FieldError, FieldErrorCode, MAX_LINE_BYTES, RegistroCliente};

pub use sort::{DEFAULT_SORT_MEMORY, SpillError};

use crate::store::{self, Importer, StoreError};

/// How many error lines are printed before only a count is given.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Lines read, blank ones included.
    pub lines: usize,
    /// Records read (a repeated account counts each time).
    pub records: usize,
    /// Accounts written: each account once, however often the file gives it.
    pub accounts: u64,
    /// Lines with at least one error.
    pub bad_lines: usize,
    /// Errors found, over all lines.
    pub errors: usize,
    /// Time from the first byte to the commit (or rollback).
    pub elapsed: Duration,
}

impl ImportReport {
    /// Records per second.
    pub fn rate(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// At least one line is bad (exit status 1).
    #[error("{} of {} lines are invalid; nothing was written", .0.bad_lines, .0.lines)]
    BadData(ImportReport),
    /// `--replace` with an input that holds no record, which would empty the store
    /// (exit status 1).
    #[error("the input holds no records and --replace would empty the store; nothing was written")]
    EmptyReplace,
    /// `--expect-records N`, and the input held another number of records (exit status 1).
    #[error("expected {expected} records, the input holds {found}; nothing was written")]
    UnexpectedCount {
        /// What `--expect-records` said.
        expected: u64,
        /// Records read.
        found: u64,
    },
    /// The input could not be read (exit status 2).
    #[error("cannot read the input: {0}")]
    Io(#[from] io::Error),
    /// The sort's temporary files could not be written or read (exit status 2).
    #[error(transparent)]
    Spill(#[from] SpillError),
    /// The store failed (exit status 2).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    /// Whether the input is at fault (exit status 1) rather than the environment (2).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::BadData(_) | Self::EmptyReplace | Self::UnexpectedCount { .. }
        )
    }
}

/// How to import: what `itau-codigo import`'s flags say, and how progress is shown.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Empty the store first, inside the import's transaction (`--replace`). An input
    /// with no record is then refused.
    pub replace: bool,
    /// Refuse the input unless it holds exactly this many records (`--expect-records`).
    pub expect_records: Option<u64>,
    /// Bytes of records the sort holds in memory before it spills to a file.
    pub sort_memory: usize,
    /// Where spill files go (`None`: the system's temporary directory).
    pub spill_dir: Option<PathBuf>,
    /// Advanced by the bytes read; hidden unless the caller shows it.
    pub progress: ProgressBar,
}

impl Default for ImportOptions {
    /// Upsert into what is stored, sorting in [`DEFAULT_SORT_MEMORY`], with no
    /// progress shown.
    fn default() -> Self {
        Self {
            replace: false,
            expect_records: None,
            sort_memory: DEFAULT_SORT_MEMORY,
            spill_dir: None,
            progress: ProgressBar::hidden(),
        }
    }
}

/// Lines per batch handed to a parsing thread: large enough that the hand-over costs
/// nothing next to parsing, small enough that a few batches in flight stay small.
const BATCH_LINES: usize = 256;

/// Imports JSON Lines from `input`. Each error is written to `report` as
/// `line N: path: code: message` (the first [`MAX_REPORTED_ERRORS`], then a count).
///
/// The calling thread reads the lines, sorts and writes the store; parsing,
/// validating and encoding, which is most of the CPU, runs on one thread per core, a
/// batch of lines at a time, and the results come back in line order, so that errors
/// are reported in order and the sort can let the later of two lines for one account
/// win. Nothing is written before the whole input is read and valid.
///
/// # Errors
///
/// [`ImportError::BadData`] when any line is invalid, [`ImportError::EmptyReplace`] and
/// [`ImportError::UnexpectedCount`] when the input does not hold what the options
/// require (the transaction is rolled back in each case), otherwise an I/O or store
/// failure.
pub fn import<R: BufRead>(
    mut input: R,
    importer: &mut dyn Importer,
    options: &ImportOptions,
    report: &mut dyn Write,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let progress = &options.progress;
    let mut outcome = ImportReport::default();
    let mut session = importer.begin(options.replace)?;
    let spill_dir = options.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut sorter = sort::Sorter::new(options.sort_memory, spill_dir);
    let parsers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (to_parsers, batches) = mpsc::sync_channel::<Batch>(parsers * 2);
    let batches = Mutex::new(batches);
    let (to_writer, parsed) = mpsc::sync_channel::<Parsed>(parsers * 2);
    let result = std::thread::scope(|scope| {
        for _ in 0..parsers {
            let to_writer = to_writer.clone();
            let batches = &batches;
            scope.spawn(move || parse_batches(batches, &to_writer));
        }
        drop(to_writer);
        // Owned by this closure, so that an early return (a store or I/O error) drops
        // both ends and the parsers, blocked on either, stop instead of being waited for.
        let (to_parsers, parsed) = (to_parsers, parsed);
        let mut in_flight = 0;
        let mut next = 0;
        let mut waiting = BTreeMap::new();
        let mut read_all = false;
        let mut write = |parsed: Parsed, outcome: &mut ImportReport| -> Result<(), ImportError> {
            for (number, line) in parsed.lines {
                match line {
                    Ok((key, encoded)) if outcome.bad_lines == 0 => {
                        sorter.push(key, &encoded)?;
                        outcome.records += 1;
                    }
                    Ok(_) => {}
                    Err(errors) => {
                        outcome.bad_lines += 1;
                        for error in errors {
                            if outcome.errors < MAX_REPORTED_ERRORS {
                                writeln!(report, "line {number}: {error}")?;
                            }
                            outcome.errors += 1;
                        }
                    }
                }
            }
            Ok(())
        };
        let mut sequence = 0;
        while !read_all || in_flight > 0 {
            // Keep every parser busy, then write whatever is next in line order.
            while !read_all && in_flight < parsers * 2 {
                let batch = read_batch(&mut input, &mut outcome.lines, sequence, progress)?;
                read_all = batch.lines.len() < BATCH_LINES;
                if batch.lines.is_empty() {
                    break;
                }
                sequence += 1;
                in_flight += 1;
                // The parsers only stop when this sender is dropped.
                to_parsers.send(batch).expect("parsers outlive the sender");
            }
            if in_flight == 0 {
                break;
            }
            while !waiting.contains_key(&next) {
                let parsed = parsed.recv().expect("a parser died");
                waiting.insert(parsed.sequence, parsed);
            }
            let parsed = waiting.remove(&next).expect("just checked");
            next += 1;
            in_flight -= 1;
            write(parsed, &mut outcome)?;
        }
        drop(to_parsers);
        Ok::<(), ImportError>(())
    });
    result?;
    if outcome.errors > MAX_REPORTED_ERRORS {
        writeln!(
            report,
            "... and {} more errors",
            outcome.errors - MAX_REPORTED_ERRORS
        )?;
    }
    if outcome.bad_lines > 0 {
        drop(session);
        outcome.elapsed = started.elapsed();
        return Err(ImportError::BadData(outcome));
    }
    let found = outcome.records as u64;
    if options.replace && found == 0 {
        return Err(ImportError::EmptyReplace);
    }
    if let Some(expected) = options.expect_records.filter(|&n| n != found) {
        return Err(ImportError::UnexpectedCount { expected, found });
    }
    progress.set_message("writing in key order");
    outcome.accounts = sorter.merge(|key, encoded| {
        session.upsert(key, encoded)?;
        Ok::<_, ImportError>(())
    })?;
    session.commit()?;
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// Raw lines, numbered from 1 over the whole input: their bytes back to back in one
/// buffer (one allocation per batch, not one growing buffer per line).
struct Batch {
    sequence: usize,
    bytes: Vec<u8>,
    lines: Vec<(usize, Content, std::ops::Range<usize>)>,
}

/// The same lines parsed, each a record's key and stored bytes or its errors; blank
/// lines are left out.
struct Parsed {
    sequence: usize,
    lines: Vec<(usize, Result<Encoded, Vec<FieldError>>)>,
}

/// A record's key, and its bytes as the store keeps them.
type Encoded = (i64, Vec<u8>);

fn read_batch<R: BufRead>(
    input: &mut R,
    lines_read: &mut usize,
    sequence: usize,
    progress: &ProgressBar,
) -> io::Result<Batch> {
    let mut lines = Vec::with_capacity(BATCH_LINES);
    // Room for lines of a typical record (about 1.4 KiB); it grows for larger ones.
    let mut bytes = Vec::with_capacity(BATCH_LINES * 2048);
    let mut bytes_read = 0;
    while lines.len() < BATCH_LINES {
        let start = bytes.len();
        let Some(line) = read_line(input, &mut bytes)? else {
            break;
        };
        *lines_read += 1;
        bytes_read += line.bytes_read as u64;
        lines.push((*lines_read, line.content, start..bytes.len()));
    }
    // Once per batch: the bar takes a lock and reads the clock on each call.
    progress.inc(bytes_read);
    Ok(Batch {
        sequence,
        bytes,
        lines,
    })
}

fn parse_batches(batches: &Mutex<mpsc::Receiver<Batch>>, to_writer: &mpsc::SyncSender<Parsed>) {
    loop {
        let batch = match batches.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(batch) = batch else {
            return;
        };
        let lines = batch
            .lines
            .into_iter()
            .filter_map(|(number, content, range)| {
                let parsed = parse(number, &content, &batch.bytes[range])?;
                Some((number, parsed.map(|registro| encode(&registro))))
            })
            .collect();
        let parsed = Parsed {
            sequence: batch.sequence,
            lines,
        };
        if to_writer.send(parsed).is_err() {
            return;
        }
    }
}

/// A record's key, and its bytes as the store keeps them.
fn encode(registro: &RegistroCliente) -> Encoded {
    (
        store::key(&registro.codigo_conta),
        store::encode_record(registro),
    )
}

/// One line's record or errors; `None` for a blank line.
fn parse(
    number: usize,
    content: &Content,
    bytes: &[u8],
) -> Option<Result<RegistroCliente, Vec<FieldError>>> {
    Some(match content {
        Content::TooLong => Err(vec![FieldError::new(
            "",
            FieldErrorCode::TooLong,
            format!("expected a line of at most {MAX_LINE_BYTES} bytes"),
        )]),
        Content::Text => match decode(bytes, number == 1) {
            Ok(text) if text.trim().is_empty() => return None,
            Ok(text) => RegistroCliente::from_json_line(text),
            Err(error) => Err(vec![error]),
        },
    })
}

enum Content {
    Text,
    TooLong,
}

struct Line {
    content: Content,
    bytes_read: usize,
}

/// Reads one line onto the end of `buffer` (without `\n`), keeping at most
/// `MAX_LINE_BYTES + 4` bytes of it so that a huge line cannot exhaust memory; `None`
/// at the end.
fn read_line<R: BufRead>(input: &mut R, buffer: &mut Vec<u8>) -> io::Result<Option<Line>> {
    let start = buffer.len();
    let mut line = Line {
        content: Content::Text,
        bytes_read: 0,
    };
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok((line.bytes_read > 0).then_some(line));
        }
        let newline = available.iter().position(|&b| b == b'\n');
        let chunk = &available[..newline.unwrap_or(available.len())];
        // Slack for the `\r` of a CRLF line and a BOM, which `decode` strips and checks.
        if matches!(line.content, Content::Text) {
            if buffer.len() - start + chunk.len() > MAX_LINE_BYTES + 4 {
                line.content = Content::TooLong;
                buffer.truncate(start);
            } else {
                buffer.extend_from_slice(chunk);
            }
        }
        let consumed = chunk.len() + usize::from(newline.is_some());
        input.consume(consumed);
        line.bytes_read += consumed;
        if newline.is_some() {
            return Ok(Some(line));
        }
    }
}

/// UTF-8 text of a line, without a trailing `\r` and (on the first line) a BOM.
fn decode(bytes: &[u8], first_line: bool) -> Result<&str, FieldError> {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let bytes = if first_line {
        bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
    } else {
        bytes
    };
    if bytes.len() > MAX_LINE_BYTES {
        return Err(FieldError::new(
            "",
            FieldErrorCode::TooLong,
            format!("expected a line of at most {MAX_LINE_BYTES} bytes"),
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        FieldError::new(
            "",
            FieldErrorCode::MalformedJson,
            format!("not UTF-8 (invalid byte at offset {})", e.valid_up_to()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::ImportSession;

    fn lines(input: &[u8]) -> Vec<(String, bool)> {
        let mut reader = io::BufReader::with_capacity(7, input);
        let mut buffer = b"left from before".to_vec();
        let mut out = Vec::new();
        let mut start = buffer.len();
        while let Some(line) = read_line(&mut reader, &mut buffer).unwrap() {
            out.push((
                String::from_utf8_lossy(&buffer[start..]).into_owned(),
                matches!(line.content, Content::TooLong),
            ));
            start = buffer.len();
        }
        assert!(
            buffer.starts_with(b"left from before"),
            "lines are appended"
        );
        out
    }

    #[test]
    fn lines_split_on_newlines_across_buffer_boundaries() {
        assert_eq!(
            lines(b"abcdefghij\n\nxyz"),
            [
                ("abcdefghij".into(), false),
                (String::new(), false),
                ("xyz".into(), false)
            ]
        );
        assert!(lines(b"").is_empty());
    }

    #[test]
    fn an_overlong_line_is_flagged_and_the_next_one_still_read() {
        let mut input = vec![b'a'; MAX_LINE_BYTES + 10];
        input.extend_from_slice(b"\nnext\n");
        let found = lines(&input);
        assert_eq!(found.len(), 2);
        assert!(found[0].1);
        assert_eq!(found[1], ("next".into(), false));
    }

    #[test]
    fn decoding_strips_crlf_and_a_leading_bom_only_on_the_first_line() {
        assert_eq!(decode(b"\xEF\xBB\xBF{}\r", true).unwrap(), "{}");
        assert!(
            decode(b"\xEF\xBB\xBF{}", false)
                .unwrap()
                .starts_with('\u{FEFF}')
        );
        assert_eq!(
            decode(b"{\xff}", false).unwrap_err().code,
            FieldErrorCode::MalformedJson
        );
    }

    /// Records what it is asked to write.
    #[derive(Default)]
    struct Recorder {
        upserts: Vec<String>,
        committed: bool,
    }

    struct RecordingSession<'a>(&'a mut Recorder);

    impl Importer for Recorder {
        fn begin(&mut self, _replace: bool) -> Result<Box<dyn ImportSession + '_>, StoreError> {
            Ok(Box::new(RecordingSession(self)))
        }
    }

    impl ImportSession for RecordingSession<'_> {
        fn upsert(&mut self, key: i64, encoded: &[u8]) -> Result<(), StoreError> {
            // The stored format holds the data's JSON as serde writes it.
            let text = String::from_utf8_lossy(encoded);
            let nome = text
                .split(r#""nome_completo":""#)
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_default();
            self.0.upserts.push(format!("{key}={nome}"));
            Ok(())
        }

        fn commit(self: Box<Self>) -> Result<(), StoreError> {
            self.0.committed = true;
            Ok(())
        }
    }

    fn line(conta: u32, nome: &str) -> String {
        let codigo = codigo(conta);
        format!("{{\"codigo_conta\": \"{codigo}\", \"data\": {{\"nome_completo\": \"{nome}\"}}}}\n")
    }

    fn codigo(conta: u32) -> itau_codigo::CodigoConta {
        itau_codigo::CodigoConta::compose("001", "341", "1501", &conta.to_string()).unwrap()
    }

    fn run_with(
        input: &str,
        options: &ImportOptions,
    ) -> (Result<ImportReport, ImportError>, Recorder, String) {
        let mut recorder = Recorder::default();
        let mut report = Vec::new();
        let result = import(input.as_bytes(), &mut recorder, options, &mut report);
        (result, recorder, String::from_utf8(report).unwrap())
    }

    fn run(input: &str) -> (Result<ImportReport, ImportError>, Recorder, String) {
        run_with(input, &ImportOptions::default())
    }

    /// Accounts in an order that is not the key order, `count` lines over `count / 2`
    /// accounts, each given twice; the later line says `late`.
    fn scrambled(count: usize) -> String {
        (0..count)
            .map(|i| {
                let conta = ((i * 7919) % (count / 2)) as u32;
                let nome = if i >= count / 2 { "late" } else { "early" };
                line(conta, &format!("{nome}{i}"))
            })
            .collect()
    }

    fn check_key_order_and_later_lines(recorder: &Recorder, count: usize) {
        assert!(recorder.committed);
        assert_eq!(recorder.upserts.len(), count / 2, "each account once");
        let keys: Vec<i64> = recorder
            .upserts
            .iter()
            .map(|u| u.split('=').next().unwrap().parse().unwrap())
            .collect();
        assert!(keys.is_sorted(), "written in key order");
        assert_eq!(keys[0], store::key(&codigo(0)));
        assert!(
            recorder.upserts.iter().all(|u| u.contains("=late")),
            "the later line of each account wins"
        );
    }

    #[test]
    fn records_are_written_once_per_account_in_key_order_and_the_later_line_wins() {
        let count = BATCH_LINES * 5 + 2;
        let mut input = scrambled(count);
        input.push('\n');
        let (result, recorder, report) = run(&input);
        let outcome = result.unwrap();
        assert!(report.is_empty(), "{report}");
        assert_eq!((outcome.records, outcome.lines), (count, count + 1));
        assert_eq!(outcome.accounts, count as u64 / 2);
        check_key_order_and_later_lines(&recorder, count);
    }

    #[test]
    fn a_sort_that_spills_to_files_writes_the_same() {
        let count = BATCH_LINES * 20;
        let dir = tempfile::tempdir().unwrap();
        let options = ImportOptions {
            sort_memory: 16 * 1024,
            spill_dir: Some(dir.path().to_owned()),
            ..ImportOptions::default()
        };
        let (result, recorder, _) = run_with(&scrambled(count), &options);
        assert_eq!(result.unwrap().records, count);
        check_key_order_and_later_lines(&recorder, count);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn replace_refuses_an_input_without_records() {
        let options = ImportOptions {
            replace: true,
            ..ImportOptions::default()
        };
        for input in ["", "\n\r\n  \n"] {
            let (result, recorder, _) = run_with(input, &options);
            assert!(
                matches!(result, Err(ImportError::EmptyReplace)),
                "{input:?}: {result:?}"
            );
            assert!(!recorder.committed && recorder.upserts.is_empty());
        }
        let (result, recorder, _) = run("");
        assert_eq!(
            result.unwrap().records,
            0,
            "without --replace, nothing to do"
        );
        assert!(recorder.committed);
    }

    #[test]
    fn expect_records_refuses_any_other_count() {
        let input = [line(1, "a"), line(2, "b"), line(1, "c")].concat();
        for (expected, accepted) in [(3, true), (2, false), (4, false), (0, false)] {
            let options = ImportOptions {
                expect_records: Some(expected),
                ..ImportOptions::default()
            };
            let (result, recorder, _) = run_with(&input, &options);
            assert_eq!(result.is_ok(), accepted, "{expected}: {result:?}");
            assert_eq!(recorder.committed, accepted);
            if !accepted {
                assert!(matches!(
                    result,
                    Err(ImportError::UnexpectedCount { expected: e, found: 3 }) if e == expected
                ));
                assert!(recorder.upserts.is_empty());
            }
        }
    }

    #[test]
    fn bad_lines_are_reported_in_order_and_nothing_is_committed() {
        let mut input = String::new();
        for i in 0..(BATCH_LINES * 3) {
            if i % 2 == 1 {
                input.push_str("{not json}\n");
            } else {
                input.push_str(&line(i as u32, "ok"));
            }
        }
        let (result, recorder, report) = run(&input);
        let Err(ImportError::BadData(outcome)) = result else {
            panic!("expected bad data");
        };
        assert_eq!(outcome.bad_lines, BATCH_LINES * 3 / 2);
        assert!(!recorder.committed);
        let reported: Vec<&str> = report.lines().collect();
        assert_eq!(reported.len(), MAX_REPORTED_ERRORS + 1);
        assert!(reported[0].starts_with("line 2: "), "{}", reported[0]);
        assert!(reported[99].starts_with("line 200: "), "{}", reported[99]);
        assert_eq!(
            reported[100],
            format!("... and {} more errors", BATCH_LINES * 3 / 2 - 100)
        );
    }

    /// Fails on the n-th upsert, as a full disk would.
    struct Failing(usize);

    struct FailingSession<'a>(&'a mut usize);

    impl Importer for Failing {
        fn begin(&mut self, _replace: bool) -> Result<Box<dyn ImportSession + '_>, StoreError> {
            Ok(Box::new(FailingSession(&mut self.0)))
        }
    }

    impl ImportSession for FailingSession<'_> {
        fn upsert(&mut self, _key: i64, _encoded: &[u8]) -> Result<(), StoreError> {
            *self.0 -= 1;
            if *self.0 == 0 {
                return Err(StoreError::Task("disk full".into()));
            }
            Ok(())
        }

        fn commit(self: Box<Self>) -> Result<(), StoreError> {
            Ok(())
        }
    }

    #[test]
    fn a_store_failure_is_returned() {
        let input: String = (0..BATCH_LINES * 20).map(|i| line(i as u32, "x")).collect();
        let result = import(
            input.as_bytes(),
            &mut Failing(10),
            &ImportOptions::default(),
            &mut Vec::new(),
        );
        assert!(matches!(result, Err(ImportError::Store(_))));
    }
}
