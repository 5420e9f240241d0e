//! `itau-codigo migrate`: brings a store to this binary's schema, re-rendering stored
//! records into the current format. `serve` never migrates (it reads only the schema
//! it writes, and never takes the write lock); `import` migrates first by itself.

use std::process::ExitCode;

use clap::Args;

use crate::config::DEFAULT_DB;
use crate::exit::{EXIT_USAGE, fail};
use crate::store::{self, DbLocation};

/// `migrate` options.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Store: sqlite:PATH (or a bare path; it must exist) or postgres://...
    #[arg(long, env = "ITAU_CODIGO_DB", default_value = DEFAULT_DB)]
    pub db: String,
}

pub(super) fn run(args: &MigrateArgs) -> ExitCode {
    let location = match DbLocation::parse(&args.db) {
        Ok(location) => location,
        Err(message) => return fail(EXIT_USAGE, message),
    };
    match store::migrate(&location) {
        Ok((before, after)) if before == after => {
            eprintln!("{location} is at schema version {after}: nothing to do");
            ExitCode::SUCCESS
        }
        Ok((before, after)) => {
            eprintln!("migrated {location} from schema version {before} to {after}");
            ExitCode::SUCCESS
        }
        Err(error) => fail(EXIT_USAGE, error),
    }
}
