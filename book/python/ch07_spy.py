"""What an ASGI app is given and what it gives back: a middleware that
prints the scope and every message, as they happen, around a small app
that answers the lifespan and echoes a request's body in two pieces.

    cargo run -p stage-07 -- book/python/ch07_spy.py:app
"""

import pprint


# ANCHOR: spy
def spy(app):
    async def wrapped(scope, receive, send):
        print("scope =", pprint.pformat(scope, sort_dicts=False), flush=True)

        async def spied_receive():
            message = await receive()
            print("receive() ->", message, flush=True)
            return message

        async def spied_send(message):
            print("send", message, flush=True)
            await send(message)

        await app(scope, spied_receive, spied_send)
    return wrapped
# ANCHOR_END: spy


# ANCHOR: echo
async def echo(scope, receive, send):
    if scope["type"] == "lifespan":                   # startup, then shutdown
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        return await send({"type": "lifespan.shutdown.complete"})
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"got " + body,
                "more_body": True})
    await send({"type": "http.response.body", "body": b"!\n"})
# ANCHOR_END: echo


app = spy(echo)
