//! Taking requests out of a connection's input, as far as the bytes go.
//!
//! The same parser as chapter 2 and the same body decoder as chapter 5,
//! driven without waiting: where stage-05 would block for more bytes, this
//! answers [`Progress::Waiting`], and the loop comes back when the socket
//! has more. A body is read whole before the app is called.

use stage_02::parse::fast;
use stage_02::{Limits, Parsed, Request};
use stage_05::chunked::ChunkLimits;
use stage_05::decode::{BodyDecoder, DecodeError, Decoded, Expectation, expectation};

use crate::buffer::Buffer;
use crate::connection::Phase;
use crate::refusal::Refusal;

/// What the parser made of the input so far.
pub enum Progress {
    /// Nothing more can be done until more bytes arrive.
    Waiting,
    /// A request is complete, head and body.
    Complete(Request, Vec<u8>),
    /// The request is refused, for this reason; the request is there when
    /// its head was read (for the access log).
    Refuse(Refusal, Option<Request>),
}

// ANCHOR: parse_input
/// Takes a head, then a body, out of `input` as far as the bytes go: the
/// same parser and body decoder as stage-05, without waiting for anything.
pub fn parse_input(
    phase: &mut Phase,
    input: &mut Buffer,
    limits: &Limits,
    chunks: ChunkLimits,
) -> Progress {
    loop {
        match phase {
            // Chapter 2's parser, in the variant that leaves its header
            // slots uninitialised (the performance appendix says why).
            Phase::Head => match fast::parse_request(input.as_slice(), limits) {
                Ok(Parsed::Partial) => return Progress::Waiting,
                Err(error) => return Progress::Refuse(Refusal::Head(error), None),
                Ok(Parsed::Complete { request, head_len }) => {
                    input.consume(head_len);
                    // Refused before the body: a client waiting to hear
                    // whether to send it is told at once (RFC 9110, 10.1.1).
                    if expectation(&request) == Expectation::Unsupported {
                        return Progress::Refuse(Refusal::Expectation, Some(request));
                    }
                    let decoder = BodyDecoder::for_request(&request, limits, chunks);
                    if decoder.is_done() {
                        return Progress::Complete(request, Vec::new());
                    }
                    *phase = Phase::Body {
                        request,
                        body: Vec::new(),
                        decoder,
                    };
                }
            },
            // ANCHOR: body_phase
            Phase::Body { body, decoder, .. } => match take_body(decoder, input, body) {
                Ok(false) => return Progress::Waiting,
                Err(error) => {
                    let Phase::Body { request, .. } = std::mem::replace(phase, Phase::Head) else {
                        unreachable!("matched Phase::Body above")
                    };
                    return Progress::Refuse(Refusal::Body(error), Some(request));
                }
                Ok(true) => {
                    let Phase::Body { request, body, .. } = std::mem::replace(phase, Phase::Head)
                    else {
                        unreachable!("matched Phase::Body above")
                    };
                    return Progress::Complete(request, body);
                }
            },
            // ANCHOR_END: body_phase
            Phase::Responding(_) | Phase::Closing { .. } => return Progress::Waiting,
        }
    }
}
// ANCHOR_END: parse_input

// ANCHOR: take_body
/// Moves the body in `input` into `body`, as far as it has arrived, with
/// `decoder` saying which bytes are data. Whether the body is complete.
fn take_body(
    decoder: &mut BodyDecoder,
    input: &mut Buffer,
    body: &mut Vec<u8>,
) -> Result<bool, DecodeError> {
    // ANCHOR: ex-06.1-body-as-it-comes
    loop {
        let (used, piece) = decoder.decode(input.as_slice(), usize::MAX)?;
        if let Decoded::Data(range) = &piece {
            body.extend_from_slice(&input.as_slice()[range.clone()]);
        }
        input.consume(used);
        match piece {
            Decoded::Data(_) => {}
            Decoded::NeedMore => return Ok(false),
            Decoded::End => return Ok(true),
        }
    }
    // ANCHOR_END: ex-06.1-body-as-it-comes
}
// ANCHOR_END: take_body

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` one at a time, as a slow network would, and collects
    /// every request completed (or refusal) on the way.
    fn feed(bytes: &[u8], limits: &Limits) -> Vec<Result<(String, Vec<u8>), u16>> {
        let (mut phase, mut input, mut seen) = (Phase::Head, Buffer::default(), Vec::new());
        for &byte in bytes {
            input.extend_from_slice(&[byte]);
            loop {
                match parse_input(&mut phase, &mut input, limits, ChunkLimits::default()) {
                    Progress::Waiting => break,
                    Progress::Complete(request, body) => {
                        seen.push(Ok((request.target, body)));
                        phase = Phase::Head;
                    }
                    Progress::Refuse(why, _) => return [seen, vec![Err(why.status())]].concat(),
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
