//! The chunked transfer coding, sending side (RFC 9112, section 7.1).
//!
//! When the length of a body is not known before it is sent (a Python
//! generator, say), HTTP/1.1 can send it in chunks, each preceded by its
//! size in hexadecimal. A chunk of size zero ends the body. This module
//! writes chunks; a server uses it for responses without a
//! `Content-Length` on a connection that stays open.

/// The zero-size chunk and the empty trailer section: the end of the body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

// ANCHOR: encode_chunk
/// Appends `data` as one chunk: its size in hex, CR LF, the data, CR LF.
///
/// Empty data appends nothing. This is not a detail: an empty chunk is
/// `0\r\n\r\n`, the last chunk, and would end the body early.
pub fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    // ANCHOR: ex-03.4-empty-chunk
    if data.is_empty() {
        return;
    }
    // ANCHOR_END: ex-03.4-empty-chunk
    out.extend_from_slice(format!("{:X}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}
// ANCHOR_END: encode_chunk

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_carry_their_size_in_hex() {
        let mut out = Vec::new();
        encode_chunk(&mut out, b"hello");
        encode_chunk(&mut out, &[b'x'; 26]);
        encode_chunk(&mut out, b"");
        out.extend_from_slice(LAST_CHUNK);
        let expected = [&b"5\r\nhello\r\n1A\r\n"[..], &[b'x'; 26], b"\r\n0\r\n\r\n"].concat();
        assert_eq!(out, expected);
    }
}
