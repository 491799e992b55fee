//! The socket side of a connection: read until the socket is empty,
//! write until it is full, and close in the right order. The rest of
//! [`Connection`] never touches the socket, which is why its state machine
//! can be tested without one.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::time::Instant;

use pyo3::Python;
use stage_04::run::abort_on_close;
use stage_04::sendfile::Sent;

use super::{Connection, Phase};
use crate::listeners::Stream;

impl Connection<Stream> {
    /// Once a closing connection's output is all sent: shut down its
    /// write side (or reset it, for an aborted response), then discard what
    /// the client still sends until it closes too. Returns `None` when the
    /// connection is done with, else whether it shut down now.
    pub fn close_when_sent(&mut self, now: Instant) -> Option<bool> {
        // The phase first: it is a field, while the output is behind a lock.
        if !matches!(self.phase, Phase::Closing { .. }) || self.pending_output() > 0 {
            return Some(false);
        }
        let Phase::Closing { abort, shut } = &mut self.phase else {
            return Some(false);
        };
        if *abort {
            let _ = abort_on_close(&self.stream);
            return None;
        }
        let shut_now = !*shut;
        if shut_now {
            let _ = self.stream.shutdown(Shutdown::Write);
            self.write_side_shut(now);
        }
        self.input.clear();
        if self.peer_closed {
            return None;
        }
        Some(shut_now)
    }

    /// Sends more of the file the response is made of, from the file
    /// straight to the socket, at most `budget` bytes; `None` when the
    /// response is not a file. See
    /// [`FileBody::send`](stage_04::sendfile::FileBody::send).
    pub fn send_file(&mut self, py: Python<'_>, budget: u64) -> Option<io::Result<Sent>> {
        let Phase::Responding(exchange) = &mut self.phase else {
            return None;
        };
        let file = exchange.progress.as_mut()?.file_mut()?;
        Some(file.send(py, self.stream.as_fd(), budget))
    }
}

impl<S: Read + Write> Connection<S> {
    // ANCHOR: read_available
    /// Reads what the socket has, up to `cap` bytes buffered (see
    /// [`Buffer::fill_from`](crate::buffer::Buffer::fill_from), which
    /// reads until the socket is empty, as edge-triggered readiness
    /// requires). Returns how many bytes were read, or `None` when the
    /// connection is broken. A socket found empty or closed is not read
    /// again until the poll reports it readable.
    pub fn read_available(&mut self, cap: usize, scratch: &mut [u8]) -> Option<usize> {
        if self.peer_closed || self.drained {
            return Some(0);
        }
        let filled = self.input.fill_from(&mut self.stream, cap, scratch).ok()?;
        self.peer_closed = filled.closed;
        self.drained = filled.drained;
        Some(filled.bytes)
    }
    // ANCHOR_END: read_available

    // ANCHOR: flush
    /// Writes as much of the output as the socket takes now. Returns how
    /// many bytes went out, or `None` when the connection is broken.
    pub fn flush(&mut self, now: Instant) -> Option<usize> {
        let (written, pending) = self.write_output()?;
        if written > 0 {
            self.output_moved(now, pending);
        }
        Some(written)
    }

    /// Writes until the output is empty or the socket full: how many
    /// bytes went out, and whether some are still waiting.
    fn write_output(&mut self) -> Option<(usize, bool)> {
        // Two fields borrowed apart, so that the lock is held while the
        // socket is written without taking another reference to the output.
        let Self { output, stream, .. } = self;
        let mut output = output
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let written = output.drain_into(stream).ok()?;
        Some((written, !output.is_empty()))
    }
    // ANCHOR_END: flush
}
