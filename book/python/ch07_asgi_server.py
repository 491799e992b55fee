#!/usr/bin/env python3
"""The ASGI chapter (stage-07) in Python: an ASGI server on asyncio's streams.

    python3 book/python/ch07_asgi_server.py [--bind HOST:PORT] [path/to/app.py:callable]

asyncio's loop waits on every socket; each connection is a coroutine that
reads one request, calls `app(scope, receive, send)`, and closes. Without
an app it serves `hello` below. A sketch: one request per connection, a
body by Content-Length only, no limits, no timeouts, no 500 when the app
fails.
"""

import asyncio
import sys
from http import HTTPStatus
from urllib.parse import unquote_to_bytes

from ch04_wsgi_server import hello as wsgi_hello
from ch04_wsgi_server import main


# ANCHOR: serve
async def serve(app, host: str, port: int):
    server = await asyncio.start_server(lambda r, w: connection(app, r, w), host, port)
    port = server.sockets[0].getsockname()[1]
    print(f"Listening on http://{host}:{port}", file=sys.stderr)
    await server.serve_forever()                      # a Task per connection


async def connection(app, reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")        # waits without a thread
    scope = build_scope(head, writer)
    length = int(dict(scope["headers"]).get(b"content-length", 0))
    held, done = {}, asyncio.Event()

    async def receive():
        nonlocal length
        if length is None:                            # the body was given: wait
            await done.wait()                         # until the response is over
            return {"type": "http.disconnect"}
        body, length = await reader.readexactly(length), None
        return {"type": "http.request", "body": body, "more_body": False}
    # ANCHOR_END: serve

    # ANCHOR: send
    async def send(message):
        if message["type"] == "http.response.start":
            held.update(message)                      # held until the first body
            return
        body, more = message.get("body", b""), message.get("more_body", False)
        if held:                                      # the first body: head first
            status = held.pop("status")
            head = [b"HTTP/1.1 %d %s" % (status, HTTPStatus(status).phrase.encode())]
            headers = held.pop("headers", [])
            head += [name + b": " + value for name, value in headers]
            has_length = any(name.lower() == b"content-length" for name, _ in headers)
            if not more and not has_length:           # one piece: its length is known
                head.append(b"Content-Length: %d" % len(body))
            writer.write(b"\r\n".join(head) + b"\r\nConnection: close\r\n\r\n")
            held.clear()
        writer.write(body)                            # (several: the close ends them)
        await writer.drain()                          # waits while the client does not read
        if not more:
            done.set()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
        writer.close()
    # ANCHOR_END: send


# ANCHOR: scope
def build_scope(head: bytes, writer) -> dict:
    request_line, *lines = head[:-4].split(b"\r\n")
    method, target, version = request_line.split(b" ")
    raw_path, _, query = target.partition(b"?")
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": version.decode().removeprefix("HTTP/"),
        "method": method.decode().upper(), "scheme": "http",
        "path": unquote_to_bytes(raw_path).decode("utf-8", "replace"),
        "raw_path": raw_path, "query_string": query, "root_path": "",
        "headers": [(name.strip().lower(), value.strip())
                    for name, _, value in (line.partition(b":") for line in lines)],
        "client": writer.get_extra_info("peername")[:2],
        "server": writer.get_extra_info("sockname")[:2],
    }
# ANCHOR_END: scope


async def hello(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"Hello from " + scope["raw_path"] + b"\n"})


def run(app, host: str, port: int):
    # Chapter 4's command line picks its WSGI hello when no app is named.
    asyncio.run(serve(hello if app is wsgi_hello else app, host, port))


if __name__ == "__main__":
    main(run, __doc__)
