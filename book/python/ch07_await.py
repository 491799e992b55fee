#!/usr/bin/env python3
"""What `await` does, without an event loop: a coroutine is stepped with
`send()`, the way an asyncio Task steps it. An awaitable that has its
value at once finishes the step; one that must wait yields itself up to
whoever is stepping, and the coroutine resumes when it is sent a value.

    python3 book/python/ch07_await.py
"""


# ANCHOR: awaitables
class Ready:
    """Already has its value: `await` returns it without leaving the coroutine."""
    def __init__(self, value):
        self.value = value

    def __await__(self):
        return self.value
        yield                                         # (makes __await__ a generator)


class Wait:
    """Must wait: yields itself up to the stepper, and resumes with what it is sent."""
    def __await__(self):
        value = yield self
        return value


async def app():
    first = await Ready(b"hello ")                    # no suspension
    second = await Wait()                             # suspends the whole coroutine
    return first + second
# ANCHOR_END: awaitables


# ANCHOR: stepping
coro = app()                                          # runs nothing yet
waiting_on = coro.send(None)                          # a Task's first step
print("step 1 stopped at:", type(waiting_on).__name__)
try:
    coro.send(b"world")                               # the loop: "your wait is over"
except StopIteration as finished:
    print("step 2 finished with:", finished.value)
# ANCHOR_END: stepping
