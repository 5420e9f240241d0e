//! The configured credentials: where the password came from, and the constant-time check
//! of the `userName` and `password` headers.

use std::fmt;
use std::path::{Path, PathBuf};

use actix_web::http::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why no credentials could be configured; `serve` exits 2 with this message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    /// Neither user name nor password is configured.
    #[error(
        "no credentials: set ITAU_CODIGO_USERNAME and ITAU_CODIGO_PASSWORD (or ITAU_CODIGO_PASSWORD_FILE)"
    )]
    MissingCredentials,
    /// One credential variable is missing or empty.
    #[error(
        "{0} is not set or empty: set ITAU_CODIGO_USERNAME and ITAU_CODIGO_PASSWORD (or ITAU_CODIGO_PASSWORD_FILE)"
    )]
    EmptyCredential(&'static str),
    /// Both password forms are set.
    #[error("both ITAU_CODIGO_PASSWORD and ITAU_CODIGO_PASSWORD_FILE are set: keep one")]
    TwoPasswords,
    /// A password is shorter than the rule allows (outside the demo).
    #[error(
        "{what} is shorter than {MIN_PASSWORD_CHARS} characters: an API password must have at least {MIN_PASSWORD_CHARS} (make a random one, e.g. `openssl rand -base64 24`)"
    )]
    TooShort {
        /// Which password: the variable, or the file's line.
        what: String,
    },
    /// The password file cannot be read.
    #[error("cannot read ITAU_CODIGO_PASSWORD_FILE {path}: {reason}")]
    PasswordFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Where the password came from, so the demo's curl command can refer to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// The demo's own `demo`.
    DemoDefault,
    /// `ITAU_CODIGO_PASSWORD`.
    Environment,
    /// `ITAU_CODIGO_PASSWORD_FILE`.
    File(PathBuf),
    /// Given in code (tests).
    Literal,
}

/// Fewest characters (Unicode scalar values) an API password may have outside the
/// demo. Anyone who reaches the service may guess, and the throttle slows guessing
/// per address, not per botnet: only the password's own length puts it out of reach.
/// OPERATIONS.md says why this number.
pub const MIN_PASSWORD_CHARS: usize = 16;

/// Most passwords accepted at once: the old and the new one, during a rotation.
pub const MAX_PASSWORDS: usize = 2;

/// The configured user name and password (or, from a password file, up to two), kept
/// only as SHA-256 digests: comparing fixed-size digests in constant time leaks
/// neither content nor length.
#[derive(Clone)]
pub struct Credentials {
    username: String,
    username_digest: [u8; 32],
    /// One or two digests.
    password_digests: Vec<[u8; 32]>,
    source: PasswordSource,
    /// The length rule this set was held to, and a reread will be: 0 for the demo and
    /// for passwords given in code.
    min_password_chars: usize,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// Which headers carried what: what `Credentials::verify` tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Both headers present once and both right.
    Accepted,
    /// A header missing, empty or repeated.
    Missing,
    /// Both present, at least one wrong.
    Wrong,
}

impl Credentials {
    /// Credentials from values given in code (tests, embedding): the caller chooses the
    /// password, so [`MIN_PASSWORD_CHARS`] is not applied.
    ///
    /// # Errors
    ///
    /// An empty user name or password.
    pub fn new(username: &str, password: &SecretString) -> Result<Self, CredentialsError> {
        Self::with_passwords(
            username,
            std::slice::from_ref(password),
            PasswordSource::Literal,
            0,
        )
    }

    fn with_passwords(
        username: &str,
        passwords: &[SecretString],
        source: PasswordSource,
        min_password_chars: usize,
    ) -> Result<Self, CredentialsError> {
        if username.is_empty() {
            return Err(CredentialsError::EmptyCredential("ITAU_CODIGO_USERNAME"));
        }
        if passwords.is_empty() || passwords.iter().any(|p| p.expose_secret().is_empty()) {
            return Err(CredentialsError::EmptyCredential("ITAU_CODIGO_PASSWORD"));
        }
        if let Some(line) = passwords
            .iter()
            .position(|p| p.expose_secret().chars().count() < min_password_chars)
        {
            let what = match &source {
                PasswordSource::File(path) if passwords.len() > 1 => format!(
                    "line {} of ITAU_CODIGO_PASSWORD_FILE {}",
                    line + 1,
                    path.display()
                ),
                PasswordSource::File(path) => {
                    format!(
                        "the password in ITAU_CODIGO_PASSWORD_FILE {}",
                        path.display()
                    )
                }
                _ => "ITAU_CODIGO_PASSWORD".to_owned(),
            };
            return Err(CredentialsError::TooShort { what });
        }
        Ok(Self {
            username: username.to_owned(),
            username_digest: Sha256::digest(username.as_bytes()).into(),
            password_digests: passwords
                .iter()
                .map(|p| Sha256::digest(p.expose_secret().as_bytes()).into())
                .collect(),
            source,
            min_password_chars,
        })
    }

    /// The same user name with the password file read again.
    ///
    /// # Errors
    ///
    /// The password does not come from a file, or the file cannot be read, is empty,
    /// has an empty line or more than two lines.
    pub fn reread(&self) -> Result<Self, CredentialsError> {
        let PasswordSource::File(path) = &self.source else {
            return Err(CredentialsError::PasswordFile {
                path: String::new(),
                reason: "the password does not come from a file".to_owned(),
            });
        };
        let passwords = read_password_file(path)?;
        Self::with_passwords(
            &self.username,
            &passwords,
            self.source.clone(),
            self.min_password_chars,
        )
    }

    /// How many passwords are accepted (two during a rotation).
    pub fn password_count(&self) -> usize {
        self.password_digests.len()
    }

    /// Reads `ITAU_CODIGO_USERNAME` and `ITAU_CODIGO_PASSWORD` or `ITAU_CODIGO_PASSWORD_FILE`
    /// (one or two passwords, one a line) through `var`. For the demo, both default to
    /// `demo`.
    ///
    /// # Errors
    ///
    /// Nothing set, one part missing or empty, both password forms set, or an unreadable
    /// password file.
    pub fn from_env(
        var: impl Fn(&str) -> Option<String>,
        demo: bool,
    ) -> Result<Self, CredentialsError> {
        let username = var("ITAU_CODIGO_USERNAME");
        let password = var("ITAU_CODIGO_PASSWORD");
        let password_file = var("ITAU_CODIGO_PASSWORD_FILE");
        let (passwords, source) = match (password, password_file) {
            (Some(_), Some(_)) => return Err(CredentialsError::TwoPasswords),
            (Some(password), None) => (vec![password.into()], PasswordSource::Environment),
            (None, Some(path)) => (
                read_password_file(Path::new(&path))?,
                PasswordSource::File(path.into()),
            ),
            (None, None) if demo => (vec!["demo".into()], PasswordSource::DemoDefault),
            (None, None) if username.is_none() => return Err(CredentialsError::MissingCredentials),
            (None, None) => return Err(CredentialsError::EmptyCredential("ITAU_CODIGO_PASSWORD")),
        };
        let username = match username {
            Some(username) => username,
            None if demo => "demo".to_owned(),
            None => return Err(CredentialsError::EmptyCredential("ITAU_CODIGO_USERNAME")),
        };
        let min_password_chars = if demo { 0 } else { MIN_PASSWORD_CHARS };
        Self::with_passwords(&username, &passwords, source, min_password_chars)
    }

    /// The user name (not secret: it is printed in the demo's curl command).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Where the password came from.
    pub fn password_source(&self) -> &PasswordSource {
        &self.source
    }

    /// Checks the `userName` and `password` headers. The user name and every configured
    /// password are always compared, in constant time, whatever an earlier comparison
    /// found.
    pub fn verify(&self, headers: &HeaderMap) -> Verdict {
        let (Some(username), Some(password)) = (
            single_header(headers, "username"),
            single_header(headers, "password"),
        ) else {
            return Verdict::Missing;
        };
        let username_ok = Sha256::digest(username).ct_eq(&self.username_digest);
        let presented: [u8; 32] = Sha256::digest(password).into();
        let password_ok = self
            .password_digests
            .iter()
            .fold(subtle::Choice::from(0), |ok, digest| {
                ok | presented.ct_eq(digest)
            });
        if bool::from(username_ok & password_ok) {
            Verdict::Accepted
        } else {
            Verdict::Wrong
        }
    }
}

/// The value of a header sent exactly once and not empty.
fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h [u8]> {
    let mut values = headers.get_all(name);
    let value = values.next()?;
    (values.next().is_none() && !value.is_empty()).then(|| value.as_bytes())
}

/// The passwords of a password file: one or two lines, one trailing newline (`\n` or
/// `\r\n`) stripped, each line's `\r` too. The reasons never quote the content.
fn read_password_file(path: &Path) -> Result<Vec<SecretString>, CredentialsError> {
    let refuse = |reason: String| CredentialsError::PasswordFile {
        path: path.display().to_string(),
        reason,
    };
    let text =
        SecretString::from(std::fs::read_to_string(path).map_err(|e| refuse(e.to_string()))?);
    let text = text.expose_secret();
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() || text == "\r" {
        return Err(refuse("the file is empty".to_owned()));
    }
    let lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    if lines.len() > MAX_PASSWORDS {
        return Err(refuse(format!(
            "the file holds {} lines; at most {MAX_PASSWORDS} passwords, one a line",
            lines.len()
        )));
    }
    if let Some(n) = lines.iter().position(|line| line.is_empty()) {
        return Err(refuse(format!("line {} is empty", n + 1)));
    }
    Ok(lines.into_iter().map(SecretString::from).collect())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::test_support::headers;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    /// A password file in a directory of the test's own (`tag`), for user `u`.
    struct PasswordFile(std::path::PathBuf);

    impl PasswordFile {
        fn new(tag: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("itau-codigo-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir.join("password"))
        }

        /// The credentials read from the file once it holds `content`.
        fn read(&self, content: &str) -> Result<Credentials, CredentialsError> {
            std::fs::write(&self.0, content).unwrap();
            Credentials::from_env(
                env(&[
                    ("ITAU_CODIGO_USERNAME", "u"),
                    ("ITAU_CODIGO_PASSWORD_FILE", self.0.to_str().unwrap()),
                ]),
                false,
            )
        }
    }

    #[test]
    fn serve_refuses_to_start_without_credentials_and_says_what_to_set() {
        let error = Credentials::from_env(env(&[]), false).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("ITAU_CODIGO_USERNAME and ITAU_CODIGO_PASSWORD"),
            "{error}"
        );
        assert_eq!(
            Credentials::from_env(env(&[("ITAU_CODIGO_USERNAME", "u")]), false).unwrap_err(),
            CredentialsError::EmptyCredential("ITAU_CODIGO_PASSWORD")
        );
        assert_eq!(
            Credentials::from_env(
                env(&[("ITAU_CODIGO_USERNAME", "u"), ("ITAU_CODIGO_PASSWORD", "")]),
                false
            )
            .unwrap_err(),
            CredentialsError::EmptyCredential("ITAU_CODIGO_PASSWORD")
        );
        assert_eq!(
            Credentials::from_env(
                env(&[
                    ("ITAU_CODIGO_USERNAME", "u"),
                    ("ITAU_CODIGO_PASSWORD", "p"),
                    ("ITAU_CODIGO_PASSWORD_FILE", "/x")
                ]),
                false
            )
            .unwrap_err(),
            CredentialsError::TwoPasswords
        );
    }

    #[test]
    fn the_password_file_loses_one_trailing_newline() {
        let file = PasswordFile::new("pw");
        let read = |content: &str| file.read(content).unwrap();
        let right = headers(&[("userName", "u"), ("password", "s3cret-senha-longa")]);
        assert_eq!(
            read("s3cret-senha-longa\n").verify(&right),
            Verdict::Accepted
        );
        assert_eq!(
            read("s3cret-senha-longa\r\n").verify(&right),
            Verdict::Accepted
        );
        assert_eq!(read("s3cret-senha-longa").verify(&right), Verdict::Accepted);
        // Two passwords, one a line: both accepted, anything else refused.
        let rotating = read("0ld-one-senha-longa\r\ns3cret-senha-longa\n");
        assert_eq!(rotating.password_count(), 2);
        assert_eq!(rotating.verify(&right), Verdict::Accepted);
        let old = headers(&[("userName", "u"), ("password", "0ld-one-senha-longa")]);
        assert_eq!(rotating.verify(&old), Verdict::Accepted);
        let neither = headers(&[
            ("userName", "u"),
            ("password", "0ld-one-senha-longas3cret-senha-longa"),
        ]);
        assert_eq!(rotating.verify(&neither), Verdict::Wrong);
        let wrong_user = headers(&[("userName", "x"), ("password", "0ld-one-senha-longa")]);
        assert_eq!(rotating.verify(&wrong_user), Verdict::Wrong);
    }

    #[test]
    fn a_password_file_that_is_empty_has_an_empty_line_or_three_lines_is_refused() {
        let password_file = PasswordFile::new("pw3");
        let read = |content: &str| password_file.read(content);
        let file = &password_file.0;
        for (content, reason) in [
            ("", "empty"),
            ("\n", "empty"),
            ("s3cret-senha-longa\n\n", "line 2 is empty"),
            ("\ns3cret", "line 1 is empty"),
            ("a-1\nb-2\nc-3\n", "holds 3 lines"),
        ] {
            let error = read(content).unwrap_err().to_string();
            assert!(error.contains(reason), "{content:?}: {error}");
            for secret in ["s3cret", "a-1", "b-2", "c-3"] {
                assert!(!error.contains(secret), "{error}");
            }
        }
        let good = read("s3cret-senha-longa\n").unwrap();
        std::fs::write(file, "s3cret-senha-longa\nn3w-one-senha-longa\n").unwrap();
        assert_eq!(good.reread().unwrap().password_count(), 2);
        std::fs::remove_file(file).unwrap();
        assert!(good.reread().is_err());
    }

    #[test]
    fn a_password_shorter_than_the_rule_is_refused_outside_the_demo_naming_the_rule() {
        let short = "fifteen-chars-x";
        assert_eq!(short.chars().count(), MIN_PASSWORD_CHARS - 1);
        let variables = [
            ("ITAU_CODIGO_USERNAME", "u"),
            ("ITAU_CODIGO_PASSWORD", short),
        ];
        let error = Credentials::from_env(env(&variables), false).unwrap_err();
        assert_eq!(
            error,
            CredentialsError::TooShort {
                what: "ITAU_CODIGO_PASSWORD".into()
            }
        );
        let message = error.to_string();
        assert!(message.contains("at least 16"), "{message}");
        assert!(!message.contains(short), "{message}");
        // Characters, not bytes: 16 two-byte characters pass, 15 do not.
        let accented = "ç".repeat(MIN_PASSWORD_CHARS);
        let variables = [
            ("ITAU_CODIGO_USERNAME", "u"),
            ("ITAU_CODIGO_PASSWORD", &accented),
        ];
        assert!(Credentials::from_env(env(&variables), false).is_ok());
        let variables = [
            ("ITAU_CODIGO_USERNAME", "u"),
            ("ITAU_CODIGO_PASSWORD", &accented[2..]),
        ];
        assert!(Credentials::from_env(env(&variables), false).is_err());
        // The demo takes any password: it is for a laptop, on loopback.
        let variables = [("ITAU_CODIGO_USERNAME", "u"), ("ITAU_CODIGO_PASSWORD", "p")];
        assert!(Credentials::from_env(env(&variables), true).is_ok());
    }

    #[test]
    fn a_password_file_reloaded_with_a_short_password_keeps_the_last_good_set() {
        let password_file = PasswordFile::new("pw-short");
        let error = password_file
            .read("old-but-long-enough\nshort\n")
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("line 2 of ITAU_CODIGO_PASSWORD_FILE"),
            "{error}"
        );
        assert!(!error.to_string().contains("short\n"), "{error}");
        let good = password_file.read("old-but-long-enough\n").unwrap();
        std::fs::write(&password_file.0, "short\n").unwrap();
        let error = good.reread().unwrap_err();
        assert!(
            matches!(error, CredentialsError::TooShort { .. }),
            "{error}"
        );
    }

    #[test]
    fn the_demo_defaults_to_demo_demo() {
        let credentials = Credentials::from_env(env(&[]), true).unwrap();
        assert_eq!(
            credentials.verify(&headers(&[("username", "demo"), ("PASSWORD", "demo")])),
            Verdict::Accepted
        );
        assert_eq!(credentials.password_source(), &PasswordSource::DemoDefault);
    }

    #[test]
    fn missing_empty_or_repeated_headers_are_missing_credentials() {
        let credentials = Credentials::new("u", &SecretString::from("p")).unwrap();
        assert_eq!(
            credentials.verify(&headers(&[("userName", "u")])),
            Verdict::Missing
        );
        assert_eq!(
            credentials.verify(&headers(&[("userName", "u"), ("password", "")])),
            Verdict::Missing
        );
        assert_eq!(
            credentials.verify(&headers(&[
                ("userName", "u"),
                ("password", "p"),
                ("password", "p")
            ])),
            Verdict::Missing
        );
        assert_eq!(
            credentials.verify(&headers(&[("userName", "x"), ("password", "p")])),
            Verdict::Wrong
        );
        assert_eq!(
            credentials.verify(&headers(&[("userName", "u"), ("password", "p")])),
            Verdict::Accepted
        );
    }

    #[test]
    fn debug_shows_no_credential() {
        let credentials = Credentials::new("alice", &SecretString::from("hunter2")).unwrap();
        let debug = format!("{credentials:?}");
        assert!(!debug.contains("alice") && !debug.contains("hunter2"));
    }
}
