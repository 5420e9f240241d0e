//! `itau-codigo conta check | make`.

use std::io::Write;
use std::process::ExitCode;

use itau_codigo::{CodigoConta, CodigoContaError};

use crate::cli::{EXIT_INVALID, EXIT_USAGE};

/// Checks each code (lenient spelling): `CODE ok` or `CODE invalid` on `out`, the reason
/// on `err`. Exit status 1 when any code is invalid.
pub fn check(codes: &[String], out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
    let mut all_valid = true;
    for code in codes {
        let written = match CodigoConta::parse_lenient(code) {
            Ok(codigo) => writeln!(out, "{codigo} ok"),
            Err(error) => {
                all_valid = false;
                let _ = writeln!(err, "{code}: {}", reason(&error));
                writeln!(out, "{code} invalid")
            }
        };
        if written.is_err() {
            return ExitCode::from(EXIT_USAGE);
        }
    }
    if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    }
}

fn reason(error: &CodigoContaError) -> String {
    match error {
        CodigoContaError::Length { found } => {
            format!("expected 18 digits (spaces, dots, dashes and slashes aside), found {found}")
        }
        other => other.to_string(),
    }
}

/// Composes a code from its parts and prints its 18 digits; exit status 1 with the
/// reason when a part is refused.
pub fn make(
    empresa: &str,
    banco: &str,
    agencia: &str,
    conta: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> ExitCode {
    match CodigoConta::compose(empresa, banco, agencia, conta) {
        Ok(codigo) => match writeln!(out, "{codigo}") {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(EXIT_USAGE),
        },
        Err(error) => {
            let _ = writeln!(err, "itau-codigo: {error}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}
