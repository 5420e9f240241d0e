//! A rolling restart behind a real load balancer: HAProxy (with the configuration
//! OPERATIONS.md gives, `deploy/haproxy/haproxy.cfg`) in front of two replicas under
//! load, each replica stopped with SIGTERM and started again in turn.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use itau_codigo_server::config::DEFAULT_DRAIN_PERIOD;

use crate::helpers::*;
use crate::process::ServeProcess;

const REPLICAS: usize = 2;
const LOADERS: usize = 4;

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Whether HAProxy must be there: under `CI=true` or `ITAU_CODIGO_TEST_REQUIRE_HAPROXY=1`
/// (which `.ci/run` sets) a missing `haproxy` fails the test instead of skipping it.
fn haproxy_required() -> bool {
    let set = |name| std::env::var(name).is_ok_and(|v| v == "1" || v == "true");
    set("CI") || set("ITAU_CODIGO_TEST_REQUIRE_HAPROXY")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// HAProxy in the foreground on `deploy/haproxy/haproxy.cfg`, its stderr (where it
/// reports each server going down or up) collected.
struct Haproxy {
    child: Child,
    port: u16,
    said: Arc<Mutex<String>>,
}

impl Haproxy {
    fn start(replicas: &[String]) -> Option<Self> {
        let port = free_port();
        let mut command = Command::new("haproxy");
        command
            .args(["-db", "-f"])
            .arg(repo_file("deploy/haproxy/haproxy.cfg"))
            .env("ITAU_CODIGO_LB_BIND", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (n, replica) in replicas.iter().enumerate() {
            command.env(format!("ITAU_CODIGO_REPLICA_{}", n + 1), replica);
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                assert!(
                    !haproxy_required(),
                    "haproxy is not installed (required under CI)"
                );
                eprintln!("skipped: haproxy is not installed");
                return None;
            }
            Err(error) => panic!("cannot start haproxy: {error}"),
        };
        let said = Arc::new(Mutex::new(String::new()));
        let collected = Arc::clone(&said);
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut said = collected.lock().unwrap();
                said.push_str(&line);
                said.push('\n');
            }
        });
        let haproxy = Self { child, port, said };
        haproxy.wait_for(
            |_| TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "listening",
        );
        Some(haproxy)
    }

    fn said(&self) -> String {
        self.said.lock().unwrap().clone()
    }

    /// How often HAProxy has said `needle` so far.
    fn times_said(&self, needle: &str) -> usize {
        self.said().matches(needle).count()
    }

    fn wait_for(&self, done: impl Fn(&Self) -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "haproxy: never {what}:\n{}",
                self.said()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the load saw: answers, and every request that got anything but a whole 200.
#[derive(Debug, Default)]
struct Tally {
    answered: usize,
    failed: Vec<String>,
}

/// Sends consultas back to back on one kept-alive connection (a new one when the load
/// balancer closes it) until `stop`.
fn load(port: u16, stop: &AtomicBool, tally: &Mutex<Tally>) {
    let request = keep_alive_consulta();
    let mut connection: Option<TcpStream> = None;
    while !stop.load(Ordering::Relaxed) {
        let stream = match &mut connection {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(15)))
                    .unwrap();
                connection.insert(stream)
            }
        };
        let outcome = stream
            .write_all(&request)
            .and_then(|()| read_one_response(stream));
        let mut tally = tally.lock().unwrap();
        match outcome {
            Ok(response) if response.status == 200 => {
                tally.answered += 1;
                if response.header("connection") == Some("close") {
                    connection = None;
                }
            }
            Ok(response) => {
                tally
                    .failed
                    .push(format!("{} {:?}", response.status, response.body));
                connection = None;
            }
            Err(error) => {
                tally.failed.push(error.to_string());
                connection = None;
            }
        }
    }
}

fn start_replica(bind: &str, db: &Path) -> ServeProcess {
    let drain = DEFAULT_DRAIN_PERIOD.as_secs_f64().to_string();
    ServeProcess::start_on(
        bind,
        &["--db", db.to_str().unwrap(), "--workers", "1"],
        &[
            ("ITAU_CODIGO_USERNAME", USERNAME),
            ("ITAU_CODIGO_PASSWORD", PASSWORD),
            ("ITAU_CODIGO_DRAIN_PERIOD", drain.as_str()),
        ],
    )
}

#[test]
fn a_rolling_restart_behind_haproxy_under_load_loses_no_request() {
    let (_dir, db) = demo_db();
    let binds: Vec<String> = (0..REPLICAS)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let mut replicas: Vec<ServeProcess> = binds.iter().map(|b| start_replica(b, &db)).collect();
    let Some(haproxy) = Haproxy::start(&binds) else {
        return;
    };

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let loaders: Vec<_> = (0..LOADERS)
        .map(|_| {
            let (stop, tally) = (Arc::clone(&stop), Arc::clone(&tally));
            let port = haproxy.port;
            std::thread::spawn(move || load(port, &stop, &tally))
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));

    for (n, bind) in binds.iter().enumerate() {
        let name = format!("replicas/replica{}", n + 1);
        let (downs, ups) = (
            haproxy.times_said(&format!("{name} is DOWN")),
            haproxy.times_said(&format!("{name} is UP")),
        );
        let answered_before = tally.lock().unwrap().answered;
        let stopping = replicas.remove(n);
        let (status, logs) = stopping.terminate();
        assert_eq!(status, 0, "replica {} exit status:\n{logs}", n + 1);
        assert_eq!(
            haproxy.times_said(&format!("{name} is DOWN")),
            downs + 1,
            "the drain did not take {name} out before it stopped:\n{}",
            haproxy.said()
        );
        replicas.insert(n, start_replica(bind, &db));
        haproxy.wait_for(
            |haproxy| haproxy.times_said(&format!("{name} is UP")) > ups,
            &format!("saw {name} come back"),
        );
        assert!(
            tally.lock().unwrap().answered > answered_before,
            "the load stalled while {name} restarted"
        );
    }
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    for loader in loaders {
        loader.join().unwrap();
    }
    let tally = tally.lock().unwrap();
    eprintln!(
        "rolling restart of {REPLICAS} replicas behind HAProxy: {} answered, {} failed",
        tally.answered,
        tally.failed.len()
    );
    assert!(
        tally.failed.is_empty(),
        "{} requests failed: {:?}\nhaproxy:\n{}",
        tally.failed.len(),
        tally.failed,
        haproxy.said()
    );
    for replica in &replicas {
        replica.signal_term();
    }
    for mut replica in replicas {
        let (status, logs) = replica.wait();
        assert_eq!(status, 0, "{logs}");
    }
}

#[test]
fn operations_md_gives_the_haproxy_configuration_the_test_runs() {
    let config = std::fs::read_to_string(repo_file("deploy/haproxy/haproxy.cfg")).unwrap();
    let operations = std::fs::read_to_string(repo_file("OPERATIONS.md")).unwrap();
    assert!(
        operations.contains(&format!("```haproxy\n{config}```\n")),
        "OPERATIONS.md must quote deploy/haproxy/haproxy.cfg whole, in a ```haproxy block"
    );
}
