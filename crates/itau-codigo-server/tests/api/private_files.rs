//! The store is personal data: every file `import` and `serve` create is readable by
//! its owner only (0600) whatever the umask, and `serve` warns about a store file that
//! others can read. Modes are checked as bits: the tests may run as root, for whom
//! access checks mean nothing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::helpers::generated_records;
use crate::process::{ServeProcess, import_from_open_pipe, itau_codigo_under_umask, run};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file in `dir`, with its mode.
fn modes_in(dir: &Path) -> Vec<(PathBuf, u32)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let mode = mode(&path);
            (path, mode)
        })
        .collect()
}

/// The files a process holds open under `dir`, named or not (a spill file is unlinked
/// at birth: `/proc` shows it as `dir/#123 (deleted)` and still stats it).
fn open_files_under(pid: u32, dir: &Path) -> Vec<(String, u32)> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let fd = entry.ok()?.path();
            let target = std::fs::read_link(&fd).ok()?;
            let mode = std::fs::metadata(&fd).ok()?.permissions().mode() & 0o777;
            target
                .starts_with(dir)
                .then(|| (target.display().to_string(), mode))
        })
        .collect()
}

const SERVE_ENV: [(&str, &str); 2] = [
    ("ITAU_CODIGO_USERNAME", "user"),
    ("ITAU_CODIGO_PASSWORD", "s3nh4-longa-o-bastante"),
];

#[test]
fn import_and_serve_create_only_private_files_under_umask_022() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("itau-codigo.db");
    let db_arg = format!("sqlite:{}", db.display());
    // A first import creates the store (through a rollback journal, see below).
    let first = run(
        itau_codigo_under_umask(0o022).args(["import", "-", "--db", &db_arg]),
        generated_records(10, "7776").as_bytes(),
    );
    assert_eq!(first.status, 0, "first import failed: {first:?}");
    let created = modes_in(dir.path());
    for (path, mode) in &created {
        assert_eq!(*mode, 0o600, "{} has mode {mode:o}", path.display());
    }

    // A second import goes through the WAL, as every import into a store that may be
    // serving. 1 MiB of sort memory and ~4 MiB of records: the sort spills to files.
    let mut command = itau_codigo_under_umask(0o022);
    command.args(["import", "-", "--db", &db_arg, "--sort-memory", "1"]);
    let (mut import, stdin) = import_from_open_pipe(command, &generated_records(3_000, "7777"));

    // With the input still open, the import holds its transaction and its spill files.
    let deadline = Instant::now() + Duration::from_secs(60);
    let open = loop {
        let open = open_files_under(import.id(), dir.path());
        if open.iter().any(|(name, _)| name.ends_with("(deleted)")) {
            break open;
        }
        assert!(
            Instant::now() < deadline,
            "no spill file within 60 s: {open:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    for (name, mode) in &open {
        assert_eq!(*mode, 0o600, "{name} is open with mode {mode:o}");
    }
    let named = modes_in(dir.path());
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db.display()));
        assert!(
            named.iter().any(|(p, _)| *p == path),
            "no {} while importing: {named:?}",
            path.display()
        );
    }
    for (path, mode) in &named {
        assert_eq!(*mode, 0o600, "{} has mode {mode:o}", path.display());
    }
    drop(stdin);
    let status = import.wait().unwrap();
    assert!(status.success(), "import failed: {status}");
    let left: Vec<_> = modes_in(dir.path());
    assert!(
        left.iter().all(|(_, mode)| *mode == 0o600),
        "after the import: {left:?}"
    );

    // `serve` opens the file and SQLite creates its -wal and -shm again.
    let server = ServeProcess::start_command(
        itau_codigo_under_umask(0o022),
        &["--db", &db_arg],
        &SERVE_ENV,
    );
    let serving = modes_in(dir.path());
    assert!(serving.len() >= 2, "serve made no -shm: {serving:?}");
    for (path, mode) in &serving {
        assert_eq!(*mode, 0o600, "{} has mode {mode:o}", path.display());
    }
    assert!(
        !server.logs().contains("open to other users"),
        "{}",
        server.logs()
    );
    server.terminate();
}

#[test]
fn serve_warns_when_the_store_file_is_open_to_other_users() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("itau-codigo.db");
    let db_arg = format!("sqlite:{}", db.display());
    let output = crate::process::run(
        itau_codigo_under_umask(0o022).args(["import", "-", "--db", &db_arg]),
        generated_records(3, "7777").as_bytes(),
    );
    assert_eq!(output.status, 0, "{}", output.stderr);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();

    let server = ServeProcess::start(&["--db", &db_arg], &SERVE_ENV);
    let logs = server.logs();
    let warning = logs
        .lines()
        .find(|line| line.contains("open to other users"))
        .unwrap_or_else(|| panic!("no warning in {logs}"));
    assert!(warning.contains("\"level\":\"WARN\""), "{warning}");
    assert!(warning.contains(&db.display().to_string()), "{warning}");
    assert!(warning.contains("0644"), "{warning}");
    server.terminate();
}
