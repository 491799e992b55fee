//! The stage-05 binary: a Flask app over one keep-alive connection from a
//! real Python client, the limit flags, and shutdown.

use std::io::Write;
use std::thread;
use std::time::Duration;

use assert_cmd::Command as AssertCommand;
use predicates::prelude::*;
use testkit::{ServerProcess, connect, read_response, status_of, visible};

const BIN: &str = env!("CARGO_BIN_EXE_stage-05");

fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::start_in_apps(BIN, args)
}

#[test]
fn each_request_on_a_connection_gets_an_environ_of_its_own() {
    let server = start(&["workers:application"]);
    testkit::check_environ_per_request(server.addr);
}

#[test]
fn serves_flask_over_one_persistent_connection_to_http_client() {
    let server = start(&["flask_app:app"]);
    server.check_with_python("check_keep_alive.py");
}

#[test]
fn the_limit_flags_are_applied() {
    let mut args = testkit::SMALL_LIMITS.to_vec();
    args.push("wire:application");
    let server = start(&args);
    testkit::check_limit_flags(server.addr);
}

#[test]
fn bad_timeouts_and_apps_are_clear_errors() {
    AssertCommand::new(BIN)
        .args(["--keep-alive=-1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--keep-alive must be a positive number of seconds",
        ));
    AssertCommand::new(BIN)
        .arg("no_such_module:app")
        .current_dir(testkit::apps_dir())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot import module \"no_such_module\"",
        ));
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_closes_keep_alive() {
    let mut server = start(&["slow:application"]);
    let addr = server.addr;
    let client = thread::spawn(move || {
        let mut stream = connect(addr);
        stream
            .write_all(b"GET /?1.0 HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let response = read_response(&mut stream, false);
        // The connection asked to stay open, but a stopping server closes
        // it after the response instead of waiting out the keep-alive time.
        assert_eq!(testkit::read_to_close(&mut stream), b"");
        response
    });
    thread::sleep(Duration::from_millis(300));
    assert_eq!(server.terminate(), Some(0));
    let response = client.join().unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(
        text.ends_with("finished despite the signal\n"),
        "{}",
        visible(&response)
    );
    assert!(server.stderr().contains("stage-05: stopped"));
}

#[test]
fn with_no_app_it_serves_the_demo_over_keep_alive() {
    let server = ServerProcess::start(BIN, &[]);
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let home = read_response(&mut stream, false);
    assert!(
        String::from_utf8_lossy(&home).contains("Hello from a WSGI app"),
        "{}",
        visible(&home)
    );
    stream
        .write_all(b"GET /tasks HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let tasks = read_response(&mut stream, false);
    assert_eq!(
        status_of(&tasks),
        Some(200),
        "a second request on the same connection"
    );
}
