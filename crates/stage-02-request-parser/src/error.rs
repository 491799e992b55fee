//! Everything that makes a request unacceptable, and the status each earns.

use std::fmt;

/// Why a request was refused. Each kind maps to one status code, so the
/// client learns what it did wrong and the server goes on serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// httparse refused the bytes; `part` names where (400).
    Malformed {
        /// The part of the request at fault, such as "header name".
        part: &'static str,
    },
    /// A line ended in LF without CR before it (400). httparse accepts this
    /// leniency, but two parsers that disagree on where a line ends are how
    /// request smuggling starts.
    BareLineFeed,
    /// An HTTP/1.1 request without `Host` (400, RFC 9112 section 3.2).
    MissingHost,
    /// More than one `Host` line (400, RFC 9112 section 3.2).
    RepeatedHost,
    /// More than one `Content-Type` line (400). It is a singleton field
    /// (RFC 9110, section 8.3): two values cannot be merged into one, and
    /// software that picks the first and software that picks the last see
    /// different bodies in the same request.
    RepeatedContentType,
    /// A `Content-Length` that is not a plain decimal number (400).
    InvalidContentLength(String),
    /// Several `Content-Length` values that differ (400, RFC 9112 6.3).
    ConflictingContentLength,
    /// Both `Transfer-Encoding` and `Content-Length` (400): the classic
    /// request smuggling vector (RFC 9112, section 6.1).
    ContentLengthWithTransferEncoding,
    /// A `Transfer-Encoding` that is not decoded: any coding but plain
    /// `chunked`, or `chunked` itself where the reader does not decode it
    /// (stages 2 to 4) (501).
    TransferEncodingNotImplemented(String),
    /// A `Transfer-Encoding` whose final coding is not `chunked`: the end
    /// of the body cannot be known (400, RFC 9112 section 6.3).
    ChunkedNotFinal(String),
    /// More than one `Transfer-Encoding` line (400): refused rather than
    /// merged, as proxies disagree on how to merge them.
    RepeatedTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 request, which has no such
    /// thing (400, RFC 9112 section 6.1).
    TransferEncodingInHttp10,
    /// A request target in none of the forms its method may use, or with
    /// a fragment (400, RFC 9112 section 3.2); `reason` says which rule.
    InvalidTarget {
        /// What is wrong with the target, such as "* is the target of
        /// OPTIONS only".
        reason: &'static str,
    },
    /// `CONNECT`, which asks for a tunnel to another host: only a proxy
    /// does that, and this server is none (501, RFC 9110 section 15.6.2).
    ConnectNotImplemented,
    /// A well-formed version other than 1.0 and 1.1, like `HTTP/2.0` (505).
    UnsupportedVersion(String),
    /// The request line is longer than the limit (414).
    RequestLineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// More header lines than the limit (431).
    TooManyHeaders {
        /// The limit in lines.
        limit: usize,
    },
    /// The head is larger than the limit (431).
    HeadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The announced body is larger than the limit (413).
    BodyTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}

// ANCHOR: status
impl ParseError {
    /// The status code and reason phrase to answer this error with.
    pub fn status(&self) -> (u16, &'static str) {
        use ParseError::*;
        match self {
            Malformed { .. }
            | BareLineFeed
            | MissingHost
            | RepeatedHost
            | RepeatedContentType
            | InvalidTarget { .. }
            | InvalidContentLength(_)
            | ConflictingContentLength
            | ContentLengthWithTransferEncoding
            | ChunkedNotFinal(_)
            | RepeatedTransferEncoding
            | TransferEncodingInHttp10 => (400, "Bad Request"),
            BodyTooLarge { .. } => (413, "Content Too Large"),
            RequestLineTooLong { .. } => (414, "URI Too Long"),
            TooManyHeaders { .. } | HeadTooLarge { .. } => (431, "Request Header Fields Too Large"),
            TransferEncodingNotImplemented(_) | ConnectNotImplemented => (501, "Not Implemented"),
            UnsupportedVersion(_) => (505, "HTTP Version Not Supported"),
        }
    }
}
// ANCHOR_END: status

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ParseError::*;
        match self {
            Malformed { part } => write!(f, "malformed request: invalid {part}"),
            BareLineFeed => write!(
                f,
                "a line ends in LF without CR; HTTP/1.1 lines end in CR LF"
            ),
            MissingHost => write!(f, "an HTTP/1.1 request must have a Host header"),
            RepeatedHost => write!(f, "a request must have exactly one Host header"),
            RepeatedContentType => write!(f, "Content-Type is given more than once"),
            InvalidTarget { reason } => write!(f, "invalid request target: {reason}"),
            ConnectNotImplemented => write!(
                f,
                "CONNECT is not implemented: this server is not a proxy and opens no tunnels"
            ),
            InvalidContentLength(value) => {
                write!(
                    f,
                    "Content-Length {value:?} is not a decimal number of bytes"
                )
            }
            ConflictingContentLength => write!(f, "Content-Length is given with different values"),
            ContentLengthWithTransferEncoding => {
                write!(
                    f,
                    "a request may not have both Content-Length and Transfer-Encoding"
                )
            }
            TransferEncodingNotImplemented(coding) => write!(
                f,
                "Transfer-Encoding {coding:?} is not implemented by this server"
            ),
            ChunkedNotFinal(coding) => {
                write!(
                    f,
                    "Transfer-Encoding {coding:?} does not end in chunked, so the body's end is unknown"
                )
            }
            RepeatedTransferEncoding => write!(f, "Transfer-Encoding is given more than once"),
            TransferEncodingInHttp10 => write!(f, "Transfer-Encoding is not part of HTTP/1.0"),
            UnsupportedVersion(version) => write!(f, "{version} is not supported; use HTTP/1.1"),
            RequestLineTooLong { limit } => {
                write!(f, "the request line is longer than {limit} bytes")
            }
            TooManyHeaders { limit } => write!(f, "more than {limit} header lines"),
            HeadTooLarge { limit } => write!(f, "the request head is larger than {limit} bytes"),
            BodyTooLarge { limit } => write!(f, "the body is larger than {limit} bytes"),
        }
    }
}

impl std::error::Error for ParseError {}
