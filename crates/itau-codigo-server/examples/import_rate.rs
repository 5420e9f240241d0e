//! Where an import's time goes: validating the lines, and storing them.
//!
//! `cargo run --release -p itau-codigo-server --example import_rate -- FILE DB_URL`
//!
//! Parses, validates and encodes (`store::encode_record`, which an import runs beside
//! validation) every line of FILE first (timed on its own), then stores the encoded
//! records into DB_URL in one import transaction (timed on its own), so the
//! store's rate is not hidden behind the validation's. `itau-codigo import` does both
//! at once; its rate is at most the lower of the two.

use std::time::Instant;

use itau_codigo::RegistroCliente;
use itau_codigo_server::store::{self, DbLocation};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, db] = args.as_slice() else {
        return Err("usage: import_rate FILE DB_URL".into());
    };
    let text = std::fs::read_to_string(file)?;

    let started = Instant::now();
    let records = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            RegistroCliente::from_json_line(line)
                .map(|registro| {
                    let key = store::key(&registro.codigo_conta);
                    (key, store::encode_record(&registro))
                })
                .map_err(|e| format!("{e:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let validating = started.elapsed();

    let mut importer = store::open_importer(&DbLocation::parse(db)?)?;
    let started = Instant::now();
    let mut session = importer.begin(false)?;
    let count = records.len();
    for (key, encoded) in &records {
        session.upsert(*key, encoded)?;
    }
    session.commit()?;
    let storing = started.elapsed();

    let rate = |seconds: f64| count as f64 / seconds;
    println!(
        "{} records: validating {:.2} s ({:.0} records/s), storing {:.2} s ({:.0} records/s)",
        count,
        validating.as_secs_f64(),
        rate(validating.as_secs_f64()),
        storing.as_secs_f64(),
        rate(storing.as_secs_f64()),
    );
    Ok(())
}
