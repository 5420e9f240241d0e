//! `cargo xtask man [--check]`: `docs/man/`, one page per command (`itau-codigo.1`,
//! `itau-codigo-serve.1`, `itau-codigo-conta-check.1`...), rendered by clap_mangen from
//! the clap definition the binary parses with, so the pages cannot drift from `--help`
//! without this check (and its test) failing.
//!
//! The pages carry the package version, not `--version`'s commit: they would otherwise
//! change with every commit.

use std::fs;
use std::path::Path;

use anyhow::{Context, bail};
use clap::CommandFactory;
use itau_codigo_server::cli::{Cli, PACKAGE_VERSION};

use crate::schemas::{Mode, first_difference};

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
    let dir = root.join(DIR);
    let pages = pages()?;
    let mut stale = Vec::new();
    for (name, text) in &pages {
        let path = dir.join(name);
        let committed = fs::read_to_string(&path)
            .ok()
            .map(|t| t.replace("\r\n", "\n"));
        if committed.as_deref() == Some(text.as_str()) {
            continue;
        }
        match mode {
            Mode::Write => {
                fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {DIR}/{name}");
            }
            Mode::Check => {
                eprintln!(
                    "{DIR}/{name} is out of date{}",
                    first_difference(committed.as_deref(), text)
                );
                stale.push(name.clone());
            }
        }
    }
    // A page whose command is gone is stale too.
    for entry in fs::read_dir(&dir).into_iter().flatten() {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".1") || pages.iter().any(|(page, _)| *page == name) {
            continue;
        }
        match mode {
            Mode::Write => {
                fs::remove_file(entry.path()).with_context(|| format!("removing {DIR}/{name}"))?;
                println!("removed {DIR}/{name}");
            }
            Mode::Check => {
                eprintln!("{DIR}/{name} documents no command");
                stale.push(name);
            }
        }
    }
    if !stale.is_empty() {
        bail!(
            "{} man page(s) differ from the command line: run `cargo xtask man` and commit {DIR}/",
            stale.len()
        );
    }
    Ok(())
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
