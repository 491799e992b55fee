//! Starting the stage-07 binary on a fixture app, and showing exchanges
//! with the one thing that varies between runs (the `Date`) blanked.

#![allow(dead_code)] // each test file uses some of these

use std::io::Write;
use std::net::SocketAddr;

use testkit::{ServerProcess, connect, read_response, visible};

/// The stage-07 binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_stage-07");

/// The server on `app` (in `tests/apps`), in one process (no master),
/// without uvloop so that the loop is asyncio's own, with `extra` flags.
pub fn serve(app: &str, extra: &[&str]) -> ServerProcess {
    let mut args = vec!["--workers", "0", "--loop", "asyncio"];
    args.extend_from_slice(extra);
    args.push(app);
    ServerProcess::start_in_apps(BIN, &args)
}

/// `bytes` with the value of a `Date` header replaced by `[date]`.
pub fn undated(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = find(rest, b"\r\nDate: ") {
        out.extend_from_slice(&rest[..at + 8]);
        out.extend_from_slice(b"[date]");
        let after = &rest[at + 8..];
        let end = find(after, b"\r\n").unwrap_or(after.len());
        rest = &after[end..];
    }
    out.extend_from_slice(rest);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends each request on one connection and reads each response in turn;
/// the whole conversation, CR and LF visible, the date blanked.
pub fn conversation(addr: SocketAddr, requests: &[&[u8]]) -> String {
    let mut stream = connect(addr);
    let mut shown = String::new();
    for request in requests {
        stream.write_all(request).unwrap();
        let response = read_response(&mut stream, request.starts_with(b"HEAD"));
        shown += &format!(
            "--> request\n{}\n<-- response\n{}\n",
            visible(request),
            visible(&undated(&response))
        );
    }
    shown
}

/// One request on its own connection, read until the server closes it.
pub fn exchange_shown(addr: SocketAddr, request: &[u8]) -> String {
    let response = testkit::exchange(addr, request);
    format!(
        "--> request\n{}\n<-- response\n{}\n",
        visible(request),
        visible(&undated(&response))
    )
}

#[test]
fn the_date_is_blanked_and_nothing_else() {
    let raw = b"HTTP/1.1 200 OK\r\nDate: Sat, 28 Nov 2026 10:16:42 GMT\r\nX: Date: y\r\n\r\nbody";
    assert_eq!(
        undated(raw),
        b"HTTP/1.1 200 OK\r\nDate: [date]\r\nX: Date: y\r\n\r\nbody".to_vec()
    );
}
