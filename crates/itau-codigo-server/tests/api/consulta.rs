//! 200s: what the API answers for a known account, and which manager it picks.

use serde_json::json;

use crate::helpers::*;
use crate::stores::{TestStore, on_both_stores, snapshot};

fn a_known_account_answers_200_with_the_customer_and_its_first_manager(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let response = app.consulta(TRES_GERENTES);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    snapshot!(response.json());
}

fn tipo_estrutura_selects_the_manager_case_insensitively(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let body = json!({"codigo_conta": TRES_GERENTES, "tipo_estrutura": "sd"}).to_string();
    let answer = app.post_consulta(&body, &[]).json();
    assert_eq!(answer["data"]["gerentes"]["tipo_estrutura"], "SD");
}

fn every_selector_given_must_match(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let gerente = |body: serde_json::Value| {
        app.post_consulta(&body.to_string(), &[]).json()["data"]["gerentes"].clone()
    };
    let first = gerente(json!({"codigo_conta": TRES_GERENTES}));
    let segmento = first["segmento"].as_str().unwrap().to_ascii_uppercase();
    let both = gerente(
        json!({"codigo_conta": TRES_GERENTES, "tipo_estrutura": "OP", "segmento": segmento}),
    );
    assert_eq!(both["tipo_estrutura"], "OP");
    let contradicting = gerente(
        json!({"codigo_conta": TRES_GERENTES, "tipo_estrutura": "OP", "segmento": "no such segment"}),
    );
    assert!(contradicting.is_null(), "{contradicting}");
}

fn no_matching_manager_omits_gerentes_but_still_answers_200(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let response = app.post_consulta(
        &json!({"codigo_conta": TRES_GERENTES, "tipo_estrutura": "CO"}).to_string(),
        &[],
    );
    assert_eq!(response.status, 200);
    let data = &response.json()["data"];
    assert!(data.get("gerentes").is_none(), "{data}");
    assert!(data["nome_completo"].is_string());
}

fn null_and_empty_selectors_mean_absent(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let first = app.consulta(TRES_GERENTES).json();
    for body in [
        json!({"codigo_conta": TRES_GERENTES, "tipo_estrutura": null, "segmento": null, "servico_digital": null}),
        json!({"codigo_conta": TRES_GERENTES, "tipo_estrutura": "", "segmento": "", "servico_digital": ""}),
    ] {
        assert_eq!(
            app.post_consulta(&body.to_string(), &[]).json(),
            first,
            "{body}"
        );
    }
}

fn unknown_members_and_headers_are_ignored(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let body =
        json!({"codigo_conta": TRES_GERENTES, "x-app-key": "xxxxxx", "extra": {"a": [1, 2]}})
            .to_string();
    let response = app.post_consulta(&body, &["x-app-key: xxxxxx", "x-itau-apikey: 12323213"]);
    assert_eq!(response.status, 200);
}

fn empty_strings_and_empty_lists_are_emitted_as_stored(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let data = app.consulta(LISTAS_VAZIAS).json()["data"].clone();
    assert_eq!(data["emails"], json!([]));
    assert_eq!(data["telefones"], json!([]));
    let text = app.consulta(TRES_GERENTES).body;
    assert!(
        String::from_utf8(text)
            .unwrap()
            .contains(r#""nome_social":"""#)
    );
}

fn no_field_is_ever_null(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    for codigo in [TRES_GERENTES, LISTAS_VAZIAS] {
        let body = String::from_utf8(app.consulta(codigo).body).unwrap();
        assert!(!body.contains("null"), "{body}");
    }
}

fn content_type_with_parameters_or_none_is_accepted(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    let user = format!("userName: {USERNAME}");
    let password = format!("password: {PASSWORD}");
    for content_type in [
        Some("application/json; charset=utf-8"),
        Some("Application/JSON"),
        None,
    ] {
        let mut headers = vec![user.as_str(), password.as_str()];
        let header = content_type.map(|c| format!("Content-Type: {c}"));
        headers.extend(header.as_deref());
        let response = app.request("POST", PATH, &headers, body.as_bytes());
        assert_eq!(response.status, 200, "{content_type:?}");
    }
}

fn credential_header_names_are_case_insensitive(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    let user = format!("USERNAME: {USERNAME}");
    let password = format!("Password: {PASSWORD}");
    assert_eq!(
        app.request("POST", PATH, &[&user, &password], body.as_bytes())
            .status,
        200
    );
}

fn a_body_of_exactly_16_kib_is_accepted(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let mut body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    body.push_str(&" ".repeat(16_384 - body.len()));
    assert_eq!(body.len(), 16_384);
    assert_eq!(app.post_consulta(&body, &[]).status, 200);
}

fn the_correlation_id_is_echoed_when_usable_and_replaced_otherwise(store: TestStore) {
    let app = TestApp::builder().store(store).spawn();
    let echoed = app.post_consulta(
        &format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#),
        &["x-itau-correlationID: abc-123", "x-itau-flowID: flow-9"],
    );
    assert_eq!(echoed.header("x-itau-correlationid"), Some("abc-123"));
    assert_eq!(echoed.header("x-itau-flowid"), Some("flow-9"));
    let long = format!("x-itau-correlationID: {}", "a".repeat(129));
    let replaced = app.post_consulta(
        &format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#),
        &[&long, "x-itau-flowID: has space"],
    );
    assert_eq!(replaced.status, 200);
    let id = replaced.header("x-itau-correlationid").unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    assert_eq!(replaced.header("x-itau-flowid"), None);
}

on_both_stores!(
    a_known_account_answers_200_with_the_customer_and_its_first_manager,
    tipo_estrutura_selects_the_manager_case_insensitively,
    every_selector_given_must_match,
    no_matching_manager_omits_gerentes_but_still_answers_200,
    null_and_empty_selectors_mean_absent,
    unknown_members_and_headers_are_ignored,
    empty_strings_and_empty_lists_are_emitted_as_stored,
    no_field_is_ever_null,
    content_type_with_parameters_or_none_is_accepted,
    credential_header_names_are_case_insensitive,
    a_body_of_exactly_16_kib_is_accepted,
    the_correlation_id_is_echoed_when_usable_and_replaced_otherwise,
);
