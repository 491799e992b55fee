//! The client against small servers on loopback, and its CLI.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use stage_01::{FetchError, FetchOptions, Url, build_request, fetch, split_response, visible};

/// A one-shot server on a free loopback port: it reads the request head,
/// answers with `response` one byte per write, then closes. The thread
/// returns the bytes it received.
fn one_shot_server(response: &'static [u8]) -> (String, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hello?x=1", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let received = read_head(&mut stream);
        for byte in response {
            stream.write_all(std::slice::from_ref(byte)).unwrap();
        }
        received
    });
    (url, handle)
}

fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
        received.push(byte[0]);
    }
    received
}

/// A port on which nothing listens: bind one, note it, let it go.
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/")
}

#[test]
fn request_bytes_are_pinned() {
    let url = Url::parse("http://127.0.0.1:8000/hello?name=world").unwrap();
    insta::assert_snapshot!("get_request", visible(&build_request("GET", &url, b"")));
    insta::assert_snapshot!(
        "post_request",
        visible(&build_request("POST", &url, b"a=1&b=2"))
    );
}

#[test]
fn fetches_a_response_that_arrives_one_byte_at_a_time() {
    let (url, server) = one_shot_server(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhi\n");
    let url = Url::parse(&url).unwrap();
    let request = build_request("GET", &url, b"");
    let bytes = fetch(&url, &request, &FetchOptions::default()).unwrap();

    assert_eq!(
        server.join().unwrap(),
        request,
        "the server saw exactly the bytes we built"
    );
    let response = split_response(&bytes).unwrap();
    assert_eq!((response.status, response.reason.as_str()), (200, "OK"));
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
    assert_eq!(response.body, b"hi\n");
}

#[test]
fn a_refused_connection_is_reported_as_such() {
    let url = Url::parse(&closed_port_url()).unwrap();
    let error = fetch(&url, b"", &FetchOptions::default()).unwrap_err();
    assert!(matches!(error, FetchError::Refused { .. }), "{error:?}");
}

#[test]
fn a_silent_server_times_out_instead_of_hanging() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let options = FetchOptions {
        read_timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let error = fetch(&url, b"GET / HTTP/1.1\r\n\r\n", &options).unwrap_err();
    assert!(matches!(error, FetchError::TimedOut { .. }), "{error:?}");
    drop(listener);
}

#[test]
fn an_oversized_response_is_cut_off() {
    let (url, _server) = one_shot_server(b"HTTP/1.1 200 OK\r\n\r\n0123456789");
    let url = Url::parse(&url).unwrap();
    let options = FetchOptions {
        max_response_bytes: 10,
        ..Default::default()
    };
    let error = fetch(&url, &build_request("GET", &url, b""), &options).unwrap_err();
    assert!(
        matches!(error, FetchError::TooLarge { limit: 10 }),
        "{error:?}"
    );
}

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
        assert.stdout(predicate::str::contains("HTTP/"));
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
