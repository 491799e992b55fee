//! One client connection: its buffers, the request being answered, and
//! the socket's reading and writing.
//!
//! Stage-06's connection read a whole body before calling the app and
//! pulled the response out of it; here the app pulls the body itself
//! (`receive`) and pushes the response (`send`), so the connection holds
//! the [`Exchange`] both sides share, and the decisions move to
//! [`crate::server`] and [`crate::channel`]. The buffers are stage-06's
//! [`Buffer`]; the timeouts are stage-06's [`Timeouts`].

use std::net::Shutdown;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use stage_02::Request;
use stage_04::environ::ConnectionInfo;
use stage_04::run::abort_on_close;
use stage_05::decode::BodyDecoder;
use stage_06::Timeouts;
use stage_06::buffer::Buffer;
use stage_06::listeners::Stream;

use crate::channel::Channel;
use crate::response::Response;

/// The request being answered on a connection, shared by the app's
/// `receive` and `send` (through its [`crate::channel::Channel`]).
pub struct Exchange {
    /// Which request of the server this is: a channel whose serial is not
    /// the current exchange's belongs to a request already answered.
    pub serial: u64,
    /// The request head.
    pub request: Request,
    /// Which of the bytes after the head are body.
    pub decoder: BodyDecoder,
    /// The app has been given the last `http.request` (`more_body` false).
    pub body_given: bool,
    /// The response, as the app sends it.
    pub response: Response,
    /// A future the app awaits in `receive`, when it had to wait.
    pub receive_waiter: Option<Py<PyAny>>,
    /// A future the app awaits in `send`, while the client is not reading.
    pub send_waiter: Option<Py<PyAny>>,
    /// The app's `receive` and `send`, told when the exchange is over.
    pub channel: Py<Channel>,
}

/// How a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Send what is in the output, then shut down and close.
    Graceful,
    /// Send what is in the output, then reset: the response was cut short.
    Abort,
}

/// One client connection.
pub struct Conn {
    /// The socket (TCP or Unix), non-blocking, registered with the poll.
    pub stream: Stream,
    /// Its two addresses (stand-ins for a Unix socket's, which has none).
    pub info: ConnectionInfo,
    /// When the current request's head was complete, for the access log.
    pub started: Instant,
    /// Bytes received and not yet used.
    pub input: Buffer,
    /// Response bytes not yet sent.
    pub output: Buffer,
    /// The request being answered, if one is.
    pub exchange: Option<Exchange>,
    /// Set once the connection is to end after its output.
    pub ending: Option<Ending>,
    /// The client closed its side (EOF): it sends nothing more.
    pub peer_closed: bool,
    /// A read or a write failed: the client is gone.
    pub broken: bool,
    /// The socket had nothing more to read when last asked; reset by each
    /// readable event (the poll is edge-triggered, as in stage-06).
    pub drained: bool,
    /// When the current wait gives up.
    pub deadline: Instant,
    /// The first byte of the current head has arrived.
    pub head_started: bool,
    /// The write side has been shut down (an ending connection).
    shut: bool,
    timeouts: Timeouts,
}

impl Conn {
    /// A new connection, waiting for its first request.
    pub fn new(stream: Stream, info: ConnectionInfo, timeouts: Timeouts, now: Instant) -> Conn {
        Conn {
            stream,
            info,
            started: now,
            input: Buffer::default(),
            output: Buffer::default(),
            exchange: None,
            ending: None,
            peer_closed: false,
            broken: false,
            drained: false,
            deadline: now + timeouts.keep_alive,
            head_started: false,
            shut: false,
            timeouts,
        }
    }

    /// The client is gone, or will send nothing more.
    pub fn disconnected(&self) -> bool {
        self.broken || self.peer_closed
    }

    /// Between requests, with nothing left to send.
    pub fn is_idle(&self) -> bool {
        self.exchange.is_none()
            && self.ending.is_none()
            && self.input.is_empty()
            && self.output.is_empty()
    }

    /// The first byte of a head arrived: the header timeout runs.
    pub fn head_begins(&mut self, now: Instant) {
        if !self.head_started {
            self.head_started = true;
            self.deadline = now + self.timeouts.header;
        }
    }

    /// A response is over and the connection waits for the next request.
    pub fn await_next_request(&mut self, now: Instant) {
        self.head_started = false;
        self.deadline = now + self.timeouts.keep_alive;
    }

    /// The app is answering: no deadline but the write stall's.
    pub fn app_running(&mut self, now: Instant) {
        self.deadline = now + Duration::from_secs(365 * 24 * 3600);
    }

    /// The output is at its high-water mark: the client has the I/O
    /// timeout to read some of it.
    pub fn wait_for_reader(&mut self, now: Instant) {
        self.deadline = now + self.timeouts.io;
    }

    /// The connection ends once its output is sent.
    pub fn end(&mut self, ending: Ending, now: Instant) {
        self.ending = Some(match (self.ending, ending) {
            (Some(Ending::Abort), _) | (_, Ending::Abort) => Ending::Abort,
            _ => Ending::Graceful,
        });
        self.deadline = now + self.timeouts.io;
    }

    /// Reads what the socket has, up to `cap` bytes buffered (a client
    /// cannot make the server hold more of its input than that). Returns
    /// how many bytes came.
    pub fn read_available(&mut self, cap: usize, scratch: &mut [u8]) -> usize {
        if self.peer_closed || self.broken || self.drained {
            return 0;
        }
        // Until the socket is empty (stage-06's Buffer::fill_from says why).
        match self.input.fill_from(&mut self.stream, cap, scratch) {
            Ok(filled) => {
                self.peer_closed = filled.closed;
                self.drained = filled.drained;
                filled.bytes
            }
            Err(_) => {
                self.broken = true;
                0
            }
        }
    }

    /// Writes as much output as the socket takes now.
    pub fn flush(&mut self, now: Instant) {
        if self.broken {
            return;
        }
        match self.output.drain_into(&mut self.stream) {
            Ok(0) => return,
            Ok(_) => {}
            Err(_) => {
                self.broken = true;
                return;
            }
        }
        match (self.output.is_empty(), &self.exchange, self.ending) {
            // A client that stops reading has the I/O timeout to start again.
            (false, _, _) => self.deadline = now + self.timeouts.io,
            // All sent while the app runs: the app's time is its own.
            (true, Some(_), None) => self.app_running(now),
            // All sent after the last response: the keep-alive time runs.
            (true, None, None) if !self.head_started => {
                self.deadline = now + self.timeouts.keep_alive;
            }
            (true, None, None) => {}
            (true, _, Some(_)) => {}
        }
    }

    /// For an ending connection whose output is all sent: shut down the
    /// write side (or reset), then wait for the client to close. Returns
    /// whether the connection is done with.
    pub fn finish_ending(&mut self, now: Instant) -> bool {
        let Some(ending) = self.ending else {
            return false;
        };
        if self.broken {
            return true;
        }
        if !self.output.is_empty() {
            return false;
        }
        if ending == Ending::Abort {
            let _ = abort_on_close(&self.stream);
            return true;
        }
        if !self.shut {
            self.shut = true;
            let _ = self.stream.shutdown(Shutdown::Write);
            self.deadline = now + self.timeouts.linger;
        }
        // What the client still sends is dropped until it closes too: a
        // close with unread input would reset, and lose the response.
        self.input.clear();
        self.peer_closed
    }
}
