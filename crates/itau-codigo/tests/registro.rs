//! Import records: parsing a line, and every field rule with its path and code.

use itau_codigo::{FieldError, FieldErrorCode, RegistroCliente, Validate};
use serde_json::{Value, json};

fn valid_record() -> Value {
    json!({
        "codigo_conta": "001341150100098790",
        "data": {
            "id_cliente": "b26e641a-71f5-4117-ad0d-4d753faebb16",
            "emails": [{"principal": "S", "email": "maria@example.com", "data_atualizacao": "2025-02-13T14:46:00-03:00"}],
            "data_abertura_conta": "2010-05-17",
            "nome_completo": "Maria da Silva",
            "tipo_pessoa": "F",
            "data_nascimento_fundacao": "1985-09-30",
            "gerentes": [
                {"tipo_estrutura": "AP", "telefones": {"ddi": "55", "ddd": "11", "numero": "987654321"}},
                {"tipo_estrutura": "OP", "email_gerente": ""}
            ],
            "telefones": [{"ddd": "11", "numero": "33334444", "ramal": ""}],
            "cpf_cnpj": "52998224725",
            "nome_social": "",
            "agencia": "1501",
            "conta_corrente": "0009879"
        }
    })
}

/// The record with `pointer` (a JSON pointer; its last member may be new) set to `value`.
fn with(pointer: &str, value: Value) -> String {
    let mut record = valid_record();
    let (parent, member) = pointer.rsplit_once('/').unwrap();
    match record
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"))
    {
        Value::Object(members) => {
            members.insert(member.to_owned(), value);
        }
        Value::Array(items) => items[member.parse::<usize>().unwrap()] = value,
        other => panic!("{parent} is {other}"),
    }
    record.to_string()
}

fn errors(line: &str) -> Vec<(String, FieldErrorCode)> {
    RegistroCliente::from_json_line(line)
        .expect_err(line)
        .into_iter()
        .map(|FieldError { field, code, .. }| (field, code))
        .collect()
}

fn one(field: &str, code: FieldErrorCode) -> Vec<(String, FieldErrorCode)> {
    vec![(field.to_owned(), code)]
}

#[test]
fn a_valid_record_parses_with_its_managers_in_order() {
    let registro = RegistroCliente::from_json_line(&valid_record().to_string()).unwrap();
    let tipos: Vec<_> = registro
        .data
        .gerentes
        .unwrap()
        .into_iter()
        .map(|g| g.tipo_estrutura.unwrap())
        .collect();
    assert_eq!(tipos, ["AP", "OP"]);
}

#[test]
fn one_manager_object_is_read_as_a_list_of_one() {
    let line = with("/data/gerentes", json!({"tipo_estrutura": "SD"}));
    let registro = RegistroCliente::from_json_line(&line).unwrap();
    assert_eq!(registro.data.gerentes.unwrap().len(), 1);
}

#[test]
fn null_counts_as_absent() {
    let line = with("/data/gerentes", Value::Null);
    let registro =
        RegistroCliente::from_json_line(&with("/data/nome_social", Value::Null)).unwrap();
    assert_eq!(registro.data.nome_social, None);
    assert_eq!(
        RegistroCliente::from_json_line(&line)
            .unwrap()
            .data
            .gerentes,
        None
    );
}

#[test]
fn every_field_rule_names_its_path_and_code() {
    use FieldErrorCode::*;
    let cases: Vec<(&str, Value, &str, FieldErrorCode)> = vec![
        (
            "/codigo_conta",
            json!("001341150100098791"),
            "codigo_conta",
            DacMismatch,
        ),
        ("/codigo_conta", json!(1), "codigo_conta", InvalidType),
        (
            "/data/emails/0/email",
            json!("not-an-email"),
            "data.emails[0].email",
            InvalidEmail,
        ),
        (
            "/data/emails/0/data_atualizacao",
            json!("2025-02-30"),
            "data.emails[0].data_atualizacao",
            InvalidDate,
        ),
        (
            "/data/emails/0/data_atualizacao",
            json!("2025-02-13T14:46:00"),
            "data.emails[0].data_atualizacao",
            InvalidDate,
        ),
        (
            "/data/data_abertura_conta",
            json!("17/05/2010"),
            "data.data_abertura_conta",
            InvalidDate,
        ),
        (
            "/data/data_nascimento_fundacao",
            json!("1985-09-30T00:00:00Z"),
            "data.data_nascimento_fundacao",
            InvalidDate,
        ),
        (
            "/data/gerentes/1",
            json!({"telefones": {"ddd": "1a"}}),
            "data.gerentes[1].telefones.ddd",
            NotDigits,
        ),
        (
            "/data/telefones/0/numero",
            json!("3333-4444"),
            "data.telefones[0].numero",
            NotDigits,
        ),
        (
            "/data/telefones/0/ramal",
            json!(" 12"),
            "data.telefones[0].ramal",
            NotDigits,
        ),
        (
            "/data/cpf_cnpj",
            json!("52998224724"),
            "data.cpf_cnpj",
            InvalidCpfCnpj,
        ),
        (
            "/data/cpf_cnpj",
            json!("11111111111"),
            "data.cpf_cnpj",
            InvalidCpfCnpj,
        ),
        (
            "/data/cpf_cnpj",
            json!("529.982.247-25"),
            "data.cpf_cnpj",
            InvalidCpfCnpj,
        ),
        (
            "/data/cpf_cnpj",
            json!("5299822472é"),
            "data.cpf_cnpj",
            InvalidCpfCnpj,
        ),
        (
            "/data/tipo_pessoa",
            json!("X"),
            "data.tipo_pessoa",
            InvalidTipoPessoa,
        ),
        (
            "/data/tipo_pessoa",
            json!("J"),
            "data.tipo_pessoa",
            TipoPessoaMismatch,
        ),
        (
            "/data/nome_completo",
            json!("a".repeat(257)),
            "data.nome_completo",
            TooLong,
        ),
        (
            "/data/gerentes/0/codigo_cargo",
            json!("a".repeat(257)),
            "data.gerentes[0].codigo_cargo",
            TooLong,
        ),
        (
            "/data/nome_completo",
            json!(42),
            "data.nome_completo",
            InvalidType,
        ),
        (
            "/data/gerentes/0/telefones",
            json!([]),
            "data.gerentes[0].telefones",
            InvalidType,
        ),
        ("/data/gerentes", json!(42), "data.gerentes", InvalidType),
        (
            "/data/gerentes/0/segmento",
            json!(7),
            "data.gerentes[0].segmento",
            InvalidType,
        ),
        ("/data", json!([]), "data", InvalidType),
        ("/data", Value::Null, "data", Required),
    ];
    for (pointer, value, field, code) in cases {
        assert_eq!(
            errors(&with(pointer, value.clone())),
            one(field, code),
            "{pointer} = {value}"
        );
    }
}

#[test]
fn strings_of_exactly_256_characters_are_accepted() {
    assert!(
        RegistroCliente::from_json_line(&with("/data/nome_completo", json!("ç".repeat(256))))
            .is_ok()
    );
}

#[test]
fn empty_strings_skip_the_format_rules() {
    for pointer in [
        "/data/cpf_cnpj",
        "/data/tipo_pessoa",
        "/data/data_abertura_conta",
        "/data/emails/0/email",
        "/data/telefones/0/ddd",
    ] {
        assert!(
            RegistroCliente::from_json_line(&with(pointer, json!(""))).is_ok(),
            "{pointer}"
        );
    }
}

#[test]
fn a_company_needs_a_cnpj_numeric_or_alphanumeric() {
    let company = |cnpj: &str| {
        let mut record = valid_record();
        record["data"]["tipo_pessoa"] = json!("J");
        record["data"]["cpf_cnpj"] = json!(cnpj);
        record.to_string()
    };
    assert!(RegistroCliente::from_json_line(&company("11222333000181")).is_ok());
    assert!(RegistroCliente::from_json_line(&company("12ABC34501DE35")).is_ok());
    assert_eq!(
        errors(&company("12ABC34501DE36")),
        one("data.cpf_cnpj", FieldErrorCode::InvalidCpfCnpj)
    );
    assert_eq!(
        errors(&company("00000000000000")),
        one("data.cpf_cnpj", FieldErrorCode::InvalidCpfCnpj)
    );
    assert_eq!(
        errors(&company("12abc34501de35")),
        one("data.cpf_cnpj", FieldErrorCode::InvalidCpfCnpj)
    );
}

#[test]
fn all_rule_failures_of_a_line_are_reported_sorted_by_path() {
    let mut record = valid_record();
    record["data"]["telefones"] =
        json!([{"ddd": "x"}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {"ddd": "y"}, {"ddd": "z"}]);
    record["data"]["cpf_cnpj"] = json!("123");
    let fields: Vec<String> = errors(&record.to_string())
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        [
            "data.cpf_cnpj",
            "data.telefones[0].ddd",
            "data.telefones[10].ddd",
            "data.telefones[11].ddd"
        ]
    );
}

#[test]
fn malformed_lines_are_reported_at_the_root() {
    for line in [
        "{",
        "[]",
        r#"{"codigo_conta":"001341150100098790","codigo_conta":"001341150100098790","data":{}}"#,
    ] {
        let found = errors(line);
        assert_eq!(found.len(), 1, "{line}");
        assert_eq!(found[0].0, "", "{line}");
    }
    assert_eq!(errors("{")[0].1, FieldErrorCode::MalformedJson);
}

#[test]
fn a_line_over_64_kib_is_refused_before_parsing() {
    let line = with("/data/nome_social", json!("a".repeat(70_000)));
    assert_eq!(errors(&line), one("", FieldErrorCode::TooLong));
}

#[test]
fn messages_say_what_was_expected() {
    let found =
        RegistroCliente::from_json_line(&with("/data/cpf_cnpj", json!("52998224724"))).unwrap_err();
    assert_eq!(
        found[0].to_string(),
        "data.cpf_cnpj: invalid_cpf_cnpj: wrong CPF check digits"
    );
    let found =
        RegistroCliente::from_json_line(&with("/data/nome_completo", json!("a".repeat(300))))
            .unwrap_err();
    assert_eq!(
        found[0].message,
        "expected at most 256 characters, found 300"
    );
}

#[test]
fn a_type_error_inside_a_manager_keeps_its_path_and_quotes_no_value() {
    let one =
        RegistroCliente::from_json_line(&with("/data/gerentes", json!({"telefones": {"ddd": 11}})))
            .unwrap_err();
    assert_eq!(one.len(), 1);
    assert_eq!(
        (one[0].field.as_str(), &one[0].code),
        ("data.gerentes.telefones.ddd", &FieldErrorCode::InvalidType)
    );
    let many = RegistroCliente::from_json_line(&with(
        "/data/gerentes/1",
        json!({"email_gerente": 11_999_998_888_u64}),
    ))
    .unwrap_err();
    assert_eq!(many[0].field, "data.gerentes[1].email_gerente");
    assert_eq!(many[0].message, "expected a string, found integer");
    assert!(!many[0].message.contains("11999998888"));
}

#[test]
fn a_bad_account_code_does_not_hide_the_data_errors_of_the_same_line() {
    let mut record = valid_record();
    record["codigo_conta"] = json!("001341150100098791");
    record["data"]["emails"][0]["email"] = json!("not-an-email");
    record["data"]["cpf_cnpj"] = json!("52998224724");
    assert_eq!(
        errors(&record.to_string()),
        vec![
            ("codigo_conta".to_owned(), FieldErrorCode::DacMismatch),
            ("data.cpf_cnpj".to_owned(), FieldErrorCode::InvalidCpfCnpj),
            (
                "data.emails[0].email".to_owned(),
                FieldErrorCode::InvalidEmail
            ),
        ]
    );
}

#[test]
fn validate_on_a_record_built_in_code_reports_what_its_import_would() {
    let mut registro = RegistroCliente::from_json_line(&valid_record().to_string()).unwrap();
    assert_eq!(registro.validate(), Ok(()));
    registro.data.cpf_cnpj = Some("52998224726".into());
    registro.data.emails.as_mut().unwrap()[0].email = Some("maria".into());
    let gerentes = registro.data.gerentes.as_mut().unwrap();
    gerentes[1].telefones = Some(itau_codigo::Telefone {
        ddd: Some("1l".into()),
        ..Default::default()
    });
    let line = serde_json::to_string(&registro).unwrap();
    let import = RegistroCliente::from_json_line(&line).unwrap_err();
    assert_eq!(import.len(), 3, "{import:?}");
    assert_eq!(registro.validate(), Err(import));
}

#[test]
fn serde_reads_a_record_as_the_import_does() {
    let valid = valid_record().to_string();
    assert_eq!(
        serde_json::from_str::<RegistroCliente>(&valid).unwrap(),
        RegistroCliente::from_json_line(&valid).unwrap()
    );
    let refused = [
        with("/data/cpf_cnpj", json!("52998224724")),
        with("/data/tipo_pessoa", json!("J")),
        with("/data/gerentes/0/telefones", json!([])),
        with("/codigo_conta", json!("001341150100098791")),
        r#"{"codigo_conta": "001341150100098790", "data": {"nome_social": "", "nome_social": "x"}}"#
            .to_owned(),
    ];
    for line in refused {
        let import = RegistroCliente::from_json_line(&line).unwrap_err();
        let serde = serde_json::from_str::<RegistroCliente>(&line).unwrap_err();
        let first = &import[0];
        let said = if first.code == FieldErrorCode::MalformedJson {
            "given twice".to_owned()
        } else {
            format!("{}: {}", first.field, first.code)
        };
        assert!(serde.to_string().contains(&said), "{line}: {serde}");
    }
}
