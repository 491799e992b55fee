//! # Stage 01: HTTP is just text
//!
//! A raw-socket HTTP/1.1 client, written on `std::net` alone. It builds the
//! few bytes of a request by hand, sends them, reads the answer until the
//! server closes the connection, and splits what came back into a status
//! line, headers and a body.
//!
//! What it leaves out on purpose: TLS (`https://`), redirects, keep-alive
//! (every request says `Connection: close`, so the server's EOF ends the
//! response), and chunked or length-based framing of the response body.
//! Chapter 1 of the book walks through this crate; chapter 3 shows the
//! server side of framing and chapter 5 keeps connections open.
//!
//! The [`visible`] module renders bytes with CR and LF made visible. Every
//! later stage, test and CLI uses it to show what really goes over the wire.

pub mod client;
pub mod request;
pub mod response;
pub mod url;
pub mod visible;

pub use client::{FetchError, FetchOptions, fetch};
pub use request::build_request;
pub use response::{MalformedResponse, RawResponse, split_response};
pub use url::{Url, UrlError};
pub use visible::visible;
