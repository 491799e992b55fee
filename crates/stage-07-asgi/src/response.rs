//! One response, from `http.response.start` to the last
//! `http.response.body`, turned into bytes with stage-03's writer.
//!
//! This is sans-IO, like the parser and the body decoder: it takes the
//! app's messages and appends bytes to an output, and never touches a
//! socket or Python, so its rules are tested from memory.
//!
//! The rules (ASGI HTTP spec, "Response Start" and "Response Body"):
//! the start is held until the first body message, so that the framing
//! can be chosen knowing whether the body comes in one piece (then it gets
//! a `Content-Length`) or several (chunked on HTTP/1.1, ended by the
//! close on HTTP/1.0); an app's own `Content-Length` is kept and held to;
//! its `Transfer-Encoding` is not trusted; HEAD, 204 and 304 get no body.

use std::fmt;

use stage_02::parse::latin1;
use stage_03::chunked::{LAST_CHUNK, encode_chunk};
use stage_03::{Framing, HeaderLines, InvalidResponse, ResponseWriter, Status, body_allowed};

/// How the app misused `send`: a programming error, logged with the
/// app's traceback; the bytes already on the wire stay well framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misuse {
    /// A second `http.response.start`.
    StartedTwice,
    /// A body before the start.
    BodyBeforeStart,
    /// A message after the last body.
    AfterComplete,
    /// A status or header the writer refuses (injection, bad name, a
    /// `Content-Length` that contradicts the body).
    Invalid(InvalidResponse),
    /// More body than the app's own `Content-Length` said: this many
    /// bytes were left.
    Overrun(u64),
    /// The last body came this many bytes before the app's own
    /// `Content-Length` was met.
    Underrun(u64),
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Misuse::StartedTwice => f.write_str("http.response.start sent twice"),
            Misuse::BodyBeforeStart => {
                f.write_str("http.response.body sent before http.response.start")
            }
            Misuse::AfterComplete => f.write_str("a message sent after the response was complete"),
            Misuse::Invalid(error) => write!(f, "invalid response: {error}"),
            Misuse::Overrun(n) => write!(
                f,
                "more body than the Content-Length announced ({n} bytes were left)"
            ),
            Misuse::Underrun(n) => write!(
                f,
                "the response ended {n} bytes short of its Content-Length"
            ),
        }
    }
}

impl std::error::Error for Misuse {}

/// Where the response stands.
#[derive(Debug)]
enum State {
    /// Nothing sent by the app yet.
    NotStarted,
    /// The start is held, checked, until the first body.
    Held {
        status: Status,
        headers: HeaderLines,
    },
    /// The head is out; more body is to come, framed this way. `left` is
    /// what an app-given `Content-Length` still expects.
    Streaming { framing: Framing, left: Option<u64> },
    /// The last body is out.
    Complete,
}

/// What the request decided about its response before the app ran.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// The request was HEAD: headers as for GET, no body bytes.
    pub head: bool,
    /// The request was HTTP/1.1 (chunked framing is allowed).
    pub http11: bool,
    /// The connection may carry another request after this one.
    pub keep_open: bool,
    /// An HTTP/1.0 client asked to keep the connection: say yes.
    pub announce: bool,
}

/// One response in progress.
#[derive(Debug)]
pub struct Response {
    state: State,
    request: Request,
    /// The status sent, for the access log (0 until the head is out).
    pub status: u16,
    /// Body bytes sent.
    pub body_bytes: u64,
    /// The headers the app started with, once its head is out (for the
    /// access log's `%({name}o)s`).
    sent_headers: Option<HeaderLines>,
}

impl Response {
    /// A response to a request with these properties.
    pub fn new(request: Request) -> Response {
        Response {
            state: State::NotStarted,
            request,
            status: 0,
            body_bytes: 0,
            sent_headers: None,
        }
    }

    /// The headers the app started its response with, once they are out.
    pub fn app_headers(&self) -> Option<&HeaderLines> {
        self.sent_headers.as_ref()
    }

    /// Whether the app has sent `http.response.start`.
    pub fn started(&self) -> bool {
        !matches!(self.state, State::NotStarted)
    }

    /// Whether the head has gone into the output.
    pub fn head_sent(&self) -> bool {
        matches!(self.state, State::Streaming { .. } | State::Complete)
    }

    /// Whether the last body has been sent.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete)
    }

    /// Whether the connection may carry another request after this one.
    pub fn keeps_connection(&self) -> bool {
        self.request.keep_open
    }

    /// The connection will not carry another request (the app left body
    /// unread, say): the head says `Connection: close`.
    pub fn close_after(&mut self) {
        self.request.keep_open = false;
    }

    // ANCHOR: start
    /// `http.response.start`: checks the status and every header now (an
    /// error here is the app's, raised from its `send`, before anything
    /// went out), and holds them until the first body.
    pub fn start(&mut self, code: u16, headers: &[(&[u8], &[u8])]) -> Result<(), Misuse> {
        if self.started() {
            return Err(Misuse::StartedTwice);
        }
        let status = Status::new(code);
        status.validate().map_err(Misuse::Invalid)?;
        let mut lines = HeaderLines::new();
        for (name, value) in headers {
            let (name, value) = (latin1(name), latin1(value));
            // The framing is the server's to choose, so the app's own
            // `Transfer-Encoding` is dropped (uvicorn instead honours an
            // app's `chunked`), and `Connection` is decided by the
            // keep-alive rules.
            if name.eq_ignore_ascii_case("transfer-encoding") {
                continue;
            }
            if name.eq_ignore_ascii_case("connection") {
                if value
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("close"))
                {
                    self.request.keep_open = false;
                }
                continue;
            }
            lines.push(&name, &value).map_err(Misuse::Invalid)?;
        }
        self.state = State::Held {
            status,
            headers: lines,
        };
        Ok(())
    }
    // ANCHOR_END: start

    // ANCHOR: body
    /// `http.response.body`: appends to `out` what goes on the wire for
    /// this piece: the head first if it was held, then the piece framed.
    /// On error nothing is appended.
    pub fn body(
        &mut self,
        writer: &ResponseWriter<impl stage_03::Clock>,
        data: &[u8],
        more: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Misuse> {
        match std::mem::replace(&mut self.state, State::Complete) {
            State::NotStarted => {
                self.state = State::NotStarted;
                Err(Misuse::BodyBeforeStart)
            }
            State::Complete => Err(Misuse::AfterComplete),
            State::Held { status, headers } => {
                let held = (status, headers);
                let result = self.first_body(writer, &held, data, more, out);
                if result.is_err() {
                    self.state = State::Held {
                        status: held.0,
                        headers: held.1,
                    };
                } else {
                    self.sent_headers = Some(held.1);
                }
                result
            }
            State::Streaming { framing, left } => self.more_body(framing, left, data, more, out),
        }
    }
    // ANCHOR_END: body

    /// The first body: the framing is decided, the head written.
    fn first_body(
        &mut self,
        writer: &ResponseWriter<impl stage_03::Clock>,
        (status, headers): &(Status, HeaderLines),
        data: &[u8],
        more: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Misuse> {
        // ANCHOR: choose_framing
        let declared = match headers.content_lengths() {
            (0, _) => None,
            (_, length) => length,
        };
        // ANCHOR: ex-09.3-choose-framing
        let framing = if !body_allowed(status.code) {
            Framing::NoBody
        } else if let Some(n) = declared {
            Framing::Length(n)
        } else if !more {
            // The whole body in one message: its length is known.
            Framing::Length(data.len() as u64)
        } else if self.request.http11 {
            Framing::Chunked
        } else {
            Framing::Close
        };
        // ANCHOR_END: ex-09.3-choose-framing
        if framing == Framing::Close {
            self.request.keep_open = false;
        }
        // ANCHOR_END: choose_framing
        let connection = match (self.request.keep_open, self.request.announce) {
            (false, _) => Some("close"),
            (true, true) => Some("keep-alive"),
            (true, false) => None,
        };
        let head = writer
            .head_with_connection(status, headers, connection, framing)
            .map_err(Misuse::Invalid)?;
        let left = match framing {
            Framing::Length(n) => Some(n),
            _ => None,
        };
        // Checked before the head goes out: a one-piece body that
        // contradicts its own length becomes a 500, not a bad message.
        if !self.request.head && framing != Framing::NoBody {
            if let Some(n) = left {
                if data.len() as u64 > n || (!more && (data.len() as u64) < n) {
                    return Err(if data.len() as u64 > n {
                        Misuse::Overrun(n)
                    } else {
                        Misuse::Underrun(n)
                    });
                }
            }
        }
        out.extend_from_slice(&head);
        self.status = status.code;
        self.more_body(framing, left, data, more, out)
    }

    /// A piece of body after the head, framed as decided.
    fn more_body(
        &mut self,
        framing: Framing,
        left: Option<u64>,
        data: &[u8],
        more: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Misuse> {
        // ANCHOR: held_to_length
        let silent = self.request.head || framing == Framing::NoBody;
        // ANCHOR: ex-09.4-hold-to-the-length
        let left = match left {
            Some(n) if !silent && data.len() as u64 > n => {
                self.state = State::Streaming {
                    framing,
                    left: Some(n),
                };
                return Err(Misuse::Overrun(n));
            }
            Some(n) if !silent => Some(n - data.len() as u64),
            other => other,
        };
        // ANCHOR_END: ex-09.4-hold-to-the-length
        if !silent {
            match framing {
                Framing::Chunked => encode_chunk(out, data),
                _ => out.extend_from_slice(data),
            }
            self.body_bytes += data.len() as u64;
        }
        // ANCHOR_END: held_to_length
        if more {
            self.state = State::Streaming { framing, left };
            return Ok(());
        }
        if framing == Framing::Chunked && !self.request.head {
            out.extend_from_slice(LAST_CHUNK);
        }
        match left {
            Some(n) if n > 0 && !silent => {
                self.state = State::Streaming { framing, left };
                Err(Misuse::Underrun(n))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
