//! One import record: an account code and everything stored for it, and the two roads
//! that read a line into one.

use std::borrow::Cow;

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, de};
use serde_json::Value;

use super::cliente::DadosRegistro;
use super::request::{Evidence, codigo_conta_member};
use super::rules::{Checker, Validate};
use crate::CodigoConta;
use crate::error::{FieldError, FieldErrorCode};
use crate::json::{self, Scanned, Shape};

/// Longest import line, in bytes.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// One line of an import file: `{"codigo_conta": "...", "data": {...}}`.
///
/// # Examples
///
/// ```
/// use itau_codigo::RegistroCliente;
///
/// let registro = RegistroCliente::from_json_line(
///     r#"{"codigo_conta": "001341150100098790", "data": {"tipo_pessoa": "F", "cpf_cnpj": "52998224725", "gerentes": {"tipo_estrutura": "AP"}}}"#,
/// ).expect("a valid record");
/// assert_eq!(registro.data.gerentes.map(|g| g.len()), Some(1));
///
/// let errors = RegistroCliente::from_json_line(
///     r#"{"codigo_conta": "001341150100098790", "data": {"tipo_pessoa": "J", "cpf_cnpj": "52998224725"}}"#,
/// ).unwrap_err();
/// assert_eq!(
///     errors[0].to_string(),
///     "data.tipo_pessoa: tipo_pessoa_mismatch: contradicts the kind of cpf_cnpj: \
///      \"F\" (pessoa física) needs a CPF, \"J\" (pessoa jurídica) a CNPJ",
/// );
/// ```
///
/// serde's `Deserialize` applies the same rules as [`RegistroCliente::from_json_line`]
/// (all but the length of a line, which only a line has).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(
    title = "Registro cliente (import record)",
    description = "One line of an import file (JSON Lines): an account code and the customer's data. \
        `null` counts as absent. Unlike a response, `gerentes` holds every manager of the account, \
        as one object or an array of objects (stored in order).",
    extend("examples" = [super::examples::registro()])
)]
pub struct RegistroCliente {
    /// The account the data belongs to.
    pub codigo_conta: CodigoConta,
    /// The customer's data.
    pub data: DadosRegistro,
}

impl RegistroCliente {
    /// Parses and checks one import line, listing what is wrong with it.
    ///
    /// A line of an export is almost always plain, so this first takes the fast road:
    /// one pass over the bytes that applies the structure rules (no member twice,
    /// objects where objects belong) while serde reads the types, then the field rules.
    /// A line the fast road cannot read goes down the precise road,
    /// [`RegistroCliente::from_json_line_precise`], which names every failing member.
    /// Both roads share every rule (the structure rules of `json.rs`, the types, the
    /// field rules); the fuzz target `registro_roads` and a property test check that
    /// they agree.
    ///
    /// # Errors
    ///
    /// Every [`FieldError`] found: malformed JSON (or a member given twice), a missing or
    /// invalid account code, a member of the wrong type (the first one serde meets), and
    /// every field rule ([`Validate`] on the record).
    pub fn from_json_line(line: &str) -> Result<Self, Vec<FieldError>> {
        if line.len() > MAX_LINE_BYTES {
            return Err(vec![FieldError::new(
                "",
                FieldErrorCode::TooLong,
                format!(
                    "expected a line of at most {MAX_LINE_BYTES} bytes, found {}",
                    line.len()
                ),
            )]);
        }
        Self::from_json_line_fast(line).unwrap_or_else(|| Self::from_json_line_precise(line))
    }

    /// The fast road alone: the line read in one pass, then the field rules; `None`
    /// where it leaves the line to the precise road. It accepts exactly the lines
    /// [`RegistroCliente::from_json_line_precise`] accepts, builds the same records and
    /// reports the same errors for the lines it reads (the line's length is not checked
    /// here); public so that a fuzz target can hold the two against each other.
    #[doc(hidden)]
    pub fn from_json_line_fast(line: &str) -> Option<Result<Self, Vec<FieldError>>> {
        let registro = Self::read_plain(line)?;
        Some(registro.validate().map(|()| registro))
    }

    /// The fast road's reading: the record when the line keeps the structure rules and
    /// serde reads it, in one pass; `None` sends the line down the precise road, which
    /// decides what its errors are.
    fn read_plain(line: &str) -> Option<Self> {
        #[derive(Deserialize)]
        struct Plain<'a> {
            #[serde(borrow)]
            codigo_conta: Option<Cow<'a, str>>,
            data: Option<DadosRegistro>,
        }
        let plain: Plain<'_> = json::from_str_typed(line, Shape::Line).ok()?;
        Some(Self {
            codigo_conta: plain.codigo_conta?.parse().ok()?,
            data: plain.data?,
        })
    }

    /// The precise road, which any line could take: through a `Value`, naming every
    /// failing member. Slower than [`RegistroCliente::from_json_line`]'s fast road, and
    /// equal to it in what it accepts and builds; public so that a fuzz target can hold
    /// the two against each other.
    ///
    /// # Errors
    ///
    /// As [`RegistroCliente::from_json_line`] (except the line length, not checked here).
    #[doc(hidden)]
    pub fn from_json_line_precise(line: &str) -> Result<Self, Vec<FieldError>> {
        let scanned = json::scan(line, Shape::Line, true).map_err(|e| {
            vec![FieldError::new(
                "",
                FieldErrorCode::MalformedJson,
                e.to_string(),
            )]
        })?;
        Self::from_scanned(scanned)
    }

    /// The precise road once the document is scanned: every rule, every failing member.
    fn from_scanned(scanned: Scanned) -> Result<Self, Vec<FieldError>> {
        let misplaced = scanned.misplaced;
        let Some(Value::Object(mut members)) = scanned.value else {
            return Err(vec![FieldError::new(
                "",
                FieldErrorCode::InvalidType,
                "expected a JSON object",
            )]);
        };
        let mut errors = Vec::new();
        // Import reports end up in job logs: they quote no value they refuse.
        let codigo_conta =
            codigo_conta_member(&members, "codigo_conta", Evidence::Hidden, &mut errors);
        let data = match members.remove("data") {
            None | Some(Value::Null) => {
                errors.push(FieldError::new(
                    "data",
                    FieldErrorCode::Required,
                    "the customer's data is required",
                ));
                None
            }
            Some(_) if !misplaced.is_empty() => {
                errors.extend(misplaced.into_iter().map(|m| {
                    FieldError::new(
                        m.path,
                        FieldErrorCode::InvalidType,
                        format!("expected an object, found {}", m.found),
                    )
                }));
                None
            }
            Some(data) => match serde_path_to_error::deserialize::<_, DadosRegistro>(data) {
                Ok(data) => Some(data),
                Err(e) => {
                    errors.push(FieldError::new(
                        format!("data.{}", e.path()),
                        FieldErrorCode::InvalidType,
                        without_values(&e.into_inner().to_string()),
                    ));
                    None
                }
            },
        };
        // The data's rules are checked even when the account code is bad, so that one
        // run reports everything wrong with the line.
        if let Some(data) = &data {
            errors.extend(rule_errors(data).err().unwrap_or_default());
        }
        match (codigo_conta, data) {
            (Some(codigo_conta), Some(data)) if errors.is_empty() => {
                Ok(Self { codigo_conta, data })
            }
            _ => Err(errors),
        }
    }
}

impl<'de> Deserialize<'de> for RegistroCliente {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let scanned = json::deserialize_scanned(deserializer, Shape::Line)?;
        Self::from_scanned(scanned).map_err(|errors| de::Error::custom(Refused(&errors)))
    }
}

/// Why a record was refused, as one line: every failing field.
struct Refused<'a>(&'a [FieldError]);

impl fmt::Display for Refused<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid import record")?;
        for (i, error) in self.0.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Every field rule of the record's data: lengths (at most
/// [`MAX_CHARS`](crate::MAX_CHARS) characters), e-mail syntax, ISO 8601 dates,
/// digits-only phone parts, CPF/CNPJ check digits, `tipo_pessoa` F/J/`""` and
/// consistent with the kind of `cpf_cnpj`; paths start with `data.`. (The account code
/// needs no check: a [`CodigoConta`] is valid.)
///
/// ```
/// use itau_codigo::{FieldErrorCode, RegistroCliente, Telefone, Validate};
///
/// let mut registro = RegistroCliente::from_json_line(r#"{"codigo_conta": "001341150100098790", "data": {}}"#)
///     .expect("a valid record");
/// assert_eq!(registro.validate(), Ok(()));
/// registro.data.telefones = Some(vec![Telefone { ddd: Some("1l".into()), ..Telefone::default() }]);
/// let errors = registro.validate().unwrap_err();
/// assert_eq!((errors[0].field.as_str(), &errors[0].code), ("data.telefones[0].ddd", &FieldErrorCode::NotDigits));
/// ```
impl Validate for RegistroCliente {
    fn check(&self, at: &mut Checker) {
        at.member("data", |at| self.data.check(at));
    }
}

fn rule_errors(data: &DadosRegistro) -> Result<(), Vec<FieldError>> {
    let mut at = Checker::under("data");
    data.check(&mut at);
    at.finish()
}

/// serde's type and value errors quote the value they met (`invalid type: string
/// "maria@…"`): import reports end up in job logs, so keep what was expected and the
/// kind found, and drop the value.
fn without_values(message: &str) -> String {
    let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    else {
        return message.to_owned();
    };
    let found = rest.split([' ', ',']).next().unwrap_or("value");
    match rest.split_once(", expected ") {
        Some((_, expected)) => format!("expected {expected}, found {found}"),
        None => format!("unexpected {found}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_record_takes_the_fast_road() {
        let mut record = super::super::examples::registro();
        let line = record.to_string();
        assert!(RegistroCliente::read_plain(&line).is_some(), "{line}");
        // One manager given as an object, not in an array, is plain too.
        record["data"]["gerentes"] = record["data"]["gerentes"][0].take();
        let line = record.to_string();
        assert!(RegistroCliente::read_plain(&line).is_some(), "{line}");
    }
}
