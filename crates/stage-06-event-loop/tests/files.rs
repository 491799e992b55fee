//! Files returned through `wsgi.file_wrapper` (`tests/apps/files.py`),
//! sent by `sendfile(2)` when the app returned the server's wrapper around
//! a real file, iterated otherwise: the bytes, the framing, PEP 3333's
//! position and `Content-Length` rules, `close()` always, and a client
//! that leaves mid-file.
//!
//! Which way a file went is seen from outside through the file's position
//! when it was closed (the app records it): sendfile with an explicit
//! offset leaves it where the app left it, iterating reads to the end.
//!
//! Linux only: elsewhere the server iterates every file (see stage-04's
//! `sendfile`), and these tests say which way each file went.
#![cfg(target_os = "linux")]

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use stage_06::{LoopConfig, Timeouts};
use testkit::{ServerProcess, connect, read_response, status_of, visible};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_stage-06");

/// A file of `size` bytes that do not repeat in any short period, in a
/// folder of the test's own.
fn data_file(name: &str, size: usize) -> (PathBuf, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("stage06-files-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ size as u64;
    let bytes: Vec<u8> = (0..size)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    let path = dir.join(name);
    fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

fn start() -> ServerProcess {
    ServerProcess::start_in_apps(BIN, &["--workers", "0", "files:application"])
}

fn request(method: &str, path: &str, file: &Path) -> Vec<u8> {
    format!(
        "{method} {path}?{} HTTP/1.1\r\nHost: t\r\n\r\n",
        file.display()
    )
    .into_bytes()
}

/// Sends `request` on a new connection and reads one response.
fn fetch(addr: SocketAddr, request: &[u8], head: bool) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(request).unwrap();
    read_response(&mut stream, head)
}

fn split(response: &[u8]) -> (String, &[u8]) {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head")
        + 4;
    (
        String::from_utf8_lossy(&response[..end]).into_owned(),
        &response[end..],
    )
}

/// What the app's files said when they were closed: `[name, position]`.
fn closes(addr: SocketAddr) -> String {
    let response = fetch(addr, b"GET /closes HTTP/1.1\r\nHost: t\r\n\r\n", false);
    String::from_utf8_lossy(split(&response).1).into_owned()
}

/// Waits until `/closes` reports something, at most a few seconds.
fn wait_for_closes(addr: SocketAddr) -> String {
    let start = Instant::now();
    loop {
        let seen = closes(addr);
        if seen != "[]" || start.elapsed() > Duration::from_secs(5) {
            return seen;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_wrapped_file_arrives_whole_with_a_computed_length_and_is_closed_unmoved() {
    let (path, bytes) = data_file("whole", (6 << 20) + 321);
    let server = start();
    let response = fetch(server.addr, &request("GET", "/wrapped", &path), false);
    let (head, body) = split(&response);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains(&format!("Content-Length: {}\r\n", bytes.len())),
        "the length comes from the file's size: {head}"
    );
    assert!(body == bytes, "the body is the file, byte for byte");
    // sendfile read from an offset of its own: the position is untouched.
    assert_eq!(closes(server.addr), r#"[["wrapped", 0]]"#);
}

#[test]
fn a_client_that_reads_late_still_gets_every_byte() {
    // More than loopback's socket buffers take: sending stops at EAGAIN
    // and must go on when the client reads.
    let (path, bytes) = data_file("late", 40 << 20);
    let server = start();
    let mut stream = connect(server.addr);
    stream
        .write_all(&request("GET", "/wrapped", &path))
        .unwrap();
    thread::sleep(Duration::from_millis(300));
    let response = read_response(&mut stream, false);
    let (_, body) = split(&response);
    assert_eq!(body.len(), bytes.len());
    assert!(body == bytes, "the body is the file, byte for byte");
    // The connection is kept for another request.
    stream
        .write_all(b"GET /closes HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let next = read_response(&mut stream, false);
    assert!(
        split(&next).1.ends_with(br#"[["wrapped", 0]]"#),
        "{}",
        visible(&next)
    );
}

#[test]
fn the_body_starts_at_the_files_position_not_the_descriptors() {
    let (path, bytes) = data_file("position", 300_000);
    let server = start();
    let response = fetch(server.addr, &request("GET", "/after-read", &path), false);
    let (head, body) = split(&response);
    assert!(head.contains("Content-Length: 299000\r\n"), "{head}");
    assert!(body == &bytes[1000..], "the bytes after the first 1000");
    assert_eq!(closes(server.addr), r#"[["after-read", 1000]]"#);
}

#[test]
fn the_apps_content_length_bounds_the_body_and_the_connection_goes_on() {
    let (path, bytes) = data_file("bounded", 100_000);
    let server = start();
    let mut stream = connect(server.addr);
    for _ in 0..2 {
        stream
            .write_all(&request("GET", "/first-kib", &path))
            .unwrap();
        let response = read_response(&mut stream, false);
        let (head, body) = split(&response);
        assert!(head.contains("Content-Length: 1024\r\n"), "{head}");
        assert!(body == &bytes[..1024]);
    }
    assert_eq!(
        closes(server.addr),
        r#"[["first-kib", 0], ["first-kib", 0]]"#
    );
}

#[test]
fn head_gets_the_length_and_no_body() {
    let (path, _) = data_file("head", 50_000);
    let server = start();
    let mut stream = connect(server.addr);
    stream
        .write_all(&request("HEAD", "/wrapped", &path))
        .unwrap();
    let response = read_response(&mut stream, true);
    assert!(
        String::from_utf8_lossy(&response).contains("Content-Length: 50000\r\n"),
        "{}",
        visible(&response)
    );
    // Nothing follows the head: the next response is the next request's.
    stream
        .write_all(b"GET /not-found HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let next = read_response(&mut stream, false);
    assert_eq!(status_of(&next), Some(404), "{}", visible(&next));
    assert_eq!(closes(server.addr), r#"[["wrapped", 0]]"#);
}

#[test]
fn what_has_no_descriptor_or_was_transformed_is_iterated() {
    let (path, bytes) = data_file("iterated", (1 << 20) + 7);
    let server = start();
    let end = bytes.len();
    for (route, name) in [("/bytesio", "bytesio"), ("/transformed", "transformed")] {
        let response = fetch(server.addr, &request("GET", route, &path), false);
        let (head, chunked) = split(&response);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{route}: {head}");
        // Iterated, its length unknown: chunks, on a keep-alive connection.
        assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
        assert!(dechunk(chunked) == bytes, "{route}: the body is the file");
        // Iterating read the file to its end before closing it.
        assert_eq!(closes(server.addr), format!(r#"[["{name}", {end}]]"#));
    }
}

#[test]
fn a_file_opened_in_text_mode_is_iterated_and_refused_as_str() {
    let (path, _) = data_file("text", 10_000);
    let server = start();
    let response = fetch(server.addr, &request("GET", "/text", &path), false);
    assert_eq!(status_of(&response), Some(500), "{}", visible(&response));
    let closed = closes(server.addr);
    assert!(closed.starts_with(r#"[["text", "#), "{closed}");
}

#[test]
fn a_file_whose_size_the_kernel_does_not_know_is_iterated() {
    let server = start();
    let response = fetch(server.addr, b"GET /proc HTTP/1.1\r\nHost: t\r\n\r\n", false);
    let (head, chunked) = split(&response);
    assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
    let text = String::from_utf8(dechunk(chunked)).unwrap();
    assert!(text.contains("Pid:"), "{text}");
}

#[test]
fn after_write_the_file_is_iterated_in_the_heads_framing() {
    let (path, bytes) = data_file("written", 200_000);
    let server = start();
    let response = fetch(server.addr, &request("GET", "/written-first", &path), false);
    let (head, chunked) = split(&response);
    assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
    assert!(dechunk(chunked) == bytes);
    assert_eq!(
        closes(server.addr),
        format!(r#"[["written-first", {}]]"#, bytes.len())
    );
}

#[test]
fn a_client_that_leaves_mid_file_has_the_file_closed_and_the_server_goes_on() {
    let (path, bytes) = data_file("left", 40 << 20);
    let server = start();
    let mut stream = connect(server.addr);
    stream
        .write_all(&request("GET", "/wrapped", &path))
        .unwrap();
    let mut first = vec![0; 64 * 1024];
    stream.read_exact(&mut first).unwrap();
    stream.shutdown(Shutdown::Both).unwrap();
    drop(stream);
    assert_eq!(wait_for_closes(server.addr), r#"[["wrapped", 0]]"#);
    // The server serves on, files included.
    let (small, small_bytes) = data_file("after", 10_000);
    let response = fetch(server.addr, &request("GET", "/wrapped", &small), false);
    assert!(split(&response).1 == small_bytes);
    assert!(bytes.len() > first.len());
}

#[test]
fn a_content_length_the_file_cannot_fill_resets_the_connection() {
    let (path, bytes) = data_file("short", 70_000);
    let server = start();
    let mut stream = connect(server.addr);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(&request("GET", "/too-long", &path))
        .unwrap();
    let mut received = Vec::new();
    let mut buf = [0; 65536];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
    // The reset may discard what the client had not read yet: no more
    // than the head and the file, and, if the head came, its length.
    assert!(received.len() < bytes.len() + 1024, "{}", received.len());
    let head = String::from_utf8_lossy(&received[..received.len().min(300)]).into_owned();
    if head.contains("\r\n\r\n") {
        assert!(head.contains("Content-Length: 1099511627776\r\n"), "{head}");
    }
    assert_eq!(closes(server.addr), r#"[["too-long", 0]]"#);
    let stderr = server.wait_for_stderr("Content-Length said");
    assert!(stderr.contains("sent 70000 bytes"), "{stderr}");
}

#[test]
fn a_client_that_stops_reading_is_given_up_on_and_the_file_closed() {
    let (path, bytes) = data_file("stalled", 40 << 20);
    let config = LoopConfig {
        timeouts: Timeouts {
            io: Duration::from_millis(300),
            ..Timeouts::default()
        },
        ..common::quiet()
    };
    let addr = common::serve_app("files.py", config);
    let mut stream = connect(addr);
    stream
        .write_all(&request("GET", "/wrapped", &path))
        .unwrap();
    // Not a byte read: the socket fills, and the I/O timeout runs out.
    assert_eq!(wait_for_closes(addr), r#"[["wrapped", 0]]"#);
    // What had been sent arrives, then the reset: never the whole file.
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut received = 0;
    let mut buf = vec![0; 1 << 16];
    while let Ok(n @ 1..) = stream.read(&mut buf) {
        received += n;
    }
    assert!(received < bytes.len(), "{received} bytes arrived");
}

/// The data of a chunked body.
fn dechunk(mut chunked: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    loop {
        let line_end = chunked.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = String::from_utf8_lossy(&chunked[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.trim(), 16).unwrap();
        chunked = &chunked[line_end + 2..];
        if size == 0 {
            return data;
        }
        data.extend_from_slice(&chunked[..size]);
        chunked = &chunked[size + 2..];
    }
}

#[test]
fn flask_send_file_and_django_file_response_download_whole() {
    // A worker process, as in production; each script checks a download
    // of a few MiB by SHA-256, and HEAD, besides the apps' other pages.
    for (app, script) in [
        ("flask_app:app", "check_flask.py"),
        ("django_app:application", "check_django.py"),
    ] {
        let server = ServerProcess::start_in_apps(BIN, &["--workers", "1", app]);
        server.check_with_python(script);
    }
}
