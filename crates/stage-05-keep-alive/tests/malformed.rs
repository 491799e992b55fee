//! The adversarial table: framing, smuggling and limit cases over real
//! sockets, each with the status it must get, and each followed by a check
//! that the server still serves a fresh connection.

mod common;

use std::io::Write;

use common::{quick, serve};
use stage_05::ServerConfig;
use testkit::{connect, exchange, read_to_close, status_of, visible};

/// A request for the body-consuming route with these extra head lines and
/// this body.
fn post(head: &str, body: &str) -> Vec<u8> {
    format!("POST /consume HTTP/1.1\r\nHost: test\r\n{head}\r\n{body}").into_bytes()
}

fn chunked(body: &str) -> Vec<u8> {
    post("Transfer-Encoding: chunked\r\n", body)
}

fn table() -> Vec<(&'static str, Vec<u8>, u16)> {
    let many_headers: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
    vec![
        // Syntax (stage-02's parser, still in charge of the head).
        (
            "bare LF line endings",
            b"GET /hello HTTP/1.1\nHost: test\n\n".to_vec(),
            400,
        ),
        (
            "no Host in HTTP/1.1",
            b"GET /hello HTTP/1.1\r\n\r\n".to_vec(),
            400,
        ),
        (
            "two Host lines",
            b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(),
            400,
        ),
        (
            "HTTP/2.0 in an HTTP/1 request line",
            b"GET /hello HTTP/2.0\r\nHost: test\r\n\r\n".to_vec(),
            505,
        ),
        (
            "a malformed version",
            b"GET /hello HTTP/1\r\nHost: test\r\n\r\n".to_vec(),
            400,
        ),
        (
            "space before a header colon",
            b"GET /hello HTTP/1.1\r\nHost : test\r\n\r\n".to_vec(),
            400,
        ),
        (
            "obsolete line folding",
            b"GET /hello HTTP/1.1\r\nHost: test\r\nX: a\r\n b\r\n\r\n".to_vec(),
            400,
        ),
        (
            "NUL in a header value",
            b"GET /hello HTTP/1.1\r\nHost: test\r\nX: a\x00b\r\n\r\n".to_vec(),
            400,
        ),
        (
            "control byte in the method",
            b"G\x01T /hello HTTP/1.1\r\nHost: test\r\n\r\n".to_vec(),
            400,
        ),
        // Request targets in no form their method may use (RFC 9112, 3.2).
        (
            "* with a method other than OPTIONS",
            b"GET * HTTP/1.1\r\nHost: test\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a relative path",
            b"GET hello HTTP/1.1\r\nHost: test\r\n\r\n".to_vec(),
            400,
        ),
        (
            "authority-form without CONNECT",
            b"GET test:80 HTTP/1.1\r\nHost: test\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a query without a path",
            b"GET ?x=1 HTTP/1.1\r\nHost: test\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a fragment after the query",
            b"GET /query?x=1#b HTTP/1.1\r\nHost: test\r\n\r\n".to_vec(),
            400,
        ),
        (
            "CONNECT, which only a proxy serves",
            b"CONNECT test:443 HTTP/1.1\r\nHost: test:443\r\n\r\n".to_vec(),
            501,
        ),
        // Content-Type, a singleton field (RFC 9110, section 8.3).
        (
            "two Content-Type lines",
            post(
                "Content-Type: text/plain\r\nContent-Type: application/json\r\nContent-Length: 0\r\n",
                "",
            ),
            400,
        ),
        // Content-Length.
        (
            "non-numeric Content-Length",
            post("Content-Length: abc\r\n", ""),
            400,
        ),
        (
            "negative Content-Length",
            post("Content-Length: -1\r\n", ""),
            400,
        ),
        (
            "Content-Length with a sign",
            post("Content-Length: +3\r\n", "abc"),
            400,
        ),
        (
            "Content-Length past u64",
            post("Content-Length: 18446744073709551616\r\n", ""),
            400,
        ),
        (
            "two different Content-Lengths",
            post("Content-Length: 3\r\nContent-Length: 4\r\n", "abcd"),
            400,
        ),
        (
            "a Content-Length list that disagrees",
            post("Content-Length: 3, 4\r\n", "abcd"),
            400,
        ),
        (
            "Content-Length over the body limit",
            post("Content-Length: 5000\r\n", ""),
            413,
        ),
        // Smuggling: two framings, or an ambiguous one.
        (
            "Content-Length and Transfer-Encoding",
            post(
                "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
                "0\r\n\r\n",
            ),
            400,
        ),
        (
            "Transfer-Encoding and Content-Length 0",
            post(
                "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
                "0\r\n\r\n",
            ),
            400,
        ),
        (
            "Transfer-Encoding in HTTP/1.0",
            b"POST /consume HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
            400,
        ),
        (
            "two Transfer-Encoding lines",
            post(
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                "0\r\n\r\n",
            ),
            400,
        ),
        (
            "chunked not the final coding",
            post("Transfer-Encoding: chunked, gzip\r\n", "0\r\n\r\n"),
            400,
        ),
        (
            "an unknown coding alone",
            post("Transfer-Encoding: gzip\r\n", ""),
            400,
        ),
        (
            "identity, which no longer exists",
            post("Transfer-Encoding: identity\r\n", ""),
            400,
        ),
        (
            "a coding before chunked",
            post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"),
            501,
        ),
        (
            "a misspelt chunked",
            post("Transfer-Encoding: chunkd\r\n", "0\r\n\r\n"),
            400,
        ),
        // Chunk sizes.
        ("an empty chunk size", chunked("\r\nabc\r\n0\r\n\r\n"), 400),
        (
            "a chunk size that is not hex",
            chunked("g\r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        ("a 0x prefix", chunked("0x3\r\nabc\r\n0\r\n\r\n"), 400),
        (
            "a negative chunk size",
            chunked("-3\r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        (
            "a chunk size past 64 bits",
            chunked("10000000000000000\r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        (
            "white space after the size, no extension",
            chunked("3 \r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        (
            "a bare LF after the size",
            chunked("3\nabc\r\n0\r\n\r\n"),
            400,
        ),
        (
            "a chunk extension past the line limit",
            chunked(&format!("3;{}\r\nabc\r\n0\r\n\r\n", "x".repeat(5000))),
            400,
        ),
        // Chunk data.
        (
            "data longer than its size",
            chunked("3\r\nabcd\r\n0\r\n\r\n"),
            400,
        ),
        ("no CR LF after the data", chunked("3\r\nabc0\r\n\r\n"), 400),
        (
            "a bare LF after the data",
            chunked("3\r\nabc\n0\r\n\r\n"),
            400,
        ),
        (
            "a chunked body over the body limit",
            chunked(&format!("1388\r\n{}\r\n0\r\n\r\n", "x".repeat(5000))),
            413,
        ),
        // Trailers.
        (
            "Content-Length in the trailers",
            chunked("3\r\nabc\r\n0\r\nContent-Length: 3\r\n\r\n"),
            400,
        ),
        (
            "Transfer-Encoding in the trailers",
            chunked("3\r\nabc\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            400,
        ),
        (
            "Host in the trailers",
            chunked("3\r\nabc\r\n0\r\nHost: evil\r\n\r\n"),
            400,
        ),
        (
            "a trailer without a colon",
            chunked("3\r\nabc\r\n0\r\nnot a field\r\n\r\n"),
            400,
        ),
        (
            "trailers past their limit",
            chunked(&format!("0\r\nX-Big: {}\r\n\r\n", "y".repeat(9000))),
            400,
        ),
        // Limits on the head.
        (
            "a 1 MB request target",
            format!(
                "GET /{} HTTP/1.1\r\nHost: test\r\n\r\n",
                "a".repeat(1 << 20)
            )
            .into_bytes(),
            414,
        ),
        (
            "a 1 MB header line",
            format!(
                "GET /hello HTTP/1.1\r\nHost: test\r\nX: {}\r\n\r\n",
                "a".repeat(1 << 20)
            )
            .into_bytes(),
            431,
        ),
        (
            "a 40 KiB head in ten 4 KB fields",
            format!(
                "GET /hello HTTP/1.1\r\nHost: test\r\n{}\r\n",
                format!("X-Pad: {}\r\n", "p".repeat(4000)).repeat(10)
            )
            .into_bytes(),
            431,
        ),
        (
            "101 header lines",
            format!("GET /hello HTTP/1.1\r\nHost: test\r\n{many_headers}\r\n").into_bytes(),
            431,
        ),
        // Expectations.
        (
            "an expectation other than 100-continue",
            post("Expect: teapot\r\nContent-Length: 0\r\n", ""),
            417,
        ),
    ]
}

fn config() -> ServerConfig {
    let mut config = quick();
    config.limits.max_body_bytes = 4096;
    config
}

#[test]
fn every_malformed_request_gets_its_status_and_the_server_goes_on() {
    let table = table();
    assert!(table.len() >= 40, "the table has {} cases", table.len());
    let server = serve(config());
    let mut failures = Vec::new();
    for (what, request, status) in &table {
        let response = exchange(server.addr, request);
        let text = String::from_utf8_lossy(&response);
        let framed = text.contains("Connection: close\r\n") && text.contains("Content-Length: ");
        if status_of(&response) != Some(*status) || !framed {
            failures.push(format!(
                "{what}: expected {status} with Content-Length and Connection: close, got\n{}",
                visible(&response)
            ));
        }
        // Whatever that connection did, a fresh one is served.
        let fresh = exchange(
            server.addr,
            b"GET /hello HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        );
        if status_of(&fresh) != Some(200) {
            failures.push(format!(
                "{what}: the next connection got {}",
                visible(&fresh)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_bad_request_after_a_good_one_on_the_same_connection_is_refused_and_closes() {
    let server = serve(config());
    let mut stream = connect(server.addr);
    let mut both = b"GET /hello HTTP/1.1\r\nHost: test\r\n\r\n".to_vec();
    both.extend_from_slice(&chunked("3\r\nabc\r\n0\r\nHost: evil\r\n\r\n"));
    both.extend_from_slice(b"GET /smuggled HTTP/1.1\r\nHost: test\r\n\r\n");
    stream.write_all(&both).unwrap();
    let answer = String::from_utf8(read_to_close(&mut stream)).unwrap();
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 1, "{answer}");
    assert_eq!(
        answer.matches("HTTP/1.1 400 Bad Request").count(),
        1,
        "{answer}"
    );
    assert!(
        !answer.contains(" 404 "),
        "nothing after a refused request is read: {answer}"
    );
}

#[test]
fn a_body_error_found_while_the_app_reads_says_what_went_wrong_and_nothing_else() {
    // The app reads the body, meets the client's bad chunk as a
    // RequestError and lets it propagate: the client gets 400 and the
    // reason, not the text of a Python OSError.
    let server = serve(config());
    let response = exchange(server.addr, &chunked("zz\r\nabc\r\n0\r\n\r\n"));
    let text = String::from_utf8_lossy(&response);
    assert_eq!(status_of(&response), Some(400), "{}", visible(&response));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    assert!(body.starts_with("malformed chunked body"), "{body:?}");
    assert!(!body.contains("Errno"), "{body:?}");
}
