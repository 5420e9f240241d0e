//! Sets `ITAU_CODIGO_COMMIT` for `--version`: the checkout's commit (12 hex digits),
//! with `-dirty` when tracked files differ from it, or `unknown` outside this
//! repository's git checkout (a crates tarball, a container build context).
//! `ITAU_CODIGO_BUILD_COMMIT`, when set, is taken as given (builds from an export).
//!
//! The script re-runs only when HEAD, the branch it points to, or the index changes,
//! so an ordinary edit-build cycle does not rebuild the crate twice; the index is
//! watched because committing, staging and `git status` all rewrite it, which keeps
//! `-dirty` true to the tree in practice.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=ITAU_CODIGO_BUILD_COMMIT");
    let commit = match std::env::var("ITAU_CODIGO_BUILD_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => {
            let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
            git_commit(&manifest_dir).unwrap_or_else(|| "unknown".to_owned())
        }
    };
    println!("cargo:rustc-env=ITAU_CODIGO_COMMIT={commit}");
}

/// The commit of the checkout this crate sits in, or `None` when there is none.
fn git_commit(manifest_dir: &Path) -> Option<String> {
    // Only our own checkout counts: a copy of the crate unpacked inside some other
    // repository must not report that repository's commit.
    let toplevel = PathBuf::from(git(manifest_dir, &["rev-parse", "--show-toplevel"])?);
    let workspace = manifest_dir.join("../..");
    if toplevel.canonicalize().ok()? != workspace.canonicalize().ok()? {
        return None;
    }
    watch(manifest_dir);
    let commit = git(manifest_dir, &["rev-parse", "--short=12", "HEAD"])?;
    // GIT_OPTIONAL_LOCKS=0: `status` must not rewrite the index it is watched by.
    let changes = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .env("GIT_OPTIONAL_LOCKS", "0")
        .current_dir(manifest_dir)
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    let dirty = if changes.stdout.is_empty() {
        ""
    } else {
        "-dirty"
    };
    Some(format!("{commit}{dirty}"))
}

/// Asks cargo to re-run this script when HEAD moves: `.git/HEAD`, the branch file it
/// names (or `packed-refs` and the branch's folder while the branch is packed), and
/// the index. Paths come from git, so worktrees (whose HEAD and branches live in
/// different folders) work too. Only existing files are named: cargo re-runs a script
/// on every build when a named file is missing.
fn watch(manifest_dir: &Path) {
    let git_path = |name: &str| {
        git(manifest_dir, &["rev-parse", "--git-path", name]).map(|path| manifest_dir.join(path))
    };
    let mut watched: Vec<PathBuf> = ["HEAD", "index"].into_iter().filter_map(git_path).collect();
    if let Some(branch) = git(manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        match git_path(&branch) {
            Some(loose) if loose.is_file() => watched.push(loose),
            loose => {
                watched.extend(git_path("packed-refs"));
                // A commit on a packed branch writes the loose file: its folder changes.
                watched.extend(loose.and_then(|path| path.parent().map(Path::to_owned)));
            }
        }
    }
    for path in watched.into_iter().filter(|path| path.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// One line of git's output, or `None` when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let line = text.trim();
    (!line.is_empty()).then(|| line.to_owned())
}
