//! Waits that ran out, and connections given up on: a quiet close for an
//! idle connection, a 408 for a request that stalled, a reset for a
//! response the client stopped reading or the graceful time cut short.

use std::time::Instant;

use mio::Token;
use pyo3::prelude::*;
use stage_04::run::abort_on_close;

use super::EventLoop;
use crate::connection::{Connection, Expired, Phase};
use crate::refusal::Refusal;

impl EventLoop {
    /// Closes connections whose wait ran out: a quiet close between
    /// requests, a 408 for a head or body that stalled, a reset for a
    /// client that stopped reading its response.
    pub(super) fn expire(&mut self, py: Python<'_>, now: Instant) {
        let expired: Vec<(Token, Expired)> = self
            .connections
            .iter_mut()
            .filter_map(|(token, conn)| Some((token, conn.expired(now)?)))
            .collect();
        for (token, what) in expired {
            let Some(mut conn) = self.connections.take(token) else {
                continue;
            };
            match what {
                Expired::Request => {
                    self.refuse_and_close(&mut conn, &Refusal::TimedOut, None);
                    // Sent and shut down now if the socket takes it all;
                    // else the next writable event finishes it.
                    let sent = conn.flush(now).is_some();
                    conn.give_up_after_output(now);
                    if sent && conn.close_when_sent(now).is_some() {
                        self.connections.put_back(token, conn);
                    } else {
                        self.connections.close(token);
                    }
                }
                Expired::Response => self.abandon(py, token, conn),
                Expired::Closing => {
                    if matches!(conn.phase(), Phase::Closing { abort: true, .. }) {
                        let _ = abort_on_close(&conn.stream);
                    }
                    self.connections.close(token);
                }
                Expired::Idle => self.close_if_idle(py, token, conn),
            }
        }
    }

    /// Closes a connection whose keep-alive time ran out, unless a request
    /// is waiting in its socket after all: an app call that held the loop
    /// for longer than the keep-alive time (no `--threads`) can bring the
    /// loop here before the event that says the request came. Closing
    /// then would drop a request the client had sent in time (and, with
    /// its bytes unread, reset the connection); it is served instead.
    fn close_if_idle(&mut self, py: Python<'_>, token: Token, mut conn: Box<Connection>) {
        conn.may_have_input();
        match self.read(&mut conn) {
            Some(read) if read > 0 => {
                self.connections.put_back(token, conn);
                self.service(py, token, false);
            }
            _ => self.connections.close(token),
        }
    }

    /// The graceful time is up: responses still in progress are cut short,
    /// with their app results closed and their connections reset. Closed
    /// here, on the loop's thread, with or without a pool: the loop returns
    /// next, and a `close()` queued for a pool thread would never run.
    /// (A request a pool thread is in the middle of is left to it.)
    pub(super) fn abandon_all(&mut self, py: Python<'_>) {
        let tokens: Vec<Token> = self.connections.iter_mut().map(|(t, _)| t).collect();
        for token in tokens {
            if let Some(mut conn) = self.connections.take(token) {
                if let Some(exchange) = conn.end_exchange() {
                    self.abandon_here(py, &conn, exchange);
                    let _ = abort_on_close(&conn.stream);
                }
                self.connections.close(token);
            }
        }
    }

    /// Gives up on a connection: a response in progress is abandoned (its
    /// result's `close()` is called) and the connection reset, so that the
    /// client cannot take a cut body for a whole one.
    fn abandon(&mut self, py: Python<'_>, token: Token, mut conn: Box<Connection>) {
        if conn.is_responding() {
            self.broken(py, &mut conn);
            let _ = abort_on_close(&conn.stream);
        }
        self.connections.close(token);
    }
}
