//! The stage-02 binary: offline with `--file`, and as a server on loopback.

use std::io::Write;
use std::thread;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use testkit::{ServerProcess, connect, exchange, read_to_close, status_of, visible};

const BIN: &str = env!("CARGO_BIN_EXE_stage-02");

#[test]
fn file_from_stdin_shows_the_parse() {
    Command::cargo_bin("stage-02")
        .unwrap()
        .args(["--file", "-"])
        .write_stdin("GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("method:  GET"))
        .stdout(predicate::str::contains("path:    /a"))
        .stdout(predicate::str::contains("query:   b=1"));
}

#[test]
fn file_with_raw_shows_the_bytes_too() {
    Command::cargo_bin("stage-02")
        .unwrap()
        .args(["--raw", "--file", "-"])
        .write_stdin("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "GET / HTTP/1.1\\r\\n\nHost: x\\r\\n\n\\r\\n\n",
        ));
}

#[test]
fn a_malformed_file_is_refused_with_its_status() {
    Command::cargo_bin("stage-02")
        .unwrap()
        .args(["--file", "-"])
        .write_stdin("GET / HTTP/1.1\nHost: x\n\n")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("refused: 400 Bad Request"))
        .stdout(predicate::str::contains("LF without CR"));
}

#[test]
fn the_limit_flags_apply_to_a_file_too() {
    let request = "GET /aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: x\r\nA: 1\r\n\r\n";
    for (flag, value, refused) in [
        ("--limit-request-line", "20", "refused: 414 URI Too Long"),
        ("--limit-request-fields", "1", "refused: 431"),
        ("--limit-request-head-size", "40", "refused: 431"),
    ] {
        Command::cargo_bin("stage-02")
            .unwrap()
            .args([flag, value, "--file", "-"])
            .write_stdin(request)
            .assert()
            .code(1)
            .stdout(predicate::str::contains(refused));
    }
    let post = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    Command::cargo_bin("stage-02")
        .unwrap()
        .args(["--limit-request-body", "4", "--file", "-"])
        .write_stdin(post)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("refused: 413 Content Too Large"));
}

#[test]
fn an_incomplete_or_missing_file_is_reported() {
    Command::cargo_bin("stage-02")
        .unwrap()
        .args(["--file", "-"])
        .write_stdin("GET / HTTP/1.1\r\nHost: x\r\n")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("in the middle of a request"));
    Command::cargo_bin("stage-02")
        .unwrap()
        .args(["--file", "/no/such/request.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read /no/such/request.txt"));
}

#[test]
fn the_server_parses_a_request_that_arrives_one_byte_at_a_time() {
    let server = ServerProcess::start(BIN, &["--raw"]);
    let mut stream = connect(server.addr);
    for byte in b"GET /slow?x=1 HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\n\r\n" {
        stream.write_all(std::slice::from_ref(byte)).unwrap();
        thread::sleep(Duration::from_millis(1));
    }
    let answer = read_to_close(&mut stream);
    assert_eq!(status_of(&answer), Some(200), "{}", visible(&answer));
    let printed = server.wait_for_stdout("X-Name");
    assert!(printed.contains("path:    /slow"), "{printed}");
    assert!(printed.contains("X-Name: \"café\""), "{printed}");
    assert!(
        printed.contains("X-Name: caf\\xe9\\r\\n"),
        "--raw shows the byte: {printed}"
    );
}

#[test]
fn the_server_answers_each_error_with_its_status_and_keeps_serving() {
    let mut server = ServerProcess::start(BIN, &[]);
    for (request, status) in [
        (&b"GET / HTTP/1.1\r\n\r\n"[..], 400),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            501,
        ),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    ] {
        let answer = exchange(server.addr, request);
        assert_eq!(status_of(&answer), Some(status), "{}", visible(&answer));
        assert!(answer.windows(19).any(|w| w == b"Connection: close\r\n"));
    }
    // A client that connects and leaves without a word changes nothing.
    drop(connect(server.addr));
    let answer = exchange(server.addr, b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status_of(&answer), Some(200));
    assert!(server.is_running());
}

#[test]
fn a_bad_bind_address_is_a_clear_error() {
    Command::cargo_bin("stage-02")
        .unwrap()
        .args(["--bind", "127.0.0.1:99999"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot listen on 127.0.0.1:99999"));
}
