//! The problem body (RFC 9457) of every error response.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// What every problem `type` starts with.
pub(crate) const PREFIX: &str = "urn:itau-codigo:problem:";

macro_rules! problem_types {
    ($($variant:ident => ($uri:literal, $status:literal, $title:literal, $doc:literal),)*) => {
        /// What went wrong, as the problem body's `type`
        /// (`urn:itau-codigo:problem:` followed by a slug).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
        #[non_exhaustive]
        pub enum ProblemType {
            $(
                #[doc = $doc]
                #[serde(rename = $uri)]
                $variant,
            )*
        }

        impl ProblemType {
            /// Every problem type, in the order of the table in the repository's `docs/clients.md`.
            pub const ALL: &'static [ProblemType] = &[$(Self::$variant),*];

            /// The `type` URI.
            pub fn uri(self) -> &'static str {
                match self { $(Self::$variant => $uri),* }
            }

            /// The slug after `urn:itau-codigo:problem:`.
            pub fn slug(self) -> &'static str {
                &self.uri()[PREFIX.len()..]
            }

            /// The HTTP status that goes with it (`store-unavailable` is 503 on `/readyz`).
            pub fn status(self) -> u16 {
                match self { $(Self::$variant => $status),* }
            }

            /// The short, fixed summary (`title`).
            pub fn title(self) -> &'static str {
                match self { $(Self::$variant => $title),* }
            }
        }
    };
}

problem_types! {
    UnsupportedMediaType => ("urn:itau-codigo:problem:unsupported-media-type", 400, "Unsupported media type", "The body is not `application/json`."),
    PayloadTooLarge => ("urn:itau-codigo:problem:payload-too-large", 400, "Payload too large", "The body is larger than 16 KiB."),
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
    /// A problem of `problem_type` with its title and status.
    pub fn new(
        problem_type: ProblemType,
        detail: impl Into<String>,
        correlation_id: impl Into<String>,
    ) -> Self {
        Self {
            problem_type,
            title: problem_type.title().to_owned(),
            status: problem_type.status(),
            detail: detail.into(),
            correlation_id: correlation_id.into(),
            errors: None,
        }
    }
}
