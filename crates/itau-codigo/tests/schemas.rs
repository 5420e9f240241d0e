//! The generated schemas: fresh on disk, valid 2020-12, and in agreement with the code.

use std::path::PathBuf;

use itau_codigo::{ConsultaClienteRequest, FieldErrorCode, ProblemType, RegistroCliente, schema};
use serde_json::{Value, json};

fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn document(name: &str) -> Value {
    let (_, text) = schema::documents()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("not a valid 2020-12 schema: {e}"))
}

fn assert_valid(schema: &Value, instance: &Value, what: &str) {
    let errors: Vec<String> = validator(schema)
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

#[test]
fn committed_schemas_are_what_the_code_generates() {
    for (name, generated) in schema::documents() {
        let path = schemas_dir().join(name);
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .replace("\r\n", "\n");
        assert!(
            committed == generated,
            "schemas/{name} is stale: run `cargo xtask schemas` and commit schemas/"
        );
    }
}

#[test]
fn every_schema_is_valid_2020_12_with_id_title_and_examples() {
    let meta = jsonschema::meta::validate;
    for name in [
        "consulta-request.schema.json",
        "consulta-response.schema.json",
        "problem.schema.json",
        "registro.schema.json",
    ] {
        let schema = document(name);
        meta(&schema).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            schema["$id"]
                .as_str()
                .unwrap()
                .starts_with(schema::ID_PREFIX),
            "{name}"
        );
        assert!(
            schema["title"].is_string() && schema["description"].is_string(),
            "{name}"
        );
        let examples = schema["examples"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no examples"));
        for example in examples {
            assert_valid(&schema, example, name);
        }
    }
}

#[test]
fn every_record_of_the_demo_data_set_validates_against_the_registro_schema() {
    let schema = document("registro.schema.json");
    let demo = include_str!("../../itau-codigo-server/demo/clientes.jsonl");
    let mut count = 0;
    for (index, line) in demo.lines().enumerate() {
        let record: Value = serde_json::from_str(line).unwrap();
        assert_valid(&schema, &record, &format!("demo line {}", index + 1));
        RegistroCliente::from_json_line(line)
            .unwrap_or_else(|e| panic!("demo line {}: {e:?}", index + 1));
        count += 1;
    }
    assert!(count >= 25, "only {count} demo records");
}

#[test]
fn responses_built_from_the_demo_data_validate_against_the_response_schema() {
    let schema = document("consulta-response.schema.json");
    let demo = include_str!("../../itau-codigo-server/demo/clientes.jsonl");
    for line in demo.lines() {
        let mut registro = RegistroCliente::from_json_line(line).unwrap();
        let request = ConsultaClienteRequest::new(registro.codigo_conta);
        let gerentes = registro.data.gerentes.take().unwrap_or_default();
        let gerente = request.select_gerente(&gerentes).cloned();
        let dados = registro.data.into_dados_cliente(gerente);
        let response = json!({"data": dados});
        assert_valid(&schema, &response, line);
    }
}

#[test]
fn the_response_schema_never_allows_null() {
    let text = &schema::documents()
        .into_iter()
        .find(|(n, _)| *n == "consulta-response.schema.json")
        .unwrap()
        .1;
    assert!(
        !text.contains("\"null\""),
        "the response schema mentions null"
    );
    let schema = document("consulta-response.schema.json");
    let with_null = json!({"data": {"nome_social": null}});
    assert!(!validator(&schema).is_valid(&with_null));
}

#[test]
fn the_request_schema_allows_null_and_unknown_members_like_the_service() {
    let schema = document("consulta-request.schema.json");
    let body =
        json!({"codigo_conta": "001341150100098790", "tipo_estrutura": null, "x-app-key": "abc"});
    assert_valid(&schema, &body, "null and unknown members");
    assert!(ConsultaClienteRequest::from_json(body.to_string().as_bytes()).is_ok());
}

#[test]
fn what_the_request_schema_rejects_the_service_rejects_too() {
    let schema = document("consulta-request.schema.json");
    let validator = validator(&schema);
    let bodies = [
        json!({}),
        json!({"codigo_conta": 1}),
        json!({"codigo_conta": "00134115010009879"}),
        json!({"codigo_conta": "00134115010009879x"}),
        json!({"codigo_conta": "001341150100098790", "segmento": "x".repeat(65)}),
        json!({"codigo_conta": "001341150100098790", "segmento": 3}),
        json!([]),
    ];
    for body in bodies {
        assert!(!validator.is_valid(&body), "schema accepts {body}");
        assert!(
            ConsultaClienteRequest::from_json(body.to_string().as_bytes()).is_err(),
            "service accepts {body}"
        );
    }
    // The documented exception: the DAC is beyond a pattern.
    let wrong_dac = json!({"codigo_conta": "001341150100098791"});
    assert!(validator.is_valid(&wrong_dac));
    assert!(ConsultaClienteRequest::from_json(wrong_dac.to_string().as_bytes()).is_err());
}

#[test]
fn openapi_is_3_1_with_the_crate_version_and_every_status() {
    let openapi = document("openapi.json");
    assert_eq!(openapi["openapi"], "3.1.0");
    assert_eq!(openapi["info"]["version"], env!("CARGO_PKG_VERSION"));
    let post = &openapi["paths"][schema::CONSULTA_PATH]["post"];
    for status in ["200", "400", "401", "404", "405", "408", "500"] {
        let headers = &post["responses"][status]["headers"];
        assert!(headers["x-itau-correlationID"].is_object(), "{status}");
        assert!(headers["traceresponse"].is_object(), "{status}");
    }
    // Every $ref resolves inside the document.
    let text = openapi.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let pointer = reference.split('"').next().unwrap().trim_start_matches('#');
        assert!(
            openapi.pointer(pointer).is_some(),
            "dangling $ref {pointer}"
        );
    }
}

#[test]
fn a_record_whose_optional_members_are_all_null_is_valid_to_schema_and_import_alike() {
    let schema = document("registro.schema.json");
    let optional = [
        "id_cliente",
        "emails",
        "data_abertura_conta",
        "nome_completo",
        "nome_fantasia_apelido",
        "tipo_pessoa",
        "data_nascimento_fundacao",
        "gerentes",
        "telefones",
        "identificado",
        "cpf_cnpj",
        "nome_social",
        "agencia",
        "conta_corrente",
    ];
    let data: serde_json::Map<String, Value> = optional
        .iter()
        .map(|name| ((*name).to_owned(), Value::Null))
        .collect();
    let record = json!({"codigo_conta": "001341150100098790", "data": data});
    assert_valid(&schema, &record, "all null");
    assert!(RegistroCliente::from_json_line(&record.to_string()).is_ok());
    let properties = schema["$defs"]["DadosRegistro"]["properties"]
        .as_object()
        .unwrap();
    assert_eq!(
        properties.len(),
        optional.len(),
        "the list above misses a member"
    );
}

#[test]
fn the_open_enums_schemas_list_exactly_the_known_values() {
    let problem = document("problem.schema.json");
    let consts = |definition: &str| -> Vec<String> {
        problem["$defs"][definition]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|value| value["const"].as_str().unwrap().to_owned())
            .collect()
    };
    let uris: Vec<String> = ProblemType::ALL
        .iter()
        .map(|t| t.uri().to_owned())
        .collect();
    let codes: Vec<String> = FieldErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    assert_eq!(consts("ProblemType"), uris);
    assert_eq!(consts("FieldErrorCode"), codes);
}
