//! What the guest-in-asyncio design buys: many requests waiting at once on
//! one worker, a thousand idle keep-alive connections held by one worker,
//! a client that does not read holding back only its own response, and
//! requests in flight finished on SIGTERM.

mod common;

use std::io::{Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use common::{BIN, serve};
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use testkit::{ServerProcess, connect, exchange, read_response, status_of};

const APP: &str = "asgi_slow:app";

fn body(addr: std::net::SocketAddr, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let response = exchange(addr, request.as_bytes());
    let text = String::from_utf8_lossy(&response).into_owned();
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or(text)
}

#[test]
fn five_hundred_sleeping_requests_take_about_one_second() {
    let server = serve(APP, &["--no-access-log"]);
    let started = Instant::now();
    let mut streams: Vec<_> = (0..500)
        .map(|_| {
            let mut stream = connect(server.addr);
            stream
                .write_all(b"GET /sleep HTTP/1.1\r\nHost: t\r\n\r\n")
                .unwrap();
            stream
        })
        .collect();
    for stream in &mut streams {
        let response = read_response(stream, false);
        assert!(response.ends_with(b"slept"));
    }
    let took = started.elapsed();
    // One after the other they would take 500 s; at once, one second
    // and the time to connect and answer (generous, for a busy machine).
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

/// Raises this process's soft limit on open files to at least `wanted`
/// (up to the hard limit), so that it and the server it starts, which
/// inherits the limit, can each hold that many sockets.
fn allow_open_files(wanted: u64) {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < wanted {
        setrlimit(Resource::RLIMIT_NOFILE, wanted.min(hard), hard).unwrap();
    }
}

#[test]
fn a_thousand_keep_alive_connections_on_one_worker_are_all_answered_twice() {
    const CONNECTIONS: usize = 1000;
    allow_open_files(CONNECTIONS as u64 + 256);
    let args = [
        "--workers",
        "1",
        "--loop",
        "asyncio",
        "--no-access-log",
        APP,
    ];
    let server = ServerProcess::start_in_apps(BIN, &args);
    let started = Instant::now();
    let mut streams: Vec<_> = (0..CONNECTIONS).map(|_| connect(server.addr)).collect();
    for round in ["first", "second"] {
        for (i, stream) in streams.iter_mut().enumerate() {
            let request = format!("GET /echo-path/{round}/{i} HTTP/1.1\r\nHost: t\r\n\r\n");
            stream.write_all(request.as_bytes()).unwrap();
        }
        // Every connection is still open (keep-alive), and each response
        // is its own request's.
        for (i, stream) in streams.iter_mut().enumerate() {
            let response = read_response(stream, false);

            let expected = format!("/echo-path/{round}/{i}");
            assert!(
                response.ends_with(expected.as_bytes()),
                "{round} request on connection {i}: {}\nserver: {}",
                String::from_utf8_lossy(&response),
                server.stderr()
            );
            assert!(!String::from_utf8_lossy(&response).contains("close"));
        }
    }
    // About a second on a quiet machine; the bound is for a busy one.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
fn a_client_that_does_not_read_holds_back_only_its_own_response() {
    let server = serve(APP, &["--no-access-log"]);
    let mut slow = connect(server.addr);
    slow.write_all(b"GET /big-stream HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(500));
    // The app is held in `send` once the buffers are full: far from the
    // 64 MiB it would otherwise have produced.
    let sent: u64 = body(server.addr, "/sent").parse().unwrap();
    assert!(sent < 16 * 1024 * 1024, "the app ran ahead by {sent} bytes");
    assert_eq!(
        status_of(&exchange(
            server.addr,
            b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )),
        Some(200)
    );
    // Once the client reads, the whole stream comes through.
    let mut total = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    while total < 64 * 1024 * 1024 {
        let n = slow.read(&mut chunk).unwrap();
        assert!(n > 0, "the stream ended after {total} bytes");
        total += n;
    }
}

#[test]
fn sigterm_lets_the_requests_in_flight_finish() {
    let mut server = serve(APP, &["--no-access-log"]);
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET /sleep HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(200));
    server.signal("TERM");
    let response = read_response(&mut stream, false);
    assert!(
        response.ends_with(b"slept"),
        "{}",
        String::from_utf8_lossy(&response)
    );
    assert!(String::from_utf8_lossy(&response).contains("Connection: close"));
    assert_eq!(server.terminate(), Some(0));
}
