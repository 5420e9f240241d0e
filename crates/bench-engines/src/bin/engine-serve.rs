//! Benchmark only: `itau-codigo serve` with LMDB, redb or a hash map in memory in place
//! of the SQLite store, so that `cargo xtask bench --engine` measures each engine serving
//! real requests through the real application, in the same rounds as the service.
//!
//! It takes the options of `itau-codigo serve` (the same parsing, the same environment)
//! and `--engine`; `--db` names the SQLite file the engine's copy is made from.

use std::io;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use itau_codigo_bench_engines::{EngineKind, EngineStore, copy_of_sqlite};
use itau_codigo_server::cli::ServeArgs;
use itau_codigo_server::config::StoreConfig;
use itau_codigo_server::startup::Application;
use itau_codigo_server::store::DbLocation;
use itau_codigo_server::telemetry;

/// `itau-codigo serve` over another engine's copy of a SQLite store (benchmark only).
#[derive(Debug, Parser)]
#[command(name = "engine-serve")]
struct Cli {
    /// The engine that answers, from its copy of the SQLite store --db names.
    #[arg(long, value_enum)]
    engine: Served,
    #[command(flatten)]
    serve: ServeArgs,
}

/// The engines served here (SQLite is served by `itau-codigo serve` itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Served {
    Lmdb,
    Redb,
    InMemory,
}

impl From<Served> for EngineKind {
    fn from(served: Served) -> Self {
        match served {
            Served::Lmdb => Self::Lmdb,
            Served::Redb => Self::Redb,
            Served::InMemory => Self::InMemory,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match serve(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("engine-serve: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn serve(cli: &Cli) -> anyhow::Result<()> {
    let config = cli.serve.config(|name| std::env::var(name).ok())?;
    let _logs = telemetry::init(cli.serve.log_format, &cli.serve.log, io::stderr())?;
    let StoreConfig::Db(DbLocation::SqliteFile(sqlite)) = &config.store else {
        bail!("--engine copies a SQLite store: --db must name a SQLite file");
    };
    let kind = EngineKind::from(cli.engine);
    let engine = copy_of_sqlite(kind, sqlite)
        .with_context(|| format!("cannot copy {} into {}", sqlite.display(), kind.name()))?;
    let store = Arc::new(EngineStore::new(
        engine,
        format!("{} (a copy of {})", kind.name(), sqlite.display()),
    ));
    actix_web::rt::System::new().block_on(async move {
        let application = Application::build_with_store(&config, store)?;
        tracing::info!(address = %application.address(), store = application.store_description(), "serving");
        application.run_until_stopped().await?;
        anyhow::Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_is_one_of_lmdb_redb_in_memory_beside_the_serve_options() {
        let cli = Cli::try_parse_from([
            "engine-serve",
            "--engine",
            "in-memory",
            "--db",
            "sqlite:/tmp/x.db",
            "--workers",
            "2",
        ])
        .unwrap();
        assert_eq!(cli.engine, Served::InMemory);
        assert_eq!(cli.serve.workers, Some(2));
        for engine in ["sqlite", "postgres", ""] {
            let parsed = Cli::try_parse_from(["engine-serve", "--engine", engine]);
            assert!(parsed.is_err(), "{engine}");
        }
        assert!(Cli::try_parse_from(["engine-serve", "--db", "x.db"]).is_err());
    }
}
