//! Every open connection, found by the token the poll reports it with.

use mio::Token;

use crate::connection::Connection;

// ANCHOR: connections
/// The open connections, by token.
///
/// A token is an index into a vector (plus one: token 0 is the listener),
/// and a closed connection's slot goes to the next connection, so finding
/// the connection an event is for costs an index rather than a hash
/// lookup (mio's own examples use this "slab" pattern). Connections are
/// boxed, so taking one out to work on it moves a pointer, not the whole
/// connection.
#[derive(Default)]
pub struct Connections {
    slots: Vec<Option<Box<Connection>>>,
    /// The slots of closed connections, to be given out again.
    free: Vec<usize>,
}

impl Connections {
    /// Adds a connection under [`next_token`](Self::next_token), and
    /// returns that token.
    pub fn add(&mut self, conn: Connection) -> Token {
        let token = self.next_token();
        let index = token.0 - 1;
        if index == self.slots.len() {
            self.slots.push(None);
        } else {
            self.free.pop(); // next_token gave the last free slot
        }
        self.slots[index] = Some(Box::new(conn));
        token
    }

    /// The token the next [`add`](Self::add) will use, so that a socket
    /// can be registered with the poll before it is added: the last slot
    /// freed if there is one, else a new slot at the end. Without the
    /// reuse, a server would grow its vector with every connection it
    /// ever had.
    pub fn next_token(&self) -> Token {
        // ANCHOR: ex-06.4-reuse-slots
        Token(self.free.last().copied().unwrap_or(self.slots.len()) + 1)
        // ANCHOR_END: ex-06.4-reuse-slots
    }

    /// Takes a connection out to work on it while the loop is borrowed
    /// too; it goes back with [`put_back`](Self::put_back), or is closed
    /// with [`close`](Self::close).
    pub fn take(&mut self, token: Token) -> Option<Box<Connection>> {
        self.slots.get_mut(token.0.checked_sub(1)?)?.take()
    }

    /// Puts a connection taken with [`take`](Self::take) back in its slot.
    pub fn put_back(&mut self, token: Token, conn: Box<Connection>) {
        if let Some(slot) = token.0.checked_sub(1).and_then(|i| self.slots.get_mut(i)) {
            *slot = Some(conn);
        }
    }

    /// Frees the slot of a connection taken with [`take`](Self::take) and
    /// not put back (dropping it closes the socket).
    pub fn close(&mut self, token: Token) {
        if let Some(index) = token.0.checked_sub(1) {
            if self.slots.get(index).is_some_and(Option::is_none) {
                self.free.push(index);
            }
        }
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        // Every slot is either open (taken out or not) or on the free list.
        self.free.len() == self.slots.len()
    }

    /// Every open connection with its token.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Token, &mut Connection)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(index, slot)| Some((Token(index + 1), &mut **slot.as_mut()?)))
    }
}
// ANCHOR_END: connections

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};
    use std::time::Instant;

    use stage_04::environ::ConnectionInfo;

    use super::*;

    fn connection(listener: &TcpListener) -> Connection {
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let info = ConnectionInfo {
            local: stream.local_addr().unwrap(),
            peer: stream.peer_addr().unwrap(),
        };
        let stream = mio::net::TcpStream::from_std(stream);
        Connection::new(stream, info, Instant::now())
    }

    #[test]
    fn tokens_index_slots_and_closed_slots_are_reused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut all = Connections::default();
        assert!(all.is_empty());
        let expected = all.next_token();
        let first = all.add(connection(&listener));
        let second = all.add(connection(&listener));
        assert_eq!((expected, first, second), (Token(1), Token(1), Token(2)));

        // Taken out and put back: still open, same token.
        let conn = all.take(first).unwrap();
        assert!(all.take(first).is_none(), "a taken connection is out");
        all.put_back(first, conn);
        assert_eq!(all.iter_mut().count(), 2);

        // Closed: its slot is the next one given out.
        drop(all.take(first));
        all.close(first);
        assert_eq!(all.iter_mut().count(), 1);
        assert_eq!(all.next_token(), first);
        assert_eq!(all.add(connection(&listener)), first);

        for token in [first, second] {
            drop(all.take(token));
            all.close(token);
        }
        assert!(all.is_empty());
        assert!(all.take(Token(0)).is_none(), "token 0 is the listener's");
    }
}
