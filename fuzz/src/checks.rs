//! What must hold for any input, checked with `assert!` so that libFuzzer reports a
//! violation as a crash. Each function takes the raw bytes libFuzzer generates.
//!
//! This file depends only on `itau_codigo` and `serde_json`: the core crate's tests
//! include it with `#[path]` and replay the committed inputs through it.

use itau_codigo::{
    CodigoConta, CodigoContaError, ConsultaClienteRequest, FieldErrorCode, MAX_LINE_BYTES,
    MAX_OPTIONAL_CHARS, RegistroCliente, RequestError, Validate, dac,
};
use serde_json::Value;

/// `CodigoConta`: the strict parser agrees with a reference written from the documented
/// rules, the lenient parser agrees with the strict one on the input without separators, a parsed
/// code survives every way out and back in, and `compose` agrees with parsing.
pub fn codigo_conta(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let strict = input.parse::<CodigoConta>();
    assert_eq!(
        strict.map(|c| c.to_string()),
        reference_parse(input),
        "input {input:?}"
    );
    if let Ok(codigo) = strict {
        round_trips(codigo, input);
    }
    check_lenient(input);
    check_compose(input);
}

/// The request body: `from_json` never panics, what it accepts serde's derived
/// `Deserialize` reads alike and re-serialises to itself, and what it refuses is named
/// with the documented codes on the documented members.
pub fn consulta_request(data: &[u8]) {
    let as_value = serde_json::from_slice::<Value>(data);
    match ConsultaClienteRequest::from_json(data) {
        Ok(request) => {
            for member in [
                request.tipo_estrutura(),
                request.segmento(),
                request.servico_digital(),
            ]
            .into_iter()
            .flatten()
            {
                assert!(!member.is_empty(), "\"\" must mean absent");
                assert!(member.chars().count() <= MAX_OPTIONAL_CHARS, "{member:?}");
            }
            let via_serde: ConsultaClienteRequest = serde_json::from_slice(data)
                .unwrap_or_else(|e| panic!("from_json accepts what serde refuses ({e})"));
            assert_eq!(via_serde, request, "from_json and Deserialize disagree");
            let written = serde_json::to_vec(&request).expect("a request serialises");
            assert_eq!(
                ConsultaClienteRequest::from_json(&written).as_ref(),
                Ok(&request),
                "re-parsing {}",
                String::from_utf8_lossy(&written)
            );
        }
        Err(RequestError::MalformedJson { message }) => {
            assert!(!message.is_empty());
            if as_value.is_ok() {
                assert!(
                    message.contains("given twice"),
                    "valid JSON refused as malformed: {message}"
                );
            }
        }
        Err(RequestError::Invalid { errors }) => {
            assert!(as_value.is_ok(), "invalid-request for malformed JSON");
            assert!(!errors.is_empty(), "invalid-request without errors");
            let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            let count = fields.len();
            fields.dedup();
            assert_eq!(fields.len(), count, "a member listed twice: {errors:?}");
            for error in &errors {
                let allowed: &[FieldErrorCode] = match error.field.as_str() {
                    "" => &[FieldErrorCode::InvalidType],
                    "codigo_conta" => &[
                        FieldErrorCode::Required,
                        FieldErrorCode::InvalidType,
                        FieldErrorCode::Length,
                        FieldErrorCode::NotDigits,
                        FieldErrorCode::DacMismatch,
                    ],
                    "tipo_estrutura" | "segmento" | "servico_digital" => {
                        &[FieldErrorCode::InvalidType, FieldErrorCode::TooLong]
                    }
                    other => panic!("error on an undocumented member {other:?}"),
                };
                assert!(allowed.contains(&error.code), "{error:?}");
                assert!(!error.message.is_empty(), "{error:?}");
            }
        }
        Err(other) => panic!("undocumented request error {other:?}"),
    }
}

/// One import line: `from_json_line` never panics, a record it accepts passes its own
/// rules and re-imports unchanged once written back, serde's `Deserialize` accepts and
/// builds the same (below the line length limit, which only a line has), and a refusal
/// says why.
pub fn registro_line(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = RegistroCliente::from_json_line(line);
    if line.len() <= MAX_LINE_BYTES {
        assert_eq!(
            serde_json::from_str::<RegistroCliente>(line).ok().as_ref(),
            parsed.as_ref().ok(),
            "from_json_line and Deserialize disagree"
        );
    }
    match parsed {
        Ok(registro) => {
            assert_eq!(registro.validate(), Ok(()));
            let _ = format!("{registro:?}");
            let written = serde_json::to_string(&registro).expect("a record serialises");
            if written.len() <= MAX_LINE_BYTES {
                let again = RegistroCliente::from_json_line(&written)
                    .unwrap_or_else(|e| panic!("a written record does not re-import: {e:?}"));
                assert_eq!(again, registro, "re-importing {written}");
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "a refusal without a reason");
            for error in &errors {
                assert!(!error.message.is_empty(), "{error:?}");
                let _ = error.to_string();
            }
        }
    }
}

/// The import's two roads agree on every line: the fast road alone
/// (`from_json_line_fast`, one pass) accepts exactly the lines the precise road accepts,
/// builds the same records, and reports the same errors for the lines it does not leave
/// to the precise road; and `from_json_line`, which falls back to the precise road for
/// what the fast road leaves, gives what the precise road gives.
pub fn registro_roads(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if line.len() > MAX_LINE_BYTES {
        return;
    }
    let precise = RegistroCliente::from_json_line_precise(line);
    match RegistroCliente::from_json_line_fast(line) {
        Some(fast) => assert_eq!(fast, precise, "the two roads disagree on {line}"),
        None => assert!(
            precise.is_err(),
            "the fast road leaves a line the precise road accepts: {line}"
        ),
    }
    assert_eq!(
        RegistroCliente::from_json_line(line),
        precise,
        "from_json_line and the precise road disagree on {line}"
    );
}

/// The documented rules (the core crate's README), written independently of the crate:
/// length in Unicode scalar values, then the first non-digit (1-based), then módulo 10
/// over agência + conta.
fn reference_parse(input: &str) -> Result<String, CodigoContaError> {
    let chars: Vec<char> = input.chars().collect();
    if chars.len() != 18 {
        return Err(CodigoContaError::Length { found: chars.len() });
    }
    if let Some((index, &found)) = chars.iter().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(CodigoContaError::NonDigit {
            position: index + 1,
            found,
        });
    }
    let digits: Vec<u32> = chars.iter().map(|c| c.to_digit(10).unwrap_or(0)).collect();
    let expected = reference_dac(&digits[6..17]);
    let found = digits[17];
    if found != expected {
        return Err(CodigoContaError::Dac {
            found: found as u8,
            expected: expected as u8,
        });
    }
    Ok(input.to_owned())
}

fn reference_dac(agencia_conta: &[u32]) -> u32 {
    let sum: u32 = agencia_conta
        .iter()
        .rev()
        .enumerate()
        .map(|(k, d)| d * if k % 2 == 0 { 2 } else { 1 })
        .map(|product| product / 10 + product % 10)
        .sum();
    (10 - sum % 10) % 10
}

fn round_trips(codigo: CodigoConta, input: &str) {
    assert_eq!(codigo.to_string(), input);
    assert_eq!(codigo.as_ref(), input);
    let parts = [
        codigo.empresa(),
        codigo.banco(),
        codigo.agencia(),
        codigo.conta(),
    ];
    assert_eq!(format!("{}{}", parts.concat(), codigo.dac()), input);
    assert_eq!(
        CodigoConta::compose(parts[0], parts[1], parts[2], parts[3]),
        Ok(codigo)
    );
    assert_eq!(dac(codigo.agencia(), codigo.conta()), Ok(codigo.dac()));
    assert_eq!(CodigoConta::try_from(input.to_owned()), Ok(codigo));
    assert_eq!(CodigoConta::parse_lenient(input), Ok(codigo));
    let json = serde_json::to_string(&codigo).expect("a code serialises");
    assert_eq!(json, format!("\"{input}\""));
    assert_eq!(
        serde_json::from_str::<CodigoConta>(&json).expect("and deserialises"),
        codigo
    );
    // Bank secrecy: Debug and the masked form show empresa, banco and agência only.
    assert_eq!(codigo.masked().to_string(), format!("{}*", &input[..10]));
    assert_eq!(
        format!("{codigo:?}"),
        format!("CodigoConta({}*)", &input[..10])
    );
}

fn check_lenient(input: &str) {
    let is_separator = |c: char| matches!(c, ' ' | '.' | '-' | '/');
    let stripped: String = input.chars().filter(|&c| !is_separator(c)).collect();
    match (
        CodigoConta::parse_lenient(input),
        stripped.parse::<CodigoConta>(),
    ) {
        (Ok(lenient), Ok(strict)) => assert_eq!(lenient, strict),
        (Err(CodigoContaError::NonDigit { position, found }), Err(strict)) => {
            assert!(
                matches!(strict, CodigoContaError::NonDigit { found: f, .. } if f == found),
                "lenient {found:?}, strict {strict:?}"
            );
            // The position is in the input as typed.
            assert_eq!(input.chars().nth(position - 1), Some(found), "{input:?}");
        }
        (Err(lenient), Err(strict)) => assert_eq!(lenient, strict, "{input:?}"),
        (lenient, strict) => panic!("lenient {lenient:?} but strict {strict:?} for {input:?}"),
    }
}

/// Splits the input on `|` into four parts and composes them: accepted exactly when each
/// part is 1 to its width of ASCII digits, and then it equals the padded concatenation.
fn check_compose(input: &str) {
    let parts: Vec<&str> = input.split('|').collect();
    let [empresa, banco, agencia, conta] = parts[..] else {
        return;
    };
    let fits = |part: &str, width: usize| {
        (1..=width).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
    };
    let valid = fits(empresa, 3) && fits(banco, 3) && fits(agencia, 4) && fits(conta, 7);
    match CodigoConta::compose(empresa, banco, agencia, conta) {
        Ok(codigo) => {
            assert!(valid, "compose accepted {parts:?}");
            let padded = format!("{empresa:0>3}{banco:0>3}{agencia:0>4}{conta:0>7}");
            assert_eq!(&codigo.to_string()[..17], padded);
            assert_eq!(dac(agencia, conta), Ok(codigo.dac()));
        }
        Err(error) => {
            assert!(!valid, "compose refused {parts:?}: {error}");
            assert!(dac(agencia, conta).is_err() || !fits(empresa, 3) || !fits(banco, 3));
        }
    }
}
