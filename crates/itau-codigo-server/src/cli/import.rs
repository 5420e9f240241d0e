//! `itau-codigo import`: opens the store, shows progress on a terminal, reports how the
//! import ended. The import itself is [`crate::import`].

use std::io::{self, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::DbArg;
use super::db_arg::warn_if_weak_tls;
use crate::config::DEFAULT_DB;
use crate::exit::{EXIT_INVALID, EXIT_USAGE, fail};
use crate::import::{DEFAULT_SORT_MEMORY, ImportOptions, import};
use crate::store;

/// `import` options.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The JSON Lines file, or - for standard input.
    pub file: PathBuf,
    /// Store: sqlite:PATH (or a bare path; created if missing) or postgres://...
    #[arg(long, env = "ITAU_CODIGO_DB", hide_env_values = true, default_value = DEFAULT_DB)]
    pub db: DbArg,
    /// Empty the store first (in the same transaction: readers see the old data until
    /// the import commits). An input with no records is refused.
    #[arg(long)]
    pub replace: bool,
    /// Refuse the input (exit 1, nothing written) unless it holds exactly N records.
    #[arg(long, env = "ITAU_CODIGO_EXPECT_RECORDS", value_name = "N")]
    pub expect_records: Option<u64>,
    /// Read N for --expect-records from this file (digits, one trailing newline): the
    /// count the exporting system writes beside its export, for a job that has no shell.
    #[arg(
        long,
        env = "ITAU_CODIGO_EXPECT_RECORDS_FILE",
        value_name = "PATH",
        conflicts_with = "expect_records"
    )]
    pub expect_records_file: Option<PathBuf>,
    /// Memory for sorting the records by account, in MiB; beyond it, sorted runs go
    /// to temporary files.
    #[arg(long, env = "ITAU_CODIGO_SORT_MEMORY", value_name = "MIB", default_value_t = DEFAULT_SORT_MEMORY_MIB, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub sort_memory: u64,
    /// Directory for the sort's temporary files [default: the SQLite file's directory;
    /// for PostgreSQL, the system's temporary directory].
    #[arg(long, env = "ITAU_CODIGO_TEMP_DIR", value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
}

/// `--sort-memory`'s default, in MiB.
const DEFAULT_SORT_MEMORY_MIB: u64 = (DEFAULT_SORT_MEMORY / (1024 * 1024)) as u64;

pub(super) fn run(args: &ImportArgs) -> ExitCode {
    let location = match args.db.location() {
        Ok(location) => location,
        Err(message) => return fail(EXIT_USAGE, message),
    };
    warn_if_weak_tls(&location);
    let expect_records = match &args.expect_records_file {
        None => args.expect_records,
        Some(path) => match read_record_count(path) {
            Ok(count) => Some(count),
            Err(message) => return fail(EXIT_USAGE, message),
        },
    };
    let (input, size): (Box<dyn io::BufRead>, Option<u64>) = if args.file.as_os_str() == "-" {
        (Box::new(io::stdin().lock()), None)
    } else {
        match std::fs::File::open(&args.file) {
            Ok(file) => {
                let size = file.metadata().ok().map(|m| m.len());
                (Box::new(BufReader::with_capacity(1 << 16, file)), size)
            }
            Err(error) => {
                return fail(
                    EXIT_USAGE,
                    format_args!("cannot open {}: {error}", args.file.display()),
                );
            }
        }
    };
    let mut importer = match store::open_importer(&location) {
        Ok(importer) => importer,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    let spill_dir = args
        .temp_dir
        .clone()
        .or_else(|| location.default_spill_dir());
    let options = ImportOptions {
        replace: args.replace,
        expect_records,
        sort_memory: usize::try_from(args.sort_memory * 1024 * 1024).unwrap_or(usize::MAX),
        spill_dir,
        progress: progress_bar(size),
    };
    let result = import(input, importer.as_mut(), &options, &mut io::stderr());
    options.progress.finish_and_clear();
    // Closes the store; a SQLite file this import created goes with it unless it committed.
    drop(importer);
    match result {
        Ok(report) => {
            eprintln!(
                "imported {} records from {} lines into {location} in {:.2} s ({:.0} records/s)",
                report.records,
                report.lines,
                report.elapsed.as_secs_f64(),
                report.rate()
            );
            ExitCode::SUCCESS
        }
        Err(error) if error.is_bad_input() => fail(EXIT_INVALID, error),
        Err(error) => fail(EXIT_USAGE, error),
    }
}

/// The record count in `path`, as `--expect-records-file` reads it. The message of an
/// error names the file and never quotes it: pointed at the wrong file (the export
/// itself), it would echo personal data.
fn read_record_count(path: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        format!(
            "cannot read the record count file {}: {error}",
            path.display()
        )
    })?;
    record_count_in(&text).ok_or_else(|| {
        format!(
            "the record count file {} does not hold a number of records \
             (digits only, one trailing newline allowed)",
            path.display()
        )
    })
}

/// A count file's number: ASCII digits, then at most one `\n` or `\r\n`.
fn record_count_in(text: &str) -> Option<u64> {
    let digits = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn progress_bar(size: Option<u64>) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match size {
        Some(size) => {
            let bar = ProgressBar::new(size);
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        }
        None => ProgressBar::new_spinner(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_count_is_digits_with_at_most_one_trailing_newline() {
        for (text, count) in [
            ("20000000", Some(20_000_000)),
            ("42\n", Some(42)),
            ("42\r\n", Some(42)),
            ("0\n", Some(0)),
            ("", None),
            ("\n", None),
            ("42\n\n", None),
            (" 42", None),
            ("42 \n", None),
            ("+42", None),
            ("-1", None),
            ("4 2", None),
            ("1e6", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(record_count_in(text), count, "{text:?}");
        }
    }
}
