//! The command line: `itau-codigo serve | import | conta | schema`. Every option but the
//! `--demo` and `--replace` flags also reads `ITAU_CODIGO_<NAME>`.

use std::io::{self, BufReader, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{ConfigError, Credentials, ServeConfig, StoreConfig, TlsFiles};
use crate::import::{ImportError, import};
use crate::startup::Application;
use crate::store::{DbLocation, Importer, PostgresImporter, SqliteImporter};
use crate::telemetry::{self, LogFormat};
use crate::throttle::ThrottleConfig;
use crate::{conta, demo};

/// Where the data lives unless `--db` says otherwise.
pub const DEFAULT_DB: &str = "sqlite:itau-codigo.db";

/// Exit status: the input was invalid (a bad code, bad data).
pub const EXIT_INVALID: u8 = 1;
/// Exit status: usage or environment error.
pub const EXIT_USAGE: u8 = 2;

/// Query customer information by account (chat_itau_codigo): the service and its tools.
#[derive(Debug, Parser)]
#[command(name = "itau-codigo", version, propagate_version = true)]
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
    /// Each line is {"codigo_conta": "<18 digits>", "data": {...}}; see the README for the
    /// fields. Bad lines are reported on stderr as `line N: path: code: message`.
    Import(ImportArgs),
    /// Check or build account codes (codigo_conta).
    #[command(subcommand)]
    Conta(ContaCommand),
    /// Write the JSON Schemas and openapi.json.
    Schema(SchemaArgs),
}

/// `serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (IP:PORT).
    #[arg(long, env = "ITAU_CODIGO_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Store: sqlite:PATH (or a bare path) or postgres://... The SQLite file must exist
    /// [default: sqlite:itau-codigo.db].
    #[arg(long, env = "ITAU_CODIGO_DB")]
    pub db: Option<String>,
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
    #[arg(long, env = "ITAU_CODIGO_CLIENT_TIMEOUT", default_value = "5", value_parser = parse_seconds)]
    pub client_timeout: Duration,
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
    #[arg(long, env = "ITAU_CODIGO_SHUTDOWN_TIMEOUT", default_value = "30", value_parser = parse_seconds)]
    pub shutdown_timeout: Duration,
    /// Most connections each worker serves at once; more wait in the listen backlog.
    #[arg(long, env = "ITAU_CODIGO_MAX_CONNECTIONS", default_value_t = 25_000)]
    pub max_connections: usize,
    /// Failed logins from one client address (each within --login-lockout of the
    /// previous) after which that address is refused, still with 401; 0 turns it off.
    #[arg(long, env = "ITAU_CODIGO_LOGIN_MAX_FAILURES", default_value_t = 10)]
    pub login_max_failures: u32,
    /// Seconds an address stays refused after its last failed login (and how long a
    /// failure counts).
    #[arg(long, env = "ITAU_CODIGO_LOGIN_LOCKOUT", default_value = "60", value_parser = parse_seconds)]
    pub login_lockout: Duration,
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
        default_value = "true",
        value_name = "BOOL",
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub docs: bool,
    /// Log filter (tracing EnvFilter syntax), e.g. info or itau_codigo=debug.
    #[arg(long, env = "ITAU_CODIGO_LOG", default_value = "info")]
    pub log: String,
}

/// `import` options.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The JSON Lines file, or - for standard input.
    pub file: PathBuf,
    /// Store: sqlite:PATH (or a bare path; created if missing) or postgres://...
    #[arg(long, env = "ITAU_CODIGO_DB", default_value = DEFAULT_DB)]
    pub db: String,
    /// Empty the store first (in the same transaction: readers see the old data until
    /// the import commits).
    #[arg(long)]
    pub replace: bool,
}

/// `conta` subcommands.
#[derive(Debug, Subcommand)]
pub enum ContaCommand {
    /// Check account codes: one line per code on stdout (the code, then ok or invalid),
    /// reasons on stderr. Spaces, dots, dashes and slashes are ignored.
    Check {
        /// The codes to check.
        #[arg(required = true)]
        codes: Vec<String>,
    },
    /// Build an account code from its parts and print its 18 digits; each part is
    /// left-padded with zeros, and the DAC is computed.
    Make {
        /// Empresa, 1 to 3 digits.
        #[arg(long, env = "ITAU_CODIGO_EMPRESA")]
        empresa: String,
        /// Banco, 1 to 3 digits.
        #[arg(long, env = "ITAU_CODIGO_BANCO")]
        banco: String,
        /// Agência, 1 to 4 digits.
        #[arg(long, env = "ITAU_CODIGO_AGENCIA")]
        agencia: String,
        /// Conta corrente, 1 to 7 digits.
        #[arg(long, env = "ITAU_CODIGO_CONTA")]
        conta: String,
    },
}

/// `schema` options.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Folder to write into (created if missing).
    #[arg(long, env = "ITAU_CODIGO_OUT", default_value = "schemas")]
    pub out: PathBuf,
}

fn parse_seconds(value: &str) -> Result<Duration, String> {
    let seconds: f64 = value
        .parse()
        .map_err(|_| format!("expected a number of seconds, found {value:?}"))?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!(
            "expected more than 0 and at most 86400 seconds, found {value}"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Runs a parsed command line and says how it ended.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Import(args) => import_command(&args),
        Command::Conta(ContaCommand::Check { codes }) => {
            conta::check(&codes, &mut io::stdout().lock(), &mut io::stderr().lock())
        }
        Command::Conta(ContaCommand::Make {
            empresa,
            banco,
            agencia,
            conta,
        }) => conta::make(
            &empresa,
            &banco,
            &agencia,
            &conta,
            &mut io::stdout().lock(),
            &mut io::stderr().lock(),
        ),
        Command::Schema(args) => schema(&args),
    }
}

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("itau-codigo: {message}");
    ExitCode::from(code)
}

fn serve(args: ServeArgs) -> ExitCode {
    let config = match serve_config(&args) {
        Ok(config) => config,
        Err(message) => return fail(EXIT_USAGE, message),
    };
    if let Err(error) = telemetry::init(args.log_format, &args.log, io::stderr) {
        return fail(EXIT_USAGE, format_args!("{error:#}"));
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
                println!("API reference: {base_url}{}", itau_codigo::schema::DOCS_PATH);
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
            fail(EXIT_USAGE, format_args!("{error:#}"))
        }
    }
}

/// Turns the flags and the environment into a configuration, refusing what the
/// contract refuses.
fn serve_config(args: &ServeArgs) -> Result<ServeConfig, ConfigError> {
    let store = if args.demo {
        // An exported ITAU_CODIGO_DB counts too: the demo must never be mistaken for
        // (or pointed at) a real store.
        if args.db.is_some() {
            return Err(ConfigError::DemoWithDb);
        }
        if !args.bind.ip().is_loopback() {
            return Err(ConfigError::DemoNotLoopback(args.bind));
        }
        StoreConfig::Demo
    } else {
        let db = args.db.as_deref().unwrap_or(DEFAULT_DB);
        StoreConfig::Db(DbLocation::parse(db).map_err(ConfigError::Db)?)
    };
    let credentials = Credentials::from_env(|name| std::env::var(name).ok(), args.demo)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    Ok(ServeConfig {
        bind: args.bind,
        store,
        workers: args.workers.map(usize::from),
        tls,
        credentials,
        client_timeout: args.client_timeout,
        shutdown_timeout: args.shutdown_timeout,
        max_connections: args.max_connections,
        login_throttle: ThrottleConfig {
            max_failures: args.login_max_failures,
            lockout: args.login_lockout,
        },
        docs: args.docs,
    })
}

fn import_command(args: &ImportArgs) -> ExitCode {
    let location = match DbLocation::parse(&args.db) {
        Ok(location) => location,
        Err(message) => return fail(EXIT_USAGE, message),
    };
    let (input, size): (Box<dyn io::BufRead>, Option<u64>) = if args.file.as_os_str() == "-" {
        (Box::new(io::stdin().lock()), None)
    } else {
        match std::fs::File::open(&args.file) {
            Ok(file) => {
                let size = file.metadata().ok().map(|m| m.len());
                (Box::new(BufReader::with_capacity(1 << 16, file)), size)
            }
            Err(error) => {
                return fail(
                    EXIT_USAGE,
                    format_args!("cannot open {}: {error}", args.file.display()),
                );
            }
        }
    };
    // A SQLite file this import creates is removed again if the import writes nothing,
    // so that a failed first import cannot leave an empty store for `serve` to answer from.
    let created = match &location {
        DbLocation::SqliteFile(path) => (!path.exists()).then(|| path.clone()),
        DbLocation::Postgres(_) => None,
    };
    let opened: Result<Box<dyn Importer>, _> = match &location {
        DbLocation::SqliteFile(path) => {
            SqliteImporter::create_or_open(path).map(|i| Box::new(i) as _)
        }
        DbLocation::Postgres(url) => PostgresImporter::connect(url).map(|i| Box::new(i) as _),
    };
    let mut importer = match opened {
        Ok(importer) => importer,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    let progress = progress_bar(size);
    let mut stderr = io::stderr();
    let result = import(
        input,
        importer.as_mut(),
        args.replace,
        &mut stderr,
        &progress,
    );
    progress.finish_and_clear();
    drop(importer);
    if let (Err(_), Some(path)) = (&result, &created) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }
    match result {
        Ok(report) => {
            eprintln!(
                "imported {} records from {} lines into {location} in {:.2} s ({:.0} records/s)",
                report.records,
                report.lines,
                report.elapsed.as_secs_f64(),
                report.rate()
            );
            ExitCode::SUCCESS
        }
        Err(error @ ImportError::BadData(_)) => fail(EXIT_INVALID, error),
        Err(error) => fail(EXIT_USAGE, error),
    }
}

fn progress_bar(size: Option<u64>) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match size {
        Some(size) => {
            let bar = ProgressBar::new(size);
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        }
        None => ProgressBar::new_spinner(),
    }
}

fn schema(args: &SchemaArgs) -> ExitCode {
    if let Err(error) = std::fs::create_dir_all(&args.out) {
        return fail(
            EXIT_USAGE,
            format_args!("cannot create {}: {error}", args.out.display()),
        );
    }
    for (name, text) in itau_codigo::schema::documents() {
        let path = args.out.join(name);
        if let Err(error) = std::fs::write(&path, text) {
            return fail(
                EXIT_USAGE,
                format_args!("cannot write {}: {error}", path.display()),
            );
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
}
