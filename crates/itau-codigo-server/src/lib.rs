//! The chat_itau_codigo service (actix-web) and the `itau-codigo` command line, on top of
//! the [`itau_codigo`] core crate.
//!
//! A request's way: [`startup`] builds the app from a [`config::ServeConfig`];
//! [`request_context`] wraps every request (IDs, access log, [`metrics`]); [`routes`]
//! answers it, past [`auth`], from a [`store`], through the shared [`state::AppState`];
//! every error leaves as a [`problem`]. [`paths`] is the route table both use.
//! Data comes in through [`import`]; [`cli`] is the `itau-codigo` binary.

pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod demo;
pub mod exit;
pub mod import;
pub mod metrics;
pub mod otel;
pub mod paths;
pub mod problem;
pub mod procfs;
pub mod readiness;
pub mod request_context;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod trace_context;

/// What the unit tests of several modules share.
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
