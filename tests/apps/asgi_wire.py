"""A raw ASGI app for stage-07's wire tests: each path exercises one rule
of the http scope, and `/scope` shows what the app was given."""

import asyncio
import contextvars
import json

REQUEST_ID = contextvars.ContextVar("request_id", default=None)
SEEN = {"disconnects": 0}


async def text(send, status, body, more=False, headers=()):
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"text/plain")] + list(headers),
    })
    await send({"type": "http.response.body", "body": body, "more_body": more})


async def read_all(receive):
    body, pieces = b"", 0
    while True:
        message = await receive()
        assert message["type"] == "http.request", message
        body += message["body"]
        pieces += 1
        if not message["more_body"]:
            return body, pieces


async def app(scope, receive, send):
    assert scope["type"] == "http"
    path = scope["path"]
    if path == "/hello":
        return await text(send, 200, b"Hello, ASGI!\n")
    if path == "/echo":
        body, _ = await read_all(receive)
        return await text(send, 200, body)
    if path == "/start-then-read":
        # The response starts before the body is read: too late for a
        # `100 Continue`, which would land inside the chunked body.
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first\n", "more_body": True})
        body, _ = await read_all(receive)
        return await send({"type": "http.response.body", "body": b"got " + body})
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        for line in (b"first line\n", b"second line\n"):
            await send({"type": "http.response.body", "body": line, "more_body": True})
        return await send({"type": "http.response.body", "body": b""})
    if path.startswith("/scope"):
        shown = {k: v for k, v in scope.items() if k != "state"}
        shown["headers"] = [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]]
        for key in ("raw_path", "query_string"):
            shown[key] = scope[key].decode("latin-1")
        shown["client"] = [type(scope["client"][0]).__name__, type(scope["client"][1]).__name__]
        shown["server"] = [scope["server"][0], type(scope["server"][1]).__name__]
        body = json.dumps(shown, sort_keys=True, indent=1).encode()
        return await text(send, 200, body)
    if path == "/raise-before-start":
        raise RuntimeError("the app failed before its response")
    if path == "/raise-after-start":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("the app failed in the middle of its body")
    if path == "/return-without-start":
        return
    if path == "/start-twice":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.start", "status": 200, "headers": []})
    if path == "/bad-header":
        return await text(send, 200, b"x", headers=[(b"x-evil", b"a\r\nSet-Cookie: b=1")])
    if path == "/after-complete":
        await text(send, 200, b"done")
        try:
            await send({"type": "http.response.body", "body": b"more"})
        except RuntimeError as error:
            print(f"after-complete refused: {error}", flush=True)
        return
    if path == "/context":
        # The app runs as a real asyncio.Task: current_task() and
        # contextvars work, and each request has its own context.
        task = asyncio.current_task()
        before = REQUEST_ID.get()
        REQUEST_ID.set(scope["query_string"].decode())
        await asyncio.sleep(0.01)
        body = f"task={type(task).__name__} before={before} after={REQUEST_ID.get()}\n"
        return await text(send, 200, body.encode())
    if path == "/wait-disconnect":
        body, _ = await read_all(receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"waiting\n", "more_body": True})
        message = await receive()
        SEEN["disconnects"] += message["type"] == "http.disconnect"
        print(f"wait-disconnect got {message['type']}", flush=True)
        return
    if path == "/disconnects":
        return await text(send, 200, str(SEEN["disconnects"]).encode())
    if path == "/after-body":
        # After the body, receive() waits until the response is over.
        await read_all(receive)
        waiter = asyncio.ensure_future(receive())
        await asyncio.sleep(0.05)
        pending = not waiter.done()
        await text(send, 200, f"pending={pending}\n".encode())
        message = await waiter
        print(f"after-body then {message['type']}", flush=True)
        return
    if path == "/overrun":
        # More body than its own Content-Length: refused, never sent.
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"3")]})
        await send({"type": "http.response.body", "body": b"ab", "more_body": True})
        return await send({"type": "http.response.body", "body": b"cd"})
    if path == "/no-content":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        return await send({"type": "http.response.body", "body": b""})
    await text(send, 404, f"Not found: {path}\n".encode())
