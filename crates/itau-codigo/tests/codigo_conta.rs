//! `CodigoConta`: parsing, composing, the DAC, and what it shows.

use itau_codigo::{CodigoConta, CodigoContaError, ComposeError, Parte, dac};

const WORKED_EXAMPLE: &str = "001341150100098790";

#[test]
fn the_worked_example_parses_into_its_parts() {
    let codigo: CodigoConta = WORKED_EXAMPLE.parse().unwrap();
    assert_eq!(codigo.empresa(), "001");
    assert_eq!(codigo.banco(), "341");
    assert_eq!(codigo.agencia(), "1501");
    assert_eq!(codigo.conta(), "0009879");
    assert_eq!(codigo.dac(), 0);
    assert_eq!(codigo.to_string(), WORKED_EXAMPLE);
    assert_eq!(codigo.as_ref(), WORKED_EXAMPLE);
}

#[test]
fn every_way_in_agrees() {
    let parsed: CodigoConta = WORKED_EXAMPLE.parse().unwrap();
    assert_eq!(CodigoConta::try_from(WORKED_EXAMPLE), Ok(parsed));
    assert_eq!(CodigoConta::try_from(WORKED_EXAMPLE.to_owned()), Ok(parsed));
    assert_eq!(
        CodigoConta::compose("001", "341", "1501", "0009879"),
        Ok(parsed)
    );
    assert_eq!(
        CodigoConta::compose("1", "341", "1501", "9879")
            .unwrap()
            .to_string(),
        "001341150100098790"
    );
    assert_eq!(
        CodigoConta::parse_lenient("001 341 1501 0009879-0"),
        Ok(parsed)
    );
}

#[test]
fn strict_parsing_reports_the_first_failure_in_order_length_digits_dac() {
    let cases: &[(&str, CodigoContaError)] = &[
        ("", CodigoContaError::Length { found: 0 }),
        ("00134115010009879", CodigoContaError::Length { found: 17 }),
        (
            "0013411501000987900",
            CodigoContaError::Length { found: 19 },
        ),
        // Length is counted in characters: 18 characters, 19 bytes.
        (
            "00134115010009879é",
            CodigoContaError::NonDigit {
                position: 18,
                found: 'é',
            },
        ),
        (
            "0013411501000987é0",
            CodigoContaError::NonDigit {
                position: 17,
                found: 'é',
            },
        ),
        // 18 bytes but 17 or 15 characters: the length decides, in characters.
        ("0013411501000987é", CodigoContaError::Length { found: 17 }),
        ("😀00134115010009", CodigoContaError::Length { found: 15 }),
        // A non-digit decides before a wrong DAC would.
        (
            "x01341150100098791",
            CodigoContaError::NonDigit {
                position: 1,
                found: 'x',
            },
        ),
        (
            " 01341150100098790",
            CodigoContaError::NonDigit {
                position: 1,
                found: ' ',
            },
        ),
        (
            "001341150100098 79",
            CodigoContaError::NonDigit {
                position: 16,
                found: ' ',
            },
        ),
        // Arabic-Indic digit one: a digit, but not an ASCII one.
        (
            "00134115010009879\u{0661}",
            CodigoContaError::NonDigit {
                position: 18,
                found: '\u{0661}',
            },
        ),
        (
            "001341150100098791",
            CodigoContaError::Dac {
                found: 1,
                expected: 0,
            },
        ),
        (
            "001341150200098790",
            CodigoContaError::Dac {
                found: 0,
                expected: 9,
            },
        ),
        (
            "001-341-1501-0009879-0",
            CodigoContaError::Length { found: 22 },
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            input.parse::<CodigoConta>(),
            Err(*expected),
            "input {input:?}"
        );
    }
}

/// Found by fuzzing (`fuzz/regressions/codigo_conta/`): 18 bytes were taken for 18
/// characters, so a 17-character code with one 2-byte character was a `NonDigit`.
#[test]
fn eighteen_bytes_of_fewer_than_18_characters_are_a_length_error() {
    for (input, found) in [
        ("0013411501000987é", 17),
        ("0013411501000987\u{0661}", 17),
        ("001341150100098\u{20ac}", 16),
    ] {
        assert_eq!(input.len(), 18, "{input:?}");
        assert_eq!(
            input.parse::<CodigoConta>(),
            Err(CodigoContaError::Length { found }),
            "{input:?}"
        );
    }
}

#[test]
fn a_wrong_dac_message_names_found_and_expected() {
    let error = "001341150100098791".parse::<CodigoConta>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "wrong DAC (check digit): found 1, expected 0"
    );
    assert_eq!(error.code(), itau_codigo::FieldErrorCode::DacMismatch);
}

#[test]
fn length_and_digit_messages_are_precise() {
    assert_eq!(
        "123".parse::<CodigoConta>().unwrap_err().to_string(),
        "expected 18 digits, found 3 characters"
    );
    assert_eq!(
        "00134115O100098790"
            .parse::<CodigoConta>()
            .unwrap_err()
            .to_string(),
        "expected a digit 0-9 at position 9, found 'O'"
    );
}

#[test]
fn lenient_parsing_ignores_separators_and_reports_positions_as_typed() {
    let ok = [
        "001341150100098790",
        "001.341.1501.0009879-0",
        "001/341/1501/0009879/0",
        "  001 341 1501 0009879 0  ",
    ];
    for input in ok {
        assert_eq!(
            CodigoConta::parse_lenient(input).unwrap().to_string(),
            WORKED_EXAMPLE,
            "{input:?}"
        );
    }
    assert_eq!(
        CodigoConta::parse_lenient("001-341-15O1-0009879-0"),
        Err(CodigoContaError::NonDigit {
            position: 11,
            found: 'O'
        })
    );
    assert_eq!(
        CodigoConta::parse_lenient("001 341 1501 0009879"),
        Err(CodigoContaError::Length { found: 17 })
    );
    assert_eq!(
        CodigoConta::parse_lenient("001 341 1501 0009879 1"),
        Err(CodigoContaError::Dac {
            found: 1,
            expected: 0
        })
    );
}

#[test]
fn the_dac_over_a_7_digit_conta_equals_itau_published_dac_over_5_digits() {
    // agência 1501, conta 98790 ... the two padding zeros keep every weight.
    assert_eq!(dac("1501", "0009879"), dac("1501", "09879"));
    assert_eq!(dac("0001", "1"), Ok(dac("0001", "0000001").unwrap()));
}

#[test]
fn dac_matches_the_worked_example_and_known_codes() {
    assert_eq!(dac("1501", "0009879"), Ok(0));
    // Every digit sum mod 10 produces a different DAC: one code per DAC value.
    let mut seen = [false; 10];
    for conta in 0..40u32 {
        let d = dac("0000", &conta.to_string()).unwrap();
        seen[usize::from(d)] = true;
    }
    assert_eq!(seen, [true; 10]);
}

#[test]
fn compose_names_the_refused_part_and_why() {
    assert_eq!(
        CodigoConta::compose("001", "341", "15010", "9879"),
        Err(ComposeError::TooLong {
            parte: Parte::Agencia,
            found: 5
        })
    );
    assert_eq!(
        CodigoConta::compose("", "341", "1501", "9879"),
        Err(ComposeError::Empty {
            parte: Parte::Empresa
        })
    );
    assert_eq!(
        CodigoConta::compose("001", "3a1", "1501", "9879"),
        Err(ComposeError::NonDigit {
            parte: Parte::Banco,
            position: 2,
            found: 'a'
        })
    );
    assert_eq!(
        CodigoConta::compose("001", "341", "1501", "00098790")
            .unwrap_err()
            .to_string(),
        "conta: expected 1 to 7 digits, found 8 characters"
    );
    assert_eq!(dac("1501", "").unwrap_err().parte(), Parte::Conta);
}

#[test]
fn debug_masks_everything_after_the_agencia() {
    let codigo: CodigoConta = WORKED_EXAMPLE.parse().unwrap();
    let debug = format!("{codigo:?}");
    assert_eq!(debug, "CodigoConta(0013411501*)");
    assert!(!debug.contains("0009879"));
    assert_eq!(codigo.masked().to_string(), "0013411501*");
}

#[test]
fn codes_order_and_hash_by_their_digits() {
    use std::collections::HashSet;
    let a = CodigoConta::compose("001", "341", "1501", "1").unwrap();
    let b = CodigoConta::compose("001", "341", "1501", "2").unwrap();
    assert!(a < b);
    let set: HashSet<CodigoConta> = [a, b, a].into_iter().collect();
    assert_eq!(set.len(), 2);
}
