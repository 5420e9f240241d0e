//! Python virtual environments under the target folder, each made from a pinned
//! requirements file on first use (the first run needs PyPI) and remade when the file
//! changes. Parallel test processes take turns on a lock file, so each is made once.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python of the environment `name` (`TARGET/name`), holding `requirements`.
pub(crate) fn python(name: &str, requirements: &Path) -> PathBuf {
    let wanted = std::fs::read_to_string(requirements).unwrap();
    let target = target_dir();
    let venv = target.join(name);
    let lock = File::create(target.join(format!("{name}.lock"))).unwrap();
    lock.lock().unwrap();
    // Written last: its presence says the environment is complete.
    let installed = venv.join("requirements.txt");
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
            .arg(requirements)
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
pub(crate) fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_owned()
}
