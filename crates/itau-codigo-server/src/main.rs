//! `itau-codigo`: parse the command line, run it, report how it ended.

use std::process::ExitCode;

use clap::Parser;
use itau_codigo_server::cli::{Cli, run};

fn main() -> ExitCode {
    run(Cli::parse())
}
