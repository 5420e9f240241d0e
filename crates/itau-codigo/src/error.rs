//! Field-level validation errors, ready to become the `errors[]` of a problem body or a
//! line of an import report; and [`UnknownValue`], what the crate's open enums keep of a
//! value a newer service sends.

use std::fmt;

use schemars::{JsonSchema, Schema, json_schema};
use serde::{Deserialize, Deserializer, Serialize, de};
use serde_json::{Value, json};

/// A value of [`FieldErrorCode`] or [`ProblemType`](crate::ProblemType) that this
/// version of the crate does not know, kept as it was received.
///
/// The service may add field error codes and problem types in a minor version: a client
/// built with an older crate still reads the answer, and can log or show the value.
/// Only deserialisation makes one, and never from a value the crate knows, so a known
/// value always compares equal to its own variant.
///
/// ```
/// use itau_codigo::FieldErrorCode;
///
/// let code: FieldErrorCode = serde_json::from_str(r#""too_short""#)?;
/// let FieldErrorCode::Unknown(value) = &code else { panic!("a code this crate knows") };
/// assert_eq!(value.as_str(), "too_short");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownValue(Box<str>);

impl UnknownValue {
    /// Keeps `value`, which the caller has found to be no known value.
    pub(crate) fn new(value: &str) -> Self {
        Self(value.into())
    }

    /// The value as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The table of an open enum's known values: writes the enum (with its `Unknown`
/// variant), its wire text both ways, serde and the schema, which lists the known
/// values only (what this version sends) exactly as schemars derives a unit enum.
macro_rules! open_enum {
    (
        $(#[$attr:meta])*
        pub enum $name:ident, schema $description:literal, unknown $unknown_doc:literal {
            $($variant:ident => ($wire:literal, $doc:expr),)*
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $(
                #[doc = $doc]
                $variant,
            )*
            #[doc = $unknown_doc]
            Unknown($crate::error::UnknownValue),
        }

        impl $name {
            /// Every value this version of the crate knows, in the order of its table.
            pub const ALL: &'static [$name] = &[$(Self::$variant),*];

            /// The value as it appears on the wire; an unknown one as received.
            fn wire(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Unknown(value) => value.as_str(),
                }
            }

            /// The variant that `wire` names, or `Unknown` keeping it.
            fn from_wire(wire: &str) -> Self {
                match wire {
                    $($wire => Self::$variant,)*
                    other => Self::Unknown($crate::error::UnknownValue::new(other)),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.wire())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::error::deserialize_open(deserializer, Self::from_wire)
            }
        }

        impl ::schemars::JsonSchema for $name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn schema_id() -> ::std::borrow::Cow<'static, str> {
                concat!(module_path!(), "::", stringify!($name)).into()
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                $crate::error::one_of_strings($description, &[$(($wire, $doc)),*])
            }
        }
    };
}
pub(crate) use open_enum;

/// Reads a string and hands it to `from_wire`, which knows it or keeps it as unknown.
pub(crate) fn deserialize_open<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    from_wire: fn(&str) -> T,
) -> Result<T, D::Error> {
    struct Open<T>(fn(&str) -> T);

    impl<T> de::Visitor<'_> for Open<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
            Ok((self.0)(value))
        }
    }

    deserializer.deserialize_str(Open(from_wire))
}

/// What schemars derives for an enum of unit variants: one `const` string per value,
/// each with its description.
pub(crate) fn one_of_strings(description: &str, values: &[(&str, &str)]) -> Schema {
    let one_of: Vec<Value> = values
        .iter()
        .map(|(value, doc)| json!({"type": "string", "const": value, "description": doc}))
        .collect();
    json_schema!({"oneOf": one_of, "description": description})
}

open_enum! {
    /// Stable machine-readable code of a field error.
    ///
    /// The API uses the first six; the others come from checking import records.
    ///
    /// The service may add codes in a minor version: a code this version does not know
    /// deserialises to [`FieldErrorCode::Unknown`], which keeps it, instead of failing.
    /// The schemas list the known codes only.
    pub enum FieldErrorCode,
    schema "Stable machine-readable code of a field error.\n\nThe API uses the first six; the others come from checking import records. A minor version may add codes: accept one not listed here (show its `message`).",
    unknown "A code this version of the crate does not know (a newer service's), as received." {
        Required => ("required", "Missing or `null`."),
        InvalidType => ("invalid_type", "Not a string (or, for the body, not an object)."),
        Length => ("length", "`codigo_conta` is not 18 characters long."),
        NotDigits => ("not_digits", "A character that is not a digit 0-9 where only digits are allowed."),
        DacMismatch => ("dac_mismatch", "The account code's DAC (check digit) does not match agência and conta."),
        TooLong => ("too_long", "Longer than the member's `maxLength` allows (counted in Unicode scalar values)."),
        InvalidEmail => ("invalid_email", "Not an e-mail address."),
        InvalidDate => ("invalid_date", "Not an ISO 8601 date (or date-time where one is allowed)."),
        InvalidCpfCnpj => ("invalid_cpf_cnpj", "A CPF/CNPJ with a wrong length, character or check digits."),
        InvalidTipoPessoa => ("invalid_tipo_pessoa", "`tipo_pessoa` is not `F`, `J` or `\"\"`."),
        TipoPessoaMismatch => ("tipo_pessoa_mismatch", "`tipo_pessoa` contradicts the kind of `cpf_cnpj` (F needs a CPF, J a CNPJ)."),
        MalformedJson => ("malformed_json", "The line is not one JSON document, or repeats a member."),
    }
}

impl FieldErrorCode {
    /// The code as it appears on the wire (`dac_mismatch`); an unknown code as received.
    pub fn as_str(&self) -> &str {
        self.wire()
    }
}

impl fmt::Display for FieldErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failing field: where, which rule, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "Field error")]
pub struct FieldError {
    /// The member's dotted path as sent (`codigo_conta`, `data.gerentes[1].telefones.ddd`);
    /// `""` for the document itself.
    pub field: String,
    /// Stable machine-readable code.
    pub code: FieldErrorCode,
    /// What was expected and what was found, for people.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, code: FieldErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = if self.field.is_empty() {
            "(document)"
        } else {
            &self.field
        };
        write!(f, "{field}: {}: {}", self.code, self.message)
    }
}
