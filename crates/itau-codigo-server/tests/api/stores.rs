//! The two stores the contract suite runs against: a SQLite file in a temp dir, or a
//! database of its own on the private PostgreSQL server whose URL is in
//! `ITAU_CODIGO_TEST_PG_URL` (`cargo xtask test` starts one for the run).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;

use itau_codigo_server::import::{ImportOptions, import};
use itau_codigo_server::store::{self, DbLocation, Importer};

use crate::helpers::demo_db;

/// The URL of the private server's `postgres` database, as its superuser.
pub(crate) const PG_URL_ENV: &str = "ITAU_CODIGO_TEST_PG_URL";
/// `1`: a PostgreSQL test without a server fails instead of skipping (CI sets it).
pub(crate) const REQUIRE_PG_ENV: &str = "ITAU_CODIGO_TEST_REQUIRE_PG";

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TestStore {
    Sqlite,
    Postgres,
}

/// For each named function taking a [`TestStore`], a module of the same name holding one
/// test per store: `consulta::a_known_account_answers_200::{sqlite, postgres}`. The
/// PostgreSQL one skips (loudly) when there is no server.
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(crate::stores::TestStore::Sqlite);
            }

            #[test]
            fn postgres() {
                if crate::stores::postgres_available() {
                    super::$name(crate::stores::TestStore::Postgres);
                }
            }
        }
    )+};
}
pub(crate) use on_both_stores;

/// `insta::assert_json_snapshot!` named after the enclosing function, so that the runs
/// of one test on both stores compare against one snapshot (insta would number the
/// second run's snapshot `-2`).
macro_rules! snapshot {
    ($value:expr) => {{
        fn f() {}
        let path = std::any::type_name_of_val(&f);
        let function = path
            .strip_suffix("::f")
            .and_then(|p| p.rsplit("::").next())
            .unwrap();
        insta::assert_json_snapshot!(function, $value);
    }};
}
pub(crate) use snapshot;

/// Whether the PostgreSQL tests have a server. Without one they skip, saying so on the
/// terminal itself (libtest captures only `print!`), or fail when CI requires one.
pub(crate) fn postgres_available() -> bool {
    if std::env::var_os(PG_URL_ENV).is_some_and(|url| !url.is_empty()) {
        return true;
    }
    assert!(
        std::env::var(REQUIRE_PG_ENV).as_deref() != Ok("1"),
        "{REQUIRE_PG_ENV}=1 but {PG_URL_ENV} is not set: run the tests with `cargo xtask test`"
    );
    shout_once(&format!(
        "PostgreSQL tests SKIPPED: {PG_URL_ENV} is not set (`cargo xtask test` starts a private server and sets it)"
    ));
    false
}

/// Writes `message` once per test process straight to stderr, past libtest's capture.
pub(crate) fn shout_once(message: &str) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let line = "!".repeat(78);
        let _ = writeln!(std::io::stderr().lock(), "\n{line}\n!! {message}\n{line}");
    });
}

/// A store for one test, removed when dropped.
pub(crate) struct TestDb {
    store: TestStore,
    /// The `--db` value.
    url: String,
    sqlite: Option<(tempfile::TempDir, PathBuf)>,
    /// The database this value created (and drops).
    _postgres: Option<PgDatabase>,
}

impl TestDb {
    /// A store with no customers (for SQLite, a path where `import` will create the file).
    pub(crate) fn empty(store: TestStore) -> Self {
        match store {
            TestStore::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("itau-codigo.db");
                Self {
                    store,
                    url: format!("sqlite:{}", path.display()),
                    sqlite: Some((dir, path)),
                    _postgres: None,
                }
            }
            TestStore::Postgres => {
                let database = PgDatabase::create(&admin_url());
                Self {
                    store,
                    url: database.url.clone(),
                    sqlite: None,
                    _postgres: Some(database),
                }
            }
        }
    }

    /// The existing PostgreSQL database `url`, left in place when dropped.
    pub(crate) fn empty_on(url: &str) -> Self {
        Self {
            store: TestStore::Postgres,
            url: url.to_owned(),
            sqlite: None,
            _postgres: None,
        }
    }

    /// A store holding the demo data.
    pub(crate) fn with_demo(store: TestStore) -> Self {
        if store == TestStore::Sqlite {
            let (dir, path) = demo_db();
            return Self {
                store,
                url: format!("sqlite:{}", path.display()),
                sqlite: Some((dir, path)),
                _postgres: None,
            };
        }
        let db = Self::empty(store);
        db.import(include_str!("../../demo/clientes.jsonl"));
        db
    }

    /// The `--db` value.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn location(&self) -> DbLocation {
        DbLocation::parse(&self.url).unwrap()
    }

    pub(crate) fn sqlite_path(&self) -> Option<&Path> {
        self.sqlite.as_ref().map(|(_, path)| path.as_path())
    }

    /// An importer writing into this store.
    pub(crate) fn importer(&self) -> Box<dyn Importer> {
        store::open_importer(&self.location()).unwrap()
    }

    /// Imports JSON Lines that must be valid.
    pub(crate) fn import(&self, lines: &str) {
        import(
            lines.as_bytes(),
            self.importer().as_mut(),
            &ImportOptions::default(),
            &mut Vec::new(),
        )
        .unwrap();
    }

    /// Accounts stored.
    pub(crate) fn count_rows(&self) -> i64 {
        match self.store {
            TestStore::Sqlite => rusqlite::Connection::open(self.sqlite_path().unwrap())
                .unwrap()
                .query_row("SELECT count(*) FROM clientes", [], |row| row.get(0))
                .unwrap(),
            TestStore::Postgres => pg_block_on(async {
                pg_connect(&self.url)
                    .await
                    .query_one("SELECT count(*) FROM clientes", &[])
                    .await
                    .unwrap()
                    .get(0)
            }),
        }
    }

    /// The stored record of an account (`store::format`: its JSON parts are readable
    /// in this lossy text).
    pub(crate) fn stored_data(&self, codigo_conta: &str) -> Option<String> {
        let key: i64 = codigo_conta.parse().unwrap();
        match self.store {
            TestStore::Sqlite => {
                let connection = rusqlite::Connection::open(self.sqlite_path().unwrap()).unwrap();
                let mut statement = connection
                    .prepare("SELECT resposta FROM clientes WHERE codigo_conta = ?1")
                    .unwrap();
                let mut rows = statement.query([key]).unwrap();
                rows.next().unwrap().map(|row| {
                    String::from_utf8_lossy(&row.get::<_, Vec<u8>>(0).unwrap()).into_owned()
                })
            }
            TestStore::Postgres => pg_block_on(async {
                pg_connect(&self.url)
                    .await
                    .query_opt(
                        "SELECT resposta FROM clientes WHERE codigo_conta = $1",
                        &[&key],
                    )
                    .await
                    .unwrap()
                    .map(|row| String::from_utf8_lossy(row.get::<_, &[u8]>(0)).into_owned())
            }),
        }
    }
}

/// The private server's admin URL (callers have checked [`postgres_available`]).
pub(crate) fn admin_url() -> String {
    std::env::var(PG_URL_ENV).expect("postgres_available() was checked")
}

/// A database of its own on a PostgreSQL server, dropped with the value.
pub(crate) struct PgDatabase {
    admin_url: String,
    name: String,
    pub(crate) url: String,
}

impl PgDatabase {
    /// Creates a new, empty database on the server `admin_url` points at.
    pub(crate) fn create(admin_url: &str) -> Self {
        let name = format!("itau_test_{}", uuid::Uuid::new_v4().simple());
        pg_execute(admin_url, &format!("CREATE DATABASE {name}"));
        let url = with_database(admin_url, &name);
        Self {
            admin_url: admin_url.to_owned(),
            name,
            url,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // FORCE: an app being stopped may still hold connections.
        pg_try_execute(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// `url` with its database (the last path segment) replaced by `database`.
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let (server, _) = base.rsplit_once('/').expect("a URL with a database");
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// Runs statements on `url`, panicking on failure.
pub(crate) fn pg_execute(url: &str, sql: &str) {
    pg_block_on(async { pg_connect(url).await.batch_execute(sql).await.unwrap() });
}

fn pg_try_execute(url: &str, sql: &str) {
    pg_block_on(async {
        if let Ok((client, connection)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await
        {
            tokio::spawn(connection);
            let _ = client.batch_execute(sql).await;
        }
    });
}

/// A plain connection (the private server speaks no TLS), driven in the background.
pub(crate) async fn pg_connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {e:?}"));
    tokio::spawn(connection);
    client
}

/// Runs `work` on a runtime of its own (tests are synchronous).
pub(crate) fn pg_block_on<T>(work: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(work)
}
