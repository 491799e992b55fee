//! `wsgi.input`: the request body as a Python file-like object.
//!
//! PEP 3333 asks for `read(size)`, `readline(size)`, `readlines(hint)` and
//! iteration. This stage has read the whole body (bounded by the parser's
//! body limit) before calling the app, so the object is a cursor over
//! bytes in memory, and end-of-file is exactly at `CONTENT_LENGTH`: an app
//! that calls `read()` gets the body, never a hang waiting for bytes the
//! client will not send. The price is memory: the whole body is held
//! while the app runs.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

// ANCHOR: input
/// The request body, readable once, from the start.
#[pyclass(module = "stage04")]
pub struct Input {
    body: Vec<u8>,
    position: usize,
}

impl Input {
    /// An input over `body`.
    pub fn new(body: Vec<u8>) -> Input {
        Input { body, position: 0 }
    }

    /// Takes up to `limit` bytes (all that is left when `None`), stopping
    /// after the first LF when `line` is set.
    fn take(&mut self, limit: Option<usize>, line: bool) -> &[u8] {
        let rest = &self.body[self.position..];
        let mut end = limit.map_or(rest.len(), |n| n.min(rest.len()));
        if line {
            if let Some(lf) = rest[..end].iter().position(|&b| b == b'\n') {
                end = lf + 1;
            }
        }
        let start = self.position;
        self.position += end;
        &self.body[start..start + end]
    }
}
// ANCHOR_END: input

/// Python's convention: a negative or missing size means "no limit".
fn size_limit(size: Option<isize>) -> Option<usize> {
    size.and_then(|n| usize::try_from(n).ok())
}

#[pymethods]
impl Input {
    // ANCHOR: input_read
    /// `read(size=-1)`: up to `size` bytes, or everything left.
    #[pyo3(signature = (size = None))]
    fn read<'py>(&mut self, py: Python<'py>, size: Option<isize>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.take(size_limit(size), false))
    }
    // ANCHOR_END: input_read

    /// `readline(size=-1)`: up to and including the next LF.
    #[pyo3(signature = (size = None))]
    fn readline<'py>(&mut self, py: Python<'py>, size: Option<isize>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.take(size_limit(size), true))
    }

    /// `readlines(hint=-1)`: lines until their total size reaches `hint`.
    #[pyo3(signature = (hint = None))]
    fn readlines<'py>(&mut self, py: Python<'py>, hint: Option<isize>) -> Vec<Bound<'py, PyBytes>> {
        let hint = size_limit(hint).filter(|&n| n > 0);
        let mut lines = Vec::new();
        let mut total = 0;
        loop {
            let line = self.take(None, true);
            if line.is_empty() {
                break;
            }
            total += line.len();
            lines.push(PyBytes::new(py, line));
            if hint.is_some_and(|h| total >= h) {
                break;
            }
        }
        lines
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        let line = self.take(None, true);
        (!line.is_empty()).then(|| PyBytes::new(py, line))
    }
}
