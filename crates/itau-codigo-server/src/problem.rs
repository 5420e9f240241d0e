//! Every error response: `application/problem+json` (RFC 9457) with the request's
//! correlation ID.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use itau_codigo::{FieldError, Problem, ProblemType, detail};

/// The media type of problem bodies.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// A problem response of `problem_type` with its usual status.
pub(crate) fn problem_response(
    problem_type: ProblemType,
    detail: impl Into<String>,
    correlation_id: &str,
) -> HttpResponse {
    respond(Problem::new(problem_type, detail, correlation_id))
}

/// An `invalid-request` response listing every failing member.
pub(crate) fn invalid_request(errors: Vec<FieldError>, correlation_id: &str) -> HttpResponse {
    let detail = detail::invalid_request(errors.len());
    let mut problem = Problem::new(ProblemType::InvalidRequest, detail, correlation_id);
    problem.errors = Some(errors);
    respond(problem)
}

/// The response for a problem whose status may differ from its type's usual one
/// (`store-unavailable` is 503 on `/readyz`).
pub(crate) fn respond(problem: Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .content_type(PROBLEM_JSON)
        .json(problem)
}
