"""The demo app stage-07 serves when no APP is given.

A raw ASGI application, no framework: a hello page, a plain-text greeting,
a small JSON API of tasks kept in memory, and a streamed count. It shows
how little an ASGI app needs: one coroutine, `scope`, `receive`, `send`.
"""

import asyncio
import json
from urllib.parse import parse_qs

HOME = """<!doctype html>
<html><head><meta charset="utf-8"><title>ASGI demo</title></head>
<body>
<h1>Hello from an ASGI app</h1>
<p>This page was produced by a Python coroutine, run by a Rust server as a guest in asyncio's loop.</p>
<ul>
<li><a href="/hello?name=ASGI">/hello?name=ASGI</a>: plain text</li>
<li><a href="/tasks">/tasks</a>: a JSON list; POST a JSON object with a "title" to add one</li>
<li><a href="/count">/count</a>: five lines, streamed a tenth of a second apart</li>
</ul>
</body></html>
"""


async def respond(send, status, body, content_type):
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type.encode())],
    })
    await send({"type": "http.response.body", "body": body})


async def as_json(send, status, value):
    body = json.dumps(value, indent=2).encode() + b"\n"
    await respond(send, status, body, "application/json")


async def read_body(receive):
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def tasks(scope, receive, send):
    # Without the lifespan (--lifespan off) there is no shared list.
    tasks = scope["state"].setdefault("tasks", [])
    if scope["method"] in ("GET", "HEAD"):
        return await as_json(send, 200, tasks)
    if scope["method"] != "POST":
        return await as_json(send, 405, {"error": "use GET or POST"})
    try:
        title = json.loads(await read_body(receive) or b"null")["title"]
        if not isinstance(title, str) or not title:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return await as_json(send, 400, {"error": 'send {"title": "..."}'})
    task = {"id": len(tasks) + 1, "title": title, "done": False}
    tasks.append(task)
    await as_json(send, 201, task)


async def count(send):
    await send({
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/plain; charset=utf-8")],
    })
    for n in range(1, 6):
        await send({"type": "http.response.body", "body": f"{n}\n".encode(), "more_body": True})
        await asyncio.sleep(0.1)
    await send({"type": "http.response.body", "body": b""})


async def lifespan(receive, send):
    # The state dict is the server's; each request's scope gets a shallow
    # copy, so the list below is shared by every request of this worker.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        scope["state"]["tasks"] = [{"id": 1, "title": "Read the ASGI chapter", "done": False}]
        return await lifespan(receive, send)
    path = scope["path"]
    if path == "/":
        return await respond(send, 200, HOME.encode(), "text/html; charset=utf-8")
    if path == "/hello":
        query = parse_qs(scope["query_string"].decode("latin-1"))
        name = query.get("name", ["world"])[0]
        return await respond(send, 200, f"Hello, {name}!\n".encode(), "text/plain; charset=utf-8")
    if path == "/tasks":
        return await tasks(scope, receive, send)
    if path == "/count":
        return await count(send)
    await respond(send, 404, f"Not found: {path}\n".encode(), "text/plain; charset=utf-8")
