//! `--db` as typed, shared by `serve`, `import` and `migrate`: a PostgreSQL URL may hold
//! a password, so the raw text is never shown — not in `--help` (each option sets
//! `hide_env_values`), not in `Debug`, not in an error.

use std::fmt;

use crate::store::{self, DbLocation};

/// The `--db` value (or `ITAU_CODIGO_DB`) before it is parsed into a [`DbLocation`].
#[derive(Clone, PartialEq, Eq)]
pub struct DbArg(String);

impl DbArg {
    /// The location it names.
    ///
    /// # Errors
    ///
    /// As [`DbLocation::parse`]: the message never quotes the value.
    pub fn location(&self) -> Result<DbLocation, String> {
        DbLocation::parse(&self.0)
    }
}

impl From<String> for DbArg {
    fn from(raw: String) -> Self {
        Self(raw)
    }
}

impl From<&str> for DbArg {
    fn from(raw: &str) -> Self {
        Self(raw.to_owned())
    }
}

impl fmt::Debug for DbArg {
    /// As the parsed location shows itself (`postgres://user:***@host/db`), never raw.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location() {
            Ok(location) => write!(f, "DbArg({location})"),
            Err(_) => f.write_str("DbArg(<not a location>)"),
        }
    }
}

/// Prints on stderr, before anything else happens, why the connection to a PostgreSQL
/// store could be read or altered on the way (`import` and `migrate` run no log
/// subscriber, and `serve`'s could be filtered: this must be seen whatever `--log` says).
pub(super) fn warn_if_weak_tls(location: &DbLocation) {
    if let Some(warning) = store::weak_tls_warning(location) {
        eprintln!("warning: {warning}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_location_without_its_password() {
        let shown = format!("{:?}", DbArg::from("postgres://itau:S3cr3t@db:5432/itau"));
        assert_eq!(shown, "DbArg(postgres://itau:***@db:5432/itau)");
        let shown = format!("{:?}", DbArg::from("host=db password=S3cr3t"));
        assert_eq!(shown, "DbArg(<not a location>)");
    }
}
