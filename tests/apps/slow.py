"""An app that takes its time, to show a signal waits for the request in flight."""

import time


def application(environ, start_response):
    time.sleep(float(environ["QUERY_STRING"] or "0.5"))
    body = b"finished despite the signal\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
