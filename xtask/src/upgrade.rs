//! `cargo xtask upgrade-test`: the upgrade path run for real. Builds the binary of the
//! commit that writes the store format before this tree's ([`PREVIOUS_FORMAT_COMMIT`]),
//! then runs the upgrade tests (`tests/api/upgrade.rs`) with it beside this tree's
//! binary, on both stores.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, ensure};

use crate::git;

pub(crate) const HELP: &str = "\
  upgrade-test        build the binary of the commit before the last store format change
                      (cached in target/upgrade-base/) and run tests/api/upgrade.rs with
                      it beside this tree's binary: both serve one store across migrate
";

/// The last commit whose binary writes the format before this tree's (schema 2; this
/// tree writes 3). Move it when the format changes again: to the last commit before
/// the change.
const PREVIOUS_FORMAT_COMMIT: &str = "c3d31cb922392eb995c5e204f8f8814ab007003c";

/// The variable naming the previous binary for the tests.
const PREVIOUS_BINARY_ENV: &str = "ITAU_CODIGO_TEST_PREVIOUS_BINARY";

pub(crate) fn run(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    ensure!(args.is_empty(), "unexpected arguments {args:?}\n\n{HELP}");
    if !git::has_commit(root, PREVIOUS_FORMAT_COMMIT) && git::is_shallow(root) {
        // A shallow clone has no history to build the previous binary from; a full
        // clone that lacks the commit is an error (below).
        let line = "!".repeat(78);
        eprintln!(
            "{line}\n!! upgrade test SKIPPED: this shallow clone lacks commit {PREVIOUS_FORMAT_COMMIT}\n\
             !! (clone with history, or `git fetch --unshallow`, to run it)\n{line}"
        );
        return Ok(());
    }
    let binary = previous_binary(root)?;
    eprintln!(
        "== upgrade test: {} (commit {}) beside this tree's binary",
        binary.display(),
        &PREVIOUS_FORMAT_COMMIT[..12]
    );
    let tests = [
        "-p",
        "itau-codigo-server",
        "--test",
        "api",
        "--locked",
        "--",
        "upgrade::",
    ];
    crate::pg::test_with_env(root, &tests, &[(PREVIOUS_BINARY_ENV, binary.as_os_str())])
}

/// The previous commit's `itau-codigo`, built once into `target/upgrade-base/`.
fn previous_binary(root: &Path) -> anyhow::Result<PathBuf> {
    let base = crate::pg::target_dir(root).join("upgrade-base");
    let source = base.join("src");
    let target = base.join("target");
    let binary = target.join("debug/itau-codigo");
    let stamp = base.join("built-from");
    if binary.exists() && fs::read_to_string(&stamp).is_ok_and(|s| s == PREVIOUS_FORMAT_COMMIT) {
        return Ok(binary);
    }
    git::unpack(root, PREVIOUS_FORMAT_COMMIT, &source)
        .context("the upgrade test needs the repository's history")?;
    eprintln!(
        "== upgrade test: building itau-codigo at {}",
        &PREVIOUS_FORMAT_COMMIT[..12]
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&source)
        .args([
            "build",
            "--locked",
            "-p",
            "itau-codigo-server",
            "--bin",
            "itau-codigo",
        ])
        .arg("--target-dir")
        .arg(&target)
        // Tests need no debugger: a smaller, faster build.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .status()
        .context("running cargo build")?;
    ensure!(
        status.success(),
        "building the previous binary failed ({status})"
    );
    fs::write(&stamp, PREVIOUS_FORMAT_COMMIT)?;
    Ok(binary)
}
