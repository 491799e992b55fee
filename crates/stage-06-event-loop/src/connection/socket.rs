//! The socket side of a connection: read until the socket is empty,
//! write until it is full, and close in the right order. The rest of
//! [`Connection`] never touches the socket, which is why its state machine
//! can be tested without one.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::sync::Arc;
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
        if self.pending_output() > 0 {
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
    /// Reads what the socket has, up to `cap` bytes buffered: a client
    /// cannot make the server hold more than that of its input. `scratch`
    /// is the loop's read buffer, reused rather than zeroed for every read.
    /// Returns how many bytes were read, or `None` when the connection is
    /// broken.
    ///
    /// Edge-triggered readiness (mio, epoll's `EPOLLET`) is reported once:
    /// the next event comes only after the socket has been emptied. So the
    /// loop reads until it is, and when it stops early because `input` is
    /// full, `drained` stays false for the next pass. Emptied means a read
    /// that would block, or a short read: epoll(7) notes that on a stream
    /// socket a read returning less than asked has exhausted it, which
    /// saves a system call per request.
    pub fn read_available(&mut self, cap: usize, scratch: &mut [u8]) -> Option<usize> {
        let mut total = 0;
        while !self.peer_closed && !self.drained && self.input.len() < cap {
            match self.stream.read(scratch) {
                Ok(0) => self.peer_closed = true,
                Ok(n) => {
                    self.input.extend_from_slice(&scratch[..n]);
                    total += n;
                    self.drained = n < scratch.len();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.drained = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return None,
            }
        }
        Some(total)
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
        let output = Arc::clone(&self.output);
        let mut output = output
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut total = 0;
        while !output.is_empty() {
            match self.stream.write(output.as_slice()) {
                Ok(0) => return None,
                Ok(n) => {
                    output.consume(n);
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return None,
            }
        }
        Some((total, !output.is_empty()))
    }
    // ANCHOR_END: flush
}
