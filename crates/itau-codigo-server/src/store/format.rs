//! How both stores keep a record: the answer already rendered, so that a consulta
//! splices bytes instead of decoding the record and encoding the answer again.
//!
//! This module is the one place that knows the format: [`encode_record`] writes it (at
//! import, and when a migration re-renders an older store), [`render_answer`] reads it
//! (per request). Pure functions: no I/O, no store. The format is versioned by the
//! stores' migrations (schema version 2 in both); changing it means a new migration.
//!
//! # The format
//!
//! All integers little-endian:
//!
//! ```text
//! u32  data length D
//! u32  gerentes_at: where in data the selected manager goes
//! u16  manager count N
//! N ×  u16 tipo_estrutura length (0xFFFF: absent), its bytes,
//!      u16 segmento length (0xFFFF: absent), its bytes,
//!      u32 manager JSON length, its bytes
//! D    data: the record's `data` object as the answer renders it, without `gerentes`
//! ```
//!
//! `data` and every manager's JSON are exactly what `serde_json` writes for
//! [`DadosCliente`](itau_codigo::DadosCliente) and [`Gerente`](itau_codigo::Gerente), so
//! a 200's body is `{"data":` + data with `"gerentes":` + the selected manager spliced in
//! at `gerentes_at` + `}`: byte for byte what serialising
//! [`ConsultaClienteResponse`](itau_codigo::ConsultaClienteResponse) gives (the tests
//! below compare the two on generated records).

use std::cell::Cell;
use std::io;

use itau_codigo::{ConsultaClienteRequest, DadosRegistro, RegistroCliente};
use serde::ser::{Serialize, SerializeStruct, Serializer};

/// Where a selector is absent (a real one is at most `MAX_CHARS` characters).
const ABSENT: u16 = u16::MAX;

/// The stored form of `registro`: see the documentation of `store/format.rs`.
pub fn encode_record(registro: &RegistroCliente) -> Vec<u8> {
    encode_dados(&registro.data)
}

/// The stored form of a record's data: see the documentation of `store/format.rs`.
pub fn encode_dados(dados: &DadosRegistro) -> Vec<u8> {
    let gerentes = dados.gerentes.as_deref().unwrap_or_default();
    // Sized for a typical record (about 1.4 KiB): growing from a small buffer would
    // reallocate four times.
    let mut out = Vec::with_capacity(2048);
    // The data's length and `gerentes_at` are known once the data is written.
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(
        &u16::try_from(gerentes.len())
            .unwrap_or(u16::MAX)
            .to_le_bytes(),
    );
    for gerente in gerentes {
        put_selector(&mut out, gerente.tipo_estrutura.as_deref());
        put_selector(&mut out, gerente.segmento.as_deref());
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        write_json(&mut out, gerente);
        let len = out.len() - at - 4;
        out[at..at + 4].copy_from_slice(&u32_bytes(len));
    }
    // The data written without its `gerentes` member: where that member would have
    // been is where a selected manager goes back in. No manager is ever spliced into
    // data without one: any place will do.
    let start = out.len();
    let len = Cell::new(start);
    let gerentes_at = Cell::new(None);
    let mut serializer = serde_json::Serializer::new(Tracked {
        out: &mut out,
        len: &len,
    });
    let skipping = WithoutMember {
        inner: &mut serializer,
        member: "gerentes",
        len: &len,
        at: &gerentes_at,
    };
    if dados.serialize(skipping).is_err() {
        out.truncate(start);
    }
    let gerentes_at = gerentes_at.get().map_or(1, |at| at - start);
    let data_len = out.len() - start;
    out[..4].copy_from_slice(&u32_bytes(data_len));
    out[4..8].copy_from_slice(&u32_bytes(gerentes_at));
    out
}

/// serde_json's compact output of `value` appended to `out` (a manager, whose
/// serialisation cannot fail: strings and options only).
fn write_json<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
    }
}

/// A writer that says how much it holds, so that [`WithoutMember`] can tell where
/// serde_json stands while it writes.
struct Tracked<'a> {
    out: &'a mut Vec<u8>,
    len: &'a Cell<usize>,
}

impl io::Write for Tracked<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.extend_from_slice(buf);
        self.len.set(self.out.len());
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Serialises a struct as `inner` would, without its field `member`, and records in
/// `at` how much was written when that field came (just after the field before it, or
/// after the `{`): the struct's JSON is then what serde_json writes for it with the
/// field absent, and a `"member":value` spliced in at `at` (with a comma) gives the
/// JSON of the struct with it.
struct WithoutMember<'a, S> {
    inner: S,
    member: &'static str,
    len: &'a Cell<usize>,
    at: &'a Cell<Option<usize>>,
}

/// Forwards `Serializer` methods of values that are not structs to the inner
/// serializer.
macro_rules! forward_serialize {
    ($($method:ident($($arg:ident: $ty:ty),*) -> $out:ident;)*) => {$(
        fn $method(self, $($arg: $ty),*) -> Result<Self::$out, S::Error> {
            self.inner.$method($($arg),*)
        }
    )*};
}

impl<'a, S: Serializer> Serializer for WithoutMember<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = S::SerializeSeq;
    type SerializeTuple = S::SerializeTuple;
    type SerializeTupleStruct = S::SerializeTupleStruct;
    type SerializeTupleVariant = S::SerializeTupleVariant;
    type SerializeMap = S::SerializeMap;
    type SerializeStruct = WithoutField<'a, S::SerializeStruct>;
    type SerializeStructVariant = S::SerializeStructVariant;

    forward_serialize! {
        serialize_bool(v: bool) -> Ok;
        serialize_i8(v: i8) -> Ok;
        serialize_i16(v: i16) -> Ok;
        serialize_i32(v: i32) -> Ok;
        serialize_i64(v: i64) -> Ok;
        serialize_u8(v: u8) -> Ok;
        serialize_u16(v: u16) -> Ok;
        serialize_u32(v: u32) -> Ok;
        serialize_u64(v: u64) -> Ok;
        serialize_f32(v: f32) -> Ok;
        serialize_f64(v: f64) -> Ok;
        serialize_char(v: char) -> Ok;
        serialize_str(v: &str) -> Ok;
        serialize_bytes(v: &[u8]) -> Ok;
        serialize_none() -> Ok;
        serialize_unit() -> Ok;
        serialize_unit_struct(name: &'static str) -> Ok;
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str) -> Ok;
        serialize_seq(len: Option<usize>) -> SerializeSeq;
        serialize_tuple(len: usize) -> SerializeTuple;
        serialize_tuple_struct(name: &'static str, len: usize) -> SerializeTupleStruct;
        serialize_tuple_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> SerializeTupleVariant;
        serialize_map(len: Option<usize>) -> SerializeMap;
        serialize_struct_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> SerializeStructVariant;
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.serialize_some(value)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_newtype_struct(name, value)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.inner
            .serialize_newtype_variant(name, index, variant, value)
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        Ok(WithoutField {
            inner: self.inner.serialize_struct(name, len)?,
            member: self.member,
            len: self.len,
            at: self.at,
        })
    }
}

/// The struct's fields as `inner` writes them, `member` left out: see [`WithoutMember`].
struct WithoutField<'a, T> {
    inner: T,
    member: &'static str,
    len: &'a Cell<usize>,
    at: &'a Cell<Option<usize>>,
}

impl<T: SerializeStruct> SerializeStruct for WithoutField<'_, T> {
    type Ok = T::Ok;
    type Error = T::Error;

    fn serialize_field<V: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), T::Error> {
        if key == self.member {
            self.at.set(Some(self.len.get()));
            return Ok(());
        }
        self.inner.serialize_field(key, value)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), T::Error> {
        self.inner.skip_field(key)
    }

    fn end(self) -> Result<T::Ok, T::Error> {
        self.inner.end()
    }
}

/// The body of a 200 for `consulta` from a stored `record`: `{"data":{...}}` with the
/// manager [`ConsultaClienteRequest::select_gerente`] would choose (none: no
/// `gerentes`). One allocation, of the body's exact size.
///
/// # Errors
///
/// The record is not in this format (truncated or tampered with).
pub fn render_answer(
    record: &[u8],
    consulta: &ConsultaClienteRequest,
) -> Result<Vec<u8>, CorruptRecord> {
    let mut reader = Reader(record);
    let data_len = reader.u32()?;
    let gerentes_at = reader.u32()?;
    let count = reader.u16()?;
    let mut selected = None;
    for _ in 0..count {
        let tipo_estrutura = reader.selector()?;
        let segmento = reader.selector()?;
        let len = reader.u32()?;
        let manager = reader.take(len)?;
        if selected.is_none() && consulta.selects(tipo_estrutura, segmento) {
            selected = Some(manager);
        }
    }
    let data = reader.take(data_len)?;
    if !reader.0.is_empty()
        || gerentes_at == 0
        || gerentes_at >= data.len()
        || data.first() != Some(&b'{')
        || data.last() != Some(&b'}')
    {
        return Err(CorruptRecord);
    }
    const OPEN: &[u8] = b"{\"data\":";
    const KEY: &[u8] = b"\"gerentes\":";
    let Some(manager) = selected else {
        let mut body = Vec::with_capacity(OPEN.len() + data.len() + 1);
        body.extend_from_slice(OPEN);
        body.extend_from_slice(data);
        body.push(b'}');
        return Ok(body);
    };
    let (head, tail) = data.split_at(gerentes_at);
    // A comma before the manager unless it comes first, or after it when it comes
    // first and others follow; none when it is alone.
    let comma_before = head != b"{";
    let comma_after = !comma_before && tail != b"}";
    let commas = usize::from(comma_before) + usize::from(comma_after);
    let mut body =
        Vec::with_capacity(OPEN.len() + data.len() + KEY.len() + manager.len() + commas + 1);
    body.extend_from_slice(OPEN);
    body.extend_from_slice(head);
    if comma_before {
        body.push(b',');
    }
    body.extend_from_slice(KEY);
    body.extend_from_slice(manager);
    if comma_after {
        body.push(b',');
    }
    body.extend_from_slice(tail);
    body.push(b'}');
    Ok(body)
}

/// A stored record that is not in the format [`render_answer`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stored record is not in the expected format")]
pub struct CorruptRecord;

fn put_selector(out: &mut Vec<u8>, selector: Option<&str>) {
    match selector {
        // A field is at most MAX_CHARS (256) characters, far below ABSENT bytes.
        Some(text) => {
            out.extend_from_slice(
                &u16::try_from(text.len())
                    .unwrap_or(ABSENT - 1)
                    .to_le_bytes(),
            );
            out.extend_from_slice(text.as_bytes());
        }
        None => out.extend_from_slice(&ABSENT.to_le_bytes()),
    }
}

fn u32_bytes(value: usize) -> [u8; 4] {
    // A record comes from a line of at most 64 KiB.
    u32::try_from(value).unwrap_or(u32::MAX).to_le_bytes()
}

/// Reads a stored record from the front.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], CorruptRecord> {
        if self.0.len() < len {
            return Err(CorruptRecord);
        }
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(taken)
    }

    fn u16(&mut self) -> Result<u16, CorruptRecord> {
        let bytes = self.take(2)?;
        Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self) -> Result<usize, CorruptRecord> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize)
    }

    fn selector(&mut self) -> Result<Option<&'a str>, CorruptRecord> {
        match self.u16()? {
            ABSENT => Ok(None),
            len => std::str::from_utf8(self.take(usize::from(len))?)
                .map(Some)
                .map_err(|_| CorruptRecord),
        }
    }
}

#[cfg(test)]
mod tests {
    use itau_codigo::{ConsultaClienteResponse, Gerente};
    use proptest::prelude::*;

    use super::*;

    /// Today's answer, the reference: the record decoded, the manager selected, the
    /// response serialised.
    fn reference(dados: &DadosRegistro, consulta: &ConsultaClienteRequest) -> Vec<u8> {
        let mut dados = dados.clone();
        let gerentes = dados.gerentes.take().unwrap_or_default();
        let gerente = consulta.select_gerente(&gerentes).cloned();
        serde_json::to_vec(&ConsultaClienteResponse {
            data: Some(dados.into_dados_cliente(gerente)),
        })
        .unwrap()
    }

    fn consulta(tipo_estrutura: Option<&str>, segmento: Option<&str>) -> ConsultaClienteRequest {
        // `""` means absent, as on the wire.
        ConsultaClienteRequest::new("001341150100098790".parse().unwrap())
            .with_tipo_estrutura(tipo_estrutura.unwrap_or_default())
            .and_then(|c| c.with_segmento(segmento.unwrap_or_default()))
            .unwrap()
    }

    /// Every selector combination worth asking of `dados`: none, each manager's own
    /// values (as stored, and in other cases), both together, and values that match
    /// nothing.
    fn consultas(dados: &DadosRegistro) -> Vec<ConsultaClienteRequest> {
        let mut wanted: Vec<Option<String>> = vec![None, Some("nada".into())];
        for gerente in dados.gerentes.iter().flatten() {
            for value in [&gerente.tipo_estrutura, &gerente.segmento]
                .into_iter()
                .flatten()
            {
                wanted.push(Some(value.clone()));
                wanted.push(Some(value.to_ascii_lowercase()));
                wanted.push(Some(value.to_ascii_uppercase()));
            }
        }
        let mut all = Vec::new();
        for tipo in &wanted {
            for segmento in &wanted {
                all.push(consulta(tipo.as_deref(), segmento.as_deref()));
            }
        }
        all
    }

    fn assert_renders_as_today(dados: &DadosRegistro) {
        let stored = encode_dados(dados);
        for consulta in consultas(dados) {
            let rendered = render_answer(&stored, &consulta).unwrap();
            let expected = reference(dados, &consulta);
            assert_eq!(
                String::from_utf8_lossy(&rendered),
                String::from_utf8_lossy(&expected),
                "tipo_estrutura {:?}, segmento {:?}",
                consulta.tipo_estrutura(),
                consulta.segmento()
            );
            assert_eq!(rendered.capacity(), rendered.len(), "one exact allocation");
        }
    }

    /// Leaves one member of the data out.
    type LeaveOut = fn(&mut DadosRegistro);

    /// Each optional member of the data, in the wire's order, and how to leave it out.
    const OPTIONAL_MEMBERS: [(&str, LeaveOut); 14] = [
        ("id_cliente", |d| d.id_cliente = None),
        ("emails", |d| d.emails = None),
        ("data_abertura_conta", |d| d.data_abertura_conta = None),
        ("nome_completo", |d| d.nome_completo = None),
        ("nome_fantasia_apelido", |d| d.nome_fantasia_apelido = None),
        ("tipo_pessoa", |d| d.tipo_pessoa = None),
        ("data_nascimento_fundacao", |d| {
            d.data_nascimento_fundacao = None
        }),
        ("gerentes", |d| d.gerentes = None),
        ("telefones", |d| d.telefones = None),
        ("identificado", |d| d.identificado = None),
        ("cpf_cnpj", |d| d.cpf_cnpj = None),
        ("nome_social", |d| d.nome_social = None),
        ("agencia", |d| d.agencia = None),
        ("conta_corrente", |d| d.conta_corrente = None),
    ];

    /// `dados` keeping only the members whose bit (their place in [`OPTIONAL_MEMBERS`])
    /// is set in `mask`.
    fn without_fields(dados: &DadosRegistro, mask: u16) -> DadosRegistro {
        let mut d = dados.clone();
        for (bit, (_, leave_out)) in OPTIONAL_MEMBERS.iter().enumerate() {
            if mask & (1 << bit) == 0 {
                leave_out(&mut d);
            }
        }
        d
    }

    #[test]
    fn the_demo_data_renders_byte_for_byte_as_the_serialised_response() {
        for line in crate::demo::DATA.lines().filter(|l| !l.trim().is_empty()) {
            let registro = RegistroCliente::from_json_line(line).unwrap();
            assert_renders_as_today(&registro.data);
        }
    }

    #[test]
    fn generated_records_render_byte_for_byte_as_the_serialised_response() {
        let options = dados_sinteticos::Options::default();
        for i in 0..300 {
            assert_renders_as_today(&dados_sinteticos::registro(i * 7919, &options).data);
        }
    }

    #[test]
    fn every_field_left_out_in_turn_and_in_blocks_renders_as_today() {
        let options = dados_sinteticos::Options::default();
        let full = dados_sinteticos::registro(42, &options).data;
        // Alone, all but one, the head or the tail of `gerentes` empty, nothing at all.
        let all: u16 = (1 << OPTIONAL_MEMBERS.len()) - 1;
        let at = OPTIONAL_MEMBERS
            .iter()
            .position(|(name, _)| *name == "gerentes")
            .unwrap();
        let gerentes: u16 = 1 << at;
        let head = gerentes - 1; // the members before `gerentes`
        let tail = all & !(head | gerentes); // the members after it
        let mut masks = vec![
            0,
            all,
            gerentes,
            gerentes | tail,
            head | gerentes,
            all & !gerentes,
            head,
            tail,
        ];
        for bit in 0..OPTIONAL_MEMBERS.len() {
            masks.push(1 << bit);
            masks.push(all & !(1 << bit));
            masks.push((1 << bit) | gerentes);
        }
        for mask in masks {
            assert_renders_as_today(&without_fields(&full, mask));
        }
        let mut no_managers = full.clone();
        no_managers.gerentes = Some(Vec::new());
        assert_renders_as_today(&no_managers);
        no_managers.telefones = Some(Vec::new());
        no_managers.emails = Some(Vec::new());
        no_managers.nome_social = Some(String::new());
        assert_renders_as_today(&no_managers);
    }

    #[test]
    fn a_truncated_or_padded_record_is_refused_not_misread() {
        let options = dados_sinteticos::Options::default();
        let stored = encode_dados(&dados_sinteticos::registro(7, &options).data);
        let any = consulta(None, None);
        for cut in [0, 3, 9, 10, 40, stored.len() - 1] {
            assert_eq!(
                render_answer(&stored[..cut], &any),
                Err(CorruptRecord),
                "{cut}"
            );
        }
        let mut padded = stored.clone();
        padded.push(b' ');
        assert_eq!(render_answer(&padded, &any), Err(CorruptRecord));
        // Today's format (version 1, the record's JSON) is no record of this one.
        let json = serde_json::to_vec(&dados_sinteticos::registro(7, &options).data).unwrap();
        assert!(render_answer(&json, &any).is_err());
    }

    fn text() -> impl Strategy<Value = String> {
        // Quotes, backslashes, control characters, non-ASCII and separators: what the
        // cuts must step over inside strings.
        proptest::string::string_regex("[a-zA-Z\"\\\\,:{}\\[\\]\u{0}-\u{1f}é€😀 ]{0,12}").unwrap()
    }

    fn gerente() -> impl Strategy<Value = Gerente> {
        (
            proptest::option::of(text()),
            proptest::option::of(prop_oneof![
                Just("AP".to_owned()),
                Just("op".to_owned()),
                text()
            ]),
            proptest::option::of(prop_oneof![Just("Uniclass".to_owned()), text()]),
            proptest::option::of(text()),
        )
            .prop_map(|(email, tipo, segmento, cargo)| Gerente {
                email_gerente: email,
                tipo_estrutura: tipo,
                segmento,
                codigo_cargo: cargo,
                ..Gerente::default()
            })
    }

    proptest! {
        #[test]
        fn arbitrary_records_render_byte_for_byte_as_the_serialised_response(
            seed in 0u64..1_000_000,
            mask in 0u16..0x4000,
            nome in proptest::option::of(text()),
            agencia in proptest::option::of(text()),
            gerentes in proptest::option::of(proptest::collection::vec(gerente(), 0..4)),
            tipo in proptest::option::of(prop_oneof![Just("ap".to_owned()), Just("OP".to_owned()), text()]),
            segmento in proptest::option::of(prop_oneof![Just("UNICLASS".to_owned()), text()]),
        ) {
            let mut dados = without_fields(
                &dados_sinteticos::registro(seed, &dados_sinteticos::Options::default()).data,
                mask,
            );
            dados.nome_completo = nome;
            dados.agencia = agencia;
            if mask & 0x80 != 0 {
                dados.gerentes = gerentes;
            }
            let stored = encode_dados(&dados);
            for consulta in [
                consulta(tipo.as_deref(), segmento.as_deref()),
                consulta(tipo.as_deref(), None),
                consulta(None, segmento.as_deref()),
            ] {
                let rendered = render_answer(&stored, &consulta).unwrap();
                prop_assert_eq!(rendered, reference(&dados, &consulta));
            }
        }
    }
}
