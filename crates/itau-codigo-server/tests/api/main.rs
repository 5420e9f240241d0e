//! The service from outside: a real app on a real SQLite file, over real HTTP.

mod cli;
mod consulta;
mod errors;
mod faults;
mod helpers;
mod hostile;
mod lifecycle;
mod operations;
mod process;
mod security;
