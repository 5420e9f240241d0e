//! `itau-codigo import`: opens the store, shows progress on a terminal, reports how the
//! import ended. The import itself is [`crate::import`].

use std::io::{self, BufReader, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::DEFAULT_DB;
use crate::exit::{EXIT_INVALID, EXIT_USAGE, fail};
use crate::import::{ImportError, ImportOptions, import};
use crate::store::{self, DbLocation};

/// `import` options.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The JSON Lines file, or - for standard input.
    pub file: PathBuf,
    /// Store: sqlite:PATH (or a bare path; created if missing) or postgres://...
    #[arg(long, env = "ITAU_CODIGO_DB", default_value = DEFAULT_DB)]
    pub db: String,
    /// Empty the store first (in the same transaction: readers see the old data until
    /// the import commits).
    #[arg(long)]
    pub replace: bool,
}

pub(super) fn run(args: &ImportArgs) -> ExitCode {
    let location = match DbLocation::parse(&args.db) {
        Ok(location) => location,
        Err(message) => return fail(EXIT_USAGE, message),
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
    let options = ImportOptions {
        replace: args.replace,
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
        Err(error @ ImportError::BadData(_)) => fail(EXIT_INVALID, error),
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
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        }
        None => ProgressBar::new_spinner(),
    }
}
