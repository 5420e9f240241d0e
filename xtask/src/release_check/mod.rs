//! `cargo xtask release-check`: what changed since the last release, and whether it
//! breaks anyone who built on it. The release is the newest section of CHANGELOG.md
//! (`## [X.Y.Z] - DATE`) that names its commit (its full hash, backticked); a release
//! being cut names its commit in the next one, and meanwhile the one before is the base.
//! Two things are compared with that commit's:
//!
//! - `schemas/openapi.json` (`git show BASE:schemas/openapi.json` against the working
//!   file), by the rules of [`openapi`];
//! - the core crate's public API (rustdoc JSON of both trees), by the rules of
//!   [`public_api`].
//!
//! A breaking change fails the check unless the workspace version allows one under
//! SemVer: a new major version, or below 1.0 a new minor (0.1 to 0.2).

mod openapi;
mod public_api;

use std::fmt;
use std::path::Path;

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use crate::git;

pub(crate) const HELP: &str = "\
  release-check       compare schemas/openapi.json and the core crate's public API with
                      the last release CHANGELOG.md names (its commit): list what was
                      added, and fail on a breaking change unless the workspace version
                      allows one (rustdoc JSON, built in target/release-check/)
";

/// One difference from the release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) breaking: bool,
    /// Where: a JSON Pointer into the document, or an item of the crate.
    pub(crate) at: String,
    pub(crate) what: String,
}

impl Change {
    pub(crate) fn breaking(at: &str, what: impl Into<String>) -> Self {
        Self {
            breaking: true,
            at: at.to_owned(),
            what: what.into(),
        }
    }

    pub(crate) fn addition(at: &str, what: impl Into<String>) -> Self {
        Self {
            breaking: false,
            at: at.to_owned(),
            what: what.into(),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.breaking { "BREAKING" } else { "added" };
        write!(f, "{mark:>8}  {}: {}", self.at, self.what)
    }
}

/// A release as CHANGELOG.md names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Release {
    pub(crate) version: String,
    pub(crate) commit: String,
}

/// What changed since a release.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) openapi: Vec<Change>,
    pub(crate) api: Vec<Change>,
}

impl Report {
    fn breaking(&self) -> impl Iterator<Item = &Change> {
        self.openapi.iter().chain(&self.api).filter(|c| c.breaking)
    }
}

pub(crate) fn run(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    ensure!(args.is_empty(), "unexpected arguments {args:?}\n\n{HELP}");
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md"))?;
    let (release, pending) = last_release(&changelog);
    for version in &pending {
        println!("{version} names no commit yet (being cut): it is not the base");
    }
    let Some(release) = release else {
        println!("CHANGELOG.md names no release commit: nothing to compare with");
        return Ok(());
    };
    ensure!(
        git::has_commit(root, &release.commit),
        "CHANGELOG.md says {} is commit {}, which this repository does not hold{}",
        release.version,
        release.commit,
        if git::is_shallow(root) {
            " (a shallow clone: fetch its history)"
        } else {
            ""
        }
    );
    println!(
        "== release-check: this tree against {} (commit {})",
        release.version,
        &release.commit[..12]
    );
    let report = check(root, &release.commit, root)?;
    for (what, changes) in [
        ("schemas/openapi.json", &report.openapi),
        ("the core crate's public API", &report.api),
    ] {
        println!("-- {what}: {} change(s)", changes.len());
        for change in changes {
            println!("{change}");
        }
    }
    verdict(&report, &release.version, &workspace_version(root)?)
}

/// The release to compare with: the newest section that names its commit; and the
/// newer sections that do not (yet).
pub(crate) fn last_release(changelog: &str) -> (Option<Release>, Vec<String>) {
    let mut pending = Vec::new();
    let mut sections = changelog.split("\n## [").skip(1);
    for section in sections.by_ref() {
        let Some((version, rest)) = section.split_once(']') else {
            continue;
        };
        if version == "Unreleased" {
            continue;
        }
        let body = rest.split("\n## ").next().unwrap_or_default();
        let commit = body
            .split('`')
            .skip(1)
            .step_by(2)
            .find(|quoted| quoted.len() == 40 && quoted.bytes().all(|b| b.is_ascii_hexdigit()));
        match commit {
            Some(commit) => {
                let release = Release {
                    version: version.to_owned(),
                    commit: commit.to_owned(),
                };
                return (Some(release), pending);
            }
            None => pending.push(version.to_owned()),
        }
    }
    (None, pending)
}

/// The workspace's `version` (`[workspace.package]` of the root manifest).
fn workspace_version(tree: &Path) -> anyhow::Result<String> {
    let manifest = std::fs::read_to_string(tree.join("Cargo.toml"))?;
    manifest
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .map(|rest| rest.trim_end_matches('"').to_owned())
        .context("the root Cargo.toml states no version")
}

/// The changes from commit `base` of the repository at `repository` to the working
/// tree at `current`.
pub(crate) fn check(repository: &Path, base: &str, current: &Path) -> anyhow::Result<Report> {
    let base_document = git::output(
        repository,
        &["show", &format!("{base}:schemas/openapi.json")],
    )
    .with_context(|| format!("git show {base}:schemas/openapi.json"))?;
    let base_document: Value = serde_json::from_str(&base_document)?;
    let current_document: Value = serde_json::from_str(&std::fs::read_to_string(
        current.join("schemas/openapi.json"),
    )?)?;
    let openapi = openapi::diff(&base_document, &current_document);

    let work = crate::pg::target_dir(repository).join("release-check");
    let commit = git::output(repository, &["rev-parse", &format!("{base}^{{commit}}")])
        .with_context(|| format!("no commit {base}"))?;
    // Unpacked once per commit; the stamp, written last, says the tree is complete.
    let base_tree = work.join("trees").join(&commit);
    let stamp = work.join("trees").join(format!("{commit}.unpacked"));
    if !stamp.is_file() {
        git::unpack(repository, &commit, &base_tree)?;
        std::fs::write(&stamp, "")?;
    }
    let target = work.join("target");
    let before = public_api::read(&base_tree, &target)
        .with_context(|| format!("the public API of {base}"))?;
    let after = public_api::read(current, &target).context("the public API of this tree")?;
    let api = public_api::diff(&before, &after);
    Ok(Report { openapi, api })
}

/// Fails when `report` holds a breaking change that going from version `released` to
/// `current` does not allow.
pub(crate) fn verdict(report: &Report, released: &str, current: &str) -> anyhow::Result<()> {
    let breaking: Vec<String> = report.breaking().map(ToString::to_string).collect();
    if breaking.is_empty() {
        println!("no breaking change since {released}");
        return Ok(());
    }
    if allows_breaking(released, current)? {
        println!(
            "{} breaking change(s) since {released}, allowed by version {current}",
            breaking.len()
        );
        return Ok(());
    }
    bail!(
        "{} breaking change(s) since {released}, which version {current} does not allow \
         (bump to the next major, or below 1.0 the next minor, and say so in CHANGELOG.md):\n{}",
        breaking.len(),
        breaking.join("\n")
    )
}

/// Whether SemVer lets `current` break what `released` offered: a new major, or below
/// 1.0 a new minor (below 0.1, any new version).
fn allows_breaking(released: &str, current: &str) -> anyhow::Result<bool> {
    let parse = |version: &str| -> anyhow::Result<[u64; 3]> {
        let core = version.split(['-', '+']).next().unwrap_or_default();
        let parts: Vec<u64> = core
            .split('.')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .with_context(|| format!("{version:?} is not a version"))?;
        let [major, minor, patch] = parts[..] else {
            bail!("{version:?} is not MAJOR.MINOR.PATCH");
        };
        Ok([major, minor, patch])
    };
    let (old, new) = (parse(released)?, parse(current)?);
    Ok(match old {
        [0, 0, _] => new > old,
        [0, minor, _] => new[0] > 0 || new[1] > minor,
        [major, _, _] => new[0] > major,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Where a test unpacks a commit's tree to change it.
    fn scratch_tree(root: &Path, name: &str) -> PathBuf {
        crate::pg::target_dir(root)
            .join("release-check/scratch")
            .join(name)
    }

    fn root() -> PathBuf {
        crate::workspace_root()
    }

    #[test]
    fn the_base_is_the_newest_release_that_names_its_commit() {
        let changelog = "# Changelog\n\n## [Unreleased]\n\n- `0123456789012345678901234567890123456789`\n\n\
            ## [0.2.0] - 2027-01-01\n\n- cut, not named yet\n\n\
            ## [0.1.0] - 2026-12-06\n\nCommit `a1b2c3d4e5f60718293a4b5c6d7e8f9012345678`.\n\n- first\n";
        let (release, pending) = last_release(changelog);
        assert_eq!(
            release,
            Some(Release {
                version: "0.1.0".into(),
                commit: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678".into(),
            })
        );
        assert_eq!(pending, ["0.2.0"]);
        assert_eq!(last_release("# Changelog\n\n## [Unreleased]\n").0, None);
    }

    #[test]
    fn a_breaking_change_needs_a_new_major_or_below_1_0_a_new_minor() {
        for (released, current, allowed) in [
            ("0.1.0", "0.1.1", false),
            ("0.1.0", "0.2.0", true),
            ("0.1.3", "1.0.0", true),
            ("1.2.0", "1.3.0", false),
            ("1.2.0", "2.0.0", true),
            ("0.0.1", "0.0.2", true),
        ] {
            assert_eq!(
                allows_breaking(released, current).unwrap(),
                allowed,
                "{released} -> {current}"
            );
        }
    }

    /// This tree's document at HEAD, and that document with `change` applied.
    fn head_document_and(change: impl FnOnce(&mut Value)) -> (Value, Value) {
        let text = git::output(&root(), &["show", "HEAD:schemas/openapi.json"]).unwrap();
        let base: Value = serde_json::from_str(&text).unwrap();
        let mut current = base.clone();
        change(&mut current);
        (base, current)
    }

    #[test]
    fn release_check_fails_on_a_removed_response_property() {
        let (base, current) = head_document_and(|document| {
            let dados = &mut document["components"]["schemas"]["DadosCliente"]["properties"];
            dados
                .as_object_mut()
                .unwrap()
                .remove("nome_social")
                .unwrap();
        });
        let report = Report {
            openapi: openapi::diff(&base, &current),
            api: Vec::new(),
        };
        let error = verdict(&report, "0.1.0", "0.1.1").unwrap_err().to_string();
        assert!(
            error.contains(
                "/components/schemas/DadosCliente/properties/nome_social: property removed"
            ),
            "{error}"
        );
        assert!(verdict(&report, "0.1.0", "0.2.0").is_ok());
    }

    #[test]
    fn release_check_fails_on_a_removed_public_item_of_the_core_crate() {
        let root = root();
        let tree = scratch_tree(&root, "removed-item");
        git::unpack(&root, "HEAD", &tree).unwrap();
        let source = tree.join("crates/itau-codigo/src/codigo_conta.rs");
        let text = std::fs::read_to_string(&source).unwrap();
        let changed = text.replacen(
            "    pub fn empresa(&self)",
            "    pub(crate) fn empresa(&self)",
            1,
        );
        assert_ne!(
            text, changed,
            "CodigoConta::empresa is no longer where this test looks"
        );
        std::fs::write(&source, changed).unwrap();

        let report = check(&root, "HEAD", &tree).unwrap();
        assert!(report.openapi.is_empty(), "{:?}", report.openapi);
        let error = verdict(&report, "0.1.0", "0.1.1").unwrap_err().to_string();
        assert!(
            error.contains("method itau_codigo::CodigoConta::empresa: removed"),
            "{error}"
        );
        assert_eq!(report.breaking().count(), 1, "{:#?}", report.api);
    }
}
