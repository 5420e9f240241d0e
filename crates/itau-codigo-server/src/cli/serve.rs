//! `itau-codigo serve`: the flags and the environment become a [`ServeConfig`], then the
//! application runs until it is told to stop.

use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::DbArg;
use super::db_arg::warn_if_weak_tls;
use crate::auth::{Credentials, ThrottleConfig};
use crate::client::TrustedProxies;
use crate::config::{
    ConfigError, DEFAULT_BIND, DEFAULT_CLIENT_TIMEOUT, DEFAULT_DB, DEFAULT_DOCS,
    DEFAULT_DRAIN_PERIOD, DEFAULT_LOG, DEFAULT_LOGIN_LOCKOUT, DEFAULT_LOGIN_MAX_FAILURES,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_READINESS_INTERVAL, DEFAULT_SHUTDOWN_TIMEOUT,
    DEFAULT_SQLITE_MMAP, ServeConfig, StoreConfig, TlsFiles, default_db,
};
use crate::demo;
use crate::exit::{EXIT_USAGE, fail};
use crate::otel::TracingConfig;
use crate::startup::Application;
use crate::store::{DbLocation, SqliteReads};
use crate::telemetry::{self, LogFormat};

/// `serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (IP:PORT).
    #[arg(long, env = "ITAU_CODIGO_BIND", default_value_t = DEFAULT_BIND)]
    pub bind: SocketAddr,
    // Not a clap default: `--demo` must tell an explicit `--db` (or `ITAU_CODIGO_DB`)
    // from none, so the default is applied in `ServeArgs::config` and only shown here.
    #[arg(
        long,
        env = "ITAU_CODIGO_DB",
        hide_env_values = true,
        help = concat!(
            "Store: sqlite:PATH (or a bare path) or postgres://... The SQLite file must exist [default: ",
            default_db!(),
            "]"
        )
    )]
    pub db: Option<DbArg>,
    /// Worker threads [default: one per CPU core].
    #[arg(long, env = "ITAU_CODIGO_WORKERS", value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,
    /// Serve the shipped demo data from memory, on loopback, with credentials demo/demo
    /// unless the environment sets others.
    #[arg(long)]
    pub demo: bool,
    /// TLS certificate chain (PEM); with --tls-key the service speaks HTTPS.
    #[arg(long, env = "ITAU_CODIGO_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "ITAU_CODIGO_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds a client may take to send its request head, and then its body (408 after).
    #[arg(long, env = "ITAU_CODIGO_CLIENT_TIMEOUT", default_value_t = Seconds(DEFAULT_CLIENT_TIMEOUT), value_parser = Seconds::parse)]
    pub client_timeout: Seconds,
    /// Seconds after SIGTERM during which /readyz fails (503) while requests are still
    /// answered, each with Connection: close, so that load balancers take the replica
    /// out first; 0 skips it, and SIGINT always does.
    #[arg(long, env = "ITAU_CODIGO_DRAIN_PERIOD", default_value_t = Seconds(DEFAULT_DRAIN_PERIOD), value_parser = Seconds::parse_or_zero)]
    pub drain_period: Seconds,
    /// Seconds in-flight requests get to finish once the listener has closed (after the
    /// drain, or at once on SIGINT).
    #[arg(long, env = "ITAU_CODIGO_SHUTDOWN_TIMEOUT", default_value_t = Seconds(DEFAULT_SHUTDOWN_TIMEOUT), value_parser = Seconds::parse)]
    pub shutdown_timeout: Seconds,
    /// Most connections each worker serves at once; more wait in the listen backlog.
    #[arg(long, env = "ITAU_CODIGO_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Failed logins from one client address (each within --login-lockout of the
    /// previous) after which that address is refused, still with 401; 0 turns it off.
    #[arg(long, env = "ITAU_CODIGO_LOGIN_MAX_FAILURES", default_value_t = DEFAULT_LOGIN_MAX_FAILURES)]
    pub login_max_failures: u32,
    /// Seconds an address stays refused after its last failed login (and how long a
    /// failure counts).
    #[arg(long, env = "ITAU_CODIGO_LOGIN_LOCKOUT", default_value_t = Seconds(DEFAULT_LOGIN_LOCKOUT), value_parser = Seconds::parse)]
    pub login_lockout: Seconds,
    /// Gateways and load balancers whose X-Forwarded-For / Forwarded headers say who the
    /// client is (CIDR[,CIDR...]); other peers' forwarding headers are ignored.
    #[arg(
        long,
        env = "ITAU_CODIGO_TRUSTED_PROXIES",
        value_name = "CIDR[,CIDR...]",
        default_value = ""
    )]
    pub trusted_proxies: TrustedProxies,
    /// Log format.
    #[arg(
        long,
        env = "ITAU_CODIGO_LOG_FORMAT",
        value_enum,
        default_value = "auto"
    )]
    pub log_format: LogFormat,
    /// Serve the interactive API reference at /docs (true or false, also 1/0, yes/no).
    #[arg(
        long,
        env = "ITAU_CODIGO_DOCS",
        default_value_t = DEFAULT_DOCS,
        value_name = "BOOL",
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub docs: bool,
    /// Read a SQLite store through a memory map of its file: less CPU per lookup, but
    /// the file must never be truncated or copied over in place while served (that
    /// kills the server); see OPERATIONS.md (true or false, also 1/0, yes/no).
    #[arg(
        long,
        env = "ITAU_CODIGO_SQLITE_MMAP",
        default_value_t = DEFAULT_SQLITE_MMAP,
        value_name = "BOOL",
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub sqlite_mmap: bool,
    /// Log filter (tracing EnvFilter syntax), e.g. info or itau_codigo=debug.
    #[arg(long, env = "ITAU_CODIGO_LOG", default_value = DEFAULT_LOG)]
    pub log: String,
}

/// A duration given on the command line as a number of seconds (fractions allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl Seconds {
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let seconds: f64 = value
            .parse()
            .map_err(|_| format!("expected a number of seconds, found {value:?}"))?;
        if !(seconds > 0.0 && seconds <= 86_400.0) {
            return Err(format!(
                "expected more than 0 and at most 86400 seconds, found {value}"
            ));
        }
        Ok(Self(Duration::from_secs_f64(seconds)))
    }
}

impl Seconds {
    /// As [`Seconds::parse`], 0 allowed (it turns the option off).
    pub(crate) fn parse_or_zero(value: &str) -> Result<Self, String> {
        match value.parse::<f64>() {
            Ok(0.0) => Ok(Self(Duration::ZERO)),
            _ => Self::parse(value),
        }
    }
}

impl fmt::Display for Seconds {
    /// As typed: `5`, `0.5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_secs_f64())
    }
}

pub(super) fn run(args: ServeArgs) -> ExitCode {
    let config = match args.config(|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(message) => return fail(EXIT_USAGE, message),
    };
    let logs = match telemetry::init(args.log_format, &args.log, io::stderr()) {
        Ok(guard) => guard,
        Err(error) => return fail(EXIT_USAGE, format_args!("{error:#}")),
    };
    if let StoreConfig::Db(location) = &config.store {
        warn_if_weak_tls(location);
    }
    let result = actix_web::rt::System::new().block_on(async move {
        let application = Application::build(&config)?;
        let scheme = if application.https() { "https" } else { "http" };
        let base_url = format!("{scheme}://{}", application.address());
        tracing::info!(address = %application.address(), store = application.store_description(), "serving");
        if args.demo {
            println!("itau-codigo demo: serving {} synthetic customers on {base_url}", demo::DATA.lines().count());
            println!("try:\n  {}", demo::curl_command(&base_url, config.credentials.username(), config.credentials.password_source()));
            if config.docs {
                println!("API reference: {base_url}{}", crate::paths::DOCS_PATH);
            }
            let _ = io::stdout().flush();
        }
        application.run_until_stopped().await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "cannot serve");
            // The log line first, then the message: both go to stderr.
            logs.flush();
            fail(EXIT_USAGE, format_args!("{error:#}"))
        }
    }
}

impl ServeArgs {
    /// Turns the flags and the environment (`env`, read for the credentials and the
    /// traces) into a configuration, refusing what the contract refuses. Pub for the
    /// engines bench, which serves this very configuration over another store.
    ///
    /// # Errors
    ///
    /// What the contract refuses: `--demo` with a store or off loopback, a bad store
    /// location, missing or weak credentials, a bad traces setting.
    pub fn config(&self, env: impl Fn(&str) -> Option<String>) -> Result<ServeConfig, ConfigError> {
        let store = if self.demo {
            // An exported ITAU_CODIGO_DB counts too: the demo must never be mistaken for
            // (or pointed at) a real store.
            if self.db.is_some() {
                return Err(ConfigError::DemoWithDb);
            }
            if !self.bind.ip().is_loopback() {
                return Err(ConfigError::DemoNotLoopback(self.bind));
            }
            StoreConfig::Demo
        } else {
            let location = match &self.db {
                Some(db) => db.location(),
                None => DbLocation::parse(DEFAULT_DB),
            };
            StoreConfig::Db(location.map_err(ConfigError::Db)?)
        };
        let credentials = Credentials::from_env(&env, self.demo)?;
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        };
        Ok(ServeConfig {
            bind: self.bind,
            store,
            workers: self.workers.map(usize::from),
            tls,
            credentials,
            client_timeout: self.client_timeout.0,
            drain_period: self.drain_period.0,
            shutdown_timeout: self.shutdown_timeout.0,
            max_connections: self.max_connections,
            login_throttle: ThrottleConfig {
                max_failures: self.login_max_failures,
                lockout: self.login_lockout.0,
                ..ThrottleConfig::default()
            },
            trusted_proxies: self.trusted_proxies.clone(),
            docs: self.docs,
            readiness_interval: DEFAULT_READINESS_INTERVAL,
            tracing: TracingConfig::from_env(&env)?,
            sqlite_reads: SqliteReads::from_mmap(self.sqlite_mmap),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_take_fractions_and_refuse_zero_and_more_than_a_day() {
        assert_eq!(
            Seconds::parse("0.5"),
            Ok(Seconds(Duration::from_millis(500)))
        );
        assert_eq!(Seconds(Duration::from_millis(500)).to_string(), "0.5");
        assert!(Seconds::parse("0").is_err());
        assert!(Seconds::parse("86401").is_err());
        assert!(Seconds::parse("five").is_err());
        assert_eq!(Seconds::parse_or_zero("0"), Ok(Seconds(Duration::ZERO)));
        assert_eq!(
            Seconds::parse_or_zero("2.5"),
            Ok(Seconds(Duration::from_millis(2_500)))
        );
        assert!(Seconds::parse_or_zero("-1").is_err());
    }
}
