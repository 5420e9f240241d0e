//! The store's schema versions, what `serve` accepts of them, and the one runner that
//! brings any backend's schema to this binary's. A backend lists its migrations (one
//! per version, in order) and says how to run a step in its own database
//! ([`SchemaTransaction`]); the order, the numbering, the refusal of a newer schema and
//! the rollback of a failed migration are decided here, once.

use itau_codigo::DadosRegistro;

use super::{DbLocation, StoreError, encode_dados};

/// This binary's schema version. Every backend lists exactly this many migrations.
///
/// 1. `clientes(codigo_conta, dados)`: the record's data as JSON text.
/// 2. `clientes(codigo_conta, resposta)`: the answer stored ready to send
///    (`store::format`'s record), every record re-rendered from its JSON.
/// 3. `itau_codigo_imports`: what each import recorded when it committed (`/metrics`
///    shows the last one).
pub(super) const SCHEMA_VERSION: i64 = 3;

/// The oldest schema `serve` reads: the one before this binary's, as long as what it
/// adds is only read when present (expand, then contract). Schema 2 lacks only the
/// record of imports, so `/metrics` leaves out the store's freshness.
const OLDEST_SERVED: i64 = 2;

/// One migration: SQL, or Rust run on the backend's open transaction `T` (re-rendering
/// stored records). Append only: never edit a released entry.
pub(super) enum Migration<T> {
    Sql(&'static str),
    Code(fn(&mut T) -> Result<(), StoreError>),
}

/// Every migration of a backend, one per schema version: a list of another length does
/// not compile.
pub(super) type Migrations<T> = [Migration<T>; SCHEMA_VERSION as usize];

/// A backend's database, as the runner drives it: one transaction for every pending
/// migration, so that a failed one leaves the schema as it was.
pub(super) trait SchemaTransaction {
    /// Starts the transaction, holding off any other runner until it ends, and reads
    /// the schema version applied so far (0 for an empty database). A failure after
    /// the transaction started is rolled back by the runner like any other.
    fn begin(&mut self) -> Result<i64, StoreError>;

    /// Runs a migration's SQL inside the transaction.
    fn execute(&mut self, sql: &str) -> Result<(), StoreError>;

    /// Records that the schema is now at `version`, inside the transaction.
    fn record_version(&mut self, version: i64) -> Result<(), StoreError>;

    /// Makes the migrations applied permanent.
    fn commit(&mut self) -> Result<(), StoreError>;

    /// Undoes everything since [`Self::begin`] (after a failure: its own error is not
    /// the one to report, nor is there being no transaction to undo).
    fn rollback(&mut self);
}

/// Applies the migrations `database` has not applied yet, in order, in one transaction,
/// and returns the schema versions before and after. Runners starting together take
/// turns ([`SchemaTransaction::begin`]), and the later ones find nothing left to do.
///
/// # Errors
///
/// The schema is newer than this binary's, or a migration failed: nothing of this run
/// is kept.
pub(super) fn migrate<T: SchemaTransaction>(
    database: &mut T,
    migrations: &Migrations<T>,
) -> Result<(i64, i64), StoreError> {
    let result = database.begin().and_then(|applied| {
        apply_pending(database, migrations, applied)?;
        Ok((applied, SCHEMA_VERSION))
    });
    if result.is_err() {
        database.rollback();
    }
    result
}

fn apply_pending<T: SchemaTransaction>(
    database: &mut T,
    migrations: &Migrations<T>,
    applied: i64,
) -> Result<(), StoreError> {
    if applied > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: applied,
            supported: SCHEMA_VERSION,
        });
    }
    for (version, migration) in (1..).zip(migrations).skip(applied.max(0) as usize) {
        match migration {
            Migration::Sql(sql) => database.execute(sql)?,
            Migration::Code(step) => step(database)?,
        }
        database.record_version(version)?;
    }
    database.commit()
}

/// Whether `serve` reads the store at `location`, of schema version `found`: this
/// binary's, or back to [`OLDEST_SERVED`]. Serving never migrates: an older store is
/// refused with the command that upgrades it.
///
/// # Errors
///
/// [`StoreError::SchemaTooNew`] or [`StoreError::SchemaTooOld`].
pub(super) fn check_served(found: i64, location: &DbLocation) -> Result<(), StoreError> {
    if found > SCHEMA_VERSION {
        Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        })
    } else if found < OLDEST_SERVED {
        Err(StoreError::SchemaTooOld {
            found,
            supported: SCHEMA_VERSION,
            command: format!("itau-codigo migrate --db {location}"),
        })
    } else {
        Ok(())
    }
}

/// Migration 2's rendering of one stored row: the record's JSON `dados` (schema 1) as
/// the bytes schema 2 stores. `key` names the row in the error of a row that does not
/// parse (a tampered store).
pub(super) fn rerender_schema_1_row(key: i64, dados: &[u8]) -> Result<Vec<u8>, StoreError> {
    let dados: DadosRegistro = serde_json::from_slice(dados).map_err(|e| StoreError::Corrupt {
        codigo: format!("row {key}"),
        line: e.line(),
        column: e.column(),
    })?;
    Ok(encode_dados(&dados))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database that only remembers what the runner did to it.
    #[derive(Default)]
    struct Journal {
        applied: i64,
        steps: Vec<String>,
        fail_at: Option<&'static str>,
    }

    impl SchemaTransaction for Journal {
        fn begin(&mut self) -> Result<i64, StoreError> {
            self.steps.push("begin".into());
            if self.fail_at == Some("begin") {
                return Err(StoreError::Task("the lock wait was cancelled".into()));
            }
            Ok(self.applied)
        }
        fn execute(&mut self, sql: &str) -> Result<(), StoreError> {
            if self.fail_at == Some(sql) {
                return Err(StoreError::Task(format!("{sql} failed")));
            }
            self.steps.push(sql.into());
            Ok(())
        }
        fn record_version(&mut self, version: i64) -> Result<(), StoreError> {
            self.steps.push(format!("version {version}"));
            Ok(())
        }
        fn commit(&mut self) -> Result<(), StoreError> {
            self.steps.push("commit".into());
            Ok(())
        }
        fn rollback(&mut self) {
            self.steps.push("rollback".into());
        }
    }

    fn code(journal: &mut Journal) -> Result<(), StoreError> {
        journal.steps.push("code".into());
        Ok(())
    }

    const MIGRATIONS: Migrations<Journal> = [
        Migration::Sql("one"),
        Migration::Code(code),
        Migration::Sql("three"),
    ];

    #[test]
    fn an_empty_database_gets_every_migration_in_order_each_recorded_in_one_transaction() {
        let mut journal = Journal::default();
        assert_eq!(migrate(&mut journal, &MIGRATIONS).unwrap(), (0, 3));
        assert_eq!(
            journal.steps,
            [
                "begin",
                "one",
                "version 1",
                "code",
                "version 2",
                "three",
                "version 3",
                "commit"
            ]
        );
    }

    #[test]
    fn only_the_migrations_not_applied_yet_run() {
        let mut journal = Journal {
            applied: 2,
            ..Journal::default()
        };
        assert_eq!(migrate(&mut journal, &MIGRATIONS).unwrap(), (2, 3));
        assert_eq!(journal.steps, ["begin", "three", "version 3", "commit"]);
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_untouched() {
        let mut journal = Journal {
            applied: 4,
            ..Journal::default()
        };
        let error = migrate(&mut journal, &MIGRATIONS).unwrap_err();
        assert!(
            matches!(
                error,
                StoreError::SchemaTooNew {
                    found: 4,
                    supported: 3
                }
            ),
            "{error}"
        );
        assert_eq!(journal.steps, ["begin", "rollback"]);
    }

    #[test]
    fn a_failed_migration_rolls_back_everything_the_run_did() {
        let mut journal = Journal {
            fail_at: Some("three"),
            ..Journal::default()
        };
        assert!(migrate(&mut journal, &MIGRATIONS).is_err());
        assert_eq!(
            journal.steps,
            ["begin", "one", "version 1", "code", "version 2", "rollback"]
        );
    }

    #[test]
    fn a_failure_once_the_transaction_began_is_rolled_back_too() {
        let mut journal = Journal {
            fail_at: Some("begin"),
            ..Journal::default()
        };
        assert!(migrate(&mut journal, &MIGRATIONS).is_err());
        assert_eq!(journal.steps, ["begin", "rollback"]);
    }

    #[test]
    fn serve_reads_this_schema_and_the_one_before_and_names_the_upgrade_for_older() {
        let location = DbLocation::SqliteFile("/srv/itau.db".into());
        assert!(check_served(3, &location).is_ok());
        assert!(check_served(2, &location).is_ok());
        let older = check_served(1, &location).unwrap_err();
        assert!(
            older
                .to_string()
                .contains("itau-codigo migrate --db sqlite:/srv/itau.db"),
            "{older}"
        );
        assert!(matches!(
            check_served(4, &location),
            Err(StoreError::SchemaTooNew { found: 4, .. })
        ));
    }
}
