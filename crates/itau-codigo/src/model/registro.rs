//! One import record: an account code and everything stored for it.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use validator::Validate;

use super::cliente::{DadosCliente, Email, Gerente, Telefone, redacted_debug};
use super::request::invalid_type_expecting;
use super::rules;
use crate::error::{self, FieldError, FieldErrorCode};
use crate::{CodigoConta, TipoDocumento, json, validate_cpf_cnpj};

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
/// assert_eq!(errors[0].to_string(), "data.tipo_pessoa: tipo_pessoa_mismatch: \"J\" (pessoa jurídica) needs a CNPJ, but cpf_cnpj holds a CPF");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

/// A customer's stored data: [`DadosCliente`] with every manager of the account.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[schemars(title = "Dados do cliente (import)")]
pub struct DadosRegistro {
    /// Customer identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = rules::MAX_CHARS))]
    pub id_cliente: Option<String>,
    /// The customer's e-mail addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    pub emails: Option<Vec<Email>>,
    /// Date the account was opened (ISO 8601 `YYYY-MM-DD`), or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = rules::MAX_CHARS), custom(function = "rules::date_or_empty"))]
    #[schemars(extend("anyOf" = rules::date_or_empty_schema()))]
    pub data_abertura_conta: Option<String>,
    /// Full name: a person's civil name or a company's legal name (razão social).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = rules::MAX_CHARS))]
    pub nome_completo: Option<String>,
    /// A company's trade name (nome fantasia) or a person's nickname (apelido).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = rules::MAX_CHARS))]
    pub nome_fantasia_apelido: Option<String>,
    /// Person type: `F` pessoa física (CPF), `J` pessoa jurídica (CNPJ), or `""`; must
    /// agree with the kind of `cpf_cnpj` when both are non-empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "rules::tipo_pessoa"))]
    #[schemars(extend("enum" = ["F", "J", "", null]))]
    pub tipo_pessoa: Option<String>,
    /// A person's date of birth or a company's date of foundation (ISO 8601), or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = rules::MAX_CHARS), custom(function = "rules::date_or_empty"))]
    #[schemars(extend("anyOf" = rules::date_or_empty_schema()))]
    pub data_nascimento_fundacao: Option<String>,
    /// Every manager of the account, in order: one object or an array of objects.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Option::is_none"
    )]
    #[validate(nested)]
    #[schemars(schema_with = "one_or_many_schema")]
    pub gerentes: Option<Vec<Gerente>>,
    /// The customer's phone numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    pub telefones: Option<Vec<Telefone>>,
    /// Identification status, e.g. `Identificado`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = rules::MAX_CHARS))]
    pub identificado: Option<String>,
    /// Taxpayer number without punctuation: CPF (11 digits), CNPJ (14 characters, numeric
    /// or alphanumeric), or `""`; check digits are verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "rules::cpf_cnpj"))]
    #[schemars(regex(pattern = rules::CPF_CNPJ_PATTERN))]
    pub cpf_cnpj: Option<String>,
    /// Social name (nome social).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = rules::MAX_CHARS))]
    pub nome_social: Option<String>,
    /// Agência (branch), 4 digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = rules::MAX_CHARS))]
    pub agencia: Option<String>,
    /// Conta corrente (current account number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = rules::MAX_CHARS))]
    pub conta_corrente: Option<String>,
}

redacted_debug!(DadosRegistro {
    show: [
        id_cliente,
        tipo_pessoa,
        identificado,
        agencia,
        data_abertura_conta,
        emails,
        telefones,
        gerentes
    ],
    hide: [
        nome_completo,
        nome_fantasia_apelido,
        nome_social,
        cpf_cnpj,
        data_nascimento_fundacao,
        conta_corrente
    ]
});

/// One manager object or an array of them. Branches on the JSON shape instead of
/// trying each form (serde's `untagged`), so that an error inside a manager keeps its
/// path (`data.gerentes[1].telefones.ddd`) and its reason.
fn one_or_many<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<Gerente>>, D::Error> {
    struct OneOrMany;

    impl<'de> Visitor<'de> for OneOrMany {
        type Value = Option<Vec<Gerente>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a manager object or an array of manager objects")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Gerente::deserialize(MapAccessDeserializer::new(map)).map(|gerente| Some(vec![gerente]))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::<Gerente>::deserialize(SeqAccessDeserializer::new(seq)).map(Some)
        }
    }

    deserializer.deserialize_option(OneOrMany)
}

fn one_or_many_schema(generator: &mut SchemaGenerator) -> Schema {
    let gerente = generator.subschema_for::<Gerente>();
    json_schema!({
        "description": "Every manager of the account, in order: one object or an array of objects.",
        "anyOf": [gerente, {"type": "array", "items": gerente}, {"type": "null"}],
    })
}

/// serde reads a struct from an array too (positionally), so `"telefones": []` would
/// pass as an empty phone; the format says these members are objects. Records a
/// type error for each that is not, and says whether all were.
fn objects_where_expected(data: &Map<String, Value>, errors: &mut Vec<FieldError>) -> bool {
    let before = errors.len();
    let mut expect_object = |path: String, value: &Value| {
        if !value.is_object() {
            errors.push(invalid_type_expecting(&path, "an object", value));
        }
    };
    for list in ["emails", "telefones"] {
        if let Some(Value::Array(items)) = data.get(list) {
            for (index, item) in items.iter().enumerate() {
                expect_object(format!("data.{list}[{index}]"), item);
            }
        }
    }
    let gerentes: Vec<(String, &Value)> = match data.get("gerentes") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, g)| (format!("data.gerentes[{i}]"), g))
            .collect(),
        Some(gerente @ Value::Object(_)) => vec![("data.gerentes".to_owned(), gerente)],
        _ => Vec::new(),
    };
    for (path, gerente) in gerentes {
        match gerente.get("telefones") {
            None | Some(Value::Null) => expect_object(path, gerente),
            Some(telefones) => expect_object(format!("{path}.telefones"), telefones),
        }
    }
    errors.len() == before
}

impl RegistroCliente {
    /// Parses and checks one import line, listing what is wrong with it.
    ///
    /// # Errors
    ///
    /// Every [`FieldError`] found: malformed JSON (or a member given twice), a missing or
    /// invalid account code, a member of the wrong type (the first one serde meets), and
    /// every rule of [`RegistroCliente::validate_fields`].
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
        if let Some((codigo_conta, data)) = super::registro_plain::read(line) {
            let registro = Self { codigo_conta, data };
            registro.validate_fields()?;
            return Ok(registro);
        }
        Self::from_json_line_precise(line)
    }

    /// The road every line could take: through a `Value`, naming every failing member.
    pub(crate) fn from_json_line_precise(line: &str) -> Result<Self, Vec<FieldError>> {
        let value = json::from_slice_unique(line.as_bytes()).map_err(|e| {
            vec![FieldError::new(
                "",
                FieldErrorCode::MalformedJson,
                e.to_string(),
            )]
        })?;
        let Value::Object(mut members) = value else {
            return Err(vec![FieldError::new(
                "",
                FieldErrorCode::InvalidType,
                "expected a JSON object",
            )]);
        };
        let mut errors = Vec::new();
        let codigo_conta =
            super::request::codigo_conta_member(&members, "codigo_conta", &mut errors);
        let data = match members.remove("data") {
            None | Some(Value::Null) => {
                errors.push(FieldError::new(
                    "data",
                    FieldErrorCode::Required,
                    "the customer's data is required",
                ));
                None
            }
            Some(Value::Object(data)) if !objects_where_expected(&data, &mut errors) => None,
            Some(data @ Value::Object(_)) => {
                match serde_path_to_error::deserialize::<_, DadosRegistro>(data) {
                    Ok(data) => Some(data),
                    Err(e) => {
                        let path = format!("data.{}", e.path());
                        errors.push(FieldError::new(
                            path,
                            FieldErrorCode::InvalidType,
                            without_values(&e.into_inner().to_string()),
                        ));
                        None
                    }
                }
            }
            Some(other) => {
                errors.push(invalid_type_expecting("data", "an object", &other));
                None
            }
        };
        // The data's rules are checked even when the account code is bad, so that one
        // run reports everything wrong with the line.
        if let Some(data) = &data {
            errors.extend(data.rule_errors());
        }
        match (codigo_conta, data) {
            (Some(codigo_conta), Some(data)) if errors.is_empty() => {
                Ok(Self { codigo_conta, data })
            }
            _ => Err(errors),
        }
    }

    /// Checks every field rule: lengths (256 characters), e-mail syntax, ISO 8601 dates,
    /// digits-only phone parts, CPF/CNPJ check digits, `tipo_pessoa` F/J/`""` and
    /// consistent with the kind of `cpf_cnpj`.
    ///
    /// # Errors
    ///
    /// Every failing field, with its path under `data.` and sorted by path.
    pub fn validate_fields(&self) -> Result<(), Vec<FieldError>> {
        let errors = self.data.rule_errors();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// serde's type errors quote the value they met (`invalid type: string "maria@…"`):
/// import reports end up in job logs, so keep what was expected and the kind found, and
/// drop the value.
fn without_values(message: &str) -> String {
    let Some(rest) = message.strip_prefix("invalid type: ") else {
        return message.to_owned();
    };
    let found = rest.split([' ', ',']).next().unwrap_or("value");
    match rest.split_once(", expected ") {
        Some((_, expected)) => format!("expected {expected}, found {found}"),
        None => format!("unexpected {found}"),
    }
}

impl DadosRegistro {
    /// Every field rule that fails, paths under `data.`, sorted by path.
    fn rule_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Err(found) = self.validate() {
            error::flatten("data", &found, &mut errors);
        }
        errors.extend(self.tipo_pessoa_mismatch());
        errors
    }

    /// `tipo_pessoa` must name the kind of the (valid) `cpf_cnpj` when both are non-empty.
    fn tipo_pessoa_mismatch(&self) -> Option<FieldError> {
        let tipo_pessoa = self
            .tipo_pessoa
            .as_deref()
            .filter(|t| matches!(*t, "F" | "J"))?;
        let documento = validate_cpf_cnpj(self.cpf_cnpj.as_deref()?).ok()?;
        if documento.tipo_pessoa() == tipo_pessoa {
            return None;
        }
        let (needs, holds) = match documento {
            TipoDocumento::Cpf => ("\"J\" (pessoa jurídica) needs a CNPJ", "a CPF"),
            TipoDocumento::Cnpj => ("\"F\" (pessoa física) needs a CPF", "a CNPJ"),
        };
        Some(FieldError::new(
            "data.tipo_pessoa",
            FieldErrorCode::TipoPessoaMismatch,
            format!("{needs}, but cpf_cnpj holds {holds}"),
        ))
    }

    /// The customer as the API answers: these data with the one manager selected.
    ///
    /// ```
    /// use itau_codigo::{ConsultaClienteRequest, DadosRegistro, Gerente};
    ///
    /// let mut dados = DadosRegistro {
    ///     nome_social: Some(String::new()),
    ///     gerentes: Some(vec![Gerente { tipo_estrutura: Some("AP".into()), ..Gerente::default() }]),
    ///     ..DadosRegistro::default()
    /// };
    /// let request = ConsultaClienteRequest::new("001341150100098790".parse()?);
    /// let gerentes = dados.gerentes.take().unwrap_or_default();
    /// let cliente = dados.into_dados_cliente(request.select_gerente(&gerentes).cloned());
    /// assert_eq!(cliente.gerentes.and_then(|g| g.tipo_estrutura).as_deref(), Some("AP"));
    /// assert_eq!(cliente.nome_social.as_deref(), Some(""));
    /// # Ok::<(), itau_codigo::CodigoContaError>(())
    /// ```
    pub fn into_dados_cliente(self, gerente: Option<Gerente>) -> DadosCliente {
        DadosCliente {
            id_cliente: self.id_cliente,
            emails: self.emails,
            data_abertura_conta: self.data_abertura_conta,
            nome_completo: self.nome_completo,
            nome_fantasia_apelido: self.nome_fantasia_apelido,
            tipo_pessoa: self.tipo_pessoa,
            data_nascimento_fundacao: self.data_nascimento_fundacao,
            gerentes: gerente,
            telefones: self.telefones,
            identificado: self.identificado,
            cpf_cnpj: self.cpf_cnpj,
            nome_social: self.nome_social,
            agencia: self.agencia,
            conta_corrente: self.conta_corrente,
        }
    }
}
