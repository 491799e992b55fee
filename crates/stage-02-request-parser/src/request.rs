//! A parsed request head.

use std::fmt;

/// The two HTTP versions a server of this book speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`: connections close after each response unless asked not to.
    Http10,
    /// `HTTP/1.1`: `Host` is required, connections persist by default.
    Http11,
}

impl Version {
    /// The version as it appears on the request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The head of a request: request line and headers, validated.
///
/// Header values were decoded from bytes as latin-1 (ISO-8859-1), in which
/// byte N is code point N: no byte is lost, and encoding back to latin-1
/// gives the original bytes (PEP 3333 relies on this). The method and
/// target are the text httparse accepted: visible ASCII, or UTF-8 in the
/// target; any other byte there is refused as malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, such as `GET`; case-sensitive (RFC 9110, section 9.1).
    pub method: String,
    /// The request target exactly as sent, such as `/search?q=rust`;
    /// [`path`](Request::path) and [`query`](Request::query) are its parts.
    pub target: String,
    /// The HTTP version from the request line.
    pub version: Version,
    /// Every header line in order: names as sent, values trimmed of the
    /// white space around them. Repeated names stay repeated.
    pub headers: Vec<(String, String)>,
    /// The validated `Content-Length`, if the request has one.
    pub content_length: Option<u64>,
    /// How the body is framed: where it ends.
    pub framing: BodyFraming,
}

/// Where a request body ends (RFC 9112, section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No `Content-Length` and no `Transfer-Encoding`: no body at all.
    Empty,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// `Transfer-Encoding: chunked`: chunks follow, ending with a zero-size
    /// chunk. This stage's reader does not decode it, and refuses it (501).
    Chunked,
}

impl Request {
    /// Every value of the header `name`, in order; names compare
    /// case-insensitively (RFC 9110, section 5.1).
    pub fn header_values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The target before the first `?`, still percent-encoded.
    pub fn path(&self) -> &str {
        split_target(&self.target).0
    }

    /// The target after the first `?`, or empty; never decoded.
    pub fn query(&self) -> &str {
        split_target(&self.target).1
    }

    /// The first value of the header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).next()
    }
}

// ANCHOR: split_target
/// Splits a request target at its first `?` into path and query.
///
/// Only the first `?` counts: `/a?b?c` has the query `b?c`. Neither part is
/// percent-decoded here, because decoding first would turn `%3F` into a `?`
/// and move the split.
pub fn split_target(target: &str) -> (&str, &str) {
    // ANCHOR: ex-02.1-split-target
    target.split_once('?').unwrap_or((target, ""))
    // ANCHOR_END: ex-02.1-split-target
}
// ANCHOR_END: split_target

#[cfg(test)]
mod tests {
    use super::split_target;

    #[test]
    fn splits_at_the_first_question_mark_only() {
        assert_eq!(split_target("/a/b?x=1&y=2"), ("/a/b", "x=1&y=2"));
        assert_eq!(split_target("/a?b?c"), ("/a", "b?c"));
        assert_eq!(split_target("/a%3Fb"), ("/a%3Fb", ""));
        assert_eq!(split_target("/?"), ("/", ""));
        assert_eq!(split_target("*"), ("*", ""));
    }
}
