"""The apps the comparison serves: a raw ASGI hello and the same in
Starlette (a PlainTextResponse)."""


async def hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"Hello, world!"})


try:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def plain(request):
        return PlainTextResponse("Hello, world!")

    starlette = Starlette(routes=[Route("/", plain)])
except ImportError:  # the raw app needs nothing
    starlette = None
