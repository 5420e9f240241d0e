//! `cargo xtask pg start|stop|url` and `cargo xtask test`: a private PostgreSQL server
//! for the tests and the benchmarks (see the `private-postgres` crate).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use private_postgres::{Binaries, Options, PrivateServer};

/// The variable the tests read the server's URL from (its `postgres` database, as the
/// superuser; each test creates a database of its own).
pub(crate) const URL_ENV: &str = "ITAU_CODIGO_TEST_PG_URL";
/// Set to 1, the PostgreSQL tests fail instead of skipping when they have no server.
pub(crate) const REQUIRE_ENV: &str = "ITAU_CODIGO_TEST_REQUIRE_PG";

/// `cargo xtask pg start [--fsync] [--dir DIR]`: (re)creates and starts a server that
/// outlives this command, and prints `export ITAU_CODIGO_TEST_PG_URL=...` for `eval`.
pub(crate) fn start(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let (dir, rest) = dir_option(root, args)?;
    let fsync = match rest.as_slice() {
        [] => false,
        ["--fsync"] => true,
        other => bail!("unexpected arguments {other:?}"),
    };
    let binaries = Binaries::find()?;
    let server = PrivateServer::start(
        &binaries,
        &dir,
        &Options {
            fsync,
            ..Options::default()
        },
    )?;
    eprintln!(
        "private PostgreSQL ({}) running on 127.0.0.1:{} from {} (fsync {}); stop it with `cargo xtask pg stop`",
        binaries.dir().display(),
        server.port(),
        server.root().display(),
        if fsync { "on" } else { "off" },
    );
    println!("export {URL_ENV}='{}'", server.url("postgres"));
    server.detach();
    Ok(())
}

/// `cargo xtask pg url [--dir DIR]`: the running server's URL.
pub(crate) fn url(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let (dir, rest) = dir_option(root, args)?;
    if !rest.is_empty() {
        bail!("unexpected arguments {rest:?}");
    }
    let server = PrivateServer::attach(&Binaries::find()?, &dir)?;
    println!("{}", server.url("postgres"));
    Ok(())
}

/// `cargo xtask pg stop [--dir DIR]`: stops the server and deletes its folder.
pub(crate) fn stop(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let (dir, rest) = dir_option(root, args)?;
    if !rest.is_empty() {
        bail!("unexpected arguments {rest:?}");
    }
    PrivateServer::attach(&Binaries::find()?, &dir)?.destroy()?;
    eprintln!("stopped the private PostgreSQL in {}", dir.display());
    Ok(())
}

/// `cargo xtask test [ARGS]`: `cargo test --workspace ARGS` with a private server
/// started for the run and stopped after it, so both stores are tested.
pub(crate) fn test(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    test_with_env(root, args, &[])
}

/// [`test`] with more variables set for the tests.
pub(crate) fn test_with_env(
    root: &Path,
    args: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
) -> anyhow::Result<()> {
    let server = match Binaries::find() {
        Ok(binaries) => {
            let dir = target_dir(root).join("private-postgres-test");
            let server = PrivateServer::start(&binaries, &dir, &Options::default())
                .context("starting the private PostgreSQL for the tests")?;
            eprintln!(
                "== private PostgreSQL on 127.0.0.1:{} ({})",
                server.port(),
                binaries.dir().display()
            );
            Some((binaries, server))
        }
        Err(error) if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") => {
            bail!("{REQUIRE_ENV}=1 but {error}")
        }
        Err(error) => {
            eprintln!("{}", skip_banner(&error));
            None
        }
    };
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(root)
        .args(["test", "--workspace"])
        .args(args)
        .envs(env.iter().copied());
    match &server {
        Some((binaries, server)) => {
            command
                .env(URL_ENV, server.url("postgres"))
                .env(REQUIRE_ENV, "1")
                .env(private_postgres::BIN_ENV, binaries.dir());
        }
        None => {
            command.env_remove(URL_ENV);
        }
    }
    let status = command.status().context("running cargo test")?;
    drop(server);
    if let Err(error) = Binaries::find() {
        eprintln!("{}", skip_banner(&error));
    }
    if !status.success() {
        bail!("cargo test failed ({status})");
    }
    Ok(())
}

fn skip_banner(error: &private_postgres::Error) -> String {
    let line = "!".repeat(78);
    format!("{line}\n!! PostgreSQL tests SKIPPED: {error}\n{line}")
}

/// `--dir DIR` (default: the target folder's `private-postgres`) and the other arguments.
fn dir_option<'a>(root: &Path, args: &[&'a str]) -> anyhow::Result<(PathBuf, Vec<&'a str>)> {
    let mut dir = None;
    let mut rest = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if *arg == "--dir" {
            let value = args.next().context("--dir needs a folder")?;
            dir = Some(PathBuf::from(value));
        } else {
            rest.push(*arg);
        }
    }
    Ok((
        dir.unwrap_or_else(|| target_dir(root).join("private-postgres")),
        rest,
    ))
}

pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}
