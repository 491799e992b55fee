#!/usr/bin/env python3
"""Chapter 4 in Python: a single-threaded WSGI server, in miniature.

    python3 book/python/ch04_wsgi_server.py [--bind HOST:PORT] [path/to/app.py:callable]

Serves one connection at a time, one request per connection. Without an
app it serves `hello` below. A sketch to read, not to deploy: no limits,
no timeouts, no 400 or 500, and the whole body is collected before
anything is sent.
"""

import argparse
import io
import runpy
import socket
import sys


# ANCHOR: serve
def serve(app, host: str, port: int):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart at once
    listener.bind((host, port))
    listener.listen()
    print(f"Listening on http://{host}:{listener.getsockname()[1]}", file=sys.stderr)
    while True:
        conn, client = listener.accept()              # one connection at a time
        with conn:
            try:
                head, body = read_request(conn)
            except ConnectionError:
                continue                              # the client left early
            environ = build_environ(head, body, listener.getsockname(), client)
            status, headers, body = call_app(app, environ)
            lines = [f"HTTP/1.1 {status}", *(f"{n}: {v}" for n, v in headers)]
            head = "\r\n".join(lines) + "\r\nConnection: close\r\n\r\n"
            conn.sendall(head.encode("latin-1") + body)
# ANCHOR_END: serve


# ANCHOR: read_request
def read_request(conn) -> tuple:
    data = b""
    while b"\r\n\r\n" not in data:                    # until the head ends
        data += receive(conn)
    head, _, body = data.partition(b"\r\n\r\n")
    length = content_length(head)
    while len(body) < length:                         # then the body, by its length
        body += receive(conn)
    return head, body[:length]


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def receive(conn) -> bytes:
    data = conn.recv(65536)
    if not data:
        raise ConnectionError("the client closed the connection")
    return data
# ANCHOR_END: read_request


# ANCHOR: environ
def build_environ(head: bytes, body: bytes, server: tuple, client: tuple) -> dict:
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, version = request_line.split(" ")
    path, _, query = target.partition("?")
    environ = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path,
        "QUERY_STRING": query, "SERVER_NAME": server[0], "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": version, "REMOTE_ADDR": client[0],
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    for line in header_lines:
        name, _, value = line.partition(":")
        key = name.strip().upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key                       # Host: x -> HTTP_HOST
        value = value.strip()
        environ[key] = environ[key] + ", " + value if key in environ else value
    return environ
# ANCHOR_END: environ


# ANCHOR: call_app
def call_app(app, environ: dict) -> tuple:
    response, body = {}, []
    def start_response(status, headers, exc_info=None):
        response.update(status=status, headers=headers)   # recorded, not sent
        return body.append                                # the legacy write()
    result = app(environ, start_response)
    try:
        for piece in result:                              # a generator runs here
            body.append(piece)
    finally:
        if hasattr(result, "close"):
            result.close()                                # always, whatever happened
    return response["status"], response["headers"], b"".join(body)
# ANCHOR_END: call_app


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"Hello from {environ['PATH_INFO']}\n".encode("latin-1")]


def main(serve, doc: str):
    """The command line of this chapter's server and the next two's."""
    options = argparse.ArgumentParser(description=doc.splitlines()[0])
    options.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT, port 0 for any")
    options.add_argument("app", nargs="?", help="path/to/app.py:callable (default: hello)")
    args = options.parse_args()
    app = hello
    if args.app:
        path, _, name = args.app.partition(":")
        app = runpy.run_path(path)[name]
    host, _, port = args.bind.rpartition(":")
    serve(app, host, int(port))


if __name__ == "__main__":
    main(serve, __doc__)
