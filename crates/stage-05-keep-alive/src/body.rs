//! Reading a request body from the socket as the application asks for it.
//!
//! Stage-04 read the whole body before calling the app. Here the body
//! stays in the socket until `wsgi.input` is read, a piece at a time, so a
//! 1 GB upload never sits in memory; and whatever the app leaves unread is
//! drained afterwards, because the next request on the connection starts
//! right where this body ends.
//!
//! What the bytes mean is the body decoder's to say ([`crate::decode`]);
//! the reader here only waits for them.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use stage_02::ReadError;
use stage_02::read::{READ_CHUNK, read_more};

use crate::decode::{BodyDecoder, DecodeError, Decoded};

/// Why the body could not be read; each maps to a status.
#[derive(Debug)]
pub enum BodyError {
    /// The decoder refused the body: malformed chunked framing (400), or
    /// more than the limit (413).
    Decode(DecodeError),
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
            BodyError::Decode(e) => e.status(),
            BodyError::Incomplete | BodyError::Io(_) => 400,
            BodyError::TimedOut => 408,
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Decode(e) => e.fmt(f),
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

// ANCHOR: body_reader
/// The body of one request, read from the connection on demand: blocking
/// reads into a buffer, and the decoder to say what the bytes are.
#[derive(Debug)]
pub struct BodyReader<T: Transport = TcpStream> {
    stream: T,
    /// Bytes received and not yet used: the start of the body, and maybe
    /// the start of the next request too.
    buf: Vec<u8>,
    decoder: BodyDecoder,
    /// The longest wait for more body bytes.
    read_timeout: Duration,
    /// Set once the response head is on the wire: a `100 Continue` after
    /// the final status would be a protocol error.
    response_started: Arc<AtomicBool>,
    failed: bool,
}
// ANCHOR_END: body_reader

impl<T: Transport> BodyReader<T> {
    /// A reader for the body `decoder` decodes, starting with the bytes
    /// already in `buf`, waiting at most `read_timeout` for each read.
    pub fn new(
        stream: T,
        buf: Vec<u8>,
        decoder: BodyDecoder,
        read_timeout: Duration,
        response_started: Arc<AtomicBool>,
    ) -> Self {
        BodyReader {
            stream,
            buf,
            decoder,
            read_timeout,
            response_started,
            failed: false,
        }
    }

    /// Whether the body has been read to its end.
    pub fn is_done(&self) -> bool {
        self.decoder.is_done()
    }

    /// Whether the client is still waiting for a `100 Continue` that was
    /// never sent: then it may never send the body at all.
    pub fn continue_unanswered(&self) -> bool {
        self.decoder.continue_awaited()
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
            let (used, piece) = self
                .decoder
                .decode(&self.buf, max)
                .map_err(BodyError::Decode)?;
            let data = match &piece {
                Decoded::Data(range) => self.buf[range.clone()].to_vec(),
                Decoded::NeedMore | Decoded::End => Vec::new(),
            };
            self.buf.drain(..used);
            match piece {
                Decoded::NeedMore => self.fill()?,
                Decoded::Data(_) | Decoded::End => return Ok(data),
            }
        }
    }
    // ANCHOR_END: read

    /// Reads more bytes from the socket, sending `100 Continue` first if
    /// the client is waiting for it.
    fn fill(&mut self) -> Result<(), BodyError> {
        if !self.response_started.load(Ordering::SeqCst) && self.decoder.send_continue() {
            self.stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .map_err(BodyError::Io)?;
        }
        self.stream
            .set_read_timeout(self.read_timeout)
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
