//! The service from outside: a real app on a real store (a SQLite file or a PostgreSQL
//! database), over real HTTP.

mod alerts;
mod backup;
mod cli;
mod cli_conventions;
mod clients;
mod conformance;
mod consulta;
mod docs;
mod errors;
mod faults;
mod helpers;
mod hostile;
mod lifecycle;
mod metrics;
mod operations;
mod otlp;
mod pg_passfile;
mod postgres;
mod private_files;
mod process;
mod prometheus;
mod readonly;
mod rolling_restart;
mod rotation;
mod secrets;
mod security;
mod standby;
mod stores;
mod upgrade;
mod venv;
