"""The apps stage-07's benchmark serves, the same three to every server:
a raw ASGI hello, a Starlette PlainTextResponse route, and a FastAPI
JSON route returning a small dict (an `async def`, so that FastAPI calls
it in the loop rather than in a thread, as most benchmarks of it do)."""

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"Hello, world!"})


async def plain(request):
    return PlainTextResponse("Hello, world!")


starlette = Starlette(routes=[Route("/", plain)])

fastapi = FastAPI()


@fastapi.get("/")
async def root():
    return {"message": "Hello, world!", "count": 3}
