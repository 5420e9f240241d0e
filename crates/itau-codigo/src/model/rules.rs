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
    if value.is_empty() || plain_email(value) || value.validate_email() {
        Ok(())
    } else {
        Err(refuse(
            FieldErrorCode::InvalidEmail,
            "expected an e-mail address or \"\"".into(),
        ))
    }
}

/// A sufficient test for validator's `validate_email`: the plain ASCII addresses that
/// its two regexes accept, checked without them. validator runs its domain regex on
/// the PikeVM, which made e-mail checks 11% of an import's CPU; an address this test
/// does not accept still goes to validator, which decides.
fn plain_email(value: &str) -> bool {
    const USER_SYMBOLS: &[u8] = b".!#$%&'*+/=?^_`{|}~-";
    let Some((user, domain)) = value.rsplit_once('@') else {
        return false;
    };
    let user_ok = (1..=64).contains(&user.len())
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || USER_SYMBOLS.contains(&b));
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        (1..=63).contains(&bytes.len())
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    };
    user_ok && domain.len() <= 255 && domain.split('.').all(label_ok)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_email_is_one_validator_accepts() {
        let cases = [
            "maria.silva@example.com",
            "a@b",
            "x+tag@sub-domain.example.com.br",
            "!def!xyz%abc@example.com",
            "a@-example.com",
            "a@example-.com",
            "a@example..com",
            "a@.example.com",
            "a@example.com.",
            "@example.com",
            "a@",
            "a b@example.com",
            "a@b@example.com",
            "jos\u{e9}@example.com",
            "josé@example.com",
            "a@exámple.com",
            "email@[127.0.0.1]",
            "email@[2001:dB8::1]",
        ];
        let long_user = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        let label_63 = format!("a@{}.com", "b".repeat(63));
        for case in cases.iter().copied().chain([
            long_user.as_str(),
            long_label.as_str(),
            label_63.as_str(),
        ]) {
            if plain_email(case) {
                assert!(case.validate_email(), "{case}");
            }
        }
        assert!(plain_email("maria.silva@example.com") && plain_email(&label_63));
        assert!(!plain_email("a@-example.com") && !plain_email(&long_user));
    }
}
