//! The `itau-codigo` binary as a child process: [`itau_codigo`] builds every command,
//! [`run`] runs one that ends, and [`ServeProcess`] keeps `serve` running with its
//! output collected as it comes (a pipe nobody reads would block the server once full).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

use crate::helpers::Http;

/// The binary, with no `ITAU_CODIGO_*` variable inherited: whatever the developer's
/// shell exports must not change what a test sees.
pub(crate) fn itau_codigo() -> Command {
    let mut command = Command::cargo_bin("itau-codigo").unwrap();
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("ITAU_CODIGO_")) {
        command.env_remove(name);
    }
    command
}

/// The binary run by `sh` under `umask`, so that a test sees the modes of the files it
/// creates under an ordinary umask whatever the test runner's; arguments and
/// environment are given to the returned command as to [`itau_codigo`]'s.
pub(crate) fn itau_codigo_under_umask(umask: u32) -> Command {
    let binary = itau_codigo().get_program().to_owned();
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("umask {umask:03o} && exec \"$0\" \"$@\""))
        .arg(binary);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("ITAU_CODIGO_")) {
        command.env_remove(name);
    }
    command
}

/// Starts `command` (an `import -`), writes `lines` to it and keeps its input open:
/// the import then holds its transaction and waits for more. Close the returned input
/// to let it commit.
pub(crate) fn import_from_open_pipe(mut command: Command, lines: &str) -> (Child, ChildStdin) {
    let mut import = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = import.stdin.take().unwrap();
    stdin.write_all(lines.as_bytes()).unwrap();
    stdin.flush().unwrap();
    (import, stdin)
}

/// How a command that ended went.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    /// Fails showing the whole stderr when `needle` is not in it.
    pub(crate) fn assert_stderr_has(&self, needle: &str) {
        assert!(
            self.stderr.contains(needle),
            "{needle:?} not in stderr:\n{}",
            self.stderr
        );
    }
}

/// Runs `command` to its end with `stdin` as its standard input.
pub(crate) fn run(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&stdin));
    let output = child.wait_with_output().unwrap();
    let _ = writer.join();
    Output {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub(crate) struct ServeProcess {
    child: Child,
    pub(crate) port: u16,
    logs: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl ServeProcess {
    /// Starts `itau-codigo serve ARGS` on a free loopback port with JSON logs and the
    /// given environment (nothing inherited from ours), and waits until it serves.
    /// SIGTERM stops it without a drain unless `env` sets `ITAU_CODIGO_DRAIN_PERIOD`.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_command(itau_codigo(), args, env)
    }

    /// [`Self::start`] on `bind` (`127.0.0.1:PORT`), e.g. a replica restarted where its
    /// load balancer expects it.
    pub(crate) fn start_on(bind: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_bound(itau_codigo(), bind, args, env)
    }

    /// [`Self::start`] with `command` as the binary (e.g. [`itau_codigo_under_umask`]).
    pub(crate) fn start_command(command: Command, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_bound(command, "127.0.0.1:0", args, env)
    }

    fn start_bound(mut command: Command, bind: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("ITAU_CODIGO_DRAIN_PERIOD", "0")
            .args(["serve", "--bind", bind, "--log-format", "json"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        let printed = Arc::new(Mutex::new(String::new()));
        let (port_sender, port_receiver) = mpsc::channel();
        let collected = Arc::clone(&logs);
        let log_reader = std::thread::spawn(move || {
            let mut port_sender = Some(port_sender);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                // Collected before the port is announced, so that logs read right after
                // `start` returns hold the `serving` line.
                {
                    let mut logs = collected.lock().unwrap();
                    logs.push_str(&line);
                    logs.push('\n');
                }
                if let Some(port) = serving_port(&line)
                    && let Some(sender) = port_sender.take()
                {
                    let _ = sender.send(port);
                }
            }
        });
        let collected = Arc::clone(&printed);
        let stdout_reader = std::thread::spawn(move || {
            let mut stdout = stdout;
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = stdout.read(&mut buffer) {
                let text = String::from_utf8_lossy(&buffer[..read]);
                collected.lock().unwrap().push_str(&text);
            }
        });
        let port = match port_receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("serve did not start: {}", logs.lock().unwrap());
            }
        };
        Self {
            child,
            port,
            logs,
            stdout: printed,
            readers: vec![log_reader, stdout_reader],
        }
    }

    /// A client for this server.
    pub(crate) fn http(&self) -> Http {
        Http::new(self.port)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How the server ended, or `None` while it runs.
    pub(crate) fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// What the server printed on stdout once it holds `lines` lines (30 s at most).
    pub(crate) fn stdout_lines(&self, lines: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let printed = self.stdout.lock().unwrap().clone();
            if printed.matches('\n').count() >= lines {
                return printed;
            }
            assert!(Instant::now() < deadline, "serve printed only {printed:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM.
    pub(crate) fn signal_term(&self) {
        self.signal("TERM");
    }

    /// Sends the signal `name` (`TERM`, `INT`, `HUP`, ...).
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then the exit status and every log line.
    pub(crate) fn terminate(mut self) -> (i32, String) {
        self.signal_term();
        self.wait()
    }

    /// Waits for the exit (30 s at most), then returns the status and every log line.
    pub(crate) fn wait(&mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("serve did not exit within 30 s:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        (status.code().unwrap_or(-1), self.logs())
    }

    pub(crate) fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The port of the `serving` log line (`"address":"127.0.0.1:PORT"`).
fn serving_port(line: &str) -> Option<u16> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    if value["message"] != "serving" {
        return None;
    }
    value["address"].as_str()?.rsplit(':').next()?.parse().ok()
}
