//! Reading a request body from the socket as the application asks for it.
//!
//! Stage-04 read the whole body before calling the app. Here the body
//! stays in the socket until `wsgi.input` is read, a piece at a time, so a
//! 1 GB upload never sits in memory; and whatever the app leaves unread is
//! drained afterwards, because the next request on the connection starts
//! right where this body ends.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use stage_02::read::{READ_CHUNK, read_more};
use stage_02::{BodyFraming, ReadError};

use crate::chunked::{ChunkError, ChunkLimits, ChunkedDecoder, Piece};

/// Why the body could not be read; each maps to a status.
#[derive(Debug)]
pub enum BodyError {
    /// Malformed chunked framing (400).
    Chunked(ChunkError),
    /// More body than the limit allows (413).
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The client stopped sending before the body's end (400).
    Incomplete,
    /// The client took longer than the timeout to send more (408).
    TimedOut,
    /// A socket error.
    Io(io::Error),
}

impl BodyError {
    /// The status this error earns, if a response can still be sent.
    pub fn status(&self) -> u16 {
        match self {
            BodyError::Chunked(_) | BodyError::Incomplete | BodyError::Io(_) => 400,
            BodyError::TooLarge { .. } => 413,
            BodyError::TimedOut => 408,
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Chunked(e) => write!(f, "malformed chunked body: {e}"),
            BodyError::TooLarge { limit } => {
                write!(f, "the request body is larger than {limit} bytes")
            }
            BodyError::Incomplete => write!(
                f,
                "the client closed the connection before the end of the body"
            ),
            BodyError::TimedOut => write!(f, "timed out waiting for the request body"),
            BodyError::Io(e) => write!(f, "error reading the request body: {e}"),
        }
    }
}

impl std::error::Error for BodyError {}

/// What the body reader needs from a connection: bytes in, bytes out (for
/// `100 Continue`), and a read timeout. A `TcpStream` in the server; bytes
/// in memory in the tests and the fuzz target.
pub trait Transport: Read + Write {
    /// Bounds the wait of the next `read`.
    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()>;
}

impl Transport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        TcpStream::set_read_timeout(self, Some(timeout))
    }
}

/// A connection replayed from memory: reads come from `input`, writes are
/// kept in `output`. Reads return at most `step` bytes, to exercise every
/// way a request can be split.
#[derive(Debug, Clone)]
pub struct Replay {
    input: Vec<u8>,
    at: usize,
    step: usize,
    /// Everything written to the connection (`100 Continue` lines).
    pub output: Vec<u8>,
}

impl Replay {
    /// A connection that will deliver `input`, `step` bytes per read.
    pub fn new(input: Vec<u8>, step: usize) -> Replay {
        Replay {
            input,
            at: 0,
            step: step.max(1),
            output: Vec::new(),
        }
    }
}

impl Read for Replay {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(out.len()).min(self.input.len() - self.at);
        out[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for Replay {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Replay {
    fn set_read_timeout(&mut self, _timeout: Duration) -> io::Result<()> {
        Ok(())
    }
}

/// Where the body stands.
#[derive(Debug)]
enum Remaining {
    /// This many bytes of a Content-Length body are still to come.
    Length(u64),
    /// A chunked body, part way through.
    Chunked(Box<ChunkedDecoder>),
    /// The body has been read to its end.
    Done,
}

/// `Expect: 100-continue` (RFC 9110, section 10.1.1): the client waits for
/// a `100 Continue` before sending the body, so that a server that will
/// refuse it anyway can say so first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continue {
    /// No expectation: the body is on its way.
    NotExpected,
    /// The client waits; send `100 Continue` when the app first reads.
    Pending,
    /// Sent: the body is on its way.
    Sent,
}

/// Limits and timeouts on reading bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// The largest body accepted (Content-Length or chunked).
    pub max_body: u64,
    /// Bounds on chunked framing.
    pub chunks: ChunkLimits,
    /// The longest wait for more body bytes.
    pub read_timeout: Duration,
}

// ANCHOR: body_reader
/// The body of one request, read from the connection on demand.
#[derive(Debug)]
pub struct BodyReader<T: Transport = TcpStream> {
    stream: T,
    /// Bytes received and not yet used: the start of the body, and maybe
    /// the start of the next request too.
    buf: Vec<u8>,
    remaining: Remaining,
    read_so_far: u64,
    limits: BodyLimits,
    expect: Continue,
    /// Set once the response head is on the wire: a `100 Continue` after
    /// the final status would be a protocol error.
    response_started: Arc<AtomicBool>,
    failed: bool,
}
// ANCHOR_END: body_reader

impl<T: Transport> BodyReader<T> {
    /// A reader for a body framed as `framing`, starting with the bytes
    /// already in `buf`.
    pub fn new(
        stream: T,
        buf: Vec<u8>,
        framing: BodyFraming,
        limits: BodyLimits,
        expect: Continue,
        response_started: Arc<AtomicBool>,
    ) -> Self {
        let remaining = match framing {
            BodyFraming::Empty | BodyFraming::Length(0) => Remaining::Done,
            BodyFraming::Length(n) => Remaining::Length(n),
            BodyFraming::Chunked => {
                Remaining::Chunked(Box::new(ChunkedDecoder::new(limits.chunks)))
            }
        };
        BodyReader {
            stream,
            buf,
            remaining,
            read_so_far: 0,
            limits,
            expect,
            response_started,
            failed: false,
        }
    }

    /// Whether the body has been read to its end.
    pub fn is_done(&self) -> bool {
        matches!(self.remaining, Remaining::Done)
    }

    /// Whether the client is still waiting for a `100 Continue` that was
    /// never sent: then it may never send the body at all.
    pub fn continue_unanswered(&self) -> bool {
        self.expect == Continue::Pending
    }

    // ANCHOR: read
    /// Up to `max` bytes of body; an empty result is the end of the body.
    pub fn read(&mut self, max: usize) -> Result<Vec<u8>, BodyError> {
        if self.failed {
            return Err(BodyError::Incomplete);
        }
        let result = self.read_inner(max);
        self.failed = result.is_err();
        result
    }

    fn read_inner(&mut self, max: usize) -> Result<Vec<u8>, BodyError> {
        loop {
            match &mut self.remaining {
                Remaining::Done => return Ok(Vec::new()),
                Remaining::Length(_) if self.buf.is_empty() => self.fill()?,
                Remaining::Length(left) => {
                    let take = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(max)
                        .min(self.buf.len());
                    *left -= take as u64;
                    if *left == 0 {
                        self.remaining = Remaining::Done;
                    }
                    return self.deliver(take);
                }
                Remaining::Chunked(decoder) => {
                    let (used, piece) =
                        decoder.decode(&self.buf, max).map_err(BodyError::Chunked)?;
                    match piece {
                        Piece::NeedMore => self.fill()?,
                        Piece::Framing => {
                            self.buf.drain(..used);
                        }
                        Piece::Data(range) => {
                            debug_assert_eq!(range, 0..used);
                            return self.deliver(used);
                        }
                        Piece::End => {
                            self.buf.drain(..used);
                            self.remaining = Remaining::Done;
                            return Ok(Vec::new());
                        }
                    }
                }
            }
        }
    }
    // ANCHOR_END: read

    /// Hands out the first `n` bytes of the buffer as body, counting them
    /// against the body limit (which matters for chunked bodies, whose
    /// length nobody announced).
    fn deliver(&mut self, n: usize) -> Result<Vec<u8>, BodyError> {
        self.read_so_far += n as u64;
        if self.read_so_far > self.limits.max_body {
            return Err(BodyError::TooLarge {
                limit: self.limits.max_body,
            });
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads more bytes from the socket, sending `100 Continue` first if
    /// the client is waiting for it.
    fn fill(&mut self) -> Result<(), BodyError> {
        if self.expect == Continue::Pending && !self.response_started.load(Ordering::SeqCst) {
            self.stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .map_err(BodyError::Io)?;
            self.expect = Continue::Sent;
        }
        self.stream
            .set_read_timeout(self.limits.read_timeout)
            .map_err(BodyError::Io)?;
        match read_more(&mut self.stream, &mut self.buf) {
            Ok(0) => Err(BodyError::Incomplete),
            Ok(_) => Ok(()),
            Err(ReadError::TimedOut) => Err(BodyError::TimedOut),
            Err(ReadError::Io(e)) => Err(BodyError::Io(e)),
            Err(other) => Err(BodyError::Io(io::Error::other(other.to_string()))),
        }
    }

    // ANCHOR: drain
    /// Reads and discards what the app left of the body, so that the next
    /// request starts where it should. Gives up (and the connection must
    /// close) past `max_drain` bytes or `deadline`, on any error, or when
    /// the client still waits for a `100 Continue` and so may never send
    /// the body at all.
    pub fn drain(&mut self, max_drain: u64, deadline: Instant) -> bool {
        if self.is_done() && !self.failed {
            return true; // The common case: the app read it all.
        }
        // ANCHOR: ex-05.4-drain
        if self.failed || self.continue_unanswered() {
            return self.is_done() && !self.failed;
        }
        let mut drained = 0u64;
        while !self.is_done() {
            if drained > max_drain || Instant::now() > deadline {
                return false;
            }
            match self.read(READ_CHUNK) {
                Ok(piece) => drained += piece.len() as u64,
                Err(_) => return false,
            }
        }
        true
        // ANCHOR_END: ex-05.4-drain
    }
    // ANCHOR_END: drain

    /// Takes the bytes received after the body, the start of the next
    /// request, and closes this reader: an app that kept `wsgi.input`
    /// around cannot read into the next request.
    pub fn take_leftover(&mut self) -> Vec<u8> {
        self.failed = true;
        std::mem::take(&mut self.buf)
    }

    /// The connection, back from the reader (in-memory replays).
    pub fn into_transport(self) -> T {
        self.stream
    }
}

/* workshop exercise
id: 05.4-drain
title: Drain the body the app did not read
kind: implement
book: ch05-keep-alive.html#what-the-app-did-not-read
tests: an_unread_body_is_drained_before_the_next_request a_body_too_large_to_drain_closes_the_connection
hint: Keep calling self.read(READ_CHUNK) until self.is_done(), counting what you throw away.
hint: Give up (return false, the connection will close) past max_drain bytes, after the deadline, or on any error.
hint: A reader that failed, or a client still waiting for 100 Continue, cannot be drained: the body may never come.
starter:
        let _ = (max_drain, deadline, READ_CHUNK);
        todo!("exercise 05.4: read and discard until the body's end, within the bounds")
*/
