//! libpq's password file (`.pgpass` format), named by a `passfile=PATH` parameter of a
//! PostgreSQL URL: read again for every new connection, so that a rotated database
//! password needs no restart.
//!
//! Each line is `hostname:port:database:username:password`; `*` in any of the first
//! four fields matches anything, `\:` and `\\` are a literal `:` and `\`, and lines
//! starting with `#` are comments. The first line that matches wins. As libpq does, a
//! file that its group or others may read is not used (libpq ignores it with a
//! warning; here it is an error that says so, since a password left out makes every
//! connection fail anyway), with the one exception libpq makes for its TLS key file: a
//! file owned by root may be read by its group. That is what a Kubernetes secret
//! volume with `fsGroup` makes (root's file, mode 0440, the pod's group), and the only
//! way such a volume lets a non-root user read a file that others cannot.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why no password could be read from the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassfileError {
    /// The file cannot be read.
    #[error("cannot read the passfile {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is open to others, or to its group and not root's.
    #[error(
        "the passfile {path} may be read by others (mode {mode:04o}): run `chmod 600` on it, as libpq requires"
    )]
    NotPrivate {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// No line matches the connection.
    #[error("no line of the passfile {path} matches {host}:{port}:{database}:{user}")]
    NoMatch {
        /// The file.
        path: PathBuf,
        /// The connection's host.
        host: String,
        /// The connection's port.
        port: u16,
        /// The connection's database.
        database: String,
        /// The connection's user.
        user: String,
    },
}

/// What a connection is, as a passfile line is matched against it.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionKey<'a> {
    /// The host name or address as written in the URL (`localhost` for a Unix socket,
    /// as libpq matches it).
    pub host: &'a str,
    /// The port.
    pub port: u16,
    /// The database.
    pub database: &'a str,
    /// The user.
    pub user: &'a str,
}

/// A passfile, named by path and read at each [`Passfile::password`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passfile {
    path: PathBuf,
}

impl Passfile {
    /// The passfile at `path` (not read yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file now and returns the password of the first line matching `key`.
    ///
    /// # Errors
    ///
    /// The file cannot be read, is open to others, or has no matching line.
    pub fn password(&self, key: ConnectionKey<'_>) -> Result<String, PassfileError> {
        let unreadable = |e: std::io::Error| PassfileError::Unreadable {
            path: self.path.clone(),
            reason: e.to_string(),
        };
        let metadata = std::fs::metadata(&self.path).map_err(unreadable)?;
        let mode = metadata.permissions().mode() & 0o777;
        if !is_private(metadata.uid(), mode) {
            return Err(PassfileError::NotPrivate {
                path: self.path.clone(),
                mode,
            });
        }
        let text = std::fs::read_to_string(&self.path).map_err(unreadable)?;
        password_in(&text, key).ok_or_else(|| PassfileError::NoMatch {
            path: self.path.clone(),
            host: key.host.to_owned(),
            port: key.port,
            database: key.database.to_owned(),
            user: key.user.to_owned(),
        })
    }
}

/// Whether a file of this owner and mode is private enough to hold a password: libpq's
/// rule for its TLS key file. Root's file may be read by its group (0640 at most), any
/// other owner's by its owner only (0600 at most).
fn is_private(owner: u32, mode: u32) -> bool {
    const ROOT: u32 = 0;
    let forbidden = if owner == ROOT { 0o037 } else { 0o077 };
    mode & forbidden == 0
}

/// The password of the first line of `text` that matches `key`.
fn password_in(text: &str, key: ConnectionKey<'_>) -> Option<String> {
    let port = key.port.to_string();
    let wanted = [key.host, port.as_str(), key.database, key.user];
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .filter_map(fields)
        .find(|fields| {
            fields[..4]
                .iter()
                .zip(wanted)
                .all(|(field, wanted)| field == "*" || field == wanted)
        })
        .map(|mut fields| fields.swap_remove(4))
}

/// The five fields of a line (`\:` and `\\` unescaped), or `None` for a line with fewer.
/// A line with more keeps the rest in the password, as libpq does.
fn fields(line: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut()?.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut()?.push(c),
        }
    }
    (fields.len() == 5).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: ConnectionKey<'static> = ConnectionKey {
        host: "db.internal",
        port: 5432,
        database: "itau",
        user: "itau",
    };

    #[test]
    fn the_first_matching_line_wins_with_wildcards() {
        let text =
            "# comment\n\nother:5432:itau:itau:no\ndb.internal:*:itau:itau:first\n*:*:*:*:second\n";
        assert_eq!(password_in(text, KEY).as_deref(), Some("first"));
        let elsewhere = ConnectionKey {
            host: "10.0.0.9",
            ..KEY
        };
        assert_eq!(password_in(text, elsewhere).as_deref(), Some("second"));
    }

    #[test]
    fn escaped_colons_and_backslashes_are_literal() {
        let text = r"db.internal:5432:itau:itau:pa\:ss\\word:tail";
        assert_eq!(password_in(text, KEY).as_deref(), Some(r"pa:ss\word:tail"));
    }

    #[test]
    fn a_line_with_fewer_than_five_fields_or_no_match_gives_nothing() {
        assert_eq!(password_in("db.internal:5432:itau:itau\n", KEY), None);
        assert_eq!(password_in("db.internal:5433:itau:itau:x\n", KEY), None);
    }

    #[test]
    fn a_file_open_to_others_is_refused_naming_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = Passfile::new(&path).password(KEY).unwrap_err();
        assert_eq!(
            error,
            PassfileError::NotPrivate {
                path: path.clone(),
                mode: 0o644
            }
        );
        assert!(!error.to_string().contains("secret"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Passfile::new(&path).password(KEY).as_deref(), Ok("secret"));
    }

    #[test]
    fn only_roots_file_may_be_read_by_its_group_as_a_kubernetes_secret_volume_makes_it() {
        const ROOT: u32 = 0;
        const SERVICE: u32 = 10001;
        for (owner, mode, private) in [
            (SERVICE, 0o600, true),
            (SERVICE, 0o400, true),
            (SERVICE, 0o640, false),
            (SERVICE, 0o440, false),
            (SERVICE, 0o604, false),
            (ROOT, 0o600, true),
            // A secret volume with defaultMode 0400 and fsGroup: the kubelet adds 0440.
            (ROOT, 0o440, true),
            (ROOT, 0o640, true),
            (ROOT, 0o660, false),
            (ROOT, 0o650, false),
            (ROOT, 0o444, false),
            (ROOT, 0o644, false),
        ] {
            assert_eq!(is_private(owner, mode), private, "{owner} {mode:04o}");
        }
    }

    #[test]
    fn no_match_names_the_connection_but_not_a_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "other:1:a:b:secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let error = Passfile::new(&path).password(KEY).unwrap_err().to_string();
        assert!(error.contains("db.internal:5432:itau:itau"), "{error}");
        assert!(!error.contains("secret"), "{error}");
    }
}
