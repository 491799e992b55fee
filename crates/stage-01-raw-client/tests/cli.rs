//! The stage-01 binary: what a user sees.

mod common;

use std::net::TcpStream;
use std::time::Duration;

use assert_cmd::Command;
use common::{closed_port_url, one_shot_server};
use predicates::prelude::*;

#[test]
fn cli_prints_the_response_with_crlf_visible() {
    let (url, _server) = one_shot_server(b"HTTP/1.1 200 OK\r\nX-Test: yes\r\n\r\nbody");
    Command::cargo_bin("stage-01")
        .unwrap()
        .args(["--show-request", &url])
        .assert()
        .success()
        .stdout(predicate::str::contains("GET /hello?x=1 HTTP/1.1\\r\\n\n"))
        .stdout(predicate::str::contains("Connection: close\\r\\n\n"))
        .stdout(predicate::str::contains(
            "HTTP/1.1 200 OK\\r\\n\nX-Test: yes\\r\\n\n\\r\\n\nbody",
        ))
        .stderr(predicate::str::contains(
            "200 OK with 1 header(s) and a 4-byte body",
        ));
}

#[test]
fn cli_raw_prints_the_exact_bytes() {
    let (url, _server) = one_shot_server(b"HTTP/1.1 200 OK\r\n\r\nbody");
    Command::cargo_bin("stage-01")
        .unwrap()
        .args(["--raw", &url])
        .assert()
        .success()
        .stdout("HTTP/1.1 200 OK\r\n\r\nbody");
}

#[test]
fn cli_without_a_server_says_how_to_start_one() {
    Command::cargo_bin("stage-01")
        .unwrap()
        .arg(closed_port_url())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "nothing is listening on 127.0.0.1:",
        ))
        .stderr(predicate::str::contains("cargo run -p stage-03"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn cli_with_no_argument_targets_port_8000() {
    // Whether something listens on 8000 on this machine is not ours to
    // decide, so check both outcomes: either a response, or the hint.
    let listening = TcpStream::connect("127.0.0.1:8000").is_ok();
    let assert = Command::cargo_bin("stage-01")
        .unwrap()
        .timeout(Duration::from_secs(30))
        .assert();
    if listening {
        // Something else's server may also be slow to answer, or not
        // answer at all (a stage-05 held by an idle client, say): then the
        // client says it timed out, and still does not panic.
        let output = assert.get_output();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stdout.contains("HTTP/") || stderr.contains("timed out while reading the response"),
            "neither a response nor a timeout:\n{stdout}\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    } else {
        assert
            .code(1)
            .stderr(predicate::str::contains(
                "nothing is listening on 127.0.0.1:8000",
            ))
            .stderr(predicate::str::contains("cargo run -p stage-03"));
    }
}

#[test]
fn cli_refuses_bad_urls_with_exit_code_2() {
    for (url, message) in [
        ("https://127.0.0.1/", "https:// is not supported"),
        ("http:///path", "no host"),
        ("http://127.0.0.1:http/", "is not a number from 1 to 65535"),
        ("http://127.0.0.1:70000/", "is not a number from 1 to 65535"),
        ("127.0.0.1:8000", "must start with http://"),
    ] {
        Command::cargo_bin("stage-01")
            .unwrap()
            .arg(url)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains("panicked").not());
    }
}
