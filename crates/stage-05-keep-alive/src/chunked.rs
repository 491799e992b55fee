//! Decoding the chunked transfer coding of a request body (RFC 9112,
//! section 7.1), strictly.
//!
//! ```text
//! 5;name=value\r\n      chunk size in hex, optional extensions
//! hello\r\n             exactly that many bytes, then CR LF
//! 0\r\n                 the last chunk
//! Trailer: value\r\n    optional trailer fields
//! \r\n                  the end
//! ```
//!
//! The decoder is a state machine fed whatever bytes have arrived; it never
//! needs more than one line in memory. Everything a lenient decoder would
//! guess at is an error instead: an empty or non-hex size, a bare LF, data
//! not followed by CR LF, framing fields in the trailers.

use std::fmt;

/// Bounds on the parts of a chunked body that are not data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Longest size line, extensions included.
    pub max_line: usize,
    /// Most bytes of trailer fields.
    pub max_trailer_bytes: usize,
    /// Most trailer fields.
    pub max_trailers: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            max_line: 4096,
            max_trailer_bytes: 8192,
            max_trailers: 32,
        }
    }
}

/// Why a chunked body is refused (always with 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkError {
    /// The size is empty or not hexadecimal.
    BadSize(String),
    /// The size does not fit in 64 bits.
    SizeOverflow,
    /// A size or trailer line longer than the limit.
    LineTooLong,
    /// A line ended in LF without CR.
    BareLineFeed,
    /// The chunk data was not followed by CR LF.
    MissingCrlfAfterData,
    /// A trailer line that is not `name: value`.
    BadTrailer(String),
    /// `Content-Length`, `Transfer-Encoding` or `Host` in the trailers,
    /// where they could change the meaning of what was already read.
    ForbiddenTrailer(String),
    /// Trailers beyond their limits.
    TrailersTooLarge,
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkError::BadSize(size) => {
                write!(f, "chunk size {size:?} is not a hexadecimal number")
            }
            ChunkError::SizeOverflow => write!(f, "chunk size is too large"),
            ChunkError::LineTooLong => write!(f, "a chunk size or trailer line is too long"),
            ChunkError::BareLineFeed => write!(f, "a chunk line ends in LF without CR"),
            ChunkError::MissingCrlfAfterData => write!(f, "chunk data is not followed by CR LF"),
            ChunkError::BadTrailer(line) => write!(f, "malformed trailer line {line:?}"),
            ChunkError::ForbiddenTrailer(name) => write!(f, "{name} is not allowed in trailers"),
            ChunkError::TrailersTooLarge => write!(f, "the trailers are too large"),
        }
    }
}

impl std::error::Error for ChunkError {}

/// What a call to [`ChunkedDecoder::decode`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// More input is needed before anything can be decided.
    NeedMore,
    /// Framing was consumed (a size line, a CR LF, a trailer); go on.
    Framing,
    /// Body data: this range of the input.
    Data(std::ops::Range<usize>),
    /// The body is complete.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
    Done,
}

/// A strict, incremental decoder for one chunked body.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    limits: ChunkLimits,
    trailer_bytes: usize,
    trailers: usize,
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new(limits: ChunkLimits) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size,
            limits,
            trailer_bytes: 0,
            trailers: 0,
        }
    }

    /// Whether the last chunk and trailers have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    // ANCHOR: decode
    /// Decodes from the start of `input`, giving at most `max` data bytes.
    /// Returns how many input bytes were consumed, and what they were.
    pub fn decode(&mut self, input: &[u8], max: usize) -> Result<(usize, Piece), ChunkError> {
        match self.state {
            State::Size => {
                let Some((line, used)) = take_line(input, self.limits.max_line)? else {
                    return Ok((0, Piece::NeedMore));
                };
                let size = parse_chunk_size(line)?;
                self.state = if size == 0 {
                    State::Trailers
                } else {
                    State::Data(size)
                };
                Ok((used, Piece::Framing))
            }
            State::Data(left) => {
                let take = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(input.len())
                    .min(max);
                if take == 0 {
                    return Ok((0, Piece::NeedMore));
                }
                let left = left - take as u64;
                self.state = if left == 0 {
                    State::DataEnd
                } else {
                    State::Data(left)
                };
                Ok((take, Piece::Data(0..take)))
            }
            // ANCHOR: chunk_data_end
            State::DataEnd => match input {
                [b'\r', b'\n', ..] => {
                    self.state = State::Size;
                    Ok((2, Piece::Framing))
                }
                [] | [b'\r'] => Ok((0, Piece::NeedMore)),
                _ => Err(ChunkError::MissingCrlfAfterData),
            },
            // ANCHOR_END: chunk_data_end
            // ANCHOR: chunk_trailers
            State::Trailers => {
                let room = self
                    .limits
                    .max_trailer_bytes
                    .saturating_sub(self.trailer_bytes)
                    + 2;
                let Some((line, used)) = take_line(input, room).map_err(|e| match e {
                    ChunkError::LineTooLong => ChunkError::TrailersTooLarge,
                    other => other,
                })?
                else {
                    return Ok((0, Piece::NeedMore));
                };
                if line.is_empty() {
                    self.state = State::Done;
                    return Ok((used, Piece::End));
                }
                self.trailers += 1;
                self.trailer_bytes += used;
                if self.trailers > self.limits.max_trailers {
                    return Err(ChunkError::TrailersTooLarge);
                }
                check_trailer(line)?;
                Ok((used, Piece::Framing))
            }
            // ANCHOR_END: chunk_trailers
            State::Done => Ok((0, Piece::End)),
        }
    }
    // ANCHOR_END: decode
}

/// The first line of `input` without its CR LF, and the bytes it used;
/// `None` while no LF has arrived (and the line is within `max`).
fn take_line(input: &[u8], max: usize) -> Result<Option<(&[u8], usize)>, ChunkError> {
    match input.iter().position(|&b| b == b'\n') {
        Some(lf) if lf > max => Err(ChunkError::LineTooLong),
        Some(0) => Err(ChunkError::BareLineFeed),
        Some(lf) if input[lf - 1] != b'\r' => Err(ChunkError::BareLineFeed),
        Some(lf) => Ok(Some((&input[..lf - 1], lf + 1))),
        None if input.len() > max => Err(ChunkError::LineTooLong),
        None => Ok(None),
    }
}

// ANCHOR: chunk_size
/// `chunk-size [ chunk-ext ]`: the size is 1*HEXDIG, nothing else.
/// Extensions (after `;`) are allowed, ignored and bounded by the line
/// limit, but may not hide a CR or a NUL: a proxy in front that ends the
/// line at the CR, or a C string at the NUL, would read a different body.
/// httparse's own chunk-size parser reads an empty size as 0, which
/// would end the body where the sender did not: refused here.
fn parse_chunk_size(line: &[u8]) -> Result<u64, ChunkError> {
    let (size, extensions) = match line.iter().position(|&b| b == b';') {
        // White space is allowed before the `;` of an extension (BWS).
        Some(semi) => (trim_trailing_ws(&line[..semi]), Some(&line[semi..])),
        None => (line, None),
    };
    let bad = || ChunkError::BadSize(String::from_utf8_lossy(line).into_owned());
    if extensions.is_some_and(|e| e.iter().any(|&b| b == b'\r' || b == 0)) {
        return Err(bad());
    }
    // ANCHOR: ex-05.2-chunk-size
    if size.is_empty() {
        return Err(bad());
    }
    // ANCHOR_END: ex-05.2-chunk-size
    size.iter().try_fold(0u64, |n, &b| {
        let digit = char::from(b).to_digit(16).ok_or_else(bad)?;
        n.checked_mul(16)
            .and_then(|n| n.checked_add(u64::from(digit)))
            .ok_or(ChunkError::SizeOverflow)
    })
}
// ANCHOR_END: chunk_size

fn trim_trailing_ws(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

/// A trailer is `token ":" value`; framing and routing fields may not be
/// smuggled in after the body (RFC 9110, section 6.5.1).
fn check_trailer(line: &[u8]) -> Result<(), ChunkError> {
    let text = String::from_utf8_lossy(line);
    let Some((name, _value)) = text.split_once(':') else {
        return Err(ChunkError::BadTrailer(text.into_owned()));
    };
    if !stage_03::headers::is_token(name) {
        return Err(ChunkError::BadTrailer(text.into_owned()));
    }
    let forbidden = ["content-length", "transfer-encoding", "host"];
    if forbidden.iter().any(|f| name.eq_ignore_ascii_case(f)) {
        return Err(ChunkError::ForbiddenTrailer(name.to_string()));
    }
    Ok(())
}

/// Decodes a whole chunked body held in memory: the data, and how many
/// bytes of `input` the body took. For tests and tools.
pub fn decode_all(input: &[u8], limits: ChunkLimits) -> Result<(Vec<u8>, usize), ChunkError> {
    let mut decoder = ChunkedDecoder::new(limits);
    let (mut data, mut at) = (Vec::new(), 0);
    loop {
        let (used, piece) = decoder.decode(&input[at..], usize::MAX)?;
        match piece {
            Piece::Data(range) => data.extend_from_slice(&input[at + range.start..at + range.end]),
            Piece::End => return Ok((data, at + used)),
            Piece::NeedMore => return Err(ChunkError::BadTrailer("the body ended early".into())),
            Piece::Framing => {}
        }
        at += used;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(input: &[u8]) -> Result<Vec<u8>, ChunkError> {
        decode_all(input, ChunkLimits::default()).map(|(data, _)| data)
    }

    #[test]
    fn decodes_sizes_extensions_and_trailers() {
        assert_eq!(decode(b"5\r\nhello\r\n0\r\n\r\n").unwrap(), b"hello");
        assert_eq!(
            decode(b"A;name=v\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n").unwrap(),
            b"0123456789"
        );
        assert_eq!(
            decode(b"a ; ext\r\n0123456789\r\n0\r\n\r\n").unwrap(),
            b"0123456789"
        );
        assert_eq!(decode(b"0\r\n\r\n").unwrap(), b"");
        assert_eq!(decode(b"00000001\r\nx\r\n0\r\n\r\n").unwrap(), b"x");
    }

    #[test]
    fn refuses_what_a_lenient_decoder_would_guess_at() {
        let bad_size = |line: &str| Err(ChunkError::BadSize(line.into()));
        assert_eq!(
            decode(b"\r\nhello\r\n0\r\n\r\n"),
            bad_size(""),
            "an empty size is not 0"
        );
        assert_eq!(
            decode(b"5 \r\nhello\r\n0\r\n\r\n"),
            bad_size("5 "),
            "space after size"
        );
        assert_eq!(decode(b"+5\r\nhello\r\n0\r\n\r\n"), bad_size("+5"));
        assert_eq!(decode(b"0x5\r\nhello\r\n0\r\n\r\n"), bad_size("0x5"));
        assert_eq!(
            decode(b"10000000000000000\r\n"),
            Err(ChunkError::SizeOverflow)
        );
        assert_eq!(
            decode(b"5\nhello\r\n0\r\n\r\n"),
            Err(ChunkError::BareLineFeed)
        );
        assert_eq!(
            decode(b"5\r\nhelloX\r\n0\r\n\r\n"),
            Err(ChunkError::MissingCrlfAfterData)
        );
        assert_eq!(
            decode(b"5\r\nhello\n0\r\n\r\n"),
            Err(ChunkError::MissingCrlfAfterData)
        );
        assert_eq!(
            decode(b"0\r\nContent-Length: 5\r\n\r\n"),
            Err(ChunkError::ForbiddenTrailer("Content-Length".into()))
        );
        assert!(matches!(
            decode(b"0\r\nno colon\r\n\r\n"),
            Err(ChunkError::BadTrailer(_))
        ));
        let long_ext = format!("1;{}\r\nx\r\n0\r\n\r\n", "e".repeat(5000));
        assert_eq!(decode(long_ext.as_bytes()), Err(ChunkError::LineTooLong));
    }

    #[test]
    fn an_extension_may_not_hide_a_cr_or_a_nul() {
        assert_eq!(
            decode(b"5;a\rb\r\nhello\r\n0\r\n\r\n"),
            Err(ChunkError::BadSize("5;a\rb".into()))
        );
        assert_eq!(
            decode(b"5;a\0b\r\nhello\r\n0\r\n\r\n"),
            Err(ChunkError::BadSize("5;a\0b".into()))
        );
        assert_eq!(
            decode(b"5;a=\"\tb\"\r\nhello\r\n0\r\n\r\n").unwrap(),
            b"hello"
        );
    }
}
