//! The one reader of our JSON documents' structure: no member given twice, at any
//! depth, and (in an import line) objects where the format says objects.
//!
//! `serde_json::Value` keeps the last of two equal keys without a word. A request that
//! says `codigo_conta` twice is ambiguous, and two systems reading it could disagree on
//! which account it meant, so the contract makes it a 400 (and a bad import line).
//! serde also reads a struct from an array (positionally), so `"telefones": []` would
//! pass as an empty phone where the format says an object.
//!
//! Both rules live in [`Scan`], which builds a `Value` only when asked: the import's
//! fast road scans a line without allocating, then lets serde read the types straight
//! from the bytes; the precise road and the request parser take the `Value`.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// What a value must look like where it stands in an import line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Anything, as long as no object in it repeats a member.
    Any,
    /// The whole line: an object whose `data` is [`Shape::Data`].
    Line,
    /// `data`: an object (or null, which the reader reports as missing); its `emails`
    /// and `telefones` items are objects, and so are its managers.
    Data,
    /// `emails` or `telefones` of `data`: when an array, of objects.
    ObjectItems,
    /// `gerentes`: an object or an array of objects, each a [`Shape::Gerente`].
    Gerentes,
    /// One manager: an object whose `telefones`, when present and not null, is an object.
    Gerente,
    /// A manager's `telefones`: an object or null.
    ObjectOrNull,
    /// An item of `emails` or `telefones`: an object, whatever its members.
    Object,
}

impl Shape {
    fn member(self, key: &str) -> Self {
        match (self, key) {
            (Self::Line, "data") => Self::Data,
            (Self::Data, "emails" | "telefones") => Self::ObjectItems,
            (Self::Data, "gerentes") => Self::Gerentes,
            (Self::Gerente, "telefones") => Self::ObjectOrNull,
            _ => Self::Any,
        }
    }

    /// The shape of the items of an array standing here.
    fn items(self) -> Self {
        match self {
            Self::ObjectItems => Self::Object,
            Self::Gerentes => Self::Gerente,
            _ => Self::Any,
        }
    }

    /// Whether anything but an object here is misplaced. `null` is misplaced only where
    /// it cannot mean "absent".
    fn wants_object(self, null: bool) -> bool {
        match self {
            Self::Line | Self::Gerente | Self::Object => true,
            Self::Data | Self::ObjectOrNull => !null,
            Self::Any | Self::ObjectItems | Self::Gerentes => false,
        }
    }

    /// Whether the path to a value here must be kept (for a misplaced value's report).
    fn tracked(self) -> bool {
        self != Self::Any
    }
}

/// The JSON kind of a value, as reports name it ("found an array").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    pub(crate) fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Boolean,
            Value::Number(_) => Self::Number,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Array,
            Value::Object(_) => Self::Object,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Null => "null",
            Self::Boolean => "a boolean",
            Self::Number => "a number",
            Self::String => "a string",
            Self::Array => "an array",
            Self::Object => "an object",
        })
    }
}

/// A value of another kind where an object belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Misplaced {
    /// Its dotted path (`data.gerentes[1].telefones`; `""` for the line itself).
    pub(crate) path: String,
    /// What was there instead.
    pub(crate) found: Kind,
}

/// What a scan found besides syntax: the values of the wrong kind, in document order.
#[derive(Debug, Default)]
struct Findings {
    path: String,
    misplaced: Vec<Misplaced>,
}

/// A scanned document: its `Value` when one was asked for, and what was misplaced.
#[derive(Debug)]
pub(crate) struct Scanned {
    pub(crate) value: Option<Value>,
    pub(crate) misplaced: Vec<Misplaced>,
}

/// Scans `text` as one JSON document of `shape`, refusing repeated members at any
/// depth, and builds its `Value` when `build` is set.
///
/// serde_json's recursion limit (128) still applies, so deep nesting is an error,
/// never a stack overflow.
pub(crate) fn scan(text: &str, shape: Shape, build: bool) -> Result<Scanned, serde_json::Error> {
    // From a `str`, serde_json does not check each string's UTF-8 again.
    scan_with(serde_json::Deserializer::from_str(text), shape, build)
}

fn scan_with<'de, R: serde_json::de::Read<'de>>(
    mut deserializer: serde_json::Deserializer<R>,
    shape: Shape,
    build: bool,
) -> Result<Scanned, serde_json::Error> {
    let mut findings = Findings::default();
    let value = Scan {
        shape,
        build,
        findings: &mut findings,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(Scanned {
        value,
        misplaced: findings.misplaced,
    })
}

/// One JSON document as a `Value`, refusing repeated members at any depth.
pub(crate) fn from_slice_unique(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let scanned = scan_with(
        serde_json::Deserializer::from_slice(bytes),
        Shape::Any,
        true,
    )?;
    Ok(scanned.value.unwrap_or(Value::Null))
}

/// A `Value` from any deserializer, refusing repeated members at any depth: the same
/// rule as [`from_slice_unique`], for `Deserialize` impls.
pub(crate) fn deserialize_unique<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Value, D::Error> {
    let scanned = deserialize_scanned(deserializer, Shape::Any)?;
    Ok(scanned.value.unwrap_or(Value::Null))
}

/// What [`scan`] finds and builds, from any deserializer: for `Deserialize` impls.
pub(crate) fn deserialize_scanned<'de, D: Deserializer<'de>>(
    deserializer: D,
    shape: Shape,
) -> Result<Scanned, D::Error> {
    let mut findings = Findings::default();
    let value = Scan {
        shape,
        build: true,
        findings: &mut findings,
    }
    .deserialize(deserializer)?;
    Ok(Scanned {
        value,
        misplaced: findings.misplaced,
    })
}

/// The scanning seed: checks (and with `build`, builds) one value standing at `shape`.
struct Scan<'f> {
    shape: Shape,
    build: bool,
    findings: &'f mut Findings,
}

impl Scan<'_> {
    fn child(&mut self, shape: Shape) -> Scan<'_> {
        Scan {
            shape,
            build: self.build,
            findings: self.findings,
        }
    }

    /// Records a value of `kind` standing here, if it is misplaced.
    fn saw(&mut self, kind: Kind) {
        if kind != Kind::Object && self.shape.wants_object(kind == Kind::Null) {
            self.findings.misplaced.push(Misplaced {
                path: self.findings.path.clone(),
                found: kind,
            });
        }
    }

    fn scalar<E>(mut self, kind: Kind, value: impl FnOnce() -> Value) -> Result<Option<Value>, E> {
        self.saw(kind);
        Ok(self.build.then(value))
    }

    /// Runs `inner` with `step` appended to the path, when paths matter here.
    fn at<T>(
        &mut self,
        shape: Shape,
        step: fmt::Arguments<'_>,
        inner: impl FnOnce(Scan<'_>) -> T,
    ) -> T {
        if !shape.tracked() {
            return inner(self.child(shape));
        }
        let len = self.findings.path.len();
        fmt::Write::write_fmt(&mut self.findings.path, step).expect("writing to a String");
        let result = inner(self.child(shape));
        self.findings.path.truncate(len);
        result
    }
}

impl<'de> DeserializeSeed<'de> for Scan<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scan<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        self.scalar(Kind::Boolean, || Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        self.scalar(Kind::Number, || Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        self.scalar(Kind::Number, || Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        self.scalar(Kind::Number, || Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        self.scalar(Kind::String, || Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        self.scalar(Kind::String, || Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        self.scalar(Kind::Null, || Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Self::Value, A::Error> {
        self.saw(Kind::Array);
        let item_shape = self.shape.items();
        let mut items = Vec::new();
        let mut index = 0usize;
        loop {
            let next = self.at(item_shape, format_args!("[{index}]"), |item| {
                seq.next_element_seed(item)
            })?;
            let Some(item) = next else { break };
            index += 1;
            if let Some(item) = item {
                items.push(item);
            }
        }
        Ok(self.build.then_some(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Records have a few dozen members at most: a linear search beats hashing.
        let mut seen: Vec<Cow<'de, str>> = Vec::with_capacity(16);
        let mut members = Map::new();
        // One manager given as an object (not in an array) is a manager.
        let shape = match self.shape {
            Shape::Gerentes => Shape::Gerente,
            other => other,
        };
        let mut this = self;
        while let Some(Key(key)) = map.next_key()? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format_args!(
                    "member {key:?} is given twice"
                )));
            }
            let member_shape = shape.member(&key);
            let dot = if this.findings.path.is_empty() {
                ""
            } else {
                "."
            };
            let value = this.at(member_shape, format_args!("{dot}{key}"), |member| {
                map.next_value_seed(member)
            })?;
            if let Some(value) = value {
                members.insert(key.clone().into_owned(), value);
            }
            seen.push(key);
        }
        Ok(this.build.then_some(Value::Object(members)))
    }
}

/// A member name, borrowed from the document unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_member_is_an_error_at_any_depth() {
        let top = from_slice_unique(br#"{"a": 1, "a": 2}"#).unwrap_err();
        assert!(
            top.to_string().contains(r#"member "a" is given twice"#),
            "{top}"
        );
        let nested = from_slice_unique(br#"{"x": [{"b": 1, "b": 1}]}"#).unwrap_err();
        assert!(
            nested.to_string().contains(r#"member "b" is given twice"#),
            "{nested}"
        );
        let escaped = from_slice_unique(br#"{"ab": 1, "a\u0062": 2}"#).unwrap_err();
        assert!(escaped.to_string().contains("given twice"), "{escaped}");
    }

    #[test]
    fn distinct_members_and_trailing_whitespace_parse() {
        let value = from_slice_unique(b"{\"a\": [1, 2.5, null, true, \"s\"]}\r\n").unwrap();
        assert_eq!(value, serde_json::json!({"a": [1, 2.5, null, true, "s"]}));
    }

    #[test]
    fn trailing_content_is_an_error() {
        assert!(from_slice_unique(b"{} {}").is_err());
    }

    fn misplaced(line: &str) -> Vec<(String, Kind)> {
        scan(line, Shape::Line, false)
            .unwrap()
            .misplaced
            .into_iter()
            .map(|m| (m.path, m.found))
            .collect()
    }

    #[test]
    fn objects_are_expected_where_the_import_format_says_objects() {
        assert_eq!(misplaced("[]"), [(String::new(), Kind::Array)]);
        assert_eq!(misplaced(r#"{"data": 1}"#), [("data".into(), Kind::Number)]);
        assert!(misplaced(r#"{"data": null}"#).is_empty());
        assert_eq!(
            misplaced(r#"{"data": {"emails": [{}, []], "telefones": [null]}}"#),
            [
                ("data.emails[1]".into(), Kind::Array),
                ("data.telefones[0]".into(), Kind::Null)
            ]
        );
        assert_eq!(
            misplaced(r#"{"data": {"gerentes": [{"telefones": []}, 1, {"telefones": null}]}}"#),
            [
                ("data.gerentes[0].telefones".into(), Kind::Array),
                ("data.gerentes[1]".into(), Kind::Number)
            ]
        );
        assert_eq!(
            misplaced(r#"{"data": {"gerentes": {"telefones": "x"}}}"#),
            [("data.gerentes.telefones".into(), Kind::String)]
        );
        assert!(misplaced(r#"{"data": {"gerentes": null, "emails": "x", "x": [[1]]}}"#).is_empty());
    }
}
