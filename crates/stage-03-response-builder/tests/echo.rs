//! The echo server over real loopback sockets, driven by stage-01's client.

use std::io::Write;
use std::thread;
use std::time::Duration;

use stage_01::{FetchOptions, Url, build_request, fetch, split_response};
use testkit::{ServerProcess, connect, exchange, read_to_close, status_of, visible};

const BIN: &str = env!("CARGO_BIN_EXE_stage-03");

fn get(server: &ServerProcess, method: &str, path: &str, body: &[u8]) -> stage_01::RawResponse {
    let url = Url::parse(&format!("http://{}{path}", server.addr)).unwrap();
    let bytes = fetch(
        &url,
        &build_request(method, &url, body),
        &FetchOptions::default(),
    )
    .unwrap();
    split_response(&bytes).unwrap()
}

#[test]
fn stage_01_sees_its_own_request_described() {
    let server = ServerProcess::start(BIN, &[]);
    let response = get(&server, "POST", "/echo?x=1", b"a=1&b=2");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Connection"), Some("close"));
    assert_eq!(response.header("Server"), Some("stage-03/0.1.0"));
    assert!(response.header("Date").is_some_and(|d| d.ends_with(" GMT")));
    let length: usize = response.header("Content-Length").unwrap().parse().unwrap();
    assert_eq!(length, response.body.len());
    let body = String::from_utf8(response.body).unwrap();
    for line in [
        "method:  POST",
        "path:    /echo",
        "query:   x=1",
        "body:    7 bytes (Content-Length: 7)",
        "a=1&b=2",
    ] {
        assert!(body.contains(line), "missing {line:?} in:\n{body}");
    }
    server.wait_for_stderr("\"POST /echo?x=1 HTTP/1.1\" 200");
}

#[test]
fn head_is_answered_with_headers_only() {
    let server = ServerProcess::start(BIN, &[]);
    let get_response = get(&server, "GET", "/same", b"");
    let head_response = get(&server, "HEAD", "/same", b"");
    assert!(head_response.body.is_empty());
    // The descriptions differ by the method's length (HEAD vs GET).
    let get_length: usize = get_response
        .header("Content-Length")
        .unwrap()
        .parse()
        .unwrap();
    let head_length: usize = head_response
        .header("Content-Length")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(head_length, get_length + 1);
}

#[test]
fn a_request_split_across_crlf_is_echoed() {
    let server = ServerProcess::start(BIN, &[]);
    let mut stream = connect(server.addr);
    for piece in [
        &b"GET /split HTTP/1.1\r"[..],
        b"\nHost: x\r",
        b"\n",
        b"\r",
        b"\n",
    ] {
        stream.write_all(piece).unwrap();
        thread::sleep(Duration::from_millis(20));
    }
    let answer = read_to_close(&mut stream);
    assert_eq!(status_of(&answer), Some(200), "{}", visible(&answer));
    assert!(String::from_utf8_lossy(&answer).contains("path:    /split"));
}

#[test]
fn malformed_requests_get_their_status_and_the_server_goes_on() {
    let mut server = ServerProcess::start(BIN, &[]);
    for (request, status) in [
        (&b"GET / HTTP/1.1\nHost: x\n\n"[..], 400),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
        (b"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            501,
        ),
    ] {
        let answer = exchange(server.addr, request);
        assert_eq!(status_of(&answer), Some(status), "{}", visible(&answer));
        let parsed = split_response(&answer).unwrap();
        assert_eq!(parsed.header("Connection"), Some("close"));
        assert_eq!(
            parsed.header("Content-Length"),
            Some(parsed.body.len().to_string().as_str())
        );
    }
    let big_target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000));
    assert_eq!(
        status_of(&exchange(server.addr, big_target.as_bytes())),
        Some(414)
    );
    assert_eq!(get(&server, "GET", "/still-here", b"").status, 200);
    assert!(server.is_running());
}

#[test]
fn a_bad_bind_address_is_a_clear_error() {
    assert_cmd::Command::cargo_bin("stage-03")
        .unwrap()
        .args(["--bind", "not-an-address"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("cannot listen on not-an-address"));
}
