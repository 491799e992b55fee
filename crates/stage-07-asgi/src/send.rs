//! `send`: the app's response messages, framed by [`crate::response`],
//! written at once, and waited on only when the client is not reading.

use mio::Token;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use stage_04::Outcome;
use stage_05::decode::Decoded;

use crate::channel::resolve;
use crate::connection::{Conn, Ending};
use crate::messages::{self, Outgoing};
use crate::server::{Ctx, Server};

impl Server {
    // ANCHOR: send
    /// `send(message)` for the request on connection `token`.
    pub(crate) fn send(
        &mut self,
        py: Python<'_>,
        token: Token,
        message: Outgoing<'_>,
    ) -> PyResult<Py<PyAny>> {
        let done = self.ctx.ready_none.clone_ref(py).into_any();
        let Some(conn) = self.conns.get_mut(&token) else {
            return Ok(done); // the client is gone: ignored (we claim 2.3, not 2.4)
        };
        let Some(exchange) = conn.exchange.as_mut() else {
            return Ok(done);
        };
        let (body, more) = match message {
            Outgoing::Start { status, headers } => {
                let pairs: Vec<(&[u8], &[u8])> = headers
                    .iter()
                    .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
                    .collect();
                exchange.response.start(status, &pairs).map_err(misuse)?;
                return Ok(done);
            }
            Outgoing::Body { body, more } => (body, more),
        };
        let stopping = self.ctx.stopping.load(std::sync::atomic::Ordering::SeqCst);
        if !exchange.response.head_sent() && (stopping || !drain_body(conn)) {
            // A stopping server answers no more requests here; and a body
            // the app left unread cannot be skipped now. Either way this
            // response is the connection's last, and its head says so.
            if let Some(exchange) = conn.exchange.as_mut() {
                exchange.response.close_after();
            }
        }
        let Some(exchange) = conn.exchange.as_mut() else {
            return Ok(done);
        };
        self.ctx.out.clear();
        let framed =
            exchange
                .response
                .body(&self.ctx.writer, body.as_bytes(), more, &mut self.ctx.out);
        if let Err(error) = framed {
            if exchange.response.head_sent() {
                // Cut short after the head: only a reset tells the client.
                self.ctx.complete(py, token, conn, Some(Ending::Abort));
                if self.settled(token) {
                    self.remove(py, token);
                }
            }
            return Err(misuse(error));
        }
        // ANCHOR: written_or_wait
        let complete = exchange.response.is_complete();
        conn.output.extend_from_slice(&self.ctx.out);
        conn.flush(self.ctx.now);
        if complete {
            self.ctx.complete(py, token, conn, None);
            if self.settled(token) {
                self.remove(py, token);
            }
            return Ok(done);
        }
        if conn.output.len() < self.ctx.config.high_water || conn.broken {
            return Ok(done);
        }
        // Backpressure: the client is not reading; the app waits until
        // the output has gone down (resolved in `output_moved`).
        let future = self.ctx.create_future(py)?;
        conn.wait_for_reader(self.ctx.now);
        if let Some(exchange) = conn.exchange.as_mut() {
            exchange.send_waiter = Some(future.clone_ref(py));
        }
        Ok(future)
        // ANCHOR_END: written_or_wait
    }
    // ANCHOR_END: send
}

/// The app's misuse of `send`: logged here, since an app may catch what
/// its `send` raises, and raised from it.
pub(crate) fn misuse(error: crate::response::Misuse) -> PyErr {
    stage_06::error!("the application misused send: {error}");
    PyRuntimeError::new_err(format!("ASGI: {error}"))
}

/// Skips what has arrived of a body the app did not read. Whether the
/// body is over, so that the connection can carry the next request.
fn drain_body(conn: &mut Conn) -> bool {
    let Some(exchange) = conn.exchange.as_mut() else {
        return true;
    };
    loop {
        match exchange.decoder.decode(conn.input.as_slice(), usize::MAX) {
            Ok((used, Decoded::Data(_))) => conn.input.consume(used),
            Ok((used, Decoded::End)) => {
                conn.input.consume(used);
                return true;
            }
            Ok((used, Decoded::NeedMore)) => {
                conn.input.consume(used);
                return false;
            }
            Err(_) => return false,
        }
    }
}

impl Ctx {
    // ANCHOR: complete
    /// The exchange is over: its response complete (or cut short, with
    /// `ending`). It is logged, a `receive` that waits for the end gets
    /// `http.disconnect`, and the connection waits for its next request
    /// (served at once if it is already in the input), or ends.
    pub(crate) fn complete(
        &mut self,
        py: Python<'_>,
        token: Token,
        conn: &mut Conn,
        ending: Option<Ending>,
    ) {
        let Some(exchange) = conn.exchange.take() else {
            return;
        };
        exchange.channel.get().completed();
        let response = &exchange.response;
        let outcome = Outcome {
            status: response.status,
            body_bytes: response.body_bytes,
            error: None,
            abort: ending == Some(Ending::Abort),
            client_gone: conn.broken,
            reusable: response.keeps_connection(),
        };
        let request = Some(&exchange.request);
        let headers = response.app_headers();
        self.log(conn, request, headers, &outcome, Some(conn.started));
        if let Some(waiter) = &exchange.receive_waiter {
            if let Ok(message) = messages::disconnect(py) {
                resolve(py, waiter, message);
            }
        }
        if let Some(waiter) = &exchange.send_waiter {
            resolve(py, waiter, py.None().into_bound(py));
        }
        let stopping = self.stopping.load(std::sync::atomic::Ordering::SeqCst);
        match ending {
            Some(ending) => conn.end(ending, self.now),
            None if response.keeps_connection() && !conn.disconnected() && !stopping => {
                conn.await_next_request(self.now);
                if !conn.input.is_empty() {
                    self.serve_again(py, token);
                }
            }
            None => conn.end(Ending::Graceful, self.now),
        }
    }
    // ANCHOR_END: complete

    /// A pipelined request waits in the input, and no event will say so:
    /// `on_ready` is scheduled to serve it.
    fn serve_again(&mut self, py: Python<'_>, token: Token) {
        self.resume.push(token);
        if self.resume_scheduled {
            return;
        }
        if let Some(asyncio) = &self.asyncio {
            match asyncio
                .call_soon
                .call1(py, (asyncio.on_ready.clone_ref(py),))
            {
                Ok(_) => self.resume_scheduled = true,
                Err(error) => stage_06::error!("cannot schedule a pipelined request: {error}"),
            }
        }
    }

    /// Output went out: an app waiting in `send` for the client to read
    /// goes on once the output is below the high-water mark.
    pub(crate) fn output_moved(&mut self, py: Python<'_>, conn: &mut Conn) {
        let below = conn.output.len() < self.config.high_water || conn.broken;
        if let Some(exchange) = conn.exchange.as_mut() {
            if below {
                if let Some(waiter) = exchange.send_waiter.take() {
                    resolve(py, &waiter, py.None().into_bound(py));
                }
            }
        }
    }
}
