//! The loop's reads and writes in every order: large bodies, pipelined
//! tails, responses larger than the socket takes, and generators that wait
//! between pieces. Edge-triggered readiness is reported once; a loop that
//! stops before a socket is exhausted never hears from it again, so these
//! failures look like a connection that just sits.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use proptest::prelude::*;
use stage_03::chunked::{LAST_CHUNK, encode_chunk};
use stage_06::Timeouts;
use testkit::{read_response, visible};

mod common;

#[test]
fn a_large_unread_body_and_the_request_behind_it_are_both_answered() {
    // Several rounds: whether a read pass ends on a full buffer depends on
    // how far the client has got, so one round can pass by luck.
    common::both_answered(common::serve(common::quiet()), 10);
}

#[test]
fn each_piece_of_a_generator_is_sent_before_the_next_is_asked_for() {
    let addr = common::serve(common::quiet());
    let gate = std::env::temp_dir().join(format!("stage-06-gate-{}", std::process::id()));
    let _ = std::fs::remove_file(&gate);
    let mut stream = common::connect_for(addr, 3);
    let request = format!("GET /gated?{} HTTP/1.1\r\nHost: t\r\n\r\n", gate.display());
    stream.write_all(request.as_bytes()).unwrap();
    // The app yields "first", then waits for the gate file before it yields
    // "second". A server that holds pieces back until the generator ends
    // sends nothing until the app gives up waiting.
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    while !seen.windows(6).any(|w| w == b"first\n") {
        match stream.read(&mut chunk) {
            Ok(n) if n > 0 => seen.extend_from_slice(&chunk[..n]),
            other => panic!(
                "the first piece did not arrive on its own ({other:?}); got:\n{}",
                visible(&seen)
            ),
        }
    }
    assert!(
        !seen.windows(7).any(|w| w == b"second\n"),
        "the second piece came before the gate opened"
    );
    std::fs::write(&gate, b"open").unwrap();
    while !seen.ends_with(b"0\r\n\r\n") {
        let n = stream.read(&mut chunk).expect("the rest of the stream");
        assert!(n > 0, "the stream ended early:\n{}", visible(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
    let _ = std::fs::remove_file(&gate);
    assert!(seen.windows(7).any(|w| w == b"second\n"));
}

#[test]
fn a_client_that_leaves_an_endless_stream_gets_it_closed() {
    let addr = common::serve(common::quiet());
    let mut listener = common::connect_for(addr, 3);
    listener
        .write_all(b"GET /ticks HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"tick") {
        let n = listener.read(&mut chunk).expect("the first tick");
        assert!(n > 0);
        seen.extend_from_slice(&chunk[..n]);
    }
    drop(listener);
    // The loop serves one app call at a time: another request is answered
    // only once the stream has ended, and the count says it was closed.
    let mut other = common::connect_for(addr, 5);
    other
        .write_all(b"GET /ticks-closed HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let answer = read_response(&mut other, false);
    assert_eq!(common::body(&answer), "1\n", "{}", visible(&answer));
}

/// One request of the property test below, and what its response's body
/// must be.
#[derive(Debug, Clone)]
enum Exchange {
    Get,
    Unread(usize),
    Echo(usize),
    EchoChunked(usize, usize),
}

impl Exchange {
    fn bytes(&self) -> (Vec<u8>, Vec<u8>) {
        let hello = b"Hello, world!\n".to_vec();
        let payload =
            |size: usize| -> Vec<u8> { (0..size).map(|i| b'a' + (i % 26) as u8).collect() };
        match *self {
            Exchange::Get => (b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), hello),
            Exchange::Unread(size) | Exchange::Echo(size) => {
                let path = if matches!(self, Exchange::Echo(_)) {
                    "/echo"
                } else {
                    "/unread"
                };
                let mut bytes =
                    format!("POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\n\r\n")
                        .into_bytes();
                bytes.extend_from_slice(&payload(size));
                let answer = if path == "/echo" {
                    payload(size)
                } else {
                    hello
                };
                (bytes, answer)
            }
            Exchange::EchoChunked(size, piece) => {
                let mut bytes =
                    b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        .to_vec();
                for part in payload(size).chunks(piece.max(1)) {
                    encode_chunk(&mut bytes, part);
                }
                bytes.extend_from_slice(LAST_CHUNK);
                (bytes, payload(size))
            }
        }
    }
}

fn exchange() -> impl Strategy<Value = Exchange> {
    prop_oneof![
        Just(Exchange::Get),
        (0usize..400_000).prop_map(Exchange::Unread),
        (0usize..400_000).prop_map(Exchange::Echo),
        (0usize..200_000, 1usize..70_000).prop_map(|(s, p)| Exchange::EchoChunked(s, p)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 16, ..ProptestConfig::default() })]

    /// Whatever the requests, however the client splits its writes and
    /// however slowly it reads, every response arrives whole and in order.
    #[test]
    fn pipelined_requests_split_anywhere_are_all_answered_in_order(
        exchanges in prop::collection::vec(exchange(), 1..6),
        cuts in prop::collection::vec(1usize..300_000, 0..8),
        pause_every in prop::option::of(1usize..4),
    ) {
        // One loop for every case: the cases also follow one another on it.
        static LOOP: OnceLock<SocketAddr> = OnceLock::new();
        let addr = *LOOP.get_or_init(|| common::serve(common::quiet()));
        let (mut wire, mut expected) = (Vec::new(), Vec::new());
        for exchange in &exchanges {
            let (bytes, answer) = exchange.bytes();
            wire.extend_from_slice(&bytes);
            expected.push(answer);
        }
        let mut stream = common::connect_for(addr, 10);
        let mut writer = stream.try_clone().unwrap();
        let sending = thread::spawn(move || {
            let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c < wire.len()).collect();
            cuts.sort_unstable();
            let mut from = 0;
            for cut in cuts.into_iter().chain([wire.len()]) {
                writer.write_all(&wire[from..cut.max(from)]).unwrap();
                writer.flush().unwrap();
                from = cut.max(from);
                thread::sleep(Duration::from_millis(2));
            }
        });
        for (index, answer) in expected.iter().enumerate() {
            // A reader that pauses leaves the server's writes partial.
            if pause_every.is_some_and(|every| index % every == 0) {
                thread::sleep(Duration::from_millis(30));
            }
            let response = read_response(&mut stream, false);
            let body = common::body(&response);
            prop_assert_eq!(body.as_bytes(), &answer[..], "response {} of {:?}", index, exchanges);
        }
        sending.join().unwrap();
    }
}

/// A loop whose waits are short, to see what ends them.
fn serve_with(timeouts: Timeouts) -> SocketAddr {
    common::serve(stage_06::LoopConfig {
        timeouts,
        ..common::quiet()
    })
}

#[test]
fn a_408_is_followed_by_the_close_at_once_not_after_the_linger_time() {
    let addr = serve_with(Timeouts {
        header: Duration::from_millis(300),
        linger: Duration::from_secs(20),
        ..Timeouts::default()
    });
    let mut stream = common::connect_for(addr, 5);
    stream.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
    // The server answers 408 and shuts its side down: the client reads the
    // answer, then the end, well before the linger time.
    let answer = testkit::read_to_close(&mut stream);
    assert_eq!(
        testkit::status_of(&answer),
        Some(408),
        "{}",
        visible(&answer)
    );
}

#[test]
fn an_unsupported_expectation_is_refused_before_the_body_is_sent() {
    let addr = common::serve(common::quiet());
    let mut stream = common::connect_for(addr, 5);
    // The client waits for an answer before sending its 10 bytes.
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: a-miracle\r\nContent-Length: 10\r\n\r\n",
        )
        .unwrap();
    let answer = read_response(&mut stream, false);
    assert_eq!(
        testkit::status_of(&answer),
        Some(417),
        "{}",
        visible(&answer)
    );
}

#[test]
fn a_slow_but_steady_upload_is_not_timed_out() {
    // Each piece comes well within the I/O timeout, the whole body does not:
    // the timeout is for a client that stalls, not for a slow one.
    let addr = serve_with(Timeouts {
        io: Duration::from_millis(600),
        ..Timeouts::default()
    });
    let mut stream = common::connect_for(addr, 5);
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\n")
        .unwrap();
    for piece in [b"ab", b"cd", b"ef", b"gh"] {
        thread::sleep(Duration::from_millis(300));
        stream.write_all(piece).unwrap();
    }
    let answer = read_response(&mut stream, false);
    assert_eq!(common::body(&answer), "abcdefgh", "{}", visible(&answer));
}

#[test]
fn a_response_given_up_on_ends_in_a_reset_not_a_clean_close() {
    // HTTP/1.0 and no length: the body ends where the connection does. A
    // client that stops reading is given up on after the I/O timeout; a
    // plain close would make the cut body look complete.
    let addr = serve_with(Timeouts {
        io: Duration::from_millis(300),
        ..Timeouts::default()
    });
    let marker = std::env::temp_dir().join(format!("stage-06-flood-{}", std::process::id()));
    let mut stream = common::connect_for(addr, 10);
    let request = format!("GET /flood?{} HTTP/1.0\r\n\r\n", marker.display());
    stream.write_all(request.as_bytes()).unwrap();
    thread::sleep(Duration::from_millis(1500));
    let mut chunk = vec![0u8; 1 << 16];
    let end = loop {
        match stream.read(&mut chunk) {
            Ok(0) => break Ok(()),
            Ok(_) => continue,
            Err(e) => break Err(e.kind()),
        }
    };
    let _ = std::fs::remove_file(&marker);
    assert_eq!(end, Err(std::io::ErrorKind::ConnectionReset));
}

#[test]
fn a_response_cut_by_the_graceful_timeout_still_has_its_close_called() {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/apps/workers.py");
    let spec = stage_04::AppSpec::File {
        path,
        callable: "application".into(),
    };
    let app = pyo3::Python::attach(|py| stage_04::load_app(py, &spec)).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let clock = std::sync::Arc::new(stage_03::FixedClock::rfc_example());
    let mut event_loop =
        stage_06::EventLoop::new(vec![listener.into()], app, clock, common::quiet()).unwrap();
    let stop = event_loop.stop_flag();
    let running = thread::spawn(move || event_loop.run(Duration::from_millis(300), |_| {}));

    let marker = std::env::temp_dir().join(format!("stage-06-cut-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let mut stream = common::connect_for(addr, 10);
    let request = format!(
        "GET /flood?{} HTTP/1.1\r\nHost: t\r\n\r\n",
        marker.display()
    );
    stream.write_all(request.as_bytes()).unwrap();
    // The client reads nothing: the response waits at the high-water mark
    // when the stop comes, and is still unfinished when the time is up.
    thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    running.join().unwrap().unwrap();
    let closed = std::fs::read_to_string(&marker);
    let _ = std::fs::remove_file(&marker);
    assert_eq!(
        closed.ok().as_deref(),
        Some("closed"),
        "close() was not called"
    );
}
