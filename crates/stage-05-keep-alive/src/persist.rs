//! Whether a connection stays open after a response (RFC 9112, section 9.3).

use stage_02::{Request, Version};
use stage_04::AfterResponse;

// ANCHOR: keep_alive
/// Whether the client asked for, or by default gets, a persistent
/// connection. HTTP/1.1 connections persist unless `close` is among the
/// `Connection` tokens; HTTP/1.0 ones only with `keep-alive`. Tokens are a
/// comma-separated, case-insensitive list, possibly over several lines.
pub fn keep_alive_requested(request: &Request) -> bool {
    // ANCHOR: ex-05.1-keep-alive
    let has = |wanted: &str| {
        request
            .header_values("connection")
            .flat_map(|value| value.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case(wanted))
    };
    if has("close") {
        return false;
    }
    match request.version {
        Version::Http11 => true,
        Version::Http10 => has("keep-alive"),
    }
    // ANCHOR_END: ex-05.1-keep-alive
}
// ANCHOR_END: keep_alive

/// What follows the response to `request`: the connection stays open if
/// the client wants it and the server is not stopping; chunked bodies only
/// for HTTP/1.1, and an explicit `keep-alive` for HTTP/1.0 clients.
pub fn after_response(request: &Request, stopping: bool) -> AfterResponse {
    match (keep_alive_requested(request) && !stopping, request.version) {
        (false, _) => AfterResponse::Close,
        (true, Version::Http11) => AfterResponse::KeepOpen {
            http11: true,
            announce: false,
        },
        (true, Version::Http10) => AfterResponse::KeepOpen {
            http11: false,
            announce: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::request;

    #[test]
    fn http11_persists_unless_told_to_close() {
        assert!(keep_alive_requested(&request(
            "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        )));
        assert!(!keep_alive_requested(&request(
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )));
        assert!(!keep_alive_requested(&request(
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, CLOSE\r\n\r\n"
        )));
        assert!(!keep_alive_requested(&request(
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"
        )));
    }

    #[test]
    fn http10_persists_only_when_asked() {
        assert!(!keep_alive_requested(&request("GET / HTTP/1.0\r\n\r\n")));
        assert!(keep_alive_requested(&request(
            "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
        )));
        assert!(keep_alive_requested(&request(
            "GET / HTTP/1.0\r\nConnection: foo , keep-alive\r\n\r\n"
        )));
    }
}
