//! Stage-06's master running stage-07's workers: several processes on one
//! socket, and SIGHUP replacing them without a gap.

mod common;

use std::collections::HashSet;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::BIN;
use testkit::{ServerProcess, exchange};

fn pid_of_answer(server: &ServerProcess) -> String {
    let response = exchange(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&response).into_owned();
    text.rsplit("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn sighup_replaces_the_workers_and_every_request_is_answered() {
    let args = [
        "--workers",
        "2",
        "--no-access-log",
        "--loop",
        "asyncio",
        "asgi_pid:app",
    ];
    let server = ServerProcess::start_in_apps(BIN, &args);
    let mut before = HashSet::new();
    for _ in 0..20 {
        before.insert(pid_of_answer(&server));
    }
    assert!(
        !before.is_empty() && before.iter().all(|p| p.parse::<u32>().is_ok()),
        "{before:?}"
    );
    server.signal("HUP");
    let started = Instant::now();
    loop {
        // Answered throughout; by new workers once the old ones are gone.
        let pid = pid_of_answer(&server);
        if !before.contains(&pid) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no new worker answered"
        );
        sleep(Duration::from_millis(50));
    }
    // The master's lines name the program that runs, not the stage whose
    // master it is.
    let said = server.wait_for_stderr("reloading");
    assert!(said.contains("stage-07: reloading"), "{said}");
    assert!(!server.stderr().contains("stage-06"), "{}", server.stderr());
}
