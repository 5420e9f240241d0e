//! `cargo xtask schemas [--check]`: the committed schemas are exactly what the code
//! generates (`itau_codigo::schema::documents`).

use std::path::Path;

use crate::codegen::{self, Generated, Mode};

pub(crate) fn run(root: &Path, mode: Mode) -> anyhow::Result<()> {
    let files = itau_codigo::schema::documents()
        .into_iter()
        .map(|(name, text)| (name.to_owned(), text))
        .collect();
    let schemas = Generated {
        dir: "schemas",
        files,
        owned_suffix: None,
        command: "cargo xtask schemas",
    };
    codegen::ensure(root, &schemas, mode)
}
