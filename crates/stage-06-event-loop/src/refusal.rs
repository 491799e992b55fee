//! Why a request is answered by the server instead of the app.
//!
//! Each cause stays typed until the one place that writes the answer
//! (`send_refusal`, through the loop's `refuse_and_close`), which asks it
//! for its status and its message.

use std::fmt;

use stage_02::ParseError;
use stage_05::decode::DecodeError;

/// A request the app never sees.
#[derive(Debug)]
pub enum Refusal {
    /// The head is malformed or over a limit (400, 413, 414, 431, 501, 505).
    Head(ParseError),
    /// The body's framing is malformed, or the body over the limit (400, 413).
    Body(DecodeError),
    /// An `Expect` other than `100-continue` (417, RFC 9110 section 10.1.1).
    Expectation,
    /// The client stalled in the middle of its request (408).
    TimedOut,
    /// The server could not prepare the call (500): environ could not be
    /// built, say. The traceback goes to the log.
    ServerError,
}

impl Refusal {
    /// The status code to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Head(error) => error.status().0,
            Refusal::Body(error) => error.status(),
            Refusal::Expectation => 417,
            Refusal::TimedOut => 408,
            Refusal::ServerError => 500,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Head(error) => error.fmt(f),
            Refusal::Body(error) => error.fmt(f),
            Refusal::Expectation => f.write_str("only the 100-continue expectation is supported"),
            Refusal::TimedOut => f.write_str("timed out waiting for the request"),
            Refusal::ServerError => f.write_str("Internal Server Error"),
        }
    }
}
