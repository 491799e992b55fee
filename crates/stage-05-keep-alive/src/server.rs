//! The connection loop of a persistent connection: read a head, call the
//! app, make sure the body was read to its end, and go round again while
//! both sides want to.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use stage_02::{Limits, ReadError, Request, read_head};
use stage_03::{Clock, lingering_close};
use stage_04::environ::ConnectionInfo;
use stage_04::environ::cache::ConnectionEnviron;
use stage_04::log::AccessEntry;
use stage_04::run::abort_on_close;
use stage_04::server::{Core, Serve, access_entry, send_refusal};
use stage_04::{Blocking, Outcome, Responder};

use crate::body::BodyReader;
use crate::chunked::ChunkLimits;
use crate::decode::{BodyDecoder, Expectation, expectation};
use crate::input::StreamInput;
use crate::persist::after_response;
use crate::request_error::run_app;

/// Limits and timeouts; the size limits' defaults are explained at
/// [`Limits`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Request line, header count, head bytes and body size.
    pub limits: Limits,
    /// Bounds on chunked framing.
    pub chunk_limits: ChunkLimits,
    /// How long an idle connection is kept open for the next request.
    pub keep_alive: Duration,
    /// How long a client has to send a whole request head, from its first
    /// byte: a slowloris client sending a byte every few seconds is cut off.
    pub header_timeout: Duration,
    /// The longest wait for the next piece of a request body.
    pub body_timeout: Duration,
    /// How much unread body is drained after a response before the
    /// connection is closed instead.
    pub max_drain: u64,
    /// How long to wait for the client to close after the last response.
    pub linger: Duration,
    /// The `Server` header.
    pub server_name: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limits: Limits::default(),
            chunk_limits: ChunkLimits::default(),
            keep_alive: Duration::from_secs(5),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_drain: 1024 * 1024,
            linger: Duration::from_secs(2),
            server_name: concat!("stage-05/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// A keep-alive WSGI server.
pub struct Server {
    core: Core,
    config: ServerConfig,
}

/// What came of waiting for the next request on a connection.
enum Next {
    Request(Request),
    /// The connection ends without an answer: closed, idle too long, broken.
    Close,
    /// The connection ends with an error response: this status, for
    /// this reason.
    Refuse(u16, ReadError),
}

impl Server {
    /// A server for `app` on `listener`, stamping `Date` from `clock`.
    pub fn new(
        listener: TcpListener,
        app: Py<PyAny>,
        clock: Arc<dyn Clock + Send + Sync>,
        config: ServerConfig,
    ) -> Server {
        let core = Core::new(listener, app, clock, &config.server_name);
        Server { core, config }
    }

    /// Serves connections one at a time until the stop flag is set.
    pub fn serve(&self, mut log: impl FnMut(&AccessEntry, &Outcome)) {
        self.core
            .accept_loop("stage-05", |stream| self.serve_connection(stream, &mut log));
    }

    // ANCHOR: serve_connection
    /// Serves requests on one connection until either side ends it.
    pub fn serve_connection(
        &self,
        stream: TcpStream,
        log: &mut impl FnMut(&AccessEntry, &Outcome),
    ) {
        let (Ok(local), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) else {
            return;
        };
        let conn = ConnectionInfo { local, peer };
        // Heads and small bodies go out in separate writes; without this,
        // Nagle's algorithm and delayed ACKs can hold a response for 40 ms.
        let _ = stream.set_nodelay(true);
        // Bytes received but not yet used: pipelined requests wait here.
        let mut buf = Vec::new();
        // What every environ on this connection starts with (chapter 4),
        // made at the first request and copied for each.
        let mut template = None;
        loop {
            let request = match self.next_request(&stream, &mut buf) {
                Next::Request(request) => request,
                Next::Close => return,
                Next::Refuse(code, error) => {
                    let message = format!("{error}\n");
                    let outcome = send_refusal(&self.core.writer, &stream, code, &message);
                    log(&access_entry(&conn, None, &outcome), &outcome);
                    lingering_close(&stream, self.config.linger);
                    return;
                }
            };
            let outcome = self.exchange(&stream, &mut buf, &request, &conn, &mut template);
            log(&access_entry(&conn, Some(&request), &outcome), &outcome);
            if let Some(traceback) = &outcome.error {
                eprint!("stage-05: the application raised an exception:\n{traceback}");
            }
            // ANCHOR: end_of_exchange
            if outcome.abort {
                let _ = abort_on_close(&stream);
                return;
            }
            // A stopping server serves no further request on this
            // connection, even if the response promised to keep it open.
            if !outcome.reusable || self.core.is_stopping() {
                lingering_close(&stream, self.config.linger);
                return;
            }
            // ANCHOR_END: end_of_exchange
        }
    }
    // ANCHOR_END: serve_connection

    // ANCHOR: next_request
    /// Waits for the next request head: the first byte within the
    /// keep-alive time, the whole head within the header timeout.
    fn next_request(&self, stream: &TcpStream, buf: &mut Vec<u8>) -> Next {
        let mut reader = Deadlines::new(
            stream,
            !buf.is_empty(),
            self.config.keep_alive,
            self.config.header_timeout,
        );
        match read_head(&mut reader, buf, &self.config.limits) {
            Ok(Some(request)) => Next::Request(request),
            // A clean close, or silence, between requests: nothing to say.
            Ok(None) => Next::Close,
            Err(ReadError::TimedOut) if buf.is_empty() => Next::Close,
            // A client still there hears why (408, or the parse error's
            // status); one that vanished mid-request hears nothing.
            Err(error) => match error.status() {
                Some(status) => Next::Refuse(status, error),
                None => Next::Close,
            },
        }
    }
    // ANCHOR_END: next_request

    // ANCHOR: exchange
    /// One request and its response; afterwards `buf` holds whatever was
    /// received after this request's body.
    fn exchange(
        &self,
        stream: &TcpStream,
        buf: &mut Vec<u8>,
        request: &Request,
        conn: &ConnectionInfo,
        template: &mut Option<ConnectionEnviron>,
    ) -> Outcome {
        if expectation(request) == Expectation::Unsupported {
            return send_refusal(
                &self.core.writer,
                stream,
                417,
                "only the 100-continue expectation is supported\n",
            );
        }
        let (Ok(body_stream), Ok(response_stream)) = (stream.try_clone(), stream.try_clone())
        else {
            return send_refusal(
                &self.core.writer,
                stream,
                503,
                "the server is out of file descriptors\n",
            );
        };
        let after = after_response(request, self.core.is_stopping());
        let started = Arc::new(AtomicBool::new(false));
        let body = Arc::new(Mutex::new(BodyReader::new(
            body_stream,
            std::mem::take(buf),
            BodyDecoder::for_request(request, &self.config.limits, self.config.chunk_limits),
            self.config.body_timeout,
            Arc::clone(&started),
        )));
        let sink = Box::new(Blocking(ResponseSink {
            stream: response_stream,
            started,
        }));

        let responder = Responder::new(sink, self.core.writer.clone(), &request.method, after);
        let mut outcome = Python::attach(|py| {
            let environ = Bound::new(py, StreamInput::new(Arc::clone(&body))).and_then(|input| {
                ConnectionEnviron::of_connection(template, py, conn)?.environ(
                    py,
                    request,
                    input.into_any(),
                )
            });
            let driver = |py, app: &_, environ, responder: &_| {
                run_app(py, app, environ, responder, stream.as_fd())
            };
            self.core.call_app(py, stream, environ, responder, driver)
        });

        // The next request starts where this body ends: read what the app
        // left, or give up on the connection.
        let mut body = body.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let body_complete = body.drain(
            self.config.max_drain,
            Instant::now() + self.config.body_timeout,
        );
        // ANCHOR: ex-05.3-carry-over
        *buf = body.take_leftover();
        // ANCHOR_END: ex-05.3-carry-over
        outcome.reusable &= body_complete && !outcome.client_gone;
        outcome
    }
    // ANCHOR_END: exchange
}

impl Serve for Server {
    fn core(&self) -> &Core {
        &self.core
    }

    fn serve(&self, log: impl FnMut(&AccessEntry, &Outcome)) {
        Server::serve(self, log);
    }
}

/// The client's socket, as the responder's output; notes when the first
/// byte of the response goes out, after which `100 Continue` is too late.
struct ResponseSink {
    stream: TcpStream,
    started: Arc<AtomicBool>,
}

impl Write for ResponseSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.started.store(true, Ordering::SeqCst);
        (&self.stream).write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&self.stream).flush()
    }
}

// ANCHOR: deadlines
/// Reads a request head against two deadlines. A per-read timeout is not
/// enough: a slowloris client sends one byte every few seconds and never
/// trips it, while holding the (single-threaded) server forever.
struct Deadlines<'a> {
    stream: &'a TcpStream,
    /// Until the first byte: the keep-alive idle time.
    first_byte: Instant,
    /// From the first byte: the whole head must have arrived by then.
    head: Option<Instant>,
    header_timeout: Duration,
}

impl<'a> Deadlines<'a> {
    fn new(
        stream: &'a TcpStream,
        started: bool,
        keep_alive: Duration,
        header_timeout: Duration,
    ) -> Self {
        let now = Instant::now();
        let head = started.then(|| now + header_timeout);
        Deadlines {
            stream,
            first_byte: now + keep_alive,
            head,
            header_timeout,
        }
    }
}
// ANCHOR_END: deadlines

// ANCHOR: deadlines_read
impl Read for Deadlines<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let deadline = self.head.unwrap_or(self.first_byte);
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        let n = self.stream.read(out)?;
        if n > 0 && self.head.is_none() {
            self.head = Some(Instant::now() + self.header_timeout);
        }
        Ok(n)
    }
}
// ANCHOR_END: deadlines_read
