//! CPF and CNPJ (Brazilian taxpayer numbers) check digits.

use std::fmt;

/// What kind of taxpayer number a `cpf_cnpj` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TipoDocumento {
    /// CPF, 11 digits: a natural person (pessoa física, `tipo_pessoa` `F`).
    Cpf,
    /// CNPJ, 14 characters: a legal entity (pessoa jurídica, `tipo_pessoa` `J`).
    Cnpj,
}

impl TipoDocumento {
    /// The `tipo_pessoa` that goes with this kind of number.
    pub fn tipo_pessoa(self) -> &'static str {
        match self {
            Self::Cpf => "F",
            Self::Cnpj => "J",
        }
    }
}

/// Why a `cpf_cnpj` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentoError {
    /// Neither 11 (CPF) nor 14 (CNPJ) characters.
    Length {
        /// How many characters were found.
        found: usize,
    },
    /// A character not allowed at its position: CPFs are all digits; a CNPJ's first 12
    /// characters are digits or upper-case letters and its last two are digits.
    Character {
        /// 1-based position.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// One character repeated throughout (`11111111111`): the check digits add up, but
    /// no such number is issued.
    Repeated,
    /// The check digits do not match.
    CheckDigits {
        /// Which kind of number was checked.
        tipo: TipoDocumento,
        /// The two check digits found.
        found: [u8; 2],
        /// The two check digits computed.
        expected: [u8; 2],
    },
}

/// Says which rule failed and where, never what was found: no character of the number
/// and no check digit, found or expected, since import reports end up in job logs. The
/// evidence stays in the variant's fields for a caller that wants it.
impl fmt::Display for DocumentoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Length { found } => write!(
                f,
                "expected 11 digits (CPF) or 14 characters (CNPJ), found {found} characters"
            ),
            Self::Character { position, .. } => write!(
                f,
                "unexpected character at position {position}: a CPF is all digits; \
                 a CNPJ is 12 digits or upper-case letters and 2 digits"
            ),
            Self::Repeated => {
                f.write_str("one character repeated throughout is not a valid number")
            }
            Self::CheckDigits { tipo, .. } => {
                let tipo = match tipo {
                    TipoDocumento::Cpf => "CPF",
                    TipoDocumento::Cnpj => "CNPJ",
                };
                write!(f, "wrong {tipo} check digits")
            }
        }
    }
}

impl std::error::Error for DocumentoError {}

/// Checks a CPF (11 digits) or a CNPJ (14 characters, numeric or alphanumeric) and says
/// which it is.
///
/// The alphanumeric CNPJ (issued from July 2026) has 12 characters that are digits or
/// upper-case letters, each valued as its ASCII code minus 48, followed by two numeric
/// check digits under the same módulo 11 weights as the numeric CNPJ.
///
/// # Examples
///
/// ```
/// use itau_codigo::{TipoDocumento, validate_cpf_cnpj};
///
/// assert_eq!(validate_cpf_cnpj("52998224725"), Ok(TipoDocumento::Cpf));
/// assert_eq!(validate_cpf_cnpj("11222333000181"), Ok(TipoDocumento::Cnpj));
/// assert_eq!(validate_cpf_cnpj("12ABC34501DE35"), Ok(TipoDocumento::Cnpj));
/// assert!(validate_cpf_cnpj("11111111111").is_err());
/// ```
///
/// # Errors
///
/// [`DocumentoError`] for a wrong length, a character not allowed where it stands, one
/// character repeated throughout, or wrong check digits.
pub fn validate_cpf_cnpj(s: &str) -> Result<TipoDocumento, DocumentoError> {
    let tipo = match s.chars().count() {
        11 => TipoDocumento::Cpf,
        14 => TipoDocumento::Cnpj,
        found => return Err(DocumentoError::Length { found }),
    };
    let body_len = match tipo {
        TipoDocumento::Cpf => 9,
        TipoDocumento::Cnpj => 12,
    };
    for (index, c) in s.chars().enumerate() {
        let allowed = match tipo {
            TipoDocumento::Cnpj if index < body_len => c.is_ascii_digit() || c.is_ascii_uppercase(),
            _ => c.is_ascii_digit(),
        };
        if !allowed {
            return Err(DocumentoError::Character {
                position: index + 1,
                found: c,
            });
        }
    }
    // Every character is ASCII now, so bytes are characters.
    let bytes = s.as_bytes();
    if bytes.iter().all(|&b| b == bytes[0]) {
        return Err(DocumentoError::Repeated);
    }
    let expected = match tipo {
        TipoDocumento::Cpf => {
            let first = cpf_check_digit(&bytes[..9]);
            let second = cpf_check_digit(&bytes[..10]);
            [first, second]
        }
        TipoDocumento::Cnpj => {
            let first = cnpj_check_digit(&bytes[..12]);
            let second = cnpj_check_digit(&bytes[..13]);
            [first, second]
        }
    };
    let found = [bytes[body_len] - b'0', bytes[body_len + 1] - b'0'];
    if found == expected {
        Ok(tipo)
    } else {
        Err(DocumentoError::CheckDigits {
            tipo,
            found,
            expected,
        })
    }
}

/// A character's value in a check digit's sum: its ASCII code minus 48 (a digit's
/// value; for the letters of an alphanumeric CNPJ, 17 for `A` onwards).
fn value(character: u8) -> u32 {
    u32::from(character - b'0')
}

/// CPF: weights n+1 down to 2 over the n digits; remainder of sum * 10 by 11, 10 -> 0.
fn cpf_check_digit(digits: &[u8]) -> u8 {
    let weight_start = digits.len() as u32 + 1;
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, &c)| value(c) * (weight_start - i as u32))
        .sum();
    (sum * 10 % 11 % 10) as u8
}

/// CNPJ: weights 2..=9 cycling from the right; 11 - remainder, 10 and 11 -> 0.
fn cnpj_check_digit(characters: &[u8]) -> u8 {
    let sum: u32 = characters
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &c)| value(c) * (2 + i as u32 % 8))
        .sum();
    let remainder = sum % 11;
    if remainder < 2 {
        0
    } else {
        (11 - remainder) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_characters_and_a_non_ascii_character_is_named() {
        assert_eq!(
            validate_cpf_cnpj("5299822472é"),
            Err(DocumentoError::Character {
                position: 11,
                found: 'é'
            })
        );
        assert_eq!(
            validate_cpf_cnpj("529982247"),
            Err(DocumentoError::Length { found: 9 })
        );
        assert_eq!(
            validate_cpf_cnpj("12ABC34501DE3É"),
            Err(DocumentoError::Character {
                position: 14,
                found: 'É'
            })
        );
    }

    #[test]
    fn check_digit_errors_carry_found_and_expected() {
        assert_eq!(
            validate_cpf_cnpj("52998224724"),
            Err(DocumentoError::CheckDigits {
                tipo: TipoDocumento::Cpf,
                found: [2, 4],
                expected: [2, 5]
            })
        );
        assert_eq!(
            validate_cpf_cnpj("00000000000000"),
            Err(DocumentoError::Repeated)
        );
    }
}
