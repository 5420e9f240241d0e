//! Files the code generates and the repository commits (`schemas/`, `docs/man/`): one
//! routine, two modes. Write touches only the files that changed (and removes those the
//! code no longer generates); check fails naming each stale file, with the first line
//! that differs and the command that fixes it.

use std::fs;
use std::path::Path;

use anyhow::{Context, bail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Write,
    Check,
}

/// A folder of generated files.
#[derive(Debug)]
pub(crate) struct Generated<'a> {
    /// The folder, relative to the workspace root.
    pub(crate) dir: &'a str,
    /// (file name, text) of every file the code generates.
    pub(crate) files: Vec<(String, String)>,
    /// Files in `dir` ending so are generated ones: those the code no longer generates
    /// are stale too. `None` when the folder may hold other files.
    pub(crate) owned_suffix: Option<&'a str>,
    /// The command that writes them.
    pub(crate) command: &'a str,
}

pub(crate) fn ensure(root: &Path, generated: &Generated<'_>, mode: Mode) -> anyhow::Result<()> {
    let Generated {
        dir: relative,
        files,
        owned_suffix,
        command,
    } = generated;
    let dir = root.join(relative);
    let mut stale = 0;
    for (name, text) in files {
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
                println!("wrote {relative}/{name}");
            }
            Mode::Check => {
                eprintln!(
                    "{relative}/{name} is out of date{}",
                    first_difference(committed.as_deref(), text)
                );
                stale += 1;
            }
        }
    }
    if let Some(suffix) = owned_suffix {
        for entry in fs::read_dir(&dir).into_iter().flatten() {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(suffix) || files.iter().any(|(file, _)| *file == name) {
                continue;
            }
            match mode {
                Mode::Write => {
                    fs::remove_file(entry.path())
                        .with_context(|| format!("removing {relative}/{name}"))?;
                    println!("removed {relative}/{name}");
                }
                Mode::Check => {
                    eprintln!("{relative}/{name} is generated from nothing any more");
                    stale += 1;
                }
            }
        }
    }
    if stale > 0 {
        bail!(
            "{stale} file(s) in {relative}/ differ from what the code generates: run `{command}` and commit {relative}/"
        );
    }
    Ok(())
}

/// A short pointer to the first line that differs.
fn first_difference(committed: Option<&str>, generated: &str) -> String {
    let Some(committed) = committed else {
        return " (missing)".to_owned();
    };
    let mut committed_lines = committed.lines();
    for (number, generated_line) in generated.lines().enumerate() {
        let committed_line = committed_lines.next().unwrap_or("<end of file>");
        if committed_line != generated_line {
            return format!(
                ":\n  line {}\n  - {}\n  + {}",
                number + 1,
                committed_line.trim(),
                generated_line.trim()
            );
        }
    }
    ":\n  the committed file has extra lines at the end".to_owned()
}
