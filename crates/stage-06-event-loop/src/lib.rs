//! # Stage 06: many connections, then many processes
//!
//! Stage-05 served one connection at a time, so one idle keep-alive client
//! held everyone up. This stage serves every connection of a process from
//! one thread with an event loop ([`event_loop`], on mio, the layer tokio
//! is built on): sockets are non-blocking, each connection has its own
//! input and output buffers ([`connection`]), and the loop works on
//! whichever sockets are ready. Then it runs that loop in several
//! pre-forked worker processes under a master ([`master`]) that replaces
//! workers that die, kills workers that hang, reloads on SIGHUP and drains
//! on SIGTERM.
//!
//! It reuses the earlier stages as libraries: stage-02's parser, stage-03's
//! writer, stage-04's environ, responder and request blocks, stage-05's
//! body decoder and keep-alive rules. What is new, module by module:
//! [`connection`] (a connection's buffers, where it stands, and until when
//! it waits; its input a [`buffer`]), [`incoming`] (requests taken out of
//! the input without waiting), [`stepping`] (the app's response one piece
//! at a time, so that a client that does not read cannot make the server
//! buffer a whole generator; a file from `wsgi.file_wrapper` is sent by
//! `sendfile(2)` instead, piece by piece as the socket takes it),
//! [`refusal`] (why the server answers instead of the app),
//! [`connections`] (every connection by its token), the loop
//! itself ([`event_loop`]), the threads that call the app with `--threads`
//! ([`pool`]) and the [`master`].
//!
//! What a deployment adds, gunicorn's options by gunicorn's names:
//! [`listeners`] (`--bind` as many times as wanted, TCP addresses and
//! `unix:PATH` sockets mixed, the usual way behind nginx on the same
//! machine) and [`forwarded`] (`--forwarded-allow-ips`: whose
//! `X-Forwarded-For` and `X-Forwarded-Proto` set `REMOTE_ADDR` and
//! `wsgi.url_scheme`, so that a client cannot claim another address).
//! Workers are recycled after `--max-requests` (plus `--max-requests-jitter`),
//! against an app's slow leaks: the worker finishes what it has and
//! exits, and the [`master`] starts another, as for any worker that ends.
//! The logs: [`access_log`] (`--access-logfile`, and `--access-logformat`
//! with gunicorn's atoms, the request's duration among them) and
//! [`logging`] (`--error-logfile`, `--log-level`), and where both go
//! ([`log_files`], which opens them again on SIGUSR1, for logrotate).
//!
//! What one thread cannot do, it does not pretend to: by default the app
//! is called for one request at a time, and while it runs (a slow query, a
//! `sleep`) the loop waits. Request bodies are read whole, up to the body
//! limit, before the app is called, so that a slow upload does not hold
//! the loop. More workers are one answer to an app that waits; `--threads
//! N` ([`pool`]) is the other, gunicorn's gthread: the loop goes on with
//! the sockets while up to N app calls run on threads, so that their
//! waiting overlaps. Their computing does not (the GIL); chapter 6 and the
//! production chapter of the book say why, with the figures.

pub mod access_log;
pub mod buffer;
pub mod cli;
pub mod connection;
pub mod connections;
pub mod event_loop;
pub mod forwarded;
pub mod incoming;
pub mod listeners;
pub mod log_files;
pub mod logging;
pub mod master;
pub mod pool;
pub mod refusal;
pub mod stepping;

pub use connection::Timeouts;
pub use event_loop::{EventLoop, LoopConfig};
pub use listeners::{Bind, Listener};
pub use master::{MasterConfig, MasterExit, run_master};
