//! From bytes to a running app: a request head is parsed (stage-02), the
//! body framed (stage-05), the scope built, and the app started as an
//! `asyncio.Task` (once the server is free again: the task may start
//! running at once); and what a connection does when its wait runs out.

use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use mio::Token;
use pyo3::intern;
use pyo3::prelude::*;
use stage_02::parse::fast;
use stage_02::{Parsed, Request, Version};
use stage_03::HeaderLines;
use stage_04::AfterResponse;
use stage_04::python::traceback_text;
use stage_04::server::send_refusal;
use stage_05::decode::{BodyDecoder, Expectation, expectation};
use stage_05::persist::after_response;
use stage_06::access_log::Finished;
use stage_06::forwarded::forwarded;
use stage_06::listeners::Stream;
use stage_06::refusal::Refusal;

use crate::channel::Channel;
use crate::connection::{Conn, Ending, Exchange};
use crate::response::{self, Response};
use crate::scope::{Ends, http_scope};
use crate::server::{Ctx, Server};

impl Ctx {
    // ANCHOR: advance
    /// Moves a connection's request on as far as its bytes allow: a new
    /// head starts the app; input for a running app goes to a `receive`
    /// that waits for it. Returns false when the connection is done with.
    pub(crate) fn advance(&mut self, py: Python<'_>, token: Token, conn: &mut Conn) -> bool {
        if conn.ending.is_some() {
            conn.input.clear(); // nothing more is read as a request
            return !conn.broken;
        }
        if conn.exchange.is_some() {
            self.feed(py, conn);
            return true;
        }
        if conn.input.is_empty() {
            return !conn.disconnected();
        }
        conn.head_begins(self.now);
        match fast::parse_request(conn.input.as_slice(), &self.config.limits) {
            Ok(Parsed::Partial) => !conn.disconnected(),
            Err(error) => {
                self.refuse(conn, Refusal::Head(error), None);
                true
            }
            Ok(Parsed::Complete { request, head_len }) => {
                conn.input.consume(head_len);
                self.begin(py, token, conn, request);
                true
            }
        }
    }
    // ANCHOR_END: advance

    // ANCHOR: begin
    /// A request head is in: refuse it, or call the app for it.
    fn begin(&mut self, py: Python<'_>, token: Token, conn: &mut Conn, request: Request) {
        // Refused before the body: a client waiting to hear whether to
        // send it is told at once (RFC 9110, section 10.1.1).
        if expectation(&request) == Expectation::Unsupported {
            return self.refuse(conn, Refusal::Expectation, Some(request));
        }
        if is_websocket_upgrade(&request) {
            let message = "WebSocket is not supported by this server yet\n";
            let outcome = send_refusal(&self.writer, &mut conn.output, 501, message);
            self.log(conn, Some(&request), None, &outcome, None);
            return conn.end(Ending::Graceful, self.now);
        }
        let decoder =
            BodyDecoder::for_request(&request, &self.config.limits, self.config.chunk_limits);
        self.serial += 1;
        self.count_toward_max_requests();
        let stopping = self.stopping.load(std::sync::atomic::Ordering::SeqCst);
        let shape = match after_response(&request, stopping) {
            AfterResponse::Close => response::Request {
                head: false,
                http11: request.version == Version::Http11,
                keep_open: false,
                announce: false,
            },
            AfterResponse::KeepOpen { http11, announce } => response::Request {
                head: false,
                http11,
                keep_open: true,
                announce,
            },
        };
        let shape = response::Request {
            head: request.method.eq_ignore_ascii_case("HEAD"),
            ..shape
        };
        conn.started = self.now;
        match self.start_app(py, token, conn, &request) {
            Ok(channel) => {
                conn.exchange = Some(Exchange {
                    serial: self.serial,
                    request,
                    decoder,
                    body_given: false,
                    response: Response::new(shape),
                    receive_waiter: None,
                    send_waiter: None,
                    channel,
                });
                conn.app_running(self.now);
            }
            Err(error) => {
                stage_06::error!(
                    "cannot call the application:\n{}",
                    traceback_text(py, &error)
                );
                self.refuse(conn, Refusal::ServerError, Some(request));
            }
        }
    }
    // ANCHOR_END: begin

    // ANCHOR: start_app
    /// `app(scope, receive, send)`: the coroutine is made now, and run as
    /// an `asyncio.Task` by [`Server::start_tasks`] once the server is no
    /// longer borrowed (a task may start running inside `create_task`).
    fn start_app(
        &mut self,
        py: Python<'_>,
        token: Token,
        conn: &Conn,
        request: &Request,
    ) -> PyResult<Py<Channel>> {
        let Some(asyncio) = &self.asyncio else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "the server is not attached to a loop",
            ));
        };
        let state = self.state.as_ref().map(|s| s.bind(py));
        let scope = http_scope(py, request, &self.ends(conn, request), state)?;
        let channel = Bound::new(
            py,
            Channel::new(asyncio.server.clone_ref(py), token, self.serial),
        )?;
        let receive = channel.getattr(intern!(py, "receive"))?;
        let send = channel.getattr(intern!(py, "send"))?;
        let coroutine = self.app.bind(py).call1((scope, receive, send))?;
        self.starting.push(Starting {
            token,
            serial: self.serial,
            coroutine: coroutine.unbind(),
            channel: channel.clone().unbind(),
        });
        Ok(channel.unbind())
    }
    // ANCHOR_END: start_app

    /// Answers a request that never reached the app, and ends the
    /// connection after it.
    pub(crate) fn refuse(&mut self, conn: &mut Conn, why: Refusal, request: Option<Request>) {
        let outcome = send_refusal(
            &self.writer,
            &mut conn.output,
            why.status(),
            &format!("{why}\n"),
        );
        self.log(conn, request.as_ref(), None, &outcome, None);
        conn.end(Ending::Graceful, self.now);
    }

    /// The request just begun is the worker's `--max-requests`th: it
    /// stops taking more, finishes what it has, and exits (the master
    /// starts another). The request is served, its response the
    /// connection's last.
    fn count_toward_max_requests(&mut self) {
        if self.config.max_requests == Some(self.serial) {
            stage_06::info!(
                "worker {} has served {} requests (--max-requests): finishing them, then exiting",
                std::process::id(),
                self.serial
            );
            self.stopping
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// The connection's two ends and scheme, for the scope: a trusted
    /// proxy's `X-Forwarded-For` and `X-Forwarded-Proto` (stage-06's
    /// [`forwarded`]) replace the peer's address and `http`.
    pub(crate) fn ends(&self, conn: &Conn, request: &Request) -> Ends {
        let peer = peer_ip(conn);
        let proxy = forwarded(request, peer, &self.config.trusted);
        let client = match (proxy.client, peer) {
            (Some(client), _) => Some((client.to_string(), 0)),
            (None, Some(peer)) => Some((peer.to_string(), conn.info.peer.port())),
            (None, None) => None,
        };
        let server = match &conn.stream {
            Stream::Tcp(_) => Some((
                conn.info.local.ip().to_string(),
                Some(conn.info.local.port()),
            )),
            Stream::Unix(_) => conn
                .stream
                .unix_path()
                .map(|path| (path.display().to_string(), None)),
        };
        Ends {
            client,
            server,
            scheme: proxy.scheme.unwrap_or("http"),
        }
    }

    /// One access-log line, if the log is on, in stage-06's format: the
    /// client as the scope has it, the time since `started` (the head).
    pub(crate) fn log(
        &mut self,
        conn: &Conn,
        request: Option<&Request>,
        response_headers: Option<&HeaderLines>,
        outcome: &stage_04::Outcome,
        started: Option<Instant>,
    ) {
        if !self.config.access_log {
            return;
        }
        let peer = peer_ip(conn);
        let client = request.and_then(|r| forwarded(r, peer, &self.config.trusted).client);
        let remote = client.or(peer).map(|ip| ip.to_string()).unwrap_or_default();
        let finished = Finished {
            request,
            outcome,
            remote: &remote,
            response_headers,
            duration: started.map(|s| s.elapsed()).unwrap_or_default(),
        };
        let (format, sink, pid) = &mut self.access;
        let mut line = format.render(&finished, SystemTime::now(), *pid);
        line.push('\n');
        sink.lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_line(&line);
    }

    /// A connection's wait ran out. Returns whether it stays (to send a
    /// 408 first); otherwise it is closed.
    pub(crate) fn expire(&mut self, conn: &mut Conn) -> bool {
        if conn.ending.is_some() || conn.exchange.is_some() {
            // The client took too long to close, or to read the response.
            return false;
        }
        if !conn.head_started {
            return false; // idle keep-alive: close quietly
        }
        // A slowloris head: 408, and the linger time to read it.
        self.refuse(conn, Refusal::TimedOut, None);
        true
    }
}

/// An app's coroutine, made while the server was busy, waiting to become
/// a task.
pub(crate) struct Starting {
    token: Token,
    serial: u64,
    coroutine: Py<PyAny>,
    channel: Py<Channel>,
}

impl Server {
    // ANCHOR: start_tasks
    /// Runs each coroutine `on_ready` made as an `asyncio.Task`, whose end
    /// is reported to its channel's `done`. Called with the server not
    /// borrowed: an eager task factory (Python 3.12's
    /// `asyncio.eager_task_factory`, which an app may install) runs the app
    /// inside `create_task` until its first real wait, and the app's
    /// `receive` and `send` borrow the server. Its exchange is in place
    /// already, so a response sent then is sent as any other.
    pub(crate) fn start_tasks(server: &Bound<'_, Server>, starting: Vec<Starting>) {
        let py = server.py();
        for start in starting {
            let create_task = match server.try_borrow() {
                Ok(server) => server
                    .ctx
                    .asyncio
                    .as_ref()
                    .map(|a| a.create_task.clone_ref(py)),
                Err(_) => None,
            };
            let Some(create_task) = create_task else {
                continue;
            };
            let started = create_task
                .bind(py)
                .call1((start.coroutine,))
                .and_then(|task| {
                    let done = start.channel.bind(py).getattr(intern!(py, "done"))?;
                    task.call_method1(intern!(py, "add_done_callback"), (done,))
                });
            if let Err(error) = started {
                if let Ok(mut server) = server.try_borrow_mut() {
                    server.start_failed(py, start.token, start.serial, &error);
                }
            }
        }
    }
    // ANCHOR_END: start_tasks

    /// The app's task could not be made: a 500, if the exchange is still
    /// waiting for its response.
    fn start_failed(&mut self, py: Python<'_>, token: Token, serial: u64, error: &PyErr) {
        stage_06::error!(
            "cannot call the application:\n{}",
            traceback_text(py, error)
        );
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let current = conn
            .exchange
            .as_ref()
            .is_some_and(|e| e.serial == serial && !e.response.head_sent());
        if let Some(exchange) = conn.exchange.take_if(|_| current) {
            exchange.channel.get().completed();
            self.ctx
                .refuse(conn, Refusal::ServerError, Some(exchange.request));
            conn.flush(self.ctx.now);
            if self.settled(token) {
                self.remove(py, token);
            }
        }
    }
}

/// The peer's IP address; `None` over a Unix socket.
fn peer_ip(conn: &Conn) -> Option<IpAddr> {
    match conn.stream {
        Stream::Tcp(_) => Some(conn.info.peer.ip()),
        Stream::Unix(_) => None,
    }
}

/// Whether the request asks to become a WebSocket (RFC 6455, section 4.1).
fn is_websocket_upgrade(request: &Request) -> bool {
    request.header_values("upgrade").any(|value| {
        value
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("websocket"))
    })
}
