"""Apps for stage-07's concurrency tests: requests that wait, and a stream
far larger than any buffer, whose progress can be asked for, and a
path echoed back (to tell many connections' responses apart)."""

import asyncio

SENT = {"bytes": 0}
PIECE = b"x" * 65536


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/sleep":
        await asyncio.sleep(1)
        body = b"slept"
    elif path == "/big-stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(1024):  # 64 MiB
            await send({"type": "http.response.body", "body": PIECE, "more_body": True})
            SENT["bytes"] += len(PIECE)
        await send({"type": "http.response.body", "body": b""})
        return
    elif path == "/sent":
        body = str(SENT["bytes"]).encode()
    elif path.startswith("/echo-path/"):
        body = scope["raw_path"]
    else:
        body = b"hello"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
