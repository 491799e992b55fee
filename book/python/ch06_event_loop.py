#!/usr/bin/env python3
"""Chapter 6 in Python: an event loop, in miniature. One thread serves every
connection, because it never waits on any one socket: it asks the kernel
which sockets are ready and does only what each allows.

    python3 book/python/ch06_event_loop.py [--bind HOST:PORT] [path/to/app.py:callable]

Reuses chapter 5's response (with chapter 4's environ and app call). A
sketch: a response the socket does not take at once raises instead of
waiting for the socket to be writable, and the app still blocks the loop
while it runs.
"""

import selectors
import socket
import sys

from ch04_wsgi_server import content_length, main
from ch05_keep_alive import respond


# ANCHOR: serve
def serve(app, host: str, port: int):
    listener = socket.create_server((host, port))
    listener.setblocking(False)                       # accept() never waits
    selector = selectors.DefaultSelector()            # epoll on Linux
    selector.register(listener, selectors.EVENT_READ)
    buffers = {}                                      # connection -> bytes not yet used
    print(f"Listening on http://{host}:{listener.getsockname()[1]}", file=sys.stderr)
    while True:
        for key, _ in selector.select():              # the only place that waits
            sock = key.fileobj
            if sock is listener:                      # a new connection
                conn, client = listener.accept()
                conn.setblocking(False)
                selector.register(conn, selectors.EVENT_READ, data=client)
                buffers[conn] = b""
                continue
            data = sock.recv(65536)                   # ready: it will not block
            buffers[sock] += data
            close = not data                          # b"": the client closed
            while not close and (request := take_request(buffers[sock])):
                head, body, buffers[sock] = request
                response, close = respond(app, head, body, listener.getsockname(), key.data)
                sock.sendall(response)
            if close:
                selector.unregister(sock)
                del buffers[sock]
                sock.close()
# ANCHOR_END: serve


# ANCHOR: take_request
def take_request(buf: bytes):
    """(head, body, rest) when buf holds a whole request; None: wait for more."""
    head, found, rest = buf.partition(b"\r\n\r\n")
    if not found or len(rest) < content_length(head):
        return None                                   # incomplete, not malformed
    length = content_length(head)
    return head, rest[:length], rest[length:]
# ANCHOR_END: take_request


if __name__ == "__main__":
    main(serve, __doc__)
