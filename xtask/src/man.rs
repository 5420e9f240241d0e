//! `cargo xtask man [--check]`: `docs/man/`, one page per command (`itau-codigo.1`,
//! `itau-codigo-serve.1`, `itau-codigo-conta-check.1`...), rendered by clap_mangen from
//! the clap definition the binary parses with, so the pages cannot drift from `--help`
//! without this check (and its test) failing.
//!
//! The pages carry the package version, not `--version`'s commit: they would otherwise
//! change with every commit.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;
use itau_codigo_server::cli::{Cli, PACKAGE_VERSION};

use crate::codegen::{self, Generated, Mode};

const DIR: &str = "docs/man";

/// Every page: (file name, roff text), parents before their subcommands.
pub(crate) fn pages() -> anyhow::Result<Vec<(String, String)>> {
    let mut command = Cli::command()
        .version(PACKAGE_VERSION)
        .disable_help_subcommand(true);
    // Building propagates the version and names each subcommand `itau-codigo-serve`...
    command.build();
    let mut pages = Vec::new();
    render(&command, &mut pages)?;
    Ok(pages)
}

fn render(command: &clap::Command, pages: &mut Vec<(String, String)>) -> anyhow::Result<()> {
    let man = clap_mangen::Man::new(command.clone());
    let mut text = Vec::new();
    man.render(&mut text)
        .with_context(|| format!("rendering {}", man.get_filename()))?;
    let text = String::from_utf8(text).context("clap_mangen wrote something not UTF-8")?;
    pages.push((man.get_filename(), text));
    for subcommand in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        render(subcommand, pages)?;
    }
    Ok(())
}

pub(crate) fn run(root: &Path, mode: Mode) -> anyhow::Result<()> {
    let man = Generated {
        dir: DIR,
        files: pages()?,
        owned_suffix: Some(".1"),
        command: "cargo xtask man",
    };
    codegen::ensure(root, &man, mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_man_pages_are_what_the_command_line_generates() {
        run(&crate::workspace_root(), Mode::Check).unwrap();
    }

    #[test]
    fn every_command_has_a_page_without_the_commit() {
        let pages = pages().unwrap();
        let names: Vec<&str> = pages.iter().map(|(name, _)| name.as_str()).collect();
        for expected in [
            "itau-codigo.1",
            "itau-codigo-serve.1",
            "itau-codigo-import.1",
            "itau-codigo-conta.1",
            "itau-codigo-conta-check.1",
            "itau-codigo-conta-make.1",
            "itau-codigo-schema.1",
            "itau-codigo-completions.1",
            "itau-codigo-health.1",
        ] {
            assert!(names.contains(&expected), "no {expected} in {names:?}");
        }
        for (name, text) in &pages {
            assert!(!text.contains("(commit "), "{name} names a commit");
        }
    }
}
