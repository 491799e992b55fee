//! `start_response`, `write()`, and sending what the application returns.
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
use std::time::Duration;

use pyo3::exceptions::{PyConnectionError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyIterator, PyList, PyString, PyTuple};
use stage_02::parse::parse_decimal;
use stage_03::chunked::{LAST_CHUNK, encode_chunk};
use stage_03::{Clock, Framing, HeaderLines, Response, ResponseWriter, Status, body_allowed};

use crate::python::traceback_text;

/// The response writer a server stage shares with its responders.
pub type Writer = ResponseWriter<Arc<dyn Clock + Send + Sync>>;

/// What the application asked for in `start_response`.
#[derive(Debug, Clone)]
struct Started {
    status: Status,
    headers: HeaderLines,
}

/// How one request went, for the access log and the connection's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The status that went out (500 if the app failed before its head).
    pub status: u16,
    /// Body bytes written.
    pub body_bytes: u64,
    /// The app's exception, with its traceback, if it raised one.
    pub error: Option<String>,
    /// The head was out when things went wrong: the connection must be
    /// aborted so that the client cannot take a cut body for a whole one.
    pub abort: bool,
    /// The client went away before the response was written.
    pub client_gone: bool,
    /// The response is complete and framed so that the connection can
    /// carry another request (chapter 5); always false at this stage.
    pub reusable: bool,
}

// ANCHOR: after_response
/// What happens to the connection after this response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterResponse {
    /// The connection closes: `Connection: close`, and a body of unknown
    /// length ends with the close. Every response of stage-04.
    Close,
    /// The connection stays open for another request (chapter 5), so every
    /// body needs a length or chunks. `http11` allows chunked framing;
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

// An exception that a server raises *into* the application while it reads
// the request body (a malformed chunk, a body over the limit), carrying the
// status to answer with: `RequestError(400, "why")`. If the app lets it
// propagate, the client gets that status instead of a 500.
pyo3::create_exception!(
    stage04,
    RequestError,
    pyo3::exceptions::PyOSError,
    "The request body is at fault: args are (status, message)."
);

// ANCHOR: responder
/// The object behind `start_response` and `write` for one request.
#[pyclass(module = "stage04")]
pub struct Responder {
    /// Where the response goes (the client's socket); `None` once the
    /// request is over, so that an app that keeps `write` around cannot
    /// write into a later request.
    out: Option<Box<dyn Write + Send + Sync>>,
    writer: Writer,
    after: AfterResponse,
    head_request: bool,
    started: Option<Started>,
    /// Set once the status line and headers are on the wire.
    framing: Option<Framing>,
    /// The body length, when known before any byte is sent.
    known_length: Option<u64>,
    body_bytes: u64,
    client_gone: bool,
    /// The output is a buffer in memory (chapter 6), not a socket.
    out_is_memory: bool,
}
// ANCHOR_END: responder

impl Responder {
    /// A responder writing to `out` for a request with `method`.
    pub fn new(
        out: Box<dyn Write + Send + Sync>,
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
            out_is_memory: false,
        }
    }

    /// Marks the output as a buffer in memory: writing to it never blocks,
    /// so the GIL is kept while writing (chapter 6's event loop).
    pub fn writing_to_memory(mut self) -> Responder {
        self.out_is_memory = true;
        self
    }

    /// Ends the responder's use of the connection.
    pub fn release(&mut self) {
        self.out = None;
    }

    fn headers_sent(&self) -> bool {
        self.framing.is_some()
    }

    /// Writes bytes with the GIL released, so that a slow client does not
    /// stop other Python threads while the kernel takes the data.
    fn send(&mut self, py: Python<'_>, bytes: &[u8]) -> PyResult<()> {
        let Some(out) = &mut self.out else {
            return Err(PyRuntimeError::new_err(
                "this request is over; its write() can no longer be used",
            ));
        };
        let result = if self.out_is_memory {
            out.write_all(bytes) // a memcpy: not worth releasing the GIL for
        } else {
            py.detach(|| out.write_all(bytes))
        };
        result.map_err(|e| {
            self.client_gone = true;
            PyConnectionError::new_err(format!("the client went away: {e}"))
        })
    }

    // ANCHOR: send_head
    /// Puts the status line and headers on the wire, choosing the framing.
    fn send_head(&mut self, py: Python<'_>) -> PyResult<()> {
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
            // Length unknown, connection staying open: chunks (chapter 5).
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
    fn send_body(&mut self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
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
    fn finish_body(&mut self, py: Python<'_>) -> PyResult<()> {
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
    fn leaves_connection_reusable(&self) -> bool {
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

fn type_name(object: &Bound<'_, PyAny>) -> String {
    object
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

// ANCHOR: run_app
/// Calls the application and sends its response; never fails, never
/// panics: whatever happens is in the [`Outcome`].
pub fn run_app(
    py: Python<'_>,
    app: &Bound<'_, PyAny>,
    environ: Bound<'_, PyDict>,
    responder: &Bound<'_, Responder>,
) -> Outcome {
    match call(app, environ, responder) {
        Err(error) => conclude(py, responder, Some(error)),
        Ok(body) => {
            let sent = send_result(py, &body, responder);
            finish(py, &body, responder, sent)
        }
    }
}
// ANCHOR_END: run_app

/// `application(environ, start_response)`, the one call WSGI is about.
fn call<'py>(
    app: &Bound<'py, PyAny>,
    environ: Bound<'py, PyDict>,
    responder: &Bound<'py, Responder>,
) -> PyResult<Bound<'py, PyAny>> {
    app.call1((environ, responder))
}

// ANCHOR: finish
/// The end of a response, however it went: close the result, then turn
/// what happened into an [`Outcome`].
fn finish(
    py: Python<'_>,
    body: &Bound<'_, PyAny>,
    responder: &Bound<'_, Responder>,
    sent: PyResult<()>,
) -> Outcome {
    // ANCHOR: ex-04.5-close-always
    // close() is called whatever happened, exactly once: it is how
    // the app releases what it holds (files, database cursors).
    let closed = call_close(body);
    let error = sent.and(closed).err();
    // ANCHOR_END: ex-04.5-close-always
    conclude(py, responder, error)
}
// ANCHOR_END: finish

// ANCHOR: send_result
/// Iterates the app's result and sends each piece as it comes.
fn send_result(
    py: Python<'_>,
    body: &Bound<'_, PyAny>,
    responder: &Bound<'_, Responder>,
) -> PyResult<()> {
    for piece in pieces_of(body, responder)? {
        send_piece(py, &piece?, responder)?;
    }
    responder.try_borrow_mut()?.finish_body(py)
}
// ANCHOR_END: send_result

/// An iterator over the app's result, noting first whether its length is
/// already known: a one-item list's is, before a byte is sent, so it can
/// go out with a Content-Length (PEP 3333 suggests exactly this).
fn pieces_of<'py>(
    body: &Bound<'py, PyAny>,
    responder: &Bound<'py, Responder>,
) -> PyResult<Bound<'py, PyIterator>> {
    if let Ok(list) = body.cast::<PyList>() {
        if let (1, Ok(only)) = (list.len(), list.get_item(0)) {
            if let Ok(bytes) = only.cast::<PyBytes>() {
                responder.try_borrow_mut()?.known_length = Some(bytes.as_bytes().len() as u64);
            }
        }
    }
    body.try_iter()
}

/// Sends one piece of the app's result, which must be bytes.
fn send_piece(
    py: Python<'_>,
    piece: &Bound<'_, PyAny>,
    responder: &Bound<'_, Responder>,
) -> PyResult<()> {
    let bytes = piece.cast::<PyBytes>().map_err(|_| {
        PyTypeError::new_err(format!(
            "the application's body must yield bytes, not {}",
            type_name(piece)
        ))
    })?;
    // Borrowed only while sending: the app's next() may call
    // start_response or write, which need the responder too.
    responder.try_borrow_mut()?.send_body(py, bytes.as_bytes())
}

// ANCHOR: in_progress
/// A response sent one piece at a time, for a server that serves many
/// connections on one thread (chapter 6): between two pieces it can write
/// to the socket, serve others, and stop pulling from a generator while the
/// client is not reading.
pub struct InProgress {
    body: Py<PyAny>,
    pieces: Py<PyIterator>,
}

/// Where a response stands after a step.
pub enum Step {
    /// More body may follow.
    More(InProgress),
    /// The response is over.
    Done(Outcome),
}

/// Calls the application; its body is then sent by [`InProgress::step`].
pub fn begin(
    py: Python<'_>,
    app: &Bound<'_, PyAny>,
    environ: Bound<'_, PyDict>,
    responder: &Bound<'_, Responder>,
) -> Step {
    let body = match call(app, environ, responder) {
        Ok(body) => body,
        Err(error) => return Step::Done(conclude(py, responder, Some(error))),
    };
    match pieces_of(&body, responder) {
        Ok(pieces) => Step::More(InProgress {
            body: body.unbind(),
            pieces: pieces.unbind(),
        }),
        Err(error) => Step::Done(finish(py, &body, responder, Err(error))),
    }
}

impl InProgress {
    /// Sends the next piece of the body, or finishes the response.
    pub fn step(self, py: Python<'_>, responder: &Bound<'_, Responder>) -> Step {
        let body = self.body.bind(py).clone();
        let sent = match self.pieces.bind(py).clone().next() {
            None => responder
                .try_borrow_mut()
                .map_err(PyErr::from)
                .and_then(|mut r| r.finish_body(py)),
            Some(Err(error)) => Err(error),
            Some(Ok(piece)) => match send_piece(py, &piece, responder) {
                Ok(()) => return Step::More(self),
                Err(error) => Err(error),
            },
        };
        Step::Done(finish(py, &body, responder, sent))
    }

    /// The client went away mid-response: close the result all the same.
    pub fn abandon(self, py: Python<'_>, responder: &Bound<'_, Responder>) -> Outcome {
        if let Ok(mut responder) = responder.try_borrow_mut() {
            responder.client_gone = true;
        }
        let gone = PyConnectionError::new_err("the client went away");
        finish(py, self.body.bind(py), responder, Err(gone))
    }
}
// ANCHOR_END: in_progress

fn call_close(body: &Bound<'_, PyAny>) -> PyResult<()> {
    // A plain list or tuple, the most common result, has no close(); asking
    // would cost an AttributeError made and thrown away (before Python 3.13).
    if body.is_exact_instance_of::<PyList>() || body.is_exact_instance_of::<PyTuple>() {
        return Ok(());
    }
    if let Some(close) = body.getattr_opt(intern!(body.py(), "close"))? {
        close.call0()?;
    }
    Ok(())
}

// ANCHOR: conclude
/// Turns the end of a request into an [`Outcome`]: an error before the
/// head went out becomes a 500 (or the status a [`RequestError`] carries);
/// after, the connection is aborted.
fn conclude(py: Python<'_>, responder: &Bound<'_, Responder>, error: Option<PyErr>) -> Outcome {
    let Ok(mut this) = responder.try_borrow_mut() else {
        // Only possible if the app kept the responder busy; treat as fatal.
        let error = Some("the responder was still in use".into());
        return Outcome {
            status: 500,
            body_bytes: 0,
            error,
            abort: true,
            client_gone: false,
            reusable: false,
        };
    };
    let mut outcome = Outcome {
        status: this.started.as_ref().map_or(500, |s| s.status.code),
        body_bytes: this.body_bytes,
        error: None,
        abort: false,
        client_gone: this.client_gone,
        reusable: false,
    };
    let Some(error) = error else {
        outcome.reusable = this.leaves_connection_reusable();
        return outcome;
    };
    if this.client_gone {
        return outcome;
    }
    outcome.error = Some(traceback_text(py, &error));
    if this.headers_sent() {
        outcome.abort = true;
        return outcome;
    }
    // The client's fault, found while the app read the body: say so.
    let (code, text) = match request_error_status(py, &error) {
        Some(code) => (code, format!("{}\n", error.value(py))),
        None => (500, "Internal Server Error\n".to_string()),
    };
    let page = Response::text(code, &text).header("Connection", "close");
    outcome.status = code;
    outcome.body_bytes = 0;
    let method = if this.head_request { "HEAD" } else { "GET" };
    if let Ok(bytes) = this.writer.write(&page, method) {
        if this.send(py, &bytes).is_ok() && !this.head_request {
            outcome.body_bytes = page.body.len() as u64;
        }
    }
    this.framing = Some(Framing::Length(page.body.len() as u64));
    outcome
}
// ANCHOR_END: conclude

/// The status a [`RequestError`] carries as its first argument.
fn request_error_status(py: Python<'_>, error: &PyErr) -> Option<u16> {
    if !error.is_instance_of::<RequestError>(py) {
        return None;
    }
    error
        .value(py)
        .getattr("args")
        .ok()?
        .get_item(0)
        .ok()?
        .extract::<u16>()
        .ok()
}

/// Prepares a connection to be aborted: with a zero linger time, closing
/// the socket sends a reset (RST) instead of a normal end (FIN), so the
/// client sees an error, never a cut response that looks complete.
pub fn abort_on_close(socket: &impl std::os::fd::AsFd) -> io::Result<()> {
    socket2::SockRef::from(socket).set_linger(Some(Duration::ZERO))
}
