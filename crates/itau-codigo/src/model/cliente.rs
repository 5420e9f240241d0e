//! The customer's data, declared once for both of its shapes: as the API answers it
//! (`data` of a 200, with the one manager selected for the request) and as an import
//! record holds it (with every manager of the account).

use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::rules::{Aninhado, Checker, Texto, Validate, fields};
use crate::validate_cpf_cnpj;

/// The body of a 200: `{"data": DadosCliente}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "Consulta cliente response", extend("examples" = [super::examples::response()]))]
pub struct ConsultaClienteResponse {
    /// The customer found for the account code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DadosCliente>,
}

/// A customer as the API answers: [`Dados`] with the one manager selected for the request.
pub type DadosCliente = Dados<AnswerShape>;

/// A customer as an import record holds it: [`Dados`] with every manager of the account.
pub type DadosRegistro = Dados<RecordShape>;

/// How a customer's `gerentes` are held; [`AnswerShape`] and [`RecordShape`] are the two
/// shapes.
pub trait GerentesShape:
    Clone + Copy + PartialEq + Eq + Default + fmt::Debug + JsonSchema + 'static
{
    /// The type of `gerentes`.
    type Gerentes: Clone + PartialEq + Eq + fmt::Debug + Serialize + JsonSchema + Validate;

    /// The schema title of [`Dados`] in this shape.
    const TITLE: &'static str;
    /// The schema description of [`Dados`] in this shape.
    const DESCRIPTION: &'static str;
    /// The schema description of `gerentes` in this shape.
    const GERENTES_DESCRIPTION: &'static str;

    /// Reads `gerentes` (`null` is absent).
    ///
    /// # Errors
    ///
    /// The value is not of this shape.
    fn deserialize_gerentes<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Self::Gerentes>, D::Error>;

    /// The schema of `gerentes`.
    fn gerentes_schema(generator: &mut SchemaGenerator) -> Schema;
}

/// The answer's shape: `gerentes` is the one manager selected for the request.
///
/// Named `Cliente` in the schemas, so that [`Dados`] in this shape is `DadosCliente`
/// there, as it is here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, JsonSchema)]
#[schemars(rename = "Cliente")]
pub struct AnswerShape;

/// The import record's shape: `gerentes` is every manager of the account, in order;
/// a file may give one manager as an object or several as an array.
///
/// Named `Registro` in the schemas, so that [`Dados`] in this shape is `DadosRegistro`
/// there, as it is here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, JsonSchema)]
#[schemars(rename = "Registro")]
pub struct RecordShape;

/// The former name of [`AnswerShape`], which read as a domain noun.
#[deprecated(since = "0.2.0", note = "renamed `AnswerShape`")]
pub type Cliente = AnswerShape;

/// The former name of [`RecordShape`], which read as a domain noun.
#[deprecated(since = "0.2.0", note = "renamed `RecordShape`")]
pub type Registro = RecordShape;

impl GerentesShape for AnswerShape {
    type Gerentes = Gerente;

    const TITLE: &'static str = "Dados do cliente";
    const DESCRIPTION: &'static str = "A customer found by account code, with the one manager \
        selected for the request. Every field is optional: an absent field is omitted, never \
        `null`; a present one is as stored (`\"\"` stays `\"\"`, `[]` stays `[]`).";
    const GERENTES_DESCRIPTION: &'static str = "The manager to route the chat to: the first \
        stored manager matching the request's `tipo_estrutura` and `segmento` (each compared \
        ASCII case-insensitively), or the first stored manager when the request gives neither. \
        Omitted when none matches.";

    fn deserialize_gerentes<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Gerente>, D::Error> {
        Option::deserialize(deserializer)
    }

    fn gerentes_schema(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<Option<Gerente>>()
    }
}

impl GerentesShape for RecordShape {
    type Gerentes = Vec<Gerente>;

    const TITLE: &'static str = "Dados do cliente (import)";
    const DESCRIPTION: &'static str =
        "A customer's stored data: the answer's fields, with every manager of the account.";
    const GERENTES_DESCRIPTION: &'static str =
        "Every manager of the account, in order: one object or an array of objects.";

    /// One manager object or an array of them. Branches on the JSON shape instead of
    /// trying each form (serde's `untagged`), so that an error inside a manager keeps its
    /// path (`data.gerentes[1].telefones.ddd`) and its reason.
    fn deserialize_gerentes<'de, D: Deserializer<'de>>(
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
                Gerente::deserialize(MapAccessDeserializer::new(map)).map(|g| Some(vec![g]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<Gerente>::deserialize(SeqAccessDeserializer::new(seq)).map(Some)
            }
        }

        deserializer.deserialize_option(OneOrMany)
    }

    fn gerentes_schema(generator: &mut SchemaGenerator) -> Schema {
        let gerente = generator.subschema_for::<Gerente>();
        json_schema!({
            "anyOf": [gerente, {"type": "array", "items": gerente}, {"type": "null"}],
        })
    }
}

/// A customer's data, written once for both shapes: [`DadosCliente`] (an answer) and
/// [`DadosRegistro`] (an import record), which differ only in `gerentes`.
///
/// Every field is optional: an absent field is omitted, never `null`; a present one is
/// as stored (`""` stays `""`, `[]` stays `[]`).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(bound = "")]
#[schemars(
    rename = "Dados{M}",
    transform = Self::state_rules,
    transform = describe_shape::<M>
)]
pub struct Dados<M: GerentesShape> {
    /// Customer identifier (a UUID in the source document's example).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_cliente: Option<String>,
    /// The customer's e-mail addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<Email>>,
    /// Date the account was opened (ISO 8601 `YYYY-MM-DD`), or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_abertura_conta: Option<String>,
    /// Full name: a person's civil name or a company's legal name (razão social).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nome_completo: Option<String>,
    /// A company's trade name (nome fantasia) or a person's nickname (apelido).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nome_fantasia_apelido: Option<String>,
    /// Person type: `F` pessoa física (natural person, CPF), `J` pessoa jurídica (legal
    /// entity, CNPJ), or `""`; an import checks that it agrees with the kind of
    /// `cpf_cnpj` when both are non-empty. (The source document's "Gender" is a
    /// mistranslation.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tipo_pessoa: Option<String>,
    /// A person's date of birth or a company's date of foundation (ISO 8601
    /// `YYYY-MM-DD`), or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_nascimento_fundacao: Option<String>,
    /// The managers: see [`GerentesShape::GERENTES_DESCRIPTION`] of each shape.
    #[serde(
        default,
        deserialize_with = "M::deserialize_gerentes",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "M::gerentes_schema")]
    pub gerentes: Option<M::Gerentes>,
    /// The customer's phone numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telefones: Option<Vec<Telefone>>,
    /// Identification status, e.g. `Identificado`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identificado: Option<String>,
    /// Taxpayer number without punctuation: a CPF (11 digits) for a person, a CNPJ (14
    /// characters: 12 digits or upper-case letters, then 2 check digits) for a company,
    /// or `""`; an import verifies the check digits. (The source document's "Common
    /// No." is a mistranslation.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpf_cnpj: Option<String>,
    /// Social name (nome social): the name a person asks to be called by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nome_social: Option<String>,
    /// Agência (branch) of the account, 4 digits (the source's "4 proxy digits").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agencia: Option<String>,
    /// Conta corrente (current account number) of the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conta_corrente: Option<String>,
}

fields!(Dados<M: GerentesShape> maps gerentes {
    id_cliente: Texto::Livre => show,
    emails: Aninhado => show,
    data_abertura_conta: Texto::Data => show,
    nome_completo: Texto::Livre => hide,
    nome_fantasia_apelido: Texto::Livre => hide,
    tipo_pessoa: Texto::TipoPessoa => show,
    data_nascimento_fundacao: Texto::Data => hide,
    gerentes: Aninhado => show,
    telefones: Aninhado => show,
    identificado: Texto::Livre => show,
    cpf_cnpj: Texto::CpfCnpj => hide,
    nome_social: Texto::Livre => hide,
    agencia: Texto::Livre => show,
    conta_corrente: Texto::Livre => hide,
});

/// The title and descriptions that differ between the shapes.
fn describe_shape<M: GerentesShape>(schema: &mut Schema) {
    schema.insert("title".into(), M::TITLE.into());
    schema.insert("description".into(), M::DESCRIPTION.into());
    if let Some(gerentes) = schema
        .get_mut("properties")
        .and_then(|properties| properties.get_mut("gerentes"))
        .and_then(|gerentes| gerentes.as_object_mut())
    {
        gerentes.insert("description".into(), M::GERENTES_DESCRIPTION.into());
    }
}

impl<M: GerentesShape> Validate for Dados<M> {
    fn check(&self, at: &mut Checker) {
        self.check_fields(at);
        self.check_tipo_pessoa_matches_cpf_cnpj(at);
    }
}

impl<M: GerentesShape> Dados<M> {
    /// `tipo_pessoa` must name the kind of the (valid) `cpf_cnpj` when both are non-empty.
    fn check_tipo_pessoa_matches_cpf_cnpj(&self, at: &mut Checker) {
        let Some(tipo_pessoa) = self
            .tipo_pessoa
            .as_deref()
            .filter(|t| matches!(*t, "F" | "J"))
        else {
            return;
        };
        let Some(Ok(documento)) = self.cpf_cnpj.as_deref().map(validate_cpf_cnpj) else {
            return;
        };
        if documento.tipo_pessoa() == tipo_pessoa {
            return;
        }
        // Says the rule, not which of the two values the line holds.
        at.member("tipo_pessoa", |at| {
            at.refuse(
                crate::FieldErrorCode::TipoPessoaMismatch,
                "contradicts the kind of cpf_cnpj: \"F\" (pessoa física) needs a CPF, \
                 \"J\" (pessoa jurídica) a CNPJ",
            );
        });
    }

    /// These data in another shape, with `gerentes` replaced.
    pub fn with_gerentes<N: GerentesShape>(self, gerentes: Option<N::Gerentes>) -> Dados<N> {
        self.map_gerentes(|_| gerentes)
    }
}

impl DadosRegistro {
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
        self.with_gerentes(gerente)
    }
}

/// One of the customer's e-mail addresses.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "E-mail", transform = Self::state_rules)]
pub struct Email {
    /// Whether this is the customer's main e-mail address (e.g. `S` / `N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The e-mail address, or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// When the address was last updated: an ISO 8601 date, a date-time with offset
    /// (`2025-02-13T14:46:00-03:00`), or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_atualizacao: Option<String>,
}

fields!(Email {
    principal: Texto::Livre => show,
    email: Texto::Email => hide,
    data_atualizacao: Texto::DataOuDataHora => show,
});

impl Validate for Email {
    fn check(&self, at: &mut Checker) {
        self.check_fields(at);
    }
}

/// A manager (gerente) of the account: who serves the customer, and the skill queue a
/// chat is routed to.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "Gerente", transform = Self::state_rules)]
pub struct Gerente {
    /// The manager's e-mail address, or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_gerente: Option<String>,
    /// The manager's RACF (corporate user ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub racf_gerente: Option<String>,
    /// The manager's functional (employee) number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funcional_gerente: Option<String>,
    /// Customer segment this manager serves (e.g. `Uniclass`, `Personnalité`); the
    /// request's `segmento` selects on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmento: Option<String>,
    /// Portfolio (carteira) code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cod_carteira: Option<String>,
    /// Service platform (e.g. `AGD`, `AGF`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plataforma: Option<String>,
    /// Whether the customer is served on the digital platform (e.g. `S` / `N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atendimento_plataforma_digital: Option<String>,
    /// Role (papel) code of the manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codigo_papel: Option<String>,
    /// Category description (e.g. `Gerente de Relacionamento`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descricao_categoria: Option<String>,
    /// Structure type (e.g. `AP`, `OP`, `SD`, `CO`); the request's `tipo_estrutura`
    /// selects on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tipo_estrutura: Option<String>,
    /// The manager's phone (one object, not a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telefones: Option<Telefone>,
    /// Skill queue to allocate the chat to on the AGD/AGF media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codigo_cargo: Option<String>,
}

fields!(Gerente {
    email_gerente: Texto::Email => hide,
    racf_gerente: Texto::Livre => hide,
    funcional_gerente: Texto::Livre => hide,
    segmento: Texto::Livre => show,
    cod_carteira: Texto::Livre => show,
    plataforma: Texto::Livre => show,
    atendimento_plataforma_digital: Texto::Livre => show,
    codigo_papel: Texto::Livre => show,
    descricao_categoria: Texto::Livre => show,
    tipo_estrutura: Texto::Livre => show,
    telefones: Aninhado => hide,
    codigo_cargo: Texto::Livre => show,
});

impl Validate for Gerente {
    fn check(&self, at: &mut Checker) {
        self.check_fields(at);
    }
}

/// A phone number, in parts. Every part is digits only, or `""`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "Telefone", transform = Self::state_rules)]
pub struct Telefone {
    /// Whether this is the main phone (e.g. `S` / `N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Mobile phone indicator (digits only, e.g. `1` for a mobile, `0` for a landline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub celular: Option<String>,
    /// International dialling code (DDI), e.g. `55`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddi: Option<String>,
    /// Area code (DDD), 2 digits, e.g. `11`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddd: Option<String>,
    /// The number without area code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numero: Option<String>,
    /// Extension (ramal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramal: Option<String>,
}

fields!(Telefone {
    principal: Texto::Livre => show,
    celular: Texto::Digitos => hide,
    ddi: Texto::Digitos => hide,
    ddd: Texto::Digitos => hide,
    numero: Texto::Digitos => hide,
    ramal: Texto::Digitos => hide,
});

impl Validate for Telefone {
    fn check(&self, at: &mut Checker) {
        self.check_fields(at);
    }
}
