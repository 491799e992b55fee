//! Calling the app for a connection's request, and ending it: the part of
//! the loop that runs Python. [`EventLoop::dispatch`] builds `environ` and
//! calls the app; [`EventLoop::pump`] pulls its body a piece at a time and
//! writes each piece; [`EventLoop::finish`] logs the request and decides
//! what becomes of the connection. The responder writes into the
//! connection's output buffer, which the loop sends when the socket can
//! take it.

use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use stage_02::Request;
use stage_04::environ::cache::ConnectionEnviron;
use stage_04::input::Input;
use stage_04::respond::Sink;
use stage_04::server::send_refusal;
use stage_04::{AfterResponse, Outcome, Responder};
use stage_05::persist::after_response;

use super::EventLoop;
use super::threaded::gone_before_an_answer;
use crate::access_log::Finished;
use crate::buffer::Buffer;
use crate::connection::{Connection, Exchange};
use crate::forwarded::{apply as apply_forwarded, forwarded};
use crate::listeners::Stream;
use crate::refusal::Refusal;
use crate::stepping::{Step, begin};

/// How many pieces of one response the loop pulls before it serves the
/// other connections. A client that reads as fast as the app yields never
/// fills the output to its high-water mark, so without a turn, an endless
/// stream (server-sent events, say) would keep the loop, and every other
/// connection of the worker would wait for it to end.
const PIECES_PER_TURN: usize = 16;

impl EventLoop {
    /// The socket failed: abandon any response in progress (its close()
    /// is still called) and drop the connection.
    pub(super) fn broken(&mut self, py: Python<'_>, conn: &mut Connection) -> bool {
        let Some(exchange) = conn.end_exchange() else {
            return false;
        };
        if self.pool.is_some() {
            // The body is closed on a pool thread (`threaded`).
            self.orphan(py, conn, exchange);
        } else {
            self.abandon_here(py, conn, exchange);
        }
        false
    }

    /// Abandons a response on the loop's own thread: its body's `close()`
    /// is called now, and the request logged.
    pub(super) fn abandon_here(&mut self, py: Python<'_>, conn: &Connection, exchange: Exchange) {
        let Exchange {
            request,
            responder,
            progress,
            started,
            ..
        } = exchange;
        let responder = responder.bind(py);
        let outcome = match progress {
            Some(progress) => progress.abandon(py, responder),
            None => gone_before_an_answer(),
        };
        release(responder);
        self.record(
            conn,
            Some(&request),
            Some(responder),
            &outcome,
            Some(started),
        );
    }

    /// Reports a request to the log callback, if there is an access log,
    /// with `REMOTE_ADDR` as the app saw it and the time since `started`.
    fn record(
        &mut self,
        conn: &Connection,
        request: Option<&Request>,
        responder: Option<&Bound<'_, Responder>>,
        outcome: &Outcome,
        started: Option<Instant>,
    ) {
        if !self.config.access_log {
            return;
        }
        let remote = self.remote(conn, request);
        self.log_finished(request, responder, outcome, &remote, started);
    }

    /// `REMOTE_ADDR` as the app saw it: the peer, or the client a trusted
    /// proxy names.
    pub(super) fn remote(&self, conn: &Connection, request: Option<&Request>) -> String {
        let peer = peer_ip(conn);
        let client = request.and_then(|r| forwarded(r, peer, &self.config.trusted).client);
        client.or(peer).map(|ip| ip.to_string()).unwrap_or_default()
    }

    /// Reports a request to the log callback, if there is an access log,
    /// with the headers the app answered with (through its `responder`).
    pub(super) fn log_finished(
        &mut self,
        request: Option<&Request>,
        responder: Option<&Bound<'_, Responder>>,
        outcome: &Outcome,
        remote: &str,
        started: Option<Instant>,
    ) {
        if !self.config.access_log {
            return;
        }
        let responder = responder.and_then(|r| r.try_borrow().ok());
        (self.log)(&Finished {
            request,
            outcome,
            remote,
            response_headers: responder.as_ref().and_then(|r| r.app_headers()),
            duration: started.map(|s| s.elapsed()).unwrap_or_default(),
        });
    }

    /// Answers a request that never reached the app, and closes.
    pub(super) fn refuse_and_close(
        &mut self,
        conn: &mut Connection,
        why: &Refusal,
        request: Option<&Request>,
    ) {
        let message = format!("{why}\n");
        let outcome = send_refusal(&self.writer, &mut *conn.output(), why.status(), &message);
        self.record(conn, request, None, &outcome, None);
        conn.close_after_output(self.now);
    }

    // ANCHOR: dispatch
    /// Calls the app for a complete request: environ around the body in
    /// memory, a responder writing into the connection's output buffer.
    /// Returns `None` when the client went away while the app's body was
    /// being sent.
    pub(super) fn dispatch(
        &mut self,
        py: Python<'_>,
        conn: &mut Connection,
        request: Request,
        body: Vec<u8>,
    ) -> Option<bool> {
        // Counted first: the request that reaches --max-requests is
        // answered with `Connection: close`, as the last on its connection.
        self.count_request();
        let after = after_response(&request, self.stopping.load(Ordering::SeqCst));
        // The loop's clock, read once per wake-up: the request was complete
        // by then, and reading the clock for each request costs more than
        // a log's microsecond of precision is worth.
        let called_at = self.now;
        let keep_open = matches!(after, AfterResponse::KeepOpen { .. });
        let sink = match conn.sink.take() {
            Some(sink) => sink,
            None => Box::new(SharedOutput(Arc::clone(&conn.output))),
        };
        let responder = Responder::new(sink, self.writer.clone(), &request.method, after);
        let started = (|| -> PyResult<_> {
            let responder = Bound::new(py, responder)?;
            let input = self.input_for(py, body)?;
            let environ = self
                .connection_environ(py, conn)?
                .environ(py, &request, input)?;
            let proxy = forwarded(&request, peer_ip(conn), &self.config.trusted);
            if !proxy.is_empty() {
                apply_forwarded(&environ, &proxy)?;
            }
            Ok((responder, environ))
        })();
        // ANCHOR: dispatch_started
        match started.map(|(responder, environ)| self.call(py, responder, environ)) {
            Ok((responder, Called::OnThread(environ))) => {
                conn.respond(
                    request,
                    responder.clone().unbind(),
                    None,
                    keep_open,
                    called_at,
                );
                self.call_on_thread(py, conn, responder, environ);
            }
            Ok((responder, Called::Here(Step::More(progress)))) => {
                let responder = responder.unbind();
                conn.respond(request, responder, Some(progress), keep_open, called_at);
                // Straight to the right pump: going through `advance` made a
                // recursion the compiler would not inline (about 100
                // instructions a request).
                if conn.sending_file() {
                    self.pump_file(py, conn)?;
                } else {
                    self.pump(py, conn)?;
                }
            }
            Ok((responder, Called::Here(Step::Done(outcome)))) => {
                conn.respond(request, responder.unbind(), None, keep_open, called_at);
                self.finish(py, conn, outcome);
            }
            Err(error) => {
                let traceback = stage_04::python::traceback_text(py, &error);
                crate::error!("cannot call the application:\n{traceback}");
                self.refuse_and_close(conn, &Refusal::ServerError, Some(&request));
            }
        }
        // ANCHOR_END: dispatch_started
        Some(true)
    }
    // ANCHOR_END: dispatch

    /// Calls the app here, or, with a pool (`--threads`), leaves the call
    /// to a pool thread.
    fn call<'py>(
        &self,
        py: Python<'py>,
        responder: Bound<'py, Responder>,
        environ: Bound<'py, PyDict>,
    ) -> (Bound<'py, Responder>, Called<'py>) {
        if self.pool.is_some() {
            return (responder, Called::OnThread(environ));
        }
        let step = begin(py, self.app.bind(py), environ, &responder);
        (responder, Called::Here(step))
    }

    // ANCHOR: pump
    /// Pulls pieces of the app's body, and sends each before asking for
    /// the next: a generator that waits between pieces reaches the client
    /// as it goes, and a client that left is noticed at the next write.
    /// Stops at the output's high-water mark (a client that does not read
    /// leaves the generator suspended), and after [`PIECES_PER_TURN`]
    /// pieces. Returns whether a piece was pulled, or `None` when the
    /// client has gone.
    pub(super) fn pump(&mut self, py: Python<'_>, conn: &mut Connection) -> Option<bool> {
        let mut pulled = false;
        for _ in 0..PIECES_PER_TURN {
            // ANCHOR: ex-06.3-backpressure
            if conn.pending_output() >= self.config.high_water {
                // The app may have run a while since the poll woke up.
                self.now = Instant::now();
                conn.wait_for_reader(self.now);
                return Some(pulled);
            }
            // ANCHOR_END: ex-06.3-backpressure
            let Some(Exchange {
                responder,
                progress,
                ..
            }) = conn.exchange_mut()
            else {
                return Some(pulled);
            };
            let Some(current) = progress.take() else {
                return Some(pulled);
            };
            pulled = true;
            match current.step(py, responder.bind(py)) {
                Step::More(next) => *progress = Some(next),
                Step::Done(outcome) => {
                    self.finish(py, conn, outcome);
                    return Some(true);
                }
            }
            if conn.flush(self.now).is_none() {
                self.broken(py, conn);
                return None;
            }
        }
        // The turn is over, the response is not: the others go first.
        self.turn_over = true;
        Some(true)
    }
    // ANCHOR_END: pump

    /// What every `environ` on the connection starts with, made at its
    /// first request and kept for the others.
    fn connection_environ<'c>(
        &self,
        py: Python<'_>,
        conn: &'c mut Connection,
    ) -> PyResult<&'c mut ConnectionEnviron> {
        let first = conn.environ.is_none();
        let environ = ConnectionEnviron::of_connection(&mut conn.environ, py, &conn.info)?;
        if first && self.config.multiprocess {
            environ.set(py, "wsgi.multiprocess", true)?;
        }
        if first && self.config.threads > 1 {
            environ.set(py, "wsgi.multithread", true)?;
        }
        if first {
            if let Some(path) = conn.stream.unix_path() {
                unix_environ(py, environ, &path)?;
            }
        }
        Ok(environ)
    }

    /// The `wsgi.input` for a body: the shared empty one, or a new one.
    fn input_for<'py>(&mut self, py: Python<'py>, body: Vec<u8>) -> PyResult<Bound<'py, PyAny>> {
        if !body.is_empty() {
            return Ok(Bound::new(py, Input::new(body))?.into_any());
        }
        if let Some(empty) = &self.empty_input {
            return Ok(empty.bind(py).clone());
        }
        let empty = Bound::new(py, Input::new(Vec::new()))?.into_any();
        self.empty_input = Some(empty.clone().unbind());
        Ok(empty)
    }

    /// The response is complete: log it, then keep the connection for the
    /// next request, or close it.
    pub(super) fn finish(&mut self, py: Python<'_>, conn: &mut Connection, outcome: Outcome) {
        let Some(Exchange {
            request,
            responder,
            keep_open,
            started,
            ..
        }) = conn.end_exchange()
        else {
            return;
        };
        let responder = responder.bind(py);
        // The responder's way into the output, for the next response.
        conn.sink = release(responder);
        self.record(
            conn,
            Some(&request),
            Some(responder),
            &outcome,
            Some(started),
        );
        if let Some(traceback) = &outcome.error {
            crate::error!("the application raised an exception:\n{traceback}");
        }
        // Whether the connection stays open was said in the response's
        // head (`dispatch`). A stop that came meanwhile does not change it:
        // closing after a response that promised keep-alive would drop the
        // request the client sends next; that one is answered with
        // `Connection: close` instead.
        // The app may have run a while since the poll woke up: the next
        // wait counts from now.
        self.now = Instant::now();
        if outcome.abort {
            conn.abort_after_output(self.now);
        } else if outcome.reusable && keep_open {
            conn.keep_for_next_request(self.now);
        } else {
            conn.close_after_output(self.now);
        }
    }
}

/// Whether the app was called here, or is to be called on a pool thread.
enum Called<'py> {
    Here(Step),
    OnThread(Bound<'py, PyDict>),
}

/// The responder's view of a connection's output buffer.
///
/// Why a lock: pyo3 requires a Python class such as the responder to be
/// `Send` and `Sync`, so its sink must be too, which rules out
/// `Rc<RefCell<...>>`; and with `--threads`, a pool thread writes here
/// while the loop sends from here. Both hold the GIL when they take the
/// lock, so it is never contended. An uncontended lock is a couple of atomic
/// instructions. The other way round was measured: the responder keeping
/// its bytes in memory of its own, moved to the connection after each
/// step through a borrow of the Python object, cost 4% more instructions
/// per request than this lock.
struct SharedOutput(Arc<std::sync::Mutex<Buffer>>);

impl Sink for SharedOutput {
    /// A copy into memory, which never blocks: not worth releasing the GIL.
    fn send(&mut self, _py: Python<'_>, bytes: &[u8]) -> io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(())
    }
}

/// The connection's peer address; `None` over a Unix socket.
fn peer_ip(conn: &Connection) -> Option<IpAddr> {
    match conn.stream {
        Stream::Tcp(_) => Some(conn.info.peer.ip()),
        Stream::Unix(_) => None,
    }
}

/// A connection over a Unix socket has no addresses, so the entries
/// that would hold them say so. As in gunicorn: `REMOTE_ADDR` empty and
/// no `REMOTE_PORT` (CGI wants a network address, and there is none; a
/// proxy in front says who the client is in `X-Forwarded-For`). Then the
/// socket's path as `SERVER_NAME`, with an empty `SERVER_PORT`, which is
/// what gunicorn says when a request has no `Host` (with one, it splits
/// `Host`; this is made once per connection, not per request). Apps
/// rebuild URLs from `HTTP_HOST` first (PEP 3333), which every HTTP/1.1
/// request has, so these two are seldom read.
fn unix_environ(py: Python<'_>, environ: &ConnectionEnviron, path: &Path) -> PyResult<()> {
    environ.set(py, "REMOTE_ADDR", "")?;
    environ.remove(py, "REMOTE_PORT")?;
    environ.set(py, "SERVER_NAME", path.to_string_lossy())?;
    environ.set(py, "SERVER_PORT", "")
}

pub(super) fn release(responder: &Bound<'_, Responder>) -> Option<Box<dyn Sink>> {
    responder.try_borrow_mut().ok()?.release()
}
