//! Parsing an account code against the obvious alternative: a regex for the shape, then
//! a plain DAC loop. Run with `cargo bench -p itau-codigo --bench parse`.

use std::hint::black_box;
use std::sync::LazyLock;

use criterion::{Criterion, criterion_group, criterion_main};
use itau_codigo::CodigoConta;
use regex::Regex;

const VALID: &str = "001341150100098790";
const WRONG_DAC: &str = "001341150100098791";
const NOT_DIGITS: &str = "0013411501000987x0";

static SHAPE: LazyLock<Regex> = LazyLock::new(|| Regex::new("^[0-9]{18}$").unwrap());

/// The baseline: regex match, then the módulo 10 over agência + conta.
fn baseline(code: &str) -> bool {
    if !SHAPE.is_match(code) {
        return false;
    }
    let digits: Vec<u32> = code.chars().map(|c| c.to_digit(10).unwrap_or(0)).collect();
    let mut sum = 0;
    for (i, d) in digits[6..17].iter().rev().enumerate() {
        let product = if i % 2 == 0 { d * 2 } else { *d };
        sum += product / 10 + product % 10;
    }
    (10 - sum % 10) % 10 == digits[17]
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.bench_function("codigo_conta/valid", |b| {
        b.iter(|| black_box(black_box(VALID).parse::<CodigoConta>()))
    });
    group.bench_function("codigo_conta/wrong_dac", |b| {
        b.iter(|| black_box(black_box(WRONG_DAC).parse::<CodigoConta>()))
    });
    group.bench_function("codigo_conta/not_digits", |b| {
        b.iter(|| black_box(black_box(NOT_DIGITS).parse::<CodigoConta>()))
    });
    group.bench_function("baseline_regex_then_dac/valid", |b| {
        b.iter(|| black_box(baseline(black_box(VALID))))
    });
    group.bench_function("baseline_regex_then_dac/wrong_dac", |b| {
        b.iter(|| black_box(baseline(black_box(WRONG_DAC))))
    });
    group.bench_function("baseline_regex_then_dac/not_digits", |b| {
        b.iter(|| black_box(baseline(black_box(NOT_DIGITS))))
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
