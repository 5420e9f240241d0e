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
pub mod paths;
pub mod problem;
pub mod request_context;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
