//! The git commands the tasks run on the repository: a question answered on stdout, and
//! a commit's tree unpacked into a folder (`git archive`, not a worktree, so that nothing
//! is left in the repository's metadata).

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, ensure};

/// `git ARGS` in `root`: its trimmed stdout, or `None` when it fails.
pub(crate) fn output(root: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .current_dir(root)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Whether the repository holds `commit`.
pub(crate) fn has_commit(root: &Path, commit: &str) -> bool {
    output(root, &["cat-file", "-e", &format!("{commit}^{{commit}}")]).is_some()
}

/// Whether the clone is shallow (its history cut).
pub(crate) fn is_shallow(root: &Path) -> bool {
    output(root, &["rev-parse", "--is-shallow-repository"]).as_deref() == Some("true")
}

/// The tree of `commit`, unpacked into `dest` (emptied first).
pub(crate) fn unpack(root: &Path, commit: &str, dest: &Path) -> anyhow::Result<()> {
    if dest.exists() {
        fs::remove_dir_all(dest).with_context(|| format!("cannot empty {}", dest.display()))?;
    }
    fs::create_dir_all(dest)?;
    let mut archive = Command::new("git")
        .current_dir(root)
        .args(["archive", "--format=tar", commit])
        .stdout(Stdio::piped())
        .spawn()
        .context("running git archive")?;
    let unpacked = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dest)
        .stdin(archive.stdout.take().context("no git archive output")?)
        .status()?;
    ensure!(
        archive.wait()?.success() && unpacked.success(),
        "cannot unpack commit {commit} (a shallow clone? fetch its history)"
    );
    Ok(())
}
