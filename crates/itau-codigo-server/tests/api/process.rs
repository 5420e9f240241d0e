//! The `itau-codigo serve` binary as a child process, with its JSON logs collected as they
//! come (a pipe nobody reads would block the server once full).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

pub(crate) struct ServeProcess {
    child: Child,
    pub(crate) port: u16,
    logs: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl ServeProcess {
    /// Starts `itau-codigo serve ARGS` on a free loopback port with JSON logs and the
    /// given environment (nothing inherited from ours), and waits until it serves.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::cargo_bin("itau-codigo").unwrap();
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        let (port_sender, port_receiver) = mpsc::channel();
        let collected = Arc::clone(&logs);
        let reader = std::thread::spawn(move || {
            let mut port_sender = Some(port_sender);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = serving_port(&line)
                    && let Some(sender) = port_sender.take()
                {
                    let _ = sender.send(port);
                }
                let mut logs = collected.lock().unwrap();
                logs.push_str(&line);
                logs.push('\n');
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
            reader: Some(reader),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub(crate) fn signal_term(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
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
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("serve did not exit within 30 s:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
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
