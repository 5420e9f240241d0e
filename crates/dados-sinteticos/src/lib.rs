//! Synthetic customers for import files: realistic in shape and size (like
//! `crates/itau-codigo-server/demo/clientes.jsonl`, about 1.4 KiB a line), valid under
//! `itau-codigo import`, and deterministic: record `i` depends only on `i` and the
//! [`Options`], so the same arguments give the same bytes on every machine and in
//! every run.
//!
//! The one generator of the project: the server's tests, `cargo xtask bench`,
//! `cargo xtask gen` and the soak (`scripts/soak.sh`) all use it. Account codes come
//! from [`CodigoConta::compose`]: this crate computes no check digit of its own, and the
//! wrk scripts read the codes [`write_codes`] wrote instead of computing them.
//!
//! # Examples
//!
//! ```
//! let lines = dados_sinteticos::records(2, "7777");
//! assert_eq!(lines.lines().count(), 2);
//! assert!(lines.starts_with(r#"{"codigo_conta":"001341777700000014","data":{"#));
//! ```

use std::io::{self, BufWriter, Write};
use std::ops::Range;

use itau_codigo::{CodigoConta, DadosRegistro, Email, Gerente, RegistroCliente, Telefone};

/// Where the accounts of a file live.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `None` (the default): spread over every agência, as in the benchmark's stores.
    /// Account `i` is at agência `1 + i % 9999`, conta `((i / 9999) * 7919 + 12345) %
    /// 100000` (a bijection, so the codes of `0..n` are distinct and a store of `n`
    /// accounts holds exactly them).
    ///
    /// `Some(a)`: every account at agência `a` (at most 9999), conta `i + 1`, as the
    /// server's tests and the soak use it.
    pub agencia: Option<u16>,
}

impl Options {
    /// Every account at `agencia`, conta 1, 2, ...
    #[must_use]
    pub fn at_agencia(agencia: u16) -> Self {
        Self {
            agencia: Some(agencia),
        }
    }

    /// How many accounts these options name: the indexes `0..capacity()` give distinct
    /// account codes.
    #[must_use]
    pub fn capacity(&self) -> u64 {
        match self.agencia {
            None => 9999 * 100_000,
            Some(_) => 9_999_999,
        }
    }

    /// Where account `i` lives.
    ///
    /// # Panics
    ///
    /// When `i` is not below [`capacity`](Self::capacity) or the agência has more than
    /// four digits.
    #[must_use]
    pub fn conta(&self, i: u64) -> Conta {
        assert!(i < self.capacity(), "account {i} is beyond {self:?}");
        match self.agencia {
            None => Conta {
                agencia: 1 + (i % 9999) as u32,
                conta: (((i / 9999) * 7919 + 12_345) % 100_000) as u32,
            },
            Some(agencia) => {
                assert!(agencia <= 9999, "agência {agencia} has more than 4 digits");
                Conta {
                    agencia: u32::from(agencia),
                    conta: (i + 1) as u32,
                }
            }
        }
    }

    /// Whether `0..end` can be generated with these options.
    fn check(&self, end: u64) -> io::Result<()> {
        if self.agencia.is_some_and(|agencia| agencia > 9999) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the agência has at most 4 digits",
            ));
        }
        if end > self.capacity() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("at most {} accounts with {self:?}", self.capacity()),
            ));
        }
        Ok(())
    }
}

/// An account's agência and conta, as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conta {
    /// 0..=9999
    pub agencia: u32,
    /// 0..=9_999_999
    pub conta: u32,
}

impl Conta {
    /// The account code: empresa 001, banco 341, the DAC from the core crate.
    ///
    /// # Panics
    ///
    /// When a field is out of range (never for a `Conta` from [`Options::conta`]).
    #[must_use]
    pub fn codigo(self) -> CodigoConta {
        CodigoConta::compose(
            "001",
            "341",
            &format!("{:04}", self.agencia),
            &format!("{:07}", self.conta),
        )
        .expect("agência and conta are in range")
    }
}

/// The JSON Lines of accounts `0..count`, at `agencia` (one to four digits), as the
/// server's tests want them.
///
/// # Panics
///
/// When `agencia` is not one to four digits or `count` is beyond
/// [`Options::capacity`].
#[must_use]
pub fn records(count: usize, agencia: &str) -> String {
    assert!(
        (1..=4).contains(&agencia.len()) && agencia.bytes().all(|b| b.is_ascii_digit()),
        "agência {agencia:?} is not 1 to 4 digits"
    );
    let options = Options::at_agencia(agencia.parse().expect("digits"));
    let mut out = Vec::new();
    write_records(&mut out, count as u64, &options).expect("in range");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// A typical import line, for measuring one line's work: the median length of
/// [`records`]`(1000, "1501")`, about 1.4 KiB (a person with e-mails, phones and
/// managers).
#[must_use]
pub fn typical_line() -> String {
    let records = records(1000, "1501");
    let mut lines: Vec<&str> = records.lines().collect();
    lines.sort_by_key(|line| line.len());
    lines[lines.len() / 2].to_owned()
}

/// Writes the records of accounts `0..count` as JSON Lines (one compact object and a
/// `\n` each).
///
/// # Errors
///
/// `InvalidInput` when `count` is beyond [`Options::capacity`] or the agência has
/// more than four digits (nothing written); otherwise what `out` returns.
pub fn write_records(out: impl Write, count: u64, options: &Options) -> io::Result<()> {
    options.check(count)?;
    let mut out = BufWriter::with_capacity(1 << 16, out);
    for i in 0..count {
        serde_json::to_writer(&mut out, &registro(i, options))?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Writes the account codes of the indexes in `range`, one a line: 18 digits and a
/// `\n`, so that line `k` starts at byte `19 * k` (the wrk scripts rely on it).
///
/// # Errors
///
/// As [`write_records`].
pub fn write_codes(out: impl Write, range: Range<u64>, options: &Options) -> io::Result<()> {
    options.check(range.end)?;
    let mut out = BufWriter::with_capacity(1 << 16, out);
    for i in range {
        writeln!(out, "{}", options.conta(i).codigo())?;
    }
    out.flush()
}

/// SplitMix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn for_record(i: u64) -> Self {
        let mut rng = Self(0x1a2b_3c4d_5e6f_7081 ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn digits(&mut self, count: usize) -> String {
        (0..count)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }

    fn date(&mut self, from_year: u64, to_year: u64) -> String {
        format!(
            "{}-{:02}-{:02}",
            from_year + self.below(to_year - from_year + 1),
            1 + self.below(12),
            1 + self.below(28)
        )
    }
}

/// (display, ASCII for e-mails)
const FIRST_NAMES: &[(&str, &str)] = &[
    ("João", "joao"),
    ("Maria", "maria"),
    ("José", "jose"),
    ("Ana", "ana"),
    ("Antônio", "antonio"),
    ("Francisca", "francisca"),
    ("Carlos", "carlos"),
    ("Adriana", "adriana"),
    ("Paulo", "paulo"),
    ("Juliana", "juliana"),
    ("Lucas", "lucas"),
    ("Márcia", "marcia"),
    ("Luiz", "luiz"),
    ("Fernanda", "fernanda"),
    ("Marcos", "marcos"),
    ("Patrícia", "patricia"),
    ("Gabriel", "gabriel"),
    ("Aline", "aline"),
    ("Rafael", "rafael"),
    ("Sandra", "sandra"),
    ("Otávio", "otavio"),
    ("Cláudia", "claudia"),
    ("Tiago", "tiago"),
    ("Íris", "iris"),
];

const SURNAMES: &[(&str, &str)] = &[
    ("Silva", "silva"),
    ("Santos", "santos"),
    ("Oliveira", "oliveira"),
    ("Souza", "souza"),
    ("Rodrigues", "rodrigues"),
    ("Ferreira", "ferreira"),
    ("Alves", "alves"),
    ("Pereira", "pereira"),
    ("Lima", "lima"),
    ("Gomes", "gomes"),
    ("Araújo", "araujo"),
    ("Gonçalves", "goncalves"),
    ("Conceição", "conceicao"),
    ("Nascimento", "nascimento"),
    ("Brandão", "brandao"),
    ("Assunção", "assuncao"),
    ("Queiroz", "queiroz"),
    ("Peçanha", "pecanha"),
];

const COMPANY_WORDS: &[&str] = &[
    "Pão Dourado",
    "Alvorada",
    "Açaí da Ilha",
    "Mecânica São Judas",
    "Sorriso Pleno",
    "Cerrado",
    "Ipê Amarelo",
    "Guaíba",
    "Café Mantiqueira",
    "Renda de Bilro",
    "Vale Verde",
    "Estrela do Norte",
];

const COMPANY_KINDS: &[&str] = &[
    "Comércio",
    "Construções",
    "Transportes",
    "Tecnologia",
    "Alimentos",
    "Serviços",
];

/// (UF, DDD)
const REGIONS: &[(&str, &str)] = &[
    ("SP", "11"),
    ("RJ", "21"),
    ("MG", "31"),
    ("RS", "51"),
    ("PR", "41"),
    ("BA", "71"),
    ("PE", "81"),
    ("CE", "85"),
    ("DF", "61"),
    ("GO", "62"),
    ("SC", "48"),
    ("ES", "27"),
    ("AM", "92"),
];

/// (segmento, its code in `codigo_cargo`)
const SEGMENTS_PF: &[(&str, &str)] = &[
    ("Varejo", "VAREJO"),
    ("Varejo", "VAREJO"),
    ("Uniclass", "UNICLASS"),
    ("Personnalité", "PERSONNALITE"),
    ("Private", "PRIVATE"),
];

/// (tipo_estrutura, codigo_papel, descricao_categoria), in the order managers are stored.
const STRUCTURES: &[(&str, &str, &str)] = &[
    ("AP", "GR01", "Gerente de Relacionamento"),
    ("CO", "CO04", "Consultor de Investimentos"),
    ("OP", "GO02", "Gerente Operacional"),
    ("SD", "SD03", "Especialista de Serviço Digital"),
];

/// The import record of account `i`: its code and agência/conta from `options`, the
/// rest from `i` alone.
///
/// # Panics
///
/// As [`Options::conta`].
#[must_use]
pub fn registro(i: u64, options: &Options) -> RegistroCliente {
    let mut rng = Rng::for_record(i);
    let conta = options.conta(i);
    let codigo_conta = conta.codigo();
    let (uf, ddd) = *rng.pick(REGIONS);
    let pessoa_juridica = rng.chance(20);
    let (nome_completo, apelido, email_local, cpf_cnpj, nascimento, segmento) = if pessoa_juridica {
        let word = *rng.pick(COMPANY_WORDS);
        let kind = *rng.pick(COMPANY_KINDS);
        let local = format!("contato{}", rng.digits(3));
        let cnpj = cnpj(&mut rng, rng_chance_alnum(i));
        (
            format!("{word} {kind} Ltda"),
            word.to_owned(),
            local,
            cnpj,
            rng.date(1950, 2024),
            ("Empresas", "EMPRESAS"),
        )
    } else {
        let (first, first_ascii) = *rng.pick(FIRST_NAMES);
        let (middle, _) = *rng.pick(SURNAMES);
        let (last, last_ascii) = *rng.pick(SURNAMES);
        let local = format!("{first_ascii}.{last_ascii}{}", rng.below(100));
        (
            format!("{first} {middle} {last}"),
            first.to_owned(),
            local,
            cpf(&mut rng),
            rng.date(1940, 2005),
            *rng.pick(SEGMENTS_PF),
        )
    };
    let emails = (0..weighted(&mut rng, &[5, 40, 35, 20]))
        .map(|n| Email {
            principal: Some(if n == 0 { "S" } else { "N" }.into()),
            email: Some(if n == 0 {
                format!("{email_local}@example.com")
            } else {
                format!("{email_local}.{n}@example.com")
            }),
            data_atualizacao: Some(if rng.chance(50) {
                format!(
                    "{}T{:02}:{:02}:00-03:00",
                    rng.date(2019, 2025),
                    rng.below(24),
                    rng.below(60)
                )
            } else {
                rng.date(2015, 2025)
            }),
        })
        .collect();
    let telefones = (0..weighted(&mut rng, &[5, 50, 45]))
        .map(|n| {
            let celular = n == 0;
            Telefone {
                principal: Some(if n == 0 { "S" } else { "N" }.into()),
                celular: Some(if celular { "1" } else { "0" }.into()),
                ddi: Some("55".into()),
                ddd: Some(ddd.into()),
                numero: Some(if celular {
                    format!("9{}", rng.digits(8))
                } else {
                    format!("{}{}", 2 + rng.below(4), rng.digits(7))
                }),
                ramal: Some(String::new()),
            }
        })
        .collect();
    let mut structures: Vec<usize> = (0..STRUCTURES.len()).collect();
    for k in (1..structures.len()).rev() {
        structures.swap(k, rng.below(k as u64 + 1) as usize);
    }
    structures.truncate(1 + weighted(&mut rng, &[50, 30, 20]));
    structures.sort_unstable();
    let gerentes = structures
        .into_iter()
        .map(|s| gerente(&mut rng, STRUCTURES[s], segmento, uf, ddd))
        .collect();
    let nome_social = if !pessoa_juridica && rng.chance(3) {
        let (first, _) = *rng.pick(FIRST_NAMES);
        let (last, _) = *rng.pick(SURNAMES);
        format!("{first} {last}")
    } else {
        String::new()
    };
    RegistroCliente {
        codigo_conta,
        data: DadosRegistro {
            id_cliente: Some(uuid(&mut rng)),
            emails: Some(emails),
            data_abertura_conta: Some(rng.date(1990, 2025)),
            nome_completo: Some(nome_completo),
            nome_fantasia_apelido: Some(apelido),
            tipo_pessoa: Some(if pessoa_juridica { "J" } else { "F" }.into()),
            data_nascimento_fundacao: Some(nascimento),
            gerentes: Some(gerentes),
            telefones: Some(telefones),
            identificado: Some("Identificado".into()),
            cpf_cnpj: Some(cpf_cnpj),
            nome_social: Some(nome_social),
            agencia: Some(format!("{:04}", conta.agencia)),
            conta_corrente: Some(format!("{:07}", conta.conta)),
        },
    }
}

/// One company in ten has an alphanumeric CNPJ (issued from July 2026).
fn rng_chance_alnum(i: u64) -> bool {
    i % 10 == 7
}

fn gerente(
    rng: &mut Rng,
    (tipo_estrutura, codigo_papel, descricao): (&str, &str, &str),
    (segmento, segmento_code): (&str, &str),
    uf: &str,
    ddd: &str,
) -> Gerente {
    let (_, first) = *rng.pick(FIRST_NAMES);
    let (_, last) = *rng.pick(SURNAMES);
    let plataforma = if rng.chance(50) { "AGF" } else { "AGD" };
    Gerente {
        email_gerente: Some(format!("gerente.{first}.{last}@example.com")),
        racf_gerente: Some(format!("RACF{}", 100 + rng.below(9900))),
        funcional_gerente: Some(format!("{:09}", rng.below(10_000_000))),
        segmento: Some(segmento.into()),
        cod_carteira: Some(format!("C{:04}", rng.below(10_000))),
        plataforma: Some(plataforma.into()),
        atendimento_plataforma_digital: Some(if rng.chance(50) { "S" } else { "N" }.into()),
        codigo_papel: Some(codigo_papel.into()),
        descricao_categoria: Some(descricao.into()),
        tipo_estrutura: Some(tipo_estrutura.into()),
        telefones: Some(Telefone {
            principal: Some("S".into()),
            celular: Some("0".into()),
            ddi: Some("55".into()),
            ddd: Some(ddd.into()),
            numero: Some(format!("{}{}", 2 + rng.below(4), rng.digits(7))),
            ramal: Some(format!("{}", 1000 + rng.below(9000))),
        }),
        codigo_cargo: Some(format!("{plataforma}_{segmento_code}_{uf}")),
    }
}

/// An index drawn with the given weights (in percent).
fn weighted(rng: &mut Rng, weights: &[u64]) -> usize {
    let mut draw = rng.below(weights.iter().sum());
    for (index, &weight) in weights.iter().enumerate() {
        if draw < weight {
            return index;
        }
        draw -= weight;
    }
    weights.len() - 1
}

fn uuid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next(), rng.next());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// A CPF with valid check digits, never one repeated digit.
fn cpf(rng: &mut Rng) -> String {
    loop {
        let mut digits: Vec<u32> = (0..9).map(|_| rng.below(10) as u32).collect();
        if digits.iter().all(|&d| d == digits[0]) {
            continue;
        }
        for length in [9, 10] {
            let sum: u32 = digits
                .iter()
                .enumerate()
                .map(|(k, d)| d * (length as u32 + 1 - k as u32))
                .sum();
            digits.push(sum * 10 % 11 % 10);
        }
        return digits.iter().map(|d| char::from(b'0' + *d as u8)).collect();
    }
}

/// A CNPJ (base, branch 0001, check digits); alphanumeric bases use upper-case letters,
/// valued as their ASCII code minus 48.
fn cnpj(rng: &mut Rng, alphanumeric: bool) -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut chars: Vec<u8> = (0..8)
        .map(|_| {
            if alphanumeric {
                *rng.pick(ALNUM)
            } else {
                b'0' + rng.below(10) as u8
            }
        })
        .collect();
    chars.extend_from_slice(b"0001");
    for length in [12, 13] {
        let sum: u32 = chars[..length]
            .iter()
            .rev()
            .enumerate()
            .map(|(k, &c)| u32::from(c - b'0') * (2 + k as u32 % 8))
            .sum();
        let remainder = sum % 11;
        chars.push(b'0' + if remainder < 2 { 0 } else { 11 - remainder } as u8);
    }
    String::from_utf8(chars).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    const SPREAD: Options = Options { agencia: None };

    #[test]
    fn every_generated_record_passes_the_import_validation() {
        let spread = (0..5_000).chain([999_999, 1_234_567]).map(|i| (i, SPREAD));
        let at_7777 = (0..500).map(|i| (i, Options::at_agencia(7777)));
        for (i, options) in spread.chain(at_7777) {
            let line = serde_json::to_string(&registro(i, &options)).unwrap();
            if let Err(errors) = RegistroCliente::from_json_line(&line) {
                panic!("record {i} ({options:?}) is invalid: {errors:?}\n{line}");
            }
        }
    }

    #[test]
    fn the_same_arguments_give_the_same_bytes() {
        let mut written = Vec::new();
        write_records(&mut written, 300, &Options::at_agencia(7777)).unwrap();
        assert_eq!(records(300, "7777"), records(300, "7777"));
        assert_eq!(records(300, "7777").as_bytes(), written);
    }

    #[test]
    fn distinct_indexes_give_distinct_codes() {
        for options in [SPREAD, Options::at_agencia(4242)] {
            let codes: HashSet<_> = (0..200_000).map(|i| options.conta(i).codigo()).collect();
            assert_eq!(codes.len(), 200_000, "{options:?}");
        }
    }

    #[test]
    fn the_layouts_are_the_documented_ones() {
        assert_eq!(
            SPREAD.conta(0),
            Conta {
                agencia: 1,
                conta: 12_345
            }
        );
        assert_eq!(
            SPREAD.conta(9999),
            Conta {
                agencia: 1,
                conta: 20_264
            }
        );
        // The DAC by hand: 0002 0020264 -> 4x2 6 2x2 0 2x2 0 0 2 0 0 0 -> 24 -> 6.
        assert_eq!(
            SPREAD.conta(10_000).codigo().to_string(),
            "001341000200202646"
        );
        let first: serde_json::Value =
            serde_json::from_str(records(1, "42").lines().next().unwrap()).unwrap();
        assert_eq!(first["codigo_conta"], "001341004200000018");
        assert_eq!(first["data"]["agencia"], "0042");
        assert_eq!(first["data"]["conta_corrente"], "0000001");
    }

    #[test]
    fn line_k_of_the_codes_is_the_code_of_record_k() {
        for options in [SPREAD, Options::at_agencia(7777)] {
            let mut jsonl = Vec::new();
            write_records(&mut jsonl, 40, &options).unwrap();
            let mut codes = Vec::new();
            write_codes(&mut codes, 0..40, &options).unwrap();
            assert_eq!(codes.len(), 40 * 19);
            let from_records: Vec<String> = String::from_utf8(jsonl)
                .unwrap()
                .lines()
                .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
                .map(|record| record["codigo_conta"].as_str().unwrap().to_owned())
                .collect();
            let codes = String::from_utf8(codes).unwrap();
            assert_eq!(codes.lines().collect::<Vec<_>>(), from_records);
        }
    }

    #[test]
    fn lines_are_about_1_4_kib_as_the_benchmark_assumes() {
        let mut jsonl = Vec::new();
        write_records(&mut jsonl, 2_000, &SPREAD).unwrap();
        let mean = jsonl.len() / 2_000;
        assert!((1_200..1_700).contains(&mean), "{mean} bytes a line");
    }

    #[test]
    fn accounts_beyond_the_layout_are_refused_before_writing() {
        let full = Options::at_agencia(1);
        let mut out = Vec::new();
        let error = write_records(&mut out, full.capacity() + 1, &full).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        let error = write_codes(&mut out, 0..1, &Options::at_agencia(10_000)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(out.is_empty());
    }
}
