//! `deploy/kubernetes/`: the manifests OPERATIONS.md quotes, checked against the
//! Kubernetes schemas and run by podman.
//!
//! - Unit tests run `kubernetes-validate --strict` over every manifest, for the oldest
//!   and the newest Kubernetes the manifests support, and hold the manifests to what no
//!   schema knows: the grace period outlasts serve's drain and shutdown, every pod runs
//!   unprivileged, OPERATIONS.md quotes each file whole.
//! - [`play_test`] (the end of `cargo xtask image --test`) runs them with `podman kube
//!   play`: the import job's pod against a private PostgreSQL over verified TLS, then
//!   the Deployment, which must answer `/readyz` and a consulta and exit 0 on SIGTERM.
//!
//! Podman cannot run the manifests as they are (no cluster network, no CronJob, no
//! claims, and podman 4.3's secret volumes ignore `defaultMode` and `fsGroup`), so it
//! runs a variant made from them by [`podman_deployment`] and [`podman_import_pod`]; a
//! unit test holds the variant's differences to a written list.
//!
//! kubernetes-validate and PyYAML (which reads the manifests here too, as JSON) come
//! from PyPI, pinned in `scripts/requirements-kubernetes.txt`, installed on first use
//! into `target/kubernetes-venv`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use private_postgres::{Binaries, Options, PrivateServer};
use serde_json::{Value, json};

use crate::image::{
    CONTAINER_USER, Engine, chown_as_seen_in_container, post_consulta, remove_as_container_user,
    wait_ready,
};

/// The manifests' folder.
const DIR: &str = "deploy/kubernetes";
/// The pinned Python packages.
const REQUIREMENTS: &str = "scripts/requirements-kubernetes.txt";
/// The claim the import job reads the export from.
const EXPORT_CLAIM: &str = "itau-codigo-export";
/// Records in the podman run's export: enough to overflow a 1 MiB sort and spill.
const RECORDS: usize = 2000;

/// Every manifest, by file name, as JSON. PyYAML reads YAML 1.1 as the Kubernetes API
/// server does (`defaultMode: 0400` is octal). One object per file.
fn manifests(root: &Path) -> anyhow::Result<BTreeMap<String, Value>> {
    let dir = root.join(DIR);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|path| path.extension() == Some(OsStr::new("yaml")));
    files.sort();
    ensure!(!files.is_empty(), "no manifest in {}", dir.display());
    let output = Command::new(python(root)?)
        .arg("-c")
        .arg(
            "import json, sys, yaml\n\
             json.dump([list(yaml.safe_load_all(open(p))) for p in sys.argv[1:]], sys.stdout)",
        )
        .args(&files)
        .output()?;
    ensure!(
        output.status.success(),
        "cannot read the manifests: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let documents: Vec<Vec<Value>> = serde_json::from_slice(&output.stdout)?;
    files
        .iter()
        .zip(documents)
        .map(|(path, mut documents)| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            ensure!(
                documents.len() == 1,
                "{name} holds {} documents: keep one object per file",
                documents.len()
            );
            Ok((name.into_owned(), documents.remove(0)))
        })
        .collect()
}

/// The Python of `target/kubernetes-venv`, made (or remade, when the pinned
/// requirements changed) on first use. Concurrent callers (test threads and processes)
/// take turns on a lock file, so it is made once.
fn python(root: &Path) -> anyhow::Result<PathBuf> {
    let requirements = root.join(REQUIREMENTS);
    let wanted = fs::read_to_string(&requirements)?;
    let target = crate::pg::target_dir(root);
    fs::create_dir_all(&target)?;
    let venv = target.join("kubernetes-venv");
    let lock = File::create(target.join("kubernetes-venv.lock"))?;
    lock.lock()?;
    // Written last: its presence says the environment is complete.
    let installed = venv.join("requirements-kubernetes.txt");
    if fs::read_to_string(&installed).ok().as_ref() != Some(&wanted) {
        let _ = fs::remove_dir_all(&venv);
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("cannot run python3")?;
        ensure!(
            status.success(),
            "python3 -m venv {} failed",
            venv.display()
        );
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements)
            .status()?;
        ensure!(
            status.success(),
            "pip install -r {} failed (the first run needs PyPI)",
            requirements.display()
        );
        fs::write(&installed, &wanted)?;
    }
    Ok(venv.join("bin/python"))
}

/// Where the podman run finds what a cluster would provide.
struct PodmanSite {
    /// `host:port` of the PostgreSQL that stands for the manifests' primary and standbys.
    postgres: String,
    /// The port serve listens on, on the host (host networking).
    port: u16,
    /// For each Secret the manifests mount, a folder laid out as the kubelet lays out
    /// a secret volume.
    secrets: BTreeMap<String, PathBuf>,
    /// The export's folder, for the claim [`EXPORT_CLAIM`].
    input: PathBuf,
}

/// The Deployment as podman runs it: one replica (they would share the host's port),
/// listening on a free loopback port with no port declared, trusting loopback as its
/// proxy (the manifest's placeholder is refused on purpose), and [`podman_pod_spec`].
fn podman_deployment(deployment: &Value, site: &PodmanSite) -> anyhow::Result<Value> {
    let mut variant = deployment.clone();
    variant["spec"]["replicas"] = json!(1);
    let spec = &mut variant["spec"]["template"]["spec"];
    podman_pod_spec(spec, site)?;
    let container = only_container(spec)?;
    set_env(
        container,
        "ITAU_CODIGO_BIND",
        &format!("127.0.0.1:{}", site.port),
    )?;
    set_env(container, "ITAU_CODIGO_TRUSTED_PROXIES", "127.0.0.1/32")?;
    // Podman 4.3 maps every declared port, which host networking refuses.
    container
        .as_object_mut()
        .and_then(|container| container.remove("ports"))
        .context("the container declares no ports")?;
    Ok(variant)
}

/// The CronJob's pod as a Pod podman runs once (podman plays no CronJob nor Job), with
/// a 1 MiB sort so that the export spills into the job's volume, and
/// [`podman_pod_spec`].
fn podman_import_pod(cronjob: &Value, site: &PodmanSite) -> anyhow::Result<Value> {
    let template = &cronjob["spec"]["jobTemplate"]["spec"]["template"];
    ensure!(template.is_object(), "the CronJob has no pod template");
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": cronjob["metadata"]["name"],
            "labels": template["metadata"]["labels"],
        },
        "spec": template["spec"],
    });
    podman_pod_spec(&mut pod["spec"], site)?;
    set_env(
        only_container(&mut pod["spec"])?,
        "ITAU_CODIGO_SORT_MEMORY",
        "1",
    )?;
    Ok(pod)
}

/// What every pod needs under podman: the host's network (no cluster network here),
/// the test's PostgreSQL in place of the manifests' hosts, and host folders in place
/// of the Secrets and of the export's claim.
fn podman_pod_spec(spec: &mut Value, site: &PodmanSite) -> anyhow::Result<()> {
    spec["hostNetwork"] = json!(true);
    let container = only_container(spec)?;
    let db = env(container, "ITAU_CODIGO_DB")?;
    let db = with_authority(&db, &site.postgres)?;
    set_env(container, "ITAU_CODIGO_DB", &db)?;
    for volume in spec["volumes"].as_array_mut().into_iter().flatten() {
        let path = if let Some(secret) = volume.get("secret") {
            let name = secret["secretName"].as_str().unwrap_or_default();
            site.secrets
                .get(name)
                .with_context(|| format!("no folder for the Secret {name:?}"))?
        } else if let Some(claim) = volume.get("persistentVolumeClaim") {
            let name = claim["claimName"].as_str().unwrap_or_default();
            ensure!(name == EXPORT_CLAIM, "no folder for the claim {name:?}");
            &site.input
        } else {
            continue;
        };
        *volume = json!({
            "name": volume["name"],
            "hostPath": {"path": path, "type": "Directory"},
        });
    }
    Ok(())
}

fn only_container(spec: &mut Value) -> anyhow::Result<&mut Value> {
    match spec["containers"].as_array_mut().map(Vec::as_mut_slice) {
        Some([container]) => Ok(container),
        _ => bail!("expected one container in the pod"),
    }
}

fn env(container: &Value, name: &str) -> anyhow::Result<String> {
    container["env"]
        .as_array()
        .and_then(|env| env.iter().find(|var| var["name"] == name))
        .and_then(|var| var["value"].as_str())
        .map(str::to_owned)
        .with_context(|| format!("the container sets no {name}"))
}

fn set_env(container: &mut Value, name: &str, value: &str) -> anyhow::Result<()> {
    let var = container["env"]
        .as_array_mut()
        .and_then(|env| env.iter_mut().find(|var| var["name"] == name))
        .with_context(|| format!("the container sets no {name}"))?;
    var["value"] = json!(value);
    Ok(())
}

/// `url` with its `host:port` replaced: `postgres://user@HOST:PORT/db?...`.
fn with_authority(url: &str, authority: &str) -> anyhow::Result<String> {
    let at = url.find('@').context("no user@ in the PostgreSQL URL")? + 1;
    let end = url[at..]
        .find('/')
        .map(|slash| at + slash)
        .context("no /database in the PostgreSQL URL")?;
    Ok(format!("{}{authority}{}", &url[..at], &url[end..]))
}

/// `podman kube play` of the manifests' variant: the import job's pod imports an
/// export (with its count file, spilling into its volume) into a private PostgreSQL
/// over verified TLS, with the password from a passfile laid out as the kubelet lays
/// out a secret volume; then the Deployment answers `/readyz` and a consulta with the
/// API password from its Secret's file, and exits 0 on SIGTERM within its grace
/// period. Docker has no `kube play`: skipped there.
pub(crate) fn play_test(root: &Path, engine: &Engine) -> anyhow::Result<()> {
    if !engine.is_podman() {
        eprintln!("kubernetes test: skipped, `kube play` needs podman");
        return Ok(());
    }
    let started = Instant::now();
    let work = crate::pg::target_dir(root).join("kubernetes-test");
    remove_as_container_user(engine, &work)?;
    fs::create_dir_all(&work)?;
    let manifests = manifests(root)?;
    let manifest = |name: &str| {
        manifests
            .get(name)
            .with_context(|| format!("no {DIR}/{name}"))
    };

    let tls = root.join("crates/itau-codigo-server/tests/fixtures/pg-tls");
    let binaries = Binaries::find()
        .context("the Kubernetes manifests run on a private PostgreSQL (Debian: postgresql-15)")?;
    let postgres = PrivateServer::start(
        &binaries,
        &work.join("postgres"),
        &Options {
            tls: Some((tls.join("server.pem"), tls.join("server.key"))),
            ..Options::default()
        },
    )?;
    let db_password = random_hex()?;
    psql(
        &binaries,
        &postgres,
        &[
            &format!("CREATE ROLE itau LOGIN PASSWORD '{db_password}'"),
            "CREATE DATABASE itau OWNER itau",
        ],
    )?;

    let api_password = format!("Teste-{}-senha-da-api", random_hex()?);
    let secrets = work.join("secrets");
    let api_secret = secrets.join("itau-codigo-api");
    secret_volume(
        engine,
        &api_secret,
        &[("password", format!("{api_password}\n"))],
    )?;
    let db_secret = secrets.join("itau-codigo-db");
    secret_volume(
        engine,
        &db_secret,
        &[
            // One line for the primary and the standbys, as OPERATIONS.md writes it.
            ("pgpass", format!("*:*:itau:itau:{db_password}\n")),
            ("ca.crt", fs::read_to_string(tls.join("ca.pem"))?),
        ],
    )?;
    let input = work.join("input");
    fs::create_dir_all(&input)?;
    let export = dados_sinteticos::records(RECORDS, "1501");
    fs::write(input.join("clientes.jsonl"), &export)?;
    fs::write(input.join("clientes.count"), format!("{RECORDS}\n"))?;
    let first: Value = serde_json::from_str(export.lines().next().context("no record")?)?;

    let site = PodmanSite {
        postgres: format!("127.0.0.1:{}", postgres.port()),
        port: free_port()?,
        secrets: BTreeMap::from([
            ("itau-codigo-api".to_owned(), api_secret),
            ("itau-codigo-db".to_owned(), db_secret),
        ]),
        input,
    };
    let import_pod = podman_import_pod(manifest("cronjob.yaml")?, &site)?;
    let deployment = podman_deployment(manifest("deployment.yaml")?, &site)?;

    // The import job, once.
    let play = Play::start(engine, &work.join("import.json"), &import_pod)?;
    let container = format!(
        "{}-{}",
        import_pod["metadata"]["name"].as_str().unwrap_or(""),
        import_pod["spec"]["containers"][0]["name"]
            .as_str()
            .unwrap_or("")
    );
    let exit_code = engine.output(&["wait", &container])?;
    let logs = engine.logs(&container);
    ensure!(exit_code == "0", "the import exited {exit_code}:\n{logs}");
    ensure!(
        logs.contains(&format!("imported {RECORDS} records")),
        "the import did not report its records:\n{logs}"
    );
    eprintln!(
        "kubernetes test: the CronJob's pod imported {RECORDS} records (--expect-records-file, --temp-dir on its volume, passfile, verify-full)"
    );
    drop(play);

    // The Deployment.
    let play = Play::start(engine, &work.join("deployment.json"), &deployment)?;
    let pod = format!(
        "{}-pod-0",
        deployment["metadata"]["name"].as_str().unwrap_or("")
    );
    let container = format!(
        "{pod}-{}",
        deployment["spec"]["template"]["spec"]["containers"][0]["name"]
            .as_str()
            .unwrap_or("")
    );
    wait_ready(site.port).with_context(|| engine.logs(&container))?;
    let user = env(
        &deployment["spec"]["template"]["spec"]["containers"][0],
        "ITAU_CODIGO_USERNAME",
    )?;
    let codigo = first["codigo_conta"].as_str().context("no codigo_conta")?;
    let body = format!(r#"{{"codigo_conta":"{codigo}"}}"#);
    let (status, answer) = post_consulta(site.port, &user, &api_password, &body)?;
    ensure!(status == 200, "consulta answered {status}: {answer}");
    let answer: Value = serde_json::from_str(&answer)?;
    ensure!(
        answer["data"]["nome_completo"] == first["data"]["nome_completo"],
        "consulta answered another customer: {answer}"
    );
    eprintln!("kubernetes test: the Deployment's pod: /readyz 200, consulta 200");

    let grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .context("no terminationGracePeriodSeconds")?;
    let stopping = Instant::now();
    engine.output(&["pod", "stop", "-t", &grace.to_string(), &pod])?;
    let stopped_in = stopping.elapsed();
    let exit_code = engine.output(&["inspect", "--format", "{{.State.ExitCode}}", &container])?;
    ensure!(
        exit_code == "0" && stopped_in < Duration::from_secs(grace),
        "SIGTERM: exit {exit_code} after {stopped_in:?} (grace period {grace} s):\n{}",
        engine.logs(&container)
    );
    drop(play);
    drop(postgres);
    remove_as_container_user(engine, &work)?;
    eprintln!(
        "kubernetes test: SIGTERM -> exit 0 in {:.1} s; podman kube play of {DIR} passed in {:.0} s",
        stopped_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A played variant, taken down (`podman kube down`) when dropped, also on failure.
struct Play<'a> {
    engine: &'a Engine,
    file: PathBuf,
}

impl<'a> Play<'a> {
    /// Writes `document` to `file` (JSON, which is YAML) and plays it, after taking
    /// down what an interrupted run may have left under the same names.
    fn start(engine: &'a Engine, file: &Path, document: &Value) -> anyhow::Result<Self> {
        fs::write(file, serde_json::to_vec_pretty(document)?)?;
        let file_arg = file.to_str().context("a path that is not UTF-8")?;
        let _ = engine.output(&["kube", "down", file_arg]);
        eprintln!("kubernetes test: podman kube play {}", file.display());
        engine.output(&["kube", "play", file_arg])?;
        Ok(Self {
            engine,
            file: file.to_owned(),
        })
    }
}

impl Drop for Play<'_> {
    fn drop(&mut self) {
        let _ = self
            .engine
            .command()
            .args(["kube", "down"])
            .arg(&self.file)
            .output();
    }
}

/// Writes `files` into `dir` as the kubelet writes a secret volume with `defaultMode:
/// 0400` and `fsGroup: 10001`: each file in a timestamped folder, reached through the
/// `..data` link, owned by root, group 10001, mode 0440 (the kubelet adds the group's
/// read). Podman's own secret volumes (4.3) would make them 0644.
fn secret_volume(engine: &Engine, dir: &Path, files: &[(&str, String)]) -> anyhow::Result<()> {
    let timestamped = "..2026_01_01_00_00_00.000000001";
    fs::create_dir_all(dir.join(timestamped))?;
    symlink(timestamped, dir.join("..data"))?;
    let mut written = Vec::new();
    for (name, content) in files {
        let file = dir.join(timestamped).join(name);
        fs::write(&file, content)?;
        fs::set_permissions(&file, fs::Permissions::from_mode(0o440))?;
        symlink(format!("..data/{name}"), dir.join(name))?;
        written.push(file);
    }
    let args: Vec<&OsStr> = written.iter().map(|file| file.as_os_str()).collect();
    chown_as_seen_in_container(engine, &format!("0:{CONTAINER_USER}"), &args)
}

/// Runs SQL statements on the private server as its superuser (TLS, as it requires).
fn psql(binaries: &Binaries, server: &PrivateServer, statements: &[&str]) -> anyhow::Result<()> {
    let mut command = Command::new(binaries.dir().join("psql"));
    command
        .arg(format!(
            "host=127.0.0.1 port={} user={} dbname=postgres sslmode=require",
            server.port(),
            private_postgres::SUPERUSER
        ))
        .args(["--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1"])
        .env("PGPASSWORD", server.password());
    for statement in statements {
        command.args(["-c", statement]);
    }
    let output = command.output().context("cannot run psql")?;
    ensure!(
        output.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// 16 random hexadecimal digits.
fn random_hex() -> anyhow::Result<String> {
    let mut bytes = [0u8; 8];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The oldest Kubernetes the manifests are valid for (a pod failure rule without
    /// `onPodConditions`) and the newest the pinned kubernetes-validate knows.
    const VERSIONS: [&str; 2] = ["1.29.0", "1.37.0"];

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask lives one level below the workspace root")
            .to_owned()
    }

    fn manifest(name: &str) -> Value {
        manifests(&root()).unwrap().remove(name).unwrap()
    }

    fn site() -> PodmanSite {
        PodmanSite {
            postgres: "127.0.0.1:5433".to_owned(),
            port: 18080,
            secrets: BTreeMap::from([
                ("itau-codigo-api".to_owned(), PathBuf::from("/s/api")),
                ("itau-codigo-db".to_owned(), PathBuf::from("/s/db")),
            ]),
            input: PathBuf::from("/input"),
        }
    }

    /// Where `a` and `b` differ, as paths; list items that have a `name` are named by it.
    fn differences(path: &str, a: &Value, b: &Value, out: &mut BTreeSet<String>) {
        let named = |items: &[Value]| {
            items
                .iter()
                .map(|item| item["name"].as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        };
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                for key in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
                    let here = format!("{path}/{key}");
                    match (a.get(key), b.get(key)) {
                        (Some(a), Some(b)) => differences(&here, a, b, out),
                        _ => {
                            out.insert(here);
                        }
                    }
                }
            }
            (Value::Array(a), Value::Array(b)) => match (named(a), named(b)) {
                (Some(names_a), Some(names_b)) if names_a == names_b => {
                    for ((name, a), b) in names_a.iter().zip(a).zip(b) {
                        differences(&format!("{path}[{name}]"), a, b, out);
                    }
                }
                _ if a.len() == b.len() => {
                    for (index, (a, b)) in a.iter().zip(b).enumerate() {
                        differences(&format!("{path}/{index}"), a, b, out);
                    }
                }
                _ => {
                    out.insert(path.to_owned());
                }
            },
            _ if a != b => {
                out.insert(path.to_owned());
            }
            _ => {}
        }
    }

    fn differing(a: &Value, b: &Value) -> Vec<String> {
        let mut out = BTreeSet::new();
        differences("", a, b, &mut out);
        out.into_iter().collect()
    }

    #[test]
    fn every_manifest_passes_kubernetes_validate_strict() {
        let root = root();
        let python = python(&root).unwrap();
        let mut files: Vec<PathBuf> = fs::read_dir(root.join(DIR))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension() == Some(OsStr::new("yaml")))
            .collect();
        files.sort();
        assert_eq!(
            files.len(),
            manifests(&root).unwrap().len(),
            "one object per file"
        );
        for version in VERSIONS {
            let output = Command::new(&python)
                .args(["-m", "kubernetes_validate", "--strict", "--quiet", "-k"])
                .arg(version)
                .args(&files)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "kubernetes-validate --strict -k {version}:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    #[test]
    fn a_misspelt_field_fails_the_strict_check() {
        // The check above could pass by checking nothing.
        let root = root();
        let dir = tempfile_dir();
        let text = fs::read_to_string(root.join(DIR).join("service.yaml")).unwrap();
        let misspelt = text.replace("targetPort:", "targetPrt:");
        assert_ne!(misspelt, text);
        fs::write(dir.join("service.yaml"), misspelt).unwrap();
        let output = Command::new(python(&root).unwrap())
            .args(["-m", "kubernetes_validate", "--strict", "--quiet"])
            .arg(dir.join("service.yaml"))
            .output()
            .unwrap();
        let _ = fs::remove_dir_all(&dir);
        assert!(!output.status.success());
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("targetPrt"),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }

    fn tempfile_dir() -> PathBuf {
        let dir = crate::pg::target_dir(&root()).join(format!(
            "kubernetes-validate-{}-{}",
            std::process::id(),
            random_hex().unwrap()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_grace_period_outlasts_the_drain_and_the_shutdown_timeout() {
        let deployment = manifest("deployment.yaml");
        let spec = &deployment["spec"]["template"]["spec"];
        let container = &spec["containers"][0];
        let seconds = |name: &str| -> u64 { env(container, name).unwrap().parse().unwrap() };
        let (drain, shutdown) = (
            seconds("ITAU_CODIGO_DRAIN_PERIOD"),
            seconds("ITAU_CODIGO_SHUTDOWN_TIMEOUT"),
        );
        let grace = spec["terminationGracePeriodSeconds"].as_u64().unwrap();
        assert!(
            drain + shutdown < grace,
            "drain {drain} s + shutdown {shutdown} s must end before the kubelet's SIGKILL at {grace} s"
        );
        assert!(
            spec["containers"][0].get("lifecycle").is_none(),
            "no preStop: serve drains by itself on SIGTERM"
        );
    }

    #[test]
    fn every_pod_runs_as_the_images_user_unprivileged_on_a_read_only_root() {
        let deployment = manifest("deployment.yaml");
        let cronjob = manifest("cronjob.yaml");
        for (name, spec) in [
            ("deployment", &deployment["spec"]["template"]["spec"]),
            (
                "cronjob",
                &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            ),
        ] {
            let pod = &spec["securityContext"];
            assert_eq!(pod["runAsNonRoot"], true, "{name}");
            assert_eq!(pod["runAsUser"], CONTAINER_USER, "{name}");
            assert_eq!(pod["runAsGroup"], CONTAINER_USER, "{name}");
            assert_eq!(pod["fsGroup"], CONTAINER_USER, "{name}");
            assert_eq!(pod["seccompProfile"]["type"], "RuntimeDefault", "{name}");
            assert_eq!(spec["automountServiceAccountToken"], false, "{name}");
            assert_eq!(spec["enableServiceLinks"], false, "{name}");
            for container in spec["containers"].as_array().unwrap() {
                let security = &container["securityContext"];
                assert_eq!(security["allowPrivilegeEscalation"], false, "{name}");
                assert_eq!(security["readOnlyRootFilesystem"], true, "{name}");
                assert_eq!(security["capabilities"]["drop"], json!(["ALL"]), "{name}");
                assert_eq!(container["image"], crate::image::IMAGE, "{name}");
                assert!(
                    container["resources"]["requests"].is_object()
                        && container["resources"]["limits"]["memory"].is_string(),
                    "{name}: requests and a memory limit"
                );
                let env: Vec<&str> = container["env"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|var| var["name"].as_str())
                    .collect();
                assert!(
                    !env.contains(&"ITAU_CODIGO_PASSWORD"),
                    "{name}: secrets come as files"
                );
            }
            // Secrets as files a group may read, owner root (the passfile rule).
            for volume in spec["volumes"].as_array().unwrap() {
                if let Some(secret) = volume.get("secret") {
                    assert_eq!(secret["defaultMode"], 0o400, "{name}");
                }
            }
        }
    }

    #[test]
    fn the_import_job_never_overlaps_and_reads_its_count_from_its_input() {
        let cronjob = manifest("cronjob.yaml");
        assert_eq!(cronjob["spec"]["concurrencyPolicy"], "Forbid");
        let spec = &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        let args: Vec<&str> = spec["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|arg| arg.as_str().unwrap())
            .collect();
        let after = |flag: &str| {
            let at = args.iter().position(|arg| *arg == flag).unwrap();
            args[at + 1]
        };
        assert_eq!(args[..2], ["import", "/input/clientes.jsonl"]);
        assert!(args.contains(&"--replace"));
        assert_eq!(after("--expect-records-file"), "/input/clientes.count");
        let mount = |name: &str| {
            spec["containers"][0]["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|mount| mount["name"] == name)
                .unwrap()["mountPath"]
                .clone()
        };
        assert_eq!(mount("input"), "/input");
        assert_eq!(mount("spill"), after("--temp-dir"));
        let spill = spec["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|volume| volume["name"] == "spill")
            .unwrap();
        assert!(spill["emptyDir"].is_object(), "{spill}");
    }

    #[test]
    fn operations_md_quotes_every_manifest_whole() {
        let operations = fs::read_to_string(root().join("OPERATIONS.md")).unwrap();
        for entry in fs::read_dir(root().join(DIR)).unwrap() {
            let path = entry.unwrap().path();
            let text = fs::read_to_string(&path).unwrap();
            assert!(
                operations.contains(&format!("```yaml\n{text}```\n")),
                "OPERATIONS.md must quote {} whole, in a ```yaml block",
                path.display()
            );
        }
    }

    #[test]
    fn the_podman_deployment_differs_only_where_podman_needs_it() {
        let deployment = manifest("deployment.yaml");
        let variant = podman_deployment(&deployment, &site()).unwrap();
        let container = "/spec/template/spec/containers[itau-codigo]";
        assert_eq!(
            differing(&deployment, &variant),
            [
                "/spec/replicas".to_owned(),
                format!("{container}/env[ITAU_CODIGO_BIND]/value"),
                format!("{container}/env[ITAU_CODIGO_DB]/value"),
                format!("{container}/env[ITAU_CODIGO_TRUSTED_PROXIES]/value"),
                format!("{container}/ports"),
                "/spec/template/spec/hostNetwork".to_owned(),
                "/spec/template/spec/volumes[api-secret]/hostPath".to_owned(),
                "/spec/template/spec/volumes[api-secret]/secret".to_owned(),
                "/spec/template/spec/volumes[db-secret]/hostPath".to_owned(),
                "/spec/template/spec/volumes[db-secret]/secret".to_owned(),
            ]
        );
        let db = env(
            &variant["spec"]["template"]["spec"]["containers"][0],
            "ITAU_CODIGO_DB",
        )
        .unwrap();
        let original = env(
            &deployment["spec"]["template"]["spec"]["containers"][0],
            "ITAU_CODIGO_DB",
        )
        .unwrap();
        assert_eq!(
            db,
            original.replace("@itau-pg-ro:5432/", "@127.0.0.1:5433/"),
            "only the host and port change"
        );
    }

    #[test]
    fn the_podman_import_pod_is_the_cronjobs_pod_differing_only_where_podman_needs_it() {
        let cronjob = manifest("cronjob.yaml");
        let pod = podman_import_pod(&cronjob, &site()).unwrap();
        let template = &cronjob["spec"]["jobTemplate"]["spec"]["template"];
        assert_eq!(pod["metadata"]["labels"], template["metadata"]["labels"]);
        let container = "/containers[import]";
        assert_eq!(
            differing(&template["spec"], &pod["spec"]),
            [
                format!("{container}/env[ITAU_CODIGO_DB]/value"),
                format!("{container}/env[ITAU_CODIGO_SORT_MEMORY]/value"),
                "/hostNetwork".to_owned(),
                "/volumes[db-secret]/hostPath".to_owned(),
                "/volumes[db-secret]/secret".to_owned(),
                "/volumes[input]/hostPath".to_owned(),
                "/volumes[input]/persistentVolumeClaim".to_owned(),
            ]
        );
    }

    #[test]
    fn a_urls_authority_is_replaced_whole() {
        assert_eq!(
            with_authority("postgres://itau@itau-pg-rw:5432/itau?passfile=/a/b", "h:1").unwrap(),
            "postgres://itau@h:1/itau?passfile=/a/b"
        );
        assert!(with_authority("postgres://itau-pg-rw:5432/itau", "h:1").is_err());
    }
}
