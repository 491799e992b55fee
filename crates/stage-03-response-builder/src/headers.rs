//! What may go into a header line, and the error when something may not.

use std::fmt;

use stage_02::parse::parse_decimal;

/// Why a response cannot be written. Nothing is written when this happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidResponse {
    /// A status that is not `NNN reason` with a code from 100 to 999 and a
    /// reason phrase without control characters.
    BadStatus(String),
    /// A header name that is not a token (RFC 9110, section 5.6.2).
    BadHeaderName(String),
    /// A header value with CR, LF, NUL or another control character.
    BadHeaderValue {
        /// The header's name.
        name: String,
        /// The offending value.
        value: String,
    },
    /// A header value with a character beyond U+00FF, which has no latin-1
    /// byte.
    NotLatin1 {
        /// The header's name.
        name: String,
    },
    /// A body given for a status that must not have one (1xx, 204, 304).
    BodyNotAllowed(u16),
    /// A `Content-Length` or `Transfer-Encoding` header that contradicts
    /// how the body is actually framed.
    FramingConflict(String),
}

impl fmt::Display for InvalidResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidResponse::BadStatus(s) => write!(
                f,
                "invalid status {s:?}: expected a 3-digit code and a reason phrase"
            ),
            InvalidResponse::BadHeaderName(n) => {
                write!(f, "invalid header name {n:?}: not a token")
            }
            InvalidResponse::BadHeaderValue { name, value } => write!(
                f,
                "invalid value for header {name}: {value:?} contains a control character (CR, LF and NUL would let it inject headers)"
            ),
            InvalidResponse::NotLatin1 { name } => {
                write!(
                    f,
                    "the value of header {name} has characters beyond latin-1 (U+00FF)"
                )
            }
            InvalidResponse::BodyNotAllowed(code) => {
                write!(f, "a {code} response must not have a body")
            }
            InvalidResponse::FramingConflict(what) => write!(f, "conflicting framing: {what}"),
        }
    }
}

impl std::error::Error for InvalidResponse {}

// ANCHOR: token
/// Whether `name` is a token: one or more of the visible ASCII characters
/// that are not delimiters (RFC 9110, section 5.6.2).
pub fn is_token(name: &str) -> bool {
    // ANCHOR: ex-03.1-token
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    // ANCHOR_END: ex-03.1-token
}
// ANCHOR_END: token

// ANCHOR: check_header
/// Checks one header line before anything is written.
///
/// A CR or LF in a value would end the line early: `X: a\r\nSet-Cookie: b`
/// writes a second header the application never meant, and a blank line
/// would end the head and start a body of the attacker's making. NUL and
/// the other control characters are refused too (RFC 9110, section 5.5).
pub fn check_header(name: &str, value: &str) -> Result<(), InvalidResponse> {
    if !is_token(name) {
        return Err(InvalidResponse::BadHeaderName(name.to_string()));
    }
    // Nearly every value is printable ASCII, which one quick pass over the
    // bytes can tell; anything else gets the two checks below.
    if value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        return Ok(());
    }
    // ANCHOR: ex-03.2-header-injection
    if value.chars().any(|c| c != '\t' && c.is_control()) {
        return Err(InvalidResponse::BadHeaderValue {
            name: name.to_string(),
            value: value.to_string(),
        });
    }
    // ANCHOR_END: ex-03.2-header-injection
    if value.chars().any(|c| u32::from(c) > 0xff) {
        return Err(InvalidResponse::NotLatin1 {
            name: name.to_string(),
        });
    }
    Ok(())
}
// ANCHOR_END: check_header

// ANCHOR: header_lines
/// Response headers, each checked when it is added and kept as the bytes
/// it will be written as.
///
/// Checking at the door means a header list is never half-valid, and a
/// server that takes headers from an application (chapter 4) checks each
/// once, when the application hands it over, not again when it writes the
/// head. The writer needs to know a few names (so as not to add `Date`
/// twice, or to contradict the app's `Content-Length`): they are noted on
/// the way in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderLines {
    /// `Name: value\r\n` for each header, in order, in latin-1.
    bytes: Vec<u8>,
    has_date: bool,
    has_server: bool,
    has_connection: bool,
    has_transfer_encoding: bool,
    /// How many `Content-Length` headers, and the first one's number (if
    /// it is one).
    content_lengths: usize,
    first_content_length: Option<u64>,
}
// ANCHOR_END: header_lines

impl HeaderLines {
    /// No headers yet.
    pub fn new() -> HeaderLines {
        HeaderLines {
            // Room for a typical app's few headers without growing.
            bytes: Vec::with_capacity(256),
            ..HeaderLines::default()
        }
    }

    // ANCHOR: header_lines_push
    /// Checks `name: value` with [`check_header`] and adds it after the
    /// others; on error nothing is added.
    pub fn push(&mut self, name: &str, value: &str) -> Result<(), InvalidResponse> {
        check_header(name, value)?;
        let is = |known: &str| name.eq_ignore_ascii_case(known);
        if is("Content-Length") {
            if self.content_lengths == 0 {
                self.first_content_length = parse_decimal(value.trim());
            }
            self.content_lengths += 1;
        }
        self.has_date |= is("Date");
        self.has_server |= is("Server");
        self.has_connection |= is("Connection");
        self.has_transfer_encoding |= is("Transfer-Encoding");
        push_line(&mut self.bytes, name, value);
        Ok(())
    }
    // ANCHOR_END: header_lines_push

    /// Every pair checked and added, in order.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<HeaderLines, InvalidResponse> {
        let mut lines = HeaderLines::new();
        for (name, value) in pairs {
            lines.push(name, value)?;
        }
        Ok(lines)
    }

    /// The header lines as they go on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether a `Date` header is among them.
    pub fn has_date(&self) -> bool {
        self.has_date
    }

    /// Whether a `Server` header is among them.
    pub fn has_server(&self) -> bool {
        self.has_server
    }

    /// Whether a `Connection` header is among them.
    pub fn has_connection(&self) -> bool {
        self.has_connection
    }

    /// Whether a `Transfer-Encoding` header is among them.
    pub fn has_transfer_encoding(&self) -> bool {
        self.has_transfer_encoding
    }

    /// The `Content-Length` headers: how many, and the first one's value
    /// if it is a number.
    pub fn content_lengths(&self) -> (usize, Option<u64>) {
        (self.content_lengths, self.first_content_length)
    }

    /// Every value of the header `name`, in order, read back from the
    /// bytes (latin-1, as they were written); names compare
    /// case-insensitively. The lines can be split again without doubt:
    /// [`check_header`] let no CR or LF into a value and no `:` into a name.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = String> + 'a {
        self.bytes
            .split(|&b| b == b'\n')
            .filter_map(|line| {
                let line = line.strip_suffix(b"\r")?;
                let colon = line.iter().position(|&b| b == b':')?;
                Some((&line[..colon], &line[colon + 2..]))
            })
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| value.iter().map(|&b| char::from(b)).collect())
    }
}

// ANCHOR: push_line
/// Appends the header line `name: value` and its CRLF, in latin-1.
pub(crate) fn push_line(out: &mut Vec<u8>, name: &str, value: &str) {
    push_latin1(out, name);
    out.extend_from_slice(b": ");
    push_latin1(out, value);
    out.extend_from_slice(b"\r\n");
}

/// Appends `text` as latin-1 bytes: char U+00NN becomes byte NN. Callers
/// have checked with [`check_header`] that every char fits in a byte.
pub fn push_latin1(out: &mut Vec<u8>, text: &str) {
    if text.is_ascii() {
        // ASCII is the same bytes in UTF-8 and latin-1: the common case.
        out.extend_from_slice(text.as_bytes());
    } else {
        out.extend(text.chars().map(|c| u8::try_from(c).unwrap_or(b'?')));
    }
}
// ANCHOR_END: push_line

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_reads_back_what_was_pushed() {
        let mut lines = HeaderLines::new();
        lines.push("Content-Type", "text/plain").unwrap();
        lines.push("X-Trace", "one").unwrap();
        lines.push("Set-Cookie", "a=1; Path=/").unwrap();
        lines.push("x-trace", "caf\u{e9}: two").unwrap();
        lines.push("X-Empty", "").unwrap();
        let values = |name| lines.header_values(name).collect::<Vec<_>>();
        assert_eq!(values("content-type"), ["text/plain"]);
        assert_eq!(values("X-TRACE"), ["one", "caf\u{e9}: two"]);
        assert_eq!(values("x-empty"), [""]);
        assert!(values("x-trac").is_empty() && values("missing").is_empty());
    }

    #[test]
    fn header_names_must_be_tokens() {
        assert!(is_token("Content-Type") && is_token("x-a_b.c~1"));
        for bad in ["", "Bad Name", "a:b", "a\r\nb", "caf\u{e9}", "(x)", "a/b"] {
            assert!(!is_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn header_injection_is_refused() {
        for value in [
            "a\r\nSet-Cookie: evil=1",
            "a\nb",
            "a\rb",
            "a\0b",
            "a\x7fb",
            "\r\n\r\n<html>",
            // Latin-1 has control characters of its own (C1, U+0080 to
            // U+009F); U+0085 is NEL, which some parsers end a line at.
            "a\u{85}Set-Cookie: evil=1",
            "a\u{9b}b",
        ] {
            assert_eq!(
                check_header("X", value),
                Err(InvalidResponse::BadHeaderValue {
                    name: "X".into(),
                    value: value.into()
                }),
                "the value {value:?} must be refused"
            );
        }
        assert!(check_header("X", "tab\tand caf\u{e9}").is_ok());
        assert_eq!(
            check_header("X", "\u{2603}"),
            Err(InvalidResponse::NotLatin1 { name: "X".into() })
        );
    }

    #[test]
    fn latin1_encoding_is_one_byte_per_char() {
        let mut out = Vec::new();
        push_latin1(&mut out, "caf\u{e9}");
        assert_eq!(out, b"caf\xe9");
    }
}
