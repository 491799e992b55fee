//! Taking connections: accepting every connection a listener has,
//! registering each with the poll, and no longer listening once the
//! worker stops. (The listeners' tokens are `listeners::listener_token`.)

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use mio::Interest;

use super::EventLoop;
use crate::connection::Connection;
use crate::listeners::Stream;

impl EventLoop {
    pub(super) fn stop_listening(&mut self) {
        if self.listening {
            for listener in &mut self.listeners {
                let _ = self.poll.registry().deregister(listener.source());
            }
            self.listening = false;
        }
    }

    pub(super) fn accept_all(&mut self, index: usize) {
        // A stopping worker (SIGTERM, or at its --max-requests) takes no
        // new connection, not even one this same wake-up reported: the
        // listener is deregistered only at the end of the wake-up, and a
        // connection taken now would be one more its limit did not count.
        // It waits in the socket for another worker.
        if self.stopping.load(Ordering::SeqCst) {
            return;
        }
        loop {
            match self.listeners[index].accept() {
                Ok((stream, peer)) => self.add(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // Another worker took it, or a client reset at once.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    crate::error!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn add(&mut self, stream: Stream, peer: Option<SocketAddr>) {
        // A Unix peer's stand-in addresses: `unix_environ` says so instead.
        let Some(info) = stream.info(peer) else {
            return;
        };
        let conn = Connection::new(stream, info, self.config.timeouts, self.now);
        // The poll reports a socket by its token, which is known once the
        // connection has its slot: register it then, or close it.
        let token = self.connections.add(conn);
        let Some(mut conn) = self.connections.take(token) else {
            return;
        };
        conn.token = token;
        let interest = Interest::READABLE | Interest::WRITABLE;
        let registry = self.poll.registry();
        if registry.register(&mut conn.stream, token, interest).is_ok() {
            self.connections.put_back(token, conn);
        } else {
            self.connections.close(token);
        }
    }
}
