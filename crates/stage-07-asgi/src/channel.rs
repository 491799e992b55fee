//! `receive` and `send`: the two awaitables an ASGI app talks through.
//!
//! Each request gets a [`Channel`]; its bound methods `receive` and `send`
//! are what the app is called with, and `done` is the task's done
//! callback. When what the app asks for is there (a body already read, a
//! response piece the socket took), the call returns a [`Ready`], and
//! `await` goes on without a trip through the loop; only a real wait
//! (more body, a client that is not reading, the end of the response)
//! makes a future, resolved later from the server's `on_ready`.
//!
//! This module is the receiving side; `send` is in [`crate::send`].

use std::sync::atomic::{AtomicU8, Ordering};

use mio::Token;
use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use stage_05::decode::Decoded;
use stage_06::buffer::Buffer;
use stage_06::refusal::Refusal;

use crate::connection::{Conn, Ending, Exchange};
use crate::messages;
use crate::ready::Ready;
use crate::response::Misuse;
use crate::server::{Ctx, Server};

/// The most body bytes one `http.request` message carries.
const MAX_MESSAGE: usize = 1024 * 1024;

/// The channel's request is being answered.
const OPEN: u8 = 0;
/// Its response is complete: a further `send` is the app's error.
const COMPLETE: u8 = 1;
/// Its client is gone: `send` is ignored. Spec 2.3 says nothing of such a
/// `send`; 2.4 would have it raise an `OSError`, and we claim 2.3.
const GONE: u8 = 2;

// ANCHOR: channel
/// One request's `receive`, `send` and task-done callback.
#[pyclass(frozen, module = "stage07")]
pub struct Channel {
    server: Py<Server>,
    token: Token,
    serial: u64,
    state: AtomicU8,
}

#[pymethods]
impl Channel {
    /// `await receive()`: the next `http.request`, or `http.disconnect`.
    fn receive(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if self.state.load(Ordering::Relaxed) != OPEN {
            return ready(py, messages::disconnect(py)?);
        }
        let server = self.server.bind(py);
        let mut server = server.try_borrow_mut()?;
        server.receive(py, self.token)
    }

    /// `await send(message)`.
    fn send(&self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match self.state.load(Ordering::Relaxed) {
            COMPLETE => return Err(crate::send::misuse(Misuse::AfterComplete)),
            GONE => return Ok(Py::new(py, Ready::none())?.into_any()),
            _ => {}
        }
        let message = messages::read(message)?;
        let server = self.server.bind(py);
        let mut server = server.try_borrow_mut()?;
        server.send(py, self.token, message)
    }

    /// The app's task is over, one way or another.
    fn done(&self, py: Python<'_>, task: &Bound<'_, PyAny>) {
        let server = self.server.bind(py);
        match server.try_borrow_mut() {
            Ok(mut server) => server.app_done(py, self.token, self.serial, task),
            Err(_) => stage_06::error!("the server was busy when a task ended"),
        }
    }
}
// ANCHOR_END: channel

impl Channel {
    /// The channel of request `serial` on connection `token`.
    pub fn new(server: Py<Server>, token: Token, serial: u64) -> Channel {
        Channel {
            server,
            token,
            serial,
            state: AtomicU8::new(OPEN),
        }
    }

    /// The response is complete: `send` refuses, `receive` says disconnect.
    pub fn completed(&self) {
        self.state.store(COMPLETE, Ordering::Relaxed);
    }

    /// The client is gone: `send` does nothing, `receive` says disconnect.
    pub fn gone(&self) {
        let _ = self
            .state
            .compare_exchange(OPEN, GONE, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// `value`, as an awaitable that is already done.
fn ready(py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, Ready::with(value.unbind()))?.into_any())
}

impl Server {
    // ANCHOR: receive
    /// `receive()` for the request on connection `token`.
    fn receive(&mut self, py: Python<'_>, token: Token) -> PyResult<Py<PyAny>> {
        let Some(conn) = self.conns.get_mut(&token) else {
            return ready(py, messages::disconnect(py)?);
        };
        if let Some(message) = self.ctx.next_message(py, conn)? {
            // A refused body ends the connection once its answer is out.
            conn.flush(self.ctx.now);
            if self.settled(token) {
                self.remove(py, token);
            }
            return ready(py, message);
        }
        // Nothing to give yet: the app waits on a future, resolved by
        // `feed` when bytes come, or when the response or client is done.
        conn.flush(self.ctx.now); // a `100 Continue`, if one was just written
        let future = self.ctx.create_future(py)?;
        if let Some(exchange) = conn.exchange.as_mut() {
            exchange.receive_waiter = Some(future.clone_ref(py));
        }
        Ok(future)
    }
    // ANCHOR_END: receive
}

impl Ctx {
    /// `loop.create_future()`.
    pub(crate) fn create_future(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.asyncio {
            Some(asyncio) => Ok(asyncio.create_future.call0(py)?),
            None => Err(PyRuntimeError::new_err(
                "the server is not attached to a loop",
            )),
        }
    }

    // ANCHOR: next_message
    /// What `receive` gives now, if anything: the body that has arrived
    /// (Content-Length or de-chunked, by stage-05's decoder), then, once
    /// the body is all given, `http.disconnect` when the response is done
    /// or the client gone. `None` means the app must wait; the first time
    /// that happens to a client waiting for `100 Continue`, it gets it:
    /// the app has asked for the body (RFC 9110, section 10.1.1).
    pub(crate) fn next_message<'py>(
        &mut self,
        py: Python<'py>,
        conn: &mut Conn,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(exchange) = conn.exchange.as_mut() else {
            return Ok(Some(messages::disconnect(py)?));
        };
        if exchange.body_given {
            // ANCHOR: ex-09.5-wait-after-the-body
            let over = exchange.response.is_complete() || conn.disconnected();
            return over.then(|| messages::disconnect(py)).transpose();
            // ANCHOR_END: ex-09.5-wait-after-the-body
        }
        // ANCHOR: decode_body
        let mut body = Vec::new();
        loop {
            let room = MAX_MESSAGE - body.len();
            match exchange.decoder.decode(conn.input.as_slice(), room) {
                Ok((used, Decoded::Data(range))) => {
                    body.extend_from_slice(&conn.input.as_slice()[range]);
                    conn.input.consume(used);
                    if body.len() >= MAX_MESSAGE {
                        break;
                    }
                }
                Ok((used, _)) => {
                    conn.input.consume(used);
                    break;
                }
                Err(error) => {
                    self.body_refused(py, conn, Refusal::Body(error));
                    return Ok(Some(messages::disconnect(py)?));
                }
            }
        }
        // ANCHOR_END: decode_body
        // Room was made in the input: the socket may hold more.
        let cap = self.config.limits.max_head_bytes + 64 * 1024;
        conn.read_available(cap, &mut self.scratch);
        let gone = conn.disconnected();
        let Some(exchange) = conn.exchange.as_mut() else {
            return Ok(Some(messages::disconnect(py)?));
        };
        let done = exchange.decoder.is_done();
        if !body.is_empty() || done {
            exchange.body_given = done;
            return Ok(Some(messages::request(py, &body, !done)?));
        }
        if gone {
            return Ok(Some(messages::disconnect(py)?)); // gone mid-body
        }
        continue_if_due(exchange, &mut conn.output);
        Ok(None)
    }
    // ANCHOR_END: next_message

    /// New input, or a client gone, for a running app: a `receive` that
    /// waits gets what there is now.
    pub(crate) fn feed(&mut self, py: Python<'_>, conn: &mut Conn) {
        let waiting = conn
            .exchange
            .as_ref()
            .is_some_and(|e| e.receive_waiter.is_some());
        if !waiting {
            return;
        }
        let message = match self.next_message(py, conn) {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(error) => {
                stage_06::error!("cannot make a receive message: {error}");
                return;
            }
        };
        if let Some(waiter) = conn.exchange.as_mut().and_then(|e| e.receive_waiter.take()) {
            resolve(py, &waiter, message);
        }
    }

    /// The request body is malformed or too large: answered with its
    /// status if the app has sent nothing yet, and the connection ends
    /// (nobody knows where the next request would start).
    fn body_refused(&mut self, py: Python<'_>, conn: &mut Conn, why: Refusal) {
        let Some(exchange) = conn.exchange.take() else {
            return;
        };
        exchange.channel.get().gone();
        if exchange.response.head_sent() {
            conn.end(Ending::Abort, self.now);
        } else {
            self.refuse(conn, why, Some(exchange.request));
        }
        if let Some(waiter) = exchange.send_waiter {
            resolve(py, &waiter, py.None().into_bound(py));
        }
    }
}

/// Sets a future's result, unless it is already done (cancelled, when
/// the app's task was).
pub(crate) fn resolve(py: Python<'_>, future: &Py<PyAny>, value: Bound<'_, PyAny>) {
    let future = future.bind(py);
    let pending = future
        .call_method0(intern!(py, "done"))
        .and_then(|done| done.is_truthy())
        .is_ok_and(|done| !done);
    if pending {
        if let Err(error) = future.call_method1(intern!(py, "set_result"), (value,)) {
            stage_06::error!("cannot resolve a future: {error}");
        }
    }
}

/// Sends `100 Continue` to a client that asked for it (`Expect:
/// 100-continue`), now that the app waits for the body. Not once the app's
/// head is out: an interim response goes before the final one (RFC 9110,
/// section 15.2), and this one would land inside the body; the client then
/// sends its body after a wait of its own.
fn continue_if_due(exchange: &mut Exchange, output: &mut Buffer) {
    if !exchange.response.head_sent() && exchange.decoder.send_continue() {
        output.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
}
