//! JSON parsing that refuses a member given twice.
//!
//! `serde_json::Value` keeps the last of two equal keys without a word. A request that
//! says `codigo_conta` twice is ambiguous, and two systems reading it could disagree on
//! which account it meant, so the contract makes it a 400 (and a bad import line).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `bytes` as one JSON document, refusing repeated object members at any depth.
///
/// serde_json's recursion limit (128) still applies, so deep nesting is an error,
/// never a stack overflow.
pub(crate) fn from_slice_unique(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = UniqueValue.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

struct UniqueValue;

impl<'de> DeserializeSeed<'de> for UniqueValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(UniqueValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "member {key:?} is given twice"
                )));
            }
            let value = map.next_value_seed(UniqueValue)?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
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
}
