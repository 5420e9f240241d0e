//! One line of the input: read with a bound on its length, decoded (UTF-8, a CRLF
//! ending, a BOM on the first line), and parsed into a record or its errors.

use std::io::{self, BufRead};

use itau_codigo::{FieldError, FieldErrorCode, MAX_LINE_BYTES, RegistroCliente};

/// One line's record or errors; `None` for a blank line.
pub(super) fn parse(
    number: usize,
    content: &Content,
    bytes: &[u8],
) -> Option<Result<RegistroCliente, Vec<FieldError>>> {
    Some(match content {
        Content::TooLong => Err(vec![FieldError::new(
            "",
            FieldErrorCode::TooLong,
            format!("expected a line of at most {MAX_LINE_BYTES} bytes"),
        )]),
        Content::Text => match decode(bytes, number == 1) {
            Ok(text) if text.trim().is_empty() => return None,
            Ok(text) => RegistroCliente::from_json_line(text),
            Err(error) => Err(vec![error]),
        },
    })
}

pub(super) enum Content {
    Text,
    TooLong,
}

pub(super) struct Line {
    pub(super) content: Content,
    pub(super) bytes_read: usize,
}

/// Reads one line onto the end of `buffer` (without `\n`), keeping at most
/// `MAX_LINE_BYTES + 4` bytes of it so that a huge line cannot exhaust memory; `None`
/// at the end.
pub(super) fn read_line<R: BufRead>(
    input: &mut R,
    buffer: &mut Vec<u8>,
) -> io::Result<Option<Line>> {
    let start = buffer.len();
    let mut line = Line {
        content: Content::Text,
        bytes_read: 0,
    };
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok((line.bytes_read > 0).then_some(line));
        }
        let newline = available.iter().position(|&b| b == b'\n');
        let chunk = &available[..newline.unwrap_or(available.len())];
        // Slack for the `\r` of a CRLF line and a BOM, which `decode` strips and checks.
        if matches!(line.content, Content::Text) {
            if buffer.len() - start + chunk.len() > MAX_LINE_BYTES + 4 {
                line.content = Content::TooLong;
                buffer.truncate(start);
            } else {
                buffer.extend_from_slice(chunk);
            }
        }
        let consumed = chunk.len() + usize::from(newline.is_some());
        input.consume(consumed);
        line.bytes_read += consumed;
        if newline.is_some() {
            return Ok(Some(line));
        }
    }
}

/// UTF-8 text of a line, without a trailing `\r` and (on the first line) a BOM.
fn decode(bytes: &[u8], first_line: bool) -> Result<&str, FieldError> {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let bytes = if first_line {
        bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
    } else {
        bytes
    };
    if bytes.len() > MAX_LINE_BYTES {
        return Err(FieldError::new(
            "",
            FieldErrorCode::TooLong,
            format!("expected a line of at most {MAX_LINE_BYTES} bytes"),
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        FieldError::new(
            "",
            FieldErrorCode::MalformedJson,
            format!("not UTF-8 (invalid byte at offset {})", e.valid_up_to()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<(String, bool)> {
        let mut reader = io::BufReader::with_capacity(7, input);
        let mut buffer = b"left from before".to_vec();
        let mut out = Vec::new();
        let mut start = buffer.len();
        while let Some(line) = read_line(&mut reader, &mut buffer).unwrap() {
            out.push((
                String::from_utf8_lossy(&buffer[start..]).into_owned(),
                matches!(line.content, Content::TooLong),
            ));
            start = buffer.len();
        }
        assert!(
            buffer.starts_with(b"left from before"),
            "lines are appended"
        );
        out
    }

    #[test]
    fn lines_split_on_newlines_across_buffer_boundaries() {
        assert_eq!(
            lines(b"abcdefghij\n\nxyz"),
            [
                ("abcdefghij".into(), false),
                (String::new(), false),
                ("xyz".into(), false)
            ]
        );
        assert!(lines(b"").is_empty());
    }

    #[test]
    fn an_overlong_line_is_flagged_and_the_next_one_still_read() {
        let mut input = vec![b'a'; MAX_LINE_BYTES + 10];
        input.extend_from_slice(b"\nnext\n");
        let found = lines(&input);
        assert_eq!(found.len(), 2);
        assert!(found[0].1);
        assert_eq!(found[1], ("next".into(), false));
    }

    #[test]
    fn decoding_strips_crlf_and_a_leading_bom_only_on_the_first_line() {
        assert_eq!(decode(b"\xEF\xBB\xBF{}\r", true).unwrap(), "{}");
        assert!(
            decode(b"\xEF\xBB\xBF{}", false)
                .unwrap()
                .starts_with('\u{FEFF}')
        );
        assert_eq!(
            decode(b"{\xff}", false).unwrap_err().code,
            FieldErrorCode::MalformedJson
        );
    }
}
