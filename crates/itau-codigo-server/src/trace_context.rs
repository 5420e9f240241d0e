//! W3C Trace Context: the `traceparent` and `tracestate` a caller sends
//! (<https://www.w3.org/TR/trace-context/>), and the `traceresponse` the service answers
//! with (Trace Context Level 2). Parsing only: whether the trace is recorded and by whom
//! is [`crate::otel`]'s business.

use std::fmt;
use std::str::FromStr;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

/// `traceparent`: the caller's trace and its span.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// `tracestate`: vendors' data that travels with the trace.
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
/// `traceresponse`: the trace the service recorded the request in, and its span.
pub const TRACERESPONSE: HeaderName = HeaderName::from_static("traceresponse");

/// The length of a version-00 `traceparent`: `00-` + 32 + `-` + 16 + `-` + 2.
const LENGTH: usize = 55;

/// The longest `tracestate` carried on (the specification's "at least 512 characters").
pub const MAX_TRACESTATE_BYTES: usize = 512;

/// A caller's `traceparent`, parsed: the trace it belongs to, the caller's span in it
/// (the parent of ours) and its flags (bit 0: the caller records the trace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// Never all zeros.
    pub trace_id: TraceId,
    /// Never all zeros.
    pub parent_id: SpanId,
    /// As sent; only the sampled bit means anything to this service.
    pub flags: TraceFlags,
}

/// The part of a `traceparent` that is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The two digits before the first dash.
    Version,
    /// The 32 digits of the trace ID.
    TraceId,
    /// The 16 digits of the parent (caller's span) ID.
    ParentId,
    /// The two digits of the flags.
    Flags,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Version => "version",
            Self::TraceId => "trace-id",
            Self::ParentId => "parent-id",
            Self::Flags => "trace-flags",
        })
    }
}

/// Why a `traceparent` cannot be used: the service then starts a new trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceParentError {
    /// The header was sent more than once.
    #[error("traceparent sent more than once")]
    Repeated,
    /// Not 55 bytes (version 00), or shorter than 55 (a later version).
    #[error("traceparent is {found} bytes long, expected {LENGTH}")]
    Length {
        /// Its length in bytes.
        found: usize,
    },
    /// A dash is missing where the format puts one (after byte 2, 35 or 52, or after
    /// the flags of a later version).
    #[error("traceparent has no dash at byte {position}")]
    Dash {
        /// 0-based.
        position: usize,
    },
    /// A part is not lowercase hexadecimal (upper case is refused).
    #[error("traceparent {part} is not lowercase hexadecimal")]
    NotLowercaseHex {
        /// Which part.
        part: Part,
    },
    /// Version `ff`, which the specification forbids.
    #[error("traceparent version ff is invalid")]
    VersionFf,
    /// A trace ID or parent ID of zeros only.
    #[error("traceparent {part} is all zeros")]
    AllZeros {
        /// [`Part::TraceId`] or [`Part::ParentId`].
        part: Part,
    },
}

impl TraceParent {
    /// The `traceparent` of `headers`: `None` without one, an error for one that
    /// cannot be used.
    ///
    /// # Errors
    ///
    /// The header is repeated, or its value is not a `traceparent` (see [`Self::parse`]).
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, TraceParentError> {
        let mut values = headers.get_all(TRACEPARENT);
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(TraceParentError::Repeated);
        }
        Self::parse(value.as_bytes()).map(Some)
    }

    /// Parses one `traceparent` value. Version 00 is exactly
    /// `00-<32 hex>-<16 hex>-<2 hex>`, in lower case; a later version (not `ff`) is read
    /// the same way from its first 55 bytes, which must be the whole value or be followed
    /// by a dash, so that a caller ahead of this service still continues its trace.
    ///
    /// # Errors
    ///
    /// The first rule the value breaks, in the order of its bytes.
    pub fn parse(value: &[u8]) -> Result<Self, TraceParentError> {
        if value.len() < LENGTH {
            return Err(TraceParentError::Length { found: value.len() });
        }
        let version = hex::<1>(&value[0..2], Part::Version)?;
        let version = version[0];
        if version == 0xff {
            return Err(TraceParentError::VersionFf);
        }
        if version == 0 && value.len() != LENGTH {
            return Err(TraceParentError::Length { found: value.len() });
        }
        for position in [2, 35, 52] {
            if value[position] != b'-' {
                return Err(TraceParentError::Dash { position });
            }
        }
        let trace_id = hex::<16>(&value[3..35], Part::TraceId)?;
        let parent_id = hex::<8>(&value[36..52], Part::ParentId)?;
        let flags = hex::<1>(&value[53..55], Part::Flags)?;
        if value.len() > LENGTH && value[LENGTH] != b'-' {
            return Err(TraceParentError::Dash { position: LENGTH });
        }
        if trace_id == [0; 16] {
            return Err(TraceParentError::AllZeros {
                part: Part::TraceId,
            });
        }
        if parent_id == [0; 8] {
            return Err(TraceParentError::AllZeros {
                part: Part::ParentId,
            });
        }
        Ok(Self {
            trace_id: TraceId::from_bytes(trace_id),
            parent_id: SpanId::from_bytes(parent_id),
            flags: TraceFlags::new(flags[0]),
        })
    }
}

/// `N` bytes from `2 × N` lowercase hexadecimal digits.
fn hex<const N: usize>(digits: &[u8], part: Part) -> Result<[u8; N], TraceParentError> {
    let error = TraceParentError::NotLowercaseHex { part };
    let value = |digit: u8| match digit {
        b'0'..=b'9' => Ok(digit - b'0'),
        b'a'..=b'f' => Ok(digit - b'a' + 10),
        _ => Err(error),
    };
    let mut bytes = [0; N];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = value(pair[0])? << 4 | value(pair[1])?;
    }
    Ok(bytes)
}

/// The caller's `tracestate` (its header fields joined, as HTTP allows), when it is
/// well-formed and at most [`MAX_TRACESTATE_BYTES`] long; otherwise none, which the
/// specification allows (the `traceparent` still counts).
pub fn tracestate(headers: &HeaderMap) -> TraceState {
    let mut joined = String::new();
    for value in headers.get_all(TRACESTATE) {
        let Ok(text) = value.to_str() else {
            return TraceState::NONE;
        };
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(text);
        if joined.len() > MAX_TRACESTATE_BYTES {
            return TraceState::NONE;
        }
    }
    TraceState::from_str(&joined).unwrap_or(TraceState::NONE)
}

/// The `traceresponse` value: version 00, the trace, the service's span in it, and
/// whether the service records it (the sampled flag).
pub fn traceresponse(trace_id: TraceId, span_id: SpanId, sampled: bool) -> HeaderValue {
    let mut text = [b'-'; LENGTH];
    write_hex(&mut text[0..2], &[0]);
    write_hex(&mut text[3..35], &trace_id.to_bytes());
    write_hex(&mut text[36..52], &span_id.to_bytes());
    write_hex(&mut text[53..55], &[u8::from(sampled)]);
    HeaderValue::from_bytes(&text).expect("hex digits and dashes are a valid header value")
}

/// A trace ID as logs write it: 32 lowercase hexadecimal digits, made without `fmt`
/// (every request logs one, twice).
#[derive(Debug, Clone, Copy)]
pub struct TraceIdText([u8; 32]);

impl TraceIdText {
    /// The digits of `trace_id`.
    pub fn new(trace_id: TraceId) -> Self {
        let mut text = [0; 32];
        write_hex(&mut text, &trace_id.to_bytes());
        Self(text)
    }

    /// As text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

/// Two lowercase hexadecimal digits per byte of `bytes` into `out`.
fn write_hex(out: &mut [u8], bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::headers;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn parse(text: &str) -> Result<TraceParent, TraceParentError> {
        TraceParent::parse(text.as_bytes())
    }

    #[test]
    fn a_version_00_traceparent_gives_its_trace_parent_and_flags() {
        let parsed = parse(VALID).unwrap();
        assert_eq!(
            parsed.trace_id.to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(parsed.parent_id.to_string(), "00f067aa0ba902b7");
        assert!(parsed.flags.is_sampled());
        let unsampled = parse(&VALID.replace("-01", "-00")).unwrap();
        assert!(!unsampled.flags.is_sampled());
        // Flags the service does not know are kept, not refused.
        assert_eq!(
            parse(&VALID.replace("-01", "-03")).unwrap().flags.to_u8(),
            3
        );
    }

    #[test]
    fn upper_case_hex_is_refused_in_every_part() {
        for (text, part) in [
            (
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                Part::TraceId,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
                Part::ParentId,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
                Part::Flags,
            ),
            (
                "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                Part::Version,
            ),
        ] {
            assert_eq!(
                parse(text),
                Err(TraceParentError::NotLowercaseHex { part }),
                "{text}"
            );
        }
    }

    #[test]
    fn all_zero_ids_are_refused() {
        assert_eq!(
            parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            Err(TraceParentError::AllZeros {
                part: Part::TraceId
            })
        );
        assert_eq!(
            parse("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),
            Err(TraceParentError::AllZeros {
                part: Part::ParentId
            })
        );
    }

    #[test]
    fn version_ff_is_refused() {
        assert_eq!(
            parse(&VALID.replacen("00", "ff", 1)),
            Err(TraceParentError::VersionFf)
        );
    }

    #[test]
    fn version_00_is_exactly_55_bytes() {
        assert_eq!(
            parse(&VALID[..54]),
            Err(TraceParentError::Length { found: 54 })
        );
        assert_eq!(
            parse(&format!("{VALID}-")),
            Err(TraceParentError::Length { found: 56 })
        );
        assert_eq!(
            parse(&format!(" {VALID}")),
            Err(TraceParentError::NotLowercaseHex {
                part: Part::Version
            })
        );
        assert_eq!(parse(""), Err(TraceParentError::Length { found: 0 }));
    }

    #[test]
    fn dashes_are_where_the_format_puts_them() {
        assert_eq!(
            parse(&VALID.replacen('-', "_", 1)),
            Err(TraceParentError::Dash { position: 2 })
        );
        let no_second = format!("{}x{}", &VALID[..35], &VALID[36..]);
        assert_eq!(
            parse(&no_second),
            Err(TraceParentError::Dash { position: 35 })
        );
        let no_third = format!("{}x{}", &VALID[..52], &VALID[53..]);
        assert_eq!(
            parse(&no_third),
            Err(TraceParentError::Dash { position: 52 })
        );
    }

    #[test]
    fn a_later_version_is_read_from_its_first_55_bytes() {
        let later = VALID.replacen("00", "01", 1);
        assert_eq!(parse(&later).unwrap(), parse(VALID).unwrap());
        assert_eq!(
            parse(&format!("{later}-what-comes-next")).unwrap(),
            parse(VALID).unwrap()
        );
        assert_eq!(
            parse(&format!("{later}x")),
            Err(TraceParentError::Dash { position: 55 })
        );
    }

    #[test]
    fn a_repeated_or_absent_traceparent_gives_no_parent() {
        assert_eq!(TraceParent::from_headers(&headers(&[])), Ok(None));
        assert_eq!(
            TraceParent::from_headers(&headers(&[("traceparent", VALID)]))
                .unwrap()
                .unwrap(),
            parse(VALID).unwrap()
        );
        assert_eq!(
            TraceParent::from_headers(&headers(&[("traceparent", VALID), ("traceparent", VALID)])),
            Err(TraceParentError::Repeated)
        );
    }

    #[test]
    fn tracestate_fields_are_joined_and_a_bad_one_is_dropped() {
        let state = tracestate(&headers(&[
            ("tracestate", "congo=t61rcWkgMzE"),
            ("tracestate", "rojo=00f067aa0ba902b7"),
        ]));
        assert_eq!(state.header(), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
        assert_eq!(
            tracestate(&headers(&[("tracestate", "no equals sign")])).header(),
            ""
        );
        let long = format!("k={}", "v".repeat(MAX_TRACESTATE_BYTES));
        assert_eq!(tracestate(&headers(&[("tracestate", &long)])).header(), "");
    }

    #[test]
    fn trace_id_text_is_the_lowercase_hex_display_writes() {
        let trace_id = parse(VALID).unwrap().trace_id;
        assert_eq!(TraceIdText::new(trace_id).as_str(), trace_id.to_string());
        assert_eq!(TraceIdText::new(TraceId::INVALID).as_str(), "0".repeat(32));
    }

    #[test]
    fn traceresponse_is_version_00_with_the_services_span() {
        let parsed = parse(VALID).unwrap();
        let span = SpanId::from_bytes([0xab, 0, 0, 0, 0, 0, 0, 0x01]);
        assert_eq!(
            traceresponse(parsed.trace_id, span, true),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-ab00000000000001-01"
        );
        assert_eq!(
            traceresponse(parsed.trace_id, span, false),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-ab00000000000001-00"
        );
    }
}
