//! `/metrics` as Prometheus reads it: every family of OPERATIONS.md's reference
//! exported as documented (type, labels, buckets) by a real `serve` on both stores, and
//! nothing undocumented; the figures that say what runs (build, process, pool); the
//! latency by route; the store's freshness as the import records it.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use itau_codigo_server::import::{ImportOptions, import};

use crate::helpers::*;
use crate::process::{ServeProcess, itau_codigo, run};
use crate::prometheus::{Family, Shown, documented_families, parse_exposition, promtool};
use crate::stores::{TestDb, TestStore, on_both_stores, pg_execute};

/// What `serve` needs besides `--db`.
const CREDENTIALS: [(&str, &str); 2] = [
    ("ITAU_CODIGO_USERNAME", USERNAME),
    ("ITAU_CODIGO_PASSWORD", PASSWORD),
];

fn scrape(http: &Http) -> Vec<Family> {
    let response = http.get("/metrics");
    assert_eq!(response.status, 200);
    parse_exposition(&String::from_utf8(response.body).unwrap())
}

fn family<'a>(families: &'a [Family], name: &str) -> &'a Family {
    families
        .iter()
        .find(|family| family.exposed_name() == name)
        .unwrap_or_else(|| panic!("no {name} in {families:#?}"))
}

fn value_of(families: &[Family], name: &str) -> f64 {
    family(families, name).value()
}

fn seconds_since_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

on_both_stores!(
    every_documented_family_is_exported_as_documented_and_nothing_else,
    an_import_records_when_it_committed_and_how_many_accounts_the_store_holds,
    a_session_counts_each_account_once_whatever_the_order_of_its_keys,
    a_store_from_before_the_record_is_served_without_freshness_until_an_import,
);

fn every_documented_family_is_exported_as_documented_and_nothing_else(store: TestStore) {
    let db = TestDb::with_demo(store);
    let server = ServeProcess::start(&["--db", db.url(), "--workers", "1"], &CREDENTIALS);
    let http = server.http();
    http.consulta(TRES_GERENTES);
    http.consulta(DESCONHECIDA);
    http.get("/healthz");
    http.get("/no-such-path");
    let exported = scrape(&http);
    let documented = documented_families();
    for doc in &documented {
        if doc.shown == Shown::OnAHotStandby {
            // Only a standby has it; on a primary or SQLite it is absent.
            continue;
        }
        let found = exported
            .iter()
            .find(|family| family.exposed_name() == doc.name)
            .unwrap_or_else(|| panic!("{} is documented but not exported", doc.name));
        assert_eq!(found.kind, doc.kind, "the type of {}", doc.name);
        assert!(!found.help.is_empty(), "{} has no HELP", doc.name);
        assert!(!found.samples.is_empty(), "{} has no sample", doc.name);
        for sample in &found.samples {
            let labels: Vec<&String> = sample.labels.keys().filter(|l| *l != "le").collect();
            let mut expected: Vec<&String> = doc.labels.iter().collect();
            expected.sort();
            assert_eq!(labels, expected, "the labels of {sample:?}");
        }
        if doc.kind == "histogram" {
            let mut bounds: Vec<f64> = found
                .samples
                .iter()
                .filter_map(|sample| sample.labels.get("le"))
                .map(|bound| match bound.as_str() {
                    "+Inf" => f64::INFINITY,
                    bound => bound.parse().unwrap(),
                })
                .collect();
            bounds.sort_by(f64::total_cmp);
            bounds.dedup();
            let mut expected = doc.buckets.clone();
            expected.push(f64::INFINITY);
            assert_eq!(bounds, expected, "the buckets of {}", doc.name);
        }
    }
    for family in &exported {
        let name = family.exposed_name();
        assert!(
            documented.iter().any(|doc| doc.name == name),
            "{name} is exported but not in OPERATIONS.md's table of metric families"
        );
    }
}

#[test]
fn the_build_and_process_figures_describe_the_serving_process() {
    let before = seconds_since_epoch();
    let server = ServeProcess::start(&["--demo", "--workers", "1"], &[]);
    let families = scrape(&server.http());
    let version = run(itau_codigo().arg("--version"), b"").stdout;
    let build = &family(&families, "itau_codigo_build_info").samples[0];
    assert_eq!(build.value, 1.0);
    assert_eq!(
        format!(
            "itau-codigo {} (commit {})\n",
            build.labels["version"], build.labels["commit"]
        ),
        version
    );
    let started = value_of(&families, "process_start_time_seconds");
    // The boot time is in whole seconds: the start may read up to one early.
    assert!(
        (before - 2.0..=seconds_since_epoch()).contains(&started),
        "started at {started}, the test at {before}"
    );
    // The kernel counts CPU time in clock ticks: a server that starts in less than one
    // has none yet, so scrape (which costs it some) until one is counted.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut cpu = value_of(&families, "process_cpu_seconds_total");
    while cpu == 0.0 && std::time::Instant::now() < deadline {
        cpu = value_of(&scrape(&server.http()), "process_cpu_seconds_total");
    }
    assert!(cpu > 0.0, "no CPU time counted in 10 s of scrapes");
    let resident = value_of(&families, "process_resident_memory_bytes");
    assert!(resident > 1e6, "{resident}");
    assert!(value_of(&families, "process_virtual_memory_bytes") >= resident);
    let open = value_of(&families, "process_open_fds");
    assert!(open >= 3.0 && open <= value_of(&families, "process_max_fds"));
}

#[test]
fn the_text_passes_promtools_lint() {
    let Some(promtool) = promtool() else {
        return;
    };
    let app = TestApp::builder().spawn();
    app.consulta(TRES_GERENTES);
    let text = app.get("/metrics").body;
    let mut lint = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    lint.stdin.take().unwrap().write_all(&text).unwrap();
    let output = lint.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_pool_figures_describe_the_store_pool() {
    let app = TestApp::builder()
        .config(|config| config.workers = Some(1))
        .spawn();
    app.consulta(TRES_GERENTES);
    let families = scrape(&app);
    // One worker: a pool of 4 (two per worker and two more).
    assert_eq!(
        value_of(&families, "itau_codigo_store_pool_max_connections"),
        4.0
    );
    let open = value_of(&families, "itau_codigo_store_pool_connections");
    assert!((1.0..=4.0).contains(&open), "{open}");
    // The scrape's own readiness check has given its connection back.
    assert_eq!(
        value_of(&families, "itau_codigo_store_pool_connections_in_use"),
        0.0
    );
    assert_eq!(value_of(&families, "itau_codigo_store_pool_waiting"), 0.0);
}

#[test]
fn the_latency_histogram_is_by_route_so_that_probes_stay_out_of_the_api_s() {
    let app = TestApp::builder().spawn();
    for _ in 0..20 {
        app.get("/healthz");
    }
    app.consulta(TRES_GERENTES);
    let families = scrape(&app);
    let histogram = family(&families, "itau_codigo_http_request_duration_seconds");
    let count = |route: &str| {
        histogram
            .samples
            .iter()
            .find(|s| s.name.ends_with("_count") && s.labels["route"] == route)
            .map(|s| s.value)
    };
    assert_eq!(count(PATH), Some(1.0));
    assert_eq!(count("/healthz"), Some(20.0));
}

/// The record of the last import as `/metrics` shows it: (committed at, accounts).
fn freshness(app: &TestApp) -> Option<(f64, f64)> {
    let families = scrape(app);
    let find = |name: &str| {
        families
            .iter()
            .find(|family| family.exposed_name() == name)
            .map(Family::value)
    };
    let committed = find("itau_codigo_store_last_import_timestamp_seconds");
    let accounts = find("itau_codigo_store_accounts");
    assert_eq!(
        committed.is_some(),
        accounts.is_some(),
        "both or neither: {families:?}"
    );
    committed.zip(accounts)
}

fn import_with(db: &TestDb, lines: &str, replace: bool) {
    import(
        lines.as_bytes(),
        db.importer().as_mut(),
        &ImportOptions {
            replace,
            ..ImportOptions::default()
        },
        &mut Vec::new(),
    )
    .unwrap();
}

/// Serving `db`, asking the store afresh at every scrape.
fn app_on(db: TestDb) -> TestApp {
    TestApp::builder()
        .db(db)
        .config(|config| config.readiness_interval = Duration::ZERO)
        .spawn()
}

fn an_import_records_when_it_committed_and_how_many_accounts_the_store_holds(store: TestStore) {
    let db = TestDb::empty(store);
    let before = seconds_since_epoch();
    db.import(include_str!("../../demo/clientes.jsonl"));
    let after = seconds_since_epoch();
    let app = app_on(db);
    let (committed, accounts) = freshness(&app).expect("the import was recorded");
    assert_eq!(accounts, 31.0);
    // The database's clock may round to the microsecond, SQLite's to the millisecond.
    assert!(
        (before - 0.01..=after + 0.01).contains(&committed),
        "committed at {committed}, imported between {before} and {after}"
    );
    // Five new accounts, upserted.
    let new = generated_records(5, "7001");
    import_with(&app.store, &new, false);
    assert_eq!(freshness(&app).unwrap().1, 36.0);
    // The same five again and two more: only the two are new.
    import_with(&app.store, &generated_records(7, "7001"), false);
    let (later, accounts) = freshness(&app).unwrap();
    assert_eq!(accounts, 38.0);
    assert!(later >= committed, "{later} < {committed}");
    // Everything replaced by three.
    import_with(&app.store, &generated_records(3, "7002"), true);
    assert_eq!(freshness(&app).unwrap().1, 3.0);
    assert_eq!(app.store.count_rows(), 3);
}

fn a_session_counts_each_account_once_whatever_the_order_of_its_keys(store: TestStore) {
    let db = TestDb::with_demo(store);
    let record = db.stored_data(TRES_GERENTES).unwrap().into_bytes();
    {
        let mut importer = db.importer();
        let mut session = importer.begin(true).unwrap();
        // Out of order (PostgreSQL's `COPY` stops there) and repeated.
        for key in [30, 10, 20, 10, 30, 40] {
            session.upsert(key, &record).unwrap();
        }
        session.commit().unwrap();
    }
    assert_eq!(db.count_rows(), 4);
    let app = app_on(db);
    assert_eq!(freshness(&app).unwrap().1, 4.0);
}

/// Turns `db` back into a store of schema 2, as the previous release left it: no
/// record of imports.
fn as_schema_2(db: &TestDb) {
    match db.sqlite_path() {
        Some(path) => rusqlite::Connection::open(path)
            .unwrap()
            .execute_batch("DROP TABLE itau_codigo_imports; PRAGMA user_version = 2;")
            .unwrap(),
        None => pg_execute(
            db.url(),
            "DROP TABLE itau_codigo_imports;
             DELETE FROM itau_codigo_migrations WHERE version = 3;",
        ),
    }
}

fn a_store_from_before_the_record_is_served_without_freshness_until_an_import(store: TestStore) {
    let db = TestDb::with_demo(store);
    as_schema_2(&db);
    let app = app_on(db);
    assert_eq!(app.consulta(TRES_GERENTES).status, 200);
    assert_eq!(freshness(&app), None, "absent, not 0");
    // An import migrates the store and records itself: the accounts are counted once.
    import_with(&app.store, &generated_records(2, "7003"), false);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let accounts = loop {
        // A serving SQLite store sees the migrated file within its check interval.
        if let Some((_, accounts)) = freshness(&app) {
            break accounts;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no record after the import"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(accounts, 33.0);
    assert_eq!(app.consulta(TRES_GERENTES).status, 200);
}
