#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod codigo_conta;
mod documento;
mod error;
mod iso8601;
mod json;
mod model;
pub mod schema;

pub use codigo_conta::{CodigoConta, CodigoContaError, ComposeError, LENGTH, Masked, Parte, dac};
pub use documento::{DocumentoError, TipoDocumento, validate_cpf_cnpj};
pub use error::{FieldError, FieldErrorCode, UnknownValue};
// The shapes' former names, kept for callers of 0.1 (deprecated where declared).
pub use model::cliente::{
    AnswerShape, ConsultaClienteResponse, Dados, DadosCliente, DadosRegistro, Email, Gerente,
    GerentesShape, RecordShape, Telefone,
};
#[allow(deprecated)]
pub use model::cliente::{Cliente, Registro};
pub use model::problem::{Problem, ProblemType, detail};
pub use model::registro::{MAX_LINE_BYTES, RegistroCliente};
pub use model::request::{
    ConsultaClienteRequest, MAX_BODY_BYTES, MAX_ID_CHARS, MAX_OPTIONAL_CHARS, MemberError,
    OptionalMember, RequestError,
};
pub use model::rules::{Checker, MAX_CHARS, Validate};
