//! The customer's data as the API answers it (`data` of a 200).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::rules;

/// The body of a 200: `{"data": DadosCliente}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "Consulta cliente response", extend("examples" = [super::examples::response()]))]
pub struct ConsultaClienteResponse {
    /// The customer found for the account code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DadosCliente>,
}

/// A customer found by account code, with the one manager selected for the request.
///
/// Every field is optional: an absent field is omitted, never `null`; a present one is
/// as stored (`""` stays `""`, `[]` stays `[]`).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "Dados do cliente")]
pub struct DadosCliente {
    /// Customer identifier (a UUID in the source document's example).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub id_cliente: Option<String>,
    /// The customer's e-mail addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<Email>>,
    /// Date the account was opened (ISO 8601 `YYYY-MM-DD`), or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("anyOf" = rules::date_or_empty_schema()))]
    pub data_abertura_conta: Option<String>,
    /// Full name: a person's civil name or a company's legal name (razão social).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub nome_completo: Option<String>,
    /// A company's trade name (nome fantasia) or a person's nickname (apelido).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub nome_fantasia_apelido: Option<String>,
    /// Person type: `F` pessoa física (natural person, CPF), `J` pessoa jurídica (legal
    /// entity, CNPJ), or `""`. (The source document's "Gender" is a mistranslation.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["F", "J", ""]))]
    pub tipo_pessoa: Option<String>,
    /// A person's date of birth or a company's date of foundation (ISO 8601
    /// `YYYY-MM-DD`), or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("anyOf" = rules::date_or_empty_schema()))]
    pub data_nascimento_fundacao: Option<String>,
    /// The manager to route the chat to: the first stored manager matching the request's
    /// `tipo_estrutura` and `segmento` (each compared ASCII case-insensitively), or the
    /// first stored manager when the request gives neither. Omitted when none matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gerentes: Option<Gerente>,
    /// The customer's phone numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telefones: Option<Vec<Telefone>>,
    /// Identification status, e.g. `Identificado`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub identificado: Option<String>,
    /// Taxpayer number without punctuation: a CPF (11 digits) for a person, a CNPJ (14
    /// characters: 12 digits or upper-case letters, then 2 check digits) for a company,
    /// or `""`. (The source document's "Common No." is a mistranslation.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = rules::CPF_CNPJ_PATTERN))]
    pub cpf_cnpj: Option<String>,
    /// Social name (nome social): the name a person asks to be called by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub nome_social: Option<String>,
    /// Agência (branch) of the account, 4 digits (the source's "4 proxy digits").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub agencia: Option<String>,
    /// Conta corrente (current account number) of the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub conta_corrente: Option<String>,
}

/// One of the customer's e-mail addresses.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[schemars(title = "E-mail")]
pub struct Email {
    /// Whether this is the customer's main e-mail address (e.g. `S` / `N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256))]
    pub principal: Option<String>,
    /// The e-mail address, or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256), custom(function = "rules::email_or_empty"))]
    #[schemars(extend("anyOf" = rules::email_or_empty_schema()))]
    pub email: Option<String>,
    /// When the address was last updated: an ISO 8601 date, a date-time with offset
    /// (`2025-02-13T14:46:00-03:00`), or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(
        length(max = 256),
        custom(function = "rules::date_or_date_time_or_empty")
    )]
    #[schemars(extend("anyOf" = rules::date_or_date_time_or_empty_schema()))]
    pub data_atualizacao: Option<String>,
}

/// A manager (gerente) of the account: who serves the customer, and the skill queue a
/// chat is routed to.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[schemars(title = "Gerente")]
pub struct Gerente {
    /// The manager's e-mail address, or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256), custom(function = "rules::email_or_empty"))]
    #[schemars(extend("anyOf" = rules::email_or_empty_schema()))]
    pub email_gerente: Option<String>,
    /// The manager's RACF (corporate user ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256))]
    pub racf_gerente: Option<String>,
    /// The manager's functional (employee) number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256))]
    pub funcional_gerente: Option<String>,
    /// Customer segment this manager serves (e.g. `Uniclass`, `Personnalité`); the
    /// request's `segmento` selects on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256))]
    pub segmento: Option<String>,
    /// Portfolio (carteira) code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256))]
    pub cod_carteira: Option<String>,
    /// Service platform (e.g. `AGD`, `AGF`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256))]
    pub plataforma: Option<String>,
    /// Whether the customer is served on the digital platform (e.g. `S` / `N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256))]
    pub atendimento_plataforma_digital: Option<String>,
    /// Role (papel) code of the manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256))]
    pub codigo_papel: Option<String>,
    /// Category description (e.g. `Gerente de Relacionamento`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256))]
    pub descricao_categoria: Option<String>,
    /// Structure type (e.g. `AP`, `OP`, `SD`, `CO`); the request's `tipo_estrutura`
    /// selects on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256))]
    pub tipo_estrutura: Option<String>,
    /// The manager's phone (one object, not a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    pub telefones: Option<Telefone>,
    /// Skill queue to allocate the chat to on the AGD/AGF media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256))]
    pub codigo_cargo: Option<String>,
}

/// A phone number, in parts. Every part is digits only, or `""`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[schemars(title = "Telefone")]
pub struct Telefone {
    /// Whether this is the main phone (e.g. `S` / `N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256))]
    pub principal: Option<String>,
    /// Mobile phone indicator (digits only, e.g. `1` for a mobile, `0` for a landline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256), custom(function = "rules::digits_only"))]
    #[schemars(regex(pattern = rules::DIGITS_PATTERN))]
    pub celular: Option<String>,
    /// International dialling code (DDI), e.g. `55`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256), custom(function = "rules::digits_only"))]
    #[schemars(regex(pattern = rules::DIGITS_PATTERN))]
    pub ddi: Option<String>,
    /// Area code (DDD), 2 digits, e.g. `11`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256), custom(function = "rules::digits_only"))]
    #[schemars(regex(pattern = rules::DIGITS_PATTERN))]
    pub ddd: Option<String>,
    /// The number without area code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256), custom(function = "rules::digits_only"))]
    #[schemars(regex(pattern = rules::DIGITS_PATTERN))]
    pub numero: Option<String>,
    /// Extension (ramal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 256), custom(function = "rules::digits_only"))]
    #[schemars(regex(pattern = rules::DIGITS_PATTERN))]
    pub ramal: Option<String>,
}

/// Writes `Some(<redacted>)` or `None`, so a Debug shows which personal fields are
/// present without showing them.
pub(crate) struct Redacted(pub(crate) bool);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "Some(<redacted>)" } else { "None" })
    }
}

/// Implements `Debug` showing the `show` fields and redacting the `hide` ones:
/// LGPD and bank secrecy apply to anything that may end up in a log.
macro_rules! redacted_debug {
    ($ty:ident { show: [$($shown:ident),*], hide: [$($hidden:ident),*] }) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($shown), &self.$shown))*
                    $(.field(stringify!($hidden), &$crate::model::cliente::Redacted(self.$hidden.is_some())))*
                    .finish()
            }
        }
    };
}
pub(crate) use redacted_debug;

redacted_debug!(DadosCliente {
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
redacted_debug!(Email {
    show: [principal, data_atualizacao],
    hide: [email]
});
redacted_debug!(Gerente {
    show: [
        segmento,
        cod_carteira,
        plataforma,
        atendimento_plataforma_digital,
        codigo_papel,
        descricao_categoria,
        tipo_estrutura,
        codigo_cargo
    ],
    hide: [email_gerente, racf_gerente, funcional_gerente, telefones]
});
redacted_debug!(Telefone {
    show: [principal],
    hide: [celular, ddi, ddd, numero, ramal]
});
