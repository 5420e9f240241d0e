//! The types on the wire: `CodigoConta`, a JSON string checked on the way in; and the
//! open enums (`FieldErrorCode`, `ProblemType`), which read a value a newer service
//! sends instead of failing.

use itau_codigo::{CodigoConta, FieldErrorCode, Problem, ProblemType};
use serde_json::json;

#[test]
fn serialises_as_the_18_digit_string() {
    let codigo: CodigoConta = "001341150100098790".parse().unwrap();
    assert_eq!(
        serde_json::to_string(&codigo).unwrap(),
        r#""001341150100098790""#
    );
}

#[test]
fn deserialising_validates_and_says_why() {
    let ok: CodigoConta = serde_json::from_str(r#""001341150100098790""#).unwrap();
    assert_eq!(ok.dac(), 0);
    let error = serde_json::from_str::<CodigoConta>(r#""001341150100098791""#).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("invalid codigo_conta: wrong DAC (check digit): found 1, expected 0"),
        "{error}"
    );
}

#[test]
fn deserialising_refuses_numbers() {
    let error = serde_json::from_str::<CodigoConta>("1341150100098790").unwrap_err();
    assert!(
        error.to_string().contains("an account code of 18 digits"),
        "{error}"
    );
}

#[test]
fn every_known_field_error_code_round_trips_as_its_wire_text() {
    for code in FieldErrorCode::ALL {
        let written = serde_json::to_value(code).unwrap();
        assert_eq!(written, json!(code.as_str()));
        assert_eq!(
            &serde_json::from_value::<FieldErrorCode>(written).unwrap(),
            code
        );
    }
}

#[test]
fn every_known_problem_type_round_trips_as_its_uri() {
    for problem_type in ProblemType::ALL {
        let written = serde_json::to_value(problem_type).unwrap();
        assert_eq!(written, json!(problem_type.uri()));
        assert_eq!(
            &serde_json::from_value::<ProblemType>(written).unwrap(),
            problem_type
        );
    }
}

#[test]
fn an_unknown_field_error_code_is_kept_as_received_and_written_back() {
    let code: FieldErrorCode = serde_json::from_str(r#""too_short""#).unwrap();
    let FieldErrorCode::Unknown(value) = &code else {
        panic!("read as a known code: {code:?}");
    };
    assert_eq!(value.as_str(), "too_short");
    assert_eq!(
        (code.as_str(), code.to_string()),
        ("too_short", "too_short".into())
    );
    assert_eq!(serde_json::to_string(&code).unwrap(), r#""too_short""#);
}

#[test]
fn an_unknown_problem_type_keeps_its_uri_and_has_no_status_or_title() {
    let problem_type: ProblemType =
        serde_json::from_str(r#""urn:itau-codigo:problem:rate-limited""#).unwrap();
    assert!(
        matches!(problem_type, ProblemType::Unknown(_)),
        "{problem_type:?}"
    );
    assert_eq!(problem_type.uri(), "urn:itau-codigo:problem:rate-limited");
    assert_eq!(problem_type.slug(), "rate-limited");
    assert_eq!((problem_type.status(), problem_type.title()), (None, None));
    assert_eq!(
        serde_json::to_string(&problem_type).unwrap(),
        r#""urn:itau-codigo:problem:rate-limited""#
    );
}

#[test]
fn an_unknown_problem_type_outside_the_prefix_is_its_own_slug() {
    let problem_type: ProblemType = serde_json::from_str(r#""about:blank""#).unwrap();
    assert_eq!(
        (problem_type.uri(), problem_type.slug()),
        ("about:blank", "about:blank")
    );
}

#[test]
fn a_problem_body_of_a_newer_service_reads_and_writes_back_unchanged() {
    let body = json!({
        "type": "urn:itau-codigo:problem:rate-limited",
        "title": "Rate limited",
        "status": 429,
        "detail": "too many requests",
        "correlation_id": "3f0c1d9e-2b7a-4c1e-9a51-0d6c2e8b7f10",
        "errors": [
            {"field": "codigo_conta", "code": "blocked", "message": "a newer rule"},
            {"field": "segmento", "code": "too_long", "message": "expected at most 64 characters, found 65"},
        ],
    });
    let problem: Problem = serde_json::from_value(body.clone()).unwrap();
    assert!(matches!(problem.problem_type, ProblemType::Unknown(_)));
    let errors = problem.errors.as_deref().unwrap();
    assert!(matches!(errors[0].code, FieldErrorCode::Unknown(_)));
    assert_eq!(errors[1].code, FieldErrorCode::TooLong);
    assert_eq!(serde_json::to_value(&problem).unwrap(), body);
}

#[test]
fn a_problem_built_with_an_unknown_type_says_500_and_unknown_problem_type() {
    let problem_type: ProblemType =
        serde_json::from_str(r#""urn:itau-codigo:problem:rate-limited""#).unwrap();
    let problem = Problem::new(problem_type, "detail", "id");
    assert_eq!(
        (problem.status, problem.title.as_str()),
        (500, "Unknown problem type")
    );
}

#[test]
fn a_code_or_type_that_is_not_a_string_is_still_refused() {
    for text in ["7", "null", r#"["required"]"#] {
        assert!(
            serde_json::from_str::<FieldErrorCode>(text).is_err(),
            "{text}"
        );
        assert!(serde_json::from_str::<ProblemType>(text).is_err(), "{text}");
    }
}
