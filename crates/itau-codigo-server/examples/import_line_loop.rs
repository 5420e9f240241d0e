//! An import line's work repeated, for profilers that count a whole run: callgrind's
//! instruction counts, `perf record`. The same work as `benches/import_line.rs`, on the
//! same line (`dados_sinteticos::typical_line`).
//!
//! `cargo run --release -p itau-codigo-server --example import_line_loop -- ROAD N`
//!
//! ROAD is `import` (what a parsing thread of `import` does: `from_json_line`, then
//! `store::encode_record`), `read` (`from_json_line` alone) or `precise`
//! (`from_json_line_precise`, then `store::encode_record`). A run with N = 0 costs the
//! setup alone: subtract it, then divide by N.

use std::hint::black_box;

use itau_codigo::RegistroCliente;
use itau_codigo_server::store;

/// As in the `itau-codigo` binary, whose allocator the import runs on.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [road, count] = args.as_slice() else {
        return Err("usage: import_line_loop import|read|precise N".into());
    };
    let count: u64 = count.parse()?;
    let line = dados_sinteticos::typical_line();
    let road: fn(&str) = match road.as_str() {
        "import" => |line| {
            let registro = RegistroCliente::from_json_line(line).expect("a valid line");
            black_box(store::encode_record(&registro));
        },
        "read" => |line| {
            black_box(RegistroCliente::from_json_line(line).expect("a valid line"));
        },
        "precise" => |line| {
            let registro = RegistroCliente::from_json_line_precise(line).expect("a valid line");
            black_box(store::encode_record(&registro));
        },
        other => return Err(format!("unknown road {other:?}: import, read or precise").into()),
    };
    for _ in 0..count {
        road(black_box(&line));
    }
    Ok(())
}
