//! The Python that opens each chapter of the book (`book/python/`) runs,
//! and does what the chapter says it does: the client sends a complete
//! request and prints the answer, the naive parser fails exactly as shown,
//! the response builder frames its body, and the three small servers serve
//! a real app over a real loopback socket.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use testkit::{ServerProcess, TIMEOUT, apps_dir, connect, read_response, read_to_close, visible};

fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/python")
}

fn script(name: &str) -> String {
    python_dir().join(name).to_string_lossy().into_owned()
}

/// Runs `python3 ARGS` from `book/python` and returns what it did; kills
/// it and fails the test if it takes longer than [`TIMEOUT`].
fn run_python(args: &[&str]) -> Output {
    let mut child = Command::new("python3")
        .args(args)
        .current_dir(python_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("python3 {args:?} did not finish in {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Starts one of the chapter servers on a free port, serving `app` (a
/// `path.py:callable` of `tests/apps`).
fn python_server(name: &str, app: &str) -> ServerProcess {
    let app = format!("{}/{app}", apps_dir().display());
    let mut command = Command::new(script(name));
    command.arg(app).current_dir(python_dir());
    ServerProcess::start_command(command)
}

/// A GET of `target` that asks the server to close afterwards.
fn get_and_close(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").into_bytes()
}

#[test]
fn the_raw_client_sends_a_complete_request_and_prints_the_answer() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut request = Vec::new();
        let mut byte = [0u8; 1];
        while !request.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap() == 1 {
            request.push(byte[0]);
        }
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n")
            .unwrap();
        request
    });
    let url = format!("http://127.0.0.1:{port}/hello?name=world");
    let output = run_python(&["ch01_raw_client.py", &url]);
    let request = server.join().unwrap();
    assert_eq!(
        visible(&request),
        visible(
            format!(
                "GET /hello?name=world HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes()
        )
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "HTTP/1.1 200 OK\\r\\n\nContent-Length: 6\\r\\n\n\\r\\n\nhello\n"
    );
}

#[test]
fn the_raw_client_says_what_to_start_when_nothing_listens() {
    // A port that was free a moment ago, and is closed now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = run_python(&["ch01_raw_client.py", &format!("http://127.0.0.1:{port}/")]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cargo run -p stage-03"),
        "{output:?}"
    );
}

/// The chapter shows this output, included from the `.out` file: what the
/// naive parser does with each case must be what the page says.
#[test]
fn the_naive_parser_fails_as_the_chapter_shows() {
    let output = run_python(&["ch02_naive_parser.py"]);
    assert!(output.status.success(), "{output:?}");
    let shown = std::fs::read_to_string(python_dir().join("ch02_naive_parser.out")).unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), shown);
    // And the failures are the ones the chapter's table names.
    for (case, outcome) in [
        ("no space after the colon", "ValueError"),
        ("a latin-1 byte", "UnicodeDecodeError"),
        ("two Cookie lines", "'cookie': 'b=2'"),
        ("Content-Length: abc", "ValueError"),
        ("Content-Length: -1", "body=b'hell'"),
        ("a body still on its way", "body=b'hello'"),
    ] {
        let line = shown.lines().find(|l| l.starts_with(case)).unwrap();
        assert!(line.contains(outcome), "{line}");
    }
}

#[test]
fn build_response_frames_its_body_and_refuses_header_injection() {
    let output = run_python(&["ch03_build_response.py"]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, "Hello, world!\n");
    let lines: Vec<&str> = head.split("\r\n").collect();
    assert_eq!(lines[0], "HTTP/1.1 200 OK");
    assert!(
        lines.iter().all(|l| !l.contains('\n') && !l.contains('\r')),
        "{}",
        visible(text.as_bytes())
    );
    assert!(lines.contains(&"Content-Length: 14"), "{lines:?}");
    assert!(lines.contains(&"Content-Type: text/plain"), "{lines:?}");
    let date = lines.iter().find_map(|l| l.strip_prefix("Date: ")).unwrap();
    assert!(
        date.ends_with(" GMT") && date.len() == "Sun, 06 Nov 1994 08:49:37 GMT".len(),
        "{date}"
    );

    let injection = run_python(&[
        "-c",
        "from ch03_build_response import build_response\n\
         build_response('200 OK', [('X-Lang', 'en\\r\\nSet-Cookie: a=1')], b'')",
    ]);
    assert!(!injection.status.success(), "{injection:?}");
    assert!(
        String::from_utf8_lossy(&injection.stderr)
            .contains("ValueError: X-Lang contains CR, LF or NUL"),
        "{injection:?}"
    );
}

#[test]
fn the_small_wsgi_server_serves_a_real_app() {
    let server = python_server("ch04_wsgi_server.py", "wire.py:application");
    let answer = testkit::exchange(server.addr, &get_and_close("/hello?x=1"));
    assert_eq!(
        visible(&answer),
        visible(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\nConnection: close\r\n\r\nHello, world!\n")
    );
    // A body, read from wsgi.input by its Content-Length, even when it
    // arrives after the head.
    let mut stream = connect(server.addr);
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello")
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    stream.write_all(b" world").unwrap();
    let answer = read_to_close(&mut stream);
    assert!(
        answer.ends_with(b"\r\n\r\nPOST 11 bytes of text/plain: hello world\n"),
        "{}",
        visible(&answer)
    );
    // A generator body, write(), and start_response called again with
    // exc_info: the second status is the one sent.
    for (target, ending) in [
        ("/stream", "\r\n\r\nfirst line\nsecond line\n"),
        (
            "/write",
            "\r\n\r\nwritten with write()\nreturned in the iterable\n",
        ),
    ] {
        let answer = testkit::exchange(server.addr, &get_and_close(target));
        assert!(
            answer.ends_with(ending.as_bytes()),
            "{target}: {}",
            visible(&answer)
        );
    }
    let answer = testkit::exchange(server.addr, &get_and_close("/change-of-mind"));
    assert!(
        answer.starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"),
        "{}",
        visible(&answer)
    );
}

#[test]
fn the_keep_alive_loop_frames_requests_on_one_connection() {
    let server = python_server("ch05_keep_alive.py", "wire.py:application");
    let mut stream = connect(server.addr);
    // Two requests one after the other, each answered on the same connection.
    for query in ["one", "two"] {
        let request = format!("GET /query?{query} HTTP/1.1\r\nHost: t\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let answer = read_response(&mut stream, false);
        assert!(
            answer.ends_with(format!("Content-Length: 4\r\n\r\n{query}\n").as_bytes()),
            "{}",
            visible(&answer)
        );
    }
    // Then two in one write: a body, and right after it the next request,
    // which asks to close.
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhelloGET /query?three HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let answer = read_to_close(&mut stream);
    assert_eq!(
        visible(&answer),
        visible(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 25\r\n\r\nPOST 5 bytes of -: hello\nHTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 6\r\nConnection: close\r\n\r\nthree\n")
    );
}

/// Opens a connection that sends half a request head and then nothing.
fn idle_client(addr: SocketAddr) -> std::net::TcpStream {
    let mut idle = connect(addr);
    idle.write_all(b"GET /query?idle HTTP/1.1\r\nHo").unwrap();
    idle
}

/// Whether a request on a fresh connection is answered within `wait`.
fn answered_within(addr: SocketAddr, wait: Duration) -> Option<Vec<u8>> {
    let mut stream = connect(addr);
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(&get_and_close("/query?other")).unwrap();
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => Some(answer),
        Err(_) => None,
    }
}

#[test]
fn one_idle_client_holds_the_keep_alive_loop_but_not_the_event_loop() {
    // Chapter 5's loop serves one connection at a time: an idle client
    // holds it, and nobody else is answered until that client goes.
    let blocking = python_server("ch05_keep_alive.py", "wire.py:application");
    let idle = idle_client(blocking.addr);
    assert_eq!(
        answered_within(blocking.addr, Duration::from_millis(500)),
        None
    );
    drop(idle);
    let answer = answered_within(blocking.addr, TIMEOUT).unwrap();
    assert!(answer.ends_with(b"\r\n\r\nother\n"), "{}", visible(&answer));

    // Chapter 6's loop answers the other client at once, then the idle
    // one when its request is complete.
    let looping = python_server("ch06_event_loop.py", "wire.py:application");
    let mut idle = idle_client(looping.addr);
    let answer = answered_within(looping.addr, TIMEOUT).unwrap();
    assert!(answer.ends_with(b"\r\n\r\nother\n"), "{}", visible(&answer));
    idle.write_all(b"st: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let answer = read_to_close(&mut idle);
    assert!(answer.ends_with(b"\r\n\r\nidle\n"), "{}", visible(&answer));
    // Pipelined requests are taken from one buffer in order.
    let answer = testkit::exchange(
        looping.addr,
        b"GET /query?1 HTTP/1.1\r\nHost: t\r\n\r\nGET /query?2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.contains("\r\n\r\n1\nHTTP/1.1 200 OK") && text.ends_with("\r\n\r\n2\n"),
        "{text}"
    );
}

#[test]
fn the_small_asgi_server_serves_a_raw_asgi_app() {
    let server = python_server("ch07_asgi_server.py", "asgi_wire.py:app");
    // One body message: held start, then a Content-Length.
    let answer = testkit::exchange(server.addr, &get_and_close("/hello"));
    assert_eq!(
        visible(&answer),
        visible(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, ASGI!\n")
    );
    // Several body messages: no length, the close ends the body.
    let answer = testkit::exchange(server.addr, &get_and_close("/stream"));
    assert_eq!(
        visible(&answer),
        visible(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nConnection: close\r\n\r\nfirst line\nsecond line\n")
    );
    // The body comes through receive(), even when it arrives after the
    // head; after it, receive() waits until the response is over.
    let mut stream = connect(server.addr);
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello")
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    stream.write_all(b" world").unwrap();
    let answer = read_to_close(&mut stream);
    assert_eq!(
        visible(&answer),
        visible(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world")
    );
    let answer = testkit::exchange(
        server.addr,
        b"POST /after-body HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
    );
    assert!(
        answer.ends_with(b"\r\n\r\npending=True\n"),
        "{}",
        visible(&answer)
    );
    // The scope: path percent-decoded as UTF-8, raw_path and the query
    // as the bytes sent, header names lower-cased.
    let answer = testkit::exchange(server.addr, &get_and_close("/scope/caf%C3%A9?q=%41"));
    let text = String::from_utf8_lossy(&answer);
    for expected in [
        r#""path": "/scope/caf\u00e9""#,
        r#""raw_path": "/scope/caf%C3%A9""#,
        r#""query_string": "q=%41""#,
        r#""connection","#,
        r#""method": "GET""#,
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
}

#[test]
fn the_small_asgi_server_keeps_the_apps_own_content_length() {
    // FastAPI sets Content-Length itself: the sketch must not add a
    // second one (two length headers make the message ambiguous).
    let server = python_server("ch07_asgi_server.py", "asgi_fastapi.py:app");
    let answer = testkit::exchange(server.addr, &get_and_close("/items/42?q=asgi"));
    let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert_eq!(text.matches("content-length:").count(), 1, "{text}");
    assert!(text.contains("content-length: 25\r\n"), "{text}");
    assert!(
        text.ends_with("\r\n\r\n{\"item_id\":42,\"q\":\"asgi\"}"),
        "{text}"
    );
}

/// The chapter shows this output, included from the `.out` file.
#[test]
fn a_coroutine_stepped_by_hand_stops_at_the_wait_and_finishes_when_sent_a_value() {
    let output = run_python(&["ch07_await.py"]);
    assert!(output.status.success(), "{output:?}");
    let shown = std::fs::read_to_string(python_dir().join("ch07_await.out")).unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), shown);
    assert_eq!(
        shown,
        "step 1 stopped at: Wait\nstep 2 finished with: b'hello world'\n"
    );
}

#[test]
fn the_spy_passes_every_message_through() {
    // The chapter's spy middleware, around its echo app, served by the
    // chapter's small server: the app behaves as without the spy.
    let app = python_dir().join("ch07_spy.py");
    let mut command = Command::new(script("ch07_asgi_server.py"));
    command
        .arg(format!("{}:app", app.display()))
        .current_dir(python_dir());
    let server = ServerProcess::start_command(command);
    let answer = testkit::exchange(
        server.addr,
        b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
    );
    assert_eq!(
        visible(&answer),
        visible(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nConnection: close\r\n\r\ngot hi!\n"
        )
    );
}
