//! What only a shared PostgreSQL store does: migrations raced by imports, several
//! replicas on one database, a database that goes away and comes back, TLS, imports in
//! batches. (The contract itself runs against both stores in the other modules.)

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use itau_codigo_server::import::{ImportOptions, import};
use itau_codigo_server::store::{self, DbLocation, MIGRATION_LOCK, PostgresImporter, StoreError};
use private_postgres::{Binaries, Options, PrivateServer};
use serde_json::Value;

use crate::helpers::*;
use crate::process::{ServeProcess, itau_codigo, run};
use crate::stores::*;

/// A server of the test's own, for tests that stop it or configure it differently
/// (the shared one serves every other test at the same time).
pub(crate) fn dedicated_server(options: &Options) -> Option<PrivateServer> {
    let binaries = match Binaries::find() {
        Ok(binaries) => binaries,
        Err(error) => {
            assert!(
                std::env::var(REQUIRE_PG_ENV).as_deref() != Ok("1"),
                "{REQUIRE_PG_ENV}=1 but: {error}"
            );
            shout_once(&format!("PostgreSQL tests SKIPPED: {error}"));
            return None;
        }
    };
    let root = std::env::temp_dir().join(format!(
        "itau-codigo-test-pg-{}",
        uuid::Uuid::new_v4().simple()
    ));
    Some(PrivateServer::start(&binaries, &root, options).expect("the dedicated server starts"))
}

/// Opens the store at the PostgreSQL `url` for serving, as `serve` does.
fn open_postgres(url: &str) -> Result<std::sync::Arc<dyn store::Store>, StoreError> {
    store::open(
        &DbLocation::parse(url).unwrap(),
        1,
        store::SqliteReads::Copied,
    )
}

/// Migrates the database at `url`, as `itau-codigo migrate` (and every import) does.
fn migrate_postgres(url: &str) -> Result<(i64, i64), StoreError> {
    store::migrate(&DbLocation::parse(url).unwrap())
}

pub(crate) fn demo_lines() -> &'static str {
    include_str!("../../demo/clientes.jsonl")
}

/// The test credentials, for `serve`.
pub(crate) const CREDENTIALS: [(&str, &str); 2] = [
    ("ITAU_CODIGO_USERNAME", USERNAME),
    ("ITAU_CODIGO_PASSWORD", PASSWORD),
];

/// One valid import line for `codigo_conta` (a demo customer under a new code), with
/// `nome_social` set to `marker`.
pub(crate) fn record(agencia: &str, conta: &str, marker: &str) -> (String, String) {
    let mut value: Value = serde_json::from_str(demo_lines().lines().next().unwrap()).unwrap();
    let codigo = itau_codigo::CodigoConta::compose("001", "341", agencia, conta)
        .unwrap()
        .to_string();
    value["codigo_conta"] = Value::String(codigo.clone());
    value["data"]["agencia"] = Value::String(agencia.to_owned());
    value["data"]["conta_corrente"] = Value::String(format!("{conta:0>7}"));
    value["data"]["nome_social"] = Value::String(marker.to_owned());
    (codigo, format!("{value}\n"))
}

#[test]
fn migrations_run_once_when_migrations_start_together() {
    if !postgres_available() {
        return;
    }
    let database = PgDatabase::create(&admin_url());
    let replicas = 6;
    let barrier = Arc::new(Barrier::new(replicas));
    let opened: Vec<_> = (0..replicas)
        .map(|_| {
            let (url, barrier) = (database.url.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                migrate_postgres(&url).map(drop)
            })
        })
        .collect();
    for replica in opened {
        let result = replica.join().unwrap();
        assert!(result.is_ok(), "{:?}", result.err().map(|e| e.to_string()));
    }
    let (applied, latest, customers): (i64, i32, i64) = pg_block_on(async {
        let client = pg_connect(&database.url).await;
        let row = client
            .query_one(
                "SELECT count(*), max(version), (SELECT count(*) FROM clientes)
                 FROM itau_codigo_migrations",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    });
    assert_eq!(applied, i64::from(latest), "each migration recorded once");
    assert!(latest >= 1);
    assert_eq!(customers, 0);
}

#[test]
fn a_migration_waits_for_the_migration_lock_before_touching_the_schema() {
    if !postgres_available() {
        return;
    }
    let database = PgDatabase::create(&admin_url());
    let url = database.url.clone();
    pg_block_on(async {
        let holder = pg_connect(&url).await;
        holder
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"
            ))
            .await
            .unwrap();
        let replica_url = url.clone();
        let replica = std::thread::spawn(move || migrate_postgres(&replica_url).map(drop));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            !replica.is_finished(),
            "the replica did not wait for the lock"
        );
        let tables: i64 = holder
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE tablename = 'clientes'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(tables, 0, "the schema was touched under the lock");
        holder.batch_execute("COMMIT").await.unwrap();
        let opened = tokio::task::spawn_blocking(move || replica.join().unwrap())
            .await
            .unwrap();
        assert!(opened.is_ok(), "{:?}", opened.err().map(|e| e.to_string()));
    });
}

#[test]
fn a_database_with_a_newer_schema_is_refused_with_advice_to_upgrade() {
    if !postgres_available() {
        return;
    }
    let database = PgDatabase::create(&admin_url());
    migrate_postgres(&database.url).unwrap();
    pg_execute(
        &database.url,
        "INSERT INTO itau_codigo_migrations (version) VALUES (999)",
    );
    let error = open_postgres(&database.url).unwrap_err().to_string();
    assert!(error.contains("999 is newer"), "{error}");
    assert!(error.contains("upgrade itau-codigo"), "{error}");
    assert!(error.contains(":***@"), "{error}");
}

#[test]
fn two_replicas_answer_alike_and_both_see_an_import_without_a_restart() {
    if !postgres_available() {
        return;
    }
    let first = TestApp::builder().store(TestStore::Postgres).spawn();
    let url = first.store.url().to_owned();
    let second = TestApp::builder().db(TestDb::empty_on(&url)).spawn();
    let known = first.consulta(TRES_GERENTES);
    assert_eq!(known.status, 200);
    assert_eq!(known.body, second.consulta(TRES_GERENTES).body);

    let (novo, line) = record("4321", "1234567", "Importada agora");
    assert_eq!(first.consulta(&novo).status, 404);
    assert_eq!(second.consulta(&novo).status, 404);
    let output = run(
        itau_codigo().args(["import", "-", "--db", &url]),
        line.as_bytes(),
    );
    assert_eq!(output.status, 0, "{}", output.stderr);

    let from_first = first.consulta(&novo);
    let from_second = second.consulta(&novo);
    assert_eq!(from_first.status, 200);
    assert_eq!(from_first.json()["data"]["nome_social"], "Importada agora");
    assert_eq!(from_first.body, from_second.body);
}

#[test]
fn a_stopped_database_is_500_and_not_ready_until_it_returns_without_a_restart() {
    let Some(server) = dedicated_server(&Options::default()) else {
        return;
    };
    let url = server.url("postgres");
    migrate_postgres(&url).unwrap();
    let app = TestApp::builder().db(TestDb::empty_on(&url)).spawn();
    app.store.import(demo_lines());
    let before = app.consulta(TRES_GERENTES);
    assert_eq!(before.status, 200);

    server.stop().unwrap();
    let down = app.consulta(TRES_GERENTES);
    assert_eq!(down.status, 500);
    assert_eq!(down.problem_type(), "store-unavailable");
    let not_ready = app.get("/readyz");
    assert_eq!(not_ready.status, 503);
    assert_eq!(not_ready.problem_type(), "store-unavailable");

    server.start_again().unwrap();
    // The pool notices its closed connections and opens new ones: no restart, and
    // within moments (the bound only keeps a broken build from hanging).
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.get("/readyz").status != 200 {
        assert!(
            Instant::now() < deadline,
            "not ready 15 s after the restart"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(app.consulta(TRES_GERENTES).body, before.body);
}

fn readers_see_the_old_data_until_the_import_commits(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let (novo, line) = record("4321", "7654321", "Nova");
    let mut importer = app.store.importer();
    let mut session = importer.begin(true).unwrap();
    let registro = itau_codigo::RegistroCliente::from_json_line(line.trim()).unwrap();
    session.upsert_registro(&registro).unwrap();

    assert_eq!(app.consulta(TRES_GERENTES).status, 200, "old data, in time");
    assert_eq!(app.consulta(&novo).status, 404);
    session.commit().unwrap();
    assert_eq!(app.consulta(TRES_GERENTES).status, 404, "--replace applied");
    assert_eq!(app.consulta(&novo).status, 200);
}

#[test]
fn a_second_import_is_refused_while_one_runs() {
    if !postgres_available() {
        return;
    }
    let db = TestDb::empty(TestStore::Postgres);
    let mut first = db.importer();
    let second_importer = || db.importer();
    let running = first.begin(false).unwrap();
    let error = second_importer().begin(false).err().unwrap();
    assert!(matches!(error, StoreError::ImportRunning), "{error}");
    drop(running);
    assert!(second_importer().begin(false).is_ok(), "free again");
}

#[test]
fn the_later_line_wins_within_and_across_import_batches() {
    if !postgres_available() {
        return;
    }
    let db = TestDb::empty(TestStore::Postgres);
    let (a, a1) = record("1111", "1", "a1");
    let (_, a2) = record("1111", "1", "a2");
    let (_, a3) = record("1111", "1", "a3");
    let (_, a4) = record("1111", "1", "a4");
    let (b, b1) = record("2222", "2", "b1");
    let (_, c1) = record("3333", "3", "c1");
    // Batches of two accounts: [a2 (a1 replaced), b1] [a3, c1] [a4].
    let lines = [a1, a2, b1, a3, c1, a4].concat();
    let mut importer = PostgresImporter::connect(db.url())
        .unwrap()
        .with_batch_rows(2);
    let report = import(
        lines.as_bytes(),
        &mut importer,
        &ImportOptions::default(),
        &mut Vec::new(),
    )
    .unwrap();
    assert_eq!(report.records, 6);
    assert_eq!(db.count_rows(), 3);
    assert!(db.stored_data(&a).unwrap().contains("\"a4\""));
    assert!(db.stored_data(&b).unwrap().contains("\"b1\""));
}

/// Upserts each record through one `--replace` session, in the order given.
fn replace_with(
    importer: &mut dyn itau_codigo_server::store::Importer,
    registros: &[itau_codigo::RegistroCliente],
) -> Result<(), StoreError> {
    let mut session = importer.begin(true)?;
    for registro in registros {
        session.upsert_registro(registro)?;
    }
    session.commit()
}

fn registros<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<itau_codigo::RegistroCliente> {
    lines
        .into_iter()
        .map(|line| itau_codigo::RegistroCliente::from_json_line(line.trim_end()).unwrap())
        .collect()
}

/// `count` generated records, in ascending key order (as the import hands them over).
fn sorted_generated(count: usize) -> Vec<itau_codigo::RegistroCliente> {
    let mut registros = registros(generated_records(count, "7777").lines());
    registros.sort_by_key(|r| store::key(&r.codigo_conta));
    registros
}

#[test]
fn a_replace_streams_ascending_keys_and_upserts_from_the_first_key_out_of_order() {
    if !postgres_available() {
        return;
    }
    let db = TestDb::with_demo(TestStore::Postgres);
    let (a, a1) = record("1111", "1", "a1");
    let (b, b1) = record("2222", "2", "b1");
    let (_, b1_again) = record("2222", "2", "b1-again");
    let (c, c1) = record("3333", "3", "c1");
    let (_, b2) = record("2222", "2", "b2");
    let (_, a2) = record("1111", "1", "a2");
    let (d, d1) = record("4444", "4", "d1");
    // `a1` and `b1` stream by the COPY; `b1-again` repeats the last key, which the COPY
    // cannot take, so it and what follows are upserted over the copied rows.
    let order = registros([&a1, &b1, &b1_again, &c1, &b2, &a2, &d1].map(String::as_str));
    replace_with(&mut *db.importer(), &order).unwrap();
    assert_eq!(db.count_rows(), 4, "the demo data is replaced");
    for (codigo, marker) in [(&a, "a2"), (&b, "b2"), (&c, "c1"), (&d, "d1")] {
        let stored = db.stored_data(codigo).unwrap();
        assert!(
            stored.contains(&format!("\"{marker}\"")),
            "{codigo}: {stored}"
        );
    }
}

#[test]
fn a_replace_keeps_the_privileges_granted_on_the_table() {
    if !postgres_available() {
        return;
    }
    let db = TestDb::with_demo(TestStore::Postgres);
    // Roles belong to the whole server: one of this test's own.
    let role = format!("itau_leitor_{}", uuid::Uuid::new_v4().simple());
    pg_block_on(async {
        pg_connect(db.url())
            .await
            .batch_execute(&format!(
                "CREATE ROLE {role}; GRANT SELECT ON clientes TO {role}"
            ))
            .await
            .unwrap();
    });
    let (a, a1) = record("1111", "1", "a1");
    replace_with(&mut *db.importer(), &registros([a1.as_str()])).unwrap();
    let (select, insert): (bool, bool) = pg_block_on(async {
        let client = pg_connect(db.url()).await;
        let row = client
            .query_one(
                "SELECT has_table_privilege($1, 'clientes', 'SELECT'),
                        has_table_privilege($1, 'clientes', 'INSERT')",
                &[&role],
            )
            .await
            .unwrap();
        client
            .batch_execute(&format!(
                "REVOKE ALL ON clientes FROM {role}; DROP ROLE {role}"
            ))
            .await
            .unwrap();
        (row.get(0), row.get(1))
    });
    assert!(db.stored_data(&a).is_some(), "replaced");
    assert!(select, "the grant survives the replace");
    assert!(!insert, "and no more than the grant");
}

#[test]
fn a_replace_streamed_over_several_chunks_stores_every_record_as_encoded() {
    if !postgres_available() {
        return;
    }
    let db = TestDb::with_demo(TestStore::Postgres);
    // About 4 MiB of stored records: several chunks of COPY data.
    let registros = sorted_generated(3_000);
    replace_with(&mut *db.importer(), &registros).unwrap();
    assert_eq!(db.count_rows(), 3_000);
    for registro in registros.iter().step_by(97) {
        let expected = store::encode_record(registro);
        assert_eq!(
            db.stored_data(registro.codigo_conta.as_ref()),
            Some(String::from_utf8_lossy(&expected).into_owned())
        );
    }
}

#[test]
fn a_replace_dropped_while_streaming_keeps_the_previous_data_and_the_connection() {
    if !postgres_available() {
        return;
    }
    let db = TestDb::with_demo(TestStore::Postgres);
    let before = db.count_rows();
    let mut importer = db.importer();
    {
        let mut session = importer.begin(true).unwrap();
        // More than a chunk of COPY data: some of it has reached the server.
        for registro in &sorted_generated(3_000) {
            session.upsert_registro(registro).unwrap();
        }
    }
    assert_eq!(db.count_rows(), before);
    // The same connection goes on: the next import through it commits.
    let (a, a1) = record("1111", "1", "a1");
    replace_with(&mut *importer, &registros([a1.as_str()])).unwrap();
    assert_eq!(db.count_rows(), 1);
    assert!(db.stored_data(&a).is_some());
}

#[test]
fn a_bad_line_after_several_batches_writes_nothing() {
    if !postgres_available() {
        return;
    }
    let db = TestDb::with_demo(TestStore::Postgres);
    let mut lines = generated_records(50, "7777");
    lines.push_str("{\"codigo_conta\": \"001341150100098791\"}\n");
    let mut importer = PostgresImporter::connect(db.url())
        .unwrap()
        .with_batch_rows(7);
    let result = import(
        lines.as_bytes(),
        &mut importer,
        &ImportOptions {
            replace: true,
            ..ImportOptions::default()
        },
        &mut Vec::new(),
    );
    assert!(result.is_err());
    assert_eq!(db.count_rows(), 31, "the demo data, untouched");
}

/// A dedicated server with the fixtures' certificate (a test CA's, for `localhost` and
/// 127.0.0.1) that accepts TLS and plain connections, like Debian's default cluster.
/// A dedicated server speaking TLS (and plain), its `postgres` database migrated so that
/// stores open on it as `serve` opens them.
fn tls_server() -> Option<PrivateServer> {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pg-tls");
    let server = dedicated_server(&Options {
        tls: Some((
            format!("{fixtures}/server.pem").into(),
            format!("{fixtures}/server.key").into(),
        )),
        plain_too: true,
        ..Options::default()
    })?;
    migrate_postgres(&format!("{}?sslmode=disable", server.url("postgres"))).unwrap();
    Some(server)
}

/// Opens a store at `server`'s URL with `query` (and an `application_name` of its
/// own), and says whether its connection is encrypted, as the server sees it.
fn store_encrypts(server: &PrivateServer, base: &str, query: &str) -> Result<bool, StoreError> {
    let name = format!("tls-{}", uuid::Uuid::new_v4().simple());
    let store = open_postgres(&format!("{base}?application_name={name}&{query}"))?;
    pg_block_on(async {
        store.ping().await?;
        let observer = pg_connect(&format!("{}?sslmode=disable", server.url("postgres"))).await;
        let row = observer
            .query_one(
                "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                 WHERE a.application_name = $1",
                &[&name],
            )
            .await
            .unwrap();
        Ok(row
            .get::<_, Option<bool>>(0)
            .expect("the store's connection is seen"))
    })
}

const PG_TLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pg-tls");

#[test]
fn sslmodes_below_verify_encrypt_without_checking_the_certificate() {
    let Some(server) = tls_server() else {
        return;
    };
    let url = server.url("postgres");
    for query in ["", "sslmode=allow", "sslmode=prefer", "sslmode=require"] {
        assert!(store_encrypts(&server, &url, query).unwrap(), "{query:?}");
    }
    assert!(!store_encrypts(&server, &url, "sslmode=disable").unwrap());
}

#[test]
fn verify_full_connects_only_with_the_right_root() {
    let Some(server) = tls_server() else {
        return;
    };
    let url = server.url("postgres");
    let right = format!("sslmode=verify-full&sslrootcert={PG_TLS}/ca.pem");
    assert!(store_encrypts(&server, &url, &right).unwrap());
    // A root the server's certificate does not chain to.
    let wrong_root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls-cert.pem");
    for query in [
        format!("sslmode=verify-full&sslrootcert={wrong_root}"),
        format!("sslmode=verify-ca&sslrootcert={wrong_root}"),
        // libpq: require with a root is verify-ca.
        format!("sslmode=require&sslrootcert={wrong_root}"),
    ] {
        let error = store_encrypts(&server, &url, &query)
            .unwrap_err()
            .to_string();
        assert!(error.contains("UnknownIssuer"), "{query}: {error}");
    }
    let no_root = store_encrypts(&server, &url, "sslmode=verify-full")
        .unwrap_err()
        .to_string();
    assert!(no_root.contains("need trusted roots"), "{no_root}");
}

#[test]
fn verify_ca_checks_the_chain_but_not_the_host_name() {
    let Some(server) = tls_server() else {
        return;
    };
    // Connect to 127.0.0.1 under a name the certificate does not carry.
    let url = format!(
        "postgres://{}:{}@db.invalid:{}/postgres",
        private_postgres::SUPERUSER,
        server.password(),
        server.port()
    );
    let root = format!("hostaddr=127.0.0.1&sslrootcert={PG_TLS}/ca.pem");
    assert!(store_encrypts(&server, &url, &format!("{root}&sslmode=verify-ca")).unwrap());
    assert!(store_encrypts(&server, &url, &format!("{root}&sslmode=require")).unwrap());
    let error = store_encrypts(&server, &url, &format!("{root}&sslmode=verify-full"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("certificate not valid for name"), "{error}");
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    // The password holds each URL delimiter, percent-encoded as a correct URL has it,
    // or comes as a parameter (raw); a keyword/value string is refused unquoted.
    let cases = [
        (
            "postgres://app:S3gr3d0@127.0.0.1:1/itau",
            "cannot open the store postgres://app:***@127.0.0.1:1/itau",
        ),
        (
            "postgres://app:S3%2Fgr%3F3%40d%25o%23@127.0.0.1:1/itau",
            "cannot open the store postgres://app:***@127.0.0.1:1/itau",
        ),
        (
            "postgres://app@127.0.0.1:1/itau?password=S3/gr?3@d%o#&sslmode=disable",
            "cannot open the store postgres://app@127.0.0.1:1/itau?password=***&sslmode=disable",
        ),
        (
            "host=127.0.0.1 port=1 password=S3gr3d0",
            "looks like a libpq keyword/value string",
        ),
    ];
    const FRAGMENTS: [&str; 5] = ["S3", "gr3", "gr%3F", "3@d", "%o#"];
    for (url, shown) in cases {
        for args in [
            vec!["serve", "--bind", "127.0.0.1:0", "--db", url],
            vec!["import", "-", "--db", url],
        ] {
            let output = run(itau_codigo().args(&args).envs(CREDENTIALS), b"");
            let stderr = &output.stderr;
            assert_eq!(output.status, 2, "{args:?}: {stderr}");
            assert!(stderr.contains(shown), "{args:?}: {stderr}");
            if url.starts_with("postgres://") {
                assert!(stderr.contains("Connection refused"), "{args:?}: {stderr}");
            }
            for fragment in FRAGMENTS {
                assert!(
                    !stderr.contains(fragment),
                    "{args:?} shows {fragment}: {stderr}"
                );
            }
        }
    }
}

#[test]
fn serve_logs_the_database_url_without_its_password() {
    if !postgres_available() {
        return;
    }
    let db = TestDb::with_demo(TestStore::Postgres);
    let password = db.url().split(['@', ':']).nth(2).unwrap().to_owned();
    assert!(
        db.url().contains(&format!(":{password}@")),
        "the URL has a password"
    );
    let server = ServeProcess::start(&["--db", db.url()], &CREDENTIALS);
    let logged = server.logs();
    assert!(logged.contains("\"serving\""), "{logged}");
    assert!(logged.contains(":***@127.0.0.1"), "{logged}");
    assert!(!logged.contains(&password), "{logged}");
}

on_both_stores!(readers_see_the_old_data_until_the_import_commits);
