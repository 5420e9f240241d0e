//! The JSON Schema (2020-12) and OpenAPI 3.1 documents of the API: one generator, used
//! by `cargo xtask schemas`, `itau-codigo schema` and the tests that keep `schemas/` fresh.
//!
//! Requests and import records accept `null` for an absent member, so their schemas do;
//! responses and problem bodies never carry `null`, so theirs do not.

use schemars::generate::SchemaSettings;
use schemars::transform::transform_subschemas;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::{
    ConsultaClienteRequest, ConsultaClienteResponse, Problem, ProblemType, RegistroCliente,
};

/// The API's path.
pub const CONSULTA_PATH: &str = "/apiaccess/rest/ccmessaging/v1/itau/codigo";

/// Prefix of every document's `$id`.
pub const ID_PREFIX: &str = "urn:itau-codigo:schema:";

/// Every generated document as (file name under `schemas/`, text). The text is pretty
/// JSON with `\n` line endings and one final newline, so it is byte-stable.
pub fn documents() -> Vec<(&'static str, String)> {
    vec![
        (
            "consulta-request.schema.json",
            to_text(&root::<ConsultaClienteRequest>("consulta-request", true)),
        ),
        (
            "consulta-response.schema.json",
            to_text(&root::<ConsultaClienteResponse>("consulta-response", false)),
        ),
        (
            "problem.schema.json",
            to_text(&root::<Problem>("problem", false)),
        ),
        (
            "registro.schema.json",
            to_text(&root::<RegistroCliente>("registro", true)),
        ),
        ("openapi.json", to_text(&openapi())),
    ]
}

fn to_text(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("a JSON value always serialises");
    text.push('\n');
    text
}

fn settings(nullable: bool) -> SchemaSettings {
    let settings = SchemaSettings::draft2020_12();
    if nullable {
        settings
    } else {
        settings.with_transform(remove_null)
    }
}

/// Takes `null` out of every schema: schemars writes `Option<T>` as "T or null", but a
/// response omits an absent field instead of sending `null`.
fn remove_null(schema: &mut Schema) {
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            schema.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if let Some(Value::Array(alternatives)) = schema.get_mut("anyOf") {
        alternatives.retain(|a| a != &json!({"type": "null"}));
        if let [Value::Object(only)] = alternatives.as_slice() {
            let only = only.clone();
            schema.remove("anyOf");
            for (key, value) in only {
                schema.insert(key, value);
            }
        }
    }
    transform_subschemas(&mut remove_null, schema);
}

fn root<T: JsonSchema>(name: &str, nullable: bool) -> Value {
    let schema = settings(nullable)
        .into_generator()
        .into_root_schema_for::<T>();
    let Value::Object(members) = schema.to_value() else {
        unreachable!("a root schema is an object")
    };
    // `$schema` then `$id` first, for people reading the file.
    let mut ordered = Map::new();
    if let Some(dialect) = members.get("$schema") {
        ordered.insert("$schema".into(), dialect.clone());
    }
    ordered.insert("$id".into(), Value::String(format!("{ID_PREFIX}{name}")));
    ordered.extend(members.into_iter().filter(|(k, _)| k != "$schema"));
    Value::Object(ordered)
}

/// The OpenAPI 3.1 document: the same schemas as components, every status with its body.
pub fn openapi() -> Value {
    let mut components = Map::new();
    let request = component::<ConsultaClienteRequest>(true, &mut components);
    let response = component::<ConsultaClienteResponse>(false, &mut components);
    let problem = component::<Problem>(false, &mut components);

    let problem_response = |description: &str, types: &[ProblemType]| {
        let types: Vec<&str> = types.iter().map(|t| t.uri()).collect();
        json!({
            "description": format!("{description} Problem types: {}.", types.join(", ")),
            "headers": {"x-itau-correlationID": {"$ref": "#/components/headers/CorrelationId"}},
            "content": {"application/problem+json": {"schema": problem}},
        })
    };
    let bad_request = problem_response(
        "The request is wrong; the problem `type` tells how.",
        &[
            ProblemType::UnsupportedMediaType,
            ProblemType::PayloadTooLarge,
            ProblemType::MalformedJson,
            ProblemType::InvalidRequest,
        ],
    );
    let unauthorized = problem_response(
        "Missing or wrong `userName`/`password`.",
        &[ProblemType::Unauthorized],
    );
    let not_found = problem_response(
        "No such account (valid code), or no such path.",
        &[ProblemType::AccountNotFound, ProblemType::RouteNotFound],
    );
    let method = problem_response(
        "Another method on a known path; `Allow` lists the methods.",
        &[ProblemType::MethodNotAllowed],
    );
    let timeout = problem_response(
        "The body did not arrive within the client timeout.",
        &[ProblemType::RequestTimeout],
    );
    let internal = problem_response(
        "The store failed; nothing internal is disclosed.",
        &[ProblemType::StoreUnavailable, ProblemType::Internal],
    );

    let get_only = |summary: &str, description: &str, ok: Value, extra: Option<(&str, Value)>| {
        let mut responses = Map::new();
        responses.insert("200".into(), ok);
        if let Some((status, body)) = extra {
            responses.insert(status.into(), body);
        }
        responses.insert("405".into(), method.clone());
        json!({"get": {"summary": summary, "description": description, "security": [], "responses": responses}})
    };

    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Query customer information by account (chat_itau_codigo)",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A contact-centre chat calls this API with an 18-digit Itaú account code; it answers \
                with the customer's data and the manager to route the chat to. Reference implementation: itau-codigo.",
            "license": {"name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0"},
        },
        "servers": [{"url": "http://127.0.0.1:8080", "description": "itau-codigo serve (default bind)"}],
        "security": [{"userName": [], "password": []}],
        "paths": {
            CONSULTA_PATH: {
                "post": {
                    "operationId": "consultaCliente",
                    "summary": "Query customer information by account",
                    "description": "Looks up the customer of `codigo_conta` and selects one manager: the first stored \
                        manager matching every selector given (`tipo_estrutura`, `segmento`, ASCII case-insensitive), \
                        or the first one when none is given. With no match, `gerentes` is omitted (still 200).",
                    "parameters": [
                        {"name": "x-itau-apikey", "in": "header", "required": false, "description": "Client ID from the OAuth authentication (accepted, not checked).", "schema": {"type": "string"}},
                        {"name": "x-itau-correlationID", "in": "header", "required": false, "description": "Correlation ID for the audit trail; echoed when 1-128 visible ASCII characters, replaced by a new UUID otherwise.", "schema": {"type": "string"}},
                        {"name": "x-itau-flowID", "in": "header", "required": false, "description": "Flow ID; echoed when 1-128 visible ASCII characters, dropped otherwise.", "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": true,
                        "description": "At most 16 KiB. `Content-Type: application/json` (parameters allowed) or none.",
                        "content": {"application/json": {"schema": request}},
                    },
                    "responses": {
                        "200": {
                            "description": "The customer, with the selected manager.",
                            "headers": {
                                "x-itau-correlationID": {"$ref": "#/components/headers/CorrelationId"},
                                "x-itau-flowID": {"$ref": "#/components/headers/FlowId"},
                            },
                            "content": {"application/json": {"schema": response}},
                        },
                        "400": bad_request,
                        "401": unauthorized,
                        "404": not_found,
                        "405": method,
                        "408": timeout,
                        "500": internal,
                    },
                },
            },
            "/healthz": get_only("Liveness", "200 while the process serves.", json!({"description": "Alive.", "content": {"text/plain": {"schema": {"type": "string"}}}}), None),
            "/readyz": get_only(
                "Readiness",
                "200 when the store answers, 503 problem (`store-unavailable`) when it does not.",
                json!({"description": "The store answers.", "content": {"text/plain": {"schema": {"type": "string"}}}}),
                Some(("503", json!({"description": "The store does not answer.", "content": {"application/problem+json": {"schema": problem}}}))),
            ),
            "/metrics": get_only("Prometheus metrics", "Requests by route and status, latency histogram, store errors.", json!({"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}}), None),
            "/openapi.json": get_only("This document", "The committed OpenAPI document.", json!({"description": "OpenAPI 3.1.", "content": {"application/json": {"schema": {"type": "object"}}}}), None),
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "userName": {"type": "apiKey", "in": "header", "name": "userName", "description": "API Fabric user name; required with `password`."},
                "password": {"type": "apiKey", "in": "header", "name": "password", "description": "API Fabric password; required with `userName`."},
            },
            "headers": {
                "CorrelationId": {"description": "The request's `x-itau-correlationID` when it was 1-128 visible ASCII characters, otherwise a new UUID.", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 128}},
                "FlowId": {"description": "The request's `x-itau-flowID`, when it was 1-128 visible ASCII characters.", "schema": {"type": "string", "minLength": 1, "maxLength": 128}},
            },
        },
    })
}

/// Adds `T` and what it refers to under `components/schemas`; returns a `$ref` to it.
fn component<T: JsonSchema>(nullable: bool, components: &mut Map<String, Value>) -> Value {
    let mut generator: SchemaGenerator = settings(nullable)
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    let reference = generator.subschema_for::<T>().to_value();
    components.extend(generator.take_definitions(true));
    reference
}
