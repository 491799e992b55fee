//! Sending the bytes and reading the answer until EOF.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::url::Url;

/// How long to wait and how much to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchOptions {
    /// Give up on an address that does not accept within this time.
    pub connect_timeout: Duration,
    /// Give up when the server sends nothing for this long. Without it, a
    /// server that never answers (or never closes) would hang us forever.
    pub read_timeout: Duration,
    /// Stop reading past this many bytes rather than fill memory.
    pub max_response_bytes: u64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            max_response_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Why no complete response came back.
#[derive(Debug)]
pub enum FetchError {
    /// The host name did not resolve to any address.
    Resolve {
        /// The name that was looked up.
        host: String,
        /// What the resolver said.
        source: io::Error,
    },
    /// Nothing listens at the address: the connection was refused.
    Refused {
        /// The address that refused.
        addr: SocketAddr,
    },
    /// Connecting, sending or reading took longer than its timeout.
    TimedOut {
        /// What the client was doing.
        during: &'static str,
    },
    /// The response was larger than `max_response_bytes`.
    TooLarge {
        /// The limit that was passed.
        limit: u64,
    },
    /// Any other socket error.
    Io {
        /// What the client was doing.
        during: &'static str,
        /// The error from the operating system.
        source: io::Error,
    },
}

// ANCHOR: fetch_error_display
impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Resolve { host, source } => write!(f, "cannot resolve {host}: {source}"),
            FetchError::Refused { addr } => write!(f, "nothing is listening on {addr}"),
            FetchError::TimedOut { during } => write!(f, "timed out while {during}"),
            FetchError::TooLarge { limit } => {
                write!(
                    f,
                    "the response is larger than {limit} bytes; stopped reading"
                )
            }
            FetchError::Io { during, source } => write!(f, "error while {during}: {source}"),
        }
    }
}
// ANCHOR_END: fetch_error_display

impl std::error::Error for FetchError {}

// ANCHOR: fetch
/// Connects to `url`, sends `request` and returns every byte the server
/// sends back until it closes the connection.
pub fn fetch(url: &Url, request: &[u8], options: &FetchOptions) -> Result<Vec<u8>, FetchError> {
    let mut stream = connect(url, options.connect_timeout)?;
    stream
        .set_read_timeout(Some(options.read_timeout))
        .and_then(|()| stream.set_write_timeout(Some(options.read_timeout)))
        .map_err(|source| FetchError::Io {
            during: "configuring the socket",
            source,
        })?;

    stream
        .write_all(request)
        .map_err(|e| io_error("sending the request", e))?;

    // We sent `Connection: close`, so the server marks the end of its
    // response by closing: read until `read` returns 0 (EOF).
    let mut response = Vec::new();
    let limit = options.max_response_bytes;
    (&mut stream)
        .take(limit + 1)
        .read_to_end(&mut response)
        .map_err(|e| io_error("reading the response", e))?;
    if response.len() as u64 > limit {
        return Err(FetchError::TooLarge { limit });
    }
    Ok(response)
}
// ANCHOR_END: fetch

/// Tries each address the host resolves to, in turn, as browsers do.
fn connect(url: &Url, timeout: Duration) -> Result<TcpStream, FetchError> {
    let addrs: Vec<SocketAddr> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|source| FetchError::Resolve {
            host: url.host.clone(),
            source,
        })?
        .collect();
    let mut last_error = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                last_error = Some(FetchError::Refused { addr });
            }
            Err(e) => last_error = Some(io_error("connecting", e)),
        }
    }
    Err(last_error.unwrap_or_else(|| FetchError::Resolve {
        host: url.host.clone(),
        source: io::Error::new(io::ErrorKind::NotFound, "no address found"),
    }))
}

/// Tells a timeout apart from other socket errors: std reports a read
/// timeout as `WouldBlock` on Unix and `TimedOut` on Windows.
fn io_error(during: &'static str, source: io::Error) -> FetchError {
    match source.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => FetchError::TimedOut { during },
        _ => FetchError::Io { during, source },
    }
}
