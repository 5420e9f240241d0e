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

/// The configured user name and password, kept only as SHA-256 digests: comparing
/// fixed-size digests in constant time leaks neither content nor length.
#[derive(Clone)]
pub struct Credentials {
    username: String,
    username_digest: [u8; 32],
    password_digest: [u8; 32],
    source: PasswordSource,
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
    /// Credentials from values.
    ///
    /// # Errors
    ///
    /// An empty user name or password.
    pub fn new(username: &str, password: &SecretString) -> Result<Self, CredentialsError> {
        Self::with_source(username, password, PasswordSource::Literal)
    }

    fn with_source(
        username: &str,
        password: &SecretString,
        source: PasswordSource,
    ) -> Result<Self, CredentialsError> {
        if username.is_empty() {
            return Err(CredentialsError::EmptyCredential("ITAU_CODIGO_USERNAME"));
        }
        if password.expose_secret().is_empty() {
            return Err(CredentialsError::EmptyCredential("ITAU_CODIGO_PASSWORD"));
        }
        Ok(Self {
            username: username.to_owned(),
            username_digest: Sha256::digest(username.as_bytes()).into(),
            password_digest: Sha256::digest(password.expose_secret().as_bytes()).into(),
            source,
        })
    }

    /// Reads `ITAU_CODIGO_USERNAME` and `ITAU_CODIGO_PASSWORD` or `ITAU_CODIGO_PASSWORD_FILE`
    /// (one trailing newline stripped) through `var`. For the demo, both default to `demo`.
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
        let (password, source) = match (password, password_file) {
            (Some(_), Some(_)) => return Err(CredentialsError::TwoPasswords),
            (Some(password), None) => (password, PasswordSource::Environment),
            (None, Some(path)) => (
                read_password_file(Path::new(&path))?,
                PasswordSource::File(path.into()),
            ),
            (None, None) if demo => ("demo".to_owned(), PasswordSource::DemoDefault),
            (None, None) if username.is_none() => return Err(CredentialsError::MissingCredentials),
            (None, None) => return Err(CredentialsError::EmptyCredential("ITAU_CODIGO_PASSWORD")),
        };
        let username = match username {
            Some(username) => username,
            None if demo => "demo".to_owned(),
            None => return Err(CredentialsError::EmptyCredential("ITAU_CODIGO_USERNAME")),
        };
        Self::with_source(&username, &SecretString::from(password), source)
    }

    /// The user name (not secret: it is printed in the demo's curl command).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Where the password came from.
    pub fn password_source(&self) -> &PasswordSource {
        &self.source
    }

    /// Checks the `userName` and `password` headers. Both are always compared, in
    /// constant time, whatever the first comparison found.
    pub fn verify(&self, headers: &HeaderMap) -> Verdict {
        let (Some(username), Some(password)) = (
            single_header(headers, "username"),
            single_header(headers, "password"),
        ) else {
            return Verdict::Missing;
        };
        let username_ok = Sha256::digest(username).ct_eq(&self.username_digest);
        let password_ok = Sha256::digest(password).ct_eq(&self.password_digest);
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

fn read_password_file(path: &Path) -> Result<String, CredentialsError> {
    let text = std::fs::read_to_string(path).map_err(|e| CredentialsError::PasswordFile {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let text = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
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
        let dir = std::env::temp_dir().join(format!("itau-codigo-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("password");
        let read = |content: &str| {
            std::fs::write(&file, content).unwrap();
            Credentials::from_env(
                env(&[
                    ("ITAU_CODIGO_USERNAME", "u"),
                    ("ITAU_CODIGO_PASSWORD_FILE", file.to_str().unwrap()),
                ]),
                false,
            )
            .unwrap()
        };
        let right = headers(&[("userName", "u"), ("password", "s3cret")]);
        assert_eq!(read("s3cret\n").verify(&right), Verdict::Accepted);
        assert_eq!(read("s3cret\r\n").verify(&right), Verdict::Accepted);
        assert_eq!(read("s3cret").verify(&right), Verdict::Accepted);
        // Only one newline goes: the second is part of the password.
        assert_eq!(read("s3cret\n\n").verify(&right), Verdict::Wrong);
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
