//! Connections over time: keep-alive and pipelining, `100 Continue` only
//! once the app asks for the body, `receive()` after the body waiting for
//! the end of the response, and a client's disconnect reaching the app.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{conversation, serve, undated};
use testkit::{connect, read_response, visible};

const APP: &str = "asgi_wire:app";

#[test]
fn pipelined_requests_on_one_connection_are_answered_in_order() {
    let server = serve(APP, &["--no-access-log"]);
    let mut stream = connect(server.addr);
    // Three requests in one write: the second and third wait in the input
    // while the first is answered.
    stream
        .write_all(
            b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n\
POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc\
GET /context?third HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .unwrap();
    let mut shown = String::new();
    for _ in 0..3 {
        shown += &visible(&undated(&read_response(&mut stream, false)));
        shown += "\n";
    }
    insta::assert_snapshot!("pipelined_three", shown);
}

#[test]
fn continue_is_sent_only_when_the_app_reads_the_body() {
    let server = serve(APP, &["--no-access-log"]);
    let mut stream = connect(server.addr);
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        )
        .unwrap();
    let interim = read_response(&mut stream, false);
    assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"hello").unwrap();
    let response = read_response(&mut stream, false);
    assert!(
        response.ends_with(b"\r\n\r\nhello"),
        "{}",
        visible(&response)
    );

    // An app that never reads the body: no 100, and this response is the
    // connection's last, as the client may or may not send the body now.
    let shown = conversation(
        server.addr,
        &[b"POST /hello HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"],
    );
    assert!(!shown.contains("100 Continue"), "{shown}");
    assert!(shown.contains("Connection: close"), "{shown}");
}

#[test]
fn no_continue_once_the_response_has_started() {
    let server = serve(APP, &["--no-access-log"]);
    let mut stream = connect(server.addr);
    stream
        .write_all(
            b"POST /start-then-read HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\
              Content-Length: 5\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    // The head and the first piece come before the client sends its body
    // (it may, as RFC 9110 lets a client that waited long enough).
    let mut seen = Vec::new();
    while !seen.ends_with(b"first\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "{}", visible(&seen));
        seen.push(byte[0]);
    }
    stream.write_all(b"hello").unwrap();
    stream.read_to_end(&mut seen).unwrap();
    let shown = visible(&seen);
    assert!(!shown.contains("100 Continue"), "{shown}");
    assert!(shown.contains("got hello"), "{shown}");
}

#[test]
fn after_the_body_receive_waits_for_the_end_of_the_response() {
    let server = serve(APP, &["--no-access-log"]);
    let shown = conversation(
        server.addr,
        &[b"POST /after-body HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"],
    );
    assert!(shown.contains("pending=True"), "{shown}");
    server.wait_for_stdout("after-body then http.disconnect");
}

#[test]
fn a_client_that_goes_away_is_seen_by_receive() {
    let server = serve(APP, &["--no-access-log"]);
    let mut stream = connect(server.addr);
    stream
        .write_all(b"POST /wait-disconnect HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx")
        .unwrap();
    // The head and first piece arrive; the app is now waiting in receive().
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    while !String::from_utf8_lossy(&got).contains("waiting") {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "closed early: {}", visible(&got));
        got.extend_from_slice(&chunk[..n]);
    }
    drop(stream);
    server.wait_for_stdout("wait-disconnect got http.disconnect");
    std::thread::sleep(Duration::from_millis(50));
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET /disconnects HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let response = read_response(&mut stream, false);
    assert!(response.ends_with(b"\r\n\r\n1"), "{}", visible(&response));
}

#[test]
fn each_request_runs_as_a_task_with_its_own_context() {
    let server = serve(APP, &["--no-access-log"]);
    // Two requests on one connection, and one on another at once: a value
    // set in one request's context is never seen by another's.
    let mut other = connect(server.addr);
    other
        .write_all(b"GET /context?b HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut stream = connect(server.addr);
    for name in ["a1", "a2"] {
        let request = format!("GET /context?{name} HTTP/1.1\r\nHost: t\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let response = read_response(&mut stream, false);
        let expected = format!("task=Task before=None after={name}\n");
        assert!(
            response.ends_with(expected.as_bytes()),
            "{}",
            visible(&response)
        );
    }
    let response = read_response(&mut other, false);
    assert!(
        response.ends_with(b"task=Task before=None after=b\n"),
        "{}",
        visible(&response)
    );
}

#[test]
fn idle_and_stalled_connections_time_out() {
    let server = serve(
        APP,
        &[
            "--no-access-log",
            "--keep-alive",
            "1",
            "--header-timeout",
            "1",
        ],
    );
    let mut idle = connect(server.addr);
    idle.write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    read_response(&mut idle, false);
    let mut slow = connect(server.addr);
    slow.write_all(b"GET /hello HTTP/1.1\r\nHost").unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    assert!(
        matches!(idle.read_to_end(&mut rest), Ok(0)),
        "closed quietly"
    );
    let answer = testkit::read_to_close(&mut slow);
    assert_eq!(testkit::status_of(&answer), Some(408));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[test]
fn an_eager_task_factory_set_at_startup_does_not_break_requests() {
    let server = serve("asgi_eager:app", &["--no-access-log"]);
    let shown = conversation(
        server.addr,
        &[
            b"GET /at-once HTTP/1.1\r\nHost: t\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
            b"GET /sleep HTTP/1.1\r\nHost: t\r\n\r\n",
        ],
    );
    insta::assert_snapshot!("eager_task_factory", shown);
}
