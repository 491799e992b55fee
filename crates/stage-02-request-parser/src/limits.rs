//! How much a client may make the server read and hold.
//!
//! Without limits, a client that sends a 1 GB header line, or headers that
//! never end, makes the server buffer until memory runs out. Every real
//! server has these knobs, and the defaults here follow the servers in
//! front of which a WSGI server usually runs:
//!
//! - nginx reads a request line or a header line into an 8 KiB buffer, and
//!   holds at most four of them for one request (`large_client_header_buffers
//!   4 8k`): a line of up to 8 KiB, a head of about 32 KiB at most;
//! - Node.js refuses a head above 16 KiB;
//! - gunicorn: a request line of 4094 bytes, a header line of 8190 bytes,
//!   100 header lines.
//!
//! A head of 32 KiB, 100 lines, and a request line that fits nginx's
//! buffer with its CR LF: whatever nginx lets through passes here too, and
//! a client alone can make the server hold no more than nginx would.

/// Size limits applied while a request is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line, CR LF excluded. Past it: 414 URI Too Long.
    /// Default 8190 bytes: with its CR LF the line fills nginx's 8 KiB
    /// buffer exactly.
    pub max_request_line: usize,
    /// Most header lines. Past it: 431 Request Header Fields Too Large.
    /// Default 100, gunicorn's.
    pub max_headers: usize,
    /// Most bytes in the whole head, request line and empty line included.
    /// Past it: 431. Default 32 KiB, what nginx holds at most for one head
    /// (Node.js allows 16 KiB; big cookies are what usually comes near).
    pub max_head_bytes: usize,
    /// Largest body accepted. Past it: 413 Content Too Large. Default
    /// 16 MiB.
    pub max_body_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8190,
            max_headers: 100,
            max_head_bytes: 32 * 1024,
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}
