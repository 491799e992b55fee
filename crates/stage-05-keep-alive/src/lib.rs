//! # Stage 05: keep-alive
//!
//! The WSGI server of stage-04, with connections that stay open: HTTP/1.1
//! connections persist by default and HTTP/1.0 ones when asked, several
//! requests follow each other on one connection, pipelined requests are
//! answered in order, and every message on the connection is framed
//! exactly, because on a persistent connection the only way to find the
//! next request is to know where this one ends.
//!
//! It reuses stage-04 as a library (app loading, `environ`,
//! `start_response`, the responder) and stage-02's parser, and adds only
//! what keep-alive changes: the connection loop ([`server`]), a sans-IO
//! body decoder that frames a body by `Content-Length` or by a strict
//! chunked decoder, counts it against the limit and decides on
//! `Expect: 100-continue` ([`decode`], [`chunked`]), a `wsgi.input` that
//! streams from the socket with bounded memory ([`body`], [`input`]), the
//! keep-alive decision ([`persist`]), and the timeouts and limits a
//! persistent connection needs.
//!
//! Left out on purpose: serving more than one connection at a time. While
//! one client holds an idle keep-alive connection, every other client
//! waits, up to the keep-alive timeout: the single-threaded trap, which is
//! why gunicorn's sync workers do not keep connections alive. Chapter 6
//! fixes it with an event loop. Chapter 5 of the book walks through this
//! crate.

pub mod body;
pub mod chunked;
pub mod decode;
pub mod input;
pub mod persist;
pub mod replay;
pub mod request_error;
pub mod server;

pub use server::{Server, ServerConfig};

#[cfg(test)]
mod tests {
    use stage_02::{Limits, Parsed, Request, parse_request};

    /// The request a whole head in `text` parses to (the modules' tests).
    pub(crate) fn request(text: &str) -> Request {
        match parse_request(text.as_bytes(), &Limits::default()) {
            Ok(Parsed::Complete { request, .. }) => request,
            other => panic!("{other:?}"),
        }
    }
}
