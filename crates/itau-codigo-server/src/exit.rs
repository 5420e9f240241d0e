//! Exit statuses of the `itau-codigo` commands, and how a command reports a failure.
//! Every command module uses these; this module uses none of them.

use std::fmt;
use std::process::ExitCode;

/// Exit status: the input was invalid (a bad code, bad data).
pub(crate) const EXIT_INVALID: u8 = 1;
/// Exit status: usage or environment error.
pub(crate) const EXIT_USAGE: u8 = 2;

/// Prints `itau-codigo: MESSAGE` on stderr and returns exit status `code`.
pub(crate) fn fail(code: u8, message: impl fmt::Display) -> ExitCode {
    eprintln!("itau-codigo: {message}");
    ExitCode::from(code)
}
