//! The app's response, one piece at a time.
//!
//! Stage-04's `run_app` sends a whole response in one go: it iterates the
//! app's result and writes each piece to the socket, blocking while the
//! client is slow. An event loop cannot block, so the same blocks
//! (`call`, `pieces_of`, `send_piece`, `finish`) are composed the other
//! way round here: [`begin`] calls the app, and each [`InProgress::step`]
//! sends one more piece. Between two steps the loop writes to the socket,
//! serves other connections, and stops pulling from a generator while its
//! client is not reading. A file returned through `wsgi.file_wrapper` is
//! not pulled at all: the loop sends it with `sendfile(2)`.

use pyo3::exceptions::PyConnectionError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyIterator, PyList, PyTuple};
use stage_04::Responder;
use stage_04::run::{Outcome, call, conclude, finish, pieces_of, send_piece};
use stage_04::sendfile::{FileBody, file_body};

// ANCHOR: in_progress
/// A response whose body is still being pulled from the app, or sent
/// from its file.
pub struct InProgress {
    body: Py<PyAny>,
    source: Source,
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
    let source = match file_body(py, &body, responder) {
        Ok(Some(file)) => Ok(Source::File(file)),
        Ok(None) => pieces_of(&body, responder).map(|pieces| Source::Pieces(pieces.unbind())),
        Err(error) => Err(error),
    };
    match source {
        Ok(source) => Step::More(InProgress {
            body: body.unbind(),
            source,
        }),
        Err(error) => Step::Done(finish(py, &body, responder, Err(error))),
    }
}
// ANCHOR_END: in_progress

/// Where the rest of the body comes from.
enum Source {
    /// The app's iterable, a piece at a time.
    Pieces(Py<PyIterator>),
    /// A file the loop sends itself (see [`stage_04::sendfile`]).
    File(FileBody),
}

// ANCHOR: step
impl InProgress {
    /// Sends the next piece of the body, or finishes the response.
    pub fn step(self, py: Python<'_>, responder: &Bound<'_, Responder>) -> Step {
        let body = self.body.bind(py).clone();
        let next = match &self.source {
            Source::Pieces(pieces) => pieces.bind(py).clone().next(),
            // The loop steps a file only once it has sent it all.
            Source::File(_) => None,
        };
        let sent = match next {
            None => responder
                .try_borrow_mut()
                .map_err(PyErr::from)
                .and_then(|mut r| r.end_body(py)),
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
            responder.client_went_away();
        }
        let gone = PyConnectionError::new_err("the client went away");
        finish(py, self.body.bind(py), responder, Err(gone))
    }
}
// ANCHOR_END: step

/// A file body, which the loop sends itself (`event_loop::sending`).
impl InProgress {
    /// Whether the body is a list or a tuple, whose pieces are all in
    /// memory already: pulling one can never wait.
    pub fn is_in_memory(&self, py: Python<'_>) -> bool {
        let body = self.body.bind(py);
        body.is_exact_instance_of::<PyList>() || body.is_exact_instance_of::<PyTuple>()
    }

    /// Whether the body is a file the loop sends itself.
    pub fn is_file(&self) -> bool {
        matches!(self.source, Source::File(_))
    }

    /// The file the loop is sending, if the body is one.
    pub fn file_mut(&mut self) -> Option<&mut FileBody> {
        match &mut self.source {
            Source::File(file) => Some(file),
            Source::Pieces(_) => None,
        }
    }
}
