//! The service from outside: a real app on a real store (a SQLite file or a PostgreSQL
//! database), over real HTTP.

mod cli;
mod consulta;
mod docs;
mod errors;
mod faults;
mod helpers;
mod hostile;
mod lifecycle;
mod operations;
mod postgres;
mod process;
mod rotation;
mod security;
mod stores;
