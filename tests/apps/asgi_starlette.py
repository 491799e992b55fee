"""A Starlette app for stage-07's tests: JSON both ways with non-ASCII
text, a streamed response, a lifespan that sets state, a background task, a disconnect noticed."""

import asyncio
import contextlib

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

DONE = []


@contextlib.asynccontextmanager
async def lifespan(app):
    yield {"started": "yes"}


async def echo_json(request: Request):
    data = await request.json()
    return JSONResponse({"received": data, "started": request.state.started})


async def stream(request: Request):
    async def lines():
        for n in range(3):
            yield f"line {n} \u2713\n"
            await asyncio.sleep(0.01)

    return StreamingResponse(lines(), media_type="text/plain; charset=utf-8")


async def later(request: Request):
    async def note():
        DONE.append("background ran")

    return PlainTextResponse("sent first", background=BackgroundTask(note))


async def watch(request: Request):
    # Polls for the client's disconnect, as a long-running view would.
    for _ in range(200):
        if await request.is_disconnected():
            DONE.append("disconnect seen")
            break
        await asyncio.sleep(0.05)
    return PlainTextResponse("too late")


async def background_done(request: Request):
    return PlainTextResponse(", ".join(DONE) or "nothing yet")


app = Starlette(
    routes=[
        Route("/echo-json", echo_json, methods=["POST"]),
        Route("/stream", stream),
        Route("/later", later),
        Route("/background-done", background_done),
        Route("/watch", watch),
    ],
    lifespan=lifespan,
)
