//! A private, throwaway PostgreSQL server started from the installed binaries (`initdb`
//! and `pg_ctl`) in a folder of its own, listening on a free loopback port.
//!
//! The tests, `cargo xtask pg start|stop|url` and `cargo xtask test` use it, so CI, the
//! benchmarks and a developer all get the same server. PostgreSQL refuses to run as
//! root: when this process is root, every PostgreSQL command runs through
//! `runuser -u postgres --` and the server's folder is handed to that user.
//!
//! ```no_run
//! let binaries = private_postgres::Binaries::find()?;
//! let dir = std::env::temp_dir().join("my-pg");
//! let server = private_postgres::PrivateServer::start(&binaries, &dir, &Default::default())?;
//! println!("{}", server.url("postgres"));
//! // Dropping `server` stops it and removes its folder.
//! # Ok::<(), private_postgres::Error>(())
//! ```

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The environment variable naming the folder of `initdb`, `pg_ctl` and `postgres`.
pub const BIN_ENV: &str = "ITAU_CODIGO_PG_BIN";

/// Where Debian and Ubuntu install the server binaries, one folder per major version.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// The user PostgreSQL runs as when this process is root.
const SERVICE_USER: &str = "postgres";

/// The superuser of a private server.
pub const SUPERUSER: &str = "postgres";

/// Why a private server could not be had.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No `initdb`/`pg_ctl` was found.
    #[error(
        "PostgreSQL server binaries not found (looked in {}); install them (Debian: apt-get install postgresql-15) or set {BIN_ENV}",
        .searched.join(", ")
    )]
    NotInstalled {
        /// The places looked at.
        searched: Vec<String>,
    },
    /// A PostgreSQL command failed.
    #[error("{command} failed ({status}): {output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed (and the server log's tail, for `pg_ctl start`).
        output: String,
    },
    /// A file operation failed.
    #[error("{action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The I/O error.
        source: io::Error,
    },
    /// No folder of a running server was found there.
    #[error("no private PostgreSQL server in {0} (start one with `cargo xtask pg start`)")]
    NotRunning(PathBuf),
}

/// The folder holding `initdb`, `pg_ctl` and `postgres`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// `$ITAU_CODIGO_PG_BIN`, else the newest `/usr/lib/postgresql/N/bin`, else the `PATH`.
    ///
    /// # Errors
    ///
    /// [`Error::NotInstalled`] when none of them holds `initdb` and `pg_ctl`.
    pub fn find() -> Result<Self, Error> {
        let mut searched = Vec::new();
        if let Some(dir) = std::env::var_os(BIN_ENV) {
            let dir = PathBuf::from(dir);
            if Self::complete(&dir) {
                return Ok(Self { dir });
            }
            // An explicit folder that does not hold the binaries is a mistake to report,
            // not a reason to pick another installation silently.
            return Err(Error::NotInstalled {
                searched: vec![format!("{BIN_ENV}={}", dir.display())],
            });
        }
        let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(DEBIAN_ROOT)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
                Some((major, entry.path().join("bin")))
            })
            .collect();
        versions.sort();
        searched.push(format!("{DEBIAN_ROOT}/*/bin"));
        if let Some((_, dir)) = versions.into_iter().rev().find(|(_, d)| Self::complete(d)) {
            return Ok(Self { dir });
        }
        searched.push("PATH".into());
        let on_path = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .unwrap_or_default();
        on_path
            .into_iter()
            .find(|dir| Self::complete(dir))
            .map(|dir| Self { dir })
            .ok_or(Error::NotInstalled { searched })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn complete(dir: &Path) -> bool {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|name| dir.join(name).is_file())
    }

    fn command(&self, name: &str) -> Command {
        let program = self.dir.join(name);
        if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", SERVICE_USER, "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

/// How to set up a private server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep `fsync` on (a benchmark of durable writes); off by default, since the data
    /// is thrown away and tests should not wait for the disk.
    pub fsync: bool,
    /// Certificate chain and key (PEM): the server then speaks TLS only, and refuses
    /// plain TCP connections (unless `plain_too`). Plain TCP only when `None`.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// With `tls`, accept plain TCP connections too, as a server with `ssl = on` and
    /// `host` lines in `pg_hba.conf` does (Debian's default cluster, for one).
    pub plain_too: bool,
}

/// A running private server. Dropping it stops the server and deletes its folder,
/// unless [`PrivateServer::detach`] was called.
pub struct PrivateServer {
    binaries: Binaries,
    root: PathBuf,
    port: u16,
    password: String,
    detached: bool,
}

impl fmt::Debug for PrivateServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateServer")
            .field("root", &self.root)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// The file in a server's folder that records how to reach it.
const STATE_FILE: &str = "server.state";

impl PrivateServer {
    /// Creates a cluster in `root` (which must not hold a running server; anything
    /// there is deleted) and starts it on a free loopback port, with a random password
    /// for the superuser [`SUPERUSER`].
    ///
    /// # Errors
    ///
    /// `root` cannot be prepared, or `initdb`/`pg_ctl` fail (the error carries their
    /// output and the server log's tail).
    pub fn start(binaries: &Binaries, root: &Path, options: &Options) -> Result<Self, Error> {
        let root = Self::empty_folder(binaries, root)?;
        let password = random_password()?;
        let password_file = root.join("password");
        fs::write(&password_file, format!("{password}\n")).map_err(io_error(format!(
            "cannot write {}",
            password_file.display()
        )))?;
        if running_as_root() {
            hand_over(&root)?;
        }
        let data = root.join("data");
        run(binaries
            .command("initdb")
            .arg("--pgdata")
            .arg(&data)
            .args([
                "--username",
                SUPERUSER,
                "--encoding",
                "UTF8",
                "--locale",
                "C",
            ])
            .args(["--auth-local", "trust", "--auth-host", "scram-sha-256"])
            .arg("--pwfile")
            .arg(&password_file)
            .arg("--no-sync"))?;
        fs::remove_file(&password_file).map_err(io_error(format!(
            "cannot remove {}",
            password_file.display()
        )))?;
        Self {
            binaries: binaries.clone(),
            root,
            port: 0,
            password,
            detached: false,
        }
        .start_on_a_free_port(options)
    }

    /// Configures the cluster in this folder for a free port and starts it. A free port
    /// can be taken by someone else between our probe and the server's bind: tries a few.
    fn start_on_a_free_port(mut self, options: &Options) -> Result<Self, Error> {
        let mut last_error = None;
        for _ in 0..5 {
            self.port = free_port()?;
            self.configure(options)?;
            match self.start_again() {
                Ok(()) => {
                    self.write_state()?;
                    return Ok(self);
                }
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::NotRunning(self.root.clone())))
    }

    /// Starts a hot standby of this server in `root` (anything there is deleted): a base
    /// backup taken with `pg_basebackup -R -X stream` (so that it streams the primary's
    /// WAL from then on), started read-only on a free loopback port. Its superuser and
    /// password are the primary's.
    ///
    /// # Errors
    ///
    /// `root` cannot be prepared, or `pg_basebackup`/`pg_ctl` fail.
    pub fn start_standby(&self, root: &Path) -> Result<Self, Error> {
        let root = Self::empty_folder(&self.binaries, root)?;
        if running_as_root() {
            hand_over(&root)?;
        }
        run(self
            .binaries
            .command("pg_basebackup")
            .arg("--dbname")
            .arg(format!(
                "host=127.0.0.1 port={} user={SUPERUSER} password={}",
                self.port, self.password
            ))
            .arg("--pgdata")
            .arg(root.join("data"))
            .args([
                "--write-recovery-conf",
                "--wal-method",
                "stream",
                "--no-sync",
            ]))?;
        // The copied postgresql.conf holds the primary's settings; the ones appended
        // for this folder (its port, its socket) win.
        Self {
            binaries: self.binaries.clone(),
            root,
            port: 0,
            password: self.password.clone(),
            detached: false,
        }
        .start_on_a_free_port(&Options::default())
    }

    /// The server whose folder is `root` (started by another process, e.g. `cargo xtask
    /// pg start`); it is left running when the value is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::NotRunning`] when `root` holds no server started by this crate.
    pub fn attach(binaries: &Binaries, root: &Path) -> Result<Self, Error> {
        let state = fs::read_to_string(root.join(STATE_FILE))
            .map_err(|_| Error::NotRunning(root.to_owned()))?;
        let mut lines = state.lines();
        let port = lines.next().and_then(|p| p.parse().ok());
        let password = lines.next();
        match (port, password) {
            (Some(port), Some(password)) => Ok(Self {
                binaries: binaries.clone(),
                root: root.to_owned(),
                port,
                password: password.to_owned(),
                detached: true,
            }),
            _ => Err(Error::NotRunning(root.to_owned())),
        }
    }

    /// The URL of `database` on this server, as the superuser (password included).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    /// The port the server listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The server's folder (the cluster is in `data/`, its log is `server.log`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stops the server (fast shutdown: open sessions are cut), keeping its data.
    ///
    /// # Errors
    ///
    /// `pg_ctl stop` failed.
    pub fn stop(&self) -> Result<(), Error> {
        Self::stop_folder(&self.binaries, &self.root)
    }

    /// Starts the stopped server again, on the same port with the same data.
    ///
    /// # Errors
    ///
    /// `pg_ctl start` failed; the error carries the server log's tail.
    pub fn start_again(&self) -> Result<(), Error> {
        let log = self.root.join("server.log");
        let result = run(self
            .binaries
            .command("pg_ctl")
            .arg("start")
            .arg("--pgdata")
            .arg(self.root.join("data"))
            .arg("--log")
            .arg(&log)
            .args(["--wait", "--timeout", "60", "--silent"]));
        result.map_err(|error| match error {
            Error::Command {
                command,
                status,
                output,
            } => Error::Command {
                command,
                status,
                output: format!("{output}\nserver log (tail):\n{}", tail(&log, 2_000)),
            },
            other => other,
        })
    }

    /// Leaves the server running after this value is dropped (stop it with
    /// [`PrivateServer::attach`] and [`PrivateServer::destroy`]).
    pub fn detach(mut self) {
        self.detached = true;
    }

    /// Stops the server and deletes its folder.
    ///
    /// # Errors
    ///
    /// The folder cannot be deleted (a failed stop is ignored: the server may be down).
    pub fn destroy(mut self) -> Result<(), Error> {
        self.detached = true;
        let _ = self.stop();
        fs::remove_dir_all(&self.root)
            .map_err(io_error(format!("cannot remove {}", self.root.display())))
    }

    /// `root`, emptied (a server left running there by an interrupted run is stopped
    /// first: it would hold its port and files) and resolved to an absolute path.
    fn empty_folder(binaries: &Binaries, root: &Path) -> Result<PathBuf, Error> {
        if root.exists() {
            let _ = Self::stop_folder(binaries, root);
            fs::remove_dir_all(root)
                .map_err(io_error(format!("cannot empty {}", root.display())))?;
        }
        fs::create_dir_all(root).map_err(io_error(format!("cannot create {}", root.display())))?;
        root.canonicalize()
            .map_err(io_error(format!("cannot resolve {}", root.display())))
    }

    fn stop_folder(binaries: &Binaries, root: &Path) -> Result<(), Error> {
        let data = root.join("data");
        if !data.join("postmaster.pid").exists() {
            return Ok(());
        }
        run(binaries
            .command("pg_ctl")
            .arg("stop")
            .arg("--pgdata")
            .arg(&data)
            .args(["--mode", "fast", "--wait", "--timeout", "60", "--silent"]))
    }

    /// Appends this run's settings to `postgresql.conf` (the last value of a setting wins).
    fn configure(&self, options: &Options) -> Result<(), Error> {
        let data = self.root.join("data");
        let mut settings = format!(
            "\n# private-postgres\nlisten_addresses = '127.0.0.1'\nport = {port}\n\
             unix_socket_directories = '{root}'\nmax_connections = 300\n\
             fsync = {fsync}\nsynchronous_commit = {fsync}\nfull_page_writes = {fsync}\n",
            port = self.port,
            root = self.root.display(),
            fsync = if options.fsync { "on" } else { "off" },
        );
        if let Some((cert, key)) = &options.tls {
            // The server insists that its key belongs to it and is private.
            for (source, name) in [(cert, "server.crt"), (key, "server.key")] {
                let target = data.join(name);
                fs::copy(source, &target).map_err(io_error(format!(
                    "cannot copy {} to {}",
                    source.display(),
                    target.display()
                )))?;
                set_mode(&target, 0o600)?;
                if running_as_root() {
                    hand_over(&target)?;
                }
            }
            settings
                .push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
            let hba = data.join("pg_hba.conf");
            let tcp = if options.plain_too { "host" } else { "hostssl" };
            fs::write(
                &hba,
                format!("local all all trust\n{tcp} all all 127.0.0.1/32 scram-sha-256\n"),
            )
            .map_err(io_error(format!("cannot write {}", hba.display())))?;
        }
        let conf = data.join("postgresql.conf");
        let mut text = fs::read_to_string(&conf)
            .map_err(io_error(format!("cannot read {}", conf.display())))?;
        text.push_str(&settings);
        fs::write(&conf, text).map_err(io_error(format!("cannot write {}", conf.display())))
    }

    fn write_state(&self) -> Result<(), Error> {
        let state = self.root.join(STATE_FILE);
        fs::write(&state, format!("{}\n{}\n", self.port, self.password))
            .map_err(io_error(format!("cannot write {}", state.display())))?;
        set_mode(&state, 0o600)
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        if !self.detached {
            let _ = self.stop();
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// Whether this process runs as root (PostgreSQL then needs another user).
fn running_as_root() -> bool {
    // The owner of /proc/self is the process's effective user: no libc (or unsafe) needed.
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Gives `path` (recursively for a folder) to the service user.
fn hand_over(path: &Path) -> Result<(), Error> {
    run(Command::new("chown")
        .arg("-R")
        .arg(format!("{SERVICE_USER}:"))
        .arg(path))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(io_error(format!("cannot chmod {}", path.display())))
}

fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(io_error("cannot find a free port".to_owned()))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(io_error("cannot find a free port".to_owned()))
}

fn random_password() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(io_error("cannot read /dev/urandom".to_owned()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn run(command: &mut Command) -> Result<(), Error> {
    let line = format!("{command:?}");
    let output: Output = command
        .output()
        .map_err(io_error(format!("cannot run {line}")))?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::Command {
        command: line,
        status: output.status.to_string(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .trim()
        .to_owned(),
    })
}

fn tail(path: &Path, bytes: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(bytes);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

fn io_error(action: String) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Io { action, source }
}
