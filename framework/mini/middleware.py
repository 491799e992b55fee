"""Step 5: middleware, callables that take an app and return an app.

Each one here wraps what it needs and passes everything else through:
start_response (keeping exc_info, and the write() it returns), and the
body iterable (keeping close()).
"""

import sys
import time
import traceback
import zlib


# ANCHOR: closing
class Closing:
    """Iterates over a body; close() closes it, then runs `after`."""

    def __init__(self, body, after):
        self.body, self.after = body, after

    def __iter__(self):
        return iter(self.body)

    def close(self):
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.after()
# ANCHOR_END: closing


# ANCHOR: timing
def timing(app, clock=time.perf_counter):
    """A Server-Timing header (until the headers), and a log line (whole)."""
    def timed(environ, start_response):
        started = clock()
        status = []

        def timed_start_response(code, headers, exc_info=None):
            status[:] = [code]
            took = (clock() - started) * 1000
            headers = headers + [("Server-Timing", f"app;dur={took:.1f}")]
            return start_response(code, headers, exc_info)

        def log():
            took = (clock() - started) * 1000
            line = f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}"
            code = status[0][:3] if status else "---"  # closed before it began
            environ["wsgi.errors"].write(f"{line} {code} {took:.1f}ms\n")

        return Closing(app(environ, timed_start_response), log)
    return timed
# ANCHOR_END: timing


# ANCHOR: catch_errors
def catch_errors(app):
    """An exception from the app becomes a 500, while that is still possible."""
    def caught(environ, start_response):
        try:
            return app(environ, start_response)
        except Exception:
            environ["wsgi.errors"].write(traceback.format_exc())
            # exc_info lets this replace headers the app already gave, and
            # re-raises if they have gone out: then only the server can act.
            start_response("500 Internal Server Error",
                           [("Content-Type", "text/plain; charset=utf-8")],
                           sys.exc_info())
            return [b"Internal Server Error\n"]
    return caught
# ANCHOR_END: catch_errors


# ANCHOR: mount
def mount(prefix, app):
    """Serves `app` under `prefix`: /api/tasks reaches it as /tasks."""
    prefix = prefix.rstrip("/")

    def mounted(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path != prefix and not path.startswith(prefix + "/"):
            body = f"Not found: {path} is not under {prefix}/\n".encode()
            start_response("404 Not Found", [("Content-Type", "text/plain"),
                                             ("Content-Length", str(len(body)))])
            return [body]
        # A copy: the caller's environ is the caller's.
        environ = dict(environ)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
        environ["PATH_INFO"] = path[len(prefix):]
        return app(environ, start_response)
    return mounted
# ANCHOR_END: mount


# ANCHOR: gzip
def gzip(app, min_size=100):
    """Compresses compressible responses for clients that accept gzip."""
    def compressing(environ, start_response):
        accepted = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        body = GzipBody(start_response, accepted, min_size)
        body.inner = app(environ, body.start_response)
        return body
    return compressing


def accepts_gzip(header):
    """Whether an Accept-Encoding value allows gzip ("gzip;q=0" refuses it)."""
    for item in header.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            quality = params.strip().lower().removeprefix("q=") or "1"
            try:
                return float(quality) > 0
            except ValueError:
                return False
    return False
# ANCHOR_END: gzip


# ANCHOR: gzip_body
class GzipBody:
    """The body gzip() returns, and the start_response it gives the app."""

    def __init__(self, start_response, accepted, min_size):
        self.outer_start_response = start_response
        self.accepted, self.min_size = accepted, min_size
        self.inner = ()
        self.compressor = None  # decided in start_response, not before

    def start_response(self, status, headers, exc_info=None):
        compress = self.accepted and worth_compressing(status, headers, self.min_size)
        if compress:
            headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
            headers += [("Content-Encoding", "gzip")]
        if any(n.lower() == "content-type" for n, _ in headers):
            headers = headers + [("Vary", "Accept-Encoding")]
        # Passed on with exc_info: it re-raises if headers are already out,
        # and then nothing below changes.
        write = self.outer_start_response(status, headers, exc_info)
        self.compressor = zlib.compressobj(6, zlib.DEFLATED, 31) if compress else None
        return lambda data: write(self.squeeze(data))

    def squeeze(self, chunk):
        """A chunk compressed and flushed, so that streaming still streams."""
        if self.compressor is None or not chunk:
            return chunk
        return self.compressor.compress(chunk) + self.compressor.flush(zlib.Z_SYNC_FLUSH)

    def __iter__(self):
        for chunk in self.inner:  # the app's start_response runs by the first one
            chunk = self.squeeze(chunk)
            if chunk:
                yield chunk
        if self.compressor is not None:
            yield self.compressor.flush()  # gzip's end: checksum and length

    def close(self):  # a method, not a generator's finally: see the chapter
        if hasattr(self.inner, "close"):
            self.inner.close()
# ANCHOR_END: gzip_body


# ANCHOR: worth_compressing
COMPRESSIBLE = ("text/", "application/json", "application/javascript",
                "image/svg+xml")


def worth_compressing(status, headers, min_size):
    code = int(status[:3])
    if code < 200 or code in (204, 304):
        return False  # no body to compress
    fields = {name.lower(): value for name, value in headers}
    if "content-encoding" in fields:
        return False  # already encoded: compressing twice helps nobody
    if not fields.get("content-type", "").startswith(COMPRESSIBLE):
        return False  # images, archives: compressed already
    length = fields.get("content-length")
    return length is None or int(length) >= min_size
# ANCHOR_END: worth_compressing
