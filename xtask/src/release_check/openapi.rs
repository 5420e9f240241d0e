//! The OpenAPI document of a release against the working one: a structural diff whose
//! rules say what would break a client generated from, or written against, the release.
//!
//! Breaking:
//! - a path removed, an operation (method) removed from a path, a status removed from
//!   an operation;
//! - a media type removed from a request body or a response; a header removed from a
//!   response, or no longer required there; a request body or a parameter that becomes
//!   required, or a new required parameter;
//! - a component schema removed; a property removed from a schema; a `$ref` that points
//!   elsewhere; an alternative removed from `oneOf`/`anyOf`;
//! - an enum value removed (`enum`, or a `oneOf` of `const`s), a `const` changed;
//! - a narrowed type: `type` loses a member; in a schema a request reaches, a tighter
//!   bound (`maxLength`, `maxItems`, `maximum` lower or new; `minLength`, `minItems`,
//!   `minimum` higher or new), a new or changed `pattern`, `additionalProperties: false`
//!   where other members were allowed;
//! - a new required member in a schema a request reaches;
//! - in a schema a response reaches, a member no longer required, or a `type` that
//!   gains a member (a client's parser does not expect it).
//!
//! Everything else that differs is listed as an addition when something appears (a
//! path, an operation, a status, a header, a media type, a property, an enum value — as
//! the evolution policy lets problem types and field codes appear) and not listed when
//! it is wording (descriptions, examples, titles).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::Change;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Which side of an exchange a schema describes: what clients send, what they read, or
/// both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Side {
    request: bool,
    response: bool,
}

const REQUEST: Side = Side {
    request: true,
    response: false,
};
const RESPONSE: Side = Side {
    request: false,
    response: true,
};

/// The changes from `base` to `current`, by the rules above.
pub(crate) fn diff(base: &Value, current: &Value) -> Vec<Change> {
    let mut diff = Diff {
        changes: Vec::new(),
        base,
        current,
    };
    diff.paths();
    diff.components();
    diff.changes
}

struct Diff<'a> {
    changes: Vec<Change>,
    base: &'a Value,
    current: &'a Value,
}

fn members(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// Follows a local `$ref` (`#/components/...`) of `document`, if `value` is one.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| document.pointer(r.trim_start_matches('#')))
        .unwrap_or(value)
}

/// A JSON Pointer token.
fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Diff<'_> {
    fn breaking(&mut self, at: &str, what: impl Into<String>) {
        self.changes.push(Change::breaking(at, what));
    }

    fn addition(&mut self, at: &str, what: impl Into<String>) {
        self.changes.push(Change::addition(at, what));
    }

    fn paths(&mut self) {
        let (base, current) = (
            members(&self.base["paths"]),
            members(&self.current["paths"]),
        );
        for (path, before) in &base {
            let at = format!("/paths/{}", token(path));
            let Some(after) = current.get(path) else {
                self.breaking(&at, "path removed");
                continue;
            };
            for method in METHODS {
                match (before.get(method), after.get(method)) {
                    (Some(_), None) => {
                        self.breaking(&format!("{at}/{method}"), "operation removed")
                    }
                    (None, Some(_)) => self.addition(&format!("{at}/{method}"), "operation added"),
                    (Some(b), Some(a)) => self.operation(&format!("{at}/{method}"), b, a),
                    (None, None) => {}
                }
            }
        }
        for path in current.keys().filter(|p| !base.contains_key(*p)) {
            self.addition(&format!("/paths/{}", token(path)), "path added");
        }
    }

    fn operation(&mut self, at: &str, before: &Value, after: &Value) {
        let parameters =
            |document: &Value, operation: &Value| -> BTreeMap<(String, String), Value> {
                operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| resolve(document, p).clone())
                    .map(|p| {
                        let name = p["name"].as_str().unwrap_or_default().to_ascii_lowercase();
                        let place = p["in"].as_str().unwrap_or_default().to_owned();
                        ((place, name), p)
                    })
                    .collect()
            };
        let (base, current) = (
            parameters(self.base, before),
            parameters(self.current, after),
        );
        for ((place, name), parameter) in &current {
            let at = format!("{at}/parameters/{place}/{name}");
            match base.get(&(place.clone(), name.clone())) {
                None if parameter["required"] == true => {
                    self.breaking(&at, "new required parameter");
                }
                None => self.addition(&at, "parameter added"),
                Some(old) => {
                    if parameter["required"] == true && old["required"] != true {
                        self.breaking(&at, "parameter now required");
                    }
                    self.schema(
                        &format!("{at}/schema"),
                        &old["schema"],
                        &parameter["schema"],
                        REQUEST,
                    );
                }
            }
        }

        let body_at = format!("{at}/requestBody");
        let (old_body, new_body) = (
            resolve(self.base, &before["requestBody"]),
            resolve(self.current, &after["requestBody"]),
        );
        if new_body["required"] == true && old_body["required"] != true {
            self.breaking(&body_at, "request body now required");
        }
        self.content(&body_at, old_body, new_body, REQUEST);

        let (base, current) = (members(&before["responses"]), members(&after["responses"]));
        for (status, old) in &base {
            let at = format!("{at}/responses/{status}");
            let Some(new) = current.get(status) else {
                self.breaking(&at, "status removed");
                continue;
            };
            let (old, new) = (resolve(self.base, old), resolve(self.current, new));
            self.headers(&at, old, new);
            self.content(&at, old, new, RESPONSE);
        }
        for status in current.keys().filter(|s| !base.contains_key(*s)) {
            self.addition(&format!("{at}/responses/{status}"), "status added");
        }
    }

    fn headers(&mut self, at: &str, before: &Value, after: &Value) {
        let lower = |headers: Map<String, Value>| -> BTreeMap<String, Value> {
            headers
                .into_iter()
                .map(|(name, header)| (name.to_ascii_lowercase(), header))
                .collect()
        };
        let (base, current) = (
            lower(members(&before["headers"])),
            lower(members(&after["headers"])),
        );
        for (name, old) in &base {
            let at = format!("{at}/headers/{name}");
            let Some(new) = current.get(name) else {
                self.breaking(&at, "response header removed");
                continue;
            };
            let (old, new) = (resolve(self.base, old), resolve(self.current, new));
            if old["required"] == true && new["required"] != true {
                self.breaking(&at, "response header no longer required");
            }
            self.schema(
                &format!("{at}/schema"),
                &old["schema"],
                &new["schema"],
                RESPONSE,
            );
        }
        for name in current.keys().filter(|n| !base.contains_key(*n)) {
            self.addition(&format!("{at}/headers/{name}"), "response header added");
        }
    }

    fn content(&mut self, at: &str, before: &Value, after: &Value, side: Side) {
        let (base, current) = (members(&before["content"]), members(&after["content"]));
        for (media, old) in &base {
            let at = format!("{at}/content/{}", token(media));
            match current.get(media) {
                None => self.breaking(&at, "media type removed"),
                Some(new) => self.schema(
                    &format!("{at}/schema"),
                    &old["schema"],
                    &new["schema"],
                    side,
                ),
            }
        }
        for media in current.keys().filter(|m| !base.contains_key(*m)) {
            self.addition(
                &format!("{at}/content/{}", token(media)),
                "media type added",
            );
        }
    }

    /// Compares the component schemas, each with the sides that reach it in either
    /// document.
    fn components(&mut self) {
        let sides = reach(self.base);
        let more = reach(self.current);
        let (base, current) = (
            members(&self.base["components"]["schemas"]),
            members(&self.current["components"]["schemas"]),
        );
        for (name, old) in &base {
            let at = format!("/components/schemas/{}", token(name));
            let Some(new) = current.get(name) else {
                self.breaking(&at, "schema removed");
                continue;
            };
            let (a, b) = (sides.get(name).copied(), more.get(name).copied());
            let side = Side {
                request: a.is_some_and(|s| s.request) || b.is_some_and(|s| s.request),
                response: a.is_some_and(|s| s.response) || b.is_some_and(|s| s.response),
            };
            self.schema(&at, old, new, side);
        }
        for name in current.keys().filter(|n| !base.contains_key(*n)) {
            self.addition(
                &format!("/components/schemas/{}", token(name)),
                "schema added",
            );
        }
    }

    fn schema(&mut self, at: &str, before: &Value, after: &Value, side: Side) {
        if before.is_null() || after.is_null() {
            return;
        }
        // Component schemas are compared on their own, with every side that reaches them.
        if before.get("$ref").is_some() || after.get("$ref").is_some() {
            if before.get("$ref") != after.get("$ref") {
                self.breaking(
                    at,
                    format!(
                        "now {} instead of {}",
                        after.get("$ref").unwrap_or(after),
                        before.get("$ref").unwrap_or(before)
                    ),
                );
            }
            return;
        }

        let types = |schema: &Value| -> Option<BTreeSet<String>> {
            match &schema["type"] {
                Value::String(t) => Some(BTreeSet::from([t.clone()])),
                Value::Array(ts) => Some(
                    ts.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect(),
                ),
                _ => None,
            }
        };
        match (types(before), types(after)) {
            (Some(old), Some(new)) => {
                for lost in old.difference(&new) {
                    self.breaking(at, format!("narrowed type: no longer {lost}"));
                }
                for gained in new.difference(&old) {
                    if side.response {
                        self.breaking(at, format!("widened response type: now also {gained}"));
                    } else {
                        self.addition(at, format!("type now also {gained}"));
                    }
                }
            }
            (None, Some(new)) => self.breaking(at, format!("narrowed type: now only {new:?}")),
            _ => {}
        }

        if let (Some(old), new) = (enum_values(before), enum_values(after)) {
            let new = new.unwrap_or_default();
            for value in old.iter().filter(|v| !new.contains(v)) {
                self.breaking(at, format!("enum value removed: {value}"));
            }
            for value in new.iter().filter(|v| !old.contains(v)) {
                self.addition(at, format!("enum value added: {value}"));
            }
        } else {
            // A changed value breaks both sides; a new one narrows what a request may send.
            match (before.get("const"), after.get("const")) {
                (Some(old), Some(new)) if old != new => {
                    self.breaking(at, format!("const now {new}"));
                }
                (None, Some(new)) if side.request => {
                    self.breaking(at, format!("narrowed: const {new}"))
                }
                _ => {}
            }
            for keyword in ["oneOf", "anyOf", "allOf"] {
                let (old, new) = (
                    before[keyword].as_array().cloned().unwrap_or_default(),
                    after[keyword].as_array().cloned().unwrap_or_default(),
                );
                if new.len() < old.len() {
                    self.breaking(at, format!("{keyword}: an alternative removed"));
                }
                for (index, (old, new)) in old.iter().zip(&new).enumerate() {
                    self.schema(&format!("{at}/{keyword}/{index}"), old, new, side);
                }
            }
        }

        if side.request {
            self.narrowed_bounds(at, before, after);
        }

        let required = |schema: &Value| -> BTreeSet<String> {
            schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        };
        let (old_required, new_required) = (required(before), required(after));
        if side.request {
            for member in new_required.difference(&old_required) {
                self.breaking(at, format!("new required request member: {member}"));
            }
        }
        if side.response {
            for member in old_required.difference(&new_required) {
                self.breaking(at, format!("response member no longer required: {member}"));
            }
        }

        let (old_properties, new_properties) = (
            members(&before["properties"]),
            members(&after["properties"]),
        );
        for (name, old) in &old_properties {
            let at = format!("{at}/properties/{}", token(name));
            match new_properties.get(name) {
                None => self.breaking(&at, "property removed"),
                Some(new) => self.schema(&at, old, new, side),
            }
        }
        for name in new_properties
            .keys()
            .filter(|n| !old_properties.contains_key(*n))
        {
            self.addition(
                &format!("{at}/properties/{}", token(name)),
                "property added",
            );
        }
        for keyword in ["items", "additionalProperties"] {
            if before[keyword].is_object() && after[keyword].is_object() {
                self.schema(
                    &format!("{at}/{keyword}"),
                    &before[keyword],
                    &after[keyword],
                    side,
                );
            }
        }
        if side.request
            && after["additionalProperties"] == false
            && before["additionalProperties"] != false
        {
            self.breaking(at, "narrowed: other members no longer allowed");
        }
    }

    fn narrowed_bounds(&mut self, at: &str, before: &Value, after: &Value) {
        for keyword in ["maxLength", "maxItems", "maximum", "exclusiveMaximum"] {
            if let Some(new) = after[keyword].as_f64()
                && before[keyword].as_f64().is_none_or(|old| new < old)
            {
                self.breaking(at, format!("narrowed: {keyword} {new}"));
            }
        }
        for keyword in ["minLength", "minItems", "minimum", "exclusiveMinimum"] {
            if let Some(new) = after[keyword].as_f64()
                && before[keyword].as_f64().is_none_or(|old| new > old)
            {
                self.breaking(at, format!("narrowed: {keyword} {new}"));
            }
        }
        if after.get("pattern").is_some() && before.get("pattern") != after.get("pattern") {
            self.breaking(at, format!("narrowed: pattern {}", after["pattern"]));
        }
    }
}

/// The values of an `enum`, or of a `oneOf` whose every alternative is a `const`.
fn enum_values(schema: &Value) -> Option<Vec<Value>> {
    if let Some(values) = schema["enum"].as_array() {
        return Some(values.clone());
    }
    let alternatives = schema["oneOf"].as_array()?;
    alternatives
        .iter()
        .map(|a| a.get("const").cloned())
        .collect()
}

/// The component schemas each side reaches: from request bodies and parameters, from
/// responses, following `$ref`s.
fn reach(document: &Value) -> BTreeMap<String, Side> {
    let mut sides: BTreeMap<String, Side> = BTreeMap::new();
    for operations in members(&document["paths"]).values() {
        for method in METHODS {
            let operation = &operations[method];
            if operation.is_null() {
                continue;
            }
            for start in [&operation["requestBody"], &operation["parameters"]] {
                mark(document, start, REQUEST, &mut sides);
            }
            mark(document, &operation["responses"], RESPONSE, &mut sides);
        }
    }
    sides
}

/// Marks every component schema `value` refers to, directly or not, as reached by `side`.
fn mark(document: &Value, value: &Value, side: Side, sides: &mut BTreeMap<String, Side>) {
    match value {
        Value::Object(members) => {
            if let Some(reference) = members.get("$ref").and_then(Value::as_str) {
                let target = document.pointer(reference.trim_start_matches('#'));
                if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                    let entry = sides.entry(name.to_owned()).or_default();
                    let before = *entry;
                    entry.request |= side.request;
                    entry.response |= side.response;
                    if *entry == before {
                        return;
                    }
                }
                if let Some(target) = target {
                    mark(document, target, side, sides);
                }
            }
            for value in members.values() {
                mark(document, value, side, sides);
            }
        }
        Value::Array(items) => {
            for item in items {
                mark(document, item, side, sides);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A small document in the shape of ours: one operation, a request and a response
    /// component, a problem with an enum.
    fn document() -> Value {
        json!({
            "openapi": "3.1.0",
            "paths": {
                "/codigo": {"post": {
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}},
                    "responses": {
                        "200": {"headers": {"x-id": {"$ref": "#/components/headers/Id"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Response"}}}},
                        "400": {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
                    },
                }},
                "/healthz": {"get": {"responses": {"200": {"content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            },
            "components": {
                "schemas": {
                    "Request": {"type": "object", "required": ["codigo"], "properties": {
                        "codigo": {"type": "string", "pattern": "^[0-9]{18}$"},
                        "segmento": {"type": ["string", "null"], "maxLength": 64},
                    }},
                    "Response": {"type": "object", "properties": {"data": {"$ref": "#/components/schemas/Dados"}}},
                    "Dados": {"type": "object", "properties": {"nome": {"type": "string"}, "agencia": {"type": "string"}}},
                    "Problem": {"type": "object", "required": ["type"], "properties": {"type": {"$ref": "#/components/schemas/ProblemType"}}},
                    "ProblemType": {"oneOf": [{"type": "string", "const": "urn:a"}, {"type": "string", "const": "urn:b"}]},
                },
                "headers": {"Id": {"required": true, "schema": {"type": "string"}}},
            },
        })
    }

    fn breaking_after(change: impl FnOnce(&mut Value)) -> Vec<String> {
        let base = document();
        let mut current = base.clone();
        change(&mut current);
        diff(&base, &current)
            .into_iter()
            .filter(|c| c.breaking)
            .map(|c| format!("{}: {}", c.at, c.what))
            .collect()
    }

    fn remove(value: &mut Value, pointer: &str) {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        value
            .pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove(&key.replace("~1", "/"))
            .unwrap();
    }

    #[test]
    fn the_same_document_has_no_change() {
        assert!(diff(&document(), &document()).is_empty());
    }

    #[test]
    fn each_removal_the_rules_name_is_breaking() {
        let cases = [
            ("/paths/~1healthz", "/paths/~1healthz: path removed"),
            (
                "/paths/~1healthz/get",
                "/paths/~1healthz/get: operation removed",
            ),
            (
                "/paths/~1codigo/post/responses/400",
                "/paths/~1codigo/post/responses/400: status removed",
            ),
            (
                "/paths/~1codigo/post/responses/200/headers/x-id",
                "/paths/~1codigo/post/responses/200/headers/x-id: response header removed",
            ),
            (
                "/components/schemas/Dados/properties/agencia",
                "/components/schemas/Dados/properties/agencia: property removed",
            ),
        ];
        for (pointer, expected) in cases {
            assert_eq!(
                breaking_after(|d| remove(d, pointer)),
                [expected],
                "{pointer}"
            );
        }
    }

    #[test]
    fn a_removed_enum_value_is_breaking_and_a_new_one_is_not() {
        let removed = breaking_after(|d| {
            d["components"]["schemas"]["ProblemType"]["oneOf"]
                .as_array_mut()
                .unwrap()
                .pop();
        });
        assert_eq!(
            removed,
            [r#"/components/schemas/ProblemType: enum value removed: "urn:b""#]
        );
        let added = breaking_after(|d| {
            d["components"]["schemas"]["ProblemType"]["oneOf"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "string", "const": "urn:c"}));
        });
        assert!(added.is_empty(), "{added:?}");
    }

    #[test]
    fn a_narrowed_type_is_breaking() {
        let cases: [(&str, Value, &str); 3] = [
            (
                "/components/schemas/Request/properties/segmento/type",
                json!("string"),
                "narrowed type: no longer null",
            ),
            (
                "/components/schemas/Request/properties/segmento/maxLength",
                json!(32),
                "narrowed: maxLength 32",
            ),
            (
                "/components/schemas/Request/properties/codigo/pattern",
                json!("^[0-9]{17}$"),
                "narrowed: pattern",
            ),
        ];
        for (pointer, value, expected) in cases {
            let found = breaking_after(|d| *d.pointer_mut(pointer).unwrap() = value.clone());
            assert!(
                found.len() == 1 && found[0].contains(expected),
                "{pointer}: {found:?}"
            );
        }
    }

    #[test]
    fn a_new_required_request_member_is_breaking_and_a_new_optional_one_is_not() {
        let required = breaking_after(|d| {
            let request = &mut d["components"]["schemas"]["Request"];
            request["properties"]["canal"] = json!({"type": "string"});
            request["required"] = json!(["codigo", "canal"]);
        });
        assert_eq!(
            required,
            ["/components/schemas/Request: new required request member: canal"]
        );
        let optional = breaking_after(|d| {
            d["components"]["schemas"]["Request"]["properties"]["canal"] =
                json!({"type": "string"});
        });
        assert!(optional.is_empty(), "{optional:?}");
    }

    #[test]
    fn additions_are_listed_and_not_breaking() {
        let base = document();
        let mut current = base.clone();
        current["paths"]["/readyz"] = current["paths"]["/healthz"].clone();
        current["paths"]["/codigo"]["post"]["responses"]["431"] = json!({"description": "bare"});
        current["components"]["schemas"]["Dados"]["properties"]["conta"] =
            json!({"type": "string"});
        let changes = diff(&base, &current);
        assert!(changes.iter().all(|c| !c.breaking), "{changes:?}");
        assert_eq!(changes.len(), 3, "{changes:?}");
    }

    #[test]
    fn a_response_schema_that_allows_a_new_type_is_breaking() {
        let found = breaking_after(|d| {
            d["components"]["schemas"]["Dados"]["properties"]["nome"]["type"] =
                json!(["string", "null"]);
        });
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("widened response type"), "{found:?}");
    }
}
