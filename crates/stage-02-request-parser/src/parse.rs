//! From bytes to a [`Request`]: httparse first, then a server's own checks.
//!
//! [`parse_request`] is the parser as chapter 2 shows it. [`fast`] is the
//! same parser with one trick for a busy server's hot path, and a property
//! test that both give the same answer.

pub mod fast;

use crate::error::ParseError;
use crate::limits::Limits;
use crate::request::{BodyFraming, Request, Version};

// ANCHOR: parsed
/// The outcome of parsing what has arrived so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// The head is not complete yet: read more bytes and parse again.
    Partial,
    /// The head is complete and valid. The body, if any, starts at
    /// `head_len` in the buffer.
    Complete {
        /// The validated request head.
        request: Request,
        /// How many bytes of the buffer the head took, empty line included.
        head_len: usize,
    },
}
// ANCHOR_END: parsed

// ANCHOR: parse_request
/// Parses a request head from `buf`, which holds every byte received so
/// far. Call it again with more bytes while it returns [`Parsed::Partial`].
///
/// Incomplete and malformed are different answers: a request cut in the
/// middle of a line is fine (more is coming), a request with a bad byte is
/// not (no amount of waiting will fix it).
pub fn parse_request(buf: &[u8], limits: &Limits) -> Result<Parsed, ParseError> {
    // Limits apply before the head is complete: a client that never sends
    // the end of its request line must not make us buffer forever.
    check_request_line_length(buf, limits)?;
    if buf.is_empty() {
        return Ok(Parsed::Partial); // between two requests on a connection
    }

    // httparse writes the headers it finds into slots we hand it, and
    // stops with TooManyHeaders when they run out: their number is the
    // header count limit.
    let mut slots = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut parsed = httparse::Request::new(&mut slots);
    let status = parsed.parse(buf);
    checked_request(buf, limits, &parsed, status)
}
// ANCHOR_END: parse_request

// ANCHOR: checked_request
/// What httparse's answer means for a server: wait for more bytes, refuse
/// the request, or check the complete head and make it a [`Request`].
fn checked_request(
    buf: &[u8],
    limits: &Limits,
    parsed: &httparse::Request<'_, '_>,
    status: httparse::Result<usize>,
) -> Result<Parsed, ParseError> {
    let head_len = match status {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head_bytes => {
            return Err(ParseError::HeadTooLarge {
                limit: limits.max_head_bytes,
            });
        }
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Err(httparse::Error::Version) => return refused_version(buf),
        Err(error) => return Err(from_httparse(error, limits)),
    };
    if head_len > limits.max_head_bytes {
        return Err(ParseError::HeadTooLarge {
            limit: limits.max_head_bytes,
        });
    }
    reject_bare_line_feeds(&buf[..head_len])?;

    // httparse has checked the method and target are tokens of visible
    // ASCII (or UTF-8 in the target), so these unwraps cannot fail on a
    // complete parse.
    // ANCHOR: checked_fields
    let method = parsed.method.unwrap_or_default().to_string();
    let target = parsed.path.unwrap_or_default().to_string();
    check_target(&method, &target)?;
    let version = match parsed.version {
        Some(0) => Version::Http10,
        _ => Version::Http11,
    };
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| (h.name.to_string(), latin1(h.value)))
        .collect();

    check_host(version, &headers)?;
    check_content_type(&headers)?;
    let framing = check_framing(version, &headers)?;
    let content_length = match framing {
        BodyFraming::Length(n) if n > limits.max_body_bytes => {
            return Err(ParseError::BodyTooLarge {
                limit: limits.max_body_bytes,
            });
        }
        BodyFraming::Length(n) => Some(n),
        _ => None,
    };

    let request = Request {
        method,
        target,
        version,
        headers,
        content_length,
        framing,
    };
    Ok(Parsed::Complete { request, head_len })
    // ANCHOR_END: checked_fields
}
// ANCHOR_END: checked_request

// ANCHOR: latin1
/// Decodes header bytes as ISO-8859-1: byte N becomes the char U+00NN.
///
/// Every byte sequence is valid latin-1, so nothing is rejected or replaced
/// and `value.chars().map(|c| c as u8)` gives the bytes back. UTF-8 would
/// fail on `caf\xe9`, or turn it into `caf\u{fffd}` and lose the byte.
pub fn latin1(bytes: &[u8]) -> String {
    // ASCII is the same bytes in latin-1 and UTF-8: most values are
    // copied as they are.
    if bytes.is_ascii() {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    // ANCHOR: ex-02.2-latin1
    bytes.iter().map(|&b| char::from(b)).collect()
    // ANCHOR_END: ex-02.2-latin1
}
// ANCHOR_END: latin1

/// 414 when the first line is already longer than the limit, complete or
/// not. Empty lines before the request line are skipped, as httparse does
/// (RFC 9112, section 2.2).
fn check_request_line_length(buf: &[u8], limits: &Limits) -> Result<(), ParseError> {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = &buf[start..];
    let line_len = match line.iter().position(|&b| b == b'\n') {
        Some(lf) if lf > 0 && line[lf - 1] == b'\r' => lf - 1,
        Some(lf) => lf,
        None => line.len(),
    };
    if line_len > limits.max_request_line {
        return Err(ParseError::RequestLineTooLong {
            limit: limits.max_request_line,
        });
    }
    Ok(())
}

// ANCHOR: target_form
/// Refuses a request target that is in none of the four forms of RFC 9112
/// (section 3.2), or in a form its method may not use. httparse only checks
/// that the target's bytes are visible characters.
///
/// - origin-form, `/path?query` (3.2.1): what nearly every request sends;
/// - absolute-form, `http://host/path?query` (3.2.2): what clients send to
///   a proxy, and what a server must accept as well;
/// - authority-form, `host:port` (3.2.3): for CONNECT only, which asks for
///   a tunnel to that host. This server is no proxy, so it answers every
///   CONNECT with 501 (RFC 9110, section 15.6.2), whatever its target;
/// - asterisk-form, `*` (3.2.4): for `OPTIONS *` only, which asks about
///   the server as a whole rather than one of its resources.
///
/// Anything else is a 400: `foo/bar` and `?x=1` are not paths a server can
/// route. A fragment (`#...`) is never part of a target (RFC 9110, section
/// 7.1: it is for the client alone); taking it in would hand the app a
/// query string with the fragment stuck to its end.
fn check_target(method: &str, target: &str) -> Result<(), ParseError> {
    let invalid = |reason| Err(ParseError::InvalidTarget { reason });
    if method == "CONNECT" {
        return Err(ParseError::ConnectNotImplemented);
    }
    if target.contains('#') {
        return invalid("a fragment (#) stays with the client and is never sent");
    }
    if target.starts_with('/') || is_absolute_form(target) {
        return Ok(());
    }
    match (target, method) {
        ("*", "OPTIONS") => Ok(()),
        ("*", _) => invalid("* is the target of OPTIONS only"),
        _ => invalid("it must start with / or be an absolute URI like http://host/path"),
    }
}
// ANCHOR_END: target_form

/// `scheme://authority...`, where the scheme is a letter, then letters,
/// digits, `+`, `-` or `.` (RFC 3986, section 3.1), and the authority is
/// not empty (a URI without a host names no resource; RFC 9110, section
/// 4.2.1 says to reject `http:///a`).
fn is_absolute_form(target: &str) -> bool {
    let Some((scheme, rest)) = target.split_once("://") else {
        return false;
    };
    let mut scheme = scheme.bytes();
    let scheme_ok = scheme.next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let has_host = !rest.is_empty() && !rest.starts_with(['/', '?']);
    scheme_ok && has_host
}

/// Names the part httparse found fault with.
fn from_httparse(error: httparse::Error, limits: &Limits) -> ParseError {
    let part = match error {
        httparse::Error::TooManyHeaders => {
            return ParseError::TooManyHeaders {
                limit: limits.max_headers,
            };
        }
        httparse::Error::Version => "HTTP version",
        httparse::Error::Token => "method or request target",
        httparse::Error::HeaderName => "header name",
        httparse::Error::HeaderValue => "header value",
        httparse::Error::NewLine => "line ending",
        httparse::Error::Status => "status",
    };
    ParseError::Malformed { part }
}

/// What to make of a request line whose version httparse refused.
///
/// `HTTP/2.0` is well-formed (RFC 9112, section 2.3: `HTTP/` DIGIT `.`
/// DIGIT) but not a version we speak: 505. httparse refuses `HTTP/2` the
/// moment it sees the `2`, before the `.0` has arrived, so while the line
/// is unfinished and could still become well-formed, we wait for more.
/// Anything else is merely malformed: 400.
fn refused_version(buf: &[u8]) -> Result<Parsed, ParseError> {
    let malformed = ParseError::Malformed {
        part: "HTTP version",
    };
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let rest = &buf[start..];
    let (line, finished) = match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
        Some(end) => (&rest[..end], true),
        None => (rest, false),
    };
    let Some(version) = third_word(line) else {
        return Err(malformed);
    };
    const SHAPE: &[u8] = b"HTTP/D.D";
    let fits = version.len() <= SHAPE.len()
        && version.iter().zip(SHAPE).all(|(&b, &s)| {
            if s == b'D' {
                b.is_ascii_digit()
            } else {
                b == s
            }
        });
    match (fits, version.len() == SHAPE.len(), finished) {
        (true, true, _) => Err(ParseError::UnsupportedVersion(latin1(version))),
        (true, false, false) => Ok(Parsed::Partial),
        _ => Err(malformed),
    }
}

/// The version of `method SP target SP version`, if the line has that shape.
fn third_word(line: &[u8]) -> Option<&[u8]> {
    let mut words = line.split(|&b| b == b' ');
    let (_method, _target, version) = (words.next()?, words.next()?, words.next()?);
    words.next().is_none().then_some(version)
}

// ANCHOR: bare_lf
/// Refuses a line that ends in a bare LF. RFC 9112 (section 2.2) lets a
/// recipient accept one, but a front proxy that does not would see the
/// request differently from us; refusing is the safe side.
fn reject_bare_line_feeds(head: &[u8]) -> Result<(), ParseError> {
    // ANCHOR: ex-02.4-bare-lf
    let bare = head
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || head[i - 1] != b'\r'));
    // ANCHOR_END: ex-02.4-bare-lf
    if bare {
        Err(ParseError::BareLineFeed)
    } else {
        Ok(())
    }
}
// ANCHOR_END: bare_lf

/// How many lines of the header `name` there are.
fn count(headers: &[(String, String)], name: &str) -> usize {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .count()
}

/// Exactly one `Host` in HTTP/1.1; at most one in HTTP/1.0.
fn check_host(version: Version, headers: &[(String, String)]) -> Result<(), ParseError> {
    match (version, count(headers, "host")) {
        (_, 2..) => Err(ParseError::RepeatedHost),
        (Version::Http11, 0) => Err(ParseError::MissingHost),
        _ => Ok(()),
    }
}

/// At most one `Content-Type`. It is a singleton field (RFC 9110, section
/// 8.3), so two of them cannot be merged into a list the way `Accept`
/// lines can; an app that reads the first and a firewall in front that
/// reads the last would judge the same body by two different types.
/// gunicorn and waitress refuse it too.
fn check_content_type(headers: &[(String, String)]) -> Result<(), ParseError> {
    if count(headers, "content-type") > 1 {
        Err(ParseError::RepeatedContentType)
    } else {
        Ok(())
    }
}

// ANCHOR: framing
/// Decides where the body ends: Content-Length, chunked, or no body.
///
/// Anything ambiguous is refused, because a server and a proxy in front of
/// it that disagree on where a body ends can be made to see two different
/// requests in the same bytes (request smuggling).
fn check_framing(
    version: Version,
    headers: &[(String, String)],
) -> Result<BodyFraming, ParseError> {
    let mut transfer_encodings = Vec::new();
    let mut content_length: Option<u64> = None;
    // ANCHOR: framing_fields
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encodings.push(value.as_str());
        } else if name.eq_ignore_ascii_case("content-length") {
            // `Content-Length: 5, 5` and two identical lines are the same
            // number said twice (RFC 9112, section 6.3); anything else
            // leaves the body's end in doubt, and doubt means refuse.
            for item in value.split(',') {
                let length = parse_decimal(item.trim_matches([' ', '\t']))
                    .ok_or_else(|| ParseError::InvalidContentLength(value.clone()))?;
                if content_length.is_some_and(|seen| seen != length) {
                    return Err(ParseError::ConflictingContentLength);
                }
                content_length = Some(length);
            }
        }
    }
    // ANCHOR_END: framing_fields
    match (transfer_encodings.as_slice(), content_length) {
        ([], None) => Ok(BodyFraming::Empty),
        ([], Some(length)) => Ok(BodyFraming::Length(length)),
        // ANCHOR: ex-02.5-both-framings
        (_, Some(_)) => Err(ParseError::ContentLengthWithTransferEncoding),
        // ANCHOR_END: ex-02.5-both-framings
        (_, None) if version == Version::Http10 => Err(ParseError::TransferEncodingInHttp10),
        ([coding], None) => match coding.trim() {
            c if c.eq_ignore_ascii_case("chunked") => Ok(BodyFraming::Chunked),
            // chunked must be the final coding (RFC 9112, section 6.3);
            // without it the body's end is unknowable: refuse.
            c if !c
                .rsplit(',')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("chunked") =>
            {
                Err(ParseError::ChunkedNotFinal(c.to_string()))
            }
            // gzip, chunked and the like: valid, but not decoded here.
            c => Err(ParseError::TransferEncodingNotImplemented(c.to_string())),
        },
        (_, None) => Err(ParseError::RepeatedTransferEncoding),
    }
}
// ANCHOR_END: framing

// ANCHOR: parse_decimal
/// `1*DIGIT` as a u64: no sign, no space, no hex, and no overflow.
/// (`str::parse::<u64>` would accept a leading `+`.)
pub fn parse_decimal(text: &str) -> Option<u64> {
    // ANCHOR: ex-02.3-content-length
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |n, b| {
        let digit = char::from(b).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
    // ANCHOR_END: ex-02.3-content-length
}
// ANCHOR_END: parse_decimal

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_is_strict() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("0042"), Some(42));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "+1",
            "-1",
            " 1",
            "1 ",
            "0x10",
            "1e3",
            "18446744073709551616",
            "١",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bare_line_feeds_are_refused() {
        for head in [
            &b"GET / HTTP/1.1\nHost: x\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: x\n\r\n",
            b"\nGET / HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(
                reject_bare_line_feeds(head),
                Err(ParseError::BareLineFeed),
                "{head:?}"
            );
        }
        assert_eq!(
            reject_bare_line_feeds(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Ok(())
        );
    }

    #[test]
    fn both_framings_are_refused() {
        let headers = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        let both = headers(&[("Content-Length", "5"), ("Transfer-Encoding", "chunked")]);
        assert_eq!(
            check_framing(Version::Http11, &both),
            Err(ParseError::ContentLengthWithTransferEncoding)
        );
        let reversed = headers(&[("Transfer-Encoding", "chunked"), ("content-length", "0")]);
        assert_eq!(
            check_framing(Version::Http11, &reversed),
            Err(ParseError::ContentLengthWithTransferEncoding)
        );
        let chunked = headers(&[("Transfer-Encoding", "chunked")]);
        assert_eq!(
            check_framing(Version::Http11, &chunked),
            Ok(BodyFraming::Chunked)
        );
    }

    #[test]
    fn latin1_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let text = latin1(&all);
        assert_eq!(text.chars().count(), 256);
        assert_eq!(text.chars().map(|c| c as u8).collect::<Vec<_>>(), all);
    }
}
