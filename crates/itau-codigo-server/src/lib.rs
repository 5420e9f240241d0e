//! The chat_itau_codigo service (actix-web) and the `itau-codigo` command line, on top of
//! the [`itau_codigo`] core crate.

pub mod cli;
pub mod config;
pub mod conta;
pub mod demo;
pub mod import;
pub mod metrics;
pub mod problem;
pub mod request_context;
pub mod routes;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod throttle;
