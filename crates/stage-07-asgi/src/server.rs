//! The server, as a guest in Python's asyncio loop.
//!
//! Stage-06 owned its loop: it waited in mio's poll and called the app
//! between waits. An ASGI app is a coroutine that must run in asyncio's
//! loop, and asyncio waits in its own `select`/`epoll`. Two loops cannot
//! both wait on one thread, so one becomes the guest of the other: here
//! asyncio is the host, and the server's mio poll is a single file
//! descriptor (epoll's own) registered once with `loop.add_reader`. When
//! any socket of the server is ready, that descriptor turns readable, and
//! asyncio calls the server's `on_ready`, which does what stage-06's loop
//! body did: poll without waiting, accept, read, parse, write.
//!
//! Each request's app runs as a real `asyncio.Task`, made with
//! `loop.create_task`, so `asyncio.current_task()`, contextvars,
//! cancellation and anyio work as in uvicorn; its `receive` and `send`
//! are the methods of a [`Channel`](crate::channel::Channel).

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use mio::{Events, Interest, Poll, Token};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use stage_02::Limits;
use stage_03::{Clock, ResponseWriter};
use stage_04::respond::Writer;
use stage_05::chunked::ChunkLimits;
use stage_06::Timeouts;
use stage_06::access_log::Format;
use stage_06::connection::READ_CHUNK;
use stage_06::forwarded::Trusted;
use stage_06::listeners::{Accepting, Listener, listener_index, listener_token};
use stage_06::log_files::AccessSink;

use crate::connection::Conn;
use crate::dispatch::Starting;
use crate::ready::Ready;

mod accepting;

/// Limits, timeouts and sizes.
#[derive(Debug, Clone)]
pub struct Config {
    /// Request line, header count, head and body sizes.
    pub limits: Limits,
    /// Bounds on chunked framing.
    pub chunk_limits: ChunkLimits,
    /// How long a connection waits for each thing it waits for.
    pub timeouts: Timeouts,
    /// Response bytes buffered per connection before `send` makes the app
    /// wait (backpressure).
    pub high_water: usize,
    /// The `Server` header.
    pub server_name: String,
    /// Whether each request gets an access-log line.
    pub access_log: bool,
    /// The peers whose forwarding headers set the scope's `client` and
    /// `scheme` (`--forwarded-allow-ips`).
    pub trusted: Trusted,
    /// After this many requests the worker stops taking more, finishes,
    /// and exits, for the master to replace it (`--max-requests`).
    pub max_requests: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            chunk_limits: ChunkLimits::default(),
            timeouts: Timeouts::default(),
            high_water: 256 * 1024,
            server_name: concat!("stage-07/", env!("CARGO_PKG_VERSION")).into(),
            access_log: true,
            trusted: Trusted::default(),
            max_requests: None,
        }
    }
}

/// The asyncio loop's methods the server calls, looked up once.
pub(crate) struct LoopMethods {
    pub create_future: Py<PyAny>,
    pub create_task: Py<PyAny>,
    pub call_soon: Py<PyAny>,
    /// `server.on_ready`, bound: what `call_soon` schedules to serve
    /// pipelined input.
    pub on_ready: Py<PyAny>,
    /// The server itself, for each request's channel.
    pub server: Py<Server>,
}

/// Everything but the connections, so that a connection and the rest can
/// be borrowed at once.
pub(crate) struct Ctx {
    pub app: Py<PyAny>,
    pub asyncio: Option<LoopMethods>,
    pub writer: Writer,
    pub config: Config,
    /// The lifespan state, copied into each request's scope.
    pub state: Option<Py<PyDict>>,
    /// Requests started so far: each exchange's serial.
    pub serial: u64,
    /// When `on_ready` or `tick` last read the clock: the time deadlines
    /// count from, also in `send` and `receive`, at most a tick late.
    /// Deadlines are seconds long, and the clock costs a call each time.
    pub now: Instant,
    /// The read buffer, reused.
    pub scratch: Vec<u8>,
    /// The bytes of one `send`, reused.
    pub out: Vec<u8>,
    /// `send`'s usual answer, made once: a [`Ready`] can be awaited again.
    pub ready_none: Py<Ready>,
    /// Set by SIGTERM or SIGINT: finish what is in flight, take no more.
    pub stopping: Arc<AtomicBool>,
    /// Where access-log lines go, in which format, with this pid.
    pub access: (Format, Arc<Mutex<AccessSink>>, u32),
    /// Connections with input to serve again, and whether a call of
    /// `on_ready` is already scheduled for them.
    pub resume: Vec<Token>,
    pub resume_scheduled: bool,
    /// Apps called by this `on_ready`, whose tasks start once it is over.
    pub starting: Vec<Starting>,
}

// ANCHOR: server
/// One worker's server: the listening sockets and every connection, all
/// seen through one mio poll.
///
/// Connections are in a `HashMap` by a token never reused, not in
/// stage-06's slab (`Connections`, which reuses a closed connection's
/// slot, and holds stage-06's own connection type): a request's
/// [`Channel`](crate::channel::Channel) keeps its connection's token for
/// as long as the app's task runs, which may be after the connection is
/// closed, and a reused token would lead it to a stranger's connection.
#[pyclass(unsendable, module = "stage07")]
pub struct Server {
    pub(crate) conns: HashMap<Token, Conn>,
    pub(crate) ctx: Ctx,
    poll: Poll,
    events: Events,
    listeners: Vec<Accepting>,
    listening: bool,
    next_token: usize,
    heartbeat: Option<File>,
    last_beat: Instant,
}
// ANCHOR_END: server

impl Server {
    /// A server for `app` on `listeners` (TCP and Unix sockets).
    pub fn new(
        py: Python<'_>,
        listeners: Vec<Listener>,
        app: Py<PyAny>,
        clock: Arc<dyn Clock + Send + Sync>,
        config: Config,
    ) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut accepting = Vec::new();
        for (index, listener) in listeners.into_iter().enumerate() {
            let mut listener = Accepting::new(listener)?;
            let token = listener_token(index);
            poll.registry()
                .register(listener.source(), token, Interest::READABLE)?;
            accepting.push(listener);
        }
        let writer = ResponseWriter::with_clock(clock, &config.server_name);
        let ready_none = Py::new(py, Ready::none()).map_err(io::Error::other)?;
        Ok(Server {
            conns: HashMap::new(),
            ctx: Ctx {
                app,
                asyncio: None,
                writer,
                config,
                state: None,
                serial: 0,
                now: Instant::now(),
                scratch: vec![0; READ_CHUNK],
                out: Vec::with_capacity(READ_CHUNK),
                ready_none,
                access: (
                    Format::default(),
                    Arc::new(Mutex::new(AccessSink::Stderr)),
                    std::process::id(),
                ),
                stopping: Arc::new(AtomicBool::new(false)),
                resume: Vec::new(),
                resume_scheduled: false,
                starting: Vec::new(),
            },
            poll,
            events: Events::with_capacity(1024),
            listeners: accepting,
            listening: true,
            next_token: 1,
            heartbeat: None,
            last_beat: Instant::now(),
        })
    }

    /// The flag that stops the server gracefully (set by SIGTERM).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.ctx.stopping)
    }

    /// A file touched about once a second, so that stage-06's master can
    /// tell a live worker from a hung one.
    pub fn set_heartbeat(&mut self, file: File) {
        self.heartbeat = Some(file);
    }

    /// Where access-log lines go, and in which format. The sink is shared
    /// with the thread that opens it again on SIGUSR1 (stage-06's
    /// `log_files::reopen_on_sigusr1`).
    pub fn set_access_log(&mut self, format: Format, sink: Arc<Mutex<AccessSink>>) {
        self.ctx.access = (format, sink, std::process::id());
    }

    /// The first TCP address the server accepts on.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listeners.iter().find_map(Accepting::local_addr)
    }

    fn beat(&mut self, now: bool) {
        if let Some(file) = &self.heartbeat {
            if now || self.last_beat.elapsed() >= Duration::from_secs(1) {
                let _ = file.set_modified(SystemTime::now());
                self.last_beat = Instant::now();
            }
        }
    }

    /// Closes a connection (dropping it closes the socket), first telling
    /// a request still in progress that its client is gone.
    pub(crate) fn remove(&mut self, py: Python<'_>, token: Token) {
        if let Some(mut conn) = self.conns.remove(&token) {
            self.ctx.client_gone(py, &mut conn);
            let _ = self.poll.registry().deregister(&mut conn.stream);
        }
    }

    // ANCHOR: service
    /// Everything a connection can do now: read, move its request on,
    /// write, and end if it is ending.
    fn service(&mut self, py: Python<'_>, token: Token, readable: bool) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if readable {
            conn.drained = false;
        }
        let cap = self.ctx.config.limits.max_head_bytes + 64 * 1024;
        conn.read_available(cap, &mut self.ctx.scratch);
        let keep = self.ctx.advance(py, token, conn);
        conn.flush(self.ctx.now);
        self.ctx.output_moved(py, conn);
        if !keep || self.settled(token) {
            self.remove(py, token);
        }
    }
    // ANCHOR_END: service

    /// Whether the connection is done with: an ending one whose output is
    /// all sent and whose client has closed, or a broken one.
    pub(crate) fn settled(&mut self, token: Token) -> bool {
        let now = self.ctx.now;
        self.conns
            .get_mut(&token)
            .is_some_and(|conn| conn.broken || conn.finish_ending(now))
    }

    // ANCHOR: serve_ready
    /// What `on_ready` does while it has the server to itself.
    fn serve_ready(&mut self, py: Python<'_>) -> PyResult<()> {
        match self.poll.poll(&mut self.events, Some(Duration::ZERO)) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => self.events.clear(),
            other => other?,
        }
        self.ctx.now = Instant::now();
        let ready: Vec<(Token, bool)> = self
            .events
            .iter()
            .map(|e| {
                (
                    e.token(),
                    e.is_readable() || e.is_read_closed() || e.is_error(),
                )
            })
            .collect();
        for (token, readable) in ready {
            if let Some(index) = listener_index(token, self.listeners.len()) {
                self.accept_all(index);
            } else {
                self.service(py, token, readable);
            }
        }
        self.ctx.resume_scheduled = false;
        for token in std::mem::take(&mut self.ctx.resume) {
            self.service(py, token, false);
        }
        Ok(())
    }
    // ANCHOR_END: serve_ready
}

#[pymethods]
impl Server {
    /// The poll's own descriptor, for `loop.add_reader`.
    fn fileno(&self) -> i32 {
        self.poll.as_raw_fd()
    }

    /// Takes the running loop's methods (`loop` is asyncio's, or uvloop's).
    fn attach(slf: &Bound<'_, Self>, event_loop: &Bound<'_, PyAny>) -> PyResult<()> {
        let methods = LoopMethods {
            create_future: event_loop.getattr("create_future")?.unbind(),
            create_task: event_loop.getattr("create_task")?.unbind(),
            call_soon: event_loop.getattr("call_soon")?.unbind(),
            on_ready: slf.getattr("on_ready")?.unbind(),
            server: slf.clone().unbind(),
        };
        slf.borrow_mut().ctx.asyncio = Some(methods);
        Ok(())
    }

    /// The lifespan state, of which each request's scope gets a copy.
    fn set_state(&mut self, state: Py<PyDict>) {
        self.ctx.state = Some(state);
    }

    // ANCHOR: on_ready
    /// Called by asyncio when the poll's descriptor is readable: some
    /// socket is ready. Polls without waiting and serves what is ready,
    /// then the connections that have pipelined input waiting; then, the
    /// server free again, starts the tasks of the requests that came.
    fn on_ready(slf: &Bound<'_, Self>) -> PyResult<()> {
        let starting = {
            let mut server = slf.try_borrow_mut()?;
            server.serve_ready(slf.py())?;
            std::mem::take(&mut server.ctx.starting)
        };
        Server::start_tasks(slf, starting);
        Ok(())
    }
    // ANCHOR_END: on_ready

    /// Called about ten times a second: the heartbeat, and connections
    /// whose wait is over.
    fn tick(&mut self, py: Python<'_>) {
        self.ctx.now = Instant::now();
        self.beat(false);
        let expired: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, conn)| conn.deadline <= self.ctx.now)
            .map(|(token, _)| *token)
            .collect();
        for token in expired {
            if let Some(conn) = self.conns.get_mut(&token) {
                if self.ctx.expire(conn) {
                    conn.flush(self.ctx.now);
                    if !self.settled(token) {
                        continue;
                    }
                }
            }
            self.remove(py, token);
        }
    }

    /// The app is loaded and its startup done: beat now, for the master.
    fn ready(&mut self) {
        self.beat(true);
    }

    /// Whether SIGTERM or SIGINT has asked the server to stop.
    fn stopping(&self) -> bool {
        self.ctx.stopping.load(Ordering::SeqCst)
    }

    /// No new connections: the other workers (or none) take them.
    fn stop_listening(&mut self) {
        if self.listening {
            for listener in &mut self.listeners {
                let _ = self.poll.registry().deregister(listener.source());
            }
            self.listening = false;
        }
    }

    /// Whether every connection is done with.
    fn idle(&self) -> bool {
        self.conns.is_empty()
    }

    /// Closes idle connections (a stopping server answers no more
    /// requests on them), and, with `all`, every connection.
    fn close_idle(&mut self, py: Python<'_>, all: bool) {
        let closing: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, conn)| all || conn.is_idle())
            .map(|(token, _)| *token)
            .collect();
        for token in closing {
            self.remove(py, token);
        }
    }
}
