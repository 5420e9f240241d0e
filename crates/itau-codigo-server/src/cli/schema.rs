//! `itau-codigo schema`: writes the JSON Schemas and openapi.json, from the same
//! generator the committed copies and `cargo xtask schemas` use.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::exit::{EXIT_USAGE, fail};

/// `schema` options.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Folder to write into (created if missing).
    #[arg(long, env = "ITAU_CODIGO_OUT", default_value = "schemas")]
    pub out: PathBuf,
}

pub(super) fn run(args: &SchemaArgs) -> ExitCode {
    if let Err(error) = std::fs::create_dir_all(&args.out) {
        return fail(
            EXIT_USAGE,
            format_args!("cannot create {}: {error}", args.out.display()),
        );
    }
    for (name, text) in itau_codigo::schema::documents() {
        let path = args.out.join(name);
        if let Err(error) = std::fs::write(&path, text) {
            return fail(
                EXIT_USAGE,
                format_args!("cannot write {}: {error}", path.display()),
            );
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
}
