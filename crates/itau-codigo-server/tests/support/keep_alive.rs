//! One response read off a keep-alive HTTP/1.1 connection into a caller's buffer, without
//! allocating (so that `tests/allocations.rs` can count the service's allocations alone);
//! shared by that test and `examples/consulta_loop.rs`.

use std::io::Read;
use std::net::TcpStream;

/// Reads one response (head, then `content-length` bytes) into `buffer`; returns its
/// length.
pub(crate) fn read_one_response(
    stream: &mut TcpStream,
    buffer: &mut [u8],
) -> std::io::Result<usize> {
    let mut filled = 0;
    loop {
        let read = stream.read(&mut buffer[filled..])?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        filled += read;
        let Some(end) = buffer[..filled].windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let length = buffer[..end]
            .split(|&b| b == b'\n')
            .find_map(|line| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let colon = line.iter().position(|&b| b == b':')?;
                let (name, value) = line.split_at(colon);
                name.eq_ignore_ascii_case(b"content-length")
                    .then(|| std::str::from_utf8(&value[1..]).ok()?.trim().parse().ok())
                    .flatten()
            })
            .unwrap_or(0);
        if filled >= end + 4 + length {
            return Ok(filled);
        }
    }
}
