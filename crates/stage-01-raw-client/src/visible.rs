//! Render bytes so that every one of them can be seen.
//!
//! A terminal hides the difference between `\r\n` and `\n`, yet HTTP/1.1
//! insists on CR LF (RFC 9112, section 2.1). This renderer writes a CR as
//! `\r` and an LF as `\n` followed by a real newline, so a message still
//! reads line by line while its line endings stay in plain sight.

// ANCHOR: visible
/// Renders `bytes` with CR, LF and every other unprintable byte escaped.
///
/// - CR becomes `\r`; LF becomes `\n` and then a real line break.
/// - Tab becomes `\t`; a backslash becomes `\\`, so the output is unambiguous.
/// - Printable ASCII stays as it is; any other byte becomes `\xNN`.
pub fn visible(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    for &byte in bytes {
        match byte {
            // ANCHOR: ex-01.1-visible-bytes
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n\n"),
            // ANCHOR_END: ex-01.1-visible-bytes
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b' '..=b'~' => out.push(byte as char),
            other => out.push_str(&format!("\\x{other:02x}")),
        }
    }
    out
}
// ANCHOR_END: visible

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn crlf_is_shown_then_broken() {
        assert_eq!(
            visible(b"GET / HTTP/1.1\r\n\r\n"),
            "GET / HTTP/1.1\\r\\n\n\\r\\n\n"
        );
    }

    #[test]
    fn a_bare_lf_differs_from_crlf() {
        assert_ne!(visible(b"a\nb"), visible(b"a\r\nb"));
        assert_eq!(visible(b"a\nb"), "a\\n\nb");
    }

    #[test]
    fn unprintable_and_non_ascii_bytes_are_escaped() {
        assert_eq!(visible(b"\x00\x7f\xe9\t\\"), "\\x00\\x7f\\xe9\\t\\\\");
    }
}
