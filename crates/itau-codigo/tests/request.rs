//! `ConsultaClienteRequest::from_json`: what a body must be, and how every failure is
//! named; and the checked `with_*` methods, which build only what the parser accepts.

use itau_codigo::{
    ConsultaClienteRequest, FieldError, FieldErrorCode, MemberError, OptionalMember, RequestError,
};

fn field_errors(body: &str) -> Vec<(String, FieldErrorCode)> {
    match ConsultaClienteRequest::from_json(body.as_bytes()) {
        Err(RequestError::Invalid { errors }) => {
            errors.into_iter().map(|e| (e.field, e.code)).collect()
        }
        other => panic!("expected invalid-request for {body}, got {other:?}"),
    }
}

fn one(field: &str, code: FieldErrorCode) -> Vec<(String, FieldErrorCode)> {
    vec![(field.to_owned(), code)]
}

#[test]
fn a_minimal_body_is_just_the_account_code() {
    let request =
        ConsultaClienteRequest::from_json(br#"{"codigo_conta":"001341150100098790"}"#).unwrap();
    assert_eq!(request.codigo_conta().to_string(), "001341150100098790");
    assert_eq!(
        (
            request.tipo_estrutura(),
            request.segmento(),
            request.servico_digital()
        ),
        (None, None, None)
    );
}

#[test]
fn null_and_empty_optional_members_mean_absent() {
    let request = ConsultaClienteRequest::from_json(
        br#"{"codigo_conta":"001341150100098790","tipo_estrutura":null,"segmento":"","servico_digital":"whatsapp"}"#,
    )
    .unwrap();
    assert_eq!(request.tipo_estrutura(), None);
    assert_eq!(request.segmento(), None);
    assert_eq!(request.servico_digital(), Some("whatsapp"));
}

#[test]
fn unknown_members_are_ignored() {
    let body = br#"{"codigo_conta":"001341150100098790","x-app-key":"abc","nested":{"a":[1,2]}}"#;
    assert!(ConsultaClienteRequest::from_json(body).is_ok());
}

#[test]
fn each_account_code_failure_has_its_code() {
    let cases = [
        (r#"{}"#, FieldErrorCode::Required),
        (r#"{"codigo_conta":null}"#, FieldErrorCode::Required),
        (
            r#"{"codigo_conta":1341150100098790}"#,
            FieldErrorCode::InvalidType,
        ),
        (
            r#"{"codigo_conta":["001341150100098790"]}"#,
            FieldErrorCode::InvalidType,
        ),
        (
            r#"{"codigo_conta":"00134115010009879"}"#,
            FieldErrorCode::Length,
        ),
        (
            r#"{"codigo_conta":"0013411501000987900"}"#,
            FieldErrorCode::Length,
        ),
        (
            r#"{"codigo_conta":"00134115010009879\u0661"}"#,
            FieldErrorCode::NotDigits,
        ),
        (
            r#"{"codigo_conta":"00134115010009879\u0000"}"#,
            FieldErrorCode::NotDigits,
        ),
        (
            r#"{"codigo_conta":"001341150100098791"}"#,
            FieldErrorCode::DacMismatch,
        ),
    ];
    for (body, code) in cases {
        assert_eq!(field_errors(body), one("codigo_conta", code), "body {body}");
    }
}

#[test]
fn every_failing_member_is_listed_not_only_the_first() {
    let long = "x".repeat(65);
    let body = format!(
        r#"{{"codigo_conta":"1","tipo_estrutura":7,"segmento":"{long}","servico_digital":false}}"#
    );
    assert_eq!(
        field_errors(&body),
        vec![
            ("codigo_conta".to_owned(), FieldErrorCode::Length),
            ("tipo_estrutura".to_owned(), FieldErrorCode::InvalidType),
            ("segmento".to_owned(), FieldErrorCode::TooLong),
            ("servico_digital".to_owned(), FieldErrorCode::InvalidType),
        ]
    );
}

#[test]
fn optional_members_are_limited_to_64_characters_not_bytes() {
    let at_limit = "é".repeat(64);
    let body = format!(r#"{{"codigo_conta":"001341150100098790","segmento":"{at_limit}"}}"#);
    assert!(ConsultaClienteRequest::from_json(body.as_bytes()).is_ok());
    let over = "é".repeat(65);
    let body = format!(r#"{{"codigo_conta":"001341150100098790","segmento":"{over}"}}"#);
    assert_eq!(
        field_errors(&body),
        one("segmento", FieldErrorCode::TooLong)
    );
}

#[test]
fn a_body_that_is_not_an_object_is_an_invalid_type_at_the_root() {
    for body in [r#"[]"#, r#""001341150100098790""#, "null", "42"] {
        assert_eq!(
            field_errors(body),
            one("", FieldErrorCode::InvalidType),
            "body {body}"
        );
    }
}

#[test]
fn syntax_errors_and_repeated_members_are_malformed_json() {
    for body in [
        "",
        "{",
        r#"{"codigo_conta":"001341150100098790",}"#,
        "{} x",
        r#"{"codigo_conta":"001341150100098790","codigo_conta":"001341150100098790"}"#,
        "\u{FEFF}{}",
    ] {
        assert!(
            matches!(
                ConsultaClienteRequest::from_json(body.as_bytes()),
                Err(RequestError::MalformedJson { .. })
            ),
            "body {body:?}"
        );
    }
}

#[test]
fn invalid_utf8_is_malformed_json() {
    let body = b"{\"codigo_conta\":\"00134115010009879\xff\"}";
    assert!(matches!(
        ConsultaClienteRequest::from_json(body),
        Err(RequestError::MalformedJson { .. })
    ));
}

#[test]
fn nesting_100_000_deep_is_refused_without_overflowing_the_stack() {
    let deep = format!(
        r#"{{"codigo_conta":"001341150100098790","x":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let result = ConsultaClienteRequest::from_json(deep.as_bytes());
    let Err(RequestError::MalformedJson { message }) = result else {
        panic!("expected malformed JSON")
    };
    assert!(message.contains("recursion limit"), "{message}");
}

const CODIGO: &str = "001341150100098790";

fn built(member: OptionalMember, value: &str) -> Result<ConsultaClienteRequest, MemberError> {
    let request = ConsultaClienteRequest::new(CODIGO.parse().unwrap());
    match member {
        OptionalMember::TipoEstrutura => request.with_tipo_estrutura(value),
        OptionalMember::Segmento => request.with_segmento(value),
        OptionalMember::ServicoDigital => request.with_servico_digital(value),
        other => panic!("a member this test does not know: {other}"),
    }
}

const MEMBERS: [OptionalMember; 3] = [
    OptionalMember::TipoEstrutura,
    OptionalMember::Segmento,
    OptionalMember::ServicoDigital,
];

#[test]
fn the_builder_refuses_a_65_character_member_naming_it() {
    for member in MEMBERS {
        assert_eq!(
            built(member, &"x".repeat(65)),
            Err(MemberError::TooLong { member, found: 65 }),
            "{member}"
        );
    }
}

#[test]
fn the_builder_counts_characters_not_bytes() {
    let at_limit = built(OptionalMember::Segmento, &"é".repeat(64)).unwrap();
    assert_eq!(at_limit.segmento(), Some("é".repeat(64).as_str()));
    assert_eq!(
        built(OptionalMember::Segmento, &"é".repeat(65)),
        Err(MemberError::TooLong {
            member: OptionalMember::Segmento,
            found: 65
        })
    );
}

#[test]
fn the_builder_takes_empty_as_absent_as_the_wire_does() {
    let request = built(OptionalMember::TipoEstrutura, "AP")
        .and_then(|r| r.with_tipo_estrutura(""))
        .unwrap();
    assert_eq!(
        request,
        ConsultaClienteRequest::new(CODIGO.parse().unwrap())
    );
}

#[test]
fn a_refused_member_becomes_the_field_error_the_service_lists() {
    let error = built(OptionalMember::ServicoDigital, &"x".repeat(70)).unwrap_err();
    assert_eq!(
        FieldError::from(error),
        FieldError::new(
            "servico_digital",
            FieldErrorCode::TooLong,
            "expected at most 64 characters, found 70"
        )
    );
    assert_eq!(
        error.to_string(),
        "servico_digital: expected at most 64 characters, found 70"
    );
}

#[test]
fn a_built_request_serialises_to_a_body_the_parser_reads_back_equal() {
    let request = ConsultaClienteRequest::new(CODIGO.parse().unwrap())
        .with_tipo_estrutura("AP")
        .and_then(|r| r.with_segmento("Uniclass"))
        .and_then(|r| r.with_servico_digital("whatsapp"))
        .unwrap();
    let body = serde_json::to_vec(&request).unwrap();
    assert_eq!(ConsultaClienteRequest::from_json(&body), Ok(request));
}

mod one_rule {
    //! The builder and the parser apply one rule to an optional member: over generated
    //! values, the builder accepts what the parser accepts, builds the same request, and
    //! refuses with the field error the parser lists.

    use itau_codigo::{ConsultaClienteRequest, FieldError, RequestError};
    use proptest::prelude::*;

    use super::{CODIGO, MEMBERS, built};

    proptest! {
        #[test]
        fn the_builder_and_the_parser_agree_on_every_optional_member(
            member in proptest::sample::select(MEMBERS.to_vec()),
            value in prop_oneof!["[a-zé ]{0,70}", "\\PC{60,70}"],
        ) {
            let body = serde_json::json!({"codigo_conta": CODIGO, member.name(): value});
            let parsed = ConsultaClienteRequest::from_json(body.to_string().as_bytes())
                .map_err(|e| match e {
                    RequestError::Invalid { errors } => errors,
                    other => panic!("not an invalid request: {other:?}"),
                });
            let built = built(member, &value).map_err(|e| vec![FieldError::from(e)]);
            prop_assert_eq!(built, parsed, "{}", body);
        }
    }
}

mod one_parser {
    //! `from_json` and serde's `Deserialize` are one parser: over generated bodies
    //! (members repeated, missing, null, empty, too long, of every JSON type) they accept
    //! the same bodies and build the same values.

    use itau_codigo::{ConsultaClienteRequest, MAX_OPTIONAL_CHARS};
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = String> {
        let quoted = |s: String| serde_json::to_string(&s).expect("a string serialises");
        prop_oneof![
            Just(r#""001341150100098790""#.to_owned()),
            Just(r#""001341150100098791""#.to_owned()),
            Just(r#""00134115010009879""#.to_owned()),
            Just(r#""0013411501000987a0""#.to_owned()),
            Just("null".to_owned()),
            Just(r#""""#.to_owned()),
            Just(quoted("x".repeat(MAX_OPTIONAL_CHARS))),
            Just(quoted("x".repeat(MAX_OPTIONAL_CHARS + 1))),
            Just(quoted("é".repeat(MAX_OPTIONAL_CHARS))),
            Just(quoted("é".repeat(MAX_OPTIONAL_CHARS + 1))),
            "[a-zA-Z0-9 ]{1,8}".prop_map(quoted),
            any::<i64>().prop_map(|n| n.to_string()),
            Just("true".to_owned()),
            Just("[1, \"a\"]".to_owned()),
            Just(r#"{"a": 1}"#.to_owned()),
            Just(r#"{"a": 1, "a": 2}"#.to_owned()),
        ]
    }

    fn body() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            Just("codigo_conta"),
            Just("tipo_estrutura"),
            Just("segmento"),
            Just("servico_digital"),
            Just("x-app-key"),
        ];
        let object = prop::collection::vec((name, value()), 0..6).prop_map(|members| {
            let members: Vec<String> = members
                .into_iter()
                .map(|(name, value)| format!("\"{name}\": {value}"))
                .collect();
            format!("{{{}}}", members.join(", "))
        });
        prop_oneof![
            8 => object,
            1 => value(),
            1 => Just(r#"{"codigo_conta": "001341150100098790""#.to_owned()),
        ]
    }

    proptest! {
        #[test]
        fn from_json_and_deserialize_accept_the_same_bodies_and_build_equal_values(body in body()) {
            let parsed = ConsultaClienteRequest::from_json(body.as_bytes()).ok();
            let deserialized = serde_json::from_slice::<ConsultaClienteRequest>(body.as_bytes()).ok();
            prop_assert_eq!(parsed, deserialized, "{}", body);
        }
    }
}
