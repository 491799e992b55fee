//! A connection's reads, writes and waits, without a socket: a stand-in
//! stream that gives its bytes a piece at a time and takes only so many,
//! and a clock the test moves by hand.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use stage_02::Limits;
use stage_04::environ::ConnectionInfo;
use stage_05::chunked::ChunkLimits;
use stage_06::Timeouts;
use stage_06::connection::{Connection, Expired};
use stage_06::incoming::Progress;

/// A socket stand-in. Each read gives at most the next piece of
/// `incoming`, then `WouldBlock` (or end of file once `closed`); writes
/// take at most `room` bytes in all, then `WouldBlock`.
#[derive(Default)]
struct Stand {
    incoming: VecDeque<Vec<u8>>,
    closed: bool,
    written: Vec<u8>,
    room: usize,
}

impl Read for Stand {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let Some(mut piece) = self.incoming.pop_front() else {
            return if self.closed {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        };
        let n = piece.len().min(out.len());
        out[..n].copy_from_slice(&piece[..n]);
        if n < piece.len() {
            self.incoming.push_front(piece.split_off(n));
        }
        Ok(n)
    }
}

impl Write for Stand {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = bytes.len().min(self.room);
        self.room -= n;
        self.written.extend_from_slice(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const TIMEOUTS: Timeouts = Timeouts {
    keep_alive: Duration::from_secs(1),
    header: Duration::from_secs(2),
    io: Duration::from_secs(3),
    linger: Duration::from_secs(4),
};

fn connection(stand: Stand, now: Instant) -> Connection<Stand> {
    let info = ConnectionInfo {
        local: "127.0.0.1:8000".parse().unwrap(),
        peer: "127.0.0.1:50000".parse().unwrap(),
    };
    Connection::new(stand, info, TIMEOUTS, now)
}

fn stand_with(pieces: &[&[u8]]) -> Stand {
    Stand {
        incoming: pieces.iter().map(|p| p.to_vec()).collect(),
        ..Stand::default()
    }
}

#[test]
fn a_read_pass_stopped_by_a_full_buffer_is_not_taken_for_an_empty_socket() {
    // 40 bytes waiting, read 8 at a time, into a buffer capped at 16.
    let mut conn = connection(stand_with(&[&[b'x'; 40]]), Instant::now());
    let mut scratch = [0u8; 8];
    assert_eq!(conn.read_available(16, &mut scratch), Some(16));
    assert!(!conn.drained(), "the socket still holds 24 bytes");
    // The parser takes them; the next pass must read on, unprompted:
    // no new readiness event will come for bytes already there.
    conn.input.consume(16);
    assert_eq!(conn.read_available(16, &mut scratch), Some(16));
    conn.input.consume(16);
    assert_eq!(conn.read_available(16, &mut scratch), Some(8));
    assert!(conn.drained(), "a read that would block empties the socket");
    assert_eq!(conn.read_available(16, &mut scratch), Some(0));
}

#[test]
fn a_short_read_empties_the_socket_and_end_of_file_closes_it() {
    let mut stand = stand_with(&[b"GET"]);
    stand.closed = true;
    let mut conn = connection(stand, Instant::now());
    let mut scratch = [0u8; 8];
    assert_eq!(conn.read_available(100, &mut scratch), Some(3));
    assert!(
        conn.drained() && !conn.peer_closed,
        "3 of 8: nothing more now"
    );
    conn.may_have_input(); // what a new readiness event does
    assert_eq!(conn.read_available(100, &mut scratch), Some(0));
    assert!(conn.peer_closed);
}

#[test]
fn a_write_the_socket_takes_in_part_leaves_the_rest_for_later() {
    let stand = Stand {
        room: 5,
        ..Stand::default()
    };
    let mut conn = connection(stand, Instant::now());
    conn.output().extend_from_slice(b"HTTP/1.1 200 OK");
    assert_eq!(conn.flush(Instant::now()), Some(5));
    assert_eq!(conn.pending_output(), 10);
    assert_eq!(
        conn.flush(Instant::now()),
        Some(0),
        "a full socket takes nothing"
    );
    conn.stream.room = 100; // the client read some
    assert_eq!(conn.flush(Instant::now()), Some(10));
    assert_eq!(conn.stream.written, b"HTTP/1.1 200 OK");
}

#[test]
fn each_wait_gives_up_after_its_own_timeout() {
    let t0 = Instant::now();
    let second = Duration::from_secs(1);
    let (limits, chunks) = (Limits::default(), ChunkLimits::default());
    let mut conn = connection(Stand::default(), t0);

    // A new connection waits keep_alive for its first request.
    assert_eq!(conn.deadline(), t0 + TIMEOUTS.keep_alive);
    assert_eq!(conn.expired(t0), None);
    assert_eq!(conn.expired(t0 + TIMEOUTS.keep_alive), Some(Expired::Idle));

    // The first byte of a head starts the header timeout.
    let t1 = t0 + second;
    conn.input
        .extend_from_slice(b"POST / HTTP/1.1\r\nHost: t\r\n");
    assert!(matches!(conn.parse(&limits, chunks, t1), Progress::Waiting));
    assert_eq!(conn.deadline(), t1 + TIMEOUTS.header);
    assert_eq!(conn.expired(t1 + TIMEOUTS.header), Some(Expired::Request));

    // More of the same head does not restart it.
    conn.input.extend_from_slice(b"Content-Length: 5\r\n");
    assert!(matches!(
        conn.parse(&limits, chunks, t1 + second),
        Progress::Waiting
    ));
    assert_eq!(conn.deadline(), t1 + TIMEOUTS.header);

    // The head is in: a 100 Continue goes out, and the body has the I/O
    // timeout, for a client that stalls between pieces.
    let t2 = t1 + 2 * second;
    conn.input
        .extend_from_slice(b"Expect: 100-continue\r\n\r\nab");
    assert!(matches!(conn.parse(&limits, chunks, t2), Progress::Waiting));
    assert_eq!(conn.output().as_slice(), b"HTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(conn.deadline(), t2 + TIMEOUTS.io);
    assert_eq!(conn.expired(t2 + TIMEOUTS.io), Some(Expired::Request));
    conn.input.extend_from_slice(b"cde");
    match conn.parse(&limits, chunks, t2) {
        Progress::Complete(request, body) => {
            assert_eq!((request.target.as_str(), &body[..]), ("/", &b"abcde"[..]));
        }
        _ => panic!("the request is complete"),
    }

    // After a response: kept for the next request, or closed after the
    // output, with a linger for the client to close too.
    let t3 = t2 + second;
    conn.output().clear(); // the 100 Continue went out
    conn.keep_for_next_request(t3);
    assert_eq!(conn.deadline(), t3 + TIMEOUTS.keep_alive);
    assert_eq!(conn.expired(t3 + TIMEOUTS.keep_alive), Some(Expired::Idle));
    conn.close_after_output(t3);
    assert_eq!(conn.deadline(), t3 + TIMEOUTS.io);
    assert_eq!(conn.expired(t3 + TIMEOUTS.io), Some(Expired::Closing));
    conn.write_side_shut(t3);
    assert_eq!(conn.deadline(), t3 + TIMEOUTS.linger);

    // A reader that does not keep up gets the I/O timeout.
    conn.wait_for_reader(t3);
    assert_eq!(conn.deadline(), t3 + TIMEOUTS.io);
}

#[test]
fn a_client_that_stalls_mid_head_gets_only_the_linger_time_for_its_408() {
    let t0 = Instant::now();
    let mut conn = connection(Stand::default(), t0);
    conn.input.extend_from_slice(b"GET / HT");
    let _ = conn.parse(&Limits::default(), ChunkLimits::default(), t0);
    let late = t0 + TIMEOUTS.header;
    assert_eq!(conn.expired(late), Some(Expired::Request));
    conn.give_up_after_output(late);
    assert_eq!(conn.deadline(), late + TIMEOUTS.linger);
    assert_eq!(conn.expired(late + TIMEOUTS.linger), Some(Expired::Closing));
}

#[test]
fn a_connection_is_not_idle_while_its_last_response_is_still_going_out() {
    // A client reading slowly: the socket takes nothing for now.
    let t0 = Instant::now();
    let mut conn = connection(Stand::default(), t0);
    conn.output().extend_from_slice(b"the tail of a response");
    conn.keep_for_next_request(t0);
    assert!(!conn.is_idle());
    assert_eq!(conn.expired(t0 + TIMEOUTS.keep_alive), None);
    assert_eq!(conn.deadline(), t0 + TIMEOUTS.io);
    // The client reads some: its wait starts again.
    let t1 = t0 + Duration::from_secs(1);
    conn.stream.room = 4;
    assert_eq!(conn.flush(t1), Some(4));
    assert_eq!(conn.deadline(), t1 + TIMEOUTS.io);
    // All of it is out: now the keep-alive time runs.
    let t2 = t1 + Duration::from_secs(1);
    conn.stream.room = 100;
    assert_eq!(conn.flush(t2), Some(18));
    assert!(conn.is_idle());
    assert_eq!(conn.deadline(), t2 + TIMEOUTS.keep_alive);
    assert_eq!(conn.expired(t2 + TIMEOUTS.keep_alive), Some(Expired::Idle));
}

#[test]
fn a_client_that_stops_sending_still_gets_what_is_in_the_output() {
    let t0 = Instant::now();
    let mut conn = connection(Stand::default(), t0);
    conn.peer_closed = true;
    assert!(conn.input_ended(t0), "nothing to send: done with");
    let mut conn = connection(Stand::default(), t0);
    conn.output().extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    conn.peer_closed = true;
    assert!(!conn.input_ended(t0), "the output goes out first");
    assert_eq!(conn.expired(t0 + TIMEOUTS.io), Some(Expired::Closing));
}

#[test]
fn a_body_that_keeps_coming_keeps_its_wait_alive() {
    let t0 = Instant::now();
    let (limits, chunks) = (Limits::default(), ChunkLimits::default());
    let mut conn = connection(Stand::default(), t0);
    conn.input
        .extend_from_slice(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab");
    let _ = conn.parse(&limits, chunks, t0);
    assert_eq!(conn.deadline(), t0 + TIMEOUTS.io);
    let t1 = t0 + Duration::from_secs(2);
    conn.input.extend_from_slice(b"c");
    let _ = conn.parse(&limits, chunks, t1);
    assert_eq!(
        conn.deadline(),
        t1 + TIMEOUTS.io,
        "a byte of body is progress"
    );
}

#[test]
fn an_unsupported_expectation_is_refused_as_soon_as_the_head_is_in() {
    let t0 = Instant::now();
    let mut conn = connection(Stand::default(), t0);
    conn.input.extend_from_slice(
        b"POST / HTTP/1.1\r\nHost: t\r\nExpect: a-miracle\r\nContent-Length: 5\r\n\r\n",
    );
    match conn.parse(&Limits::default(), ChunkLimits::default(), t0) {
        Progress::Refuse(why, Some(request)) => {
            assert_eq!((why.status(), request.target.as_str()), (417, "/"));
        }
        _ => panic!("refused at once, with the request for the log"),
    }
}
