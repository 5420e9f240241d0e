//! What an import's parsing thread does for each line, alone: read the line (its
//! structure rules, the types, the field rules) and render the record as the store keeps
//! it (`store::encode_record`), on a typical line (`dados_sinteticos::typical_line`,
//! about 1.4 KiB).
//! Beside it, in the same run, the same line down the precise road
//! (`RegistroCliente::from_json_line_precise`, which builds a `serde_json::Value` and
//! names every failing member): the yardstick the import's road is compared with.
//! Run with `cargo bench -p itau-codigo-server --bench import_line`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use itau_codigo::RegistroCliente;
use itau_codigo_server::store;

/// As in the `itau-codigo` binary, whose allocator the import runs on.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What a parsing thread hands to the sort: the account's key and the stored bytes.
fn encode(registro: &RegistroCliente) -> (i64, Vec<u8>) {
    (
        store::key(&registro.codigo_conta),
        store::encode_record(registro),
    )
}

fn import_line(c: &mut Criterion) {
    let line = dados_sinteticos::typical_line();
    let mut group = c.benchmark_group(format!("import_line/{}_bytes", line.len()));
    group.bench_function("from_json_line", |b| {
        b.iter(|| {
            let registro = RegistroCliente::from_json_line(black_box(&line)).unwrap();
            black_box(encode(&registro))
        })
    });
    group.bench_function("precise", |b| {
        b.iter(|| {
            let registro = RegistroCliente::from_json_line_precise(black_box(&line)).unwrap();
            black_box(encode(&registro))
        })
    });
    let registro = RegistroCliente::from_json_line(&line).unwrap();
    group.bench_function("encode_record_alone", |b| {
        b.iter(|| black_box(encode(black_box(&registro))))
    });
    group.finish();
}

criterion_group!(benches, import_line);
criterion_main!(benches);
