//! The end of an app's task, and of a client, and what each means for
//! the other (ASGI HTTP spec; uvicorn's behaviour where the spec is
//! silent): an exception or a return before the response went out is
//! answered with a 500; after the head went out, only a reset tells the
//! client that the body is cut; a client that is gone makes `send` a
//! no-op and `receive` answer `http.disconnect`.

use mio::Token;
use pyo3::prelude::*;
use stage_04::python::traceback_text;
use stage_04::server::send_refusal;

use crate::channel::resolve;
use crate::connection::{Conn, Ending};
use crate::messages;
use crate::server::{Ctx, Server};

impl Server {
    // ANCHOR: app_done
    /// The task of request `serial` on connection `token` is over.
    pub(crate) fn app_done(
        &mut self,
        py: Python<'_>,
        token: Token,
        serial: u64,
        task: &Bound<'_, PyAny>,
    ) {
        let error = task_error(task);
        let current = self
            .conns
            .get(&token)
            .and_then(|conn| conn.exchange.as_ref())
            .is_some_and(|exchange| exchange.serial == serial);
        if let Some(error) = &error {
            let when = if current { "" } else { " after its response" };
            stage_06::error!(
                "the application raised an exception{when}:\n{}",
                traceback_text(py, error)
            );
        }
        let Some(conn) = self.conns.get_mut(&token).filter(|_| current) else {
            return;
        };
        let Some(exchange) = conn.exchange.as_ref() else {
            return;
        };
        if error.is_none() {
            let what = if exchange.response.started() {
                "without completing its response"
            } else {
                "without starting a response"
            };
            stage_06::error!("the application returned {what}");
        }
        if exchange.response.head_sent() {
            self.ctx.complete(py, token, conn, Some(Ending::Abort));
        } else {
            // Nothing went out: the client gets a 500 instead, and the
            // connection ends (the app may have left its body unread).
            let outcome = send_refusal(
                &self.ctx.writer,
                &mut conn.output,
                500,
                "Internal Server Error\n",
            );
            if let Some(exchange) = conn.exchange.take() {
                exchange.channel.get().completed();
                let request = Some(&exchange.request);
                self.ctx
                    .log(conn, request, None, &outcome, Some(conn.started));
            }
            conn.end(Ending::Graceful, self.ctx.now);
        }
        conn.flush(self.ctx.now);
        if self.settled(token) {
            self.remove(py, token);
        }
    }
    // ANCHOR_END: app_done
}

/// The exception the task ended with: `CancelledError` for a cancelled
/// task, none for one that returned.
fn task_error(task: &Bound<'_, PyAny>) -> Option<PyErr> {
    let cancelled = task
        .call_method0("cancelled")
        .and_then(|c| c.is_truthy())
        .unwrap_or(false);
    if cancelled {
        return Some(pyo3::exceptions::asyncio::CancelledError::new_err(
            "the task was cancelled",
        ));
    }
    match task.call_method0("exception") {
        Ok(exception) if exception.is_none() => None,
        Ok(exception) => Some(PyErr::from_value(exception)),
        Err(error) => Some(error),
    }
}

impl Ctx {
    /// The connection is being dropped with an exchange still open: the
    /// app's waits end with `http.disconnect`, and its sends are ignored.
    pub(crate) fn client_gone(&mut self, py: Python<'_>, conn: &mut Conn) {
        let Some(exchange) = conn.exchange.take() else {
            return;
        };
        exchange.channel.get().gone();
        if let Some(waiter) = exchange.receive_waiter {
            if let Ok(message) = messages::disconnect(py) {
                resolve(py, &waiter, message);
            }
        }
        if let Some(waiter) = exchange.send_waiter {
            resolve(py, &waiter, py.None().into_bound(py));
        }
    }
}
