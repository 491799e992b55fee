//! # Stage 07: an ASGI server, a guest in asyncio's loop
//!
//! A WSGI app is a function that returns its response; an ASGI app
//! (`async def app(scope, receive, send)`) is a coroutine that pulls the
//! request body with `await receive()` and pushes the response with
//! `await send(...)`, so one process can hold many slow requests at once
//! (streams, long polls) without a thread each. This stage serves ASGI
//! 3.0 apps (Starlette, FastAPI, raw ASGI) for the `http` scope (spec
//! 2.3) and the `lifespan` scope (spec 2.0).
//!
//! The design, module by module. Python's asyncio loop is the outer loop
//! and the server is its guest ([`server`]): one mio poll, registered once
//! with `loop.add_reader`, whose callback does what stage-06's loop body
//! did. Each request's app runs as a real `asyncio.Task` (contextvars and
//! `asyncio.current_task()` work), talking through a [`channel`]:
//! `receive` and `send` return an already-complete awaitable ([`ready`])
//! when nothing must wait, and a `loop.create_future()` only when
//! something must (more body, a client that is not reading, the end of
//! the response). [`dispatch`] turns a head into a running app,
//! [`scope`] builds its scope, [`messages`] reads and makes the message
//! dicts, [`response`] frames the response (sans-IO, like the parser),
//! [`send`] writes it, [`finish`] handles the task's end and the client's,
//! and [`worker`] runs one worker's life, lifespan included, with the
//! Python half in `worker.py`.
//!
//! It reuses the earlier stages as libraries: stage-02's parser, stage-03's
//! response writer and header checks, stage-04's app loading, `sys.path`
//! preparation, refusal pages and access log, stage-05's body decoder and
//! keep-alive rules, and stage-06's buffer, timeouts, refusals and master
//! (pre-forked workers, heartbeats, SIGTERM drain, SIGHUP reload), with
//! its deployment flags: `--bind` for TCP addresses and `unix:PATH`
//! sockets, `--forwarded-allow-ips` (whose proxies' headers set the
//! scope's `client` and `scheme`), `--max-requests`, and the access and
//! error logs with their format and level.
//!
//! Left out on purpose: WebSockets (an upgrade request is answered `501
//! Not Implemented` for now; the next stage adds them), HTTP/2 and TLS
//! (a reverse proxy's job, as in chapter 6), the `http.response.trailers`
//! and `http.response.pathsend` extensions, ASGI 2 (double-callable) apps,
//! and `send` raising after a disconnect (spec 2.4; this server ignores
//! such a `send`, as 2.3 allows). Chapter 7 of the book walks through this
//! crate.

pub mod channel;
pub mod connection;
pub mod dispatch;
pub mod finish;
pub mod messages;
pub mod ready;
pub mod response;
pub mod scope;
pub mod send;
pub mod server;
pub mod worker;

pub use server::{Config, Server};
pub use worker::{LifespanMode, LoopKind, WorkerEnd, WorkerOptions, load_asgi_app, run_worker};
