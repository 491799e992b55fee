//! The event loop: every connection of a worker on one thread.
//!
//! mio tells the loop which sockets are ready; the loop reads what they
//! have, parses as far as it can, and writes what they can take. Python is
//! called for one request at a time, with the GIL held only for that call
//! and for pulling the next piece of a body. While the app runs, the loop
//! waits: the GIL, and one thread, allow nothing else.

use std::fs::File;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use pyo3::prelude::*;
use stage_02::{Limits, Request};
use stage_03::{Clock, ResponseWriter};
use stage_04::environ::ConnectionInfo;
use stage_04::environ::cache::ConnectionEnviron;
use stage_04::input::Input;
use stage_04::log::AccessEntry;
use stage_04::respond::Writer;
use stage_04::server::{access_entry, refuse};
use stage_04::{AfterResponse, Outcome, Responder, Step, begin};
use stage_05::chunked::ChunkLimits;
use stage_05::persist::{Expectation, after_response, expectation};

use crate::connection::{Connection, Phase, Progress, READ_CHUNK, parse_input};
use crate::connections::Connections;

/// The listening socket's token; connections count up from 1.
const LISTENER: Token = Token(0);

/// Limits, timeouts and buffer sizes of the loop.
#[derive(Debug, Clone)]
pub struct LoopConfig {
    /// Request line, header count, head and body sizes.
    pub limits: Limits,
    /// Bounds on chunked framing.
    pub chunk_limits: ChunkLimits,
    /// How long an idle connection is kept for another request.
    pub keep_alive: Duration,
    /// How long a client has to send a whole head, from its first byte.
    pub header_timeout: Duration,
    /// How long a client may stall while sending a body, or while not
    /// reading the response.
    pub io_timeout: Duration,
    /// How long to wait for a client to close after the last response.
    pub linger: Duration,
    /// Response bytes buffered per connection before the loop stops
    /// pulling from the app's body (backpressure).
    pub high_water: usize,
    /// The `Server` header.
    pub server_name: String,
    /// `wsgi.multiprocess`: whether other worker processes serve the app too.
    pub multiprocess: bool,
    /// Whether each request is reported to the loop's log callback (the
    /// access log). Building the entries costs a little per request.
    pub access_log: bool,
}

impl Default for LoopConfig {
    fn default() -> Self {
        LoopConfig {
            limits: Limits::default(),
            chunk_limits: ChunkLimits::default(),
            keep_alive: Duration::from_secs(5),
            header_timeout: Duration::from_secs(10),
            io_timeout: Duration::from_secs(30),
            linger: Duration::from_secs(2),
            high_water: 256 * 1024,
            server_name: concat!("stage-06/", env!("CARGO_PKG_VERSION")).into(),
            multiprocess: false,
            access_log: true,
        }
    }
}

/// One worker's event loop over a shared listening socket.
pub struct EventLoop {
    poll: Poll,
    listener: TcpListener,
    listening: bool,
    connections: Connections,
    app: Py<PyAny>,
    writer: Writer,
    config: LoopConfig,
    stopping: Arc<AtomicBool>,
    heartbeat: Option<File>,
    last_beat: Instant,
    /// One `wsgi.input` for every request without a body: reading an empty
    /// input changes nothing in it, so it can be shared.
    empty_input: Option<Py<PyAny>>,
    last_expiry_scan: Instant,
    scratch: Vec<u8>,
}

impl EventLoop {
    /// A loop for `app` on `listener` (which must be non-blocking).
    pub fn new(
        listener: std::net::TcpListener,
        app: Py<PyAny>,
        clock: Arc<dyn Clock + Send + Sync>,
        config: LoopConfig,
    ) -> io::Result<EventLoop> {
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let writer = ResponseWriter::with_clock(clock, &config.server_name);
        Ok(EventLoop {
            poll,
            listener,
            listening: true,
            connections: Connections::default(),
            app,
            writer,
            config,
            stopping: Arc::new(AtomicBool::new(false)),
            heartbeat: None,
            last_beat: Instant::now(),
            empty_input: None,
            last_expiry_scan: Instant::now(),
            scratch: vec![0; READ_CHUNK],
        })
    }

    /// The flag that stops the loop gracefully: no new connections, every
    /// response in progress finished, then return.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stopping)
    }

    /// A file whose modification time the loop refreshes about once a
    /// second, so that a master process can tell a live worker from a hung one.
    pub fn set_heartbeat(&mut self, file: File) {
        self.heartbeat = Some(file);
        self.beat(true);
    }

    /// The address the loop accepts on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    // ANCHOR: run
    /// Runs until stopped and every connection is done, or `graceful`
    /// has passed since the stop.
    pub fn run(
        &mut self,
        graceful: Duration,
        mut log: impl FnMut(&AccessEntry, &Outcome),
    ) -> io::Result<()> {
        // The GIL is held while the loop works, and released while it
        // waits for sockets: a worker has one thread, so there is nobody to
        // hand it to in between, and taking it costs microseconds a time.
        Python::attach(|py| self.run_attached(py, graceful, &mut log))
    }

    fn run_attached(
        &mut self,
        py: Python<'_>,
        graceful: Duration,
        log: &mut impl FnMut(&AccessEntry, &Outcome),
    ) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut stopped_at = None;
        loop {
            // A short timeout: deadlines, the stop flag and the heartbeat
            // are looked at even when no socket is ready.
            let poll = &mut self.poll;
            match py.detach(|| poll.poll(&mut events, Some(Duration::from_millis(100)))) {
                // A signal (SIGTERM, say) interrupted the wait: look at the flags.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => events.clear(),
                other => other?,
            }
            for event in events.iter() {
                if event.token() == LISTENER {
                    self.accept_all();
                } else {
                    // Only a writable event says nothing new about input.
                    let readable =
                        event.is_readable() || event.is_read_closed() || event.is_error();
                    self.service(py, event.token(), readable, log);
                }
            }
            // Deadlines are coarse (seconds): a scan ten times a second is plenty.
            if self.last_expiry_scan.elapsed() >= Duration::from_millis(100) {
                self.last_expiry_scan = Instant::now();
                self.expire(py, Instant::now(), log);
            }
            self.beat(false);
            // Stopping: no new connections, but kept-alive ones are not
            // closed under their clients, who may be sending a request at
            // this very moment. Each gets its next request answered with
            // `Connection: close` (see `dispatch`), or is closed when its
            // keep-alive time runs out, as on any other day.
            if self.stopping.load(Ordering::SeqCst) {
                let since = *stopped_at.get_or_insert_with(|| {
                    self.stop_listening();
                    Instant::now()
                });
                if self.connections.is_empty() || since.elapsed() > graceful {
                    return Ok(());
                }
            }
        }
    }
    // ANCHOR_END: run

    fn beat(&mut self, now: bool) {
        if let Some(file) = &self.heartbeat {
            if now || self.last_beat.elapsed() >= Duration::from_secs(1) {
                let _ = file.set_modified(SystemTime::now());
                self.last_beat = Instant::now();
            }
        }
    }

    fn stop_listening(&mut self) {
        if self.listening {
            let _ = self.poll.registry().deregister(&mut self.listener);
            self.listening = false;
        }
    }

    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => self.add(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // Another worker took it, or a client reset at once.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    eprintln!("stage-06: accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn add(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        let Ok(local) = stream.local_addr() else {
            return;
        };
        let _ = stream.set_nodelay(true);
        let token = self.connections.next_token();
        let interest = Interest::READABLE | Interest::WRITABLE;
        if self
            .poll
            .registry()
            .register(&mut stream, token, interest)
            .is_err()
        {
            return;
        }
        let deadline = Instant::now() + self.config.keep_alive;
        self.connections.add(Connection::new(
            stream,
            ConnectionInfo { local, peer },
            deadline,
        ));
    }

    // ANCHOR: service
    /// Does everything a connection can do now: read, parse, call the app,
    /// pull more body, write. Readiness is edge-triggered: the poll reports
    /// a socket once, and again only after it was emptied (or filled, for
    /// writes). So this goes round until a whole pass did nothing, no byte
    /// read or written and no step taken; each of those stops only where
    /// it cannot go on (the socket is empty or full, the request needs
    /// more bytes, the output is at its high-water mark), so whatever
    /// unblocks the connection next comes with a new event.
    fn service(
        &mut self,
        py: Python<'_>,
        token: Token,
        readable: bool,
        log: &mut impl FnMut(&AccessEntry, &Outcome),
    ) {
        let Some(mut conn) = self.connections.take(token) else {
            return;
        };
        if readable {
            conn.drained = false; // there may be new bytes to read
        }
        let alive = loop {
            let Some(read) = self.read(&mut conn) else {
                break self.broken(py, &mut conn, log);
            };
            let Some(stepped) = self.advance(py, &mut conn, log) else {
                break false;
            };
            let Some(written) = conn.flush() else {
                break self.broken(py, &mut conn, log);
            };
            let Some(closing) = self.close_when_sent(&mut conn) else {
                break false;
            };
            // ANCHOR: ex-06.2-edge-triggered
            if read == 0 && written == 0 && !stepped && !closing {
                break true;
            }
            // ANCHOR_END: ex-06.2-edge-triggered
        };
        if alive {
            self.connections.put_back(token, conn);
        } else {
            self.connections.close(token);
        }
    }
    // ANCHOR_END: service

    /// Reads what the connection has room for. While a response is in
    /// progress nothing is read: a pipelined request waits in the socket,
    /// where TCP's flow control slows a client that sends too much.
    fn read(&mut self, conn: &mut Connection) -> Option<usize> {
        if matches!(conn.phase, Phase::Responding { .. }) {
            return Some(0);
        }
        let cap = self.config.limits.max_head_bytes + 64 * 1024;
        conn.read_available(cap, &mut self.scratch)
    }

    /// Once a closing connection's output is all sent: shut down its
    /// write side (or reset it, for an aborted response), then discard what
    /// the client still sends until it closes too. Returns `None` when the
    /// connection is done with, else whether it shut down now.
    fn close_when_sent(&self, conn: &mut Connection) -> Option<bool> {
        if conn.pending_output() > 0 {
            return Some(false);
        }
        let Phase::Closing { abort, shut } = &mut conn.phase else {
            return Some(false);
        };
        if *abort {
            let _ = stage_04::respond::abort_on_close(&conn.stream);
            return None;
        }
        let shut_now = !*shut;
        if shut_now {
            let _ = conn.stream.shutdown(Shutdown::Write);
            *shut = true;
            conn.deadline = Instant::now() + self.config.linger;
        }
        conn.input.clear();
        if conn.peer_closed {
            return None;
        }
        Some(shut_now)
    }

    /// The socket failed: abandon any response in progress (its close()
    /// is still called) and drop the connection.
    fn broken(
        &mut self,
        py: Python<'_>,
        conn: &mut Connection,
        log: &mut impl FnMut(&AccessEntry, &Outcome),
    ) -> bool {
        if let Phase::Responding {
            request,
            responder,
            progress,
            ..
        } = std::mem::replace(&mut conn.phase, Phase::Head)
        {
            let responder = responder.bind(py);
            let outcome = match progress {
                Some(progress) => progress.abandon(py, responder),
                None => Outcome {
                    status: 0,
                    body_bytes: 0,
                    error: None,
                    abort: true,
                    client_gone: true,
                    reusable: false,
                },
            };
            release(responder);
            self.record(log, &conn.info, Some(&request), &outcome);
        }
        false
    }

    /// Reports a request to the log callback, if there is an access log.
    fn record(
        &self,
        log: &mut impl FnMut(&AccessEntry, &Outcome),
        info: &ConnectionInfo,
        request: Option<&Request>,
        outcome: &Outcome,
    ) {
        if self.config.access_log {
            log(&access_entry(info, request, outcome), outcome);
        }
    }

    // ANCHOR: advance
    /// Moves a connection's request forward as far as its bytes allow.
    /// Returns whether it took a step (used input, answered, pulled body),
    /// or `None` when the connection is finished with.
    fn advance(
        &mut self,
        py: Python<'_>,
        conn: &mut Connection,
        log: &mut impl FnMut(&AccessEntry, &Outcome),
    ) -> Option<bool> {
        match &conn.phase {
            Phase::Head | Phase::Body { .. } => {
                if matches!(conn.phase, Phase::Head) && !conn.input.is_empty() && !conn.head_started
                {
                    conn.head_started = true;
                    conn.deadline = Instant::now() + self.config.header_timeout;
                }
                let unparsed = conn.input.len();
                match parse_input(
                    &mut conn.phase,
                    &mut conn.input,
                    &self.config.limits,
                    self.config.chunk_limits,
                ) {
                    Progress::Waiting => {
                        self.answer_expectation(conn);
                        if conn.peer_closed {
                            // Closed between requests, or in the middle of one.
                            return None;
                        }
                        // Body bytes taken out of `input` make room to read more.
                        Some(conn.input.len() != unparsed)
                    }
                    Progress::Refuse(code, message) => {
                        self.refuse(conn, code, &message, None, log);
                        Some(true)
                    }
                    Progress::Complete(request, body) => {
                        if expectation(&request) == Expectation::Unsupported {
                            let message = "only the 100-continue expectation is supported\n";
                            self.refuse(conn, 417, message, Some(&request), log);
                            return Some(true);
                        }
                        self.dispatch(py, conn, request, body, log)
                    }
                }
            }
            Phase::Responding { .. } => self.pump(py, conn, log),
            Phase::Closing { .. } => Some(false),
        }
    }
    // ANCHOR_END: advance

    /// `100 Continue` as soon as the head says the client waits for it:
    /// this loop reads whole bodies before calling the app.
    fn answer_expectation(&self, conn: &mut Connection) {
        if let Phase::Body {
            request,
            expectation_handled,
            ..
        } = &mut conn.phase
        {
            if !*expectation_handled {
                *expectation_handled = true;
                if expectation(request) == Expectation::Continue {
                    conn.output()
                        .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                conn.deadline = Instant::now() + self.config.io_timeout;
            }
        }
    }

    fn refuse(
        &self,
        conn: &mut Connection,
        code: u16,
        message: &str,
        request: Option<&Request>,
        log: &mut impl FnMut(&AccessEntry, &Outcome),
    ) {
        let outcome = refuse(&self.writer, &mut *conn.output(), code, message);
        self.record(log, &conn.info, request, &outcome);
        conn.phase = Phase::Closing {
            abort: false,
            shut: false,
        };
        conn.deadline = Instant::now() + self.config.io_timeout;
    }

    // ANCHOR: dispatch
    /// Calls the app for a complete request: environ around the body in
    /// memory, a responder writing into the connection's output buffer.
    /// Returns `None` when the client went away while the app's body was
    /// being sent.
    fn dispatch(
        &mut self,
        py: Python<'_>,
        conn: &mut Connection,
        request: Request,
        body: Vec<u8>,
        log: &mut impl FnMut(&AccessEntry, &Outcome),
    ) -> Option<bool> {
        let after = after_response(&request, self.stopping.load(Ordering::SeqCst));
        let keep_open = matches!(after, AfterResponse::KeepOpen { .. });
        let sink = Box::new(SharedOutput(Arc::clone(&conn.output)));
        let responder =
            Responder::new(sink, self.writer.clone(), &request.method, after).writing_to_memory();
        let started = (|| -> PyResult<_> {
            let responder = Bound::new(py, responder)?;
            let input = self.input_for(py, body)?;
            let environ = self
                .connection_environ(py, conn)?
                .environ(py, &request, input)?;
            let step = begin(py, self.app.bind(py), environ, &responder);
            Ok((responder.unbind(), step))
        })();
        match started {
            Ok((responder, Step::More(progress))) => {
                conn.phase = Phase::Responding {
                    request,
                    responder,
                    progress: Some(progress),
                    keep_open,
                };
                self.pump(py, conn, log)?;
            }
            Ok((responder, Step::Done(outcome))) => {
                conn.phase = Phase::Responding {
                    request,
                    responder,
                    progress: None,
                    keep_open,
                };
                self.finish(py, conn, outcome, log);
            }
            Err(error) => {
                let traceback = stage_04::python::traceback_text(py, &error);
                eprint!("stage-06: cannot call the application:\n{traceback}");
                self.refuse(conn, 500, "Internal Server Error\n", Some(&request), log);
            }
        }
        Some(true)
    }
    // ANCHOR_END: dispatch

    // ANCHOR: pump
    /// Pulls pieces of the app's body, and sends each one before asking
    /// for the next: a generator that waits between pieces (server-sent
    /// events, progress reports) reaches the client as it goes, and a
    /// client that left is noticed at the next write, which ends the
    /// response and closes the generator. What the socket cannot take
    /// waits in the output buffer, up to the high-water mark: then the loop
    /// stops pulling, and a client that does not read leaves the generator
    /// suspended and the server's memory bounded. Returns whether a piece
    /// was pulled, or `None` when the client has gone.
    fn pump(
        &mut self,
        py: Python<'_>,
        conn: &mut Connection,
        log: &mut impl FnMut(&AccessEntry, &Outcome),
    ) -> Option<bool> {
        let mut pulled = false;
        loop {
            // ANCHOR: ex-06.3-backpressure
            if conn.pending_output() >= self.config.high_water {
                conn.deadline = Instant::now() + self.config.io_timeout;
                return Some(pulled);
            }
            // ANCHOR_END: ex-06.3-backpressure
            let Phase::Responding {
                responder,
                progress,
                ..
            } = &mut conn.phase
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
                    self.finish(py, conn, outcome, log);
                    return Some(true);
                }
            }
            if conn.flush().is_none() {
                self.broken(py, conn, log);
                return None;
            }
        }
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
    fn finish(
        &mut self,
        py: Python<'_>,
        conn: &mut Connection,
        outcome: Outcome,
        log: &mut impl FnMut(&AccessEntry, &Outcome),
    ) {
        let Phase::Responding {
            request,
            responder,
            keep_open,
            ..
        } = std::mem::replace(&mut conn.phase, Phase::Head)
        else {
            return;
        };
        release(responder.bind(py));
        self.record(log, &conn.info, Some(&request), &outcome);
        if let Some(traceback) = &outcome.error {
            eprint!("stage-06: the application raised an exception:\n{traceback}");
        }
        let reusable = outcome.reusable && keep_open && !self.stopping.load(Ordering::SeqCst);
        conn.head_started = false;
        if outcome.abort {
            conn.phase = Phase::Closing {
                abort: true,
                shut: false,
            };
        } else if reusable {
            conn.phase = Phase::Head;
            conn.deadline = Instant::now() + self.config.keep_alive;
        } else {
            conn.phase = Phase::Closing {
                abort: false,
                shut: false,
            };
            conn.deadline = Instant::now() + self.config.io_timeout;
        }
    }

    /// Closes connections whose wait ran out: a quiet close between
    /// requests, a 408 for a head or body that stalled, a reset for a
    /// client that stopped reading its response.
    fn expire(
        &mut self,
        py: Python<'_>,
        now: Instant,
        log: &mut impl FnMut(&AccessEntry, &Outcome),
    ) {
        let expired: Vec<Token> = self
            .connections
            .iter_mut()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(t, _)| t)
            .collect();
        for token in expired {
            let Some(mut conn) = self.connections.take(token) else {
                continue;
            };
            let waiting_for_request = matches!(conn.phase, Phase::Head) && conn.input.is_empty();
            let stalled_request =
                matches!(conn.phase, Phase::Head | Phase::Body { .. }) && !waiting_for_request;
            if stalled_request {
                self.refuse(
                    &mut conn,
                    408,
                    "timed out waiting for the request\n",
                    None,
                    log,
                );
                conn.deadline = now + self.config.linger;
                let _ = conn.flush();
                self.connections.put_back(token, conn);
                continue;
            }
            if matches!(conn.phase, Phase::Responding { .. }) {
                self.broken(py, &mut conn, log);
            }
            // Idle between requests, or done closing: closed here.
            self.connections.close(token);
        }
    }
}

/// The responder's view of a connection's output buffer.
struct SharedOutput(Arc<std::sync::Mutex<Vec<u8>>>);

impl io::Write for SharedOutput {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn release(responder: &Bound<'_, Responder>) {
    if let Ok(mut responder) = responder.try_borrow_mut() {
        responder.release();
    }
}

/* workshop exercise
id: 06.3-backpressure
title: Stop pulling when the client is not reading
kind: fix the bug
book: ch06-event-loop.html#calling-the-app-and-backpressure
tests: a_client_that_does_not_read_pauses_the_generator
hint: Ask a generator for 64 MB and read none of it: where do the bytes go while the socket is full?
hint: Before pulling the next piece, look at how much output is already waiting; past `high_water`, stop and come back when the socket has taken some.
starter:
            // Pull the next piece.
*/

/* workshop exercise
id: 06.2-edge-triggered
title: Go on until nothing moves
kind: fix the bug
book: ch06-event-loop.html#one-thread-every-connection
tests: requests_that_arrive_together_are_all_answered
hint: Send three requests in one write: how many readiness events does the socket produce? How many requests does one pass answer?
hint: Readiness is edge-triggered: it is reported once. Loop while the pass changed something (input, output, phase, bytes moved).
starter:
            break true;
*/
