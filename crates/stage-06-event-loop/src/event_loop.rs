//! The event loop: every connection of a worker on one thread.
//!
//! mio tells the loop which sockets are ready; the loop reads what they
//! have, parses as far as it can, and writes what they can take. Python is
//! called for one request at a time (in the `calling` module); the GIL is held while
//! the loop works and released while it waits in the poll, since a worker
//! has one thread and nobody to hand it to in between. While the app runs,
//! the loop waits: one thread allows nothing else.
//!
//! With `--threads N` (N > 1), the app runs on a pool of N threads
//! instead ([`crate::pool`], and the `threaded` module here), and the loop
//! goes on with the sockets meanwhile.

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use mio::{Events, Interest, Poll, Token};
use pyo3::prelude::*;
use stage_02::Limits;
use stage_03::{Clock, ResponseWriter};
use stage_04::respond::Writer;
use stage_05::chunked::ChunkLimits;

use crate::access_log::Finished;
use crate::connection::{Connection, Phase, READ_CHUNK, Timeouts};
use crate::connections::Connections;
use crate::forwarded::Trusted;
use crate::incoming::Progress;
use crate::listeners::{Accepting, Listener, listener_index, listener_token};
use crate::pool::Pool;

mod accepting;
mod calling;
mod expiry;
mod sending;
mod threaded;

/// Where the loop reports each finished request: the access log.
type AccessLog = Box<dyn FnMut(&Finished<'_>) + Send>;

/// Limits, timeouts and buffer sizes of the loop.
#[derive(Debug, Clone)]
pub struct LoopConfig {
    /// Request line, header count, head and body sizes.
    pub limits: Limits,
    /// Bounds on chunked framing.
    pub chunk_limits: ChunkLimits,
    /// How long a connection waits for each thing it waits for.
    pub timeouts: Timeouts,
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
    /// The peers whose `X-Forwarded-For` and `X-Forwarded-Proto` are
    /// believed (`--forwarded-allow-ips`).
    pub trusted: Trusted,
    /// After this many requests the loop stops as on SIGTERM, so that its
    /// master replaces the worker (`--max-requests`, with the jitter
    /// already added): memory an app leaks is given back.
    pub max_requests: Option<u64>,
    /// App calls at once (`--threads`): with 1, the loop calls the app
    /// itself; with more, a pool of that many threads does, and
    /// `wsgi.multithread` is true.
    pub threads: usize,
}

impl Default for LoopConfig {
    fn default() -> Self {
        LoopConfig {
            limits: Limits::default(),
            chunk_limits: ChunkLimits::default(),
            timeouts: Timeouts::default(),
            high_water: 256 * 1024,
            server_name: concat!("stage-06/", env!("CARGO_PKG_VERSION")).into(),
            multiprocess: false,
            access_log: true,
            trusted: Trusted::default(),
            max_requests: None,
            threads: 1,
        }
    }
}

/// One worker's event loop over shared listening sockets.
pub struct EventLoop {
    poll: Poll,
    listeners: Vec<Accepting>,
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
    /// When the poll last returned: the time every deadline set while
    /// handling its events counts from. Deadlines are seconds long, so one
    /// reading of the clock per wake-up is plenty, and asking the clock at
    /// every step cost more than a percent of a request.
    now: Instant,
    scratch: Vec<u8>,
    /// Where finished requests are reported; set by [`run`](Self::run).
    log: AccessLog,
    /// Connections that gave up their turn with body left to pull (see
    /// `PIECES_PER_TURN`): served again after the next poll, which does
    /// not wait while there are any. No event would bring them back: their
    /// sockets stay writable, and edge-triggered readiness says nothing
    /// about a state that has not changed.
    yielded: Vec<Token>,
    /// Set by `pump` when it stops at the end of a turn.
    turn_over: bool,
    /// Requests handed to the app so far (for `max_requests`).
    served: u64,
    /// The threads that call the app, with `--threads` more than 1.
    pool: Option<Pool>,
    /// Requests whose client left while a pool thread had them.
    orphans: Vec<threaded::Orphan>,
}

impl EventLoop {
    /// A loop for `app` accepting on every one of `listeners` (made
    /// non-blocking here).
    pub fn new(
        listeners: Vec<Listener>,
        app: Py<PyAny>,
        clock: Arc<dyn Clock + Send + Sync>,
        config: LoopConfig,
    ) -> io::Result<EventLoop> {
        let poll = Poll::new()?;
        let mut accepting = Vec::new();
        for (index, listener) in listeners.into_iter().enumerate() {
            let mut listener = Accepting::new(listener)?;
            poll.registry().register(
                listener.source(),
                listener_token(index),
                Interest::READABLE,
            )?;
            accepting.push(listener);
        }
        let writer = ResponseWriter::with_clock(clock, &config.server_name);
        Ok(EventLoop {
            poll,
            listeners: accepting,
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
            now: Instant::now(),
            scratch: vec![0; READ_CHUNK],
            yielded: Vec::new(),
            turn_over: false,
            served: 0,
            log: Box::new(|_| {}),
            pool: None,
            orphans: Vec::new(),
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

    /// The address of the first TCP socket the loop accepts on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listeners
            .iter()
            .find_map(Accepting::local_addr)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no TCP listener"))
    }

    // ANCHOR: run
    /// Runs until stopped and every connection is done, or `graceful`
    /// has passed since the stop.
    /// Each finished request is reported to `log` (the access log).
    pub fn run(
        &mut self,
        graceful: Duration,
        log: impl FnMut(&Finished<'_>) + Send + 'static,
    ) -> io::Result<()> {
        self.log = Box::new(log);
        self.start_pool()?;
        // The GIL is held while the loop works, and released while it
        // waits for sockets: a worker has one thread, so there is nobody to
        // hand it to in between, and taking it costs microseconds a time.
        Python::attach(|py| self.run_attached(py, graceful))
    }
    // ANCHOR_END: run

    // ANCHOR: run_attached
    fn run_attached(&mut self, py: Python<'_>, graceful: Duration) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut stopped_at = None;
        loop {
            // A short timeout: deadlines, the stop flag and the heartbeat
            // are looked at even when no socket is ready. None at all when
            // a connection waits for its next turn.
            let wait = if self.yielded.is_empty() {
                Duration::from_millis(100)
            } else {
                Duration::ZERO
            };
            let poll = &mut self.poll;
            match py.detach(|| poll.poll(&mut events, Some(wait))) {
                // A signal (SIGTERM, say) interrupted the wait: look at the flags.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => events.clear(),
                other => other?,
            }
            self.now = Instant::now();
            // ANCHOR: serve_ready
            for event in events.iter() {
                if let Some(index) = listener_index(event.token(), self.listeners.len()) {
                    self.accept_all(index);
                } else {
                    // Only a writable event says nothing new about input.
                    let readable =
                        event.is_readable() || event.is_read_closed() || event.is_error();
                    self.service(py, event.token(), readable);
                }
            }
            if self.pool.is_some() {
                self.take_back_jobs(py);
            }
            for token in std::mem::take(&mut self.yielded) {
                self.service(py, token, false);
            }
            // ANCHOR_END: serve_ready
            // Deadlines are coarse (seconds): a scan ten times a second is plenty.
            if self.last_expiry_scan.elapsed() >= Duration::from_millis(100) {
                self.last_expiry_scan = self.now;
                self.expire(py, self.now);
            }
            self.beat(false);
            // ANCHOR: stopping
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
                if self.connections.is_empty() && self.pool_is_idle() {
                    if let Some(pool) = self.pool.take() {
                        pool.stop(py);
                    }
                    return Ok(());
                }
                if since.elapsed() > graceful {
                    // Pool threads still in the app are left to it.
                    self.abandon_all(py);
                    return Ok(());
                }
            }
            // ANCHOR_END: stopping
        }
    }
    // ANCHOR_END: run_attached

    /// Counts a request handed to the app; at `max_requests`, the loop
    /// starts to stop. The request being counted was already promised
    /// keep-alive or not (`dispatch`); the connection's next request, if
    /// one comes, is answered with `Connection: close`, and the client
    /// opens a new connection, which a fresh worker accepts.
    fn count_request(&mut self) {
        self.served += 1;
        if self.config.max_requests == Some(self.served) {
            crate::info!(
                "worker {} has served {} requests (--max-requests): finishing them, then exiting",
                std::process::id(),
                self.served
            );
            self.stopping.store(true, Ordering::SeqCst);
        }
    }

    /// Refreshes the heartbeat. With a pool, the time it says is when the
    /// longest-running app call began: a thread stuck in the app looks to
    /// the master like a loop stuck in it, and is killed after `--timeout`.
    fn beat(&mut self, now: bool) {
        if let Some(file) = &self.heartbeat {
            if now || self.last_beat.elapsed() >= Duration::from_secs(1) {
                let busy = self
                    .pool
                    .as_ref()
                    .map_or(Duration::ZERO, Pool::longest_busy);
                let _ = file.set_modified(SystemTime::now() - busy);
                self.last_beat = Instant::now();
            }
        }
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
    fn service(&mut self, py: Python<'_>, token: Token, readable: bool) {
        let Some(mut conn) = self.connections.take(token) else {
            return;
        };
        if readable {
            conn.may_have_input();
        }
        let alive = loop {
            let Some(read) = self.read(&mut conn) else {
                break self.broken(py, &mut conn);
            };
            let Some(stepped) = self.advance(py, &mut conn) else {
                break false;
            };
            let Some(written) = conn.flush(self.now) else {
                break self.broken(py, &mut conn);
            };
            let Some(closing) = conn.close_when_sent(self.now) else {
                break false;
            };
            if self.gave_up_turn(token) {
                break true; // served again after the next poll
            }
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

    /// Whether the connection's response just gave up its turn (`pump`);
    /// if so, it is queued to be served again after the next poll.
    fn gave_up_turn(&mut self, token: Token) -> bool {
        let over = std::mem::take(&mut self.turn_over);
        if over {
            self.yielded.push(token);
        }
        over
    }

    /// Reads what the connection has room for. While a response is in
    /// progress nothing is read: a pipelined request waits in the socket,
    /// where TCP's flow control slows a client that sends too much.
    fn read(&mut self, conn: &mut Connection) -> Option<usize> {
        if conn.is_responding() {
            return Some(0);
        }
        let cap = self.config.limits.max_head_bytes + 64 * 1024;
        conn.read_available(cap, &mut self.scratch)
    }

    // ANCHOR: advance
    /// Moves a connection's request forward as far as its bytes allow.
    /// Returns whether it took a step (used input, answered, pulled body),
    /// or `None` when the connection is finished with.
    fn advance(&mut self, py: Python<'_>, conn: &mut Connection) -> Option<bool> {
        match conn.phase() {
            Phase::Head | Phase::Body { .. } => {
                let unparsed = conn.input.len();
                let limits = &self.config.limits;
                match conn.parse(limits, self.config.chunk_limits, self.now) {
                    Progress::Waiting => {
                        if conn.peer_closed {
                            let done = conn.input_ended(self.now);
                            return if done { None } else { Some(true) };
                        }
                        // Body bytes taken out of `input` make room to read more.
                        Some(conn.input.len() != unparsed)
                    }
                    Progress::Refuse(why, request) => {
                        self.refuse_and_close(conn, &why, request.as_ref());
                        Some(true)
                    }
                    Progress::Complete(request, body) => self.dispatch(py, conn, request, body),
                }
            }
            Phase::Responding(_) if conn.sending_file() => self.pump_file(py, conn),
            Phase::Responding(_) if self.pool.is_some() => self.pump_on_thread(py, conn),
            Phase::Responding(_) => self.pump(py, conn),
            Phase::Closing { .. } => Some(false),
        }
    }
    // ANCHOR_END: advance
}
