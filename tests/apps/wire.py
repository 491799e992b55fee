"""Well-behaved WSGI apps for stage-04's wire tests.

Every app here follows PEP 3333 to the letter: the tests run each one
wrapped in wsgiref.validate.validator, which raises AssertionError on any
breach by the app *or by the server*.
"""

import json

CLOSED = {"count": 0}


# ANCHOR: hello
def text(start_response, status, body, extra=()):
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))), *extra])
    return [body]


def hello(environ, start_response):
    return text(start_response, "200 OK", b"Hello, world!\n")
# ANCHOR_END: hello


# ANCHOR: echo
def echo(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    answer = f"{environ['REQUEST_METHOD']} {len(body)} bytes of {environ.get('CONTENT_TYPE', '-')}: ".encode() + body + b"\n"
    return text(start_response, "200 OK", answer)
# ANCHOR_END: echo


# ANCHOR: stream
def stream(environ, start_response):
    """A generator body without a length: it goes out as it is produced."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first line\n"
    yield b""  # an empty piece must not end or break the body
    yield b"second line\n"
# ANCHOR_END: stream


# ANCHOR: write
def write_then_iterable(environ, start_response):
    """The legacy write() callable; its data goes out before the iterable's."""
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written with write()\n")
    return [b"returned in the iterable\n"]
# ANCHOR_END: write


def not_found(environ, start_response):
    return text(start_response, "404 Not Found", b"no such page\n")


# ANCHOR: fail_before
def fail_before_headers(environ, start_response):
    raise RuntimeError("the application failed before start_response")
# ANCHOR_END: fail_before


# ANCHOR: change_of_mind
def change_of_mind(environ, start_response):
    """An error before any body: start_response again, with exc_info."""
    import sys
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise ValueError("something went wrong while rendering")
    except ValueError:
        body = b"sorry, an error page instead\n"
        start_response("503 Service Unavailable", [("Content-Type", "text/plain"),
                                                  ("Content-Length", str(len(body)))], sys.exc_info())
        return [body]
# ANCHOR_END: change_of_mind


def fail_after_headers(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"a first piece that went out\n"
    raise RuntimeError("the application failed halfway through its body")


def no_content(environ, start_response):
    start_response("204 No Content", [])
    return []


def input_methods(environ, start_response):
    """Reads the body through every method PEP 3333 lists."""
    stream_ = environ["wsgi.input"]
    first = stream_.readline()
    part = stream_.read(4)
    line_limited = stream_.readline(3)
    rest_lines = stream_.readlines()
    after = stream_.read(10)
    report = json.dumps({
        "readline": first.decode(), "read(4)": part.decode(), "readline(3)": line_limited.decode(),
        "readlines": [line.decode() for line in rest_lines], "read at EOF": after.decode(),
    }).encode() + b"\n"
    return text(start_response, "200 OK", report)


def iterate_input(environ, start_response):
    lines = [line for line in environ["wsgi.input"]]
    return text(start_response, "200 OK", f"{len(lines)} lines\n".encode())


def environ_strings(environ, start_response):
    shown = {k: v for k, v in environ.items() if isinstance(v, str)}
    shown["wsgi.version"] = list(environ["wsgi.version"])
    for flag in ("wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once", "wsgi.input_terminated"):
        shown[flag] = environ[flag]
    body = json.dumps(shown, sort_keys=True, indent=1).encode() + b"\n"
    return text(start_response, "200 OK", body)


class CountingBody:
    """A body whose close() counts its calls, to prove the server calls it."""

    def __init__(self, pieces):
        self.pieces = pieces

    def __iter__(self):
        return iter(self.pieces)

    def close(self):
        CLOSED["count"] += 1


def counted(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return CountingBody([b"one\n", b"two\n"])


def counted_endless(environ, start_response):
    """Far more body than a client that leaves early will read."""
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return CountingBody(b"x" * 65536 for _ in range(2000))


def counted_failing(environ, start_response):
    def pieces():
        yield b"one\n"
        raise RuntimeError("failed after one piece")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return CountingBody(pieces())


# ANCHOR: query
def query(environ, start_response):
    """Answers with the query string: tells pipelined responses apart."""
    return text(start_response, "200 OK", environ["QUERY_STRING"].encode() + b"\n")
# ANCHOR_END: query


# ANCHOR: consume
def consume(environ, start_response):
    """Reads the whole body in pieces, however it is framed."""
    stream_ = environ["wsgi.input"]
    total, lines = 0, 0
    while True:
        piece = stream_.read(8192)
        if not piece:
            break
        total += len(piece)
        lines += piece.count(b"\n")
    return text(start_response, "200 OK", f"{total} bytes, {lines} newlines\n".encode())
# ANCHOR_END: consume


def respond_without_reading(environ, start_response):
    return text(start_response, "200 OK", b"did not read the body\n")


def closed_count(environ, start_response):
    return text(start_response, "200 OK", f"{CLOSED['count']}\n".encode())


ROUTES = {
    "/hello": hello, "/echo": echo, "/stream": stream, "/write": write_then_iterable,
    "/fail-before": fail_before_headers, "/change-of-mind": change_of_mind,
    "/fail-after": fail_after_headers, "/no-content": no_content, "/input": input_methods,
    "/iterate-input": iterate_input, "/environ": environ_strings, "/counted": counted,
    "/counted-endless": counted_endless, "/counted-failing": counted_failing,
    "/closed-count": closed_count, "/query": query, "/consume": consume,
    "/ignore-body": respond_without_reading,
}


def application(environ, start_response):
    # Route on the first path segment: /environ/anything goes to environ_strings.
    first_segment = "/" + environ["PATH_INFO"].split("/")[1]
    return ROUTES.get(first_segment, not_found)(environ, start_response)
