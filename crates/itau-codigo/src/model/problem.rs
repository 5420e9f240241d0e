//! The problem body (RFC 9457) of every error response.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{FieldError, open_enum};
use crate::model::request::{MAX_BODY_BYTES, max_body_kib};

/// What every problem `type` starts with.
pub(crate) const PREFIX: &str = "urn:itau-codigo:problem:";

/// Status of a problem built with a type this version does not know: what a service
/// answers for a failure it cannot name.
const UNKNOWN_STATUS: u16 = 500;
/// Title of a problem built with a type this version does not know.
const UNKNOWN_TITLE: &str = "Unknown problem type";

macro_rules! problem_types {
    ($($variant:ident => ($uri:literal, $status:literal, $title:literal, $doc:expr),)*) => {
        open_enum! {
            /// What went wrong, as the problem body's `type`
            /// (`urn:itau-codigo:problem:` followed by a slug).
            ///
            /// The service may add problem types in a minor version: a type this version
            /// does not know deserialises to [`ProblemType::Unknown`], which keeps the URI
            /// as received, instead of failing. It has no [`status`](Self::status) or
            /// [`title`](Self::title) of its own: read the body's `status` and `title`.
            /// The schemas list the known types only.
            ///
            /// ```
            /// use itau_codigo::ProblemType;
            ///
            /// let known: ProblemType = serde_json::from_str(r#""urn:itau-codigo:problem:unauthorized""#)?;
            /// assert_eq!(known, ProblemType::Unauthorized);
            /// assert_eq!((known.status(), known.title()), (Some(401), Some("Unauthorized")));
            ///
            /// let newer: ProblemType = serde_json::from_str(r#""urn:itau-codigo:problem:rate-limited""#)?;
            /// assert!(matches!(newer, ProblemType::Unknown(_)));
            /// assert_eq!((newer.uri(), newer.slug()), ("urn:itau-codigo:problem:rate-limited", "rate-limited"));
            /// assert_eq!((newer.status(), newer.title()), (None, None));
            /// assert_eq!(serde_json::to_string(&newer)?, r#""urn:itau-codigo:problem:rate-limited""#);
            /// # Ok::<(), serde_json::Error>(())
            /// ```
            pub enum ProblemType,
            schema "What went wrong, as the problem body's `type`\n(`urn:itau-codigo:problem:` followed by a slug). A minor version may add types: accept one not listed here (act on the HTTP status, show `title` and `detail`).",
            unknown "A type this version of the crate does not know (a newer service's), with its URI as received." {
                $($variant => ($uri, $doc),)*
            }
        }

        impl ProblemType {
            /// The HTTP status that goes with it (`store-unavailable` is 503 on `/readyz`);
            /// `None` for an unknown type, whose body's `status` is the only word on it.
            pub fn status(&self) -> Option<u16> {
                match self {
                    $(Self::$variant => Some($status),)*
                    Self::Unknown(_) => None,
                }
            }

            /// The short, fixed summary (`title`); `None` for an unknown type, whose
            /// body's `title` is the only word on it.
            pub fn title(&self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => Some($title),)*
                    Self::Unknown(_) => None,
                }
            }
        }
    };
}

problem_types! {
    UnsupportedMediaType => ("urn:itau-codigo:problem:unsupported-media-type", 400, "Unsupported media type", "The body is not `application/json`."),
    PayloadTooLarge => ("urn:itau-codigo:problem:payload-too-large", 400, "Payload too large", concat!("The body is larger than ", max_body_kib!(), " KiB.")),
    MalformedJson => ("urn:itau-codigo:problem:malformed-json", 400, "Malformed JSON", "The body is not one JSON document, or repeats a member."),
    InvalidRequest => ("urn:itau-codigo:problem:invalid-request", 400, "Invalid request", "Members are missing or wrong; `errors` lists every one."),
    Unauthorized => ("urn:itau-codigo:problem:unauthorized", 401, "Unauthorized", "The `userName`/`password` headers are missing or wrong."),
    AccountNotFound => ("urn:itau-codigo:problem:account-not-found", 404, "Account not found", "The account code is valid, but no such account is stored."),
    RouteNotFound => ("urn:itau-codigo:problem:route-not-found", 404, "Route not found", "No such path."),
    MethodNotAllowed => ("urn:itau-codigo:problem:method-not-allowed", 405, "Method not allowed", "The path exists but not for this method; see `Allow`."),
    RequestTimeout => ("urn:itau-codigo:problem:request-timeout", 408, "Request timeout", "The body did not arrive within the client timeout."),
    StoreUnavailable => ("urn:itau-codigo:problem:store-unavailable", 500, "Store unavailable", "The store failed to answer: 500 on the API, 503 on `/readyz`. Nothing internal is disclosed."),
    Internal => ("urn:itau-codigo:problem:internal", 500, "Internal error", "An unexpected error; nothing internal is disclosed."),
}

impl ProblemType {
    /// The `type` URI; an unknown type's as received.
    pub fn uri(&self) -> &str {
        self.wire()
    }

    /// The slug after `urn:itau-codigo:problem:`; for an unknown type that does not
    /// start with it, its whole URI.
    pub fn slug(&self) -> &str {
        let uri = self.uri();
        uri.strip_prefix(PREFIX).unwrap_or(uri)
    }
}

impl fmt::Display for ProblemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.uri())
    }
}

/// An error response body (`application/problem+json`, RFC 9457).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "Problem", extend("examples" = [super::examples::problem()]))]
pub struct Problem {
    /// What went wrong, as a URN; stable, for machines.
    #[serde(rename = "type")]
    pub problem_type: ProblemType,
    /// Short summary of the problem type; the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for people.
    pub detail: String,
    /// The request's `x-itau-correlationID`, or the one the service made for it.
    pub correlation_id: String,
    /// With `invalid-request`: every failing member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl Problem {
    /// A problem of `problem_type` with its title and status. A type this version does
    /// not know (only a received body has one) gets status 500 and the title
    /// `Unknown problem type`.
    pub fn new(
        problem_type: ProblemType,
        detail: impl Into<String>,
        correlation_id: impl Into<String>,
    ) -> Self {
        Self {
            title: problem_type.title().unwrap_or(UNKNOWN_TITLE).to_owned(),
            status: problem_type.status().unwrap_or(UNKNOWN_STATUS),
            problem_type,
            detail: detail.into(),
            correlation_id: correlation_id.into(),
            errors: None,
        }
    }
}

/// The `detail` of each problem the service sends, written once for the service and for
/// the examples of the schemas.
pub mod detail {
    use std::fmt::Display;

    use super::MAX_BODY_BYTES;

    /// `unsupported-media-type`.
    pub const UNSUPPORTED_MEDIA_TYPE: &str =
        "expected Content-Type application/json (parameters allowed) or none";
    /// `unauthorized`.
    pub const UNAUTHORIZED: &str = "missing or wrong userName/password headers";
    /// `account-not-found`.
    pub const ACCOUNT_NOT_FOUND: &str = "no account with this codigo_conta";
    /// `route-not-found`.
    pub const ROUTE_NOT_FOUND: &str = "no such path";
    /// `store-unavailable`, on the API.
    pub const STORE_UNAVAILABLE: &str = "the store failed to answer; try again later";
    /// `store-unavailable`, on `/readyz`.
    pub const STORE_NOT_READY: &str = "the store does not answer";
    /// `malformed-json` when the body stopped before its end.
    pub const BODY_INCOMPLETE: &str = "the body could not be read completely";
    /// `internal`.
    pub const INTERNAL: &str = "an unexpected error occurred";

    /// `payload-too-large`.
    #[must_use]
    pub fn payload_too_large() -> String {
        format!("the body is larger than {MAX_BODY_BYTES} bytes")
    }

    /// `malformed-json`, with the parser's reason.
    #[must_use]
    pub fn malformed_json(reason: impl Display) -> String {
        format!("the body is not valid JSON: {reason}")
    }

    /// `invalid-request`, with the number of failing members.
    #[must_use]
    pub fn invalid_request(members: usize) -> String {
        match members {
            1 => "the request has 1 invalid member".to_owned(),
            n => format!("the request has {n} invalid members"),
        }
    }

    /// `method-not-allowed`: the method, the path and the methods `Allow` lists.
    #[must_use]
    pub fn method_not_allowed(method: impl Display, path: &str, allow: &str) -> String {
        format!("{method} is not allowed on {path}; allowed: {allow}")
    }

    /// `request-timeout`, with the client timeout the body did not arrive within.
    #[must_use]
    pub fn request_timeout(milliseconds: u128) -> String {
        format!("the body did not arrive within {milliseconds} ms")
    }
}
