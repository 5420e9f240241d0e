//! The Python the tests run real parsers and receivers with: one virtual environment
//! per pinned requirements file of `scripts/`, made under the target folder on first
//! use (the first run needs PyPI) and remade when the file changes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python of the virtual environment for `scripts/requirements-NAME.txt`
/// (`TARGET/NAME-venv`). Parallel test processes take turns on a lock file, so it is
/// made once.
pub(crate) fn venv_python(name: &str) -> PathBuf {
    let requirements = root().join(format!("scripts/requirements-{name}.txt"));
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    let target = target_dir();
    let venv = target.join(format!("{name}-venv"));
    let lock = File::create(target.join(format!("{name}-venv.lock"))).unwrap();
    lock.lock().unwrap();
    // Written last: its presence says the environment is complete.
    let installed = venv.join(format!("requirements-{name}.txt"));
    if std::fs::read_to_string(&installed).ok().as_ref() != Some(&wanted) {
        let _ = std::fs::remove_dir_all(&venv);
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 runs");
        assert!(status.success(), "python3 -m venv {}", venv.display());
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "pip install -r {}",
            requirements.display()
        );
        std::fs::write(&installed, &wanted).unwrap();
    }
    venv.join("bin/python")
}

/// The folder the test binary was built in: `TARGET/debug/deps/api-…`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_owned()
}
