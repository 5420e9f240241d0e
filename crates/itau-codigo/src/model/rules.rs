//! Every field rule, written once: what it accepts (the check behind an import's
//! report) and what the schemas say about it (the fragment merged into the field's
//! schema). Each wire struct lists its fields with their rules in one [`fields!`] table,
//! which also says which fields `Debug` may show.

use std::fmt;

use schemars::Schema;
use serde_json::{Value, json};
use validator::ValidateEmail;

use crate::documento::validate_cpf_cnpj;
use crate::error::{FieldError, FieldErrorCode};
use crate::iso8601;

/// Longest string a stored record may hold, in characters (Unicode scalar values).
pub const MAX_CHARS: usize = 256;
/// Schema pattern of a phone part: digits only, possibly none.
pub(crate) const DIGITS_PATTERN: &str = "^[0-9]*$";
/// Schema pattern of `cpf_cnpj`: empty, a CPF, or a (numeric or alphanumeric) CNPJ.
/// The check digits are beyond a pattern; the [`Texto::CpfCnpj`] rule checks them.
pub(crate) const CPF_CNPJ_PATTERN: &str = "^([0-9]{11}|[0-9A-Z]{12}[0-9]{2})?$";

/// Checks the field rules of a value: an import record ([`RegistroCliente`](crate::RegistroCliente))
/// and each of its parts implement it.
///
/// # Examples
///
/// ```
/// use itau_codigo::{FieldErrorCode, Telefone, Validate};
///
/// let telefone = Telefone { ddd: Some("1l".into()), ..Telefone::default() };
/// let errors = telefone.validate().unwrap_err();
/// assert_eq!((errors[0].field.as_str(), &errors[0].code), ("ddd", &FieldErrorCode::NotDigits));
/// ```
pub trait Validate {
    /// Records every rule of `self` that fails, at paths below `at`'s.
    fn check(&self, at: &mut Checker);

    /// Every failing rule, with its path (`gerentes[1].telefones.ddd`), sorted by path.
    ///
    /// # Errors
    ///
    /// The failing fields, when there is at least one.
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut at = Checker::under("");
        self.check(&mut at);
        at.finish()
    }
}

/// Where a [`Validate::check`] stands in the document, and what it has found so far.
#[derive(Debug)]
pub struct Checker {
    path: String,
    errors: Vec<FieldError>,
}

impl Checker {
    /// A check whose paths start with `prefix` (`data` for an import record's data).
    pub(crate) fn under(prefix: &str) -> Self {
        // Room for the deepest path of a record (`data.gerentes[1].telefones.numero`):
        // one allocation per check, not one per doubling.
        let mut path = String::with_capacity(64);
        path.push_str(prefix);
        Self {
            path,
            errors: Vec::new(),
        }
    }

    /// Runs `check` one member deeper.
    pub fn member(&mut self, name: &str, check: impl FnOnce(&mut Self)) {
        let len = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(name);
        check(self);
        self.path.truncate(len);
    }

    /// Runs `check` one array item deeper.
    pub fn item(&mut self, index: usize, check: impl FnOnce(&mut Self)) {
        let len = self.path.len();
        self.path.push('[');
        // Written by hand: `write!` goes through the formatting machinery for every
        // item of every record an import checks.
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = index;
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        for &digit in &digits[start..] {
            self.path.push(char::from(digit));
        }
        self.path.push(']');
        check(self);
        self.path.truncate(len);
    }

    /// Records a failure at the current path.
    pub fn refuse(&mut self, code: FieldErrorCode, message: impl Into<String>) {
        self.errors
            .push(FieldError::new(self.path.clone(), code, message));
    }

    /// The failures, sorted by path (`[10]` after `[9]`); the order of the failures of
    /// one field is the order they were found in.
    pub(crate) fn finish(mut self) -> Result<(), Vec<FieldError>> {
        self.errors
            .sort_by(|a, b| path_key(&a.field).cmp(&path_key(&b.field)));
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

/// Sort key that orders `[10]` after `[9]`.
fn path_key(path: &str) -> Vec<Result<u64, &str>> {
    path.split(['.', '[', ']'])
        .map(|part| part.parse::<u64>().map_err(|_| part))
        .collect()
}

impl<T: Validate> Validate for Vec<T> {
    fn check(&self, at: &mut Checker) {
        for (index, item) in self.iter().enumerate() {
            at.item(index, |at| item.check(at));
        }
    }
}

/// A rule for a field of type `T`, and the schema fragment that says it.
pub(crate) trait Rule<T> {
    /// Records at `at` why `value` breaks the rule.
    fn check(&self, value: &T, at: &mut Checker);
    /// What the field's schema gains from the rule (`maxLength`, `pattern`...).
    fn schema(&self) -> Option<Value>;
}

/// The rules of a string field. Absent (`None`) always passes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Texto {
    /// At most [`MAX_CHARS`] characters.
    Livre,
    /// At most [`MAX_CHARS`] ASCII digits, or `""`.
    Digitos,
    /// An e-mail address of at most [`MAX_CHARS`] characters, or `""`.
    Email,
    /// An ISO 8601 date `YYYY-MM-DD`, or `""`.
    Data,
    /// An ISO 8601 date, or a date-time with offset, or `""`.
    DataOuDataHora,
    /// A CPF or CNPJ with valid check digits, or `""`.
    CpfCnpj,
    /// `F`, `J` or `""`.
    TipoPessoa,
}

impl Rule<Option<String>> for Texto {
    fn check(&self, value: &Option<String>, at: &mut Checker) {
        let Some(value) = value.as_deref() else {
            return;
        };
        if !matches!(self, Self::CpfCnpj | Self::TipoPessoa) {
            max_chars(value, MAX_CHARS, at);
        }
        if value.is_empty() {
            return;
        }
        match self {
            Self::Livre => {}
            Self::Digitos => digits_only(value, at),
            Self::Email if !(plain_email(value) || value.validate_email()) => at.refuse(
                FieldErrorCode::InvalidEmail,
                "expected an e-mail address or \"\"",
            ),
            Self::Data if !iso8601::is_date(value) => at.refuse(
                FieldErrorCode::InvalidDate,
                "expected an ISO 8601 date YYYY-MM-DD or \"\"",
            ),
            Self::DataOuDataHora if !iso8601::is_date_or_date_time(value) => at.refuse(
                FieldErrorCode::InvalidDate,
                "expected an ISO 8601 date YYYY-MM-DD, a date-time with offset \
                 YYYY-MM-DDTHH:MM:SS±HH:MM (or Z), or \"\"",
            ),
            Self::CpfCnpj => {
                if let Err(error) = validate_cpf_cnpj(value) {
                    at.refuse(FieldErrorCode::InvalidCpfCnpj, error.to_string());
                }
            }
            Self::TipoPessoa if !matches!(value, "F" | "J") => at.refuse(
                FieldErrorCode::InvalidTipoPessoa,
                "expected \"F\" (pessoa física), \"J\" (pessoa jurídica) or \"\"",
            ),
            Self::Email | Self::Data | Self::DataOuDataHora | Self::TipoPessoa => {}
        }
    }

    fn schema(&self) -> Option<Value> {
        let empty_or = |formats: &[&str]| {
            let mut alternatives = vec![json!({"const": ""})];
            alternatives.extend(formats.iter().map(|f| json!({"format": f})));
            json!({"maxLength": MAX_CHARS, "anyOf": alternatives})
        };
        Some(match self {
            Self::Livre => json!({"maxLength": MAX_CHARS}),
            Self::Digitos => json!({"maxLength": MAX_CHARS, "pattern": DIGITS_PATTERN}),
            Self::Email => empty_or(&["email"]),
            Self::Data => empty_or(&["date"]),
            Self::DataOuDataHora => empty_or(&["date", "date-time"]),
            Self::CpfCnpj => json!({"pattern": CPF_CNPJ_PATTERN}),
            Self::TipoPessoa => json!({"enum": ["F", "J", ""]}),
        })
    }
}

/// The rule of a field holding other checked values: theirs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Aninhado;

impl<T: Validate> Rule<Option<T>> for Aninhado {
    fn check(&self, value: &Option<T>, at: &mut Checker) {
        if let Some(value) = value {
            value.check(at);
        }
    }

    fn schema(&self) -> Option<Value> {
        None
    }
}

/// Refuses a string of more than `max` characters (Unicode scalar values).
pub(crate) fn max_chars(value: &str, max: usize, at: &mut Checker) {
    if let Some(found) = chars_over(value, max) {
        at.refuse(FieldErrorCode::TooLong, too_long(max, found));
    }
}

/// How many characters (Unicode scalar values) `value` has, when that is more than
/// `max`: the one length rule of requests and records.
pub(crate) fn chars_over(value: &str, max: usize) -> Option<usize> {
    // A string of at most `max` bytes has at most `max` characters: no count needed.
    if value.len() <= max {
        return None;
    }
    Some(value.chars().count()).filter(|&found| found > max)
}

/// The message of a `too_long` refusal.
pub(crate) fn too_long(max: usize, found: usize) -> String {
    format!("expected at most {max} characters, found {found}")
}

fn digits_only(value: &str, at: &mut Checker) {
    if let Some(index) = value.chars().position(|c| !c.is_ascii_digit()) {
        at.refuse(
            FieldErrorCode::NotDigits,
            format!(
                "expected digits only, found a non-digit at position {}",
                index + 1
            ),
        );
    }
}

/// A sufficient test for validator's `validate_email`: the plain ASCII addresses that
/// its two regexes accept, checked without them. validator runs its domain regex on
/// the PikeVM, which is slow enough to show in an import's profile; an address this
/// test does not accept still goes to validator, which decides.
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

/// Merges a rule's schema `fragment` into the schema of `field`. Where the field may be
/// `null` (requests, records), an `enum` lists `null` too.
pub(crate) fn merge_into_property(schema: &mut Schema, field: &str, fragment: Option<Value>) {
    let Some(Value::Object(fragment)) = fragment else {
        return;
    };
    let Some(Value::Object(property)) = schema
        .get_mut("properties")
        .and_then(|properties| properties.get_mut(field))
    else {
        return;
    };
    let nullable = match property.get("type") {
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        _ => false,
    };
    for (key, mut value) in fragment {
        if let (true, "enum", Value::Array(values)) = (nullable, key.as_str(), &mut value) {
            values.push(Value::Null);
        }
        property.insert(key, value);
    }
}

/// `Debug` of a field a log may show.
pub(crate) fn show<T: fmt::Debug>(value: &T) -> &dyn fmt::Debug {
    value
}

/// `Debug` of a personal field: whether it is present, never what it holds (LGPD and
/// bank secrecy apply to anything that may end up in a log).
pub(crate) fn hide<T>(value: &Option<T>) -> Redacted {
    Redacted(value.is_some())
}

/// Writes `Some(<redacted>)` or `None`.
pub(crate) struct Redacted(bool);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "Some(<redacted>)" } else { "None" })
    }
}

/// The one table of a wire struct's fields: each with its rule and whether `Debug` may
/// show it. It writes the rule checks (`check_fields`), the schema transform that states
/// the rules (`state_rules`, for `#[schemars(transform = ...)]`) and the redacting
/// `Debug`. The table must name every field: a field left out does not compile.
///
/// For a struct generic over its `gerentes` shape, `map_gerentes` too (the shape field
/// is named after `maps`, since a macro cannot tell one field name from another).
macro_rules! fields {
    ($ty:ident<$param:ident: $bound:path> maps $shaped:ident { $($field:ident: $rule:expr => $debug:ident,)* }) => {
        impl<$param: $bound> $ty<$param> {
            /// These data in another shape, `gerentes` mapped by `map`.
            fn map_gerentes<N: $bound>(
                self,
                map: impl FnOnce(Option<$param::Gerentes>) -> Option<N::Gerentes>,
            ) -> $ty<N> {
                let Self { $($field),* } = self;
                let $shaped = map($shaped);
                $ty { $($field),* }
            }
        }
        $crate::model::rules::fields!(@impl [$param: $bound] $ty<$param> { $($field: $rule => $debug,)* });
    };
    ($ty:ident { $($field:ident: $rule:expr => $debug:ident,)* }) => {
        $crate::model::rules::fields!(@impl [] $ty { $($field: $rule => $debug,)* });
    };
    (@impl [$($generics:tt)*] $ty:ty { $($field:ident: $rule:expr => $debug:ident,)* }) => {
        impl<$($generics)*> $ty {
            /// Checks each field's rule, at the field's path.
            pub(crate) fn check_fields(&self, at: &mut $crate::model::rules::Checker) {
                let Self { $($field),* } = self;
                $(
                    at.member(stringify!($field), |at| {
                        $crate::model::rules::Rule::check(&$rule, $field, at)
                    });
                )*
            }

            /// Writes each field's rule into the derived schema.
            fn state_rules(schema: &mut ::schemars::Schema) {
                $(
                    $crate::model::rules::merge_into_property(
                        schema,
                        stringify!($field),
                        $crate::model::rules::rule_schema(&$rule, |s: &Self| &s.$field),
                    );
                )*
            }
        }

        impl<$($generics)*> ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let name = stringify!($ty);
                f.debug_struct(name.split('<').next().unwrap_or(name).trim())
                    $(.field(stringify!($field), &$crate::model::rules::$debug(&self.$field)))*
                    .finish()
            }
        }
    };
}
pub(crate) use fields;

/// The schema fragment of `rule` for the field `pick` selects: picks the `Rule` impl by
/// the field's type, which the macro does not know.
pub(crate) fn rule_schema<S, T, R: Rule<T>>(rule: &R, _pick: fn(&S) -> &T) -> Option<Value> {
    rule.schema()
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

    #[test]
    fn an_item_path_holds_its_index_in_decimal() {
        let mut at = Checker::under("data");
        for index in [0, 7, 10, 123, usize::MAX] {
            at.member("emails", |at| {
                at.item(index, |at| at.refuse(FieldErrorCode::TooLong, "x"));
            });
        }
        let paths: Vec<String> = at
            .finish()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            paths,
            [
                "data.emails[0]".to_owned(),
                "data.emails[7]".to_owned(),
                "data.emails[10]".to_owned(),
                "data.emails[123]".to_owned(),
                format!("data.emails[{}]", usize::MAX),
            ]
        );
    }

    #[test]
    fn a_string_of_max_characters_passes_and_one_more_is_too_long() {
        let mut at = Checker::under("x");
        max_chars(&"é".repeat(64), 64, &mut at);
        assert_eq!(at.finish(), Ok(()));
        let mut at = Checker::under("x");
        max_chars(&"é".repeat(65), 64, &mut at);
        let errors = at.finish().unwrap_err();
        assert_eq!(errors[0].code, FieldErrorCode::TooLong);
        assert_eq!(
            errors[0].message,
            "expected at most 64 characters, found 65"
        );
    }
}
