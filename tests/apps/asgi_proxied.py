"""Shows who stage-07 says the client is: the scope's `client`, `server`
and `scheme`, as JSON, for the tests of Unix sockets and proxy headers."""

import json


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    seen = {key: scope[key] for key in ("client", "server", "scheme")}
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})
