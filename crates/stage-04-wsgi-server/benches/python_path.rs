//! `cargo bench -p stage-04`: the per-request Python path, measured beside
//! a pure-Python loop doing the same work, in the same process and run.
//!
//! Rust side: build `environ` from a parsed request, call a hello-world
//! app with `start_response`, iterate its body, call `close()`, format
//! the head with `Date` (into a sink: no socket). Python side: the same
//! steps written in Python, as a pure-Python server such as wsgiref does
//! them, from the same parsed request (method, target, header strings). The machine is shared and noisy, so compare the ratio, not the
//! absolute figures; `BENCH_REQUESTS` sets the count (default 200000).

use std::ffi::CString;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use stage_02::{Limits, Parsed, parse_request};
use stage_03::{ResponseWriter, SystemClock};
use stage_04::environ::ConnectionInfo;
use stage_04::environ::cache::ConnectionEnviron;
use stage_04::input::Input;
use stage_04::{AfterResponse, Blocking, Responder, run_app};

const APP: &str = r#"
def application(environ, start_response):
    body = b"Hello, world!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"#;

const PURE_PYTHON: &str = r#"
import io, time
from email.utils import formatdate
from urllib.parse import unquote_to_bytes

def run(app, n, method, target, version, headers, server_name, server_port, remote_addr, remote_port):
    """What a pure-Python server does per request once its parser has
    produced (method, target, version, headers): wsgiref's steps."""
    def start_response(status, headers, exc_info=None):
        state[:] = [status, headers]
        return None
    state = []
    sink = io.BytesIO()
    started = time.perf_counter()
    for _ in range(n):
        path, _, query = target.partition("?")
        environ = {
            "REQUEST_METHOD": method, "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "QUERY_STRING": query,
            "SERVER_NAME": server_name, "SERVER_PORT": server_port, "SERVER_PROTOCOL": version,
            "REMOTE_ADDR": remote_addr, "REMOTE_PORT": remote_port,
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
            "wsgi.input_terminated": True, "wsgi.errors": None, "wsgi.multithread": False,
            "wsgi.multiprocess": False, "wsgi.run_once": False,
        }
        for name, value in headers:
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            environ[key] = environ[key] + ", " + value if key in environ else value
        result = app(environ, start_response)
        status, response_headers = state
        head = ["HTTP/1.1 ", status, "\r\nDate: ", formatdate(usegmt=True), "\r\nServer: bench\r\n"]
        for name, value in response_headers:
            head += [name, ": ", value, "\r\n"]
        head.append("Connection: close\r\n\r\n")
        sink.write("".join(head).encode("latin-1"))
        for piece in result:
            sink.write(piece)
        if hasattr(result, "close"):
            result.close()
        sink.seek(0)
        sink.truncate()
    return time.perf_counter() - started
"#;

const REQUEST: &[u8] =
    b"GET /hello?name=bench HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: bench/1.0\r\n\
Accept: */*\r\nAccept-Encoding: gzip, deflate\r\n\r\n";

fn main() -> PyResult<()> {
    let requests: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let Ok(Parsed::Complete { request, .. }) = parse_request(REQUEST, &Limits::default()) else {
        panic!("the benchmark request does not parse");
    };
    let conn = ConnectionInfo {
        local: SocketAddr::from(([127, 0, 0, 1], 8000)),
        peer: SocketAddr::from(([127, 0, 0, 1], 54321)),
    };
    let writer = ResponseWriter::with_clock(
        Arc::new(SystemClock) as Arc<dyn stage_03::Clock + Send + Sync>,
        "bench",
    );

    Python::attach(|py| {
        let code = |text: &str| CString::new(text).unwrap_or_default();
        let app = PyModule::from_code(py, &code(APP), c"bench_app.py", c"bench_app")?
            .getattr("application")?;
        let pure =
            PyModule::from_code(py, &code(PURE_PYTHON), c"pure.py", c"pure")?.getattr("run")?;

        // As on a keep-alive connection: the template is made once.
        let mut template = ConnectionEnviron::new(py, &conn)?;
        let mut rust_path = |n: usize| -> PyResult<f64> {
            let started = Instant::now();
            for _ in 0..n {
                let environ: Bound<'_, PyDict> = {
                    let input = Bound::new(py, Input::new(Vec::new()))?.into_any();
                    template.environ(py, &request, input)?
                };
                let responder = Bound::new(
                    py,
                    Responder::new(
                        Box::new(Blocking(std::io::sink())),
                        writer.clone(),
                        "GET",
                        AfterResponse::Close,
                    ),
                )?;
                let outcome = run_app(py, &app, environ, &responder);
                assert!(outcome.error.is_none(), "{outcome:?}");
            }
            Ok(started.elapsed().as_secs_f64())
        };
        let python_path = |n: usize| -> PyResult<f64> {
            let target = request.target.as_str();
            let version = request.version.to_string();
            let args = (
                &app,
                n,
                request.method.as_str(),
                target,
                version,
                request.headers.clone(),
                "127.0.0.1",
                "8000",
                "127.0.0.1",
                "54321",
            );
            pure.call1(args)?.extract::<f64>()
        };

        // Warm up both, then alternate rounds so that noise hits both alike.
        rust_path(requests / 10)?;
        python_path(requests / 10)?;
        let rounds = 5;
        let (mut rust_best, mut python_best) = (f64::MAX, f64::MAX);
        for _ in 0..rounds {
            rust_best = rust_best.min(rust_path(requests / rounds)?);
            python_best = python_best.min(python_path(requests / rounds)?);
        }
        let per_request = |seconds: f64| seconds * 1e9 / (requests / rounds) as f64;
        let (rust_ns, python_ns) = (per_request(rust_best), per_request(python_best));
        println!(
            "per-request Python path, best of {rounds} rounds of {} requests:",
            requests / rounds
        );
        println!(
            "  stage-04 (Rust builds environ, calls app) : {rust_ns:>8.0} ns/request  {:>9.0} requests/s",
            1e9 / rust_ns
        );
        println!(
            "  pure Python, same steps                    : {python_ns:>8.0} ns/request  {:>9.0} requests/s",
            1e9 / python_ns
        );
        println!(
            "  ratio (pure Python time / stage-04 time)   : {:>8.2}x",
            python_ns / rust_ns
        );
        Ok(())
    })
}
