//! A `--db` PostgreSQL URL read as libpq reads it (TLS modes, the CA file, a password
//! file), and the connections made to it.

use std::fmt;

use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::QUERY_TIMEOUT;
use super::passfile::{ConnectionKey, Passfile};
use super::tls::{SslMode, Tls};
use crate::store::StoreError;
use crate::store::location::{percent_decode_lossy, redacted_url};

/// A parsed `--db` URL: the connection settings, the TLS connector, the passfile that
/// holds the password (if the URL names one and holds none itself), and the location
/// as it may be shown (from [`redacted_url`], the one place a URL is redacted).
#[derive(Clone)]
pub(super) struct Target {
    config: Config,
    tls: MakeRustlsConnect,
    passfile: Option<Passfile>,
    /// The URL as it may be shown.
    pub(super) location: String,
}

impl Target {
    /// Parses a `postgres://` URL. The libpq TLS settings, `sslmode` (all six modes)
    /// and `sslrootcert`, are taken out of it and mean what they mean in libpq
    /// ([`Tls`]); tokio-postgres reads the rest.
    pub(super) fn parse(url: &str) -> Result<Self, StoreError> {
        let location = redacted_url(url);
        let bad = |reason: String| StoreError::Open {
            location: location.clone(),
            reason,
        };
        let (url, sslmode) = take_query_parameter(url, "sslmode");
        let (url, sslrootcert) = take_query_parameter(&url, "sslrootcert");
        let (url, passfile) = take_query_parameter(&url, "passfile");
        let mut config: Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| bad(format!("not a PostgreSQL URL: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("itau-codigo");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(QUERY_TIMEOUT);
        }
        // An `sslmode` tokio-postgres read but we did not would be overwritten below:
        // refuse rather than weaken it.
        if sslmode.is_none() && config.get_ssl_mode() != tokio_postgres::config::SslMode::Prefer {
            return Err(bad("sslmode is given in a form this program cannot read: write it as one plain `sslmode=` parameter".into()));
        }
        let tls = Tls::from_url_values(sslmode.as_deref(), sslrootcert.as_deref()).map_err(bad)?;
        config.ssl_mode(tls.wire);
        // As in libpq, a password in the URL wins over the passfile.
        let passfile = passfile
            .filter(|_| config.get_password().is_none())
            .map(Passfile::new);
        Ok(Self {
            config,
            tls: tls.connector,
            passfile,
            location,
        })
    }

    /// The settings for one new connection: with a passfile, its password as the file
    /// says now (read for every connection, so that a rotation needs no restart).
    pub(super) fn config_now(&self) -> Result<Config, StoreError> {
        let Some(passfile) = &self.passfile else {
            return Ok(self.config.clone());
        };
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(name)) => name.clone(),
            // libpq matches a Unix socket as `localhost`.
            _ => "localhost".to_owned(),
        };
        let key = ConnectionKey {
            host: &host,
            port: self.config.get_ports().first().copied().unwrap_or(5432),
            database: self
                .config
                .get_dbname()
                .or(self.config.get_user())
                .unwrap_or_default(),
            user: self.config.get_user().unwrap_or_default(),
        };
        let password = passfile.password(key).map_err(|e| self.open_error(e))?;
        let mut config = self.config.clone();
        config.password(password);
        Ok(config)
    }

    /// A new connection, its driver spawned on the current runtime; a failure names
    /// the store.
    pub(super) async fn connect(&self) -> Result<Client, StoreError> {
        let config = self.config_now()?;
        self.connect_with(&config)
            .await
            .map_err(|e| self.open_error(StoreError::from(e)))
    }

    /// A new connection made with `config` (from [`Self::config_now`]), its driver
    /// spawned on the current runtime; a failure as tokio-postgres reports it, so that
    /// serving can tell a lost server from a failed query.
    pub(super) async fn connect_with(
        &self,
        config: &Config,
    ) -> Result<Client, tokio_postgres::Error> {
        let (client, connection) = config.connect(self.tls.clone()).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "store connection closed");
            }
        });
        Ok(client)
    }

    /// `error`, as the failure to open the store at this URL.
    pub(super) fn open_error(&self, error: impl fmt::Display) -> StoreError {
        StoreError::Open {
            location: self.location.clone(),
            reason: error.to_string(),
        }
    }
}

/// See [`crate::store::weak_tls_warning`]. The hosts are read as tokio-postgres
/// reads them (`hostaddr`, when given, is where it connects); a multi-host URL warns
/// when any of its hosts is remote.
pub(in crate::store) fn weak_tls_warning(url: &str) -> Option<String> {
    let (rest, sslmode) = take_query_parameter(url, "sslmode");
    let (rest, sslrootcert) = take_query_parameter(&rest, "sslrootcert");
    let config: Config = rest.parse().ok()?;
    let mode = SslMode::of_url_values(sslmode.as_deref(), sslrootcert.as_deref()).ok()?;
    if mode == SslMode::VerifyFull {
        return None;
    }
    let remote: Vec<String> = if config.get_hostaddrs().is_empty() {
        config
            .get_hosts()
            .iter()
            .filter_map(|host| match host {
                Host::Tcp(name) if !is_loopback_name(name) => Some(name.clone()),
                _ => None,
            })
            .collect()
    } else {
        config
            .get_hostaddrs()
            .iter()
            .filter(|address| !address.is_loopback())
            .map(ToString::to_string)
            .collect()
    };
    if remote.is_empty() {
        return None;
    }
    let default = if sslmode.is_none() {
        " (the default)"
    } else {
        ""
    };
    Some(format!(
        "the PostgreSQL host {} is reached with sslmode={}{default}: {}. For production set \
         sslmode=verify-full with sslrootcert=PATH (the PEM of the authority that signed the \
         server's certificate) or sslrootcert=system in --db",
        remote.join(", "),
        mode.name(),
        mode.exposure(),
    ))
}

/// `localhost`, or an IPv4/IPv6 loopback address (brackets allowed).
fn is_loopback_name(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Removes `name=value` from a URL's query, returning the URL and the (percent-decoded)
/// value. The query starts where tokio-postgres starts it: at the first `?` after the
/// user information (which ends at the first `@`), so that a `?` in a password does not
/// hide a parameter from us that tokio-postgres would still read; keys are compared
/// percent-decoded, as tokio-postgres compares them.
fn take_query_parameter(url: &str, name: &str) -> (String, Option<String>) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let after_userinfo = url[after_scheme..]
        .find('@')
        .map_or(after_scheme, |i| after_scheme + i + 1);
    let Some(question) = url[after_userinfo..].find('?').map(|i| after_userinfo + i) else {
        return (url.to_owned(), None);
    };
    let (base, query) = (&url[..question], &url[question + 1..]);
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some((key, v)) if percent_decode_lossy(key) == name => {
                value = Some(percent_decode_lossy(v));
                false
            }
            _ => true,
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, value)
}

#[cfg(test)]
mod tests {
    use tokio_postgres::config::SslMode;

    use super::*;

    #[test]
    fn sslrootcert_is_taken_out_of_the_url_and_decoded() {
        assert_eq!(
            take_query_parameter(
                "postgres://h/d?sslmode=require&sslrootcert=%2Fetc%2Fca.pem&x=1",
                "sslrootcert"
            ),
            (
                "postgres://h/d?sslmode=require&x=1".to_owned(),
                Some("/etc/ca.pem".to_owned())
            )
        );
        assert_eq!(
            take_query_parameter("postgres://h/d?sslrootcert=/ca.pem", "sslrootcert"),
            ("postgres://h/d".to_owned(), Some("/ca.pem".to_owned()))
        );
        assert_eq!(
            take_query_parameter("postgres://h/d", "sslrootcert"),
            ("postgres://h/d".to_owned(), None)
        );
    }

    #[test]
    fn a_remote_host_below_verify_full_is_warned_about_naming_mode_and_fix() {
        let warning = weak_tls_warning("postgres://itau:S3cr3t-pw@db.internal:5432/itau").unwrap();
        assert!(
            warning.contains("db.internal")
                && warning.contains("sslmode=prefer (the default)")
                && warning.contains("sslmode=verify-full"),
            "{warning}"
        );
        assert!(!warning.contains("S3cr3t"), "{warning}");
        for mode in ["disable", "allow", "require", "verify-ca"] {
            let url =
                format!("postgres://itau:S3cr3t@10.1.2.3/itau?sslmode={mode}&sslrootcert=/ca.pem");
            let warning = weak_tls_warning(&url).unwrap();
            assert!(warning.contains(&format!("sslmode={mode}:")), "{warning}");
            assert!(!warning.contains("S3cr3t"), "{warning}");
        }
    }

    #[test]
    fn verify_full_loopback_and_unix_sockets_are_not_warned_about() {
        for url in [
            "postgres://itau:pw@db.internal/itau?sslmode=verify-full&sslrootcert=/ca.pem",
            "postgres://itau:pw@db.internal/itau?sslrootcert=system",
            "postgres://itau:pw@localhost/itau",
            "postgres://itau:pw@127.0.0.1:5432/itau?sslmode=disable",
            "postgres://itau:pw@[::1]:5432/itau",
            "postgres://itau@%2Fvar%2Frun%2Fpostgresql/itau",
            "postgres://itau@/itau?host=/var/run/postgresql",
            "postgres://itau:pw@db.internal/itau?hostaddr=127.0.0.1",
        ] {
            assert_eq!(weak_tls_warning(url), None, "{url}");
        }
    }

    #[test]
    fn a_multi_host_url_is_warned_about_when_any_host_is_remote() {
        let warning =
            weak_tls_warning("postgres://itau:pw@127.0.0.1,replica.internal/itau").unwrap();
        assert!(warning.contains("host replica.internal is"), "{warning}");
        let warning =
            weak_tls_warning("postgres://itau:pw@localhost/itau?hostaddr=192.0.2.7").unwrap();
        assert!(warning.contains("192.0.2.7"), "{warning}");
    }

    #[test]
    fn a_question_mark_in_the_password_or_an_encoded_key_hides_no_sslmode() {
        assert_eq!(
            take_query_parameter("postgres://app:p/a?s@db/itau?sslmode=require", "sslmode"),
            (
                "postgres://app:p/a?s@db/itau".to_owned(),
                Some("require".to_owned())
            )
        );
        assert_eq!(
            take_query_parameter("postgres://db/itau?sslmod%65=require", "sslmode").1,
            Some("require".to_owned())
        );
        let target = Target::parse("postgres://app:p/a?s@db/itau?sslmode=require").unwrap();
        assert_eq!(target.config.get_ssl_mode(), SslMode::Require);
    }

    #[test]
    fn a_bad_url_is_refused_without_showing_its_password() {
        let error = Target::parse("postgres://app:s3cr3t@db/itau?sslmode=sometimes")
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("postgres://app:***@db/itau"), "{error}");
        assert!(error.contains("sslmode"), "{error}");
        assert!(!error.contains("s3cr3t"), "{error}");
    }

    #[test]
    fn a_missing_sslrootcert_file_is_named() {
        let error = Target::parse("postgres://db/itau?sslrootcert=/no/such/ca.pem")
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("cannot read sslrootcert /no/such/ca.pem"),
            "{error}"
        );
    }

    #[test]
    fn sslmode_is_taken_out_of_the_url_for_tokio_postgres() {
        let wire = |url: &str| Target::parse(url).unwrap().config.get_ssl_mode();
        assert_eq!(wire("postgres://db/itau"), SslMode::Prefer);
        assert_eq!(wire("postgres://db/itau?sslmode=allow"), SslMode::Prefer);
        assert_eq!(wire("postgres://db/itau?sslmode=disable"), SslMode::Disable);
        assert_eq!(wire("postgres://db/itau?sslmode=require"), SslMode::Require);
        assert_eq!(
            wire("postgres://db/itau?sslmode=verify-full&sslrootcert=system"),
            SslMode::Require
        );
    }
}
