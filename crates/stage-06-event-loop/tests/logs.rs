//! The logs: the access log's destination and format, the error log's
//! file, and the level that filters the server's own messages.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use testkit::{ServerProcess, apps_dir, exchange, status_of, visible};

const BIN: &str = env!("CARGO_BIN_EXE_stage-06");

/// A file path of its own for each test, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("stage-06-logs-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        TempFile(path)
    }

    fn read(&self) -> String {
        std::fs::read_to_string(&self.0).unwrap_or_default()
    }

    /// Waits until the file contains `needle`; panics after ten seconds.
    fn wait_for(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let text = self.read();
            if text.contains(needle) {
                return text;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{} never contained {needle:?}: {text}",
                self.0.display()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn get(server: &ServerProcess, target: &str, headers: &str) -> Vec<u8> {
    let request = format!("GET {target} HTTP/1.1\r\nHost: t\r\n{headers}Connection: close\r\n\r\n");
    exchange(server.addr, request.as_bytes())
}

#[test]
fn the_access_log_goes_to_stderr_to_a_file_appended_to_or_to_stdout() {
    // By default: standard error, one line per request.
    let default = ServerProcess::start_in_apps(BIN, &["logs:application"]);
    get(&default, "/default", "");
    default.wait_for_stderr("\"GET /default HTTP/1.1\" 200 14");

    // A file: appended to, and nothing on standard error.
    let file = TempFile::new("access.log");
    std::fs::write(&file.0, "a line from before\n").unwrap();
    let path = file.0.to_str().unwrap();
    let to_file =
        ServerProcess::start_in_apps(BIN, &["--access-logfile", path, "logs:application"]);
    get(&to_file, "/one", "");
    get(&to_file, "/two", "");
    let text = file.wait_for("GET /two");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], "a line from before", "appended, not truncated");
    assert!(lines[1].contains("\"GET /one HTTP/1.1\" 200 14"), "{text}");
    assert!(
        !to_file.stderr().contains("GET /one"),
        "{}",
        to_file.stderr()
    );

    // `-`: standard output.
    let to_stdout =
        ServerProcess::start_in_apps(BIN, &["--access-logfile", "-", "logs:application"]);
    get(&to_stdout, "/out", "");
    to_stdout.wait_for_stdout("\"GET /out HTTP/1.1\" 200 14");
    assert!(
        !to_stdout.stderr().contains("GET /out"),
        "{}",
        to_stdout.stderr()
    );
}

#[test]
fn the_access_log_format_has_the_duration_and_the_atoms_asked_for() {
    let format = "%(m)s|%(U)s|%(q)s|%(H)s|%(s)s|%(B)s|%(h)s|%({x-trace}i)s|%(D)s|%(L)s|%(p)s|%({content-type}o)s|%({x-missing}o)s";
    let server = ServerProcess::start_in_apps(
        BIN,
        &[
            "--workers",
            "1",
            "--access-logformat",
            format,
            "logs:application",
        ],
    );
    let response = get(
        &server,
        "/sleep?0.3",
        "X-Trace: abc\r\nX-Forwarded-For: 203.0.113.7\r\n",
    );
    assert_eq!(status_of(&response), Some(200), "{}", visible(&response));
    let pid = String::from_utf8_lossy(&get(&server, "/pid", ""))
        .rsplit("\r\n\r\n")
        .next()
        .unwrap()
        .trim()
        .to_string();
    let stderr = server.wait_for_stderr("GET|/sleep|");
    let line = stderr
        .lines()
        .find(|line| line.starts_with("GET|/sleep|"))
        .unwrap();
    let fields: Vec<&str> = line.split('|').collect();
    // The client a trusted proxy (loopback) named, as the app saw it.
    assert_eq!(
        fields[..8],
        [
            "GET",
            "/sleep",
            "0.3",
            "HTTP/1.1",
            "200",
            "14",
            "203.0.113.7",
            "abc"
        ],
        "{line}"
    );
    let micros: u64 = fields[8].parse().unwrap();
    assert!(
        (300_000..10_000_000).contains(&micros),
        "the app slept 0.3 s: {line}"
    );
    let seconds: f64 = fields[9].parse().unwrap();
    assert!(
        (seconds * 1e6 - micros as f64).abs() < 1.0,
        "%(L)s is %(D)s in seconds: {line}"
    );
    assert_eq!(fields[10], format!("<{pid}>"), "the worker's pid: {line}");
    // A response header the app set, and one it did not.
    assert_eq!(fields[11..], ["text/plain", "-"], "{line}");
}

/// A server started by [`start_on_socket`], stopped with SIGTERM when
/// dropped, so that a test that fails half-way leaves no server behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let child = &mut self.0;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let started = Instant::now();
        while matches!(child.try_wait(), Ok(None)) {
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The server with `args`, listening only on the Unix socket `socket`
/// (its standard error may be a file now, so no `Listening on` line is
/// waited for: the socket is).
fn start_on_socket(socket: &Path, args: &[&str]) -> Running {
    let mut server = Running(
        Command::new(BIN)
            .arg("--bind")
            .arg(format!("unix:{}", socket.display()))
            .args(args)
            .current_dir(apps_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while UnixStream::connect(socket).is_err() {
        assert!(
            server.0.try_wait().unwrap().is_none(),
            "the server exited early"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not listening in time"
        );
        thread::sleep(Duration::from_millis(20));
    }
    server
}

fn get_unix(socket: &Path, target: &str) {
    use std::io::{Read, Write};
    let mut stream = UnixStream::connect(socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    assert!(status_of(&response).is_some(), "{}", visible(&response));
}

/// SIGTERM, and waits for the exit.
fn stop(server: Running) {
    drop(server);
}

#[test]
fn the_error_log_file_has_the_servers_messages_tracebacks_and_wsgi_errors() {
    let errors = TempFile::new("error.log");
    let socket = TempFile::new("error.sock");
    let server = start_on_socket(
        &socket.0,
        &[
            "--error-logfile",
            errors.0.to_str().unwrap(),
            "--no-access-log",
            "logs:application",
        ],
    );
    // The socket accepts (into its backlog) before the workers are
    // ready; the master says it listens once they are.
    errors.wait_for("stage-06: Listening on unix:");
    get_unix(&socket.0, "/raise");
    get_unix(&socket.0, "/errors");
    errors.wait_for("ValueError: raised on purpose");
    let text = errors.wait_for("written to wsgi.errors by the app");
    assert!(text.contains("stage-06: Listening on unix:"), "{text}");
    assert!(
        text.contains("stage-06: the application raised an exception"),
        "{text}"
    );
    stop(server);
    let text = errors.read();
    assert!(text.contains("stage-06: stopped"), "{text}");
}

#[test]
fn sigusr1_opens_the_log_files_again_after_they_were_moved_away() {
    for workers in ["1", "0"] {
        let name = |file: &str| format!("rotate-{workers}-{file}");
        let (access, errors) = (
            TempFile::new(&name("access.log")),
            TempFile::new(&name("error.log")),
        );
        let moved = (
            TempFile::new(&name("access.log.1")),
            TempFile::new(&name("error.log.1")),
        );
        let socket = TempFile::new(&name("rotate.sock"));
        let server = start_on_socket(
            &socket.0,
            &[
                "--workers",
                workers,
                "--access-logfile",
                access.0.to_str().unwrap(),
                "--error-logfile",
                errors.0.to_str().unwrap(),
                "logs:application",
            ],
        );
        errors.wait_for("Listening on unix:");
        get_unix(&socket.0, "/before");
        access.wait_for("GET /before ");
        // What logrotate does: move the files away, then signal the server.
        std::fs::rename(&access.0, &moved.0.0).unwrap();
        std::fs::rename(&errors.0, &moved.1.0).unwrap();
        let pid = server.0.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-USR1", &pid])
                .status()
                .unwrap()
                .success()
        );
        // Each process opens the error log, then the access log: once the
        // access log is there again, so is everything.
        let started = Instant::now();
        while !access.0.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "--workers {workers}: not reopened"
            );
            thread::sleep(Duration::from_millis(20));
        }
        get_unix(&socket.0, "/after");
        get_unix(&socket.0, "/raise");
        access.wait_for("GET /after ");
        errors.wait_for("ValueError: raised on purpose");
        let old = moved.0.read();
        assert!(
            old.contains("GET /before ") && !old.contains("/after"),
            "{old}"
        );
        assert!(!moved.1.read().contains("ValueError"), "{}", moved.1.read());
        stop(server);
        assert!(server_is_gone(&socket.0), "--workers {workers}");
    }
}

/// The server removed its socket file on the way out.
fn server_is_gone(socket: &Path) -> bool {
    !socket.exists()
}

#[test]
fn the_log_level_filters_the_servers_messages() {
    let socket = TempFile::new("level.sock");
    // Warning: no "Listening on" (info), but a traceback (error) still.
    let errors = TempFile::new("warning.log");
    let server = start_on_socket(
        &socket.0,
        &[
            "--log-level",
            "warning",
            "--error-logfile",
            errors.0.to_str().unwrap(),
            "--no-access-log",
            "logs:application",
        ],
    );
    get_unix(&socket.0, "/raise");
    errors.wait_for("ValueError: raised on purpose");
    stop(server);
    // All of it, once the server is gone: info lines come from its start
    // to its end, and none of them may be there.
    let text = errors.read();
    assert!(
        !text.contains("Listening on") && !text.contains("stopped"),
        "{text}"
    );

    // Debug: each worker says it loaded the app, and its request limit.
    let errors = TempFile::new("debug.log");
    let server = start_on_socket(
        &socket.0,
        &[
            "--log-level",
            "debug",
            "--max-requests",
            "1000",
            "--error-logfile",
            errors.0.to_str().unwrap(),
            "logs:application",
        ],
    );
    errors.wait_for("loaded the app; it will serve 1000 requests");
    errors.wait_for("Listening on");
    stop(server);

    // Info, the default, has neither.
    let errors = TempFile::new("info.log");
    let server = start_on_socket(
        &socket.0,
        &[
            "--error-logfile",
            errors.0.to_str().unwrap(),
            "logs:application",
        ],
    );
    errors.wait_for("Listening on");
    get_unix(&socket.0, "/");
    errors.wait_for("\"GET / HTTP/1.1\" 200 14");
    assert!(
        !errors.read().contains("loaded the app"),
        "{}",
        errors.read()
    );
    stop(server);
}

#[test]
fn a_bad_log_level_is_refused() {
    let output = Command::new(BIN)
        .args(["--log-level", "loud"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("possible values: debug, info, warning, error, critical"),
        "{said}"
    );
}
