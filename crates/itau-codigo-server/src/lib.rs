//! The chat_itau_codigo service (actix-web) and the `itau-codigo` command line, on top of
//! the [`itau_codigo`] core crate.
//!
//! A request's way: [`startup`] builds the app from a [`config::ServeConfig`];
//! [`request_context`] wraps every request (IDs, access log, `metrics`); `routes`
//! answers it, past [`auth`], from a [`store`], through the shared `state::AppState`;
//! every error leaves as a `problem`. `paths` is the route table both use.
//! Data comes in through [`import`]; [`cli`] is the `itau-codigo` binary.
//!
//! The `pub` modules are the ones something outside the crate uses: the binary
//! (`main.rs`), the tests, examples and benches, `crates/bench-engines` and xtask (each
//! says which below). The others are the crate's own, so the compiler reports what in
//! them nothing uses.

// The tests and the examples build credentials.
pub mod auth;
// The binary; the tests and `engine-serve` parse its options.
pub mod cli;
pub(crate) mod client;
// The tests, the examples and `engine-serve` build a `ServeConfig`.
pub mod config;
pub(crate) mod demo;
pub(crate) mod exit;
// The tests and the examples import.
pub mod import;
pub(crate) mod metrics;
// The access-log bench records the request's trace.
pub mod otel;
pub(crate) mod paths;
pub(crate) mod problem;
// xtask's bench reads CPU and memory through it.
pub mod procfs;
pub(crate) mod readiness;
// The access-log bench measures its span and line.
pub mod request_context;
pub(crate) mod routes;
pub(crate) mod shutdown;
// The tests, the examples and `engine-serve` start the application.
pub mod startup;
pub(crate) mod state;
// The tests, the benches, `crates/bench-engines` and xtask open and read stores.
pub mod store;
// The tests, the benches and `engine-serve` install the log subscriber.
pub mod telemetry;
// The access-log bench reads and writes trace headers.
pub mod trace_context;

#[cfg(test)]
pub(crate) mod test_support {
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

    /// Request headers from `(name, value)` pairs, in order, a repeated name kept twice.
    pub(crate) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }
}
