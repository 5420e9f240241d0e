//! Properties of `CodigoConta` over arbitrary inputs.

use itau_codigo::{CodigoConta, CodigoContaError, FieldErrorCode, dac};
use proptest::prelude::*;

/// Itaú's published DAC over agência (4) + conta (5), written independently of the crate.
fn reference_dac_9(agencia: &str, conta5: &str) -> u8 {
    let digits: Vec<u32> = agencia
        .chars()
        .chain(conta5.chars())
        .map(|c| c.to_digit(10).unwrap())
        .collect();
    let mut sum = 0;
    for (i, d) in digits.iter().rev().enumerate() {
        let product = if i % 2 == 0 { d * 2 } else { *d };
        sum += product / 10 + product % 10;
    }
    ((10 - sum % 10) % 10) as u8
}

fn digits(n: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[0-9]{{{n}}}")).unwrap()
}

proptest! {
    #[test]
    fn compose_then_parse_round_trips(empresa in digits(3), banco in digits(3), agencia in digits(4), conta in digits(7)) {
        let composed = CodigoConta::compose(&empresa, &banco, &agencia, &conta).unwrap();
        let text = composed.to_string();
        prop_assert_eq!(&text[..17], format!("{empresa}{banco}{agencia}{conta}"));
        prop_assert_eq!(text.parse::<CodigoConta>(), Ok(composed));
        prop_assert_eq!(CodigoConta::parse_lenient(&text), Ok(composed));
    }

    #[test]
    fn every_single_digit_change_in_agencia_conta_or_dac_is_rejected(
        agencia in digits(4), conta in digits(7), index in 6usize..18, bump in 1u8..10,
    ) {
        let valid = CodigoConta::compose("001", "341", &agencia, &conta).unwrap().to_string();
        let mut bytes = valid.into_bytes();
        bytes[index] = b'0' + (bytes[index] - b'0' + bump) % 10;
        let changed = String::from_utf8(bytes).unwrap();
        let is_dac_error = matches!(changed.parse::<CodigoConta>(), Err(CodigoContaError::Dac { .. }));
        prop_assert!(is_dac_error, "{} was accepted", changed);
    }

    #[test]
    fn the_dac_over_agencia_00_conta_equals_itau_9_digit_dac(agencia in digits(4), conta5 in digits(5)) {
        let padded = format!("00{conta5}");
        prop_assert_eq!(dac(&agencia, &padded).unwrap(), reference_dac_9(&agencia, &conta5));
        prop_assert_eq!(dac(&agencia, &conta5).unwrap(), reference_dac_9(&agencia, &conta5));
    }

    #[test]
    fn parsing_never_panics_on_arbitrary_strings(input in any::<String>()) {
        let _ = input.parse::<CodigoConta>();
        let _ = CodigoConta::parse_lenient(&input);
    }

    #[test]
    fn the_error_kind_follows_the_contract_order(input in "[0-9aé\u{0661}😀]{0,20}") {
        let characters = input.chars().count();
        let expected_kind = if characters != 18 {
            FieldErrorCode::Length
        } else if !input.chars().all(|c| c.is_ascii_digit()) {
            FieldErrorCode::NotDigits
        } else {
            FieldErrorCode::DacMismatch
        };
        match input.parse::<CodigoConta>() {
            Ok(_) => prop_assert_eq!(expected_kind, FieldErrorCode::DacMismatch),
            Err(error) => prop_assert_eq!(error.code(), expected_kind),
        }
    }

    #[test]
    fn parsing_never_panics_on_near_codes(input in "[0-9a\u{0661} .-]{15,20}") {
        if let Ok(codigo) = input.parse::<CodigoConta>() {
            prop_assert_eq!(codigo.to_string(), input);
        }
    }
}
