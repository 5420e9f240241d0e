//! Project chores: `cargo xtask <task>`. See `cargo xtask help`.

mod bench;
mod codegen;
mod generate;
mod git;
mod image;
mod kubernetes;
mod lint_openapi;
mod man;
mod pg;
mod release_check;
mod schemas;
mod upgrade;

use std::path::PathBuf;
use std::process::ExitCode;

const HELP: &str = "\
Usage: cargo xtask <task>

Tasks:
  schemas [--check]   write schemas/*.json from the code; with --check, fail (naming the
                      file) when a committed file differs from what the code generates
  man [--check]       write docs/man/*.1, one man page per command; with --check, fail
                      (naming the file) when a committed page differs from the CLI
  test [ARGS]         cargo test --workspace ARGS, with a private PostgreSQL server
                      started for the run (both stores tested) and stopped after it
  pg start [--fsync] [--dir DIR]
                      start a private PostgreSQL server (default folder:
                      target/private-postgres) and print `export ITAU_CODIGO_TEST_PG_URL=...`
  pg url [--dir DIR]  print the running private server's URL
  pg stop [--dir DIR] stop it and delete its folder
  help                this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["schemas"] => schemas::run(&workspace_root(), codegen::Mode::Write),
        ["schemas", "--check"] => schemas::run(&workspace_root(), codegen::Mode::Check),
        ["man"] => man::run(&workspace_root(), codegen::Mode::Write),
        ["man", "--check"] => man::run(&workspace_root(), codegen::Mode::Check),
        ["test", rest @ ..] => pg::test(&workspace_root(), rest),
        ["pg", "start", rest @ ..] => pg::start(&workspace_root(), rest),
        ["pg", "url", rest @ ..] => pg::url(&workspace_root(), rest),
        ["pg", "stop", rest @ ..] => pg::stop(&workspace_root(), rest),
        ["bench", rest @ ..] => bench::run(&workspace_root(), rest),
        ["gen", rest @ ..] => generate::run(rest),
        ["image", rest @ ..] => image::run(&workspace_root(), rest).and_then(|tested| {
            // The manifests of deploy/kubernetes on the image just tested (podman only).
            tested.map_or(Ok(()), |engine| {
                kubernetes::play_test(&workspace_root(), &engine)
            })
        }),
        ["upgrade-test", rest @ ..] => upgrade::run(&workspace_root(), rest),
        ["lint-openapi", rest @ ..] => lint_openapi::run(&workspace_root(), rest),
        ["release-check", rest @ ..] => release_check::run(&workspace_root(), rest),
        ["help" | "--help" | "-h"] | [] => {
            print!("{}", help());
            Ok(())
        }
        _ => {
            eprint!("unknown task {args:?}\n\n{}", help());
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_owned()
}

/// The task table and each task's own options.
fn help() -> String {
    [
        HELP,
        generate::HELP,
        lint_openapi::HELP,
        release_check::HELP,
        image::HELP,
        upgrade::HELP,
        bench::HELP,
    ]
    .concat()
}
