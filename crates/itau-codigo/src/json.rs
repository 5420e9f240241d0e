//! The one reader of our JSON documents' structure: no member given twice, at any
//! depth, and (in an import line) objects where the format says objects.
//!
//! `serde_json::Value` keeps the last of two equal keys without a word. A request that
//! says `codigo_conta` twice is ambiguous, and two systems reading it could disagree on
//! which account it meant, so the contract makes it a 400 (and a bad import line).
//! serde also reads a struct from an array (positionally), so `"telefones": []` would
//! pass as an empty phone where the format says an object.
//!
//! Both rules are written once: where objects belong is [`Shape`], and a member given
//! twice is [`Findings::add_member`]. Two readers apply them. [`Scan`] reads any
//! document, builds its `Value` when asked and records every misplaced value with its
//! path: the precise road of an import line and the request parser take it.
//! [`Typed`] wraps a deserializer so that a `Deserialize` type reads straight from the
//! bytes, in the same pass, and stops at the first misplaced value or repeated member:
//! the import's road for plain lines ([`from_str_typed`]), which leaves every report to
//! the precise road.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, StrDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
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

    /// The shape of an object standing here: one manager given as an object (not in an
    /// array) is a manager.
    fn object(self) -> Self {
        match self {
            Self::Gerentes => Self::Gerente,
            other => other,
        }
    }

    /// Whether a value of `kind` is misplaced here: anything but an object where an
    /// object belongs, `null` only where it cannot mean "absent".
    fn misplaces(self, kind: Kind) -> bool {
        let wants_object = match self {
            Self::Line | Self::Gerente | Self::Object => true,
            Self::Data | Self::ObjectOrNull => kind != Kind::Null,
            Self::Any | Self::ObjectItems | Self::Gerentes => false,
        };
        wants_object && kind != Kind::Object
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

/// What a reading keeps as it goes: the members of every object still open, the path to
/// the value being read and (for [`Scan`]) the values of the wrong kind, in document
/// order.
#[derive(Debug, Default)]
struct Findings<'de> {
    /// The members read so far of each open object, the innermost object's last: one
    /// buffer for the whole document, not one per object.
    members: Vec<Cow<'de, str>>,
    path: String,
    misplaced: Vec<Misplaced>,
}

impl<'de> Findings<'de> {
    /// Adds `key` to the members of the innermost open object, whose first member is at
    /// `first` in [`Findings::members`]; refuses a member given twice. Records have a
    /// few dozen members at most: a linear search beats hashing.
    fn add_member<E: de::Error>(&mut self, first: usize, key: Cow<'de, str>) -> Result<(), E> {
        if self.members[first..].contains(&key) {
            return Err(E::custom(format_args!("member {key:?} is given twice")));
        }
        self.members.push(key);
        Ok(())
    }
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
struct Scan<'f, 'de> {
    shape: Shape,
    build: bool,
    findings: &'f mut Findings<'de>,
}

impl<'de> Scan<'_, 'de> {
    fn child(&mut self, shape: Shape) -> Scan<'_, 'de> {
        Scan {
            shape,
            build: self.build,
            findings: self.findings,
        }
    }

    /// Records a value of `kind` standing here, if it is misplaced.
    fn saw(&mut self, kind: Kind) {
        if self.shape.misplaces(kind) {
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
        inner: impl FnOnce(Scan<'_, 'de>) -> T,
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

impl<'de> DeserializeSeed<'de> for Scan<'_, 'de> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scan<'_, 'de> {
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
        let mut members = Map::new();
        let shape = self.shape.object();
        let mut this = self;
        let first = this.findings.members.len();
        while let Some(Key(key)) = map.next_key()? {
            let member_shape = shape.member(&key);
            this.findings.add_member(first, key.clone())?;
            let dot = if this.findings.path.is_empty() {
                ""
            } else {
                "."
            };
            let value = this.at(member_shape, format_args!("{dot}{key}"), |member| {
                map.next_value_seed(member)
            })?;
            if let Some(value) = value {
                members.insert(key.into_owned(), value);
            }
        }
        this.findings.members.truncate(first);
        Ok(this.build.then_some(Value::Object(members)))
    }
}

/// Reads a `T` of `shape` straight from `text`, in one pass that applies [`Scan`]'s
/// rules as it goes: the first repeated member (at any depth, unknown members
/// included) or misplaced value is an error, as is anything `T` refuses. The error
/// says nothing useful: a caller that reports errors reads the text again with
/// [`scan`], which names them.
pub(crate) fn from_str_typed<'de, T: Deserialize<'de>>(
    text: &'de str,
    shape: Shape,
) -> Result<T, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let mut findings = Findings {
        // Room for the members of a record's open objects (the line's, its data's and
        // an item's): one allocation, not one per doubling.
        members: Vec::with_capacity(32),
        ..Findings::default()
    };
    let value = T::deserialize(Typed {
        inner: &mut deserializer,
        shape,
        findings: &mut findings,
    })?;
    deserializer.end()?;
    Ok(value)
}

/// A deserializer that hands `inner`'s values on to a `Deserialize` type, refusing a
/// repeated member or a misplaced value where it meets it. Members the type ignores
/// are read by [`Scan`] (which builds nothing), so that the rules reach into them too.
struct Typed<'f, 'de, D> {
    inner: D,
    shape: Shape,
    findings: &'f mut Findings<'de>,
}

impl<'f, 'de, D> Typed<'f, 'de, D> {
    /// `inner` and `visitor` wrapped so that what `inner` finds goes through the rules.
    fn split<V>(self, visitor: V) -> (D, TypedVisitor<'f, 'de, V>) {
        let visitor = TypedVisitor {
            visitor,
            shape: self.shape,
            findings: self.findings,
        };
        (self.inner, visitor)
    }
}

/// Forwards `Deserializer` methods to the wrapped deserializer with the wrapped visitor.
macro_rules! forward_typed {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            let (inner, visitor) = self.split(visitor);
            inner.$method($($arg,)* visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Typed<'_, 'de, D> {
    type Error = D::Error;

    forward_typed! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
    }

    /// A member the type does not know: read by [`Scan`], building nothing.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        Scan {
            shape: self.shape,
            build: false,
            findings: &mut *self.findings,
        }
        .deserialize(self.inner)?;
        if !self.findings.misplaced.is_empty() {
            return Err(de::Error::custom("a misplaced value"));
        }
        visitor.visit_unit()
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// The type's visitor, with the rules applied to each value before it sees it.
struct TypedVisitor<'f, 'de, V> {
    visitor: V,
    shape: Shape,
    findings: &'f mut Findings<'de>,
}

impl<V> TypedVisitor<'_, '_, V> {
    fn saw<E: de::Error>(&self, kind: Kind) -> Result<(), E> {
        if self.shape.misplaces(kind) {
            return Err(E::custom(format_args!("expected an object, found {kind}")));
        }
        Ok(())
    }
}

/// Forwards `Visitor` methods for values of one kind, after checking that the kind
/// belongs where the value stands.
macro_rules! visit_typed {
    ($($method:ident($ty:ty) => $kind:ident;)*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.saw(Kind::$kind)?;
            self.visitor.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for TypedVisitor<'_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    visit_typed! {
        visit_bool(bool) => Boolean;
        visit_i8(i8) => Number;
        visit_i16(i16) => Number;
        visit_i32(i32) => Number;
        visit_i64(i64) => Number;
        visit_i128(i128) => Number;
        visit_u8(u8) => Number;
        visit_u16(u16) => Number;
        visit_u32(u32) => Number;
        visit_u64(u64) => Number;
        visit_u128(u128) => Number;
        visit_f32(f32) => Number;
        visit_f64(f64) => Number;
        visit_char(char) => String;
        visit_str(&str) => String;
        visit_borrowed_str(&'de str) => String;
        visit_string(String) => String;
        visit_bytes(&[u8]) => String;
        visit_borrowed_bytes(&'de [u8]) => String;
        visit_byte_buf(Vec<u8>) => String;
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.saw(Kind::Null)?;
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.saw(Kind::Null)?;
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.visitor.visit_some(Typed {
            inner: deserializer,
            shape: self.shape,
            findings: self.findings,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        self.visitor.visit_newtype_struct(Typed {
            inner: deserializer,
            shape: self.shape,
            findings: self.findings,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.saw(Kind::Array)?;
        self.visitor.visit_seq(TypedSeq {
            inner: seq,
            items: self.shape.items(),
            findings: self.findings,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let first = self.findings.members.len();
        let value = self.visitor.visit_map(TypedMap {
            inner: map,
            shape: self.shape.object(),
            value: Shape::Any,
            first,
            findings: &mut *self.findings,
        })?;
        self.findings.members.truncate(first);
        Ok(value)
    }

    /// No member of an import line is an enum: this road leaves one to the precise road.
    fn visit_enum<A: EnumAccess<'de>>(self, _data: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom("an enum is not read on this road"))
    }
}

/// An array's items, each read through the rules at the items' shape.
struct TypedSeq<'f, 'de, A> {
    inner: A,
    items: Shape,
    findings: &'f mut Findings<'de>,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for TypedSeq<'_, 'de, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.inner.next_element_seed(TypedSeed {
            seed,
            shape: self.items,
            findings: &mut *self.findings,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// An object's members: each name checked against the object's others, each value read
/// through the rules at the member's shape.
struct TypedMap<'f, 'de, A> {
    inner: A,
    /// The object's shape.
    shape: Shape,
    /// The shape of the value of the member whose name was read last.
    value: Shape,
    /// Where this object's members start in [`Findings::members`].
    first: usize,
    findings: &'f mut Findings<'de>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for TypedMap<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(Key(key)) = self.inner.next_key()? else {
            return Ok(None);
        };
        self.value = self.shape.member(&key);
        self.findings.add_member(self.first, key)?;
        match self.findings.members.last().expect("just added") {
            Cow::Borrowed(key) => seed.deserialize(BorrowedStrDeserializer::new(key)),
            Cow::Owned(key) => seed.deserialize(StrDeserializer::new(key.as_str())),
        }
        .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(TypedSeed {
            seed,
            shape: self.value,
            findings: &mut *self.findings,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// The type's seed for one value, with the value read through the rules at `shape`.
struct TypedSeed<'f, 'de, S> {
    seed: S,
    shape: Shape,
    findings: &'f mut Findings<'de>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for TypedSeed<'_, 'de, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Typed {
            inner: deserializer,
            shape: self.shape,
            findings: self.findings,
        })
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
