//! `itau-codigo import`: opens the store, shows progress on a terminal, reports how the
//! import ended. The import itself is [`crate::import`].

use std::io::{self, BufReader, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::DbArg;
use super::db_arg::warn_if_weak_tls;
use crate::config::DEFAULT_DB;
use crate::exit::{EXIT_INVALID, EXIT_USAGE, fail};
use crate::import::{DEFAULT_SORT_MEMORY, ImportOptions, import};
use crate::store::{self, DbLocation};

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
    let spill_dir = args.temp_dir.clone().or_else(|| match &location {
        // Beside the store: the disk that holds the store has room for its data.
        DbLocation::SqliteFile(path) => Some(match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        }),
        DbLocation::Postgres(_) => None,
    });
    let options = ImportOptions {
        replace: args.replace,
        expect_records: args.expect_records,
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
