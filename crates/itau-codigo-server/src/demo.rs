//! The demo data set: synthetic customers (generated CPF/CNPJ, e-mails at example.com),
//! embedded in the binary so that `serve --demo` needs nothing else.

use std::sync::Arc;

use anyhow::Context;

use crate::auth::PasswordSource;
use crate::import::{ImportOptions, import};
use crate::store::{SqliteStore, Store};

/// The demo records, one JSON object per line.
pub(crate) const DATA: &str = include_str!("../demo/clientes.jsonl");

/// The account code the printed curl command asks for (a person with three managers).
pub(crate) const EXAMPLE_CODIGO_CONTA: &str = "001341150100098790";

/// A curl command that works as pasted against a demo server at `base_url`. The
/// password appears literally only when it is the demo's own `demo`.
pub(crate) fn curl_command(base_url: &str, username: &str, password: &PasswordSource) -> String {
    let password = match password {
        PasswordSource::DemoDefault => "'password: demo'".to_owned(),
        PasswordSource::File(path) => format!("\"password: $(cat '{}')\"", path.display()),
        PasswordSource::Environment | PasswordSource::Literal => {
            "\"password: $ITAU_CODIGO_PASSWORD\"".to_owned()
        }
    };
    let insecure = if base_url.starts_with("https") {
        "-k "
    } else {
        ""
    };
    format!(
        "curl -sS {insecure}-X POST '{base_url}{path}' -H 'Content-Type: application/json' -H 'userName: {user}' -H {password} -d '{{\"codigo_conta\": \"{EXAMPLE_CODIGO_CONTA}\"}}'",
        path = itau_codigo::schema::CONSULTA_PATH,
        user = username.replace('\'', "'\\''"),
    )
}

/// A new in-memory SQLite store holding the demo data, with up to `pool_size`
/// connections.
///
/// # Errors
///
/// SQLite could not create the database, or the data did not import (a bug: the data
/// ships with the binary).
pub(crate) fn open_store(pool_size: u32) -> anyhow::Result<Arc<dyn Store>> {
    let store = SqliteStore::in_memory(pool_size)?;
    let mut importer = store.importer()?;
    let mut errors = Vec::new();
    import(
        DATA.as_bytes(),
        &mut importer,
        &ImportOptions::default(),
        &mut errors,
    )
    .with_context(|| {
        format!(
            "loading the demo data: {}",
            String::from_utf8_lossy(&errors)
        )
    })?;
    drop(importer);
    Ok(Arc::new(store))
}
