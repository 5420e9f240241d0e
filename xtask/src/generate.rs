//! `cargo xtask gen`: synthetic import records (or their account codes) from the
//! project's one generator, `dados_sinteticos`.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail, ensure};
use dados_sinteticos::Options;

pub(crate) const HELP: &str = "  gen N [--agencia A] [--codes-only] [--out FILE]
                      write N deterministic, valid import records (JSON Lines) to FILE
                      [stdout]; same arguments, same bytes. Accounts spread over every
                      agência as in the benchmark, or with --agencia all at agência A
                      (1-4 digits), conta 1..N. --codes-only writes their account
                      codes instead, one a line (18 digits), for load scripts
";

/// Runs `cargo xtask gen ARGS`.
pub(crate) fn run(args: &[&str]) -> anyhow::Result<()> {
    let mut count = None;
    let mut options = Options::default();
    let mut codes_only = false;
    let mut out = None;
    let mut rest = args.iter();
    while let Some(&arg) = rest.next() {
        let mut value = || {
            rest.next()
                .copied()
                .with_context(|| format!("{arg} needs a value"))
        };
        match arg {
            "--agencia" => {
                let agencia = value()?;
                ensure!(
                    (1..=4).contains(&agencia.len()) && agencia.bytes().all(|b| b.is_ascii_digit()),
                    "--agencia takes 1 to 4 digits, not {agencia:?}"
                );
                options.agencia = Some(agencia.parse()?);
            }
            "--codes-only" => codes_only = true,
            "--out" => out = Some(PathBuf::from(value()?)),
            number if count.is_none() && !number.starts_with('-') => {
                count = Some(
                    number
                        .replace('_', "")
                        .parse::<u64>()
                        .with_context(|| format!("N must be a number, not {number:?}"))?,
                );
            }
            other => bail!("unknown gen argument {other:?}"),
        }
    }
    let Some(count) = count else {
        bail!("gen needs the number of records: cargo xtask gen N");
    };
    let target: Box<dyn Write> = match &out {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let written = if codes_only {
        dados_sinteticos::write_codes(target, 0..count, &options)
    } else {
        dados_sinteticos::write_records(target, count, &options)
    };
    written.with_context(|| match &out {
        Some(path) => format!("cannot write {}", path.display()),
        None => "cannot write to stdout".to_owned(),
    })
}
