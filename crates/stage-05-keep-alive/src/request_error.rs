//! A body the client got wrong, found while the application reads it.
//!
//! Stage-04 read the whole body before calling the app, so a bad body was
//! refused before the app ran. Here the body is read as the app asks for
//! it, and a malformed chunk, a body over the limit or a client that stops
//! sending is found in the middle of a `wsgi.input.read()`. It reaches the
//! app as a [`RequestError`] carrying the status it earns; an app that lets
//! it propagate gets its client that status (400, 408, 413) rather than a
//! 500, which would blame the app for the client's mistake.

use std::os::fd::BorrowedFd;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use stage_04::Responder;
use stage_04::run::{Outcome, call, close_always, conclude, conclude_as};
use stage_04::sendfile::send_result;

// ANCHOR: request_error
pyo3::create_exception!(
    stage05,
    RequestError,
    pyo3::exceptions::PyOSError,
    "The request body is at fault: args are (status, message)."
);
// ANCHOR_END: request_error

// ANCHOR: run_app
/// Stage-04's request driver, made of the same blocks, with one more
/// ending: a [`RequestError`] before the head went out is answered with
/// the status it carries. A file from `wsgi.file_wrapper` goes to `socket`
/// by `sendfile(2)` (stage-04's `sendfile`).
pub fn run_app(
    py: Python<'_>,
    app: &Bound<'_, PyAny>,
    environ: Bound<'_, PyDict>,
    responder: &Bound<'_, Responder>,
    socket: BorrowedFd<'_>,
) -> Outcome {
    let error = match call(app, environ, responder) {
        Err(error) => Some(error),
        Ok(body) => {
            let sent = send_result(py, &body, responder, socket);
            close_always(&body, sent)
        }
    };
    match error.as_ref().and_then(|e| request_error_status(py, e)) {
        Some((code, text)) => conclude_as(py, responder, error, code, &text),
        None => conclude(py, responder, error),
    }
}
// ANCHOR_END: run_app

/// The status and message a [`RequestError`] carries, if `error` is one.
fn request_error_status(py: Python<'_>, error: &PyErr) -> Option<(u16, String)> {
    if !error.is_instance_of::<RequestError>(py) {
        return None;
    }
    // The message alone: `str()` of an OSError with two args would read
    // "[Errno 400] ...", as if the status were an errno.
    let args = error.value(py).getattr("args").ok()?;
    let code = args.get_item(0).ok()?.extract().ok()?;
    let message = args.get_item(1).ok()?.str().ok()?;
    Some((code, format!("{message}\n")))
}
