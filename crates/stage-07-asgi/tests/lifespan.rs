//! The lifespan scope: startup before serving, shutdown on SIGTERM, a
//! state copied into each request, a failed startup that serves nothing,
//! and `--lifespan auto|on|off` for an app that does not speak it.

mod common;

use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{BIN, serve};
use testkit::{ServerProcess, apps_dir, exchange, status_of};

/// Runs the binary, which must exit by itself; its exit code and stderr.
fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .current_dir(apps_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > testkit::TIMEOUT {
            let _ = child.kill();
            panic!("the server did not exit by itself: {args:?}");
        }
        sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn body_of(server: &ServerProcess) -> String {
    let response = exchange(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&response).into_owned();
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or(text)
}

#[test]
fn startup_runs_before_serving_and_shutdown_on_sigterm() {
    for workers in ["0", "1"] {
        let mut server = ServerProcess::start_in_apps(
            BIN,
            &["--workers", workers, "--no-access-log", "asgi_lifespan:app"],
        );
        // The master says `Listening on` before it forks the worker that
        // runs the startup, and stdout and stderr are read apart: the
        // line may come after it. That the startup ran *before serving*
        // is the first answer's to show: it has the state the startup set.
        server.wait_for_stdout("startup ran");
        // Each request gets a copy of the state: what one request writes
        // into its own is not what the next one sees.
        assert_eq!(body_of(&server), "hello from startup");
        assert_eq!(body_of(&server), "hello from startup");
        assert_eq!(server.terminate(), Some(0), "--workers {workers}");
        server.wait_for_stdout("shutdown ran");
    }
}

#[test]
fn a_failed_startup_serves_nothing_and_exits_non_zero() {
    for workers in ["0", "1"] {
        let (code, stderr) = run_to_exit(&["--workers", workers, "asgi_lifespan:failing"]);
        assert_ne!(code, Some(0), "--workers {workers}: {stderr}");
        assert!(stderr.contains("startup failed: no database"), "{stderr}");
        assert!(!stderr.contains("Listening on"), "{stderr}");
    }
}

#[test]
fn an_app_without_lifespan_is_served_on_auto_and_off_but_not_on() {
    let auto = serve("asgi_lifespan:http_only", &[]);
    assert_eq!(body_of(&auto), "served without lifespan");
    let said = auto.wait_for_stderr("does not support the lifespan scope");
    assert!(
        !said.contains("Traceback"),
        "auto says it once, quietly: {said}"
    );

    let off = serve("asgi_lifespan:http_only", &["--lifespan", "off"]);
    assert_eq!(body_of(&off), "served without lifespan");
    assert!(
        !off.stderr().contains("does not support"),
        "{}",
        off.stderr()
    );

    let (code, stderr) = run_to_exit(&[
        "--workers",
        "0",
        "--lifespan",
        "on",
        "asgi_lifespan:http_only",
    ]);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("ValueError: unsupported scope lifespan"),
        "{stderr}"
    );
}

#[test]
fn the_demo_app_is_served_with_no_app_argument() {
    let server = ServerProcess::start(BIN, &["--workers", "0", "--no-access-log"]);
    let response = exchange(
        server.addr,
        b"GET /tasks HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&response), Some(200));
    assert!(String::from_utf8_lossy(&response).contains("Read the ASGI chapter"));
}
