//! The loop's side of `--threads` (the pool itself is [`crate::pool`]):
//! handing a request's app call and each pull of its body to a pool
//! thread, taking back what the thread did, and requests whose client
//! left while a thread had them.
//!
//! The loop keeps every rule it has without a pool, because it is still
//! the loop that decides each step: a body piece is asked for only while
//! the connection's output is under its high-water mark, and only one job
//! per request is out at a time, so the pieces reach the output in order.
//! The pool thread writes what the app sends into the connection's output
//! buffer (the responder's sink, behind its lock); the loop sends it.
//!
//! The request body is in memory before the app is called, as without a
//! pool (the body limit bounds it; see [`crate::incoming`]), so a thread
//! that reads `wsgi.input` never waits for the network, and the loop never
//! waits for a thread.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mio::Token;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use stage_02::Request;
use stage_04::{Outcome, Responder};

use super::EventLoop;
use super::calling::release;
use crate::buffer::Buffer;
use crate::connection::{Connection, Exchange};
use crate::pool::{Done, Job, Pool, Report, Work};
use crate::stepping::Step;

/// The token the pool's threads wake the poll with. Connections' tokens
/// count up from 1 and the listeners' down from the top, so 0 is free.
pub(super) const POOL_WAKER: Token = Token(0);

/// A connection's output buffer, shared with its responder.
type Output = Arc<Mutex<Buffer>>;

/// A request whose client went away while the pool had it: kept until
/// its jobs come back, so that its body's `close()` is still called, on
/// a pool thread, and its access-log line is written when it is over.
pub(super) struct Orphan {
    responder: Py<Responder>,
    request: Request,
    /// `REMOTE_ADDR` as the app saw it, for the access log.
    remote: String,
    started: Instant,
    /// The connection's output, which nobody sends any more.
    output: Output,
}

impl EventLoop {
    /// Starts the pool for `--threads` more than 1: in the worker process,
    /// once it is running, never in a master that will fork.
    pub(super) fn start_pool(&mut self) -> io::Result<()> {
        if self.config.threads > 1 && self.pool.is_none() {
            let (threads, high_water) = (self.config.threads, self.config.high_water);
            let pool = Pool::start(threads, high_water, self.poll.registry(), POOL_WAKER)?;
            self.pool = Some(pool);
        }
        Ok(())
    }

    /// Whether no pool thread has a job of this loop's.
    pub(super) fn pool_is_idle(&self) -> bool {
        self.pool.as_ref().is_none_or(Pool::is_idle)
    }

    fn submit(&mut self, conn: (Token, &Output), responder: Py<Responder>, work: Work) {
        if let Some(pool) = &mut self.pool {
            pool.submit(Job {
                token: conn.0,
                responder,
                work,
                output: Arc::clone(conn.1),
            });
        }
    }

    // ANCHOR: call_on_thread
    /// Hands the app call to the pool; `dispatch` has made the environ
    /// and the connection's exchange.
    pub(super) fn call_on_thread(
        &mut self,
        py: Python<'_>,
        conn: &mut Connection,
        responder: Bound<'_, Responder>,
        environ: Bound<'_, PyDict>,
    ) {
        conn.hand_to_thread();
        let app = self.app.clone_ref(py);
        let work = Work::Call {
            app,
            environ: environ.unbind(),
        };
        self.submit((conn.token, &conn.output), responder.unbind(), work);
    }

    /// `pump` with a pool: one more piece of the body, pulled by a pool
    /// thread, if the client has room for it (the same high-water mark)
    /// and no thread has the request already.
    pub(super) fn pump_on_thread(&mut self, py: Python<'_>, conn: &mut Connection) -> Option<bool> {
        if conn.pending_output() >= self.config.high_water {
            conn.wait_for_reader(self.now);
            return Some(false);
        }
        let Some(exchange) = conn.exchange_mut() else {
            return Some(false);
        };
        if exchange.on_thread {
            return Some(false);
        }
        let Some(progress) = exchange.progress.take() else {
            return Some(false);
        };
        exchange.on_thread = true;
        let responder = exchange.responder.clone_ref(py);
        self.submit((conn.token, &conn.output), responder, Work::Step(progress));
        Some(true)
    }
    // ANCHOR_END: call_on_thread

    // ANCHOR: take_back_jobs
    /// Takes back every job the pool has finished, and serves each
    /// connection on, as an event on its socket would: the thread may have
    /// left output to send, the response may be over, a pipelined request
    /// may be waiting.
    pub(super) fn take_back_jobs(&mut self, py: Python<'_>) {
        while let Some(done) = self.pool.as_mut().and_then(Pool::next_done) {
            let orphan = self
                .orphans
                .iter()
                .position(|orphan| orphan.responder.is(&done.responder));
            match orphan {
                Some(at) => self.orphan_back(py, at, done),
                None => self.back_to_connection(py, done),
            }
        }
    }

    fn back_to_connection(&mut self, py: Python<'_>, done: Done) {
        let Some(mut conn) = self.connections.take(done.token) else {
            return;
        };
        let ours = conn
            .exchange_mut()
            .is_some_and(|exchange| exchange.responder.is(&done.responder));
        if ours {
            self.now = Instant::now();
            match done.result {
                Report::Stepped(Step::More(progress)) => {
                    conn.back_from_thread(Some(progress), self.now)
                }
                Report::Stepped(Step::Done(outcome)) | Report::Abandoned(outcome) => {
                    conn.back_from_thread(None, self.now);
                    self.finish(py, &mut conn, outcome);
                }
            }
        }
        self.connections.put_back(done.token, conn);
        if ours {
            self.service(py, done.token, false);
        }
    }
    // ANCHOR_END: take_back_jobs

    // ANCHOR: orphan
    /// The client went away while a pool thread had the request, or with
    /// its body half pulled: the body is closed on a pool thread (its
    /// `close()` may block: a generator's `finally`, a database cursor),
    /// and the request is kept as an orphan until that is done.
    pub(super) fn orphan(&mut self, py: Python<'_>, conn: &Connection, exchange: Exchange) {
        let Exchange {
            request,
            responder,
            progress,
            started,
            on_thread,
            ..
        } = exchange;
        let remote = self.remote(conn, Some(&request));
        // The app's errors from now on are the client's leaving, not bugs.
        if let Ok(mut responder) = responder.bind(py).try_borrow_mut() {
            responder.client_went_away();
        }
        if let Some(progress) = progress {
            let abandon = Work::Abandon(progress);
            self.submit((conn.token, &conn.output), responder.clone_ref(py), abandon);
        } else if !on_thread {
            // Nothing is out on a thread, so nothing will come back.
            let responder = responder.bind(py);
            release(responder);
            let outcome = gone_before_an_answer();
            let request = Some(&request);
            self.log_finished(request, Some(responder), &outcome, &remote, Some(started));
            return;
        }
        self.orphans.push(Orphan {
            responder,
            request,
            remote,
            started,
            output: Arc::clone(&conn.output),
        });
    }

    /// A job of an orphan came back: a body still open is closed next;
    /// a closed one ends the orphan, with its access-log line.
    fn orphan_back(&mut self, py: Python<'_>, at: usize, done: Done) {
        let mut outcome = match done.result {
            Report::Stepped(Step::More(progress)) => {
                let output = Arc::clone(&self.orphans[at].output);
                let abandon = Work::Abandon(progress);
                self.submit((done.token, &output), done.responder, abandon);
                return;
            }
            Report::Stepped(Step::Done(outcome)) | Report::Abandoned(outcome) => outcome,
        };
        outcome.client_gone = true;
        let orphan = self.orphans.swap_remove(at);
        let responder = orphan.responder.bind(py);
        release(responder);
        let (request, remote) = (Some(&orphan.request), &orphan.remote);
        self.log_finished(
            request,
            Some(responder),
            &outcome,
            remote,
            Some(orphan.started),
        );
    }
    // ANCHOR_END: orphan
}

/// The outcome of a request whose client left before anything came of it.
pub(super) fn gone_before_an_answer() -> Outcome {
    Outcome {
        status: 0,
        body_bytes: 0,
        error: None,
        abort: true,
        client_gone: true,
        reusable: false,
    }
}
