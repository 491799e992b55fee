//! Taking connections: every connection a listener has, each registered
//! with the poll under a token of its own, never reused (see [`Server`]
//! for why). The listeners' tokens are stage-06's `listener_token`.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use mio::{Interest, Token};
use stage_06::listeners::Stream;

use super::Server;
use crate::connection::Conn;

impl Server {
    /// Takes every connection listener `index` has, until it would block.
    pub(super) fn accept_all(&mut self, index: usize) {
        while self.listening && !self.ctx.stopping.load(Ordering::SeqCst) {
            match self.listeners[index].accept() {
                Ok((stream, peer)) => self.add(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    stage_06::error!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn add(&mut self, mut stream: Stream, peer: Option<SocketAddr>) {
        // A Unix peer's stand-in addresses: the scope says so instead
        // (`client` None, `server` the path).
        let Some(info) = stream.info(peer) else {
            return;
        };
        let token = Token(self.next_token);
        self.next_token += 1;
        let interest = Interest::READABLE | Interest::WRITABLE;
        if self
            .poll
            .registry()
            .register(&mut stream, token, interest)
            .is_ok()
        {
            let conn = Conn::new(stream, info, self.ctx.config.timeouts, self.ctx.now);
            self.conns.insert(token, conn);
        }
    }
}
