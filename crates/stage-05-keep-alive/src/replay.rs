//! The server's connection reader run over bytes in memory: the same head
//! parser, body reader and body decoder, without sockets or Python.
//! Property tests and the fuzz target drive it with arbitrary input.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use stage_02::{Limits, ReadError, Request, read_head};

use crate::body::{BodyError, BodyReader, Replay};
use crate::chunked::ChunkLimits;
use crate::decode::BodyDecoder;

/// What the reader made of one request on the connection.
#[derive(Debug)]
pub enum Replayed {
    /// A request and its whole body.
    Request(Request, Vec<u8>),
    /// The head was refused with this status.
    BadHead(u16),
    /// The body was refused.
    BadBody(Request, BodyError),
}

/// Reads every request in `input`, delivered `step` bytes per read, as a
/// connection would, until the input ends or a request is refused.
pub fn replay(input: &[u8], step: usize, limits: &Limits) -> Vec<Replayed> {
    let mut connection = Replay::new(input.to_vec(), step);
    let mut buf = Vec::new();
    let mut seen = Vec::new();
    loop {
        let request = match read_head(&mut connection, &mut buf, limits) {
            Ok(Some(request)) => request,
            Ok(None)
            | Err(ReadError::Incomplete { .. } | ReadError::Io(_) | ReadError::TimedOut) => {
                return seen;
            }
            Err(ReadError::Parse(e)) => {
                seen.push(Replayed::BadHead(e.status().0));
                return seen;
            }
        };
        let started = Arc::new(AtomicBool::new(false));
        let mut body = BodyReader::new(
            connection,
            std::mem::take(&mut buf),
            BodyDecoder::new(request.framing, limits, ChunkLimits::default()),
            Duration::from_secs(1),
            started,
        );
        let mut data = Vec::new();
        let failure = loop {
            match body.read(8192) {
                Ok(piece) if piece.is_empty() => break None,
                Ok(piece) => data.extend_from_slice(&piece),
                Err(e) => break Some(e),
            }
        };
        let complete = body.drain(0, Instant::now() + Duration::from_secs(1));
        buf = body.take_leftover();
        connection = body.into_transport();
        match failure {
            None if complete => seen.push(Replayed::Request(request, data)),
            None => return seen,
            Some(error) => {
                seen.push(Replayed::BadBody(request, error));
                return seen;
            }
        }
    }
}
