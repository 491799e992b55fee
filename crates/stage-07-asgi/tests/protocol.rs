//! Rules of the ASGI protocol checked against a server in the test
//! process (the library's `Server` and `run_worker` on a thread of their
//! own, with their own asyncio loop), not the binary: what `receive`
//! gives once the body is all read, and a lifespan startup that fails.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

use pyo3::prelude::*;
use stage_03::FixedClock;
use stage_04::{AppSpec, load_app};
use stage_07::{Config, LifespanMode, LoopKind, Server, WorkerEnd, WorkerOptions, run_worker};
use testkit::visible;

/// `callable` of `file` in `tests/apps`, loaded.
fn fixture(py: Python<'_>, file: &str, callable: &str) -> Py<PyAny> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/apps")
        .join(file);
    let spec = AppSpec::File {
        path,
        callable: callable.into(),
    };
    load_app(py, &spec).expect("the fixture app loads")
}

fn options() -> WorkerOptions {
    WorkerOptions {
        lifespan: LifespanMode::Auto,
        loop_kind: LoopKind::Asyncio,
        graceful: Duration::from_secs(1),
        announce: None,
    }
}

fn server(py: Python<'_>, listener: TcpListener, app: &Py<PyAny>) -> Server {
    let config = Config {
        access_log: false,
        ..Config::default()
    };
    let clock = Arc::new(FixedClock::rfc_example());
    Server::new(py, vec![listener.into()], app.clone_ref(py), clock, config).unwrap()
}

/// Serves `callable` of `file` on a free port, on a thread that ends
/// with the test process.
fn serve(file: &'static str, callable: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        Python::attach(|py| {
            let app = fixture(py, file, callable);
            let server = server(py, listener, &app);
            if let Err(error) = run_worker(py, server, app, &options()) {
                eprintln!("the worker failed: {error}");
            }
        })
    });
    addr
}

#[test]
fn after_the_body_receive_waits_until_the_response_is_over() {
    let addr = serve("asgi_wire.py", "app");
    let answer = testkit::exchange(
        addr,
        b"POST /after-body HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    );
    // The app asked for one more message after the body, and found its
    // `receive()` still pending 50 ms later, while its client waits.
    assert!(
        answer.ends_with(b"\r\n\r\npending=True\n"),
        "{}",
        visible(&answer)
    );
}

#[test]
fn a_failed_startup_ends_the_worker_without_serving() {
    let end = Python::attach(|py| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let app = fixture(py, "asgi_lifespan.py", "failing");
        let server = server(py, listener, &app);
        // Stopped before it starts: a worker that went on to serve stops
        // at once instead of serving for ever.
        server.stop_flag().store(true, Ordering::SeqCst);
        run_worker(py, server, app, &options())
    });
    assert_eq!(end.unwrap(), WorkerEnd::StartupFailed);
}

#[test]
fn a_successful_startup_serves_and_shares_its_state() {
    let end = Python::attach(|py| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let app = fixture(py, "asgi_lifespan.py", "app");
        let server = server(py, listener, &app);
        server.stop_flag().store(true, Ordering::SeqCst);
        run_worker(py, server, app, &options())
    });
    assert_eq!(end.unwrap(), WorkerEnd::Stopped);
    let addr = serve("asgi_lifespan.py", "app");
    let answer = testkit::exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert!(
        answer.ends_with(b"\r\n\r\nhello from startup"),
        "{}",
        visible(&answer)
    );
}
