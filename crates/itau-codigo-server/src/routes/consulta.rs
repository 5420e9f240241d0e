//! `POST /apiaccess/rest/ccmessaging/v1/itau/codigo`: the contract's order of checks is
//! the order of the lines below.

use std::panic::AssertUnwindSafe;

use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use futures_util::FutureExt;
use itau_codigo::{ConsultaClienteRequest, MAX_BODY_BYTES, ProblemType, RequestError, detail};

use crate::auth::Refusal;
use crate::otel::{LookupOutcome, StoreLookup, TraceScope};
use crate::problem::{invalid_request, problem_response};
use crate::request_context::{ConsultaLog, client_of, ids_of};
use crate::state::AppState;
use crate::store::StoreError;

pub(super) async fn consulta(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    // A panic would drop the connection without an answer; the contract wants a problem
    // body, and the worker must go on serving.
    let outcome = AssertUnwindSafe(answer(&request, payload, &state))
        .catch_unwind()
        .await;
    let mut response = match outcome {
        Ok(Ok(response)) => response,
        // The IDs only for a problem body: an answer takes them from the middleware.
        Ok(Err(error)) => error.respond(&state, &ids_of(&request).correlation_id),
        Err(_panic) => {
            tracing::error!("the consulta handler panicked");
            problem_response(
                ProblemType::Internal,
                detail::INTERNAL,
                &ids_of(&request).correlation_id,
            )
        }
    };
    forbid_caching(&mut response);
    response
}

/// Every answer of the consulta, a problem too, is about one customer's account: no
/// browser, proxy or gateway cache may keep it (OWASP API8).
pub(super) fn forbid_caching(response: &mut HttpResponse) {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
}

async fn answer(
    request: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<HttpResponse, ConsultaError> {
    state
        .auth
        .authenticate(request.headers(), client_of(request))?;
    require_json(request.headers())?;
    let body = read_body(payload, request.headers(), state).await?;
    let consulta = ConsultaClienteRequest::from_json(&body)?;
    request.extensions_mut().insert(ConsultaLog {
        codigo: consulta.codigo_conta(),
        servico_digital: consulta.servico_digital().map(str::to_owned),
    });
    // The store renders the answer from bytes stored ready to send (`store::format`).
    let lookup = store_lookup(request);
    let answer = state.store.answer(&consulta).await;
    lookup.finish(match &answer {
        Ok(Some(_)) => LookupOutcome::Found,
        Ok(None) => LookupOutcome::NotFound,
        Err(_) => LookupOutcome::Failed,
    });
    let body = answer?.ok_or(ConsultaError::AccountNotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        ))
        .body(body))
}

/// The store lookup's span, when the request is recorded ([`crate::otel`]).
fn store_lookup(request: &HttpRequest) -> StoreLookup {
    request
        .extensions()
        .get::<TraceScope>()
        .map_or_else(StoreLookup::none, TraceScope::store_lookup)
}

/// Why a consulta got no customer.
#[derive(Debug, thiserror::Error)]
enum ConsultaError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("unsupported content type")]
    UnsupportedMediaType,
    #[error("body larger than {MAX_BODY_BYTES} bytes")]
    PayloadTooLarge,
    #[error("body not received within the client timeout")]
    Timeout,
    #[error("body could not be read: {0}")]
    BodyRead(actix_web::Error),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("no such account")]
    AccountNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ConsultaError {
    fn respond(self, state: &AppState, correlation_id: &str) -> HttpResponse {
        let problem =
            |problem_type, detail: String| problem_response(problem_type, detail, correlation_id);
        match self {
            // The body is the same whatever went wrong; the log says which.
            Self::Refused(Refusal::Unauthorized(_)) => {
                problem(ProblemType::Unauthorized, detail::UNAUTHORIZED.into())
            }
            Self::Refused(Refusal::LockedOut { retry_after }) => {
                let mut response = problem(ProblemType::Unauthorized, detail::UNAUTHORIZED.into());
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
                response
            }
            Self::UnsupportedMediaType => problem(
                ProblemType::UnsupportedMediaType,
                detail::UNSUPPORTED_MEDIA_TYPE.into(),
            ),
            Self::PayloadTooLarge => {
                problem(ProblemType::PayloadTooLarge, detail::payload_too_large())
            }
            Self::Timeout => problem(
                ProblemType::RequestTimeout,
                detail::request_timeout(state.client_timeout.as_millis()),
            ),
            Self::BodyRead(_) => {
                problem(ProblemType::MalformedJson, detail::BODY_INCOMPLETE.into())
            }
            Self::Request(RequestError::MalformedJson { message }) => {
                problem(ProblemType::MalformedJson, detail::malformed_json(message))
            }
            Self::Request(RequestError::Invalid { errors }) => {
                invalid_request(errors, correlation_id)
            }
            Self::Request(other) => problem(ProblemType::InvalidRequest, other.to_string()),
            Self::AccountNotFound => problem(
                ProblemType::AccountNotFound,
                detail::ACCOUNT_NOT_FOUND.into(),
            ),
            Self::Store(error) => {
                state.metrics.store_error();
                tracing::error!(error = %error, "store failure while answering a consulta");
                problem(
                    ProblemType::StoreUnavailable,
                    detail::STORE_UNAVAILABLE.into(),
                )
            }
        }
    }
}

/// `application/json`, with or without parameters, or no Content-Type at all.
fn require_json(headers: &HeaderMap) -> Result<(), ConsultaError> {
    let mut values = headers.get_all(header::CONTENT_TYPE);
    let Some(value) = values.next() else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match essence {
        Some(essence)
            if values.next().is_none() && essence.eq_ignore_ascii_case("application/json") =>
        {
            Ok(())
        }
        _ => Err(ConsultaError::UnsupportedMediaType),
    }
}

async fn read_body(
    payload: web::Payload,
    headers: &HeaderMap,
    state: &AppState,
) -> Result<web::Bytes, ConsultaError> {
    // A declared length over the limit is refused before reading a byte of it.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(ConsultaError::PayloadTooLarge);
    }
    match tokio::time::timeout(
        state.client_timeout,
        payload.to_bytes_limited(MAX_BODY_BYTES),
    )
    .await
    {
        Err(_elapsed) => Err(ConsultaError::Timeout),
        Ok(Err(_limit)) => Err(ConsultaError::PayloadTooLarge),
        Ok(Ok(Err(error))) => Err(ConsultaError::BodyRead(error)),
        Ok(Ok(Ok(body))) => Ok(body),
    }
}
