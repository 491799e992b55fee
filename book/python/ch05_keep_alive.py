#!/usr/bin/env python3
"""Chapter 5 in Python: keep-alive, in miniature. Requests follow one another
on one connection, and only framing says where each one ends.

    python3 book/python/ch05_keep_alive.py [--bind HOST:PORT] [path/to/app.py:callable]

Reuses chapter 4's environ and app call; what is new is the loop over the
requests of a connection. Still one connection at a time, and still a
sketch: no chunked bodies, no limits, no timeouts.
"""

import socket
import sys

from ch04_wsgi_server import build_environ, call_app, content_length, main


# ANCHOR: requests_on
def requests_on(conn):
    """Yields (head, body) for each request on one connection, in order."""
    buf = b""                                         # received, not yet used
    while True:
        while b"\r\n\r\n" not in buf:                 # until a head is in
            if not (data := conn.recv(65536)):
                return                                # the client closed: done
            buf += data
        head, _, rest = buf.partition(b"\r\n\r\n")
        length = content_length(head)
        while len(rest) < length:                     # then exactly its body
            if not (data := conn.recv(65536)):
                return
            rest += data
        body, buf = rest[:length], rest[length:]      # what follows: the next request
        yield head, body
# ANCHOR_END: requests_on


# ANCHOR: serve
def serve(app, host: str, port: int):
    listener = socket.create_server((host, port))     # sets SO_REUSEADDR for us
    print(f"Listening on http://{host}:{listener.getsockname()[1]}", file=sys.stderr)
    while True:
        conn, client = listener.accept()              # still one at a time
        with conn:
            for head, body in requests_on(conn):
                response, close = respond(app, head, body, listener.getsockname(), client)
                conn.sendall(response)
                if close:
                    break
# ANCHOR_END: serve


# ANCHOR: respond
def respond(app, head: bytes, body: bytes, server: tuple, client: tuple) -> tuple:
    environ = build_environ(head, body, server, client)
    status, headers, body = call_app(app, environ)
    if "content-length" not in {name.lower() for name, _ in headers}:
        headers = [*headers, ("Content-Length", str(len(body)))]  # where it ends
    close = (environ["SERVER_PROTOCOL"] == "HTTP/1.0"
             or environ.get("HTTP_CONNECTION", "").lower() == "close")
    if close:
        headers = [*headers, ("Connection", "close")]
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body, close
# ANCHOR_END: respond


if __name__ == "__main__":
    main(serve, __doc__)
