//! Files sent by the kernel: `wsgi.file_wrapper` with `sendfile(2)`, the
//! fast path beside [`run::send_result`].
//!
//! Iterating a file wrapper ([`FileWrapper`]) costs, for every block, a
//! `read` into a new Python `bytes` and a `write` of it to the socket: the
//! file's bytes cross from the kernel to Python and back. `sendfile(2)`
//! copies from a file to a socket inside the kernel ("more efficient than
//! the combination of read(2) and write(2)", its man page says), with no
//! Python and no GIL at all.
//!
//! PEP 3333 allows it when the app returns the server's own wrapper as it
//! came (middleware that wraps the body makes an iterable of its own, which
//! is then iterated like any other), around an object with a real file
//! behind it. [`file_body`] checks that: `fileno()` works, and `fstat`
//! says it is a regular file (`sendfile` reads with the page cache's
//! machinery, so its input cannot be a pipe or a socket), opened in
//! binary mode (iterating a text file gives `str`, the app's error).
//! `BytesIO`, a pipe or anything else is iterated.
//!
//! The PEP's semantics are those of iterating `read()`:
//! - the body starts at the file's position when sending begins, as
//!   `tell()` reports it (Python's buffered files read ahead, so the
//!   descriptor's own offset may be further on);
//! - it ends at the end of the file, or after the app's `Content-Length`;
//!   without one, the length is computed from the file's size;
//! - `HEAD`, 204 and 304 get the head only.
//!
//! The length is always known, so the body never needs chunked framing.
//! With an explicit offset, `sendfile` leaves the descriptor's offset where
//! it was, so the file's position is not moved by sending it.
//!
//! A file that shrinks while it is sent ends the body early: the responder
//! then reports a body shorter than its `Content-Length`, and the
//! connection is reset, as for an app that yields too little. On platforms
//! other than Linux, files are iterated.
//!
//! A server on blocking sockets, as this stage's, sends a file whole with
//! [`send_result`]; one on non-blocking sockets uses [`file_body`] and
//! [`FileBody::send`] a piece at a time.

use std::fs::File;
use std::io;
use std::os::fd::BorrowedFd;

use pyo3::exceptions::{PyConnectionError, PyTimeoutError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use crate::file_wrapper::FileWrapper;
use crate::respond::Responder;
use crate::run::{self, Outcome};

// ANCHOR: file_body
/// A file whose bytes go to the client by `sendfile(2)`.
pub struct FileBody {
    /// A descriptor of the server's own for the app's file: the app (or a
    /// thread of it) may close its object while the loop is still sending.
    file: File,
    /// Where the next byte comes from.
    offset: u64,
    /// How many bytes are still to send.
    left: u64,
}

/// How one call of [`FileBody::send`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Body bytes that went out.
    pub bytes: u64,
    /// The socket is full: sending goes on at its next writable event.
    pub blocked: bool,
}

// ANCHOR: own_wrapper
/// If the app's result `body` can go out by `sendfile(2)`, sends the head
/// (through `responder`, which decides the framing) and returns the file
/// to send; `None` if the body is to be iterated instead.
pub fn file_body(
    py: Python<'_>,
    body: &Bound<'_, PyAny>,
    responder: &Bound<'_, Responder>,
) -> PyResult<Option<FileBody>> {
    // Only the server's own wrapper, as returned: anything else may
    // transform the file's bytes.
    let Ok(wrapper) = body.cast::<FileWrapper>() else {
        return Ok(None);
    };
    let filelike = wrapper.borrow().filelike(py).clone();
    let Some((file, size, position)) = real_file(py, &filelike) else {
        return Ok(None);
    };
    let available = size.saturating_sub(position);
    let count = responder.try_borrow_mut()?.start_file_body(py, available)?;
    Ok(count.map(|left| FileBody {
        file,
        offset: position,
        left,
    }))
}
// ANCHOR_END: own_wrapper
// ANCHOR_END: file_body

/// [`run::run_app`] for a blocking socket, with [`send_result`]: the
/// driver of this stage's server.
pub fn run_app(
    py: Python<'_>,
    app: &Bound<'_, PyAny>,
    environ: Bound<'_, PyDict>,
    responder: &Bound<'_, Responder>,
    socket: BorrowedFd<'_>,
) -> Outcome {
    match run::call(app, environ, responder) {
        Err(error) => run::conclude(py, responder, Some(error)),
        Ok(body) => {
            let sent = send_result(py, &body, responder, socket);
            run::finish(py, &body, responder, sent)
        }
    }
}

// ANCHOR: send_result
/// [`run::send_result`] for a blocking socket: a file wrapper's file goes
/// out whole by `sendfile(2)` straight to `socket` (the GIL released
/// meanwhile), when [`file_body`] allows; any other result is iterated.
pub fn send_result(
    py: Python<'_>,
    body: &Bound<'_, PyAny>,
    responder: &Bound<'_, Responder>,
    socket: BorrowedFd<'_>,
) -> PyResult<()> {
    let Some(mut file) = file_body(py, body, responder)? else {
        return run::send_result(py, body, responder);
    };
    let sent = file.send(py, socket, u64::MAX);
    let mut responder = responder.try_borrow_mut()?;
    match sent {
        Ok(sent) => responder.count_file_bytes(sent.bytes),
        Err(e) => {
            responder.client_went_away();
            return Err(PyConnectionError::new_err(format!(
                "the client went away: {e}"
            )));
        }
    }
    if file.left() > 0 {
        // Only a socket with a send timeout would stop early.
        return Err(PyTimeoutError::new_err(
            "the client stopped reading the file",
        ));
    }
    responder.end_body(py)
}
// ANCHOR_END: send_result

// ANCHOR: real_file
/// The regular file behind `filelike`, its size and its position, if it
/// has one.
fn real_file(py: Python<'_>, filelike: &Bound<'_, PyAny>) -> Option<(File, u64, u64)> {
    // A file opened in text mode has a descriptor too, but iterating it
    // gives `str`, which is the app's error (a 500), not the file's bytes.
    if filelike.is_instance(text_io(py).ok()?).ok()? {
        return None;
    }
    // Bytes the app wrote through the object may still be in its buffer,
    // where sendfile would not see them.
    if let Ok(Some(flush)) = filelike.getattr_opt(intern!(py, "flush")) {
        flush.call0().ok()?;
    }
    // BytesIO raises io.UnsupportedOperation here: it is iterated.
    let fd: i32 = filelike
        .call_method0(intern!(py, "fileno"))
        .ok()?
        .extract()
        .ok()?;
    let position: u64 = filelike
        .call_method0(intern!(py, "tell"))
        .ok()?
        .extract()
        .ok()?;
    let file = duplicate(fd)?;
    let metadata = file.metadata().ok()?;
    // Files in /proc say they are regular and empty, whatever they hold:
    // a size of 0 is not believed, and an empty file iterates at once.
    let sized = metadata.is_file() && metadata.len() > 0;
    sized.then_some((file, metadata.len(), position))
}
// ANCHOR_END: real_file

/// `io.TextIOBase`, looked up once.
fn text_io(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static TEXT_IO: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    TEXT_IO
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("io")?.getattr("TextIOBase")?.unbind())
        })
        .map(|class| class.bind(py))
}

/// A descriptor of the server's own for `fd`, a descriptor the app's
/// file object owns.
#[cfg(target_os = "linux")]
fn duplicate(fd: i32) -> Option<File> {
    if fd < 0 {
        return None;
    }
    // SAFETY: `borrow_raw` requires `fd` to stay open while the borrow
    // lives. It was just returned by `fileno()` of the object the app
    // handed over, which is still referenced, and the GIL has been held
    // since, so no Python code could close it; the borrow lives only for
    // the `fcntl(F_DUPFD_CLOEXEC)` that duplicates it. An object lying
    // about its descriptor makes that fail (EBADF), or names another of
    // this process's descriptors, which is then sent only if it is a
    // regular file the app could have read anyway.
    #[allow(unsafe_code)]
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    borrowed.try_clone_to_owned().ok().map(File::from)
}

/// Elsewhere, files are iterated.
#[cfg(not(target_os = "linux"))]
fn duplicate(_fd: i32) -> Option<File> {
    None
}

impl FileBody {
    /// How many bytes are still to send.
    pub fn left(&self) -> u64 {
        self.left
    }

    // ANCHOR: send
    /// Sends up to `budget` bytes of the file to `socket` (non-blocking),
    /// with the GIL released: the kernel copies, Python has nothing to do.
    /// Stops when the socket is full (`EAGAIN`), at the budget, or when the
    /// file is done; an error means the client is gone.
    pub fn send(
        &mut self,
        py: Python<'_>,
        socket: BorrowedFd<'_>,
        budget: u64,
    ) -> io::Result<Sent> {
        py.detach(|| {
            let mut sent = Sent {
                bytes: 0,
                blocked: false,
            };
            while self.left > 0 && sent.bytes < budget {
                let count = self.left.min(budget - sent.bytes);
                match self.send_once(socket, count) {
                    // Fewer bytes than the size said: the file shrank.
                    // The body ends short, which the responder reports.
                    Ok(0) => self.left = 0,
                    Ok(n) => {
                        self.offset += n;
                        self.left -= n;
                        sent.bytes += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        sent.blocked = true;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(sent)
        })
    }
    // ANCHOR_END: send

    /// One `sendfile(2)` from `offset`. Given an offset, the call reads
    /// from there and leaves the descriptor's own offset alone; it sends
    /// what the socket has room for, at most `count` bytes (and at most
    /// 0x7ffff000 in one call), and 0 at the end of the file.
    #[cfg(target_os = "linux")]
    fn send_once(&self, socket: BorrowedFd<'_>, count: u64) -> io::Result<u64> {
        let mut offset = nix::libc::off_t::try_from(self.offset).map_err(io::Error::other)?;
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        let sent = nix::sys::sendfile::sendfile(socket, &self.file, Some(&mut offset), count)?;
        Ok(sent as u64)
    }

    #[cfg(not(target_os = "linux"))]
    fn send_once(&self, _socket: BorrowedFd<'_>, _count: u64) -> io::Result<u64> {
        Err(io::ErrorKind::Unsupported.into())
    }
}
