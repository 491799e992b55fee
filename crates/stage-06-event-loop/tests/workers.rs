//! The master and its workers: restart, hang kill, reload, drain.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use assert_cmd::Command as AssertCommand;
use predicates::prelude::*;
use testkit::{ServerProcess, connect, exchange, read_response, read_to_close, status_of, visible};

const BIN: &str = env!("CARGO_BIN_EXE_stage-06");

fn apps() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/apps")
}

fn start(args: &[&str]) -> ServerProcess {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(apps());
    ServerProcess::start_command(command)
}

fn body_of(server: &ServerProcess, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let response = String::from_utf8_lossy(&exchange(server.addr, request.as_bytes())).into_owned();
    assert!(response.starts_with("HTTP/1.1 200"), "{path}: {response}");
    response
        .rsplit("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Worker pids seen answering, over fresh connections.
fn worker_pids(server: &ServerProcess, tries: usize) -> HashSet<String> {
    (0..tries).map(|_| body_of(server, "/pid")).collect()
}

#[test]
fn workers_share_the_socket_and_say_so_in_environ() {
    let server = start(&["--workers", "2", "workers:application"]);
    let pids = worker_pids(&server, 40);
    assert!(
        !pids.is_empty() && !pids.contains(&server.pid().to_string()),
        "the master never serves: {pids:?}"
    );
    assert_eq!(body_of(&server, "/multiprocess"), "True");
    let single = start(&["--workers", "1", "workers:application"]);
    assert_eq!(body_of(&single, "/multiprocess"), "False");
}

#[test]
fn a_worker_that_dies_is_replaced_and_others_are_unaffected() {
    let server = start(&["--workers", "1", "workers:application"]);
    let before = body_of(&server, "/pid");
    let died = exchange(server.addr, b"GET /die HTTP/1.1\r\nHost: t\r\n\r\n");
    assert!(
        status_of(&died).is_none(),
        "a dead worker sends nothing: {}",
        visible(&died)
    );
    server.wait_for_stderr("starting a new one");
    let mut after = String::new();
    for _ in 0..100 {
        let response = exchange(
            server.addr,
            b"GET /pid HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        );
        if status_of(&response) == Some(200) {
            after = String::from_utf8_lossy(&response)
                .rsplit("\r\n\r\n")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !after.is_empty() && after != before,
        "a new worker answers: {before} then {after:?}"
    );
}

#[test]
fn a_hung_worker_is_killed_after_the_timeout_and_only_its_request_fails() {
    let server = start(&["--workers", "2", "--timeout", "2", "workers:application"]);
    let addr = server.addr;
    let hung = thread::spawn(move || {
        let mut stream = connect(addr);
        stream
            .write_all(b"GET /hang HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        read_to_close(&mut stream)
    });
    thread::sleep(Duration::from_millis(300));
    // The other worker goes on serving meanwhile.
    for _ in 0..10 {
        assert_eq!(body_of(&server, "/"), "Hello, world!");
    }
    let lost = hung.join().unwrap();
    assert!(
        lost.is_empty(),
        "the hung request gets no response: {}",
        visible(&lost)
    );
    server.wait_for_stderr("killing it");
    server.wait_for_stderr("starting a new one");
    assert_eq!(body_of(&server, "/"), "Hello, world!");
}

#[test]
fn sighup_replaces_the_workers_without_losing_a_request() {
    let server = start(&["--workers", "2", "--no-access-log", "workers:application"]);
    let before = worker_pids(&server, 20);
    let addr = server.addr;
    let running = Arc::new(AtomicBool::new(true));
    let (answered, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (running, answered, failed) = (
                Arc::clone(&running),
                Arc::clone(&answered),
                Arc::clone(&failed),
            );
            thread::spawn(move || {
                // Keep-alive clients, as browsers are, reconnecting when the
                // server closes an idle connection (as HTTP allows it to).
                while running.load(Ordering::SeqCst) {
                    let mut stream = connect(addr);
                    for _ in 0..50 {
                        if stream
                            .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                            .is_err()
                        {
                            break;
                        }
                        let response = read_response(&mut stream, false);
                        if response.is_empty() {
                            break; // closed between requests: reconnect
                        }
                        if response.ends_with(b"Hello, world!\n") {
                            answered.fetch_add(1, Ordering::SeqCst);
                        } else {
                            failed.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    server.signal("HUP");
    server.wait_for_stderr("reloading");
    thread::sleep(Duration::from_millis(1500));
    running.store(false, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    let after = worker_pids(&server, 20);
    assert!(
        before.is_disjoint(&after),
        "new workers after the reload: {before:?} then {after:?}"
    );
    assert!(answered.load(Ordering::SeqCst) > 100, "the load went on");
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "no request lost or cut during the reload"
    );
}

#[test]
fn sigterm_drains_the_requests_in_flight_then_exits_0() {
    let mut server = start(&["--workers", "2", "workers:application"]);
    let addr = server.addr;
    let in_flight: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(move || {
                let mut stream = connect(addr);
                stream
                    .write_all(b"GET /sleep?1 HTTP/1.1\r\nHost: t\r\n\r\n")
                    .unwrap();
                read_response(&mut stream, false)
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    assert_eq!(server.terminate(), Some(0));
    for client in in_flight {
        let response = client.join().unwrap();
        assert!(response.ends_with(b"slept\n"), "{}", visible(&response));
    }
    assert!(server.stderr().contains("stage-06: stopped"));
}

#[test]
fn an_app_that_cannot_load_stops_the_master_with_a_clear_message() {
    AssertCommand::new(BIN)
        .args([
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "2",
            "no_such_module:app",
        ])
        .current_dir(apps())
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot import module \"no_such_module\"",
        ))
        .stderr(predicate::str::contains(
            "the workers could not load the application",
        ))
        .stderr(predicate::str::contains("Listening on").not());
}
