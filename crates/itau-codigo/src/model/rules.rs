//! Field rules shared by the validator attributes and the JSON Schema fragments, so
//! that what the schema says and what `validate()` checks come from one place.

use std::borrow::Cow;

use serde_json::{Value, json};
use validator::{ValidateEmail, ValidationError};

use crate::documento::validate_cpf_cnpj;
use crate::error::FieldErrorCode;
use crate::iso8601;

/// Longest string a stored record may hold, in characters.
pub(crate) const MAX_CHARS: u64 = 256;
/// Schema pattern of a phone part: digits only, possibly none.
pub(crate) const DIGITS_PATTERN: &str = "^[0-9]*$";
/// Schema pattern of `cpf_cnpj`: empty, a CPF, or a (numeric or alphanumeric) CNPJ.
/// The check digits are beyond a pattern; `validate()` checks them.
pub(crate) const CPF_CNPJ_PATTERN: &str = "^([0-9]{11}|[0-9A-Z]{12}[0-9]{2})?$";

fn refuse(code: FieldErrorCode, message: String) -> ValidationError {
    ValidationError::new(code.as_str()).with_message(Cow::Owned(message))
}

pub(crate) fn email_or_empty(value: &str) -> Result<(), ValidationError> {
    if value.is_empty() || value.validate_email() {
        Ok(())
    } else {
        Err(refuse(
            FieldErrorCode::InvalidEmail,
            "expected an e-mail address or \"\"".into(),
        ))
    }
}

pub(crate) fn date_or_empty(value: &str) -> Result<(), ValidationError> {
    if value.is_empty() || iso8601::is_date(value) {
        Ok(())
    } else {
        Err(refuse(
            FieldErrorCode::InvalidDate,
            "expected an ISO 8601 date YYYY-MM-DD or \"\"".into(),
        ))
    }
}

pub(crate) fn date_or_date_time_or_empty(value: &str) -> Result<(), ValidationError> {
    if value.is_empty() || iso8601::is_date_or_date_time(value) {
        Ok(())
    } else {
        Err(refuse(
            FieldErrorCode::InvalidDate,
            "expected an ISO 8601 date YYYY-MM-DD, a date-time with offset \
             YYYY-MM-DDTHH:MM:SS±HH:MM (or Z), or \"\""
                .into(),
        ))
    }
}

pub(crate) fn digits_only(value: &str) -> Result<(), ValidationError> {
    match value.chars().position(|c| !c.is_ascii_digit()) {
        None => Ok(()),
        Some(index) => Err(refuse(
            FieldErrorCode::NotDigits,
            format!(
                "expected digits only, found a non-digit at position {}",
                index + 1
            ),
        )),
    }
}

pub(crate) fn tipo_pessoa(value: &str) -> Result<(), ValidationError> {
    match value {
        "F" | "J" | "" => Ok(()),
        _ => Err(refuse(
            FieldErrorCode::InvalidTipoPessoa,
            "expected \"F\" (pessoa física), \"J\" (pessoa jurídica) or \"\"".into(),
        )),
    }
}

pub(crate) fn cpf_cnpj(value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Ok(());
    }
    validate_cpf_cnpj(value)
        .map(drop)
        .map_err(|e| refuse(FieldErrorCode::InvalidCpfCnpj, e.to_string()))
}

pub(crate) fn date_or_empty_schema() -> Value {
    json!([{"const": ""}, {"format": "date"}])
}

pub(crate) fn date_or_date_time_or_empty_schema() -> Value {
    json!([{"const": ""}, {"format": "date"}, {"format": "date-time"}])
}

pub(crate) fn email_or_empty_schema() -> Value {
    json!([{"const": ""}, {"format": "email"}])
}
