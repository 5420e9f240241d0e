//! The command line: `itau-codigo serve | import | migrate | conta | schema | completions |
//! health`, one module per command. Every option but the `--demo` and `--replace` flags
//! also reads `ITAU_CODIGO_<NAME>`.

mod completions;
mod conta;
mod db_arg;
mod health;
mod import;
mod migrate;
mod schema;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use completions::CompletionsArgs;
pub use conta::ContaCommand;
pub use db_arg::DbArg;
pub use health::{HealthArgs, HttpUrl};
pub use import::ImportArgs;
pub use migrate::MigrateArgs;
pub use schema::SchemaArgs;
pub use serve::{Seconds, ServeArgs};

/// The package version, which the man pages carry (they must not change with every
/// commit).
pub const PACKAGE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `--version` prints after the name: the package version and the commit the
/// binary was built from (`build.rs`), e.g. `0.1.0 (commit 1a2b3c4d5e6f)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ITAU_CODIGO_COMMIT"),
    ")"
);

/// Query customer information by account (chat_itau_codigo): the service and its tools.
#[derive(Debug, Parser)]
#[command(name = "itau-codigo", version = VERSION, propagate_version = true)]
#[command(
    after_help = "Exit status: 0 success, 1 invalid input (a bad code, bad data), 2 usage or environment error."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API over HTTP (or HTTPS with --tls-cert and --tls-key).
    ///
    /// Credentials come only from the environment: ITAU_CODIGO_USERNAME and
    /// ITAU_CODIGO_PASSWORD (or ITAU_CODIGO_PASSWORD_FILE, one trailing newline stripped).
    #[command(
        after_help = "Try it: itau-codigo serve --demo   (loopback only; credentials demo/demo)"
    )]
    Serve(ServeArgs),
    /// Import customers from JSON Lines (a file, or - for stdin): every line or none.
    ///
    /// Each line is {"codigo_conta": "<18 digits>", "data": {...}}; see OPERATIONS.md for
    /// the fields. Bad lines are reported on stderr as `line N: path: code: message`.
    Import(ImportArgs),
    /// Bring a store to this binary's schema (serve never migrates; import does first).
    ///
    /// Re-renders the stored records when the stored format changed. One transaction:
    /// readers see the old store until it commits.
    Migrate(MigrateArgs),
    /// Check or build account codes (codigo_conta).
    #[command(subcommand)]
    Conta(ContaCommand),
    /// Write the JSON Schemas and openapi.json.
    Schema(SchemaArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    Completions(CompletionsArgs),
    /// Check a running service over HTTP: exit 0 when the URL answers 200, 1 otherwise.
    ///
    /// Made for container health checks (a FROM scratch image has no curl). Plain HTTP
    /// only; it sends no credentials.
    Health(HealthArgs),
}

/// Runs a parsed command line and says how it ended.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Import(args) => import::run(&args),
        Command::Migrate(args) => migrate::run(&args),
        Command::Conta(command) => conta::run(command),
        Command::Schema(args) => schema::run(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Health(args) => health::run(&args),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::config::{
        DEFAULT_BIND, DEFAULT_CLIENT_TIMEOUT, DEFAULT_DRAIN_PERIOD, DEFAULT_LOG,
        DEFAULT_LOGIN_LOCKOUT, DEFAULT_LOGIN_MAX_FAILURES, DEFAULT_MAX_CONNECTIONS,
        DEFAULT_SHUTDOWN_TIMEOUT,
    };

    #[test]
    fn clap_applies_the_configured_defaults() {
        let Command::Serve(args) = Cli::try_parse_from(["itau-codigo", "serve"])
            .unwrap()
            .command
        else {
            panic!("not serve");
        };
        assert_eq!(args.bind, DEFAULT_BIND);
        assert_eq!(args.client_timeout, Seconds(DEFAULT_CLIENT_TIMEOUT));
        assert_eq!(args.drain_period, Seconds(DEFAULT_DRAIN_PERIOD));
        assert_eq!(args.shutdown_timeout, Seconds(DEFAULT_SHUTDOWN_TIMEOUT));
        assert_eq!(args.login_lockout, Seconds(DEFAULT_LOGIN_LOCKOUT));
        assert_eq!(args.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(args.login_max_failures, DEFAULT_LOGIN_MAX_FAILURES);
        assert_eq!(args.log, DEFAULT_LOG);
        assert_eq!(args.db, None);
    }
}
