//! `cargo xtask schemas [--check]`: the committed schemas are exactly what the code
//! generates (`itau_codigo::schema::documents`).

use std::fs;
use std::path::Path;

use anyhow::{Context, bail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Write,
    Check,
}

pub(crate) fn run(root: &Path, mode: Mode) -> anyhow::Result<()> {
    let dir = root.join("schemas");
    let mut stale = Vec::new();
    for (name, text) in itau_codigo::schema::documents() {
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
                fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
                println!("wrote schemas/{name}");
            }
            Mode::Check => {
                eprintln!(
                    "schemas/{name} is out of date{}",
                    first_difference(committed.as_deref(), &text)
                );
                stale.push(name);
            }
        }
    }
    if !stale.is_empty() {
        bail!(
            "{} generated file(s) differ from the code: run `cargo xtask schemas` and commit schemas/",
            stale.len()
        );
    }
    Ok(())
}

/// A short pointer to the first line that differs.
pub(crate) fn first_difference(committed: Option<&str>, generated: &str) -> String {
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
