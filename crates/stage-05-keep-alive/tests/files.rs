//! `wsgi.file_wrapper` in stage-05 (`tests/apps/files.py`): files by
//! `sendfile(2)` on a persistent connection, each framed by its length so
//! that the next request follows; HEAD without a body; a file without a
//! descriptor iterated in chunks. The app records where each file stood
//! when closed: sendfile leaves the position alone, iterating reads to
//! the end.
//!
//! Linux only: elsewhere the server iterates every file (see stage-04's
//! `sendfile`), and these tests say which way each file went.
#![cfg(target_os = "linux")]

use std::io::Write;

use testkit::{ServerProcess, connect, read_response, visible};

const BIN: &str = env!("CARGO_BIN_EXE_stage-05");

fn body(response: &[u8]) -> &[u8] {
    let end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    &response[end..]
}

#[test]
fn files_follow_each_other_on_one_connection() {
    let path = std::env::temp_dir().join(format!("stage05-files-{}.bin", std::process::id()));
    let bytes: Vec<u8> = (0..2_500_000u32).map(|i| (i * 13 % 241) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let server = ServerProcess::start_in_apps(BIN, &["files:application"]);
    let mut stream = connect(server.addr);
    let mut ask = |method: &str, route: &str| {
        let request = format!(
            "{method} {route}?{} HTTP/1.1\r\nHost: t\r\n\r\n",
            path.display()
        );
        stream.write_all(request.as_bytes()).unwrap();
        read_response(&mut stream, method == "HEAD")
    };
    let whole = ask("GET", "/wrapped");
    assert!(body(&whole) == bytes, "{}", visible(&whole[..200]));
    let first = ask("GET", "/first-kib");
    assert!(body(&first) == &bytes[..1024]);
    let head = ask("HEAD", "/wrapped");
    assert!(
        String::from_utf8_lossy(&head).contains("Content-Length: 2500000\r\n"),
        "{}",
        visible(&head)
    );
    let iterated = ask("GET", "/bytesio");
    assert!(
        String::from_utf8_lossy(&iterated).contains("Transfer-Encoding: chunked\r\n"),
        "{}",
        visible(&iterated[..200])
    );
    let closes = ask("GET", "/closes");
    let expected = format!(
        r#"[["wrapped", 0], ["first-kib", 0], ["wrapped", 0], ["bytesio", {}]]"#,
        bytes.len()
    );
    assert_eq!(String::from_utf8_lossy(body(&closes)), expected);
}

#[test]
fn a_client_that_leaves_mid_file_has_it_closed_and_the_next_one_is_served() {
    let path = std::env::temp_dir().join(format!("stage05-left-{}.bin", std::process::id()));
    std::fs::write(&path, vec![b'z'; 40 << 20]).unwrap();
    let server = ServerProcess::start_in_apps(BIN, &["files:application"]);
    let mut stream = connect(server.addr);
    let request = format!(
        "GET /wrapped?{} HTTP/1.1\r\nHost: t\r\n\r\n",
        path.display()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut first = vec![0; 64 * 1024];
    std::io::Read::read_exact(&mut stream, &mut first).unwrap();
    drop(stream);
    // The server was blocked in sendfile on that client; it notices the
    // close, closes the file, and serves the next connection.
    let mut next = connect(server.addr);
    next.write_all(b"GET /closes HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let closes = read_response(&mut next, false);
    assert_eq!(
        String::from_utf8_lossy(body(&closes)),
        r#"[["wrapped", 0]]"#
    );
}
