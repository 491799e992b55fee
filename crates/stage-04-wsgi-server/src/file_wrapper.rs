//! `wsgi.file_wrapper`: PEP 3333's optional extension for sending files
//! ("Optional Platform-Specific File Handling").
//!
//! An application that has a file to send calls
//! `environ["wsgi.file_wrapper"](filelike, block_size)` and returns what it
//! gets. What it gets is an iterable like any other: each item is
//! `filelike.read(block_size)`, until `read` gives an empty result, and its
//! `close()` calls the file's own. So every server may offer it, and this
//! one does, in every stage.
//!
//! Its point is what a server may do *instead* of iterating. PEP 3333 lets
//! a server that recognises its own wrapper, returned as it came (no
//! middleware has replaced it with an iterable of its own), send the file
//! by the operating system's fastest means: `sendfile(2)` copies from a
//! file to a socket inside the kernel, with no trip through Python's
//! `bytes`. The PEP's rules for that, which [`Responder::start_file_body`]
//! helps a server keep:
//!
//! - the result must be the same as iterating: transmission starts at the
//!   file's position *when transmission begins* (not where it was when the
//!   wrapper was made) and goes to the end of the file, or until
//!   `Content-Length` bytes have been sent;
//! - without a `Content-Length` from the app, the server may compute one
//!   from what it knows of the file (its size, less the position);
//! - `close()` is still called, exactly once, however the response ends.
//!
//! Every server of the workspace sends the file with `sendfile(2)` when it
//! can ([`crate::sendfile`]) and iterates it otherwise;
//! [`Responder::start_file_body`] and [`Responder::count_file_bytes`] are
//! the responder's side of sending it by other means than itself.

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use stage_03::{Framing, body_allowed};

use crate::respond::Responder;

// ANCHOR: file_wrapper
/// The class `environ["wsgi.file_wrapper"]` holds: calling it with
/// `(filelike, block_size=8192)` makes an iterable over the file's
/// blocks, whose `close()` closes the file.
#[pyclass(module = "stage04")]
pub struct FileWrapper {
    /// The object the app handed over, file or file-like.
    #[pyo3(get)]
    filelike: Py<PyAny>,
    /// How much each `read` asks for, when the wrapper is iterated.
    #[pyo3(get)]
    block_size: usize,
}

#[pymethods]
impl FileWrapper {
    #[new]
    #[pyo3(signature = (filelike, block_size = 8192))]
    fn new(filelike: Py<PyAny>, block_size: isize) -> PyResult<FileWrapper> {
        // read(0) would give b"" at once: an empty body, silently.
        let block_size = usize::try_from(block_size)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| PyValueError::new_err("block_size must be a positive integer"))?;
        Ok(FileWrapper {
            filelike,
            block_size,
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The next block: `read(block_size)`, until it gives nothing. What
    /// `read` returns goes to the server as it is; a body piece that is
    /// not bytes is the app's error, reported as for any other iterable.
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let block = self
            .filelike
            .bind(py)
            .call_method1(intern!(py, "read"), (self.block_size,))?;
        Ok(block.is_truthy()?.then_some(block))
    }

    /// Closes the file, if it can be closed. Looked up now rather than
    /// when the wrapper was made: Django replaces the file's `close` just
    /// before wrapping it, so that closing the file closes its response.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let filelike = self.filelike.bind(py);
        if let Some(close) = filelike.getattr_opt(intern!(py, "close"))? {
            close.call0()?;
        }
        Ok(())
    }
}
// ANCHOR_END: file_wrapper

impl FileWrapper {
    /// The file-like object, for a server that sends it itself.
    pub fn filelike<'py>(&self, py: Python<'py>) -> &Bound<'py, PyAny> {
        self.filelike.bind(py)
    }
}

/// A body whose bytes the server sends by its own means (`sendfile(2)`),
/// not through the responder: the responder still decides the head and
/// the framing, and counts what was sent, so that the end of the body is
/// checked as for any other ([`Responder::end_body`]).
impl Responder {
    /// The app's result is a file with `available` bytes from its current
    /// position that the server will send itself. Sends the head: with the
    /// app's `Content-Length`, or else one of `available` bytes (PEP 3333
    /// allows the server to compute it from the file). Returns how many
    /// bytes of the file to send: none for `HEAD` and for statuses without
    /// a body, at most `Content-Length`, at most what the file has (a
    /// `Content-Length` larger than that makes [`end_body`](Self::end_body)
    /// report the short body). `None` when the head is already out (the
    /// app called `write()`): the body must then be iterated, framed as
    /// the head said.
    pub fn start_file_body(&mut self, py: Python<'_>, available: u64) -> PyResult<Option<u64>> {
        if self.headers_sent() {
            return Ok(None);
        }
        self.known_length = Some(available);
        self.send_head(py)?;
        let code = self.started.as_ref().map_or(200, |s| s.status.code);
        if self.head_request || !body_allowed(code) {
            return Ok(Some(0));
        }
        match self.framing {
            Some(Framing::Length(length)) => Ok(Some(length.min(available))),
            // The length is known (the app's or `available`), so send_head
            // chose a length; anything else would be a bug, not a body.
            other => Err(PyRuntimeError::new_err(format!(
                "a file body cannot be sent with {other:?} framing"
            ))),
        }
    }

    /// `bytes` of the body went out by the server's own means.
    pub fn count_file_bytes(&mut self, bytes: u64) {
        self.body_bytes += bytes;
    }
}

#[cfg(test)]
mod tests {
    use pyo3::types::PyDict;

    use super::*;

    /// Runs `code` with `FileWrapper` bound to the name `wrap`, and returns
    /// the value it leaves in `result`.
    fn run(code: &str) -> PyResult<String> {
        Python::attach(|py| {
            let scope = PyDict::new(py);
            scope.set_item("wrap", py.get_type::<FileWrapper>())?;
            scope.set_item("io", py.import("io")?)?;
            let code = std::ffi::CString::new(code).unwrap();
            py.run(&code, Some(&scope), None)?;
            scope
                .get_item("result")?
                .map_or(Ok(String::new()), |r| r.str()?.extract())
        })
    }

    #[test]
    fn iterates_read_blocks_until_an_empty_one() {
        let seen = run("result = list(wrap(io.BytesIO(b'abcde'), 2))").unwrap();
        assert_eq!(seen, "[b'ab', b'cd', b'e']");
        let default = run("result = [len(b) for b in wrap(io.BytesIO(bytes(20000)))]").unwrap();
        assert_eq!(default, "[8192, 8192, 3616]");
    }

    #[test]
    fn close_calls_the_files_close_as_it_is_when_closing() {
        let closed = run("f = io.BytesIO(b'x')\n\
             w = wrap(f)\n\
             f.close = lambda: calls.append('replaced')\n\
             calls = []\n\
             w.close()\n\
             result = calls")
        .unwrap();
        assert_eq!(closed, "['replaced']");
        // An object without close() is fine; one that fails says so.
        assert!(run("class R:\n    def read(self, n): return b''\nwrap(R()).close()").is_ok());
        assert!(
            run("class C:\n    def close(self): raise OSError('no')\nwrap(C()).close()").is_err()
        );
    }

    #[test]
    fn a_block_size_must_be_positive() {
        assert!(run("wrap(io.BytesIO(), 0)").is_err());
        assert!(run("wrap(io.BytesIO(), -1)").is_err());
        assert_eq!(
            run("result = wrap(io.BytesIO(), block_size=3).block_size").unwrap(),
            "3"
        );
    }
}
