//! The core crate's public API, read from rustdoc's JSON output: every item a user can
//! name (`fn itau_codigo::dac`, `method itau_codigo::CodigoConta::empresa`, `field
//! itau_codigo::Gerente::segmento`, `impl Clone for itau_codigo::CodigoConta`…) with
//! its signature, and the diff of two of them.
//!
//! Why rustdoc JSON and not `cargo semver-checks`: the latter is a long `cargo install`
//! that CI, starting from a fresh clone each time, would repeat on every run, and it
//! reads the same rustdoc JSON anyway. rustdoc writes JSON on nightly only, but the
//! stable toolchain does under `RUSTC_BOOTSTRAP=1` (as the fuzzer's build already
//! does); its format is unstable, which does not matter here, since both sides of a
//! comparison are written by the same toolchain in the same run.
//!
//! The rules (each change is breaking unless it says otherwise):
//! - an item removed: a module, type, function, method, field, variant, trait, trait
//!   item, constant, type alias, re-export, or an implementation of a trait (auto traits
//!   such as `Send` included);
//! - a signature changed: a function's or method's generics, parameters or return type,
//!   a field's or constant's type, a variant's fields, a type alias's target;
//! - `#[non_exhaustive]` added to a type, or private fields added to a struct;
//! - a new field in a struct users can build with a literal (every field public, no
//!   `#[non_exhaustive]`), a new variant in an enum without `#[non_exhaustive]`, a new
//!   trait item without a default;
//! - anything else new is an addition.
//!
//! Not seen: implementations of the crate's traits on other crates' types, and changes
//! of behaviour.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail, ensure};
use serde_json::{Map, Value};

use super::Change;

/// One public item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    /// What users depend on besides the name: types, generics, parameters.
    pub(crate) signature: String,
    /// A struct users may build with a literal (every field public) or an enum they may
    /// match exhaustively: neither has `#[non_exhaustive]`.
    pub(crate) exhaustive: bool,
    /// A trait item implementors must write (no default).
    pub(crate) required: bool,
    /// The key of the item this one belongs to (a field's struct, a variant's enum, a
    /// trait item's trait).
    pub(crate) parent: Option<String>,
}

impl Item {
    fn new(signature: impl Into<String>) -> Self {
        Self {
            signature: signature.into(),
            exhaustive: false,
            required: false,
            parent: None,
        }
    }

    fn of(mut self, parent: &str) -> Self {
        self.parent = Some(parent.to_owned());
        self
    }
}

/// Every public item, by key (`KIND PATH`).
pub(crate) type Api = BTreeMap<String, Item>;

/// Runs rustdoc (JSON) on the core crate of the workspace at `tree`, into `target`,
/// and reads its public API.
pub(crate) fn read(tree: &Path, target: &Path) -> anyhow::Result<Api> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(tree)
        .args(["rustdoc", "--locked", "-p", "itau-codigo", "--lib"])
        .arg("--target-dir")
        .arg(target)
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("RUSTDOCFLAGS")
        .output()
        .context("running cargo rustdoc")?;
    ensure!(
        output.status.success(),
        "cargo rustdoc (JSON) failed in {}: {}",
        tree.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let path = target.join("doc/itau_codigo.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let document: Value = serde_json::from_str(&text)?;
    from_rustdoc(&document)
}

/// The public API that a rustdoc JSON document describes.
pub(crate) fn from_rustdoc(document: &Value) -> anyhow::Result<Api> {
    let (Some(index), Some(paths)) = (document["index"].as_object(), document["paths"].as_object())
    else {
        bail!("not a rustdoc JSON document");
    };
    let mut reader = Reader {
        index,
        paths,
        public: HashMap::new(),
        api: Api::new(),
    };
    let root = id_of(&document["root"]);
    let crate_name = index
        .get(&root)
        .and_then(|item| item["name"].as_str())
        .context("rustdoc JSON without its root module")?
        .to_owned();
    reader.find_paths(&root, &crate_name);
    let mut found: Vec<(String, String)> = reader
        .public
        .iter()
        .map(|(id, path)| (id.clone(), path.clone()))
        .collect();
    found.sort_by(|a, b| a.1.cmp(&b.1));
    for (id, path) in found {
        reader.emit(&id, &path);
    }
    Ok(reader.api)
}

/// The changes from `base` to `current`, by the rules above.
pub(crate) fn diff(base: &Api, current: &Api) -> Vec<Change> {
    let mut changes = Vec::new();
    for (key, before) in base {
        match current.get(key) {
            None => changes.push(Change::breaking(key, "removed")),
            Some(after) if after.signature != before.signature => changes.push(Change::breaking(
                key,
                format!(
                    "changed: `{}` is now `{}`",
                    before.signature, after.signature
                ),
            )),
            Some(after) if before.exhaustive && !after.exhaustive => {
                changes.push(Change::breaking(
                    key,
                    "no longer exhaustive (`#[non_exhaustive]` or private fields)",
                ))
            }
            Some(_) => {}
        }
    }
    for (key, after) in current {
        if base.contains_key(key) {
            continue;
        }
        let parent = after
            .parent
            .as_ref()
            .and_then(|p| base.get(p).map(|b| (p, b)));
        let change = match parent {
            Some((parent, before)) if before.exhaustive && !key.starts_with("method ") => {
                Change::breaking(
                    key,
                    format!("added to `{parent}`, which users build or match exhaustively"),
                )
            }
            Some((parent, _)) if after.required => Change::breaking(
                key,
                format!("a required item added to `{parent}`: implementors must write it"),
            ),
            _ => Change::addition(key, "added"),
        };
        changes.push(change);
    }
    changes
}

struct Reader<'a> {
    index: &'a Map<String, Value>,
    paths: &'a Map<String, Value>,
    /// The path users name each public item by (the shortest, when there are several).
    public: HashMap<String, String>,
    api: Api,
}

/// rustdoc JSON ids are numbers (strings in older formats); the index keys are strings.
fn id_of(value: &Value) -> String {
    match value {
        Value::String(id) => id.clone(),
        other => other.to_string(),
    }
}

/// The one member of a tagged value (`{"struct": {...}}`) and its tag.
fn tagged(value: &Value) -> Option<(&str, &Value)> {
    let object = value.as_object()?;
    let (tag, inner) = object.iter().next()?;
    (object.len() == 1).then_some((tag.as_str(), inner))
}

impl Reader<'_> {
    fn item(&self, id: &str) -> Option<&Value> {
        self.index.get(id)
    }

    /// Walks the public modules from `module`, recording each reachable item's path.
    fn find_paths(&mut self, module: &str, prefix: &str) {
        let Some(items) = self
            .item(module)
            .and_then(|m| m["inner"]["module"]["items"].as_array())
            .cloned()
        else {
            return;
        };
        for child in &items {
            let child = id_of(child);
            let Some(item) = self.item(&child).cloned() else {
                continue;
            };
            let Some((kind, inner)) = tagged(&item["inner"]) else {
                continue;
            };
            if item["visibility"] != "public" {
                continue;
            }
            if kind == "use" {
                let target = id_of(&inner["id"]);
                let name = inner["name"].as_str().unwrap_or_default();
                if inner["is_glob"] == true {
                    self.find_paths(&target, prefix);
                } else if self.item(&target).is_some() {
                    self.record(&target, &format!("{prefix}::{name}"));
                } else {
                    // Another crate's item, re-exported: its name here is the API.
                    let source = inner["source"].as_str().unwrap_or_default();
                    self.api.insert(
                        format!("use {prefix}::{name}"),
                        Item::new(format!("= {source}")),
                    );
                }
                continue;
            }
            let name = item["name"].as_str().unwrap_or_default();
            self.record(&child, &format!("{prefix}::{name}"));
        }
    }

    fn record(&mut self, id: &str, path: &str) {
        let depth = |p: &str| p.matches("::").count();
        let known = self.public.get(id).cloned();
        if known.as_deref().is_some_and(|k| depth(k) <= depth(path)) {
            return;
        }
        self.public.insert(id.to_owned(), path.to_owned());
        if known.is_none()
            && self
                .item(id)
                .is_some_and(|item| item["inner"].get("module").is_some())
        {
            self.find_paths(id, path);
        }
    }

    /// Adds the item `id`, public at `path`, and what belongs to it.
    fn emit(&mut self, id: &str, path: &str) {
        let Some(item) = self.item(id).cloned() else {
            return;
        };
        let Some((kind, inner)) = tagged(&item["inner"]) else {
            return;
        };
        let non_exhaustive = item["attrs"]
            .as_array()
            .is_some_and(|attrs| attrs.iter().any(|a| a == "non_exhaustive"));
        match kind {
            "module" => {
                self.api.insert(format!("mod {path}"), Item::new(""));
            }
            "struct" | "union" => {
                let key = format!("{kind} {path}");
                let (shape, fields, stripped) = match tagged(&inner["kind"]) {
                    Some(("plain", plain)) => (
                        "{..}",
                        plain["fields"].as_array().cloned().unwrap_or_default(),
                        plain["has_stripped_fields"] == true,
                    ),
                    Some(("tuple", tuple)) => {
                        let fields = tuple.as_array().cloned().unwrap_or_default();
                        let stripped = fields.iter().any(Value::is_null);
                        ("(..)", fields, stripped)
                    }
                    _ if kind == "union" => (
                        "{..}",
                        inner["fields"].as_array().cloned().unwrap_or_default(),
                        inner["has_stripped_fields"] == true,
                    ),
                    _ => (";", Vec::new(), false),
                };
                let mut entry = Item::new(format!("{}{shape}", self.generics(&inner["generics"])));
                entry.exhaustive = !non_exhaustive && !stripped;
                self.api.insert(key.clone(), entry);
                for (position, field) in fields.iter().enumerate() {
                    if field.is_null() {
                        continue;
                    }
                    let field = self.item(&id_of(field)).cloned().unwrap_or_default();
                    let name = field["name"]
                        .as_str()
                        .map_or_else(|| position.to_string(), str::to_owned);
                    let ty = self.ty(&field["inner"]["struct_field"]);
                    self.api
                        .insert(format!("field {path}::{name}"), Item::new(ty).of(&key));
                }
                self.emit_impls(inner, path);
            }
            "enum" => {
                let key = format!("enum {path}");
                let mut entry = Item::new(self.generics(&inner["generics"]));
                entry.exhaustive = !non_exhaustive;
                self.api.insert(key.clone(), entry);
                for variant in inner["variants"].as_array().cloned().unwrap_or_default() {
                    let variant = self.item(&id_of(&variant)).cloned().unwrap_or_default();
                    let name = variant["name"].as_str().unwrap_or_default();
                    let signature = self.variant(&variant["inner"]["variant"]["kind"]);
                    self.api.insert(
                        format!("variant {path}::{name}"),
                        Item::new(signature).of(&key),
                    );
                }
                self.emit_impls(inner, path);
            }
            "function" => {
                let signature = self.function(inner);
                self.api.insert(format!("fn {path}"), Item::new(signature));
            }
            "trait" => {
                let key = format!("trait {path}");
                let bounds = self.bounds(&inner["bounds"]);
                self.api.insert(
                    key.clone(),
                    Item::new(format!("{}: {bounds}", self.generics(&inner["generics"]))),
                );
                for member in inner["items"].as_array().cloned().unwrap_or_default() {
                    let member = self.item(&id_of(&member)).cloned().unwrap_or_default();
                    let name = member["name"].as_str().unwrap_or_default();
                    let Some((member_kind, member_inner)) = tagged(&member["inner"]) else {
                        continue;
                    };
                    let (signature, required) = match member_kind {
                        "function" => (
                            self.function(member_inner),
                            member_inner["has_body"] != true,
                        ),
                        "assoc_type" => (
                            self.bounds(&member_inner["bounds"]),
                            member_inner["type"].is_null(),
                        ),
                        "assoc_const" => (
                            self.ty(&member_inner["type"]),
                            member_inner["value"].is_null(),
                        ),
                        _ => continue,
                    };
                    let mut entry = Item::new(signature).of(&key);
                    entry.required = required;
                    self.api
                        .insert(format!("trait-{member_kind} {path}::{name}"), entry);
                }
            }
            "constant" => {
                let signature = self.ty(&inner["type"]);
                self.api
                    .insert(format!("const {path}"), Item::new(signature));
            }
            "static" => {
                let signature = self.ty(&inner["type"]);
                self.api
                    .insert(format!("static {path}"), Item::new(signature));
            }
            "type_alias" => {
                let signature = format!(
                    "{} = {}",
                    self.generics(&inner["generics"]),
                    self.ty(&inner["type"])
                );
                self.api
                    .insert(format!("type {path}"), Item::new(signature));
            }
            "macro" | "proc_macro" => {
                self.api.insert(format!("macro {path}"), Item::new(""));
            }
            _ => {}
        }
    }

    /// The methods and trait implementations of a type public at `path`.
    fn emit_impls(&mut self, inner: &Value, path: &str) {
        for implementation in inner["impls"].as_array().cloned().unwrap_or_default() {
            let Some(item) = self.item(&id_of(&implementation)).cloned() else {
                continue;
            };
            let block = &item["inner"]["impl"];
            if !block["blanket_impl"].is_null() {
                continue;
            }
            if block["trait"].is_null() {
                for member in block["items"].as_array().cloned().unwrap_or_default() {
                    let member = self.item(&id_of(&member)).cloned().unwrap_or_default();
                    if member["visibility"] != "public" {
                        continue;
                    }
                    let name = member["name"].as_str().unwrap_or_default();
                    match tagged(&member["inner"]) {
                        Some(("function", function)) => {
                            let signature = format!(
                                "{}{}",
                                self.generics(&block["generics"]),
                                self.function(function)
                            );
                            self.api
                                .insert(format!("method {path}::{name}"), Item::new(signature));
                        }
                        Some(("assoc_const", constant)) => {
                            let signature = self.ty(&constant["type"]);
                            self.api
                                .insert(format!("const {path}::{name}"), Item::new(signature));
                        }
                        _ => {}
                    }
                }
            } else {
                let negative = if block["is_negative"] == true {
                    "!"
                } else {
                    ""
                };
                let key = format!(
                    "impl {negative}{} for {}",
                    self.path(&block["trait"]),
                    self.ty(&block["for"])
                );
                let signature = self.generics(&block["generics"]);
                self.api.insert(key, Item::new(signature));
            }
        }
    }

    /// The name users know an item by: its public path; for another crate's item, its
    /// name alone (where a dependency defines `Deserialize` or `Option` is not this
    /// crate's API, and moves between their releases); else the path rustdoc records,
    /// else the name as written.
    fn name(&self, id: &Value, written: &str) -> String {
        let id = id_of(id);
        if let Some(path) = self.public.get(&id) {
            return path.clone();
        }
        let Some(known) = self.paths.get(&id) else {
            return written.to_owned();
        };
        let segments: Vec<&str> = known["path"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if known["crate_id"] == 0 {
            segments.join("::")
        } else {
            segments.last().copied().unwrap_or(written).to_owned()
        }
    }

    fn path(&self, path: &Value) -> String {
        let name = self.name(&path["id"], path["path"].as_str().unwrap_or_default());
        format!("{name}{}", self.args(&path["args"]))
    }

    fn args(&self, args: &Value) -> String {
        match tagged(args) {
            Some(("angle_bracketed", angle)) => {
                let mut parts: Vec<String> = angle["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|arg| match tagged(arg) {
                        Some(("type", ty)) => self.ty(ty),
                        Some(("lifetime", lifetime)) => {
                            lifetime.as_str().unwrap_or("'_").to_owned()
                        }
                        Some(("const", constant)) => {
                            constant["expr"].as_str().unwrap_or("_").to_owned()
                        }
                        _ => "_".to_owned(),
                    })
                    .collect();
                for constraint in angle["constraints"].as_array().into_iter().flatten() {
                    let name = constraint["name"].as_str().unwrap_or_default();
                    let binding = match tagged(&constraint["binding"]) {
                        Some(("equality", term)) => match tagged(term) {
                            Some(("type", ty)) => format!(" = {}", self.ty(ty)),
                            _ => format!(" = {}", canonical(term)),
                        },
                        Some(("constraint", bounds)) => format!(": {}", self.bounds(bounds)),
                        _ => String::new(),
                    };
                    parts.push(format!("{name}{binding}"));
                }
                if parts.is_empty() {
                    String::new()
                } else {
                    format!("<{}>", parts.join(", "))
                }
            }
            Some(("parenthesized", parenthesized)) => {
                let inputs: Vec<String> = parenthesized["inputs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|ty| self.ty(ty))
                    .collect();
                let output = match &parenthesized["output"] {
                    Value::Null => String::new(),
                    ty => format!(" -> {}", self.ty(ty)),
                };
                format!("({}){output}", inputs.join(", "))
            }
            _ => String::new(),
        }
    }

    fn ty(&self, ty: &Value) -> String {
        let Some((kind, inner)) = tagged(ty) else {
            return canonical(ty);
        };
        match kind {
            "resolved_path" => self.path(inner),
            "generic" | "primitive" => inner.as_str().unwrap_or_default().to_owned(),
            "tuple" => {
                let types: Vec<String> = inner
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| self.ty(t))
                    .collect();
                format!("({})", types.join(", "))
            }
            "slice" => format!("[{}]", self.ty(inner)),
            "array" => format!(
                "[{}; {}]",
                self.ty(&inner["type"]),
                inner["len"].as_str().unwrap_or("_")
            ),
            "borrowed_ref" => {
                let lifetime = inner["lifetime"]
                    .as_str()
                    .map_or_else(String::new, |l| format!("{l} "));
                let mutable = if inner["is_mutable"] == true {
                    "mut "
                } else {
                    ""
                };
                format!("&{lifetime}{mutable}{}", self.ty(&inner["type"]))
            }
            "raw_pointer" => {
                let mutable = if inner["is_mutable"] == true {
                    "mut"
                } else {
                    "const"
                };
                format!("*{mutable} {}", self.ty(&inner["type"]))
            }
            "impl_trait" => format!("impl {}", self.bounds(inner)),
            "dyn_trait" => {
                let traits: Vec<String> = inner["traits"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| self.path(&t["trait"]))
                    .collect();
                format!("dyn {}", traits.join(" + "))
            }
            "qualified_path" => format!(
                "<{} as {}>::{}",
                self.ty(&inner["self_type"]),
                self.path(&inner["trait"]),
                inner["name"].as_str().unwrap_or_default()
            ),
            "infer" => "_".to_owned(),
            _ => canonical(ty),
        }
    }

    fn bounds(&self, bounds: &Value) -> String {
        let bounds: Vec<String> = bounds
            .as_array()
            .into_iter()
            .flatten()
            .map(|bound| match tagged(bound) {
                Some(("trait_bound", trait_bound)) => {
                    let maybe = if trait_bound["modifier"] == "maybe" {
                        "?"
                    } else {
                        ""
                    };
                    format!("{maybe}{}", self.path(&trait_bound["trait"]))
                }
                Some(("outlives", lifetime)) => lifetime.as_str().unwrap_or_default().to_owned(),
                _ => canonical(bound),
            })
            .collect();
        bounds.join(" + ")
    }

    fn generics(&self, generics: &Value) -> String {
        let params: Vec<String> = generics["params"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|param| {
                let name = param["name"].as_str().unwrap_or_default();
                match tagged(&param["kind"]) {
                    Some(("type", ty)) if ty["is_synthetic"] == true => None,
                    Some(("type", ty)) => {
                        let bounds = self.bounds(&ty["bounds"]);
                        Some(if bounds.is_empty() {
                            name.to_owned()
                        } else {
                            format!("{name}: {bounds}")
                        })
                    }
                    Some(("const", constant)) => {
                        Some(format!("const {name}: {}", self.ty(&constant["type"])))
                    }
                    _ => Some(name.to_owned()),
                }
            })
            .collect();
        let mut text = if params.is_empty() {
            String::new()
        } else {
            format!("<{}>", params.join(", "))
        };
        let predicates: Vec<String> = generics["where_predicates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|predicate| match tagged(predicate) {
                Some(("bound_predicate", bound)) => format!(
                    "{}: {}",
                    self.ty(&bound["type"]),
                    self.bounds(&bound["bounds"])
                ),
                _ => canonical(predicate),
            })
            .collect();
        if !predicates.is_empty() {
            text.push_str(&format!(" where {}", predicates.join(", ")));
        }
        text
    }

    fn function(&self, function: &Value) -> String {
        let header = &function["header"];
        let mut text = String::new();
        for (flag, word) in [
            ("is_const", "const "),
            ("is_async", "async "),
            ("is_unsafe", "unsafe "),
        ] {
            if header[flag] == true {
                text.push_str(word);
            }
        }
        let inputs: Vec<String> = function["sig"]["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|input| {
                format!(
                    "{}: {}",
                    input[0].as_str().unwrap_or("_"),
                    self.ty(&input[1])
                )
            })
            .collect();
        let output = match &function["sig"]["output"] {
            Value::Null => String::new(),
            ty => format!(" -> {}", self.ty(ty)),
        };
        text.push_str(&format!(
            "fn{}({}){output}",
            self.generics(&function["generics"]),
            inputs.join(", ")
        ));
        text
    }

    fn variant(&self, kind: &Value) -> String {
        match tagged(kind) {
            Some(("tuple", fields)) => {
                let types: Vec<String> = fields
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|field| {
                        self.item(&id_of(field)).map_or_else(
                            || "_".to_owned(),
                            |f| self.ty(&f["inner"]["struct_field"]),
                        )
                    })
                    .collect();
                format!("({})", types.join(", "))
            }
            Some(("struct", shape)) => {
                let fields: Vec<String> = shape["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|field| self.item(&id_of(field)))
                    .map(|f| {
                        format!(
                            "{}: {}",
                            f["name"].as_str().unwrap_or_default(),
                            self.ty(&f["inner"]["struct_field"])
                        )
                    })
                    .collect();
                let stripped = if shape["has_stripped_fields"] == true {
                    ", .."
                } else {
                    ""
                };
                format!("{{ {}{stripped} }}", fields.join(", "))
            }
            _ => String::new(),
        }
    }
}

/// A JSON value as compact text without rustdoc's ids, which differ between runs: the
/// fallback for shapes the renderer does not spell out.
fn canonical(value: &Value) -> String {
    fn strip(value: &Value) -> Value {
        match value {
            Value::Object(members) => Value::Object(
                members
                    .iter()
                    .filter(|(key, _)| *key != "id")
                    .map(|(key, value)| (key.clone(), strip(value)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    strip(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(items: &[(&str, &str, bool, Option<&str>)]) -> Api {
        items
            .iter()
            .map(|(key, signature, exhaustive, parent)| {
                let mut item = Item::new(*signature);
                item.exhaustive = *exhaustive;
                item.parent = parent.map(str::to_owned);
                ((*key).to_owned(), item)
            })
            .collect()
    }

    fn breaking(changes: &[Change]) -> Vec<&str> {
        changes
            .iter()
            .filter(|c| c.breaking)
            .map(|c| c.at.as_str())
            .collect()
    }

    #[test]
    fn a_removed_item_and_a_changed_signature_are_breaking() {
        let base = api(&[
            ("fn k::dac", "fn(a: &str) -> u8", false, None),
            ("fn k::compose", "fn(a: &str) -> u8", false, None),
        ]);
        let current = api(&[("fn k::compose", "fn(a: &str, b: &str) -> u8", false, None)]);
        assert_eq!(
            breaking(&diff(&base, &current)),
            ["fn k::compose", "fn k::dac"]
        );
    }

    #[test]
    fn a_new_variant_breaks_an_exhaustive_enum_only() {
        let base = api(&[
            ("enum k::Open", "", false, None),
            ("enum k::Closed", "", true, None),
        ]);
        let mut current = base.clone();
        current.extend(api(&[
            ("variant k::Open::New", "", false, Some("enum k::Open")),
            ("variant k::Closed::New", "", false, Some("enum k::Closed")),
        ]));
        let changes = diff(&base, &current);
        assert_eq!(breaking(&changes), ["variant k::Closed::New"]);
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn a_new_method_is_an_addition_even_on_an_exhaustive_struct() {
        let base = api(&[("struct k::Gerente", "{..}", true, None)]);
        let mut current = base.clone();
        current.extend(api(&[(
            "method k::Gerente::new",
            "fn() -> Self",
            false,
            None,
        )]));
        let changes = diff(&base, &current);
        assert!(breaking(&changes).is_empty(), "{changes:?}");
        assert_eq!(changes.len(), 1);
    }
}
