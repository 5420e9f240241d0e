//! Operations endpoints: liveness, readiness, metrics and the OpenAPI document. No
//! credentials: they disclose nothing about customers.

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};
use itau_codigo::{Problem, ProblemType, detail};

use crate::metrics::{ProcessFigures, Snapshot};
use crate::problem::respond;
use crate::request_context::RequestIds;
use crate::state::AppState;

/// The committed OpenAPI document, embedded at build time.
const OPENAPI: &str = include_str!("../../../../schemas/openapi.json");

pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body("ok\n")
}

pub(super) async fn readyz(state: web::Data<AppState>, ids: RequestIds) -> HttpResponse {
    // Not a problem of the store's: the replica is leaving, and says so plainly.
    if state.draining.is_on() {
        return HttpResponse::ServiceUnavailable()
            .content_type(ContentType::plaintext())
            .body("draining\n");
    }
    if state.readiness.store_up().await {
        HttpResponse::Ok()
            .content_type(ContentType::plaintext())
            .body("ready\n")
    } else {
        let mut problem = Problem::new(
            ProblemType::StoreUnavailable,
            detail::STORE_NOT_READY,
            ids.correlation_id,
        );
        problem.status = 503;
        respond(problem)
    }
}

pub(super) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    // A scrape refreshes `itau_codigo_store_up` through the same rate-limited check.
    state.readiness.store_up().await;
    let mut body = state.metrics.render();
    Snapshot {
        process: ProcessFigures::now(),
        pool: state.store.pool_status(),
        last_import: state.readiness.last_import().await,
    }
    .render(&mut body);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}

pub(super) async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(OPENAPI)
}
