//! What the server does when the app gets ASGI wrong (uvicorn's matrix):
//! each case leaves well-framed bytes or a reset on the wire, a logged
//! error, and a server that goes on serving.

mod common;

use std::io::{Read, Write};

use common::serve;
use testkit::{ServerProcess, connect, exchange, status_of};

const APP: &str = "asgi_wire:app";

/// The server still answers, on a new connection.
fn still_serves(server: &ServerProcess) {
    let response = exchange(
        server.addr,
        b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&response), Some(200));
}

/// Sends `path` and reads until the connection ends: what came, and
/// whether it ended with a reset or an orderly EOF.
fn read_until_end(server: &ServerProcess, path: &str) -> (String, &'static str) {
    let mut stream = connect(server.addr);
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let ended = loop {
        match stream.read(&mut chunk) {
            Ok(0) => break "eof",
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(_) => break "reset",
        }
    };
    (String::from_utf8_lossy(&got).into_owned(), ended)
}

#[test]
fn an_exception_after_the_start_aborts_the_connection() {
    let server = serve(APP, &["--no-access-log"]);
    let (text, ended) = read_until_end(&server, "/raise-after-start");
    // The head and the piece sent went out chunked; the last chunk never
    // did, so no client can take the cut body for a whole one.
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("7\r\npartial\r\n"), "{text}");
    assert!(!text.contains("0\r\n\r\n"), "{text}");
    assert_eq!(
        ended, "reset",
        "an aborted response ends with a reset: {text}"
    );
    server.wait_for_stderr("RuntimeError: the app failed in the middle of its body");
    still_serves(&server);
}

#[test]
fn a_body_longer_than_its_content_length_is_cut_with_a_reset() {
    let server = serve(APP, &["--no-access-log"]);
    let (text, ended) = read_until_end(&server, "/overrun");
    assert!(text.contains("content-length: 3\r\n"), "{text}");
    assert!(
        text.ends_with("\r\n\r\nab"),
        "the extra bytes never go out: {text}"
    );
    assert_eq!(ended, "reset", "{text}");
    server.wait_for_stderr("more body than the Content-Length announced (1 bytes were left)");
    still_serves(&server);
}

#[test]
fn no_response_a_second_start_or_a_bad_header_is_a_500() {
    let server = serve(APP, &["--no-access-log"]);
    for path in ["/return-without-start", "/start-twice", "/bad-header"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
        let response = exchange(server.addr, request.as_bytes());
        assert_eq!(status_of(&response), Some(500), "{path}");
        let text = String::from_utf8_lossy(&response);
        assert!(!text.contains("Set-Cookie"), "{path}: {text}");
    }
    let stderr = server.wait_for_stderr("sent twice");
    assert!(
        stderr.contains("returned without starting a response"),
        "{stderr}"
    );
    server.wait_for_stderr("control character");
    still_serves(&server);
}

#[test]
fn a_message_after_the_response_is_refused_to_the_app() {
    let server = serve(APP, &["--no-access-log"]);
    let response = exchange(
        server.addr,
        b"GET /after-complete HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&response);
    assert!(text.contains("Content-Length: 4\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\ndone"), "{text}");
    let stdout = server.wait_for_stdout("after-complete refused");
    assert!(
        stdout.contains("after the response was complete"),
        "{stdout}"
    );
    // Logged by the server too, though the app caught it.
    server.wait_for_stderr("misused send: a message sent after the response was complete");
    still_serves(&server);
}

#[test]
fn a_malformed_body_read_by_the_app_is_answered_400() {
    let server = serve(APP, &["--no-access-log"]);
    let response = exchange(
        server.addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n",
    );
    assert_eq!(
        status_of(&response),
        Some(400),
        "{}",
        String::from_utf8_lossy(&response)
    );
    still_serves(&server);
}
