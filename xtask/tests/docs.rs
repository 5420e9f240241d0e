//! The documentation is checked like code: what it points at exists, its Rust examples
//! compile somewhere, and figures stay in the two files that say how they were measured.
//!
//! - Every relative link `](path#anchor)` of every Markdown file names a file or folder
//!   of the repository (and a heading of it, when it has an anchor), and every
//!   backticked repository path (`crates/…`, `scripts/…`) outside code blocks exists.
//! - The documents by reader (README.md, OPERATIONS.md, CONTRIBUTING.md,
//!   docs/clients.md) hold no ```rust block and no fence without a language: Rust
//!   examples live in the core crate's README, which its `lib.rs` includes, so each is
//!   a doctest that `cargo test` compiles and runs.
//! - Those documents quote no measurement (req/s, records/s, a latency, a memory size):
//!   figures live in BENCHMARKS.md and RELIABILITY.md, and in OPERATIONS.md's "Sizing",
//!   which names the run they come from (its date, commit and command).
//! - Every TypeScript or Python block of docs/clients.md is quoted, as it stands, from
//!   the client examples under docs/clients/, which `tests/api/clients.rs` runs.
//! - No file of the repository points at the developers' private notes.
//! - No container or deployment example passes the API password in the environment.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// The documents a reader is sent to from the README.
const BY_READER: [&str; 4] = [
    "README.md",
    "OPERATIONS.md",
    "CONTRIBUTING.md",
    "docs/clients.md",
];

/// Languages a fenced block of those documents may declare.
const FENCE_LANGUAGES: [&str; 9] = [
    "console", "sh", "text", "toml", "json", "ts", "python", "haproxy", "yaml",
];

/// How a backticked path into the repository starts.
const REPO_PREFIXES: [&str; 11] = [
    "crates/",
    "deploy/",
    "scripts/",
    "schemas/",
    "docs/",
    "xtask/",
    "fuzz/",
    "tools/",
    "benchmarks/",
    ".ci/",
    ".cargo/",
];

/// Units of measured figures, which belong in BENCHMARKS.md and RELIABILITY.md.
const MEASURED_UNITS: [&str; 11] = [
    "req/s",
    "records/s",
    "ms",
    "µs",
    "ns",
    "MiB",
    "GiB",
    "MB",
    "GB",
    "KB/s",
    "MB/s",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_owned()
}

/// Folders that hold no documentation of ours: build output, installed packages, what
/// the fuzzer grows.
fn skipped(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    matches!(name, ".git" | "target" | "node_modules")
        || path.ends_with("fuzz/corpus")
        || path.ends_with("fuzz/artifacts")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if skipped(&path) {
            continue;
        }
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn markdown_files() -> Vec<PathBuf> {
    let mut all = Vec::new();
    files(&root(), &mut all);
    all.retain(|p| p.extension().is_some_and(|e| e == "md"));
    assert!(
        all.len() >= 8,
        "found only {} Markdown files: is the root right?",
        all.len()
    );
    all
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The info string of a line that opens or closes a fenced code block (three or more
/// backticks, then no backtick): a line that starts with an inline code span is none.
fn fence_info(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    let info = trimmed.trim_start_matches('`');
    (trimmed.len() - info.len() >= 3 && !info.contains('`')).then(|| info.trim())
}

/// The lines of a Markdown document outside fenced code blocks, with their numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_fence = false;
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if fence_info(line).is_some() {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            lines.push((index + 1, line));
        }
    }
    lines
}

/// The targets of inline links and images, `[text](target)` and `![alt](target)`,
/// outside code spans.
fn link_targets(line: &str) -> Vec<String> {
    let mut prose = line.to_owned();
    for span in code_spans(line) {
        prose = prose.replacen(span, "", 1);
    }
    let mut targets = Vec::new();
    let mut rest = prose.as_str();
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else { break };
        let target = after[..end].split_whitespace().next().unwrap_or("");
        targets.push(target.to_owned());
        rest = &after[end..];
    }
    targets
}

/// The contents of inline code spans (single backticks) of a line.
fn code_spans(line: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let after = &rest[start + ticks..];
        let closing = "`".repeat(ticks);
        let Some(end) = after.find(&closing) else {
            break;
        };
        if ticks == 1 {
            spans.push(&after[..end]);
        }
        rest = &after[end + ticks..];
    }
    spans
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(markdown: &Path) -> BTreeSet<String> {
    let text = fs::read_to_string(markdown).unwrap_or_default();
    prose_lines(&text)
        .into_iter()
        .filter_map(|(_, line)| {
            let heading = line.trim_start_matches('#');
            (heading.len() < line.len() && heading.starts_with(' ')).then(|| slug(heading))
        })
        .collect()
}

/// Folds `a/b/../c` to `a/c` without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn every_relative_link_names_a_file_of_the_repository() {
    let mut broken = Vec::new();
    for file in markdown_files() {
        let text = fs::read_to_string(&file).expect("Markdown is UTF-8");
        for (number, line) in prose_lines(&text) {
            for target in link_targets(line) {
                let target = target.as_str();
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (path, anchor) = match target.split_once('#') {
                    Some((path, anchor)) => (path, Some(anchor)),
                    None => (target, None),
                };
                let resolved = if path.is_empty() {
                    file.clone()
                } else {
                    normalise(&file.parent().expect("a file has a folder").join(path))
                };
                let where_ = format!("{}:{number}: {target}", relative(&file));
                if !resolved.starts_with(root()) || !resolved.exists() {
                    broken.push(format!("{where_}: no such file"));
                } else if let Some(anchor) = anchor
                    && resolved.extension().is_some_and(|e| e == "md")
                    && !anchors(&resolved).contains(anchor)
                {
                    broken.push(format!("{where_}: no such heading"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_backticked_repository_path_exists() {
    let mut missing = Vec::new();
    for file in markdown_files() {
        let text = fs::read_to_string(&file).expect("Markdown is UTF-8");
        for (number, line) in prose_lines(&text) {
            for span in code_spans(line) {
                if !REPO_PREFIXES.iter().any(|prefix| span.starts_with(prefix)) {
                    continue;
                }
                // Patterns and placeholders (`benchmarks/<store>.json`,
                // `fuzz/regressions/TARGET/`) stand for many paths, not one.
                let placeholder = span.contains(['<', '>', '*', '{', '}', '…', ' ', '$'])
                    || span.split('/').any(|part| {
                        !part.is_empty() && part.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                    });
                if placeholder {
                    continue;
                }
                if !root().join(span.trim_end_matches('/')).exists() {
                    missing.push(format!("{}:{number}: `{span}`", relative(&file)));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "backticked paths the repository lacks:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_documents_by_reader_hold_no_rust_block_and_label_every_fence() {
    let mut wrong = Vec::new();
    for name in BY_READER {
        let text = fs::read_to_string(root().join(name)).expect("the document exists");
        let mut in_fence = false;
        for (index, line) in text.lines().enumerate() {
            let Some(info) = fence_info(line) else {
                continue;
            };
            if !in_fence {
                let language = info.split([',', ' ']).next().unwrap_or("");
                if !FENCE_LANGUAGES.contains(&language) {
                    wrong.push(format!("{name}:{}: ```{info}", index + 1));
                }
            }
            in_fence = !in_fence;
        }
    }
    assert!(
        wrong.is_empty(),
        "fences must be one of {FENCE_LANGUAGES:?} (Rust examples belong in \
         crates/itau-codigo/README.md, where they are doctests):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_client_code_of_docs_clients_md_is_quoted_from_the_examples_that_run() {
    let guide = fs::read_to_string(root().join("docs/clients.md")).expect("docs/clients.md");
    let mut examples = String::new();
    for language in ["typescript", "python"] {
        let dir = root().join("docs/clients").join(language);
        for entry in fs::read_dir(&dir).expect("docs/clients/LANGUAGE") {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_some_and(|e| e == "ts" || e == "py") {
                examples.push_str(&fs::read_to_string(&path).expect("an example file"));
            }
        }
    }
    let mut block: Option<String> = None;
    let mut quoted = 0;
    for line in guide.lines() {
        match (fence_info(line), &mut block) {
            (Some(""), Some(code)) => {
                assert!(
                    examples.contains(code.as_str()),
                    "docs/clients.md quotes code that no file under docs/clients/ holds:\n{code}"
                );
                quoted += 1;
                block = None;
            }
            (Some("ts" | "python"), None) => block = Some(String::new()),
            (None, Some(code)) => {
                code.push_str(line);
                code.push('\n');
            }
            _ => {}
        }
    }
    assert!(quoted >= 2, "docs/clients.md quotes each example");
}

#[test]
fn the_core_crate_readme_is_its_crate_documentation_so_its_examples_are_doctests() {
    let lib = fs::read_to_string(root().join("crates/itau-codigo/src/lib.rs")).expect("lib.rs");
    assert!(
        lib.contains(r#"#![doc = include_str!("../README.md")]"#),
        "crates/itau-codigo/src/lib.rs must include its README, so that its Rust examples compile as doctests"
    );
    let readme = fs::read_to_string(root().join("crates/itau-codigo/README.md")).expect("README");
    let untested: Vec<_> = readme
        .lines()
        .filter_map(fence_info)
        .filter(|info| info.contains("ignore") || info.contains("no_run"))
        .collect();
    assert!(
        untested.is_empty(),
        "every Rust example of the crate README runs: {untested:?}"
    );
}

#[test]
fn the_core_crate_readme_says_what_its_manifest_and_the_repository_say() {
    let read = |name: &str| fs::read_to_string(root().join(name)).expect("the file exists");
    let readme = read("crates/itau-codigo/README.md");
    let manifest = read("crates/itau-codigo/Cargo.toml");
    let workspace = read("Cargo.toml");

    let msrv = workspace
        .lines()
        .find_map(|line| line.strip_prefix("rust-version = "))
        .expect("the workspace states its rust-version")
        .trim_matches('"');
    assert!(manifest.contains("rust-version.workspace = true"));
    assert!(
        readme.contains(&format!("**Minimum Rust version: {msrv}**")),
        "the crate README must state the minimum Rust version {msrv}"
    );
    assert!(
        !manifest.contains("[features]"),
        "the crate README says the crate has no cargo features"
    );

    // A release is a commit: the README pins the newest release's commit, as
    // CHANGELOG.md names it, never a tag or a registry version; until the commit after a
    // release's names it, a placeholder says which release. The manifest links no page
    // (docs.rs, a repository) that nothing has created.
    let changelog = read("CHANGELOG.md");
    let (version, commit) = newest_release(&changelog).expect("CHANGELOG.md has a release");
    assert!(
        readme.contains(&format!("Release {version} is a commit")),
        "the crate README must say which release it pins: {version}"
    );
    let dependency = readme
        .lines()
        .find(|line| line.starts_with("itau-codigo = {"))
        .expect("the README shows how to depend on the crate");
    let pinned = match &commit {
        Some(commit) => format!(r#" rev = "{commit}" }}"#),
        None => format!(r#" rev = "<the {version} commit>" }}"#),
    };
    assert!(
        dependency.ends_with(&pinned)
            && !dependency.contains(" tag = ")
            && !dependency.contains(" version = "),
        "{dependency} does not pin{pinned}"
    );
    if let Some(commit) = commit {
        let known = std::process::Command::new("git")
            .args(["cat-file", "-e", &format!("{commit}^{{commit}}")])
            .current_dir(root())
            .status();
        assert!(
            known.is_ok_and(|status| status.success()),
            "CHANGELOG.md names commit {commit} for {version}, which this repository lacks"
        );
    }
    for key in ["documentation", "homepage", "repository"] {
        assert!(
            !manifest.lines().any(|line| line.starts_with(key)),
            "crates/itau-codigo/Cargo.toml links `{key}`, but the crate has no registry release"
        );
    }
    if let Ok(tags) = std::process::Command::new("git")
        .args(["tag", "--list"])
        .current_dir(root())
        .output()
    {
        assert!(
            tags.stdout.is_empty(),
            "the repository has tags now: say so in the crate README's \"Using it\""
        );
    }
}

/// The newest release section of CHANGELOG.md (`## [X.Y.Z] - DATE`): its version and
/// the commit it names (a full hash in backticks), if it names one yet.
fn newest_release(changelog: &str) -> Option<(String, Option<String>)> {
    changelog.split("\n## [").skip(1).find_map(|section| {
        let (version, rest) = section.split_once(']')?;
        if version == "Unreleased" {
            return None;
        }
        let body = rest.split("\n## ").next().unwrap_or_default();
        let commit = body
            .split('`')
            .skip(1)
            .step_by(2)
            .find(|q| q.len() == 40 && q.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_owned);
        Some((version.to_owned(), commit))
    })
}

/// The line indices of OPERATIONS.md's "## Sizing" section, which may quote figures
/// because it names the run they come from: a date, a commit and a `cargo xtask`
/// command.
fn sizing_lines(text: &str) -> std::ops::Range<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|line| *line == "## Sizing") else {
        return 0..0;
    };
    let end = lines[start + 1..]
        .iter()
        .position(|line| line.starts_with("## "))
        .map_or(lines.len(), |at| start + 1 + at);
    let section = lines[start..end].join("\n");
    assert!(
        section.contains("Measured on ")
            && section.contains(" at commit ")
            && section.contains("cargo xtask "),
        "OPERATIONS.md's Sizing quotes figures: it must say where they were measured \
         (\"Measured on DATE ... at commit ...\") and by which `cargo xtask` command"
    );
    start..end
}

#[test]
fn the_documents_by_reader_quote_no_measurement() {
    let mut figures = Vec::new();
    for name in BY_READER {
        let text = fs::read_to_string(root().join(name)).expect("the document exists");
        let sizing = (name == "OPERATIONS.md").then(|| sizing_lines(&text));
        for (index, line) in text.lines().enumerate() {
            if sizing.as_ref().is_some_and(|lines| lines.contains(&index)) {
                continue;
            }
            for unit in MEASURED_UNITS {
                for (at, _) in line.match_indices(unit) {
                    let before = line[..at].trim_end_matches([' ', '\u{a0}']);
                    let after = line[at + unit.len()..].chars().next();
                    let measured = before.ends_with(|c: char| c.is_ascii_digit())
                        && !after.is_some_and(char::is_alphanumeric);
                    if measured {
                        figures.push(format!("{name}:{}: {}", index + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        figures.is_empty(),
        "figures belong in BENCHMARKS.md or RELIABILITY.md (link there):\n{}",
        figures.join("\n")
    );
}

#[test]
fn no_file_points_at_the_developers_private_notes() {
    // Spelt in pieces, so that this file does not find itself.
    let needles = [["DESIGN", ".md"].concat(), ["../", "shared"].concat()];
    let mut all = Vec::new();
    files(&root(), &mut all);
    let mut found = Vec::new();
    for file in all {
        let Ok(text) = fs::read_to_string(&file) else {
            continue; // not text
        };
        for needle in &needles {
            if text.contains(needle.as_str()) {
                found.push(format!("{}: {needle}", relative(&file)));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the repository must say what users need in its own words:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_container_or_deployment_example_passes_the_api_password_in_the_environment() {
    // `-e ITAU_CODIGO_PASSWORD=…` (or an `env:` entry of it) shows in `podman inspect`,
    // `docker inspect` and /proc/1/environ; examples mount ITAU_CODIGO_PASSWORD_FILE.
    let mut all = Vec::new();
    files(&root(), &mut all);
    let mut found = Vec::new();
    for file in all {
        let name = relative(&file);
        let example = name.ends_with(".md")
            || name == "Containerfile"
            || name.starts_with("deploy/")
            || name.starts_with("tools/containers/");
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        if !example {
            continue;
        }
        for (number, line) in text.lines().enumerate() {
            let passes = line.contains("-e ITAU_CODIGO_PASSWORD=")
                || line.contains("--env ITAU_CODIGO_PASSWORD=")
                || line.trim() == "- name: ITAU_CODIGO_PASSWORD";
            // The sentence that warns against it quotes it without a value.
            if passes && !line.contains("ITAU_CODIGO_PASSWORD=…`") {
                found.push(format!("{name}:{}: {line}", number + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "mount the API password as a file (ITAU_CODIGO_PASSWORD_FILE) instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn slugs_are_githubs() {
    assert_eq!(slug("The import format"), "the-import-format");
    assert_eq!(
        slug("Contract testing (schemathesis)"),
        "contract-testing-schemathesis"
    );
    assert_eq!(
        slug("A PostgreSQL server across runs: `cargo xtask pg`"),
        "a-postgresql-server-across-runs-cargo-xtask-pg"
    );
    assert_eq!(
        slug("SQLite: in place, or a new file renamed over"),
        "sqlite-in-place-or-a-new-file-renamed-over"
    );
}
