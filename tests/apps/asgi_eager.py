"""An app whose lifespan startup sets a task factory that starts each task
at once, inside `create_task`, the way Python 3.12's
`asyncio.eager_task_factory` does (emulated here, for 3.11): a server must
not count on a new task waiting for the loop's next turn, and may be in
the middle of its own work when the app first calls `receive` or `send`.
"""

import asyncio
import types


@types.coroutine
def _go_on(coro, yielded):
    """Drives `coro`, already started and waiting on `yielded`, to its end."""
    while True:
        try:
            sent = yield yielded
        except BaseException as error:
            try:
                yielded = coro.throw(error)
            except StopIteration as done:
                return done.value
        else:
            try:
                yielded = coro.send(sent)
            except StopIteration as done:
                return done.value


async def _rest(coro, yielded):
    return await _go_on(coro, yielded)


def eager_task_factory(loop, coro, **kwargs):
    """Runs `coro` up to its first real wait before returning: a coroutine
    that never waits is done (a finished future) when this returns."""
    try:
        yielded = coro.send(None)
    except StopIteration as done:
        future = loop.create_future()
        future.set_result(done.value)
        return future
    except Exception as error:
        future = loop.create_future()
        future.set_exception(error)
        return future
    return asyncio.Task(_rest(coro, yielded), loop=loop, **kwargs)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                asyncio.get_running_loop().set_task_factory(eager_task_factory)
                await send({"type": "lifespan.startup.complete"})
            else:
                return await send({"type": "lifespan.shutdown.complete"})
    body = b""
    if scope["path"] == "/echo":  # reads the body before it answers
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
    elif scope["path"] == "/sleep":  # waits once, really
        await asyncio.sleep(0.01)
        body = b"slept"
    else:  # answers without ever waiting
        body = b"at once"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
