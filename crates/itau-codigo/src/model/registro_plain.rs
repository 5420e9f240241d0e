//! The fast way to read an import line that has nothing unusual about it.
//!
//! `RegistroCliente::from_json_line` reads a line into a `serde_json::Value` first, so
//! that it can refuse a member given twice at any depth, find arrays where objects
//! belong, and name every failing member. That costs an allocation per key and value
//! and a second pass from the `Value` into the types: two thirds of the import's CPU.
//! A line of an export is almost always plain, so this module tries a cheaper road:
//! one pass over the bytes that only checks the line's shape (no member twice,
//! objects where objects belong) and allocates nothing, then serde straight from the
//! bytes into the types. Anything the shape pass or serde does not like returns
//! `None`, and the caller takes the precise road, which decides what the errors are.
//! Both roads accept the same lines and build the same record: the plain road only
//! takes lines on which nothing the precise road checks can differ.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::registro::DadosRegistro;
use crate::CodigoConta;

/// The line's account code and data when the line is plain and both parse; `None`
/// sends the caller down the precise road (which may still accept the line).
pub(crate) fn read(line: &str) -> Option<(CodigoConta, DadosRegistro)> {
    let mut scan = serde_json::Deserializer::from_str(line);
    Shape::Line.deserialize(&mut scan).ok()?;
    scan.end().ok()?;
    let plain: Plain<'_> = serde_json::from_str(line).ok()?;
    let codigo_conta = plain.codigo_conta?.parse().ok()?;
    Some((codigo_conta, plain.data?))
}

#[derive(Deserialize)]
struct Plain<'a> {
    #[serde(borrow)]
    codigo_conta: Option<Cow<'a, str>>,
    data: Option<DadosRegistro>,
}

/// What a value must look like where it stands (the precise road's type checks on
/// positions serde would otherwise read positionally: arrays where objects belong).
#[derive(Clone, Copy)]
enum Shape {
    /// The whole line: an object whose `data` is [`Shape::Data`].
    Line,
    /// `data`: an object; its `emails` and `telefones` items are objects, and so are
    /// its managers and their `telefones`.
    Data,
    /// `emails` or `telefones` of `data`: when an array, of objects.
    ObjectItems,
    /// `gerentes`: an object or an array of objects, each a [`Shape::Gerente`].
    Gerentes,
    /// One manager: an object whose `telefones`, when present and not null, is an object.
    Gerente,
    /// A manager's `telefones`: an object or null.
    ObjectOrNull,
    /// Anything, as long as no object in it repeats a member.
    Any,
}

/// Why a line is not plain; the precise road finds the real errors.
#[derive(Debug)]
struct NotPlain;

impl fmt::Display for NotPlain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a plain line")
    }
}

impl<'de> DeserializeSeed<'de> for Shape {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
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

    /// How the items of an array must look here, and whether each must be an object;
    /// `None` where no array belongs.
    fn items(self) -> Option<(Self, bool)> {
        match self {
            Self::ObjectItems => Some((Self::Any, true)),
            Self::Gerentes => Some((Self::Gerente, true)),
            Self::Any => Some((Self::Any, false)),
            _ => None,
        }
    }

    fn must_be_object(self) -> bool {
        matches!(self, Self::Line | Self::Data | Self::Gerente)
    }

    fn scalar<E: de::Error>(self) -> Result<(), E> {
        if self.must_be_object() {
            Err(E::custom(NotPlain))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Shape {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((item, object)) = self.items() else {
            return Err(de::Error::custom(NotPlain));
        };
        if object {
            while seq.next_element_seed(Object(item))?.is_some() {}
        } else {
            while seq.next_element_seed(item)?.is_some() {}
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Records have a few dozen members at most: a linear search beats hashing.
        let mut seen: Vec<Cow<'de, str>> = Vec::with_capacity(16);
        while let Some(Key(key)) = map.next_key()? {
            if seen.contains(&key) {
                return Err(de::Error::custom(NotPlain));
            }
            let shape = match self {
                // A manager given as one object is a manager.
                Self::Gerentes => Self::Gerente,
                other => other,
            }
            .member(&key);
            map.next_value_seed(shape)?;
            seen.push(key);
        }
        Ok(())
    }
}

/// An array item that must be an object.
struct Object(Shape);

impl<'de> DeserializeSeed<'de> for Object {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Object {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.visit_map(map)
    }
}

/// A member name, borrowed from the line unless it holds escapes.
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
    use crate::RegistroCliente;

    const DEMO: &str = include_str!("../../../itau-codigo-server/demo/clientes.jsonl");

    /// The plain road, then validation, as `from_json_line` does.
    fn plain(line: &str) -> Option<Result<RegistroCliente, Vec<crate::FieldError>>> {
        let (codigo_conta, data) = read(line)?;
        let registro = RegistroCliente { codigo_conta, data };
        Some(registro.validate_fields().map(|()| registro))
    }

    #[test]
    fn every_demo_line_is_plain_and_reads_as_the_precise_road_reads_it() {
        for line in DEMO.lines() {
            let plain = plain(line).unwrap_or_else(|| panic!("not plain: {line}"));
            assert_eq!(
                plain,
                RegistroCliente::from_json_line_precise(line),
                "{line}"
            );
        }
    }

    #[test]
    fn unusual_lines_take_the_precise_road_or_read_the_same() {
        let code = r#""codigo_conta": "001341150100098790""#;
        let lines = [
            // Plain: unknown members, nulls, one manager as an object, escaped names.
            format!(
                r#"{{{code}, "x": [1, {{"y": 2}}], "data": {{"nome_completo": null, "gerentes": {{"tipo_estrutura": "AP", "telefones": null}}}}}}"#
            ),
            format!(
                r#"{{{code}, "data": {{"nome\u005fcompleto": "Ana", "emails": [], "gerentes": []}}}}"#
            ),
            format!(r#"{{{code}, "data": {{"gerentes": null, "telefones": null}}}}"#),
            // Not plain: repeated members at any depth, arrays where objects belong.
            format!(r#"{{{code}, {code}, "data": {{}}}}"#),
            format!(r#"{{{code}, "data": {{"x": {{"a": 1, "a": 2}}}}}}"#),
            format!(r#"{{{code}, "data": {{"nome_completo": "A", "nome\u005fcompleto": "B"}}}}"#),
            format!(r#"{{{code}, "data": {{"telefones": [[]]}}}}"#),
            format!(r#"{{{code}, "data": {{"emails": [null]}}}}"#),
            format!(r#"{{{code}, "data": {{"gerentes": [{{"telefones": []}}]}}}}"#),
            format!(r#"{{{code}, "data": {{"gerentes": {{"telefones": [1]}}}}}}"#),
            format!(r#"{{{code}, "data": {{"gerentes": [1]}}}}"#),
            format!(r#"{{{code}, "data": []}}"#),
            format!(r#"{{{code}, "data": null}}"#),
            format!(r#"{{{code}}}"#),
            r#"{"codigo_conta": "001341150100098791", "data": {}}"#.to_owned(),
            r#"{"codigo_conta": 1, "data": {}}"#.to_owned(),
            r#"{"data": {}}"#.to_owned(),
            r#"[]"#.to_owned(),
            format!(r#"{{{code}, "data": {{}}}} trailing"#),
            format!(r#"{{{code}, "data": {{"cpf_cnpj": "52998224726", "nome_completo": 7}}}}"#),
            format!(r#"{{{code}, "data": {{"cpf_cnpj": "52998224726", "tipo_pessoa": "J"}}}}"#),
        ];
        for line in &lines {
            let precise = RegistroCliente::from_json_line_precise(line);
            match plain(line) {
                Some(plain) => assert_eq!(plain, precise, "{line}"),
                None => assert_eq!(RegistroCliente::from_json_line(line), precise, "{line}"),
            }
        }
        assert!(read(&lines[0]).is_some() && read(&lines[1]).is_some());
        assert!(lines[3..].iter().take(8).all(|line| read(line).is_none()));
    }
}
