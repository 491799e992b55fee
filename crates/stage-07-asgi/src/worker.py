"""One worker's life, in asyncio: the lifespan startup, serving, the drain
on SIGTERM, the lifespan shutdown.

The server itself is the Rust object `server`, a guest in this loop: its
poll's file descriptor is registered with `loop.add_reader`, and the loop
calls `server.on_ready` whenever a socket is ready. This file only says
when things happen; it runs once per worker, never per request.
"""

import asyncio
import sys
import traceback

# ASGI lifespan spec 2.0: startup and shutdown, and a `state` dict that
# each request's scope gets a shallow copy of.
LIFESPAN_ASGI = {"version": "3.0", "spec_version": "2.0"}


# Levels as Python's logging numbers them. LOG_LEVEL, the least important
# one written (--log-level), is set by the Rust side before `run`.
DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
LOG_LEVEL = INFO


def log(message, level=ERROR):
    if level >= LOG_LEVEL:
        print(f"stage-07: {message}", file=sys.stderr, flush=True)


class Lifespan:
    """Runs the app once with the `lifespan` scope, for the whole worker."""

    def __init__(self, app, mode):
        self.app, self.mode = app, mode
        self.state = {}
        self.inbox = asyncio.Queue()
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        self.failure = None  # the message of a startup.failed or shutdown.failed
        self.raised = False
        self.task = None

    # ANCHOR: startup
    async def startup(self):
        """True when the worker may serve."""
        if self.mode == "off":
            return True
        self.task = asyncio.get_running_loop().create_task(self.main())
        await self.inbox.put({"type": "lifespan.startup"})
        await self.started.wait()
        # ANCHOR: ex-09.6-startup-failed
        if self.failure is not None:
            log(f"the application's startup failed: {self.failure}")
            return False
        # ANCHOR_END: ex-09.6-startup-failed
        # "auto": an app that raises on the lifespan scope does not speak
        # it, and is served without it; "on" insists.
        return not (self.raised and self.mode == "on")
    # ANCHOR_END: startup

    async def shutdown(self):
        if self.task is None or self.raised or self.task.done():
            return
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.stopped.wait()
        if self.failure is not None:
            log(f"the application's shutdown failed: {self.failure}")

    async def main(self):
        scope = {"type": "lifespan", "asgi": LIFESPAN_ASGI, "state": self.state}
        try:
            await self.app(scope, self.receive, self.send)
        except BaseException:
            self.raised = True
            if self.mode == "auto" and not self.started.is_set():
                log("the application does not support the lifespan scope; serving without it", INFO)
            else:
                log("the application raised in its lifespan:\n" + traceback.format_exc())
        finally:
            self.started.set()
            self.stopped.set()

    async def receive(self):
        return await self.inbox.get()

    async def send(self, message):
        kind = message["type"]
        if kind in ("lifespan.startup.failed", "lifespan.shutdown.failed"):
            self.failure = message.get("message", "") or "(no message)"
        if kind.startswith("lifespan.startup."):
            self.started.set()
        elif kind.startswith("lifespan.shutdown."):
            self.stopped.set()


def loop_factory(kind):
    """uvloop when asked, or when "auto" and it is installed; else asyncio's."""
    if kind != "asyncio":
        try:
            import uvloop

            return uvloop.new_event_loop
        except ImportError:
            if kind == "uvloop":
                raise
    return asyncio.new_event_loop


# ANCHOR: serve
async def serve(server, app, lifespan_mode, graceful, announce):
    loop = asyncio.get_running_loop()
    lifespan = Lifespan(app, lifespan_mode)
    if not await lifespan.startup():
        return False
    server.set_state(lifespan.state)
    server.attach(loop)
    loop.add_reader(server.fileno(), server.on_ready)
    server.ready()
    if announce:
        print(announce, file=sys.stderr, flush=True)
    while not server.stopping():
        await asyncio.sleep(0.1)
        server.tick()
    # Stopping: no new connections; requests in flight finish, idle
    # keep-alive connections close at their timeout, as in stage-06.
    server.stop_listening()
    deadline = loop.time() + graceful
    while not server.idle() and loop.time() < deadline:
        await asyncio.sleep(0.05)
        server.tick()
    server.close_idle(True)
    loop.remove_reader(server.fileno())
    await lifespan.shutdown()
    return True
# ANCHOR_END: serve


def run(server, app, lifespan_mode, loop_kind, graceful, announce):
    """The worker's main: True once stopped, False if startup failed."""
    with asyncio.Runner(loop_factory=loop_factory(loop_kind)) as runner:
        return runner.run(serve(server, app, lifespan_mode, graceful, announce))
