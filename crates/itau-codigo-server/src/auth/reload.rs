//! Password rotation without a restart: the credentials requests are checked against
//! can be replaced while requests are served, and [`watch_password_file`] replaces them
//! when the password file changes (polled every second) or on SIGHUP. A file that
//! cannot be used keeps the last good set.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use super::credentials::{Credentials, PasswordSource};

/// How often the password file's metadata is looked at.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The credentials in force. A request takes the current set (a read lock held for an
/// `Arc` clone); a reload swaps in a new one, so that no request sees a half-made set.
#[derive(Debug)]
pub struct LiveCredentials {
    current: RwLock<Arc<Credentials>>,
}

impl LiveCredentials {
    /// Starts with `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            current: RwLock::new(Arc::new(credentials)),
        }
    }

    /// The set in force now.
    pub fn current(&self) -> Arc<Credentials> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The password file, when the password comes from one.
    pub fn password_file(&self) -> Option<PathBuf> {
        match self.current().password_source() {
            PasswordSource::File(path) => Some(path.clone()),
            _ => None,
        }
    }

    /// Reads the password file again and swaps the new set in; on any failure the set
    /// in force stays, and the error is logged (never a password). Returns whether the
    /// reload succeeded.
    pub fn reload(&self) -> bool {
        match self.current().reread() {
            Ok(credentials) => {
                let passwords = credentials.password_count();
                *self.current.write().unwrap_or_else(PoisonError::into_inner) =
                    Arc::new(credentials);
                tracing::info!(passwords, "password file reloaded");
                true
            }
            Err(error) => {
                tracing::error!(
                    error = %error,
                    "password file not reloaded: the passwords in force stay"
                );
                false
            }
        }
    }
}

/// What tells a changed file from an unchanged one without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
    device: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    // Follows symbolic links: a Kubernetes secret swaps a link to a new file.
    let metadata = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: metadata.modified().ok(),
        len: metadata.len(),
        inode: metadata.ino(),
        device: metadata.dev(),
    })
}

/// Reloads `credentials` whenever its password file changes or the process gets
/// SIGHUP, reporting each outcome to `on_reload`. Without a password file, SIGHUP is
/// still taken (and only logged), so that a reload sent by a service manager never
/// ends the process. Runs until its task is dropped.
pub async fn watch_password_file(
    credentials: Arc<LiveCredentials>,
    on_reload: impl Fn(bool) + 'static,
) {
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(error) => {
            tracing::warn!(error = %error, "no SIGHUP handler: the password file is only polled");
            None
        }
    };
    let Some(path) = credentials.password_file() else {
        if let Some(signal) = hangup.as_mut() {
            while signal.recv().await.is_some() {
                tracing::info!("SIGHUP: nothing to reload (the password is not read from a file)");
            }
        }
        return;
    };
    let mut last = stamp(&path);
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let forced = tokio::select! {
            _ = tick.tick() => false,
            Some(()) = async {
                match hangup.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            } => true,
        };
        let now = stamp(&path);
        if !forced && now == last {
            continue;
        }
        last = now;
        on_reload(credentials.reload());
    }
}
