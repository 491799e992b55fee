//! # Stage 03: building responses
//!
//! A response writer that gets the bytes right: the status line with its
//! reason phrase, headers in the order given, and always a clear end of
//! body, because a client can only find where a body ends if the server
//! says so (`Content-Length`, chunked transfer coding, or closing the
//! connection). It adds `Date` (from an injectable [`Clock`], so tests see
//! fixed bytes) and `Server`, and it sends no body where HTTP forbids one:
//! for HEAD requests, 1xx, 204 and 304.
//!
//! It refuses to write what would corrupt the message: a header name that
//! is not a token, or a value containing CR, LF, NUL or other control
//! characters, which is how header injection (response splitting) works.
//! On refusal it returns an error and writes nothing.
//!
//! Closing the connection ends a body too, and [`lingering_close`] does it
//! without losing the response to a reset.
//!
//! Left out on purpose: keep-alive (every response here is the last on its
//! connection; chapter 5), compression, and anything an application
//! decides (chapter 4 lets a Python app choose status, headers and body).
//! Chapter 3 of the book walks through this crate.
//!
//! Built on stage-02 (its strict decimal parser, for `Content-Length`) and
//! stage-01 (showing bytes). Every later server stage writes its responses
//! with [`ResponseWriter`].

pub mod chunked;
pub mod clock;
pub mod close;
pub mod headers;
pub mod response;
pub mod status;

pub use clock::{Clock, FixedClock, SystemClock};
pub use close::lingering_close;
pub use headers::{HeaderLines, InvalidResponse};
pub use response::{Framing, Response, ResponseWriter};
pub use status::{Status, body_allowed, reason_phrase};
