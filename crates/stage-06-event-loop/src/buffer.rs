//! Bytes received and not yet used, or written and not yet sent.
//!
//! A connection's input grows at the back, as the socket gives bytes, and
//! is used from the front, as the parser takes a head or a piece of body;
//! its output grows as the app responds and is used as the socket takes it.
//! Removing from the front of a `Vec` moves everything behind it, for every
//! request: with a pipelined burst or a large body, that is the same bytes
//! moved again and again. A [`Buffer`] only moves its start mark, and moves
//! the bytes once, when the used part has grown larger than what is left.

use std::io::{self, Read, Write};

/// A byte buffer that is appended to at the back and consumed at the front.
#[derive(Debug, Default)]
pub struct Buffer {
    bytes: Vec<u8>,
    /// Where the bytes not yet consumed start.
    start: usize,
}

impl Buffer {
    /// The bytes not yet consumed.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    /// How many bytes are not yet consumed.
    pub fn len(&self) -> usize {
        self.bytes.len() - self.start
    }

    /// Whether every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends bytes at the back.
    pub fn extend_from_slice(&mut self, more: &[u8]) {
        self.bytes.extend_from_slice(more);
    }

    /// Marks the first `n` bytes as used (all of them, if `n` is larger).
    pub fn consume(&mut self, n: usize) {
        self.start += n.min(self.len());
        if self.start == self.bytes.len() {
            // Everything used, the usual case between requests: start over
            // at the front, keeping the allocation.
            self.bytes.clear();
            self.start = 0;
        } else if self.start > self.bytes.len() / 2 {
            // More used than left: move what is left to the front, once.
            self.bytes.drain(..self.start);
            self.start = 0;
        }
    }

    /// Drops every byte.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.start = 0;
    }
}

/// What [`Buffer::fill_from`] found on its way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filled {
    /// Bytes read.
    pub bytes: usize,
    /// The other side closed: no more bytes will come.
    pub closed: bool,
    /// The source is empty for now: a read would block, or came back
    /// short.
    pub drained: bool,
}

impl Buffer {
    /// Reads from a non-blocking `source` until it is empty or closed, or
    /// this buffer holds `cap` bytes (a client cannot make the server hold
    /// more of its input than that). `scratch` is the caller's read
    /// buffer, reused rather than zeroed for every read.
    ///
    /// Edge-triggered readiness (mio, epoll's `EPOLLET`) is reported once:
    /// the next event comes only after the socket has been emptied, so a
    /// caller reads until `drained`, and when it stopped at `cap` instead,
    /// comes back as soon as there is room. A short read counts as empty:
    /// epoll(7) notes that on a stream socket a read returning less than
    /// asked has exhausted it, which saves a system call per request.
    pub fn fill_from(
        &mut self,
        source: &mut impl Read,
        cap: usize,
        scratch: &mut [u8],
    ) -> io::Result<Filled> {
        let mut filled = Filled::default();
        while !filled.closed && !filled.drained && self.len() < cap {
            match source.read(scratch) {
                Ok(0) => filled.closed = true,
                Ok(n) => {
                    self.extend_from_slice(&scratch[..n]);
                    filled.bytes += n;
                    filled.drained = n < scratch.len();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => filled.drained = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }

    /// Writes to a non-blocking `sink` until this buffer is empty or the
    /// sink would block; returns how many bytes went out. A sink that
    /// takes nothing is an error, as it would never take more.
    pub fn drain_into(&mut self, sink: &mut impl Write) -> io::Result<usize> {
        let mut total = 0;
        while !self.is_empty() {
            match sink.write(self.as_slice()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.consume(n);
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }
}

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A socket stand-in: gives or takes at most `chunk` bytes a call,
    /// then would block once `left` is spent.
    struct Socket {
        data: Vec<u8>,
        chunk: usize,
        left: usize,
    }

    impl Read for Socket {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = self
                .chunk
                .min(out.len())
                .min(self.data.len())
                .min(self.left);
            out[..n].copy_from_slice(&self.data[..n]);
            self.data.drain(..n);
            self.left -= n;
            Ok(n)
        }
    }

    impl Write for Socket {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = self.chunk.min(bytes.len()).min(self.left);
            self.data.extend_from_slice(&bytes[..n]);
            self.left -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn filling_stops_at_a_short_read_at_the_cap_or_at_the_close() {
        let mut scratch = [0u8; 4];
        // Full reads, then a short one: empty for now.
        let mut socket = Socket {
            data: b"abcdefghij".to_vec(),
            chunk: 4,
            left: 100,
        };
        let mut input = Buffer::default();
        let filled = input.fill_from(&mut socket, 100, &mut scratch).unwrap();
        assert_eq!(
            filled,
            Filled {
                bytes: 10,
                closed: false,
                drained: true
            }
        );
        assert_eq!(input.as_slice(), b"abcdefghij");
        // At the cap, not drained: the caller must come back.
        let mut socket = Socket {
            data: b"abcdefghij".to_vec(),
            chunk: 4,
            left: 100,
        };
        let mut input = Buffer::default();
        let filled = input.fill_from(&mut socket, 8, &mut scratch).unwrap();
        assert_eq!(
            filled,
            Filled {
                bytes: 8,
                closed: false,
                drained: false
            }
        );
        // Nothing left and no block: the other side closed.
        let mut socket = Socket {
            data: Vec::new(),
            chunk: 4,
            left: 100,
        };
        let filled = Buffer::default()
            .fill_from(&mut socket, 8, &mut scratch)
            .unwrap();
        assert!(filled.closed);
    }

    #[test]
    fn draining_stops_when_the_sink_would_block_and_keeps_the_rest() {
        let mut output = Buffer::default();
        output.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        let mut socket = Socket {
            data: Vec::new(),
            chunk: 5,
            left: 12,
        };
        assert_eq!(output.drain_into(&mut socket).unwrap(), 12);
        assert_eq!(socket.data, b"HTTP/1.1 200");
        assert_eq!(output.as_slice(), b" OK\r\n");
        let mut full = Socket {
            data: Vec::new(),
            chunk: 0,
            left: 1,
        };
        assert_eq!(
            output.drain_into(&mut full).unwrap_err().kind(),
            io::ErrorKind::WriteZero
        );
    }

    #[test]
    fn consumed_bytes_are_gone_and_the_rest_stays_in_order() {
        let mut buffer = Buffer::default();
        buffer.extend_from_slice(b"GET /a");
        buffer.consume(4);
        assert_eq!(buffer.as_slice(), b"/a");
        buffer.extend_from_slice(b" HTTP/1.1");
        assert_eq!(buffer.as_slice(), b"/a HTTP/1.1");
        buffer.consume(100);
        assert!(buffer.is_empty());
        buffer.extend_from_slice(b"next");
        assert_eq!((buffer.as_slice(), buffer.len()), (&b"next"[..], 4));
    }

    #[test]
    fn agrees_with_a_plain_vec_drained_from_the_front() {
        // Any mix of appends and consumes gives what Vec::drain would.
        let mut buffer = Buffer::default();
        let mut plain: Vec<u8> = Vec::new();
        let mut next = 0u8;
        for round in 0..2000usize {
            let add = (round * 7) % 23;
            let more: Vec<u8> = (0..add)
                .map(|_| {
                    next = next.wrapping_add(1);
                    next
                })
                .collect();
            buffer.extend_from_slice(&more);
            plain.extend_from_slice(&more);
            let take = (round * 5) % 19;
            buffer.consume(take);
            plain.drain(..take.min(plain.len()));
            assert_eq!(buffer.as_slice(), &plain[..], "after round {round}");
        }
    }
}
