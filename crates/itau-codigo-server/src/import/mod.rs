//! `itau-codigo import`: JSON Lines in, all or nothing out, written in key order.
//!
//! Lines stream in and are validated on one thread per core, which also render each
//! record as the store keeps it ([`crate::store::encode_record`]); the records are then sorted
//! by account key with bounded memory (`import/sort.rs`) and written in key order inside one
//! transaction, so that each page of the store's B-tree is written once however large
//! the file. After the first bad line nothing more is kept but every line is still
//! checked, and the transaction is rolled back at the end.

mod lines;
mod parse;
mod sort;

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

pub use sort::{DEFAULT_SORT_MEMORY, SpillError};

use crate::store::{ImportSession, Importer, StoreError};

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

/// Imports JSON Lines from `input`. Each error is written to `report` as
/// `line N: path: code: message` (the first [`MAX_REPORTED_ERRORS`], then a count).
///
/// The calling thread reads the lines, sorts and writes the store; parsing,
/// validating and encoding, which is most of the CPU, runs on one thread per core
/// (`import/parse.rs`). Nothing is written before the whole input is read and valid.
///
/// # Errors
///
/// [`ImportError::BadData`] when any line is invalid, [`ImportError::EmptyReplace`] and
/// [`ImportError::UnexpectedCount`] when the input does not hold what the options
/// require (the transaction is rolled back in each case), otherwise an I/O or store
/// failure.
pub fn import<R: BufRead>(
    input: R,
    importer: &mut dyn Importer,
    options: &ImportOptions,
    report: &mut dyn Write,
) -> Result<ImportReport, ImportError> {
    let mut import = Import::begin(importer, options, report)?;
    import.check_every_line(input)?;
    import.accept()?.write_in_key_order()
}

/// An import before its input is accepted: the store's transaction is open, and the
/// valid records wait in the sort.
struct Import<'i, 'o> {
    options: &'o ImportOptions,
    report: &'o mut dyn Write,
    session: Box<dyn ImportSession + 'i>,
    sorter: sort::Sorter,
    outcome: ImportReport,
    started: Instant,
}

impl<'i, 'o> Import<'i, 'o> {
    /// Opens the import's transaction (emptying the store inside it with `--replace`).
    fn begin(
        importer: &'i mut dyn Importer,
        options: &'o ImportOptions,
        report: &'o mut dyn Write,
    ) -> Result<Self, ImportError> {
        let started = Instant::now();
        let session = importer.begin(options.replace)?;
        let spill_dir = options.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
        Ok(Self {
            options,
            report,
            session,
            sorter: sort::Sorter::new(options.sort_memory, spill_dir),
            outcome: ImportReport::default(),
            started,
        })
    }

    /// Reads and validates every line of `input`, reporting each error; the records
    /// go into the sort until the first bad line, after which nothing more is kept but
    /// every line is still checked.
    fn check_every_line<R: BufRead>(&mut self, input: R) -> Result<(), ImportError> {
        let progress = &self.options.progress;
        self.outcome.lines =
            parse::parse_in_line_order(input, progress, |parsed| self.keep_or_report(parsed))?;
        if self.outcome.errors > MAX_REPORTED_ERRORS {
            writeln!(
                self.report,
                "... and {} more errors",
                self.outcome.errors - MAX_REPORTED_ERRORS
            )?;
        }
        Ok(())
    }

    /// One parsed batch, in line order: its records into the sort (while no line has
    /// been bad), its errors into the report.
    fn keep_or_report(&mut self, parsed: parse::Parsed) -> Result<(), ImportError> {
        let outcome = &mut self.outcome;
        for (number, line) in parsed.lines {
            match line {
                Ok((key, encoded)) if outcome.bad_lines == 0 => {
                    self.sorter.push(key, &encoded)?;
                    outcome.records += 1;
                }
                Ok(_) => {}
                Err(errors) => {
                    outcome.bad_lines += 1;
                    for error in errors {
                        if outcome.errors < MAX_REPORTED_ERRORS {
                            writeln!(self.report, "line {number}: {error}")?;
                        }
                        outcome.errors += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// The checked input, unless it may not be written: a bad line, nothing to
    /// `--replace` with, or another count than `--expect-records` (the transaction is
    /// then rolled back).
    fn accept(mut self) -> Result<Accepted<'i, 'o>, ImportError> {
        if self.outcome.bad_lines > 0 {
            drop(self.session);
            self.outcome.elapsed = self.started.elapsed();
            return Err(ImportError::BadData(self.outcome));
        }
        let found = self.outcome.records as u64;
        if self.options.replace && found == 0 {
            return Err(ImportError::EmptyReplace);
        }
        if let Some(expected) = self.options.expect_records.filter(|&n| n != found) {
            return Err(ImportError::UnexpectedCount { expected, found });
        }
        Ok(Accepted {
            progress: &self.options.progress,
            session: self.session,
            sorter: self.sorter,
            outcome: self.outcome,
            started: self.started,
        })
    }
}

/// An import whose input was read whole and may be written.
struct Accepted<'i, 'o> {
    progress: &'o ProgressBar,
    session: Box<dyn ImportSession + 'i>,
    sorter: sort::Sorter,
    outcome: ImportReport,
    started: Instant,
}

impl Accepted<'_, '_> {
    /// Writes each account once, in key order (so that each page of the store's B-tree
    /// is written once), and commits.
    fn write_in_key_order(mut self) -> Result<ImportReport, ImportError> {
        self.progress.set_message("writing in key order");
        let session = &mut self.session;
        self.outcome.accounts = self.sorter.merge(|key, encoded| {
            session.upsert(key, encoded)?;
            Ok::<_, ImportError>(())
        })?;
        self.session.commit()?;
        self.outcome.elapsed = self.started.elapsed();
        Ok(self.outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::parse::BATCH_LINES;
    use crate::store;

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
