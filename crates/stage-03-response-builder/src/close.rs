//! Closing a connection without losing the response.
//!
//! Closing is one of the three ways to end a body, but a close done
//! carelessly loses data: if the client sent bytes the server never read
//! (a body after an error, say), closing the socket makes the kernel send
//! a reset, and a reset can reach the client before it has read the
//! response, which it then never sees. The remedy, which Apache calls a
//! lingering close: stop sending, read and discard what is still arriving
//! for a short while, then close.

use std::io::Read;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// At most this many unread bytes are drained before giving up.
const MAX_DRAIN: usize = 1024 * 1024;

// ANCHOR: lingering_close
/// Half-closes `stream` (the client sees EOF after our response), then
/// discards incoming bytes until the client closes too, `linger` passes or
/// a megabyte has been drained, whichever comes first.
pub fn lingering_close(stream: &TcpStream, linger: Duration) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return; // Already gone.
    }
    let deadline = Instant::now() + linger;
    let mut sink = [0u8; 8192];
    let mut drained = 0;
    while drained < MAX_DRAIN {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match (&*stream).read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}
// ANCHOR_END: lingering_close
