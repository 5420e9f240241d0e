//! Where the data lives: `--db` parsed into a [`DbLocation`] (a SQLite file or a
//! PostgreSQL URL), and the one way a location is shown, without its password.

use std::fmt;

/// Where the data lives, parsed from `--db`.
#[derive(Clone, PartialEq, Eq)]
pub enum DbLocation {
    /// A SQLite file.
    SqliteFile(std::path::PathBuf),
    /// A PostgreSQL URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl DbLocation {
    /// Parses `sqlite:PATH`, a bare path, or a PostgreSQL URL.
    ///
    /// # Errors
    ///
    /// An empty value, `sqlite:` with no path, another URL scheme, or a libpq
    /// keyword/value string (`host=db password=…`), which would otherwise be taken for
    /// a file name and shown, password and all. The message never quotes the value.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return Ok(Self::Postgres(value.to_owned()));
        }
        if value
            .split_once("://")
            .is_some_and(|(scheme, _)| scheme != "sqlite")
        {
            return Err(
                "expected sqlite:PATH, a path or a postgres:// URL, found a URL of \
                        another scheme (schemes are lower case: postgres://, postgresql://, \
                        sqlite://)"
                    .to_owned(),
            );
        }
        if looks_like_keyword_value(value) {
            return Err(
                "expected sqlite:PATH, a path or a postgres:// URL, found what looks \
                        like a libpq keyword/value string (host=… dbname=…): write it as a \
                        postgres://user:password@host:port/dbname?param=value URL"
                    .to_owned(),
            );
        }
        let path = value
            .strip_prefix("sqlite://")
            .or_else(|| value.strip_prefix("sqlite:"))
            .unwrap_or(value);
        if path.is_empty() {
            return Err(format!(
                "expected sqlite:PATH, a path or a postgres:// URL, found {value:?}"
            ));
        }
        Ok(Self::SqliteFile(path.into()))
    }

    /// What kind of database it is, as OpenTelemetry names it (`db.system.name`).
    pub fn system_name(&self) -> &'static str {
        match self {
            Self::SqliteFile(_) => "sqlite",
            Self::Postgres(_) => "postgresql",
        }
    }

    /// Where an import into it spills its sort unless told: beside a SQLite file, since
    /// the disk that holds the store has room for its data; `None` (the system's
    /// temporary directory) for a database on another machine.
    pub fn default_spill_dir(&self) -> Option<std::path::PathBuf> {
        match self {
            Self::SqliteFile(path) => Some(match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
                _ => ".".into(),
            }),
            Self::Postgres(_) => None,
        }
    }
}

/// libpq's connection keywords that a keyword/value string starts with, or holds.
const LIBPQ_KEYWORDS: [&str; 8] = [
    "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "sslmode",
];

/// Whether `value` holds `keyword =` (spaces allowed around `=`) at its start or after
/// a space, for one of libpq's connection keywords.
fn looks_like_keyword_value(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.split_whitespace().enumerate().any(|(i, word)| {
        LIBPQ_KEYWORDS.iter().any(|keyword| {
            word.strip_prefix(keyword).is_some_and(|rest| {
                rest.starts_with('=')
                    || (rest.is_empty()
                        && lower
                            .split_whitespace()
                            .nth(i + 1)
                            .is_some_and(|next| next.starts_with('=')))
            })
        })
    })
}

impl fmt::Display for DbLocation {
    /// Never shows a password: `postgres://user:***@host/db`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SqliteFile(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) => f.write_str(&redacted_url(url)),
        }
    }
}

impl fmt::Debug for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A database URL as it may be shown in logs and messages, built from its parts with
/// the password left out: `scheme://user:***@host:port/db?params`, where a
/// `password=` parameter's value is `***` too.
///
/// The parts are found so that no password character can end up outside them, even
/// one the URL should have percent-encoded: every `password=` value is cut out first
/// (up to the next `&`), then the user information is everything up to the *last*
/// `@`, so a raw `/`, `?`, `#` or `@` in the password stays inside it. A URL that is
/// odd in another way loses detail, never the password.
pub fn redacted_url(url: &str) -> String {
    let url = redact_password_parameters(url);
    let (scheme, rest) = url.split_once("://").unwrap_or(("", &url));
    let mut shown = String::with_capacity(url.len());
    if !scheme.is_empty() {
        shown.push_str(scheme);
        shown.push_str("://");
    }
    match rest.rsplit_once('@') {
        Some((userinfo, host_and_rest)) => {
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    shown.push_str(user);
                    shown.push_str(":***");
                }
                None => shown.push_str(userinfo),
            }
            shown.push('@');
            shown.push_str(host_and_rest);
        }
        None => shown.push_str(rest),
    }
    shown
}

/// `url` with the value of every `password=` parameter replaced by `***`. The key is
/// found whatever its case and percent-encoding (`Password=`, `pass%77ord=`), and the
/// value runs to the next `&` that starts another `key=`: a raw `&` inside the
/// password does not end it.
fn redact_password_parameters(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(value_start) = find_password_key(rest) {
        out.push_str(&rest[..value_start]);
        out.push_str("***");
        rest = &rest[value_start..];
        rest = next_parameter(rest).map_or("", |end| &rest[end..]);
    }
    out.push_str(rest);
    out
}

/// Where the value of the first `password=` in `text` starts (after the `=`), the key
/// compared percent-decoded and case-blind; keys start at the beginning, or after `?`,
/// `&`, `/`, `@` or whitespace.
fn find_password_key(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut key_start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        match byte {
            b'?' | b'&' | b'/' | b'@' | b' ' | b'\t' => key_start = i + 1,
            b'=' => {
                // `password`, and any other secret libpq names so (`sslpassword`).
                let key = percent_decode_lossy(&text[key_start..i])
                    .trim()
                    .to_ascii_lowercase();
                if key.ends_with("password") {
                    return Some(i + 1);
                }
                key_start = i + 1;
            }
            _ => {}
        }
    }
    None
}

/// Where the next parameter after a value starts: the first `&` followed by a key and
/// `=` (no `&` or `=` in the key).
fn next_parameter(value: &str) -> Option<usize> {
    value.match_indices('&').map(|(i, _)| i).find(|&i| {
        let after = &value[i + 1..];
        after
            .find(['=', '&'])
            .is_some_and(|end| end > 0 && after.as_bytes()[end] == b'=')
    })
}

/// `%XX` sequences decoded (anything else kept as it is), as URLs and libpq do; bytes
/// that are no UTF-8 become U+FFFD.
pub(super) fn percent_decode_lossy(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_urls_are_shown_without_their_password() {
        assert_eq!(
            redacted_url("postgres://app:s3cr3t@db:5432/itau"),
            "postgres://app:***@db:5432/itau"
        );
        assert_eq!(
            redacted_url("postgresql://app@db/itau?password=x&sslmode=require"),
            "postgresql://app@db/itau?password=***&sslmode=require"
        );
        assert_eq!(redacted_url("postgres://db/itau"), "postgres://db/itau");
    }

    #[test]
    fn passwords_with_url_delimiters_are_never_shown() {
        const SECRETS: [&str; 4] = ["p/a?s@s%w#rd", "p/a?s", "s%w#rd", "@s%w"];
        let cases = [
            // Raw, as a careless URL holds them.
            (
                "postgres://app:p/a?s@s%w#rd@db:5432/itau",
                "postgres://app:***@db:5432/itau",
            ),
            // Percent-encoded, as a correct URL holds them.
            (
                "postgres://app:p%2Fa%3Fs%40s%25w%23rd@db:5432/itau",
                "postgres://app:***@db:5432/itau",
            ),
            (
                "postgres://app@db/itau?sslpassword=K3y-p4ss&sslmode=require",
                "postgres://app@db/itau?sslpassword=***&sslmode=require",
            ),
            (
                "postgres://app@db:5432/itau?password=p/a?s@s%w#rd&sslmode=require",
                "postgres://app@db:5432/itau?password=***&sslmode=require",
            ),
            (
                "postgres://app@db:5432/itau?sslmode=require&password=p/a?s@s%w#rd",
                "postgres://app@db:5432/itau?sslmode=require&password=***",
            ),
            (
                "postgres://app:p/a?s@s%w#rd@db/itau?password=p/a?s@s%w#rd",
                "postgres://app:***@db/itau?password=***",
            ),
        ];
        for (url, expected) in cases {
            let shown = redacted_url(url);
            assert_eq!(shown, expected, "{url}");
            for secret in SECRETS {
                assert!(!shown.contains(secret), "{url} shows {secret}: {shown}");
            }
            let location = DbLocation::parse(url).unwrap();
            assert_eq!(location.to_string(), expected, "{url}");
            assert_eq!(format!("{location:?}"), expected, "{url}");
        }
    }

    #[test]
    fn password_parameters_are_found_whatever_their_spelling() {
        let cases = [
            (
                "postgres://app@db/itau?Password=s3cr3t&sslmode=require",
                "postgres://app@db/itau?Password=***&sslmode=require",
            ),
            (
                "postgres://app@db/itau?pass%77ord=s3cr3t&sslmode=require",
                "postgres://app@db/itau?pass%77ord=***&sslmode=require",
            ),
            (
                "postgres://app@db/itau?sslmode=require&password=s3&cr3t",
                "postgres://app@db/itau?sslmode=require&password=***",
            ),
            (
                "postgres://app@db/itau?password=s3&cr3t&sslmode=require",
                "postgres://app@db/itau?password=***&sslmode=require",
            ),
            (
                "postgres://app:s3cr3t@db/itau?password=p%26ss=s3cr3t",
                "postgres://app:***@db/itau?password=***",
            ),
        ];
        for (url, expected) in cases {
            let shown = redacted_url(url);
            assert_eq!(shown, expected, "{url}");
            assert!(!shown.contains("cr3t"), "{url} shows {shown}");
        }
    }

    #[test]
    fn keyword_value_strings_and_other_schemes_are_refused_without_being_quoted() {
        for value in [
            "host=db password=s3cr3t dbname=itau",
            "dbname = itau password = 's3 cr3t'",
            "user=app password=s3cr3t",
            "POSTGRES://app:s3cr3t@db/itau",
            "mysql://app:s3cr3t@db/itau",
        ] {
            let error = DbLocation::parse(value).unwrap_err();
            assert!(
                !error.contains("s3cr3t") && !error.contains("cr3t"),
                "{value}: {error}"
            );
        }
        // A path may hold '=' as long as it is not a libpq keyword's.
        assert_eq!(
            DbLocation::parse("data/run=3/itau.db"),
            Ok(DbLocation::SqliteFile("data/run=3/itau.db".into()))
        );
        assert_eq!(
            DbLocation::parse("sqlite:///var/lib/itau.db"),
            Ok(DbLocation::SqliteFile("/var/lib/itau.db".into()))
        );
    }

    #[test]
    fn db_locations_parse_sqlite_paths_and_postgres_urls() {
        assert_eq!(
            DbLocation::parse("sqlite:a.db"),
            Ok(DbLocation::SqliteFile("a.db".into()))
        );
        assert_eq!(
            DbLocation::parse("/tmp/a.db"),
            Ok(DbLocation::SqliteFile("/tmp/a.db".into()))
        );
        assert_eq!(
            DbLocation::parse("postgresql://h/d"),
            Ok(DbLocation::Postgres("postgresql://h/d".into()))
        );
        assert!(DbLocation::parse("sqlite:").is_err());
    }
}
