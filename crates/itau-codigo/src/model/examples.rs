//! The examples the schemas carry. A test validates each against its schema.

use serde_json::{Value, json};

pub(crate) fn request() -> Value {
    json!({"codigo_conta": "001341150100098790", "tipo_estrutura": "AP", "segmento": "Uniclass"})
}

fn telefone() -> Value {
    json!({"principal": "S", "celular": "1", "ddi": "55", "ddd": "11", "numero": "987654321", "ramal": ""})
}

fn gerente(tipo_estrutura: &str) -> Value {
    json!({
        "email_gerente": "gerente.ana.souza@example.com",
        "racf_gerente": "RACF4821",
        "funcional_gerente": "004512378",
        "segmento": "Uniclass",
        "cod_carteira": "C0123",
        "plataforma": "AGD",
        "atendimento_plataforma_digital": "S",
        "codigo_papel": "GR01",
        "descricao_categoria": "Gerente de Relacionamento",
        "tipo_estrutura": tipo_estrutura,
        "telefones": telefone(),
        "codigo_cargo": "AGD_UNICLASS_SP"
    })
}

fn dados(gerentes: Value) -> Value {
    json!({
        "id_cliente": "b26e641a-71f5-4117-ad0d-4d753faebb16",
        "emails": [{"principal": "S", "email": "maria.silva@example.com", "data_atualizacao": "2025-02-13T14:46:00-03:00"}],
        "data_abertura_conta": "2010-05-17",
        "nome_completo": "Maria da Silva",
        "nome_fantasia_apelido": "Maria",
        "tipo_pessoa": "F",
        "data_nascimento_fundacao": "1985-09-30",
        "gerentes": gerentes,
        "telefones": [telefone()],
        "identificado": "Identificado",
        "cpf_cnpj": "52998224725",
        "nome_social": "",
        "agencia": "1501",
        "conta_corrente": "0009879"
    })
}

pub(crate) fn response() -> Value {
    json!({"data": dados(gerente("AP"))})
}

pub(crate) fn registro() -> Value {
    json!({"codigo_conta": "001341150100098790", "data": dados(json!([gerente("AP"), gerente("OP")]))})
}

pub(crate) fn problem() -> Value {
    json!({
        "type": "urn:itau-codigo:problem:invalid-request",
        "title": "Invalid request",
        "status": 400,
        "detail": "the request has 1 invalid member",
        "correlation_id": "3f0c1d9e-2b7a-4c1e-9a51-0d6c2e8b7f10",
        "errors": [{"field": "codigo_conta", "code": "dac_mismatch", "message": "wrong DAC (check digit): found 1, expected 0"}]
    })
}
