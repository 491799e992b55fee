//! The messages of the `http` scope, as dicts (ASGI HTTP spec): the two
//! the server gives through `receive`, and reading the two the app gives
//! to `send`.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

// ANCHOR: request_message
/// `{"type": "http.request", "body": ..., "more_body": ...}`: a piece of
/// the request body; `more_body` false on the last.
pub fn request<'py>(py: Python<'py>, body: &[u8], more: bool) -> PyResult<Bound<'py, PyAny>> {
    let message = PyDict::new(py);
    message.set_item(intern!(py, "type"), intern!(py, "http.request"))?;
    message.set_item(intern!(py, "body"), PyBytes::new(py, body))?;
    message.set_item(intern!(py, "more_body"), more)?;
    Ok(message.into_any())
}

/// `{"type": "http.disconnect"}`: the client is gone, or the response is
/// over; nothing more will come.
pub fn disconnect(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let message = PyDict::new(py);
    message.set_item(intern!(py, "type"), intern!(py, "http.disconnect"))?;
    Ok(message.into_any())
}
// ANCHOR_END: request_message

/// A message the app sent, read.
pub enum Outgoing<'py> {
    /// `http.response.start`: the status and the header pairs, as bytes.
    Start {
        /// The status code.
        status: u16,
        /// `(name, value)` byte strings, in order.
        headers: Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)>,
    },
    /// `http.response.body`: a piece of body; more follow if `more`.
    Body {
        /// The bytes.
        body: Bound<'py, PyBytes>,
        /// `more_body`.
        more: bool,
    },
}

// ANCHOR: read_outgoing
/// Reads a message given to `send`. A message of another type, or with a
/// key of the wrong type, is the app's error (`TypeError`, `ValueError`),
/// raised from its `send`.
pub fn read<'py>(message: &Bound<'py, PyAny>) -> PyResult<Outgoing<'py>> {
    let py = message.py();
    let message = message
        .cast::<PyDict>()
        .map_err(|_| PyTypeError::new_err("an ASGI message must be a dict"))?;
    let kind = message
        .get_item(intern!(py, "type"))?
        .ok_or_else(|| PyValueError::new_err("an ASGI message needs a \"type\""))?;
    let kind = kind.cast::<pyo3::types::PyString>()?.to_str()?.to_owned();
    match kind.as_str() {
        "http.response.start" => {
            let status = message
                .get_item(intern!(py, "status"))?
                .ok_or_else(|| PyValueError::new_err("http.response.start needs a \"status\""))?
                .extract::<u16>()?;
            let mut headers = Vec::new();
            if let Some(pairs) = message.get_item(intern!(py, "headers"))? {
                for pair in pairs.try_iter()? {
                    let pair = pair?;
                    let bytes = |i: usize| -> PyResult<Bound<'py, PyBytes>> {
                        pair.get_item(i)?.cast_into::<PyBytes>().map_err(|_| {
                            PyTypeError::new_err("header names and values must be bytes")
                        })
                    };
                    headers.push((bytes(0)?, bytes(1)?));
                }
            }
            Ok(Outgoing::Start { status, headers })
        }
        "http.response.body" => {
            let body = match message.get_item(intern!(py, "body"))? {
                Some(body) => body
                    .cast_into::<PyBytes>()
                    .map_err(|_| PyTypeError::new_err("\"body\" must be bytes"))?,
                None => PyBytes::new(py, b""),
            };
            let more = match message.get_item(intern!(py, "more_body"))? {
                Some(more) => more.is_truthy()?,
                None => false,
            };
            Ok(Outgoing::Body { body, more })
        }
        other => Err(PyValueError::new_err(format!(
            "unexpected ASGI message type {other:?} in the http scope"
        ))),
    }
}
// ANCHOR_END: read_outgoing
