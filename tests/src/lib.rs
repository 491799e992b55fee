//! Helpers for testing servers over real loopback sockets.
//!
//! - [`ServerProcess`] starts a stage binary on a free port and stops it.
//! - [`exchange`] sends raw bytes and reads the answer until EOF;
//!   [`read_response`] reads one response off a connection that stays open.
//! - [`expect`] asserts on raw bytes and, failing, shows what was expected
//!   and what came with CR and LF visible, at the caller's line.
//! - [`Trickle`] hands a byte slice to a reader a few bytes at a time, to
//!   prove a parser copes with requests that arrive in pieces.
//!
//! Everything here targets 127.0.0.1 only and gives up after a bounded time.

pub mod expect;
pub mod rendered_book;

pub use expect::{assert_ends_with, assert_lacks, assert_starts_with};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single wait in these helpers may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// How long a server that is no longer needed gets to stop on SIGTERM
/// before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A stage server started for a test, stopped when dropped: SIGTERM, then
/// SIGKILL if it has not exited after a few seconds.
pub struct ServerProcess {
    child: Child,
    /// The address the server said it listens on.
    pub addr: SocketAddr,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Starts `binary` with `--bind 127.0.0.1:0` and `args`, and waits for
    /// the `Listening on http://HOST:PORT` line on its stderr.
    pub fn start(binary: &str, args: &[&str]) -> ServerProcess {
        let mut command = Command::new(binary);
        command.args(args);
        ServerProcess::start_command(command)
    }

    /// Starts `binary` as [`ServerProcess::start`] does, from the folder of
    /// the fixture apps ([`apps_dir`]), so that `module:callable` finds them.
    pub fn start_in_apps(binary: &str, args: &[&str]) -> ServerProcess {
        let mut command = Command::new(binary);
        command.args(args).current_dir(apps_dir());
        ServerProcess::start_command(command)
    }

    /// Like [`ServerProcess::start`], for a command the caller has set up
    /// (working directory, environment, arguments); `--bind 127.0.0.1:0`
    /// is added in front of its arguments.
    pub fn start_command(command: Command) -> ServerProcess {
        let mut with_bind = Command::new(command.get_program());
        with_bind
            .args(["--bind", "127.0.0.1:0"])
            .args(command.get_args());
        if let Some(dir) = command.get_current_dir() {
            with_bind.current_dir(dir);
        }
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => with_bind.env(key, value),
                None => with_bind.env_remove(key),
            };
        }
        let binary = command.get_program().to_string_lossy().into_owned();
        let mut child = with_bind
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let stdout = collect_lines(child.stdout.take().unwrap(), None);
        let (addr_tx, addr_rx) = mpsc::channel();
        let stderr = collect_lines(child.stderr.take().unwrap(), Some(addr_tx));
        let addr = match addr_rx.recv_timeout(TIMEOUT) {
            Ok(addr) => addr,
            Err(_) => {
                stop(&mut child);
                thread::sleep(Duration::from_millis(100));
                let said = stderr.lock().unwrap().clone();
                panic!("{binary} did not say `Listening on http://...` in time; stderr:\n{said}");
            }
        };
        ServerProcess {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    /// Sends SIGTERM and waits for the process to exit (at most
    /// [`TIMEOUT`]); returns its exit code, `None` if a signal killed it.
    pub fn terminate(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(
            sent.is_ok_and(|s| s.success()),
            "could not send SIGTERM to {pid}"
        );
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "the server did not exit after SIGTERM"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the server printed to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything the server printed to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until the server's stdout contains `needle`, then returns all
    /// of it; panics after [`TIMEOUT`].
    pub fn wait_for_stdout(&self, needle: &str) -> String {
        wait_for(&self.stdout, needle)
    }

    /// Waits until the server's stderr contains `needle`, then returns all
    /// of it; panics after [`TIMEOUT`].
    pub fn wait_for_stderr(&self, needle: &str) -> String {
        wait_for(&self.stderr, needle)
    }

    /// Runs the Python client `tests/clients/<script> HOST:PORT` against
    /// this server, and fails the test unless it succeeds, showing what the
    /// script and the server said.
    pub fn check_with_python(&self, script: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("clients")
            .join(script);
        let output = Command::new("python3")
            .arg(&path)
            .arg(self.addr.to_string())
            .output()
            .expect("python3 runs");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "{script} failed:\n{said}\nserver stderr:\n{}",
            self.stderr()
        );
    }

    /// The process id of the server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`HUP`, `TERM`...) to the server with `kill`.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status();
        assert!(sent.is_ok_and(|s| s.success()), "could not send SIG{name}");
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Stops a server the way its users do, with SIGTERM, so that a master
/// stops its workers and collects them before it exits; SIGKILL would
/// orphan them. SIGKILL only after [`STOP_GRACE`], for a server that hangs.
fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let start = Instant::now();
    while start.elapsed() < STOP_GRACE {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Copies lines from a pipe into a shared string on a thread of its own;
/// sends the first `Listening on http://ADDR` address it sees.
fn collect_lines<R: Read + Send + 'static>(
    pipe: R,
    listening: Option<mpsc::Sender<SocketAddr>>,
) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let shared = Arc::clone(&text);
    thread::spawn(move || {
        let mut listening = listening;
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.split("Listening on http://").nth(1) {
                let addr = addr.trim().trim_end_matches('/');
                if let (Some(tx), Ok(addr)) = (listening.take(), addr.parse()) {
                    let _ = tx.send(addr);
                }
            }
            let mut text = shared.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    text
}

fn wait_for(text: &Mutex<String>, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let now = text.lock().unwrap().clone();
        if now.contains(needle) {
            return now;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "never saw {needle:?}; got:\n{now}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// `tests/apps`, where the fixture WSGI apps live.
pub fn apps_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("apps")
}

/// Connects to `addr`, sends `request`, and reads until the server closes
/// the connection (or [`TIMEOUT`] passes).
#[track_caller]
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(request).unwrap();
    read_to_close(&mut stream)
}

/// A loopback connection with [`TIMEOUT`] on reads and writes.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Checks, over one keep-alive connection to a server running
/// `tests/apps/workers.py`, that each request gets an `environ` of its own:
/// servers build it from a per-connection template, and reuse the previous
/// request's value strings where they repeat, so neither what an app
/// writes into one request's `environ` nor a value of the previous request
/// may show up in the next.
pub fn check_environ_per_request(addr: SocketAddr) {
    let mut stream = connect(addr);
    let mut ask = |request: &str| {
        stream.write_all(request.as_bytes()).unwrap();
        let response = read_response(&mut stream, false);
        let text = String::from_utf8_lossy(&response).into_owned();
        text.rsplit("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    // The app answers with what it sees (an entry an earlier request set,
    // QUERY_STRING, REMOTE_ADDR, HTTP_X_TRACE), then changes its environ.
    let first = ask("GET /environ?q=1 HTTP/1.1\r\nHost: t\r\nX-Trace: a\r\n\r\n");
    assert_eq!(first, "- q=1 127.0.0.1 a\n");
    // No query string and no X-Trace this time: neither is left over.
    let second = ask("GET /environ HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(second, "- - 127.0.0.1 -\n");
    // Values equal to the previous request's are reused; changed ones
    // must not be.
    let third = ask("GET /environ?q=1 HTTP/1.1\r\nHost: t\r\nX-Trace: a\r\n\r\n");
    assert_eq!(third, "- q=1 127.0.0.1 a\n");
    let fourth = ask("GET /environ?q=2 HTTP/1.1\r\nHost: t\r\nX-Trace: b\r\n\r\n");
    assert_eq!(fourth, "- q=2 127.0.0.1 b\n");
}

/// The limit flags, with small values, that [`check_limit_flags`] expects
/// a server to have been started with.
pub const SMALL_LIMITS: [&str; 8] = [
    "--limit-request-line",
    "64",
    "--limit-request-fields",
    "3",
    "--limit-request-head-size",
    "200",
    "--limit-request-body",
    "10",
];

/// Checks that a server started with [`SMALL_LIMITS`] and running
/// `tests/apps/wire.py` applies each limit with its status, and still
/// serves a request within them.
pub fn check_limit_flags(addr: SocketAddr) {
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(80));
    assert_eq!(status_of(&exchange(addr, long_line.as_bytes())), Some(414));
    let fields = b"GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert_eq!(status_of(&exchange(addr, fields)), Some(431));
    let head = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX: {}\r\n\r\n",
        "b".repeat(200)
    );
    assert_eq!(status_of(&exchange(addr, head.as_bytes())), Some(431));
    let body = b"POST /consume HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world";
    assert_eq!(status_of(&exchange(addr, body)), Some(413));
    let ok = b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    assert_eq!(status_of(&exchange(addr, ok)), Some(200));
}

/// Reads until EOF. A reset after the data counts as the end too: a server
/// that closes with unread input may reset, and what came before stands.
#[track_caller]
pub fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return answer,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return answer,
            Err(e) => panic!(
                "reading the answer failed after {} bytes: {e}",
                answer.len()
            ),
        }
    }
}

/// Reads exactly one response from a connection that stays open: the head,
/// then the body as its framing says (`Content-Length`, chunked, or until
/// EOF when it has neither). No body after a HEAD, 1xx, 204 or 304.
#[track_caller]
pub fn read_response(stream: &mut TcpStream, head_request: bool) -> Vec<u8> {
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => response.push(byte[0]),
            Ok(_) => return response,
            Err(e) => panic!(
                "reading a response head failed after {} bytes: {e}",
                response.len()
            ),
        }
    }
    let head = String::from_utf8_lossy(&response).to_ascii_lowercase();
    let status = status_of(&response).unwrap_or(0);
    if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
        return response;
    }
    let header = |name: &str| {
        head.lines()
            .find_map(|line| line.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    if let Some(length) = header("content-length:") {
        let mut body = vec![0u8; length.parse().expect("a numeric Content-Length")];
        stream.read_exact(&mut body).expect("the whole body");
        response.extend_from_slice(&body);
    } else if header("transfer-encoding:").is_some_and(|v| v == "chunked") {
        read_chunked(stream, &mut response);
    } else {
        response.extend_from_slice(&read_to_close(stream));
    }
    response
}

/// Appends a chunked body, byte for byte as sent, up to its empty trailer line.
#[track_caller]
fn read_chunked(stream: &mut TcpStream, out: &mut Vec<u8>) {
    #[track_caller]
    fn line(stream: &mut TcpStream) -> Vec<u8> {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            stream.read_exact(&mut byte).expect("a chunk line");
            line.push(byte[0]);
        }
        line
    }
    loop {
        let size_line = line(stream);
        out.extend_from_slice(&size_line);
        let size = String::from_utf8_lossy(&size_line);
        let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
            .expect("a hex chunk size");
        if size == 0 {
            loop {
                let trailer = line(stream);
                out.extend_from_slice(&trailer);
                if trailer == b"\r\n" {
                    return;
                }
            }
        }
        let mut data = vec![0u8; size + 2];
        stream.read_exact(&mut data).expect("chunk data");
        out.extend_from_slice(&data);
    }
}

/// A reader over a byte slice that returns at most `step` bytes per read.
pub struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
}

impl<'a> Trickle<'a> {
    /// Serves `bytes` `step` bytes at a time (at least one).
    pub fn new(bytes: &'a [u8], step: usize) -> Trickle<'a> {
        Trickle {
            bytes,
            step: step.max(1),
        }
    }
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(out.len()).min(self.bytes.len());
        out[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// The status code of a raw response, such as 200 for `HTTP/1.1 200 OK`.
pub fn status_of(response: &[u8]) -> Option<u16> {
    let line = response.split(|&b| b == b'\r').next()?;
    let code = line.split(|&b| b == b' ').nth(1)?;
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// Renders bytes with CR and LF visible (the stage-01 renderer), for
/// assertion messages and snapshots.
pub use stage_01::visible;
