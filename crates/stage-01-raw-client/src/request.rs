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

/* workshop exercise
id: 01.2-request-bytes
title: Write the bytes of a request
kind: implement
book: ch01-http-is-text.html#the-smallest-complete-request
tests: request_bytes_are_pinned
hint: Start with the request line: the method, a space, the target, a space, HTTP/1.1, then \r\n.
hint: Then Host (url.host_header()), User-Agent, Content-Length only when there is a body, Connection: close, each ending in \r\n.
hint: An empty line (\r\n) ends the head; the body bytes follow it.
starter:
    let _ = (method, url, body, USER_AGENT);
    todo!("exercise 01.2: build the request line, the headers, the empty line and the body")
*/
