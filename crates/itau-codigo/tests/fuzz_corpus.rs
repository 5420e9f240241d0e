//! Replays every committed fuzz seed and regression input (`fuzz/seeds/<target>/`,
//! `fuzz/regressions/<target>/`) through the fuzz targets' own checks, so that a fixed
//! finding stays fixed in `cargo test` without libFuzzer.

use std::path::{Path, PathBuf};

#[allow(
    unreachable_pub,
    reason = "shared with the fuzz crate, where it is public"
)]
#[path = "../../../fuzz/src/checks.rs"]
mod checks;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every file in `fuzz/<kind>/<target>/`, sorted; none when the folder does not exist.
fn inputs(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable folder").path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("a readable input");
            (path, bytes)
        })
        .collect()
}

fn replay(target: &str, check: fn(&[u8])) {
    let seeds = inputs("seeds", target);
    assert!(!seeds.is_empty(), "no seeds for {target}");
    for (path, bytes) in seeds.into_iter().chain(inputs("regressions", target)) {
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "{} fails its fuzz check", path.display());
    }
}

#[test]
fn codigo_conta_seeds_and_regressions_pass_the_fuzz_checks() {
    replay("codigo_conta", checks::codigo_conta);
}

#[test]
fn consulta_request_seeds_and_regressions_pass_the_fuzz_checks() {
    replay("consulta_request", checks::consulta_request);
}

#[test]
fn registro_line_seeds_and_regressions_pass_the_fuzz_checks() {
    replay("registro_line", checks::registro_line);
}

#[test]
fn registro_roads_seeds_and_regressions_pass_the_fuzz_checks() {
    replay("registro_roads", checks::registro_roads);
}
