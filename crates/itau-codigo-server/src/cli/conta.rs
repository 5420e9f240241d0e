//! `itau-codigo conta check | make`.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Subcommand;
use itau_codigo::{CodigoConta, CodigoContaError};

use crate::exit::{EXIT_INVALID, EXIT_USAGE};

/// `conta` subcommands.
#[derive(Debug, Subcommand)]
pub enum ContaCommand {
    /// Check account codes: one line per code on stdout (the code, then ok or invalid),
    /// reasons on stderr. Spaces, dots, dashes and slashes are ignored.
    Check {
        /// The codes to check.
        #[arg(required = true)]
        codes: Vec<String>,
    },
    /// Build an account code from its parts and print its 18 digits; each part is
    /// left-padded with zeros, and the DAC is computed.
    Make {
        /// Empresa, 1 to 3 digits.
        #[arg(long, env = "ITAU_CODIGO_EMPRESA")]
        empresa: String,
        /// Banco, 1 to 3 digits.
        #[arg(long, env = "ITAU_CODIGO_BANCO")]
        banco: String,
        /// Agência, 1 to 4 digits.
        #[arg(long, env = "ITAU_CODIGO_AGENCIA")]
        agencia: String,
        /// Conta corrente, 1 to 7 digits.
        #[arg(long, env = "ITAU_CODIGO_CONTA")]
        conta: String,
    },
}

pub(super) fn run(command: ContaCommand) -> ExitCode {
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    match command {
        ContaCommand::Check { codes } => check(&codes, &mut out, &mut err),
        ContaCommand::Make {
            empresa,
            banco,
            agencia,
            conta,
        } => make(&empresa, &banco, &agencia, &conta, &mut out, &mut err),
    }
}

/// Checks each code (lenient spelling): `CODE ok` or `CODE invalid` on `out`, the reason
/// on `err`. Exit status 1 when any code is invalid.
fn check(codes: &[String], out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
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
fn make(
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
