//! `CodigoConta` on the wire: a JSON string, checked on the way in.

use itau_codigo::CodigoConta;

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
