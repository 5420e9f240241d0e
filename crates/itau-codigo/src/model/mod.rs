//! The wire types, named after the spec.

pub(crate) mod cliente;
pub(crate) mod examples;
pub(crate) mod problem;
pub(crate) mod registro;
pub(crate) mod request;
pub(crate) mod rules;
