//! One client connection in the event loop: its buffers, and where it
//! stands in the life of a request.
//!
//! Nothing here blocks. Bytes go into `input` when the socket has some;
//! the request is parsed from `input` as far as it goes (stage-02's parser,
//! stage-05's chunked decoder); the response collects in `output` and goes
//! out when the socket can take it.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use mio::net::TcpStream;
use pyo3::prelude::*;
use stage_02::parse::fast;
use stage_02::{BodyFraming, Limits, ParseError, Parsed, Request};
use stage_04::environ::ConnectionInfo;
use stage_04::environ::cache::ConnectionEnviron;
use stage_04::{InProgress, Responder};
use stage_05::chunked::{ChunkLimits, ChunkedDecoder, Piece};

/// Bytes read from a socket at a time.
pub const READ_CHUNK: usize = 16 * 1024;

/// Where a connection stands.
pub enum Phase {
    /// Waiting for (the rest of) a request head.
    Head,
    /// The head is in; the body is arriving.
    Body {
        /// The request head.
        request: Request,
        /// The body so far.
        body: Vec<u8>,
        /// How the rest is framed.
        remaining: Remaining,
        /// The client's `Expect` has been answered (or there was none).
        expectation_handled: bool,
    },
    /// The app has been called; its response is being produced and sent.
    Responding {
        /// The request being answered.
        request: Request,
        /// The object behind start_response and write.
        responder: Py<Responder>,
        /// The rest of the app's body, when it has more to give.
        progress: Option<InProgress>,
        /// Whether the connection may carry another request after this one.
        keep_open: bool,
    },
    /// Sending what is left, then closing: gracefully, or with a reset.
    Closing {
        /// Close with a reset (the response was cut short).
        abort: bool,
        /// The write side is already shut down; waiting for the client.
        shut: bool,
    },
}

/// What is left of a body.
pub enum Remaining {
    /// This many bytes of a Content-Length body.
    Length(u64),
    /// A chunked body, decoded as it arrives.
    Chunked(Box<ChunkedDecoder>),
}

/// What the parser made of the input so far.
pub enum Progress {
    /// Nothing more can be done until more bytes arrive.
    Waiting,
    /// A request is complete, head and body.
    Complete(Request, Vec<u8>),
    /// The request is refused with this status and message.
    Refuse(u16, String),
}

/// One client connection.
pub struct Connection {
    /// The socket, non-blocking.
    pub stream: TcpStream,
    /// Its two addresses.
    pub info: ConnectionInfo,
    /// What every `environ` on this connection starts with; made at its
    /// first request, as it needs the GIL.
    pub environ: Option<ConnectionEnviron>,
    /// Bytes received and not yet used.
    pub input: Vec<u8>,
    /// The response bytes waiting to go out, shared with the responder.
    pub output: Arc<Mutex<Vec<u8>>>,
    /// Where the connection stands.
    pub phase: Phase,
    /// When the current wait (for a head, a body, the client to read or
    /// to close) gives up.
    pub deadline: Instant,
    /// The client has closed its side: no more input will come.
    pub peer_closed: bool,
    /// The first byte of the current head arrived (the header timeout runs).
    pub head_started: bool,
    /// The socket had nothing more to read when last asked (a read came
    /// back short, or would have blocked); reset when the poll reports it
    /// readable again. Until then, the socket may hold more: a read pass
    /// that stopped because `input` was full must be taken up again as
    /// soon as there is room, as no new event will say so.
    pub drained: bool,
}

impl Connection {
    /// A new connection, waiting for its first request until `deadline`.
    pub fn new(stream: TcpStream, info: ConnectionInfo, deadline: Instant) -> Connection {
        Connection {
            stream,
            info,
            environ: None,
            input: Vec::new(),
            output: Arc::new(Mutex::new(Vec::new())),
            phase: Phase::Head,
            deadline,
            peer_closed: false,
            head_started: false,
            drained: false,
        }
    }

    /// The output buffer.
    pub fn output(&self) -> MutexGuard<'_, Vec<u8>> {
        self.output
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many response bytes wait to go out.
    pub fn pending_output(&self) -> usize {
        self.output().len()
    }

    // ANCHOR: read_available
    /// Reads what the socket has, up to `cap` bytes buffered: a client
    /// cannot make the server hold more than that of its input. `scratch`
    /// is the loop's read buffer, reused rather than zeroed for every read.
    /// Returns how many bytes were read, or `None` when the connection is
    /// broken.
    ///
    /// Edge-triggered readiness (mio, epoll's `EPOLLET`) is reported once:
    /// the next event comes only after the socket has been emptied. So the
    /// loop reads until it is, and when it stops early because `input` is
    /// full, `drained` stays false for the next pass. Emptied means a read
    /// that would block, or a short read: epoll(7) notes that on a stream
    /// socket a read returning less than asked has exhausted it, which
    /// saves a system call per request.
    pub fn read_available(&mut self, cap: usize, scratch: &mut [u8]) -> Option<usize> {
        let mut total = 0;
        while !self.peer_closed && !self.drained && self.input.len() < cap {
            match self.stream.read(scratch) {
                Ok(0) => self.peer_closed = true,
                Ok(n) => {
                    self.input.extend_from_slice(&scratch[..n]);
                    total += n;
                    self.drained = n < scratch.len();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.drained = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return None,
            }
        }
        Some(total)
    }
    // ANCHOR_END: read_available

    // ANCHOR: flush
    /// Writes as much of the output as the socket takes now. Returns how
    /// many bytes went out, or `None` when the connection is broken.
    pub fn flush(&mut self) -> Option<usize> {
        let output = Arc::clone(&self.output);
        let mut output = output
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut total = 0;
        while !output.is_empty() {
            match self.stream.write(&output) {
                Ok(0) => return None,
                Ok(n) => {
                    output.drain(..n);
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return None,
            }
        }
        Some(total)
    }
    // ANCHOR_END: flush
}

// ANCHOR: parse_input
/// Takes a head, then a body, out of `input` as far as the bytes go: the
/// same checks as stage-05, without waiting for anything.
pub fn parse_input(
    phase: &mut Phase,
    input: &mut Vec<u8>,
    limits: &Limits,
    chunks: ChunkLimits,
) -> Progress {
    loop {
        match phase {
            // Chapter 2's parser, in the variant that leaves its header
            // slots uninitialised (the performance appendix says why).
            Phase::Head => match fast::parse_request(input, limits) {
                Ok(Parsed::Partial) => return Progress::Waiting,
                Err(error) => return refuse(&error),
                Ok(Parsed::Complete { request, head_len }) => {
                    input.drain(..head_len);
                    let remaining = match request.body {
                        BodyFraming::Empty | BodyFraming::Length(0) => {
                            return Progress::Complete(request, Vec::new());
                        }
                        BodyFraming::Length(n) => Remaining::Length(n),
                        BodyFraming::Chunked => {
                            Remaining::Chunked(Box::new(ChunkedDecoder::new(chunks)))
                        }
                    };
                    *phase = Phase::Body {
                        request,
                        body: Vec::new(),
                        remaining,
                        expectation_handled: false,
                    };
                }
            },
            Phase::Body {
                body, remaining, ..
            } => {
                let done = match remaining {
                    Remaining::Length(left) => {
                        // ANCHOR: ex-06.1-body-as-it-comes
                        let take = usize::try_from(*left)
                            .unwrap_or(usize::MAX)
                            .min(input.len());
                        body.extend(input.drain(..take));
                        *left -= take as u64;
                        *left == 0
                        // ANCHOR_END: ex-06.1-body-as-it-comes
                    }
                    Remaining::Chunked(decoder) => loop {
                        match decoder.decode(input, usize::MAX) {
                            Err(e) => {
                                return Progress::Refuse(
                                    400,
                                    format!("malformed chunked body: {e}\n"),
                                );
                            }
                            Ok((_, Piece::NeedMore)) => break false,
                            Ok((used, Piece::Data(range))) => {
                                body.extend_from_slice(&input[range]);
                                input.drain(..used);
                            }
                            Ok((used, Piece::Framing)) => drop(input.drain(..used)),
                            Ok((used, Piece::End)) => {
                                input.drain(..used);
                                break true;
                            }
                        }
                        // A chunked body's length was never announced: count it.
                        if body.len() as u64 > limits.max_body_bytes {
                            return refuse(&ParseError::BodyTooLarge {
                                limit: limits.max_body_bytes,
                            });
                        }
                    },
                };
                if !done {
                    return Progress::Waiting;
                }
                let Phase::Body { request, body, .. } = std::mem::replace(phase, Phase::Head)
                else {
                    unreachable!("matched Phase::Body above")
                };
                return Progress::Complete(request, body);
            }
            Phase::Responding { .. } | Phase::Closing { .. } => return Progress::Waiting,
        }
    }
}
// ANCHOR_END: parse_input

fn refuse(error: &ParseError) -> Progress {
    Progress::Refuse(error.status().0, format!("{error}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` one at a time, as a slow network would, and collects
    /// every request completed (or refusal) on the way.
    fn feed(bytes: &[u8], limits: &Limits) -> Vec<Result<(String, Vec<u8>), u16>> {
        let (mut phase, mut input, mut seen) = (Phase::Head, Vec::new(), Vec::new());
        for &byte in bytes {
            input.push(byte);
            loop {
                match parse_input(&mut phase, &mut input, limits, ChunkLimits::default()) {
                    Progress::Waiting => break,
                    Progress::Complete(request, body) => {
                        seen.push(Ok((request.target, body)));
                        phase = Phase::Head;
                    }
                    Progress::Refuse(code, _) => return [seen, vec![Err(code)]].concat(),
                }
            }
        }
        seen
    }

    #[test]
    fn pipelined_requests_come_out_in_order_whatever_the_pieces() {
        let bytes = b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc\
POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1;x\r\nf\r\n0\r\n\r\n\
GET /c HTTP/1.1\r\nHost: t\r\n\r\n";
        let seen = feed(bytes, &Limits::default());
        let expected: Vec<Result<(String, Vec<u8>), u16>> = vec![
            Ok(("/a".into(), b"abc".to_vec())),
            Ok(("/b".into(), b"def".to_vec())),
            Ok(("/c".into(), Vec::new())),
        ];
        assert_eq!(seen, expected);
    }

    #[test]
    fn malformed_and_oversized_requests_are_refused() {
        assert_eq!(
            feed(b"GET / HTTP/1.1\nHost: t\n\n", &Limits::default()),
            vec![Err(400)]
        );
        let chunk = b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(feed(chunk, &Limits::default()), vec![Err(400)]);
        let small = Limits {
            max_body_bytes: 4,
            ..Limits::default()
        };
        let big_chunked = b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        assert_eq!(feed(big_chunked, &small), vec![Err(413)]);
        let big_length = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(feed(big_length, &small), vec![Err(413)]);
    }
}

/* workshop exercise
id: 06.1-body-as-it-comes
title: Take a body out of the input as it arrives
kind: implement
book: ch06-event-loop.html#parsing-without-waiting
tests: pipelined_requests_come_out_in_order_whatever_the_pieces
hint: `left` bytes of body are still to come; `input` holds what has arrived (maybe less, maybe the next request too).
hint: Move at most `left` bytes from the front of `input` to `body`, count them off, and say whether the body is now complete.
starter:
                        let _ = (&left, &body);
                        todo!("exercise 06.1: move up to `left` bytes from input to body; true once complete")
*/
