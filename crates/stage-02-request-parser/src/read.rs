//! Reading one request from a byte stream that arrives in pieces.
//!
//! TCP delivers a stream, not messages: one `read` may return half a
//! request line, or a request and a half. The loop below keeps reading
//! until the head is complete, then reads exactly `Content-Length` bytes
//! of body. Whatever arrived after that stays in the buffer: it belongs to
//! whatever the client sends next.

use std::fmt;
use std::io::{self, Read};

use crate::error::ParseError;
use crate::limits::Limits;
use crate::parse::{Parsed, parse_request};
use crate::request::{BodyFraming, Request};

/// How much to ask the socket for at a time: 16 KiB takes most request
/// heads, with a small body, in one read.
pub const READ_CHUNK: usize = 16 * 1024;

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The bytes are not an acceptable request; answer with its status.
    Parse(ParseError),
    /// The peer closed the connection in the middle of a request.
    Incomplete {
        /// How many bytes of the unfinished part (the head, or the body)
        /// had arrived.
        received: usize,
    },
    /// The socket's read timeout passed before the request was complete.
    TimedOut,
    /// Any other I/O error; the connection is unusable.
    Io(io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Parse(e) => e.fmt(f),
            ReadError::Incomplete { received } => write!(
                f,
                "the connection closed after {received} bytes, in the middle of a request"
            ),
            ReadError::TimedOut => write!(f, "timed out waiting for the rest of the request"),
            ReadError::Io(e) => write!(f, "I/O error while reading the request: {e}"),
        }
    }
}

impl std::error::Error for ReadError {}

impl ReadError {
    /// The status to answer with, when there is still someone to answer:
    /// not after the client closed or the connection broke.
    pub fn status(&self) -> Option<u16> {
        match self {
            ReadError::Parse(error) => Some(error.status().0),
            ReadError::TimedOut => Some(408),
            ReadError::Incomplete { .. } | ReadError::Io(_) => None,
        }
    }
}

impl From<ParseError> for ReadError {
    fn from(e: ParseError) -> Self {
        ReadError::Parse(e)
    }
}

// ANCHOR: read_request
/// Reads one request, head and body, from `reader`.
///
/// `buf` holds bytes already received and not yet used; on return it holds
/// whatever arrived after this request. `Ok(None)` means the peer closed
/// the connection cleanly before sending a single byte.
pub fn read_request<R: Read>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limits: &Limits,
) -> Result<Option<(Request, Vec<u8>)>, ReadError> {
    // 1. The head.
    let Some(request) = read_head(reader, buf, limits)? else {
        return Ok(None);
    };
    // 2. The body: exactly Content-Length bytes, no more. The limit was
    // checked by the parser, so this cannot grow past max_body_bytes.
    let body_len = match request.framing {
        BodyFraming::Empty => 0,
        BodyFraming::Length(n) => n as usize,
        BodyFraming::Chunked => {
            return Err(ParseError::TransferEncodingNotImplemented("chunked".into()).into());
        }
    };
    while buf.len() < body_len {
        if read_more(reader, buf)? == 0 {
            return Err(ReadError::Incomplete {
                received: buf.len(),
            });
        }
    }
    let rest = buf.split_off(body_len);
    let body = std::mem::replace(buf, rest);
    Ok(Some((request, body)))
}
// ANCHOR_END: read_request

// ANCHOR: read_head
/// Reads until `buf` holds a complete head, parses it, and removes it from
/// `buf`, leaving any body bytes that came with it.
pub fn read_head<R: Read>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limits: &Limits,
) -> Result<Option<Request>, ReadError> {
    loop {
        if !buf.is_empty() {
            if let Parsed::Complete { request, head_len } = parse_request(buf, limits)? {
                buf.drain(..head_len);
                return Ok(Some(request));
            }
        }
        if read_more(reader, buf)? == 0 {
            return match buf.len() {
                0 => Ok(None),
                received => Err(ReadError::Incomplete { received }),
            };
        }
    }
}
// ANCHOR_END: read_head

/// Appends what one `read` returns to `buf`; 0 means end of stream.
pub fn read_more<R: Read>(reader: &mut R, buf: &mut Vec<u8>) -> Result<usize, ReadError> {
    let mut chunk = [0u8; READ_CHUNK];
    loop {
        match reader.read(&mut chunk) {
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A socket read timeout shows up as WouldBlock on Unix.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(ReadError::TimedOut);
            }
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
}
