//! The route table: every path the service answers. The routes register these paths and
//! the request middleware labels its metrics with them, so both depend on this module
//! and neither on the other.

// The paths the OpenAPI document declares are the core's (the document's owner).
pub(crate) use itau_codigo::schema::{
    CONSULTA_PATH, DOCS_PATH, HEALTHZ_PATH as HEALTHZ, METRICS_PATH as METRICS,
    OPENAPI_PATH as OPENAPI, READYZ_PATH as READYZ,
};
/// The interactive reference's assets, under names that hold a digest of their content.
pub(crate) const DOCS_ASSETS: &str = "/docs/assets/{file}";

/// Every path a route answers: each is its own metrics label.
const ROUTES: [&str; 7] = [
    CONSULTA_PATH,
    HEALTHZ,
    READYZ,
    METRICS,
    OPENAPI,
    DOCS_PATH,
    DOCS_ASSETS,
];

/// The metrics label of a matched route pattern; `None` for anything else, so that
/// unknown paths share one label and scanners cannot grow the number of series.
pub(crate) fn label(pattern: Option<&str>) -> Option<&'static str> {
    let pattern = pattern?;
    ROUTES.into_iter().find(|route| *route == pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_registered_paths_have_a_label() {
        assert_eq!(label(Some(CONSULTA_PATH)), Some(CONSULTA_PATH));
        assert_eq!(label(Some("/metrics")), Some(METRICS));
        assert_eq!(label(Some("/metrics/")), None);
        assert_eq!(label(None), None);
    }
}
