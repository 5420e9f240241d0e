//! Field-level validation errors, ready to become the `errors[]` of a problem body or a
//! line of an import report.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Stable machine-readable code of a field error.
///
/// The API uses the first six; the others come from checking import records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FieldErrorCode {
    /// Missing or `null`.
    Required,
    /// Not a string (or, for the body, not an object).
    InvalidType,
    /// `codigo_conta` is not 18 characters long.
    Length,
    /// A character that is not a digit 0-9 where only digits are allowed.
    NotDigits,
    /// The account code's DAC (check digit) does not match agência and conta.
    DacMismatch,
    /// Longer than the member's `maxLength` allows (counted in Unicode scalar values).
    TooLong,
    /// Not an e-mail address.
    InvalidEmail,
    /// Not an ISO 8601 date (or date-time where one is allowed).
    InvalidDate,
    /// A CPF/CNPJ with a wrong length, character or check digits.
    InvalidCpfCnpj,
    /// `tipo_pessoa` is not `F`, `J` or `""`.
    InvalidTipoPessoa,
    /// `tipo_pessoa` contradicts the kind of `cpf_cnpj` (F needs a CPF, J a CNPJ).
    TipoPessoaMismatch,
    /// The line is not one JSON document, or repeats a member.
    MalformedJson,
}

impl FieldErrorCode {
    /// The code as it appears on the wire (`dac_mismatch`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::InvalidType => "invalid_type",
            Self::Length => "length",
            Self::NotDigits => "not_digits",
            Self::DacMismatch => "dac_mismatch",
            Self::TooLong => "too_long",
            Self::InvalidEmail => "invalid_email",
            Self::InvalidDate => "invalid_date",
            Self::InvalidCpfCnpj => "invalid_cpf_cnpj",
            Self::InvalidTipoPessoa => "invalid_tipo_pessoa",
            Self::TipoPessoaMismatch => "tipo_pessoa_mismatch",
            Self::MalformedJson => "malformed_json",
        }
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
