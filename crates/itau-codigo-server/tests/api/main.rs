//! The service from outside: a real app on a real store (a SQLite file or a PostgreSQL
//! database), over real HTTP.

mod cli;
mod consulta;
mod errors;
mod helpers;
mod operations;
mod postgres;
mod stores;
