//! Sending a file body by `sendfile(2)` (see [`stage_04::sendfile`]) on a
//! non-blocking socket, keeping the rules every response lives by. The
//! head goes out first; the file then goes from the kernel's page cache to
//! the socket until the socket is full, and the connection waits for its
//! next writable event (readiness is edge-triggered, and `EAGAIN` is
//! exactly the state from which the next edge comes); a client that reads
//! nothing for the I/O timeout is given up on, the file's `close()` called
//! all the same; and a large file to a fast client gets a turn, like a
//! long generator, so that the worker's other connections are served
//! meanwhile.

use std::time::Instant;

use pyo3::prelude::*;

use super::EventLoop;
use crate::connection::{Connection, Exchange};
use crate::stepping::Step;

/// How many bytes of a file one turn sends before the other connections
/// are served. A client on loopback or a fast network takes megabytes as
/// fast as the kernel copies them, so the socket might never be full; a
/// few milliseconds of copying per turn keeps the others' wait short,
/// while the cost of a turn (one more poll) stays far below the copying.
const FILE_BYTES_PER_TURN: u64 = 2 << 20;

impl EventLoop {
    // ANCHOR: pump_file
    /// Sends more of the file the response is made of. Returns whether it
    /// moved on and may go on at once, `Some(false)` when it waits for the
    /// socket, and `None` when the client has gone.
    pub(super) fn pump_file(&mut self, py: Python<'_>, conn: &mut Connection) -> Option<bool> {
        // The head, in the output buffer, goes first.
        if conn.flush(self.now).is_none() {
            self.broken(py, conn);
            return None;
        }
        if conn.pending_output() > 0 {
            return Some(false);
        }
        let sent = match conn.send_file(py, FILE_BYTES_PER_TURN)? {
            Ok(sent) => sent,
            Err(_) => {
                self.broken(py, conn);
                return None;
            }
        };
        let Some(Exchange {
            responder,
            progress,
            ..
        }) = conn.exchange_mut()
        else {
            return Some(false);
        };
        let responder = responder.clone_ref(py);
        if let Ok(mut responder) = responder.bind(py).try_borrow_mut() {
            responder.count_file_bytes(sent.bytes);
        }
        let done = progress
            .as_mut()
            .and_then(|progress| progress.file_mut())
            .is_none_or(|file| file.left() == 0);
        if done {
            // All sent: the body ends as any other (the responder checks
            // its length), and the wrapper's close() closes the file.
            if let Some(Step::Done(outcome)) = progress
                .take()
                .map(|progress| progress.step(py, responder.bind(py)))
            {
                self.finish(py, conn, outcome);
            }
            return Some(true);
        }
        if sent.bytes > 0 {
            // The client is reading: its I/O timeout starts again.
            self.now = Instant::now();
            conn.wait_for_reader(self.now);
        }
        if sent.blocked {
            return Some(false);
        }
        // The turn's bytes are sent, the file is not: the others go first.
        self.turn_over = true;
        Some(true)
    }
    // ANCHOR_END: pump_file
}
