//! Persistent connections over real loopback sockets: the exact bytes of
//! keep-alive exchanges, and how the connection's life is decided.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use common::{quick, serve};
use testkit::{connect, read_response, read_to_close, status_of, visible};

/// Sends each request on one connection and reads each response in turn.
fn conversation(addr: std::net::SocketAddr, requests: &[&[u8]]) -> String {
    let mut stream = connect(addr);
    let mut shown = String::new();
    for request in requests {
        stream.write_all(request).unwrap();
        let response = read_response(&mut stream, request.starts_with(b"HEAD"));
        shown += &format!(
            "--> request\n{}\n<-- response\n{}\n",
            visible(request),
            visible(&response)
        );
    }
    shown
}

/// True when the server has closed the connection (EOF, or a reset).
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(0) | Err(_))
}

const GET_HELLO: &[u8] = b"GET /hello HTTP/1.1\r\nHost: test\r\n\r\n";

#[test]
fn keep_alive_exchanges_are_pinned() {
    let server = serve(quick());
    insta::assert_snapshot!(
        "two_requests_one_connection",
        conversation(
            server.addr,
            &[
                GET_HELLO,
                b"GET /query?second HTTP/1.1\r\nHost: test\r\n\r\n"
            ]
        )
    );
    insta::assert_snapshot!(
        "chunked_request",
        conversation(
            server.addr,
            &[b"POST /consume HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello\n\r\n7;ext=1\r\nworld!\n\r\n0\r\nX-Trailer: ok\r\n\r\n"]
        )
    );
    insta::assert_snapshot!(
        "chunked_response",
        conversation(
            server.addr,
            &[b"GET /stream HTTP/1.1\r\nHost: test\r\n\r\n"]
        )
    );
    insta::assert_snapshot!(
        "head_then_get",
        conversation(
            server.addr,
            &[b"HEAD /stream HTTP/1.1\r\nHost: test\r\n\r\n", GET_HELLO]
        )
    );
    insta::assert_snapshot!(
        "http10_keep_alive",
        conversation(
            server.addr,
            &[
                b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
            ]
        )
    );
}

#[test]
fn a_pipelined_pair_is_pinned() {
    let server = serve(quick());
    let mut stream = connect(server.addr);
    let pair = b"GET /query?first HTTP/1.1\r\nHost: test\r\n\r\nGET /query?second HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    stream.write_all(pair).unwrap();
    let answer = read_to_close(&mut stream);
    insta::assert_snapshot!(
        "pipelined_pair",
        format!(
            "--> request\n{}\n<-- response\n{}",
            visible(pair),
            visible(&answer)
        )
    );
}

#[test]
fn continue_100_goes_out_when_the_app_reads() {
    let server = serve(quick());
    let mut stream = connect(server.addr);
    let head = b"POST /consume HTTP/1.1\r\nHost: test\r\nContent-Length: 6\r\nExpect: 100-continue\r\n\r\n";
    stream.write_all(head).unwrap();
    let interim = read_response(&mut stream, false);
    assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"body!\n").unwrap();
    let response = read_response(&mut stream, false);
    insta::assert_snapshot!(
        "continue_100",
        format!(
            "--> request head\n{}\n<-- interim response\n{}\n--> body\n{}\n<-- response\n{}",
            visible(head),
            visible(&interim),
            visible(b"body!\n"),
            visible(&response)
        )
    );
}

#[test]
fn no_100_continue_when_the_app_answers_without_reading_and_the_connection_closes() {
    let server = serve(quick());
    let mut stream = connect(server.addr);
    stream.write_all(b"POST /ignore-body HTTP/1.1\r\nHost: test\r\nContent-Length: 6\r\nExpect: 100-continue\r\n\r\n").unwrap();
    let response = read_response(&mut stream, false);
    assert_eq!(status_of(&response), Some(200), "{}", visible(&response));
    assert!(
        closed_by_server(&mut stream),
        "the body may never come: the connection must not be reused"
    );
    // On HTTP/1.0 the expectation is ignored: no 100, the body is read.
    let mut stream = connect(server.addr);
    stream
        .write_all(
            b"POST /consume HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
        )
        .unwrap();
    let response = read_to_close(&mut stream);
    assert!(
        response.starts_with(b"HTTP/1.1 200 OK\r\n")
            && response.ends_with(b"3 bytes, 0 newlines\n"),
        "{}",
        visible(&response)
    );
}

#[test]
fn an_unread_body_is_drained_before_the_next_request() {
    let server = serve(quick());
    let mut stream = connect(server.addr);
    let body = vec![b'x'; 100_000];
    let head = format!(
        "POST /ignore-body HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    assert_eq!(status_of(&read_response(&mut stream, false)), Some(200));
    stream.write_all(GET_HELLO).unwrap();
    let next = read_response(&mut stream, false);
    assert!(next.ends_with(b"Hello, world!\n"), "{}", visible(&next));
}

#[test]
fn a_body_too_large_to_drain_closes_the_connection() {
    let server = serve(stage_05::ServerConfig {
        max_drain: 1000,
        ..quick()
    });
    let mut stream = connect(server.addr);
    let body = vec![b'x'; 50_000];
    let head = format!(
        "POST /ignore-body HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    assert_eq!(status_of(&read_response(&mut stream, false)), Some(200));
    assert!(closed_by_server(&mut stream));
}

#[test]
fn connection_close_from_the_client_ends_the_connection() {
    let server = serve(quick());
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let response = read_response(&mut stream, false);
    assert!(String::from_utf8_lossy(&response).contains("Connection: close\r\n"));
    assert!(closed_by_server(&mut stream));
    // HTTP/1.0 without keep-alive closes too, and a body of unknown
    // length is never chunked for it.
    let mut stream = connect(server.addr);
    stream.write_all(b"GET /stream HTTP/1.0\r\n\r\n").unwrap();
    let response = read_to_close(&mut stream);
    let text = String::from_utf8_lossy(&response);
    assert!(
        !text.contains("chunked")
            && text.contains("Connection: close\r\n")
            && text.ends_with("second line\n"),
        "{text}"
    );
}

#[test]
fn an_idle_connection_is_closed_quietly_after_the_keep_alive_time() {
    let server = serve(stage_05::ServerConfig {
        keep_alive: Duration::from_millis(300),
        ..quick()
    });
    let mut stream = connect(server.addr);
    stream.write_all(GET_HELLO).unwrap();
    read_response(&mut stream, false);
    // No request follows: the server closes without a word.
    assert_eq!(read_to_close(&mut stream), b"");
}

#[test]
fn a_slowloris_head_gets_408() {
    let server = serve(stage_05::ServerConfig {
        header_timeout: Duration::from_millis(500),
        ..quick()
    });
    let mut stream = connect(server.addr);
    let mut sent = 0;
    for byte in b"GET /hello HTTP/1.1\r\nHost: test\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        if stream.write_all(std::slice::from_ref(byte)).is_err() {
            break;
        }
        sent += 1;
        thread::sleep(Duration::from_millis(50));
        if sent > 30 {
            break;
        }
    }
    let answer = read_to_close(&mut stream);
    assert_eq!(status_of(&answer), Some(408), "{}", visible(&answer));
}

#[test]
fn a_pipelined_burst_is_answered_in_order() {
    let server = serve(quick());
    let mut stream = connect(server.addr);
    let mut burst = Vec::new();
    for i in 0..100 {
        burst
            .extend_from_slice(format!("GET /query?{i} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
    }
    burst.extend_from_slice(b"GET /query?last HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(&burst).unwrap();
    let answers = String::from_utf8(read_to_close(&mut stream)).unwrap();
    let bodies: Vec<&str> = answers
        .split("\r\n\r\n")
        .skip(1)
        .map(|rest| rest.split('\n').next().unwrap())
        .collect();
    let expected: Vec<String> = (0..100)
        .map(|i| i.to_string())
        .chain(["last".to_string()])
        .collect();
    assert_eq!(bodies, expected);
}

#[test]
fn a_request_split_at_every_byte_is_answered_the_same() {
    let server = serve(quick());
    let pair: &[u8] = b"POST /consume HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
3\r\nab\n\r\n0\r\n\r\nGET /query?after HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    let whole = {
        let mut stream = connect(server.addr);
        stream.write_all(pair).unwrap();
        read_to_close(&mut stream)
    };
    assert!(
        String::from_utf8_lossy(&whole).ends_with("after\n"),
        "{}",
        visible(&whole)
    );
    for split in 1..pair.len() {
        let mut stream = connect(server.addr);
        stream.write_all(&pair[..split]).unwrap();
        thread::sleep(Duration::from_millis(2));
        stream.write_all(&pair[split..]).unwrap();
        assert_eq!(read_to_close(&mut stream), whole, "split at byte {split}");
    }
}

#[test]
fn one_idle_keep_alive_client_holds_up_everyone_else() {
    // The single-threaded trap: while client A keeps its connection open
    // and idle, the server sits in A's read, and B is not even accepted.
    let server = serve(stage_05::ServerConfig {
        keep_alive: Duration::from_millis(1500),
        ..quick()
    });
    let mut a = connect(server.addr);
    a.write_all(GET_HELLO).unwrap();
    read_response(&mut a, false);

    let mut b = connect(server.addr);
    b.write_all(GET_HELLO).unwrap();
    b.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let early = b.read(&mut byte);
    assert!(
        early.is_err(),
        "B was answered while A held the server: {early:?}"
    );

    // When A's keep-alive time runs out, the server closes A and gets to B.
    assert!(closed_by_server(&mut a));
    b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let response = read_response(&mut b, false);
    assert!(
        response.ends_with(b"Hello, world!\n"),
        "{}",
        visible(&response)
    );
}
