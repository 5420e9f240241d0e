//! The import's two roads held against each other on generated lines: valid records,
//! then the same records bent the ways an export goes wrong (a member given twice at any
//! depth or spelled with escapes, a value of another kind where an object belongs, a
//! member gone, unknown members holding anything, values that break a field rule). The
//! property is the fuzz target's (`registro_roads` in `fuzz/src/checks.rs`): the fast
//! road accepts exactly what the precise road accepts and builds the same records.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

#[allow(
    unreachable_pub,
    dead_code,
    reason = "shared with the fuzz crate, where it is public"
)]
#[path = "../../../fuzz/src/checks.rs"]
mod checks;

/// A JSON document as text writes it, so that an object may give a member twice.
#[derive(Debug, Clone)]
enum Doc {
    /// A scalar's JSON text.
    Scalar(String),
    Array(Vec<Doc>),
    /// Members in order, each with its name's JSON text (quotes and any escapes
    /// included).
    Object(Vec<(String, Doc)>),
}

impl Doc {
    fn from_value(value: &Value) -> Self {
        match value {
            Value::Array(items) => Self::Array(items.iter().map(Self::from_value).collect()),
            Value::Object(members) => Self::Object(
                members
                    .iter()
                    .map(|(key, value)| {
                        (
                            Value::from(key.as_str()).to_string(),
                            Self::from_value(value),
                        )
                    })
                    .collect(),
            ),
            scalar => Self::Scalar(scalar.to_string()),
        }
    }

    fn write(&self, out: &mut String, spaced: bool) {
        let separator = if spaced { ", " } else { "," };
        match self {
            Self::Scalar(text) => out.push_str(text),
            Self::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(separator);
                    }
                    item.write(out, spaced);
                }
                out.push(']');
            }
            Self::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(separator);
                    }
                    out.push_str(key);
                    out.push_str(if spaced { ": " } else { ":" });
                    value.write(out, spaced);
                }
                out.push('}');
            }
        }
    }

    /// Every value in the document, the document itself first.
    fn count(&self) -> usize {
        1 + match self {
            Self::Scalar(_) => 0,
            Self::Array(items) => items.iter().map(Self::count).sum(),
            Self::Object(members) => members.iter().map(|(_, value)| value.count()).sum(),
        }
    }

    /// The `n`-th value in the order of [`Doc::count`].
    fn nth(&mut self, mut n: usize) -> &mut Self {
        if n == 0 {
            return self;
        }
        n -= 1;
        let children: Vec<&mut Self> = match self {
            Self::Scalar(_) => Vec::new(),
            Self::Array(items) => items.iter_mut().collect(),
            Self::Object(members) => members.iter_mut().map(|(_, value)| value).collect(),
        };
        for child in children {
            let size = child.count();
            if n < size {
                return child.nth(n);
            }
            n -= size;
        }
        unreachable!("n is below count()")
    }
}

/// A valid record, every field present: each case keeps some of them.
fn full_record() -> Value {
    json!({
        "codigo_conta": "001341150100098790",
        "data": {
            "id_cliente": "b26e641a-71f5-4117-ad0d-4d753faebb16",
            "emails": [
                {"principal": "S", "email": "maria@example.com", "data_atualizacao": "2025-02-13T14:46:00-03:00"},
                {"principal": "N", "email": "maria.silva@example.com.br", "data_atualizacao": "2024-01-31"}
            ],
            "data_abertura_conta": "2010-05-17",
            "nome_completo": "Maria Conceição da Silva",
            "nome_fantasia_apelido": "Maria",
            "tipo_pessoa": "F",
            "data_nascimento_fundacao": "1985-09-30",
            "gerentes": [
                {"tipo_estrutura": "AP", "segmento": "Personnalité", "telefones": {"ddi": "55", "ddd": "11", "numero": "987654321"}},
                {"tipo_estrutura": "OP", "email_gerente": "", "codigo_cargo": "AGD-01", "telefones": null}
            ],
            "telefones": [{"principal": "S", "celular": "1", "ddd": "11", "numero": "33334444", "ramal": ""}],
            "identificado": "Identificado",
            "cpf_cnpj": "52998224725",
            "nome_social": "",
            "agencia": "1501",
            "conta_corrente": "0009879"
        }
    })
}

/// The record with the data members whose bit is clear in `keep` left out, its
/// managers given as one object when `one_gerente`, a company's when `company`, and
/// members no reader knows beside the known ones when `unknown`.
fn base(keep: u16, one_gerente: bool, company: bool, unknown: bool) -> Value {
    let mut record = full_record();
    if unknown {
        let extra = json!({"origem": "crm", "lote": [1, {"k": null, "v": [true]}]});
        record["versao"] = json!(2);
        record["extra"] = extra.clone();
        record["data"]["emails"][0]["extra"] = extra.clone();
        record["data"]["gerentes"][1]["extra"] = extra.clone();
        record["data"]["gerentes"][0]["telefones"]["extra"] = extra.clone();
        record["data"]["telefones"][0]["origem"] = json!("crm");
    }
    let data = record["data"].as_object_mut().expect("an object");
    if unknown {
        data.insert("extra".into(), json!({"origem": "crm"}));
    }
    if company {
        data.insert("tipo_pessoa".into(), "J".into());
        data.insert("cpf_cnpj".into(), "12ABC34501DE35".into());
    }
    if one_gerente {
        let first = data["gerentes"][0].take();
        data.insert("gerentes".into(), first);
    }
    let names: Vec<String> = data.keys().cloned().collect();
    for (bit, name) in names.iter().enumerate().take(14) {
        if keep & (1 << bit) == 0 {
            data.remove(name);
        }
    }
    record
}

/// Values of every kind, and values that break a field rule.
const REPLACEMENTS: &[&str] = &[
    "null",
    "true",
    "0",
    "-1.5e3",
    "1e400",
    "\"\"",
    "\"x\"",
    "[]",
    "[{}]",
    "[null]",
    "{}",
    "{\"a\": 1}",
    "{\"a\": 1, \"a\": 2}",
    "[{\"b\": [], \"b\": {}}]",
    "\"2024-02-30\"",
    "\"2024-02-29T24:00:00Z\"",
    "\"maria@\"",
    "\"jos\\u00e9@example.com\"",
    "\"52998224724\"",
    "\"11111111111\"",
    "\"1l\"",
    "\"J\"",
    "\"\\ud800\"",
    "\"\\u0041\"",
];

/// One way an export goes wrong, applied at the `at`-th value of the document.
#[derive(Debug, Clone)]
enum Bend {
    /// The value replaced by one of [`REPLACEMENTS`], or by a string of 257 characters.
    Replace(Index, Index),
    /// A member of the object there given again, with the same or another value, its
    /// name spelled alike or with an escape.
    Repeat(Index, Index, bool, bool),
    /// A member's name spelled with a `\u` escape (the same name to a reader).
    Escape(Index, Index),
    /// A member of the object there removed.
    Remove(Index, Index),
    /// An unknown member added to the object there.
    Unknown(Index, Index),
    /// The value wrapped in an array.
    Wrap(Index),
}

fn bend() -> impl Strategy<Value = Bend> {
    prop_oneof![
        (any::<Index>(), any::<Index>()).prop_map(|(at, with)| Bend::Replace(at, with)),
        (any::<Index>(), any::<Index>(), any::<bool>(), any::<bool>())
            .prop_map(|(at, member, same, escape)| Bend::Repeat(at, member, same, escape)),
        (any::<Index>(), any::<Index>()).prop_map(|(at, member)| Bend::Escape(at, member)),
        (any::<Index>(), any::<Index>()).prop_map(|(at, member)| Bend::Remove(at, member)),
        (any::<Index>(), any::<Index>()).prop_map(|(at, with)| Bend::Unknown(at, with)),
        any::<Index>().prop_map(Bend::Wrap),
    ]
}

fn replacement(with: &Index) -> Doc {
    // One choice more than the table: a string one character too long.
    match REPLACEMENTS.get(with.index(REPLACEMENTS.len() + 1)) {
        Some(text) => Doc::Scalar((*text).to_owned()),
        None => Doc::Scalar(format!("\"{}\"", "é".repeat(257))),
    }
}

/// The name with its first character written as a `\u` escape.
fn escaped(key: &str) -> String {
    let name: String = serde_json::from_str(key).unwrap_or_default();
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("\"\\u{:04x}{}\"", u32::from(first), chars.as_str()),
        None => key.to_owned(),
    }
}

fn apply(doc: &mut Doc, bend: &Bend) {
    let count = doc.count();
    match bend {
        Bend::Replace(at, with) => *doc.nth(at.index(count)) = replacement(with),
        Bend::Wrap(at) => {
            let target = doc.nth(at.index(count));
            *target = Doc::Array(vec![target.clone()]);
        }
        Bend::Repeat(at, member, same, escape) => {
            if let Doc::Object(members) = doc.nth(at.index(count))
                && !members.is_empty()
            {
                let (key, value) = members[member.index(members.len())].clone();
                let key = if *escape { escaped(&key) } else { key };
                let value = if *same {
                    value
                } else {
                    Doc::Scalar("\"other\"".into())
                };
                members.push((key, value));
            }
        }
        Bend::Escape(at, member) => {
            if let Doc::Object(members) = doc.nth(at.index(count))
                && !members.is_empty()
            {
                let chosen = member.index(members.len());
                members[chosen].0 = escaped(&members[chosen].0);
            }
        }
        Bend::Remove(at, member) => {
            if let Doc::Object(members) = doc.nth(at.index(count))
                && !members.is_empty()
            {
                members.remove(member.index(members.len()));
            }
        }
        Bend::Unknown(at, with) => {
            if let Doc::Object(members) = doc.nth(at.index(count)) {
                members.push(("\"x_extra\"".into(), replacement(with)));
            }
        }
    }
}

fn line() -> impl Strategy<Value = String> {
    (
        any::<u16>(),
        any::<[bool; 4]>(),
        proptest::collection::vec(bend(), 0..4),
    )
        .prop_map(|(keep, [one_gerente, company, unknown, spaced], bends)| {
            let mut doc = Doc::from_value(&base(keep, one_gerente, company, unknown));
            for bend in &bends {
                apply(&mut doc, bend);
            }
            let mut line = String::new();
            doc.write(&mut line, spaced);
            line
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn the_fast_road_accepts_what_the_precise_road_accepts_and_builds_the_same(line in line()) {
        checks::registro_roads(line.as_bytes());
    }
}

#[test]
fn the_generated_lines_are_both_accepted_and_refused() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = line();
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..500 {
        let line = strategy.new_tree(&mut runner).expect("a line").current();
        match itau_codigo::RegistroCliente::from_json_line_precise(&line) {
            Ok(_) => accepted += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(
        accepted >= 50 && refused >= 50,
        "accepted {accepted}, refused {refused}"
    );
}
