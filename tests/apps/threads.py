"""Apps for stage-06's --threads tests: requests that wait, bodies that
wait between pieces, bodies read on a thread, and close() counted."""

import os
import threading
import time

CLOSES = {}
CLOSES_LOCK = threading.Lock()


def text(start_response, body, status="200 OK"):
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


class Counted:
    """A body whose close() counts, per name, how often it was called;
    `fail_after` pieces in, its iteration raises."""

    def __init__(self, name, pieces, pause=0.0, fail_after=None):
        self.name, self.pieces, self.pause, self.fail_after = name, pieces, pause, fail_after

    def __iter__(self):
        for index in range(self.pieces):
            if index == self.fail_after:
                raise RuntimeError("failed in the middle of the body")
            if index:
                time.sleep(self.pause)
            yield f"piece {index}\n".encode()

    def close(self):
        with CLOSES_LOCK:
            CLOSES[self.name] = CLOSES.get(self.name, 0) + 1


class Endless:
    """64 KiB pieces for ever; close() takes a while, as closing a database
    cursor may, then prints `closed endless`."""

    def __iter__(self):
        while True:
            yield b"x" * 65536

    def close(self):
        time.sleep(0.5)
        print("closed endless", flush=True)


def application(environ, start_response):
    path, query = environ["PATH_INFO"], environ["QUERY_STRING"]
    if path == "/sleep":
        # Waits as an app waits for a database: the GIL is released.
        time.sleep(float(query or "1"))
        return text(start_response, f"slept on {threading.current_thread().name}\n".encode())
    if path == "/compute":
        # Computes in Python (the GIL held throughout): `query` additions.
        total = 0
        for number in range(int(query or "1000000")):
            total += number
        return text(start_response, f"{total}\n".encode())
    if path == "/pid":
        return text(start_response, f"{os.getpid()}\n".encode())
    if path == "/multithread":
        return text(start_response, f"{environ['wsgi.multithread']}\n".encode())
    if path == "/echo":
        length = environ.get("CONTENT_LENGTH")
        stream = environ["wsgi.input"]
        return text(start_response, stream.read(int(length)) if length else stream.read())
    if path == "/drip":
        # Five pieces, `query` seconds apart; close() counted under "drip".
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Counted("drip", 5, float(query or "0.3"))
    if path == "/counted":
        # A body of three pieces whose close() is counted under `query`.
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Counted(query, 3)
    if path == "/counted-fails":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Counted(query, 3, fail_after=1)
    if path == "/endless":
        # Pieces until the server stops pulling; close() says so on stdout.
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Endless()
    if path == "/raise":
        raise ValueError("the app failed before its response")
    if path == "/closes":
        with CLOSES_LOCK:
            return text(start_response, f"{CLOSES.get(query, 0)}\n".encode())
    return text(start_response, b"Hello, world!\n")
