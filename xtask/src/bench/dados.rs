//! The benchmark's data, from `dados_sinteticos` with the accounts spread over every
//! agência: the records of a store, the account codes `mix.lua` asks for, and the
//! median 200 body the ceiling answers with.

use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use dados_sinteticos::Options;
use itau_codigo::{ConsultaClienteRequest, ConsultaClienteResponse};

/// The files of one store size.
#[derive(Debug, Clone)]
pub(crate) struct Data {
    /// The JSON Lines of accounts `0..size`.
    pub(crate) records: PathBuf,
    /// The codes of accounts `0..2 * size`, 19 bytes a line: the first `size` are
    /// stored, the others are valid codes that never are.
    pub(crate) codes: PathBuf,
}

/// Writes the files of `size` accounts into `out`, unless the ones there are what the
/// generator gives today.
pub(crate) fn generate(out: &Path, size: u64) -> anyhow::Result<Data> {
    let data = Data {
        records: out.join(format!("clientes-{size}.jsonl")),
        codes: out.join(format!("codigos-{size}.txt")),
    };
    let stamp = data.records.with_extension("jsonl.stamp");
    let version = format!("{:016x}\n", fingerprint(size)?);
    let fresh = data.records.exists()
        && data.codes.exists()
        && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&version);
    if fresh {
        return Ok(data);
    }
    eprintln!(
        "bench: generating {size} accounts into {}",
        data.records.display()
    );
    let started = Instant::now();
    let options = Options::default();
    let create = |path: &Path| {
        File::create(path).with_context(|| format!("cannot create {}", path.display()))
    };
    dados_sinteticos::write_records(create(&data.records)?, size, &options)
        .with_context(|| format!("cannot write {}", data.records.display()))?;
    dados_sinteticos::write_codes(create(&data.codes)?, 0..2 * size, &options)
        .with_context(|| format!("cannot write {}", data.codes.display()))?;
    std::fs::write(&stamp, version)?;
    eprintln!(
        "bench: generated in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(data)
}

/// What the generator gives for a sample of a store of `size`: files with another
/// fingerprint are stale.
fn fingerprint(size: u64) -> anyhow::Result<u64> {
    let options = Options::default();
    let mut sample = Vec::new();
    for i in (0..size.min(100)).chain([size.saturating_sub(1), 2 * size.max(1) - 1]) {
        serde_json::to_writer(&mut sample, &dados_sinteticos::registro(i, &options))?;
    }
    let mut hasher = DefaultHasher::new();
    (size, sample).hash(&mut hasher);
    Ok(hasher.finish())
}

/// The body the service answers for a found account: the median size over a sample
/// of accounts, asked half with `tipo_estrutura` AP and half without (as `mix.lua`).
pub(crate) fn typical_200(count: u64) -> Vec<u8> {
    let sample = count.min(1000);
    let mut bodies: Vec<Vec<u8>> = (0..sample)
        .flat_map(|i| {
            let registro = dados_sinteticos::registro(i * (count / sample), &Options::default());
            [None, Some("AP")].map(|selector| {
                let request = ConsultaClienteRequest::new(registro.codigo_conta)
                    .with_tipo_estrutura(selector.unwrap_or_default())
                    .expect("a selector of the generator is short");
                let mut dados = registro.data.clone();
                let gerentes = dados.gerentes.take().unwrap_or_default();
                let gerente = request.select_gerente(&gerentes).cloned();
                let response = ConsultaClienteResponse {
                    data: Some(dados.into_dados_cliente(gerente)),
                };
                serde_json::to_vec(&response).expect("serialisable")
            })
        })
        .collect();
    bodies.sort_by_key(Vec::len);
    bodies.swap_remove(bodies.len() / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typical_200_is_about_a_kilobyte() {
        let body = typical_200(1000);
        assert!((500..2000).contains(&body.len()), "{}", body.len());
    }
}
