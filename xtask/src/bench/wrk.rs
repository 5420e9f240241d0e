//! Driving wrk: one pinned run with the request mix, and what it measured.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use super::procfs;

/// The script every run uses, ceiling included.
pub(crate) const MIX_LUA: &str = include_str!("mix.lua");

/// Installs wrk from the distribution when it is missing (as root, with apt-get).
pub(crate) fn ensure_installed() -> anyhow::Result<()> {
    let found = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if !found("taskset") {
        bail!("taskset (util-linux) is needed to pin the server and wrk to separate cores");
    }
    if found("wrk") {
        return Ok(());
    }
    eprintln!("bench: wrk is missing; installing the Debian package (apt-get install -y wrk)");
    let apt_get = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|status| status.success())
    };
    // A fresh machine may have no package lists yet.
    let installed = apt_get(&["install", "-y", "-q", "wrk"])
        || (apt_get(&["update", "-q"]) && apt_get(&["install", "-y", "-q", "wrk"]));
    if !installed || !found("wrk") {
        bail!("wrk is missing and `apt-get install -y wrk` failed: install wrk 4 and re-run");
    }
    Ok(())
}

/// How to load a server.
#[derive(Debug, Clone)]
pub(crate) struct Load<'a> {
    pub(crate) url: String,
    pub(crate) connections: u32,
    pub(crate) duration: Duration,
    pub(crate) client_cpu: &'a str,
    pub(crate) accounts: u64,
    /// Their codes and as many unknown ones (`dados::Data::codes`).
    pub(crate) codes: &'a Path,
    pub(crate) username: &'a str,
    pub(crate) password: &'a str,
    /// Compare every status with the one its kind must get (costs generator CPU).
    pub(crate) check: bool,
    pub(crate) script: &'a Path,
}

/// What one wrk run measured, and what it cost the server and wrk.
#[derive(Debug, Clone, Default)]
pub(crate) struct Measured {
    pub(crate) requests: u64,
    pub(crate) seconds: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    /// Connect, read, write and timeout errors (not HTTP statuses).
    pub(crate) socket_errors: u64,
    /// Requests sent, by kind: found, unknown, wrong DAC.
    pub(crate) sent: [u64; 3],
    /// With `check`: responses checked by kind, wrong ones, and the first wrong one.
    pub(crate) checked: [u64; 3],
    pub(crate) wrong: u64,
    pub(crate) unlabelled: u64,
    pub(crate) first_wrong: String,
    /// CPU seconds the server and wrk used during the run.
    pub(crate) server_cpu: f64,
    pub(crate) wrk_cpu: f64,
    pub(crate) wall: f64,
}

impl Measured {
    pub(crate) fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }

    /// Server CPU time per request, in microseconds.
    pub(crate) fn server_us_per_request(&self) -> f64 {
        self.server_cpu * 1e6 / (self.requests.max(1) as f64)
    }

    pub(crate) fn server_busy(&self) -> f64 {
        self.server_cpu / self.wall.max(1e-9)
    }

    pub(crate) fn wrk_busy(&self) -> f64 {
        self.wrk_cpu / self.wall.max(1e-9)
    }
}

/// Runs wrk (one thread, pinned) against `load.url` while measuring the CPU time of
/// `server_pid`.
pub(crate) fn run(load: &Load<'_>, server_pid: u32) -> anyhow::Result<Measured> {
    let mut command = Command::new("taskset");
    command
        .args(["-c", load.client_cpu, "wrk", "-t1"])
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.duration.as_secs().max(1)))
        .args(["--timeout", "5s", "-s"])
        .arg(load.script)
        .arg(&load.url)
        .arg("--")
        .arg(load.accounts.to_string())
        .arg(load.username)
        .arg(load.password)
        .arg("1")
        .arg(load.codes)
        .env("BENCH_CHECK", if load.check { "1" } else { "0" })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let server_before = procfs::cpu_seconds(server_pid)?;
    let wrk_before = procfs::waited_children_cpu_seconds()?;
    let started = Instant::now();
    let output = output_retrying(&mut command).context("cannot run wrk")?;
    let wall = started.elapsed().as_secs_f64();
    let wrk_cpu = procfs::waited_children_cpu_seconds()? - wrk_before;
    let server_cpu = procfs::cpu_seconds(server_pid)? - server_before;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("BENCH-RESULT "))
        .with_context(|| format!("wrk printed no BENCH-RESULT line:\n{stdout}"))?;
    let result: Value = serde_json::from_str(line)
        .with_context(|| format!("cannot parse wrk's result line: {line}"))?;
    let int = |pointer: &str| result.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
    let ms = |pointer: &str| int(pointer) as f64 / 1000.0;
    let kinds = |prefix: &str| ["f", "u", "d"].map(|kind| int(&format!("/{prefix}/{kind}")));
    Ok(Measured {
        requests: int("/requests"),
        seconds: int("/duration_us") as f64 / 1e6,
        p50_ms: ms("/latency_us/p50"),
        p99_ms: ms("/latency_us/p99"),
        max_ms: ms("/latency_us/max"),
        socket_errors: ["connect", "read", "write", "timeout"]
            .iter()
            .map(|kind| int(&format!("/errors/{kind}")))
            .sum(),
        sent: kinds("sent"),
        checked: kinds("checked"),
        wrong: int("/wrong"),
        unlabelled: int("/unlabelled"),
        first_wrong: result
            .pointer("/first_wrong")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        server_cpu,
        wrk_cpu,
        wall,
    })
}

/// `Command::output`, retried while the system refuses a new process for a moment
/// (EAGAIN from fork: the machine is shared and its process limit is too).
pub(crate) fn output_retrying(command: &mut Command) -> std::io::Result<std::process::Output> {
    let mut attempt = 0;
    loop {
        match command.output() {
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock && attempt < 5 => {
                attempt += 1;
                eprintln!("bench: cannot start a process ({error}); retrying");
                std::thread::sleep(Duration::from_secs(2));
            }
            result => return result,
        }
    }
}
