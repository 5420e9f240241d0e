//! A consulta's lookup by each embedded engine, side by side in one run, over the same
//! accounts: the server's SQLite store (copied and memory-mapped reads), LMDB, redb.
//! Accounts drawn at random across the whole store, as `cargo xtask bench`'s mix does.
//!
//! `cargo bench -p itau-codigo-bench-engines --bench lookup` (1 000 000 accounts; set
//! `BENCH_ENGINES_ACCOUNTS` for another size). The stores are built once, under the
//! target directory's `bench-engines/`. In test mode (`-- --test`) 1 000 accounts.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use itau_codigo_bench_engines::{EngineKind, Stores};

/// As in the `itau-codigo` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How many consultas one pass cycles through: drawn once, so that drawing is not timed.
const DRAWN: usize = 1 << 16;

fn accounts() -> u64 {
    if std::env::args().any(|arg| arg == "--test") {
        return 1_000;
    }
    std::env::var("BENCH_ENGINES_ACCOUNTS").map_or(1_000_000, |value| {
        value
            .parse()
            .expect("BENCH_ENGINES_ACCOUNTS: a number of accounts")
    })
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    )
}

/// A fixed xorshift, so that every engine meets the same accounts in the same order.
fn draw(count: usize, below: usize) -> Vec<usize> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        })
        .collect()
}

fn lookup(c: &mut Criterion) {
    let accounts = accounts();
    let stores = Stores::at(&target_dir().join("bench-engines"), accounts).unwrap();
    let order = draw(DRAWN, stores.consultas.len());
    let mut group = c.benchmark_group(format!("lookup/{accounts}_accounts"));
    for kind in EngineKind::ALL {
        eprintln!(
            "{}: {} bytes on disk",
            kind.name(),
            stores.bytes_on_disk(kind)
        );
        let engine = stores.engine(kind).unwrap();
        // Every page once, so that each engine starts from the OS cache, not the disk.
        for consulta in &stores.consultas {
            black_box(engine.answer(consulta));
        }
        let mut next = 0;
        group.bench_function(kind.name(), |b| {
            b.iter(|| {
                next = (next + 1) % DRAWN;
                black_box(engine.answer(black_box(&stores.consultas[order[next]])))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lookup);
criterion_main!(benches);
