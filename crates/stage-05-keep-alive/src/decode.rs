//! The body of one request, decoded from whatever bytes have arrived.
//!
//! A request body is framed one of two ways (RFC 9112, section 6.3): by
//! `Content-Length`, exactly that many bytes; or by the chunked coding
//! ([`crate::chunked`]), whose length nobody announced. A [`BodyDecoder`]
//! takes bytes and gives decisions: this much is body data, this much was
//! framing, more is needed, the body is over, or the body is refused. It
//! also counts the body against its limit, and knows whether the client
//! waits for `100 Continue` before sending it.
//!
//! It never touches a socket. Whoever holds the bytes drives it: the
//! blocking reader of this stage ([`crate::body`]) reads more when it says
//! so; a test feeds it a slice at a time.

use std::fmt;
use std::ops::Range;

use stage_02::{BodyFraming, Limits, Request, Version};

use crate::chunked::{self, ChunkError, ChunkLimits, ChunkedDecoder};

/// What the client expects before sending its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// Nothing: the body is on its way.
    None,
    /// `100-continue` on HTTP/1.1.
    Continue,
    /// An expectation this server cannot meet (417 Expectation Failed).
    Unsupported,
}

/// Reads `Expect` (RFC 9110, section 10.1.1). HTTP/1.0 clients do not know
/// `100 Continue`, so their expectation is ignored, as the RFC asks.
pub fn expectation(request: &Request) -> Expectation {
    let Some(value) = request.header("expect") else {
        return Expectation::None;
    };
    match request.version {
        Version::Http10 => Expectation::None,
        Version::Http11 if value.trim().eq_ignore_ascii_case("100-continue") => {
            Expectation::Continue
        }
        Version::Http11 => Expectation::Unsupported,
    }
}

/// What a call to [`BodyDecoder::decode`] found, after the bytes it
/// consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Body data: this range of the input. It ends where the consumed
    /// bytes end; anything consumed before it was framing.
    Data(Range<usize>),
    /// Nothing more can be decided until more bytes arrive.
    NeedMore,
    /// The body is complete; the next request starts after the consumed
    /// bytes.
    End,
}

/// Why a body is refused; either way the connection cannot go on, as
/// nobody knows where the next request would start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Malformed chunked framing (400).
    Chunked(ChunkError),
    /// More body than the limit allows (413): a chunked body only, since
    /// the parser refused a `Content-Length` over the limit already.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}

impl DecodeError {
    /// The status this error earns.
    pub fn status(&self) -> u16 {
        match self {
            DecodeError::Chunked(_) => 400,
            DecodeError::TooLarge { .. } => 413,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Chunked(e) => write!(f, "malformed chunked body: {e}"),
            // The parser's words for a Content-Length over the limit: the
            // client reads the same 413 however its body was framed.
            DecodeError::TooLarge { limit } => write!(f, "the body is larger than {limit} bytes"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Where the body stands.
#[derive(Debug, Clone)]
enum State {
    /// This many bytes of a `Content-Length` body are still to come.
    Length(u64),
    /// A chunked body, part way through.
    Chunked(ChunkedDecoder),
    /// The body has been read to its end.
    Done,
    /// The body was refused; it stays refused.
    Failed(DecodeError),
}

// ANCHOR: body_decoder
/// The body of one request, decoded as its bytes arrive.
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    state: State,
    /// Body bytes handed out so far, and how many are allowed.
    received: u64,
    max_body: u64,
    /// The client waits for `100 Continue` before it sends the body, and
    /// none has been sent yet.
    continue_awaited: bool,
}
// ANCHOR_END: body_decoder

impl BodyDecoder {
    /// A decoder for a body framed as `framing`, at most
    /// `limits.max_body_bytes` long. No `100 Continue` is awaited.
    pub fn new(framing: BodyFraming, limits: &Limits, chunks: ChunkLimits) -> BodyDecoder {
        let state = match framing {
            BodyFraming::Empty | BodyFraming::Length(0) => State::Done,
            BodyFraming::Length(n) => State::Length(n),
            BodyFraming::Chunked => State::Chunked(ChunkedDecoder::new(chunks)),
        };
        BodyDecoder {
            state,
            received: 0,
            max_body: limits.max_body_bytes,
            continue_awaited: false,
        }
    }

    // ANCHOR: for_request
    /// The decoder for the body of `request`. An HTTP/1.1 client that sent
    /// `Expect: 100-continue` and has a body to send waits for a
    /// `100 Continue` before sending it (RFC 9110, section 10.1.1); a
    /// request without a body has nothing to wait for.
    pub fn for_request(request: &Request, limits: &Limits, chunks: ChunkLimits) -> BodyDecoder {
        let mut decoder = BodyDecoder::new(request.framing, limits, chunks);
        decoder.continue_awaited =
            !decoder.is_done() && expectation(request) == Expectation::Continue;
        decoder
    }
    // ANCHOR_END: for_request

    /// Whether the body has been read to its end.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Whether the client still waits for a `100 Continue` that was never
    /// sent: then it may never send the body at all.
    pub fn continue_awaited(&self) -> bool {
        self.continue_awaited
    }

    /// Whether to send `100 Continue` now: yes once, the first time it is
    /// asked while the client waits for one. The caller sends it.
    pub fn send_continue(&mut self) -> bool {
        std::mem::take(&mut self.continue_awaited)
    }

    // ANCHOR: decode
    /// Decodes from the start of `input`, giving at most `max` data bytes.
    /// Returns how many input bytes were consumed, and what they were; the
    /// caller drops the consumed bytes, whatever the answer.
    pub fn decode(&mut self, input: &[u8], max: usize) -> Result<(usize, Decoded), DecodeError> {
        if max == 0 && matches!(self.state, State::Length(_) | State::Chunked(_)) {
            return Ok((0, Decoded::Data(0..0))); // Nothing asked, nothing given.
        }
        let mut used = 0;
        loop {
            let rest = &input[used..];
            let data = match &mut self.state {
                State::Failed(error) => return Err(error.clone()),
                State::Done => return Ok((used, Decoded::End)),
                State::Length(left) => {
                    let take = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(rest.len())
                        .min(max);
                    if take == 0 {
                        return Ok((used, Decoded::NeedMore));
                    }
                    *left -= take as u64;
                    if *left == 0 {
                        self.state = State::Done;
                    }
                    take
                }
                // Framing is consumed here and never shown to the caller:
                // a size line, the CR LF after data, the trailers.
                // ANCHOR: decode_chunked
                State::Chunked(decoder) => match decoder.decode(rest, max) {
                    Err(e) => return Err(self.fail(DecodeError::Chunked(e))),
                    Ok((n, chunked::Piece::Framing)) => {
                        used += n;
                        continue;
                    }
                    Ok((_, chunked::Piece::NeedMore)) => {
                        return Ok((used, Decoded::NeedMore));
                    }
                    Ok((n, chunked::Piece::End)) => {
                        self.state = State::Done;
                        return Ok((used + n, Decoded::End));
                    }
                    Ok((n, chunked::Piece::Data(_))) => n,
                },
                // ANCHOR_END: decode_chunked
            };
            // A chunked body's length was never announced: count it.
            self.received += data as u64;
            if self.received > self.max_body {
                let limit = self.max_body;
                return Err(self.fail(DecodeError::TooLarge { limit }));
            }
            return Ok((used + data, Decoded::Data(used..used + data)));
        }
    }
    // ANCHOR_END: decode

    fn fail(&mut self, error: DecodeError) -> DecodeError {
        self.state = State::Failed(error.clone());
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::request;

    fn limit(max_body_bytes: u64) -> Limits {
        Limits {
            max_body_bytes,
            ..Limits::default()
        }
    }

    #[test]
    fn expectations() {
        assert_eq!(
            expectation(&request(
                "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n\r\n"
            )),
            Expectation::Continue
        );
        assert_eq!(
            expectation(&request("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n")),
            Expectation::None
        );
        assert_eq!(
            expectation(&request(
                "POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n"
            )),
            Expectation::Unsupported
        );
    }

    #[test]
    fn a_length_body_ends_after_its_bytes_and_no_later() {
        let mut decoder =
            BodyDecoder::new(BodyFraming::Length(5), &limit(5), ChunkLimits::default());
        assert_eq!(decoder.decode(b"", 100), Ok((0, Decoded::NeedMore)));
        assert_eq!(decoder.decode(b"hel", 2), Ok((2, Decoded::Data(0..2))));
        assert_eq!(decoder.decode(b"lloGET", 100), Ok((3, Decoded::Data(0..3))));
        assert!(decoder.is_done());
        assert_eq!(decoder.decode(b"GET", 100), Ok((0, Decoded::End)));
    }

    #[test]
    fn chunked_framing_is_consumed_and_data_ends_the_consumed_bytes() {
        let mut decoder =
            BodyDecoder::new(BodyFraming::Chunked, &limit(10), ChunkLimits::default());
        let input = b"3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\nnext";
        assert_eq!(decoder.decode(input, 100), Ok((10, Decoded::Data(7..10))));
        assert_eq!(
            decoder.decode(&input[10..], 100),
            Ok((7, Decoded::Data(5..7)))
        );
        assert_eq!(decoder.decode(&input[17..], 100), Ok((13, Decoded::End)));
        assert_eq!(&input[30..], b"next");
        assert!(decoder.is_done());
    }

    #[test]
    fn a_chunked_body_is_counted_against_the_limit_and_stays_refused() {
        let body = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let mut exact = BodyDecoder::new(BodyFraming::Chunked, &limit(5), ChunkLimits::default());
        assert_eq!(exact.decode(body, 100), Ok((6, Decoded::Data(3..6))));
        assert_eq!(exact.decode(&body[6..], 100), Ok((7, Decoded::Data(5..7))));
        assert_eq!(exact.decode(&body[13..], 100), Ok((7, Decoded::End)));

        let mut over = BodyDecoder::new(BodyFraming::Chunked, &limit(4), ChunkLimits::default());
        assert_eq!(over.decode(body, 100), Ok((6, Decoded::Data(3..6))));
        let refused = over.decode(&body[6..], 100);
        assert_eq!(refused, Err(DecodeError::TooLarge { limit: 4 }));
        assert_eq!(refused.unwrap_err().status(), 413);
        assert_eq!(
            over.decode(&body[13..], 100),
            Err(DecodeError::TooLarge { limit: 4 })
        );

        let mut bad = BodyDecoder::new(BodyFraming::Chunked, &limit(5), ChunkLimits::default());
        let error = bad.decode(b"zz\r\n", 100).unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(matches!(
            error,
            DecodeError::Chunked(ChunkError::BadSize(_))
        ));
    }

    #[test]
    fn asking_for_no_data_gives_none_and_consumes_nothing() {
        let mut decoder =
            BodyDecoder::new(BodyFraming::Length(3), &limit(3), ChunkLimits::default());
        assert_eq!(decoder.decode(b"abc", 0), Ok((0, Decoded::Data(0..0))));
        assert_eq!(decoder.decode(b"abc", 3), Ok((3, Decoded::Data(0..3))));
    }

    #[test]
    fn continue_is_awaited_only_with_a_body_to_send_and_sent_once() {
        let limits = Limits::default();
        let chunks = ChunkLimits::default();
        let with_body = request(
            "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
        );
        let mut decoder = BodyDecoder::for_request(&with_body, &limits, chunks);
        assert!(decoder.continue_awaited());
        assert!(decoder.send_continue());
        assert!(!decoder.continue_awaited());
        assert!(!decoder.send_continue(), "sent once only");

        let chunked = request(
            "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        assert!(BodyDecoder::for_request(&chunked, &limits, chunks).continue_awaited());
        for no_wait in [
            "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
            "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n",
        ] {
            let decoder = BodyDecoder::for_request(&request(no_wait), &limits, chunks);
            assert!(!decoder.continue_awaited(), "{no_wait:?}");
        }
    }
}
