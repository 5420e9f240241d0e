//! Synthetic customers for the benchmark stores: realistic in shape and size (like
//! `crates/itau-codigo-server/demo/clientes.jsonl`), valid under `itau-codigo import`,
//! and deterministic: record `i` depends only on `i`, so every run (and the wrk
//! script, which computes account codes by the same rule) agrees on what is stored.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use itau_codigo::{
    CodigoConta, ConsultaClienteRequest, ConsultaClienteResponse, DadosRegistro, Email, Gerente,
    RegistroCliente, Telefone,
};

/// Where account `i` lives. `mix.lua` (`conta_of`) computes the same: keep them in step.
///
/// Agência runs through 0001..=9999 and conta through a bijection of 0..100 000, so
/// distinct indexes below 999 900 000 give distinct codes, and a store of `n`
/// accounts holds exactly the codes of `0..n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Conta {
    pub(crate) agencia: u32,
    pub(crate) conta: u32,
}

impl Conta {
    pub(crate) fn of(i: u64) -> Self {
        let agencia = 1 + (i % 9999) as u32;
        let conta = ((i / 9999) * 7919 + 12_345) % 100_000;
        Self {
            agencia,
            conta: conta as u32,
        }
    }

    pub(crate) fn codigo(self) -> CodigoConta {
        CodigoConta::compose(
            "001",
            "341",
            &format!("{:04}", self.agencia),
            &format!("{:07}", self.conta),
        )
        .expect("agência and conta are in range")
    }
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

/// The import record of account `i`.
pub(crate) fn registro(i: u64) -> RegistroCliente {
    let mut rng = Rng::for_record(i);
    let conta = Conta::of(i);
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

/// Writes the records of accounts `0..count` as JSON Lines.
pub(crate) fn write_jsonl(path: &Path, count: u64) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    for i in 0..count {
        serde_json::to_writer(&mut out, &registro(i))?;
        out.write_all(b"\n")?;
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The body the service answers for a found account: the median size over a sample
/// of accounts, asked half with `tipo_estrutura` AP and half without (as `mix.lua`).
pub(crate) fn typical_200(count: u64) -> Vec<u8> {
    let sample = count.min(1000);
    let mut bodies: Vec<Vec<u8>> = (0..sample)
        .flat_map(|i| {
            let registro = registro(i * (count / sample));
            [None, Some("AP")].map(|selector| {
                let mut request = ConsultaClienteRequest::new(registro.codigo_conta);
                request.tipo_estrutura = selector.map(Into::into);
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
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_generated_record_passes_the_import_validation() {
        for i in (0..5_000).chain([999_999, 1_234_567]) {
            let line = serde_json::to_string(&registro(i)).unwrap();
            if let Err(errors) = RegistroCliente::from_json_line(&line) {
                panic!("record {i} is invalid: {errors:?}\n{line}");
            }
        }
    }

    #[test]
    fn records_are_deterministic() {
        let a = serde_json::to_string(&registro(4242)).unwrap();
        let b = serde_json::to_string(&registro(4242)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn distinct_indexes_give_distinct_codes() {
        let codes: HashSet<_> = (0..200_000).map(|i| Conta::of(i).codigo()).collect();
        assert_eq!(codes.len(), 200_000);
    }

    #[test]
    fn the_mapping_matches_the_one_mix_lua_uses() {
        // mix.lua: agencia = 1 + i % 9999; conta = (floor(i / 9999) * 7919 + 12345) % 100000
        // and the DAC by hand: 0002 0020264 -> 4x2 6 2x2 0 2x2 0 0 2 0 0 0 -> 24 -> 6.
        assert_eq!(
            Conta::of(0),
            Conta {
                agencia: 1,
                conta: 12_345
            }
        );
        assert_eq!(
            Conta::of(9999),
            Conta {
                agencia: 1,
                conta: 20_264
            }
        );
        assert_eq!(Conta::of(10_000).codigo().to_string(), "001341000200202646");
        let lua = include_str!("mix.lua");
        assert!(lua.contains("local agencia = 1 + i % 9999"));
        assert!(lua.contains("(math.floor(i / 9999) * 7919 + 12345) % 100000"));
    }

    #[test]
    fn a_typical_200_is_about_a_kilobyte() {
        let body = typical_200(1000);
        assert!((500..2000).contains(&body.len()), "{}", body.len());
    }
}
