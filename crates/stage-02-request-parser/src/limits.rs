//! How much a client may make the server read and hold.
//!
//! Without limits, a client that sends a 1 GB header line, or headers that
//! never end, makes the server buffer until memory runs out. Every real
//! server has these knobs; the defaults here are close to gunicorn's and
//! nginx's.

/// Size limits applied while a request is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line, CR LF excluded. Past it: 414 URI Too Long.
    pub max_request_line: usize,
    /// Most header lines. Past it: 431 Request Header Fields Too Large.
    pub max_headers: usize,
    /// Most bytes in the whole head, request line and empty line included.
    /// Past it: 431.
    pub max_head_bytes: usize,
    /// Largest body accepted. Past it: 413 Content Too Large.
    pub max_body_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8190,
            max_headers: 100,
            max_head_bytes: 64 * 1024,
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}
