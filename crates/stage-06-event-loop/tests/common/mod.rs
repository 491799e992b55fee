//! An event loop in the test process, on a thread of its own, serving
//! `tests/apps/workers.py` (or another fixture app): what it does is observed from outside, over
//! loopback sockets, while the test can still choose the loop's settings.
//! Also scenarios that the in-process loop and the binary are both put
//! through.

#![allow(dead_code)] // each test file uses some of these

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use pyo3::prelude::*;
use stage_03::FixedClock;
use stage_04::{AppSpec, load_app};
use stage_06::{EventLoop, LoopConfig};
use testkit::{connect, read_response, visible};

/// Starts a loop with `config` on a free port and returns its address. The
/// thread ends with the test process.
pub fn serve(config: LoopConfig) -> SocketAddr {
    serve_app("workers.py", config)
}

/// Like [`serve`], for the `application` of another fixture file.
pub fn serve_app(file: &str, config: LoopConfig) -> SocketAddr {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/apps")
        .join(file);
    let spec = AppSpec::File {
        path,
        callable: "application".into(),
    };
    let app = Python::attach(|py| load_app(py, &spec)).expect("the fixture app loads");
    serve_loaded(app, config)
}

/// Serves an app already loaded (or built) on a loop of its own.
pub fn serve_loaded(app: Py<PyAny>, config: LoopConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut event_loop = EventLoop::new(
        vec![listener.into()],
        app,
        Arc::new(FixedClock::rfc_example()),
        config,
    )
    .unwrap();
    thread::spawn(move || event_loop.run(Duration::from_secs(1), |_| {}));
    addr
}

/// The default settings, without an access log.
pub fn quiet() -> LoopConfig {
    LoopConfig {
        access_log: false,
        ..LoopConfig::default()
    }
}

/// The body of a raw response (what follows the empty line), as text.
pub fn body(response: &[u8]) -> String {
    String::from_utf8_lossy(response)
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}

/// A connection whose reads give up after `seconds`: a response that does
/// not come fails the test instead of hanging it.
pub fn connect_for(addr: SocketAddr, seconds: u64) -> TcpStream {
    let stream = connect(addr);
    stream
        .set_read_timeout(Some(Duration::from_secs(seconds)))
        .unwrap();
    stream
}

/// Writes `bytes` on a thread of its own, so that the test can read
/// responses while a large request is still going out.
pub fn send_in_background(stream: &TcpStream, bytes: Vec<u8>) -> thread::JoinHandle<()> {
    let mut writer = stream.try_clone().unwrap();
    thread::spawn(move || writer.write_all(&bytes).unwrap())
}

/// A POST of `size` bytes the app never reads, then a pipelined GET, in one
/// write: the body fills the loop's input buffer again and again, and the
/// GET is the tail behind it.
pub fn large_unread_body_then_get(path: &str, size: usize) -> Vec<u8> {
    let mut bytes =
        format!("POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\n\r\n").into_bytes();
    bytes.resize(bytes.len() + size, b'x');
    bytes.extend_from_slice(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    bytes
}

/// Sends [`large_unread_body_then_get`] `rounds` times, each on a new
/// connection, and checks both responses arrive, whole and in order.
pub fn both_answered(addr: SocketAddr, rounds: usize) {
    for round in 0..rounds {
        let mut stream = connect_for(addr, 5);
        let sending = send_in_background(&stream, large_unread_body_then_get("/ignored", 1 << 20));
        let first = read_response(&mut stream, false);
        let second = read_response(&mut stream, false);
        sending.join().unwrap();
        assert_eq!(
            body(&first),
            "Hello, world!\n",
            "round {round}: {}",
            visible(&first)
        );
        assert_eq!(
            body(&second),
            "Hello, world!\n",
            "round {round}: {}",
            visible(&second)
        );
    }
}
