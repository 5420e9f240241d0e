//! `Debug` never shows personal data: it may end up in a log (LGPD, bank secrecy).

use itau_codigo::{
    ConsultaClienteRequest, ConsultaClienteResponse, DadosCliente, Email, Gerente, RegistroCliente,
    Telefone,
};

const SECRETS: &[&str] = &[
    "Maria da Silva",
    "Maria",
    "52998224725",
    "maria@example.com",
    "987654321",
    "1985-09-30",
    "RACF4821",
    "004512378",
    "gerente@example.com",
    "0009879",
    "Mari Social",
];

fn telefone() -> Telefone {
    Telefone {
        principal: Some("S".into()),
        celular: Some("1".into()),
        ddi: Some("55".into()),
        ddd: Some("11".into()),
        numero: Some("987654321".into()),
        ramal: Some("4321".into()),
    }
}

fn dados() -> DadosCliente {
    DadosCliente {
        nome_completo: Some("Maria da Silva".into()),
        nome_fantasia_apelido: Some("Maria".into()),
        nome_social: Some("Mari Social".into()),
        cpf_cnpj: Some("52998224725".into()),
        data_nascimento_fundacao: Some("1985-09-30".into()),
        conta_corrente: Some("0009879".into()),
        agencia: Some("1501".into()),
        emails: Some(vec![Email {
            email: Some("maria@example.com".into()),
            ..Email::default()
        }]),
        telefones: Some(vec![telefone()]),
        gerentes: Some(Gerente {
            email_gerente: Some("gerente@example.com".into()),
            racf_gerente: Some("RACF4821".into()),
            funcional_gerente: Some("004512378".into()),
            telefones: Some(telefone()),
            tipo_estrutura: Some("AP".into()),
            ..Gerente::default()
        }),
        ..DadosCliente::default()
    }
}

fn assert_redacted(debug: &str) {
    for secret in SECRETS {
        assert!(!debug.contains(secret), "{secret:?} shows in {debug}");
    }
}

#[test]
fn response_debug_redacts_names_documents_emails_phones_and_birth_dates() {
    let response = ConsultaClienteResponse {
        data: Some(dados()),
    };
    let debug = format!("{response:?} {response:#?}");
    assert_redacted(&debug);
    // What is not personal still helps debugging.
    assert!(
        debug.contains("\"AP\"") && debug.contains("\"1501\""),
        "{debug}"
    );
    assert!(debug.contains("nome_completo: Some(<redacted>)"), "{debug}");
}

#[test]
fn import_record_debug_redacts_the_same_fields_and_masks_the_code() {
    let line =
        serde_json::json!({"codigo_conta": "001341150100098790", "data": dados()}).to_string();
    let registro = RegistroCliente::from_json_line(&line).unwrap();
    let debug = format!("{registro:?}");
    assert_redacted(&debug);
    assert!(!debug.contains("001341150100098790"), "{debug}");
    assert!(debug.contains("0013411501*"), "{debug}");
}

#[test]
fn request_debug_masks_the_account_code() {
    let request = ConsultaClienteRequest::new("001341150100098790".parse().unwrap());
    let debug = format!("{request:?}");
    assert!(!debug.contains("001341150100098790"), "{debug}");
}
