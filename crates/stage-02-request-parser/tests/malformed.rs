//! The malformed-request table: every naive-parser pitfall of chapter 2 and
//! every leniency of httparse a server must refuse, with the error each gets.

use stage_02::{Limits, ParseError, Parsed, ReadError, parse_request, read_request};
use testkit::Trickle;

fn malformed(part: &'static str) -> ParseError {
    ParseError::Malformed { part }
}

const ASTERISK: &str = "* is the target of OPTIONS only";
const NO_FORM: &str = "it must start with / or be an absolute URI like http://host/path";
const FRAGMENT: &str = "a fragment (#) stays with the client and is never sent";

fn bad_target(reason: &'static str) -> ParseError {
    ParseError::InvalidTarget { reason }
}

fn long(prefix: &str, filler: u8, len: usize, suffix: &str) -> Vec<u8> {
    let mut bytes = prefix.as_bytes().to_vec();
    bytes.resize(prefix.len() + len, filler);
    bytes.extend_from_slice(suffix.as_bytes());
    bytes
}

/// (what it shows, request bytes, expected error, expected status)
fn table() -> Vec<(&'static str, Vec<u8>, ParseError, u16)> {
    let limits = Limits::default();
    let many_headers: String = (0..=limits.max_headers)
        .map(|i| format!("X-{i}: v\r\n"))
        .collect();
    let cases: Vec<(&str, &[u8], ParseError)> = vec![
        // Line endings.
        ("bare LF everywhere", b"GET / HTTP/1.1\nHost: x\n\n", ParseError::BareLineFeed),
        ("bare LF after one header", b"GET / HTTP/1.1\r\nHost: x\n\r\n", ParseError::BareLineFeed),
        ("bare LF as the empty line", b"GET / HTTP/1.1\r\nHost: x\r\n\n", ParseError::BareLineFeed),
        ("bare CR inside a header value", b"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", malformed("header value")),
        ("space before CRLF of the request line", b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", malformed("line ending")),
        // Request line.
        ("two spaces after the method", b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", malformed("method or request target")),
        ("control byte in the method", b"G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n", malformed("method or request target")),
        ("white space before the request line", b" GET / HTTP/1.1\r\nHost: x\r\n\r\n", malformed("method or request target")),
        ("raw latin-1 byte in the target", b"GET /caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n", malformed("method or request target")),
        ("space inside the target", b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", malformed("HTTP version")),
        ("no version (HTTP/0.9 style)", b"GET /\r\n\r\n", malformed("method or request target")),
        ("version without a minor", b"GET / HTTP/1\r\nHost: x\r\n\r\n", malformed("HTTP version")),
        ("lower-case protocol name", b"GET / http/1.1\r\nHost: x\r\n\r\n", malformed("HTTP version")),
        ("another protocol", b"GET / FTP/1.1\r\nHost: x\r\n\r\n", malformed("HTTP version")),
        // Request target: one of the four forms of RFC 9112, section 3.2.
        ("* with a method other than OPTIONS", b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", bad_target(ASTERISK)),
        ("* followed by a query", b"OPTIONS *?x HTTP/1.1\r\nHost: x\r\n\r\n", bad_target(NO_FORM)),
        ("a relative path", b"GET foo/bar HTTP/1.1\r\nHost: x\r\n\r\n", bad_target(NO_FORM)),
        ("authority-form without CONNECT", b"GET example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", bad_target(NO_FORM)),
        ("a query without a path", b"GET ?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", bad_target(NO_FORM)),
        ("a scheme that starts with a digit", b"GET 1http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", bad_target(NO_FORM)),
        ("an absolute URI without a host", b"GET http:///a HTTP/1.1\r\nHost: x\r\n\r\n", bad_target(NO_FORM)),
        ("a fragment after the query", b"GET /a?x=1#b HTTP/1.1\r\nHost: x\r\n\r\n", bad_target(FRAGMENT)),
        ("a fragment in an absolute URI", b"GET http://x/a#b HTTP/1.1\r\nHost: x\r\n\r\n", bad_target(FRAGMENT)),
        ("CONNECT, asking a server for a tunnel", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", ParseError::ConnectNotImplemented),
        // Versions we do not speak.
        ("HTTP/2.0 in an HTTP/1 request line", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", ParseError::UnsupportedVersion("HTTP/2.0".into())),
        ("HTTP/1.2", b"GET / HTTP/1.2\r\nHost: x\r\n\r\n", ParseError::UnsupportedVersion("HTTP/1.2".into())),
        ("HTTP/0.9 with a version", b"GET / HTTP/0.9\r\n\r\n", ParseError::UnsupportedVersion("HTTP/0.9".into())),
        // Header lines.
        ("space between name and colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", malformed("header name")),
        ("obsolete line folding", b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n  folded\r\n\r\n", malformed("header name")),
        ("empty header name", b"GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", malformed("header name")),
        ("separator in a header name", b"GET / HTTP/1.1\r\nHost: x\r\nX(y): v\r\n\r\n", malformed("header name")),
        ("header line without a colon", b"GET / HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n", malformed("header name")),
        ("NUL in a header value", b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", malformed("header value")),
        // Host.
        ("HTTP/1.1 without Host", b"GET / HTTP/1.1\r\nX: y\r\n\r\n", ParseError::MissingHost),
        ("two different Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", ParseError::RepeatedHost),
        ("two equal Hosts, even in 1.0", b"GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", ParseError::RepeatedHost),
        // Content-Type: a singleton field (RFC 9110, section 8.3).
        ("two Content-Type lines", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n", ParseError::RepeatedContentType),
        ("two equal Content-Type lines", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\ncontent-type: text/plain\r\n\r\n", ParseError::RepeatedContentType),
        // Content-Length: the int(value) pitfalls.
        ("non-numeric Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", ParseError::InvalidContentLength("abc".into())),
        ("negative Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", ParseError::InvalidContentLength("-1".into())),
        ("Content-Length with a plus sign", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", ParseError::InvalidContentLength("+5".into())),
        ("hexadecimal Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n", ParseError::InvalidContentLength("0x10".into())),
        ("Content-Length past u64", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", ParseError::InvalidContentLength("99999999999999999999999".into())),
        ("empty Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", ParseError::InvalidContentLength("".into())),
        ("two numbers in one Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n", ParseError::InvalidContentLength("1 2".into())),
        ("trailing comma in Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5,\r\n\r\n", ParseError::InvalidContentLength("5,".into())),
        ("two different Content-Length lines", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", ParseError::ConflictingContentLength),
        ("a Content-Length list that disagrees", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\n", ParseError::ConflictingContentLength),
        // Transfer-Encoding.
        ("Content-Length and Transfer-Encoding", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", ParseError::ContentLengthWithTransferEncoding),
        ("chunked, which this stage's reader does not decode", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", ParseError::TransferEncodingNotImplemented("chunked".into())),
        ("a coding before chunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", ParseError::TransferEncodingNotImplemented("gzip, chunked".into())),
        ("chunked that is not the final coding", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ParseError::ChunkedNotFinal("chunked, gzip".into())),
        ("an unknown coding alone", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", ParseError::ChunkedNotFinal("identity".into())),
        ("two Transfer-Encoding lines", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", ParseError::RepeatedTransferEncoding),
        ("Transfer-Encoding in HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ParseError::TransferEncodingInHttp10),
        // Limits.
        ("a body past the limit", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n", ParseError::BodyTooLarge { limit: limits.max_body_bytes }),
    ];
    let mut table: Vec<_> = cases
        .into_iter()
        .map(|(what, bytes, error)| {
            let status = error.status().0;
            (what, bytes.to_vec(), error, status)
        })
        .collect();
    table.push((
        "a 1 MB request target",
        long("GET /", b'a', 1 << 20, " HTTP/1.1\r\nHost: x\r\n\r\n"),
        ParseError::RequestLineTooLong {
            limit: limits.max_request_line,
        },
        414,
    ));
    table.push((
        "a 1 MB header line",
        long(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ",
            b'a',
            1 << 20,
            "\r\n\r\n",
        ),
        ParseError::HeadTooLarge {
            limit: limits.max_head_bytes,
        },
        431,
    ));
    table.push((
        // Each line is well under nginx's 8 KiB, the whole is more than the
        // 32 KiB nginx holds at most (large_client_header_buffers 4 8k).
        "a 40 KiB head in ten 4 KB fields",
        format!(
            "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
            format!("X-Pad: {}\r\n", "p".repeat(4000)).repeat(10)
        )
        .into_bytes(),
        ParseError::HeadTooLarge {
            limit: limits.max_head_bytes,
        },
        431,
    ));
    table.push((
        "one header more than the limit",
        format!("GET / HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes(),
        ParseError::TooManyHeaders {
            limit: limits.max_headers,
        },
        431,
    ));
    table
}

/// What the reader makes of `bytes` arriving `step` bytes at a time.
fn refusal(bytes: &[u8], step: usize) -> Option<ParseError> {
    match read_request(
        &mut Trickle::new(bytes, step),
        &mut Vec::new(),
        &Limits::default(),
    ) {
        Err(ReadError::Parse(error)) => Some(error),
        _ => None,
    }
}

#[test]
fn every_malformed_request_gets_its_error_and_status() {
    let table = table();
    assert!(table.len() >= 25, "the table has {} cases", table.len());
    let mut failures = Vec::new();
    for (what, bytes, expected, status) in &table {
        match refusal(bytes, bytes.len()) {
            Some(error) if error == *expected && error.status().0 == *status => {}
            got => failures.push(format!(
                "{what}: expected {expected:?} ({status}), got {got:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_status_the_parser_uses_appears_in_the_table() {
    let mut statuses: Vec<u16> = table().iter().map(|(_, _, _, s)| *s).collect();
    statuses.sort_unstable();
    statuses.dedup();
    assert_eq!(statuses, [400, 413, 414, 431, 501, 505]);
}

#[test]
fn the_same_errors_come_when_the_bytes_trickle_in() {
    // Fed one byte at a time, a malformed request must be refused with the
    // same error, never taken for an incomplete one or for another error.
    for (what, bytes, expected, _) in table().into_iter().filter(|(_, b, _, _)| b.len() < 4096) {
        assert_eq!(refusal(&bytes, 1), Some(expected), "{what}");
    }
}

#[test]
fn no_prefix_of_a_malformed_request_parses_as_complete() {
    for (what, bytes, _, _) in table().into_iter().filter(|(_, b, _, _)| b.len() < 4096) {
        for end in 1..bytes.len() {
            if let Ok(Parsed::Complete { request, .. }) =
                parse_request(&bytes[..end], &Limits::default())
            {
                assert_eq!(
                    request.framing,
                    stage_02::BodyFraming::Chunked,
                    "{what}: a prefix of {end} bytes parsed"
                );
            }
        }
    }
}

#[test]
fn limits_hold_at_their_exact_boundary() {
    let limits = Limits {
        max_request_line: 20,
        max_headers: 2,
        max_head_bytes: 60,
        max_body_bytes: 5,
    };
    // "GET /aaaaaa HTTP/1.1" is exactly 20 bytes.
    let at = b"GET /aaaaaa HTTP/1.1\r\nHost: x\r\n\r\n";
    let over = b"GET /aaaaaaa HTTP/1.1\r\nHost: x\r\n\r\n";
    assert!(matches!(
        parse_request(at, &limits),
        Ok(Parsed::Complete { .. })
    ));
    assert_eq!(
        parse_request(over, &limits),
        Err(ParseError::RequestLineTooLong { limit: 20 })
    );

    let two = b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n\r\n";
    let three = b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n";
    assert!(matches!(
        parse_request(two, &limits),
        Ok(Parsed::Complete { .. })
    ));
    assert_eq!(
        parse_request(three, &limits),
        Err(ParseError::TooManyHeaders { limit: 2 })
    );

    let body_at = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
    let body_over = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n";
    assert!(matches!(
        parse_request(body_at, &limits),
        Ok(Parsed::Complete { .. })
    ));
    assert_eq!(
        parse_request(body_over, &limits),
        Err(ParseError::BodyTooLarge { limit: 5 })
    );
}

#[test]
fn an_endless_head_is_refused_before_it_completes() {
    let limits = Limits::default();
    let mut bytes = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    while bytes.len() <= limits.max_head_bytes {
        bytes.extend_from_slice(format!("X-Pad: {}\r\n", "p".repeat(2000)).as_bytes());
    }
    // No empty line yet: the head is partial, and already too large.
    assert_eq!(
        parse_request(&bytes, &limits),
        Err(ParseError::HeadTooLarge {
            limit: limits.max_head_bytes
        })
    );
}

#[test]
fn a_header_limit_above_the_stack_slots_still_holds() {
    // Up to 128 header slots live on the stack; a larger limit uses the heap.
    let limits = Limits {
        max_headers: 300,
        max_head_bytes: 64 * 1024,
        ..Limits::default()
    };
    let head = |count: usize| {
        let lines: String = (1..count).map(|i| format!("X-{i}: {i}\r\n")).collect();
        format!("GET / HTTP/1.1\r\nHost: x\r\n{lines}\r\n")
    };
    let Ok(Parsed::Complete { request, .. }) = parse_request(head(300).as_bytes(), &limits) else {
        panic!("300 headers are within a limit of 300");
    };
    assert_eq!(request.headers.len(), 300);
    assert_eq!(request.header("X-299"), Some("299"));
    assert_eq!(
        parse_request(head(301).as_bytes(), &limits),
        Err(ParseError::TooManyHeaders { limit: 300 })
    );
}
