"""Apps that return files through environ["wsgi.file_wrapper"], for the
tests of how a server sends them (PEP 3333, "Optional Platform-Specific
File Handling").

The query string names the file to send (the tests make it in a temporary
folder). Every file is opened with a close() that records the file's
position when it is closed, so that a test can ask (/closes) whether the
server closed it, and where the file stood: a server that sends with
sendfile(2) and an explicit offset leaves the position where the app left
it; one that iterates has read to the end.
"""

import io
import json
from urllib.parse import unquote

CLOSES = []


def tracked(f, name):
    """Makes f.close() note (name, position) before closing, the way Django
    replaces a file's close before wrapping it."""
    original = f.close

    def close():
        CLOSES.append([name, f.tell()])
        original()

    f.close = close
    return f


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = unquote(environ["QUERY_STRING"])
    wrap = environ["wsgi.file_wrapper"]
    octets = [("Content-Type", "application/octet-stream")]
    if path == "/closes":
        body = json.dumps(CLOSES).encode()
        CLOSES.clear()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/wrapped":
        # No Content-Length: the server computes it from the file.
        start_response("200 OK", octets)
        return wrap(tracked(open(query, "rb"), "wrapped"))
    if path == "/after-read":
        # The app has read 1000 bytes (and Python's buffer far more from
        # the descriptor): the body starts at the file's position, 1000.
        f = tracked(open(query, "rb"), "after-read")
        f.read(1000)
        start_response("200 OK", octets)
        return wrap(f, 4096)
    if path == "/first-kib":
        # The app's Content-Length is less than the file: no more than it.
        start_response("200 OK", octets + [("Content-Length", "1024")])
        return wrap(tracked(open(query, "rb"), "first-kib"))
    if path == "/too-long":
        # A Content-Length the file cannot fill: the body ends short.
        start_response("200 OK", octets + [("Content-Length", str(1 << 40))])
        return wrap(tracked(open(query, "rb"), "too-long"))
    if path == "/bytesio":
        # No descriptor behind it: iterated, a block at a time.
        with open(query, "rb") as f:
            data = f.read()
        start_response("200 OK", octets)
        return wrap(tracked(io.BytesIO(data), "bytesio"), 65536)
    if path == "/transformed":
        # Middleware that wraps the body in its own iterable: the server
        # must iterate it, whatever is inside.
        inner = wrap(tracked(open(query, "rb"), "transformed"))
        start_response("200 OK", octets)
        return Passing(inner)
    if path == "/written-first":
        # The head went out with write(): the file is iterated after it.
        f = tracked(open(query, "rb"), "written-first")
        write = start_response("200 OK", octets)
        write(b"")
        return wrap(f)
    if path == "/text":
        # A file opened in text mode: iterating it yields str, which a
        # server refuses (a 500), with or without a descriptor behind it.
        start_response("200 OK", octets)
        return wrap(tracked(open(query, "r", encoding="latin-1"), "text"))
    if path == "/proc":
        # A file in /proc: regular, its size 0, its content there all the same.
        start_response("200 OK", [("Content-Type", "text/plain")])
        return wrap(tracked(open("/proc/self/status", "rb"), "proc"))
    if path == "/not-found":
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"nope"]
    start_response("404 Not Found", [("Content-Length", "0")])
    return []


class Passing:
    """An iterable of the pieces of another, closing it when closed."""

    def __init__(self, inner):
        self.inner = inner

    def __iter__(self):
        return iter(self.inner)

    def close(self):
        self.inner.close()
