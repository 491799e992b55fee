//! Splitting a response into status line, headers and body.
//!
//! The response mirrors the request: a status line, header lines, an empty
//! line, then the body. This client asked for `Connection: close`, so the
//! body is simply everything after the empty line up to EOF.

use std::fmt;

/// A response as it came off the wire, split but not interpreted further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// `HTTP/1.1`, or whatever version the server answered with.
    pub version: String,
    /// The three-digit status code.
    pub status: u16,
    /// The reason phrase, which may be empty (RFC 9112, section 4).
    pub reason: String,
    /// Header lines in the order received, names as the server wrote them.
    /// Values are decoded as latin-1, which maps every byte to one char.
    pub headers: Vec<(String, String)>,
    /// Every byte after the empty line.
    pub body: Vec<u8>,
}

/// Why the bytes that came back are not an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MalformedResponse {
    /// The connection closed before the empty line that ends the headers.
    Incomplete,
    /// The first line is not `HTTP/x.y NNN reason`.
    BadStatusLine(String),
    /// A header line without a colon.
    BadHeaderLine(String),
}

impl fmt::Display for MalformedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MalformedResponse::Incomplete => {
                write!(
                    f,
                    "the server closed the connection before the end of the headers"
                )
            }
            MalformedResponse::BadStatusLine(line) => {
                write!(f, "not an HTTP status line: {line:?}")
            }
            MalformedResponse::BadHeaderLine(line) => write!(f, "not a header line: {line:?}"),
        }
    }
}

impl std::error::Error for MalformedResponse {}

// ANCHOR: find_header
impl RawResponse {
    /// The first header named `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
// ANCHOR_END: find_header

// ANCHOR: split_response
/// Splits the bytes of a whole response at its empty line.
pub fn split_response(bytes: &[u8]) -> Result<RawResponse, MalformedResponse> {
    // ANCHOR: ex-01.3-split-response
    let head_end = find(bytes, b"\r\n\r\n").ok_or(MalformedResponse::Incomplete)?;
    let head = latin1(&bytes[..head_end]);
    let body = bytes[head_end + 4..].to_vec();

    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let (version, status, reason) = parse_status_line(status_line)
        .ok_or_else(|| MalformedResponse::BadStatusLine(status_line.to_string()))?;

    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| MalformedResponse::BadHeaderLine(line.to_string()))?;
        // Optional white space around the value is not part of it
        // (RFC 9112, section 5.1).
        headers.push((
            name.to_string(),
            value.trim_matches([' ', '\t']).to_string(),
        ));
    }
    Ok(RawResponse {
        version,
        status,
        reason,
        headers,
        body,
    })
    // ANCHOR_END: ex-01.3-split-response
}
// ANCHOR_END: split_response

// ANCHOR: status_line
/// `HTTP/1.1 200 OK` becomes `("HTTP/1.1", 200, "OK")`.
fn parse_status_line(line: &str) -> Option<(String, u16, String)> {
    let (version, rest) = line.split_once(' ')?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let valid_code = code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit());
    if !version.starts_with("HTTP/") || !valid_code {
        return None;
    }
    Some((version.to_string(), code.parse().ok()?, reason.to_string()))
}
// ANCHOR_END: status_line

/// Decodes bytes as ISO-8859-1: byte N becomes code point N, so no byte is
/// lost or replaced, whatever the server sent.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The position of the first `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_simple_response() {
        let bytes = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Empty:\r\n\r\nhello\r\n";
        let response = split_response(bytes).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.reason, "OK");
        assert_eq!(response.header("content-type"), Some("text/plain"));
        assert_eq!(response.header("x-empty"), Some(""));
        assert_eq!(response.body, b"hello\r\n");
    }

    #[test]
    fn keeps_non_ascii_header_bytes_as_latin1() {
        let response = split_response(b"HTTP/1.0 404 Not Found\r\nX: caf\xe9\r\n\r\n").unwrap();
        assert_eq!(response.header("X"), Some("caf\u{e9}"));
        assert_eq!(response.version, "HTTP/1.0");
    }

    #[test]
    fn an_empty_reason_phrase_is_allowed() {
        assert_eq!(split_response(b"HTTP/1.1 204 \r\n\r\n").unwrap().reason, "");
        assert_eq!(split_response(b"HTTP/1.1 204\r\n\r\n").unwrap().status, 204);
    }

    #[test]
    fn refuses_what_is_not_a_response() {
        assert_eq!(
            split_response(b"HTTP/1.1 200 OK\r\n"),
            Err(MalformedResponse::Incomplete)
        );
        assert!(matches!(
            split_response(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(MalformedResponse::BadStatusLine(_))
        ));
        assert!(matches!(
            split_response(b"HTTP/1.1 2000 OK\r\n\r\n"),
            Err(MalformedResponse::BadStatusLine(_))
        ));
        assert!(matches!(
            split_response(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n"),
            Err(MalformedResponse::BadHeaderLine(_))
        ));
    }
}
