//! `cargo xtask image [--test]`: the statically linked release binary, then the
//! `Containerfile` image `localhost/itau-codigo:latest` (podman, or docker where a
//! daemon answers); with `--test`, the image run as an operator would run it, then as
//! the Kubernetes manifests run it (`kubernetes.rs`, which `main.rs` calls after this
//! test; podman only: the image is built already, so that costs only the pods' start
//! and stop).
//!
//! The build context is `target/container/` (the binary, `tools/containers/passwd` and
//! `group`, an empty `data/`), not the repository: sending the whole `target/` to the
//! engine would cost minutes. Podman gets `tools/containers/containers.conf` as
//! `CONTAINERS_CONF` (unless one is set): runc and ulimits of at most 20000, which
//! these machines need (STACK.md); builds use `--isolation chroot`.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

pub(crate) const HELP: &str = "\
  image [--test]      build the static release binary and the container image
                      localhost/itau-codigo:latest from Containerfile (podman, installed
                      with apt-get when missing, or docker where a daemon runs); with
                      --test, then run it on a store imported on the host and check a
                      consulta, /readyz, the HEALTHCHECK and a clean stop on SIGTERM;
                      then import into a private TLS PostgreSQL from the image and
                      serve from it; then `podman kube play` deploy/kubernetes (the
                      import job's pod and the Deployment, on a private PostgreSQL)
";

pub(crate) const IMAGE: &str = "localhost/itau-codigo:latest";

/// The user the image runs as (Containerfile's `USER`).
pub(crate) const CONTAINER_USER: u32 = 10001;
/// The API password's file under the secrets mount, `/run/secrets/` in the container.
const PASSWORD_FILE_NAME: &str = "itau-codigo-password";
/// The build machine's CA bundle (Debian's `ca-certificates`), copied into the image.
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Builds the image; with `--test`, runs it end to end and returns the engine that did,
/// so that the caller runs the Kubernetes manifests on the same image.
pub(crate) fn run(root: &Path, args: &[&str]) -> anyhow::Result<Option<Engine>> {
    let mut test = false;
    for arg in args {
        match *arg {
            "--test" => test = true,
            other => bail!("unknown image option {other:?}\n\n{HELP}"),
        }
    }
    let engine = Engine::find(root)?;
    let binary = build_static_binary(root)?;
    let revision = revision(&binary)?;
    let context = prepare_context(root, &binary)?;
    let started = Instant::now();
    let previous = engine.output(&["image", "inspect", "--format", "{{.Id}}", IMAGE]);
    engine.build(root, &context, &revision)?;
    // The image this one replaced is left untagged: remove it (only it; others'
    // images on a shared machine are none of our business).
    if let Ok(previous) = previous
        && engine
            .output(&["image", "inspect", "--format", "{{.Id}}", IMAGE])
            .ok()
            != Some(previous.clone())
    {
        let _ = engine.output(&["rmi", &previous]);
    }
    let size = engine.image_size()?;
    eprintln!(
        "image: {IMAGE} built with {} in {:.0} s, {:.1} MB (commit {revision})",
        engine.program,
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    if !test {
        return Ok(None);
    }
    container_test(root, &engine, &binary)?;
    Ok(Some(engine))
}

/// The container engine and how to call it.
pub(crate) struct Engine {
    program: &'static str,
    containers_conf: Option<PathBuf>,
}

impl Engine {
    /// What a container (or a pod's container) wrote, stdout then stderr; empty when
    /// the engine cannot say.
    pub(crate) fn logs(&self, container: &str) -> String {
        self.command()
            .args(["logs", container])
            .output()
            .map(|output| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                )
            })
            .unwrap_or_default()
    }

    fn find(root: &Path) -> anyhow::Result<Self> {
        let podman = || Self {
            program: "podman",
            containers_conf: std::env::var_os("CONTAINERS_CONF")
                .is_none()
                .then(|| root.join("tools/containers/containers.conf")),
        };
        if succeeds(Command::new("podman").arg("--version")) {
            return Ok(podman());
        }
        if succeeds(Command::new("docker").arg("info")) {
            return Ok(Self {
                program: "docker",
                containers_conf: None,
            });
        }
        // As `bench` does for wrk: install the distribution's package when we can.
        eprintln!("image: no podman and no docker daemon; apt-get install -y podman runc");
        let apt_get = |args: &[&str]| {
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        };
        let packages = ["install", "-y", "-q", "podman", "runc"];
        let installed = apt_get(&packages) || (apt_get(&["update", "-q"]) && apt_get(&packages));
        if !installed || !succeeds(Command::new("podman").arg("--version")) {
            bail!(
                "no container engine: install podman and runc (`apt-get install -y podman runc`) or start a docker daemon, and re-run"
            );
        }
        Ok(podman())
    }

    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(self.program);
        if let Some(conf) = &self.containers_conf {
            command.env("CONTAINERS_CONF", conf);
        }
        command
    }

    pub(crate) fn is_podman(&self) -> bool {
        self.program == "podman"
    }

    fn build(&self, root: &Path, context: &Path, revision: &str) -> anyhow::Result<()> {
        let mut command = self.command();
        command.arg("build");
        if self.is_podman() {
            // The OCI format has no HEALTHCHECK; chroot isolation works here (STACK.md);
            // without layers no intermediate image is left behind.
            command.args([
                "--format",
                "docker",
                "--isolation",
                "chroot",
                "--layers=false",
            ]);
        }
        command
            .arg("-f")
            .arg(root.join("Containerfile"))
            .args(["-t", IMAGE])
            .arg("--build-arg")
            .arg(format!(
                "VERSION={}",
                itau_codigo_server::cli::PACKAGE_VERSION
            ))
            .arg("--build-arg")
            .arg(format!("REVISION={revision}"))
            .arg(context);
        eprintln!("image: {} build -t {IMAGE}", self.program);
        let status = command
            .status()
            .with_context(|| format!("cannot run {}", self.program))?;
        ensure!(status.success(), "{} build failed ({status})", self.program);
        Ok(())
    }

    fn image_size(&self) -> anyhow::Result<u64> {
        let size = self.output(&["image", "inspect", "--format", "{{.Size}}", IMAGE])?;
        size.parse()
            .with_context(|| format!("image inspect printed {size:?} as the size"))
    }

    /// Runs `ARGS`, fails unless it succeeds, and returns its trimmed stdout.
    pub(crate) fn output(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self
            .command()
            .args(args)
            .output()
            .with_context(|| format!("cannot run {}", self.program))?;
        ensure!(
            output.status.success(),
            "{} {} failed ({}): {}",
            self.program,
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }
}

fn succeeds(command: &mut Command) -> bool {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `cargo build --release` for the host's glibc target with the C runtime linked in
/// (`+crt-static`): scratch has no loader and no libc. `--target` keeps the flag off
/// build scripts and proc macros, and the artifacts apart from ordinary release ones.
fn build_static_binary(root: &Path) -> anyhow::Result<PathBuf> {
    let host = host_triple()?;
    ensure!(
        host.ends_with("-linux-gnu"),
        "a static build needs a *-linux-gnu host, this is {host}"
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let rustflags = match std::env::var("RUSTFLAGS") {
        Ok(flags) if !flags.trim().is_empty() => format!("{flags} -C target-feature=+crt-static"),
        _ => "-C target-feature=+crt-static".to_owned(),
    };
    eprintln!(
        "image: RUSTFLAGS=\"{rustflags}\" cargo build --release --target {host} (itau-codigo)"
    );
    let output = Command::new(cargo)
        .current_dir(root)
        .env("RUSTFLAGS", rustflags)
        .args(["build", "--release", "--locked", "--target", &host])
        .args(["-p", "itau-codigo-server", "--bin", "itau-codigo"])
        .arg("--message-format=json-render-diagnostics")
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo build")?;
    ensure!(output.status.success(), "cargo build failed");
    let binary = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|message| {
            let named = message.pointer("/target/name")? == "itau-codigo";
            let executable = message.get("executable")?.as_str()?;
            named.then(|| PathBuf::from(executable))
        })
        .context("cargo build made no itau-codigo binary")?;
    ensure!(
        !has_interpreter(&fs::read(&binary)?)?,
        "{} is dynamically linked (it names a loader); a FROM scratch image cannot run it",
        binary.display()
    );
    Ok(binary)
}

fn host_triple() -> anyhow::Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .arg("-vV")
        .output()
        .context("cannot run rustc -vV")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV printed no host line")
}

/// Whether a 64-bit little-endian ELF file asks for a program interpreter (`PT_INTERP`),
/// i.e. is dynamically linked.
fn has_interpreter(elf: &[u8]) -> anyhow::Result<bool> {
    const PT_INTERP: u32 = 3;
    ensure!(
        elf.len() >= 64 && elf.starts_with(b"\x7fELF\x02\x01"),
        "not a 64-bit little-endian ELF file"
    );
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let program_headers = u64::from_le_bytes(elf[0x20..0x28].try_into()?) as usize;
    let (entry_size, entries) = (u16_at(0x36), u16_at(0x38));
    for index in 0..entries {
        let at = program_headers + index * entry_size;
        let kind = elf.get(at..at + 4).context("truncated program headers")?;
        if u32::from_le_bytes(kind.try_into()?) == PT_INTERP {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The commit the binary says it was built from (`itau-codigo 0.1.0 (commit X)`).
fn revision(binary: &Path) -> anyhow::Result<String> {
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {} --version", binary.display()))?;
    let version = String::from_utf8_lossy(&output.stdout);
    version
        .trim()
        .split_once("(commit ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map(str::to_owned)
        .with_context(|| format!("unexpected --version: {version:?}"))
}

/// `target/container/`: exactly what the Containerfile copies.
fn prepare_context(root: &Path, binary: &Path) -> anyhow::Result<PathBuf> {
    let context = root.join("target/container");
    if context.exists() {
        fs::remove_dir_all(&context)
            .with_context(|| format!("cannot empty {}", context.display()))?;
    }
    fs::create_dir_all(context.join("data"))?;
    let copy = |from: &Path, name: &str, mode: u32| -> anyhow::Result<()> {
        let to = context.join(name);
        fs::copy(from, &to).with_context(|| format!("cannot copy {}", from.display()))?;
        fs::set_permissions(&to, fs::Permissions::from_mode(mode))?;
        Ok(())
    };
    copy(binary, "itau-codigo", 0o755)?;
    // The release profile keeps line tables for backtraces (some 50 MB of this binary);
    // the image keeps the symbols, which name the functions, and drops the rest.
    let binary_in_context = context.join("itau-codigo");
    if !succeeds(
        Command::new("strip")
            .arg("--strip-debug")
            .arg(&binary_in_context),
    ) {
        eprintln!(
            "image: `strip --strip-debug` failed (binutils missing?): the image keeps the debug info"
        );
    }
    copy(&root.join("tools/containers/passwd"), "passwd", 0o644)?;
    copy(&root.join("tools/containers/group"), "group", 0o644)?;
    let bundle = Path::new(CA_BUNDLE);
    ensure!(
        bundle.exists(),
        "{CA_BUNDLE} is missing: install the CA bundle (Debian: apt-get install ca-certificates)"
    );
    copy(bundle, "ca-certificates.crt", 0o644)?;
    fs::set_permissions(context.join("data"), fs::Permissions::from_mode(0o700))?;
    fs::create_dir_all(context.join("tmp"))?;
    fs::set_permissions(context.join("tmp"), fs::Permissions::from_mode(0o700))?;
    Ok(context)
}

/// The image as an operator runs it: a store imported on the host (by the same
/// binary) and mounted at /data, credentials from the environment, a read-only root.
fn container_test(root: &Path, engine: &Engine, binary: &Path) -> anyhow::Result<()> {
    let work = root.join("target/container-test");
    let store = work.join("data");
    remove_as_container_user(engine, &work)?;
    fs::create_dir_all(&store)?;
    let demo = root.join("crates/itau-codigo-server/demo/clientes.jsonl");
    let first: serde_json::Value = serde_json::from_str(
        fs::read_to_string(&demo)?
            .lines()
            .next()
            .context("the demo data is empty")?,
    )?;
    let codigo = first["codigo_conta"].as_str().context("no codigo_conta")?;
    let nome = first["data"]["nome_completo"]
        .as_str()
        .context("no nome_completo")?;

    eprintln!(
        "image test: itau-codigo import (on the host) into {}",
        store.display()
    );
    let import = Command::new(binary)
        .arg("import")
        .arg(&demo)
        .arg("--db")
        .arg(format!("sqlite:{}", store.join("itau-codigo.db").display()))
        .env_remove("ITAU_CODIGO_DB")
        .output()?;
    ensure!(
        import.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&import.stderr)
    );
    // The container runs as 10001: the folder and the files import made (0600, ours)
    // must be its.
    fs::set_permissions(&store, fs::Permissions::from_mode(0o700))?;
    give_to_container_user(engine, &store)?;

    let user = engine.output(&["image", "inspect", "--format", "{{.Config.User}}", IMAGE])?;
    ensure!(
        user == format!("{CONTAINER_USER}:{CONTAINER_USER}"),
        "the image runs as {user:?}"
    );

    let name = format!("itau-codigo-image-test-{}", std::process::id());
    // The API password comes from a mounted secret file, as OPERATIONS.md runs it:
    // an environment variable would show in `inspect` and in /proc/1/environ.
    let password = format!("Teste-{}-senha-do-container", std::process::id());
    let secrets = work.join("secrets");
    fs::create_dir_all(&secrets)?;
    fs::write(secrets.join(PASSWORD_FILE_NAME), format!("{password}\n"))?;
    fs::set_permissions(
        secrets.join(PASSWORD_FILE_NAME),
        fs::Permissions::from_mode(0o400),
    )?;
    give_to_container_user(engine, &secrets)?;
    let mount = format!("{}:/data", store.display());
    let secret_mount = format!("{}:/run/secrets:ro", secrets.display());
    let password_file_env = format!("ITAU_CODIGO_PASSWORD_FILE=/run/secrets/{PASSWORD_FILE_NAME}");
    let mut run = vec!["run", "-d", "--name", &name, "--read-only"];
    run.extend(["-p", "127.0.0.1::8080", "-v", &mount, "-v", &secret_mount]);
    run.extend([
        "-e",
        "ITAU_CODIGO_USERNAME=teste",
        "-e",
        &password_file_env,
        IMAGE,
    ]);
    eprintln!("image test: {} {}", engine.program, run.join(" "));
    engine.output(&run)?;
    let container = Container {
        engine,
        name: &name,
    };

    let port: u16 = container
        .engine
        .output(&["port", &name, "8080"])?
        .lines()
        .next()
        .and_then(|line| line.rsplit(':').next())
        .and_then(|port| port.parse().ok())
        .context("no host port for 8080")?;
    let ready = wait_ready(port).with_context(|| container.logs())?;
    eprintln!("image test: GET /readyz -> {ready}");

    let body = format!(r#"{{"codigo_conta":"{codigo}"}}"#);
    let (status, answer) = post_consulta(port, "teste", &password, &body)?;
    ensure!(status == 200, "consulta answered {status}: {answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer)?;
    ensure!(
        answer["data"]["nome_completo"] == nome,
        "consulta answered another customer: {answer}"
    );
    eprintln!(
        "image test: POST consulta (password from the mounted secret file) -> 200, the imported customer"
    );
    let inspected = engine.output(&["inspect", "--format", "{{json .Config.Env}}", &name])?;
    ensure!(
        !inspected.contains(&password),
        "the password shows in the container's configuration"
    );
    let (status, _) = post_consulta(port, "teste", "wrong", &body)?;
    ensure!(status == 401, "a wrong password answered {status}");

    // The image's own HEALTHCHECK (podman runs it on demand; docker has no such verb,
    // so its command is run by exec).
    let health = if engine.is_podman() {
        engine
            .command()
            .args(["healthcheck", "run", &name])
            .output()?
    } else {
        engine
            .command()
            .args(["exec", &name, "/usr/local/bin/itau-codigo", "health"])
            .output()?
    };
    ensure!(
        health.status.success(),
        "the health check failed: {}{}",
        String::from_utf8_lossy(&health.stdout),
        String::from_utf8_lossy(&health.stderr)
    );
    eprintln!("image test: HEALTHCHECK -> healthy");

    let started = Instant::now();
    engine.output(&["stop", "-t", "10", &name])?;
    let stopped_in = started.elapsed();
    let exit_code = engine.output(&["inspect", "--format", "{{.State.ExitCode}}", &name])?;
    let logs = container.logs();
    ensure!(
        exit_code == "0",
        "the container exited {exit_code} on SIGTERM:\n{logs}"
    );
    ensure!(
        stopped_in < Duration::from_secs(10),
        "stopping took {stopped_in:?}: killed, not stopped"
    );
    ensure!(logs.contains("stopped"), "no `stopped` log line:\n{logs}");
    eprintln!(
        "image test: podman stop -t 10 -> exit 0 in {:.1} s; passed",
        stopped_in.as_secs_f64()
    );
    drop(container);
    postgres_from_the_image(root, engine, &work)?;
    remove_as_container_user(engine, &work)
}

/// Accounts in the file the PostgreSQL part imports: several MiB of JSON, more than the
/// 1 MiB of sort memory it is given, so that the sort spills.
const SPILLING_RECORDS: usize = 6_000;

/// The image on PostgreSQL as OPERATIONS.md runs it: `import` of a file larger than its
/// sort memory (it spills: into the image's /tmp, then, with a read-only root, into a
/// mounted volume named by `--temp-dir`), `sslmode=verify-full` against the private
/// server's certificate and the database password from a mounted passfile; then
/// `serve` on it; and `sslrootcert=system` finding the image's CA bundle.
fn postgres_from_the_image(root: &Path, engine: &Engine, work: &Path) -> anyhow::Result<()> {
    let fixtures = root.join("crates/itau-codigo-server/tests/fixtures/pg-tls");
    let binaries = private_postgres::Binaries::find()?;
    let server = private_postgres::PrivateServer::start(
        &binaries,
        &root.join("target/container-test-postgres"),
        &private_postgres::Options {
            tls: Some((fixtures.join("server.pem"), fixtures.join("server.key"))),
            ..private_postgres::Options::default()
        },
    )?;
    let port = server.port();

    let input = work.join("input");
    let spill = work.join("spill");
    let secrets = work.join("pg-secrets");
    for dir in [&input, &spill, &secrets] {
        fs::create_dir_all(dir)?;
    }
    let records = dados_sinteticos::records(SPILLING_RECORDS, "4321");
    ensure!(
        records.len() > 1 << 20,
        "the input is not larger than 1 MiB"
    );
    let codigo = serde_json::from_str::<serde_json::Value>(records.lines().next().unwrap_or(""))?
        ["codigo_conta"]
        .as_str()
        .context("no codigo_conta")?
        .to_owned();
    fs::write(input.join("clientes.jsonl"), &records)?;
    fs::set_permissions(
        input.join("clientes.jsonl"),
        fs::Permissions::from_mode(0o644),
    )?;
    fs::write(
        secrets.join("pgpass"),
        format!("127.0.0.1:{port}:postgres:postgres:{}\n", server.password()),
    )?;
    fs::set_permissions(secrets.join("pgpass"), fs::Permissions::from_mode(0o600))?;
    fs::copy(fixtures.join("ca.pem"), secrets.join("db-ca.pem"))?;
    let api_password = format!("Teste-{}-senha-no-postgres", std::process::id());
    fs::write(
        secrets.join(PASSWORD_FILE_NAME),
        format!("{api_password}\n"),
    )?;
    fs::set_permissions(
        secrets.join(PASSWORD_FILE_NAME),
        fs::Permissions::from_mode(0o400),
    )?;
    give_to_container_user(engine, &spill)?;
    give_to_container_user(engine, &secrets)?;

    let url = |roots: &str| {
        format!(
            "ITAU_CODIGO_DB=postgres://postgres@127.0.0.1:{port}/postgres?sslmode=verify-full\
             &sslrootcert={roots}&passfile=/run/secrets/pgpass"
        )
    };
    let verify_full = url("/run/secrets/db-ca.pem");
    let input_mount = format!("{}:/in:ro", input.display());
    let spill_mount = format!("{}:/spill", spill.display());
    let secrets_mount = format!("{}:/run/secrets:ro", secrets.display());
    let expect = SPILLING_RECORDS.to_string();
    let base = ["run", "--rm", "--network", "host"];

    // The image's own /tmp takes the spill files.
    let mut import = base.to_vec();
    import.extend(["-v", &input_mount, "-v", &secrets_mount, "-e", &verify_full]);
    import.extend([IMAGE, "import", "/in/clientes.jsonl", "--sort-memory", "1"]);
    eprintln!("image test: {} {}", engine.program, import.join(" "));
    engine.output(&import)?;
    // The documented recipe for large files: a read-only root, a volume for the spill.
    let mut import = base.to_vec();
    import.extend(["--read-only", "-v", &input_mount, "-v", &spill_mount]);
    import.extend(["-v", &secrets_mount, "-e", &verify_full, IMAGE, "import"]);
    import.extend([
        "/in/clientes.jsonl",
        "--sort-memory",
        "1",
        "--temp-dir",
        "/spill",
    ]);
    import.extend(["--replace", "--expect-records", &expect]);
    eprintln!("image test: {} {}", engine.program, import.join(" "));
    engine.output(&import)?;

    let serve_port = free_port()?;
    let bind = format!("ITAU_CODIGO_BIND=127.0.0.1:{serve_port}");
    let password_file_env = format!("ITAU_CODIGO_PASSWORD_FILE=/run/secrets/{PASSWORD_FILE_NAME}");
    let name = format!("itau-codigo-image-test-pg-{}", std::process::id());
    let mut serve = vec![
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "host",
        "--read-only",
    ];
    serve.extend(["-v", &secrets_mount, "-e", &verify_full, "-e", &bind]);
    serve.extend([
        "-e",
        "ITAU_CODIGO_USERNAME=teste",
        "-e",
        &password_file_env,
        IMAGE,
    ]);
    eprintln!("image test: {} {}", engine.program, serve.join(" "));
    engine.output(&serve)?;
    let container = Container {
        engine,
        name: &name,
    };
    wait_ready(serve_port).with_context(|| container.logs())?;
    let body = format!(r#"{{"codigo_conta":"{codigo}"}}"#);
    let (status, answer) = post_consulta(serve_port, "teste", &api_password, &body)?;
    ensure!(
        status == 200,
        "consulta on PostgreSQL answered {status}: {answer}"
    );
    eprintln!("image test: serve on PostgreSQL (verify-full, passfile) -> consulta 200");
    drop(container);

    // `sslrootcert=system` reads the image's bundle: the private CA is not in it, so
    // the handshake fails on the issuer (not on "no root certificates"); with the CA
    // added through SSL_CERT_FILE it goes through.
    let system = url("system");
    let mut migrate = base.to_vec();
    migrate.extend(["-v", &secrets_mount, "-e", &system, IMAGE, "migrate"]);
    let refused = engine.command().args(&migrate).output()?;
    let said = String::from_utf8_lossy(&refused.stderr);
    ensure!(
        !refused.status.success() && !said.contains("no root certificates"),
        "sslrootcert=system in the image: {said}"
    );
    let mut migrate = base.to_vec();
    migrate.extend(["-v", &secrets_mount, "-e", &system]);
    migrate.extend([
        "-e",
        "SSL_CERT_FILE=/run/secrets/db-ca.pem",
        IMAGE,
        "migrate",
    ]);
    engine.output(&migrate)?;
    eprintln!(
        "image test: sslrootcert=system reads the image's CA bundle (private CA refused: {}); with SSL_CERT_FILE -> migrate 0",
        said.lines().last().unwrap_or("").trim()
    );
    drop(server);
    Ok(())
}

/// A free loopback port (probed, then released for the container to bind).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A running test container, removed when dropped (also on failure).
struct Container<'a> {
    engine: &'a Engine,
    name: &'a str,
}

impl Container<'_> {
    fn logs(&self) -> String {
        self.engine.logs(self.name)
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        // -v: a container without a /data mount got an anonymous volume for the
        // image's VOLUME /data; it goes with the container.
        let _ = self
            .engine
            .command()
            .args(["rm", "-f", "-v", "-t", "0", self.name])
            .output();
    }
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// chown -R 10001:10001, as root directly, rootless inside podman's user namespace.
fn give_to_container_user(engine: &Engine, dir: &Path) -> anyhow::Result<()> {
    chown_as_seen_in_container(
        engine,
        &format!("{CONTAINER_USER}:{CONTAINER_USER}"),
        &["-R".as_ref(), dir.as_os_str()],
    )
}

/// `chown ARGS` so that containers see `owner` (`UID:GID`): as root directly, rootless
/// inside podman's user namespace.
pub(crate) fn chown_as_seen_in_container(
    engine: &Engine,
    owner: &str,
    args: &[&std::ffi::OsStr],
) -> anyhow::Result<()> {
    let mut command = if is_root() {
        Command::new("chown")
    } else {
        ensure!(
            engine.is_podman(),
            "rootless docker: chown {owner} {args:?} yourself"
        );
        let mut command = engine.command();
        command.args(["unshare", "chown"]);
        command
    };
    let status = command.arg(owner).args(args).status()?;
    ensure!(status.success(), "chown {owner} {args:?} failed");
    Ok(())
}

/// Removes a folder that may hold files of the container's user.
pub(crate) fn remove_as_container_user(engine: &Engine, dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if is_root() || !engine.is_podman() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))
    } else {
        let status = engine
            .command()
            .args(["unshare", "rm", "-rf"])
            .arg(dir)
            .status()?;
        ensure!(status.success(), "cannot remove {}", dir.display());
        Ok(())
    }
}

/// Polls `/readyz` until it answers 200 (60 s at most); returns its status line.
pub(crate) fn wait_ready(port: u16) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        match http(
            port,
            "GET /readyz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        ) {
            Ok((200, _)) => return Ok("200".to_owned()),
            Ok((status, body)) => last = format!("{status} {body}"),
            Err(error) => last = format!("{error:#}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("/readyz did not answer 200 within 60 s (last: {last})")
}

pub(crate) fn post_consulta(
    port: u16,
    user: &str,
    password: &str,
    body: &str,
) -> anyhow::Result<(u16, String)> {
    http(
        port,
        &format!(
            "POST /apiaccess/rest/ccmessaging/v1/itau/codigo HTTP/1.1\r\nHost: test\r\n\
             userName: {user}\r\npassword: {password}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// One request on a new connection; the status and the body (not chunked: the
/// service sends a length).
fn http(port: u16, request: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("no status line in {answer:?}"))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interpreter_header_tells_dynamic_from_static_binaries() {
        // The test binary itself is linked dynamically (the default for this target).
        let this = fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(has_interpreter(&this).unwrap());
        let mut elf = vec![0u8; 64];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        assert!(!has_interpreter(&elf).unwrap());
        assert!(has_interpreter(b"#!/bin/sh\n").is_err());
    }
}
