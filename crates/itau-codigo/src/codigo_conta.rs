//! The validated 18-digit Itaú account code.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::FieldErrorCode;

/// Number of characters in an account code.
pub const LENGTH: usize = 18;

const EMPRESA: std::ops::Range<usize> = 0..3;
const BANCO: std::ops::Range<usize> = 3..6;
const AGENCIA: std::ops::Range<usize> = 6..10;
const CONTA: std::ops::Range<usize> = 10..17;
const DAC: usize = 17;

/// An Itaú account code (`codigo_conta`): empresa (3) + banco (3) + agência (4) +
/// conta corrente (7) + DAC (1), 18 ASCII digits in all.
///
/// Once a `CodigoConta` exists it is valid: the only ways in ([`FromStr`],
/// [`CodigoConta::parse_lenient`], [`CodigoConta::compose`] and serde) check the length,
/// the digits and the DAC. It is a plain `Copy` value of 18 bytes; nothing is allocated.
///
/// `Debug` masks the code (only empresa, banco and agência show), because a full account
/// code is covered by bank secrecy and must not reach logs; `Display` writes all 18 digits.
///
/// # Examples
///
/// ```
/// use itau_codigo::CodigoConta;
///
/// let codigo: CodigoConta = "001341150100098790".parse()?;
/// assert_eq!(codigo.agencia(), "1501");
/// assert_eq!(codigo.conta(), "0009879");
/// assert_eq!(codigo.dac(), 0);
/// assert_eq!(format!("{codigo:?}"), "CodigoConta(0013411501*)");
///
/// let wrong_dac = "001341150100098791".parse::<CodigoConta>().unwrap_err();
/// assert_eq!(wrong_dac.to_string(), "wrong DAC (check digit): found 1, expected 0");
/// # Ok::<(), itau_codigo::CodigoContaError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodigoConta {
    /// Invariant: 18 ASCII digits, and `digits[17]` is the DAC of `digits[6..17]`.
    digits: [u8; LENGTH],
}

/// Why a string is not an account code. The checks run in this order and the first
/// failure decides: length, then digits, then the DAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodigoContaError {
    /// Not 18 characters long (counted in Unicode scalar values; for the lenient
    /// spelling, not counting the ignored separators).
    Length {
        /// How many characters were found.
        found: usize,
    },
    /// A character that is not an ASCII digit `0`-`9`.
    NonDigit {
        /// 1-based position of the character in the input, as typed.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// The check digit does not match agência and conta.
    Dac {
        /// The DAC the code carries.
        found: u8,
        /// The DAC computed from agência and conta.
        expected: u8,
    },
}

impl CodigoContaError {
    /// The stable machine-readable code of this failure, as used in problem bodies:
    /// [`FieldErrorCode::Length`], [`FieldErrorCode::NotDigits`] or
    /// [`FieldErrorCode::DacMismatch`].
    pub fn code(&self) -> FieldErrorCode {
        FieldErrorCode::from(self)
    }
}

impl From<&CodigoContaError> for FieldErrorCode {
    fn from(error: &CodigoContaError) -> Self {
        match error {
            CodigoContaError::Length { .. } => Self::Length,
            CodigoContaError::NonDigit { .. } => Self::NotDigits,
            CodigoContaError::Dac { .. } => Self::DacMismatch,
        }
    }
}

impl fmt::Display for CodigoContaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Length { found } => {
                write!(f, "expected {LENGTH} digits, found {found} characters")
            }
            Self::NonDigit { position, found } => {
                write!(
                    f,
                    "expected a digit 0-9 at position {position}, found {found:?}"
                )
            }
            Self::Dac { found, expected } => {
                write!(
                    f,
                    "wrong DAC (check digit): found {found}, expected {expected}"
                )
            }
        }
    }
}

impl std::error::Error for CodigoContaError {}

impl CodigoContaError {
    /// The reason without the evidence: which rule failed and where, but not the
    /// character or the DAC found and expected. For reports that outlive the request
    /// and reach other readers (an import's, which ends up in job logs); `Display`,
    /// for the one who typed or sent the code, shows the evidence.
    pub(crate) fn reason_without_values(&self) -> String {
        match *self {
            Self::Length { .. } => self.to_string(),
            Self::NonDigit { position, .. } => {
                format!("expected a digit 0-9 at position {position}")
            }
            Self::Dac { .. } => "wrong DAC (check digit)".to_owned(),
        }
    }
}

/// One of the parts that [`CodigoConta::compose`] and [`dac`] take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Parte {
    /// Empresa, 3 digits.
    Empresa,
    /// Banco, 3 digits.
    Banco,
    /// Agência (branch), 4 digits.
    Agencia,
    /// Conta corrente (current account), 7 digits.
    Conta,
}

impl Parte {
    /// The part's name as a field name (`empresa`, `banco`, `agencia`, `conta`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Empresa => "empresa",
            Self::Banco => "banco",
            Self::Agencia => "agencia",
            Self::Conta => "conta",
        }
    }

    /// How many digits the part has in an account code.
    pub fn width(self) -> usize {
        match self {
            Self::Empresa | Self::Banco => 3,
            Self::Agencia => 4,
            Self::Conta => 7,
        }
    }
}

impl fmt::Display for Parte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a part given to [`CodigoConta::compose`] or [`dac`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComposeError {
    /// The part is empty.
    Empty {
        /// Which part.
        parte: Parte,
    },
    /// The part has more characters than its width.
    TooLong {
        /// Which part.
        parte: Parte,
        /// How many characters were found.
        found: usize,
    },
    /// The part holds a character that is not an ASCII digit.
    NonDigit {
        /// Which part.
        parte: Parte,
        /// 1-based position of the character within the part.
        position: usize,
        /// The offending character.
        found: char,
    },
}

impl ComposeError {
    /// The part that was refused.
    pub fn parte(&self) -> Parte {
        match *self {
            Self::Empty { parte } | Self::TooLong { parte, .. } | Self::NonDigit { parte, .. } => {
                parte
            }
        }
    }
}

impl fmt::Display for ComposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parte = self.parte();
        let width = parte.width();
        match *self {
            Self::Empty { .. } => write!(f, "{parte}: expected 1 to {width} digits, found none"),
            Self::TooLong { found, .. } => {
                write!(
                    f,
                    "{parte}: expected 1 to {width} digits, found {found} characters"
                )
            }
            Self::NonDigit {
                position, found, ..
            } => write!(
                f,
                "{parte}: expected a digit 0-9 at position {position}, found {found:?}"
            ),
        }
    }
}

impl std::error::Error for ComposeError {}

/// Itaú's "módulo 10" check digit (DAC) over agência and conta corrente.
///
/// Each part is 1 to its width of digits (4 for agência, 7 for conta) and is left-padded
/// with zeros before weighting, so `dac("1501", "9879")` is the DAC of `1501` + `0009879`.
/// Weights 2, 1, 2, 1, ... run from the right-most digit leftwards; the *digits* of each
/// product are added (16 counts 1 + 6), and the DAC is `(10 - sum % 10) % 10`.
///
/// # Examples
///
/// ```
/// assert_eq!(itau_codigo::dac("1501", "0009879")?, 0);
/// assert_eq!(itau_codigo::dac("1501", "9879")?, 0);
/// assert!(itau_codigo::dac("15O1", "9879").is_err());
/// # Ok::<(), itau_codigo::ComposeError>(())
/// ```
///
/// # Errors
///
/// [`ComposeError`] when a part is empty, longer than its width, or holds a character
/// that is not an ASCII digit.
pub fn dac(agencia: &str, conta: &str) -> Result<u8, ComposeError> {
    let mut digits = [b'0'; 11];
    pad_into(&mut digits[0..4], agencia, Parte::Agencia)?;
    pad_into(&mut digits[4..11], conta, Parte::Conta)?;
    Ok(dac_of(&digits))
}

/// The DAC of 11 ASCII digits (agência + conta), which the caller has checked.
#[inline]
fn dac_of(agencia_conta: &[u8]) -> u8 {
    // Digit sum of each digit doubled: 2*d when d < 5, else 2*d - 9.
    const DOUBLED: [u8; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    let mut sum = 0u32;
    for (i, &b) in agencia_conta.iter().rev().enumerate() {
        let d = b - b'0';
        sum += u32::from(if i % 2 == 0 {
            DOUBLED[usize::from(d)]
        } else {
            d
        });
    }
    // `sum` is at most 11 * 9, so the result is a single digit.
    ((10 - sum % 10) % 10) as u8
}

/// Copies `part` right-aligned into `out` (which is pre-filled with zeros).
fn pad_into(out: &mut [u8], part: &str, parte: Parte) -> Result<(), ComposeError> {
    if part.is_empty() {
        return Err(ComposeError::Empty { parte });
    }
    let found = part.chars().count();
    if found > out.len() {
        return Err(ComposeError::TooLong { parte, found });
    }
    if let Some((index, found)) = part.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(ComposeError::NonDigit {
            parte,
            position: index + 1,
            found,
        });
    }
    // All ASCII now, so bytes are characters.
    let start = out.len() - part.len();
    out[start..].copy_from_slice(part.as_bytes());
    Ok(())
}

impl CodigoConta {
    /// Builds an account code from its parts and computes the DAC.
    ///
    /// Each part is 1 to its width of digits (3, 3, 4, 7) and is left-padded with zeros:
    /// `"9879"` as conta becomes `0009879`.
    ///
    /// # Examples
    ///
    /// ```
    /// use itau_codigo::CodigoConta;
    ///
    /// let codigo = CodigoConta::compose("001", "341", "1501", "9879")?;
    /// assert_eq!(codigo.to_string(), "001341150100098790");
    /// assert!(CodigoConta::compose("001", "341", "15010", "9879").is_err());
    /// # Ok::<(), itau_codigo::ComposeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ComposeError`] naming the first part (in the order empresa, banco, agência,
    /// conta) that is empty, too long, or not all ASCII digits.
    pub fn compose(
        empresa: &str,
        banco: &str,
        agencia: &str,
        conta: &str,
    ) -> Result<Self, ComposeError> {
        let mut digits = [b'0'; LENGTH];
        pad_into(&mut digits[EMPRESA], empresa, Parte::Empresa)?;
        pad_into(&mut digits[BANCO], banco, Parte::Banco)?;
        pad_into(&mut digits[AGENCIA], agencia, Parte::Agencia)?;
        pad_into(&mut digits[CONTA], conta, Parte::Conta)?;
        digits[DAC] = b'0' + dac_of(&digits[AGENCIA.start..CONTA.end]);
        Ok(Self { digits })
    }

    /// Parses the spelling people type: spaces, dots, dashes and slashes are ignored
    /// (`001 341 1501 0009879-0`, `001.341.1501/0009879-0`); everything else is as
    /// strict as [`FromStr`]. Positions in errors are positions in the input as typed.
    ///
    /// The API never uses this: on the wire the code is exactly 18 digits.
    ///
    /// # Examples
    ///
    /// ```
    /// use itau_codigo::{CodigoConta, CodigoContaError};
    ///
    /// let codigo = CodigoConta::parse_lenient("001.341 1501/0009879-0")?;
    /// assert_eq!(codigo.to_string(), "001341150100098790");
    /// assert_eq!(
    ///     CodigoConta::parse_lenient("001 341 15O1 0009879 0"),
    ///     Err(CodigoContaError::NonDigit { position: 11, found: 'O' }),
    /// );
    /// # Ok::<(), CodigoContaError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`FromStr`], counting only the characters that are not separators.
    pub fn parse_lenient(input: &str) -> Result<Self, CodigoContaError> {
        let significant = || {
            input
                .chars()
                .enumerate()
                .filter(|(_, c)| !matches!(c, ' ' | '.' | '-' | '/'))
        };
        let found = significant().count();
        if found != LENGTH {
            return Err(CodigoContaError::Length { found });
        }
        let mut digits = [0u8; LENGTH];
        for (slot, (index, c)) in digits.iter_mut().zip(significant()) {
            if !c.is_ascii_digit() {
                return Err(CodigoContaError::NonDigit {
                    position: index + 1,
                    found: c,
                });
            }
            *slot = c as u8;
        }
        Self::from_digits(digits)
    }

    /// Checks the DAC of 18 ASCII digits.
    #[inline]
    fn from_digits(digits: [u8; LENGTH]) -> Result<Self, CodigoContaError> {
        let expected = dac_of(&digits[AGENCIA.start..CONTA.end]);
        let found = digits[DAC] - b'0';
        if found == expected {
            Ok(Self { digits })
        } else {
            Err(CodigoContaError::Dac { found, expected })
        }
    }

    /// The 18 digits.
    pub fn as_str(&self) -> &str {
        self.slice(0..LENGTH)
    }

    /// Empresa (company), 3 digits.
    pub fn empresa(&self) -> &str {
        self.slice(EMPRESA)
    }

    /// Banco (bank), 3 digits.
    pub fn banco(&self) -> &str {
        self.slice(BANCO)
    }

    /// Agência (branch), 4 digits.
    pub fn agencia(&self) -> &str {
        self.slice(AGENCIA)
    }

    /// Conta corrente (current account), 7 digits.
    pub fn conta(&self) -> &str {
        self.slice(CONTA)
    }

    /// The DAC (check digit), 0-9.
    pub fn dac(&self) -> u8 {
        self.digits[DAC] - b'0'
    }

    /// The code as logs may show it: empresa, banco and agência, then `*`.
    ///
    /// ```
    /// let codigo: itau_codigo::CodigoConta = "001341150100098790".parse()?;
    /// assert_eq!(codigo.masked().to_string(), "0013411501*");
    /// # Ok::<(), itau_codigo::CodigoContaError>(())
    /// ```
    pub fn masked(&self) -> Masked<'_> {
        Masked(self)
    }

    fn slice(&self, range: std::ops::Range<usize>) -> &str {
        match std::str::from_utf8(&self.digits[range]) {
            Ok(s) => s,
            // The invariant says ASCII digits.
            Err(_) => unreachable!("CodigoConta holds ASCII digits"),
        }
    }
}

/// The masked form of an account code, from [`CodigoConta::masked`].
#[derive(Clone, Copy)]
pub struct Masked<'a>(&'a CodigoConta);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.slice(0..AGENCIA.end))?;
        f.write_str("*")
    }
}

impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for CodigoConta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodigoConta({})", self.masked())
    }
}

impl fmt::Display for CodigoConta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for CodigoConta {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for CodigoConta {
    type Err = CodigoContaError;

    /// Parses exactly 18 ASCII digits with a matching DAC; nothing else is accepted
    /// (no spaces, no separators, no non-ASCII digits).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The fast path: 18 ASCII digits. Anything else is checked in the contract's
        // order, counting characters rather than bytes.
        match <[u8; LENGTH]>::try_from(s.as_bytes()) {
            Ok(digits) if digits.iter().all(u8::is_ascii_digit) => Self::from_digits(digits),
            _ => Err(slow_path_error(s)),
        }
    }
}

/// Why `s` is not 18 ASCII digits: its length in characters, else its first non-digit.
#[cold]
fn slow_path_error(s: &str) -> CodigoContaError {
    let found = s.chars().count();
    if found == LENGTH {
        first_non_digit(s)
    } else {
        CodigoContaError::Length { found }
    }
}

/// The error for the first character of `s` that is not an ASCII digit; `s` has one.
#[cold]
fn first_non_digit(s: &str) -> CodigoContaError {
    let (index, found) = s
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_digit())
        .unwrap_or((0, '\u{FFFD}'));
    CodigoContaError::NonDigit {
        position: index + 1,
        found,
    }
}

impl TryFrom<&str> for CodigoConta {
    type Error = CodigoContaError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<String> for CodigoConta {
    type Error = CodigoContaError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CodigoConta> for String {
    fn from(codigo: CodigoConta) -> Self {
        codigo.as_str().to_owned()
    }
}

impl Serialize for CodigoConta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CodigoConta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl de::Visitor<'_> for Visitor {
            type Value = CodigoConta;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an account code of 18 digits")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<CodigoConta, E> {
                s.parse()
                    .map_err(|e| E::custom(format_args!("invalid codigo_conta: {e}")))
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

impl JsonSchema for CodigoConta {
    fn schema_name() -> Cow<'static, str> {
        "CodigoConta".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::CodigoConta").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "title": "Account code (codigo_conta)",
            "description": "Itaú account code, exactly 18 ASCII digits: empresa (company, 3) + banco \
                (bank, 3) + agência (branch, 4) + conta corrente (current account, 7) + DAC (check \
                digit, 1). The DAC is Itaú's módulo 10 over the 11 digits agência + conta: weights \
                2, 1, 2, 1, ... from the right-most digit leftwards, add the digits of each product \
                (16 counts 1 + 6), DAC = (10 - sum mod 10) mod 10. The pattern cannot express the \
                DAC: a code that matches it with a wrong DAC is refused with code dac_mismatch.",
            "pattern": "^[0-9]{18}$",
            "minLength": 18,
            "maxLength": 18,
            "examples": ["001341150100098790"],
        })
    }
}
