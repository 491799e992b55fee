//! The deployment flags stage-07 takes from stage-06: `--bind unix:PATH`
//! beside TCP, `--forwarded-allow-ips`, the access and error logs and
//! their level, and `--max-requests`.
//!
//! Loopback has a whole network, 127.0.0.0/8: a client that connects from
//! 127.0.0.2 is told apart from a proxy on 127.0.0.1 (as in stage-06's
//! proxy tests).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{BIN, serve};
use socket2::{Domain, Socket, Type};
use testkit::{ServerProcess, apps_dir, exchange};

const APP: &str = "asgi_proxied:app";

/// A path in the temporary directory, for this test process only.
fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("stage-07-deploy-{}-{name}", std::process::id()))
}

/// The body of a response read to its close.
fn body(response: &[u8]) -> String {
    let text = String::from_utf8_lossy(response).into_owned();
    text.split_once("\r\n\r\n")
        .map_or(text.clone(), |(_, body)| body.to_string())
}

fn request(headers: &str) -> String {
    format!("GET /who?x HTTP/1.1\r\nHost: t\r\n{headers}Connection: close\r\n\r\n")
}

/// A GET from the local address `from` to `to`, with `headers`.
fn get_from(from: &str, to: SocketAddr, headers: &str) -> String {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{from}:0").parse().unwrap();
    socket.bind(&local.into()).unwrap();
    socket
        .connect_timeout(&to.into(), Duration::from_secs(5))
        .unwrap();
    let mut stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request(headers).as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    body(&response)
}

/// A GET over the Unix socket at `path`.
fn get_unix(path: &Path, headers: &str) -> String {
    let mut stream = UnixStream::connect(path).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request(headers).as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    body(&response)
}

#[test]
fn a_unix_socket_beside_a_tcp_one_and_what_the_scope_says_of_it() {
    let path = temp_path("both.sock");
    let bind = format!("unix:{}", path.display());
    let server = serve(APP, &["--no-access-log", "--bind", &bind]);
    server.wait_for_stderr(&format!("Listening on unix:{}", path.display()));
    // No addresses over a Unix socket: no client, and the server is the
    // socket's path with no port (ASGI HTTP spec, "server").
    let seen = get_unix(&path, "");
    let expected = format!(
        r#"{{"client": null, "server": ["{}", null], "scheme": "http"}}"#,
        path.display()
    );
    assert_eq!(seen, expected);
    // A proxy on the same machine is believed: it names the client.
    let seen = get_unix(&path, "X-Forwarded-For: 203.0.113.7\r\n");
    assert!(
        seen.starts_with(r#"{"client": ["203.0.113.7", 0]"#),
        "{seen}"
    );
    // The TCP socket serves too.
    let seen = get_from("127.0.0.1", server.addr, "");
    assert!(seen.starts_with(r#"{"client": ["127.0.0.1", "#), "{seen}");
    drop(server);
    assert!(!path.exists(), "the socket file is removed on exit");
}

#[test]
fn forwarding_headers_count_only_from_trusted_peers() {
    let server = serve(APP, &["--no-access-log"]);
    let headers = "X-Forwarded-For: 198.51.100.1, 203.0.113.7\r\nX-Forwarded-Proto: https\r\n";
    // From 127.0.0.1, trusted by default: the right-most untrusted entry.
    let seen = get_from("127.0.0.1", server.addr, headers);
    assert!(
        seen.starts_with(r#"{"client": ["203.0.113.7", 0], "server": ["127.0.0.1", "#),
        "{seen}"
    );
    assert!(seen.ends_with(r#""scheme": "https"}"#), "{seen}");
    // From 127.0.0.2, not on the list: the headers change nothing.
    let seen = get_from("127.0.0.2", server.addr, headers);
    assert!(seen.starts_with(r#"{"client": ["127.0.0.2", "#), "{seen}");
    assert!(seen.ends_with(r#""scheme": "http"}"#), "{seen}");
    drop(server);
    // A list without loopback: 127.0.0.1 is just another client now.
    let strict = serve(
        APP,
        &["--no-access-log", "--forwarded-allow-ips", "10.0.0.0/8"],
    );
    let seen = get_from("127.0.0.1", strict.addr, headers);
    assert!(seen.starts_with(r#"{"client": ["127.0.0.1", "#), "{seen}");
    assert!(seen.ends_with(r#""scheme": "http"}"#), "{seen}");
}

#[test]
fn the_access_log_goes_to_a_file_in_the_format_asked_for() {
    let path = temp_path("access.log");
    let _ = std::fs::remove_file(&path);
    let file = path.to_string_lossy().into_owned();
    let format = r#"%(h)s "%(r)s" %(s)s %(b)s %({x-test}i)s %({content-type}o)s pid=%(p)s"#;
    let server = serve(
        APP,
        &["--access-logfile", &file, "--access-logformat", format],
    );
    let headers = "X-Test: hi\r\nX-Forwarded-For: 203.0.113.7\r\n";
    let seen = get_from("127.0.0.1", server.addr, headers);
    let length = seen.len();
    let deadline = Instant::now() + Duration::from_secs(10);
    let expected = format!(
        "203.0.113.7 \"GET /who?x HTTP/1.1\" 200 {length} hi application/json pid=<{}>\n",
        server.pid()
    );
    loop {
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        if log == expected {
            break;
        }
        assert!(Instant::now() < deadline, "{log:?} is not {expected:?}");
        sleep(Duration::from_millis(50));
    }
    assert!(!server.stderr().contains("GET /who"), "{}", server.stderr());
    drop(server);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn the_error_log_goes_to_a_file_at_the_level_asked_for() {
    let socket = temp_path("errors.sock");
    let path = temp_path("errors.log");
    let _ = std::fs::remove_file(&path);
    let child = Command::new(BIN)
        .args(["--workers", "0", "--loop", "asyncio", "--no-access-log"])
        .arg(format!("--bind=unix:{}", socket.display()))
        .arg(format!("--error-logfile={}", path.display()))
        .args(["--log-level", "warning", "asgi_wire:app"])
        .current_dir(apps_dir())
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut stream = loop {
        if let Ok(stream) = UnixStream::connect(&socket) {
            break stream;
        }
        assert!(Instant::now() < deadline, "the server did not listen");
        sleep(Duration::from_millis(50));
    };
    stream
        .write_all(b"GET /raise-before-start HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    assert!(response.starts_with(b"HTTP/1.1 500"));
    let said = loop {
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        if log.contains("the app failed before its response") {
            break log;
        }
        assert!(Instant::now() < deadline, "{log}");
        sleep(Duration::from_millis(50));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    // The traceback is an error; "Listening on" (info) is below the level.
    assert!(
        said.contains("stage-07: the application raised an exception"),
        "{said}"
    );
    assert!(!said.contains("Listening"), "{said}");
    // Nor is the worker's own (Python) line that this app, which asserts
    // an http scope, does not speak lifespan.
    assert!(!said.contains("does not support the lifespan"), "{said}");
    assert!(output.stderr.is_empty(), "{:?}", output.stderr);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn max_requests_replaces_the_worker() {
    let args = [
        "--workers",
        "1",
        "--loop",
        "asyncio",
        "--no-access-log",
        "--max-requests",
        "2",
        "asgi_pid:app",
    ];
    let server = ServerProcess::start_in_apps(BIN, &args);
    let pid = || {
        let request = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        body(&exchange(server.addr, request))
    };
    let first = pid();
    assert_eq!(pid(), first, "two requests from the first worker");
    // Its second was its last: the next is another worker's.
    let third = pid();
    assert!(third != first && third.parse::<u32>().is_ok(), "{third}");
    server.wait_for_stderr("has served 2 requests (--max-requests)");
}

#[test]
fn sigusr1_opens_the_access_log_again_after_it_was_moved_away() {
    for workers in ["0", "1"] {
        let path = temp_path(&format!("rotate-{workers}.log"));
        let moved = temp_path(&format!("rotate-{workers}.log.1"));
        let _ = std::fs::remove_file(&path);
        let file = path.to_string_lossy().into_owned();
        let args = [
            "--workers",
            workers,
            "--loop",
            "asyncio",
            "--access-logfile",
            &file,
            APP,
        ];
        let server = ServerProcess::start_in_apps(BIN, &args);
        let lines = |path: &Path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            text.lines().filter(|l| l.contains("GET /who?x")).count()
        };
        let wait_until = |what: &str, done: &dyn Fn() -> bool| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !done() {
                assert!(Instant::now() < deadline, "--workers {workers}: {what}");
                sleep(Duration::from_millis(20));
            }
        };
        get_from("127.0.0.1", server.addr, "");
        wait_until("the first line", &|| lines(&path) == 1);
        // What logrotate does: move the file away, then signal the server.
        std::fs::rename(&path, &moved).unwrap();
        let pid = server.pid().to_string();
        assert!(
            Command::new("kill")
                .args(["-USR1", &pid])
                .status()
                .unwrap()
                .success()
        );
        wait_until("the file made again", &|| path.exists());
        get_from("127.0.0.1", server.addr, "");
        wait_until("the second line, in the new file", &|| lines(&path) == 1);
        assert_eq!(lines(&moved), 1, "--workers {workers}");
        drop(server);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&moved);
    }
}
