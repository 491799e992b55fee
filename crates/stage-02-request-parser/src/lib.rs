//! # Stage 02: parsing requests
//!
//! An HTTP/1.1 request parser built on [`httparse`], plus the loop that
//! feeds it bytes from a socket. httparse does the tokenising; this crate
//! adds what a server must check on top of it, and explains why:
//!
//! - bytes arrive in pieces, so parsing says *incomplete* ([`Parsed::Partial`])
//!   or *complete*, and *malformed* is a separate error ([`ParseError`]);
//! - header values are decoded as latin-1, which keeps every byte;
//! - repeated headers are kept in order, never "last one wins";
//! - `Content-Length` is validated digit by digit, without overflow;
//! - limits on the request line, header count and header bytes bound how
//!   much a client can make us buffer;
//! - leniencies httparse allows but a server should refuse: bare LF line
//!   endings, a missing or repeated `Host`, and versions other than 1.0/1.1;
//! - the request target must be in one of the forms of RFC 9112 section
//!   3.2 that its method may use (`/path`, `http://host/path`, `*` with
//!   OPTIONS only), without a `#` fragment; `CONNECT` asks for a tunnel,
//!   which only a proxy opens, and is refused with 501.
//!
//! Each error maps to a status code (400, 413, 414, 431, 501, 505).
//!
//! [`parse_request`] is the parser as the chapter shows it;
//! [`parse::fast::parse_request`] is the same parser for a busy server's hot
//! path, with its header slots left uninitialised, and a property test that
//! the two agree.
//!
//! Left out on purpose: decoding `Transfer-Encoding: chunked` request
//! bodies (the parser validates the framing, and [`read_request`] refuses a
//! chunked body with 501; chapter 5 decodes them), percent-decoding of the path
//! (chapter 4 does it when building the WSGI `environ`), and keep-alive.
//! Chapter 2 of the book walks through this crate.
//!
//! Built on [`httparse`] for tokenising, and on stage-01 for showing bytes
//! with CR and LF visible. Every later server stage parses with
//! [`parse_request`], and takes its limit flags from [`cli::LimitArgs`].

pub mod cli;
pub mod describe;
pub mod error;
pub mod limits;
pub mod listen;
pub mod parse;
pub mod read;
pub mod request;

pub use cli::LimitArgs;
pub use describe::describe;
pub use error::ParseError;
pub use limits::Limits;
pub use listen::listen;
pub use parse::{Parsed, parse_request};
pub use read::{ReadError, read_head, read_request};
pub use request::{BodyFraming, Request, Version};
