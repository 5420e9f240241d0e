//! The `itau-codigo` binary: exit statuses, messages, import, and what `serve` logs.

use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::process::{ServeProcess, itau_codigo, run};
use crate::stores::{TestDb, TestStore, on_both_stores};

#[test]
fn conta_check_prints_one_line_per_code_and_reasons_on_stderr() {
    let output = run(
        itau_codigo().args([
            "conta",
            "check",
            "001.341.1501/0009879-0",
            "001341150100098791",
            "12",
        ]),
        b"",
    );
    assert_eq!(output.status, 1);
    assert_eq!(
        output.stdout,
        "001341150100098790 ok\n001341150100098791 invalid\n12 invalid\n"
    );
    output.assert_stderr_has("001341150100098791: wrong DAC (check digit): found 1, expected 0");
    output.assert_stderr_has("12: expected 18 digits");
}

#[test]
fn conta_check_of_valid_codes_exits_0_and_reports_positions_as_typed() {
    assert_eq!(
        run(
            itau_codigo().args(["conta", "check", "001341150100098790"]),
            b""
        )
        .status,
        0
    );
    let output = run(
        itau_codigo().args(["conta", "check", "001 341 15O1 0009879 0"]),
        b"",
    );
    assert_eq!(output.status, 1);
    output.assert_stderr_has("position 11, found 'O'");
}

#[test]
fn conta_make_pads_the_parts_and_computes_the_dac() {
    let output = run(
        itau_codigo().args([
            "conta",
            "make",
            "--empresa",
            "1",
            "--banco",
            "341",
            "--agencia",
            "1501",
            "--conta",
            "9879",
        ]),
        b"",
    );
    assert_eq!(
        (output.status, output.stdout.as_str()),
        (0, "001341150100098790\n")
    );
    let refused = run(
        itau_codigo().args([
            "conta",
            "make",
            "--empresa",
            "1",
            "--banco",
            "341",
            "--agencia",
            "15010",
            "--conta",
            "9879",
        ]),
        b"",
    );
    assert_eq!(refused.status, 1);
    refused.assert_stderr_has("agencia: expected 1 to 4 digits, found 5 characters");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        run(itau_codigo().args(["conta", "make", "--empresa", "1"]), b"").status,
        2
    );
    assert_eq!(run(itau_codigo().args(["nonsense"]), b"").status, 2);
    assert_eq!(
        run(itau_codigo().args(["serve", "--workers", "0"]), b"").status,
        2
    );
}

#[test]
fn serve_without_credentials_refuses_to_start_and_says_what_to_set() {
    let (_dir, db) = demo_db();
    let output = run(
        itau_codigo().args([
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
        ]),
        b"",
    );
    assert_eq!(output.status, 2);
    output.assert_stderr_has("ITAU_CODIGO_USERNAME and ITAU_CODIGO_PASSWORD");
    let both = run(
        itau_codigo()
            .args([
                "serve",
                "--db",
                db.to_str().unwrap(),
                "--bind",
                "127.0.0.1:0",
            ])
            .env("ITAU_CODIGO_USERNAME", "u")
            .env("ITAU_CODIGO_PASSWORD", "p")
            .env("ITAU_CODIGO_PASSWORD_FILE", "/dev/null"),
        b"",
    );
    assert_eq!(both.status, 2);
    both.assert_stderr_has("keep one");
}

#[test]
fn serve_refuses_a_sqlite_file_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let output = run(
        itau_codigo()
            .args([
                "serve",
                "--db",
                &format!("sqlite:{}", missing.display()),
                "--bind",
                "127.0.0.1:0",
            ])
            .env("ITAU_CODIGO_USERNAME", "u")
            .env("ITAU_CODIGO_PASSWORD", "long-enough-password"),
        b"",
    );
    assert_eq!(output.status, 2);
    output.assert_stderr_has("no such file");
    assert!(!missing.exists(), "serve created the file");
}

#[test]
fn the_demo_refuses_a_db_or_a_non_loopback_address() {
    let with_db = run(
        itau_codigo().args(["serve", "--demo", "--db", "sqlite:x.db"]),
        b"",
    );
    assert_eq!(with_db.status, 2);
    let exported = run(
        itau_codigo()
            .args(["serve", "--demo"])
            .env("ITAU_CODIGO_DB", "sqlite:x.db"),
        b"",
    );
    assert_eq!(exported.status, 2);
    exported.assert_stderr_has("ITAU_CODIGO_DB");
    let public = run(
        itau_codigo().args(["serve", "--demo", "--bind", "0.0.0.0:0"]),
        b"",
    );
    assert_eq!(public.status, 2);
    public.assert_stderr_has("loopback");
}

fn import_writes_every_line_and_reports_records_per_second(store: TestStore) {
    let db = TestDb::empty(store);
    let output = run(
        itau_codigo().args(["import", "-", "--db", db.url()]),
        generated_records(2_000, "7777").as_bytes(),
    );
    assert_eq!(output.status, 0, "{}", output.stderr);
    output.assert_stderr_has("imported 2000 records from 2000 lines");
    output.assert_stderr_has("records/s");
    assert_eq!(db.count_rows(), 2_000);
}

fn one_bad_line_in_the_middle_writes_nothing_and_is_named(store: TestStore) {
    let db = TestDb::empty(store);
    let mut lines: Vec<String> = generated_records(1_000, "7777")
        .lines()
        .map(str::to_owned)
        .collect();
    lines[499] = lines[499]
        .replace("\"tipo_pessoa\":\"F\"", "\"tipo_pessoa\":\"X\"")
        .replace("\"tipo_pessoa\":\"J\"", "\"tipo_pessoa\":\"X\"");
    let output = run(
        itau_codigo().args(["import", "-", "--db", db.url()]),
        lines.join("\n").as_bytes(),
    );
    assert_eq!(output.status, 1, "{}", output.stderr);
    output.assert_stderr_has("line 500: data.tipo_pessoa: invalid_tipo_pessoa: ");
    output.assert_stderr_has("nothing was written");
    match db.sqlite_path() {
        // A failed first import leaves no SQLite file behind for `serve` to start on.
        Some(path) => assert!(!path.exists(), "a failed first import left a store behind"),
        None => assert_eq!(db.count_rows(), 0),
    }
}

fn a_failed_import_into_an_existing_store_leaves_its_data(store: TestStore) {
    let db = TestDb::empty(store);
    let good = run(
        itau_codigo().args(["import", "-", "--db", db.url()]),
        generated_records(5, "7777").as_bytes(),
    );
    assert_eq!(good.status, 0, "{}", good.stderr);
    let bad = format!("{}{{\n", generated_records(3, "7777"));
    let refused = run(
        itau_codigo().args(["import", "-", "--db", db.url(), "--replace"]),
        bad.as_bytes(),
    );
    assert_eq!(refused.status, 1, "{}", refused.stderr);
    assert_eq!(db.count_rows(), 5);
}

fn bad_lines_are_all_reported_up_to_100_then_counted(store: TestStore) {
    let db = TestDb::empty(store);
    let input = "{\n".repeat(150);
    let output = run(
        itau_codigo().args(["import", "-", "--db", db.url()]),
        input.as_bytes(),
    );
    assert_eq!(output.status, 1);
    assert_eq!(
        output.stderr.matches(": malformed_json: ").count(),
        100,
        "{}",
        output.stderr
    );
    output.assert_stderr_has("line 100: ");
    output.assert_stderr_has("... and 50 more errors");
}

fn import_accepts_a_bom_crlf_and_blank_lines(store: TestStore) {
    let db = TestDb::empty(store);
    let records = generated_records(3, "7777").replace('\n', "\r\n\r\n");
    let input = format!("\u{FEFF}{records}");
    let output = run(
        itau_codigo().args(["import", "-", "--db", db.url()]),
        input.as_bytes(),
    );
    assert_eq!(output.status, 0, "{}", output.stderr);
    assert_eq!(db.count_rows(), 3);
}

fn reimporting_an_account_replaces_it_and_the_later_line_wins(store: TestStore) {
    let db = TestDb::empty(store);
    let records = generated_records(2, "7777");
    let first: Value = serde_json::from_str(records.lines().next().unwrap()).unwrap();
    let mut renamed = first.clone();
    renamed["data"]["nome_social"] = Value::String("Primeiro".into());
    let mut last = first.clone();
    last["data"]["nome_social"] = Value::String("Segundo".into());
    let input = format!("{records}{renamed}\n{last}\n");
    assert_eq!(
        run(
            itau_codigo().args(["import", "-", "--db", db.url()]),
            input.as_bytes()
        )
        .status,
        0
    );
    assert_eq!(db.count_rows(), 2);
    let dados = db
        .stored_data(first["codigo_conta"].as_str().unwrap())
        .unwrap();
    assert!(dados.contains("Segundo"), "{dados}");
}

fn replace_empties_the_store_first(store: TestStore) {
    let db = TestDb::empty(store);
    let db_arg = db.url();
    assert_eq!(
        run(
            itau_codigo().args(["import", "-", "--db", db_arg]),
            generated_records(10, "7777").as_bytes()
        )
        .status,
        0
    );
    let one = generated_records(1, "7777");
    assert_eq!(
        run(
            itau_codigo().args(["import", "-", "--db", db_arg]),
            one.as_bytes()
        )
        .status,
        0
    );
    assert_eq!(db.count_rows(), 10);
    assert_eq!(
        run(
            itau_codigo().args(["import", "-", "--db", db_arg, "--replace"]),
            one.as_bytes()
        )
        .status,
        0
    );
    assert_eq!(db.count_rows(), 1);
}

fn replace_refuses_an_input_without_records_and_keeps_the_store(store: TestStore) {
    let db = TestDb::empty(store);
    let db_arg = db.url();
    // A first import into a store that does not exist yet leaves none behind.
    let refused = run(
        itau_codigo().args(["import", "-", "--db", db_arg, "--replace"]),
        b"",
    );
    assert_eq!(refused.status, 1, "{}", refused.stderr);
    refused.assert_stderr_has("holds no records");
    if let Some(path) = db.sqlite_path() {
        assert!(!path.exists(), "a refused first import left a store behind");
    }
    let stored = run(
        itau_codigo().args(["import", "-", "--db", db_arg]),
        generated_records(5, "7777").as_bytes(),
    );
    assert_eq!(stored.status, 0, "{}", stored.stderr);
    for empty in ["", "\n", "\r\n\n  \n"] {
        let refused = run(
            itau_codigo().args(["import", "-", "--db", db_arg, "--replace"]),
            empty.as_bytes(),
        );
        assert_eq!(refused.status, 1, "{empty:?}: {}", refused.stderr);
        refused.assert_stderr_has(
            "the input holds no records and --replace would empty the store; nothing was written",
        );
        assert_eq!(db.count_rows(), 5, "{empty:?}");
    }
    // Without --replace an empty input changes nothing and is no error.
    let nothing = run(itau_codigo().args(["import", "-", "--db", db_arg]), b"");
    assert_eq!(nothing.status, 0, "{}", nothing.stderr);
    assert_eq!(db.count_rows(), 5);
}

fn expect_records_refuses_any_other_count_and_writes_nothing(store: TestStore) {
    let db = TestDb::empty(store);
    let db_arg = db.url();
    let stored = run(
        itau_codigo().args(["import", "-", "--db", db_arg]),
        generated_records(2, "6666").as_bytes(),
    );
    assert_eq!(stored.status, 0, "{}", stored.stderr);
    let ten = generated_records(10, "7777");
    for (flag, replace) in [("9", false), ("11", false), ("0", true)] {
        let mut command = itau_codigo();
        command.args(["import", "-", "--db", db_arg, "--expect-records", flag]);
        if replace {
            command.arg("--replace");
        }
        let refused = run(&mut command, ten.as_bytes());
        assert_eq!(refused.status, 1, "{flag}: {}", refused.stderr);
        refused.assert_stderr_has(&format!(
            "expected {flag} records, the input holds 10; nothing was written"
        ));
        assert_eq!(db.count_rows(), 2, "{flag}");
    }
    // From the environment, and counting records, not lines or accounts: a blank line
    // does not count, an account given twice counts twice.
    let first = ten.lines().next().unwrap();
    let input = format!("{ten}\n{first}\n");
    let accepted = run(
        itau_codigo()
            .args(["import", "-", "--db", db_arg])
            .env("ITAU_CODIGO_EXPECT_RECORDS", "11"),
        input.as_bytes(),
    );
    assert_eq!(accepted.status, 0, "{}", accepted.stderr);
    accepted.assert_stderr_has("imported 11 records from 12 lines");
    assert_eq!(db.count_rows(), 12);
}

#[test]
fn expect_records_file_reads_the_count_the_export_came_with() {
    let db = TestDb::empty(TestStore::Sqlite);
    let db_arg = db.url();
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("clientes.count");
    let count_arg = count.to_str().unwrap();
    db.import(&generated_records(2, "6666"));
    let ten = generated_records(10, "7777");
    std::fs::write(&count, "9\n").unwrap();
    let refused = run(
        itau_codigo().args([
            "import",
            "-",
            "--db",
            db_arg,
            "--replace",
            "--expect-records-file",
            count_arg,
        ]),
        ten.as_bytes(),
    );
    assert_eq!(refused.status, 1, "{}", refused.stderr);
    refused.assert_stderr_has("expected 9 records, the input holds 10; nothing was written");
    assert_eq!(db.count_rows(), 2);
    std::fs::write(&count, "10\n").unwrap();
    let accepted = run(
        itau_codigo()
            .args(["import", "-", "--db", db_arg, "--replace"])
            .env("ITAU_CODIGO_EXPECT_RECORDS_FILE", count_arg),
        ten.as_bytes(),
    );
    assert_eq!(accepted.status, 0, "{}", accepted.stderr);
    assert_eq!(db.count_rows(), 10);
}

#[test]
fn expect_records_file_that_holds_no_count_exits_2_without_quoting_it() {
    let db = TestDb::empty(TestStore::Sqlite);
    let db_arg = db.url();
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("clientes.count");
    let count_arg = count.to_str().unwrap();
    let missing = run(
        itau_codigo().args([
            "import",
            "-",
            "--db",
            db_arg,
            "--expect-records-file",
            count_arg,
        ]),
        generated_records(3, "7777").as_bytes(),
    );
    assert_eq!(missing.status, 2, "{}", missing.stderr);
    missing.assert_stderr_has(&format!("cannot read the record count file {count_arg}"));
    // Pointed at the export by mistake: refused, and nothing of it is quoted.
    let line = generated_records(1, "7777");
    std::fs::write(&count, &line).unwrap();
    let wrong = run(
        itau_codigo().args([
            "import",
            "-",
            "--db",
            db_arg,
            "--expect-records-file",
            count_arg,
        ]),
        line.as_bytes(),
    );
    assert_eq!(wrong.status, 2, "{}", wrong.stderr);
    wrong.assert_stderr_has(&format!(
        "the record count file {count_arg} does not hold a number of records"
    ));
    assert!(!wrong.stderr.contains("codigo_conta"), "{}", wrong.stderr);
    assert!(!db.sqlite_path().unwrap().exists(), "no store was created");
}

#[test]
fn expect_records_and_its_file_together_are_refused() {
    let output = run(
        itau_codigo()
            .args(["import", "-", "--db", "sqlite:/tmp/never.db"])
            .args(["--expect-records-file", "/tmp/never.count"])
            .env("ITAU_CODIGO_EXPECT_RECORDS", "3"),
        b"",
    );
    assert_eq!(output.status, 2, "{}", output.stderr);
    output.assert_stderr_has("cannot be used with");
}

#[test]
fn import_of_a_missing_file_exits_2() {
    let output = run(
        itau_codigo().args([
            "import",
            "/no/such/file.jsonl",
            "--db",
            "sqlite:/tmp/never.db",
        ]),
        b"",
    );
    assert_eq!(output.status, 2);
    output.assert_stderr_has("cannot open /no/such/file.jsonl");
}

#[test]
fn schema_writes_the_committed_documents() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        itau_codigo().args(["schema", "--out", dir.path().to_str().unwrap()]),
        b"",
    );
    assert_eq!(output.status, 0);
    for name in [
        "consulta-request.schema.json",
        "consulta-response.schema.json",
        "problem.schema.json",
        "registro.schema.json",
        "openapi.json",
    ] {
        let committed = std::fs::read_to_string(format!(
            "{}/../../schemas/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(name)).unwrap(),
            committed,
            "{name}"
        );
    }
}

/// `serve --demo` with `env`, once it has printed its three lines (the address and the
/// curl command).
fn serve_demo(env: &[(&str, &str)]) -> (ServeProcess, String) {
    let served = ServeProcess::start(&["--demo", "--workers", "1"], env);
    let printed = served.stdout_lines(3);
    (served, printed)
}

#[test]
fn the_demo_prints_a_curl_command_that_works_as_pasted() {
    let (served, stdout) = serve_demo(&[]);
    assert!(
        stdout.contains("-H 'userName: demo' -H 'password: demo'"),
        "{stdout}"
    );
    let curl = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("curl "))
        .unwrap()
        .trim()
        .to_owned();
    let output = Command::new("sh").args(["-c", &curl]).output().unwrap();
    let body: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    assert!(body["data"]["nome_completo"].is_string(), "{body}");
    assert_eq!(served.terminate().0, 0);
}

#[test]
fn the_demo_curl_reads_the_password_from_the_environment_when_it_is_not_demo() {
    let (served, stdout) = serve_demo(&[
        ("ITAU_CODIGO_USERNAME", "operador"),
        ("ITAU_CODIGO_PASSWORD", "Outr4-S3nha"),
    ]);
    assert!(
        stdout.contains("\"password: $ITAU_CODIGO_PASSWORD\""),
        "{stdout}"
    );
    assert!(!stdout.contains("Outr4-S3nha"), "{stdout}");
    let curl = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("curl "))
        .unwrap()
        .trim()
        .to_owned();
    let output = Command::new("sh")
        .args(["-c", &curl])
        .env("ITAU_CODIGO_PASSWORD", "Outr4-S3nha")
        .output()
        .unwrap();
    let body: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(body["data"]["nome_completo"].is_string(), "{body}");
    served.terminate();
}

#[test]
fn logs_of_a_run_hold_no_password_name_document_email_phone_birth_date_racf_or_full_code() {
    const PASSWORD_SET: &str = "Pw-Sup3r-S3cret-Longa";
    const PASSWORD_TRIED: &str = "Wr0ng-Pw-Attempt";
    let (served, _) = serve_demo(&[
        ("ITAU_CODIGO_USERNAME", "operador"),
        ("ITAU_CODIGO_PASSWORD", PASSWORD_SET),
    ]);
    let http = served.http();
    let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}","servico_digital":"whatsapp"}}"#);
    let found = http.post_as("operador", PASSWORD_SET, &body, &[]);
    assert_eq!(found.status, 200);
    let customer = found.json()["data"].clone();
    assert_eq!(
        http.post_as("operador", PASSWORD_TRIED, &body, &[]).status,
        401
    );
    assert_eq!(
        http.post_as(
            "operador",
            PASSWORD_SET,
            r#"{"codigo_conta":"001341150100098791"}"#,
            &[]
        )
        .status,
        400
    );
    let (status, logs) = served.terminate();
    assert_eq!(status, 0, "{logs}");

    assert_logs_hold_no_secret(
        &logs,
        &customer,
        &[
            PASSWORD_SET,
            PASSWORD_TRIED,
            TRES_GERENTES,
            "001341150100098791",
        ],
    );
    // The log is JSON lines, one access line per request with the masked code.
    let access: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "itau_codigo::access")
        .collect();
    assert_eq!(access.len(), 3, "{logs}");
    assert_eq!(access[0]["conta"], "0013411501*");
    assert_eq!(access[0]["servico_digital"], "whatsapp");
    assert_eq!(access[1]["status"], 401);
    for field in [
        "method",
        "route",
        "status",
        "latency_ms",
        "correlation_id",
        "flow_id",
    ] {
        assert!(
            access[0].get(field).is_some(),
            "no {field} in {}",
            access[0]
        );
    }
}

/// What a log line is made of, values aside: each member's name and the shape of its
/// value (the JSON type; for a string, its letters and digits as `x`, one per run,
/// between the other characters as they stand: a UUID is `x-x-x-x-x`).
fn log_line_shape(value: &Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(name, value)| (name.clone(), log_line_shape(value)))
                .collect(),
        ),
        Value::String(text) => {
            let mut shape = String::from("string ");
            for c in text.chars() {
                let c = if c.is_ascii_alphanumeric() { 'x' } else { c };
                if !(c == 'x' && shape.ends_with('x')) {
                    shape.push(c);
                }
            }
            Value::String(shape)
        }
        Value::Number(_) => Value::String("number".into()),
        other => Value::String(format!("{other:?}")),
    }
}

#[test]
fn the_access_line_operations_md_shows_has_the_members_and_shapes_of_a_real_one() {
    let operations =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../OPERATIONS.md"))
            .unwrap();
    let logs_section = &operations[operations.find("\n## Logs\n").unwrap()..];
    let block = &logs_section[logs_section.find("```json\n").unwrap() + "```json\n".len()..];
    let documented: Value =
        serde_json::from_str(block[..block.find("```").unwrap()].trim()).unwrap();

    let (served, _) = serve_demo(&[
        ("ITAU_CODIGO_USERNAME", USERNAME),
        ("ITAU_CODIGO_PASSWORD", PASSWORD),
    ]);
    let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}","servico_digital":"whatsapp"}}"#);
    let flow_id = "x-itau-flowID: 9b0e6c1d-2f3a-4b5c-8d7e-6f5a4b3c2d1e";
    assert_eq!(served.http().post_consulta(&body, &[flow_id]).status, 200);
    let (status, logs) = served.terminate();
    assert_eq!(status, 0, "{logs}");
    let written: Value = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["target"] == "itau_codigo::access")
        .unwrap_or_else(|| panic!("no access line in\n{logs}"));
    assert_eq!(log_line_shape(&documented), log_line_shape(&written));
    assert_eq!(documented["message"], written["message"]);
    assert_eq!(documented["conta"], written["conta"]);
}

/// The first demo record with `pointer` set to `value`, as one line.
fn demo_record_with(pointer: &str, value: Value) -> String {
    let line = include_str!("../../demo/clientes.jsonl")
        .lines()
        .next()
        .unwrap();
    let mut record: Value = serde_json::from_str(line).unwrap();
    *record
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the demo record")) = value;
    record.to_string()
}

#[test]
fn import_reports_quote_no_refused_value_nor_its_check_digits() {
    // (where, the refused value, what must not appear besides it, whether the report
    // line may hold no digit at all: check digits found or expected are two digits
    // that could hide anywhere)
    let cases: [(&str, Value, &[&str], bool); 9] = [
        ("/data/cpf_cnpj", json!("52998224724"), &[], true),
        ("/data/cpf_cnpj", json!("11222333000180"), &[], true),
        ("/data/cpf_cnpj", json!("5299822472Q"), &["Q"], false),
        (
            "/data/data_nascimento_fundacao",
            json!("1985-13-45"),
            &["13-45"],
            false,
        ),
        (
            "/data/emails/0/email",
            json!("maria.segredo@@example.com"),
            &["segredo"],
            false,
        ),
        (
            "/data/telefones/0/numero",
            json!("98765-4321"),
            &["98765", "4321"],
            false,
        ),
        (
            "/codigo_conta",
            json!("001341150100098791"),
            &["found 1", "expected 0"],
            true,
        ),
        ("/codigo_conta", json!("00134115010009879Q"), &["Q"], false),
        (
            "/data/gerentes/0/email_gerente",
            json!(11_999_998_888_u64),
            &[],
            false,
        ),
    ];
    let input: String = cases
        .iter()
        .map(|(pointer, value, ..)| demo_record_with(pointer, value.clone()) + "\n")
        .collect();
    let db = TestDb::empty(TestStore::Sqlite);
    let output = run(
        itau_codigo().args(["import", "-", "--db", db.url()]),
        input.as_bytes(),
    );
    assert_eq!(output.status, 1, "{}", output.stderr);
    for (number, (pointer, value, also, digit_free)) in (1..).zip(&cases) {
        let prefix = format!("line {number}: ");
        let reports: Vec<&str> = output
            .stderr
            .lines()
            .filter_map(|line| line.strip_prefix(&prefix))
            .collect();
        assert!(
            !reports.is_empty(),
            "{pointer} was not refused: {}",
            output.stderr
        );
        let shown = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        for report in reports {
            for refused in std::iter::once(shown.as_str()).chain(also.iter().copied()) {
                assert!(
                    !report.contains(refused),
                    "{pointer}: {report} quotes {refused}"
                );
            }
            assert!(
                !digit_free || !report.contains(|c: char| c.is_ascii_digit()),
                "{pointer}: {report} may quote check digits"
            );
        }
    }
}

on_both_stores!(
    import_writes_every_line_and_reports_records_per_second,
    one_bad_line_in_the_middle_writes_nothing_and_is_named,
    a_failed_import_into_an_existing_store_leaves_its_data,
    bad_lines_are_all_reported_up_to_100_then_counted,
    import_accepts_a_bom_crlf_and_blank_lines,
    reimporting_an_account_replaces_it_and_the_later_line_wins,
    replace_empties_the_store_first,
    replace_refuses_an_input_without_records_and_keeps_the_store,
    expect_records_refuses_any_other_count_and_writes_nothing,
);
