//! The stage-04 binary as a user runs it: the demo app, real frameworks
//! driven by a real Python client, app loading errors, and shutdown.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

use assert_cmd::Command as AssertCommand;
use predicates::prelude::*;
use testkit::{ServerProcess, exchange, status_of, visible};

const BIN: &str = env!("CARGO_BIN_EXE_stage-04");

fn workspace_tests() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests")
}

/// Starts stage-04 with `args` in directory `dir`.
fn start_in(dir: &Path, args: &[&str]) -> ServerProcess {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir)
        .env_remove("VIRTUAL_ENV");
    ServerProcess::start_command(command)
}

fn get(server: &ServerProcess, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    String::from_utf8_lossy(&exchange(server.addr, request.as_bytes())).into_owned()
}

#[test]
fn with_no_app_it_serves_the_demo() {
    let server = ServerProcess::start(BIN, &[]);
    let home = get(&server, "/");
    assert!(
        home.starts_with("HTTP/1.1 200 OK\r\n") && home.contains("Hello from a WSGI app"),
        "{home}"
    );
    let created = exchange(
        server.addr,
        b"POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"title\": \"test\"}",
    );
    assert_eq!(status_of(&created), Some(201), "{}", visible(&created));
    assert!(get(&server, "/tasks").contains("\"title\": \"test\""));
    assert!(get(&server, "/hello?name=R%C3%BCst").ends_with("Hello, R\u{fc}st!\n"));
    assert_eq!(status_of(get(&server, "/nope").as_bytes()), Some(404));
    let log = server.wait_for_stderr("\"GET /nope HTTP/1.1\" 404");
    assert!(log.contains("serving the built-in demo app"), "{log}");
    assert!(
        log.contains("] \"POST /tasks HTTP/1.1\" 201 "),
        "an access-log line per request: {log}"
    );
}

#[test]
fn serves_a_flask_app_to_a_python_client() {
    let server = start_in(&workspace_tests().join("apps"), &["flask_app:app"]);
    server.check_with_python("check_flask.py");
}

#[test]
fn serves_a_django_app_to_a_python_client() {
    let server = start_in(&workspace_tests().join("apps"), &["django_app:application"]);
    server.check_with_python("check_django.py");
}

#[test]
fn loads_an_app_by_file_path_and_from_pythonpath() {
    let apps = workspace_tests().join("apps");
    let by_path = start_in(&workspace_tests(), &["apps/slow.py:application"]);
    assert!(get(&by_path, "/?0").ends_with("finished despite the signal\n"));
    let by_pythonpath = start_in(
        Path::new("/"),
        &["--pythonpath", apps.to_str().unwrap(), "slow"],
    );
    assert!(get(&by_pythonpath, "/?0").ends_with("finished despite the signal\n"));
}

#[test]
fn imports_packages_that_live_only_in_the_active_virtualenv() {
    let dir = std::env::temp_dir().join(format!("stage04-venv-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let venv = dir.join("venv");
    let made = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(made.success(), "python3 -m venv failed");
    let version = Command::new("python3")
        .args([
            "-c",
            "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')",
        ])
        .output()
        .unwrap();
    let version = String::from_utf8(version.stdout).unwrap();
    let site = venv
        .join("lib")
        .join(format!("python{}", version.trim()))
        .join("site-packages");
    fs::write(
        site.join("only_in_venv.py"),
        "GREETING = b'hello from the venv\\n'\n",
    )
    .unwrap();
    fs::write(
        dir.join("venvapp.py"),
        "import only_in_venv\n\ndef application(environ, start_response):\n    \
         start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [only_in_venv.GREETING]\n",
    )
    .unwrap();

    // Without the venv active, the import fails, and the message says why.
    AssertCommand::new(BIN)
        .arg("venvapp:application")
        .current_dir(&dir)
        .env_remove("VIRTUAL_ENV")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "importing module \"venvapp\" raised an exception",
        ))
        .stderr(predicate::str::contains("No module named 'only_in_venv'"));

    let mut command = Command::new(BIN);
    command
        .arg("venvapp:application")
        .current_dir(&dir)
        .env("VIRTUAL_ENV", &venv);
    let server = ServerProcess::start_command(command);
    assert!(get(&server, "/").ends_with("hello from the venv\n"));
    drop(server);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn an_app_that_cannot_be_loaded_gets_a_clear_message() {
    let dir = std::env::temp_dir().join(format!("stage04-bad-apps-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("broken.py"),
        "def application(environ, start_response)\n    pass\n",
    )
    .unwrap();
    fs::write(dir.join("plain.py"), "application = 42\n").unwrap();
    for (app, code, messages) in [
        (
            "no_such_module:app",
            1,
            vec![
                "cannot import module \"no_such_module\"",
                "sys.path",
                "--pythonpath",
            ],
        ),
        ("plain:missing", 1, vec!["has no attribute \"missing\""]),
        (
            "plain:application",
            1,
            vec!["plain:application is an object of type int, not a callable"],
        ),
        (
            "broken:application",
            1,
            vec![
                "importing module \"broken\" raised an exception",
                "SyntaxError",
            ],
        ),
        (
            "missing.py:application",
            1,
            vec!["there is no file missing.py"],
        ),
        ("not a spec", 2, vec!["expected module:callable"]),
    ] {
        let assert = AssertCommand::new(BIN)
            .arg(app)
            .current_dir(&dir)
            .timeout(Duration::from_secs(30))
            .assert();
        let mut assert = assert
            .code(code)
            .stderr(predicate::str::contains("panicked").not());
        for message in messages {
            assert = assert.stderr(predicate::str::contains(message));
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let mut server = start_in(&workspace_tests().join("apps"), &["slow:application"]);
    let addr = server.addr;
    let client = thread::spawn(move || exchange(addr, b"GET /?1.0 HTTP/1.1\r\nHost: x\r\n\r\n"));
    server.wait_for_stderr("serving");
    thread::sleep(Duration::from_millis(300)); // the request is now in the app
    assert_eq!(server.terminate(), Some(0));
    let response = String::from_utf8(client.join().unwrap()).unwrap();
    assert!(
        response.ends_with("finished despite the signal\n"),
        "{response}"
    );
    assert!(server.stderr().contains("stage-04: stopped"));
}

#[test]
fn the_limit_flags_are_applied() {
    let mut args = testkit::SMALL_LIMITS.to_vec();
    args.push("wire:application");
    let server = start_in(&workspace_tests().join("apps"), &args);
    testkit::check_limit_flags(server.addr);
}

#[test]
fn bad_requests_get_their_status_and_the_server_goes_on() {
    let mut server = ServerProcess::start(BIN, &[]);
    for (request, status) in [
        (&b"GET / HTTP/1.1\r\n\r\n"[..], 400),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            501,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
    ] {
        let response = exchange(server.addr, request);
        assert_eq!(status_of(&response), Some(status), "{}", visible(&response));
        let text = String::from_utf8_lossy(&response);
        assert!(
            text.contains("Connection: close\r\n") && text.contains("Content-Length: "),
            "{text}"
        );
    }
    let mut slow = testkit::connect(server.addr);
    slow.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    drop(slow); // a client that gives up halfway
    assert!(get(&server, "/").starts_with("HTTP/1.1 200 OK"));
    assert!(server.is_running());
}
