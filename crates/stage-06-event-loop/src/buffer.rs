//! Bytes received and not yet used, or written and not yet sent.
//!
//! A connection's input grows at the back, as the socket gives bytes, and
//! is used from the front, as the parser takes a head or a piece of body;
//! its output grows as the app responds and is used as the socket takes it.
//! Removing from the front of a `Vec` moves everything behind it, for every
//! request: with a pipelined burst or a large body, that is the same bytes
//! moved again and again. A [`Buffer`] only moves its start mark, and moves
//! the bytes once, when the used part has grown larger than what is left.

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

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
