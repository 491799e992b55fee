//! `--threads N`: app calls on a pool of threads while the loop goes on
//! with the sockets, with every rule of the loop kept (`tests/apps/threads.py`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use stage_06::LoopConfig;
use testkit::{ServerProcess, connect, exchange, read_response, status_of, visible};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_stage-06");

/// The threads app on one worker process with `threads` threads, and
/// `extra` flags.
fn start(threads: &str, extra: &[&str]) -> ServerProcess {
    let mut args = vec!["--workers", "1", "--threads", threads];
    args.extend_from_slice(extra);
    args.push("threads:application");
    ServerProcess::start_in_apps(BIN, &args)
}

/// `GET path` on a connection of its own: the status and the body.
fn get(addr: SocketAddr, path: &str) -> (Option<u16>, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let response = exchange(addr, request.as_bytes());
    (status_of(&response), common::body(&response))
}

/// `count` concurrent `GET path`s; how long until the last was answered.
fn concurrently(addr: SocketAddr, path: &'static str, count: usize) -> Duration {
    let started = Instant::now();
    let clients: Vec<_> = (0..count)
        .map(|_| thread::spawn(move || get(addr, path)))
        .collect();
    for client in clients {
        let (status, body) = client.join().unwrap();
        assert_eq!(status, Some(200), "{body}");
    }
    started.elapsed()
}

#[test]
fn eight_one_second_waits_overlap_on_eight_threads_and_queue_on_one() {
    let threaded = start("8", &["--no-access-log"]);
    let inline = start("1", &["--no-access-log"]);
    let (a, b) = (threaded.addr, inline.addr);
    let on_one = thread::spawn(move || concurrently(b, "/sleep?1", 8));
    let on_eight = concurrently(a, "/sleep?1", 8);
    let on_one = on_one.join().unwrap();
    // About 1 s and about 8 s; the bounds leave room for a busy machine.
    assert!(
        on_eight < Duration::from_secs(4),
        "8 waits of 1 s on 8 threads took {on_eight:?}"
    );
    assert!(
        on_one >= Duration::from_secs(7),
        "8 waits of 1 s, one at a time, took {on_one:?}"
    );
}

#[test]
fn more_requests_than_threads_wait_for_a_thread_and_are_all_answered() {
    let server = start("2", &["--no-access-log"]);
    // 6 waits of 0.3 s on 2 threads: three rounds, none refused.
    let took = concurrently(server.addr, "/sleep?0.3", 6);
    assert!(took >= Duration::from_millis(850), "{took:?}");
}

#[test]
fn wsgi_multithread_says_whether_the_app_runs_on_threads() {
    let threaded = start("4", &[]);
    assert_eq!(get(threaded.addr, "/multithread").1, "True\n");
    let inline = start("1", &[]);
    assert_eq!(get(inline.addr, "/multithread").1, "False\n");
}

#[test]
fn a_body_that_waits_between_pieces_holds_a_thread_not_the_loop() {
    let server = start("2", &["--no-access-log"]);
    // Five pieces 0.4 s apart: 1.6 s from the first to the last.
    let addr = server.addr;
    let drip = thread::spawn(move || {
        let mut stream = connect(addr);
        stream
            .write_all(b"GET /drip?0.4 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        (Instant::now(), response)
    });
    thread::sleep(Duration::from_millis(300));
    let (status, body) = get(addr, "/");
    let answered = Instant::now();
    let (finished, response) = drip.join().unwrap();
    assert_eq!((status, body.as_str()), (Some(200), "Hello, world!\n"));
    assert!(
        String::from_utf8_lossy(&response).contains("piece 4\n"),
        "{}",
        visible(&response)
    );
    // An event loop pulling the pieces itself sleeps with the generator:
    // the other request would be answered only after the last piece.
    assert!(
        answered + Duration::from_millis(500) < finished,
        "the other request was answered {:?} before the drip ended",
        finished.saturating_duration_since(answered)
    );
}

/// `size` bytes that are not text: every byte value, in a pattern that
/// does not repeat every 256 bytes.
fn binary(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// The body of a raw response, as bytes.
fn raw_body(response: &[u8]) -> &[u8] {
    let at = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head");
    &response[at + 4..]
}

#[test]
fn request_bodies_are_read_by_the_app_on_a_thread_byte_exact() {
    let server = start("4", &["--no-access-log"]);
    let mut stream = connect(server.addr);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = binary(300_000);
    let mut request = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let sending = common::send_in_background(&stream, request);
    let response = read_response(&mut stream, false);
    sending.join().unwrap();
    assert_eq!(status_of(&response), Some(200));
    assert!(raw_body(&response) == body, "Content-Length body differs");

    // Chunked, in pieces of many sizes, on the same connection.
    let mut request =
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for (index, piece) in body.chunks(1000).take(150).enumerate() {
        let piece = &piece[..(index * 13) % piece.len() + 1];
        request.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        request.extend_from_slice(piece);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let expected: Vec<u8> = body
        .chunks(1000)
        .take(150)
        .enumerate()
        .flat_map(|(index, piece)| piece[..(index * 13) % piece.len() + 1].to_vec())
        .collect();
    stream.write_all(&request).unwrap();
    let response = read_response(&mut stream, false);
    assert_eq!(status_of(&response), Some(200));
    assert!(raw_body(&response) == expected, "chunked body differs");
}

#[test]
fn pipelined_requests_are_answered_in_order_on_threads() {
    let server = start("4", &["--no-access-log"]);
    let mut stream = connect(server.addr);
    stream
        .write_all(
            b"GET /sleep?0.3 HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /multithread HTTP/1.1\r\nHost: t\r\n\r\n\
              GET / HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .unwrap();
    let bodies: Vec<String> = (0..3)
        .map(|_| common::body(&read_response(&mut stream, false)))
        .collect();
    assert!(bodies[0].starts_with("slept on "), "{bodies:?}");
    assert_eq!(bodies[1..], ["True\n", "Hello, world!\n"]);
}

/// Waits (at most 5 s) until `/closes?name` says `count`, and checks it
/// stays there.
fn closed_exactly(addr: SocketAddr, name: &str, count: usize) {
    let path = format!("/closes?{name}");
    let expected = format!("{count}\n");
    let started = Instant::now();
    while get(addr, &path).1 != expected {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "close() of {name}: {} times, expected {count}",
            get(addr, &path).1.trim()
        );
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(300));
    assert_eq!(get(addr, &path).1, expected, "close() of {name}, later");
}

#[test]
fn clients_that_leave_mid_app_free_their_threads_and_their_bodies_are_closed() {
    let mut server = start("2", &["--graceful-timeout", "20"]);
    // More clients leaving than threads: a thread kept by one would leave
    // the later requests waiting forever.
    for _ in 0..3 {
        // Gone in the middle of a body that waits between pieces.
        let mut stream = connect(server.addr);
        stream
            .write_all(b"GET /drip?0.2 HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let mut first = [0u8; 1];
        stream.read_exact(&mut first).unwrap();
        drop(stream);
        // Gone while the app is being called.
        let mut stream = connect(server.addr);
        stream
            .write_all(b"GET /sleep?0.3 HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        drop(stream);
    }
    closed_exactly(server.addr, "drip", 3);
    let took = concurrently(server.addr, "/sleep?0.5", 2);
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Nothing is left on a thread: SIGTERM ends the worker at once, not
    // at the end of the graceful time.
    let stopping = Instant::now();
    assert_eq!(server.terminate(), Some(0));
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "{:?}",
        stopping.elapsed()
    );
    assert!(
        server.stderr().contains("\"GET /drip?0.2 HTTP/1.1\" 200"),
        "the abandoned requests are in the access log:\n{}",
        server.stderr()
    );
}

#[test]
fn close_is_called_exactly_once_whatever_happens() {
    let server = start("4", &["--no-access-log"]);
    let mut stream = connect(server.addr);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    for _ in 0..3 {
        stream
            .write_all(b"GET /counted?kept HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let response = read_response(&mut stream, false);
        assert!(
            response.ends_with(b"piece 2\n\r\n0\r\n\r\n"),
            "{}",
            visible(&response)
        );
    }
    // Raises after its first piece: the connection is cut, close() called.
    let cut = exchange(
        server.addr,
        b"GET /counted-fails?failed HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert!(!cut.ends_with(b"0\r\n\r\n"), "{}", visible(&cut));
    closed_exactly(server.addr, "kept", 3);
    closed_exactly(server.addr, "failed", 1);
}

#[test]
fn an_app_that_raises_on_a_thread_gets_a_500_and_the_worker_goes_on() {
    let server = start("4", &[]);
    let (status, body) = get(server.addr, "/raise");
    assert_eq!(
        (status, body.as_str()),
        (Some(500), "Internal Server Error\n")
    );
    server.wait_for_stderr("ValueError: the app failed before its response");
    assert_eq!(get(server.addr, "/").1, "Hello, world!\n");
}

#[test]
fn sigterm_lets_the_requests_on_threads_finish() {
    let mut server = start("4", &[]);
    let addr = server.addr;
    let clients: Vec<_> = (0..4)
        .map(|_| thread::spawn(move || get(addr, "/sleep?1")))
        .collect();
    thread::sleep(Duration::from_millis(300));
    assert_eq!(server.terminate(), Some(0));
    for client in clients {
        let (status, body) = client.join().unwrap();
        assert_eq!(status, Some(200), "{body}");
        assert!(body.starts_with("slept on "), "{body}");
    }
}

#[test]
fn at_the_end_of_the_graceful_time_a_paused_body_is_still_closed() {
    for threads in ["1", "4"] {
        let args = [
            "--workers",
            "0",
            "--threads",
            threads,
            "--graceful-timeout",
            "1",
        ];
        let mut server =
            ServerProcess::start_in_apps(BIN, &[&args[..], &["threads:application"]].concat());
        // A client that never reads: the endless body pauses on the loop,
        // the output at its high-water mark, until the stop's time is up.
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream
            .write_all(b"GET /endless HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        thread::sleep(Duration::from_millis(500));
        assert_eq!(server.terminate(), Some(0), "--threads {threads}");
        assert!(
            server.stdout().contains("closed endless"),
            "--threads {threads}: close() was not called; stderr: {}",
            server.stderr()
        );
    }
}

#[test]
fn max_requests_replaces_a_threaded_worker() {
    let server = start("4", &["--max-requests", "5", "--no-access-log"]);
    let addr = server.addr;
    let clients: Vec<_> = (0..4)
        .map(|_| thread::spawn(move || (0..8).map(|_| get(addr, "/pid")).collect::<Vec<_>>()))
        .collect();
    let mut served: HashMap<String, usize> = HashMap::new();
    for client in clients {
        for (status, pid) in client.join().unwrap() {
            assert_eq!(status, Some(200), "{pid}");
            *served.entry(pid).or_default() += 1;
        }
    }
    // 32 requests, each on its own connection. A worker at its limit
    // accepts no more, and answers the ones it has accepted already (one
    // per other client at most): 5 + 3 at most, so 4 workers or more.
    assert!(served.values().all(|&n| n <= 5 + 3), "{served:?}");
    assert!(served.len() >= 4, "{served:?}");
}

#[test]
fn a_thread_stuck_in_the_app_gets_its_worker_killed_after_the_timeout() {
    let server = start("2", &["--timeout", "2"]);
    let (_, before) = get(server.addr, "/pid");
    let mut stuck = connect(server.addr);
    stuck
        .write_all(b"GET /sleep?60 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    // The loop goes on meanwhile: another request is answered at once.
    assert_eq!(get(server.addr, "/").1, "Hello, world!\n");
    server.wait_for_stderr("killing it");
    let mut rest = Vec::new();
    let _ = stuck.read_to_end(&mut rest);
    assert_eq!(status_of(&rest), None, "{}", visible(&rest));
    let (_, after) = get(server.addr, "/pid");
    assert_ne!(before, after, "a new worker answers");
}

#[test]
fn a_client_that_does_not_read_pauses_the_generator_on_a_thread() {
    let addr = common::serve(LoopConfig {
        threads: 2,
        ..common::quiet()
    });
    let mut hog = connect(addr);
    hog.write_all(b"GET /counted-stream?1000 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(500));
    let pulled = |addr| {
        let mut other: TcpStream = common::connect_for(addr, 5);
        other
            .write_all(b"GET /pulled HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let pulled = common::body(&read_response(&mut other, false));
        pulled.trim().parse::<usize>().unwrap()
    };
    let first = pulled(addr);
    assert!(
        first > 0 && first < 300,
        "{first} of 1000 pieces pulled while the client reads nothing"
    );
    thread::sleep(Duration::from_millis(300));
    assert_eq!(
        pulled(addr),
        first,
        "no more is pulled while it does not read"
    );
    // Reading resumes it, to the last byte.
    hog.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut total = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    while total < 1000 * 65536 {
        let n = hog.read(&mut chunk).unwrap();
        assert!(n > 0, "the stream ended early, after {total} bytes");
        total += chunk[..n].iter().filter(|&&b| b == b'y').count();
    }
    assert_eq!(pulled(addr), 1000);
}

#[test]
fn sighup_replaces_a_threaded_worker_and_its_requests_on_threads_finish() {
    let server = start("4", &[]);
    let (_, old) = get(server.addr, "/pid");
    let addr = server.addr;
    let clients: Vec<_> = (0..3)
        .map(|_| thread::spawn(move || get(addr, "/sleep?1")))
        .collect();
    thread::sleep(Duration::from_millis(300));
    server.signal("HUP");
    server.wait_for_stderr("reloading");
    for client in clients {
        let (status, body) = client.join().unwrap();
        assert_eq!(status, Some(200), "{body}");
    }
    let started = Instant::now();
    while get(server.addr, "/pid").1 == old {
        assert!(started.elapsed() < Duration::from_secs(20), "no new worker");
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        get(server.addr, "/multithread").1,
        "True\n",
        "the new one has threads too"
    );
}

#[test]
fn the_access_log_has_each_request_answered_on_a_thread() {
    let server = start("4", &[]);
    concurrently(server.addr, "/sleep?0.2", 4);
    let (status, _) = get(server.addr, "/raise");
    assert_eq!(status, Some(500));
    let log = server.wait_for_stderr("\"GET /raise HTTP/1.1\" 500");
    assert_eq!(
        log.matches("\"GET /sleep?0.2 HTTP/1.1\" 200 ").count(),
        4,
        "{log}"
    );
}
