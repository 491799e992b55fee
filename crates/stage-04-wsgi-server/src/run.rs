//! Calling the application and sending what it returns: the one request
//! driver of this stage, [`run_app`], and the blocks it is made of, which
//! other drivers can compose in their own way: [`call`], [`send_result`]
//! (or [`pieces_of`] and [`send_piece`] a piece at a time), [`finish`]
//! with its [`close_always`], and [`conclude`], which turns whatever
//! happened into an [`Outcome`].

use std::io;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyIterator, PyList, PyTuple};
use stage_03::{Framing, Response};

use crate::python::traceback_text;
use crate::respond::{Responder, type_name};

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
    /// The response is complete, and framed so that the connection could
    /// carry another request; false when the responder was told the
    /// connection closes after it.
    pub reusable: bool,
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
pub fn call<'py>(
    app: &Bound<'py, PyAny>,
    environ: Bound<'py, PyDict>,
    responder: &Bound<'py, Responder>,
) -> PyResult<Bound<'py, PyAny>> {
    app.call1((environ, responder))
}

// ANCHOR: finish
/// The end of a response, however it went: close the result, then turn
/// what happened into an [`Outcome`].
pub fn finish(
    py: Python<'_>,
    body: &Bound<'_, PyAny>,
    responder: &Bound<'_, Responder>,
    sent: PyResult<()>,
) -> Outcome {
    conclude(py, responder, close_always(body, sent))
}

/// Calls the result's `close()` whatever happened while sending it, and
/// returns the first error of the two.
#[allow(clippy::let_and_return)] // `error` names what the exercise fills in
pub fn close_always(body: &Bound<'_, PyAny>, sent: PyResult<()>) -> Option<PyErr> {
    // ANCHOR: ex-04.5-close-always
    // close() is called whatever happened, exactly once: it is how
    // the app releases what it holds (files, database cursors).
    let closed = call_close(body);
    let error = sent.and(closed).err();
    // ANCHOR_END: ex-04.5-close-always
    error
}
// ANCHOR_END: finish

// ANCHOR: send_result
/// Iterates the app's result and sends each piece as it comes.
pub fn send_result(
    py: Python<'_>,
    body: &Bound<'_, PyAny>,
    responder: &Bound<'_, Responder>,
) -> PyResult<()> {
    for piece in pieces_of(body, responder)? {
        send_piece(py, &piece?, responder)?;
    }
    responder.try_borrow_mut()?.end_body(py)
}
// ANCHOR_END: send_result

/// An iterator over the app's result, noting first whether its length is
/// already known: a one-item list's is, before a byte is sent, so it can
/// go out with a Content-Length (PEP 3333 suggests exactly this).
pub fn pieces_of<'py>(
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
pub fn send_piece(
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
/// head went out becomes a 500; after, the connection is aborted.
pub fn conclude(py: Python<'_>, responder: &Bound<'_, Responder>, error: Option<PyErr>) -> Outcome {
    conclude_as(py, responder, error, 500, "Internal Server Error\n")
}
// ANCHOR_END: conclude

// ANCHOR: conclude_as
/// [`conclude`], answering an error that comes before the head with
/// `code` and `text` rather than a 500.
pub fn conclude_as(
    py: Python<'_>,
    responder: &Bound<'_, Responder>,
    error: Option<PyErr>,
    code: u16,
    text: &str,
) -> Outcome {
    // ANCHOR: conclude_busy
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
    // ANCHOR_END: conclude_busy
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
    // ANCHOR: error_page
    let page = Response::text(code, text).header("Connection", "close");
    outcome.status = code;
    outcome.body_bytes = 0;
    let method = if this.head_request { "HEAD" } else { "GET" };
    if let Ok(bytes) = this.writer.write(&page, method) {
        if this.send(py, &bytes).is_ok() && !this.head_request {
            outcome.body_bytes = page.body.len() as u64;
        }
    }
    this.framing = Some(Framing::Length(page.body.len() as u64));
    // ANCHOR_END: error_page
    outcome
}
// ANCHOR_END: conclude_as

/// Prepares a connection to be aborted: with a zero linger time, closing
/// the socket sends a reset (RST) instead of a normal end (FIN), so the
/// client sees an error, never a cut response that looks complete.
pub fn abort_on_close(socket: &impl std::os::fd::AsFd) -> io::Result<()> {
    socket2::SockRef::from(socket).set_linger(Some(Duration::ZERO))
}
