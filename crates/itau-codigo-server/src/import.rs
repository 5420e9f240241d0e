//! `itau-codigo import`: JSON Lines in, all or nothing out.
//!
//! Lines are validated and upserted inside one transaction as they stream in, so memory
//! stays flat however large the file; after the first bad line nothing more is written
//! but every line is still checked, and the transaction is rolled back at the end.

use std::io::{self, BufRead, Write};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use itau_codigo::{FieldError, FieldErrorCode, MAX_LINE_BYTES, RegistroCliente};

use crate::store::{Importer, StoreError};

/// How many error lines are printed before only a count is given.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Lines read, blank ones included.
    pub lines: usize,
    /// Records upserted (a repeated account counts each time).
    pub records: usize,
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
    /// The input could not be read (exit status 2).
    #[error("cannot read the input: {0}")]
    Io(#[from] io::Error),
    /// The store failed (exit status 2).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Imports JSON Lines from `input`. Each error is written to `report` as
/// `line N: path: code: message` (the first [`MAX_REPORTED_ERRORS`], then a count).
///
/// # Errors
///
/// [`ImportError::BadData`] when any line is invalid (the transaction is rolled back),
/// otherwise an I/O or store failure.
pub fn import<R: BufRead>(
    mut input: R,
    importer: &mut dyn Importer,
    replace: bool,
    report: &mut dyn Write,
    progress: &ProgressBar,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let mut outcome = ImportReport::default();
    let mut session = importer.begin(replace)?;
    let mut buffer = Vec::with_capacity(4096);
    while let Some(line) = read_line(&mut input, &mut buffer)? {
        outcome.lines += 1;
        progress.inc(line.bytes_read as u64);
        let parsed = match line.content {
            Content::TooLong => Err(vec![FieldError::new(
                "",
                FieldErrorCode::TooLong,
                format!("expected a line of at most {MAX_LINE_BYTES} bytes"),
            )]),
            Content::Text => match decode(&buffer, outcome.lines == 1) {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => RegistroCliente::from_json_line(text),
                Err(error) => Err(vec![error]),
            },
        };
        match parsed {
            Ok(registro) if outcome.bad_lines == 0 => {
                session.upsert(&registro)?;
                outcome.records += 1;
            }
            Ok(_) => {}
            Err(errors) => {
                outcome.bad_lines += 1;
                for error in errors {
                    if outcome.errors < MAX_REPORTED_ERRORS {
                        writeln!(report, "line {}: {error}", outcome.lines)?;
                    }
                    outcome.errors += 1;
                }
            }
        }
    }
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
    session.commit()?;
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

enum Content {
    Text,
    TooLong,
}

struct Line {
    content: Content,
    bytes_read: usize,
}

/// Reads one line into `buffer` (without `\n`), keeping at most `MAX_LINE_BYTES + 4`
/// bytes of it so that a huge line cannot exhaust memory; `None` at the end.
fn read_line<R: BufRead>(input: &mut R, buffer: &mut Vec<u8>) -> io::Result<Option<Line>> {
    buffer.clear();
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
            if buffer.len() + chunk.len() > MAX_LINE_BYTES + 4 {
                line.content = Content::TooLong;
                buffer.clear();
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

    fn lines(input: &[u8]) -> Vec<(String, bool)> {
        let mut reader = io::BufReader::with_capacity(7, input);
        let mut buffer = Vec::new();
        let mut out = Vec::new();
        while let Some(line) = read_line(&mut reader, &mut buffer).unwrap() {
            out.push((
                String::from_utf8_lossy(&buffer).into_owned(),
                matches!(line.content, Content::TooLong),
            ));
        }
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
}
