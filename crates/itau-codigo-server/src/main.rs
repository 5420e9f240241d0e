//! `itau-codigo`: parse the command line, run it, report how it ended.

use std::process::ExitCode;

use clap::Parser;
use itau_codigo_server::cli::{Cli, run};

/// glibc's malloc stood out in profiles of a consulta under load (`malloc_consolidate`
/// runs on every allocation of a kilobyte or more while small freed chunks wait; see
/// BENCHMARKS.md); mimalloc keeps per-thread free lists and has no such pass.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    run(Cli::parse())
}
