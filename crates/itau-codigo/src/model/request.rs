//! The request body of `POST /apiaccess/rest/ccmessaging/v1/itau/codigo`.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, de};
use serde_json::{Map, Value};

use super::cliente::Gerente;
use super::rules;
use crate::CodigoConta;
use crate::error::{FieldError, FieldErrorCode};
use crate::json::{self, Kind};

/// The contract's limits as literals, for the texts that state them (`concat!` takes
/// literals, not constants); everywhere else, use the constants below.
macro_rules! max_body_kib {
    () => {
        16
    };
}
macro_rules! max_id_chars {
    () => {
        128
    };
}
pub(crate) use {max_body_kib, max_id_chars};

/// The largest request body the service reads, in bytes (16 KiB); a larger one is a
/// `payload-too-large` problem.
pub const MAX_BODY_BYTES: usize = max_body_kib!() * 1024;

/// The most characters an `x-itau-correlationID` or `x-itau-flowID` may have (visible
/// ASCII, at least one) for the service to echo it.
pub const MAX_ID_CHARS: usize = max_id_chars!();

/// Longest optional member of a request, in characters (Unicode scalar values).
pub const MAX_OPTIONAL_CHARS: usize = 64;

/// The request body: which account, and optionally which of its managers.
///
/// `null` and `""` in an optional member mean absent; unknown members are ignored.
///
/// Every value of this type keeps the API's rules: it comes from a body
/// ([`ConsultaClienteRequest::from_json`], or serde's `Deserialize`, the same parser) or
/// from [`ConsultaClienteRequest::new`] and the checked `with_*` methods, which apply
/// the parser's rule for optional members.
///
/// # Examples
///
/// ```
/// use itau_codigo::{ConsultaClienteRequest, MemberError, OptionalMember};
///
/// let request = ConsultaClienteRequest::new("001341150100098790".parse()?)
///     .with_tipo_estrutura("AP")?
///     .with_segmento("")?; // "" means absent, as on the wire
/// assert_eq!(serde_json::to_string(&request)?, r#"{"codigo_conta":"001341150100098790","tipo_estrutura":"AP"}"#);
///
/// let refused = request.with_segmento("x".repeat(65)).unwrap_err();
/// assert_eq!(refused, MemberError::TooLong { member: OptionalMember::Segmento, found: 65 });
/// assert_eq!(refused.to_string(), "segmento: expected at most 64 characters, found 65");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The fields are private, so no request skips the rules:
///
/// ```compile_fail,E0451
/// let request = itau_codigo::ConsultaClienteRequest {
///     codigo_conta: "001341150100098790".parse().unwrap(),
///     tipo_estrutura: Some("x".repeat(65)),
///     segmento: None,
///     servico_digital: None,
/// };
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
// The schema says what the wire allows, not how Rust code builds a value.
#[schemars(
    title = "Consulta cliente request",
    description = "The request body: which account, and optionally which of its managers.\n\n\
        `null` and `\"\"` in an optional member mean absent; unknown members are ignored.",
    extend("examples" = [super::examples::request()])
)]
pub struct ConsultaClienteRequest {
    /// The account to look up.
    codigo_conta: CodigoConta,
    /// Selects the manager whose `tipo_estrutura` (structure type: AP, OP, SD, CO...) is
    /// this one, compared ASCII case-insensitively. `null` or `""` means absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_OPTIONAL_CHARS))]
    tipo_estrutura: Option<String>,
    /// Selects the manager whose `segmento` (customer segment) is this one, compared
    /// ASCII case-insensitively. `null` or `""` means absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_OPTIONAL_CHARS))]
    segmento: Option<String>,
    /// The digital service the chat comes from; validated and logged, it does not
    /// change the answer. `null` or `""` means absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_OPTIONAL_CHARS))]
    servico_digital: Option<String>,
}

/// Why a request body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// Not one JSON document (syntax, nesting deeper than 128, a member given twice).
    MalformedJson {
        /// What the parser said, with line and column.
        message: String,
    },
    /// Valid JSON whose members are wrong: every failing member is listed.
    Invalid {
        /// The failing members, in the order `codigo_conta`, then the optional ones.
        errors: Vec<FieldError>,
    },
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedJson { message } => write!(f, "malformed JSON: {message}"),
            Self::Invalid { errors } => {
                f.write_str("invalid request")?;
                for (i, error) in errors.iter().enumerate() {
                    f.write_str(if i == 0 { ": " } else { "; " })?;
                    write!(f, "{error}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for RequestError {}

/// An optional member of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OptionalMember {
    /// `tipo_estrutura`, a manager selector.
    TipoEstrutura,
    /// `segmento`, a manager selector.
    Segmento,
    /// `servico_digital`, the digital service the chat comes from.
    ServicoDigital,
}

impl OptionalMember {
    /// The member's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::TipoEstrutura => "tipo_estrutura",
            Self::Segmento => "segmento",
            Self::ServicoDigital => "servico_digital",
        }
    }
}

impl fmt::Display for OptionalMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a value cannot be an optional member of a request: the rule the service's
/// parser applies, refused by the `with_*` methods of [`ConsultaClienteRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemberError {
    /// More than [`MAX_OPTIONAL_CHARS`] characters (Unicode scalar values).
    TooLong {
        /// The member.
        member: OptionalMember,
        /// How many characters the value has.
        found: usize,
    },
}

impl MemberError {
    /// What is wrong, without the member's name: the message of its [`FieldError`].
    fn reason(&self) -> String {
        match *self {
            Self::TooLong { found, .. } => rules::too_long(MAX_OPTIONAL_CHARS, found),
        }
    }

    /// The member it is about.
    pub fn member(&self) -> OptionalMember {
        match *self {
            Self::TooLong { member, .. } => member,
        }
    }
}

impl fmt::Display for MemberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.member(), self.reason())
    }
}

impl std::error::Error for MemberError {}

/// The failing member as the service lists it in `errors[]`.
impl From<MemberError> for FieldError {
    fn from(error: MemberError) -> Self {
        let code = match error {
            MemberError::TooLong { .. } => FieldErrorCode::TooLong,
        };
        FieldError::new(error.member().name(), code, error.reason())
    }
}

/// The one rule of an optional member's value, for the parser and the `with_*`
/// methods alike: `""` means absent; at most [`MAX_OPTIONAL_CHARS`] characters.
fn optional_value(member: OptionalMember, value: String) -> Result<Option<String>, MemberError> {
    if value.is_empty() {
        return Ok(None);
    }
    match rules::chars_over(&value, MAX_OPTIONAL_CHARS) {
        Some(found) => Err(MemberError::TooLong { member, found }),
        None => Ok(Some(value)),
    }
}

impl ConsultaClienteRequest {
    /// Parses and validates a request body, listing every failing member.
    ///
    /// This and serde's `Deserialize` are one parser: they accept and refuse the same
    /// bodies (a member given twice, a selector of more than [`MAX_OPTIONAL_CHARS`]
    /// characters...) and build the same value; `from_json` also says why.
    ///
    /// ```
    /// use itau_codigo::ConsultaClienteRequest;
    ///
    /// let body = br#"{"codigo_conta": "001341150100098790", "segmento": ""}"#;
    /// let parsed = ConsultaClienteRequest::from_json(body)?;
    /// assert_eq!(serde_json::from_slice::<ConsultaClienteRequest>(body).ok(), Some(parsed));
    ///
    /// let long = format!(r#"{{"codigo_conta": "001341150100098790", "segmento": "{}"}}"#, "x".repeat(65));
    /// assert!(serde_json::from_slice::<ConsultaClienteRequest>(long.as_bytes()).is_err());
    /// # Ok::<(), itau_codigo::RequestError>(())
    /// ```
    ///
    /// # Examples
    ///
    /// ```
    /// use itau_codigo::ConsultaClienteRequest;
    ///
    /// let request = ConsultaClienteRequest::from_json(
    ///     br#"{"codigo_conta": "001341150100098790", "tipo_estrutura": "AP", "segmento": ""}"#,
    /// )?;
    /// assert_eq!(request.codigo_conta().agencia(), "1501");
    /// assert_eq!(request.tipo_estrutura(), Some("AP"));
    /// assert_eq!(request.segmento(), None);
    /// # Ok::<(), itau_codigo::RequestError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`RequestError::MalformedJson`] when the body is not one JSON document or repeats
    /// a member; [`RequestError::Invalid`] when it is not an object, `codigo_conta` is
    /// missing, `null`, not a string or not a valid account code, or an optional member
    /// is not a string or longer than [`MAX_OPTIONAL_CHARS`].
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
        let value = json::from_slice_unique(body).map_err(|e| RequestError::MalformedJson {
            message: e.to_string(),
        })?;
        Self::from_value(value)
    }

    /// The members' rules, for both ways in ([`ConsultaClienteRequest::from_json`] and
    /// `Deserialize`), once the body is known to repeat no member.
    fn from_value(value: Value) -> Result<Self, RequestError> {
        let Value::Object(mut members) = value else {
            return Err(RequestError::Invalid {
                errors: vec![FieldError::new(
                    "",
                    FieldErrorCode::InvalidType,
                    "expected a JSON object",
                )],
            });
        };
        let mut errors = Vec::new();
        // The code's evidence (the DAC found and expected) goes back to the client that
        // sent it, and nowhere else.
        let codigo_conta =
            codigo_conta_member(&members, "codigo_conta", Evidence::Shown, &mut errors);
        let mut optional = |member| optional_member(&mut members, member, &mut errors);
        let tipo_estrutura = optional(OptionalMember::TipoEstrutura);
        let segmento = optional(OptionalMember::Segmento);
        let servico_digital = optional(OptionalMember::ServicoDigital);
        match codigo_conta {
            Some(codigo_conta) if errors.is_empty() => Ok(Self {
                codigo_conta,
                tipo_estrutura,
                segmento,
                servico_digital,
            }),
            _ => Err(RequestError::Invalid { errors }),
        }
    }
}

impl<'de> Deserialize<'de> for ConsultaClienteRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = json::deserialize_unique(deserializer)?;
        Self::from_value(value).map_err(de::Error::custom)
    }
}

/// Reads a required account-code member, recording why it is unusable.
pub(crate) fn codigo_conta_member(
    members: &Map<String, Value>,
    name: &str,
    evidence: Evidence,
    errors: &mut Vec<FieldError>,
) -> Option<CodigoConta> {
    match members.get(name) {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                name,
                FieldErrorCode::Required,
                "an account code of 18 digits is required",
            ));
            None
        }
        Some(Value::String(s)) => match s.parse::<CodigoConta>() {
            Ok(codigo) => Some(codigo),
            Err(e) => {
                let message = match evidence {
                    Evidence::Shown => e.to_string(),
                    Evidence::Hidden => e.reason_without_values(),
                };
                errors.push(FieldError::new(name, FieldErrorCode::from(&e), message));
                None
            }
        },
        Some(other) => {
            errors.push(invalid_type(name, other));
            None
        }
    }
}

/// Whether an account code's error message shows what it found (the offending
/// character, the DAC found and expected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Evidence {
    /// For the one who sent the code: an API client.
    Shown,
    /// For reports others read: an import's.
    Hidden,
}

/// Reads an optional string member: absent, `null` and `""` are `None`.
fn optional_member(
    members: &mut Map<String, Value>,
    member: OptionalMember,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match members.remove(member.name()) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => optional_value(member, s).unwrap_or_else(|refused| {
            errors.push(refused.into());
            None
        }),
        Some(other) => {
            errors.push(invalid_type(member.name(), &other));
            None
        }
    }
}

/// A member that is not a string: what was expected, and the kind found (never the value).
pub(crate) fn invalid_type(name: &str, found: &Value) -> FieldError {
    FieldError::new(
        name,
        FieldErrorCode::InvalidType,
        format!("expected a string, found {}", Kind::of(found)),
    )
}

impl ConsultaClienteRequest {
    /// A request for `codigo_conta` with no selector.
    pub fn new(codigo_conta: CodigoConta) -> Self {
        Self {
            codigo_conta,
            tipo_estrutura: None,
            segmento: None,
            servico_digital: None,
        }
    }

    /// This request selecting the manager whose `tipo_estrutura` is `value`; `""`
    /// removes the selector.
    ///
    /// # Errors
    ///
    /// [`MemberError::TooLong`] when `value` has more than [`MAX_OPTIONAL_CHARS`]
    /// characters, as the service's 400 would say.
    pub fn with_tipo_estrutura(self, value: impl Into<String>) -> Result<Self, MemberError> {
        self.with(OptionalMember::TipoEstrutura, value.into())
    }

    /// This request selecting the manager whose `segmento` is `value`; `""` removes the
    /// selector.
    ///
    /// # Errors
    ///
    /// [`MemberError::TooLong`] when `value` has more than [`MAX_OPTIONAL_CHARS`]
    /// characters, as the service's 400 would say.
    pub fn with_segmento(self, value: impl Into<String>) -> Result<Self, MemberError> {
        self.with(OptionalMember::Segmento, value.into())
    }

    /// This request naming `value` as the digital service the chat comes from; `""`
    /// removes it.
    ///
    /// # Errors
    ///
    /// [`MemberError::TooLong`] when `value` has more than [`MAX_OPTIONAL_CHARS`]
    /// characters, as the service's 400 would say.
    pub fn with_servico_digital(self, value: impl Into<String>) -> Result<Self, MemberError> {
        self.with(OptionalMember::ServicoDigital, value.into())
    }

    fn with(mut self, member: OptionalMember, value: String) -> Result<Self, MemberError> {
        let slot = match member {
            OptionalMember::TipoEstrutura => &mut self.tipo_estrutura,
            OptionalMember::Segmento => &mut self.segmento,
            OptionalMember::ServicoDigital => &mut self.servico_digital,
        };
        *slot = optional_value(member, value)?;
        Ok(self)
    }

    /// The account to look up.
    pub fn codigo_conta(&self) -> CodigoConta {
        self.codigo_conta
    }

    /// The `tipo_estrutura` selector, if any (never `""`).
    pub fn tipo_estrutura(&self) -> Option<&str> {
        self.tipo_estrutura.as_deref()
    }

    /// The `segmento` selector, if any (never `""`).
    pub fn segmento(&self) -> Option<&str> {
        self.segmento.as_deref()
    }

    /// The digital service the chat comes from, if given (never `""`).
    pub fn servico_digital(&self) -> Option<&str> {
        self.servico_digital.as_deref()
    }
}

impl ConsultaClienteRequest {
    /// The manager to answer with: the first of `gerentes` that matches every selector
    /// given (`tipo_estrutura`, `segmento`, each ASCII case-insensitively), or the first
    /// one when no selector is given; `None` when none matches.
    ///
    /// ```
    /// use itau_codigo::{ConsultaClienteRequest, Gerente};
    ///
    /// let gerente = |tipo: &str| Gerente { tipo_estrutura: Some(tipo.into()), ..Gerente::default() };
    /// let gerentes = [gerente("AP"), gerente("OP")];
    /// let request = ConsultaClienteRequest::new("001341150100098790".parse()?);
    /// assert_eq!(request.select_gerente(&gerentes), Some(&gerentes[0]));
    /// let request = request.with_tipo_estrutura("op")?;
    /// assert_eq!(request.select_gerente(&gerentes), Some(&gerentes[1]));
    /// let request = request.with_tipo_estrutura("CO")?;
    /// assert_eq!(request.select_gerente(&gerentes), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn select_gerente<'a>(&self, gerentes: &'a [Gerente]) -> Option<&'a Gerente> {
        gerentes
            .iter()
            .find(|g| self.selects(g.tipo_estrutura.as_deref(), g.segmento.as_deref()))
    }

    /// Whether a manager with these `tipo_estrutura` and `segmento` matches every selector
    /// the request gives (each ASCII case-insensitively; an absent field matches only
    /// when the request does not select on it): the rule of [`Self::select_gerente`],
    /// for callers that keep a manager's selectors apart from the manager.
    ///
    /// ```
    /// use itau_codigo::ConsultaClienteRequest;
    ///
    /// let request = ConsultaClienteRequest::new("001341150100098790".parse()?);
    /// assert!(request.selects(None, None));
    /// let request = request.with_tipo_estrutura("op")?;
    /// assert!(request.selects(Some("OP"), None));
    /// assert!(!request.selects(None, Some("OP")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn selects(&self, tipo_estrutura: Option<&str>, segmento: Option<&str>) -> bool {
        let selects = |wanted: &Option<String>, field: Option<&str>| match wanted {
            None => true,
            Some(wanted) => field.is_some_and(|f| f.eq_ignore_ascii_case(wanted)),
        };
        selects(&self.tipo_estrutura, tipo_estrutura) && selects(&self.segmento, segmento)
    }
}
