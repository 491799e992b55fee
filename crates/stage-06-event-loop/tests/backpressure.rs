//! The event loop in this process: backpressure and pipelining, observed
//! from outside.

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use stage_06::LoopConfig;
use testkit::{connect, read_response, visible};

mod common;

/// The workers.py app on an event loop of its own, with a small high-water mark.
fn serve() -> std::net::SocketAddr {
    common::serve(LoopConfig {
        high_water: 256 * 1024,
        ..common::quiet()
    })
}

fn body(response: &[u8]) -> String {
    common::body(response).trim().to_string()
}

#[test]
fn a_client_that_does_not_read_pauses_the_generator() {
    let addr = serve();
    let mut hog = connect(addr);
    // 1000 pieces of 64 KiB: 64 MB the client will not read for now.
    hog.write_all(b"GET /counted-stream?1000 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(500));
    let mut other = connect(addr);
    other
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    other
        .write_all(b"GET /pulled HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let pulled: usize = body(&read_response(&mut other, false)).parse().unwrap();
    // The socket buffers take a few MB; the server's own buffer stops at
    // its high-water mark. All 1000 would mean no backpressure at all.
    assert!(
        pulled > 0 && pulled < 300,
        "expected: between 1 and 299 of the 1000 pieces pulled while the client reads nothing \
         (the server stops at its high-water mark)\nactual:   {pulled} pulled"
    );
    // Reading resumes the generator, to the last byte (the head first,
    // then the chunked body, whose data is all `y`).
    hog.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        hog.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let mut total = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    while total < 1000 * 65536 {
        let n = hog.read(&mut chunk).unwrap();
        assert!(n > 0, "the stream ended early after {total} bytes");
        total += chunk[..n].iter().filter(|&&b| b == b'y').count();
    }
    assert_eq!(total, 1000 * 65536);
}

#[test]
fn requests_that_arrive_together_are_all_answered() {
    let addr = serve();
    let mut stream = connect(addr);
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // One write, three requests: a single readiness edge. The loop must go
    // on until nothing moves, or the second and third wait forever.
    stream
        .write_all(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\nGET /pid HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    for expected in [
        "Hello, world!",
        "Hello, world!",
        &std::process::id().to_string(),
    ] {
        let response = read_response(&mut stream, false);
        assert_eq!(body(&response), expected, "{}", visible(&response));
    }
}

#[test]
fn a_stream_read_as_fast_as_it_comes_does_not_hold_the_loop() {
    // /ticks never ends, and this client reads every piece at once, so the
    // output never reaches the high-water mark: nothing makes the loop stop
    // pulling but its own sense of fairness.
    let addr = serve();
    let mut stream = common::connect_for(addr, 10);
    stream
        .write_all(b"GET /ticks HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let reading = {
        let mut stream = stream.try_clone().unwrap();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut total = 0;
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                total += n;
            }
            total
        })
    };
    thread::sleep(Duration::from_millis(300));
    let mut other = common::connect_for(addr, 10);
    other
        .write_all(b"GET /pid HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let answer = read_response(&mut other, false);
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "a request beside the stream was not answered: {}",
        visible(&answer)
    );
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    let streamed = reading.join().unwrap();
    assert!(streamed > 0, "the stream sent nothing");
}

#[test]
fn an_endless_stream_to_a_client_that_reads_outlives_the_header_timeout() {
    // The header timeout was the last deadline set before the response
    // began; a response whose every piece the socket took at once never
    // set another, so the stream was reset when the header timeout ran out.
    let addr = common::serve(LoopConfig {
        timeouts: stage_06::Timeouts {
            header: Duration::from_secs(1),
            ..stage_06::Timeouts::default()
        },
        ..common::quiet()
    });
    let mut client = common::connect_for(addr, 5);
    client
        .write_all(b"GET /ticks HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let started = std::time::Instant::now();
    let mut received = 0usize;
    let mut chunk = [0u8; 4096];
    while started.elapsed() < Duration::from_millis(2500) {
        match client.read(&mut chunk) {
            Ok(0) => panic!("closed after {:?} ({received} bytes)", started.elapsed()),
            Ok(n) => received += n,
            Err(e) => panic!("{e} after {:?} ({received} bytes)", started.elapsed()),
        }
    }
}
