//! The Python framework in `framework/` (the chapter "Middleware and a
//! small framework"): its own tests, and its tasks app served for real.
//!
//! - The framework's unittest suite runs as it is (`python3 -m unittest`
//!   in `framework/`); a failure shows Python's own report.
//! - The tasks app is served by stage-06's event loop in this process,
//!   under `wsgiref.validate`, with the RFC example date for `Date` (as the
//!   stage crates' wire tests do), and the bytes of a conversation are
//!   pinned. `Server-Timing` holds a measured duration; its value is shown
//!   as `<ms>`.
//! - The same requests, sent by the framework's in-process test client
//!   (`mini.testing.call`) to an identical app, give the same status,
//!   headers and body as the wire: testing by calling the app tells the
//!   truth about what a server sends.
//!
//! Loopback only; every read gives up after [`testkit::TIMEOUT`].

use std::ffi::CString;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use testkit::{connect, read_response, visible};

mod common;

fn framework_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../framework")
}

#[test]
fn the_frameworks_own_tests_pass() {
    let mut python = Command::new("python3")
        .args(["-m", "unittest", "-v"])
        .current_dir(framework_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    // unittest reports on stderr; read it on a thread so that a full pipe
    // cannot stall the suite, and give the suite a bounded time.
    let mut stderr = python.stderr.take().unwrap();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = python.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = python.kill();
            let _ = python.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let said = reader.join().unwrap();
    let status = status.unwrap_or_else(|| panic!("the Python tests ran over 120 s:\n{said}"));
    assert!(
        status.success(),
        "python3 -m unittest failed in framework/:\n{said}"
    );
    // A suite that found nothing to run also "passes".
    let ran: usize = said
        .lines()
        .find_map(|l| l.strip_prefix("Ran ")?.split(' ').next()?.parse().ok())
        .unwrap_or(0);
    assert!(ran >= 40, "only {ran} Python tests ran:\n{said}");
}

/// Python helpers: the apps to serve, and the in-process test client.
const HELPERS: &str = r#"
import sys
from wsgiref.validate import validator

sys.path.insert(0, FRAMEWORK)
import tasks
from mini.middleware import gzip, mount, timing
from mini.testing import call

COMPOSITIONS = {
    # what tasks.application is
    "timing(gzip(app))": lambda: timing(gzip(tasks.create_app())),
    "gzip(timing(app))": lambda: gzip(timing(tasks.create_app())),
    # what tasks.mounted is
    "mount('/api', timing(gzip(app)))": lambda: mount("/api", timing(gzip(tasks.create_app()))),
}

def fresh(name):
    return validator(COMPOSITIONS[name]())

def in_process(app, method, target, body, headers):
    result = call(app, method, target, body, headers)
    return result.status, result.headers, result.body
"#;

fn helpers(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let dir = framework_dir().canonicalize().unwrap();
    let source = format!("FRAMEWORK = {:?}\n{HELPERS}", dir.to_string_lossy());
    let code = CString::new(source).unwrap();
    PyModule::from_code(py, &code, c"framework_helpers.py", c"framework_helpers")
}

/// A fresh app of the given composition (`HELPERS`), validated.
fn fresh_app(composition: &str) -> Py<PyAny> {
    Python::attach(|py| {
        helpers(py)?
            .getattr("fresh")?
            .call1((composition,))
            .map(Bound::unbind)
    })
    .expect("the framework's app is built")
}

/// Serves `app` with stage-06's event loop on a thread of its own (it ends
/// with the test process), with the RFC example date.
fn serve(app: Py<PyAny>) -> SocketAddr {
    common::serve_loaded(app, common::quiet())
}

/// One request: method, target, extra header lines, body.
struct Ask(
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

impl Ask {
    fn bytes(&self) -> Vec<u8> {
        let Ask(method, target, headers, body) = self;
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: test\r\n");
        for (name, value) in *headers {
            head += &format!("{name}: {value}\r\n");
        }
        if !body.is_empty() {
            head += &format!("Content-Length: {}\r\n", body.len());
        }
        format!("{head}\r\n{body}").into_bytes()
    }
}

const JSON: (&str, &str) = ("Content-Type", "application/json");
const GZIP: (&str, &str) = ("Accept-Encoding", "gzip");

/// The tour the chapter takes with curl, on one keep-alive connection.
const TOUR: &[Ask] = &[
    Ask("GET", "/tasks", &[], ""),
    Ask(
        "POST",
        "/tasks",
        &[JSON],
        r#"{"title": "Serve it with stage-06"}"#,
    ),
    Ask("GET", "/tasks", &[GZIP], ""),
    Ask("GET", "/tasks/9", &[], ""),
    Ask("DELETE", "/tasks", &[], ""),
    Ask("GET", "/tasks.txt", &[], ""),
];

/// Sends each request on one connection; returns each raw response.
fn converse(addr: SocketAddr, asks: &[Ask]) -> Vec<Vec<u8>> {
    let mut stream = connect(addr);
    asks.iter()
        .map(|ask| {
            stream.write_all(&ask.bytes()).unwrap();
            read_response(&mut stream, false)
        })
        .collect()
}

/// The requests and responses, CR LF visible, the measured duration hidden.
/// A gzip body is shown gunzipped, after the number of chunks it came in:
/// its exact bytes depend on the zlib Python was built with (zlib-ng's
/// differ), and they are compared with the test client's all the same.
fn shown(asks: &[Ask], responses: &[Vec<u8>]) -> String {
    let mut text = String::new();
    for (ask, response) in asks.iter().zip(responses) {
        let (head, body) = split_head(response);
        let head = String::from_utf8_lossy(head);
        let body = if head.contains("\r\nContent-Encoding: gzip\r\n") {
            let chunks = unchunk(body);
            let gunzipped = gunzip(&chunks.concat());
            format!(
                "<a gzip body in {} chunks; gunzipped, it is:>\n{}",
                chunks.len(),
                visible(&gunzipped)
            )
        } else {
            visible(body)
        };
        text += &format!(
            "--> request\n{}\n<-- response\n{}{body}\n",
            visible(&ask.bytes()),
            hide_durations(&visible(head.as_bytes()))
        );
    }
    text
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    Python::attach(|py| -> PyResult<Vec<u8>> {
        py.import("zlib")?
            .call_method1("decompress", (PyBytes::new(py, data), 31))?
            .extract()
    })
    .expect("a whole gzip stream")
}

/// The head (through its empty line) and the body of a raw response.
fn split_head(response: &[u8]) -> (&[u8], &[u8]) {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head")
        + 4;
    response.split_at(end)
}

/// `Server-Timing: app;dur=0.4` becomes `Server-Timing: app;dur=<ms>`.
fn hide_durations(text: &str) -> String {
    let marker = "app;dur=";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let after = &rest[at + marker.len()..];
        let digits = after
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(after.len());
        out += &rest[..at + marker.len()];
        out += "<ms>";
        rest = &after[digits..];
    }
    out + rest
}

/// What a raw response says, as the test client reports it: the status,
/// the headers the app gave (without the server's own `Date`, `Server`
/// and framing), and the body with chunked framing removed.
/// A status line's text, the headers, and the body.
type Answer = (String, Vec<(String, String)>, Vec<u8>);

fn as_the_app_said(response: &[u8]) -> Answer {
    let (head, body) = split_head(response);
    let head = String::from_utf8_lossy(head).into_owned();
    let mut lines = head.trim_end().split("\r\n");
    let status = lines.next().unwrap().split_once(' ').unwrap().1.to_string();
    let mut headers = Vec::new();
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(": ").unwrap();
        match name {
            "Date" | "Server" => {}
            "Transfer-Encoding" => chunked = value == "chunked",
            _ => headers.push((name.to_string(), hide_durations(value))),
        }
    }
    let body = if chunked {
        unchunk(body).concat()
    } else {
        body.to_vec()
    };
    (status, headers, body)
}

/// The chunks of a chunked body, in order, without their framing.
fn unchunk(mut body: &[u8]) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = std::str::from_utf8(&body[..line_end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap(), 16).unwrap();
        if size == 0 {
            return chunks;
        }
        chunks.push(body[line_end + 2..line_end + 2 + size].to_vec());
        body = &body[line_end + 2 + size + 2..];
    }
}

/// The same requests through `mini.testing.call`, to an app of the same
/// composition, fresh like the served one.
fn called_in_process(composition: &str, asks: &[Ask]) -> Vec<Answer> {
    Python::attach(|py| -> PyResult<_> {
        let helpers = helpers(py)?;
        let app = helpers.getattr("fresh")?.call1((composition,))?;
        let mut results = Vec::new();
        for Ask(method, target, headers, body) in asks {
            let result = helpers.getattr("in_process")?.call1((
                &app,
                *method,
                *target,
                PyBytes::new(py, body.as_bytes()),
                headers.to_vec(),
            ))?;
            let (status, headers, body): Answer = result.extract()?;
            let headers = headers
                .into_iter()
                .map(|(name, value)| (name, hide_durations(&value)))
                .collect();
            results.push((status, headers, body));
        }
        Ok(results)
    })
    .expect("the test client runs")
}

/// Serves a fresh app of `composition`, pins the conversation under
/// `snapshot`, and checks the test client agrees with every response.
fn check(composition: &str, snapshot: &str, asks: &[Ask]) {
    let responses = converse(serve(fresh_app(composition)), asks);
    insta::assert_snapshot!(snapshot, shown(asks, &responses), composition);
    let called = called_in_process(composition, asks);
    for ((ask, response), in_process) in asks.iter().zip(&responses).zip(called) {
        assert_eq!(
            as_the_app_said(response),
            in_process,
            "{} {}: the wire and the test client differ; the wire:\n{}",
            ask.0,
            ask.1,
            visible(response)
        );
    }
}

#[test]
fn the_tasks_app_served_by_stage_06_says_what_the_test_client_says() {
    check("timing(gzip(app))", "tasks_tour", TOUR);
}

#[test]
fn middleware_order_shows_on_the_wire() {
    let gzipped = &[Ask("GET", "/tasks.txt", &[GZIP], "")];
    check("gzip(timing(app))", "gzip_outside_timing", gzipped);
    check("timing(gzip(app))", "timing_outside_gzip", gzipped);
    let mounted = &[
        Ask("POST", "/api/tasks", &[JSON], r#"{"title": "Mounted"}"#),
        Ask("GET", "/tasks", &[], ""),
    ];
    check(
        "mount('/api', timing(gzip(app)))",
        "mounted_under_api",
        mounted,
    );
}
