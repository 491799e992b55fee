//! The bytes of a request, written by hand.

use crate::url::Url;

/// What this client calls itself in the `User-Agent` header.
pub const USER_AGENT: &str = concat!("stage-01/", env!("CARGO_PKG_VERSION"));

// ANCHOR: build_request
/// Builds the complete bytes of an HTTP/1.1 request for `url`.
///
/// The request line, then one header per line, then an empty line: every
/// line ends in CR LF (RFC 9112, section 2.1). `Host` is mandatory in
/// HTTP/1.1 (RFC 9112, section 3.2), and `Connection: close` asks the server
/// to close the connection after its answer, so that reading until EOF
/// reads exactly one response. A body, if any, follows the empty line and
/// is announced by `Content-Length` so that the server knows where it ends.
pub fn build_request(method: &str, url: &Url, body: &[u8]) -> Vec<u8> {
    // ANCHOR: ex-01.2-request-bytes
    let mut head = format!("{method} {} HTTP/1.1\r\n", url.target);
    head.push_str(&format!("Host: {}\r\n", url.host_header()));
    head.push_str(&format!("User-Agent: {USER_AGENT}\r\n"));
    if !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n");
    head.push_str("\r\n");

    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
    // ANCHOR_END: ex-01.2-request-bytes
}
// ANCHOR_END: build_request
