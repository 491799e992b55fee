"""Apps for stage-06's worker tests: which process answered, and apps
that die, hang, or stream more than a slow client reads."""

import os
import time

PULLED = {"pieces": 0}
CLOSED = {"ticks": 0}


def text(start_response, body, status="200 OK"):
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/pid":
        return text(start_response, f"{os.getpid()}\n".encode())
    if path == "/environ":
        # What this request's environ holds, then a change to it: the next
        # request on the connection must not see the change.
        seen = f"{environ.get('LEFT_BY_EARLIER', '-')} {environ['QUERY_STRING'] or '-'} " \
               f"{environ['REMOTE_ADDR']} {environ.get('HTTP_X_TRACE', '-')}\n"
        environ["LEFT_BY_EARLIER"] = "leaked"
        environ["QUERY_STRING"] = "changed"
        return text(start_response, seen.encode())
    if path == "/echo":
        # A chunked body has no CONTENT_LENGTH; its input ends where it does.
        length = environ.get("CONTENT_LENGTH")
        stream = environ["wsgi.input"]
        return text(start_response, stream.read(int(length)) if length else stream.read())
    if path == "/die":
        os._exit(1)
    if path == "/hang":
        time.sleep(1000)
    if path == "/sleep":
        time.sleep(float(environ["QUERY_STRING"] or "0.2"))
        return text(start_response, b"slept\n")
    if path == "/stream":
        megabytes = int(environ["QUERY_STRING"] or "64")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (b"x" * 65536 for _ in range(megabytes * 16))
    if path == "/counted-stream":
        # Counts how many pieces the server has pulled: a server that
        # respects backpressure stops pulling while the client is not reading.
        def pieces(count):
            for _ in range(count):
                PULLED["pieces"] += 1
                yield b"y" * 65536
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return pieces(int(environ["QUERY_STRING"] or "1000"))
    if path == "/gated":
        # Two pieces, the second only once the client has seen the first
        # (it creates the file named by the query string). A server that
        # holds pieces back until the generator ends never delivers the first.
        gate = environ["QUERY_STRING"]
        def gated():
            yield b"first\n"
            for _ in range(100):
                if os.path.exists(gate):
                    break
                time.sleep(0.05)
            yield b"second\n"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return gated()
    if path == "/ticks":
        # An endless stream, one piece every 20 ms, like server-sent
        # events: only a client that leaves ends it, and close() says so.
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        return Ticks()
    if path == "/flood":
        # An endless body of 64 KiB pieces whose close() creates the file
        # named by the query string: proof it was closed, even by a server
        # that has stopped answering requests.
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Flood(environ["QUERY_STRING"])
    if path == "/ticks-closed":
        return text(start_response, f"{CLOSED['ticks']}\n".encode())
    if path == "/pulled":
        return text(start_response, f"{PULLED['pieces']}\n".encode())
    if path == "/multiprocess":
        return text(start_response, f"{environ['wsgi.multiprocess']}\n".encode())
    return text(start_response, b"Hello, world!\n")


class Ticks:
    """The endless body of /ticks; close() counts how often it was closed."""

    def __iter__(self):
        while True:
            yield b"data: tick\n\n"
            time.sleep(0.02)

    def close(self):
        CLOSED["ticks"] += 1


class Flood:
    """The endless body of /flood; close() leaves a file behind."""

    def __init__(self, marker):
        self.marker = marker

    def __iter__(self):
        while True:
            yield b"z" * 65536

    def close(self):
        with open(self.marker, "w") as f:
            f.write("closed")
