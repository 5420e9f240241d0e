//! The JSON Schema (2020-12) and OpenAPI 3.1 documents of the API: one generator, used
//! by `cargo xtask schemas`, `itau-codigo schema` and the tests that keep `schemas/` fresh.
//!
//! Requests and import records accept `null` for an absent member, so their schemas do;
//! responses and problem bodies never carry `null`, so theirs do not.

use schemars::generate::SchemaSettings;
use schemars::transform::transform_subschemas;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::model::request::{max_body_kib, max_id_chars};
use crate::{
    ConsultaClienteRequest, ConsultaClienteResponse, FieldError, FieldErrorCode, Problem,
    ProblemType, RegistroCliente, detail,
};

/// The API's path.
pub const CONSULTA_PATH: &str = "/apiaccess/rest/ccmessaging/v1/itau/codigo";

/// The path of the interactive API reference (`serve --docs`).
pub const DOCS_PATH: &str = "/docs";
/// Liveness.
pub const HEALTHZ_PATH: &str = "/healthz";
/// Readiness: the store answers.
pub const READYZ_PATH: &str = "/readyz";
/// Prometheus metrics.
pub const METRICS_PATH: &str = "/metrics";
/// The OpenAPI document, as committed.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The tag of the API operation.
const TAG_API: &str = "consulta";
/// The tag of the operations endpoints.
const TAG_OPS: &str = "operations";

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

/// A response header the service sends: declared once under `components/headers`, and
/// referred to by each response that carries it.
#[derive(Debug, Clone, Copy)]
struct Header {
    /// Its key under `components/headers`.
    component: &'static str,
    /// Its name, as the service spells it (header names are case-insensitive).
    name: &'static str,
    /// Whether every response that declares it carries it.
    required: bool,
    description: &'static str,
    /// Its JSON Schema, as JSON text.
    schema: &'static str,
}

/// The headers every answer of the application carries, on any path and with any status
/// (the request middleware adds them; the bare answers of the HTTP layer have none). A
/// header the middleware adds to every answer is one more entry here.
const ON_EVERY_ANSWER: &[Header] = &[
    Header {
        component: "CorrelationId",
        name: "x-itau-correlationID",
        required: true,
        description: concat!(
            "The request's `x-itau-correlationID` when it was 1-",
            max_id_chars!(),
            " visible ASCII characters, otherwise a new UUID. The problem body's `correlation_id` is the same value."
        ),
        schema: concat!(
            r#"{"type": "string", "minLength": 1, "maxLength": "#,
            max_id_chars!(),
            "}"
        ),
    },
    Header {
        component: "FlowId",
        name: "x-itau-flowID",
        required: false,
        description: concat!(
            "The request's `x-itau-flowID`, when it was 1-",
            max_id_chars!(),
            " visible ASCII characters; absent otherwise."
        ),
        schema: concat!(
            r#"{"type": "string", "minLength": 1, "maxLength": "#,
            max_id_chars!(),
            "}"
        ),
    },
    Header {
        component: "TraceResponse",
        name: "traceresponse",
        required: true,
        description: "W3C Trace Context Level 2: the trace the request belongs to (the caller's `traceparent` trace, or a new one), the service's span in it, and whether the service recorded it (flags `01`) or not (`00`).",
        schema: r#"{"type": "string", "pattern": "^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$"}"#,
    },
];

/// Every answer of the API path, problems too: each is about one customer's account.
const NO_STORE: Header = Header {
    component: "NoStore",
    name: "Cache-Control",
    required: true,
    description: "`no-store`: no browser, proxy or gateway may keep an answer about a customer's account.",
    schema: r#"{"type": "string", "const": "no-store"}"#,
};

/// On a 401 whose client address is locked out.
const RETRY_AFTER: Header = Header {
    component: "RetryAfter",
    name: "Retry-After",
    required: false,
    description: "Only when the client address is locked out after too many failed logins: whole seconds until the lockout ends. \
        Until then every request from that address gets this 401, right credentials included. A 401 without it means wrong credentials.",
    schema: r#"{"type": "integer", "minimum": 1}"#,
};

/// On every 405.
const ALLOW: Header = Header {
    component: "Allow",
    name: "Allow",
    required: true,
    description: "The methods the path accepts: `POST` on the API, `GET, HEAD` on the operations endpoints.",
    schema: r#"{"type": "string", "enum": ["POST", "GET, HEAD"]}"#,
};

/// On the `/docs` page.
const DOCS_PAGE: &[Header] = &[
    Header {
        component: "ContentSecurityPolicy",
        name: "Content-Security-Policy",
        required: true,
        description: "Scripts, styles and requests from this origin only; nothing inline; no framing.",
        schema: r#"{"type": "string"}"#,
    },
    Header {
        component: "NoSniff",
        name: "X-Content-Type-Options",
        required: true,
        description: "`nosniff`.",
        schema: r#"{"type": "string", "const": "nosniff"}"#,
    },
    Header {
        component: "FrameOptions",
        name: "X-Frame-Options",
        required: true,
        description: "`DENY`: the page is never framed.",
        schema: r#"{"type": "string", "const": "DENY"}"#,
    },
    Header {
        component: "ReferrerPolicy",
        name: "Referrer-Policy",
        required: true,
        description: "`no-referrer`.",
        schema: r#"{"type": "string", "const": "no-referrer"}"#,
    },
    Header {
        component: "NoCache",
        name: "Cache-Control",
        required: true,
        description: "`no-cache`: the page names its assets by digest, so it is checked again each time.",
        schema: r#"{"type": "string", "const": "no-cache"}"#,
    },
];

impl Header {
    fn component(&self) -> Value {
        let mut header = Map::new();
        header.insert("description".into(), self.description.into());
        if self.required {
            header.insert("required".into(), true.into());
        }
        let schema: Value =
            serde_json::from_str(self.schema).expect("a header's schema is JSON text");
        header.insert("schema".into(), schema);
        Value::Object(header)
    }
}

/// The `headers` of a response: every answer's, then `extra`.
fn headers(extra: &[Header]) -> Value {
    ON_EVERY_ANSWER
        .iter()
        .chain(extra)
        .map(|h| {
            let reference = json!({"$ref": format!("#/components/headers/{}", h.component)});
            (h.name.to_owned(), reference)
        })
        .collect::<Map<_, _>>()
        .into()
}

/// What the HTTP layer (actix-web) sends before the application sees a request: a status
/// line, `content-length: 0`, `connection: close` and nothing else.
const BARE: &str = "no body, no `Content-Type`, and none of the headers above";

/// The document's own account of what it promises over time and of the answers it
/// cannot describe operation by operation.
const INFO_DESCRIPTION: &str = "A contact-centre chat calls this API with an 18-digit Itaú account code; it answers \
with the customer's data and the manager to route the chat to. Reference implementation: itau-codigo.

**Evolution.** `info.version` follows SemVer. A minor version may add problem types (`Problem.type`), field \
error codes (`errors[].code`), optional response members, response headers and operations; it never removes or \
narrows any of them (a major version does; below 1.0, a new minor such as 0.1 to 0.2). Clients must accept a \
problem `type` or an `errors[].code` that this document does not list: branch on the ones you know, and treat \
any other by the answer's HTTP status, showing `title`, `detail` and `message`. The schemas list the values \
known at this version only, so generated enums are closed: do not let them reject a body.

**Bare answers.** The HTTP layer answers some requests before the application sees them, on any path: 400 \
for a broken request line, a header value holding a NUL byte, or an empty, repeated or unparsable \
`Content-Length`; 408 when the request head does not arrive within the client timeout; 431 for more than 96 \
headers. Those answers have no body, no `Content-Type` and none of the headers declared here (only \
`connection: close`); the responses that may be bare say so in `x-bare-answer`.

**Other paths.** A path this document does not list answers 404 `route-not-found`, with the headers of the \
API's 404.";

/// The OpenAPI 3.1 document: the same schemas as components, every status with its body,
/// its headers and an example of each problem type it may carry. Spectral's
/// `spectral:oas` and Redocly's `recommended` rules find nothing to warn about (`cargo
/// xtask lint-openapi`); `tests/api/conformance.rs` holds the service to it.
///
/// No `jsonSchemaDialect`: the default (OpenAPI's base dialect) is JSON Schema 2020-12
/// plus keywords these schemas do not use, and naming 2020-12 itself made Swagger UI
/// (`/docs`) warn that it does not support another dialect.
pub fn openapi() -> Value {
    let mut components = Map::new();
    let request = component::<ConsultaClienteRequest>(true, &mut components);
    let response = component::<ConsultaClienteResponse>(false, &mut components);
    let problem = component::<Problem>(false, &mut components);

    // Each status carries one example per problem type it may have, so that a reader
    // (and the `/docs` page) sees the body of a 401 as a 401, not the schema's 400.
    let problem_response = |description: &str, types: &[ProblemType], extra: &[Header]| {
        let uris: Vec<&str> = types.iter().map(|t| t.uri()).collect();
        let examples: Map<String, Value> = types
            .iter()
            .map(|t| {
                let example = json!({"summary": t.title(), "value": problem_example(t)});
                (t.slug().to_owned(), example)
            })
            .collect();
        json!({
            "description": format!("{description} Problem types: {}.", uris.join(", ")),
            "headers": headers(extra),
            "content": {"application/problem+json": {"schema": problem, "examples": examples}},
        })
    };
    let bare = |mut response: Value, when: &str| {
        let note = format!("The HTTP layer answers {when} with {BARE}.");
        response["description"] = format!(
            "{} Or bare: {note}",
            response["description"].as_str().unwrap_or_default()
        )
        .into();
        response["x-bare-answer"] = note.into();
        response
    };
    let bad_request = bare(
        problem_response(
            "The request is wrong; the problem `type` tells how.",
            &[
                ProblemType::UnsupportedMediaType,
                ProblemType::PayloadTooLarge,
                ProblemType::MalformedJson,
                ProblemType::InvalidRequest,
            ],
            &[NO_STORE],
        ),
        "a broken request line, a header value holding a NUL byte, or an empty, repeated or unparsable `Content-Length`",
    );
    let unauthorized = problem_response(
        "Missing, empty, repeated or wrong `userName`/`password`, or the client address locked out (then with `Retry-After`).",
        &[ProblemType::Unauthorized],
        &[NO_STORE, RETRY_AFTER],
    );
    let not_found = problem_response(
        "No such account (valid code), or no such path.",
        &[ProblemType::AccountNotFound, ProblemType::RouteNotFound],
        &[NO_STORE],
    );
    let method = |extra: &[Header]| {
        problem_response(
            "Another method on a known path; `Allow` lists the methods.",
            &[ProblemType::MethodNotAllowed],
            extra,
        )
    };
    let timeout = bare(
        problem_response(
            "The body did not arrive within the client timeout.",
            &[ProblemType::RequestTimeout],
            &[NO_STORE],
        ),
        "a request whose head does not arrive within the client timeout",
    );
    let too_many_headers = json!({
        "description": format!("More than 96 request headers. The HTTP layer answers with {BARE}."),
        "x-bare-answer": format!("Always: {BARE}."),
    });
    let internal = problem_response(
        "The store failed; nothing internal is disclosed.",
        &[ProblemType::StoreUnavailable, ProblemType::Internal],
        &[NO_STORE],
    );

    let get_only = |operation_id: &str,
                    summary: &str,
                    description: &str,
                    mut ok: Value,
                    extra: Option<(&str, Value)>| {
        let mut responses = Map::new();
        if ok.get("headers").is_none() {
            ok["headers"] = headers(&[]);
        }
        responses.insert("200".into(), ok);
        if let Some((status, mut body)) = extra {
            body["headers"] = headers(&[]);
            responses.insert(status.into(), body);
        }
        responses.insert("405".into(), method(&[ALLOW]));
        json!({"get": {
            "operationId": operation_id,
            "tags": [TAG_OPS],
            "summary": summary,
            "description": description,
            "security": [],
            "responses": responses,
        }})
    };

    let header_components: Map<String, Value> = ON_EVERY_ANSWER
        .iter()
        .chain([&NO_STORE, &RETRY_AFTER, &ALLOW])
        .chain(DOCS_PAGE)
        .map(|h| (h.component.to_owned(), h.component()))
        .collect();

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Query customer information by account (chat_itau_codigo)",
            "version": env!("CARGO_PKG_VERSION"),
            "description": INFO_DESCRIPTION,
            "contact": {"name": "itau-codigo developers"},
            "license": {"name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0"},
            "x-evolution-policy": {
                "may-add-in-a-minor-version": ["problem types", "field error codes", "optional response members", "response headers", "operations"],
                "clients-must-accept-unknown": ["Problem.type", "FieldError.code"],
                "breaking-changes": "major version only (below 1.0: a new minor)",
            },
        },
        "servers": [{"url": "http://127.0.0.1:8080", "description": "itau-codigo serve (default bind)"}],
        "security": [{"userName": [], "password": []}],
        "tags": [
            {"name": TAG_API, "description": "The API: customer information by account code. Needs the `userName` and `password` headers."},
            {"name": TAG_OPS, "description": "Operations endpoints: probes, metrics, this document and its interactive reference. No credentials; no customer data."},
        ],
        "paths": {
            CONSULTA_PATH: {
                "post": {
                    "operationId": "consultaCliente",
                    "tags": [TAG_API],
                    "summary": "Query customer information by account",
                    "description": "Looks up the customer of `codigo_conta` and selects one manager: the first stored \
                        manager matching every selector given (`tipo_estrutura`, `segmento`, ASCII case-insensitive), \
                        or the first one when none is given. With no match, `gerentes` is omitted (still 200). \
                        Every answer carries `Cache-Control: no-store`.",
                    "parameters": [
                        {"name": "x-itau-apikey", "in": "header", "required": false, "description": "Client ID from the OAuth authentication (accepted, not checked).", "schema": {"type": "string"}},
                        {"name": "x-itau-correlationID", "in": "header", "required": false, "description": concat!("Correlation ID for the audit trail; echoed when 1-", max_id_chars!(), " visible ASCII characters, replaced by a new UUID otherwise."), "schema": {"type": "string"}},
                        {"name": "x-itau-flowID", "in": "header", "required": false, "description": concat!("Flow ID; echoed when 1-", max_id_chars!(), " visible ASCII characters, dropped otherwise."), "schema": {"type": "string"}},
                        {"name": "traceparent", "in": "header", "required": false, "description": "W3C Trace Context: the caller's trace (`00-` 32 hex digits `-` 16 hex digits `-` 2 hex digits), continued by the service. Any value is accepted: a malformed or repeated one starts a new trace (never a 400); its sampled flag is followed only from the deployment's trusted proxies.", "schema": {"type": "string"}, "example": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                        {"name": "tracestate", "in": "header", "required": false, "description": "W3C Trace Context: vendor data carried with the trace when recorded; dropped when malformed or longer than 512 bytes.", "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": true,
                        "description": concat!("At most ", max_body_kib!(), " KiB. `Content-Type: application/json` (parameters allowed) or none."),
                        "content": {"application/json": {"schema": request, "examples": {
                            "by-account": {"summary": "By account code only", "value": {"codigo_conta": "001341150100098790"}},
                            "with-selectors": {"summary": "Selecting the manager", "value": {"codigo_conta": "001341150100098790", "tipo_estrutura": "AP", "segmento": "Uniclass"}},
                        }}},
                    },
                    "responses": {
                        "200": {
                            "description": "The customer, with the selected manager.",
                            "headers": headers(&[NO_STORE]),
                            "content": {"application/json": {"schema": response}},
                        },
                        "400": bad_request,
                        "401": unauthorized,
                        "404": not_found,
                        "405": method(&[NO_STORE, ALLOW]),
                        "408": timeout,
                        "431": too_many_headers,
                        "500": internal,
                    },
                },
            },
            HEALTHZ_PATH: get_only("healthz", "Liveness", "200 while the process serves.", json!({"description": "Alive.", "content": {"text/plain": {"schema": {"type": "string", "const": "ok\n"}}}}), None),
            READYZ_PATH: get_only(
                "readyz",
                "Readiness",
                "200 when the store answers; 503 problem (`store-unavailable`) when it does not, and 503 `draining` \
                    (plain text) from the moment the replica gets SIGTERM, so that load balancers take it out before it stops.",
                json!({"description": "The store answers.", "content": {"text/plain": {"schema": {"type": "string", "const": "ready\n"}}}}),
                Some(("503", json!({"description": "The store does not answer (a problem), or the replica is draining before it stops (`draining`, plain text).", "content": {"application/problem+json": {"schema": problem}, "text/plain": {"schema": {"type": "string", "const": "draining\n"}}}}))),
            ),
            METRICS_PATH: get_only("metrics", "Prometheus metrics", "Requests by route and status, latency histogram, store errors.", json!({"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}}), None),
            OPENAPI_PATH: get_only("openapi", "This document", "The committed OpenAPI document.", json!({"description": "OpenAPI 3.1.", "content": {"application/json": {"schema": {"type": "object"}}}}), None),
            DOCS_PATH: get_only(
                "docs",
                "Interactive API reference",
                "An HTML page (Swagger UI, served from inside the binary) that renders this document and \
                    sends requests to this server with the `userName` and `password` you enter; nothing is stored \
                    server-side. Absent (404) when the service runs with `--docs false`.",
                json!({"description": "The page.", "headers": headers(DOCS_PAGE), "content": {"text/html": {"schema": {"type": "string"}}}}),
                None,
            ),
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "userName": {"type": "apiKey", "in": "header", "name": "userName", "description": "API Fabric user name; required with `password`."},
                "password": {"type": "apiKey", "in": "header", "name": "password", "description": "API Fabric password; required with `userName`."},
            },
            "headers": header_components,
        },
    })
}

/// The body the service sends for `problem_type`, as an example (correlation ID made up).
fn problem_example(problem_type: &ProblemType) -> Value {
    let detail = match problem_type {
        ProblemType::UnsupportedMediaType => detail::UNSUPPORTED_MEDIA_TYPE.to_owned(),
        ProblemType::PayloadTooLarge => detail::payload_too_large(),
        ProblemType::MalformedJson => {
            detail::malformed_json("EOF while parsing an object at line 1 column 35")
        }
        ProblemType::InvalidRequest => detail::invalid_request(1),
        ProblemType::Unauthorized => detail::UNAUTHORIZED.to_owned(),
        ProblemType::AccountNotFound => detail::ACCOUNT_NOT_FOUND.to_owned(),
        ProblemType::RouteNotFound => detail::ROUTE_NOT_FOUND.to_owned(),
        ProblemType::MethodNotAllowed => detail::method_not_allowed("GET", CONSULTA_PATH, "POST"),
        // The service's default client timeout.
        ProblemType::RequestTimeout => detail::request_timeout(5000),
        ProblemType::StoreUnavailable => detail::STORE_UNAVAILABLE.to_owned(),
        _ => detail::INTERNAL.to_owned(),
    };
    let mut problem = Problem::new(
        problem_type.clone(),
        detail,
        "3f0c1d9e-2b7a-4c1e-9a51-0d6c2e8b7f10",
    );
    if *problem_type == ProblemType::InvalidRequest {
        problem.errors = Some(vec![FieldError::new(
            "codigo_conta",
            FieldErrorCode::DacMismatch,
            "wrong DAC (check digit): found 1, expected 0",
        )]);
    }
    serde_json::to_value(problem).expect("a problem always serialises")
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
