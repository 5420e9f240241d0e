//! `itau-codigo migrate`: brings a store to this binary's schema, re-rendering stored
//! records into the current format. `serve` never migrates (it reads only the schema
//! it writes, and never takes the write lock); `import` migrates first by itself.

use std::process::ExitCode;

use clap::Args;

use super::DbArg;
use super::db_arg::warn_if_weak_tls;
use crate::config::DEFAULT_DB;
use crate::exit::{EXIT_USAGE, fail};
use crate::store;

/// `migrate` options.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Store: sqlite:PATH (or a bare path; it must exist) or postgres://...
    #[arg(long, env = "ITAU_CODIGO_DB", hide_env_values = true, default_value = DEFAULT_DB)]
    pub db: DbArg,
}

pub(super) fn run(args: &MigrateArgs) -> ExitCode {
    let location = match args.db.location() {
        Ok(location) => location,
        Err(message) => return fail(EXIT_USAGE, message),
    };
    warn_if_weak_tls(&location);
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
