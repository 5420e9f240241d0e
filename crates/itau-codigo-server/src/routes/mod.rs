//! The routes: the API, operations endpoints, and the problem bodies for unknown paths
//! and methods.

mod consulta;
pub(crate) mod docs;
mod ops;

use actix_web::http::header;
use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Responder, guard, web};
use itau_codigo::{ProblemType, detail};

use crate::paths::{CONSULTA_PATH, HEALTHZ, METRICS, OPENAPI, READYZ};
use crate::problem::problem_response;
use crate::request_context::ids_of;

/// Registers every route. Unknown paths are handled by the app's default service.
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config.service(
        web::resource(CONSULTA_PATH)
            .route(web::post().to(consulta::consulta))
            .default_service(web::to(|request: HttpRequest| async move {
                let mut response = method_not_allowed(&request, "POST");
                consulta::forbid_caching(&mut response);
                response
            })),
    );
    config
        .service(read_only(HEALTHZ, ops::healthz))
        .service(read_only(READYZ, ops::readyz))
        .service(read_only(METRICS, ops::metrics))
        .service(read_only(OPENAPI, ops::openapi));
}

/// An operations resource: GET and HEAD reach `handler`, other methods get a 405.
fn read_only<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .route(
            web::route()
                .guard(guard::Any(guard::Get()).or(guard::Head()))
                .to(handler),
        )
        .default_service(web::to(get_only))
}

async fn get_only(request: HttpRequest) -> HttpResponse {
    method_not_allowed(&request, "GET, HEAD")
}

fn method_not_allowed(request: &HttpRequest, allow: &'static str) -> HttpResponse {
    let ids = ids_of(request);
    let detail = detail::method_not_allowed(request.method(), request.path(), allow);
    let mut response = problem_response(ProblemType::MethodNotAllowed, detail, &ids.correlation_id);
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}

/// The app's default service: no route for this path (a trailing slash included). It
/// is one of the API's 404s, and carries that 404's headers: a mistyped API path may
/// hold personal data in its query, and a client sees one set of headers per status.
pub(crate) async fn route_not_found(request: HttpRequest) -> HttpResponse {
    let ids = ids_of(&request);
    let mut response = problem_response(
        ProblemType::RouteNotFound,
        detail::ROUTE_NOT_FOUND,
        &ids.correlation_id,
    );
    consulta::forbid_caching(&mut response);
    response
}
