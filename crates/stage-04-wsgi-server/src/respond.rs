//! `start_response` and `write()`: the responder, which turns what the
//! application says into bytes on a [`Sink`]. Calling the application and
//! sending what it returns is [`crate::run`]'s.
//!
//! The rule that shapes this module (PEP 3333, "Buffering and Streaming"):
//! `start_response` only *records* the status and headers. They go on the
//! wire with the first non-empty piece of body, the first `write()`, or at
//! the end of an empty body. Until then the application may change its
//! mind: if it fails, it calls `start_response` again with `exc_info` and
//! an error page, and the client never sees the first status. Once the
//! head is out, nothing can be taken back; an error then can only abort
//! the connection.

use std::io::{self, Write};
use std::sync::Arc;

use pyo3::exceptions::{PyConnectionError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use stage_02::parse::parse_decimal;
use stage_03::chunked::{LAST_CHUNK, encode_chunk};
use stage_03::{Clock, Framing, HeaderLines, ResponseWriter, Status, body_allowed};

/// The response writer a server stage shares with its responders.
pub type Writer = ResponseWriter<Arc<dyn Clock + Send + Sync>>;

/// What the application asked for in `start_response`.
#[derive(Debug, Clone)]
pub(crate) struct Started {
    pub(crate) status: Status,
    headers: HeaderLines,
}

// ANCHOR: sink
/// Where a responder's bytes go.
pub trait Sink: Send + Sync {
    /// Sends all of `bytes`; `py` is there for a sink that may block, to
    /// let other Python threads run meanwhile.
    fn send(&mut self, py: Python<'_>, bytes: &[u8]) -> io::Result<()>;
}

/// A socket, or any writer that may block: written with the GIL released,
/// so that a slow client does not stop other Python threads while the
/// kernel takes the data.
pub struct Blocking<W>(pub W);

impl<W: Write + Send + Sync> Sink for Blocking<W> {
    fn send(&mut self, py: Python<'_>, bytes: &[u8]) -> io::Result<()> {
        py.detach(|| self.0.write_all(bytes))
    }
}
// ANCHOR_END: sink

// ANCHOR: after_response
/// What happens to the connection after this response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterResponse {
    /// The connection closes: `Connection: close`, and a body of unknown
    /// length ends with the close. Every response of stage-04.
    Close,
    /// The connection stays open for another request, so every body needs
    /// a length or chunks. `http11` allows chunked framing;
    /// `announce` adds `Connection: keep-alive`, which an HTTP/1.0 client
    /// needs to hear.
    KeepOpen {
        /// The request was HTTP/1.1, which understands chunked bodies.
        http11: bool,
        /// Say `Connection: keep-alive` (for HTTP/1.0 clients).
        announce: bool,
    },
}
// ANCHOR_END: after_response

// ANCHOR: responder
/// The object behind `start_response` and `write` for one request.
#[pyclass(module = "stage04")]
pub struct Responder {
    /// Where the response goes (the client's socket); `None` once the
    /// request is over, so that an app that keeps `write` around cannot
    /// write into a later request.
    out: Option<Box<dyn Sink>>,
    pub(crate) writer: Writer,
    after: AfterResponse,
    pub(crate) head_request: bool,
    pub(crate) started: Option<Started>,
    /// Set once the status line and headers are on the wire.
    pub(crate) framing: Option<Framing>,
    /// The body length, when known before any byte is sent.
    pub(crate) known_length: Option<u64>,
    pub(crate) body_bytes: u64,
    pub(crate) client_gone: bool,
}
// ANCHOR_END: responder

impl Responder {
    /// A responder writing to `out` for a request with `method`.
    pub fn new(
        out: Box<dyn Sink>,
        writer: Writer,
        method: &str,
        after: AfterResponse,
    ) -> Responder {
        Responder {
            out: Some(out),
            writer,
            after,
            head_request: method == "HEAD",
            started: None,
            framing: None,
            known_length: None,
            body_bytes: 0,
            client_gone: false,
        }
    }

    /// Ends the responder's use of the connection, handing back its way
    /// to the client: a server may give it to the next response.
    pub fn release(&mut self) -> Option<Box<dyn Sink>> {
        self.out.take()
    }

    /// The client has gone: nothing more can reach it.
    pub fn client_went_away(&mut self) {
        self.client_gone = true;
    }

    /// The headers the app gave `start_response`, as checked; `None`
    /// before it was called. (A server's access log may show them.)
    pub fn app_headers(&self) -> Option<&HeaderLines> {
        self.started.as_ref().map(|started| &started.headers)
    }

    pub(crate) fn headers_sent(&self) -> bool {
        self.framing.is_some()
    }

    /// Sends bytes to the client, or says it went away.
    pub(crate) fn send(&mut self, py: Python<'_>, bytes: &[u8]) -> PyResult<()> {
        let Some(out) = &mut self.out else {
            return Err(PyRuntimeError::new_err(
                "this request is over; its write() can no longer be used",
            ));
        };
        out.send(py, bytes).map_err(|e| {
            self.client_gone = true;
            PyConnectionError::new_err(format!("the client went away: {e}"))
        })
    }

    // ANCHOR: send_head
    /// Puts the status line and headers on the wire, choosing the framing.
    pub(crate) fn send_head(&mut self, py: Python<'_>) -> PyResult<()> {
        let Some(started) = &self.started else {
            return Err(PyRuntimeError::new_err(
                "the application sent body before calling start_response()",
            ));
        };
        let framing = if !body_allowed(started.status.code) {
            Framing::NoBody
        } else if let (_, Some(length)) = started.headers.content_lengths() {
            Framing::Length(length)
        } else if let Some(length) = self.known_length {
            // The writer adds the Content-Length of a Length framing.
            Framing::Length(length)
        } else if let AfterResponse::KeepOpen { http11: true, .. } = self.after {
            // Length unknown, connection staying open: chunks.
            Framing::Chunked
        } else {
            // Length unknown: the end of the body is the end of the connection.
            Framing::Close
        };
        let connection = match (self.after, framing) {
            (AfterResponse::KeepOpen { announce: true, .. }, f) if f != Framing::Close => {
                Some("keep-alive")
            }
            (AfterResponse::KeepOpen { .. }, f) if f != Framing::Close => None,
            _ => Some("close"),
        };
        let head = self
            .writer
            .head_with_connection(&started.status, &started.headers, connection, framing)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        self.send(py, &head)?;
        self.framing = Some(framing);
        Ok(())
    }
    // ANCHOR_END: send_head

    // ANCHOR: send_body
    /// Sends one piece of body, sending the head first if it is not out.
    pub(crate) fn send_body(&mut self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        if !self.headers_sent() {
            self.send_head(py)?;
        }
        let code = self.started.as_ref().map_or(200, |s| s.status.code);
        if data.is_empty() || self.head_request || !body_allowed(code) {
            return Ok(());
        }
        // Never more than the app's own Content-Length: extra bytes would
        // be read by the client as the start of another response.
        let room = match self.framing {
            Some(Framing::Length(length)) => length.saturating_sub(self.body_bytes),
            _ => u64::MAX,
        };
        let take = usize::try_from(room).unwrap_or(usize::MAX).min(data.len());
        if self.framing == Some(Framing::Chunked) {
            let mut chunk = Vec::with_capacity(take + 16);
            encode_chunk(&mut chunk, &data[..take]);
            self.send(py, &chunk)?;
        } else {
            self.send(py, &data[..take])?;
        }
        self.body_bytes += take as u64;
        if take < data.len() {
            return Err(PyRuntimeError::new_err(format!(
                "the application sent more than its Content-Length of {} bytes",
                self.body_bytes
            )));
        }
        Ok(())
    }
    // ANCHOR_END: send_body

    /// The body is complete: an empty body still needs its head sent, a
    /// chunked body its last chunk, and a body shorter than its
    /// Content-Length is an error.
    pub fn end_body(&mut self, py: Python<'_>) -> PyResult<()> {
        if !self.headers_sent() {
            self.send_head(py)?;
        }
        match self.framing {
            Some(Framing::Length(length)) if !self.head_request && self.body_bytes < length => {
                Err(PyRuntimeError::new_err(format!(
                    "the application sent {} bytes but its Content-Length said {length}",
                    self.body_bytes
                )))
            }
            Some(Framing::Chunked) if !self.head_request => self.send(py, LAST_CHUNK),
            _ => Ok(()),
        }
    }

    /// Whether the connection can carry another request after this
    /// response, as far as the response is concerned.
    pub(crate) fn leaves_connection_reusable(&self) -> bool {
        matches!(self.after, AfterResponse::KeepOpen { .. })
            && !matches!(self.framing, None | Some(Framing::Close))
    }
}

#[pymethods]
impl Responder {
    // ANCHOR: start_response
    /// `start_response(status, headers, exc_info=None)`, PEP 3333. The
    /// responder itself is the callable the app gets as `start_response`:
    /// handing over a bound method instead would make a new object for
    /// every request.
    #[pyo3(signature = (status, headers, exc_info = None))]
    fn __call__<'py>(
        slf: &Bound<'py, Self>,
        status: &Bound<'py, PyAny>,
        headers: &Bound<'py, PyAny>,
        exc_info: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let exc_info = exc_info.filter(|info| !info.is_none());
        {
            let this = slf.borrow();
            match exc_info {
                // Too late to change the response: re-raise the app's error
                // so that it propagates, and the connection is aborted.
                // ANCHOR: ex-04.6-exc-info
                Some(info) if this.headers_sent() => {
                    return Err(PyErr::from_value(info.get_item(1)?));
                }
                // ANCHOR_END: ex-04.6-exc-info
                Some(_) => {}
                None if this.started.is_some() => {
                    return Err(PyRuntimeError::new_err(
                        "start_response() called a second time without exc_info",
                    ));
                }
                None => {}
            }
        }
        let started = check_start(status, headers)?;
        // ANCHOR: ex-04.4-defer-headers
        slf.borrow_mut().started = Some(started);
        // ANCHOR_END: ex-04.4-defer-headers
        slf.getattr(intern!(slf.py(), "write"))
    }
    // ANCHOR_END: start_response

    /// `write(data)`: the legacy imperative API; the data goes out at once.
    fn write(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = data.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(format!("write() takes bytes, not {}", type_name(data)))
        })?;
        if self.started.is_none() {
            return Err(PyRuntimeError::new_err(
                "write() called before start_response()",
            ));
        }
        // The first write() sends the head even when `data` is empty.
        if !self.headers_sent() {
            self.send_head(py)?;
        }
        self.send_body(py, data.as_bytes())
    }
}

/// Hop-by-hop headers describe one connection, which is the server's
/// business; an application may not set them (PEP 3333).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

// ANCHOR: check_start
/// Checks what the app passed to `start_response`, before anything is
/// recorded: a bad status or header is the app's bug, raised back to it.
fn check_start(status: &Bound<'_, PyAny>, headers: &Bound<'_, PyAny>) -> PyResult<Started> {
    // ANCHOR: check_status
    let status = status
        .cast::<PyString>()
        .map_err(|_| {
            PyTypeError::new_err(format!("status must be a str, not {}", type_name(status)))
        })?
        .to_cow()?;
    if status.as_bytes().get(3) != Some(&b' ') {
        return Err(PyValueError::new_err(format!(
            "status {status:?} must look like \"200 OK\""
        )));
    }
    let status = Status::parse(&status).map_err(|e| PyValueError::new_err(e.to_string()))?;
    // ANCHOR_END: check_status

    let list = headers.cast::<PyList>().map_err(|_| {
        PyTypeError::new_err(format!(
            "headers must be a list of (name, value) tuples, not {}",
            type_name(headers)
        ))
    })?;
    let mut checked = HeaderLines::new();
    for item in list.iter() {
        let Some((name, value)) = str_pair(&item) else {
            return Err(PyTypeError::new_err(format!(
                "each header must be a (str, str) tuple, not {}",
                item.repr()?
            )));
        };
        // Borrowed from the Python strings, not copied: the header lines
        // copy them once, as the bytes that will be written.
        let (name, value) = (name.to_str()?, value.to_str()?);
        // ANCHOR: check_header_item
        if HOP_BY_HOP.iter().any(|hop| name.eq_ignore_ascii_case(hop)) {
            return Err(PyValueError::new_err(format!(
                "hop-by-hop header {name:?} is the server's to set, not the application's"
            )));
        }
        if name.eq_ignore_ascii_case("content-length") {
            let length = parse_decimal(value.trim()).ok_or_else(|| {
                PyValueError::new_err(format!("Content-Length {value:?} is not a number"))
            })?;
            // The header lines keep the first length, checked as this one.
            if checked
                .content_lengths()
                .1
                .is_some_and(|seen| seen != length)
            {
                return Err(PyValueError::new_err(
                    "two different Content-Length headers",
                ));
            }
        }
        // ANCHOR_END: check_header_item
        checked
            .push(name, value)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
    }
    Ok(Started {
        status,
        headers: checked,
    })
}
// ANCHOR_END: check_start

/// The two items of a header tuple, if both are `str`.
fn str_pair<'py>(item: &Bound<'py, PyAny>) -> Option<(Bound<'py, PyString>, Bound<'py, PyString>)> {
    let pair = item.cast::<PyTuple>().ok().filter(|t| t.len() == 2)?;
    let text = |index| pair.get_item(index).ok()?.cast_into::<PyString>().ok();
    Some((text(0)?, text(1)?))
}

pub(crate) fn type_name(object: &Bound<'_, PyAny>) -> String {
    object
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}
