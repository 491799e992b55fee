//! One client connection in the event loop: its buffers, and where it
//! stands in the life of a request.
//!
//! Nothing here blocks. Bytes go into `input` when the socket has some;
//! the request is parsed from `input` as far as it goes (stage-02's parser,
//! stage-05's body decoder, the very code the blocking server drives); the
//! response collects in `output` and goes out when the socket can take it.
//!
//! This module is the state machine: the phases and the transitions that
//! move between them and set the deadlines. Its `socket` submodule does the
//! reading, writing and closing.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mio::Token;
use pyo3::prelude::*;
use stage_02::{Limits, Request};
use stage_04::Responder;
use stage_04::environ::ConnectionInfo;
use stage_04::environ::cache::ConnectionEnviron;
use stage_04::respond::Sink;
use stage_05::chunked::ChunkLimits;
use stage_05::decode::BodyDecoder;

mod socket;

use crate::buffer::Buffer;
use crate::incoming::{Progress, parse_input};
use crate::listeners::Stream;
use crate::stepping::InProgress;

/// Bytes read from a socket at a time: the size every stage reads with.
pub use stage_02::read::READ_CHUNK;

/// Where a connection stands.
pub enum Phase {
    /// Waiting for (the rest of) a request head.
    Head,
    /// The head is in; the body is arriving.
    Body {
        /// The request head.
        request: Request,
        /// The body so far.
        body: Vec<u8>,
        /// Which of the bytes that follow are body, and whether the client
        /// waits for `100 Continue` before sending them.
        decoder: BodyDecoder,
    },
    /// The app has been called; its response is being produced and sent.
    Responding(Exchange),
    /// Sending what is left, then closing: gracefully, or with a reset.
    Closing {
        /// Close with a reset (the response was cut short).
        abort: bool,
        /// The write side is already shut down; waiting for the client.
        shut: bool,
    },
}

/// A request and the response being produced for it.
pub struct Exchange {
    /// The request being answered.
    pub request: Request,
    /// The object behind start_response and write.
    pub responder: Py<Responder>,
    /// The rest of the app's body, when it has more to give.
    pub progress: Option<InProgress>,
    /// Whether the connection may carry another request after this one.
    pub keep_open: bool,
    /// When the request was complete and the app about to be called:
    /// where the access log's duration counts from.
    pub started: Instant,
    /// A pool thread (`--threads`) has the request: it is calling the
    /// app or pulling a piece of the body, and `progress` is out with it.
    pub on_thread: bool,
}

/// How long a connection waits for each thing it can wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For another request on an idle connection.
    pub keep_alive: Duration,
    /// For a whole request head, from its first byte.
    pub header: Duration,
    /// For a client that stalls while sending a body, or while not reading
    /// the response.
    pub io: Duration,
    /// For the client to close, once the last response is sent.
    pub linger: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            keep_alive: Duration::from_secs(5),
            header: Duration::from_secs(10),
            io: Duration::from_secs(30),
            linger: Duration::from_secs(2),
        }
    }
}

/// What a connection was waiting for when its deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// The next request, on an idle connection: close it quietly.
    Idle,
    /// The rest of a request (a slowloris head, a stalled body): 408.
    Request,
    /// The client to read its response: abandon the response.
    Response,
    /// The client to close after the last response: close.
    Closing,
}

/// One client connection: its buffers, where it stands, and until when it
/// waits. The transitions below are the only places that change the phase
/// or the deadline, so each wait has its timeout set where it begins.
pub struct Connection<S = Stream> {
    /// The socket, non-blocking.
    pub stream: S,
    /// The token the poll reports the socket with, set when the loop
    /// registers it: a pool thread's job says which connection it is for.
    pub token: Token,
    /// Its two addresses.
    pub info: ConnectionInfo,
    /// What every `environ` on this connection starts with; made at its
    /// first request, as it needs the GIL.
    pub environ: Option<ConnectionEnviron>,
    /// Bytes received and not yet used.
    pub input: Buffer,
    /// The response bytes waiting to go out, shared with the responder.
    pub output: Arc<Mutex<Buffer>>,
    /// The responder's way into `output`, handed back when a response is
    /// over and given to the next one: made per connection, not per
    /// request (an allocation and a reference count less each time).
    pub sink: Option<Box<dyn Sink>>,
    /// Where the connection stands; changed only by the transitions.
    phase: Phase,
    /// When the current wait (for a head, a body, the client to read or
    /// to close) gives up.
    deadline: Instant,
    timeouts: Timeouts,
    /// The client has closed its side: no more input will come.
    pub peer_closed: bool,
    /// The first byte of the current head arrived (the header timeout runs).
    head_started: bool,
    /// The socket had nothing more to read when last asked (a read came
    /// back short, or would have blocked); reset when the poll reports it
    /// readable again. Until then, the socket may hold more: a read pass
    /// that stopped because `input` was full must be taken up again as
    /// soon as there is room, as no new event will say so.
    drained: bool,
}

impl<S> Connection<S> {
    /// A new connection, waiting for its first request.
    pub fn new(stream: S, info: ConnectionInfo, timeouts: Timeouts, now: Instant) -> Self {
        Connection {
            stream,
            token: Token(usize::MAX),
            info,
            environ: None,
            input: Buffer::default(),
            output: Arc::new(Mutex::new(Buffer::default())),
            sink: None,
            phase: Phase::Head,
            deadline: now + timeouts.keep_alive,
            timeouts,
            peer_closed: false,
            head_started: false,
            drained: false,
        }
    }

    /// The poll reported the socket readable: there may be new bytes.
    pub fn may_have_input(&mut self) {
        self.drained = false;
    }

    /// Whether the socket had nothing more to read when last asked.
    pub fn drained(&self) -> bool {
        self.drained
    }

    /// When the current wait gives up.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Waiting for a request that has not started, with every byte of the
    /// last response sent: nothing is lost by closing now.
    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Head) && self.input.is_empty() && self.pending_output() == 0
    }

    // ANCHOR: transitions
    /// Takes what it can out of `input` (see [`parse_input`]), and starts
    /// the waits that come with it: the header timeout from the first byte
    /// of a head; the I/O timeout once the head is in and the body is
    /// awaited, after a `100 Continue` if the client asked for one.
    pub fn parse(&mut self, limits: &Limits, chunks: ChunkLimits, now: Instant) -> Progress {
        if matches!(self.phase, Phase::Head) && !self.input.is_empty() && !self.head_started {
            self.head_started = true;
            self.deadline = now + self.timeouts.header;
        }
        let (was_head, unparsed) = (matches!(self.phase, Phase::Head), self.input.len());
        let progress = parse_input(&mut self.phase, &mut self.input, limits, chunks);
        if let Phase::Body { decoder, .. } = &mut self.phase {
            // The head just came in; the body is awaited. It is read
            // whole before the app is called, so a client waiting for
            // `100 Continue` gets it at once (RFC 9110, section 10.1.1).
            if was_head && decoder.send_continue() {
                self.output()
                    .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            }
            // The I/O timeout is for a client that stalls: each piece of
            // body that arrives starts it again.
            if was_head || self.input.len() < unparsed {
                self.deadline = now + self.timeouts.io;
            }
        }
        progress
    }

    /// The app has been called (at `started`): its response is being
    /// produced and sent.
    pub fn respond(
        &mut self,
        request: Request,
        responder: Py<Responder>,
        progress: Option<InProgress>,
        keep_open: bool,
        started: Instant,
    ) {
        self.phase = Phase::Responding(Exchange {
            request,
            responder,
            progress,
            keep_open,
            started,
            on_thread: false,
        });
    }

    /// A pool thread has taken the request (`--threads`): the connection
    /// waits for it, without a deadline, as the loop itself would wait
    /// for an app called inline (the master's `--timeout` is for an app
    /// that hangs).
    pub fn hand_to_thread(&mut self) {
        if let Phase::Responding(exchange) = &mut self.phase {
            exchange.on_thread = true;
        }
    }

    /// The pool thread gave the request back, with `progress` when its
    /// body has more to give: the client has the I/O timeout to read what
    /// it wrote.
    pub fn back_from_thread(&mut self, progress: Option<InProgress>, now: Instant) {
        if let Phase::Responding(exchange) = &mut self.phase {
            exchange.on_thread = false;
            exchange.progress = progress;
        }
        self.deadline = now + self.timeouts.io;
    }

    /// Where the connection stands.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// Whether a response is in progress.
    pub fn is_responding(&self) -> bool {
        matches!(self.phase, Phase::Responding(_))
    }

    /// Whether a pool thread has the request (see [`hand_to_thread`](Self::hand_to_thread)).
    pub fn is_on_thread(&self) -> bool {
        matches!(&self.phase, Phase::Responding(exchange) if exchange.on_thread)
    }

    /// Whether the response in progress is a file the loop sends itself.
    pub fn sending_file(&self) -> bool {
        match &self.phase {
            Phase::Responding(exchange) => {
                exchange.progress.as_ref().is_some_and(InProgress::is_file)
            }
            _ => false,
        }
    }

    /// The response in progress, to pull more of its body.
    pub fn exchange_mut(&mut self) -> Option<&mut Exchange> {
        match &mut self.phase {
            Phase::Responding(exchange) => Some(exchange),
            _ => None,
        }
    }

    /// The response is over, or given up: its exchange, taken out. The
    /// phase is `Head` until the transition that follows (keep the
    /// connection, or close it) says otherwise.
    pub fn end_exchange(&mut self) -> Option<Exchange> {
        match std::mem::replace(&mut self.phase, Phase::Head) {
            Phase::Responding(exchange) => Some(exchange),
            other => {
                self.phase = other;
                None
            }
        }
    }

    /// The output is at its high-water mark: the client has the I/O
    /// timeout to read some of it.
    pub fn wait_for_reader(&mut self, now: Instant) {
        self.deadline = now + self.timeouts.io;
    }

    /// The response is over and the connection may carry another request.
    /// The keep-alive time runs once the response is all sent; until then
    /// the client has the I/O timeout to read it.
    pub fn keep_for_next_request(&mut self, now: Instant) {
        self.phase = Phase::Head;
        self.head_started = false;
        let pending = self.pending_output() > 0;
        self.output_moved(now, pending);
    }

    /// Bytes of output went out: a wait on the client to read starts
    /// again, and a kept-alive connection whose response is now all sent
    /// starts waiting for its next request. A response in progress gets
    /// its I/O timeout again even when all of it went out: the client is
    /// reading, and no other wait was set since its request's head (an
    /// endless stream to a fast reader was reset at the header timeout).
    fn output_moved(&mut self, now: Instant, pending: bool) {
        match self.phase {
            Phase::Head if !self.head_started && pending => self.deadline = now + self.timeouts.io,
            Phase::Head if !self.head_started => self.deadline = now + self.timeouts.keep_alive,
            Phase::Responding(_) => self.deadline = now + self.timeouts.io,
            Phase::Closing { shut: false, .. } if pending => self.deadline = now + self.timeouts.io,
            _ => {}
        }
    }

    /// The client has closed its side while the parser waits for more:
    /// nothing more will come. Returns whether the connection is done with:
    /// in the middle of a request, which can never end now, or between
    /// requests with nothing left to send. Otherwise the last response
    /// goes out first (a client that half-closes still reads).
    pub fn input_ended(&mut self, now: Instant) -> bool {
        let between = matches!(self.phase, Phase::Head) && self.input.is_empty();
        if !between || self.pending_output() == 0 {
            return true;
        }
        self.close_after_output(now);
        false
    }

    /// What is in the output is the last of it: send it, then close.
    pub fn close_after_output(&mut self, now: Instant) {
        self.phase = Phase::Closing {
            abort: false,
            shut: false,
        };
        self.deadline = now + self.timeouts.io;
    }

    /// The client stalled in the middle of a request: what is in the
    /// output (a 408) is the last of it, and a client that is not sending
    /// gets only the linger time to take it.
    pub fn give_up_after_output(&mut self, now: Instant) {
        self.close_after_output(now);
        self.deadline = now + self.timeouts.linger;
    }

    /// A response was cut short: send what is there, then reset, so that
    /// the client cannot take the cut body for a whole one.
    pub fn abort_after_output(&mut self, now: Instant) {
        self.phase = Phase::Closing {
            abort: true,
            shut: false,
        };
        self.deadline = now + self.timeouts.io;
    }

    /// The write side has been shut down: the client has the linger time
    /// to read the rest and close.
    pub fn write_side_shut(&mut self, now: Instant) {
        if let Phase::Closing { shut, .. } = &mut self.phase {
            *shut = true;
        }
        self.deadline = now + self.timeouts.linger;
    }

    /// What the connection was waiting for, if its deadline has passed.
    pub fn expired(&self, now: Instant) -> Option<Expired> {
        if self.deadline > now || self.is_on_thread() {
            return None;
        }
        Some(match self.phase {
            _ if self.is_idle() => Expired::Idle,
            Phase::Head | Phase::Body { .. } => Expired::Request,
            Phase::Responding(_) => Expired::Response,
            Phase::Closing { .. } => Expired::Closing,
        })
    }
    // ANCHOR_END: transitions

    /// The output buffer.
    pub fn output(&self) -> MutexGuard<'_, Buffer> {
        self.output
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many response bytes wait to go out.
    pub fn pending_output(&self) -> usize {
        self.output().len()
    }
}
