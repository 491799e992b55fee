//! The master and its workers: restart, hang kill, reload, drain, and
//! workers that outlive a killed master only as long as their requests.

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::Command as AssertCommand;
use predicates::prelude::*;
use testkit::{ServerProcess, connect, exchange, read_response, read_to_close, status_of, visible};

const BIN: &str = env!("CARGO_BIN_EXE_stage-06");

fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::start_in_apps(BIN, args)
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
                // server says it closes. A request sent on a kept connection
                // and met by a close instead of an answer is a lost one.
                while running.load(Ordering::SeqCst) {
                    let mut stream = connect(addr);
                    for _ in 0..50 {
                        let sent = stream.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
                        let response = match sent {
                            Ok(()) => read_response(&mut stream, false),
                            Err(_) => Vec::new(),
                        };
                        if response.ends_with(b"Hello, world!\n") {
                            answered.fetch_add(1, Ordering::SeqCst);
                        } else {
                            failed.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        let head = String::from_utf8_lossy(&response).to_ascii_lowercase();
                        if head.contains("\r\nconnection: close\r\n") {
                            break;
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
fn a_retiring_worker_answers_the_next_request_on_a_kept_connection_then_closes_it() {
    let server = start(&["--workers", "1", "--no-access-log", "workers:application"]);
    let ask = b"GET /pid HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut kept = connect(server.addr);
    kept.write_all(ask).unwrap();
    let first = read_response(&mut kept, false);
    let old = String::from_utf8_lossy(&first)
        .rsplit("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    server.signal("HUP");
    // Once a new connection is answered by another process, the new worker
    // serves and the old one has been told to stop (the master signals it
    // as soon as the new one is ready); it sees the flag within 100 ms.
    let started = Instant::now();
    while body_of(&server, "/pid") == old {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no new worker after SIGHUP"
        );
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(500));
    // A client may be sending on a kept connection at any moment: closing it
    // under the client would lose that request. The old worker answers it,
    // says it closes, and closes.
    kept.write_all(ask).unwrap();
    let second = read_response(&mut kept, false);
    assert!(
        !second.is_empty(),
        "the retiring worker closed a kept-alive connection under its client"
    );
    let text = String::from_utf8_lossy(&second).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{}", visible(&second));
    assert!(
        text.ends_with(&format!("\r\n\r\n{old}\n")),
        "answered by the old worker: {}",
        visible(&second)
    );
    assert!(
        text.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{}",
        visible(&second)
    );
    assert!(
        read_to_close(&mut kept).is_empty(),
        "closed after the answer"
    );
}

#[test]
fn a_response_that_promised_keep_alive_before_a_reload_is_followed_by_one_more_answer() {
    let server = start(&["--workers", "1", "--no-access-log", "workers:application"]);
    let mut kept = connect(server.addr);
    // In flight when the old worker is told to stop: its head was decided
    // before, and says the connection stays open.
    kept.write_all(b"GET /sleep?1.5 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    server.signal("HUP");
    let first = read_response(&mut kept, false);
    let head = String::from_utf8_lossy(&first).to_ascii_lowercase();
    assert!(head.ends_with("slept\n"), "{}", visible(&first));
    assert!(!head.contains("connection: close"), "{}", visible(&first));
    // So the client may send again on it, and must get an answer.
    kept.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let second = read_response(&mut kept, false);
    assert!(
        second.ends_with(b"Hello, world!\n"),
        "a request sent after a keep-alive response was dropped: {}",
        visible(&second)
    );
    let head = String::from_utf8_lossy(&second).to_ascii_lowercase();
    assert!(
        head.contains("\r\nconnection: close\r\n"),
        "{}",
        visible(&second)
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
        .current_dir(testkit::apps_dir())
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

/// The pids of the processes whose parent is `parent`, read from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // `pid (command) state ppid ...`: the command may hold spaces and
        // parentheses, so the fields are counted from the last `)`.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or_default();
        if after.split_whitespace().nth(1) == Some(&parent.to_string()) {
            children.push(pid);
        }
    }
    children
}

/// Whether `pid` is a running process. A zombie is not: it serves nothing
/// and holds no socket, it only waits for whoever adopted it to collect it.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .and_then(|s| s.trim().chars().next())
            != Some('Z')
    })
}

/// Polls until none of `pids` is running; false if some still are after `limit`.
fn all_gone_within(pids: &[u32], limit: Duration) -> bool {
    let started = Instant::now();
    while pids.iter().any(|&pid| running(pid)) {
        if started.elapsed() > limit {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Orphaned workers a test found: SIGKILLed when it ends, so that a failing
/// test leaves nothing running. Only processes that still run this very
/// binary are killed, in case a pid was reused meanwhile.
struct Orphans(Vec<u32>);

impl Drop for Orphans {
    fn drop(&mut self) {
        for &pid in &self.0 {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            if running(pid) && exe.is_some_and(|exe| exe == std::path::Path::new(BIN)) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}

/// The master's workers, once `count` of them have been forked.
fn wait_for_workers(master: u32, count: usize) -> Vec<u32> {
    let started = Instant::now();
    loop {
        let workers = children_of(master);
        if workers.len() >= count {
            return workers;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the master forked {workers:?}, not {count} workers"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn workers_of_a_killed_master_finish_their_requests_and_exit() {
    let server = start(&["--workers", "2", "workers:application"]);
    let workers = Orphans(wait_for_workers(server.pid(), 2));
    let addr = server.addr;
    let in_flight = thread::spawn(move || {
        let mut stream = connect(addr);
        stream
            .write_all(b"GET /sleep?1.5 HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        read_response(&mut stream, false)
    });
    thread::sleep(Duration::from_millis(300));
    // What the OOM killer or a crashed supervisor does: no chance to clean up.
    server.signal("KILL");
    let response = in_flight.join().unwrap();
    assert!(
        response.ends_with(b"slept\n"),
        "the request in flight is answered in full: {}",
        visible(&response)
    );
    assert!(
        all_gone_within(&workers.0, Duration::from_secs(5)),
        "the workers {:?} outlived their master",
        workers.0
    );
}

#[test]
fn workers_still_loading_the_app_when_the_master_dies_do_not_stay() {
    // Started by hand: the master says `Listening on` only once the app is
    // loaded, and this test kills it before that.
    let mut master = Command::new(BIN)
        .args([
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "2",
            "slow_import:application",
        ])
        .current_dir(testkit::apps_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let workers = Orphans(wait_for_workers(master.id(), 2));
    master.kill().unwrap();
    master.wait().unwrap();
    // The import takes 1.5 s; a worker that outlives it serves on.
    assert!(
        all_gone_within(&workers.0, Duration::from_secs(5)),
        "the workers {:?} outlived their master",
        workers.0
    );
}

#[test]
fn a_test_server_that_is_dropped_stops_with_its_workers() {
    let server = start(&["--workers", "2", "workers:application"]);
    let workers = Orphans(wait_for_workers(server.pid(), 2));
    drop(server);
    // Stopped as SIGTERM stops it, the master has collected its workers by
    // the time it exits; killed, it would leave them to notice on their own.
    let left: Vec<_> = workers.0.iter().filter(|&&pid| running(pid)).collect();
    assert!(left.is_empty(), "workers still running: {left:?}");
}

/// A client that asks for `/pid` `count` times on kept-alive connections,
/// opening a new one whenever the server says `Connection: close`, as
/// HTTP clients do; every answer must be a whole 200. The pids, in order.
fn pids_over_kept_connections(addr: std::net::SocketAddr, count: usize) -> Vec<String> {
    let mut pids = Vec::new();
    let mut stream = None;
    for attempt in 0..count {
        let conn = stream.get_or_insert_with(|| {
            let conn = connect(addr);
            conn.set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            conn
        });
        conn.write_all(b"GET /pid HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap_or_else(|e| panic!("request {attempt}: the send failed: {e}"));
        let response = read_response(conn, false);
        let text = String::from_utf8_lossy(&response).into_owned();
        assert!(
            text.starts_with("HTTP/1.1 200"),
            "request {attempt}: {}",
            visible(&response)
        );
        pids.push(text.rsplit("\r\n\r\n").next().unwrap().trim().to_string());
        if text
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n")
        {
            stream = None;
        }
    }
    pids
}

#[test]
fn max_requests_replaces_workers_while_clients_loop_without_an_error() {
    let server = start(&[
        "--workers",
        "2",
        "--max-requests",
        "5",
        "--no-access-log",
        "workers:application",
    ]);
    let addr = server.addr;
    let clients: Vec<_> = (0..3)
        .map(|_| thread::spawn(move || pids_over_kept_connections(addr, 30)))
        .collect();
    let mut served: std::collections::HashMap<String, usize> = Default::default();
    for client in clients {
        for pid in client.join().expect("a client saw an error") {
            *served.entry(pid).or_default() += 1;
        }
    }
    // A worker at its limit stops accepting (even a connection the same
    // wake-up reported), answers the request that reached it with
    // `Connection: close`, and the next request on each of its other
    // kept-alive connections (one per other client at most) too: 5 + 2
    // requests at most, so 90 requests need 13 workers or more.
    assert!(served.values().all(|&n| n <= 5 + 2), "{served:?}");
    assert!(served.len() >= 13, "{served:?}");
    server.wait_for_stderr(
        "finished (its --max-requests, or a SIGTERM of its own); starting a new one",
    );
    assert!(
        !server.stderr().contains("exited ("),
        "no worker died: {}",
        server.stderr()
    );
}

/// `/pid` on a connection of its own; a failure says which request, how
/// it failed, and what the server said, since it would be a request lost
/// while a worker was replaced.
fn pid_on_a_new_connection(server: &ServerProcess, attempt: usize) -> String {
    use std::io::Read;
    let exchanged = (|| -> std::io::Result<Vec<u8>> {
        let mut stream = std::net::TcpStream::connect(server.addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        stream.write_all(b"GET /pid HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        Ok(response)
    })();
    match exchanged {
        Ok(response) if status_of(&response) == Some(200) => String::from_utf8_lossy(&response)
            .rsplit("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
        other => panic!(
            "request {attempt}: {:?}\nserver:\n{}",
            other.map(|r| visible(&r)),
            server.stderr()
        ),
    }
}

#[test]
fn max_requests_jitter_spreads_the_limits() {
    let server = start(&[
        "--workers",
        "1",
        "--max-requests",
        "3",
        "--max-requests-jitter",
        "4",
        "--no-access-log",
        "workers:application",
    ]);
    // One worker, one request per connection: each worker answers a run
    // of requests, then the next one takes over.
    let pids: Vec<String> = (0..80)
        .map(|attempt| pid_on_a_new_connection(&server, attempt))
        .collect();
    let mut runs: Vec<usize> = Vec::new();
    for (index, pid) in pids.iter().enumerate() {
        if index > 0 && *pid == pids[index - 1] {
            *runs.last_mut().unwrap() += 1;
        } else {
            runs.push(1);
        }
    }
    runs.pop(); // the last worker has not reached its limit
    assert!(runs.len() >= 10, "{runs:?}");
    assert!(runs.iter().all(|n| (3..=7).contains(n)), "{runs:?}");
    // Without jitter every run would be 3. With it, all of them being 3
    // has a chance of (1/5)^10 at most: one in ten million runs.
    assert!(runs.iter().any(|&n| n != 3), "{runs:?}");
}

#[test]
fn max_requests_needs_worker_processes() {
    AssertCommand::new(BIN)
        .args(["--workers", "0", "--max-requests", "10"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--max-requests needs a master"));
}

#[test]
fn a_worker_stopped_from_outside_is_not_said_to_have_reached_max_requests() {
    // Without --max-requests, a worker that exits 0 was stopped by a
    // SIGTERM sent to it alone: the master must not claim a limit it never
    // had (it said "retired after its --max-requests").
    let server = start(&["--workers", "1", "workers:application"]);
    let pid = body_of(&server, "/pid");
    let stopped = Command::new("kill")
        .args(["-TERM", pid.trim()])
        .status()
        .unwrap();
    assert!(stopped.success());
    server.wait_for_stderr("starting a new one");
    assert!(
        server
            .stderr()
            .contains("finished (its --max-requests, or a SIGTERM of its own)"),
        "{}",
        server.stderr()
    );
    assert!(
        !server.stderr().contains("retired after"),
        "{}",
        server.stderr()
    );
}
