//! Many connections at once, and clients that do not keep up.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use testkit::{
    ServerProcess, check_environ_per_request, connect, read_response, status_of, visible,
};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_stage-06");

fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::start_in_apps(BIN, args)
}

fn get(stream: &mut TcpStream, path: &str) -> Vec<u8> {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
        .unwrap();
    read_response(stream, false)
}

#[test]
fn five_hundred_keep_alive_connections_all_answered() {
    let server = start(&["--workers", "0", "--no-access-log", "workers:application"]);
    // Open them all first: a server that served one connection at a time
    // would never get past the first while it stays open.
    let mut streams: Vec<TcpStream> = (0..500).map(|_| connect(server.addr)).collect();
    for round in 0..3 {
        for (i, stream) in streams.iter_mut().enumerate() {
            let body = format!("{i}-{round}");
            let request = format!(
                "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).unwrap();
        }
        for (i, stream) in streams.iter_mut().enumerate() {
            let response = read_response(stream, false);
            let expected = format!("{i}-{round}");
            assert!(
                response.ends_with(expected.as_bytes()),
                "connection {i}, round {round}: {}",
                visible(&response)
            );
        }
    }
}

#[test]
fn an_idle_connection_no_longer_holds_up_others() {
    // Stage-05's trap, gone: A holds an idle keep-alive connection, B is served.
    let server = start(&["--workers", "0", "workers:application"]);
    let mut a = connect(server.addr);
    assert_eq!(status_of(&get(&mut a, "/")), Some(200));
    let mut b = connect(server.addr);
    b.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert_eq!(status_of(&get(&mut b, "/")), Some(200), "B waited for A");
}

#[test]
fn a_client_that_sends_slowly_does_not_stall_others() {
    let server = start(&["--workers", "0", "workers:application"]);
    let mut slow = connect(server.addr);
    slow.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab")
        .unwrap();
    for _ in 0..20 {
        // Each is answered while the upload is still incomplete; a server
        // stuck in the slow client's read would time these out.
        let mut other = connect(server.addr);
        other
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(status_of(&get(&mut other, "/")), Some(200));
    }
    slow.write_all(b"cdefghij").unwrap();
    assert!(read_response(&mut slow, false).ends_with(b"abcdefghij"));
}

#[test]
fn a_client_that_does_not_read_does_not_stall_others_or_fill_memory() {
    let server = start(&["--workers", "0", "workers:application"]);
    // Ask for 256 MB and read none of it: the generator must be paused.
    let mut hog = connect(server.addr);
    hog.write_all(b"GET /stream?256 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(500));
    for _ in 0..20 {
        let mut other = connect(server.addr);
        other
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(status_of(&get(&mut other, "/")), Some(200));
    }
    // The hog can still read its response, in order, when it wants.
    let mut head = [0u8; 17];
    hog.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200 OK\r\n");
}

#[test]
fn each_request_on_a_connection_gets_an_environ_of_its_own() {
    let server = start(&["--workers", "0", "--no-access-log", "workers:application"]);
    check_environ_per_request(server.addr);
}

#[test]
fn connections_that_come_and_go_reuse_slots_without_crossing_wires() {
    // Each closed connection's slot (and poll token) goes to the next one:
    // a kept-alive connection must go on being answered, and each new one
    // must get its own answer, however often the slots are reused.
    let server = start(&["--workers", "0", "--no-access-log", "workers:application"]);
    let mut kept = connect(server.addr);
    for round in 0..300 {
        let mut passing = connect(server.addr);
        let body = format!("passing-{round}");
        let request = format!(
            "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        passing.write_all(request.as_bytes()).unwrap();
        let answer = testkit::read_to_close(&mut passing);
        assert!(
            answer.ends_with(body.as_bytes()),
            "round {round}: {}",
            visible(&answer)
        );
        if round % 10 == 0 {
            let answer = get(&mut kept, "/pid");
            assert_eq!(status_of(&answer), Some(200), "round {round}");
        }
    }
}

#[test]
fn a_large_unread_body_and_the_request_behind_it_are_answered_with_and_without_workers() {
    // The binary's side of the in-process test in loop_io.rs: the loop in
    // the process itself, and in worker processes under a master.
    for workers in ["0", "2"] {
        let server = start(&[
            "--workers",
            workers,
            "--no-access-log",
            "workers:application",
        ]);
        common::both_answered(server.addr, 5);
    }
}

#[test]
fn a_request_that_came_while_the_app_held_the_loop_is_not_taken_for_idleness() {
    // One worker, the app called on the loop (no threads), a keep-alive
    // time of one second. A connection is opened and waits; another's
    // request holds the loop for two seconds; the first sends its request
    // meanwhile. When the loop is free, the first's keep-alive time has
    // run out, but its request is in the socket: it is answered, not
    // closed as idle.
    let server = start(&["--workers", "0", "--keep-alive", "1", "workers:application"]);
    let mut waiting = connect(server.addr);
    thread::sleep(Duration::from_millis(200)); // accepted, and idle
    let mut busy = connect(server.addr);
    busy.write_all(b"GET /sleep?2 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(500)); // the app is sleeping
    let response = get(&mut waiting, "/");
    assert_eq!(status_of(&response), Some(200), "{}", visible(&response));
    let slept = read_response(&mut busy, false);
    assert_eq!(status_of(&slept), Some(200), "{}", visible(&slept));
}
