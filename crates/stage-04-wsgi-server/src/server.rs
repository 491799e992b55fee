//! The server loop: accept, read, call the app, answer, close. One
//! connection at a time, one request per connection.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use pyo3::prelude::*;
use pyo3::types::PyDict;
use stage_02::{Limits, ReadError, Request, read_request};
use stage_03::{Clock, Response, ResponseWriter, lingering_close};

use crate::environ::{ConnectionInfo, build_environ};
use crate::input::Input;
use crate::log::{AccessEntry, write_line};
use crate::python::traceback_text;
use crate::respond::{AfterResponse, Blocking, Responder, Writer};
use crate::run::{Outcome, abort_on_close};
use crate::sendfile;

/// How the server treats its clients.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Size limits on requests.
    pub limits: Limits,
    /// How long a client may take to send its request.
    pub read_timeout: Duration,
    /// How long to wait for a client to close after the response.
    pub linger: Duration,
    /// The `Server` header.
    pub server_name: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limits: Limits::default(),
            read_timeout: Duration::from_secs(10),
            linger: Duration::from_secs(2),
            server_name: concat!("stage-04/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// What every server stage holds: the listening socket, the application,
/// the response writer, and the flag that stops the accept loop.
pub struct Core {
    listener: TcpListener,
    /// The WSGI application.
    pub app: Py<PyAny>,
    /// Writes responses, stamped with `Date` and `Server`.
    pub writer: Writer,
    stopping: Arc<AtomicBool>,
}

impl Core {
    /// A core for `app` on `listener`; `Date` comes from `clock`, and
    /// `server_name` goes in the `Server` header.
    pub fn new(
        listener: TcpListener,
        app: Py<PyAny>,
        clock: Arc<dyn Clock + Send + Sync>,
        server_name: &str,
    ) -> Core {
        let writer = ResponseWriter::with_clock(clock, server_name);
        Core {
            listener,
            app,
            writer,
            stopping: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The flag that stops the loop after the request in flight. Set it,
    /// then connect to the server once to wake a blocked `accept`.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stopping)
    }

    /// Whether the server is stopping.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    // ANCHOR: call_app
    /// One request's Python work: the app called with `environ` and
    /// `responder` by `driver` (this stage's is
    /// [`run_app`](crate::sendfile::run_app)), and the responder's use of
    /// the connection ended with the request. If `environ` could not be
    /// built, the client gets a 500.
    pub fn call_app<'py>(
        &self,
        py: Python<'py>,
        stream: &TcpStream,
        environ: PyResult<Bound<'py, PyDict>>,
        responder: Responder,
        driver: impl FnOnce(
            Python<'py>,
            &Bound<'py, PyAny>,
            Bound<'py, PyDict>,
            &Bound<'py, Responder>,
        ) -> Outcome,
    ) -> Outcome {
        let prepared = environ.and_then(|environ| Ok((environ, Bound::new(py, responder)?)));
        match prepared {
            Ok((environ, responder)) => {
                let outcome = driver(py, self.app.bind(py), environ, &responder);
                if let Ok(mut responder) = responder.try_borrow_mut() {
                    responder.release();
                }
                outcome
            }
            Err(error) => {
                let mut outcome =
                    send_refusal(&self.writer, stream, 500, "Internal Server Error\n");
                outcome.error = Some(traceback_text(py, &error));
                outcome
            }
        }
    }
    // ANCHOR_END: call_app

    /// Accepts connections one at a time and hands each to `handle`,
    /// until the stop flag is set (checked after each accept, which a
    /// signal wakes).
    pub fn accept_loop(&self, program: &str, mut handle: impl FnMut(TcpStream)) {
        for stream in self.listener.incoming() {
            if self.is_stopping() {
                break;
            }
            match stream {
                Ok(stream) => handle(stream),
                // A failed accept (a client that reset at once, too many
                // open files) concerns one connection, not the server.
                Err(e) => eprintln!("{program}: accept failed: {e}"),
            }
        }
    }
}

/// A server a stage's binary can run: its core, and its loop.
pub trait Serve {
    /// The socket, app and stop flag.
    fn core(&self) -> &Core;
    /// Serves until stopped; `log` gets each request's entry and outcome.
    fn serve(&self, log: impl FnMut(&AccessEntry, &Outcome));
}

/// A WSGI server bound to a socket, serving one application.
pub struct Server {
    core: Core,
    config: ServerConfig,
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

    // ANCHOR: serve
    /// Accepts and serves connections, one at a time, until the stop flag
    /// is set; `log` receives the access-log entry and the outcome of each
    /// request.
    pub fn serve(&self, mut log: impl FnMut(&AccessEntry, &Outcome)) {
        self.core.accept_loop("stage-04", |stream| {
            if let Some((entry, outcome)) = self.serve_connection(stream) {
                log(&entry, &outcome);
            }
        });
    }
    // ANCHOR_END: serve

    // ANCHOR: serve_connection
    /// Serves the one request of a connection, then closes it.
    pub fn serve_connection(&self, stream: TcpStream) -> Option<(AccessEntry, Outcome)> {
        let conn = ConnectionInfo {
            local: stream.local_addr().ok()?,
            peer: stream.peer_addr().ok()?,
        };
        stream
            .set_read_timeout(Some(self.config.read_timeout))
            .ok()?;

        // Reading happens without the GIL: it is not Python's business.
        let read = read_request(&mut &stream, &mut Vec::new(), &self.config.limits);
        let (outcome, request) = match read {
            Ok(Some((request, body))) => {
                (self.call_app(&stream, &request, body, &conn), Some(request))
            }
            // Nothing sent, or the client vanished: no one to answer.
            Ok(None) | Err(ReadError::Incomplete { .. } | ReadError::Io(_)) => return None,
            // ANCHOR: serve_refusals
            Err(ReadError::TimedOut) => (
                send_refusal(
                    &self.core.writer,
                    &stream,
                    408,
                    "timed out waiting for the request\n",
                ),
                None,
            ),
            Err(ReadError::Parse(e)) => (
                send_refusal(&self.core.writer, &stream, e.status().0, &format!("{e}\n")),
                None,
            ),
            // ANCHOR_END: serve_refusals
        };
        if let Some(traceback) = &outcome.error {
            eprint!("stage-04: the application raised an exception:\n{traceback}");
        }
        if outcome.abort {
            let _ = abort_on_close(&stream);
        } else {
            lingering_close(&stream, self.config.linger);
        }
        Some((access_entry(&conn, request.as_ref(), &outcome), outcome))
    }
    // ANCHOR_END: serve_connection

    // ANCHOR: attach
    /// Builds environ, calls the app, sends its response.
    fn call_app(
        &self,
        stream: &TcpStream,
        request: &Request,
        body: Vec<u8>,
        conn: &ConnectionInfo,
    ) -> Outcome {
        let Ok(response_stream) = stream.try_clone() else {
            return send_refusal(
                &self.core.writer,
                stream,
                503,
                "the server is out of file descriptors\n",
            );
        };
        let responder = Responder::new(
            Box::new(Blocking(response_stream)),
            self.core.writer.clone(),
            &request.method,
            AfterResponse::Close,
        );
        Python::attach(|py| {
            let environ = Bound::new(py, Input::new(body))
                .and_then(|input| build_environ(py, request, input.into_any(), conn));
            // run_app, with files sent by sendfile(2) (see sendfile).
            let driver = |py, app: &_, environ, responder: &_| {
                sendfile::run_app(py, app, environ, responder, stream.as_fd())
            };
            self.core.call_app(py, stream, environ, responder, driver)
        })
    }
    // ANCHOR_END: attach
}

impl Serve for Server {
    fn core(&self) -> &Core {
        &self.core
    }

    fn serve(&self, log: impl FnMut(&AccessEntry, &Outcome)) {
        Server::serve(self, log);
    }
}

/// Answers a request that never reached the app, and closes.
pub fn send_refusal(
    writer: &Writer,
    mut out: impl std::io::Write,
    code: u16,
    message: &str,
) -> Outcome {
    let response = Response::text(code, message).header("Connection", "close");
    let sent = writer
        .write(&response, "GET")
        .map(|bytes| out.write_all(&bytes).is_ok());
    Outcome {
        status: code,
        body_bytes: response.body.len() as u64,
        error: None,
        abort: false,
        client_gone: !matches!(sent, Ok(true)),
        reusable: false,
    }
}

/// The access-log entry for a request (or `-` when it never parsed).
pub fn access_entry(
    conn: &ConnectionInfo,
    request: Option<&Request>,
    outcome: &Outcome,
) -> AccessEntry {
    let header = |name: &str| {
        request
            .and_then(|r| r.header(name))
            .unwrap_or("-")
            .to_string()
    };
    AccessEntry {
        remote: conn.peer.ip().to_string(),
        request_line: request.map_or("-".into(), |r| {
            format!("{} {} {}", r.method, r.target, r.version)
        }),
        status: outcome.status,
        body_bytes: outcome.body_bytes,
        referer: header("Referer"),
        user_agent: header("User-Agent"),
    }
}

/// Prints an access-log line for `entry` to stderr, stamped now.
pub fn log_to_stderr(entry: &AccessEntry, _outcome: &Outcome) {
    // A log line that cannot be written is not worth failing a request for.
    let _ = write_line(&mut std::io::stderr(), entry, SystemTime::now());
}
