//! `wsgi.input` that streams from the socket.
//!
//! The same methods as stage-04's in-memory input (`read`, `readline`,
//! `readlines`, iteration), but each one pulls from the connection, with
//! the GIL released while it waits, and a bounded amount in memory: one
//! line at most for `readline`, the size asked for by `read(size)`.

use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::body::{BodyError, BodyReader};
use crate::request_error::RequestError;

/// How much `readline` pulls at a time while looking for a line's end.
const LINE_CHUNK: usize = 8 * 1024;

/// The request body as a Python file-like object.
#[pyclass(module = "stage05")]
pub struct StreamInput {
    reader: Arc<Mutex<BodyReader>>,
    /// Bytes pulled from the body but not yet handed to the app (the rest
    /// of a line `readline` did not return).
    pending: Vec<u8>,
}

impl StreamInput {
    /// An input reading through `reader`, which the server keeps too, to
    /// drain what the app leaves.
    pub fn new(reader: Arc<Mutex<BodyReader>>) -> StreamInput {
        StreamInput {
            reader,
            pending: Vec::new(),
        }
    }

    /// Up to `max` more bytes of body, waiting with the GIL released.
    fn pull(&mut self, py: Python<'_>, max: usize) -> PyResult<Vec<u8>> {
        let reader = Arc::clone(&self.reader);
        py.detach(move || lock(&reader).read(max))
            .map_err(to_python)
    }

    /// Everything until the end of the body.
    fn read_all(&mut self, py: Python<'_>) -> PyResult<Vec<u8>> {
        let mut all = std::mem::take(&mut self.pending);
        loop {
            let piece = self.pull(py, LINE_CHUNK * 8)?;
            if piece.is_empty() {
                return Ok(all);
            }
            all.extend_from_slice(&piece);
        }
    }

    /// Up to `size` bytes: what is pending first, then the socket.
    fn read_up_to(&mut self, py: Python<'_>, size: usize) -> PyResult<Vec<u8>> {
        while self.pending.len() < size {
            let piece = self.pull(py, size - self.pending.len())?;
            if piece.is_empty() {
                break;
            }
            self.pending.extend_from_slice(&piece);
        }
        let take = size.min(self.pending.len());
        Ok(self.pending.drain(..take).collect())
    }

    /// One line, LF included, of at most `limit` bytes.
    fn read_line(&mut self, py: Python<'_>, limit: Option<usize>) -> PyResult<Vec<u8>> {
        loop {
            let end = self
                .pending
                .iter()
                .position(|&b| b == b'\n')
                .map(|lf| lf + 1);
            let end = match (end, limit) {
                (Some(end), Some(limit)) => Some(end.min(limit)),
                (None, Some(limit)) if self.pending.len() >= limit => Some(limit),
                (end, _) => end,
            };
            if let Some(end) = end {
                return Ok(self.pending.drain(..end).collect());
            }
            let piece = self.pull(py, LINE_CHUNK)?;
            if piece.is_empty() {
                return Ok(std::mem::take(&mut self.pending));
            }
            self.pending.extend_from_slice(&piece);
        }
    }
}

/// A poisoned lock only means another thread panicked holding it; the
/// reader's state is still consistent enough to refuse further reads.
fn lock(reader: &Mutex<BodyReader>) -> MutexGuard<'_, BodyReader> {
    reader
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A body error reaches the app as `RequestError(status, message)`; if the
/// app lets it propagate, the client gets that status.
fn to_python(error: BodyError) -> PyErr {
    RequestError::new_err((error.status(), error.to_string()))
}

fn size_limit(size: Option<isize>) -> Option<usize> {
    size.and_then(|n| usize::try_from(n).ok())
}

#[pymethods]
impl StreamInput {
    /// `read(size=-1)`.
    #[pyo3(signature = (size = None))]
    fn read<'py>(&mut self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        let data = match size_limit(size) {
            None => self.read_all(py)?,
            Some(size) => self.read_up_to(py, size)?,
        };
        Ok(PyBytes::new(py, &data))
    }

    /// `readline(size=-1)`.
    #[pyo3(signature = (size = None))]
    fn readline<'py>(
        &mut self,
        py: Python<'py>,
        size: Option<isize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let line = self.read_line(py, size_limit(size))?;
        Ok(PyBytes::new(py, &line))
    }

    /// `readlines(hint=-1)`.
    #[pyo3(signature = (hint = None))]
    fn readlines<'py>(
        &mut self,
        py: Python<'py>,
        hint: Option<isize>,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let hint = size_limit(hint).filter(|&n| n > 0);
        let mut lines = Vec::new();
        let mut total = 0;
        loop {
            let line = self.read_line(py, None)?;
            if line.is_empty() {
                return Ok(lines);
            }
            total += line.len();
            lines.push(PyBytes::new(py, &line));
            if hint.is_some_and(|h| total >= h) {
                return Ok(lines);
            }
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let line = self.read_line(py, None)?;
        Ok((!line.is_empty()).then(|| PyBytes::new(py, &line)))
    }
}
