//! Secrets never printed: `--help` with secrets in the environment, the warning about
//! weak database TLS, and the API password's length rule at start.

use crate::process::{itau_codigo, run};

const SECRET: &str = "Pa55-From-The-ENV";

#[test]
fn help_names_the_database_variable_but_never_shows_its_value() {
    let db = format!("postgres://itau:{SECRET}@db.internal:5432/itau");
    for args in [
        &["serve", "--help"][..],
        &["serve", "-h"],
        &["import", "--help"],
        &["migrate", "--help"],
        &["help", "serve"],
    ] {
        let output = run(itau_codigo().args(args).env("ITAU_CODIGO_DB", &db), b"");
        assert_eq!(output.status, 0, "{args:?}: {}", output.stderr);
        assert!(
            output.stdout.contains("ITAU_CODIGO_DB"),
            "{args:?}:\n{}",
            output.stdout
        );
        assert!(
            !output.stdout.contains(SECRET) && !output.stderr.contains(SECRET),
            "{args:?} shows the password:\n{}",
            output.stdout
        );
    }
}

/// A URL whose root file does not exist fails before any connection is tried, after
/// the warning: nothing leaves this machine.
fn remote_url(host: &str, sslmode: &str) -> String {
    format!(
        "postgres://itau:{SECRET}@{host}:5432/itau?sslmode={sslmode}&sslrootcert=/nonexistent/ca.pem"
    )
}

#[test]
fn serve_import_and_migrate_warn_about_a_remote_database_below_verify_full() {
    for (args, db) in [
        (&["migrate"][..], remote_url("db.internal", "require")),
        (
            &["import", "/dev/null"],
            remote_url("db.internal", "verify-ca"),
        ),
        (
            &["serve", "--bind", "127.0.0.1:0"],
            remote_url("db.internal", "prefer"),
        ),
    ] {
        let output = run(
            itau_codigo()
                .args(args)
                .args(["--db", &db])
                .env("ITAU_CODIGO_USERNAME", "u")
                .env("ITAU_CODIGO_PASSWORD", "long-enough-password"),
            b"",
        );
        assert_eq!(output.status, 2, "{args:?}: {}", output.stderr);
        output
            .assert_stderr_has("warning: the PostgreSQL host db.internal is reached with sslmode=");
        output.assert_stderr_has("sslmode=verify-full");
        assert!(
            !output.stderr.contains(SECRET),
            "{args:?}:\n{}",
            output.stderr
        );
    }
}

#[test]
fn a_database_on_this_machine_or_verify_full_gets_no_warning() {
    for db in [
        remote_url("127.0.0.1", "require"),
        remote_url("localhost", "disable"),
        remote_url("db.internal", "verify-full"),
    ] {
        let output = run(itau_codigo().args(["migrate", "--db", &db]), b"");
        assert_eq!(output.status, 2, "{}", output.stderr);
        assert!(
            !output.stderr.contains("warning"),
            "{db}:\n{}",
            output.stderr
        );
    }
}

#[test]
fn serve_refuses_an_api_password_shorter_than_16_characters_naming_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let (_db_dir, db) = crate::helpers::demo_db();
    let file = dir.path().join("password");
    std::fs::write(&file, "fifteen-chars-x\n").unwrap();
    for (variable, value) in [
        ("ITAU_CODIGO_PASSWORD", "fifteen-chars-x"),
        ("ITAU_CODIGO_PASSWORD_FILE", file.to_str().unwrap()),
    ] {
        let output = run(
            itau_codigo()
                .args([
                    "serve",
                    "--bind",
                    "127.0.0.1:0",
                    "--db",
                    db.to_str().unwrap(),
                ])
                .env("ITAU_CODIGO_USERNAME", "u")
                .env(variable, value),
            b"",
        );
        assert_eq!(output.status, 2, "{variable}: {}", output.stderr);
        output.assert_stderr_has("shorter than 16 characters");
        assert!(
            !output.stderr.contains("fifteen-chars-x"),
            "{}",
            output.stderr
        );
    }
}
