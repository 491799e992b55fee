//! Turning a status, headers and a body into the bytes of a response.

use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use crate::clock::{Clock, SystemClock};
use crate::headers::{HeaderLines, InvalidResponse, check_header, push_latin1, push_line};
use crate::status::{Status, body_allowed};

// ANCHOR: framing
/// How the receiver finds the end of the body (RFC 9112, section 6.3).
/// A response must say one of these; a client left guessing either hangs
/// waiting for more or takes the next response for part of this body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: n`, then exactly `n` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`, then chunks ending with the last chunk.
    /// HTTP/1.1 only: an HTTP/1.0 client does not know the coding.
    Chunked,
    /// No length: the body ends when the server closes the connection.
    /// The writer adds `Connection: close` so the client knows.
    Close,
    /// No body at all: 1xx, 204 and 304 responses.
    NoBody,
}
// ANCHOR_END: framing

/// A whole response, built up step by step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code and reason phrase.
    pub status: Status,
    /// Headers in the order they will be written.
    pub headers: Vec<(String, String)>,
    /// The body; its length becomes `Content-Length`.
    pub body: Vec<u8>,
}

impl Response {
    /// An empty response with the standard reason phrase for `code`.
    pub fn new(code: u16) -> Response {
        Response {
            status: Status::new(code),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A plain-text response encoded as UTF-8.
    pub fn text(code: u16, text: &str) -> Response {
        Response::new(code)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(text.as_bytes().to_vec())
    }

    /// Adds a header after the ones already there.
    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: Vec<u8>) -> Response {
        self.body = body;
        self
    }
}

/// Writes responses, stamping each with `Date` and `Server`.
#[derive(Debug, Clone)]
pub struct ResponseWriter<C: Clock = SystemClock> {
    clock: C,
    server: Arc<str>,
    /// The last `Date` value and the second it is for: a busy server
    /// formats the date once a second, not once a response.
    date: Arc<Mutex<(u64, String)>>,
}

impl ResponseWriter<SystemClock> {
    /// A writer on the system clock; `server` goes in the `Server` header.
    pub fn new(server: &str) -> Self {
        ResponseWriter::with_clock(SystemClock, server)
    }
}

impl<C: Clock> ResponseWriter<C> {
    /// A writer whose `Date` comes from `clock`.
    pub fn with_clock(clock: C, server: &str) -> Self {
        ResponseWriter {
            clock,
            server: server.into(),
            date: Arc::default(),
        }
    }

    // ANCHOR: write_response
    /// The bytes of a whole response to a request with `method`.
    ///
    /// The body's length becomes `Content-Length`. A HEAD response gets the
    /// same headers as GET would, `Content-Length` included, but no body
    /// (RFC 9110, section 9.3.2).
    pub fn write(&self, response: &Response, method: &str) -> Result<Vec<u8>, InvalidResponse> {
        let code = response.status.code;
        let framing = if body_allowed(code) {
            Framing::Length(response.body.len() as u64)
        } else if response.body.is_empty() {
            Framing::NoBody
        } else {
            return Err(InvalidResponse::BodyNotAllowed(code));
        };
        let mut bytes = self.head(&response.status, &response.headers, framing)?;
        if method != "HEAD" {
            bytes.extend_from_slice(&response.body);
        }
        Ok(bytes)
    }
    // ANCHOR_END: write_response

    // ANCHOR: push_date
    /// Appends `Date: <now>`. The text is formatted anew only when the
    /// second changes: a busy server formats the date once a second, not
    /// once a response.
    fn push_date(&self, out: &mut Vec<u8>) {
        let now = self.clock.now();
        let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut cached = self
            .date
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cached.0 != second || cached.1.is_empty() {
            *cached = (second, httpdate::fmt_http_date(now));
        }
        push_line(out, "Date", &cached.1);
    }
    // ANCHOR_END: push_date

    // ANCHOR: head
    /// The bytes of a response head: status line, headers, empty line.
    ///
    /// Everything is checked before a byte is produced, so an invalid
    /// header yields an error and no half-written response. `Date` and
    /// `Server` are added unless `headers` has them; the framing header
    /// comes last, from `framing`.
    pub fn head(
        &self,
        status: &Status,
        headers: &[(String, String)],
        framing: Framing,
    ) -> Result<Vec<u8>, InvalidResponse> {
        let lines = HeaderLines::from_pairs(headers)?;
        self.head_with_connection(status, &lines, None, framing)
    }
    // ANCHOR_END: head

    // ANCHOR: head_with_connection
    /// [`head`](Self::head) for headers already checked into
    /// [`HeaderLines`], with the `Connection` header the server decides
    /// (`close` or `keep-alive`), written after the framing header.
    pub fn head_with_connection(
        &self,
        status: &Status,
        headers: &HeaderLines,
        connection: Option<&str>,
        framing: Framing,
    ) -> Result<Vec<u8>, InvalidResponse> {
        status.validate()?;
        if let Some(connection) = connection {
            check_header("Connection", connection)?;
        }
        check_framing_headers(headers, framing)?;

        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"HTTP/1.1 ");
        push_decimal(&mut out, status.code.into());
        out.push(b' ');
        push_latin1(&mut out, &status.reason);
        out.extend_from_slice(b"\r\n");

        if !headers.has_date() {
            self.push_date(&mut out);
        }
        if !headers.has_server() {
            push_line(&mut out, "Server", &self.server);
        }
        out.extend_from_slice(headers.as_bytes());
        // ANCHOR: head_framing
        match framing {
            Framing::Length(n) if headers.content_lengths().0 == 0 => {
                out.extend_from_slice(b"Content-Length: ");
                push_decimal(&mut out, n);
                out.extend_from_slice(b"\r\n");
            }
            Framing::Chunked => push_line(&mut out, "Transfer-Encoding", "chunked"),
            _ => {}
        }
        match connection {
            Some(connection) => push_line(&mut out, "Connection", connection),
            None if framing == Framing::Close && !headers.has_connection() => {
                push_line(&mut out, "Connection", "close")
            }
            None => {}
        }
        // ANCHOR_END: head_framing
        out.extend_from_slice(b"\r\n");
        Ok(out)
    }
    // ANCHOR_END: head_with_connection
}

/// The caller's own `Content-Length` or `Transfer-Encoding` must agree
/// with the framing; two different answers to "where does the body end"
/// are exactly what request smuggling feeds on.
fn check_framing_headers(headers: &HeaderLines, framing: Framing) -> Result<(), InvalidResponse> {
    let conflict = |what: &str| Err(InvalidResponse::FramingConflict(what.to_string()));
    if headers.has_transfer_encoding() {
        return conflict("Transfer-Encoding is set by the writer from the framing");
    }
    match (framing, headers.content_lengths()) {
        (_, (0, _)) => Ok(()),
        (Framing::Length(n), (1, Some(given))) if given == n => Ok(()),
        // A 304 may repeat the length of the representation it stands for.
        (Framing::NoBody, (1, _)) => Ok(()),
        _ => conflict("Content-Length does not match the body"),
    }
}

/// Appends `n` in decimal, without the allocation `to_string` would make.
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}
