//! # Stage 04: a WSGI server
//!
//! A single-threaded server that hosts a real Python application through
//! [pyo3]. It reads a request with stage-02's parser, turns it into the
//! `environ` dictionary of PEP 3333, calls the application with a
//! `start_response` callable, and writes what comes back with stage-03's
//! response writer: headers only once the first piece of body is ready,
//! each piece sent as soon as it is produced, and the result's `close()`
//! called exactly once, whatever happens.
//!
//! Every Python exception becomes a logged traceback and a 500, or, once
//! headers are out, an aborted connection; no panic crosses into or out of
//! Python, and the server goes on.
//!
//! Left out on purpose: keep-alive (every response says `Connection:
//! close`; chapter 5), chunked request bodies (refused with 501; chapter
//! 5), and serving more than one connection at a time (chapter 6). The
//! request body is read whole before the application is called, up to the
//! parser's body limit; chapter 5 streams it.
//! Chapter 4 of the book walks through this crate.
//!
//! Built on stage-02's parser, stage-03's response writer and pyo3. Its
//! parts are building blocks for the later stages: `environ`
//! ([`environ`]), the responder behind `start_response` ([`respond`]) and
//! the blocks a request is made of ([`run`]), which each server composes
//! into its own driver, with `wsgi.file_wrapper` ([`file_wrapper`]) and
//! its fast path by `sendfile(2)` ([`sendfile`]); and shared scaffolding,
//! which has its home here because this is the first server: the
//! listener and stop flag ([`server::Core`]), refusals
//! ([`server::send_refusal`]), the command line and app loading ([`cli`],
//! [`app`]), the access log ([`log`]).

pub mod app;
pub mod cli;
pub mod environ;
pub mod file_wrapper;
pub mod input;
pub mod log;
pub mod python;
pub mod respond;
pub mod run;
pub mod sendfile;
pub mod server;

pub use app::{AppSpec, LoadError, load_app};
pub use respond::{AfterResponse, Blocking, Responder, Sink};
pub use run::{Outcome, run_app};
pub use server::{Server, ServerConfig};
