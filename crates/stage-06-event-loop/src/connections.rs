//! Every open connection, found by the token the poll reports it with.

use mio::Token;

use crate::connection::Connection;

// ANCHOR: connections
/// The open connections, by token.
///
/// A token is an index into a vector (plus one: token 0 is the pool's
/// waker, and listeners count down from the top),
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
    /// Adds a connection and returns its token: the slot of a closed
    /// connection if there is one, else a new slot at the end. Without
    /// the reuse, a server would grow its vector with every connection it
    /// ever had; with it, the vector is as long as the most connections
    /// ever open at once.
    pub fn add(&mut self, conn: Connection) -> Token {
        let conn = Some(Box::new(conn));
        // ANCHOR: ex-06.4-reuse-slots
        let index = match self.free.pop() {
            Some(index) => {
                self.slots[index] = conn;
                index
            }
            None => {
                self.slots.push(conn);
                self.slots.len() - 1
            }
        };
        // ANCHOR_END: ex-06.4-reuse-slots
        Token(index + 1)
    }
}
// ANCHOR_END: connections

impl Connections {
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
        let stream = mio::net::TcpStream::from_std(stream).into();
        Connection::new(stream, info, Default::default(), Instant::now())
    }

    #[test]
    fn a_connection_is_found_by_its_token_until_it_is_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut all = Connections::default();
        assert!(all.is_empty());
        let first = all.add(connection(&listener));
        let second = all.add(connection(&listener));
        assert_ne!(first, second);
        assert!(all.take(Token(0)).is_none(), "token 0 is no connection's");

        // Taken out and put back: still open, same token.
        let conn = all.take(first).unwrap();
        assert!(all.take(first).is_none(), "a taken connection is out");
        all.put_back(first, conn);
        assert_eq!(all.iter_mut().count(), 2);

        // Closed: gone, and once both are, nothing is open.
        drop(all.take(first));
        all.close(first);
        let open: Vec<Token> = all.iter_mut().map(|(token, _)| token).collect();
        assert_eq!(open, [second]);
        drop(all.take(second));
        all.close(second);
        assert!(all.is_empty());
    }

    #[test]
    fn closed_slots_are_reused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut all = Connections::default();
        let kept = all.add(connection(&listener));
        // Connections come and go one at a time next to one that stays: the
        // slot each leaves is the next one's, so the vector (tokens are
        // indexes into it) stays at two slots however many there were.
        let mut tokens = Vec::new();
        for _ in 0..20 {
            let token = all.add(connection(&listener));
            tokens.push(token);
            drop(all.take(token));
            all.close(token);
        }
        assert_ne!(tokens[0], kept, "a new connection takes a slot of its own");
        assert_eq!(
            tokens, [tokens[0]; 20],
            "every connection takes the slot the one before it left"
        );
        assert_eq!(all.slots.len(), 2, "the most connections open at once");
    }
}
