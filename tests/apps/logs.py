"""An app for stage-06's log tests: a plain answer, a slow one, one that
raises, and one that writes to wsgi.errors."""

import os
import time


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/raise":
        raise ValueError("raised on purpose by tests/apps/logs.py")
    if path == "/errors":
        environ["wsgi.errors"].write("written to wsgi.errors by the app\n")
        environ["wsgi.errors"].flush()
    if path == "/sleep":
        time.sleep(float(environ["QUERY_STRING"] or "0.2"))
    body = f"{os.getpid()}\n".encode() if path == "/pid" else b"Hello, world!\n"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
